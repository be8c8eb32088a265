"""Latent spaces: a small causal video autoencoder and the 16 kHz log-mel audio path.

Video: ``[B, 3, T, H, W]`` in 0..1 → latent ``[B, C, 1 + ceil((T-1)/s), H/f, W/f]``. Frame 0 is
encoded alone; every following non-overlapping group of ``s`` frames becomes one latent frame, so
latent frame t covers the same frames as ``kinematics.align_to_latent`` frame t (the last group is
padded by repeating its last frame). Decoding gives ``1 + s*(L-1)`` frames.

Audio: waveform ``[B, S]`` → magnitude STFT (Hann, ``n_fft``, ``hop_length``, centred) → mel
magnitude (librosa filterbank, computed once) → ``(ln(mel + 1e-5) - mel_mean) / mel_std`` →
optional 1-D autoencoder → latent ``[B, C_a, S // hop]``. Back: latent → mel → linear magnitude
(pseudo-inverse, clamped ≥ 0) → a :class:`Vocoder` (Griffin-Lim by default, deterministic).
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from .config import GeneratorConfig
from .layers import compute_dtype

MEL_EPS = 1e-5


class VideoAutoencoder(nn.Module):
    """Causal-in-time conv autoencoder (per-frame 2-D convs + temporal group projection)."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.stride = cfg.temporal_stride
        self.scale = cfg.video_latent_scale
        widths = list(cfg.vae_widths)
        feat = widths[-1]
        enc: list[nn.Module] = []
        cin = 3
        for w in widths:
            enc += [
                nn.Conv2d(cin, w, 3, stride=2, padding=1),
                nn.SiLU(),
                nn.Conv2d(w, w, 3, padding=1),
                nn.SiLU(),
            ]
            cin = w
        self.encoder = nn.Sequential(*enc)
        self.first_in = nn.Conv2d(feat, cfg.video_channels, 1)
        self.group_in = nn.Conv2d(feat * self.stride, cfg.video_channels, 1)
        self.first_out = nn.Conv2d(cfg.video_channels, feat, 1)
        self.group_out = nn.Conv2d(cfg.video_channels, feat * self.stride, 1)
        dec: list[nn.Module] = []
        rev = widths[::-1]
        for i, w in enumerate(rev):
            nxt = rev[i + 1] if i + 1 < len(rev) else widths[0]
            dec += [
                nn.SiLU(),
                nn.Conv2d(w, w, 3, padding=1),
                nn.SiLU(),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(w, nxt, 3, padding=1),
            ]
        dec += [nn.SiLU(), nn.Conv2d(widths[0], 3, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """``video [B, 3, T, H, W]`` in 0..1 → latent ``[B, C, 1 + ceil((T-1)/s), H/f, W/f]``."""
        b, _, t, h, w = video.shape
        s = self.stride
        groups = math.ceil((t - 1) / s)
        if groups * s + 1 > t:  # pad the last group by repeating the last frame
            pad = video[:, :, -1:].expand(-1, -1, groups * s + 1 - t, -1, -1)
            video = torch.cat([video, pad], dim=2)
        x = (video * 2 - 1).transpose(1, 2).reshape(-1, 3, h, w)
        feats = self.encoder(x)
        fc, fh, fw = feats.shape[1:]
        feats = feats.view(b, 1 + groups * s, fc, fh, fw)
        first = self.first_in(feats[:, 0])[:, :, None]
        if groups:
            g = feats[:, 1:].reshape(b * groups, s * fc, fh, fw)
            rest = self.group_in(g).view(b, groups, -1, fh, fw).transpose(1, 2)
            lat = torch.cat([first, rest], dim=2)
        else:
            lat = first
        return lat * self.scale

    def encode_first(self, image: torch.Tensor) -> torch.Tensor:
        """One image ``[B, 3, H, W]`` in 0..1 → first-frame latent ``[B, C, H/f, W/f]``."""
        return self.encode(image[:, :, None])[:, :, 0]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """latent ``[B, C, L, h, w]`` → video ``[B, 3, 1 + s*(L-1), h*f, w*f]`` (≈ 0..1, unclamped)."""
        z = latent / self.scale
        b, _, lf, h, w = z.shape
        s = self.stride
        first = self.first_out(z[:, :, 0])[:, None]
        parts = [first]
        if lf > 1:
            g = z[:, :, 1:].transpose(1, 2).reshape(b * (lf - 1), -1, h, w)
            rest = self.group_out(g)
            fc = rest.shape[1] // s
            parts.append(rest.view(b, (lf - 1) * s, fc, h, w))
        feats = torch.cat(parts, dim=1)
        frames = feats.shape[1]
        img = self.decoder(feats.flatten(0, 1))
        img = img.view(b, frames, 3, img.shape[-2], img.shape[-1]).transpose(1, 2)
        return (img + 1) / 2

    def reconstruction_loss(self, video: torch.Tensor, latent_l2: float = 1e-4) -> torch.Tensor:
        """Scalar training loss for ``video [B, 3, T, H, W]`` (T = 1 + s*k): MSE + small latent L2."""
        lat = self.encode(video)
        rec = self.decode(lat)[:, :, : video.shape[2]]
        return F.mse_loss(rec, video) + latent_l2 * lat.pow(2).mean()


@runtime_checkable
class Vocoder(Protocol):
    """Turns a linear-magnitude mel spectrogram ``[B, n_mels, frames]`` into a waveform ``[B, S]``.

    ``length`` is the wanted number of samples. Set one with ``model.audio_codec.vocoder = obj``; it
    is a plug-in, never a registered submodule (not in the codec's ``state_dict``, not moved by
    ``model.to``). A :class:`~.vocoder.SpectralVocoder` travels inside the generator checkpoint
    (``models.checkpoint``); other vocoders are not saved.
    """

    def __call__(self, mel: torch.Tensor, length: int) -> torch.Tensor: ...


class AudioAutoencoder(nn.Module):
    """Optional 1-D conv autoencoder on the normalised log-mel: ``[B, n_mels, F] ↔ [B, C_a, F]``."""

    def __init__(self, n_mels: int, channels: int, width: int = 128) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(n_mels, width, 3, padding=1), nn.SiLU(), nn.Conv1d(width, channels, 3, padding=1)
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(channels, width, 3, padding=1), nn.SiLU(), nn.Conv1d(width, n_mels, 3, padding=1)
        )

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        return self.encoder(mel)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """librosa's mel filterbank ``[n_mels, n_fft/2+1]`` and its pseudo-inverse ``[n_fft/2+1, n_mels]``."""
    import librosa  # heavy import kept out of module import

    fb = torch.from_numpy(
        librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    )
    fb = fb.float()
    return fb, torch.linalg.pinv(fb.double()).float()


class AudioCodec(nn.Module):
    """Waveform ↔ audio latent at ``cfg.sample_rate`` (see module docstring for the maths).

    The mel filterbank and STFT window are non-persistent buffers (recomputed, never stored).
    """

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        fb, pinv = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
        self.register_buffer("mel_fb", fb, persistent=False)
        self.register_buffer("mel_pinv", pinv, persistent=False)
        self.register_buffer("window", torch.hann_window(cfg.n_fft, device="cpu"), persistent=False)
        self.ae = AudioAutoencoder(cfg.n_mels, cfg.audio_ae_channels) if cfg.audio_ae_channels else None
        self.vocoder: Vocoder = GriffinLim(cfg.n_fft, cfg.hop_length, cfg.griffin_lim_iters, self.mel_pinv)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "vocoder":  # a plug-in (see Vocoder): kept out of the modules and the state dict
            self._modules.pop("vocoder", None)
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave [B, S]`` → complex STFT ``[B, n_fft/2+1, 1 + S//hop]`` (float32, or float64 for a
        float64 wave: 16-bit waves are computed in float32)."""
        c = self.cfg
        wave = wave.to(compute_dtype(wave))
        return torch.stft(
            wave,
            c.n_fft,
            c.hop_length,
            window=self.window.to(wave),
            center=True,
            return_complex=True,
            pad_mode="reflect",
        )

    def mel(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave [B, S]`` → normalised log-mel ``[B, n_mels, S // hop]``."""
        frames = wave.shape[-1] // self.cfg.hop_length
        mag = self.stft(wave).abs()[..., :frames]
        mel = torch.einsum("mf,bft->bmt", self.mel_fb.to(mag), mag)
        out = (torch.log(mel + MEL_EPS) - self.cfg.mel_mean) / self.cfg.mel_std
        return out.to(self.mel_fb.dtype)  # the module's dtype

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave [B, S]`` (mono, sample_rate Hz) → audio latent ``[B, C_a, S // hop]``."""
        m = self.mel(wave)
        return self.ae.encode(m) if self.ae is not None else m

    def latent_to_mel(self, latent: torch.Tensor) -> torch.Tensor:
        """Audio latent → linear-magnitude mel ``[B, n_mels, F]``."""
        m = self.ae.decode(latent) if self.ae is not None else latent
        m = m.to(compute_dtype(m))  # the vocoder runs in float32 (float64) also for 16-bit latents
        return (torch.exp(m * self.cfg.mel_std + self.cfg.mel_mean) - MEL_EPS).clamp_min(0)

    def reconstruction_loss(self, wave: torch.Tensor) -> torch.Tensor:
        """Scalar MSE of the optional 1-D autoencoder on the normalised log-mel of ``wave [B, S]``."""
        if self.ae is None:
            raise ValueError("this config has no audio autoencoder (audio_ae_channels = 0)")
        m = self.mel(wave)
        return F.mse_loss(self.ae.decode(self.ae.encode(m)), m)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Audio latent ``[B, C_a, F]`` → waveform ``[B, F * hop]`` through :attr:`vocoder`."""
        length = latent.shape[-1] * self.cfg.hop_length
        return self.vocoder(self.latent_to_mel(latent), length)


class GriffinLim:
    """Deterministic fast Griffin-Lim (momentum 0.99, fixed seeded initial phase) in torch.

    Called with a linear mel ``[B, n_mels, F]`` it first maps it to a linear magnitude with
    ``mel_pinv`` (``[n_fft/2+1, n_mels]``, clamped ≥ 0); :meth:`from_magnitude` starts from a linear
    magnitude ``[B, n_fft/2+1, F]`` directly (``mel_pinv`` may then be None).
    """

    def __init__(
        self,
        n_fft: int,
        hop: int,
        iters: int,
        mel_pinv: torch.Tensor | None = None,
        momentum: float = 0.99,
    ) -> None:
        self.n_fft, self.hop, self.iters, self.momentum = n_fft, hop, iters, momentum
        self.mel_pinv = mel_pinv

    def __call__(self, mel: torch.Tensor, length: int) -> torch.Tensor:
        """Linear mel ``[B, n_mels, F]`` → waveform ``[B, length]`` (pseudo-inverse, then Griffin-Lim)."""
        if self.mel_pinv is None:
            raise ValueError("GriffinLim without mel_pinv: use from_magnitude(magnitude, length)")
        mag = torch.einsum("fm,bmt->bft", self.mel_pinv.to(mel), mel).clamp_min(0)
        return self.from_magnitude(mag, length)

    def from_magnitude(self, mag: torch.Tensor, length: int) -> torch.Tensor:
        """Linear STFT magnitude ``[B, n_fft/2+1, F]`` (F = length // hop) → waveform ``[B, length]``."""
        mag = F.pad(mag, (0, 1), mode="replicate")  # centred STFT has 1 + S//hop frames
        window = torch.hann_window(self.n_fft, dtype=mag.dtype, device=mag.device)
        gen = torch.Generator(device="cpu").manual_seed(0)  # the same phase on every device
        phase = torch.rand(mag.shape, generator=gen, dtype=mag.dtype, device="cpu") * 2 * math.pi
        angles = torch.polar(torch.ones_like(mag), phase.to(mag.device))
        prev = torch.zeros_like(angles)
        wave = torch.zeros(mag.shape[0], length, dtype=mag.dtype, device=mag.device)
        for _ in range(max(self.iters, 1)):
            wave = torch.istft(mag * angles, self.n_fft, self.hop, window=window, center=True, length=length)
            rebuilt = torch.stft(
                wave,
                self.n_fft,
                self.hop,
                window=window,
                center=True,
                return_complex=True,
                pad_mode="reflect",
            )
            accel = rebuilt - (self.momentum / (1 + self.momentum)) * prev
            angles = accel / (accel.abs() + 1e-8)
            prev = rebuilt
        return torch.istft(mag * angles, self.n_fft, self.hop, window=window, center=True, length=length)
