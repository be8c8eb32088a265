"""Generator nodes: workflow files through the headless runner to an mp4, modes, input errors.

A micro random generator is saved with the real writer into $KINESONIC_MODELS/kinesonic/ (the
conftest points that at an empty temp folder) and loaded through the real loader node.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.models import KinesonicModel, micro_config, save_checkpoint
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.generate import (
    KinesonicGenerate,
    KinesonicGeneratorConditioning,
    KinesonicGeneratorDecode,
    KinesonicGeneratorSampler,
    KinesonicLoadGenerator,
)

WORKFLOWS = Path(__file__).resolve().parent / "data" / "workflows_generate"


@pytest.fixture()
def checkpoint() -> Path:
    torch.manual_seed(0)
    model = KinesonicModel(micro_config())
    with torch.no_grad():  # non-zero outputs, so the mp4 carries real (noisy) content
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    folder = Path(os.environ["KINESONIC_MODELS"]) / "kinesonic"
    return save_checkpoint(model, folder / "micro.safetensors")


def scene_tracks(size: int = 32, frames: int = 17) -> dict:
    t = np.arange(frames) / 16.0
    path = np.stack([np.stack([6 + 20 * t, 8 + 4 * t], -1), np.stack([26 - 10 * t, 20 + 0 * t], -1)], 1)
    return {
        "track_path": path.astype(np.float32),
        "track_visibility": np.ones((frames, 2), bool),
        "fps": 16.0,
        "width": size,
        "height": size,
    }


def mp4_streams(path: Path) -> tuple[int, int, int]:
    """(video frames, audio sample rate, width) of an mp4."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0]
        frames = sum(1 for _ in c.decode(v))
        return frames, a.rate, v.codec_context.width


@pytest.mark.parametrize("name", ["generate_modular.json", "generate_all_in_one.json"])
def test_workflow_to_mp4(checkpoint: Path, name: str) -> None:
    from kinesonic.runner import execute, load_workflow

    prompt = load_workflow(WORKFLOWS / name)
    result = execute(prompt, progress=False)
    mp4s = [f for f in result.files if str(f).endswith(".mp4")]
    assert len(mp4s) == 1 and mp4s[0].stat().st_size > 0
    frames, rate, width = mp4_streams(mp4s[0])
    assert frames == 17 and width == 32 and rate > 0


def test_node_chain_all_modes(checkpoint: Path) -> None:
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    (model2,) = KinesonicLoadGenerator().run("micro.safetensors")
    assert model is model2  # cached by path + mtime
    first = torch.rand(1, 32, 32, 3)
    (cond,) = KinesonicGeneratorConditioning().run(model, first, "splash", 0, scene_tracks())
    sampler = KinesonicGeneratorSampler()
    frames = torch.rand(20, 32, 32, 3)
    audio = {"waveform": torch.randn(1, 2, 44100), "sample_rate": 44100}
    outs = {}
    for mode in ("image_to_sounding_video", "video_to_audio", "audio_to_video"):
        (lat,) = sampler.run(
            model, cond, mode, 2, "euler", 1.0, 2.0, 2.0, "cfg", 5, frames=frames, audio=audio
        )
        images, sound, fps = KinesonicGeneratorDecode().run(model, lat)
        assert images.shape == (17, 32, 32, 3) and 0 <= images.min() and images.max() <= 1
        assert sound["waveform"].shape == (1, 1, 16000) and sound["sample_rate"] == 16000 and fps == 16.0
        outs[mode] = lat
    cfg = model.cfg
    given_v = model.encode_video(frames[:17].permute(3, 0, 1, 2)[None])
    assert torch.allclose(outs["video_to_audio"]["video"], given_v)
    assert not torch.equal(outs["video_to_audio"]["audio"], outs["image_to_sounding_video"]["audio"])
    assert outs["audio_to_video"]["audio"].shape == (1, cfg.audio_channels, 64)


def test_all_in_one_is_seeded(checkpoint: Path) -> None:
    node = KinesonicGenerate()
    first = torch.rand(1, 32, 32, 3)
    a = node.run("micro.safetensors", first, "thud", 2, 4, scene_tracks())
    b = node.run("micro.safetensors", first, "thud", 2, 4, scene_tracks())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1]["waveform"], b[1]["waveform"])


