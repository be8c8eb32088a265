"""Event detection on simulated contacts and motion strength on analytic motions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinesonic.kinematics import Tracks, detect_events, find_events, motion_strength

FPS = 16.0


def bouncing_ball(
    T: int, e: float, t_offset: float, y0: float = 40.0, floor: float = 230.0, g: float = 600.0
) -> tuple[np.ndarray, list[float]]:
    """Ball dropped from rest at y0 (pixels, y down) onto a floor, restitution e, exact piecewise parabolas.

    Sampled at frame times ``i / FPS`` with the drop at ``-t_offset`` s; returns ``[T, 1, 2]`` points
    and the contact times (seconds, clip time) that fall inside the clip.
    """
    v = math.sqrt(2 * g * (floor - y0))
    contacts, speeds = [math.sqrt(2 * (floor - y0) / g)], [v]
    for _ in range(12):
        speeds.append(e * speeds[-1])
        contacts.append(contacts[-1] + 2 * speeds[-1] / g)
    ts = np.arange(T) / FPS + t_offset
    ys = np.empty(T)
    for i, t in enumerate(ts):
        if t < contacts[0]:
            ys[i] = y0 + 0.5 * g * t**2
        else:
            k = int(np.searchsorted(contacts, t, side="right")) - 1
            s = t - contacts[k]
            ys[i] = floor - speeds[k + 1] * s + 0.5 * g * s**2
    xs = 20.0 + 40.0 * (ts - t_offset)
    inside = [c - t_offset for c in contacts if t_offset <= c <= ts[-1]]
    return np.stack([xs, ys], axis=-1)[:, None, :], inside


def _tracks(points: np.ndarray) -> Tracks:
    return Tracks(points, np.ones(points.shape[:2], dtype=bool), FPS, 256, 256)


@pytest.mark.parametrize("e", [0.7, 0.8])
@pytest.mark.parametrize("phase", [0.0, 0.3, 0.55, 0.8])
def test_every_bounce_found_within_one_frame(e: float, phase: float) -> None:
    T = 56  # 3.5 s: 4 contacts for e = 0.7 and 3 for e = 0.8, all >= 6 frames apart and >= 3 from the ends
    points, contacts = bouncing_ball(T, e, phase / FPS)
    assert len(contacts) >= 3
    assert all(3 / FPS <= c <= (T - 4) / FPS for c in contacts)
    events = detect_events(_tracks(points))
    assert len(events) == len(contacts), (events, contacts)
    for found, true in zip(events, contacts, strict=True):
        assert abs(found - true) <= 1 / FPS, (found, true)


def test_two_objects_same_contact_reported_once_and_track_index() -> None:
    points, contacts = bouncing_ball(56, 0.8, 0.0)
    both = np.concatenate([points, points + [[[100.0, 0.0]]]], axis=1)
    events = find_events(Tracks(both, np.ones((56, 2), bool), FPS, 256, 256))
    assert len(events) == len(contacts)
    assert all(ev.track in (0, 1) and ev.strength > 0 for ev in events)
    np.testing.assert_allclose([ev.time_s for ev in events], [ev.frame / FPS for ev in events])


@pytest.mark.parametrize(
    "motion",
    [
        lambda t: (20 + 40 * t, 200 - 150 * t + 0.5 * 80 * t**2),  # smooth parabola (constant |a|)
        lambda t: (20 + 50 * t, 220 - 170 * t + 0.5 * 100 * t**2),  # another one, stronger gravity
        lambda t: (10 + 50 * t, 30 + 20 * t),  # uniform straight motion
        lambda t: (100 + 0 * t, 50 + 0 * t),  # static point
        # strong gravity (600 px/s², above the 1 px/frame² floor): only the constant-|a| guard rejects it
        lambda t: (20 + 60 * t[:24], 230 - 450 * t[:24] + 300 * t[:24] ** 2),
    ],
)
def test_no_event_on_smooth_motion(motion) -> None:
    t = np.arange(64) / FPS
    x, y = motion(t)
    assert detect_events(_tracks(np.stack([x, y], -1)[:, None])) == []


def test_floors_are_what_reject_a_ripple_on_a_strong_parabola() -> None:
    t = np.arange(24) / FPS
    ripple = 1e-3 * np.sin(2.3 * np.arange(24))  # a thousandth of a pixel on top of constant gravity
    points = np.stack([20 + 60 * t, 230 - 450 * t + 300 * t**2 + ripple], -1)[:, None]
    assert detect_events(_tracks(points)) == []
    # with the absolute floor, the clip-level fraction and the noise guard off, its maxima become events
    off = {"min_jump_px": 0.0, "percentile_fraction": 0.0, "noise_factor": 0.0}
    assert len(detect_events(_tracks(points), **off)) > 0


def test_events_need_four_frames() -> None:
    with pytest.raises(ValueError, match="at least 4 frames"):
        detect_events(_tracks(np.zeros((3, 1, 2))))


def test_motion_strength_known_answers() -> None:
    t = np.arange(48) / 32.0
    omega, R = math.pi, 60.0
    circle = np.stack([128 + R * np.cos(omega * t), 128 + R * np.sin(omega * t)], -1)[:, None]
    tracks = Tracks(circle, np.ones((48, 1), bool), 32.0, 256, 256)
    # constant |v| and |a|: each ratio is 1, so the strength is 2 everywhere (up to the FD error,
    # largest at the one-sided ends: about (omega dt)^2 relative)
    np.testing.assert_allclose(motion_strength(tracks), 2.0, atol=0.02)
    line = np.stack([10 + 50 * t, 30 + 20 * t], -1)[:, None]
    static = np.full((48, 1, 2), 77.0)
    np.testing.assert_allclose(motion_strength(Tracks(line, np.ones((48, 1), bool), 32, 256, 256)), 1.0)
    np.testing.assert_array_equal(motion_strength(Tracks(static, np.ones((48, 1), bool), 32, 256, 256)), 0.0)
    both = np.concatenate([line, static], axis=1)  # averaged over objects: (1 + 0) / 2
    np.testing.assert_allclose(motion_strength(Tracks(both, np.ones((48, 2), bool), 32, 256, 256)), 0.5)


def test_motion_strength_peaks_at_bounce() -> None:
    points, contacts = bouncing_ball(56, 0.8, 0.0)
    strength = motion_strength(_tracks(points))
    assert strength.shape == (56,)
    peak = int(np.argmax(strength))
    assert abs(peak / FPS - contacts[0]) <= 1 / FPS


# ----------------------------------------------------------------------------- piecewise-ballistic tracks

G = 2.5  # px / frame², gravity along +y (down)


def piecewise_ballistic(
    T: int, contacts: list[tuple[float, tuple, tuple | None]], p0=(10.0, 20.0), v0=(1.5, 0.0)
) -> np.ndarray:
    """``[T, 1, 2]`` points (px) of exact parabolas joined at contacts.

    ``contacts``: ``(c, v_after, a_after)`` with ``c`` in frames, velocity after the contact in px/frame
    and the acceleration after it in px/frame² (``None``: unchanged). Positions are continuous.
    """
    segments = [(0.0, np.array(p0), np.array(v0), np.array((0.0, G)))]
    for c, v_after, a_after in contacts:
        t0, p, v, a = segments[-1]
        d = c - t0
        segments.append(
            (
                c,
                p + v * d + a * d * d / 2,
                np.array(v_after, float),
                a if a_after is None else np.array(a_after, float),
            )
        )
    points = np.empty((T, 2))
    for i in range(T):
        t0, p, v, a = [s for s in segments if s[0] <= i][-1]
        d = i - t0
        points[i] = p + v * d + a * d * d / 2
    return points[:, None, :]


def _frames(points: np.ndarray, **options) -> list[float]:
    return [e.frame for e in find_events(_tracks(points), **options)]


@pytest.mark.parametrize("phase", [0.0, 0.1, 0.37, 0.5, 0.73, 0.95])
@pytest.mark.parametrize("gap", [2.0, 2.3, 3.0, 3.6])
@pytest.mark.parametrize("kind", ["rebound", "landing", "sliding"])
def test_exact_sub_frame_times_of_close_contacts(phase: float, gap: float, kind: str) -> None:
    """Bounce at 8 + phase; ``gap`` frames later a rebound / a landing to rest / a landing into a slide."""
    c1, c2 = 8.0 + phase, 8.0 + phase + gap
    up = G * gap / 2  # rebound speed that brings the ball back to the floor after ``gap`` frames
    second = {
        "rebound": (c2, (1.0, -0.6 * up), None),
        "landing": (c2, (0.0, 0.0), (0.0, 0.0)),
        "sliding": (c2, (1.0, 0.0), (-0.08, 0.0)),  # friction decelerates the slide
    }[kind]
    points = piecewise_ballistic(24, [(c1, (1.2, -up), None), second])
    found = _frames(points)
    assert len(found) == 2, found
    # exact: the 2-frame model is exact for piecewise-ballistic tracks (1e-6 s = 1.6e-5 frames at 16 fps)
    np.testing.assert_allclose(found, [c1, c2], atol=1e-6 * FPS)


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.9])
def test_landing_without_rebound_and_rest_for_most_of_the_clip(phase: float) -> None:
    c = 5.0 + phase  # falls for ~5 frames, then rests for ~27 frames
    points = piecewise_ballistic(33, [(c, (0.0, 0.0), (0.0, 0.0))], v0=(0.0, 1.0))
    rng = np.random.default_rng(0)
    noisy = points + rng.normal(0.0, 1e-9, points.shape)  # float-level noise: no peak at rest or in flight
    for pts in (points, noisy):
        found = _frames(pts)
        assert len(found) == 1, found
        assert abs(found[0] - c) <= 1e-4


def test_rest_then_fall_and_late_landing() -> None:
    """At rest, pushed off a ledge (no velocity jump: acceleration step 0 -> g), lands near the end."""
    p0, ledge, land = np.array([30.0, 40.0]), 20.0, 26.4
    points = np.empty((33, 1, 2))
    for i in range(33):
        if i <= ledge:
            points[i, 0] = p0
        else:
            d = min(i, land) - ledge
            points[i, 0] = p0 + [0.0, G * d * d / 2]
    assert _frames(points) == pytest.approx([land], abs=1e-4)


def test_acceleration_steps_without_contact_give_no_event() -> None:
    """A push: force on at 6.3, off at 11.7 (acceleration steps, continuous velocity), friction stops it."""
    points = piecewise_ballistic(
        33,
        [(6.3, (0.0, 0.0), (0.6, 0.0)), (11.7, (3.24, 0.0), (-0.3, 0.0)), (22.5, (0.0, 0.0), (0.0, 0.0))],
        v0=(0.0, 0.0),
    )
    points[:, 0, 1] = 20.0  # no gravity: the box sits on a table
    assert _frames(points) == []


@pytest.mark.parametrize("sigma", [0.1, 0.2, 0.3])
def test_tracker_jitter_gives_no_false_events(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma * 10))
    t = np.arange(64) / FPS
    motions = [
        (20 + 40 * t, 200 - 150 * t + 0.5 * 80 * t**2),  # parabola
        (10 + 50 * t, 30 + 20 * t),  # uniform motion
        (128 + 60 * np.cos(np.pi * t), 128 + 60 * np.sin(np.pi * t)),  # circle: smoothly turning acceleration
        (100 + 0 * t, 50 + 0 * t),  # static
    ]
    false_events = 0
    for _ in range(15):
        for x, y in motions:
            points = np.stack([x, y], -1)[:, None] + rng.normal(0.0, sigma, (64, 1, 2))
            false_events += len(detect_events(_tracks(points)))
    assert false_events == 0


def test_bounces_found_through_tracker_jitter() -> None:
    rng = np.random.default_rng(7)
    for e, phase in [(0.7, 0.0), (0.8, 0.3), (0.7, 0.55), (0.8, 0.8)]:
        points, contacts = bouncing_ball(56, e, phase / FPS)
        events = detect_events(_tracks(points + rng.normal(0.0, 0.2, points.shape)))
        assert len(events) == len(contacts), (events, contacts)
        for found, true in zip(events, contacts, strict=True):
            assert abs(found - true) <= 0.25 / FPS, (found, true)


def test_occlusion_gap_gives_no_event_and_strength_units() -> None:
    t = np.arange(40) / FPS
    points = np.stack([20 + 40 * t, 200 - 150 * t + 0.5 * 80 * t**2], -1)[:, None]
    visible = np.ones((40, 1), bool)
    visible[17:20] = False  # linear interpolation across the gap makes kinks, which are not contacts
    assert detect_events(Tracks(points, visible, FPS, 256, 256)) == []
    # strength is |Δv| in image sizes per second: a rebound from +10 to -10 px/frame at 256 px, 16 fps
    bounce = piecewise_ballistic(24, [(10.5, (0.0, -10.0), None)], v0=(0.0, 10.0 - 10.5 * G))
    (event,) = find_events(_tracks(bounce))
    assert event.strength == pytest.approx(20.0 * FPS / 256)
    assert event.frame == pytest.approx(10.5)


def test_nms_window_merges_contacts_closer_than_it() -> None:
    points = piecewise_ballistic(24, [(8.2, (1.2, -2.5), None), (10.2, (0.0, 0.0), (0.0, 0.0))])
    assert len(_frames(points)) == 2
    assert len(_frames(points, nms_window_s=2.5 / FPS)) == 1
    with pytest.raises(ValueError, match="background_frames"):
        detect_events(_tracks(points), background_frames=0)
