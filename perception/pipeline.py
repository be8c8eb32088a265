"""Trajectory extraction: segment frame 0 → object centres → track → filter → :class:`Tracks`.

Backends:

- segmenter ``"classic"`` (default, no weights, static camera): moving-object masks from a
  temporal-median background (:func:`.segment.classic_segment`); ``"sam2"``: SAM2 automatic
  masks or point/box prompts (:func:`.sam2_adapter.sam2_segment`);
- tracker ``"lk"`` (default, no weights): pyramidal Lucas-Kanade with a forward-backward check
  (:func:`.track.lk_track`), for the classic segmenter combined with foreground-blob
  association (:func:`.track.blob_track`); ``"cotracker"``: CoTracker3 offline seeded
  with the centres; ``"sam2"``: SAM2 video propagation with per-frame mask centroids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import Callback, PerceptionError, as_frames, as_masks, report
from .filter import DEFAULT_BORDER, DEFAULT_MIN_MOTION, DEFAULT_MIN_VISIBLE, FilterResult, filter_tracks
from .segment import DEFAULT_MIN_AREA, DEFAULT_THRESHOLD, Prompt, classic_segment, mask_centroids

SEGMENTERS = ("classic", "sam2")
TRACKERS = ("lk", "cotracker", "sam2")


@dataclass
class Extraction:
    """Result of :func:`extract_tracks`.

    Attributes:
        points: ``float64 [T, N, 2]`` pixel (x, y) of every tracked object (before filtering).
        visible: ``bool [T, N]``.
        masks: ``bool [N, H, W]`` frame-0 masks of the tracked objects.
        filter: which of the N tracks passed :func:`.filter.filter_tracks` and why others did not.
        fps, width, height: clip facts. info: backend names and counts.
    """

    points: np.ndarray
    visible: np.ndarray
    masks: np.ndarray
    filter: FilterResult
    fps: float
    width: int
    height: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> np.ndarray:
        """Indices of the tracks that passed the filter."""
        return self.filter.kept

    def tracks(self, filtered: bool = True) -> Any:
        """The tracks as :class:`kinematics.Tracks` (labels ``object_<i>`` by frame-0 index).

        Raises :class:`PerceptionError` when no track is left.
        """
        from ..kinematics import Tracks

        index = self.kept if filtered else np.arange(self.points.shape[1])
        if len(index) == 0:
            why = "; ".join(f"object_{n}: {r}" for n, r in self.filter.reasons.items()) or "no objects found"
            raise PerceptionError(f"no usable tracks left after filtering ({why})")
        return Tracks(
            self.points[:, index],
            self.visible[:, index],
            self.fps,
            self.width,
            self.height,
            labels=[f"object_{n}" for n in index],
        )


def _stage(callback: Callback, start: float, span: float) -> Callback:
    """Map a sub-task's ``(done, total)`` onto ``[start, start + span]`` of 1000 overall steps."""
    if callback is None:
        return None

    def inner(done: int, total: int) -> None:
        callback(int(1000 * (start + span * done / max(total, 1))), 1000)

    return inner


