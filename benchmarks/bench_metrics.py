"""Time every motion-sound metric on a 2 s clip and print a table (target: < 0.5 s each).

Usage: ``python benchmarks/bench_metrics.py [--repeats 5] [--size 128] [--fps 24]``

Each metric is timed end to end from its raw inputs (audio / frames / tracks), including the
onset detection it needs, as a user calling it would pay. Wall time depends on how busy the
machine is; "cpu" is the process CPU time of the same calls (all threads), a load-independent
figure. The "same" column checks determinism: a second run returns the identical value.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from kinesonic.kinematics import detect_events, motion_strength
from kinesonic.metrics import (
    apcc,
    av_align,
    detect_onsets,
    event_timing_error,
    impact_onset_strengths,
    match_onsets,
    motion_audio_intensity_correlation,
    trajectory_error,
)
from kinesonic.metrics.evaluate import evaluate_clip
from kinesonic.metrics.onsets import onset_envelope, strength_at
from kinesonic.metrics.synthetic import SR, bouncing_ball, shifted


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float, float, object]:
    fn()  # warm-up (imports, caches)
    times, cpu, value = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), min(times), statistics.median(cpu), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels")
    parser.add_argument("--fps", type=float, default=24.0)
    args = parser.parse_args()

    clip = bouncing_ball(duration=2.0, fps=args.fps, size=args.size)
    tracks, audio, frames = clip["tracks"], clip["audio"], clip["frames"]
    ref = shifted(audio, 0.02)
    impact_times = [e["time_s"] for e in clip["physics"]["events"]]
    ke = [e["delta_ke_J"] for e in clip["physics"]["events"]]
    measured = tracks.replace(points=tracks.points + 1.5)

    def ete() -> float:
        return event_timing_error(detect_events(tracks), detect_onsets(audio, SR))

    def maic() -> float:
        return motion_audio_intensity_correlation(motion_strength(tracks), audio)

    def apcc_clip() -> float:
        return apcc(ke, impact_onset_strengths(audio, SR, impact_times))

    def te() -> float:
        return trajectory_error(tracks.points, measured.points, tracks.width, tracks.height)[0]

    def avalign() -> float:
        return av_align(frames, tracks.fps, detect_onsets(audio, SR))[0]

    def onset_ap() -> float:
        env, t = onset_envelope(audio, SR)
        gen = detect_onsets(audio, SR)
        return match_onsets(detect_onsets(ref, SR), gen, strength_at(env, t, gen)).ap

    def everything() -> float:
        rep = evaluate_clip(
            tracks,
            audio,
            SR,
            frames=frames,
            reference_audio=ref,
            physics=clip["physics"],
            measured_tracks=measured,
        )
        return rep.values["ete_s"]

    rows = [
        ("ETE (detect_events + onsets + DP)", ete),
        ("MAIC (motion_strength + log energy)", maic),
        ("APCC (onset strength at impacts)", apcc_clip),
        ("TE", te),
        ("AV-Align (Farneback flow + onsets)", avalign),
        ("onset acc / AP (two onset passes)", onset_ap),
        ("evaluate_clip (all of the above)", everything),
    ]
    t_frames, h, w = frames.shape[:3]
    print(f"clip: 2.0 s, {t_frames} frames {w}x{h} @ {args.fps:g} fps, audio {audio.size} samples @ {SR} Hz")
    print(f"repeats: {args.repeats}\n")
    print("| metric | wall median (s) | wall min (s) | cpu median (s) | value | same |")
    print("|---|---:|---:|---:|---:|:---:|")
    for name, fn in rows:
        med, best, cpu, value = _time(fn, args.repeats)
        again = fn()
        same = "yes" if (value == again or (np.isnan(value) and np.isnan(again))) else "NO"
        print(f"| {name} | {med:.4f} | {best:.4f} | {cpu:.4f} | {value:.4f} | {same} |")


if __name__ == "__main__":
    main()
