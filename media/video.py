"""Video files: decode to frames + audio, encode frames + audio to mp4 (H.264 + AAC) with PyAV.

Frames are numpy arrays ``[T, H, W, 3]``: uint8 0..255, or float 0..1 on input to the writer.
Audio is float32 ``[C, S]`` in -1..1 at ``sample_rate`` Hz. Times are seconds, rates frames per
second. PyAV is imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .audio import as_waveform, resample_audio
from .files import MediaError, atomic_output
from .timing import samples_for_frames

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif", ".mpg", ".mpeg", ".ts")
DEFAULT_SAMPLE_RATE = 44100
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)

Callback = Callable[[int, int], None]


@dataclass
class VideoData:
    """A decoded clip.

    frames: uint8 ``[T, H, W, 3]`` RGB. fps: frame rate of ``frames`` (the requested one when
    resampled). audio: float32 ``[C, S]`` covering exactly the clip,
    ``S = round(T * sample_rate / fps)`` (trimmed, or zero-padded where the file's audio ends
    early); silent ``[1, S]`` when the file has no audio (``has_audio`` False). duration_s:
    ``T / fps``. source_fps: the file's own average frame rate.
    """

    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    duration_s: float
    has_audio: bool
    source_fps: float


def _open(path: Path):
    import av

    if not path.is_file():
        raise FileNotFoundError(f"file {str(path)!r} does not exist")
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as error:
        raise MediaError(f"{path.name!r} is not a readable media file ({error.strerror or error})") from None


def _target_size(width: int, height: int, size: tuple[int, int] | None) -> tuple[int, int]:
    """Output (w, h): ``size`` with a 0 entry keeping the aspect ratio; None keeps the source."""
    if size is None:
        return width, height
    w, h = int(size[0]), int(size[1])
    if w < 0 or h < 0:
        raise MediaError(f"size must be non-negative (w, h), got {size!r}")
    if w == 0 and h == 0:
        return width, height
    if w == 0:
        w = max(1, round(width * h / height))
    if h == 0:
        h = max(1, round(height * w / width))
    return w, h


def read_video(
    path: str | os.PathLike,
    max_frames: int = 0,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    callback: Callback | None = None,
) -> VideoData:
    """Decode a video file into frames and audio.

    max_frames: keep at most this many output frames (0 = all). size: ``(w, h)`` to resize to
    (bilinear, by FFmpeg's scaler); a 0 entry keeps the aspect ratio. fps: output frame rate
    (None or 0 = the file's own); frames are picked by nearest timestamp (ties go to the earlier
    frame), so the clip keeps its duration: ``ceil(duration * fps)`` frames.
    callback(done, total) is called per output frame (total is an estimate).

    Raises FileNotFoundError (missing file) or :class:`MediaError` (not a media file, no video
    stream, no decodable frames), and :class:`~.limits.ResourceLimitError` before decoding when the
    frames as a float32 IMAGE batch would exceed the memory budget (``media/limits.py``).
    """
    import av

    from .limits import check_image_budget

    path = Path(path)
    if fps is not None and fps != 0 and (not math.isfinite(fps) or fps < 0):
        raise MediaError(f"fps must be positive (or 0 for the file's own), got {fps!r}")
    max_frames = max(int(max_frames), 0)
    container = _open(path)
    try:
        if not container.streams.video:
            raise MediaError(f"{path.name!r} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        source_fps = float(rate) if rate else 0.0
        if not source_fps or not math.isfinite(source_fps):
            source_fps = 25.0
        out_fps = float(fps) if fps else source_fps
        estimate = stream.frames or 0
        if fps and estimate:
            estimate = math.ceil(estimate * out_fps / source_fps)
        known = min(estimate, max_frames) if max_frames else estimate  # 0 when the header does not say
        if max_frames:
            estimate = min(estimate, max_frames) if estimate else max_frames

        frames: list[np.ndarray] = []
        width = height = None
        t0: float | None = None
        prev: tuple[float, object] | None = None  # (time, av frame)
        prev_array: np.ndarray | None = None
        state = {"k": 0}

        def emit(frame) -> None:
            nonlocal prev_array
            check_image_budget(len(frames) + 1, height, width, f"{path.name!r}")  # never past the budget
            if prev_array is None:
                prev_array = frame.to_ndarray(format="rgb24", width=width, height=height)
            frames.append(prev_array)
            state["k"] += 1
            if callback is not None:
                callback(len(frames), max(estimate, len(frames)))

        def full() -> bool:
            return bool(max_frames) and len(frames) >= max_frames

        try:
            for index, frame in enumerate(container.decode(stream)):
                if width is None:
                    width, height = _target_size(frame.width, frame.height, size)
                    if known:  # frame count in the header: refuse before decoding anything more
                        check_image_budget(known, height, width, f"{path.name!r}")
                time = frame.time if frame.time is not None else index / source_fps
                if t0 is None:
                    t0 = time
                t = time - t0
                if fps is None or fps == 0:
                    prev, prev_array = (t, frame), None
                    emit(frame)
                else:
                    while prev is not None and not full():
                        target = state["k"] / out_fps
                        if target - prev[0] <= t - target + 1e-9:
                            emit(prev[1])
                        else:
                            break
                    prev, prev_array = (t, frame), None
                if full():
                    break
            if fps and prev is not None and not full():
                end = prev[0] + 1.0 / source_fps
                while not full() and state["k"] / out_fps < end - 1e-9:
                    emit(prev[1])
        except av.error.FFmpegError as error:
            if not frames:
                raise MediaError(f"{path.name!r} has no decodable video frames ({error})") from None
        if not frames:
            raise MediaError(f"{path.name!r} has no decodable video frames")
        has_audio = bool(container.streams.audio)
    finally:
        container.close()

    count = len(frames)
    duration = count / out_fps
    if has_audio:
        audio, sample_rate = decode_audio_stream(path, start=t0 or 0.0, duration=duration)
    else:
        audio, sample_rate = None, DEFAULT_SAMPLE_RATE
    if audio is None:
        has_audio = False
        sample_rate = DEFAULT_SAMPLE_RATE
        audio = np.zeros((1, 0), np.float32)
    needed = samples_for_frames(count, out_fps, sample_rate)
    if audio.shape[1] < needed:
        audio = np.concatenate([audio, np.zeros((audio.shape[0], needed - audio.shape[1]), np.float32)], 1)
    return VideoData(
        frames=np.stack(frames),
        fps=out_fps,
        audio=np.ascontiguousarray(audio[:, :needed]),
        sample_rate=int(sample_rate),
        duration_s=duration,
        has_audio=has_audio,
        source_fps=source_fps,
    )


def decode_audio_stream(
    path: str | os.PathLike, start: float = 0.0, duration: float | None = None
) -> tuple[np.ndarray | None, int | None]:
    """Decode the first audio stream of a media file: ``(float32 [C, S], sample_rate)``.

    Sample 0 is at ``start`` seconds on the file's timeline (samples before it are dropped,
    a late-starting stream is preceded by zeros); decoding stops once ``duration`` seconds are
    covered (None = to the end). Returns ``(None, None)`` when there is no audio stream.
    """
    import av

    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.audio:
            return None, None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        sample_rate = stream.rate or stream.codec_context.sample_rate
        offset: int | None = None
        total = 0
        if duration is None and stream.duration and stream.time_base:
            # the decoder returns whole codec frames; the container knows the true length
            duration = (
                float(stream.duration * stream.time_base)
                + float((stream.start_time or 0) * stream.time_base)
                - start
            )
        limit = None if duration is None else int(math.ceil(duration * sample_rate - 1e-6))

        def collect(resampled) -> None:
            nonlocal total
            for out in resampled:
                array = out.to_ndarray().astype(np.float32, copy=False)
                chunks.append(array.reshape(out.layout.nb_channels, -1))
                total += chunks[-1].shape[1]

        try:
            for frame in container.decode(stream):
                if offset is None:
                    first = frame.time if frame.time is not None else start
                    sample_rate = frame.sample_rate
                    offset = int(round((first - start) * sample_rate))
                collect(resampler.resample(frame))
                if limit is not None and total + (offset or 0) >= limit:
                    break
            collect(resampler.resample(None))
        except av.error.FFmpegError as error:
            if not chunks:
                raise MediaError(f"{path.name!r}: audio could not be decoded ({error})") from None
        channels = stream.codec_context.channels or (chunks[0].shape[0] if chunks else 1)
    finally:
        container.close()
    if not chunks:
        return np.zeros((max(channels, 1), 0), np.float32), int(sample_rate)
    audio = np.concatenate(chunks, axis=1)
    offset = offset or 0
    if offset < 0:
        audio = audio[:, -offset:]
    elif offset > 0:
        audio = np.concatenate([np.zeros((audio.shape[0], offset), np.float32), audio], axis=1)
    if limit is not None:
        audio = audio[:, :limit]
    return np.ascontiguousarray(audio), int(sample_rate)


def as_frames(frames: object) -> np.ndarray:
    """Frames ``[T, H, W, 3]`` (uint8, or float 0..1 which is clipped and rounded) as uint8.

    Accepts numpy arrays and CPU/GPU torch tensors. Raises :class:`MediaError` for other shapes or
    zero frames.
    """
    array = np.asarray(frames.detach().cpu() if hasattr(frames, "detach") else frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise MediaError(f"frames must have shape [T, H, W, 3], got shape {tuple(array.shape)}")
    if array.shape[0] < 1 or array.shape[1] < 1 or array.shape[2] < 1:
        raise MediaError(f"frames must hold at least one non-empty frame, got shape {tuple(array.shape)}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise MediaError(f"frames must be uint8 or float 0..1, got dtype {array.dtype}")
    return (np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _even(frames: np.ndarray, odd_size: str) -> np.ndarray:
    h, w = frames.shape[1:3]
    if h % 2 == 0 and w % 2 == 0:
        return frames
    if odd_size == "error":
        raise MediaError(f"H.264 (yuv420p) needs an even width and height, got {w}x{h}")
    if odd_size == "crop":
        if h < 2 or w < 2:
            raise MediaError(f"cannot crop a {w}x{h} frame to an even size")
        return frames[:, : h - h % 2, : w - w % 2]
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_video(
    path: str | os.PathLike,
    frames: object,
    fps: float,
    audio: object | None = None,
    sample_rate: int | None = None,
    crf: int = 19,
    preset: str = "medium",
    audio_bitrate: int = 192_000,
    odd_size: str = "pad",
    callback: Callback | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode ``frames`` (+ optional ``audio``) into an mp4: H.264 (libx264, yuv420p) + AAC.

    ``metadata`` (text values) is stored as mp4 metadata tags, as ComfyUI's SaveVideo stores
    ``prompt`` and ``workflow`` (JSON text): the frontend restores a graph from a dropped file.

    frames: ``[T, H, W, 3]`` uint8 or float 0..1. fps: frames per second (> 0). audio: float
    ``[C, S]`` (C = 1 or 2) at ``sample_rate`` Hz, muxed as it is (match lengths beforehand with
    :func:`kinesonic.media.match_audio_to_frames`); a rate AAC does not support is resampled to
    48 kHz. crf: x264 quality 0 (lossless) .. 51. odd_size: "pad" (repeat the last row/column),
    "crop", or "error" — yuv420p needs even sizes. The file is written to a temporary name in the
    same folder and renamed at the end; on any error nothing is left behind. Returns the path.
    """
    import av

    path = Path(path)
    if not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise MediaError(f"fps must be a positive number, got {fps!r}")
    if not 0 <= int(crf) <= 51:
        raise MediaError(f"crf must be in 0..51, got {crf!r}")
    if odd_size not in ("pad", "crop", "error"):
        raise MediaError(f"odd_size must be 'pad', 'crop' or 'error', got {odd_size!r}")
    pixels = _even(as_frames(frames), odd_size)
    wave = None
    if audio is not None:
        wave = as_waveform(audio, "audio")
        if wave.shape[0] not in (1, 2):
            raise MediaError(f"audio must have 1 or 2 channels, got {wave.shape[0]}")
        if sample_rate is None or int(sample_rate) <= 0:
            raise MediaError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        sample_rate = int(sample_rate)
        if sample_rate not in AAC_RATES:
            wave = resample_audio(wave, sample_rate, 48000)
            sample_rate = 48000
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    count, height, width = pixels.shape[:3]

    with atomic_output(path) as tmp:
        options = {"movflags": "+faststart+use_metadata_tags" if metadata else "+faststart"}
        if wave is not None:
            # edit lists (which hide the AAC priming samples) are stored in the movie timescale;
            # the default 1000 would round the audio length to whole milliseconds
            options["movie_timescale"] = str(sample_rate)
        container = av.open(str(tmp), mode="w", format="mp4", options=options)
        try:
            for key, value in (metadata or {}).items():
                container.metadata[str(key)] = str(value)
            vstream = container.add_stream("libx264", rate=rate)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
            vstream.codec_context.time_base = 1 / rate
            # mbtree=0: x264's macroblock-tree rate control made the same frames encode to different
            # bytes from run to run (decoded pixels up to 27 levels apart; 2-5 distinct files in 40
            # runs); without it 60 of 60 runs were identical, also with AAC muxed in
            vstream.options = {"crf": str(int(crf)), "preset": preset, "x264-params": "mbtree=0"}
            astream = None
            if wave is not None and wave.shape[1] > 0:
                layout = "mono" if wave.shape[0] == 1 else "stereo"
                astream = container.add_stream("aac", rate=sample_rate, layout=layout)
                astream.bit_rate = int(audio_bitrate)
            block = 1024
            layout = "mono"
            if astream is not None:
                block = astream.codec_context.frame_size or 1024
                layout = astream.codec_context.layout.name
            sent = 0  # audio samples handed to the encoder so far

            def send_audio(until: int) -> None:
                nonlocal sent
                while astream is not None and sent < min(until, wave.shape[1]):
                    chunk = np.ascontiguousarray(wave[:, sent : min(sent + block, wave.shape[1])])
                    aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
                    aframe.sample_rate = sample_rate
                    aframe.pts = sent
                    aframe.time_base = Fraction(1, sample_rate)
                    container.mux(astream.encode(aframe))
                    sent += chunk.shape[1]

            for index in range(count):
                frame = av.VideoFrame.from_ndarray(pixels[index], format="rgb24")
                frame.pts = index
                frame.time_base = vstream.codec_context.time_base
                container.mux(vstream.encode(frame))
                if astream is not None:  # keep the streams interleaved as we go
                    send_audio(samples_for_frames(index + 1, float(rate), sample_rate))
                if callback is not None:
                    callback(index + 1, count)
            container.mux(vstream.encode(None))
            if astream is not None:
                send_audio(wave.shape[1])
                container.mux(astream.encode(None))
        finally:
            container.close()
    return path
