"""KinesonicModel: the whole generator — latent codecs, text encoder and twin DiT — with its entry
points for conditioning (:mod:`.conditioning`), the per-clip preparation and per-step prediction of
the twin DiT (:mod:`.twin_dit`) and sampling (:mod:`.sampling`). The training objective is
``training.objective.FlowObjective``.

Tensor conventions: video pixels ``[B, 3, T, H, W]`` in 0..1; waveform ``[B, S]`` mono at
``cfg.sample_rate``; video latent ``[B, C, L, h, w]``; audio latent ``[B, C_a, F]``. Flow
convention: see :mod:`.flow` (t = 1 source, t = 0 data, v = source - data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..kinematics import KinematicStats, Tracks
from . import conditioning as _conditioning
from . import sampling as _sampling
from .autoencoders import AudioCodec, VideoAutoencoder
from .conditioning import Conditioning, cat_conditions
from .config import ABLATIONS, GeneratorConfig
from .sampling import GUIDANCE, MODES
from .text import HashTextEncoder
from .twin_dit import PreparedConditions, TwinDiT


class KinesonicModel(nn.Module):
    """Twin-tower sounding-video generator with its codecs (see module docstring).

    ``ablations`` names the training-time ablation switches (:data:`.config.ABLATIONS`) the weights
    were trained with; :func:`.checkpoint.load_checkpoint` sets it from the file's training metadata.
    :meth:`sample` then conditions and starts the way the model was trained: without kinematic
    tokens (``no_kinematics``), without trajectory information after the first frame
    (``no_trajectory``), from pure noise instead of the hybrid source (``no_hybrid_flow``), without
    the physics input (``no_physics``: trained with ``--no-physics``).
    ``training_metadata`` is the checkpoint's ``kinesonic_training`` JSON object (empty when the
    file has none, or for a model built in code); see :func:`.checkpoint.trained_max_cond_time`.
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
        self.training_metadata: dict = {}
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
        self.check_size(video.shape[-2], video.shape[-1], "video")
        return self.video_ae.encode(video)

    def decode_video(self, latent: torch.Tensor) -> torch.Tensor:
        """``[B, C, L, h, w]`` → ``[B, 3, 1 + stride*(L-1), H, W]`` clamped to 0..1."""
        return self.video_ae.decode(latent).clamp(0, 1)

    def encode_audio(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, S]`` mono at ``cfg.sample_rate`` → ``[B, C_a, S // hop]``."""
        return self.audio_codec.encode(wave)

    def music_vector(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The music FiLM's input from music stems ``[B, S]`` (mono, ``cfg.sample_rate``):
        ``(features [B, 2 * n_mels], known [B] bool)`` (:func:`.music_film.music_features`).
        Put them on a conditioning with :meth:`.conditioning.Conditioning.with_music`."""
        from .music_film import music_features

        wave = wave.to(device=self.device, dtype=self.dtype)
        return music_features(self.audio_codec.mel(wave), wave)

    def decode_audio(self, latent: torch.Tensor) -> torch.Tensor:
        """``[B, C_a, F]`` → ``[B, F * hop]`` (Griffin-Lim or the vocoder set on ``audio_codec``).

        Peak-limited: a waveform whose peak exceeds 1 is scaled down to a peak of 1 (quieter ones are
        left as they are), so the sound never clips when it is written to a file.
        """
        wave = self.audio_codec.decode(latent)
        peak = wave.abs().amax(dim=-1, keepdim=True)
        return wave / peak.clamp(min=1.0)

    def check_size(self, h: int, w: int, what: str) -> None:
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
        """Conditioning for one clip (B = 1): :func:`.conditioning.build_conditioning`."""
        return _conditioning.build_conditioning(
            self, first_frame, prompt, tracks, kinematics, kinematics_mask, physics, num_frames, seed,
            soft_sigma,
        )  # fmt: skip

    # ------------------------------------------------------------------ prediction
    def prepare(self, cond: Conditioning, text: torch.Tensor | None = None) -> PreparedConditions:
        """The twin DiT's per-clip conditions (text, trajectory, kinematic, physics, music), made
        once and reused by every :meth:`predict` call. ``text`` is the pooled text embedding
        ``[B, text_dim]`` if already computed (else from ``cond.text_ids``)."""
        return self.dit.prepare_conditions(
            cond.video_cond(),
            self.text(cond.text_ids) if text is None else text,
            cond.kin,
            cond.kin_mask,
            cond.physics,
            cond.physics_mask,
            cond.audio_keep,
            cond.music,
            cond.music_mask,
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

    # ------------------------------------------------------------------ sampling
    def start_state(
        self, cond: Conditioning, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampling start at t = 1: :func:`.sampling.start_state`."""
        return _sampling.start_state(self, cond, generator)

    impose_first = staticmethod(_sampling.impose_first)

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
        video_guidance_region: str = "outside",
        audio_noise: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        """Generate latents by integrating the flow ODE from t = 1 to 0: :func:`.sampling.sample`."""
        return _sampling.sample(
            self, cond, mode, steps, solver, shift, video_cfg, audio_cfg, guidance, seed, video, audio,
            cond_time, callback, video_guidance_region, audio_noise,
        )  # fmt: skip


__all__ = ["GUIDANCE", "MODES", "Conditioning", "KinesonicModel", "cat_conditions"]
