"""A footage test bed that is not the physics world's renderer: analytic scenes, exact impact times.

Scenes are simulated **analytically** (event-driven, no time stepping) in metres with gravity
9.81 m/s², so every impact time is exact:

- ``bounce``: one ball in a box (floor, two walls) dropped or thrown; restitution ``e`` per clip;
  an approach speed under :data:`STICK_SPEED` (m/s) does not rebound (the ball lands and rolls);
- ``collide``: two balls rolling on the floor (no gravity in y), hitting each other (one may be at
  rest, so for it the hit is a push) and the walls.

A clip is rendered with its own pinhole-free 2-D camera (``px_per_m`` = image width / view width),
antialiased disks (coverage ``clip(r + 0.5 - d, 0, 1)``) or hard ones, optional motion blur (mean of
sub-frame renders over a shutter), camera jitter (the sampling grid shifted per frame), an occluding
pillar, and encoded / decoded through PyAV with a chosen codec and quality. Pixel convention: pixel
centres at integers, ``x_px = X * px_per_m - 0.5`` (origin at the view's lower-left corner, y down in
the image).

:func:`make_clip` returns a :class:`FootageClip` with the frames, the exact centre tracks and the
impacts (time, speed change in m/s, kind). Used by ``benchmarks/bench_footage.py`` and a fast slice
in ``tests/test_kinematics_events_footage.py``. numpy at import; PyAV inside :func:`encode_frames`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GRAVITY = 9.81
#: An approach speed (m/s) below this does not rebound: the ball lands and rolls on.
STICK_SPEED = 0.8
#: Floor line as a fraction of the image height (from the top).
FLOOR_FRAC = 0.85


@dataclass
class Impact:
    """One exact impact: time (s), speed change per ball (m/s), kind, the balls involved."""

    time_s: float
    dv_mps: float
    kind: str  # "floor", "wall" or "collision"
    balls: tuple[int, ...]


@dataclass
class Segment:
    """Piecewise motion of one ball from ``t0``: ``p(t) = p0 + v0 (t - t0) + a (t - t0)² / 2`` (m, y up)."""

    t0: float
    p0: np.ndarray
    v0: np.ndarray
    a: np.ndarray


@dataclass
class FootageClip:
    """Rendered clip: frames ``[T, H, W, 3]`` uint8 (after encoding), exact tracks ``[T, N, 2]`` px."""

    frames: np.ndarray
    points: np.ndarray
    visible: np.ndarray
    fps: float
    impacts: list[Impact]
    px_per_m: float
    params: dict[str, Any] = field(default_factory=dict)

    def impact_times(self, min_dv_mps: float = 0.0) -> list[float]:
        """Impact times (s) whose speed change is at least ``min_dv_mps``, sorted."""
        return sorted(i.time_s for i in self.impacts if i.dv_mps >= min_dv_mps)


def _position(segments: list[Segment], t: np.ndarray) -> np.ndarray:
    """``[len(t), 2]`` positions (m) of one ball at times ``t``."""
    starts = np.array([s.t0 for s in segments])
    index = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(segments) - 1)
    out = np.empty((len(t), 2))
    for i, seg in enumerate(segments):
        sel = index == i
        d = (t[sel] - seg.t0)[:, None]
        out[sel] = seg.p0 + seg.v0 * d + 0.5 * seg.a * d * d
    return out


def _first_root(a: float, b: float, c: float, eps: float = 1e-9) -> float:
    """Smallest root > eps of ``a t² + b t + c`` (inf if none)."""
    roots = []
    if abs(a) < 1e-12:
        if abs(b) > 1e-12:
            roots = [-c / b]
    else:
        disc = b * b - 4 * a * c
        if disc >= 0:
            sq = math.sqrt(disc)
            roots = [(-b - sq) / (2 * a), (-b + sq) / (2 * a)]
    roots = [r for r in roots if r > eps]
    return min(roots) if roots else math.inf


def simulate(scene: str, rng: np.random.Generator, duration: float, view_w: float, radius: float):
    """Event-driven simulation; returns ``(segments per ball, impacts)`` (see the module doc)."""
    view_h = view_w * 0.75
    walls = (radius, view_w - radius)  # centre limits in x
    e = float(rng.uniform(0.55, 0.85))
    if scene == "bounce":
        p = np.array([rng.uniform(0.25, 0.75) * view_w, rng.uniform(0.45, 0.75) * view_h])
        v = np.array([rng.uniform(-1.2, 1.2) * view_w / 2, rng.uniform(-0.5, 2.5)])
        balls = [[Segment(0.0, p, v, np.array([0.0, -GRAVITY]))]]
        on_floor = [False]
    elif scene == "collide":
        r = radius
        xa, xb = rng.uniform(0.1, 0.3) * view_w, rng.uniform(0.6, 0.9) * view_w
        va = rng.uniform(0.4, 0.9) * view_w
        vb = -rng.uniform(0.2, 0.6) * view_w * float(rng.integers(0, 2))  # at rest half of the time
        balls = [
            [Segment(0.0, np.array([xa, r]), np.array([va, 0.0]), np.zeros(2))],
            [Segment(0.0, np.array([xb, r]), np.array([vb, 0.0]), np.zeros(2))],
        ]
        on_floor = [True, True]
    else:
        raise ValueError(f"footage scene must be 'bounce' or 'collide', got {scene!r}")
    impacts: list[Impact] = []
    t = 0.0
    for _ in range(200):
        best = (math.inf, None)
        for n, segs in enumerate(balls):
            s = segs[-1]
            d0 = t - s.t0
            p = s.p0 + s.v0 * d0 + 0.5 * s.a * d0 * d0
            v = s.v0 + s.a * d0
            if not on_floor[n]:
                dt = _first_root(0.5 * s.a[1], v[1], p[1] - radius)
                best = min(best, (t + dt, ("floor", n)), key=lambda x: x[0])
            for w in walls:
                if (w > p[0] and v[0] > 0) or (w < p[0] and v[0] < 0):
                    dt = _first_root(0.5 * s.a[0], v[0], p[0] - w)
                    best = min(best, (t + dt, ("wall", n)), key=lambda x: x[0])
        if len(balls) == 2:
            pa, va = _state(balls[0][-1], t)
            pb, vb = _state(balls[1][-1], t)
            gap, closing = pb[0] - pa[0], va[0] - vb[0]
            if closing > 0 and gap > 0:
                best = min(best, (t + (gap - 2 * radius) / closing, ("collision", -1)), key=lambda x: x[0])
        t_next, what = best
        if t_next > duration + 1.0 or what is None:
            break
        t = max(t_next, t)
        kind, n = what
        if kind == "collision":
            (pa, va), (pb, vb) = _state(balls[0][-1], t), _state(balls[1][-1], t)
            ua = (va[0] + vb[0] - e * (va[0] - vb[0])) / 2  # equal masses, restitution e
            ub = (va[0] + vb[0] + e * (va[0] - vb[0])) / 2
            for m, (p, u) in enumerate(((pa, ua), (pb, ub))):
                balls[m].append(Segment(t, p, np.array([u, 0.0]), np.zeros(2)))
            impacts.append(Impact(t, abs(ua - va[0]), "collision", (0, 1)))
            continue
        p, v = _state(balls[n][-1], t)
        a = balls[n][-1].a
        if kind == "floor":
            p = np.array([p[0], radius])
            if -v[1] < STICK_SPEED:
                new_v, a, on_floor[n] = np.array([v[0], 0.0]), np.zeros(2), True
                dv = -v[1]
            else:
                new_v = np.array([v[0], -e * v[1]])
                dv = (1 + e) * -v[1]
        else:
            new_v = np.array([-e * v[0], v[1]])
            dv = (1 + e) * abs(v[0])
        balls[n].append(Segment(t, p, new_v, a))
        impacts.append(Impact(t, float(dv), kind, (n,)))
    return balls, [i for i in impacts if i.time_s <= duration]


def _state(seg: Segment, t: float) -> tuple[np.ndarray, np.ndarray]:
    d = t - seg.t0
    return seg.p0 + seg.v0 * d + 0.5 * seg.a * d * d, seg.v0 + seg.a * d


def _background(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    """Static textured background ``[H, W, 3]`` float 0..255 with a darker floor below FLOOR_FRAC."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    base = np.array(rng.uniform(120, 200, 3))
    img = base + 20 * np.sin(x / W * rng.uniform(2, 6) + rng.uniform(0, 6))[..., None] * np.array(
        [1, 0.8, 0.6]
    )
    img = img + 8 * np.sin(y / H * rng.uniform(3, 9))[..., None]
    floor = y >= FLOOR_FRAC * H - 0.5
    img[floor] = img[floor] * 0.55 + np.array([40, 30, 20])
    return np.clip(img, 0, 255)


