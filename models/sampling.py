"""Sampling: integrate the flow ODE from the (hybrid) source at t = 1 to the latents at t = 0, with
classifier-free guidance (CFG) or JointCFG, in three modes (joint, video-to-audio, audio-to-video).

The conditions are prepared once per clip (:meth:`KinesonicModel.prepare`); every ODE step is then
one :meth:`KinesonicModel.predict` call (two for JointCFG). Noise comes from a seeded CPU generator
(the same numbers on every device) and is moved to the model's device and dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from .conditioning import Conditioning, cat_conditions
from .flow import hybrid_source, interpolate, sample_ode, schedule
from .layers import compute_dtype

if TYPE_CHECKING:
    from .model import KinesonicModel

MODES = ("joint", "v2a", "a2v")
GUIDANCE = ("none", "cfg", "joint")

#: Sampler defaults of the Generate nodes and the evaluation table: video CFG 3, audio CFG 2 and the
#: stochastic audio update at eta 1 (``audio_noise``; the model's own default stays the ODE, 0).
#: Chosen on a validation set of 60 held-out clips (seed base 5000, not the table's) with the shipped
#: stage-2 model (benchmarks/bench_guidance.py --seed 5000): ODE + audio CFG 1 / eta 1 + CFG 1 /
#: eta 1 + CFG 1.5 / eta 1 + CFG 2 gave ETE 0.148 / 0.137 / 0.136 / 0.138 s, onset AP 0.503 / 0.642 /
#: 0.645 / 0.618, level error 9.3 / 9.9 / 6.1 / 4.5 dB and MAIC 0.44 / 0.38 / 0.35 / 0.36
#: (docs/model_card.md, "Sampler").
DEFAULT_VIDEO_CFG = 3.0
DEFAULT_AUDIO_CFG = 2.0
DEFAULT_AUDIO_NOISE = 1.0


def start_state(
    model: KinesonicModel, cond: Conditioning, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sampling start ``(video_source, audio_noise, video_noise, audio_noise)`` at t = 1.

    The video source is the trajectory latent inside the mask and Gaussian noise outside, with
    frame 0 = the first-frame latent when one is given (a ``no_hybrid_flow`` model: noise with
    the first-frame latent, as it was trained).
    """
    cfg = model.cfg
    b, lf = cond.batch, cond.latent_frames
    shape_v = (b, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width)
    # drawn from the CPU generator (the same stream on every device), then moved
    eps_v = torch.randn(shape_v, generator=generator, device="cpu")
    eps_a = torch.randn(
        (b, cfg.audio_channels, cfg.audio_latent_frames(lf)), generator=generator, device="cpu"
    )
    eps_v, eps_a = (e.to(device=model.device, dtype=model.dtype) for e in (eps_v, eps_a))
    if "no_hybrid_flow" in model.ablations:
        src = impose_first(eps_v, cond)
    else:
        src = impose_first(hybrid_source(eps_v, cond.traj_latent, cond.traj_mask), cond)
    return src, eps_a.clone(), eps_v, eps_a


def impose_first(video: torch.Tensor, cond: Conditioning) -> torch.Tensor:
    """``video [B,C,L,h,w]`` with latent frame 0 replaced by the first-frame latent (if any)."""
    if cond.first_latent is None:
        return video
    out = video.clone()
    out[:, :, 0] = cond.first_latent
    return out


