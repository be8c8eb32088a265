"""Clip-length rule and frame-rate picking, checked against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.media import (
    clip_frame_count,
    fit_audio,
    fit_frames,
    frames_for_duration,
    match_audio_to_frames,
    nearest_frame_indices,
    samples_for_frames,
)


def counter_frames(count: int) -> np.ndarray:
    """[count, 2, 2, 3] frames whose pixels all equal the frame index."""
    return np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 2, 2, 3)).copy()


def test_frames_and_samples_for_duration() -> None:
    assert frames_for_duration(2.0, 16) == 32  # exact: no extra frame
    assert frames_for_duration(2.01, 16) == 33  # 32.16 -> 33
    assert frames_for_duration(0.0, 16) == 1  # never zero frames
    assert samples_for_frames(33, 16, 44100) == 90956  # 33 / 16 * 44100 = 90956.25
    assert samples_for_frames(10, 3, 1000) == 3333


def test_fit_frames_holds_last_frame_and_trims() -> None:
    frames = counter_frames(3)
    assert fit_frames(frames, 5)[:, 0, 0, 0].tolist() == [0, 1, 2, 2, 2]
    assert fit_frames(frames, 2)[:, 0, 0, 0].tolist() == [0, 1]


def test_fit_audio_pads_with_zeros_and_trims() -> None:
    audio = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    assert fit_audio(audio, 5).tolist() == [[1, 2, 3, 0, 0], [4, 5, 6, 0, 0]]
    assert fit_audio(audio, 1).tolist() == [[1], [4]]


# 10 frames at 5 fps = 2.0 s of video; audio at 100 Hz.
@pytest.mark.parametrize(
    ("samples", "mode", "frames_out", "samples_out"),
    [
        (150, "video", 10, 200),  # 1.5 s of sound padded to the video's 2.0 s
        (250, "video", 10, 200),  # 2.5 s of sound trimmed to 2.0 s
        (250, "audio", 13, 260),  # ceil(2.5 * 5) = 13 frames (last held), sound padded to 2.6 s
        (150, "audio", 8, 160),  # ceil(1.5 * 5) = 8 frames, sound padded to 1.6 s
        (150, "shortest", 8, 160),
        (250, "shortest", 10, 200),
        (150, "longest", 10, 200),
        (250, "longest", 13, 260),
        (200, "audio", 10, 200),  # equal lengths: nothing changes
    ],
)
def test_match_audio_to_frames_rule(samples: int, mode: str, frames_out: int, samples_out: int) -> None:
    frames = counter_frames(10)
    audio = np.ones((2, samples), np.float32)
    out_frames, out_audio = match_audio_to_frames(frames, audio, fps=5.0, sample_rate=100, duration_from=mode)
    assert out_frames.shape[0] == frames_out
    assert out_audio.shape == (2, samples_out)
    expected_index = np.minimum(np.arange(frames_out), 9)
    assert out_frames[:, 0, 0, 0].tolist() == expected_index.tolist()
    kept = min(samples, samples_out)
    assert np.all(out_audio[:, :kept] == 1.0) and np.all(out_audio[:, kept:] == 0.0)
    assert clip_frame_count(10, samples, 5.0, 100, mode) == frames_out


def test_match_without_audio_keeps_frames_and_checks_arguments() -> None:
    frames = counter_frames(4)
    out, audio = match_audio_to_frames(frames, None, 8.0, 44100, "audio")
    assert out.shape[0] == 4 and audio is None
    with pytest.raises(ValueError, match="duration_from"):
        match_audio_to_frames(frames, None, 8.0, 44100, "loudest")
    with pytest.raises(ValueError, match="fps"):
        match_audio_to_frames(frames, np.zeros((1, 10), np.float32), 0.0, 44100, "video")


def test_nearest_frame_indices_known_answers() -> None:
    source = np.arange(33) / 24.0  # 33 frames at 24 fps, clip ends at 33/24 s
    # 24 -> 10 fps: target k/10 s is source frame 2.4 k rounded (no ties for any k)
    down = nearest_frame_indices(source, 10.0, 33 / 24)
    assert down.tolist() == [round(2.4 * k) for k in range(14)]
    # 24 -> 30 fps: 0.8 k rounded; the clip keeps its duration: ceil(1.375 * 30) = 42 frames
    up = nearest_frame_indices(source, 30.0, 33 / 24)
    assert up.tolist() == [min(round(0.8 * k), 32) for k in range(42)]
    # ties go to the earlier frame: frames at 0 and 1 s, target 0.5 s
    assert nearest_frame_indices(np.array([0.0, 1.0]), 2.0, 2.0).tolist() == [0, 0, 1, 1]
