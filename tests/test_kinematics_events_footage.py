"""Visual events on noisy tracks (issue 21): the free-flight check, the model scan, landings; known answers.

Analytic bounces from the footage test bed (``data/footage.py``, exact impact times) with Gaussian
tracker noise added; free flight with noise; exact tracks, where the check must change nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.data.footage import make_clip
from kinesonic.kinematics import Tracks, find_events
from kinesonic.kinematics.flight import (
    flight_acceleration,
    flight_snr,
    landing_fit,
    scan_models,
    white_noise_px,
)


def _parabola(fps: float, seconds: float, noise_px: float, seed: int) -> Tracks:
    """A thrown ball in free flight (no contact), 256 x 256 px, with white tracker noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fps)) / fps
    points = np.stack([20 + 50 * t, 200 - 150 * t + 75 * t**2], -1)[:, None]
    points = points + rng.normal(0.0, noise_px, points.shape)
    return Tracks(points, np.ones((t.size, 1), bool), fps, 256, 256)


def test_flight_fit_measures_the_velocity_change_exactly() -> None:
    """A rebound at frame 10.3: Δv from the positions to 1e-9 px/frame, snr huge on exact tracks."""
    c, g = 10.3, 0.4  # contact (frames), gravity (px/frame²)
    t = np.arange(24.0)
    before, after = np.array([1.0, 3.0]), np.array([1.5, -2.0])
    s = t - c
    v = np.where((t <= c)[:, None], before, after)
    points = np.stack([50 + v[:, 0] * s, 100 + v[:, 1] * s + 0.5 * g * s**2], -1)
    snr, noise, dv = flight_snr(points, np.ones(24, bool), c, 0, 23, 8, 0.0)
    np.testing.assert_allclose(dv, after - before, atol=1e-9)
    assert snr > 1e3 and noise == pytest.approx(1e-3)
    # a side shorter than the minimum window cannot be tested
    assert np.isnan(flight_snr(points, np.ones(24, bool), c, 9, 23, 8, 0.0)[0])


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
def test_free_flight_through_noise_gives_no_event(fps: float) -> None:
    for seed in range(6):
        assert find_events(_parabola(fps, 2.0, 0.5, seed)) == [], seed


def test_check_drops_weak_free_flight_events() -> None:
    """With the 2-frame threshold lowered to 1 noise level it reports tracker noise; the check drops
    every such "event" it can test (those left have a neighbour or the clip end within 3 frames)."""
    tracks = _parabola(24.0, 2.0, 0.3, 0)
    loose = {"noise_factor": 1.0, "min_jump_px": 0.0, "scan_snr": 0.0}
    unchecked = find_events(tracks, **loose, snr=0.0)
    checked = find_events(tracks, **loose)
    assert len(checked) < len(unchecked) - 3
    assert all(np.isnan(e.snr) for e in checked)


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
def test_first_impact_found_through_noise(fps: float) -> None:
    """The strongest impact of a test-bed bounce (0.3 px noise) is found within half a frame."""
    for seed in range(0, 12, 2):
        clip = make_clip(seed, scene="bounce", fps=fps, render_frames=False)
        rng = np.random.default_rng(seed)
        tracks = Tracks(clip.points + rng.normal(0.0, 0.3, clip.points.shape), clip.visible, fps, 128, 96)
        first = max(clip.impacts, key=lambda i: i.dv_mps)
        found = find_events(tracks)
        assert min(abs(e.time_s - first.time_s) for e in found) * fps <= 0.5, (seed, found)


def test_check_keeps_every_true_impact_on_exact_tracks() -> None:
    """On exact test-bed tracks (the world's case) the check only drops events that are no impact."""
    dropped = 0
    for seed in range(6):
        clip = make_clip(seed, scene="bounce" if seed % 2 == 0 else "collide", render_frames=False)
        tracks = Tracks(clip.points, clip.visible, clip.fps, 128, 96)
        checked = [e.time_s for e in find_events(tracks)]
        for t in (e.time_s for e in find_events(tracks, snr=0.0)):
            if t not in checked:
                dropped += 1
                assert min(abs(t - i.time_s) for i in clip.impacts) * clip.fps > 1.0, (seed, t)
        assert len(checked) >= 2
    assert dropped >= 1  # seed 2: a knot at frame 29.2, between floor impacts at 25.5 and 33.2


