"""Scenes and rigid-body simulation of the procedural physics world (pymunk, SI units).

World coordinates are metres with x to the right and y UP; the floor's top is y = 0 and gravity
is 9.81 m/s^2 downwards. Masses and moments of inertia are those of 3-D solids (a sphere of
radius r; a box of width 2*hx, height 2*hy and depth 2*min(hx, hy)) so that kg and J are real.

The simulation runs at ``steps_per_frame`` substeps per video frame (default 240 Hz at 16 fps)
and records the state of every dynamic object at every substep, contact events (merged from
pymunk's collision callbacks), sliding and rolling speeds, and any work the scene injects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .world_materials import MATERIALS, OBJECT_MATERIALS, SURFACE_MATERIALS

GRAVITY = 9.81
SCENES: tuple[str, ...] = ("drop", "throw", "slide", "roll", "collide", "push")

# An impact event needs at least this normal approach speed (m/s); slower touches are resting contact.
MIN_APPROACH_SPEED = 0.05
# Box2D-style restitution threshold (m/s): contacts approaching slower than this do not bounce.
# It ends a bounce sequence once the rebound would be shorter than the video can show (at 16 fps
# a rebound of e*v leaves the floor for 2*e*v/g s: below ~1 m/s that is under 3 frames), instead of
# an unresolvable chatter of micro-bounces.
RESTITUTION_THRESHOLD_MPS = 1.0
# Impulse of one impact = sum over this many substeps from the first substep of the contact.
IMPULSE_WINDOW_STEPS = 2


@dataclass
class ObjectSpec:
    """One dynamic object: ``shape`` "ball" (``size`` = (radius,)) or "box" (``size`` = (hx, hy)), metres."""

    label: str
    shape: str
    material: str
    size: tuple[float, ...]
    position: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0
    angular_velocity: float = 0.0
    color: tuple[int, int, int] = (200, 200, 200)

    @property
    def size_m(self) -> float:
        """Characteristic size (m): ball radius or half the box's longest side."""
        return float(max(self.size))

    @property
    def mass(self) -> float:
        """Mass in kg of the 3-D solid."""
        rho = MATERIALS[self.material].density
        if self.shape == "ball":
            return rho * 4.0 / 3.0 * math.pi * self.size[0] ** 3
        hx, hy = self.size
        return rho * (2 * hx) * (2 * hy) * (2 * min(hx, hy))

    @property
    def moment(self) -> float:
        """Moment of inertia (kg m^2) about the axis perpendicular to the image plane."""
        if self.shape == "ball":
            return 0.4 * self.mass * self.size[0] ** 2
        hx, hy = self.size
        return self.mass * ((2 * hx) ** 2 + (2 * hy) ** 2) / 12.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "shape": self.shape,
            "material": self.material,
            "size_m": [float(s) for s in self.size],
            "position_m": [float(p) for p in self.position],
            "velocity_mps": [float(v) for v in self.velocity],
            "angle_rad": float(self.angle),
            "angular_velocity_radps": float(self.angular_velocity),
            "color": [int(c) for c in self.color],
            "mass_kg": float(self.mass),
        }


@dataclass
class StaticSpec:
    """Static scenery: a convex polygon (world metres, counter-clockwise) of a surface material."""

    label: str
    material: str
    vertices: list[tuple[float, float]]
    color: tuple[int, int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "material": self.material,
            "vertices_m": [[float(x), float(y)] for x, y in self.vertices],
            "color": [int(c) for c in self.color],
        }


@dataclass
class Push:
    """A horizontal force ``force_n`` (N, signed) on object ``index`` from ``t0`` to ``t1`` seconds."""

    index: int
    force_n: float
    t0: float
    t1: float


