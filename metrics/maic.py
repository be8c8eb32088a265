"""MAIC — motion-audio intensity correlation (Tora3), and the Pearson helper shared by metrics.

For a clip of ``T`` video frames at ``fps`` with per-frame motion strength ``s_t`` (from
``kinematics.motion_strength``) and audio at ``sr`` Hz:

1. mix the channels to mono (channel mean; ``[S]``, ``[C,S]`` or ``[B,C,S]``, first batch item);
2. resample to :data:`MAIC_SAMPLE_RATE` (16 kHz, the rate Tora3 defines MAIC on);
3. cut to the clip span ``round(T / fps * 16000)`` samples (encoders pad audio); audio shorter than
   the span by more than half a video frame is an error (it would be stretched over the frames);
   when it is shorter by less, the last segment is averaged over the samples it has;
4. with ``S`` the clip span in samples::

    L    = floor(S / T)                        samples per frame segment (remainder dropped)
    e_t  = log( mean_{n in [tL, (t+1)L)} w[n]^2  +  eps )        per-frame log energy
    MAIC = pearson(s, e)                        in [-1, 1], higher is better

Convention: if either series has zero variance (or ``T < 2``), ``MAIC = 0``. Without
``sample_rate`` / ``fps`` the waveform is taken as already at 16 kHz and covering the clip.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EPS = 1e-8
#: Sample rate (Hz) MAIC is computed at (Tora3).
MAIC_SAMPLE_RATE = 16000


def pearson(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """Pearson correlation ``r = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2)``.

    Both inputs are 1-D of equal length. Returns 0.0 when either has zero variance or fewer
    than two samples (the convention of every metric here).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"pearson needs equal lengths, got {x.shape} and {y.shape}")
    if x.size < 2:
        return 0.0
    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float(np.dot(dx, dx))
    syy = float(np.dot(dy, dy))
    # relative tolerance: variance indistinguishable from rounding noise counts as zero
    if sxx <= 1e-24 * max(1.0, float(np.dot(x, x))) or syy <= 1e-24 * max(1.0, float(np.dot(y, y))):
        return 0.0
    r = float(np.dot(dx, dy) / np.sqrt(sxx * syy))
    return float(np.clip(r, -1.0, 1.0))


def frame_log_energy(waveform: np.ndarray, n_frames: int, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Per-frame audio log energy ``e_t = log(mean(w[tL:(t+1)L]^2) + eps)``, ``L = S // T``.

    ``waveform`` is mono ``[S]`` (use :func:`metrics.onsets.to_mono` first). Returns ``[T]``
    (natural log of mean power, amplitude units squared). Needs ``S >= T``.
    """
    w = np.asarray(waveform, dtype=np.float64)
    if w.ndim != 1:  # reshape(-1) would lay the channels end to end
        raise ValueError(f"frame_log_energy needs a mono [S] waveform, got shape {w.shape} (use to_mono)")
    n_frames = int(n_frames)
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    seg = w.size // n_frames
    if seg < 1:
        raise ValueError(f"audio has {w.size} samples, fewer than the {n_frames} frames")
    power = (w[: seg * n_frames].reshape(n_frames, seg) ** 2).mean(axis=1)
    return np.log(power + eps)


def maic_audio(
    waveform: np.ndarray, n_frames: int, sample_rate: int | None = None, fps: float | None = None
) -> np.ndarray:
    """The mono 16 kHz signal MAIC splits into frames: steps 1-3 of the module docstring.

    ``waveform`` is ``[S]``, ``[C,S]`` or ``[B,C,S]`` at ``sample_rate`` Hz (None: already 16 kHz).
    With ``fps`` the signal is cut to the clip span, and a ValueError says when it is more than half
    a frame shorter than the clip.
    """
    from .onsets import resample, to_mono

    mono = to_mono(waveform)
    sr = MAIC_SAMPLE_RATE if sample_rate is None else int(sample_rate)
    if sr <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    if sr != MAIC_SAMPLE_RATE:
        mono = resample(mono, sr, MAIC_SAMPLE_RATE)
    if fps is None:
        return mono
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps}")
    span = int(round(n_frames / fps * MAIC_SAMPLE_RATE))
    frame = MAIC_SAMPLE_RATE / fps
    if mono.size < span - frame / 2:
        raise ValueError(
            f"the audio is {mono.size / MAIC_SAMPLE_RATE:.3f} s long, shorter than the clip "
            f"({n_frames} frames at {fps:g} fps = {n_frames / fps:.3f} s); MAIC needs sound for every frame"
        )
    return mono[:span]


def maic_detail(
    motion_strength: np.ndarray | list[float],
    waveform: np.ndarray,
    eps: float = DEFAULT_EPS,
    *,
    sample_rate: int | None = None,
    fps: float | None = None,
) -> tuple[float, np.ndarray]:
    """``(MAIC, per-frame log energy [T])``; see :func:`motion_audio_intensity_correlation`."""
    s = np.asarray(motion_strength, dtype=np.float64).reshape(-1)
    if s.size < 2:
        return 0.0, np.zeros(0)
    w = maic_audio(waveform, s.size, sample_rate, fps)
    if fps is None:
        e = frame_log_energy(w, s.size, eps)
    else:  # segments of the clip span's length, the last one possibly a little short
        seg = int(round(s.size / float(fps) * MAIC_SAMPLE_RATE)) // s.size
        if seg < 1:
            raise ValueError(f"the clip span has fewer 16 kHz samples than its {s.size} frames")
        starts = np.arange(s.size) * seg
        power = np.array([np.mean(w[a : a + seg] ** 2) for a in starts])
        e = np.log(power + eps)
    keep = np.isfinite(s)  # frames without a motion estimate (NaN) are left out of both series
    return pearson(s[keep], e[keep]), e


def motion_audio_intensity_correlation(
    motion_strength: np.ndarray | list[float],
    waveform: np.ndarray,
    eps: float = DEFAULT_EPS,
    *,
    sample_rate: int | None = None,
    fps: float | None = None,
) -> float:
    """MAIC: Pearson correlation between motion strength ``[T]`` and per-frame audio log energy.

    ``waveform`` is ``[S]``, ``[C,S]`` or ``[B,C,S]`` (channels are averaged) at ``sample_rate`` Hz
    (resampled to 16 kHz; None means it is 16 kHz already). With the clip's ``fps`` the audio is cut
    to the clip span and audio more than half a frame shorter than the clip raises ValueError; without
    it the waveform must cover exactly the T frames. Frames whose motion strength is NaN are dropped
    from both series.
    """
    return maic_detail(motion_strength, waveform, eps, sample_rate=sample_rate, fps=fps)[0]
