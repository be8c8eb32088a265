"""Camera scale (pixels per metre): from gravity on free-flight parts of the tracks, a known size or the user.

**Gravity.** In free flight a centre of mass moves on a parabola whose vertical acceleration is
``g`` (9.81 m/s²) and whose horizontal acceleration is 0 (no drag in the world; a real ball's drag
is small over a second). A side-view camera sees it as ``y(t) = a t²/2 + b t + c`` in pixels, so
``a`` (px/s²) = ``g · px_per_m``. Every segment of a track between two contacts
(:func:`.motion.segments`) with enough visible frames is fitted with a quadratic in x and y; it is
free flight when (all thresholds below are module constants):

- it has at least :data:`MIN_FLIGHT_FRAMES` consecutive visible frames away from the image border
  (the longest such run that the quadratic fits is used: a bounce the detector missed splits it),
- the vertical acceleration points down and the parabola bends by at least
  :data:`MIN_BEND_PX` over the segment (an object at rest or sliding has ``a_y ≈ 0``),
- the horizontal acceleration is under :data:`MAX_AX_RATIO` of the vertical one (a ball rolling
  down a ramp of slope θ has ``a_x / a_y = 1 / tan θ``, about 2-4 in the world; friction gives
  ``a_x`` without ``a_y``),
- the quadratic explains the positions to :data:`MAX_RMS_PX` RMS.

All free-flight segments are then fitted together with one shared ``a`` (each with its own
``b``, ``c``); ``px_per_m = a / g``. The relative uncertainty is the largest of the least-squares
standard error of ``a``, the most precise flight's own standard error (residuals of at least
:data:`NOISE_FLOOR_PX`) over the square root of the number of flights, and, with two or more
segments, the spread (median absolute deviation) of the per-segment estimates around the joint one.
Flights that disagree with the most precise one (the least standard error of its acceleration from
its own residuals) by more than :data:`CONSISTENCY` and three of that standard error are left out:
a contact time off by a frame bends a flight. The joint fit weights each flight by the inverse of
its residual RMS.

**Known size.** ``px_per_m = size_px / size_m`` for an object whose size (ball radius or box
half-width, m) the user gives, its pixel size measured from the mask (:mod:`.mass`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .motion import segments

GRAVITY = 9.81
MIN_FLIGHT_FRAMES = 4
MIN_BEND_PX = 1.0
MAX_AX_RATIO = 0.15
MAX_RMS_PX = 0.3
#: Tracker noise (px) assumed at least (a 4-frame flight leaves 1 residual degree of freedom per axis,
#: so its own residuals understate the noise); measured flights at 64 px have RMS 0.05-0.15 px.
NOISE_FLOOR_PX = 0.1
#: Flights whose acceleration differs from the most precise flight's by more than this fraction (and
#: 3 of its standard errors) are left out: a contact the detector misplaced bends a flight.
CONSISTENCY = 0.08
#: Frames whose point lies within this many pixels of the image border are not used (partly seen blobs).
BORDER_PX = 2.0


@dataclass
class Scale:
    """Pixels per metre and where it came from.

    ``source``: "user", "gravity", "object size" or "none" (``px_per_m`` NaN); ``uncertainty`` is the
    relative 1-sigma uncertainty (0 for "user"); ``detail`` says what was used.
    """

    px_per_m: float
    source: str
    uncertainty: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.source != "none" and bool(np.isfinite(self.px_per_m))

    def to_dict(self) -> dict[str, Any]:
        return {
            "px_per_m": float(self.px_per_m),
            "source": self.source,
            "relative_uncertainty": float(self.uncertainty),
            **self.detail,
        }


@dataclass(frozen=True)
class Flight:
    """One free-flight segment: track, frames used, vertical acceleration (px/s²), fit RMS (px)."""

    track: int
    frames: np.ndarray
    accel_px_s2: float
    rms_px: float
    rel_error: float  # relative standard error of accel_px_s2 (noise floor NOISE_FLOOR_PX)


def _quad_fit(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A = np.stack([0.5 * t * t, t, np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(A, p, rcond=None)
    return coef, p - A @ coef


def _inside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    x, y = points[..., 0], points[..., 1]
    b = BORDER_PX
    return (x >= b - 0.5) & (x <= width - 0.5 - b) & (y >= b - 0.5) & (y <= height - 0.5 - b)


def _longest_parabola(
    points: np.ndarray, frames: np.ndarray, fps: float
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Longest run of consecutive ``frames`` one quadratic fits to :data:`MAX_RMS_PX` (ties: least RMS)."""
    n = frames.size
    for length in range(n, MIN_FLIGHT_FRAMES - 1, -1):
        best = None
        for i in range(n - length + 1):
            f = frames[i : i + length]
            if f[-1] - f[0] != length - 1:  # a gap of invisible frames
                continue
            t = f / fps
            coef, res = _quad_fit(t - t.mean(), points[f])
            rms = float(np.sqrt(np.mean(np.sum(res * res, axis=1))))
            if rms <= MAX_RMS_PX and (best is None or rms < best[2]):
                best = (f, coef, rms)
        if best is not None:
            return best
    return None


