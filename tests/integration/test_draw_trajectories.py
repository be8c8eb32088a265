"""Check 6: an artist draws two timed trajectories in the Draw Trajectories editor and runs the main template.

browser/draw_trajectories.mjs drops workflows/image_to_sounding_video.json on the canvas, clears
the editor, draws two tracks with mouse clicks (one point dragged), types two key times, picks an
easing, puts a Save Tracks node on the drawn tracks, clicks Run and scrubs to a frame. This test
then checks that the tracks ComfyUI computed (the TRACKS socket that feeds the generator) hold the
drawn key points exactly, in pixels of the model's 64x64 frame, at the typed frames; that the
generator made its mp4; and that the workflow the page saved, run headless by the runner, gives
the same tracks. Pictures: tests/artifacts/draw_trajectories_editor.png (the editor) and
draw_trajectories_page.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from comfy_compare import ui_files
from comfy_server import REPO, WORK

from kinesonic.kinematics import Tracks
from kinesonic.kinematics.keyframes import parse_state, state_to_tracks
from kinesonic.nodes.draw_trajectories import physics_route

pytestmark = pytest.mark.integration

SCRIPT = REPO / "tests" / "integration" / "browser" / "draw_trajectories.mjs"
WORKFLOW = REPO / "workflows" / "image_to_sounding_video.json"
NODE_MODULES = WORK / "browser" / "node_modules"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PREFIX = "kinesonic/browser_tracks"
NUM_FRAMES, FPS, SIZE = 33, 16.0, 64  # the template's Draw Trajectories widgets (the tiny model's clip)

# What the artist draws, in pixels of the editor's 64x64 frame. Track 1: three clicks, the middle
# point timed at frame 10 (the ends default to frames 0 and 32). Track 2: two clicks, the second
# point then dragged from (44, 22) to (48, 30) and timed at frame 24, eased in and out.
DRAW = [
    {"points": [[10, 50], [30, 12], [54, 40]], "frames": {"1": 10}},
    {"points": [[20, 20], [44, 22]], "drag": [1, [48, 30]], "frames": {"1": 24}, "easing": "ease_in_out"},
]
# (track, key) -> (frame, drawn point) the TRACKS must hold exactly.
KEYS = {
    (0, 0): (0, (10, 50)),
    (0, 1): (10, (30, 12)),
    (0, 2): (32, (54, 40)),
    (1, 0): (0, (20, 20)),
    (1, 1): (24, (48, 30)),
}
# Track 3, made with the physics assist: a glass ball placed at (10, 12), floor line at y = 56,
# velocity dragged to (20, 12) = 10 px in the arrow's 0.25 s = 40 px/s to the right; "simulate".
THROW = {"start": [10, 12], "floor_y": 56, "velocity_to": [20, 12], "material": "glass"}
MOUSE_PRECISION_PX = 0.1  # frame pixels: half a CSS pixel at the editor's 6x zoom, rounded up


def _need(tool: str, install: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed; install it with: {install} (scripts/comfyui_env.sh does)")
    return path


@pytest.fixture(scope="module")
def drawn(comfy_server, workflow_models, artifacts_dir, tmp_path_factory):
    chromium = _need("chromium", "apt-get update && apt-get install -y chromium")
    node = _need("node", "apt-get install -y nodejs npm")
    if not (NODE_MODULES / "playwright-core").is_dir():
        pytest.fail(f"playwright-core is missing in {NODE_MODULES}; run: bash scripts/comfyui_env.sh")
    work = tmp_path_factory.mktemp("draw")
    editor_png = artifacts_dir / "draw_trajectories_editor.png"
    page_png = artifacts_dir / "draw_trajectories_page.png"
    for old in (editor_png, page_png, editor_png.with_suffix(".failed.png")):
        old.unlink(missing_ok=True)
    config = {
        "url": comfy_server.url,
        "workflow": str(WORKFLOW),
        "screenshot": str(editor_png),
        "page_screenshot": str(page_png),
        "result": str(work / "result.json"),
        "chromium": chromium,
        "timeout_ms": 240_000,
        "steps": 2,  # the sampler's steps, set in the page as a user would: the tracks do not depend on it
        "tracks_prefix": PREFIX,
        "draw": DRAW,
        "throw": THROW,
        "scrub_frame": 10,
    }
    (work / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [node, str(SCRIPT), str(work / "config.json")],
        capture_output=True,
        text=True,
        env=dict(os.environ, NODE_PATH=str(NODE_MODULES)),
        timeout=330,
        check=False,
    )
    result = json.loads((work / "result.json").read_text()) if (work / "result.json").is_file() else {}
    (artifacts_dir / "draw_trajectories_result.json").write_text(json.dumps(result, indent=1))
    assert done.returncode == 0, (
        f"the browser run failed (exit {done.returncode}); picture: {editor_png.with_suffix('.failed.png')}\n"
        f"{result.get('error')}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return result, editor_png


def _server_tracks(comfy_server, entry: dict, draw_save_id: str) -> Tracks:
    (text,) = entry["outputs"][draw_save_id]["text"]
    path = Path(text)
    if not path.is_absolute():
        path = comfy_server.server.output_dir / path
    return Tracks.from_json(path.read_text())


def _ids(prompt: dict) -> tuple[str, str, str]:
    by_type = {node["class_type"]: node_id for node_id, node in prompt.items()}
    return by_type["KinesonicDrawTrajectories"], by_type["KinesonicSaveTracks"], by_type["KinesonicGenerate"]


def test_editor_state_holds_what_was_drawn(drawn):
    result, _ = drawn
    state = result["state"]
    assert (state["width"], state["height"]) == (SIZE, SIZE)
    assert [len(t["keys"]) for t in state["tracks"][:2]] == [3, 2]
    assert [t["easing"] for t in state["tracks"]] == ["linear", "ease_in_out", "linear"]
    for (ti, ki), (_frame, (x, y)) in KEYS.items():
        key = state["tracks"][ti]["keys"][ki]
        assert abs(key["x"] - x) <= MOUSE_PRECISION_PX and abs(key["y"] - y) <= MOUSE_PRECISION_PX, key
        typed = DRAW[ti].get("frames", {}).get(str(ki))
        assert key.get("frame") == typed, f"track {ti} key {ki}: {key}"
    assert result["frame_label"].startswith("frame 10 / 32")
    # the physics track: what the simulator route makes of the drawn start, floor and velocity
    thrown = state["tracks"][2]
    assert abs(state["floor_y"] - THROW["floor_y"]) <= MOUSE_PRECISION_PX
    assert thrown["physics"]["material"] == THROW["material"]
    assert (
        abs(thrown["physics"]["vx"] - 40.0) <= 4 * MOUSE_PRECISION_PX and abs(thrown["physics"]["vy"]) <= 0.4
    )
    again = physics_route({"state": state, "track": 2, "num_frames": NUM_FRAMES, "fps": FPS})["keys"]
    assert thrown["keys"] == again
    first = thrown["keys"][0]
    assert first["frame"] == 0 and np.hypot(first["x"] - 10, first["y"] - 12) <= MOUSE_PRECISION_PX
    assert max(k["y"] for k in thrown["keys"]) > THROW["floor_y"] - 3 - 0.5  # it reached the floor
    assert result["status_text"] == ""  # the preview route had nothing to complain about


def test_tracks_reaching_the_generator_hold_the_drawn_keys(drawn, comfy_server):
    result, _ = drawn
    entry = comfy_server.history(result["prompt_id"])
    assert entry is not None and entry["status"]["status_str"] == "success"
    prompt = entry["prompt"][2]
    draw_id, save_id, gen_id = _ids(prompt)
    assert prompt[gen_id]["inputs"]["tracks"] == [draw_id, 0]
    assert prompt[save_id]["inputs"]["tracks"] == [draw_id, 0]
    assert json.loads(prompt[draw_id]["inputs"]["editor"]) == result["state"]
    tracks = _server_tracks(comfy_server, entry, save_id)
    # the file holds each float32 of the socket as its shortest decimal (docs/kinematics.md, round trip)
    points = np.float32(tracks.points)
    assert (tracks.num_frames, tracks.num_tracks, tracks.fps, tracks.width, tracks.height) == (
        NUM_FRAMES, 3, FPS, SIZE, SIZE,
    )  # fmt: skip
    assert tracks.visible.all()
    state = result["state"]
    for (ti, ki), (frame, _) in KEYS.items():
        key = state["tracks"][ti]["keys"][ki]
        want = np.float32([key["x"], key["y"]])  # the TRACKS socket holds float32 pixels
        assert np.array_equal(points[frame, ti], want), (ti, ki, frame)
    for key in state["tracks"][2]["keys"]:  # the simulated keys, at their frames
        assert np.array_equal(points[key["frame"], 2], np.float32([key["x"], key["y"]])), key
    # every frame: what the pack's key-frame code makes of the saved state (as float32)
    want = state_to_tracks(parse_state(state), NUM_FRAMES, FPS, SIZE, SIZE)
    assert np.array_equal(points, want.points.astype(np.float32))
    # the generator used them: its mp4 is in the output folder
    files = [f for ui in entry["outputs"].values() for f in ui_files(ui)]
    mp4 = [f for f in files if f["filename"].endswith(".mp4")]
    assert len(mp4) == 1
    assert (comfy_server.server.output_dir / mp4[0]["subfolder"] / mp4[0]["filename"]).stat().st_size > 1000


def test_saved_workflow_runs_headless_with_identical_tracks(
    drawn, comfy_server, runner_sees_server_folders, tmp_path
):
    from kinesonic.runner import execute, load_workflow

    result, _ = drawn
    entry = comfy_server.history(result["prompt_id"])
    _, save_id, _ = _ids(entry["prompt"][2])
    server = _server_tracks(comfy_server, entry, save_id)
    prompt = load_workflow(result["workflow"])  # the UI-format workflow the page saved
    run = execute(prompt, output_dir=tmp_path, progress=False)
    (text,) = run.outputs[save_id]["ui"]["text"]
    path = Path(text) if Path(text).is_absolute() else tmp_path / text
    local = Tracks.from_json(path.read_text())
    assert local.to_json() == server.to_json()


def test_editor_screenshot_saved_as_artifact(drawn):
    _, editor_png = drawn
    data = editor_png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 384 and height >= 400  # the 64x64 frame at 6x plus the controls


def test_page_shows_no_pack_errors(drawn):
    result, _ = drawn
    ours = [
        e
        for e in result["console_errors"] + result["page_errors"]
        if "kinesonic" in e.lower() and "Content Security Policy" not in e
    ]
    assert not ours, "the page logged errors about the pack:\n" + "\n".join(ours)
    missing = [r for r in result["failed_requests"] if "/extensions/kinesonic/" in r or "/kinesonic/" in r]
    assert not missing, "the pack's own URLs failed:\n" + "\n".join(missing)


def test_generated_mp4_dropped_on_the_canvas_restores_the_graph(drawn):
    result, _ = drawn
    # the mp4 of the run carries its workflow: dropped on an empty canvas, the same graph comes back,
    # with the same drawing in the editor
    assert sorted(result["restored_types"]) == sorted(n["type"] for n in result["workflow"]["nodes"])
    assert result["restored_state"] == result["state_before_drop"] == result["state"]
