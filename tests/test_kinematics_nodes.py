"""Track and kinematics nodes called directly (headless), with known inputs."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch

from kinesonic.kinematics import KinematicStats, Tracks, kinematic_state
from kinesonic.nodes import NODE_CLASS_MAPPINGS
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.kinematics_nodes import (
    KinesonicEvents,
    KinesonicKinematicEncode,
    KinesonicKinematicsPlot,
)
from kinesonic.nodes.tracks import (
    KinesonicDrawTracks,
    KinesonicSaveTracks,
    KinesonicTracksFromCoordinates,
    KinesonicTracksFromJSON,
    KinesonicTracksToJSON,
)


def _line_tracks(T: int = 17, fps: float = 16.0) -> Tracks:
    t = np.arange(T) / fps
    a = np.stack([8 + 40 * t, 10 + 20 * t], -1)
    b = np.stack([56 - 30 * t, 40 + 0 * t], -1)
    return Tracks(np.stack([a, b], axis=1), np.ones((T, 2), bool), fps, 64, 48, ("a", "b"))


def test_nodes_are_registered_with_kinesonic_keys() -> None:
    for key in (
        "KinesonicTracksFromJSON",
        "KinesonicTracksFromCoordinates",
        "KinesonicTracksToJSON",
        "KinesonicSaveTracks",
        "KinesonicDrawTracks",
        "KinesonicKinematicEncode",
        "KinesonicKinematicsPlot",
        "KinesonicEvents",
    ):
        cls = NODE_CLASS_MAPPINGS[key]
        assert cls.CATEGORY.startswith("Kinesonic/")
        assert "required" in cls.INPUT_TYPES()


def test_json_nodes_round_trip() -> None:
    tr = _line_tracks()
    (socket,) = KinesonicTracksFromJSON().run(tr.to_json(), 16.0, 0, 0)
    assert isinstance(socket["track_path"], torch.Tensor) and socket["track_path"].shape == (17, 2, 2)
    assert socket["fps"] == 16.0 and socket["width"] == 64 and socket["labels"] == ["a", "b"]
    text, _coordinates = KinesonicTracksToJSON().run(socket)
    back = Tracks.from_json(text)
    np.testing.assert_allclose(back.points, tr.points.astype(np.float32))


def test_bad_json_raises_node_input_error_naming_node_and_input() -> None:
    with pytest.raises(NodeInputError, match=r"\[Tracks from JSON\] input 'json'.*not valid JSON"):
        KinesonicTracksFromJSON().run("{oops", 16.0, 0, 0)
    bad = _line_tracks().to_dict()
    bad["tracks"][0]["points"][2] = [float("nan"), 3.0]
    with pytest.raises(NodeInputError, match="input 'json'.*NaN"):
        KinesonicTracksFromJSON().run(json.dumps(bad), 16.0, 0, 0)
    with pytest.raises(NodeInputError, match=r"Coordinates\] input 'coordinates'"):
        KinesonicTracksFromCoordinates().run("[]", 16.0, 64, 64)


def test_coordinates_node() -> None:
    text = '[{"x": 1, "y": 2}, {"x": 3, "y": 4}]\n[{"x": 5, "y": 6}, {"x": 7, "y": 8}]'
    (socket,) = KinesonicTracksFromCoordinates().run(text, 8.0, 32, 16)
    np.testing.assert_allclose(socket["track_path"].numpy(), [[[1, 2], [5, 6]], [[3, 4], [7, 8]]])
    assert socket["width"] == 32 and socket["height"] == 16 and socket["fps"] == 8.0


def test_save_tracks_writes_atomically_numbered_files() -> None:
    from kinesonic.nodes import bridge

    socket = _line_tracks().to_comfy()
    out = KinesonicSaveTracks().run(socket, "runs/tracks")
    path = out["result"][0]
    assert out["ui"]["text"] == ["runs/tracks_00001.json"]  # relative to the output folder
    assert path.endswith("tracks_00001.json") and os.path.dirname(path).endswith("runs")
    assert os.path.commonpath([path, str(bridge.output_dir())]) == str(bridge.output_dir())
    assert Tracks.from_json(open(path, encoding="utf-8").read()).labels == ("a", "b")
    second = KinesonicSaveTracks().run(socket, "runs/tracks")["result"][0]
    assert second.endswith("tracks_00002.json")
    assert sorted(os.listdir(os.path.dirname(path))) == ["tracks_00001.json", "tracks_00002.json"]  # no temps
    with pytest.raises(NodeInputError, match="filename_prefix"):
        KinesonicSaveTracks().run(socket, "../escape")
    with pytest.raises(NodeInputError, match=r"Save Tracks\] input 'tracks'"):
        KinesonicSaveTracks().run({"nope": 1}, "x")


def test_draw_tracks_colours_the_path() -> None:
    tr = _line_tracks(T=9)
    image = torch.zeros(9, 48, 64, 3)
    (out,) = KinesonicDrawTracks().run(image, tr.to_comfy(as_torch=True), 2, 3, 0)
    assert out.shape == image.shape and out.dtype == torch.float32
    last = out[-1].numpy()
    for n in range(2):  # every point of the path so far is coloured (not black) in the last frame
        for x, y in tr.points[:, n]:
            patch = last[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2]
            assert patch.max() > 0.3
    # colours differ between the tracks and the first frame shows only the start points
    c0 = last[int(round(tr.points[-1, 0, 1])), int(round(tr.points[-1, 0, 0]))]
    c1 = last[int(round(tr.points[-1, 1, 1])), int(round(tr.points[-1, 1, 0]))]
    assert np.abs(c0 - c1).max() > 0.2
    first_lit = out[0].numpy().max(axis=-1) > 0.1
    end_x, end_y = tr.points[-1, 0]
    assert not first_lit[int(end_y), int(end_x)]
    # one image is repeated for all frames; a core TRACKS dict without size uses the image size
    core = {
        "track_path": torch.from_numpy(tr.points.astype(np.float32)),
        "track_visibility": torch.ones(9, 2),
    }
    (out1,) = KinesonicDrawTracks().run(torch.zeros(1, 48, 64, 3), core, 2, 3, 0)
    assert out1.shape == (9, 48, 64, 3)
    with pytest.raises(NodeInputError, match="input 'image'"):
        KinesonicDrawTracks().run(torch.zeros(4, 48, 64, 3), core, 2, 3, 0)


def test_encode_builds_kinematics_dict() -> None:
    tr = _line_tracks(T=17)
    (kin,) = KinesonicKinematicEncode().run(tr.to_comfy(as_torch=True), 4, "")
    assert kin["state"].shape == (5, 2, 8) and kin["state"].dtype == np.float32
    assert kin["features"].shape == (5, 2, 8) and kin["visible"].shape == (5, 2)
    assert kin["fps"] == 4.0 and kin["dt"] == 0.25 and kin["stride"] == 4 and kin["labels"] == ["a", "b"]
    # state = group means of the full-rate state: uniform motion keeps vx = 40 px/s / 64 px on every
    # latent frame (differentiating the aligned tracks instead would distort latent frames 0 and 1)
    np.testing.assert_allclose(kin["state"][:, 0, 2], 40 / 64, rtol=1e-5)
    np.testing.assert_allclose(kin["state"][:, 1, 2], -30 / 64, rtol=1e-5)
    i = np.arange(17)
    np.testing.assert_allclose(kin["state"][1, 0, 0], np.mean(8 + 40 * i[1:5] / 16) / 64, rtol=1e-6)
    np.testing.assert_allclose(kin["features"], KinematicStats.identity().normalize(kin["state"]), rtol=1e-5)
    assert kin["events"] == []
    stats = KinematicStats((0.5,) * 8, (2.0,) * 8, 10)
    (kin2,) = KinesonicKinematicEncode().run(tr.to_comfy(), 0, stats.to_json())
    assert kin2["stride"] == 1 and kin2["state"].shape == (17, 2, 8) and kin2["stats"]["std"] == [2.0] * 8
    np.testing.assert_allclose(kin2["state"], kinematic_state(tr), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(kin2["features"], stats.normalize(kinematic_state(tr)), rtol=1e-5, atol=1e-6)
    with pytest.raises(NodeInputError, match="input 'stats_json'"):
        KinesonicKinematicEncode().run(tr.to_comfy(), 4, '{"mean": [1]}')
    with pytest.raises(NodeInputError, match="input 'tracks'.*at least 4 frames"):
        KinesonicKinematicEncode().run(_line_tracks(T=3).to_comfy(), 4, "")


def _bounce(T: int = 40, fps: float = 16.0) -> Tracks:
    # ball falling onto a floor at y = 40 px (y down, gravity 20 px/s²), elastic contact at t = 0.5 s
    t = np.arange(T) / fps
    y = 40 - 30 * np.abs(t - 0.5) + 10 * (t - 0.5) ** 2
    return Tracks(np.stack([10 + 5 * t, y], -1)[:, None], np.ones((T, 1), bool), fps, 64, 64, ("ball",))


def test_events_node_lists_seconds_with_three_decimals() -> None:
    times, count = KinesonicEvents().run(_bounce().to_comfy(), 0.1, 1.0)
    assert count == 1 and times == "0.500"
    times, count = KinesonicEvents().run(_line_tracks().to_comfy(), 0.1, 1.0)
    assert (times, count) == ("", 0)
    with pytest.raises(NodeInputError, match=r"Visual Events\] input 'tracks'.*4 frames"):
        KinesonicEvents().run(_line_tracks(T=3).to_comfy(), 0.1, 1.0)


def test_plot_returns_an_image_with_curves() -> None:
    (kin,) = KinesonicKinematicEncode().run(_bounce().to_comfy(), 1, "")
    assert len(kin["events"]) == 1 and math.isclose(kin["events"][0], 0.5, abs_tol=1 / 16)
    (image,) = KinesonicKinematicsPlot().run(kin, 480, 320)
    assert image.shape == (1, 320, 480, 3) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    pixels = image[0].numpy()
    saturated = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 0.4  # coloured curves / event line
    assert saturated.sum() > 200
    with pytest.raises(NodeInputError, match="input 'kinematics'"):
        KinesonicKinematicsPlot().run({"state": np.zeros((3, 1, 7))}, 480, 320)


def test_events_node_defaults_are_the_detectors() -> None:
    """The Visual Events node with its defaults reports what ETE and the physics impacts use."""
    from kinesonic.kinematics import detect_events
    from kinesonic.physics.impacts import contact_times

    defaults = {
        k: v[1]["default"] for k, v in KinesonicEvents.INPUT_TYPES()["required"].items() if k != "tracks"
    }
    tracks = _bounce()
    times, count = KinesonicEvents().run(tracks.to_comfy(), **defaults)
    expected = detect_events(tracks)
    assert count == len(expected) >= 1
    assert times == "\n".join(f"{t:.3f}" for t in expected)
    assert contact_times(tracks) == expected
