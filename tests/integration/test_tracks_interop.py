"""Check: Kinesonic's TRACKS and coordinates work both ways with ComfyUI core and KJNodes, in a real ComfyUI.

ComfyUI 0.3.75 (the tested version) has no TRACKS nodes of its own: its only track consumer is
``WanTrackToVideo``, which takes KJNodes coordinate text. The Wan-Move TRACKS nodes (GenerateTracks,
WanMoveTracksFromCoords, WanMoveConcatTrack, WanMoveVisualizeTracks, WanMoveTrackToVideo) came later,
and KJNodes is not installed; both are mirrored by the test-only pack
``tests/support/comfy_peers/kinesonic_test_peers`` (loaded by the server fixture), which calls 0.3.75's
real ``parse_json_tracks`` / ``pad_pts`` / ``process_tracks`` where it can. Every graph runs over
HTTP; values come back through the ``PeerTestInspect`` output node.
"""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ONE = [{"x": 1.5, "y": 2.0}, {"x": 3.0, "y": 4.25}, {"x": 5.0, "y": 6.0}]
TWO = [{"x": 10.0, "y": 20.0}, {"x": 11.0, "y": 21.0}, {"x": 12.0, "y": 22.0}]
BOTH = [[[1.5, 2.0], [10.0, 20.0]], [[3.0, 4.25], [11.0, 21.0]], [[5.0, 6.0], [12.0, 22.0]]]


class Graph:
    """An API-format prompt built node by node; ``add`` returns the node id, ``ref(id, slot)`` a link."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}
        self._ids = count(1)

    def add(self, class_type: str, **inputs) -> str:
        node_id = str(next(self._ids))
        self.nodes[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id

    def inspect(self, **inputs) -> str:
        return self.add("PeerTestInspect", **inputs)


def ref(node_id: str, slot: int = 0) -> list:
    return [node_id, slot]


def run(client, graph: Graph) -> dict:
    """Queue the graph and wait; returns {node id: ui output}. Fails with the server's error if any."""
    entry = client.wait_history(client.queue(graph.nodes), timeout=300)
    if entry["status"]["status_str"] != "success":
        pytest.fail(f"the graph failed in ComfyUI: {_error(entry)}")
    return entry["outputs"]


def run_error(client, graph: Graph) -> tuple[str, str]:
    """Queue a graph that must fail while executing; returns (node type, exception message)."""
    entry = client.wait_history(client.queue(graph.nodes), timeout=300)
    assert entry["status"]["status_str"] == "error", "the graph was expected to fail"
    for kind, data in entry["status"]["messages"]:
        if kind == "execution_error":
            return data["node_type"], data["exception_message"]
    raise AssertionError(f"no execution_error message: {entry['status']['messages']}")


def _error(entry: dict) -> str:
    for kind, data in entry["status"].get("messages", []):
        if kind == "execution_error":
            return f"{data['node_type']}: {data['exception_message']}"
    return json.dumps(entry["status"])[:2000]


def report(outputs: dict, node_id: str) -> dict:
    return json.loads(outputs[node_id]["text"][0])


def core_tracks_ok(tracks: dict) -> None:
    """The value has core's TRACKS types: torch float32 [T,N,2] path and torch bool [T,N] visibility."""
    path, vis = tracks["track_path"], tracks["track_visibility"]
    assert (path["type"], path["dtype"]) == ("torch", "torch.float32")
    assert (vis["type"], vis["dtype"]) == ("torch", "torch.bool")
    assert len(path["shape"]) == 3 and path["shape"][2] == 2 and vis["shape"] == path["shape"][:2]


def _line_graph(g: Graph, width: int = 64, height: int = 48, frames: int = 17) -> str:
    """Core GenerateTracks: one track from (0.125, 0.25) to (0.75, 0.75) of the image, ``frames`` frames.

    At 64x48 and 17 frames point i is (8 + 2.5 i, 12 + 1.5 i) px, exact in float32.
    """
    return g.add(
        "PeerTestGenerateTracks",
        width=width,
        height=height,
        start_x=0.125,
        start_y=0.25,
        end_x=0.75,
        end_y=0.75,
        num_frames=frames,
        num_tracks=1,
        track_spread=0.0,
    )


LINE = [[8 + 2.5 * i, 12 + 1.5 * i] for i in range(17)]


def _bounce_coordinates() -> str:
    """A ball bouncing on a floor at y = 40 px, contact at frame 8 (0.5 s at 16 fps), exact in binary."""
    points = []
    for i in range(40):
        t = i / 16
        points.append({"x": 10 + 5 * t, "y": 40 - 30 * abs(t - 0.5) + 10 * (t - 0.5) ** 2})
    return json.dumps(points)


