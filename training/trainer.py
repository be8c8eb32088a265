"""The training loop: autoencoder stage, then twin-DiT stage; DDP under torchrun; atomic, resumable state.

Files in ``out_dir``:

- ``train_state.pt`` — model + EMA + optimizer + stage + step + RNG state + kinematic stats + config,
  written atomically (temp file + ``os.replace``) every ``checkpoint_every`` steps and at the end of
  each stage; loaded with ``torch.load(weights_only=True)`` to resume;
- ``model.safetensors`` — the generator with EMA DiT/text weights in the generator's own format
  (:func:`kinesonic.models.save_checkpoint`, loadable with ``load_checkpoint``), metadata key
  ``kinesonic_training`` = JSON (train config, ablations, steps, wall time);
- ``log.csv`` — one row per ``log_every`` steps: stage, step, losses, learning rate, gradient norm,
  steps/s, wall time. Rows of a resumed run re-use step numbers; readers keep the last.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is gloo on CPU / nccl on GPU, every rank
trains on its slice of the same global batch and only rank 0 writes files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models.checkpoint import KEY_TRAINING
from .config import TrainConfig
from .data import global_batch_indices, open_source, rank_slice, sample_seed
from .music_beds import MusicBeds
from .objective import FlowObjective, ReconstructionModule, VelocityModule, clips_to_tensors, prepare_batch

STATE_FILE = "train_state.pt"
MODEL_FILE = "model.safetensors"
LOG_FILE = "log.csv"
LOG_FIELDS = (
    "stage", "step", "loss", "video_inside", "video_outside", "audio", "lr", "grad_norm", "steps_per_s",
    "wall_s",
)  # fmt: skip


@dataclass
class TrainResult:
    """What a run produced: paths, the last logged losses and the number of steps done per stage."""

    checkpoint: Path
    state: Path
    log: Path
    steps: dict[str, int] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0


# ---------------------------------------------------------------------------------------- distributed
def dist_info() -> tuple[int, int]:
    """``(rank, world_size)``: from an initialised process group, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed() -> bool:
    """Initialise the process group from torchrun's environment when ``WORLD_SIZE`` > 1.

    gloo on CPU, nccl when CUDA is available. Returns True if this call created the group (the caller
    then destroys it with :func:`shutdown_distributed`).
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    return True


def shutdown_distributed() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


# ---------------------------------------------------------------------------------------- files
def _atomic_torch_save(obj: Any, path: Path) -> None:
    from ..media.files import atomic_output

    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """A ``train_state.pt`` (``torch.load(weights_only=True)``)."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != "kinesonic.train_state":
        raise ValueError(f"{path}: not a Kinesonic training state")
    return state


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of ``log.csv`` as dicts (numbers as float), one per (stage, step), the last written kept."""
    path = Path(path)
    if not path.exists():
        return []
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out: dict[str, Any] = {"stage": row["stage"]}
            for k, v in row.items():
                if k != "stage":
                    out[k] = float(v) if v not in ("", None) else float("nan")
            rows[(out["stage"], int(out["step"]))] = out
    order = {"autoencoder": 0, "dit": 1}
    return sorted(rows.values(), key=lambda r: (order.get(r["stage"], 2), r["step"]))


def append_csv_row(path: Path, row: dict[str, Any], fields: list[str] | tuple[str, ...]) -> None:
    """Append ``row`` (missing fields blank) to the CSV log ``path``, writing the header to a new file."""
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields))
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in fields})


def _append_log(path: Path, row: dict[str, Any]) -> None:
    append_csv_row(path, row, LOG_FIELDS)


# ---------------------------------------------------------------------------------------- helpers
def learning_rate(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10 % of ``base`` at ``total``."""
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def kinematic_stats_from(source: Any, count: int, stride: int) -> Any:
    """:class:`KinematicStats` over the latent-rate states of the first ``count`` clips' tracks."""
    from ..kinematics import KinematicStats, align_to_latent, latent_kinematic_state

    states, masks = [], []
    for i in range(min(count, len(source))):
        tracks = source[i].tracks
        if tracks is None:
            continue
        tracks = tracks.drop_never_visible() if tracks.visible.any() else None
        if tracks is None or tracks.num_frames < 4 or tracks.num_tracks == 0:
            continue
        states.append(latent_kinematic_state(tracks, stride))
        masks.append(align_to_latent(tracks, stride).visible)
    if not states:
        return KinematicStats.identity()
    return KinematicStats.from_states(states, masks)


