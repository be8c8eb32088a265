"""Onset detector variants on physics-world clips: onsets per contact, contact recall, ETE, onset AP, APCC,
and ETE with a music bed after demixing.

Usage: ``python benchmarks/bench_onsets.py [--clips 100] [--demix-clips 32] [--cache DIR]``

The variants differ only in the floor of the log-power mel spectrogram before the spectral flux
(:class:`kinesonic.metrics.onsets.OnsetParams` ``top_db``: dB below the clip's loudest mel bin)
and the peak-picking threshold ``delta`` (on the max-normalised envelope); everything else is the
default.

1. **Simulator sound** (``--clips`` held-out world clips, ``held_out_seeds(clips, 1000, 0, 20000)``
   as ``kinesonic eval --world``: 64 px, 33 frames, 16 fps). On clips with at least one contact:
   contacts per clip (the simulator's contact times, clusters closer than 30 ms merged — the
   detector's ``wait``); audio onsets per clip and per contact; recall / precision of the contacts
   by onsets within 0.05 s (one-to-one, nearest pairs first; totals over clips); ETE (s, tau 0.2)
   of the onsets vs the contact times and vs the visual events of the tracks (the world table's
   ETE); onset accuracy / AP of the simulator sound after an mp4 (AAC 192 kb/s) round trip against
   the simulator sound (the world table's ground-truth row); APCC of the simulator sound (clips
   with >= 2 contacts).
2. **Music bed** (``--demix-clips`` clips as ``benchmarks/bench_demix.py --what ete``: seeds
   20_000_000 + i, 32 px, 65 frames, bed seed 30_000 + i at ``--bed-db`` re the clip RMS): ETE
   (s, tau 0.2; one table vs the visual events of the tracks, as bench_demix, one vs the contact
   times) of the clean clip, of the raw mixture, of the effects stem of the oracle ratio mask and
   of the shipped separator network (and of the network run on the clean clip), each cell with
   onsets per clip and the paired mean difference to the clean clip.

``--cache DIR`` keeps the generated audio (``.npz``) so that a second run only re-detects onsets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from kinesonic.metrics.apcc import apcc
from kinesonic.metrics.ete import event_timing_error, merge_close_events
from kinesonic.metrics.onset_match import match_onsets
from kinesonic.metrics.onsets import OnsetParams, detect_onsets, strength_at, strength_envelope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_demix import oracle_irm  # noqa: E402  (the oracle ratio mask of the demixing benchmark)

SR = 16000
OLD = {"top_db": 80.0, "delta": 0.07}  # the parameters before the level floor
VARIANTS: dict[str, OnsetParams] = {
    "top_db 80, delta 0.07 (old)": OnsetParams(**OLD),
    "top_db 60, delta 0.07": OnsetParams(top_db=60.0, delta=0.07),
    "top_db 50, delta 0.07": OnsetParams(top_db=50.0, delta=0.07),
    "top_db 40, delta 0.07": OnsetParams(top_db=40.0, delta=0.07),
    "top_db 30, delta 0.07": OnsetParams(top_db=30.0, delta=0.07),
    "top_db 80, delta 0.15": OnsetParams(top_db=80.0, delta=0.15),
    "top_db 50, delta 0.12": OnsetParams(top_db=50.0, delta=0.12),
    "top_db 60, delta 0.15 (default)": OnsetParams(),
    "top_db 60, delta 0.17": OnsetParams(top_db=60.0, delta=0.17),
    "top_db 60, delta 0.20": OnsetParams(top_db=60.0, delta=0.2),
}


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from kinesonic.media.files import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def _cached(cache: Path | None, name: str, make: Any) -> dict[str, np.ndarray]:
    path = None if cache is None else cache / f"{name}.npz"
    if path is not None and path.is_file():
        with np.load(path) as data:
            return dict(data)
    arrays = make()
    if path is not None:
        _save(path, arrays)
    return arrays


def aac_round_trip(audio: np.ndarray, fps: float) -> np.ndarray:
    """``audio [S]`` (16 kHz) after writing an mp4 (black frames, AAC) and decoding it again."""
    from kinesonic.media.video import decode_audio_stream, write_video

    frames = np.zeros((max(int(round(audio.size / SR * fps)), 2), 16, 16, 3), np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        write_video(path, frames, fps, audio[None].astype(np.float32), SR)
        decoded, rate = decode_audio_stream(path)
    from kinesonic.metrics.onsets import resample

    return resample(decoded.mean(axis=0), int(rate), SR)[: audio.size].astype(np.float32)


def world_clip(seed: int) -> dict[str, np.ndarray]:
    from kinesonic.data import synth_clip
    from kinesonic.kinematics import detect_events

    clip = synth_clip(seed, 64, 33, 16.0)
    audio = np.asarray(clip.audio, np.float32).reshape(-1)
    return {
        "audio": audio,
        "aac": aac_round_trip(audio, clip.tracks.fps),
        "contacts": np.asarray([e["time_s"] for e in clip.events], np.float64),
        "delta_ke": np.asarray([abs(e.get("delta_ke_J", 0.0)) for e in clip.events], np.float64),
        "visual": np.asarray(detect_events(clip.tracks), np.float64),
    }


def demix_clip(i: int, bed_db: float, network: Any) -> dict[str, np.ndarray]:
    from kinesonic.data import synth_clip
    from kinesonic.kinematics import detect_events
    from kinesonic.separation.mixtures import with_bed
    from kinesonic.separation.separate import separate

    clip = synth_clip(20_000_000 + i, size=32, num_frames=65, fps=16.0)
    clean = np.asarray(clip.audio, np.float32).reshape(-1)
    bedded = with_bed(clean, 30_000 + i, music_db=bed_db)
    out = {
        "no bed": clean,
        "bed, raw mixture": bedded.mixture.astype(np.float32),
        "bed, oracle IRM effects": oracle_irm(bedded.stems)[1].astype(np.float32),
        "contacts": np.asarray([e["time_s"] for e in clip.events], np.float64),
        "visual": np.asarray(detect_events(clip.tracks), np.float64),
    }
    if network is not None:
        out["bed, network effects"] = separate(bedded.mixture[None], SR, network)[1, 0].astype(np.float32)
        out["no bed, network effects"] = separate(clean[None], SR, network)[1, 0].astype(np.float32)
    return out


def match_within(found: np.ndarray, truth: np.ndarray, tol: float) -> int:
    """Number of one-to-one pairs closer than ``tol`` seconds, nearest pairs first."""
    pairs = sorted(
        (abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= tol
    )
    used_f, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


def world_table(clips: list[dict[str, np.ndarray]]) -> None:
    impact = [c for c in clips if c["contacts"].size]
    n_raw = sum(c["contacts"].size for c in impact)
    print(
        f"\n## Simulator sound, {len(impact)} impact clips of {len(clips)} held-out world clips "
        f"({n_raw} contacts, {n_raw / max(len(impact), 1):.2f} per clip before merging)\n"
    )
    print(
        "| variant | contacts / clip | onsets / clip | onsets / contact | recall 0.05 s | precision 0.05 s "
        "| ETE vs contacts (s) | ETE vs visual (s) | onset acc AAC | onset AP AAC | APCC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, params in VARIANTS.items():
        n_true = n_on = n_hit = 0
        ete_c, ete_v, acc, ap, corr = [], [], [], [], []
        for c in impact:
            truth = merge_close_events(c["contacts"], 0.03)
            onsets = detect_onsets(c["audio"], SR, params)
            n_true += truth.size
            n_on += onsets.size
            n_hit += match_within(onsets, truth, 0.05)
            ete_c.append(event_timing_error(truth, onsets))
            ete_v.append(event_timing_error(c["visual"], onsets))
            gen = detect_onsets(c["aac"], SR, params)
            env, t = strength_envelope(c["aac"], SR, params)
            m = match_onsets(onsets, gen, strength_at(env, t, gen))
            acc.append(m.accuracy)
            ap.append(m.ap)
            if c["contacts"].size >= 2:
                env, t = strength_envelope(c["audio"], SR, params)
                value = apcc(c["delta_ke"], strength_at(env, t, c["contacts"]))
                if np.isfinite(value):
                    corr.append(value)
        k = max(len(impact), 1)
        print(
            f"| {name} | {n_true / k:.2f} | {n_on / k:.2f} | {n_on / max(n_true, 1):.2f} "
            f"| {n_hit / max(n_true, 1):.3f} | {n_hit / max(n_on, 1):.3f} | {np.mean(ete_c):.4f} "
            f"| {np.mean(ete_v):.4f} | {np.mean(acc):.3f} | {np.mean(ap):.3f} "
            f"| {np.mean(corr) if corr else float('nan'):.3f} |"
        )


def demix_table(clips: list[dict[str, np.ndarray]], bed_db: float, reference: str = "visual") -> None:
    """ETE per variant and audio; ``reference``: "visual" (events of the tracks, as bench_demix) or
    "contacts" (the simulator's contact times, clusters under 30 ms merged)."""
    names = [k for k in clips[0] if k not in ("contacts", "visual", "delta_ke")]
    print(
        f"\n## ETE (s, tau 0.2, vs {reference}) on {len(clips)} world clips (65 frames) with a music bed at "
        f"{bed_db:+g} dB; per variant: mean ETE / onsets per clip, paired mean difference to no bed\n"
    )
    print("| variant | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for variant, params in VARIANTS.items():
        ete = {n: [] for n in names}
        count = {n: [] for n in names}
        for c in clips:
            for n in names:
                onsets = detect_onsets(c[n], SR, params)
                truth = c["visual"] if reference == "visual" else merge_close_events(c["contacts"], 0.03)
                ete[n].append(event_timing_error(truth, onsets))
                count[n].append(onsets.size)
        ref = np.asarray(ete["no bed"])
        cells = []
        for n in names:
            v = np.asarray(ete[n])
            diff = "" if n == "no bed" else f", {(v - ref).mean():+.3f}"
            cells.append(f"{v.mean():.3f} / {statistics.mean(count[n]):.1f}{diff}")
        print(f"| {variant} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=100, help="held-out world clips (default 100)")
    parser.add_argument("--demix-clips", type=int, default=32, help="music-bed clips (default 32; 0 = skip)")
    parser.add_argument("--bed-db", type=float, default=0.0, help="music bed RMS re the clip RMS (dB)")
    parser.add_argument("--cache", default=None, help="folder for the generated audio (.npz)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from kinesonic.evaluation.world import held_out_seeds

    cache = None if args.cache is None else Path(args.cache)
    seeds = held_out_seeds(args.clips, 1000, 0, 20000)
    world = [_cached(cache, f"world_{s}", lambda s=s: world_clip(s)) for s in seeds]
    world_table(world)
    if args.demix_clips > 0:
        network = None
        try:
            from kinesonic.separation.network import load_separator
            from kinesonic.separation.separate import NetworkSeparator, shipped_checkpoint_path

            network = NetworkSeparator(load_separator(shipped_checkpoint_path()))
        except FileNotFoundError:
            print("no separator checkpoint: network columns left out")
        demix = [
            _cached(cache, f"demix_{i}_{args.bed_db:g}", lambda i=i: demix_clip(i, args.bed_db, network))
            for i in range(args.demix_clips)
        ]
        demix_table(demix, args.bed_db, "visual")
        demix_table(demix, args.bed_db, "contacts")


if __name__ == "__main__":
    main()