# ------------------------------------------------------------------ core TRACKS → Kinesonic


def test_core_tracks_through_every_kinesonic_tracks_consumer(comfy_server, micro_checkpoint) -> None:
    g = Graph()
    line = _line_graph(g)
    image = g.add("EmptyImage", width=64, height=48, batch_size=1, color=0)
    to_json = g.add("KinesonicTracksToJSON", tracks=ref(line), image=ref(image))
    to_json_24 = g.add("KinesonicTracksToJSON", tracks=ref(line), width=64, height=48, fps=24.0)
    save = g.add(
        "KinesonicSaveTracks", tracks=ref(line), filename_prefix="itest_interop/core", image=ref(image)
    )
    encode = g.add("KinesonicKinematicEncode", tracks=ref(line), stride=1, stats_json="", image=ref(image))
    bounce = g.add("PeerTestWanMoveTracksFromCoords", track_coords=_bounce_coordinates())
    events = g.add(
        "KinesonicEvents", tracks=ref(bounce), min_separation=0.1, min_jump_px=1.0, width=64, height=64
    )
    events_8 = g.add(
        "KinesonicEvents",
        tracks=ref(bounce),
        min_separation=0.1,
        min_jump_px=1.0,
        width=64,
        height=64,
        fps=8.0,
    )
    filtered = g.add(
        "KinesonicFilterTracks",
        tracks=ref(line),
        min_visible=0.0,
        min_motion=0.0,
        border=0.0,
        image=ref(image),
    )
    draw = g.add(
        "KinesonicDrawTracks", image=ref(image), tracks=ref(line), line_width=1, point_radius=2, trail=0
    )
    # Evaluate: tracks without size refer to the generated frames (a physics scene's, 64x64 here)
    scene = g.add(
        "KinesonicPhysicsScene",
        seed=0,
        scene="drop",
        size=64,
        num_frames=17,
        material="rubber",
        motion_blur=0,
        reverb=False,
    )
    line64 = _line_graph(g, 64, 64)
    evaluate = g.add(
        "KinesonicEvaluate",
        tracks=ref(line64),
        images=ref(scene, 1),
        audio=ref(scene, 2),
        tau=0.2,
        match_window=0.1,
    )
    # the generator's conditioning takes the size and fps from the model (32x32, 16 fps)
    model = g.add("KinesonicLoadGenerator", model_name=micro_checkpoint)
    frame32 = g.add("EmptyImage", width=32, height=32, batch_size=1, color=0)
    line32 = _line_graph(g, 32, 32)
    cond = g.add(
        "KinesonicGeneratorConditioning",
        model=ref(model),
        first_frame=ref(frame32),
        prompt="",
        seed=0,
        tracks=ref(line32),
    )
    ids = {
        "json": g.inspect(string=ref(to_json)),
        "coords": g.inspect(string=ref(to_json, 1)),
        "json24": g.inspect(string=ref(to_json_24)),
        "encode": g.inspect(kinematics=ref(encode)),
        "events": g.inspect(string=ref(events), count=ref(events, 1)),
        "events8": g.inspect(string=ref(events_8), count=ref(events_8, 1)),
        "filtered": g.inspect(tracks=ref(filtered), string=ref(filtered, 1)),
        "draw": g.inspect(image=ref(draw)),
        "cond": g.inspect(conditioning=ref(cond)),
    }
    out = run(comfy_server, g)
    doc = json.loads(report(out, ids["json"])["string"])
    assert (doc["width"], doc["height"], doc["fps"]) == (64, 48, 16.0)  # image size; core's 16 fps
    assert doc["tracks"][0]["points"] == LINE
    assert json.loads(report(out, ids["coords"])["string"]) == [{"x": x, "y": y} for x, y in LINE]
    assert json.loads(report(out, ids["json24"])["string"])["fps"] == 24.0
    saved = Path(out[save]["text"][0])  # shown relative to the output folder
    if not saved.is_absolute():
        saved = comfy_server.server.output_dir / saved
    assert saved.is_file() and json.loads(saved.read_text())["tracks"][0]["points"] == LINE
    state = report(out, ids["encode"])["kinematics"]["state"]["values"]
    assert all(abs(frame[0][2] - 2.5 * 16 / 64) < 1e-5 for frame in state)  # vx in image sizes / s
    assert report(out, ids["events"]) == {"string": "0.500", "count": 1}
    assert report(out, ids["events8"]) == {"string": "1.000", "count": 1}
    filtered_report = report(out, ids["filtered"])
    core_tracks_ok(filtered_report["tracks"])
    assert filtered_report["tracks"]["width"] == 64 and "kept 1/1" in filtered_report["string"]
    x0, y0 = report(out, ids["draw"])["image"]["centres"][0]
    assert abs(x0 - 8) < 0.6 and abs(y0 - 12) < 0.6
    assert "ETE" in out[evaluate]["text"][0]
    assert report(out, ids["cond"])["conditioning"]  # built without complaint


