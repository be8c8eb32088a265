"""Kinesonic media layer (no ComfyUI): video, audio and image files as numpy arrays.

Frames are ``[T, H, W, 3]`` (uint8, or float 0..1 on input), audio ``[C, S]`` float32 at a sample
rate in Hz. Writers are atomic (temporary file in the target folder, then rename). PyAV,
soundfile, soxr and Pillow are imported only when a function needs them.
"""

from .audio import AUDIO_EXTENSIONS, as_waveform, read_audio, resample_audio, rms, silence, write_audio
from .files import (
    MediaError,
    atomic_output,
    atomic_write_bytes,
    atomic_write_text,
    numbered_output,
    numbered_output_path,
    record_writes,
    release_reserved,
    reserve_free_path,
    reserve_numbered_path,
)
from .image import IMAGE_EXTENSIONS, read_image
from .paths import PathOutsideError, inside, inside_any, is_inside
from .timing import (
    DURATION_MODES,
    clip_frame_count,
    fit_audio,
    fit_frames,
    frames_for_duration,
    match_audio_to_frames,
    nearest_frame_indices,
    samples_for_frames,
)
from .video import VIDEO_EXTENSIONS, VideoData, as_frames, decode_audio_stream, read_video, write_video

__all__ = [
    "AUDIO_EXTENSIONS",
    "DURATION_MODES",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "MediaError",
    "PathOutsideError",
    "VideoData",
    "as_frames",
    "as_waveform",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "clip_frame_count",
    "decode_audio_stream",
    "fit_audio",
    "fit_frames",
    "frames_for_duration",
    "match_audio_to_frames",
    "nearest_frame_indices",
    "inside",
    "inside_any",
    "is_inside",
    "numbered_output",
    "numbered_output_path",
    "read_audio",
    "read_image",
    "read_video",
    "record_writes",
    "resample_audio",
    "release_reserved",
    "reserve_free_path",
    "reserve_numbered_path",
    "rms",
    "samples_for_frames",
    "silence",
    "write_audio",
    "write_video",
]
