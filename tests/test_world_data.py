"""Physics world datasets: shard writer/reader, rank sharding, the CLI and the node."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.data.shards import MAX_OBJECTS, ShardDataset, rank_and_world, write_shards
from kinesonic.data.world import clip_seed, synth_clip


def test_shards_round_trip_through_the_dataset(tmp_path: Path) -> None:
    paths = write_shards(tmp_path, n=5, base_seed=9, size=32, num_frames=9, shard_size=2)
    assert [p.name for p in paths] == [f"shard-r000-{j:05d}.jsonl" for j in range(3)]
    assert not list(tmp_path.glob(".*tmp*"))  # temp files were renamed
    ds = ShardDataset(tmp_path)
    assert isinstance(ds, torch.utils.data.Dataset) and len(ds) == 5
    for i in (0, 3, 4):
        item = ds[i]
        clip = synth_clip(clip_seed(9, i), size=32, num_frames=9)
        assert item["meta"]["index"] == i
        assert torch.equal(item["frames"], torch.from_numpy(clip.frames))
        assert torch.equal(item["audio"], torch.from_numpy(clip.audio))
        n = len(clip.labels)
        assert item["object_mask"].tolist() == [k < n for k in range(MAX_OBJECTS)]
        np.testing.assert_allclose(item["tracks"][:, :n].numpy(), clip.tracks.points, atol=1e-4)
        assert item["visible"][:, :n].numpy().tolist() == clip.tracks.visible.tolist()
        np.testing.assert_allclose(item["velocity_mps"][:, :n].numpy(), clip.velocity_mps, atol=1e-5)
        np.testing.assert_allclose(item["masses_kg"][:n].numpy(), clip.masses, rtol=1e-6)
        assert item["caption"] == clip.caption
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=ShardDataset.collate)
    batch = next(iter(loader))
    assert batch["frames"].shape == (2, 9, 32, 32, 3) and batch["audio"].shape == (2, 9000)
    assert len(batch["caption"]) == 2


def test_ranks_split_clips_by_index_modulo_world(tmp_path: Path) -> None:
    for rank in range(3):
        write_shards(tmp_path, n=7, base_seed=1, size=16, num_frames=4, shard_size=2, rank=rank, world_size=3)
    names = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    # rank 0 holds clips 0, 3, 6 (two shards of <= 2); ranks 1 and 2 hold 1, 4 and 2, 5
    assert names == ["shard-r000-00000.jsonl", "shard-r000-00001.jsonl", "shard-r001-00000.jsonl",
                     "shard-r002-00000.jsonl"]  # fmt: skip
    for path in tmp_path.glob("*.jsonl"):
        rank = int(path.name[7:10])
        for line in path.read_text().splitlines():
            assert json.loads(line)["index"] % 3 == rank
    ds = ShardDataset(tmp_path)
    assert [ds[i]["meta"]["index"] for i in range(len(ds))] == list(range(7))
    assert [ds[i]["meta"]["seed"] for i in range(7)] == [clip_seed(1, i) for i in range(7)]


def test_complete_shards_are_skipped_on_resume(tmp_path: Path) -> None:
    write_shards(tmp_path, n=3, size=16, num_frames=4, shard_size=2)
    first = tmp_path / "shard-r000-00000.frames.npy"
    stamp = first.stat().st_mtime_ns
    second_meta = tmp_path / "shard-r000-00001.jsonl"
    second_meta.unlink()  # an interrupted shard: no metadata
    write_shards(tmp_path, n=3, size=16, num_frames=4, shard_size=2)
    assert first.stat().st_mtime_ns == stamp
    assert second_meta.exists() and len(ShardDataset(tmp_path)) == 3


def test_rank_and_world_from_environment() -> None:
    assert rank_and_world({}) == (0, 1)
    assert rank_and_world({"RANK": "2", "WORLD_SIZE": "4"}) == (2, 4)
    with pytest.raises(ValueError):
        rank_and_world({"RANK": "4", "WORLD_SIZE": "4"})


def test_cli_synth_writes_this_ranks_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from kinesonic.runner.cli import main

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    args = ["--n", "5", "--out", str(tmp_path), "--size", "16", "--seed", "4", "--frames", "4"]
    code = main(["data", "synth", *args])
    assert code == 0
    assert "rank 1/2: 2 clips" in capsys.readouterr().out
    ds = ShardDataset(tmp_path)
    assert [ds[i]["meta"]["index"] for i in range(len(ds))] == [1, 3]
    assert ds[1]["meta"]["seed"] == clip_seed(4, 3)
    assert ds[0]["frames"].shape == (4, 16, 16, 3)


def test_node_outputs_one_scene() -> None:
    from kinesonic.nodes.base import NodeInputError
    from kinesonic.nodes.world import KinesonicPhysicsScene

    node = KinesonicPhysicsScene()
    first, frames, audio, tracks, physics, caption, fps = node.run(5, "drop", 48, 17, "glass")
    clip = synth_clip(5, size=48, num_frames=17, scene="drop", material="glass")
    assert first.shape == (1, 48, 48, 3) and frames.shape == (17, 48, 48, 3)
    assert frames.dtype == torch.float32 and 0.0 <= frames.min() and frames.max() <= 1.0
    assert torch.equal(first[0], frames[0])
    assert torch.allclose(frames, torch.from_numpy(clip.frames).float() / 255.0)
    assert audio["sample_rate"] == 16000 and audio["waveform"].shape == (1, 1, round(17 / 16 * 16000))
    np.testing.assert_allclose(np.asarray(tracks["track_path"]), clip.tracks.points, atol=1e-4)
    assert tracks["fps"] == 16.0 and tracks["width"] == 48
    assert physics["masses_kg"].tolist() == clip.masses.tolist()
    assert physics["velocity_mps"].shape == (17, 1, 2) and physics["events"] == clip.events
    assert physics["px_per_m"] == clip.px_per_m
    assert "glass" in caption and caption == clip.caption and fps == 16.0
    with pytest.raises(NodeInputError, match="size"):
        node.run(0, "drop", 8, 17, "glass")
    with pytest.raises(NodeInputError, match="scene"):
        node.run(0, "explode", 64, 17, "glass")


def test_pack_import_does_not_load_the_world() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kinesonic; "
        "assert 'KinesonicPhysicsScene' in kinesonic.NODE_CLASS_MAPPINGS; "
        "heavy = ('pymunk', 'kinesonic.data.world', 'kinesonic.data.world_sim'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
