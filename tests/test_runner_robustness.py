"""Bad workflows, bad options and bad server answers end in clear errors, never in a traceback.

Each case is one of the inputs that used to crash ``kinesonic validate`` / ``run`` (issue 14): the
error must name the node (id and title) and the input where there is one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kinesonic.runner import ServerError, commands, fetch_object_info, submit_to_server, validate_prompt

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "workflows" / "hello_sounding_video.json"
SAVE = "node #3 'Save Sounding Video'"


def main(argv: list[str]) -> int:
    """``kinesonic`` with only the runner's subcommands."""
    parser = argparse.ArgumentParser(prog="kinesonic")
    commands.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def hello() -> dict:
    return json.loads(HELLO.read_text())


def validate_text(tmp_path: Path, text: str, capsys: pytest.CaptureFixture) -> str:
    """Run ``kinesonic validate`` on ``text``; it must exit 1 without traceback; returns stderr."""
    path = tmp_path / "wf.json"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def save_widget(value_text: str, index: int = 0) -> str:
    """hello.json with widget ``index`` of the save node (0 = fps, 3 = crf) replaced by raw JSON."""
    wf = hello()
    wf["nodes"][2]["widgets_values"][index] = "@@"
    return json.dumps(wf).replace('"@@"', value_text)


@pytest.mark.parametrize(
    ("raw", "index", "name"),
    [
        ("Infinity", 3, "crf"),  # INT
        ("1e400", 3, "crf"),  # INT, read as inf
        ("-Infinity", 3, "crf"),
        ("NaN", 0, "fps"),  # FLOAT: NaN passed min/max before
        ("NaN", 3, "crf"),
    ],
)
def test_non_finite_numbers_name_node_and_input(tmp_path, capsys, raw, index, name):
    err = validate_text(tmp_path, save_widget(raw, index), capsys)
    assert f"{SAVE} (KinesonicSaveSoundingVideo), input '{name}': cannot convert" in err
    assert "finite" in err or "whole number" in err


def test_integer_of_5000_digits(tmp_path, capsys):
    err = validate_text(tmp_path, save_widget("9" * 5000, 3), capsys)
    assert f"{SAVE} (KinesonicSaveSoundingVideo)" in err and "integer of 5000 digits" in err
    assert len(err) < 2000  # the number is not echoed


def test_deep_nesting_parsed_and_unparsable(tmp_path, capsys):
    err = validate_text(tmp_path, save_widget("[" * 500 + "1" + "]" * 500, 1), capsys)
    assert SAVE in err and "nested more than" in err
    err = validate_text(tmp_path, save_widget("[" * 100_000 + "1" + "]" * 100_000, 1), capsys)
    assert "nested too deeply" in err


def test_wrong_json_types_of_ids_slots_and_inputs(tmp_path, capsys):
    wf = hello()
    wf["nodes"][0]["id"] = [1]
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert "node at position 0 of 'nodes' ('Load Image'): 'id' must be an integer" in err

    wf = hello()
    wf["links"][1][4] = "1"  # target slot as a string
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert f"{SAVE} (KinesonicSaveSoundingVideo), input 'audio': link 2: target slot must be" in err

    wf = hello()
    wf["nodes"][2]["inputs"] = {"images": 1}
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert f"{SAVE} (KinesonicSaveSoundingVideo): 'inputs' must be a list" in err

    wf = hello()
    wf["nodes"][2]["inputs"][0]["link"] = [1]
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert "input 'images': 'link' must be a link id" in err


def test_duplicate_node_ids_and_string_widgets_values(tmp_path, capsys):
    wf = hello()
    wf["nodes"][1]["id"] = 1
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert "node #1 'Load Audio'" in err and "duplicate node id 1" in err

    wf = hello()
    wf["nodes"][2]["widgets_values"] = "16, kinesonic/hello"
    err = validate_text(tmp_path, json.dumps(wf), capsys)
    assert f"{SAVE} (KinesonicSaveSoundingVideo): 'widgets_values' must be a list" in err


def test_api_format_shapes(tmp_path, capsys):
    api = {
        "1": {"class_type": "KinesonicLoadAudio", "inputs": ["path"], "_meta": {"title": "Sound"}},
        "2": {"class_type": "KinesonicSaveSoundingVideo", "inputs": {"images": ["1", 1.5], "fps": 16}},
        "3": "not a node",
    }
    err = validate_text(tmp_path, json.dumps(api), capsys)
    assert "node #1 'Sound' (KinesonicLoadAudio): 'inputs' must be an object" in err
    assert "node #2 'Save Sounding Video' (KinesonicSaveSoundingVideo), input 'images': link " in err
    assert "node #3: a node must be an object" in err
    # the Python API answers the same without raising
    errors = validate_prompt({"1": {"class_type": "KinesonicLoadAudio", "inputs": {"sample_rate": math.nan}}})
    assert [e.kind for e in errors] == ["prompt_no_outputs"]


def test_set_override_with_a_deep_or_huge_value(tmp_path, capsys):
    for value in ("[" * 5000 + "]" * 5000, "9" * 5000):
        assert main(["validate", str(HELLO), "--set", f"3.crf={value}"]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "input 'crf'" in err


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_timeout_must_be_positive_and_finite(capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(HELLO), "--server", "http://127.0.0.1:9", f"--timeout={value}"])
    assert exit_info.value.code == 2
    assert "--timeout" in capsys.readouterr().err
    with pytest.raises(ServerError, match="timeout must be"):
        submit_to_server("http://127.0.0.1:9", {}, timeout=float(value) if value != "soon" else -1)


