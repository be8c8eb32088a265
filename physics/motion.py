"""Piecewise motion of point tracks: segments between contacts and velocities from local fits.

Between two contacts the world's objects move with a (nearly) constant acceleration (gravity in
flight, friction while sliding, none at rest), so each track is cut at the contact times into
**segments** and every quantity is fitted inside one segment only: a contact never smears a
velocity across the jump.

Units: positions in pixels (x right, y down), times in frames (frame ``i`` at ``i / fps`` s),
velocities in pixels per frame unless a function says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Half-width (frames) of the local quadratic fit that gives the velocity at a frame.
HALF_WINDOW = 2
#: Frames of a segment used to extrapolate the velocity to a contact at its end.
EDGE_FRAMES = 5


@dataclass(frozen=True)
class Segment:
    """Frames ``start .. stop - 1`` of one track between contacts (``visible`` frames are used)."""

    track: int
    start: int
    stop: int
    frames: np.ndarray  # int [K] visible frames inside the segment

    @property
    def length(self) -> int:
        return int(self.frames.size)


def segments(visible: np.ndarray, cuts: list[float] | np.ndarray) -> list[Segment]:
    """Segments of every track cut at the contact times ``cuts`` (frames, fractional).

    A contact at ``c`` lies between frames ``floor(c)`` and ``floor(c) + 1``: the first ends a segment,
    the second starts the next one. Invisible frames stay inside their segment but are not used.

    Args:
        visible: ``bool [T, N]``.
        cuts: contact times in frames.
    """
    T, N = visible.shape
    bounds = sorted({int(np.floor(c)) + 1 for c in cuts if 0 <= c < T - 1})
    edges = [0, *[b for b in bounds if 0 < b < T], T]
    out = []
    for n in range(N):
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            frames = np.flatnonzero(visible[a:b, n]) + a
            out.append(Segment(n, a, b, frames))
    return out


#: A cut is dropped when one quadratic fits every track across it to this RMS (px): no contact there.
MERGE_RMS_PX = 0.3
#: Frames each side of a cut used by that test.
MERGE_FRAMES = 4


def prune_cuts(points: np.ndarray, visible: np.ndarray, cuts: list[float] | np.ndarray) -> list[float]:
    """The contact times ``cuts`` (frames) without those where no track changes its motion.

    A cut is kept when for some track the visible frames within :data:`MERGE_FRAMES` on both sides
    (up to the neighbouring cuts) are not fitted by one quadratic to :data:`MERGE_RMS_PX` RMS, or
    when a side has fewer than 2 frames for every track (nothing to test).
    """
    kept = sorted(float(c) for c in cuts)
    changed = True
    while changed:
        changed = False
        for i, c in enumerate(kept):
            lo = int(np.floor(kept[i - 1])) + 1 if i > 0 else 0
            hi = int(np.floor(kept[i + 1])) + 1 if i + 1 < len(kept) else points.shape[0]
            k = int(np.floor(c)) + 1
            left = np.arange(max(lo, k - MERGE_FRAMES), k)
            right = np.arange(k, min(hi, k + MERGE_FRAMES))
            tested, smooth = False, True
            for n in range(points.shape[1]):
                fl, fr = left[visible[left, n]], right[visible[right, n]]
                if fl.size < 2 or fr.size < 2:
                    continue
                frames = np.concatenate([fl, fr])
                tested = True
                t = frames.astype(np.float64) - c
                A = np.vander(t, 3)
                coef, *_ = np.linalg.lstsq(A, points[frames, n], rcond=None)
                res = points[frames, n] - A @ coef
                if np.sqrt(np.mean(np.sum(res * res, axis=1))) > MERGE_RMS_PX:
                    smooth = False
                    break
            if tested and smooth:
                del kept[i]
                changed = True
                break
    return kept


#: Frames each side of a contact used for its sub-frame phase (see :func:`refine_cuts`).
REFINE_FRAMES = 5
#: A reported contact may move by up to this many frames.
REFINE_REACH = 2


def refine_cuts(
    points: np.ndarray, visible: np.ndarray, cuts: list[float] | np.ndarray, reach: int = REFINE_REACH
) -> list[float]:
    """Contact times (frames) re-placed on the tracks: the brackets and sub-frame phases fitting best.

    The K reported contacts keep their number and order; contact ``j`` may move to any bracket
    ``(k, k + 1)`` with ``k`` within ``reach`` frames of ``floor(c_j)``. Every placement cuts every
    track into K + 1 segments, each fitted by one polynomial per coordinate (quadratic; linear for
    two frames); the placement with the least total squared residual over all tracks is found
    exactly (dynamic programming over the contacts; segments of at least 2 frames; ties keep the
    reported brackets). The contact time inside its bracket is where the two neighbouring fits
    (:data:`REFINE_FRAMES` frames each side) of the track that changes most meet (least
    ``|p_left(t) - p_right(t)|`` on a 1/50-frame grid). A detector that places contacts a frame or
    two off is corrected; on exact piecewise-ballistic tracks the times are exact to the grid.
    """
    T = points.shape[0]
    reported = sorted({int(np.floor(c)) for c in cuts if 0 <= c < T - 1})
    if not reported:
        return [float(c) for c in cuts if not (0 <= c < T - 1)]
    cache: dict[tuple[int, int], float] = {}

    def cost(a: int, b: int) -> float:  # frames a..b inclusive
        if (a, b) not in cache:
            total = 0.0
            for n in range(points.shape[1]):
                f = np.arange(a, b + 1)
                f = f[visible[f, n]]
                if f.size >= 3:
                    t = f - float(a)
                    A = np.vander(t, 3)
                    coef = _poly_fit(t, points[f, n], 2)
                    total += float(np.sum((points[f, n] - A @ coef) ** 2))
            cache[(a, b)] = total
        return cache[(a, b)]

    cands = [[k for k in range(k0 - reach, k0 + reach + 1) if 0 <= k <= T - 2] for k0 in reported]
    tie = 1e-9
    best: list[dict[int, tuple[float, int | None]]] = []
    for j, ks in enumerate(cands):
        layer: dict[int, tuple[float, int | None]] = {}
        for k in ks:
            bias = tie * abs(k - reported[j])
            if j == 0:
                if k >= 1:
                    layer[k] = (cost(0, k) + bias, None)
                continue
            options = [(best[j - 1][kp][0] + cost(kp + 1, k) + bias, kp) for kp in best[j - 1] if k - kp >= 2]
            if options:
                layer[k] = min(options)
        if not layer:  # cannot place this contact apart from the previous ones: drop it
            cands[j] = []
            best.append(best[-1] if best else {})
            continue
        best.append(layer)
    # backtrack from the last placed contact
    placed: list[int] = []
    last = len(best) - 1
    while last >= 0 and not cands[last]:
        last -= 1
    if last < 0:
        return [float(c) for c in cuts]
    final = {k: v[0] + cost(k + 1, T - 1) for k, v in best[last].items()}
    k = min(final, key=final.get)
    for j in range(last, -1, -1):
        if not cands[j]:
            continue
        placed.append(k)
        prev = best[j][k][1]
        if prev is None:
            break
        k = prev
    placed = sorted(placed)
    return [_phase(points, visible, k, placed) for k in placed]


def _phase(points: np.ndarray, visible: np.ndarray, k: int, placed: list[int]) -> float:
    """Sub-frame contact time in bracket ``(k, k + 1)`` (see :func:`refine_cuts`)."""
    i = placed.index(k)
    lo = placed[i - 1] + 1 if i > 0 else 0
    hi = placed[i + 1] if i + 1 < len(placed) else points.shape[0] - 1
    fits = []
    for n in range(points.shape[1]):
        left = np.arange(max(lo, k - REFINE_FRAMES + 1), k + 1)
        right = np.arange(k + 1, min(hi, k + REFINE_FRAMES) + 1)
        left, right = left[visible[left, n]], right[visible[right, n]]
        if left.size < 2 or right.size < 2:
            continue
        side = []
        for f in (left, right):
            side.append(_poly_fit(f - float(k), points[f, n], 2 if f.size >= 3 else 1))
        fits.append(side)
    if not fits:
        return k + 0.5
    grid = np.linspace(0.0, 1.0, 51)
    jumps = [np.linalg.norm(_slope(cl, 1.0) - _slope(cr, 0.0)) for cl, cr in fits]
    cl, cr = fits[int(np.argmax(jumps))]
    gap = np.linalg.norm(_value(cl, grid) - _value(cr, grid), axis=-1)
    return float(k + grid[int(np.argmin(gap))])


def _value(coef: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.vander(t, coef.shape[0]) @ coef


def _slope(coef: np.ndarray, t: float) -> np.ndarray:
    deg = coef.shape[0] - 1
    return sum(coef[j] * (deg - j) * t ** (deg - j - 1) for j in range(deg))


def _poly_fit(t: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """Least-squares polynomial coefficients (highest power first) of ``y [K, D]`` over ``t [K]``."""
    A = np.vander(t, degree + 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef


def local_velocity(points: np.ndarray, seg: Segment, at: float | None = None) -> np.ndarray:
    """Velocity (px/frame, ``[K, 2]`` at the segment's visible frames, or ``[2]`` at time ``at``).

    At a frame: quadratic fit over the visible frames within :data:`HALF_WINDOW` of it inside the
    segment (linear with two frames, NaN with one). At a time ``at`` (a contact at the segment's
    start or end): the fit over the :data:`EDGE_FRAMES` segment frames nearest to ``at``.
    """
    t_all = seg.frames.astype(np.float64)
    p_all = points[seg.frames, seg.track]
    if at is not None:
        order = np.argsort(np.abs(t_all - at), kind="stable")[:EDGE_FRAMES]
        return _derivative(t_all[order], p_all[order], float(at))
    out = np.full((t_all.size, 2), np.nan)
    for i, t in enumerate(t_all):
        near = np.abs(t_all - t) <= HALF_WINDOW
        out[i] = _derivative(t_all[near], p_all[near], float(t))
    return out


def _derivative(t: np.ndarray, p: np.ndarray, at: float) -> np.ndarray:
    if t.size < 2:
        return np.full(2, np.nan)
    degree = 2 if t.size >= 3 else 1
    if degree == 2 and np.unique(t).size < 3:
        degree = 1
    coef = _poly_fit(t - at, p, degree)
    return coef[-2]  # d/dt at t = at


def frame_velocities(points: np.ndarray, visible: np.ndarray, cuts: list[float] | np.ndarray) -> np.ndarray:
    """``[T, N, 2]`` velocity in px/frame at every visible frame (NaN elsewhere), fitted per segment."""
    vel = np.full(points.shape, np.nan)
    for seg in segments(visible, cuts):
        if seg.length:
            vel[seg.frames, seg.track] = local_velocity(points, seg)
    return vel


def velocity_jump(
    points: np.ndarray, visible: np.ndarray, track: int, contact: float, cuts: list[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(v_before, v_after)`` px/frame of ``track`` at the contact time ``contact`` (frames).

    Each side extrapolates the fit of the segment on that side of the contact to the contact time;
    NaN when a side has fewer than two visible frames.
    """
    cut_frame = int(np.floor(contact)) + 1
    before = after = None
    for seg in segments(visible[:, track : track + 1], cuts):
        if seg.stop == cut_frame:
            before = seg
        if seg.start == cut_frame:
            after = seg
    nan = np.full(2, np.nan)
    single = points[:, track : track + 1]
    v0 = local_velocity(single, before, contact) if before is not None else nan
    v1 = local_velocity(single, after, contact) if after is not None else nan
    return v0, v1
