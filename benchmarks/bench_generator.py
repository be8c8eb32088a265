"""Benchmark the tiny generator on this machine's CPU and print a table.

Measures, in one run:
- fp32 matmul peak (median of square ``torch.mm`` timings, 2 N^3 FLOPs each);
- forward FLOPs of the twin DiT (``torch.utils.flop_counter.FlopCounterMode``) and the achieved
  FLOP/s at batch 1 (plain sampling), 2 (CFG batch) and 8 (training-like), as a fraction of the peak;
- sampling time for a 2 s, 64x64, 16 fps clip (33 frames) at 25 steps for several solver/guidance
  settings, decoding time (video AE + Griffin-Lim), one training step (batch 8, forward + backward);
- peak resident memory of the process (ru_maxrss).

Usage: ``python benchmarks/bench_generator.py [--threads N] [--steps 25] [--reps 10]``.
Timings on a shared machine vary; the peak is measured next to each forward timing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def median_time(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from kinesonic.models import KinesonicModel, tiny_config

    torch.manual_seed(0)
    cfg = tiny_config()
    model = KinesonicModel(cfg).eval()
    with torch.no_grad():  # non-zero weights everywhere (zero-init layers would skew nothing, but be safe)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    params = sum(p.numel() for p in model.parameters())
    dit_params = sum(p.numel() for p in model.dit.parameters())
    rss0 = peak_rss_mb()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(
        f"tiny config: {params / 1e6:.2f} M params ({dit_params / 1e6:.2f} M in the twin DiT), "
        f"{cfg.video_tokens()} video + {cfg.audio_tokens()} audio tokens for {cfg.num_frames} frames"
    )

    cond = model.build_conditioning(torch.rand(3, cfg.height, cfg.width), "a ball bounces on wood")
    video, audio, _, _ = model.start_state(cond, torch.Generator().manual_seed(0))
    text = model.text(cond.text_ids).detach()
    vcond = cond.video_cond()

    rows = []
    for b in (1, 2, 8):
        inputs = (
            video.repeat(b, 1, 1, 1, 1),
            audio.repeat(b, 1, 1),
            torch.full((b,), 0.5),
            torch.full((b,), 0.5),
            vcond.repeat(b, 1, 1, 1, 1),
            text.repeat(b, 1),
        )
        with torch.enable_grad(), FlopCounterMode(display=False) as counter:
            model.dit(*inputs)
        flops = counter.get_total_flops()
        # interleave peak and forward timings so both see the same (shared-machine) load
        a_mm, b_mm = torch.randn(1024, 1024), torch.randn(1024, 1024)
        peaks, times = [], []
        with torch.no_grad():
            for r in range(args.reps + 2):
                peak = 2 * 1024**3 / median_time(lambda a=a_mm, m=b_mm: a @ m, 3, warmup=1) / 1e9
                dt = median_time(lambda inputs=inputs: model.dit(*inputs), 1, warmup=1 if r == 0 else 0)
                if r >= 2:
                    peaks.append(peak)
                    times.append(dt)
        fracs = [flops / t / 1e9 / p for t, p in zip(times, peaks, strict=True)]
        dt, peak = statistics.median(times), statistics.median(peaks)
        rows.append((b, flops / 1e9, dt * 1e3, flops / dt / 1e9, peak, statistics.median(fracs)))

    print("\n| DiT forward | GFLOP | ms (median) | GFLOP/s | matmul peak GFLOP/s | fraction of peak |")
    print("|---|---|---|---|---|---|")
    for b, gf, ms, rate, peak, frac in rows:
        print(f"| batch {b} | {gf:.3f} | {ms:.1f} | {rate:.1f} | {peak:.1f} | {frac:.0%} |")

    print(f"\n| sampling 2 s 64x64 clip, {args.steps} steps | forwards | seconds |")
    print("|---|---|---|")
    settings = [("euler", "none", 1.0), ("euler", "cfg", 3.0), ("euler", "joint", 3.0), ("heun", "cfg", 3.0)]
    for solver, guidance, scale in settings:
        calls = args.steps * (2 if solver == "heun" else 1) - (1 if solver == "heun" else 0)
        calls *= 1 if guidance == "none" else 2 if guidance == "joint" else 1
        t0 = time.perf_counter()
        out = model.sample(
            cond, steps=args.steps, solver=solver, guidance=guidance, video_cfg=scale, audio_cfg=scale, seed=0
        )
        dt = time.perf_counter() - t0
        batch_note = " (batch 2)" if guidance == "cfg" else ""
        print(f"| {solver} / {guidance} (cfg {scale:g}) | {calls}{batch_note} | {dt:.2f} |")
    t0 = time.perf_counter()
    with torch.no_grad():
        model.decode_video(out["video"])
    t_video = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.no_grad():
        model.decode_audio(out["audio"])
    t_audio = time.perf_counter() - t0
    print(f"| decode video (33 frames) | - | {t_video:.2f} |")
    print(f"| decode audio (Griffin-Lim, {cfg.griffin_lim_iters} iters) | - | {t_audio:.2f} |")

    model.train()
    b = 8
    n_audio = cfg.audio_samples(cfg.latent_frames())
    batch = model.prepare_batch(
        torch.rand(b, 3, cfg.num_frames, cfg.height, cfg.width), torch.randn(b, n_audio), [""] * b, [None] * b
    )

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model.training_loss(batch)["loss"].backward()

    dt = median_time(step, max(args.reps // 2, 3), warmup=1)
    print(f"| training step (batch {b}, fwd + bwd) | - | {dt:.2f} |")
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB (after model build: {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
