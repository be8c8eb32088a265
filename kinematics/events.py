"""Visual events (contacts, hits) and the clip-level motion-strength signal.

Event detection (:func:`find_events`, :func:`detect_events`) models each track (pixels, invisible
frames interpolated) as **piecewise-ballistic**: between contacts the acceleration is constant
(gravity in flight, 0 at rest, friction while sliding); a contact at time ``c`` (in frames) changes
the velocity by ``Δv`` within the contact and may switch the acceleration from ``a_L`` to ``a_R``
(flight -> rest, flight -> sliding).

**Why plain second differences are exact.** ``D2[j] = p[j+1] - 2 p[j] + p[j-1]`` (px/frame²) equals
``∫ p''(j + s) (1 - |s|) ds`` over ``s ∈ [-1, 1]``: the true acceleration seen through a triangle of
half-width one frame. With ``p'' = a(t) + Δv δ(t - c)`` and ``c = k + φ``, ``φ ∈ [0, 1)``, only the two
frames ``k`` and ``k + 1`` differ from the background, and with ``δ = a_L - a_R``::

    e_k     = D2[k]   - a_L = Δv (1 - φ) - δ (1 - φ)² / 2
    e_{k+1} = D2[k+1] - a_R = Δv φ       + δ φ² / 2

(for a rebound ``δ = 0`` and ``φ = e_{k+1} / (e_k + e_{k+1})``, the centroid of the 2-frame spike).
Eliminating ``Δv`` gives, per coordinate, ``g(φ) = φ (e_k + e_{k+1}) - e_{k+1} + δ φ (1 - φ) / 2 = 0``;
the solver takes, among the roots in ``[0, 1]`` of each coordinate's quadratic (and of their
``S``-weighted sum) and the ends, the ``φ`` with the least squared misfit
``|g(φ)|² / ((1 - φ)² + φ²)``, then ``Δv`` by least squares. On clean piecewise-ballistic tracks
this is exact for rebounds, landings and flight -> sliding alike.

Steps (all per track, for every **bracket** ``(k, k + 1)`` of frames):

1. ``D2`` in pixels; a sample is missing where one of its three frames is invisible.
2. Screening residual: background ``a_L`` = median of ``D2`` at the ``background_frames`` (3)
   frames ``k-2, k-3, ...`` and ``a_R`` = median at ``k+3, k+4, ...`` — at distance ≥ 2 from the
   bracket, so one neighbouring contact (whose spike covers at most one of the three frames) does
   not move them; ``J = |Δv|`` of the bracket's solution (px/frame). A background step without a
   velocity change (a push starting, a slide stopping) gives ``J = 0`` at its bracket.
3. Threshold per track: ``thr = max(percentile_fraction * P95, min_jump_px, noise_factor * σ_n)``
   with ``P95`` the 95th percentile (``percentile``) of ``J`` over all tracks and brackets of the
   clip (``percentile_fraction = 0.05``: later bounces are much weaker than the first impact),
   ``min_jump_px = 0.5`` the absolute floor (a velocity change in px/frame, i.e. px/frame² of
   second difference summed over the contact's frames) and ``σ_n = median |D3| / 1.1774`` the
   track's robust scale of third differences ``D3[j] = D2[j+1] - D2[j]`` (2-D norm; 0 on
   piecewise-ballistic tracks, ``σ √20`` for jitter ``σ`` px, the rate of change of a smoothly
   varying acceleration otherwise) with ``noise_factor = 5``.
4. Regions: brackets with ``J >= thr``, widened by one bracket each side, form runs; a run is kept
   if some bracket in it stands off the line through its outer neighbours
   (``max(|D2[k] - (2 D2[k-1] + D2[k+2]) / 3|, |D2[k+1] - (D2[k-1] + 2 D2[k+2]) / 3|) >= 0.35 thr``:
   a contact is a 2-frame spike, a smoothly varying acceleration is not). The brackets at frames 1
   and ``T - 3`` and brackets touching a missing sample are never candidates.
5. Knot search per run: every set of up to 4 **knots** (brackets at least 2 apart) is scored.
   The run's frames plus up to ``background_frames`` context frames each side are cut by the
   knots' 2-frame supports into segments of constant background ``a`` = the segment's mean ``D2``
   (an empty segment — two knots exactly 2 frames apart — keeps the background on its left: the
   object is in flight between them); each knot is solved exactly as above from its two
   neighbouring segment means. Cost = ``Σ |D2 - a|²`` over segment frames + the knots' misfits
   + ``0.4 thr²`` per knot; the cheapest set wins (exact data: the true set has zero misfit).
   Knots whose ``|Δv| < thr`` are acceleration changes without a contact (a push starting or
   ending, a slide stopping) and are not reported. Runs longer than 16 brackets (not piecewise
   ballistic) report the local maxima of ``J`` above ``thr`` with their screening solution.
6. **Free-flight check** (:func:`.flight.flight_snr`): each contact is tested on the positions
   around it (``window_s`` = 0.25 s a side, 4 to 15 frames, cut at the track's stronger kept
   contacts and where a parabola stops fitting): free flight on both sides (continuous position,
   a velocity and a constant acceleration per side) gives ``snr = |Δv| / SE`` with the noise from
   the track itself. Strongest first, a contact with ``snr < snr`` (6) is dropped: a weak "event"
   in free flight, a tracking artefact. A contact with a side of fewer than 4 clean frames cannot
   be tested and is kept. On exact tracks (the physics world) the noise is ~0 and every testable
   contact passes.
   On noisy tracks (white noise >= 0.02 px, estimated where the track moves) a contact the check
   could not test (a side too short: mostly another 2-frame contact 2-3 frames away) is tested on
   windows cut at the track's tested contacts (:class:`_BoundedFits`) and dropped when a clean
   window tests below ``snr``.
   **Model scan** (:func:`.flight.scan_models`), noisy tracks only: at every bracket (contact at
   mid-bracket) free-flight models on windows in seconds — one acceleration on both sides with a
   3-frame side, no acceleration (rolling, at rest) on ``window_s`` and twice that a side — give
   ``snr = |Δv| / SE``; a window counts only if its fit is clean (residual under 2 noises) and beats
   one smooth polynomial with as many parameters by 4 noises (not smooth non-ballistic motion).
   Greedily per track, the largest ``snr >= scan_snr`` (8) with ``|Δv| >= percentile_fraction * P95,
   min_jump_px`` is an event; windows holding an event are out, and the brackets near it are refitted
   on windows that stop at the track's events (an acceleration per side, shared, none, free fall
   with the track's own flight acceleration on a hop of up to ``window_s``, a landing after a hop of
   2-4 frames); the contact is placed by least residual on fixed frames. This finds contacts whose
   2-frame spike drowns in tracker noise, and close hops. The track's flight acceleration is the
   median over its clean parabola windows of ``window_s / 2`` (at least 4 frames) a side: a
   bouncing ball's later flights are short. Free-fall models must also beat a smooth polynomial on
   the positions without the free fall by 2 noises (an object at rest is not a hop).
   **Landings into rest** (:func:`.flight.landing_fit`), noisy tracks only: after each event, a hop
   of 3 frames to ``window_s`` in free fall with the track's flight acceleration, then no
   acceleration (at rest on the floor, or rolling): the landing is the least-squares change point;
   it counts when it beats every model without it on the same frames (no acceleration throughout,
   free fall throughout, one parabola) by ``landing_gain`` (3.5) noise units, its ``snr >= snr``,
   ``|Δv| >= percentile_fraction * P95, min_jump_px``, and its velocity change points against
   the flight acceleration within 45° (the floor stops the fall). It re-times the next event when
   within 2 frames of it (placed by a model that is not a landing), else it is added; not where
   another event lies within 1.5 frames (a last bounce and the landing). This finds the ends of
   hop sequences (a rebound, 3-4 frames of flight, a landing at 0.5-0.8 m/s) whose velocity change
   the scan's symmetric windows measure at ``snr`` 3-4.
7. Temporal non-maximum suppression over all tracks: strongest ``|Δv|`` first, events closer than
   ``nms_window_s`` (default 1.5 frames) to a kept one are dropped, so contacts 2 frames apart
   both survive.

The noise levels come from each track, the check's windows are in seconds (so the same number of
frames per second of motion at 12 and at 60 fps). Times are seconds, frame ``i`` at ``i / fps``.
Contacts under 2 frames apart share a frame and are reported as one event (or two approximate
ones); contacts before frame 2 or after frame ``T - 3`` are not reported.

Motion strength (:func:`motion_strength`): per track
``|v| / mean_t |v| + |a| / mean_t |a|`` (a term whose mean is ~0 contributes 0), averaged over the
tracks: ``[T]``, about 2 on average for moving objects, 0 for a static clip.

findiff is imported inside the functions (via :func:`kinematic_state`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .features import _require_frames, kinematic_state
from .flight import (
    FALL,
    FREE,
    LAND,
    LANDING_GAIN,
    MAX_WINDOW,
    MIN_WINDOW,
    ROLL,
    SCAN_NOISE_PX,
    SHARED,
    _nanmedian_last,
    flight_acceleration,
    flight_snr,
    landing_fit,
    locate_contact,
    scan_models,
    white_noise_px,
    window_fit,
)
from .tracks import Tracks

#: Speeds / accelerations below this (normalised units per s / s²) count as zero in motion_strength.
ZERO_TOL = 1e-9
#: A frame-to-frame move under this (px, both coordinates) is standing still (:func:`_standing`).
STANDING_PX = 0.01
#: Default temporal suppression radius in frames (contacts 2 frames apart both survive).
NMS_FRAMES = 1.5


@dataclass(frozen=True)
class Event:
    """One detected event: time in seconds, sub-frame position, track index, strength.

    ``strength`` is the velocity change ``|Δv|`` at the contact in image sizes per second (pixels per
    second divided by ``Tracks.scale``, the units of the kinematic state). ``snr`` is the evidence of
    the free-flight check (:mod:`.flight`): ``|Δv|`` over its standard error from the positions around
    the contact (NaN where a side is too short to test).
    """

    time_s: float
    frame: float
    track: int
    strength: float
    snr: float = float("nan")


def find_events(
    tracks: Tracks,
    *,
    nms_window_s: float | None = None,
    percentile: float = 95.0,
    percentile_fraction: float = 0.05,
    min_jump_px: float = 0.5,
    noise_factor: float = 5.0,
    background_frames: int = 3,
    snr: float = 6.0,
    window_s: float = 0.25,
    scan_snr: float = 8.0,
    landing_gain: float = LANDING_GAIN,
) -> list[Event]:
    """Detected events sorted by time (see the module doc for the method and parameters).

    Args:
        tracks: at least 4 frames; no never-visible track.
        nms_window_s: minimum spacing of reported events in seconds (default ``1.5 / fps``).
        percentile: the clip-level percentile of the screening residual ``J`` (95).
        percentile_fraction: a candidate must reach this fraction of that percentile.
        min_jump_px: absolute floor: velocity change at the contact in px/frame (the second
            difference summed over the contact's frames, px/frame²). Tracker jitter is handled by
            ``noise_factor``; raise this to ignore weak contacts.
        noise_factor: a contact must reach this multiple of the track's robust third-difference
            scale (tracker jitter / smooth non-ballistic motion guard; 0 = off).
        background_frames: frames per side in the background medians (>= 1).
        snr: a contact whose free-flight check (:mod:`.flight`) gives ``|Δv| / SE`` below this is
            dropped (0 = off: the 2-frame model alone at ``noise_factor``).
        window_s: frames per side of that check, in seconds.
        scan_snr: on noisy tracks, a bracket whose free-flight ``snr`` (the model scan,
            :func:`.flight.scan_models`) reaches this is an event too (0 = off).
        landing_gain: on noisy tracks, a landing into rest after a hop (:func:`.flight.landing_fit`)
            that fits better than every model without it by this many noise units is an event
            (0 = off).
    """
    _require_frames(tracks, "detect_events")
    nb = int(background_frames)
    if nb < 1:
        raise ValueError(f"detect_events: background_frames must be >= 1, got {background_frames!r}")
    d2 = _second_differences(tracks)  # [T, N, 2] px/frame², NaN where undefined
    T, N = d2.shape[:2]
    brackets = np.arange(1, T - 2)  # spike frames k, k + 1 both interior
    jumps, phis, dvs = _screening_jumps(d2, brackets, nb)  # [B, N], [B, N], [B, N, 2]
    clip_level = float(np.percentile(jumps, percentile)) if jumps.size else 0.0
    base = max(float(percentile_fraction) * clip_level, float(min_jump_px))
    candidates: list[Event] = []
    levels = _noise_levels(d2) if noise_factor > 0 else np.zeros(N)  # [N]
    # white noise (px) of each track where it moves (module doc, step 6)
    noises = white_noise_px(np.where(_standing(tracks)[..., None], np.nan, d2))  # [N]
    thresholds = np.maximum(base, float(noise_factor) * levels)
    window = int(np.clip(round(window_s * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    # each track's flight acceleration: computed when first needed, shared by the steps below
    flights = [
        _FlightAcceleration(tracks.points[:, n], tracks.visible[:, n], float(noises[n]), window)
        for n in range(N)
    ]
    sharp = _sharpness(d2, jumps.shape[0])  # [B, N]
    # a track needs a bracket at the threshold and one standing off its neighbours (step 4)
    busy = (
        np.any(jumps >= thresholds, axis=0) & np.any(sharp >= SHARPNESS * thresholds, axis=0)
        if jumps.size
        else np.zeros(N, bool)
    )
    for n in range(N):
        jump = jumps[:, n]
        threshold = float(thresholds[n])
        found = []
        if busy[n]:
            screen = (jump, phis[:, n], dvs[:, n])
            found = [
                (k, phi, dv)
                for k, phi, dv in _track_contacts(d2[:, n], screen, sharp[:, n], threshold, nb)
                if np.linalg.norm(dv) >= threshold
            ]
        checked = _checked(tracks, n, found, float(noises[n]), snr, window_s)
        if snr > 0:
            checked = _confirmed(tracks, n, checked, float(noises[n]), snr, window_s, base, flights[n])
        candidates += checked
    if snr > 0 and scan_snr > 0:
        candidates += _scanned(tracks, candidates, noises, scan_snr, window_s, base, flights)
    if snr > 0 and landing_gain > 0:
        candidates = _landed(tracks, candidates, noises, landing_gain, snr, window_s, base, flights)
    radius = NMS_FRAMES / tracks.fps if nms_window_s is None else float(nms_window_s)
    kept: list[Event] = []
    for event in sorted(candidates, key=lambda e: -e.strength):
        if all(abs(event.time_s - other.time_s) >= radius for other in kept):
            kept.append(event)
    return sorted(kept, key=lambda e: e.time_s)


def _checked(
    tracks: Tracks, n: int, found: list, noise: float, min_snr: float, window_s: float
) -> list[Event]:
    """Events of track ``n`` from its contacts ``(k, φ, Δv)`` that pass the free-flight check.

    Strongest first; the check's windows stop at the track's contacts already kept (and where a
    parabola stops fitting, :func:`.flight.flight_snr`). A contact that cannot be tested is kept.
    """
    if not found:
        return []
    window = int(np.clip(round(window_s * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    points, visible = tracks.points[:, n], tracks.visible[:, n]
    T = tracks.num_frames
    kept: list[int] = []  # brackets
    out = []
    for k, phi, dv in sorted(found, key=lambda c: -float(np.linalg.norm(c[2]))):
        frame = k + phi
        lo = max([b + 1 for b in kept if b < k], default=0)
        hi = min([b for b in kept if b > k], default=T - 1)
        ratio, _, _ = flight_snr(points, visible, frame, lo, hi, window, noise)
        if min_snr > 0 and ratio < min_snr:  # NaN (untestable) is kept
            continue
        kept.append(k)
        strength = float(np.linalg.norm(dv)) * tracks.fps / tracks.scale
        out.append(Event(frame / tracks.fps, frame, n, strength, ratio))
    return out


def _scan_models(window: int) -> list[tuple[str, int, int]]:
    """The scan's models at every bracket (see :mod:`.flight`; near events: :class:`_BoundedFits`).

    ``window`` = ``window_s`` in frames (4 to 15): one acceleration on both sides with a 3-frame side
    (a rebound 3 frames from the next contact or from the clip's end) and ``window`` or ``2 window``
    frames on the other; no acceleration (rolling, sliding, at rest) on ``window`` and ``2 window``
    frames a side. The free model (an acceleration per side) is fitted near events only: measured
    on the footage test bed, it found nothing the others miss and cost a third of the scan.
    """
    long = min(2 * window, 2 * MAX_WINDOW)
    return [
        (SHARED, 3, window),
        (SHARED, window, 3),
        (SHARED, 3, long),
        (SHARED, long, 3),
        (ROLL, window, window),
        (ROLL, long, long),
    ]


def _confirmed(
    tracks: Tracks,
    n: int,
    events: list[Event],
    noise: float,
    min_snr: float,
    window_s: float,
    base: float,
    gravity: _FlightAcceleration,
) -> list[Event]:
    """On a noisy track, the events the free-flight check could not test, tested on short windows.

    Strongest first, each untested event (``snr`` NaN: a side too short, mostly another 2-frame
    contact 2 or 3 frames away) is fitted by :class:`_BoundedFits` between the track's tested events
    and those already confirmed; it is dropped when some window can be tested and none reaches
    ``min_snr``. Exact tracks (white noise under ``SCAN_NOISE_PX``) are left as they are.
    """
    if noise < SCAN_NOISE_PX or all(np.isfinite(e.snr) for e in events):
        return events
    window = int(np.clip(round(window_s * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    fit = _BoundedFits(tracks.points[:, n], tracks.visible[:, n], noise, window, min_snr, base, gravity)
    taken = {int(np.floor(e.frame)): True for e in events if np.isfinite(e.snr)}
    out = [e for e in events if np.isfinite(e.snr)]
    for event in sorted((e for e in events if not np.isfinite(e.snr)), key=lambda e: -e.strength):
        k = int(np.floor(event.frame))
        ratio = fit(k, {j: h for j, h in taken.items() if j != k})[0]
        if fit.tested and ratio < min_snr:
            continue
        taken[k] = True
        out.append(event)
    return out


def _scanned(
    tracks: Tracks,
    events: list[Event],
    noise: np.ndarray,
    min_snr: float,
    window_s: float,
    base: float,
    flights: list[_FlightAcceleration],
) -> list[Event]:
    """Contacts of noisy tracks (white noise >= ``SCAN_NOISE_PX``) that only the model scan sees.

    Per track, greedily: the bracket and model with the largest free-flight ``snr``
    (:func:`.flight.scan_models`) at or above ``min_snr`` with ``|Δv| >= base`` (px/frame) is an event;
    then every window holding both frames of an event's bracket, and every bracket within 2 frames of
    an event (the 2-frame model's included), is out, and the brackets near it are refitted on windows
    that stop at the track's events (:func:`_bounded`); repeat. Brackets 2 .. ``T - 4``.
    """
    T = tracks.num_frames
    noisy = np.flatnonzero(noise >= SCAN_NOISE_PX)
    if not noisy.size:
        return []
    window = int(np.clip(round(window_s * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    models = _scan_models(window)
    points, visible = tracks.points[:, noisy], tracks.visible[:, noisy]
    ratio, dv = scan_models(points, visible, noise[noisy], models, gate=min_snr)  # [C, B, M]
    B = ratio.shape[1]
    extra = np.zeros((1, B, noisy.size))  # row C: the windows bounded by the track's events
    brackets = np.arange(1, B + 1)
    ratio[:, (brackets < 2) | (brackets > T - 4)] = 0.0
    dv = np.nan_to_num(dv)
    # [M, C + 1, B], contiguous per track
    score = np.ascontiguousarray(
        np.concatenate([np.where(dv >= base, np.nan_to_num(ratio), 0.0), extra]).transpose(2, 0, 1)
    )
    jump = np.ascontiguousarray(np.concatenate([dv, extra]).transpose(2, 0, 1))
    quiet = score.max(axis=(1, 2)) < min_snr  # [M]: nothing in the scan, nothing near an event
    lefts = np.array([m[1] for m in models])[:, None]
    rights = np.array([m[2] for m in models])[:, None]
    C = len(models)
    out: list[Event] = []
    for m in range(noisy.size):
        n = int(noisy[m])
        if quiet[m] and not any(e.track == n for e in events):
            continue
        fit = _BoundedFits(
            points[:, m], visible[:, m], float(noise[noisy][m]), window, min_snr, base, flights[n]
        )
        s, size = score[m], jump[m]
        taken = {int(np.floor(e.frame)): True for e in events if e.track == n}  # bracket -> hop after
        frames = [e.frame for e in events if e.track == n]

        def block(
            k: int, s: np.ndarray = s, size: np.ndarray = size, taken: dict = taken, fit: _BoundedFits = fit
        ) -> None:
            s[:C][(brackets[None] - lefts + 1 <= k) & (k + 1 <= brackets[None] + rights)] = 0.0
            for b in range(max(2, k - 2 * window - 1), min(T - 4, k + 2 * window + 1) + 1):
                if min(abs(b - j) for j in taken) <= 2:
                    s[:, b - 1] = 0.0
                    continue
                ratio_b, dv_b, _ = fit(b, taken)
                s[C, b - 1], size[C, b - 1] = ratio_b, dv_b

        for k in sorted(taken):
            block(k)
        while True:
            c, i = np.unravel_index(int(np.argmax(s)), s.shape)
            best = float(s[c, i])
            if best < min_snr:
                break
            b = int(i) + 1
            model = models[c] if c < C else fit(b, taken)[2]
            hop = model[0] != LAND
            lo = max([j + 1 for j in taken if j < b], default=0)
            hi = min([j for j in taken if j > b], default=T - 1)
            first, last = max(lo, b - model[1] + 1 - 2), min(hi, b + model[2] + 2)
            gravity = fit.gravity() if model[0] in (LAND, FALL) else None  # only free fall uses it
            frame = locate_contact(points[:, m], visible[:, m], first, last, model[0], b, gravity, reach=2)
            if any(abs(int(np.floor(frame)) - j) <= 2 for j in taken):
                frame = b + 0.5
            strength = float(size[c, i]) * tracks.fps / tracks.scale
            out.append(Event(frame / tracks.fps, frame, n, strength, best))
            frames.append(frame)
            taken[b] = hop
            block(b)
    return out


def _landed(
    tracks: Tracks,
    events: list[Event],
    noise: np.ndarray,
    min_gain: float,
    min_snr: float,
    window_s: float,
    base: float,
    flights: list[_FlightAcceleration],
) -> list[Event]:
    """``events`` with the landings into rest right after a contact of a noisy track added or re-timed.

    Per noisy track with a flight acceleration (:func:`.flight.flight_acceleration`), after each
    event: a hop of 2 to ``window_s`` in free fall, then at rest or rolling
    (:func:`.flight.landing_fit`, up to the event after next when the next one lies within the hop's
    reach, else up to the next). A landing that beats every model without it by ``min_gain`` noise
    units, with ``snr >= min_snr`` and ``|Δv| >= base`` (px/frame), re-times the next event when
    within 2 frames of it (its place came from a model that is not a landing) and is added otherwise.
    """
    window = int(np.clip(round(window_s * tracks.fps), MIN_WINDOW, MAX_WINDOW))
    long = min(2 * window, 2 * MAX_WINDOW)
    out = [e for e in events if noise[e.track] < SCAN_NOISE_PX]
    for n in np.flatnonzero(noise >= SCAN_NOISE_PX):
        own = sorted((e for e in events if e.track == n), key=lambda e: e.frame)
        if own:
            gravity = flights[n]()
            own = _track_landings(
                tracks, int(n), own, float(noise[n]), window, long, min_gain, min_snr, base, gravity
            )
        out += own
    return out


def _track_landings(
    tracks: Tracks,
    n: int,
    own: list[Event],
    noise: float,
    window: int,
    long: int,
    min_gain: float,
    min_snr: float,
    base: float,
    gravity: np.ndarray,
) -> list[Event]:
    """:func:`_landed` for track ``n`` and its events ``own`` (sorted by frame).

    ``gravity`` ``[2]`` px/frame²: the track's flight acceleration (:class:`_FlightAcceleration`).
    """
    T = tracks.num_frames
    points, visible = tracks.points[:, n], tracks.visible[:, n]
    if not np.all(np.isfinite(gravity)):
        return own
    i = 0
    while i < len(own):
        k = int(np.floor(own[i].frame))
        near = i + 1 < len(own) and own[i + 1].frame - k <= window + 1
        # the search stops at the event after next when the next one lies within the hop's reach
        j = i + 2 if near else i + 1
        bound = own[j] if j < len(own) else None
        after = int(np.floor(bound.frame)) if bound is not None else T - 1
        first, last = k + 1, min(after, k + 1 + window + long, T - 1)
        c, dv, gain, ratio = landing_fit(points, visible, first, last, gravity, noise, window)
        if gain >= min_gain and ratio >= min_snr and np.linalg.norm(dv) >= base and c <= T - 3:
            strength = float(np.linalg.norm(dv)) * tracks.fps / tracks.scale
            landing = Event(c / tracks.fps, c, n, strength, ratio)
            others = [e.frame for j, e in enumerate(own) if j != i + 1 or not near]
            if min(abs(c - f) for f in others) < NMS_FRAMES:
                pass  # another contact holds that frame (a last bounce and the landing, < 2 frames apart)
            elif near and abs(c - own[i + 1].frame) <= 2.0:
                own[i + 1] = landing
            elif not near or c < own[i + 1].frame:
                own.insert(i + 1, landing)
        i += 1
    return own


def _half(window: int) -> int:
    """Frames a side of the windows measuring a track's flight acceleration (:func:`.flight_acceleration`).

    Half of ``window`` (the check's ``window_s`` in frames), at least :data:`.flight.MIN_WINDOW`: a
    bouncing ball's later flights are shorter than ``2 window + 1`` frames, and shorter windows still
    find clean free flight in them (footage test bed: the flight acceleration within 10 % on 51 of 56
    bounce tracks, against 42 with ``window`` a side; at 16 fps and below nothing changes).
    """
    return max((window + 1) // 2, MIN_WINDOW)


class _FlightAcceleration:
    """One track's flight acceleration (px/frame² ``[2]``, NaN if none), computed on first call.

    :func:`.flight.flight_acceleration` of the track with its white noise on windows of
    :func:`_half` ``(window)`` frames a side. :func:`find_events` makes one per track; the track's
    bounded fits (:class:`_BoundedFits`, in the check and in the scan) and its landing search
    (:func:`_track_landings`) share it.
    """

    def __init__(self, points: np.ndarray, visible: np.ndarray, noise: float, window: int) -> None:
        self.points, self.visible, self.noise, self.window = points, visible, noise, window
        self.value: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self.value is None:
            self.value = flight_acceleration(
                self.points[:, None], self.visible[:, None], np.array([self.noise]), _half(self.window)
            )[0]
        return self.value


class _BoundedFits:
    """Free-flight fits of one track at one bracket on windows that stop at the track's events.

    Calling it with a bracket ``b`` and the events ``{bracket: hop after it}`` returns ``(snr, |Δv|,
    model)``: the best of :data:`.flight.SHARED` (sides of at least 3 frames) and :data:`.flight.FREE`
    (at least 4) on ``window`` and ``2 window`` frames a side, cut at the neighbouring events, and —
    right after an event that is not a landing, 2 to 4 frames on — :data:`.flight.LAND` (the hop in
    free fall with the track's own flight acceleration ``gravity``). ``snr`` is 0 below the gate or
    ``|Δv|`` below ``base``.
    """

    def __init__(
        self,
        points: np.ndarray,
        visible: np.ndarray,
        noise: float,
        window: int,
        gate: float,
        base: float,
        gravity: _FlightAcceleration,
    ) -> None:
        self.points, self.visible, self.noise = points, visible, noise
        self.window, self.gate, self.base = window, gate, base
        self.gravity = gravity
        self.cache: dict = {}
        self.tested = False  # whether the last call had a window to test

    def __call__(self, b: int, taken: dict) -> tuple[float, float, tuple[str, int, int]]:
        T = self.points.shape[0]
        before = max([j for j in taken if j < b], default=None)
        after = min([j for j in taken if j > b], default=None)
        room_l = b - before if before is not None else b + 1
        room_r = after - b if after is not None else T - 1 - b
        long = min(2 * self.window, 2 * MAX_WINDOW)
        # a short hop: an event at most `window` frames before or after (free fall in between)
        hop = (before is not None and room_l <= self.window) or (after is not None and room_r <= self.window)
        models = set()
        for L, R in itertools.product((3, self.window, long), repeat=2):
            L, R = min(room_l, L), min(room_r, R)
            if L >= 3 and R >= 3:
                models.add((SHARED, L, R))
            if L >= MIN_WINDOW and R >= MIN_WINDOW:
                models.add((FREE, L, R))
            if before is not None and taken[before] and 2 <= room_l <= 4 and R >= 3:
                models.add((LAND, room_l, R))
            if 2 <= L <= self.window and 2 <= R <= self.window and hop:
                models.add((FALL, L, R))
            if L >= 2 and R >= 2:
                models.add((ROLL, L, R))
        best: tuple = (0.0, 0.0, (SHARED, 0, 0))
        self.tested = False
        for model in sorted(models):
            key = (b, model)
            if key not in self.cache:
                gravity = self.gravity() if model[0] in (LAND, FALL) else None
                self.cache[key] = window_fit(
                    self.points, self.visible, b, model, self.noise, gravity, self.gate
                )
            ratio, dv = self.cache[key]
            self.tested |= bool(np.isfinite(ratio))
            if np.isfinite(ratio) and dv >= self.base and ratio > best[0]:
                best = (ratio, dv, model)
        return best


def detect_events(tracks: Tracks, **options: float) -> list[float]:
    """Visual event times in seconds (frame ``i`` at ``i / fps``), sorted; options as :func:`find_events`."""
    return [event.time_s for event in find_events(tracks, **options)]


def motion_strength(tracks: Tracks) -> np.ndarray:
    """``[T]`` float64 clip-level motion strength (see the module doc); needs at least 4 frames."""
    state = kinematic_state(tracks)
    total = np.zeros(tracks.num_frames)
    for column in (6, 7):
        value = state[..., column]  # [T, N]
        value = np.where(value < ZERO_TOL, 0.0, value)
        mean = value.mean(axis=0)
        ratio = np.divide(value, mean, out=np.zeros_like(value), where=mean > ZERO_TOL)
        total += ratio.mean(axis=1)
    return total


# ----------------------------------------------------------------------------- internals


def _standing(tracks: Tracks) -> np.ndarray:
    """``[T, N]`` bool: frames whose position repeats the previous one (within :data:`STANDING_PX`: an
    object at rest in a static image, a tracker stuck on an occluder), and the frame before.

    Their second differences are left out of the white-noise estimate (:func:`.flight.white_noise_px`):
    a track that stands still for most of the clip would otherwise look noise-free however it moves
    when it moves. Exact tracks in flight or rolling do not stand still.
    """
    p = tracks.interpolated()
    same = np.all(np.abs(p[1:] - p[:-1]) < STANDING_PX, axis=-1)  # [T - 1, N]
    out = np.zeros(p.shape[:2], dtype=bool)
    out[1:] |= same
    out[:-1] |= same
    return out


def _second_differences(tracks: Tracks) -> np.ndarray:
    """``[T, N, 2]`` second differences in pixels (rows 0 and T-1 and invisible stencils NaN)."""
    p = tracks.interpolated()
    d2 = np.full(p.shape, np.nan)
    d2[1:-1] = p[2:] - 2.0 * p[1:-1] + p[:-2]
    vis = tracks.visible
    ok = np.zeros(vis.shape, dtype=bool)
    ok[1:-1] = vis[2:] & vis[1:-1] & vis[:-2]
    d2[~ok] = np.nan
    return d2


def _noise_levels(d2: np.ndarray) -> np.ndarray:
    """:func:`_noise_level` of every track of ``d2`` ``[T, N, 2]``: ``[N]``."""
    d3 = np.diff(d2, axis=0)
    norm = np.sqrt(d3[..., 0] ** 2 + d3[..., 1] ** 2)  # [T - 1, N], NaN where undefined
    return np.nan_to_num(_nanmedian_last(norm.T), nan=0.0) / 1.1774


def _noise_level(d2: np.ndarray) -> float:
    """Robust scale of third differences ``D3[j] = D2[j+1] - D2[j]`` (px/frame²), ~0 on ballistic tracks.

    ``median(|D3|) / 1.1774`` with ``|D3|`` the 2-D norm: the per-coordinate standard deviation of
    ``D3`` for isotropic Gaussian jitter (the norm is Rayleigh distributed; ``D3`` of positions with
    jitter ``σ`` has standard deviation ``σ √20``). For smooth motion it measures how fast the
    acceleration changes. Contacts touch only three samples each.
    """
    d3 = np.linalg.norm(np.diff(d2, axis=0), axis=-1)
    d3 = d3[np.isfinite(d3)]
    return float(np.median(d3)) / 1.1774 if d3.size else 0.0


def _nanmedian(stack: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN (NaN where all are NaN); faster than ``np.nanmedian`` here."""
    if stack.shape[0] == 3:  # the default: sum minus the extremes, or the mean of two, or the one
        lo, hi = (
            np.fmin(np.fmin(stack[0], stack[1]), stack[2]),
            np.fmax(np.fmax(stack[0], stack[1]), stack[2]),
        )
        finite = np.isfinite(stack)
        count = finite.sum(axis=0)
        total = np.where(finite, stack, 0.0).sum(axis=0)
        return np.where(count == 3, total - lo - hi, np.where(count == 2, 0.5 * (lo + hi), hi))
    ordered = np.sort(stack, axis=0)  # NaN last
    count = np.sum(np.isfinite(stack), axis=0)
    lo = np.clip((count - 1) // 2, 0, None)[None]
    hi = np.clip(count // 2, 0, stack.shape[0] - 1)[None]
    med = 0.5 * (np.take_along_axis(ordered, lo, 0)[0] + np.take_along_axis(ordered, hi, 0)[0])
    return np.where(count > 0, med, np.nan)


def _screening_jumps(
    d2: np.ndarray, brackets: np.ndarray, nb: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|Δv|`` (px/frame), ``φ``, ``Δv`` of the 2-frame model per bracket (``d2`` is ``[T, ..., 2]``).

    Backgrounds: medians at distance >= 2 from the bracket (module doc, step 2).
    """
    T = d2.shape[0]
    tail = d2.shape[1:]
    padded = np.concatenate([np.full((nb + 2, *tail), np.nan), d2, np.full((nb + 3, *tail), np.nan)])
    off = nb + 2

    def take(index: np.ndarray) -> np.ndarray:
        return padded[index + off]

    a_left = _nanmedian(np.stack([take(brackets - 2 - i) for i in range(nb)]))
    a_right = _nanmedian(np.stack([take(brackets + 3 + i) for i in range(nb)]))
    # fallbacks: the adjacent frame, then the other side's background
    a_left = np.where(np.isnan(a_left), take(brackets - 1), a_left)
    a_right = np.where(np.isnan(a_right), take(brackets + 2), a_right)
    a_left = np.where(np.isnan(a_left), a_right, a_left)
    a_right = np.where(np.isnan(a_right), a_left, a_right)
    e0 = d2[brackets] - a_left
    e1 = d2[np.minimum(brackets + 1, T - 1)] - a_right
    phi, dv = _solve_contact(e0, e1, a_left - a_right)
    jump = np.linalg.norm(dv, axis=-1)
    # a bracket needs a measured background on both sides: none before frame 1 or after frame T - 2
    jump[(brackets < 2) | (brackets > T - 4)] = 0.0
    return np.where(np.isfinite(jump), jump, 0.0), phi, dv


def _quadratic_roots(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> list[np.ndarray]:
    """Real roots of ``A x² + B x + C`` (elementwise; NaN where absent), linear where ``A`` ~ 0."""
    with np.errstate(all="ignore"):
        scale = np.abs(A) + np.abs(B) + np.abs(C)
        linear = np.abs(A) <= 1e-12 * np.maximum(scale, 1e-300)
        disc = B * B - 4.0 * A * C
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        q = -0.5 * (B + np.where(B >= 0, sq, -sq))  # numerically stable pair
        r1 = np.where(linear, -C / B, q / A)
        r2 = np.where(linear, np.nan, C / q)
    return [r1, r2]


def _misfit(phi: np.ndarray, S: np.ndarray, e1: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Least-squares misfit of the 2-frame model at ``phi`` (Δv eliminated; last axis: x, y)."""
    q = phi * (1.0 - phi) / 2.0
    gx = phi * S[..., 0] - e1[..., 0] + delta[..., 0] * q
    gy = phi * S[..., 1] - e1[..., 1] + delta[..., 1] * q
    return (gx * gx + gy * gy) / ((1.0 - phi) ** 2 + phi**2)


def _solve_contact(e0: np.ndarray, e1: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-frame phase ``φ`` in [0, 1] and ``Δv`` [.., 2] from the 2-frame residuals (module doc)."""
    S = e0 + e1
    candidates = [np.zeros(S.shape[:-1]), np.ones(S.shape[:-1])]
    for c in range(S.shape[-1]):
        candidates += _quadratic_roots(-delta[..., c] / 2.0, S[..., c] + delta[..., c] / 2.0, -e1[..., c])
    sd = S[..., 0] * delta[..., 0] + S[..., 1] * delta[..., 1]
    ss = S[..., 0] * S[..., 0] + S[..., 1] * S[..., 1]
    se = S[..., 0] * e1[..., 0] + S[..., 1] * e1[..., 1]
    candidates += _quadratic_roots(-sd / 2.0, ss + sd / 2.0, -se)
    phi = np.full(S.shape[:-1], 0.5)
    best = np.full(S.shape[:-1], np.inf)
    with np.errstate(invalid="ignore"):
        for candidate in candidates:  # the usable root with the least misfit (first wins ties)
            usable = (candidate >= -1e-9) & (candidate <= 1.0 + 1e-9)  # False for NaN
            clipped = np.clip(np.where(usable, candidate, 0.5), 0.0, 1.0)
            cost = _misfit(clipped, S, e1, delta)
            better = usable & (cost < best)
            best = np.where(better, cost, best)
            phi = np.where(better, clipped, phi)
    w0, w1 = (1.0 - phi)[..., None], phi[..., None]
    u0 = e0 + delta * w0**2 / 2.0
    u1 = e1 - delta * w1**2 / 2.0
    dv = (w0 * u0 + w1 * u1) / (w0**2 + w1**2)
    return phi, dv


#: Cost of one knot in units of threshold² (a contact at the threshold lowers the misfit by at least
#: threshold² / 2, so it always pays for itself).
KNOT_PENALTY = 0.4
#: At most this many knots per region in the exhaustive search.
MAX_REGION_CONTACTS = 4
#: A candidate region needs a bracket standing off the line through its neighbours by this
#: fraction of the threshold (see :func:`_sharpness`).
SHARPNESS = 0.35
#: Candidate runs longer than this many brackets (non-ballistic motion) keep the screening peaks.
MAX_RUN = 16


def _track_contacts(
    d2: np.ndarray,
    screen: tuple[np.ndarray, np.ndarray, np.ndarray],
    sharp: np.ndarray,
    threshold: float,
    nb: int,
) -> list[tuple[int, float, np.ndarray]]:
    """Contacts ``(bracket, phi, dv)`` of one track (module doc, steps 3-4)."""
    T = d2.shape[0]
    jump, screen_phi, screen_dv = screen
    n_br = jump.size  # bracket b = index + 1
    cand = jump >= threshold
    cand = cand | np.concatenate([[False], cand[:-1]]) | np.concatenate([cand[1:], [False]])
    valid = np.all(np.isfinite(d2), axis=-1)
    brackets = np.arange(1, n_br + 1)
    cand &= valid[1 : n_br + 1] & valid[2 : n_br + 2] & (brackets >= 2) & (brackets <= T - 4)
    index = np.flatnonzero(cand)
    if not index.size:
        return []
    cut = np.flatnonzero(np.diff(index) > 1) + 1
    # a run is a region when some bracket reaches the threshold and one stands off its neighbours
    heads = np.concatenate([[0], cut])
    tall = np.maximum.reduceat(jump[index], heads) >= threshold
    spiky = np.maximum.reduceat(sharp[index], heads) >= SHARPNESS * threshold
    in_run = np.zeros(T, dtype=bool)
    in_run[index + 1] = True  # a run's brackets b and their frames b, b + 1
    in_run[index + 2] = True
    out: list[tuple[int, float, np.ndarray]] = []
    for part, keep in zip(np.split(index, cut), tall & spiky, strict=True):
        if not keep:
            continue
        run = [int(i) + 1 for i in part]
        if len(run) > MAX_RUN:  # not piecewise ballistic: local maxima of the screening residual
            for b in run:
                i = b - 1
                if jump[i] >= threshold and jump[i] > jump[i - 1] and jump[i] >= jump[min(i + 1, n_br - 1)]:
                    out.append((b, float(screen_phi[i]), screen_dv[i]))
            continue
        left = _context(d2, run[0] - 1, -1, nb, in_run, valid)
        right = _context(d2, run[-1] + 2, 1, nb, in_run, valid)
        out += _best_configuration(d2, run, left, right, threshold, valid)
    return out


def _sharpness(d2: np.ndarray, n_br: int) -> np.ndarray:
    """Per bracket ``k`` (``d2`` ``[T, ..., 2]``, result ``[n_br, ...]``): largest distance of ``D2[k]``,
    ``D2[k+1]`` from the line ``D2[k-1]`` -> ``D2[k+2]``.

    A contact's 2-frame spike stands off that line by about ``|Δv| / 2`` or more; a smoothly varying
    acceleration (non-ballistic motion, e.g. fast oscillations) stays close to it.
    """
    pad = np.concatenate([np.full((1, *d2.shape[1:]), np.nan), d2, np.full((2, *d2.shape[1:]), np.nan)])
    k = np.arange(1, n_br + 1) + 1  # index into pad
    before, a, b, after = pad[k - 1], pad[k], pad[k + 1], pad[k + 2]
    dev_a = np.linalg.norm(a - (2.0 * before + after) / 3.0, axis=-1)
    dev_b = np.linalg.norm(b - (before + 2.0 * after) / 3.0, axis=-1)
    return np.nan_to_num(np.maximum(dev_a, dev_b), nan=0.0)


def _context(
    d2: np.ndarray, start: int, step: int, nb: int, in_run: np.ndarray, valid: np.ndarray
) -> list[int]:
    """Up to ``nb`` valid frames from ``start`` outward, stopping at another region or the clip end."""
    frames = []
    j = start
    while 0 <= j < d2.shape[0] and len(frames) < nb and not in_run[j]:
        if valid[j]:
            frames.append(j)
        j += step
    return frames


def _configurations(brackets: list[int], max_contacts: int):
    """Subsets of sorted ``brackets`` with members at least 2 apart, up to ``max_contacts``."""

    def extend(start: int, chosen: tuple[int, ...]):
        yield chosen
        if len(chosen) == max_contacts:
            return
        for i in range(start, len(brackets)):
            if not chosen or brackets[i] >= chosen[-1] + 2:
                yield from extend(i + 1, (*chosen, brackets[i]))

    yield from extend(0, ())


def _best_configuration(
    d2: np.ndarray, run: list[int], left: list[int], right: list[int], threshold: float, valid: np.ndarray
) -> list[tuple[int, float, np.ndarray]]:
    """Piecewise model of one region: the set of knots with the least penalised misfit.

    Frames of the region (and up to ``nb`` context frames each side) are split by the knots' 2-frame
    supports into segments of constant background (their mean; an empty segment keeps the
    background on its left, the first one the background on its right); each knot is solved
    exactly from its two frames and its two neighbouring backgrounds. Cost = squared misfit of all
    frames + ``KNOT_PENALTY * threshold²`` per knot, minimised over all knot sets of up to
    ``MAX_REGION_CONTACTS`` knots. A knot whose ``|Δv|`` stays below ``threshold`` is a change of
    background without a contact (a push starting or ending, a slide stopping) and is not reported.
    """
    first = left[-1] if left else run[0]
    last = right[-1] if right else run[-1] + 1
    frames = np.array([j for j in range(first, last + 1) if valid[j]])
    penalty = KNOT_PENALTY * threshold**2

    cache: dict = {}
    best_cost, best = np.inf, []
    for config in _configurations(run, MAX_REGION_CONTACTS):
        cost, fits = _config_cost(d2, frames, first, last, config, penalty, best_cost, cache)
        if cost < best_cost:
            best_cost, best = cost, fits
    return [fit for fit in best if np.linalg.norm(fit[2]) >= threshold]


def _config_cost(
    d2: np.ndarray,
    frames: np.ndarray,
    first: int,
    last: int,
    config: tuple[int, ...],
    penalty: float,
    bound: float,
    cache: dict,
) -> tuple[float, list[tuple[int, float, np.ndarray]]]:
    """Penalised misfit of one knot set (see :func:`_best_configuration`); stops early above ``bound``.

    ``cache`` holds segment statistics and knot solutions shared between knot sets of one region.
    """
    cuts = [first - 2, *config, last + 1]  # segment i lies between cuts[i] + 2 and cuts[i + 1] - 1
    means: list[np.ndarray | None] = []
    cost = penalty * len(config)
    for i in range(len(cuts) - 1):
        key = ("segment", cuts[i], cuts[i + 1])
        if key not in cache:
            seg = frames[(frames >= cuts[i] + 2) & (frames <= cuts[i + 1] - 1)]
            if seg.size:
                mean = d2[seg].mean(axis=0)
                cache[key] = (mean, float(np.sum((d2[seg] - mean) ** 2)))
            else:
                cache[key] = (None, 0.0)
        mean, sse = cache[key]
        means.append(mean)
        cost += sse
    for i in range(1, len(means)):  # empty segment: the object keeps the acceleration it had
        if means[i] is None:
            means[i] = means[i - 1]
    for i in range(len(means) - 2, -1, -1):
        if means[i] is None:
            means[i] = means[i + 1]
    if means[0] is None:
        means = [np.zeros(2)] * len(means)
    if cost >= bound or not config:
        return cost, []
    fits = []
    for m, k in enumerate(config):
        a_left, a_right = means[m], means[m + 1]
        key = ("knot", k, a_left.tobytes(), a_right.tobytes())
        if key not in cache:
            e0, e1, delta = (d2[k] - a_left)[None], (d2[k + 1] - a_right)[None], (a_left - a_right)[None]
            phi, dv = _solve_contact(e0, e1, delta)
            cache[key] = (float(_misfit(phi, e0 + e1, e1, delta)[0]), float(phi[0]), dv[0])
        misfit, phi, dv = cache[key]
        cost += misfit
        if cost >= bound:
            return cost, []
        fits.append((k, phi, dv))
    return cost, fits
