"""Memory bounds for frame batches (documented in docs/runner.md, "Limits").

A ComfyUI IMAGE batch is float32 ``[T, H, W, 3]``: ``T * H * W * 12`` bytes. Every node that makes
a batch from sizes a user chooses (Load Video's resize and frame count, Draw Tracks' repeat of a
still over the tracks' frames) checks that size against :func:`image_budget_bytes` *before* it
allocates, and raises :class:`ResourceLimitError` (a ValueError) saying what was asked and what
fits. The budget is 4 GiB unless ``KINESONIC_MAX_IMAGE_BYTES`` (bytes) sets another.
"""

from __future__ import annotations

import os

#: Default bound of one float32 IMAGE batch, in bytes (4 GiB).
DEFAULT_IMAGE_BUDGET = 4 * 1024**3
#: Bytes per pixel of a float32 RGB IMAGE.
IMAGE_BYTES_PER_PIXEL = 12


class ResourceLimitError(ValueError):
    """A request would use more memory than the documented bound."""


def image_budget_bytes() -> int:
    """The IMAGE batch budget in bytes (``KINESONIC_MAX_IMAGE_BYTES`` or 4 GiB)."""
    raw = os.environ.get("KINESONIC_MAX_IMAGE_BYTES", "").strip()
    if not raw:
        return DEFAULT_IMAGE_BUDGET
    try:
        value = int(raw)
    except ValueError:
        raise ResourceLimitError(
            f"KINESONIC_MAX_IMAGE_BYTES must be a whole number of bytes, got {raw!r}"
        ) from None
    if value <= 0:
        raise ResourceLimitError(f"KINESONIC_MAX_IMAGE_BYTES must be > 0, got {value}")
    return value


def image_bytes(frames: int, height: int, width: int) -> int:
    """Bytes of a float32 IMAGE batch ``[frames, height, width, 3]``."""
    return int(frames) * int(height) * int(width) * IMAGE_BYTES_PER_PIXEL


def max_frames_for(height: int, width: int) -> int:
    """How many ``height`` x ``width`` frames fit in the budget."""
    return image_budget_bytes() // max(image_bytes(1, height, width), 1)


def check_image_budget(frames: int, height: int, width: int, what: str = "the frames") -> None:
    """Raise :class:`ResourceLimitError` when ``frames`` x ``height`` x ``width`` exceeds the budget."""
    need, budget = image_bytes(frames, height, width), image_budget_bytes()
    if need > budget:
        fit = max_frames_for(height, width)
        raise ResourceLimitError(
            f"{what}: {frames} frames of {width}x{height} need {need / 1024**3:.1f} GiB as float32 images, "
            f"more than the {budget / 1024**3:.1f} GiB bound (at this size at most {fit} frames fit; "
            "use fewer frames or a smaller size, or set KINESONIC_MAX_IMAGE_BYTES)"
        )