def test_core_tracks_without_size_say_which_input_to_connect(comfy_server) -> None:
    g = Graph()
    line = _line_graph(g)
    g.inspect(string=ref(g.add("KinesonicTracksToJSON", tracks=ref(line))))
    node_type, message = run_error(comfy_server, g)
    assert node_type == "KinesonicTracksToJSON"
    assert (
        "these tracks carry no image size" in message
        and "connect 'image'" in message
        and "'width'" in message
    )


# ------------------------------------------------------------------ KJNodes strings → Kinesonic


def test_kjnodes_strings_into_kinesonic_readers(comfy_server) -> None:
    g = Graph()
    one, two = g.add("PeerTestText", text=json.dumps(ONE)), g.add("PeerTestText", text=json.dumps(TWO))
    appended = g.add("PeerTestAppendStringsToList", string1=ref(one), string2=ref(two))
    joined_list = g.add(
        "PeerTestJoinStringMulti", string_1=ref(one), delimiter=" ", return_list=True, string_2=ref(two)
    )
    joined = g.add(
        "PeerTestJoinStringMulti", string_1=ref(one), delimiter=" ", return_list=False, string_2=ref(two)
    )
    size = {"fps": 16.0, "width": 64, "height": 48}
    readers = {
        "append": g.add("KinesonicTracksFromCoordinates", coordinates=ref(appended), **size),
        "join_list": g.add("KinesonicTracksFromCoordinates", coordinates=ref(joined_list), **size),
        "join": g.add("KinesonicTracksFromCoordinates", coordinates=ref(joined), **size),
        "json_list": g.add("KinesonicTracksFromJSON", json=ref(appended), **size),
    }
    normalised = g.add(
        "PeerTestPointsEditor",
        points='[{"x": 80, "y": 96}, {"x": 160, "y": 144}]',
        width=320,
        height=192,
        normalize=True,
    )
    pixels = g.add(
        "PeerTestPointsEditor",
        points='[{"x": 80, "y": 96}, {"x": 160, "y": 144}]',
        width=320,
        height=192,
        normalize=False,
    )
    canvas = g.add("EmptyImage", width=320, height=192, batch_size=1, color=0)
    readers["normalized"] = g.add(
        "KinesonicTracksFromCoordinates",
        coordinates=ref(normalised),
        fps=16.0,
        width=320,
        height=192,
        units="normalized",
    )
    readers["sized_by_image"] = g.add(
        "KinesonicTracksFromCoordinates",
        coordinates=ref(pixels),
        fps=16.0,
        width=0,
        height=0,
        image=ref(canvas),
    )
    ids = {name: g.inspect(tracks=ref(node)) for name, node in readers.items()}
    out = run(comfy_server, g)
    for name in ("append", "join_list", "join", "json_list"):
        tracks = report(out, ids[name])["tracks"]
        core_tracks_ok(tracks)
        assert tracks["track_path"]["values"] == BOTH, name
        assert (tracks["width"], tracks["height"], tracks["fps"]) == (64, 48, 16.0)
    for name in ("normalized", "sized_by_image"):
        tracks = report(out, ids[name])["tracks"]
        assert tracks["track_path"]["values"] == [[[80.0, 96.0]], [[160.0, 144.0]]], name
        assert (tracks["width"], tracks["height"]) == (320, 192)


def test_normalised_coordinates_are_refused_as_pixels(comfy_server) -> None:
    g = Graph()
    normalised = g.add(
        "PeerTestPointsEditor", points='[{"x": 80, "y": 96}]', width=320, height=192, normalize=True
    )
    g.inspect(
        tracks=ref(
            g.add(
                "KinesonicTracksFromCoordinates", coordinates=ref(normalised), fps=16.0, width=320, height=192
            )
        )
    )
    node_type, message = run_error(comfy_server, g)
    assert (
        node_type == "KinesonicTracksFromCoordinates" and "within 0..1" in message and "normalized" in message
    )


