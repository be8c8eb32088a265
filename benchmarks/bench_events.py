"""Visual event detection on physics-world clips: timing error, recall/precision and speed per scene.

Usage: ``python benchmarks/bench_events.py [--seeds 12] [--size 64] [--scenes drop,throw,collide,push]``

For each scene and seed ``0 .. seeds-1`` a clip ``synth_clip(seed, size, scene)`` (33 frames at
16 fps) is made and ``kinematics.detect_events(clip.tracks)`` is compared with

- the simulator's contact times (``clip.events[*].time_s``, "GT") and
- the onsets of the clip's own audio (``metrics.detect_onsets``, what ETE uses).

Columns: ETE (s, tau 0.2) mean / median over clips vs GT and vs onsets; the reference ETE of the GT
contact times vs the onsets (the floor the audio side allows); recall / precision of the events
within one frame of a GT contact (one-to-one, nearest pairs first, totals over clips); contacts
under 2 frames after the previous one ("close", not separable at 16 fps); detection time per
clip (median wall time of ``--repeats`` calls, ms). ETE of two empty lists is tau by definition,
so scenes with contact-free clips (push) have a floor above 0 whatever the detector does.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from kinesonic.data import synth_clip
from kinesonic.kinematics import detect_events
from kinesonic.metrics import detect_onsets, event_timing_error


def match_within(found: list[float], truth: list[float], tol: float) -> int:
    """Number of one-to-one pairs closer than ``tol``, taking the nearest pairs first."""
    pairs = sorted(
        (abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= tol
    )
    used_f, used_t, n = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--scenes", default="drop,throw,collide,push")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"synth_clip(seed, size={args.size}, scene) for seeds 0..{args.seeds - 1}; ETE tau 0.2 s\n")
    print(
        "| scene | GT contacts (close) | events | ETE vs GT mean / median (s) "
        "| ETE vs onsets mean / median (s) | ETE GT vs onsets (s) | recall | precision | ms / clip |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scene in args.scenes.split(","):
        ete_gt, ete_on, ete_ref, times = [], [], [], []
        n_truth = n_found = n_match = n_close = 0
        for seed in range(args.seeds):
            clip = synth_clip(seed, size=args.size, scene=scene)
            fps = clip.tracks.fps
            truth = [event["time_s"] for event in clip.events]
            detect_events(clip.tracks)  # warm-up
            runs = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                found = detect_events(clip.tracks)
                runs.append(time.perf_counter() - start)
            times.append(statistics.median(runs))
            onsets = detect_onsets(clip.audio, 16000)
            ete_gt.append(event_timing_error(found, truth))
            ete_on.append(event_timing_error(found, onsets))
            ete_ref.append(event_timing_error(truth, onsets))
            n_truth += len(truth)
            n_found += len(found)
            n_match += match_within(found, truth, 1.0 / fps)
            n_close += int(np.sum(np.diff(truth) * fps < 2.0)) if len(truth) > 1 else 0
        recall = n_match / n_truth if n_truth else float("nan")
        precision = n_match / n_found if n_found else float("nan")
        print(
            f"| {scene} | {n_truth} ({n_close}) | {n_found} "
            f"| {np.mean(ete_gt):.4f} / {np.median(ete_gt):.4f} "
            f"| {np.mean(ete_on):.4f} / {np.median(ete_on):.4f} "
            f"| {np.mean(ete_ref):.4f} | {recall:.2f} | {precision:.2f} | {1000 * np.median(times):.1f} |"
        )


if __name__ == "__main__":
    main()
