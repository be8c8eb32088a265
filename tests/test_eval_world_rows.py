"""The world table's new columns (ETE at tau 0.5, onsets per impact clip, level error) and opt-in rows
(codec, JointCFG, video-to-audio, audio-to-video), and the cond_time range the Sampler node accepts.

Known answers: half the amplitude is -6.02 dB; the v2a row's video is the simulator's frames and the
a2v row's sound the simulator's sound (as written to the row's mp4); the a2v row's ETE is the one of
the tracks measured on its generated video.
"""

from __future__ import annotations

import json
import math
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
        "| nan (0) |"
    )
    paired = world_table.paired_table(ref, [("row", row)], "ref")
    assert "onsets" not in paired and "level signed" not in paired  # counts and signed level: no pairs
    # TE differences +1, +2; ETE +0.05; ETE τ0.5 +0.3; level |error| +1 and 0 (median of the two: +0.5)
    assert paired.splitlines()[-1] == (
        "| row | +1.50 [+1.00, +2.00] (2) | +0.050 [+0.050, +0.050] (1) | +0.300 [+0.300, +0.300] (1) "
        "| n/a | n/a | n/a | +0.50 [+0.00, +1.00] (2) |"
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


def test_world_run_with_every_extra_row(tmp_path) -> None:
    from kinesonic.media.audio import read_audio
    from kinesonic.media.video import read_video
    from kinesonic.metrics.cli import evaluate_folder

    model = _micro_world_model(tmp_path / "m.safetensors")
    work = tmp_path / "work"
    result = world.evaluate_world(
        [("default model", model)], work, clips=2, train_clips=50, steps=2,
        rows=["a2v", "v2a", "codec", "jointcfg"], cond_time=0.05, log=lambda line: None,
    )  # fmt: skip
    labels = [
        line.split(" | ")[0].lstrip("| ") for line in result.table.splitlines() if line.startswith("| ")
    ]
    order = ["simulator ground truth", "default model", "simulator sound through the codec", "JointCFG"]
    assert labels[:7] == ["row", *order, "video-to-audio", "audio-to-video"]
    assert "row − default model" in result.table and "ETE τ0.5" in result.table
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
    assert world_rows.parse_rows("all") == ["codec", "jointcfg", "v2a", "a2v"]
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