# ----------------------------------------------------------------------------- the model scan (issue 21)

G24 = 9.81 * 64 / 24**2  # gravity at 64 px/m and 24 fps, px/frame²


def _bounce(first: float, speeds: list[float], T: int = 60) -> tuple[np.ndarray, list[float]]:
    """A ball (image y down) hitting the floor at frame ``first`` with ``speeds[0]`` px/frame, leaving
    at ``speeds[1]`` (0: at rest from then on), landing again at that speed, ...

    Returns points ``[T, 1, 2]`` and the contact frames.
    """
    t = np.arange(T, dtype=float)
    up = np.zeros(T)
    before = t <= first
    up[before] = speeds[0] * (first - t[before]) - 0.5 * G24 * (first - t[before]) ** 2
    contacts, c = [first], first
    for v in speeds[1:]:
        if v == 0:
            break
        hop = 2 * v / G24
        sel = (t > c) & (t <= c + hop)
        up[sel] = v * (t[sel] - c) - 0.5 * G24 * (t[sel] - c) ** 2
        c += hop
        contacts.append(c)
    return np.stack([20 + 1.5 * t, 200 - up], -1)[:, None], contacts


@pytest.mark.parametrize("kind", ["free", "shared", "land", "fall", "roll"])
def test_scan_models_is_the_least_squares_fit(kind: str) -> None:
    """Prefix-sum windows give the same Δv and snr as a direct least-squares fit of the model."""
    from kinesonic.kinematics.flight import _columns

    rng = np.random.default_rng(3)
    T, L, R, b = 40, 5, 7, 20
    points = rng.normal(0.0, 2.0, (T, 1, 2)) + np.arange(T)[:, None, None] * np.array([1.0, -0.5])
    gravity = np.array([[0.2, 1.1]])
    ratio, jump = scan_models(points, np.ones((T, 1), bool), np.array([0.5]), [(kind, L, R)], gravity)
    A, iv, ir, left = _columns(kind, L, R)
    frames = np.arange(b - L + 1, b + R + 1)
    y = points[frames, 0].copy()
    t = frames - (b + 0.5)
    falls = left if kind == "land" else np.ones(L + R, bool) if kind == "fall" else np.zeros(L + R, bool)
    y -= (0.5 * t * t * falls)[:, None] * gravity[0]
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dv = np.linalg.norm(coef[ir] - coef[iv])
    assert jump[0, b - 1, 0] == pytest.approx(dv, rel=1e-9)
    rss = np.sum((y - A @ coef) ** 2)
    sigma = max(np.sqrt(rss / (2 * (L + R - A.shape[1]))), 0.5)
    inv = np.linalg.inv(A.T @ A)
    expected = dv / (sigma * np.sqrt(inv[iv, iv] + inv[ir, ir] - 2 * inv[iv, ir]))
    if sigma <= 2 * 0.5:  # a clean fit: the snr; otherwise the window is not a test (NaN)
        assert ratio[0, b - 1, 0] == pytest.approx(expected, rel=1e-9)
    else:
        assert np.isnan(ratio[0, b - 1, 0])


def test_flight_acceleration_is_the_tracks_gravity() -> None:
    """Measured on the clean free-flight windows of a bouncing ball with 0.3 px noise, to 3 %."""
    points, _ = _bounce(12.3, [8.0, 7.0, 0.0], T=40)
    noisy = points + np.random.default_rng(0).normal(0.0, 0.3, points.shape)
    gravity = flight_acceleration(noisy, np.ones((40, 1), bool), np.array([0.3]), 6)[0]
    assert gravity[1] == pytest.approx(G24, rel=0.03)
    assert abs(gravity[0]) < 0.03 * G24


