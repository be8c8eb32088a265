"""Validation of API-format prompts, mirroring ComfyUI's ``execution.validate_prompt``.

All problems are collected (not only the first): unknown node types, missing required inputs,
links to missing nodes or output slots, link type mismatches, values that do not convert to the
declared type, numbers outside min/max, combo values not in the list, a node's own
``VALIDATE_INPUTS`` verdict, a workflow without output node, and dependency cycles.
Like ComfyUI, inputs are checked only on nodes an output node depends on.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from .errors import WorkflowError
from .shape import api_shape_errors, is_finite_number, short
from .spec import InputSpec, default_node_classes, input_specs, object_info, types_match


def is_link(value: Any) -> bool:
    """API-format link: ``[origin_id, output_slot]`` with a string id and an int slot."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (str, int))
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def unwrap(value: Any) -> Any:
    """Undo the frontend's ``{"__value__": [...]}`` wrapping of list values."""
    if isinstance(value, dict) and set(value) == {"__value__"}:
        return value["__value__"]
    return value


def title_of(prompt: Mapping[str, Any], node_id: str, info: Mapping[str, Any] | None = None) -> str:
    """The node's title (``_meta.title``), else its display name, else its class type."""
    node = prompt.get(node_id) or {}
    meta = node.get("_meta") if isinstance(node, dict) else None
    if isinstance(meta, dict) and meta.get("title"):
        return str(meta["title"])
    class_type = node.get("class_type") if isinstance(node, dict) else None
    class_type = class_type if isinstance(class_type, str) else None
    definition = (info or {}).get(class_type) if class_type else None
    if definition and definition.get("display_name"):
        return str(definition["display_name"])
    return str(class_type or node_id)


def convert_value(spec: InputSpec, value: Any) -> Any:
    """Convert a constant to the declared type like ComfyUI does; raises ValueError/TypeError."""
    kind = spec.type_name
    if kind == "INT":
        if isinstance(value, str):
            value = value.strip()
        if isinstance(value, (dict, list)):  # int() would name the container type only
            raise TypeError(f"cannot convert {type(value).__name__} to INT")
        if isinstance(value, float) and not is_finite_number(value):
            raise ValueError(f"{value!r} is not a finite number")
        return int(value)
    if kind == "FLOAT":
        if isinstance(value, (dict, list)):
            raise TypeError(f"cannot convert {type(value).__name__} to FLOAT")
        converted = float(value)
        if not is_finite_number(converted):  # NaN would pass every min/max comparison
            raise ValueError(f"{value!r} is not a finite number")
        return converted
    if kind == "STRING":
        return str(value)
    if kind == "BOOLEAN":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return bool(value)
    return value


def check_value(spec: InputSpec, value: Any) -> tuple[Any, str | None, str | None]:
    """``(converted, kind, message)`` for a constant input; kind/message are None when it is fine."""
    value = unwrap(value)
    try:
        converted = convert_value(spec, value)
    except (TypeError, ValueError, OverflowError):
        expected = {"INT": " (expected a whole number)", "FLOAT": " (expected a finite number)"}
        message = f"cannot convert {short(value)} to {spec.type_name}{expected.get(spec.type_name, '')}"
        return value, "invalid_input_type", message
    if spec.type_name in ("INT", "FLOAT"):
        low, high = spec.options.get("min"), spec.options.get("max")
        if low is not None and converted < low:
            return converted, "value_smaller_than_min", f"value {converted} is smaller than the minimum {low}"
        if high is not None and converted > high:
            return converted, "value_bigger_than_max", f"value {converted} is bigger than the maximum {high}"
    options = spec.combo_options
    if options is not None and not spec.options.get("multi_select"):
        if converted not in options:
            shown = ", ".join(repr(o) for o in options[:12]) + (", ..." if len(options) > 12 else "")
            return (
                converted,
                "value_not_in_list",
                f"{short(converted)} is not one of: {shown or '(empty list)'}",
            )
    return converted, None, None


