"""Discrimination: the metrics tell right from wrong audio on clips with a known answer.

The clips are built here (a bouncing ball whose impacts click; a sliding block whose friction
noise follows its speed), so the ground truth is exact. When the physics world
(``kinesonic.data.synth_clip``) is available the same checks also run on its clips (see
``test_metrics_world.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.kinematics import Tracks
from kinesonic.metrics import (
    apcc,
    apcc_delta,
    detect_onsets,
    event_timing_error,
    impact_onset_strengths,
    kinetic_energy_change,
    motion_audio_intensity_correlation,
)

SR = 16000
G = 9.81


# ----------------------------------------------------------------------------- clip builders


def bouncing_ball(
    h0: float = 1.2, e: float = 0.8, duration: float = 2.0, fps: float = 24.0, seed: int = 0, size: int = 128
) -> dict:
    """A ball dropped from rest at ``h0`` m bouncing with restitution ``e``.

    Returns impact times / speeds, a Tracks of its centre (100 px per m), frames with the ball
    drawn, and audio: at each impact a decaying noise click whose amplitude grows with the
    impact speed, plus a faint noise floor.
    """
    times, speeds = [], []
    t, v = np.sqrt(2 * h0 / G), np.sqrt(2 * G * h0)
    while t < duration - 0.05:
        times.append(t)
        speeds.append(v)
        v *= e
        t += 2 * v / G

    def height(tt: float) -> float:
        if tt < times[0]:
            return h0 - 0.5 * G * tt**2
        k = int(np.searchsorted(times, tt, side="right")) - 1
        u = e * speeds[k]
        dt = tt - times[k]
        return max(u * dt - 0.5 * G * dt**2, 0.0)

    n_frames = int(round(duration * fps))
    ft = np.arange(n_frames) / fps
    y_px = (size - 8) - 90.0 * np.array([height(x) for x in ft])  # ~90 px per metre
    x_px = np.full(n_frames, size / 2)
    points = np.stack([x_px, y_px], axis=1)[:, None, :]
    tracks = Tracks(points, np.ones((n_frames, 1), bool), fps, size, size)

    yy, xx = np.mgrid[:size, :size]
    frames = np.zeros((n_frames, size, size, 3), np.uint8)
    frames[..., 2] = (40 + 60 * (yy / size)).astype(np.uint8)[None]  # background gradient
    for i in range(n_frames):
        disc = (xx - x_px[i]) ** 2 + (yy - y_px[i]) ** 2 <= 36
        frames[i][disc] = (230, 200, 40)

    rng = np.random.default_rng(seed)
    audio = 1e-4 * rng.standard_normal(int(duration * SR))
    n = int(0.1 * SR)
    decay = np.exp(-np.arange(n) / SR / 0.012)
    for ti, vi in zip(times, speeds, strict=True):
        i = int(round(ti * SR))
        m = min(n, audio.size - i)
        audio[i : i + m] += 0.1 * vi * rng.standard_normal(m) * decay[:m]
    return {
        "times": np.array(times),
        "speeds": np.array(speeds),
        "e": e,
        "tracks": tracks,
        "frames": frames,
        "audio": audio.astype(np.float32),
    }


def sliding_block(duration: float = 2.0, fps: float = 24.0, seed: int = 1) -> dict:
    """A block pushed twice, slowing by friction in between (never fully at rest).

    Speed ``v(t) = 0.3 + max(2 - 3t, 0) + [t >= 1] max(1.5 - 2.5(t - 1), 0)`` m/s; friction noise
    is white noise with amplitude proportional to ``v``. Returns per-frame speed and |a|, the
    Tracks of the block (100 px per m along x) and the audio.
    """

    def speed(t: np.ndarray) -> np.ndarray:
        return (
            0.3
            + np.clip(2.0 - 3.0 * t, 0, None)
            + np.where(t >= 1.0, np.clip(1.5 - 2.5 * (t - 1.0), 0, None), 0)
        )

    def accel(t: np.ndarray) -> np.ndarray:
        a1 = np.where(2.0 - 3.0 * t > 0, 3.0, 0.0)
        a2 = np.where((t >= 1.0) & (1.5 - 2.5 * (t - 1.0) > 0), 2.5, 0.0)
        return a1 + a2

    n_frames = int(round(duration * fps))
    ft = np.arange(n_frames) / fps
    st = np.arange(int(duration * SR)) / SR
    x_m = np.concatenate([[0.0], np.cumsum(speed(st))[:-1] / SR])[(ft * SR).astype(int)]
    points = np.stack([10 + 100 * x_m * 0.5, np.full(n_frames, 64.0)], axis=1)[:, None, :]
    tracks = Tracks(points, np.ones((n_frames, 1), bool), fps, 256, 128)
    rng = np.random.default_rng(seed)
    audio = 0.05 * speed(st) * rng.standard_normal(st.size)
    v, a = speed(ft), accel(ft)
    strength = v / v.mean() + a / a.mean()  # the motion-strength definition, analytic
    return {"speed": v, "strength": strength, "tracks": tracks, "audio": audio.astype(np.float32)}


def shifted(audio: np.ndarray, seconds: float) -> np.ndarray:
    """The audio delayed by ``seconds`` (zeros in front, same length)."""
    k = int(round(seconds * SR))
    return np.concatenate([np.zeros(k, audio.dtype), audio])[: audio.size]


# ----------------------------------------------------------------------------- ETE

# every bounce of these clips rises at least ~10 px, so it is visible in the track
BOUNCES = [dict(h0=1.2, e=0.8, seed=0), dict(h0=1.0, e=0.85, seed=1), dict(h0=0.6, e=0.9, seed=3)]


@pytest.mark.parametrize("scene", BOUNCES)
def test_ete_ground_truth_beats_shifted_and_reversed_audio(scene: dict) -> None:
    clip = bouncing_ball(**scene)
    visual = clip["times"]  # exact impact times
    gt = event_timing_error(visual, detect_onsets(clip["audio"], SR))
    late = event_timing_error(visual, detect_onsets(shifted(clip["audio"], 0.3), SR))
    reverse = event_timing_error(visual, detect_onsets(clip["audio"][::-1].copy(), SR))
    assert gt <= 0.03
    assert late >= 3 * gt and late >= 0.1
    assert reverse >= 3 * gt and reverse >= 0.1


@pytest.mark.parametrize("scene", BOUNCES)
def test_ete_with_events_detected_from_tracks(scene: dict) -> None:
    from kinesonic.kinematics import detect_events

    clip = bouncing_ball(**scene)
    try:
        visual = detect_events(clip["tracks"])
    except NotImplementedError:
        pytest.skip("kinematics.detect_events is not implemented yet")
    gt = event_timing_error(visual, detect_onsets(clip["audio"], SR))
    late = event_timing_error(visual, detect_onsets(shifted(clip["audio"], 0.3), SR))
    reverse = event_timing_error(visual, detect_onsets(clip["audio"][::-1].copy(), SR))
    assert gt <= 0.03
    assert late >= 3 * gt and late >= 0.1
    assert reverse >= 3 * gt and reverse >= 0.1


# ----------------------------------------------------------------------------- MAIC


def _segment_shuffles(audio: np.ndarray, n_frames: int, n: int) -> list[np.ndarray]:
    seg = audio.size // n_frames
    blocks = audio[: seg * n_frames].reshape(n_frames, seg)
    return [blocks[np.random.default_rng(s).permutation(n_frames)].reshape(-1) for s in range(n)]


def test_maic_sliding_ground_truth_vs_shuffled() -> None:
    clip = sliding_block()
    gt = motion_audio_intensity_correlation(clip["strength"], clip["audio"])
    assert gt >= 0.5
    shuffled = [
        motion_audio_intensity_correlation(clip["strength"], a)
        for a in _segment_shuffles(clip["audio"], clip["strength"].size, 20)
    ]
    assert abs(float(np.mean(shuffled))) <= 0.1
    assert float(np.median(np.abs(shuffled))) <= 0.2
    # reversed in time: the loud part no longer follows the fast part
    assert motion_audio_intensity_correlation(clip["strength"], clip["audio"][::-1].copy()) < gt - 0.5


def test_maic_with_motion_strength_from_tracks() -> None:
    from kinesonic.kinematics import motion_strength

    clip = sliding_block()
    try:
        s = motion_strength(clip["tracks"])
    except NotImplementedError:
        pytest.skip("kinematics.motion_strength is not implemented yet")
    gt = motion_audio_intensity_correlation(s, clip["audio"])
    assert gt >= 0.5
    shuffled = [
        motion_audio_intensity_correlation(s, a) for a in _segment_shuffles(clip["audio"], s.size, 20)
    ]
    assert abs(float(np.mean(shuffled))) <= 0.1


# ----------------------------------------------------------------------------- APCC


def _impact_clip(loudness: np.ndarray, times: list[float], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    audio = 1e-4 * rng.standard_normal(2 * SR)
    n = int(0.1 * SR)
    decay = np.exp(-np.arange(n) / SR / 0.012)
    for t, amp in zip(times, loudness, strict=True):
        i = int(round(t * SR))
        audio[i : i + n] += amp * rng.standard_normal(n) * decay
    return audio.astype(np.float32)


def test_apcc_follows_kinetic_energy() -> None:
    times = [0.2, 0.5, 0.8, 1.1, 1.4, 1.7]
    speeds = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    ke = [kinetic_energy_change(0.2, s, 0.6 * s) for s in speeds]  # 0.064 s^2 J
    right = _impact_clip(0.05 * speeds, times)  # louder for harder impacts
    wrong = _impact_clip(0.05 * speeds[::-1], times)  # louder for softer impacts
    s_right = impact_onset_strengths(right, SR, times)
    s_wrong = impact_onset_strengths(wrong, SR, times)
    assert apcc(ke, s_right) >= 0.7
    assert apcc(ke, s_wrong) <= -0.7
    cls = ["drop"] * len(times)
    assert apcc_delta(cls, ke, s_right, s_right).delta == pytest.approx(0.0)
    assert apcc_delta(cls, ke, s_right, s_wrong).delta >= 1.4
