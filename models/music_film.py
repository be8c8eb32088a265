"""MTV's holistic music conditioning: the music stem of a soundtrack → one FiLM vector for the video.

In audio-to-video from demixed stems the video attends to the speech and effects streams inside their
active intervals (:mod:`.streams`); the music stream is given as a whole instead, as one vector per
clip. :func:`music_features` summarises the music stem with the generator's own audio front end: per
mel band, the mean and the standard deviation over the clip of the normalised log-mel
(``[B, 2 * n_mels]``: which bands sound and how much they move). :class:`MusicConditioner` turns it
into ``[B, 1, music_hidden]`` (an MLP), and every block projects that to a Δ of the video tower's six
adaLN vectors (shift, scale and gate of attention and MLP: a FiLM of the normalised activations).
The projections start at 0, so a model given a music FiLM samples exactly as before until training
finds a use for it. An absent or silent music stem (RMS below :data:`MUSIC_FLOOR_DBFS`) and the CFG
negative give Δ = 0. Only models with ``cfg.music_film`` have these layers (not the shipped one).
"""

from __future__ import annotations

import torch
from torch import nn

#: A music stem quieter than this (RMS, dBFS) counts as absent.
MUSIC_FLOOR_DBFS = -60.0


def music_features(mel: torch.Tensor, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The holistic music vector of a batch of music stems.

    Args:
        mel: the stems' normalised log-mel ``[B, n_mels, F]`` (``AudioCodec.mel``).
        wave: the stems themselves ``[B, S]`` (mono, the model's sample rate), for their level.
    Returns:
        ``(features [B, 2 * n_mels], known [B] bool)``: per band the mean and the standard deviation
        over time; zeros and False where the stem is silent (RMS below :data:`MUSIC_FLOOR_DBFS`).
    """
    if mel.dim() != 3 or wave.dim() != 2 or mel.shape[0] != wave.shape[0]:
        raise ValueError(
            f"music_features: mel [B, n_mels, F] and wave [B, S] expected, got {tuple(mel.shape)}, "
            f"{tuple(wave.shape)}"
        )
    rms = wave.float().pow(2).mean(-1).sqrt()
    known = rms > 10.0 ** (MUSIC_FLOOR_DBFS / 20.0)
    feats = torch.cat([mel.mean(-1), mel.std(-1, unbiased=False)], dim=-1)
    return feats * known[:, None].to(feats.dtype), known


class MusicConditioner(nn.Module):
    """``[B, 2 * n_mels]`` music features → ``[B, 1, hidden]`` (zero where the music is unknown)."""

    def __init__(self, n_mels: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * n_mels, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, feats: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return (self.mlp(feats) * known[:, None].to(feats.dtype))[:, None]
