"""ETE — event timing error (Tora3).

Visual events ``v_1 <= ... <= v_n`` (seconds, from ``kinematics.detect_events``) and audio
onsets ``a_1 <= ... <= a_m`` (seconds, from :func:`metrics.onsets.detect_onsets`). A matching
``M`` is a set of one-to-one pairs ``(i, j)`` with ``|v_i - a_j| < tau`` (strictly). With
``U(M) = (n - |M|) + (m - |M|)`` unmatched events on both sides::

    E(M) = ( sum_{(i,j) in M} |v_i - a_j|  +  tau * U(M) ) / ( |M| + U(M) )

    ETE  = min over valid matchings M of E(M)                      (seconds, lower is better)

Convention: both sets empty -> ``ETE = tau`` (a failure, not a perfect score). Because the
empty matching is always valid, ``0 <= ETE <= tau``.

Exact minimisation: for each k the cheapest matching with ``|M| = k`` has total cost ``C_k``;
then ``E_k = (C_k + tau (n + m - 2k)) / (n + m - k)`` and ``ETE = min_k E_k``. ``C_k`` comes from
a dynamic programme over the two sorted sequences, ``F[i][j][k]`` = cheapest k pairs among the
first i visual and first j audio events, with moves "skip v_i", "skip a_j", "pair (v_i, a_j)".
This is exact because on a line an optimal matching never needs crossing pairs: for
``v < v'`` and ``a < a'``, ``|v - a| + |v' - a'| <= |v - a'| + |v' - a|``, and if both crossed
pairs are closer than tau so are both uncrossed ones. Cost ``O(n m min(n, m))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_TAU = 0.2


@dataclass
class ETEResult:
    """ETE and the matching behind it.

    Attributes:
        ete: the event timing error in seconds.
        pairs: matched ``(visual_index, audio_index)`` pairs (indices into the sorted inputs).
        n_visual, n_audio: event counts.
        tau: tolerance window (s).
        per_k: ``E_k`` for each feasible number of pairs k (index k; ``inf`` where infeasible).
    """

    ete: float
    pairs: list[tuple[int, int]] = field(default_factory=list)
    n_visual: int = 0
    n_audio: int = 0
    tau: float = DEFAULT_TAU
    per_k: list[float] = field(default_factory=list)

    @property
    def n_matched(self) -> int:
        return len(self.pairs)

    @property
    def n_unmatched(self) -> int:
        return self.n_visual + self.n_audio - 2 * len(self.pairs)


def _check_times(name: str, times: np.ndarray | list[float]) -> np.ndarray:
    arr = np.asarray(times, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} event times must be finite seconds, got {arr}")
    return np.sort(arr)


def min_cost_k_matchings(
    visual: np.ndarray, audio: np.ndarray, tau: float
) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """Cheapest total cost ``C_k`` of a valid k-pair matching for every k, and one such matching.

    ``visual`` and ``audio`` must be sorted. Returns ``(C [K+1], matchings)`` with
    ``K = min(n, m)``; ``C[k] = inf`` (and an empty list) where no valid k-matching exists.
    """
    n, m = len(visual), len(audio)
    kmax = min(n, m)
    inf = np.inf
    # F[i, j, k]: min cost of k pairs in visual[:i], audio[:j]; B: back-pointer (0 skip v, 1 skip a, 2 pair)
    F = np.full((n + 1, m + 1, kmax + 1), inf)
    B = np.zeros((n + 1, m + 1, kmax + 1), dtype=np.int8)
    F[:, :, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            skip_v = F[i - 1, j]
            skip_a = F[i, j - 1]
            best = np.minimum(skip_v, skip_a)
            choice = np.where(skip_a < skip_v, 1, 0).astype(np.int8)
            d = abs(visual[i - 1] - audio[j - 1])
            if d < tau:
                pair = np.full(kmax + 1, inf)
                pair[1:] = F[i - 1, j - 1, :-1] + d
                take = pair < best
                best = np.where(take, pair, best)
                choice = np.where(take, 2, choice).astype(np.int8)
            best[0] = 0.0
            F[i, j] = best
            B[i, j] = choice
    costs = F[n, m].copy()
    matchings: list[list[tuple[int, int]]] = []
    for k in range(kmax + 1):
        pairs: list[tuple[int, int]] = []
        if np.isfinite(costs[k]):
            i, j, kk = n, m, k
            while kk > 0 and i > 0 and j > 0:
                c = B[i, j, kk]
                if c == 2:
                    pairs.append((i - 1, j - 1))
                    i, j, kk = i - 1, j - 1, kk - 1
                elif c == 1:
                    j -= 1
                else:
                    i -= 1
            pairs.reverse()
        matchings.append(pairs)
    return costs, matchings


def event_timing_error_detail(
    visual_times: np.ndarray | list[float], audio_times: np.ndarray | list[float], tau: float = DEFAULT_TAU
) -> ETEResult:
    """ETE with its optimal matching (see the module docstring for the definition)."""
    if not tau > 0:
        raise ValueError(f"tau must be > 0 seconds, got {tau}")
    v = _check_times("visual", visual_times)
    a = _check_times("audio", audio_times)
    n, m = len(v), len(a)
    if n + m == 0:
        return ETEResult(ete=float(tau), pairs=[], n_visual=0, n_audio=0, tau=float(tau), per_k=[float(tau)])
    costs, matchings = min_cost_k_matchings(v, a, tau)
    per_k = []
    for k, c in enumerate(costs):
        per_k.append(float((c + tau * (n + m - 2 * k)) / (n + m - k)) if np.isfinite(c) else float("inf"))
    k_best = int(np.argmin(per_k))  # first minimum: fewest pairs on exact ties
    return ETEResult(
        ete=per_k[k_best], pairs=matchings[k_best], n_visual=n, n_audio=m, tau=float(tau), per_k=per_k
    )


def merge_close_events(times: np.ndarray | list[float], min_gap_s: float = 0.03) -> np.ndarray:
    """Sorted event times with clusters closer than ``min_gap_s`` reduced to their first time.

    Optional preprocessing for ground-truth event lists (e.g. a physics engine's contacts): a
    ball that touches the floor twice within a few ms makes one audible onset, and the onset
    detector never reports two onsets closer than its ``wait`` (30 ms). Not applied inside ETE.
    A cluster is a chain of events each less than ``min_gap_s`` after the previous one.
    """
    t = np.sort(np.asarray(times, dtype=np.float64).reshape(-1))
    if t.size == 0:
        return t
    keep = np.r_[True, np.diff(t) >= min_gap_s]
    return t[keep]


def event_timing_error(
    visual_times: np.ndarray | list[float], audio_times: np.ndarray | list[float], tau: float = DEFAULT_TAU
) -> float:
    """ETE in seconds between visual event times and audio onset times (both in seconds).

    ``ETE = min_M (sum_{(i,j) in M} |v_i - a_j| + tau U(M)) / (|M| + U(M))`` over one-to-one
    matchings pairing only events closer than ``tau``; both sets empty -> ``tau``.
    """
    return event_timing_error_detail(visual_times, audio_times, tau).ete
