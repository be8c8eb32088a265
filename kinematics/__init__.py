"""Kinesonic kinematics: numpy maths on point tracks (no torch, no ComfyUI).

Importing this package pulls only numpy; findiff and scipy are imported inside the functions that
need them. See docs/kinematics.md for the API, units and file formats.
"""

from .encode import encode_kinematics, latent_kinematic_state
from .events import Event, detect_events, find_events, motion_strength
from .features import (
    MIN_FRAMES,
    STATE_NAMES,
    KinematicStats,
    align_array,
    align_to_latent,
    compress_state,
    decompress_state,
    kinematic_state,
    signed_exp,
    signed_log,
)
from .grid import latent_grid_size, project_to_grid, soft_trajectory_mask, trajectory_mask
from .tracks import FORMAT_NAME, FORMAT_VERSION, MissingSizeError, Tracks, shortest_decimal

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MIN_FRAMES",
    "STATE_NAMES",
    "Event",
    "KinematicStats",
    "MissingSizeError",
    "Tracks",
    "align_array",
    "align_to_latent",
    "compress_state",
    "decompress_state",
    "detect_events",
    "encode_kinematics",
    "find_events",
    "kinematic_state",
    "latent_grid_size",
    "latent_kinematic_state",
    "motion_strength",
    "project_to_grid",
    "signed_exp",
    "shortest_decimal",
    "signed_log",
    "soft_trajectory_mask",
    "trajectory_mask",
]
