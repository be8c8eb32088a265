"""The evaluation table on held-out physics-world clips: simulator ground truth, a model, its ablations.

``kinesonic eval --world --model PATH [--ablation LABEL=PATH ...] [--rows codec,jointcfg,v2a,a2v]
[--cond-time T] [--physics estimated|simulator|none]`` (see :func:`evaluate_world`).

Held-out clips: ``synth_clip(clip_seed(seed, i))`` for ``i < clips`` at the model size (64x64, 33
frames, 16 fps for the tiny model), checked disjoint from the training seeds
``clip_seed(train_seed, j)``, ``j < train_clips``. Every row writes one ``kinesonic eval`` folder
(``<name>.mp4`` + ``.tracks.json`` + ``.ref.wav`` + ``.physics.json`` + ``.measured.tracks.json``)
and scores it with the same code as ``kinesonic eval FOLDER``
(:func:`kinesonic.metrics.cli.evaluate_folder`):

- row "simulator ground truth": the clip's own frames and sound;
- one row per model: generated from the clip's first frame, caption, ground-truth tracks and physics
  (25 Euler steps, video CFG 3, audio CFG 2 and the stochastic audio update at eta 1, as 'Generate
  Sounding Video', :data:`.world_rows.SAMPLER`; clip i from noise seed ``sample_seed + i``, the same
  in every row, :func:`clip_sample_seed`); an ablation samples
  with the conditioning it was trained with (``model.ablations`` from its checkpoint metadata; a
  ``no_physics`` model without physics). The physics (``physics``, :func:`.world_rows.clip_physics`)
  is by default ESTIMATED from the clip's rendered frames and the tracks the extraction pipeline
  measures on them (materials from the caption), not the simulator's: a user's clip has no
  simulator; NaN where the estimate has no value (the model masks it out). ``"simulator"`` passes
  the simulator's truth, ``"none"`` nothing. The table's first line says which, with how many
  objects got a known mass and speed;
- opt-in rows of the first model, right after it (:mod:`.world_rows`): the simulator's sound
  through its audio codec, JointCFG, video-to-audio on the simulator's frames, audio-to-video on
  the simulator's sound, the model with its physics input off.

Columns (:mod:`.world_table`): TE (px; tracks measured on the video by the perception pipeline,
matched to the conditioning objects by their frame-0 position; a background-difference centroid
tracker when the pipeline finds no match, a lost object keeping its last position), ETE at tau 0.2
and 0.5 s (clips with at least one impact; the audio-to-video row reads its visual events from the
tracks measured on its generated video), MAIC (clips of the slide and roll scenes), onset accuracy
and onset AP (vs the simulator sound; clips with impacts; AP ranks the generated onsets by
strength, so weak spurious onsets, which saturate ETE and accuracy, cost it less), onsets per
impact clip, level error (median over clips of |dB(row sound) - dB(simulator sound)|, and the
signed median), APCC-Δ (over the impacts of all clips, per scene class: |dKE| of the simulator's
impacts against the onset strength of the row's sound vs of the simulator's sound). Means over
clips, counts in brackets; then per-clip paired differences of every later row against the first
model with 95 % bootstrap intervals (APCC-Δ: the difference of the set values, clips resampled
together).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..models.checkpoint import check_cond_time
from .world_rows import (
    A2V_KINDS,
    DEMIXED_KINDS,
    EXTRA_ROWS,
    GIVEN_KINDS,
    PHYSICS_SOURCES,
    SAMPLED_KINDS,
    clip_physics,
    physics_known,
    row_media,
    row_physics,
    row_sampler,
    separator_file,
)
from .world_table import (
    COLUMNS,
    format_table,
    level_by_kind_table,
    level_error_db,
    paired_table,
    per_clip,
    summarize,
)

GROUND_TRUTH = "simulator ground truth"
__all__ = [
    "COLUMNS",
    "GROUND_TRUTH",
    "WorldEvalResult",
    "centroid_tracks",
    "evaluate_world",
    "format_table",
    "level_by_kind_table",
    "clip_sample_seed",
    "held_out_seeds",
    "measure_tracks",
    "paired_table",
    "per_clip",
    "summarize",
]


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
def clip_sample_seed(sample_seed: int, index: int) -> int:
    """The sampling noise seed of held-out clip ``index`` (0-based): ``sample_seed + index``.

    Every clip gets its own noise draw, so a table row averages over noise as well as over scenes
    (with one seed for all clips, every clip started from the same noise, and whatever that one draw
    does, e.g. a loud start, showed up in every clip). All rows of one table use the same seed for
    the same clip, so the per-clip differences between rows stay paired.
    """
    return int(sample_seed) + int(index)


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


# ------------------------------------------------------------------------------------------ the run
@dataclass
class WorldEvalResult:
    """``table``: the markdown table(s), after a line on the physics the sampled rows got; ``notes``:
    one line per row (clips scored, tracker, timing, physics); ``cells``: per row label the
    :func:`.world_table.summarize` cells ``{column: (value, count)}``; ``physics``: the source
    (:data:`.world_rows.PHYSICS_SOURCES`)."""

    table: str
    notes: list[str]
    cells: dict[str, dict[str, tuple[float, int]]] = field(default_factory=dict)
    physics: str = "estimated"

    @property
    def text(self) -> str:
        return self.table + "\n" + "\n".join(f"- {n}" for n in self.notes) + "\n"


@dataclass
class _Row:
    """One table row: ``label``, ``kind`` (:data:`.world_rows.KINDS`) and its model
    ``(label, path, model)``, None for the simulator."""

    label: str
    kind: str
    entry: tuple[str, Path, Any] | None

    @property
    def folder(self) -> str:
        return _folder_name(self.label)


def _folder_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label.strip()) or "row"


def _row_physics_source(row: _Row, physics: str) -> str | None:
    """The physics a row's sampling gets: ``physics`` (:data:`.world_rows.PHYSICS_SOURCES`), "none"
    for a model trained without (``no_physics``), None for a row that samples nothing."""
    if row.kind not in SAMPLED_KINDS or row.entry is None:
        return None
    return physics if row_physics(row.kind, row.entry[2], {}) is not None else "none"


def _stamp(
    row: _Row,
    steps: int,
    sample_seed: int,
    cond_time: float,
    options: dict[str, Any] | None = None,
    physics: str | None = None,
    held_out_seed: int = 1000,
) -> dict[str, Any]:
    """What a row's clip files depend on (``--reuse`` keeps them only when it is unchanged)."""
    # the resolved path: the same file named relatively or absolutely is the same model
    stamp: dict[str, Any] = {"model": os.fspath(row.entry[1].resolve()) if row.entry else None}
    stamp.update(steps=steps, seed=sample_seed, held_out_seed=held_out_seed)
    if row.kind in SAMPLED_KINDS:  # the rows that sample: one noise seed per clip
        stamp["seeds"] = "sample_seed + clip index"
        stamp["sampler"] = row_sampler(row.kind)  # guidance scales and the stochastic audio update
    if row.entry:
        st = row.entry[1].stat()
        stamp.update(size=st.st_size, mtime=st.st_mtime)
    if row.kind in EXTRA_ROWS:
        stamp["row"] = row.kind
    if row.kind in GIVEN_KINDS:
        stamp["cond_time"] = float(cond_time)
    if row.kind in DEMIXED_KINDS:  # the separator file makes the given sound
        sep = Path(separator_file()).resolve()
        st = sep.stat()
        stamp["separator"] = {"path": os.fspath(sep), "size": st.st_size, "mtime": st.st_mtime}
    if options and row.entry:
        stamp["options"] = dict(sorted(options.items()))
    if physics is not None:
        stamp["physics"] = physics
    return stamp


