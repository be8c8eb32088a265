"""Generator nodes: load a Kinesonic model, build its conditioning, sample, decode, all-in-one.

Thin shells over ``models/`` (imported inside the functions): they check inputs, convert ComfyUI
sockets and report progress through the bridge.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from . import bridge
from .base import (
    CATEGORY_ROOT,
    CONDITIONING,
    KINEMATICS,
    LATENT,
    MODEL,
    PHYSICS,
    STEMS,
    TRACKS,
    NodeInputError,
)
from .sockets import audio_input, image_input

CATEGORY = f"{CATEGORY_ROOT}/Generate"
MODEL_KIND = "kinesonic"
MODEL_EXTENSIONS = (".safetensors",)
MODES = {"image_to_sounding_video": "joint", "video_to_audio": "v2a", "audio_to_video": "a2v"}
NO_MODELS = "(no .safetensors in models/kinesonic)"
# sampler defaults, equal to models.sampling.DEFAULT_VIDEO_CFG / DEFAULT_AUDIO_CFG / DEFAULT_AUDIO_NOISE
# (not imported here: node modules stay cheap to import; tests/test_models_nodes.py checks they agree)
VIDEO_CFG, AUDIO_CFG, AUDIO_NOISE = 3.0, 2.0, 1.0

_cache: dict[str, Any] = {}


def _model_names() -> list[str]:
    return bridge.list_models(MODEL_KIND, MODEL_EXTENSIONS) or [NO_MODELS]


def load_generator(node: str, input_name: str, name: str):
    """Load (and cache by path + mtime) the generator checkpoint ``name`` from the model folder."""
    from ..models import CheckpointError, load_checkpoint

    if name == NO_MODELS:
        folders = ", ".join(str(f) for f in bridge.model_folders(MODEL_KIND))
        raise NodeInputError(node, input_name, f"a generator .safetensors file in one of: {folders}", name)
    path = bridge.resolve_model(MODEL_KIND, name, node, input_name)
    key = f"{path}:{path.stat().st_mtime_ns}:{path.stat().st_size}"
    if _cache.get("key") != key:
        try:
            model = load_checkpoint(path)
        except CheckpointError as error:
            raise NodeInputError.because(node, input_name, error) from None
        _cache.clear()
        _cache.update(key=key, model=model)
    return _cache["model"]


def _check_model(node: str, model: Any) -> Any:
    from ..models import KinesonicModel

    if not isinstance(model, KinesonicModel):
        raise NodeInputError(node, "model", "a KINESONIC_MODEL from 'Load Generator'", model)
    return model


RESIZE_MODES = ("crop", "stretch", "pad")


def _resize_input() -> tuple:
    return (
        list(RESIZE_MODES),
        {
            "default": "crop",
            "tooltip": "How a first frame of another size is brought to the model's size (64x64 for "
            "the default tiny model): crop = cover and cut the centre, stretch = distort, pad = black "
            "bars. Tracks stay in pixels of the model's frame.",
        },
    )


def _first_frame(node: str, image: Any, cfg: Any, resize: str | None = None) -> torch.Tensor:
    """IMAGE ``[B, H, W, 3]`` → ``[3, H, W]`` (first batch item) at the model's size.

    ``resize`` (one of RESIZE_MODES) fits another size (media.image.fit_image); None refuses it.
    """
    frames = image_input(node, "first_frame", image)
    shape = tuple(frames.shape)
    if shape[1:3] != (cfg.height, cfg.width) and resize is not None:
        from ..media.image import fit_image

        if resize not in RESIZE_MODES:
            raise NodeInputError(node, "resize", f"one of {list(RESIZE_MODES)}", resize)
        fitted = fit_image(frames[0].numpy(), cfg.width, cfg.height, resize)
        return torch.from_numpy(np.ascontiguousarray(fitted)).permute(2, 0, 1).contiguous()
    if shape[1:3] != (cfg.height, cfg.width):
        raise NodeInputError(
            node,
            "first_frame",
            f"an image of {cfg.width}x{cfg.height} pixels (this model's size; resize or crop it first)",
            f"{shape[2]}x{shape[1]} pixels",
        )
    return frames[0].permute(2, 0, 1).contiguous()


def _tracks(node: str, tracks: Any, cfg: Any, width: int, height: int):
    from ..kinematics import Tracks

    if isinstance(tracks, Tracks):
        tr = tracks
    else:
        try:
            tr = Tracks.from_comfy(tracks, fps=cfg.fps, width=width, height=height)
        except ValueError as error:
            raise NodeInputError.because(node, "tracks", error) from None
    if (tr.width, tr.height) != (width, height):
        raise NodeInputError(
            node,
            "tracks",
            f"tracks in pixels of the model's {width}x{height} frame (Draw Trajectories' width and "
            "height, or the width/height given to Tracks from JSON / Coordinates)",
            f"{tr.width}x{tr.height}",
        )
    if abs(tr.fps - cfg.fps) > 1e-6:
        raise NodeInputError(
            node, "tracks", f"tracks at {cfg.fps:g} fps (the model's frame rate)", f"{tr.fps:g} fps"
        )
    tr = tr.drop_never_visible()
    if tr.num_tracks == 0:
        raise NodeInputError(node, "tracks", "at least one track that is visible somewhere", "none visible")
    if tr.num_frames < cfg.num_frames:
        # A few points (e.g. a 5-point path) would otherwise make a clip of that many frames.
        from ..kinematics.keyframes import stretch_to_frames

        print(
            f"[{node}] tracks have {tr.num_frames} frames, fewer than the model's clip of {cfg.num_frames} "
            f"frames ({cfg.num_frames / cfg.fps:.2f} s at {cfg.fps:g} fps): resampled to {cfg.num_frames} "
            "frames along the same paths",
            flush=True,
        )
        tr = stretch_to_frames(tr, cfg.num_frames)
    return tr


def _kinematics(node: str, kinematics: Any) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(kinematics, dict) or "state" not in kinematics:
        raise NodeInputError(
            node, "kinematics", 'a KINEMATICS dict with "state" [L, N, 8] on latent frames', kinematics
        )
    state = np.asarray(torch.as_tensor(kinematics["state"]).detach().cpu().numpy(), dtype=np.float64)
    mask = kinematics.get("mask", kinematics.get("visible"))
    if mask is not None:
        mask = np.asarray(torch.as_tensor(mask).cpu().numpy(), dtype=bool)
    return state, mask


def _physics(node: str, physics: Any) -> dict[str, Any]:
    """PHYSICS dict → the part the generator reads: ``masses_kg [N]`` (kg), ``velocity_mps [T, N, 2]``
    (m/s; NaN = not estimated) and ``fps`` (checked by :func:`kinesonic.models.conditioning.read_physics`)."""
    from ..models.conditioning import read_physics

    try:
        mass, vel, fps = read_physics(physics)
    except ValueError as error:
        raise NodeInputError.because(node, "physics", error) from None
    return {"masses_kg": mass, "velocity_mps": vel, "fps": fps}


def build_conditioning(
    node: str,
    model: Any,
    first_frame: Any,
    prompt: str,
    tracks: Any = None,
    kinematics: Any = None,
    seed: int = 0,
    physics: Any = None,
    resize: str | None = None,
) -> dict[str, Any]:
    """Shared by the conditioning and all-in-one nodes: KINESONIC_CONDITIONING dict."""
    cfg = model.cfg
    img = _first_frame(node, first_frame, cfg, resize)
    tr = None if tracks is None else _tracks(node, tracks, cfg, cfg.width, cfg.height)
    state = mask = None
    if kinematics is not None:
        state, mask = _kinematics(node, kinematics)
    phys = None if physics is None else _physics(node, physics)
    try:
        cond = model.build_conditioning(
            img, str(prompt or ""), tr, kinematics=state, kinematics_mask=mask, physics=phys, seed=int(seed)
        )
    except ValueError as error:
        raise NodeInputError.because(
            node, "kinematics" if kinematics is not None else "tracks", error
        ) from None
    frames = cfg.video_frames(cond.latent_frames)
    return {"conditioning": cond, "num_frames": frames, "fps": cfg.fps, "prompt": str(prompt or "")}


def _clip_sound(
    node: str, input_name: str, wave: np.ndarray, rate: int, cfg: Any, samples: int
) -> np.ndarray:
    """Mono float32 ``[samples]`` at the model's rate from ``wave [C, S]`` at ``rate`` (trimmed, or
    padded with silence, to the clip length)."""
    if wave.shape[-1] < 1:
        raise NodeInputError(node, input_name, "a waveform with at least one sample", wave.shape)
    mono = torch.from_numpy(wave).mean(0).numpy()
    if rate != cfg.sample_rate:
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=cfg.sample_rate)
    out = np.zeros(samples, np.float32)
    n = min(samples, mono.shape[0])
    out[:n] = mono[:n]
    return out


def _encode_sound(model: Any, sound: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return model.encode_audio(torch.from_numpy(sound)[None].to(device=model.device, dtype=model.dtype))


def _audio_latent(node: str, model: Any, audio: Any, samples: int) -> torch.Tensor:
    wave, rate = audio_input(node, "audio", audio)  # first batch item [C, S]
    return _encode_sound(model, _clip_sound(node, "audio", wave, rate, model.cfg, samples))


def _stems_latent(
    node: str, model: Any, stems: Any, latent_frames: int
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """Audio-to-video from STEMS (MTV): the given sound is speech + effects, and the video attends only
    to the audio tokens where that sound is active; the music stem goes to the model's music FiLM
    when it has one (else it is left out). Returns the audio latent, the active tokens ``[1, Na]``
    (:func:`kinesonic.models.streams.stream_keep`) and the music vector or None."""
    from ..models.streams import stream_keep
    from .demix import stems_arrays

    arrays, rate = stems_arrays(node, "stems", stems)  # [B, 3, C, S]: speech, effects, music
    cfg = model.cfg
    samples = cfg.audio_samples(latent_frames)
    wave = arrays[0, 0] + arrays[0, 1]  # first batch item, speech + effects [C, S]
    sound = _clip_sound(node, "stems", wave, rate, cfg, samples)
    try:
        keep = stream_keep(sound, cfg, cfg.audio_tokens(latent_frames))
    except ValueError as error:
        raise NodeInputError.because(node, "stems", error) from None
    music = None
    if cfg.music_film:
        stem = _clip_sound(node, "stems", arrays[0, 2], rate, cfg, samples)
        with torch.no_grad():
            music = model.music_vector(torch.from_numpy(stem)[None])
    return _encode_sound(model, sound), keep[None], music


def _video_latent(node: str, model: Any, frames: Any, num_frames: int) -> torch.Tensor:
    cfg = model.cfg
    video = image_input(node, "frames", frames)
    shape = tuple(video.shape)
    if shape[1:3] != (cfg.height, cfg.width):
        raise NodeInputError(
            node,
            "frames",
            f"frames of {cfg.width}x{cfg.height} pixels (this model's size)",
            f"{shape[2]}x{shape[1]}",
        )
    video = video[:num_frames]
    if video.shape[0] < num_frames:  # hold the last frame
        video = torch.cat([video, video[-1:].expand(num_frames - video.shape[0], -1, -1, -1)])
    with torch.no_grad():
        return model.encode_video(video.permute(3, 0, 1, 2)[None].to(device=model.device, dtype=model.dtype))


#: The widget maximum of ``cond_time``: the trainer's default hold-time range (the same number as
#: ``models.checkpoint.DEFAULT_MAX_COND_TIME``; a test keeps them equal, models is not imported here).
DEFAULT_MAX_COND_TIME = 0.1


def _check_cond_time(node: str, model: Any, cond_time: float) -> None:
    """Refuse a ``cond_time`` outside ``[0, trained maximum]`` (the V2A / A2V hold-time range the
    model's training covered, from its checkpoint metadata; 0.1 when the file does not record it)."""
    from ..models import check_cond_time, trained_max_cond_time

    try:
        check_cond_time(model, cond_time)
    except ValueError:
        limit = trained_max_cond_time(model)
        raise NodeInputError(
            node,
            "cond_time",
            f"a flow time in [0, {limit:g}] (this model was trained holding the given modality at "
            f"times up to {limit:g})",
            float(cond_time),
        ) from None


def sample(
    node: str,
    model: Any,
    conditioning: dict[str, Any],
    mode: str,
    steps: int,
    solver: str,
    shift: float,
    video_cfg: float,
    audio_cfg: float,
    guidance: str,
    seed: int,
    frames: Any = None,
    audio: Any = None,
    cond_time: float = 0.0,
    audio_noise: float = AUDIO_NOISE,
    stems: Any = None,
) -> dict[str, Any]:
    """Shared by the sampler and all-in-one nodes: KINESONIC_LATENT dict. ``stems`` (audio_to_video,
    instead of ``audio``): STEMS whose speech + effects are the given sound, heard by the video only
    where they are active, and whose music goes to the model's music FiLM if it has one
    (docs/generator.md, *Stream intervals*)."""
    if not isinstance(conditioning, dict) or "conditioning" not in conditioning:
        raise NodeInputError(
            node, "conditioning", "a KINESONIC_CONDITIONING from 'Generator Conditioning'", conditioning
        )
    if mode not in MODES:
        raise NodeInputError(node, "mode", f"one of {list(MODES)}", mode)
    _check_cond_time(node, model, cond_time)
    if not 0.0 <= float(audio_noise) <= 1.0:
        raise NodeInputError(node, "audio_noise", "a number in [0, 1] (0 = the flow ODE)", audio_noise)
    cond = conditioning["conditioning"]
    cfg = model.cfg
    if cond.traj_latent.shape[1] != cfg.video_channels or cond.traj_latent.shape[-2:] != (
        cfg.latent_height,
        cfg.latent_width,
    ):
        raise NodeInputError(node, "conditioning", "conditioning built with this model", "another model's")
    num_frames = cfg.video_frames(cond.latent_frames)
    given_v = given_a = None
    if MODES[mode] == "v2a":
        if frames is None:
            raise NodeInputError(node, "frames", "IMAGE frames for mode video_to_audio")
        given_v = _video_latent(node, model, frames, num_frames)
    if MODES[mode] == "a2v":
        if audio is None and stems is None:
            raise NodeInputError(node, "audio", "AUDIO (or STEMS on 'stems') for mode audio_to_video")
        if audio is not None and stems is not None:
            raise NodeInputError(
                node, "stems", "either 'audio' or 'stems' for audio_to_video, not both", "both connected"
            )
        if stems is not None:
            given_a, keep, music = _stems_latent(node, model, stems, cond.latent_frames)
            cond = replace(cond, audio_keep=keep)
            if music is not None:
                cond = cond.with_music(*music)
        else:
            given_a = _audio_latent(node, model, audio, cfg.audio_samples(cond.latent_frames))
    callback, bar = bridge.progress_callback(int(steps), "Kinesonic sampling")
    device = bridge.load_device()
    model.to(device)
    try:
        with bar, bridge.autocast(device):
            out = model.sample(
                cond,
                MODES[mode],
                steps=int(steps),
                solver=solver,
                shift=float(shift),
                video_cfg=float(video_cfg),
                audio_cfg=float(audio_cfg),
                guidance=guidance,
                seed=int(seed),
                video=given_v,
                audio=given_a,
                cond_time=float(cond_time),
                callback=callback,
                audio_noise=float(audio_noise),
            )
    finally:
        model.to(bridge.offload_device())
    return {
        "video": out["video"].float().cpu(),
        "audio": out["audio"].float().cpu(),
        "fps": float(cfg.fps),
        "sample_rate": int(cfg.sample_rate),
        "num_frames": num_frames,
        "mode": mode,
        "seed": int(seed),
    }


def decode(node: str, model: Any, latent: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any], float]:
    """KINESONIC_LATENT → (IMAGE [T, H, W, 3], AUDIO, fps)."""
    if not isinstance(latent, dict) or "video" not in latent or "audio" not in latent:
        raise NodeInputError(node, "latent", 'a KINESONIC_LATENT {"video", "audio", ...}', latent)
    cfg = model.cfg
    if latent["video"].shape[1] != cfg.video_channels or latent["audio"].shape[1] != cfg.audio_channels:
        raise NodeInputError(node, "latent", "a latent made by this model", tuple(latent["video"].shape))
    device = bridge.load_device()
    model.to(device)
    try:
        with torch.no_grad():
            video = model.decode_video(latent["video"].to(device=device, dtype=model.dtype))[0].cpu()
            wave = model.decode_audio(latent["audio"].to(device=device, dtype=model.dtype))[0].cpu()
    finally:
        model.to(bridge.offload_device())
    frames = int(latent.get("num_frames", video.shape[1]))
    images = video[:, :frames].permute(1, 2, 3, 0).contiguous().float()
    audio = {"waveform": wave.float()[None, None].contiguous(), "sample_rate": int(cfg.sample_rate)}
    return images, audio, float(cfg.fps)


