"""Kinesonic data (no ComfyUI imports): the procedural physics audio-video world and its shards.

Public API (imported lazily so ``import kinesonic.data`` stays cheap):

- :func:`synth_clip`, :class:`Clip`, :data:`SCENES`, :data:`OBJECT_MATERIALS`, :func:`clip_seed` — world.py
- :func:`write_shards`, :func:`write_shard`, :class:`ShardDataset` — shards.py
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "Clip": ".world",
    "synth_clip": ".world",
    "clip_seed": ".world",
    "SCENES": ".world",
    "OBJECT_MATERIALS": ".world",
    "SURFACE_MATERIALS": ".world",
    "SAMPLE_RATE": ".world",
    "write_shard": ".shards",
    "write_shards": ".shards",
    "ShardDataset": ".shards",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