def _fill_row(
    folder: Path,
    world: dict[str, Any],
    row: _Row,
    stamp: dict[str, Any],
    reuse: bool,
    steps: int,
    sample_seed: int,
    cond_time: float,
    log: Callable[[str], None],
    options: dict[str, Any] | None = None,
    physics: dict[str, dict[str, Any] | None] | None = None,
) -> tuple[dict[str, int], list[float], dict[str, tuple[Any, str, np.ndarray | None, np.ndarray | None]]]:
    """Write the clip files of one row into ``folder`` (:func:`.world_rows.row_media`; ``physics``:
    per clip name the PHYSICS dict of the sampled rows, :func:`.world_rows.clip_physics`).

    Returns ``(tracker backends used, model seconds per clip, {scene: (clip, name, frames, audio)} of
    the first clip per scene of a model row)``; frames and audio are None for a kept clip (its mp4 is
    read only if a picture is drawn).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file, times_file = folder / "source.json", folder / "sampling_times.json"
    kept = reuse and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp
    for old in folder.glob("clip*"):
        # files of another model, settings or version of the file must not be scored, nor clips
        # beyond this run's (a kept folder of 100 clips scored with --clips 50)
        if not kept or old.name.split(".", 1)[0] not in world:
            old.unlink()
    if not kept:
        stamp_file.unlink(missing_ok=True)
    times = json.loads(times_file.read_text()) if kept and times_file.is_file() else []
    backends: dict[str, int] = {}
    # per scene type: the first clip, its name and, when made in this run, its frames and sound
    figs: dict[str, tuple[Any, str, np.ndarray | None, np.ndarray | None]] = {}
    model = row.entry[2] if row.entry else None
    for k, (name, clip) in enumerate(world.items()):
        if kept and (folder / f"{name}.measured.tracks.json").is_file():
            if row.kind == "model":  # a kept row still gets its pictures (read when drawn)
                figs.setdefault(clip.kind, (clip, name, None, None))
            continue
        phys = (physics or {}).get(name)
        seed = clip_sample_seed(sample_seed, k)
        frames, audio, sec = row_media(row.kind, model, clip, steps, seed, cond_time, options, phys)
        if sec is not None:
            times.append(sec)
        if row.kind == "model":
            figs.setdefault(clip.kind, (clip, name, frames, audio))
        measured, backend = measure_tracks(frames, clip.tracks)
        backends[backend] = backends.get(backend, 0) + 1
        write_clip(folder, name, frames, audio, clip, measured)
        if (k + 1) % 10 == 0:
            log(f"{folder.name}: {k + 1}/{len(world)} clips")
    from ..media.files import atomic_write_text

    atomic_write_text(stamp_file, json.dumps(stamp))
    atomic_write_text(times_file, json.dumps(times))
    return backends, times, figs


def _levels(folder: Path, names: list[str], world: dict[str, Any]) -> dict[str, float]:
    """Per clip: signed level error (dB) of the sound in ``<name>.mp4`` (as scored) against the
    simulator's sound (:func:`.world_table.level_error_db`)."""
    from ..media.audio import read_audio, resample_audio

    out = {}
    for name in names:
        clip = world[name]
        audio, rate = read_audio(folder / f"{name}.mp4")
        if rate != clip.sample_rate:
            audio = resample_audio(audio, rate, clip.sample_rate)
        out[name] = level_error_db(audio, clip.audio, clip.sample_rate, clip.frames.shape[0], clip.fps)
    return out


