"""In-process execution: order, per-run caching, list mapping, hidden inputs, errors, overrides."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kinesonic.nodes import bridge
from kinesonic.runner import (
    NodeExecutionError,
    RunnerError,
    ValidationFailed,
    apply_overrides,
    execute,
    load_workflow,
)

DATA = Path(__file__).resolve().parent / "data"
CALLS: list[tuple] = []
MODES: list[bool] = []  # torch.is_inference_mode_enabled() seen inside FakeSource.run


class FakeSource:
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE", "INT")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 1, "min": 0, "max": 100})}}

    def run(self, value):
        import torch

        CALLS.append(("source", value))
        MODES.append(torch.is_inference_mode_enabled())
        return (f"img{value}", value)


class FakeFilter:
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"image": ("IMAGE",), "gain": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0})},
        }

    def run(self, image, gain):
        CALLS.append(("filter", image, gain))
        if gain == 0.0:
            raise ValueError("gain 0 would erase the picture")
        return (f"{image}*{gain}",)


class FakeSave:
    """Writes ``<output>/<prefix>.txt`` through a temporary file, like the real save nodes."""

    CATEGORY = "Test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"image": ("IMAGE",), "prefix": ("STRING", {"default": "out"})},
            "hidden": {"unique_id": "UNIQUE_ID", "prompt": "PROMPT"},
        }

    def run(self, image, prefix, unique_id=None, prompt=None):
        CALLS.append(("save", image, prefix, unique_id, sorted(prompt)))
        folder = bridge.output_dir()
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{prefix}.tmp"
        temp.write_text(str(image))
        os.replace(temp, folder / f"{prefix}.txt")
        entry = {"filename": f"{prefix}.txt", "subfolder": "", "type": "output"}
        return {"ui": {"files": [entry]}, "result": ()}


class FakeList:
    """Emits a list of three images (OUTPUT_IS_LIST)."""

    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"n": ("INT", {"default": 3, "min": 1, "max": 10})}}

    def run(self, n):
        return ([f"item{i}" for i in range(n)],)


class FakeJoin:
    """Takes the whole list at once (INPUT_IS_LIST) and is an output node."""

    CATEGORY = "Test"
    RETURN_TYPES = ("STRING",)
    INPUT_IS_LIST = True
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",), "sep": ("STRING", {"default": "+"})}}

    def run(self, images, sep):
        CALLS.append(("join", list(images), list(sep)))
        return {"ui": {"text": [sep[0].join(images)]}, "result": (sep[0].join(images),)}


NODES = {c.__name__: c for c in (FakeSource, FakeFilter, FakeSave, FakeList, FakeJoin)}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def chain() -> dict:
    return load_workflow(DATA / "api_workflows" / "fake_chain.json", NODES)


def test_dependency_order_caching_and_unused_nodes(tmp_path, capsys):
    result = execute(chain(), NODES, output_dir=tmp_path)
    # the source feeds two filters but runs once; the unused filter #6 never runs
    assert [c[0] for c in CALLS].count("source") == 1
    assert ("filter", "img3", 9.0) not in CALLS
    assert result.order == ["1", "2", "3", "4", "5"]
    assert (tmp_path / "a.txt").read_text() == "img3*2.0"
    assert (tmp_path / "b.txt").read_text() == "img3*0.5"
    assert result.files == [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert result.value("2") == "img3*2.0"
    assert result.ui("4") == {"files": [{"filename": "a.txt", "subfolder": "", "type": "output"}]}
    # hidden inputs: the node's own id and the whole prompt
    saves = [c for c in CALLS if c[0] == "save"]
    assert [(c[3], c[4]) for c in saves] == [("4", ["1", "2", "3", "4", "5", "6"])] * 1 + [
        ("5", ["1", "2", "3", "4", "5", "6"])
    ]
    # nodes run under torch.inference_mode(), as in ComfyUI
    assert MODES[-1] is True
    # one progress line per node on stderr, naming id and title
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 5 and lines[1].startswith("[2/5] #2 Filter A (FakeFilter)")
    # the output folder override is undone after the run
    assert bridge.output_dir() != tmp_path.resolve()
    assert not list(tmp_path.glob(".*.tmp"))


def test_list_outputs_map_over_nodes_and_input_is_list():
    prompt = {
        "1": {"class_type": "FakeList", "inputs": {"n": 3}},
        "2": {"class_type": "FakeFilter", "inputs": {"image": ["1", 0], "gain": 2.0}},
        "3": {"class_type": "FakeJoin", "inputs": {"images": ["2", 0], "sep": "|"}},
    }
    result = execute(prompt, NODES, progress=False)
    # the filter is called once per list item; the join gets the whole list at once
    assert [c for c in CALLS if c[0] == "filter"] == [("filter", f"item{i}", 2.0) for i in range(3)]
    assert CALLS[-1] == ("join", ["item0*2.0", "item1*2.0", "item2*2.0"], ["|"])
    assert result.value("3") == "item0*2.0|item1*2.0|item2*2.0"
    assert result.outputs["2"]["result"] == [["item0*2.0", "item1*2.0", "item2*2.0"]]


def test_node_error_names_the_node_and_keeps_the_message(tmp_path):
    prompt = chain()
    prompt["3"]["inputs"]["gain"] = 0.0
    with pytest.raises(NodeExecutionError) as caught:
        execute(prompt, NODES, output_dir=tmp_path, progress=False)
    assert str(caught.value) == "node #3 'Filter B' (FakeFilter): gain 0 would erase the picture"
    assert isinstance(caught.value.original, ValueError)
    # the run stopped at #3 (order 1, 2, 3, ...): no save ran, no file was written
    assert [c[0] for c in CALLS] == ["source", "filter", "filter"]
    assert list(tmp_path.iterdir()) == []


def test_validation_runs_first_and_nothing_executes(tmp_path):
    prompt = chain()
    prompt["2"]["inputs"]["gain"] = 11.0
    prompt["5"]["inputs"]["image"] = ["9", 0]
    with pytest.raises(ValidationFailed) as caught:
        execute(prompt, NODES, output_dir=tmp_path)
    assert [(e.node_id, e.input) for e in caught.value.errors] == [("2", "gain"), ("5", "image")]
    assert "2 errors" in str(caught.value)
    assert CALLS == [] and list(tmp_path.iterdir()) == []


def test_partial_runs_only_valid_outputs_like_comfyui(tmp_path, capsys):
    prompt = chain()
    prompt["3"]["inputs"]["gain"] = 20.0  # above max: only output #5 depends on #3
    with pytest.raises(ValidationFailed):
        execute(prompt, NODES, output_dir=tmp_path, progress=False)
    assert CALLS == []
    result = execute(prompt, NODES, output_dir=tmp_path, partial=True)
    assert result.order == ["1", "2", "4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert "skipping invalid outputs (1 error)" in capsys.readouterr().err


def test_overrides_by_id_and_title():
    prompt = apply_overrides(chain(), ["1.value=7", "Filter B.gain=0.25", "Save A.prefix=x.y"], NODES)
    assert prompt["1"]["inputs"]["value"] == 7
    assert prompt["3"]["inputs"]["gain"] == 0.25
    assert prompt["4"]["inputs"]["prefix"] == "x.y"  # not JSON: kept as a string
    assert chain()["1"]["inputs"]["value"] == 3  # the original is untouched
    result = execute(prompt, NODES, progress=False)
    assert result.value("3") == "img7*0.25"


def test_bad_overrides():
    with pytest.raises(RunnerError, match="expected NODE.INPUT=VALUE"):
        apply_overrides(chain(), ["1.value"], NODES)
    with pytest.raises(RunnerError, match="no node with id or title 'Nope'"):
        apply_overrides(chain(), ["Nope.value=1"], NODES)
    with pytest.raises(RunnerError, match=r"has no input 'gian' \(inputs: image, gain\)"):
        apply_overrides(chain(), ["2.gian=1"], NODES)
    prompt = chain()
    prompt["3"]["_meta"]["title"] = "Filter A"
    with pytest.raises(RunnerError, match="#2, #3 are all titled 'Filter A'"):
        apply_overrides(prompt, ["Filter A.gain=1"], NODES)
    # a value of the wrong type is caught by validation, like any other value
    with pytest.raises(ValidationFailed, match="input 'value': cannot convert 'many' to INT"):
        execute(apply_overrides(chain(), ["1.value=many"], NODES), NODES)


def test_cycle_is_refused_before_running(tmp_path):
    prompt = chain()
    prompt["1"] = {"class_type": "FakeFilter", "inputs": {"image": ["2", 0], "gain": 1.0}}
    with pytest.raises(ValidationFailed, match="dependency cycle"):
        execute(prompt, NODES, output_dir=tmp_path)
    assert CALLS == []


def test_ui_workflow_runs_end_to_end(tmp_path):
    ui = json.loads((DATA / "ui_workflows" / "reroute.json").read_text())
    ui["nodes"][3]["type"] = "FakeSave"
    result = execute(load_workflow(ui, NODES), NODES, output_dir=tmp_path, progress=False)
    assert (tmp_path / "rr.txt").read_text() == "img5"
    assert result.files == [tmp_path / "rr.txt"]
