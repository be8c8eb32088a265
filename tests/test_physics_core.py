"""Physics layer maths on analytic data: scale from gravity, velocities, contact jumps, masses, prompts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinesonic.physics.mass import guess_shape, mass_range, measure_blobs, measure_masks, volume_m3
from kinesonic.physics.materials import DENSITY, parse_material, prompt_objects
from kinesonic.physics.motion import frame_velocities, prune_cuts, refine_cuts, velocity_jump
from kinesonic.physics.scale import GRAVITY, scale_from_gravity, scale_from_size

FPS = 16.0
PPM = 80.0  # px per metre of the analytic camera


def bouncing_ball(T=33, y_floor=55.0, y0=8.0, vx=0.6, e=0.7, t_bounce=None):
    """Analytic ball (pixels, y down) falling from rest at y0, bouncing on y_floor with restitution e.

    Returns (points [T,1,2], contact frames list, true velocity [T,1,2] px/frame).
    """
    g = GRAVITY * PPM / FPS**2  # px / frame²
    t = np.arange(T, dtype=np.float64)
    h = y_floor - y0
    tc = math.sqrt(2 * h / g)  # contact (frames)
    v_hit = g * tc
    y = np.where(t <= tc, y0 + 0.5 * g * t * t, 0.0)
    vy = np.where(t <= tc, g * t, 0.0)
    after = t > tc
    s = t - tc
    y = np.where(after, y_floor - e * v_hit * s + 0.5 * g * s * s, y)
    vy = np.where(after, -e * v_hit + g * s, vy)
    x = 10.0 + vx * t
    points = np.stack([x, y], -1)[:, None]
    vel = np.stack([np.full(T, vx), vy], -1)[:, None]
    return points, [tc], vel, v_hit


def test_scale_from_an_analytic_parabola_is_exact():
    points, cuts, _, _ = bouncing_ball(T=12, y_floor=500.0)  # no bounce inside the clip
    visible = np.ones(points.shape[:2], dtype=bool)
    scale = scale_from_gravity(points, visible, [], FPS, 640, 640)
    assert scale.source == "gravity"
    assert scale.px_per_m == pytest.approx(PPM, rel=1e-9)
    assert 0 < scale.uncertainty < 0.01  # the tracker-noise floor (0.1 px) over 12 frames


def test_scale_over_a_bounce_with_its_contact_time_uses_both_flights():
    points, cuts, _, _ = bouncing_ball()
    visible = np.ones(points.shape[:2], dtype=bool)
    scale = scale_from_gravity(points, visible, cuts, FPS, 64, 64)
    assert scale.px_per_m == pytest.approx(PPM, rel=1e-6)
    assert scale.detail["flight_segments"] == 2
    # without the contact time the longest single parabola is still found
    assert scale_from_gravity(points, visible, [], FPS, 64, 64).px_per_m == pytest.approx(PPM, rel=1e-6)


def test_no_scale_without_free_flight():
    T = 33
    t = np.arange(T, dtype=np.float64)
    visible = np.ones((T, 1), dtype=bool)
    sliding = np.stack([5 + 2.0 * t - 0.03 * t * t, np.full(T, 40.0)], -1)[:, None]  # friction, no vertical
    assert scale_from_gravity(sliding, visible, [], FPS, 64, 64).source == "none"
    ramp = np.stack([5 + 0.1 * t * t, 5 + 0.04 * t * t], -1)[:, None]  # a_x = 2.5 a_y: rolling down a ramp
    assert scale_from_gravity(ramp, visible, [], FPS, 640, 640).source == "none"
    assert not scale_from_gravity(sliding, visible, [], FPS, 64, 64).known


def test_scale_from_a_known_size():
    s = scale_from_size(8.0, 0.05, 0.02)
    assert (s.px_per_m, s.source, s.uncertainty) == (160.0, "object size", 0.02)
    assert not scale_from_size(float("nan"), 0.05).known


def test_velocity_of_known_speed_tracks_is_exact():
    points, cuts, vel, v_hit = bouncing_ball()
    visible = np.ones(points.shape[:2], dtype=bool)
    est = frame_velocities(points, visible, cuts)
    np.testing.assert_allclose(est, vel, atol=1e-9)
    before, after = velocity_jump(points, visible, 0, cuts[0], cuts)
    np.testing.assert_allclose(before, [0.6, v_hit], atol=1e-9)
    np.testing.assert_allclose(after, [0.6, -0.7 * v_hit], atol=1e-9)
    # invisible frames get no velocity
    visible[5] = False
    assert np.isnan(frame_velocities(points, visible, cuts)[5]).all()


def test_prune_cuts_keeps_contacts_and_drops_cuts_in_smooth_motion():
    points, cuts, _, _ = bouncing_ball()
    visible = np.ones(points.shape[:2], dtype=bool)
    kept = prune_cuts(points, visible, [3.4, cuts[0], 20.2])
    assert kept == [cuts[0]]


def _disc(h, w, cx, cy, r):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(r - np.hypot(xx - cx, yy - cy) + 0.5, 0, 1)


def test_mass_of_a_sphere_mask_of_known_radius_and_density():
    r_px, ppm = 20.0, 400.0  # a 5 cm ball
    mask = _disc(96, 96, 47.3, 44.8, r_px) > 0.5
    (blob,) = measure_masks(mask[None])
    assert guess_shape(blob) == "ball"
    assert blob.radius_px == pytest.approx(r_px, rel=0.01)
    volume = volume_m3(blob, "ball", ppm)
    truth = 4 / 3 * math.pi * (r_px / ppm) ** 3
    assert volume == pytest.approx(truth, rel=0.03)
    m, lo, hi = mass_range(volume, DENSITY["metal"], 0.01, 0.0)
    assert m == pytest.approx(7800 * truth, rel=0.03)
    assert lo < 7800 * truth < hi


def test_box_mask_gives_box_sides_and_volume():
    mask = np.zeros((80, 80), dtype=bool)
    mask[20:40, 10:50] = True  # 40 x 20 px
    (blob,) = measure_masks(mask[None])
    assert guess_shape(blob) == "box"
    assert blob.side_px == pytest.approx((40.0, 20.0), rel=0.02)
    assert volume_m3(blob, "box", 100.0) == pytest.approx(0.4 * 0.2 * 0.2, rel=0.05)


def test_blobs_measured_in_frames_of_a_moving_shaded_ball():
    T, H, W, r = 12, 64, 64, 6.0
    bg = np.zeros((H, W, 3), np.float32) + np.linspace(60, 120, H, dtype=np.float32)[:, None, None]
    frames, points = [], []
    for t in range(T):
        cx, cy = 8.0 + 4.0 * t, 30.0 + 0.5 * t
        a = _disc(H, W, cx, cy, r)[..., None]
        shade = np.linspace(0.7, 1.1, W, dtype=np.float32)[None, :, None]
        frames.append(np.clip(bg * (1 - a) + a * np.array([200, 60, 40], np.float32) * shade, 0, 255))
        points.append([cx, cy])
    frames = np.array(frames).astype(np.uint8)
    (blob,) = measure_blobs(frames, np.array(points)[:, None], np.ones((T, 1), bool))
    assert blob.measured and guess_shape(blob) == "ball"
    assert blob.radius_px == pytest.approx(r, rel=0.05)


def test_prompt_words_name_object_materials_not_floors():
    assert prompt_objects("a small metal ball drops onto a wooden floor and bounces twice") == [
        ("metal", "ball")
    ]
    assert prompt_objects("a glass ball rolls across a stone floor and hits a resting wooden box") == [
        ("glass", "ball"),
        ("wood", "box"),
    ]
    assert prompt_objects("a box slides") == [(None, "box")]
    assert parse_material("Steel") == "metal" and parse_material("unobtainium") is None


def test_refine_cuts_moves_a_contact_reported_a_frame_early_to_the_true_time():
    points, cuts, _, _ = bouncing_ball()
    visible = np.ones(points.shape[:2], dtype=bool)
    (refined,) = refine_cuts(points, visible, [cuts[0] - 1.0])
    assert refined == pytest.approx(cuts[0], abs=0.021)
    (same,) = refine_cuts(points, visible, [cuts[0]])
    assert same == pytest.approx(cuts[0], abs=0.021)
