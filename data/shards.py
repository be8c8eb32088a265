"""Shards of generated world clips: writer (sharded by rank under torchrun) and a torch Dataset.

A shard named ``PREFIX`` is three files in one folder, each written to a temporary name and
renamed, the metadata last (so a ``.jsonl`` present means the shard is complete):

- ``PREFIX.frames.npy``  uint8 [n, T, H, W, 3]
- ``PREFIX.audio.npy``   float32 [n, S]
- ``PREFIX.jsonl``       n lines, one JSON object per clip (:meth:`Clip.metadata` plus ``index``)

Clip ``i`` of a dataset with base seed ``B`` has seed :func:`clip_seed(B, i) <.world.clip_seed>` and
belongs to rank ``i % world_size``; rank r writes ``shard-r{r:03d}-{j:05d}`` files holding its
clips in index order, ``shard_size`` per file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from .world import Clip, clip_seed, synth_clip

MAX_OBJECTS = 2
_INDEX = re.compile(rb'\{"index": (\d+),')


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
    os.replace(tmp, path)


def write_shard(
    prefix: str | os.PathLike, clips: Sequence[Clip], indices: Sequence[int] | None = None
) -> Path:
    """Write ``clips`` (same T, size and S) as one shard; returns the ``.jsonl`` path."""
    if not clips:
        raise ValueError("write_shard: no clips")
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    shapes = {(c.frames.shape, c.audio.shape) for c in clips}
    if len(shapes) != 1:
        raise ValueError(f"write_shard: clips differ in frame/audio shapes: {sorted(shapes)}")
    indices = list(range(len(clips))) if indices is None else list(indices)
    _atomic_save_npy(prefix.with_name(prefix.name + ".frames.npy"), np.stack([c.frames for c in clips]))
    _atomic_save_npy(prefix.with_name(prefix.name + ".audio.npy"), np.stack([c.audio for c in clips]))
    meta_path = prefix.with_name(prefix.name + ".jsonl")
    tmp = meta_path.with_name(f".{meta_path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        for index, clip in zip(indices, clips, strict=True):
            fh.write(json.dumps({"index": int(index), **clip.metadata()}) + "\n")
    os.replace(tmp, meta_path)
    return meta_path


def rank_and_world(env: dict[str, str] | None = None) -> tuple[int, int]:
    """(RANK, WORLD_SIZE) from the environment (torchrun sets them); (0, 1) when absent."""
    env = os.environ if env is None else env
    rank, world = int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1))
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"bad RANK={rank} / WORLD_SIZE={world}")
    return rank, world


def write_shards(
    out_dir: str | os.PathLike,
    n: int,
    base_seed: int = 0,
    size: int = 64,
    num_frames: int = 33,
    fps: float = 16.0,
    scene: str | None = None,
    shard_size: int = 256,
    rank: int = 0,
    world_size: int = 1,
    callback: Callable[[int, int], None] | None = None,
    **options: Any,
) -> list[Path]:
    """Generate this rank's share of clips 0..n-1 and write its shards into ``out_dir``.

    Shards that already exist (complete ``.jsonl``) are skipped, so an interrupted run resumes.
    ``callback(done, total)`` reports progress in clips of this rank. Returns the ``.jsonl`` paths
    of this rank's shards.
    """
    if n < 0 or shard_size < 1:
        raise ValueError(f"write_shards: need n >= 0 and shard_size >= 1, got n={n}, shard_size={shard_size}")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"write_shards: bad rank {rank} for world size {world_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mine = list(range(rank, n, world_size))
    paths = []
    done = 0
    for j in range(0, len(mine), shard_size):
        chunk = mine[j : j + shard_size]
        prefix = out / f"shard-r{rank:03d}-{j // shard_size:05d}"
        meta = prefix.with_name(prefix.name + ".jsonl")
        if not (meta.exists() and _count_lines(meta) == len(chunk)):
            clips = []
            for i in chunk:
                clips.append(synth_clip(clip_seed(base_seed, i), size, num_frames, fps, scene, **options))
                done += 1
                if callback is not None:
                    callback(done, len(mine))
            write_shard(prefix, clips, chunk)
        else:
            done += len(chunk)
            if callback is not None:
                callback(done, len(mine))
        paths.append(meta)
    return paths


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


class ShardDataset(Dataset):
    """All complete shards of a folder as a ``torch.utils.data.Dataset`` (map-style).

    Items are dicts: ``frames`` uint8 [T,H,W,3], ``audio`` float32 [S], ``tracks`` float32
    [T,MAX_OBJECTS,2] (pixels, padded with 0), ``visible`` bool [T,MAX_OBJECTS], ``object_mask`` bool
    [MAX_OBJECTS], ``velocity_mps`` float32 [T,MAX_OBJECTS,2], ``masses_kg`` float32 [MAX_OBJECTS],
    ``px_per_m`` float32 [], ``caption`` str, ``meta`` dict (the clip's JSON metadata). Use
    :meth:`collate` as the DataLoader's ``collate_fn`` (stacks tensors, keeps captions/meta as lists).
    Clips are ordered by their dataset index.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        super().__init__()
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"ShardDataset: folder {self.root} does not exist")
        # (metadata file, row in the shard, byte offset of the line, dataset index); lines are
        # parsed only when an item is read, so huge datasets do not fill memory with metadata
        self._rows: list[tuple[Path, int, int, int]] = []
        for meta_path in sorted(self.root.glob("*.jsonl")):
            with open(meta_path, "rb") as fh:
                offset, row = 0, 0
                for line in fh:
                    if line.strip():
                        match = _INDEX.match(line)
                        index = int(match.group(1)) if match else json.loads(line)["index"]
                        self._rows.append((meta_path, row, offset, index))
                        row += 1
                    offset += len(line)
        self._rows.sort(key=lambda r: r[3])
        self._arrays: dict[Path, tuple[np.ndarray, np.ndarray]] = {}

    def metadata(self, i: int) -> dict[str, Any]:
        """The JSON metadata of item ``i`` (see :meth:`Clip.metadata`, plus ``index``)."""
        meta_path, _, offset, _ = self._rows[i]
        with open(meta_path, "rb") as fh:
            fh.seek(offset)
            return json.loads(fh.readline())

    def __len__(self) -> int:
        return len(self._rows)

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers re-open the memory maps themselves (pickling one would copy the shard)
        state = dict(self.__dict__)
        state["_arrays"] = {}
        return state

    def _load(self, meta_path: Path) -> tuple[np.ndarray, np.ndarray]:
        if meta_path not in self._arrays:
            base = meta_path.with_suffix("")
            frames = np.load(base.with_name(base.name + ".frames.npy"), mmap_mode="r")
            audio = np.load(base.with_name(base.name + ".audio.npy"), mmap_mode="r")
            self._arrays[meta_path] = (frames, audio)
        return self._arrays[meta_path]

    def __getitem__(self, i: int) -> dict[str, Any]:
        import torch

        meta_path, row, _, _ = self._rows[i]
        meta = self.metadata(i)
        frames, audio = self._load(meta_path)
        t = meta["num_frames"]
        n = len(meta["labels"])
        tracks = np.zeros((t, MAX_OBJECTS, 2), dtype=np.float32)
        tracks[:, :n] = np.asarray(meta["points_px"], dtype=np.float32)
        visible = np.zeros((t, MAX_OBJECTS), dtype=bool)
        visible[:, :n] = np.asarray(meta["visible"], dtype=bool)
        velocity = np.zeros((t, MAX_OBJECTS, 2), dtype=np.float32)
        velocity[:, :n] = np.asarray(meta["velocity_mps"], dtype=np.float32)
        masses = np.zeros(MAX_OBJECTS, dtype=np.float32)
        masses[:n] = meta["masses_kg"]
        mask = np.arange(MAX_OBJECTS) < n
        return {
            "frames": torch.from_numpy(np.array(frames[row])),
            "audio": torch.from_numpy(np.array(audio[row])),
            "tracks": torch.from_numpy(tracks),
            "visible": torch.from_numpy(visible),
            "object_mask": torch.from_numpy(mask),
            "velocity_mps": torch.from_numpy(velocity),
            "masses_kg": torch.from_numpy(masses),
            "px_per_m": torch.tensor(float(meta["px_per_m"]), dtype=torch.float32),
            "caption": meta["caption"],
            "meta": meta,
        }

    @staticmethod
    def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
        """Batch items: tensors stacked along a new dim 0; ``caption`` and ``meta`` as lists."""
        import torch

        out: dict[str, Any] = {}
        for key in items[0]:
            values = [item[key] for item in items]
            out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
        return out
