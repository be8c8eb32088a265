"""Benchmark the tiny generator on this machine's CPU and print a table.

Measures, in one run:
- fp32 matmul peak (median of square ``torch.mm`` timings, 2 N^3 FLOPs each);
- forward FLOPs of the twin DiT (``torch.utils.flop_counter.FlopCounterMode``) and the achieved
  FLOP/s at batch 1 (plain sampling), 2 (CFG batch) and 8 (training-like), as a fraction of the peak;
- sampling time for a 2 s, 64x64, 16 fps clip (33 frames) at 25 steps for several solver/guidance
  settings, decoding time (video AE + Griffin-Lim), one training step (batch 8, forward + backward);
- peak resident memory of the process (ru_maxrss).

Usage: ``python benchmarks/bench_generator.py [--threads N] [--steps 25] [--reps 10] [--device cuda]``
(``--device cuda``: the same table on a GPU, timings synchronised; CPU time is then not meaningful).
Timings on a shared machine vary; the peak is measured next to each forward timing.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode


def sync() -> None:
    """Wait for queued GPU work (timings on CUDA measure the work, not its launch)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_time(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@contextlib.contextmanager
def conditions_per_step(model):  # noqa: ANN001, ANN201
    """Make ``model.sample`` re-prepare the conditions at every ODE step (the text embedding is still
    computed once, as before the per-clip preparation): the baseline of the side-by-side timing."""
    prepare, predict = model.prepare, model.predict

    def lazy(cond, text=None):  # noqa: ANN001, ANN202
        return cond, model.text(cond.text_ids) if text is None else text

    def each_step(v, a, tv, ta, prep, joint=True):  # noqa: ANN001, ANN202
        cond, text = prep
        return model.dit(v, a, tv, ta, cond.video_cond(), text, cond.kin, cond.kin_mask, cond.physics,
                         cond.physics_mask, joint=joint)  # fmt: skip

    model.prepare, model.predict = lazy, each_step
    try:
        yield
    finally:
        del model.prepare, model.predict
        assert model.prepare == prepare and model.predict == predict


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: the same table on a GPU")
    parser.add_argument("--sample-reps", type=int, default=3, help="alternating sampling runs per setting")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    from kinesonic.kinematics import Tracks
    from kinesonic.models import KinesonicModel, cat_conditions, tiny_config
    from kinesonic.training.data import TrainClip
    from kinesonic.training.objective import FlowObjective, prepare_batch

    torch.manual_seed(0)
    cfg = tiny_config()
    model = KinesonicModel(cfg).eval().to(device)
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

    # the main job's kind of clip: two tracked objects (trajectory + kinematic tokens) with physics
    t = np.arange(cfg.num_frames) / cfg.fps
    pts = np.stack([np.stack([8 + 20 * t, 12 + 30 * i + 0 * t], -1) for i in range(2)], 1)
    tracks = Tracks(pts, np.ones(pts.shape[:2], bool), cfg.fps, cfg.width, cfg.height)
    physics = np.array([[0.5, 1.2], [2.0, 0.4]])
    cond = model.build_conditioning(
        torch.rand(3, cfg.height, cfg.width), "a ball bounces on wood", tracks, physics=physics
    )
    video, audio, _, _ = model.start_state(cond, torch.Generator().manual_seed(0))

    rows = []
    for b in (1, 2, 8):
        with torch.no_grad():  # the per-step call: conditions prepared once per clip
            prep = model.prepare(cat_conditions(*[cond] * b))
        inputs = (
            video.repeat(b, 1, 1, 1, 1),
            audio.repeat(b, 1, 1),
            torch.full((b,), 0.5, device=device),
            torch.full((b,), 0.5, device=device),
        )

        def forward(inputs=inputs, prep=prep):  # noqa: ANN001, ANN202
            return model.predict(*inputs, prep)

        with FlopCounterMode(display=False) as counter:
            forward()
        flops = counter.get_total_flops()
        # interleave peak and forward timings so both see the same (shared-machine) load
        n_mm = 1024 if device.type == "cpu" else 8192
        a_mm, b_mm = torch.randn(n_mm, n_mm, device=device), torch.randn(n_mm, n_mm, device=device)
        peaks, times = [], []
        with torch.no_grad():
            for r in range(args.reps + 2):
                peak = 2 * n_mm**3 / median_time(lambda a=a_mm, m=b_mm: a @ m, 3, warmup=1) / 1e9
                dt = median_time(forward, 1, warmup=1 if r == 0 else 0)
                if r >= 2:
                    peaks.append(peak)
                    times.append(dt)
        fracs = [flops / t / 1e9 / p for t, p in zip(times, peaks, strict=True)]
        dt, peak = statistics.median(times), statistics.median(peaks)
        rows.append((b, flops / 1e9, dt * 1e3, flops / dt / 1e9, peak, statistics.median(fracs)))

    print("\n| DiT step | GFLOP | ms (median) | GFLOP/s | matmul peak GFLOP/s | fraction of peak |")
    print("|---|---|---|---|---|---|")
    for b, gf, ms, rate, peak, frac in rows:
        print(f"| batch {b} | {gf:.3f} | {ms:.1f} | {rate:.1f} | {peak:.1f} | {frac:.0%} |")

    print(
        f"\n| sampling 2 s 64x64 clip, {args.steps} steps | forwards | conditions per step: s (CPU s) "
        "| prepared once per clip: s (CPU s) | speed-up (CPU time) |"
    )
    print("|---|---|---|---|---|")
    settings = [("euler", "none", 1.0), ("euler", "cfg", 3.0), ("euler", "joint", 3.0), ("heun", "cfg", 3.0)]
    for solver, guidance, scale in settings:
        calls = args.steps * (2 if solver == "heun" else 1) - (1 if solver == "heun" else 0)
        calls *= 1 if guidance == "none" else 2 if guidance == "joint" else 1

        def run(model=model, solver=solver, guidance=guidance, scale=scale):  # noqa: ANN001, ANN202
            return model.sample(
                cond, steps=args.steps, solver=solver, guidance=guidance, video_cfg=scale, audio_cfg=scale
            )

        # side by side, alternating: the same sampler with the conditions re-made at every step
        # (what the forward did before they were prepared once per clip) and as it is
        times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.sample_reps):
            for prepared in (False, True):
                with contextlib.nullcontext() if prepared else conditions_per_step(model):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    out = run()
                    sync()
                    times[prepared].append((time.perf_counter() - t0, time.thread_time() - c0))
        (w0, c0), (w1, c1) = (
            tuple(statistics.median(x[i] for x in times[p]) for i in (0, 1)) for p in (False, True)
        )
        batch_note = " (batch 2)" if guidance == "cfg" else ""
        print(
            f"| {solver} / {guidance} (cfg {scale:g}) | {calls}{batch_note} | {w0:.2f} ({c0:.2f}) "
            f"| {w1:.2f} ({c1:.2f}) | {c0 / c1:.2f}x |"
        )
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
    rng = np.random.default_rng(0)
    clips = [
        TrainClip(
            frames=rng.integers(0, 255, (cfg.num_frames, cfg.height, cfg.width, 3), dtype=np.uint8),
            audio=rng.normal(0, 0.1, n_audio).astype(np.float32),
            tracks=None,
            caption="",
        )
        for _ in range(b)
    ]
    batch = prepare_batch(model, clips, list(range(b)))
    objective = FlowObjective()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        inp = objective.inputs(batch, list(range(b)))
        pv, pa = model.velocity(inp["in_v"], inp["in_a"], inp["t_v"], inp["t_a"], inp["cond"])
        objective.losses(pv, pa, inp)["loss"].mean().backward()

    dt = median_time(step, max(args.reps // 2, 3), warmup=1)
    print(f"| training step (batch {b}, fwd + bwd) | - | {dt:.2f} |")
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB (after model build: {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
