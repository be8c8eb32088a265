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
    print(f"| validation errors without a node | {stats.unlocated} |")
    print(f"| tracebacks | {stats.traceback_count} |")
    for kind, n in sorted(stats.tracebacks.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {n} |")
    if args.examples:
        for kind, (name, ops, text) in stats.examples.items():
            print(f"\n{kind}: {name} {ops}\n  {text[:300]}")
    return 1 if stats.traceback_count else 0


if __name__ == "__main__":
    sys.exit(main())
