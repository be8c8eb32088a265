"""Media nodes: load video / image / audio, save audio, save a sounding video (mp4).

Thin shells over :mod:`kinesonic.media` (imported inside the node functions, so importing the
pack stays cheap). Loaders take a file either from the input-folder combo ``file`` (with ComfyUI's
upload button and preview, as core LoadImage / LoadVideo / LoadAudio declare it) or from the
``path`` text (which wins when not empty; relative to the input folder, the pack folder, then the
working directory; confined to those folders, see docs/files.md). Save nodes reserve
``<output>/<prefix>_NNNNN.<ext>`` (no two saves share a number) and write it through a temporary
file, so a failed save leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import bridge
from .base import CATEGORY_ROOT, NodeInputError
from .sockets import audio_input, image_frames, image_output

CATEGORY = f"{CATEGORY_ROOT}/Media"
USE_PATH = "(use path)"
DURATION_MODES = ("video", "audio", "shortest", "longest")

# Kept here (not imported from media/) so building INPUT_TYPES never imports av / soundfile.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif", ".mpg", ".mpeg", ".ts")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".m4a", ".aac", ".opus")


# --------------------------------------------------------------------------- helpers


# The combo flag ComfyUI's frontend turns into an upload button and a preview (core LoadImage,
# LoadVideo and LoadAudio declare the same ones).
UPLOAD_FLAG = {"image": "image_upload", "video": "video_upload", "audio": "audio_upload"}


def _file_inputs(extensions: tuple[str, ...], what: str, default_path: str = "") -> dict[str, tuple]:
    return {
        "file": (
            [USE_PATH, *bridge.list_input_files(extensions)],
            {
                "default": USE_PATH,
                UPLOAD_FLAG[what]: True,
                "tooltip": f"A {what} file from the input folder (ignored if 'path' is set).",
            },
        ),
        "path": (
            "STRING",
            {
                "default": default_path,
                "tooltip": f"Path of the {what} file; wins over 'file' when not empty. Relative to the input "
                "folder (headless also the Kinesonic pack folder, then the working directory); paths "
                "outside are refused unless a headless run opts in (--allow-any-path).",
            },
        ),
    }


def _resolve(node: str, file: str, path: str, what: str) -> Path:
    """The file chosen by the ``file`` combo / ``path`` text, or a NodeInputError."""
    text = str(path or "").strip()
    input_name = "path" if text else "file"
    raw = text or ("" if file in (None, "", USE_PATH) else str(file))
    if not raw:
        raise NodeInputError(node, "path", f"a {what} file: pick one in 'file' or type a path", path)
    from ..media import PathOutsideError

    try:
        return bridge.resolve_input_file(raw, node, input_name, what)
    except PathOutsideError:
        raise NodeInputError(
            node,
            input_name,
            f"{'an' if what[0] in 'aeiou' else 'a'} {what} file inside the folders Kinesonic reads from "
            f"(the input folder "
            f"{bridge.input_dir()}; see docs/files.md; {bridge.opt_in_hint()})",
            raw,
        ) from None
    except FileNotFoundError:
        raise NodeInputError(
            node,
            input_name,
            f"an existing {what} file (relative to the input folder {bridge.input_dir()}"
            + (")" if bridge.in_comfyui() else ", the pack folder or the working directory)"),
            raw,
        ) from None


def _fingerprint(file: str, path: str) -> str:
    """Changes when the chosen file changes on disk (ComfyUI's IS_CHANGED)."""
    raw = str(path or "").strip() or ("" if file == USE_PATH else str(file))
    try:
        found = bridge.resolve_input_file(raw, "", "", "file")
        stat = found.stat()
        return f"{found}:{stat.st_mtime_ns}:{stat.st_size}"
    except (FileNotFoundError, OSError, ValueError):
        return f"missing:{raw}"


def _reserve(node: str, root: Path, prefix: str, extension: str) -> tuple[Path, str, str]:
    """Reserve ``<root>/<prefix>_NNNNN.<extension>`` (see media.reserve_numbered_path)."""
    from ..media import MediaError, reserve_numbered_path

    try:
        return reserve_numbered_path(root, prefix, extension)
    except MediaError as error:
        raise NodeInputError.because(node, "filename_prefix", error) from None


@contextlib.contextmanager
def _released_on_error(target: Path) -> Iterator[None]:
    """Give a reserved name back when the write inside the block fails."""
    from ..media import release_reserved

    try:
        yield
    except BaseException:
        release_reserved(target)
        raise


def _audio_dict(waveform: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """ComfyUI AUDIO from a float32 ``[C, S]`` array: ``{"waveform": [1, C, S], "sample_rate"}``."""
    return {
        "waveform": torch.from_numpy(np.ascontiguousarray(waveform, np.float32))[None],
        "sample_rate": int(sample_rate),
    }


def _check_fps(node: str, fps: Any) -> float:
    if not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise NodeInputError(node, "fps", "a frame rate > 0 frames per second", fps)
    return float(fps)


# --------------------------------------------------------------------------- loaders


class KinesonicLoadVideo:
    DISPLAY_NAME = "Load Video"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Decode a video file into frames (IMAGE), its sound (AUDIO: silent when the file has none), "
        "frame rate and frame count; optionally cap frames, resize and pick a frame rate."
    )
    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT", "INT", "BOOLEAN")
    RETURN_NAMES = ("images", "audio", "fps", "frame_count", "has_audio")
    OUTPUT_TOOLTIPS = (
        "Frames [T,H,W,3] float 0..1.",
        "Sound covering exactly the frames; silence of the same length if the file has no audio.",
        "Frame rate of the frames (the chosen one, or the file's own).",
        "Number of frames T.",
        "False when the file has no audio stream (the AUDIO output is then silence).",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                **_file_inputs(VIDEO_EXTENSIONS, "video"),
                "max_frames": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100000,
                        "tooltip": "Keep at most this many frames (0 = all).",
                    },
                ),
                "width": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 8192,
                        "tooltip": "Resize to this width in pixels (0 = keep; aspect kept if height is 0).",
                    },
                ),
                "height": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 8192,
                        "tooltip": "Resize to this height in pixels (0 = keep; aspect kept if width is 0).",
                    },
                ),
                "fps": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 240.0,
                        "step": 0.01,
                        "tooltip": "Output frame rate; frames are picked by nearest timestamp "
                        "(0 = the file's own).",
                    },
                ),
            }
        }

    @classmethod
    def IS_CHANGED(cls, file, path, **_):
        return _fingerprint(file, path)

    def run(self, file, path, max_frames=0, width=0, height=0, fps=0.0):
        from ..media import MediaError, read_video
        from ..media.limits import ResourceLimitError

        node = self.DISPLAY_NAME
        source = _resolve(node, file, path, "video")
        input_name = "path" if str(path or "").strip() else "file"
        if not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps < 0:
            raise NodeInputError(node, "fps", "0 (the file's own) or a frame rate > 0", fps)
        if int(width) < 0 or int(height) < 0:
            raise NodeInputError(
                node, "width/height", "0 (keep) or a positive size in pixels", (width, height)
            )
        size = (int(width), int(height)) if (width or height) else None
        callback, bar = bridge.progress_callback(max(int(max_frames), 1), "Load video")
        try:
            with bar:
                clip = read_video(
                    source, max_frames=int(max_frames), size=size, fps=float(fps) or None, callback=callback
                )
        except ResourceLimitError as error:  # checked before the frames are decoded
            raise NodeInputError.because(node, "width/height/max_frames", error) from None
        except MediaError as error:
            raise NodeInputError.because(node, input_name, error) from None
        images = image_output(clip.frames)
        audio = _audio_dict(clip.audio, clip.sample_rate)
        return (images, audio, float(clip.fps), int(clip.frames.shape[0]), bool(clip.has_audio))


