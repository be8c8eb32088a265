"""Training mixtures with exact stems: world effects + espeak-ng speech + procedural or soundfont music.

A mixture is ``speech + effects + music`` (float32, 16 kHz, mono), each stem kept, mixed at random
relative levels like a film soundtrack (:func:`mix_levels`): speech is the reference and usually on
top, effects are sparse and loud at their peaks, music sits under the speech. Occasionally a stem is
missing (silent) in training mixtures so the separators see that case too; benchmark mixtures always
hold all three.

- effects: the sound of 1-3 physics-world clips (:func:`kinesonic.data.synth_clip`, 65 frames at 16
  fps) overlaid at random offsets;
- speech: :func:`.speech.synth_speech` (training or held-out voices);
- music: :func:`.music.synth_music` (training or held-out material), or with ``music="soundfont"``
  the same kind of score played on a General MIDI soundfont (:func:`.soundfont.soundfont_music`:
  training programs on TimGM6mb, held-out programs on FluidR3_GM), or ``"both"``: each mixture one or
  the other with probability 1/2 (:func:`music_source`).

Shards (same conventions as :mod:`kinesonic.data.shards`: one folder, temp file + rename, the
``.jsonl`` last so its presence means the shard is complete, rank ``r`` of a torchrun writes
``shard-r{r:03d}-{j:05d}``): ``PREFIX.stems.npy`` float32 [n, 3, S] (speech, effects, music; already
at their mixed levels), ``PREFIX.audio.npy`` float32 [n, S] (the mixture = the sum of the stems) and
``PREFIX.jsonl`` (one JSON object per mixture: ``index``, ``seed``, ``split``, levels in dB, speech,
music and effects descriptions; soundfont music says ``"source": "soundfont"`` with the soundfont's
file name, the GM programs and preset names; procedural music has no ``source`` key, as before).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .core import SAMPLE_RATE, STEM_NAMES

SPLITS = ("train", "heldout")
MUSIC_SOURCES = ("procedural", "soundfont", "both")
EFFECT_SEED_OFFSET = {"train": 0, "heldout": 10_000_000}


@dataclass
class Mixture:
    """``stems`` float32 [3, S] (speech, effects, music) and ``info``; ``mixture`` is their sum."""

    stems: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def mixture(self) -> np.ndarray:
        return self.stems.sum(axis=0, dtype=np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) if x.size else 0.0


def world_effects(
    rng: np.random.Generator, duration_s: float, split: str = "train"
) -> tuple[np.ndarray, dict[str, Any]]:
    """1-3 world clips' sound overlaid at random offsets: float32 [S] at its natural level, plus info."""
    from ..data import synth_clip

    n = int(round(duration_s * SAMPLE_RATE))
    out = np.zeros(n, np.float32)
    seeds = []
    for _ in range(int(rng.choice([1, 1, 2, 2, 3]))):
        seed = EFFECT_SEED_OFFSET[split] + int(rng.integers(0, 5_000_000))
        clip = synth_clip(seed, size=16, num_frames=65, fps=16.0)
        audio = clip.audio
        shift = int(rng.integers(-len(audio) // 2, n // 2))
        lo, hi = max(shift, 0), min(n, shift + len(audio))
        if hi > lo:
            out[lo:hi] += audio[lo - shift : hi - shift] * float(10 ** (rng.uniform(-6, 3) / 20))
        seeds.append({"seed": seed, "scene": clip.kind, "shift_s": shift / SAMPLE_RATE})
    return out, {"clips": seeds}


def mix_levels(rng: np.random.Generator, split: str = "train") -> dict[str, float | None]:
    """Stem levels in dB RMS relative to the speech (None = stem absent).

    speech 0 dB; effects -12..+4 dB (sparse, so their peaks stand out); music -20..-6 dB (a bed under
    the speech). Training mixtures drop speech (10 %), music (10 %) or effects (5 %).
    """
    levels: dict[str, float | None] = {
        "speech": 0.0,
        "effects": float(rng.uniform(-12.0, 4.0)),
        "music": float(rng.uniform(-20.0, -6.0)),
    }
    if split == "train":
        drop = rng.random()
        if drop < 0.10:
            levels["speech"] = None
        elif drop < 0.20:
            levels["music"] = None
        elif drop < 0.25:
            levels["effects"] = None
    return levels


def apply_levels(
    raw: dict[str, np.ndarray], levels: dict[str, float | None], rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Stems [3, S] scaled to ``levels`` (dB RMS relative to 0.1 RMS) and a common gain for a peak of
    0.3-0.9 (never above 0.99). Returns (stems, overall gain in dB)."""
    n = len(next(iter(raw.values())))
    stems = np.zeros((len(STEM_NAMES), n), np.float32)
    for k, name in enumerate(STEM_NAMES):
        level = levels.get(name)
        level_now = _rms(raw[name])
        if level is None or level_now <= 0:
            continue
        stems[k] = raw[name] * (0.1 * 10 ** (level / 20) / level_now)
    peak = float(np.abs(stems.sum(0)).max()) if n else 0.0
    gain = float(rng.uniform(0.3, 0.9)) / peak if peak > 0 else 1.0
    return (stems * gain).astype(np.float32), 20 * float(np.log10(gain))


def music_source(seed: int, music: str) -> str:
    """The music source of mixture (or bed) ``seed``: ``music`` itself, or for "both" "procedural" or
    "soundfont" with probability 1/2 each, drawn from a generator of its own (the mixture's other
    draws stay as they are for either source)."""
    if music not in MUSIC_SOURCES:
        raise ValueError(f"music source must be one of {MUSIC_SOURCES}, got {music!r}")
    if music != "both":
        return music
    return "soundfont" if np.random.default_rng((int(seed), 2026_12_03)).random() < 0.5 else "procedural"


def make_music(
    rng: np.random.Generator, duration_s: float, split: str, source: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """A piece of ``split``'s material from ``source`` ("procedural" or "soundfont"): float32 [S], info."""
    if source == "soundfont":
        from .soundfont import soundfont_music

        return soundfont_music(rng, duration_s, SAMPLE_RATE, family=split)
    from .music import synth_music

    return synth_music(rng, duration_s, SAMPLE_RATE, family=split)


def make_mixture(
    seed: int, duration_s: float = 4.0, split: str = "train", music: str = "procedural"
) -> Mixture:
    """Mixture number ``seed`` of ``split`` ("train": training voices/music, "heldout": unseen ones);
    ``music``: "procedural", "soundfont" or "both" (:func:`music_source`)."""
    from .speech import synth_speech

    if split not in SPLITS:
        raise ValueError(f"make_mixture: split must be one of {SPLITS}, got {split!r}")
    source = music_source(seed, music)
    rng_fx, rng_sp, rng_mu, rng_mix = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4)
    )
    effects, fx_info = world_effects(rng_fx, duration_s, split)
    speech, sp_info = synth_speech(rng_sp, duration_s, SAMPLE_RATE, voices=split)
    piece, mu_info = make_music(rng_mu, duration_s, split, source)
    levels = mix_levels(rng_mix, split)
    stems, gain_db = apply_levels({"speech": speech, "effects": effects, "music": piece}, levels, rng_mix)
    info = {
        "seed": int(seed),
        "split": split,
        "duration_s": float(duration_s),
        "levels_db": levels,
        "gain_db": gain_db,
        "speech": sp_info,
        "music": mu_info,
        "effects": fx_info,
    }
    return Mixture(stems, info)


def with_bed(
    effects: np.ndarray, seed: int, music_db: float | None = 0.0, speech_db: float | None = None,
    split: str = "heldout", music: str = "procedural",
) -> Mixture:  # fmt: skip
    """A world clip's sound ``effects [S]`` (16 kHz) with a music and/or speech bed added.

    The bed levels are dB RMS relative to the clip's own RMS (None = no such bed); ``music`` is the
    bed's source as in :func:`make_mixture`. Returns a :class:`Mixture` whose effects stem is
    ``effects`` unchanged, so metrics on the mixture, on a separated effects stem and on the clean
    clip can be compared.
    """
    from .speech import synth_speech

    source = music_source(seed, music)
    fx = np.asarray(effects, np.float32)
    level = _rms(fx)
    duration = len(fx) / SAMPLE_RATE
    rng_sp, rng_mu = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(2))
    stems = np.zeros((3, len(fx)), np.float32)
    stems[1] = fx
    info: dict[str, Any] = {"seed": int(seed), "music_db": music_db, "speech_db": speech_db}
    if music_db is not None and level > 0:
        piece, info["music"] = make_music(rng_mu, duration, split, source)
        stems[2] = piece * (level * 10 ** (music_db / 20) / max(_rms(piece), 1e-12))
    if speech_db is not None and level > 0:
        speech, info["speech"] = synth_speech(rng_sp, duration, SAMPLE_RATE, split)
        stems[0] = speech * (level * 10 ** (speech_db / 20) / max(_rms(speech), 1e-12))
    return Mixture(stems, info)


