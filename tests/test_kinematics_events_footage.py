"""Visual events on noisy tracks (issue 21): the free-flight check and the window scan, known answers.

Analytic bounces from the footage test bed (``data/footage.py``, exact impact times) with Gaussian
tracker noise added; free flight with noise; exact tracks, where the check must change nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.data.footage import make_clip
from kinesonic.kinematics import Tracks, find_events
from kinesonic.kinematics.flight import flight_snr, scan_tracks


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
    # the scan (contact at mid-bracket) peaks at the contact's bracket 10
    ratio, jump = scan_tracks(points[:, None], np.ones((24, 1), bool), (5, 8), np.array([0.0]))
    assert int(np.nanargmax(ratio[:, 0])) + 1 == 10
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
