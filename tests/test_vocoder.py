"""Learned mel → spectrum vocoder: config checks, checkpoint storage, training/resume, a pure tone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kinesonic.data import clip_seed, synth_clip, write_shard
from kinesonic.models import (
    CheckpointError,
    KinesonicModel,
    SpectralVocoder,
    VocoderConfig,
    attach_vocoder,
    load_checkpoint,
    micro_config,
    read_metadata,
    save_checkpoint,
)
from kinesonic.models.autoencoders import GriffinLim
from kinesonic.training.vocoder import (
    STATE_FILE,
    VocoderTrainConfig,
    load_vocoder,
    spectra,
    train_vocoder,
    vocoder_loss,
)

SMALL = dict(channels=8, layers=2)


def random_vocoder(cfg, seed: int = 0) -> SpectralVocoder:
    """A vocoder with every weight random (the output layer too, so it is not the pinv baseline)."""
    torch.manual_seed(seed)
    v = SpectralVocoder(VocoderConfig.from_generator(cfg, **SMALL))
    with torch.no_grad():
        for p in v.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return v.eval()


@pytest.fixture(scope="module")
def micro_model() -> KinesonicModel:
    torch.manual_seed(0)
    return KinesonicModel(micro_config()).eval()


def test_config_mismatch_names_both_values(micro_model, tmp_path) -> None:
    cfg = micro_model.cfg
    VocoderConfig.from_generator(cfg).check_matches(cfg)  # same settings: no error
    wrong = VocoderConfig.from_generator(cfg, n_fft=512, mel_std=3.0)
    with pytest.raises(
        ValueError, match=r"n_fft: vocoder 512, generator 256.*mel_std: vocoder 3.0, generator 1.6"
    ):
        wrong.check_matches(cfg)
    path = save_checkpoint(micro_model, tmp_path / "gen.safetensors")
    with pytest.raises(CheckpointError, match=r"n_fft: vocoder 512, generator 256"):
        attach_vocoder(path, SpectralVocoder(wrong))


def test_save_load_round_trip_restores_identical_outputs(micro_model, tmp_path) -> None:
    voc = random_vocoder(micro_model.cfg)
    micro_model.audio_codec.vocoder = voc
    try:
        assert not any(k.startswith("audio_codec.vocoder") for k in micro_model.state_dict())
        path = save_checkpoint(micro_model, tmp_path / "gen.safetensors")
    finally:
        micro_model.audio_codec.vocoder = GriffinLim(
            micro_model.cfg.n_fft, micro_model.cfg.hop_length, 4, micro_model.audio_codec.mel_pinv
        )
    assert read_metadata(path)["kinesonic_vocoder"] == voc.cfg.to_json()
    loaded = load_checkpoint(path)
    got = loaded.audio_codec.vocoder
    assert isinstance(got, SpectralVocoder) and got.cfg == voc.cfg
    for k, v in voc.state_dict().items():
        assert torch.equal(got.state_dict()[k], v), k
    latent = torch.randn(2, micro_model.cfg.audio_channels, 20)
    with torch.no_grad():
        expected = voc(micro_model.audio_codec.latent_to_mel(latent), 20 * micro_model.cfg.hop_length)
        assert torch.equal(loaded.audio_codec.decode(latent), expected)
        baseline = micro_model.audio_codec.decode(latent)  # Griffin-Lim again on the original
    assert not torch.allclose(baseline, expected)


def test_checkpoint_without_vocoder_loads_with_griffin_lim(micro_model, tmp_path) -> None:
    from safetensors.torch import load_file

    path = save_checkpoint(micro_model, tmp_path / "gen.safetensors")
    assert "kinesonic_vocoder" not in read_metadata(path)
    assert not [k for k in load_file(str(path)) if k.startswith("vocoder.")]
    loaded = load_checkpoint(path)
    assert type(loaded.audio_codec.vocoder) is GriffinLim
    latent = torch.randn(1, micro_model.cfg.audio_channels, 12)
    with torch.no_grad():
        assert torch.equal(loaded.audio_codec.decode(latent), micro_model.audio_codec.decode(latent))


def test_attach_vocoder_keeps_generator_tensors_and_metadata(micro_model, tmp_path) -> None:
    from safetensors.torch import load_file

    src = save_checkpoint(micro_model, tmp_path / "gen.safetensors", {"note": "keep me"})
    before_bytes = src.read_bytes()
    out = attach_vocoder(src, random_vocoder(micro_model.cfg, seed=1), tmp_path / "with_voc.safetensors")
    assert src.read_bytes() == before_bytes  # out_path given: the source file is untouched
    voc = random_vocoder(micro_model.cfg, seed=2)
    attach_vocoder(out, voc)  # in place, replacing the first vocoder
    old_meta, new_meta = read_metadata(src), read_metadata(out)
    assert {k: v for k, v in new_meta.items() if k != "kinesonic_vocoder"} == old_meta
    old, new = load_file(str(src)), load_file(str(out))
    gen = {k: v for k, v in new.items() if not k.startswith("vocoder.")}
    assert gen.keys() == old.keys()
    for k, v in old.items():
        assert gen[k].dtype == v.dtype and torch.equal(gen[k], v), k
    assert len(new) - len(gen) == len(voc.state_dict())
    loaded = load_checkpoint(out)
    assert isinstance(loaded.audio_codec.vocoder, SpectralVocoder)
    for k, v in voc.state_dict().items():
        assert torch.equal(loaded.audio_codec.vocoder.state_dict()[k], v), k
    assert not list(tmp_path.glob("*.tmp"))


def test_vocoder_tensors_without_metadata_are_refused(micro_model, tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    path = attach_vocoder(
        save_checkpoint(micro_model, tmp_path / "a.safetensors"), random_vocoder(micro_model.cfg)
    )
    meta = read_metadata(path)
    del meta["kinesonic_vocoder"]
    save_file(load_file(str(path)), str(tmp_path / "b.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="vocoder"):
        load_checkpoint(tmp_path / "b.safetensors")


@pytest.fixture(scope="module")
def shard_folder(tmp_path_factory) -> str:
    """Four physics-world clips at the micro size (32 px, 17 frames) as one shard."""
    root = tmp_path_factory.mktemp("voc_data")
    clips = [synth_clip(clip_seed(5, i), 32, 17, 16.0) for i in range(4)]
    write_shard(root / "shard-r000-00000", clips)
    return str(root)


def _train_cfg(data: str, out, steps: int) -> VocoderTrainConfig:
    return VocoderTrainConfig(
        data=data, out_dir=str(out), generator="micro", steps=steps, batch_size=2, segment_frames=16,
        lr=1e-2, warmup_steps=2, channels=8, layers=1, checkpoint_every=100, log_every=2,
    )  # fmt: skip


def _full_loss(vocoder, data: str) -> float:
    from kinesonic.training.data import open_source

    src = open_source(data)
    waves = torch.from_numpy(np.stack([src[i].audio for i in range(len(src))]))
    mel, mag = spectra(vocoder, waves, torch.hann_window(vocoder.cfg.n_fft))
    with torch.no_grad():
        return float(vocoder_loss(vocoder, mel, mag, 1.0)["loss"])


def test_training_lowers_the_loss_and_resume_matches(shard_folder, tmp_path) -> None:
    torch.set_num_threads(1)
    straight = train_vocoder(_train_cfg(shard_folder, tmp_path / "a", 20))
    baseline = _full_loss(SpectralVocoder(load_vocoder(straight.vocoder).cfg), shard_folder)  # pinv start
    trained = _full_loss(load_vocoder(straight.vocoder), shard_folder)
    assert trained < 0.95 * baseline  # 20 steps: 1.115 → 1.021 when written

    def stop_at_7(done: int, total: int) -> None:
        if done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_vocoder(_train_cfg(shard_folder, tmp_path / "b", 20), callback=stop_at_7)
    assert int(torch.load(tmp_path / "b" / STATE_FILE, weights_only=True)["step"]) == 7
    resumed = train_vocoder(_train_cfg(shard_folder, tmp_path / "b", 20))
    assert resumed.steps == 20
    a, b = load_vocoder(straight.vocoder).state_dict(), load_vocoder(resumed.vocoder).state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (tmp_path / "a" / "loss_curve.png").stat().st_size > 0


def test_cli_trains_and_attaches(shard_folder, micro_model, tmp_path) -> None:
    from kinesonic.runner.cli import main

    gen = save_checkpoint(micro_model, tmp_path / "gen.safetensors")
    argv = ["train-vocoder", "--data", shard_folder, "--out", str(tmp_path / "run"), "--steps", "2"]
    argv += ["--batch-size", "2", "--channels", "8", "--layers", "1", "--attach", str(gen)]
    assert main(argv) == 0
    assert isinstance(load_checkpoint(gen).audio_codec.vocoder, SpectralVocoder)
    assert main(["train-vocoder", "--data", shard_folder]) == 2  # no --out


def test_exactly_representable_tone_is_rendered_at_its_frequency() -> None:
    """A stationary tone on FFT bin k: with the net's output set to the exact log-spectrum residual,
    the full mel → vocoder → Griffin-Lim path gives a wave whose dominant STFT bin is k."""
    torch.manual_seed(0)
    voc = SpectralVocoder(VocoderConfig(channels=8, layers=1)).eval()
    c = voc.cfg
    k, length = 20, 2 * c.sample_rate  # 312.5 Hz at 16 kHz, n_fft 1024
    t = torch.arange(length) / c.sample_rate
    wave = 0.5 * torch.sin(2 * math.pi * k * c.sample_rate / c.n_fft * t)[None]
    window = torch.hann_window(c.n_fft)
    mel, mag = spectra(voc, wave, window)
    mid = mel.shape[-1] // 2
    with torch.no_grad():
        residual = torch.log(mag[0, :, mid] + c.floor) - voc.baseline_log_magnitude(mel)[0, :, mid]
        voc.out.weight.zero_()
        voc.out.bias.copy_(residual)
        pred = voc.magnitude(mel)
        out = voc(mel, length)
    inner = slice(4, -4)  # away from the clip edges the tone's spectrum is the same in every frame
    assert float((pred - mag)[..., inner].norm() / mag[..., inner].norm()) < 1e-3
    spec = torch.stft(out, c.n_fft, c.hop_length, window=window, return_complex=True).abs().mean(-1)[0]
    assert int(spec.argmax()) == k
    assert float(spec[k - 1 : k + 2].sum() / spec.sum()) > 0.7  # 0.79 when written; noise: ~0.006
    with pytest.raises(ValueError, match="from_magnitude"):
        GriffinLim(c.n_fft, c.hop_length, 2)(mel, length)


def test_out_of_range_mels_give_a_finite_bounded_wave(micro_model) -> None:
    """Generated mels reach exact zeros and huge values the training audio never has: the mel floor,
    the input cap and the magnitude cap keep the output finite (a wave within ±1 has |X| ≤ n_fft/2)."""
    voc = random_vocoder(micro_model.cfg)
    with torch.no_grad():
        voc.out.bias.fill_(50.0)  # a net that extrapolates wildly
        mel = torch.rand(1, micro_model.cfg.n_mels, 16) * 10
        mel[..., ::3] = 0.0
        mel[..., 5] = 1e7
        mag = voc.magnitude(mel)
        wave = voc(mel, 16 * micro_model.cfg.hop_length)
    assert float(mag.max()) <= micro_model.cfg.n_fft * (1 + 1e-5)
    assert bool(torch.isfinite(wave).all())
