"""Key-framed trajectories (kinematics/keyframes.py) and the Draw Trajectories node: known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kinesonic.kinematics.keyframes import (
    ease,
    parse_state,
    preview,
    resolved_key_frames,
    sample_track,
    state_to_tracks,
)
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.draw_trajectories import KinesonicDrawTrajectories, preview_route


def _state(*tracks, width=64, height=64):
    return {"version": 1, "width": width, "height": height, "tracks": list(tracks)}


def _track(keys, easing="linear", name="a"):
    return {
        "name": name,
        "easing": easing,
        "keys": [dict(zip(("x", "y", "frame"), k, strict=False)) for k in keys],
    }


def test_easings_hit_their_ends_and_midpoint():
    u = np.array([0.0, 0.25, 0.5, 1.0])
    assert ease(u, "linear").tolist() == [0.0, 0.25, 0.5, 1.0]
    # 3u^2 - 2u^3 at 1/4: 3/16 - 2/64 = 10/64
    assert ease(u, "ease_in_out").tolist() == [0.0, 10 / 64, 0.5, 1.0]


def test_two_timed_keys_linear_by_hand():
    # (8, 8) at frame 2 to (28, 48) at frame 6: 5 / 10 px per frame; held before and after.
    tr = parse_state(_state(_track([(8, 8, 2), (28, 48, 6)]))).tracks[0]
    got = sample_track(tr, 9)
    want = [[8, 8], [8, 8], [8, 8], [13, 18], [18, 28], [23, 38], [28, 48], [28, 48], [28, 48]]
    assert got.tolist() == want


def test_ease_in_out_starts_and_ends_slow():
    tr = parse_state(_state(_track([(0, 0, 0), (64, 0, 4)], easing="ease_in_out"))).tracks[0]
    x = sample_track(tr, 5)[:, 0]
    assert x.tolist() == [0.0, 64 * 10 / 64, 32.0, 64 * 54 / 64, 64.0]


def test_auto_timed_keys_are_passed_at_constant_speed():
    # L-shaped path: 30 px right then 30 px down in 10 frames: the corner is reached at frame 5.
    tr = parse_state(_state(_track([(0, 0), (30, 0), (30, 30, 10)]))).tracks[0]
    got = sample_track(tr, 13)
    assert got[5].tolist() == [30.0, 0.0]
    np.testing.assert_allclose(got[[2, 8]], [[12.0, 0.0], [30.0, 18.0]], atol=1e-12)
    assert got[10:].tolist() == [[30.0, 30.0]] * 3
    np.testing.assert_allclose(resolved_key_frames(tr, 13), [0.0, 5.0, 10.0], atol=1e-9)


def test_untimed_last_key_ends_on_the_last_frame():
    tr = parse_state(_state(_track([(0, 10), (32, 10)]))).tracks[0]
    x = sample_track(tr, 5)[:, 0]
    assert x.tolist() == [0.0, 8.0, 16.0, 24.0, 32.0]


def test_one_point_is_a_static_track():
    tr = parse_state(_state(_track([(12.5, 40.25)]))).tracks[0]
    assert sample_track(tr, 4).tolist() == [[12.5, 40.25]] * 4


def test_fractional_key_values_are_hit_exactly():
    keys = [(1.1, 2.3, 0), (40.7, 3.9, 7), (13.3, 60.1, 19), (5.5, 5.5, 32)]
    tr = parse_state(_state(_track(keys, easing="ease_in_out"))).tracks[0]
    got = sample_track(tr, 33)
    for x, y, f in keys:
        assert got[f].tolist() == [x, y]


def test_state_is_scaled_to_the_output_frame():
    state = parse_state(_state(_track([(16, 8, 0), (32, 24, 4)]), width=32, height=32))
    tracks = state_to_tracks(state, 5, 16.0, 64, 128)
    assert (tracks.width, tracks.height, tracks.fps, tracks.num_frames) == (64, 128, 16.0, 5)
    assert tracks.points[0, 0].tolist() == [32.0, 32.0] and tracks.points[4, 0].tolist() == [64.0, 96.0]


def test_two_tracks_and_empty_ones_left_out():
    state = parse_state(
        _state(
            _track([(1, 1)], name="still"),
            _track([], name="empty"),
            _track([(0, 0, 0), (8, 0, 8)], name="mover"),
        )
    )
    tracks = state_to_tracks(state, 9, 16.0)
    assert tracks.labels == ("still", "mover") and tracks.visible.all()
    assert tracks.points[:, 1, 0].tolist() == list(range(9))


@pytest.mark.parametrize(
    "bad, message",
    [
        (_state(_track([(0, 0, 5), (1, 1, 3)])), "must come after key 1"),
        (_state(_track([(0, 0, 0), (1, 1, 40)])), "outside the clip's frames 0..32"),
        (_state(_track([(0, 0), ("a", 1)])), "key 2 x must be a finite number"),
        (_state(_track([(0, 0)], easing="bouncy")), "easing must be one of"),
        ({"version": 9, "width": 1, "height": 1, "tracks": []}, "version 9"),
        ({"version": 1, "width": 0, "height": 1, "tracks": []}, "width must be a positive"),
    ],
)
def test_bad_states_say_what_is_wrong(bad, message):
    with pytest.raises(ValueError, match=message):
        state_to_tracks(parse_state(bad), 33, 16.0)


def test_no_points_at_all_is_refused():
    with pytest.raises(ValueError, match="no track has a point"):
        state_to_tracks(parse_state(_state(_track([]))), 33, 16.0)


def test_preview_reports_points_frames_and_per_track_errors():
    state = parse_state(_state(_track([(0, 0), (10, 0, 2)]), _track([(0, 0, 2), (1, 1, 1)], name="b")))
    out = preview(state, 3)
    assert out["tracks"][0] == {"points": [[0, 0], [5, 0], [10, 0]], "key_frames": [0, 2]}
    assert "must come after" in out["tracks"][1]["error"]


def test_node_outputs_tracks_coordinates_and_frame_preview():
    state = json.dumps(_state(_track([(8, 8, 0), (24, 40, 4)]), _track([(50, 50)], name="b")))
    # 48 x 96 image of two 48x48 halves (0.25 | 0.75): "crop" to 64x64 keeps the centre, i.e. the
    # right half of the left square and the left half of the right one, scaled by 4/3.
    image = torch.full((2, 48, 96, 3), 0.25)
    image[:, :, 48:] = 0.75
    out = KinesonicDrawTrajectories().run(state, 5, 16.0, 64, 64, image, "crop")
    tracks, coords, first = out["result"]
    assert tracks["track_path"].shape == (5, 2, 2) and tracks["track_visibility"].all()
    assert isinstance(tracks["track_path"], torch.Tensor)  # torch, as ComfyUI core's TRACKS
    assert tracks["track_path"][4, 0].tolist() == [24.0, 40.0] and tracks["fps"] == 16.0
    assert json.loads(coords)[0][2] == {"x": 16.0, "y": 24.0}
    assert first.shape == (1, 64, 64, 3)
    assert torch.all(first[0, :, :30] == 0.25) and torch.all(first[0, :, 34:] == 0.75)
    (url,) = out["ui"]["kinesonic_frame"]
    assert url.startswith("data:image/png;base64,")
    import base64

    import cv2

    png = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    decoded = cv2.imdecode(png, cv2.IMREAD_COLOR)[..., ::-1]
    assert np.array_equal(decoded, (first[0].numpy() * 255 + 0.5).astype(np.uint8))


def test_node_errors_name_the_editor_input():
    node = KinesonicDrawTrajectories()
    with pytest.raises(NodeInputError, match=r"\[Draw Trajectories.*\] input 'editor'.*key 2"):
        node.run(json.dumps(_state(_track([(0, 0, 9), (1, 1, 2)]))), 33, 16.0, 64, 64)
    with pytest.raises(NodeInputError, match="input 'editor'.*not valid JSON"):
        node.run("{", 33, 16.0, 64, 64)


def test_preview_route_checks_num_frames():
    state = _state(_track([(0, 0), (4, 0)]))
    assert preview_route({"state": state, "num_frames": 5})["tracks"][0]["points"][1] == [1.0, 0.0]
    with pytest.raises(ValueError, match="num_frames"):
        preview_route({"state": state, "num_frames": "5"})


# --------------------------------------------------------------------------- physics assist


def test_simplify_keeps_ends_of_a_constant_speed_line_and_bounds_the_error():
    from kinesonic.kinematics.keyframes import simplify

    line = np.stack([np.linspace(0, 30, 11), np.linspace(5, 25, 11)], axis=1)
    assert simplify(line, 0.01).tolist() == [0, 10]
    t = np.arange(33.0)
    parabola = np.stack([t, 0.05 * (t - 16) ** 2], axis=1)
    kept = simplify(parabola, 0.25)
    rebuilt = np.stack([np.interp(t, kept, parabola[kept, i]) for i in range(2)], axis=1)
    assert np.hypot(*(rebuilt - parabola).T).max() <= 0.25
    assert kept[0] == 0 and kept[-1] == 32 and 2 < len(kept) < 33


def test_throw_without_floor_contact_is_the_parabola():
    from kinesonic.data.throw import throw_path

    ppm, fps = 64.0, 16.0
    path = throw_path((10.0, 30.0), (40.0, -60.0), 10_000.0, 9, fps, ppm)
    t = np.arange(9) / fps
    want_x = 10.0 + 40.0 * t
    want_y = 30.0 - 60.0 * t + 0.5 * 9.81 * ppm * t**2
    np.testing.assert_allclose(path[:, 0], want_x, atol=1e-6)
    np.testing.assert_allclose(path[:, 1], want_y, atol=0.3)  # the simulator's 960 Hz Euler steps


def test_dropped_ball_bounces_to_restitution_squared_of_its_height():
    from kinesonic.data.throw import throw_path
    from kinesonic.data.world_materials import MATERIALS

    # 1 m drop (100 px at 100 px/m) of a rubber ball on stone, sampled finely (160 fps).
    path = throw_path((50.0, 2.0), (0.0, 0.0), 105.0, 161, 160.0, 100.0, "rubber", "stone", radius_px=3.0)
    y = path[:, 1]
    rest = 105.0 - 3.0
    assert rest - 1.0 < y.max() <= rest + 0.1  # the ball's bottom reaches the floor, not further
    first = int(np.argmax(np.diff(y) < 0))  # the first frame after which it rises: the bounce
    assert abs(first / 160.0 - np.sqrt(2 * 1.0 / 9.81)) < 2 / 160.0  # t = sqrt(2h/g)
    e = MATERIALS["rubber"].restitution * MATERIALS["stone"].restitution
    apex = rest - y[first : first + 80].min()
    assert abs(apex / 100.0 - e**2) < 0.1 * e**2


def test_throw_refuses_a_start_below_the_floor_and_unknown_materials():
    from kinesonic.data.throw import throw_path

    with pytest.raises(ValueError, match="below the floor"):
        throw_path((10.0, 60.0), (0.0, 0.0), 61.0, 5, 16.0, 64.0)
    with pytest.raises(ValueError, match="material must be one of"):
        throw_path((10.0, 10.0), (0.0, 0.0), 61.0, 5, 16.0, 64.0, material="jelly")


def test_physics_route_fills_the_track_with_timed_keys():
    from kinesonic.nodes.draw_trajectories import physics_route

    state = _state(_track([(10, 10)]))
    state["floor_y"] = 56
    state["tracks"][0]["physics"] = {"vx": 40, "vy": 0, "material": "rubber"}
    keys = physics_route({"state": state, "track": 0, "num_frames": 33, "fps": 16.0})["keys"]
    assert keys[0] == {"x": 10.0, "y": 10.0, "frame": 0} and keys[-1]["frame"] == 32
    assert max(k["y"] for k in keys) <= 53.0 + 0.1  # radius 3 px above the floor line (contact slop)
    # the keys are an ordinary editor state: the node turns them into tracks
    state["tracks"][0]["keys"] = keys
    tracks = state_to_tracks(parse_state(state), 33, 16.0)
    assert tracks.points[0, 0].tolist() == [10.0, 10.0]
    with pytest.raises(ValueError, match="'track' must be a track index"):
        physics_route({"state": state, "track": 3, "num_frames": 33, "fps": 16.0})


def test_stretch_to_frames_keeps_the_path_and_its_ends():
    from kinesonic.kinematics import Tracks
    from kinesonic.kinematics.keyframes import stretch_to_frames

    pts = np.array([[[0.0, 0.0]], [[10.0, 0.0]], [[10.0, 20.0]]])  # 3 frames, 1 track
    tr = stretch_to_frames(Tracks(pts, np.ones((3, 1), bool), 16.0, 64, 64), 5)
    assert tr.num_frames == 5 and tr.fps == 16.0
    assert tr.points[:, 0].tolist() == [[0, 0], [5, 0], [10, 0], [10, 10], [10, 20]]


def test_json_route_glue_answers_and_turns_value_errors_into_400(monkeypatch):
    import asyncio
    import sys
    import types

    from kinesonic.nodes import bridge

    assert bridge.add_json_route("/x", lambda body: body) is False  # outside ComfyUI: nothing to do
    web = pytest.importorskip("aiohttp.web")
    from aiohttp.test_utils import TestClient, TestServer

    routes = web.RouteTableDef()
    fake = types.SimpleNamespace(
        PromptServer=types.SimpleNamespace(instance=types.SimpleNamespace(routes=routes))
    )
    monkeypatch.setitem(sys.modules, "server", fake)
    assert bridge.add_json_route("/kinesonic/test/preview", preview_route) is True

    async def go():
        app = web.Application()
        app.add_routes(routes)
        async with TestClient(TestServer(app)) as client:
            ok = await client.post(
                "/kinesonic/test/preview", json={"state": _state(_track([(0, 0), (2, 0)])), "num_frames": 3}
            )
            bad = await client.post("/kinesonic/test/preview", json={"state": "{", "num_frames": 3})
            return ok.status, await ok.json(), bad.status, await bad.json()

    status, body, bad_status, bad_body = asyncio.run(go())
    assert status == 200 and body["tracks"][0]["points"] == [[0, 0], [1, 0], [2, 0]]
    assert bad_status == 400 and "not valid JSON" in bad_body["error"]
