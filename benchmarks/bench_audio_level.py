"""Where the generated sound loses its level (issue #16, item 3): RMS at each stage, simulator vs model.

    PYTHONPATH=... nice -n 10 python benchmarks/bench_audio_level.py [--clips 4] [--mp4 OUT.mp4]

For ``--clips`` held-out world clips (the seeds of ``kinesonic eval --world``) and, first, the scene of
the README's main job (``workflows/image_to_sounding_video.json``: Physics Scene seed 12, drop,
rubber; generated here from the scene's own tracks and the workflow's prompt, steps 25, seed 0,
CFG 3 as 'Generate Sounding Video'), prints per clip, in dBFS:

- ``sim``: the simulator's sound, RMS over the clip (and peak);
- ``sim mel`` / ``gen mel``: the level of the audio latent, ``20 log10 RMS`` of the linear mel
  (``AudioCodec.latent_to_mel``) of the simulator's sound / of the generated latent;
- ``sim→GL``: the simulator's latent decoded (Griffin-Lim, no limiter);
- ``gen→GL`` / ``gen→limiter``: the generated latent decoded, before / after the peak limiter.

``--mp4``: also the RMS and peak of a written clip's sound (e.g. the main job's output).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch


def db(x: np.ndarray | torch.Tensor) -> float:
    a = np.asarray(x, dtype=np.float64)
    return 20.0 * math.log10(float(np.sqrt(np.mean(a**2))) + 1e-12)


def peak_db(x: np.ndarray | torch.Tensor) -> float:
    return 20.0 * math.log10(float(np.abs(np.asarray(x, dtype=np.float64)).max()) + 1e-12)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--model", default="checkpoints/kinesonic/kinesonic_tiny.safetensors")
    p.add_argument("--mp4", default="")
    args = p.parse_args()
    torch.set_num_threads(1)

    from kinesonic.data import synth_clip
    from kinesonic.evaluation.world import held_out_seeds
    from kinesonic.models import load_checkpoint

    model = load_checkpoint(args.model)
    codec = model.audio_codec
    clips = [
        ("main job scene (seed 12 drop rubber)", synth_clip(12, 64, 33, scene="drop", material="rubber"))
    ]
    prompts = ["a small rubber ball bounces on a stone floor"]
    for s in held_out_seeds(args.clips, 1000, 0, 20000):
        c = synth_clip(s, 64, 33, 16.0)
        clips.append((f"held-out {s % 100000} ({c.kind})", c))
        prompts.append(c.caption)
    print(
        "| clip | sim RMS (peak) | sim mel | gen mel | sim→GL | gen→GL | gen→limiter (peak) | gen − sim |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    diffs = []
    for i, ((label, clip), prompt) in enumerate(zip(clips, prompts, strict=True)):
        first = torch.from_numpy(clip.frames[0]).float().permute(2, 0, 1) / 255.0
        with torch.no_grad():
            cond = model.build_conditioning(first, prompt, clip.tracks, seed=0)
            # noise seed i for clip i (the main job's scene, first, keeps its seed 0)
            lat = model.sample(cond, "joint", 25, "euler", 1.0, 3.0, 3.0, "cfg", i)["audio"]
            n = lat.shape[-1] * model.cfg.hop_length
            sim = torch.from_numpy(clip.audio[:n].copy())[None]
            sim_lat = codec.encode(sim)
            sim_mel = db(codec.latent_to_mel(sim_lat))
            gen_mel = db(codec.latent_to_mel(lat))
            sim_gl = codec.decode(sim_lat)
            gen_gl = codec.decode(lat)
            gen_lim = model.decode_audio(lat)
        diffs.append(db(gen_lim) - db(clip.audio))
        print(
            f"| {label} | {db(clip.audio):.1f} ({peak_db(clip.audio):.1f}) | {sim_mel:.1f} | {gen_mel:.1f} "
            f"| {db(sim_gl):.1f} | {db(gen_gl):.1f} | {db(gen_lim):.1f} ({peak_db(gen_lim):.1f}) "
            f"| {diffs[-1]:+.1f} |",
            flush=True,
        )
    print(f"\nmedian |gen − sim| {np.median(np.abs(diffs)):.1f} dB over {len(diffs)} clips")
    if args.mp4:
        from kinesonic.media.video import read_video

        audio = read_video(args.mp4).audio
        print(f"{args.mp4}: RMS {db(audio):.1f} dBFS, peak {peak_db(audio):.1f} dBFS")


if __name__ == "__main__":
    main()
