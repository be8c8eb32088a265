"""Check 1: the pack registers in a real ComfyUI exactly as `kinesonic nodes` describes it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from comfy_server import PACK_NAME, REPO

from kinesonic import NODE_CLASS_MAPPINGS

pytestmark = pytest.mark.integration

# What a node takes and gives: must be identical between the server and `kinesonic nodes`.
IO_KEYS = ("input", "input_order", "output", "output_name", "output_is_list", "output_node")
# What a person reads in the node library: must be identical too.
TEXT_KEYS = ("display_name", "category", "description", "output_tooltips")


@pytest.fixture(scope="module")
def both_object_infos(comfy_server, micro_checkpoint, workflow_models):
    """(/object_info of the server, `kinesonic nodes --json` seeing the same input/model folders).

    A few media files are put into the server's input folder first (and a generator checkpoint
    into its models/kinesonic), so combo inputs that list files are compared with real entries,
    not only with their placeholders.
    """
    server = comfy_server.server
    for name in ("hello.png", "hello.wav"):
        source = REPO / "assets" / name
        if source.is_file():
            shutil.copy(source, server.input_dir / f"registration_{name}")
    remote = comfy_server.get_json("/object_info")
    env = dict(
        os.environ,
        KINESONIC_INPUT=str(server.input_dir),
        KINESONIC_MODELS=str(server.models_dir),
        KINESONIC_OUTPUT=str(server.output_dir),
    )
    done = subprocess.run(
        [sys.executable, "-m", "kinesonic.runner.cli", "nodes", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"`kinesonic nodes --json` failed:\n{done.stderr}"
    return remote, json.loads(done.stdout)


def test_pack_imported_without_failure(comfy_server):
    log = comfy_server.server.log_text()
    pack_path = f"custom_nodes/{PACK_NAME}"
    failed = [line for line in log.splitlines() if "IMPORT FAILED" in line and PACK_NAME in line.lower()]
    assert not failed, "ComfyUI could not import the pack:\n" + "\n".join(failed)
    # Positive evidence that it was loaded at all: the import-time list names the pack folder.
    loaded = re.findall(rf"^\s*[\d.]+ seconds: .*{re.escape(pack_path)}$", log, flags=re.M)
    assert loaded, f"the server log does not list {pack_path} among the loaded custom nodes"


def test_every_node_is_registered(both_object_infos):
    remote, local = both_object_infos
    assert NODE_CLASS_MAPPINGS, "the pack exports no nodes"
    assert sorted(local) == sorted(NODE_CLASS_MAPPINGS)
    missing = sorted(set(NODE_CLASS_MAPPINGS) - set(remote))
    assert not missing, f"/object_info lacks these pack nodes: {missing}"
    for name in NODE_CLASS_MAPPINGS:
        assert remote[name]["python_module"] == f"custom_nodes.{PACK_NAME}", name


@pytest.mark.parametrize("node", sorted(NODE_CLASS_MAPPINGS))
def test_inputs_and_outputs_match_kinesonic_nodes(both_object_infos, node):
    remote, local = both_object_infos
    assert node in remote, f"{node} is not in the server's /object_info"
    diff = {
        key: {"server": remote[node].get(key), "kinesonic nodes": local[node].get(key)}
        for key in IO_KEYS
        if remote[node].get(key) != local[node].get(key)
    }
    assert not diff, f"{node}: /object_info and `kinesonic nodes` differ:\n{json.dumps(diff, indent=1)}"


@pytest.mark.parametrize("node", sorted(NODE_CLASS_MAPPINGS))
def test_library_text_matches_kinesonic_nodes(both_object_infos, node):
    remote, local = both_object_infos
    assert node in remote, f"{node} is not in the server's /object_info"
    for key in TEXT_KEYS:
        assert remote[node].get(key) == local[node].get(key), f"{node}.{key}"


def test_input_file_combos_see_the_server_input_folder(both_object_infos):
    """Combo widgets listing input files show the files ComfyUI's input folder holds."""
    remote, _ = both_object_infos
    listed = set()
    for name in NODE_CLASS_MAPPINGS:
        for section in remote[name]["input"].values():
            for spec in section.values():
                if isinstance(spec[0], list):
                    listed.update(v for v in spec[0] if isinstance(v, str))
    if not (REPO / "assets" / "hello.png").is_file():
        pytest.fail("assets/hello.png is missing (the media nodes' demo asset)")
    assert "registration_hello.png" in listed, "no combo lists the image put into ComfyUI's input folder"


def test_model_combo_sees_the_extra_model_path(both_object_infos, micro_checkpoint):
    """models/kinesonic comes from extra_model_paths.yaml (as a user's would); the combo lists its file."""
    remote, local = both_object_infos
    if "KinesonicLoadGenerator" not in remote:
        pytest.fail("KinesonicLoadGenerator is not registered")
    options = remote["KinesonicLoadGenerator"]["input"]["required"]["model_name"][0]
    assert micro_checkpoint in options
    assert options == local["KinesonicLoadGenerator"]["input"]["required"]["model_name"][0]
