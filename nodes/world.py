"""Node: one scene of Kinesonic's procedural physics audio-video world, with exact ground truth."""

from __future__ import annotations

import torch

from .base import CATEGORY_ROOT, PHYSICS, TRACKS, NodeInputError
from .sockets import image_output
from .track_io import tracks_out

# Kept literal here so importing the pack does not import the world (pymunk, scipy).
SCENE_CHOICES = ["random", "drop", "throw", "slide", "roll", "collide", "push"]
MAX_SEED = 2**63 - 1
MATERIAL_CHOICES = ["random", "rubber", "wood", "metal", "glass", "plastic"]


class KinesonicPhysicsScene:
    DISPLAY_NAME = "Physics Scene"
    CATEGORY = f"{CATEGORY_ROOT}/World"
    DESCRIPTION = (
        "Simulates one scene of the procedural physics world (pymunk) and returns its frames, "
        "synthesised 16 kHz audio, object tracks and exact physical ground truth. Same seed, same clip."
    )
    RETURN_TYPES = ("IMAGE", "IMAGE", "AUDIO", TRACKS, PHYSICS, "STRING", "FLOAT")
    RETURN_NAMES = ("first_frame", "frames", "audio", "tracks", "physics", "caption", "fps")
    OUTPUT_TOOLTIPS = (
        "First frame [1,H,W,3], 0..1",
        "All frames [T,H,W,3], 0..1",
        "Mono audio at 16 kHz synthesised from the simulation (impacts, sliding, rolling)",
        "Object centres of mass in pixels per frame, with visibility",
        "Masses (kg), metric velocity per frame (m/s, image axes), impact events, pixels per metre",
        "One-sentence description of the scene",
        "Frames per second",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "seed": ("INT", {"default": 0, "min": 0, "max": MAX_SEED, "tooltip": "Same seed, same clip"}),
                "scene": (SCENE_CHOICES, {"default": "random", "tooltip": "Scene type (random: by seed)"}),
                "size": (
                    "INT",
                    {"default": 256, "min": 16, "max": 1024, "step": 8, "tooltip": "Frame side, px"},
                ),
                "num_frames": (
                    "INT",
                    {
                        "default": 33,
                        "min": 2,
                        "max": 257,
                        "tooltip": "Frames of the simulated clip at 16 fps (its frames, audio, tracks "
                        "and physics outputs). A generated clip's length comes from the tracks given to "
                        "the generator (e.g. Draw Trajectories' num_frames), not from this.",
                    },
                ),
                "material": (MATERIAL_CHOICES, {"default": "random", "tooltip": "Main object's material"}),
            },
            "optional": {
                "motion_blur": ("INT", {"default": 0, "min": 0, "max": 16, "tooltip": "Sub-frames, 0 = off"}),
                "reverb": ("BOOLEAN", {"default": True, "tooltip": "Add a small room reverb"}),
            },
        }

    def run(self, seed, scene, size, num_frames, material, motion_blur=0, reverb=True):
        node = self.DISPLAY_NAME
        if scene not in SCENE_CHOICES:
            raise NodeInputError(node, "scene", f"one of {SCENE_CHOICES}", scene)
        if material not in MATERIAL_CHOICES:
            raise NodeInputError(node, "material", f"one of {MATERIAL_CHOICES}", material)
        if int(size) < 16:
            raise NodeInputError(node, "size", "at least 16 pixels", size)
        if int(num_frames) < 2:
            raise NodeInputError(node, "num_frames", "at least 2 frames", num_frames)
        if int(seed) < 0:
            raise NodeInputError(node, "seed", "a non-negative integer", seed)
        from ..data.world import synth_clip

        options = {"motion_blur": int(motion_blur), "reverb": bool(reverb)}
        if material != "random":
            options["material"] = material
        clip = synth_clip(
            int(seed), int(size), int(num_frames), scene=None if scene == "random" else scene, **options
        )
        frames = image_output(clip.frames)
        waveform = torch.from_numpy(clip.audio.copy()).reshape(1, 1, -1)
        audio = {"waveform": waveform, "sample_rate": clip.sample_rate}
        tracks = tracks_out(clip.tracks)  # torch tensors, as ComfyUI core's and KJNodes' nodes expect
        return (frames[:1].clone(), frames, audio, tracks, clip.physics(), clip.caption, float(clip.fps))


NODE_CLASS_MAPPINGS = {"KinesonicPhysicsScene": KinesonicPhysicsScene}
NODE_DISPLAY_NAME_MAPPINGS = {"KinesonicPhysicsScene": KinesonicPhysicsScene.DISPLAY_NAME}
