"""The one IMAGE check and the one AUDIO check (nodes/sockets.py): what passes, and errors that name
the node and the input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinesonic.media.image import png_bytes, read_image, write_png
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.sockets import audio_input, image_frames, image_input, image_output, image_shape


def raises_for(call, *args, match: str) -> NodeInputError:
    with pytest.raises(NodeInputError, match=match) as info:
        call("Some Node", "pictures", *args)
    assert info.value.node == "Some Node" and info.value.input_name == "pictures"
    assert str(info.value).startswith("[Some Node] input 'pictures': expected ")
    return info.value


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([[[[0.0, 0.0, 0.0]]]], "tensor"),  # a list is no IMAGE
        (torch.zeros(4, 4, 3), "rank 4"),  # one frame without the batch axis
        (torch.zeros(1, 4, 4, 4), "3 colour channels"),  # RGBA
        (torch.zeros(1, 4, 4, 1), "3 colour channels"),
        (torch.zeros(1, 4, 4, 3, dtype=torch.int64), "dtype torch.int64"),
        (np.zeros((1, 4, 4, 3), np.int16), "dtype int16"),
        (torch.zeros(0, 4, 4, 3), "at least one frame"),
        (torch.zeros(1, 0, 4, 3), "at least one frame"),
    ],
)
def test_bad_image_is_refused_naming_node_and_input(value, match: str) -> None:
    for check in (image_shape, image_input, image_frames):
        raises_for(check, value, match=match)


def test_min_frames_is_a_node_constraint_on_top() -> None:
    assert image_shape("n", "i", torch.zeros(1, 2, 3, 3)) == (1, 2, 3)
    raises_for(image_frames, torch.zeros(1, 2, 3, 3), 2, match="at least 2 frames")


def test_image_conversions_known_values() -> None:
    values = torch.tensor([0.0, 0.5, 1.0, 1.7, -0.2, 0.998, float("nan"), 0.25]).reshape(1, 2, 4, 1)
    images = values.expand(1, 2, 4, 3).contiguous()
    frames = image_frames("n", "i", images)
    assert frames.dtype == np.uint8 and frames.shape == (1, 2, 4, 3)
    # floor(v * 255 + 0.5) after clipping to 0..1; NaN counts as 0
    assert frames[0, :, :, 0].ravel().tolist() == [0, 128, 255, 255, 0, 254, 0, 64]
    # a float32 CPU tensor passes through image_input untouched (no copy)
    assert image_input("n", "i", images).data_ptr() == images.data_ptr()
    # uint8 frames and numpy arrays are accepted: scaled to 0..1, and kept as they are
    as_uint8 = torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 1, 1, 3)
    assert image_input("n", "i", as_uint8).flatten().tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert image_frames("n", "i", as_uint8.numpy()).ravel().tolist() == [0, 51, 255]
    assert image_input("n", "i", np.full((2, 1, 1, 3), 0.5, np.float64)).dtype == torch.float32


def test_image_frames_gives_a_new_array_even_for_uint8_input() -> None:
    source = np.zeros((1, 2, 2, 3), np.uint8)
    frames = image_frames("n", "i", source)
    frames[:] = 9
    assert source.max() == 0  # drawing on the result leaves the input alone


def test_image_output_packs_pictures_as_comfy_images() -> None:
    picture = np.array([[[0, 51, 255]]], np.uint8)
    image = image_output(picture)
    assert image.dtype == torch.float32 and image.shape == (1, 1, 1, 3)
    assert image.flatten().tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert image_output(np.zeros((5, 2, 2, 3), np.uint8)).shape == (5, 2, 2, 3)


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (torch.zeros(1, 1, 10), "AUDIO"),  # a bare waveform, not the dict
        ({"sample_rate": 8000}, "AUDIO"),  # no waveform
        ({"waveform": torch.zeros(1, 1, 10)}, "AUDIO"),  # no sample rate
        ({"waveform": torch.zeros(1, 10), "sample_rate": 8000}, r"B>=1, C>=1, S"),  # rank 2
        ({"waveform": torch.zeros(0, 1, 10), "sample_rate": 8000}, r"B>=1, C>=1, S"),
        ({"waveform": torch.zeros(1, 0, 10), "sample_rate": 8000}, r"B>=1, C>=1, S"),
        ({"waveform": torch.zeros(1, 1, 10), "sample_rate": "8000"}, "whole positive sample_rate"),
        ({"waveform": torch.zeros(1, 1, 10), "sample_rate": 8000.5}, "whole positive sample_rate"),
        ({"waveform": torch.zeros(1, 1, 10), "sample_rate": None}, "whole positive sample_rate"),
        ({"waveform": torch.zeros(1, 1, 10), "sample_rate": 0}, "whole positive sample_rate"),
        ({"waveform": torch.zeros(1, 1, 10), "sample_rate": True}, "whole positive sample_rate"),
        ({"waveform": torch.full((1, 1, 10), float("nan")), "sample_rate": 8000}, "finite"),
    ],
)
def test_bad_audio_is_refused_naming_node_and_input(audio, match: str) -> None:
    raises_for(audio_input, audio, match=match)


def test_audio_known_values() -> None:
    waveform = torch.arange(12, dtype=torch.float64).reshape(2, 2, 3)
    first, rate = audio_input("n", "i", {"waveform": waveform, "sample_rate": 16000})
    assert rate == 16000 and isinstance(rate, int)
    assert first.dtype == np.float32 and first.tolist() == [[0, 1, 2], [3, 4, 5]]
    every, rate = audio_input(
        "n", "i", {"waveform": waveform.numpy(), "sample_rate": 44100.0}, first_only=False
    )
    assert rate == 44100 and isinstance(rate, int) and every.shape == (2, 2, 3)
    assert audio_input("n", "i", {"waveform": waveform, "sample_rate": np.int64(22050)})[1] == 22050


def test_png_round_trip(tmp_path) -> None:
    picture = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    rgb, alpha = read_image(write_png(tmp_path / "p.png", picture))
    assert alpha is None and np.array_equal(rgb, picture)
    (tmp_path / "small.png").write_bytes(png_bytes(np.zeros((40, 10, 3), np.uint8), max_side=20))
    assert read_image(tmp_path / "small.png")[0].shape == (20, 5, 3)  # longer side 40 -> 20, aspect kept
