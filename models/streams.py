"""Stream intervals for stream-aware audio-to-video (MTV's interval-limited attention).

When the given sound of audio-to-video comes as demixed stems, the video should take its cues from
the effects (and speech) stream only where that stream is actually sounding: elsewhere a stem holds
only the separator's leftovers of the other streams. :func:`stream_keep` marks the audio tokens whose
window of a stem is active; the twin DiT then lets the video attend only to those audio tokens, and
those tokens only to each other and the video (:func:`attention_masks`), so nothing outside the
intervals reaches the video.

Audio token ``j`` summarises the samples ``[j * H, (j + 1) * H)`` with ``H = hop_length *
audio_patch`` (the centred STFT frames of its patch; ``cfg.audio_patch`` frames of ``hop_length``).
No parameters: this works with any trained checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import GeneratorConfig

#: A token is active when its window's RMS is within this many dB of the stem's loudest window.
ACTIVE_BELOW_PEAK_DB = 30.0
#: ... and above this absolute RMS level (dBFS): a silent or near-silent stem has no active token.
ACTIVE_FLOOR_DBFS = -60.0
#: Active intervals are widened by this many tokens on each side (about 16 ms each at the tiny
#: config), so an onset that falls at a window edge and a ring's start stay inside.
DILATE_TOKENS = 1


def stream_keep(
    waveform: np.ndarray,
    cfg: GeneratorConfig,
    tokens: int,
    below_peak_db: float = ACTIVE_BELOW_PEAK_DB,
    floor_dbfs: float = ACTIVE_FLOOR_DBFS,
    dilate: int = DILATE_TOKENS,
) -> torch.Tensor:
    """Active audio tokens ``[tokens]`` (bool, CPU) of a stem.

    Args:
        waveform: mono float samples ``[S]`` at ``cfg.sample_rate`` (shorter: zero-padded; longer:
            cut to the tokens' span).
        cfg: the generator's config (token window ``hop_length * audio_patch`` samples).
        tokens: number of audio tokens (``cfg.audio_tokens(latent_frames)``).
        below_peak_db, floor_dbfs, dilate: see the module constants.
    """
    x = np.asarray(waveform, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise ValueError("stream_keep: the stem has NaN or infinite samples")
    span = int(cfg.hop_length) * int(cfg.audio_patch)
    x = np.pad(x[: tokens * span], (0, max(0, tokens * span - x.shape[0])))
    rms = np.sqrt(np.mean(x.reshape(tokens, span) ** 2, axis=1))
    level = 20.0 * np.log10(np.maximum(rms, 1e-12))
    active = (level >= level.max() - float(below_peak_db)) & (level >= float(floor_dbfs))
    if dilate > 0 and active.any():
        kernel = np.ones(2 * int(dilate) + 1)
        active = np.convolve(active.astype(np.float64), kernel, mode="same") > 0.5
    return torch.from_numpy(active.copy())


def attention_masks(video_tokens: int, audio_keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep-masks (bool) of the twin DiT's joint attention ``[B, 1, Nv + Na, Nv + Na]`` (rows are
    queries, the ``video_tokens`` video tokens first; columns keys) and of the audio tower's own
    attention ``[B, 1, Na, Na]`` in the blocks without fusion, from ``audio_keep [B, Na]``.

    What lies outside the stream intervals must not reach the video, directly or through the audio
    tokens it attends to: video queries and the queries of kept audio tokens keep every video key
    and only the kept audio keys; the other audio tokens' queries keep every key (their states reach
    nothing the video sees). No row is empty: every query keeps at least the video keys (joint) or
    its own token (audio tower: a token outside the intervals keeps all).
    """
    keep = audio_keep.bool()
    b, na = keep.shape
    n = video_tokens + na
    rows = torch.cat([torch.ones(b, video_tokens, dtype=torch.bool, device=keep.device), keep], dim=1)
    joint = torch.ones(b, 1, n, n, dtype=torch.bool, device=keep.device)
    joint[:, 0, :, video_tokens:] = ~rows[:, :, None] | keep[:, None, :]
    return joint, joint[:, :, video_tokens:, video_tokens:].clone()
