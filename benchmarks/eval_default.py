"""Evaluation table of the default generator (and its ablations) on held-out physics-world clips.

    python benchmarks/eval_default.py --model checkpoints/kinesonic/kinesonic_tiny.safetensors \
        --ablation no_kinematics=PATH --ablation no_hybrid_flow=PATH --ablation no_trajectory=PATH \
        --clips 100 --work .work/eval --figures docs/images

Held-out clips: ``synth_clip(clip_seed(--seed, i))`` for i < --clips at 64x64, 33 frames, 16 fps
(checked disjoint from the training seeds ``clip_seed(--train-seed, j)``, j < --train-clips). Every
row writes one ``kinesonic eval`` folder (``<name>.mp4`` + ``.tracks.json`` + ``.ref.wav`` +
``.physics.json`` + ``.measured.tracks.json``) and scores it with the same code as
``kinesonic eval`` (:func:`kinesonic.metrics.cli.evaluate_folder`):

- row "simulator ground truth": the clip's own frames and sound;
- one row per model: generated from the clip's first frame, caption and ground-truth tracks
  (Euler, 25 steps, CFG 3 on both modalities, as 'Generate Sounding Video'); an ablation is sampled
  with the conditioning it was trained with (read from its checkpoint metadata).

Columns: TE (px; tracks measured on the video by the perception pipeline, matched to the
conditioning objects by their frame-0 position; a simple background-difference centroid tracker when
the pipeline finds no match), ETE (s; clips with at least one impact), MAIC (clips of the slide and
roll scenes), onset accuracy (vs the simulator sound; clips with impacts). Means over clips; counts
in brackets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def held_out_seeds(n: int, base: int, train_base: int, train_n: int) -> list[int]:
    """Seeds of the held-out clips; raises if any is a training seed."""
    from kinesonic.data import clip_seed

    seeds = [clip_seed(base, i) for i in range(n)]
    train = {clip_seed(train_base, j) for j in range(train_n)}
    overlap = train.intersection(seeds)
    if overlap:
        raise SystemExit(f"held-out seeds overlap the training seeds: {sorted(overlap)[:5]}")
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
    from kinesonic.kinematics import Tracks
    from kinesonic.perception import PerceptionError, extract_tracks

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
def load_model(path: str) -> Any:
    """The generator; an ablation's checkpoint samples with the conditioning and start it was trained
    with (``model.ablations``, read from its training metadata by ``load_checkpoint``)."""
    from kinesonic.models import load_checkpoint

    return load_checkpoint(path)


@torch.no_grad()
def generate(model: Any, clip: Any, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(frames uint8 [T,H,W,3], audio float32 [S], sampling seconds)`` for one clip."""
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
    from kinesonic.media.audio import write_audio
    from kinesonic.media.video import write_video

    write_video(folder / f"{name}.mp4", frames, clip.fps, audio[None], clip.sample_rate)
    (folder / f"{name}.tracks.json").write_text(clip.tracks.to_json(), encoding="utf-8")
    (folder / f"{name}.measured.tracks.json").write_text(measured.to_json(), encoding="utf-8")
    (folder / f"{name}.physics.json").write_text(json.dumps(physics_json(clip)), encoding="utf-8")
    write_audio(folder / f"{name}.ref.wav", clip.audio[None], clip.sample_rate)


# ------------------------------------------------------------------------------------------ table
def summarize(names: list[str], reports: list[Any], clips: dict[str, Any]) -> dict[str, tuple[float, int]]:
    """Row values: (mean, count) of TE, ETE (impact clips), MAIC (slide/roll), onset acc (impact clips)."""
    cols: dict[str, list[float]] = {"te": [], "ete": [], "maic": [], "onset": []}
    for name, rep in zip(names, reports, strict=True):
        clip, v = clips[name], rep.values
        cols["te"].append(v.get("te_px", math.nan))
        if clip.events:
            cols["ete"].append(v.get("ete_s", math.nan))
            cols["onset"].append(v.get("onset_acc", math.nan))
        if clip.kind in ("slide", "roll"):
            cols["maic"].append(v.get("maic", math.nan))
    out = {}
    for key, values in cols.items():
        a = np.asarray(values, dtype=np.float64)
        a = a[np.isfinite(a)]
        out[key] = (float(a.mean()) if a.size else math.nan, int(a.size))
    return out


