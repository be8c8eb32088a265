"""MAIC known answers: channel mixing, 16 kHz resampling, audio shorter than the clip (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.metrics import frame_log_energy, motion_audio_intensity_correlation, pearson
from kinesonic.metrics.maic import MAIC_SAMPLE_RATE, maic_audio

FPS = 16
T = 32  # 2 s


def strength(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 2.0, T)


def tone(sr: int, freq: float, amplitude_per_frame: np.ndarray) -> np.ndarray:
    """A sine whose amplitude is constant within each video frame."""
    n = int(round(T / FPS * sr))
    t = np.arange(n) / sr
    frame = np.minimum((t * FPS).astype(int), T - 1)
    return amplitude_per_frame[frame] * np.sin(2 * np.pi * freq * t)


def test_log_energy_that_is_affine_in_motion_gives_one_mono_and_stereo():
    s = strength()
    # DC level exp(s_t / 2) per frame: mean power exp(s_t), log energy s_t (eps is negligible)
    w = np.repeat(np.exp(s / 2), MAIC_SAMPLE_RATE // FPS)
    mono = motion_audio_intensity_correlation(s, w, sample_rate=MAIC_SAMPLE_RATE, fps=FPS)
    stereo = motion_audio_intensity_correlation(s, np.stack([w, w]), sample_rate=MAIC_SAMPLE_RATE, fps=FPS)
    batch = motion_audio_intensity_correlation(
        s, np.stack([w, w])[None], sample_rate=MAIC_SAMPLE_RATE, fps=FPS
    )
    assert mono == pytest.approx(1.0, abs=1e-9)
    assert stereo == pytest.approx(1.0, abs=1e-9) and batch == pytest.approx(1.0, abs=1e-9)
    # before: [C,S] flattened into one row of 2T half-segments (0.4997 on such clips)
    flattened = pearson(s, frame_log_energy(np.stack([w, w]).reshape(-1), T))
    assert flattened < 0.8
    # channels are mixed (mean), not concatenated: one silent channel halves the amplitude only
    half = motion_audio_intensity_correlation(s, np.stack([w, 0 * w]), sample_rate=MAIC_SAMPLE_RATE, fps=FPS)
    assert half == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="mono"):
        frame_log_energy(np.stack([w, w]), T)


def test_audio_shorter_than_the_clip_is_an_error():
    s = strength()
    w = tone(MAIC_SAMPLE_RATE, 200.0, np.exp(s))
    half = w[: w.size // 2]  # 1 s of sound for a 2 s clip
    with pytest.raises(
        ValueError, match=r"1\.000 s long, shorter than the clip \(32 frames at 16 fps = 2\.000 s\)"
    ):
        motion_audio_intensity_correlation(s, half, sample_rate=MAIC_SAMPLE_RATE, fps=FPS)
    # up to half a frame short is accepted (codec frame rounding), segments stay aligned to the
    # frames; longer audio is cut to the clip
    short_by_half_frame = w[: w.size - MAIC_SAMPLE_RATE // FPS // 2 + 1]
    assert (
        motion_audio_intensity_correlation(s, short_by_half_frame, sample_rate=MAIC_SAMPLE_RATE, fps=FPS)
        > 0.99
    )
    padded = np.concatenate([w, np.ones(MAIC_SAMPLE_RATE)])
    assert motion_audio_intensity_correlation(
        s, padded, sample_rate=MAIC_SAMPLE_RATE, fps=FPS
    ) == pytest.approx(motion_audio_intensity_correlation(s, w, sample_rate=MAIC_SAMPLE_RATE, fps=FPS))


def test_computed_at_16_khz_whatever_the_input_rate():
    s = strength()
    rng = np.random.default_rng(1)
    hiss = 20.0 * np.exp(rng.uniform(-1.0, 1.0, T))  # loud 12 kHz whine, unrelated to the motion
    reference = motion_audio_intensity_correlation(
        s, tone(MAIC_SAMPLE_RATE, 200.0, np.exp(s)), sample_rate=MAIC_SAMPLE_RATE, fps=FPS
    )
    assert reference > 0.999  # log energy = 2 s_t + const
    for sr in (44100, 48000):
        mixed = tone(sr, 200.0, np.exp(s)) + tone(sr, 12000.0, hiss)
        value = motion_audio_intensity_correlation(s, mixed, sample_rate=sr, fps=FPS)
        assert value == pytest.approx(reference, abs=0.01)
        # at the input rate the whine (above 16 kHz audio's 8 kHz band) dominates the energy
        assert abs(pearson(s, frame_log_energy(mixed, T))) < 0.5
    # 16 kHz mono input is used as it is: the same number as the plain formula (no change)
    w = tone(MAIC_SAMPLE_RATE, 200.0, np.exp(s)) + np.random.default_rng(2).normal(0, 0.1, T * 1000)
    assert motion_audio_intensity_correlation(s, w, sample_rate=MAIC_SAMPLE_RATE, fps=FPS) == pearson(
        s, frame_log_energy(w, T)
    )
    assert np.array_equal(maic_audio(w, T, MAIC_SAMPLE_RATE, FPS), w)