# --------------------------------------------------------------------------- nodes


# Input specs shared by the step-by-step nodes and the all-in-one node (one definition each).
STEPS_INPUT = (
    "INT",
    {
        "default": 25,
        "min": 1,
        "max": 1000,
        "tooltip": "Flow-matching (ODE) steps: more = slower and smoother. 25 steps of the default tiny "
        "model (64x64, 16 fps, 33 frames = 2.06 s with 16 kHz sound) take ~10-30 s on a CPU.",
    },
)
SEED_INPUT = (
    "INT",
    {
        "default": 0,
        "min": 0,
        "max": 2**31 - 1,
        "tooltip": "Noise seed: the same seed and inputs give the same clip (0 .. 2^31-1).",
    },
)

FIRST_FRAME_INPUT = (
    "IMAGE",
    {
        "tooltip": "First frame [B,H,W,3] 0..1 (the first image is used); another size "
        "than the model's (64x64 for the default tiny model) is fitted by 'resize'."
    },
)
PROMPT_INPUT = ("STRING", {"multiline": True, "default": "", "tooltip": "What is seen and heard."})


def _model_name_input() -> tuple:
    """The generator-file combo (listed when ComfyUI asks, so new files show up)."""
    return (_model_names(), {"tooltip": "Generator checkpoint in models/kinesonic."})


