"""Shards of generated world clips: writer (sharded by rank under torchrun) and a torch Dataset.

A shard named ``PREFIX`` is three files in one folder, each written to a temporary name and
renamed, the metadata last (so a ``.jsonl`` present means the shard is complete):

- ``PREFIX.frames.npy``  uint8 [n, T, H, W, 3]
- ``PREFIX.audio.npy``   float32 [n, S]
- ``PREFIX.jsonl``       n lines, one JSON object per clip (:meth:`Clip.metadata` plus ``index``)

Clip ``i`` of a dataset with base seed ``B`` has seed :func:`clip_seed(B, i) <.world.clip_seed>` and
belongs to rank ``i % world_size``; rank r writes ``shard-r{r:03d}-{j:05d}`` files holding its
clips in index order, ``shard_size`` per file.

The folder's ``dataset.json`` records the settings the shards were made with; a re-run with other
settings (size, seed, frames, fps, scene, shard size, ranks, options, or fewer clips) is refused
instead of mixing old shards into the new dataset. Temporary files left by a killed run of this
rank are removed when it starts again.
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


MANIFEST = "dataset.json"


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    from ..media.files import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


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
    from ..media.files import atomic_write_text

    lines = [
        json.dumps({"index": int(index), **c.metadata()}) + "\n"
        for index, c in zip(indices, clips, strict=True)
    ]
    atomic_write_text(meta_path, "".join(lines))
    return meta_path


def _settings_differ(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences that make the shards of ``old`` unusable for ``new``."""
    diffs = [
        f"{k}: folder has {old.get(k)!r}, asked {v!r}" for k, v in new.items() if k != "n" and old.get(k) != v
    ]
    if int(old.get("n", 0)) > int(new["n"]):
        diffs.append(f"n: folder has {old['n']} clips, asked {new['n']} (fewer)")
    return diffs


def _check_folder(out: Path, settings: dict[str, Any], rank: int) -> None:
    """Refuse a folder made with other settings; record the settings; drop this rank's stale temp files."""
    from ..media.files import atomic_write_text

    manifest = out / MANIFEST
    old: dict[str, Any] | None = None
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(
                f"{manifest}: unreadable dataset settings ({error}); use another folder"
            ) from None
    else:
        old = _legacy_settings(out, settings)
    if old is not None:
        diffs = _settings_differ(old, settings)
        if diffs:
            raise ValueError(
                f"{out} holds shards made with other settings ({'; '.join(diffs)}); "
                "use another output folder or delete this one"
            )
    if rank == 0 and (old is None or int(old.get("n", 0)) != settings["n"]):
        atomic_write_text(manifest, json.dumps(settings, indent=1) + "\n")
    for stale in out.glob(f".shard-r{rank:03d}-*"):
        if stale.is_file() and (".tmp" in stale.name or stale.name.endswith(".part")):
            stale.unlink(missing_ok=True)


def _legacy_settings(out: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """Settings of a folder written before ``dataset.json`` existed, from its first shard (or None)."""
    for meta in sorted(out.glob("shard-r*.jsonl")):
        with open(meta, encoding="utf-8") as fh:
            line = fh.readline()
        try:
            first = json.loads(line)
        except ValueError:
            continue
        same_seed = first.get("seed") == clip_seed(settings["seed"], int(first.get("index", -1)))
        return {
            **settings,
            "seed": settings["seed"] if same_seed else f"another (clip seed {first.get('seed')})",
            "size": first.get("size"),
            "num_frames": first.get("num_frames"),
            "fps": first.get("fps"),
        }
    return None


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
    settings = {
        "format": "kinesonic.world_shards",
        "n": int(n),
        "seed": int(base_seed),
        "size": int(size),
        "num_frames": int(num_frames),
        "fps": float(fps),
        "scene": scene,
        "shard_size": int(shard_size),
        "world_size": int(world_size),
        "options": {k: options[k] for k in sorted(options)},
    }
    _check_folder(out, settings, rank)
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