def output_nodes(prompt: Mapping[str, Any], info: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Ids of nodes whose type is an output node, in prompt order."""
    return [
        node_id
        for node_id, node in prompt.items()
        if isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and (info.get(node["class_type"]) or {}).get("output_node")
    ]


def valid_outputs(
    prompt: Mapping[str, Any], errors: list[WorkflowError], info: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Output nodes none of whose dependencies has an error (ComfyUI runs those and skips the rest).

    Errors without a node (e.g. no output node) and unknown node types anywhere leave none.
    """
    if any(e.node_id is None or e.kind in ("unknown_node", "invalid_prompt") for e in errors):
        return []
    bad = {e.node_id for e in errors}
    return [out for out in output_nodes(prompt, info) if not bad.intersection(needed_nodes(prompt, [out]))]


def dependencies(node: Mapping[str, Any]) -> list[str]:
    """Ids of the nodes this node's inputs are linked to."""
    return [str(v[0]) for v in (node.get("inputs") or {}).values() if is_link(v)]


def needed_nodes(prompt: Mapping[str, Any], roots: list[str]) -> list[str]:
    """The roots and everything they depend on (existing nodes only), in discovery order."""
    seen: dict[str, None] = {}
    stack = list(reversed(roots))
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in prompt or not isinstance(prompt[node_id], dict):
            continue
        seen[node_id] = None
        stack.extend(reversed(dependencies(prompt[node_id])))
    return list(seen)


def find_cycles(prompt: Mapping[str, Any], node_ids: list[str]) -> list[list[str]]:
    """Each dependency cycle among ``node_ids`` as a list of node ids (first id repeated at the end)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[list[str]] = []
    allowed = set(node_ids)

    def visit(start: str) -> None:
        path: list[str] = []
        iterators = []
        state[start] = 1
        path.append(start)
        iterators.append(iter(dependencies(prompt[start])))
        while iterators:
            try:
                nxt = next(iterators[-1])
            except StopIteration:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if nxt not in allowed:
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(dependencies(prompt[nxt])))

    for node_id in node_ids:
        if node_id not in state:
            visit(node_id)
    return cycles


def _unknown_type_message(class_type: str, known: list[str]) -> str:
    message = f"unknown node type {class_type!r}"
    close = difflib.get_close_matches(class_type, known, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    if not class_type.startswith("Kinesonic"):
        message += (
            "; it is not a Kinesonic node (a ComfyUI core or other pack's node?): the headless runner only "
            "runs Kinesonic nodes, so run this workflow in ComfyUI or submit it with --server URL"
        )
    return message


def validate_prompt(
    prompt: Mapping[str, Any],
    node_classes: Mapping[str, type] | None = None,
    *,
    info: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[WorkflowError]:
    """Every problem of an API-format prompt, as :class:`WorkflowError` items (empty when valid).

    Node definitions come from ``info`` (an ``/object_info`` dict) when given, else from
    ``node_classes`` (default: the pack's NODE_CLASS_MAPPINGS); a node class's ``VALIDATE_INPUTS``
    is called when the class is available.
    """
    if node_classes is None and info is None:
        node_classes = default_node_classes()
    if info is None:
        info = object_info(node_classes)
    classes = node_classes or {}
    errors: list[WorkflowError] = []

    if not isinstance(prompt, Mapping) or not prompt:
        return [WorkflowError(None, None, None, "the workflow has no nodes", kind="invalid_prompt")]
    shape_errors = api_shape_errors(prompt, info)
    if shape_errors:  # everything below reads these shapes
        return shape_errors

    for node_id, node in prompt.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            errors.append(
                WorkflowError(str(node_id), None, None, "node has no 'class_type'", kind="invalid_prompt")
            )
            continue
        if node["class_type"] not in info:
            errors.append(
                WorkflowError(
                    str(node_id),
                    title_of(prompt, node_id, info),
                    None,
                    _unknown_type_message(node["class_type"], sorted(info)),
                    node["class_type"],
                    "unknown_node",
                )
            )

    outputs = output_nodes(prompt, info)
    if not outputs:
        errors.append(
            WorkflowError(
                None,
                None,
                None,
                "the workflow has no output node (a node that saves or shows a result, e.g. "
                "'Save Sounding Video'), so nothing would run",
                kind="prompt_no_outputs",
            )
        )
        return errors

    needed = needed_nodes(prompt, outputs)
    for node_id in needed:
        errors.extend(_validate_node(prompt, node_id, info, classes))

    for cycle in find_cycles(prompt, needed):
        names = " -> ".join(f"#{n} '{title_of(prompt, n, info)}'" for n in cycle)
        errors.append(
            WorkflowError(
                cycle[0],
                title_of(prompt, cycle[0], info),
                None,
                f"dependency cycle: {names}",
                prompt[cycle[0]].get("class_type"),
                "dependency_cycle",
            )
        )
    return errors


def _validate_node(
    prompt: Mapping[str, Any],
    node_id: str,
    info: Mapping[str, Mapping[str, Any]],
    classes: Mapping[str, type],
) -> list[WorkflowError]:
    node = prompt[node_id]
    if not isinstance(node, dict) or info.get(node.get("class_type")) is None:
        return []
    class_type = node["class_type"]
    definition = info[class_type]
    title = title_of(prompt, node_id, info)
    inputs = node.get("inputs") or {}
    dropped = (node.get("_meta") or {}).get("dropped_inputs") or {}
    errors: list[WorkflowError] = []

    def error(name: str | None, message: str, kind: str) -> None:
        errors.append(WorkflowError(node_id, title, name, message, class_type, kind))

    cls = classes.get(class_type)
    custom = getattr(cls, "VALIDATE_INPUTS", None) if cls is not None else None
    custom_args: set[str] = set()
    takes_kwargs = False
    if custom is not None:
        try:
            parameters = inspect.signature(custom).parameters
        except (TypeError, ValueError):
            parameters = {}
        custom_args = {n for n, p in parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())

    constants: dict[str, Any] = {}
    received_types: dict[str, Any] = {}
    for spec in input_specs(definition):
        if spec.name not in inputs:
            if spec.section == "required":
                reason = dropped.get(spec.name)
                message = "required input is missing"
                if reason:
                    message += f" ({reason})"
                elif not spec.is_widget:
                    message += " (connect a link to it)"
                error(spec.name, message, "required_input_missing")
            continue
        value = inputs[spec.name]
        if is_link(value):
            origin_id, slot = str(value[0]), value[1]
            origin = prompt.get(origin_id)
            if not isinstance(origin, dict):
                error(spec.name, f"linked to node #{origin_id}, which is not in the workflow", "bad_link")
                continue
            origin_def = info.get(origin.get("class_type"))
            if origin_def is None:
                continue  # reported as unknown node
            output_types = list(origin_def.get("output") or [])
            if not 0 <= slot < len(output_types):
                error(
                    spec.name,
                    f"linked to output {slot} of node #{origin_id} '{title_of(prompt, origin_id, info)}', "
                    f"which has {len(output_types)} output(s)",
                    "bad_link",
                )
                continue
            received = output_types[slot]
            received_types[spec.name] = received
            if spec.name not in custom_args and not types_match(received, spec.type):
                error(
                    spec.name,
                    f"type mismatch: node #{origin_id} '{title_of(prompt, origin_id, info)}' output {slot} "
                    f"gives {received}, this input takes {spec.type_name}",
                    "return_type_mismatch",
                )
            continue
        if spec.name in custom_args:
            constants[spec.name] = unwrap(value)
            continue
        if not spec.is_widget and spec.type_name not in ("INT", "FLOAT", "STRING", "BOOLEAN"):
            error(
                spec.name,
                f"expects a link from a {spec.type_name} output, got the constant {short(unwrap(value))}",
                "invalid_input_type",
            )
            continue
        converted, kind, message = check_value(spec, value)
        if kind:
            error(spec.name, message or kind, kind)
        else:
            constants[spec.name] = converted

    if custom is not None and not errors:
        kwargs = {k: v for k, v in constants.items() if k in custom_args or takes_kwargs}
        if "input_types" in custom_args:
            kwargs["input_types"] = received_types
        try:
            verdict = custom(**kwargs)
        except Exception as exc:  # a node's own validation failing is a validation error
            verdict = f"{type(exc).__name__}: {exc}"
        if verdict is not True:
            error(None, f"the node rejected its inputs: {verdict}", "custom_validation_failed")
    return errors