class KinesonicLoadGenerator:
    DISPLAY_NAME = "Load Generator"
    CATEGORY = CATEGORY
    DESCRIPTION = "Load a Kinesonic sounding-video generator (.safetensors from the models/kinesonic folder)."
    RETURN_TYPES = (MODEL,)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("The generator: config, weights, video/audio decoders.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_name": _model_name_input(),
            }
        }

    def run(self, model_name):
        return (load_generator(self.DISPLAY_NAME, "model_name", model_name),)


class KinesonicGeneratorConditioning:
    DISPLAY_NAME = "Generator Conditioning"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Build the generator's conditions: first frame (image-to-sounding-video), prompt, trajectories "
        "(they steer motion in the video and timing/loudness of the sound) and optional kinematics."
    )
    RETURN_TYPES = (CONDITIONING,)
    RETURN_NAMES = ("conditioning",)
    OUTPUT_TOOLTIPS = ("Conditions for 'Generator Sampler'.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (MODEL, {"tooltip": "The generator (sets the expected image size and fps)."}),
                "first_frame": FIRST_FRAME_INPUT,
                "prompt": PROMPT_INPUT,
                "seed": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 2**31 - 1,
                        "tooltip": "Seed for track-collision choices.",
                    },
                ),
            },
            "optional": {
                "tracks": (TRACKS, {"tooltip": "Point tracks in first-frame pixels at the model's fps."}),
                "kinematics": (
                    KINEMATICS,
                    {"tooltip": "Optional 8-D kinematic state per latent frame (default: from the tracks)."},
                ),
                "physics": (PHYSICS, {"tooltip": "Optional per-object mass and velocity (sound character)."}),
                "resize": _resize_input(),
            },
        }

    def run(
        self, model, first_frame, prompt, seed=0, tracks=None, kinematics=None, physics=None, resize="crop"
    ):
        node = self.DISPLAY_NAME
        model = _check_model(node, model)
        cond = build_conditioning(node, model, first_frame, prompt, tracks, kinematics, seed, physics, resize)
        return (cond,)


