"""Benchmark trajectory extraction on physics-world clips with ground truth; prints tables.

    python benchmarks/bench_extraction.py --clips 50
    python benchmarks/bench_extraction.py --clips 50 --cotracker-model models/cotracker/scaled_offline.pth \
        --sam2-model models/sam2/sam2.1_hiera_tiny.pt
    python benchmarks/bench_extraction.py --clips 4 --random-weights --extra-path .work/testdeps

For every backend available it prints the detection rate of moving objects (visible in frame 0,
moving >= 3 px), the median / mean trajectory error TE (px, over frames where both tracks are
visible) of the found objects, and extraction speed in frames per second (clip generation not
included). Scoring: :mod:`kinesonic.perception.evaluate`. The classic segmenter seeds every
backend, so the rows differ only in the tracker. ``--random-weights`` builds untrained SAM2 /
CoTracker models: their speed is real, their TE is meaningless.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--clips", type=int, default=50, help="number of physics-world clips (seeds start..start+n)"
    )
    p.add_argument("--start", type=int, default=0, help="first clip seed")
    p.add_argument("--size", type=int, default=256, help="clip size in px")
    p.add_argument(
        "--heavy-clips", type=int, default=3, help="clips for the SAM2 / CoTracker rows (CPU is slow)"
    )
    p.add_argument("--cotracker-model", default="", help="CoTracker3 offline checkpoint")
    p.add_argument("--cotracker-size", type=int, default=0, help="CoTracker working size (0 = 384x512)")
    p.add_argument("--sam2-model", default="", help="SAM2 checkpoint")
    p.add_argument("--sam2-image-size", type=int, default=0, help="SAM2 input size (0 = config's 1024)")
    p.add_argument(
        "--random-weights", action="store_true", help="time untrained SAM2/CoTracker (TE meaningless)"
    )
    p.add_argument(
        "--extra-path", default="", help="folder put on sys.path (e.g. .work/testdeps for cotracker)"
    )
    p.add_argument("--device", default="cpu")
    return p.parse_args()


def _backends(args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    """(name, weights note, extract_tracks options) for every backend that can run here."""
    rows: list[tuple[str, str, dict]] = [("classic + lk", "none", {})]
    try:
        if args.cotracker_model or args.random_weights:
            from kinesonic.perception.cotracker_adapter import load_cotracker

            shape = (
                (args.cotracker_size,) * 2
                if args.cotracker_size
                else ((128, 128) if args.random_weights else None)
            )
            model = load_cotracker(args.cotracker_model or None, args.device, interp_shape=shape)
            note = Path(args.cotracker_model).name if args.cotracker_model else "RANDOM"
            rows.append(("classic + cotracker", note, {"tracker": "cotracker", "cotracker": model}))
        else:
            print("cotracker: skipped (no --cotracker-model)", file=sys.stderr)
    except ImportError as error:
        print(f"cotracker: skipped ({error})", file=sys.stderr)
    try:
        if args.sam2_model or args.random_weights:
            import torchvision_compat  # noqa: F401  (test shim; harmless when torchvision works)
        if args.sam2_model:
            from kinesonic.perception.sam2_adapter import load_sam2

            model = load_sam2(args.sam2_model, device=args.device, image_size=args.sam2_image_size or None)
            rows.append(("classic + sam2", Path(args.sam2_model).name, {"tracker": "sam2", "sam2": model}))
        elif args.random_weights:
            import tempfile

            from perception_models import save_tiny_sam2

            from kinesonic.perception.sam2_adapter import load_sam2

            path, _ = save_tiny_sam2(Path(tempfile.mkdtemp()))
            model = load_sam2(path, device=args.device, image_size=256)
            rows.append(("classic + sam2", "RANDOM", {"tracker": "sam2", "sam2": model}))
        else:
            print("sam2: skipped (no --sam2-model)", file=sys.stderr)
    except ImportError as error:
        print(f"sam2: skipped ({error})", file=sys.stderr)
    return rows


def main() -> int:
    args = _parse()
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "tests" / "support"))
    if args.extra_path:
        sys.path.insert(0, str(Path(args.extra_path).resolve()))
    from kinesonic.data import synth_clip
    from kinesonic.perception.common import PerceptionError
    from kinesonic.perception.evaluate import score_tracks
    from kinesonic.perception.pipeline import extract_tracks

    clips = [synth_clip(args.start + i, size=args.size) for i in range(args.clips)]
    rows = []
    per_scene: dict[str, list] = defaultdict(lambda: [0, 0, []])
    for name, weights, options in _backends(args):
        n_clips = args.clips if weights == "none" else min(args.heavy_clips, args.clips)
        moving = found = frames = 0
        errors: list[float] = []
        seconds = 0.0
        failures = 0
        for clip in clips[:n_clips]:
            start = time.perf_counter()
            try:
                extraction = extract_tracks(clip.frames, clip.fps, **options)
                points, visible = (
                    extraction.points[:, extraction.kept],
                    extraction.visible[:, extraction.kept],
                )
            except PerceptionError:
                failures += 1
                points = np.zeros((clip.frames.shape[0], 0, 2))
                visible = np.zeros((clip.frames.shape[0], 0), dtype=bool)
            seconds += time.perf_counter() - start
            frames += clip.frames.shape[0]
            score = score_tracks(points, visible, clip.tracks.points, clip.tracks.visible)
            moving, found, errors = moving + score.moving, found + score.found, errors + score.errors
            if weights == "none":
                entry = per_scene[clip.kind]
                entry[0] += score.moving
                entry[1] += score.found
                entry[2].extend(score.errors)
        rows.append((name, weights, n_clips, moving, found, errors, frames / max(seconds, 1e-9), failures))

    print(f"\nTrajectory extraction, physics-world clips {args.size}x{args.size}, first seed {args.start}")
    header = f"{'backend':<22}{'weights':<22}{'clips':>6}{'moving':>8}{'found':>7}{'detect %':>10}"
    header += f"{'median TE px':>14}{'mean TE px':>12}{'fps':>9}{'no tracks':>11}"
    print(header)
    print("-" * len(header))
    for name, weights, n, moving, found, errors, fps, failures in rows:
        rate = 100.0 * found / max(moving, 1)
        med = float(np.median(errors)) if errors else float("nan")
        mean = float(np.mean(errors)) if errors else float("nan")
        print(
            f"{name:<22}{weights:<22}{n:>6}{moving:>8}{found:>7}{rate:>10.1f}{med:>14.2f}{mean:>12.2f}"
            f"{fps:>9.1f}{failures:>11}"
        )
    print("\nclassic + lk by scene:")
    print(f"{'scene':<10}{'moving':>8}{'found':>7}{'detect %':>10}{'median TE px':>14}")
    for kind in sorted(per_scene):
        moving, found, errors = per_scene[kind]
        med = float(np.median(errors)) if errors else float("nan")
        print(f"{kind:<10}{moving:>8}{found:>7}{100.0 * found / max(moving, 1):>10.1f}{med:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
