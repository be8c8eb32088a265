"""Where the README's main job spends its time: ``kinesonic run workflows/image_to_sounding_video.json``.

Prints two tables:

1. **CPU seconds per phase** of runs in fresh processes (children of this script), counted with
   ``time.process_time`` (CPU time of the process, which other jobs on the machine change far less
   than wall time): interpreter start-up, the imports (grouped by the library that was imported: torch,
   torch._dynamo, scipy.signal, librosa, ...; an import nested in another library's import counts
   for the outer one, so ``sympy`` under ``torch._dynamo`` is ``torch._dynamo``), and the work of
   the job itself: runner (parse, convert, validate), physics scene (build, simulate, render, sound),
   draw trajectories, model load, conditioning, sampling, decode video, decode audio (Griffin-Lim),
   mp4 encode. A phase's time excludes the imports it triggers (those are in the import rows).
2. **Whole process**: wall time and CPU time (user + sys) of ``--runs`` runs of the real command
   (``python -m kinesonic run ...``) as subprocesses, min and median, next to ``python -c 'import
   torch'`` (the floor every run pays), the load average, and the sha256 of every mp4 written
   (identical runs must give identical files).

Usage: ``nice -n 10 python benchmarks/bench_main_job.py [--runs 5] [--phase-runs 3] [--threads 1]
[--cprofile FILE]`` (``--phase-runs``: the phase table's minimum and median over that many fresh
processes, since CPU time too grows when other jobs share the cores; ``--cprofile``: also write a
``pstats`` file of the first phase run, CPU-time clock, for digging; cProfile itself slows imports
several times, so that run's table is not comparable).

Python's bytecode cache matters: with ``PYTHONDONTWRITEBYTECODE=1`` (set on the development
machine) every kinesonic module is compiled from source at each start (~0.15 s of the
``import kinesonic`` row); an installed pack has its ``__pycache__`` files.
Run from the pack folder with the package importable as ``kinesonic``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
WORKFLOW = HERE / "workflows" / "image_to_sounding_video.json"

#: import groups, most specific first (a module not listed is "other")
IMPORT_GROUPS = (
    "torch._dynamo", "torch", "numpy", "scipy.signal", "scipy.stats", "scipy", "librosa", "numba",
    "findiff", "sympy", "cv2", "av", "pymunk", "matplotlib", "safetensors", "PIL", "tqdm", "kinesonic",
)  # fmt: skip

#: (module, attribute, phase) wrapped when the module has been imported; "Class.method" for methods
PHASES = (
    ("kinesonic.runner.commands", "_load", "runner: read + convert workflow"),
    ("kinesonic.runner.execute", "validate_prompt", "runner: validate"),
    ("kinesonic.runner.execute", "object_info", "runner: validate"),
    ("kinesonic.data.world", "build_scene", "scene: build"),
    ("kinesonic.data.world", "simulate", "scene: simulate (pymunk)"),
    ("kinesonic.data.world_render", "render", "scene: render frames"),
    ("kinesonic.data.world_sound", "synthesize", "scene: synthesise sound"),
    ("kinesonic.nodes.world", "KinesonicPhysicsScene.run", "scene: rest"),
    ("kinesonic.nodes.draw_trajectories", "KinesonicDrawTrajectories.run", "draw trajectories"),
    ("kinesonic.nodes.generate", "load_generator", "model load"),
    ("kinesonic.nodes.generate", "build_conditioning", "conditioning"),
    ("kinesonic.nodes.generate", "sample", "sampling"),
    ("kinesonic.models.model", "KinesonicModel.decode_video", "decode video (AE)"),
    ("kinesonic.models.model", "KinesonicModel.decode_audio", "decode audio (Griffin-Lim)"),
    ("kinesonic.nodes.generate", "decode", "decode: rest"),
    ("kinesonic.nodes.generate", "KinesonicGenerate.run", "generate: rest"),
    ("kinesonic.media", "write_video", "mp4 encode + write"),
    ("kinesonic.nodes.media", "KinesonicSaveSoundingVideo.run", "save: rest"),
)


def command(output: str, threads: int, workflow: Path) -> list[str]:
    """The main job's arguments after ``kinesonic``."""
    return ["run", str(workflow), "--output", output, "--threads", str(threads), "-q"]


# --------------------------------------------------------------------------- child: phase clock


class PhaseClock:
    """CPU time (``time.process_time``) attributed to the innermost active phase or import."""

    def __init__(self) -> None:
        self.stack = ["runner: rest (CLI, node registry, other)"]
        self.totals: dict[str, float] = {}
        self.last = time.process_time()

    def _switch(self) -> None:
        now = time.process_time()
        self.totals[self.stack[-1]] = self.totals.get(self.stack[-1], 0.0) + now - self.last
        self.last = now

    def push(self, label: str) -> None:
        self._switch()
        self.stack.append(label)

    def pop(self) -> None:
        self._switch()
        self.stack.pop()


def _import_label(name: str) -> str:
    for group in IMPORT_GROUPS:
        if name == group or name.startswith(group + "."):
            return f"import {group}"
    return "import other"


def _wrap(clock: PhaseClock, function, label: str):  # noqa: ANN001, ANN202
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        clock.push(label)
        try:
            return function(*args, **kwargs)
        finally:
            clock.pop()

    wrapped.__wrapped__ = function
    return wrapped


