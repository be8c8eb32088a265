"""A seeded mutation fuzzer for workflow files (UI and API format), standard library only.

The engine takes real workflow files, applies a few random structural mutations (deletions, type
swaps, huge or non-finite numbers, deep nesting, wrong link slots, duplicated node ids, strings where
lists are, ...) and returns the mutated file *text*, so raw JSON tokens the ``json`` module would not
write (``1e400``, ``NaN``, ``Infinity``, an integer of 5,000 digits, 100,000 nested brackets) reach
the reader too.

:func:`check_validate` runs one text through ``kinesonic validate`` (the real command, in-process)
and classifies the outcome as ``valid`` (exit 0), ``error`` (exit 1 with a message, no traceback)
or ``traceback:<ExceptionType>`` (anything escaping the command). ``tests/test_runner_fuzz.py`` runs
a short seeded slice in CI; ``benchmarks/fuzz_workflows.py`` runs thousands of mutations.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Raw JSON texts placed verbatim into a mutated file.
RAW_TOKENS = (
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 5000,
    "-" + "9" * 5000,
    "1" + "0" * 30,
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
)
DEEP_DEPTH = 100_000

_SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    -(2**63),
    0.5,
    -0.0,
    1e308,
    "",
    "x",
    "0",
    "1.5",
    "true",
    "NaN",
    "Infinity",
    "../../etc/passwd",
    "\u0000",
    "é" * 3,
    "a" * 2000,
)


@dataclass
class _Raw:
    """A raw JSON text to splice into the output."""

    text: str


def default_corpus(root: str | os.PathLike | None = None) -> list[Path]:
    """The workflow files the fuzzer starts from: ``workflows/*.json`` and ``tests/data/*workflows*``."""
    base = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    files = sorted((base / "workflows").glob("*.json"))
    files += sorted(
        p for d in sorted((base / "tests" / "data").glob("*workflows*")) for p in d.glob("*.json")
    )
    return files


def _dumps(obj: Any) -> str:
    """JSON text of ``obj`` with every :class:`_Raw` spliced in verbatim."""
    raws: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, _Raw):
            raws.append(value.text)
            return f"\u0001RAW{len(raws) - 1}\u0001"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(obj), allow_nan=True)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\u0001RAW{index}\u0001"), raw, 1)
    return text


def _containers(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) in the tree, containers and leaves, depth first."""
    yield path, obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _containers(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _containers(value, (*path, index))


def _get(obj: Any, path: tuple) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


class Mutator:
    """Seeded random mutations of a parsed workflow; :meth:`mutate` returns the new JSON text."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.operators: list[tuple[str, Callable[[Any], Any], float]] = [
            ("delete", self.op_delete, 2.0),
            ("type_swap", self.op_type_swap, 3.0),
            ("huge_number", self.op_huge_number, 2.0),
            ("deep_nesting", self.op_deep_nesting, 0.3),
            ("wrong_link_slot", self.op_link_slot, 2.0),
            ("duplicate_id", self.op_duplicate_id, 1.0),
            ("string_for_list", self.op_string_for_list, 1.0),
            ("list_for_scalar", self.op_list_for_scalar, 1.0),
            ("node_field", self.op_node_field, 3.0),
            ("widget_value", self.op_widget_value, 3.0),
            ("api_input", self.op_api_input, 2.0),
            ("empty_container", self.op_empty, 1.0),
        ]

    # ----------------------------------------------------------------- helpers

    def pick_path(self, obj: Any, predicate: Callable[[Any], bool] = lambda v: True) -> tuple | None:
        paths = [p for p, v in _containers(obj) if p and predicate(v)]
        return self.rng.choice(paths) if paths else None

    def value(self) -> Any:
        roll = self.rng.random()
        if roll < 0.25:
            return _Raw(self.rng.choice(RAW_TOKENS))
        if roll < 0.35:
            return self.rng.choice([[], {}, [1, 2], {"a": 1}, [[0, 0]], ["1", 0], {"__value__": "x"}])
        return self.rng.choice(_SCALARS)

    def ui_nodes(self, obj: Any) -> list[Any]:
        nodes = obj.get("nodes") if isinstance(obj, dict) else None
        return nodes if isinstance(nodes, list) else []

    def api_nodes(self, obj: Any) -> list[Any]:
        if not isinstance(obj, dict) or "nodes" in obj:
            return []
        return [v for v in obj.values() if isinstance(v, dict)]

    # ----------------------------------------------------------------- operators

    def op_delete(self, obj: Any) -> Any:
        path = self.pick_path(obj)
        if path is None:
            return obj
        parent = _get(obj, path[:-1])
        del parent[path[-1]]
        return obj

    def op_type_swap(self, obj: Any) -> Any:
        path = self.pick_path(obj)
        return obj if path is None else _set(obj, path, self.value())

    def op_huge_number(self, obj: Any) -> Any:
        path = self.pick_path(obj, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
        return obj if path is None else _set(obj, path, _Raw(self.rng.choice(RAW_TOKENS)))

    def op_deep_nesting(self, obj: Any) -> Any:
        path = self.pick_path(obj)
        depth = self.rng.choice([DEEP_DEPTH, 3000, 900])
        opener = self.rng.choice(["[", '{"a":'])
        closer = "]" if opener == "[" else "}"
        raw = _Raw(opener * depth + "1" + closer * depth)
        return raw if path is None else _set(obj, path, raw)

    def op_link_slot(self, obj: Any) -> Any:
        links = obj.get("links") if isinstance(obj, dict) else None
        if isinstance(links, list) and links:
            link = self.rng.choice(links)
            if isinstance(link, list) and link:
                index = self.rng.randrange(len(link))
                link[index] = self.rng.choice([-1, 99, 2**40, "0", 1.5, None, [0], _Raw("1e400"), True])
            return obj
        for node in self.api_nodes(obj):
            inputs = node.get("inputs")
            if isinstance(inputs, dict):
                for name, value in inputs.items():
                    if isinstance(value, list) and len(value) == 2:
                        choice = self.rng.choice([-1, 99, 2**70, "0", 1.5, None, True, _Raw("NaN")])
                        inputs[name] = [value[0], choice] if self.rng.random() < 0.6 else [choice, value[1]]
                        return obj
        return self.op_type_swap(obj)

    def op_duplicate_id(self, obj: Any) -> Any:
        nodes = self.ui_nodes(obj)
        if len(nodes) >= 2:
            a, b = self.rng.sample(range(len(nodes)), 2)
            if isinstance(nodes[a], dict) and isinstance(nodes[b], dict):
                nodes[b]["id"] = nodes[a].get("id")
            return obj
        if nodes:
            nodes.append(copy.deepcopy(nodes[0]))
        return obj

    def op_string_for_list(self, obj: Any) -> Any:
        path = self.pick_path(obj, lambda v: isinstance(v, list))
        return obj if path is None else _set(obj, path, self.rng.choice(["", "abc", "[1, 2]", "nodes"]))

    def op_list_for_scalar(self, obj: Any) -> Any:
        path = self.pick_path(obj, lambda v: not isinstance(v, (list, dict)))
        if path is None:
            return obj
        return _set(obj, path, self.rng.choice([[], [_get(obj, path)], {"x": 1}, [[1, 2, 3]]]))

    def op_node_field(self, obj: Any) -> Any:
        nodes = self.ui_nodes(obj) or self.api_nodes(obj)
        nodes = [n for n in nodes if isinstance(n, dict)]
        if not nodes:
            return self.op_type_swap(obj)
        node = self.rng.choice(nodes)
        keys = ["id", "type", "mode", "inputs", "outputs", "widgets_values", "title", "class_type", "_meta"]
        key = self.rng.choice([k for k in keys if k in node] or keys)
        node[key] = self.value() if self.rng.random() < 0.8 else _Raw(self.rng.choice(RAW_TOKENS))
        return obj

    def op_widget_value(self, obj: Any) -> Any:
        nodes = [n for n in self.ui_nodes(obj) if isinstance(n, dict) and "widgets_values" in n]
        if not nodes:
            return self.op_api_input(obj)
        node = self.rng.choice(nodes)
        values = node["widgets_values"]
        if isinstance(values, list) and values and self.rng.random() < 0.85:
            values[self.rng.randrange(len(values))] = self.value()
        elif isinstance(values, dict) and values:
            values[self.rng.choice(list(values))] = self.value()
        else:
            node["widgets_values"] = self.rng.choice(["abc", 5, None, {"a": 1}, [], [_Raw("NaN")]])
        return obj

    def op_api_input(self, obj: Any) -> Any:
        nodes = [n for n in self.api_nodes(obj) if isinstance(n.get("inputs"), dict) and n["inputs"]]
        if not nodes:
            return self.op_type_swap(obj)
        inputs = self.rng.choice(nodes)["inputs"]
        inputs[self.rng.choice(list(inputs))] = self.value()
        return obj

    def op_empty(self, obj: Any) -> Any:
        path = self.pick_path(obj, lambda v: isinstance(v, (list, dict)))
        if path is None:
            return obj
        value = _get(obj, path)
        return _set(obj, path, type(value)())

    # ----------------------------------------------------------------- public

    def mutate(self, workflow: Any, count: int | None = None) -> tuple[str, list[str]]:
        """``(json_text, operator names)`` of a mutated copy of ``workflow`` (1-3 mutations)."""
        obj = copy.deepcopy(workflow)
        names: list[str] = []
        weights = [w for _, _, w in self.operators]
        for _ in range(count or self.rng.randint(1, 3)):
            name, operator, _ = self.rng.choices(self.operators, weights)[0]
            if isinstance(obj, _Raw):
                break
            try:
                obj = operator(obj)
            except (KeyError, IndexError, TypeError):  # the path vanished under an earlier mutation
                pass
            names.append(name)
        if isinstance(obj, _Raw):
            return obj.text, names
        return _dumps(obj), names


# --------------------------------------------------------------------------- running


@dataclass
class FuzzStats:
    """Outcome counts of a fuzz run (``tracebacks``: exception type -> count; ``examples``: one each)."""

    mutations: int = 0
    valid: int = 0
    errors: int = 0
    tracebacks: dict[str, int] = field(default_factory=dict)
    examples: dict[str, tuple[str, list[str], str]] = field(default_factory=dict)
    unlocated: int = 0  # invalid workflows with a listed problem that names no node (document-level)

    @property
    def traceback_count(self) -> int:
        return sum(self.tracebacks.values())


def _validate_parser() -> argparse.ArgumentParser:
    from . import commands

    parser = argparse.ArgumentParser(prog="kinesonic")
    commands.add_parser(parser.add_subparsers(dest="command"))
    return parser


def check_validate(
    text: str, parser: argparse.ArgumentParser, folder: Path, command: str = "validate"
) -> tuple[str, str, BaseException | None]:
    """Run ``kinesonic validate`` (or ``run``, writing under ``folder``) on ``text``.

    Returns ``(outcome, stderr, exception)``; ``outcome`` is ``valid`` (exit 0), ``error`` or
    ``traceback:<Type>`` (an exception escaped the command).
    """
    path = folder / "mutant.json"
    path.write_text(text, encoding="utf-8")
    argv = [command, str(path)]
    if command == "run":
        argv += ["--output", str(folder / "out"), "--quiet"]
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = args.func(args)
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - classifying is the point
        return f"traceback:{type(exc).__name__}", err.getvalue(), exc
    if code == 0:
        return "valid", err.getvalue(), None
    message = err.getvalue()
    if "Traceback" in message:
        return "traceback:printed", message, None
    if "an unexpected error inside the node" in message:  # a node crashed (not a ValueError/OSError)
        return "traceback:inside-node", message, None
    return "error", message, None


def fuzz_validate(
    seed: int,
    count: int,
    *,
    corpus: list[Path] | None = None,
    time_budget_s: float | None = None,
    on_case: Callable[[int, str], None] | None = None,
    command: str = "validate",
) -> FuzzStats:
    """Run ``count`` seeded mutations through ``kinesonic validate`` (stops early at the time budget).

    ``command="run"`` runs them instead (use a corpus of cheap workflows: valid mutants execute).
    """
    import time

    files = corpus or default_corpus()
    bases = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    mutator = Mutator(seed)
    parser = _validate_parser()
    stats = FuzzStats()
    from .spec import object_info

    object_info()  # the node modules (and torch) load before the clock starts
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kinesonic-fuzz-") as tmp:
        folder = Path(tmp)
        for index in range(count):
            if time_budget_s is not None and time.monotonic() - start > time_budget_s:
                break
            base = bases[index % len(bases)]
            text, names = mutator.mutate(base)
            outcome, message, _ = check_validate(text, parser, folder, command)
            stats.mutations += 1
            if outcome == "valid":
                stats.valid += 1
            elif outcome == "error":
                stats.errors += 1
                lines = [line for line in message.splitlines() if line.startswith("  - ")]
                whole = ("no output node", "has no nodes", "more problem(s)")
                if any(
                    "node #" not in line
                    and "node at position" not in line
                    and not any(w in line for w in whole)
                    for line in lines
                ):
                    stats.unlocated += 1
            else:
                stats.tracebacks[outcome] = stats.tracebacks.get(outcome, 0) + 1
                stats.examples.setdefault(outcome, (files[index % len(files)].name, names, text[:300]))
            if on_case is not None:
                on_case(index, outcome)
    return stats