@dataclass
class Scene:
    """Everything needed to simulate and draw one clip (before simulation)."""

    kind: str
    objects: list[ObjectSpec]
    statics: list[StaticSpec]
    view: tuple[float, float, float]  # xmin, ymin, width (m); square view
    pushes: list[Push] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimResult:
    """Recorded simulation. Arrays are indexed by substep k = 0..K (time k*dt), objects n.

    pos [K+1,N,2] m (world, y up); angle [K+1,N] rad (counter-clockwise); vel [K+1,N,2] m/s;
    angvel [K+1,N] rad/s; slide [K+1,N] m/s (tangential speed at the object's contacts during
    step k-1 -> k, 0 if free); roll [K+1,N] m/s (|omega| * r of a ball while touching);
    touching [K+1,N] bool; injected [K+1] J (work done by scene forces during step k-1 -> k).
    events: list of impact dicts (see :func:`simulate`).
    """

    dt: float
    steps_per_frame: int
    pos: np.ndarray
    angle: np.ndarray
    vel: np.ndarray
    angvel: np.ndarray
    slide: np.ndarray
    roll: np.ndarray
    touching: np.ndarray
    injected: np.ndarray
    events: list[dict[str, Any]]
    masses: np.ndarray
    moments: np.ndarray

    def kinetic_energy(self) -> np.ndarray:
        """Total kinetic energy (J) per substep [K+1] (translational + rotational)."""
        trans = 0.5 * self.masses[None] * (self.vel**2).sum(-1)
        rot = 0.5 * self.moments[None] * self.angvel**2
        return (trans + rot).sum(-1)

    def potential_energy(self) -> np.ndarray:
        """Total gravitational potential energy (J) per substep [K+1], zero at the floor (y = 0)."""
        return (self.masses[None] * GRAVITY * self.pos[..., 1]).sum(-1)


# --------------------------------------------------------------------------- scenes


def _color(rng: np.random.Generator, material: str) -> tuple[int, int, int]:
    base = np.array(MATERIALS[material].color, dtype=float)
    if material == "plastic":  # plastic comes in any hue
        base = np.array(_hue_rgb(rng.uniform(0, 1)), dtype=float) * 0.85 + 20
    jitter = rng.uniform(-25, 25, size=3)
    return tuple(int(v) for v in np.clip(base + jitter, 15, 245))


def _hue_rgb(h: float) -> tuple[float, float, float]:
    k = np.array([5.0, 3.0, 1.0])
    kk = (k + h * 6.0) % 6.0
    rgb = 1.0 - np.clip(np.minimum(kk, 4.0 - kk), 0.0, 1.0)
    return tuple(float(v) * 230 for v in rgb)


def _surface_color(rng: np.random.Generator, material: str) -> tuple[int, int, int]:
    base = {"wood": (150, 105, 65), "stone": (130, 128, 122), "metal": (110, 115, 125)}[material]
    return tuple(int(np.clip(b + rng.uniform(-20, 20), 10, 245)) for b in base)


def _make_object(
    rng: np.random.Generator, options: dict[str, Any], shape: str | None = None, label_prefix: str = ""
) -> ObjectSpec:
    material = options.get("material") or OBJECT_MATERIALS[int(rng.integers(len(OBJECT_MATERIALS)))]
    if material not in OBJECT_MATERIALS:
        raise ValueError(f"unknown material {material!r}; expected one of {OBJECT_MATERIALS}")
    shape = shape or options.get("shape") or ("ball" if rng.uniform() < 0.7 else "box")
    if shape == "ball":
        size: tuple[float, ...] = (float(options.get("size_m") or rng.uniform(0.04, 0.1)),)
    elif shape == "box":
        hx = float(options.get("size_m") or rng.uniform(0.04, 0.09))
        size = (hx, hx * float(rng.uniform(0.6, 1.0)))
    else:
        raise ValueError(f"unknown shape {shape!r}; expected 'ball' or 'box'")
    label = f"{label_prefix}{MATERIALS[material].adjective} {shape}"
    return ObjectSpec(label, shape, material, size, (0.0, 0.0), color=_color(rng, material))


