"""Known answers for the free-flight impact detector: analytic tracks in metres at 12, 24 and 60 fps.

Camera: 100 px per metre, 256 x 256 px image (strength unit: image sizes per second = 2.56 m/s),
floor at y = 230 px, gravity 9.81 m/s² (y down in the image), Gaussian tracker noise added.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinesonic.kinematics import Tracks, find_events

PX_PER_M, SIZE, FLOOR_PX, G = 100.0, 256, 230.0, 9.81


def bouncing_ball(fps: float, t_offset: float, duration: float = 2.4, h: float = 1.5, e: float = 0.7):
    """``[T, 1, 2]`` px of a ball at its apex ``h`` m at clip time ``-t_offset``; contacts, Δv (m/s)."""
    contacts, speeds = [math.sqrt(2 * h / G)], [math.sqrt(2 * G * h)]
    for _ in range(8):
        speeds.append(e * speeds[-1])
        contacts.append(contacts[-1] + 2 * speeds[-1] / G)
    t = np.arange(int(round(duration * fps))) / fps + t_offset
    height = np.empty_like(t)
    for i, ti in enumerate(t):
        if ti < contacts[0]:
            height[i] = h - 0.5 * G * ti**2
        else:
            k = int(np.searchsorted(contacts, ti, side="right")) - 1
            s = ti - contacts[k]
            height[i] = speeds[k + 1] * s - 0.5 * G * s**2
    x = 0.3 + 0.5 * t
    points = np.stack([x * PX_PER_M, FLOOR_PX - height * PX_PER_M], -1)[:, None]
    inside = [(c - t_offset, (1 + e) * speeds[i]) for i, c in enumerate(contacts) if t_offset <= c <= t[-1]]
    return points, inside


def _tracks(points: np.ndarray, fps: float) -> Tracks:
    return Tracks(points, np.ones(points.shape[:2], bool), fps, SIZE, SIZE)


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounces_exact_count_and_times_through_noise(fps: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points, contacts = bouncing_ball(fps, t_offset=-0.15 - rng.uniform(0.0, 0.5 / fps))
    assert len(contacts) == 3
    noisy = points + rng.normal(0.0, 0.2, points.shape)
    events = find_events(_tracks(noisy, fps))
    assert len(events) == len(contacts), ([e.time_s for e in events], contacts)
    for event, (c, dv) in zip(events, contacts, strict=True):
        assert abs(event.time_s - c) <= 1.0 / fps, (event, c)
        assert event.kind == "contact"
        assert event.strength == pytest.approx(dv * PX_PER_M / SIZE, rel=0.25)
        assert event.snr >= 6.0


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
def test_free_flight_with_noise_gives_no_event(fps: float) -> None:
    rng = np.random.default_rng(int(fps))
    t = np.arange(int(1.0 * fps)) / fps
    motions = [
        (0.3 + 0.8 * t, 1.0 - 3.0 * t + 0.5 * G * t**2),  # thrown up, falls (no floor in the clip)
        (0.2 + 0.6 * t, 1.0 + 0.3 * t),  # sliding on ice: uniform motion
        (1.2 + 0 * t, 1.5 + 0 * t),  # at rest
    ]
    for _ in range(10):
        for x, y in motions:
            points = np.stack([x, y], -1)[:, None] * PX_PER_M + rng.normal(0.0, 0.3, (len(t), 1, 2))
            assert find_events(_tracks(points, fps)) == []


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
def test_push_from_rest_then_friction_to_a_stop(fps: float) -> None:
    """A box at rest is kicked to 2 m/s at 0.8 s, friction (2.94 m/s²) stops it at 1.48 s: one push."""
    t = np.arange(int(2.0 * fps)) / fps
    kick, v0, decel = 0.8 + 0.37 / fps, 2.0, 0.3 * G
    s = np.clip(t - kick, 0.0, v0 / decel)
    x = 0.4 + v0 * s - 0.5 * decel * s**2
    points = np.stack([x, np.full_like(x, 2.2)], -1)[:, None] * PX_PER_M
    noisy = points + np.random.default_rng(3).normal(0.0, 0.1, points.shape)
    events = find_events(_tracks(noisy, fps))
    assert len(events) == 1, events
    assert abs(events[0].time_s - kick) <= 1.0 / fps
    assert events[0].kind == "push"
    assert events[0].strength == pytest.approx(v0 * PX_PER_M / SIZE, rel=0.2)


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
def test_collision_between_two_tracks(fps: float) -> None:
    """Two balls (radius 0.1 m) roll into each other and swap velocities (equal masses, elastic)."""
    t = np.arange(int(1.5 * fps)) / fps
    va, vb, xa, xb = 1.5, -1.0, 0.5, 2.0
    tc = (xb - xa - 0.2) / (va - vb)  # 0.52 s
    a = np.where(t < tc, xa + va * t, xa + va * tc + vb * (t - tc))
    b = np.where(t < tc, xb + vb * t, xb + vb * tc + va * (t - tc))
    points = np.stack([np.stack([a, np.full_like(a, 2.2)], -1), np.stack([b, np.full_like(b, 2.2)], -1)], 1)
    noisy = points * PX_PER_M + np.random.default_rng(4).normal(0.0, 0.1, points.shape)
    tracks = Tracks(noisy, np.ones((len(t), 2), bool), fps, SIZE, SIZE)
    both = find_events(tracks, nms_window_s=1e-6)  # keep one event per track
    assert sorted(e.track for e in both) == [0, 1], both
    assert all(e.kind == "collision" and abs(e.time_s - tc) <= 1.0 / fps for e in both)
    assert all(e.strength == pytest.approx(2.5 * PX_PER_M / SIZE, rel=0.2) for e in both)
    merged = find_events(tracks)  # the clip-level suppression keeps one
    assert len(merged) == 1 and merged[0].kind == "collision"