def test_coordinates_without_a_size_are_refused(comfy_server) -> None:
    g = Graph()
    text = g.add("PeerTestText", text=json.dumps(TWO))
    g.inspect(
        tracks=ref(
            g.add("KinesonicTracksFromCoordinates", coordinates=ref(text), fps=16.0, width=0, height=0)
        )
    )
    node_type, message = run_error(comfy_server, g)
    assert (
        node_type == "KinesonicTracksFromCoordinates" and "input 'width'" in message and "'image'" in message
    )


# ------------------------------------------------------------------ Kinesonic → core / KJNodes


def test_kinesonic_tracks_through_core_and_kjnodes_track_nodes(comfy_server) -> None:
    g = Graph()
    scene = g.add(
        "KinesonicPhysicsScene",
        seed=0,
        scene="drop",
        size=64,
        num_frames=9,
        material="rubber",
        motion_blur=0,
        reverb=False,
    )
    tracks = ref(scene, 3)
    line = _line_graph(g, 64, 64, 9)
    concat = g.add("PeerTestWanMoveConcatTrack", tracks_1=tracks, tracks_2=ref(line))
    window = g.add("PeerTestGetTrackRange", tracks=tracks, start_index=2, num_frames=4)
    still = g.add(
        "PeerTestAddNoiseToTrackPath",
        tracks=tracks,
        strength=0.0,
        seed=0,
        noise_x_ratio=1.0,
        noise_y_ratio=1.0,
    )
    # the other Kinesonic emitters feed core's concat too
    tracked = g.add(
        "KinesonicTrackPoints",
        images=ref(scene, 1),
        tracker="lk",
        fps=16.0,
        static_camera=False,
        query_points='[{"x": 32, "y": 20}]',
    )
    filtered = g.add(
        "KinesonicFilterTracks",
        tracks=ref(line),
        min_visible=0.0,
        min_motion=0.0,
        border=0.0,
        image=ref(scene, 0),
    )
    line_json = g.add("KinesonicTracksToJSON", tracks=ref(line), image=ref(scene, 0))
    read = g.add("KinesonicTracksFromJSON", json=ref(line_json), fps=16.0, width=0, height=0)
    others = g.add("PeerTestWanMoveConcatTrack", tracks_1=ref(tracked), tracks_2=ref(filtered))
    others = g.add("PeerTestWanMoveConcatTrack", tracks_1=ref(others), tracks_2=ref(read))
    ids = {
        "scene": g.inspect(tracks=tracks),
        "concat": g.inspect(tracks=ref(concat)),
        "still": g.inspect(tracks=ref(still)),
        "others": g.inspect(tracks=ref(others)),
        "all_json": g.inspect(string=ref(g.add("KinesonicTracksToJSON", tracks=tracks))),
        # back into Kinesonic after the core node dropped fps and size: the frame's size is given
        "window_json": g.inspect(
            string=ref(g.add("KinesonicTracksToJSON", tracks=ref(window), image=ref(scene, 0)))
        ),
    }
    out = run(comfy_server, g)
    scene_tracks = report(out, ids["scene"])["tracks"]
    core_tracks_ok(scene_tracks)
    n = scene_tracks["track_path"]["shape"][1]
    concat_tracks = report(out, ids["concat"])["tracks"]
    core_tracks_ok(concat_tracks)
    assert concat_tracks["track_path"]["shape"] == [9, n + 1, 2]
    assert [frame[:n] for frame in concat_tracks["track_path"]["values"]] == scene_tracks["track_path"][
        "values"
    ]
    assert report(out, ids["still"])["tracks"]["track_path"] == scene_tracks["track_path"]
    others = report(out, ids["others"])["tracks"]
    core_tracks_ok(others)
    assert others["track_path"]["shape"] == [9, 3, 2]
    # the line (64x64, 9 frames): point i is (8 + 5 i, 16 + 4 i), through Filter Tracks and through JSON
    assert others["track_path"]["values"][4][1] == others["track_path"]["values"][4][2] == [28.0, 32.0]
    whole = json.loads(report(out, ids["all_json"])["string"])
    window_doc = json.loads(report(out, ids["window_json"])["string"])
    assert (window_doc["width"], window_doc["height"], window_doc["fps"]) == (64, 64, 16.0)
    for entry, full in zip(window_doc["tracks"], whole["tracks"], strict=True):
        assert entry["points"] == full["points"][2:6]