def render(
    centres: np.ndarray,
    radius_px: float,
    H: int,
    W: int,
    rng: np.random.Generator,
    *,
    antialias: bool = True,
    jitter_px: float = 0.0,
    occluder: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``[T, H, W, 3]`` float from centres ``[T, S, N, 2]`` px (S sub-frame samples averaged).

    Returns the frames and the per-frame jitter ``[T, 2]`` (px, added to the object positions).
    """
    T, S, N = centres.shape[:3]
    bg = _background(H, W, rng)
    colours = [np.array([220, 40, 30]), np.array([30, 60, 210])]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    shift = rng.normal(0.0, jitter_px, (T, 2)) if jitter_px > 0 else np.zeros((T, 2))
    frames = np.empty((T, H, W, 3))
    for i in range(T):
        acc = np.zeros((H, W, 3))
        gx, gy = xx - shift[i, 0], yy - shift[i, 1]  # camera shift: the scene moves by +shift
        bgi = bg if jitter_px <= 0 else _shifted(bg, shift[i])
        for s in range(S):
            img = bgi.copy()
            for n in range(N):
                d = np.hypot(gx - centres[i, s, n, 0], gy - centres[i, s, n, 1])
                cover = np.clip(radius_px + 0.5 - d, 0, 1) if antialias else (d <= radius_px).astype(float)
                shade = 1.0 - 0.25 * np.clip(d / max(radius_px, 1e-6), 0, 1) ** 2
                img = img * (1 - cover[..., None]) + (colours[n % 2] * shade[..., None]) * cover[..., None]
            if occluder is not None:
                x0, w = occluder
                img[:, int(x0) : int(x0 + w)] = np.array([70, 90, 70])
            acc += img
        frames[i] = acc / S
    return frames, shift


def _shifted(img: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Image translated by ``shift`` px (bilinear, edges clamped)."""
    import cv2

    M = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
    return cv2.warpAffine(
        img, M, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def encode_frames(frames: np.ndarray, fps: float, codec: str = "libx264", quality: int = 23) -> np.ndarray:
    """Encode uint8 frames with PyAV in memory and decode them back (``codec``: libx264 / mpeg4 /
    mjpeg / libvpx-vp9 / raw; ``quality``: crf for x264 and vp9, qscale 2-31 for mpeg4 / mjpeg)."""
    if codec == "raw":
        return frames
    import io
    from fractions import Fraction

    import av

    T, H, W = frames.shape[:3]
    buf = io.BytesIO()
    fmt = {"libx264": "mp4", "mpeg4": "mp4", "mjpeg": "avi", "libvpx-vp9": "webm"}[codec]
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec in ("libx264", "libvpx-vp9"):
            stream.options = {"crf": str(quality), **({"b:v": "0"} if codec == "libvpx-vp9" else {})}
        else:
            stream.codec_context.qscale = True  # fixed quantiser: global_quality = q * FF_QP2LAMBDA
            stream.codec_context.global_quality = int(quality) * 118
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r") as inp:
        decoded = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    return np.stack(decoded[:T])


def make_clip(
    seed: int,
    *,
    scene: str = "bounce",
    fps: float = 24.0,
    size: tuple[int, int] = (128, 96),
    radius_px: float = 5.0,
    duration: float = 3.0,
    antialias: bool = True,
    blur: float = 0.0,
    jitter_px: float = 0.0,
    occlusion: bool = False,
    codec: str = "libx264",
    quality: int = 23,
    render_frames: bool = True,
) -> FootageClip:
    """One test-bed clip (see the module doc). ``blur``: shutter as a fraction of the frame time.

    ``render_frames=False`` skips rendering and encoding (``frames`` is empty): exact tracks only.
    """
    rng = np.random.default_rng(seed)
    W, H = size
    px_per_m = W / float(rng.uniform(1.5, 3.0))
    view_w = W / px_per_m
    radius_m = radius_px / px_per_m
    balls, impacts = simulate(scene, rng, duration, view_w, radius_m)
    T = int(round(duration * fps))
    times = np.arange(T) / fps
    S = max(1, int(round(8 * blur))) if blur > 0 else 1
    offsets = (np.arange(S) + 0.5) / S * blur / fps - blur / fps / 2 if S > 1 else np.zeros(1)
    floor_px = FLOOR_FRAC * H - 0.5

    def to_px(m: np.ndarray) -> np.ndarray:
        return np.stack([m[..., 0] * px_per_m - 0.5, floor_px - m[..., 1] * px_per_m], -1)

    centres = np.stack(
        [np.stack([to_px(_position(segs, times + o)) for segs in balls], 1) for o in offsets], 1
    )  # [T, S, N, 2]
    points = to_px(np.stack([_position(segs, times) for segs in balls], 1))
    occluder = None
    visible = np.ones(points.shape[:2], bool)
    if occlusion:
        occluder = (float(rng.uniform(0.3, 0.6) * W), max(3.0, 1.6 * radius_px))
        inside = (points[..., 0] + radius_px > occluder[0]) & (points[..., 0] - radius_px < sum(occluder))
        visible &= ~inside
    frames = np.zeros((0, H, W, 3), np.uint8)
    if render_frames:
        float_frames, shift = render(
            centres, radius_px, H, W, rng, antialias=antialias, jitter_px=jitter_px, occluder=occluder
        )
        points = points + shift[:, None, :]
        frames = encode_frames(np.clip(np.round(float_frames), 0, 255).astype(np.uint8), fps, codec, quality)
    params = {
        "scene": scene,
        "fps": fps,
        "size": size,
        "radius_px": radius_px,
        "antialias": antialias,
        "blur": blur,
        "jitter_px": jitter_px,
        "occlusion": occlusion,
        "codec": codec,
        "quality": quality,
    }
    return FootageClip(frames, points, visible, float(fps), impacts, px_per_m, params)
