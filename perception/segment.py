"""First-frame segmentation without weights, mask centroids, and prompt parsing.

The classic segmenter finds *moving* objects in a static-camera clip: the background is
estimated from the frames (:func:`estimate_background`: temporal median, corrected where an
object rests for most of the clip), pixels of a frame that differ from it by more than a
threshold are foreground, and connected components of the cleaned foreground are the objects.
Objects that never move are part of the background and are not found (use SAM2 for them).

Object centres are mask centroids from image moments (``m10 / m00``, ``m01 / m00``); pixel
``(row i, column j)`` has its centre at ``(x, y) = (j, i)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import PerceptionError, as_frames, require

#: Default classic-segmentation settings (documented in docs/extraction.md).
DEFAULT_MIN_AREA = 12  # px: smaller masks are ignored
DEFAULT_THRESHOLD = 0.0  # 0 = automatic: max(MIN_THRESHOLD, 6 * robust noise level)
MIN_THRESHOLD = 18.0  # uint8 levels
MAX_BACKGROUND_SAMPLES = 64
STILL_LEVEL = 3.0  # uint8 levels: a pixel changing less than this between frames is "still"
# uint8 levels: frames that differ by no more than this hold no motion the segmenter could find (its
# threshold is at least MIN_THRESHOLD); H.264 flickers 3-6 levels on a still scene at crf 12-19
NO_MOTION_LEVEL = 8


def temporal_median_background(frames: Any, max_samples: int = MAX_BACKGROUND_SAMPLES) -> np.ndarray:
    """Per-pixel median over up to ``max_samples`` evenly spaced frames: ``float32 [H, W, 3]`` 0..255."""
    frames = as_frames(frames)
    T = frames.shape[0]
    index = np.unique(np.linspace(0, T - 1, min(T, max_samples)).round().astype(int))
    return np.median(frames[index], axis=0).astype(np.float32)


def _still_frames(sample: np.ndarray, still: float = STILL_LEVEL, reach: int = 1) -> np.ndarray:
    """``bool [S, H, W]``: the pixel changes little to every frame up to ``reach`` frames away.

    "Little" is ``max(still, 3 x the median frame-to-frame change)``, so sensor noise counts as
    still. With ``reach`` 2 slowly moving smooth objects (shading changing only a little from one
    frame to the next) count as moving too; on the physics world 1 and 2 score alike.
    """
    S = len(sample)
    step = np.abs(np.diff(sample, axis=0)).max(axis=-1)  # [S-1, H, W]
    still = max(still, 3.0 * float(np.median(step)))
    change = np.zeros(sample.shape[:3], dtype=np.float32)
    for d in range(1, min(reach, S - 1) + 1):
        diff = step if d == 1 else np.abs(sample[d:] - sample[:-d]).max(axis=-1)
        change[:-d] = np.maximum(change[:-d], diff)
        change[d:] = np.maximum(change[d:], diff)
    return change <= still


def _stable_median(sample: np.ndarray, still: float = STILL_LEVEL) -> np.ndarray:
    """Per-pixel median over the frames where the pixel is still (changes ≤ ``still`` to both neighbours).

    Moving objects rarely leave a pixel unchanged between frames, the background always does, so
    this is the background even where a slowly moving object covers a pixel for most of the clip.
    Pixels with fewer than 3 still frames use the plain median.
    """
    S = len(sample)
    plain = np.median(sample, axis=0)
    if S < 3:
        return plain
    still_mask = _still_frames(sample, still)
    count = still_mask.sum(axis=0)
    use = count >= 3
    if not use.any():
        return plain
    with np.errstate(all="ignore"):
        values = np.where(still_mask[:, use][..., None], sample[:, use], np.nan)
        plain[use] = np.nanmedian(values, axis=0)
    return plain


def estimate_background(
    frames: Any, threshold: float = DEFAULT_THRESHOLD, max_samples: int = MAX_BACKGROUND_SAMPLES
) -> np.ndarray:
    """Static background of a clip, robust to objects that rest for most of it: ``float32 [H, W, 3]``.

    1. ``M`` = per-pixel median over the frames where the pixel is still (see
       :func:`_stable_median`) — wrong where an object *rests* for more than half the clip (its
       "ghost" would be foreground wherever the object is not).
    2. A pixel that is still but differs from ``M`` in at least 5 % of the frames, always by
       about the same colour, has a second candidate ``m``: its median over those frames.
    3. For each connected region of such pixels the candidate that continues the surrounding
       background more smoothly across the region's border wins: a resting object makes ``M``
       stand out from its neighbours, while the uncovered background ``m`` blends in.
    """
    cv2 = require("cv2")
    frames = as_frames(frames)
    T = frames.shape[0]
    index = np.unique(np.linspace(0, T - 1, min(T, max_samples)).round().astype(int))
    sample = frames[index].astype(np.float32)
    S = len(index)
    median = _stable_median(sample)
    changed = np.stack([foreground_mask(f, median, threshold) for f in sample])  # [S, H, W]
    if S >= 3:
        changed &= _still_frames(sample)  # an alternative background is still, not passing by
    count = changed.sum(axis=0)
    candidate = count >= max(2, int(np.ceil(0.05 * S)))
    if not candidate.any():
        return median
    values = sample[:, candidate]  # [S, P, 3]
    mask = changed[:, candidate]
    with np.errstate(all="ignore"):
        picked = np.where(mask[..., None], values, np.nan)
        minority = np.nanmedian(picked, axis=0)  # [P, 3]
        spread = np.nanmedian(np.abs(picked - minority[None]).max(axis=-1), axis=0)  # [P]
    limit = threshold if threshold > 0 else MIN_THRESHOLD
    consistent = spread < 0.5 * limit
    plausible = np.zeros(candidate.shape, dtype=bool)
    plausible[candidate] = consistent
    alternative = median.copy()
    alternative[candidate] = np.where(consistent[:, None], minority, median[candidate])
    regions = components(plausible, min_area=1)
    background = median.copy()
    kernel = np.ones((3, 3), np.uint8)
    for region in regions:
        outside = ~region
        ring_in = region & ~cv2.erode(region.astype(np.uint8), kernel).astype(bool)
        weights = cv2.boxFilter(outside.astype(np.float32), -1, (3, 3), normalize=False)
        sums = cv2.boxFilter(median * outside[..., None], -1, (3, 3), normalize=False)
        border = ring_in & (weights > 0)
        if not border.any():
            continue
        neighbours = sums[border] / weights[border][:, None]
        err_major = float(np.abs(median[border] - neighbours).sum(axis=-1).mean())
        err_minor = float(np.abs(alternative[border] - neighbours).sum(axis=-1).mean())
        if err_minor < err_major:
            background[region] = alternative[region]
    return background


def difference_image(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Largest absolute colour difference per pixel between a frame and the background: ``float32 [H, W]``."""
    return np.abs(frame.astype(np.float32) - background).max(axis=-1)


