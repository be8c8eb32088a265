"""Temporal RoPE positions of the generator's tokens, in video latent frames (``stride / fps`` s).

With ``token_times = "centre"`` every token sits at the centre time of what it summarises, so tokens
of the same instant share the temporal rotation (docs/generator.md, *Token times*):

- video latent frame 0 is frame 0 alone (time 0); latent frame ``k >= 1`` averages frames
  ``s(k-1)+1 .. s k`` (``s`` = temporal stride), centre ``(s k - (s-1)/2) / fps``, i.e. position
  ``k - (s-1) / (2 s)``;
- kinematic tokens are group means over the same frames: the same positions;
- audio token ``j`` holds mel frames ``P j .. P j + P - 1`` (``P`` = audio patch) of a centred STFT
  (mel frame ``m`` at ``m hop / sample_rate`` s), centre ``(P j + (P-1)/2) hop / sample_rate``.

``"start"`` is the layout of checkpoints made before the alignment (positions ``k`` and
``j * audio_rope_scale``). ``media/token_clock.py`` computes the same centres independently in
seconds; a test checks that the two agree within 1 ms.
"""

from __future__ import annotations

import torch

from .config import GeneratorConfig


def latent_frame_positions(cfg: GeneratorConfig, latent_frames: int) -> torch.Tensor:
    """Temporal positions ``[latent_frames]`` (float64, CPU) of video latent frames and of the
    kinematic tokens of those frames."""
    pos = torch.arange(latent_frames, dtype=torch.float64, device="cpu")
    if cfg.token_times == "centre" and latent_frames > 1:
        s = cfg.temporal_stride
        pos[1:] -= (s - 1) / (2 * s)
    return pos


def audio_token_positions(cfg: GeneratorConfig, tokens: int) -> torch.Tensor:
    """Temporal positions ``[tokens]`` (float64, CPU) of audio tokens."""
    j = torch.arange(tokens, dtype=torch.float64, device="cpu")
    if cfg.token_times == "centre":
        p = cfg.audio_patch
        j = j + (p - 1) / (2 * p)
    return j * cfg.audio_rope_scale


def positions_to_seconds(cfg: GeneratorConfig, positions: torch.Tensor) -> torch.Tensor:
    """Temporal positions (latent frames) → seconds (``positions * stride / fps``)."""
    return positions * cfg.temporal_stride / cfg.fps
