"""Audio demixing (no ComfyUI imports): speech / effects / music stems, mixtures with exact stems,
a DSP baseline and Kinesonic's own small separation network. See docs/demixing.md.

Public API (imported lazily so ``import kinesonic.separation`` stays cheap):

- :data:`STEM_NAMES`, :data:`SAMPLE_RATE`, :func:`si_sdr` — core.py
- :func:`make_mixture`, :func:`write_mix_shards`, :func:`load_stems` — mixtures.py
- :func:`synth_music` — music.py; :func:`synth_speech`, :class:`SpeechUnavailable` — speech.py
- :func:`soundfont_music`, :class:`SoundfontUnavailable` — soundfont.py (General MIDI through FluidSynth)
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "STEM_NAMES": ".core",
    "SAMPLE_RATE": ".core",
    "si_sdr": ".core",
    "Mixture": ".mixtures",
    "make_mixture": ".mixtures",
    "write_mix_shards": ".mixtures",
    "load_stems": ".mixtures",
    "synth_music": ".music",
    "synth_speech": ".speech",
    "soundfont_music": ".soundfont",
    "SoundfontUnavailable": ".soundfont",
    "SpeechUnavailable": ".speech",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
