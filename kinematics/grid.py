"""Tracks on a spatially downsampled latent grid: cell projection, binary and soft masks.

A ``width`` x ``height`` image downsampled by ``factor`` gives a grid of
``h = ceil(height / factor)`` rows and ``w = ceil(width / factor)`` columns. A pixel point
``(x, y)`` goes to cell ``(round(x / factor), round(y / factor))`` (round half up), clipped to the
grid. scipy is imported inside :func:`soft_trajectory_mask` only.
"""

from __future__ import annotations

import math

import numpy as np

from .tracks import Tracks


def latent_grid_size(width: int, height: int, factor: int) -> tuple[int, int]:
    """``(h, w)`` of the latent grid of a ``width`` x ``height`` image downsampled by ``factor``."""
    factor = _check_factor(factor)
    return math.ceil(int(height) / factor), math.ceil(int(width) / factor)


def project_to_grid(points: np.ndarray, factor: int, width: int, height: int) -> np.ndarray:
    """Integer latent cells ``[..., 2]`` (column x, row y) of pixel points ``[..., 2]`` (x, y).

    ``cell = floor(p / factor + 0.5)`` clipped to ``0..w-1`` / ``0..h-1``. Example: a 64 px image with
    factor 8 has an 8 x 8 grid and the point (63.9, 0) goes to cell (x=7, y=0).
    """
    h, w = latent_grid_size(width, height, factor)
    cells = np.floor(np.asarray(points, dtype=np.float64) / factor + 0.5).astype(np.int64)
    cells[..., 0] = np.clip(cells[..., 0], 0, w - 1)
    cells[..., 1] = np.clip(cells[..., 1], 0, h - 1)
    return cells


def trajectory_mask(tracks: Tracks, factor: int = 8, visible_only: bool = True) -> np.ndarray:
    """``[T, h, w]`` bool: True at the latent cell of every (visible) track point of each frame.

    With ``visible_only=False`` the interpolated points of invisible frames are marked too.
    """
    h, w = latent_grid_size(tracks.width, tracks.height, factor)
    points = tracks.points if visible_only else _filled(tracks)
    cells = project_to_grid(points, factor, tracks.width, tracks.height)  # [T, N, 2]
    use = tracks.visible if visible_only else np.ones(tracks.visible.shape, dtype=bool)
    t_idx, n_idx = np.nonzero(use)
    mask = np.zeros((tracks.num_frames, h, w), dtype=bool)
    mask[t_idx, cells[t_idx, n_idx, 1], cells[t_idx, n_idx, 0]] = True
    return mask


def soft_trajectory_mask(mask: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """``[T, h, w]`` float32 soft mask in 0..1 from a binary mask ``[T, h, w]``.

    Per frame, each cell gets ``exp(-d² / (2 sigma²))`` where ``d`` is its distance (in latent cells)
    to the nearest marked cell: exactly 1 on the track, a Gaussian fall-off around it (the maximum
    over the points of unit-peak Gaussians). A frame without marked cells is all 0. ``sigma <= 0``
    returns the binary mask as float.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"soft_trajectory_mask: mask must be [T, h, w], got shape {mask.shape}")
    if sigma <= 0:
        return mask.astype(np.float32)
    from scipy.ndimage import distance_transform_edt

    out = np.zeros(mask.shape, dtype=np.float32)
    for t in np.flatnonzero(mask.any(axis=(1, 2))):
        d = distance_transform_edt(~mask[t])
        out[t] = np.exp(-(d**2) / (2.0 * sigma**2))
    return out


def _check_factor(factor: int) -> int:
    if int(factor) != factor or factor < 1:
        raise ValueError(f"latent grid: factor must be a positive integer, got {factor!r}")
    return int(factor)


def _filled(tracks: Tracks) -> np.ndarray:
    from .features import _filled_points

    return _filled_points(tracks)