def auto_threshold(diff: np.ndarray) -> float:
    """A foreground threshold for a difference image: ``max(MIN_THRESHOLD, 6 * 1.4826 * MAD)``."""
    med = float(np.median(diff))
    mad = float(np.median(np.abs(diff - med)))
    return max(MIN_THRESHOLD, med + 6.0 * 1.4826 * mad)


def foreground_mask(
    frame: np.ndarray, background: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> np.ndarray:
    """Cleaned foreground of one uint8 frame ``[H, W, 3]``: ``bool [H, W]`` (open 3x3, then close 3x3)."""
    cv2 = require("cv2")
    diff = difference_image(frame, background)
    thr = threshold if threshold > 0 else auto_threshold(diff)
    binary = (diff > thr).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel)
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)
    return binary.astype(bool)


def components(mask: np.ndarray, min_area: int = DEFAULT_MIN_AREA) -> np.ndarray:
    """Connected components (8-connected) of a ``bool [H, W]`` mask with ≥ ``min_area`` pixels.

    Returns ``bool [K, H, W]`` sorted by decreasing area.
    """
    cv2 = require("cv2")
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = [i + 1 for i in np.argsort(-areas, kind="stable") if areas[i] >= min_area]
    if not order:
        return np.zeros((0, *mask.shape), dtype=bool)
    return np.stack([labels == i for i in order])