def test_collision_while_rolling_found_through_1px_noise() -> None:
    """A rolling ball hit at frame 30.4 (3 -> -1 px/frame) at 30 fps with 1 px tracker noise: one event
    within 0.5 frame for every seed (the previous detector found nothing: its scan fitted an
    acceleration per side; the rolling model has none)."""
    t = np.arange(60.0)
    x = np.where(t <= 30.4, 140 + 3.0 * (t - 30.4), 140 - 1.0 * (t - 30.4))
    for seed in range(6):
        noise = np.random.default_rng(seed).normal(0.0, 1.0, (60, 1, 2))
        points = np.stack([x, np.full(60, 150.0)], -1)[:, None] + noise
        (event,) = find_events(Tracks(points, np.ones((60, 1), bool), 30.0, 256, 256))
        assert abs(event.frame - 30.4) <= 0.5, (seed, event)


def test_landing_into_rest_after_a_bounce_found_through_noise() -> None:
    """24 fps, 0.3 px noise: a bounce (8 -> 5 px/frame) and, 9 frames later, a landing into rest at
    5 px/frame; both within 0.5 frame for every seed and phase, nothing else."""
    for phase in (0.1, 0.5, 0.9):
        points, contacts = _bounce(12 + phase, [8.0, 5.0, 0.0])
        for seed in range(4):
            noisy = points + np.random.default_rng(seed).normal(0.0, 0.3, points.shape)
            found = [e.frame for e in find_events(Tracks(noisy, np.ones((60, 1), bool), 24.0, 256, 256))]
            assert len(found) == 2, (phase, seed, found)
            np.testing.assert_allclose(found, contacts, atol=0.5)


def test_standing_still_does_not_hide_the_noise_of_motion() -> None:
    """A track stuck (exactly still) for 60 % of the clip: the white noise is that of its motion (0.5 px)."""
    from kinesonic.kinematics.events import _second_differences, _standing

    T = 100
    points = np.full((T, 1, 2), 100.0)
    points[:40] += np.random.default_rng(1).normal(0.0, 0.5, (40, 1, 2)) + np.arange(40)[:, None, None]
    tracks = Tracks(points, np.ones((T, 1), bool), 24.0, 256, 256)
    d2 = _second_differences(tracks)
    plain = white_noise_px(d2)[0]
    moving = white_noise_px(np.where(_standing(tracks)[..., None], np.nan, d2))[0]
    assert plain < 0.1
    assert moving == pytest.approx(0.5, rel=0.3)


# ----------------------------------------------------------------------------- landing into rest (issue 21)


def _hop_then_rest(
    fps: float, noise_px: float, seed: int, phase: float, px_per_m: float = 100.0
) -> tuple[Tracks, list[float]]:
    """A ball (image y down, 256 x 256 px, ``px_per_m``) falling onto the floor at 2.5 m/s at
    ``0.4 s + phase / fps``, rebounding with restitution 0.5 while the approach is at least 0.8 m/s:
    1.25 m/s, then a hop of 0.13 s (3 frames at 24 fps) and a landing into rest at 0.625 m/s; it
    rolls on at 0.4 m/s. Gaussian tracker noise ``noise_px``; 2 s.

    Returns the tracks and the impact times in frames (the last one is the landing).
    """
    g, e = 9.81, 0.5
    speeds, times = [2.5], [0.4 + phase / fps]
    while speeds[-1] >= 0.8:  # rebound, fly, land again at the rebound speed
        speeds.append(e * speeds[-1])
        times.append(times[-1] + 2.0 * speeds[-1] / g)
    t = np.arange(int(2.0 * fps)) / fps
    height = np.zeros_like(t)
    before = t <= times[0]
    s = times[0] - t[before]
    height[before] = speeds[0] * s - 0.5 * g * s * s
    for start, end, v in zip(times[:-1], times[1:], speeds[1:], strict=True):
        hop = (t > start) & (t <= end)
        s = t[hop] - start
        height[hop] = v * s - 0.5 * g * s * s
    points = np.stack([30.0 + 0.4 * px_per_m * t, 200.0 - px_per_m * height], -1)[:, None]
    points = points + np.random.default_rng(seed).normal(0.0, noise_px, points.shape)
    return Tracks(points, np.ones((t.size, 1), bool), fps, 256, 256), [c * fps for c in times]


