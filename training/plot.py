"""Loss-curve picture of a training log (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_SERIES = (
    ("autoencoder", "loss", "autoencoder reconstruction"),
    ("dit", "loss", "DiT total"),
    ("dit", "video_inside", "video (trajectory region)"),
    ("dit", "video_outside", "video (rest)"),
    ("dit", "audio", "audio"),
)


def loss_curve_image(rows: Sequence[dict[str, Any]], width: int = 900, height: int = 400) -> np.ndarray:
    """uint8 ``[height, width, 3]`` RGB plot of the logged losses (log scale) against the step.

    ``rows`` are :func:`.trainer.read_log` rows. Left panel: autoencoder stage; right: DiT stage.
    An empty log gives a picture saying so.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    dpi = 100
    fig, axes = plt.subplots(1, 2, figsize=(width / dpi, height / dpi), dpi=dpi)
    try:
        for ax, stage in zip(axes, ("autoencoder", "dit"), strict=True):
            drawn = False
            for st, key, label in _SERIES:
                if st != stage:
                    continue
                pts = [(r["step"], r.get(key, np.nan)) for r in rows if r["stage"] == stage]
                pts = [(s, v) for s, v in pts if np.isfinite(v) and v > 0]
                if pts:
                    s, v = zip(*pts, strict=True)
                    ax.plot(s, v, label=label, lw=1.2)
                    drawn = True
            ax.set_title("autoencoder stage" if stage == "autoencoder" else "twin DiT stage")
            ax.set_xlabel("step")
            if drawn:
                ax.set_yscale("log")
                ax.legend(fontsize=7)
                ax.grid(alpha=0.3)
            else:
                ax.text(0.5, 0.5, "no steps logged", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    finally:
        plt.close(fig)
    return image


__all__ = ["loss_curve_image"]
