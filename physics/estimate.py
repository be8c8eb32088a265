"""Estimate the PHYSICS of a clip from its frames and tracks (+ masks, materials, prompt, scale).

:func:`estimate_physics` returns a :class:`PhysicsEstimate` whose :meth:`~PhysicsEstimate.physics`
is the PHYSICS socket value with the keys of the simulator's (docs/world.md) plus what says how
each number was obtained (``scale``, ``masses_range_kg``, ``materials``, ``material_sources``,
``shapes``, ``unknown``). Anything that cannot be estimated is NaN and named in ``unknown``;
nothing is guessed. Method and measured accuracy: docs/physics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import numpy as np

from .impacts import contact_times, impact_events
from .mass import (
    Blob,
    appearance,
    ensure_uint8,
    guess_shape,
    mass_range,
    measure_blobs,
    measure_masks,
    volume_m3,
)
from .materials import DENSITY, classifier_available, classify, parse_material, prompt_objects
from .motion import frame_velocities, prune_cuts, refine_cuts
from .scale import Scale, scale_from_gravity, scale_from_size, user_scale

SHAPES = ("ball", "box")
#: Appearance classes at least this probable widen the density range of an inferred material.
RANGE_PROBABILITY = 0.2


class PhysicsError(ValueError):
    """Bad input to the physics estimation (names the input, what was expected and what came)."""


@dataclass
class PhysicsEstimate:
    """Estimated physics of one clip (arrays over T frames and N objects; NaN = not estimated).

    Attributes:
        masses_kg: ``[N]`` kg; masses_range_kg: ``[N, 2]`` (low, high) kg.
        velocity_mps: ``[T, N, 2]`` m/s, image axes (x right, y down), NaN at invisible frames.
        events: impacts in the simulator's schema (docs/world.md), NaN where mass/scale is unknown.
        scale: :class:`.scale.Scale`; fps: frames per second; labels: object names.
        materials, material_sources: per object (source "user", "prompt", "appearance" or None).
        material_probability: the appearance classifier's probability of the chosen material (or None).
        shapes, shape_sources: "ball"/"box" per object and "user", "prompt", "mask" or None.
        sizes_m: ``[N]`` characteristic size (ball radius / half the box's longest side), m.
        unknown: sentences naming what could not be estimated and why.
    """

    masses_kg: np.ndarray
    masses_range_kg: np.ndarray
    velocity_mps: np.ndarray
    events: list[dict[str, Any]]
    scale: Scale
    fps: float
    labels: list[str]
    materials: list[str | None]
    material_sources: list[str | None]
    material_probability: list[float | None]
    shapes: list[str | None]
    shape_sources: list[str | None]
    sizes_m: np.ndarray
    contact_times_s: list[float] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def physics(self) -> dict[str, Any]:
        """The PHYSICS socket value: the simulator's keys (same types) plus how they were obtained."""
        T, N = self.velocity_mps.shape[:2]
        speed2 = (self.velocity_mps**2).sum(-1)  # [T, N]
        ke = 0.5 * self.masses_kg[None] * speed2
        known = np.isfinite(ke)
        kinetic = np.where(known.any(1), np.where(known, ke, 0.0).sum(1), np.nan)
        nan_tn = np.full((T, N), np.nan)
        return {
            "masses_kg": self.masses_kg.copy(),
            "velocity_mps": self.velocity_mps.copy(),
            "events": [dict(e) for e in self.events],
            "px_per_m": float(self.scale.px_per_m),
            "fps": float(self.fps),
            "labels": list(self.labels),
            "kinetic_energy_J": kinetic,
            "sliding_speed_mps": nan_tn.copy(),
            "rolling_speed_mps": nan_tn.copy(),
            "axes": "image: x right, y down",
            "source": "estimated",
            "scale": self.scale.to_dict(),
            "masses_range_kg": self.masses_range_kg.copy(),
            "materials": list(self.materials),
            "material_sources": list(self.material_sources),
            "material_probability": list(self.material_probability),
            "shapes": list(self.shapes),
            "shape_sources": list(self.shape_sources),
            "sizes_m": self.sizes_m.copy(),
            "unknown": list(self.unknown),
        }


def _per_object(value: Any, n: int, name: str) -> list[Any]:
    """A per-object option: None, one value for all, a comma-separated string or a list of N."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [None] * n
    if isinstance(value, str):
        items = [v.strip() or None for v in value.split(",")]
    elif isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
    else:
        items = [value]
    if len(items) == 1:
        return items * n
    if len(items) != n:
        raise PhysicsError(f"{name}: expected one value or one per object ({n}), got {len(items)}: {value!r}")
    return items


def _assign_prompt(
    phrases: list[tuple[str | None, str | None]],
    shapes: list[str | None],
    probs: list[dict[str, float] | None],
) -> list[tuple[str | None, str | None]]:
    """Prompt phrases matched to the N objects (best agreement of shape and appearance)."""
    n = len(shapes)
    if not phrases:
        return [(None, None)] * n
    if len(phrases) < n:
        phrases = phrases + [(None, None)] * (n - len(phrases))
    best, best_score = None, -np.inf
    for perm in permutations(range(len(phrases)), n):
        score = 0.0
        for obj, k in enumerate(perm):
            material, shape = phrases[k]
            if shape is not None and shapes[obj] is not None:
                score += 1.0 if shape == shapes[obj] else -1.0
            if material is not None and probs[obj] is not None:
                score += float(np.log(max(probs[obj].get(material, 1e-3), 1e-3)))
            score -= 1e-3 * abs(obj - k)  # ties: prompt order
        if score > best_score:
            best, best_score = perm, score
    return [phrases[k] for k in best]


def estimate_physics(
    frames: Any,
    tracks: Any,
    masks: Any = None,
    material: Any = None,
    prompt: str | None = None,
    px_per_m: float | None = None,
    object_size_m: Any = None,
    shape: Any = None,
    background: np.ndarray | None = None,
) -> PhysicsEstimate:
    """Scale, metric velocity, masses and impacts of a clip (see docs/physics.md).

    Args:
        frames: ``[T, H, W, 3]`` uint8 or float 0..1 (the clip the tracks were measured on).
        tracks: :class:`kinesonic.kinematics.Tracks` of the N objects (centres, pixels).
        masks: optional ``[N, H, W]`` object masks (one per track, any frame): their area replaces the
            size measured from the foreground blobs.
        material: per object (one for all, a comma-separated string or a list; None/"" = infer).
        prompt: text whose material and shape words describe the objects (used when ``material`` is
            not given for an object).
        px_per_m: the camera scale if known (pixels per metre); else from gravity or a known size.
        object_size_m: per object, its known size (ball radius or half the box's longest side, m);
            used for the scale when ``px_per_m`` is not given.
        shape: per object "ball"/"box" (None = from the prompt, else from the mask).
        background: the empty scene ``[H, W, 3]`` (default: estimated from the frames).

    Raises:
        PhysicsError: no tracks, frames of another size or length than the tracks, bad options.
    """
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise PhysicsError(f"frames: expected [T, H, W, 3], got shape {arr.shape}")
    frames8 = ensure_uint8(arr)
    T, H, W = frames8.shape[:3]
    N = int(getattr(tracks, "num_tracks", 0))
    if N == 0:
        raise PhysicsError("tracks: expected at least one object track, got none")
    if (tracks.width, tracks.height) != (W, H):
        raise PhysicsError(
            f"tracks: measured on {tracks.width}x{tracks.height} frames, but the frames are {W}x{H}"
        )
    if tracks.num_frames != T:
        raise PhysicsError(f"tracks: {tracks.num_frames} frames, but the clip has {T} frames")
    fps = float(tracks.fps)
    labels = list(tracks.names)
    visible = np.asarray(tracks.visible, dtype=bool)
    seen = visible.any(0)
    if not seen.any():
        raise PhysicsError("tracks: no track is visible in any frame")
    points = np.array(tracks.points, dtype=np.float64)
    if seen.all():
        points = tracks.interpolated()
    unknown: list[str] = []

    # contact times (visual events) on the tracks that are seen at all
    sub = tracks if seen.all() else tracks.select(np.flatnonzero(seen))
    # the detector's contacts without those where no track changes its motion (for the scale's
    # flights), then re-placed on the tracks (for velocities and impacts)
    pruned = prune_cuts(points, visible, [t * fps for t in contact_times(sub)])
    cuts = refine_cuts(points, visible, pruned)
    times = [c / fps for c in cuts]

    # sizes and appearance
    blobs = measure_blobs(frames8, points, visible, background)
    if masks is not None:
        m = np.asarray(masks)
        if m.ndim != 3 or m.shape[0] != N or m.shape[1:] != (H, W):
            raise PhysicsError(f"masks: expected [N={N}, H={H}, W={W}] (one per track), got shape {m.shape}")
        given = measure_masks(m)
        for n, g in enumerate(given):
            if g.measured:
                inner = _erode(m[n] > 0.5)
                colour = appearance(frames8[0][inner]) if inner.sum() >= 1 else blobs[n].colour
                given[n] = Blob(
                    g.area_px, g.side_px, g.fill, g.radius_px, g.spread, g.frames, g.per_frame, colour
                )
                blobs[n] = given[n]

    # shapes: user > prompt > mask
    shapes_in = [_check_shape(s) for s in _per_object(shape, N, "shape")]
    phrases = prompt_objects(prompt) if prompt else []
    mask_shapes = [guess_shape(b) for b in blobs]
    probs: list[dict[str, float] | None] = [
        classify(b.colour) if (b.colour is not None and classifier_available()) else None for b in blobs
    ]
    assigned = _assign_prompt(phrases, [s or ms for s, ms in zip(shapes_in, mask_shapes, strict=True)], probs)
    choices = []
    for n in range(N):
        options = [(shapes_in[n], "user"), (assigned[n][1], "prompt"), (mask_shapes[n], "mask")]
        choice = next(((v, src) for v, src in options if v), (None, None))
        if choice[0] is None:
            unknown.append(f"{labels[n]}: shape and size (the object could not be measured in the frames)")
        choices.append(choice)
    shapes = [c[0] for c in choices]
    shape_sources = [c[1] for c in choices]

    # scale: user > known object size > gravity
    sizes_given = [_check_size(v) for v in _per_object(object_size_m, N, "object_size_m")]
    gravity = scale_from_gravity(points, visible, pruned, fps, W, H)
    if px_per_m is not None and np.isfinite(px_per_m) and px_per_m > 0:
        scale = user_scale(float(px_per_m))
    else:
        scale = Scale(float("nan"), "none", float("nan"), {})
        for n, size_m in enumerate(sizes_given):
            if size_m is not None and blobs[n].measured and shapes[n]:
                scale = scale_from_size(
                    blobs[n].size_px(shapes[n]), size_m, max(blobs[n].spread, 0.5 / blobs[n].radius_px)
                )
                scale.detail["object"] = labels[n]
                break
        if not scale.known:
            scale = gravity
    if gravity.known and scale.source != "gravity":
        scale.detail["gravity_px_per_m"] = gravity.px_per_m
    if not scale.known:
        unknown.append(
            "scale (px/m): no free-flight segment in the tracks and no scale or object size given, so "
            "metric velocities, sizes, masses and impact energies are unknown"
        )
    ppm = scale.px_per_m if scale.known else float("nan")

    velocity = frame_velocities(points, visible, cuts) * fps / ppm

    # materials: user > prompt > appearance
    materials_in = _per_object(material, N, "material")
    materials, sources, mprob, densities = [], [], [], []
    for n in range(N):
        name, source, prob, density = None, None, None, None
        if materials_in[n] is not None:
            name = parse_material(str(materials_in[n]))
            if name is None:
                raise PhysicsError(
                    f"material: unknown material {materials_in[n]!r}; expected one of {sorted(DENSITY)} "
                    "(or a word such as steel, wooden)"
                )
            source, density = "user", DENSITY[name]
        elif assigned[n][0]:
            name = assigned[n][0]
            source, density = "prompt", DENSITY[name]
        elif probs[n] is not None:
            p = probs[n]
            name = max(p, key=p.get)
            likely = [k for k, v in p.items() if v >= RANGE_PROBABILITY] or [name]
            source, prob = "appearance", float(p[name])
            density = (
                DENSITY[name][0],
                min(DENSITY[k][1] for k in likely),
                max(DENSITY[k][2] for k in likely),
            )
        else:
            unknown.append(
                f"{labels[n]}: material (none given, none in the prompt, not measured in the frames)"
            )
        materials.append(name)
        sources.append(source)
        mprob.append(prob)
        densities.append(density)

    masses = np.full(N, np.nan)
    ranges = np.full((N, 2), np.nan)
    sizes = np.full(N, np.nan)
    for n in range(N):
        if shapes[n] is None or not blobs[n].measured or not scale.known:
            continue
        sizes[n] = blobs[n].size_px(shapes[n]) / ppm
        if densities[n] is None:
            continue
        size_rel = max(blobs[n].spread, 0.5 / max(blobs[n].radius_px, 1e-6))
        volume = volume_m3(blobs[n], shapes[n], ppm)
        m, lo, hi = mass_range(volume, densities[n], size_rel, scale.uncertainty)
        masses[n], ranges[n] = m, (lo, hi)
    events = impact_events(points, visible, times, fps, ppm, masses, labels, materials, sizes, H)
    if times and not np.isfinite(masses).all():
        unknown.append("impacts: impulse and kinetic-energy change of objects of unknown mass")
    unknown.append("sliding and rolling speeds: not estimated (rotation is not measured)")
    return PhysicsEstimate(
        masses, ranges, velocity, events, scale, fps, labels, materials, sources, mprob, shapes,
        shape_sources, sizes, times, unknown,
    )  # fmt: skip


def _check_shape(value: Any) -> str | None:
    if value is None:
        return None
    word = str(value).strip().lower()
    if word in ("", "auto"):
        return None
    from .materials import OBJECT_NOUNS

    shape = OBJECT_NOUNS.get(word, word)
    if shape not in SHAPES:
        raise PhysicsError(f"shape: expected 'ball' or 'box' (or sphere, cube, block, ...), got {value!r}")
    return shape


def _check_size(value: Any) -> float | None:
    if value is None:
        return None
    try:
        size = float(value)
    except (TypeError, ValueError) as exc:
        raise PhysicsError(f"object_size_m: expected a size in metres, got {value!r}") from exc
    if not np.isfinite(size) or size <= 0:
        return None
    return size


def _erode(mask: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
