"""The KINEMATICS bundle: everything the generator and the plots need from one clip's tracks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .events import detect_events
from .features import KinematicStats, align_array, align_to_latent, kinematic_state
from .tracks import Tracks


def latent_kinematic_state(tracks: Tracks, stride: int = 4) -> np.ndarray:
    """``[1 + ceil((T-1)/stride), N, 8]`` float64 state on latent frames.

    The state is computed at the tracks' own frame rate (needs >= 4 frames) and then averaged over each
    latent frame's group of frames (:func:`align_array`); this avoids the timing distortion of
    differentiating :func:`align_to_latent` output. ``stride = 1`` is the plain :func:`kinematic_state`.
    """
    return align_array(kinematic_state(tracks), stride)


def encode_kinematics(tracks: Tracks, stride: int = 4, stats: KinematicStats | None = None) -> dict[str, Any]:
    """The KINEMATICS dict of ``tracks`` (layout in docs/kinematics.md).

    Keys: ``state`` float32 ``[L, N, 8]`` (:func:`latent_kinematic_state`), ``features`` float32
    ``[L, N, 8]`` (``stats.normalize(state)``, identity stats if None), ``stats`` (dict), ``dt`` (s),
    ``fps``, ``visible`` bool ``[L, N]``, ``stride``, ``labels`` (N names), ``events`` (seconds, from
    :func:`detect_events` on the full-rate tracks). ``stride`` 0 or 1 means no alignment.
    Raises ValueError (fewer than 4 frames, a never-visible track, bad stride).
    """
    stride = max(int(stride), 1)
    stats = stats if stats is not None else KinematicStats.identity()
    state = latent_kinematic_state(tracks, stride)
    events = detect_events(tracks)
    aligned = align_to_latent(tracks, stride)
    return {
        "state": state.astype(np.float32),
        "features": stats.normalize(state).astype(np.float32),
        "stats": stats.to_dict(),
        "dt": aligned.dt,
        "fps": aligned.fps,
        "visible": np.array(aligned.visible, copy=True),
        "stride": stride,
        "labels": list(aligned.names),
        "events": events,
    }
