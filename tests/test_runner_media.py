"""Headless run of a real 3-node media workflow (UI format) and bad media input.

Image + tone -> Save Sounding Video; the mp4 is decoded back with PyAV and checked against what went
in (frame count, duration, colour, audio level). Bad media (missing file, a text file named .mp4, an
mp4 without any video frame) stops the run with the node named and leaves no file behind.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kinesonic.nodes import bridge
from kinesonic.runner import NodeExecutionError, commands, execute, load_workflow

WORKFLOW = Path(__file__).resolve().parent / "data" / "ui_workflows" / "media_three_nodes.json"
RED = (200, 40, 30)
RATE = 44100
AMPLITUDE = 0.5


def main(argv: list[str]) -> int:
    """``kinesonic`` with only the runner's subcommands (isolated from other areas' commands)."""
    parser = argparse.ArgumentParser(prog="kinesonic")
    commands.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def media_inputs() -> Path:
    """A 32x24 solid red picture and a 1 s 440 Hz tone in the (test's own) input folder."""
    import soundfile
    from PIL import Image

    folder = bridge.input_dir()
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), RED).save(folder / "picture.png")
    t = np.arange(RATE) / RATE
    soundfile.write(folder / "tone.wav", (AMPLITUDE * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE)
    return folder


def decode(path: Path) -> tuple[list[np.ndarray], float, np.ndarray, int]:
    """(RGB frames, video duration in s, mono audio samples, sample rate) of an mp4."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
        rate_fps = video.average_rate or video.guessed_rate
        video_seconds = len(frames) / float(rate_fps)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        chunks = [f.to_ndarray().astype(np.float32) for f in container.decode(stream)]  # fltp: [C, S]
    audio = np.concatenate(chunks, axis=1)
    return frames, video_seconds, audio.mean(axis=0) if audio.shape[0] > 1 else audio[0], rate


def test_three_node_workflow_makes_a_sounding_mp4(media_inputs, tmp_path):
    out = tmp_path / "out"
    result = execute(load_workflow(WORKFLOW), output_dir=out, progress=False)
    assert result.order == ["1", "2", "3"]
    target = out / "runner" / "clip_00001.mp4"
    assert result.files == [target]
    assert result.value("3") == str(target)
    entry = {"filename": "clip_00001.mp4", "subfolder": "runner", "type": "output"}
    assert result.ui("3")["images"] == [entry]

    frames, video_seconds, audio, rate = decode(target)
    assert len(frames) == 8  # 1 s of audio at 8 fps (duration_from = audio)
    assert video_seconds == pytest.approx(1.0)
    assert frames[0].shape == (24, 32, 3)
    assert np.abs(frames[4].reshape(-1, 3).mean(axis=0) - RED).max() < 12
    assert rate == RATE
    assert len(audio) / rate == pytest.approx(1.0, abs=0.05)
    rms = float(np.sqrt(np.mean(audio[rate // 10 : -rate // 10] ** 2)))
    assert rms == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.15)


def test_cli_run_prints_the_file(media_inputs, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["run", str(WORKFLOW), "--output", str(out), "--set", "Clip.fps=4", "--quiet"])
    assert code == 0
    target = out / "runner" / "clip_00001.mp4"
    assert str(target) in capsys.readouterr().out
    frames, _, _, _ = decode(target)
    assert len(frames) == 4  # --set Clip.fps=4 over 1 s of audio


def _assert_no_files(folder: Path) -> None:
    assert not folder.exists() or [p for p in folder.rglob("*") if p.is_file()] == []


def test_missing_media_file_leaves_no_output(media_inputs, tmp_path):
    out = tmp_path / "out"
    prompt = load_workflow(WORKFLOW)
    prompt["2"]["inputs"]["path"] = "nope.wav"
    with pytest.raises(NodeExecutionError) as caught:
        execute(prompt, output_dir=out, progress=False)
    message = str(caught.value)
    assert message.startswith("node #2 'Tone' (KinesonicLoadAudio): ")
    assert "nope.wav" in message
    _assert_no_files(out)


def _video_to_save(path: str) -> dict:
    return {
        "1": {
            "class_type": "KinesonicLoadVideo",
            "inputs": {
                "file": "(use path)",
                "path": path,
                "max_frames": 0,
                "width": 0,
                "height": 0,
                "fps": 0.0,
            },
            "_meta": {"title": "Video"},
        },
        "2": {
            "class_type": "KinesonicSaveSoundingVideo",
            "inputs": {
                "images": ["1", 0],
                "audio": ["1", 1],
                "fps": ["1", 2],
                "filename_prefix": "bad/clip",
                "duration_from": "video",
                "crf": 19,
            },
        },
    }


def test_text_file_posing_as_video(tmp_path, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    out = tmp_path / "out"
    api = tmp_path / "api.json"
    api.write_text(json.dumps(_video_to_save(str(fake))))
    assert main(["run", str(api), "--output", str(out), "--quiet", "--allow-any-path"]) == 1
    err = capsys.readouterr().err
    assert "node #1 'Video' (KinesonicLoadVideo)" in err and "Traceback" not in err
    assert "not a readable media file" in err
    _assert_no_files(out)


def test_video_without_frames(tmp_path):
    import av

    audio_only = bridge.input_dir() / "sound_only.mp4"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=RATE)
        samples = (0.1 * np.sin(np.arange(RATE // 2) * 0.05)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = 0
        frame.time_base = Fraction(1, RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    out = tmp_path / "out"
    expected = r"^node #1 'Video' \(KinesonicLoadVideo\): .*no video stream"
    with pytest.raises(NodeExecutionError, match=expected):
        execute(_video_to_save(str(audio_only)), output_dir=out, progress=False)
    _assert_no_files(out)
