"""Dropping unusable tracks: seen too briefly, barely moving, or stuck near the image border."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .common import PerceptionError

#: Defaults (documented in docs/extraction.md).
DEFAULT_MIN_VISIBLE = 0.25  # fraction of the frames in which a track must be visible
DEFAULT_MIN_MOTION = 3.0  # px: largest distance from the track's first visible point must reach this
DEFAULT_BORDER = 4.0  # px: tracks whose visible points all lie this close to the border are dropped


@dataclass
class FilterResult:
    """Which tracks were kept and why the others were dropped.

    Attributes:
        keep: ``bool [N]``.
        reasons: for each dropped track index, a short reason ("visible 3/16 frames", ...).
    """

    keep: np.ndarray
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def kept(self) -> np.ndarray:
        """Indices of the kept tracks (int64)."""
        return np.flatnonzero(self.keep)


def filter_tracks(
    points: np.ndarray,
    visible: np.ndarray,
    width: int,
    height: int,
    min_visible: float = DEFAULT_MIN_VISIBLE,
    min_motion: float = DEFAULT_MIN_MOTION,
    border: float = DEFAULT_BORDER,
) -> FilterResult:
    """Decide which tracks to keep.

    Args:
        points: ``[T, N, 2]`` pixel (x, y).
        visible: ``[T, N]`` bool.
        width, height: image size in pixels.
        min_visible: a track must be visible in at least this fraction of the T frames (0..1).
        min_motion: pixels; the largest distance of a visible point from the track's first
            visible point must be at least this (0 keeps static tracks).
        border: pixels; a track is dropped when every visible point lies within this distance of
            the image border (0 disables the check).

    Returns:
        :class:`FilterResult` with ``keep`` ``[N]`` and the reason for each dropped track.
    """
    points = np.asarray(points, dtype=np.float64)
    visible = np.asarray(visible, dtype=bool)
    if points.ndim != 3 or points.shape[2] != 2 or visible.shape != points.shape[:2]:
        raise PerceptionError(
            "filter_tracks: expected points [T, N, 2] and visible [T, N], "
            f"got {points.shape} and {visible.shape}"
        )
    if not 0.0 <= min_visible <= 1.0:
        raise PerceptionError(f"filter_tracks: min_visible must be a fraction in 0..1, got {min_visible}")
    T, N = visible.shape
    keep = np.ones(N, dtype=bool)
    reasons: dict[int, str] = {}
    for n in range(N):
        vis = visible[:, n]
        count = int(vis.sum())
        if count == 0 or count < min_visible * T:
            reasons[n] = f"visible in {count}/{T} frames (< {min_visible:.0%})"
        else:
            p = points[vis, n]
            motion = float(np.linalg.norm(p - p[0], axis=1).max())
            x, y = p[:, 0], p[:, 1]
            edge = np.minimum.reduce([x, y, (width - 1) - x, (height - 1) - y])
            if motion < min_motion:
                reasons[n] = f"moves {motion:.2f} px (< {min_motion} px)"
            elif border > 0 and bool((edge < border).all()):
                reasons[n] = f"stays within {border} px of the border"
        keep[n] = n not in reasons
    return FilterResult(keep=keep, reasons=reasons)
