"""The world table's new columns (ETE at tau 0.5, onsets per impact clip, level error) and opt-in rows
(codec, JointCFG, video-to-audio, audio-to-video), and the cond_time range the Sampler node accepts.

Known answers: half the amplitude is -6.02 dB; the v2a row's video is the simulator's frames and the
a2v row's sound the simulator's sound (as written to the row's mp4); the a2v row's ETE is the one of
the tracks measured on its generated video.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.evaluation import world, world_rows, world_table
from kinesonic.kinematics import KinematicStats, Tracks, detect_events
from kinesonic.metrics.ete import event_timing_error
from kinesonic.models import (
    KinesonicModel,
    load_checkpoint,
    micro_config,
    save_checkpoint,
    trained_max_cond_time,
)
from kinesonic.runner.cli import main


def _micro_world_model(path: Path, training: dict | None = None) -> Path:
    """A random micro-width model at the world clip size (64x64, 33 frames, 16 kHz)."""
    torch.manual_seed(0)
    stats = KinematicStats(tuple(np.zeros(8)), tuple(np.ones(8)), 1)
    model = KinesonicModel(micro_config(height=64, width=64, num_frames=33, n_fft=512), stats)
    meta = {"kinesonic_training": json.dumps(training)} if training is not None else None
    return save_checkpoint(model, path, meta)


# ------------------------------------------------------------------------------------------ columns
def test_level_error_hand_computed() -> None:
    sr, fps, frames = 16000, 16.0, 32  # span: 2 s = 32000 samples
    t = np.arange(40000) / sr
    ref = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    half = ref * 0.5
    half[32000:] = 1.0  # beyond the clip span: not counted
    assert world_table.level_error_db(half, ref, sr, frames, fps) == pytest.approx(-6.0206, abs=1e-3)
    assert world_table.level_db(ref, sr, frames, fps) == pytest.approx(
        20 * math.log10(0.3 / math.sqrt(2)), abs=1e-3
    )
    assert world_table.level_db(np.zeros(100), sr, frames, fps) == pytest.approx(-240.0)

    # the cells: median of |signed| and median of signed, on every clip
    clips = {n: type("C", (), {"events": [], "kind": "drop"})() for n in "abc"}
    rep = type(
        "R", (), {"values": {"te_px": 1.0}, "visual_events": np.zeros(0), "audio_onsets": np.zeros(0)}
    )()
    levels = {"a": -6.02, "b": 2.0, "c": 10.0}
    cells = world_table.summarize(world_table.per_clip(list("abc"), [rep] * 3, clips, levels))
    assert cells["level"] == (pytest.approx(6.02), 3)
    assert cells["level_signed"] == (pytest.approx(2.0), 3)


def test_tables_hand_computed_with_the_new_columns() -> None:
    ref = {"te": {"a": 1.0, "b": 3.0}, "ete": {"a": 0.1}, "ete5": {"a": 0.2}, "level": {"a": 1.0, "b": 4.0}}
    row = {"te": {"a": 2.0, "b": 5.0}, "ete": {"a": 0.15}, "ete5": {"a": 0.5}, "level": {"a": 2.0, "b": 4.0}}
    row["onsets"] = {"a": 3.0}
    cells = world_table.summarize(row)
    assert cells["te"] == (3.5, 2) and cells["ete5"] == (0.5, 1) and cells["onsets"] == (3.0, 1)
    assert cells["level"] == (3.0, 2)  # median of 2 and 4
    assert math.isnan(cells["maic"][0]) and cells["maic"][1] == 0
    line = world_table.format_table([("row", cells)]).splitlines()[-1]
    assert line == (
        "| row | 3.50 (2) | 0.150 (1) | 0.500 (1) | nan (0) | nan (0) | nan (0) | 3.00 (1) | 3.00 (2) "
        "| nan (0) | nan (0) |"
    )
    paired = world_table.paired_table(ref, [("row", row)], "ref")
    assert "onsets" not in paired and "level signed" not in paired  # counts and signed level: no pairs
    # TE differences +1, +2; ETE +0.05; ETE τ0.5 +0.3; level |error| +1 and 0 (median of the two: +0.5)
    assert paired.splitlines()[-1] == (
        "| row | +1.50 [+1.00, +2.00] (2) | +0.050 [+0.050, +0.050] (1) | +0.300 [+0.300, +0.300] (1) "
        "| n/a | n/a | n/a | +0.50 [+0.00, +1.00] (2) | n/a |"
    )


def test_per_clip_reads_visual_events_from_the_given_tracks() -> None:
    """The a2v rule on a known case: a bounce at 0.5 s in the conditioning tracks, at 1.0 s in the
    'measured' ones; the sound's one onset at 1.0 s matches only the measured bounce."""
    from kinesonic.metrics.evaluate import evaluate_clip

    fps, n, sr = 16.0, 32, 16000

    def bounce(at: float) -> Tracks:
        t = np.arange(n) / fps
        y = 50 - 40 * np.abs(t - at)  # falls towards y = 50 and goes back up: one event at `at`
        pts = np.stack([np.full(n, 30.0), y], -1)[:, None]
        return Tracks(pts, np.ones((n, 1), bool), fps, 64, 64)

    audio = np.zeros(n * sr // 16, np.float32)
    audio[sr : sr + 400] = np.random.default_rng(0).standard_normal(400) * 0.5
    cond, measured = bounce(0.5), bounce(1.0)
    rep = evaluate_clip(cond, audio, sr)
    assert list(detect_events(cond)) == [0.5] and list(detect_events(measured)) == [1.0]
    clips = {"x": type("C", (), {"events": [1], "kind": "drop"})()}
    own = world_table.per_clip(["x"], [rep], clips)
    read = world_table.per_clip(["x"], [rep], clips, visual_tracks={"x": measured})
    assert own["ete"]["x"] == pytest.approx(rep.values["ete_s"])
    expected = event_timing_error(detect_events(measured), rep.audio_onsets, 0.2)
    assert read["ete"]["x"] == pytest.approx(expected)
    assert read["ete"]["x"] < 0.05 < own["ete"]["x"]


# ------------------------------------------------------------------------------------------ rows
def test_codec_row_is_the_round_trip_and_v2a_a2v_keep_the_given_modality(tmp_path) -> None:
    from kinesonic.data import synth_clip

    model = load_checkpoint(_micro_world_model(tmp_path / "m.safetensors"))
    clip = synth_clip(world.held_out_seeds(1, 1000, 0, 10)[0], 64, 33, 16.0)
    frames, audio, _ = world_rows.row_media("codec", model, clip, 2, 0)
    with torch.no_grad():
        trip = model.decode_audio(model.encode_audio(torch.from_numpy(clip.audio)[None]))[0].numpy()
    assert frames is clip.frames
    np.testing.assert_array_equal(audio, trip[: clip.audio.size])
    assert not np.allclose(audio, clip.audio, atol=1e-3)  # the codec changes the sound
    frames, audio, _ = world_rows.row_media("v2a", model, clip, 2, 0, 0.05)
    assert frames is clip.frames and not np.array_equal(audio[: clip.audio.size], clip.audio)
    frames, audio, _ = world_rows.row_media("a2v", model, clip, 2, 0, 0.05)
    assert audio is clip.audio and not np.array_equal(frames, clip.frames)
    with pytest.raises(ValueError, match=r"cond_time must be in \[0, 0.1\]"):
        world_rows.row_media("a2v", model, clip, 2, 0, 0.2)


def test_bedded_audio_to_video_rows_give_the_mixture_or_its_effects_stem(tmp_path) -> None:
    from kinesonic.data import synth_clip
    from kinesonic.separation.core import si_sdr

    clip = synth_clip(world.held_out_seeds(1, 1000, 0, 10)[0], 64, 33, 16.0)
    assert world_rows.given_sound("a2v", clip) is clip.audio
    bedded = world_rows.given_sound("a2v_bed", clip)
    bed = bedded.astype(np.float64) - clip.audio
    rms = np.sqrt(np.mean(clip.audio.astype(np.float64) ** 2))
    assert np.sqrt(np.mean(bed**2)) == pytest.approx(rms, rel=1e-3)  # the bed at 0 dB re the clip
    np.testing.assert_array_equal(bedded, world_rows.given_sound("a2v_bed", clip))  # seeded per clip
    demixed = world_rows.given_sound("a2v_demix", clip)
    assert demixed.shape == clip.audio.shape and demixed.dtype == np.float32
    # the separator takes most of the bed away (measured SI-SDR re the clean sound 0.0 → 13.4 dB)
    assert si_sdr(bedded, clip.audio) < 0.5 and si_sdr(demixed, clip.audio) > 4.0
    model = load_checkpoint(_micro_world_model(tmp_path / "m.safetensors"))
    seen, sample = {}, model.sample

    def spy(cond, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen["keep"], seen["music"] = cond.audio_keep, cond.music
        return sample(cond, *args, **kwargs)

    model.sample = spy
    for kind in ("a2v_bed", "a2v_demix", "a2v_streams", "a2v_music"):
        frames, audio, _ = world_rows.row_media(kind, model, clip, 2, 0, 0.05)
        assert audio is clip.audio and frames.shape == clip.frames.shape  # scored on the clean sound
        assert (seen["keep"] is None) == (kind not in ("a2v_streams", "a2v_music"))
        assert seen["music"] is None  # a model without a music FiLM: a2v_music samples as a2v_streams
    # the stream intervals are where the demixed effects stem sounds: its first impact, not the start
    assert world_rows.given_sound("a2v_streams", clip).tobytes() == demixed.tobytes()
    keep = seen["keep"][0].numpy()
    assert keep.shape == (model.cfg.audio_tokens(model.cfg.latent_frames(33)),)
    first = clip.events[0]["time_s"] if clip.events else None
    token_s = model.cfg.hop_length * model.cfg.audio_patch / model.cfg.sample_rate
    assert 0 < keep.sum() < keep.size
    if first is not None:
        assert keep[int(first / token_s)] and not keep[: max(0, int(first / token_s) - 2)].any()
    assert world_rows.row_sampler("a2v_demix") == world_rows.row_sampler("a2v")
    # a model with a music FiLM is given the demixed music stem's vector in the a2v_music row
    film = KinesonicModel(replace(model.cfg, music_film=True, music_hidden=8), model.kinematic_stats)
    sample = film.sample
    film.sample = spy
    world_rows.row_media("a2v_music", film, clip, 2, 0, 0.05)
    stems = world_rows.demixed_stems(world_rows.given_sound("a2v_bed", clip), clip.sample_rate)
    assert stems[1].tobytes() == demixed.tobytes()  # the effects stem of the same separation
    stem = stems[2]
    assert si_sdr(stem, bed.astype(np.float32)) > 4.0  # it is the bed, as the separator hears it
    want = film.music_vector(
        torch.from_numpy(stem[: film.cfg.audio_samples(film.cfg.latent_frames(33))])[None]
    )
    torch.testing.assert_close(seen["music"], want[0])


def test_world_run_with_every_extra_row(tmp_path) -> None:
    from kinesonic.media.audio import read_audio
    from kinesonic.media.video import read_video
    from kinesonic.metrics.cli import evaluate_folder

    model = _micro_world_model(tmp_path / "m.safetensors")
    work = tmp_path / "work"
    result = world.evaluate_world(
        [("default model", model)], work, clips=2, train_clips=50, steps=2,
        rows=["a2v", "v2a", "codec", "jointcfg", "a2v_bed", "a2v_demix"], cond_time=0.05,
        log=lambda line: None,
    )  # fmt: skip
    labels = [
        line.split(" | ")[0].lstrip("| ") for line in result.table.splitlines() if line.startswith("| ")
    ]
    order = ["simulator ground truth", "default model", "simulator sound through the codec", "JointCFG"]
    assert labels[:7] == ["row", *order, "video-to-audio", "audio-to-video"]
    assert labels[7:9] == ["audio-to-video, music bed", "audio-to-video, music bed demixed"]
    assert "row − default model" in result.table and "ETE τ0.5" in result.table
    assert "| row − audio-to-video, music bed |" in result.table  # demixed minus raw mixture, paired
    stamp = json.loads((work / world._folder_name(labels[8]) / "source.json").read_text())
    assert stamp["separator"]["size"] > 0 and stamp["cond_time"] == 0.05
    for name in ("clip0000", "clip0001"):
        v2a, a2v, sim = (
            read_video(work / f / f"{name}.mp4")
            for f in ("video-to-audio", "audio-to-video", "simulator_ground_truth")
        )
        np.testing.assert_array_equal(v2a.frames, sim.frames)  # as written: the simulator's frames
        assert not np.array_equal(v2a.audio, sim.audio)
        np.testing.assert_array_equal(read_audio(work / "audio-to-video" / f"{name}.mp4")[0], sim.audio)
        assert not np.array_equal(a2v.frames, sim.frames)
    assert json.loads((work / "video-to-audio" / "source.json").read_text())["cond_time"] == 0.05

    # the a2v row's ETE: visual events of the tracks measured on its video, the onsets of its sound
    names, reports, _ = evaluate_folder(work / "audio-to-video")
    ete = []
    for name, rep in zip(names, reports, strict=True):
        data = json.loads((work / "audio-to-video" / f"{name}.measured.tracks.json").read_text())
        measured = Tracks.from_json(data, fps=16.0, width=64, height=64)
        ete.append(event_timing_error(detect_events(measured), rep.audio_onsets, 0.2))
    cell = result.cells["audio-to-video"]["ete"]
    assert cell[0] == pytest.approx(np.mean(ete)) and cell[1] == 2  # both held-out clips have impacts
    own = np.mean([r.values["ete_s"] for r in reports])  # conditioning tracks vs the simulator's sound
    assert own < 0.05 and cell[0] > own + 0.05
    # the ground truth shows the simulator's onsets; its level error is the AAC round trip's (small)
    assert result.cells["simulator ground truth"]["onsets"][0] >= 1
    assert abs(result.cells["simulator ground truth"]["level_signed"][0]) < 0.5
    assert (
        result.cells["simulator sound through the codec"]["te"]
        == result.cells["simulator ground truth"]["te"]
    )


def test_cli_rows_and_cond_time_are_checked(tmp_path, capsys) -> None:
    model = _micro_world_model(tmp_path / "m.safetensors")
    base = ["eval", "--world", "--model", str(model), "--work", str(tmp_path / "w"), "--train-clips", "5"]
    assert main([*base, "--rows", "codec,vocoder"]) == 2
    assert "--rows: unknown row(s) ['vocoder']" in capsys.readouterr().err
    assert main([*base, "--rows", "v2a", "--cond-time", "0.2"]) == 2
    assert "cond_time must be in [0, 0.1]" in capsys.readouterr().err
    assert world_rows.parse_rows("all") == [
        "codec", "jointcfg", "v2a", "a2v", "a2v_bed", "a2v_demix", "a2v_streams", "a2v_music", "nophysics",
        "ode",
    ]  # fmt: skip
    assert world_rows.parse_rows("a2v, codec") == ["codec", "a2v"]
    assert world_rows.parse_rows("") == []


# ------------------------------------------------------------------------------------------ cond_time
def test_trained_max_cond_time_from_the_checkpoint(tmp_path) -> None:
    from kinesonic.models.checkpoint import DEFAULT_MAX_COND_TIME
    from kinesonic.nodes.generate import DEFAULT_MAX_COND_TIME as NODE_MAX
    from kinesonic.nodes.generate import KinesonicGeneratorSampler
    from kinesonic.training.config import TrainConfig

    assert DEFAULT_MAX_COND_TIME == NODE_MAX == TrainConfig().max_cond_time
    widget = KinesonicGeneratorSampler.INPUT_TYPES()["optional"]["cond_time"][1]
    assert widget["max"] == NODE_MAX and widget["min"] == 0.0
    recorded = {"train_config": {"max_cond_time": 0.05}, "ablations": {}}
    assert (
        trained_max_cond_time(load_checkpoint(_micro_world_model(tmp_path / "a.safetensors", recorded)))
        == 0.05
    )
    assert trained_max_cond_time(load_checkpoint(_micro_world_model(tmp_path / "b.safetensors"))) == 0.1


def test_sampler_node_refuses_cond_time_above_the_trained_maximum() -> None:
    from kinesonic.nodes.base import NodeInputError
    from kinesonic.nodes.generate import KinesonicGeneratorConditioning, KinesonicGeneratorSampler

    torch.manual_seed(0)
    model = KinesonicModel(micro_config())  # 32x32, 17 frames
    model.training_metadata = {"train_config": {"max_cond_time": 0.05}}
    (cond,) = KinesonicGeneratorConditioning().run(model, torch.rand(1, 32, 32, 3), "thud", 0)
    frames = torch.rand(17, 32, 32, 3)
    args = (model, cond, "video_to_audio", 1, "euler", 1.0, 1.0, 1.0, "none", 0)
    (lat,) = KinesonicGeneratorSampler().run(*args, frames=frames, cond_time=0.05)  # the maximum is allowed
    assert lat["audio"].shape[0] == 1
    pattern = r"\[Generator Sampler\] input 'cond_time': expected a flow time in \[0, 0.05\].*got 0.06"
    with pytest.raises(NodeInputError, match=pattern):
        KinesonicGeneratorSampler().run(*args, frames=frames, cond_time=0.06)
    model.training_metadata = {}  # nothing recorded: the trainer's default 0.1
    with pytest.raises(NodeInputError, match=r"\[0, 0.1\].*got 0.15"):
        KinesonicGeneratorSampler().run(*args, frames=frames, cond_time=0.15)
    with pytest.raises(NodeInputError, match=r"input 'cond_time'.*got -0.01"):
        KinesonicGeneratorSampler().run(*args, frames=frames, cond_time=-0.01)


# ------------------------------------------------------------------------------------------ physics
def test_estimated_physics_is_in_the_conditioning_order_and_nan_where_unknown() -> None:
    """The first held-out clip (seed base 1000): a wooden ball thrown onto a wooden floor (2.68 kg).
    An extra conditioning object where nothing is drawn has no track: its mass and speeds stay NaN."""
    from dataclasses import replace

    from kinesonic.data import synth_clip

    clip = synth_clip(world.held_out_seeds(1, 1000, 0, 50)[0], 64, 33, 16.0)
    t, tr = clip.tracks.num_frames, clip.tracks
    extra = Tracks(
        np.concatenate([tr.points, np.full((t, 1, 2), 3.0)], 1),
        np.concatenate([tr.visible, np.ones((t, 1), bool)], 1),
        tr.fps, tr.width, tr.height,
    )  # fmt: skip
    phys = world_rows.estimated_physics(replace(clip, tracks=extra))
    assert phys["matched"] == [True, False] and phys["materials"] == ["wood", None]  # from the caption
    assert phys["masses_kg"][0] == pytest.approx(clip.masses[0], rel=0.5) and np.isnan(phys["masses_kg"][1])
    assert np.isnan(phys["velocity_mps"][:, 1]).all()
    speed = np.linalg.norm(phys["velocity_mps"][:, 0], axis=1)
    truth = np.linalg.norm(clip.velocity_mps[:, 0], axis=1)
    moving = truth >= 0.1
    assert np.median(np.abs(speed[moving] / truth[moving] - 1)) < 0.1
    assert world_rows.physics_known(phys, 2) == (2, 1, 1, pytest.approx(np.isfinite(speed).mean() / 2))
    assert world_rows.physics_known(None, 3) == (3, 0, 0, 0.0)
    sim = world_rows.clip_physics(clip, "simulator")
    np.testing.assert_array_equal(sim["masses_kg"], clip.masses)
    assert world_rows.clip_physics(clip, "none") is None
    with pytest.raises(ValueError, match="physics must be one of"):
        world_rows.clip_physics(clip, "guess")


def _spy_physics(monkeypatch) -> list[tuple[tuple[str, ...], dict | None]]:
    """Record ``(model.ablations, physics)`` of every ``build_conditioning`` call."""
    calls: list[tuple[tuple[str, ...], dict | None]] = []
    build = KinesonicModel.build_conditioning

    def spy(self, *args, **kwargs):
        calls.append((self.ablations, kwargs.get("physics")))
        return build(self, *args, **kwargs)

    monkeypatch.setattr(KinesonicModel, "build_conditioning", spy)
    return calls


def test_world_rows_are_sampled_with_the_physics_asked_for(tmp_path, monkeypatch) -> None:
    from kinesonic.data import synth_clip

    model = _micro_world_model(tmp_path / "m.safetensors")
    no_phys = _micro_world_model(tmp_path / "np.safetensors", {"ablations": {"no_physics": True}})
    calls = _spy_physics(monkeypatch)
    work = tmp_path / "work"
    result = world.evaluate_world(
        [("default model", model), ("no physics conditioning", no_phys)], work, clips=2, train_clips=50,
        steps=1, rows=["codec", "jointcfg", "nophysics"], log=lambda line: None,
    )  # fmt: skip
    clips = [synth_clip(s, 64, 33, 16.0) for s in world.held_out_seeds(2, 1000, 0, 50)]
    expected = [world_rows.estimated_physics(c) for c in clips]
    # default model and JointCFG (2 clips each) with the estimate; the same model's "physics input
    # off" row and the no-physics model with none; the codec and simulator rows sample nothing
    assert [a for a, _ in calls] == [()] * 6 + [("no_physics",)] * 2
    for (_, given), want in zip(calls[:4], expected * 2, strict=True):
        np.testing.assert_array_equal(given["masses_kg"], want["masses_kg"])
        np.testing.assert_array_equal(given["velocity_mps"], want["velocity_mps"])
    assert all(given is None for _, given in calls[4:])
    counts = np.array(
        [world_rows.physics_known(p, c.tracks.num_tracks) for p, c in zip(expected, clips, strict=True)]
    )
    n, mass, speed = (int(v) for v in counts[:, :3].sum(0))
    assert (n, mass, speed) == (2, 1, 1)  # the drop's extraction finds no usable track: all unknown
    first = result.table.splitlines()[0]
    assert first.startswith("Physics conditioning of the sampled rows: estimated from each held-out")
    assert f"known mass for {mass} of {n} objects, known speed for {speed} of {n} objects" in first
    assert "; none for physics input off (the same model without it)" in first
    assert "; none for no physics conditioning (trained without physics)." in first
    assert result.physics == "estimated"
    notes = dict(line.split(": ", 1) for line in result.notes)
    assert notes["default model"].endswith("physics estimated")
    assert notes["no physics conditioning"].endswith("physics none")
    assert notes["physics input off"].endswith("physics none")
    assert "physics" not in notes["simulator sound through the codec"]
    stamps = {
        f: json.loads((work / f / "source.json").read_text())
        for f in ("default_model", "no_physics_conditioning")
    }
    assert stamps["default_model"]["physics"] == "estimated"
    assert stamps["no_physics_conditioning"]["physics"] == "none"
    assert "physics" not in json.loads((work / "simulator_ground_truth" / "source.json").read_text())
    assert "no physics conditioning | " in result.table.split("Paired per clip")[1]


def test_cli_physics_none_and_simulator(tmp_path, monkeypatch) -> None:
    from kinesonic.data import synth_clip

    model = _micro_world_model(tmp_path / "m.safetensors")
    calls = _spy_physics(monkeypatch)
    out = tmp_path / "table.md"
    argv = ["eval", "--world", "--model", str(model), "--clips", "1", "--steps", "1", "--train-clips", "50"]
    assert main([*argv, "--work", str(tmp_path / "w"), "--out", str(out), "--physics", "none"]) == 0
    assert [p for _, p in calls] == [None]
    assert out.read_text().startswith("Physics conditioning of the sampled rows: none (--physics none).")
    # the simulator's truth: the clip's own masses and velocities
    clip = synth_clip(world.held_out_seeds(1, 1000, 0, 50)[0], 64, 33, 16.0)
    loaded = load_checkpoint(model)
    world_rows.row_media("model", loaded, clip, 1, 0, physics=world_rows.clip_physics(clip, "simulator"))
    np.testing.assert_array_equal(calls[-1][1]["velocity_mps"], clip.velocity_mps)
    assert calls[-1][1]["fps"] == clip.fps
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        main([*argv, "--work", str(tmp_path / "w"), "--physics", "guess"])


def test_apcc_delta_column_hand_computed() -> None:
    """Clip a (drop): three impacts, |dKE| 1, 2, 3, the simulator's onset strengths 1, 2, 3 (r_sim = 1)
    and the row's 3, 2, 1 (r_row = -1): |Δr| = 2. Clip b (throw): two impacts, the row's strengths equal
    the simulator's: |Δr| = 0. APCC-Δ = mean over the classes = 1.0; the reference row (strengths
    equal everywhere) has 0. Paired: +1; resampling two clips gives {a, a} (+2), {a, b} (+1) or
    {b, b} (0), so the 95 % interval is [0, 2]."""

    def report(kind: str, ke: list[float], ref: list[float], gen: list[float]) -> object:
        impacts = [
            {"time_s": 0.1 * i, "delta_ke_J": -k, "strength_ref": r, "strength_gen": g}
            for i, (k, r, g) in enumerate(zip(ke, ref, gen, strict=True))
        ]
        impacts.append({"time_s": 1.0, "delta_ke_J": -9.0, "strength_gen": 5.0})  # no reference: not used
        values = {"te_px": 1.0}
        return type("R", (), {"values": values, "visual_events": np.zeros(0), "audio_onsets": np.zeros(0),
                              "impacts": impacts, "kind": kind})()  # fmt: skip

    clips = {"a": type("C", (), {"events": [1], "kind": "drop"})()}
    clips["b"] = type("C", (), {"events": [1], "kind": "throw"})()
    row = world_table.per_clip(
        ["a", "b"],
        [report("drop", [1, 2, 3], [1, 2, 3], [3, 2, 1]), report("throw", [1, 2], [1, 2], [1, 2])],
        clips,
    )
    ref = world_table.per_clip(
        ["a", "b"],
        [report("drop", [1, 2, 3], [1, 2, 3], [1, 2, 3]), report("throw", [1, 2], [1, 2], [1, 2])],
        clips,
    )
    assert row["apcc"]["a"] == [("drop", -1.0, 1.0, 3.0), ("drop", -2.0, 2.0, 2.0), ("drop", -3.0, 3.0, 1.0)]
    assert world_table.summarize(row)["apcc"] == (pytest.approx(1.0), 5)
    assert world_table.summarize(ref)["apcc"] == (pytest.approx(0.0), 5)
    assert world_table.set_apcc_delta(row["apcc"], ["a", "a"]) == (pytest.approx(2.0), 6)
    assert world_table.format_table([("row", world_table.summarize(row))]).rstrip().endswith("| 1.000 (5) |")
    diff = world_table.paired_differences(ref, row)["apcc"]
    assert diff == (pytest.approx(1.0), pytest.approx(0.0), pytest.approx(2.0), 2)
    paired = world_table.paired_table(ref, [("row", row)], "ref")
    assert paired.splitlines()[-1].endswith("| +1.000 [+0.000, +2.000] (2) |")
    # a single class with fewer than two impacts: no APCC-Δ
    single = {"x": [("drop", 1.0, 1.0, 1.0)]}
    value, count = world_table.set_apcc_delta(single)
    assert math.isnan(value) and count == 0
    assert world_table.paired_differences({"apcc": single}, {"apcc": single})["apcc"] is None


def test_ode_row_samples_the_deterministic_sampler_and_the_stamp_names_the_sampler(
    tmp_path, monkeypatch
) -> None:
    # the model row samples with the Generate nodes' settings (audio CFG 2, eta 1); the "ode" row with
    # the flow ODE and no audio guidance; each folder's stamp says which, so --reuse cannot mix them
    model = _micro_world_model(tmp_path / "m.safetensors")
    calls: list[tuple[float, float, float]] = []
    sample = KinesonicModel.sample

    def spy(self, cond, mode="joint", *args, **kwargs):
        calls.append((kwargs["video_cfg"], kwargs["audio_cfg"], kwargs["audio_noise"]))
        return sample(self, cond, mode, *args, **kwargs)

    monkeypatch.setattr(KinesonicModel, "sample", spy)
    work = tmp_path / "work"
    world.evaluate_world(
        [("default model", model)], work, clips=1, train_clips=50, steps=1, rows=["ode"],
        log=lambda line: None,
    )  # fmt: skip
    assert calls == [(3.0, 2.0, 1.0), (3.0, 1.0, 0.0)]
    stamps = {f: json.loads((work / f / "source.json").read_text()) for f in ("default_model", "ODE_sampler")}
    assert stamps["default_model"]["sampler"] == {"video_cfg": 3.0, "audio_cfg": 2.0, "audio_noise": 1.0}
    assert stamps["ODE_sampler"]["sampler"] == {"video_cfg": 3.0, "audio_cfg": 1.0, "audio_noise": 0.0}
    assert world_rows.row_sampler("a2v") == {"video_cfg": 3.0} and world_rows.row_sampler("codec") is None
    # a folder made with other sampler settings is not reused
    monkeypatch.setattr(world_rows, "SAMPLER", {**world_rows.SAMPLER, "audio_cfg": 1.5})
    calls.clear()
    world.evaluate_world(
        [("default model", model)], work, clips=1, train_clips=50, steps=1, reuse=True, log=lambda line: None,
    )  # fmt: skip
    assert calls == [(3.0, 1.5, 1.0)]


def test_each_clip_is_sampled_from_its_own_noise_and_rows_stay_paired(tmp_path, monkeypatch) -> None:
    # one seed for every clip made every clip start from the same noise draw (a loud start in that
    # draw showed in all 100 clips of the table); clip i now uses sample_seed + i in every row
    model = _micro_world_model(tmp_path / "m.safetensors")
    seeds: list[tuple[str, int]] = []
    sample = KinesonicModel.sample

    def spy(self, cond, mode="joint", *args, **kwargs):
        seeds.append((kwargs.get("guidance", "cfg"), kwargs["seed"]))
        return sample(self, cond, mode, *args, **kwargs)

    monkeypatch.setattr(KinesonicModel, "sample", spy)
    work = tmp_path / "work"
    world.evaluate_world(
        [("default model", model)], work, clips=2, train_clips=50, steps=1, sample_seed=7,
        rows=["jointcfg"], log=lambda line: None,
    )  # fmt: skip
    assert seeds == [("cfg", 7), ("cfg", 8), ("joint", 7), ("joint", 8)]
    stamp = json.loads((work / "default_model" / "source.json").read_text())
    assert stamp["seed"] == 7 and stamp["seeds"] == "sample_seed + clip index"
    assert [world.clip_sample_seed(3, i) for i in range(3)] == [3, 4, 5]


def test_reuse_keeps_only_the_clips_asked_for(tmp_path, monkeypatch) -> None:
    model = _micro_world_model(tmp_path / "m.safetensors")
    work = tmp_path / "work"

    def run(clips: int, seed: int = 1000):
        return world.evaluate_world(
            [("default model", model)], work, clips=clips, seed=seed, train_clips=50, steps=1, reuse=True,
            log=lambda line: None,
        )  # fmt: skip

    run(2)
    tracks = (work / "default_model" / "clip0000.tracks.json").read_text()
    mp4 = work / "default_model" / "clip0000.mp4"
    made = mp4.stat().st_mtime_ns
    result = run(1)  # a folder of 2 clips reused for 1: the second clip is not scored (it was a KeyError)
    for folder in ("simulator_ground_truth", "default_model"):
        assert sorted(p.name.split(".")[0] for p in (work / folder).glob("clip*")) == ["clip0000"] * 5
    assert "| default model | " in result.table and "(1) |" in result.table.split("| default model |")[1]
    assert mp4.stat().st_mtime_ns == made  # kept, not made again
    monkeypatch.chdir(tmp_path)  # the same model file named by a relative path: still reused
    model = Path("m.safetensors")
    run(1)
    assert mp4.stat().st_mtime_ns == made
    assert json.loads((work / "default_model" / "source.json").read_text())["model"] == str(
        (tmp_path / "m.safetensors").resolve()
    )
    figures = tmp_path / "figures"  # a kept row still draws its pictures
    world.evaluate_world(
        [("default model", model)], work, clips=1, train_clips=50, steps=1, reuse=True,
        log=lambda line: None, figures=figures,
    )  # fmt: skip
    assert mp4.stat().st_mtime_ns == made and len(list(figures.glob("generated_*.png"))) == 1
    run(1, seed=2000)  # other held-out clips under the same names: made again, not reused
    assert (work / "default_model" / "clip0000.tracks.json").read_text() != tracks
    assert json.loads((work / "default_model" / "source.json").read_text())["held_out_seed"] == 2000


def test_figure_spectrograms_share_one_db_scale(tmp_path) -> None:
    # a sound 40 dB under another must look 40 dB darker, not be stretched to its own range
    from kinesonic.evaluation import figures

    sr = 16000
    t = np.arange(sr) / sr
    loud = 0.5 * np.sin(2 * np.pi * 1000 * t)
    specs = [figures._logmel(loud, sr), figures._logmel(0.01 * loud, sr)]
    scale = figures._shared_scale(specs)
    assert scale["vmax"] == pytest.approx(float(specs[0].max()))
    assert scale["vmax"] - scale["vmin"] == figures.TOP_DB
    assert float(specs[0].max() - specs[1].max()) == pytest.approx(40.0, abs=0.01)


def test_rows_without_the_tracks_for_studies(tmp_path) -> None:
    """``options["tracks"] = "none"`` (benchmarks/bench_a2v_sound_only.py) builds the conditioning
    without the clip's tracks; anything else but "given" is refused."""
    from kinesonic.data import synth_clip
    from kinesonic.models import load_checkpoint

    clip = synth_clip(world.held_out_seeds(1, 1000, 0, 10)[0], 64, 33, 16.0)
    model = load_checkpoint(_micro_world_model(tmp_path / "m.safetensors"))
    seen, build = {}, model.build_conditioning

    def spy(first, caption, tracks, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["tracks"] = tracks
        return build(first, caption, tracks, **kwargs)

    model.build_conditioning = spy
    world_rows.row_media("a2v", model, clip, 1, 0, 0.0, {"tracks": "none"})
    assert seen["tracks"] is None
    world_rows.row_media("a2v", model, clip, 1, 0, 0.0)
    assert seen["tracks"] is clip.tracks
    with pytest.raises(ValueError, match="'given' or 'none'"):
        world_rows.row_media("model", model, clip, 1, 0, 0.0, {"tracks": "drawn"})
