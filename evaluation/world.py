"""The evaluation table on held-out physics-world clips: simulator ground truth, a model, its ablations.

``kinesonic eval --world --model PATH [--ablation LABEL=PATH ...]`` (see :func:`evaluate_world`).

Held-out clips: ``synth_clip(clip_seed(seed, i))`` for ``i < clips`` at the model size (64x64, 33
frames, 16 fps for the tiny model), checked disjoint from the training seeds
``clip_seed(train_seed, j)``, ``j < train_clips``. Every row writes one ``kinesonic eval`` folder
(``<name>.mp4`` + ``.tracks.json`` + ``.ref.wav`` + ``.physics.json`` + ``.measured.tracks.json``)
and scores it with the same code as ``kinesonic eval FOLDER``
(:func:`kinesonic.metrics.cli.evaluate_folder`):

- row "simulator ground truth": the clip's own frames and sound;
- one row per model: generated from the clip's first frame, caption and ground-truth tracks
  (Euler, 25 steps, CFG 3 on both modalities, as 'Generate Sounding Video'); an ablation samples
  with the conditioning it was trained with (``model.ablations`` from its checkpoint metadata).

Columns: TE (px; tracks measured on the video by the perception pipeline, matched to the
conditioning objects by their frame-0 position; a background-difference centroid tracker when the
pipeline finds no match, a lost object keeping its last position), ETE (s; clips with at least one
impact), MAIC (clips of the slide and roll scenes), onset accuracy and onset AP (vs the simulator
sound; clips with impacts; AP ranks the generated onsets by strength, so weak spurious onsets,
which saturate ETE and accuracy, cost it less). Means over clips, counts in brackets;
then per-clip paired differences of each ablation against the first model with 95 % bootstrap
intervals.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

GROUND_TRUTH = "simulator ground truth"
COLUMNS = ("te", "ete", "maic", "onset", "onset_ap")


def held_out_seeds(n: int, base: int, train_base: int, train_n: int) -> list[int]:
    """Seeds of the ``n`` held-out clips ``clip_seed(base, i)``; ValueError if any is a training seed."""
    from ..data import clip_seed

    seeds = [clip_seed(base, i) for i in range(n)]
    train = {clip_seed(train_base, j) for j in range(train_n)}
    overlap = train.intersection(seeds)
    if overlap:
        raise ValueError(
            f"held-out seeds (base {base}) overlap the training seeds (base {train_base}, {train_n} clips): "
            f"{sorted(overlap)[:5]}; choose another --seed"
        )
    return seeds


# ------------------------------------------------------------------------------------------ tracking
def centroid_tracks(frames: np.ndarray, start: np.ndarray, radius: float = 9.0, thresh: float = 40.0):
    """Fallback tracker: per-pixel temporal median = background; each object follows the centroid of the
    changed pixels (|frame - background| summed over RGB > ``thresh``) within ``radius`` px of its last
    position, starting at ``start [N, 2]`` (frame-0 positions). ``(points [T,N,2], visible [T,N])``."""
    f = frames.astype(np.float32)
    bg = np.median(f, axis=0)
    diff = np.abs(f - bg).sum(axis=-1) > thresh
    t_count, h, w = diff.shape
    yy, xx = np.mgrid[0:h, 0:w]
    n = start.shape[0]
    points = np.zeros((t_count, n, 2))
    visible = np.zeros((t_count, n), bool)
    last = start.astype(np.float64).copy()
    for t in range(t_count):
        for k in range(n):
            near = diff[t] & ((xx - last[k, 0]) ** 2 + (yy - last[k, 1]) ** 2 <= radius**2)
            if near.sum() >= 3:
                last[k] = (xx[near].mean(), yy[near].mean())
                visible[t, k] = True
            points[t, k] = last[k]
    return points, visible


def measure_tracks(frames: np.ndarray, cond: Any) -> tuple[Any, str]:
    """Tracks measured on ``frames`` with the conditioning's N and object order; (tracks, backend)."""
    from ..kinematics import Tracks
    from ..perception import PerceptionError, extract_tracks

    n = cond.num_tracks
    first = cond.points[0]
    try:
        ext = extract_tracks(frames, cond.fps).tracks(filtered=True)
        pts, vis = ext.points, ext.visible
        chosen = []
        for k in range(n):
            d = np.linalg.norm(pts[0] - first[k], axis=1)
            d[[j for j in chosen]] = np.inf
            j = int(np.argmin(d))
            if not np.isfinite(d[j]) or d[j] > 6.0:
                raise PerceptionError("no measured track near the conditioning object")
            chosen.append(j)
        out = Tracks(pts[:, chosen], vis[:, chosen], cond.fps, cond.width, cond.height)
        return out, "perception"
    except (PerceptionError, ValueError, IndexError):
        p, v = centroid_tracks(frames, first)
        # a lost object keeps its last position (so a failure counts in TE instead of vanishing)
        return Tracks(p, np.ones_like(v), cond.fps, cond.width, cond.height), "centroid"


