"""Check 5: ComfyUI serves the pack's workflows/ as workflow templates."""

from __future__ import annotations

import json

import pytest
from comfy_server import PACK_NAME, REPO

pytestmark = pytest.mark.integration

WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))


def test_pack_has_workflows():
    assert WORKFLOWS, "workflows/ holds no *.json: nothing for ComfyUI to serve as templates"


def test_templates_index_lists_every_workflow(comfy_server):
    index = comfy_server.get_json("/api/workflow_templates")
    assert PACK_NAME in index, f"/api/workflow_templates has no entry for the pack: {sorted(index)}"
    assert sorted(index[PACK_NAME]) == sorted(p.stem for p in WORKFLOWS)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_template_file_is_served_unchanged(comfy_server, path):
    served = comfy_server.get_bytes(f"/api/workflow_templates/{PACK_NAME}/{path.name}")
    assert json.loads(served) == json.loads(path.read_text())


def test_unknown_template_is_404(comfy_server):
    status, _ = comfy_server.request("GET", f"/api/workflow_templates/{PACK_NAME}/no_such_workflow.json")
    assert status == 404


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_template_thumbnail_is_served(comfy_server, path):
    # The template browser shows /api/workflow_templates/<pack>/<name>.jpg for a pack's template.
    status, body = comfy_server.request("GET", f"/api/workflow_templates/{PACK_NAME}/{path.stem}.jpg")
    assert status == 200 and body[:3] == b"\xff\xd8\xff", f"no JPEG thumbnail for {path.name}"
