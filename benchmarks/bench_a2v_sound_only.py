"""Can the sound alone steer the generated motion? Audio-to-video without the tracks.

    python benchmarks/bench_a2v_sound_only.py --model PATH [--clips 100] [--work DIR]

The world table's audio-to-video rows (``a2v``: the simulator's sound; ``a2v_bed``: under a held-out
music bed; ``a2v_demix``: that mixture's demixed effects stem; ``a2v_streams``: the same with MTV's
stream intervals) sampled from the first frame, the caption, the physics and the given sound only,
without the clip's tracks (``sample_options={"tracks": "none"}`` of
:func:`kinesonic.evaluation.world.evaluate_world`), next to joint generation without the tracks.
TE and the visual-event ETE of these rows then say how far the sound places the motion's events;
the rows with a music bed say what demixing buys when it has to. Prints the world table (paired
intervals against the first row and, for the demixed rows, against the raw mixture).
"""

from __future__ import annotations

import argparse
import sys
import tempfile

import torch


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="generator checkpoint (.safetensors)")
    p.add_argument("--clips", type=int, default=100, help="held-out clips (default 100)")
    p.add_argument("--rows", default="a2v,a2v_bed,a2v_demix,a2v_streams", help="audio-to-video rows")
    p.add_argument("--work", help="folder for the clip files (default: a temporary folder)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args()
    torch.set_num_threads(max(1, args.threads))
    from kinesonic.evaluation.world import evaluate_world
    from kinesonic.evaluation.world_rows import parse_rows

    with tempfile.TemporaryDirectory() as tmp:
        result = evaluate_world(
            [("joint generation without tracks", args.model)], args.work or tmp, clips=args.clips,
            reuse=True, rows=parse_rows(args.rows), sample_options={"tracks": "none"},
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )  # fmt: skip
    print(result.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
