"""Kinesonic physics layer: scale, metric velocity, mass and impacts estimated from frames + tracks.

numpy/scipy/OpenCV only (no torch, no ComfyUI). Entry point: :func:`estimate_physics`; the result's
``physics()`` is a PHYSICS socket value interchangeable with the Physics Scene's. See docs/physics.md.
"""

from .estimate import PhysicsError, PhysicsEstimate, estimate_physics
from .scale import GRAVITY, Scale

__all__ = ["GRAVITY", "PhysicsError", "PhysicsEstimate", "Scale", "estimate_physics"]
