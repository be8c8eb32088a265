"""Headless execution of ComfyUI workflow files (API or UI format) for scripts, training and CI.

Public API::

    load_workflow(path_or_obj, node_classes=None, *, info=None) -> dict          # API-format prompt
    ui_to_api(ui_workflow, node_classes=None, *, info=None, warnings=None) -> dict
    validate_prompt(prompt, node_classes=None, *, info=None) -> list[WorkflowError]
    apply_overrides(prompt, ["12.seed=5", "Title.input=VALUE"], node_classes=None) -> dict
    execute(prompt, node_classes=None, *, output_dir=None, progress=True, extra_pnginfo=None,
            partial=False) -> RunResult
    valid_outputs(prompt, errors, info) -> list[str]     # output nodes ComfyUI would still run
    object_info(node_classes=None, display_names=None) -> dict                  # like GET /object_info
    submit_to_server(url, prompt, output_dir=None, timeout=600.0, ...) -> ServerResult

``node_classes`` defaults to the pack's NODE_CLASS_MAPPINGS; ``info`` is an ``/object_info`` dict
(e.g. a server's) used instead of classes.
"""

from .convert import load_workflow, ui_to_api
from .errors import (
    NodeExecutionError,
    RunnerError,
    ServerError,
    ValidationFailed,
    WorkflowError,
    WorkflowFormatError,
)
from .execute import RunResult, apply_overrides, execute
from .server import ServerResult, fetch_object_info, submit_to_server
from .spec import object_info
from .validate import valid_outputs, validate_prompt

__all__ = [
    "NodeExecutionError",
    "RunResult",
    "RunnerError",
    "ServerError",
    "ServerResult",
    "ValidationFailed",
    "WorkflowError",
    "WorkflowFormatError",
    "apply_overrides",
    "execute",
    "fetch_object_info",
    "load_workflow",
    "object_info",
    "submit_to_server",
    "ui_to_api",
    "valid_outputs",
    "validate_prompt",
]
