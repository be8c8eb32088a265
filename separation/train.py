"""Train the separation network on mixture shards (``kinesonic data mix``); resumable, time-bounded.

Every step draws a batch of fresh mixtures from the stem pool: for each item, speech, effects and
music come from three independently chosen stored mixtures, each cut at its own random offset to
``segment_s`` seconds, the effects and music scaled by a random ±6 dB around their stored level
(speech is the reference), and each stem dropped with probability ``drop``. The batch of step ``s``
depends only on ``(seed, s)``, so a resumed run sees the same batches as an uninterrupted one (as long
as the pool did not grow in between; the pool is re-read every ``rescan_every`` steps so training can
start while ``kinesonic data mix`` is still writing shards).

Loss, per stem and item (masked mixture STFT → iSTFT ``ŝ``, target ``s``, mixture ``x``):
``10 log10(‖s - ŝ‖² + τ‖x‖²) - 10 log10(‖s‖² + τ‖x‖²)`` with ``τ = 1e-3`` — the negative SNR, soft-capped
at 30 dB above the mixture so silent targets are handled (they ask for ``ŝ = 0``). The stems' losses
are averaged with ``stem_weights`` (speech, effects, music; default equal).

``init`` starts a new run from the weights of a separator file (e.g. the shipped one) instead of
random ones: fresh optimizer, step 0, a new warm-up and cosine decay; its own training summary is kept
in the new file's metadata (``init``), so the lineage of a fine-tuned separator stays readable. A run
that already has a ``separator_state.pt`` resumes from it and ignores ``init``.

Files in ``out_dir`` (pack conventions, see docs/training.md): ``separator_state.pt`` (net, AdamW,
step, wall time, configs; temp file + ``os.replace`` every ``checkpoint_every`` steps, at the end and
on Ctrl-C), ``separator.safetensors`` (:func:`.network.save_separator`, training summary in the
``kinesonic_training`` metadata) and ``log.csv``.

Run: ``python -m kinesonic.separation.train --data DIR --out DIR --minutes 55``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .core import SAMPLE_RATE, istft, stft
from .network import SeparatorConfig, SeparatorNet, count_parameters, save_separator

STATE_FILE = "separator_state.pt"
MODEL_FILE = "separator.safetensors"
LOG_FILE = "log.csv"
LOG_FIELDS = (
    "stage",
    "step",
    "loss",
    "snr_speech",
    "snr_effects",
    "snr_music",
    "lr",
    "grad_norm",
    "steps_per_s",
    "wall_s",
)
TAU = 1e-3


@dataclass
class SeparatorTrainConfig:
    """Settings of :func:`train_separator` (``steps`` is an upper bound, ``minutes`` a wall-time one)."""

    data: str = ".work/mix_train"
    out_dir: str = "output/separator"
    steps: int = 20000
    minutes: float = 55.0
    batch_size: int = 8
    segment_s: float = 2.0
    lr: float = 1.5e-3
    warmup_steps: int = 100
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    gain_jitter_db: float = 6.0
    drop: float = 0.05
    seed: int = 0
    threads: int = 1
    init: str = ""
    stem_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    checkpoint_every: int = 100
    log_every: int = 10
    rescan_every: int = 200
    model: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


def make_batch(pool: np.ndarray, cfg: SeparatorTrainConfig, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mixtures [B, L], stems [B, 3, L]) of step ``step`` drawn from ``pool`` [N, 3, S]."""
    rng = np.random.default_rng([cfg.seed, step])
    n, _, length = pool.shape
    seg = min(int(cfg.segment_s * SAMPLE_RATE), length)
    stems = np.zeros((cfg.batch_size, 3, seg), np.float32)
    for b in range(cfg.batch_size):
        for k in range(3):
            item = int(rng.integers(n))
            start = int(rng.integers(0, length - seg + 1))
            gain = 1.0 if k == 0 else 10 ** (rng.uniform(-cfg.gain_jitter_db, cfg.gain_jitter_db) / 20)
            if rng.random() < cfg.drop:
                gain = 0.0
            stems[b, k] = pool[item, k, start : start + seg] * gain
    stems_t = torch.from_numpy(stems)
    return stems_t.sum(1), stems_t


