"""Rendering of the physics world: a 2-D side view drawn with OpenCV (anti-aliased, shaded).

Camera: a square view of ``width`` metres whose lower-left corner is ``(xmin, ymin)`` (world,
y up) maps onto ``size`` x ``size`` pixels, ``px_per_m = size / width``. Pixel coordinates follow
OpenCV: the centre of pixel (column c, row r) is the point (x=c, y=r), y grows downwards, so the
view spans [-0.5, size - 0.5] in both axes:

    x_px = (X - xmin) * px_per_m - 0.5,    y_px = (ymin + width - Y) * px_per_m - 0.5

Objects are drawn in scene order (later ones in front) over a background of a vertical gradient,
the floor and any static scenery.
"""

from __future__ import annotations

import math

import numpy as np

from .world_sim import ObjectSpec, Scene, SimResult

_SHIFT = 8  # fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT


class Camera:
    """World (metres, y up) to pixel (x right, y down, pixel centres at integers) transform."""

    def __init__(self, view: tuple[float, float, float], size: int) -> None:
        self.xmin, self.ymin, self.width = (float(v) for v in view)
        self.size = int(size)
        self.px_per_m = self.size / self.width

    def to_px(self, xy: np.ndarray) -> np.ndarray:
        """World points [...,2] (m) to pixel points [...,2] (x, y)."""
        xy = np.asarray(xy, dtype=np.float64)
        out = np.empty_like(xy)
        out[..., 0] = (xy[..., 0] - self.xmin) * self.px_per_m - 0.5
        out[..., 1] = (self.ymin + self.width - xy[..., 1]) * self.px_per_m - 0.5
        return out


def background(scene: Scene, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Background image float32 [H,W,3] (0..255): wall gradient, floor and static scenery."""
    s = camera.size
    hue_top = rng.uniform(120, 235, size=3)
    hue_bottom = hue_top * rng.uniform(0.6, 0.95)
    ramp = np.linspace(0.0, 1.0, s, dtype=np.float32)[:, None]
    img = np.empty((s, s, 3), dtype=np.float32)
    img[:] = hue_top[None, None, :] * (1 - ramp[..., None]) + hue_bottom[None, None, :] * ramp[..., None]
    canvas = np.ascontiguousarray(img)
    import cv2

    for st in scene.statics:
        pts = camera.to_px(np.array(st.vertices))
        poly = np.round((pts + 0.0) * _ONE).astype(np.int64).astype(np.int32)
        color = tuple(float(c) for c in st.color)
        if st.label == "floor":
            # floor: fill below y=0, a darker far-edge line for depth
            y0 = camera.to_px(np.array([0.0, 0.0]))[1]
            rows = np.arange(s, dtype=np.float32)[:, None]
            cover = np.clip(rows - y0 + 0.5, 0.0, 1.0)  # pixel rows below the floor line
            shade = 1.0 - 0.25 * np.clip((rows - y0) / max(s * 0.2, 1.0), 0.0, 1.0)
            floor = np.array(color, dtype=np.float32)[None, None, :] * shade[..., None]
            canvas[:] = canvas * (1 - cover[..., None]) + floor * cover[..., None]
            line = np.clip(1.0 - np.abs(rows - y0 - 0.5), 0.0, 1.0)[..., None] * 0.35
            canvas[:] = canvas * (1 - line) + np.float32(255) * 0.9 * line
            continue
        # OpenCV anti-aliases only 8-bit images: draw a coverage mask, then blend
        mask = np.zeros((s, s), dtype=np.uint8)
        cv2.fillPoly(mask, [poly.reshape(-1, 1, 2)], 255, cv2.LINE_AA, _SHIFT)
        alpha = mask.astype(np.float32)[..., None] * np.float32(1.0 / 255.0)
        canvas[:] = canvas * (1 - alpha) + np.array(color, dtype=np.float32) * alpha
    return canvas


def object_layer(
    obj: ObjectSpec, centre_px: np.ndarray, angle: float, ppm: float, size: int
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Draw one object: (bbox (y0, y1, x0, x1), alpha [h,w] float32 0..1, colour [h,w,3] float32).

    ``centre_px`` is the centre of mass in pixels, ``angle`` the body angle (rad, counter-clockwise
    in the world, i.e. clockwise on screen). Returns None when the object is entirely outside.
    """
    cx, cy = float(centre_px[0]), float(centre_px[1])
    ext = obj.size_m * ppm * (1.0 if obj.shape == "ball" else math.sqrt(2.0)) + 2.0
    x0, x1 = max(int(math.floor(cx - ext)), 0), min(int(math.ceil(cx + ext)) + 1, size)
    y0, y1 = max(int(math.floor(cy - ext)), 0), min(int(math.ceil(cy + ext)) + 1, size)
    if x1 <= x0 or y1 <= y0:
        return None
    box = (y0, y1, x0, x1)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
    base = np.array(obj.color, dtype=np.float32)
    c, s = math.cos(angle), math.sin(angle)
    if obj.shape == "ball":
        r = obj.size[0] * ppm
        dist = np.sqrt(xs * xs + ys * ys)
        alpha = np.clip(r - dist + 0.5, 0.0, 1.0)
        u, v = xs / r, ys / r
        nz = np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, 1.0))
        lam = np.clip(-0.45 * u - 0.55 * v + 0.7 * nz, 0.0, 1.0)
        shade = 0.35 + 0.8 * lam
        # a band through the centre that turns with the ball (shows rolling)
        band = np.abs(-s * u - c * v) < 0.18
        shade = np.where(band & (nz > 0.05), shade * 0.72, shade)
        col = base[None, None, :] * shade[..., None] + (255.0 * 0.5 * lam**24)[..., None]
    else:
        hx, hy = obj.size[0] * ppm, obj.size[1] * ppm
        px = c * xs - s * ys  # local coordinates in pixels (screen y down -> local y up = -ys)
        py = -s * xs - c * ys
        qx, qy = np.abs(px) - hx, np.abs(py) - hy
        sd = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)
        alpha = np.clip(0.5 - sd, 0.0, 1.0)
        lu, lv = px / hx, py / hy
        shade = 0.85 + 0.2 * np.clip(lv, -1, 1)
        edge = np.maximum(np.abs(lu), np.abs(lv)) > 1.0 - 1.6 / max(min(hx, hy), 1.0)
        shade = np.where(edge, shade * 0.75, shade)
        col = base[None, None, :] * shade[..., None]
    return box, alpha.astype(np.float32), np.clip(col, 0, 255).astype(np.float32)


