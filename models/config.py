"""Generator configuration: every size of the model, stored as JSON in the checkpoint metadata.

A tiny CPU model and a large GPU model are the same code with a different :class:`GeneratorConfig`.
Derived quantities (token counts, token rates, grid sizes) are properties so they never drift
from the stored fields.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

CONFIG_VERSION = 1

#: Temporal RoPE layouts (see GeneratorConfig): token centre times, or the pre-alignment layout.
TOKEN_TIMES = ("centre", "start")
ROPE_TIME_UNITS = ("audio_token", "latent_frame")
PHYSICS_LAYOUTS = ("pavas", "pooled")


# Training-time ablation switches a checkpoint may carry (see KinesonicModel.ablations):
# no_kinematics (no kinematic tokens), no_hybrid_flow (pure-noise video source), no_trajectory (no
# trajectory information after the first frame, no kinematic tokens), no_physics (no physics
# conditioning: trained without mass and speed, so sampled without them; the trainer's --no-physics).
ABLATIONS = ("no_kinematics", "no_hybrid_flow", "no_trajectory", "no_physics")


@dataclass
class GeneratorConfig:
    """All sizes of the twin-tower sounding-video generator.

    Video: ``num_frames`` frames of ``height`` x ``width`` pixels at ``fps``; the video autoencoder
    encodes frame 0 alone and then groups of ``temporal_stride`` frames, and downsamples space by
    ``spatial_factor`` → latent ``[video_channels, 1 + ceil((T-1)/stride), H/f, W/f]``.
    Audio: mono ``sample_rate`` Hz → log-mel (``n_mels`` bins, hop ``hop_length`` samples) →
    (optional 1-D autoencoder to ``audio_ae_channels``) → latent ``[audio_channels, mel_frames]``.
    DiT: an audio token holds ``audio_channels * audio_patch`` numbers; keep that ``<= hidden``, or
    the audio head cannot reach every direction (the sampler then removes the noise it leaves, see
    ``TwinDiT.audio_unreachable``; the tiny default holds 80 x 2 = 160 = hidden).
    Token times (``token_times``): ``"centre"`` places every token's temporal RoPE position at the
    centre time of the frames or samples it summarises (:mod:`.token_times`); ``"start"`` is the
    layout of checkpoints made before that field existed (latent frame k at ``k``, audio token j at
    ``j * audio_rope_scale``), kept so that they sample as they were trained.
    Temporal RoPE unit (``rope_time_unit``): ``"latent_frame"`` (the default and the shipped
    model's layout) counts temporal positions in video latent frames (0.25 s in the tiny layout, so
    the fastest pair turns 0.0625 rad between neighbouring audio tokens); ``"audio_token"`` counts
    them in audio tokens (1/64 s: 1 rad between neighbouring audio tokens).
    Physics (``physics_conditioning``): ``"pooled"`` (the default and the shipped model's layout: one
    (mass, clip-mean speed) vector per object) or ``"pavas"`` (separate mass and per-audio-token
    speed modulations, :mod:`.physics_cond`). A model trained with both alternatives (6,500 steps,
    the default recipe) was worse than the shipped one on MAIC, onset AP and level error
    (docs/model_card.md, *Tried*), so they are options, not defaults.
    Music FiLM (``music_film``, off in the shipped model): the music stem of a given soundtrack as one
    holistic vector (per mel band, the mean and spread of its normalised log-mel over the clip) →
    MLP of ``music_hidden`` → per block a Δ of the video tower's adaLN (MTV's music conditioning,
    :mod:`.music_film`; zero at initialisation). A checkpoint without the field has none.
    """

    # video
    height: int = 64
    width: int = 64
    fps: float = 16.0
    num_frames: int = 33
    temporal_stride: int = 4
    spatial_factor: int = 8
    video_channels: int = 8
    vae_widths: tuple[int, ...] = (32, 64, 64)
    video_latent_scale: float = 1.0
    # audio
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 125
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    mel_mean: float = -7.5
    mel_std: float = 1.6
    audio_ae_channels: int = 0
    griffin_lim_iters: int = 64
    # transformer
    hidden: int = 160
    heads: int = 5
    depth: int = 5
    mlp_ratio: float = 4.0
    video_patch: tuple[int, int, int] = (1, 2, 2)
    audio_patch: int = 2
    fusion_every: int = 1
    rope_split: tuple[int, int, int] = (16, 8, 8)
    rope_theta: float = 10000.0
    token_times: str = "centre"
    rope_time_unit: str = "latent_frame"
    # conditions
    text_vocab: int = 2048
    text_dim: int = 128
    text_layers: int = 2
    text_max_tokens: int = 32
    kin_dim: int = 8
    kin_hidden: int = 128
    kin_gate_init: float = -4.0
    physics_dim: int = 2
    physics_conditioning: str = "pooled"
    physics_fourier: int = 8
    physics_hidden: int = 64
    music_film: bool = False
    music_hidden: int = 64
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vae_widths = tuple(int(w) for w in self.vae_widths)
        self.video_patch = tuple(int(p) for p in self.video_patch)  # type: ignore[assignment]
        self.rope_split = tuple(int(p) for p in self.rope_split)  # type: ignore[assignment]
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        f = self.spatial_factor
        if self.height % f or self.width % f:
            raise ValueError(
                f"height/width ({self.height}x{self.width}) must be multiples of spatial_factor {f}"
            )
        if 2 ** (len(self.vae_widths)) != f:
            raise ValueError(f"spatial_factor {f} must be 2**len(vae_widths) = {2 ** len(self.vae_widths)}")
        pt, ph, pw = self.video_patch
        if pt != 1:
            raise ValueError("video_patch[0] (temporal patch) must be 1")
        if self.latent_height % ph or self.latent_width % pw:
            raise ValueError(f"latent grid {self.latent_height}x{self.latent_width} not divisible by patch")
        if self.token_times not in TOKEN_TIMES:
            raise ValueError(f"token_times must be one of {TOKEN_TIMES}, got {self.token_times!r}")
        if self.physics_conditioning not in PHYSICS_LAYOUTS:
            raise ValueError(
                f"physics_conditioning must be one of {PHYSICS_LAYOUTS}, got {self.physics_conditioning!r}"
            )
        if self.rope_time_unit not in ROPE_TIME_UNITS:
            raise ValueError(f"rope_time_unit must be one of {ROPE_TIME_UNITS}, got {self.rope_time_unit!r}")
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} not divisible by heads {self.heads}")
        if int(self.music_hidden) < 1:
            raise ValueError(f"music_hidden must be >= 1, got {self.music_hidden}")
        if sum(self.rope_split) != self.head_dim or any(s % 2 for s in self.rope_split):
            raise ValueError(
                f"rope_split {self.rope_split} must be even parts summing to head_dim {self.head_dim}"
            )
        if (self.num_frames - 1) % self.temporal_stride:
            raise ValueError(f"num_frames {self.num_frames} must be 1 + k*temporal_stride")
        ratio = self.audio_tokens_per_latent_frame
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ValueError(
                f"audio tokens per video latent frame must be a positive integer, got {ratio} "
                "(check sample_rate, hop_length, audio_patch, fps, temporal_stride)"
            )

    # ------------------------------------------------------------------ derived
    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def latent_height(self) -> int:
        return self.height // self.spatial_factor

    @property
    def latent_width(self) -> int:
        return self.width // self.spatial_factor

    @property
    def audio_channels(self) -> int:
        """Channels of the audio latent: the AE's channels, or the mel bins without an AE."""
        return self.audio_ae_channels or self.n_mels

    @property
    def video_tokens_per_second(self) -> float:
        """Latent video frames per second (fps / temporal_stride)."""
        return self.fps / self.temporal_stride

    @property
    def audio_tokens_per_second(self) -> float:
        """Audio tokens per second (sample_rate / hop_length / audio_patch)."""
        return self.sample_rate / self.hop_length / self.audio_patch

    @property
    def audio_tokens_per_latent_frame(self) -> float:
        return self.audio_tokens_per_second / self.video_tokens_per_second

    @property
    def rope_time_scale(self) -> float:
        """Temporal RoPE positions per video latent frame (see ``rope_time_unit``)."""
        return self.audio_tokens_per_latent_frame if self.rope_time_unit == "audio_token" else 1.0

    @property
    def audio_rope_scale(self) -> float:
        """Factor turning an audio token index into a video latent-frame position (time-aligned RoPE)."""
        return self.video_tokens_per_second / self.audio_tokens_per_second

    def latent_frames(self, num_frames: int | None = None) -> int:
        """Latent frames for ``num_frames`` video frames: 1 + ceil((T-1)/stride)."""
        t = self.num_frames if num_frames is None else int(num_frames)
        return 1 + math.ceil((t - 1) / self.temporal_stride)

    def video_frames(self, latent_frames: int) -> int:
        """Decoded video frames for ``latent_frames`` latent frames: 1 + stride*(L-1)."""
        return 1 + self.temporal_stride * (latent_frames - 1)

    def audio_latent_frames(self, latent_frames: int) -> int:
        """Audio latent (mel) frames matching ``latent_frames`` video latent frames.

        The audio covers the time from frame 0 to the last frame: (L-1)*stride/fps seconds.
        """
        return round(self.audio_tokens_per_latent_frame * (latent_frames - 1)) * self.audio_patch

    def audio_samples(self, latent_frames: int) -> int:
        """Waveform length in samples for ``latent_frames`` video latent frames."""
        return self.audio_latent_frames(latent_frames) * self.hop_length

    def video_tokens(self, latent_frames: int | None = None) -> int:
        lf = self.latent_frames() if latent_frames is None else latent_frames
        _, ph, pw = self.video_patch
        return lf * (self.latent_height // ph) * (self.latent_width // pw)

    def audio_tokens(self, latent_frames: int | None = None) -> int:
        lf = self.latent_frames() if latent_frames is None else latent_frames
        return self.audio_latent_frames(lf) // self.audio_patch

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GeneratorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown generator config fields: {unknown}")
        # a stored config without token_times predates time-aligned RoPE: it was trained on "start"
        # (one without rope_time_unit / physics_conditioning gets their defaults, which are the
        # layouts of the checkpoints made before those fields existed)
        return cls(**{"token_times": "start", **d})

    @classmethod
    def from_json(cls, text: str) -> GeneratorConfig:
        return cls.from_dict(json.loads(text))


# Named sizes, one table (the CLI, the nodes and training take these names). Each entry holds the
# fields that differ from GeneratorConfig's defaults (= "tiny"). See docs/generator.md, *Presets*, for
# their parameter counts, FLOPs per sampling step and bf16 memory (benchmarks/model_sizes.py).
PRESETS: dict[str, dict[str, Any]] = {
    # unit tests: 32x32, 17 frames, hidden 32 (seconds on a CPU); 16 mels x 2 frames = 32 = hidden
    "micro": dict(
        height=32,
        width=32,
        num_frames=17,
        vae_widths=(8, 8, 8),
        video_channels=4,
        n_mels=16,
        n_fft=256,
        hop_length=250,
        hidden=32,
        heads=2,
        depth=2,
        rope_split=(8, 4, 4),
        text_vocab=64,
        text_dim=16,
        text_layers=1,
        text_max_tokens=8,
        kin_hidden=16,
        physics_hidden=16,
        griffin_lim_iters=4,
    ),
    # the CPU default and the shipped model: 64x64, 16 fps, 33 frames, 16 kHz, ~6.7 M parameters;
    # 80 mels every 7.8 ms (n_fft 512, hop 125), 2 mel frames per audio token (160 numbers = hidden)
    "tiny": {},
    # a first GPU size: 128x128 (576 video tokens), hidden 384, depth 12
    "small128": dict(
        height=128,
        width=128,
        vae_widths=(64, 128, 128),
        video_channels=16,
        hidden=384,
        heads=6,
        depth=12,
        rope_split=(32, 16, 16),
        text_vocab=8192,
        text_dim=256,
        text_layers=4,
        text_max_tokens=64,
        kin_hidden=256,
        physics_hidden=128,
    ),
    # 256x256 (2,304 video tokens), hidden 768, depth 16: a model for a multi-GPU run
    "base256": dict(
        height=256,
        width=256,
        vae_widths=(64, 128, 256),
        video_channels=16,
        hidden=768,
        heads=12,
        depth=16,
        rope_split=(32, 16, 16),
        text_vocab=16384,
        text_dim=512,
        text_layers=6,
        text_max_tokens=77,
        kin_hidden=256,
        physics_hidden=128,
    ),
}


def preset_config(name: str, **overrides: Any) -> GeneratorConfig:
    """The :data:`PRESETS` entry ``name`` with ``overrides`` applied (ValueError for unknown names)."""
    if name not in PRESETS:
        raise ValueError(f"unknown generator preset {name!r}; known: {sorted(PRESETS)}")
    return GeneratorConfig(**{**PRESETS[name], **overrides})


def tiny_config(**overrides: Any) -> GeneratorConfig:
    """The tiny CPU default: 64x64, 16 fps, 33 frames, 16 kHz; ~6 M parameters.

    Tokens for 33 frames: 9 latent frames x 4 x 4 patches = 144 video tokens, 128 audio tokens.
    """
    return preset_config("tiny", **overrides)


def micro_config(**overrides: Any) -> GeneratorConfig:
    """A much smaller config for unit tests (seconds on CPU): 32x32, 17 frames, hidden 32."""
    return preset_config("micro", **overrides)