def _floor(rng: np.random.Generator, options: dict[str, Any]) -> StaticSpec:
    material = options.get("floor_material") or SURFACE_MATERIALS[int(rng.integers(len(SURFACE_MATERIALS)))]
    if material not in SURFACE_MATERIALS:
        raise ValueError(f"unknown floor material {material!r}; expected one of {SURFACE_MATERIALS}")
    return StaticSpec(
        "floor",
        material,
        [(-50.0, -5.0), (50.0, -5.0), (50.0, 0.0), (-50.0, 0.0)],
        _surface_color(rng, material),
    )


def _bottom(obj: ObjectSpec) -> float:
    return obj.size[0] if obj.shape == "ball" else obj.size[1]


def build_scene(kind: str, rng: np.random.Generator, options: dict[str, Any]) -> Scene:
    """Random scene of ``kind`` (one of :data:`SCENES`); ``options`` may fix some parameters.

    The view is 9-14 object sizes wide so objects stay large in the picture, and the motion is
    scaled to the view. Recognised options: ``material`` (object material), ``floor_material``,
    ``shape`` ("ball"/"box"), ``size_m`` (ball radius / box half-width, m), ``height_m`` (drop height
    of the object's bottom, m), ``speed_mps`` (initial speed for throw/slide/roll/collide),
    ``push_force_n`` (N), ``ramp`` (bool, roll scene).
    """
    floor = _floor(rng, options)
    statics = [floor]
    pushes: list[Push] = []
    params: dict[str, Any] = {}
    floor_frac = float(rng.uniform(0.1, 0.2))
    sign = 1.0 if rng.uniform() < 0.5 else -1.0  # direction of motion

    def view_for(obj: ObjectSpec, lo: float, hi: float) -> tuple[float, float, float]:
        """View of width ~[9, 14] object sizes whose x-range starts near ``lo`` (sign > 0) or ``hi``."""
        width = obj.size_m * float(rng.uniform(9.0, 14.0))
        if sign > 0:
            x0 = lo
        else:
            x0 = hi - width
        return (x0, -floor_frac * width, width)

    if kind == "drop":
        obj = _make_object(rng, options)
        width = obj.size_m * float(rng.uniform(9.0, 14.0))
        usable = width * (1.0 - floor_frac - 0.05) - 2 * obj.size_m
        h = float(options.get("height_m") or usable * rng.uniform(0.4, 1.0))
        obj.position = (0.0, h + _bottom(obj))
        obj.velocity = (float(rng.uniform(-0.1, 0.1)), 0.0)
        obj.angle = float(rng.uniform(-0.4, 0.4)) if obj.shape == "box" else float(rng.uniform(0, 2 * np.pi))
        top = h + 2 * obj.size_m + 0.02
        width = max(width, top / (1.0 - floor_frac - 0.02))
        view = (-width * float(rng.uniform(0.35, 0.65)), -floor_frac * width, width)
        objects = [obj]
        params["height_m"] = h
    elif kind == "throw":
        obj = _make_object(
            rng, options, shape=options.get("shape") or ("ball" if rng.uniform() < 0.8 else "box")
        )
        width = obj.size_m * float(rng.uniform(10.0, 14.0))
        usable = width * (1.0 - floor_frac - 0.05) - 2 * obj.size_m
        y0 = _bottom(obj) + usable * float(rng.uniform(0.1, 0.4))
        apex = usable * float(rng.uniform(0.6, 1.0))
        vy = math.sqrt(2 * GRAVITY * max(apex - y0, 0.01))
        vx = width * float(rng.uniform(0.25, 0.6))
        if options.get("speed_mps"):
            scale = float(options["speed_mps"]) / math.hypot(vx, vy)
            vx, vy = vx * scale, vy * scale
        obj.position = (0.0, y0)
        obj.velocity = (sign * vx, vy)
        obj.angular_velocity = float(rng.uniform(-6, 6))
        margin = 2 * obj.size_m
        view = (-margin if sign > 0 else margin - width, -floor_frac * width, width)
        objects = [obj]
        params.update(speed_mps=math.hypot(vx, vy))
    elif kind == "slide":
        obj = _make_object(rng, options, shape="box")
        hx, hy = obj.size
        obj.size = (hx, min(hy, hx))
        mu = MATERIALS[obj.material].friction * MATERIALS[floor.material].friction
        view = view_for(obj, -2 * hx, 2 * hx)
        dist = view[2] * float(rng.uniform(0.35, 0.7))
        speed = float(options.get("speed_mps") or math.sqrt(2 * mu * GRAVITY * dist))
        obj.position = (0.0, obj.size[1])
        obj.velocity = (sign * speed, 0.0)
        objects = [obj]
        params.update(speed_mps=speed, friction=mu)
    elif kind == "roll":
        obj = _make_object(rng, options, shape="ball")
        r = obj.size[0]
        width = r * float(rng.uniform(10.0, 14.0))
        use_ramp = options.get("ramp")
        if use_ramp is None:
            use_ramp = bool(rng.uniform() < 0.5)
        if use_ramp:
            slope = float(rng.uniform(0.25, 0.5))
            height = width * float(rng.uniform(0.15, 0.3))
            run = height / math.tan(slope)
            # ramp from x=-run (top) to x=0 (bottom), mirrored when rolling left
            verts = [(-run, 0.0), (0.0, 0.0), (-run, height)]
            if sign < 0:
                verts = [(run, 0.0), (run, height), (0.0, 0.0)]
            statics.append(StaticSpec("ramp", "wood", verts, _surface_color(rng, "wood")))
            n = np.array([math.sin(slope) * sign, math.cos(slope)])
            top = np.array([-sign * run * 0.85, height * 0.85])
            c = top + n * r
            obj.position = (float(c[0]), float(c[1]))
            x_start = -sign * (run + 0.02)
            view = (x_start if sign > 0 else x_start - width, -floor_frac * width, width)
            params.update(ramp_height_m=height, ramp_slope_rad=slope)
        else:
            speed = float(options.get("speed_mps") or width * rng.uniform(0.25, 0.45))
            obj.position = (0.0, r)
            obj.velocity = (sign * speed, 0.0)
            obj.angular_velocity = -sign * speed / r
            view = (-2 * r if sign > 0 else 2 * r - width, -floor_frac * width, width)
            params.update(speed_mps=speed)
        objects = [obj]
    elif kind == "collide":
        a = _make_object(rng, options, shape="ball")
        b = _make_object(rng, {}, shape="ball" if rng.uniform() < 0.6 else "box")
        if b.shape == "box":
            hx, hy = b.size
            b.size = (hx, min(hy, hx))
        if a.label == b.label:
            a.label, b.label = "first " + a.label, "second " + b.label
        big = max(a.size_m, b.size_m)
        width = big * float(rng.uniform(10.0, 14.0))
        ra = a.size[0]
        gap = width * float(rng.uniform(0.15, 0.35))
        a.position = (0.0, ra)
        b.position = (sign * (ra + gap + b.size_m), _bottom(b))
        speed = float(options.get("speed_mps") or width * rng.uniform(0.4, 0.8))
        a.velocity = (sign * speed, 0.0)
        a.angular_velocity = -sign * speed / ra
        if b.shape == "ball" and rng.uniform() < 0.4:  # both moving
            vb = speed * float(rng.uniform(0.3, 0.8))
            b.velocity = (-sign * vb, 0.0)
            b.angular_velocity = sign * vb / b.size[0]
        margin = 2 * a.size_m
        view = (-margin if sign > 0 else margin - width, -floor_frac * width, width)
        objects = [a, b]
        params.update(speed_mps=speed, gap_m=gap)
    elif kind == "push":
        obj = _make_object(rng, options, shape="box")
        hx, hy = obj.size
        obj.size = (hx, min(hy, 0.9 * hx))
        width = hx * float(rng.uniform(10.0, 14.0))
        table_h = width * float(rng.uniform(0.25, 0.4))
        length = width * float(rng.uniform(0.45, 0.65))
        x_a, x_b = sorted([-sign * 2 * hx, sign * (length - 2 * hx)])
        mat = "wood"
        col = _surface_color(rng, mat)
        th = 0.04 * table_h + 0.01
        lw = 0.03 * table_h + 0.01
        top = StaticSpec(
            "table", mat, [(x_a, table_h - th), (x_b, table_h - th), (x_b, table_h), (x_a, table_h)], col
        )
        legs = [
            StaticSpec(
                "table", mat, [(x, 0.0), (x + lw, 0.0), (x + lw, table_h - th), (x, table_h - th)], col
            )
            for x in (x_a + lw, x_b - 2 * lw)
        ]
        statics += [top, *legs]
        obj.position = (0.0, table_h + obj.size[1])
        mu = MATERIALS[obj.material].friction * MATERIALS[mat].friction
        # choose the push so the box would travel ~[0.3, 1.3] table lengths: over a push of
        # duration tau with force k*mu*m*g it travels k*(k-1)*mu*g*tau^2/2 before friction stops it
        tau = float(rng.uniform(0.25, 0.5))
        travel = length * float(rng.uniform(0.3, 1.3))
        k = 0.5 * (1.0 + math.sqrt(1.0 + 8.0 * travel / (mu * GRAVITY * tau**2)))
        force = float(options.get("push_force_n") or k * mu * obj.mass * GRAVITY)
        t0 = float(rng.uniform(0.1, 0.3))
        pushes.append(Push(0, sign * force, t0, t0 + tau))
        x_start = -sign * (2 * hx + 0.02)
        view = (x_start if sign > 0 else x_start - width, -floor_frac * width, width)
        objects = [obj]
        params.update(
            table_height_m=table_h, table_length_m=length, push_force_n=force,
            push_t0_s=pushes[0].t0, push_t1_s=pushes[0].t1, friction=mu,
        )  # fmt: skip
    else:
        raise ValueError(f"unknown scene {kind!r}; expected one of {SCENES}")
    params["direction"] = int(sign)
    return Scene(kind, objects, statics, view, pushes, params)


