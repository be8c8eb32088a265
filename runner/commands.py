"""``kinesonic run``, ``kinesonic validate`` and ``kinesonic nodes``."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import RunnerError, ValidationFailed

#: Largest ``--threads`` accepted: four per CPU, at most 256 (torch crashes on absurd counts).
MAX_THREADS = min(256, 4 * (os.cpu_count() or 1))


def _timeout(text: str) -> float:
    """argparse type of ``--timeout``: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


def _threads(text: str) -> int:
    """argparse type of ``--threads``: 0 (torch's choice) or 1..MAX_THREADS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be 0 (torch's choice) or 1..{MAX_THREADS} (4 per CPU, at most 256), got {value}"
        )
    return value


def check_output_dir(path: str | os.PathLike) -> Path:
    """Check ``--output`` before anything runs (nothing is created here): a file there, a file in
    the way, or a folder that cannot be written to raises :class:`RunnerError`."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise RunnerError(f"--output {folder}: this is a file, not a folder")
    existing = folder.absolute()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise RunnerError(f"--output {folder}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunnerError(f"--output {folder}: {existing} is not writable")
    return folder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the runner's subcommands on the ``kinesonic`` parser."""
    run = subparsers.add_parser(
        "run",
        help="run a workflow file (UI or API format) headless",
        description="Run a ComfyUI workflow (UI or API format) with Kinesonic's nodes, without ComfyUI.",
    )
    _workflow_args(run)
    run.add_argument("--output", "-o", metavar="DIR", help="folder the save nodes write to (default output/)")
    run.add_argument("--input", metavar="DIR", help="folder relative media file names are looked up in")
    run.add_argument(
        "--server",
        metavar="URL",
        help="submit the workflow to a running ComfyUI (e.g. http://127.0.0.1:8188) instead of running here",
    )
    run.add_argument(
        "--allow-any-path",
        action="store_true",
        help="let nodes read and write files outside the input/output/model folders (absolute and ../ "
        "paths; also KINESONIC_ALLOW_ANY_PATH=1; never inside ComfyUI; see docs/files.md)",
    )
    run.add_argument("--timeout", type=_timeout, default=3600.0, help="server mode: seconds to wait (> 0)")
    run.add_argument("--quiet", "-q", action="store_true", help="no per-node progress lines")
    run.add_argument(
        "--threads",
        type=_threads,
        default=0,
        metavar="N",
        help=f"torch CPU threads for this run, 1..{MAX_THREADS} (default 0: torch's own choice, one per "
        "core); on a machine where other work holds cores, 1 can be several times faster",
    )
    run.set_defaults(func=_guard(cmd_run))

    validate = subparsers.add_parser(
        "validate",
        help="check a workflow file without running it",
        description="Convert (UI format) and validate a workflow; prints every problem found.",
    )
    _workflow_args(validate)
    validate.add_argument("--print-api", action="store_true", help="print the converted API-format prompt")
    validate.set_defaults(func=_guard(cmd_validate))

    nodes = subparsers.add_parser(
        "nodes",
        help="list Kinesonic's node types and their inputs",
        description="List node types with their inputs and outputs (like ComfyUI's /object_info).",
    )
    nodes.add_argument("names", nargs="*", help="only these node types")
    nodes.add_argument("--json", action="store_true", help="print the /object_info JSON")
    nodes.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    nodes.set_defaults(func=_guard(cmd_nodes))


def _workflow_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow JSON file (UI or API format)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NODE.INPUT=VALUE",
        help="override an input; NODE is an id or a title; VALUE is JSON or a string (repeatable)",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Print user errors as messages (traceback only with --debug); exit code 1."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except RunnerError as error:
            if getattr(args, "debug", False):
                traceback.print_exc()
            print(f"kinesonic {args.command}: error: {error}", file=sys.stderr)
            original = getattr(error, "original", None)
            if original is not None and not isinstance(original, (ValueError, OSError)):
                if not getattr(args, "debug", False):
                    print(
                        "(an unexpected error inside the node: run with --debug for the traceback)",
                        file=sys.stderr,
                    )
            return 1

    return wrapped


def _load(args: argparse.Namespace, info: dict[str, Any] | None = None) -> tuple[dict, Any, list[str]]:
    """(API prompt with overrides, extra_pnginfo, conversion warnings)."""
    from .convert import load_workflow as load
    from .convert import read_json, ui_to_api, workflow_kind
    from .execute import apply_overrides

    data = read_json(args.workflow)
    warnings: list[str] = []
    if workflow_kind(data) == "ui":
        prompt = ui_to_api(data, info=info, warnings=warnings)
        extra = {"workflow": data}
    else:
        prompt = load(args.workflow, info=info)  # API format, or a format error naming the file
        extra = None
    prompt = apply_overrides(prompt, args.overrides, info=info)
    return prompt, extra, warnings


def cmd_validate(args: argparse.Namespace) -> int:
    """``kinesonic validate WORKFLOW``: exit 0 when valid, 1 with every problem listed otherwise."""
    from .spec import object_info
    from .validate import needed_nodes, output_nodes, validate_prompt

    info = object_info()
    prompt, _, warnings = _load(args, info)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.print_api:
        print(json.dumps(prompt, indent=2))
    errors = validate_prompt(prompt)
    if errors:
        raise ValidationFailed(errors)
    outputs = output_nodes(prompt, info)
    needed = needed_nodes(prompt, outputs)
    print(
        f"{args.workflow}: valid ({len(prompt)} node(s), {len(needed)} would run, "
        f"output node(s): {', '.join('#' + o for o in outputs)})",
        file=sys.stderr if args.print_api else sys.stdout,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``kinesonic run WORKFLOW``: run headless (or on --server), print the files written."""
    from ..nodes import bridge

    if not 0 <= args.threads <= MAX_THREADS:  # also when called without the parser's check
        raise RunnerError(f"--threads must be 0 (torch's choice) or 1..{MAX_THREADS}, got {args.threads}")
    timeout = getattr(args, "timeout", 3600.0)
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise RunnerError(f"--timeout must be a finite number of seconds > 0, got {timeout!r}")
    if args.output:
        check_output_dir(args.output)
    if args.threads and not args.server:
        import torch

        torch.set_num_threads(args.threads)
    if args.quiet:
        os.environ["KINESONIC_PROGRESS"] = "0"  # also silences the nodes' own progress bars
    if args.input:
        bridge.set_input_dir(args.input)
    if getattr(args, "allow_any_path", False):
        bridge.set_allow_any_path(True)
        try:
            return _run(args)
        finally:
            bridge.set_allow_any_path(None)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.server:
        from .server import fetch_object_info, submit_to_server

        info = fetch_object_info(args.server)
        prompt, extra, warnings = _load(args, info)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        output_dir = Path(args.output) if args.output else Path("output")
        result = submit_to_server(
            args.server, prompt, output_dir, args.timeout, extra_pnginfo=extra, progress=not args.quiet
        )
        files = result.files
    else:
        from .execute import execute

        prompt, extra, warnings = _load(args)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        run_result = execute(prompt, output_dir=args.output, progress=not args.quiet, extra_pnginfo=extra)
        files = run_result.files
    if files:
        print(f"{len(files)} output file(s):")
        for path in files:
            print(f"  {path}")
    else:
        print("done; no output files were written")
    return 0


def _format_input(name: str, raw: Any, required: bool) -> str:
    kind = raw[0] if isinstance(raw, (list, tuple)) and raw else raw
    options = raw[1] if isinstance(raw, (list, tuple)) and len(raw) > 1 and isinstance(raw[1], dict) else {}
    if isinstance(kind, (list, tuple)):
        shown = ", ".join(str(k) for k in kind[:6]) + (", ..." if len(kind) > 6 else "")
        text = f"{name}: COMBO [{shown}]"
    else:
        text = f"{name}: {kind}"
    details = []
    for key in ("default", "min", "max"):
        if key in options:
            details.append(f"{key} {options[key]!r}")
    if not required:
        details.append("optional")
    if details:
        text += f" ({', '.join(details)})"
    tooltip = options.get("tooltip")
    if tooltip:
        text += f" - {tooltip}"
    return text


def cmd_nodes(args: argparse.Namespace) -> int:
    """``kinesonic nodes``: every node type with its inputs and outputs."""
    from .spec import object_info

    info = object_info()
    if args.names:
        missing = [n for n in args.names if n not in info]
        if missing:
            known = ", ".join(sorted(info))
            raise RunnerError(f"unknown node type(s): {', '.join(missing)} (known: {known})")
        info = {n: info[n] for n in args.names}
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    if not info:
        print("no node types are registered")
        return 0
    for name in sorted(info, key=lambda n: (info[n]["category"], n)):
        entry = info[name]
        flag = "  [output node]" if entry["output_node"] else ""
        print(f'{name}  "{entry["display_name"]}"  ({entry["category"]}){flag}')
        if entry.get("description"):
            print(f"    {entry['description']}")
        for section, required in (("required", True), ("optional", False)):
            for input_name, raw in (entry["input"].get(section) or {}).items():
                print(f"    in  {_format_input(input_name, raw, required)}")
        for output_name, kind in zip(entry["output_name"], entry["output"], strict=False):
            print(f"    out {output_name}: {kind}")
    return 0
