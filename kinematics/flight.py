"""Free-flight fits around contacts: is a velocity change large against the track's own noise?

:func:`flight_snr` checks one contact found by the 2-frame model; :func:`scan_models` fits several
free-flight models at every bracket of noisy tracks (the model scan of :mod:`.events`, step 6:
an acceleration per side, one shared, none, free fall with the track's own flight acceleration
from :func:`flight_acceleration`, a landing); :func:`landing_fit` tests, after a contact, a hop in
free fall that ends in a landing into rest (the object at rest or rolling after it: no acceleration),
against the same frames without a landing.

A contact found by the 2-frame / knot model (:mod:`.events`) at ``c = k + φ`` frames (between frames
``k`` and ``k + 1``) is tested on the positions around it: the visible frames of up to ``W`` frames
on each side, stopping at the neighbouring contacts of the same track, are fitted by **free flight
on both sides**: one position at the contact (the path is continuous), a velocity and a constant
acceleration on each side (gravity in the air, 0 at rest or rolling, so a landing into rest fits
too)::

    p(t) = p_c + v_L (t - c) + a_L (t - c)² / 2   (t <= k)
    p(t) = p_c + v_R (t - c) + a_R (t - c)² / 2   (t >= k + 1)

per coordinate, by least squares (pixels, frames). The velocity change ``Δv = v_R - v_L``
(px/frame) has the standard error ``SE = σ sqrt(((AᵀA)⁻¹)_vv)`` with ``A`` the design matrix and
``σ`` the track's position noise: the larger of the white noise seen in its third differences
(``σ_w = 1.4826 MAD(D3) / √20`` per coordinate, :func:`white_noise_px`) and the fit's own residual
RMS (codec and blob-centroid errors are not white). The contact's ``snr = |Δv| / SE``.

The window ``W = round(window_s · fps)`` (0.25 s) is in seconds, so the test is frame-rate
independent; it is clipped to :data:`MIN_WINDOW` .. :data:`MAX_WINDOW` frames. A side with fewer
than :data:`MIN_WINDOW` visible frames (a neighbouring contact, the clip's end, an occlusion) cannot
be tested: the contact is kept as the 2-frame model found it (``snr`` NaN). On exact tracks
(the physics world) ``σ`` is ~0 and every contact passes.
"""

from __future__ import annotations

import numpy as np

#: Fewest visible frames on a side for the free-flight fit (3 fit a parabola with one spare frame
#: shared with the other side's continuity).
MIN_WINDOW = 4
#: Most frames on a side.
MAX_WINDOW = 15
#: A side's window is clean free flight when its parabola's residual RMS is under this many noises.
CLEAN_FACTOR = 2.0
#: Noise floor in pixels (a track's noise is never taken as below this: float rounding, simulator
#: steps).
NOISE_FLOOR_PX = 1e-3


def white_noise_px(d2: np.ndarray) -> np.ndarray:
    """White position noise (px, per coordinate) from second differences ``[T, ..., 2]``: shape ``[...]``.

    ``1.4826 MAD`` of the third differences ``D3 = diff(D2)`` over both coordinates, divided by
    ``√20`` (``D3`` of white noise ``σ`` has standard deviation ``σ √20``); NaN samples ignored (0
    when there are none). 0 on piecewise-ballistic tracks (the contacts touch only three samples each).
    """
    d3 = np.diff(d2, axis=0)  # [T-1, ..., 2]
    d3 = np.moveaxis(d3, 0, -2).reshape(*d3.shape[1:-1], -1)  # [..., (T-1) * 2]
    centre = _nanmedian_last(d3)
    mad = _nanmedian_last(np.abs(d3 - centre[..., None]))
    return np.nan_to_num(1.4826 * mad / np.sqrt(20.0), nan=0.0)


