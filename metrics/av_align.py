"""AV-Align — audio peaks vs optical-flow peaks (Yariv et al., "Diverse and Aligned
Audio-to-Video Generation via Text-to-Video Model Adaptation", AAAI 2024; metric as released
with their TempoTokens code).

Definition (as in that work):

- video: per-frame motion ``f_t`` = mean Farneback optical-flow magnitude (pixels/frame)
  between grayscale frames ``t-1`` and ``t`` (``cv2.calcOpticalFlowFarneback`` with
  pyr_scale 0.5, levels 3, winsize 15, iterations 3, poly_n 5, poly_sigma 1.2, flags 0);
  frame 0 reuses the flow of (0, 1). Video peaks are the strict local maxima
  ``f_{t-1} < f_t > f_{t+1}`` at times ``t / fps``.
- audio: peaks are the audio onsets (:func:`metrics.onsets.detect_onsets`; the original uses
  librosa's default onset detection at 22.05 kHz — we use Kinesonic's shared onset parameters).
- an audio peak ``a`` hits when a video peak ``v`` lies strictly within one frame:
  ``|a - v| < 1 / fps``. With ``I`` hits::

      AV-Align = I / (|A| + |V| - I)          (IoU, in [0, 1], higher is better)

Speed: frames whose longer side exceeds ``max_side`` (default 128 px) are downscaled (area
interpolation) before the flow, and magnitudes are scaled back to pixels of the original frame.
Only the *times* of flow peaks enter AV-Align, and a uniform rescale keeps them; pass
``max_side=None`` for full-resolution flow as in the original.

Deviations, both stated: (1) each video peak may be hit by at most one audio peak (a
one-to-one matching, found greedily in time order, which is maximal for interval windows on a
line); the released code counts every audio peak with *some* video peak in its window, so three
onsets around one flow peak would give IoU 3/1 = 3. (2) Both sets empty -> 0 (the released
code divides by zero).
"""

from __future__ import annotations

import numpy as np

FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
DEFAULT_MAX_SIDE = 128


def _to_gray_u8(frames: np.ndarray) -> np.ndarray:
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] not in (1, 3):
        raise ValueError(f"frames must be [T,H,W,3] (or [T,H,W,1]), got shape {f.shape}")
    if f.dtype != np.uint8:
        f = np.clip(np.rint(np.asarray(f, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    if f.shape[-1] == 1:
        return f[..., 0]
    # ITU-R BT.601 luma, as cv2.cvtColor(RGB2GRAY); frames are RGB (ComfyUI / PyAV order)
    g = 0.299 * f[..., 0].astype(np.float32) + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


def flow_magnitudes(frames: np.ndarray, max_side: int | None = DEFAULT_MAX_SIDE) -> np.ndarray:
    """Per-frame mean optical-flow magnitude ``[T]`` (pixels/frame) of RGB frames ``[T,H,W,3]``.

    ``frames`` are uint8 0..255 or float 0..1. ``f_0 = f_1`` (flow of the first pair), and a
    single frame gives ``[0]``. Frames larger than ``max_side`` are analysed downscaled and the
    magnitudes multiplied back by the scale (``None`` = full resolution).
    """
    import cv2

    gray = _to_gray_u8(frames)
    t, h, w = gray.shape
    if t < 2:
        return np.zeros(t)
    scale = 1.0
    if max_side is not None and max(h, w) > int(max_side):
        scale = max(h, w) / float(max_side)
        size = (max(1, round(w / scale)), max(1, round(h / scale)))
        gray = np.stack([cv2.resize(g, size, interpolation=cv2.INTER_AREA) for g in gray])
    mags = np.zeros(t)
    for i in range(1, t):
        flow = cv2.calcOpticalFlowFarneback(gray[i - 1], gray[i], None, **FARNEBACK)
        mags[i] = float(np.mean(np.hypot(flow[..., 0], flow[..., 1])))
    mags[0] = mags[1]
    return mags * scale


def local_max_times(values: np.ndarray, fps: float) -> np.ndarray:
    """Times ``t / fps`` (seconds) of strict local maxima ``v[t-1] < v[t] > v[t+1]``, 0 < t < T-1."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size < 3:
        return np.zeros(0)
    idx = np.nonzero((v[1:-1] > v[:-2]) & (v[1:-1] > v[2:]))[0] + 1
    return idx / float(fps)


def av_align_iou(
    audio_peaks: np.ndarray | list[float], video_peaks: np.ndarray | list[float], fps: float
) -> float:
    """AV-Align IoU ``I / (|A| + |V| - I)`` with hits ``|a - v| < 1/fps`` matched one-to-one."""
    a = np.sort(np.asarray(audio_peaks, dtype=np.float64).reshape(-1))
    v = np.sort(np.asarray(video_peaks, dtype=np.float64).reshape(-1))
    if a.size + v.size == 0:
        return 0.0
    win = 1.0 / float(fps)
    used = np.zeros(v.size, dtype=bool)
    hits = 0
    for t in a:
        # earliest unused video peak inside the open window (t - win, t + win)
        cand = np.nonzero(~used & (np.abs(v - t) < win))[0]
        if cand.size:
            used[cand[0]] = True
            hits += 1
    return hits / (a.size + v.size - hits)


def av_align(
    frames: np.ndarray,
    fps: float,
    audio_onsets_s: np.ndarray | list[float],
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> tuple[float, np.ndarray, np.ndarray]:
    """AV-Align of a clip: ``(iou, flow_magnitudes [T], video_peak_times)`` given audio onsets (s)."""
    mags = flow_magnitudes(frames, max_side)
    peaks = local_max_times(mags, fps)
    return av_align_iou(audio_onsets_s, peaks, fps), mags, peaks
