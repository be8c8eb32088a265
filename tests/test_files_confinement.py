"""Where nodes may read and write, numbered names under concurrency, and data that must not get lost.

Each case here failed before the confinement helper (media/paths.py), the reserving numbered
names and the one atomic writer (media/files.py) existed: a node wrote or read outside its
folders, two savers shared a number, a re-run kept shards of other settings, two videos shared
one annotation, one bad clip aborted an evaluation.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.media import (
    MediaError,
    PathOutsideError,
    atomic_output,
    atomic_write_text,
    inside,
    reserve_free_path,
    reserve_numbered_path,
)
from kinesonic.nodes import bridge
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.media import USE_PATH, KinesonicLoadAudio, KinesonicLoadImage, KinesonicLoadVideo
from kinesonic.nodes.tracks import KinesonicSaveTracks
from kinesonic.nodes.train import KinesonicTrainer, KinesonicTrainingData, KinesonicTrainVocoder

TRACKS = {
    "track_path": torch.zeros(3, 1, 2),
    "track_visibility": torch.ones(3, 1, dtype=torch.bool),
    "width": 8,
    "height": 8,
    "fps": 8.0,
}


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- the helpers


def test_inside_is_lexical_and_refuses_every_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert inside(root, "a/b/../c.txt") == root / "a" / "c.txt"
    assert inside(root, root / "x.txt") == root / "x.txt"  # absolute but inside
    for bad in ("../x", "a/../../x", "/etc/passwd", str(tmp_path / "elsewhere"), "~/x"):
        with pytest.raises(PathOutsideError):
            inside(root, bad)
    assert not root.exists()  # never touches the disk


def test_atomic_writer_gives_normal_modes_and_keeps_a_replaced_files_mode(tmp_path: Path) -> None:
    new = atomic_write_text(tmp_path / "new.txt", "hello")
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~_umask()  # not mkstemp's 0600
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    with atomic_output(kept) as tmp:
        tmp.write_text("new")
    assert kept.read_text() == "new" and stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "new.txt"]  # no temp left


def test_checkpoint_writer_leaves_normal_modes(tmp_path: Path) -> None:
    from kinesonic.models.checkpoint import _write_atomic

    path = tmp_path / "gen.safetensors"
    _write_atomic({"w": torch.zeros(2)}, {"k": "v"}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()


_RESERVE = """
import sys
from kinesonic.media import atomic_write_text, reserve_numbered_path
mine = []
for _ in range(int(sys.argv[2])):
    path, name, _ = reserve_numbered_path(sys.argv[1], "kinesonic/clip", "txt")
    atomic_write_text(path, sys.argv[3], reserved=True)
    mine.append(name)
