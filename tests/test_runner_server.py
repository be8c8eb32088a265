"""The ComfyUI HTTP client against a small fake server (http.server in a thread)."""

from __future__ import annotations

import argparse
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kinesonic.runner import ServerError, commands, submit_to_server

DATA = Path(__file__).resolve().parent / "data"
VIDEO_BYTES = bytes(range(256)) * 40
PREVIEW_BYTES = b"preview"

OBJECT_INFO = {
    "FakeSource": {
        "input": {"required": {"value": ["INT", {"default": 1, "min": 0, "max": 100}]}},
        "input_order": {"required": ["value"]},
        "output": ["IMAGE", "INT"],
        "output_is_list": [False, False],
        "output_name": ["image", "value"],
        "name": "FakeSource",
        "display_name": "Fake Source",
        "description": "",
        "category": "Test",
        "output_node": False,
    },
    "FakeSave": {
        "input": {"required": {"image": ["IMAGE"], "prefix": ["STRING", {"default": "out"}]}},
        "input_order": {"required": ["image", "prefix"]},
        "output": [],
        "output_is_list": [],
        "output_name": [],
        "name": "FakeSave",
        "display_name": "Fake Save",
        "description": "",
        "category": "Test",
        "output_node": True,
    },
}


def main(argv: list[str]) -> int:
    """``kinesonic`` with only the runner's subcommands (isolated from other areas' commands)."""
    parser = argparse.ArgumentParser(prog="kinesonic")
    commands.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


class FakeComfy:
    """Answers /prompt, /history/<id>, /view and /object_info like ComfyUI does."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.prompts: list[dict] = []
        self.history_calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.prompts.append(body)
                if owner.mode == "refuse":
                    answer = {
                        "error": {"type": "prompt_outputs_failed_validation", "message": "Outputs failed"},
                        "node_errors": {
                            "1": {
                                "errors": [
                                    {
                                        "type": "value_bigger_than_max",
                                        "message": "Value 500 bigger than max of 100",
                                        "details": "value",
                                        "extra_info": {"input_name": "value"},
                                    }
                                ],
                                "dependent_outputs": ["2"],
                                "class_type": "FakeSource",
                            }
                        },
                    }
                    self._send(400, json.dumps(answer).encode())
                    return
                self._send(200, json.dumps({"prompt_id": "p-1", "number": 0, "node_errors": {}}).encode())

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                if url.path == "/object_info":
                    self._send(200, json.dumps(OBJECT_INFO).encode())
                elif url.path == "/history/p-1":
                    owner.history_calls += 1
                    if owner.history_calls < 3:  # still running
                        self._send(200, b"{}")
                        return
                    self._send(200, json.dumps({"p-1": owner.history()}).encode())
                elif url.path == "/view":
                    query = urllib.parse.parse_qs(url.query)
                    wanted = {"filename": ["clip_00001.mp4"], "subfolder": ["kinesonic"], "type": ["output"]}
                    if query == wanted:
                        self._send(200, VIDEO_BYTES, "video/mp4")
                    elif query.get("filename") == ["preview.png"]:
                        self._send(200, PREVIEW_BYTES, "image/png")
                    else:
                        self._send(404, b"not found")
                else:
                    self._send(404, b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def history(self) -> dict:
        if self.mode == "fail":
            return {
                "outputs": {},
                "status": {
                    "status_str": "error",
                    "completed": False,
                    "messages": [
                        ["execution_start", {"prompt_id": "p-1"}],
                        [
                            "execution_error",
                            {
                                "node_id": "1",
                                "node_type": "FakeSource",
                                "exception_type": "ValueError",
                                "exception_message": "no such file",
                            },
                        ],
                    ],
                },
            }
        return {
            "outputs": {
                "2": {
                    "video": [{"filename": "clip_00001.mp4", "subfolder": "kinesonic", "type": "output"}],
                    "images": [{"filename": "preview.png", "subfolder": "", "type": "temp"}],
                    "text": ["not a file"],
                }
            },
            "status": {"status_str": "success", "completed": True, "messages": []},
        }

    def __enter__(self) -> FakeComfy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


PROMPT = {
    "1": {"class_type": "FakeSource", "inputs": {"value": 3}},
    "2": {"class_type": "FakeSave", "inputs": {"image": ["1", 0], "prefix": "x"}},
}


def test_submit_waits_and_downloads_outputs(tmp_path):
    with FakeComfy() as server:
        result = submit_to_server(server.url, PROMPT, tmp_path, 30, poll_interval=0.01, progress=False)
    assert server.prompts[0]["prompt"] == PROMPT and server.prompts[0]["client_id"]
    assert server.history_calls == 3
    assert result.prompt_id == "p-1"
    target = (tmp_path / "kinesonic" / "clip_00001.mp4").resolve()
    assert result.files == [target]
    assert target.read_bytes() == VIDEO_BYTES
    # previews (type temp) are not downloaded; no temporary files are left
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["clip_00001.mp4", "kinesonic"]


def test_download_never_overwrites_a_local_file(tmp_path, capsys):
    mine = tmp_path / "kinesonic" / "clip_00001.mp4"
    mine.parent.mkdir()
    mine.write_bytes(b"my own clip")
    with FakeComfy() as server:
        result = submit_to_server(server.url, PROMPT, tmp_path, 30, poll_interval=0.01, progress=False)
    (saved,) = result.files
    assert saved.name == "clip_00001-1.mp4" and saved.read_bytes() == VIDEO_BYTES
    assert mine.read_bytes() == b"my own clip"
    assert "already exists" in capsys.readouterr().err


def test_refused_prompt_lists_node_errors(tmp_path):
    with FakeComfy("refuse") as server, pytest.raises(ServerError) as caught:
        submit_to_server(server.url, PROMPT, tmp_path, timeout=30, poll_interval=0.01, progress=False)
    message = str(caught.value)
    assert "Outputs failed" in message
    assert "node #1 (FakeSource), input 'value': Value 500 bigger than max of 100" in message
    assert list(tmp_path.iterdir()) == []


def test_execution_error_is_reported(tmp_path):
    with FakeComfy("fail") as server, pytest.raises(ServerError, match="node #1 .*ValueError: no such file"):
        submit_to_server(server.url, PROMPT, tmp_path, timeout=30, poll_interval=0.01, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server(tmp_path):
    with FakeComfy() as server:
        url = server.url
    with pytest.raises(ServerError, match="cannot reach ComfyUI"):
        submit_to_server(url, PROMPT, tmp_path, timeout=5, progress=False)


def test_cli_server_mode_converts_ui_with_the_servers_node_list(tmp_path, capsys):
    # FakeSource/FakeSave are unknown to the pack: the server's /object_info names their widgets
    workflow = DATA / "ui_workflows" / "reroute.json"
    with FakeComfy() as server:
        code = main(["run", str(workflow), "--server", server.url, "--output", str(tmp_path), "--quiet"])
    assert code == 0
    sent = server.prompts[0]
    assert sent["prompt"]["3"]["inputs"] == {"prefix": "rr", "image": ["1", 0]}
    assert sent["prompt"]["1"]["inputs"] == {"value": 5}
    assert sent["extra_data"]["extra_pnginfo"]["workflow"]["nodes"][0]["id"] == 1
    assert "clip_00001.mp4" in capsys.readouterr().out