def segment_first_frame(
    frames: Any,
    segmenter: str = "classic",
    sam2: Any = None,
    prompts: list[Prompt] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_area: int = DEFAULT_MIN_AREA,
    points_per_side: int = 16,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Object masks of frame 0.

    Args:
        frames: ``[T, H, W, 3]`` uint8 or float 0..1 (classic needs T ≥ 2).
        segmenter: ``"classic"`` or ``"sam2"`` (then ``sam2`` is a :class:`.sam2_adapter.SAM2Model`).
        prompts: SAM2 prompts (one per object); none = automatic masks.
        threshold, min_area: classic foreground threshold (0 = auto) and minimum mask area (px).
        points_per_side: SAM2 automatic point grid.

    Returns:
        ``(masks bool [K, H, W], background float32 [H, W, 3] or None)``.
    """
    frames = as_frames(frames)
    if segmenter == "classic":
        return classic_segment(frames, 0, threshold=threshold, min_area=min_area)
    if segmenter == "sam2":
        from .sam2_adapter import sam2_segment

        if sam2 is None:
            raise PerceptionError("segmenter 'sam2' needs a loaded SAM2 model")
        masks, _ = sam2_segment(sam2, frames[0], prompts, points_per_side=points_per_side, min_area=min_area)
        return masks, None
    raise PerceptionError(f"unknown segmenter {segmenter!r}; expected one of {', '.join(SEGMENTERS)}")


def track_objects(
    frames: Any,
    centres: Any,
    masks: Any = None,
    tracker: str = "lk",
    sam2: Any = None,
    cotracker: Any = None,
    background: np.ndarray | None = None,
    min_area: int = DEFAULT_MIN_AREA,
    callback: Callback = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Track objects from frame 0 with one backend.

    Args:
        frames: ``[T, H, W, 3]``; centres: ``[N, 2]`` pixel (x, y) in frame 0.
        masks: ``[N, H, W]`` frame-0 masks (needed by ``"sam2"``; used by ``"lk"`` when given).
        tracker: ``"lk"``, ``"cotracker"`` (needs ``cotracker``) or ``"sam2"`` (needs ``sam2``).
        background: static background ``[H, W, 3]``; with ``"lk"`` and masks, tracking follows
            foreground blobs with LK in between (:func:`.track.blob_track`).
        callback: ``callback(done, total)``.

    Returns:
        ``(tracks float64 [T, N, 2] pixel (x, y), visible bool [T, N])``.
    """
    from .track import blob_track, lk_track, masks_to_tracks

    frames = as_frames(frames)
    if tracker == "lk":
        if background is not None and masks is not None:
            return blob_track(frames, centres, masks, background, min_area=min_area, callback=callback)
        return lk_track(frames, centres, masks, callback=callback)
    if tracker == "cotracker":
        from .cotracker_adapter import cotracker_track

        if cotracker is None:
            raise PerceptionError("tracker 'cotracker' needs a loaded CoTracker model")
        return cotracker_track(cotracker, frames, centres, callback=callback)
    if tracker == "sam2":
        from .sam2_adapter import sam2_propagate

        if sam2 is None:
            raise PerceptionError("tracker 'sam2' needs a loaded SAM2 model")
        if masks is None:
            raise PerceptionError("tracker 'sam2' needs frame-0 masks of the objects")
        mask_video = sam2_propagate(sam2, frames, masks, callback=callback)
        points, visible = masks_to_tracks(mask_video, min_area=min_area)
        # frame 0 keeps the seeded centres so every backend starts from the same queries
        points[0], visible[0] = np.asarray(centres, dtype=np.float64), True
        return points, visible
    raise PerceptionError(f"unknown tracker {tracker!r}; expected one of {', '.join(TRACKERS)}")


def extract_tracks(
    frames: Any,
    fps: float,
    segmenter: str = "classic",
    tracker: str = "lk",
    sam2: Any = None,
    cotracker: Any = None,
    prompts: list[Prompt] | None = None,
    masks: Any = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_area: int = DEFAULT_MIN_AREA,
    points_per_side: int = 16,
    min_visible: float = DEFAULT_MIN_VISIBLE,
    min_motion: float = DEFAULT_MIN_MOTION,
    border: float = DEFAULT_BORDER,
    callback: Callback = None,
) -> Extraction:
    """The whole pipeline on one clip.

    Args:
        frames: ``[T, H, W, 3]`` uint8 or float 0..1.
        fps: frames per second of the clip.
        segmenter, tracker: backends (see the module doc); sam2 / cotracker: loaded models.
        prompts: SAM2 prompts; masks: ready-made ``[K, H, W]`` frame-0 masks (skip segmentation).
        threshold, min_area, points_per_side: segmentation settings (see :func:`segment_first_frame`).
        min_visible, min_motion, border: track filter (see :func:`.filter.filter_tracks`).
        callback: ``callback(done, total)`` over the whole run.

    Raises:
        PerceptionError: bad frames, one frame, no motion (classic), no object found.
    """
    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    if T < 2:
        raise PerceptionError(f"trajectory extraction needs at least 2 frames, got {T}")
    if not np.isfinite(fps) or fps <= 0:
        raise PerceptionError(f"fps must be positive, got {fps}")
    report(callback, 0, 1000)
    background = None
    if masks is None:
        masks, background = segment_first_frame(
            frames, segmenter, sam2, prompts, threshold, min_area, points_per_side
        )
    else:
        masks = as_masks(masks, H, W)
        if segmenter == "classic":
            from .segment import estimate_background

            background = estimate_background(frames, threshold)
    report(callback, 100, 1000)
    centres, kept = mask_centroids(masks, min_area)
    masks = masks[kept]
    if len(centres) == 0:
        raise PerceptionError(
            f"no objects found in frame 0 by the {segmenter!r} segmenter (masks of at least {min_area} px)"
        )
    points, visible = track_objects(
        frames, centres, masks, tracker, sam2, cotracker, background, min_area, _stage(callback, 0.1, 0.9)
    )
    result = filter_tracks(points, visible, W, H, min_visible, min_motion, border)
    report(callback, 1000, 1000)
    info = {
        "segmenter": segmenter,
        "tracker": tracker,
        "objects_found": int(len(centres)),
        "tracks_kept": int(result.keep.sum()),
        "dropped": {f"object_{n}": r for n, r in result.reasons.items()},
    }
    return Extraction(points, visible, masks, result, float(fps), W, H, info)