def test_device_and_precision_headless(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``kinesonic --device/--precision`` reach the Generate nodes through the bridge: bf16 autocast
    on the CPU gives a close, not identical, result; the latents come back float32 on the CPU."""
    from kinesonic.nodes import bridge

    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "thud", 0, scene_tracks())
    sampler = KinesonicGeneratorSampler()
    args = (model, cond, "image_to_sounding_video", 3, "euler", 1.0, 2.0, 2.0, "cfg", 5)
    (ref,) = sampler.run(*args)
    monkeypatch.setenv("KINESONIC_PRECISION", "bf16")
    assert bridge.load_device() == torch.device("cpu") and bridge.precision() == "bf16"
    (half,) = sampler.run(*args)
    assert half["video"].dtype == torch.float32 and half["video"].device.type == "cpu"
    assert not torch.equal(half["video"], ref["video"])  # autocast really ran in bf16
    assert (half["video"] - ref["video"]).abs().max() < 0.1 * ref["video"].abs().max()
    monkeypatch.setenv("KINESONIC_PRECISION", "fp8")
    with pytest.raises(ValueError, match="KINESONIC_PRECISION"):
        sampler.run(*args)
    monkeypatch.setenv("KINESONIC_PRECISION", "fp32")
    monkeypatch.setenv("KINESONIC_DEVICE", "meta")  # the model follows the load device
    assert bridge.load_device() == torch.device("meta") == bridge.offload_device()


def test_input_errors_name_node_input_and_expectation(checkpoint: Path) -> None:
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    node = KinesonicGeneratorConditioning()
    with pytest.raises(NodeInputError, match=r"\[Generator Conditioning\] input 'first_frame'.*32x32"):
        node.run(model, torch.rand(1, 64, 48, 3), "x", 0, resize=None)
    with pytest.raises(NodeInputError, match=r"input 'resize'.*one of"):
        node.run(model, torch.rand(1, 64, 48, 3), "x", 0, resize="zoom")
    with pytest.raises(NodeInputError, match=r"input 'tracks'.*model's 32x32 frame.*got '64x64'"):
        node.run(model, torch.rand(1, 32, 32, 3), "x", 0, scene_tracks(size=64))
    bad_fps = dict(scene_tracks(), fps=30.0)
    with pytest.raises(NodeInputError, match=r"input 'tracks'.*16 fps"):
        node.run(model, torch.rand(1, 32, 32, 3), "x", 0, bad_fps)
    (cond,) = node.run(model, torch.rand(1, 32, 32, 3), "x", 0)
    with pytest.raises(NodeInputError, match=r"input 'frames'"):
        KinesonicGeneratorSampler().run(model, cond, "video_to_audio", 2, "euler", 1.0, 1.0, 1.0, "none", 0)
    with pytest.raises(FileNotFoundError, match=r"input 'model_name'.*missing.safetensors.*models/kinesonic"):
        KinesonicLoadGenerator().run("missing.safetensors")


def test_model_list_and_placeholder(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinesonic.nodes import bridge

    monkeypatch.setattr(bridge, "PACK_DIR", tmp_path / "pack")  # hide the shipped default model
    names = KinesonicLoadGenerator.INPUT_TYPES()["required"]["model_name"][0]
    assert names == ["micro.safetensors"]
    monkeypatch.setenv("KINESONIC_MODELS", str(tmp_path))
    names = KinesonicLoadGenerator.INPUT_TYPES()["required"]["model_name"][0]
    with pytest.raises(NodeInputError, match="models"):
        KinesonicLoadGenerator().run(names[0])


def test_first_frame_of_another_size_is_fitted(checkpoint: Path) -> None:
    # A 64x64 image of constant 2x2 blocks is the 32x32 image at twice the size: area averaging
    # (crop of a square = plain resize) gives back exactly the small image, so the conditions match.
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    small = torch.rand(1, 32, 32, 3)
    big = small.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    node = KinesonicGeneratorConditioning()
    (a,) = node.run(model, small, "x", 0, scene_tracks())
    (b,) = node.run(model, big, "x", 0, scene_tracks(), resize="crop")
    assert torch.equal(a["conditioning"].first_latent, b["conditioning"].first_latent)


def test_short_tracks_are_resampled_to_the_model_clip(checkpoint: Path, capsys) -> None:
    # A 5-point path used to make a 5-frame (0.31 s) clip: it now covers the model's 17 frames.
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    five = scene_tracks(frames=5)
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "x", 0, five)
    assert cond["num_frames"] == model.cfg.num_frames == 17
    assert "tracks have 5 frames" in capsys.readouterr().out


def test_node_guidance_defaults_are_the_samplers() -> None:
    from kinesonic.evaluation.world_rows import SAMPLER
    from kinesonic.models.sampling import DEFAULT_AUDIO_CFG, DEFAULT_AUDIO_NOISE, DEFAULT_VIDEO_CFG
    from kinesonic.nodes import generate

    defaults = (DEFAULT_VIDEO_CFG, DEFAULT_AUDIO_CFG, DEFAULT_AUDIO_NOISE)
    assert (generate.VIDEO_CFG, generate.AUDIO_CFG, generate.AUDIO_NOISE) == defaults
    assert (SAMPLER["video_cfg"], SAMPLER["audio_cfg"], SAMPLER["audio_noise"]) == defaults  # the table's
    spec = generate.KinesonicGeneratorSampler.INPUT_TYPES()
    assert spec["required"]["video_cfg"][1]["default"] == DEFAULT_VIDEO_CFG
    assert spec["required"]["audio_cfg"][1]["default"] == DEFAULT_AUDIO_CFG
    assert spec["optional"]["audio_noise"][1]["default"] == DEFAULT_AUDIO_NOISE


def test_sampler_node_audio_noise_range_and_effect(checkpoint: Path) -> None:
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "x", 0, scene_tracks())
    sampler = KinesonicGeneratorSampler()
    args = (model, cond, "image_to_sounding_video", 2)
    with pytest.raises(NodeInputError, match=r"audio_noise.*\[0, 1\]"):
        sampler.run(*args, "euler", 1.0, 3.0, 2.0, "cfg", 0, audio_noise=1.5)
    (a,) = sampler.run(*args, "heun", 1.0, 3.0, 2.0, "cfg", 0)  # Heun takes the stochastic update too
    assert torch.isfinite(a["audio"]).all()
    (b,) = sampler.run(*args, "euler", 1.0, 3.0, 2.0, "cfg", 0)  # default eta 1
    (c,) = sampler.run(*args, "euler", 1.0, 3.0, 2.0, "cfg", 0, audio_noise=0.0)
    assert not torch.equal(b["audio"], c["audio"])


def test_sampler_node_audio_to_video_from_stems(checkpoint: Path) -> None:
    """STEMS instead of AUDIO: the given sound is speech + effects (music left out), heard by the video
    only where it sounds; audio and stems together, or bad stems, are refused with the input named."""
    (model,) = KinesonicLoadGenerator().run("micro.safetensors")
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "x", 0, scene_tracks())
    sampler = KinesonicGeneratorSampler()
    rate, n = 22050, 22050

    def stem(x: np.ndarray) -> dict:
        return {"waveform": torch.from_numpy(x.astype(np.float32))[None, None], "sample_rate": rate}

    t = np.arange(n) / rate
    effects = np.where((t > 0.4) & (t < 0.5), 0.3 * np.sin(2 * np.pi * 600 * t), 0.0)
    speech = np.zeros(n)
    music = 0.2 * np.sin(2 * np.pi * 220 * t)
    stems = {"speech": stem(speech), "effects": stem(effects), "music": stem(music)}
    args = (model, cond, "audio_to_video", 2, "euler", 1.0, 3.0, 2.0, "cfg", 0)
    seen, sample = {}, model.sample

    def spy(c, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen["keep"], seen["audio"], seen["music"] = c.audio_keep, k["audio"], c.music
        return sample(c, *a, **k)

    model.sample = spy
    try:
        (lat,) = sampler.run(*args, stems=stems)
        keep = seen["keep"][0].numpy()
        token_s = model.cfg.hop_length * model.cfg.audio_patch / model.cfg.sample_rate
        active_s = np.flatnonzero(keep) * token_s
        assert active_s.min() >= 0.4 - 2 * token_s and active_s.max() <= 0.5 + token_s  # the burst only
        # the music is left out: the given latent is that of speech + effects alone
        (alone,) = sampler.run(*args, audio=stems["effects"])
        assert seen["keep"] is None
        torch.testing.assert_close(alone["audio"], lat["audio"])
        assert torch.isfinite(lat["video"]).all()
    finally:
        model.sample = sample
    with pytest.raises(NodeInputError, match="'stems'.*not both"):
        sampler.run(*args, audio=stems["effects"], stems=stems)
    with pytest.raises(NodeInputError, match="'stems'"):
        sampler.run(*args, stems={"speech": stems["speech"]})
    with pytest.raises(NodeInputError, match="'stems'.*NaN"):
        sampler.run(*args, stems={**stems, "effects": stem(np.full(n, np.nan))})
    assert seen.get("music") is None  # the micro model has no music FiLM: the music is left out


def test_sampler_node_gives_the_music_stem_to_a_music_film(checkpoint: Path) -> None:
    """A model with a music FiLM gets the music stem (resampled to its rate) as its music vector."""
    torch.manual_seed(0)
    film = KinesonicModel(micro_config(music_film=True, music_hidden=8))
    folder = Path(os.environ["KINESONIC_MODELS"]) / "kinesonic"
    save_checkpoint(film, folder / "film.safetensors")
    (model,) = KinesonicLoadGenerator().run("film.safetensors")
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "x", 0, scene_tracks())
    rate, n = 22050, 22050
    t = np.arange(n) / rate
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

    def stem(x: np.ndarray) -> dict:
        return {"waveform": torch.from_numpy(x)[None, None], "sample_rate": rate}

    stems = {"speech": stem(np.zeros(n, np.float32)), "effects": stem(tone * (t < 0.2)), "music": stem(tone)}
    seen, sample = {}, model.sample

    def spy(c, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen["music"], seen["mask"] = c.music, c.music_mask
        return sample(c, *a, **k)

    model.sample = spy
    KinesonicGeneratorSampler().run(
        model, cond, "audio_to_video", 1, "euler", 1.0, 3.0, 2.0, "cfg", 0, stems=stems
    )
    import librosa

    samples = model.cfg.audio_samples(cond["conditioning"].latent_frames)
    at_rate = librosa.resample(tone, orig_sr=rate, target_sr=model.cfg.sample_rate)[:samples]
    want, known = model.music_vector(torch.from_numpy(np.pad(at_rate, (0, samples - at_rate.shape[0])))[None])
    torch.testing.assert_close(seen["music"], want)
    assert seen["mask"].tolist() == known.tolist() == [True]
