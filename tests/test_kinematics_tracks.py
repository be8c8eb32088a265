"""Tracks: validation, interpolation and the three JSON formats (known-answer cases)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kinesonic.kinematics import Tracks


def _tracks(T: int = 6, labels: tuple[str, ...] | None = ("ball", "box")) -> Tracks:
    t = np.arange(T, dtype=np.float64)
    points = np.stack(
        [np.stack([10 + 3.25 * t, 20 + 0.5 * t], -1), np.stack([100 - 2 * t, 50 + t**2 / 3], -1)], axis=1
    )
    visible = np.ones((T, 2), dtype=bool)
    visible[2, 1] = False
    return Tracks(points, visible, 16, 128, 96, labels)


def test_properties_and_immutability() -> None:
    tr = _tracks()
    assert (tr.num_frames, tr.num_tracks) == (6, 2)
    assert tr.duration_s == pytest.approx(6 / 16)
    np.testing.assert_allclose(tr.times, np.arange(6) / 16)
    assert tr.scale == 128.0
    assert tr.points.dtype == np.float64 and tr.visible.dtype == bool
    with pytest.raises(ValueError):
        tr.points[0, 0, 0] = 1.0  # read-only
    assert _tracks(labels=None).names == ("track_0", "track_1")


def test_interpolation_hand_case() -> None:
    # x = 0, 1, ?, ?, 4, ?  and  y = ?, 5, ?, 7, ?, ?  (? = invisible, stored as NaN)
    points = np.full((6, 2, 2), np.nan)
    visible = np.zeros((6, 2), dtype=bool)
    for t, x in [(0, 0.0), (1, 1.0), (4, 4.0)]:
        points[t, 0] = (x, 2 * x)
        visible[t, 0] = True
    for t, y in [(1, 5.0), (3, 7.0)]:
        points[t, 1] = (10.0, y)
        visible[t, 1] = True
    tr = Tracks(points, visible, 16, 64, 64)
    filled = tr.interpolated()
    np.testing.assert_allclose(filled[:, 0, 0], [0, 1, 2, 3, 4, 4])  # linear inside, constant after
    np.testing.assert_allclose(filled[:, 0, 1], [0, 2, 4, 6, 8, 8])
    np.testing.assert_allclose(filled[:, 1, 1], [5, 5, 6, 7, 7, 7])  # constant before and after
    # NaN at invisible frames is replaced by the same interpolation in the stored points
    np.testing.assert_allclose(tr.points, filled)
    np.testing.assert_allclose(tr.normalized(), filled / 64)


def test_never_visible_track() -> None:
    points = np.zeros((5, 2, 2))
    visible = np.zeros((5, 2), dtype=bool)
    visible[:, 0] = True
    tr = Tracks(points, visible, 16, 64, 64, ("a", "ghost"))
    with pytest.raises(ValueError, match="track 1 is never visible"):
        tr.interpolated()
    kept = tr.drop_never_visible()
    assert kept.num_tracks == 1 and kept.labels == ("a",)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, v: Tracks(np.where(np.arange(6)[:, None, None] == 3, np.nan, p), v, 16, 128, 96), "NaN"),
        (lambda p, v: Tracks(p[:, :, :1], v, 16, 128, 96), "shape"),
        (lambda p, v: Tracks(p, v[:4], 16, 128, 96), "shape"),
        (lambda p, v: Tracks(p[:0], v[:0], 16, 128, 96), "empty"),
        (lambda p, v: Tracks(p[:, :0], v[:, :0], 16, 128, 96), "empty"),
        (lambda p, v: Tracks(p + [[[0, 200]]], v, 16, 128, 96), "far outside"),
        (lambda p, v: Tracks(p, v, 0, 128, 96), "fps"),
        (lambda p, v: Tracks(p, v, 16, -1, 96), "width"),
        (lambda p, v: Tracks(p, v, 16, 128, 96, ("one",)), "labels"),
    ],
)
def test_bad_input_names_the_problem(make, message: str) -> None:
    tr = _tracks()
    points, visible = np.array(tr.points), np.ones((6, 2), dtype=bool)
    with pytest.raises(ValueError, match=message):
        make(points, visible)


def test_point_just_inside_tolerance_is_accepted() -> None:
    # 50 % of the size outside is the limit: x = -0.5 * 128 is fine, -0.5 * 128 - 1 is not.
    points = np.array([[[-64.0, 0.0]], [[0.0, 96 + 48.0]]])
    Tracks(points, np.ones((2, 1), bool), 16, 128, 96)
    with pytest.raises(ValueError, match="far outside"):
        Tracks(points - [[[1.0, 0.0]]], np.ones((2, 1), bool), 16, 128, 96)


def test_invisible_points_far_outside_are_allowed() -> None:
    points = np.array([[[10.0, 10.0]], [[9999.0, 10.0]], [[12.0, 10.0]]])
    tr = Tracks(points, np.array([[True], [False], [True]]), 16, 64, 64)
    np.testing.assert_allclose(tr.interpolated()[1, 0], [11.0, 10.0])


def test_kinesonic_json_round_trip() -> None:
    tr = _tracks()
    text = tr.to_json()
    doc = json.loads(text)
    assert doc["format"] == "kinesonic.tracks" and doc["version"] == 1
    assert doc["fps"] == 16 and doc["width"] == 128 and doc["height"] == 96
    assert doc["tracks"][0]["label"] == "ball"
    assert doc["tracks"][1]["points"][2] is None  # invisible frame
    assert doc["tracks"][0]["points"][1] == [13.25, 20.5]
    back = Tracks.from_json(text)
    np.testing.assert_array_equal(back.visible, tr.visible)
    np.testing.assert_array_equal(back.points[tr.visible], tr.points[tr.visible])  # exact floats
    assert (back.fps, back.width, back.height, back.labels) == (16.0, 128, 96, ("ball", "box"))
    assert Tracks.from_json(doc).labels == ("ball", "box")  # already-parsed dict works too


def test_kinesonic_json_errors() -> None:
    doc = _tracks().to_dict()
    doc["tracks"][1]["points"] = doc["tracks"][1]["points"][:-1]
    with pytest.raises(ValueError, match="mismatched lengths"):
        Tracks.from_json(doc)
    with pytest.raises(ValueError, match="empty"):
        Tracks.from_json({**doc, "tracks": []})
    bad = _tracks().to_dict()
    bad["tracks"][0]["points"][3] = [float("nan"), 1.0]
    with pytest.raises(ValueError, match="NaN"):
        Tracks.from_json(json.dumps(bad))
    with pytest.raises(ValueError, match="not valid JSON"):
        Tracks.from_json("{not json")
    with pytest.raises(ValueError, match="version"):
        Tracks.from_json({**_tracks().to_dict(), "version": 7})


def test_comfy_dict_round_trip_numpy_torch_and_lists() -> None:
    torch = pytest.importorskip("torch")
    tr = _tracks()
    d = tr.to_comfy()
    assert d["track_path"].shape == (6, 2, 2) and d["track_visibility"].dtype == bool
    assert d["fps"] == 16 and d["labels"] == ["ball", "box"]
    for variant in (
        d,
        tr.to_comfy(as_torch=True),
        {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in d.items()},
    ):
        back = Tracks.from_comfy(variant)
        np.testing.assert_allclose(back.points, tr.points.astype(np.float32))
        np.testing.assert_array_equal(back.visible, tr.visible)
        assert (back.fps, back.width, back.height, back.labels) == (16.0, 128, 96, ("ball", "box"))
    assert isinstance(tr.to_comfy(as_torch=True)["track_path"], torch.Tensor)
    # core TRACKS without our extras: size from keywords, fps defaults to 16; text JSON also works
    core = {"track_path": d["track_path"].tolist(), "track_visibility": d["track_visibility"].tolist()}
    back = Tracks.from_json(json.dumps(core), width=128, height=96)
    assert back.fps == 16.0 and back.labels is None
    with pytest.raises(ValueError, match="width"):
        Tracks.from_comfy(core)


def test_kjnodes_formats_round_trip() -> None:
    one = [{"x": 1.5, "y": 2.0}, {"x": 3.0, "y": 4.25}, {"x": 5.0, "y": 6.0}]
    two = [{"x": 10.0, "y": 20.0}, {"x": 11.0, "y": 21.0}, {"x": 12.0, "y": 22.0}]
    expected = np.array([[[1.5, 2.0], [10, 20]], [[3.0, 4.25], [11, 21]], [[5.0, 6.0], [12, 22]]])
    single = Tracks.from_json(json.dumps(one), width=64, height=48, fps=24)
    assert single.num_tracks == 1 and single.fps == 24.0 and single.width == 64
    np.testing.assert_allclose(single.points[:, 0], expected[:, 0])
    for data in (
        [one, two],  # list of lists
        json.dumps([one, two]),
        [json.dumps(one), json.dumps(two)],  # SplineEditor: list of JSON strings
        json.dumps(one) + "\n" + json.dumps(two),  # one track per line
        repr([one, two]),  # Python repr with single quotes
    ):
        tr = Tracks.from_json(data, width=64, height=48)
        np.testing.assert_allclose(tr.points, expected)
        assert tr.visible.all() and tr.fps == 16.0
    tr = Tracks.from_json([one, two], width=64, height=48)
    again = Tracks.from_json(tr.to_kjnodes(), width=64, height=48)
    np.testing.assert_allclose(again.points, tr.points)
    assert json.loads(tr.to_kjnodes(0)) == one


def test_kjnodes_errors() -> None:
    one = [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]
    with pytest.raises(ValueError, match="width and height"):
        Tracks.from_json(one)
    with pytest.raises(ValueError, match="mismatched lengths"):
        Tracks.from_json([one, one[:1]], width=8, height=8)
    with pytest.raises(ValueError, match="empty"):
        Tracks.from_json([], width=8, height=8)
    with pytest.raises(ValueError, match="'x'"):
        Tracks.from_json([{"x": 1.0}], width=8, height=8)
    with pytest.raises(ValueError, match="far outside"):
        Tracks.from_json([{"x": 1.0, "y": 500.0}], width=8, height=8)


def test_select_and_replace() -> None:
    tr = _tracks()
    sub = tr.select([1])
    assert sub.labels == ("box",)
    np.testing.assert_array_equal(sub.points[:, 0], tr.points[:, 1])
    assert tr.replace(fps=32).fps == 32.0 and tr.fps == 16.0
