"""What each row of the world table shows for one held-out clip: ``(frames, sound)`` to write and score.

Row kinds (:func:`row_media`), every model row through public :class:`~kinesonic.models.KinesonicModel`
methods only (``build_conditioning``, ``sample``, ``encode_*`` / ``decode_*``):

- ``"simulator"``: the clip's own frames and sound (the ground-truth row);
- ``"model"``: joint generation from the clip's first frame, caption and ground-truth tracks (Euler,
  video CFG 3, audio guidance off, as 'Generate Sounding Video');
- ``"codec"`` (opt-in): the simulator's frames, and the simulator's sound through the model's audio
  codec (``decode_audio(encode_audio(sound))``): the ceiling of the model's sound path;
- ``"jointcfg"`` (opt-in): as ``"model"`` with JointCFG (``guidance="joint"``, the same scales);
- ``"v2a"`` (opt-in): mode video-to-audio given ``encode_video`` of the simulator's frames; the row's
  video is the simulator's frames, its sound generated;
- ``"a2v"`` (opt-in): mode audio-to-video given ``encode_audio`` of the simulator's sound; the row's
  sound is the simulator's, its video generated. The table reads this row's visual events from the
  tracks measured on the generated video (:mod:`.world_table`).

The given modality of v2a / a2v is held at flow time ``cond_time`` (0 = clean), which must lie in
the range the model was trained with (:func:`kinesonic.models.trained_max_cond_time`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..models.checkpoint import check_cond_time
from ..models.sampling import DEFAULT_AUDIO_CFG, DEFAULT_VIDEO_CFG

#: Opt-in rows (``kinesonic eval --world --rows ...``) in table order, with their labels.
EXTRA_ROWS: dict[str, str] = {
    "codec": "simulator sound through the codec",
    "jointcfg": "JointCFG",
    "v2a": "video-to-audio",
    "a2v": "audio-to-video",
}
KINDS = ("simulator", "model", *EXTRA_ROWS)
VIDEO_CFG, AUDIO_CFG = DEFAULT_VIDEO_CFG, DEFAULT_AUDIO_CFG  # as the Generate nodes


def parse_rows(text: str) -> list[str]:
    """``"codec,v2a"`` / ``"all"`` / ``""`` → the opt-in row kinds in table order; ValueError naming
    an unknown one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(EXTRA_ROWS)
    unknown = [n for n in names if n not in EXTRA_ROWS]
    if unknown:
        raise ValueError(f"unknown row(s) {unknown}; choose from {list(EXTRA_ROWS)} or 'all'")
    return [k for k in EXTRA_ROWS if k in names]


def _to_frames(model: Any, latent: torch.Tensor, count: int) -> np.ndarray:
    video = model.decode_video(latent)[0].float().cpu().permute(1, 2, 3, 0).numpy()
    return (video[:count] * 255 + 0.5).clip(0, 255).astype(np.uint8)


def _to_audio(model: Any, latent: torch.Tensor) -> np.ndarray:
    return model.decode_audio(latent)[0].float().cpu().numpy().astype(np.float32)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` along axis 0 trimmed to ``n``, or extended by repeating its last item (frames) / zeros."""
    if x.shape[0] >= n:
        return x[:n]
    if x.ndim > 1:  # frames: hold the last one
        return np.concatenate([x, np.repeat(x[-1:], n - x.shape[0], axis=0)])
    return np.pad(x, (0, n - x.shape[0]))


def video_latent(model: Any, frames: np.ndarray, num_frames: int) -> torch.Tensor:
    """``encode_video`` of uint8 ``frames [T, H, W, 3]`` fitted to ``num_frames`` (last frame held)."""
    video = torch.from_numpy(_fit(frames, num_frames)).float().div(255.0).permute(3, 0, 1, 2)[None]
    return model.encode_video(video.to(device=model.device, dtype=model.dtype))


def audio_latent(model: Any, audio: np.ndarray, samples: int) -> torch.Tensor:
    """``encode_audio`` of mono ``audio [S]`` (at the model's rate) trimmed / zero-padded to ``samples``."""
    wave = torch.from_numpy(_fit(np.asarray(audio, np.float32), samples))[None]
    return model.encode_audio(wave.to(device=model.device, dtype=model.dtype))


@torch.no_grad()
def row_media(
    kind: str,
    model: Any,
    clip: Any,
    steps: int,
    seed: int,
    cond_time: float = 0.0,
    options: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``(frames uint8 [T,H,W,3], sound float32 [S] at the clip's rate, seconds or None)`` of row
    ``kind`` (:data:`KINDS`) for one world clip; ``model`` is unused for ``"simulator"``. The seconds
    are those of ``model.sample`` (the codec row: encode + decode)."""
    if kind not in KINDS:
        raise ValueError(f"row kind must be one of {KINDS}, got {kind!r}")
    if kind == "simulator":
        return clip.frames, clip.audio, None
    if model.cfg.sample_rate != clip.sample_rate and kind != "model":
        raise ValueError(
            f"the model's sound is at {model.cfg.sample_rate} Hz, the world clips' at {clip.sample_rate} Hz"
        )
    if kind == "codec":
        start = time.perf_counter()
        wave = torch.from_numpy(np.asarray(clip.audio, np.float32))[None]
        lat = model.encode_audio(wave.to(device=model.device, dtype=model.dtype))
        audio = _fit(_to_audio(model, lat), clip.audio.shape[0])
        return clip.frames, audio, time.perf_counter() - start
    first = torch.from_numpy(clip.frames[0]).float().permute(2, 0, 1) / 255.0
    cond = model.build_conditioning(first, clip.caption, clip.tracks, seed=seed)
    mode, guidance, given = "joint", "cfg", {}
    if kind == "jointcfg":
        guidance = "joint"
    elif kind == "v2a":
        mode = "v2a"
        given["video"] = video_latent(model, clip.frames, model.cfg.video_frames(cond.latent_frames))
    elif kind == "a2v":
        mode = "a2v"
        given["audio"] = audio_latent(model, clip.audio, model.cfg.audio_samples(cond.latent_frames))
    if mode != "joint":
        check_cond_time(model, cond_time)
        given["cond_time"] = float(cond_time)
    start = time.perf_counter()
    # options: other sampler settings (benchmarks/bench_guidance.py), e.g. audio_cfg or
    # video_guidance_region; the table itself uses none
    kwargs = {"video_cfg": VIDEO_CFG, "audio_cfg": AUDIO_CFG, **(options or {}), **given}
    lat = model.sample(cond, mode, steps, "euler", 1.0, guidance=guidance, seed=seed, **kwargs)
    seconds = time.perf_counter() - start
    count = clip.frames.shape[0]
    frames = clip.frames if mode == "v2a" else _to_frames(model, lat["video"], count)
    audio = clip.audio if mode == "a2v" else _to_audio(model, lat["audio"])
    return frames, audio, seconds
