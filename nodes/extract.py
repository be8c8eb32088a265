"""Trajectory extraction nodes (Kinesonic/Tracks): segment frame 0, track points, filter, all-in-one.

Thin shells over :mod:`kinesonic.perception`; heavy imports (cv2, sam2, cotracker) happen inside
the functions. Weights come from ComfyUI's ``models/sam2`` and ``models/cotracker`` folders;
nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import bridge
from .base import CATEGORY_ROOT, TRACKS, NodeInputError
from .sockets import image_input, image_output

CATEGORY = f"{CATEGORY_ROOT}/Tracks"
NONE = "none"
SAM2_EXTENSIONS = (".pt", ".pth", ".safetensors")
COTRACKER_EXTENSIONS = (".pth", ".pt", ".safetensors")
SAM2_CONFIGS = [
    "auto",
    "sam2.1_hiera_t",
    "sam2.1_hiera_s",
    "sam2.1_hiera_b+",
    "sam2.1_hiera_l",
    "sam2_hiera_t",
    "sam2_hiera_s",
    "sam2_hiera_b+",
    "sam2_hiera_l",
]

_CACHE: dict[str, tuple[tuple, Any]] = {}


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _models(kind: str, extensions: tuple[str, ...]) -> list[str]:
    return [NONE, *bridge.list_models(kind, extensions)]


def _missing_model(node: str, input_name: str, kind: str, example: str) -> NodeInputError:
    where = ", ".join(str(f) for f in bridge.model_folders(kind))
    return NodeInputError(
        node,
        input_name,
        f"a {kind} checkpoint (e.g. {example}) chosen here; put the file in one of: {where}",
        NONE,
    )


def load_sam2_cached(node: str, name: str, config: str, image_size: int) -> Any:
    """The SAM2 model for ``name`` in models/sam2 (kept loaded while the same file/config is used)."""
    if name in ("", NONE):
        raise _missing_model(node, "sam2_model", "sam2", "sam2.1_hiera_tiny.pt")
    path = bridge.resolve_model("sam2", name, node, "sam2_model")
    key = (str(path), path.stat().st_mtime, config, int(image_size), _device())
    cached = _CACHE.get("sam2")
    if cached is not None and cached[0] == key:
        return cached[1]
    from ..perception.common import MissingDependencyError, PerceptionError
    from ..perception.sam2_adapter import load_sam2

    try:
        model = load_sam2(path, config, _device(), image_size or None)
    except MissingDependencyError as error:
        raise NodeInputError.because(node, "sam2_model", error) from error
    except PerceptionError as error:
        raise NodeInputError.because(node, "sam2_config", error) from error
    _CACHE["sam2"] = (key, model)
    return model


def load_cotracker_cached(node: str, name: str, size: int = 0) -> Any:
    """The CoTracker3 offline model for ``name`` in models/cotracker (kept loaded while unchanged).

    ``size`` > 0 makes the model work at ``size`` x ``size`` px instead of its native 384 x 512.
    """
    if name in ("", NONE):
        raise _missing_model(node, "cotracker_model", "cotracker", "scaled_offline.pth")
    path = bridge.resolve_model("cotracker", name, node, "cotracker_model")
    key = (str(path), path.stat().st_mtime, _device(), int(size))
    cached = _CACHE.get("cotracker")
    if cached is not None and cached[0] == key:
        return cached[1]
    from ..perception.common import MissingDependencyError, PerceptionError
    from ..perception.cotracker_adapter import load_cotracker

    try:
        model = load_cotracker(path, _device(), interp_shape=(size, size) if size else None)
    except (MissingDependencyError, PerceptionError) as error:
        raise NodeInputError.because(node, "cotracker_model", error) from error
    _CACHE["cotracker"] = (key, model)
    return model


def _frames(node: str, images: Any, min_frames: int = 1) -> np.ndarray:
    """The checked ``images`` input as uint8 ``[T, H, W, 3]`` (perception's rounding)."""
    from ..perception.common import PerceptionError, as_frames

    try:
        return as_frames(image_input(node, "images", images, min_frames))
    except PerceptionError as error:  # e.g. frames smaller than 2x2 pixels
        raise NodeInputError.because(node, "images", error) from None


def _prompts(node: str, points: str, negative: str, boxes: str) -> list:
    from ..perception.common import PerceptionError
    from ..perception.segment import parse_prompts

    try:
        return parse_prompts(points or None, negative or None, boxes or None)
    except PerceptionError as error:
        raise NodeInputError.because(node, "points", error) from error


def _cotracker_inputs() -> dict[str, Any]:
    return {
        "cotracker_model": (
            _models("cotracker", COTRACKER_EXTENSIONS),
            {
                "default": NONE,
                "tooltip": "CoTracker3 offline checkpoint in models/cotracker (e.g. scaled_offline.pth)",
            },
        ),
        "cotracker_size": (
            "INT",
            {
                "default": 0,
                "min": 0,
                "max": 1024,
                "step": 16,
                "tooltip": "CoTracker working size in px (square; 0 = the model's 384x512)",
            },
        ),
    }


def _sam2_inputs() -> dict[str, Any]:
    return {
        "sam2_model": (
            _models("sam2", SAM2_EXTENSIONS),
            {
                "default": NONE,
                "tooltip": "SAM2 checkpoint in models/sam2 (.pt or .safetensors); for SAM2 backends",
            },
        ),
        "sam2_config": (
            SAM2_CONFIGS,
            {"default": "auto", "tooltip": "SAM2 model config; auto = read the size from the file name"},
        ),
        "sam2_image_size": (
            "INT",
            {"default": 0, "min": 0, "max": 2048, "step": 32, "tooltip": "SAM2 input size in px (0 = 1024)"},
        ),
    }


def _prompt_inputs() -> dict[str, Any]:
    return {
        "points": (
            "STRING",
            {
                "default": "",
                "multiline": True,
                "tooltip": 'SAM2 prompts, frame-0 pixels: KJNodes PointsEditor JSON [{"x":..,"y":..}] (one '
                'object per point) or {"objects": [...]}; empty = automatic masks',
            },
        ),
        "negative_points": ("STRING", {"default": "", "tooltip": "Negative points JSON (PointsEditor)"}),
        "boxes": ("STRING", {"default": "", "tooltip": "Boxes JSON [[x1,y1,x2,y2], ...], one object each"}),
    }


def _filter_inputs() -> dict[str, Any]:
    from ..perception.filter import DEFAULT_BORDER, DEFAULT_MIN_MOTION, DEFAULT_MIN_VISIBLE

    return {
        "min_visible": (
            "FLOAT",
            {
                "default": DEFAULT_MIN_VISIBLE,
                "min": 0.0,
                "max": 1.0,
                "step": 0.05,
                "tooltip": "Drop tracks visible in fewer than this fraction of the frames",
            },
        ),
        "min_motion": (
            "FLOAT",
            {
                "default": DEFAULT_MIN_MOTION,
                "min": 0.0,
                "max": 10000.0,
                "step": 0.5,
                "tooltip": "Drop tracks whose points stay within this many px of their start",
            },
        ),
        "border": (
            "FLOAT",
            {
                "default": DEFAULT_BORDER,
                "min": 0.0,
                "max": 1000.0,
                "step": 1.0,
                "tooltip": "Drop tracks that stay within this many px of the image border (0 = off)",
            },
        ),
    }


def _lower(node: str, input_name: str, call: Any) -> Any:
    from ..perception.common import MissingDependencyError, PerceptionError

    try:
        return call()
    except (PerceptionError, MissingDependencyError) as error:
        raise NodeInputError.because(node, input_name, error) from error


class KinesonicSegmentFirstFrame:
    DISPLAY_NAME = "Segment First Frame"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Object masks of the first frame: 'classic' finds moving objects in a static-camera clip "
        "(temporal-median background, no weights); 'sam2' uses SAM2 with point/box prompts or "
        "automatic masks."
    )
    RETURN_TYPES = ("MASK", "IMAGE")
    RETURN_NAMES = ("masks", "preview")
    OUTPUT_TOOLTIPS = ("One mask per object [K,H,W]", "Frame 0 with tinted masks and centroids")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        from ..perception.segment import DEFAULT_MIN_AREA

        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The clip [T,H,W,3] (classic needs ≥ 2 frames with motion)"}),
                "segmenter": (["classic", "sam2"], {"default": "classic", "tooltip": "Segmentation backend"}),
                "threshold": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 255.0,
                        "step": 1.0,
                        "tooltip": "Classic: foreground threshold in 0..255 levels (0 = automatic)",
                    },
                ),
                "min_area": (
                    "INT",
                    {
                        "default": DEFAULT_MIN_AREA,
                        "min": 1,
                        "max": 1_000_000,
                        "tooltip": "Ignore masks below (px)",
                    },
                ),
            },
            "optional": {**_sam2_inputs(), **_prompt_inputs()},
        }

    def run(
        self,
        images: torch.Tensor,
        segmenter: str,
        threshold: float,
        min_area: int,
        sam2_model: str = NONE,
        sam2_config: str = "auto",
        sam2_image_size: int = 0,
        points: str = "",
        negative_points: str = "",
        boxes: str = "",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        from ..perception.pipeline import segment_first_frame
        from ..perception.preview import draw_masks
        from ..perception.segment import mask_centroids

        node = self.DISPLAY_NAME
        frames = _frames(node, images)
        sam = None
        prompts = _prompts(node, points, negative_points, boxes)
        if segmenter == "sam2":
            sam = load_sam2_cached(node, sam2_model, sam2_config, sam2_image_size)
        callback, bar = bridge.progress_callback(2, "segment")
        with bar:
            callback(0, 2)
            masks, _ = _lower(
                node,
                "images",
                lambda: segment_first_frame(frames, segmenter, sam, prompts, threshold, min_area),
            )
            callback(1, 2)
            centres, kept = mask_centroids(masks, min_area)
            masks = masks[kept]
            if len(masks) == 0:
                raise NodeInputError(
                    node, "images", f"at least one object of ≥ {min_area} px in frame 0", "none"
                )
            preview = draw_masks(frames[0], masks, centres)
            callback(2, 2)
        return torch.from_numpy(masks.astype(np.float32)), image_output(preview)


class KinesonicTrackPoints:
    DISPLAY_NAME = "Track Points"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Track objects from frame 0 → TRACKS. Queries are the mask centroids (or the given points). "
        "'lk' = pyramidal Lucas-Kanade with forward-backward check (no weights); 'cotracker' = CoTracker3 "
        "offline (models/cotracker); 'sam2' = SAM2 video propagation, per-frame mask centroids (needs masks)."
    )
    RETURN_TYPES = (TRACKS,)
    RETURN_NAMES = ("tracks",)
    OUTPUT_TOOLTIPS = ("Tracks [T,N,2] px (x, y) with visibility, fps and image size",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The clip [T,H,W,3]"}),
                "tracker": (["lk", "cotracker", "sam2"], {"default": "lk", "tooltip": "Tracking backend"}),
                "fps": ("FLOAT", {"default": 16.0, "min": 0.1, "max": 240.0, "tooltip": "Frames per second"}),
                "static_camera": (
                    "BOOLEAN",
                    {
                        "default": True,
                        "tooltip": "lk + masks: snap centres to moving-foreground centroids (static camera)",
                    },
                ),
            },
            "optional": {
                "masks": ("MASK", {"tooltip": "Frame-0 object masks [K,H,W]; queries = their centroids"}),
                "query_points": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "tooltip": 'Frame-0 query points JSON [{"x":..,"y":..}] (instead of mask centroids)',
                    },
                ),
                **_cotracker_inputs(),
                **_sam2_inputs(),
            },
        }

    def run(
        self,
        images: torch.Tensor,
        tracker: str,
        fps: float,
        static_camera: bool,
        masks: torch.Tensor | None = None,
        query_points: str = "",
        cotracker_model: str = NONE,
        cotracker_size: int = 0,
        sam2_model: str = NONE,
        sam2_config: str = "auto",
        sam2_image_size: int = 0,
    ) -> tuple[dict]:
        from ..kinematics import Tracks
        from ..perception.common import as_masks
        from ..perception.pipeline import track_objects
        from ..perception.segment import estimate_background, mask_centroids, parse_prompts

        node = self.DISPLAY_NAME
        frames = _frames(node, images)
        T, H, W = frames.shape[:3]
        obj_masks = None
        if masks is not None:
            obj_masks = _lower(node, "masks", lambda: as_masks(masks, H, W))
        if query_points.strip():
            prompts = _lower(node, "query_points", lambda: parse_prompts(query_points))
            centres = np.asarray([p.points[0] for p in prompts if p.points], dtype=np.float64).reshape(-1, 2)
            if obj_masks is not None and len(obj_masks) != len(centres):
                obj_masks = None  # masks do not correspond to the points
        elif obj_masks is not None:
            centres, kept = mask_centroids(obj_masks)
            obj_masks = obj_masks[kept]
        else:
            raise NodeInputError(node, "masks", "frame-0 masks or query_points to track", None)
        if len(centres) == 0:
            raise NodeInputError(node, "masks", "at least one non-empty mask or query point", "none")
        sam = cot = None
        if tracker == "sam2":
            if obj_masks is None:
                raise NodeInputError(
                    node, "masks", "frame-0 masks (one per query) for the sam2 tracker", None
                )
            sam = load_sam2_cached(node, sam2_model, sam2_config, sam2_image_size)
        elif tracker == "cotracker":
            cot = load_cotracker_cached(node, cotracker_model, cotracker_size)
        background = None
        if tracker == "lk" and static_camera and obj_masks is not None and T >= 2:
            background = estimate_background(frames)
        callback, bar = bridge.progress_callback(1000, "track")
        with bar:
            points, visible = _lower(
                node,
                "images",
                lambda: track_objects(
                    frames, centres, obj_masks, tracker, sam, cot, background, callback=callback
                ),
            )
        tracks = Tracks(points, visible, fps, W, H, labels=[f"object_{n}" for n in range(len(centres))])
        return (tracks.to_comfy(as_torch=True),)


