"""One check of a workflow's JSON shapes, before any conversion or validation touches it.

The converter and the validator read fields by position and type (node ids, link slots, input
lists, ``widgets_values``); this module makes sure each has the JSON type they expect, so a bad
file becomes a list of :class:`WorkflowError` (node id, title, input, what was expected, what came)
instead of a Python traceback deep inside the conversion. It also bounds what Python cannot handle
safely: values nested more than :data:`MAX_DEPTH` levels (recursion in ``copy`` / ``json``) and
integers of more than :data:`MAX_INT_DIGITS` digits (Python's int-string limit).

Values of inputs are *not* checked here (only their nesting and size): their types, ranges, NaN and
Infinity are the validator's job (``validate.check_value``), which knows the declared input type.

:func:`read_workflow_text` parses JSON text the same way: ``NaN`` / ``Infinity`` / ``1e400`` become
floats (the validator rejects them where a finite number is needed), an over-long integer becomes a
:class:`HugeNumber` marker (reported here), and nesting too deep for the parser is a clean
:class:`WorkflowFormatError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import WorkflowError, WorkflowFormatError

#: Deepest nesting of JSON values accepted anywhere in a workflow (levels below the document root).
MAX_DEPTH = 64
#: Longest integer literal read (Python refuses to convert more than 4300 digits).
MAX_INT_DIGITS = 4000
#: Problems listed at most (a broken file can have thousands).
MAX_ERRORS = 50
#: LiteGraph node modes: 0 always, 1 on event, 2 never (muted), 3 on trigger, 4 bypass.
NODE_MODES = (0, 1, 2, 3, 4)
#: Largest node id / link id / slot accepted (JavaScript's safe integer range, as in the editor).
MAX_ID = 2**53


class HugeNumber:
    """An integer literal too long to convert (kept as text so the error can say where it was)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<integer of {len(self.text.lstrip('-'))} digits>"


def parse_int(text: str) -> int | HugeNumber:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        return HugeNumber(text)
    return int(text)


def read_workflow_text(text: str, source: str) -> Any:
    """Parse workflow JSON text; syntax errors, and nesting too deep to parse, raise WorkflowFormatError."""
    try:
        return json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as error:
        raise WorkflowFormatError(
            f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise WorkflowFormatError(
            f"{source}: JSON nested too deeply to read (a workflow value may be nested at most {MAX_DEPTH} "
            "levels)"
        ) from None
    except ValueError as error:  # e.g. a number the parser cannot convert
        raise WorkflowFormatError(f"{source}: invalid JSON: {error}") from None


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (for messages)."""
    if isinstance(value, (dict, list)) and _too_deep(value, 4):
        return f"<{type(value).__name__} nested deeper than 4 levels>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """The JSON type of ``value`` with a short preview, e.g. ``the string 'abc'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, HugeNumber):
        return f"an integer of {len(value.text.lstrip('-'))} digits"
    if isinstance(value, int):
        return f"the integer {short(value)}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {short(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"an object with {len(value)} key(s)"
    return f"a {type(value).__name__}"


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def value_problem(value: Any, depth_budget: int = MAX_DEPTH) -> str | None:
    """Why ``value`` cannot be handled at all (too deep, or an over-long integer), else None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > depth_budget:
            return f"value is nested more than {depth_budget} levels deep"
        if isinstance(item, HugeNumber):
            return (
                f"{describe(item)} (at most {MAX_INT_DIGITS} digits are read; Python cannot convert more "
                "than 4300)"
            )
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def is_id(value: Any) -> bool:
    """A node or link id: an integer within ±2**53 (not a boolean) or a non-empty string."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_ID
    return isinstance(value, str) and bool(value)


