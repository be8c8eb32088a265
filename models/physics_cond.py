"""Physics conditioning of the audio tower: mass and speed → Δ of its adaLN parameters.

The input is :class:`~.conditioning.Conditioning`'s ``physics [B, T, N, 2]`` (mass kg, speed m/s at
each of the clip's T video frames) with its validity mask of the same shape. Two layouts
(``GeneratorConfig.physics_conditioning``):

- ``"pavas"`` (an option, PAVAS's design): mass and velocity are separate terms. Mass: per object
  ``signed_log(m)`` → Fourier features → MLP → ``[N, H]``. Speed: interpolated from the video
  frames to every audio token's centre time (:mod:`.token_times`), then the same kind of MLP →
  ``[La, N, H]``. Each is pooled over the objects with a learned, masked softmax weighting (a
  linear score per object; an unknown object has weight 0; no known object gives 0), then every
  block projects the pooled features to a Δ of the audio tower's six adaLN vectors with its own
  learnable scale per term: ``Δ = g_m · P_m(mass) + g_v · P_v(speed)`` of shape ``[B, La, 6d]``
  (the speed term varies over time, the mass term does not). Projections start at 0, so physics
  changes nothing until training finds a use for it.
- ``"pooled"`` (the default and the shipped model's layout): one (mass, mean speed over the known
  frames) vector per object → MLP → masked mean → ``[B, 1, 6d]``.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import fourier_features


def signed_log(x: torch.Tensor) -> torch.Tensor:
    """sign(x) * ln(1 + |x|) (torch twin of the kinematics compression, for physics inputs)."""
    return torch.sign(x) * torch.log1p(x.abs())


def token_speeds(
    speed: torch.Tensor, known: torch.Tensor, times_s: torch.Tensor, fps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Speeds at audio token times by linear interpolation between video frames.

    Args:
        speed: ``[B, T, N]`` m/s at video frames ``0, 1/fps, ...``; known: ``[B, T, N]`` bool.
        times_s: ``[La]`` token centre times (s); fps: video frame rate.
    Returns:
        ``(speed [B, La, N], known [B, La, N])``: known where both neighbouring frames are
        (times past the last frame take the last frame).
    """
    t = speed.shape[1]
    pos = (times_s.to(device=speed.device, dtype=torch.float64) * fps).clamp(0, t - 1)
    i0 = pos.floor().long().clamp(max=t - 1)
    i1 = torch.where(pos > i0, i0 + 1, i0).clamp(max=t - 1)  # on a frame: that frame only
    w = (pos - i0).to(speed.dtype)[None, :, None]
    s = (1 - w) * speed[:, i0] + w * speed[:, i1]
    return s, known[:, i0] & known[:, i1]


def masked_pool(feats: torch.Tensor, score: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Softmax-weighted sum over objects: ``feats [..., N, H]``, ``score [..., N]``, ``known [..., N]``
    bool → ``[..., H]`` (0 where no object is known; unknown objects have weight 0)."""
    if feats.shape[-2] == 0:
        return feats.sum(-2)
    s = score.masked_fill(~known, float("-inf"))
    w = torch.softmax(s, dim=-1).nan_to_num(0.0)  # all unknown: -inf everywhere -> NaN -> 0
    return (w[..., None] * feats).sum(-2)


class PhysicsConditioner(nn.Module):
    """The per-object physics encoders (mass; speed in ``"pavas"``) and their pooling scores."""

    def __init__(self, fourier: int, hidden: int, layout: str) -> None:
        super().__init__()
        self.fourier, self.layout = fourier, layout
        dims = 2 if layout == "pooled" else 1

        def mlp(inputs: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(inputs * (1 + 2 * fourier), hidden), nn.SiLU(), nn.Linear(hidden, hidden)
            )

        self.mass_mlp = mlp(dims)
        if layout == "pavas":
            self.speed_mlp = mlp(1)
            self.mass_score = nn.Linear(hidden, 1)
            self.speed_score = nn.Linear(hidden, 1)

    def features(
        self, physics: torch.Tensor, known: torch.Tensor, times_s: torch.Tensor, fps: float
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pooled features: ``(mass [B, 1, H], speed [B, La, H] or None)`` (``"pooled"``: the first
        holds the old per-clip vector and the second is None)."""
        f = self.fourier
        if self.layout == "pooled":
            # the old input: (mass, mean speed over the known frames) per object, known by its mass
            ks = known[..., 1].to(physics.dtype)
            mean_speed = (physics[..., 1] * ks).sum(1) / ks.sum(1).clamp_min(1)
            x = torch.stack([physics[:, 0, :, 0], mean_speed], dim=-1)  # [B, N, 2]
            feats = self.mass_mlp(fourier_features(signed_log(x), f))
            w = known[:, 0, :, 0].to(feats.dtype)
            return ((feats * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp_min(1))[:, None], None
        mass = physics[:, 0, :, :1]  # [B, N, 1]
        mf = self.mass_mlp(fourier_features(signed_log(mass), f))  # [B, N, H]
        pooled_m = masked_pool(mf, self.mass_score(mf)[..., 0], known[:, 0, :, 0])[:, None]
        speed, sk = token_speeds(physics[..., 1], known[..., 1], times_s, fps)  # [B, La, N]
        sf = self.speed_mlp(fourier_features(signed_log(speed[..., None]), f))  # [B, La, N, H]
        pooled_s = masked_pool(sf, self.speed_score(sf)[..., 0], sk)
        return pooled_m, pooled_s


class PhysicsModulation(nn.Module):
    """One block's projection of the pooled physics features to a Δ of the audio adaLN ``[B, *, 6d]``."""

    def __init__(self, hidden: int, d: int, layout: str) -> None:
        super().__init__()
        self.mass = nn.Linear(hidden, 6 * d)
        if layout == "pavas":
            self.speed = nn.Linear(hidden, 6 * d)
            # a learnable scale per term (mass, speed), PAVAS's separate modulation strengths
            self.gain = nn.Parameter(torch.ones(2))

    def forward(self, mass: torch.Tensor, speed: torch.Tensor | None) -> torch.Tensor:
        if speed is None:
            return self.mass(mass)
        return self.gain[0] * self.mass(mass) + self.gain[1] * self.speed(speed)


def rename_legacy_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights of a checkpoint saved before this module existed, under today's names
    (``dit.phys_mlp.*`` → ``dit.physics.mass_mlp.*``, ``dit.blocks.i.phys.*`` →
    ``dit.blocks.i.phys.mass.*``); other states come back unchanged."""
    if not any(k.startswith("dit.phys_mlp.") for k in state):
        return state
    out = {}
    for k, v in state.items():
        if k.startswith("dit.phys_mlp."):
            k = "dit.physics.mass_mlp." + k[len("dit.phys_mlp.") :]
        elif k.startswith("dit.blocks.") and k.split(".")[3] == "phys":
            parts = k.split(".")
            k = ".".join(parts[:4] + ["mass"] + parts[4:])
        out[k] = v
    return out
