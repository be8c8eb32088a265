"""Visual events on physics-world clips: detect_events vs the simulator's contact times."""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.data import synth_clip
from kinesonic.kinematics import detect_events
from kinesonic.metrics import event_timing_error

SEEDS = range(12)


@pytest.mark.parametrize("scene", ["drop", "throw"])
def test_events_match_ground_truth_contacts(scene: str) -> None:
    errors, exact = [], []
    for seed in SEEDS:
        clip = synth_clip(seed, size=64, scene=scene)
        truth = [event["time_s"] for event in clip.events]
        found = detect_events(clip.tracks)
        errors.append(event_timing_error(found, truth))
        # the first impact (flight before, >= 2 frames to the next contact) is found within 0.1 frame
        first = truth[0]
        exact.append(min(abs(t - first) for t in found) * clip.tracks.fps if found else np.inf)
    # measured: drop 0.014 s, throw 0.016 s (the rest: contacts under 2 frames apart, merged)
    assert np.mean(errors) <= 0.03, errors
    assert max(exact) <= 0.1, exact


def test_no_events_when_a_box_slides_to_a_stop() -> None:
    """The slide scene's box slides to a stop by friction (an acceleration step, no impact): no event."""
    for seed in range(6):
        clip = synth_clip(seed, size=64, scene="slide")
        assert clip.events == []
        assert detect_events(clip.tracks) == [], seed
