"""Free-flight fits around contacts: is a velocity change large against the track's own noise?

:func:`flight_snr` checks one contact found by the 2-frame model; :func:`scan_tracks` runs the same
fit at every bracket of noisy tracks (the window scan of :mod:`.events`, step 6).

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
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN tracks
            centre = np.nanmedian(d3, axis=-1, keepdims=True)
            mad = np.nanmedian(np.abs(d3 - centre), axis=-1)
    return np.nan_to_num(1.4826 * mad / np.sqrt(20.0), nan=0.0)


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


#: Tracks whose white noise is at least this (px) also get the window scan (:func:`scan_tracks`);
#: exact tracks (the physics world, ~1e-5 px) are left to the exact 2-frame model.
SCAN_NOISE_PX = 0.02


def scan_tracks(
    points: np.ndarray, visible: np.ndarray, windows: tuple[int, ...], noise_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Free-flight ``snr`` and ``|Δv|`` (px/frame) at every bracket: ``([B, M], [B, M])``.

    ``points`` ``[T, M, 2]`` px, ``visible`` ``[T, M]``, ``noise_px`` ``[M]`` (:func:`white_noise_px`).
    Bracket ``b`` (row ``b - 1``, contact between frames ``b`` and ``b + 1``) is fitted as in
    :func:`flight_snr` with the contact at ``b + 0.5`` on ``W`` frames a side for each ``W`` in
    ``windows`` (the best ``snr`` wins; windows with an invisible frame are skipped, NaN). One
    matrix product per ``W``: the design matrix is the same at every bracket.
    """
    T, M = points.shape[:2]
    n_br = max(T - 3, 0)
    best_snr = np.full((n_br, M), np.nan)
    best_dv = np.full((n_br, M), np.nan)
    floor = np.maximum(np.asarray(noise_px, dtype=np.float64), NOISE_FLOOR_PX)  # [M]
    filled = np.where(visible[..., None], points, 0.0)
    mean = filled.sum(axis=0) / np.maximum(visible.sum(axis=0), 1)[:, None]
    centred = points - mean  # positions near 0: |y|² - coefᵀ G coef keeps its precision
    series = np.ascontiguousarray(
        np.transpose(np.where(visible[..., None], centred, 0.0), (1, 2, 0))
    )  # [M, 2, T]
    seen = np.ascontiguousarray(visible.T)  # [M, T]
    for W in windows:
        if 2 * W > T or n_br == 0:
            continue
        t = np.concatenate([np.arange(-W + 1, 1), np.arange(1, W + 1)]) - 0.5
        A = np.zeros((2 * W, 5))
        A[:, 0] = 1.0
        A[:W, 1], A[:W, 2] = t[:W], 0.5 * t[:W] ** 2
        A[W:, 3], A[W:, 4] = t[W:], 0.5 * t[W:] ** 2
        gram = A.T @ A
        inv = np.linalg.inv(gram)
        var = inv[1, 1] + inv[3, 3] - 2.0 * inv[1, 3]
        S = T - 2 * W + 1
        win = np.lib.stride_tricks.sliding_window_view(series, 2 * W, axis=-1)  # [M, 2, S, 2W]
        ok = np.lib.stride_tricks.sliding_window_view(seen, 2 * W, axis=-1).all(axis=-1).T  # [S, M]
        coef = win @ (inv @ A.T).T  # [M, 2, S, 5]
        # residual sum of squares of a least-squares fit: |y|² - coefᵀ G coef (|y|² by running sums)
        power = np.concatenate(
            [np.zeros((M, 1)), np.cumsum(np.sum(series * series, axis=1), axis=-1)], axis=-1
        )
        total = (power[:, 2 * W :] - power[:, :S]).T  # [S, M]
        rss = total - np.sum(np.sum((coef @ gram) * coef, axis=-1), axis=1).T
        sigma = np.maximum(np.sqrt(np.maximum(rss, 0.0) / (2 * (2 * W - 5))), floor)
        diff = coef[..., 3] - coef[..., 1]  # [M, 2, S]
        dv = np.sqrt(np.sum(diff * diff, axis=1)).T  # [S, M]
        snr = np.where(ok, dv / (sigma * np.sqrt(var)), np.nan)
        # window s starts at frame s: its bracket is s + W - 1 (row s + W - 2)
        rows = np.arange(snr.shape[0]) + W - 2
        keep = (rows >= 0) & (rows < n_br)
        rows = rows[keep]
        snr, dv = snr[keep], dv[keep]
        better = np.isfinite(snr) & ~(snr <= np.nan_to_num(best_snr[rows], nan=-np.inf))
        best_snr[rows] = np.where(better, snr, best_snr[rows])
        best_dv[rows] = np.where(better, dv, best_dv[rows])
    return best_snr, best_dv


def contact_phase(
    points: np.ndarray, visible: np.ndarray, bracket: int, lo: int, hi: int, window: int
) -> float:
    """Sub-frame phase ``φ`` in [0, 1) of a contact in ``bracket``: of 10 steps, the least misfit."""
    best, phase = np.inf, 0.5
    for phi in np.arange(0.05, 1.0, 0.1):
        k = bracket
        left = np.arange(max(lo, k - window + 1), k + 1)
        right = np.arange(k + 1, min(hi, k + window) + 1)
        frames = np.concatenate([left[visible[left]], right[visible[right]]])
        nl = int(np.sum(visible[left]))
        if nl < MIN_WINDOW - 1 or frames.size - nl < MIN_WINDOW - 1:
            return 0.5
        t = frames - (k + phi)
        A = np.zeros((frames.size, 5))
        A[:, 0] = 1.0
        A[:nl, 1], A[:nl, 2] = t[:nl], 0.5 * t[:nl] ** 2
        A[nl:, 3], A[nl:, 4] = t[nl:], 0.5 * t[nl:] ** 2
        coef, *_ = np.linalg.lstsq(A, points[frames], rcond=None)
        rss = float(np.sum((points[frames] - A @ coef) ** 2))
        if rss < best:
            best, phase = rss, float(phi)
    return phase
