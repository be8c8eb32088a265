"""Latent alignment, the 8-D kinematic state, signed-log compression and normalisation statistics.

The kinematic state of track ``n`` at frame ``t`` is ``(x, y, vx, vy, ax, ay, |v|, |a|)``:

- ``x, y``: position divided by the longer image side (so 0..1 along it);
- ``vx, vy``: velocity in those units per second; ``ax, ay``: acceleration per second²;
- derivatives by findiff at accuracy order 2 with ``dt = 1 / fps`` of the given tracks: central
  differences inside, second-order one-sided differences at both ends (exact for quadratics).

Invisible frames are filled by linear interpolation first (:meth:`Tracks.interpolated`).
findiff is imported inside :func:`kinematic_state` so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .tracks import Tracks

#: Names of the 8 state dimensions, in order.
STATE_NAMES = ("x", "y", "vx", "vy", "ax", "ay", "speed", "accel")
STATE_DIM = 8
#: The kinematic state needs at least this many frames (one-sided second derivative stencil).
MIN_FRAMES = 4
#: Standard deviations below this are treated as this value when normalising.
MIN_STD = 1e-6


def align_to_latent(tracks: Tracks, stride: int = 4) -> Tracks:
    """Average tracks over the frame groups of a temporally ``stride``-compressed video latent.

    Frame 0 is kept as is; each following non-overlapping group of ``stride`` frames (the last
    group may be shorter) becomes its mean, giving ``1 + ceil((T - 1) / stride)`` frames at
    ``fps / stride``. Means are over the interpolated points (invisible frames filled); a latent
    frame is visible if any frame of its group is. Tracks that are never visible keep their raw
    points. ``stride == 1`` returns the tracks unchanged.

    Note on timing: latent frame 0 is the clip's frame 0 (t = 0) but latent frame ``k >= 1`` is the mean
    of frames ``stride (k - 1) + 1 .. stride k``, centred at ``(stride k - (stride - 1) / 2) / fps``, while
    the returned fps puts it at ``stride k / fps``. Differentiating aligned tracks therefore distorts the
    first latent frames (a uniform motion looks accelerated there). For kinematics on latent frames
    use ``align_array(kinematic_state(tracks), stride)`` (what the Kinematic Encode node does).
    """
    stride = _check_stride(stride)
    if stride == 1:
        return tracks
    means = align_array(_filled_points(tracks), stride)
    visible = align_array(tracks.visible.astype(np.float64), stride) > 0
    return Tracks(means, visible, tracks.fps / stride, tracks.width, tracks.height, tracks.labels)


def align_array(values: np.ndarray, stride: int = 4) -> np.ndarray:
    """Group means along axis 0 with the grouping of :func:`align_to_latent`.

    ``values`` is ``[T, ...]``; the result is ``[1 + ceil((T - 1) / stride), ...]`` float64: row 0 is
    ``values[0]``, row ``k >= 1`` the mean of rows ``1 + stride (k - 1)`` .. ``stride k`` (clipped to T).
    Use it to bring per-frame quantities (e.g. the kinematic state computed at the video frame rate)
    onto the latent frames.
    """
    stride = _check_stride(stride)
    values = np.asarray(values, dtype=np.float64)
    T = values.shape[0]
    if T < 1:
        raise ValueError("align_array: no frames")
    starts = np.concatenate([[0], np.arange(1, T, stride)]).astype(np.intp)
    counts = np.diff(np.append(starts, T)).astype(np.float64)
    sums = np.add.reduceat(values, starts, axis=0)
    return sums / counts.reshape((-1,) + (1,) * (values.ndim - 1))


def kinematic_state(tracks: Tracks) -> np.ndarray:
    """``[T, N, 8]`` float64 state ``(x, y, vx, vy, ax, ay, |v|, |a|)`` (units in the module doc).

    Raises ``ValueError`` if there are fewer than 4 frames or a track is never visible.
    """
    _require_frames(tracks, "kinematic_state")
    pos = tracks.normalized()
    vel, acc = _derivatives(pos, tracks.dt)
    out = np.empty(pos.shape[:2] + (STATE_DIM,), dtype=np.float64)
    out[..., 0:2] = pos
    out[..., 2:4] = vel
    out[..., 4:6] = acc
    out[..., 6] = np.hypot(vel[..., 0], vel[..., 1])
    out[..., 7] = np.hypot(acc[..., 0], acc[..., 1])
    return out


def signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``, elementwise (odd, monotonic, identity near 0)."""
    x = np.asarray(x, dtype=np.float64)
    return np.copysign(np.log1p(np.abs(x)), x)


