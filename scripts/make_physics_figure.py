"""Figure of docs/physics.md: Draw Physics on a held-out-style drop clip (frames strip + plot).

    python scripts/make_physics_figure.py   # writes docs/images/physics_drop.png

Seed 2, drop scene, metal, 64 px: tracks extracted from the frames, physics estimated with the
material given; frames 2, 4, 6, 8 with velocity arrows and impact energies, then the plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def main() -> None:
    import cv2

    from kinesonic.data import synth_clip
    from kinesonic.media.files import atomic_write_bytes
    from kinesonic.perception import extract_tracks
    from kinesonic.physics import estimate_physics
    from kinesonic.physics.draw import draw_physics, plot_physics

    clip = synth_clip(2, size=64, scene="drop", material="metal")
    tracks = extract_tracks(clip.frames, clip.fps).tracks()
    physics = estimate_physics(clip.frames, tracks, material="metal").physics()
    drawn = draw_physics(clip.frames, tracks.interpolated(), tracks.visible, physics, 240)
    strip = np.concatenate([drawn[i] for i in (2, 4, 6, 8)], axis=1)  # 960 wide
    plot = plot_physics(physics, strip.shape[1], 400)
    out = Path(__file__).resolve().parents[1] / "docs" / "images" / "physics_drop.png"
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.concatenate([strip, plot], axis=0), cv2.COLOR_RGB2BGR))
    assert ok
    atomic_write_bytes(out, png.tobytes())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