def _nanmedian_last(a: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are NaN)."""
    ordered = np.sort(a, axis=-1)  # NaN last
    count = np.sum(np.isfinite(a), axis=-1)
    lo = np.clip((count - 1) // 2, 0, None)[..., None]
    hi = np.clip(count // 2, 0, a.shape[-1] - 1)[..., None]
    med = 0.5 * (np.take_along_axis(ordered, lo, -1)[..., 0] + np.take_along_axis(ordered, hi, -1)[..., 0])
    return np.where(count > 0, med, np.nan)


def flight_snr(
    points: np.ndarray,
    visible: np.ndarray,
    contact: float,
    lo: int,
    hi: int,
    window: int,
    noise_px: float,
    min_window: int = MIN_WINDOW,
) -> tuple[float, float, np.ndarray]:
    """``(snr, noise_px, dv)`` of the free-flight fit around one contact (module doc).

    Args:
        points: ``[T, 2]`` pixels of one track; visible: ``[T]`` bool.
        contact: contact time in frames (``k + φ``); the left side is frames ``<= floor(contact)``.
        lo, hi: first / last frame the fit may use (the neighbouring contacts' sides).
        window: frames per side at most.
        noise_px: the track's white noise (:func:`white_noise_px`).
        min_window: fewest visible frames a side needs (at least :data:`MIN_WINDOW`).

    Returns:
        ``snr`` (NaN when a side has fewer than ``min_window`` visible frames), the noise used
        (px), ``dv`` ``[2]`` px/frame (NaN likewise).
    """
    k = int(np.floor(contact))
    nan = (float("nan"), float(noise_px), np.full(2, np.nan))
    left = _side(points, visible, np.arange(k, max(lo, k - window + 1) - 1, -1), noise_px)
    right = _side(points, visible, np.arange(k + 1, min(hi, k + window) + 1), noise_px)
    if left.size < max(min_window, MIN_WINDOW) or right.size < max(min_window, MIN_WINDOW):
        return nan
    tl = left - contact
    tr = right - contact
    # columns: p_c, v_L, a_L, v_R, a_R
    A = np.zeros((left.size + right.size, 5))
    A[:, 0] = 1.0
    A[: left.size, 1] = tl
    A[: left.size, 2] = 0.5 * tl * tl
    A[left.size :, 3] = tr
    A[left.size :, 4] = 0.5 * tr * tr
    y = np.concatenate([points[left], points[right]])  # [n, 2]
    try:
        inv = np.linalg.inv(A.T @ A)
    except np.linalg.LinAlgError:
        return nan
    coef = inv @ (A.T @ y)  # [5, 2]
    resid = y - A @ coef
    dof = 2 * (A.shape[0] - 5)
    sigma = float(noise_px)
    if dof >= 2:
        sigma = max(sigma, float(np.sqrt(np.sum(resid * resid) / dof)))
    sigma = max(sigma, NOISE_FLOOR_PX)
    dv = coef[3] - coef[1]
    var = inv[1, 1] + inv[3, 3] - 2.0 * inv[1, 3]
    se = sigma * float(np.sqrt(max(var, 1e-300)))
    return float(np.linalg.norm(dv)) / se, sigma, dv


def _side(points: np.ndarray, visible: np.ndarray, frames: np.ndarray, noise_px: float) -> np.ndarray:
    """The visible ``frames`` (ordered outward from the contact) of the longest clean free-flight run.

    From the longest prefix down: the first prefix whose own parabola leaves a residual RMS under
    :data:`CLEAN_FACTOR` times the noise (no further contact inside it); none (the side cannot be
    tested) when no prefix of more than :data:`MIN_WINDOW` frames is clean. Returned in time order.
    """
    frames = frames[visible[frames]]
    limit = CLEAN_FACTOR * max(float(noise_px), NOISE_FLOOR_PX)
    for size in range(frames.size, MIN_WINDOW - 1, -1):
        part = frames[:size]
        t = part - part[0]
        A = np.stack([np.ones(size), t, t * t], axis=1)
        coef, *_ = np.linalg.lstsq(A, points[part], rcond=None)
        resid = points[part] - A @ coef
        if np.sqrt(np.sum(resid * resid) / (2 * (size - 3))) <= limit:
            return np.sort(part)
    return frames[:0]


#: Tracks whose white noise is at least this (px) also get the model scan (:func:`scan_models`) and the
#: landing fit (:func:`landing_fit`); exact tracks (the physics world, ~1e-5 px) are left to the exact
#: 2-frame model.
SCAN_NOISE_PX = 0.02


# ----------------------------------------------------------------------------- model scan

#: Free-flight models of the scan (:func:`scan_models`): ``(kind, L, R)`` with ``L`` / ``R`` frames
#: left / right of the contact. ``"free"``: a velocity and an acceleration per side (flight -> rest
#: and flight -> sliding too); ``"shared"``: one acceleration on both sides (a rebound: gravity before
#: and after; a collision while rolling), so a side of 3 frames is enough (short hops);
#: ``"land"``: the left side in free fall with the track's own flight acceleration (measured on its
#: clean long windows), the right side free: a landing after a short hop; ``"fall"``: both sides in
#: free fall with that acceleration (a rebound in the air; fewest parameters, for short hops).
#: ``"roll"``: no acceleration on either side (rolling, sliding without friction, at rest: a
#: collision on the floor).
FREE, SHARED, LAND, FALL, ROLL = "free", "shared", "land", "fall", "roll"
#: A scan contact must also fit better than one smooth polynomial with as many parameters by this
#: many noise units (``sqrt(ΔRSS) / σ``): a sudden change, not non-ballistic smooth motion.
SMOOTH_GAIN = 4.0
#: A free-fall model (:data:`LAND`, :data:`FALL`) must also beat one smooth polynomial on the positions
#: as they are (without the free fall: at rest, rolling) by this many noise units.
REST_GAIN = 2.0


def _columns(kind: str, L: int, R: int, phi: float = 0.5) -> tuple[np.ndarray, int, int, np.ndarray]:
    """Design matrix ``[L + R, k]`` of one model, the indices of ``v_L`` / ``v_R`` and the left mask."""
    t = np.concatenate([np.arange(-L + 1, 1), np.arange(1, R + 1)]) - phi
    left = np.arange(L + R) < L
    half = 0.5 * t * t
    one = np.ones(L + R)
    if kind == FREE:
        cols = [one, t * left, half * left, t * ~left, half * ~left]
        return np.stack(cols, 1), 1, 3, left
    if kind == SHARED:
        return np.stack([one, t * left, t * ~left, half], 1), 1, 2, left
    if kind == LAND:
        return np.stack([one, t * left, t * ~left, half * ~left], 1), 1, 2, left
    if kind in (FALL, ROLL):
        return np.stack([one, t * left, t * ~left], 1), 1, 2, left
    raise ValueError(f"unknown model {kind!r}")


def flight_acceleration(
    points: np.ndarray, visible: np.ndarray, noise_px: np.ndarray, window: int
) -> np.ndarray:
    """``[M, 2]`` px/frame²: each track's free-flight acceleration (gravity in the image), NaN if none.

    Every window of ``2 window + 1`` visible frames is fitted by one parabola; the windows whose
    residual RMS is under :data:`CLEAN_FACTOR` noises (free flight, no contact inside) and whose
    acceleration is at least 10 standard errors from 0 (in the air, not at rest or rolling) vote;
    the per-coordinate median of their accelerations is the track's flight acceleration.
    """
    T, M = points.shape[:2]
    n = 2 * window + 1
    out = np.full((M, 2), np.nan)
    if T < n:
        return out
    t = np.arange(n) - float(window)
    A = np.stack([np.ones(n), t, 0.5 * t * t], 1)
    inv = np.linalg.inv(A.T @ A)
    P = inv @ A.T  # [3, n]
    filled = np.where(visible[..., None], points, 0.0)
    win = np.lib.stride_tricks.sliding_window_view(filled, n, axis=0)  # [S, M, 2, n]
    ok = np.lib.stride_tricks.sliding_window_view(visible, n, axis=0).all(-1)  # [S, M]
    coef = win @ P.T  # [S, M, 2, 3]
    resid = win - coef @ A.T
    rms = np.sqrt(np.sum(resid * resid, axis=(-1, -2)) / (2 * (n - 3)))  # [S, M]
    floor = np.maximum(np.asarray(noise_px, dtype=np.float64), NOISE_FLOOR_PX)
    sigma = np.maximum(rms, floor)
    acc = coef[..., 2]  # [S, M, 2]
    se = sigma * np.sqrt(inv[2, 2])
    vote = ok & (rms <= CLEAN_FACTOR * floor) & (np.linalg.norm(acc, axis=-1) >= 10.0 * se)
    for m in range(M):
        if vote[:, m].any():
            out[m] = np.median(acc[vote[:, m], m], axis=0)
    return out


def scan_models(
    points: np.ndarray,
    visible: np.ndarray,
    noise_px: np.ndarray,
    models: list[tuple[str, int, int]],
    gravity: np.ndarray | None = None,
    gate: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Free-flight ``snr`` and ``|Δv|`` (px/frame) of each model at every bracket: ``([C, B, M], [C, B, M])``.

    ``points`` ``[T, M, 2]`` px, ``visible`` ``[T, M]``, ``noise_px`` ``[M]``, ``models`` as
    :data:`FREE` / :data:`SHARED` / :data:`LAND` with their side lengths, ``gravity`` ``[M, 2]``
    (px/frame², :func:`flight_acceleration`; needed by :data:`LAND`, NaN rows give NaN). Bracket
    ``b`` (row ``b - 1``, ``B = T - 3``) has its contact at ``b + 0.5``; the left side is frames
    ``b - L + 1 .. b``, the right side ``b + 1 .. b + R``; a window with an invisible frame or
    outside the clip is NaN. ``snr = |Δv| / (σ √var)``, ``σ`` the larger of the fit's residual RMS
    and the track's white noise, as :func:`flight_snr`.

    Window sums come from prefix sums of ``y``, ``i y``, ``i² y`` and ``|y|²`` (positions centred
    per track), so every model costs a few elementwise operations per bracket.
    """
    T, M = points.shape[:2]
    B = max(T - 3, 0)
    snr_out = np.full((len(models), B, M), np.nan)
    dv_out = np.full((len(models), B, M), np.nan)
    if B == 0:
        return snr_out, dv_out
    floor = np.maximum(np.asarray(noise_px, dtype=np.float64), NOISE_FLOOR_PX)  # [M]
    filled = np.where(visible[..., None], points, 0.0)
    mean = filled.sum(axis=0) / np.maximum(visible.sum(axis=0), 1)[:, None]
    y = np.where(visible[..., None], points - mean, 0.0)  # [T, M, 2]
    i = np.arange(T, dtype=np.float64)[:, None, None]

    pad = max([max(L, R) for _, L, R in models], default=0) + 2

    def prefix(a: np.ndarray) -> np.ndarray:
        """Prefix sums (row ``j`` = sum of rows ``< j``), edge-padded by ``pad`` rows each side."""
        p = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
        return np.concatenate([np.repeat(p[:1], pad, 0), p, np.repeat(p[-1:], pad, 0)])

    Q = [prefix(y), prefix(i * y), prefix(i * i * y)]  # [T + 1 + 2 pad, M, 2]
    Y2 = prefix(y[..., 0] ** 2 + y[..., 1] ** 2)  # [T + 1 + 2 pad, M]
    hidden = prefix((~visible).astype(np.float64))
    b = np.arange(1, B + 1)
    c = (b + 0.5)[:, None, None]

    def at(q: np.ndarray, offset: int) -> np.ndarray:
        """Rows ``b + offset`` of prefix array ``q`` for every bracket ``b`` (a view)."""
        return q[pad + 1 + offset : pad + 1 + offset + B]

    cache: dict = {}

    def moments(first: int, last: int) -> list[np.ndarray]:
        """``Σ t^m y`` over frames ``b + first .. b + last`` (``t = i - c``), m = 0, 1, 2: ``[B, M, 2]``."""
        if (first, last) not in cache:
            u0, u1, u2 = (at(q, last + 1) - at(q, first) for q in Q)
            cache[first, last] = [u0, u1 - c * u0, u2 - 2.0 * c * u1 + c * c * u0]
        return cache[first, last]

    for index, (kind, L, R) in enumerate(models):
        inside = (b - L + 1 >= 0) & (b + R <= T - 1)
        if not inside.any():
            continue
        A, iv, ir, left = _columns(kind, L, R)
        G = A.T @ A
        inv = np.linalg.inv(G)
        var = inv[iv, iv] + inv[ir, ir] - 2.0 * inv[iv, ir]
        ml = moments(1 - L, 0)
        mr = moments(1, R)
        tot = [ml[m] + mr[m] for m in range(3)]
        if kind == FREE:
            aty = [tot[0], ml[1], 0.5 * ml[2], mr[1], 0.5 * mr[2]]
        elif kind == SHARED:
            aty = [tot[0], ml[1], mr[1], 0.5 * tot[2]]
        elif kind == LAND:
            aty = [tot[0], ml[1], mr[1], 0.5 * mr[2]]
        else:
            aty = [tot[0], ml[1], mr[1]]
        aty = np.stack(aty, axis=-1)  # [B, M, 2, k]
        yy = at(Y2, R + 1) - at(Y2, 1 - L)  # [B, M]
        ok = inside[:, None] & ((at(hidden, R + 1) - at(hidden, 1 - L)) == 0)
        if kind in (LAND, FALL):
            if gravity is None:
                continue
            g = np.asarray(gravity, dtype=np.float64)[None]  # [1, M, 2]
            falls = _falling(kind, L, R)
            t = (np.arange(-L + 1, R + 1) - 0.5)[falls]
            off = A[falls].T @ (0.5 * t * t)  # [k]: Aᵀ of the free fall per unit g
            aty = aty - g[..., None] * off
            gm = g * (ml[2] if kind == LAND else tot[2])
            yy = yy - gm[..., 0] - gm[..., 1] + np.sum(g * g, axis=-1) * float(np.sum(0.25 * t**4))
            ok &= np.isfinite(g[..., 0]) & np.isfinite(g[..., 1])
        k = A.shape[1]
        flat = aty.reshape(-1, k)
        coef = flat @ inv  # [B M 2, k] (inv is symmetric)
        fitted = np.einsum("ij,ij->i", coef, flat).reshape(B, M, 2)
        coef = coef.reshape(B, M, 2, k)
        rss = np.maximum(yy - fitted[..., 0] - fitted[..., 1], 0.0)
        dof = 2 * (L + R - A.shape[1])
        sigma = np.maximum(np.sqrt(rss / max(dof, 1)), floor)
        diff = coef[..., ir] - coef[..., iv]
        dv = np.hypot(diff[..., 0], diff[..., 1])
        wald = np.where(ok, dv / (sigma * np.sqrt(var)), np.nan)
        # free flight on both sides: the fit's residual is the track's noise, not a misfit
        wald[ok & (sigma > CLEAN_FACTOR * floor)] = np.nan
        # a sudden change, not a smooth one: where the test passes, the contact must also fit
        # better than one polynomial with as many parameters (non-ballistic motion)
        rows, cols = np.nonzero(wald >= gate)
        if rows.size:
            fall = gravity[cols] if kind in (LAND, FALL) else None
            starts = rows + 1 - L + 1
            smooth = _smooth_rss(y, starts, cols, L, R, A.shape[1] - 1, fall, _falling(kind, L, R))
            gain = np.sqrt(np.maximum(smooth - rss[rows, cols], 0.0)) / sigma[rows, cols]
            weak = gain < SMOOTH_GAIN
            if fall is not None:  # nor smooth motion without that free fall (at rest, rolling)
                still = _smooth_rss(y, starts, cols, L, R, A.shape[1] - 1, None, None)
                weak |= np.sqrt(np.maximum(still - rss[rows, cols], 0.0)) / sigma[rows, cols] < REST_GAIN
            wald[rows[weak], cols[weak]] = np.nan
        snr_out[index] = wald
        dv_out[index] = np.where(ok, dv, np.nan)
    return snr_out, dv_out


def _falling(kind: str, L: int, R: int) -> np.ndarray:
    """``[L + R]`` bool: the frames a model takes in free fall with the track's flight acceleration."""
    return np.arange(L + R) < (L if kind == LAND else L + R if kind == FALL else 0)


def _smooth_rss(
    y: np.ndarray,
    starts: np.ndarray,
    cols: np.ndarray,
    L: int,
    R: int,
    degree: int,
    fall: np.ndarray | None,
    falls: np.ndarray | None,
) -> np.ndarray:
    """``[K]`` residual sum of squares of one polynomial of ``degree`` over ``L + R`` frames from ``starts``.

    ``y`` ``[T, M, 2]`` (centred), ``starts`` / ``cols`` ``[K]`` first frames and tracks; with
    ``fall`` ``[K, 2]`` (px/frame²) the frames ``falls`` ``[L + R]`` are taken in free fall first (as
    the :data:`LAND` / :data:`FALL` models see them).
    """
    n = L + R
    t = np.arange(n) - (L - 0.5)
    V = np.stack([t**j for j in range(degree + 1)], 1)  # [n, d + 1]
    Pm = np.eye(n) - V @ np.linalg.pinv(V)  # residual projector (symmetric)
    win = y[starts[:, None] + np.arange(n), cols[:, None]]  # [K, n, 2]
    if fall is not None:
        win = win - np.where(falls, 0.5 * t * t, 0.0)[None, :, None] * fall[:, None, :]
    resid = Pm @ win
    return np.sum(resid * resid, axis=(-1, -2))


def window_fit(
    points: np.ndarray,
    visible: np.ndarray,
    bracket: int,
    model: tuple[str, int, int],
    noise_px: float,
    gravity: np.ndarray | None = None,
    gate: float = 0.0,
) -> tuple[float, float]:
    """``(snr, |Δv| px/frame)`` of one model at one bracket of one track, as :func:`scan_models` sees it.

    ``points`` ``[T, 2]``, ``visible`` ``[T]``, ``gravity`` ``[2]`` (for :data:`LAND`). NaN when the
    window leaves the clip or holds an invisible frame.
    """
    T = points.shape[0]
    _, L, R = model
    lo, hi = bracket - L, min(bracket + R + 2, T - 1)
    if lo < 0 or bracket + R > T - 1:
        return float("nan"), float("nan")
    g = None if gravity is None else np.asarray(gravity, dtype=np.float64)[None]
    r, d = scan_models(
        points[lo : hi + 1, None], visible[lo : hi + 1, None], np.array([noise_px]), [model], g, gate
    )
    return float(r[0, L - 1, 0]), float(d[0, L - 1, 0])


#: Fewest frames on a side when a contact is placed (:func:`locate_contact`), per model.
_LOCATE_SIDE = {FREE: 3, SHARED: 2, LAND: 1, FALL: 1, ROLL: 1}


def locate_contact(
    points: np.ndarray,
    visible: np.ndarray,
    first: int,
    last: int,
    kind: str,
    near: int,
    gravity: np.ndarray | None = None,
    reach: int = 2,
) -> float:
    """Contact time (frames) of one model on the fixed frames ``first .. last``: least residual.

    ``points`` ``[T, 2]``, ``visible`` ``[T]``. Every contact ``j + φ`` with ``j`` within ``reach``
    brackets of ``near`` and ``φ`` in 0.05, 0.15, .., 0.95 splits the visible frames into the two
    sides of ``kind`` (:data:`FREE` / :data:`SHARED` / :data:`LAND`; ``gravity`` ``[2]`` for the
    landing's left side); the contact with the least squared residual wins (a change-point estimate
    on the same data, unlike the scan, whose windows move with the bracket). ``near + 0.5`` when no
    split leaves enough frames on both sides.
    """
    frames = np.arange(max(first, 0), min(last, points.shape[0] - 1) + 1)
    frames = frames[visible[frames]]
    best, where = np.inf, near + 0.5
    minimum = _LOCATE_SIDE[kind]
    for j in range(near - reach, near + reach + 1):
        nl = int(np.sum(frames <= j))
        if nl < minimum or frames.size - nl < max(minimum, 2):
            continue
        for phi in np.arange(0.05, 1.0, 0.1):
            t = frames - (j + phi)
            left = np.arange(frames.size) < nl
            y = points[frames].astype(np.float64)
            half = 0.5 * t * t
            if kind == FREE:
                cols = [np.ones_like(t), t * left, half * left, t * ~left, half * ~left]
            elif kind == SHARED:
                cols = [np.ones_like(t), t * left, t * ~left, half]
            elif kind == LAND:
                cols = [np.ones_like(t), t * left, t * ~left, half * ~left]
                if gravity is not None:
                    y = y - (half * left)[:, None] * np.asarray(gravity, dtype=np.float64)
            else:
                cols = [np.ones_like(t), t * left, t * ~left]
                if gravity is not None and kind == FALL:
                    y = y - half[:, None] * np.asarray(gravity, dtype=np.float64)
            A = np.stack(cols, 1)
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            rss = float(np.sum((y - A @ coef) ** 2))
            if rss < best:
                best, where = rss, j + float(phi)
    return where


# ----------------------------------------------------------------------------- landing into rest

#: A landing into rest must fit better than every model without it by this many noise units
#: (``sqrt(ΔRSS) / σ``; see :func:`landing_fit`).
LANDING_GAIN = 3.5
#: Fewest frames of the hop before a landing (so the hop is tested as free flight: 3 positions for
#: 2 unknowns per coordinate).
MIN_HOP = 3
#: A landing's velocity change points against gravity within 45° (the floor stops the fall).
LANDING_COS = float(np.cos(np.pi / 4))


def landing_fit(
    points: np.ndarray,
    visible: np.ndarray,
    first: int,
    last: int,
    gravity: np.ndarray,
    noise_px: float,
    max_hop: int,
) -> tuple[float, np.ndarray, float, float]:
    """The best landing into rest on frames ``first .. last`` right after a contact: ``(c, dv, gain, snr)``.

    ``points`` ``[T, 2]`` px, ``visible`` ``[T]``; ``first`` is the first frame after a contact (a
    rebound), ``gravity`` ``[2]`` px/frame² the track's flight acceleration
    (:func:`flight_acceleration`). The model: free fall with that acceleration from ``first`` to the
    landing at ``c = j + φ`` (a hop of 2 to ``max_hop`` frames: ``j`` in ``first + 1 ..
    first + max_hop - 1``, ``φ`` in 0.05 .. 0.95), then no acceleration (at rest, or rolling on the
    floor) on at least 3 frames; per coordinate one position at ``c``, a velocity per side::

        p(t) = p_c + v_L (t - c) + g (t - c)² / 2   (t <= j),     p(t) = p_c + v_R (t - c)   (t > j)

    ``c`` is the least-squares change point. Against the models without a landing on the same frames
    — no acceleration throughout (it landed at the contact), free fall throughout (still in the air),
    one parabola — ``gain = sqrt(RSS_null - RSS) / σ`` with ``RSS_null`` the least of theirs and ``σ``
    the larger of ``noise_px`` and the landing fit's residual RMS; ``snr = |Δv| / SE`` of
    ``Δv = v_R - v_L`` (px/frame). Gain 0 (and NaN ``c``) when there are too few frames, the fit is
    not clean (residual RMS over :data:`CLEAN_FACTOR` noises) or the object does not move along
    ``gravity`` before the landing.
    """
    from scipy.optimize import minimize_scalar

    none = (float("nan"), np.full(2, np.nan), 0.0, 0.0)
    frames = np.arange(max(first, 0), min(last, points.shape[0] - 1) + 1)
    if frames.size < 5 or not np.all(np.isfinite(gravity)) or not visible[frames].all():
        return none
    g = np.asarray(gravity, dtype=np.float64)
    y = points[frames].astype(np.float64)
    floor = max(float(noise_px), NOISE_FLOOR_PX)
    n = frames.size
    t0 = frames - frames.mean()

    def rss(A: np.ndarray, target: np.ndarray) -> float:
        coef, *_ = np.linalg.lstsq(A, target, rcond=None)
        r = target - A @ coef
        return float(np.sum(r * r))

    one = np.ones(n)
    null = min(
        rss(np.stack([one, t0], 1), y),
        rss(np.stack([one, t0], 1), y - 0.5 * (t0 * t0)[:, None] * g),
        rss(np.stack([one, t0, t0 * t0], 1), y),
    )

    def fit(c: float) -> tuple[float, np.ndarray, np.ndarray]:
        """``(RSS, coef [3, 2], A)`` of the landing at ``c`` (frames ``<= floor(c)`` in the hop)."""
        t = frames - c
        left = frames <= np.floor(c)
        A = np.stack([one, t * left, t * ~left], 1)
        target = y - (0.5 * t * t * left)[:, None] * g
        coef, *_ = np.linalg.lstsq(A, target, rcond=None)
        r = target - A @ coef
        return float(np.sum(r * r)), coef, A

    grid = [
        j + float(phi)
        for j in range(first + MIN_HOP - 1, min(first + max_hop - 1, frames[-1] - 3) + 1)
        for phi in np.arange(0.05, 1.0, 0.1)
    ]
    if not grid:
        return none
    c = min(grid, key=lambda x: fit(x)[0])
    j = np.floor(c)  # refine within the bracket: the phase grid alone leaves a misfit on exact tracks
    c = float(minimize_scalar(lambda x: fit(x)[0], bounds=(j + 1e-6, j + 1 - 1e-6), method="bounded").x)
    value, coef, A = fit(c)
    rms = np.sqrt(value / (2 * (n - 3)))
    dv = coef[2] - coef[1]
    down = g / max(float(np.linalg.norm(g)), 1e-12)
    if rms > CLEAN_FACTOR * floor or float(np.dot(coef[1], down)) <= 0.0:
        return none
    if -float(np.dot(dv, down)) < LANDING_COS * float(np.linalg.norm(dv)):  # not stopped by the floor
        return none
    sigma = max(floor, float(rms))
    inv = np.linalg.inv(A.T @ A)
    se = sigma * float(np.sqrt(inv[1, 1] + inv[2, 2] - 2.0 * inv[1, 2]))
    gain = float(np.sqrt(max(null - value, 0.0))) / sigma
    return c, dv, gain, float(np.linalg.norm(dv)) / se
