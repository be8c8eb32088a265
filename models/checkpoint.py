"""Generator checkpoints: safetensors only, with the config and kinematic stats in the metadata.

Metadata keys (all strings): ``kinesonic_format`` (= :data:`FORMAT_VERSION`), ``kinesonic_config``
(:meth:`GeneratorConfig.to_json`), ``kinesonic_kinematic_stats`` (``KinematicStats.to_json``), plus
any extra string entries the caller adds. ``kinesonic_training`` (written by the trainer: a JSON
object whose ``"ablations"`` maps :data:`.config.ABLATIONS` names to booleans) tells
:func:`load_checkpoint` which ablation switches the weights were trained with
(``model.ablations``; ``no_physics`` also from ``train_config.use_physics = false`` in files made
before that switch was recorded); :func:`save_checkpoint` writes ``{"ablations": ...}`` there for
a model with ablations when the caller gives no such entry. The whole object is kept as
``model.training_metadata``; :func:`trained_max_cond_time` reads the V2A / A2V hold-time range
from its ``"train_config"`` (the trainer writes one).

A learned :class:`~.vocoder.SpectralVocoder` may travel in the same file: its tensors under the
prefix ``vocoder.`` and its config JSON in ``kinesonic_vocoder``. :func:`load_checkpoint` then sets
``model.audio_codec.vocoder`` to it; files without the key decode with Griffin-Lim as before.
:func:`attach_vocoder` adds (or replaces) the vocoder of an existing file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..kinematics import KinematicStats
from .config import ABLATIONS, GeneratorConfig
from .model import KinesonicModel
from .physics_cond import rename_legacy_keys
from .vocoder import SpectralVocoder, vocoder_from_state

FORMAT_VERSION = "1"
KEY_FORMAT = "kinesonic_format"
KEY_CONFIG = "kinesonic_config"
KEY_STATS = "kinesonic_kinematic_stats"
KEY_VOCODER = "kinesonic_vocoder"
KEY_TRAINING = "kinesonic_training"
VOCODER_PREFIX = "vocoder."
#: The trainer's default hold-time range of the given modality in V2A / A2V training
#: (``training.config.TrainConfig.max_cond_time``), assumed for a file that does not record it.
DEFAULT_MAX_COND_TIME = 0.1


class CheckpointError(ValueError):
    """A checkpoint that does not fit: says which file and which keys are missing/unexpected/misshapen."""


def save_checkpoint(
    model: KinesonicModel, path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``model`` to ``path`` (.safetensors) atomically (temp file in the same folder, then rename).

    When ``model.audio_codec.vocoder`` is a :class:`SpectralVocoder` it is written too (``vocoder.*``
    tensors, ``kinesonic_vocoder`` metadata).
    """
    path = Path(path)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.pop(KEY_VOCODER, None)
    if model.ablations and KEY_TRAINING not in meta:
        meta[KEY_TRAINING] = json.dumps({"ablations": {a: a in model.ablations for a in ABLATIONS}})
    meta.update(
        {
            KEY_FORMAT: FORMAT_VERSION,
            KEY_CONFIG: model.cfg.to_json(),
            KEY_STATS: model.kinematic_stats.to_json(),
        }
    )
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    vocoder = getattr(model.audio_codec, "vocoder", None)
    if isinstance(vocoder, SpectralVocoder):
        vocoder.cfg.check_matches(model.cfg)
        state.update(_vocoder_tensors(vocoder))
        meta[KEY_VOCODER] = vocoder.cfg.to_json()
    _write_atomic(state, meta, path)
    return path


def _vocoder_tensors(vocoder: SpectralVocoder) -> dict[str, torch.Tensor]:
    return {VOCODER_PREFIX + k: v.detach().contiguous().cpu() for k, v in vocoder.state_dict().items()}


def _write_atomic(state: dict[str, torch.Tensor], meta: dict[str, str], path: Path) -> None:
    """safetensors ``state`` + ``meta`` to a temp file in ``path``'s folder, then ``os.replace``."""
    from safetensors.torch import save_file

    from ..media.files import atomic_output

    with atomic_output(path) as tmp:
        save_file(state, str(tmp), metadata=meta)


