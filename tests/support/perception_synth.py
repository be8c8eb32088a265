"""Synthetic clips with known object centres for perception tests (test-only helper).

Objects are shaded discs (and optionally squares) moving along straight lines or parabolas
(2.5-4 px per frame) over a static background (smooth gradient + fixed noise texture). The ground-truth
centre of an object is the centroid of its rendered pixels (pixel (i, j) centred at x = j,
y = i), so a perfect extractor has zero error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SynthClip:
    frames: np.ndarray  # uint8 [T, H, W, 3]
    centres: np.ndarray  # float64 [T, N, 2] pixel (x, y) of each object's rendered pixels
    visible: np.ndarray  # bool [T, N]
    moving: np.ndarray  # bool [N]
    fps: float = 16.0


def background(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([60 + 40 * xx / width, 70 + 30 * yy / height, 90 + 0 * xx], axis=-1)
    texture = rng.normal(0, 6, size=(height, width, 1)).astype(np.float32)
    return np.clip(base + texture, 0, 255)


def moving_objects_clip(
    seed: int = 0,
    width: int = 128,
    height: int = 96,
    frames: int = 16,
    n_moving: int = 3,
    n_static: int = 0,
    radius: tuple[float, float] = (6.0, 10.0),
    noise: float = 2.0,
    squares: bool = True,
) -> SynthClip:
    """A clip of ``n_moving`` moving and ``n_static`` static objects that never overlap."""
    rng = np.random.default_rng(seed)
    bg = background(height, width, seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    N = n_moving + n_static
    colours = rng.uniform(150, 255, size=(N, 3))
    radii = rng.uniform(*radius, size=N)
    is_square = rng.uniform(size=N) < 0.4 if squares else np.zeros(N, bool)
    # lanes: each object gets its own horizontal band so paths never overlap
    band = height / N
    t = np.arange(frames, dtype=np.float64)
    paths = np.zeros((frames, N, 2))
    for n in range(N):
        r = radii[n]
        y0 = band * (n + 0.5)
        if n < n_moving:
            x0 = rng.uniform(r + 2, width / 2)
            vx = rng.uniform(2.5, 4.0)
            ay = rng.uniform(-0.03, 0.03)
            paths[:, n, 0] = x0 + vx * t
            paths[:, n, 1] = y0 + ay * (t - frames / 2) ** 2 - ay * (frames / 2) ** 2
        else:
            paths[:, n, 0] = rng.uniform(r + 2, width - r - 2)
            paths[:, n, 1] = y0
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    centres = np.zeros((frames, N, 2))
    visible = np.zeros((frames, N), dtype=bool)
    for f in range(frames):
        img = bg.copy()
        for n in range(N):
            cx, cy = paths[f, n]
            if is_square[n]:
                inside = (np.abs(xx - cx) <= radii[n] * 0.9) & (np.abs(yy - cy) <= radii[n] * 0.9)
            else:
                inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radii[n] ** 2
            # shaded like a lit solid: brighter towards the upper left, so interiors are not flat
            shade = 1.0 - 0.35 * ((xx[inside] - cx) + (yy[inside] - cy)) / (2 * radii[n])
            img[inside] = colours[n] * np.clip(shade, 0.5, 1.2)[:, None]
            if inside.any():
                centres[f, n] = (xx[inside].mean(), yy[inside].mean())
                visible[f, n] = True
        img = img + rng.normal(0, noise, size=img.shape)
        out[f] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    moving = np.arange(N) < n_moving
    return SynthClip(out, centres, visible, moving)
