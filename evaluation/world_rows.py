"""What each row of the world table shows for one held-out clip: ``(frames, sound)`` to write and score.

Row kinds (:func:`row_media`), every model row through public :class:`~kinesonic.models.KinesonicModel`
methods only (``build_conditioning``, ``sample``, ``encode_*`` / ``decode_*``):

- ``"simulator"``: the clip's own frames and sound (the ground-truth row);
- ``"model"``: joint generation from the clip's first frame, caption and ground-truth tracks (25
  Euler steps, video CFG 3, audio CFG 2, stochastic audio update at eta 1: :data:`SAMPLER`, as
  'Generate Sounding Video');
- ``"codec"`` (opt-in): the simulator's frames, and the simulator's sound through the model's audio
  codec (``decode_audio(encode_audio(sound))``): the ceiling of the model's sound path;
- ``"jointcfg"`` (opt-in): as ``"model"`` with JointCFG (``guidance="joint"``, the same scales);
- ``"v2a"`` (opt-in): mode video-to-audio given ``encode_video`` of the simulator's frames; the row's
  video is the simulator's frames, its sound generated;
- ``"a2v"`` (opt-in): mode audio-to-video given ``encode_audio`` of the simulator's sound; the row's
  sound is the simulator's, its video generated. The table reads this row's visual events from the
  tracks measured on the generated video (:mod:`.world_table`).
- ``"a2v_bed"`` / ``"a2v_demix"`` (opt-in): audio-to-video where the given sound is the simulator's
  sound with a held-out music bed at the clip's own RMS (:func:`bedded_sound`, as
  ``benchmarks/bench_demix.py``): the raw mixture, or the effects stem that the shipped separator
  (:func:`demixed_effects`) takes from it. Like ``"a2v"``, the row's sound is the simulator's own
  (clean) sound, so ETE says whether the generated video's events fall on the true impacts.
- ``"a2v_streams"`` (opt-in): as ``"a2v_demix"``, and the video attends only to the audio tokens
  where the effects stem is active (MTV's interval-limited attention, :mod:`kinesonic.models.streams`).
- ``"a2v_music"`` (opt-in): as ``"a2v_streams"``, and a model with a music FiLM (``cfg.music_film``)
  is also given the demixed music stem as its holistic music vector (MTV's music conditioning,
  :mod:`kinesonic.models.music_film`); a model without one samples exactly as ``"a2v_streams"``.
- ``"nophysics"`` (opt-in): as ``"model"`` without the physics input (the same weights; what the
  physics the model is given changes, paired with the model row; a model trained without physics is
  the ``no_physics`` ablation instead).
- ``"ode"`` (opt-in): as ``"model"`` with the deterministic sampler of earlier tables (the flow ODE,
  no audio guidance: :data:`ODE_SAMPLER`), paired with the model row: what the sampler changes.

The given modality of v2a / a2v is held at flow time ``cond_time`` (0 = clean), which must lie in
the range the model was trained with (:func:`kinesonic.models.trained_max_cond_time`).

Physics (``kinesonic eval --world --physics``, :func:`clip_physics`): every sampled row (model,
JointCFG, v2a, a2v) passes a PHYSICS dict to ``build_conditioning`` (per-object mass and per-frame
velocity; NaN = unknown, masked out by the model). ``"estimated"`` (default): estimated from the
held-out clip's rendered frames with the tracks the extraction pipeline measures on them
(:func:`estimated_physics`), as a user's clip would be; ``"simulator"``: the simulator's truth (what
the model was trained with); ``"none"``: no physics. A model trained without physics
(``no_physics`` in ``model.ablations``) gets none whatever the option (it samples as trained).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..models.checkpoint import check_cond_time
from ..models.sampling import DEFAULT_AUDIO_CFG, DEFAULT_AUDIO_NOISE, DEFAULT_VIDEO_CFG
from ..models.streams import stream_keep
from .physics import MATCH_PX_64  # frame-0 matching radius (px at 64 px), as `kinesonic physics eval`

#: Opt-in rows (``kinesonic eval --world --rows ...``) in table order, with their labels.
EXTRA_ROWS: dict[str, str] = {
    "codec": "simulator sound through the codec",
    "jointcfg": "JointCFG",
    "v2a": "video-to-audio",
    "a2v": "audio-to-video",
    "a2v_bed": "audio-to-video, music bed",
    "a2v_demix": "audio-to-video, music bed demixed",
    "a2v_streams": "audio-to-video, music bed demixed, stream intervals",
    "a2v_music": "audio-to-video, music bed demixed, stream intervals + music FiLM",
    "nophysics": "physics input off",
    "ode": "ODE sampler",
}
KINDS = ("simulator", "model", *EXTRA_ROWS)
#: Rows whose sampling takes the physics conditioning (the others show the simulator's frames/sound).
SAMPLED_KINDS = (
    "model", "jointcfg", "v2a", "a2v", "a2v_bed", "a2v_demix", "a2v_streams", "a2v_music", "nophysics", "ode",
)  # fmt: skip
#: Audio-to-video rows: the sound is given (held at ``cond_time``), the video generated and read back.
A2V_KINDS = ("a2v", "a2v_bed", "a2v_demix", "a2v_streams", "a2v_music")
#: Audio-to-video rows given the separator's stems of the bedded sound.
DEMIXED_KINDS = ("a2v_demix", "a2v_streams", "a2v_music")
#: Rows that hold a given modality at ``cond_time``.
GIVEN_KINDS = ("v2a", *A2V_KINDS)
#: Music-bed level of the bedded audio-to-video rows, dB RMS relative to the clip's own sound.
BED_DB = 0.0
#: Offset from a clip's seed to its music bed's seed (``with_bed``), so bed and clip draw apart.
BED_SEED_OFFSET = 7_000_000
#: ``--physics`` choices: where the model rows' PHYSICS comes from.
PHYSICS_SOURCES = ("estimated", "simulator", "none")
VIDEO_CFG, AUDIO_CFG = DEFAULT_VIDEO_CFG, DEFAULT_AUDIO_CFG  # as the Generate nodes
#: ``model.sample`` settings of the sampled rows (as the Generate nodes), and of the "ode" row.
SAMPLER: dict[str, Any] = {"video_cfg": VIDEO_CFG, "audio_cfg": AUDIO_CFG, "audio_noise": DEFAULT_AUDIO_NOISE}
ODE_SAMPLER: dict[str, Any] = {**SAMPLER, "audio_cfg": 1.0, "audio_noise": 0.0}


def row_sampler(kind: str) -> dict[str, Any] | None:
    """The ``model.sample`` settings a row kind samples with (None: it does not sample). Audio-to-video
    holds the sound, so only the video guidance matters there."""
    if kind not in SAMPLED_KINDS:
        return None
    if kind in A2V_KINDS:
        return {"video_cfg": VIDEO_CFG}
    return dict(ODE_SAMPLER if kind == "ode" else SAMPLER)


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


# ------------------------------------------------------------------------------------------ physics
def _unknown_physics(n: int, frames: int, fps: float, reason: str) -> dict[str, Any]:
    return {
        "masses_kg": np.full(n, np.nan),
        "velocity_mps": np.full((frames, n, 2), np.nan),
        "events": [],
        "fps": float(fps),
        "source": "estimated",
        "matched": [False] * n,
        "unknown": [reason],
    }


def estimated_physics(clip: Any) -> dict[str, Any]:
    """PHYSICS of a world clip estimated from its rendered frames, in the conditioning's object order.

    Tracks: the extraction pipeline on ``clip.frames`` (:func:`kinesonic.perception.extract_tracks`,
    defaults, filtered), each matched to a conditioning object by its frame-0 position (greedy
    nearest, within :data:`MATCH_PX_64` px at 64 px wide). :func:`kinesonic.physics.estimate_physics`
    runs on the matched tracks with the clip's caption as the prompt (materials and shapes from its
    words; nothing else given: the scale from gravity). An object without a matched track, and
    everything the estimator leaves unknown, is NaN: the model masks it out. Returns the estimate's
    PHYSICS dict (``masses_kg [N]``, ``velocity_mps [T, N, 2]`` m/s, ``events`` with object indices
    in the conditioning's order, ``fps``, ...) plus ``matched`` ([N] bool); all NaN when the
    extraction finds nothing usable (its reason in ``unknown``).
    """
    from ..perception import PerceptionError, extract_tracks
    from ..physics import PhysicsError, estimate_physics
    from .physics import _match

    cond = clip.tracks
    n, frames, fps = cond.num_tracks, cond.num_frames, float(cond.fps)
    try:
        ext = extract_tracks(clip.frames, fps).tracks(filtered=True)
    except (PerceptionError, ValueError) as error:
        return _unknown_physics(n, frames, fps, f"extraction: {error}")
    radius = MATCH_PX_64 * clip.frames.shape[2] / 64.0
    match = _match(np.asarray(ext.points[0]), np.asarray(cond.points[0]), radius)  # track -> object
    if not match:
        return _unknown_physics(n, frames, fps, "extraction: no track starts near a conditioning object")
    tracks_k = sorted(match)
    objects = [match[k] for k in tracks_k]
    try:
        est = estimate_physics(clip.frames, ext.select(tracks_k), prompt=clip.caption)
    except PhysicsError as error:
        return _unknown_physics(n, frames, fps, f"estimation: {error}")
    out = est.physics()
    # per estimated track -> per conditioning object (NaN / None for an object without a track)
    for key in ("masses_kg", "masses_range_kg", "sizes_m"):
        full = np.full((n, *np.shape(out[key])[1:]), np.nan)
        full[objects] = out[key]
        out[key] = full
    for key in ("velocity_mps", "sliding_speed_mps", "rolling_speed_mps"):
        full = np.full((frames, n, *np.shape(out[key])[2:]), np.nan)
        full[:, objects] = out[key]
        out[key] = full
    for key in ("labels", "materials", "material_sources", "material_probability", "shapes", "shape_sources"):
        items: list[Any] = [None] * n
        for j, value in zip(objects, out[key], strict=True):
            items[j] = value
        out[key] = items
    for event in out["events"]:  # object indices of the estimate's tracks -> the conditioning's
        event["indices"] = [objects[i] if i >= 0 else i for i in event.get("indices", [])]
    out["matched"] = [j in objects for j in range(n)]
    return out


def clip_physics(clip: Any, source: str) -> dict[str, Any] | None:
    """The PHYSICS dict the sampled rows of ``clip`` get for ``source`` (:data:`PHYSICS_SOURCES`):
    :func:`estimated_physics`, the simulator's ``clip.physics()``, or None."""
    if source not in PHYSICS_SOURCES:
        raise ValueError(f"physics must be one of {PHYSICS_SOURCES}, got {source!r}")
    if source == "none":
        return None
    if source == "simulator":
        return clip.physics()
    return estimated_physics(clip)


def physics_known(physics: dict[str, Any] | None, n: int) -> tuple[int, int, int, float]:
    """``(objects, objects with a known mass, objects with a known speed at some frame, fraction of
    object-frames with a known speed)`` of a PHYSICS dict for ``n`` conditioning objects (None: none
    known). Known = finite (and, for the mass, positive), as
    :func:`kinesonic.models.conditioning.physics_tensors` reads it."""
    if physics is None:
        return n, 0, 0, 0.0
    mass = np.asarray(physics["masses_kg"], dtype=np.float64).reshape(-1)
    speed_ok = np.isfinite(np.linalg.norm(np.asarray(physics["velocity_mps"], dtype=np.float64), axis=-1))
    return (
        int(mass.size),
        int(np.sum(np.isfinite(mass) & (mass > 0))),
        int(np.sum(speed_ok.any(0))),
        float(speed_ok.mean()) if speed_ok.size else 0.0,
    )


def row_physics(kind: str, model: Any, physics: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a row of ``kind`` passes to ``build_conditioning``: ``physics`` for a sampled row of a
    model trained with physics, else None (the simulator and codec rows sample nothing; a
    ``no_physics`` model was trained without; the ``"nophysics"`` row is the model without it)."""
    if kind not in SAMPLED_KINDS or kind == "nophysics" or model is None:
        return None
    if "no_physics" in getattr(model, "ablations", ()):
        return None
    return physics


# ------------------------------------------------------------------------------------------ media
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


def bedded_sound(clip: Any) -> np.ndarray:
    """The clip's 16 kHz sound plus a held-out music bed at :data:`BED_DB` re its RMS, float32 ``[S]``
    (music never used to train the separator; seed ``clip.seed +`` :data:`BED_SEED_OFFSET`)."""
    from ..separation.core import SAMPLE_RATE
    from ..separation.mixtures import with_bed

    if clip.sample_rate != SAMPLE_RATE:
        raise ValueError(f"the music-bed rows need {SAMPLE_RATE} Hz clips, got {clip.sample_rate} Hz")
    return with_bed(clip.audio, int(clip.seed) + BED_SEED_OFFSET, music_db=BED_DB).mixture


def separator_file() -> Any:
    """Path of the separator the ``"a2v_demix"`` row uses (the shipped one)."""
    from ..separation.separate import shipped_checkpoint_path

    return shipped_checkpoint_path()


def demixed_effects(sound: np.ndarray, sample_rate: int) -> np.ndarray:
    """The effects stem float32 ``[S]`` that the shipped separator (:func:`separator_file`) takes from
    mono ``sound [S]`` (:func:`kinesonic.separation.separate.effects_stem`)."""
    from ..separation.separate import effects_stem

    return effects_stem(np.asarray(sound, np.float32), sample_rate, "network")[0].astype(np.float32)


def demixed_stems(sound: np.ndarray, sample_rate: int) -> np.ndarray:
    """The speech, effects and music stems float32 ``[3, S]`` that the shipped separator takes from mono
    ``sound [S]`` (one separation; its effects stem is :func:`demixed_effects`)."""
    from ..separation.separate import get_separator, separate

    return separate(np.asarray(sound, np.float32)[None], sample_rate, get_separator("network"))[:, 0].astype(
        np.float32
    )


def given_sound(kind: str, clip: Any) -> np.ndarray:
    """The sound an audio-to-video row (:data:`A2V_KINDS`) is given: the simulator's, with a music
    bed, or that bedded sound's demixed effects stem (``"a2v_demix"``, ``"a2v_streams"``)."""
    if kind == "a2v":
        return clip.audio
    bedded = bedded_sound(clip)
    return bedded if kind == "a2v_bed" else demixed_effects(bedded, clip.sample_rate)


@torch.no_grad()
def row_media(
    kind: str,
    model: Any,
    clip: Any,
    steps: int,
    seed: int,
    cond_time: float = 0.0,
    options: dict[str, Any] | None = None,
    physics: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``(frames uint8 [T,H,W,3], sound float32 [S] at the clip's rate, seconds or None)`` of row
    ``kind`` (:data:`KINDS`) for one world clip; ``model`` is unused for ``"simulator"``. The seconds
    are those of ``model.sample`` (the codec row: encode + decode). ``physics``: the PHYSICS dict of
    the clip (:func:`clip_physics`), passed to ``build_conditioning`` as :func:`row_physics` says."""
    if kind not in KINDS:
        raise ValueError(f"row kind must be one of {KINDS}, got {kind!r}")
    if kind == "simulator":
        return clip.frames, clip.audio, None
    if kind == "nophysics":  # the model row without the physics input
        return row_media("model", model, clip, steps, seed, cond_time, options, None)
    if kind == "ode":  # the model row with the deterministic sampler
        return row_media(
            "model", model, clip, steps, seed, cond_time, {**(options or {}), **ODE_SAMPLER}, physics
        )
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
    options = dict(options or {})
    # options["tracks"] = "none" (studies only: benchmarks/bench_a2v_sound_only.py): the sampled row
    # gets no tracks, only the first frame, the caption, the physics and a given modality
    tracks = options.pop("tracks", "given")
    if tracks not in ("given", "none"):
        raise ValueError(f"options['tracks'] must be 'given' or 'none', got {tracks!r}")
    cond = model.build_conditioning(
        first, clip.caption, clip.tracks if tracks == "given" else None,
        physics=row_physics(kind, model, physics), seed=seed,
    )  # fmt: skip
    mode, guidance, given = "joint", "cfg", {}
    if kind == "jointcfg":
        guidance = "joint"
    elif kind == "v2a":
        mode = "v2a"
        given["video"] = video_latent(model, clip.frames, model.cfg.video_frames(cond.latent_frames))
    elif kind in A2V_KINDS:
        mode = "a2v"
        film = kind == "a2v_music" and model.cfg.music_film
        # a model with a music FiLM needs the music stem too: one separation gives both
        stems = demixed_stems(bedded_sound(clip), clip.sample_rate) if film else None
        sound = given_sound(kind, clip) if stems is None else stems[1]
        given["audio"] = audio_latent(model, sound, model.cfg.audio_samples(cond.latent_frames))
        if kind in ("a2v_streams", "a2v_music"):  # the video hears the effects stream only where it sounds
            keep = stream_keep(sound, model.cfg, model.cfg.audio_tokens(cond.latent_frames))
            cond = replace(cond, audio_keep=keep[None])  # moved with the rest by model.sample
        if film:  # and the music stem as one FiLM vector
            wave = torch.from_numpy(stems[2][: model.cfg.audio_samples(cond.latent_frames)].copy())[None]
            cond = cond.with_music(*model.music_vector(wave))
    if mode != "joint":
        check_cond_time(model, cond_time)
        given["cond_time"] = float(cond_time)
    start = time.perf_counter()
    # options: other sampler settings (benchmarks/bench_guidance.py), e.g. audio_cfg or
    # video_guidance_region; the table itself uses none
    kwargs = {**SAMPLER, **(options or {}), **given}
    solver, shift = kwargs.pop("solver", "euler"), float(kwargs.pop("shift", 1.0))
    lat = model.sample(cond, mode, steps, solver, shift, guidance=guidance, seed=seed, **kwargs)
    seconds = time.perf_counter() - start
    count = clip.frames.shape[0]
    frames = clip.frames if mode == "v2a" else _to_frames(model, lat["video"], count)
    audio = clip.audio if mode == "a2v" else _to_audio(model, lat["audio"])
    return frames, audio, seconds
