"""Twin-tower diffusion transformer: a video tower and an audio tower joined by fusion attention.

Per block and tower: adaLN-Zero modulation from the tower's own flow time (+ pooled text), then
attention with QK-RMSNorm and RoPE, (audio only) gated kinematic cross-attention, then an MLP.
In fusion blocks (every ``fusion_every``-th) the attention is *joint* over the concatenated video
and audio tokens with modality-specific projections (bidirectional fusion); with ``joint=False``
it is block-diagonal — each modality attends only to itself — which JointCFG uses as its
negative. Block-diagonal attention is computed as two separate attentions (the same maths as a
block-diagonal mask, exact and cheaper).

RoPE layout per head: ``rope_split = (dt, dy, dx)`` dims for (time, y, x). Video tokens sit at
(time, patch row, patch col), audio and kinematic tokens at (time, 0, 0), where time is the centre
time of what the token summarises (:mod:`.token_times`) counted in ``cfg.rope_time_unit`` units
(one audio token by default), so tokens of the same instant share the temporal rotation.

Physics (optional): per-object mass and per-frame speed → separate, per-token Δ-modulations of the
audio tower's adaLN parameters (:mod:`.physics_cond`; identity at initialisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from .config import GeneratorConfig
from .layers import TimestepEmbedder, rope_rotations, time_positions, video_positions
from .music_film import MusicConditioner
from .physics_cond import PhysicsConditioner
from .streams import attention_masks
from .token_times import audio_token_positions, latent_frame_positions, positions_to_seconds
from .twin_blocks import FinalLayer, TwinBlock


@dataclass
class PreparedConditions:
    """The conditions of a batch as the twin DiT uses them at every ODE step (made once per clip
    by :meth:`TwinDiT.prepare_conditions`; ``B`` = batch, ``d`` = hidden, per block lists).

    Attributes:
        video_cond: trajectory latent and binary mask ``[B, C + 1, L, h, w]``.
        text_video, text_audio: the pooled text projected for each tower ``[B, d]``.
        ropes: rotary tables ``{"video", "audio", "kin"}`` ``[N, Dh/2, 2]``.
        kin_kv: per block, keys and values ``[B, H, 1 + L*N, Dh]`` of the kinematic tokens.
        kin_keep: ``[B, 1 + L*N]`` bool (the null token is always kept).
        phys_mod: per block, the physics Δ-modulation of the audio tower ``[B, 1 or Na, 6d]``.
        masks: keep-masks of the joint attention ``[B, 1, Nv + Na, Nv + Na]`` and of the audio
            tower's own attention ``[B, 1, Na, Na]`` (stream-aware audio-to-video,
            :func:`.streams.attention_masks`) or None (no restriction).
        music_mod: per block, the music FiLM's Δ of the video tower's adaLN ``[B, 1, 6d]``, or None
            (a model without ``cfg.music_film``).
    """

    video_cond: torch.Tensor
    text_video: torch.Tensor
    text_audio: torch.Tensor
    ropes: dict[str, torch.Tensor]
    kin_kv: list[tuple[torch.Tensor, torch.Tensor]]
    kin_keep: torch.Tensor
    phys_mod: list[torch.Tensor]
    masks: tuple[torch.Tensor, torch.Tensor] | None = None
    music_mod: list[torch.Tensor] | None = None


def initialize_weights(dit: TwinDiT) -> None:
    """Every initial value of the twin DiT that is not PyTorch's default, one comment per choice.

    All other ``nn.Linear`` layers (token and condition projections, attention, MLPs, the timestep,
    text, kinematic and physics MLPs) keep PyTorch's default: Kaiming-uniform weights and a uniform
    bias in +-1/sqrt(fan_in); the RMSNorm gains start at 1.
    """
    for blk in dit.blocks:
        for tower in (blk.video, blk.audio):
            # adaLN-Zero (DiT): shift, scale and both residual gates start at 0, so every block starts
            # as the identity and the network as a whole starts from its input projections
            nn.init.zeros_(tower.ada.weight)
            nn.init.zeros_(tower.ada.bias)
        # physics Δ-modulation starts at 0: physics changes nothing until training finds a use for it
        for proj in (m for m in blk.phys.children() if isinstance(m, nn.Linear)):
            nn.init.zeros_(proj.weight)
            nn.init.zeros_(proj.bias)
        # music FiLM likewise: the music stem changes nothing until training finds a use for it
        if blk.music is not None:
            nn.init.zeros_(blk.music.weight)
            nn.init.zeros_(blk.music.bias)
        # kinematic cross-attention gate sigmoid(alpha) starts almost closed (alpha = -4: 0.018), so
        # the untrained tokens barely disturb the audio tower
        nn.init.constant_(blk.kin.alpha, dit.cfg.kin_gate_init)
    for final in (dit.video_out, dit.audio_out):
        # output layers at 0 (DiT): the first predicted velocities are 0, the loss starts at the
        # target's variance and no early step is spent undoing a random output
        for m in (final.ada, final.linear):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
    # the learned "no kinematics" token: a small random vector (std 0.02, like a token embedding)
    nn.init.normal_(dit.kin_null, std=0.02)


class TwinDiT(nn.Module):
    """Velocity predictor for the video and audio latents (see module docstring)."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        _, ph, pw = cfg.video_patch
        c = cfg.video_channels
        self.video_in = nn.Linear((2 * c + 1) * ph * pw, d)
        self.audio_in = nn.Linear(cfg.audio_channels * cfg.audio_patch, d)
        self.t_video = TimestepEmbedder(d)
        self.t_audio = TimestepEmbedder(d)
        self.text_video = nn.Linear(cfg.text_dim, d)
        self.text_audio = nn.Linear(cfg.text_dim, d)
        kh = cfg.kin_hidden
        self.kin_mlp = nn.Sequential(
            nn.Linear(cfg.kin_dim, kh), nn.SiLU(), nn.Linear(kh, kh), nn.SiLU(), nn.Linear(kh, d)
        )
        self.kin_null = nn.Parameter(torch.zeros(1, 1, d))
        self.physics = PhysicsConditioner(cfg.physics_fourier, cfg.physics_hidden, cfg.physics_conditioning)
        self.music = MusicConditioner(cfg.n_mels, cfg.music_hidden) if cfg.music_film else None
        self.blocks = nn.ModuleList(
            TwinBlock(cfg, fusion=(i % cfg.fusion_every == cfg.fusion_every - 1)) for i in range(cfg.depth)
        )
        self.video_out = FinalLayer(d, c * ph * pw)
        self.audio_out = FinalLayer(d, cfg.audio_channels * cfg.audio_patch)
        # rotary tables of the config's clip length, non-persistent buffers so that .to() moves them
        # (other lengths are computed when asked, see ropes)
        lf = cfg.latent_frames()
        for name, table in self._rope_tables(lf, cfg.audio_tokens(lf), lf).items():
            self.register_buffer(f"rope_{name}", table, persistent=False)
        initialize_weights(self)
        # recompute each block in the backward pass instead of keeping its activations (training of
        # the larger presets; no effect without grad or on the numbers)
        self.gradient_checkpointing = False

    @property
    def device(self) -> torch.device:
        return self.video_in.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.video_in.weight.dtype

    def _rope_tables(
        self, latent_frames: int, audio_tokens: int, time_frames: int
    ) -> dict[str, torch.Tensor]:
        """Rotations ``[N, Dh/2, 2]`` (float32, on the CPU) of video tokens, audio tokens and the
        latent frames' times (t, 0, 0) for the first ``time_frames`` frames (kinematic tokens; frame
        0 is the identity)."""
        cfg = self.cfg
        _, ph, pw = cfg.video_patch
        s = cfg.rope_time_scale  # latent frames -> temporal RoPE units
        frames = latent_frame_positions(cfg, latent_frames) * s
        positions = {
            "video": video_positions(frames, cfg.latent_height // ph, cfg.latent_width // pw),
            "audio": time_positions(audio_token_positions(cfg, audio_tokens) * s),
            "time": time_positions(latent_frame_positions(cfg, time_frames) * s),
        }
        return {k: rope_rotations(p, cfg.rope_split, cfg.rope_theta) for k, p in positions.items()}

    def _apply(self, fn, recurse=True):  # noqa: ANN001, ANN202 - nn.Module hook behind .to()/.cuda()/.half()
        """Move and cast as usual, but keep the rotary tables at least float32 (a bfloat16 table
        would rotate with 3 significant digits): they are recomputed on the new device."""
        super()._apply(fn, recurse)
        table = self.rope_video
        if table.dtype not in (torch.float32, torch.float64):
            lf = self.rope_time.shape[0]
            for name, fresh in self._rope_tables(lf, self.rope_audio.shape[0], lf).items():
                setattr(self, f"rope_{name}", fresh.to(table.device))
        return self

    # ------------------------------------------------------------------ helpers
    def ropes(self, latent_frames: int, audio_tokens: int, kin_frames: int, kin_objects: int) -> dict:
        """Rotations ``[N, Dh/2, 2]`` for video, audio and kinematic tokens (the null token first, at
        the identity), on the model's device: the buffers for the config's clip length, else computed."""
        if latent_frames == self.rope_time.shape[0] and audio_tokens == self.rope_audio.shape[0]:
            video, audio, time = self.rope_video, self.rope_audio, self.rope_time
        else:
            tables = self._rope_tables(latent_frames, audio_tokens, latent_frames)
            video, audio, time = (tables[k].to(self.rope_video) for k in ("video", "audio", "time"))
        if kin_frames > time.shape[0]:
            time = self._rope_tables(1, 1, kin_frames)["time"].to(self.rope_video)
        kin = torch.cat([time[:1], time[:kin_frames].repeat_interleave(kin_objects, dim=0)])
        return {"video": video, "audio": audio, "kin": kin}

    def audio_basis(self) -> torch.Tensor:
        """Orthonormal basis ``[C_a * audio_patch, rank]`` (float64, CPU) of the audio head's column space
        (an SVD of the head's weight: compute it once when it is used at every step)."""
        w = self.audio_out.linear.weight.detach().cpu().double()  # [C_a * ap, hidden]
        u, sv, _ = torch.linalg.svd(w, full_matrices=False)
        return u[:, sv > sv.max() * max(w.shape) * 1e-7]  # none when W = 0 (an untrained head)

    def audio_reaches_all(self, basis: torch.Tensor | None = None) -> bool:
        """True when the audio velocity can move every number of an audio token (full row rank).
        ``basis``: :meth:`audio_basis` when the caller already has it (else computed here)."""
        if basis is None and self.audio_out.linear.weight.device.type == "meta":
            return self.audio_out.linear.weight.shape[0] <= self.audio_out.linear.weight.shape[1]
        basis = self.audio_basis() if basis is None else basis
        return basis.shape[1] == basis.shape[0]

    def audio_unreachable(self, audio: torch.Tensor, basis: torch.Tensor | None = None) -> torch.Tensor:
        """The part of an audio latent ``[B, C_a, F]`` that the audio velocity can never change.

        Per audio token (``audio_patch`` frames x ``C_a`` channels = ``C_a * audio_patch`` numbers)
        the velocity is ``W h + b`` with the head's final ``W`` of shape ``[C_a * audio_patch,
        hidden]``: it only moves the latent inside the column space of ``W`` (plus the constant
        ``b``). When ``C_a * audio_patch > hidden`` (the tiny config: 64 x 4 = 256 > 160) the
        remaining directions keep whatever the start noise put there. Returns the component of
        ``audio`` orthogonal to that column space (same shape; zeros when ``W`` has full row rank).
        ``basis``: :meth:`audio_basis` when the caller already has it (else computed here).
        """
        if audio.device.type == "meta":  # shape-only runs
            return torch.zeros_like(audio)
        basis = self.audio_basis() if basis is None else basis
        if self.audio_reaches_all(basis):
            return torch.zeros_like(audio)
        ap = self.cfg.audio_patch
        # float64 on the CPU (small): float32 sums would depend on the thread count, and so would
        # the sound that runs of the same graph write (ComfyUI vs the headless runner)
        tokens = rearrange(audio, "b c (n p) -> b n (p c)", p=ap).detach().cpu().double()
        outside = tokens - (tokens @ basis) @ basis.T
        return rearrange(outside, "b n (p c) -> b c (n p)", p=ap).to(device=audio.device, dtype=audio.dtype)

    def patchify_video(self, x: torch.Tensor) -> torch.Tensor:
        _, ph, pw = self.cfg.video_patch
        return rearrange(x, "b c l (h p) (w q) -> b (l h w) (p q c)", p=ph, q=pw)

    def unpatchify_video(self, x: torch.Tensor, latent_frames: int) -> torch.Tensor:
        cfg = self.cfg
        _, ph, pw = cfg.video_patch
        gh, gw = cfg.latent_height // ph, cfg.latent_width // pw
        return rearrange(x, "b (l h w) (p q c) -> b c l (h p) (w q)", l=latent_frames, h=gh, w=gw, p=ph, q=pw)

    # ------------------------------------------------------------------ forward
    def prepare_conditions(
        self,
        video_cond: torch.Tensor,
        text: torch.Tensor,
        kin: torch.Tensor | None = None,
        kin_mask: torch.Tensor | None = None,
        physics: torch.Tensor | None = None,
        physics_mask: torch.Tensor | None = None,
        audio_keep: torch.Tensor | None = None,
        music: torch.Tensor | None = None,
        music_mask: torch.Tensor | None = None,
    ) -> PreparedConditions:
        """Everything of the forward pass that depends on the conditions only (once per clip).

        Args (see :meth:`forward`): ``video_cond [B, C + 1, L, h, w]``, ``text [B, text_dim]``,
        ``kin [B, L, N, kin_dim]`` + ``kin_mask [B, L, N]``, ``physics [B, T, N, 2]`` +
        ``physics_mask [B, T, N, 2]``, ``audio_keep [B, Na]`` bool (the audio tokens video queries may
        attend to; None = all), ``music [B, 2 * n_mels]`` + ``music_mask [B]`` bool (the music FiLM's
        input, :func:`.music_film.music_features`; only for a model with ``cfg.music_film``).
        Returns:
            the text projections, the kinematic tokens' keys and values and the physics modulation
            of every block, and the rotary tables, for :meth:`predict_flow`.
        """
        b, lf = video_cond.shape[0], video_cond.shape[2]
        dev, cfg = video_cond.device, self.cfg
        # no kinematics = no object tokens, no physics = no objects (zero features): computed through
        # the same layers on empty inputs, so every parameter is in the graph (DDP needs no search
        # for unused parameters) and the numbers are exactly those of leaving the layers out
        if kin is None:
            kin = video_cond.new_zeros(b, 0, 0, cfg.kin_dim)
        kf, kn = kin.shape[1], kin.shape[2]
        km = torch.ones(b, kf, kn, dtype=torch.bool, device=dev) if kin_mask is None else kin_mask.bool()
        kin_tok = torch.cat([self.kin_null.expand(b, -1, -1), self.kin_mlp(kin).flatten(1, 2)], dim=1)
        keep = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=dev), km.flatten(1)], dim=1)
        ropes = self.ropes(lf, cfg.audio_tokens(lf), kf, kn)
        na = cfg.audio_tokens(lf)
        if physics is None:
            physics = video_cond.new_zeros(b, cfg.video_frames(lf), 0, 2)
        known = torch.ones_like(physics, dtype=torch.bool) if physics_mask is None else physics_mask.bool()
        times = positions_to_seconds(cfg, audio_token_positions(cfg, na))
        mass, speed = self.physics.features(physics, known, times, cfg.fps)
        music_mod = None
        if self.music is not None:  # absent music: zero features, masked, through the same layers
            if music is None:
                music = video_cond.new_zeros(b, 2 * cfg.n_mels)
                music_mask = torch.zeros(b, dtype=torch.bool, device=dev)
            mk = torch.ones(b, dtype=torch.bool, device=dev) if music_mask is None else music_mask.bool()
            h = self.music(music, mk)
            music_mod = [blk.music(h) for blk in self.blocks]
        elif music is not None:
            raise ValueError("this model has no music FiLM (config music_film is False): give no music")
        return PreparedConditions(
            video_cond=video_cond,
            text_video=self.text_video(text),
            text_audio=self.text_audio(text),
            ropes=ropes,
            kin_kv=[blk.kin.keys(kin_tok, ropes["kin"]) for blk in self.blocks],
            kin_keep=keep,
            phys_mod=[blk.phys(mass, speed) for blk in self.blocks],
            masks=None if audio_keep is None else self._stream_masks(lf, na, audio_keep),
            music_mod=music_mod,
        )

    def _stream_masks(
        self, latent_frames: int, audio_tokens: int, audio_keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if audio_keep.shape[1] != audio_tokens:
            raise ValueError(f"audio_keep has {audio_keep.shape[1]} tokens, the clip {audio_tokens}")
        _, ph, pw = self.cfg.video_patch
        nv = latent_frames * (self.cfg.latent_height // ph) * (self.cfg.latent_width // pw)
        return attention_masks(nv, audio_keep.to(self.device))

    def predict_flow(
        self,
        video: torch.Tensor,
        audio: torch.Tensor,
        t_video: torch.Tensor,
        t_audio: torch.Tensor,
        prep: PreparedConditions,
        joint: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-step call: velocities ``(v_video [B, C, L, h, w], v_audio [B, C_a, F])`` of the
        states at flow times ``t_* [B]`` under conditions from :meth:`prepare_conditions`."""
        lf = video.shape[2]
        ap = self.cfg.audio_patch
        if audio.shape[-1] // ap != prep.ropes["audio"].shape[0] or lf != prep.video_cond.shape[2]:
            raise ValueError(
                f"states [video {tuple(video.shape)}, audio {tuple(audio.shape)}] do not fit the prepared "
                f"conditions ({prep.video_cond.shape[2]} latent frames, "
                f"{prep.ropes['audio'].shape[0]} audio tokens)"
            )
        xv = self.video_in(self.patchify_video(torch.cat([video, prep.video_cond], dim=1)))
        xa = self.audio_in(rearrange(audio, "b c (n p) -> b n (p c)", p=ap))
        cv = nn.functional.silu(self.t_video(t_video) + prep.text_video)
        ca = nn.functional.silu(self.t_audio(t_audio) + prep.text_audio)
        ckpt = self.gradient_checkpointing and torch.is_grad_enabled()
        music = prep.music_mod or [None] * len(self.blocks)
        for blk, kv, pm, mm in zip(self.blocks, prep.kin_kv, prep.phys_mod, music, strict=True):
            args = (xv, xa, cv, ca, prep.ropes, kv, prep.kin_keep, pm, joint, prep.masks, mm)
            if ckpt:
                from torch.utils.checkpoint import checkpoint

                xv, xa = checkpoint(blk, *args, use_reentrant=False)
            else:
                xv, xa = blk(*args)
        v_video = self.unpatchify_video(self.video_out(xv, cv), lf)
        v_audio = rearrange(self.audio_out(xa, ca), "b n (p c) -> b c (n p)", p=ap)
        return v_video, v_audio

    def forward(
        self,
        video: torch.Tensor,
        audio: torch.Tensor,
        t_video: torch.Tensor,
        t_audio: torch.Tensor,
        video_cond: torch.Tensor,
        text: torch.Tensor,
        kin: torch.Tensor | None = None,
        kin_mask: torch.Tensor | None = None,
        physics: torch.Tensor | None = None,
        physics_mask: torch.Tensor | None = None,
        joint: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocities for both modalities (:meth:`prepare_conditions` then :meth:`predict_flow`).

        Args:
            video: noisy video latent ``[B, C, L, h, w]``.
            audio: noisy audio latent ``[B, C_a, F]`` (F a multiple of ``audio_patch``).
            t_video, t_audio: flow times ``[B]`` in [0, 1] (1 = pure source).
            video_cond: trajectory latent and its binary mask ``[B, C + 1, L, h, w]`` (zeros = none).
            text: pooled text embedding ``[B, text_dim]`` (the encoder's null embedding = none).
            kin: normalised kinematic features ``[B, L, N, kin_dim]``; ``kin_mask [B, L, N]`` bool.
            physics: ``[B, T, N, 2]`` (mass kg, speed m/s per video frame) and its validity
                ``physics_mask [B, T, N, 2]`` (:func:`.conditioning.physics_tensors`).
            joint: False blocks cross-modal attention (block-diagonal; JointCFG negative).
        Returns:
            ``(v_video [B, C, L, h, w], v_audio [B, C_a, F])``.
        """
        prep = self.prepare_conditions(video_cond, text, kin, kin_mask, physics, physics_mask)
        return self.predict_flow(video, audio, t_video, t_audio, prep, joint)