print(" ".join(mine))
"""


def test_two_processes_reserving_names_in_one_folder_keep_every_file(tmp_path: Path) -> None:
    n = 150
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RESERVE, str(tmp_path), str(n), tag],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("A", "B")
    ]
    names = [set(p.communicate(timeout=120)[0].split()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(names[0]) == len(names[1]) == n and not names[0] & names[1]
    files = sorted((tmp_path / "kinesonic").iterdir())
    assert len(files) == 2 * n
    for tag, own in zip(("A", "B"), names, strict=True):
        assert {f.read_text() for f in files if f.name in own} == {tag}


class SlowSave:
    """Reserves a numbered name, waits (so two runs interleave), then writes it."""

    CATEGORY = "Test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"tag": ("STRING", {"default": "x"}), "k": ("INT", {"default": 0})}}

    def run(self, tag, k):
        path, _, _ = reserve_numbered_path(bridge.output_dir(), "kinesonic/run", "txt")
        time.sleep(0.02)
        atomic_write_text(path, tag, reserved=True)
        return {"ui": {}, "result": ()}


def test_two_concurrent_runs_into_one_folder_list_only_their_own_files() -> None:
    from kinesonic.runner import execute

    prompt = {str(k): {"class_type": "SlowSave", "inputs": {"tag": "?", "k": k}} for k in range(6)}
    results: dict[str, object] = {}

    def run(tag: str) -> None:
        mine = {key: {**node, "inputs": {**node["inputs"], "tag": tag}} for key, node in prompt.items()}
        results[tag] = execute(mine, {"SlowSave": SlowSave}, progress=False)

    threads = [threading.Thread(target=run, args=(tag,)) for tag in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    folder = bridge.output_dir() / "kinesonic"
    assert len(list(folder.iterdir())) == 12  # nobody lost a file
    for tag in ("A", "B"):
        files = results[tag].files
        assert len(files) == 6 and {f.read_text() for f in files} == {tag}


# --------------------------------------------------------------------------- writers


@pytest.mark.parametrize("prefix", [".", "./", "sub/..", "../x", "a/../../x"])
def test_save_tracks_never_writes_outside_the_output_folder(prefix: str) -> None:
    out = bridge.output_dir()
    before = _files_under(out.parent)
    with pytest.raises(NodeInputError, match="input 'filename_prefix'"):
        KinesonicSaveTracks().run(TRACKS, prefix)
    assert _files_under(out.parent) == before


def test_save_tracks_reports_its_file_and_numbers_on() -> None:
    first = Path(KinesonicSaveTracks().run(TRACKS, "kinesonic/t")["result"][0])
    second = Path(KinesonicSaveTracks().run(TRACKS, "kinesonic/t")["result"][0])
    assert (first.name, second.name) == ("t_00001.json", "t_00002.json")
    assert first.parent == bridge.output_dir() / "kinesonic"


@pytest.mark.parametrize("name", ["../../../elsewhere/x", "/tmp/kinesonic_elsewhere/x", "sub/../../x"])
def test_trainer_export_name_stays_in_the_model_folder(name: str) -> None:
    data = {"spec": "synth:1", "seed": 0}
    with pytest.raises(NodeInputError, match="input 'export_name'"):
        KinesonicTrainer().run(data, "micro", "run", export_name=name, ae_steps=0, dit_steps=0)
    assert not (bridge.output_dir() / "kinesonic_train" / "run").exists()  # refused before training


@pytest.mark.parametrize("source", ["physics_world_shards", "annotated_clips_folder"])
def test_training_data_folder_stays_in_the_output_folder(tmp_path: Path, source: str) -> None:
    outside = tmp_path / "elsewhere"
    for folder in (str(outside), "../elsewhere", "a/../../elsewhere"):
        with pytest.raises(NodeInputError, match="input 'folder'"):
            KinesonicTrainingData().run(source, folder, 1, 0, 16, 5)
    assert not outside.exists() and not (bridge.output_dir().parent / "elsewhere").exists()


def test_annotated_clips_may_come_from_the_input_folder() -> None:
    clips = bridge.input_dir() / "clips"
    clips.mkdir()
    (data,) = KinesonicTrainingData().run("annotated_clips_folder", str(clips), 1, 0, 16, 5)
    assert data["spec"] == str(clips)


def test_train_vocoder_writes_only_inside_output_or_model_folders(tmp_path: Path) -> None:
    victim = tmp_path / "other" / "gen.safetensors"
    victim.parent.mkdir()
    victim.write_bytes(b"not touched")
    shipped = bridge.PACK_DIR / "checkpoints" / "kinesonic" / "kinesonic_tiny.safetensors"
    data = {"spec": "synth:1", "seed": 0}
    for path in (victim, shipped, "../other/gen.safetensors"):
        with pytest.raises(NodeInputError, match="input 'checkpoint_path'"):
            KinesonicTrainVocoder().run(data, str(path), "voc", steps=0)
    assert victim.read_bytes() == b"not touched"


def test_train_vocoder_reports_the_write() -> None:
    import inspect

    source = inspect.getsource(KinesonicTrainVocoder.run)
    assert "vocoder written into" in source and "wrote the vocoder into" in source


def test_headless_opt_in_lifts_write_confinement(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(bridge.ALLOW_ANY_PATH_ENV, "1")
    target = tmp_path / "shards"
    (data,) = KinesonicTrainingData().run("annotated_clips_folder", str(tmp_path), 1, 0, 16, 5)
    assert data["spec"] == str(tmp_path) and not target.exists()


# --------------------------------------------------------------------------- loaders


def _png(path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), 200, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("loader", [KinesonicLoadImage, KinesonicLoadVideo, KinesonicLoadAudio])
def test_loaders_refuse_paths_outside_without_telling_whether_they_exist(tmp_path: Path, loader) -> None:
    real = _png(tmp_path / "secret" / "real.png")
    messages = []
    for path in (real, tmp_path / "secret" / "missing.png"):
        with pytest.raises(NodeInputError, match="input 'path'") as caught:
            loader().run(USE_PATH, str(path))
        messages.append(str(caught.value).replace(path.name, "NAME"))
    assert messages[0] == messages[1]  # same words for an existing and a missing file
    assert "outside" in messages[0] or "inside the folders" in messages[0]
    rel = os.path.relpath(real, bridge.input_dir())
    with pytest.raises(NodeInputError, match="inside the folders"):
        loader().run(USE_PATH, rel)  # ../../secret/real.png


def test_loaders_read_the_input_folder_and_the_opt_in_reads_anywhere(tmp_path: Path, monkeypatch) -> None:
    _png(bridge.input_dir() / "sub" / "dot.png")
    image, _ = KinesonicLoadImage().run("sub/dot.png", "")
    assert image.shape == (1, 4, 4, 3)
    outside = _png(tmp_path / "free" / "dot.png")
    monkeypatch.setenv(bridge.ALLOW_ANY_PATH_ENV, "1")
    image, _ = KinesonicLoadImage().run(USE_PATH, str(outside))
    assert image.shape == (1, 4, 4, 3)


def test_inside_comfyui_reads_only_the_input_folder_and_the_packs_assets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bridge, "in_comfyui", lambda: True)
    bridge.set_input_dir(tmp_path / "comfy_input")
    monkeypatch.setenv(bridge.ALLOW_ANY_PATH_ENV, "1")  # ignored inside ComfyUI
    try:
        _png(tmp_path / "comfy_input" / "up.png")
        assert KinesonicLoadImage().run("up.png", "")[0].shape == (1, 4, 4, 3)
        assert KinesonicLoadImage().run(USE_PATH, "assets/hello.png")[0].shape[0] == 1  # shipped demo
        for bad in ("pyproject.toml", "checkpoints/kinesonic/kinesonic_tiny.safetensors"):
            with pytest.raises(NodeInputError, match="an existing image file"):  # looked up in input/
                KinesonicLoadImage().run(USE_PATH, bad)
        for bad in (str(bridge.PACK_DIR / "pyproject.toml"), "../up.png", str(tmp_path)):
            with pytest.raises(NodeInputError, match="inside the folders"):
                KinesonicLoadImage().run(USE_PATH, bad)
    finally:
        bridge.set_input_dir(None)


def test_load_nodes_declare_comfyuis_upload_flags() -> None:
    flags = {
        KinesonicLoadImage: "image_upload",
        KinesonicLoadVideo: "video_upload",
        KinesonicLoadAudio: "audio_upload",
    }
    for node, flag in flags.items():
        options = node.INPUT_TYPES()["required"]["file"][1]
        assert options[flag] is True


# --------------------------------------------------------------------------- lost data


def test_synth_rerun_with_other_settings_is_refused_and_stale_temps_go(tmp_path: Path) -> None:
    from kinesonic.data.shards import write_shards

    write_shards(tmp_path, 1, base_seed=0, size=16, num_frames=5)
    stale = tmp_path / ".shard-r000-00000.frames.npy.1a2b3c4d.part"
    stale.write_bytes(b"x" * 1000)
    for changed in ({"size": 24}, {"base_seed": 1}, {"num_frames": 6}):
        kwargs = {"base_seed": 0, "size": 16, "num_frames": 5, **changed}
        with pytest.raises(ValueError, match="other settings"):
            write_shards(tmp_path, 1, **kwargs)
    write_shards(tmp_path, 1, base_seed=0, size=16, num_frames=5)  # same settings: resumes
    assert not stale.exists()
    (tmp_path / "dataset.json").unlink()  # a folder from before dataset.json: read from the shards
    with pytest.raises(ValueError, match="size"):
        write_shards(tmp_path, 1, base_seed=0, size=24, num_frames=5)


def test_annotate_gives_x_mp4_and_x_mov_their_own_json(tmp_path: Path) -> None:
    from kinesonic.perception.annotate import output_paths

    videos = [tmp_path / "v" / n for n in ("x.mov", "x.mp4", "y.mp4", "d/x.mp4")]
    targets = output_paths(videos, tmp_path / "v", tmp_path / "out")
    names = [targets[v].relative_to(tmp_path / "out").as_posix() for v in videos]
    assert names == ["x.mov.json", "x.mp4.json", "y.json", "d/x.json"]


def test_eval_folder_skips_an_unreadable_clip_and_goes_on(tmp_path: Path) -> None:
    from kinesonic.media.video import write_video
    from kinesonic.metrics.cli import evaluate_folder
    from kinesonic.metrics.synthetic import SR, bouncing_ball

    clip = bouncing_ball(seed=0)
    write_video(tmp_path / "good.mp4", clip["frames"], 24.0, clip["audio"][None], SR)
    (tmp_path / "good.tracks.json").write_text(clip["tracks"].to_json())
    (tmp_path / "bad.mp4").write_text("not a video")
    (tmp_path / "bad.tracks.json").write_text(clip["tracks"].to_json())
    names, reports, skipped = evaluate_folder(tmp_path)
    assert names == ["good"] and len(reports) == 1
    assert len(skipped) == 1 and skipped[0].startswith("bad: ")


def test_download_never_overwrites_a_local_file(tmp_path: Path) -> None:
    first = reserve_free_path(tmp_path / "clip.mp4")
    first.write_bytes(b"mine")
    second = reserve_free_path(tmp_path / "clip.mp4")
    assert (first.name, second.name) == ("clip.mp4", "clip-1.mp4") and first.read_bytes() == b"mine"


def test_numbered_names_refuse_the_output_folder_itself(tmp_path: Path) -> None:
    for bad in (".", "./", "sub/..", "", "../x"):
        with pytest.raises(MediaError):
            reserve_numbered_path(tmp_path / "out", bad, "mp4")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not any(p.suffix == ".mp4" for p in tmp_path.rglob("*"))


def test_an_annotation_cannot_point_at_a_video_outside_its_folder(tmp_path: Path) -> None:
    from kinesonic.training.data import AnnotatedFolderSource

    folder = tmp_path / "annotations"
    folder.mkdir()
    record = {"format": "kinesonic.annotation", "complete": True, "video": "../secret.mp4"}
    (folder / "x.json").write_text(json.dumps(record))
    source = AnnotatedFolderSource(folder, (16, 16), 5, 8.0, 16000)
    with pytest.raises(PathOutsideError, match="outside"):
        source[0]
