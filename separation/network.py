"""Kinesonic's separation network: a mask-estimating dilated convolution net on the 16 kHz STFT.

Input: mono 16 kHz waveforms ``[B, S]``. Each item is divided by its RMS (so the net is blind to the
overall level), its STFT (:mod:`.core`: 512-point Hann, hop 128) gives log magnitudes ``[B, 257, T]``;
a convolution over ``stride`` (= 2) frames with the same stride maps every pair of frames' whole
spectra to ``channels`` features (so the net runs at 16 ms per step); ``blocks`` residual
blocks (1x1 up to ``hidden``, PReLU, global layer norm, depthwise 3-tap convolution dilated 1, 2,
4, ... 2^(cycle-1) steps, PReLU, norm, 1x1 down) see about ±1 s of context; a last 1x1 convolution
gives ``stride x 3 x 257`` logits per step (one set per STFT frame), soft-maxed over the stems: masks
``[B, 3, 257, T]`` at the full 8 ms frame rate, summing to 1.

Checkpoints are safetensors written by the pack's atomic writer with metadata ``kinesonic_format`` =
:data:`FORMAT` and ``kinesonic_separator_config`` (:class:`SeparatorConfig` JSON), plus any other
string entries (training summary). :func:`load_separator` rebuilds the net from the metadata and
says which keys do not fit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .core import HOP, N_BINS, N_FFT, SAMPLE_RATE, STEM_NAMES, stft

FORMAT = "kinesonic-separator-1"
KEY_FORMAT = "kinesonic_format"
KEY_CONFIG = "kinesonic_separator_config"
LOG_FLOOR = 1e-4


@dataclass
class SeparatorConfig:
    """Size of the net: ``channels`` (residual width), ``hidden`` (block width), ``blocks``,
    ``dilation_cycle`` (dilations 1..2^(cycle-1) repeat), fixed STFT settings and stem names."""

    channels: int = 128
    hidden: int = 256
    blocks: int = 10
    dilation_cycle: int = 5
    stride: int = 2
    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop: int = HOP
    stems: tuple[str, ...] = STEM_NAMES

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> SeparatorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown separator config keys {sorted(unknown)}")
        cfg = cls(**{k: tuple(v) if k == "stems" else v for k, v in d.items()})
        if (cfg.sample_rate, cfg.n_fft, cfg.hop, tuple(cfg.stems)) != (SAMPLE_RATE, N_FFT, HOP, STEM_NAMES):
            raise ValueError(
                f"this Kinesonic runs separators at {SAMPLE_RATE} Hz, n_fft {N_FFT}, hop {HOP}, "
                f"stems {STEM_NAMES}; the config says {cfg.sample_rate} Hz, n_fft {cfg.n_fft}, "
                f"hop {cfg.hop}, stems {tuple(cfg.stems)}"
            )
        return cfg


def _norm(channels: int) -> nn.Module:
    """Global layer norm (over channels and frames of each item, Conv-TasNet's gLN)."""
    return nn.GroupNorm(1, channels, eps=1e-5)


class _Block(nn.Module):
    def __init__(self, channels: int, hidden: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(channels, hidden, 1),
            nn.PReLU(),
            _norm(hidden),
            nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation, groups=hidden),
            nn.PReLU(),
            _norm(hidden),
            nn.Conv1d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class SeparatorNet(nn.Module):
    """The mask net (see the module docstring); ``forward(wave [B, S]) -> masks [B, 3, 257, T]``."""

    def __init__(self, cfg: SeparatorConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or SeparatorConfig()
        c = self.cfg
        self.inp = nn.Sequential(nn.Conv1d(N_BINS, c.channels, c.stride, stride=c.stride), _norm(c.channels))
        self.blocks = nn.Sequential(
            *[_Block(c.channels, c.hidden, 2 ** (i % c.dilation_cycle)) for i in range(c.blocks)]
        )
        self.out = nn.Conv1d(c.channels, c.stride * len(c.stems) * N_BINS, 1)
        # start from equal masks (1/3 each): the net first learns corrections to a neutral split
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def masks_from_spec(self, spec: torch.Tensor) -> torch.Tensor:
        """Masks ``[B, 3, F, T]`` from the complex STFT ``[B, F, T]`` of RMS-normalised waveforms."""
        frames = spec.shape[-1]
        stride = self.cfg.stride
        feats = torch.log(spec.abs() + LOG_FLOOR)
        feats = nn.functional.pad(feats, (0, (-frames) % stride), mode="replicate")
        h = self.blocks(self.inp(feats))
        logits = self.out(h)  # [B, stride * 3 * F, T / stride]
        b, _, t2 = logits.shape
        logits = logits.reshape(b, stride, len(self.cfg.stems), N_BINS, t2).permute(0, 2, 3, 4, 1)
        logits = logits.reshape(b, len(self.cfg.stems), N_BINS, t2 * stride)[..., :frames]
        return torch.softmax(logits, dim=1)

    @staticmethod
    def normalise(wave: torch.Tensor) -> torch.Tensor:
        """``wave [B, S]`` divided by each item's RMS (silence stays silence)."""
        rms = wave.pow(2).mean(dim=-1, keepdim=True).sqrt()
        return wave / rms.clamp_min(1e-6)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.masks_from_spec(stft(self.normalise(wave)))


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def save_separator(
    net: SeparatorNet, path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``net`` as safetensors (temp file + rename) with its config in the metadata."""
    from ..models.checkpoint import _write_atomic

    path = Path(path)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.update({KEY_FORMAT: FORMAT, KEY_CONFIG: net.cfg.to_json()})
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    _write_atomic(state, meta, path)
    return path


def load_separator(path: str | os.PathLike) -> SeparatorNet:
    """A :class:`SeparatorNet` from a Kinesonic separator file (CPU, eval mode).

    Accepted layouts: (1) a ``.safetensors`` with ``kinesonic_separator_config`` metadata (what
    :func:`save_separator` and the trainer write); (2) a ``.safetensors`` or ``.pt``/``.pth`` holding
    only the state dict of this architecture, with the config JSON in a sidecar ``<same name>.json``
    (``{}`` = the default size). Raises :class:`~kinesonic.models.checkpoint.CheckpointError` naming the
    file and the keys that do not fit.
    """
    from ..models.checkpoint import CheckpointError, compare_state, read_metadata

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"separator checkpoint {str(path)!r} does not exist")
    sidecar = path.with_suffix(".json")
    meta: dict[str, str] = {}
    if path.suffix == ".safetensors":
        meta = read_metadata(path)
    if KEY_CONFIG in meta:
        if meta.get(KEY_FORMAT) != FORMAT:
            raise CheckpointError(
                f"{path.name}: separator format {meta.get(KEY_FORMAT)!r}, this Kinesonic reads {FORMAT!r}"
            )
        config_text = meta[KEY_CONFIG]
    elif sidecar.is_file():
        config_text = sidecar.read_text(encoding="utf-8")
    else:
        raise CheckpointError(
            f"{path.name}: not a Kinesonic separator (no '{KEY_CONFIG}' metadata and no sidecar "
            f"{sidecar.name} holding the config JSON)"
        )
    try:
        cfg = SeparatorConfig.from_dict(json.loads(config_text))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path.name}: bad separator config: {exc}") from None
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "state_dict" in state:
                state = state["state_dict"]
    except Exception as exc:  # corrupt or foreign file
        raise CheckpointError(f"{path.name}: cannot read the weights ({exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name}: expected a state dict of tensors, got {type(state).__name__}")
    net = SeparatorNet(cfg)
    problems = compare_state(net.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path.name} does not fit its separator config: " + " | ".join(problems))
    net.load_state_dict(state, strict=True)
    return net.eval()
