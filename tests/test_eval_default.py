"""benchmarks/eval_default.py: held-out seeds, the fallback tracker, and one small end-to-end table.

The benchmark produced the README's table; these tests keep it runnable (a renamed model method once
broke it unnoticed) and check the parts with a known answer on tiny inputs.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.kinematics import KinematicStats
from kinesonic.models import KinesonicModel, micro_config, save_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "eval_default.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("eval_default", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_seeds_are_distinct_and_refuse_training_seeds(bench) -> None:
    seeds = bench.held_out_seeds(5, 1000, 0, 200)
    assert len(set(seeds)) == 5
    with pytest.raises(SystemExit, match="overlap the training seeds"):
        bench.held_out_seeds(3, 0, 0, 10)  # the same base seed: every held-out seed is a training seed


def test_centroid_tracker_follows_a_moving_square(bench) -> None:
    t_count, size = 12, 48
    frames = np.full((t_count, size, size, 3), 90, np.uint8)
    truth = np.stack([10.0 + 2.0 * np.arange(t_count), np.full(t_count, 20.0)], axis=1)
    for t, (x, y) in enumerate(truth):  # a 5x5 white square centred on (x, y)
        frames[t, int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3] = 255
    points, visible = bench.centroid_tracks(frames, truth[:1])
    assert visible.all()
    np.testing.assert_allclose(points[:, 0], truth, atol=1e-6)


def _save_micro_model(path: Path, ablations: dict[str, bool], seed: int) -> Path:
    """A random micro-width model at the benchmark's clip size (64x64, 33 frames, 16 kHz)."""
    torch.manual_seed(seed)
    stats = KinematicStats(tuple(np.zeros(8)), tuple(np.ones(8)), 1)
    model = KinesonicModel(micro_config(height=64, width=64, num_frames=33, n_fft=512), stats)
    meta = {"kinesonic_training": json.dumps({"ablations": ablations})}
    return save_checkpoint(model, path, meta)


def test_two_clip_table_with_an_ablation_and_reuse(bench, tmp_path) -> None:
    model = _save_micro_model(tmp_path / "m.safetensors", {}, 0)
    ablated = _save_micro_model(
        tmp_path / "a.safetensors", {"no_hybrid_flow": True, "no_kinematics": True}, 1
    )
    work, out, figs = tmp_path / "work", tmp_path / "table.md", tmp_path / "figs"
    argv = ["--model", str(model), "--ablation", f"no hybrid flow={ablated}", "--clips", "2", "--steps", "2"]
    argv += ["--train-clips", "50", "--work", str(work), "--out", str(out), "--figures", str(figs)]
    assert bench.main(argv) == 0

    text = out.read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert {"simulator ground truth", "default model", "no hybrid flow"} <= set(rows)
    assert "Paired per clip" in text
    gt_te = float(rows["simulator ground truth"].split(" | ")[1].split()[0])
    assert gt_te < 2.0  # the measuring error of the tracking pipeline on the simulator's own frames
    assert sorted(p.name for p in figs.glob("*.png"))  # pictures of the default model's scenes
    for folder in ("simulator_ground_truth", "default_model", "no_hybrid_flow"):
        assert len(list((work / folder).glob("clip*.mp4"))) == 2

    # --reuse keeps the files of the same model and settings, and regenerates when a setting changes
    mp4 = work / "default_model" / "clip0000.mp4"
    before = mp4.stat().st_mtime_ns
    assert bench.main([*argv, "--reuse"]) == 0
    assert mp4.stat().st_mtime_ns == before
    assert bench.main([*argv, "--reuse", "--steps", "3"]) == 0
    assert mp4.stat().st_mtime_ns != before
