"""Kinesonic/Tracks extraction nodes run headless: outputs, progress, cancel, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from perception_synth import background, moving_objects_clip

from kinesonic.nodes import NODE_CLASS_MAPPINGS, bridge
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.extract import (
    KinesonicExtractTracks,
    KinesonicFilterTracks,
    KinesonicSegmentFirstFrame,
    KinesonicTrackPoints,
)


def _images(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames.astype(np.float32) / 255.0)


@pytest.fixture(scope="module")
def clip():
    return moving_objects_clip(seed=21, width=128, height=96, frames=16, n_moving=3, n_static=1)


def test_nodes_are_registered_with_kinesonic_keys_and_category():
    for key in (
        "KinesonicSegmentFirstFrame",
        "KinesonicTrackPoints",
        "KinesonicFilterTracks",
        "KinesonicExtractTracks",
    ):
        cls = NODE_CLASS_MAPPINGS[key]
        assert cls.CATEGORY == "Kinesonic/Tracks"
        spec = cls.INPUT_TYPES()
        assert "required" in spec
    combos = KinesonicExtractTracks.INPUT_TYPES()["optional"]
    assert combos["sam2_model"][0][0] == "none" and combos["cotracker_model"][0][0] == "none"


def test_extract_node_returns_tracks_masks_preview(clip):
    tracks, masks, preview = KinesonicExtractTracks().run(
        _images(clip.frames), 16.0, "classic", "lk", 12, 0.25, 3.0, 4.0
    )
    path, vis = tracks["track_path"], tracks["track_visibility"]
    assert isinstance(path, torch.Tensor) and path.shape == (16, 3, 2) and vis.shape == (16, 3)
    assert (tracks["width"], tracks["height"], tracks["fps"]) == (128, 96, 16.0)
    assert len(tracks["labels"]) == 3
    assert masks.shape == (3, 96, 128) and preview.shape == (1, 96, 128, 3)
    for n in range(3):  # each true moving object is matched by a track within 1 px (median)
        d = np.linalg.norm(path[0].numpy() - clip.centres[0, n], axis=1)
        k = int(d.argmin())
        err = np.linalg.norm(path[:, k].numpy() - clip.centres[:, n], axis=1)
        assert np.median(err) < 1.0


def test_progress_is_reported_and_cancel_stops_the_node(clip, monkeypatch):
    calls = []

    def interrupted():
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt("cancelled")  # ComfyUI raises its own interruption exception

    monkeypatch.setattr(bridge, "check_interrupted", interrupted)
    with pytest.raises(KeyboardInterrupt):
        KinesonicExtractTracks().run(_images(clip.frames), 16.0, "classic", "lk", 12, 0.25, 3.0, 4.0)
    assert len(calls) == 6  # stopped at the first check after the limit, mid-run


def test_segment_then_track_then_filter(clip):
    masks, preview = KinesonicSegmentFirstFrame().run(_images(clip.frames), "classic", 0.0, 12)
    assert masks.shape == (3, 96, 128) and preview.shape == (1, 96, 128, 3)
    (tracks,) = KinesonicTrackPoints().run(_images(clip.frames), "lk", 16.0, True, masks=masks)
    assert tracks["track_path"].shape == (16, 3, 2)
    filtered, report = KinesonicFilterTracks().run(tracks, 0.25, 3.0, 4.0)
    assert filtered["track_path"].shape == (16, 3, 2) and report.startswith("kept 3/3")
    with pytest.raises(NodeInputError, match="at least one track"):
        KinesonicFilterTracks().run(tracks, 0.25, 1000.0, 4.0)


def test_track_node_with_query_points_and_plain_lk():
    rng = np.random.default_rng(5)
    frames = np.repeat(rng.integers(0, 60, size=(1, 64, 80, 3)).astype(np.uint8), 6, axis=0)
    patch = rng.integers(120, 255, size=(12, 12, 3)).astype(np.uint8)
    for t in range(6):
        frames[t, 20 + t : 32 + t, 10 + 2 * t : 22 + 2 * t] = patch  # moves (+2, +1) px per frame
    points = json.dumps([{"x": 15.5, "y": 25.5}])
    (tracks,) = KinesonicTrackPoints().run(_images(frames), "lk", 8.0, True, query_points=points)
    expected = np.stack([15.5 + 2 * np.arange(6), 25.5 + np.arange(6)], axis=1)
    np.testing.assert_allclose(tracks["track_path"][:, 0].numpy(), expected, atol=0.3)


def test_bad_clips_give_clear_node_errors(clip):
    node = KinesonicExtractTracks()
    with pytest.raises(NodeInputError, match=r"\[Extract Tracks\] input 'images'.*at least 2 frames"):
        node.run(_images(clip.frames[:1]), 16.0, "classic", "lk", 12, 0.25, 3.0, 4.0)
    still = np.repeat(background(48, 64)[None].astype(np.uint8), 6, axis=0)
    with pytest.raises(NodeInputError, match="no motion"):
        node.run(_images(still), 16.0, "classic", "lk", 12, 0.25, 3.0, 4.0)
    with pytest.raises(NodeInputError, match="masks or query_points"):
        KinesonicTrackPoints().run(_images(clip.frames), "lk", 16.0, True)
