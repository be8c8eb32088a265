"""Key-framed trajectories: the state of the trajectory editor turned into per-frame point tracks.

The Draw Trajectories editor (``web/js/draw_trajectories.js``) only edits a JSON *state*; every
number the model sees is computed here, so ComfyUI and the headless runner produce the same tracks
from a saved workflow.

State (JSON object, ``"version": 1``)::

    {"version": 1, "width": 64, "height": 64,
     "tracks": [{"name": "ball", "color": "#ff5050", "easing": "linear",
                 "keys": [{"x": 10, "y": 12, "frame": 0}, {"x": 30, "y": 40},
                          {"x": 50, "y": 20, "frame": 32}]}]}

- ``width`` x ``height``: the frame the points were drawn on (pixels); points are scaled to the
  requested output size, so a drawing survives a change of the model's frame size.
- ``keys``: the points of a track in drawing order, in pixels (x right, y down). ``frame`` is the
  video frame (0-based, may be fractional) at which the object is at that point; a key without
  ``frame`` is *auto-timed*: the object passes it on its way between the timed keys around it, at
  the speed the span's easing gives. The first key defaults to frame 0, the last to the clip's last
  frame. A track of one key is a static point.
- ``easing`` (``"linear"`` or ``"ease_in_out"``): how the object moves along the path between two
  timed keys. The path between them is the polyline through the auto-timed keys; the eased
  fraction ``e(u)`` of time ``u`` in 0..1 is the fraction of that polyline's length covered.
  ``linear``: ``e = u`` (constant speed); ``ease_in_out``: ``e = 3u^2 - 2u^3`` (starts and ends
  at rest).
- Before its first timed key and after its last one an object holds its position; every object
  is visible on every frame.

Timed keys land exactly on their points at their frames (``e(0) = 0`` and ``e(1) = 1`` exactly).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tracks import Tracks

STATE_VERSION = 1
EASINGS = ("linear", "ease_in_out")


@dataclass(frozen=True)
class Key:
    """One key point in pixels of the state's frame; ``frame`` None = auto-timed."""

    x: float
    y: float
    frame: float | None = None


@dataclass(frozen=True)
class KeyTrack:
    """One object's key points in drawing order."""

    name: str
    keys: tuple[Key, ...]
    easing: str = "linear"
    color: str = ""


@dataclass(frozen=True)
class EditorState:
    """The editor's state: tracks drawn on a ``width`` x ``height`` frame."""

    width: int
    height: int
    tracks: tuple[KeyTrack, ...]


