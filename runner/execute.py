"""In-process execution of an API-format prompt with the pack's node classes.

Semantics follow ComfyUI's classic executor: only nodes that output nodes depend on run, in
dependency order, each once per run (its outputs are cached by node id); every value travels as a
list, a node is mapped over list inputs unless it sets ``INPUT_IS_LIST``, and outputs flagged in
``OUTPUT_IS_LIST`` are concatenated; hidden inputs (``UNIQUE_ID``, ``PROMPT``, ``EXTRA_PNGINFO``)
are supplied when declared; a node returns a tuple or ``{"ui": ..., "result": ...}``.
"""

from __future__ import annotations

import heapq
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NodeExecutionError, RunnerError, ValidationFailed
from .spec import default_node_classes, find_input, input_specs, object_info
from .validate import (
    check_value,
    dependencies,
    is_link,
    needed_nodes,
    output_nodes,
    title_of,
    valid_outputs,
    validate_prompt,
)


@dataclass
class RunResult:
    """What a run produced.

    ``outputs[node_id]`` is ``{"ui": dict, "result": list}`` where ``result[k]`` is the list of values
    of output k (one value per mapped call, ComfyUI's convention); ``files`` are the files the output
    nodes wrote (from their ``ui`` entries and new files in the output folder); ``order`` the node ids
    in execution order and ``seconds`` each node's run time.
    """

    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def ui(self, node_id: str) -> dict[str, Any]:
        """The ``ui`` dict node ``node_id`` returned (empty when none)."""
        return self.outputs.get(str(node_id), {}).get("ui", {})

    def value(self, node_id: str, slot: int = 0) -> Any:
        """The (first) value of output ``slot`` of node ``node_id``."""
        values = self.outputs[str(node_id)]["result"][slot]
        return values[0] if len(values) == 1 else values


