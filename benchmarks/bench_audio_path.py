"""Measurement study: which audio round trip keeps what the world table scores (issue #16, item 2).

    PYTHONPATH=... nice -n 10 python benchmarks/bench_audio_path.py [--clips 100] [--rows a,b] [--no-mp4]

For ``--clips`` held-out physics-world clips (the seeds of ``kinesonic eval --world``: base 1000,
checked disjoint from the 20000 training seeds of base 0; 64x64, 33 frames, 16 fps) the simulator's
sound goes through each candidate round trip (encode → latent → decode) and is scored against the
clip's visual events and the simulator's own sound exactly as ``kinesonic eval --world`` scores a
row (``metrics.evaluate.evaluate_clip`` on the conditioning tracks, reference = simulator sound;
unless ``--no-mp4`` the sound first goes through the row's mp4, AAC 192 kb/s, as in the table).

Columns: ETE (s) at tau 0.2 and 0.5 (clips with impacts), detected onsets per impact clip, onset
accuracy and AP against the simulator sound (impact clips), MAIC (slide / roll clips), level error
= median over clips of |dB(round trip) - dB(simulator)| with dB = 20 log10 RMS over the clip (and
the signed median), latent numbers per second and per token at ``audio_patch`` 2 and 4, and the
decode time per clip. Then, with ``--levels``, RMS at each stage of today's codec for a few clips.

The rows are latent *representations* with a fixed decoder (no learned part); a generated latent is
noisier than an encoded one, so these are upper bounds of what a generator using them can score.
Timing on the shared machine is a loose upper bound.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SR = 16000


# ------------------------------------------------------------------------------------------ candidates
@dataclass
class Candidate:
    """One round trip: ``run(wave [S] float32) -> wave [S]``; ``channels`` latent numbers per latent
    frame at ``frame_rate`` latent frames per second (tokens = ``audio_patch`` latent frames)."""

    name: str
    run: Callable[[np.ndarray], np.ndarray]
    channels: int
    frame_rate: float
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.channels * self.frame_rate

    def per_token(self, patch: int) -> int:
        return self.channels * patch


def _t(wave: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]


def _stft(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Centred complex STFT ``[B, n_fft/2+1, S//hop]`` (the last centred frame dropped, as the codec)."""
    win = torch.hann_window(n_fft)
    spec = torch.stft(wave, n_fft, hop, window=win, center=True, return_complex=True, pad_mode="reflect")
    return spec[..., : wave.shape[-1] // hop]


def limiter(wave: torch.Tensor) -> torch.Tensor:
    """The generator's peak limiter (``KinesonicModel.decode_audio``)."""
    return wave / wave.abs().amax(dim=-1, keepdim=True).clamp(min=1.0)


def today_codec(iters: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The shipped ``AudioCodec`` (default GeneratorConfig) + the decoder's peak limiter."""
    from kinesonic.models.autoencoders import AudioCodec
    from kinesonic.models.config import GeneratorConfig

    cfg = GeneratorConfig() if iters is None else GeneratorConfig(griffin_lim_iters=iters)
    codec = AudioCodec(cfg)

    def run(wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = _t(wave)
            lat = codec.encode(x)
            out = limiter(codec.decode(lat))
        return _fit(out[0].numpy(), wave.size)

    return run


def today_reachable(model_path: str = "checkpoints/kinesonic/kinesonic_tiny.safetensors") -> Callable:
    """Today's codec with the latent's component outside what the shipped tiny model's audio head
    can reach (the column space of its final ``[256, 160]`` weight) replaced by what a generated latent
    has there: the sampler removes the start noise in those 96 directions per token, leaving only the
    integrated constant bias of the head (read off a 1-step sample; the same for every clip and
    step count). The ceiling of today's head on this codec."""
    from kinesonic.data import synth_clip
    from kinesonic.models import load_checkpoint

    model = load_checkpoint(model_path)
    clip = synth_clip(7, 64, 33, 16.0)
    first = torch.from_numpy(clip.frames[0]).float().permute(2, 0, 1) / 255.0
    with torch.no_grad():
        cond = model.build_conditioning(first, clip.caption, clip.tracks, seed=0)
        gen = model.sample(cond, "joint", 1, "euler", 1.0, 3.0, 3.0, "cfg", 0)["audio"]
        const = model.dit.audio_unreachable(gen)[..., : model.cfg.audio_patch]  # one token [1, C, P]

    def run(wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            lat = model.audio_codec.encode(_t(wave))
            reps = lat.shape[-1] // const.shape[-1]
            fixed = const.repeat(1, 1, reps)
            lat = lat[..., : fixed.shape[-1]]
            lat = lat - model.dit.audio_unreachable(lat) + fixed
            out = model.decode_audio(lat)
        return _fit(out[0].numpy(), wave.size)

    return run


def _fit(out: np.ndarray, n: int) -> np.ndarray:
    out = out[:n]
    return np.pad(out, (0, n - out.size)) if out.size < n else out


def mel_gl(
    n_mels: int, n_fft: int, hop: int, iters: int, envelope_hop: int = 0, boost: bool = False
) -> Callable:
    """Log-mel (``n_mels`` bands 0-8 kHz, ``n_fft``, ``hop``) → pseudo-inverse → Griffin-Lim
    (``iters``, the codec's deterministic fast GL), peak limiter. With ``envelope_hop`` > 0 the latent
    also carries the log RMS envelope at that hop and the decoder imposes it (:func:`impose_envelope`)."""
    from kinesonic.models.autoencoders import GriffinLim, mel_filterbank

    fb, pinv = mel_filterbank(SR, n_fft, n_mels, 0.0, 8000.0)
    gl = GriffinLim(n_fft, hop, iters, pinv)

    def run(wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = _t(wave)
            frames = x.shape[-1] // hop
            mel = torch.einsum("mf,bft->bmt", fb, _stft(x, n_fft, hop).abs())
            out = gl(mel, frames * hop)[0].numpy()
        out = _fit(out, wave.size)
        if envelope_hop:
            out = impose_envelope(out, log_envelope(wave, envelope_hop), envelope_hop, boost=boost)
        return limiter(_t(out))[0].numpy()

    return run


def linear_gl(n_fft: int, hop: int, iters: int) -> Callable:
    """Linear STFT magnitude (all ``n_fft/2+1`` bins) → Griffin-Lim: the best a magnitude codec does."""
    from kinesonic.models.autoencoders import GriffinLim

    gl = GriffinLim(n_fft, hop, iters)

    def run(wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = _t(wave)
            frames = x.shape[-1] // hop
            out = gl.from_magnitude(_stft(x, n_fft, hop).abs(), frames * hop)[0].numpy()
        return limiter(_t(_fit(out, wave.size)))[0].numpy()

    return run


def log_envelope(wave: np.ndarray, hop: int) -> np.ndarray:
    """``ln`` RMS of ``wave`` over windows of ``2*hop`` samples centred on ``k*hop + hop/2``,
    ``k < S // hop`` (one value per ``hop`` samples), floor 1e-5."""
    n = wave.size // hop
    padded = np.pad(wave.astype(np.float64), (hop // 2, hop))
    sq = np.cumsum(np.concatenate([[0.0], padded**2]))
    start = np.arange(n) * hop
    energy = (sq[start + 2 * hop] - sq[start]) / (2 * hop)
    return np.log(np.sqrt(energy) + 1e-5)


def impose_envelope(
    wave: np.ndarray, target: np.ndarray, hop: int, rounds: int = 2, boost: bool = False
) -> np.ndarray:
    """Scale ``wave`` so its :func:`log_envelope` follows ``target``: a gain per hop, linearly
    interpolated between hop centres. ``boost`` False: the gain only attenuates (it removes the energy
    Griffin-Lim smears before an onset and the bumps of its noise floor) and one scalar then matches
    the clip's RMS to the target's; True: the gain also raises (capped at +30 dB)."""
    out = wave.astype(np.float64)
    centres = np.arange(target.size) * hop + hop / 2
    cap = math.log(10**1.5) if boost else 0.0
    for _ in range(rounds):
        have = log_envelope(out, hop)
        gain = np.exp(np.minimum(target - have, cap))
        out = out * np.interp(np.arange(out.size), centres, gain)
    if not boost:
        want = float(np.sqrt(np.mean(np.exp(2 * target))))
        have_rms = float(np.sqrt(np.mean(out**2)))
        out = out * (want / have_rms if have_rms > 0 else 1.0)
    return out.astype(np.float32)


def mdct_roundtrip(hop: int) -> Callable:
    """Critically sampled MDCT (sine window, ``2*hop`` samples, ``hop`` coefficients per frame):
    a waveform-domain latent, exact round trip in float; ``hop`` numbers per ``hop`` samples."""

    def run(wave: np.ndarray) -> np.ndarray:
        n = wave.size
        frames = -(-n // hop) + 1
        x = np.pad(wave.astype(np.float64), (hop, frames * hop - n))
        win = np.sin(np.pi * (np.arange(2 * hop) + 0.5) / (2 * hop))
        k = np.arange(hop)[:, None]
        t = np.arange(2 * hop)[None, :]
        basis = np.cos(np.pi / hop * (t + 0.5 + hop / 2) * (k + 0.5))  # [hop, 2hop]
        blocks = np.stack([x[i * hop : i * hop + 2 * hop] for i in range(frames)])  # [F, 2hop]
        coef = (blocks * win) @ basis.T  # [F, hop] — the latent
        back = (coef @ basis) * win * (2.0 / hop)
        y = np.zeros(x.size)
        for i in range(frames):
            y[i * hop : i * hop + 2 * hop] += back[i]
        return y[hop : hop + n].astype(np.float32)

    return run


def candidates() -> list[Candidate]:
    """Every row of the study (name, round trip, latent channels per frame, frames per second)."""
    c = [
        Candidate("simulator sound (no codec)", lambda w: w.astype(np.float32), 0, 0.0),
        Candidate("today: 64 mel, hop 250, GL 32 (shipped)", today_codec(), 64, SR / 250),
        Candidate("64 mel, hop 250, GL 128", today_codec(128), 64, SR / 250),
        Candidate("128 mel, n_fft 1024, hop 125, GL 64", mel_gl(128, 1024, 125, 64), 128, SR / 125),
        Candidate("128 mel, n_fft 512, hop 125, GL 64", mel_gl(128, 512, 125, 64), 128, SR / 125),
        Candidate("linear STFT 513, hop 250, GL 128", linear_gl(1024, 250, 128), 513, SR / 250),
        Candidate("linear STFT 257, n_fft 512, hop 125, GL 128", linear_gl(512, 125, 128), 257, SR / 125),
        Candidate("64 mel, n_fft 512, hop 250, GL 64", mel_gl(64, 512, 250, 64), 64, SR / 250),
        Candidate("64 mel, n_fft 512, hop 125, GL 64", mel_gl(64, 512, 125, 64), 64, SR / 125),
        Candidate("80 mel, n_fft 512, hop 125, GL 64", mel_gl(80, 512, 125, 64), 80, SR / 125),
        Candidate("96 mel, n_fft 512, hop 125, GL 64", mel_gl(96, 512, 125, 64), 96, SR / 125),
        Candidate(
            "64 mel hop 250 + envelope hop 25 (10/frame, up and down), GL 32",
            mel_gl(64, 1024, 250, 32, envelope_hop=25, boost=True),
            64 + 10,
            SR / 250,
        ),
        Candidate(
            "64 mel hop 250 + envelope hop 25 (10/frame, attenuate only), GL 32",
            mel_gl(64, 1024, 250, 32, envelope_hop=25),
            64 + 10,
            SR / 250,
        ),
        Candidate(
            "64 mel n_fft 512 hop 125 + envelope hop 25 (5/frame, attenuate only), GL 64",
            mel_gl(64, 512, 125, 64, envelope_hop=25),
            64 + 5,
            SR / 125,
        ),
        Candidate("MDCT hop 125 (waveform domain, exact)", mdct_roundtrip(125), 125, SR / 125),
        Candidate(
            "today, latent projected on the tiny head's reachable 160 of 256 dims",
            today_reachable(),
            64,
            SR / 250,
        ),
    ]
    return c


# ------------------------------------------------------------------------------------------ scoring
def through_mp4(folder: Path, frames: np.ndarray, fps: float, audio: np.ndarray) -> np.ndarray:
    """The audio as ``kinesonic eval --world`` reads it back from the row's mp4 (AAC)."""
    from kinesonic.media.video import read_video, write_video

    path = folder / "clip.mp4"
    write_video(path, frames, fps, audio[None], SR)
    out = read_video(path).audio
    return np.asarray(out, dtype=np.float32).reshape(-1, out.shape[-1]).mean(axis=0)


def db(x: np.ndarray) -> float:
    return 20.0 * math.log10(float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) + 1e-12)


def score(clip, audio: np.ndarray) -> dict[str, float]:
    """The world-table cells of one clip for ``audio`` (16 kHz mono), reference = the simulator."""
    from kinesonic.metrics.ete import event_timing_error_detail
    from kinesonic.metrics.evaluate import evaluate_clip

    rep = evaluate_clip(clip.tracks, audio, SR, reference_audio=clip.audio, reference_sample_rate=SR)
    v = rep.values
    impact = bool(clip.events)
    span = int(round(clip.tracks.num_frames / clip.fps * SR))
    out = {
        "ete": v["ete_s"] if impact else math.nan,
        "ete5": event_timing_error_detail(rep.visual_events, rep.audio_onsets, 0.5).ete
        if impact
        else math.nan,
        "onsets": float(rep.audio_onsets.size) if impact else math.nan,
        "acc": v["onset_acc"] if impact else math.nan,
        "ap": v["onset_ap"] if impact else math.nan,
        "maic": v["maic"] if clip.kind in ("slide", "roll") else math.nan,
        "db": db(audio[:span]) - db(clip.audio[:span]),
    }
    return out


def _mean(values: list[float]) -> tuple[float, int]:
    a = np.asarray(values, np.float64)
    a = a[np.isfinite(a)]
    return (float(a.mean()) if a.size else math.nan, int(a.size))


def table(results: dict[str, list[dict[str, float]]], cands: list[Candidate], secs: dict[str, float]) -> str:
    head = (
        "| round trip | ETE τ0.2 (s) ↓ | ETE τ0.5 (s) ↓ | onsets / impact clip | onset acc ↑ | onset AP ↑ "
        "| MAIC ↑ | level err (dB) ↓ | signed (dB) | numbers/s | per token P=2 / P=4 | tokens/s P=4 "
        "| decode s/clip |\n|---|" + "---|" * 12 + "\n"
    )
    lines = []
    for cand in cands:
        rows = results[cand.name]
        cells = []
        for key, digits in (("ete", 3), ("ete5", 3), ("onsets", 2), ("acc", 3), ("ap", 3), ("maic", 3)):
            m, n = _mean([r[key] for r in rows])
            cells.append(f"{m:.{digits}f} ({n})")
        d = np.asarray([r["db"] for r in rows])
        cells.append(f"{np.median(np.abs(d)):.2f}")
        cells.append(f"{np.median(d):+.2f}")
        if cand.channels:
            cells.append(f"{cand.per_second:.0f}")
            cells.append(f"{cand.per_token(2)} / {cand.per_token(4)}")
            cells.append(f"{cand.frame_rate / 4:g}")
        else:
            cells += ["–", "–", "–"]
        cells.append(f"{secs[cand.name]:.3f}")
        lines.append(f"| {cand.name} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ levels
def level_stages(clips: list) -> str:
    """RMS (dBFS) at each stage of today's codec for ``clips``: simulator, |STFT| energy (Parseval),
    mel → pseudo-inverse magnitude energy, GL output, after the limiter; plus the peak."""
    from kinesonic.models.autoencoders import AudioCodec
    from kinesonic.models.config import GeneratorConfig

    cfg = GeneratorConfig()
    codec = AudioCodec(cfg)
    win_energy = float((codec.window**2).sum())
    lines = [
        "| clip (kind) | sim RMS dB | sim peak | |STFT| dB | pinv·mel dB | normalised log-mel mean "
        "| GL out dB | after limiter dB | out peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def spec_db(mag: torch.Tensor) -> float:  # RMS of a signal with this one-sided magnitude (approx.)
        power = (mag[:, 0] ** 2 + 2 * (mag[:, 1:-1] ** 2).sum(1) + mag[:, -1] ** 2).mean()
        return 10 * math.log10(
            float(power) * cfg.hop_length / win_energy / cfg.hop_length / cfg.n_fft + 1e-24
        )

    for clip in clips:
        with torch.no_grad():
            x = _t(clip.audio)
            mag = codec.stft(x).abs()[..., : x.shape[-1] // cfg.hop_length]
            mel_n = codec.mel(x)
            mel = codec.latent_to_mel(mel_n)
            pmag = torch.einsum("fm,bmt->bft", codec.mel_pinv, mel).clamp_min(0)
            gl = codec.decode(mel_n)
            lim = limiter(gl)
        lines.append(
            f"| {clip.seed % 100000} ({clip.kind}) | {db(clip.audio):.1f} | {np.abs(clip.audio).max():.3f} "
            f"| {spec_db(mag):.1f} | {spec_db(pmag):.1f} | {float(mel_n.mean()):+.2f} | {db(gl.numpy()):.1f} "
            f"| {db(lim.numpy()):.1f} | {float(lim.abs().max()):.3f} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=100)
    p.add_argument("--seed", type=int, default=1000, help="held-out base seed (kinesonic eval --world)")
    p.add_argument("--rows", default="", help="comma-separated row numbers (0-based) to run; default all")
    p.add_argument("--no-mp4", action="store_true", help="score the round trip directly, not through AAC")
    p.add_argument("--levels", type=int, default=0, help="also print codec stage levels for N clips")
    args = p.parse_args()
    torch.set_num_threads(1)

    from kinesonic.data import synth_clip
    from kinesonic.evaluation.world import held_out_seeds

    cands = candidates()
    if args.rows:
        cands = [cands[int(i)] for i in args.rows.split(",")]
    seeds = held_out_seeds(args.clips, args.seed, 0, 20000)
    results: dict[str, list[dict[str, float]]] = {c.name: [] for c in cands}
    secs: dict[str, float] = {c.name: 0.0 for c in cands}
    level_clips = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(seeds):
            clip = synth_clip(s, 64, 33, 16.0)
            if len(level_clips) < args.levels:
                level_clips.append(clip)
            for cand in cands:
                t0 = time.perf_counter()
                audio = cand.run(clip.audio)
                secs[cand.name] += (time.perf_counter() - t0) / len(seeds)
                if not args.no_mp4:
                    audio = through_mp4(Path(tmp), clip.frames, clip.fps, audio)
                results[cand.name].append(score(clip, audio))
            if (i + 1) % 10 == 0:
                print(f"# {i + 1}/{len(seeds)} clips, {time.perf_counter() - start:.0f} s", flush=True)
            if (i + 1) % 25 == 0 and i + 1 < len(seeds):
                done = {k: v[: i + 1] for k, v in results.items()}
                print(table(done, cands, {k: v * len(seeds) / (i + 1) for k, v in secs.items()}), flush=True)
    print(f"\n{len(seeds)} held-out clips (base seed {args.seed}), through mp4: {not args.no_mp4}\n")
    print(table(results, cands, secs))
    if level_clips:
        print("\nLevels through today's codec (dBFS RMS over the clip):\n")
        print(level_stages(level_clips))
    print(f"total {time.perf_counter() - start:.0f} s (pid {os.getpid()})")


if __name__ == "__main__":
    main()
