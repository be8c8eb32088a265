"""Nodes: estimate the PHYSICS of a clip (scale, metric velocity, masses, impacts) and picture it.

Thin shells over :mod:`kinesonic.physics` (no maths here). The estimated PHYSICS has the keys of the
Physics Scene's (plus how each number was obtained), so either can feed the same nodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import CATEGORY_ROOT, PHYSICS, TRACKS, NodeInputError
from .sockets import image_frames, image_output
from .track_io import track_size_inputs, tracks_in

CATEGORY = f"{CATEGORY_ROOT}/Physics"


def _tracks(
    node: str, tracks: Any, frames: np.ndarray, width: int = 0, height: int = 0, fps: float = 0.0
) -> Any:
    if tracks is None:
        raise NodeInputError(
            node, "tracks", "TRACKS of at least one object (e.g. from Extract Tracks)", tracks
        )
    T, H, W = frames.shape[:3]
    # core TRACKS (no size) refer to the images; Kinesonic TRACKS keep their own size, checked below
    t = tracks_in(tracks, node, "tracks", width, height, fps, image=frames, image_input="images")
    if t.num_tracks == 0:
        raise NodeInputError(node, "tracks", "at least one object track", "no tracks")
    if (t.width, t.height) != (W, H):
        raise NodeInputError(
            node,
            "tracks",
            f"tracks measured on frames of the images' size {W}x{H}",
            f"tracks of {t.width}x{t.height}",
        )
    if t.num_frames != T:
        raise NodeInputError(node, "tracks", f"{T} frames (as many as the images)", f"{t.num_frames} frames")
    return t


def summary(physics: dict[str, Any]) -> str:
    """A few lines saying what was estimated, from what, and what is unknown."""
    sc = physics.get("scale", {})
    lines = [
        f"scale: {physics['px_per_m']:.4g} px/m from {sc.get('source')} "
        f"(relative uncertainty {sc.get('relative_uncertainty', float('nan')):.2g})"
    ]
    for n, label in enumerate(physics["labels"]):
        lo, hi = physics["masses_range_kg"][n]
        lines.append(
            f"{label}: {physics['shapes'][n]} ({physics['shape_sources'][n]}), "
            f"{physics['materials'][n]} ({physics['material_sources'][n]}), "
            f"mass {physics['masses_kg'][n]:.3g} kg [{lo:.3g}, {hi:.3g}]"
        )
    for e in physics["events"]:
        lines.append(
            f"impact {e['time_s']:.3f} s {e['objects'][0]} / {e['objects'][1]}: "
            f"speed {e['pre_speed_mps'][0]:.2f} -> {e['post_speed_mps'][0]:.2f} m/s, "
            f"impulse {e['impulse_Ns']:.3g} N s, ΔKE {e['delta_ke_J']:.3g} J"
        )
    lines += [f"unknown: {u}" for u in physics.get("unknown", [])]
    return "\n".join(lines)


class KinesonicEstimatePhysics:
    DISPLAY_NAME = "Estimate Physics"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Estimates the clip's physics from its frames and tracks: the scale (pixels per metre, from gravity "
        "on free flight, a known object size or given), metric velocity per object and frame, masses (size "
        "from the mask x density of the material: given, from the prompt, or recognised), and impacts (time, "
        "speeds, impulse, kinetic-energy change). Same PHYSICS keys as the Physics Scene; unknowns are NaN "
        "and listed in the report."
    )
    RETURN_TYPES = (PHYSICS, "STRING")
    RETURN_NAMES = ("physics", "report")
    OUTPUT_TOOLTIPS = (
        "masses_kg, velocity_mps [T,N,2], events, px_per_m, ... plus how each was obtained",
        "What was estimated from what, with ranges, and what could not be estimated",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The clip [T,H,W,3] the tracks were measured on"}),
                "tracks": (TRACKS, {"tooltip": "Object centres per frame (e.g. Extract Tracks)"}),
            },
            "optional": {
                "masks": (
                    "MASK",
                    {"tooltip": "One mask per track [N,H,W] (e.g. Extract Tracks' masks); else measured"},
                ),
                "material": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Material per object, comma-separated (rubber, wood, metal, glass, "
                        "plastic, ...); empty = from the prompt, else recognised",
                    },
                ),  # fmt: skip
                "prompt": (
                    "STRING",
                    {"default": "", "multiline": True, "tooltip": "Text naming the objects"},
                ),
                "px_per_m": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 1e6,
                        "step": 0.1,
                        "tooltip": "Camera scale if known; 0 = estimate",
                    },
                ),
                "object_size_m": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Known size per object (ball radius / half the box's side, m); "
                        "comma-separated, empty = unknown. Gives the scale when px_per_m is 0",
                    },
                ),  # fmt: skip
                "shape": (
                    "STRING",
                    {"default": "", "tooltip": "ball / box per object, comma-separated; empty = auto"},
                ),
                **track_size_inputs(image=False),  # 'images' (required) gives the size
            },
        }

    def run(
        self,
        images,
        tracks,
        masks=None,
        material="",
        prompt="",
        px_per_m=0.0,
        object_size_m="",
        shape="",
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
    ):
        from ..physics import PhysicsError, estimate_physics

        node = self.DISPLAY_NAME
        frames = image_frames(node, "images", images, min_frames=2)
        t = _tracks(node, tracks, frames, width, height, fps)
        mask_arr = None
        if masks is not None:
            mask_arr = masks.detach().cpu().numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
            if mask_arr.ndim == 2:
                mask_arr = mask_arr[None]
            if (
                mask_arr.ndim != 3
                or mask_arr.shape[0] != t.num_tracks
                or mask_arr.shape[1:] != frames.shape[1:3]
            ):
                raise NodeInputError(
                    node,
                    "masks",
                    f"one mask per track [{t.num_tracks},{frames.shape[1]},{frames.shape[2]}]",
                    mask_arr,
                )
        if not np.isfinite(px_per_m) or px_per_m < 0:
            raise NodeInputError(node, "px_per_m", "a scale >= 0 (0 = estimate)", px_per_m)
        try:
            est = estimate_physics(
                frames, t, masks=mask_arr, material=material or None, prompt=prompt or None,
                px_per_m=float(px_per_m) if px_per_m > 0 else None, object_size_m=object_size_m or None,
                shape=shape or None,
            )  # fmt: skip
        except PhysicsError as exc:
            name = str(exc).split(":", 1)[0]
            known = {"material", "shape", "object_size_m", "masks", "tracks", "frames"}
            raise NodeInputError.because(node, name if name in known else "tracks", exc) from exc
        if not est.scale.known:
            raise NodeInputError(
                node,
                "px_per_m",
                "a scale: the tracks have no free-flight segment to measure gravity on, so give px_per_m "
                "or object_size_m",
                px_per_m,
            )
        physics = est.physics()
        return (physics, summary(physics))


class KinesonicDrawPhysics:
    DISPLAY_NAME = "Draw Physics"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Draws the velocity of every object as an arrow and each impact with its kinetic-energy change on "
        "the frames, and plots speed, kinetic energy and impacts over time. Takes the Physics Scene's or the "
        "estimated PHYSICS."
    )
    RETURN_TYPES = ("IMAGE", "IMAGE")
    RETURN_NAMES = ("frames", "plot")
    OUTPUT_TOOLTIPS = ("Frames with arrows and impacts [T,H',W',3]", "Plot over time [1,H,W,3]")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The clip [T,H,W,3]"}),
                "tracks": (TRACKS, {"tooltip": "Object centres (where the arrows start)"}),
                "physics": (PHYSICS, {"tooltip": "From Physics Scene or Estimate Physics"}),
            },
            "optional": {
                "min_side": (
                    "INT",
                    {"default": 256, "min": 16, "max": 2048, "tooltip": "Enlarge small frames to this"},
                ),
                "plot_width": ("INT", {"default": 960, "min": 256, "max": 4096, "tooltip": "Plot width, px"}),
                "plot_height": (
                    "INT",
                    {"default": 540, "min": 192, "max": 4096, "tooltip": "Plot height, px"},
                ),
                **track_size_inputs(image=False),  # 'images' (required) gives the size
            },
        }

    def run(
        self,
        images,
        tracks,
        physics,
        min_side=256,
        plot_width=960,
        plot_height=540,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
    ):
        from ..physics.draw import draw_physics, plot_physics

        node = self.DISPLAY_NAME
        frames = image_frames(node, "images", images, min_frames=2)
        t = _tracks(node, tracks, frames, width, height, fps)
        if not isinstance(physics, dict) or "velocity_mps" not in physics or "events" not in physics:
            raise NodeInputError(
                node, "physics", "a PHYSICS dict with velocity_mps [T,N,2] and events", physics
            )
        vel = np.asarray(physics["velocity_mps"])
        if vel.ndim != 3 or vel.shape[0] != frames.shape[0] or vel.shape[1] != t.num_tracks:
            raise NodeInputError(
                node,
                "physics",
                f"velocity_mps of shape [{frames.shape[0]},{t.num_tracks},2] (frames, tracks)",
                vel,
            )
        drawn = draw_physics(frames, t.interpolated(), t.visible, physics, int(min_side))
        plot = plot_physics(physics, int(plot_width), int(plot_height))
        return (
            image_output(drawn),
            image_output(plot),
        )


NODE_CLASS_MAPPINGS = {
    "KinesonicEstimatePhysics": KinesonicEstimatePhysics,
    "KinesonicDrawPhysics": KinesonicDrawPhysics,
}
NODE_DISPLAY_NAME_MAPPINGS = {k: v.DISPLAY_NAME for k, v in NODE_CLASS_MAPPINGS.items()}
