"""Object size from masks or foreground blobs, shape, volume and mass with a range.

**Size.** Per object and frame where its point is visible, away from the border and from the
other objects: the foreground (``max_c |frame - background|`` over RGB; the background, unless given, is the
per-pixel median over the frames where no tracked object is near: :func:`background_without_objects`)
is cut at half of the object's own
contrast (the median difference over its blob's inner pixels), so an anti-aliased edge pixel counts
when at least half covered, and the connected component under the tracked point is the object.
Its area and the axes of its minimum-area rectangle are kept; the object's values are medians over
frames, and the spread of the per-frame equivalent radii is the size's uncertainty. A given mask
(one per object) replaces the blobs: one frame, its own area.

**Shape.** "ball" when the blob fills less than :data:`BALL_FILL` of its minimum-area rectangle (a
disc fills π/4 ≈ 0.79, a rectangle 1), else "box" — unless the caller says.

**Volume.** Ball: radius ``r = sqrt(A/π)``, ``V = 4/3 π r³``. Box: sides ``w, h`` from the
rectangle's aspect scaled to the area, depth = the smaller side (the world's convention; a real
scene's depth is not seen), ``V = w h min(w, h)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

BALL_FILL = 0.88
#: Blob pixels at least this far (px) inside its edge count as "inner" for the object's contrast.
INNER_PX = 1.5
#: The tracked point must be this far (px) from the image border (times the blob radius) to be measured.
BORDER_FACTOR = 1.2
#: Lower bound (uint8 levels) of the half-contrast threshold.
MIN_LEVEL = 12.0
#: At most this many frames per object are measured (evenly spread over the frames where it is seen).
MAX_FRAMES = 10


@dataclass
class Blob:
    """Measured size of one object in pixels (NaN when it could not be measured)."""

    area_px: float
    side_px: tuple[float, float]  # long, short side of the min-area rectangle scaled to the area
    fill: float  # area / rectangle area
    radius_px: float  # sqrt(area / pi)
    spread: float  # relative spread (MAD) of per-frame radii
    frames: int  # frames measured
    per_frame: list[float] = field(default_factory=list)
    colour: np.ndarray | None = None  # appearance features (see :func:`appearance`), median over frames

    @property
    def measured(self) -> bool:
        return self.frames > 0 and bool(np.isfinite(self.area_px))

    def size_px(self, shape: str) -> float:
        """Characteristic size (px): ball radius, or half the box's longest side (the world's ``size_m``)."""
        return self.radius_px if shape == "ball" else 0.5 * self.side_px[0]


def _unmeasured() -> Blob:
    nan = float("nan")
    return Blob(nan, (nan, nan), nan, nan, nan, 0)


def _mask_stats(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """(area, long side, short side, fill) of a boolean mask's pixels (sides scaled to the area)."""
    import cv2

    area = float(mask.sum())
    if area < 3:
        return None
    ys, xs = np.nonzero(mask)
    corners = np.concatenate(
        [np.stack([xs + dx, ys + dy], 1) for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)]
    ).astype(np.float32)
    (_, _), (w, h), _ = cv2.minAreaRect(corners)
    rect = float(w * h)
    if rect <= 0:
        return None
    fill = area / rect
    k = np.sqrt(area / rect)  # scale the rectangle to the blob's area
    long, short = max(w, h) * k, min(w, h) * k
    return area, float(long), float(short), float(fill)


def measure_masks(masks: np.ndarray) -> list[Blob]:
    """Blobs of given masks ``[N, H, W]`` (bool or 0..1, > 0.5 counts), one per object."""
    out = []
    for m in np.asarray(masks):
        s = _mask_stats(np.asarray(m) > 0.5)
        if s is None:
            out.append(_unmeasured())
            continue
        area, long, short, fill = s
        out.append(Blob(area, (long, short), fill, float(np.sqrt(area / np.pi)), 0.0, 1, [area]))
    return out


