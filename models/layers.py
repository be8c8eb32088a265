"""Small building blocks: RMSNorm, rotary embeddings (3-D / 1-D, time-aligned), attention,
timestep and Fourier embeddings, adaLN modulation.

Shapes: token tensors are ``[B, N, D]``; per-head tensors ``[B, H, N, Dh]``; positions ``[N, 3]``
(time, y, x) in units of video latent frames / latent patches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last dimension with a learned gain."""

    def __init__(self, dim: int, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None  # device: moved with the module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def rope_angles(positions: torch.Tensor, split: tuple[int, ...], theta: float = 10000.0) -> torch.Tensor:
    """Rotation angles (radians) ``[N, sum(split)/2]`` for ``positions [N, len(split)]``.

    Axis ``a`` owns ``split[a]/2`` rotation pairs with frequencies ``theta**(-2i/split[a])``; an
    axis position of 0 gives angle 0 (identity) on its pairs, which is how 1-D audio positions
    ``(t, 0, 0)`` share the temporal pairs of the 3-D video layout.
    """
    parts = []
    pos = positions.to(torch.float64)
    for a, d in enumerate(split):
        freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64, device=pos.device) / d)
        parts.append(pos[:, a : a + 1] * freqs[None, :])
    return torch.cat(parts, dim=-1)


def rope_rotations(positions: torch.Tensor, split: tuple[int, ...], theta: float) -> torch.Tensor:
    """Unit rotations ``[N, Dh/2, 2]`` (float32 cos, sin) of :func:`rope_angles`.

    Real-valued (the view of complex64 ``exp(i * angle)``) so that a module holding the table as a
    buffer can be moved with ``.to()`` (a complex buffer would lose its imaginary part on a cast).
    """
    ang = rope_angles(positions, split, theta).to(torch.float32)
    return torch.view_as_real(torch.polar(torch.ones_like(ang), ang))


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 for float64 tensors, else float32: the precision of RoPE, flow times and embeddings."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def apply_rope(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate ``x [B, H, N, Dh]`` by ``rot [N, Dh/2, 2]`` (cos, sin); pairs are (2i, 2i + 1).

    Computed in float32 (float64 for float64 inputs) and returned in ``x``'s dtype.
    """
    cdt = compute_dtype(x)
    xc = torch.view_as_complex(x.to(cdt).unflatten(-1, (-1, 2)).contiguous())
    rc = torch.view_as_complex(rot.to(device=x.device, dtype=cdt).contiguous())
    return torch.view_as_real(xc * rc).flatten(-2).to(x.dtype)


def video_positions(times: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """Positions ``[L*gh*gw, 3]`` (t, y, x) of patch tokens in (t, y, x) raster order.

    ``times [L]``: the temporal position of each latent frame (one unit = ``temporal_stride / fps``
    seconds; :mod:`.token_times`); y, x are patch rows and columns.
    """
    gh, gw = grid_h, grid_w
    t = times.to(torch.float64).repeat_interleave(gh * gw)
    y = (
        torch.arange(gh, dtype=torch.float64, device=times.device)
        .repeat_interleave(gw)
        .repeat(times.shape[0])
    )
    x = torch.arange(gw, dtype=torch.float64, device=times.device).repeat(times.shape[0] * gh)
    return torch.stack([t, y, x], dim=-1)


def time_positions(times: torch.Tensor) -> torch.Tensor:
    """Positions ``[N, 3]`` = (t, 0, 0) for temporal positions ``times [N]`` (audio and kinematic
    tokens: only the temporal rotation pairs turn)."""
    pos = torch.zeros(times.shape[0], 3, dtype=torch.float64, device=times.device)
    pos[:, 0] = times.to(torch.float64)
    return pos


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``[B, N, H*Dh]`` → ``[B, H, N, Dh]``."""
    b, n, d = x.shape
    return x.view(b, n, heads, d // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``[B, H, N, Dh]`` → ``[B, N, H*Dh]``."""
    b, h, n, dh = x.shape
    return x.transpose(1, 2).reshape(b, n, h * dh)


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """PyTorch SDPA on ``[B, H, N, Dh]``; ``mask``: bool keep-mask broadcastable to ``[B, H, Nq, Nk]``."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding ``[B, dim]`` of flow times ``t [B]`` in [0, 1] (scaled by 1000)."""
    half = dim // 2
    cdt = compute_dtype(t)
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=cdt, device=t.device) / half)
    args = (t.to(cdt) * 1000.0)[:, None] * freqs[None]
    return torch.cat([args.cos(), args.sin()], dim=-1)


class TimestepEmbedder(nn.Module):
    """Flow time ``t [B]`` → conditioning vector ``[B, hidden]`` (sinusoid + 2-layer MLP)."""

    def __init__(self, hidden: int, freq_dim: int = 128) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """``t [B]`` (float32 or float64) → ``[B, hidden]`` in the MLP's dtype."""
        return self.mlp(timestep_embedding(t, self.freq_dim).to(self.mlp[0].weight.dtype))


def fourier_features(x: torch.Tensor, bands: int) -> torch.Tensor:
    """``x [..., D]`` → ``[..., D*(1+2*bands)]``: x, sin(2^k π x), cos(2^k π x) for k < bands."""
    freqs = (2.0 ** torch.arange(bands, dtype=x.dtype, device=x.device)) * math.pi
    ang = x[..., None] * freqs
    feats = torch.cat([x[..., None], ang.sin(), ang.cos()], dim=-1)
    return feats.flatten(-2)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: ``x [B, N, D] * (1 + scale) + shift`` with ``scale``, ``shift`` of shape ``[B, D]`` (per
    clip) or ``[B, 1 or N, D]`` (per token)."""
    if scale.dim() == 2:
        scale, shift = scale[:, None], shift[:, None]
    return x * (1 + scale) + shift


class Mlp(nn.Module):
    """Two-layer GELU (erf) MLP ``dim → dim*ratio → dim``."""

    def __init__(self, dim: int, ratio: float, out: int | None = None) -> None:
        super().__init__()
        inner = int(dim * ratio)
        self.fc1 = nn.Linear(dim, inner)
        self.fc2 = nn.Linear(inner, out or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))
