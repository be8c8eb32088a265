"""A learned mel → spectrum vocoder: small conv net to a log-magnitude, then Griffin-Lim.

The generator's audio latent decodes to a linear mel ``[B, n_mels, F]``. Its pseudo-inverse to a
linear magnitude ``[B, n_fft/2+1, F]`` loses the fine spectral structure and Griffin-Lim renders the
loss as a speckled noise floor. :class:`SpectralVocoder` predicts the natural log of the magnitude
(plus :attr:`VocoderConfig.floor`) as a residual over ``ln(clamp(pinv · mel, 0) + floor)`` from the
normalised log-mel ``(ln(mel + 1e-5) - mel_mean) / mel_std``, then runs the codec's deterministic
:class:`~.autoencoders.GriffinLim` from that magnitude. With the output layer at zero (a fresh net)
it is exactly the pseudo-inverse baseline.

It implements the :class:`~.autoencoders.Vocoder` protocol and travels inside a generator checkpoint
(tensors ``vocoder.*``, config JSON in the metadata key ``kinesonic_vocoder``, see
:mod:`.checkpoint`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .autoencoders import MEL_EPS, GriffinLim, mel_filterbank
from .config import GeneratorConfig

# audio settings that must equal the generator's (name in both configs)
MATCHED_FIELDS = ("sample_rate", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "mel_mean", "mel_std")


@dataclass(frozen=True)
class VocoderConfig:
    """Settings of a :class:`SpectralVocoder`.

    Audio (must equal the generator's :class:`GeneratorConfig` fields of the same name):
    ``sample_rate`` Hz, ``n_fft`` and ``hop_length`` samples, ``n_mels`` mel bands between ``fmin``
    and ``fmax`` Hz (librosa filterbank), ``mel_mean`` / ``mel_std`` (normalisation of ``ln mel``).
    Net: ``channels`` conv width, ``layers`` residual blocks (kernel ``kernel`` along time, dilation
    cycling 1, 2, 4, ...), ``floor`` the magnitude floor inside the log. ``mel_floor``: linear mel
    values below it are raised to it before anything else (recorded audio never goes below its noise
    floor, about 7e-5 in the physics world, but a generator's mel reaches exact zeros, and a net
    that never saw them extrapolates wildly); ``input_max``: cap of the net's normalised log-mel
    input (the pseudo-inverse baseline keeps the full level). ``griffin_lim_iters`` Griffin-Lim
    iterations. The predicted magnitude is capped at ``n_fft`` (a wave within ±1 has
    ``|X| ≤ n_fft / 2`` with a Hann window).
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 250
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = 8000.0
    mel_mean: float = -5.0
    mel_std: float = 4.0
    channels: int = 192
    layers: int = 4
    kernel: int = 3
    floor: float = 1e-5
    mel_floor: float = 1e-4
    input_max: float = 2.5
    griffin_lim_iters: int = 32

    def __post_init__(self) -> None:
        if self.channels < 1 or self.layers < 0 or self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(
                f"vocoder config: need channels >= 1, layers >= 0 and an odd kernel, got channels "
                f"{self.channels}, layers {self.layers}, kernel {self.kernel}"
            )
        if self.floor <= 0 or self.mel_floor < 0:
            raise ValueError(
                f"vocoder config: need floor > 0 and mel_floor >= 0, got {self.floor}, {self.mel_floor}"
            )

    @property
    def n_freq(self) -> int:
        """Linear-frequency bins ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @classmethod
    def from_generator(cls, cfg: GeneratorConfig, **overrides: Any) -> VocoderConfig:
        """The vocoder config with ``cfg``'s audio settings (and its Griffin-Lim iterations)."""
        values: dict[str, Any] = {name: getattr(cfg, name) for name in MATCHED_FIELDS}
        values["griffin_lim_iters"] = cfg.griffin_lim_iters
        values.update(overrides)
        return cls(**values)

    def check_matches(self, cfg: GeneratorConfig) -> None:
        """Raise ``ValueError`` naming every audio setting that differs from the generator's ``cfg``."""
        diffs = [
            f"{name}: vocoder {getattr(self, name)!r}, generator {getattr(cfg, name)!r}"
            for name in MATCHED_FIELDS
            if getattr(self, name) != getattr(cfg, name)
        ]
        if diffs:
            raise ValueError("the vocoder does not fit the generator's audio settings: " + "; ".join(diffs))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VocoderConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown vocoder config fields: {unknown}")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> VocoderConfig:
        return cls.from_dict(json.loads(text))


class SpectralVocoder(nn.Module):
    """Linear mel ``[B, n_mels, F]`` → log-magnitude ``[B, n_fft/2+1, F]`` (conv net) → Griffin-Lim.

    Deterministic (fixed Griffin-Lim phase seed). The module follows the device of its input: the
    first call with a mel on another device moves the module there (it is a plug-in of the codec,
    so ``model.to`` does not move it).
    """

    def __init__(self, cfg: VocoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        fb, pinv = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
        self.register_buffer("mel_fb", fb, persistent=False)
        self.register_buffer("mel_pinv", pinv, persistent=False)
        ch, k = cfg.channels, cfg.kernel
        self.inp = nn.Conv1d(cfg.n_mels, ch, k, padding=k // 2)
        self.blocks = nn.ModuleList()
        for i in range(cfg.layers):
            d = 2 ** (i % 3)
            self.blocks.append(nn.Conv1d(ch, ch, k, padding=d * (k // 2), dilation=d))
        self.out = nn.Conv1d(ch, cfg.n_freq, 1)
        nn.init.zeros_(self.out.weight)  # start exactly at the pseudo-inverse baseline
        nn.init.zeros_(self.out.bias)
        self.griffin_lim = GriffinLim(cfg.n_fft, cfg.hop_length, cfg.griffin_lim_iters)

    def normalised_log_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Linear mel ``[B, n_mels, F]`` → ``(ln(mel + 1e-5) - mel_mean) / mel_std`` (the generator's)."""
        return (torch.log(mel.clamp_min(0) + MEL_EPS) - self.cfg.mel_mean) / self.cfg.mel_std

    def baseline_log_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """``ln(clamp(pinv · mel, 0) + floor)`` ``[B, n_fft/2+1, F]`` for a linear mel ``[B, n_mels, F]``."""
        lin = torch.einsum("fm,bmt->bft", self.mel_pinv, mel).clamp_min(0)
        return torch.log(lin + self.cfg.floor)

    def log_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """Predicted ``ln(|STFT| + floor)`` ``[B, n_fft/2+1, F]`` for a linear mel ``[B, n_mels, F]``.

        The mel is first raised to ``mel_floor``; the net sees its normalised log-mel capped at
        ``input_max``.
        """
        mel = mel.clamp_min(self.cfg.mel_floor)
        h = self.inp(self.normalised_log_mel(mel).clamp_max(self.cfg.input_max))
        for block in self.blocks:
            h = h + block(F.gelu(h))
        return self.baseline_log_magnitude(mel) + self.out(F.gelu(h))

    def magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """Predicted linear STFT magnitude ``[B, n_fft/2+1, F]`` (0 ≤ value ≤ n_fft) for a linear mel."""
        log_mag = self.log_magnitude(mel).clamp_max(math.log(self.cfg.n_fft))
        return (torch.exp(log_mag) - self.cfg.floor).clamp_min(0)

    def render(self, magnitude: torch.Tensor, length: int) -> torch.Tensor:
        """Griffin-Lim from a linear magnitude ``[B, n_fft/2+1, F]`` → waveform ``[B, length]``."""
        return self.griffin_lim.from_magnitude(magnitude, length)

    def forward(self, mel: torch.Tensor, length: int) -> torch.Tensor:
        """Linear mel ``[B, n_mels, F]`` → waveform ``[B, length]`` at ``sample_rate`` Hz."""
        if self.mel_pinv.device != mel.device:
            self.to(mel.device)
        mel = mel.to(self.mel_pinv.dtype)
        if mel.shape[1] != self.cfg.n_mels:
            raise ValueError(
                f"vocoder: expected {self.cfg.n_mels} mel bands, got mel of shape {tuple(mel.shape)}"
            )
        return self.render(self.magnitude(mel), length)


def vocoder_from_state(
    config_json: str, state: dict[str, torch.Tensor], cfg: GeneratorConfig | None = None
) -> SpectralVocoder:
    """Build a :class:`SpectralVocoder` from its config JSON and state dict (strict), in eval mode.

    With ``cfg`` the audio settings are checked against the generator's (``ValueError`` naming both
    values). Missing / unexpected / misshapen keys raise ``ValueError`` listing them.
    """
    from .checkpoint import compare_state

    vcfg = VocoderConfig.from_json(config_json)
    if cfg is not None:
        vcfg.check_matches(cfg)
    vocoder = SpectralVocoder(vcfg)
    problems = compare_state(vocoder.state_dict(), state)
    if problems:
        raise ValueError("the vocoder tensors do not fit its config: " + " | ".join(problems))
    vocoder.load_state_dict(state, strict=True)
    return vocoder.eval()


__all__ = ["MATCHED_FIELDS", "SpectralVocoder", "VocoderConfig", "vocoder_from_state"]
