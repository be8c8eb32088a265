"""Training configuration: every knob of a run, stored as JSON in the training state and checkpoints."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ..models.config import ABLATIONS

STAGES = ("autoencoder", "dit")


@dataclass
class TrainConfig:
    """One training run (both stages).

    Data: ``data`` is a shard folder (``kinesonic data synth``), ``"synth:N"`` (N world clips made on
    the fly from ``data_seed``; deterministic) or a folder of annotated clips (see
    :mod:`.data`). ``model`` is ``"tiny"``, ``"micro"`` or a JSON object of
    :class:`~kinesonic.models.GeneratorConfig` overrides on the tiny config.

    Stages run in order: ``ae_steps`` optimiser steps of the autoencoders (video AE reconstruction,
    plus the audio AE if the config has one), then ``dit_steps`` steps of the twin DiT and the text
    encoder with the autoencoders frozen. ``batch_size`` is the GLOBAL batch (split evenly over
    ranks under torchrun). Flow times are logit-normal: ``sigmoid(time_mean + time_std * N(0, 1))``,
    except that a share ``time_tail`` of the samples draws its time uniformly in
    ``[time_tail_start, 1)`` (:class:`~.objective.FlowObjective`). A share ``a2v_sound_only`` of the
    audio-to-video samples also drops the trajectory channels and kinematic tokens, so the sound
    alone has to place the motion. A share ``music_bed`` of the samples gets a procedural music bed
    as the music stem of its soundtrack, the input of the music FiLM (a model with ``music_film``;
    :mod:`.music_beds`); it is dropped with ``cond_drop`` like the other conditions.

    Ablation switches (stored in the exported checkpoint's metadata, used by the evaluation):
    ``no_kinematics`` (no kinematic tokens in the audio tower), ``no_hybrid_flow`` (pure-noise
    video source and a plain, not region-balanced, video loss; the trajectory channels stay),
    ``no_trajectory`` (no trajectory information at all: no trajectory channels after frame 0, no
    hybrid source, no kinematic tokens; only first frame, text and physics), ``no_physics`` (recorded
    for ``use_physics = False``: no mass and speed conditioning; the model then samples without them).

    ``init_autoencoder``: a generator checkpoint whose video autoencoder starts a fresh run (its video
    fields must equal this run's); with ``ae_steps = 0`` it is used as it is (the DiT stage of a
    model with a new audio path reuses a trained video autoencoder).
    ``init_generator``: a generator checkpoint whose whole model (video autoencoder, twin DiT, text
    encoder, kinematic statistics) starts a fresh run, e.g. to continue training a shipped model
    with a new optimizer and learning-rate schedule (its config must equal this run's).
    """

    data: str = "synth:64"
    data_seed: int = 0
    model: str = "tiny"
    out_dir: str = "output/train"
    seed: int = 0
    batch_size: int = 8
    ae_steps: int = 0
    ae_lr: float = 1e-3
    ae_batch_size: int = 8
    ae_frames: int = 9
    dit_steps: int = 100
    lr: float = 3e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    time_mean: float = 0.0
    time_std: float = 1.0
    time_tail: float = 0.0
    time_tail_start: float = 0.9
    cond_drop: float = 0.1
    text_drop: float | None = None
    trajectory_drop: float | None = None
    p_v2a: float = 0.1
    p_a2v: float = 0.1
    a2v_sound_only: float = 0.0
    music_bed: float = 0.0
    max_cond_time: float = 0.1
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    use_physics: bool = True
    kin_stats_clips: int = 256
    checkpoint_every: int = 200
    log_every: int = 10
    threads: int = 0
    grad_checkpointing: bool = False
    init_autoencoder: str = ""
    init_generator: str = ""
    no_kinematics: bool = False
    no_hybrid_flow: bool = False
    no_trajectory: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        self.loss_weights = tuple(float(w) for w in self.loss_weights)  # type: ignore[assignment]
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        for name in ("batch_size", "ae_batch_size", "checkpoint_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("ae_steps", "dit_steps", "warmup_steps", "threads", "kin_stats_clips"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        names = (
            "cond_drop", "p_v2a", "p_a2v", "max_cond_time", "text_drop", "trajectory_drop", "time_tail",
            "a2v_sound_only", "music_bed",
        )  # fmt: skip
        for name in names:
            value = getattr(self, name)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"TrainConfig.{name} must be in [0, 1], got {value}")
        if not 0.0 < self.time_tail_start < 1.0:
            raise ValueError(f"TrainConfig.time_tail_start must be in (0, 1), got {self.time_tail_start}")
        if self.p_v2a + self.p_a2v > 1.0:
            raise ValueError("TrainConfig: p_v2a + p_a2v must be <= 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.lr <= 0 or self.ae_lr <= 0:
            raise ValueError("TrainConfig: learning rates must be > 0")
        if self.ae_frames < 2:
            raise ValueError(f"TrainConfig.ae_frames must be >= 2, got {self.ae_frames}")

    @property
    def drops(self) -> tuple[float, float, float, float]:
        """Drop probabilities of (text, trajectory channels, kinematics, physics)."""
        p = float(self.cond_drop)
        text = p if self.text_drop is None else float(self.text_drop)
        traj = p if self.trajectory_drop is None else float(self.trajectory_drop)
        return text, traj, p, p

    @property
    def ablations(self) -> dict[str, bool]:
        """Every :data:`ABLATIONS` switch of this run (``no_physics`` = not ``use_physics``)."""
        return {
            name: (not self.use_physics) if name == "no_physics" else bool(getattr(self, name))
            for name in ABLATIONS
        }

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        d["loss_weights"] = list(self.loss_weights)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys are a ``ValueError`` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"TrainConfig: unknown keys {unknown}")
        return cls(**d)

    def generator_config(self) -> Any:
        """The :class:`~kinesonic.models.GeneratorConfig` named by :attr:`model`."""
        from ..models.config import PRESETS, preset_config

        text = self.model.strip()
        if text in PRESETS:
            return preset_config(text)
        if text.startswith("{"):
            overrides = json.loads(text)
            return preset_config(overrides.pop("base", "tiny"), **overrides)
        raise ValueError(
            f"TrainConfig.model must be a preset name ({', '.join(PRESETS)}) or a JSON object, "
            f"got {self.model!r}"
        )


__all__ = ["ABLATIONS", "STAGES", "TrainConfig"]
