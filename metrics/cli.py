"""``kinesonic eval DIR``: motion-sound metrics for a folder of generated clips.

Folder layout (one clip per ``<name>``):

- ``<name>.mp4`` — the generated sounding video (H.264/AAC or anything PyAV decodes); required.
- ``<name>.tracks.json`` — the conditioning tracks (Kinesonic tracks JSON, a TRACKS dict, or
  KJNodes coordinates); required (clips without it are listed as skipped).
- ``<name>.ref.wav`` — reference audio (onset accuracy / AP, APCC ref); optional.
- ``<name>.physics.json`` — PHYSICS dict: ``{"kind": "drop", "events": [{"time_s": ..,
  "delta_ke_J": ..}, ...]}``; optional (APCC).
- ``<name>.measured.tracks.json`` — tracks measured on the generated video; optional (TE).

Prints a markdown table (one row per clip, a mean row, and APCC-Δ over the set grouped by
``kind``); ``--format csv`` prints CSV instead, ``--csv FILE`` also writes the CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

SUFFIXES = (".ref", ".physics", ".measured", ".tracks")


def add_folder_arguments(p: argparse.ArgumentParser) -> None:
    """The folder-mode arguments of ``kinesonic eval`` (registered by :mod:`kinesonic.evaluation.cli`,
    which also offers the held-out world table)."""
    p.add_argument("folder", nargs="?", help="folder with <name>.mp4 + <name>.tracks.json (+ optional files)")
    p.add_argument("--tau", type=float, default=0.2, help="ETE tolerance window in seconds (default 0.2)")
    p.add_argument(
        "--match-window", type=float, default=0.1, help="onset matching window in seconds (default 0.1)"
    )
    p.add_argument(
        "--demix", choices=["off", "network", "dsp"], default="off",
        help="separate the audio (and reference) first and score onsets on the effects stem "
        "(docs/demixing.md; default off)",
    )  # fmt: skip
    p.add_argument("--format", choices=["markdown", "csv"], default="markdown", help="what to print")
    p.add_argument("--csv", metavar="FILE", help="also write the table as CSV to FILE")


def _clip_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.mp4") if not p.stem.endswith(SUFFIXES))


def _load_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def evaluate_folder(
    folder: str | os.PathLike, tau: float = 0.2, match_window_s: float = 0.1, demix: str = "off"
) -> tuple[list[str], list[Any], list[str]]:
    """Evaluate every clip of ``folder``: ``(names, ClipReports, skipped messages)``.

    ``demix`` "network" / "dsp": the clip's audio and reference audio are separated first
    (:func:`kinesonic.separation.separate.effects_stem`) and every audio metric reads the effects stem.
    """
    from ..kinematics import Tracks
    from ..media.audio import read_audio
    from ..media.video import read_video
    from .evaluate import evaluate_clip

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"kinesonic eval: {str(folder)!r} is not a folder")
    names, reports, skipped = [], [], []
    for name in _clip_names(folder):
        tracks_path = folder / f"{name}.tracks.json"
        if not tracks_path.is_file():
            skipped.append(f"{name}: no {tracks_path.name}")
            continue
        try:  # one unreadable or malformed clip is reported and skipped, the folder goes on
            video = read_video(folder / f"{name}.mp4")
            height, width = video.frames.shape[1:3]
            tracks = Tracks.from_json(_load_json(tracks_path), fps=video.fps, width=width, height=height)
            ref = ref_rate = None
            if (folder / f"{name}.ref.wav").is_file():
                ref, ref_rate = read_audio(folder / f"{name}.ref.wav")
            physics = None
            if (folder / f"{name}.physics.json").is_file():
                physics = _load_json(folder / f"{name}.physics.json")
            measured = None
            if (folder / f"{name}.measured.tracks.json").is_file():
                measured = Tracks.from_json(
                    _load_json(folder / f"{name}.measured.tracks.json"),
                    fps=tracks.fps,
                    width=tracks.width,
                    height=tracks.height,
                )
            audio = video.audio
            if demix != "off":
                from ..separation.separate import effects_stem

                audio = effects_stem(audio, video.sample_rate, demix)
                if ref is not None:
                    ref = effects_stem(ref, ref_rate, demix)
            report = evaluate_clip(
                tracks,
                audio,
                video.sample_rate,
                frames=video.frames,
                video_fps=video.fps,
                reference_audio=ref,
                reference_sample_rate=ref_rate,
                physics=physics,
                measured_tracks=measured,
                tau=tau,
                match_window_s=match_window_s,
            )
        except (ValueError, OSError) as error:
            skipped.append(f"{name}: {error}")
            continue
        names.append(name)
        reports.append(report)
    return names, reports, skipped


def _write_atomic(path: Path, text: str) -> None:
    from ..media.files import atomic_write_text

    atomic_write_text(path, text)


def run_eval(args: argparse.Namespace) -> int:
    """The ``eval`` command: print the table; 1 when no clip could be evaluated."""
    from .evaluate import dataset_apcc_delta, format_csv, format_markdown

    try:
        names, reports, skipped = evaluate_folder(
            args.folder, args.tau, args.match_window, getattr(args, "demix", "off")
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"kinesonic eval: {error}", file=sys.stderr)
        return 1
    for msg in skipped:
        print(f"kinesonic eval: skipped {msg}", file=sys.stderr)
    if not reports:
        print(
            f"kinesonic eval: no clip to evaluate in {args.folder!r} (need <name>.mp4 + <name>.tracks.json)"
        )
        return 1
    rows = [r.values for r in reports]
    csv_text = format_csv(names, rows)
    if args.format == "csv":
        print(csv_text, end="")
    else:
        print(format_markdown(names, rows), end="")
        delta, per_class = dataset_apcc_delta(reports)
        if per_class:
            parts = ", ".join(
                f"{c}: r_ref {r:.3f} / r_gen {g:.3f} (n={n})" for c, (r, g, n) in per_class.items()
            )
            print(f"\nAPCC-Δ over the set: {delta:.3f}  ({parts})")
    if args.csv:
        _write_atomic(Path(args.csv), csv_text)
    return 0
