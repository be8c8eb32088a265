"""Generator architecture, conditioning, hybrid flow and sampling (micro config, seconds on CPU)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kinesonic.kinematics import Tracks
from kinesonic.models import (
    Conditioning,
    KinesonicModel,
    micro_config,
    region_balanced_loss,
    sample_ode,
    schedule,
    tiny_config,
)
from kinesonic.models.conditioning import physics_tensors
from kinesonic.models.trajectory import propagate_first_frame
from kinesonic.training.data import TrainClip
from kinesonic.training.objective import FlowObjective, prepare_batch


@pytest.fixture(scope="module")
def model() -> KinesonicModel:
    torch.manual_seed(0)
    return KinesonicModel(micro_config()).eval()


def randomize(model: KinesonicModel, seed: int = 1) -> KinesonicModel:
    """Give every parameter (incl. the zero-initialised ones) random values, so paths are active."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def line_tracks(cfg, n: int = 2) -> Tracks:
    """n tracks moving right at 8 px/frame-group speed from distinct rows (all visible)."""
    t = np.arange(cfg.num_frames) / cfg.fps
    pts = np.stack([np.stack([4 + 12 * t + 0 * i, 4 + 8.0 * i + 0 * t], -1) for i in range(n)], 1)
    return Tracks(pts, np.ones(pts.shape[:2], bool), cfg.fps, cfg.width, cfg.height)


def phys_dict(cfg, masses: list[float], speeds: list[float]) -> dict:
    """A PHYSICS value: objects of these masses (kg) moving right at these constant speeds (m/s)."""
    vel = np.zeros((cfg.num_frames, len(masses), 2))
    vel[..., 0] = speeds
    return {"masses_kg": np.array(masses), "velocity_mps": vel, "fps": cfg.fps}


def test_tiny_config_sizes() -> None:
    cfg = tiny_config()
    m = KinesonicModel(cfg)
    params = sum(p.numel() for p in m.parameters())
    assert 2e6 < params < 8e6
    assert cfg.latent_frames() == 9
    assert cfg.video_tokens() == 9 * 4 * 4
    assert cfg.audio_tokens() == 128  # 2 s at 64 audio tokens/s (hop 125, 2 mel frames a token)
    assert cfg.audio_samples(9) == 32000
    assert cfg.audio_rope_scale == pytest.approx(1 / 16)
    assert cfg.audio_channels * cfg.audio_patch <= cfg.hidden  # the audio head reaches every number
    assert type(cfg).from_json(cfg.to_json()) == cfg


def test_config_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="spatial_factor"):
        micro_config(height=36)
    with pytest.raises(ValueError, match="rope_split"):
        micro_config(rope_split=(8, 8, 8))


def test_shapes_and_modes(model: KinesonicModel) -> None:
    cfg = model.cfg
    img = torch.rand(3, cfg.height, cfg.width)
    cond = model.build_conditioning(
        img, "a ball", line_tracks(cfg), physics=phys_dict(cfg, [1.0, 3.0], [2.0, 0.5])
    )
    lf = cfg.latent_frames()
    assert cond.kin is not None and cond.kin.shape == (1, lf, 2, 8)
    vshape = (1, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width)
    ashape = (1, cfg.audio_channels, cfg.audio_latent_frames(lf))
    given_v, given_a = torch.randn(vshape), torch.randn(ashape)
    for guidance in ("none", "cfg", "joint"):
        for mode in ("joint", "v2a", "a2v"):
            out = model.sample(
                cond, mode, steps=2, solver="heun", video_cfg=2.0, audio_cfg=3.0, guidance=guidance,
                video=given_v, audio=given_a,
            )  # fmt: skip
            assert out["video"].shape == vshape and out["audio"].shape == ashape
            assert torch.isfinite(out["video"]).all() and torch.isfinite(out["audio"]).all()
            if mode == "v2a":
                assert torch.equal(out["video"], given_v)
            else:
                assert torch.equal(out["video"][:, :, 0], cond.first_latent)
            if mode == "a2v":
                assert torch.equal(out["audio"], given_a)
    video = model.decode_video(out["video"])
    audio = model.decode_audio(out["audio"])
    assert video.shape == (1, 3, cfg.num_frames, cfg.height, cfg.width)
    assert audio.shape == (1, cfg.audio_samples(lf))


def test_wrong_first_frame_size_names_expected(model: KinesonicModel) -> None:
    with pytest.raises(ValueError, match="expects 32x32"):
        model.build_conditioning(torch.rand(3, 16, 32), "x")