def is_slot(value: Any) -> bool:
    """An output/input slot index: an integer 0 <= slot <= 2**53 (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


class _Collector:
    def __init__(self, info: Mapping[str, Any] | None) -> None:
        self.info = info or {}
        self.errors: list[WorkflowError] = []
        self.dropped = 0

    def add(
        self, node_id: Any, title: str | None, input_name: str | None, message: str, class_type: Any = None
    ) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.dropped += 1
            return
        self.errors.append(
            WorkflowError(
                None if node_id is None else str(node_id),
                title,
                input_name,
                message,
                class_type if isinstance(class_type, str) else None,
                "invalid_shape",
            )
        )

    def finish(self) -> list[WorkflowError]:
        if self.dropped:
            self.errors.append(
                WorkflowError(
                    None, None, None, f"... and {self.dropped} more problem(s)", kind="invalid_shape"
                )
            )
        return self.errors

    def display_name(self, class_type: Any) -> str | None:
        if not isinstance(class_type, str):
            return None
        definition = self.info.get(class_type)
        if isinstance(definition, Mapping) and isinstance(definition.get("display_name"), str):
            return definition["display_name"]
        return class_type


# --------------------------------------------------------------------------- UI format


def _ui_title(node: Mapping[str, Any], c: _Collector) -> str | None:
    title = node.get("title")
    if isinstance(title, str) and title:
        return title
    return c.display_name(node.get("type"))


def ui_shape_errors(ui: Any, info: Mapping[str, Any] | None = None) -> list[WorkflowError]:
    """Every shape problem of a UI-format workflow (``{"nodes": [...], "links": [...]}``); [] when fine."""
    c = _Collector(info)
    if not isinstance(ui, dict):
        c.add(None, None, None, f"a UI workflow must be a JSON object, got {describe(ui)}")
        return c.finish()
    nodes = ui.get("nodes")
    if not isinstance(nodes, list):
        c.add(None, None, None, f"'nodes' must be a list of node objects, got {describe(nodes)}")
        return c.finish()
    for key in ("definitions", "extra"):
        if ui.get(key) is not None and not isinstance(ui.get(key), dict):
            c.add(None, None, None, f"'{key}' must be an object, got {describe(ui.get(key))}")
    definitions = ui.get("definitions") if isinstance(ui.get("definitions"), dict) else {}
    subgraphs = definitions.get("subgraphs")
    if subgraphs is not None and not (
        isinstance(subgraphs, list) and all(isinstance(s, dict) for s in subgraphs)
    ):
        c.add(
            None, None, None, f"'definitions.subgraphs' must be a list of objects, got {describe(subgraphs)}"
        )
    extra = ui.get("extra") if isinstance(ui.get("extra"), dict) else {}
    if extra.get("groupNodes") is not None and not isinstance(extra.get("groupNodes"), dict):
        c.add(
            None, None, None, f"'extra.groupNodes' must be an object, got {describe(extra.get('groupNodes'))}"
        )

    first_position: dict[Any, int] = {}
    node_inputs: dict[Any, list[Any]] = {}
    for position, node in enumerate(nodes):
        if not isinstance(node, dict):
            c.add(
                None, None, None, f"entry {position} of 'nodes' must be a node object, got {describe(node)}"
            )
            continue
        node_id = node.get("id")
        title = _ui_title(node, c)
        class_type = node.get("type")
        if is_id(node_id):
            label_id, prefix = node_id, ""
        else:  # no usable id: say where the node is in the file instead
            label_id, prefix = (
                None,
                f"node at position {position} of 'nodes'" + (f" ({title!r})" if title else "") + ": ",
            )
            c.add(
                None,
                None,
                None,
                f"{prefix}'id' must be an integer or a non-empty string, got {describe(node_id)}",
            )
        if is_id(node_id):
            key = _id_key(node_id)
            if key in first_position:
                c.add(
                    node_id,
                    title,
                    None,
                    f"duplicate node id {node_id!r} (entries {first_position[key]} and {position} of "
                    "'nodes'); every node needs its own id",
                    class_type,
                )
            else:
                first_position[key] = position
        if not isinstance(class_type, str) or not class_type:
            c.add(
                label_id,
                title,
                None,
                prefix + f"'type' must be a non-empty string, got {describe(class_type)}",
            )
        if node.get("title") is not None and not isinstance(node.get("title"), str):
            c.add(
                label_id,
                title,
                None,
                prefix + f"'title' must be a string, got {describe(node.get('title'))}",
                class_type,
            )
        mode = node.get("mode", 0)
        if isinstance(mode, bool) or mode not in NODE_MODES or not isinstance(mode, int):
            c.add(
                label_id,
                title,
                None,
                prefix
                + f"'mode' must be one of {', '.join(map(str, NODE_MODES))} (0 normal, 2 muted, 4 bypassed), "
                f"got {describe(mode)}",
                class_type,
            )
        if node.get("properties") is not None and not isinstance(node.get("properties"), dict):
            c.add(
                label_id,
                title,
                None,
                prefix + f"'properties' must be an object, got {describe(node['properties'])}",
            )
        inputs = node.get("inputs")
        if inputs is not None and not isinstance(inputs, list):
            c.add(
                label_id, title, None, prefix + f"'inputs' must be a list, got {describe(inputs)}", class_type
            )
            inputs = None
        node_inputs[_id_key(node_id) if is_id(node_id) else None] = inputs or []
        for index, entry in enumerate(inputs or []):
            _check_ui_input(c, label_id, title, class_type, index, entry, prefix)
        outputs = node.get("outputs")
        if outputs is not None and not isinstance(outputs, list):
            c.add(
                label_id,
                title,
                None,
                prefix + f"'outputs' must be a list, got {describe(outputs)}",
                class_type,
            )
            outputs = None
        for index, entry in enumerate(outputs or []):
            if not isinstance(entry, dict):
                c.add(
                    label_id,
                    title,
                    None,
                    prefix + f"output {index} must be an object, got {describe(entry)}",
                    class_type,
                )
                continue
            links = entry.get("links")
            if links is not None and not (isinstance(links, list) and all(is_id(x) for x in links)):
                c.add(
                    label_id,
                    title,
                    None,
                    prefix
                    + f"output {index} ('{entry.get('name')}'): 'links' must be a list of link ids, got "
                    f"{describe(links)}",
                    class_type,
                )
            if entry.get("type") is not None and not isinstance(entry.get("type"), (str, list)):
                c.add(
                    label_id,
                    title,
                    None,
                    prefix + f"output {index}: 'type' must be a string, got {describe(entry['type'])}",
                )
        for key, value in node.items():  # fields nobody reads still go through copy and json
            if key != "widgets_values" and isinstance(value, (list, dict)):
                problem = value_problem(value, MAX_DEPTH - 3)
                if problem:
                    c.add(label_id, title, None, f"{prefix}'{key}': {problem}", class_type)
        values = node.get("widgets_values")
        if values is not None and not isinstance(values, (list, dict)):
            c.add(
                label_id,
                title,
                None,
                prefix
                + f"'widgets_values' must be a list (or an object of name: value), got {describe(values)}",
                class_type,
            )
        elif values is not None:
            items = values.items() if isinstance(values, dict) else enumerate(values)
            for key, value in items:
                problem = value_problem(value, MAX_DEPTH - 4)
                if problem:
                    where = f"widget {key!r}" if isinstance(values, dict) else f"widget value {key}"
                    name = key if isinstance(key, str) else None
                    c.add(label_id, title, name, f"{prefix}{where}: {problem}", class_type)

    for key, value in ui.items():
        if key != "nodes" and isinstance(value, (list, dict)):
            problem = value_problem(value, MAX_DEPTH - 1)
            if problem:
                c.add(None, None, None, f"'{key}': {problem}")
    links = ui.get("links")
    if links is not None and not isinstance(links, list):
        c.add(None, None, None, f"'links' must be a list, got {describe(links)}")
        links = None
    titles = {
        _id_key(n.get("id")): (n.get("id"), _ui_title(n, c), n.get("type"))
        for n in nodes
        if isinstance(n, dict) and is_id(n.get("id"))
    }
    # which node input holds each link id (names the node when the link's own target is unreadable)
    consumers: dict[Any, tuple[Any, Any, Any, Any]] = {}
    for n in nodes:
        if not isinstance(n, dict) or not isinstance(n.get("inputs"), list):
            continue
        for entry in n["inputs"]:
            if isinstance(entry, dict) and is_id(entry.get("link")):
                name = entry.get("name") if isinstance(entry.get("name"), str) else None
                consumers.setdefault(entry["link"], (n.get("id"), _ui_title(n, c), n.get("type"), name))
    for position, link in enumerate(links or []):
        _check_ui_link(c, position, link, titles, node_inputs, consumers)
    return c.finish()


def _id_key(node_id: Any) -> str:
    """Ids 3 and "3" name the same node once converted (API ids are strings)."""
    return str(node_id)


def _check_ui_input(
    c: _Collector, node_id: Any, title: Any, class_type: Any, index: int, entry: Any, prefix: str = ""
) -> None:
    if not isinstance(entry, dict):
        c.add(
            node_id,
            title,
            None,
            prefix + f"input {index} must be an object, got {describe(entry)}",
            class_type,
        )
        return
    name = entry.get("name")
    if not isinstance(name, str):
        c.add(
            node_id,
            title,
            None,
            prefix + f"input {index}: 'name' must be a string, got {describe(name)}",
            class_type,
        )
        name = None
    link = entry.get("link")
    if link is not None and not is_id(link):
        c.add(
            node_id,
            title,
            name,
            prefix + f"'link' must be a link id (an integer) or null, got {describe(link)}",
            class_type,
        )
    widget = entry.get("widget")
    if widget is not None and not (isinstance(widget, dict) and isinstance(widget.get("name", ""), str)):
        c.add(
            node_id,
            title,
            name,
            prefix + f"'widget' must be an object with a 'name', got {describe(widget)}",
            class_type,
        )
    if entry.get("type") is not None and not isinstance(entry.get("type"), (str, list)):
        c.add(
            node_id,
            title,
            name,
            prefix + f"'type' must be a string, got {describe(entry.get('type'))}",
            class_type,
        )


def _check_ui_link(
    c: _Collector,
    position: int,
    link: Any,
    titles: Mapping[str, tuple[Any, Any, Any]],
    node_inputs: Mapping[Any, list[Any]],
    consumers: Mapping[Any, tuple[Any, Any, Any, Any]],
) -> None:
    if isinstance(link, list):
        if len(link) < 5:
            consumer = consumers.get(link[0]) if link and is_id(link[0]) else None
            node_id, title, class_type, input_name = consumer or (None, None, None, None)
            c.add(
                node_id,
                title,
                input_name,
                f"link entry {position} must be [id, origin_id, origin_slot, target_id, target_slot, type], "
                f"got {describe(link)}",
                class_type,
            )
            return
        link_id, origin_id, origin_slot, target_id, target_slot = link[:5]
        kind = link[5] if len(link) > 5 else None
    elif isinstance(link, dict):
        link_id = link.get("id")
        origin_id, origin_slot = link.get("origin_id"), link.get("origin_slot", 0)
        target_id, target_slot = link.get("target_id"), link.get("target_slot", 0)
        kind = link.get("type")
    else:
        c.add(None, None, None, f"link entry {position} must be a list or an object, got {describe(link)}")
        return
    # name the node the link feeds (and its input) when the target is readable
    node_id = title = class_type = input_name = None
    if is_id(target_id) and _id_key(target_id) in titles:
        node_id, title, class_type = titles[_id_key(target_id)]
        inputs = node_inputs.get(_id_key(target_id)) or []
        if is_slot(target_slot) and target_slot < len(inputs) and isinstance(inputs[target_slot], dict):
            name = inputs[target_slot].get("name")
            input_name = name if isinstance(name, str) else None
    if input_name is None and is_id(link_id) and link_id in consumers:
        consumer = consumers[link_id]
        if node_id is None or _id_key(consumer[0]) == _id_key(node_id):
            node_id, title, class_type, input_name = consumer
    where = f"link {link_id!r}" if is_id(link_id) else f"link entry {position}"
    problems = []
    if not is_id(link_id):
        problems.append(f"its id must be an integer, got {describe(link_id)}")
    if not is_id(origin_id):
        problems.append(f"origin node id must be an integer or a string, got {describe(origin_id)}")
    if not is_slot(origin_slot):
        problems.append(f"origin slot must be a whole number >= 0, got {describe(origin_slot)}")
    if not is_id(target_id):
        problems.append(f"target node id must be an integer or a string, got {describe(target_id)}")
    if not is_slot(target_slot):
        problems.append(f"target slot must be a whole number >= 0, got {describe(target_slot)}")
    if kind is not None and not isinstance(kind, str):
        problems.append(f"type must be a string, got {describe(kind)}")
    for problem in problems:
        c.add(node_id, title, input_name, f"{where}: {problem}", class_type)


# --------------------------------------------------------------------------- API format


def api_shape_errors(prompt: Any, info: Mapping[str, Any] | None = None) -> list[WorkflowError]:
    """Every shape problem of an API-format prompt (``{id: {"class_type", "inputs", "_meta"}}``)."""
    c = _Collector(info)
    if not isinstance(prompt, Mapping):
        c.add(None, None, None, f"an API workflow must be a JSON object of nodes, got {describe(prompt)}")
        return c.finish()
    for node_id, node in prompt.items():
        if not isinstance(node, Mapping):
            c.add(
                node_id,
                None,
                None,
                f"a node must be an object with 'class_type' and 'inputs', got {describe(node)}",
            )
            continue
        class_type = node.get("class_type")
        meta = node.get("_meta")
        title = meta.get("title") if isinstance(meta, Mapping) else None
        title = title if isinstance(title, str) and title else c.display_name(class_type)
        if not isinstance(class_type, str) or not class_type:
            c.add(
                node_id, title, None, f"'class_type' must be a non-empty string, got {describe(class_type)}"
            )
        if meta is not None and not isinstance(meta, Mapping):
            c.add(node_id, title, None, f"'_meta' must be an object, got {describe(meta)}", class_type)
        elif (
            isinstance(meta, Mapping) and meta.get("title") is not None and not isinstance(meta["title"], str)
        ):
            c.add(
                node_id,
                title,
                None,
                f"'_meta.title' must be a string, got {describe(meta['title'])}",
                class_type,
            )
        for key, value in node.items():
            if key != "inputs" and isinstance(value, (list, dict)):
                problem = value_problem(value, MAX_DEPTH - 2)
                if problem:
                    c.add(node_id, title, None, f"'{key}': {problem}", class_type)
        inputs = node.get("inputs", {})
        if not isinstance(inputs, Mapping):
            c.add(
                node_id,
                title,
                None,
                f"'inputs' must be an object of name: value, got {describe(inputs)}",
                class_type,
            )
            continue
        for name, value in inputs.items():
            problem = value_problem(value, MAX_DEPTH - 3)
            if problem:
                c.add(node_id, title, str(name), problem, class_type)
            elif isinstance(value, list) and len(value) == 2 and is_id(value[0]) and not is_slot(value[1]):
                if isinstance(value[1], (int, float)) and not isinstance(value[1], bool):
                    c.add(
                        node_id,
                        title,
                        str(name),
                        f"link to node #{value[0]}: the output slot must be a whole number >= 0, got "
                        f"{describe(value[1])}",
                        class_type,
                    )
    return c.finish()


def is_finite_number(value: Any) -> bool:
    """A real number that is neither NaN nor infinite (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
