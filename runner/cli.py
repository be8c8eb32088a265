"""The ``kinesonic`` command line.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (which registers the
subcommand and sets ``func``) so areas of the pack add commands without editing this file's logic.
Modules are imported only to build the parser (not when the pack is imported).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# (module, relative to the kinesonic package) — each provides add_parser(subparsers)
SUBCOMMAND_MODULES = [
    "runner.commands",  # run, validate, nodes
    "data.cli",  # data synth
    "evaluation.cli",  # eval (folder mode in metrics.cli)
    "perception.cli",  # annotate
    "training.cli",  # train
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinesonic",
        description="Kinesonic: trajectory-guided sounding-video generation (ComfyUI node pack, headless).",
    )
    # the generator's torch device and precision headless (read by nodes/bridge.py; ComfyUI has its own)
    parser.add_argument(
        "--device", help="generator device: cpu (default), cuda, cuda:1, mps (= $KINESONIC_DEVICE)"
    )
    parser.add_argument(
        "--precision",
        choices=["fp32", "bf16", "fp16"],
        help="generator precision: fp32 (default) or autocast",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = __package__.rsplit(".", 1)[0]
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{package}.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, env in (("device", "KINESONIC_DEVICE"), ("precision", "KINESONIC_PRECISION")):
        if getattr(args, flag, None):
            os.environ[env] = getattr(args, flag)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kinesonic: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
