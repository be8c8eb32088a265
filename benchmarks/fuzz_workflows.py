"""Fuzz ``kinesonic validate`` with seeded mutations of the real workflow files; print a table.

Usage: ``python benchmarks/fuzz_workflows.py [--count 10000] [--seed 0] [--budget 1200]``

Each mutation (1-3 random operators: deletions, type swaps, huge / non-finite numbers, deep
nesting, wrong link slots, duplicated ids, strings where lists are, ...) of a file from
``workflows/`` and ``tests/data/*workflows*`` goes through the real ``validate`` command
in-process. A case is ``valid`` (exit 0), a clean ``error`` (exit 1, message only) or a
traceback (an exception escaped), counted by exception type. The target is 0 tracebacks.
"""

from __future__ import annotations

import argparse
import sys
import time

from kinesonic.runner.fuzz import default_corpus, fuzz_validate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=1800.0, help="stop after this many seconds")
    parser.add_argument("--examples", action="store_true", help="print one example per traceback kind")
    parser.add_argument(
        "--run",
        type=int,
        default=0,
        metavar="N",
        help="also N mutations of workflows/hello_sounding_video.json through `kinesonic run` (valid "
        "mutants execute: load image + audio, write an mp4)",
    )
    args = parser.parse_args()
    corpus = default_corpus()
    start = time.perf_counter()
    stats = fuzz_validate(args.seed, args.count, corpus=corpus, time_budget_s=args.budget)
    seconds = time.perf_counter() - start
    print(
        f"corpus: {len(corpus)} files; seed {args.seed}; {seconds:.1f} s ({stats.mutations / seconds:.0f}/s)"
    )
    print()
    print("| outcome | count |")
    print("|---|---:|")
    print(f"| mutations | {stats.mutations} |")
    print(f"| valid | {stats.valid} |")
    print(f"| clean errors | {stats.errors} |")
    print(f"| ...of which a problem names no node (e.g. 'links' is not a list) | {stats.unlocated} |")
    print(f"| tracebacks | {stats.traceback_count} |")
    for kind, n in sorted(stats.tracebacks.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {n} |")
    if args.examples:
        for kind, (name, ops, text) in stats.examples.items():
            print(f"\n{kind}: {name} {ops}\n  {text[:300]}")
    failed = stats.traceback_count
    if args.run:
        hello = [p for p in corpus if p.name == "hello_sounding_video.json"]
        start = time.perf_counter()
        run = fuzz_validate(args.seed, args.run, corpus=hello, time_budget_s=args.budget, command="run")
        print(f"\nkinesonic run on {hello[0].name}: {time.perf_counter() - start:.1f} s")
        print("| outcome | count |\n|---|---:|")
        print(f"| mutations | {run.mutations} |\n| ran to the end | {run.valid} |")
        print(f"| clean errors | {run.errors} |\n| tracebacks | {run.traceback_count} |")
        for kind, n in sorted(run.tracebacks.items(), key=lambda kv: -kv[1]):
            print(f"| {kind} | {n} |")
        if args.examples:
            for kind, (name, ops, text) in run.examples.items():
                print(f"\n{kind}: {name} {ops}\n  {text[:300]}")
        failed += run.traceback_count
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