# ------------------------------------------------------------------------------------------ generation
@torch.no_grad()
def generate(model: Any, clip: Any, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(frames uint8 [T,H,W,3], audio float32 [S], sampling seconds)`` for one world clip."""
    first = torch.from_numpy(clip.frames[0]).float().permute(2, 0, 1) / 255.0
    cond = model.build_conditioning(first, clip.caption, clip.tracks, seed=seed)
    start = time.perf_counter()
    lat = model.sample(cond, "joint", steps, "euler", 1.0, 3.0, 3.0, "cfg", seed)
    seconds = time.perf_counter() - start
    video = model.decode_video(lat["video"])[0].permute(1, 2, 3, 0).numpy()
    audio = model.decode_audio(lat["audio"])[0].numpy().astype(np.float32)
    frames = (video[: clip.frames.shape[0]] * 255 + 0.5).clip(0, 255).astype(np.uint8)
    return frames, audio, seconds


# ------------------------------------------------------------------------------------------ files
def physics_json(clip: Any) -> dict[str, Any]:
    events = [{"time_s": float(e["time_s"]), "delta_ke_J": float(e["delta_ke_J"])} for e in clip.events]
    return {"kind": clip.kind, "events": events}


def write_clip(
    folder: Path, name: str, frames: np.ndarray, audio: np.ndarray, clip: Any, measured: Any
) -> None:
    from ..media.audio import write_audio
    from ..media.files import atomic_write_text
    from ..media.video import write_video

    write_video(folder / f"{name}.mp4", frames, clip.fps, audio[None], clip.sample_rate)
    atomic_write_text(folder / f"{name}.tracks.json", clip.tracks.to_json())
    atomic_write_text(folder / f"{name}.measured.tracks.json", measured.to_json())
    atomic_write_text(folder / f"{name}.physics.json", json.dumps(physics_json(clip)))
    write_audio(folder / f"{name}.ref.wav", clip.audio[None], clip.sample_rate)


# ------------------------------------------------------------------------------------------ table
def per_clip(names: list[str], reports: list[Any], clips: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per column (:data:`COLUMNS`): ``{clip name: value}`` over the clips the column counts: TE on
    every clip, ETE and onset accuracy / AP on clips with impacts, MAIC on slide and roll clips."""
    out: dict[str, dict[str, float]] = {key: {} for key in COLUMNS}
    for name, rep in zip(names, reports, strict=True):
        clip, v = clips[name], rep.values
        out["te"][name] = v.get("te_px", math.nan)
        if clip.events:
            out["ete"][name] = v.get("ete_s", math.nan)
            out["onset"][name] = v.get("onset_acc", math.nan)
            out["onset_ap"][name] = v.get("onset_ap", math.nan)
        if clip.kind in ("slide", "roll"):
            out["maic"][name] = v.get("maic", math.nan)
    return out


def summarize(values: dict[str, dict[str, float]]) -> dict[str, tuple[float, int]]:
    """Row cells from :func:`per_clip`: ``(mean, count)`` over the finite values of each column."""
    out = {}
    for key in COLUMNS:
        a = np.asarray(list(values[key].values()), dtype=np.float64)
        a = a[np.isfinite(a)]
        out[key] = (float(a.mean()) if a.size else math.nan, int(a.size))
    return out


def _digits(key: str) -> int:
    return 2 if key == "te" else 3


def format_table(rows: list[tuple[str, dict[str, tuple[float, int]]]]) -> str:
    """Markdown: one line per row, each cell ``mean (count)``."""
    head = "| row | TE (px) ↓ | ETE (s, impact clips) ↓ | MAIC (slide/roll) ↑ | onset acc ↑ | onset AP ↑ |\n"
    head += "|---|---|---|---|---|---|\n"
    lines = []
    for label, cells in rows:
        text = [f"{cells[k][0]:.{_digits(k)}f} ({cells[k][1]})" for k in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(text) + " |")
    return head + "\n".join(lines) + "\n"


def paired_table(
    ref: dict[str, dict[str, float]],
    rows: list[tuple[str, dict[str, dict[str, float]]]],
    ref_label: str = "default model",
    n_boot: int = 2000,
) -> str:
    """Markdown: per column the mean paired difference (row − ref) over the clips both have, with a
    95 % bootstrap interval (``n_boot`` resamples, seed 0) and the clip count."""
    head = f"| row − {ref_label} | TE (px) | ETE (s) | MAIC | onset acc | onset AP |\n"
    head += "|---|---|---|---|---|---|\n"
    lines = []
    for label, cols in rows:
        cells = []
        for key in COLUMNS:
            common = [n for n in ref[key] if n in cols[key]]
            d = np.array([cols[key][n] - ref[key][n] for n in common], dtype=np.float64)
            d = d[np.isfinite(d)]
            if not d.size:
                cells.append("n/a")
                continue
            boot = d[np.random.default_rng(0).integers(0, d.size, (n_boot, d.size))].mean(axis=1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            k = _digits(key)
            cells.append(f"{d.mean():+.{k}f} [{lo:+.{k}f}, {hi:+.{k}f}] ({d.size})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ the run
@dataclass
class WorldEvalResult:
    """``table``: the markdown table(s); ``notes``: one line per row (clips scored, tracker, timing)."""

    table: str
    notes: list[str]

    @property
    def text(self) -> str:
        return self.table + "\n" + "\n".join(f"- {n}" for n in self.notes) + "\n"


def _folder_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label.strip()) or "row"


def _fill_row(
    folder: Path,
    world: dict[str, Any],
    model: Any,
    stamp: dict[str, Any],
    reuse: bool,
    steps: int,
    sample_seed: int,
    log: Callable[[str], None],
) -> tuple[dict[str, int], list[float], dict[str, tuple[Any, np.ndarray, np.ndarray]]]:
    """Write the clip files of one row (simulator when ``model`` is None) into ``folder``.

    Returns ``(tracker backends used, sampling seconds, {scene: (clip, frames, audio)} of the first
    generated clip per scene)``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file, times_file = folder / "source.json", folder / "sampling_times.json"
    kept = reuse and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp
    if not kept:  # files of another model, settings or version of the file must not be scored
        for old in folder.glob("clip*"):
            old.unlink()
        stamp_file.unlink(missing_ok=True)
    times = json.loads(times_file.read_text()) if kept and times_file.is_file() else []
    backends: dict[str, int] = {}
    figs: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
    for k, (name, clip) in enumerate(world.items()):
        if kept and (folder / f"{name}.measured.tracks.json").is_file():
            continue
        if model is None:
            frames, audio = clip.frames, clip.audio
        else:
            frames, audio, sec = generate(model, clip, steps, sample_seed)
            times.append(sec)
            figs.setdefault(clip.kind, (clip, frames, audio))
        measured, backend = measure_tracks(frames, clip.tracks)
        backends[backend] = backends.get(backend, 0) + 1
        write_clip(folder, name, frames, audio, clip, measured)
        if (k + 1) % 10 == 0:
            log(f"{folder.name}: {k + 1}/{len(world)} clips")
    from ..media.files import atomic_write_text

    atomic_write_text(stamp_file, json.dumps(stamp))
    atomic_write_text(times_file, json.dumps(times))
    return backends, times, figs


def evaluate_world(
    models: Sequence[tuple[str, str | os.PathLike]],
    work: str | os.PathLike,
    clips: int = 100,
    seed: int = 1000,
    train_seed: int = 0,
    train_clips: int = 20000,
    steps: int = 25,
    sample_seed: int = 0,
    figures: str | os.PathLike | None = None,
    reuse: bool = False,
    log: Callable[[str], None] = print,
) -> WorldEvalResult:
    """Score the simulator and each ``(label, checkpoint path)`` on ``clips`` held-out world clips.

    The first model is the reference of the paired table (usually the default model, the others
    its ablations). Clip files go to ``work/<label>/``; with ``reuse`` a row keeps the files its
    folder already has from the same model file (size, mtime) and settings, otherwise they are
    replaced. ``figures``: folder for ``generated_<scene>.png`` (first model vs simulator) and, with
    two models or more, ``ablations_drop.png`` / ``ablations_slide.png``. ``log`` gets progress lines.
    """
    from ..data import synth_clip
    from ..metrics.cli import evaluate_folder
    from ..models import load_checkpoint
    from .figures import ablation_figure, figure

    labels = [GROUND_TRUTH, *(label for label, _ in models)]
    folders = [_folder_name(label) for label in labels]
    if len(set(folders)) != len(folders):
        raise ValueError(f"row labels must differ (as folder names): {labels}")
    loaded = [(label, Path(path), load_checkpoint(path)) for label, path in models]
    cfg = loaded[0][2].cfg if loaded else None
    size, frames_n, fps = (cfg.width, cfg.num_frames, cfg.fps) if cfg else (64, 33, 16.0)
    for label, path, model in loaded:
        c = model.cfg
        if (c.width, c.height, c.num_frames, c.fps) != (size, size, frames_n, fps):
            raise ValueError(
                f"{label} ({path.name}) is a {c.width}x{c.height}, {c.num_frames}-frame, {c.fps:g} fps "
                f"model; the table needs every model at {size}x{size}, {frames_n} frames, {fps:g} fps"
            )
    seeds = held_out_seeds(clips, seed, train_seed, train_clips)
    world = {f"clip{i:04d}": synth_clip(s, size, frames_n, fps) for i, s in enumerate(seeds)}
    work = Path(work)
    rows, notes, values = [], [], []
    for label, folder_name, entry in zip(labels, folders, [None, *loaded], strict=True):
        folder = work / folder_name
        stamp: dict[str, Any] = {"model": os.fspath(entry[1]) if entry else None}
        stamp.update(steps=steps, seed=sample_seed)
        if entry:
            st = entry[1].stat()
            stamp.update(size=st.st_size, mtime=st.st_mtime)
        model = entry[2] if entry else None
        backends, times, figs = _fill_row(folder, world, model, stamp, reuse, steps, sample_seed, log)
        names, reports, skipped = evaluate_folder(folder)
        values.append((label, per_clip(names, reports, world)))
        rows.append((label, summarize(values[-1][1])))
        note = f"{label}: {len(names)} clips scored, tracker {backends or '(clip files reused)'}"
        if times:
            note += f", sampling {np.median(times):.2f} s median per clip ({steps} steps, CFG)"
        if skipped:
            note += f", skipped {len(skipped)}: {skipped[:3]}"
        notes.append(note)
        log(note)
        if figures and entry is not None and entry is loaded[0]:
            for kind, (clip, gen_frames, gen_audio) in figs.items():
                title = f'{kind} (held-out seed {clip.seed}): "{clip.caption}"'
                figure(Path(figures) / f"generated_{kind}.png", clip, gen_frames, gen_audio, title)
    if figures and len(rows) > 2:
        row_folders = [(label, work / f) for label, f in zip(labels, folders, strict=True)]
        for kind in ("drop", "slide"):
            name = next((n for n, c in world.items() if c.kind == kind), None)
            if name is not None:
                ablation_figure(Path(figures) / f"ablations_{kind}.png", world[name], name, row_folders)
    table = format_table(rows)
    if len(values) > 2:
        ref_label, ref = values[1]
        table += f"\nPaired per clip, row minus {ref_label} (mean, 95 % bootstrap interval, clips):\n\n"
        table += paired_table(ref, values[2:], ref_label)
    return WorldEvalResult(table, notes)
