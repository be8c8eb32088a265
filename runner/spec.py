"""Node definitions as ComfyUI's ``/object_info`` describes them, and helpers to read input specs.

The converter and the validator work on object_info entries (plain dicts) rather than on node
classes, so the same code serves the pack's own classes (headless) and the node list a running
ComfyUI server reports (``--server``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
SEED_NAMES = frozenset({"seed", "noise_seed"})
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")


def default_node_classes() -> dict[str, type]:
    """The pack's own ``NODE_CLASS_MAPPINGS`` (imported lazily)."""
    from ..nodes import NODE_CLASS_MAPPINGS

    return dict(NODE_CLASS_MAPPINGS)


def _default_display_names() -> dict[str, str]:
    from ..nodes import NODE_DISPLAY_NAME_MAPPINGS

    return dict(NODE_DISPLAY_NAME_MAPPINGS)


def node_info(name: str, cls: type, display_name: str | None = None) -> dict[str, Any]:
    """One ``/object_info`` entry for node class ``cls`` registered as ``name``."""
    input_types = cls.INPUT_TYPES()
    return_types = ["*" if isinstance(t, list) and not t else t for t in getattr(cls, "RETURN_TYPES", ())]
    info: dict[str, Any] = {
        "input": input_types,
        "input_order": {section: list(values.keys()) for section, values in input_types.items()},
        "is_input_list": bool(getattr(cls, "INPUT_IS_LIST", False)),
        "output": return_types,
        "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(return_types))),
        "output_name": list(getattr(cls, "RETURN_NAMES", return_types)),
        "name": name,
        "display_name": display_name or getattr(cls, "DISPLAY_NAME", None) or name,
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": getattr(cls, "RELATIVE_PYTHON_MODULE", "custom_nodes.kinesonic"),
        "category": getattr(cls, "CATEGORY", "sd"),
        "output_node": getattr(cls, "OUTPUT_NODE", False) is True,
    }
    if hasattr(cls, "OUTPUT_TOOLTIPS"):
        info["output_tooltips"] = list(cls.OUTPUT_TOOLTIPS)
    if getattr(cls, "DEPRECATED", False):
        info["deprecated"] = True
    if getattr(cls, "EXPERIMENTAL", False):
        info["experimental"] = True
    return info


def object_info(
    node_classes: Mapping[str, type] | None = None, display_names: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """All node definitions in the shape of ComfyUI's ``GET /object_info``.

    ``node_classes`` defaults to the pack's ``NODE_CLASS_MAPPINGS`` (and then ``display_names`` to its
    ``NODE_DISPLAY_NAME_MAPPINGS``).
    """
    if node_classes is None:
        node_classes = default_node_classes()
        if display_names is None:
            display_names = _default_display_names()
    display_names = display_names or {}
    return {name: node_info(name, cls, display_names.get(name)) for name, cls in node_classes.items()}


@dataclass
class InputSpec:
    """One declared input: name, type (a list for classic combos), options, section."""

    name: str
    type: Any
    options: dict[str, Any] = field(default_factory=dict)
    section: str = "required"

    @property
    def type_name(self) -> str:
        """The socket type as a string (``"COMBO"`` for list-valued combos)."""
        if isinstance(self.type, (list, tuple)):
            return "COMBO"
        return str(self.type)

    @property
    def combo_options(self) -> list[Any] | None:
        """The allowed values of a combo, else None."""
        if isinstance(self.type, (list, tuple)):
            return list(self.type)
        if self.type == "COMBO":
            options = self.options.get("options")
            return list(options) if isinstance(options, (list, tuple)) else None
        return None

    @property
    def is_widget(self) -> bool:
        """True when the frontend draws this input as a widget (it then has a widgets_values slot)."""
        if self.options.get("forceInput"):
            return False
        return isinstance(self.type, (list, tuple)) or self.type in WIDGET_TYPES

    @property
    def control_slots(self) -> int:
        """Extra widgets_values entries the frontend stores after this widget.

        ComfyUI_frontend: INT gets a ``control_after_generate`` combo when the spec sets
        ``control_after_generate`` or, when the flag is absent, when the input is named
        ``seed``/``noise_seed``; FLOAT only with the flag; a COMBO with the flag gets the control
        and a ``control_filter_list`` string (two entries).
        """
        if not self.is_widget:
            return 0
        flag = self.options.get("control_after_generate")
        kind = self.type_name
        if kind == "INT":
            enabled = flag if flag is not None else self.name in SEED_NAMES
            return 1 if enabled else 0
        if kind == "FLOAT":
            return 1 if flag else 0
        if kind == "COMBO":
            return 2 if flag else 0
        return 0

    @property
    def upload_slot(self) -> bool:
        """True when the frontend adds an upload button (which stores a value) for this input."""
        return any(self.options.get(flag) is True for flag in UPLOAD_FLAGS)


def input_specs(
    info: Mapping[str, Any], sections: tuple[str, ...] = ("required", "optional")
) -> list[InputSpec]:
    """The node's inputs in declaration order (required first, then optional)."""
    declared = info.get("input") or {}
    order = info.get("input_order") or {}
    specs: list[InputSpec] = []
    for section in sections:
        values = declared.get(section) or {}
        names = order.get(section) or list(values.keys())
        for name in names:
            if name not in values:
                continue
            raw = values[name]
            if isinstance(raw, (list, tuple)) and raw:
                kind = raw[0]
                options = raw[1] if len(raw) > 1 and isinstance(raw[1], Mapping) else {}
            else:
                kind, options = raw, {}
            specs.append(InputSpec(name, kind, dict(options), section))
    return specs


def find_input(info: Mapping[str, Any], name: str) -> InputSpec | None:
    """The spec of input ``name`` (required, optional or hidden), else None."""
    for spec in input_specs(info, ("required", "optional", "hidden")):
        if spec.name == name:
            return spec
    return None


def types_match(received: Any, expected: Any) -> bool:
    """ComfyUI's link type rule: equal, ``*`` on either side, or overlapping comma-separated sets."""
    if isinstance(expected, (list, tuple)):
        expected = "COMBO"
    if isinstance(received, (list, tuple)):
        received = "COMBO"
    received, expected = str(received), str(expected)
    if received == expected or "*" in (received, expected):
        return True
    got = {t.strip() for t in received.split(",")}
    want = {t.strip() for t in expected.split(",")}
    return bool(got & want)