def test_kinesonic_tracks_drive_core_track_consumers_like_core_tracks(comfy_server) -> None:
    g = Graph()
    text = json.dumps([ONE, TWO])
    source = g.add("PeerTestText", text=text)
    ours = g.add("KinesonicTracksFromCoordinates", coordinates=ref(source), fps=16.0, width=64, height=48)
    coords = ref(g.add("KinesonicTracksToJSON", tracks=ref(ours)), 1)
    theirs = g.add("PeerTestWanMoveTracksFromCoords", track_coords=ref(source))
    black = g.add("EmptyImage", width=64, height=48, batch_size=1, color=0)
    single = g.add(
        "KinesonicTracksFromCoordinates", coordinates=json.dumps(TWO), fps=16.0, width=64, height=48
    )
    single_coords = ref(g.add("KinesonicTracksToJSON", tracks=ref(single)), 1)
    ids = {
        # core 0.3.75's WanTrackToVideo track processing, on our coordinate text and on the original
        "parse_ours": g.inspect(
            string=ref(g.add("PeerTestWanTrackParse", tracks=coords, width=64, height=48, length=17))
        ),
        "parse_theirs": g.inspect(
            string=ref(g.add("PeerTestWanTrackParse", tracks=ref(source), width=64, height=48, length=17))
        ),
        # Wan-Move's TRACKS readers, on our TRACKS and on core's
        "from_coords": g.inspect(tracks=ref(g.add("PeerTestWanMoveTracksFromCoords", track_coords=coords))),
        "cells_ours": g.inspect(
            string=ref(
                g.add("PeerTestWanMoveTrackPositions", tracks=ref(ours), width=64, height=48, length=3)
            )
        ),
        "cells_theirs": g.inspect(
            string=ref(
                g.add("PeerTestWanMoveTrackPositions", tracks=ref(theirs), width=64, height=48, length=3)
            )
        ),
        "vis_ours": g.inspect(
            image=ref(
                g.add("PeerTestWanMoveVisualizeTracks", images=ref(black), tracks=ref(single), circle_size=1)
            )
        ),
        "draw_ours": g.inspect(
            image=ref(
                g.add(
                    "KinesonicDrawTracks",
                    image=ref(black),
                    tracks=ref(single),
                    line_width=1,
                    point_radius=1,
                    trail=1,
                )
            )
        ),
        # KJNodes' shape-on-path node reads one coordinate list, one mask per point
        "masks": g.inspect(
            mask=ref(
                g.add(
                    "PeerTestCreateShapeMaskOnPath",
                    coordinates=single_coords,
                    frame_width=64,
                    frame_height=48,
                    shape_width=2,
                    shape_height=2,
                )
            )
        ),
    }
    out = run(comfy_server, g)
    assert report(out, ids["parse_ours"])["string"] == report(out, ids["parse_theirs"])["string"]
    from_coords = report(out, ids["from_coords"])["tracks"]
    core_tracks_ok(from_coords)
    assert from_coords["track_path"]["values"] == BOTH
    assert report(out, ids["cells_ours"]) == report(out, ids["cells_theirs"])
    assert json.loads(report(out, ids["cells_ours"])["string"]) == [[[0, 0]], [[2, 1]]]  # (y // 8, x // 8)
    centres = report(out, ids["vis_ours"])["image"]["centres"]
    assert centres == [[10.0, 20.0], [11.0, 21.0], [12.0, 22.0]]
    assert report(out, ids["masks"])["mask"]["centres"] == centres
    drawn = report(out, ids["draw_ours"])["image"]["centres"]
    assert abs(drawn[0][0] - 10) < 0.6 and abs(drawn[0][1] - 20) < 0.6  # Draw Tracks places them alike


def test_json_round_trip_through_a_core_node_keeps_decimals(comfy_server) -> None:
    doc = {
        "format": "kinesonic.tracks",
        "version": 1,
        "fps": 16.0,
        "width": 320,
        "height": 192,
        "tracks": [{"label": "ball", "points": [[12.3, 45.67], None, [0.1, 191.99], [319.5, 0.001]]}],
    }
    g = Graph()
    tracks = g.add("KinesonicTracksFromJSON", json=json.dumps(doc), fps=16.0, width=0, height=0)
    direct = g.inspect(string=ref(g.add("KinesonicTracksToJSON", tracks=ref(tracks))))
    window = g.add("PeerTestGetTrackRange", tracks=ref(tracks), start_index=0, num_frames=100)
    via_core = g.inspect(
        string=ref(g.add("KinesonicTracksToJSON", tracks=ref(window), width=320, height=192))
    )
    out = run(comfy_server, g)
    assert json.loads(report(out, direct)["string"]) == doc  # 12.3 stays 12.3 through the float32 socket
    assert json.loads(report(out, via_core)["string"])["tracks"][0]["points"] == doc["tracks"][0]["points"]
