"""Check 2b: bad values are rejected by ComfyUI's /prompt exactly where the runner's validator rejects them.

Every case is one API-format prompt (a workflow from workflows/ converted by the runner, then
spoiled). It is posted to the server and given to ``kinesonic.runner.validate_prompt``; both
must reach the same verdict (accept / reject), blame the same nodes and inputs, and name the same
error type. Two known differences of wording are translated, not ignored (see SERVER_NAME_OF).

Cases: out-of-range numbers and unknown combo values for every widget of every workflow (made
from the server's /object_info), plus hand-written structural cases on the hello workflow:
missing inputs, wrong types, wrong links, unknown node types, no output node, and coercions
ComfyUI accepts (a float or a numeric string for an INT).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from comfy_server import REPO

from kinesonic.runner import load_workflow, validate_prompt

pytestmark = pytest.mark.integration

WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))
HELLO = REPO / "workflows" / "hello_sounding_video.json"
NOT_AN_OPTION = "__kinesonic_not_an_option__"
HELLO_NODES = {"1": "KinesonicLoadImage", "2": "KinesonicLoadAudio", "3": "KinesonicSaveSoundingVideo"}

# Runner error kinds whose ComfyUI counterpart is spelled differently:
# - a link to a node that does not exist, or to an output slot it does not have: ComfyUI's
#   validator trips over it (KeyError / IndexError) and reports "exception_during_validation"
#   without an input name; the runner says which input holds the bad link.
SERVER_NAME_OF = {"bad_link": ("exception_during_validation", None)}
# Prompt-level errors (ComfyUI's top-level "error", empty node_errors) and the runner's kinds.
PROMPT_LEVEL = {"invalid_prompt": {"unknown_node"}, "prompt_no_outputs": {"prompt_no_outputs"}}


def _hello_case(name: str, spoil: Callable[[dict], object]) -> tuple[str, Callable[[], dict]]:
    def build() -> dict:
        prompt = load_workflow(HELLO)
        types = {k: v["class_type"] for k, v in prompt.items()}
        assert types == HELLO_NODES, f"{HELLO.name} changed ({types}): update these cases"
        spoil(prompt)
        return prompt

    return name, build


def _set(node: str, key: str, value) -> Callable[[dict], object]:
    return lambda p: p[node]["inputs"].__setitem__(key, value)


# On workflows/hello_sounding_video.json: 1 LoadImage -> 3 SaveSoundingVideo <- 2 LoadAudio.
STRUCTURAL = [
    _hello_case("required widget missing", lambda p: p["3"]["inputs"].pop("fps")),
    _hello_case("required link missing", lambda p: p["3"]["inputs"].pop("images")),
    _hello_case("text for an INT", _set("3", "crf", "nineteen")),
    _hello_case("AUDIO output into an IMAGE input", _set("3", "images", ["2", 0])),
    _hello_case("link to a missing node", _set("3", "images", ["99", 0])),
    _hello_case("link to a missing output slot", _set("3", "images", ["1", 7])),
    _hello_case("unknown node type", lambda p: p["1"].__setitem__("class_type", "KinesonicNoSuchNode")),
    _hello_case("no output node", lambda p: p.pop("3")),
    _hello_case(
        "two bad nodes at once", lambda p: (_set("3", "crf", 99)(p), _set("1", "file", NOT_AN_OPTION)(p))
    ),
    _hello_case("float for an INT (accepted)", _set("3", "crf", 19.0)),
    _hello_case("numeric text for an INT (accepted)", _set("3", "crf", "20")),
]


def _widget_cases(info: dict) -> list[tuple[str, dict]]:
    """Out-of-range and not-in-list values for every widget value of every workflow."""
    cases = []
    for path in WORKFLOWS:
        base = load_workflow(path)
        for node_id, node in base.items():
            spec = info[node["class_type"]]["input"]
            merged = {**spec.get("required", {}), **spec.get("optional", {})}
            for name, value in node["inputs"].items():
                if isinstance(value, list) or name not in merged:
                    continue  # a link, or an input the definition does not declare
                kind, options = merged[name][0], (merged[name][1] if len(merged[name]) > 1 else {})
                bad = []
                if kind in ("INT", "FLOAT"):
                    if options.get("max") is not None:
                        bad.append(("above max", options["max"] + 1))
                    if options.get("min") is not None:
                        bad.append(("below min", options["min"] - 1))
                elif isinstance(kind, list) or kind == "COMBO":
                    if not options.get("multi_select"):
                        bad.append(("not in list", NOT_AN_OPTION))
                for label, bad_value in bad:
                    prompt = copy.deepcopy(base)
                    prompt[node_id]["inputs"][name] = bad_value
                    cases.append((f"{path.stem}: {node['class_type']}.{name} {label}", prompt))
    return cases


def _server_verdict(comfy_server, prompt: dict) -> tuple[bool, set, str | None]:
    """(rejected, {(node, input, type)}, top-level error type) from POST /prompt."""
    status, body = comfy_server.post_prompt(prompt)
    if status == 200:
        entry = comfy_server.wait_history(body["prompt_id"], timeout=300)  # accepted: let it finish
        assert entry["status"]["status_str"] == "success", entry["status"]
        return False, set(), None
    assert status == 400, (status, body)
    blamed = {
        (node_id, err.get("extra_info", {}).get("input_name"), err["type"])
        for node_id, node_errors in body.get("node_errors", {}).items()
        for err in node_errors["errors"]
    }
    return True, blamed, body["error"]["type"]


def _runner_verdict(prompt: dict) -> tuple[bool, set, set]:
    """(rejected, {(node, input, type)} in ComfyUI's spelling, {prompt-level kinds})."""
    errors = validate_prompt(prompt)
    blamed, prompt_level = set(), set()
    for error in errors:
        kind, input_name = SERVER_NAME_OF.get(error.kind, (error.kind, error.input))
        if error.kind in {k for kinds in PROMPT_LEVEL.values() for k in kinds}:
            prompt_level.add(error.kind)
        else:
            blamed.add((error.node_id, input_name, kind))
    return bool(errors), blamed, prompt_level


def _same_verdict(comfy_server, prompt: dict) -> None:
    server_rejects, server_blamed, server_error = _server_verdict(comfy_server, prompt)
    runner_rejects, runner_blamed, runner_prompt_level = _runner_verdict(prompt)
    assert server_rejects == runner_rejects, (
        f"ComfyUI {'rejects' if server_rejects else 'accepts'} ({server_blamed or server_error}), "
        f"the runner {'rejects' if runner_rejects else 'accepts'} ({runner_blamed or runner_prompt_level})"
    )
    if not server_rejects:
        return
    if server_blamed:
        assert server_blamed == runner_blamed
    else:
        assert runner_prompt_level and runner_prompt_level <= PROMPT_LEVEL.get(server_error, set()), (
            f"ComfyUI: prompt-level {server_error!r}; runner: {runner_blamed or runner_prompt_level}"
        )


@pytest.mark.parametrize("build", [b for _, b in STRUCTURAL], ids=[n for n, _ in STRUCTURAL])
def test_structural_case_same_verdict(comfy_server, runner_sees_server_folders, build):
    _same_verdict(comfy_server, build())


def test_widget_values_same_verdict(comfy_server, runner_sees_server_folders):
    info = comfy_server.get_json("/object_info")
    cases = _widget_cases(info)
    assert len(cases) >= 5, f"only {len(cases)} widget cases: the workflows have too few widgets to test"
    failures = []
    for name, prompt in cases:
        try:
            _same_verdict(comfy_server, prompt)
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    assert not failures, f"{len(failures)} of {len(cases)} cases disagree:\n" + "\n".join(failures)
