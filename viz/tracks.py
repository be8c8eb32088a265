"""Tracks drawn over frames: each track's path up to the current frame and its current point."""

from __future__ import annotations

import colorsys

import numpy as np

#: Sub-pixel drawing precision of OpenCV's fixed-point coordinates (1/16 px).
SHIFT = 4


def track_colours(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct saturated RGB colours (0..255), hues spread by the golden ratio."""
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((0.0 + 0.618033988749895 * i) % 1.0, 0.9, 1.0)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def _runs(mask: np.ndarray) -> list[np.ndarray]:
    """Index runs of consecutive True entries of a 1-D ``mask``."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    return np.split(idx, breaks)


def draw_tracks(
    frames: np.ndarray,
    points: np.ndarray,
    visible: np.ndarray,
    line_width: int = 2,
    point_radius: int = 5,
    trail: int = 0,
) -> np.ndarray:
    """Draw tracks over frames, in place, and return the frames.

    Args:
        frames: uint8 ``[T, H, W, 3]`` RGB, C-contiguous and writable (drawn on in place).
        points: ``[T, N, 2]`` image pixels ``(x, y)`` (already scaled to the frames).
        visible: bool ``[T, N]``.
        line_width: path width in pixels. point_radius: radius of the current point's marker in
            pixels (0 = none; the marker is filled with the track's colour and ringed in white).
        trail: frames of path shown behind the current point (0 = the whole path so far).

    Returns:
        ``frames``: at frame t each track's visible path from ``max(0, t - trail)`` to t as
        anti-aliased polylines (a hidden stretch breaks the line), one colour per track
        (:func:`track_colours`).
    """
    import cv2

    T, N = visible.shape
    colours = track_colours(N)
    fixed = np.round(np.asarray(points, dtype=np.float64) * (1 << SHIFT)).astype(np.int32)
    for t in range(T):
        canvas = frames[t]
        start = 0 if trail <= 0 else max(0, t - trail)
        for n in range(N):
            colour = colours[n]
            seg = fixed[start : t + 1, n]
            for run in _runs(visible[start : t + 1, n]):
                if len(run) > 1:
                    polyline = [seg[run].reshape(-1, 1, 2)]
                    cv2.polylines(canvas, polyline, False, colour, line_width, cv2.LINE_AA, SHIFT)
            if point_radius > 0 and visible[t, n]:
                centre = (int(fixed[t, n, 0]), int(fixed[t, n, 1]))
                radius = point_radius << SHIFT
                cv2.circle(canvas, centre, radius, colour, -1, cv2.LINE_AA, SHIFT)
                cv2.circle(canvas, centre, radius, (255, 255, 255), 1, cv2.LINE_AA, SHIFT)
    return frames