def test_trajectory_latent_known_answer() -> None:
    first = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 4, 4)
    # track 0: (x=1, y=2) at frame 0, then (3, 2), then (3, 3); track 1 invisible at frame 2
    cells = np.array([[[1, 2], [0, 0]], [[3, 2], [1, 1]], [[3, 3], [2, 2]]])
    vis = np.array([[True, True], [True, True], [True, False]])
    lat, mask = propagate_first_frame(first, cells, vis, seed=0)
    assert torch.equal(lat[:, 0], first) and mask[0].sum() == 16
    assert torch.equal(lat[:, 1, 2, 3], first[:, 2, 1]) and torch.equal(lat[:, 2, 3, 3], first[:, 2, 1])
    assert torch.equal(lat[:, 1, 1, 1], first[:, 0, 0])
    assert mask[1].sum() == 2 and mask[2].sum() == 1  # invisible track writes nothing
    assert lat[:, 2].abs().sum() == first[:, 2, 1].abs().sum()


def test_trajectory_collision_is_seeded_random_choice() -> None:
    first = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])  # [C=1, h=2, w=2]
    cells = np.array([[[0, 0], [1, 1]], [[1, 0], [1, 0]]])  # both land on (x=1, y=0) at frame 1
    vis = np.ones((2, 2), bool)
    picks = {float(propagate_first_frame(first, cells, vis, seed=s)[0][0, 1, 0, 1]) for s in range(20)}
    assert picks == {1.0, 4.0}
    a = propagate_first_frame(first, cells, vis, seed=3)[0]
    b = propagate_first_frame(first, cells, vis, seed=3)[0]
    assert torch.equal(a, b)


def test_sampling_start_is_trajectory_inside_noise_outside(model: KinesonicModel) -> None:
    cfg = model.cfg
    cond = model.build_conditioning(torch.rand(3, cfg.height, cfg.width), "", line_tracks(cfg))
    src, _, eps_v, _ = model.start_state(cond, torch.Generator().manual_seed(5))
    inside = cond.traj_mask.expand_as(src).bool().clone()
    inside[:, :, 0] = False
    outside = ~cond.traj_mask.expand_as(src).bool()
    assert inside.any() and outside.any()
    assert torch.equal(src[inside], cond.traj_latent[inside])
    assert torch.equal(src[outside], eps_v[outside])
    assert torch.equal(src[:, :, 0], cond.first_latent)
    assert not torch.equal(src[inside], eps_v[inside])


def test_no_hybrid_flow_model_starts_from_noise(model: KinesonicModel) -> None:
    cfg = model.cfg
    cond = model.build_conditioning(torch.rand(3, cfg.height, cfg.width), "", line_tracks(cfg))
    ablated = KinesonicModel(cfg, ablations=["no_hybrid_flow"])
    ablated.load_state_dict(model.state_dict())
    src, _, eps_v, _ = ablated.start_state(cond, torch.Generator().manual_seed(5))
    assert torch.equal(src[:, :, 1:], eps_v[:, :, 1:])  # no trajectory latent inside the mask
    assert torch.equal(src[:, :, 0], cond.first_latent)


def test_ablated_model_samples_without_what_it_was_trained_without(model: KinesonicModel) -> None:
    cfg = model.cfg
    plain = randomize(KinesonicModel(cfg)).eval()
    ablated = KinesonicModel(cfg, ablations=("no_trajectory", "no_kinematics")).eval()
    ablated.load_state_dict(plain.state_dict())
    assert ablated.ablations == ("no_kinematics", "no_trajectory")  # canonical order
    cond = plain.build_conditioning(torch.rand(3, cfg.height, cfg.width), "rain", line_tracks(cfg))
    assert cond.kin is not None and cond.traj_mask[:, :, 1:].any()
    reduced = cond.ablated(no_kinematics=True, no_trajectory=True)
    assert reduced.kin is None and not reduced.traj_mask[:, :, 1:].any()
    assert torch.equal(reduced.traj_latent[:, :, 0], cond.traj_latent[:, :, 0])
    a = ablated.sample(cond, steps=2, seed=3, video_cfg=2.0)
    b = plain.sample(reduced, steps=2, seed=3, video_cfg=2.0)
    c = plain.sample(cond, steps=2, seed=3, video_cfg=2.0)
    assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
    assert not torch.equal(a["video"], c["video"])
    with pytest.raises(ValueError, match="unknown ablation switches"):
        KinesonicModel(cfg, ablations=["no_text"])


