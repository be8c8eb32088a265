"""How Kinesonic's nodes read and write TRACKS and KJNodes coordinates: one rule for all of them.

ComfyUI core's TRACKS (and whatever passed through a core or KJNodes track node) hold only
``track_path`` float32 ``[T,N,2]`` and ``track_visibility`` bool ``[T,N]`` (torch; no fps, no size).
:func:`tracks_in` reads any TRACKS value by the rule in docs/kinematics.md ("Interop"): the tracks' own
fps / size, else the node's ``fps`` / ``width`` / ``height`` inputs (declared once by
:func:`track_size_inputs`), else the size of its ``image`` input and 16 fps, else an error naming what to
connect. :func:`tracks_out` gives what every Kinesonic node emits (torch, as core's).
"""

from __future__ import annotations

from typing import Any

from ..kinematics import Tracks
from ..kinematics.tracks import MissingSizeError
from .base import NodeInputError
from .sockets import image_shape

SIZE_HELP = "connect 'image' (a frame of the clip the tracks were made for) or set 'width' and 'height'"
UNITS = ["pixels", "normalized"]
SCALES = ["pixels", "rescale"]


def track_size_inputs(image: bool = True) -> dict[str, tuple]:
    """Optional inputs of a TRACKS consumer, for tracks that carry no fps or image size.

    ComfyUI core's TRACKS (and whatever passed through a core or KJNodes track node) hold only
    ``track_path`` and ``track_visibility``; these inputs say what the pixels refer to. Read them with
    :func:`tracks_in`.
    """
    out: dict[str, tuple] = {}
    if image:
        out["image"] = (
            "IMAGE",
            {
                "tooltip": "Only its size is used: the image size for tracks that carry none (ComfyUI "
                "core / KJNodes TRACKS), when width and height are 0."
            },
        )
    out["width"] = (
        "INT",
        {
            "default": 0,
            "min": 0,
            "max": 16384,
            "tooltip": "Width in pixels of the image the tracks refer to, for tracks that carry no size "
            "(0 = the tracks' own, else the image's). If the tracks carry a size it must agree.",
        },
    )
    out["height"] = (
        "INT",
        {
            "default": 0,
            "min": 0,
            "max": 16384,
            "tooltip": "Height in pixels, as width.",
        },
    )
    out["fps"] = (
        "FLOAT",
        {
            "default": 0.0,
            "min": 0.0,
            "max": 240.0,
            "step": 0.1,
            "tooltip": "Frames per second for tracks that carry none (0 = the tracks' own, else 16, "
            "ComfyUI core's and Wan's rate). If the tracks carry an fps it must agree.",
        },
    )
    return out


def image_size(value: Any, node: str, input_name: str = "image") -> tuple[int, int] | None:
    """``(width, height)`` of an IMAGE ``[B,H,W,3]`` input (checked), None if not connected."""
    if value is None:
        return None
    _, height, width = image_shape(node, input_name, value)
    return width, height


def tracks_in(
    value: Any,
    node: str,
    input_name: str,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    image: Any = None,
    size_help: str = SIZE_HELP,
    image_input: str = "image",
) -> Tracks:
    """A node's TRACKS input as :class:`Tracks` (NodeInputError naming the node and input if bad).

    One rule for every consumer: the tracks' own ``fps`` / ``width`` / ``height`` (Kinesonic TRACKS)
    are used; a non-zero ``width`` / ``height`` / ``fps`` input must agree with them. For tracks that
    carry none (ComfyUI core TRACKS): the size is ``width`` x ``height`` if set, else the ``image``'s
    size, else an error saying ``size_help``; the fps is ``fps`` if set, else 16.
    """
    if isinstance(value, Tracks):
        return value
    if not isinstance(value, dict):
        raise NodeInputError(
            node, input_name, "a TRACKS dict with 'track_path' and 'track_visibility'", value
        )
    width, height, fps = int(width or 0), int(height or 0), float(fps or 0.0)
    own = {key: value.get(key) for key in ("width", "height", "fps")}
    for key, given in (("width", width), ("height", height), ("fps", fps)):
        if given and own[key] is not None and float(own[key]) != float(given):
            raise NodeInputError(
                node,
                key,
                f"0 or {own[key]:g} ('{input_name}' carries its own {key}, {own[key]:g}; "
                "the tracks' pixels and frames refer to it)",
                given,
            )
    size = image_size(image, node, image_input)
    if not width and not height and size is not None:
        width, height = size
    try:
        return Tracks.from_comfy(value, fps=fps or None, width=width or None, height=height or None)
    except MissingSizeError as exc:
        raise NodeInputError.because(
            node,
            input_name,
            f"these tracks carry no image size (ComfyUI core and KJNodes TRACKS hold only track_path and "
            f"track_visibility): {size_help}",
        ) from exc
    except ValueError as exc:
        raise NodeInputError.because(node, input_name, exc) from exc


