"""Kinesonic perception (no ComfyUI imports): trajectory extraction from video.

Segment frame 0 (classic moving-object masks or SAM2), take mask centroids as object centres,
track them (pyramidal Lucas-Kanade, CoTracker3 or SAM2 video propagation), filter the tracks.
Module imports are light (numpy); OpenCV, sam2 and cotracker load inside the functions.
See docs/extraction.md.
"""

from .common import MissingDependencyError, PerceptionError
from .filter import FilterResult, filter_tracks
from .pipeline import Extraction, extract_tracks, segment_first_frame, track_objects
from .segment import (
    Prompt,
    classic_segment,
    estimate_background,
    mask_centroids,
    nudged_objects,
    parse_prompts,
)
from .track import blob_track, lk_track, masks_to_tracks

__all__ = [
    "Extraction",
    "FilterResult",
    "MissingDependencyError",
    "PerceptionError",
    "Prompt",
    "blob_track",
    "classic_segment",
    "estimate_background",
    "extract_tracks",
    "filter_tracks",
    "lk_track",
    "mask_centroids",
    "masks_to_tracks",
    "nudged_objects",
    "parse_prompts",
    "segment_first_frame",
    "track_objects",
]
