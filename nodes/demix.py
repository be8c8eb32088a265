"""Demixing nodes: Demix Audio (AUDIO → STEMS + speech / effects / music AUDIO) and Remix (STEMS → AUDIO).

STEMS is ``{"speech": AUDIO, "effects": AUDIO, "music": AUDIO}`` (docs/demixing.md); the three
AUDIO have the input's sample rate, channel count, batch size and length, and they sum to the input.
The work is done by :mod:`kinesonic.separation` (imported inside the node functions).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import bridge
from .base import CATEGORY_ROOT, STEMS, NodeInputError
from .sockets import audio_input

CATEGORY = f"{CATEGORY_ROOT}/Audio"
MODEL_KIND = "separation"
MODEL_EXTENSIONS = (".safetensors", ".pt", ".pth")
SHIPPED = "kinesonic_separator.safetensors"
METHOD_NETWORK = "network (Kinesonic, shipped)"
METHOD_DSP = "dsp (no weights)"
STEM_KEYS = ("speech", "effects", "music")

_cache: dict[str, Any] = {}


def _methods() -> list[str]:
    user = [name for name in bridge.list_models(MODEL_KIND, MODEL_EXTENSIONS) if name != SHIPPED]
    return [METHOD_NETWORK, METHOD_DSP, *user]


def load_separator(node: str, input_name: str, method: str):
    """The separator for ``method``: the DSP baseline, the shipped network or a file of models/separation."""
    from ..models.checkpoint import CheckpointError
    from ..separation.network import load_separator as load_file
    from ..separation.separate import DspSeparator, NetworkSeparator

    if method == METHOD_DSP:
        return DspSeparator()
    name = SHIPPED if method == METHOD_NETWORK else str(method)
    try:
        path = bridge.resolve_model(MODEL_KIND, name, node, input_name)
    except FileNotFoundError as error:
        raise NodeInputError.because(node, input_name, error) from None
    key = f"{path}:{path.stat().st_mtime_ns}:{path.stat().st_size}"
    if _cache.get("key") != key:
        try:
            net = load_file(path)
        except CheckpointError as error:
            raise NodeInputError.because(node, input_name, error) from None
        _cache.clear()
        _cache.update(key=key, separator=NetworkSeparator(net, name))
    return _cache["separator"]


def _waveforms(node: str, input_name: str, audio: Any) -> tuple[np.ndarray, int]:
    """All batch items of an AUDIO as float32 ``[B, C, S]`` plus the rate (checked)."""
    array, rate = audio_input(node, input_name, audio, first_only=False)
    given = audio["sample_rate"]
    if not isinstance(given, (int, np.integer)) or rate > 768_000:  # the separators' range
        raise NodeInputError(node, input_name, "an integer sample_rate of 1..768000 Hz", given)
    return array, rate


def _stems_dict(stems: np.ndarray, rate: int) -> dict[str, Any]:
    """STEMS from float32 ``[B, 3, C, S]``."""
    return {
        name: {"waveform": torch.from_numpy(np.ascontiguousarray(stems[:, k])), "sample_rate": int(rate)}
        for k, name in enumerate(STEM_KEYS)
    }


class KinesonicDemixAudio:
    DISPLAY_NAME = "Demix Audio"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Split a soundtrack into speech, effects and music (STEMS, and the three as AUDIO). Any sample rate "
        "and channel count; the stems keep the input's rate, channels and length and sum to the input. "
        "Long audio is processed in overlapping chunks (progress and cancel)."
    )
    RETURN_TYPES = (STEMS, "AUDIO", "AUDIO", "AUDIO")
    RETURN_NAMES = ("stems", "speech", "effects", "music")
    OUTPUT_TOOLTIPS = (
        'STEMS {"speech", "effects", "music"}: three AUDIO, for Remix or stem-aware nodes.',
        "Speech stem (AUDIO).",
        "Sound-effects stem: impacts, scrapes, rolling (AUDIO).",
        "Music stem (AUDIO).",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "audio": ("AUDIO", {"tooltip": "The soundtrack to split."}),
                "method": (
                    _methods(),
                    {
                        "default": METHOD_NETWORK,
                        "tooltip": "network: Kinesonic's small separation net (shipped, trained on "
                        "synthetic mixtures); dsp: a weight-free median-filter baseline; or your own "
                        "separator file from models/separation (docs/demixing.md says which layouts load).",
                    },
                ),
                "chunk_seconds": (
                    "FLOAT",
                    {
                        "default": 10.0,
                        "min": 1.0,
                        "max": 120.0,
                        "step": 0.5,
                        "tooltip": "Audio is separated in chunks of this length (s).",
                    },
                ),
                "overlap_seconds": (
                    "FLOAT",
                    {
                        "default": 1.0,
                        "min": 0.0,
                        "max": 60.0,
                        "step": 0.1,
                        "tooltip": "Cross-fade between chunks (s); at most half a chunk.",
                    },
                ),
            }
        }

    def run(self, audio, method, chunk_seconds=10.0, overlap_seconds=1.0):
        from ..separation.separate import separate

        node = self.DISPLAY_NAME
        waves, rate = _waveforms(node, "audio", audio)
        for name, value in (("chunk_seconds", chunk_seconds), ("overlap_seconds", overlap_seconds)):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise NodeInputError(node, name, "a finite number of seconds", value)
        if chunk_seconds < 1.0:
            raise NodeInputError(node, "chunk_seconds", "at least 1 s", chunk_seconds)
        if not 0.0 <= overlap_seconds <= chunk_seconds / 2:
            raise NodeInputError(
                node, "overlap_seconds", f"0..{chunk_seconds / 2:g} s (half a chunk)", overlap_seconds
            )
        separator = load_separator(node, "method", method)
        batch = waves.shape[0]
        callback, bar = bridge.progress_callback(batch, "Demix")
        out = np.zeros((batch, len(STEM_KEYS), *waves.shape[1:]), np.float32)
        with bar:
            for b in range(batch):

                def item_progress(done: int, total: int, b: int = b) -> None:
                    callback(b * total + done, batch * total)

                try:
                    out[b] = separate(
                        waves[b], rate, separator, float(chunk_seconds), float(overlap_seconds),
                        item_progress, bridge.check_interrupted,
                    )  # fmt: skip
                except ValueError as error:
                    raise NodeInputError.because(node, "audio", error) from None
        stems = _stems_dict(out, rate)
        return (stems, stems["speech"], stems["effects"], stems["music"])


def stems_arrays(node: str, input_name: str, stems: Any) -> tuple[np.ndarray, int]:
    """STEMS as float32 ``[B, 3, C, S]`` (speech, effects, music) plus the rate; all checked to match."""
    if not isinstance(stems, dict) or set(STEM_KEYS) - set(stems):
        raise NodeInputError(
            node, input_name, 'STEMS {"speech": AUDIO, "effects": AUDIO, "music": AUDIO}', stems
        )
    arrays, rates = [], set()
    for name in STEM_KEYS:
        wave, rate = _waveforms(node, input_name, stems[name])
        arrays.append(wave)
        rates.add(rate)
    shapes = {a.shape for a in arrays}
    if len(rates) != 1 or len(shapes) != 1:
        raise NodeInputError(
            node, input_name, "three stems of one sample rate and one [B, C, S] shape",
            f"rates {sorted(rates)} and shapes {sorted(shapes)}",
        )  # fmt: skip
    return np.stack(arrays, axis=1), rates.pop()


class KinesonicRemix:
    DISPLAY_NAME = "Remix Stems"
    CATEGORY = CATEGORY
    DESCRIPTION = "Mix STEMS back into one AUDIO with a gain per stem (all gains 1 = the demixed input)."
    RETURN_TYPES = ("AUDIO",)
    RETURN_NAMES = ("audio",)
    OUTPUT_TOOLTIPS = ("speech·g_s + effects·g_e + music·g_m (not clipped; Save Audio clips to -1..1).",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        gain = {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.05}
        return {
            "required": {
                "stems": (STEMS, {"tooltip": "Stems from Demix Audio."}),
                "speech_gain": ("FLOAT", {**gain, "tooltip": "Linear gain of the speech stem (0 = mute)."}),
                "effects_gain": ("FLOAT", {**gain, "tooltip": "Linear gain of the effects stem (0 = mute)."}),
                "music_gain": ("FLOAT", {**gain, "tooltip": "Linear gain of the music stem (0 = mute)."}),
            }
        }

    def run(self, stems, speech_gain=1.0, effects_gain=1.0, music_gain=1.0):
        node = self.DISPLAY_NAME
        gains = []
        for name, value in (
            ("speech_gain", speech_gain),
            ("effects_gain", effects_gain),
            ("music_gain", music_gain),
        ):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise NodeInputError(node, name, "a finite gain >= 0", value)
            gains.append(float(value))
        arrays, rate = stems_arrays(node, "stems", stems)
        mixed = np.einsum("k,bkcs->bcs", np.asarray(gains, np.float32), arrays).astype(np.float32)
        return ({"waveform": torch.from_numpy(mixed), "sample_rate": rate},)


NODE_CLASS_MAPPINGS = {"KinesonicDemixAudio": KinesonicDemixAudio, "KinesonicRemix": KinesonicRemix}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
