"""Sizes of the generator presets (``models.config.PRESETS``), computed on the ``meta`` device.

For each preset: parameters (total and twin DiT), tokens of a clip of the preset's length, FLOPs of
one sampling step (one DiT call; CFG = batch 2) counted by ``torch.utils.flop_counter``, and memory at
bf16: the weights, plus the peak of live activations during one CFG step (counted on ``meta``
tensors: every non-view op output is live from its creation until Python frees it; an estimate of
what an inference step needs on a GPU, without the framework's workspace and caching).

Usage: ``python benchmarks/model_sizes.py`` (a few seconds; nothing is allocated).
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode


class LiveBytes(TorchDispatchMode):
    """Peak bytes of live op outputs (views excluded) while the mode is active."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0

    def _free(self, n: int) -> None:
        self.live -= n

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        out = func(*args, **(kwargs or {}))
        if not getattr(func, "is_view", False):
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    n = t.numel() * t.element_size()
                    self.live += n
                    weakref.finalize(t, self._free, n)
        self.peak = max(self.peak, self.live)
        return out


def measure(name: str) -> dict:
    from kinesonic.models import Conditioning, KinesonicModel, cat_conditions, preset_config

    cfg = preset_config(name)
    with torch.device("meta"):
        model = KinesonicModel(cfg).to("meta").eval()
    params = sum(p.numel() for p in model.parameters())
    dit = sum(p.numel() for p in model.dit.parameters())
    model.to(torch.bfloat16)
    lf, c, h, w = cfg.latent_frames(), cfg.video_channels, cfg.latent_height, cfg.latent_width
    meta = {"device": "meta", "dtype": torch.bfloat16}
    cond = Conditioning(
        latent_frames=lf,
        first_latent=torch.zeros(1, c, h, w, **meta),
        traj_latent=torch.zeros(1, c, lf, h, w, **meta),
        traj_mask=torch.zeros(1, 1, lf, h, w, **meta),
        soft_mask=torch.zeros(1, 1, lf, h, w, **meta),
        text_ids=torch.ones(1, cfg.text_max_tokens, dtype=torch.long, device="meta"),
        kin=torch.zeros(1, lf, 4, cfg.kin_dim, **meta),  # 4 tracked objects
        kin_mask=torch.ones(1, lf, 4, dtype=torch.bool, device="meta"),
        physics=torch.zeros(1, 4, cfg.physics_dim, **meta),
        physics_mask=torch.ones(1, 4, dtype=torch.bool, device="meta"),
    )
    out = {}
    with torch.no_grad():
        prep = model.prepare(cat_conditions(cond, cond.dropped()))
        v = torch.zeros(2, c, lf, h, w, **meta)
        a = torch.zeros(2, cfg.audio_channels, cfg.audio_latent_frames(lf), **meta)
        t = torch.full((2,), 0.5, device="meta")
        for b in (1, 2):
            p1 = model.prepare(cond) if b == 1 else prep
            with FlopCounterMode(display=False) as counter:
                model.predict(v[:b], a[:b], t[:b], t[:b], p1)
            out[f"flops{b}"] = counter.get_total_flops()
        mode = LiveBytes()
        with mode:
            model.predict(v, a, t, t, prep)
    return {
        "name": name,
        "size": f"{cfg.width}x{cfg.height}",
        "params": params,
        "dit": dit,
        "tokens": (cfg.video_tokens(lf), cfg.audio_tokens(lf)),
        "hidden": cfg.hidden,
        "depth": cfg.depth,
        **out,
        "weights": params * 2,
        "activations": mode.peak,
    }


def main() -> None:
    from kinesonic.models import PRESETS

    print(
        "| preset | size, frames | params (twin DiT) | hidden x depth | video + audio tokens "
        "| GFLOP per step (batch 1 / CFG batch 2) | bf16 weights | bf16 activation peak, CFG step |"
    )
    print("|---|---|---|---|---|---|---|---|")
    from kinesonic.models import preset_config

    for name in PRESETS:
        r = measure(name)
        cfg = preset_config(name)
        print(
            f"| {name} | {r['size']}, {cfg.num_frames} | {r['params'] / 1e6:.1f} M ({r['dit'] / 1e6:.1f} M) "
            f"| {r['hidden']} x {r['depth']} | {r['tokens'][0]} + {r['tokens'][1]} "
            f"| {r['flops1'] / 1e9:.2f} / {r['flops2'] / 1e9:.2f} | {r['weights'] / 2**20:.0f} MB "
            f"| {r['activations'] / 2**20:.0f} MB |"
        )


if __name__ == "__main__":
    main()