@torch.no_grad()
def sample(
    model: KinesonicModel,
    cond: Conditioning,
    mode: str = "joint",
    steps: int = 25,
    solver: str = "euler",
    shift: float = 1.0,
    video_cfg: float = 1.0,
    audio_cfg: float = 1.0,
    guidance: str = "cfg",
    seed: int = 0,
    video: torch.Tensor | None = None,
    audio: torch.Tensor | None = None,
    cond_time: float = 0.0,
    callback: Callable[[int, int], None] | None = None,
    video_guidance_region: str = "outside",
    audio_noise: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Generate latents by integrating the flow ODE from t = 1 to 0.

    Args:
        cond: from :func:`.conditioning.build_conditioning` (what an ablated model was trained without is
            dropped here, see the class docstring).
        mode: ``"joint"`` (image/text → sounding video), ``"v2a"`` (given ``video`` latent
            ``[B, C, L, h, w]`` → audio) or ``"a2v"`` (given ``audio`` latent ``[B, C_a, F]`` → video).
        steps, solver ("euler" | "heun"), shift: the time schedule (:func:`.flow.schedule`).
        video_cfg, audio_cfg: per-modality guidance scales (1 = no guidance).
        guidance: ``"none"``, ``"cfg"`` (negative = dropped conditions) or ``"joint"`` (JointCFG:
            negative = dropped conditions and block-diagonal, no cross-modal attention).
        seed: noise seed (CPU generator; deterministic).
        cond_time: flow time at which the given modality is held (0 = clean).
        callback: ``callback(step, total)``.
        video_guidance_region: ``"outside"`` (default) guides the video only outside the trajectory
            mask, where the source is noise; ``"all"`` guides it everywhere.
        audio_noise: eta of the stochastic audio update (:func:`.flow.sample_ode`; 0 = the ODE), applied
            in the directions the audio head can reach (the others keep the ODE and lose their start
            noise at the end, as below).
    Returns:
        ``{"video": [B, C, L, h, w], "audio": [B, C_a, F]}``. A generated audio latent has the
        start noise removed from the directions the audio head cannot reach
        (:meth:`.twin_dit.TwinDiT.audio_unreachable`): there the ODE only adds the head's
        constant bias, so what is left is that learned constant instead of unit noise.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if guidance not in GUIDANCE:
        raise ValueError(f"guidance must be one of {GUIDANCE}, got {guidance!r}")
    if video_guidance_region not in ("outside", "all"):
        raise ValueError(f"video_guidance_region must be 'outside' or 'all', got {video_guidance_region!r}")
    if cond.audio_keep is not None and mode != "a2v":
        raise ValueError(
            "stream intervals (cond.audio_keep) only apply to mode 'a2v', where the sound is given"
        )
    cond = cond.ablated("no_kinematics" in model.ablations, "no_trajectory" in model.ablations)
    if "no_physics" in model.ablations and cond.physics is not None:  # trained without: sampled without
        cond = replace(cond, physics=None, physics_mask=None)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    cond = cond.to(model.device)
    xv, xa, eps_v, eps_a = start_state(model, cond, gen)
    hold_v = hold_a = None
    if mode == "v2a":
        if video is None or video.shape != xv.shape:
            raise ValueError(f"v2a needs a video latent of shape {tuple(xv.shape)}")
        video = video.to(device=model.device, dtype=model.dtype)
        xv, hold_v = interpolate(video, eps_v, _times(xv, cond_time)), cond_time
    if mode == "a2v":
        if audio is None or audio.shape != xa.shape:
            raise ValueError(f"a2v needs an audio latent of shape {tuple(xa.shape)}")
        audio = audio.to(device=model.device, dtype=model.dtype)
        xa, hold_a = interpolate(audio, eps_a, _times(xa, cond_time)), cond_time
    neg = cond.dropped()
    use_neg = guidance != "none" and (video_cfg != 1.0 or audio_cfg != 1.0)
    # Inside the trajectory mask the state starts from the trajectory latent itself, which the
    # negative (trained with the trajectory dropped from both the channels and the source) cannot
    # know: guidance there would extrapolate between two different sources, so the video guidance
    # acts outside the mask only ("all": everywhere, the behaviour before; docs/generator.md)
    inside = None
    if video_guidance_region == "outside" and "no_hybrid_flow" not in model.ablations:
        inside = (cond.traj_mask > 0.5).expand(-1, model.cfg.video_channels, -1, -1, -1)
    # the conditions are prepared once per clip; each ODE step is one predict call (or two)
    if not use_neg:
        pos = model.prepare(cond)
    elif guidance == "cfg":  # one batched call per step: [positive; negative]
        both = model.prepare(cat_conditions(cond, neg))
    else:
        pos, negative = model.prepare(cond), model.prepare(neg)

    def velocity(v: torch.Tensor, a: torch.Tensor, tv: torch.Tensor, ta: torch.Tensor):
        if not use_neg:
            return model.predict(v, a, tv, ta, pos)
        if guidance == "cfg":
            pv, pa = model.predict(torch.cat([v, v]), torch.cat([a, a]), tv.repeat(2), ta.repeat(2), both)
            (pv, nv), (pa, na) = pv.chunk(2), pa.chunk(2)
        else:
            pv, pa = model.predict(v, a, tv, ta, pos)
            nv, na = model.predict(v, a, tv, ta, negative, joint=False)
        if inside is not None:  # no video guidance where the source is the trajectory latent
            nv = torch.where(inside, pv, nv)
        return nv + video_cfg * (pv - nv), na + audio_cfg * (pa - na)

    project = None if mode == "v2a" else (lambda x: impose_first(x, cond))
    # the audio head's column space, once per call (one SVD): the stochastic update and the start-noise
    # removal below act only inside / outside it; None when the head reaches every direction (or on
    # the meta device, where there is nothing to remove)
    dit = model.dit
    basis = None if dit.device.type == "meta" else dit.audio_basis()
    if basis is not None and dit.audio_reaches_all(basis):
        basis = None
    xv, xa = sample_ode(
        velocity,
        xv,
        xa,
        schedule(steps, shift),
        solver,
        hold_video=hold_v,
        hold_audio=hold_a,
        project_video=project,
        callback=callback,
        audio_noise=audio_noise,
        generator=gen,
        # the fresh noise only where the audio head can act (elsewhere the start noise is removed below)
        audio_reachable=None if basis is None else (lambda d: d - dit.audio_unreachable(d, basis)),
    )
    if mode == "v2a":
        xv = video
    if mode == "a2v":
        xa = audio
    else:  # the start noise the audio head cannot reach is still there: remove it
        if basis is not None:
            xa = xa - dit.audio_unreachable(eps_a, basis)
    return {"video": xv, "audio": xa}


def _times(x: torch.Tensor, t: float) -> torch.Tensor:
    """Flow times ``[B]`` = t on ``x``'s device (float32; float64 for a float64 ``x``)."""
    return torch.full((x.shape[0],), float(t), device=x.device, dtype=compute_dtype(x))
