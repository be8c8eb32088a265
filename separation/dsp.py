"""Weight-free DSP baseline separator: median-filter decomposition plus a speech-band cue.

On the magnitude ``|X|`` of the 16 kHz analysis STFT (:mod:`.core`):

- ``P`` = median across frequency (17 bins, ~500 Hz): broadband transients — impacts, clicks → **effects**;
- ``H_long`` = median across time over 0.5 s (63 frames): partials that hold still for half a second
  — sustained notes and chords → **music**;
- ``H_short`` = median across time over 72 ms (9 frames): partials that hold for tens of ms; what
  they have beyond ``H_long`` inside 100 Hz - 4.5 kHz is voiced, moving harmonics → **speech**; the
  rest of it is split between effects and music in proportion to ``P`` and ``H_long``.

Masks are Wiener-like ratios ``E_i² / Σ E_j²`` of the three energy estimates (summing to 1). No
learning, no weights: it always works, and it is what the network has to beat.
"""

from __future__ import annotations

import numpy as np

from .core import N_FFT, SAMPLE_RATE

SPEECH_BAND_HZ = (100.0, 4500.0)
PERC_BINS = 17
LONG_FRAMES = 63
SHORT_FRAMES = 9


def dsp_masks(magnitude: np.ndarray) -> np.ndarray:
    """Masks float32 ``[3, F, T]`` (speech, effects, music) from a magnitude STFT ``[F, T]``."""
    from scipy.ndimage import median_filter

    mag = np.asarray(magnitude, np.float32)
    perc = median_filter(mag, size=(PERC_BINS, 1), mode="reflect")
    h_long = median_filter(mag, size=(1, LONG_FRAMES), mode="reflect")
    h_short = median_filter(mag, size=(1, SHORT_FRAMES), mode="reflect")
    freqs = np.arange(mag.shape[0]) * SAMPLE_RATE / N_FFT
    band = ((freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])).astype(np.float32)[:, None]
    moving = np.maximum(h_short - h_long, 0.0)
    speech = moving * band
    music = h_long + 0.5 * moving * (1 - band)
    effects = perc + 0.5 * moving * (1 - band)
    energy = np.stack([speech, effects, music]) ** 2 + 1e-12
    return (energy / energy.sum(axis=0, keepdims=True)).astype(np.float32)
