"""Train the learned mel → spectrum vocoder (:class:`kinesonic.models.SpectralVocoder`) on clips' audio.

For each clip: magnitude STFT ``|X|`` (the generator's Hann window, ``n_fft``, hop, centred) → linear
mel ``fb · |X|`` (exactly what the generator's audio codec encodes) → the vocoder's predicted
``ln(|X̂| + floor)``. Loss = mean L1 between predicted and true ``ln(|X| + floor)`` plus
``sc_weight`` × spectral convergence ``‖|X| - |X̂|‖_F / ‖|X|‖_F`` over the whole batch (it weights
the energetic bins and clips that the log term treats like any other; per sample it would be
dominated by near-silent crops). With ``input_noise`` > 0 the normalised log-mel input gets
Gaussian noise of a per-sample standard deviation uniform in ``[0, input_noise]`` (the target stays
clean), so the vocoder learns to smooth the noisier mels a generator produces.

Batches are deterministic: step s trains on ``global_batch_indices(n, batch, s, seed)`` and each
sample's random crop of ``segment_frames`` mel frames is drawn from ``sample_seed(seed, 0, s, index)``,
so a resumed run gives the same weights as an uninterrupted one.

Files in ``out_dir``: ``vocoder_state.pt`` (vocoder, AdamW state, step, configs; temp file +
``os.replace`` every ``checkpoint_every`` steps, at the end and on Ctrl-C), ``vocoder.safetensors``
(the vocoder alone, :func:`save_vocoder`), ``log.csv`` (``stage`` = "vocoder", step, loss, log_l1,
spectral_convergence, lr, grad_norm, steps_per_s, wall_s) and ``loss_curve.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models.autoencoders import MEL_EPS
from .data import global_batch_indices, open_source, sample_seed
from .trainer import _atomic_torch_save, append_csv_row, learning_rate, read_log

STATE_FILE = "vocoder_state.pt"
VOCODER_FILE = "vocoder.safetensors"
LOG_FILE = "log.csv"
CURVE_FILE = "loss_curve.png"
LOG_FIELDS = (
    "stage", "step", "loss", "log_l1", "spectral_convergence", "lr", "grad_norm", "steps_per_s", "wall_s",
)  # fmt: skip
STATE_FORMAT = "kinesonic.vocoder_state"


@dataclass
class VocoderTrainConfig:
    """Settings of :func:`train_vocoder`.

        ``data``: a shard folder, ``synth:N`` or an annotated-clip folder (as ``kinesonic train``);
        ``generator``: "tiny", "micro" or a generator checkpoint whose audio settings the vocoder takes;
        ``steps`` optimiser steps of ``batch_size`` crops of ``segment_frames`` mel frames (0 = whole
        clips); AdamW ``lr`` (linear warm-up over ``warmup_steps``, cosine decay to 10 %),
        ``weight_decay``, gradient-norm clip ``grad_clip``; loss weight ``sc_weight``; ``input_noise``
    the largest standard deviation of the noise added to the normalised log-mel input; net ``channels``,
        ``layers``, ``kernel``; ``max_clips`` > 0 uses only the first clips of the source; ``threads``
        for ``torch.set_num_threads`` (0 leaves it).
    """

    data: str
    out_dir: str
    generator: str = "tiny"
    steps: int = 10000
    batch_size: int = 16
    segment_frames: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    sc_weight: float = 0.0
    input_noise: float = 0.1
    channels: int = 192
    layers: int = 4
    kernel: int = 3
    seed: int = 0
    data_seed: int = 0
    max_clips: int = 0
    checkpoint_every: int = 1000
    log_every: int = 50
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class VocoderTrainResult:
    """Paths of a finished run, the last logged losses and the steps done."""

    vocoder: Path
    state: Path
    log: Path
    steps: int
    last: dict[str, float]
    wall_s: float


# ------------------------------------------------------------------------------------ files
def save_vocoder(vocoder: Any, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write a vocoder alone to ``path`` (safetensors, config JSON in ``kinesonic_vocoder``), atomically."""
    from ..models.checkpoint import KEY_VOCODER, _write_atomic

    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta[KEY_VOCODER] = vocoder.cfg.to_json()
    state = {k: v.detach().contiguous().cpu() for k, v in vocoder.state_dict().items()}
    path = Path(path)
    _write_atomic(state, meta, path)
    return path


def load_vocoder(path: str | os.PathLike) -> Any:
    """The :class:`SpectralVocoder` of a :func:`save_vocoder` file (eval mode)."""
    from safetensors.torch import load_file

    from ..models.checkpoint import KEY_VOCODER, read_metadata
    from ..models.vocoder import vocoder_from_state

    meta = read_metadata(path)
    if KEY_VOCODER not in meta:
        raise ValueError(f"{Path(path).name}: no '{KEY_VOCODER}' metadata (not a Kinesonic vocoder file)")
    return vocoder_from_state(meta[KEY_VOCODER], load_file(str(path)))


def _append_log(path: Path, row: dict[str, Any]) -> None:
    append_csv_row(path, row, LOG_FIELDS)