class KinesonicGeneratorSampler:
    DISPLAY_NAME = "Generator Sampler"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Sample video and sound latents by flow matching. Modes: image to sounding video, video to audio "
        "(give frames), audio to video (give audio)."
    )
    RETURN_TYPES = (LATENT,)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = ("Video and audio latents with fps and sample rate.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (MODEL, {"tooltip": "The generator."}),
                "conditioning": (CONDITIONING, {"tooltip": "From 'Generator Conditioning'."}),
                "mode": (
                    list(MODES),
                    {"default": "image_to_sounding_video", "tooltip": "What is generated."},
                ),
                "steps": STEPS_INPUT,
                "solver": (
                    ["euler", "heun"],
                    {"default": "euler", "tooltip": "Heun costs 2 evaluations/step."},
                ),
                "shift": (
                    "FLOAT",
                    {
                        "default": 1.0,
                        "min": 0.1,
                        "max": 20.0,
                        "step": 0.1,
                        "tooltip": ">1 spends more steps at high noise.",
                    },
                ),
                "video_cfg": (
                    "FLOAT",
                    {
                        "default": VIDEO_CFG,
                        "min": 0.0,
                        "max": 30.0,
                        "step": 0.1,
                        "tooltip": "Video guidance (1 = off).",
                    },
                ),
                "audio_cfg": (
                    "FLOAT",
                    {
                        "default": AUDIO_CFG,
                        "min": 0.0,
                        "max": 30.0,
                        "step": 0.1,
                        "tooltip": "Audio guidance (1 = off). The default 2, with audio_noise 1, gave the "
                        "default model better impact timing and loudness than the ODE without audio "
                        "guidance, at some cost in MAIC (docs/model_card.md, 'Sampler').",
                    },
                ),
                "guidance": (
                    ["none", "cfg", "joint"],
                    {
                        "default": "cfg",
                        "tooltip": "joint = JointCFG (negative also blocks cross-modal attention).",
                    },
                ),
                "seed": SEED_INPUT,
            },
            "optional": {
                "frames": (
                    "IMAGE",
                    {"tooltip": "video_to_audio: frames [T,H,W,3] (trimmed / last frame held)."},
                ),
                "audio": (
                    "AUDIO",
                    {"tooltip": "audio_to_video: sound (mixed to mono, resampled, trimmed/padded)."},
                ),
                "cond_time": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": DEFAULT_MAX_COND_TIME,
                        "step": 0.01,
                        "tooltip": "Flow time (noise level) at which the given frames (video_to_audio) "
                        "or sound (audio_to_video) are held: 0 = clean. At most the largest time the "
                        f"model was trained with ({DEFAULT_MAX_COND_TIME:g} unless its checkpoint "
                        "records another); larger values are refused.",
                    },
                ),
                "audio_noise": (
                    "FLOAT",
                    {
                        "default": AUDIO_NOISE,
                        "min": 0.0,
                        "max": 1.0,
                        "step": 0.05,
                        "tooltip": "Fresh noise in each audio step (DDIM's eta on the flow: 0 = the "
                        "deterministic ODE, 1 = ancestral sampling). The default 1 gave "
                        "better impact timing than the ODE (docs/model_card.md, 'Sampler').",
                    },
                ),
                "stems": (
                    STEMS,
                    {
                        "tooltip": "audio_to_video, instead of 'audio': stems from Demix Audio. The video "
                        "is given speech + effects and attends to them only where they sound (MTV's "
                        "stream intervals); the music goes to the model's music FiLM if it has one "
                        "(the shipped model has none: the music is left out)."
                    },
                ),
            },
        }

    def run(
        self, model, conditioning, mode, steps, solver, shift, video_cfg, audio_cfg, guidance, seed, **opt
    ):
        node = self.DISPLAY_NAME
        model = _check_model(node, model)
        latent = sample(
            node, model, conditioning, mode, steps, solver, shift, video_cfg, audio_cfg, guidance, seed,
            opt.get("frames"), opt.get("audio"), opt.get("cond_time", 0.0),
            opt.get("audio_noise", AUDIO_NOISE), opt.get("stems"),
        )  # fmt: skip
        return (latent,)