def signed_exp(y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`signed_log`: ``sign(y) * (exp(|y|) - 1)``."""
    y = np.asarray(y, dtype=np.float64)
    return np.copysign(np.expm1(np.abs(y)), y)


def compress_state(state: np.ndarray) -> np.ndarray:
    """``[..., 8]`` state with :func:`signed_log` applied to the six dynamic terms (dims 2..7)."""
    state = np.asarray(state, dtype=np.float64)
    _check_last_dim(state, "compress_state")
    out = state.copy()
    out[..., 2:] = signed_log(state[..., 2:])
    return out


def decompress_state(features: np.ndarray) -> np.ndarray:
    """Inverse of :func:`compress_state`."""
    features = np.asarray(features, dtype=np.float64)
    _check_last_dim(features, "decompress_state")
    out = features.copy()
    out[..., 2:] = signed_exp(features[..., 2:])
    return out


@dataclass(frozen=True)
class KinematicStats:
    """Per-dimension mean and standard deviation of *compressed* kinematic states.

    ``normalize(state)`` = ``(compress_state(state) - mean) / std`` (std floored at 1e-6);
    ``denormalize`` inverts it. Build with :meth:`from_states` on a sample of clips and store as
    JSON ``{"format": "kinesonic.kinematic_stats", "version": 1, "names": [...], "mean": [8],
    "std": [8], "count": int}``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    count: int = 0

    def __post_init__(self) -> None:
        mean = tuple(float(v) for v in self.mean)
        std = tuple(float(v) for v in self.std)
        if len(mean) != STATE_DIM or len(std) != STATE_DIM:
            raise ValueError(
                f"KinematicStats: mean and std need {STATE_DIM} values, got {len(mean)}/{len(std)}"
            )
        if not all(math.isfinite(v) for v in mean + std) or min(std) < 0:
            raise ValueError("KinematicStats: mean/std must be finite and std >= 0")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "count", int(self.count))

    @classmethod
    def identity(cls) -> KinematicStats:
        """Mean 0, std 1: ``normalize`` is then just the signed-log compression."""
        return cls((0.0,) * STATE_DIM, (1.0,) * STATE_DIM, 0)

    @classmethod
    def from_states(
        cls,
        states: np.ndarray | Iterable[np.ndarray],
        visible: np.ndarray | Iterable[np.ndarray] | None = None,
    ) -> KinematicStats:
        """Statistics over one ``[T, N, 8]`` state array or an iterable of them (one per clip).

        ``visible`` (same layout, ``[T, N]`` bool) restricts the sample to visible points.
        """
        arrays = [np.asarray(states)] if isinstance(states, np.ndarray) else [np.asarray(s) for s in states]
        if visible is None:
            masks = [None] * len(arrays)
        elif isinstance(visible, np.ndarray):
            masks = [visible]
        else:
            masks = list(visible)
        if len(masks) != len(arrays):
            raise ValueError(
                f"KinematicStats.from_states: {len(masks)} visibility masks for {len(arrays)} states"
            )
        rows = []
        for s, m in zip(arrays, masks, strict=True):
            _check_last_dim(s, "KinematicStats.from_states")
            c = compress_state(s).reshape(-1, STATE_DIM)
            if m is not None:
                m = np.asarray(m, dtype=bool).reshape(-1)
                if m.shape[0] != c.shape[0]:
                    raise ValueError("KinematicStats.from_states: visible does not match the states' [T, N]")
                c = c[m]
            rows.append(c)
        sample = np.concatenate(rows) if rows else np.empty((0, STATE_DIM))
        if sample.shape[0] == 0:
            raise ValueError("KinematicStats.from_states: empty sample")
        return cls(tuple(sample.mean(axis=0)), tuple(sample.std(axis=0)), sample.shape[0])

    def normalize(self, state: np.ndarray) -> np.ndarray:
        """``[..., 8]`` raw state → compressed, standardised features (float64)."""
        return (compress_state(state) - np.asarray(self.mean)) / self._std()

    def denormalize(self, features: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalize`: features → raw state."""
        features = np.asarray(features, dtype=np.float64)
        return decompress_state(features * self._std() + np.asarray(self.mean))

    def _std(self) -> np.ndarray:
        return np.maximum(np.asarray(self.std), MIN_STD)

    def to_dict(self) -> dict:
        """JSON-ready dict (see the class doc)."""
        return {
            "format": "kinesonic.kinematic_stats",
            "version": 1,
            "names": list(STATE_NAMES),
            "mean": list(self.mean),
            "std": list(self.std),
            "count": self.count,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, data: str | dict) -> KinematicStats:
        """Parse :meth:`to_json` output (text or dict); ValueError naming what is wrong."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise ValueError(f"kinematic stats: not valid JSON: {exc}") from None
        if not isinstance(data, dict) or "mean" not in data or "std" not in data:
            raise ValueError("kinematic stats: expected an object with 'mean' and 'std' lists of 8 numbers")
        try:
            return cls(tuple(data["mean"]), tuple(data["std"]), int(data.get("count", 0)))
        except TypeError as exc:
            raise ValueError(f"kinematic stats: {exc}") from None


# ---------------------------------------------------------------------- helpers


def _derivatives(pos: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """First and second time derivatives along axis 0 (findiff, accuracy order 2)."""
    from findiff import Diff

    d = Diff(0, dt, acc=2)
    return d(pos), (d**2)(pos)


def _require_frames(tracks: Tracks, what: str) -> None:
    if tracks.num_frames < MIN_FRAMES:
        raise ValueError(
            f"{what}: needs at least {MIN_FRAMES} frames for second-order differences, "
            f"got {tracks.num_frames} (too few frames)"
        )


def _check_stride(stride: int) -> int:
    if int(stride) != stride or stride < 1:
        raise ValueError(f"latent alignment: stride must be an integer >= 1, got {stride!r}")
    return int(stride)


def _filled_points(tracks: Tracks) -> np.ndarray:
    never = tracks.never_visible()
    if not never.any():
        return tracks.interpolated()
    out = np.array(tracks.points, copy=True)
    keep = np.flatnonzero(~never)
    if keep.size:
        out[:, keep] = tracks.select(keep).interpolated()
    return out


def _check_last_dim(a: np.ndarray, what: str) -> None:
    if a.ndim < 1 or a.shape[-1] != STATE_DIM:
        raise ValueError(f"{what}: last dimension must be {STATE_DIM} (the kinematic state), got {a.shape}")
