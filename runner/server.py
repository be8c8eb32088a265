"""Client for a running ComfyUI server's HTTP API (standard library only).

``POST /prompt {"prompt": api, "client_id": id}`` queues the graph (a 400 answer carries
``node_errors``); ``GET /history/<prompt_id>`` is polled until the entry appears with a final status;
each output entry ``{"filename", "subfolder", "type"}`` is fetched from ``GET /view`` and written
(to a temporary name, then renamed) into the output folder.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ServerError


@dataclass
class ServerResult:
    """Outcome of a server run: the prompt id, the server's ``outputs`` per node, downloaded files."""

    prompt_id: str
    outputs: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


#: Largest JSON answer read from a server (bytes); ComfyUI's /object_info is a few MB at most.
MAX_ANSWER_BYTES = 256 * 1024 * 1024


def _request(url: str, data: Any = None, timeout: float = 30.0) -> Any:
    """The JSON answer of ``url`` (None when empty); an answer that is not JSON raises ServerError."""
    body = None if data is None else json.dumps(data).encode("utf-8")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = response.read(MAX_ANSWER_BYTES + 1)
    if len(payload) > MAX_ANSWER_BYTES:
        raise ServerError(f"{url}: the answer is larger than {MAX_ANSWER_BYTES} bytes")
    if not payload:
        return None
    try:
        return json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        preview = payload[:80].decode("utf-8", "replace")
        raise ServerError(f"{url}: the answer is not JSON (starts with {preview!r})") from None


def _expect_object(answer: Any, what: str) -> dict[str, Any]:
    """``answer`` when it is a JSON object, else a ServerError naming what was expected."""
    if answer is None:
        return {}
    if not isinstance(answer, dict):
        kind = {list: "a list", str: "a string"}.get(type(answer), type(answer).__name__)
        raise ServerError(f"{what}: expected a JSON object, got {kind}")
    return answer


def check_object_info(info: Any, source: str) -> dict[str, Any]:
    """A server's ``/object_info`` with every entry checked for the fields the runner reads."""
    info = _expect_object(info, source)
    for name, entry in info.items():
        problem = None
        if not isinstance(entry, dict):
            problem = "the entry is not an object"
        elif not isinstance(entry.get("input", {}), dict):
            problem = "'input' is not an object"
        elif any(not isinstance(v, dict) for v in (entry.get("input") or {}).values() if v is not None):
            problem = "an 'input' section is not an object"
        elif not isinstance(entry.get("input_order", {}), dict) or any(
            not isinstance(v, list) for v in (entry.get("input_order") or {}).values()
        ):
            problem = "'input_order' is not an object of lists"
        elif not isinstance(entry.get("output", []), list):
            problem = "'output' is not a list"
        if problem:
            raise ServerError(f"{source}: node type {name!r}: {problem}")
    return info