class KinesonicLoadImage:
    DISPLAY_NAME = "Load Image"
    CATEGORY = CATEGORY
    DESCRIPTION = "Load a still image as IMAGE [1,H,W,3] and its transparency as MASK (1 = transparent)."
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    OUTPUT_TOOLTIPS = (
        "The image [1,H,W,3] float 0..1 (first frame of an animated file).",
        "1 - alpha [1,H,W] (ComfyUI's LoadImage convention); all zeros when the image has no alpha.",
    )
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": _file_inputs(IMAGE_EXTENSIONS, "image")}

    @classmethod
    def IS_CHANGED(cls, file, path, **_):
        return _fingerprint(file, path)

    def run(self, file, path):
        from ..media import MediaError, read_image

        node = self.DISPLAY_NAME
        source = _resolve(node, file, path, "image")
        try:
            rgb, alpha = read_image(source)
        except MediaError as error:
            raise NodeInputError.because(node, "path" if str(path or "").strip() else "file", error) from None
        image = image_output(rgb)
        if alpha is None:
            mask = torch.zeros((1, rgb.shape[0], rgb.shape[1]), dtype=torch.float32)
        else:
            mask = 1.0 - torch.from_numpy(alpha).float().div_(255.0)[None]
        return (image, mask)


class KinesonicLoadAudio:
    DISPLAY_NAME = "Load Audio"
    CATEGORY = CATEGORY
    DESCRIPTION = "Load an audio file (wav, flac, ogg, mp3, m4a, or a video's sound) as AUDIO."
    RETURN_TYPES = ("AUDIO",)
    RETURN_NAMES = ("audio",)
    OUTPUT_TOOLTIPS = ('{"waveform": [1,C,S] float32 -1..1, "sample_rate": Hz}',)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                **_file_inputs(AUDIO_EXTENSIONS + VIDEO_EXTENSIONS, "audio"),
                "sample_rate": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 384000,
                        "tooltip": "Resample to this rate in Hz (0 = keep the file's).",
                    },
                ),
            }
        }

    @classmethod
    def IS_CHANGED(cls, file, path, **_):
        return _fingerprint(file, path)

    def run(self, file, path, sample_rate=0):
        from ..media import MediaError, read_audio, resample_audio

        node = self.DISPLAY_NAME
        source = _resolve(node, file, path, "audio")
        if int(sample_rate) < 0:
            raise NodeInputError(node, "sample_rate", "0 (keep) or a rate in Hz", sample_rate)
        try:
            waveform, rate = read_audio(source)
        except MediaError as error:
            raise NodeInputError.because(node, "path" if str(path or "").strip() else "file", error) from None
        if int(sample_rate) and int(sample_rate) != rate:
            waveform, rate = resample_audio(waveform, rate, int(sample_rate)), int(sample_rate)
        return (_audio_dict(waveform, rate),)