def ease(u: np.ndarray, easing: str) -> np.ndarray:
    """Eased fraction for time fraction ``u`` in 0..1 (``linear``: u; ``ease_in_out``: 3u^2-2u^3)."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    if easing == "linear":
        return u
    if easing == "ease_in_out":
        return u * u * (3.0 - 2.0 * u)
    raise ValueError(f"easing must be one of {list(EASINGS)}, got {easing!r}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def parse_state(data: str | dict[str, Any]) -> EditorState:
    """The editor state from its JSON text (or parsed dict); ``ValueError`` says what is wrong."""
    if isinstance(data, str):
        if not data.strip():
            raise ValueError("the editor state is empty: draw at least one point")
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"the editor state is not valid JSON ({error.msg} at column {error.colno})"
            ) from None
    if not isinstance(data, dict):
        raise ValueError(f"the editor state must be a JSON object, got {type(data).__name__}")
    version = data.get("version", STATE_VERSION)
    if version != STATE_VERSION:
        raise ValueError(
            f"editor state version {version!r} is not supported (this pack reads {STATE_VERSION})"
        )
    size = []
    for name in ("width", "height"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1 or value != int(value):
            raise ValueError(
                f"the editor state's {name} must be a positive whole number of pixels, got {value!r}"
            )
        size.append(int(value))
    raw_tracks = data.get("tracks", [])
    if not isinstance(raw_tracks, list):
        raise ValueError("the editor state's 'tracks' must be a list")
    tracks = []
    for i, raw in enumerate(raw_tracks):
        if not isinstance(raw, dict):
            raise ValueError(f"track {i + 1} must be an object with 'keys'")
        name = str(raw.get("name") or f"track {i + 1}")
        easing = raw.get("easing", "linear")
        if easing not in EASINGS:
            raise ValueError(f"track '{name}': easing must be one of {list(EASINGS)}, got {easing!r}")
        raw_keys = raw.get("keys", [])
        if not isinstance(raw_keys, list):
            raise ValueError(f"track '{name}': 'keys' must be a list")
        keys = []
        for j, k in enumerate(raw_keys):
            where = f"track '{name}' key {j + 1}"
            if not isinstance(k, dict):
                raise ValueError(f"{where} must be an object with x, y and optionally frame")
            frame = k.get("frame")
            keys.append(
                Key(
                    _number(k.get("x"), f"{where} x"),
                    _number(k.get("y"), f"{where} y"),
                    None if frame is None else _number(frame, f"{where} frame"),
                )
            )
        tracks.append(KeyTrack(name, tuple(keys), easing, str(raw.get("color", ""))))
    return EditorState(size[0], size[1], tuple(tracks))


def key_frames(track: KeyTrack, num_frames: int) -> np.ndarray:
    """Frame of every timed key (NaN for auto-timed ones), defaults and checks applied.

    The first key defaults to frame 0 and the last to ``num_frames - 1``; timed frames must lie in
    ``0 .. num_frames - 1`` and increase strictly in drawing order (``ValueError`` otherwise).
    """
    n = len(track.keys)
    frames = np.array([np.nan if k.frame is None else k.frame for k in track.keys], dtype=np.float64)
    if n == 0:
        return frames
    last = float(num_frames - 1)
    if np.isnan(frames[0]):
        frames[0] = 0.0
    if n > 1 and np.isnan(frames[-1]):
        frames[-1] = last
    for j, f in enumerate(frames):
        if not np.isnan(f) and not 0.0 <= f <= last:
            raise ValueError(
                f"track '{track.name}' key {j + 1} is timed at frame {f:g}, outside the clip's frames "
                f"0..{last:g} ({num_frames} frames)"
            )
    timed = np.flatnonzero(~np.isnan(frames))
    for a, b in zip(timed[:-1], timed[1:], strict=True):
        if frames[b] <= frames[a]:
            raise ValueError(
                f"track '{track.name}': key {b + 1} (frame {frames[b]:g}) must come after key {a + 1} "
                f"(frame {frames[a]:g}); key times must increase along the path"
            )
    return frames


def _along(points: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Points at ``fraction`` (0..1) of the length of the polyline ``points [K, 2]`` → ``[M, 2]``.

    Fraction 0 gives ``points[0]`` and 1 gives ``points[-1]`` exactly. A polyline of zero length
    is walked by vertex index instead (so every vertex is reached).
    """
    seg = np.hypot(*np.diff(points, axis=0).T)
    total = float(seg.sum())
    if total > 0:
        cum = np.concatenate([[0.0], np.cumsum(seg)]) / total
    else:
        cum = np.linspace(0.0, 1.0, len(points))
    f = np.clip(fraction, 0.0, 1.0)
    j = np.clip(np.searchsorted(cum, f, side="right") - 1, 0, len(points) - 2)
    width = cum[j + 1] - cum[j]
    w = np.where(width > 0, (f - cum[j]) / np.where(width > 0, width, 1.0), 1.0)
    w = np.where(f >= 1.0, 1.0, w)
    j = np.where(f >= 1.0, len(points) - 2, j)
    return (1.0 - w)[:, None] * points[j] + w[:, None] * points[j + 1]


