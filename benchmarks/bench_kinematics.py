"""Benchmark of the kinematics core: prints a table of median wall times (no assertions).

Run: ``python benchmarks/bench_kinematics.py [--tracks 64] [--frames 1000] [--repeats 7]``.
Target (issue 4): encoding 64 tracks x 1,000 frames well under 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from kinesonic.kinematics import (
    KinematicStats,
    Tracks,
    align_array,
    align_to_latent,
    detect_events,
    kinematic_state,
    motion_strength,
    soft_trajectory_mask,
    trajectory_mask,
)


def make_tracks(num_tracks: int, num_frames: int, seed: int = 0) -> Tracks:
    """Random smooth paths with a few occlusions on a 512 x 512 image at 16 fps."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None] / 16.0
    phase = rng.uniform(0, 2 * np.pi, size=(2, num_tracks))
    freq = rng.uniform(0.1, 1.0, size=(2, num_tracks))
    x = 256 + 180 * np.sin(2 * np.pi * freq[0] * t + phase[0])
    y = 256 + 180 * np.cos(2 * np.pi * freq[1] * t + phase[1])
    visible = rng.random((num_frames, num_tracks)) > 0.02
    visible[0] = True
    return Tracks(np.stack([x, y], axis=-1), visible, 16.0, 512, 512)


def median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up (lazy imports of findiff / scipy happen here)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=64)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    tracks = make_tracks(args.tracks, args.frames)
    stats = KinematicStats.from_states(kinematic_state(tracks))
    text = tracks.to_json()

    def encode() -> object:
        state = align_array(kinematic_state(tracks), 4)
        return stats.normalize(state).astype(np.float32)

    rows = [
        ("kinematic_state", lambda: kinematic_state(tracks)),
        ("encode: state + align(4) + normalize", encode),
        ("align_to_latent(stride 4)", lambda: align_to_latent(tracks, 4)),
        ("detect_events", lambda: detect_events(tracks)),
        ("motion_strength", lambda: motion_strength(tracks)),
        ("trajectory_mask (factor 8)", lambda: trajectory_mask(tracks, 8)),
        ("soft mask (sigma 1.5)", lambda: soft_trajectory_mask(trajectory_mask(tracks, 8), 1.5)),
        ("Tracks.to_json", tracks.to_json),
        ("Tracks.from_json", lambda: Tracks.from_json(text)),
    ]
    print(f"kinematics benchmark: {args.tracks} tracks x {args.frames} frames, median of {args.repeats} runs")
    print(f"{'operation':40s} {'median ms':>10s} {'min ms':>10s}")
    print("-" * 62)
    for name, fn in rows:
        med, best = median_ms(fn, args.repeats)
        print(f"{name:40s} {med:10.2f} {best:10.2f}")


if __name__ == "__main__":
    main()
