"""MAIC — motion-audio intensity correlation (Tora3), and the Pearson helper shared by metrics.

For a clip of ``T`` video frames with per-frame motion strength ``s_t`` (from
``kinematics.motion_strength``) and a mono waveform ``w`` of ``S`` samples::

    L    = floor(S / T)                        samples per frame segment (remainder dropped)
    e_t  = log( mean_{n in [tL, (t+1)L)} w[n]^2  +  eps )        per-frame log energy
    MAIC = pearson(s, e)                        in [-1, 1], higher is better

Convention: if either series has zero variance (or ``T < 2``), ``MAIC = 0``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EPS = 1e-8


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
    w = np.asarray(waveform, dtype=np.float64).reshape(-1)
    n_frames = int(n_frames)
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    seg = w.size // n_frames
    if seg < 1:
        raise ValueError(f"audio has {w.size} samples, fewer than the {n_frames} frames")
    power = (w[: seg * n_frames].reshape(n_frames, seg) ** 2).mean(axis=1)
    return np.log(power + eps)


def motion_audio_intensity_correlation(
    motion_strength: np.ndarray | list[float], waveform: np.ndarray, eps: float = DEFAULT_EPS
) -> float:
    """MAIC: Pearson correlation between motion strength ``[T]`` and per-frame audio log energy.

    ``waveform`` is mono ``[S]`` covering the same time span as the T frames. Frames whose
    motion strength is NaN are dropped from both series.
    """
    s = np.asarray(motion_strength, dtype=np.float64).reshape(-1)
    if s.size < 2:
        return 0.0
    e = frame_log_energy(waveform, s.size, eps)
    keep = np.isfinite(s)  # frames without a motion estimate (NaN) are left out of both series
    return pearson(s[keep], e[keep])
