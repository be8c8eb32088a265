"""``kinesonic physics eval``: the physics estimation measured against simulator truth.

Held-out clips ``synth_clip(clip_seed(seed, i))``, ``i < clips`` (checked disjoint from the training
seeds, as ``kinesonic eval --world``), rendered at ``--size``; the estimation starts from the
rendered frames: tracks from the extraction pipeline (:func:`kinesonic.perception.extract_tracks`,
defaults), matched to the simulated objects by their frame-0 position (within 6 px at 64 px, scaled
with the size). Per clip :func:`kinesonic.physics.estimate_physics` runs four times:

- ``given``: the materials of the matched objects given (as a user would), scale estimated;
- ``prompt``: the clip's caption as the prompt (materials and shapes from its words);
- ``appearance``: nothing given (materials from the appearance classifier);
- ``given, true scale``: materials and the true ``px_per_m`` given (isolates size and shape);
- ``size given``: materials and the true object sizes given (the scale from a known size).

Measured (definitions in docs/physics.md): scale error where the ground truth has a free-flight
segment (the same detector on the true tracks and true contact times) and coverage; speed error at
visible frames whose true speed is at least 0.1 m/s; mass ratio est/true per matched object;
impacts: the true impacts of matched objects whose approach speed is at least 0.3 m/s are paired
one-to-one with estimated contacts of the same object within 2 frames (nearest pairs first); time
error in frames; speeds of that object before/after; Spearman correlation of |ΔKE| over pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MIN_SPEED = 0.1
MIN_APPROACH = 0.3
MATCH_FRAMES = 2.0
MATCH_PX_64 = 6.0
MODES = ("given", "prompt", "appearance", "given, true scale", "size given")


def _match(points0: np.ndarray, truth0: np.ndarray, radius: float) -> dict[int, int]:
    """Estimated track -> true object by frame-0 position (greedy nearest, within ``radius`` px)."""
    pairs = sorted(
        (float(np.linalg.norm(points0[k] - truth0[j])), k, j)
        for k in range(points0.shape[0])
        for j in range(truth0.shape[0])
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for d, k, j in pairs:
        if d <= radius and k not in out and j not in used:
            out[k] = j
            used.add(j)
    return out


def truth_scale_exists(clip: Any) -> bool:
    """Whether the true tracks hold a free-flight segment the estimator could use (true contact times)."""
    from ..physics.scale import scale_from_gravity

    cuts = [e["time_s"] * clip.fps for e in clip.events]
    size = clip.frames.shape[1]
    return scale_from_gravity(clip.tracks.points, clip.tracks.visible, cuts, clip.fps, size, size).known


def evaluate_clip(seed: int, size: int) -> dict[str, Any]:
    """Per-clip record (JSON-able) of the four estimation modes against the clip's ground truth."""
    from ..data import synth_clip
    from ..perception import PerceptionError, extract_tracks
    from ..physics import estimate_physics

    clip = synth_clip(seed, size=size)
    rec: dict[str, Any] = {"seed": int(seed), "kind": clip.kind, "objects": len(clip.labels)}
    rec["truth_flight"] = truth_scale_exists(clip)
    try:
        tracks = extract_tracks(clip.frames, clip.fps).tracks(filtered=True)
    except PerceptionError as exc:
        rec["error"] = f"extraction: {exc}"
        return rec
    match = _match(tracks.points[0], clip.tracks.points[0], MATCH_PX_64 * size / 64.0)
    rec["matched"] = len(match)
    objs = clip.params["objects"]
    materials = [objs[match[k]]["material"] if k in match else None for k in range(tracks.num_tracks)]
    sizes = [max(objs[match[k]]["size_m"]) if k in match else None for k in range(tracks.num_tracks)]
    options = {
        "given": {"material": materials},
        "prompt": {"prompt": clip.caption},
        "appearance": {},
        "given, true scale": {"material": materials, "px_per_m": clip.px_per_m},
        "size given": {"material": materials, "object_size_m": sizes},
    }
    for mode, opts in options.items():
        start = time.perf_counter()
        est = estimate_physics(clip.frames, tracks, **opts)
        seconds = time.perf_counter() - start
        rec[mode] = _score(clip, tracks, match, est, seconds)
    return rec


