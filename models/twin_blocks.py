"""The blocks of the twin DiT: one tower's half of a block (:class:`Tower`), the gated kinematic
cross-attention of the audio tower, a twin block (video and audio halves joined by fusion
attention) and the final adaLN layer. Their initial values are set by
:func:`.twin_dit.initialize_weights`.

Token tensors are ``[B, N, d]`` (d = hidden), per-head tensors ``[B, H, N, Dh]``; modulation vectors
``[B, d]`` (per tower, from the flow time and the pooled text).
"""

from __future__ import annotations

import torch
from torch import nn

from .config import GeneratorConfig
from .layers import Mlp, RMSNorm, apply_rope, attention, merge_heads, modulate, split_heads
from .physics_cond import PhysicsModulation


class Tower(nn.Module):
    """One tower's half of a block: modulation, attention projections, MLP."""

    def __init__(self, d: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.q_norm = RMSNorm(d // heads)
        self.k_norm = RMSNorm(d // heads)
        self.out = nn.Linear(d, d)
        self.mlp = Mlp(d, mlp_ratio)
        self.ada = nn.Linear(d, 6 * d)

    def qkv_heads(
        self, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor, rope: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.qkv(modulate(self.norm1(x), shift, scale)).chunk(3, dim=-1)
        q = apply_rope(self.q_norm(split_heads(q, self.heads)), rope)
        k = apply_rope(self.k_norm(split_heads(k, self.heads)), rope)
        return q, k, split_heads(v, self.heads)


class KinematicCrossAttention(nn.Module):
    """Audio queries attend to kinematic tokens; added through the gate sigmoid(alpha)."""

    def __init__(self, d: int, heads: int, gate_init: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.q_norm = RMSNorm(d // heads)
        self.k_norm = RMSNorm(d // heads)
        self.out = nn.Linear(d, d)
        self.alpha = nn.Parameter(torch.full((1,), float(gate_init)))  # set again by initialize_weights

    def gate(self) -> torch.Tensor:
        return torch.sigmoid(self.alpha)

    def keys(self, kin: torch.Tensor, rope_k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``[B, H, Nk, Dh]`` of the kinematic tokens ``kin [B, Nk, d]`` (once per clip)."""
        k, v = self.kv(kin).chunk(2, dim=-1)
        return apply_rope(self.k_norm(split_heads(k, self.heads)), rope_k), split_heads(v, self.heads)

    def forward(
        self,
        x: torch.Tensor,
        kv: tuple[torch.Tensor, torch.Tensor],
        keep: torch.Tensor,
        rope_q: torch.Tensor,
    ) -> torch.Tensor:
        """``x [B, Na, d]``, ``kv`` from :meth:`keys`, ``keep [B, Nk]`` bool → x + gated cross-attention."""
        q = apply_rope(self.q_norm(split_heads(self.q(self.norm(x)), self.heads)), rope_q)
        o = attention(q, kv[0], kv[1], keep[:, None, None, :])
        return x + self.gate() * self.out(merge_heads(o))


class TwinBlock(nn.Module):
    """One video block and one audio block, fused by joint attention when ``fusion`` is True."""

    def __init__(self, cfg: GeneratorConfig, fusion: bool) -> None:
        super().__init__()
        d = cfg.hidden
        self.fusion = fusion
        self.video = Tower(d, cfg.heads, cfg.mlp_ratio)
        self.audio = Tower(d, cfg.heads, cfg.mlp_ratio)
        self.kin = KinematicCrossAttention(d, cfg.heads, cfg.kin_gate_init)
        self.phys = PhysicsModulation(cfg.physics_hidden, d, cfg.physics_conditioning)
        # MTV's music FiLM (models with cfg.music_film): the clip's music vector -> a Delta of the video
        # tower's adaLN (:mod:`.music_film`)
        self.music = nn.Linear(cfg.music_hidden, 6 * d) if cfg.music_film else None

    def forward(
        self,
        xv: torch.Tensor,
        xa: torch.Tensor,
        cv: torch.Tensor,
        ca: torch.Tensor,
        ropes: dict[str, torch.Tensor],
        kin_kv: tuple[torch.Tensor, torch.Tensor],
        kin_keep: torch.Tensor,
        phys_mod: torch.Tensor,
        joint: bool,
        masks: tuple[torch.Tensor, torch.Tensor] | None = None,
        music_mod: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step through the block; ``kin_kv`` (:meth:`KinematicCrossAttention.keys`) and
        ``phys_mod = self.phys(physics features)`` ``[B, 1 or Na, 6d]`` are prepared once per clip
        (the audio tower's modulation then varies over its tokens). ``masks``: keep-masks of the joint
        and the audio-only attention (:func:`.streams.attention_masks`) or None. ``music_mod``:
        ``self.music(music vector)`` ``[B, 1, 6d]``, the music FiLM's Δ of the video adaLN, or None."""
        mv = self.video.ada(cv)[:, None]
        if music_mod is not None:
            mv = mv + music_mod
        ma = self.audio.ada(ca)[:, None] + phys_mod
        sv1, cv1, gv1, sv2, cv2, gv2 = mv.chunk(6, dim=-1)
        sa1, ca1, ga1, sa2, ca2, ga2 = ma.chunk(6, dim=-1)
        qv, kv, vv = self.video.qkv_heads(xv, sv1, cv1, ropes["video"])
        qa, ka, va = self.audio.qkv_heads(xa, sa1, ca1, ropes["audio"])
        if self.fusion and joint:
            nv = qv.shape[2]
            mask = None if masks is None else masks[0]
            o = attention(torch.cat([qv, qa], 2), torch.cat([kv, ka], 2), torch.cat([vv, va], 2), mask)
            ov, oa = o[:, :, :nv], o[:, :, nv:]
        else:
            ov, oa = attention(qv, kv, vv), attention(qa, ka, va, None if masks is None else masks[1])
        xv = xv + gv1 * self.video.out(merge_heads(ov))
        xa = xa + ga1 * self.audio.out(merge_heads(oa))
        xa = self.kin(xa, kin_kv, kin_keep, ropes["audio"])
        xv = xv + gv2 * self.video.mlp(modulate(self.video.norm2(xv), sv2, cv2))
        xa = xa + ga2 * self.audio.mlp(modulate(self.audio.norm2(xa), sa2, ca2))
        return xv, xa


class FinalLayer(nn.Module):
    def __init__(self, d: int, out: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Linear(d, 2 * d)
        self.linear = nn.Linear(d, out)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.ada(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))
