"""TE — trajectory error between conditioning tracks and tracks measured on the generated video.

With conditioning points ``p[t, n]`` and measured points ``q[t, n]`` (pixels, (x, y)) and the
set ``V`` of (t, n) visible in both::

    TE_px   = (1 / |V|) sum_{(t,n) in V} || p[t, n] - q[t, n] ||_2        (pixels)
    TE_frac = TE_px / sqrt(W^2 + H^2)                                     (fraction of the diagonal)

No common visible point -> NaN (undefined, not zero). Measuring tracks on a video is done
elsewhere (perception); this module only compares two given track sets.
"""

from __future__ import annotations

import numpy as np


def trajectory_error(
    cond_points: np.ndarray,
    measured_points: np.ndarray,
    width: int,
    height: int,
    cond_visible: np.ndarray | None = None,
    measured_visible: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(TE_px, TE_frac)`` for points ``[T, N, 2]`` (pixels) and optional visibility ``[T, N]``.

    If the clips differ in length the first ``min(T, T')`` frames are compared; the number of
    tracks ``N`` must match.
    """
    p = np.asarray(cond_points, dtype=np.float64)
    q = np.asarray(measured_points, dtype=np.float64)
    if p.ndim != 3 or q.ndim != 3 or p.shape[2] != 2 or q.shape[2] != 2:
        raise ValueError(f"track points must be [T,N,2], got {p.shape} and {q.shape}")
    if p.shape[1] != q.shape[1]:
        raise ValueError(f"conditioning has {p.shape[1]} tracks, measured has {q.shape[1]}")
    t = min(p.shape[0], q.shape[0])
    p, q = p[:t], q[:t]
    vis = np.ones(p.shape[:2], dtype=bool)
    if cond_visible is not None:
        vis &= np.asarray(cond_visible, dtype=bool)[:t]
    if measured_visible is not None:
        vis &= np.asarray(measured_visible, dtype=bool)[:t]
    vis &= np.all(np.isfinite(p), axis=2) & np.all(np.isfinite(q), axis=2)
    diag = float(np.hypot(width, height))
    if not vis.any() or diag <= 0:
        return float("nan"), float("nan")
    dist = np.linalg.norm(p - q, axis=2)[vis]
    te = float(dist.mean())
    return te, te / diag
