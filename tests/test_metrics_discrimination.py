"""Discrimination: the metrics tell right from wrong audio on clips with a known answer.

The clips are built in code (``kinesonic.metrics.synthetic``: a bouncing ball whose impacts
click; a sliding block whose friction noise follows its speed), so the ground truth is exact.
The same checks on clips of the physics world (``kinesonic.data.synth_clip``) are in
``test_metrics_world.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.metrics import (
    apcc,
    apcc_delta,
    detect_onsets,
    event_timing_error,
    impact_onset_strengths,
    kinetic_energy_change,
    motion_audio_intensity_correlation,
)
from kinesonic.metrics.synthetic import SR, bouncing_ball, shifted, sliding_block

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
    ke = [kinetic_energy_change(0.2, s, 0.6 * s) for s in speeds]  # -0.064 s^2 J (energy lost)
    right = _impact_clip(0.05 * speeds, times)  # louder for harder impacts
    wrong = _impact_clip(0.05 * speeds[::-1], times)  # louder for softer impacts
    s_right = impact_onset_strengths(right, SR, times)
    s_wrong = impact_onset_strengths(wrong, SR, times)
    assert apcc(ke, s_right) >= 0.7
    assert apcc(ke, s_wrong) <= -0.7
    cls = ["drop"] * len(times)
    assert apcc_delta(cls, ke, s_right, s_right).delta == pytest.approx(0.0)
    assert apcc_delta(cls, ke, s_right, s_wrong).delta >= 1.4
