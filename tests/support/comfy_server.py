"""A real ComfyUI server for the integration tests: set-up, start, HTTP/websocket client, stop by PID.

Nothing here imports ComfyUI into the test process (that would switch ``nodes/bridge.py`` into
"inside ComfyUI" mode for every other test): the server is a child process in its own process
group, started with the test interpreter, and always stopped through that group's id.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".work" / "comfyui"
ENV_SCRIPT = REPO / "scripts" / "comfyui_env.sh"
PACK_NAME = "kinesonic"  # folder name under custom_nodes/
# Test-only peer nodes (core Wan-Move / KJNodes mirrors), loaded as an extra custom_nodes folder.
PEERS = REPO / "tests" / "support" / "comfy_peers"
# Measured times of the integration run (set-up, server start, each check); printed at the end.
TIMINGS: dict[str, float] = {}


class ComfyError(RuntimeError):
    """The ComfyUI environment or server did not do what the test layer needs."""


# --------------------------------------------------------------------------- set-up


def ensure_env(timeout: float = 900.0) -> Path:
    """Run scripts/comfyui_env.sh (cached, idempotent) for this interpreter; returns the ComfyUI folder."""
    env = dict(os.environ, PYTHON=sys.executable)
    try:
        done = subprocess.run(
            ["bash", str(ENV_SCRIPT)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ComfyError(f"scripts/comfyui_env.sh took more than {timeout:.0f} s") from error
    if done.returncode != 0:
        tail = "\n".join((done.stderr or "").splitlines()[-30:])
        raise ComfyError(
            f"scripts/comfyui_env.sh failed (exit {done.returncode}). It needs PyPI, npm and apt-get "
            f"(chromium, nodejs/npm) — run it by hand to see the step that failed:\n{tail}"
        )
    comfy = Path(done.stdout.strip().splitlines()[-1])
    if not (comfy / "main.py").is_file():
        raise ComfyError(f"scripts/comfyui_env.sh did not leave ComfyUI at {comfy}")
    return comfy


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- server


@dataclass
class ComfyServer:
    """One ComfyUI process (its own process group) on 127.0.0.1."""

    comfy_dir: Path
    root: Path  # holds input/, output/, temp/
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def temp_dir(self) -> Path:
        return self.root / "temp"

    @property
    def models_dir(self) -> Path:
        """Model root of this server: models/kinesonic is registered via extra_model_paths.yaml."""
        return self.root / "models"

    @property
    def extra_model_paths(self) -> Path:
        return self.root / "extra_model_paths.yaml"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "main.py",
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-auto-launch",
            "--disable-api-nodes",
            "--output-directory",
            str(self.output_dir),
            "--input-directory",
            str(self.input_dir),
            "--temp-directory",
            str(self.temp_dir),
            "--database-url",
            "sqlite:///:memory:",
            "--extra-model-paths-config",
            str(self.extra_model_paths),
        ]

    def start(self, timeout: float = 120.0) -> None:
        for folder in (self.input_dir, self.output_dir, self.temp_dir, self.models_dir / "kinesonic"):
            folder.mkdir(parents=True, exist_ok=True)
        # The pack's model kind lives outside the cached ComfyUI folder, as a user's extra path would.
        self.extra_model_paths.write_text(
            f"kinesonic_tests:\n    base_path: {self.models_dir}\n    kinesonic: kinesonic/\n"
            f"kinesonic_test_peers:\n    custom_nodes: {PEERS}\n"
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINESONIC_")}
        site = str(WORK / "site")  # sitecustomize.py: torchvision shim (scripts/comfyui_env.sh)
        env["PYTHONPATH"] = site + os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else site
        env["PYTHONUNBUFFERED"] = "1"
        env["KINESONIC_COMFY_PARENT_PID"] = str(os.getpid())  # sitecustomize.py: exit if we vanish
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.comfy_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills exactly this tree
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ComfyError(
                    f"ComfyUI exited with code {self.process.returncode} before answering; "
                    f"log tail:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        raise ComfyError(f"ComfyUI did not answer /system_stats within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server's process group by its id (SIGTERM, then SIGKILL)."""
        proc = self.process
        if proc is None:
            return
        try:
            pgid = os.getpgid(proc.pid)
        except ProcessLookupError:
            pgid = None
        if pgid is not None and pgid == proc.pid:  # started with start_new_session: the group is ours
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            proc.kill()
        if proc.poll() is None:
            proc.wait(timeout=5)
        self.process = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


# --------------------------------------------------------------------------- client


