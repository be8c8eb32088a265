"""Errors raised by the headless runner.

Every error a *user* can cause (a bad workflow file, an invalid value, a node that fails on its
input) derives from :class:`RunnerError`, so the command line prints its message without a Python
traceback. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


class RunnerError(Exception):
    """Base class of user-facing runner errors (printed without traceback by the CLI)."""


class WorkflowFormatError(RunnerError):
    """The workflow file is missing, is not JSON, or is in no format the runner understands."""


@dataclass
class WorkflowError:
    """One validation problem, located at a node and (when it applies) one of its inputs.

    ``kind`` is a short machine-readable tag close to ComfyUI's error types
    (``unknown_node``, ``required_input_missing``, ``bad_link``, ``return_type_mismatch``,
    ``invalid_input_type``, ``value_smaller_than_min``, ``value_bigger_than_max``,
    ``value_not_in_list``, ``custom_validation_failed``, ``dependency_cycle``,
    ``prompt_no_outputs``, ``invalid_prompt``).
    """

    node_id: str | None
    title: str | None
    input: str | None
    message: str
    class_type: str | None = None
    kind: str = "invalid"

    def __str__(self) -> str:
        where: list[str] = []
        if self.node_id is not None:
            label = f"node #{self.node_id}"
            if self.title:
                label += f" '{self.title}'"
            if self.class_type and self.class_type != self.title:
                label += f" ({self.class_type})"
            where.append(label)
        if self.input:
            where.append(f"input '{self.input}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ValidationFailed(RunnerError):
    """The workflow did not validate; ``errors`` lists every problem found."""

    def __init__(self, errors: list[WorkflowError]) -> None:
        self.errors = list(errors)
        lines = [f"workflow is invalid ({len(self.errors)} error{'s' if len(self.errors) != 1 else ''}):"]
        lines += [f"  - {error}" for error in self.errors]
        super().__init__("\n".join(lines))


class NodeExecutionError(RunnerError):
    """A node raised while running; the message names the node and keeps the original message."""

    def __init__(self, node_id: str, title: str, class_type: str, error: BaseException) -> None:
        self.node_id = node_id
        self.title = title
        self.class_type = class_type
        self.original = error
        reason = str(error) or type(error).__name__
        label = f"node #{node_id} '{title}'"
        if class_type != title:
            label += f" ({class_type})"
        super().__init__(f"{label}: {reason}")


class ServerError(RunnerError):
    """A ComfyUI server refused the workflow, reported an execution error, or did not answer."""
