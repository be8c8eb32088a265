"""Token centre times: the instant each generator token summarises, on one clock (seconds).

Pure numpy, no model import. Conventions of the code as built today (see docs/audio_path_study.md):

- video frame ``n`` shows the instant ``n / fps`` (the world renders frame n at physics time n/fps);
- the video autoencoder encodes frame 0 alone and then groups frames ``1 + s(k-1) .. s k``
  (``s = temporal_stride``; the last group padded by repeating the last frame), so latent frame
  ``k >= 1`` summarises those ``s`` frames;
- kinematic tokens of latent frame ``k`` are ``kinematics.align_array`` group means of the per-frame
  state: the same groups (the last group clipped to the real frames, not padded);
- audio sample ``i`` is the instant ``i / sample_rate`` (audio starts with frame 0); the codec's
  centred STFT puts mel frame ``m`` at ``m * hop / sample_rate``; audio token ``j`` is mel frames
  ``P j .. P j + P - 1`` (``P = audio_patch``).

A token's centre time is the mean of the instants it summarises. :func:`rope_position` turns a time
into the temporal RoPE unit the generator uses (one video latent frame = ``s / fps`` seconds).
"""

from __future__ import annotations

import numpy as np


def video_latent_centres(num_frames: int, fps: float, stride: int) -> np.ndarray:
    """Centre times (s) ``[1 + ceil((T-1)/stride)]`` of the video latent frames of a ``num_frames``
    clip: 0 for latent frame 0, ``(stride k - (stride - 1) / 2) / fps`` for ``k >= 1`` (a padded
    last group counts its repeated frames at the last frame's instant, as the encoder sees them)."""
    _check(num_frames >= 1 and fps > 0 and stride >= 1, num_frames, fps, stride)
    groups = -(-(num_frames - 1) // stride)
    centres = [0.0]
    for k in range(1, groups + 1):
        idx = np.minimum(np.arange(stride * (k - 1) + 1, stride * k + 1), num_frames - 1)
        centres.append(float(idx.mean()) / fps)
    return np.asarray(centres)


def kinematic_token_centres(num_frames: int, fps: float, stride: int) -> np.ndarray:
    """Centre times (s) of the kinematic tokens (``align_array`` groups: frame 0, then frames
    ``1 + s(k-1) .. min(s k, T-1)``); equal to :func:`video_latent_centres` unless the last group is
    short."""
    _check(num_frames >= 1 and fps > 0 and stride >= 1, num_frames, fps, stride)
    starts = np.concatenate([[0], np.arange(1, num_frames, stride)])
    ends = np.append(starts[1:], num_frames)
    return np.asarray([(s + e - 1) / 2 / fps for s, e in zip(starts, ends, strict=True)])


def audio_token_centres(tokens: int, sample_rate: int, hop: int, patch: int) -> np.ndarray:
    """Centre times (s) ``[tokens]`` of audio tokens: ``(P j + (P - 1) / 2) hop / sample_rate``."""
    _check(tokens >= 0 and sample_rate > 0 and hop >= 1 and patch >= 1, tokens, sample_rate, hop, patch)
    return (patch * np.arange(tokens) + (patch - 1) / 2) * hop / sample_rate


def rope_position(seconds: np.ndarray | float, fps: float, stride: int) -> np.ndarray:
    """Time (s) → temporal RoPE position in video latent frames (``seconds * fps / stride``)."""
    return np.asarray(seconds, dtype=np.float64) * fps / stride


def current_rope_seconds(
    kind: str, count: int, fps: float, stride: int, sample_rate: int = 16000, hop: int = 250, patch: int = 4
) -> np.ndarray:
    """The instant (s) the generator's temporal RoPE assigns today to token ``0 .. count-1`` of
    ``kind`` ("video", "kinematic": latent frame k → ``k stride / fps``; "audio": token j →
    ``j patch hop / sample_rate``), for comparison with the centres above."""
    if kind in ("video", "kinematic"):
        return np.arange(count) * stride / fps
    if kind == "audio":
        return np.arange(count) * patch * hop / sample_rate
    raise ValueError(f"current_rope_seconds: kind must be 'video', 'kinematic' or 'audio', got {kind!r}")


def _check(ok: bool, *values: object) -> None:
    if not ok:
        raise ValueError(f"token centre times: invalid sizes or rates {values}")
