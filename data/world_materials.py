"""Material table of the procedural physics world (physical and acoustic constants).

Units: density kg/m^3, frequencies Hz, decay times s. Mode frequencies of an object are
``f0_hz * ratios * (ref_size_m / size_m)`` where ``size_m`` is the ball radius or half the
box's longest side, so smaller objects ring higher.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    """Physical and acoustic description of one material.

    ``restitution`` and ``friction`` are pymunk's per-shape elasticity and friction (pymunk
    multiplies the two shapes' values). ``ratios``/``gains`` give the modal partials relative to
    ``f0_hz``; partial k decays with time constant ``decay_s / (1 + damping_slope * k)``.
    ``noise_band_hz`` is the band of its friction noise; ``color`` a base RGB colour (0..255);
    ``rolling_resistance`` the dimensionless rolling-resistance coefficient of a ball of it.
    """

    name: str
    adjective: str
    density: float
    restitution: float
    friction: float
    f0_hz: float
    ratios: tuple[float, ...]
    gains: tuple[float, ...]
    decay_s: float
    damping_slope: float
    click: float
    noise_band_hz: tuple[float, float]
    color: tuple[int, int, int]
    rolling_resistance: float = 0.01


REF_SIZE_M = 0.06

MATERIALS: dict[str, Material] = {
    "rubber": Material(
        "rubber",
        "rubber",
        1100.0,
        0.82,
        0.95,
        170.0,
        (1.0, 1.58, 2.31),
        (1.0, 0.5, 0.25),
        0.018,
        0.6,
        0.15,
        (150.0, 1200.0),
        (200, 45, 40),
        0.025,
    ),
    "wood": Material(
        "wood",
        "wooden",
        650.0,
        0.5,
        0.55,
        520.0,
        (1.0, 2.57, 4.23, 6.14),
        (1.0, 0.6, 0.35, 0.2),
        0.045,
        0.8,
        0.35,
        (400.0, 3000.0),
        (160, 110, 60),
        0.012,
    ),
    "metal": Material(
        "metal",
        "metal",
        7800.0,
        0.62,
        0.3,
        1900.0,
        (1.0, 2.76, 5.40, 8.93),
        (1.0, 0.7, 0.5, 0.3),
        0.45,
        0.35,
        0.5,
        (2500.0, 7000.0),
        (170, 175, 185),
        0.004,
    ),
    "glass": Material(
        "glass",
        "glass",
        2500.0,
        0.7,
        0.35,
        2600.0,
        (1.0, 2.32, 4.25, 6.63),
        (1.0, 0.6, 0.4, 0.25),
        0.22,
        0.5,
        0.6,
        (2000.0, 6500.0),
        (150, 210, 220),
        0.005,
    ),
    "plastic": Material(
        "plastic",
        "plastic",
        1000.0,
        0.68,
        0.4,
        850.0,
        (1.0, 1.93, 3.28, 4.95),
        (1.0, 0.55, 0.35, 0.2),
        0.06,
        0.7,
        0.4,
        (800.0, 4500.0),
        (60, 140, 210),
        0.009,
    ),
    # surface-only material (floors)
    "stone": Material(
        "stone",
        "stone",
        2400.0,
        0.75,
        0.75,
        420.0,
        (1.0, 2.2, 3.9),
        (1.0, 0.5, 0.3),
        0.02,
        1.0,
        0.6,
        (600.0, 5000.0),
        (125, 125, 120),
    ),
}

OBJECT_MATERIALS: tuple[str, ...] = ("rubber", "wood", "metal", "glass", "plastic")
SURFACE_MATERIALS: tuple[str, ...] = ("wood", "stone", "metal")