def tracks_out(tracks: Tracks) -> dict[str, Any]:
    """The TRACKS socket value for ``tracks`` (torch tensors, as ComfyUI core nodes expect)."""
    return tracks.to_comfy(as_torch=True)


def kjnodes_coordinates(tracks: Tracks) -> str:
    """KJNodes coordinate text as the Spline Editor writes it: one list of ``{"x", "y"}`` for one track,
    a list of such lists for several (pixels of the tracks' width x height; invisible frames
    interpolated, the format has no visibility). Tracks that are never visible have no position to
    write and are left out; if none is left the text is ``[]`` (no tracks, as WanTrackToVideo reads it)."""
    seen = ~tracks.never_visible()
    if not seen.any():
        return "[]"
    if not seen.all():
        tracks = tracks.select(seen.nonzero()[0])
    return tracks.to_kjnodes(0 if tracks.num_tracks == 1 else None)


def reader_inputs() -> dict[str, tuple]:
    return {
        "image": (
            "IMAGE",
            {"tooltip": "Only its size is used: the image size when width and height are 0."},
        ),
        "units": (
            UNITS,
            {
                "default": "pixels",
                "tooltip": "KJNodes coordinates: 'pixels', or 'normalized' (0..1 fractions of width x "
                "height, e.g. Points Editor with normalize on). Values all within 0..1 are refused as "
                "pixels.",
            },
        ),
    }


def draw_tracks_in(node: str, tracks: Any, scale: str, W: int, H: int, width: int, height: int) -> Tracks:
    """Draw Tracks' one rule: 'pixels' = track pixels are image pixels; 'rescale' = from the tracks' size."""
    if scale not in SCALES:
        raise NodeInputError(node, "scale", f"one of {SCALES}", scale)
    if scale == "rescale":
        return tracks_in(
            tracks,
            node,
            "tracks",
            width,
            height,
            size_help="set 'width' and 'height' to the size they "
            "were made for (scale 'rescale' does not assume the image's size), or use scale 'pixels'",
        )
    tr = tracks_in(tracks, node, "tracks", W, H) if carries_size(tracks, W, H) else None
    if tr is None:
        own = f"{tracks.get('width')}x{tracks.get('height')}" if isinstance(tracks, dict) else "?"
        raise NodeInputError(
            node,
            "tracks",
            f"tracks for the {W}x{H} image (scale 'pixels' draws track pixels as image pixels); set scale "
            "to 'rescale' to map the tracks' size onto the image",
            f"tracks for {own}",
        )
    return tr


def carries_size(tracks: Any, W: int, H: int) -> bool:
    """False if ``tracks`` carry an image size other than ``W`` x ``H``."""
    if isinstance(tracks, Tracks):
        return (tracks.width, tracks.height) == (W, H)
    if not isinstance(tracks, dict):
        return True  # tracks_in names the problem
    own_w, own_h = tracks.get("width"), tracks.get("height")
    return (own_w is None or float(own_w) == W) and (own_h is None or float(own_h) == H)


def reader_size(node: str, width: int, height: int, image: Any) -> tuple[int, int]:
    """The reader nodes' width/height: the inputs, else (both 0) the connected image's size."""
    if not width and not height:
        size = image_size(image, node)
        if size is not None:
            return size
    return int(width or 0), int(height or 0)


def parse_tracks_text(
    node: str, input_name: str, text: Any, fps: float, width: int, height: int, units: str = "pixels"
) -> Tracks:
    """Text (or a list of strings, as KJNodes' AppendStringsToList / JoinStringMulti give) → Tracks."""
    if units not in UNITS:
        raise NodeInputError(node, "units", f"one of {UNITS}", units)
    if isinstance(text, (list, tuple)) and text and all(isinstance(item, str) for item in text):
        text = [item for item in text if item.strip()]
        text = text[0] if len(text) == 1 else text
    elif not isinstance(text, str) or not text.strip():
        raise NodeInputError(node, input_name, "tracks JSON text or a list of such strings", text)
    if not text:
        raise NodeInputError(node, input_name, "tracks JSON text or a list of such strings", "empty strings")
    try:
        return Tracks.from_json(
            text, fps=fps, width=width or None, height=height or None, normalized=units == "normalized"
        )
    except MissingSizeError as exc:
        raise NodeInputError.because(
            node, input_name, f"{exc}; set 'width' and 'height' or connect 'image'"
        ) from exc
    except ValueError as exc:
        raise NodeInputError.because(node, input_name, exc) from exc