def render(
    scene: Scene,
    sim: SimResult,
    camera: Camera,
    frame_steps: np.ndarray,
    rng: np.random.Generator,
    motion_blur: int = 0,
    masks: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Render frames at substeps ``frame_steps`` [T].

    Returns frames uint8 [T,H,W,3], ``coverage`` [T,N] (fraction of each object's area that is
    inside the image and not hidden by an object in front; from the sharp, unblurred geometry)
    and ``centre_visible`` [T,N] bool (the object's centre-of-mass pixel lies in the image and
    shows that object: alpha of the unoccluded object there >= 0.5).

    ``motion_blur`` > 1 averages that many sub-frame renders over a shutter of half a frame
    centred on the frame time. With ``masks`` it also returns each object's seen alpha (after
    occlusion by objects in front) as float32 [T,N,H,W] (else None). Last comes the background
    image (objects removed) as uint8 [H,W,3].
    """
    bg = background(scene, camera, rng)
    n_frames, n_obj, s = len(frame_steps), len(scene.objects), camera.size
    ppm = camera.px_per_m
    frames = np.empty((n_frames, s, s, 3), dtype=np.uint8)
    coverage = np.zeros((n_frames, n_obj))
    centre_visible = np.zeros((n_frames, n_obj), dtype=bool)
    seen_masks = np.zeros((n_frames, n_obj, s, s), dtype=np.float32) if masks else None
    centres = camera.to_px(sim.pos)
    area = np.array(
        [
            math.pi * (o.size[0] * ppm) ** 2 if o.shape == "ball" else 4 * o.size[0] * o.size[1] * ppm**2
            for o in scene.objects
        ]
    )
    n_sub = max(int(motion_blur), 1)
    last = len(sim.pos) - 1
    half = 0.25 * sim.steps_per_frame
    for f, step in enumerate(frame_steps):
        sharp = [
            object_layer(o, centres[step, i], float(sim.angle[step, i]), ppm, s)
            for i, o in enumerate(scene.objects)
        ]
        _visibility(
            sharp,
            centres[step],
            area,
            coverage[f],
            centre_visible[f],
            s,
            None if seen_masks is None else seen_masks[f],
        )
        if n_sub == 1:
            acc = _composite(bg, sharp)
        else:
            subs = np.clip(np.round(step + np.linspace(-half, half, n_sub)).astype(int), 0, last)
            acc = np.zeros_like(bg)
            for sub in subs:
                layers = [
                    object_layer(o, centres[sub, i], float(sim.angle[sub, i]), ppm, s)
                    for i, o in enumerate(scene.objects)
                ]
                acc += _composite(bg, layers)
            acc /= n_sub
        frames[f] = np.clip(acc + 0.5, 0, 255).astype(np.uint8)
    return frames, coverage, centre_visible, seen_masks, np.clip(bg + 0.5, 0, 255).astype(np.uint8)


def _composite(bg: np.ndarray, layers: list) -> np.ndarray:
    img = bg.copy()
    for layer in layers:
        if layer is None:
            continue
        (y0, y1, x0, x1), a, col = layer
        region = img[y0:y1, x0:x1]
        region += (col - region) * a[..., None]
    return img


def _visibility(
    layers: list,
    centres: np.ndarray,
    area: np.ndarray,
    cov: np.ndarray,
    vis: np.ndarray,
    size: int,
    out_masks: np.ndarray | None = None,
) -> None:
    """Fill coverage ``cov`` [N], centre visibility ``vis`` [N] and optionally ``out_masks`` [N,H,W]."""
    n = len(layers)
    for i in range(n):
        if layers[i] is None:
            continue
        (y0, y1, x0, x1), a, _ = layers[i]
        seen = a.copy()
        for j in range(i + 1, n):
            if layers[j] is None:
                continue
            (v0, v1, u0, u1), b, _ = layers[j]
            oy0, oy1, ox0, ox1 = max(y0, v0), min(y1, v1), max(x0, u0), min(x1, u1)
            if oy1 > oy0 and ox1 > ox0:
                seen[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] *= (
                    1.0 - b[oy0 - v0 : oy1 - v0, ox0 - u0 : ox1 - u0]
                )
        cov[i] = min(float(seen.sum()) / max(area[i], 1e-9), 1.0)
        if out_masks is not None:
            out_masks[i, y0:y1, x0:x1] = seen
        cx, cy = round(float(centres[i, 0])), round(float(centres[i, 1]))
        if 0 <= cx < size and 0 <= cy < size and y0 <= cy < y1 and x0 <= cx < x1:
            vis[i] = bool(seen[cy - y0, cx - x0] >= 0.5)
