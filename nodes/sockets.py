"""ComfyUI IMAGE and AUDIO values in nodes: the one check of each, and the packing of pictures.

- IMAGE: a float tensor ``[B, H, W, 3]`` with values in 0..1 (ComfyUI's convention). uint8 frames
  (0..255) and numpy arrays are accepted too (the headless runner and tests pass them).
- AUDIO: ``{"waveform": [B, C, S] float, "sample_rate": int}`` (sample rate in Hz).

Every node that takes IMAGE or AUDIO checks it here, so a bad value always gives a
:class:`NodeInputError` naming the node, the input, what was expected and what came; nodes add their
own constraints (frame count, model size, a sample-rate bound) on top. Only cheap checks are made
(type, rank, channel count, dtype, sizes, and finite audio samples): pixel values outside 0..1 are
clipped where frames are converted to uint8, not refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import NodeInputError

IMAGE_CONTRACT = "IMAGE [B, H, W, 3] float 0..1"
AUDIO_CONTRACT = 'AUDIO {"waveform": [B,C,S] float, "sample_rate": int Hz}'


def image_shape(node: str, input_name: str, images: Any, min_frames: int = 1) -> tuple[int, int, int]:
    """Check an IMAGE input and return its ``(B, H, W)``; nothing is copied or converted.

    Accepts a torch tensor or numpy array ``[B, H, W, 3]``, float (0..1) or uint8 (0..255), with
    ``B >= min_frames`` and ``H, W >= 1``; raises :class:`NodeInputError` otherwise.
    """
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        raise NodeInputError(node, input_name, f"an {IMAGE_CONTRACT} tensor", images)
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise NodeInputError(node, input_name, f"an {IMAGE_CONTRACT} (rank 4, 3 colour channels)", images)
    if isinstance(images, torch.Tensor):
        is_float, is_uint8 = images.dtype.is_floating_point, images.dtype == torch.uint8
    else:
        is_float, is_uint8 = np.issubdtype(images.dtype, np.floating), images.dtype == np.uint8
    if not (is_float or is_uint8):
        raise NodeInputError(
            node, input_name, f"an {IMAGE_CONTRACT} (or uint8 0..255)", f"dtype {images.dtype}"
        )
    if shape[0] < min_frames or shape[1] < 1 or shape[2] < 1:
        frames = "one frame" if min_frames <= 1 else f"{min_frames} frames"
        raise NodeInputError(
            node, input_name, f"an {IMAGE_CONTRACT} of at least {frames} of >= 1x1 px", images
        )
    return int(shape[0]), int(shape[1]), int(shape[2])


def image_input(node: str, input_name: str, images: Any, min_frames: int = 1) -> torch.Tensor:
    """A checked IMAGE (see :func:`image_shape`) as a float32 CPU tensor ``[B, H, W, 3]`` in 0..1.

    A float32 CPU tensor comes back detached, sharing its memory (no copy); uint8 frames are divided by 255.
    """
    image_shape(node, input_name, images, min_frames)
    tensor = images.detach() if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.cpu().float() / 255.0
    return tensor.to("cpu", torch.float32)


def image_frames(node: str, input_name: str, images: Any, min_frames: int = 1) -> np.ndarray:
    """A checked IMAGE (see :func:`image_shape`) as uint8 numpy ``[B, H, W, 3]``.

    Float values are clipped to 0..1 (NaN counts as 0) and rounded half up: ``floor(v * 255 + 0.5)``;
    uint8 frames keep their values. The array is always a new one (the caller may draw on it).
    """
    image_shape(node, input_name, images, min_frames)
    tensor = images.detach() if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.cpu().numpy().copy()
    scaled = torch.nan_to_num(tensor.float()).clamp_(0.0, 1.0).mul_(255.0).add_(0.5)
    return scaled.to(torch.uint8).cpu().numpy()


def image_output(picture: np.ndarray) -> torch.Tensor:
    """A uint8 picture ``[H, W, 3]`` (or frames ``[B, H, W, 3]``) as a ComfyUI IMAGE ``[B, H, W, 3]``
    float32 0..1."""
    array = np.asarray(picture)
    image = torch.from_numpy(array.astype(np.float32) / 255.0)
    return image[None] if array.ndim == 3 else image


def audio_input(node: str, input_name: str, audio: Any, first_only: bool = True) -> tuple[np.ndarray, int]:
    """A checked AUDIO input as float32 numpy samples plus its sample rate in Hz.

    ``first_only``: the first batch item ``[C, S]``; else every item ``[B, C, S]``. Raises
    :class:`NodeInputError` unless ``audio`` is a dict with a ``waveform`` of shape ``[B>=1, C>=1, S]``
    (tensor or array) of finite samples and a positive whole ``sample_rate`` (an int, or a float such
    as 44100.0).
    """
    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise NodeInputError(node, input_name, AUDIO_CONTRACT, audio)
    waveform = audio["waveform"]
    shape = tuple(getattr(waveform, "shape", ()))
    if len(shape) != 3 or shape[0] < 1 or shape[1] < 1:
        raise NodeInputError(node, input_name, f"{AUDIO_CONTRACT}: a waveform [B>=1, C>=1, S]", waveform)
    rate = audio["sample_rate"]
    whole = isinstance(rate, (int, np.integer)) or (
        isinstance(rate, (float, np.floating)) and float(rate).is_integer()
    )
    if isinstance(rate, bool) or not whole or rate <= 0:
        raise NodeInputError(node, input_name, f"{AUDIO_CONTRACT}: a whole positive sample_rate in Hz", rate)
    array = waveform[0] if first_only else waveform
    array = (
        array.detach().cpu().float().numpy() if hasattr(array, "detach") else np.asarray(array, np.float32)
    )
    if not np.all(np.isfinite(array)):
        raise NodeInputError(node, input_name, "finite waveform samples (no NaN/inf)", waveform)
    return np.ascontiguousarray(array, np.float32), int(rate)