def install(clock: PhaseClock) -> None:
    """Hook imports (``importlib._bootstrap._find_and_load``, which every import statement and
    ``importlib.import_module`` go through) and wrap the phase functions once their modules load."""
    import importlib._bootstrap as bootstrap

    original = bootstrap._find_and_load
    pending = {}
    for module, attribute, label in PHASES:
        pending.setdefault(module, []).append((attribute, label))

    def patch(name: str) -> None:
        module = sys.modules.get(name)
        if module is None:
            return
        for attribute, label in pending.pop(name):
            owner, _, attr = attribute.rpartition(".")
            target = getattr(module, owner) if owner else module
            if not hasattr(target, attr):
                print(f"bench_main_job: {name}.{attribute} not found; phase '{label}' not measured")
                continue
            setattr(target, attr, _wrap(clock, getattr(target, attr), label))

    def find_and_load(name, import_):  # noqa: ANN001, ANN202
        top = clock.stack[-1]
        label = _import_label(name)
        outer_library = top.startswith("import ") and top != "import kinesonic"
        if outer_library and not label.startswith(top + "."):
            label = top  # a library's own imports count for it
        clock.push(label)
        try:
            return original(name, import_)
        finally:
            clock.pop()
            if name in pending:  # loaded completely now
                patch(name)

    bootstrap._find_and_load = find_and_load


def child(args: argparse.Namespace) -> None:
    """Run the main job in this process with the phase clock; print the totals as JSON."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    startup = usage.ru_utime + usage.ru_stime  # interpreter + site + this script's stdlib imports
    clock = PhaseClock()
    install(clock)
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    from kinesonic.runner.cli import main

    code = main(command(args.child, args.threads, Path(args.workflow)))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    clock._switch()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals = {"interpreter start-up": startup, **clock.totals}
    print(json.dumps({"code": code, "phases": totals, "cpu": usage.ru_utime + usage.ru_stime}))


# --------------------------------------------------------------------------- parent


def _sha(folder: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(folder.rglob("*.mp4"))]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one subprocess run (fails loudly on a non-zero exit)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=HERE, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _phase_run(args: argparse.Namespace, env: dict[str, str], cprofile: str | None) -> tuple[dict, list[str]]:
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, __file__, "--child", out, "--threads", str(args.threads)]
        argv += ["--workflow", str(args.workflow)] + (["--cprofile", cprofile] if cprofile else [])
        done = subprocess.run(argv, env=env, cwd=HERE, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"phase run failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1]), _sha(Path(out))


def phase_table(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Per-phase CPU seconds over ``--phase-runs`` fresh processes: minimum (the least disturbed by
    other jobs on the machine) and median; the cProfile file, if asked for, is of the first run."""
    runs, shas = [], set()
    for index in range(args.phase_runs):
        result, sha = _phase_run(args, env, args.cprofile if index == 0 else None)
        runs.append(result)
        shas.update(sha)
    names = sorted({name for run in runs for name in run["phases"]})
    per_phase = {name: [run["phases"].get(name, 0.0) for run in runs] for name in names}
    minimum = {name: min(values) for name, values in per_phase.items()}
    median = {name: statistics.median(values) for name, values in per_phase.items()}
    totals = [sum(run["phases"].values()) for run in runs]
    imports = [sum(v for k, v in run["phases"].items() if k.startswith("import ")) for run in runs]
    total = statistics.median(totals)
    state = "identical" if len(shas) == 1 else "DIFFERENT"
    print(
        f"## CPU seconds per phase ({len(runs)} runs, --threads {args.threads}; "
        f"mp4 sha256 {', '.join(sorted(shas))}, {state})"
    )
    print("| phase | CPU s min | CPU s median | share of median total |")
    print("|---|---:|---:|---:|")
    for name in sorted(names, key=lambda n: -median[n]):
        if median[name] >= 0.005:
            print(
                f"| {name} | {minimum[name]:.2f} | {median[name]:.2f} | {100 * median[name] / total:.0f} % |"
            )
    print(
        f"| *of which imports* | {min(imports):.2f} | {statistics.median(imports):.2f} | "
        f"{100 * statistics.median(imports) / total:.0f} % |"
    )
    cpu = [run["cpu"] for run in runs]
    print(
        f"| **total** (process CPU min {min(cpu):.2f} / median {statistics.median(cpu):.2f} s) | "
        f"**{min(totals):.2f}** | **{total:.2f}** | 100 % |"
    )


def whole_process(args: argparse.Namespace, env: dict[str, str]) -> None:
    rows = []
    load_before = os.getloadavg()[0]
    shas: set[str] = set()
    job, floor = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            argv = [sys.executable, "-m", "kinesonic", *command(out, args.threads, Path(args.workflow))]
            job.append(timed(argv, env))
            shas.update(_sha(Path(out)))
        floor.append(timed([sys.executable, "-c", "import torch"], env))
    load_after = os.getloadavg()[0]
    for name, runs in (("main job (python -m kinesonic run ...)", job), ("python -c 'import torch'", floor)):
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        rows.append(
            f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | "
            f"{min(cpus):.2f} / {statistics.median(cpus):.2f} |"
        )
    print(
        f"\n## Whole process, {args.runs} runs each, --threads {args.threads} "
        f"(load average {load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} CPUs)"
    )
    print("| command | wall s min / median | CPU s min / median |")
    print("|---|---:|---:|")
    print("\n".join(rows))
    state = "identical" if len(shas) == 1 else "DIFFERENT"
    print(f"\nmp4 sha256 over the runs: {', '.join(sorted(shas))} ({state})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="subprocess runs for the wall-time table")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the job's --threads)")
    parser.add_argument("--workflow", default=str(WORKFLOW), help="workflow file (default: the main job)")
    parser.add_argument("--phase-runs", type=int, default=3, help="fresh processes for the phase table")
    parser.add_argument(
        "--cprofile", metavar="FILE", help="also write a pstats file of the (first) phase run"
    )
    parser.add_argument("--phases-only", action="store_true", help="only the phase table")
    parser.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    env = dict(os.environ)
    phase_table(args, env)
    if not args.phases_only:
        whole_process(args, env)


if __name__ == "__main__":
    main()
