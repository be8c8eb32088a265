"""Onset accuracy and onset AP against reference audio (Du et al., "Conditional Generation of
Audio from Video via Foley Analogies", CVPR 2023 — the onset-transfer evaluation released with
CondFoleyGen).

Reference onsets ``r_1..r_n`` and generated onsets ``g_1..g_m`` (seconds, both from
:func:`metrics.onsets.detect_onsets`), each generated onset with a detection score ``s_j``
(its onset strength: the peak of :func:`metrics.onsets.strength_envelope` within ±50 ms;
the released script scores by the peak normalised |waveform| within ±50 ms instead — both
are rank scores, only their order matters). Matching, as in that work: reference onsets
are visited in time order; each takes, among the still-unused generated onsets with
``|g_j - r_i| < delta`` (``delta = 0.1`` s), the one with the highest score.

- onset accuracy  ``acc = (# matched reference onsets) / n``   (``n = 0`` -> 0, as there).
- onset-count accuracy ``count_ok = [n == m]`` (the "# onset acc" of that work; averaged
  over clips it is the fraction of clips with the right number of onsets).
- onset AP: generated onsets are detections ranked by score, a matched one is a true
  positive, an unmatched one a false positive, and all ``n`` reference onsets are the
  positives::

      AP = sum_k (R_k - R_{k-1}) P_k

  over the distinct score thresholds in decreasing order (ties form one step), with
  ``P_k`` / ``R_k`` precision / recall of the detections scoring ``>= threshold_k``.
  Missed reference onsets are never retrieved, so recall tops out at ``acc``. (The released
  script gives each missed reference onset a score of 0 and calls
  ``sklearn.metrics.average_precision_score``, which lets them count as retrieved at the
  lowest threshold; the standard detection AP used here does not.) ``n = 0`` -> 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_DELTA_S = 0.1


@dataclass
class OnsetMatch:
    """Result of matching generated onsets to reference onsets.

    Attributes:
        accuracy: matched reference onsets / reference onsets.
        ap: average precision of generated onsets ranked by score.
        count_ok: the two clips have the same number of onsets.
        pairs: ``(reference_index, generated_index)`` of the matches (sorted inputs).
    """

    accuracy: float
    ap: float
    count_ok: bool
    pairs: list[tuple[int, int]]


def average_precision(scores: np.ndarray, is_tp: np.ndarray, n_positives: int) -> float:
    """Detection AP ``sum_k (R_k - R_{k-1}) P_k`` over distinct score thresholds (descending).

    ``scores[j]`` and ``is_tp[j]`` describe detection j; ``n_positives`` counts all ground-truth
    items (retrieved or not). Returns 0 when ``n_positives == 0``.
    """
    if n_positives <= 0:
        return 0.0
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    tp = np.asarray(is_tp, dtype=bool).reshape(-1)
    if s.size == 0:
        return 0.0
    order = np.argsort(-s, kind="stable")
    s, tp = s[order], tp[order]
    ctp = np.cumsum(tp)
    # last index of each group of equal scores
    ends = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    ap, prev_recall = 0.0, 0.0
    for e in ends:
        recall = ctp[e] / n_positives
        precision = ctp[e] / (e + 1)
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    return float(ap)


def match_onsets(
    reference_s: np.ndarray | list[float],
    generated_s: np.ndarray | list[float],
    generated_scores: np.ndarray | list[float] | None = None,
    delta_s: float = DEFAULT_DELTA_S,
) -> OnsetMatch:
    """Onset accuracy, AP and count agreement of generated onsets against reference onsets.

    ``generated_scores`` (same length as ``generated_s``) rank detections for AP; without them
    all scores are equal (AP then equals precision x recall).
    """
    r = np.sort(np.asarray(reference_s, dtype=np.float64).reshape(-1))
    g_raw = np.asarray(generated_s, dtype=np.float64).reshape(-1)
    sc_raw = np.ones_like(g_raw) if generated_scores is None else np.asarray(generated_scores, np.float64)
    if sc_raw.shape != g_raw.shape:
        raise ValueError(f"{g_raw.size} generated onsets but {sc_raw.size} scores")
    order = np.argsort(g_raw, kind="stable")
    g, sc = g_raw[order], sc_raw.reshape(-1)[order]
    used = np.zeros(g.size, dtype=bool)
    pairs: list[tuple[int, int]] = []
    for i, t in enumerate(r):
        cand = np.nonzero(~used & (np.abs(g - t) < delta_s))[0]
        if cand.size:
            j = int(cand[np.argmax(sc[cand])])  # first of equal scores: the earliest
            used[j] = True
            pairs.append((i, j))
    acc = len(pairs) / r.size if r.size else 0.0
    ap = average_precision(sc, used, r.size)
    return OnsetMatch(accuracy=float(acc), ap=ap, count_ok=bool(r.size == g.size), pairs=pairs)
