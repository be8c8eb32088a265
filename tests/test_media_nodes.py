"""Media nodes called directly, and the hello workflow executed headless by a tiny test executor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.media import read_audio, read_video, rms, write_audio, write_video
from kinesonic.nodes import bridge
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.media import (
    NODE_CLASS_MAPPINGS,
    USE_PATH,
    KinesonicLoadAudio,
    KinesonicLoadImage,
    KinesonicLoadVideo,
    KinesonicSaveAudio,
    KinesonicSaveSoundingVideo,
)

WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "hello_sounding_video.json"
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}


def output_files() -> list[Path]:
    root = bridge.output_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def widget_names(cls: type) -> list[str]:
    """Names of an INPUT_TYPES' widget inputs, in the order the frontend stores widgets_values."""
    spec = cls.INPUT_TYPES()
    names = []
    for section in ("required", "optional"):
        for name, (kind, *_) in spec.get(section, {}).items():
            if isinstance(kind, list) or kind in WIDGET_TYPES:
                names.append(name)
    return names


def execute_ui_workflow(workflow: dict) -> dict[int, object]:
    """Execute a UI-format workflow with the media nodes: widgets by position, links by slot."""
    nodes = {node["id"]: node for node in workflow["nodes"]}
    links = {link[0]: link for link in workflow["links"]}
    results: dict[int, object] = {}
    for node in sorted(workflow["nodes"], key=lambda n: n["order"]):
        cls = NODE_CLASS_MAPPINGS[node["type"]]
        names = widget_names(cls)
        assert len(names) == len(node["widgets_values"]), node["type"]
        kwargs = dict(zip(names, node["widgets_values"], strict=True))
        for socket in node.get("inputs", []):
            if socket.get("link") is not None:
                _, source, slot, _, _, _ = links[socket["link"]]
                assert source in nodes
                kwargs[socket["name"]] = results[source][slot]
        out = getattr(cls(), cls.FUNCTION)(**kwargs)
        results[node["id"]] = out["result"] if isinstance(out, dict) else out
        if isinstance(out, dict):
            results[("ui", node["id"])] = out["ui"]
    return results


def test_hello_workflow_renders_a_sounding_video() -> None:
    workflow = json.loads(WORKFLOW.read_text())
    assert {n["type"] for n in workflow["nodes"]} == {
        "KinesonicLoadImage",
        "KinesonicLoadAudio",
        "KinesonicSaveSoundingVideo",
    }
    results = execute_ui_workflow(workflow)
    path = Path(results[3][0])
    assert path == bridge.output_dir() / "kinesonic" / "hello_00001.mp4"
    assert results[("ui", 3)] == {
        "images": [{"filename": "hello_00001.mp4", "subfolder": "kinesonic", "type": "output"}],
        "animated": (True,),
    }
    assert output_files() == [path]
    clip = read_video(path)
    sound, rate = read_audio(Path(__file__).resolve().parent.parent / "assets" / "hello.wav")
    seconds = sound.shape[1] / rate
    assert clip.frames.shape == (int(np.ceil(seconds * 16)), 256, 256, 3)  # duration_from="audio"
    assert clip.fps == pytest.approx(16.0)
    assert clip.has_audio and clip.sample_rate == rate
    assert clip.audio.shape[1] / rate == pytest.approx(seconds, abs=1 / 16)
    assert rms(clip.audio) > 0.02
    # the still image is held: every frame looks like the PNG
    assert np.abs(clip.frames[-1].astype(int) - clip.frames[0].astype(int)).mean() < 1.0
    # a second run numbers the next file
    execute_ui_workflow(workflow)
    assert [p.name for p in output_files()] == ["hello_00001.mp4", "hello_00002.mp4"]


def test_save_node_without_audio_and_odd_size() -> None:
    images = torch.rand(5, 31, 45, 3)
    out = KinesonicSaveSoundingVideo().run(images, 10.0, "clips/mute", "audio", 23)
    clip = read_video(out["result"][0])
    assert clip.frames.shape == (5, 32, 46, 3) and not clip.has_audio  # no sound: frames kept


def test_save_node_duration_from_video_pads_audio() -> None:
    images = torch.full((20, 32, 32, 3), 0.25)  # 2.0 s at 10 fps, grey level 64
    t = torch.arange(22050) / 22050.0
    audio = {"waveform": (0.4 * torch.sin(2 * torch.pi * 500 * t))[None, None], "sample_rate": 22050}
    out = KinesonicSaveSoundingVideo().run(images, 10.0, "kinesonic/clip", "video", 19, audio=audio)
    clip = read_video(out["result"][0])
    assert clip.frames.shape[0] == 20 and clip.audio.shape == (1, 44100)
    assert abs(float(clip.frames.mean()) - 64) < 3
    assert rms(clip.audio[:, :20000]) > 0.2 and rms(clip.audio[:, 24000:]) < 0.01  # sound, then silence


def test_load_video_node_from_input_folder_combo() -> None:
    input_dir = bridge.input_dir()
    frames = np.broadcast_to((16 + 6 * np.arange(12, dtype=np.uint8))[:, None, None, None], (12, 40, 60, 3))
    t = np.arange(66150) / 44100
    write_video(input_dir / "walk.mp4", frames, 8.0, (0.5 * np.sin(2 * np.pi * 220 * t))[None], 44100)
    combo = KinesonicLoadVideo.INPUT_TYPES()["required"]["file"][0]
    assert combo == [USE_PATH, "walk.mp4"]
    images, audio, fps, count, has_audio = KinesonicLoadVideo().run("walk.mp4", "", 0, 30, 0, 4.0)
    assert images.dtype == torch.float32 and tuple(images.shape) == (6, 20, 30, 3)
    assert fps == 4.0 and count == 6 and has_audio
    levels = [round((float(f.mean()) * 255 - 16) / 6) for f in images]
    assert levels == [0, 2, 4, 6, 8, 10]
    assert tuple(audio["waveform"].shape) == (1, 1, 66150) and audio["sample_rate"] == 44100
    assert float(audio["waveform"].pow(2).mean().sqrt()) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)