class KinesonicFilterTracks:
    DISPLAY_NAME = "Filter Tracks"
    CATEGORY = CATEGORY
    DESCRIPTION = "Drop tracks that are visible too briefly, barely move, or stay near the image border."
    RETURN_TYPES = (TRACKS, "STRING")
    RETURN_NAMES = ("tracks", "report")
    OUTPUT_TOOLTIPS = ("The kept tracks", "Which tracks were dropped and why")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        from .track_io import track_size_inputs

        return {
            "required": {"tracks": (TRACKS, {"tooltip": "Tracks to filter"}), **_filter_inputs()},
            "optional": track_size_inputs(),
        }

    def run(
        self,
        tracks: dict,
        min_visible: float,
        min_motion: float,
        border: float,
        image: torch.Tensor | None = None,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
    ) -> tuple[dict, str]:
        from ..kinematics import Tracks
        from ..perception.filter import filter_tracks
        from .track_io import tracks_in

        node = self.DISPLAY_NAME
        if isinstance(tracks, (str, bytes)):
            try:
                t = Tracks.from_json(tracks)
            except ValueError as error:
                raise NodeInputError.because(node, "tracks", error) from error
        else:
            t = tracks_in(tracks, node, "tracks", width, height, fps, image)
        result = _lower(
            node,
            "tracks",
            lambda: filter_tracks(t.points, t.visible, t.width, t.height, min_visible, min_motion, border),
        )
        names = t.names
        lines = [f"kept {int(result.keep.sum())}/{t.num_tracks} tracks"]
        lines += [f"dropped {names[n]}: {why}" for n, why in result.reasons.items()]
        if not result.keep.any():
            raise NodeInputError(
                node, "tracks", "at least one track passing the filter", "; ".join(lines[1:])
            )
        return (t.select(result.kept).to_comfy(as_torch=True), "\n".join(lines))


