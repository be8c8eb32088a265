"""The training objective of the generator (the only one: trainer, tests and benchmarks use it).

Hybrid flow matching (:mod:`kinesonic.models.flow`): logit-normal flow times, V2A / A2V holds,
independent condition dropout, region-balanced video loss. Two choices make distributed runs
match single-process runs exactly:

- every random draw of sample i comes from its own generator seeded by
  :func:`.data.sample_seed` (run seed, stage, step, global dataset index);
- the loss is the MEAN OVER SAMPLES of per-sample losses (each sample's region-balanced video loss
  is normalised by its own mask weights), so the mean of the ranks' local losses — what DDP's
  gradient averaging computes — equals the single-process loss of the whole global batch.

Ablation switches (see :class:`.config.TrainConfig`) act here and in :func:`apply_ablation`, which the
evaluation also uses to build the conditioning an ablated model was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..models import (
    Conditioning,
    KinesonicModel,
    cat_conditions,
    hybrid_source,
    interpolate,
    region_balanced_loss,
)
from ..models.sampling import impose_first
from ..models.streams import stream_keep
from .data import TrainClip
from .music_beds import MusicBeds

LOSS_KEYS = ("loss", "video_inside", "video_outside", "audio")


def apply_ablation(
    cond: Conditioning, no_kinematics: bool = False, no_trajectory: bool = False
) -> Conditioning:
    """The conditioning an ablated model sees (:meth:`Conditioning.ablated`)."""
    return cond.ablated(no_kinematics, no_trajectory)


def clips_to_tensors(clips: Sequence[TrainClip], num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(videos [B, 3, T, H, W] float 0..1, waves [B, num_samples] float)`` (audio cut or zero-padded)."""
    videos = torch.stack([torch.from_numpy(np.ascontiguousarray(c.frames)) for c in clips])
    videos = videos.permute(0, 4, 1, 2, 3).float() / 255.0
    waves = torch.zeros(len(clips), num_samples, device="cpu")
    for i, c in enumerate(clips):
        a = torch.from_numpy(np.asarray(c.audio, dtype=np.float32)[:num_samples])
        waves[i, : a.shape[0]] = a
    return videos, waves


