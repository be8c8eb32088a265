"""Point tracks of a clip: the :class:`Tracks` container and its JSON / ComfyUI conversions.

Units and conventions (the whole project uses them):

- ``points`` are pixels ``(x, y)`` with the origin at the top-left corner, x to the right, y down;
- frame ``i`` is at time ``i / fps`` seconds (frame 0 at t = 0);
- ``visible[t, n]`` is False where track ``n`` is occluded / lost at frame ``t``.

Formats read by :meth:`Tracks.from_json` (see docs/kinematics.md):

- the Kinesonic file format ``{"format": "kinesonic.tracks", "version": 1, "fps": 16, "width": 256,
  "height": 256, "tracks": [{"label": "ball", "points": [[x, y] or null, ...]}, ...]}``;
- ComfyUI core's TRACKS dict ``{"track_path": [T,N,2], "track_visibility": [T,N]}`` (lists, numpy
  arrays or torch tensors) plus optional ``fps`` / ``width`` / ``height`` / ``labels``;
- KJNodes coordinate JSON: ``[{"x": .., "y": ..}, ...]`` (one track), a list of such lists, or a list of
  JSON strings each holding one or more tracks (SplineEditor, AppendStringsToList, JoinStringMulti
  output). It carries no fps or image size, so those come from keyword arguments; values that all lie
  within 0..1 are refused as pixels (they look normalised) unless ``normalized=True`` scales them.

Precision: TRACKS tensors are float32 (ComfyUI core's dtype). A float32 / float16 ``track_path`` is read
as the shortest decimal that rounds to the same float32 / float16 (:func:`shortest_decimal`), so a value
written with up to 6 significant digits (12.3, 1234.56) comes back exactly: 12.3 -> float32 -> 12.3.

This module imports only numpy.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT_NAME = "kinesonic.tracks"
FORMAT_VERSION = 1

#: Bounds of tracks read from JSON text (docs/runner.md, "Limits"): text size, frames, tracks,
#: points. One KJNodes coordinate is one frame, so a long list would otherwise make a long clip.
MAX_JSON_CHARS = 16 * 1024 * 1024
MAX_JSON_FRAMES = 10_000
MAX_JSON_TRACKS = 1024
MAX_JSON_POINTS = 2_000_000
DEFAULT_FPS = 16.0
#: Visible points may lie at most this fraction of the image size outside the image.
OUTSIDE_TOLERANCE = 0.5


class MissingSizeError(ValueError):
    """Tracks data without an image size (e.g. ComfyUI core TRACKS) and no ``width``/``height`` given."""


@dataclass(frozen=True, eq=False)
class Tracks:
    """N point tracks over T frames of a ``width`` x ``height`` clip sampled at ``fps``.

    Args:
        points: ``[T, N, 2]`` pixel coordinates ``(x, y)``; stored as a read-only float64 copy.
            Entries at invisible frames may be NaN/inf: they are replaced by the linear
            interpolation of the track's visible points (see :meth:`interpolated`).
        visible: ``[T, N]`` bool (stored read-only).
        fps: frames per second (> 0); frame ``i`` is at ``i / fps`` s.
        width, height: image size in pixels (> 0).
        labels: optional N names (tuple of str).

    Raises ``ValueError`` naming the problem for: wrong shapes, no frames or no tracks,
    non-finite visible points, visible points more than 50 % of the image size outside the image,
    bad fps / size / labels. A track that is never visible is allowed here (trackers emit them) but
    :meth:`interpolated` and the kinematics refuse it; drop it with :meth:`drop_never_visible`.
    """

    points: np.ndarray
    visible: np.ndarray
    fps: float
    width: int
    height: int
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        points = np.array(self.points, dtype=np.float64, copy=True)
        if points.ndim != 3 or points.shape[2] != 2:
            raise ValueError(f"Tracks: points must have shape [T, N, 2], got {points.shape}")
        T, N = points.shape[:2]
        if T < 1:
            raise ValueError("Tracks: empty — no frames")
        if N < 1:
            raise ValueError("Tracks: empty — no tracks")
        visible = np.array(self.visible, copy=True)
        if visible.shape != (T, N):
            raise ValueError(f"Tracks: visible must have shape [T, N] = {(T, N)}, got {visible.shape}")
        visible = visible.astype(bool)
        fps = float(self.fps)
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"Tracks: fps must be a positive number, got {self.fps!r}")
        width, height = _positive_int(self.width, "width"), _positive_int(self.height, "height")
        labels = self.labels
        if labels is not None:
            labels = tuple(str(label) for label in labels)
            if len(labels) != N:
                raise ValueError(f"Tracks: {len(labels)} labels for {N} tracks")

        finite = np.isfinite(points).all(axis=2)
        bad = visible & ~finite
        if bad.any():
            t, n = np.argwhere(bad)[0]
            raise ValueError(f"Tracks: point of track {n} at frame {t} is NaN/inf: {tuple(points[t, n])}")
        margin_x, margin_y = OUTSIDE_TOLERANCE * width, OUTSIDE_TOLERANCE * height
        outside = visible & (
            (points[..., 0] < -margin_x)
            | (points[..., 0] > width + margin_x)
            | (points[..., 1] < -margin_y)
            | (points[..., 1] > height + margin_y)
        )
        if outside.any():
            t, n = np.argwhere(outside)[0]
            raise ValueError(
                f"Tracks: point of track {n} at frame {t} {tuple(float(v) for v in points[t, n])} is far "
                f"outside the {width}x{height} image (more than {OUTSIDE_TOLERANCE:.0%} of its size)"
            )
        if not finite.all():
            points = np.where(finite[..., None], points, _interpolate(points, visible & finite, strict=False))

        points.setflags(write=False)
        visible.setflags(write=False)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "visible", visible)
        object.__setattr__(self, "fps", fps)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)
        object.__setattr__(self, "labels", labels)

    # ------------------------------------------------------------------ properties

    @property
    def num_frames(self) -> int:
        """T, the number of frames."""
        return int(self.points.shape[0])

    @property
    def num_tracks(self) -> int:
        """N, the number of tracks."""
        return int(self.points.shape[1])

    @property
    def duration_s(self) -> float:
        """Clip length in seconds, ``T / fps`` (the last frame starts at ``(T - 1) / fps``)."""
        return self.num_frames / self.fps

    @property
    def dt(self) -> float:
        """Seconds between frames, ``1 / fps``."""
        return 1.0 / self.fps

    @property
    def times(self) -> np.ndarray:
        """``[T]`` frame times in seconds, ``i / fps``."""
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    @property
    def scale(self) -> float:
        """The longer image side in pixels (positions are normalised by it)."""
        return float(max(self.width, self.height))

    @property
    def names(self) -> tuple[str, ...]:
        """The labels, or ``("track_0", "track_1", ...)`` when there are none."""
        return self.labels if self.labels is not None else tuple(f"track_{n}" for n in range(self.num_tracks))

    # ------------------------------------------------------------------ derived

    def interpolated(self) -> np.ndarray:
        """``[T, N, 2]`` float64 pixels with invisible frames filled.

        Inside a gap the point is linearly interpolated in time between the neighbouring visible
        frames; before the first / after the last visible frame it is held constant. Raises
        ``ValueError`` if a track is never visible.
        """
        return _interpolate(self.points, self.visible, strict=True)

    def normalized(self) -> np.ndarray:
        """``[T, N, 2]`` interpolated positions divided by the longer image side (``scale``)."""
        return self.interpolated() / self.scale

    def never_visible(self) -> np.ndarray:
        """``[N]`` bool, True for tracks that are invisible in every frame."""
        return ~self.visible.any(axis=0)

    def select(self, indices: Sequence[int] | np.ndarray) -> Tracks:
        """A new Tracks holding only the tracks at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        labels = None if self.labels is None else tuple(self.labels[i] for i in idx)
        return Tracks(self.points[:, idx], self.visible[:, idx], self.fps, self.width, self.height, labels)

    def drop_never_visible(self) -> Tracks:
        """A new Tracks without the tracks that are never visible (ValueError if none is left)."""
        keep = np.flatnonzero(~self.never_visible())
        if keep.size == 0:
            raise ValueError("Tracks: every track is invisible in every frame")
        return self if keep.size == self.num_tracks else self.select(keep)

    def replace(self, **changes: Any) -> Tracks:
        """A copy with some fields replaced (validated again)."""
        fields = {
            "points": self.points,
            "visible": self.visible,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "labels": self.labels,
        }
        fields.update(changes)
        return Tracks(**fields)

    # ------------------------------------------------------------------ ComfyUI dict

    @classmethod
    def from_comfy(
        cls,
        data: dict,
        *,
        fps: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> Tracks:
        """Build from a TRACKS dict ``{"track_path": [T,N,2], "track_visibility": [T,N], ...}``.

        Values may be lists, numpy arrays or torch tensors. The dict's own ``fps`` / ``width`` /
        ``height`` / ``labels`` win; the keyword arguments fill in what is missing (fps defaults
        to 16, ComfyUI core's and Wan's rate; width and height are required if the dict lacks them:
        :class:`MissingSizeError` otherwise). A missing ``track_visibility`` means every point is
        visible. A float32 / float16 ``track_path`` is read through :func:`shortest_decimal`.
        """
        if not isinstance(data, dict):
            raise ValueError(f"TRACKS dict expected, got {type(data).__name__}")
        if "track_path" not in data:
            raise ValueError(f"TRACKS dict has no 'track_path' (keys: {sorted(data)})")
        path = _as_array(data["track_path"], "track_path")
        if path.ndim == 4 and path.shape[0] == 1:  # tolerate a leading batch dim of 1
            path = path[0]
        if path.ndim != 3 or path.shape[-1] != 2:
            raise ValueError(f"track_path must have shape [T, N, 2], got {path.shape}")
        if data.get("track_visibility") is None:
            vis = np.ones(path.shape[:2], dtype=bool)
        else:
            vis = _as_array(data["track_visibility"], "track_visibility")
            if vis.ndim == 3 and vis.shape[0] == 1 and path.shape[:2] != vis.shape[:2]:
                vis = vis[0]
            if vis.ndim == 3 and vis.shape[-1] == 1:
                vis = vis[..., 0]
            if vis.shape != path.shape[:2]:
                raise ValueError(
                    f"track_visibility shape {vis.shape} does not match track_path [T, N] = {path.shape[:2]}"
                )
        meta = _meta(data, fps, width, height)
        labels = data.get("labels")
        return cls(path, vis > 0.5 if vis.dtype != bool else vis, labels=labels, **meta)

    def to_comfy(self, *, as_torch: bool = False) -> dict[str, Any]:
        """The TRACKS dict: ``track_path`` float32 ``[T,N,2]`` pixels, ``track_visibility`` bool ``[T,N]``,
        ``fps``, ``width``, ``height`` and (if set) ``labels``.

        Arrays are numpy unless ``as_torch`` (torch is then imported lazily), which is what ComfyUI core
        nodes that consume TRACKS expect.
        """
        path = self.points.astype(np.float32)
        vis = self.visible.copy()
        if as_torch:
            import torch

            path, vis = torch.from_numpy(path), torch.from_numpy(vis)
        out: dict[str, Any] = {
            "track_path": path,
            "track_visibility": vis,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
        }
        if self.labels is not None:
            out["labels"] = list(self.labels)
        return out

    # ------------------------------------------------------------------ JSON

    @classmethod
    def from_json(
        cls,
        data: str | bytes | dict | list,
        *,
        fps: float | None = None,
        width: int | None = None,
        height: int | None = None,
        normalized: bool = False,
    ) -> Tracks:
        """Parse any supported format (Kinesonic file, TRACKS dict, KJNodes coordinates).

        ``data`` is JSON text, the already-parsed object, or a list of JSON strings (KJNodes string
        lists). ``fps`` (default 16), ``width`` and ``height`` fill in what the format lacks; a format
        without an image size and no ``width``/``height`` given is a :class:`MissingSizeError`. Text
        that is not one JSON document is also read as a sequence of JSON lists separated by
        whitespace or commas (one KJNodes track per list, e.g. one per line).

        ``normalized`` (KJNodes coordinates only): the values are fractions of the image size
        (0..1) and are multiplied by ``width`` / ``height``. Without it, KJNodes coordinates whose
        values all lie within 0..1 are refused (``ValueError``): they look normalised, and read as
        pixels they would all sit in the top-left pixel.
        """
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        if isinstance(data, str):
            if len(data) > MAX_JSON_CHARS:
                raise ValueError(
                    f"tracks JSON text has {len(data):,} characters, more than the {MAX_JSON_CHARS:,} read"
                )
            data = _parse_text(data)
        if isinstance(data, dict):
            if "track_path" in data:
                tracks = cls.from_comfy(data, fps=fps, width=width, height=height)
            else:
                fmt = data.get("format")
                if fmt != FORMAT_NAME and "tracks" not in data:
                    raise ValueError(
                        f"unknown tracks JSON object: expected 'format': {FORMAT_NAME!r} or a 'track_path' "
                        f"key, got keys {sorted(data)}"
                    )
                tracks = cls._from_kinesonic(data, fps=fps, width=width, height=height)
        elif isinstance(data, (list, tuple)):
            tracks = cls._from_kjnodes(list(data), fps=fps, width=width, height=height, normalized=normalized)
        else:
            raise ValueError(f"tracks JSON must be an object or a list, got {type(data).__name__}")
        _check_json_size(tracks.num_frames, tracks.num_tracks)
        return tracks

    def to_dict(self) -> dict[str, Any]:
        """The Kinesonic file format as a JSON-ready dict (invisible points written as ``null``)."""
        tracks = []
        per_track = self.points.transpose(1, 0, 2).tolist()  # python floats, exact
        per_vis = self.visible.T.tolist()
        for n in range(self.num_tracks):
            pts = [p if v else None for p, v in zip(per_track[n], per_vis[n], strict=True)]
            entry: dict[str, Any] = {}
            if self.labels is not None:
                entry["label"] = self.labels[n]
            entry["points"] = pts
            tracks.append(entry)
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "tracks": tracks,
        }

    def to_json(self, indent: int | None = None) -> str:
        """The Kinesonic file format as JSON text (floats written exactly, see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_kjnodes(self, track: int | None = None) -> str:
        """KJNodes coordinate JSON: ``[{"x":..,"y":..}, ...]`` for one track, else a list of such lists.

        Invisible frames are written as their interpolated points (the format has no visibility).
        """
        pts = self.interpolated()
        as_list = [[{"x": float(x), "y": float(y)} for x, y in pts[:, n]] for n in range(self.num_tracks)]
        return json.dumps(as_list[track] if track is not None else as_list)

    @classmethod
    def _from_kinesonic(
        cls, data: dict, *, fps: float | None, width: int | None, height: int | None
    ) -> Tracks:
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"kinesonic.tracks version {version!r} is not supported (expected 1)")
        entries = data.get("tracks")
        if not isinstance(entries, list) or not entries:
            raise ValueError("kinesonic.tracks: 'tracks' must be a non-empty list — the tracks are empty")
        meta = _meta(data, fps, width, height)
        labels: list[str] = []
        columns: list[list[Any]] = []
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("points"), list):
                raise ValueError(f"kinesonic.tracks: track {n} must be an object with a 'points' list")
            labels.append(str(entry.get("label", f"track_{n}")))
            columns.append(entry["points"])
        has_labels = any("label" in e for e in entries)
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise ValueError(
                "kinesonic.tracks: mismatched lengths — tracks have "
                + ", ".join(f"{len(c)} (track {n})" for n, c in enumerate(columns))
                + " frames"
            )
        T = lengths.pop()
        if T == 0:
            raise ValueError("kinesonic.tracks: empty — tracks have no frames")
        points = np.full((T, len(columns), 2), np.nan)
        visible = np.zeros((T, len(columns)), dtype=bool)
        for n, col in enumerate(columns):
            fast = _fast_xy(col)
            if fast is not None:
                points[:, n], visible[:, n] = fast, True
                continue
            for t, p in enumerate(col):
                if p is None:
                    continue
                points[t, n] = _xy(p, f"track {n} frame {t}")
                visible[t, n] = True
        return cls(points, visible, labels=tuple(labels) if has_labels else None, **meta)

    @classmethod
    def _from_kjnodes(
        cls,
        data: list,
        *,
        fps: float | None,
        width: int | None,
        height: int | None,
        normalized: bool = False,
    ) -> Tracks:
        if not data:
            raise ValueError("KJNodes coordinates: empty list")
        tracks = [data] if all(isinstance(item, dict) for item in data) else _kjnodes_tracks(data)
        for n, track in enumerate(tracks):
            if not isinstance(track, list) or not all(isinstance(p, dict) for p in track):
                raise ValueError(
                    f"KJNodes coordinates: track {n} must be a list of {{'x': .., 'y': ..}} objects, "
                    f"got {type(track).__name__}"
                )
        lengths = [len(t) for t in tracks]
        if len(set(lengths)) != 1:
            raise ValueError(
                "KJNodes coordinates: mismatched lengths — tracks have "
                + ", ".join(f"{n_} (track {i})" for i, n_ in enumerate(lengths))
                + " points"
            )
        if lengths[0] == 0:
            raise ValueError("KJNodes coordinates: empty — tracks have no points")
        points = np.empty((lengths[0], len(tracks), 2))
        for n, track in enumerate(tracks):
            for t, p in enumerate(track):
                if "x" not in p or "y" not in p:
                    raise ValueError(f"KJNodes coordinates: track {n} point {t} has no 'x'/'y': {p!r}")
                points[t, n] = _xy((p["x"], p["y"]), f"track {n} point {t}")
        if not normalized and looks_normalized(points):
            raise ValueError(
                "KJNodes coordinates: every value lies within 0..1, so these look like normalised "
                "coordinates (KJNodes Points Editor with normalize on, Spline Editor normalized_str), not "
                "pixels; read them as normalised (units 'normalized' on the nodes, normalized=True "
                "here) to scale them by the image width and height"
            )
        meta = _meta({}, fps, width, height, source="KJNodes coordinates")
        if normalized:
            points = points * np.array([float(meta["width"]), float(meta["height"])])
        return cls(points, np.ones(points.shape[:2], dtype=bool), **meta)


# ---------------------------------------------------------------------- helpers


def _positive_int(value: Any, name: str) -> int:
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Tracks: {name} must be a positive integer, got {value!r}") from None
    if not math.isfinite(as_float) or as_float <= 0 or as_float != int(as_float):
        raise ValueError(f"Tracks: {name} must be a positive integer, got {value!r}")
    return int(as_float)


def looks_normalized(points: np.ndarray) -> bool:
    """True if every coordinate lies within 0..1 (normalised coordinates, or pixels of one corner pixel)."""
    values = np.asarray(points, dtype=np.float64)
    return bool(values.size) and bool(np.all((values >= 0.0) & (values <= 1.0)))


def shortest_decimal(values: np.ndarray) -> np.ndarray:
    """float64 copy of a float32 / float16 array where each value is the shortest decimal that rounds
    back to the same float32 / float16 value (what ``str(np.float32(v))`` prints): 12.3 stored as float32
    (12.300000190734863) becomes 12.3. Other dtypes are returned as float64 unchanged.

    Every result rounds to exactly the input in its own precision, so nothing is invented: this only
    undoes the binary noise of the narrower type. Decimals of up to 6 (float32) or 3 (float16) significant
    digits therefore survive a trip through that type exactly.
    """
    values = np.asarray(values)
    if values.dtype not in (np.float32, np.float16):
        return values.astype(np.float64)
    narrow = values.dtype
    wide = values.astype(np.float64).ravel()
    out = wide.copy()
    todo = np.flatnonzero(np.isfinite(wide) & (wide != 0.0))
    # A value that a decimal of <= 6 (float32) / 3 (float16) significant digits rounds to is within
    # half a float32 / float16 step of it, so rounding to exactly that many digits finds that decimal;
    # the rest need 7..9 / 4..5 digits. Each round is checked against the narrow value.
    first, last = (6, 9) if narrow == np.float32 else (3, 5)
    for digits in range(first, last + 1):
        if todo.size == 0:
            break
        v = wide[todo]
        k = digits - 1 - np.floor(np.log10(np.abs(v)))  # keep `digits` digits: round(v * 10^k) / 10^k
        scale = 10.0 ** np.abs(k)
        candidate = np.where(k >= 0, np.round(v * scale) / scale, np.round(v / scale) * scale)
        hit = candidate.astype(narrow) == values.ravel()[todo]
        out[todo[hit]] = candidate[hit]
        todo = todo[~hit]
    return out.reshape(values.shape)


def _as_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor, without importing torch
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # numpy has no bfloat16; float32 holds it exactly
            value = value.float()
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float16):
        return shortest_decimal(value)
    try:
        return np.asarray(value, dtype=bool if _is_bool(value) else np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not a numeric array: {exc}") from None


def _is_bool(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == bool


def _meta(
    data: dict, fps: float | None, width: int | None, height: int | None, source: str = "tracks"
) -> dict[str, Any]:
    out = {
        "fps": data.get("fps") if data.get("fps") is not None else (fps if fps is not None else DEFAULT_FPS),
        "width": data.get("width") if data.get("width") is not None else width,
        "height": data.get("height") if data.get("height") is not None else height,
    }
    missing = [k for k in ("width", "height") if out[k] is None]
    if missing:
        raise MissingSizeError(
            f"{source}: the image {' and '.join(missing)} is missing — pass width= and height="
        )
    return out


def _xy(p: Any, where: str) -> tuple[float, float]:
    if not isinstance(p, (list, tuple)) or len(p) != 2:
        raise ValueError(f"{where}: a point must be [x, y] or null, got {p!r}")
    try:
        x, y = float(p[0]), float(p[1])
    except (TypeError, ValueError):
        raise ValueError(f"{where}: point coordinates must be numbers, got {p!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{where}: point is NaN/inf: {p!r}")
    return x, y


def _fast_xy(column: list[Any]) -> np.ndarray | None:
    """``[T, 2]`` float64 if every entry is a finite numeric pair, else None (then checked point by point)."""
    try:
        arr = np.array(column)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "iuf" or arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        return None
    return arr.astype(np.float64)


def _check_json_size(frames: int, tracks: int) -> None:
    """ValueError when tracks read from JSON exceed the documented bounds (frames, tracks, points)."""
    if frames > MAX_JSON_FRAMES:
        raise ValueError(
            f"{frames:,} frames (each KJNodes coordinate is one frame) is more than the {MAX_JSON_FRAMES:,} "
            "frames tracks JSON may have; resample the path to the clip's frame count"
        )
    if tracks > MAX_JSON_TRACKS:
        raise ValueError(f"{tracks:,} tracks is more than the {MAX_JSON_TRACKS:,} tracks JSON may have")
    if frames * tracks > MAX_JSON_POINTS:
        raise ValueError(
            f"{frames:,} frames x {tracks:,} tracks is more than the {MAX_JSON_POINTS:,} points tracks JSON "
            "may have"
        )


def _parse_text(text: str) -> Any:
    text = text.strip()
    if not text:
        raise ValueError("tracks JSON text is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as first_error:
        try:  # Python-repr lists of dicts (single quotes), as some nodes print them
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
        sequence = _json_sequence(text)
        if sequence is not None:
            return sequence
        raise ValueError(f"tracks text is not valid JSON: {first_error}") from None


def _kjnodes_tracks(item: Any) -> list[Any]:
    """The tracks in a KJNodes value: a track is a list of point dicts; strings (SplineEditor,
    AppendStringsToList, JoinStringMulti) and lists of tracks or strings hold one track or several."""
    if isinstance(item, str):
        item = _parse_text(item)
    if isinstance(item, list) and item and all(isinstance(p, (list, str)) for p in item):
        return [track for sub in item for track in _kjnodes_tracks(sub)]
    return [item]


def _json_sequence(text: str) -> list[Any] | None:
    """Several JSON lists in a row, separated by whitespace and/or commas (one KJNodes track per line, or
    strings joined by KJNodes' JoinStrings / JoinStringMulti); None if the text is not that."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
            pos += 1
        if pos == len(text):
            break
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        if not isinstance(item, list):
            return None
        items.append(item)
    return items if len(items) > 1 else None


def _interpolate(points: np.ndarray, visible: np.ndarray, *, strict: bool) -> np.ndarray:
    """Fill invisible frames per track (linear inside gaps, constant outside); ``[T,N,2]`` float64.

    A never-visible track raises ValueError if ``strict``, else it is filled with zeros.
    """
    T, N = visible.shape
    out = np.array(points, dtype=np.float64, copy=True)
    if visible.all():
        return out
    t = np.arange(T, dtype=np.float64)
    for n in range(N):
        vis = visible[:, n]
        if vis.all():
            continue
        if not vis.any():
            if strict:
                raise ValueError(f"Tracks: track {n} is never visible (drop it with drop_never_visible())")
            out[:, n] = 0.0
            continue
        tv = t[vis]
        for c in range(2):
            out[:, n, c] = np.interp(t, tv, points[vis, n, c])
    return out
