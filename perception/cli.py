"""``kinesonic annotate VIDEO_DIR --out DIR``: batch trajectory annotation (see :mod:`.annotate`).

Shard over processes with torchrun, e.g. ``torchrun --nproc-per-node 4 -m kinesonic annotate
videos/ --out ann/`` (each rank reads RANK / WORLD_SIZE). Model files are paths, or names looked
up in ``$KINESONIC_MODELS/<kind>`` (default ``./models/<kind>``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .filter import DEFAULT_BORDER, DEFAULT_MIN_MOTION, DEFAULT_MIN_VISIBLE
from .segment import DEFAULT_MIN_AREA


def add_parser(subparsers: Any) -> None:
    """Register the ``annotate`` subcommand."""
    p = subparsers.add_parser(
        "annotate",
        help="extract tracks, kinematic state and events from a folder of videos (one JSON per clip)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video_dir", help="folder searched recursively for videos")
    p.add_argument("--out", required=True, help="output folder (one .json per clip, mirrors VIDEO_DIR)")
    p.add_argument("--segmenter", choices=("classic", "sam2"), default="classic")
    p.add_argument("--tracker", choices=("lk", "cotracker", "sam2"), default="lk")
    p.add_argument("--sam2-model", default="", help="SAM2 checkpoint (path or name in models/sam2)")
    p.add_argument(
        "--sam2-config", default="auto", help="SAM2 config key (default: inferred from the file name)"
    )
    p.add_argument(
        "--cotracker-model",
        default="",
        help="CoTracker3 offline checkpoint (path or name in models/cotracker)",
    )
    p.add_argument("--device", default="cpu", help="torch device for SAM2 / CoTracker (default cpu)")
    p.add_argument("--max-frames", type=int, default=0, help="read at most this many frames (0 = all)")
    p.add_argument("--size", default="", help="resize frames to WxH (0 keeps aspect), e.g. 256x0")
    p.add_argument("--fps", type=float, default=0.0, help="resample to this frame rate (0 = the file's)")
    p.add_argument("--min-area", type=int, default=DEFAULT_MIN_AREA, help="smallest object mask (px)")
    p.add_argument("--min-visible", type=float, default=DEFAULT_MIN_VISIBLE, help="min visible fraction")
    p.add_argument("--min-motion", type=float, default=DEFAULT_MIN_MOTION, help="min motion (px)")
    p.add_argument("--border", type=float, default=DEFAULT_BORDER, help="border band (px)")
    p.add_argument("--overwrite", action="store_true", help="redo clips whose JSON is already complete")
    p.add_argument("--rank", type=int, default=None, help="shard index (default: env RANK or 0)")
    p.add_argument(
        "--world-size", type=int, default=None, help="number of shards (default: env WORLD_SIZE or 1)"
    )
    p.set_defaults(func=run)


def _model_path(kind: str, name: str) -> Path:
    path = Path(name).expanduser()
    if path.is_file():
        return path
    folder = Path(os.environ.get("KINESONIC_MODELS", "models")).expanduser() / kind
    if (folder / name).is_file():
        return folder / name
    raise SystemExit(f"kinesonic annotate: {kind} model {name!r} not found (put it in {folder.resolve()})")


def _size(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(
            f"kinesonic annotate: --size must look like 256x256 or 256x0, got {text!r}"
        ) from None
    return w, h


def run(args: argparse.Namespace) -> int:
    """Run the annotation; exit code 0 when every clip of this rank is annotated or skipped, 1 otherwise."""
    from .annotate import annotate_videos
    from .common import MissingDependencyError, PerceptionError

    options: dict[str, Any] = {
        "segmenter": args.segmenter,
        "tracker": args.tracker,
        "min_area": args.min_area,
        "min_visible": args.min_visible,
        "min_motion": args.min_motion,
        "border": args.border,
    }
    try:
        if "sam2" in (args.segmenter, args.tracker):
            if not args.sam2_model:
                raise SystemExit("kinesonic annotate: --sam2-model is needed for the sam2 backends")
            from .sam2_adapter import load_sam2

            options["sam2"] = load_sam2(_model_path("sam2", args.sam2_model), args.sam2_config, args.device)
        if args.tracker == "cotracker":
            if not args.cotracker_model:
                raise SystemExit("kinesonic annotate: --cotracker-model is needed for --tracker cotracker")
            from .cotracker_adapter import load_cotracker

            options["cotracker"] = load_cotracker(_model_path("cotracker", args.cotracker_model), args.device)
        report = annotate_videos(
            args.video_dir,
            args.out,
            rank=args.rank,
            world_size=args.world_size,
            overwrite=args.overwrite,
            max_frames=args.max_frames,
            size=_size(args.size),
            fps=args.fps or None,
            **options,
        )
    except (MissingDependencyError, PerceptionError) as error:
        print(f"kinesonic annotate: {error}", file=sys.stderr)
        return 2
    print(
        f"annotate rank {report.rank}/{report.world_size}: {len(report.annotated)} annotated, "
        f"{len(report.skipped)} skipped (complete), {len(report.failed)} failed"
    )
    for name, message in report.failed.items():
        print(f"  FAILED {name}: {message}")
    return 1 if report.failed else 0
