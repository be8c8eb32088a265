"""Visual events (contacts) and the clip-level motion-strength signal."""

from __future__ import annotations

import numpy as np

from .tracks import Tracks


def detect_events(tracks: Tracks) -> list[float]:
    """Visual event times in seconds (frame i at i / fps)."""
    raise NotImplementedError


def motion_strength(tracks: Tracks) -> np.ndarray:
    """``[T]`` clip-level motion strength."""
    raise NotImplementedError
