"""Save Sounding Video stores the prompt and the workflow in the mp4, as core SaveVideo does."""

from __future__ import annotations

import json

import torch

from kinesonic.nodes.media import KinesonicSaveSoundingVideo


def test_mp4_carries_prompt_and_workflow(tmp_path, monkeypatch):
    import av

    from kinesonic.nodes import bridge

    monkeypatch.setattr(bridge, "_output_override", tmp_path)
    prompt = {"1": {"class_type": "KinesonicSaveSoundingVideo", "inputs": {"fps": 8.0}}}
    workflow = {"nodes": [{"id": 1, "type": "KinesonicSaveSoundingVideo"}], "links": []}
    out = KinesonicSaveSoundingVideo().run(
        torch.rand(4, 16, 16, 3), 8.0, "meta/clip", prompt=prompt, extra_pnginfo={"workflow": workflow}
    )
    path = out["result"][0]
    with av.open(path) as container:
        meta = dict(container.metadata)
    assert json.loads(meta["prompt"]) == prompt and json.loads(meta["workflow"]) == workflow
    # without them (a script calling the node directly) there is nothing to store
    plain = KinesonicSaveSoundingVideo().run(torch.rand(4, 16, 16, 3), 8.0, "meta/plain")["result"][0]
    with av.open(plain) as container:
        assert "prompt" not in container.metadata and "workflow" not in container.metadata
