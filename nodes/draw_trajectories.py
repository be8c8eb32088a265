"""Draw Trajectories: tracks drawn by hand on the first frame, in an editor inside the node.

The editor (``web/js/draw_trajectories.js``) edits a JSON state held in the ``editor`` STRING
widget, which the workflow saves; this node turns that state into TRACKS with
``kinematics.keyframes`` (the same code the editor's preview route calls), so ComfyUI and the
headless runner produce the same tracks from a saved workflow.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from . import bridge
from .base import CATEGORY_ROOT, TRACKS, NodeInputError
from .sockets import image_frames, image_input

CATEGORY = f"{CATEGORY_ROOT}/Tracks"
PREVIEW_ROUTE = "/kinesonic/draw_trajectories/preview"
MAX_PREVIEW_SIDE = 1024  # pixels: larger first frames are shown downscaled in the editor

DEFAULT_STATE = json.dumps(
    {
        "version": 1,
        "width": 64,
        "height": 64,
        "tracks": [{"name": "object 1", "color": "#ff4d4d", "easing": "linear", "keys": []}],
    }
)


class KinesonicDrawTrajectories:
    DISPLAY_NAME = "Draw Trajectories"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Draw where objects go on the first frame: several tracks, key points with times (frames), "
        "easing between keys, a scrubber to see every object at a frame. Outputs TRACKS for the "
        "generator (num_frames frames at fps, in pixels of a width x height frame) and KJNodes "
        "coordinates. Click to add a point, drag to move it; a track of one point is a static object."
    )
    RETURN_TYPES = (TRACKS, "STRING", "IMAGE")
    RETURN_NAMES = ("tracks", "coordinates", "first_frame")
    OUTPUT_TOOLTIPS = (
        "Tracks [num_frames, N, 2] in pixels of width x height, every point visible, at fps.",
        "The same paths as KJNodes coordinate JSON: one list of {x, y} per track, one point per frame.",
        "The image input's first image fitted to width x height [1,H,W,3]: exactly what was drawn on "
        "(connect it to the generator's first_frame). Needs the image input.",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "editor": (
                    "STRING",
                    {
                        "default": DEFAULT_STATE,
                        "tooltip": "The editor's state (JSON; drawn in the editor below, saved with "
                        "the workflow). Format: docs/kinematics.md, 'Key-framed trajectories'.",
                    },
                ),
                "num_frames": (
                    "INT",
                    {
                        "default": 33,
                        "min": 1,
                        "max": 4097,
                        "tooltip": "Frames of the clip the tracks cover. The generator makes one frame "
                        "per track frame and wants 1 + 4k frames: the default tiny model makes 33 "
                        "frames (2.06 s at 16 fps).",
                    },
                ),
                "fps": (
                    "FLOAT",
                    {
                        "default": 16.0,
                        "min": 0.1,
                        "max": 240.0,
                        "step": 0.1,
                        "tooltip": "Frames per second of the tracks; must equal the generator's "
                        "(16 for the default tiny model).",
                    },
                ),
                "width": (
                    "INT",
                    {
                        "default": 64,
                        "min": 1,
                        "max": 16384,
                        "tooltip": "Width in pixels of the frame the tracks are for: the generator's "
                        "image size (64 for the default tiny model). Drawn points are scaled to it.",
                    },
                ),
                "height": (
                    "INT",
                    {
                        "default": 64,
                        "min": 1,
                        "max": 16384,
                        "tooltip": "Height in pixels of the frame the tracks are for (64 for the "
                        "default tiny model).",
                    },
                ),
            },
            "optional": {
                "image": (
                    "IMAGE",
                    {
                        "tooltip": "First frame to draw on (shown in the editor after a run; its "
                        "first image is used). Optional: a connected Load Image shows at once."
                    },
                ),
                "resize": (
                    ["crop", "stretch", "pad"],
                    {
                        "default": "crop",
                        "tooltip": "How an image of another size is fitted to width x height: crop = "
                        "cover and cut the centre, stretch = distort, pad = black bars.",
                    },
                ),
            },
        }

    def run(
        self,
        editor: str,
        num_frames: int,
        fps: float,
        width: int,
        height: int,
        image: Any = None,
        resize: str = "crop",
    ):
        from ..kinematics.keyframes import parse_state, state_to_tracks
        from .tracks import tracks_out

        node = self.DISPLAY_NAME
        try:
            state = parse_state(editor)
        except ValueError as error:
            raise NodeInputError.because(node, "editor", error) from None
        try:
            tracks = state_to_tracks(state, int(num_frames), float(fps), int(width), int(height))
        except ValueError as error:
            raise NodeInputError.because(node, "editor", error) from None
        ui: dict[str, list] = {}
        first = None
        if image is not None:
            first = _fit_first(node, image, int(width), int(height), resize)
            ui["kinesonic_frame"] = [_frame_data_url(node, first)]
        return {"ui": ui, "result": (tracks_out(tracks), tracks.to_kjnodes(), first)}


def _fit_first(node: str, image: Any, width: int, height: int, resize: str) -> torch.Tensor:
    """The first image of an IMAGE batch fitted to ``width`` x ``height`` → ``[1, H, W, 3]``."""
    from ..media.image import FIT_MODES, fit_image

    frames = image_input(node, "image", image)
    if resize not in FIT_MODES:
        raise NodeInputError(node, "resize", f"one of {list(FIT_MODES)}", resize)
    return torch.from_numpy(np.ascontiguousarray(fit_image(frames[0].numpy(), width, height, resize)))[None]


def _frame_data_url(node: str, image: torch.Tensor) -> str:
    """``image [1, H, W, 3]`` as a PNG data URL (downscaled to MAX_PREVIEW_SIDE)."""
    from ..media import MediaError
    from ..media.image import png_data_url

    try:
        return png_data_url(image_frames(node, "image", image)[0], MAX_PREVIEW_SIDE)
    except MediaError as error:
        raise NodeInputError.because(node, "image", error) from None


def preview_route(body: dict) -> dict:
    """``POST /kinesonic/draw_trajectories/preview {"state": ..., "num_frames": int}`` → per track
    the sampled points and the frame of every key (see ``kinematics.keyframes.preview``)."""
    from ..kinematics.keyframes import parse_state, preview

    num_frames = body.get("num_frames")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or not 1 <= num_frames <= 4097:
        raise ValueError(f"num_frames must be a whole number in 1..4097, got {num_frames!r}")
    return preview(parse_state(body.get("state", "")), num_frames)


PHYSICS_ROUTE = "/kinesonic/draw_trajectories/physics"
KEY_TOLERANCE_PX = 0.25  # simulated paths become keys where linear timing would be off by more


def physics_route(body: dict) -> dict:
    """``POST /kinesonic/draw_trajectories/physics {"state", "track": index, "num_frames", "fps"}``
    → ``{"keys": [{x, y, frame}, ...]}``: the ballistic path with bounces of that track's ball.

    The track's first key is the start, its ``physics`` object holds ``vx``, ``vy`` (pixels per
    second, y down), ``material`` and ``radius`` (pixels); the state holds ``floor_y`` (pixels,
    default the frame's bottom), ``floor_material`` and ``pixels_per_metre`` (default: the frame
    is 1 m tall). The path is simulated by the pack's world simulator and kept as the frames
    where linear timing between keys would be off by more than a quarter pixel.
    """
    from ..data.throw import throw_path
    from ..kinematics.keyframes import simplify

    raw = body.get("state")
    if not isinstance(raw, dict):
        raise ValueError("'state' must be the editor state object")
    tracks = raw.get("tracks") or []
    index = body.get("track")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(tracks):
        raise ValueError(f"'track' must be a track index in 0..{len(tracks) - 1}, got {index!r}")
    track = tracks[index]
    if not track.get("keys"):
        raise ValueError(f"track '{track.get('name')}' needs a start point: click on the image first")
    num_frames, fps = body.get("num_frames"), body.get("fps")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or not 1 <= num_frames <= 4097:
        raise ValueError(f"num_frames must be a whole number in 1..4097, got {num_frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    phys = track.get("physics") or {}
    height = float(raw.get("height") or 64)
    start = (float(track["keys"][0]["x"]), float(track["keys"][0]["y"]))
    path = throw_path(
        start,
        (float(phys.get("vx", 0.0)), float(phys.get("vy", 0.0))),
        float(raw.get("floor_y", height) if raw.get("floor_y") is not None else height),
        num_frames,
        float(fps),
        float(raw.get("pixels_per_metre") or height),
        str(phys.get("material", "rubber")),
        str(raw.get("floor_material", "stone")),
        float(phys.get("radius", 3.0)),
    )
    frames = simplify(path, KEY_TOLERANCE_PX)
    keys = [
        {"x": round(float(path[f, 0]), 3), "y": round(float(path[f, 1]), 3), "frame": int(f)} for f in frames
    ]
    return {"keys": keys}


bridge.add_json_route(PREVIEW_ROUTE, preview_route)
bridge.add_json_route(PHYSICS_ROUTE, physics_route)

NODE_CLASS_MAPPINGS = {"KinesonicDrawTrajectories": KinesonicDrawTrajectories}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
