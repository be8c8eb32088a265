"""MTV's music FiLM: the music stem's holistic vector, its zero start, masking, batching, training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from generator_cases import randomized

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.models.conditioning import cat_conditions
from kinesonic.models.music_film import music_features
from kinesonic.training.music_beds import BED_LEVEL_DB, MusicBeds
from kinesonic.training.objective import FlowObjective


def _film_cfg():  # noqa: ANN202
    return replace(micro_config(), music_film=True, music_hidden=8)


def _velocity(model: KinesonicModel, cond, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    cfg, lf = model.cfg, cond.latent_frames
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(1, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width, generator=g)
    a = torch.randn(1, cfg.audio_channels, cfg.audio_latent_frames(lf), generator=g)
    t = torch.full((1,), 0.6)
    with torch.no_grad():
        return model.velocity(v, a, t, t, cond)


def _tone(cfg, hz: float, seconds: float = 1.0, amp: float = 0.1) -> torch.Tensor:  # noqa: ANN001
    t = torch.arange(int(seconds * cfg.sample_rate)) / cfg.sample_rate
    return (amp * torch.sin(2 * torch.pi * hz * t))[None]


def test_music_features_of_a_steady_tone_and_of_silence() -> None:
    cfg = micro_config()
    model = KinesonicModel(cfg)
    feats, known = model.music_vector(torch.cat([_tone(cfg, 1000.0), torch.zeros(1, cfg.sample_rate)]))
    assert feats.shape == (2, 2 * cfg.n_mels) and known.tolist() == [True, False]
    mean, spread = feats[0, : cfg.n_mels], feats[0, cfg.n_mels :]
    # the loudest band is the one whose centre is nearest 1 kHz; a steady tone barely moves over time
    import librosa

    centres = librosa.mel_frequencies(cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax or cfg.sample_rate / 2)[
        1:-1
    ]
    assert abs(int(mean.argmax()) - int(np.argmin(abs(centres - 1000.0)))) <= 1
    assert float(spread[mean.argmax()]) < 0.3 * float(mean.max() - mean.min())
    assert torch.count_nonzero(feats[1]) == 0  # silence: no music, zero features
    with pytest.raises(ValueError, match="mel"):
        music_features(torch.zeros(2, 3), torch.zeros(2, 5))


def test_music_film_starts_as_the_identity_and_then_steers_the_video() -> None:
    plain = KinesonicModel(micro_config()).eval()
    film = KinesonicModel(_film_cfg()).eval()
    missing, unexpected = film.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".music" in "." + k for k in missing)
    cond = film.build_conditioning(torch.rand(3, film.cfg.height, film.cfg.width), "x", seed=1)
    music = film.music_vector(_tone(film.cfg, 440.0))
    with_music = cond.with_music(*music)
    # zero start: with music, without music, and the model without the layers all agree exactly
    v0, a0 = _velocity(plain, cond)
    v1, a1 = _velocity(film, with_music)
    assert torch.equal(v0, v1) and torch.equal(a0, a1)
    # trained (random) layers: the music moves the video; unknown music and the CFG negative do not
    model = randomized(cfg=_film_cfg())
    base = _velocity(model, cond)[0]
    assert (_velocity(model, with_music)[0] - base).abs().max() > 1e-3
    unknown = cond.with_music(music[0], torch.zeros(1, dtype=torch.bool))
    torch.testing.assert_close(_velocity(model, unknown)[0], base, rtol=0, atol=1e-6)
    assert with_music.dropped().music is None
    # a model without the layers refuses music instead of ignoring it
    with pytest.raises(ValueError, match="no music FiLM"):
        _velocity(plain, with_music)


def test_music_batches_with_conditions_without_music() -> None:
    model = KinesonicModel(_film_cfg())
    cond = model.build_conditioning(None, "x", seed=1)
    feats = torch.ones(1, 2 * model.cfg.n_mels)
    both = cat_conditions(cond.with_music(feats), cond)
    assert both.music_mask.tolist() == [True, False]
    assert torch.equal(both.music[1], torch.zeros_like(feats[0]))
    with pytest.raises(ValueError, match="music features"):
        cond.with_music(torch.ones(2, 4))


def test_music_beds_levels_share_and_seeds() -> None:
    beds = MusicBeds(3, 4000, 16000, seed=0, share=1.0)
    rms = [float(np.sqrt(np.mean(beds.draw(s, 0.05).astype(np.float64) ** 2))) for s in range(20)]
    db = 20 * np.log10(np.array(rms) / 0.05)
    assert db.min() >= BED_LEVEL_DB[0] - 1e-3 and db.max() <= BED_LEVEL_DB[1] + 1e-3
    assert np.array_equal(beds.draw(7, 0.05), beds.draw(7, 0.05))  # one sample seed, one bed
    beds.share = 0.0
    assert all(beds.draw(s, 0.1) is None for s in range(10))
    beds.share = 0.5
    assert 70 < sum(beds.draw(s, 0.1) is None for s in range(200)) < 130


def test_music_drop_keeps_the_other_draws_and_drops_the_music() -> None:
    shape_v, shape_a = (4, 3, 4, 4), (8, 16)
    old = FlowObjective().draws([5, 6], shape_v, shape_a)
    new = FlowObjective(music_drop=1.0).draws([5, 6], shape_v, shape_a)
    for key in ("keep", "t", "u", "hold", "eps_v", "eps_a", "alone"):
        assert torch.equal(old[key], new[key]), key
    assert old["music"].tolist() == [True, True] and new["music"].tolist() == [False, False]
    with pytest.raises(ValueError, match="music_drop"):
        FlowObjective(music_drop=1.5)
