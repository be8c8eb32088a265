"""Separate any audio into speech / effects / music: chunked mask estimation, masks applied at the input rate.

``separate(waveform [C, S], sample_rate, separator)`` → stems float32 ``[3, C, S]`` (speech, effects,
music) at the input's rate and channel count, summing to the input (masks sum to 1 at every bin).

1. The channels are averaged to mono and resampled to 16 kHz (soxr); the separator gives masks
   ``[3, 257, T]`` on the 16 kHz analysis STFT (:mod:`.core`). Long audio is cut into chunks of
   ``chunk_s`` seconds overlapping by ``overlap_s`` (starts on the hop grid); in the overlaps the
   chunks' masks are cross-faded linearly, so the masks still sum to 1. A clip shorter than a chunk
   is one chunk.
2. The masks are applied to every channel at the input rate: an STFT with hop
   ``round(128 · rate / 16000)`` and a 4×hop Hann window (the same 8 ms / 32 ms in time), masks
   interpolated linearly in time and frequency; bins above 8 kHz (present when the rate is above
   16 kHz) take the mean mask of 7-8 kHz. This runs in blocks of about ``block_s`` seconds with a
   padding of several windows on each side, trimmed after the inverse STFT (same result as one
   whole-signal STFT, in bounded memory).

``callback(done, total)`` is called after every chunk and block; ``check_cancel()`` (e.g. ComfyUI's
interrupt) is called between them and may raise to stop the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .core import HOP, N_BINS, N_FFT, SAMPLE_RATE, STEM_NAMES

MAX_SAMPLE_RATE = 768_000


class Separator(Protocol):
    """Anything that gives masks ``[3, 257, T]`` (T = S // 128 + 1) for mono 16 kHz float32 ``[S]``."""

    name: str

    def masks(self, mono16: np.ndarray) -> np.ndarray: ...


class DspSeparator:
    """The weight-free baseline of :mod:`.dsp`."""

    name = "dsp"

    def masks(self, mono16: np.ndarray) -> np.ndarray:
        import torch

        from .core import stft
        from .dsp import dsp_masks

        mag = stft(torch.from_numpy(np.ascontiguousarray(mono16, np.float32))).abs().numpy()
        return dsp_masks(mag)


class NetworkSeparator:
    """A :class:`~.network.SeparatorNet` (run on the CPU without gradients)."""

    def __init__(self, net, name: str = "network") -> None:
        self.net = net.eval()
        self.name = name

    def masks(self, mono16: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            wave = torch.from_numpy(np.ascontiguousarray(mono16, np.float32))[None]
            return self.net(wave)[0].float().numpy()


def estimate_masks(
    separator: Separator,
    mono16: np.ndarray,
    chunk_s: float = 10.0,
    overlap_s: float = 1.0,
    callback: Callable[[int, int], None] | None = None,
    check_cancel: Callable[[], None] | None = None,
    progress_offset: int = 0,
    progress_total: int | None = None,
) -> np.ndarray:
    """Masks ``[3, 257, S // 128 + 1]`` of mono 16 kHz ``mono16 [S]``, chunk by chunk (see module doc)."""
    x = np.asarray(mono16, np.float32)
    n = len(x)
    frames = n // HOP + 1
    chunk = max(int(round(chunk_s * SAMPLE_RATE / HOP)), 16) * HOP
    overlap = min(max(int(round(overlap_s * SAMPLE_RATE / HOP)), 1) * HOP, chunk // 2)
    starts = chunk_starts(n, chunk, overlap)
    total = progress_total if progress_total is not None else len(starts)
    if len(starts) == 1:
        masks = _checked(separator.masks(x), frames, separator)
        if callback is not None:
            callback(progress_offset + 1, total)
        return masks
    acc = np.zeros((len(STEM_NAMES), N_BINS, frames), np.float32)
    weight = np.zeros(frames, np.float32)
    ramp_frames = overlap // HOP
    for i, start in enumerate(starts):
        if check_cancel is not None:
            check_cancel()
        piece = x[start : start + chunk]
        m = _checked(separator.masks(piece), len(piece) // HOP + 1, separator)
        f0 = start // HOP
        w = np.ones(m.shape[-1], np.float32)
        ramp = np.linspace(0.0, 1.0, ramp_frames + 2, dtype=np.float32)[1:-1]
        if i > 0:
            w[:ramp_frames] = ramp
        if i < len(starts) - 1:
            w[-ramp_frames:] = np.minimum(w[-ramp_frames:], ramp[::-1])
        f1 = min(f0 + m.shape[-1], frames)
        acc[..., f0:f1] += m[..., : f1 - f0] * w[: f1 - f0]
        weight[f0:f1] += w[: f1 - f0]
        if callback is not None:
            callback(progress_offset + i + 1, total)
    return acc / np.maximum(weight, 1e-12)


def chunk_starts(n: int, chunk: int, overlap: int) -> list[int]:
    """Start samples of chunks of ``chunk`` samples overlapping by ``overlap`` covering ``n`` samples;
    the last chunk ends at ``n`` (its start on the hop grid), one chunk when ``n <= chunk``."""
    if n <= chunk:
        return [0]
    step = chunk - overlap
    starts = list(range(0, n - chunk, step))
    last = ((n - chunk + HOP - 1) // HOP) * HOP
    if last > starts[-1]:
        starts.append(min(last, ((n - 1) // HOP) * HOP))
    return starts


def _checked(masks: np.ndarray, frames: int, separator: Separator) -> np.ndarray:
    masks = np.asarray(masks, np.float32)
    if masks.shape != (len(STEM_NAMES), N_BINS, frames):
        raise ValueError(
            f"separator {separator.name!r} returned masks of shape {masks.shape}, "
            f"expected {(len(STEM_NAMES), N_BINS, frames)}"
        )
    return masks


def _interp_axis(values: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``values`` along ``axis`` at fractional indices ``positions`` (clipped)."""
    size = values.shape[axis]
    pos = np.clip(positions, 0.0, size - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, size - 1)
    w = (pos - i0).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = len(pos)
    w = w.reshape(shape)
    return np.take(values, i0, axis=axis) * (1 - w) + np.take(values, i1, axis=axis) * w


def masks_for_rate(
    masks16: np.ndarray, sample_rate: int, n_fft: int, frame_times_s: np.ndarray
) -> np.ndarray:
    """16 kHz masks ``[3, 257, T16]`` resampled onto an STFT grid at ``sample_rate`` Hz: bins
    ``k · rate / n_fft`` (above 8 kHz: the mean mask of 7-8 kHz) and frames at ``frame_times_s``."""
    by_time = _interp_axis(masks16, frame_times_s * SAMPLE_RATE / HOP, axis=2)
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    out = _interp_axis(by_time, freqs / (SAMPLE_RATE / N_FFT), axis=1)
    above = freqs > SAMPLE_RATE / 2
    if above.any():
        top = by_time[:, int(7000 * N_FFT / SAMPLE_RATE) :, :].mean(axis=1, keepdims=True)
        out[:, above, :] = top
    return out


def apply_masks(
    waveform: np.ndarray,
    sample_rate: int,
    masks16: np.ndarray,
    block_s: float = 30.0,
    callback: Callable[[int], None] | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> np.ndarray:
    """Stems ``[3, C, S]`` of ``waveform [C, S]`` at ``sample_rate`` with 16 kHz masks (module doc: 2)."""
    import torch

    from .core import istft, stft

    channels, n = waveform.shape
    hop = max(int(round(HOP * sample_rate / SAMPLE_RATE)), 1)
    n_fft = 4 * hop
    pad = 4 * n_fft
    block = max(int(block_s * sample_rate) // hop, 1) * hop
    out = np.zeros((len(STEM_NAMES), channels, n), np.float32)
    starts = list(range(0, max(n, 1), block))
    for start in starts:
        if check_cancel is not None:
            check_cancel()
        lo, hi = max(start - pad, 0), min(start + block + pad, n)  # lo is on the hop grid (pad is)
        piece = torch.from_numpy(np.ascontiguousarray(waveform[:, lo:hi], np.float32))
        spec = stft(piece, n_fft, hop)  # [C, F, T]
        times = (lo + np.arange(spec.shape[-1]) * hop) / sample_rate
        m = torch.from_numpy(np.ascontiguousarray(masks_for_rate(masks16, sample_rate, n_fft, times)))
        stems = istft(m[:, None] * spec[None], hi - lo, n_fft, hop).numpy()  # [3, C, L]
        end = min(start + block, n)
        out[:, :, start:end] = stems[:, :, start - lo : end - lo]
        if callback is not None:
            callback(1)
    return out


def separate(
    waveform: np.ndarray,
    sample_rate: int,
    separator: Separator,
    chunk_s: float = 10.0,
    overlap_s: float = 1.0,
    callback: Callable[[int, int], None] | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> np.ndarray:
    """Stems float32 ``[3, C, S]`` (speech, effects, music) of ``waveform [C, S]`` at ``sample_rate`` Hz.

    Raises ValueError for a non-finite waveform, a shape other than [C >= 1, S], a rate outside
    1 Hz..768 kHz, or a chunk shorter than 1 s / overlap not below half a chunk. Silence gives silent
    stems; an empty waveform gives empty stems.
    """
    from ..media.audio import resample_audio

    x = np.asarray(waveform, np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"expected a waveform of shape [channels >= 1, samples], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the waveform contains NaN or infinite samples")
    if not isinstance(sample_rate, (int, np.integer)) or not 1 <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise ValueError(f"expected a sample rate of 1..{MAX_SAMPLE_RATE} Hz, got {sample_rate!r}")
    if not (chunk_s >= 1.0 and 0.0 <= overlap_s <= chunk_s / 2):
        raise ValueError(
            f"expected chunk_s >= 1 s and 0 <= overlap_s <= chunk_s / 2, got {chunk_s}, {overlap_s}"
        )
    sr = int(sample_rate)
    n = x.shape[1]
    if n == 0:
        return np.zeros((len(STEM_NAMES), x.shape[0], 0), np.float32)
    # very short clips are zero-padded to two analysis windows (at both rates) and trimmed afterwards
    min_len = max(2 * 4 * max(int(round(HOP * sr / SAMPLE_RATE)), 1), math.ceil(2 * N_FFT * sr / SAMPLE_RATE))
    if n < min_len:
        padded = np.zeros((x.shape[0], min_len), np.float32)
        padded[:, :n] = x
        return separate(padded, sr, separator, chunk_s, overlap_s, callback, check_cancel)[:, :, :n]
    mono16 = (
        resample_audio(x.mean(axis=0, keepdims=True), sr, SAMPLE_RATE)[0] if sr != SAMPLE_RATE else x.mean(0)
    )
    chunk = max(int(round(chunk_s * SAMPLE_RATE / HOP)), 16) * HOP
    overlap = min(max(int(round(overlap_s * SAMPLE_RATE / HOP)), 1) * HOP, chunk // 2)
    n_chunks = len(chunk_starts(len(mono16), chunk, overlap))
    block = 30.0
    n_blocks = max(
        math.ceil(
            n
            / (
                max(int(block * sr) // max(int(round(HOP * sr / SAMPLE_RATE)), 1), 1)
                * max(int(round(HOP * sr / SAMPLE_RATE)), 1)
            )
        ),
        1,
    )
    total = n_chunks + n_blocks
    masks16 = estimate_masks(separator, mono16, chunk_s, overlap_s, callback, check_cancel, 0, total)
    done = [n_chunks]

    def block_done(k: int) -> None:
        done[0] += k
        if callback is not None:
            callback(done[0], total)

    return apply_masks(x, sr, masks16, block, block_done, check_cancel)


SHIPPED_CHECKPOINT = "kinesonic_separator.safetensors"
DEMIX_CHOICES = ("off", "network", "dsp")
_loaded: dict[str, Separator] = {}


def shipped_checkpoint_path():
    """Path of the separator that ships with the pack (``checkpoints/separation/``)."""
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "checkpoints" / "separation" / SHIPPED_CHECKPOINT


def get_separator(method: str) -> Separator:
    """``"dsp"``, ``"network"`` (the shipped net) or the path of a separator file (cached per path and
    modification time, so a replaced file is loaded again)."""
    from pathlib import Path

    from .network import load_separator

    if method == "dsp":
        return DspSeparator()
    path = shipped_checkpoint_path() if method == "network" else Path(method)
    key = f"{path}:{path.stat().st_mtime_ns}" if path.is_file() else str(path)
    if key not in _loaded:
        _loaded[key] = NetworkSeparator(load_separator(path), path.name)
    return _loaded[key]


def effects_stem(waveform: np.ndarray, sample_rate: int, method: str = "network") -> np.ndarray:
    """The effects stem ``[C, S]`` of ``waveform [C, S]`` (or ``[S]``, returned as ``[1, S]``)."""
    x = np.asarray(waveform, np.float32)
    x = x[None] if x.ndim == 1 else x
    return separate(x, sample_rate, get_separator(method))[1]
