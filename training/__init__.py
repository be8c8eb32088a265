"""Kinesonic training (no ComfyUI imports): ``kinesonic train`` and the Train nodes build on this.

Public API (imported lazily so ``import kinesonic.training`` stays cheap)::

    from kinesonic.training import TrainConfig, train
    result = train(TrainConfig(data="synth:64", model="micro", out_dir="out", ae_steps=10, dit_steps=20))

See docs/training.md.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "TrainConfig": ".config",
    "ABLATIONS": ".config",
    "STAGES": ".config",
    "TrainClip": ".data",
    "open_source": ".data",
    "global_batch_indices": ".data",
    "rank_slice": ".data",
    "sample_seed": ".data",
    "FlowObjective": ".objective",
    "apply_ablation": ".objective",
    "prepare_batch": ".objective",
    "TrainResult": ".trainer",
    "train": ".trainer",
    "read_log": ".trainer",
    "load_state": ".trainer",
    "export_model": ".trainer",
    "init_distributed": ".trainer",
    "shutdown_distributed": ".trainer",
    "loss_curve_image": ".plot",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