def measure_blobs(
    frames: np.ndarray, points: np.ndarray, visible: np.ndarray, background: np.ndarray | None = None
) -> list[Blob]:
    """Blobs of the tracked objects in the frames (module doc).

    Args:
        frames: uint8 ``[T, H, W, 3]``. points: ``[T, N, 2]`` px. visible: ``[T, N]``.
        background: ``[H, W, 3]`` (default: the per-pixel median over the frames where no object is
            near, with the objects' sizes from a first pass over the plain median).
    """
    if background is None:
        first = _measure(frames, points, visible, np.median(frames, axis=0))
        radius = np.array(
            [0.8 * max(b.side_px[0], 2 * b.radius_px) + 2.0 if b.measured else 0.0 for b in first]
        )
        background = background_without_objects(frames, points, visible, radius)
    return _measure(frames, points, visible, background)


def background_without_objects(
    frames: np.ndarray, points: np.ndarray, visible: np.ndarray, radius: np.ndarray
) -> np.ndarray:
    """Per-pixel median over the frames where no object is within ``radius [N]`` px (``float32 [H, W, 3]``).

    A pixel covered in every frame (an object that never moves away) keeps the plain median.
    """
    T, H, W = frames.shape[:3]
    yy, xx = np.mgrid[0:H, 0:W]
    free = np.ones((T, H, W), dtype=bool)
    for t in range(T):
        for n in range(points.shape[1]):
            if radius[n] > 0 and visible[t, n] and np.isfinite(points[t, n]).all():
                x, y = points[t, n]
                free[t] &= (xx - x) ** 2 + (yy - y) ** 2 > radius[n] ** 2
    stack = np.where(free[..., None], frames.astype(np.float32), np.nan)
    ordered = np.sort(stack, axis=0)  # NaN last
    count = free.sum(0)[..., None].repeat(3, -1)
    lo = np.clip((count - 1) // 2, 0, None)[None]
    hi = np.clip(count // 2, 0, T - 1)[None]
    med = 0.5 * (np.take_along_axis(ordered, lo, 0)[0] + np.take_along_axis(ordered, hi, 0)[0])
    return np.where(count > 0, med, np.median(frames, axis=0)).astype(np.float32)


def _measure(
    frames: np.ndarray, points: np.ndarray, visible: np.ndarray, background: np.ndarray
) -> list[Blob]:
    import cv2

    T, H, W = frames.shape[:3]
    N = points.shape[1]
    wanted = np.zeros((T, N), dtype=bool)
    for n in range(N):
        seen = np.flatnonzero(visible[:, n] & np.isfinite(points[:, n]).all(-1))
        if seen.size:
            wanted[
                seen[
                    np.unique(np.linspace(0, seen.size - 1, min(MAX_FRAMES, seen.size)).round().astype(int))
                ],
                n,
            ] = True
    records: list[list[tuple[float, float, float, float]]] = [[] for _ in range(N)]
    colours: list[list[np.ndarray]] = [[] for _ in range(N)]
    bgf = background.astype(np.float32)
    diff = {}
    for t in np.flatnonzero(wanted.any(1)):
        diff[t] = np.abs(frames[t].astype(np.float32) - bgf).max(-1)
    for t in diff:
        loose = (diff[t] > MIN_LEVEL).astype(np.uint8)
        _, labels = cv2.connectedComponents(loose, connectivity=8)
        for n in range(N):
            if not wanted[t, n]:
                continue
            x, y = points[t, n]
            c, r = int(round(x)), int(round(y))
            if not (0 <= c < W and 0 <= r < H) or labels[r, c] == 0:
                continue
            blob = labels == labels[r, c]
            # one object per blob: no other visible object's point in it
            if any(m != n and visible[t, m] and _inside_blob(blob, points[t, m]) for m in range(N)):
                continue
            dist = cv2.distanceTransform(blob.astype(np.uint8), cv2.DIST_L2, 3)
            inner = dist > INNER_PX + 0.5
            if inner.sum() < 1:
                continue
            level = max(0.5 * float(np.median(diff[t][inner])), MIN_LEVEL)
            mask = (diff[t] > level) & (dist > 0)
            s = _mask_stats(mask)
            if s is None:
                continue
            rad = np.sqrt(s[0] / np.pi)
            b = BORDER_FACTOR * max(s[1], 2 * rad) / 2 + 1
            if x < b - 0.5 or y < b - 0.5 or x > W - 0.5 - b or y > H - 0.5 - b:
                continue
            records[n].append(s)
            colours[n].append(appearance(frames[t][inner]))
    out = []
    for n, rec in enumerate(records):
        if not rec:
            out.append(_unmeasured())
            continue
        arr = np.array(rec)
        area = float(np.median(arr[:, 0]))
        radii = np.sqrt(arr[:, 0] / np.pi)
        rad = float(np.sqrt(area / np.pi))
        spread = float(np.median(np.abs(radii / rad - 1.0))) * 1.4826 if len(rec) > 1 else 0.1
        out.append(
            Blob(
                area, (float(np.median(arr[:, 1])), float(np.median(arr[:, 2]))), float(np.median(arr[:, 3])),
                rad, spread, len(rec), [float(a) for a in arr[:, 0]], np.median(np.stack(colours[n]), axis=0),
            )
        )  # fmt: skip
    return out


def appearance(pixels: np.ndarray) -> np.ndarray:
    """Appearance features of an object's inner pixels ``uint8 [K, 3]``: ``float64 [8]``.

    Mean R, G, B (0..1), their standard deviations, saturation ``(max - min) / max`` of the mean
    colour and the 90th-percentile brightness (highlights).
    """
    p = pixels.astype(np.float64) / 255.0
    mean = p.mean(0)
    std = p.std(0)
    sat = (mean.max() - mean.min()) / max(mean.max(), 1e-6)
    bright = float(np.percentile(p.mean(1), 90))
    return np.concatenate([mean, std, [sat, bright]])


def _inside_blob(blob: np.ndarray, p: np.ndarray) -> bool:
    if not np.isfinite(p).all():
        return False
    c, r = int(round(p[0])), int(round(p[1]))
    return 0 <= r < blob.shape[0] and 0 <= c < blob.shape[1] and bool(blob[r, c])


def guess_shape(blob: Blob) -> str | None:
    """ "ball" or "box" from the blob's fill of its rectangle; None when unmeasured."""
    if not blob.measured or not np.isfinite(blob.fill):
        return None
    return "ball" if blob.fill < BALL_FILL else "box"


def volume_m3(blob: Blob, shape: str, px_per_m: float) -> float:
    """Volume (m³) of the object under the shape assumption (module doc); NaN if unknown."""
    if not blob.measured or not np.isfinite(px_per_m) or px_per_m <= 0:
        return float("nan")
    if shape == "ball":
        r = blob.radius_px / px_per_m
        return 4.0 / 3.0 * np.pi * r**3
    w, h = blob.side_px[0] / px_per_m, blob.side_px[1] / px_per_m
    return float(w * h * min(w, h))


def mass_range(
    volume: float, density: tuple[float, float, float], size_rel: float, scale_rel: float
) -> tuple[float, float, float]:
    """``(mass, low, high)`` kg: volume × density with a range.

    ``density`` is (nominal, low, high) kg/m³; the size and scale relative 1-sigma uncertainties enter
    cubed (volume ∝ length³) and are spread to a 2-sigma factor on top of the density range.
    """
    nominal, lo, hi = density
    if not np.isfinite(volume):
        nan = float("nan")
        return nan, nan, nan
    rel = 3.0 * float(np.hypot(size_rel, scale_rel))
    f = float(np.exp(2.0 * rel))
    m = volume * nominal
    return float(m), float(volume * lo / f), float(volume * hi * f)


def ensure_uint8(frames: Any) -> np.ndarray:
    """Frames as uint8 ``[T, H, W, 3]`` (float input 0..1 is scaled)."""
    arr = np.asarray(frames)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
