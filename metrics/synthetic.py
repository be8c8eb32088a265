"""Known-answer clips for metric tests and benchmarks (analytic physics, exact ground truth).

- :func:`bouncing_ball` — a ball dropped from rest bouncing with restitution ``e``: exact impact
  times and speeds, its track, rendered frames, and audio with a decaying noise click at every
  impact (louder for faster impacts).
- :func:`sliding_block` — a block pushed twice and slowed by friction: exact speed, the analytic
  motion strength ``|v|/mean|v| + |a|/mean|a|``, its track, and friction noise whose amplitude
  follows the speed.
- :func:`shifted` — audio delayed by a number of seconds (same length).

These are not the physics world of ``kinesonic.data`` (that one renders and sounds full scenes);
they exist so metric tests do not depend on it. Audio is mono float32 at :data:`SR` Hz.
"""

from __future__ import annotations

import numpy as np

from ..kinematics import Tracks

SR = 16000
G = 9.81


def bouncing_ball(
    h0: float = 1.2, e: float = 0.8, duration: float = 2.0, fps: float = 24.0, seed: int = 0, size: int = 128
) -> dict:
    """A ball dropped from rest at ``h0`` m bouncing with restitution ``e``.

    Returns a dict: ``times`` / ``speeds`` of the impacts (s, m/s), ``tracks`` of the ball's
    centre (90 px per m), ``frames`` uint8 ``[T, size, size, 3]`` with the ball drawn, ``audio``
    (a decaying noise click at each impact, amplitude ``0.1 * speed``, over a faint noise floor),
    and ``physics``: a PHYSICS dict (``kind`` "drop", impacts with ``time_s`` and ``delta_ke_J``
    for a 0.1 kg ball).
    """
    times, speeds = [], []
    t, v = np.sqrt(2 * h0 / G), np.sqrt(2 * G * h0)
    while t < duration - 0.05:
        times.append(t)
        speeds.append(v)
        v *= e
        t += 2 * v / G

    def height(tt: float) -> float:
        if tt < times[0]:
            return h0 - 0.5 * G * tt**2
        k = int(np.searchsorted(times, tt, side="right")) - 1
        u = e * speeds[k]
        dt = tt - times[k]
        return max(u * dt - 0.5 * G * dt**2, 0.0)

    n_frames = int(round(duration * fps))
    ft = np.arange(n_frames) / fps
    y_px = (size - 8) - 90.0 * np.array([height(x) for x in ft])  # ~90 px per metre
    x_px = np.full(n_frames, size / 2)
    points = np.stack([x_px, y_px], axis=1)[:, None, :]
    tracks = Tracks(points, np.ones((n_frames, 1), bool), fps, size, size)

    yy, xx = np.mgrid[:size, :size]
    frames = np.zeros((n_frames, size, size, 3), np.uint8)
    frames[..., 2] = (40 + 60 * (yy / size)).astype(np.uint8)[None]  # background gradient
    for i in range(n_frames):
        disc = (xx - x_px[i]) ** 2 + (yy - y_px[i]) ** 2 <= 36
        frames[i][disc] = (230, 200, 40)

    rng = np.random.default_rng(seed)
    audio = 1e-4 * rng.standard_normal(int(duration * SR))
    n = int(0.1 * SR)
    decay = np.exp(-np.arange(n) / SR / 0.012)
    for ti, vi in zip(times, speeds, strict=True):
        i = int(round(ti * SR))
        m = min(n, audio.size - i)
        audio[i : i + m] += 0.1 * vi * rng.standard_normal(m) * decay[:m]
    mass = 0.1
    events = [
        {"time_s": float(ti), "delta_ke_J": 0.5 * mass * ((e * vi) ** 2 - vi**2)}
        for ti, vi in zip(times, speeds, strict=True)
    ]
    return {
        "times": np.array(times),
        "speeds": np.array(speeds),
        "e": e,
        "physics": {"kind": "drop", "events": events},
        "tracks": tracks,
        "frames": frames,
        "audio": audio.astype(np.float32),
    }


def sliding_block(duration: float = 2.0, fps: float = 24.0, seed: int = 1) -> dict:
    """A block pushed twice, slowing by friction in between (never fully at rest).

    Speed ``v(t) = 0.3 + max(2 - 3t, 0) + [t >= 1] max(1.5 - 2.5(t - 1), 0)`` m/s; friction noise
    is white noise with amplitude ``0.05 v``. Returns a dict: per-frame ``speed``, the analytic
    motion ``strength`` ``|v|/mean|v| + |a|/mean|a|``, ``tracks`` of the block (50 px per m along
    x) and ``audio``.
    """

    def speed(t: np.ndarray) -> np.ndarray:
        return (
            0.3
            + np.clip(2.0 - 3.0 * t, 0, None)
            + np.where(t >= 1.0, np.clip(1.5 - 2.5 * (t - 1.0), 0, None), 0)
        )

    def accel(t: np.ndarray) -> np.ndarray:
        a1 = np.where(2.0 - 3.0 * t > 0, 3.0, 0.0)
        a2 = np.where((t >= 1.0) & (1.5 - 2.5 * (t - 1.0) > 0), 2.5, 0.0)
        return a1 + a2

    n_frames = int(round(duration * fps))
    ft = np.arange(n_frames) / fps
    st = np.arange(int(duration * SR)) / SR
    x_m = np.concatenate([[0.0], np.cumsum(speed(st))[:-1] / SR])[(ft * SR).astype(int)]
    points = np.stack([10 + 100 * x_m * 0.5, np.full(n_frames, 64.0)], axis=1)[:, None, :]
    tracks = Tracks(points, np.ones((n_frames, 1), bool), fps, 256, 128)
    rng = np.random.default_rng(seed)
    audio = 0.05 * speed(st) * rng.standard_normal(st.size)
    v, a = speed(ft), accel(ft)
    strength = v / v.mean() + a / a.mean()  # the motion-strength definition, analytic
    return {"speed": v, "strength": strength, "tracks": tracks, "audio": audio.astype(np.float32)}


def shifted(audio: np.ndarray, seconds: float, sample_rate: int = SR) -> np.ndarray:
    """The audio delayed by ``seconds`` (zeros in front, same length)."""
    k = int(round(seconds * sample_rate))
    return np.concatenate([np.zeros(k, audio.dtype), audio])[: audio.size]
