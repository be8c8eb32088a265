"""Figure for docs/kinematics.md: a test-bed track, its acceleration and the detected events.

Usage: ``python scripts/make_events_figure.py [--out docs/images/events_detector.png] [--seed 0]``

One ``bounce`` clip of :mod:`kinesonic.data.footage` (128x96, ``--fps`` 60, H.264 crf 23), tracked with
``perception.extract_tracks`` (classic + lk). Top: the tracked height (px, y down) with the true
impacts (grey), the events of the detector of ``--baseline`` (git revision, red) and of
``kinematics.events`` now (blue). Middle: the acceleration ``|D2|`` (image sizes per second²) the
2-frame model reads, with each event's free-flight ``snr`` ("-": not testable). Bottom: the model
scan's free-flight ``snr`` at every bracket (the best of its models, :func:`.flight.scan_models`; a
window that is not clean free flight or not a sudden change is left out) and its threshold
``scan_snr``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images/events_detector.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument(
        "--baseline", default="a641e94", help="git revision of the previous detector ('' = none)"
    )
    args = parser.parse_args()

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_footage import load_revision

    from kinesonic.data.footage import make_clip
    from kinesonic.kinematics import events
    from kinesonic.kinematics.flight import MAX_WINDOW, MIN_WINDOW, scan_models, white_noise_px
    from kinesonic.media.files import atomic_output
    from kinesonic.perception import extract_tracks

    clip = make_clip(args.seed, scene="bounce", fps=args.fps)
    tracks = extract_tracks(clip.frames, clip.fps).tracks()
    t = tracks.times
    y = tracks.interpolated()[:, 0, 1]
    d2 = np.full(len(t), np.nan)
    p = tracks.interpolated()[:, 0]
    d2[1:-1] = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1) * tracks.fps**2 / tracks.scale
    default = load_revision(args.baseline).find_events(tracks) if args.baseline else []
    free = events.find_events(tracks)

    window = int(np.clip(round(0.25 * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    d2xy = np.full(p.shape, np.nan)
    d2xy[1:-1] = p[2:] - 2 * p[1:-1] + p[:-2]
    noise = np.array([white_noise_px(d2xy)])
    threshold = 8.0  # find_events' scan_snr
    ratio, _ = scan_models(
        p[:, None], tracks.visible[:, :1], noise, events._scan_models(window), gate=threshold
    )
    scan = np.fmax.reduce(ratio[:, :, 0], axis=0)  # the best model per bracket (NaN: none tested)
    scan_t = (np.arange(scan.shape[0]) + 1.5) / tracks.fps

    fig = Figure(figsize=(9, 6.6), dpi=100)
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    ax1.plot(t, y, ".-", color="black", lw=1, ms=3, label="tracked y (px)")
    for i, imp in enumerate(clip.impacts):
        for ax in (ax1, ax2, ax3):
            ax.axvline(
                imp.time_s,
                color="0.75",
                lw=3,
                zorder=0,
                label="true impact" if i == 0 and ax is ax1 else None,
            )
    for e in default:
        ax1.axvline(
            e.time_s,
            color="tab:red",
            lw=1,
            ls="--",
            label=f"before ({args.baseline})" if e is default[0] else None,
        )
    for e in free:
        ax1.axvline(e.time_s, color="tab:blue", lw=1.5, ls=":", label="now" if e is free[0] else None)
        ax2.axvline(e.time_s, color="tab:blue", lw=1, ls=":")
        text = "snr -" if np.isnan(e.snr) else f"snr {e.snr:.0f}"
        ax2.annotate(text, (e.time_s, np.nanmax(d2) * 0.9), color="tab:blue", fontsize=7, ha="center")
    ax1.invert_yaxis()
    ax1.set_ylabel("y (px, down)")
    ax1.legend(fontsize=7, loc="lower right")
    ax1.set_title(
        f"test-bed bounce, 128x96 at {clip.fps:g} fps, H.264 crf 23, tracked (classic + lk); "
        f"{len(clip.impacts)} true impacts",
        fontsize=9,
    )
    ax2.plot(t, d2, ".-", color="tab:green", lw=1, ms=3)
    ax2.set_ylabel("|D2| (image sizes / s²)")
    ax3.plot(scan_t, scan, ".-", color="tab:purple", lw=1, ms=3, label="model scan snr (best model)")
    ax3.axhline(threshold, color="tab:purple", lw=1, ls="--", label=f"scan threshold ({threshold:g})")
    for e in free:
        ax3.axvline(e.time_s, color="tab:blue", lw=1, ls=":")
    ax3.set_yscale("log")
    ax3.set_ylabel("free-flight snr")
    ax3.legend(fontsize=7, loc="upper right")
    ax3.set_xlabel("time (s)")
    fig.tight_layout()
    out = Path(args.out)
    with atomic_output(out) as tmp:
        FigureCanvasAgg(fig).print_png(str(tmp))
    found = {name: [round(e.time_s, 3) for e in ev] for name, ev in (("before", default), ("now", free))}
    print(f"wrote {out}: {found}")


if __name__ == "__main__":
    main()