# --------------------------------------------------------------------------- savers


class KinesonicSaveAudio:
    DISPLAY_NAME = "Save Audio"
    CATEGORY = CATEGORY
    DESCRIPTION = "Save AUDIO as 16-bit wav or flac in the output folder (one file per batch item)."
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Full path of the (first) written file.",)
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "audio": ("AUDIO", {"tooltip": "Sound to save."}),
                "filename_prefix": (
                    "STRING",
                    {
                        "default": "kinesonic/audio",
                        "tooltip": "Output name; '/' makes subfolders. A 5-digit counter is appended.",
                    },
                ),
                "format": (["wav", "flac"], {"default": "flac", "tooltip": "File format (16-bit PCM)."}),
            }
        }

    def run(self, audio, filename_prefix="kinesonic/audio", format="flac"):
        from ..media import MediaError, write_audio

        node = self.DISPLAY_NAME
        if format not in ("wav", "flac"):
            raise NodeInputError(node, "format", "'wav' or 'flac'", format)
        audio_input(node, "audio", audio)  # validates shape and rate
        waveform = audio["waveform"]
        root = bridge.output_dir()
        entries, paths = [], []
        for index in range(waveform.shape[0]):
            item, rate = audio_input(
                node, "audio", {"waveform": waveform[index : index + 1], "sample_rate": audio["sample_rate"]}
            )
            target, name, subfolder = _reserve(node, root, filename_prefix, format)
            with _released_on_error(target):
                try:
                    write_audio(target, item, rate, format)
                except MediaError as error:
                    raise NodeInputError.because(node, "audio", error) from None
            entries.append({"filename": name, "subfolder": subfolder, "type": "output"})
            paths.append(str(target))
        return {"ui": {"audio": entries}, "result": (paths[0],)}


