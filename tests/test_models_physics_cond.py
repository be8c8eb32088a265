"""The generator's physics input and its PAVAS-style conditioning of the audio tower."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.models.conditioning import cat_conditions, physics_tensors
from kinesonic.models.physics_cond import masked_pool, rename_legacy_keys, token_speeds


def test_physics_tensors_resample_and_mark_unknowns() -> None:
    # PHYSICS at 8 fps, clip at 16 fps: speed 0, 1, 2, ... m/s at PHYSICS frames -> 0, 0.5, 1, ...
    t0 = 5
    vel = np.zeros((t0, 3, 2))
    vel[:, 0, 1] = np.arange(t0)  # object 0 falls (y) ever faster
    vel[:, 1, 0] = 3.0
    vel[2, 1] = np.nan  # object 1's speed is unknown at PHYSICS frame 2
    phys = {"masses_kg": np.array([2.0, np.nan, 0.0]), "velocity_mps": vel, "fps": 8.0}
    values, known = physics_tensors(phys, frames=10, fps=16.0)
    assert values.shape == known.shape == (1, 10, 3, 2)
    np.testing.assert_allclose(values[0, :9, 0, 1].numpy(), np.arange(9) * 0.5, atol=1e-6)
    assert known[0, :9, 0, 1].all() and not known[0, 9, 0, 1]  # frame 9 is past the PHYSICS clip
    # object 1: frames 3, 4, 5 touch the unknown PHYSICS frame 2 (clip frames 4 = 2 * 2 and neighbours)
    assert known[0, :, 1, 1].tolist() == [True, True, True, False, False, False, True, True, True, False]
    assert known[0, :, 0, 0].all() and (values[0, :, 0, 0] == 2.0).all()
    assert not known[0, :, 1, 0].any() and not known[0, :, 2, 0].any()  # NaN and 0 kg: no mass
    assert torch.isfinite(values).all() and (values[~known] == 0).all()
    with pytest.raises(ValueError, match="velocity_mps"):
        physics_tensors({"masses_kg": [1.0], "velocity_mps": np.zeros((4, 2, 2))}, 8, 16.0)
    with pytest.raises(ValueError, match="masses_kg"):
        physics_tensors({"velocity_mps": np.zeros((4, 1, 2))}, 8, 16.0)


def test_token_speeds_interpolate_at_token_times() -> None:
    fps = 16.0
    speed = (torch.arange(9.0) * 2)[None, :, None]  # 0, 2, 4 ... m/s at frames 0..8 (frame k at k/16 s)
    known = torch.ones_like(speed, dtype=torch.bool)
    known[0, 5, 0] = False
    times = torch.tensor([0.0, 1 / 32, 0.25, 0.3, 0.5, 1.0])  # s
    s, k = token_speeds(speed, known, times, fps)
    np.testing.assert_allclose(s[0, :, 0].numpy()[[0, 1, 2, 5]], [0.0, 1.0, 8.0, 16.0], atol=1e-5)
    assert k[0, :, 0].tolist() == [True, True, True, False, True, True]  # 0.3 s lies between frames 4 and 5


def test_masked_pool_ignores_unknown_objects() -> None:
    feats = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])  # [1, N=3, H=2]
    score = torch.tensor([[0.0, 0.0, 10.0]])
    out = masked_pool(feats, score, torch.tensor([[True, True, False]]))
    np.testing.assert_allclose(out.numpy(), [[0.5, 0.5]])  # equal scores, the unknown one left out
    out = masked_pool(feats, score, torch.tensor([[True, True, True]]))
    assert out[0, 0] > 4.9  # the learned score picks the object
    assert torch.equal(masked_pool(feats, score, torch.zeros(1, 3, dtype=torch.bool)), torch.zeros(1, 2))


def _trained(m: KinesonicModel) -> KinesonicModel:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.dit.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return m.eval()


def _phys(cfg, speed_of_t) -> dict:
    t = np.arange(cfg.num_frames) / cfg.fps
    vel = np.zeros((cfg.num_frames, 1, 2))
    vel[:, 0, 0] = speed_of_t(t)
    return {"masses_kg": np.array([0.5]), "velocity_mps": vel, "fps": cfg.fps}


def test_speed_modulates_the_audio_tower_where_it_changes() -> None:
    """A speed change at 0.625 s changes the physics modulation of the audio tokens from then on and
    leaves earlier tokens' exactly as they were; no physics and all-unknown physics are one input."""
    from kinesonic.models.token_times import audio_token_positions, positions_to_seconds

    cfg = micro_config(physics_conditioning="pavas")
    m = _trained(KinesonicModel(cfg))
    frame = torch.rand(3, cfg.height, cfg.width, generator=torch.Generator().manual_seed(1))

    def prepared(phys: dict | None):
        with torch.no_grad():
            return m.prepare(m.build_conditioning(frame, "", None, physics=phys))

    slow = prepared(_phys(cfg, lambda t: np.full_like(t, 1.0)))
    late = prepared(_phys(cfg, lambda t: np.where(t > 0.6, 4.0, 1.0)))  # frames >= 10 (0.625 s)
    times = positions_to_seconds(cfg, audio_token_positions(cfg, cfg.audio_tokens())).numpy()
    for a, b in zip(slow.phys_mod, late.phys_mod, strict=True):
        diff = (a - b).abs().amax(-1)[0].numpy()  # per audio token
        assert diff.shape == times.shape
        assert (diff[times <= 9 / cfg.fps] == 0).all()
        assert (diff[times >= 10 / cfg.fps] > 1e-3).all()
    lf = cfg.latent_frames()
    v = torch.randn(1, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width)
    a = torch.randn(1, cfg.audio_channels, cfg.audio_latent_frames(lf))
    tt = torch.full((1,), 0.5)
    with torch.no_grad():
        assert not torch.allclose(m.predict(v, a, tt, tt, slow)[1], m.predict(v, a, tt, tt, late)[1])
    unknown = _phys(cfg, lambda t: np.full_like(t, np.nan))
    unknown["masses_kg"] = np.array([np.nan])
    for x, y in zip(prepared(unknown).phys_mod, prepared(None).phys_mod, strict=True):
        assert torch.allclose(x, y.expand_as(x), atol=1e-7)


def test_batched_physics_pads_objects_and_legacy_layout_loads() -> None:
    cfg = micro_config(physics_conditioning="pavas")
    m = KinesonicModel(cfg)
    one = m.build_conditioning(None, "", None, physics=_phys(cfg, lambda t: t))
    none = m.build_conditioning(None, "", None)
    both = cat_conditions(one, none)
    assert both.physics.shape == (2, cfg.num_frames, 1, 2) and not both.physics_mask[1].any()
    # a checkpoint of the pooled layout: old key names map onto today's modules
    old_cfg = replace(cfg, physics_conditioning="pooled")
    old = KinesonicModel(old_cfg)
    state = {
        k.replace("dit.physics.mass_mlp.", "dit.phys_mlp.").replace(".phys.mass.", ".phys."): v
        for k, v in old.state_dict().items()
    }
    assert any(k.startswith("dit.phys_mlp.") for k in state)
    assert rename_legacy_keys(state).keys() == old.state_dict().keys()
    stored = cfg.to_dict()
    del stored["physics_conditioning"]
    assert type(cfg).from_dict(stored).physics_conditioning == "pooled"