def test_load_video_node_without_sound_gives_silence() -> None:
    path = write_video(bridge.input_dir() / "sub" / "mute.mp4", np.zeros((4, 16, 16, 3), np.uint8), 8.0)
    images, audio, fps, count, has_audio = KinesonicLoadVideo().run(USE_PATH, str(path))
    assert count == 4 and not has_audio
    assert tuple(audio["waveform"].shape) == (1, 1, 22050) and not audio["waveform"].any()
    changed = KinesonicLoadVideo.IS_CHANGED
    assert changed(USE_PATH, "sub/mute.mp4") == changed(USE_PATH, str(path)) != changed(USE_PATH, "x")


def test_load_image_node_mask_from_alpha() -> None:
    from PIL import Image

    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[0, :, 3] = 255  # top row opaque
    Image.fromarray(rgba, "RGBA").save(bridge.input_dir() / "dot.png")
    image, mask = KinesonicLoadImage().run("dot.png", "")
    assert tuple(image.shape) == (1, 2, 3, 3) and float(image[0, 0, 0, 1]) == 1.0
    assert mask.tolist() == [[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]


def test_load_and_save_audio_nodes() -> None:
    source = np.stack([np.linspace(-0.5, 0.5, 4800, dtype=np.float32)] * 2)
    write_audio(bridge.input_dir() / "ramp.wav", source, 48000)
    (audio,) = KinesonicLoadAudio().run("ramp.wav", "", 16000)
    assert audio["sample_rate"] == 16000 and tuple(audio["waveform"].shape) == (1, 2, 1600)
    out = KinesonicSaveAudio().run(audio, "sounds/ramp", "flac")
    assert out["ui"] == {"audio": [{"filename": "ramp_00001.flac", "subfolder": "sounds", "type": "output"}]}
    decoded, rate = read_audio(out["result"][0])
    assert rate == 16000 and decoded.shape == (2, 1600)
    assert np.abs(decoded - audio["waveform"][0].numpy()).max() < 1e-4


@pytest.mark.parametrize(
    ("call", "input_name", "expected"),
    [
        (lambda: KinesonicLoadVideo().run(USE_PATH, "nowhere.mp4"), "path", "an existing video file"),
        (lambda: KinesonicLoadVideo().run(USE_PATH, ""), "path", "pick one"),
        (lambda: KinesonicLoadVideo().run(USE_PATH, "notes.mp4"), "path", "not a readable media file"),
        (lambda: KinesonicLoadVideo().run("notes.mp4", "", 0, 0, 0, -1.0), "fps", "frame rate"),
        (lambda: KinesonicLoadImage().run(USE_PATH, "notes.mp4"), "path", "not a readable image"),
        (lambda: KinesonicLoadAudio().run("missing.wav", ""), "file", "an existing audio file"),
        (lambda: KinesonicLoadAudio().run(USE_PATH, "notes.mp4"), "path", "not a readable audio file"),
        (lambda: KinesonicSaveSoundingVideo().run(torch.zeros(0, 8, 8, 3)), "images", "at least one frame"),
        (lambda: KinesonicSaveSoundingVideo().run(torch.zeros(8, 8, 3)), "images", r"\[B, H, W, 3\]"),
        (lambda: KinesonicSaveSoundingVideo().run(torch.zeros(2, 8, 8, 3), 0.0), "fps", "> 0"),
        (
            lambda: KinesonicSaveSoundingVideo().run(
                torch.zeros(2, 8, 8, 3), audio={"waveform": torch.zeros(1, 100), "sample_rate": 8000}
            ),
            "audio",
            r"\[B>=1, C>=1, S\]",
        ),
        (
            lambda: KinesonicSaveSoundingVideo().run(
                torch.zeros(2, 8, 8, 3), audio={"waveform": torch.zeros(1, 3, 100), "sample_rate": 8000}
            ),
            "audio",
            "1 \\(mono\\) or 2",
        ),
        (
            lambda: KinesonicSaveSoundingVideo().run(torch.zeros(2, 8, 8, 3), 8.0, "../up"),
            "filename_prefix",
            "outside",
        ),
        (
            lambda: KinesonicSaveAudio().run({"waveform": torch.zeros(1, 10), "sample_rate": 8000}),
            "audio",
            "B>=1",
        ),
    ],
)
def test_bad_node_input_is_named_and_leaves_no_file(call, input_name: str, expected: str) -> None:
    (bridge.input_dir() / "notes.mp4").write_text("just text, not a video\n" * 10)
    with pytest.raises(NodeInputError, match=expected) as info:
        call()
    assert info.value.input_name == input_name
    assert str(info.value).startswith(f"[{info.value.node}] input '{input_name}'")
    assert output_files() == []


def test_importing_the_node_module_stays_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kinesonic.nodes.media as m; m.KinesonicLoadVideo.INPUT_TYPES(); "
        "print(sorted(n for n in ('av', 'soundfile', 'soxr', 'PIL') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