def classic_segment(
    frames: Any,
    frame_index: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    min_area: int = DEFAULT_MIN_AREA,
    background: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Moving-object masks of frame ``frame_index`` of a static-camera clip (no weights).

    Args:
        frames: ``[T, H, W, 3]`` uint8 or float 0..1; needs T ≥ 2 and some motion.
        frame_index: which frame to segment.
        threshold: foreground threshold in uint8 levels (0 = automatic, see :func:`auto_threshold`).
        min_area: components smaller than this many pixels are ignored.
        background: a precomputed ``[H, W, 3]`` background (default: :func:`estimate_background`).

    Returns:
        ``(masks bool [K, H, W], background float32 [H, W, 3])``.

    Raises:
        PerceptionError: one frame only, or no pixel changes over the clip (no motion).
    """
    frames = as_frames(frames)
    T = frames.shape[0]
    if T < 2:
        raise PerceptionError(
            "classic segmentation needs at least 2 frames (it finds objects that move); got 1 frame. "
            "Use the SAM2 backend for single images."
        )
    if not 0 <= frame_index < T:
        raise PerceptionError(f"frame_index {frame_index} is outside the clip's {T} frames")
    sample = frames[:: max(1, T // 32)].astype(np.int16)
    if (
        int(np.abs(sample - sample[0]).max()) <= NO_MOTION_LEVEL
        and int(np.abs(frames[-1].astype(np.int16) - frames[0]).max()) <= NO_MOTION_LEVEL
    ):
        raise PerceptionError(
            f"no motion: the {T} frames are (nearly) identical, so there are no moving objects to find"
        )
    if background is None:
        background = estimate_background(frames, threshold)
    mask = foreground_mask(frames[frame_index], background, threshold)
    masks = components(mask, min_area)
    if frame_index == 0:
        nudged = nudged_objects(frames, masks, threshold, min_area)
        if len(nudged):
            masks = np.concatenate([masks, nudged], axis=0)
    return masks, background


#: nudged_objects: flood-fill tolerance (uint8 levels between neighbouring pixels) and the largest
#: region (fraction of the image) that still counts as an object rather than background.
FLOOD_TOLERANCE = 10
MAX_OBJECT_FRACTION = 0.05


def nudged_objects(
    frames: np.ndarray,
    known: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    min_area: int = DEFAULT_MIN_AREA,
) -> np.ndarray:
    """Frame-0 masks of objects that rest for most of the clip but end up somewhere else.

    Such an object is part of the background estimate, so frame 0 shows no foreground for it.
    Where frame 0 and the last frame differ, outside the known masks, a flood fill of frame 0
    (neighbour tolerance :data:`FLOOD_TOLERANCE` levels) from the difference region grows over
    whatever is there: over an object it stops at the object's outline (a region of
    ``min_area`` to 5 % of the image), over the background it leaks far and is discarded.

    Args:
        frames: ``uint8 [T, H, W, 3]``; known: ``bool [K, H, W]`` masks already found.

    Returns:
        ``bool [K', H, W]`` new masks (holes filled).
    """
    cv2 = require("cv2")
    T, H, W = frames.shape[:3]
    first, last = frames[0], frames[-1]
    diff = difference_image(first, last.astype(np.float32))
    thr = threshold if threshold > 0 else auto_threshold(diff)
    changed = cv2.morphologyEx((diff > thr).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    covered = np.zeros((H, W), dtype=bool)
    if len(known):
        covered = cv2.dilate(known.any(axis=0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    changed &= ~covered
    found: list[np.ndarray] = []
    image = np.ascontiguousarray(first)
    tol = (FLOOD_TOLERANCE,) * 3
    for comp in components(changed, max(4, min_area // 3)):
        ys, xs = np.nonzero(comp)
        for i in range(0, len(ys), max(1, len(ys) // 8)):  # up to 8 seeds spread over the region
            fill = np.zeros((H + 2, W + 2), np.uint8)
            flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
            cv2.floodFill(image.copy(), fill, (int(xs[i]), int(ys[i])), (0, 0, 0), tol, tol, flags)
            region = fill[1:-1, 1:-1] > 0
            area = int(region.sum())
            if area < min_area or area > MAX_OBJECT_FRACTION * H * W or (region & covered).any():
                continue
            contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            solid = np.zeros((H, W), np.uint8)
            cv2.drawContours(solid, contours, -1, 1, thickness=-1)
            solid_mask = solid > 0
            if any((solid_mask & f).any() for f in found):
                continue
            found.append(solid_mask)
            break
    return np.stack(found) if found else np.zeros((0, H, W), dtype=bool)


def mask_centroids(masks: Any, min_area: int = DEFAULT_MIN_AREA) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of masks from image moments.

    Args:
        masks: ``[K, H, W]`` (bool or 0..1 float; > 0.5 is inside).
        min_area: masks with fewer pixels are ignored (empty masks always are).

    Returns:
        ``(centres float64 [K', 2] pixel (x, y), kept int64 [K'] indices into masks)``.
    """
    cv2 = require("cv2")
    if hasattr(masks, "detach"):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    centres, kept = [], []
    for k, mask in enumerate(masks):
        binary = (mask > 0.5).astype(np.uint8)
        m = cv2.moments(binary, binaryImage=True)
        if m["m00"] < max(1, min_area):
            continue
        centres.append((m["m10"] / m["m00"], m["m01"] / m["m00"]))
        kept.append(k)
    return np.asarray(centres, dtype=np.float64).reshape(-1, 2), np.asarray(kept, dtype=np.int64)


# --------------------------------------------------------------------------- prompts


@dataclass
class Prompt:
    """Prompt for one object: positive / negative points (pixel x, y) and/or a box (x1, y1, x2, y2)."""

    points: list[tuple[float, float]] = field(default_factory=list)
    negative: list[tuple[float, float]] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None


def _point(item: Any) -> tuple[float, float]:
    if isinstance(item, dict) and "x" in item and "y" in item:
        return float(item["x"]), float(item["y"])
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return float(item[0]), float(item[1])
    raise PerceptionError(f'prompt point must be {{"x": .., "y": ..}} or [x, y], got {item!r}')


def _box(item: Any) -> tuple[float, float, float, float]:
    if isinstance(item, dict):
        keys = ("x1", "y1", "x2", "y2") if "x1" in item else None
        if keys is None and {"x", "y", "width", "height"} <= set(item):
            x, y = float(item["x"]), float(item["y"])
            return x, y, x + float(item["width"]), y + float(item["height"])
        if keys is None:
            raise PerceptionError(f"prompt box must be [x1, y1, x2, y2], got {item!r}")
        item = [item[k] for k in keys]
    if isinstance(item, (list, tuple)) and len(item) == 4:
        x1, y1, x2, y2 = (float(v) for v in item)
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
    raise PerceptionError(f"prompt box must be [x1, y1, x2, y2], got {item!r}")


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise PerceptionError(f"prompts are not valid JSON: {error}") from error
    return value


def parse_prompts(points: Any = None, negative: Any = None, boxes: Any = None) -> list[Prompt]:
    """Per-object prompts from JSON (strings or already-parsed values).

    Accepted forms:

    - KJNodes PointsEditor: ``points`` = ``[{"x": .., "y": ..}, ...]`` (one object per positive
      point), ``negative`` = the editor's negative-coordinates JSON (applied to every object),
      ``boxes`` = its bbox output ``[[x1, y1, x2, y2], ...]`` (one object per box);
    - a dict ``{"points": [...], "negative": [...], "boxes": [...]}`` in ``points``;
    - a dict ``{"objects": [{"points": [...], "negative": [...], "box": [x1, y1, x2, y2]}, ...]}``
      for several clicks on the same object.

    Coordinates are pixels of the first frame. Returns one :class:`Prompt` per object.
    """
    data = _loads(points)
    negative_data = _loads(negative)
    boxes_data = _loads(boxes)
    prompts: list[Prompt] = []
    if isinstance(data, dict):
        if "objects" in data:
            for obj in data["objects"]:
                prompt = Prompt(
                    points=[_point(p) for p in obj.get("points", [])],
                    negative=[_point(p) for p in obj.get("negative", obj.get("neg_points", []))],
                    box=_box(obj["box"]) if obj.get("box") is not None else None,
                )
                if not prompt.points and prompt.box is None:
                    raise PerceptionError(f"prompt object has neither points nor a box: {obj!r}")
                prompts.append(prompt)
            return prompts
        negative_data = negative_data or data.get("negative", data.get("neg_points"))
        boxes_data = boxes_data or data.get("boxes", data.get("bboxes"))
        data = data.get("points", data.get("positive"))
    neg = [_point(p) for p in (negative_data or [])]
    if data:
        if isinstance(data, dict):
            data = [data]
        prompts.extend(Prompt(points=[_point(p)], negative=list(neg)) for p in data)
    if boxes_data:
        if (
            isinstance(boxes_data, (list, tuple))
            and len(boxes_data) == 4
            and not isinstance(boxes_data[0], (list, tuple, dict))
        ):
            boxes_data = [boxes_data]
        prompts.extend(Prompt(box=_box(b), negative=list(neg)) for b in boxes_data)
    return prompts
