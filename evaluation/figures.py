"""Pictures of the world evaluation: generated vs simulator, and one clip across the table's rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _logmel(audio: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=audio.astype(np.float32), sr=sr, n_fft=512, hop_length=128, n_mels=64
    )
    return librosa.power_to_db(mel + 1e-10, ref=1.0, top_db=None)


#: Dynamic range (dB) of the spectrogram pictures, below the loudest panel of a figure.
TOP_DB = 80.0


def _shared_scale(specs: list[np.ndarray]) -> dict[str, float]:
    """One colour scale for every spectrogram of a figure (loudest bin to 80 dB under it), so that a
    quiet sound looks quiet next to a loud one instead of being stretched to its own range."""
    top = max(float(np.max(s)) for s in specs)
    return {"vmin": top - TOP_DB, "vmax": top}


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure to ``path`` atomically (temp file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    from ..media.files import atomic_output

    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)


def figure(path: Path, clip: Any, frames: np.ndarray, audio: np.ndarray, title: str) -> None:
    """Side by side: ground-truth vs generated frames (every 4th) and spectrograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = list(range(0, clip.frames.shape[0], 4))
    fig = plt.figure(figsize=(11, 5.6), dpi=110)
    grid = fig.add_gridspec(4, len(idx), height_ratios=[1, 1, 1.1, 1.1])
    for row, (src, label) in enumerate(((clip.frames, "simulator"), (frames, "generated"))):
        for col, t in enumerate(idx):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(src[t], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
            if row == 0:
                ax.set_title(f"{t / clip.fps:.2f} s", fontsize=7)
            if row == 1:
                pts = clip.tracks.points[t]
                ax.plot(pts[:, 0], pts[:, 1], "+", color="red", ms=6)
    duration = clip.frames.shape[0] / clip.fps
    n = int(duration * clip.sample_rate)
    specs = [_logmel(wave[:n], clip.sample_rate) for wave in (clip.audio, audio)]
    scale = _shared_scale(specs)
    for row, (spec, label) in enumerate(
        zip(specs, ("simulator sound", "generated sound"), strict=True), start=2
    ):
        ax = fig.add_subplot(grid[row, :])
        ax.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, 64), cmap="magma", **scale)
        for e in clip.events:
            ax.axvline(e["time_s"], color="cyan", lw=0.8, ls="--")
        ax.set_ylabel(label, fontsize=8)
        ax.set_yticks([])
        if row == 3:
            ax.set_xlabel(
                "time (s); dashed = simulated impacts; red + = conditioning track; "
                "both spectrograms on one dB scale"
            )
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def ablation_figure(path: Path, clip: Any, name: str, rows: list[tuple[str, Path]]) -> None:
    """One held-out clip across the table's rows: frames (every 8th) and the sound's log-mel per row,
    read back from each row's ``<name>.mp4`` (what was scored)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..media import read_video

    idx = list(range(0, clip.frames.shape[0], 8))
    duration = clip.frames.shape[0] / clip.fps
    fig = plt.figure(figsize=(11, 1.45 * len(rows)), dpi=110)
    grid = fig.add_gridspec(len(rows), len(idx) + 1, width_ratios=[1] * len(idx) + [4.5])
    videos = [read_video(folder / f"{name}.mp4") for _, folder in rows]
    specs = [
        _logmel(data.audio.mean(axis=0)[: int(duration * data.sample_rate)], data.sample_rate)
        for data in videos
    ]
    scale = _shared_scale(specs)
    for r, ((label, _), data, spec) in enumerate(zip(rows, videos, specs, strict=True)):
        for c, t in enumerate(idx):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(data.frames[t], interpolation="nearest")
            pts = clip.tracks.points[t]
            ax.plot(pts[:, 0], pts[:, 1], "+", color="red", ms=5)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label.replace(" ", "\n", 1), fontsize=7)
            if r == 0:
                ax.set_title(f"{t / clip.fps:.2f} s", fontsize=7)
        ax = fig.add_subplot(grid[r, len(idx)])
        ax.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, 64), cmap="magma", **scale)
        for e in clip.events:
            ax.axvline(e["time_s"], color="cyan", lw=0.8, ls="--")
        ax.set_yticks([])
        if r < len(rows) - 1:
            ax.set_xticks([])
    fig.suptitle(
        f"{clip.kind} (held-out seed {clip.seed}): red + = conditioning track, dashed = simulated impacts; "
        "all spectrograms on one dB scale",
        fontsize=8,
    )
    save_figure(fig, path)
