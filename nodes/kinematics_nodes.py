"""Kinematics nodes: encode tracks into the KINEMATICS socket, plot it (``viz.plot_kinematics``), list
visual events.

KINEMATICS is a plain dict (numpy inside)::

    {
        "state":    float32 [T, N, 8]  raw (x, y, vx, vy, ax, ay, |v|, |a|); positions / longer image side,
                                       velocities per s, accelerations per s²; computed at the source
                                       frame rate, then averaged over each latent frame's group of frames
        "features": float32 [T, N, 8]  signed-log compressed then standardised with "stats"
        "stats":    {"mean": [8], "std": [8], ...}   (KinematicStats.to_dict())
        "dt":       float  seconds between the T frames (= stride / fps of the source tracks)
        "fps":      float  frames per second of the T frames
        "visible":  bool [T, N]
        "stride":   int    temporal latent stride applied (1 = none)
        "labels":   list[str] N names
        "events":   list[float] visual event times in seconds, detected on the source tracks
    }
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import CATEGORY_ROOT, KINEMATICS, TRACKS, NodeInputError
from .sockets import image_output

CATEGORY = f"{CATEGORY_ROOT}/Kinematics"


def kinematics_in(value: Any, node: str, input_name: str) -> dict[str, Any]:
    """Check that a node input is a KINEMATICS dict (NodeInputError naming node and input if not)."""
    needed = ("state", "fps", "visible")
    if not isinstance(value, dict) or any(k not in value for k in needed):
        raise NodeInputError(node, input_name, "a KINEMATICS dict with 'state', 'fps' and 'visible'", value)
    state = np.asarray(value["state"])
    if state.ndim != 3 or state.shape[-1] != 8:
        raise NodeInputError(node, input_name, "'state' of shape [T, N, 8]", state)
    return value


class KinesonicKinematicEncode:
    DISPLAY_NAME = "Kinematic Encode"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Turns tracks into the per-object 8-D kinematic state (position, velocity, acceleration and their "
        "magnitudes), optionally averaged onto the video latent's frames, compressed and normalised."
    )
    RETURN_TYPES = (KINEMATICS,)
    RETURN_NAMES = ("kinematics",)
    OUTPUT_TOOLTIPS = (
        "State, features, stats, dt, fps, visibility, stride, labels and events of the tracks.",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (TRACKS, {"tooltip": "Tracks at the video frame rate, at least 4 frames."}),
                "stride": (
                    "INT",
                    {
                        "default": 4,
                        "min": 0,
                        "max": 16,
                        "tooltip": "Temporal stride of the video "
                        "latent: frame 0 is kept, each next group of `stride` frames is averaged "
                        "(0 or 1 = no alignment).",
                    },
                ),
            },
            "optional": {
                "stats_json": (
                    "STRING",
                    {
                        "multiline": True,
                        "default": "",
                        "tooltip": "Normalisation stats "
                        "(KinematicStats JSON text or a .json file path); empty = no "
                        "standardisation, only signed-log compression.",
                    },
                ),
                **_track_size_inputs(),
            },
        }

    def run(self, tracks, stride: int = 4, stats_json: str = "", image=None, width=0, height=0, fps=0.0):
        from ..kinematics import KinematicStats, encode_kinematics
        from .track_io import tracks_in

        node = self.DISPLAY_NAME
        source = tracks_in(tracks, node, "tracks", width, height, fps, image)
        stats = _stats(node, stats_json, KinematicStats)
        try:
            return (encode_kinematics(source, stride, stats),)
        except ValueError as exc:
            raise NodeInputError.because(node, "tracks", exc) from exc


class KinesonicKinematicsPlot:
    DISPLAY_NAME = "Kinematics Plot"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Plots speed |v| and acceleration |a| of every object over time, with the visual events marked."
    )
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The plot as an image [1,H,W,3].",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "kinematics": (KINEMATICS, {"tooltip": "Output of Kinematic Encode."}),
                "width": (
                    "INT",
                    {"default": 960, "min": 256, "max": 4096, "tooltip": "Image width in pixels."},
                ),
                "height": (
                    "INT",
                    {"default": 540, "min": 192, "max": 4096, "tooltip": "Image height in pixels."},
                ),
            }
        }

    def run(self, kinematics, width: int = 960, height: int = 540):
        from ..viz import plot_kinematics

        kin = kinematics_in(kinematics, self.DISPLAY_NAME, "kinematics")
        return (image_output(plot_kinematics(kin, width, height)),)


class KinesonicEvents:
    DISPLAY_NAME = "Visual Events"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Finds visual events (contacts, hits: sudden velocity changes with free flight around them) in the "
        "tracks and lists their times in seconds, one per line; the defaults are the detector's, as ETE and "
        "the physics impacts use it."
    )
    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("times", "count")
    OUTPUT_TOOLTIPS = ("Event times in seconds (3 decimals), one per line.", "Number of events.")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (TRACKS, {"tooltip": "Tracks at the video frame rate (at least 4 frames)."}),
                "min_separation": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 10.0,
                        "step": 0.01,
                        "tooltip": "Events closer than this (seconds) are merged into the strongest; "
                        "0 = the detector's 1.5 frames.",
                    },
                ),
                "min_jump_px": (
                    "FLOAT",
                    {
                        "default": 0.5,
                        "min": 0.0,
                        "max": 100.0,
                        "step": 0.1,
                        "tooltip": "Smallest velocity change per frame (pixels/frame) that "
                        "counts; raise it above ~3x the tracker jitter.",
                    },
                ),
            },
            "optional": _track_size_inputs(),
        }

    def run(
        self,
        tracks,
        min_separation: float = 0.0,
        min_jump_px: float = 0.5,
        image=None,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
    ):
        from ..kinematics import detect_events
        from .track_io import tracks_in

        node = self.DISPLAY_NAME
        source = tracks_in(tracks, node, "tracks", width, height, fps, image)
        try:
            separation = float(min_separation) if min_separation > 0 else None
            times = detect_events(source, nms_window_s=separation, min_jump_px=float(min_jump_px))
        except ValueError as exc:
            raise NodeInputError.because(node, "tracks", exc) from exc
        return ("\n".join(f"{t:.3f}" for t in times), len(times))


def _track_size_inputs() -> dict[str, tuple]:
    from .track_io import track_size_inputs

    return track_size_inputs()


def _stats(node: str, text: str, stats_cls):
    text = (text or "").strip()
    if not text:
        return stats_cls.identity()
    try:
        if not text.startswith("{"):
            from . import bridge

            path = bridge.resolve_input_file(text, node, "stats_json", "stats JSON file")
            text = path.read_text(encoding="utf-8")
        return stats_cls.from_json(text)
    except (ValueError, OSError) as exc:
        raise NodeInputError.because(node, "stats_json", exc) from exc


NODE_CLASS_MAPPINGS = {
    "KinesonicKinematicEncode": KinesonicKinematicEncode,
    "KinesonicKinematicsPlot": KinesonicKinematicsPlot,
    "KinesonicEvents": KinesonicEvents,
}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