def test_output_that_is_a_file_or_under_a_file(tmp_path, capsys):
    afile = tmp_path / "out.txt"
    afile.write_text("x")
    assert main(["run", str(HELLO), "--output", str(afile), "--quiet"]) == 1
    assert "this is a file, not a folder" in capsys.readouterr().err
    assert main(["run", str(HELLO), "--output", str(afile / "sub"), "--quiet"]) == 1
    assert "is a file, so the folder cannot be created" in capsys.readouterr().err
    assert afile.read_text() == "x"


def test_output_in_an_unwritable_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        assert main(["run", str(HELLO), "--output", str(locked / "out"), "--quiet"]) == 1
        assert "is not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_ctrl_c_while_starting_exits_quietly():
    """SIGINT at several moments after the interpreter is up (Python's own start-up, ~0.1-0.3 s of
    site-packages hooks, is outside any program's control): exit 130 (or 0 when done), no traceback."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    launcher = (
        "import runpy, sys; sys.stderr.write('ready\\n'); sys.stderr.flush(); sys.argv = ['kinesonic', "
        f"'validate', {str(HELLO)!r}]; runpy.run_module('kinesonic', run_name='__main__', alter_sys=True)"
    )
    for delay in (0.05, 0.3, 1.0, 2.5):
        process = subprocess.Popen(
            [sys.executable, "-c", launcher],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert process.stderr.readline().strip() == "ready"
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        assert "Traceback" not in err, (delay, err[-500:])
        assert process.returncode in (0, 130, -signal.SIGINT), (delay, process.returncode, err)


# --------------------------------------------------------------------------- server answers


class OddServer:
    """A ComfyUI stand-in whose answers are malformed in one chosen way."""

    def __init__(self, answers: dict[str, tuple[int, bytes]]) -> None:
        owner = self
        self.answers = answers

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                path = self.path.split("?")[0]
                key = next((k for k in owner.answers if path.startswith(k)), None)
                code, body = owner.answers.get(key, (404, b"{}"))
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OddServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


PROMPT = {"1": {"class_type": "X", "inputs": {}}}
OK_PROMPT = (200, b'{"prompt_id": "p"}')


@pytest.mark.parametrize(
    ("answers", "match"),
    [
        ({"/prompt": (200, b"<html>busy</html>")}, "not JSON"),
        ({"/prompt": (200, b"[1, 2]")}, "expected a JSON object, got a list"),
        ({"/prompt": (200, b'{"prompt_id": ["p"]}')}, "did not return a prompt_id"),
        ({"/prompt": (400, b"[]")}, "refused the workflow"),
        ({"/prompt": (400, b'{"node_errors": {"1": {"errors": ["bad", 3]}}}')}, "node #1 .*bad"),
        ({"/prompt": OK_PROMPT, "/history": (200, b"not json")}, "not JSON"),
        ({"/prompt": OK_PROMPT, "/history": (200, b'["p"]')}, "expected a JSON object, got a list"),
        ({"/prompt": OK_PROMPT, "/history": (200, b'{"p": [1]}')}, "entry 'p': expected a JSON object"),
        ({"/prompt": OK_PROMPT, "/history": (200, b'{"p": {"status": []}}')}, "'status'"),
        ({"/prompt": OK_PROMPT, "/history": (200, b'{"p": {"status": {}, "outputs": [1]}}')}, "'outputs'"),
    ],
)
def test_malformed_server_answers(tmp_path, answers, match):
    with OddServer(answers) as server, pytest.raises(ServerError, match=match):
        submit_to_server(server.url, PROMPT, tmp_path, timeout=10, poll_interval=0.01, progress=False)


def test_odd_outputs_entries_are_skipped(tmp_path):
    history = {
        "p": {"status": {"completed": True}, "outputs": {"1": [1], "2": {"images": [{"filename": 5}]}}}
    }
    answers = {"/prompt": OK_PROMPT, "/history": (200, json.dumps(history).encode())}
    with OddServer(answers) as server:
        result = submit_to_server(
            server.url, PROMPT, tmp_path, timeout=10, poll_interval=0.01, progress=False
        )
    assert result.files == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"oops", "not JSON"),
        (b"[]", "expected a JSON object, got a list"),
        (b'{"X": {"input": []}}', "node type 'X': 'input' is not an object"),
        (b'{"X": {"input": {"required": [1]}}}', "node type 'X': an 'input' section"),
    ],
)
def test_malformed_object_info(body, match, capsys):
    with OddServer({"/object_info": (200, body)}) as server:
        with pytest.raises(ServerError, match=match):
            fetch_object_info(server.url)
        assert main(["run", str(HELLO), "--server", server.url, "--quiet"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_wrapped_by_class_creation_while_starting_exits_quietly():
    # a KeyboardInterrupt that lands inside a dataclass's creation reaches __main__ as a RuntimeError
    # ("Error calling __set_name__ ...") caused by it: still Ctrl-C, exit 130 without a traceback
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    launcher = (
        "import builtins, runpy, sys\n"
        "real = builtins.__import__\n"
        "def fake(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    if name == 'runner.cli' and level == 1:\n"
        "        try:\n"
        "            raise KeyboardInterrupt\n"
        "        except KeyboardInterrupt as error:\n"
        "            raise RuntimeError('Error calling __set_name__') from error\n"
        "    return real(name, globals, locals, fromlist, level)\n"
        "builtins.__import__ = fake\n"
        f"sys.argv = ['kinesonic', 'validate', {str(HELLO)!r}]\n"
        "runpy.run_module('kinesonic', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 130, done.stderr[-500:]
    assert "Traceback" not in done.stderr and "interrupted" in done.stderr
