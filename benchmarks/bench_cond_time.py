"""Choose ``--cond-time`` by measurement: the world table's video-to-audio and audio-to-video rows for
a list of hold times.

    PYTHONPATH=... nice -n 10 python benchmarks/bench_cond_time.py --model PATH [--clips 20]
        [--cond-times 0,0.02,0.05,0.1] [--steps 25] [--work DIR] [--threads 1]

For every cond time T (the flow time at which the given modality is held: 0 = clean, AV-Link style
a small fixed noise level otherwise) this runs ``kinesonic.evaluation.world.evaluate_world`` with
``rows=("v2a", "a2v")`` and ``cond_time=T`` on the same ``--clips`` held-out world clips (the
table's seeds: base 1000, disjoint from 20000 training seeds of base 0), scored exactly as
``kinesonic eval --world --rows v2a,a2v --cond-time T``. One work folder with ``reuse``: the
simulator and model rows are made once, the v2a / a2v rows again for every T. A T above the model's
trained maximum (its checkpoint's ``max_cond_time``, else 0.1) is refused and reported.

Printed per T and row: TE (px; for v2a the simulator's frames, so only the measuring error), ETE at
tau 0.2 and 0.5 s (impact clips; a2v reads the visual events from the tracks measured on its
generated video), onset AP and the level error (v2a; a2v's sound is the simulator's). The model row
(joint generation) is printed once for reference.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

COLUMNS = (("te", "TE (px) ↓", 2), ("ete", "ETE τ0.2 (s) ↓", 3), ("ete5", "ETE τ0.5 (s) ↓", 3))
COLUMNS += (("onset_ap", "onset AP ↑", 3), ("level", "level err (dB) ↓", 2))


def _cells(cells: dict[str, tuple[float, int]]) -> str:
    out = []
    for key, _, digits in COLUMNS:
        value, count = cells[key]
        out.append("–" if math.isnan(value) else f"{value:.{digits}f} ({count})")
    return " | ".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="generator checkpoint (.safetensors)")
    p.add_argument("--clips", type=int, default=20, help="held-out clips (default 20)")
    p.add_argument("--cond-times", default="0,0.02,0.05,0.1", help="comma-separated flow times")
    p.add_argument("--steps", type=int, default=25, help="sampling steps (default 25)")
    p.add_argument("--seed", type=int, default=1000, help="held-out base seed (default 1000)")
    p.add_argument("--work", help="folder for the clip files (default: a temporary folder)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args()
    torch.set_num_threads(max(1, args.threads))

    from kinesonic.evaluation.world import evaluate_world
    from kinesonic.evaluation.world_rows import EXTRA_ROWS

    times = [float(t) for t in args.cond_times.split(",") if t.strip()]
    lines, reference = [], None
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        for t in times:
            try:
                result = evaluate_world(
                    [("model", args.model)], work, clips=args.clips, seed=args.seed, steps=args.steps,
                    reuse=True, rows=("v2a", "a2v"), cond_time=t, log=lambda line: None,
                )  # fmt: skip
            except ValueError as error:
                print(f"# cond_time {t:g}: skipped ({error})", file=sys.stderr)
                continue
            reference = reference or result.cells["model"]
            for kind in ("v2a", "a2v"):
                lines.append(f"| {t:g} | {EXTRA_ROWS[kind]} | {_cells(result.cells[EXTRA_ROWS[kind]])} |")
            print(f"# cond_time {t:g} done, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    if not lines:
        print("no cond time could be run", file=sys.stderr)
        return 1
    print(f"\n{args.clips} held-out clips (base seed {args.seed}), {args.steps} steps, model {args.model}\n")
    print("| cond_time | row | " + " | ".join(h for _, h, _ in COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    print(f"| – | model (joint, CFG) | {_cells(reference)} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
