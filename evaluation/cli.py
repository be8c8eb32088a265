"""``kinesonic eval``: motion-sound metrics for a folder of clips, or the held-out world table.

Two modes:

- ``kinesonic eval FOLDER``: score a folder of generated clips (see :mod:`kinesonic.metrics.cli`
  for the folder layout); one row per clip.
- ``kinesonic eval --world --model PATH [--ablation LABEL=PATH ...] [--clips 100]``: generate
  held-out physics-world clips with the model (and each ablation), score them with the same code
  and print one table: simulator ground truth, the model, the ablations, then each ablation's
  per-clip difference to the model with 95 % bootstrap intervals (see
  :mod:`kinesonic.evaluation.world`). ``--figures DIR`` also draws generated-vs-simulator and
  across-the-rows pictures; ``--reuse`` keeps the clip files of an earlier run of the same files
  and settings in ``--work``.

  Opt-in rows of the first model
  (``--rows codec,jointcfg,v2a,a2v,a2v_bed,a2v_demix,a2v_streams,a2v_music,nophysics,ode`` or ``--rows all``):
  the simulator's sound through its audio codec, JointCFG, video-to-audio given the simulator's
  frames, audio-to-video given the simulator's sound (its ETE reads the visual events from the
  tracks measured on the generated video), audio-to-video given that sound under a held-out music
  bed as a raw mixture ("a2v_bed") or demixed by the shipped separator ("a2v_demix"; with both, the
  table adds their paired difference), demixed and with the video's attention limited to where the
  effects stem sounds ("a2v_streams", MTV's stream intervals), the same plus the demixed music stem
  as the music FiLM's vector for a model that has one ("a2v_music"), the model with its physics input off
  ("physics input off": the same weights, so its paired row says what the physics input changes),
  the model with the deterministic sampler of earlier tables ("ODE sampler": the flow ODE without
  audio guidance, where the default adds audio CFG 2 and a stochastic audio update); ``--cond-time
  T`` holds the given modality of v2a / a2v at flow time T (0 = clean; at most the model's trained
  maximum, 0.1 by default).

  ``--physics estimated|simulator|none``: the PHYSICS (per-object mass, per-frame speed) every
  sampled row is conditioned on. Default ``estimated``: estimated from the held-out clip's rendered
  frames and the tracks the extraction pipeline measures on them, materials from the caption (as
  for a user's clip, which has no simulator); unknown values stay unknown (masked out by the model).
  ``simulator``: the simulator's truth (the training condition); ``none``: no physics. A model
  trained with ``--no-physics`` (e.g. ``--ablation "no physics conditioning=PATH"``) samples
  without physics either way. The table's first line says which physics was used and how much of it
  was known.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register ``eval`` on the ``kinesonic`` command line."""
    from ..metrics.cli import add_folder_arguments

    p = subparsers.add_parser(
        "eval",
        help="motion-sound metrics (ETE, MAIC, TE, onset acc, ...) for a folder of clips, or the held-out "
        "world table of a model and its ablations (--world)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_folder_arguments(p)
    w = p.add_argument_group("world table (--world)")
    w.add_argument(
        "--world", action="store_true", help="the held-out physics-world table instead of a folder"
    )
    w.add_argument("--model", metavar="PATH", help="the generator checkpoint (.safetensors)")
    w.add_argument(
        "--ablation", metavar="LABEL=PATH", action="append", default=[], help="an ablated model (repeatable)"
    )
    w.add_argument(
        "--rows",
        default="",
        metavar="ROW,...",
        help="extra rows of the first model: codec (simulator sound through its audio codec), jointcfg "
        "(JointCFG), v2a (video-to-audio on the simulator's frames), a2v (audio-to-video on the "
        "simulator's sound), a2v_bed / a2v_demix / a2v_streams (audio-to-video on that sound under a "
        "music bed: raw, demixed, or demixed with stream intervals), a2v_music (a2v_streams plus the "
        "music stem as the music FiLM's input), nophysics (the model with its "
        "physics input off), ode (the deterministic sampler without audio guidance), or all (default: none)",
    )
    w.add_argument(
        "--cond-time",
        type=float,
        default=0.0,
        metavar="T",
        help="flow time at which v2a and the audio-to-video rows hold the given modality (default 0 = "
        "clean; at most the model's trained maximum, 0.1 unless its checkpoint records another)",
    )
    w.add_argument(
        "--physics",
        choices=["estimated", "simulator", "none"],
        default="estimated",
        help="physics conditioning of the model rows: estimated from the rendered frames (default), the "
        "simulator's truth, or none",
    )
    w.add_argument("--clips", type=int, default=100, help="held-out clips (default 100)")
    w.add_argument("--seed", type=int, default=1000, help="base seed of the held-out clips (default 1000)")
    w.add_argument("--train-seed", type=int, default=0, help="base seed of the training clips (default 0)")
    w.add_argument(
        "--train-clips", type=int, default=20000, help="training clips to keep out (default 20000)"
    )
    w.add_argument("--steps", type=int, default=25, help="sampling steps (default 25)")
    w.add_argument(
        "--sample-seed", type=int, default=0, help="noise seed of clip 0; clip i uses it + i (default 0)"
    )
    w.add_argument("--work", default="kinesonic_eval", help="folder for the scored clips (one per row)")
    w.add_argument("--figures", metavar="DIR", help="also write the pictures to DIR")
    w.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    w.add_argument("--out", metavar="FILE", help="also write the table (markdown) to FILE")
    w.add_argument(
        "--reuse",
        action="store_true",
        help="keep clip files from the same model file and settings (not keyed on the code: use a fresh "
        "--work after changing Kinesonic)",
    )
    p.set_defaults(func=run)


def _error(message: str) -> int:
    print(f"kinesonic eval: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Dispatch: folder mode (:func:`kinesonic.metrics.cli.run_eval`) or the world table."""
    if not args.world:
        if not args.folder:
            return _error("give a FOLDER of clips, or --world --model PATH for the held-out world table")
        from ..metrics.cli import run_eval

        return run_eval(args)
    if args.folder:
        return _error(f"--world generates its own clips; drop the folder argument ({args.folder!r})")
    if not args.model:
        return _error("--world needs --model PATH (a generator .safetensors)")
    models: list[tuple[str, str]] = [("default model", args.model)]
    for spec in args.ablation:
        label, sep, path = spec.partition("=")
        if not sep or not label.strip() or not path:
            return _error(f"--ablation expects LABEL=PATH, got {spec!r}")
        models.append((label.strip(), path))
    for label, path in models:
        if not Path(path).is_file():
            return _error(f"{label}: no checkpoint file at {path!r}")
    if args.clips < 1 or args.steps < 1:
        return _error(f"--clips and --steps must be >= 1, got {args.clips} and {args.steps}")
    from .world_rows import parse_rows

    try:
        rows = parse_rows(args.rows)
    except ValueError as error:
        return _error(f"--rows: {error}")

    import torch

    from ..models import CheckpointError
    from .world import evaluate_world

    torch.set_num_threads(max(1, args.threads))
    try:
        result = evaluate_world(
            models,
            args.work,
            clips=args.clips,
            seed=args.seed,
            train_seed=args.train_seed,
            train_clips=args.train_clips,
            steps=args.steps,
            sample_seed=args.sample_seed,
            figures=args.figures,
            reuse=args.reuse,
            rows=rows,
            cond_time=args.cond_time,
            physics=args.physics,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (CheckpointError, ValueError) as error:
        return _error(str(error))
    print(result.text, end="")
    if args.out:
        from ..media.files import atomic_write_text

        atomic_write_text(Path(args.out), result.text)
    return 0
