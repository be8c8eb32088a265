"""Audio files (wav / flac), resampling, images and output naming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kinesonic.media import (
    MediaError,
    atomic_output,
    numbered_output_path,
    read_audio,
    read_image,
    resample_audio,
    rms,
    write_audio,
)


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_round_trip_is_16_bit_exact(tmp_path: Path, fmt: str) -> None:
    audio = np.stack([sine(440, 16000, 0.5), sine(660, 16000, 0.5, 0.25)])
    path = write_audio(tmp_path / f"a.{fmt}", audio, 16000)
    decoded, rate = read_audio(path)
    assert rate == 16000 and decoded.shape == (2, 8000) and decoded.dtype == np.float32
    assert np.abs(decoded - audio).max() <= 1.0 / 32768 + 1e-6  # 16-bit quantisation
    assert rms(decoded[0]) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_write_clips_and_accepts_one_dimensional(tmp_path: Path) -> None:
    decoded, _ = read_audio(write_audio(tmp_path / "loud.wav", np.array([2.0, -3.0, 0.5]), 8000))
    assert decoded.shape == (1, 3)
    assert decoded[0, 0] == pytest.approx(32767 / 32768) and decoded[0, 1] == -1.0


def test_resample_keeps_frequency_and_level() -> None:
    audio = sine(1000, 48000, 1.0)[None]
    out = resample_audio(audio, 48000, 16000)
    assert out.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert int(np.argmax(spectrum)) == 1000  # 1 s window: bin k is k Hz
    assert rms(out) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: write_audio(p / "x.mp3", np.zeros((1, 10)), 8000), "format"),
        (lambda p: write_audio(p / "x.wav", np.zeros((1, 2, 3)), 8000), "channels, samples"),
        (lambda p: write_audio(p / "x.wav", np.zeros((1, 10)), 0), "sample rate"),
        (lambda p: write_audio(p / "x.wav", np.full((1, 10), np.nan), 8000), "NaN"),
    ],
)
def test_bad_audio_writes_leave_nothing(tmp_path: Path, call, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_audio_reads(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_audio(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk" * 4)
    with pytest.raises(MediaError, match="not a readable audio file"):
        read_audio(junk)


def test_atomic_output_cleans_up_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "new" / "f.bin") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(tmp_path / "ok.bin") as tmp:
        tmp.write_bytes(b"done")
    assert [p.name for p in tmp_path.iterdir()] == ["ok.bin"]


def test_numbered_output_path_counts_and_stays_inside(tmp_path: Path) -> None:
    path, name, sub = numbered_output_path(tmp_path, "kinesonic/clip", "mp4")
    assert (path, name, sub) == (tmp_path / "kinesonic" / "clip_00001.mp4", "clip_00001.mp4", "kinesonic")
    assert path.is_file() and path.stat().st_size == 0  # reserved: the next caller gets 00002
    assert numbered_output_path(tmp_path, "kinesonic/clip", "mp4")[1] == "clip_00002.mp4"
    (path.parent / "clip_00007.mp4").write_bytes(b"")
    (path.parent / "clip_00009.wav").write_bytes(b"")  # other extension: ignored
    assert numbered_output_path(tmp_path, "kinesonic/clip", "mp4")[1] == "clip_00008.mp4"
    assert numbered_output_path(tmp_path, "solo", ".wav")[1:] == ("solo_00001.wav", "")
    for bad in ("../escape", "", "  /  ", ".", "./", "sub/.."):
        with pytest.raises(MediaError):
            numbered_output_path(tmp_path, bad, "mp4")


def test_read_image_with_and_without_alpha(tmp_path: Path) -> None:
    from PIL import Image

    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :3, 3] = 255  # left half opaque, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb, alpha = read_image(tmp_path / "a.png")
    assert rgb.shape == (4, 6, 3) and rgb[0, 0].tolist() == [255, 0, 0]
    assert alpha.tolist() == [[255, 255, 255, 0, 0, 0]] * 4
    Image.fromarray(rgba[..., :3], "RGB").save(tmp_path / "b.jpg")
    rgb, alpha = read_image(tmp_path / "b.jpg")
    assert alpha is None and rgb.shape == (4, 6, 3)
    (tmp_path / "c.png").write_text("not an image")
    with pytest.raises(MediaError, match="not a readable image"):
        read_image(tmp_path / "c.png")
