"""Demixing: SI-SDR improvement per stem on held-out mixtures, speed, and onset metrics with a music bed.

Usage: ``python benchmarks/bench_demix.py [--n 24] [--checkpoint FILE ...] [--clips 16] [--what all]
[--music procedural|soundfont]`` (needs the espeak-ng program for the held-out speech; ``--music
soundfont`` plays the held-out music on FluidR3_GM's held-out programs, separation/soundfont.py: needs
fluidsynth, pyfluidsynth and ``fluid-soundfont-gm``). ``--checkpoint`` may be given several times to
compare separator files on the same mixtures (one row each, named by the file; speed and ETE use the
first).

1. **Separation** (``--what sep``): ``--n`` held-out mixtures of ``--duration`` s
   (``make_mixture(seed, split="heldout")``: espeak voices and music material the training never
   used, world effects from another seed range), all three stems present. For each stem, mean and
   median SI-SDRi (dB) = SI-SDR(estimate, stem) - SI-SDR(mixture, stem) for: the mixture itself
   (0 by definition), the DSP baseline, the trained network and two oracle masks on the same 16 kHz
   STFT with the mixture phase — the ideal ratio mask ``|S_i| / Σ_j |S_j|`` and the ideal Wiener
   (power ratio) mask ``|S_i|² / Σ_j |S_j|²``: the ceiling of mask-based methods.
2. **Speed** (``--what speed``): wall time to separate 10 s of 16 kHz mono with one torch thread
   (best of 3, DSP and network), and the network's parameter count.
3. **Onsets with a music bed** (``--what ete``): ``--clips`` held-out world clips (65 frames at
   16 fps). ETE (s, tau 0.2) between the visual events of the ground-truth tracks and the audio
   onsets of: the clean clip audio; the clip + a held-out music bed (RMS ``--bed-db`` dB relative to
   the clip's own RMS; ``--music`` chooses its source); and the effects stem that the DSP baseline /
   the network / the oracle ratio mask separate from it (and the network's effects stem of the clean
   clip).

Timings on a shared, loaded machine are upper bounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from kinesonic.separation.core import HOP, N_FFT, SAMPLE_RATE, STEM_NAMES, istft, si_sdr, stft
from kinesonic.separation.mixtures import make_mixture, mixture_seed
from kinesonic.separation.separate import DspSeparator, NetworkSeparator, separate, shipped_checkpoint_path


def oracle_irm(stems: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Stems [3, S] estimated with an oracle ratio mask ``|S_i|^p / Σ_j |S_j|^p`` on the analysis STFT
    with the mixture phase (p = 1: magnitude ratio, the IRM; p = 2: power ratio, the ideal Wiener mask)."""
    s = torch.from_numpy(stems)
    spec_s = stft(s)
    mix = stft(s.sum(0))
    mag = spec_s.abs().pow(power)
    masks = mag / mag.sum(0, keepdim=True).clamp_min(1e-20)
    return istft(masks * mix[None], stems.shape[-1]).numpy()


def bench_separation(args: argparse.Namespace, networks: dict[str, NetworkSeparator]) -> None:
    methods = ["mixture", "dsp"] + list(networks) + ["oracle IRM", "oracle Wiener"]
    gains: dict[str, list[list[float]]] = {m: [[], [], []] for m in methods}
    t0 = time.perf_counter()
    for i in range(args.n):
        mix = make_mixture(mixture_seed(args.seed, i), args.duration, "heldout", args.music)
        stems, x = mix.stems, mix.mixture
        estimates = {
            "mixture": np.repeat(x[None], 3, 0),
            "dsp": separate(x[None], SAMPLE_RATE, DspSeparator())[:, 0],
        }
        for name, network in networks.items():
            estimates[name] = separate(x[None], SAMPLE_RATE, network)[:, 0]
        estimates["oracle IRM"] = oracle_irm(stems)
        estimates["oracle Wiener"] = oracle_irm(stems, 2.0)
        for k in range(3):
            base = si_sdr(x, stems[k])
            for m in methods:
                gains[m][k].append(si_sdr(estimates[m][k], stems[k]) - base)
    print(
        f"\n## SI-SDR improvement (dB) on {args.n} held-out mixtures of {args.duration:g} s, {args.music} "
        f"music (mean / median; {time.perf_counter() - t0:.0f} s)\n"
    )
    print("| method | " + " | ".join(STEM_NAMES) + " |")
    print("|---|" + "---|" * 3)
    for m in methods:
        cells = [f"{statistics.mean(g):.1f} / {statistics.median(g):.1f}" for g in gains[m]]
        print(f"| {m} | " + " | ".join(cells) + " |")
    base_sdr = [[] for _ in range(3)]
    for i in range(min(args.n, 8)):
        mix = make_mixture(mixture_seed(args.seed, i), args.duration, "heldout", args.music)
        for k in range(3):
            base_sdr[k].append(si_sdr(mix.mixture, mix.stems[k]))
    print(
        "\nSI-SDR of the mixture itself against each stem (first 8, mean dB): "
        + ", ".join(f"{n} {statistics.mean(v):.1f}" for n, v in zip(STEM_NAMES, base_sdr, strict=True))
    )


