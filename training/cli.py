"""``kinesonic train``: train the generator (autoencoders, then the twin DiT); works under torchrun.

Examples::

    kinesonic train --data .work/world64 --out .work/train_tiny --ae-steps 1500 --dit-steps 6000
    torchrun --nproc-per-node 2 -m kinesonic.runner.cli train --data synth:512 --out .work/ddp
    kinesonic train --config run.json            # a JSON object of TrainConfig fields

Re-running the same command resumes from ``OUT/train_state.pt``; raising ``--dit-steps`` continues a
finished run. ``--export FILE`` copies the final EMA model (``OUT/model.safetensors``) to FILE.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

# (flag, TrainConfig field, type, help)
_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--data", "data", str, "shard folder, 'synth:N' or a folder of annotated clips"),
    ("--data-seed", "data_seed", int, "base seed of 'synth:N' data"),
    (
        "--model",
        "model",
        str,
        "a preset name (tiny, micro, small128, base256) or a JSON object of GeneratorConfig overrides",
    ),
    ("--out", "out_dir", str, "output folder (state, model, log)"),
    ("--seed", "seed", int, "run seed (init, batch order, noise)"),
    ("--batch-size", "batch_size", int, "global batch of the DiT stage"),
    ("--ae-steps", "ae_steps", int, "optimiser steps of the autoencoder stage"),
    ("--ae-lr", "ae_lr", float, "autoencoder learning rate"),
    ("--ae-batch-size", "ae_batch_size", int, "global batch of the autoencoder stage"),
    ("--ae-frames", "ae_frames", int, "frames per autoencoder training window"),
    ("--dit-steps", "dit_steps", int, "optimiser steps of the DiT stage"),
    ("--lr", "lr", float, "DiT learning rate (AdamW)"),
    ("--warmup-steps", "warmup_steps", int, "linear warm-up steps"),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay"),
    ("--grad-clip", "grad_clip", float, "gradient norm clip"),
    ("--ema-decay", "ema_decay", float, "EMA decay of the exported DiT weights"),
    ("--time-mean", "time_mean", float, "logit-normal flow time: mean"),
    ("--time-std", "time_std", float, "logit-normal flow time: std"),
    ("--time-tail", "time_tail", float, "share of samples whose flow time is uniform in [start, 1)"),
    ("--time-tail-start", "time_tail_start", float, "start of that uniform range (default 0.9)"),
    ("--cond-drop", "cond_drop", float, "probability of dropping each condition"),
    ("--text-drop", "text_drop", float, "probability of dropping the text (default: --cond-drop)"),
    ("--trajectory-drop", "trajectory_drop", float, "trajectory drop probability (default: --cond-drop)"),
    ("--p-v2a", "p_v2a", float, "share of video-to-audio training samples"),
    ("--p-a2v", "p_a2v", float, "share of audio-to-video training samples"),
    (
        "--a2v-sound-only",
        "a2v_sound_only",
        float,
        "share of the audio-to-video samples without trajectory and kinematics (default 0)",
    ),
    (
        "--music-bed",
        "music_bed",
        float,
        "share of samples given a music bed as the music FiLM's input (needs music_film; default 0)",
    ),
    ("--checkpoint-every", "checkpoint_every", int, "steps between checkpoints"),
    ("--log-every", "log_every", int, "steps between log rows"),
    ("--threads", "threads", int, "torch threads (0 = torch's default)"),
    (
        "--init-autoencoder",
        "init_autoencoder",
        str,
        "generator checkpoint whose video autoencoder starts the run",
    ),
    (
        "--init-generator",
        "init_generator",
        str,
        "generator checkpoint whose whole model starts the run (continue training it)",
    ),
]
_SWITCHES = [
    ("--no-kinematics", "no_kinematics", "ablation: no kinematic tokens"),
    ("--no-hybrid-flow", "no_hybrid_flow", "ablation: plain noise source and loss"),
    ("--no-trajectory", "no_trajectory", "ablation: no trajectory conditioning at all"),
    ("--no-physics", "use_physics", "do not condition on physics (mass, speed)"),
    (
        "--grad-checkpointing",
        "grad_checkpointing",
        "recompute each DiT block in the backward pass (less memory)",
    ),
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train`` on the ``kinesonic`` command line."""
    p = subparsers.add_parser(
        "train",
        help="train the generator (autoencoders, then twin DiT); resumable; DDP under torchrun",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="JSON file with TrainConfig fields (flags override it)")
    for flag, dest, typ, text in _FLAGS:
        p.add_argument(flag, dest=dest, type=typ, default=None, help=text)
    for flag, dest, text in _SWITCHES:
        p.add_argument(flag, dest=dest, action="store_true", default=None, help=text)
    p.add_argument("--export", help="copy the final model.safetensors to this path")
    p.set_defaults(func=_train)
    _add_vocoder_parser(subparsers)


