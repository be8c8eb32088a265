"""Stream-aware audio-to-video: active stream intervals and the interval-limited joint attention."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from generator_cases import randomized

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.models.conditioning import cat_conditions
from kinesonic.models.streams import attention_masks, stream_keep


@pytest.fixture(scope="module", params=[1, 2], ids=["all-fused", "every-second-fused"])
def model(request) -> KinesonicModel:  # noqa: ANN001
    cfg = replace(micro_config(), fusion_every=request.param)
    assert cfg.depth >= 2  # with fusion_every 2 one block has the audio tower's own attention
    return randomized(cfg=cfg)


def test_stream_keep_marks_the_tokens_of_a_burst() -> None:
    cfg = micro_config()
    span = cfg.hop_length * cfg.audio_patch
    tokens = 20
    x = np.zeros(tokens * span)
    x[7 * span : 9 * span] = 0.1  # tokens 7 and 8 sound
    x[15 * span : 16 * span] = 0.1 * 10 ** (-40 / 20)  # 40 dB below: leftovers, not active
    keep = stream_keep(x, cfg, tokens, dilate=0).numpy()
    assert np.flatnonzero(keep).tolist() == [7, 8]
    keep = stream_keep(x, cfg, tokens, dilate=1).numpy()
    assert np.flatnonzero(keep).tolist() == [6, 7, 8, 9]
    # a short stem is padded with silence; a silent one has no active token
    assert stream_keep(x[: 8 * span], cfg, tokens, dilate=0).numpy().nonzero()[0].tolist() == [7]
    assert not stream_keep(np.full(tokens * span, 1e-5), cfg, tokens).any()
    with pytest.raises(ValueError, match="NaN"):
        stream_keep(np.full(tokens * span, np.nan), cfg, tokens)


def test_attention_masks_keep_the_outside_away_from_the_video() -> None:
    joint, audio = attention_masks(2, torch.tensor([[True, False, True]]))
    assert joint.shape == (1, 1, 5, 5) and audio.shape == (1, 1, 3, 3)
    kept_row = [True, True, True, False, True]
    assert joint[0, 0].tolist() == [kept_row, kept_row, kept_row, [True] * 5, kept_row]
    assert audio[0, 0].tolist() == [[True, False, True], [True] * 3, [True, False, True]]


def _a2v(model: KinesonicModel, cond, audio: torch.Tensor, guidance: str = "cfg") -> torch.Tensor:
    out = model.sample(cond, "a2v", steps=2, video_cfg=2.0, guidance=guidance, audio=audio, seed=3)
    return out["video"]


def test_video_ignores_the_sound_outside_the_stream_intervals(model: KinesonicModel) -> None:
    cfg = model.cfg
    cond = model.build_conditioning(torch.rand(3, cfg.height, cfg.width), "a ball drops", seed=1)
    lf = cond.latent_frames
    na = cfg.audio_tokens(lf)
    ashape = (1, cfg.audio_channels, cfg.audio_latent_frames(lf))
    a1 = torch.randn(ashape, generator=torch.Generator().manual_seed(1))
    a2 = torch.randn(ashape, generator=torch.Generator().manual_seed(2))
    # every token kept: the same video as without intervals (the mask is all True)
    all_kept = replace(cond, audio_keep=torch.ones(1, na, dtype=torch.bool))
    torch.testing.assert_close(_a2v(model, all_kept, a1), _a2v(model, cond, a1), rtol=1e-5, atol=1e-5)
    # without intervals the video follows the given sound
    assert not torch.allclose(_a2v(model, cond, a1), _a2v(model, cond, a2), atol=1e-4)
    # no token kept: the video cannot see the sound at all (CFG and JointCFG)
    none_kept = replace(cond, audio_keep=torch.zeros(1, na, dtype=torch.bool))
    for guidance in ("cfg", "joint"):
        torch.testing.assert_close(
            _a2v(model, none_kept, a1, guidance), _a2v(model, none_kept, a2, guidance), rtol=0, atol=1e-6
        )
    # the sound changed only outside the kept tokens: the same video
    keep = torch.zeros(1, na, dtype=torch.bool)
    keep[0, : na // 2] = True
    a3 = a1.clone()
    a3[..., (na // 2) * cfg.audio_patch :] = a2[..., (na // 2) * cfg.audio_patch :]
    half = replace(cond, audio_keep=keep)
    torch.testing.assert_close(_a2v(model, half, a1), _a2v(model, half, a3), rtol=0, atol=1e-6)


def test_intervals_only_in_audio_to_video_and_batch_with_plain_conditions(model: KinesonicModel) -> None:
    cfg = model.cfg
    cond = model.build_conditioning(torch.rand(3, cfg.height, cfg.width), "x", seed=1)
    na = cfg.audio_tokens(cond.latent_frames)
    keep = torch.zeros(1, na, dtype=torch.bool)
    with pytest.raises(ValueError, match="only apply to mode 'a2v'"):
        model.sample(replace(cond, audio_keep=keep), "joint", steps=1)
    both = cat_conditions(replace(cond, audio_keep=keep), cond)
    assert both.audio_keep.tolist() == [[False] * na, [True] * na]
    assert both.dropped().audio_keep is both.audio_keep  # the CFG negative keeps the intervals
    with pytest.raises(ValueError, match="tokens"):
        model.prepare(replace(cond, audio_keep=torch.ones(1, na + 1, dtype=torch.bool)))