def _score(clip: Any, tracks: Any, match: dict[int, int], est: Any, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": seconds, "scale_source": est.scale.source}
    out["scale_error"] = float(est.scale.px_per_m / clip.px_per_m - 1.0) if est.scale.known else None
    out["scale_uncertainty"] = float(est.scale.uncertainty) if est.scale.known else None
    speed_err, mass, events = [], [], []
    objs = clip.params["objects"]
    for k, j in match.items():
        vt = clip.velocity_mps[:, j]
        ok = tracks.visible[:, k] & clip.tracks.visible[:, j] & (np.linalg.norm(vt, axis=1) >= MIN_SPEED)
        ve = est.velocity_mps[ok, k]
        good = np.isfinite(ve).all(1)
        err = np.linalg.norm(ve[good] - vt[ok][good], axis=1) / np.linalg.norm(vt[ok][good], axis=1)
        speed_err += [float(e) for e in err]
        mass.append(
            {
                "truth": float(clip.masses[j]),
                "est": float(est.masses_kg[k]),
                "low": float(est.masses_range_kg[k, 0]),
                "high": float(est.masses_range_kg[k, 1]),
                "material": objs[j]["material"],
                "material_est": est.materials[k],
                "shape": objs[j]["shape"],
                "shape_est": est.shapes[k],
            }
        )
    # impacts: true events of a matched object (approach >= MIN_APPROACH) paired one-to-one with
    # estimated contacts of the same object within MATCH_FRAMES, nearest pairs first
    inv = {j: k for k, j in match.items()}
    truth = [
        e
        for e in clip.events
        if e["approach_speed_mps"] >= MIN_APPROACH and any(i in inv for i in e["indices"] if i >= 0)
    ]
    pairs = []
    for a, e in enumerate(truth):
        ks = {inv[j] for j in e["indices"] if j >= 0 and j in inv}
        for b, f in enumerate(est.events):
            common = ks & {i for i in f["indices"] if i >= 0}
            dt = abs(f["time_s"] - e["time_s"]) * clip.fps
            if common and dt <= MATCH_FRAMES:
                pairs.append((dt, a, b, min(common)))
    used_a, used_b, matched = set(), set(), {}
    for dt, a, b, k in sorted(pairs):
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            matched[a] = (dt, b, k)
    for a, e in enumerate(truth):
        rec: dict[str, Any] = {"time_s": e["time_s"], "delta_ke_J": e["delta_ke_J"], "matched": a in matched}
        if a in matched:
            dt, b, k = matched[a]
            f = est.events[b]
            it, ie = e["indices"].index(match[k]), f["indices"].index(k)
            rec.update(
                frame_error=dt,
                delta_ke_est=f["delta_ke_J"],
                pre_speed=e["pre_speed_mps"][it],
                pre_speed_est=f["pre_speed_mps"][ie],
                post_speed=e["post_speed_mps"][it],
                post_speed_est=f["post_speed_mps"][ie],
            )
        events.append(rec)
    out.update(
        speed_errors=speed_err,
        masses=mass,
        impacts=events,
        estimated_events=len(est.events),
        true_events=len(truth),
    )
    return out


# ----------------------------------------------------------------------------------------- table
def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _fmt(v: float, digits: int = 3) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def summarize(records: list[dict[str, Any]], size: int) -> str:
    """The markdown tables of ``records`` (from :func:`evaluate_clip`)."""
    ok = [r for r in records if "error" not in r]
    lines = [
        f"Held-out world clips: {len(records)} at {size}x{size} px, tracks extracted on {len(ok)} "
        f"({len(records) - len(ok)} without a usable track); objects matched: "
        f"{sum(r['matched'] for r in ok)} of {sum(r['objects'] for r in records)}.",
        "",
        "| scale (px/m) | clips | median \\|error\\| | 90th pct | coverage |",
        "|---|---|---|---|---|",
    ]
    flight = [r for r in ok if r["truth_flight"]]
    found = [r for r in flight if r["given"]["scale_error"] is not None]
    errs = np.abs([r["given"]["scale_error"] for r in found])
    lines.append(
        f"| from gravity, clips with a true free-flight segment | {len(flight)} | "
        f"{_fmt(np.median(errs) * 100 if errs.size else np.nan, 2)} % | "
        f"{_fmt(np.percentile(errs, 90) * 100 if errs.size else np.nan, 2)} % | "
        f"{len(found)}/{len(flight)} = {len(found) / max(len(flight), 1):.0%} |"
    )
    other = [r for r in ok if not r["truth_flight"]]
    wrong = [r for r in other if r["given"]["scale_error"] is not None]
    werr = np.abs([r["given"]["scale_error"] for r in wrong])
    lines.append(
        f"| from gravity, clips without one | {len(other)} | "
        f"{_fmt(np.median(werr) * 100 if werr.size else np.nan, 2)} % | "
        f"{_fmt(np.percentile(werr, 90) * 100 if werr.size else np.nan, 2)} % | "
        f"{len(wrong)}/{len(other)} found a scale |"
    )
    sized_runs = all("size given" in r for r in ok)
    if sized_runs:
        sized = [r for r in ok if r["size given"]["scale_source"] == "object size"]
        serr = np.abs([r["size given"]["scale_error"] for r in sized])
        lines.append(
            f"| from a known object size (given), all clips | {len(ok)} | "
            f"{_fmt(np.median(serr) * 100 if serr.size else np.nan, 2)} % | "
            f"{_fmt(np.percentile(serr, 90) * 100 if serr.size else np.nan, 2)} % | "
            f"{len(sized)}/{len(ok)} = {len(sized) / max(len(ok), 1):.0%} |"
        )
    lines += [
        "",
        "| speed (visible frames, true speed ≥ 0.1 m/s) | frames | median error | 90th pct |",
        "|---|---|---|---|",
    ]
    speed_rows = [
        ("given", "scale from gravity (clips with a scale)"),
        ("given, true scale", "true scale given"),
    ]
    if sized_runs:
        speed_rows.append(("size given", "scale from a known object size"))
    for mode, label in speed_rows:
        e = np.array([x for r in ok for x in r[mode]["speed_errors"]])
        lines.append(
            f"| {label} | {e.size} | {_fmt(np.median(e) * 100 if e.size else np.nan, 1)} % | "
            f"{_fmt(np.percentile(e, 90) * 100 if e.size else np.nan, 1)} % |"
        )
    lines += [
        "",
        "| mass | objects | estimated | within ×1.5 (of estimated) | within ×1.5 (of all) | median est/true "
        "| truth inside range | material right | shape right |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, label in (
        ("given", "material given, scale estimated"),
        ("given, true scale", "material given, true scale"),
        ("prompt", "material from the prompt, scale estimated"),
        ("appearance", "material from appearance, scale estimated"),
    ):
        ms = [m for r in ok for m in r[mode]["masses"]]
        est = [m for m in ms if np.isfinite(m["est"])]
        ratio = np.array([m["est"] / m["truth"] for m in est])
        within = int(np.sum((ratio <= 1.5) & (ratio >= 1 / 1.5)))
        inside = int(sum(m["low"] <= m["truth"] <= m["high"] for m in est))
        mat = sum(m["material_est"] == m["material"] for m in ms)
        shp = sum(m["shape_est"] == m["shape"] for m in ms)
        lines.append(
            f"| {label} | {len(ms)} | {len(est)} | {within / max(len(est), 1):.0%} | "
            f"{within / max(len(ms), 1):.0%} | "
            f"{_fmt(np.median(ratio) if ratio.size else np.nan, 2)} | {inside / max(len(est), 1):.0%} | "
            f"{mat / max(len(ms), 1):.0%} | {shp / max(len(ms), 1):.0%} |"
        )
    lines += [
        "",
        "| impacts (true approach ≥ 0.3 m/s) | true | matched (±2 frames) | estimated "
        "| median time error (frames) | Spearman \\|ΔKE\\| (n) | median pre-speed error "
        "| median post-speed error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, label in (
        ("given", "material given, scale estimated"),
        ("given, true scale", "material given, true scale"),
    ):
        imps = [i for r in ok for i in r[mode]["impacts"]]
        m = [i for i in imps if i["matched"]]
        fe = np.array([i["frame_error"] for i in m])
        pairs = [(abs(i["delta_ke_est"]), abs(i["delta_ke_J"])) for i in m if np.isfinite(i["delta_ke_est"])]
        rho = _spearman([p[0] for p in pairs], [p[1] for p in pairs])
        pre = np.array(
            [
                abs(i["pre_speed_est"] / i["pre_speed"] - 1)
                for i in m
                if i["pre_speed"] > 0 and np.isfinite(i["pre_speed_est"])
            ]
        )
        post = np.array(
            [
                abs(i["post_speed_est"] / i["post_speed"] - 1)
                for i in m
                if i["post_speed"] > 0.1 and np.isfinite(i["post_speed_est"])
            ]
        )
        n_est = sum(r[mode]["estimated_events"] for r in ok)
        lines.append(
            f"| {label} | {len(imps)} | {len(m)} | {n_est} | "
            f"{_fmt(np.median(fe) if fe.size else np.nan, 2)} | "
            f"{_fmt(rho, 2)} ({len(pairs)}) | {_fmt(np.median(pre) * 100 if pre.size else np.nan, 1)} % | "
            f"{_fmt(np.median(post) * 100 if post.size else np.nan, 1)} % |"
        )
    secs = np.array([r[m]["seconds"] for r in ok for m in MODES if m in r])
    lines += [
        "",
        f"Estimation time per call: median {np.median(secs):.3f} s (this loaded machine, a lower bound).",
    ]
    return "\n".join(lines)


def evaluate_physics(
    clips: int = 100, seed: int = 1000, train_seed: int = 0, train_clips: int = 20000, size: int = 64,
    records_path: str | None = None, log: Any = None,
) -> str:  # fmt: skip
    """Run (or resume from ``records_path``, one JSON line per clip) and return the markdown table."""
    from .world import held_out_seeds

    seeds = held_out_seeds(clips, seed, train_seed, train_clips)
    done: dict[int, dict[str, Any]] = {}
    if records_path and Path(records_path).is_file():
        for line in Path(records_path).read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # an interrupted last line: that clip runs again
                continue
            done[r["seed"]] = r
    records = []
    for i, s in enumerate(seeds):
        if s in done:
            records.append(done[s])
            continue
        rec = evaluate_clip(s, size)
        records.append(rec)
        if records_path:
            with open(records_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, allow_nan=True) + "\n")
        if log:
            log(
                f"[{i + 1}/{len(seeds)}] seed {s} {rec['kind']}"
                + (f" {rec['error']}" if "error" in rec else "")
            )
    return summarize(records, size)


