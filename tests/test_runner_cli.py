"""``kinesonic run / validate / nodes`` with the pack's own nodes: listings and clear errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kinesonic.nodes import NODE_CLASS_MAPPINGS
from kinesonic.runner import commands, object_info
from kinesonic.runner.cli import main as real_main

DATA = Path(__file__).resolve().parent / "data"


def main(argv: list[str]) -> int:
    """``kinesonic`` with only the runner's subcommands (isolated from other areas' commands)."""
    parser = argparse.ArgumentParser(prog="kinesonic")
    commands.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_nodes_lists_every_node_with_its_inputs(capsys):
    assert real_main(["nodes"]) == 0  # through the real `kinesonic` entry point
    text = capsys.readouterr().out
    assert NODE_CLASS_MAPPINGS, "the pack registers no nodes"
    for name, cls in NODE_CLASS_MAPPINGS.items():
        assert name in text
        for section in ("required", "optional"):
            for input_name in cls.INPUT_TYPES().get(section, {}):
                assert f"in  {input_name}:" in text, (name, input_name)


def test_nodes_json_is_object_info(capsys):
    assert main(["nodes", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == json.loads(json.dumps(object_info()))
    assert set(listed) == set(NODE_CLASS_MAPPINGS)


def test_nodes_unknown_name(capsys):
    assert main(["nodes", "NoSuchNode"]) == 1
    assert "unknown node type(s): NoSuchNode" in capsys.readouterr().err


def test_missing_workflow_file(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["run", str(missing), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"workflow file not found: {missing}" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_corrupt_json_names_line_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [\n  {"id": 1,\n   "type": }\n]}\n')
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "invalid JSON at line 3, column 12" in err and "Traceback" not in err


def test_json_that_is_no_workflow(tmp_path, capsys):
    other = tmp_path / "list.json"
    other.write_text("[1, 2, 3]")
    assert main(["run", str(other)]) == 1
    assert "not a ComfyUI workflow" in capsys.readouterr().err


def test_cycle_is_reported_without_running(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(DATA / "api_workflows" / "cycle.json"), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "dependency cycle: #2 'Save' -> #1 'Load' -> #2 'Save'" in err
    assert not out.exists() or list(out.rglob("*")) == []


def test_validate_reports_all_errors_and_unknown_core_nodes(tmp_path, capsys):
    prompt = json.loads((DATA / "api_workflows" / "cycle.json").read_text())
    prompt["1"]["inputs"]["path"] = "clip.mp4"  # break the cycle
    prompt["1"]["inputs"]["max_frames"] = -1
    prompt["2"]["inputs"]["duration_from"] = "sideways"
    prompt["3"] = {"class_type": "KSampler", "inputs": {}}
    path = tmp_path / "api.json"
    path.write_text(json.dumps(prompt))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "workflow is invalid (3 errors)" in err
    assert "node #1 'Load' (KinesonicLoadVideo), input 'max_frames'" in err
    assert "input 'duration_from'" in err and "'sideways'" in err
    assert "unknown node type 'KSampler'" in err and "--server" in err


def test_set_override_is_validated(tmp_path, capsys):
    prompt = json.loads((DATA / "api_workflows" / "cycle.json").read_text())
    prompt["1"]["inputs"]["path"] = "clip.mp4"
    path = tmp_path / "api.json"
    path.write_text(json.dumps(prompt))
    assert main(["validate", str(path)]) == 0
    assert "valid (2 node(s), 2 would run, output node(s): #2)" in capsys.readouterr().out
    assert main(["validate", str(path), "--set", "Save.crf=99"]) == 1
    assert "input 'crf': value 99 is bigger than the maximum 51" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.json"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "WorkflowFormatError" in err


def test_print_api_is_the_converted_prompt(capsys):
    from kinesonic.runner import load_workflow

    hello = Path(__file__).resolve().parent.parent / "workflows" / "hello_sounding_video.json"
    assert main(["validate", str(hello), "--print-api"]) == 0
    assert json.loads(capsys.readouterr().out) == load_workflow(hello)


def test_threads_option_sets_torchs_threads_and_refuses_negatives(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    try:
        # the run itself fails (no such file) after the thread count is set
        assert main(["run", str(tmp_path / "nope.json"), "--threads", str(want)]) == 1
        assert torch.get_num_threads() == want
    finally:
        torch.set_num_threads(before)
    for bad in ("-1", "100000"):
        with pytest.raises(SystemExit) as exit_info:
            main(["run", str(tmp_path / "nope.json"), "--threads", bad])
        assert exit_info.value.code == 2
        assert (
            f"--threads: must be 0 (torch's choice) or 1..{commands.MAX_THREADS}" in capsys.readouterr().err
        )
