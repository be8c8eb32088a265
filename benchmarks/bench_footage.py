"""Visual events on footage that is not the physics world's: precision, recall and ETE per condition.

Usage: ``python benchmarks/bench_footage.py [--clips 8] [--conditions all] [--baseline main] [--cache DIR]``

Clips come from :mod:`kinesonic.data.footage` (analytic bouncing / colliding balls, exact impact
times), rendered at varied frame rates, sizes, object sizes, antialiasing, motion blur, camera
jitter, occlusion and codecs (PyAV), then tracked with ``perception.extract_tracks`` (classic + lk);
two conditions use the exact tracks plus Gaussian tracking noise instead. Scenes alternate bounce /
collide over seeds ``0 .. clips-1``.

Scoring per clip: the true impacts are merged into clusters closer than 2 frames (not separable at
the frame rate; time and speed change of the strongest); a detection matches a cluster within
``max(1 frame, 25 ms)`` of any of its impacts (one-to-one, nearest first). Recall counts clusters
with a speed change of at least 0.5 m/s between frames 2 and T-3 (no contact is reported nearer the
ends); precision counts detections matched to any cluster. ETE (tau 0.2 s) between the detections
and all cluster times; median over clips. ``--baseline REV`` also scores ``kinematics/events.py`` of
a git revision (loaded from ``git show``) on the same tracks. Tracks are cached in ``--cache`` (default
``.work/footage_cache``) so detector changes re-run in seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kinesonic.data.footage import make_clip
from kinesonic.kinematics import Tracks
from kinesonic.kinematics import events as current_events
from kinesonic.metrics import event_timing_error

MIN_DV_MPS = 0.5

#: name -> make_clip options (None in "noise_px" means rendered and tracked; a number: exact tracks + noise)
CONDITIONS: dict[str, dict] = {
    "exact tracks + 0.3 px noise, 24 fps": {"fps": 24, "noise_px": 0.3},
    "exact tracks + 1 px noise, 30 fps, 256x192": {
        "fps": 30,
        "size": (256, 192),
        "radius_px": 8,
        "noise_px": 1.0,
    },
    "128x96 24 fps H.264 crf 23 (issue)": {"fps": 24},
    "12 fps": {"fps": 12},
    "60 fps": {"fps": 60},
    "small objects r 3 px, 160x120": {"size": (160, 120), "radius_px": 3},
    "320x240 r 10 px, 30 fps": {"size": (320, 240), "radius_px": 10, "fps": 30},
    "motion blur (shutter 0.6)": {"blur": 0.6},
    "camera jitter 0.3 px": {"jitter_px": 0.3},
    "occluding pillar": {"occlusion": True},
    "no antialiasing, MJPEG q 8": {"antialias": False, "codec": "mjpeg", "quality": 8},
    "MPEG-4 part 2 q 12": {"codec": "mpeg4", "quality": 12},
    "VP9 crf 45": {"codec": "libvpx-vp9", "quality": 45},
    "H.264 crf 35, 15 fps": {"quality": 35, "fps": 15},
}


def load_revision(rev: str):
    """``kinematics/events.py`` of git revision ``rev``, imported as a sibling of the current module."""
    root = Path(current_events.__file__).resolve().parents[1]
    text = subprocess.run(
        ["git", "-C", str(root), "show", f"{rev}:kinematics/events.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "events_baseline.py"
    path.write_text(text)
    name = "kinesonic.kinematics._events_baseline"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def clip_tracks(name: str, options: dict, seed: int, cache: Path) -> tuple[Tracks | None, list, float, int]:
    """``(tracks or None, impacts, px_per_m, T)`` of one clip (tracks cached as npz)."""
    opts = dict(options)
    noise = opts.pop("noise_px", None)
    scene = "bounce" if seed % 2 == 0 else "collide"
    digest = hashlib.md5(repr((sorted(options.items()), seed)).encode()).hexdigest()[:12]
    key = cache / f"{digest}.npz"
    clip = make_clip(seed, scene=scene, render_frames=noise is None and not key.exists(), **opts)
    T = clip.points.shape[0]
    W, H = opts.get("size", (128, 96))
    if noise is not None:
        rng = np.random.default_rng(1000 + seed)
        points = clip.points + rng.normal(0.0, noise, clip.points.shape)
        return Tracks(points, clip.visible, clip.fps, W, H), clip.impacts, clip.px_per_m, T
    if not key.exists():
        from kinesonic.perception import extract_tracks

        try:
            tracks = extract_tracks(clip.frames, clip.fps).tracks()
            np.savez(key, points=tracks.points, visible=tracks.visible, ok=1)
        except Exception as exc:  # no track: counts as zero detections
            print(f"  [{name} seed {seed}: extraction failed: {exc}]", file=sys.stderr)
            np.savez(key, points=np.zeros((0,)), visible=np.zeros((0,)), ok=0)
    data = np.load(key)
    if not int(data["ok"]):
        return None, clip.impacts, clip.px_per_m, T
    return Tracks(data["points"], data["visible"], clip.fps, W, H), clip.impacts, clip.px_per_m, T


def clusters(impacts: list, fps: float) -> list[tuple[float, float, list[float]]]:
    """``(time, dv, member times)`` of impact clusters closer than 2 frames (time of the strongest)."""
    out: list[list] = []
    for imp in sorted(impacts, key=lambda i: i.time_s):
        if out and imp.time_s - out[-1][-1].time_s < 2.0 / fps:
            out[-1].append(imp)
        else:
            out.append([imp])
    return [
        (max(c, key=lambda i: i.dv_mps).time_s, max(i.dv_mps for i in c), [i.time_s for i in c]) for c in out
    ]


def match(found: list[float], truth: list[list[float]], tol: float) -> list[tuple[int, int]]:
    """One-to-one pairs (detection, cluster) within ``tol`` of any member of the cluster, nearest first."""
    pairs = []
    for i, f in enumerate(found):
        for j, members in enumerate(truth):
            d = min(abs(f - t) for t in members)
            if d <= tol:
                pairs.append((d, i, j))
    used_f, used_t, out = set(), set(), []
    for _, i, j in sorted(pairs):
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def score(detector, items: list) -> dict[str, float]:
    n_rel = n_rel_hit = n_found = n_ok = 0
    etes, errors = [], []
    for tracks, impacts, _, T, fps in items:
        cl = clusters(impacts, fps)
        found = detector(tracks) if tracks is not None else []
        tol = max(1.0 / fps, 0.025)
        pairs = match(found, [c[2] for c in cl], tol)
        matched_t = {j for _, j in pairs}
        relevant = [
            j for j, (t, dv, _) in enumerate(cl) if dv >= MIN_DV_MPS and 2 / fps <= t <= (T - 3) / fps
        ]
        n_rel += len(relevant)
        n_rel_hit += sum(j in matched_t for j in relevant)
        n_found += len(found)
        n_ok += len(pairs)
        errors += [min(abs(found[i] - t) for t in cl[j][2]) for i, j in pairs]
        etes.append(event_timing_error(found, [c[0] for c in cl]))
    return {
        "precision": n_ok / n_found if n_found else float("nan"),
        "recall": n_rel_hit / n_rel if n_rel else float("nan"),
        "ete": float(np.median(etes)),
        "err_ms": 1000 * float(np.median(errors)) if errors else float("nan"),
        "relevant": n_rel,
        "found": n_found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument(
        "--conditions", default="all", help="comma-separated indices into the table, or 'all'"
    )
    parser.add_argument("--baseline", default="", help="git revision whose detector is scored too")
    parser.add_argument("--cache", default=".work/footage_cache")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    names = list(CONDITIONS)
    if args.conditions != "all":
        names = [names[int(i)] for i in args.conditions.split(",")]
    detectors = [("current", current_events.detect_events)]
    if args.baseline:
        detectors.append((args.baseline, load_revision(args.baseline).detect_events))
    print(
        f"{args.clips} clips per condition (bounce / collide alternating), "
        "recall for speed changes >= 0.5 m/s\n"
    )
    head = " | ".join(f"{d} P / R / median ETE (s) / median err (ms)" for d, _ in detectors)
    print(f"| condition | impacts >= 0.5 m/s | {head} |")
    print("|---|---:|" + "---:|" * len(detectors))
    totals: dict[str, list] = {d: [] for d, _ in detectors}
    start = time.time()
    for name in names:
        items = []
        for seed in range(args.clips):
            tracks, impacts, _, T = clip_tracks(name, CONDITIONS[name], seed, cache)
            items.append((tracks, impacts, None, T, float(CONDITIONS[name].get("fps", 24))))
        cells = []
        for d, fn in detectors:
            s = score(fn, items)
            totals[d].append(s)
            cells.append(f"{s['precision']:.2f} / {s['recall']:.2f} / {s['ete']:.3f} / {s['err_ms']:.0f}")
        print(
            f"| {name} | {totals[detectors[0][0]][-1]['relevant']} | " + " | ".join(cells) + " |", flush=True
        )
    for d, _ in detectors:
        p = np.mean([s["precision"] for s in totals[d]])
        r = np.mean([s["recall"] for s in totals[d]])
        e = np.median([s["ete"] for s in totals[d]])
        print(
            f"\n{d}: mean over conditions precision {p:.2f}, recall {r:.2f}, median of median ETE {e:.3f} s"
        )
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