def _truncate_log(path: Path, step: int) -> None:
    """Keep only the log rows up to ``step`` (a resumed run re-logs the later steps)."""
    rows = [r for r in read_log(path) if r["step"] <= step]
    if path.exists():
        path.unlink()
    for r in rows:
        _append_log(path, {**r, "step": int(r["step"])})


def write_loss_curve(log_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    """PNG of the logged vocoder losses (log scale) against the step."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = read_log(log_path)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    try:
        for key, label in (("loss", "total"), ("log_l1", "L1 log-magnitude"), ("spectral_convergence", "SC")):
            pts = [(r["step"], r[key]) for r in rows if np.isfinite(r.get(key, np.nan)) and r[key] > 0]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=label, lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title("vocoder training")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        png = Path(png_path)
        from ..media.files import atomic_output

        with atomic_output(png) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return png


# ------------------------------------------------------------------------------------ data
def _generator_config(spec: str) -> Any:
    from ..models.checkpoint import KEY_CONFIG, read_metadata
    from ..models.config import PRESETS, GeneratorConfig, preset_config

    if spec in PRESETS:
        return preset_config(spec)
    meta = read_metadata(spec)
    if KEY_CONFIG not in meta:
        raise ValueError(f"{spec}: not a Kinesonic generator checkpoint (no '{KEY_CONFIG}' metadata)")
    return GeneratorConfig.from_json(meta[KEY_CONFIG])


class _AudioReader:
    """Clip audio ``float32 [S]`` by dataset index (shard folders read only the audio array)."""

    def __init__(self, source: Any, max_clips: int) -> None:
        self.source = source
        self.n = min(len(source), max_clips) if max_clips > 0 else len(source)
        self.dataset = getattr(source, "dataset", None)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        if self.dataset is not None:  # ShardSource: skip the frames and the metadata
            meta_path, row, _, _ = self.dataset._rows[i]
            return np.asarray(self.dataset._load(meta_path)[1][row], dtype=np.float32)
        return np.asarray(self.source[i].audio, dtype=np.float32)


def spectra(vocoder: Any, waves: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(linear mel [B, n_mels, F], magnitude [B, n_fft/2+1, F])`` of ``waves [B, S]``, F = S // hop.

    The same STFT and filterbank as the generator's audio codec (``AudioCodec.mel``).
    """
    c = vocoder.cfg
    frames = waves.shape[-1] // c.hop_length
    spec = torch.stft(
        waves, c.n_fft, c.hop_length, window=window, center=True, return_complex=True, pad_mode="reflect"
    )
    mag = spec.abs()[..., :frames]
    return torch.einsum("mf,bft->bmt", vocoder.mel_fb, mag), mag


def vocoder_loss(
    vocoder: Any, mel: torch.Tensor, mag: torch.Tensor, sc_weight: float
) -> dict[str, torch.Tensor]:
    """``loss``, ``log_l1`` and ``spectral_convergence`` of the vocoder on (mel, true magnitude)."""
    floor = vocoder.cfg.floor
    pred_log = vocoder.log_magnitude(mel)
    log_l1 = (pred_log - torch.log(mag + floor)).abs().mean()
    # capped like SpectralVocoder.magnitude: an overflow to inf would make even 0 × SC a NaN
    pred = torch.exp(pred_log.clamp_max(math.log(vocoder.cfg.n_fft))) - floor
    sc = (mag - pred).norm() / mag.norm().clamp_min(1e-6)
    return {"loss": log_l1 + sc_weight * sc, "log_l1": log_l1, "spectral_convergence": sc}


def _batch(
    reader: _AudioReader, cfg: VocoderTrainConfig, step: int, hop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Waves ``[B, S']`` of step ``step`` (random crops of ``segment_frames`` hops) and the input-noise
    standard deviation of each sample ``[B]`` (normalised log-mel units)."""
    idx = global_batch_indices(len(reader), cfg.batch_size, step, cfg.seed)
    waves = [reader[int(i)] for i in idx]
    length = min(len(w) for w in waves)
    frames = length // hop
    seg = cfg.segment_frames if 0 < cfg.segment_frames < frames else frames
    out, sigma = [], []
    for i, w in zip(idx, waves, strict=True):
        rng = np.random.default_rng(sample_seed(cfg.seed, 0, step, int(i)))
        start = int(rng.integers(0, frames - seg + 1)) * hop
        out.append(w[start : start + seg * hop])
        sigma.append(rng.uniform(0.0, cfg.input_noise))
    return torch.from_numpy(np.stack(out)), torch.tensor(sigma, dtype=torch.float32, device="cpu")


def noisy_mel(vocoder: Any, mel: torch.Tensor, sigma: torch.Tensor, seed: int) -> torch.Tensor:
    """Linear mel ``[B, n_mels, F]`` with Gaussian noise of std ``sigma [B]`` on its normalised log-mel."""
    if not bool((sigma > 0).any()):
        return mel
    c = vocoder.cfg
    gen = torch.Generator(device="cpu").manual_seed(int(seed))  # the same noise on every device
    noise = torch.randn(mel.shape, generator=gen, device="cpu").to(mel) * sigma.to(mel)[:, None, None]
    norm = vocoder.normalised_log_mel(mel) + noise
    return (torch.exp(norm * c.mel_std + c.mel_mean) - MEL_EPS).clamp_min(0)


# ------------------------------------------------------------------------------------ training
def train_vocoder(
    cfg: VocoderTrainConfig,
    callback: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> VocoderTrainResult:
    """Train (or resume from ``out_dir/vocoder_state.pt``) a :class:`SpectralVocoder`; see the module doc.

    ``callback(done, total)`` after every step; ``log(message)`` for progress lines.
    """
    from ..models.vocoder import SpectralVocoder, VocoderConfig

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path, log_path = out / STATE_FILE, out / LOG_FILE
    gen_cfg = _generator_config(cfg.generator)
    vcfg = VocoderConfig.from_generator(gen_cfg, channels=cfg.channels, layers=cfg.layers, kernel=cfg.kernel)
    source = open_source(
        cfg.data,
        (gen_cfg.width, gen_cfg.height),
        gen_cfg.num_frames,
        gen_cfg.fps,
        gen_cfg.sample_rate,
        cfg.data_seed,
    )
    reader = _AudioReader(source, cfg.max_clips)

    torch.manual_seed(cfg.seed)
    vocoder = SpectralVocoder(vcfg).train()
    opt = torch.optim.AdamW(vocoder.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    step, wall0 = 0, 0.0
    if state_path.exists():
        state = torch.load(str(state_path), map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(f"{state_path}: not a Kinesonic vocoder training state")
        if state["vocoder_config"] != vcfg.to_json():
            raise ValueError(
                f"{state_path}: saved vocoder config {state['vocoder_config']} differs from {vcfg.to_json()}"
            )
        vocoder.load_state_dict(state["vocoder"])
        opt.load_state_dict(state["optimizer"])
        step, wall0 = int(state["step"]), float(state["wall_s"])
        _truncate_log(log_path, step)
        if log:
            log(f"resumed from {state_path} at step {step}")
    elif log_path.exists():
        log_path.unlink()
    t0 = time.perf_counter()

    def wall() -> float:
        return wall0 + time.perf_counter() - t0

    def save(at: int) -> None:
        _atomic_torch_save(
            {
                "format": STATE_FORMAT,
                "vocoder": {k: v.detach().clone() for k, v in vocoder.state_dict().items()},
                "optimizer": opt.state_dict(),
                "step": at,
                "wall_s": wall(),
                "vocoder_config": vcfg.to_json(),
                "train_config": json.dumps(cfg.to_dict(), sort_keys=True),
            },
            state_path,
        )

    window = torch.hann_window(vcfg.n_fft)
    sums: dict[str, float] = {}
    count, saved, last_t, last_step = 0, step, time.perf_counter(), step
    last: dict[str, float] = {}
    try:
        while step < cfg.steps:
            waves, sigma = _batch(reader, cfg, step, vcfg.hop_length)
            with torch.no_grad():
                mel, mag = spectra(vocoder, waves, window)
                mel = noisy_mel(vocoder, mel, sigma, sample_seed(cfg.seed, 1, step, 0))
            lr = learning_rate(step, cfg.steps, cfg.lr, cfg.warmup_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            losses = vocoder_loss(vocoder, mel, mag, cfg.sc_weight)
            if not bool(torch.isfinite(losses["loss"])):
                raise FloatingPointError(f"vocoder training: non-finite loss at step {step + 1}")
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(vocoder.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["grad_norm"] = sums.get("grad_norm", 0.0) + float(grad_norm)
            count += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                now = time.perf_counter()
                last = {k: v / count for k, v in sums.items()}
                row = {"stage": "vocoder", "step": step, **last, "lr": lr}
                row["steps_per_s"] = (step - last_step) / max(now - last_t, 1e-9)
                row["wall_s"] = wall()
                _append_log(log_path, row)
                if log:
                    log(f"vocoder step {step}/{cfg.steps} loss {last['loss']:.4f} ({row['wall_s']:.0f} s)")
                sums, count, last_t, last_step = {}, 0, now, step
            if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                save(step)
                saved = step
            if callback:
                callback(step, cfg.steps)
    except KeyboardInterrupt:
        if step > saved:
            save(step)
        raise
    save(step)
    vocoder.eval()
    meta = {"kinesonic_vocoder_training": json.dumps({**cfg.to_dict(), "step": step, "wall_s": wall()})}
    voc_path = save_vocoder(vocoder, out / VOCODER_FILE, meta)
    if read_log(log_path):
        write_loss_curve(log_path, out / CURVE_FILE)
    return VocoderTrainResult(voc_path, state_path, log_path, step, last, wall())


__all__ = [
    "LOG_FIELDS",
    "VocoderTrainConfig",
    "VocoderTrainResult",
    "load_vocoder",
    "noisy_mel",
    "save_vocoder",
    "spectra",
    "train_vocoder",
    "vocoder_loss",
    "write_loss_curve",
]