def _measured(folder: Path, names: list[str], world: dict[str, Any]) -> dict[str, Any]:
    """Per clip: the tracks measured on the row's video (``<name>.measured.tracks.json``)."""
    from ..kinematics import Tracks

    out = {}
    for name in names:
        cond = world[name].tracks
        data = json.loads((folder / f"{name}.measured.tracks.json").read_text(encoding="utf-8"))
        out[name] = Tracks.from_json(data, fps=cond.fps, width=cond.width, height=cond.height)
    return out


def _timing(row: _Row, times: list[float], steps: int, cond_time: float) -> str:
    if not times:
        return ""
    if row.kind == "codec":
        return f", codec round trip {np.median(times):.3f} s median per clip"
    how = {
        "jointcfg": "JointCFG",
        "v2a": f"CFG, cond_time {cond_time:g}",
        **{k: f"CFG, cond_time {cond_time:g}" for k in A2V_KINDS},
        "ode": "CFG on the video only, flow ODE",
    }
    return f", sampling {np.median(times):.2f} s median per clip ({steps} steps, {how.get(row.kind, 'CFG')})"


def _table_rows(loaded: list[tuple[str, Path, Any]], rows: Sequence[str]) -> list[_Row]:
    """Simulator, the first model, its opt-in ``rows`` in :data:`.world_rows.EXTRA_ROWS` order, the
    other models; ValueError for an unknown row or labels that share a folder name."""
    unknown = [r for r in rows if r not in EXTRA_ROWS]
    if unknown:
        raise ValueError(f"unknown row(s) {unknown}; choose from {list(EXTRA_ROWS)}")
    if rows and not loaded:
        raise ValueError(f"the rows {list(rows)} need a model")
    out = [_Row(GROUND_TRUTH, "simulator", None)]
    for i, entry in enumerate(loaded):
        out.append(_Row(entry[0], "model", entry))
        if i == 0:
            out += [_Row(EXTRA_ROWS[k], k, entry) for k in EXTRA_ROWS if k in rows]
    folders = [r.folder for r in out]
    if len(set(folders)) != len(folders):
        raise ValueError(f"row labels must differ (as folder names): {[r.label for r in out]}")
    return out


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
    rows: Sequence[str] = (),
    cond_time: float = 0.0,
    sample_options: dict[str, Any] | None = None,
    physics: str = "estimated",
) -> WorldEvalResult:
    """Score the simulator and each ``(label, checkpoint path)`` on ``clips`` held-out world clips.

    The first model is the reference of the paired table (usually the default model, the others
    its ablations). ``rows``: opt-in rows of the first model (keys of
    :data:`.world_rows.EXTRA_ROWS`: "codec", "jointcfg", "v2a", "a2v", "a2v_bed", "a2v_demix",
    "a2v_streams", "a2v_music", "nophysics", "ode"), placed right after it; with the raw bedded
    audio-to-video row and a demixed one the table adds their paired difference (demixed minus raw mixture);
    ``cond_time``: the flow time at which v2a / the audio-to-video rows hold the given modality (within
    the first model's trained range, else ValueError); ``sample_options``: extra ``model.sample``
    settings of every model row (studies only, e.g. ``{"audio_cfg": 2.0}``; ``{"tracks": "none"}``
    samples without the clip's tracks); ``physics``: the PHYSICS
    the sampled rows get (:data:`.world_rows.PHYSICS_SOURCES`: "estimated" from the rendered frames, the
    "simulator"'s truth, or "none"; a ``no_physics`` model gets none). Clip files go to
    ``work/<label>/``; with ``reuse`` a row keeps the files its folder already has from the same model
    file (size, mtime) and settings, otherwise they are replaced. ``figures``: folder for
    ``generated_<scene>.png`` (first model vs simulator) and, with more than two rows,
    ``ablations_drop.png`` / ``ablations_slide.png``.
    ``log`` gets progress lines.
    """
    from ..data import synth_clip
    from ..media.video import read_video
    from ..metrics.cli import evaluate_folder
    from ..models import load_checkpoint
    from .figures import ablation_figure, figure

    if physics not in PHYSICS_SOURCES:
        raise ValueError(f"physics must be one of {list(PHYSICS_SOURCES)}, got {physics!r}")
    _table_rows([(label, Path(path), None) for label, path in models], rows)  # checked before loading
    loaded = [(label, Path(path), load_checkpoint(path)) for label, path in models]
    table_rows = _table_rows(loaded, rows)
    if set(GIVEN_KINDS) & set(rows):
        check_cond_time(loaded[0][2], cond_time)
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
    sources = {row.label: _row_physics_source(row, physics) for row in table_rows}
    physics_of: dict[str, dict[str, Any] | None] = {}
    if any(src not in (None, "none") for src in sources.values()):  # ~0.1 s per clip
        physics_of = {name: clip_physics(clip, physics) for name, clip in world.items()}
    work = Path(work)
    cells, notes, values = [], [], []
    levels: dict[str, dict[str, float]] = {}  # per row: clip name -> signed level (dB)
    gt_scored: tuple[list[str], list[Any]] = ([], [])
    for row in table_rows:
        folder = work / row.folder
        stamp = _stamp(row, steps, sample_seed, cond_time, sample_options, sources[row.label], seed)
        backends, times, figs = _fill_row(
            folder, world, row, stamp, reuse, steps, sample_seed, cond_time, log, sample_options, physics_of
        )
        names, reports, skipped = evaluate_folder(folder)
        visual = _measured(folder, names, world) if row.kind in A2V_KINDS else None
        levels[row.label] = _levels(folder, names, world)
        values.append((row.label, per_clip(names, reports, world, levels[row.label], visual)))
        cells.append((row.label, summarize(values[-1][1])))
        note = f"{row.label}: {len(names)} clips scored, tracker {backends or '(clip files reused)'}"
        note += _timing(row, times, steps, cond_time)
        if sources[row.label] is not None:
            note += f", physics {sources[row.label]}"
        if skipped:
            note += f", skipped {len(skipped)}: {skipped[:3]}"
        if row.kind == "simulator":
            gt_scored = (names, reports)
        if row.kind in A2V_KINDS:  # what the same reading gives on the simulator's own frames
            gt_measured = _measured(work / table_rows[0].folder, gt_scored[0], world)
            floor = summarize(per_clip(*gt_scored, world, None, gt_measured))["ete"][0]
            note += (
                "; ETE and MAIC from the tracks measured on the generated video (the simulator's own "
                f"frames read the same way: ETE τ0.2 {floor:.3f} s)"
            )
        notes.append(note)
        log(note)
        if figures and row.kind == "model" and row.entry is loaded[0]:
            for kind, (clip, name, gen_frames, gen_audio) in figs.items():
                title = f'{kind} (held-out seed {clip.seed}): "{clip.caption}"'
                if gen_frames is None:  # a kept clip: what its mp4 holds
                    video = read_video(folder / f"{name}.mp4")
                    gen_frames, gen_audio = video.frames, video.audio.mean(axis=0)
                figure(Path(figures) / f"generated_{kind}.png", clip, gen_frames, gen_audio, title)
    if figures and len(cells) > 2:
        row_folders = [(r.label, work / r.folder) for r in table_rows]
        for kind in ("drop", "slide"):
            name = next((n for n, c in world.items() if c.kind == kind), None)
            if name is not None:
                ablation_figure(Path(figures) / f"ablations_{kind}.png", world[name], name, row_folders)
    table = format_table(cells)
    line = _physics_line(physics, physics_of, world, sources, table_rows)
    if line:
        table = line + "\n\n" + table
    if len(values) > 2:
        ref_label, ref = values[1]
        table += f"\nPaired per clip, row minus {ref_label} (mean, or median for the level; 95 % bootstrap "
        table += "interval, clips):\n\n"
        table += paired_table(ref, values[2:], ref_label)
    by_kind = {row.kind: vals for row, (_, vals) in zip(table_rows, values, strict=True)}
    demixed = [(EXTRA_ROWS[k], by_kind[k]) for k in DEMIXED_KINDS if k in by_kind]
    if "a2v_bed" in by_kind and demixed:  # what demixing the given sound buys
        bed_label = EXTRA_ROWS["a2v_bed"]
        table += f"\nPaired per clip, row minus {bed_label} (the same clips and noise):\n\n"
        table += paired_table(by_kind["a2v_bed"], demixed, bed_label)
    if len(values) > 1:  # the level column's median over all clips hides a silent scene type
        table += (
            "\nSigned level by scene type (dB RMS over the clip, generated − simulator; median, clips):\n\n"
        )
        table += level_by_kind_table(list(levels.items()), {name: clip.kind for name, clip in world.items()})
    return WorldEvalResult(table, notes, dict(cells), physics)


