"""Benchmark of the physics world: clips generated per second (one process, one core) and audio clipping.

    python benchmarks/bench_world.py [--clips 100] [--sizes 64 256]

Prints a table: per size, clips/s end to end (simulation + rendering + sound) and the share of
time in each stage; then the audio clipping rate over the clips generated at the first size.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _stage_times(seed: int, size: int) -> tuple[float, float, float]:
    """Seconds spent in simulation, rendering and sound for one clip (same steps as synth_clip)."""
    from kinesonic.data.world import SCENES
    from kinesonic.data.world_render import Camera, render
    from kinesonic.data.world_sim import build_scene, simulate
    from kinesonic.data.world_sound import synthesize

    streams = np.random.SeedSequence(seed).spawn(3)
    scene_rng, render_rng, sound_rng = (np.random.default_rng(s) for s in streams)
    kind = SCENES[int(scene_rng.integers(len(SCENES)))]
    t0 = time.perf_counter()
    scene = build_scene(kind, scene_rng, {})
    sim = simulate(scene, 33 / 16.0, 16.0, 15)
    t1 = time.perf_counter()
    render(scene, sim, Camera(scene.view, size), np.arange(33) * 15, render_rng)
    t2 = time.perf_counter()
    synthesize(scene, sim, 33 / 16.0, sound_rng)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--clips", type=int, default=100, help="clips per size (default 100)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from kinesonic.data.world import synth_clip

    synth_clip(0)  # warm-up: imports, first-call costs
    header = ("size", "clips", "clips/s", "ms/clip", "sim %", "render %", "sound %")
    print("{:>5} {:>6} {:>8} {:>8} {:>6} {:>9} {:>8}".format(*header))
    clipped, peaks = [], []
    for k, size in enumerate(args.sizes):
        n = args.clips if size <= 128 else max(args.clips // 3, 5)
        start = time.perf_counter()
        for seed in range(n):
            clip = synth_clip(seed, size=size)
            if k == 0:
                clipped.append(clip.audio_info["clipped_fraction"])
                peaks.append(clip.audio_info["peak"])
        elapsed = time.perf_counter() - start
        stages = np.array([_stage_times(seed, size) for seed in range(min(n, 30))]).sum(0)
        share = 100 * stages / stages.sum()
        print(
            f"{size:>5} {n:>6} {n / elapsed:>8.1f} {1000 * elapsed / n:>8.1f} "
            f"{share[0]:>6.0f} {share[1]:>9.0f} {share[2]:>8.0f}"
        )
    clipped_arr = np.array(clipped)
    print()
    print(
        f"audio over {len(clipped)} clips: {100 * np.mean(clipped_arr > 0):.1f} % of clips clip; "
        f"{100 * clipped_arr.mean():.5f} % of samples clipped; peak median {np.median(peaks):.3f}, "
        f"99th percentile {np.percentile(peaks, 99):.3f}"
    )


if __name__ == "__main__":
    main()
