"""Compare the files a workflow wrote in ComfyUI with the files the headless runner wrote.

Media are compared by decoded content (PyAV for mp4/webm/wav/flac, Pillow for images), so a
difference in container metadata alone is not a difference; everything else byte for byte.
``Tolerance`` gives the allowed absolute difference per kind (0 = identical).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIDEO = {".mp4", ".webm", ".mkv", ".mov"}
AUDIO = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"}
IMAGE = {".png", ".jpg", ".jpeg", ".webp"}


@dataclass(frozen=True)
class Tolerance:
    pixels: float = 0.0  # max |difference| of decoded 8-bit pixel values
    samples: float = 0.0  # max |difference| of decoded float audio samples
    numbers: float = 0.0  # max |difference| of numbers in JSON files


EXACT = Tolerance()


def decode_av(data: bytes) -> dict[str, np.ndarray | float | int]:
    """Decoded streams of a media file: frames [T,H,W,3] uint8, audio [C,S] float32, rates."""
    import av

    out: dict[str, np.ndarray | float | int] = {}
    with av.open(io.BytesIO(data)) as container:
        if container.streams.video:
            stream = container.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            out["frames"] = np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)
            out["fps"] = float(stream.average_rate or 0)
    with av.open(io.BytesIO(data)) as container:
        if container.streams.audio:
            stream = container.streams.audio[0]
            chunks = [f.to_ndarray().astype(np.float32) for f in container.decode(stream)]
            planar = [c if c.ndim == 2 else c[None] for c in chunks]
            out["audio"] = np.concatenate(planar, axis=1) if planar else np.zeros((0, 0), np.float32)
            out["sample_rate"] = int(stream.rate)
    return out


def decode_image(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def differences(name: str, server: bytes, local: bytes, tol: Tolerance = EXACT) -> list[str]:
    """Human-readable differences between the server's and the runner's version of file ``name``."""
    suffix = Path(name).suffix.lower()
    if server == local:
        return []
    if suffix in VIDEO | AUDIO:
        a, b = decode_av(server), decode_av(local)
        problems = []
        if sorted(a) != sorted(b):
            return [f"{name}: streams differ: server {sorted(a)} vs runner {sorted(b)}"]
        for key in ("fps", "sample_rate"):
            if key in a and a[key] != b[key]:
                problems.append(f"{name}: {key} {a[key]} vs {b[key]}")
        for key, limit in (("frames", tol.pixels), ("audio", tol.samples)):
            if key not in a:
                continue
            x, y = np.asarray(a[key]), np.asarray(b[key])
            if x.shape != y.shape:
                problems.append(f"{name}: {key} shape {x.shape} vs {y.shape}")
                continue
            worst = float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
            if worst > limit:
                problems.append(f"{name}: {key} differ by up to {worst:g} (allowed {limit:g})")
        return problems
    if suffix in IMAGE:
        x, y = decode_image(server), decode_image(local)
        if x.shape != y.shape:
            return [f"{name}: image shape {x.shape} vs {y.shape}"]
        worst = float(np.max(np.abs(x.astype(np.int16) - y.astype(np.int16))))
        return [f"{name}: pixels differ by up to {worst:g}"] if worst > tol.pixels else []
    if suffix == ".json":
        return _json_differences(name, json.loads(server), json.loads(local), tol.numbers)
    return [f"{name}: {len(server)} bytes from the server differ from {len(local)} bytes from the runner"]


def _json_differences(where: str, a, b, limit: float) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return [f"{where}: keys {sorted(a)} vs {sorted(b)}"]
        return [p for k in a for p in _json_differences(f"{where}.{k}", a[k], b[k], limit)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} vs {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [p for i, (x, y) in pairs for p in _json_differences(f"{where}[{i}]", x, y, limit)]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return [] if abs(a - b) <= limit else [f"{where}: {a} vs {b} (allowed {limit:g})"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def ui_files(ui: dict) -> list[dict]:
    """The ``{"filename", "subfolder", "type"}`` entries of an output node's ``ui`` dict."""
    entries = []
    for value in ui.values():
        if isinstance(value, list):
            entries.extend(v for v in value if isinstance(v, dict) and "filename" in v)
    return entries
