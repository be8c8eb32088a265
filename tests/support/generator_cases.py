"""Small generator cases shared by the device tests (micro model, two tracked objects, clips)."""

from __future__ import annotations

import numpy as np
import torch

from kinesonic.kinematics import Tracks
from kinesonic.models import KinesonicModel, micro_config
from kinesonic.training.data import TrainClip


def randomized(dtype: torch.dtype = torch.float32, cfg=None) -> KinesonicModel:  # noqa: ANN001
    """Micro model (or one of config ``cfg``) with every parameter random (zero-initialised paths
    active), cast to ``dtype``."""
    model = KinesonicModel(micro_config() if cfg is None else cfg)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model.to(dtype).eval()


def line_tracks(cfg) -> Tracks:
    t = np.arange(cfg.num_frames) / cfg.fps
    pts = np.stack([np.stack([4 + 12 * t, 6 + 8.0 * i + 0 * t], -1) for i in range(2)], 1)
    return Tracks(pts, np.ones(pts.shape[:2], bool), cfg.fps, cfg.width, cfg.height)


def physics(cfg, masses: tuple[float, ...], speeds: tuple[float, ...]) -> dict:
    """A PHYSICS value: objects of these masses (kg) moving right at these constant speeds (m/s)."""
    vel = np.zeros((cfg.num_frames, len(masses), 2), np.float32)
    vel[..., 0] = speeds
    return {"masses_kg": np.array(masses, np.float32), "velocity_mps": vel, "fps": cfg.fps}


def conditioning(model: KinesonicModel):
    cfg = model.cfg
    frame = torch.linspace(0, 1, 3 * cfg.height * cfg.width).reshape(3, cfg.height, cfg.width)
    phys = physics(cfg, (0.5, 2.0), (1.0, 0.3))
    return model.build_conditioning(frame, "a ball bounces", line_tracks(cfg), physics=phys, seed=1)


def clips(cfg, n: int = 2) -> list[TrainClip]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        frames = rng.integers(0, 255, (cfg.num_frames, cfg.height, cfg.width, 3), dtype=np.uint8)
        audio = rng.normal(0, 0.1, cfg.audio_samples(cfg.latent_frames())).astype(np.float32)
        phys = physics(cfg, (1.0, 0.2), (0.5, 2.0))
        out.append(
            TrainClip(frames=frames, audio=audio, tracks=line_tracks(cfg), caption="a ball", physics=phys)
        )
    return out