def per_clip(names: list[str], reports: list[Any], clips: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per metric column: {clip name: value} over the clips the column counts (as :func:`summarize`)."""
    out: dict[str, dict[str, float]] = {"te": {}, "ete": {}, "maic": {}, "onset": {}}
    for name, rep in zip(names, reports, strict=True):
        clip, v = clips[name], rep.values
        out["te"][name] = v.get("te_px", math.nan)
        if clip.events:
            out["ete"][name] = v.get("ete_s", math.nan)
            out["onset"][name] = v.get("onset_acc", math.nan)
        if clip.kind in ("slide", "roll"):
            out["maic"][name] = v.get("maic", math.nan)
    return out


def paired_table(base: dict[str, dict[str, float]], rows: list[tuple[str, dict]], n_boot: int = 2000) -> str:
    """Markdown: mean paired difference (row − base) per column with a 95 % bootstrap interval over clips."""
    head = "| row − default model | TE (px) | ETE (s) | MAIC | onset acc |\n|---|---|---|---|---|\n"
    lines = []
    for label, cols in rows:
        cells = []
        for key in ("te", "ete", "maic", "onset"):
            common = [n for n in base[key] if n in cols[key]]
            d = np.array([cols[key][n] - base[key][n] for n in common], dtype=np.float64)
            d = d[np.isfinite(d)]
            if not d.size:
                cells.append("n/a")
                continue
            g = np.random.default_rng(0)
            boot = d[g.integers(0, d.size, (n_boot, d.size))].mean(axis=1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            digits = 2 if key == "te" else 3
            cells.append(f"{d.mean():+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}] ({d.size})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def format_table(rows: list[tuple[str, dict[str, tuple[float, int]]]]) -> str:
    head = "| row | TE (px) ↓ | ETE (s, impact clips) ↓ | MAIC (slide/roll) ↑ | onset acc ↑ |\n"
    head += "|---|---|---|---|---|\n"
    lines = []
    for label, s in rows:
        cells = [
            f"{s[k][0]:.3f} ({s[k][1]})" if k != "te" else f"{s[k][0]:.2f} ({s[k][1]})"
            for k in ("te", "ete", "maic", "onset")
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ pictures
def _logmel(audio: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=audio.astype(np.float32), sr=sr, n_fft=512, hop_length=128, n_mels=64
    )
    return librosa.power_to_db(mel + 1e-10, ref=1.0, top_db=80)


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure to ``path`` atomically (temp file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def figure(path: Path, clip: Any, frames: np.ndarray, audio: np.ndarray, title: str) -> None:
    """Side by side: ground-truth vs generated frames (every 4th) and spectrograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = list(range(0, clip.frames.shape[0], 4))
    fig = plt.figure(figsize=(11, 5.6), dpi=110)
    grid = fig.add_gridspec(4, len(idx), height_ratios=[1, 1, 1.1, 1.1])
    for row, (src, label) in enumerate(((clip.frames, "simulator"), (frames, "generated"))):
        for col, t in enumerate(idx):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(src[t], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
            if row == 0:
                ax.set_title(f"{t / clip.fps:.2f} s", fontsize=7)
            if row == 1:
                pts = clip.tracks.points[t]
                ax.plot(pts[:, 0], pts[:, 1], "+", color="red", ms=6)
    duration = clip.frames.shape[0] / clip.fps
    for row, (wave, label) in enumerate(
        ((clip.audio, "simulator sound"), (audio, "generated sound")), start=2
    ):
        ax = fig.add_subplot(grid[row, :])
        spec = _logmel(wave[: int(duration * clip.sample_rate)], clip.sample_rate)
        ax.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, 64), cmap="magma")
        for e in clip.events:
            ax.axvline(e["time_s"], color="cyan", lw=0.8, ls="--")
        ax.set_ylabel(label, fontsize=8)
        ax.set_yticks([])
        if row == 3:
            ax.set_xlabel("time (s); dashed = simulated impacts; red + = conditioning track")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def ablation_figure(path: Path, clip: Any, name: str, rows: list[tuple[str, Path]]) -> None:
    """One held-out clip across the table's rows: frames (every 8th) and the sound's log-mel per row,
    read back from each row's ``<name>.mp4`` (what was scored)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kinesonic.media import read_video

    idx = list(range(0, clip.frames.shape[0], 8))
    duration = clip.frames.shape[0] / clip.fps
    fig = plt.figure(figsize=(11, 1.45 * len(rows)), dpi=110)
    grid = fig.add_gridspec(len(rows), len(idx) + 1, width_ratios=[1] * len(idx) + [4.5])
    for r, (label, folder) in enumerate(rows):
        data = read_video(folder / f"{name}.mp4")
        for c, t in enumerate(idx):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(data.frames[t], interpolation="nearest")
            pts = clip.tracks.points[t]
            ax.plot(pts[:, 0], pts[:, 1], "+", color="red", ms=5)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label.replace(" ", "\n", 1), fontsize=7)
            if r == 0:
                ax.set_title(f"{t / clip.fps:.2f} s", fontsize=7)
        ax = fig.add_subplot(grid[r, len(idx)])
        wave = data.audio.mean(axis=0)[: int(duration * data.sample_rate)]
        spec = _logmel(wave, data.sample_rate)
        ax.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, 64), cmap="magma")
        for e in clip.events:
            ax.axvline(e["time_s"], color="cyan", lw=0.8, ls="--")
        ax.set_yticks([])
        if r < len(rows) - 1:
            ax.set_xticks([])
    fig.suptitle(
        f"{clip.kind} (held-out seed {clip.seed}): red + = conditioning track, dashed = simulated impacts",
        fontsize=8,
    )
    save_figure(fig, path)


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="", help="the default model (.safetensors); '' = ground truth row only")
    p.add_argument("--ablation", action="append", default=[], help="LABEL=PATH of an ablated model")
    p.add_argument("--clips", type=int, default=100)
    p.add_argument("--seed", type=int, default=1000, help="base seed of the held-out clips")
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--train-clips", type=int, default=20000)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--work", default=".work/eval")
    p.add_argument("--figures", default="", help="folder for generated_<scene>.png pictures ('' = none)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="", help="also write the markdown table to this file")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="keep the clip files a row's folder already has from the same model file and settings",
    )
    args = p.parse_args(argv)

    from kinesonic.data import synth_clip
    from kinesonic.metrics.cli import evaluate_folder

    torch.set_num_threads(args.threads)
    seeds = held_out_seeds(args.clips, args.seed, args.train_seed, args.train_clips)
    clips = {f"clip{i:04d}": synth_clip(s, 64, 33, 16.0) for i, s in enumerate(seeds)}
    work = Path(args.work)
    models = ([("default model", args.model)] if args.model else []) + [
        tuple(a.split("=", 1)) for a in args.ablation
    ]
    rows, notes = [], []
    clip_values: list[tuple[str, dict[str, dict[str, float]]]] = []
    for label, path in [("simulator ground truth", None), *models]:
        folder = work / label.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        model = None
        stamp = {"model": os.fspath(path) if path else None, "steps": args.steps, "seed": args.sample_seed}
        if path is not None:
            model = load_model(path)
            st = Path(path).stat()
            stamp.update(size=st.st_size, mtime=st.st_mtime)
        stamp_file = folder / "source.json"
        reuse = args.reuse and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp
        if not reuse:  # files of another model, settings or version of the file must not be scored
            for old in folder.glob("clip*"):
                old.unlink()
            stamp_file.unlink(missing_ok=True)
        times_file = folder / "sampling_times.json"
        backends: dict[str, int] = {}
        times = json.loads(times_file.read_text()) if reuse and times_file.is_file() else []
        figs: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
        for name, clip in clips.items():
            if reuse and (folder / f"{name}.measured.tracks.json").is_file():
                continue
            if model is None:
                frames, audio = clip.frames, clip.audio
            else:
                frames, audio, sec = generate(model, clip, args.steps, args.sample_seed)
                times.append(sec)
                if clip.kind not in figs:
                    figs[clip.kind] = (clip, frames, audio)
            measured, backend = measure_tracks(frames, clip.tracks)
            backends[backend] = backends.get(backend, 0) + 1
            write_clip(folder, name, frames, audio, clip, measured)
        stamp_file.write_text(json.dumps(stamp))
        times_file.write_text(json.dumps(times))
        names, reports, skipped = evaluate_folder(folder)
        summary = summarize(names, reports, clips)
        rows.append((label, summary))
        clip_values.append((label, per_clip(names, reports, clips)))
        note = f"{label}: {len(names)} clips scored, tracker {backends or '(clip files reused)'}"
        if times:
            note += f", sampling {np.median(times):.2f} s median per clip ({args.steps} steps, CFG)"
        if skipped:
            note += f", skipped {len(skipped)}: {skipped[:3]}"
        notes.append(note)
        print(note, file=sys.stderr, flush=True)
        if args.figures and label == "default model":
            for kind, (clip, frames, audio) in figs.items():
                figure(Path(args.figures) / f"generated_{kind}.png", clip, frames, audio,
                       f"{kind} (held-out seed {clip.seed}): \"{clip.caption}\"")  # fmt: skip
    if args.figures and len(rows) > 2:
        folders = [(label, work / label.replace(" ", "_")) for label, _ in rows]
        for kind in ("drop", "slide"):
            name = next((n for n, c in clips.items() if c.kind == kind), None)
            if name is not None:
                ablation_figure(Path(args.figures) / f"ablations_{kind}.png", clips[name], name, folders)
    table = format_table(rows)
    base = dict(clip_values).get("default model")
    others = [(label, v) for label, v in clip_values[1:] if label != "default model"]
    if base is not None and others:
        table += "\nPaired per clip, ablation minus default model (mean, 95 % bootstrap interval, clips):\n\n"
        table += paired_table(base, others)
    text = table + "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
