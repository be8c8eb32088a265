"""Reading workflow files and converting ComfyUI's UI format to its API format.

API format (what ``POST /prompt`` takes): ``{node_id: {"class_type": str, "inputs": {name: value or
[origin_id, origin_slot]}, "_meta": {"title": str}}}``.

UI format (what the editor saves): ``{"nodes": [...], "links": [...], ...}`` where each node has
``id``, ``type``, ``mode``, ``inputs`` (``[{name, type, link, widget?: {name}}]``), ``outputs``
(``[{name, type, links}]``) and ``widgets_values`` (positional over the node's widget inputs in
INPUT_TYPES order, with extra control values after some widgets; some nodes store a dict instead),
and each link is ``[link_id, origin_id, origin_slot, target_id, target_slot, type]``.

The conversion follows ComfyUI_frontend's ``graphToPrompt``: Note/MarkdownNote and other virtual
nodes are dropped, Reroutes are followed to the real origin, a PrimitiveNode's value is written into
every input it feeds, muted nodes (mode 2) are left out together with the links from them, and
bypassed nodes (mode 4) pass a matching input through to their outputs. As in the frontend, an
input linked to a muted node is removed even when it is a widget, while a widget whose link cannot
be resolved otherwise keeps its stored value.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ValidationFailed, WorkflowFormatError
from .shape import api_shape_errors, read_workflow_text, ui_shape_errors
from .spec import InputSpec, input_specs, object_info

MODE_ALWAYS = 0
MODE_NEVER = 2  # "muted"
MODE_BYPASS = 4

NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
REROUTE_TYPES = frozenset({"Reroute"})
PRIMITIVE_TYPES = frozenset({"PrimitiveNode"})


# --------------------------------------------------------------------------- reading


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing or unreadable file or bad JSON raises :class:`WorkflowFormatError`.

    ``NaN``, ``Infinity`` and out-of-range floats are read as floats (validation rejects them where a
    finite number is needed); see :func:`shape.read_workflow_text` for over-long integers and nesting.
    """
    path = Path(path)
    if not path.exists():
        raise WorkflowFormatError(f"workflow file not found: {path}")
    if not path.is_file():
        raise WorkflowFormatError(f"workflow path is not a file: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise WorkflowFormatError(f"{path}: not a UTF-8 text file ({error.reason})") from None
    except OSError as error:
        raise WorkflowFormatError(f"cannot read {path}: {error.strerror or error}") from None
    return read_workflow_text(text, str(path))


def is_api_format(data: Any) -> bool:
    """True for ``{id: {"class_type": ..., "inputs": {...}}}`` (at least one such node, no ``nodes`` list).

    Entries that are not nodes are reported by the shape check, naming the entry.
    """
    return (
        isinstance(data, dict)
        and bool(data)
        and not is_ui_format(data)
        and any(isinstance(node, dict) and "class_type" in node for node in data.values())
    )


def is_ui_format(data: Any) -> bool:
    """True for the editor's format: a ``nodes`` entry that is not itself an API node.

    A ``nodes`` value of the wrong type is reported by the shape check.
    """
    if not isinstance(data, dict) or "nodes" not in data:
        return False
    nodes = data["nodes"]
    return not (isinstance(nodes, dict) and "class_type" in nodes)


def workflow_kind(data: Any) -> str:
    """``"api"``, ``"ui"`` or ``"unknown"``."""
    if is_ui_format(data):
        return "ui"
    if is_api_format(data):
        return "api"
    if isinstance(data, dict) and is_api_format(data.get("prompt")):
        return "api"
    return "unknown"


def _describe_unknown(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(repr(k) for k in list(data)[:6]) or "no keys"
        return f"a JSON object with {keys}"
    return f"a JSON {type(data).__name__}"


def load_workflow(
    path_or_obj: str | os.PathLike | Mapping[str, Any],
    node_classes: Mapping[str, type] | None = None,
    *,
    info: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """An API-format prompt from a workflow file or an already parsed object (API or UI format).

    UI-format workflows are converted with the node definitions of ``node_classes`` (default: the
    pack's NODE_CLASS_MAPPINGS) or, when given, ``info`` (an ``/object_info`` dict, e.g. from a
    server). The result is a fresh dict; the input is not modified.
    """
    data = read_json(path_or_obj) if isinstance(path_or_obj, (str, os.PathLike)) else path_or_obj
    source = str(path_or_obj) if isinstance(path_or_obj, (str, os.PathLike)) else "workflow"
    kind = workflow_kind(data)
    if kind == "ui":
        return ui_to_api(data, node_classes, info=info)
    if kind == "api":
        prompt = data if is_api_format(data) else data["prompt"]
        errors = api_shape_errors(prompt, info)
        if errors:
            raise ValidationFailed(errors)
        return _normalise_api(copy.deepcopy(dict(prompt)), source)
    raise WorkflowFormatError(
        f"{source}: not a ComfyUI workflow: expected the UI format (an object with 'nodes' and 'links') "
        "or the API format (an object of nodes with 'class_type' and 'inputs'), "
        f"got {_describe_unknown(data)}"
    )


def _normalise_api(prompt: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for node_id, node in prompt.items():
        if not isinstance(node.get("class_type"), str):
            raise WorkflowFormatError(f"{source}: node {node_id!r} has no class_type string")
        inputs = node.get("inputs", {})
        if not isinstance(inputs, dict):
            raise WorkflowFormatError(f"{source}: node {node_id!r}: 'inputs' must be an object")
        node = dict(node)
        node["inputs"] = dict(inputs)
        out[str(node_id)] = node
    return out


# --------------------------------------------------------------------------- UI -> API


@dataclass
class _Link:
    origin_id: Any
    origin_slot: int
    target_id: Any
    target_slot: int
    type: Any


@dataclass
class _Dropped:
    reason: str
    muted: bool = False  # the frontend then removes the input even when it is a widget


@dataclass
class _Value:
    value: Any


def _parse_links(raw: Any) -> dict[Any, _Link]:
    links: dict[Any, _Link] = {}
    for entry in raw or []:
        if isinstance(entry, (list, tuple)) and len(entry) >= 5:
            link_id, origin_id, origin_slot, target_id, target_slot = entry[:5]
            kind = entry[5] if len(entry) > 5 else "*"
        elif isinstance(entry, dict) and "id" in entry:
            link_id = entry["id"]
            origin_id, origin_slot = entry.get("origin_id"), entry.get("origin_slot", 0)
            target_id, target_slot = entry.get("target_id"), entry.get("target_slot", 0)
            kind = entry.get("type", "*")
        else:
            continue
        links[link_id] = _Link(origin_id, origin_slot, target_id, target_slot, kind)
    return links


def _wrap(value: Any) -> Any:
    """List values are wrapped like the frontend does, so they are not read as links."""
    return {"__value__": value} if isinstance(value, list) else value


def _valid_connection(a: Any, b: Any) -> bool:
    """LiteGraph.isValidConnection: '' or '*' match anything; else case-insensitive (sets by comma)."""
    a = "" if a in (None, "*") else str(a)
    b = "" if b in (None, "*") else str(b)
    if not a or not b or a == b:
        return True
    a, b = a.lower(), b.lower()
    if "," not in a and "," not in b:
        return a == b
    return any(x.strip() == y.strip() for x in a.split(",") for y in b.split(","))


class _Converter:
    def __init__(self, ui: Mapping[str, Any], info: Mapping[str, Mapping[str, Any]]) -> None:
        self.ui = ui
        self.info = info
        self.nodes: dict[Any, dict[str, Any]] = {}
        for node in ui.get("nodes") or []:
            if isinstance(node, dict) and "id" in node:
                self.nodes[node["id"]] = node
        self.links = _parse_links(ui.get("links"))
        self.warnings: list[str] = []

    # ----------------------------------------------------------------- helpers

    def title(self, node: Mapping[str, Any]) -> str:
        title = node.get("title")
        if title:
            return str(title)
        definition = self.info.get(node.get("type"))
        if definition:
            return str(definition.get("display_name") or node.get("type"))
        return str(node.get("type"))

    def label(self, node: Mapping[str, Any]) -> str:
        return f"node #{node.get('id')} '{self.title(node)}'"

    def live_inputs(self, node: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The node's inputs as the live editor holds them (definition order, widgets included)."""
        saved = [i for i in node.get("inputs") or [] if isinstance(i, dict)]
        definition = self.info.get(node.get("type"))
        if not definition:
            return saved
        by_name = {(i.get("widget") or {}).get("name") or i.get("name"): i for i in saved}
        live = []
        for spec in input_specs(definition):
            entry = by_name.get(spec.name)
            live.append(
                {"name": spec.name, "type": spec.type_name, "link": entry.get("link") if entry else None}
            )
        return live

    def bypass_slot(self, node: Mapping[str, Any], slot: int, target_type: Any) -> int:
        """ExecutableNodeDTO._getBypassSlotIndex of ComfyUI_frontend."""
        inputs = self.live_inputs(node)
        outputs = node.get("outputs") or []
        if target_type in (None, "", "*"):
            return slot if len(inputs) > slot else (0 if inputs else -1)
        output_type = outputs[slot].get("type") if slot < len(outputs) else None
        if slot < len(inputs):
            opposite = inputs[slot].get("type")
            if _valid_connection(opposite, output_type) and _valid_connection(opposite, target_type):
                return slot
        for index, entry in enumerate(inputs):
            if entry.get("type") == target_type:
                return index
        for index, entry in enumerate(inputs):
            kind = entry.get("type")
            if _valid_connection(kind, output_type) and _valid_connection(kind, target_type):
                return index
        return -1

    # ----------------------------------------------------------------- resolution

    def resolve(self, link_id: Any, target_type: Any) -> Any:
        """Follow a link to a real output (``[id, slot]``), a primitive value, or a drop reason.

        A loop (not recursion), so a long chain of Reroute / bypassed nodes cannot exhaust the stack.
        """
        seen: set[Any] = set()
        while True:
            if link_id in seen:
                return _Dropped("links loop through Reroute/bypassed nodes")
            seen.add(link_id)
            link = self.links.get(link_id)
            if link is None:
                return _Dropped(f"link {link_id} is not in the workflow's link list")
            origin = self.nodes.get(link.origin_id)
            if origin is None:
                return _Dropped(f"linked to node #{link.origin_id}, which is not in the workflow")
            kind = origin.get("type")
            if kind in PRIMITIVE_TYPES:
                values = origin.get("widgets_values")
                if isinstance(values, list) and values:
                    return _Value(values[0])
                return _Dropped(f"{self.label(origin)} (PrimitiveNode) has no value")
            if kind in REROUTE_TYPES:
                inputs = origin.get("inputs") or []
                upstream = inputs[0].get("link") if inputs and isinstance(inputs[0], dict) else None
                if upstream is None:
                    return _Dropped(f"{self.label(origin)} (Reroute) has nothing connected")
                link_id = upstream
                continue
            if kind in NOTE_TYPES:
                return _Dropped(f"{self.label(origin)} is a note")
            mode = origin.get("mode", MODE_ALWAYS)
            if mode == MODE_NEVER:
                return _Dropped(f"{self.label(origin)} is muted (mode 2)", muted=True)
            if mode == MODE_BYPASS:
                index = self.bypass_slot(origin, link.origin_slot, target_type)
                inputs = self.live_inputs(origin)
                if index < 0 or index >= len(inputs):
                    return _Dropped(
                        f"{self.label(origin)} is bypassed (mode 4) and has no input of type "
                        f"{target_type!r} to pass through"
                    )
                upstream = inputs[index].get("link")
                if upstream is None:
                    return _Dropped(
                        f"{self.label(origin)} is bypassed (mode 4) and its input "
                        f"'{inputs[index].get('name')}' is not connected"
                    )
                # like the frontend, continue with the chosen input's own type
                link_id, target_type = upstream, inputs[index].get("type")
                continue
            return [str(link.origin_id), link.origin_slot]

    # ----------------------------------------------------------------- widgets

    def widget_values(self, node: Mapping[str, Any], specs: list[InputSpec]) -> dict[str, Any]:
        """Map the node's ``widgets_values`` onto its widget inputs by name."""
        raw = node.get("widgets_values")
        widgets = [s for s in specs if s.is_widget]
        if raw is None:
            return {}
        if isinstance(raw, dict):
            return {s.name: raw[s.name] for s in widgets if s.name in raw}
        if not isinstance(raw, list):
            return {}
        layouts = [
            self._layout(specs, uploads=True, combo_filter=True, legacy_force_input=False),
            self._layout(specs, uploads=False, combo_filter=True, legacy_force_input=False),
            self._layout(specs, uploads=True, combo_filter=False, legacy_force_input=False),
            self._layout(specs, uploads=False, combo_filter=False, legacy_force_input=False),
            self._layout(specs, uploads=True, combo_filter=True, legacy_force_input=True),
            self._layout(specs, uploads=False, combo_filter=True, legacy_force_input=True),
        ]
        layout = next((lay for lay in layouts if len(lay) == len(raw)), None)
        if layout is None:
            layout = layouts[0]
            self.warnings.append(
                f"{self.label(node)}: {len(raw)} widget values for {len(layout)} widget slots; "
                "values were matched in order and missing ones take their defaults"
            )
        values: dict[str, Any] = {}
        for name, value in zip(layout, raw, strict=False):
            if name is not None:
                values[name] = value
        return values

    @staticmethod
    def _layout(
        specs: list[InputSpec], *, uploads: bool, combo_filter: bool, legacy_force_input: bool
    ) -> list[str | None]:
        """Names per widgets_values position (None for control / upload / legacy slots).

        The upload button of ``image_upload``-style combos is appended after the required inputs.
        """
        required: list[str | None] = []
        optional: list[str | None] = []
        n_uploads = 0
        for spec in specs:
            target = required if spec.section == "required" else optional
            if spec.is_widget:
                target.append(spec.name)
                extra = spec.control_slots
                if extra == 2 and not combo_filter:
                    extra = 1
                target.extend([None] * extra)
                if uploads and spec.upload_slot and spec.section == "required":
                    n_uploads += 1
            elif legacy_force_input and spec.type_name in ("INT", "FLOAT", "STRING", "BOOLEAN"):
                target.append(None)
        return required + [None] * n_uploads + optional

    # ----------------------------------------------------------------- nodes

    def convert(self) -> dict[str, dict[str, Any]]:
        prompt: dict[str, dict[str, Any]] = {}
        for node_id, node in self.nodes.items():
            kind = node.get("type")
            if kind in NOTE_TYPES or kind in REROUTE_TYPES or kind in PRIMITIVE_TYPES:
                continue
            if node.get("mode", MODE_ALWAYS) in (MODE_NEVER, MODE_BYPASS):
                continue
            prompt[str(node_id)] = self.convert_node(node)
        return prompt

    def convert_node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        kind = node.get("type")
        definition = self.info.get(kind)
        specs = input_specs(definition) if definition else []
        spec_by_name = {s.name: s for s in specs}
        inputs: dict[str, Any] = {}
        dropped: dict[str, str] = {}
        if definition:
            defaults = {s.name: s.options["default"] for s in specs if s.is_widget and "default" in s.options}
            values = self.widget_values(node, specs)
            for spec in specs:
                if not spec.is_widget:
                    continue
                if spec.name in values:
                    inputs[spec.name] = _wrap(values[spec.name])
                elif spec.name in defaults:
                    inputs[spec.name] = _wrap(defaults[spec.name])
        elif isinstance(node.get("widgets_values"), dict):
            inputs.update({k: _wrap(v) for k, v in node["widgets_values"].items()})
        elif node.get("widgets_values"):
            self.warnings.append(
                f"{self.label(node)}: unknown node type {kind!r}; its widget values cannot be named"
            )
        for entry in node.get("inputs") or []:
            if not isinstance(entry, dict) or entry.get("link") is None:
                continue
            name = (entry.get("widget") or {}).get("name") or entry.get("name")
            spec = spec_by_name.get(name)
            target_type = spec.type_name if spec else entry.get("type")
            resolved = self.resolve(entry["link"], target_type)
            if isinstance(resolved, _Value):
                inputs[name] = _wrap(resolved.value)
            elif isinstance(resolved, _Dropped):
                is_widget = spec.is_widget if spec else bool(entry.get("widget"))
                if resolved.muted or not is_widget:
                    inputs.pop(name, None)
                    dropped[name] = resolved.reason
            else:
                inputs[name] = resolved
        meta: dict[str, Any] = {"title": self.title(node)}
        if dropped:
            meta["dropped_inputs"] = dropped
        return {"inputs": inputs, "class_type": kind, "_meta": meta}


def _check_supported(ui: Mapping[str, Any]) -> None:
    definitions = ui.get("definitions") or {}
    subgraph_ids = {
        str(s.get("id")) for s in (definitions.get("subgraphs") or []) if isinstance(s, dict) and s.get("id")
    }
    group_nodes = set(((ui.get("extra") or {}).get("groupNodes") or {}).keys())
    for node in ui.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        kind = str(node.get("type"))
        if kind in subgraph_ids:
            raise WorkflowFormatError(
                f"node #{node.get('id')} '{node.get('title') or kind}' is a subgraph; subgraphs are not "
                "supported by the headless runner yet: unpack it in ComfyUI (right-click > Unpack Subgraph) "
                "and save again, or run it on a server with --server URL"
            )
        if kind.startswith("workflow>") or kind.startswith("workflow/") or kind in group_nodes:
            raise WorkflowFormatError(
                f"node #{node.get('id')} '{node.get('title') or kind}' is a group node; group nodes are not "
                "supported by the headless runner: convert it back to nodes in ComfyUI and save again"
            )


def ui_to_api(
    ui_workflow: Mapping[str, Any],
    node_classes: Mapping[str, type] | None = None,
    *,
    info: Mapping[str, Mapping[str, Any]] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Convert a UI-format workflow to an API-format prompt (see the module docstring).

    Node definitions come from ``info`` (an ``/object_info`` dict) when given, else from
    ``node_classes`` (default: the pack's NODE_CLASS_MAPPINGS). Nodes of unknown types are kept (the
    validator reports them) with their links but without named widget values. Conversion notes
    (e.g. a widget-value count that does not match) are appended to ``warnings`` when a list is given.
    Inputs removed because their origin is muted or cannot be bypassed are listed, with the reason,
    in ``_meta["dropped_inputs"]`` of the consuming node.
    """
    if not is_ui_format(ui_workflow):
        raise WorkflowFormatError("not a UI-format workflow (no 'nodes' list)")
    if info is None:
        info = object_info(node_classes)
    errors = ui_shape_errors(ui_workflow, info)
    if errors:
        raise ValidationFailed(errors)
    _check_supported(ui_workflow)
    converter = _Converter(ui_workflow, info)
    prompt = converter.convert()
    if warnings is not None:
        warnings.extend(converter.warnings)
    return prompt