class _Ema:
    """Exponential moving average of named parameters (warm-up ``min(decay, (1+n)/(10+n))``)."""

    def __init__(self, named: dict[str, torch.Tensor], decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in named.items()}

    @torch.no_grad()
    def update(self, named: dict[str, torch.Tensor], step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for k, v in named.items():
            self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)


def export_model(model: Any, ema: dict[str, torch.Tensor] | None, path: Path, meta: dict[str, str]) -> Path:
    """Save ``model`` with the EMA tensors (if any) in place of its parameters (model left unchanged)."""
    from ..models import save_checkpoint

    params = dict(model.named_parameters())
    backup = {}
    with torch.no_grad():
        for k, v in (ema or {}).items():
            backup[k] = params[k].detach().clone()
            params[k].copy_(v)
        try:
            return save_checkpoint(model, path, meta)
        finally:
            for k, v in backup.items():
                params[k].copy_(v)


# ---------------------------------------------------------------------------------------- training
def train(
    cfg: TrainConfig,
    callback: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = print,
) -> TrainResult:
    """Run (or resume) both stages of ``cfg``; returns the :class:`TrainResult`.

    ``callback(done, total)`` is called after every optimiser step (total = ``ae_steps + dit_steps``);
    an exception it raises (e.g. ComfyUI's interrupt) stops training after the state is saved.
    Call inside an initialised process group for data parallelism (see :func:`init_distributed`).
    """
    from ..models import KinesonicModel

    start_wall = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    rank, world = dist_info()
    say = log if (log is not None and rank == 0) else (lambda _msg: None)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path, model_path, log_path = out / STATE_FILE, out / MODEL_FILE, out / LOG_FILE
    for name, b in (("batch_size", cfg.batch_size), ("ae_batch_size", cfg.ae_batch_size)):
        if b % world:
            raise ValueError(f"{name} {b} is not divisible by the number of processes {world}")

    gcfg = cfg.generator_config()
    size = (gcfg.width, gcfg.height)
    source = open_source(cfg.data, size, gcfg.num_frames, gcfg.fps, gcfg.sample_rate, cfg.data_seed)
    torch.manual_seed(cfg.seed)
    model = KinesonicModel(gcfg)
    model.dit.gradient_checkpointing = bool(cfg.grad_checkpointing)
    state = load_state(state_path) if state_path.exists() else None
    elapsed_before = 0.0
    if state is not None:
        from ..kinematics import KinematicStats

        model.load_state_dict(state["model"])
        if state.get("kin_stats"):
            model.kinematic_stats = KinematicStats.from_json(state["kin_stats"])
        elapsed_before = float(state.get("wall_s", 0.0))
        if "rng" in state:
            torch.set_rng_state(state["rng"])
        say(f"resuming {state_path} at stage {state['stage']} step {state['step']}")
    elif cfg.init_generator:
        _init_generator(model, cfg.init_generator)
        say(f"model from {cfg.init_generator}")
    elif cfg.init_autoencoder:
        _init_video_autoencoder(model, cfg.init_autoencoder)
        say(f"video autoencoder from {cfg.init_autoencoder}")
    say(f"data: {cfg.data} ({len(source)} clips); model {cfg.model}; world size {world}")
    token = gcfg.audio_channels * gcfg.audio_patch
    if token > gcfg.hidden:
        say(
            f"note: an audio token holds {token} numbers but the DiT hidden size is {gcfg.hidden}: "
            f"the audio head cannot reach {token - gcfg.hidden} of them (a floor on the audio loss; "
            "the sampler removes their noise). audio_patch or hidden can fix it (docs/generator.md)"
        )

    total = cfg.ae_steps + cfg.dit_steps
    res = TrainResult(model_path, state_path, log_path)
    stage_now = state["stage"] if state else "autoencoder"
    step_now = int(state["step"]) if state else 0
    ema_state = state.get("ema") if state else None
    opt_state = state.get("optimizer") if state else None

    def wall() -> float:
        return elapsed_before + time.perf_counter() - start_wall

    # a run started from a generator records that generator's own training record (its lineage)
    init_record = _training_record(cfg.init_generator) if cfg.init_generator else None

    def meta(stage: str, step: int, ema: dict[str, torch.Tensor] | None) -> dict[str, str]:
        lineage = {"init_training": init_record} if init_record is not None else {}
        return {
            KEY_TRAINING: json.dumps(
                {
                    "train_config": cfg.to_dict(),
                    **lineage,
                    "ablations": cfg.ablations,
                    "stage": stage,
                    "step": step,
                    "world_size": world,
                    "wall_s": round(wall(), 1),
                    "ema": ema is not None,
                }
            )
        }

    def save(stage: str, step: int, optimizer: Any, ema: _Ema | None) -> None:
        if rank == 0:
            _atomic_torch_save(
                {
                    "format": "kinesonic.train_state",
                    "config": cfg.to_json(),
                    "stage": stage,
                    "step": int(step),
                    "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                    "ema": ema.shadow if ema is not None else {},
                    "optimizer": optimizer.state_dict() if optimizer is not None else {},
                    "rng": torch.get_rng_state(),
                    "kin_stats": model.kinematic_stats.to_json(),
                    "wall_s": wall(),
                },
                state_path,
            )
            export_model(model, ema.shadow if ema else None, model_path, meta(stage, step, ema))
        _barrier()

    # ------------------------------------------------------------ stage 1: autoencoders
    done_before = 0
    if stage_now == "autoencoder" and cfg.ae_steps > step_now:
        params = list(model.video_ae.parameters())
        if model.audio_codec.ae is not None:
            params += list(model.audio_codec.ae.parameters())
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.AdamW(params, lr=cfg.ae_lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        if opt_state:
            opt.load_state_dict(opt_state)
        module: torch.nn.Module = ReconstructionModule(model)
        module = _wrap(module, world)
        stride = gcfg.temporal_stride
        window = 1 + stride * max((cfg.ae_frames - 1) // stride, 1)
        with_audio = model.audio_codec.ae is not None

        def ae_step(step: int) -> dict[str, float]:
            order = global_batch_indices(len(source), cfg.ae_batch_size, step, cfg.seed)
            idx = rank_slice(order, rank, world)
            clips = [source[int(i)] for i in idx]
            n_audio = gcfg.audio_samples(gcfg.latent_frames(clips[0].frames.shape[0]))
            videos, waves = clips_to_tensors(clips, n_audio)
            crops = []
            for j, i in enumerate(idx):
                g = np.random.default_rng(sample_seed(cfg.seed, 0, step, int(i)))
                start = int(g.integers(0, max(videos.shape[2] - window, 0) + 1))
                crops.append(videos[j, :, start : start + window])
            loss = module(torch.stack(crops), waves if with_audio else None).mean()
            return {"loss": loss}

        step_now = _run_stage(
            "autoencoder", ae_step, params, opt, cfg.ae_lr, cfg.ae_steps, step_now, 0, cfg, total, None,
            callback, save, log_path, rank, say, wall, res,
        )  # fmt: skip
        stage_now, step_now, opt_state, ema_state = "dit", 0, None, None
        save("dit", 0, None, None)
    elif stage_now == "autoencoder":
        stage_now, step_now, opt_state = "dit", 0, None
    res.steps["autoencoder"] = cfg.ae_steps
    done_before = cfg.ae_steps

    # ------------------------------------------------------------ stage 2: twin DiT
    # a run started from a generator keeps the kinematic statistics its DiT was trained with
    fresh = state is None and not cfg.init_generator
    if fresh or (state is not None and not state.get("kin_stats")) or model.kinematic_stats.count == 0:
        model.kinematic_stats = kinematic_stats_from(source, cfg.kin_stats_clips, gcfg.temporal_stride)
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = {f"dit.{k}": p for k, p in model.dit.named_parameters()}
    trainable.update({f"text.{k}": p for k, p in model.text.named_parameters()})
    for p in trainable.values():
        p.requires_grad_(True)
    ema = _Ema(trainable, cfg.ema_decay)
    if ema_state:
        for k, v in ema_state.items():
            ema.shadow[k].copy_(v)
    opt = torch.optim.AdamW(
        list(trainable.values()), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
    )
    if opt_state:
        opt.load_state_dict(opt_state)
    objective = FlowObjective(
        cfg.drops, cfg.p_v2a, cfg.p_a2v, cfg.max_cond_time, cfg.time_mean, cfg.time_std, cfg.loss_weights,
        cfg.no_hybrid_flow, time_tail=cfg.time_tail, tail_start=cfg.time_tail_start,
        a2v_sound_only=cfg.a2v_sound_only, music_drop=cfg.cond_drop if cfg.music_bed > 0 else 0.0,
    )  # fmt: skip
    velocity = _wrap(VelocityModule(model), world)
    no_kin = cfg.no_kinematics or cfg.no_trajectory
    beds = None
    if cfg.music_bed > 0:
        if not gcfg.music_film:
            raise ValueError(
                "TrainConfig.music_bed needs a model with a music FiLM: --model '{\"music_film\": true}'"
            )
        samples = gcfg.audio_samples(gcfg.latent_frames())
        beds = MusicBeds(MUSIC_BANK, samples, gcfg.sample_rate, cfg.seed, cfg.music_bed)
        say(f"music beds: {MUSIC_BANK} training-family pieces, share {cfg.music_bed}")

    def dit_step(step: int) -> dict[str, torch.Tensor]:
        idx = rank_slice(global_batch_indices(len(source), cfg.batch_size, step, cfg.seed + 1), rank, world)
        clips = [source[int(i)] for i in idx]
        seeds = [sample_seed(cfg.seed, 1, step, int(i)) for i in idx]
        batch = prepare_batch(
            model, clips, idx, cfg.seed, cfg.use_physics, no_kin, cfg.no_trajectory, beds, seeds
        )
        inp = objective.inputs(batch, seeds)
        pv, pa = velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
        losses = objective.losses(pv, pa, inp)
        return {k: v.mean() for k, v in losses.items()}

    if cfg.dit_steps > step_now:
        _run_stage(
            "dit", dit_step, list(trainable.values()), opt, cfg.lr, cfg.dit_steps, step_now, done_before, cfg,
            total, (ema, trainable), callback, save, log_path, rank, say, wall, res,
        )  # fmt: skip
    elif rank == 0 and not model_path.exists():
        export_model(model, ema.shadow, model_path, meta("dit", step_now, ema))
    res.steps["dit"] = cfg.dit_steps
    res.wall_s = wall()
    say(f"done: {model_path} ({res.wall_s:.0f} s)")
    return res


VIDEO_FIELDS = (
    "height", "width", "fps", "num_frames", "temporal_stride", "spatial_factor", "video_channels",
    "vae_widths", "video_latent_scale",
)  # fmt: skip


def _matching_checkpoint(
    path: str, model: Any, option: str, fields: Sequence[str] | None, what: str, src: Any = None
) -> Any:
    """The generator checkpoint ``path`` loaded (or ``src``, when the caller already loaded it), when its
    config equals ``model``'s in ``fields`` (None = every field); else ValueError naming ``option`` and
    the differing fields with their values."""
    from ..models import load_checkpoint

    src = load_checkpoint(path) if src is None else src
    theirs, mine = src.cfg.to_dict(), model.cfg.to_dict()
    names = sorted(set(mine) | set(theirs)) if fields is None else list(fields)
    diff = [k for k in names if mine.get(k) != theirs.get(k)]
    if diff:
        raise ValueError(
            f"{option} {path}: its {what} differs from this run's in {diff} "
            f"({', '.join(f'{k}={theirs.get(k)!r}' for k in diff)})"
        )
    return src


def _init_video_autoencoder(model: Any, path: str) -> None:
    """Copy the video autoencoder of the generator checkpoint ``path`` into ``model`` (ValueError
    naming the differing fields when the video configs differ)."""
    src = _matching_checkpoint(path, model, "init_autoencoder", VIDEO_FIELDS, "video config")
    model.video_ae.load_state_dict(src.video_ae.state_dict())


def _training_record(path: str) -> dict | None:
    """The ``kinesonic_training`` record of the generator checkpoint ``path`` (None when the file
    or the record is missing)."""
    from ..models import read_metadata
    from ..models.checkpoint import parse_training_metadata

    try:
        meta = read_metadata(path)
    except (OSError, ValueError):
        return None
    return parse_training_metadata(meta) or None


#: Pieces in the bank of music beds (TrainConfig.music_bed): about 15 s to make on one core.
MUSIC_BANK = 128

#: Config fields a run may add to the generator it starts from (new layers that start as the identity).
ADDABLE_FIELDS = ("music_film", "music_hidden")


def _init_generator(model: Any, path: str) -> None:
    """Copy every weight and the kinematic statistics of the generator checkpoint ``path`` into
    ``model`` (ValueError naming the differing fields when the configs differ). A run may add a music
    FiLM (``music_film``) to a checkpoint without one: its new layers keep their zero start."""
    from ..models import load_checkpoint

    src = load_checkpoint(path)
    adding = model.cfg.music_film and not src.cfg.music_film
    fields = [k for k in model.cfg.to_dict() if k not in ADDABLE_FIELDS] if adding else None
    _matching_checkpoint(path, model, "init_generator", fields, "config", src)
    missing, unexpected = model.load_state_dict(src.state_dict(), strict=not adding)
    if unexpected or any(".music" not in "." + k for k in missing):
        raise ValueError(
            f"init_generator {path}: weights do not fit (missing {missing}, unexpected {unexpected})"
        )
    model.kinematic_stats = src.kinematic_stats


def _wrap(module: torch.nn.Module, world: int) -> torch.nn.Module:
    if world <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [torch.cuda.current_device()] if torch.cuda.is_available() else None
    if torch.cuda.is_available():
        module = module.cuda()
    # every trainable parameter is used at every step (absent conditions run through their layers on
    # empty inputs), so no search for unused ones; the buffers (rotary tables, mel filterbank) are
    # computed identically on every rank, so they are not re-broadcast before each forward
    import inspect

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters:
        sync = {"forward_sync_buffers": False}
    else:  # torch < 2.13
        sync = {"broadcast_buffers": False}
    return DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=False, **sync)


def _run_stage(
    stage: str,
    step_fn: Callable[[int], dict[str, torch.Tensor]],
    params: list[torch.Tensor],
    opt: torch.optim.Optimizer,
    base_lr: float,
    steps: int,
    start: int,
    done_before: int,
    cfg: TrainConfig,
    total: int,
    ema_pair: tuple[_Ema, dict[str, torch.Tensor]] | None,
    callback: Callable[[int, int], None] | None,
    save: Callable[..., None],
    log_path: Path,
    rank: int,
    say: Callable[[str], None],
    wall: Callable[[], float],
    res: TrainResult,
) -> int:
    """Optimiser steps ``start .. steps-1`` of one stage; returns the number of steps done."""
    ema = ema_pair[0] if ema_pair else None
    warmup = cfg.warmup_steps if stage == "dit" else min(cfg.warmup_steps, max(steps // 10, 1))
    step = start
    saved = start
    tick, tick_step = time.perf_counter(), start
    sums: dict[str, float] = {}
    count = 0
    try:
        while step < steps:
            lr = learning_rate(step, steps, base_lr, warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            losses = step_fn(step)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip))
            opt.step()
            step += 1
            if ema is not None:
                ema.update(ema_pair[1], step)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            count += 1
            if step % cfg.log_every == 0 or step == steps:
                now = time.perf_counter()
                row = {k: round(v / count, 6) for k, v in sums.items()}
                row.update(
                    stage=stage,
                    step=step,
                    lr=f"{lr:.3g}",
                    grad_norm=round(grad_norm, 4),
                    steps_per_s=round((step - tick_step) / max(now - tick, 1e-9), 4),
                    wall_s=round(wall(), 1),
                )
                res.last = {k: float(v) for k, v in row.items() if k in sums}
                if rank == 0:
                    _append_log(log_path, row)
                say(
                    f"{stage} step {step}/{steps} loss {row['loss']:.4f} "
                    f"({row['steps_per_s']:.2f} steps/s, {row['wall_s']:.0f} s)"
                )
                sums, count, tick, tick_step = {}, 0, now, step
            if step % cfg.checkpoint_every == 0 or step == steps:
                save(stage, step, opt, ema)
                saved = step
            if callback is not None:
                callback(done_before + step, total)
    except BaseException:
        # single process: keep the steps done since the last checkpoint. Under DDP the other ranks
        # may be blocked in a collective, so a barrier here could hang: rely on the last checkpoint.
        if step > saved and dist_info()[1] == 1:
            save(stage, step, opt, ema)
        raise
    return step


def loss_curve_png(log_path: str | os.PathLike) -> bytes:
    """PNG bytes of the loss curves in ``log.csv`` (see :func:`.plot.loss_curve_image`)."""
    from PIL import Image

    from .plot import loss_curve_image

    buf = io.BytesIO()
    Image.fromarray(loss_curve_image(read_log(log_path))).save(buf, format="PNG")
    return buf.getvalue()


__all__ = [
    "LOG_FIELDS",
    "TrainResult",
    "dist_info",
    "export_model",
    "init_distributed",
    "kinematic_stats_from",
    "learning_rate",
    "load_state",
    "read_log",
    "shutdown_distributed",
    "train",
]
