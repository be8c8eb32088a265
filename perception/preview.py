"""Preview images for extraction results: tinted masks with centres, and track polylines."""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import as_frames

_PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ],
    dtype=np.float32,
)


def colour(index: int) -> tuple[int, int, int]:
    """The preview colour (RGB uint8) of object ``index``."""
    r, g, b = _PALETTE[index % len(_PALETTE)]
    return int(r), int(g), int(b)


def draw_masks(frame: Any, masks: Any, centres: Any = None, alpha: float = 0.5) -> np.ndarray:
    """Frame ``[H, W, 3]`` with each mask ``[K, H, W]`` tinted and its centre ``[K, 2]`` (x, y) marked.

    Returns ``uint8 [H, W, 3]``.
    """
    image = as_frames(frame)[0].astype(np.float32)
    masks = np.asarray(masks) > 0.5
    for k, mask in enumerate(masks):
        image[mask] = (1 - alpha) * image[mask] + alpha * _PALETTE[k % len(_PALETTE)]
    out = np.clip(image, 0, 255).astype(np.uint8)
    if centres is not None:
        _draw_crosses(out, np.asarray(centres, dtype=np.float64).reshape(-1, 2))
    return out


def _draw_crosses(image: np.ndarray, points: np.ndarray, size: int = 3) -> None:
    H, W = image.shape[:2]
    for k, (x, y) in enumerate(points):
        cx, cy = int(round(x)), int(round(y))
        for d in range(-size, size + 1):
            for px, py in ((cx + d, cy), (cx, cy + d)):
                if 0 <= px < W and 0 <= py < H:
                    image[py, px] = (255, 255, 255) if d in (-size, size) else colour(k)


def draw_tracks(frame: Any, points: Any, visible: Any) -> np.ndarray:
    """Frame ``[H, W, 3]`` with each track ``[T, N, 2]`` drawn as a polyline over its visible frames.

    Returns ``uint8 [H, W, 3]``.
    """
    import cv2

    out = np.ascontiguousarray(as_frames(frame)[0].copy())
    points = np.asarray(points, dtype=np.float64)
    visible = np.asarray(visible, dtype=bool)
    for n in range(points.shape[1]):
        p = points[visible[:, n], n]
        if len(p) == 0:
            continue
        cv2.polylines(out, [np.rint(p).astype(np.int32).reshape(-1, 1, 2)], False, colour(n), 1, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in np.rint(p[0])), 2, colour(n), -1)
    return out
