"""Discrimination on clips of Kinesonic's physics world (``kinesonic.data.synth_clip``).

Visual events are the world's ground-truth impact times (contacts closer than 30 ms merged:
the onset detector cannot separate them either); motion strength comes from the clip's tracks.
The checks with events detected from the rendered tracks are in
``test_metrics_discrimination.py`` (built clips).
"""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.metrics import (
    apcc_delta,
    detect_onsets,
    event_timing_error,
    impact_onset_strengths,
    merge_close_events,
    motion_audio_intensity_correlation,
)
from kinesonic.metrics.synthetic import shifted

synth_clip = pytest.importorskip("kinesonic.data.world", reason="physics world not available").synth_clip


@pytest.mark.parametrize("seed", range(6))
def test_world_drop_ete_ground_truth_vs_shifted_and_reversed(seed: int) -> None:
    clip = synth_clip(seed, scene="drop")
    sr = clip.sample_rate
    visual = merge_close_events([e["time_s"] for e in clip.events], 0.03)
    assert visual.size >= 2
    gt = event_timing_error(visual, detect_onsets(clip.audio, sr))
    late = event_timing_error(visual, detect_onsets(shifted(clip.audio, 0.3, sr), sr))
    reverse = event_timing_error(visual, detect_onsets(clip.audio[::-1].copy(), sr))
    assert gt <= 0.03
    # 3x is the criterion; the absolute floor is 0.05 s because a clip whose two contacts are
    # 0.2 s apart partly re-aligns under a 0.3 s shift (seed 4: 0.0996 s against 0.001 s).
    assert late >= 3 * gt and late >= 0.05
    assert reverse >= 3 * gt and reverse >= 0.1


@pytest.mark.parametrize("seed", range(4))
def test_world_slide_maic_ground_truth_vs_shuffled(seed: int) -> None:
    from kinesonic.kinematics import motion_strength

    clip = synth_clip(seed, scene="slide")
    strength = motion_strength(clip.tracks)
    gt = motion_audio_intensity_correlation(strength, clip.audio)
    assert gt >= 0.5
    t = strength.size
    seg = clip.audio.size // t
    blocks = clip.audio[: seg * t].reshape(t, seg)
    shuffled = [
        motion_audio_intensity_correlation(
            strength, blocks[np.random.default_rng(k).permutation(t)].reshape(-1)
        )
        for k in range(20)
    ]
    assert abs(float(np.mean(shuffled))) <= 0.1
    assert float(np.median(np.abs(shuffled))) <= 0.2


def test_world_drop_apcc_delta_ground_truth_vs_shifted() -> None:
    ke, s_ref, s_late = [], [], []
    for seed in range(6):
        clip = synth_clip(seed, scene="drop")
        sr = clip.sample_rate
        times = [e["time_s"] for e in clip.events]
        ke += [e["delta_ke_J"] for e in clip.events]
        s_ref += list(impact_onset_strengths(clip.audio, sr, times))
        s_late += list(impact_onset_strengths(shifted(clip.audio, 0.3, sr), sr, times))
    cls = ["drop"] * len(ke)
    same = apcc_delta(cls, ke, s_ref, s_ref)
    late = apcc_delta(cls, ke, s_ref, s_late)
    assert same.r_ref["drop"] >= 0.5  # louder onsets for harder impacts in the world's audio
    assert same.delta == pytest.approx(0.0)
    assert late.delta >= 0.3


def test_world_clip_through_the_evaluation_node() -> None:
    import torch

    from kinesonic.nodes.evaluate import KinesonicEvaluate

    clip = synth_clip(1, scene="drop")
    audio = {
        "waveform": torch.from_numpy(clip.audio.astype(np.float32))[None, None],
        "sample_rate": clip.sample_rate,
    }
    table, image = KinesonicEvaluate().run(
        tracks=clip.tracks.to_comfy(as_torch=True),
        images=torch.from_numpy(clip.frames.astype(np.float32) / 255.0),
        audio=audio,
        reference_audio=audio,
        physics=clip.physics(),  # the world's PHYSICS dict (numpy arrays + event dicts)
    )["result"]
    header = [h.strip() for h in table.splitlines()[0].split("|")]
    row = [c.strip() for c in table.splitlines()[2].split("|")]
    cells = dict(zip(header, row, strict=True))
    assert cells["Onset acc ↑"] == "1.000" and cells["APCC abs. diff ↓"] == "0.000"
    assert image.shape[0] == 1
