"""Training data: clip sources and the deterministic global batch schedule.

A source is indexable and returns :class:`TrainClip` items. Three kinds (see :func:`open_source`):

- a shard folder written by ``kinesonic data synth`` (:class:`ShardSource`);
- ``"synth:N"``: N physics-world clips synthesised on the fly, clip i with seed
  ``clip_seed(data_seed, i)`` — the same clips ``kinesonic data synth --seed data_seed`` would write
  (:class:`SynthSource`);
- a folder of annotated clips: ``*.json`` files of ``kinesonic annotate`` (format
  ``kinesonic.annotation``) next to (or, with ``video_dir``, relative to) their videos
  (:class:`AnnotatedFolderSource`). Videos are resized to the model size, resampled to its frame rate,
  cut to its frame count; tracks are scaled with the picture.

The batch of optimiser step ``s`` is a pure function of (dataset size, global batch, seed, s):
:func:`global_batch_indices`. Rank r of W takes the r-th contiguous slice, so the union over ranks is
the same global batch whatever W is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..kinematics import Tracks


@dataclass
class TrainClip:
    """One training clip.

    Attributes:
        frames: uint8 ``[T, H, W, 3]``.
        audio: float32 ``[S]`` mono at the model's sample rate.
        tracks: pixel tracks of the objects (or None).
        caption: text prompt ("" = none).
        physics: PHYSICS of the objects (``masses_kg [N]`` kg, ``velocity_mps [T, N, 2]`` m/s,
            ``fps``) or None.
    """

    frames: np.ndarray
    audio: np.ndarray
    tracks: Tracks | None
    caption: str
    physics: dict[str, Any] | None = None


def _physics(masses: Any, velocity: Any, fps: float) -> dict[str, Any] | None:
    """The PHYSICS value the generator reads (:func:`kinesonic.models.conditioning.physics_tensors`)."""
    m = np.asarray(masses, dtype=np.float32).reshape(-1)
    if m.size == 0:
        return None
    v = np.asarray(velocity, dtype=np.float32).reshape(-1, m.size, 2)
    return {"masses_kg": m, "velocity_mps": v, "fps": float(fps)}


def _tracks_from_meta(meta: dict[str, Any]) -> Tracks | None:
    points = np.asarray(meta["points_px"], dtype=np.float64)
    if points.ndim != 3 or points.shape[1] == 0:
        return None
    size = int(meta["size"])
    return Tracks(
        points, np.asarray(meta["visible"], bool), float(meta["fps"]), size, size, tuple(meta["labels"])
    )


class ShardSource:
    """Clips of a shard folder (:class:`kinesonic.data.ShardDataset`)."""

    def __init__(self, root: str | os.PathLike) -> None:
        from ..data import ShardDataset

        self.dataset = ShardDataset(root)
        if len(self.dataset) == 0:
            raise ValueError(f"no complete shards in {root}")

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> TrainClip:
        meta = self.dataset.metadata(i)
        meta_path, row, _, _ = self.dataset._rows[i]
        frames, audio = self.dataset._load(meta_path)
        return TrainClip(
            np.array(frames[row]),
            np.array(audio[row], dtype=np.float32),
            _tracks_from_meta(meta),
            meta["caption"],
            _physics(meta["masses_kg"], meta["velocity_mps"], meta["fps"]),
        )


class SynthSource:
    """``n`` world clips made on demand: clip i = ``synth_clip(clip_seed(base_seed, i), ...)``.

    The first :attr:`CACHE_CLIPS` distinct clips made are kept in memory.
    """

    CACHE_CLIPS = 256

    def __init__(self, n: int, base_seed: int = 0, size: int = 64, num_frames: int = 33, fps: float = 16.0):
        if n < 1:
            raise ValueError(f"SynthSource needs n >= 1, got {n}")
        self.n, self.base_seed, self.size, self.num_frames, self.fps = n, base_seed, size, num_frames, fps
        self._cache: dict[int, TrainClip] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> TrainClip:
        from ..data import clip_seed, synth_clip

        if not 0 <= i < self.n:
            raise IndexError(i)
        if i in self._cache:
            return self._cache[i]
        clip = synth_clip(clip_seed(self.base_seed, i), self.size, self.num_frames, self.fps)
        item = TrainClip(
            clip.frames,
            clip.audio,
            clip.tracks,
            clip.caption,
            _physics(clip.masses, clip.velocity_mps, clip.fps),
        )
        if len(self._cache) < self.CACHE_CLIPS:
            self._cache[i] = item
        return item


class AnnotatedFolderSource:
    """Clips annotated by ``kinesonic annotate``: each ``*.json`` (format ``kinesonic.annotation``) names
    its video (path relative to ``video_dir``, default the JSON's folder root)."""

    def __init__(
        self,
        root: str | os.PathLike,
        size: tuple[int, int],
        num_frames: int,
        fps: float,
        sample_rate: int,
        video_dir: str | os.PathLike | None = None,
    ) -> None:
        self.root = Path(root)
        self.video_dir = Path(video_dir) if video_dir else self.root
        self.size, self.num_frames, self.fps, self.sample_rate = size, num_frames, fps, sample_rate
        self.items: list[Path] = []
        for path in sorted(self.root.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            ok = isinstance(data, dict) and data.get("format") == "kinesonic.annotation"
            if ok and data.get("complete"):
                self.items.append(path)
        if not self.items:
            raise ValueError(f"no complete kinesonic.annotation JSON files under {self.root}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> TrainClip:
        from ..media.audio import resample_audio
        from ..media.timing import fit_audio, fit_frames
        from ..media.video import read_video

        data = json.loads(self.items[i].read_text(encoding="utf-8"))
        w, h = self.size
        from ..media.paths import inside  # an annotation may not point at a video outside video_dir

        video = read_video(inside(self.video_dir, data["video"], what="video"), size=(w, h), fps=self.fps)
        frames = fit_frames(video.frames, self.num_frames)
        audio = np.asarray(video.audio, dtype=np.float32).mean(axis=0)
        if video.sample_rate != self.sample_rate:
            audio = resample_audio(audio, video.sample_rate, self.sample_rate)
        n_samples = round(self.num_frames / self.fps * self.sample_rate)
        audio = fit_audio(np.asarray(audio, dtype=np.float32).reshape(-1), n_samples)
        tracks = Tracks.from_json(data["tracks"])
        pts = tracks.points * np.array([w / tracks.width, h / tracks.height])
        # resample tracks onto the model's frame times (nearest source frame), padded with the last one
        src = np.round(np.arange(self.num_frames) / self.fps * tracks.fps).astype(int)
        src = np.minimum(src, tracks.num_frames - 1)
        tracks = Tracks(pts[src], tracks.visible[src], self.fps, w, h, tracks.labels)
        return TrainClip(frames, audio.astype(np.float32), tracks.drop_never_visible(), "", None)


def open_source(
    spec: str,
    size: tuple[int, int] = (64, 64),
    num_frames: int = 33,
    fps: float = 16.0,
    sample_rate: int = 16000,
    base_seed: int = 0,
) -> ShardSource | SynthSource | AnnotatedFolderSource:
    """Source named by ``spec``: ``"synth:N"``, a shard folder (has ``*.jsonl``), or an annotation folder."""
    spec = str(spec).strip()
    if spec.startswith("synth:"):
        if size[0] != size[1]:
            raise ValueError("synth: the physics world renders square frames")
        return SynthSource(int(spec.split(":", 1)[1]), base_seed, size[0], num_frames, fps)
    root = Path(spec)
    if not root.is_dir():
        raise FileNotFoundError(f"training data folder {spec!r} does not exist (or use 'synth:N')")
    if any(root.glob("*.jsonl")):
        return ShardSource(root)
    return AnnotatedFolderSource(root, size, num_frames, fps, sample_rate)


def global_batch_indices(n: int, batch: int, step: int, seed: int) -> np.ndarray:
    """Dataset indices of the global batch of optimiser step ``step`` (0-based).

    Epoch e is the permutation ``default_rng([seed, e]).permutation(n)`` cut into ``n // batch`` full
    batches (the remainder is skipped); when ``batch > n`` indices wrap around a single permutation.
    """
    if n < 1 or batch < 1:
        raise ValueError("global_batch_indices: need n >= 1 and batch >= 1")
    per_epoch = max(n // batch, 1)
    epoch, pos = divmod(int(step), per_epoch)
    perm = np.random.default_rng([int(seed) & 0xFFFFFFFF, epoch]).permutation(n)
    if batch > n:
        perm = np.resize(perm, batch)
    return perm[pos * batch : (pos + 1) * batch]


def rank_slice(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """The contiguous part of a global batch that rank ``rank`` of ``world`` trains on."""
    if len(indices) % world:
        raise ValueError(f"global batch {len(indices)} is not divisible by the world size {world}")
    k = len(indices) // world
    return indices[rank * k : (rank + 1) * k]


def sample_seed(seed: int, stage: int, step: int, index: int) -> int:
    """Seed of all per-sample randomness of dataset item ``index`` at ``step`` of stage ``stage``.

    Depends only on (run seed, stage, step, global item index), never on the rank or the position in
    a local batch, so distributed runs draw exactly the same noise as a single process.
    """
    ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(stage), int(step), int(index)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


__all__ = [
    "AnnotatedFolderSource",
    "ShardSource",
    "SynthSource",
    "TrainClip",
    "global_batch_indices",
    "open_source",
    "rank_slice",
    "sample_seed",
]
