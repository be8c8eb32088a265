"""Weight-free point tracking: pyramidal Lucas-Kanade with a forward-backward check.

Each query point (an object centre) is followed through a small set of *support* points on the
object: Shi-Tomasi corners inside the object's mask (or, without a mask, a ring of points around
the centre). Every frame step, the support points are tracked forward with pyramidal LK and
back again; a support point survives if both passes succeed and it returns within
``fb_threshold`` pixels of where it started. The centre moves by the median displacement of the
surviving support points, and is *visible* in a frame when at least ``min_support`` of them
survive. When too few survive, support points are re-detected around the current centre.

For static-camera clips :func:`refine_with_foreground` then snaps each visible centre to the
centroid of the foreground component it overlaps (exact for a separated rigid object), keeping
the LK estimate plus the last offset where the component is ambiguous (merged objects).

Coordinates: pixel ``(x, y)``, pixel centres at integer coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Callback, PerceptionError, as_frames, as_masks, as_points, report, require

#: Default LK settings (documented in docs/extraction.md).
DEFAULT_WIN_SIZE = 15  # px, LK window side
DEFAULT_MAX_LEVEL = 3  # pyramid levels above the full image
DEFAULT_FB_THRESHOLD = 1.0  # px, forward-backward error above which a support point is dropped
DEFAULT_MIN_SUPPORT = 2  # surviving support points needed for a visible centre
DEFAULT_SUPPORT_RADIUS = 6.0  # px, ring of support points when no mask is given
MAX_SUPPORT = 40


def _gray(frames: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(frames.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)


def _ring(centre: np.ndarray, radius: float, count: int = 8) -> np.ndarray:
    angles = np.arange(count) * (2 * np.pi / count)
    ring = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.concatenate([centre[None], ring], axis=0)


def _support_points(cv2: Any, gray: np.ndarray, mask: np.ndarray | None, centre: np.ndarray) -> np.ndarray:
    """Support points ``float32 [M, 2]`` for one object on one gray frame."""
    H, W = gray.shape
    if mask is None or not mask.any():
        pts = _ring(centre, DEFAULT_SUPPORT_RADIUS)
    else:
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8))
        corners = cv2.goodFeaturesToTrack(
            gray, maxCorners=MAX_SUPPORT, qualityLevel=0.01, minDistance=2, mask=grown, blockSize=3
        )
        pts = np.zeros((0, 2)) if corners is None else corners.reshape(-1, 2).astype(np.float64)
        if len(pts) < 8:  # a textureless object: use points on its outline
            contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            outline = np.concatenate([c.reshape(-1, 2) for c in contours], axis=0).astype(np.float64)
            step = max(1, len(outline) // 16)
            pts = np.concatenate([pts, outline[::step]], axis=0)
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] <= W - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= H - 1)]
    return pts.astype(np.float32)


def lk_track(
    frames: Any,
    points: Any,
    masks: Any = None,
    win_size: int = DEFAULT_WIN_SIZE,
    max_level: int = DEFAULT_MAX_LEVEL,
    fb_threshold: float = DEFAULT_FB_THRESHOLD,
    min_support: int = DEFAULT_MIN_SUPPORT,
    callback: Callback = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Track query points from frame 0 with pyramidal Lucas-Kanade and a forward-backward check.

    Args:
        frames: ``[T, H, W, 3]`` uint8 or float 0..1.
        points: ``[N, 2]`` pixel ``(x, y)`` positions in frame 0 (object centres).
        masks: optional ``[N, H, W]`` frame-0 object masks (support points are found inside them).
        win_size: LK window side in pixels; max_level: pyramid levels.
        fb_threshold: forward-backward error (px) above which a support point is dropped.
        min_support: surviving support points needed for the centre to count as visible.
        callback: ``callback(done, total)`` per frame step.

    Returns:
        ``(tracks float64 [T, N, 2] pixel (x, y), visible bool [T, N])``; frame 0 returns the
        queries exactly and visible. Lost points keep their last position and are invisible.
    """
    cv2 = require("cv2")
    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    queries = as_points(points)
    N = len(queries)
    obj_masks = None if masks is None else as_masks(masks, H, W)
    if obj_masks is not None and len(obj_masks) != N:
        raise PerceptionError(f"lk_track: {len(obj_masks)} masks for {N} points")
    tracks = np.zeros((T, N, 2))
    visible = np.zeros((T, N), dtype=bool)
    tracks[0] = queries
    visible[0] = True
    if N == 0 or T == 1:
        report(callback, 1, 1)
        return np.repeat(tracks[:1], T, axis=0) if T > 1 else tracks, visible | (T == 1)
    gray = _gray(frames)
    lk = dict(
        winSize=(win_size, win_size),
        maxLevel=max_level,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
    )
    support = [
        _support_points(cv2, gray[0], None if obj_masks is None else obj_masks[n], queries[n])
        for n in range(N)
    ]
    initial = [max(len(s), 1) for s in support]
    centre = queries.copy()
    for t in range(1, T):
        counts = [len(s) for s in support]
        if sum(counts):
            p0 = np.concatenate([s for s in support if len(s)], axis=0).reshape(-1, 1, 2)
            p1, st1, _ = cv2.calcOpticalFlowPyrLK(gray[t - 1], gray[t], p0, None, **lk)
            p0b, st2, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[t - 1], p1, None, **lk)
            fb = np.linalg.norm((p0b - p0).reshape(-1, 2), axis=1)
            inside = (p1[:, 0, 0] >= 0) & (p1[:, 0, 0] <= W - 1) & (p1[:, 0, 1] >= 0) & (p1[:, 0, 1] <= H - 1)
            good = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < fb_threshold) & inside
            start = 0
            for n in range(N):
                c = counts[n]
                sl = slice(start, start + c)
                start += c
                ok = good[sl]
                need = min(min_support, initial[n])
                if c and ok.sum() >= need:
                    disp = (p1[sl, 0] - p0[sl, 0])[ok]
                    centre[n] = centre[n] + np.median(disp, axis=0)
                    visible[t, n] = True
                    support[n] = p1[sl, 0][ok]
                else:
                    support[n] = support[n][:0]
        for n in range(N):
            if len(support[n]) < max(min_support, initial[n] // 2):
                mask = None
                if obj_masks is not None:
                    shift = np.float32(
                        [[1, 0, centre[n, 0] - queries[n, 0]], [0, 1, centre[n, 1] - queries[n, 1]]]
                    )
                    mask = (
                        cv2.warpAffine(obj_masks[n].astype(np.uint8), shift, (W, H), flags=cv2.INTER_NEAREST)
                        > 0
                    )
                fresh = _support_points(cv2, gray[t], mask, centre[n])
                if visible[t, n] or len(support[n]) == 0:
                    support[n] = fresh if len(fresh) else support[n]
        tracks[t] = centre
        report(callback, t, T - 1)
    return tracks, visible


def refine_with_foreground(
    frames: Any,
    tracks: np.ndarray,
    visible: np.ndarray,
    masks: Any,
    background: np.ndarray,
    threshold: float = 0.0,
    min_area: int = 12,
    callback: Callback = None,
) -> np.ndarray:
    """Snap visible tracked centres to foreground-component centroids (static camera).

    For each frame the foreground (difference to ``background``) is split into connected
    components. Track n's frame-0 mask, shifted by its tracked displacement, selects the
    component it overlaps most; if that component is claimed by no other track, overlaps at
    least 30 % of the shifted mask and has 0.5x to 2x its area, the centre becomes the
    component's centroid. Elsewhere the LK centre plus the most recent snap offset is kept.

    Args:
        frames: ``[T, H, W, 3]``; tracks: ``[T, N, 2]`` px; visible: ``[T, N]``;
        masks: ``[N, H, W]`` frame-0 masks of the tracked objects; background: ``[H, W, 3]`` 0..255.

    Returns:
        refined ``float64 [T, N, 2]`` pixel (x, y) tracks (visibility unchanged).
    """
    cv2 = require("cv2")
    from .segment import foreground_mask

    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    obj_masks = as_masks(masks, H, W)
    N = tracks.shape[1]
    out = np.array(tracks, dtype=np.float64, copy=True)
    coords = [np.argwhere(m) for m in obj_masks]  # (row, col)
    areas = np.array([max(len(c), 1) for c in coords])
    offset = np.zeros((N, 2))
    for t in range(T):
        fg = foreground_mask(frames[t], background, threshold)
        count, labels, stats, cents = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        best = np.full(N, -1)
        for n in range(N):
            if not visible[t, n] or len(coords[n]) == 0:
                continue
            shift = tracks[t, n] - tracks[0, n]
            rows = np.rint(coords[n][:, 0] + shift[1]).astype(int)
            cols = np.rint(coords[n][:, 1] + shift[0]).astype(int)
            ok = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
            hit = labels[rows[ok], cols[ok]]
            hit = hit[hit > 0]
            if len(hit) == 0:
                continue
            lab = int(np.bincount(hit).argmax())
            overlap = int((hit == lab).sum())
            area = stats[lab, cv2.CC_STAT_AREA]
            if overlap >= 0.3 * areas[n] and 0.5 * areas[n] <= area <= 2.0 * areas[n] and area >= min_area:
                best[n] = lab
        claimed = np.bincount(best[best > 0], minlength=count)
        for n in range(N):
            if not visible[t, n]:
                continue
            if best[n] > 0 and claimed[best[n]] == 1:
                out[t, n] = cents[best[n]]
                offset[n] = out[t, n] - tracks[t, n]
            else:
                out[t, n] = tracks[t, n] + offset[n]
        report(callback, t + 1, T)
    return out


def masks_to_tracks(mask_video: Any, min_area: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mask centroids as tracks.

    Args:
        mask_video: ``[T, N, H, W]`` masks of N objects over T frames (bool or 0..1).
        min_area: frames where an object's mask is smaller are invisible.

    Returns:
        ``(tracks float64 [T, N, 2] pixel (x, y), visible bool [T, N])``; invisible frames hold the
        last visible centre (or the next one before the first).
    """
    from .segment import mask_centroids

    if hasattr(mask_video, "detach"):
        mask_video = mask_video.detach().cpu().numpy()
    mask_video = np.asarray(mask_video)
    if mask_video.ndim != 4:
        raise PerceptionError(f"masks_to_tracks: expected [T, N, H, W] masks, got shape {mask_video.shape}")
    T, N = mask_video.shape[:2]
    tracks = np.full((T, N, 2), np.nan)
    visible = np.zeros((T, N), dtype=bool)
    for t in range(T):
        centres, kept = mask_centroids(mask_video[t], min_area)
        tracks[t, kept] = centres
        visible[t, kept] = True
    return _hold(tracks, visible), visible


def _hold(tracks: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Fill invisible entries with the last visible value (the first visible one before it)."""
    out = tracks.copy()
    T, N = visible.shape
    for n in range(N):
        idx = np.flatnonzero(visible[:, n])
        if len(idx) == 0:
            out[:, n] = 0.0
            continue
        last = out[idx[0], n].copy()
        for t in range(T):
            if visible[t, n]:
                last = out[t, n].copy()
            else:
                out[t, n] = last
    return out