def bench_speed(network: NetworkSeparator | None) -> None:
    torch.set_num_threads(1)
    x = make_mixture(mixture_seed(7, 0), 10.0, "heldout").mixture[None]
    print("\n## Time to separate 10 s of 16 kHz mono (one thread, best of 3)\n")
    print("| method | seconds |")
    print("|---|---|")
    for name, sep in (("dsp", DspSeparator()), ("network", network)):
        if sep is None:
            continue
        times = []
        for _ in range(3):
            t = time.perf_counter()
            separate(x, SAMPLE_RATE, sep)
            times.append(time.perf_counter() - t)
        print(f"| {name} | {min(times):.2f} |")
    if network is not None:
        n_params = sum(p.numel() for p in network.net.parameters())
        print(f"\nnetwork: {n_params / 1e6:.2f} M parameters; STFT {N_FFT} / hop {HOP} at {SAMPLE_RATE} Hz")


def bench_ete(args: argparse.Namespace, network: NetworkSeparator | None) -> None:
    from kinesonic.data import synth_clip
    from kinesonic.metrics import detect_onsets
    from kinesonic.metrics.evaluate import ete_from_tracks
    from kinesonic.separation.mixtures import with_bed

    rows: dict[str, list[float]] = {}
    onsets: dict[str, list[int]] = {}
    n_events = []
    for i in range(args.clips):
        clip = synth_clip(20_000_000 + i, size=32, num_frames=65, fps=16.0)
        clean = clip.audio.astype(np.float32)
        bedded = with_bed(clean, 30_000 + i, music_db=args.bed_db, music=args.music)
        mixed = bedded.mixture
        variants = {"no bed": clean, "no bed, network": None, "bed, raw mixture": mixed}
        variants["bed, DSP effects"] = separate(mixed[None], SAMPLE_RATE, DspSeparator())[1, 0]
        variants["bed, oracle IRM effects"] = oracle_irm(bedded.stems)[1]
        if network is not None:
            variants["bed, network effects"] = separate(mixed[None], SAMPLE_RATE, network)[1, 0]
            variants["no bed, network"] = separate(clean[None], SAMPLE_RATE, network)[1, 0]
        else:
            del variants["no bed, network"]
        n_events.append(len(clip.events))
        for name, audio in variants.items():
            rows.setdefault(name, []).append(ete_from_tracks(clip.tracks, audio, SAMPLE_RATE))
            onsets.setdefault(name, []).append(len(detect_onsets(audio, SAMPLE_RATE)))
    print(
        f"\n## ETE (s, tau 0.2) on {args.clips} held-out world clips (65 frames), {args.music} music bed at "
        f"{args.bed_db:+g} dB re the clip RMS; {statistics.mean(n_events):.1f} contacts per clip\n"
    )
    print("| audio | ETE mean | ETE median | audio onsets per clip | ETE - no bed (paired mean) |")
    print("|---|---|---|---|---|")
    ref = np.asarray(rows["no bed"])
    for name, values in rows.items():
        v = np.asarray(values)
        print(
            f"| {name} | {v.mean():.3f} | {np.median(v):.3f} | {statistics.mean(onsets[name]):.1f} | "
            f"{(v - ref).mean():+.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24, help="held-out mixtures (default 24)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per mixture (default 4)")
    parser.add_argument("--seed", type=int, default=777, help="base seed of the held-out mixtures")
    parser.add_argument(
        "--checkpoint", action="append", default=None,
        help="separator file (default: the shipped one); repeat to compare several",
    )  # fmt: skip
    parser.add_argument("--clips", type=int, default=16, help="world clips for the ETE table (default 16)")
    parser.add_argument(
        "--bed-db", type=float, default=0.0, help="music bed RMS re the clip RMS (default 0 dB)"
    )
    parser.add_argument("--what", choices=["all", "sep", "speed", "ete"], default="all")
    parser.add_argument(
        "--music", choices=["procedural", "soundfont"], default="procedural",
        help="held-out music of the mixtures and beds: procedural (default) or the soundfont split",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    from kinesonic.separation.network import load_separator

    paths = args.checkpoint or [shipped_checkpoint_path()]
    networks: dict[str, NetworkSeparator] = {}
    for path in paths:
        name = "network" if len(paths) == 1 else f"network {Path(path).name}"
        if name in networks:  # two files of the same name: tell them apart by their path
            name = f"network {path}"
        try:
            networks[name] = NetworkSeparator(load_separator(path))
            print(f"{name}: {path}")
        except FileNotFoundError:
            print(f"no separator checkpoint at {path}: its rows are left out")
    network = next(iter(networks.values()), None)
    if args.what in ("all", "sep"):
        bench_separation(args, networks)
    if args.what in ("all", "speed"):
        bench_speed(network)
    if args.what in ("all", "ete"):
        bench_ete(args, network)


if __name__ == "__main__":
    main()