# --------------------------------------------------------------------------- overrides


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses (5, 0.5, true, "x", [1,2]), else the raw string."""
    from .shape import parse_int

    try:
        return json.loads(text, parse_int=parse_int)  # an over-long integer is reported by validation
    except (ValueError, RecursionError):
        return text


def apply_overrides(
    prompt: Mapping[str, Any],
    overrides: Iterable[str],
    node_classes: Mapping[str, type] | None = None,
    *,
    info: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """A copy of ``prompt`` with ``NODE.INPUT=VALUE`` overrides applied.

    NODE is a node id or a node title (``_meta.title``, or the display name); the value is parsed as
    JSON when possible, else taken as a string. Unknown nodes, ambiguous titles and inputs the node
    does not declare raise :class:`RunnerError`; values are checked later by validation.
    """
    prompt = {k: {**v, "inputs": dict(v.get("inputs") or {})} for k, v in prompt.items()}
    overrides = list(overrides)
    if not overrides:
        return prompt
    if info is None:
        info = object_info(node_classes)
    for item in overrides:
        key, sep, raw = item.partition("=")
        node_key, dot, input_name = key.strip().rpartition(".")
        if not sep or not dot or not node_key or not input_name:
            example = "12.seed=5 or 'My Node.fps=24'"
            raise RunnerError(f"--set {item!r}: expected NODE.INPUT=VALUE (e.g. {example})")
        if node_key in prompt:
            node_id = node_key
        else:
            matches = [nid for nid in prompt if title_of(prompt, nid, info) == node_key]
            if not matches:
                known = ", ".join(f"#{nid} '{title_of(prompt, nid, info)}'" for nid in prompt)
                raise RunnerError(f"--set {item!r}: no node with id or title {node_key!r} (nodes: {known})")
            if len(matches) > 1:
                ids = ", ".join(f"#{m}" for m in matches)
                raise RunnerError(f"--set {item!r}: nodes {ids} are all titled {node_key!r}; use the id")
            node_id = matches[0]
        definition = info.get(prompt[node_id].get("class_type"))
        if definition is not None and find_input(definition, input_name) is None:
            names = ", ".join(s.name for s in input_specs(definition)) or "none"
            raise RunnerError(
                f"--set {item!r}: node #{node_id} '{title_of(prompt, node_id, info)}' has no input "
                f"{input_name!r} (inputs: {names})"
            )
        value = parse_value(raw)
        prompt[node_id]["inputs"][input_name] = {"__value__": value} if isinstance(value, list) else value
    return prompt


# --------------------------------------------------------------------------- ordering


def execution_order(prompt: Mapping[str, Any], node_ids: list[str]) -> list[str]:
    """Topological order of ``node_ids`` (dependencies first; ties by numeric id)."""
    wanted = set(node_ids)

    def sort_key(node_id: str) -> tuple[int, Any]:
        return (0, int(node_id)) if node_id.isdigit() else (1, node_id)

    deps = {n: {d for d in dependencies(prompt[n]) if d in wanted} for n in node_ids}
    users: dict[str, list[str]] = {n: [] for n in node_ids}
    for node_id, ds in deps.items():
        for d in ds:
            users[d].append(node_id)
    ready = [(sort_key(n), n) for n in node_ids if not deps[n]]
    heapq.heapify(ready)
    order: list[str] = []
    remaining = {n: len(ds) for n, ds in deps.items()}
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for user in users[node_id]:
            remaining[user] -= 1
            if remaining[user] == 0:
                heapq.heappush(ready, (sort_key(user), user))
    if len(order) != len(node_ids):
        stuck = ", ".join(f"#{n}" for n in node_ids if n not in order)
        raise RunnerError(f"dependency cycle between nodes {stuck}")
    return order


# --------------------------------------------------------------------------- running one node


def _hidden_value(kind: Any, node_id: str, prompt: Mapping[str, Any], extra_pnginfo: Any) -> Any:
    if kind == "UNIQUE_ID":
        return node_id
    if kind == "PROMPT":
        return prompt
    if kind == "EXTRA_PNGINFO":
        return extra_pnginfo if extra_pnginfo is not None else {}
    return None


def _merge_ui(uis: list[dict[str, Any]]) -> dict[str, Any]:
    if not uis:
        return {}
    if len(uis) == 1:
        return uis[0]
    merged: dict[str, Any] = {}
    for ui in uis:
        for key, value in ui.items():
            items = value if isinstance(value, list) else [value]
            merged.setdefault(key, []).extend(items)
    return merged


def _run_node(
    node_id: str,
    node: Mapping[str, Any],
    cls: type,
    info: Mapping[str, Any],
    cache: Mapping[str, dict[str, Any]],
    prompt: Mapping[str, Any],
    extra_pnginfo: Any,
) -> dict[str, Any]:
    """Gather inputs as lists, map the node's function over them, merge the outputs."""
    data: dict[str, list[Any]] = {}
    for spec in input_specs(info):
        if spec.name not in (node.get("inputs") or {}):
            continue
        value = node["inputs"][spec.name]
        if is_link(value):
            data[spec.name] = list(cache[str(value[0])]["result"][value[1]])
        else:
            converted, _, _ = check_value(spec, value)
            data[spec.name] = [converted]
    for spec in input_specs(info, ("hidden",)):
        data[spec.name] = [_hidden_value(spec.type, node_id, prompt, extra_pnginfo)]

    instance = cls()
    function = getattr(instance, cls.FUNCTION)
    if getattr(cls, "INPUT_IS_LIST", False):
        calls = [data]
    elif not data:
        calls = [{}]
    elif any(len(v) == 0 for v in data.values()):
        calls = []
    else:
        count = max(len(v) for v in data.values())
        calls = [{k: v[min(i, len(v) - 1)] for k, v in data.items()} for i in range(count)]

    n_outputs = len(getattr(cls, "RETURN_TYPES", ()))
    is_list = list(getattr(cls, "OUTPUT_IS_LIST", [False] * n_outputs))
    results: list[list[Any]] = [[] for _ in range(n_outputs)]
    uis: list[dict[str, Any]] = []
    for kwargs in calls:
        # ComfyUI runs every node under torch.inference_mode(); so does the runner, so a node that
        # needs autograd (training) fails here exactly as it would in ComfyUI.
        with _inference_mode():
            returned = function(**kwargs)
        if isinstance(returned, dict):
            if "expand" in returned:
                raise RunnerError("node expansion ('expand') is not supported by the headless runner")
            if returned.get("ui"):
                uis.append(returned["ui"])
            returned = returned.get("result", ())
        if returned is None:
            returned = ()
        if not isinstance(returned, (tuple, list)):
            kind = type(returned).__name__
            raise RunnerError(f"returned {kind}, expected a tuple of {n_outputs} output(s)")
        if len(returned) < n_outputs:
            raise RunnerError(f"returned {len(returned)} value(s), expected {n_outputs}")
        for k in range(n_outputs):
            if k < len(is_list) and is_list[k]:
                results[k].extend(returned[k])
            else:
                results[k].append(returned[k])
    return {"ui": _merge_ui(uis), "result": results}


