"""Evaluation node: motion-sound metrics of a generated sounding video (thin shell over metrics/)."""

from __future__ import annotations

import numpy as np

from . import bridge
from .base import CATEGORY_ROOT, PHYSICS, TRACKS, NodeInputError
from .sockets import audio_input, image_input, image_output


def _track_size_inputs() -> dict[str, tuple]:
    from .track_io import track_size_inputs

    return track_size_inputs(image=False)  # 'images' (required) gives the size


def _effects(node: str, demix: str, wave: np.ndarray, rate: int) -> np.ndarray:
    """The effects stem ``[C, S]`` of ``wave [C, S]`` (separator chosen by the ``demix`` input)."""
    from ..separation.separate import separate
    from .demix import METHOD_DSP, METHOD_NETWORK, load_separator

    separator = load_separator(node, "demix", METHOD_NETWORK if demix == "network" else METHOD_DSP)
    try:
        return separate(wave, rate, separator, check_cancel=bridge.check_interrupted)[1]
    except ValueError as error:
        raise NodeInputError.because(node, "audio", error) from None


class KinesonicEvaluate:
    DISPLAY_NAME = "Evaluate Motion-Sound Metrics"
    CATEGORY = f"{CATEGORY_ROOT}/Evaluate"
    DESCRIPTION = (
        "Scores how well a generated sounding video follows its trajectories: event timing error (ETE), "
        "motion-audio intensity correlation (MAIC), AV-Align, and — with the optional inputs — trajectory "
        "error (TE), onset accuracy / AP against reference audio and audio-physics correlation (APCC). "
        "Returns a markdown table and a timeline picture. Definitions: docs/metrics.md."
    )
    RETURN_TYPES = ("STRING", "IMAGE")
    RETURN_NAMES = ("metrics", "timeline")
    OUTPUT_TOOLTIPS = (
        "Markdown table of the metrics (– where an input needed for a metric is missing).",
        "Timeline [1,H,W,3]: visual events vs audio onsets (ETE pairs joined), motion strength vs audio "
        "log energy (z-scored).",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (
                    TRACKS,
                    {"tooltip": "Conditioning tracks: visual events, motion strength, TE reference."},
                ),
                "images": ("IMAGE", {"tooltip": "Generated video frames [T,H,W,3], 0..1 (for AV-Align)."}),
                "audio": ("AUDIO", {"tooltip": "Generated audio, starting with the first frame."}),
                "tau": (
                    "FLOAT",
                    {
                        "default": 0.2,
                        "min": 0.01,
                        "max": 2.0,
                        "step": 0.01,
                        "tooltip": "ETE tolerance window in seconds: events further apart never pair.",
                    },
                ),
                "match_window": (
                    "FLOAT",
                    {
                        "default": 0.1,
                        "min": 0.01,
                        "max": 1.0,
                        "step": 0.01,
                        "tooltip": "Onset accuracy / AP: a generated onset matches a reference onset within "
                        "this many seconds.",
                    },
                ),
            },
            "optional": {
                "reference_audio": (
                    "AUDIO",
                    {"tooltip": "Reference audio for onset accuracy / AP and APCC."},
                ),
                "physics": (PHYSICS, {"tooltip": "Impacts (time, kinetic-energy change) for APCC."}),
                "measured_tracks": (TRACKS, {"tooltip": "Tracks measured on the generated video, for TE."}),
                **_track_size_inputs(),
                "demix": (
                    ["off", "network", "dsp"],
                    {
                        "default": "off",
                        "tooltip": "Separate audio (and reference audio) into speech / effects / music first "
                        "and score onsets on the effects stem, so a music bed or speech does not count as "
                        "impacts (docs/demixing.md).",
                    },
                ),
            },
        }

    def run(
        self,
        tracks,
        images,
        audio,
        tau: float = 0.2,
        match_window: float = 0.1,
        reference_audio=None,
        physics=None,
        measured_tracks=None,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
        demix="off",
    ):
        from ..kinematics import Tracks
        from ..metrics.evaluate import evaluate_clip, format_markdown, timeline_image

        node = self.DISPLAY_NAME
        from .track_io import tracks_in

        # tracks without a size (ComfyUI core TRACKS) refer to the generated frames' size
        cond = tracks_in(tracks, node, "tracks", width, height, fps, images, image_input="images")
        measured = None
        if measured_tracks is not None:
            try:
                measured = Tracks.from_comfy(
                    measured_tracks, fps=cond.fps, width=cond.width, height=cond.height
                )
            except (ValueError, TypeError) as error:
                raise NodeInputError.because(node, "measured_tracks", error) from None
        frames = image_input(node, "images", images).numpy()
        wave, rate = audio_input(node, "audio", audio)
        ref, ref_rate = (
            (None, None) if reference_audio is None else audio_input(node, "reference_audio", reference_audio)
        )
        if demix not in ("off", "network", "dsp"):
            raise NodeInputError(node, "demix", "one of off, network, dsp", demix)
        if demix != "off":
            wave = _effects(node, demix, wave, rate)
            if ref is not None:
                ref = _effects(node, demix, ref, ref_rate)
        if physics is not None and not isinstance(physics, dict):
            raise NodeInputError(node, "physics", "a PHYSICS dict with 'events'", physics)
        if cond.num_frames < 4:
            raise NodeInputError(node, "tracks", "at least 4 frames", f"{cond.num_frames} frames")
        try:
            report = evaluate_clip(
                cond,
                wave,
                rate,
                frames=frames,
                video_fps=cond.fps,
                reference_audio=ref,
                reference_sample_rate=ref_rate,
                physics=physics,
                measured_tracks=measured,
                tau=float(tau),
                match_window_s=float(match_window),
            )
        except ValueError as error:
            raise NodeInputError.because(node, "tracks/audio", error) from None
        table = format_markdown(["clip"], [report.values])
        image = image_output(timeline_image(report))
        return {"ui": {"text": [table]}, "result": (table, image)}


NODE_CLASS_MAPPINGS = {"KinesonicEvaluate": KinesonicEvaluate}
NODE_DISPLAY_NAME_MAPPINGS = {"KinesonicEvaluate": KinesonicEvaluate.DISPLAY_NAME}
