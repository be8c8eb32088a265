"""Time alignment of frames and audio: frame-rate resampling and the clip-length rule.

Pure numpy. Frames are arrays ``[T, ...]`` (any per-frame shape), audio ``[C, S]``; rates in
frames per second and Hz.

The clip-length rule (``duration_from``), used when saving a sounding video:

- ``"video"``: the clip lasts ``T / fps``; the audio is zero-padded or trimmed to it.
- ``"audio"``: the clip lasts ``N / fps`` with ``N = ceil(S / sr * fps)`` (at least 1): frames
  are trimmed, or extended by repeating the last frame; the audio then gets at most one frame of
  trailing silence so both streams end together.
- ``"shortest"`` / ``"longest"``: whichever of the two above gives the shorter / longer clip.

In every case the result satisfies ``S_out == round(N_out * sr / fps)``. Without audio the
frames are kept as they are.
"""

from __future__ import annotations

import math

import numpy as np

DURATION_MODES = ("video", "audio", "shortest", "longest")
_EPS = 1e-9


def frames_for_duration(seconds: float, fps: float) -> int:
    """Frames needed to cover ``seconds`` at ``fps``: ``ceil(seconds * fps)``, at least 1."""
    return max(1, math.ceil(seconds * fps - _EPS))


def samples_for_frames(num_frames: int, fps: float, sample_rate: int) -> int:
    """Audio samples spanning ``num_frames`` frames: ``round(num_frames * sample_rate / fps)``."""
    return int(round(num_frames * sample_rate / fps))


def fit_frames(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """``frames`` trimmed to ``num_frames`` or extended by repeating the last frame."""
    count = frames.shape[0]
    if count < 1:
        raise ValueError("cannot extend an empty frame sequence")
    if num_frames <= count:
        return frames[:num_frames]
    index = np.minimum(np.arange(num_frames), count - 1)
    return frames[index]


def fit_audio(audio: np.ndarray, num_samples: int) -> np.ndarray:
    """``audio [C, S]`` trimmed to ``num_samples`` or zero-padded at the end."""
    count = audio.shape[1]
    if num_samples <= count:
        return audio[:, :num_samples]
    pad = np.zeros((audio.shape[0], num_samples - count), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=1)


def clip_frame_count(
    num_frames: int, num_samples: int | None, fps: float, sample_rate: int, duration_from: str
) -> int:
    """Number of output frames chosen by the clip-length rule (see module doc)."""
    if duration_from not in DURATION_MODES:
        raise ValueError(f"duration_from must be one of {DURATION_MODES}, got {duration_from!r}")
    if num_samples is None:
        return num_frames
    from_audio = frames_for_duration(num_samples / sample_rate, fps)
    return {
        "video": num_frames,
        "audio": from_audio,
        "shortest": min(num_frames, from_audio),
        "longest": max(num_frames, from_audio),
    }[duration_from]


def match_audio_to_frames(
    frames: np.ndarray,
    audio: np.ndarray | None,
    fps: float,
    sample_rate: int,
    duration_from: str = "video",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the clip-length rule: ``(frames [N, ...], audio [C, round(N*sr/fps)] or None)``.

    ``frames`` is ``[T, ...]`` with T >= 1, ``audio`` ``[C, S]`` or None, ``fps`` > 0 and
    ``sample_rate`` > 0. See the module docstring for the rule.
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be positive, got {fps!r}")
    if audio is None:
        clip_frame_count(frames.shape[0], None, fps, sample_rate, duration_from)  # validates mode
        return frames, None
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    count = clip_frame_count(frames.shape[0], audio.shape[1], fps, sample_rate, duration_from)
    return fit_frames(frames, count), fit_audio(audio, samples_for_frames(count, fps, sample_rate))


def nearest_frame_indices(source_times: np.ndarray, target_fps: float, end_time: float) -> np.ndarray:
    """For each target time ``k / target_fps`` (k = 0, 1, ... while < ``end_time``) the index of
    the source frame whose timestamp (seconds, ascending, first at 0) is nearest; ties go to the
    earlier frame. This is how frame rates are picked when reading a video.
    """
    times = np.asarray(source_times, dtype=np.float64)
    count = max(1, math.ceil(end_time * target_fps - _EPS))
    targets = np.arange(count) / target_fps
    right = np.clip(np.searchsorted(times, targets, side="left"), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    use_left = np.abs(targets - times[left]) <= np.abs(times[right] - targets) + _EPS
    return np.where(use_left, left, right)
