"""Generator checkpoints: safetensors only, with the config and kinematic stats in the metadata.

Metadata keys (all strings): ``kinesonic_format`` (= :data:`FORMAT_VERSION`), ``kinesonic_config``
(:meth:`GeneratorConfig.to_json`), ``kinesonic_kinematic_stats`` (``KinematicStats.to_json``), plus
any extra string entries the caller adds (e.g. training notes).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from ..kinematics import KinematicStats
from .config import GeneratorConfig
from .model import KinesonicModel

FORMAT_VERSION = "1"
KEY_FORMAT = "kinesonic_format"
KEY_CONFIG = "kinesonic_config"
KEY_STATS = "kinesonic_kinematic_stats"


class CheckpointError(ValueError):
    """A checkpoint that does not fit: says which file and which keys are missing/unexpected/misshapen."""


def save_checkpoint(
    model: KinesonicModel, path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``model`` to ``path`` (.safetensors) atomically (temp file in the same folder, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.update(
        {
            KEY_FORMAT: FORMAT_VERSION,
            KEY_CONFIG: model.cfg.to_json(),
            KEY_STATS: model.kinematic_stats.to_json(),
        }
    )
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(suffix=".safetensors.tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The safetensors metadata dict of ``path`` (empty if none)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{Path(path).name}: not a readable safetensors file ({exc})") from None


def compare_state(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> list[str]:
    """Human-readable problems between two state dicts (empty list = names and shapes match)."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = sorted(
        f"{k}: expected {tuple(expected[k].shape)}, file has {tuple(found[k].shape)}"
        for k in set(expected) & set(found)
        if tuple(expected[k].shape) != tuple(found[k].shape)
    )
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches ({len(shapes)}): {'; '.join(shapes)}")
    return problems


def load_checkpoint(path: str | os.PathLike) -> KinesonicModel:
    """Build a :class:`KinesonicModel` from its config metadata and load the weights (CPU, eval mode).

    Raises :class:`CheckpointError` naming the file and listing missing / unexpected / shape-
    mismatched keys, or the metadata problem.
    """
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    fmt = meta.get(KEY_FORMAT)
    if fmt is None or KEY_CONFIG not in meta:
        raise CheckpointError(
            f"{path.name}: not a Kinesonic generator checkpoint (no '{KEY_FORMAT}'/'{KEY_CONFIG}' metadata)"
        )
    if fmt != FORMAT_VERSION:
        raise CheckpointError(
            f"{path.name}: checkpoint format {fmt!r}, this Kinesonic reads {FORMAT_VERSION!r}"
        )
    try:
        cfg = GeneratorConfig.from_dict(json.loads(meta[KEY_CONFIG]))
        stats = KinematicStats.from_json(meta[KEY_STATS]) if KEY_STATS in meta else None
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path.name}: bad metadata: {exc}") from None
    model = KinesonicModel(cfg, stats)
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path.name}: cannot read the weights ({exc})") from None
    problems = compare_state(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path.name} does not fit its config: " + " | ".join(problems))
    model.load_state_dict(state, strict=True)
    return model.eval()
