"""Hybrid flow matching: paths, targets, region-balanced loss, time schedule and ODE solvers.

Convention (rectified flow, time runs from source to data):

    x_t = t * source + (1 - t) * data,      t in [0, 1], t = 1 is pure source, t = 0 is data,
    velocity v = dx_t/dt = source - data,

and sampling integrates dx/dt = v from t = 1 down to t = 0. For video the *source* is hybrid:
``source = M * trajectory_latent + (1 - M) * noise`` with the binary trajectory mask M (M is 1 on
all of frame 0, whose trajectory latent is the first-frame latent). The target ``source - data``
is consistent with the input at every location. For audio the source is pure Gaussian noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

VelocityFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
]


def hybrid_source(noise: torch.Tensor, trajectory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask * trajectory + (1 - mask) * noise`` (mask broadcast over channels)."""
    return mask * trajectory + (1 - mask) * noise


def interpolate(data: torch.Tensor, source: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``x_t = t * source + (1 - t) * data``; ``t [B]`` broadcast over the other dims."""
    tb = t.view(-1, *([1] * (data.dim() - 1))).to(data.dtype)
    return tb * source + (1 - tb) * data


def shift_time(t: torch.Tensor, shift: float) -> torch.Tensor:
    """Timestep shift ``s t / (1 + (s - 1) t)`` (s > 1 spends more steps near t = 1, the noisy end)."""
    return shift * t / (1 + (shift - 1) * t)


def schedule(steps: int, shift: float = 1.0) -> torch.Tensor:
    """``steps + 1`` float64 times from 1 to 0 (uniform, then shifted)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return shift_time(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64, device="cpu"), shift)


def masked_mean(err: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-sample ``sum(weight * err) / (sum(weight) + eps)`` over all but the batch dim → ``[B]``
    (weight broadcast to err)."""
    w = weight.expand_as(err)
    dims = tuple(range(1, err.dim()))
    return (w * err).sum(dims) / (w.sum(dims) + eps)


def region_balanced_loss(
    pred: torch.Tensor, target: torch.Tensor, soft_mask: torch.Tensor, eps: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """Video loss split into the trajectory region and the rest, first latent frame excluded.

    Args:
        pred, target: ``[B, C, L, h, w]`` velocities.
        soft_mask: ``[B, 1, L, h, w]`` Gaussian soft trajectory mask in 0..1.
    Returns:
        ``(inside [B], outside [B])``: per-sample masked means of the squared error weighted by
        ``soft_mask`` and by ``1 - soft_mask`` over frames 1..L-1, each normalised by that sample's
        own weights (eps keeps empty regions finite: their loss is 0). The training objective
        (``training.objective.FlowObjective``) averages them over samples.
    """
    err = (pred - target).pow(2)[:, :, 1:]
    w = soft_mask[:, :, 1:]
    return masked_mean(err, w, eps), masked_mean(err, 1 - w, eps)


def sample_ode(
    velocity: VelocityFn,
    video: torch.Tensor,
    audio: torch.Tensor,
    times: torch.Tensor,
    solver: str = "euler",
    hold_video: float | None = None,
    hold_audio: float | None = None,
    project_video: Callable[[torch.Tensor], torch.Tensor] | None = None,
    callback: Callable[[int, int], None] | None = None,
    audio_noise: float = 0.0,
    generator: torch.Generator | None = None,
    audio_reachable: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Integrate dx/dt = v from ``times[0]`` (=1) to ``times[-1]`` (=0) for both modalities.

    Args:
        velocity: ``f(video, audio, t_video [B], t_audio [B]) -> (v_video, v_audio)``.
        video, audio: start states (the sources) ``[B, ...]``.
        times: ``[steps + 1]`` decreasing times (see :func:`schedule`).
        solver: ``"euler"`` or ``"heun"`` (2nd order; the last step to t = 0 is Euler).
        hold_video / hold_audio: if set, that modality is a fixed condition: its state is left as
            given and the model sees this constant flow time (V2A / A2V).
        project_video: applied after every update (re-imposes the first-frame latent).
        callback: ``callback(step, total)`` after each step (may raise to interrupt).
        audio_noise: eta in [0, 1] of a stochastic audio update (0 = the ODE), DDIM's eta on the
            flow's path ``x_t = (1 - t) x0 + t eps``: a step from t to t' splits the state into its
            predicted data ``x0 = x - t v`` and noise ``eps = x + (1 - t) v`` (v: the solver's
            velocity for the step, Heun's average for "heun") and re-mixes
            them as ``(1 - t') x0 + sqrt(t'^2 - c^2) eps + c z`` with fresh noise ``z`` of scale
            ``c = eta * t'/t * sqrt(t^2 - ((1 - t) t' / (1 - t'))^2)`` (eta = 1: the posterior of
            the forward process, i.e. ancestral sampling; eta = 0: the solver's own step). With
            exact predictions every eta keeps the flow's marginals; the fresh noise lets later
            steps correct what earlier ones averaged away.
        generator: CPU generator of the fresh noise (needed when ``audio_noise > 0``).
        audio_reachable: if given, the stochastic update changes the audio only by its image under this
            map (the part of the change the audio head could make; elsewhere the solver's own step).
    Returns:
        final ``(video, audio)`` states.
    """
    if solver not in ("euler", "heun"):
        raise ValueError(f"solver must be 'euler' or 'heun', got {solver!r}")
    if not 0.0 <= audio_noise <= 1.0:
        raise ValueError(f"audio_noise must be in [0, 1], got {audio_noise}")
    stochastic = audio_noise > 0 and hold_audio is None
    if stochastic and generator is None:
        raise ValueError("audio_noise > 0 needs a generator")
    b = video.shape[0]
    total = len(times) - 1
    proj = project_video or (lambda x: x)
    video = proj(video)

    tdtype = torch.float64 if video.dtype == torch.float64 else torch.float32  # never 16-bit times

    def tvec(t: float, hold: float | None) -> torch.Tensor:
        return torch.full((b,), float(t if hold is None else hold), dtype=tdtype, device=video.device)

    for i in range(total):
        t, tn = float(times[i]), float(times[i + 1])
        dt = tn - t
        vv, va = velocity(video, audio, tvec(t, hold_video), tvec(t, hold_audio))
        nv = video if hold_video is not None else proj(video + dt * vv)
        na = audio if hold_audio is not None else audio + dt * va
        if solver == "heun" and tn > 0:
            vv2, va2 = velocity(nv, na, tvec(tn, hold_video), tvec(tn, hold_audio))
            if hold_video is None:
                nv = proj(video + dt * 0.5 * (vv + vv2))
            if hold_audio is None:
                va = 0.5 * (va + va2)
                na = audio + dt * va
        if stochastic and tn > 0:  # re-mix predicted data and noise (from the step's velocity) + fresh noise
            x0, eps = audio - t * va, audio + (1.0 - t) * va
            z = torch.randn(audio.shape, generator=generator, device="cpu").to(audio)
            c = audio_noise * tn / t * max(t**2 - ((1.0 - t) * tn / (1.0 - tn)) ** 2, 0.0) ** 0.5
            remixed = (1.0 - tn) * x0 + max(tn**2 - c**2, 0.0) ** 0.5 * eps + c * z
            na = remixed if audio_reachable is None else na + audio_reachable(remixed - na)
        video, audio = nv, na
        if callback is not None:
            callback(i + 1, total)
    return video, audio
