"""Audio files and arrays: read/write wav and flac (soundfile), resample (soxr), RMS.

Waveforms are float32 numpy arrays of shape ``[C, S]`` (channels, samples) in -1..1; sample
rates are in Hz. Heavy libraries (soundfile, soxr, av) are imported inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .files import MediaError, atomic_output

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".m4a", ".aac", ".opus")
WRITE_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}


def as_waveform(waveform: object, what: str = "waveform") -> np.ndarray:
    """``waveform`` as a float32 array ``[C, S]``; a 1-D array is taken as one channel.

    Raises :class:`MediaError` for other shapes, zero channels, or non-finite values.
    """
    array = np.asarray(waveform.detach().cpu() if hasattr(waveform, "detach") else waveform)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] < 1:
        raise MediaError(f"{what} must have shape [channels, samples], got shape {tuple(array.shape)}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise MediaError(f"{what} contains NaN or infinite values")
    return array


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode an audio file to ``(waveform float32 [C, S], sample_rate Hz)``.

    wav / flac / ogg / mp3 / aiff go through soundfile; anything soundfile cannot open (m4a,
    aac, the audio track of a video) is decoded with PyAV. Raises FileNotFoundError for a missing
    file and :class:`MediaError` for a file without decodable audio.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file {str(path)!r} does not exist")
    try:
        data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), int(sample_rate)
    except RuntimeError:  # soundfile.LibsndfileError and friends: not a libsndfile format
        pass
    from .video import decode_audio_stream

    try:
        waveform, sample_rate = decode_audio_stream(path)
    except MediaError:
        raise MediaError(
            f"{path.name!r} is not a readable audio file (neither libsndfile nor FFmpeg can decode it)"
        ) from None
    if sample_rate is None:
        raise MediaError(f"{path.name!r} has no audio stream")
    return waveform, sample_rate


def write_audio(
    path: str | os.PathLike, waveform: object, sample_rate: int, format: str | None = None
) -> Path:
    """Write ``waveform [C, S]`` (float, -1..1, clipped) at ``sample_rate`` Hz as 16-bit wav or flac.

    ``format`` is "wav" or "flac" (default: from the file extension). The file is written to a
    temporary name and renamed, so it is either complete or absent. Returns the path.
    """
    import soundfile

    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in WRITE_FORMATS:
        raise MediaError(f"audio format must be one of {sorted(WRITE_FORMATS)}, got {fmt!r}")
    array = as_waveform(waveform)
    rate = int(sample_rate)
    if rate <= 0:
        raise MediaError(f"sample rate must be a positive number of Hz, got {sample_rate!r}")
    if fmt == "flac" and (array.shape[0] > 8 or rate > 655350):
        raise MediaError("flac stores at most 8 channels and 655350 Hz")
    container, subtype = WRITE_FORMATS[fmt]
    with atomic_output(path) as tmp:
        soundfile.write(str(tmp), np.clip(array, -1.0, 1.0).T, rate, format=container, subtype=subtype)
    return path


def resample_audio(waveform: object, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample ``waveform [C, S]`` from ``from_rate`` to ``to_rate`` Hz with soxr (high quality).

    The result has ``round(S * to_rate / from_rate)`` samples (soxr's length); same rate is a copy.
    """
    array = as_waveform(waveform)
    if int(from_rate) <= 0 or int(to_rate) <= 0:
        raise MediaError(f"sample rates must be positive, got {from_rate!r} -> {to_rate!r}")
    if int(from_rate) == int(to_rate) or array.shape[1] == 0:
        if int(from_rate) == int(to_rate):
            return array.copy()
        return np.zeros((array.shape[0], 0), np.float32)
    import soxr

    out = soxr.resample(np.ascontiguousarray(array.T), int(from_rate), int(to_rate), quality="HQ")
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, array.shape[0]).T)


def rms(waveform: object) -> float:
    """Root-mean-square level of all samples of ``waveform`` (0.0 for an empty one)."""
    array = np.asarray(waveform, dtype=np.float64)
    return float(np.sqrt(np.mean(array**2))) if array.size else 0.0


def silence(num_samples: int, channels: int = 1) -> np.ndarray:
    """A float32 zero waveform ``[channels, num_samples]``."""
    return np.zeros((int(channels), max(int(num_samples), 0)), np.float32)