# (flag, VocoderTrainConfig field, type, help)
_VOCODER_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--data", "data", str, "shard folder, 'synth:N' or a folder of annotated clips"),
    ("--data-seed", "data_seed", int, "base seed of 'synth:N' data"),
    ("--out", "out_dir", str, "output folder (state, vocoder, log)"),
    (
        "--generator",
        "generator",
        str,
        "audio settings: a preset name (tiny, micro, ...) or a generator checkpoint",
    ),
    ("--steps", "steps", int, "optimiser steps"),
    ("--batch-size", "batch_size", int, "crops per step"),
    ("--segment-frames", "segment_frames", int, "mel frames per crop (0 = whole clips)"),
    ("--lr", "lr", float, "AdamW learning rate (warm-up, cosine decay to 10 %%)"),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay"),
    ("--warmup-steps", "warmup_steps", int, "linear warm-up steps"),
    ("--grad-clip", "grad_clip", float, "gradient norm clip"),
    ("--sc-weight", "sc_weight", float, "weight of the spectral-convergence loss term"),
    ("--input-noise", "input_noise", float, "largest std of the noise on the normalised log-mel input"),
    ("--channels", "channels", int, "conv width of the vocoder"),
    ("--layers", "layers", int, "residual conv blocks"),
    ("--kernel", "kernel", int, "conv kernel along time (odd)"),
    ("--seed", "seed", int, "run seed (init, batch order, crops)"),
    ("--max-clips", "max_clips", int, "use only the first N clips (0 = all)"),
    ("--checkpoint-every", "checkpoint_every", int, "steps between state checkpoints"),
    ("--log-every", "log_every", int, "steps between log rows"),
    ("--threads", "threads", int, "torch threads (0 = torch's default; default 1)"),
]

_VOCODER_DOC = """Train the learned mel -> spectrum vocoder (SpectralVocoder) on clips' audio.

Examples::

    kinesonic train-vocoder --data .work/world64 --out .work/vocoder_run --steps 6000 \\
        --attach models/kinesonic/kinesonic_tiny.safetensors

Re-running the same command resumes from ``OUT/vocoder_state.pt``. ``--attach CHECKPOINT`` writes
the trained vocoder into that generator checkpoint at the end (and takes the audio settings from
it unless ``--generator`` is given); every node that loads the generator then uses it.
"""


def _add_vocoder_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train-vocoder",
        help="train the learned mel -> spectrum vocoder; resumable; --attach writes it into a generator",
        description=_VOCODER_DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, dest, typ, text in _VOCODER_FLAGS:
        p.add_argument(flag, dest=dest, type=typ, default=None, help=text)
    p.add_argument("--attach", help="generator checkpoint to write the trained vocoder into")
    p.set_defaults(func=_train_vocoder)


def vocoder_config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`VocoderTrainConfig` of parsed ``train-vocoder`` arguments."""
    from .vocoder import VocoderTrainConfig

    values = {
        dest: getattr(args, dest) for _, dest, _, _ in _VOCODER_FLAGS if getattr(args, dest) is not None
    }
    if not values.get("data") or not values.get("out_dir"):
        raise ValueError("--data and --out are required")
    if args.attach and "generator" not in values:
        values["generator"] = args.attach
    return VocoderTrainConfig(**values)


def _train_vocoder(args: argparse.Namespace) -> int:
    from ..models import CheckpointError, attach_vocoder
    from .vocoder import load_vocoder, train_vocoder

    try:
        cfg = vocoder_config_from_args(args)
        if args.attach and not Path(args.attach).is_file():
            raise FileNotFoundError(f"--attach: no such file {args.attach}")
    except (ValueError, OSError) as error:
        print(f"kinesonic train-vocoder: {error}", file=sys.stderr)
        return 2
    import signal

    def _stop(signum: int, frame: Any) -> None:  # SIGTERM: stop like Ctrl-C (the state is saved first)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        result = train_vocoder(cfg, log=lambda msg: print(msg, flush=True))
        print(f"vocoder: {result.vocoder} ({result.steps} steps, {result.wall_s:.0f} s)")
        if args.attach:
            attach_vocoder(args.attach, load_vocoder(result.vocoder))
            print(f"attached the vocoder to {args.attach}")
    except (ValueError, FileNotFoundError, CheckpointError) as error:
        print(f"kinesonic train-vocoder: {error}", file=sys.stderr)
        return 2
    return 0


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`TrainConfig` of parsed ``train`` arguments (``--config`` file, then flags)."""
    from .config import TrainConfig

    values: dict[str, Any] = {}
    if args.config:
        values.update(json.loads(Path(args.config).read_text(encoding="utf-8")))
    for _, dest, _, _ in _FLAGS:
        if getattr(args, dest, None) is not None:
            values[dest] = getattr(args, dest)
    for _, dest, _ in _SWITCHES:
        if getattr(args, dest, None):
            values[dest] = dest != "use_physics"
    return TrainConfig.from_dict(values)


def _train(args: argparse.Namespace) -> int:
    from .trainer import init_distributed, shutdown_distributed, train

    try:
        cfg = config_from_args(args)
    except (ValueError, OSError) as error:
        print(f"kinesonic train: {error}", file=sys.stderr)
        return 2
    import signal

    def _stop(signum: int, frame: Any) -> None:  # SIGTERM: stop like Ctrl-C (the state is saved first)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    created = init_distributed()
    try:
        result = train(cfg, log=lambda msg: print(msg, flush=True))
        from .trainer import dist_info

        if args.export and dist_info()[0] == 0:
            dest = Path(args.export)
            from ..media.files import atomic_output

            with atomic_output(dest) as tmp:
                shutil.copyfile(result.checkpoint, tmp)
            print(f"exported {dest}")
    except (ValueError, FileNotFoundError) as error:
        print(f"kinesonic train: {error}", file=sys.stderr)
        return 2
    finally:
        if created:
            shutdown_distributed()
    return 0
