"""``kinesonic eval --world``: held-out seeds, the fallback tracker, tables, one small end-to-end run.

The command produced the README's table; these tests keep it runnable (a renamed model method once
broke its predecessor script unnoticed) and check the parts with a known answer on tiny inputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.evaluation import world
from kinesonic.kinematics import KinematicStats
from kinesonic.models import KinesonicModel, micro_config, save_checkpoint
from kinesonic.runner.cli import main


def test_held_out_seeds_are_distinct_and_refuse_training_seeds() -> None:
    seeds = world.held_out_seeds(5, 1000, 0, 200)
    assert len(set(seeds)) == 5
    with pytest.raises(ValueError, match="overlap the training seeds"):
        world.held_out_seeds(3, 0, 0, 10)  # the same base seed: every held-out seed is a training seed


def test_tables_hand_computed() -> None:
    ref = {"te": {"a": 1.0, "b": 3.0}, "ete": {"a": 0.1}, "maic": {}, "onset": {"a": math.nan}}
    ref["onset_ap"] = {}
    row = {"te": {"a": 2.0, "b": 5.0}, "ete": {"a": 0.15}, "maic": {}, "onset": {"a": 0.5}, "onset_ap": {}}
    cells = world.summarize(ref)
    assert cells["te"] == (2.0, 2) and cells["ete"] == (0.1, 1) and math.isnan(cells["maic"][0])
    assert cells["onset"][1] == 0  # NaN values are not counted
    table = world.format_table([("ref", cells)])
    assert "| ref | 2.00 (2) | 0.100 (1) | nan (0) | nan (0) | nan (0) |" in table
    paired = world.paired_table(ref, [("row", row)], "ref")
    # differences +1 and +2 px: mean +1.5, every bootstrap mean lies in [1, 2]
    assert "| row − ref | TE (px)" in paired
    line = paired.splitlines()[-1]
    # columns TE, ETE τ0.2, ETE τ0.5, MAIC, onset acc, onset AP, level, APCC-Δ (the new ones are
    # empty here)
    assert line == (
        "| row | +1.50 [+1.00, +2.00] (2) | +0.050 [+0.050, +0.050] (1) | n/a | n/a | n/a | n/a | n/a | n/a |"
    )


def test_level_by_kind_table_hand_computed() -> None:
    kinds = {"a": "drop", "b": "drop", "c": "slide", "d": "drop"}
    rows = [("row", {"a": -1.0, "b": 3.0, "c": -30.0, "d": math.nan}), ("other", {"a": 2.0})]
    table = world.level_by_kind_table(rows, kinds).splitlines()
    assert table[0] == "| row | drop | slide |"
    # drop: the median of -1 and +3 (the NaN clip is not counted); slide: its one clip
    assert table[2] == "| row | +1.0 (2) | -30.0 (1) |"
    assert table[3] == "| other | +2.0 (1) | n/a (0) |"


def test_centroid_tracker_follows_a_moving_square() -> None:
    t_count, size = 12, 48
    frames = np.full((t_count, size, size, 3), 90, np.uint8)
    truth = np.stack([10.0 + 2.0 * np.arange(t_count), np.full(t_count, 20.0)], axis=1)
    for t, (x, y) in enumerate(truth):  # a 5x5 white square centred on (x, y)
        frames[t, int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3] = 255
    points, visible = world.centroid_tracks(frames, truth[:1])
    assert visible.all()
    np.testing.assert_allclose(points[:, 0], truth, atol=1e-6)


def _save_micro_model(path: Path, ablations: dict[str, bool], seed: int) -> Path:
    """A random micro-width model at the benchmark's clip size (64x64, 33 frames, 16 kHz)."""
    torch.manual_seed(seed)
    stats = KinematicStats(tuple(np.zeros(8)), tuple(np.ones(8)), 1)
    model = KinesonicModel(micro_config(height=64, width=64, num_frames=33, n_fft=512), stats)
    meta = {"kinesonic_training": json.dumps({"ablations": ablations})}
    return save_checkpoint(model, path, meta)


def test_two_clip_table_with_an_ablation_and_reuse(tmp_path) -> None:
    model = _save_micro_model(tmp_path / "m.safetensors", {}, 0)
    ablated = _save_micro_model(
        tmp_path / "a.safetensors", {"no_hybrid_flow": True, "no_kinematics": True}, 1
    )
    work, out, figs = tmp_path / "work", tmp_path / "table.md", tmp_path / "figs"
    argv = ["eval", "--world", "--model", str(model), "--ablation", f"no hybrid flow={ablated}"]
    argv += ["--clips", "2", "--steps", "2"]
    argv += ["--train-clips", "50", "--work", str(work), "--out", str(out), "--figures", str(figs)]
    assert main(argv) == 0

    text = out.read_text(encoding="utf-8")
    rows: dict[str, str] = {}  # the main table's line of each row (the first with its label)
    for line in text.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split(" | ")[0].lstrip("| "), line)
    assert {"simulator ground truth", "default model", "no hybrid flow"} <= set(rows)
    assert "Paired per clip" in text
    by_kind = text[text.index("Signed level by scene type") :].splitlines()
    sim_line = next(line for line in by_kind if line.startswith("| simulator ground truth |"))
    # the simulator's own sound through mp4: within half a dB of itself in every scene type it has
    cells = [c for c in sim_line.strip("| ").split(" | ")[1:] if not c.startswith("n/a")]
    assert cells and all(abs(float(c.split()[0])) <= 0.5 for c in cells)
    gt_te = float(rows["simulator ground truth"].split(" | ")[1].split()[0])
    assert gt_te < 2.0  # the measuring error of the tracking pipeline on the simulator's own frames
    assert sorted(p.name for p in figs.glob("*.png"))  # pictures of the default model's scenes
    for folder in ("simulator_ground_truth", "default_model", "no_hybrid_flow"):
        assert len(list((work / folder).glob("clip*.mp4"))) == 2

    # --reuse keeps the files of the same model and settings, and regenerates when a setting changes
    mp4 = work / "default_model" / "clip0000.mp4"
    before = mp4.stat().st_mtime_ns
    assert main([*argv, "--reuse"]) == 0
    assert mp4.stat().st_mtime_ns == before
    assert main([*argv, "--reuse", "--steps", "3"]) == 0
    assert mp4.stat().st_mtime_ns != before


def test_world_mode_refuses_bad_arguments_clearly(tmp_path, capsys) -> None:
    model = _save_micro_model(tmp_path / "m.safetensors", {}, 0)
    torch.manual_seed(0)
    small = save_checkpoint(KinesonicModel(micro_config()), tmp_path / "small.safetensors")  # 32x32
    cases = [
        (["eval"], "give a FOLDER of clips, or --world"),
        (["eval", "--world"], "--world needs --model PATH"),
        (["eval", str(tmp_path), "--world", "--model", str(model)], "drop the folder argument"),
        (["eval", "--world", "--model", str(model), "--ablation", "nolabel"], "expects LABEL=PATH"),
        (["eval", "--world", "--model", str(tmp_path / "none.safetensors")], "no checkpoint file at"),
        (["eval", "--world", "--model", str(model), "--ablation", f"small={small}"], "is a 32x32, 17-frame"),
    ]
    for argv, message in cases:
        assert main([*argv, "--work", str(tmp_path / "w"), "--train-clips", "5"]) == 2, argv
        assert message in capsys.readouterr().err, argv
