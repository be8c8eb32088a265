"""Speed of the physics estimation on a 2 s 64x64 clip (33 frames at 16 fps), one core.

Usage: ``taskset -c 0 python benchmarks/bench_physics.py [--clips 12] [--repeats 3] [--size 64]``

For ``--clips`` world clips (seeds 0 .. clips-1, the six scenes in turn) the tracks are extracted
once (:func:`kinesonic.perception.extract_tracks`, not timed), then
:func:`kinesonic.physics.estimate_physics` runs ``--repeats`` times with nothing given (scale from
gravity, materials from appearance; the most work) and the median wall time per stage is printed:
contact times + refinement, blob measurement (background, sizes, colours), the rest (scale,
velocities, materials, impacts), and the process's CPU time per call. Run pinned to one core
(``taskset -c 0``); on a shared machine the wall times are upper bounds of the time (lower bounds of
the speed) and the CPU time is the closer measure.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    from kinesonic.data import SCENES, synth_clip
    from kinesonic.perception import PerceptionError, extract_tracks
    from kinesonic.physics import estimate, estimate_physics

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()

    timed = {"contacts": estimate.contact_times, "blobs": estimate.measure_blobs}

    def wrap(name, fn):
        def inner(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                current[name] += time.perf_counter() - start

        return inner

    for name, fn in timed.items():
        setattr(estimate, "contact_times" if name == "contacts" else "measure_blobs", wrap(name, fn))
    rows = []
    for i in range(args.clips):
        clip = synth_clip(i, size=args.size, scene=SCENES[i % len(SCENES)])
        try:
            tracks = extract_tracks(clip.frames, clip.fps).tracks()
        except PerceptionError:
            continue
        runs = []
        for _ in range(args.repeats):
            current = {"contacts": 0.0, "blobs": 0.0}
            start, cpu = time.perf_counter(), time.process_time()
            estimate_physics(clip.frames, tracks)
            total, cpu = time.perf_counter() - start, time.process_time() - cpu
            runs.append((total, current["contacts"], current["blobs"], cpu))
        total, contacts, blobs, cpu = (statistics.median(r[j] for r in runs) for j in range(4))
        rows.append((clip.kind, tracks.num_tracks, total, contacts, blobs, cpu))
    print(
        f"estimate_physics on {len(rows)} clips, {args.size}x{args.size}, 33 frames "
        f"(ms, median of {args.repeats})"
    )
    print("| scene | tracks | wall total | contact times | blobs | rest | CPU time |")
    print("|---|---|---|---|---|---|---|")
    for kind, n, total, contacts, blobs, cpu in rows:
        print(
            f"| {kind} | {n} | {total * 1e3:.0f} | {contacts * 1e3:.0f} | {blobs * 1e3:.0f} | "
            f"{(total - contacts - blobs) * 1e3:.0f} | {cpu * 1e3:.0f} |"
        )
    totals = np.array([r[2] for r in rows])
    cpus = np.array([r[5] for r in rows])
    print(
        f"wall: median {np.median(totals) * 1e3:.0f} ms, max {totals.max() * 1e3:.0f} ms per clip; "
        f"CPU: median {np.median(cpus) * 1e3:.0f} ms, max {cpus.max() * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
