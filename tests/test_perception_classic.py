"""Weight-free extraction: classic segmentation, centroids, prompts, LK tracking, filter, pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from perception_synth import background, moving_objects_clip

from kinesonic.perception import (
    PerceptionError,
    classic_segment,
    extract_tracks,
    filter_tracks,
    lk_track,
    mask_centroids,
    parse_prompts,
)


def test_mask_centroids_known_shapes_and_tiny_masks_ignored():
    masks = np.zeros((4, 40, 60), dtype=bool)
    masks[0, 10:21, 30:51] = True  # rows 10..20, cols 30..50 -> centre (40, 15)
    yy, xx = np.mgrid[0:40, 0:60]
    masks[1] = (xx - 12) ** 2 + (yy - 25) ** 2 <= 36  # disc at (12, 25)
    masks[2, 0, 0] = True  # 1 px: tiny
    centres, kept = mask_centroids(masks, min_area=4)  # masks[3] empty
    assert kept.tolist() == [0, 1]
    np.testing.assert_allclose(centres, [[40.0, 15.0], [12.0, 25.0]], atol=1e-9)


def test_classic_segment_finds_moving_objects_not_static_ones():
    clip = moving_objects_clip(seed=1, n_moving=3, n_static=1)
    masks, bg = classic_segment(clip.frames)
    assert bg.shape == clip.frames.shape[1:]
    centres, _ = mask_centroids(masks)
    assert len(centres) == 3
    # every moving object is found within 1 px of its true frame-0 centroid; the static one is not
    for n in np.flatnonzero(clip.moving):
        assert np.linalg.norm(centres - clip.centres[0, n], axis=1).min() < 1.0
    static = clip.centres[0, ~clip.moving][0]
    assert np.linalg.norm(centres - static, axis=1).min() > 10.0


def test_classic_segment_errors_for_one_frame_and_no_motion():
    clip = moving_objects_clip(seed=2, frames=4)
    with pytest.raises(PerceptionError, match="at least 2 frames"):
        classic_segment(clip.frames[:1])
    still = np.repeat(background(48, 64)[None].astype(np.uint8), 8, axis=0)
    with pytest.raises(PerceptionError, match="no motion"):
        classic_segment(still)
    with pytest.raises(PerceptionError, match="no motion"):
        extract_tracks(still, fps=16)


def test_lk_track_follows_a_textured_patch_with_known_displacement():
    rng = np.random.default_rng(0)
    H, W, T = 64, 96, 10
    bg = rng.integers(0, 60, size=(H, W, 3)).astype(np.uint8)
    patch = rng.integers(120, 255, size=(14, 14, 3)).astype(np.uint8)
    frames = np.repeat(bg[None], T, axis=0)
    for t in range(T):
        x0, y0 = 10 + 3 * t, 20 + 1 * t  # moves (+3, +1) px per frame
        frames[t, y0 : y0 + 14, x0 : x0 + 14] = patch
    start = np.array([[10 + 6.5, 20 + 6.5]])
    mask = np.zeros((1, H, W), dtype=bool)
    mask[0, 20:34, 10:24] = True
    tracks, visible = lk_track(frames, start, mask)
    expected = start[0] + np.stack([3.0 * np.arange(T), 1.0 * np.arange(T)], axis=1)
    assert visible.all()
    np.testing.assert_allclose(tracks[:, 0], expected, atol=0.25)


def test_lk_track_marks_a_vanished_object_invisible():
    rng = np.random.default_rng(1)
    frames = np.repeat(rng.integers(0, 60, size=(1, 48, 48, 3)).astype(np.uint8), 6, axis=0)
    patch = rng.integers(150, 255, size=(10, 10, 3)).astype(np.uint8)
    for t in range(3):
        frames[t, 10:20, 10 + 2 * t : 20 + 2 * t] = patch
    tracks, visible = lk_track(frames, [[14.5, 14.5]])
    assert visible[:3, 0].all()
    assert not visible[4:, 0].any()  # the patch is gone from frame 3 on


def test_filter_tracks_reasons():
    T = 10
    t = np.arange(T, dtype=float)
    points = np.zeros((T, 4, 2))
    visible = np.ones((T, 4), dtype=bool)
    points[:, 0] = np.stack([20 + 2 * t, 30 + 0 * t], axis=1)  # good: moves 18 px
    points[:, 1] = [[40.0, 40.0]] * T  # static
    points[:, 2] = np.stack([1 + 0.3 * t, 30 + 2 * t], axis=1)  # hugs the left border
    points[:, 3] = np.stack([50 + 3 * t, 20 + 0 * t], axis=1)
    visible[3:, 3] = False  # seen 3/10 frames
    result = filter_tracks(points, visible, 100, 80, min_visible=0.5, min_motion=3.0, border=4.0)
    assert result.keep.tolist() == [True, False, False, False]
    assert "moves" in result.reasons[1] and "border" in result.reasons[2] and "3/10" in result.reasons[3]
    # thresholds are honoured: no border check and static allowed keeps tracks 1 and 2
    loose = filter_tracks(points, visible, 100, 80, min_visible=0.5, min_motion=0.0, border=0.0)
    assert loose.keep.tolist() == [True, True, True, False]


def test_parse_prompts_kjnodes_and_dict_forms():
    pts = json.dumps([{"x": 10, "y": 20}, {"x": 30.5, "y": 4}])
    neg = json.dumps([{"x": 1, "y": 2}])
    prompts = parse_prompts(pts, neg, "[[5, 6, 25, 16]]")
    assert [p.points for p in prompts[:2]] == [[(10.0, 20.0)], [(30.5, 4.0)]]
    assert prompts[0].negative == [(1.0, 2.0)]
    assert prompts[2].box == (5.0, 6.0, 25.0, 16.0) and prompts[2].points == []
    objects = parse_prompts({"objects": [{"points": [[3, 4], [5, 6]], "box": [9, 9, 1, 1]}]})
    assert objects[0].points == [(3.0, 4.0), (5.0, 6.0)] and objects[0].box == (1.0, 1.0, 9.0, 9.0)
    assert parse_prompts("") == []
    with pytest.raises(PerceptionError, match="JSON"):
        parse_prompts("[{x: 1}")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pipeline_recovers_synthetic_tracks(seed):
    clip = moving_objects_clip(seed=seed + 10, n_moving=3, n_static=1, width=128, height=96, frames=16)
    extraction = extract_tracks(clip.frames, fps=16.0)
    tracks = extraction.tracks()
    assert (tracks.width, tracks.height, tracks.num_frames, tracks.fps) == (128, 96, 16, 16.0)
    found = 0
    for n in np.flatnonzero(clip.moving):
        d0 = np.linalg.norm(tracks.points[0] - clip.centres[0, n], axis=1)
        k = int(d0.argmin())
        if d0[k] > 3.0:
            continue
        found += 1
        err = np.linalg.norm(tracks.points[:, k] - clip.centres[:, n], axis=1)[tracks.visible[:, k]]
        assert np.median(err) < 1.0, (n, err)
    assert found == 3


def test_object_resting_most_of_the_clip_then_nudged_is_found():
    H, W, T = 64, 96, 16
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    bg = np.stack([90 + 60 * yy / H, 140 + 0 * xx, 120 + 30 * xx / W], axis=-1)
    frames = np.empty((T, H, W, 3), dtype=np.uint8)
    for t in range(T):
        cx = 40.0 if t < 12 else 48.0  # rests 12 of 16 frames, then nudged 8 px (less than its size)
        inside = (xx - cx) ** 2 + (yy - 30) ** 2 <= 9.0**2
        shade = 1.0 - 0.3 * ((xx - cx) + (yy - 30)) / 18.0
        img = bg.copy()
        img[inside] = np.array([220.0, 60.0, 40.0]) * shade[inside][:, None]
        frames[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    masks, _ = classic_segment(frames)
    centres, _ = mask_centroids(masks)
    assert len(centres) == 1
    np.testing.assert_allclose(centres[0], [40.0, 30.0], atol=0.5)
