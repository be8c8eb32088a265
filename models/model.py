"""KinesonicModel: the whole generator (latent codecs, text encoder, twin DiT) plus conditioning
and sampling (the training objective is ``training.objective.FlowObjective``).

Tensor conventions: video pixels ``[B, 3, T, H, W]`` in 0..1; waveform ``[B, S]`` mono at
``cfg.sample_rate``; video latent ``[B, C, L, h, w]``; audio latent ``[B, C_a, F]``. Flow
convention: see :mod:`.flow` (t = 1 source, t = 0 data, v = source - data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
from torch import nn

from ..kinematics import KinematicStats, Tracks, align_to_latent, latent_kinematic_state
from .autoencoders import AudioCodec, VideoAutoencoder
from .config import ABLATIONS, GeneratorConfig
from .flow import hybrid_source, interpolate, sample_ode, schedule
from .generator import PreparedConditions, TwinDiT
from .layers import compute_dtype
from .text import HashTextEncoder
from .trajectory import propagate_first_frame

MODES = ("joint", "v2a", "a2v")
GUIDANCE = ("none", "cfg", "joint")


@dataclass
class Conditioning:
    """Everything the generator is conditioned on, batch-first.

    Attributes:
        latent_frames: L, the number of video latent frames.
        first_latent: ``[B, C, h, w]`` or None (frame 0 then generated freely).
        traj_latent: ``[B, C, L, h, w]`` trajectory-conditioned latent (zeros where unknown).
        traj_mask: ``[B, 1, L, h, w]`` binary (1 on all of frame 0 when a first frame is given).
        soft_mask: ``[B, 1, L, h, w]`` Gaussian soft mask (loss weighting only).
        text_ids: ``[B, max_tokens]`` prompt token ids (all 0 = null text).
        kin: ``[B, L, N, 8]`` normalised kinematic features or None; ``kin_mask [B, L, N]`` bool.
        physics: ``[B, N, 2]`` (mass kg, speed m/s) or None; ``physics_mask [B, N]`` bool.
    """

    latent_frames: int
    first_latent: torch.Tensor | None
    traj_latent: torch.Tensor
    traj_mask: torch.Tensor
    soft_mask: torch.Tensor
    text_ids: torch.Tensor
    kin: torch.Tensor | None = None
    kin_mask: torch.Tensor | None = None
    physics: torch.Tensor | None = None
    physics_mask: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return int(self.traj_latent.shape[0])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Conditioning:
        """A copy on ``device`` with floating tensors cast to ``dtype`` (masks and ids keep theirs)."""

        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            if x is None:
                return None
            return x.to(device=device, dtype=dtype if x.is_floating_point() else None)

        return replace(
            self,
            **{f.name: move(getattr(self, f.name)) for f in fields(self) if f.name != "latent_frames"},
        )

    def video_cond(self) -> torch.Tensor:
        """``[B, C + 1, L, h, w]``: trajectory latent and binary mask (the video tower's extra input)."""
        return torch.cat([self.traj_latent, self.traj_mask], dim=1)

    def ablated(self, no_kinematics: bool = False, no_trajectory: bool = False) -> Conditioning:
        """The conditioning a model trained with these ablation switches sees (self if neither).

        ``no_kinematics``: no kinematic tokens. ``no_trajectory``: no kinematic tokens either, and the
        trajectory latent, its mask and the soft mask are cleared after latent frame 0 (frame 0 keeps
        the first frame).
        """
        if not (no_kinematics or no_trajectory):
            return self
        cond = replace(self, kin=None, kin_mask=None)
        if no_trajectory:
            traj, mask, soft = self.traj_latent.clone(), self.traj_mask.clone(), self.soft_mask.clone()
            traj[:, :, 1:] = 0
            mask[:, :, 1:] = 0
            soft[:, :, 1:] = 0
            cond = replace(cond, traj_latent=traj, traj_mask=mask, soft_mask=soft)
        return cond

    def dropped(self) -> Conditioning:
        """The null conditioning (CFG negative): no text, trajectories, kinematics or physics.

        The first frame stays (its latent is re-imposed on the state anyway).
        """
        return replace(
            self,
            traj_latent=torch.zeros_like(self.traj_latent),
            traj_mask=torch.zeros_like(self.traj_mask),
            text_ids=torch.zeros_like(self.text_ids),
            kin=None,
            kin_mask=None,
            physics=None,
            physics_mask=None,
        )


class KinesonicModel(nn.Module):
    """Twin-tower sounding-video generator with its codecs (see module docstring).

    ``ablations`` names the training-time ablation switches (:data:`.config.ABLATIONS`) the weights
    were trained with; :func:`.checkpoint.load_checkpoint` sets it from the file's training metadata.
    :meth:`sample` then conditions and starts the way the model was trained: without kinematic
    tokens (``no_kinematics``), without trajectory information after the first frame
    (``no_trajectory``), from pure noise instead of the hybrid source (``no_hybrid_flow``).
    """

    def __init__(
        self,
        cfg: GeneratorConfig,
        kinematic_stats: KinematicStats | None = None,
        ablations: Sequence[str] = (),
    ) -> None:
        super().__init__()
        unknown = sorted(set(ablations) - set(ABLATIONS))
        if unknown:
            raise ValueError(f"unknown ablation switches {unknown}; known: {list(ABLATIONS)}")
        self.cfg = cfg
        self.kinematic_stats = kinematic_stats or KinematicStats.identity()
        self.ablations: tuple[str, ...] = tuple(a for a in ABLATIONS if a in set(ablations))
        self.video_ae = VideoAutoencoder(cfg)
        self.audio_codec = AudioCodec(cfg)
        self.text = HashTextEncoder(cfg.text_vocab, cfg.text_dim, cfg.text_layers, cfg.text_max_tokens)
        self.dit = TwinDiT(cfg)

    @property
    def device(self) -> torch.device:
        """Device of the twin DiT's weights (where sampling and conditioning run)."""
        return self.dit.device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the twin DiT's weights."""
        return self.dit.dtype

    # ------------------------------------------------------------------ codecs
    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` 0..1 → ``[B, C, L, h, w]``; H, W must equal the config's."""
        self._check_size(video.shape[-2], video.shape[-1], "video")
        return self.video_ae.encode(video)

    def decode_video(self, latent: torch.Tensor) -> torch.Tensor:
        """``[B, C, L, h, w]`` → ``[B, 3, 1 + stride*(L-1), H, W]`` clamped to 0..1."""
        return self.video_ae.decode(latent).clamp(0, 1)

    def encode_audio(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, S]`` mono at ``cfg.sample_rate`` → ``[B, C_a, S // hop]``."""
        return self.audio_codec.encode(wave)

    def decode_audio(self, latent: torch.Tensor) -> torch.Tensor:
        """``[B, C_a, F]`` → ``[B, F * hop]`` (Griffin-Lim or the vocoder set on ``audio_codec``).

        Peak-limited: a waveform whose peak exceeds 1 is scaled down to a peak of 1 (quieter ones are
        left as they are), so the sound never clips when it is written to a file.
        """
        wave = self.audio_codec.decode(latent)
        peak = wave.abs().amax(dim=-1, keepdim=True)
        return wave / peak.clamp(min=1.0)

    def _check_size(self, h: int, w: int, what: str) -> None:
        if (h, w) != (self.cfg.height, self.cfg.width):
            raise ValueError(
                f"{what} is {w}x{h} pixels but this model expects {self.cfg.width}x{self.cfg.height} (W x H)"
            )

    # ------------------------------------------------------------------ conditioning
    def build_conditioning(
        self,
        first_frame: torch.Tensor | None = None,
        prompt: str = "",
        tracks: Tracks | None = None,
        kinematics: np.ndarray | None = None,
        kinematics_mask: np.ndarray | None = None,
        physics: np.ndarray | None = None,
        num_frames: int | None = None,
        seed: int = 0,
        soft_sigma: float = 1.0,
    ) -> Conditioning:
        """Conditioning for one clip (B = 1).

        Args:
            first_frame: ``[3, H, W]`` or ``[1, 3, H, W]`` in 0..1 (must match the config size).
            prompt: text prompt ("" = null text).
            tracks: pixel tracks of the clip (width/height must match the config); their frame
                count sets the clip length (else ``num_frames``, else ``cfg.num_frames``).
            kinematics: raw 8-D states ``[L, N, 8]`` on latent frames (default: computed from the
                tracks with ``latent_kinematic_state(tracks, stride)``: differentiated at the
                video frame rate, then averaged per latent group); ``kinematics_mask [L, N]``.
            physics: ``[N, 2]`` per-object (mass kg, speed m/s), optional.
            seed: seed of the collision choice in the trajectory latent.
            soft_sigma: sigma (latent cells) of the Gaussian soft mask.
        """
        from ..kinematics.grid import project_to_grid, soft_trajectory_mask

        cfg = self.cfg
        frames = tracks.num_frames if tracks is not None else (num_frames or cfg.num_frames)
        lf = cfg.latent_frames(frames)
        h, w, c = cfg.latent_height, cfg.latent_width, cfg.video_channels
        first_latent = None
        if first_frame is not None:
            img = first_frame if first_frame.dim() == 4 else first_frame[None]
            self._check_size(img.shape[-2], img.shape[-1], "first frame")
            with torch.no_grad():
                first_latent = self.video_ae.encode_first(img.to(device=self.device, dtype=self.dtype))
            first_latent = first_latent.cpu()  # the rest is built on the CPU, then moved
        dtype = torch.float32 if first_latent is None else first_latent.dtype
        traj = torch.zeros(1, c, lf, h, w, dtype=dtype, device="cpu")
        mask = torch.zeros(1, 1, lf, h, w, dtype=dtype, device="cpu")
        kin = kin_mask = None
        if tracks is not None:
            if (tracks.width, tracks.height) != (cfg.width, cfg.height):
                raise ValueError(
                    f"tracks are for a {tracks.width}x{tracks.height} image but this model expects "
                    f"{cfg.width}x{cfg.height}"
                )
            visible_tracks = tracks.drop_never_visible()
            aligned = align_to_latent(visible_tracks, cfg.temporal_stride)
            if first_latent is not None:
                cells = project_to_grid(aligned.points, cfg.spatial_factor, cfg.width, cfg.height)
                t_lat, t_mask = propagate_first_frame(first_latent[0], cells, aligned.visible, seed)
                traj, mask = t_lat[None], t_mask[None, None]
            if kinematics is None and visible_tracks.num_frames >= 4 and visible_tracks.num_tracks > 0:
                kinematics = latent_kinematic_state(visible_tracks, cfg.temporal_stride)
                kinematics_mask = aligned.visible
        elif first_latent is not None:
            traj[:, :, 0] = first_latent
            mask[:, :, 0] = 1
        if kinematics is not None:
            state = np.asarray(kinematics, dtype=np.float64)
            if state.ndim != 3 or state.shape[0] != lf or state.shape[2] != cfg.kin_dim:
                raise ValueError(f"kinematics must have shape [L={lf}, N, {cfg.kin_dim}], got {state.shape}")
            kin = torch.from_numpy(self.kinematic_stats.normalize(state)).float()[None]
            km = (
                np.ones(state.shape[:2], bool)
                if kinematics_mask is None
                else np.asarray(kinematics_mask, bool)
            )
            kin_mask = torch.from_numpy(km.copy())[None]
        soft = torch.from_numpy(soft_trajectory_mask((mask[0, 0] > 0.5).numpy(), soft_sigma))[None, None]
        phys = phys_mask = None
        if physics is not None:
            p = torch.as_tensor(np.asarray(physics, dtype=np.float32))
            if p.dim() != 2 or p.shape[1] != cfg.physics_dim:
                raise ValueError(f"physics must have shape [N, {cfg.physics_dim}], got {tuple(p.shape)}")
            phys, phys_mask = p[None], torch.ones(1, p.shape[0], dtype=torch.bool, device="cpu")
        cond = Conditioning(
            latent_frames=lf,
            first_latent=first_latent,
            traj_latent=traj,
            traj_mask=mask,
            soft_mask=soft.float(),
            text_ids=self.text.tokenize([prompt]),
            kin=kin,
            kin_mask=kin_mask,
            physics=phys,
            physics_mask=phys_mask,
        )
        return cond.to(self.device, self.dtype)

    # ------------------------------------------------------------------ prediction
    def prepare(self, cond: Conditioning, text: torch.Tensor | None = None) -> PreparedConditions:
        """The twin DiT's per-clip conditions (text, trajectory, kinematic and physics tokens), made
        once and reused by every :meth:`predict` call. ``text`` is the pooled text embedding
        ``[B, text_dim]`` if already computed (else from ``cond.text_ids``)."""
        return self.dit.prepare_conditions(
            cond.video_cond(),
            self.text(cond.text_ids) if text is None else text,
            cond.kin,
            cond.kin_mask,
            cond.physics,
            cond.physics_mask,
        )

    def predict(
        self,
        video: torch.Tensor,
        audio: torch.Tensor,
        t_video: torch.Tensor,
        t_audio: torch.Tensor,
        prep: PreparedConditions,
        joint: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-step velocity ``(v_video, v_audio)`` for states at flow times ``t_* [B]``."""
        return self.dit.predict_flow(video, audio, t_video, t_audio, prep, joint)

    def velocity(
        self,
        video: torch.Tensor,
        audio: torch.Tensor,
        t_video: torch.Tensor,
        t_audio: torch.Tensor,
        cond: Conditioning,
        joint: bool = True,
        text: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocity prediction ``(v_video, v_audio)`` for states at flow times ``t_* [B]``
        (:meth:`prepare` then :meth:`predict`; the training step calls this)."""
        return self.predict(video, audio, t_video, t_audio, self.prepare(cond, text), joint)

    def start_state(
        self, cond: Conditioning, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampling start ``(video_source, audio_noise, video_noise, audio_noise)`` at t = 1.

        The video source is the trajectory latent inside the mask and Gaussian noise outside, with
        frame 0 = the first-frame latent when one is given (a ``no_hybrid_flow`` model: noise with
        the first-frame latent, as it was trained).
        """
        cfg = self.cfg
        b, lf = cond.batch, cond.latent_frames
        shape_v = (b, cfg.video_channels, lf, cfg.latent_height, cfg.latent_width)
        # drawn from the CPU generator (the same stream on every device), then moved
        eps_v = torch.randn(shape_v, generator=generator, device="cpu")
        eps_a = torch.randn(
            (b, cfg.audio_channels, cfg.audio_latent_frames(lf)), generator=generator, device="cpu"
        )
        eps_v, eps_a = (e.to(device=self.device, dtype=self.dtype) for e in (eps_v, eps_a))
        if "no_hybrid_flow" in self.ablations:
            src = self.impose_first(eps_v, cond)
        else:
            src = self.impose_first(hybrid_source(eps_v, cond.traj_latent, cond.traj_mask), cond)
        return src, eps_a.clone(), eps_v, eps_a

    @staticmethod
    def impose_first(video: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """``video [B,C,L,h,w]`` with latent frame 0 replaced by the first-frame latent (if any)."""
        if cond.first_latent is None:
            return video
        out = video.clone()
        out[:, :, 0] = cond.first_latent
        return out

    @torch.no_grad()
    def sample(
        self,
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
    ) -> dict[str, torch.Tensor]:
        """Generate latents by integrating the flow ODE from t = 1 to 0.

        Args:
            cond: from :meth:`build_conditioning` (what an ablated model was trained without is
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
        Returns:
            ``{"video": [B, C, L, h, w], "audio": [B, C_a, F]}``. A generated audio latent has the
            start noise removed from the directions the audio head cannot reach
            (:meth:`.generator.TwinDiT.audio_unreachable`): there the ODE only adds the head's
            constant bias, so what is left is that learned constant instead of unit noise.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if guidance not in GUIDANCE:
            raise ValueError(f"guidance must be one of {GUIDANCE}, got {guidance!r}")
        cond = cond.ablated("no_kinematics" in self.ablations, "no_trajectory" in self.ablations)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        cond = cond.to(self.device)
        xv, xa, eps_v, eps_a = self.start_state(cond, gen)
        hold_v = hold_a = None
        if mode == "v2a":
            if video is None or video.shape != xv.shape:
                raise ValueError(f"v2a needs a video latent of shape {tuple(xv.shape)}")
            video = video.to(device=self.device, dtype=self.dtype)
            xv, hold_v = interpolate(video, eps_v, _times(xv, cond_time)), cond_time
        if mode == "a2v":
            if audio is None or audio.shape != xa.shape:
                raise ValueError(f"a2v needs an audio latent of shape {tuple(xa.shape)}")
            audio = audio.to(device=self.device, dtype=self.dtype)
            xa, hold_a = interpolate(audio, eps_a, _times(xa, cond_time)), cond_time
        neg = cond.dropped()
        use_neg = guidance != "none" and (video_cfg != 1.0 or audio_cfg != 1.0)
        # the conditions are prepared once per clip; each ODE step is one predict call (or two)
        if not use_neg:
            pos = self.prepare(cond)
        elif guidance == "cfg":  # one batched call per step: [positive; negative]
            both = self.prepare(_cat_cond(cond, neg))
        else:
            pos, negative = self.prepare(cond), self.prepare(neg)

        def velocity(v: torch.Tensor, a: torch.Tensor, tv: torch.Tensor, ta: torch.Tensor):
            if not use_neg:
                return self.predict(v, a, tv, ta, pos)
            if guidance == "cfg":
                pv, pa = self.predict(torch.cat([v, v]), torch.cat([a, a]), tv.repeat(2), ta.repeat(2), both)
                (pv, nv), (pa, na) = pv.chunk(2), pa.chunk(2)
            else:
                pv, pa = self.predict(v, a, tv, ta, pos)
                nv, na = self.predict(v, a, tv, ta, negative, joint=False)
            return nv + video_cfg * (pv - nv), na + audio_cfg * (pa - na)

        project = None if mode == "v2a" else (lambda x: self.impose_first(x, cond))
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
        )
        if mode == "v2a":
            xv = video
        if mode == "a2v":
            xa = audio
        else:  # the start noise the audio head cannot reach is still there: remove it
            xa = xa - self.dit.audio_unreachable(eps_a)
        return {"video": xv, "audio": xa}


def _times(x: torch.Tensor, t: float) -> torch.Tensor:
    """Flow times ``[B]`` = t on ``x``'s device (float32; float64 for a float64 ``x``)."""
    return torch.full((x.shape[0],), float(t), device=x.device, dtype=compute_dtype(x))


def _cat_cond(*conds: Conditioning) -> Conditioning:
    """Concatenate conditionings along the batch (kinematic/physics objects padded with masked rows)."""
    first = conds[0]
    lf = first.latent_frames
    if any(c.latent_frames != lf for c in conds):
        raise ValueError("cannot batch conditionings with different latent frame counts")
    b = [c.batch for c in conds]
    dev, dt = first.traj_latent.device, first.traj_latent.dtype
    fl = None
    if all(c.first_latent is not None for c in conds):
        fl = torch.cat([c.first_latent for c in conds])
    elif any(c.first_latent is not None for c in conds):
        raise ValueError("cannot batch conditionings with and without a first frame")

    def pad_objects(key: str, mkey: str, dims: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        vals = [getattr(c, key) for c in conds]
        if all(v is None for v in vals):
            return None, None
        n = max(v.shape[-2] if dims == 4 else v.shape[1] for v in vals if v is not None)
        out, masks = [], []
        for c, v, bi in zip(conds, vals, b, strict=True):
            m = getattr(c, mkey)
            if dims == 4:
                full = torch.zeros(bi, lf, n, first_dim(key), dtype=dt, device=dev)
                fm = torch.zeros(bi, lf, n, dtype=torch.bool, device=dev)
                if v is not None:
                    full[:, :, : v.shape[2]] = v
                    fm[:, :, : v.shape[2]] = m if m is not None else True
            else:
                full = torch.zeros(bi, n, first_dim(key), dtype=dt, device=dev)
                fm = torch.zeros(bi, n, dtype=torch.bool, device=dev)
                if v is not None:
                    full[:, : v.shape[1]] = v
                    fm[:, : v.shape[1]] = m if m is not None else True
            out.append(full)
            masks.append(fm)
        return torch.cat(out), torch.cat(masks)

    def first_dim(key: str) -> int:
        return next(getattr(c, key).shape[-1] for c in conds if getattr(c, key) is not None)

    kin, kin_mask = pad_objects("kin", "kin_mask", 4)
    phys, phys_mask = pad_objects("physics", "physics_mask", 3)
    return Conditioning(
        latent_frames=lf,
        first_latent=fl,
        traj_latent=torch.cat([c.traj_latent for c in conds]),
        traj_mask=torch.cat([c.traj_mask for c in conds]),
        soft_mask=torch.cat([c.soft_mask for c in conds]),
        text_ids=torch.cat([c.text_ids for c in conds]),
        kin=kin,
        kin_mask=kin_mask,
        physics=phys,
        physics_mask=phys_mask,
    )