def sample_track(track: KeyTrack, num_frames: int, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Position of the object at frames ``0 .. num_frames - 1`` → ``[num_frames, 2]`` pixels.

    ``scale`` multiplies x and y (state frame → output frame). See the module docstring for the
    timing rules.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    if not track.keys:
        raise ValueError(f"track '{track.name}' has no points")
    pts = np.array([[k.x, k.y] for k in track.keys], dtype=np.float64) * np.asarray(scale, dtype=np.float64)
    out = np.empty((num_frames, 2))
    if len(pts) == 1:
        out[:] = pts[0]
        return out
    frames = key_frames(track, num_frames)
    timed = np.flatnonzero(~np.isnan(frames))
    t = np.arange(num_frames, dtype=np.float64)
    out[t <= frames[timed[0]]] = pts[timed[0]]
    out[t >= frames[timed[-1]]] = pts[timed[-1]]
    for a, b in zip(timed[:-1], timed[1:], strict=True):
        fa, fb = frames[a], frames[b]
        inside = (t >= fa) & (t <= fb)
        if not inside.any():
            continue
        e = ease((t[inside] - fa) / (fb - fa), track.easing)
        out[inside] = _along(pts[a : b + 1], e)
    return out


def resolved_key_frames(track: KeyTrack, num_frames: int) -> np.ndarray:
    """Frame of every key (auto-timed keys too, fractional): where the editor shows its time label."""
    frames = key_frames(track, num_frames)
    if len(track.keys) < 2:
        return frames
    pts = np.array([[k.x, k.y] for k in track.keys], dtype=np.float64)
    timed = np.flatnonzero(~np.isnan(frames))
    for a, b in zip(timed[:-1], timed[1:], strict=True):
        if b - a < 2:
            continue
        seg = np.hypot(*np.diff(pts[a : b + 1], axis=0).T)
        total = float(seg.sum())
        cum = np.cumsum(seg)[:-1] / total if total > 0 else np.arange(1, b - a) / (b - a)
        # invert the easing numerically on a fine grid (both easings are monotonic)
        grid = np.linspace(0.0, 1.0, 4097)
        u = np.interp(cum, ease(grid, track.easing), grid)
        frames[a + 1 : b] = frames[a] + u * (frames[b] - frames[a])
    return frames


def state_to_tracks(
    state: EditorState,
    num_frames: int,
    fps: float,
    width: int | None = None,
    height: int | None = None,
) -> Tracks:
    """Tracks ``[num_frames, N]`` at ``fps`` on a ``width`` x ``height`` frame (default: the state's).

    Tracks without points are left out; ``ValueError`` when none has a point.
    """
    width = int(width or state.width)
    height = int(height or state.height)
    drawn = [t for t in state.tracks if t.keys]
    if not drawn:
        raise ValueError("no track has a point: click on the image to add one")
    scale = (width / state.width, height / state.height)
    points = np.stack([sample_track(t, num_frames, scale) for t in drawn], axis=1)
    visible = np.ones(points.shape[:2], dtype=bool)
    return Tracks(points, visible, fps, width, height, tuple(t.name for t in drawn))


def preview(state: EditorState, num_frames: int) -> dict[str, Any]:
    """What the editor draws: per track the sampled points ``[[x, y], ...]`` in the state's frame
    and the (possibly fractional) frame of every key, or the error that track has."""
    out = []
    for track in state.tracks:
        if not track.keys:
            out.append({"points": [], "key_frames": []})
            continue
        try:
            pts = sample_track(track, num_frames)
            frames = resolved_key_frames(track, num_frames)
        except ValueError as error:
            out.append({"points": [], "key_frames": [], "error": str(error)})
            continue
        out.append({"points": pts.round(4).tolist(), "key_frames": [round(float(f), 4) for f in frames]})
    return {"num_frames": int(num_frames), "tracks": out}


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Frames to keep as keys so that linear timing between them stays within ``tolerance`` px.

    ``points [T, 2]`` is one position per frame; the kept frames (sorted, always the first and the
    last) are those of a Douglas-Peucker split in time: between two kept frames ``a < b`` every
    frame ``t`` lies within ``tolerance`` of ``p[a] + (t - a) / (b - a) * (p[b] - p[a])``.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
        raise ValueError(f"points must have shape [T, 2] with T >= 1, got {pts.shape}")
    n = len(pts)
    keep = {0, n - 1}
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        t = np.arange(a + 1, b)
        w = ((t - a) / (b - a))[:, None]
        err = np.hypot(*((1 - w) * pts[a] + w * pts[b] - pts[a + 1 : b]).T)
        i = int(np.argmax(err))
        if err[i] > tolerance:
            m = a + 1 + i
            keep.add(m)
            stack += [(a, m), (m, b)]
    return np.array(sorted(keep))


def stretch_to_frames(tracks: Tracks, num_frames: int) -> Tracks:
    """``tracks`` resampled in time to ``num_frames`` frames covering the same path start to end.

    Frame ``i`` of the result is at position ``i * (T - 1) / (num_frames - 1)`` of the input's
    frames (linear interpolation of the visible-interpolated points); visibility is that of the
    nearest input frame; fps stays (so the clip lasts ``num_frames / fps`` s).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    T = tracks.num_frames
    src = np.linspace(0.0, T - 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    pts = tracks.interpolated()
    out = np.empty((num_frames, tracks.num_tracks, 2))
    for n in range(tracks.num_tracks):
        for d in range(2):
            out[:, n, d] = np.interp(src, np.arange(T), pts[:, n, d])
    visible = tracks.visible[np.clip(np.round(src).astype(int), 0, T - 1)]
    return tracks.replace(points=out, visible=visible)
