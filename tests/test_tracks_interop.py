"""Interop with ComfyUI core TRACKS and KJNodes coordinates (issue 20), headless, with known answers.

Core TRACKS here are what ComfyUI's Wan-Move nodes (GenerateTracks, WanMoveTracksFromCoords) and
KJNodes' track nodes (GetTrackRange, AddNoiseToTrackPath) emit: a dict with only ``track_path``
float32 ``[T,N,2]`` and ``track_visibility`` bool ``[T,N]``, torch tensors, no fps and no size.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kinesonic.kinematics import MissingSizeError, Tracks, shortest_decimal
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.extract import KinesonicFilterTracks
from kinesonic.nodes.kinematics_nodes import KinesonicEvents, KinesonicKinematicEncode
from kinesonic.nodes.tracks import (
    KinesonicDrawTracks,
    KinesonicSaveTracks,
    KinesonicTracksFromCoordinates,
    KinesonicTracksFromJSON,
    KinesonicTracksToJSON,
    tracks_in,
)


def _bounce(T: int = 40, fps: float = 16.0) -> np.ndarray:
    """[T, 1, 2] px: a ball falling onto a floor at y = 40 (elastic contact at frame 8 = 0.5 s at 16 fps)."""
    t = np.arange(T) / fps
    y = 40 - 30 * np.abs(t - 0.5) + 10 * (t - 0.5) ** 2
    return np.stack([10 + 5 * t, y], -1)[:, None]


def _core(points: np.ndarray) -> dict:
    """A core TRACKS dict: two keys, torch, float32 path and bool visibility."""
    return {
        "track_path": torch.tensor(points, dtype=torch.float32),
        "track_visibility": torch.ones(points.shape[:2], dtype=torch.bool),
    }


def _line(T: int = 17) -> np.ndarray:
    t = np.arange(T, dtype=np.float64)
    return np.stack([np.stack([8 + 2 * t, 10 + t], -1), np.stack([56 - t, 40 + 0 * t], -1)], axis=1)


# ---------------------------------------------------------------- 1. consumers take core TRACKS


def test_core_tracks_need_a_size_and_the_error_names_the_inputs_to_connect() -> None:
    core = _core(_line())
    with pytest.raises(MissingSizeError):
        Tracks.from_comfy(core)
    for call in (
        lambda: KinesonicTracksToJSON().run(core),
        lambda: KinesonicSaveTracks().run(core, "interop/none"),
        lambda: KinesonicKinematicEncode().run(core, 4, ""),
        lambda: KinesonicEvents().run(core, 0.1, 1.0),
        lambda: KinesonicFilterTracks().run(core, 0.0, 0.0, 0.0),
    ):
        with pytest.raises(
            NodeInputError, match=r"input 'tracks': these tracks carry no image size.*'image'.*'width'"
        ):
            call()


def test_every_consumer_takes_the_size_from_the_image_or_width_height() -> None:
    points = _line()
    core = _core(points)
    image = torch.zeros(1, 48, 64, 3)
    text, coordinates = KinesonicTracksToJSON().run(core, image=image)
    doc = json.loads(text)
    assert (doc["width"], doc["height"], doc["fps"]) == (64, 48, 16.0)  # fps: core's / Wan's 16
    assert doc["tracks"][0]["points"][3] == [14.0, 13.0]
    text2, _ = KinesonicTracksToJSON().run(core, width=64, height=48, fps=24.0)
    assert json.loads(text2)["fps"] == 24.0 and json.loads(text2)["width"] == 64
    path = KinesonicSaveTracks().run(core, "interop/core", image=image)["result"][0]
    assert Tracks.from_json(open(path, encoding="utf-8").read()).width == 64
    (kin,) = KinesonicKinematicEncode().run(core, 1, "", image=image)
    # uniform motion 2 px/frame at 16 fps over the longer side 64 px: vx = 0.5 image sizes / s
    np.testing.assert_allclose(kin["state"][:, 0, 2], 2 * 16 / 64, rtol=1e-6)
    (kin8,) = KinesonicKinematicEncode().run(core, 1, "", width=64, height=48, fps=8.0)
    np.testing.assert_allclose(kin8["state"][:, 0, 2], 2 * 8 / 64, rtol=1e-6)
    tracks, report = KinesonicFilterTracks().run(core, 0.0, 0.0, 0.0, image=image)
    assert isinstance(tracks["track_path"], torch.Tensor) and tracks["width"] == 64 and "kept 2/2" in report


def test_events_fps_defaults_to_16_and_can_be_set() -> None:
    core = _core(_bounce())
    image = torch.zeros(1, 64, 64, 3)
    assert KinesonicEvents().run(core, 0.1, 1.0, image=image) == ("0.500", 1)  # frame 8 at 16 fps
    assert KinesonicEvents().run(core, 0.1, 1.0, width=64, height=64, fps=8.0) == ("1.000", 1)


def test_size_or_fps_inputs_must_agree_with_what_the_tracks_carry() -> None:
    own = Tracks(_line(), np.ones((17, 2), bool), 16.0, 64, 48).to_comfy(as_torch=True)
    with pytest.raises(NodeInputError, match=r"input 'width': expected 0 or 64"):
        KinesonicTracksToJSON().run(own, width=128, height=96)
    with pytest.raises(NodeInputError, match=r"input 'fps': expected 0 or 16"):
        KinesonicEvents().run(own, 0.1, 1.0, fps=24.0)
    # the image is only a fallback: the tracks' own size wins
    text, _ = KinesonicTracksToJSON().run(own, image=torch.zeros(1, 96, 128, 3))
    assert json.loads(text)["width"] == 64
    assert tracks_in(own, "n", "tracks", 64, 48, 16.0).width == 64


# ---------------------------------------------------------------- 2. emitted TRACKS are torch


def test_every_emitted_tracks_value_is_torch_and_survives_core_style_ops() -> None:
    from kinesonic.nodes.world import KinesonicPhysicsScene

    outs = [
        KinesonicPhysicsScene().run(0, "drop", 32, 6, "rubber", 0, False)[3],
        KinesonicTracksFromJSON().run(Tracks.from_comfy(_core(_line()), width=64, height=48).to_json())[0],
        KinesonicTracksFromCoordinates().run('[{"x": 3, "y": 4}, {"x": 5, "y": 6}]', 16.0, 64, 48)[0],
        KinesonicFilterTracks().run(_core(_line()), 0.0, 0.0, 0.0, width=64, height=48)[0],
    ]
    for tracks in outs:
        path, vis = tracks["track_path"], tracks["track_visibility"]
        assert isinstance(path, torch.Tensor) and path.dtype == torch.float32 and path.ndim == 3
        assert isinstance(vis, torch.Tensor) and vis.dtype == torch.bool and vis.shape == path.shape[:2]
        # what WanMoveVisualizeTracks / AddNoiseToTrackPath / WanMoveConcatTrack do with them
        assert path.unsqueeze(0).shape[0] == 1 and torch.equal(path.clone(), path)
        both = torch.cat([path, path], dim=1)
        assert both.shape[1] == 2 * path.shape[1]
        assert torch.cat([vis, vis], dim=-1).dtype == torch.bool


# ---------------------------------------------------------------- 3. KJNodes string lists

ONE = [{"x": 1.5, "y": 2.0}, {"x": 3.0, "y": 4.25}, {"x": 5.0, "y": 6.0}]
TWO = [{"x": 10.0, "y": 20.0}, {"x": 11.0, "y": 21.0}, {"x": 12.0, "y": 22.0}]
BOTH = np.array([[[1.5, 2.0], [10, 20]], [[3.0, 4.25], [11, 21]], [[5.0, 6.0], [12, 22]]])


@pytest.mark.parametrize(
    "value",
    [
        [json.dumps(ONE), json.dumps(TWO)],  # AppendStringsToList / JoinStringMulti(return_list=True)
        [json.dumps([ONE, TWO])],  # one multi-spline Spline Editor string in a list
        [json.dumps(ONE), "", json.dumps([TWO])],  # empty strings are skipped
        json.dumps(ONE) + " " + json.dumps(TWO),  # JoinStringMulti(return_list=False), delimiter " "
        json.dumps(ONE) + ", " + json.dumps(TWO),
    ],
)
def test_coordinates_node_accepts_kjnodes_string_lists(value) -> None:
    (tracks,) = KinesonicTracksFromCoordinates().run(value, 16.0, 64, 48)
    np.testing.assert_array_equal(tracks["track_path"].numpy(), BOTH.astype(np.float32))


def test_coordinates_list_with_multi_spline_strings_flattens() -> None:
    value = [json.dumps([ONE, TWO]), json.dumps(ONE)]
    (tracks,) = KinesonicTracksFromCoordinates().run(value, 16.0, 64, 48)
    assert tracks["track_path"].shape == (3, 3, 2)
    with pytest.raises(NodeInputError, match="input 'coordinates'"):
        KinesonicTracksFromCoordinates().run(["", " "], 16.0, 64, 48)


# ---------------------------------------------------------------- 4. one Draw Tracks rule


def _lit(frame: torch.Tensor) -> tuple[float, float]:
    """Centroid (x, y) of the drawn (non-black) pixels."""
    ys, xs = np.nonzero(frame.numpy().max(axis=-1) > 0.2)
    return float(xs.mean()), float(ys.mean())


def test_draw_tracks_places_points_by_one_rule_with_or_without_metadata() -> None:
    points = np.full((2, 1, 2), 8.0)  # a still point at (8, 8) px
    kinesonic = Tracks(points, np.ones((2, 1), bool), 16.0, 32, 32).to_comfy(as_torch=True)
    core = _core(points)  # the same tracks after a core node dropped the metadata
    big = torch.zeros(1, 64, 64, 3)  # an image twice the tracks' size
    draw = KinesonicDrawTracks()
    # 'pixels' (default): track pixels are image pixels, like core's WanMoveVisualizeTracks
    (out,) = draw.run(big, core, 1, 2, 0)
    assert _lit(out[1]) == pytest.approx((8, 8), abs=0.5)
    with pytest.raises(
        NodeInputError, match=r"input 'tracks': expected tracks for the 64x64 image.*'rescale'"
    ):
        draw.run(big, kinesonic, 1, 2, 0)  # never a silent second placement
    # 'rescale': from the tracks' size — their own, or the width/height inputs — to the image
    (a,) = draw.run(big, kinesonic, 1, 2, 0, scale="rescale")
    (b,) = draw.run(big, core, 1, 2, 0, scale="rescale", width=32, height=32)
    assert _lit(a[1]) == pytest.approx((16, 16), abs=0.5)
    assert torch.equal(a, b)
    with pytest.raises(NodeInputError, match=r"no image size.*'width' and 'height'"):
        draw.run(big, core, 1, 2, 0, scale="rescale")
    # same size: both rules agree
    (c,) = draw.run(torch.zeros(1, 32, 32, 3), kinesonic, 1, 2, 0)
    (d,) = draw.run(torch.zeros(1, 32, 32, 3), kinesonic, 1, 2, 0, scale="rescale")
    assert torch.equal(c, d) and _lit(c[1]) == pytest.approx((8, 8), abs=0.5)


# ---------------------------------------------------------------- 5. KJNodes coordinates output


def test_tracks_to_json_emits_kjnodes_coordinates() -> None:
    (socket,) = KinesonicTracksFromJSON().run(
        json.dumps(
            {
                "format": "kinesonic.tracks",
                "fps": 16,
                "width": 64,
                "height": 48,
                "tracks": [
                    {"points": [[1.5, 2.0], None, [5.0, 6.0]]},
                    {"points": [[10, 20], [11, 21], [12, 22]]},
                ],
            }
        )
    )
    _, coordinates = KinesonicTracksToJSON().run(socket)
    expected = [[{"x": 1.5, "y": 2.0}, {"x": 3.25, "y": 4.0}, {"x": 5.0, "y": 6.0}], TWO]  # null interpolated
    assert json.loads(coordinates) == expected
    # one track: a single list, as the Spline Editor writes it (what CreateShapeMaskOnPath iterates)
    (one,) = KinesonicTracksFromCoordinates().run(json.dumps(ONE), 16.0, 64, 48)
    assert json.loads(KinesonicTracksToJSON().run(one)[1]) == ONE
    # a track that is never visible has no position to write: it is left out ([] if none is left)
    hidden = Tracks(BOTH, np.array([[True, False]] * 3), 16.0, 64, 48).to_comfy(as_torch=True)
    assert json.loads(KinesonicTracksToJSON().run(hidden)[1]) == ONE
    none = Tracks(BOTH, np.zeros((3, 2), bool), 16.0, 64, 48).to_comfy(as_torch=True)
    assert KinesonicTracksToJSON().run(none)[1] == "[]"
    # and it reads back as the same tracks
    (again,) = KinesonicTracksFromCoordinates().run(coordinates, 16.0, 64, 48)
    np.testing.assert_array_equal(again["track_path"][:, 1].numpy(), BOTH[:, 1].astype(np.float32))


# ---------------------------------------------------------------- 6. float32 socket round trip


def test_json_round_trip_through_the_float32_socket_keeps_decimals() -> None:
    doc = {
        "format": "kinesonic.tracks",
        "version": 1,
        "fps": 16.0,
        "width": 320,
        "height": 192,
        "tracks": [{"label": "ball", "points": [[12.3, 45.67], None, [0.1, 191.99], [319.5, 1e-3]]}],
    }
    (socket,) = KinesonicTracksFromJSON().run(json.dumps(doc), 16.0, 0, 0)
    assert socket["track_path"].dtype == torch.float32
    text, _ = KinesonicTracksToJSON().run(socket)
    assert json.loads(text) == doc  # 12.3 stays 12.3, not 12.300000190734863
    # also after a core node dropped the metadata (size given again)
    core = {"track_path": socket["track_path"].clone(), "track_visibility": socket["track_visibility"]}
    text, _ = KinesonicTracksToJSON().run(core, width=320, height=192)
    assert json.loads(text)["tracks"][0]["points"] == doc["tracks"][0]["points"]


def test_shortest_decimal_matches_numpys_shortest_repr_and_rounds_back() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.uniform(-2000, 2000, 4000),
            rng.uniform(0, 1, 1000),
            10.0 ** rng.uniform(-6, 6, 1000),
            [0.0, -0.0, 12.3, 1234.56, 1e-3, 99999.99, 16777216.0, 3.4e38],
        ]
    ).astype(np.float32)
    out = shortest_decimal(values)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.astype(np.float32), values)  # nothing invented
    expected = np.array([float(str(v)) for v in values])
    assert (out == expected).mean() > 0.999  # the shortest repr, but for rare ties one digit longer
    assert shortest_decimal(np.array([np.nan, np.inf], np.float32))[1] == np.inf
    assert shortest_decimal(np.float16([0.1, 2.5])).tolist() == [0.1, 2.5]
    bf16 = {"track_path": torch.tensor([[[12.3, 4.0]]], dtype=torch.bfloat16)}
    assert Tracks.from_comfy(bf16, width=64, height=64).points[0, 0, 1] == 4.0


# ---------------------------------------------------------------- 7. normalised coordinates, explicit size


def test_normalised_coordinates_are_detected_and_read_on_request() -> None:
    points_editor = json.dumps([{"x": 0.25, "y": 0.5}, {"x": 0.5, "y": 0.75}])  # normalize on
    node = KinesonicTracksFromCoordinates()
    with pytest.raises(
        NodeInputError, match=r"input 'coordinates': .*within 0\.\.1.*normalised.*'normalized'"
    ):
        node.run(points_editor, 16.0, 320, 192)
    (tracks,) = node.run(points_editor, 16.0, 320, 192, units="normalized")
    np.testing.assert_array_equal(tracks["track_path"][:, 0].numpy(), [[80, 96], [160, 144]])
    with pytest.raises(NodeInputError, match=r"Tracks from JSON.*within 0\.\.1"):
        KinesonicTracksFromJSON().run(points_editor, 16.0, 320, 192)
    with pytest.raises(NodeInputError, match="input 'units'"):
        node.run(points_editor, 16.0, 320, 192, units="percent")


def test_coordinates_size_is_an_explicit_choice() -> None:
    drawn = json.dumps([{"x": 300, "y": 180}, {"x": 310, "y": 185}])  # drawn on a 320x192 canvas
    node = KinesonicTracksFromCoordinates()
    assert node.INPUT_TYPES()["required"]["width"][1]["default"] == 0  # no silent 512x512
    with pytest.raises(NodeInputError, match=r"input 'width': expected the image size the coordinates"):
        node.run(drawn, 16.0, 0, 0)
    (tracks,) = node.run(drawn, 16.0, 0, 0, image=torch.zeros(1, 192, 320, 3))
    assert (tracks["width"], tracks["height"]) == (320, 192)
    (tracks,) = node.run(drawn, 16.0, 320, 192)
    assert (tracks["width"], tracks["height"]) == (320, 192)
    # and drawn on an image of that size, the points land where they were drawn
    (out,) = KinesonicDrawTracks().run(torch.zeros(1, 192, 320, 3), tracks, 1, 2, 0)
    assert _lit(out[0]) == pytest.approx((300, 180), abs=0.5)


# ---------------------------------------------------------------- the whole pack


def test_every_tracks_node_of_the_pack_follows_the_rules() -> None:
    from kinesonic.nodes import NODE_CLASS_MAPPINGS

    emitters = {key for key, cls in NODE_CLASS_MAPPINGS.items() if "TRACKS" in cls.RETURN_TYPES}
    # each one is checked for torch output above or in its own tests (Track Points, Extract Tracks)
    assert emitters == {
        "KinesonicTracksFromJSON",
        "KinesonicTracksFromCoordinates",
        "KinesonicFilterTracks",
        "KinesonicPhysicsScene",
        "KinesonicTrackPoints",
        "KinesonicExtractTracks",
        "KinesonicDrawTrajectories",
    }
    # size and fps come from the model for the generator nodes, from the canvas for Draw Tracks
    own_rule = {"KinesonicGeneratorConditioning", "KinesonicGenerate", "KinesonicDrawTracks"}
    for key, cls in NODE_CLASS_MAPPINGS.items():
        spec = cls.INPUT_TYPES()
        inputs = {**spec.get("required", {}), **spec.get("optional", {})}
        takes_tracks = any(v[0] == "TRACKS" for v in inputs.values())
        if not takes_tracks or key in own_rule:
            continue
        optional = spec.get("optional", {})
        assert {"width", "height", "fps"} <= set(optional), f"{key} lacks the size / fps inputs"
        assert optional["fps"][1]["default"] == 0.0 and optional["width"][1]["default"] == 0, key