class KinesonicExtractTracks:
    DISPLAY_NAME = "Extract Tracks"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "All in one: segment frame 0, take mask centroids, track them and filter the tracks. Defaults "
        "need no weights (classic segmentation + Lucas-Kanade, static camera)."
    )
    RETURN_TYPES = (TRACKS, "MASK", "IMAGE")
    RETURN_NAMES = ("tracks", "masks", "preview")
    OUTPUT_TOOLTIPS = (
        "Filtered tracks [T,N,2] px (x, y)",
        "Frame-0 masks of the kept objects [N,H,W]",
        "Frame 0 with the kept tracks drawn",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        from ..perception.segment import DEFAULT_MIN_AREA

        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The clip [T,H,W,3]"}),
                "fps": ("FLOAT", {"default": 16.0, "min": 0.1, "max": 240.0, "tooltip": "Frames per second"}),
                "segmenter": (["classic", "sam2"], {"default": "classic", "tooltip": "Segmentation backend"}),
                "tracker": (["lk", "cotracker", "sam2"], {"default": "lk", "tooltip": "Tracking backend"}),
                "min_area": (
                    "INT",
                    {
                        "default": DEFAULT_MIN_AREA,
                        "min": 1,
                        "max": 1_000_000,
                        "tooltip": "Ignore masks below (px)",
                    },
                ),
                **_filter_inputs(),
            },
            "optional": {
                **_cotracker_inputs(),
                **_sam2_inputs(),
                **_prompt_inputs(),
            },
        }

    def run(
        self,
        images: torch.Tensor,
        fps: float,
        segmenter: str,
        tracker: str,
        min_area: int,
        min_visible: float,
        min_motion: float,
        border: float,
        cotracker_model: str = NONE,
        cotracker_size: int = 0,
        sam2_model: str = NONE,
        sam2_config: str = "auto",
        sam2_image_size: int = 0,
        points: str = "",
        negative_points: str = "",
        boxes: str = "",
    ) -> tuple[dict, torch.Tensor, torch.Tensor]:
        from ..perception.pipeline import extract_tracks
        from ..perception.preview import draw_tracks

        node = self.DISPLAY_NAME
        frames = _frames(node, images, min_frames=2)
        prompts = _prompts(node, points, negative_points, boxes)
        sam = cot = None
        if "sam2" in (segmenter, tracker):
            sam = load_sam2_cached(node, sam2_model, sam2_config, sam2_image_size)
        if tracker == "cotracker":
            cot = load_cotracker_cached(node, cotracker_model, cotracker_size)
        callback, bar = bridge.progress_callback(1000, "extract tracks")
        with bar:
            extraction = _lower(
                node,
                "images",
                lambda: extract_tracks(
                    frames,
                    fps,
                    segmenter,
                    tracker,
                    sam2=sam,
                    cotracker=cot,
                    prompts=prompts,
                    min_area=min_area,
                    min_visible=min_visible,
                    min_motion=min_motion,
                    border=border,
                    callback=callback,
                ),
            )
        tracks = _lower(node, "images", lambda: extraction.tracks(filtered=True))
        kept = extraction.kept
        preview = draw_tracks(frames[0], tracks.points, tracks.visible)
        masks = torch.from_numpy(extraction.masks[kept].astype(np.float32))
        return (tracks.to_comfy(as_torch=True), masks, image_output(preview))


NODE_CLASS_MAPPINGS = {
    "KinesonicSegmentFirstFrame": KinesonicSegmentFirstFrame,
    "KinesonicTrackPoints": KinesonicTrackPoints,
    "KinesonicFilterTracks": KinesonicFilterTracks,
    "KinesonicExtractTracks": KinesonicExtractTracks,
}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
