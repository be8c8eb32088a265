"""Procedural physics audio-video world with exact ground truth: :func:`synth_clip` -> :class:`Clip`.

A clip is one random scene (see :data:`SCENES`) simulated with pymunk in SI units, rendered as a
2-D side view and sonified from the simulation (impacts, sliding, rolling). Everything is
deterministic per seed: the seed is split (numpy ``SeedSequence``) into independent streams for
the scene, the picture and the sound, so the same seed gives the same scene and audio at any
image size.

Conventions of the ground truth:

- tracks are object centres of mass in pixels (x right, y down; the centre of pixel (c, r) is
  (x=c, y=r), OpenCV's convention); ``visible[t, n]`` is True when the centre-of-mass pixel lies in
  the image and shows object n (not hidden by an object drawn in front); ``coverage[t, n]`` is the
  fraction of the object's area seen (in the image and unoccluded);
- ``velocity_mps`` uses the IMAGE axes (x right, y DOWN) in m/s, so it equals
  d(track)/dt / px_per_m for a visible object;
- energies are in J, with potential energy zero at the floor's top surface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .world_materials import MATERIALS, OBJECT_MATERIALS, SURFACE_MATERIALS
from .world_sim import SCENES, Scene, SimResult, build_scene, simulate

if TYPE_CHECKING:
    from ..kinematics import Tracks

SAMPLE_RATE = 16000
DEFAULT_FPS = 16.0
DEFAULT_FRAMES = 33
DEFAULT_SIZE = 64

_OPTIONS = {
    "material", "floor_material", "shape", "size_m", "height_m", "speed_mps", "push_force_n", "ramp",
    "motion_blur", "reverb", "noise_floor_db", "steps_per_frame", "masks",
}  # fmt: skip


@dataclass
class Clip:
    """One generated clip with its ground truth.

    Attributes:
        frames: uint8 [T,H,W,3] RGB.
        audio: float32 [S] mono in [-1, 1], S = round(T / fps * sample_rate).
        fps, sample_rate: frames per second; audio samples per second (16000).
        tracks: :class:`kinematics.Tracks` of the N objects' centres of mass (pixels).
        events: impact events in time order, dicts with ``time_s``, ``objects`` (two labels),
            ``indices`` (object indices, -1 for floor/table/ramp), ``materials``, ``impulse_Ns``,
            ``approach_speed_mps``, ``delta_ke_J``, ``pre_speed_mps`` / ``post_speed_mps`` (per
            participant), ``position_px`` ([x, y]) and ``position_m`` (world, y up).
        masses: float64 [N] kg.
        velocity_mps: float64 [T,N,2] m/s in image axes (x right, y down).
        px_per_m: pixels per metre of the camera.
        caption: one sentence describing the clip.
        params: JSON-serialisable scene description (objects, statics, view, scene parameters).
        seed: the clip's seed; kind: the scene type (one of :data:`SCENES`).
        coverage: float64 [T,N] fraction of each object's area that is seen.
        sliding_speed_mps, rolling_speed_mps: float64 [T,N] (means over each frame's interval).
        kinetic_energy_J, potential_energy_J: float64 [T] totals over objects.
        injected_work_J: float64 [T] work done by scene forces (a push) from frame t-1 to t (0 at t=0).
        audio_info: dict from the sound synthesis (``clipped_fraction``, ``peak``, reverb settings).
        masks: with option ``masks=True``, float32 [T,N,H,W] seen alpha (0..1) of each object
            (anti-aliased, after occlusion by objects in front); else None.
        background: with ``masks=True``, uint8 [H,W,3] the picture without objects; else None.
    """

    frames: np.ndarray
    audio: np.ndarray
    fps: float
    sample_rate: int
    tracks: Tracks
    events: list[dict[str, Any]]
    masses: np.ndarray
    velocity_mps: np.ndarray
    px_per_m: float
    caption: str
    params: dict[str, Any]
    seed: int
    kind: str
    coverage: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    sliding_speed_mps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    rolling_speed_mps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    kinetic_energy_J: np.ndarray = field(default_factory=lambda: np.zeros(0))
    potential_energy_J: np.ndarray = field(default_factory=lambda: np.zeros(0))
    injected_work_J: np.ndarray = field(default_factory=lambda: np.zeros(0))
    audio_info: dict[str, Any] = field(default_factory=dict)
    masks: np.ndarray | None = None
    background: np.ndarray | None = None

    @property
    def labels(self) -> list[str]:
        """Object labels (N)."""
        return list(self.tracks.labels or [])

    def physics(self) -> dict[str, Any]:
        """The PHYSICS socket value: numpy arrays plus JSON-able scalars and event dicts.

        Keys: ``masses_kg`` [N], ``velocity_mps`` [T,N,2] (image axes, x right, y down),
        ``events`` (list of dicts, see :class:`Clip`), ``px_per_m``, ``fps``, ``labels`` [N],
        ``kinetic_energy_J`` [T], ``sliding_speed_mps`` [T,N], ``rolling_speed_mps`` [T,N],
        ``axes`` ("image: x right, y down").
        """
        return {
            "masses_kg": self.masses.copy(),
            "velocity_mps": self.velocity_mps.copy(),
            "events": [dict(e) for e in self.events],
            "px_per_m": float(self.px_per_m),
            "fps": float(self.fps),
            "labels": self.labels,
            "kinetic_energy_J": self.kinetic_energy_J.copy(),
            "sliding_speed_mps": self.sliding_speed_mps.copy(),
            "rolling_speed_mps": self.rolling_speed_mps.copy(),
            "axes": "image: x right, y down",
        }

    def metadata(self) -> dict[str, Any]:
        """Everything except frames and audio, JSON-serialisable (for shard files).

        ``tracks`` is the Kinesonic tracks file format (invisible points as null); ``points_px``
        [T,N,2] holds the centres of mass at every frame, visible or not.
        """
        return {
            "seed": int(self.seed),
            "kind": self.kind,
            "caption": self.caption,
            "fps": float(self.fps),
            "sample_rate": int(self.sample_rate),
            "num_frames": int(self.frames.shape[0]),
            "size": int(self.frames.shape[1]),
            "num_samples": int(self.audio.shape[0]),
            "px_per_m": float(self.px_per_m),
            "labels": self.labels,
            "masses_kg": self.masses.tolist(),
            "tracks": self.tracks.to_dict(),
            "points_px": self.tracks.points.tolist(),
            "visible": self.tracks.visible.astype(int).tolist(),
            "velocity_mps": self.velocity_mps.tolist(),
            "coverage": self.coverage.tolist(),
            "sliding_speed_mps": self.sliding_speed_mps.tolist(),
            "rolling_speed_mps": self.rolling_speed_mps.tolist(),
            "kinetic_energy_J": self.kinetic_energy_J.tolist(),
            "potential_energy_J": self.potential_energy_J.tolist(),
            "injected_work_J": self.injected_work_J.tolist(),
            "events": self.events,
            "params": self.params,
            "audio_info": self.audio_info,
        }


def clip_seed(base_seed: int, index: int) -> int:
    """Deterministic seed of clip ``index`` of a dataset with ``base_seed`` (a 63-bit int)."""
    ss = np.random.SeedSequence([int(base_seed) & 0xFFFFFFFFFFFFFFFF, int(index)])
    return int(ss.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def synth_clip(
    seed: int,
    size: int = DEFAULT_SIZE,
    num_frames: int = DEFAULT_FRAMES,
    fps: float = DEFAULT_FPS,
    scene: str | None = None,
    **options: Any,
) -> Clip:
    """Generate one clip: simulate, render ``size`` x ``size`` frames, synthesise 16 kHz audio.

    Args:
        seed: any non-negative int; same seed and arguments -> identical clip (bytes).
        size: image side in pixels (>= 16).
        num_frames: T >= 2; the clip lasts T / fps seconds.
        fps: frames per second.
        scene: one of :data:`SCENES` or None (chosen from the seed).
        options: ``material`` (one of rubber, wood, metal, glass, plastic), ``floor_material``
            (wood, stone, metal), ``shape`` ("ball"/"box"), ``size_m``, ``height_m``, ``speed_mps``,
            ``push_force_n``, ``ramp`` (bool, roll scene), ``motion_blur`` (sub-frames, 0 = off),
            ``reverb`` (bool, default True), ``noise_floor_db`` (default -66 dBFS),
            ``steps_per_frame`` (physics substeps per frame, default 15 -> 240 Hz at 16 fps),
            ``masks`` (bool: also return per-object masks and the background picture).
    """
    from ..kinematics import Tracks
    from .world_render import Camera, render
    from .world_sound import synthesize

    unknown = set(options) - _OPTIONS
    if unknown:
        raise ValueError(f"synth_clip: unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    if int(size) < 16:
        raise ValueError(f"synth_clip: size must be >= 16 pixels, got {size}")
    if int(num_frames) < 2:
        raise ValueError(f"synth_clip: num_frames must be >= 2, got {num_frames}")
    if not fps > 0:
        raise ValueError(f"synth_clip: fps must be > 0, got {fps}")
    if seed < 0:
        raise ValueError(f"synth_clip: seed must be >= 0, got {seed}")
    size, num_frames, fps = int(size), int(num_frames), float(fps)
    scene_rng, render_rng, sound_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3)
    )
    kind = scene or SCENES[int(scene_rng.integers(len(SCENES)))]
    if kind not in SCENES:
        raise ValueError(f"synth_clip: unknown scene {kind!r}; expected one of {SCENES}")
    sc = build_scene(kind, scene_rng, options)
    spf = int(options.get("steps_per_frame") or 15)
    duration = num_frames / fps
    sim = simulate(sc, duration, fps, spf)
    camera = Camera(sc.view, size)
    frame_steps = np.arange(num_frames) * spf
    blur = int(options.get("motion_blur") or 0)
    want_masks = bool(options.get("masks", False))
    frames, coverage, visible, masks, bg = render(sc, sim, camera, frame_steps, render_rng, blur, want_masks)
    audio, audio_info = synthesize(
        sc, sim, duration, sound_rng, SAMPLE_RATE, bool(options.get("reverb", True)),
        float(options.get("noise_floor_db", -66.0)),
    )  # fmt: skip

    labels = [o.label for o in sc.objects]
    points = camera.to_px(sim.pos[frame_steps])
    tracks = Tracks(points, visible, fps, size, size, labels)
    velocity = sim.vel[frame_steps] * np.array([1.0, -1.0])
    events = []
    for ev in sim.events:
        e = {k: v for k, v in ev.items() if not k.startswith("_")}
        e["position_px"] = [float(v) for v in camera.to_px(np.array(ev["position_m"]))]
        events.append(e)
    ke, pe = sim.kinetic_energy(), sim.potential_energy()
    per_frame = _frame_means(sim, num_frames, spf)
    injected = np.concatenate([[0.0], sim.injected[1:].reshape(-1, spf).sum(1)[: num_frames - 1]])
    params = {
        "scene": kind,
        "objects": [o.to_dict() for o in sc.objects],
        "statics": [s.to_dict() for s in sc.statics],
        "view_m": {"xmin": sc.view[0], "ymin": sc.view[1], "width": sc.view[2]},
        "pushes": [{"object": p.index, "force_n": p.force_n, "t0_s": p.t0, "t1_s": p.t1} for p in sc.pushes],
        "physics_hz": fps * spf,
        "options": {k: v for k, v in options.items()},
        **sc.params,
    }
    params = json.loads(json.dumps(params))
    clip = Clip(
        frames=frames,
        audio=audio,
        fps=fps,
        sample_rate=SAMPLE_RATE,
        tracks=tracks,
        events=events,
        masses=sim.masses.copy(),
        velocity_mps=velocity,
        px_per_m=camera.px_per_m,
        caption="",
        params=params,
        seed=int(seed),
        kind=kind,
        coverage=coverage,
        sliding_speed_mps=per_frame["slide"],
        rolling_speed_mps=per_frame["roll"],
        kinetic_energy_J=ke[frame_steps],
        potential_energy_J=pe[frame_steps],
        injected_work_J=injected,
        audio_info=audio_info,
        masks=masks,
        background=bg if want_masks else None,
    )
    clip.caption = caption(sc, sim, clip)
    return clip


def _frame_means(sim: SimResult, num_frames: int, spf: int) -> dict[str, np.ndarray]:
    """Mean sliding / rolling speed over each frame's interval [t - dt_frame/2, t + dt_frame/2]."""
    out = {}
    for name in ("slide", "roll"):
        arr = getattr(sim, name)
        means = np.zeros((num_frames, arr.shape[1]))
        for f in range(num_frames):
            lo, hi = max(f * spf - spf // 2, 0), min(f * spf + spf // 2 + 1, len(arr))
            means[f] = arr[lo:hi].mean(0)
        out[name] = means
    return out


_COUNTS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def _size_word(obj: Any) -> str:
    s = obj.size_m
    return "small " if s < 0.055 else ("large " if s > 0.08 else "")


def caption(scene: Scene, sim: SimResult, clip: Clip | None = None) -> str:
    """A one-sentence description, e.g. "a small metal ball drops onto a wooden floor and bounces twice"."""
    objs = scene.objects
    floor = scene.statics[0]
    floor_words = f"a {MATERIALS[floor.material].adjective} floor"
    a = objs[0]
    name = f"{_size_word(a)}{MATERIALS[a.material].adjective} {a.shape}"
    article = "an" if name[0] in "aeiou" else "a"
    subject = f"{article} {name}"
    floor_hits = [e for e in sim.events if sorted(e["indices"]) == [-1, 0] and e["approach_speed_mps"] >= 0.3]
    bounces = max(len(floor_hits) - 1, 0)
    bounce_words = f"bounces {_COUNTS.get(bounces, 'several times')}" if bounces else "comes to rest"
    kind = scene.kind
    if kind == "drop":
        verb = "drops" if a.shape == "ball" else "falls"
        text = f"{subject} {verb} onto {floor_words} and {bounce_words}"
    elif kind == "throw":
        text = f"{subject} is thrown through the air, lands on {floor_words} and {bounce_words}"
        if clip is not None and not clip.tracks.visible[-1, 0]:
            text = f"{subject} is thrown through the air and leaves the picture"
    elif kind == "slide":
        stopped = abs(sim.vel[-1, 0, 0]) < 0.05
        text = f"{subject} slides across {floor_words}" + (" and comes to a stop" if stopped else "")
    elif kind == "roll":
        if any(s.label == "ramp" for s in scene.statics):
            text = f"{subject} rolls down a wooden ramp onto {floor_words}"
        else:
            text = f"{subject} rolls across {floor_words}"
    elif kind == "collide":
        b = objs[1]
        bname = f"{MATERIALS[b.material].adjective} {b.shape}"
        hit = any(sorted(e["indices"]) == [0, 1] for e in sim.events)
        moving = abs(scene.objects[1].velocity[0]) > 0
        if moving:
            text = f"{subject} and a {bname} roll towards each other" + (" and collide" if hit else "")
        else:
            text = f"{subject} rolls across {floor_words}" + (f" and hits a resting {bname}" if hit else "")
    else:  # push
        fell = sim.pos[-1, 0, 1] < scene.params.get("table_height_m", 0.0)
        text = f"{subject} is pushed across a wooden table"
        text += f" and falls off the edge onto {floor_words}" if fell else " and stops"
    return text


__all__ = [
    "DEFAULT_FPS",
    "DEFAULT_FRAMES",
    "DEFAULT_SIZE",
    "OBJECT_MATERIALS",
    "SAMPLE_RATE",
    "SCENES",
    "SURFACE_MATERIALS",
    "Clip",
    "caption",
    "clip_seed",
    "synth_clip",
]
