"""Shared conventions of the separators: stem names, the 16 kHz analysis STFT, SI-SDR.

Every separator estimates soft masks ``[3, F, T]`` (speech, effects, music; each in 0..1 and summing
to 1 at every bin) on the STFT of the mono 16 kHz mixture: Hann window of :data:`N_FFT` = 512 samples
(32 ms), hop :data:`HOP` = 128 (8 ms), centred frames, ``F = 257`` bins. Because the masks sum to one,
the stems sum back to the input exactly (up to float rounding): Remix with unit gains is the mixture.
"""

from __future__ import annotations

import numpy as np

STEM_NAMES = ("speech", "effects", "music")
SAMPLE_RATE = 16000
N_FFT = 512
HOP = 128
N_BINS = N_FFT // 2 + 1


def stft(x, n_fft: int = N_FFT, hop: int = HOP):
    """Complex STFT of torch waveforms ``[..., S]`` → ``[..., F, T]`` (Hann, centred, T = S // hop + 1)."""
    import torch

    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    window = torch.hann_window(n_fft, dtype=flat.dtype, device=flat.device)
    spec = torch.stft(flat, n_fft, hop, window=window, center=True, return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec, length: int, n_fft: int = N_FFT, hop: int = HOP):
    """Inverse of :func:`stft` for ``[..., F, T]`` → real ``[..., length]``."""
    import torch

    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    window = torch.hann_window(n_fft, dtype=flat.real.dtype, device=flat.device)
    wave = torch.istft(flat, n_fft, hop, window=window, center=True, length=length)
    return wave.reshape(*shape[:-2], length)


def si_sdr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant signal-to-distortion ratio in dB of 1-D ``estimate`` against ``reference``.

    Both are mean-removed; the reference is scaled by the least-squares factor. -inf-safe: returns
    -100 dB for an all-zero estimate of a non-zero reference.
    """
    est = np.asarray(estimate, np.float64).ravel()
    ref = np.asarray(reference, np.float64).ravel()
    est = est - est.mean()
    ref = ref - ref.mean()
    alpha = float(est @ ref) / (float(ref @ ref) + eps)
    target = alpha * ref
    noise = est - target
    num, den = float(target @ target), float(noise @ noise)
    if num <= eps:
        return -100.0
    return 10.0 * float(np.log10(num / (den + eps)))
