"""Import promises of the main job's path: what is (not) imported, checked in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys

from kinesonic.runner.cli import COMMANDS, SUBCOMMAND_MODULES, build_parser, command_of


def _modules_after(code: str) -> set[str]:
    """Names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def _subcommands(parser) -> set[str]:  # noqa: ANN001
    return {name for action in parser._subparsers._group_actions for name in action.choices}


def test_command_table_matches_what_the_modules_register():
    assert _subcommands(build_parser()) == set(COMMANDS)
    assert set(COMMANDS.values()) == set(SUBCOMMAND_MODULES)
    # a known command builds a parser with its own module's commands only
    assert _subcommands(build_parser("run")) == {"run", "validate", "nodes"}
    assert _subcommands(build_parser("train")) == {"train", "train-vocoder"}
    assert _subcommands(build_parser("no-such-command")) == set(COMMANDS)


def test_command_of_skips_the_top_level_options():
    assert command_of(["run", "wf.json", "--output", "out"]) == "run"
    assert command_of(["--device", "cpu", "--precision", "fp32", "eval", "x"]) == "eval"
    assert command_of(["--device=cpu", "nodes"]) == "nodes"
    assert command_of(["--help"]) is None
    assert command_of([]) is None


def test_run_parser_imports_no_other_area():
    loaded = _modules_after(
        "from kinesonic.runner.cli import build_parser, command_of\n"
        "argv = ['run', 'wf.json', '--output', 'out']\n"
        "build_parser(command_of(argv)).parse_args(argv)"
    )
    others = ("kinesonic.metrics", "kinesonic.perception", "kinesonic.training", "kinesonic.evaluation")
    assert sorted(m for m in loaded if m.startswith(others)) == []
    heavy = ("torch", "scipy", "librosa", "numba", "findiff", "sympy", "cv2")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []


def test_every_module_is_imported_for_the_full_help():
    loaded = _modules_after("from kinesonic.runner.cli import build_parser\nbuild_parser()")
    assert {f"kinesonic.{name}" for name in SUBCOMMAND_MODULES} <= loaded
