"""The ``kinesonic`` command line.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (which registers the
subcommand and sets ``func``) so areas of the pack add commands without editing this file's logic.
Modules are imported only to build the parser (not when the pack is imported), and a known
subcommand imports only the module that registers it (see ``COMMANDS``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

# (module, relative to the kinesonic package) — each provides add_parser(subparsers)
SUBCOMMAND_MODULES = [
    "runner.commands",  # run, validate, nodes
    "data.cli",  # data synth
    "evaluation.cli",  # eval (folder mode in metrics.cli)
    "perception.cli",  # annotate
    "training.cli",  # train
    "evaluation.physics",  # physics eval
]

#: the subcommands each module registers (tests check this against what add_parser registers); a
#: known command imports only its module, so ``kinesonic run`` does not import the metrics, the
#: perception pipeline or the trainer just to build the parser
COMMANDS = {
    "run": "runner.commands",
    "validate": "runner.commands",
    "nodes": "runner.commands",
    "data": "data.cli",
    "eval": "evaluation.cli",
    "annotate": "perception.cli",
    "train": "training.cli",
    "train-vocoder": "training.cli",
    "physics": "evaluation.physics",
}

#: options of the top-level parser that take a value (skipped when looking for the command)
_GLOBAL_VALUE_OPTIONS = ("--device", "--precision")


def command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not a top-level option), or None."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``kinesonic`` parser; with a known ``command`` only the module that owns it is imported
    (its help and errors then list that module's subcommands), otherwise every subcommand module."""
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
    modules = [COMMANDS[command]] if command in COMMANDS else SUBCOMMAND_MODULES
    for name in modules:
        importlib.import_module(f"{package}.{name}").add_parser(subparsers)
    return parser


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C: KeyboardInterrupt (writers clean up), except while a module is being imported.

    Unwinding an import from inside it can print "Exception ignored" tracebacks or abort the
    process (torch's C++ start-up calls back into Python); nothing has been written yet then, so
    the process ends at once with exit code 130.
    """
    import importlib._bootstrap as bootstrap  # already loaded: part of the interpreter

    if getattr(bootstrap, "_module_locks", None):  # an import is running
        os.write(2, b"kinesonic: interrupted\n")
        os._exit(130)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the ``kinesonic`` command; Ctrl-C at any point (also while torch loads) exits 130 quietly."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)  # before the heavy imports below
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(command_of(argv))
        args = parser.parse_args(argv)
        for flag, env in (("device", "KINESONIC_DEVICE"), ("precision", "KINESONIC_PRECISION")):
            if getattr(args, flag, None):
                os.environ[env] = getattr(args, flag)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kinesonic: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
