"""Trajectory-conditioned video latent (first-frame latent propagated along tracks).

The grid maths (latent alignment, cell projection, soft masks) lives in ``kinematics``; this module
only gathers/scatters latent features. For latent-aligned tracks (``align_to_latent``) with cells
``cells [L, N, 2]`` (column x, row y):

- frame 0 of the trajectory latent is the first-frame latent, and its mask is all ones;
- in frame t ≥ 1, at the cell of every track visible at t (and at frame 0), the latent holds the
  first-frame feature from that track's frame-0 cell, and the mask is 1;
- where several tracks land on one cell, a seeded random choice picks the winner (tracks are
  written in a seeded random order; the last write wins);
- everything else is 0.
"""

from __future__ import annotations

import numpy as np
import torch


def propagate_first_frame(
    first_latent: torch.Tensor,
    cells: np.ndarray,
    visible: np.ndarray,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Build the trajectory latent and its binary mask.

    Args:
        first_latent: ``[C, h, w]`` latent of the first frame.
        cells: ``[L, N, 2]`` integer latent cells (x column, y row) of latent-aligned tracks,
            already clipped to the grid (``kinematics.grid.project_to_grid``).
        visible: ``[L, N]`` bool visibility of the latent-aligned tracks.
        seed: seed of the collision-resolving random order.
    Returns:
        ``(latent [C, L, h, w], mask [L, h, w] float 0/1)``; frame 0 is the first latent / ones.
    """
    c, h, w = first_latent.shape
    cells = np.asarray(cells, dtype=np.int64)
    visible = np.asarray(visible, dtype=bool)
    lf, n = visible.shape
    if cells.shape != (lf, n, 2):
        raise ValueError(f"cells must have shape [L, N, 2] = {(lf, n, 2)}, got {cells.shape}")
    if (cells[..., 0] < 0).any() or (cells[..., 0] >= w).any() or (cells[..., 1] < 0).any():
        raise ValueError("cells outside the latent grid (project with kinematics.grid.project_to_grid)")
    if (cells[..., 1] >= h).any():
        raise ValueError("cells outside the latent grid (project with kinematics.grid.project_to_grid)")
    latent = torch.zeros(c, lf, h, w, dtype=first_latent.dtype, device=first_latent.device)
    mask = torch.zeros(lf, h, w, dtype=first_latent.dtype, device=first_latent.device)
    latent[:, 0] = first_latent
    mask[0] = 1
    order = np.random.default_rng(seed).permutation(n)
    use = visible & visible[0:1]
    src_x, src_y = cells[0, :, 0], cells[0, :, 1]
    for t in range(1, lf):
        for i in order:
            if not use[t, i]:
                continue
            x, y = cells[t, i]
            latent[:, t, y, x] = first_latent[:, src_y[i], src_x[i]]
            mask[t, y, x] = 1
    return latent, mask