def test_generated_audio_keeps_no_noise_the_head_cannot_reach() -> None:
    cfg = micro_config(audio_patch=4)  # as old checkpoints: 64 numbers per token, hidden 32
    assert cfg.audio_channels * cfg.audio_patch > cfg.hidden  # a head of rank < token size
    m = randomize(KinesonicModel(cfg)).eval()
    cond = m.build_conditioning(torch.rand(3, cfg.height, cfg.width), "rain", line_tracks(cfg))
    bias = m.dit.audio_out.linear.bias.detach()  # the head's constant, per token (p c)
    b = bias.view(cfg.audio_patch, cfg.audio_channels).T  # [c, p]
    for seed in (7, 8):
        out = m.sample(cond, steps=4, seed=seed, audio_cfg=2.0)["audio"]
        n_tok = out.shape[-1] // cfg.audio_patch
        const = b.repeat(1, n_tok)[None]  # the bias as an audio latent [1, C_a, F]
        # unreachable directions: the ODE adds -1 x the bias over t = 1 -> 0 and nothing else
        torch.testing.assert_close(m.dit.audio_unreachable(out), -m.dit.audio_unreachable(const))
    full = KinesonicModel(micro_config(audio_patch=1))
    randomize(full)
    assert not full.dit.audio_unreachable(torch.randn(1, cfg.audio_channels, 8)).any()


def random_model_and_cond(cfg) -> tuple[KinesonicModel, Conditioning]:
    """A randomised model of ``cfg`` and a conditioning with two moving tracks."""
    m = randomize(KinesonicModel(cfg)).eval()
    return m, m.build_conditioning(torch.rand(3, cfg.height, cfg.width), "rain", line_tracks(cfg))


def test_sampling_is_seeded(model: KinesonicModel) -> None:
    m, cond = random_model_and_cond(model.cfg)
    a = m.sample(cond, steps=3, seed=7, video_cfg=2.0)
    b = m.sample(cond, steps=3, seed=7, video_cfg=2.0)
    c = m.sample(cond, steps=3, seed=8, video_cfg=2.0)
    assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
    assert not torch.equal(a["audio"], c["audio"])


def test_block_diagonal_mask_isolates_video_from_audio() -> None:
    cfg = micro_config()
    m = randomize(KinesonicModel(cfg)).eval()
    cond = m.build_conditioning(torch.rand(3, cfg.height, cfg.width), "boom", line_tracks(cfg))
    g = torch.Generator().manual_seed(0)
    v, _, _, a = m.start_state(cond, g)
    a2 = a + torch.randn(a.shape, generator=g)
    t = torch.tensor([0.6])
    with torch.no_grad():
        pv1, pa1 = m.velocity(v, a, t, t, cond, joint=False)
        pv2, pa2 = m.velocity(v, a2, t, t, cond, joint=False)
        jv1, _ = m.velocity(v, a, t, t, cond, joint=True)
        jv2, _ = m.velocity(v, a2, t, t, cond, joint=True)
    assert torch.equal(pv1, pv2)
    assert not torch.equal(pa1, pa2)
    assert (jv1 - jv2).abs().max() > 1e-4


def test_rope_positions_are_token_centre_times() -> None:
    """Every token's temporal position, in seconds, is the centre time media/token_clock computes
    independently from the groupings (within 1 ms), for the tiny and micro layouts."""
    from kinesonic.media.token_clock import audio_token_centres, kinematic_token_centres, video_latent_centres
    from kinesonic.models.token_times import (
        audio_token_positions,
        latent_frame_positions,
        positions_to_seconds,
    )

    for cfg in (tiny_config(), micro_config()):
        lf, na = cfg.latent_frames(), cfg.audio_tokens()
        video_s = positions_to_seconds(cfg, latent_frame_positions(cfg, lf)).numpy()
        audio_s = positions_to_seconds(cfg, audio_token_positions(cfg, na)).numpy()
        clock_v = video_latent_centres(cfg.num_frames, cfg.fps, cfg.temporal_stride)
        clock_k = kinematic_token_centres(cfg.num_frames, cfg.fps, cfg.temporal_stride)
        clock_a = audio_token_centres(na, cfg.sample_rate, cfg.hop_length, cfg.audio_patch)
        assert np.abs(video_s - clock_v).max() < 1e-3
        assert np.abs(video_s - clock_k).max() < 1e-3
        assert np.abs(audio_s - clock_a).max() < 1e-3
        # the layout of older checkpoints is the start of each window: off by 94 ms (video k >= 1)
        old = positions_to_seconds(cfg, latent_frame_positions(replace(cfg, token_times="start"), lf)).numpy()
        assert np.abs(old - clock_v).max() > 0.05


