"""UI-format -> API-format conversion and prompt validation, on hand-written workflow files.

The node classes are small fakes defined here, so the expected API prompts are known exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinesonic.runner import (
    WorkflowError,
    WorkflowFormatError,
    load_workflow,
    object_info,
    ui_to_api,
    validate_prompt,
)

DATA = Path(__file__).resolve().parent / "data"
UI = DATA / "ui_workflows"


class FakeSource:
    DISPLAY_NAME = "Fake Source"
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE", "INT")
    RETURN_NAMES = ("image", "value")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 1, "min": 0, "max": 100})}}

    def run(self, value):
        return (f"img{value}", value)


class FakeMaskSource:
    CATEGORY = "Test"
    RETURN_TYPES = ("MASK",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        return ("mask",)


class FakeFilter:
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"image": ("IMAGE",), "gain": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0})},
            "optional": {"mask": ("MASK",)},
        }

    def run(self, image, gain, mask=None):
        return (f"{image}*{gain}",)


class FakeSampler:
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE", "INT")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE",),
                "seed": ("INT", {"default": 0, "min": 0, "max": 2**32 - 1}),
                "steps": ("INT", {"default": 20, "min": 1, "max": 100}),
                "cfg": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 30.0}),
                "mode": (["a", "b", "c"], {"default": "a", "control_after_generate": True}),
                "label": ("STRING", {"default": "", "multiline": True}),
            },
            "optional": {
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}),
                "count": ("INT", {"forceInput": True}),
            },
        }

    def run(self, image, seed, steps, cfg, mode, label, strength=1.0, count=None):
        return (image, seed)


class FakeSave:
    CATEGORY = "Test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"image": ("IMAGE",), "prefix": ("STRING", {"default": "out"})},
            "optional": {"extra": ("INT", {"forceInput": True})},
        }

    def run(self, image, prefix, extra=None):
        return {"ui": {"text": [f"{prefix}:{image}"]}, "result": ()}


class FakeChecked:
    """A node with its own VALIDATE_INPUTS: 'width' must be even."""

    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"width": ("INT", {"default": 2, "min": 0, "max": 64})}}

    @classmethod
    def VALIDATE_INPUTS(cls, width):
        return True if width % 2 == 0 else f"width must be even, got {width}"

    def run(self, width):
        return (width,)


class FakePair:
    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE", "IMAGE")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"a": ("IMAGE",), "b": ("IMAGE",)}}

    def run(self, a, b):
        return (a, b)


class FakeUpload:
    """A combo with an upload button (which stores a value after the required widgets)."""

    CATEGORY = "Test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": (["a.png", "b.png"], {"image_upload": True}),
                "strength": ("FLOAT", {"default": 1.0}),
            },
            "optional": {"count": ("INT", {"default": 1})},
        }

    def run(self, image, strength, count=1):
        return (image,)


NODES = {
    "FakePair": FakePair,
    "FakeUpload": FakeUpload,
    "FakeSource": FakeSource,
    "FakeMaskSource": FakeMaskSource,
    "FakeFilter": FakeFilter,
    "FakeSampler": FakeSampler,
    "FakeSave": FakeSave,
    "FakeChecked": FakeChecked,
}


def convert(name: str, warnings: list[str] | None = None) -> dict:
    return ui_to_api(json.loads((UI / name).read_text()), NODES, warnings=warnings)


# --------------------------------------------------------------------------- conversion


def test_positional_widgets_skip_control_values_and_drop_notes():
    warnings: list[str] = []
    api = convert("widgets_and_notes.json", warnings)
    assert api == {
        "1": {"inputs": {"value": 7}, "class_type": "FakeSource", "_meta": {"title": "Fake Source"}},
        "2": {
            "inputs": {
                "seed": 42,
                "steps": 20,
                "cfg": 7.5,
                "mode": "b",
                "label": "hello",
                "strength": 0.25,
                "image": ["1", 0],
            },
            "class_type": "FakeSampler",
            "_meta": {"title": "FakeSampler"},
        },
        "3": {
            "inputs": {"prefix": "out/test", "image": ["2", 0]},
            "class_type": "FakeSave",
            "_meta": {"title": "My Save"},
        },
    }
    assert warnings == []


def test_primitive_node_value_and_widget_converted_to_input():
    api = convert("primitive_and_converted.json")
    assert set(api) == {"1", "2", "3"}  # the PrimitiveNode itself is not a node of the prompt
    sampler = api["2"]["inputs"]
    assert sampler["seed"] == 123456  # the primitive's value, not the stale widget value 1
    assert sampler["steps"] == ["1", 1]  # converted widget fed by a real node's INT output
    assert sampler["cfg"] == 1.0 and sampler["mode"] == "a" and sampler["label"] == "x"
    assert api["1"]["inputs"] == {"value": 3}


def test_reroutes_are_followed_to_the_real_origin():
    api = convert("reroute.json")
    assert set(api) == {"1", "3"}
    assert api["3"]["inputs"] == {"prefix": "rr", "image": ["1", 0]}


def test_muted_and_bypassed_nodes():
    api = convert("muted_bypassed.json")
    # muted (2) and bypassed (4) nodes are not in the prompt
    assert set(api) == {"1", "3", "7", "9"}
    # the bypassed filter #2 passes its IMAGE input through to its IMAGE output
    assert api["3"]["inputs"]["image"] == ["1", 0]
    # the optional mask came from the muted node #6: the input is gone, with the reason noted
    assert "mask" not in api["3"]["inputs"]
    assert "muted" in api["3"]["_meta"]["dropped_inputs"]["mask"]
    # a required input from a muted node is dropped too (validation reports it)
    assert "image" not in api["9"]["inputs"]
    assert api["9"]["inputs"]["prefix"] == "never"


def test_widget_linked_to_a_muted_node_is_removed_like_in_the_frontend():
    ui = json.loads((UI / "primitive_and_converted.json").read_text())
    ui["nodes"][0]["mode"] = 2  # mute the source feeding 'image' and the converted widget 'steps'
    api = ui_to_api(ui, NODES)
    sampler = api["2"]["inputs"]
    assert "steps" not in sampler and "image" not in sampler  # not even the stored value 20
    assert sampler["seed"] == 123456
    errors = validate_prompt(api, NODES)
    missing = "required_input_missing"
    assert kinds(errors) == [("2", "image", missing), ("2", "steps", missing)]
    assert all("muted (mode 2)" in e.message for e in errors)


def test_bypass_picks_the_same_index_input_and_upload_slots_are_skipped():
    api = convert("bypass_rules.json")
    assert set(api) == {"1", "2", "4", "6", "7", "8"}
    # ComfyUI_frontend's rule: output k of a bypassed node gets input k when the types fit
    assert api["4"]["inputs"]["image"] == ["2", 0]
    assert api["8"]["inputs"]["image"] == ["1", 0]
    # a bypassed node with no MASK input cannot pass one through: the optional input is dropped
    assert "mask" not in api["4"]["inputs"]
    assert "bypassed (mode 4)" in api["4"]["_meta"]["dropped_inputs"]["mask"]
    # the upload button's value ("image") sits after the required widgets
    assert api["7"]["inputs"] == {"image": "b.png", "strength": 0.3, "count": 4}


def test_links_as_objects():
    ui = json.loads((UI / "reroute.json").read_text())
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    ui["links"] = [dict(zip(keys, link, strict=True)) for link in ui["links"]]
    assert ui_to_api(ui, NODES) == convert("reroute.json")


def test_widgets_values_as_dict():
    api = convert("dict_widgets.json")
    assert api["1"]["inputs"] == {"value": 9}
    assert api["2"]["inputs"] == {"prefix": "named", "image": ["1", 0]}


def test_missing_widget_values_take_defaults_with_a_warning():
    ui = json.loads((UI / "widgets_and_notes.json").read_text())
    ui["nodes"][1]["widgets_values"] = [5, "fixed", 30]  # an older save with fewer widgets
    warnings: list[str] = []
    api = ui_to_api(ui, NODES, warnings=warnings)
    inputs = api["2"]["inputs"]
    assert (inputs["seed"], inputs["steps"]) == (5, 30)
    assert (inputs["cfg"], inputs["mode"], inputs["strength"]) == (1.0, "a", 1.0)
    assert len(warnings) == 1 and "#2" in warnings[0]


def test_list_values_are_wrapped_like_the_frontend():
    ui = json.loads((UI / "dict_widgets.json").read_text())
    ui["nodes"][1]["widgets_values"] = {"prefix": ["a", "b"]}
    api = ui_to_api(ui, NODES)
    assert api["2"]["inputs"]["prefix"] == {"__value__": ["a", "b"]}


def test_subgraphs_are_reported_as_unsupported():
    with pytest.raises(WorkflowFormatError, match="subgraph"):
        convert("subgraph.json")


def test_load_workflow_reads_both_formats(tmp_path):
    api = load_workflow(UI / "reroute.json", NODES)
    assert api["3"]["inputs"]["image"] == ["1", 0]
    again = tmp_path / "api.json"
    again.write_text(json.dumps(api))
    assert load_workflow(again, NODES) == api
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"prompt": api, "client_id": "x"}))
    assert load_workflow(wrapped, NODES) == api


def test_load_workflow_bad_files(tmp_path):
    with pytest.raises(WorkflowFormatError, match="not found"):
        load_workflow(tmp_path / "missing.json", NODES)
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "1": {\n    "class_type": "FakeSource",,\n  }\n}\n')
    with pytest.raises(WorkflowFormatError, match=r"line 3, column 32"):
        load_workflow(bad, NODES)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": [1, 2]}))
    with pytest.raises(WorkflowFormatError, match="not a ComfyUI workflow.*'hello'"):
        load_workflow(other, NODES)


# --------------------------------------------------------------------------- validation


def good_prompt() -> dict:
    return {
        "1": {"class_type": "FakeSource", "inputs": {"value": 3}, "_meta": {"title": "Source"}},
        "2": {
            "class_type": "FakeSampler",
            "inputs": {"image": ["1", 0], "seed": 5, "steps": 10, "cfg": 2.0, "mode": "c", "label": "t"},
            "_meta": {"title": "Sampler"},
        },
        "3": {"class_type": "FakeSave", "inputs": {"image": ["2", 0], "prefix": "p"}},
    }


def kinds(errors: list[WorkflowError]) -> list[tuple]:
    return sorted((e.node_id, e.input, e.kind) for e in errors)


def test_valid_prompt_has_no_errors():
    assert validate_prompt(good_prompt(), NODES) == []


def test_every_error_is_reported_with_node_title_and_input():
    prompt = good_prompt()
    sampler = prompt["2"]["inputs"]
    sampler["steps"] = 0  # below min 1
    sampler["cfg"] = 99.0  # above max 30
    sampler["mode"] = "z"  # not in the combo
    sampler["seed"] = "abc"  # not an INT
    del sampler["label"]  # required widget missing
    prompt["3"]["inputs"]["extra"] = ["1", 0]  # IMAGE output into an INT input
    errors = validate_prompt(prompt, NODES)
    assert kinds(errors) == [
        ("2", "cfg", "value_bigger_than_max"),
        ("2", "label", "required_input_missing"),
        ("2", "mode", "value_not_in_list"),
        ("2", "seed", "invalid_input_type"),
        ("2", "steps", "value_smaller_than_min"),
        ("3", "extra", "return_type_mismatch"),
    ]
    by_input = {e.input: e for e in errors}
    assert str(by_input["steps"]) == (
        "node #2 'Sampler' (FakeSampler), input 'steps': value 0 is smaller than the minimum 1"
    )
    assert "'a', 'b', 'c'" in by_input["mode"].message
    assert "gives IMAGE" in by_input["extra"].message and "takes INT" in by_input["extra"].message


def test_link_errors():
    prompt = good_prompt()
    prompt["2"]["inputs"]["image"] = ["9", 0]  # no node 9
    prompt["3"]["inputs"]["extra"] = ["1", 5]  # FakeSource has 2 outputs
    errors = validate_prompt(prompt, NODES)
    assert kinds(errors) == [("2", "image", "bad_link"), ("3", "extra", "bad_link")]
    assert "#9" in errors[0].message or "#9" in errors[1].message
    assert any("has 2 output(s)" in e.message for e in errors)


def test_unknown_node_types():
    prompt = good_prompt()
    prompt["4"] = {"class_type": "KSampler", "inputs": {}}
    prompt["5"] = {"class_type": "FakeSampla", "inputs": {}}
    errors = validate_prompt(prompt, NODES)
    assert kinds(errors) == [("4", None, "unknown_node"), ("5", None, "unknown_node")]
    assert "--server" in errors[0].message
    assert "did you mean 'FakeSampler'" in errors[1].message


def test_required_input_from_muted_node_says_so():
    errors = validate_prompt(convert("muted_bypassed.json"), NODES)
    assert kinds(errors) == [("9", "image", "required_input_missing")]
    assert "'Save of muted'" in str(errors[0]) and "muted (mode 2)" in str(errors[0])


def test_no_output_node():
    prompt = good_prompt()
    del prompt["3"]
    errors = validate_prompt(prompt, NODES)
    assert [e.kind for e in errors] == ["prompt_no_outputs"]


def test_cycle_names_its_nodes():
    prompt = good_prompt()
    prompt["1"] = {"class_type": "FakeFilter", "inputs": {"image": ["2", 0], "gain": 1.0}}
    prompt["1"]["_meta"] = {"title": "Loop"}
    errors = validate_prompt(prompt, NODES)
    assert [e.kind for e in errors] == ["dependency_cycle"]
    assert "#2 'Sampler'" in errors[0].message and "#1 'Loop'" in errors[0].message


def test_nodes_not_needed_by_an_output_are_not_checked():
    prompt = good_prompt()
    prompt["7"] = {"class_type": "FakeFilter", "inputs": {"gain": 50.0}}  # broken but unused
    assert validate_prompt(prompt, NODES) == []


def test_validate_inputs_hook():
    prompt = good_prompt()
    prompt["4"] = {"class_type": "FakeChecked", "inputs": {"width": 3}, "_meta": {"title": "Even"}}
    prompt["5"] = {"class_type": "FakeSave", "inputs": {"image": ["4", 0], "prefix": "q"}}
    errors = validate_prompt(prompt, NODES)
    assert kinds(errors) == [("4", None, "custom_validation_failed")]
    assert "width must be even, got 3" in errors[0].message
    prompt["4"]["inputs"]["width"] = 4
    assert validate_prompt(prompt, NODES) == []


def test_object_info_shape():
    info = object_info(NODES)
    entry = info["FakeSampler"]
    assert entry["input_order"] == {
        "required": ["image", "seed", "steps", "cfg", "mode", "label"],
        "optional": ["strength", "count"],
    }
    assert entry["output"] == ["IMAGE", "INT"]
    assert entry["output_name"] == ["IMAGE", "INT"]
    assert entry["output_is_list"] == [False, False]
    assert entry["output_node"] is False and info["FakeSave"]["output_node"] is True
    assert entry["category"] == "Test" and entry["name"] == "FakeSampler"
    assert info["FakeSource"]["display_name"] == "Fake Source"
    json.dumps(info)  # serialisable like the server's answer