def separation_loss(
    net: SeparatorNet,
    mix: torch.Tensor,
    stems: torch.Tensor,
    weights: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scalar loss, per-stem mean SNR-style loss [3] in dB) for mixtures ``[B, L]`` and stems
    ``[B, 3, L]``; the scalar is the ``weights``-weighted mean over the stems (see the module docstring)."""
    scale = mix.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-6)
    x = mix / scale
    s = stems / scale[:, None]
    spec = stft(x)
    masks = net.masks_from_spec(spec)
    est = istft(masks * spec[:, None], x.shape[-1])
    energy_x = x.pow(2).sum(-1, keepdim=True)
    err = (s - est).pow(2).sum(-1) + TAU * energy_x + 1e-8
    ref = s.pow(2).sum(-1) + TAU * energy_x + 1e-8
    per = 10 * torch.log10(err) - 10 * torch.log10(ref)  # [B, 3]
    w = torch.as_tensor(weights, dtype=per.dtype)
    if w.shape != (per.shape[1],) or not bool(torch.all(w >= 0)) or float(w.sum()) <= 0:
        raise ValueError(f"separation_loss: need {per.shape[1]} non-negative stem weights, got {weights}")
    return (per.mean(0) * w).sum() / w.sum(), per.mean(0).detach()


def _lr(step: int, progress: float, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 5 % as ``progress`` goes 0 → 1."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0))))


def train_separator(
    cfg: SeparatorTrainConfig,
    callback: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] = print,
) -> Path:
    """Train (or resume) and export; returns the path of ``separator.safetensors``.

    Training stops at ``steps`` or after ``minutes`` of wall time (counted across resumes), whichever
    comes first, and always saves state and model; the cosine learning-rate decay follows whichever
    of the two fractions is further along (so a time-bounded run still ends at a low rate).
    """
    from ..training.trainer import _atomic_torch_save, append_csv_row
    from .mixtures import load_stems

    torch.set_num_threads(max(int(cfg.threads), 1))
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    init_summary: dict[str, Any] | None = None
    state = torch.load(state_path, map_location="cpu", weights_only=True) if state_path.exists() else None
    if state is not None and "net_config" in state:  # the size the run was started with
        net = SeparatorNet(SeparatorConfig.from_dict(json.loads(state["net_config"])))
    elif cfg.init and state is None:
        net, init_summary = _load_init(cfg)
        say(f"starting from the weights of {cfg.init}")
    else:
        net = SeparatorNet(SeparatorConfig.from_dict(cfg.model) if cfg.model else SeparatorConfig())
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, wall_before = 0, 0.0
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, wall_before = int(state["step"]), float(state["wall_s"])
        if "init" in state:
            init_summary = json.loads(state["init"])
        say(f"resumed at step {step} ({wall_before / 60:.1f} min done)")
    pool = load_stems(cfg.data)
    say(
        f"separator: {count_parameters(net) / 1e6:.2f} M parameters, pool of {len(pool)} mixtures, "
        f"{cfg.threads} thread(s)"
    )
    start = time.perf_counter()

    def wall() -> float:
        return wall_before + time.perf_counter() - start

    def save() -> None:
        _atomic_torch_save(
            {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step, "wall_s": wall(),
             "config": cfg.to_json(), "net_config": net.cfg.to_json(),
             **({"init": json.dumps(init_summary)} if init_summary is not None else {})},
            state_path,
        )  # fmt: skip
        summary = {
            "steps": step,
            "wall_s": round(wall(), 1),
            "pool": len(pool),
            "config": dataclasses.asdict(cfg),
        }
        if init_summary is not None:
            summary["init"] = init_summary
        save_separator(net, out / MODEL_FILE, {"kinesonic_training": json.dumps(summary)})

    net.train()
    t_log, s_log = time.perf_counter(), step
    try:
        while step < cfg.steps and wall() < cfg.minutes * 60:
            if step % cfg.rescan_every == 0 and step > 0:
                pool = load_stems(cfg.data)
            lr = _lr(step, max(step / cfg.steps, wall() / (cfg.minutes * 60)), cfg.lr, cfg.warmup_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            mix, stems = make_batch(pool, cfg, step)
            loss, per = separation_loss(net, mix, stems, cfg.stem_weights)
            loss_value = float(loss.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad = float(torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip))
            if math.isfinite(loss_value) and math.isfinite(grad):
                opt.step()
            else:  # a degenerate batch: skip the update rather than poison the weights
                say(f"step {step}: non-finite loss {loss_value} / gradient norm {grad}; update skipped")
            step += 1
            if step % cfg.log_every == 0:
                rate = (step - s_log) / max(time.perf_counter() - t_log, 1e-9)
                t_log, s_log = time.perf_counter(), step
                snr = {f"snr_{name}": -float(per[k]) for k, name in enumerate(("speech", "effects", "music"))}
                row = {"stage": "separator", "step": step, "loss": loss_value, **snr, "lr": lr,
                       "grad_norm": grad, "steps_per_s": rate, "wall_s": wall()}  # fmt: skip
                append_csv_row(out / LOG_FILE, row, LOG_FIELDS)
                snrs = "/".join(f"{float(v):.1f}" for v in per)
                say(f"step {step} loss {loss_value:.2f} (-SNR speech/effects/music {snrs} dB) "
                    f"{rate:.2f} steps/s, pool {len(pool)}, {wall() / 60:.1f} min")  # fmt: skip
            if callback is not None:
                callback(step, cfg.steps)
            if step % cfg.checkpoint_every == 0:
                save()
    except KeyboardInterrupt:
        say("interrupted: saving")
    save()
    say(f"saved {out / MODEL_FILE} at step {step} ({wall() / 60:.1f} min)")
    return out / MODEL_FILE


def _load_init(cfg: SeparatorTrainConfig) -> tuple[SeparatorNet, dict[str, Any]]:
    """The net of ``cfg.init`` (its own size; ``cfg.model``, if given, must agree) and its summary."""
    from ..models.checkpoint import read_metadata
    from .network import load_separator

    net = load_separator(cfg.init)
    if cfg.model and SeparatorConfig.from_dict(cfg.model) != net.cfg:
        raise ValueError(f"--model {cfg.model} does not match the size of --init {cfg.init}: {net.cfg}")
    meta = read_metadata(cfg.init) if str(cfg.init).endswith(".safetensors") else {}
    try:
        before = json.loads(meta.get("kinesonic_training", "null"))
    except ValueError:
        before = None
    return net, {"file": Path(cfg.init).name, "training": before}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kinesonic.separation.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", required=True, help="folder of mixture shards (kinesonic data mix)")
    parser.add_argument("--out", required=True, help="output folder (resumes if it holds a state)")
    parser.add_argument("--steps", type=int, default=SeparatorTrainConfig.steps)
    parser.add_argument("--minutes", type=float, default=SeparatorTrainConfig.minutes, help="wall-time bound")
    parser.add_argument("--batch-size", type=int, default=SeparatorTrainConfig.batch_size)
    parser.add_argument(
        "--segment", type=float, default=SeparatorTrainConfig.segment_s, help="seconds per item"
    )
    parser.add_argument("--lr", type=float, default=SeparatorTrainConfig.lr)
    parser.add_argument("--warmup", type=int, default=SeparatorTrainConfig.warmup_steps, help="warm-up steps")
    parser.add_argument("--init", default="", help="start from this separator file's weights (fine-tuning)")
    parser.add_argument(
        "--stem-weights", default="1,1,1", help="loss weights of speech,effects,music (default 1,1,1)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="{}", help="JSON of SeparatorConfig overrides")
    args = parser.parse_args(argv)
    cfg = SeparatorTrainConfig(
        data=args.data, out_dir=args.out, steps=args.steps, minutes=args.minutes,
        batch_size=args.batch_size, segment_s=args.segment, lr=args.lr, warmup_steps=args.warmup,
        threads=args.threads, seed=args.seed, model=json.loads(args.model), init=args.init,
        stem_weights=tuple(float(w) for w in args.stem_weights.split(",")),
    )  # fmt: skip
    try:
        train_separator(cfg, say=lambda m: print(m, flush=True))
    except (FileNotFoundError, ValueError) as error:
        print(f"separator training: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
