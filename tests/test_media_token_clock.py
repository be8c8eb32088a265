"""Token centre times (media/token_clock.py): known answers from the groupings and a real STFT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinesonic.kinematics.features import align_array
from kinesonic.media.token_clock import (
    audio_token_centres,
    current_rope_seconds,
    kinematic_token_centres,
    rope_position,
    video_latent_centres,
)


def test_video_centres_hand_computed():
    # 33 frames at 16 fps, stride 4: frame 0 alone, then frames 1-4 (mean 2.5), 5-8 (6.5), ...
    c = video_latent_centres(33, 16.0, 4)
    assert c.shape == (9,)
    assert c[0] == 0.0
    np.testing.assert_allclose(c[1:], (4 * np.arange(1, 9) - 1.5) / 16.0)
    # a padded last group (T = 31: frames 29, 30, 30, 30) counts the repeats at frame 30
    assert video_latent_centres(31, 16.0, 4)[-1] == pytest.approx((29 + 30 * 3) / 4 / 16.0)


def test_kinematic_centres_are_align_array_of_frame_times():
    for t_count in (33, 31, 10):
        times = np.arange(t_count) / 16.0
        np.testing.assert_allclose(
            kinematic_token_centres(t_count, 16.0, 4), align_array(times, 4), atol=1e-12
        )
    # full groups: the same instants as the video latent frames
    np.testing.assert_allclose(kinematic_token_centres(33, 16.0, 4), video_latent_centres(33, 16.0, 4))


def test_audio_centres_match_the_centred_stft_of_an_impulse():
    sr, hop, n_fft, patch = 16000, 250, 1024, 4
    # the centred STFT puts an impulse at sample m*hop in frame m (the hann window peaks there)
    for m in (3, 17, 40):
        wave = torch.zeros(1, 64 * hop)
        wave[0, m * hop] = 1.0
        spec = torch.stft(wave, n_fft, hop, window=torch.hann_window(n_fft), center=True, return_complex=True)
        assert int(spec.abs().pow(2).sum(1)[0].argmax()) == m
    # token j = mel frames 4j..4j+3 -> centre (4j + 1.5) * 250 / 16000 = j/16 + 23.4375 ms
    c = audio_token_centres(32, sr, hop, patch)
    np.testing.assert_allclose(c, np.arange(32) / 16 + 0.0234375)
    assert audio_token_centres(3, sr, 125, 2)[1] == pytest.approx((2 + 0.5) * 125 / sr)


def test_todays_rope_skew_and_the_shared_clock():
    fps, stride = 16.0, 4
    video = video_latent_centres(33, fps, stride)
    audio = audio_token_centres(32, 16000, 250, 4)
    skew_v = current_rope_seconds("video", 9, fps, stride) - video
    skew_a = current_rope_seconds("audio", 32, fps, stride) - audio
    assert skew_v[0] == 0.0 and np.allclose(skew_v[1:], 0.09375)  # RoPE says 4k/fps, content at (4k-1.5)/fps
    assert np.allclose(skew_a, -0.0234375)  # RoPE says j/16 s, content 23.4 ms later
    # one latent frame = stride / fps = 0.25 s; latent frame 1's content sits at RoPE position 0.625
    assert rope_position(0.25, fps, stride) == pytest.approx(1.0)
    assert rope_position(video[1], fps, stride) == pytest.approx(0.625)
    # audio token 2 (centre 148.4 ms) and latent frame 1 (156.25 ms) are 7.8 ms apart, not 125 ms
    assert rope_position(video[1] - audio[2], fps, stride) * stride / fps == pytest.approx(0.0078125)


def test_bad_sizes_raise():
    with pytest.raises(ValueError):
        video_latent_centres(0, 16.0, 4)
    with pytest.raises(ValueError):
        audio_token_centres(4, 16000, 0, 4)
    with pytest.raises(ValueError, match="kind"):
        current_rope_seconds("text", 3, 16.0, 4)