def mixture_seed(base_seed: int, index: int) -> int:
    """Seed of mixture ``index`` of a dataset with base seed ``base_seed`` (as :func:`clip_seed`)."""
    from ..data.world import clip_seed

    return clip_seed(base_seed, index)


def write_mix_shard(prefix: str | os.PathLike, mixtures: list[Mixture], indices: list[int]) -> Path:
    """Write ``mixtures`` (same length) as one shard; returns the ``.jsonl`` path (written last)."""
    from ..data.shards import _atomic_save_npy
    from ..media.files import atomic_write_text

    if not mixtures:
        raise ValueError("write_mix_shard: no mixtures")
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    stems = np.stack([m.stems for m in mixtures])
    _atomic_save_npy(prefix.with_name(prefix.name + ".stems.npy"), stems)
    _atomic_save_npy(prefix.with_name(prefix.name + ".audio.npy"), stems.sum(axis=1, dtype=np.float32))
    meta_path = prefix.with_name(prefix.name + ".jsonl")
    lines = [
        json.dumps({"index": int(i), **mix.info}) + "\n" for i, mix in zip(indices, mixtures, strict=True)
    ]
    atomic_write_text(meta_path, "".join(lines))
    return meta_path


def write_mix_shards(
    out_dir: str | os.PathLike,
    n: int,
    base_seed: int = 0,
    duration_s: float = 4.0,
    split: str = "train",
    shard_size: int = 100,
    rank: int = 0,
    world_size: int = 1,
    callback: Callable[[int, int], None] | None = None,
    music: str = "procedural",
) -> list[Path]:
    """This rank's share of mixtures 0..n-1 into shards in ``out_dir``; complete shards are skipped.
    ``music``: the music source of :func:`make_mixture`."""
    from ..data.shards import _check_folder, _count_lines

    if n < 0 or shard_size < 1 or duration_s <= 0:
        raise ValueError(
            f"write_mix_shards: need n >= 0, shard_size >= 1, duration > 0; "
            f"got {n}, {shard_size}, {duration_s}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # a folder made with another seed / duration / split / sharding is refused (data/shards.py)
    settings = {"kind": "mixtures", "n": n, "seed": base_seed, "duration_s": duration_s, "split": split,
                "shard_size": shard_size, "world_size": world_size}  # fmt: skip
    music_source(0, music)  # an unknown source fails before any work
    if music != "procedural":  # recorded only then: folders made before the option stay valid
        settings["music"] = music
    _refuse_other_music(out, music)
    _check_folder(out, settings, rank)
    mine = list(range(rank, n, world_size))
    paths, done = [], 0
    for j in range(0, len(mine), shard_size):
        chunk = mine[j : j + shard_size]
        prefix = out / f"shard-r{rank:03d}-{j // shard_size:05d}"
        meta = prefix.with_name(prefix.name + ".jsonl")
        if meta.exists() and _count_lines(meta) == len(chunk):
            done += len(chunk)
            if callback is not None:
                callback(done, len(mine))
        else:
            mixes = []
            for i in chunk:
                mixes.append(make_mixture(mixture_seed(base_seed, i), duration_s, split, music))
                done += 1
                if callback is not None:
                    callback(done, len(mine))
            write_mix_shard(prefix, mixes, chunk)
        paths.append(meta)
    return paths


def _refuse_other_music(out: Path, music: str) -> None:
    """A ValueError if folder ``out`` holds shards of another music source (``_check_folder`` compares
    only the settings asked for, and a procedural request records no ``music`` setting)."""
    from ..data.shards import MANIFEST

    try:
        old = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("music", "procedural")
    except (OSError, ValueError, AttributeError):
        return  # no or unreadable manifest: _check_folder decides
    if old != music:
        raise ValueError(
            f"{out} holds shards made with other settings (music: folder has {old!r}, asked {music!r}); "
            "use another output folder or delete this one"
        )


def load_stems(root: str | os.PathLike) -> np.ndarray:
    """All complete shards' stems of folder ``root`` as float32 [N, 3, S] (memory, index order)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"mixture folder {root} does not exist")
    arrays, order = [], []
    for meta in sorted(root.glob("*.jsonl")):
        base = meta.with_suffix("")
        stems = np.load(base.with_name(base.name + ".stems.npy"))
        with open(meta, encoding="utf-8") as fh:
            idx = [json.loads(line)["index"] for line in fh if line.strip()]
        arrays.append(stems)
        order.extend(idx)
    if not arrays:
        raise FileNotFoundError(f"no complete mixture shards (*.jsonl) in {root}")
    stems = np.concatenate(arrays)
    return stems[np.argsort(order, kind="stable")]
