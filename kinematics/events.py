"""Visual events (impacts: contacts, collisions, pushes) and the clip-level motion-strength signal.

**What an impact is** (:func:`find_events`): a sudden change of velocity ``Δv``, large against the
noise of the track, with **free flight** (one constant acceleration: gravity in the air, 0 or
friction on the floor) on both sides. Every track (pixels; invisible frames interpolated) is
tested at every **bracket** (a contact between frames ``k`` and ``k + 1``):

1. **Noise from the track itself**: ``σ_w = 1.4826 MAD(D3) / √20`` (white tracker noise; ``D3`` the
   third differences) and ``σ = max(σ_w, σ_fit, noise_floor_px)`` with ``σ_fit`` the median residual
   RMS of the free-flight window fits (non-white tracker noise, e.g. blob centroids through a codec).
2. **Free-flight window fits**: positions of ``W`` frames each side (``W = 3 .. round(window_s fps)``,
   seconds, so frame-rate independent) are fitted by two parabolas that share one acceleration,
   either the local background (running median of ``D2`` over ``4 W_max + 1`` frames, whose own noise
   enters the standard error) or a fitted one. Each (model, ``W``) has a known standard error of
   ``Δv`` per pixel of noise; they are tried from the most precise, and the first whose residual
   passes a χ² test (0.999, noise ``1.5 σ_w``) is the bracket's fit: ``Δv``, its ``snr = |Δv| / SE``,
   the reduced χ² and the contact phase from position continuity.
3. **An impact** is a local maximum of ``snr`` over brackets with ``snr >= snr`` (6), ``|Δv| >=
   min_strength`` (0.1 image sizes per second) and a 2-frame spike of ``D2`` (the screening jump of
   the 2-frame model below reaches 0.7 ``|Δv|`` within a bracket: the change is sudden, not a
   smoothly turning acceleration).
4. **Contacts too close for a window** (two impacts under ~3 frames apart, a landing into rest
   or a slide) come from the exact 2-frame / knot model below, at ``2 snr`` standard errors
   (``3 σ`` per px/frame); where both models find a contact the exact model's sub-frame time is used.
5. Each event is classified: ``collision`` (another track changes velocity the opposite way within
   1.5 frames), ``push`` (the object was nearly at rest: speed before < ``|Δv| / 4``) or
   ``contact`` (a surface), and carries its evidence (``snr``, ``dv``, ``fit_chi2``, ``window_s``,
   ``noise_px``). Non-maximum suppression over all tracks: strongest first, ``nms_window_s``
   (default 1.5 frames).

The Visual Events node, ETE (``metrics.evaluate``), annotation and the physics impacts all call this
with the defaults in :data:`DEFAULTS`.

The exact 2-frame / knot model (step 4):


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
3. Thresholds per track: the knot search runs at ``thr = max(percentile_fraction * P95, 0.5 px/frame,
   5 σ_n)`` with ``P95`` the 95th percentile (``percentile``) of ``J`` over all tracks and brackets of
   the clip (``percentile_fraction = 0.05``) and ``σ_n = median |D3| / 1.1774`` (2-D norm of third
   differences: 0 on piecewise-ballistic tracks, ``σ √20`` for jitter ``σ`` px); a contact it finds
   is reported only if ``|Δv| >= max(that, min_strength, 2 snr · 3 σ)`` (``σ`` from the first
   part; ``noise_factor``, if given, replaces ``2 snr · 3 / √20``) and no clean window of 4+ frames
   a side across its bracket sees an insignificant jump.
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
6. Temporal non-maximum suppression over all tracks: strongest ``|Δv|`` first, events closer than
   ``nms_window_s`` (default 1.5 frames) to a kept one are dropped, so contacts 2 frames apart
   both survive.

Times are seconds, frame ``i`` at ``i / fps``. Contacts under 2 frames apart share a frame and are
reported as one event (or two approximate ones); contacts before frame 2 or after frame ``T - 3``
are not reported.

Motion strength (:func:`motion_strength`): per track
``|v| / mean_t |v| + |a| / mean_t |a|`` (a term whose mean is ~0 contributes 0), averaged over the
tracks: ``[T]``, about 2 on average for moving objects, 0 for a static clip.

findiff is imported inside the functions (via :func:`kinematic_state`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .features import _require_frames, kinematic_state
from .tracks import Tracks

#: Speeds / accelerations below this (normalised units per s / s²) count as zero in motion_strength.
ZERO_TOL = 1e-9
#: Default temporal suppression radius in frames (contacts 2 frames apart both survive).
NMS_FRAMES = 1.5


#: Detector defaults, shared by ETE (:mod:`metrics.evaluate`), the Visual Events node and annotation.
DEFAULTS: dict[str, float] = {
    "min_strength": 0.1,  # image sizes per second: the physical floor of |Δv|
    "snr": 6.0,  # |Δv| / its standard error from the track's own noise
    "window_s": 0.15,  # free-flight fit window per side, seconds (3 frames at least)
    "noise_floor_px": 0.02,  # lower bound of the estimated tracker noise, pixels
    "min_jump_px": 0.0,  # optional floor in px/frame (off)
}


@dataclass(frozen=True)
class Event:
    """One detected event: time in seconds, sub-frame position, track index, strength and evidence.

    ``strength`` is the velocity change ``|Δv|`` at the contact in image sizes per second (pixels per
    second divided by ``Tracks.scale``, the units of the kinematic state). Evidence: ``kind``
    ("contact" with a surface, "collision" between tracks, "push": an object set moving), ``snr``
    (``|Δv|`` over its standard error from the track's noise), ``dv`` (the 2-D ``Δv``, image sizes
    per second, y down), ``fit_chi2`` (reduced χ² of the free-flight fit on both sides; NaN for
    contacts found by the 2-frame model only), ``window_s`` (fit window per side, s; 0 = 2-frame
    model) and ``noise_px`` (the track's estimated noise, px).
    """

    time_s: float
    frame: float
    track: int
    strength: float
    kind: str = "contact"
    snr: float = float("nan")
    dv: tuple[float, float] = (float("nan"), float("nan"))
    fit_chi2: float = float("nan")
    window_s: float = 0.0
    noise_px: float = float("nan")


def find_events(
    tracks: Tracks,
    *,
    nms_window_s: float | None = None,
    min_strength: float = DEFAULTS["min_strength"],
    snr: float = DEFAULTS["snr"],
    window_s: float = DEFAULTS["window_s"],
    noise_floor_px: float = DEFAULTS["noise_floor_px"],
    min_jump_px: float = DEFAULTS["min_jump_px"],
    percentile: float = 95.0,
    percentile_fraction: float = 0.05,
    noise_factor: float | None = None,
    background_frames: int = 3,
) -> list[Event]:
    """Detected impacts sorted by time (see the module doc for the method).

    Args:
        tracks: at least 4 frames; no never-visible track.
        nms_window_s: minimum spacing of reported events in seconds (default ``1.5 / fps``; 0 = default).
        min_strength: physical floor: ``|Δv|`` at least this many image sizes per second.
        snr: ``|Δv|`` must reach this multiple of its standard error (track noise through the fit).
        window_s: longest free-flight fit window per side in seconds (at least 3 frames).
        noise_floor_px: lower bound of the estimated tracker noise (exact tracks have none).
        min_jump_px: optional extra floor in px/frame (0 = off).
        percentile, percentile_fraction: the 2-frame model's clip-level floor (a fraction of the
            ``percentile`` of its screening residual) for contacts too close for a window fit.
        noise_factor: if given, overrides ``snr`` for the 2-frame model (old name; multiple of the
            track's third-difference scale ``√20 σ``).
        background_frames: frames per side in the 2-frame model's background medians (>= 1).
    """
    _require_frames(tracks, "detect_events")
    nb = int(background_frames)
    if nb < 1:
        raise ValueError(f"detect_events: background_frames must be >= 1, got {background_frames!r}")
    fps, scale = float(tracks.fps), float(tracks.scale)
    floor_px = max(float(min_strength) * scale / fps, float(min_jump_px))
    p = tracks.interpolated()  # [T, N, 2] px
    vis = np.asarray(tracks.visible, bool)
    d2 = _second_differences(tracks)  # [T, N, 2] px/frame², NaN where undefined
    T, N = d2.shape[:2]
    sigma = np.maximum(_noise_px(d2), float(noise_floor_px))  # [N] px
    w_max = int(min(max(3, round(float(window_s) * fps)), max(3, (T - 2) // 2)))
    fits = _window_fits(p, vis, d2, sigma, w_max, float(snr))  # per bracket, best clean window
    sigma = fits["sigma"]
    # the exact 2-frame model's screening residual: an impact is also a 2-frame spike of D2
    brackets = np.arange(1, T - 2)
    jumps, phis, dvs = _screening_jumps(d2, brackets, nb)
    spike = np.zeros((T, N))
    spike[brackets] = jumps
    spike = np.maximum(spike, np.maximum(np.roll(spike, 1, 0), np.roll(spike, -1, 0)))
    candidates: list[Event] = []
    used = np.zeros((T, N), bool)
    keep = fits["keep"] & (fits["dv_norm"] >= floor_px) & (spike >= SPIKE_FRACTION * fits["dv_norm"])
    for b, n in zip(*np.nonzero(keep), strict=True):
        k = int(b)
        phi = float(fits["phi"][b, n])
        dv = fits["dv"][b, n]
        candidates.append(
            _event(
                k + phi,
                n,
                dv,
                fits["v_before"][b, n],
                fps,
                scale,
                float(fits["snr"][b, n]),
                float(fits["chi2"][b, n]),
                float(fits["w"][b, n]) / fps,
                float(sigma[n]),
            )
        )
        used[max(k - 1, 0) : k + 3, n] = True
    # contacts closer than a window fit allows: the exact 2-frame / knot model (its sub-frame time
    # also replaces a window fit's where both find a contact: exact on clean piecewise-ballistic tracks)
    clip_level = float(np.percentile(jumps, percentile)) if jumps.size else 0.0
    factor = (
        FALLBACK_SNR_FACTOR * float(snr) * JUMP_SE
        if noise_factor is None
        else float(noise_factor) * math.sqrt(20.0)
    )
    for n in range(N):
        threshold = max(float(percentile_fraction) * clip_level, floor_px, factor * float(sigma[n]))
        jump = jumps[:, n]
        if not jump.size or jump.max() < threshold:
            continue
        # the knot search itself runs at the floors (its penalty then matches the 2-frame model's);
        # the noise threshold is applied to its contacts
        search = max(
            float(percentile_fraction) * clip_level, SEARCH_FLOOR_PX, OLD_NOISE_FACTOR * _old_noise(d2[:, n])
        )
        for k, phi, dv in _track_contacts(d2[:, n], (jump, phis[:, n], dvs[:, n]), search, nb):
            if np.linalg.norm(dv) < threshold:
                continue
            if fits["w"][k, n] >= 4 and fits["snr"][k, n] < float(snr):
                continue  # a clean free-flight fit across this bracket sees no significant jump
            same = [
                i
                for i, e in enumerate(candidates)
                if e.track == n and e.window_s > 0 and abs(e.frame - (k + phi)) < 1.5
            ]
            if same:
                for i in same:
                    candidates[i] = replace(candidates[i], frame=k + phi, time_s=(k + phi) / fps)
                continue
            v_before = p[k, n] - p[k - 1, n] + 0.5 * np.nan_to_num(d2[k - 1, n])
            se = JUMP_SE * float(sigma[n])
            candidates.append(
                _event(
                    k + phi,
                    n,
                    dv,
                    v_before,
                    fps,
                    scale,
                    float(np.linalg.norm(dv)) / se,
                    float("nan"),
                    0.0,
                    float(sigma[n]),
                )
            )
    candidates = _classify(candidates, 1.5 / fps)
    radius = NMS_FRAMES / fps if not nms_window_s else float(nms_window_s)
    kept: list[Event] = []
    for event in sorted(candidates, key=lambda e: -e.strength):
        if all(abs(event.time_s - other.time_s) >= radius for other in kept):
            kept.append(event)
    return sorted(kept, key=lambda e: e.time_s)


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
    """Least-squares misfit of the 2-frame model at ``phi`` (Δv eliminated)."""
    p = phi[..., None]
    g = p * S - e1 + delta * p * (1.0 - p) / 2.0
    return np.sum(g * g, axis=-1) / ((1.0 - phi) ** 2 + phi**2)


def _solve_contact(e0: np.ndarray, e1: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-frame phase ``φ`` in [0, 1] and ``Δv`` [.., 2] from the 2-frame residuals (module doc)."""
    S = e0 + e1
    candidates = [np.zeros(S.shape[:-1]), np.ones(S.shape[:-1])]
    for c in range(S.shape[-1]):
        candidates += _quadratic_roots(-delta[..., c] / 2.0, S[..., c] + delta[..., c] / 2.0, -e1[..., c])
    sd = np.sum(S * delta, axis=-1)
    candidates += _quadratic_roots(-sd / 2.0, np.sum(S * S, axis=-1) + sd / 2.0, -np.sum(S * e1, axis=-1))
    stack = np.stack(candidates)  # [C, ...]
    cost = np.stack([_misfit(np.clip(np.nan_to_num(phi, nan=0.5), 0.0, 1.0), S, e1, delta) for phi in stack])
    usable = np.isfinite(stack) & (stack >= -1e-9) & (stack <= 1.0 + 1e-9)
    cost = np.where(usable & np.isfinite(cost), cost, np.inf)
    best = np.argmin(cost, axis=0)
    phi = np.clip(np.take_along_axis(stack, best[None], axis=0)[0], 0.0, 1.0)
    phi = np.where(np.isfinite(phi), phi, 0.5)
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
    d2: np.ndarray, screen: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, nb: int
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
    runs: list[list[int]] = []
    for i in np.flatnonzero(cand):
        if runs and i + 1 == runs[-1][-1] + 1:
            runs[-1].append(int(i) + 1)
        else:
            runs.append([int(i) + 1])
    in_run = np.zeros(T, dtype=bool)
    for run in runs:
        in_run[run[0] : run[-1] + 2] = True
    sharp = _sharpness(d2, n_br)
    out: list[tuple[int, float, np.ndarray]] = []
    for run in runs:
        if (
            max(jump[b - 1] for b in run) < threshold
            or max(sharp[b - 1] for b in run) < SHARPNESS * threshold
        ):
            continue
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
    """Per bracket ``k``: largest distance of ``D2[k]``, ``D2[k+1]`` from the line ``D2[k-1]`` -> ``D2[k+2]``.

    A contact's 2-frame spike stands off that line by about ``|Δv| / 2`` or more; a smoothly varying
    acceleration (non-ballistic motion, e.g. fast oscillations) stays close to it.
    """
    pad = np.concatenate([np.full((1, 2), np.nan), d2, np.full((2, 2), np.nan)])
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


# ----------------------------------------------------------------------------- free-flight window fits

#: Standard error of the 2-frame model's ``|Δv|`` per pixel of tracker noise (per coordinate,
#: measured on white noise: the spike sum has 2 σ, the two background medians add the rest).
JUMP_SE = 3.0
#: Contacts found by the 2-frame model only (no clean free-flight window) need this much more SNR.
FALLBACK_SNR_FACTOR = 2.0
#: The 2-frame model's own noise guard (multiple of the third-difference scale, see :func:`_old_noise`).
OLD_NOISE_FACTOR = 5.0
#: The knot search's own floor (px/frame; its knot penalty is 0.4 of its square).
SEARCH_FLOOR_PX = 0.5
#: A window-fit contact needs a 2-frame screening jump of at least this fraction of its |Δv| within
#: one bracket (an impact concentrates its velocity change in one frame interval; a smoothly turning
#: acceleration or an acceleration step does not).
SPIKE_FRACTION = 0.7
#: Quantile of the χ² test that both sides are free flight (constant acceleration).
CHI2_Z = 3.09  # one-sided 0.999
#: The χ² test's noise is the white (third-difference) noise times this (tracker noise is not white).
CHI2_SLACK = 1.5


def _old_noise(d2: np.ndarray) -> float:
    """``median |D3| / 1.1774`` (2-D norm): the 2-frame model's scale of third differences (px/frame²)."""
    d3 = np.linalg.norm(np.diff(d2, axis=0), axis=-1)
    d3 = d3[np.isfinite(d3)]
    return float(np.median(d3)) / 1.1774 if d3.size else 0.0


def _noise_px(d2: np.ndarray) -> np.ndarray:
    """``[N]`` robust tracker noise (px): ``1.4826 MAD(D3) / √20`` over both coordinates and all frames.

    ``D3`` of white noise ``σ`` has standard deviation ``σ √20``; impacts touch 3 samples each, and
    the median absolute deviation ignores them.
    """
    d3 = np.diff(d2, axis=0)  # [T-1, N, 2]
    d3 = np.moveaxis(d3, 1, 0).reshape(d3.shape[1], -1)  # [N, 2 (T-1)]
    med = np.nanmedian(d3, axis=1, keepdims=True) if d3.size else np.zeros((d3.shape[0], 1))
    mad = np.nanmedian(np.abs(d3 - med), axis=1) if d3.shape[1] else np.zeros(d3.shape[0])
    return np.nan_to_num(1.4826 * mad / math.sqrt(20.0), nan=0.0)


def _chi2_limit(dof: int) -> float:
    """Wilson-Hilferty approximation of the 0.999 quantile of χ² with ``dof`` degrees of freedom."""
    c = 2.0 / (9.0 * dof)
    return dof * (1.0 - c + CHI2_Z * math.sqrt(c)) ** 3


def _window_design(W: int, known_a: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(P, Q, h, g)`` of the 2W-frame window around bracket k (frames k-W+1 .. k+W, ``t`` from k).

    Left frames ``t <= 0`` follow ``pL + vL t + a t²/2``, right frames ``pR + vR (t-1) + a (t-1)²/2``
    (free flight under one constant acceleration ``a`` on both sides). ``known_a``: ``a`` is given
    (the local background, subtracted as ``a g``), parameters ``(pL, vL, pR, vR)``; else ``a`` is
    fitted too, ``(pL, vL, pR, vR, a)``. ``P`` = pseudo-inverse (parameters from positions), ``Q`` =
    orthonormal basis of the model space (residual = ``|y|² - |y Q|²``), ``h`` = the filter of
    ``vR - vL`` (the velocity change is ``y h - a``).
    """
    t = np.arange(-W + 1, W + 1, dtype=np.float64)
    left = t <= 0
    s = t - 1.0
    g = np.where(left, t * t / 2, s * s / 2)
    A = np.zeros((2 * W, 4 if known_a else 5))
    A[left, 0], A[left, 1] = 1.0, t[left]
    A[~left, 2], A[~left, 3] = 1.0, s[~left]
    if not known_a:
        A[:, 4] = g
    P = np.linalg.pinv(A)
    Q = np.linalg.qr(A)[0]
    return P, Q, P[3] - P[1], g


def _background_acceleration(d2: np.ndarray, half: int) -> np.ndarray:
    """``[T, N, 2]`` running median of ``D2`` over ``2 half + 1`` frames (impacts are 2-frame spikes).

    Missing samples (ends, invisible stencils) take the nearest valid value of their track first.
    """
    from scipy.ndimage import median_filter

    filled = d2.copy()
    T = d2.shape[0]
    valid = np.isfinite(filled)
    if not valid.all():
        idx = np.where(valid, np.arange(T)[:, None, None], -1)
        last = np.maximum.accumulate(idx, axis=0)  # previous valid index (or -1)
        idx_rev = np.where(valid, np.arange(T)[:, None, None], T)
        nxt = np.minimum.accumulate(idx_rev[::-1], axis=0)[::-1]  # next valid index (or T)
        take = np.where(last >= 0, last, np.where(nxt < T, nxt, 0))
        filled = np.take_along_axis(np.nan_to_num(filled, nan=0.0), take, axis=0)
    return median_filter(filled, size=(2 * half + 1, 1, 1), mode="reflect")


def _window_fits(
    p: np.ndarray, vis: np.ndarray, d2: np.ndarray, sigma: np.ndarray, w_max: int, snr_min: float
) -> dict[str, np.ndarray]:
    """Free-flight fits on both sides of every bracket ``k`` (arrays indexed ``[k, n]``).

    First with the acceleration fixed to the local background (running median of ``D2`` over
    ``4 w_max + 1`` frames; its noise enters the standard error), then fitted, each for
    ``W = w_max .. 3`` frames per side: the first
    window whose frames are all visible and whose residual passes the χ² test (``σ`` = the track's
    noise) is the bracket's fit; ``snr = |Δv| / (σ |h|)``. ``keep``: fitted brackets with
    ``snr >= snr_min`` that are a local maximum of ``snr`` (±1 bracket).
    """
    T, N = p.shape[:2]
    out = {
        "dv": np.zeros((T, N, 2)),
        "snr": np.zeros((T, N)),
        "chi2": np.full((T, N), np.nan),
        "w": np.zeros((T, N), dtype=np.int64),
        "dof": np.zeros((T, N), dtype=np.int64),
        "phi": np.full((T, N), 0.5),
        "v_before": np.zeros((T, N, 2)),
    }
    done = np.zeros((T, N), bool)
    half = 2 * w_max
    background = _background_acceleration(d2, half)
    test2 = ((CHI2_SLACK * sigma) ** 2)[None, :]  # white noise (third differences): the χ² test
    sigma = np.maximum(sigma, _fit_noise(p, vis, w_max))  # noise as the fit sees it: the SNR
    out["sigma"] = sigma
    s2 = (sigma * sigma)[None, :]
    # the background's own noise: median of 2 half + 1 second differences of white noise (var 6 σ²)
    var_a = 1.5708 * 6.0 / (2 * half + 1)
    # every (model, window) in order of the standard error of its Δv: the most precise clean fit wins
    order = []
    for known_a in (True, False):
        for W in range(w_max, 2, -1):
            if 2 * W <= T:
                _, _, h, g = _window_design(W, known_a)
                order.append(
                    (float(h @ h) + (var_a * (float(h @ g) + 1.0) ** 2 if known_a else 0.0), known_a, W)
                )
    windows = {
        W: np.lib.stride_tricks.sliding_window_view(p, 2 * W, axis=0) for _, _, W in order
    }  # [M, N, 2, 2W]
    for _, known_a, W in sorted(order):
        ks = np.arange(W - 1, T - W)
        todo = ~done[ks] & np.lib.stride_tricks.sliding_window_view(vis, 2 * W, axis=0).all(-1)
        if not todo.any():
            continue
        rows, cols = np.nonzero(todo)
        kk = ks[rows]
        P, Q, h, g = _window_design(W, known_a)
        y = windows[W][rows, cols]  # [S, 2, 2W]
        y = y - y[..., W - 1 : W]
        a = background[kk, cols]  # [S, 2]
        if known_a:
            y = y - a[..., None] * g
        flat = y.reshape(-1, 2 * W)  # einsum: BLAS threads are slower for these thin products
        proj = np.einsum("ij,jk->ik", flat, Q).reshape(len(rows), 2, -1)
        sse = np.sum(y * y, axis=(-2, -1)) - np.sum(proj * proj, axis=(-2, -1))
        dof = 2 * (2 * W - Q.shape[1])
        var = s2[0, cols]
        clean = sse <= _chi2_limit(dof) * test2[0, cols]
        theta = np.einsum("ij,kj->ik", flat, P).reshape(len(rows), 2, -1)  # [S, 2, params]
        if not known_a:
            a = theta[..., 4]
        dv = theta[..., 3] - theta[..., 1] - a
        # contact time from continuity: pL + vL t + a t²/2 = pR + vR (t-1) + a (t-1)²/2
        num = theta[..., 0] - theta[..., 2] + theta[..., 3] - a / 2
        den = np.sum(dv * dv, axis=-1)
        phi = np.clip(np.sum(dv * num, axis=-1) / np.where(den > 0, den, 1.0), 0.0, 1.0)
        factor = float(h @ h) + (var_a * (float(h @ g) + 1.0) ** 2 if known_a else 0.0)
        snr = np.linalg.norm(dv, axis=-1) / np.sqrt(var * factor)
        sel = clean
        r, c = kk[sel], cols[sel]
        out["dv"][r, c] = dv[sel]
        out["snr"][r, c] = snr[sel]
        out["chi2"][r, c] = (sse / (dof * var))[sel]
        out["w"][r, c] = W
        out["dof"][r, c] = dof
        out["phi"][r, c] = phi[sel]
        out["v_before"][r, c] = (theta[..., 1] + a * phi[:, None])[sel]
        done[r, c] = True
    s = out["snr"]
    prev = np.concatenate([np.zeros((1, N)), s[:-1]])
    nxt = np.concatenate([s[1:], np.zeros((1, N))])
    out["keep"] = (s >= snr_min) & (s >= prev) & (s > nxt)
    out["dv_norm"] = np.linalg.norm(out["dv"], axis=-1)
    return out


def _fit_noise(p: np.ndarray, vis: np.ndarray, W: int) -> np.ndarray:
    """``[N]`` noise (px) as the free-flight model sees it: the median over brackets of the residual
    RMS of the fitted-acceleration window fit (``W`` frames per side; the median of ``χ²/dof`` is
    ``≈ (1 - 2 / (9 dof))³``). Tracker noise that is not white (blob centroids, codecs) is larger
    here than in the third differences."""
    T, N = p.shape[:2]
    if 2 * W > T:
        return np.zeros(N)
    P, Q, h, g = _window_design(W, False)
    win = np.lib.stride_tricks.sliding_window_view(p, 2 * W, axis=0)  # [M, N, 2, 2W]
    y = win - win[..., W - 1 : W]
    proj = np.einsum("...j,jk->...k", y, Q)
    sse = np.sum(y * y, axis=(-2, -1)) - np.sum(proj * proj, axis=(-2, -1))
    dof = 2 * (2 * W - Q.shape[1])
    ok = np.lib.stride_tricks.sliding_window_view(vis, 2 * W, axis=0).all(-1)
    ratio = np.where(ok, sse / dof, np.nan)
    med = np.nanmedian(ratio, axis=0) if ok.any() else np.zeros(N)
    return np.sqrt(np.clip(np.nan_to_num(med, nan=0.0), 0.0, None) / (1.0 - 2.0 / (9.0 * dof)) ** 3)


def _event(
    frame: float,
    track: int,
    dv_px: np.ndarray,
    v_before_px: np.ndarray,
    fps: float,
    scale: float,
    snr: float,
    chi2: float,
    window_s: float,
    noise_px: float,
) -> Event:
    """An :class:`Event` from a contact in pixel units (``Δv``, velocity before: px/frame)."""
    dv = np.asarray(dv_px, dtype=np.float64) * fps / scale
    strength = float(np.linalg.norm(dv))
    before = float(np.linalg.norm(v_before_px)) * fps / scale
    kind = "push" if before < 0.25 * strength else "contact"
    return Event(
        float(frame) / fps,
        float(frame),
        int(track),
        strength,
        kind,
        snr,
        (float(dv[0]), float(dv[1])),
        chi2,
        window_s,
        noise_px,
    )


def _classify(events: list[Event], radius: float) -> list[Event]:
    """Mark events as collisions where another track changes velocity the opposite way within ``radius`` s."""
    out = []
    for e in events:
        opposite = any(
            o.track != e.track
            and abs(o.time_s - e.time_s) < radius
            and o.dv[0] * e.dv[0] + o.dv[1] * e.dv[1] < 0
            for o in events
        )
        out.append(replace(e, kind="collision") if opposite else e)
    return out
