"""`kinesonic annotate`: one JSON per clip, resumable, bad clips listed, sharding by rank."""

from __future__ import annotations

import json

import numpy as np
import pytest
from perception_synth import background, moving_objects_clip

from kinesonic.perception.annotate import FORMAT_NAME, annotate_videos, find_videos, is_complete
from kinesonic.runner.cli import main


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    from kinesonic.media.video import write_video

    root = tmp_path_factory.mktemp("videos")
    clip = moving_objects_clip(seed=3, width=128, height=96, frames=16, n_moving=2)
    write_video(root / "good.mp4", clip.frames, 16.0, crf=12)
    other = moving_objects_clip(seed=4, width=128, height=96, frames=16, n_moving=3)
    (root / "sub").mkdir()
    write_video(root / "sub" / "good2.mp4", other.frames, 16.0, crf=12)
    still = np.repeat(background(96, 128)[None].astype(np.uint8), 12, axis=0)
    write_video(root / "still.mp4", still, 16.0, crf=12)
    write_video(root / "single.mp4", clip.frames[:1], 16.0, crf=12)
    (root / "broken.mp4").write_bytes(b"this is not a video" * 50)
    return root, clip


def test_annotate_writes_complete_json_and_lists_bad_clips(video_dir, tmp_path, capsys):
    root, clip = video_dir
    out = tmp_path / "ann"
    code = main(["annotate", str(root), "--out", str(out), "--rank", "0", "--world-size", "1"])
    assert code == 1  # some clips failed, but the run went on
    text = capsys.readouterr().out
    assert "2 annotated" in text and "3 failed" in text
    report = json.loads((out / "annotate_report.rank0.json").read_text())
    assert sorted(report["annotated"]) == ["good.mp4", "sub/good2.mp4"]
    failed = report["failed"]
    assert set(failed) == {"broken.mp4", "single.mp4", "still.mp4"}
    assert "not a readable" in failed["broken.mp4"]
    assert "1 frame" in failed["single.mp4"]
    assert "no motion" in failed["still.mp4"]

    data = json.loads((out / "good.json").read_text())
    assert data["format"] == FORMAT_NAME and data["complete"] is True
    assert (data["width"], data["height"], data["num_frames"], data["fps"]) == (128, 96, 16, 16.0)
    tracks = data["tracks"]["tracks"]
    assert len(tracks) == 2 == data["scene"]["tracks_kept"]
    state = np.asarray(data["kinematic_state"])
    assert state.shape == (16, 2, 8)
    assert isinstance(data["events"], list)
    # the annotated tracks follow the true object centres (H.264 round trip included)
    for n in range(2):
        first = np.asarray(tracks[n]["points"][0])
        k = int(np.linalg.norm(clip.centres[0] - first, axis=1).argmin())
        pts = np.asarray([p for p in tracks[n]["points"] if p is not None])
        gt = clip.centres[[i for i, p in enumerate(tracks[n]["points"]) if p is not None], k]
        assert np.median(np.linalg.norm(pts - gt, axis=1)) < 1.0
    assert (out / "sub" / "good2.json").is_file()


def test_annotate_resumes_and_redoes_incomplete_json(video_dir, tmp_path):
    root, _ = video_dir
    out = tmp_path / "ann"
    first = annotate_videos(root, out, rank=0, world_size=1, log=lambda line: None)
    assert len(first.annotated) == 2
    stamp = (out / "good.json").stat().st_mtime_ns
    (out / "sub" / "good2.json").write_text('{"format": "kinesonic.annotation", "complete": fal')  # cut off
    assert not is_complete(out / "sub" / "good2.json")
    second = annotate_videos(root, out, rank=0, world_size=1, log=lambda line: None)
    assert second.skipped == ["good.mp4"] and second.annotated == ["sub/good2.mp4"]
    assert (out / "good.json").stat().st_mtime_ns == stamp
    assert is_complete(out / "sub" / "good2.json")
    assert not list(out.rglob("*.part"))  # atomic writes leave no temporary files


def test_ranks_split_the_clips(video_dir, tmp_path, monkeypatch):
    root, _ = video_dir
    names = [p.relative_to(root).as_posix() for p in find_videos(root)]
    seen = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        report = annotate_videos(root, tmp_path / "ann", log=lambda line: None)
        assert (report.rank, report.world_size) == (rank, 2)
        mine = report.annotated + report.skipped + list(report.failed)
        assert sorted(mine) == sorted(names[rank::2])
        seen += mine
    assert sorted(seen) == sorted(names)
