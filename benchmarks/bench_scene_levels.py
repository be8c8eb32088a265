"""Where a scene type's sound loses its level: the x0 prediction by flow time, and the sampled sound.

    PYTHONPATH=... nice -n 10 python benchmarks/bench_scene_levels.py --model PATH [--model PATH ...]
        [--kinds slide,push,drop] [--per-kind 6] [--times 0.5,0.8,0.9,0.95,0.98,1]

For the first ``--per-kind`` held-out world clips of each scene type in ``--kinds`` (the seeds of
``kinesonic eval --world``, physics estimated as there), prints per model and scene type the median
over clips of the signed level, dB RMS over the clip, generated minus the simulator's sound:

- ``codec``: the simulator's sound through the model's audio codec (the ceiling of the sound path);
- ``x0 @ t``: the model's data prediction ``x_t - t v`` from the simulator's own audio latent noised to
  flow time ``t`` (the video latent noised to the same time from the model's video source; one noise
  draw per clip), decoded. At ``t = 1`` the state holds no trace of the data: what the conditions
  alone say about the level;
- ``sampled``: the world table's model row (:func:`kinesonic.evaluation.world_rows.row_media`, its
  sampler and the clip's noise seed).

A row whose ``x0`` level holds up to some ``t`` and then falls reads the level from the state, not
from the conditions: sampling from pure noise then starts quiet and stays quiet.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch


def db(x: np.ndarray | torch.Tensor) -> float:
    a = np.asarray(x, dtype=np.float64)
    return 20.0 * math.log10(float(np.sqrt(np.mean(a**2))) + 1e-12)


@torch.no_grad()
def clip_levels(model, clip, index: int, times: list[float], physics) -> list[float]:  # noqa: ANN001
    """Signed levels (dB re the simulator) of one clip: codec, x0 at each time, sampled."""
    from kinesonic.evaluation.world import clip_sample_seed
    from kinesonic.evaluation.world_rows import audio_latent, row_media, row_physics, video_latent
    from kinesonic.models.flow import interpolate

    cfg = model.cfg
    ref = db(clip.audio)
    first = torch.from_numpy(clip.frames[0]).float().permute(2, 0, 1) / 255.0
    cond = model.build_conditioning(
        first, clip.caption, clip.tracks, physics=row_physics("model", model, physics)
    )
    za = audio_latent(model, clip.audio, cfg.audio_samples(cond.latent_frames))
    zv = video_latent(model, clip.frames, cfg.video_frames(cond.latent_frames))
    out = [db(model.decode_audio(za)[0].float().numpy()[: clip.audio.size]) - ref]
    g = torch.Generator().manual_seed(1000 + index)
    prep = model.prepare(cond)
    src = model.start_state(cond, g)[0]
    for t in times:
        tt = torch.tensor([t], dtype=za.dtype, device=za.device)
        noisy_a = interpolate(za, torch.randn(za.shape, generator=g).to(za), tt)
        noisy_v = interpolate(zv, src.to(zv), tt)
        _, va = model.predict(noisy_v, noisy_a, tt, tt, prep)
        x0 = model.decode_audio(noisy_a - t * va)[0].float().numpy()
        out.append(db(x0[: clip.audio.size]) - ref)
    _, audio, _ = row_media("model", model, clip, 25, clip_sample_seed(0, index), physics=physics)
    out.append(db(audio[: clip.audio.size]) - ref)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="generator checkpoint (repeatable)")
    parser.add_argument("--kinds", default="slide,push,drop", help="scene types (comma list)")
    parser.add_argument("--per-kind", type=int, default=6, help="clips per scene type (default 6)")
    parser.add_argument("--times", default="0.5,0.8,0.9,0.95,0.98,1", help="flow times of the x0 column")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from kinesonic.data import synth_clip
    from kinesonic.evaluation.world import held_out_seeds
    from kinesonic.evaluation.world_rows import clip_physics
    from kinesonic.models import load_checkpoint

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    times = [float(t) for t in args.times.split(",")]
    clips: dict[str, list[tuple[int, object]]] = {k: [] for k in kinds}
    for i, seed in enumerate(held_out_seeds(400, 1000, 0, 20000)):
        clip = synth_clip(seed, 64, 33, 16.0)
        if clip.kind in clips and len(clips[clip.kind]) < args.per_kind:
            clips[clip.kind].append((i, clip))
        if all(len(v) >= args.per_kind for v in clips.values()):
            break
    physics = {k: [clip_physics(c, "estimated") for _, c in v] for k, v in clips.items()}
    head = ["codec", *(f"x0 @ {t:g}" for t in times), "sampled"]
    print("Signed level (dB RMS, generated − simulator), median over clips\n")
    print("| model | scene (clips) | " + " | ".join(head) + " |")
    print("|---|---|" + "---|" * len(head))
    names = [Path(p).name for p in args.model]
    for path in args.model:
        model = load_checkpoint(path).eval()
        label = Path(path).name if names.count(Path(path).name) == 1 else str(Path(path))
        for kind in kinds:
            rows = [
                clip_levels(model, clip, i, times, phys)
                for (i, clip), phys in zip(clips[kind], physics[kind], strict=True)
            ]
            med = np.median(np.asarray(rows), axis=0)
            cells = " | ".join(f"{v:+.1f}" for v in med)
            print(f"| {label} | {kind} ({len(rows)}) | {cells} |", flush=True)


if __name__ == "__main__":
    main()