def test_rope_same_instant_same_rotation() -> None:
    # one mel frame per audio token (hop 125): audio token 32k - 12 is centred where video latent
    # frame k is, (4k - 1.5) / 16 s, so the two must rotate alike; kinematic tokens of frame k too
    cfg = micro_config(hop_length=125, audio_patch=1)
    dit = KinesonicModel(cfg).dit
    lf = cfg.latent_frames()
    na = cfg.audio_tokens(lf)
    ropes = dit.ropes(lf, na, lf, 1)
    per_frame = (cfg.latent_height // cfg.video_patch[1]) * (cfg.latent_width // cfg.video_patch[2])
    k = 3
    j = 32 * k - 12
    nt = cfg.rope_split[0] // 2
    video_tok = ropes["video"][k * per_frame]  # (t=3, y=0, x=0): rotations [Dh/2, 2] (cos, sin)
    audio_tok = ropes["audio"][j]
    assert torch.allclose(video_tok[:nt], audio_tok[:nt], atol=1e-6)
    assert torch.allclose(video_tok, audio_tok, atol=1e-6)  # y = x = 0 for both
    identity = torch.tensor([1.0, 0.0]).expand(audio_tok.shape[0] - nt, 2)
    assert torch.equal(audio_tok[nt:], identity)  # 1-D: cos 1, sin 0 on the spatial pairs
    assert torch.allclose(ropes["kin"][1 + k], video_tok, atol=1e-6)  # kinematic token of frame 3
    other = ropes["audio"][j + 1]
    assert not torch.allclose(other[:nt], video_tok[:nt], atol=1e-3)
    # the rotation is what attention sees: equal query/key content at the same instant scores alike
    from kinesonic.models.layers import apply_rope

    q = torch.randn(1, 1, 1, cfg.head_dim)
    qv = apply_rope(q, ropes["video"][k * per_frame : k * per_frame + 1])
    qa = apply_rope(q, ropes["audio"][j : j + 1])
    assert torch.allclose(qv, qa, atol=1e-6) and not torch.allclose(qv, q, atol=1e-3)
    # a checkpoint config without the field keeps the layout it was trained with
    stored = cfg.to_dict()
    del stored["token_times"]
    assert type(cfg).from_dict(stored).token_times == "start"


def test_rope_time_unit_resolves_neighbouring_audio_tokens() -> None:
    """The fastest temporal pair turns 1 rad between neighbouring audio tokens of the tiny layout
    (1/64 s apart) in the audio-token unit; the latent-frame unit (the default, the shipped model's)
    turns it 1/16 rad, and a stored config without the field keeps that unit."""
    cfg = tiny_config(depth=1)
    assert cfg.rope_time_scale == 1.0 and replace(cfg, rope_time_unit="audio_token").rope_time_scale == 16.0
    ang = {}
    for unit in ("audio_token", "latent_frame"):
        dit = KinesonicModel(replace(cfg, rope_time_unit=unit)).dit
        rot = dit.ropes(cfg.latent_frames(), cfg.audio_tokens(), 0, 0)["audio"]
        ang[unit] = torch.atan2(rot[1, 0, 1], rot[1, 0, 0]) - torch.atan2(rot[0, 0, 1], rot[0, 0, 0])
    assert abs(ang["audio_token"].item() - 1.0) < 1e-5
    assert abs(ang["latent_frame"].item() - 1.0 / 16) < 1e-6
    stored = cfg.to_dict()
    del stored["rope_time_unit"]
    assert type(cfg).from_dict(stored).rope_time_unit == "latent_frame"
    with pytest.raises(ValueError, match="rope_time_unit"):
        replace(cfg, rope_time_unit="seconds")


def test_initialisation_gate_and_identities() -> None:
    cfg = micro_config(physics_conditioning="pavas")
    torch.manual_seed(0)
    m = KinesonicModel(cfg).eval()
    for blk in m.dit.blocks:
        assert blk.kin.gate().item() < 0.05
    lf = cfg.latent_frames()
    na, nv = cfg.audio_tokens(lf), cfg.video_tokens(lf)
    d = cfg.hidden
    xv, xa = torch.randn(1, nv, d), torch.randn(1, na, d)
    cv, ca = torch.randn(1, d), torch.randn(1, d)
    ropes = m.dit.ropes(lf, na, 0, 0)
    kin, keep = m.dit.kin_null, torch.ones(1, 1, dtype=torch.bool)
    values, known = physics_tensors(phys_dict(cfg, [2.0], [3.0]), cfg.num_frames, cfg.fps)
    times = torch.linspace(0, 1, na)
    mass, speed = m.dit.physics.features(values, known, times, cfg.fps)
    blk = m.dit.blocks[0]
    with torch.no_grad():
        kv = blk.kin.keys(kin, ropes["kin"])
        ov, oa = blk(xv, xa, cv, ca, ropes, kv, keep, blk.phys(mass, speed), True)
        _, oa0 = blk(xv, xa, cv, ca, ropes, kv, keep, blk.phys(mass * 0, speed * 0), True)
        assert torch.equal(ov, xv)  # adaLN-Zero: the video block is the identity
        assert torch.equal(oa, oa0)  # physics Δ-modulation is the identity at init
        # audio block = identity + the small gated kinematic cross-attention only
        kin_only = blk.kin(xa, kv, keep, ropes["audio"])
        assert torch.allclose(oa, kin_only, atol=1e-6)
        blk.phys.speed.weight.normal_()  # the test can fail: a trained Δ path changes the output
        _, oa1 = blk(xv, xa, cv, ca, ropes, kv, keep, blk.phys(mass, speed), True)
        assert not torch.allclose(oa1, oa0)


def test_training_loss_known_answer() -> None:
    cfg = micro_config()
    m = KinesonicModel(cfg)  # zero-initialised output layers: predicted velocity is exactly 0
    lf, c, h, w = cfg.latent_frames(), cfg.video_channels, cfg.latent_height, cfg.latent_width
    mask = torch.zeros(2, 1, lf, h, w)
    mask[:, :, 1:, 1, 2] = 1
    traj = 3.0 * mask.expand(2, c, lf, h, w).clone()
    mask[:, :, 0] = 1
    cond = Conditioning(
        lf, None, traj, mask, mask.clone(), torch.zeros(2, cfg.text_max_tokens, dtype=torch.long)
    )
    fa = cfg.audio_latent_frames(lf)
    batch = {
        "video_latent": torch.zeros(2, c, lf, h, w),
        "audio_latent": torch.zeros(2, cfg.audio_channels, fa),
    }
    batch["cond"] = cond
    objective = FlowObjective(drops=(0.0, 0.0, 0.0, 0.0), p_v2a=0.0, p_a2v=0.0)
    inp = objective.inputs(batch, [0, 1])
    pv, pa = m.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
    losses = {k: v.mean() for k, v in objective.losses(pv, pa, inp).items()}
    assert losses["video_inside"].item() == pytest.approx(9.0, rel=1e-5)  # target = 3 - 0
    assert losses["video_outside"].item() == pytest.approx(1.0, abs=0.15)  # target = unit noise
    assert losses["audio"].item() == pytest.approx(1.0, abs=0.15)
    assert losses["loss"].item() == pytest.approx(
        sum(losses[k].item() for k in ("video_inside", "video_outside", "audio"))
    )
    losses["loss"].backward()
    assert m.dit.video_out.linear.weight.grad.abs().sum() > 0


def test_region_balanced_loss_excludes_first_frame() -> None:
    pred = torch.zeros(1, 1, 3, 2, 2)
    target = torch.zeros(1, 1, 3, 2, 2)
    target[:, :, 0] = 100.0  # ignored
    target[:, :, 1:, 0, 0] = 2.0  # inside → 4
    target[:, :, 1:, 1, 1] = 1.0  # outside → mean of (1, 0, 0) = 1/3
    soft = torch.zeros(1, 1, 3, 2, 2)
    soft[:, :, :, 0, 0] = 1.0
    inside, outside = region_balanced_loss(pred.repeat(2, 1, 1, 1, 1), target.repeat(2, 1, 1, 1, 1), soft)
    assert inside.shape == (2,)  # per sample, each normalised by its own mask
    assert inside[0].item() == pytest.approx(4.0, rel=1e-5)
    assert outside[1].item() == pytest.approx(1 / 3, rel=1e-5)


def test_prepare_batch_then_loss_backward(model: KinesonicModel) -> None:
    cfg = model.cfg
    m = KinesonicModel(cfg)
    n = cfg.audio_samples(cfg.latent_frames())
    rng = np.random.default_rng(0)
    clips = [
        TrainClip(
            frames=rng.integers(0, 255, (cfg.num_frames, cfg.height, cfg.width, 3), dtype=np.uint8),
            audio=rng.normal(0, 0.1, n).astype(np.float32),
            tracks=tracks,
            caption=caption,
        )
        for tracks, caption in ((line_tracks(cfg, 3), "a"), (None, ""))
    ]
    batch = prepare_batch(m, clips, [0, 1])
    assert batch["cond"].kin.shape[2] == 3 and not batch["cond"].kin_mask[1].any()
    objective = FlowObjective()
    inp = objective.inputs(batch, [1, 2])
    pv, pa = m.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
    losses = objective.losses(pv, pa, inp)
    assert set(losses) == {"loss", "video_inside", "video_outside", "audio"}
    assert all(torch.isfinite(v).all() for v in losses.values())
    losses["loss"].mean().backward()


def test_solvers_on_known_ode() -> None:
    # dx/dt = x from t = 1 to 0: x(0) = x(1) * exp(-1); Heun is much closer than Euler
    def vel(v, a, tv, ta):
        return v, a

    x1 = torch.ones(1, 1)
    exact = float(np.exp(-1.0))
    ts = schedule(10)
    ev, _ = sample_ode(vel, x1, x1, ts, "euler")
    hv, _ = sample_ode(vel, x1, x1, ts, "heun")
    assert ev.item() == pytest.approx(0.9**10, rel=1e-9)  # Euler: (1 - 0.1)^10
    assert abs(hv.item() - exact) < abs(ev.item() - exact) / 5
    steps = []
    sample_ode(vel, x1, x1, ts, "euler", callback=lambda i, n: steps.append((i, n)))
    assert steps[-1] == (10, 10) and len(steps) == 10


def test_stochastic_audio_update_keeps_the_flow_marginals() -> None:
    # Gaussian data N(0, s^2) has the exact velocity v(x, t) = (t - (1 - t) s^2) / V_t * x with
    # V_t = (1 - t)^2 s^2 + t^2: fine steps must end at std s for every eta (eta = 0 is the ODE)
    s = 0.5

    def vel(v, a, tv, ta):
        t = float(ta[0])
        return v, (t - (1 - t) * s * s) / ((1 - t) ** 2 * s * s + t * t) * a

    x1 = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    none = x1[:, :0]
    ts = schedule(200)
    ends = {}
    for eta in (0.0, 0.5, 1.0):
        gen = torch.Generator().manual_seed(1)
        _, ends[eta] = sample_ode(vel, none, x1.clone(), ts, "euler", audio_noise=eta, generator=gen)
        assert float(ends[eta].std()) == pytest.approx(s, rel=0.03), eta
    assert not torch.allclose(ends[0.0], ends[1.0])
    # eta = 0 is exactly the Euler step, and point data (x0 = 2) ends at the point for any eta
    _, euler = sample_ode(vel, none, x1.clone(), ts, "euler")
    assert torch.equal(euler, ends[0.0])

    def to_point(v, a, tv, ta):
        return v, (a - 2.0) / ta[:, None]

    gen = torch.Generator().manual_seed(2)
    _, end = sample_ode(
        to_point, none[:50], x1[:50].clone(), schedule(7), "euler", audio_noise=0.8, generator=gen
    )
    assert torch.allclose(end, torch.full_like(end, 2.0), atol=1e-12)
    # Heun's stochastic update: its averaged velocity re-mixed the same way (eta 0 = Heun's step)
    _, heun = sample_ode(vel, none, x1.clone(), schedule(50), "heun")
    gen0 = torch.Generator().manual_seed(3)
    _, heun0 = sample_ode(vel, none, x1.clone(), schedule(50), "heun", audio_noise=0.0, generator=gen0)
    assert torch.equal(heun, heun0)
    gen1 = torch.Generator().manual_seed(3)
    _, heun1 = sample_ode(vel, none, x1.clone(), ts, "heun", audio_noise=1.0, generator=gen1)
    assert float(heun1.std()) == pytest.approx(s, rel=0.03)
    with pytest.raises(ValueError, match="needs a generator"):
        sample_ode(vel, none, x1.clone(), ts, "euler", audio_noise=0.5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        sample_ode(vel, none, x1.clone(), ts, "euler", audio_noise=1.5, generator=gen)


def test_sampler_audio_noise_is_seeded_and_leaves_unreachable_directions_alone(model: KinesonicModel) -> None:
    m, cond = random_model_and_cond(model.cfg)
    a = m.sample(cond, steps=3, seed=7, audio_noise=0.5)
    b = m.sample(cond, steps=3, seed=7, audio_noise=0.5)
    ode = m.sample(cond, steps=3, seed=7)
    assert torch.equal(a["audio"], b["audio"]) and not torch.equal(a["audio"], ode["audio"])
    assert m.dit.audio_reaches_all()
    with torch.no_grad():  # a rank-1 head: the fresh noise must not stay in the other directions
        m.dit.audio_out.linear.weight[1:] = m.dit.audio_out.linear.weight[0]
        m.dit.audio_out.linear.bias.zero_()
    assert not m.dit.audio_reaches_all()
    noisy = m.sample(cond, steps=3, seed=7, audio_noise=1.0)["audio"]
    ode = m.sample(cond, steps=3, seed=7)["audio"]
    assert torch.allclose(m.dit.audio_unreachable(noisy), torch.zeros_like(noisy), atol=1e-5)
    assert torch.allclose(m.dit.audio_unreachable(ode), torch.zeros_like(ode), atol=1e-5)
    assert not torch.allclose(noisy, ode)


def test_shift_spends_steps_near_noise() -> None:
    ts = schedule(4, shift=3.0)
    assert ts[0] == 1 and ts[-1] == 0
    assert ts[1] == pytest.approx(3 * 0.75 / (1 + 2 * 0.75))


def test_video_autoencoder_is_causal_and_grouped() -> None:
    cfg = micro_config()
    ae = KinesonicModel(cfg).video_ae
    v = torch.rand(1, 3, 9, cfg.height, cfg.width)
    z = ae.encode(v)
    assert z.shape == (1, cfg.video_channels, 3, cfg.latent_height, cfg.latent_width)
    v2 = v.clone()
    v2[:, :, 5:] = torch.rand(1, 3, 4, cfg.height, cfg.width)  # change only the last group
    z2 = ae.encode(v2)
    assert torch.equal(z[:, :, :2], z2[:, :, :2]) and not torch.equal(z[:, :, 2], z2[:, :, 2])
    assert torch.allclose(ae.encode_first(v[:, :, 0]), z[:, :, 0], atol=1e-5)
    assert ae.encode(v[:, :, :7]).shape[2] == 3  # 1 + ceil(6/4)


def test_audio_codec_sine_known_answer() -> None:
    from kinesonic.models.autoencoders import AudioCodec

    cfg = tiny_config()  # 64 mel bins: fine enough to place 1 kHz within one bin
    codec = AudioCodec(cfg)
    sr, f0 = cfg.sample_rate, 1000.0
    t = torch.arange(sr) / sr
    wave = (0.5 * torch.sin(2 * torch.pi * f0 * t))[None]
    lat = codec.encode(wave)
    assert lat.shape == (1, cfg.n_mels, sr // cfg.hop_length)
    import librosa

    centers = librosa.mel_frequencies(cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax)[1:-1]
    peak = int(lat[0, :, 10:-10].mean(-1).argmax())
    assert abs(centers[peak] - f0) < 150
    rec = codec.decode(lat)
    rec2 = codec.decode(lat)
    assert rec.shape == wave.shape and torch.equal(rec, rec2)  # deterministic Griffin-Lim
    spec = torch.fft.rfft(rec[0]).abs()
    assert abs(float(spec.argmax()) * sr / rec.shape[-1] - f0) < 40


def test_text_encoder_null_and_stable_ids() -> None:
    m = KinesonicModel(micro_config())
    ids = m.text.tokenize(["Glass breaks!", "", "glass   BREAKS !"])
    assert torch.equal(ids[0], ids[2]) and ids[1].sum() == 0 and (ids[0] > 0).sum() == 3
    with torch.no_grad():
        emb = m.text(ids)
    assert torch.equal(emb[1], m.text.null.detach())
    assert not torch.allclose(emb[0], emb[1])


def test_conditions_reach_their_towers() -> None:
    cfg = micro_config()
    m = randomize(KinesonicModel(cfg)).eval()
    img = torch.rand(3, cfg.height, cfg.width)
    with_tracks = m.build_conditioning(img, "clang", line_tracks(cfg))
    no_tracks = m.build_conditioning(img, "clang")
    g = torch.Generator().manual_seed(0)
    v, _, _, a = m.start_state(no_tracks, g)
    t = torch.tensor([0.5])
    with torch.no_grad():
        pv0, pa0 = m.velocity(v, a, t, t, no_tracks, joint=False)
        pv1, pa1 = m.velocity(v, a, t, t, with_tracks, joint=False)
        faster = replace(with_tracks, kin=with_tracks.kin * 2.0)
        pv2, pa2 = m.velocity(v, a, t, t, faster, joint=False)
        other_text = replace(no_tracks, text_ids=m.text.tokenize(["whistle"]))
        pv3, pa3 = m.velocity(v, a, t, t, other_text, joint=False)
    assert not torch.allclose(pv0, pv1)  # trajectory channels steer the video tower
    assert torch.equal(pv1, pv2) and not torch.allclose(pa1, pa2)  # kinematics: audio tower only
    assert not torch.allclose(pv0, pv3) and not torch.allclose(pa0, pa3)  # text: both towers


def test_clip_length_follows_tracks() -> None:
    cfg = micro_config()
    m = KinesonicModel(cfg).eval()
    t = np.arange(15) / cfg.fps  # 15 frames → 1 + ceil(14/4) = 5 latent frames → 17 decoded frames
    pts = np.stack([4 + 10 * t, 6 + 0 * t], -1)[:, None]
    tracks = Tracks(pts, np.ones((15, 1), bool), cfg.fps, cfg.width, cfg.height)
    cond = m.build_conditioning(torch.rand(3, cfg.height, cfg.width), "", tracks)
    out = m.sample(cond, steps=1)
    assert out["video"].shape[2] == 5 and out["audio"].shape[2] == cfg.audio_latent_frames(5)
    assert m.decode_video(out["video"]).shape[2] == 17


def test_optional_audio_autoencoder_and_reconstruction_losses() -> None:
    cfg = micro_config(audio_ae_channels=6)
    m = KinesonicModel(cfg)
    assert cfg.audio_channels == 6
    wave = torch.randn(2, cfg.audio_samples(cfg.latent_frames()))
    lat = m.encode_audio(wave)
    assert lat.shape == (2, 6, wave.shape[1] // cfg.hop_length)
    assert m.decode_audio(lat).shape == wave.shape
    loss = m.audio_codec.reconstruction_loss(wave)
    loss.backward()
    assert loss.item() > 0 and m.audio_codec.ae.encoder[0].weight.grad is not None
    video = torch.rand(1, 3, cfg.num_frames, cfg.height, cfg.width)
    assert m.video_ae.reconstruction_loss(video).item() > 0
    with pytest.raises(ValueError, match="no audio autoencoder"):
        KinesonicModel(micro_config()).audio_codec.reconstruction_loss(wave)


def test_decoded_audio_is_peak_limited_not_rescaled_when_quiet():
    import torch

    from kinesonic.models import KinesonicModel, micro_config

    model = KinesonicModel(micro_config())
    c = model.cfg.audio_channels
    loud_latent, quiet_latent = torch.full((1, c, 16), 0.0), torch.full((1, c, 16), -1.0)
    raw_loud, raw_quiet = model.audio_codec.decode(loud_latent), model.audio_codec.decode(quiet_latent)
    assert raw_loud.abs().max() > 1.0 and 0.0 < raw_quiet.abs().max() < 1.0  # both cases exist
    limited = model.decode_audio(loud_latent)
    assert abs(float(limited.abs().max()) - 1.0) < 1e-6
    torch.testing.assert_close(limited, raw_loud / raw_loud.abs().max())  # scaled, not clipped
    assert torch.equal(model.decode_audio(quiet_latent), raw_quiet)  # quiet sound untouched


def test_prepared_conditions_give_the_same_velocity() -> None:
    """Conditions prepared once per clip, then the per-step call: exactly the full forward."""
    cfg = micro_config()
    m = randomize(KinesonicModel(cfg)).eval()
    frame = torch.rand(3, cfg.height, cfg.width, generator=torch.Generator().manual_seed(0))
    cond = m.build_conditioning(
        frame, "a ball", line_tracks(cfg), physics=phys_dict(cfg, [1.0, 0.5], [2.0, 0.1])
    )
    v, a, _, _ = m.start_state(cond, torch.Generator().manual_seed(1))
    with torch.no_grad():
        prep = m.prepare(cond)
        for t in (0.9, 0.3):
            tt = torch.full((1,), t)
            assert all(
                torch.equal(x, y)
                for x, y in zip(m.predict(v, a, tt, tt, prep), m.velocity(v, a, tt, tt, cond), strict=True)
            )
        # the kinematic keys and the physics modulation are really in the prepared state
        assert len(prep.kin_kv) == cfg.depth and prep.kin_kv[0][0].shape[2] == 1 + cond.kin.shape[1] * 2
        assert prep.phys_mod[0].shape == (1, 1, 6 * cfg.hidden)  # the pooled layout: one per clip
        with pytest.raises(ValueError, match="do not fit the prepared conditions"):
            m.predict(v[:, :, :-1], a, tt, tt, prep)


def test_video_guidance_acts_outside_the_trajectory_mask_only() -> None:
    cfg = micro_config()
    m = randomize(KinesonicModel(cfg)).eval()
    cond = m.build_conditioning(torch.rand(3, cfg.height, cfg.width), "rain", line_tracks(cfg))
    inside = (cond.traj_mask > 0.5).expand(-1, cfg.video_channels, -1, -1, -1)
    assert inside[:, :, 1:].any() and (~inside[:, :, 1:]).any()
    kw = dict(steps=1, seed=3, audio_cfg=1.0)
    plain = m.sample(cond, guidance="none", **kw)["video"]
    guided = m.sample(cond, guidance="cfg", video_cfg=3.0, **kw)["video"]
    everywhere = m.sample(cond, guidance="cfg", video_cfg=3.0, video_guidance_region="all", **kw)["video"]
    assert torch.allclose(guided[inside], plain[inside], atol=1e-6)  # the positive velocity inside
    assert (guided[~inside] - plain[~inside]).abs().max() > 1e-3  # guided outside
    assert (everywhere[inside] - plain[inside]).abs().max() > 1e-3  # "all": guided inside too
    with pytest.raises(ValueError, match="video_guidance_region"):
        m.sample(cond, video_guidance_region="inside", **kw)
