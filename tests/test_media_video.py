"""mp4 write -> read round trips and bad input, on clips with known content."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kinesonic.media import MediaError, read_audio, read_video, rms, write_video

SR = 44100


def counter_clip(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """uint8 frames whose grey level encodes the frame index: 16 + 6 i."""
    levels = (16 + 6 * np.arange(count)).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).copy()


def decode_counter(frames: np.ndarray) -> list[int]:
    return [int(round((float(f.mean()) - 16) / 6)) for f in frames]


def sine(seconds_or_samples: int, freq: float = 440.0, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(seconds_or_samples) / SR
    return np.repeat((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None], channels, axis=0)


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*")] if folder.exists() else []


def test_round_trip_frames_fps_size_and_sine(tmp_path: Path) -> None:
    frames = counter_clip(33, 256, 256)
    audio = sine(90956, channels=2)  # exactly 33 / 16 s
    path = write_video(tmp_path / "clip.mp4", frames, 16.0, audio, SR)
    clip = read_video(path)
    assert clip.frames.shape == (33, 256, 256, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == pytest.approx(16.0) and clip.source_fps == pytest.approx(16.0)
    assert clip.duration_s == pytest.approx(33 / 16)
    assert decode_counter(clip.frames) == list(range(33))
    assert clip.has_audio and clip.sample_rate == SR and clip.audio.shape == (2, 90956)
    # AAC is lossy: RMS of a 0.5-amplitude sine is 0.5 / sqrt(2)
    assert rms(clip.audio) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert files_in(tmp_path) == [path]  # no temporary file left


def test_flat_colour_pixel_error_is_small(tmp_path: Path) -> None:
    frames = np.empty((6, 48, 64, 3), np.uint8)
    frames[:] = (200, 40, 90)
    clip = read_video(write_video(tmp_path / "flat.mp4", frames, 12.0, crf=19))
    error = np.abs(clip.frames.astype(int) - frames.astype(int))
    assert error.max() <= 4, error.max()


def test_same_input_encodes_to_the_same_bytes(tmp_path: Path) -> None:
    """x264's macroblock-tree rate control made identical frames + AAC encode differently from run
    to run (2-5 distinct files in 40); the writer turns it off, so every run must give one file."""
    import cv2

    rng = np.random.default_rng(0)
    noise = (255 * rng.random((33, 64, 64, 3))).astype(np.uint8)
    frames = np.stack([cv2.GaussianBlur(f, (9, 9), 3) for f in noise])  # soft blobs, like the generator's
    audio = (0.1 * rng.standard_normal((1, 32000))).astype(np.float32)
    blobs = set()
    for i in range(20):
        path = write_video(tmp_path / f"run{i}.mp4", frames, 16.0, audio=audio, sample_rate=16000)
        blobs.add(path.read_bytes())
    assert len(blobs) == 1


def test_float_frames_are_accepted(tmp_path: Path) -> None:
    frames = np.full((4, 32, 32, 3), 0.5, np.float32)
    clip = read_video(write_video(tmp_path / "f.mp4", frames, 8.0))
    assert abs(float(clip.frames.mean()) - 128) < 3


def test_aac_delay_is_hidden_and_length_is_exact(tmp_path: Path) -> None:
    # Two clicks at known samples: decoded at the same samples => the 1024-sample AAC priming is
    # removed by the mp4 edit list; the stream length is the written length (no codec padding).
    audio = np.zeros((1, SR), np.float32)
    audio[0, 10000] = 0.9
    audio[0, 30000] = -0.9
    path = write_video(tmp_path / "clicks.mp4", counter_clip(16), 16.0, audio, SR)
    decoded, rate = read_audio(path)
    assert rate == SR and decoded.shape == (1, SR)
    assert int(np.argmax(np.abs(decoded[0, :20000]))) == 10000
    assert int(np.argmax(np.abs(decoded[0, 20000:]))) + 20000 == 30000


def test_fps_resampling_picks_nearest_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "c24.mp4", counter_clip(33), 24.0)
    down = read_video(path, fps=10.0)
    assert down.fps == 10.0 and decode_counter(down.frames) == [round(2.4 * k) for k in range(14)]
    up = read_video(path, fps=30.0)
    assert decode_counter(up.frames) == [min(round(0.8 * k), 32) for k in range(42)]
    assert up.audio.shape == (1, round(42 * SR / 30))  # silent audio spans the resampled clip


def test_resize_and_cap(tmp_path: Path) -> None:
    path = write_video(tmp_path / "c.mp4", counter_clip(33, 48, 64), 24.0)
    clip = read_video(path, max_frames=5, size=(32, 0))  # height from the aspect ratio
    assert clip.frames.shape == (5, 24, 32, 3)
    assert decode_counter(clip.frames) == [0, 1, 2, 3, 4]
    clip = read_video(path, max_frames=4, size=(20, 10), fps=10.0)
    assert clip.frames.shape == (4, 10, 20, 3)
    assert decode_counter(clip.frames) == [0, 2, 5, 7]
    assert clip.duration_s == pytest.approx(0.4)


def test_video_without_audio_gives_silent_audio(tmp_path: Path) -> None:
    clip = read_video(write_video(tmp_path / "mute.mp4", counter_clip(8), 8.0))
    assert not clip.has_audio
    assert clip.audio.shape == (1, SR) and not clip.audio.any()  # 1 s of silence at 44.1 kHz


def test_audio_longer_than_video_is_trimmed_on_read(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", counter_clip(8), 8.0, sine(2 * SR), SR)
    clip = read_video(path)
    assert clip.audio.shape == (1, SR)
    assert rms(clip.audio) > 0.3


def test_odd_size_is_padded_or_refused(tmp_path: Path) -> None:
    frames = np.full((3, 15, 21, 3), 100, np.uint8)
    clip = read_video(write_video(tmp_path / "odd.mp4", frames, 8.0))
    assert clip.frames.shape == (3, 16, 22, 3)
    with pytest.raises(MediaError, match="even"):
        write_video(tmp_path / "odd2.mp4", frames, 8.0, odd_size="error")
    assert not (tmp_path / "odd2.mp4").exists()


def test_unusual_sample_rate_is_resampled_for_aac(tmp_path: Path) -> None:
    rate = 11111
    t = np.arange(rate) / rate
    audio = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)[None]
    clip = read_video(write_video(tmp_path / "r.mp4", counter_clip(8), 8.0, audio, rate))
    assert clip.sample_rate == 48000 and clip.audio.shape == (1, 48000)
    assert rms(clip.audio) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frames": np.zeros((0, 8, 8, 3), np.uint8)}, "at least one"),
        ({"frames": np.zeros((8, 8, 3), np.uint8)}, r"\[T, H, W, 3\]"),
        ({"frames": np.zeros((2, 8, 8, 4), np.uint8)}, r"\[T, H, W, 3\]"),
        ({"fps": 0.0}, "fps"),
        ({"fps": -5.0}, "fps"),
        ({"audio": np.zeros((1, 2, 3), np.float32), "sample_rate": SR}, "channels, samples"),
        ({"audio": np.zeros((3, 100), np.float32), "sample_rate": SR}, "1 or 2 channels"),
        ({"audio": np.zeros((1, 100), np.float32), "sample_rate": 0}, "sample_rate"),
        ({"crf": 60}, "crf"),
    ],
)
def test_bad_write_input_leaves_nothing(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"frames": counter_clip(2), "fps": 8.0, **kwargs}
    with pytest.raises(MediaError, match=message):
        write_video(tmp_path / "out" / "bad.mp4", **args)
    assert files_in(tmp_path) == []


def test_interrupted_write_removes_temp_file_and_new_folders(tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(tmp_path / "a" / "b" / "c.mp4", counter_clip(10), 8.0, sine(SR), SR, callback=interrupt)
    assert files_in(tmp_path) == []


def test_existing_file_survives_a_failed_overwrite(tmp_path: Path) -> None:
    path = write_video(tmp_path / "keep.mp4", counter_clip(4), 8.0)
    before = path.read_bytes()

    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_video(path, counter_clip(9), 8.0, callback=fail)
    assert path.read_bytes() == before and files_in(tmp_path) == [path]


def test_bad_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    with pytest.raises(MediaError, match="not a readable media file"):
        read_video(text)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=SR, layout="mono")
        audio = sine(4096)
        for start in range(0, 4096, 1024):
            chunk = np.ascontiguousarray(audio[:, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, "fltp", "mono")
            frame.sample_rate, frame.pts = SR, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match="no video stream"):
        read_video(path)
    decoded, rate = read_audio(path)  # the audio reader falls back to PyAV for m4a
    assert rate == SR and decoded.shape == (1, 4096) and rms(decoded) > 0.3


def test_video_stream_without_decodable_frames(tmp_path: Path) -> None:
    import av

    path = tmp_path / "garbage.mp4"
    with av.open(str(path), "w") as container:  # an H.264 track whose packets are zeros
        stream = container.add_stream("libx264", rate=16)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 16)
        for index in range(5):
            packet = av.Packet(bytes(200))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, index, index, Fraction(1, 16)
            container.mux(packet)
    with pytest.raises(MediaError, match="no decodable video frames"):
        read_video(path)
