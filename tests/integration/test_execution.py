"""Check 2a: every workflow in workflows/ runs in ComfyUI over HTTP exactly like `kinesonic run`.

Each workflow file (UI format) is converted to API format by the runner, posted to /prompt and
followed over the websocket until ``execution_success``; the files its output nodes report in
/history are fetched through /view and compared with the files the same prompt writes when the
runner executes it in this process. Media are compared decoded (see comfy_compare.py); the
allowed difference is zero unless TOLERANCES says otherwise for a workflow, with the reason.
"""

from __future__ import annotations

import json

import pytest
from comfy_compare import EXACT, Tolerance, differences, ui_files
from comfy_server import REPO, for_prompt

from kinesonic.runner import execute, load_workflow

pytestmark = pytest.mark.integration

WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))

# Per workflow file name: allowed differences and why. Everything not listed must be identical.
TOLERANCES: dict[str, Tolerance] = {}

RUN_TIMEOUT = 600.0  # seconds for one workflow on a 2-core CPU machine


def _normalise(value):
    """JSON round trip: tuples become lists, as they do on their way through the server."""
    return json.loads(json.dumps(value, default=str))


def _without_names(ui: dict) -> dict:
    return {
        key: [{k: v for k, v in e.items() if k != "filename"} if isinstance(e, dict) else e for e in value]
        if isinstance(value, list)
        else value
        for key, value in ui.items()
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_workflow_runs_in_comfyui_like_kinesonic_run(
    comfy_server, micro_checkpoint, tmp_path, monkeypatch, path
):
    # The runner sees the server's input and model folders (so model/file combos agree).
    monkeypatch.setenv("KINESONIC_INPUT", str(comfy_server.server.input_dir))
    monkeypatch.setenv("KINESONIC_MODELS", str(comfy_server.server.models_dir))
    prompt = load_workflow(path)

    # --- in ComfyUI, over HTTP + websocket
    with comfy_server.websocket() as ws:
        prompt_id = comfy_server.queue(prompt, client_id=ws.client_id)
        _, end = ws.wait_for(
            for_prompt(prompt_id, "execution_success", "execution_error", "execution_interrupted"),
            timeout=RUN_TIMEOUT,
        )
    assert end["type"] == "execution_success", (
        f"{path.name} failed in ComfyUI: {json.dumps(end['data'], indent=1)[:4000]}"
    )
    entry = comfy_server.wait_history(prompt_id, timeout=60)
    assert entry["status"]["status_str"] == "success"
    server_outputs = entry["outputs"]

    # --- in this process, as `kinesonic run` does
    local_dir = tmp_path / "runner_output"
    result = execute(prompt, output_dir=local_dir, progress=False)
    local_outputs = {node_id: out["ui"] for node_id, out in result.outputs.items() if out.get("ui")}

    assert local_outputs, f"{path.name} produced no output in the runner: nothing to compare"
    assert sorted(server_outputs) == sorted(local_outputs), "different nodes reported outputs"

    tol = TOLERANCES.get(path.name, EXACT)
    problems: list[str] = []
    for node_id, local_ui in local_outputs.items():
        server_ui = server_outputs[node_id]
        local_ui = _normalise(local_ui)
        server_files, local_files = ui_files(server_ui), ui_files(local_ui)
        assert len(server_files) == len(local_files), f"node {node_id}: {server_files} vs {local_files}"
        # The whole ui dict but the file names (the server's output folder is shared by the session).
        assert _without_names(server_ui) == _without_names(local_ui), f"node {node_id}: ui differs"
        for remote, local in zip(server_files, local_files, strict=True):
            served = comfy_server.view(remote["filename"], remote["subfolder"], remote["type"])
            on_disk = (local_dir / local["subfolder"] / local["filename"]).read_bytes()
            assert served, f"/view returned an empty {remote['filename']}"
            problems += differences(remote["filename"], served, on_disk, tol)
    assert not problems, f"{path.name}: ComfyUI and `kinesonic run` outputs differ:\n" + "\n".join(problems)