class ComfyClient:
    """Plain-HTTP client for one server (stdlib only) plus a websocket listener factory."""

    def __init__(self, server: ComfyServer) -> None:
        self.server = server
        self.url = server.url

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                status, raw = response.status, response.read()
                ctype = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw, ctype = error.code, error.read(), error.headers.get("Content-Type", "")
        if "json" in ctype:
            return status, json.loads(raw or b"null")
        return status, raw

    def get_json(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status != 200:
            raise ComfyError(f"GET {path} -> {status}: {body!r:.300}")
        return body

    def get_bytes(self, path: str) -> bytes:
        status, body = self.request("GET", path)
        if status != 200:
            raise ComfyError(f"GET {path} -> {status}")
        return body if isinstance(body, bytes) else json.dumps(body).encode()

    def post_prompt(self, prompt: dict, client_id: str | None = None) -> tuple[int, Any]:
        """POST /prompt; (200, {"prompt_id": ...}) or (400, {"error": ..., "node_errors": ...})."""
        return self.request("POST", "/prompt", {"prompt": prompt, "client_id": client_id or uuid.uuid4().hex})

    def queue(self, prompt: dict, client_id: str | None = None) -> str:
        status, body = self.post_prompt(prompt, client_id)
        if status != 200:
            raise ComfyError(f"/prompt rejected the graph ({status}): {json.dumps(body, indent=1)[:3000]}")
        return body["prompt_id"]

    def interrupt(self) -> None:
        status, _ = self.request("POST", "/interrupt", {})
        if status != 200:
            raise ComfyError(f"/interrupt -> {status}")

    def history(self, prompt_id: str) -> dict | None:
        return self.get_json(f"/history/{prompt_id}").get(prompt_id)

    def wait_history(self, prompt_id: str, timeout: float = 300.0) -> dict:
        """Poll /history until the prompt is finished (success or error); returns its entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.history(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None:
                if entry["status"].get("status_str") in ("success", "error"):
                    return entry
            if self.server.process is not None and self.server.process.poll() is not None:
                raise ComfyError(f"ComfyUI died while running {prompt_id}:\n{self.server.log_tail()}")
            time.sleep(0.25)
        tail = self.server.log_tail()
        raise ComfyError(f"prompt {prompt_id} did not finish within {timeout:.0f} s:\n{tail}")

    def view(self, filename: str, subfolder: str = "", type_: str = "output") -> bytes:
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": type_})
        return self.get_bytes(f"/view?{query}")

    def websocket(self, client_id: str | None = None) -> WebSocketListener:
        return WebSocketListener(self.url, client_id or uuid.uuid4().hex)


class WebSocketListener:
    """Collects the server's websocket messages (JSON ones) in a background thread.

    Use as a context manager; ``messages`` is the queue of ``(monotonic_time, message)`` pairs,
    ``wait_for(predicate)`` pops until one matches.
    """

    def __init__(self, url: str, client_id: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + f"/ws?clientId={client_id}"
        self.client_id = client_id
        self.messages: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.seen: list[tuple[float, dict]] = []
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="comfy-ws", daemon=True)

    def __enter__(self) -> WebSocketListener:
        self._thread.start()
        if not self._connected.wait(20):
            raise ComfyError(f"websocket {self.ws_url} did not connect: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._listen())
        except BaseException as error:  # reported through wait_for
            self._error = error
            self._connected.set()

    async def _listen(self) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session, session.ws_connect(self.ws_url, heartbeat=30) as ws:
            self._connected.set()
            while not self._stop.is_set():
                try:
                    msg = await ws.receive(timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.messages.put((time.monotonic(), json.loads(msg.data)))
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break

    def wait_for(self, predicate, timeout: float = 120.0) -> tuple[float, dict]:
        """Pop messages until ``predicate(message)`` is true; returns ``(arrival_time, message)``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [m.get("type") for _, m in self.seen[-20:]]
                raise ComfyError(f"no matching websocket message within {timeout:.0f} s (last: {kinds})")
            try:
                item = self.messages.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self._error is not None:
                    raise ComfyError(f"websocket failed: {self._error!r}") from self._error
                continue
            self.seen.append(item)
            if predicate(item[1]):
                return item


def for_prompt(prompt_id: str, *types: str):
    """Predicate: a websocket message of one of ``types`` about ``prompt_id``."""

    def match(message: dict) -> bool:
        data = message.get("data") or {}
        return message.get("type") in types and data.get("prompt_id") == prompt_id

    return match