def test_landing_fit_is_exact_on_a_clean_hop() -> None:
    """Exact positions: the landing after the last rebound to 0.01 frame, Δv = the landing velocity."""
    fps, px_per_m = 24.0, 100.0
    tracks, contacts = _hop_then_rest(fps, 0.0, 0, 0.3, px_per_m)
    points, visible = tracks.points[:, 0], tracks.visible[:, 0]
    gravity = np.array([0.0, 9.81 * px_per_m / fps**2])
    first = int(np.floor(contacts[-2])) + 1
    c, dv, gain, snr = landing_fit(points, visible, first, first + 18, gravity, 0.0, 6)
    assert c == pytest.approx(contacts[-1], abs=0.06)  # the phase grid is 0.1 frame
    np.testing.assert_allclose(dv, [0.0, -0.625 * px_per_m / fps], atol=0.02)
    assert gain > 100 and snr > 100
    # right after the landing (nothing but rest and rolling) there is none
    c, dv, gain, snr = landing_fit(points, visible, first + 5, first + 23, gravity, 0.0, 6)
    assert gain < 1.0 or np.isnan(c)


@pytest.mark.parametrize(("fps", "noise_px"), [(24.0, 0.2), (30.0, 0.3), (60.0, 0.3)])
def test_landing_into_rest_after_a_short_hop_found_through_noise(fps: float, noise_px: float) -> None:
    """A rebound, a hop of 3-8 frames, a landing into rest at 0.625 m/s (the ends of hop sequences
    that the detector missed before, found there 1 time in 18 at 24 fps and 0.3 px): the landing
    within one frame for every seed and phase, and no event while the ball rests and rolls."""
    for phase in (0.1, 0.5, 0.9):
        for seed in range(6):
            tracks, contacts = _hop_then_rest(fps, noise_px, seed, phase)
            found = [e.frame for e in find_events(tracks)]
            landing = contacts[-1]
            assert min(abs(f - landing) for f in found) <= 1.0, (phase, seed, found, contacts)
            assert all(f <= landing + 1.0 for f in found), (phase, seed, found, contacts)


@pytest.mark.parametrize("fps", [12.0, 24.0, 60.0])
@pytest.mark.parametrize("noise_px", [0.1, 0.3, 1.0])
def test_stationary_or_rolling_noisy_track_gives_no_event(fps: float, noise_px: float) -> None:
    """An object at rest, and one rolling at constant velocity, with white tracker noise: no event
    (the landing model must not read rest as a hop that ends in rest)."""
    T = int(3 * fps)
    for seed in range(6):
        still = np.full((T, 1, 2), 100.0) + np.random.default_rng(seed).normal(0.0, noise_px, (T, 1, 2))
        rolling = still + np.stack([np.arange(T) * 80.0 / fps, np.zeros(T)], -1)[:, None]
        for points in (still, rolling):
            assert find_events(Tracks(points, np.ones((T, 1), bool), fps, 512, 256)) == [], seed


def test_flight_acceleration_found_on_short_flights() -> None:
    """A bouncing ball whose flights are all shorter than 13 frames (24 fps, 0.3 px): measured from
    windows of half the check's window a side (as the detector calls it), to 5 %."""
    from kinesonic.kinematics.events import _half

    tracks, contacts = _hop_then_rest(24.0, 0.3, 1, 0.5)
    assert max(np.diff(contacts)) < 13
    gravity = flight_acceleration(tracks.points, tracks.visible, np.array([0.3]), _half(6))[0]
    assert gravity[1] == pytest.approx(9.81 * 100.0 / 24.0**2, rel=0.05)
    assert abs(gravity[0]) < 0.05 * gravity[1]
