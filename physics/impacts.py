"""Impacts from the tracks: contact times from the visual-event detector, then per-contact physics.

The contact times come from :mod:`kinesonic.kinematics.events` through :func:`contact_times`, the
only call site (the detector's output is used for its **times** only, so a rewrite of it only needs
that function kept). Everything else is measured here from the tracks:

- participants: every track whose velocity jumps at the contact by at least
  :data:`MIN_JUMP_FRACTION` of the largest jump there (and :data:`MIN_JUMP_PX` px/frame); one
  participant means an impact with the scenery (index -1), two (the strongest) an impact between
  objects;
- pre/post velocity of each participant: its segment fits on either side extrapolated to the
  contact time (:func:`.motion.velocity_jump`), converted to m/s with the scale;
- ``approach_speed_mps``: the relative velocity before the contact along the direction of the
  first participant's velocity jump (the contact normal when friction is small);
- ``impulse_Ns`` = ``m |v_after - v_before|`` of the first participant (for two objects, the
  mean of both, whose impulses are equal and opposite in truth);
- ``delta_ke_J`` = translational kinetic energy of the participants just after minus just before
  (rotation is not seen: see docs/physics.md).

Quantities that need an unknown mass or scale are NaN, never guessed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .motion import velocity_jump

MIN_JUMP_FRACTION = 0.25
MIN_JUMP_PX = 0.5


def contact_times(tracks: Any) -> list[float]:
    """Contact times in seconds of the visual events of ``tracks`` (:class:`kinematics.Tracks`).

    The one call into the visual-event detector; needs at least 4 frames (fewer: no events).
    """
    from ..kinematics.events import detect_events

    if tracks.num_frames < 4:
        return []
    return [float(t) for t in detect_events(tracks)]


def impact_events(
    points: np.ndarray,
    visible: np.ndarray,
    times_s: list[float],
    fps: float,
    px_per_m: float,
    masses: np.ndarray,
    labels: list[str],
    materials: list[str | None],
    sizes_m: np.ndarray,
    height: int,
) -> list[dict[str, Any]]:
    """Events in the simulator's schema (docs/world.md) from contact times and the tracks.

    Args:
        points, visible: ``[T, N, 2]`` px and ``[T, N]`` (invisible points may be anything finite).
        times_s: contact times (s). fps: frames per second. px_per_m: scale (NaN: speeds unknown).
        masses: ``[N]`` kg (NaN where unknown). labels, materials: per object. sizes_m: ``[N]`` m.
        height: image height (px); ``position_m`` is in metres from the image's lower-left corner
            (x right, y up: the world's axes, its origin unknown to the camera).
    """
    cuts = [t * fps for t in times_s]
    ms = px_per_m / fps  # px/frame per (m/s)
    out = []
    for t in times_s:
        c = t * fps
        jumps = []
        for n in range(points.shape[1]):
            v0, v1 = velocity_jump(points, visible, n, c, cuts)
            j = float(np.linalg.norm(v1 - v0)) if np.isfinite(v0).all() and np.isfinite(v1).all() else 0.0
            jumps.append((j, n, v0, v1))
        jumps.sort(key=lambda x: -x[0])
        if not jumps or jumps[0][0] < MIN_JUMP_PX:
            continue
        part = [jumps[0]]
        if len(jumps) > 1 and jumps[1][0] >= max(MIN_JUMP_FRACTION * jumps[0][0], MIN_JUMP_PX):
            part.append(jumps[1])
        part.sort(key=lambda x: x[1])
        pre, post, dke, imp = [], [], 0.0, []
        for _, n, v0, v1 in part:
            u0, u1 = v0 / ms, v1 / ms
            pre.append(float(np.linalg.norm(u0)))
            post.append(float(np.linalg.norm(u1)))
            dke += 0.5 * float(masses[n]) * (float(u1 @ u1) - float(u0 @ u0))
            imp.append(float(masses[n]) * float(np.linalg.norm(u1 - u0)))
        idx = [int(p[1]) for p in part]
        pos = points[min(int(round(c)), points.shape[0] - 1), idx[0]]
        if len(part) == 1:
            idx.append(-1)
            pre.append(0.0)
            post.append(0.0)
        # normal approach speed: the relative velocity before, along the first participant's jump
        normal = part[0][3] - part[0][2]
        normal = normal / max(float(np.linalg.norm(normal)), 1e-12)
        rel = part[0][2] - (part[1][2] if len(part) > 1 else 0.0)
        approach = abs(float(rel @ normal)) / ms
        out.append(
            {
                "time_s": float(t),
                "objects": [labels[i] if i >= 0 else "scenery" for i in idx],
                "indices": idx,
                "materials": [materials[i] if i >= 0 else None for i in idx],
                "impulse_Ns": float(np.mean(imp)),
                "approach_speed_mps": approach,
                "pre_speed_mps": pre,
                "post_speed_mps": post,
                "delta_ke_J": float(dke),
                "position_px": [float(pos[0]), float(pos[1])],
                "position_m": [float((pos[0] + 0.5) / px_per_m), float((height - 0.5 - pos[1]) / px_per_m)],
                "size_m": [float(sizes_m[i]) if i >= 0 else float("nan") for i in idx],
            }
        )
    return out
