"""Weight-free point tracking: pyramidal Lucas-Kanade with a forward-backward check.

Each query point (an object centre) is followed through a small set of *support* points on the
object: Shi-Tomasi corners inside the object's mask (or, without a mask, a ring of points around
the centre). Every frame step, the support points are tracked forward with pyramidal LK and
back again; a support point survives if both passes succeed and it returns within
``fb_threshold`` pixels of where it started. The centre moves by the median displacement of the
surviving support points, and is *visible* in a frame when at least ``min_support`` of them
survive. When fewer than half survive, new support points are detected around the current
centre; an object that loses all of them stays invisible for the rest of the clip.

For static-camera clips :func:`blob_track` combines LK with foreground blobs: each frame an
object claims the foreground component next to its LK prediction and takes its centroid (exact
for a separated rigid object); LK carries it where no blob is available.

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
AREA_RANGE = (0.8, 1.25)  # blob_track: a claimed blob's area relative to the object's frame-0 area
COLOUR_TOLERANCE = 40.0  # blob_track: max per-channel difference (0..255) of mean blob / object colour


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
            # replenish the support of a still-visible object; a lost object stays lost (LK cannot
            # re-identify it, and fresh points at its last position would lock onto the background)
            if visible[t, n] and len(support[n]) < max(min_support, initial[n] // 2):
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
                if len(fresh):
                    support[n] = np.concatenate([support[n], fresh], axis=0)[:MAX_SUPPORT]
        tracks[t] = centre
        report(callback, t, T - 1)
    return tracks, visible


def blob_track(
    frames: Any,
    points: Any,
    masks: Any,
    background: np.ndarray,
    threshold: float = 0.0,
    min_area: int = 12,
    win_size: int = DEFAULT_WIN_SIZE,
    max_level: int = DEFAULT_MAX_LEVEL,
    fb_threshold: float = DEFAULT_FB_THRESHOLD,
    callback: Callback = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Static-camera tracking: foreground blobs associated frame to frame, Lucas-Kanade in between.

    Every frame, the foreground (difference to ``background``) is split into connected
    components. Each object's position is predicted by LK on its support points (initialised
    with the object's last velocity), or by constant velocity when LK fails; the nearest
    whose area is 0.8x to 1.25x the object's
    frame-0 area and whose mean colour is within 40 levels of the object's frame-0 mean colour is
    claimed (nearest pairs first, each component once; the colour test rejects background "ghosts"
    and blobs of merged objects). A claimed object takes
    the component's centroid (exact for a separated rigid object) and new support points inside
    it; an object without a component (merged with another, or at rest where the background
    model holds it) takes the LK estimate; without either it is invisible at that frame, coasts
    at constant velocity for up to 3 frames and then waits at its last seen position (the search
    gate keeps growing, so it is picked up again when it reappears).

    Args:
        frames: ``[T, H, W, 3]``; points: ``[N, 2]`` frame-0 centres (px); masks: ``[N, H, W]``
            frame-0 masks; background: ``[H, W, 3]`` 0..255 (e.g. the temporal median).
        threshold: foreground threshold (0 = automatic); min_area: smallest component (px).
        win_size, max_level, fb_threshold: LK settings as in :func:`lk_track`.
        callback: ``callback(done, total)`` per frame step.

    Returns:
        ``(tracks float64 [T, N, 2] pixel (x, y), visible bool [T, N])``; frame 0 returns the
        given centres, visible.
    """
    cv2 = require("cv2")
    from .segment import foreground_mask

    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    queries = as_points(points)
    N = len(queries)
    obj_masks = as_masks(masks, H, W)
    if len(obj_masks) != N:
        raise PerceptionError(f"blob_track: {len(obj_masks)} masks for {N} points")
    tracks = np.zeros((T, N, 2))
    visible = np.zeros((T, N), dtype=bool)
    tracks[0], visible[0] = queries, True
    if N == 0 or T == 1:
        return tracks, visible
    gray = _gray(frames)
    lk = dict(
        winSize=(win_size, win_size),
        maxLevel=max_level,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )
    areas = obj_masks.reshape(N, -1).sum(axis=1).astype(np.float64)
    obj_sizes = np.sqrt(np.maximum(areas, 1.0))
    colours = np.stack([frames[0][m].mean(axis=0) if m.any() else np.zeros(3) for m in obj_masks])
    support = [_support_points(cv2, gray[0], obj_masks[n], queries[n]) for n in range(N)]
    centre = queries.copy()
    velocity = np.zeros((N, 2))
    missed = np.zeros(N, dtype=int)
    last_seen = queries.copy()
    for t in range(1, T):
        # 1. LK prediction from the support points, started at the constant-velocity guess
        lk_centre = np.full((N, 2), np.nan)
        counts = [len(sp) for sp in support]
        if sum(counts):
            p0 = np.concatenate([sp for sp in support if len(sp)], axis=0)
            p0 = p0.reshape(-1, 1, 2).astype(np.float32)
            guess = p0 + np.repeat(velocity, counts, axis=0).reshape(-1, 1, 2).astype(np.float32)
            p1, st1, _ = cv2.calcOpticalFlowPyrLK(gray[t - 1], gray[t], p0, guess.copy(), **lk)
            back = p0.copy()
            p0b, st2, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[t - 1], p1, back, **lk)
            fb = np.linalg.norm((p0b - p0).reshape(-1, 2), axis=1)
            good = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < fb_threshold)
            start = 0
            for n in range(N):
                sl = slice(start, start + counts[n])
                start += counts[n]
                ok = good[sl]
                if counts[n] and ok.sum() >= min(DEFAULT_MIN_SUPPORT, counts[n]):
                    lk_centre[n] = centre[n] + np.median((p1[sl, 0] - p0[sl, 0])[ok], axis=0)
                    support[n] = p1[sl, 0][ok]
                else:
                    support[n] = support[n][:0]
        predicted = np.where(np.isnan(lk_centre), centre + velocity, lk_centre)
        # 2. associate foreground components with the predictions
        fg = foreground_mask(frames[t], background, threshold)
        count, labels, stats, cents = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        flat = labels.ravel()
        sizes = np.maximum(np.bincount(flat, minlength=count), 1).astype(np.float64)
        comp_colours = np.stack(
            [np.bincount(flat, frames[t][..., ch].ravel(), minlength=count) / sizes for ch in range(3)],
            axis=1,
        )
        pairs = []
        for c in range(1, count):
            area = stats[c, cv2.CC_STAT_AREA]
            if area < min_area:
                continue
            dist = np.minimum(
                np.linalg.norm(predicted - cents[c], axis=1), np.linalg.norm(last_seen - cents[c], axis=1)
            )
            colour_diff = np.abs(colours - comp_colours[c]).max(axis=1)
            for n in range(N):
                if (
                    dist[n] <= max(12.0, obj_sizes[n] + np.linalg.norm(velocity[n])) * (1 + missed[n])
                    and AREA_RANGE[0] * areas[n] <= area <= AREA_RANGE[1] * areas[n]
                    and colour_diff[n] <= COLOUR_TOLERANCE
                ):
                    pairs.append((dist[n], n, c))
        claimed_obj, claimed_comp = set(), set()
        new_centre = centre.copy()
        for _, n, c in sorted(pairs):
            if n in claimed_obj or c in claimed_comp:
                continue
            claimed_obj.add(n)
            claimed_comp.add(c)
            new_centre[n] = cents[c]
            visible[t, n] = True
            support[n] = _support_points(cv2, gray[t], labels == c, cents[c])
        for n in range(N):
            if n in claimed_obj:
                continue
            if not np.isnan(lk_centre[n, 0]):
                new_centre[n] = lk_centre[n]
                visible[t, n] = True
            else:
                new_centre[n] = centre[n] + velocity[n] if missed[n] < 3 else last_seen[n]
        for n in range(N):
            if visible[t, n]:
                velocity[n] = new_centre[n] - centre[n]
                missed[n] = 0
                last_seen[n] = new_centre[n]
            else:
                missed[n] += 1
                if missed[n] >= 3:
                    velocity[n] = 0.0
        centre = new_centre
        tracks[t] = centre
        report(callback, t, T - 1)
    return tracks, visible


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