@torch.no_grad()
def prepare_batch(
    model: KinesonicModel,
    clips: Sequence[TrainClip],
    indices: Sequence[int],
    seed: int = 0,
    use_physics: bool = True,
    no_kinematics: bool = False,
    no_trajectory: bool = False,
    music: MusicBeds | None = None,
    music_seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Encode clips and build their conditioning (no grad).

    Clip i's trajectory-latent collision choice is seeded by ``seed + indices[i]`` (its global index).
    ``music``: beds for the music FiLM (a model with ``cfg.music_film``); sample i's bed is drawn from
    ``music_seeds[i]`` and given as the music FiLM's input (the clip's own sound stays the audio); the
    batch then also holds ``stream_keep [B, Na]`` (the clip sound's active audio tokens) and
    ``has_music [B]``: an audio-to-video sample with a bed attends to its sound inside those intervals.
    Returns ``{"video_latent" [B, C, L, h, w], "audio_latent" [B, C_a, F], "cond": Conditioning}``.
    """
    cfg = model.cfg
    t = clips[0].frames.shape[0]
    lf = cfg.latent_frames(t)
    videos, waves = clips_to_tensors(clips, cfg.audio_samples(lf))
    videos, waves = (x.to(device=model.device, dtype=model.dtype) for x in (videos, waves))
    video_latent = model.encode_video(videos)
    audio_latent = model.encode_audio(waves)
    conds = [
        model.build_conditioning(
            videos[i, :, 0],
            c.caption,
            c.tracks,
            physics=c.physics if use_physics else None,
            num_frames=t,
            seed=int(seed) + int(indices[i]),
        )
        for i, c in enumerate(clips)
    ]
    cond = apply_ablation(cat_conditions(*conds), no_kinematics, no_trajectory)
    extra: dict[str, torch.Tensor] = {}
    if music is not None:  # the music FiLM's input: a bed per sample (or none), from the sample's seed
        if music_seeds is None or len(music_seeds) != len(clips):
            raise ValueError("prepare_batch: music beds need one seed per clip (music_seeds)")
        rms = waves.float().pow(2).mean(-1).sqrt().cpu().numpy()
        beds = [music.draw(int(s), float(r)) for s, r in zip(music_seeds, rms, strict=True)]
        stems = torch.zeros_like(waves)
        for i, bed in enumerate(beds):
            if bed is not None:
                stems[i] = torch.from_numpy(bed[: stems.shape[1]]).to(stems)
        feats, known = model.music_vector(stems)
        cond = cond.with_music(feats, known)
        # a sample with a bed stands for a soundtrack given as stems: in audio-to-video the video hears
        # the effects stem (the clip's sound) only inside its active intervals (FlowObjective.inputs)
        na = cfg.audio_tokens(lf)
        sound = waves.float().cpu().numpy()
        extra = {
            "stream_keep": torch.stack([stream_keep(w, cfg, na) for w in sound]).to(model.device),
            "has_music": torch.tensor([b is not None for b in beds], device=model.device),
        }
    return {"video_latent": video_latent, "audio_latent": audio_latent, "cond": cond, **extra}


class FlowObjective:
    """Per-sample hybrid-flow-matching loss of the twin DiT.

    Args:
        drops: drop probabilities of (text, trajectory channels, kinematics, physics).
        p_v2a, p_a2v, max_cond_time: V2A / A2V training shares and the hold time range.
        time_mean, time_std: logit-normal flow time ``sigmoid(mean + std * N(0, 1))``.
        time_tail, tail_start: with probability ``time_tail`` a sample's flow time is instead uniform
            in ``[tail_start, 1)``: the nearly-pure-noise end, where the logit-normal puts little
            weight (0.16 % above 0.95) and where a sample's level is decided. Its draws come after all
            others of the sample, so the other draws are those of ``time_tail = 0``.
        a2v_sound_only: share of the audio-to-video samples whose trajectory channels and kinematic
            tokens are dropped as well, so the given sound alone has to place the motion (drawn after
            the time tail: with 0 the draws are those of earlier recipes).
        music_drop: probability of dropping a sample's music FiLM input (drawn last, only when > 0).
        weights: (video inside, video outside, audio).
        no_hybrid_flow: pure-noise video source and a plain masked-mean video loss (ablation).
    """

    def __init__(
        self,
        drops: tuple[float, float, float, float] = (0.1, 0.1, 0.1, 0.1),
        p_v2a: float = 0.1,
        p_a2v: float = 0.1,
        max_cond_time: float = 0.1,
        time_mean: float = 0.0,
        time_std: float = 1.0,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        no_hybrid_flow: bool = False,
        eps: float = 1e-6,
        time_tail: float = 0.0,
        tail_start: float = 0.9,
        a2v_sound_only: float = 0.0,
        music_drop: float = 0.0,
    ) -> None:
        self.drops = torch.tensor(drops, dtype=torch.float32, device="cpu")
        self.p_v2a, self.p_a2v, self.max_cond_time = p_v2a, p_a2v, max_cond_time
        self.time_mean, self.time_std = time_mean, time_std
        self.weights = weights
        self.no_hybrid_flow = no_hybrid_flow
        self.eps = eps
        if not 0.0 <= time_tail <= 1.0 or not 0.0 < tail_start < 1.0:
            raise ValueError(
                f"time_tail must be in [0, 1] and tail_start in (0, 1), got {time_tail}, {tail_start}"
            )
        self.time_tail, self.tail_start = float(time_tail), float(tail_start)
        if not 0.0 <= a2v_sound_only <= 1.0:
            raise ValueError(f"a2v_sound_only must be in [0, 1], got {a2v_sound_only}")
        self.a2v_sound_only = float(a2v_sound_only)
        if not 0.0 <= music_drop <= 1.0:
            raise ValueError(f"music_drop must be in [0, 1], got {music_drop}")
        self.music_drop = float(music_drop)

    def draws(
        self, seeds: Sequence[int], shape_v: tuple[int, ...], shape_a: tuple[int, ...]
    ) -> dict[str, Any]:
        """All random draws of a batch, one generator per sample (``seeds[i]``).

        ``shape_v`` / ``shape_a`` are one sample's latent shapes ``[C, L, h, w]`` / ``[C_a, F]``.
        """
        keep, t, u, hold, eps_v, eps_a, alone, music = [], [], [], [], [], [], [], []
        cpu = torch.device("cpu")  # CPU generators: the same draws on every device
        for s in seeds:
            g = torch.Generator(device=cpu).manual_seed(int(s))
            keep.append(torch.rand(4, generator=g, device=cpu) >= self.drops)
            t.append(torch.sigmoid(self.time_mean + self.time_std * torch.randn(1, generator=g, device=cpu)))
            u.append(torch.rand(1, generator=g, device=cpu))
            hold.append(torch.rand(1, generator=g, device=cpu) * self.max_cond_time)
            eps_v.append(torch.randn(shape_v, generator=g, device=cpu))
            eps_a.append(torch.randn(shape_a, generator=g, device=cpu))
            if self.time_tail > 0.0:  # drawn last: the draws above stay those of time_tail = 0
                coin, where = torch.rand(2, generator=g, device=cpu)
                if coin < self.time_tail:
                    t[-1] = (self.tail_start + (1.0 - self.tail_start) * where).reshape(1)
            # drawn after the tail: the draws above stay those of a2v_sound_only = 0
            alone.append(
                torch.rand(1, generator=g, device=cpu)
                if self.a2v_sound_only > 0.0
                else torch.ones(1, device=cpu)
            )
            # drawn last: the draws above stay those of music_drop = 0
            music.append(
                torch.rand(1, generator=g, device=cpu) >= self.music_drop
                if self.music_drop > 0.0
                else torch.ones(1, dtype=torch.bool, device=cpu)
            )
        return {
            "keep": torch.stack(keep, 1),  # [4, B]
            "t": torch.cat(t),
            "u": torch.cat(u),
            "hold": torch.cat(hold),
            "eps_v": torch.stack(eps_v),
            "eps_a": torch.stack(eps_a),
            "alone": torch.cat(alone),
            "music": torch.cat(music),
        }

    @staticmethod
    def drop(cond: Conditioning, keep: torch.Tensor) -> Conditioning:
        """Apply per-sample keep flags ``[4, B]`` (text, trajectory channels, kinematics, physics)."""
        k1 = keep[1].to(cond.traj_latent.dtype).view(-1, 1, 1, 1, 1)
        return replace(
            cond,
            text_ids=cond.text_ids * keep[0].long().view(-1, 1),
            traj_latent=cond.traj_latent * k1,
            traj_mask=cond.traj_mask * k1,
            kin_mask=None if cond.kin_mask is None else cond.kin_mask & keep[2].view(-1, 1, 1),
            physics_mask=None if cond.physics_mask is None else cond.physics_mask & keep[3].view(-1, 1, 1, 1),
        )

    def inputs(self, batch: dict[str, Any], seeds: Sequence[int]) -> dict[str, Any]:
        """Noisy inputs, times, targets and row masks for one batch (no model call)."""
        x_v, x_a, full = batch["video_latent"], batch["audio_latent"], batch["cond"]
        d = self.draws(seeds, tuple(x_v.shape[1:]), tuple(x_a.shape[1:]))
        tdt = torch.float64 if x_v.dtype == torch.float64 else torch.float32  # flow times: never 16-bit
        d = {
            k: v.to(
                device=x_v.device,
                dtype=x_v.dtype if k.startswith("eps") else tdt if k not in ("keep", "music") else None,
            )
            for k, v in d.items()
        }
        v2a = d["u"] < self.p_v2a
        a2v = (d["u"] >= self.p_v2a) & (d["u"] < self.p_v2a + self.p_a2v)
        keep = d["keep"].clone()
        alone = a2v & (d["alone"] < self.a2v_sound_only)  # the sound alone: no trajectory, no kinematics
        keep[1:3] &= ~alone
        cond = self.drop(full, keep)
        if cond.music_mask is not None:
            cond = replace(cond, music_mask=cond.music_mask & d["music"])
        if "stream_keep" in batch and bool((a2v & batch["has_music"]).any()):  # stems: stream intervals
            stems = (a2v & batch["has_music"])[:, None]
            cond = replace(cond, audio_keep=torch.where(stems, batch["stream_keep"], True))
        t_v = torch.where(v2a, d["hold"], d["t"])
        t_a = torch.where(a2v, d["hold"], d["t"])
        eps_v, eps_a = d["eps_v"], d["eps_a"]
        if self.no_hybrid_flow:
            src_v = impose_first(eps_v, full)
        else:
            # the source is built from the conditioning the sample sees: where its trajectory is
            # dropped (mask 0) the source is noise, so the trajectory leaves the state as well as the
            # channels; the first frame comes from the full conditioning either way
            src_v = impose_first(hybrid_source(eps_v, cond.traj_latent, cond.traj_mask), full)
        src_v = torch.where(v2a.view(-1, 1, 1, 1, 1), eps_v, src_v)
        return {
            "in_v": interpolate(x_v, src_v, t_v),
            "in_a": interpolate(x_a, eps_a, t_a),
            "t_v": t_v,
            "t_a": t_a,
            "cond": cond,
            "target_v": src_v - x_v,
            "target_a": eps_a - x_a,
            "row_v": (~v2a).to(x_v.dtype),
            "row_a": (~a2v).to(x_a.dtype),
            "soft": torch.zeros_like(full.soft_mask) if self.no_hybrid_flow else full.soft_mask,
        }

    def losses(self, pv: torch.Tensor, pa: torch.Tensor, inp: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Per-sample losses ``[B]`` (keys :data:`LOSS_KEYS`) from the predicted velocities."""
        inside, outside = region_balanced_loss(pv, inp["target_v"], inp["soft"], self.eps)
        inside, outside = inside * inp["row_v"], outside * inp["row_v"]
        audio = (pa - inp["target_a"]).pow(2).mean(dim=(1, 2)) * inp["row_a"]
        wi, wo, wa = self.weights
        return {
            "loss": wi * inside + wo * outside + wa * audio,
            "video_inside": inside,
            "video_outside": outside,
            "audio": audio,
        }


class VelocityModule(torch.nn.Module):
    """``forward(in_v, in_a, t_v, t_a, cond) -> (v_video, v_audio)``: what DDP wraps in the DiT stage."""

    def __init__(self, model: KinesonicModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, in_v, in_a, t_v, t_a, cond):  # noqa: ANN001, ANN201 - DDP forward
        return self.model.velocity(in_v, in_a, t_v, t_a, cond)


class ReconstructionModule(torch.nn.Module):
    """``forward(videos, waves) -> [B]`` per-sample autoencoder losses (the module DDP wraps in stage 1).

    Video: MSE of the reconstruction plus ``latent_l2`` times the mean squared latent (as
    ``VideoAutoencoder.reconstruction_loss``, per sample); audio (only if the config has an audio
    autoencoder): MSE on the normalised log-mel.
    """

    def __init__(self, model: KinesonicModel, latent_l2: float = 1e-4) -> None:
        super().__init__()
        self.model = model
        self.latent_l2 = latent_l2

    def forward(self, videos: torch.Tensor, waves: torch.Tensor | None = None) -> torch.Tensor:
        ae = self.model.video_ae
        lat = ae.encode(videos)
        rec = ae.decode(lat)[:, :, : videos.shape[2]]
        dims = (1, 2, 3, 4)
        loss = (rec - videos).pow(2).mean(dim=dims) + self.latent_l2 * lat.pow(2).mean(dim=dims)
        codec = self.model.audio_codec
        if waves is not None and codec.ae is not None:
            m = codec.mel(waves)
            loss = loss + (codec.ae.decode(codec.ae.encode(m)) - m).pow(2).mean(dim=(1, 2))
        return loss


__all__ = [
    "LOSS_KEYS",
    "FlowObjective",
    "ReconstructionModule",
    "VelocityModule",
    "apply_ablation",
    "clips_to_tensors",
    "prepare_batch",
]
