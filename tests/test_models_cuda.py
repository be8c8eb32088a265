"""The generator on CUDA (runs where a GPU exists, skipped elsewhere): sampling and one training step
with the model moved by ``.to("cuda")``, the same noise stream as on the CPU, and bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from generator_cases import clips, conditioning

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.training.objective import FlowObjective, prepare_batch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def models() -> tuple[KinesonicModel, KinesonicModel]:
    torch.manual_seed(0)
    cpu = KinesonicModel(micro_config())
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in cpu.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    gpu = KinesonicModel(micro_config())
    gpu.load_state_dict(cpu.state_dict())
    return cpu.eval(), gpu.to("cuda").eval()


def test_sampling_on_cuda_matches_cpu() -> None:
    cpu, gpu = models()
    assert gpu.device.type == "cuda" and gpu.dit.rope_video.device.type == "cuda"
    ref = cpu.sample(conditioning(cpu), steps=4, guidance="cfg", video_cfg=2.0, audio_cfg=2.0, seed=5)
    out = gpu.sample(conditioning(gpu), steps=4, guidance="cfg", video_cfg=2.0, audio_cfg=2.0, seed=5)
    assert out["video"].device.type == "cuda"
    torch.testing.assert_close(out["video"].cpu(), ref["video"], atol=2e-3, rtol=2e-3)
    torch.testing.assert_close(out["audio"].cpu(), ref["audio"], atol=2e-3, rtol=2e-3)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        half = gpu.sample(conditioning(gpu), steps=4, guidance="cfg", video_cfg=2.0, audio_cfg=2.0, seed=5)
    assert torch.isfinite(half["video"]).all() and torch.isfinite(half["audio"]).all()
    wave = gpu.decode_audio(out["audio"])
    assert wave.device.type == "cuda" and torch.isfinite(wave).all()


def test_training_step_on_cuda() -> None:
    _, gpu = models()
    gpu.train()
    batch = prepare_batch(gpu, clips(gpu.cfg), [0, 1])
    objective = FlowObjective()
    inp = objective.inputs(batch, [1, 2])
    pv, pa = gpu.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
    loss = objective.losses(pv, pa, inp)["loss"].mean()
    loss.backward()
    assert loss.device.type == "cuda" and torch.isfinite(loss)
    assert all(p.grad.device.type == "cuda" for p in gpu.dit.parameters() if p.grad is not None)