def _physics_line(
    physics: str,
    physics_of: dict[str, dict[str, Any] | None],
    world: dict[str, Any],
    sources: dict[str, str | None],
    table_rows: list[_Row],
) -> str:
    """The table's first line: which physics the sampled rows got and how much of it is known
    (objects with a known mass / a known speed at some frame, object-frames with a known speed)."""
    if all(src is None for src in sources.values()):
        return ""  # no model row
    if physics == "none":
        return "Physics conditioning of the sampled rows: none (--physics none)."
    counts = np.array(
        [physics_known(physics_of.get(name), clip.tracks.num_tracks) for name, clip in world.items()]
    )
    n, mass, speed = (int(v) for v in counts[:, :3].sum(0))
    frames = float(np.sum(counts[:, 0] * counts[:, 3]) / max(n, 1))
    what = {
        "estimated": "estimated from each held-out clip's rendered frames (tracks of the extraction "
        "pipeline matched to the objects, materials from the caption, scale from gravity; not the "
        "simulator's)",
        "simulator": "the simulator's truth (masses and velocities)",
    }[physics]
    text = (
        f"Physics conditioning of the sampled rows: {what}; known mass for {mass} of {n} objects, known "
        f"speed for {speed} of {n} objects ({frames:.0%} of object-frames); unknown values are masked out"
    )
    kinds = {row.label: row.kind for row in table_rows}
    off = [label for label, src in sources.items() if src == "none" and kinds[label] == "nophysics"]
    trained = [label for label, src in sources.items() if src == "none" and kinds[label] != "nophysics"]
    if off:
        text += f"; none for {', '.join(off)} (the same model without it)"
    if trained:
        text += f"; none for {', '.join(trained)} (trained without physics)"
    return text + "."
