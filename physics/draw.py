"""Pictures of a PHYSICS value: velocity arrows and impacts on the frames, and a plot over time.

Works with the simulator's PHYSICS and the estimated one alike (only the shared keys are used).
OpenCV draws the frames, matplotlib (Agg canvas, no pyplot) the plot; both imported inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: RGB colours of objects 0, 1, ... (cycled).
PALETTE = [(230, 60, 50), (40, 140, 230), (60, 180, 75), (245, 160, 30), (150, 80, 200), (20, 190, 190)]
#: Arrow length in seconds of motion (an arrow shows where the object would be this much later).
ARROW_S = 0.15
#: Frames after an impact that show its marker (and the frame just before it).
IMPACT_FRAMES = 2


def _colour(n: int) -> tuple[int, int, int]:
    return PALETTE[n % len(PALETTE)]


def draw_physics(
    frames: np.ndarray, points: np.ndarray, visible: np.ndarray, physics: dict[str, Any], min_side: int = 256
) -> np.ndarray:
    """Frames with each object's velocity arrow and impact markers labelled with their energy.

    Args:
        frames: uint8 ``[T, H, W, 3]``. points: ``[T, N, 2]`` px (the tracks). visible: ``[T, N]``.
        physics: a PHYSICS dict (``velocity_mps`` ``[T, N, 2]``, ``px_per_m``, ``fps``, ``events``).
        min_side: small frames are enlarged (nearest neighbour) so the labels stay legible.

    Returns:
        uint8 ``[T, H', W', 3]``. Arrows are drawn where the velocity is known; an impact shows as a
        ring at its position, from the frame before it to two frames after, labelled with ``ΔKE``
        in J ("impact" when the energy is unknown).
    """
    import cv2

    T, H, W = frames.shape[:3]
    k = max(1, int(np.ceil(min_side / max(min(H, W), 1))))
    vel = np.asarray(physics["velocity_mps"], dtype=np.float64)
    ppm = float(physics.get("px_per_m", np.nan))
    fps = float(physics.get("fps", 16.0))
    out = np.empty((T, H * k, W * k, 3), dtype=np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for t in range(T):
        img = np.ascontiguousarray(np.repeat(np.repeat(frames[t], k, 0), k, 1))
        for n in range(points.shape[1]):
            if (
                not visible[t, n]
                or n >= vel.shape[1]
                or not np.isfinite(vel[t, n]).all()
                or not np.isfinite(ppm)
            ):
                continue
            p = (points[t, n] + 0.5) * k
            q = p + vel[t, n] * ppm * ARROW_S * k
            if np.isfinite(q).all():
                a, b = tuple(int(round(v)) for v in p), tuple(int(round(v)) for v in q)
                cv2.arrowedLine(img, a, b, _colour(n), max(1, k // 2), cv2.LINE_AA, tipLength=0.25)
        for e in physics.get("events", []):
            frame = float(e["time_s"]) * fps
            if not -1.0 < t - frame <= IMPACT_FRAMES:
                continue
            pos = e.get("position_px")
            if pos is None:
                continue
            c = tuple(int(round((v + 0.5) * k)) for v in pos)
            dke = e.get("delta_ke_J", float("nan"))
            text = f"dKE {dke:+.3g} J" if np.isfinite(dke) else "impact"
            cv2.circle(img, c, max(3, 3 * k), (255, 255, 0), max(1, k // 2), cv2.LINE_AA)
            org = (min(c[0] + 4 * k, img.shape[1] - 8 * len(text)), max(c[1] - 4 * k, 12))
            cv2.putText(img, text, org, font, 0.5, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(img, text, org, font, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
        out[t] = img
    return out


def plot_physics(physics: dict[str, Any], width: int = 960, height: int = 540) -> np.ndarray:
    """Speed per object (m/s), kinetic energy (J) and the impacts (|ΔKE|) over time: uint8 ``[H, W, 3]``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    vel = np.asarray(physics["velocity_mps"], dtype=np.float64)
    T, N = vel.shape[:2]
    fps = float(physics.get("fps", 16.0))
    times = np.arange(T) / fps
    labels = list(physics.get("labels") or [f"object_{n}" for n in range(N)])
    masses = np.asarray(physics.get("masses_kg", np.full(N, np.nan)), dtype=np.float64)
    events = list(physics.get("events", []))
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    ax_v, ax_e = fig.subplots(2, 1, sharex=True)
    for n in range(N):
        rgb = tuple(c / 255 for c in _colour(n))
        m = f", {masses[n]:.3g} kg" if n < masses.size and np.isfinite(masses[n]) else ", mass unknown"
        ax_v.plot(times, np.hypot(vel[:, n, 0], vel[:, n, 1]), color=rgb, lw=1.8, label=f"{labels[n]}{m}")
    ke = np.asarray(physics.get("kinetic_energy_J", np.full(T, np.nan)), dtype=np.float64)
    if np.isfinite(ke).any():
        ax_e.plot(times, ke, color="black", lw=1.5, label="kinetic energy (J)")
    for i, e in enumerate(events):
        t = float(e["time_s"])
        ax_v.axvline(t, color="0.3", ls="--", lw=1)
        dke = float(e.get("delta_ke_J", np.nan))
        if np.isfinite(dke):
            ax_e.bar(
                t,
                abs(dke),
                width=0.6 / fps,
                color="tab:orange",
                label="|ΔKE| of an impact (J)" if i == 0 else None,
            )
        else:
            ax_e.axvline(t, color="tab:orange", ls=":", lw=1.2)
    ax_v.set_ylabel("speed (m/s)")
    ax_e.set_ylabel("energy (J)")
    ax_e.set_xlabel("time (s)")
    for ax in (ax_v, ax_e):
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    if N <= 10:
        ax_v.legend(loc="upper right", fontsize=8)
    if ax_e.get_legend_handles_labels()[0]:
        ax_e.legend(loc="upper right", fontsize=8)
    src = physics.get("scale", {}).get("source") if isinstance(physics.get("scale"), dict) else None
    title = (
        f"Physics — {N} object(s), {len(events)} impact(s), {float(physics.get('px_per_m', np.nan)):.4g} px/m"
    )
    if src:
        title += f" ({src})"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