class KinesonicSaveSoundingVideo:
    DISPLAY_NAME = "Save Sounding Video"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Mux frames and sound into an mp4 (H.264 + AAC) in the output folder. The clip length follows "
        "'duration_from': the other stream is padded (silence / last frame held) or trimmed to match."
    )
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Full path of the written mp4.",)
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": (
                    "IMAGE",
                    {"tooltip": "Frames [T,H,W,3] float 0..1 (odd sizes are padded by one pixel)."},
                ),
                "fps": (
                    "FLOAT",
                    {
                        "default": 16.0,
                        "min": 0.01,
                        "max": 240.0,
                        "step": 0.01,
                        "tooltip": "Frames per second.",
                    },
                ),
                "filename_prefix": (
                    "STRING",
                    {
                        "default": "kinesonic/clip",
                        "tooltip": "Output name; '/' makes subfolders. A 5-digit counter is appended.",
                    },
                ),
                "duration_from": (
                    list(DURATION_MODES),
                    {
                        "default": "video",
                        "tooltip": "Which stream decides the clip length: video (audio padded/trimmed), "
                        "audio (last frame held / frames trimmed), the shortest or the longest.",
                    },
                ),
                "crf": (
                    "INT",
                    {
                        "default": 19,
                        "min": 0,
                        "max": 51,
                        "tooltip": "H.264 quality: 0 lossless, ~18 visually lossless, 23 default, 51 worst.",
                    },
                ),
            },
            "optional": {
                "audio": (
                    "AUDIO",
                    {
                        "tooltip": "Sound (first batch item is used; 1 or 2 channels). "
                        "Without it the mp4 has no audio stream."
                    },
                )
            },
            # stored in the mp4 like core SaveVideo does: dropping the file on the canvas restores the graph
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    def run(
        self,
        images,
        fps=16.0,
        filename_prefix="kinesonic/clip",
        duration_from="video",
        crf=19,
        audio=None,
        prompt=None,
        extra_pnginfo=None,
    ):
        from ..media import MediaError, match_audio_to_frames, write_video

        node = self.DISPLAY_NAME
        frames = image_frames(node, "images", images)  # uint8 before any padding / holding
        fps = _check_fps(node, fps)
        if duration_from not in DURATION_MODES:
            raise NodeInputError(node, "duration_from", f"one of {DURATION_MODES}", duration_from)
        if not isinstance(crf, (int, float, np.number)) or float(crf) != int(crf) or not 0 <= int(crf) <= 51:
            raise NodeInputError(node, "crf", "an integer in 0..51", crf)
        wave, rate = (None, None) if audio is None else audio_input(node, "audio", audio)
        if wave is not None and wave.shape[0] not in (1, 2):
            raise NodeInputError(node, "audio", "1 (mono) or 2 (stereo) channels", audio["waveform"])
        frames, wave = match_audio_to_frames(frames, wave, fps, rate or 1, duration_from)
        target, name, subfolder = _reserve(node, bridge.output_dir(), filename_prefix, "mp4")
        callback, bar = bridge.progress_callback(frames.shape[0], "Save video")
        try:
            with _released_on_error(target), bar:
                write_video(
                    target, frames, fps, wave, rate, crf=int(crf), callback=callback,
                    metadata=_workflow_metadata(prompt, extra_pnginfo),
                )  # fmt: skip
        except MediaError as error:
            raise NodeInputError.because(node, "images", error) from None
        entry = {"filename": name, "subfolder": subfolder, "type": "output"}
        # The shape ComfyUI core's SaveVideo / SaveWEBM return: the frontend shows files with a
        # video extension as a <video> preview when "animated" is set.
        return {"ui": {"images": [entry], "animated": (True,)}, "result": (os.fspath(target),)}


def _workflow_metadata(prompt, extra_pnginfo) -> dict[str, str]:
    """``prompt`` and each ``extra_pnginfo`` entry (``workflow``) as JSON text (as core SaveVideo)."""
    import json

    meta = {}
    if prompt is not None:
        meta["prompt"] = json.dumps(prompt)
    if isinstance(extra_pnginfo, dict):
        meta.update({str(k): json.dumps(v) for k, v in extra_pnginfo.items()})
    return meta


NODE_CLASS_MAPPINGS = {
    "KinesonicLoadVideo": KinesonicLoadVideo,
    "KinesonicLoadImage": KinesonicLoadImage,
    "KinesonicLoadAudio": KinesonicLoadAudio,
    "KinesonicSaveAudio": KinesonicSaveAudio,
    "KinesonicSaveSoundingVideo": KinesonicSaveSoundingVideo,
}
NODE_DISPLAY_NAME_MAPPINGS = {key: cls.DISPLAY_NAME for key, cls in NODE_CLASS_MAPPINGS.items()}
