"""The audio codec of the tiny config on known signals: where an impulse lands after the round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinesonic.models import KinesonicModel, tiny_config


def _rise(x: np.ndarray, win: int = 32) -> int:
    """First sample where the moving RMS (``win`` samples, centred) reaches half its maximum."""
    env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(win) / win, mode="same"))
    return int(np.argmax(env >= 0.5 * env.max()))


@pytest.fixture(scope="module")
def model() -> KinesonicModel:
    torch.manual_seed(0)
    return KinesonicModel(tiny_config()).eval()


@pytest.mark.parametrize("pos", [4000, 12345, 20001, 30500])
def test_an_impulse_decodes_to_an_onset_within_one_hop(model: KinesonicModel, pos: int) -> None:
    cfg = model.cfg
    wave = torch.zeros(1, cfg.audio_samples(cfg.latent_frames()))
    wave[0, pos] = 1.0
    with torch.no_grad():
        latent = model.encode_audio(wave)
        out = model.decode_audio(latent)[0].numpy().reshape(-1)
    assert latent.shape == (1, cfg.audio_channels, wave.shape[-1] // cfg.hop_length)
    assert abs(_rise(out) - _rise(wave[0].numpy())) < cfg.hop_length  # 125 samples = 7.8 ms
    # and nothing comparable anywhere else: the energy away from the click is small
    far = np.abs(np.arange(out.size) - pos) > 4 * cfg.n_fft
    assert np.sqrt(np.mean(out[far] ** 2)) < 0.05 * np.abs(out).max()


def test_the_codec_keeps_the_level_of_a_tone(model: KinesonicModel) -> None:
    """A steady 440 Hz tone at RMS 0.1 (-20 dBFS) comes back within 1 dB (no normalisation hides it)."""
    cfg = model.cfg
    n = cfg.audio_samples(cfg.latent_frames())
    t = torch.arange(n, dtype=torch.float32) / cfg.sample_rate
    wave = (0.1 * np.sqrt(2) * torch.sin(2 * np.pi * 440 * t))[None]
    with torch.no_grad():
        out = model.decode_audio(model.encode_audio(wave))[0].numpy().reshape(-1)
    mid = slice(cfg.n_fft, n - cfg.n_fft)
    db = 20 * np.log10(np.sqrt(np.mean(out[mid] ** 2)) / 0.1)
    assert abs(db) < 1.0
