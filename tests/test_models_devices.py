"""Device and dtype follow the model: the sampler and one training step in float64 and bfloat16
(any tensor made at the default dtype would leak float32 into them and fail or change the output
dtype), a shape-only pass on the ``meta`` device, and rotary tables that move with ``.to()``."""

from __future__ import annotations

import pytest
import torch
from generator_cases import clips, conditioning, randomized

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.training.objective import FlowObjective, prepare_batch


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
@pytest.mark.parametrize("guidance", ["cfg", "joint"])
def test_sampler_keeps_the_model_dtype(dtype: torch.dtype, guidance: str) -> None:
    model = randomized(dtype)
    cond = conditioning(model)
    assert cond.traj_latent.dtype == dtype and cond.first_latent.dtype == dtype
    assert model.device == torch.device("cpu") and model.dtype == dtype
    out = model.sample(cond, steps=3, solver="heun", guidance=guidance, video_cfg=2.0, audio_cfg=2.0, seed=0)
    assert out["video"].dtype == dtype and out["audio"].dtype == dtype
    assert torch.isfinite(out["video"].float()).all() and torch.isfinite(out["audio"].float()).all()
    # the same noise stream as float32 (CPU generator), so the results agree to the dtype's precision
    ref_model = randomized(torch.float32)
    ref = ref_model.sample(
        conditioning(ref_model), steps=3, solver="heun", guidance=guidance, video_cfg=2.0, audio_cfg=2.0
    )
    tol = 1e-4 if dtype == torch.float64 else 0.25
    assert (out["video"].double() - ref["video"].double()).abs().max() < tol * ref["video"].abs().max()
    assert (out["audio"].double() - ref["audio"].double()).abs().max() < tol * ref["audio"].abs().max()
    video = model.decode_video(out["video"])
    assert video.dtype == dtype and video.shape[2] == model.cfg.num_frames


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_training_step_keeps_the_model_dtype(dtype: torch.dtype) -> None:
    model = randomized(dtype).train()
    batch = prepare_batch(model, clips(model.cfg), [0, 1])
    assert batch["video_latent"].dtype == dtype and batch["audio_latent"].dtype == dtype
    objective = FlowObjective(drops=(0.5, 0.5, 0.5, 0.5), p_v2a=0.3, p_a2v=0.3)
    inp = objective.inputs(batch, [11, 12])
    assert inp["in_v"].dtype == dtype and inp["t_v"].dtype in (torch.float32, torch.float64)
    pv, pa = model.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
    losses = objective.losses(pv, pa, inp)
    loss = losses["loss"].mean()
    assert loss.dtype == dtype and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.dit.parameters() if p.grad is not None]
    assert grads and all(g.dtype == dtype for g in grads)


def test_meta_device_shape_only_pass() -> None:
    """The whole sampler on the meta device (no data, shapes only): nothing is made on the CPU."""
    cpu = KinesonicModel(micro_config()).eval()
    cond = conditioning(cpu)
    meta = KinesonicModel(micro_config()).to("meta").eval()
    assert meta.device.type == "meta" and meta.dit.rope_video.device.type == "meta"
    out = meta.sample(cond.to("meta"), steps=2, guidance="cfg", video_cfg=2.0, audio_cfg=2.0)
    cfg = cpu.cfg
    lf = cfg.latent_frames()
    assert out["video"].device.type == "meta"
    assert tuple(out["video"].shape) == (1, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width)
    assert tuple(out["audio"].shape) == (1, cfg.audio_channels, cfg.audio_latent_frames(lf))
    pv, pa = meta.velocity(
        out["video"],
        out["audio"],
        torch.ones(1, device="meta"),
        torch.ones(1, device="meta"),
        cond.to("meta"),
    )
    assert pv.shape == out["video"].shape and pa.shape == out["audio"].shape


def test_rope_tables_are_buffers_that_move_and_stay_precise() -> None:
    model = KinesonicModel(micro_config())
    buffers = dict(model.dit.named_buffers())
    assert {"rope_video", "rope_audio", "rope_time"} <= set(buffers)
    assert not any(k.startswith("dit.rope") for k in model.state_dict())  # non-persistent
    ref = model.dit.rope_video.clone()
    model.to(torch.bfloat16)
    assert model.dit.rope_video.dtype == torch.float32  # recomputed, not rounded to 3 digits
    assert torch.equal(model.dit.rope_video, ref)
    model.to(torch.float64)
    assert model.dit.rope_video.dtype == torch.float64
    # a clip of another length gets tables computed on the model's device
    ropes = model.dit.ropes(3, model.cfg.audio_tokens(3), 3, 2)
    assert ropes["video"].shape[0] == model.cfg.video_tokens(3) and ropes["kin"].shape[0] == 1 + 3 * 2


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    grads = []
    for ckpt in (False, True):
        model = randomized().train()
        model.dit.gradient_checkpointing = ckpt
        batch = prepare_batch(model, clips(model.cfg), [0, 1])
        objective = FlowObjective()
        inp = objective.inputs(batch, [3, 4])
        pv, pa = model.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
        objective.losses(pv, pa, inp)["loss"].mean().backward()
        grads.append({k: p.grad.clone() for k, p in model.dit.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 50
    for k, g in grads[0].items():
        torch.testing.assert_close(grads[1][k], g, rtol=1e-5, atol=1e-7, msg=k)
