"""Pictures for nodes and docs: tracks drawn over frames, kinematics plots (numpy, OpenCV,
matplotlib; no torch, no ComfyUI).

Pictures are RGB uint8 ``[H, W, 3]`` (or frames ``[T, H, W, 3]``); OpenCV and matplotlib are
imported inside the functions that use them, so importing this package stays cheap. Pictures that
belong to one area live with it (``physics.draw``, ``perception.preview``, ``training.plot``,
``metrics.evaluate.timeline_image``).
"""

from .kinematics import plot_kinematics
from .tracks import draw_tracks, track_colours

__all__ = ["draw_tracks", "plot_kinematics", "track_colours"]
