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