class KinesonicGeneratorDecode:
    DISPLAY_NAME = "Generator Decode"
    CATEGORY = CATEGORY
    DESCRIPTION = "Decode generator latents into frames and sound (Griffin-Lim unless a vocoder is set)."
    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT")
    RETURN_NAMES = ("images", "audio", "fps")
    OUTPUT_TOOLTIPS = (
        "Frames [T,H,W,3] 0..1.",
        "Mono sound at the model's sample rate.",
        "Frames per second.",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (MODEL, {"tooltip": "The generator that made the latent."}),
                "latent": (LATENT, {"tooltip": "From 'Generator Sampler'."}),
            }
        }

    def run(self, model, latent):
        node = self.DISPLAY_NAME
        return decode(node, _check_model(node, model), latent)


class KinesonicGenerate:
    DISPLAY_NAME = "Generate Sounding Video"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "All in one: from a first frame, a prompt and (optionally) drawn tracks and physics to frames, "
        "sound and fps. Uses Euler sampling with guidance 3."
    )
    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT")
    RETURN_NAMES = ("images", "audio", "fps")
    OUTPUT_TOOLTIPS = ("Frames [T,H,W,3] 0..1.", "Mono sound.", "Frames per second.")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_name": _model_name_input(),
                "first_frame": FIRST_FRAME_INPUT,
                "prompt": PROMPT_INPUT,
                "steps": STEPS_INPUT,
                "seed": SEED_INPUT,
            },
            "optional": {
                "tracks": (
                    TRACKS,
                    {
                        "tooltip": "Point tracks that steer motion and sound, in pixels of the model's "
                        "frame (64x64 for the default tiny model) at its fps (16). Their frame count "
                        "sets the clip length; fewer frames than the model's clip (33) are resampled "
                        "to it (the log says so)."
                    },
                ),
                "physics": (
                    PHYSICS,
                    {
                        "tooltip": "Optional per-object mass (kg) and per-frame velocity (m/s) that shape "
                        "the sound: a Physics Scene's ground truth or an Estimate Physics result (NaN = "
                        "unknown, ignored). A model trained without physics ignores it."
                    },
                ),
                "resize": _resize_input(),
            },
        }

    def run(self, model_name, first_frame, prompt, steps, seed, tracks=None, physics=None, resize="crop"):
        node = self.DISPLAY_NAME
        model = load_generator(node, "model_name", model_name)
        cond = build_conditioning(node, model, first_frame, prompt, tracks, None, seed, physics, resize)
        latent = sample(
            node,
            model,
            cond,
            "image_to_sounding_video",
            steps,
            "euler",
            1.0,
            VIDEO_CFG,
            AUDIO_CFG,
            "cfg",
            seed,
            audio_noise=AUDIO_NOISE,
        )
        return decode(node, model, latent)


NODE_CLASS_MAPPINGS = {
    "KinesonicLoadGenerator": KinesonicLoadGenerator,
    "KinesonicGeneratorConditioning": KinesonicGeneratorConditioning,
    "KinesonicGeneratorSampler": KinesonicGeneratorSampler,
    "KinesonicGeneratorDecode": KinesonicGeneratorDecode,
    "KinesonicGenerate": KinesonicGenerate,
}
NODE_DISPLAY_NAME_MAPPINGS = {k: v.DISPLAY_NAME for k, v in NODE_CLASS_MAPPINGS.items()}
