"""Fixtures of the real-ComfyUI integration layer (see docs/testing.md).

One ComfyUI server per test session: ``scripts/comfyui_env.sh`` prepares (or finds cached)
ComfyUI 0.3.75 with the pack linked into ``custom_nodes/``; the server runs on a free port of
127.0.0.1 with its own input/output/temp folders and is stopped by its process-group id in the
fixture finaliser, also when a test fails. Its log is kept at ``tests/artifacts/comfyui.log``.
Measured times (set-up, server start, each check) are written to
``tests/artifacts/integration_timings.json`` and printed at the end of the run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from comfy_server import REPO, TIMINGS, ComfyClient, ComfyServer, ensure_env

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def comfy_dir() -> Path:
    """The cached ComfyUI folder (set up on first use; a warm run only checks versions)."""
    t0 = time.monotonic()
    path = ensure_env()
    TIMINGS["setup (scripts/comfyui_env.sh)"] = time.monotonic() - t0
    return path


@pytest.fixture(scope="session")
def comfy_server(comfy_dir: Path, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A running ComfyUI with the pack loaded; yields a :class:`ComfyClient`."""
    server = ComfyServer(
        comfy_dir=comfy_dir,
        root=tmp_path_factory.mktemp("comfyui"),
        log_path=artifacts_dir / "comfyui.log",
    )
    server.start()
    TIMINGS["server start (until /system_stats answers)"] = server.start_seconds
    try:
        yield ComfyClient(server)
    finally:
        server.stop()


def _write_random_generator(path: Path, config: str, seed: int) -> None:
    import torch

    from kinesonic.models import KinesonicModel, micro_config, save_checkpoint, tiny_config

    cfg = tiny_config() if config == "tiny" else micro_config()
    with torch.random.fork_rng():  # leave the global RNG of the test process as it was
        torch.manual_seed(seed)
        model = KinesonicModel(cfg)
    save_checkpoint(model, path)


@pytest.fixture(scope="session")
def micro_checkpoint(comfy_server) -> str:
    """A tiny random generator written by the real checkpoint writer into the server's models/kinesonic.

    Returns its file name (what the 'Load Generator' combo lists and a workflow selects).
    """
    path = comfy_server.server.models_dir / "kinesonic" / "itest_micro.safetensors"
    if not path.is_file():
        _write_random_generator(path, "micro", 1234)
    return path.name


@pytest.fixture(scope="session")
def workflow_models(comfy_server, micro_checkpoint) -> dict[str, str]:
    """Stand-ins for generator checkpoints the workflows select but the pack does not ship.

    Every ``*.safetensors`` value of an input named ``model_name`` in workflows/*.json must be
    found by the server; one that is neither in the pack's checkpoints/kinesonic nor here is
    written with random weights (the tiny config when its name says "tiny", else micro) by the
    real writer. Returns {file name: "shipped" | "random stand-in"} for the record.
    """
    from kinesonic.runner import load_workflow

    found: dict[str, str] = {}
    models = comfy_server.server.models_dir / "kinesonic"
    for workflow in sorted((REPO / "workflows").glob("*.json")):
        for node in load_workflow(workflow).values():
            name = node["inputs"].get("model_name")
            if not isinstance(name, str) or not name.endswith(".safetensors") or name in found:
                continue
            if (REPO / "checkpoints" / "kinesonic" / name).is_file():
                found[name] = "shipped"
                continue
            if not (models / name).is_file():
                _write_random_generator(models / name, "tiny" if "tiny" in name else "micro", 99)
            found[name] = "random stand-in"
    return found


@pytest.fixture
def runner_sees_server_folders(comfy_server, workflow_models, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runner looks at the server's input and model folders (combos agree)."""
    monkeypatch.setenv("KINESONIC_INPUT", str(comfy_server.server.input_dir))
    monkeypatch.setenv("KINESONIC_MODELS", str(comfy_server.server.models_dir))


@pytest.fixture(scope="module", autouse=True)
def _time_check(request: pytest.FixtureRequest):
    """Wall time of each check (one test module, its own fixtures included; server set-up excluded)."""
    t0 = time.monotonic()
    yield
    TIMINGS[f"check {request.module.__name__.rsplit('.', 1)[-1]}"] = time.monotonic() - t0


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not TIMINGS:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "integration_timings.json").write_text(
        json.dumps({k: round(v, 2) for k, v in TIMINGS.items()}, indent=1)
    )


def pytest_terminal_summary(terminalreporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("real ComfyUI: measured times")
    for name, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{seconds:8.2f} s  {name}")
