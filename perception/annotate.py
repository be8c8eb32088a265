"""Batch annotation of a folder of videos: one JSON per clip (tracks, kinematic state, events, scene facts).

- Resumable: a clip whose JSON exists, parses and says ``"complete": true`` is skipped.
- One JSON per video: ``x.mp4`` gives ``x.json``; when two videos share a name but not an
  extension (``x.mp4`` and ``x.mov``), each keeps its extension (``x.mp4.json``, ``x.mov.json``).
- Atomic: each JSON is written to a temporary name in the output folder and renamed.
- Robust: a clip that cannot be read or annotated (unreadable file, one frame, no motion, no
  objects) is reported and the run goes on; the per-rank report lists it.
- Sharded: under ``torchrun`` (env ``RANK`` / ``WORLD_SIZE``) rank r takes the sorted clips
  ``r, r + W, r + 2W, ...``; every rank writes its own ``annotate_report.rank<r>.json``.

Output JSON (``"format": "kinesonic.annotation"``, version 1)::

    {"format", "version", "complete": true, "video": <path relative to VIDEO_DIR>,
     "fps", "width", "height", "num_frames", "duration_s",
     "backends": {"segmenter", "tracker"},
     "tracks": <Tracks.to_dict(): the Kinesonic tracks format>,
     "kinematic_state": [T][N][8] (x, y, vx, vy, ax, ay, |v|, |a|) in kinematics units, or null (< 4 frames),
     "events": [{"time_s", "frame", "track", "strength"}],
     "scene": {"objects_found", "tracks_kept", "dropped": {label: reason}, "per_track": [{"label",
               "visible_fraction", "path_length_px", "displacement_px", "mean_speed_px_s"}]}}
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import PerceptionError

FORMAT_NAME = "kinesonic.annotation"
FORMAT_VERSION = 1


@dataclass
class AnnotationReport:
    """What one rank did: annotated, skipped (already complete) and failed clips (with messages)."""

    rank: int = 0
    world_size: int = 1
    annotated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "world_size": self.world_size,
            "annotated": self.annotated,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def rank_and_world(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """``(rank, world_size)``: the arguments, else env ``RANK`` / ``WORLD_SIZE`` (torchrun), else (0, 1)."""
    r = int(os.environ.get("RANK", "0")) if rank is None else int(rank)
    w = int(os.environ.get("WORLD_SIZE", "1")) if world_size is None else int(world_size)
    if w < 1 or not 0 <= r < w:
        raise PerceptionError(f"bad rank/world size: rank {r}, world size {w}")
    return r, w


def find_videos(video_dir: str | Path, extensions: tuple[str, ...] | None = None) -> list[Path]:
    """Video files under ``video_dir`` (recursive), sorted by relative path."""
    if extensions is None:
        from ..media.video import VIDEO_EXTENSIONS

        extensions = VIDEO_EXTENSIONS
    root = Path(video_dir)
    if not root.is_dir():
        raise PerceptionError(f"video folder {str(root)!r} does not exist")
    exts = {e.lower() for e in extensions}
    return sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts), key=lambda p: p.as_posix()
    )


def output_path(video: Path, video_dir: Path, out_dir: Path, keep_extension: bool = False) -> Path:
    """``out_dir/<relative video path with .json>`` (``<name>.<ext>.json`` with ``keep_extension``)."""
    relative = video.relative_to(video_dir)
    if keep_extension:
        return out_dir / relative.with_name(relative.name + ".json")
    return out_dir / relative.with_suffix(".json")


def output_paths(videos: list[Path], video_dir: Path, out_dir: Path) -> dict[Path, Path]:
    """The JSON of every video; videos that would share one (``x.mp4``, ``x.mov``) keep their extension.

    Decided on the whole list (before sharding by rank), so every rank names files alike.
    """
    plain = {video: output_path(video, video_dir, out_dir) for video in videos}
    counts: dict[Path, int] = {}
    for target in plain.values():
        counts[target] = counts.get(target, 0) + 1
    return {
        video: output_path(video, video_dir, out_dir, keep_extension=True) if counts[target] > 1 else target
        for video, target in plain.items()
    }


def is_complete(path: Path) -> bool:
    """True when ``path`` holds a parsable annotation JSON with ``"complete": true``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT_NAME and data.get("complete") is True


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file in the same folder, then rename it onto ``path``."""
    from ..media.files import atomic_write_text

    atomic_write_text(path, json.dumps(data, separators=(",", ":")))


def _round(array: np.ndarray, digits: int = 4) -> Any:
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def annotation_record(extraction: Any, video_name: str) -> dict[str, Any]:
    """The JSON record for one clip from an :class:`.pipeline.Extraction`."""
    from ..kinematics import kinematic_state
    from ..kinematics.events import find_events

    tracks = extraction.tracks(filtered=True)
    T = tracks.num_frames
    state = events = None
    if T >= 4:
        state = _round(kinematic_state(tracks), 6)
        events = [
            {
                "time_s": round(e.time_s, 4),
                "frame": round(float(e.frame), 3),
                "track": tracks.names[e.track],
                "strength": round(float(e.strength), 6),
            }
            for e in find_events(tracks)
        ]
    per_track = []
    for n, label in enumerate(tracks.names):
        vis = tracks.visible[:, n]
        p = tracks.points[vis, n]
        steps = np.linalg.norm(np.diff(p, axis=0), axis=1) if len(p) > 1 else np.zeros(0)
        visible_duration = max(len(p) - 1, 1) / tracks.fps
        per_track.append(
            {
                "label": label,
                "visible_fraction": round(float(vis.mean()), 4),
                "path_length_px": round(float(steps.sum()), 3),
                "displacement_px": round(float(np.linalg.norm(p[-1] - p[0])), 3),
                "mean_speed_px_s": round(float(steps.sum() / visible_duration), 3),
            }
        )
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "complete": True,
        "video": video_name,
        "fps": tracks.fps,
        "width": tracks.width,
        "height": tracks.height,
        "num_frames": T,
        "duration_s": round(T / tracks.fps, 6),
        "backends": {"segmenter": extraction.info["segmenter"], "tracker": extraction.info["tracker"]},
        "tracks": tracks.to_dict(),
        "kinematic_state": state,
        "events": events if events is not None else [],
        "scene": {
            "objects_found": extraction.info["objects_found"],
            "tracks_kept": extraction.info["tracks_kept"],
            "dropped": extraction.info["dropped"],
            "per_track": per_track,
        },
    }


def annotate_videos(
    video_dir: str | Path,
    out_dir: str | Path,
    rank: int | None = None,
    world_size: int | None = None,
    overwrite: bool = False,
    max_frames: int = 0,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    log: Callable[[str], None] | None = None,
    **extract_options: Any,
) -> AnnotationReport:
    """Annotate this rank's share of the videos under ``video_dir`` into ``out_dir``.

    Args:
        video_dir: folder searched recursively for videos (media.VIDEO_EXTENSIONS).
        out_dir: output folder (mirrors the input folder structure, ``.json`` per clip).
        rank, world_size: shard (default: env RANK / WORLD_SIZE, else 0 / 1).
        overwrite: re-annotate clips whose JSON is already complete.
        max_frames, size, fps: decoding options of ``media.read_video`` (0 / None = as in the file).
        log: where progress lines go (default: stderr).
        extract_options: passed to :func:`.pipeline.extract_tracks` (segmenter, tracker, models,
            thresholds).

    Returns:
        the :class:`AnnotationReport`, also written to ``out_dir/annotate_report.rank<r>.json``.
    """
    from ..media.files import MediaError
    from ..media.video import read_video
    from .pipeline import extract_tracks

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    r, w = rank_and_world(rank, world_size)
    root = Path(video_dir)
    out = Path(out_dir)
    every = find_videos(root)
    targets = output_paths(every, root, out)
    videos = every[r::w]
    report = AnnotationReport(rank=r, world_size=w)
    for i, video in enumerate(videos):
        name = video.relative_to(root).as_posix()
        target = targets[video]
        if not overwrite and is_complete(target):
            report.skipped.append(name)
            continue
        start = time.perf_counter()
        try:
            clip = read_video(video, max_frames=max_frames, size=size, fps=fps)
            if clip.frames.shape[0] < 2:
                raise PerceptionError(f"only {clip.frames.shape[0]} frame; tracks need at least 2")
            extraction = extract_tracks(clip.frames, clip.fps, **extract_options)
            record = annotation_record(extraction, name)
            write_json_atomic(target, record)
        except (PerceptionError, MediaError, FileNotFoundError, ValueError, OSError) as error:
            report.failed[name] = f"{type(error).__name__}: {error}"
            log(f"[annotate {r}/{w}] {i + 1}/{len(videos)} {name}: FAILED — {error}")
            continue
        report.annotated.append(name)
        log(
            f"[annotate {r}/{w}] {i + 1}/{len(videos)} {name}: {record['scene']['tracks_kept']} tracks, "
            f"{len(record['events'])} events ({time.perf_counter() - start:.1f} s)"
        )
    write_json_atomic(out / f"annotate_report.rank{r}.json", report.to_dict())
    return report
