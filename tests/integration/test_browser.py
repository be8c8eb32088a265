"""Check 4: a person's path through the web UI, in headless Chromium driven by playwright-core.

browser/run_workflow.mjs opens ComfyUI, drops workflows/hello_sounding_video.json on the canvas
(a DataTransfer file in a 'drop' event, as a file dragged from the file manager), clicks Run and
waits for the prompt; this test then checks /history and the output folder, and keeps the
screenshot of the canvas at tests/artifacts/browser_<workflow>.png (the CI artifact to look at).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from comfy_compare import ui_files
from comfy_server import REPO, WORK

pytestmark = pytest.mark.integration

SCRIPT = REPO / "tests" / "integration" / "browser" / "run_workflow.mjs"
WORKFLOW = REPO / "workflows" / "hello_sounding_video.json"
NODE_MODULES = WORK / "browser" / "node_modules"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _need(tool: str, install: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed; install it with: {install} (scripts/comfyui_env.sh does)")
    return path


@pytest.fixture(scope="module")
def browser_run(comfy_server, artifacts_dir, tmp_path_factory):
    chromium = _need("chromium", "apt-get update && apt-get install -y chromium")
    node = _need("node", "apt-get install -y nodejs npm")
    if not (NODE_MODULES / "playwright-core").is_dir():
        pytest.fail(f"playwright-core is missing in {NODE_MODULES}; run: bash scripts/comfyui_env.sh")
    work = tmp_path_factory.mktemp("browser")
    screenshot = artifacts_dir / f"browser_{WORKFLOW.stem}.png"
    for old in (screenshot, screenshot.with_suffix(".failed.png")):
        old.unlink(missing_ok=True)
    config = {
        "url": comfy_server.url,
        "workflow": str(WORKFLOW),
        "screenshot": str(screenshot),
        "result": str(work / "result.json"),
        "chromium": chromium,
        "timeout_ms": 240_000,
    }
    (work / "config.json").write_text(json.dumps(config))
    before = {p for p in comfy_server.server.output_dir.rglob("*") if p.is_file()}
    done = subprocess.run(
        [node, str(SCRIPT), str(work / "config.json")],
        capture_output=True,
        text=True,
        env=dict(os.environ, NODE_PATH=str(NODE_MODULES)),
        timeout=300,
        check=False,
    )
    result = json.loads((work / "result.json").read_text()) if (work / "result.json").is_file() else {}
    (artifacts_dir / "browser_result.json").write_text(json.dumps(result, indent=1))
    assert done.returncode == 0, (
        f"the browser run failed (exit {done.returncode}); picture of the page: "
        f"{screenshot.with_suffix('.failed.png')}\n{result.get('error')}\n{done.stdout[-2000:]}\n"
        f"{done.stderr[-3000:]}"
    )
    new_files = {p for p in comfy_server.server.output_dir.rglob("*") if p.is_file()} - before
    return result, screenshot, new_files


def test_workflow_dropped_on_canvas_shows_its_nodes(browser_run):
    result, _, _ = browser_run
    expected = sorted(n["type"] for n in json.loads(WORKFLOW.read_text())["nodes"])
    assert sorted(result["node_types"]) == expected
    assert any(t.startswith("Kinesonic") for t in result["node_types"])
    assert result["node_errors_on_canvas"] == []


def test_run_click_reaches_history_and_output_folder(browser_run, comfy_server):
    result, _, new_files = browser_run
    assert result["prompt_status"] == 200 and result["prompt_response"]["node_errors"] == {}
    entry = comfy_server.history(result["prompt_id"])
    assert entry is not None, "the prompt queued from the browser is not in /history"
    assert entry["status"]["status_str"] == "success"
    # The UI-format graph the page queued went through the frontend's own conversion.
    assert {n["class_type"] for n in entry["prompt"][2].values()} == set(result["node_types"])
    files = [f for ui in entry["outputs"].values() for f in ui_files(ui)]
    assert [f["filename"].rsplit(".", 1)[-1] for f in files] == ["mp4"]
    out = comfy_server.server.output_dir
    saved = {out / f["subfolder"] / f["filename"] for f in files}
    assert saved <= new_files, f"history names {saved}, the output folder gained {new_files}"
    for path in saved:
        assert path.stat().st_size > 1000


def test_page_shows_no_pack_errors(browser_run):
    result, _, _ = browser_run
    errors = result["console_errors"] + result["page_errors"]
    # The frontend asks the Comfy registry about every node type it sees; with --disable-api-nodes
    # the server's Content-Security-Policy blocks that (no internet here): not an error of the pack.
    ours = [e for e in errors if "kinesonic" in e.lower() and "Content Security Policy" not in e]
    assert not ours, "the page logged errors about the pack:\n" + "\n".join(ours)
    assert not result["page_errors"], "uncaught errors in the page:\n" + "\n".join(result["page_errors"])


def test_screenshot_saved_as_artifact(browser_run):
    _, screenshot, _ = browser_run
    data = screenshot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1600, 1000)