# --------------------------------------------------------------------------- files


def _ui_files(ui: Mapping[str, Any]) -> list[Path]:
    from ..nodes import bridge

    roots = {"output": bridge.output_dir(), "temp": bridge.temp_dir(), "input": bridge.input_dir()}
    files: list[Path] = []
    for entries in ui.values():
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
                root = roots.get(entry.get("type", "output"), roots["output"])
                files.append(root / (entry.get("subfolder") or "") / entry["filename"])
    return files


# --------------------------------------------------------------------------- execute


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def execute(
    prompt: Mapping[str, Any],
    node_classes: Mapping[str, type] | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
    progress: bool = True,
    extra_pnginfo: Any = None,
    partial: bool = False,
) -> RunResult:
    """Validate and run an API-format prompt in this process; see the module docstring.

    Raises :class:`ValidationFailed` (with every problem) before anything runs, and
    :class:`NodeExecutionError` (node id, title and type prefixed to the original message) when a
    node fails. ``output_dir`` sets the save nodes' output folder for this run. ``progress`` prints
    one line per node on stderr. With ``partial=True`` output nodes whose branch is valid still run
    when others are invalid (ComfyUI's behaviour); ValidationFailed is raised only when none is valid.
    """
    from ..nodes import bridge

    if node_classes is None:
        node_classes = default_node_classes()
    info = object_info(node_classes)
    errors = validate_prompt(prompt, node_classes, info=info)
    outputs = output_nodes(prompt, info)
    if errors:
        outputs = valid_outputs(prompt, errors, info) if partial else []
        if not outputs:
            raise ValidationFailed(errors)
        if progress:
            _log(str(ValidationFailed(errors)).replace("workflow is invalid", "skipping invalid outputs", 1))

    order = execution_order(prompt, needed_nodes(prompt, outputs))
    previous_output = getattr(bridge, "_output_override", None)
    if output_dir is not None:
        try:
            Path(output_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunnerError(f"output folder {output_dir}: {error.strerror or error}") from None
        bridge.set_output_dir(output_dir)
    result = RunResult(order=order)
    from ..media.files import record_writes

    try:
        # This run's files: what its nodes wrote through the atomic writer (recorded per context,
        # so another run saving into the same folder at the same time is not listed) and what
        # they report in their ui dicts.
        with record_writes() as written:
            _run_all(prompt, order, node_classes, info, result, extra_pnginfo, progress)
        files = {p for p in written if p.is_file()}
        for node_id in order:
            files.update(p for p in _ui_files(result.ui(node_id)) if p.is_file())
        result.files = sorted(files)
    finally:
        if output_dir is not None:
            bridge.set_output_dir(previous_output)
    return result


def _run_all(
    prompt: Mapping[str, Any],
    order: list[str],
    node_classes: Mapping[str, type],
    info: Mapping[str, Any],
    result: RunResult,
    extra_pnginfo: Any,
    progress: bool,
) -> None:
    """Run the nodes of ``order`` one by one into ``result`` (see :func:`execute`)."""
    for position, node_id in enumerate(order, start=1):
        node = prompt[node_id]
        class_type = node["class_type"]
        title = title_of(prompt, node_id, info)
        start = time.perf_counter()
        try:
            cls, definition = node_classes[class_type], info[class_type]
            result.outputs[node_id] = _run_node(
                node_id, node, cls, definition, result.outputs, prompt, extra_pnginfo
            )
        except KeyboardInterrupt:
            raise
        except Exception as error:
            if progress:
                _log(f"[{position}/{len(order)}] #{node_id} {title} ({class_type}) failed")
            raise NodeExecutionError(node_id, title, class_type, error) from error
        result.seconds[node_id] = time.perf_counter() - start
        if progress:
            seconds = result.seconds[node_id]
            _log(f"[{position}/{len(order)}] #{node_id} {title} ({class_type}) {seconds:.2f} s")


def _inference_mode() -> Any:
    """``torch.inference_mode()`` as ComfyUI uses it around node execution (no-op without torch)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        import contextlib

        return contextlib.nullcontext()
    return torch.inference_mode()