def add_parser(subparsers: Any) -> None:
    """Register ``physics eval`` on the ``kinesonic`` command line."""
    p = subparsers.add_parser(
        "physics", help="physics estimation from video (scale, velocity, mass, impacts): 'physics eval'"
    )
    sub = p.add_subparsers(dest="physics_command", metavar="SUBCOMMAND")
    e = sub.add_parser(
        "eval",
        help="measure the physics estimation against simulator truth on held-out world clips",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("--clips", type=int, default=100, help="held-out clips (default 100)")
    e.add_argument("--seed", type=int, default=1000, help="base seed of the held-out clips (default 1000)")
    e.add_argument("--train-seed", type=int, default=0, help="base seed of the training clips (default 0)")
    e.add_argument(
        "--train-clips", type=int, default=20000, help="training clips to keep out (default 20000)"
    )
    e.add_argument("--size", type=int, default=64, help="frame size in pixels (default 64)")
    e.add_argument("--records", metavar="JSONL", help="per-clip records (appended; an existing file resumes)")
    e.add_argument("--out", metavar="MD", help="also write the table to this file")
    e.add_argument("--quiet", action="store_true", help="no per-clip progress lines")
    e.set_defaults(func=_run_eval)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _run_eval(args: argparse.Namespace) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        table = evaluate_physics(
            args.clips, args.seed, args.train_seed, args.train_clips, args.size, args.records,
            None if args.quiet else log,
        )  # fmt: skip
    except ValueError as exc:
        print(f"kinesonic physics eval: {exc}", file=sys.stderr)
        return 2
    print(table)
    if args.out:
        from ..media.files import atomic_write_text

        atomic_write_text(args.out, table + "\n")
    return 0
