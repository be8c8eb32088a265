"""Shared conventions for Kinesonic nodes (no ComfyUI imports).

Every node class uses the classic API (INPUT_TYPES / RETURN_TYPES / RETURN_NAMES / FUNCTION /
CATEGORY / DESCRIPTION, tooltips on inputs) so the headless runner can execute it without
ComfyUI. Errors raised for bad input name the node, the input and what was expected.
"""

from __future__ import annotations

from typing import Any

CATEGORY_ROOT = "Kinesonic"

# Kinesonic's own socket types (see README "Data contracts").
TRACKS = "TRACKS"
KINEMATICS = "KINEMATICS"
PHYSICS = "PHYSICS"
STEMS = "STEMS"
MODEL = "KINESONIC_MODEL"
LATENT = "KINESONIC_LATENT"
CONDITIONING = "KINESONIC_CONDITIONING"


class NodeInputError(ValueError):
    """Bad input to a node: says which node, which input, what was expected and what came.

    ``NodeInputError(node, input_name, expected, got)`` builds
    "[node] input 'name': expected <expected>, got <got>"; :meth:`because` wraps a lower-layer
    error message instead.
    """

    def __init__(self, node: str, input_name: str, expected: str, got: Any = None) -> None:
        self.node = node
        self.input_name = input_name
        message = f"[{node}] input '{input_name}': expected {expected}"
        if got is not None:
            message += f", got {_describe(got)}"
        super().__init__(message)

    @classmethod
    def because(cls, node: str, input_name: str, error: Exception | str) -> NodeInputError:
        """An error for ``input_name`` of ``node`` whose reason is ``error``'s message."""
        self = cls.__new__(cls)
        self.node = node
        self.input_name = input_name
        ValueError.__init__(self, f"[{node}] input '{input_name}': {error}")
        return self


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def display_name(cls: type) -> str:
    """The node's display name (``DISPLAY_NAME`` attribute, else the class name)."""
    return getattr(cls, "DISPLAY_NAME", cls.__name__)
