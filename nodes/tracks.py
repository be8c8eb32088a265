"""Track nodes: read tracks from JSON / KJNodes coordinates, write them as JSON or a file, draw them.

TRACKS values produced here are ComfyUI core's dict with torch tensors (``track_path`` float32
``[T,N,2]`` pixels, ``track_visibility`` bool ``[T,N]``) plus Kinesonic's ``fps``, ``width``,
``height`` and optional ``labels``. Inputs accept that dict with numpy arrays, torch tensors or lists.
"""

from __future__ import annotations

import numpy as np

from . import bridge
from .base import CATEGORY_ROOT, TRACKS, NodeInputError
from .sockets import image_frames, image_output, image_shape
from .track_io import (  # noqa: F401  (tracks_in / tracks_out / track_size_inputs: the helpers' old home)
    SCALES,
    UNITS,
    draw_tracks_in,
    kjnodes_coordinates,
    parse_tracks_text,
    reader_inputs,
    reader_size,
    track_size_inputs,
    tracks_in,
    tracks_out,
)

CATEGORY = f"{CATEGORY_ROOT}/Tracks"


def _size_inputs() -> dict[str, tuple]:
    return {
        "fps": (
            "FLOAT",
            {
                "default": 16.0,
                "min": 0.1,
                "max": 240.0,
                "step": 0.1,
                "tooltip": "Frames per second "
                "of the tracks, used when the text does not say (frame i is at i / fps s).",
            },
        ),
        "width": (
            "INT",
            {
                "default": 0,
                "min": 0,
                "max": 16384,
                "tooltip": "Image width in pixels, used when the "
                "text does not say (0 = take it from the text; required for KJNodes coordinates).",
            },
        ),
        "height": (
            "INT",
            {
                "default": 0,
                "min": 0,
                "max": 16384,
                "tooltip": "Image height in pixels, used when the "
                "text does not say (0 = take it from the text).",
            },
        ),
    }


class KinesonicTracksFromJSON:
    DISPLAY_NAME = "Tracks from JSON"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Reads point tracks from JSON text: the Kinesonic tracks file format, a ComfyUI TRACKS dict, or "
        "KJNodes coordinate JSON. Invisible points (null) are allowed."
    )
    RETURN_TYPES = (TRACKS,)
    RETURN_NAMES = ("tracks",)
    OUTPUT_TOOLTIPS = ("Tracks: [T,N,2] pixel paths, [T,N] visibility, fps, width, height, labels.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "json": (
                    "STRING",
                    {
                        "multiline": True,
                        "default": "",
                        "tooltip": "Tracks JSON text (see docs/kinematics.md for the formats).",
                    },
                ),
                **_size_inputs(),
            },
            "optional": reader_inputs(),
        }

    def run(
        self,
        json: str,
        fps: float = 16.0,
        width: int = 0,
        height: int = 0,
        image=None,
        units: str = "pixels",
    ):
        node = self.DISPLAY_NAME
        width, height = reader_size(node, width, height, image)
        return (tracks_out(parse_tracks_text(node, "json", json, fps, width, height, units)),)


class KinesonicTracksFromCoordinates:
    DISPLAY_NAME = "Tracks from Coordinates"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        'Reads KJNodes-style coordinates ([{"x":..,"y":..}, ...] per track; a list of such lists, one '
        "list per line, or a list of such strings, e.g. from the Spline Editor, Append Strings To List or "
        "Join String Multi) as tracks; each point is one frame. The coordinates carry no image size: set "
        "width and height to the size they were drawn for (the Spline Editor's mask size) or connect the "
        "image."
    )
    RETURN_TYPES = (TRACKS,)
    RETURN_NAMES = ("tracks",)
    OUTPUT_TOOLTIPS = ("Tracks, all points visible.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        size = _size_inputs()
        size["width"][1]["tooltip"] = (
            "Width in pixels of the image the coordinates were drawn for (the Spline Editor's "
            "mask_width); 0 = the connected image's width. Required: the text has no size."
        )
        size["height"][1]["tooltip"] = "Height in pixels, as width (the Spline Editor's mask_height)."
        return {
            "required": {
                "coordinates": (
                    "STRING",
                    {
                        "multiline": True,
                        "default": "",
                        "tooltip": "KJNodes coordinate "
                        "JSON: one track, a list of tracks, or one track per line.",
                    },
                ),
                **size,
            },
            "optional": reader_inputs(),
        }

    def run(
        self,
        coordinates: str,
        fps: float = 16.0,
        width: int = 0,
        height: int = 0,
        image=None,
        units: str = "pixels",
    ):
        node = self.DISPLAY_NAME
        width, height = reader_size(node, width, height, image)
        if not (width and height):
            raise NodeInputError(
                node,
                "width",
                "the image size the coordinates were drawn for: set 'width' and 'height' (the Spline "
                "Editor's mask_width / mask_height) or connect 'image'",
                f"{width}x{height}",
            )
        return (tracks_out(parse_tracks_text(node, "coordinates", coordinates, fps, width, height, units)),)


class KinesonicTracksToJSON:
    DISPLAY_NAME = "Tracks to JSON"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Writes tracks as Kinesonic tracks JSON text (invisible points as null) and as KJNodes coordinate "
        "text (for ComfyUI's WanTrackToVideo and KJNodes path nodes; pixels of the tracks' image size)."
    )
    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("json", "coordinates")
    OUTPUT_TOOLTIPS = (
        "The tracks in the Kinesonic JSON file format.",
        'KJNodes coordinates: [{"x":..,"y":..}, ...] for one track, a list of such lists for several; one '
        "point per frame, invisible frames interpolated (the format has no visibility).",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"tracks": (TRACKS, {"tooltip": "Tracks to write."})},
            "optional": track_size_inputs(),
        }

    def run(self, tracks, image=None, width: int = 0, height: int = 0, fps: float = 0.0):
        data = tracks_in(tracks, self.DISPLAY_NAME, "tracks", width, height, fps, image)
        return (data.to_json(indent=1), kjnodes_coordinates(data))


