"""Scoring extracted tracks against ground truth: detection of moving objects and trajectory error.

An extracted track *finds* a ground-truth object when they are paired one-to-one (Hungarian
assignment on frame-0 distance) and the pair's first common visible point is within
``match_px`` pixels. A ground-truth object *moves* when its visible points span at least
``moving_px`` pixels and it is visible in frame 0 (first-frame segmentation cannot find objects
that enter later). The trajectory error of a found object is the mean Euclidean distance (px)
over the frames where both tracks are visible (TE in :mod:`kinesonic.metrics.trajectory`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_MATCH_PX = 5.0
DEFAULT_MOVING_PX = 3.0


@dataclass
class Score:
    """Detection and error of one clip.

    Attributes:
        moving: number of moving ground-truth objects visible in frame 0.
        found: how many of them were found.
        errors: TE in pixels of each found moving object.
        extra: extracted tracks not paired with any moving object.
    """

    moving: int = 0
    found: int = 0
    errors: list[float] = field(default_factory=list)
    extra: int = 0


def score_tracks(
    points: np.ndarray,
    visible: np.ndarray,
    gt_points: np.ndarray,
    gt_visible: np.ndarray,
    match_px: float = DEFAULT_MATCH_PX,
    moving_px: float = DEFAULT_MOVING_PX,
) -> Score:
    """Score extracted tracks ``[T, N, 2]`` / ``[T, N]`` against ground truth ``[T, M, 2]`` / ``[T, M]``."""
    from scipy.optimize import linear_sum_assignment

    points, gt_points = np.asarray(points, float), np.asarray(gt_points, float)
    visible, gt_visible = np.asarray(visible, bool), np.asarray(gt_visible, bool)
    moving = []
    for m in range(gt_points.shape[1]):
        vis = gt_visible[:, m]
        if not vis[0]:
            continue
        p = gt_points[vis, m]
        if np.linalg.norm(p - p[0], axis=1).max() >= moving_px:
            moving.append(m)
    score = Score(moving=len(moving))
    N = points.shape[1]
    if not moving or N == 0:
        score.extra = N
        return score
    cost = np.linalg.norm(points[0][:, None, :] - gt_points[0, moving][None, :, :], axis=-1)  # [N, M']
    rows, cols = linear_sum_assignment(cost)
    paired = 0
    for n, j in zip(rows, cols, strict=True):
        if cost[n, j] > match_px:
            continue
        m = moving[j]
        both = visible[:, n] & gt_visible[:, m]
        if not both.any():
            continue
        paired += 1
        score.found += 1
        score.errors.append(float(np.linalg.norm(points[both, n] - gt_points[both, m], axis=1).mean()))
    score.extra = N - paired
    return score
