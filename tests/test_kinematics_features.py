"""Kinematic state, latent alignment, compression and stats, grid projection and masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinesonic.kinematics import (
    KinematicStats,
    Tracks,
    align_array,
    align_to_latent,
    compress_state,
    kinematic_state,
    latent_grid_size,
    project_to_grid,
    signed_exp,
    signed_log,
    soft_trajectory_mask,
    trajectory_mask,
)


def _single(points: np.ndarray, fps: float, width: int = 256, height: int = 256) -> Tracks:
    return Tracks(points[:, None, :], np.ones((len(points), 1), dtype=bool), fps, width, height)


def test_projectile_derivatives_exact_at_every_frame() -> None:
    fps, T, W, H = 16.0, 20, 320, 240
    x0, y0, vx, vy, g = 12.0, 30.0, 55.0, -80.0, 196.0  # pixels, pixels/s, pixels/s²
    t = np.arange(T) / fps
    pts = np.stack([x0 + vx * t, y0 + vy * t + 0.5 * g * t**2], axis=-1)
    state = kinematic_state(_single(pts, fps, W, H))[:, 0]
    s = float(max(W, H))
    np.testing.assert_allclose(state[:, 0], pts[:, 0] / s, rtol=1e-12)
    np.testing.assert_allclose(state[:, 1], pts[:, 1] / s, rtol=1e-12)
    np.testing.assert_allclose(state[:, 2], vx / s, rtol=1e-9)
    np.testing.assert_allclose(state[:, 3], (vy + g * t) / s, rtol=1e-9, atol=1e-9 * g / s)
    np.testing.assert_allclose(state[:, 4], 0.0, atol=1e-9 * g / s)
    np.testing.assert_allclose(state[:, 5], g / s, rtol=1e-9)
    np.testing.assert_allclose(state[:, 6], np.hypot(vx, vy + g * t) / s, rtol=1e-9)
    np.testing.assert_allclose(state[:, 7], g / s, rtol=1e-9)


def test_uniform_circular_motion_speed_within_one_percent() -> None:
    fps, R, omega = 32.0, 80.0, 2 * math.pi * 0.75
    t = np.arange(64) / fps
    pts = np.stack([128 + R * np.cos(omega * t), 128 + R * np.sin(omega * t)], axis=-1)
    state = kinematic_state(_single(pts, fps))[:, 0]
    np.testing.assert_allclose(state[:, 6] * 256, omega * R, rtol=0.01)
    np.testing.assert_allclose(state[:, 7] * 256, omega**2 * R, rtol=0.03)


def test_kinematic_state_uses_interpolated_invisible_frames() -> None:
    t = np.arange(8) / 16
    pts = np.stack([10 + 40 * t, 20 + 0 * t], -1)[:, None]
    visible = np.ones((8, 1), dtype=bool)
    visible[3:5] = False
    pts_hidden = pts.copy()
    pts_hidden[3:5] = 999.0  # garbage at invisible frames is ignored
    state = kinematic_state(Tracks(pts_hidden, visible, 16, 256, 256))
    np.testing.assert_allclose(state[:, 0, 2] * 256, 40.0, rtol=1e-9)


def test_fewer_than_four_frames_is_an_error() -> None:
    tr = _single(np.zeros((3, 2)), 16)
    with pytest.raises(ValueError, match="at least 4 frames"):
        kinematic_state(tr)


def test_align_to_latent_17_and_18_frames() -> None:
    for T, expected_x in [
        (17, [0, 2.5, 6.5, 10.5, 14.5]),
        (18, [0, 2.5, 6.5, 10.5, 14.5, 17]),
    ]:
        i = np.arange(T, dtype=np.float64)
        tr = Tracks(np.stack([i, 2 * i], -1)[:, None], np.ones((T, 1), bool), 16, 64, 64, ("a",))
        out = align_to_latent(tr, 4)
        assert out.num_frames == 1 + math.ceil((T - 1) / 4) == len(expected_x)
        assert out.fps == 4.0 and out.labels == ("a",)
        np.testing.assert_allclose(out.points[:, 0, 0], expected_x)
        np.testing.assert_allclose(out.points[:, 0, 1], 2 * np.asarray(expected_x))
    assert align_to_latent(tr, 1) is tr
    with pytest.raises(ValueError, match="stride"):
        align_to_latent(tr, 0)


def test_align_array_matches_hand_means_and_keeps_trailing_dims() -> None:
    np.testing.assert_allclose(align_array(np.arange(18.0), 4), [0, 2.5, 6.5, 10.5, 14.5, 17])
    values = np.arange(2 * 3 * 5, dtype=np.float64).reshape(5, 3, 2)
    out = align_array(values, 2)  # groups {0}, {1, 2}, {3, 4}
    assert out.shape == (3, 3, 2)
    np.testing.assert_allclose(out[1], values[1:3].mean(axis=0))
    np.testing.assert_allclose(out[2], values[3:5].mean(axis=0))
    with pytest.raises(ValueError, match="stride"):
        align_array(values, 2.5)


def test_align_to_latent_visibility_is_any_in_group() -> None:
    visible = np.array([True, False, False, False, False, True, False, False, False])[:, None]
    pts = np.arange(9, dtype=np.float64)[:, None, None].repeat(2, axis=2)
    out = align_to_latent(Tracks(pts, visible, 16, 64, 64), 4)
    np.testing.assert_array_equal(out.visible[:, 0], [True, False, True])
    # frames 1..4 are interpolated between frames 0 and 5 (1, 2, 3, 4 -> mean 2.5);
    # frames 6..8 are after the last visible frame and hold its value 5
    np.testing.assert_allclose(out.points[:, 0, 0], [0.0, 2.5, 5.0])


def test_signed_log_and_compression() -> None:
    np.testing.assert_allclose(signed_log([math.e - 1, 0.0, -(math.e**2 - 1)]), [1.0, 0.0, -2.0])
    x = np.linspace(-50, 50, 11)
    np.testing.assert_allclose(signed_exp(signed_log(x)), x, rtol=1e-12)
    state = np.arange(16, dtype=np.float64).reshape(2, 8) - 4
    c = compress_state(state)
    np.testing.assert_array_equal(c[:, :2], state[:, :2])  # positions untouched
    np.testing.assert_allclose(c[:, 2:], np.sign(state[:, 2:]) * np.log1p(np.abs(state[:, 2:])))


def test_stats_from_states_normalize_and_json() -> None:
    rng = np.random.default_rng(0)
    states = [rng.normal(size=(10, 3, 8)) * 3, rng.normal(size=(7, 2, 8))]
    stats = KinematicStats.from_states(states)
    sample = np.concatenate([compress_state(s).reshape(-1, 8) for s in states])
    np.testing.assert_allclose(stats.mean, sample.mean(axis=0))
    np.testing.assert_allclose(stats.std, sample.std(axis=0))
    assert stats.count == 10 * 3 + 7 * 2
    feats = stats.normalize(states[0])
    np.testing.assert_allclose(stats.denormalize(feats), states[0], rtol=1e-9, atol=1e-12)
    pooled = np.concatenate([stats.normalize(s).reshape(-1, 8) for s in states])
    np.testing.assert_allclose(pooled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(pooled.std(axis=0), 1.0, rtol=1e-12)
    back = KinematicStats.from_json(stats.to_json())
    assert back == stats
    np.testing.assert_allclose(KinematicStats.identity().normalize(states[1]), compress_state(states[1]))
    visible = np.zeros((10, 3), dtype=bool)
    visible[0, 0] = True
    only_one = KinematicStats.from_states(states[0], visible)
    np.testing.assert_allclose(only_one.mean, compress_state(states[0][0, 0]))
    with pytest.raises(ValueError, match="8"):
        KinematicStats.from_json({"mean": [0] * 7, "std": [1] * 7})
    with pytest.raises(ValueError, match="JSON"):
        KinematicStats.from_json("nope")


def test_grid_projection_by_hand() -> None:
    assert latent_grid_size(64, 64, 8) == (8, 8)
    assert latent_grid_size(100, 60, 8) == (8, 13)  # (h, w) = (ceil(60/8), ceil(100/8))
    cells = project_to_grid(np.array([[63.9, 0.0], [3.9, 4.1], [-10.0, 70.0], [28.0, 36.0]]), 8, 64, 64)
    np.testing.assert_array_equal(cells, [[7, 0], [0, 1], [0, 7], [4, 5]])


def test_trajectory_mask_and_soft_mask() -> None:
    pts = np.array([[[0.0, 0.0], [63.9, 0.0]], [[16.0, 8.0], [40.0, 40.0]]])
    visible = np.array([[True, True], [True, False]])
    tr = Tracks(pts, visible, 16, 64, 64)
    mask = trajectory_mask(tr, 8)
    assert mask.shape == (2, 8, 8) and mask.dtype == bool
    assert {tuple(c) for c in np.argwhere(mask)} == {(0, 0, 0), (0, 0, 7), (1, 1, 2)}  # (t, row, col)
    # with invisible frames included, track 1 at frame 1 is held at its last visible point (63.9, 0),
    # not at the raw tracker value (40, 40)
    everything = trajectory_mask(tr, 8, visible_only=False)
    assert everything[1, 0, 7] and not everything[1, 5, 5]
    soft = soft_trajectory_mask(mask, sigma=1.5)
    assert soft.shape == mask.shape and soft.dtype == np.float32
    assert soft.min() >= 0.0 and soft.max() <= 1.0
    assert soft[1, 1, 2] == 1.0 and soft[0, 0, 0] == 1.0 and soft[0, 0, 7] == 1.0
    assert soft[1, 1, 3] == pytest.approx(math.exp(-1 / (2 * 1.5**2)), rel=1e-6)
    assert soft[1, 3, 4] == pytest.approx(math.exp(-8 / (2 * 1.5**2)), rel=1e-6)
    empty = soft_trajectory_mask(np.zeros((1, 4, 4), dtype=bool), 1.0)
    assert not empty.any()
    np.testing.assert_array_equal(soft_trajectory_mask(mask, 0), mask.astype(np.float32))


def test_latent_state_keeps_uniform_velocity_where_differentiating_aligned_tracks_does_not() -> None:
    from kinesonic.kinematics import encode_kinematics, latent_kinematic_state

    t = np.arange(33) / 16
    tr = _single(np.stack([10 + 64 * t, 100 + 0 * t], -1), 16)  # 64 px/s = 0.25 image sizes/s
    latent = latent_kinematic_state(tr, 4)
    assert latent.shape == (9, 1, 8)
    np.testing.assert_allclose(latent[:, 0, 2], 0.25, rtol=1e-9)
    np.testing.assert_allclose(latent[:, 0, 4:6], 0.0, atol=1e-9)
    # the naive path: latent frame 0 is at t=0 but frame 1 averages frames 1..4 (centre 2.5/16 s, not 4/16 s)
    naive = kinematic_state(align_to_latent(tr, 4))
    assert abs(naive[0, 0, 2] - 0.25) > 0.05
    kin = encode_kinematics(tr, 4)
    np.testing.assert_allclose(kin["state"], latent.astype(np.float32))
    assert kin["dt"] == 0.25 and kin["stride"] == 4 and kin["events"] == [] and kin["visible"].shape == (9, 1)
