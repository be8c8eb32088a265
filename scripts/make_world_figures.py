"""Make the README/docs figures of the physics world from the project's own code.

    python scripts/make_world_figures.py [--seed 12] [--scene drop] [--out docs/images]

Writes ``world_strip.png`` (every 4th frame of one 256 px clip, ground-truth centre-of-mass track
drawn as dots and the contact events marked), ``world_spectrogram.png`` (waveform and log-mel
spectrogram of the same clip's audio with the ground-truth contact times as dashed lines) and
``world_scenes.png`` (one frame of each scene type at 128 px with its caption).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--scene", default="drop")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "images"))
    args = parser.parse_args()

    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kinesonic.data.world import synth_clip

    clip = synth_clip(args.seed, size=args.size, scene=args.scene)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    step = 4
    shown = list(range(0, clip.tracks.num_frames, step))
    fig, axes = plt.subplots(1, len(shown), figsize=(1.9 * len(shown), 2.35), dpi=110)
    event_frames = {round(e["time_s"] * clip.fps) for e in clip.events if e["approach_speed_mps"] >= 0.3}
    for ax, f in zip(axes, shown, strict=True):
        ax.imshow(clip.frames[f], interpolation="nearest")
        for n in range(len(clip.labels)):
            past = clip.tracks.points[: f + 1, n]
            seen = clip.tracks.visible[: f + 1, n]
            ax.plot(past[seen, 0], past[seen, 1], ".", ms=2.5, color="white", alpha=0.9)
        hit = any(abs(f - g) <= step // 2 for g in event_frames)
        ax.set_title(f"t = {f / clip.fps:.2f} s" + (" *" if hit else ""), fontsize=8)
        ax.set_axis_off()
    fig.suptitle(
        f"seed {clip.seed}: {clip.caption}  (dots: ground-truth track; * contact nearby)", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(out / "world_strip.png")
    plt.close(fig)

    sr = clip.sample_rate
    y = clip.audio.astype(float)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=64, n_mels=80, fmax=sr / 2)
    db = librosa.power_to_db(mel, ref=1.0, top_db=90)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 4.6), dpi=80, sharex=True, height_ratios=(1, 2.2))
    t = np.arange(len(y)) / sr
    ax0.plot(t, y, lw=0.5, color="black")
    ax0.set_ylabel("amplitude")
    ax0.set_ylim(-1, 1)
    extent = (0, len(y) / sr, 0, mel.shape[0])
    ax1.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma")
    ax1.set_ylabel("mel band")
    ax1.set_xlabel("time (s)")
    for e in clip.events:
        for ax in (ax0, ax1):
            ax.axvline(e["time_s"], color="tab:cyan", lw=0.8, ls="--")
    ax0.set_title(
        f"16 kHz audio of the same clip; dashed: ground-truth contact times ({len(clip.events)} events)"
    )
    fig.tight_layout()
    fig.savefig(out / "world_spectrogram.png")
    plt.close(fig)
    from kinesonic.data.world import SCENES

    fig, axes = plt.subplots(2, 3, figsize=(9, 6.6), dpi=90)
    for k, (ax, kind) in enumerate(zip(axes.ravel(), SCENES, strict=True)):
        example = synth_clip(args.seed + 1 + k, size=128, scene=kind)
        frame = min(int(0.6 * example.fps), example.tracks.num_frames - 1)
        ax.imshow(example.frames[frame], interpolation="nearest")
        for n in range(len(example.labels)):
            seen = example.tracks.visible[:, n]
            ax.plot(*example.tracks.points[seen, n].T, ".", ms=2, color="white", alpha=0.8)
        words = example.caption.split()
        half = len(words) // 2
        ax.set_title(f"{kind}: " + " ".join(words[:half]) + "\n" + " ".join(words[half:]), fontsize=7.5)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out / "world_scenes.png")
    plt.close(fig)
    print(f"wrote world_strip.png, world_spectrogram.png and world_scenes.png to {out}: {clip.caption}")


if __name__ == "__main__":
    main()