def free_flights(
    points: np.ndarray,
    visible: np.ndarray,
    cuts: list[float] | np.ndarray,
    fps: float,
    width: int,
    height: int,
) -> list[Flight]:
    """Free-flight segments of the tracks (see the module doc); ``points [T,N,2]`` px, ``cuts`` in frames."""
    usable = visible & _inside(points, width, height) & np.isfinite(points).all(-1)
    out = []
    for seg in segments(usable, cuts):
        found = _longest_parabola(points[:, seg.track], seg.frames, fps)
        if found is None:
            continue
        frames, coef, rms = found
        ax, ay = coef[0]
        span = (frames[-1] - frames[0]) / fps
        if ay <= 0 or ay * span * span / 8.0 < MIN_BEND_PX or abs(ax) > MAX_AX_RATIO * ay:
            continue
        t = frames / fps
        t = t - t.mean()
        A = np.stack([0.5 * t * t, t, np.ones_like(t)], axis=1)
        dof = max(2 * (frames.size - 3), 1)
        sigma = max(rms * np.sqrt(2 * frames.size / dof), NOISE_FLOOR_PX)
        se = sigma * float(np.sqrt(np.linalg.pinv(A.T @ A)[0, 0]))
        out.append(Flight(seg.track, frames, float(ay), rms, se / float(ay)))
    return out


def scale_from_gravity(
    points: np.ndarray,
    visible: np.ndarray,
    cuts: list[float] | np.ndarray,
    fps: float,
    width: int,
    height: int,
) -> Scale:
    """Scale from the free-flight segments (module doc); source "none" when there is none."""
    found = free_flights(points, visible, cuts, fps, width, height)
    if not found:
        return Scale(float("nan"), "none", float("nan"), {"reason": "no free-flight segment in the tracks"})
    anchor = min(found, key=lambda f: f.rel_error)
    flights = [
        f
        for f in found
        if abs(f.accel_px_s2 / anchor.accel_px_s2 - 1.0) <= max(CONSISTENCY, 3.0 * anchor.rel_error)
    ]
    # joint fit: y = a t²/2 + b_i t + c_i over all flights
    rows, ys = [], []
    k = len(flights)
    for i, f in enumerate(flights):
        t = f.frames / fps
        t = t - t.mean()
        block = np.zeros((t.size, 1 + 2 * k))
        block[:, 0] = 0.5 * t * t
        block[:, 1 + 2 * i] = t
        block[:, 2 + 2 * i] = 1.0
        w = 1.0 / max(f.rms_px, NOISE_FLOOR_PX)
        rows.append(block * w)
        ys.append(points[f.frames, f.track, 1] * w)
    A, y = np.concatenate(rows), np.concatenate(ys)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    a = float(coef[0])
    dof = max(A.shape[0] - A.shape[1], 1)
    sigma2 = float(np.sum((y - A @ coef) ** 2)) / dof
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    rel = float(np.sqrt(max(cov[0, 0], 0.0))) / a if a > 0 else float("nan")
    per = np.array([f.accel_px_s2 for f in flights])
    rel = max(rel, anchor.rel_error / np.sqrt(len(flights)))  # not below the tracker-noise floor
    if per.size >= 2:
        rel = max(rel, float(np.median(np.abs(per / a - 1.0))) * 1.4826)
    if a <= 0:
        return Scale(
            float("nan"), "none", float("nan"), {"reason": "free flight does not accelerate downwards"}
        )
    detail = {
        "flight_segments": len(flights),
        "inconsistent_segments": len(found) - len(flights),
        "flight_frames": int(sum(f.frames.size for f in flights)),
        "segment_px_per_m": [float(v) for v in per / GRAVITY],
    }
    return Scale(a / GRAVITY, "gravity", rel, detail)


def scale_from_size(size_px: float, size_m: float, size_uncertainty: float = 0.0) -> Scale:
    """Scale from an object's measured size ``size_px`` (px) and its known size ``size_m`` (m)."""
    if not (np.isfinite(size_px) and size_px > 0 and size_m > 0):
        return Scale(
            float("nan"), "none", float("nan"), {"reason": "the object's size could not be measured"}
        )
    return Scale(size_px / size_m, "object size", float(size_uncertainty), {"object_size_m": float(size_m)})


def user_scale(px_per_m: float) -> Scale:
    """A scale the user gives (pixels per metre)."""
    return Scale(float(px_per_m), "user", 0.0, {})
