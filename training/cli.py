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
    ("--model", "model", str, "'tiny', 'micro' or a JSON object of GeneratorConfig overrides"),
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
    ("--cond-drop", "cond_drop", float, "probability of dropping each condition"),
    ("--text-drop", "text_drop", float, "probability of dropping the text (default: --cond-drop)"),
    ("--trajectory-drop", "trajectory_drop", float, "trajectory drop probability (default: --cond-drop)"),
    ("--p-v2a", "p_v2a", float, "share of video-to-audio training samples"),
    ("--p-a2v", "p_a2v", float, "share of audio-to-video training samples"),
    ("--checkpoint-every", "checkpoint_every", int, "steps between checkpoints"),
    ("--log-every", "log_every", int, "steps between log rows"),
    ("--threads", "threads", int, "torch threads (0 = torch's default)"),
]
_SWITCHES = [
    ("--no-kinematics", "no_kinematics", "ablation: no kinematic tokens"),
    ("--no-hybrid-flow", "no_hybrid_flow", "ablation: plain noise source and loss"),
    ("--no-trajectory", "no_trajectory", "ablation: no trajectory conditioning at all"),
    ("--no-physics", "use_physics", "do not condition on physics (mass, speed)"),
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
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(result.checkpoint, tmp)
            tmp.replace(dest)
            print(f"exported {dest}")
    except (ValueError, FileNotFoundError) as error:
        print(f"kinesonic train: {error}", file=sys.stderr)
        return 2
    finally:
        if created:
            shutdown_distributed()
    return 0
