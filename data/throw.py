"""A thrown ball in image pixels: the physics assist of the Draw Trajectories editor.

The editor gives a start point and an initial velocity in pixels of its frame (x right, y down),
a floor line ``floor_y`` (pixels) and materials; this module maps them to metres
(``pixels_per_metre``; world y up, the floor's top at y = 0), runs the pack's own rigid-body
simulator (:func:`data.world_sim.simulate`, pymunk, gravity 9.81 m/s^2, the materials'
restitution and friction) and maps the ball centre back to pixels, one point per video frame.
"""

from __future__ import annotations

import numpy as np

from .world_materials import OBJECT_MATERIALS, SURFACE_MATERIALS
from .world_sim import ObjectSpec, Scene, StaticSpec, simulate

STEPS_PER_FRAME = 60  # substeps per video frame (960 Hz at 16 fps): ~0.2 px from the exact parabola


def throw_path(
    start_px: tuple[float, float],
    velocity_px_s: tuple[float, float],
    floor_y_px: float,
    num_frames: int,
    fps: float,
    pixels_per_metre: float,
    material: str = "rubber",
    floor_material: str = "stone",
    radius_px: float = 3.0,
) -> np.ndarray:
    """Ball-centre positions ``[num_frames, 2]`` in pixels at frames ``0 .. num_frames - 1``.

    Args:
        start_px: centre at frame 0 (pixels, y down); it must be at least ``radius_px`` above the floor.
        velocity_px_s: initial velocity in pixels per second (y down: negative = upwards).
        floor_y_px: the floor line (pixels, y down); the ball's bottom bounces on it.
        pixels_per_metre: image scale (gravity is 9.81 m/s^2 = 9.81 * pixels_per_metre px/s^2).
        material: the ball's material (one of ``OBJECT_MATERIALS``), floor_material one of
            ``SURFACE_MATERIALS``; their restitution and friction set the bounces.
        radius_px: ball radius in pixels.

    Raises ``ValueError`` naming the bad argument.
    """
    if material not in OBJECT_MATERIALS:
        raise ValueError(f"material must be one of {list(OBJECT_MATERIALS)}, got {material!r}")
    if floor_material not in SURFACE_MATERIALS:
        raise ValueError(f"floor material must be one of {list(SURFACE_MATERIALS)}, got {floor_material!r}")
    if not pixels_per_metre > 0:
        raise ValueError(f"pixels_per_metre must be positive, got {pixels_per_metre!r}")
    if not radius_px > 0:
        raise ValueError(f"the ball radius must be positive, got {radius_px!r} px")
    if num_frames < 1 or not fps > 0:
        raise ValueError(
            f"need at least one frame and a positive fps, got {num_frames} frames at {fps!r} fps"
        )
    x0, y0 = (float(v) for v in start_px)
    if y0 > floor_y_px - radius_px + 1e-9:
        raise ValueError(
            f"the ball (centre y {y0:g} px, radius {radius_px:g} px) starts below the floor line at "
            f"y {floor_y_px:g} px: put it above the floor"
        )
    s = 1.0 / pixels_per_metre
    r = radius_px * s
    ball = ObjectSpec(
        "ball",
        "ball",
        material,
        (r,),
        (x0 * s, (floor_y_px - y0) * s),
        (float(velocity_px_s[0]) * s, -float(velocity_px_s[1]) * s),
    )
    floor = StaticSpec(
        "floor", floor_material, [(-1e3, -10.0), (1e3, -10.0), (1e3, 0.0), (-1e3, 0.0)], (0, 0, 0)
    )
    scene = Scene("editor_throw", [ball], [floor], (0.0, 0.0, 1.0))
    if num_frames == 1:
        return np.array([[x0, y0]])
    sim = simulate(scene, (num_frames - 1) / fps, fps, steps_per_frame=STEPS_PER_FRAME)
    pos = sim.pos[::STEPS_PER_FRAME, 0][:num_frames]
    out = np.empty((num_frames, 2))
    out[:, 0] = pos[:, 0] * pixels_per_metre
    out[:, 1] = floor_y_px - pos[:, 1] * pixels_per_metre
    out[0] = (x0, y0)  # exact start
    return out
