"""Visual events (contacts, hits) and the clip-level motion-strength signal.

Event detection (:func:`find_events`, :func:`detect_events`):

1. positions (normalised by the longer image side, invisible frames interpolated) are smoothed in
   time with a Savitzky-Golay filter of order 2 (window ``smooth_window`` frames, polynomial fit at
   the ends). An order-2 filter leaves parabolas and straight lines unchanged, so free flight stays
   free flight;
2. acceleration magnitude ``|a|`` (per second², findiff order 2) of the smoothed positions;
3. candidates are interior local maxima of each track's ``|a|`` (strictly above the previous frame,
   not below the next) that reach the threshold
   ``max(percentile_fraction * P95, (1 + rel_margin) * median_n, floor)``, where ``P95`` is the 95th
   percentile of ``|a|`` over all tracks and frames of the clip (adaptive to the clip's strongest
   motion), ``median_n`` is the median ``|a|`` of that track (the guard against constant ``|a|``:
   a parabola has ``|a| = g`` everywhere, so nothing exceeds ``2 g``) and ``floor`` is
   ``min_jump_px`` pixels of second difference per frame (``min_jump_px / scale * fps²``), below
   which changes are tracking noise (also makes static points and uniform motion event-free);
4. the peak is refined to sub-frame precision by a parabola through the three samples around it;
5. temporal non-maximum suppression over all tracks: the strongest candidate wins, candidates
   closer than ``max(nms_window_s, (smooth_window // 2 + 1) / fps)`` seconds to a kept one are
   dropped (the smoothing spreads one spike, with small side lobes, over that many frames).
   Contacts closer together than that cannot be separated.

A contact flips the velocity within one frame interval, so ``|a|`` spikes to about
``Δv * fps / 2`` there, far above gravity for any visible bounce. Times are seconds, frame ``i`` at
``i / fps``. Events on the very first or last frame are not reported (no local maximum there).

Motion strength (:func:`motion_strength`): per track
``|v| / mean_t |v| + |a| / mean_t |a|`` (a term whose mean is ~0 contributes 0), averaged over the
tracks: ``[T]``, about 2 on average for moving objects, 0 for a static clip.

scipy and findiff are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import _derivatives, _require_frames, kinematic_state
from .tracks import Tracks

#: Speeds / accelerations below this (normalised units per s / s²) count as zero in motion_strength.
ZERO_TOL = 1e-9


@dataclass(frozen=True)
class Event:
    """One detected event: time in seconds, sub-frame position, track index, peak |a| (1/s²)."""

    time_s: float
    frame: float
    track: int
    strength: float


def find_events(
    tracks: Tracks,
    *,
    smooth_window: int = 5,
    nms_window_s: float = 0.1,
    percentile: float = 95.0,
    percentile_fraction: float = 0.1,
    rel_margin: float = 1.0,
    min_jump_px: float = 1.0,
) -> list[Event]:
    """Detected events sorted by time (see the module doc for the method and parameters).

    Args:
        tracks: at least 4 frames; no never-visible track.
        smooth_window: Savitzky-Golay window in frames (odd; shrunk to fit short clips; <= 2 = none).
        nms_window_s: minimum spacing of reported events in seconds.
        percentile: the clip-level percentile of ``|a|`` (95).
        percentile_fraction: the peak must reach this fraction of that percentile.
        rel_margin: the peak must exceed the track's median ``|a|`` by this relative margin.
        min_jump_px: absolute floor as a second difference in pixels per frame².
    """
    _require_frames(tracks, "detect_events")
    T = tracks.num_frames
    acc = _smoothed_accel_magnitude(tracks, smooth_window)  # [T, N]
    clip_level = float(np.percentile(acc, percentile))
    floor = float(min_jump_px) / tracks.scale * tracks.fps**2
    candidates: list[Event] = []
    for n in range(tracks.num_tracks):
        a = acc[:, n]
        threshold = max(percentile_fraction * clip_level, (1.0 + rel_margin) * float(np.median(a)), floor)
        k = np.arange(1, T - 1)
        is_peak = (a[k] > a[k - 1]) & (a[k] >= a[k + 1]) & (a[k] >= threshold)
        for i in k[is_peak]:
            left, mid, right = a[i - 1], a[i], a[i + 1]
            curvature = left - 2.0 * mid + right
            offset = 0.0 if curvature >= 0 else float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
            frame = float(i) + offset
            candidates.append(Event(frame / tracks.fps, frame, n, float(mid)))
    # The smoothing spreads a spike over +-(window // 2) frames (with small side lobes), so the
    # suppression radius is never below window // 2 + 1 frames.
    radius = max(float(nms_window_s), (max(int(smooth_window), 1) // 2 + 1) / tracks.fps)
    kept: list[Event] = []
    for event in sorted(candidates, key=lambda e: -e.strength):
        if all(abs(event.time_s - other.time_s) >= radius for other in kept):
            kept.append(event)
    return sorted(kept, key=lambda e: e.time_s)


def detect_events(tracks: Tracks, **options: float) -> list[float]:
    """Visual event times in seconds (frame ``i`` at ``i / fps``), sorted; options as :func:`find_events`."""
    return [event.time_s for event in find_events(tracks, **options)]


def motion_strength(tracks: Tracks) -> np.ndarray:
    """``[T]`` float64 clip-level motion strength (see the module doc); needs at least 4 frames."""
    state = kinematic_state(tracks)
    total = np.zeros(tracks.num_frames)
    for column in (6, 7):
        value = state[..., column]  # [T, N]
        value = np.where(value < ZERO_TOL, 0.0, value)
        mean = value.mean(axis=0)
        ratio = np.divide(value, mean, out=np.zeros_like(value), where=mean > ZERO_TOL)
        total += ratio.mean(axis=1)
    return total


def _smoothed_accel_magnitude(tracks: Tracks, smooth_window: int) -> np.ndarray:
    pos = tracks.normalized()
    T = pos.shape[0]
    window = min(int(smooth_window), T if T % 2 else T - 1)
    if window > 2:
        from scipy.signal import savgol_filter

        window = window if window % 2 else window - 1
        pos = savgol_filter(pos, window, 2, axis=0, mode="interp")
    _, acc = _derivatives(pos, tracks.dt)
    return np.hypot(acc[..., 0], acc[..., 1])