# --------------------------------------------------------------------------- simulation


def simulate(scene: Scene, duration_s: float, fps: float, steps_per_frame: int = 15) -> SimResult:
    """Simulate ``scene`` for ``duration_s`` seconds at ``fps * steps_per_frame`` Hz.

    Events (one per impact, in time order) are dicts with: ``time_s`` (contact time, refined
    within the substep from the penetration depth), ``step``, ``objects`` (two labels),
    ``indices`` (object indices; statics are -1), ``impulse_Ns`` (normal+tangential impulse
    magnitude summed over the first :data:`IMPULSE_WINDOW_STEPS` substeps of the contact),
    ``approach_speed_mps`` (normal relative speed before contact), ``pre_speed_mps`` /
    ``post_speed_mps`` (speed of each participant, statics 0), ``delta_ke_J`` (kinetic energy of
    the participants just after the window minus just before the contact), ``position_m``
    (contact point, world), ``materials`` (the two materials) and ``size_m`` (characteristic sizes;
    statics use 0.3 m).
    """
    import pymunk

    dt = 1.0 / (fps * steps_per_frame)
    n_steps = int(round(duration_s / dt))
    space = pymunk.Space()
    space.gravity = (0.0, -GRAVITY)
    space.iterations = 20
    space.sleep_time_threshold = float("inf")
    space.collision_slop = 0.0005
    shape_ids: dict[Any, int] = {}
    bodies = []
    for i, obj in enumerate(scene.objects):
        mat = MATERIALS[obj.material]
        body = pymunk.Body(obj.mass, obj.moment)
        body.position = obj.position
        body.velocity = obj.velocity
        body.angle = obj.angle
        body.angular_velocity = obj.angular_velocity
        if obj.shape == "ball":
            shape = pymunk.Circle(body, obj.size[0])
        else:
            hx, hy = obj.size
            shape = pymunk.Poly(body, [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)])
        shape.elasticity = mat.restitution
        shape.friction = mat.friction
        space.add(body, shape)
        shape_ids[shape] = i
        bodies.append(body)
    n_obj = len(bodies)
    for j, st in enumerate(scene.statics):
        mat = MATERIALS[st.material]
        shape = pymunk.Poly(space.static_body, st.vertices)
        shape.elasticity = mat.restitution
        shape.friction = mat.friction
        space.add(shape)
        shape_ids[shape] = n_obj + j

    masses = np.array([o.mass for o in scene.objects])
    moments = np.array([o.moment for o in scene.objects])
    radii = np.array([o.size[0] if o.shape == "ball" else 0.0 for o in scene.objects])
    pos = np.zeros((n_steps + 1, n_obj, 2))
    ang = np.zeros((n_steps + 1, n_obj))
    vel = np.zeros((n_steps + 1, n_obj, 2))
    angvel = np.zeros((n_steps + 1, n_obj))
    slide = np.zeros((n_steps + 1, n_obj))
    roll = np.zeros((n_steps + 1, n_obj))
    touching = np.zeros((n_steps + 1, n_obj), dtype=bool)
    injected = np.zeros(n_steps + 1)

    def record(k: int) -> None:
        for i, b in enumerate(bodies):
            p = b.position
            v = b.velocity
            pos[k, i] = (p.x, p.y)
            vel[k, i] = (v.x, v.y)
            ang[k, i] = b.angle
            angvel[k, i] = b.angular_velocity

    def label_of(idx: int) -> str:
        return scene.objects[idx].label if idx < n_obj else scene.statics[idx - n_obj].label

    def material_of(idx: int) -> str:
        return scene.objects[idx].material if idx < n_obj else scene.statics[idx - n_obj].material

    state = {"k": 0}
    pending: dict[tuple[int, int], dict[str, Any]] = {}
    to_finalise: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def begin(arb: Any, space_: Any, data: Any) -> None:
        sa, sb = arb.shapes
        ia, ib = shape_ids[sa], shape_ids[sb]
        cps = arb.contact_point_set
        if not cps.points:
            return
        pt = cps.points[0]
        p = (pt.point_a + pt.point_b) * 0.5
        n = cps.normal
        dv = sb.body.velocity_at_world_point(p) - sa.body.velocity_at_world_point(p)
        approach = abs(dv.dot(n))
        if approach < RESTITUTION_THRESHOLD_MPS:
            arb.restitution = 0.0
        if approach < MIN_APPROACH_SPEED:
            return
        k = state["k"]
        depth = max(0.0, -min(q.distance for q in cps.points))
        t = (k + 1) * dt - min(depth / approach, dt)
        idx = (ia, ib)
        pending[(ia, ib)] = {
            "time_s": float(t),
            "step": k + 1,
            "indices": idx,
            "impulse_Ns": 0.0,
            "approach_speed_mps": float(approach),
            "position_m": [float(p.x), float(p.y)],
            "_left": IMPULSE_WINDOW_STEPS,
            "_ke_before": _ke(idx, k),
            "_speed_before": [_speed(i, k) for i in idx],
        }

    def _ke(idx: tuple[int, int], k: int) -> float:
        return float(
            sum(
                0.5 * masses[i] * (vel[k, i] ** 2).sum() + 0.5 * moments[i] * angvel[k, i] ** 2
                for i in idx
                if i < n_obj
            )
        )

    def _speed(i: int, k: int) -> float:
        return float(np.hypot(*vel[k, i])) if i < n_obj else 0.0

    def post_solve(arb: Any, space_: Any, data: Any) -> None:
        sa, sb = arb.shapes
        ia, ib = shape_ids[sa], shape_ids[sb]
        ev = pending.get((ia, ib))
        if ev is not None and ev["_left"] > 0:
            ev["impulse_Ns"] += float(arb.total_impulse.length)
            ev["_left"] -= 1
            if ev["_left"] == 0:
                to_finalise.append(pending.pop((ia, ib)))
        cps = arb.contact_point_set
        if not cps.points:
            return
        p = cps.points[0].point_a
        n = cps.normal
        dv = sb.body.velocity_at_world_point(p) - sa.body.velocity_at_world_point(p)
        vt = abs(dv.dot(n.perpendicular()))
        k1 = state["k"] + 1
        for i in (ia, ib):
            if i < n_obj:
                touching[k1, i] = True
                slide[k1, i] = max(slide[k1, i], vt)
                if radii[i] > 0:
                    roll[k1, i] = abs(bodies[i].angular_velocity) * radii[i]

    def separate(arb: Any, space_: Any, data: Any) -> None:
        sa, sb = arb.shapes
        ev = pending.pop((shape_ids[sa], shape_ids[sb]), None)
        if ev is not None:
            to_finalise.append(ev)

    space.on_collision(begin=begin, post_solve=post_solve, separate=separate)

    rr = [MATERIALS[o.material].rolling_resistance for o in scene.objects]
    record(0)
    for k in range(n_steps):
        state["k"] = k
        t = k * dt
        # rolling resistance on balls that touched something during the previous step
        for i, b in enumerate(bodies):
            if radii[i] > 0 and touching[k, i]:
                vx = b.velocity.x
                if abs(vx) > 1e-3:
                    b.apply_force_at_world_point(
                        (-math.copysign(rr[i] * masses[i] * GRAVITY, vx), 0.0), b.position
                    )
        x_before = [bodies[p.index].position.x for p in scene.pushes]
        active = [p for p in scene.pushes if p.t0 <= t < p.t1]
        for p in active:
            body = bodies[p.index]
            body.apply_force_at_world_point((p.force_n, 0.0), body.position)
        space.step(dt)
        record(k + 1)
        for p, x0 in zip(scene.pushes, x_before, strict=True):
            if p.t0 <= t < p.t1:
                injected[k + 1] += p.force_n * (bodies[p.index].position.x - x0)
        for ev in to_finalise:
            idx = ev["indices"]
            ev["delta_ke_J"] = _ke(idx, k + 1) - ev.pop("_ke_before")
            ev["pre_speed_mps"] = ev.pop("_speed_before")
            ev["post_speed_mps"] = [_speed(i, k + 1) for i in idx]
            ev.pop("_left")
            events.append(ev)
        to_finalise.clear()
    for ev in list(pending.values()):  # contacts still inside their window at the end
        idx = ev["indices"]
        ev["delta_ke_J"] = _ke(idx, n_steps) - ev.pop("_ke_before")
        ev["pre_speed_mps"] = ev.pop("_speed_before")
        ev["post_speed_mps"] = [_speed(i, n_steps) for i in idx]
        ev.pop("_left")
        events.append(ev)
    events.sort(key=lambda e: (e["time_s"], e["indices"]))
    for ev in events:
        idx = ev["indices"]
        ev["objects"] = [label_of(i) for i in idx]
        ev["materials"] = [material_of(i) for i in idx]
        ev["size_m"] = [scene.objects[i].size_m if i < n_obj else 0.3 for i in idx]
        ev["indices"] = [int(i) if i < n_obj else -1 for i in idx]
    return SimResult(
        dt, steps_per_frame, pos, ang, vel, angvel, slide, roll, touching, injected, events, masses, moments
    )
