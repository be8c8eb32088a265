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


def test_constant_acceleration_guard_is_what_rejects_a_strong_parabola() -> None:
    t = np.arange(24) / FPS
    ripple = 1e-3 * np.sin(2.3 * np.arange(24))  # a thousandth of a pixel: |a| = g +- a little
    points = np.stack([20 + 60 * t, 230 - 450 * t + 300 * t**2 + ripple], -1)[:, None]
    assert detect_events(_tracks(points)) == []
    # without the guard (margin -1 disables it) the ripple's tiny maxima on top of g become events
    assert len(detect_events(_tracks(points), rel_margin=-1.0)) > 0


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
