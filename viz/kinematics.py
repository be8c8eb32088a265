"""Plot of a KINEMATICS value: speed and acceleration of every object over time (matplotlib)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .tracks import track_colours


def plot_kinematics(kin: dict[str, Any], width: int = 960, height: int = 540) -> np.ndarray:
    """Speed |v| and acceleration |a| per object over time, events as dashed lines.

    Args:
        kin: a KINEMATICS dict: ``state [T, N, >=8]`` (column 6 speed in image sizes / s, column 7
            acceleration in image sizes / s²), ``visible [T, N]``, ``fps``, optional ``labels``
            and ``events`` (times in s).
        width, height: picture size in pixels.

    Returns:
        RGB uint8 ``[height, width, 3]``; hidden stretches are overdrawn in grey. Matplotlib's Agg
        canvas is used without pyplot (no global backend is set).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    state = np.asarray(kin["state"], dtype=np.float64)
    visible = np.asarray(kin["visible"], dtype=bool)
    T, N = state.shape[:2]
    times = np.arange(T) / float(kin["fps"])
    labels = list(kin.get("labels") or [f"track_{n}" for n in range(N)])
    events = [float(e) for e in kin.get("events", [])]
    colours = [tuple(c / 255 for c in rgb) for rgb in track_colours(N)]

    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, title in (
        (axes[0], 6, "speed |v|  (image sizes / s)"),
        (axes[1], 7, "acceleration |a|  (image sizes / s²)"),
    ):
        for n in range(N):
            y = state[:, n, column]
            ax.plot(times, y, color=colours[n], lw=1.8, label=labels[n] if column == 6 else None)
            hidden = np.where(visible[:, n], np.nan, y)
            ax.plot(times, hidden, color="0.6", lw=3, alpha=0.6)
        for i, t in enumerate(events):
            ax.axvline(t, color="black", ls="--", lw=1.2, label="event" if (column == 6 and i == 0) else None)
        ax.set_ylabel(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[1].set_xlabel("time (s)")
    if N + bool(events) <= 12:
        axes[0].legend(loc="upper right", fontsize=8, ncol=min(4, N + 1))
    fig.suptitle(
        f"Kinematics — {N} object(s), {T} frames at {float(kin['fps']):g} fps, {len(events)} event(s)",
        fontsize=10,
    )
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3]
    if image.shape[:2] != (height, width):  # rounding of figure inches
        padded = np.full((height, width, 3), 255, dtype=np.uint8)
        h, w = min(height, image.shape[0]), min(width, image.shape[1])
        padded[:h, :w] = image[:h, :w]
        image = padded
    return np.ascontiguousarray(image)