def split_vocoder_state(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(generator tensors, vocoder tensors without the 'vocoder.' prefix)`` of a checkpoint state."""
    gen = {k: v for k, v in state.items() if not k.startswith(VOCODER_PREFIX)}
    voc = {k[len(VOCODER_PREFIX) :]: v for k, v in state.items() if k.startswith(VOCODER_PREFIX)}
    return gen, voc


def attach_vocoder(
    checkpoint_path: str | os.PathLike,
    vocoder: SpectralVocoder,
    out_path: str | os.PathLike | None = None,
) -> Path:
    """Write the generator checkpoint ``checkpoint_path`` with ``vocoder`` added (or replacing one).

    The generator tensors and every other metadata entry are kept exactly; the result goes to
    ``out_path`` (default: ``checkpoint_path`` itself) through a temp file and ``os.replace``.
    Raises :class:`CheckpointError` if the file is not a generator checkpoint or the vocoder's audio
    settings do not match its config.
    """
    from safetensors.torch import load_file

    src = Path(checkpoint_path)
    meta = read_metadata(src)
    if meta.get(KEY_FORMAT) is None or KEY_CONFIG not in meta:
        raise CheckpointError(
            f"{src.name}: not a Kinesonic generator checkpoint (no '{KEY_CONFIG}' metadata)"
        )
    try:
        vocoder.cfg.check_matches(GeneratorConfig.from_dict(json.loads(meta[KEY_CONFIG])))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{src.name}: {exc}") from None
    gen, _old = split_vocoder_state(load_file(str(src)))
    gen.update(_vocoder_tensors(vocoder))
    meta[KEY_VOCODER] = vocoder.cfg.to_json()
    dest = Path(out_path) if out_path is not None else src
    _write_atomic(gen, meta, dest)
    return dest


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


def _ablations(meta: dict[str, str]) -> list[str]:
    """Names of the ablation switches set in the ``kinesonic_training`` metadata (none if absent).

    ``no_physics`` is also set for a file whose ``train_config`` says ``"use_physics": false`` but
    whose ``ablations`` object predates that switch (trained with ``--no-physics`` before it was
    recorded there)."""
    if KEY_TRAINING not in meta:
        return []
    info = json.loads(meta[KEY_TRAINING])
    switches = (info.get("ablations") if isinstance(info, dict) else None) or {}
    if not isinstance(switches, dict):
        raise ValueError(f"'{KEY_TRAINING}' ablations must be an object of booleans, got {switches!r}")
    names = [name for name, on in switches.items() if on]
    config = info.get("train_config") if isinstance(info, dict) else None
    if "no_physics" not in switches and isinstance(config, dict) and config.get("use_physics") is False:
        names.append("no_physics")
    return names


def parse_training_metadata(meta: dict[str, str]) -> dict:
    """The ``kinesonic_training`` JSON object (``{}`` when absent)."""
    if KEY_TRAINING not in meta:
        return {}
    info = json.loads(meta[KEY_TRAINING])
    if not isinstance(info, dict):
        raise ValueError(f"'{KEY_TRAINING}' must be a JSON object, got {type(info).__name__}")
    return info


def trained_max_cond_time(model: KinesonicModel) -> float:
    """Largest flow time (0..1) at which the model's training held the given modality in V2A / A2V:
    ``train_config.max_cond_time`` of its ``kinesonic_training`` metadata, else
    :data:`DEFAULT_MAX_COND_TIME`. Sampling with a larger ``cond_time`` asks for states it never saw."""
    config = getattr(model, "training_metadata", {}).get("train_config")
    value = config.get("max_cond_time") if isinstance(config, dict) else None
    return DEFAULT_MAX_COND_TIME if value is None else float(value)


def check_cond_time(model: KinesonicModel, cond_time: float) -> None:
    """ValueError unless ``0 <= cond_time <=`` :func:`trained_max_cond_time` of ``model``."""
    limit = trained_max_cond_time(model)
    if not 0.0 <= float(cond_time) <= limit:
        raise ValueError(
            f"cond_time must be in [0, {limit:g}] (the hold times this model was trained with), "
            f"got {cond_time}"
        )


def load_checkpoint(path: str | os.PathLike) -> KinesonicModel:
    """Build a :class:`KinesonicModel` from its config metadata and load the weights (CPU, eval mode).

    A file with a vocoder (``kinesonic_vocoder``) gets it as ``model.audio_codec.vocoder``; a file
    trained with ablation switches gets them as ``model.ablations`` (sampled as trained). Raises
    :class:`CheckpointError` naming the file and listing missing / unexpected / shape-mismatched
    keys, or the metadata problem.
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
        ablations = _ablations(meta)
        training = parse_training_metadata(meta)
        # Built on the CPU with its usual initialisation (about 0.05 s of CPU for the tiny model),
        # which the weights loaded next replace; the global random state is restored afterwards,
        # so loading a model draws no random numbers. (On the meta device, torch's Python
        # reference kernels for randn / normal_ / mul import torch._dynamo: about 1.5 s of CPU.)
        with torch.random.fork_rng(devices=[]):
            model = KinesonicModel(cfg, stats, ablations)
    except (ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path.name}: bad metadata: {exc}") from None
    model.training_metadata = training
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path.name}: cannot read the weights ({exc})") from None
    state, voc_state = split_vocoder_state(state)
    state = rename_legacy_keys(state)
    problems = compare_state(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path.name} does not fit its config: " + " | ".join(problems))
    # copies in torch's own (aligned) memory: BLAS results can depend on the alignment of the
    # file's memory map, and the sound of a seed must not depend on how the weights were loaded
    model.load_state_dict({k: v.clone() for k, v in state.items()}, strict=True, assign=True)
    if KEY_VOCODER in meta:
        try:
            model.audio_codec.vocoder = vocoder_from_state(meta[KEY_VOCODER], voc_state, cfg)
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{path.name}: {exc}") from None
    elif voc_state:
        raise CheckpointError(f"{path.name}: has '{VOCODER_PREFIX}*' tensors but no '{KEY_VOCODER}' metadata")
    return model.eval()