class KinesonicSaveTracks:
    DISPLAY_NAME = "Save Tracks"
    CATEGORY = CATEGORY
    DESCRIPTION = "Saves tracks as a Kinesonic tracks JSON file in the output folder (written atomically)."
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Full path of the written file.",)
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (TRACKS, {"tooltip": "Tracks to save."}),
                "filename_prefix": (
                    "STRING",
                    {
                        "default": "kinesonic/tracks",
                        "tooltip": "File name prefix "
                        "inside the output folder; a counter and .json are appended.",
                    },
                ),
            },
            "optional": track_size_inputs(),
        }

    def run(
        self,
        tracks,
        filename_prefix: str = "kinesonic/tracks",
        image=None,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
    ):
        data = tracks_in(tracks, self.DISPLAY_NAME, "tracks", width, height, fps, image)
        from ..media import MediaError, atomic_write_text, release_reserved, reserve_numbered_path

        node = self.DISPLAY_NAME
        try:
            path, _, _ = reserve_numbered_path(
                bridge.output_dir(), str(filename_prefix).strip() or "tracks", "json"
            )
        except MediaError as error:
            raise NodeInputError.because(node, "filename_prefix", error) from None
        try:
            atomic_write_text(path, data.to_json(indent=1), reserved=True)
        except BaseException:
            release_reserved(path)
            raise
        root = bridge.output_dir().resolve()
        shown = path.resolve().relative_to(root).as_posix()  # no server paths in the UI
        return {"ui": {"text": [shown]}, "result": (str(path),)}


class KinesonicDrawTracks:
    DISPLAY_NAME = "Draw Tracks"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Draws each track's path up to the current frame over the frames, with the current point marked; "
        "one distinct colour per track. scale 'pixels' draws track pixels as image pixels (as ComfyUI's "
        "WanMoveVisualizeTracks does); 'rescale' maps the tracks' width x height onto the image."
    )
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The frames with the tracks drawn on them [T,H,W,3].",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": (
                    "IMAGE",
                    {
                        "tooltip": "Frames [B,H,W,3], 0..1: one per track frame, or one image "
                        "repeated for every frame."
                    },
                ),
                "tracks": (
                    TRACKS,
                    {
                        "tooltip": "Tracks in pixels (of the image with scale 'pixels', of the tracks' "
                        "width x height with scale 'rescale')."
                    },
                ),
                "line_width": (
                    "INT",
                    {"default": 2, "min": 1, "max": 32, "tooltip": "Path width in pixels."},
                ),
                "point_radius": (
                    "INT",
                    {
                        "default": 5,
                        "min": 0,
                        "max": 64,
                        "tooltip": "Radius of the current point marker in pixels (0 = no marker).",
                    },
                ),
                "trail": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 10000,
                        "tooltip": "Frames of path shown behind "
                        "the current point (0 = the whole path so far).",
                    },
                ),
            },
            "optional": {
                "scale": (
                    SCALES,
                    {
                        "default": "pixels",
                        "tooltip": "'pixels': a track point (x, y) is drawn at image pixel (x, y), with or "
                        "without size metadata (tracks that carry another size than the image are "
                        "refused). 'rescale': (x, y) is scaled from the tracks' width x height (their "
                        "own, else the width/height inputs) to the image size.",
                    },
                ),
                "width": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 16384,
                        "tooltip": "scale 'rescale', tracks without size: the width the tracks were made "
                        "for (0 = the tracks' own).",
                    },
                ),
                "height": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 16384,
                        "tooltip": "scale 'rescale', tracks without size: the height, as width.",
                    },
                ),
            },
        }

    def run(
        self,
        image,
        tracks,
        line_width: int = 2,
        point_radius: int = 5,
        trail: int = 0,
        scale: str = "pixels",
        width: int = 0,
        height: int = 0,
    ):
        node = self.DISPLAY_NAME
        B, H, W = image_shape(node, "image", image)
        tr = draw_tracks_in(node, tracks, scale, W, H, width, height)
        T = tr.num_frames
        if B not in (1, T):
            raise NodeInputError(node, "image", f"1 frame or as many frames as the tracks ({T})", image)
        from ..media.limits import ResourceLimitError, check_image_budget

        try:  # the drawn clip is T frames of the image's size: bounded before anything is allocated
            check_image_budget(T, H, W, f"drawing {tr.num_tracks} track(s) over {T} frames")
        except ResourceLimitError as error:
            raise NodeInputError.because(node, "tracks", error) from None
        from ..viz import draw_tracks

        frames = image_frames(node, "image", image)
        if B == 1:
            frames = np.repeat(frames, T, axis=0)
        frames = np.ascontiguousarray(frames)
        points = tr.points * np.array([W / tr.width, H / tr.height])
        draw_tracks(frames, points, tr.visible, line_width, point_radius, trail)
        return (image_output(frames),)


NODE_CLASS_MAPPINGS = {
    "KinesonicTracksFromJSON": KinesonicTracksFromJSON,
    "KinesonicTracksFromCoordinates": KinesonicTracksFromCoordinates,
    "KinesonicTracksToJSON": KinesonicTracksToJSON,
    "KinesonicSaveTracks": KinesonicSaveTracks,
    "KinesonicDrawTracks": KinesonicDrawTracks,
}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
