"""CoTracker3 (offline) adapter: load local weights, track query points through a clip.

Needs the ``cotracker`` package, which users install from its own repository (licence
CC-BY-NC; Kinesonic never ships or vendors it), and a checkpoint the user put in ComfyUI's
``models/cotracker`` folder — ``scaled_offline.pth`` (a plain state dict, loaded with
``torch.load(weights_only=True)``; ``{"model": state_dict}`` also works) or a ``.safetensors``
state dict. Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import Callback, PerceptionError, as_frames, as_points, report, require

EXTENSIONS = (".pth", ".pt", ".safetensors")
DEFAULT_WINDOW_LEN = 60  # CoTracker3 offline's window (frames)


@dataclass
class CoTrackerModel:
    """A loaded ``cotracker.predictor.CoTrackerPredictor`` (offline CoTracker3) and its file."""

    predictor: Any
    path: Path | None

    @property
    def interp_shape(self) -> tuple[int, int]:
        """The (height, width) in pixels every clip is resized to inside the model."""
        return tuple(int(v) for v in self.predictor.interp_shape)


def load_cotracker_state(path: str | Path) -> dict:
    """The state dict in a CoTracker checkpoint file (.pth/.pt: weights-only torch.load; or .safetensors)."""
    import torch

    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise PerceptionError(f"CoTracker checkpoint {path.name!r} does not hold a state dict")
    return state


def load_cotracker(
    path: str | Path | None,
    device: str = "cpu",
    interp_shape: tuple[int, int] | None = None,
    window_len: int = DEFAULT_WINDOW_LEN,
) -> CoTrackerModel:
    """Build CoTracker3 offline and load the weights in ``path`` (``None`` = random weights, tests only).

    Args:
        path: checkpoint file (see module doc).
        device: torch device string.
        interp_shape: (height, width) the model works at (default: the model's 384 x 512).
            Multiples of 16 (e.g. (128, 128) for fast tests).
        window_len: the offline model's window in frames (60 for the released weights).

    Raises:
        MissingDependencyError: cotracker is not installed.
        PerceptionError: the file does not fit CoTracker3 offline (e.g. an online checkpoint).
    """
    predictor_mod = require("cotracker.predictor")
    predictor = predictor_mod.CoTrackerPredictor(checkpoint=None, offline=True, window_len=window_len)
    if path is not None:
        state = load_cotracker_state(path)
        try:
            predictor.model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise PerceptionError(
                f"CoTracker weights {Path(path).name!r} do not fit CoTracker3 offline "
                f"(use scaled_offline.pth, not an online checkpoint): {str(error)[:300]}"
            ) from error
    if interp_shape is not None:
        h, w = (int(v) for v in interp_shape)
        if h % 16 or w % 16 or h < 64 or w < 64:
            raise PerceptionError(
                f"CoTracker interp_shape must be multiples of 16 and >= 64, got {interp_shape}"
            )
        predictor.interp_shape = (h, w)
    predictor = predictor.to(device).eval()
    return CoTrackerModel(predictor=predictor, path=None if path is None else Path(path))


def cotracker_track(
    model: CoTrackerModel,
    frames: Any,
    points: Any,
    query_frame: int = 0,
    callback: Callback = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Track query points with CoTracker3 offline.

    Args:
        model: from :func:`load_cotracker`.
        frames: ``[T, H, W, 3]`` uint8 or float 0..1.
        points: ``[N, 2]`` pixel (x, y) queries in frame ``query_frame``.
        query_frame: frame index of the queries; earlier frames are tracked backwards.
        callback: ``callback(done, total)`` (one step: the model runs the clip at once).

    Returns:
        ``(tracks float64 [T, N, 2] pixel (x, y) at the input resolution, visible bool [T, N])``;
        at ``query_frame`` the queries come back exactly and visible.
    """
    import torch

    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    queries = as_points(points)
    N = len(queries)
    if not 0 <= query_frame < T:
        raise PerceptionError(f"query_frame {query_frame} is outside the clip's {T} frames")
    if N == 0:
        return np.zeros((T, 0, 2)), np.zeros((T, 0), dtype=bool)
    device = next(model.predictor.parameters()).device
    video = torch.from_numpy(frames).permute(0, 3, 1, 2)[None].float().to(device)  # [1, T, 3, H, W] 0..255
    q = torch.zeros((1, N, 3), dtype=torch.float32, device=device)
    q[0, :, 0] = float(query_frame)
    q[0, :, 1:] = torch.from_numpy(queries).float()
    report(callback, 0, 1)
    with torch.inference_mode():
        tracks, visible = model.predictor(video, queries=q, backward_tracking=query_frame > 0)
    report(callback, 1, 1)
    return tracks[0].double().cpu().numpy(), visible[0].bool().cpu().numpy()