def _base(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def format_node_errors(answer: Mapping[str, Any]) -> str:
    """A readable text of ComfyUI's ``{"error": ..., "node_errors": ...}`` answer."""
    lines: list[str] = []
    if not isinstance(answer, Mapping):
        return f"the server refused the workflow: {str(answer)[:200]}"
    error = answer.get("error")
    if isinstance(error, dict):
        text = error.get("message") or error.get("type") or "error"
        if error.get("details"):
            text += f": {error['details']}"
        lines.append(text)
    elif error:
        lines.append(str(error))
    node_errors = answer.get("node_errors")
    for node_id, entry in (node_errors if isinstance(node_errors, dict) else {}).items():
        class_type = entry.get("class_type", "?") if isinstance(entry, dict) else "?"
        items = entry.get("errors") if isinstance(entry, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                lines.append(f"  - node #{node_id} ({class_type}): {str(item)[:200]}")
                continue
            extra = item.get("extra_info")
            input_name = extra.get("input_name") if isinstance(extra, dict) else None
            where = f"node #{node_id} ({class_type})" + (f", input '{input_name}'" if input_name else "")
            message = item.get("message") or item.get("type") or "error"
            if item.get("details"):
                message += f": {item['details']}"
            lines.append(f"  - {where}: {message}")
    return "\n".join(lines) or "the server refused the workflow"


def fetch_object_info(url: str, timeout: float = 30.0) -> dict[str, Any]:
    """The server's ``/object_info`` (node definitions, used to convert UI workflows for it)."""
    source = f"{_base(url)}/object_info"
    try:
        answer = _request(source, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        raise ServerError(f"cannot read {source}: {error}") from None
    return check_object_info(answer, source)


def _execution_error(history: Mapping[str, Any]) -> str | None:
    status = history.get("status") or {}
    if not isinstance(status, Mapping) or status.get("status_str") != "error":
        return None
    messages = status.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, (list, tuple)) and len(message) == 2 and message[0] == "execution_error":
            data = message[1] if isinstance(message[1], dict) else {}
            return (
                f"node #{data.get('node_id')} ({data.get('node_type')}) failed on the server: "
                f"{data.get('exception_type', 'error')}: {data.get('exception_message', '')}".rstrip()
            )
    return "the server reported an execution error"


def _download(base: str, entry: Mapping[str, Any], output_dir: Path, timeout: float) -> Path:
    query = urllib.parse.urlencode(
        {
            "filename": entry["filename"],
            "subfolder": entry.get("subfolder") or "",
            "type": entry.get("type") or "output",
        }
    )
    subfolder = str(entry.get("subfolder") or "")
    target = (output_dir / subfolder / Path(str(entry["filename"])).name).resolve()
    if output_dir.resolve() not in target.parents:
        raise ServerError(f"refusing to write {entry['filename']!r} outside {output_dir}")
    from ..media.files import atomic_output, release_reserved, reserve_free_path

    wanted = target
    target = reserve_free_path(wanted)  # an existing local file is never overwritten
    try:
        url = f"{base}/view?{query}"
        with (
            atomic_output(target, reserved=True) as temp_name,
            open(temp_name, "wb") as sink,
            urllib.request.urlopen(url, timeout=timeout) as src,
        ):
            while chunk := src.read(1 << 20):
                sink.write(chunk)
    except BaseException:
        release_reserved(target)
        raise
    if target != wanted:
        note = f"note: {wanted} already exists; saved the server's file as {target}"
        print(note, file=sys.stderr, flush=True)
    return target


def submit_to_server(
    url: str,
    prompt: Mapping[str, Any],
    output_dir: str | os.PathLike | None = None,
    timeout: float = 600.0,
    *,
    poll_interval: float = 0.5,
    extra_pnginfo: Any = None,
    download_types: tuple[str, ...] = ("output",),
    progress: bool = True,
) -> ServerResult:
    """Queue ``prompt`` on the ComfyUI server at ``url``, wait for it, download its output files.

    Files whose entry ``type`` is in ``download_types`` (default: ``output``, not previews) are saved
    under ``output_dir`` (default ``./output``) keeping their subfolder. Raises :class:`ServerError`
    when the server is unreachable, refuses the graph (with its per-node errors), reports an
    execution error, or does not finish within ``timeout`` seconds.
    """
    base = _base(url)
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ServerError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    client_id = uuid.uuid4().hex
    body: dict[str, Any] = {"prompt": dict(prompt), "client_id": client_id}
    if extra_pnginfo is not None:
        body["extra_data"] = {"extra_pnginfo": extra_pnginfo}
    try:
        answer = _request(f"{base}/prompt", body, timeout=min(timeout, 60.0))
    except urllib.error.HTTPError as error:
        try:
            details = json.loads(error.read(1 << 20).decode("utf-8"))
        except (ValueError, OSError, RecursionError, http.client.HTTPException):
            details = {"error": f"HTTP {error.code} {error.reason}"}
        raise ServerError(f"{base} refused the workflow:\n{format_node_errors(details)}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise ServerError(f"cannot reach ComfyUI at {base}: {getattr(error, 'reason', error)}") from None
    prompt_id = _expect_object(answer, f"{base}/prompt").get("prompt_id")
    if not isinstance(prompt_id, (str, int)) or isinstance(prompt_id, bool) or not str(prompt_id):
        raise ServerError(f"{base} did not return a prompt_id (answer: {str(answer)[:200]})")
    prompt_id = str(prompt_id)
    if progress:
        print(f"queued on {base} as {prompt_id}", file=sys.stderr, flush=True)

    deadline = time.monotonic() + timeout
    history: dict[str, Any] | None = None
    while True:
        where = f"{base}/history/{urllib.parse.quote(prompt_id)}"
        try:
            answer = _expect_object(_request(where, timeout=min(timeout, 30.0)), where)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
            raise ServerError(f"lost contact with {base}: {getattr(error, 'reason', error)}") from None
        entry = answer.get(prompt_id)
        if entry is not None:
            entry = _expect_object(entry, f"{where}: entry {prompt_id!r}")
            status = _expect_object(entry.get("status"), f"{where}: 'status'")
            if status.get("completed") or status.get("status_str") in ("success", "error") or not status:
                history = entry
                break
        if time.monotonic() > deadline:
            raise ServerError(f"{base}: prompt {prompt_id} did not finish within {timeout:g} s")
        time.sleep(poll_interval)

    problem = _execution_error(history)
    if problem:
        raise ServerError(problem)
    outputs = _expect_object(history.get("outputs"), f"{base}/history: 'outputs'")
    target_dir = Path(output_dir) if output_dir is not None else Path("output")
    result = ServerResult(prompt_id=prompt_id, outputs=outputs)
    for node_output in outputs.values():
        for entries in (node_output if isinstance(node_output, dict) else {}).values():
            for item in entries if isinstance(entries, list) else []:
                if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
                    continue
                if not isinstance(item.get("subfolder") or "", str) or not isinstance(
                    item.get("type", ""), str
                ):
                    continue
                if item.get("type", "output") not in download_types:
                    continue
                try:
                    result.files.append(_download(base, item, target_dir, timeout=min(timeout, 300.0)))
                except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                    name = item["filename"]
                    raise ServerError(f"cannot download {name!r} from {base}: {error}") from None
    return result
