"""Shared helpers of the perception layer: frame conversion, errors, optional-package imports.

Conventions used by every perception module:

- frames are ``uint8 [T, H, W, 3]`` RGB (float input in 0..1 is converted);
- points are pixels ``(x, y)``: x to the right, y down, the centre of pixel ``(row i, column j)``
  is at ``(j, i)`` (OpenCV / CoTracker convention);
- masks are ``bool [K, H, W]`` (one per object);
- a progress ``callback(done, total)`` may be passed to long loops; it may raise to cancel.

This module imports only numpy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

Callback = Callable[[int, int], None] | None


class PerceptionError(ValueError):
    """Bad input to a perception function (no frames, no motion, nothing to track, ...)."""


class MissingDependencyError(ImportError):
    """An optional package (sam2, cotracker) is not installed; the message says how to install it."""


INSTALL_HINTS = {
    "sam2": (
        "SAM2 is not installed. Install it into ComfyUI's Python with "
        "`SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2==1.1.0` and put a checkpoint "
        "(e.g. sam2.1_hiera_tiny.pt) in ComfyUI's models/sam2 folder."
    ),
    "cotracker": (
        "CoTracker3 is not installed. Install it into ComfyUI's Python from its own repository "
        "(`pip install git+https://github.com/facebookresearch/co-tracker`, licence CC-BY-NC) and put a "
        "checkpoint (e.g. scaled_offline.pth) in ComfyUI's models/cotracker folder."
    ),
    "cv2": "OpenCV is not installed: `pip install opencv-python`.",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` with the install hint for it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        root = module.split(".")[0]
        if error.name is not None and error.name.split(".")[0] != root:
            raise  # the package is there but one of its own dependencies is missing
        hint = INSTALL_HINTS.get(root, f"Python package {root!r} is not installed.")
        raise MissingDependencyError(hint) from error


def as_frames(frames: Any, name: str = "frames") -> np.ndarray:
    """Frames as a C-contiguous ``uint8 [T, H, W, 3]`` RGB array.

    Accepts numpy arrays or torch tensors shaped ``[T, H, W, 3]`` (or one ``[H, W, 3]`` frame),
    either uint8 or float in 0..1 (ComfyUI IMAGE). Raises :class:`PerceptionError` otherwise.
    """
    if hasattr(frames, "detach"):
        frames = frames.detach().cpu().numpy()
    array = np.asarray(frames)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise PerceptionError(f"{name}: expected [T, H, W, 3] frames, got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 2 or array.shape[2] < 2:
        raise PerceptionError(f"{name}: expected at least one frame of 2x2 pixels, got shape {array.shape}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.asarray(array, dtype=np.float32)
        if not np.isfinite(array).all():
            raise PerceptionError(f"{name}: frames contain NaN/inf")
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def as_points(points: Any, name: str = "points") -> np.ndarray:
    """Points as a float64 ``[N, 2]`` array of pixel ``(x, y)``; raises on bad shapes or NaN."""
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim == 1 and array.shape[0] == 2:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 2:
        raise PerceptionError(f"{name}: expected [N, 2] pixel (x, y) points, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise PerceptionError(f"{name}: points contain NaN/inf")
    return array


def as_masks(masks: Any, height: int, width: int, name: str = "masks") -> np.ndarray:
    """Masks as ``bool [K, H, W]`` (a single ``[H, W]`` mask becomes K = 1); checks the size."""
    if hasattr(masks, "detach"):
        masks = masks.detach().cpu().numpy()
    array = np.asarray(masks)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (height, width):
        raise PerceptionError(f"{name}: expected [K, {height}, {width}] masks, got shape {array.shape}")
    return array > 0.5 if array.dtype != bool else array


def report(callback: Callback, done: int, total: int) -> None:
    """Call ``callback(done, total)`` if there is one."""
    if callback is not None:
        callback(int(done), int(total))
