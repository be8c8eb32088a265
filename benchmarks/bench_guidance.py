"""Guidance settings by measurement: the world table's model row for several sampler settings.

    PYTHONPATH=... nice -n 10 python benchmarks/bench_guidance.py --model PATH [--clips 20]
        [--settings "outside;all;outside,audio_cfg=2;outside,audio_cfg=1"] [--steps 25] [--work DIR]

Each setting is ``REGION[,key=value...]``: REGION is the sampler's ``video_guidance_region``
(``outside``: video guidance only outside the trajectory mask, the default; ``all``: everywhere, the
behaviour before issue 16), followed by ``model.sample`` overrides (``video_cfg``, ``audio_cfg``,
``guidance``, ``solver``, ``shift``, ``audio_noise``) or ``steps``. Every setting runs
``kinesonic.evaluation.world.evaluate_world`` on the same
``--clips`` held-out clips (the table's seeds), scored like ``kinesonic eval --world``; the
simulator row is made once. Printed: TE, ETE at tau 0.2 / 0.5 s, onset AP, onsets per impact clip,
MAIC and the level error, one line per setting.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

COLUMNS = (
    ("te", "TE (px) ↓", 2),
    ("ete", "ETE τ0.2 (s) ↓", 3),
    ("ete5", "ETE τ0.5 (s) ↓", 3),
    ("onset_ap", "onset AP ↑", 3),
    ("onsets", "onsets / impact clip", 2),
    ("maic", "MAIC ↑", 3),
    ("level", "level err (dB) ↓", 2),
)


KEYS = ("video_cfg", "audio_cfg", "guidance", "solver", "shift", "steps", "audio_noise")


def parse_setting(text: str) -> dict[str, object]:
    """``"outside,audio_cfg=2"`` → ``{"video_guidance_region": "outside", "audio_cfg": 2.0}``."""
    region, *pairs = [p.strip() for p in text.split(",") if p.strip()]
    out: dict[str, object] = {"video_guidance_region": region}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in KEYS or not value:
            raise ValueError(f"setting {text!r}: expected key=value with key in {KEYS}")
        if key in ("guidance", "solver"):
            out[key] = value
        else:
            out[key] = int(value) if key == "steps" else float(value)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="generator checkpoint (.safetensors)")
    p.add_argument("--clips", type=int, default=20, help="held-out clips (default 20)")
    p.add_argument("--settings", default="outside;all", help="';'-separated settings (see above)")
    p.add_argument("--steps", type=int, default=25, help="sampling steps (default 25)")
    p.add_argument(
        "--seed", type=int, default=1000,
        help="base seed of the held-out clips (default 1000, the table's; another base, e.g. 5000, gives a "
        "validation set to choose settings on without touching the table's clips)",
    )  # fmt: skip
    p.add_argument("--work", help="folder for the clip files (default: a temporary folder)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args()
    torch.set_num_threads(max(1, args.threads))
    from kinesonic.evaluation.world import GROUND_TRUTH, evaluate_world

    settings = [(text.strip(), parse_setting(text)) for text in args.settings.split(";") if text.strip()]
    lines, start, truth = [], time.perf_counter(), None
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.work or tmp)
        for text, options in settings:
            label = "setting " + text
            options = dict(options)
            steps = int(options.pop("steps", args.steps))
            result = evaluate_world(
                [(label, args.model)], base, clips=args.clips, seed=args.seed, steps=steps, reuse=True,
                log=lambda line: None, sample_options=options,
            )  # fmt: skip
            truth = truth or result.cells[GROUND_TRUTH]
            lines.append(f"| {text} | {_cells(result.cells[label])} |")
            print(f"# {text} done, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print(
        f"\n{args.clips} held-out clips (seed base {args.seed}), {args.steps} steps (Euler, shift 1)"
        f" unless a setting says otherwise, model {args.model}\n"
    )
    print("| setting | " + " | ".join(h for _, h, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    print(f"| simulator | {_cells(truth)} |")
    print("\n".join(lines))
    return 0


def _cells(cells: dict[str, tuple[float, int]]) -> str:
    out = []
    for key, _, digits in COLUMNS:
        value, count = cells.get(key, (math.nan, 0))
        out.append("–" if math.isnan(value) else f"{value:.{digits}f} ({count})")
    return " | ".join(out)


if __name__ == "__main__":
    sys.exit(main())
