"""Make Kinesonic's small demo assets (deterministic; re-run to regenerate them).

    python scripts/make_assets.py [--out assets]

- ``hello.png`` (256x256 RGB): a ball flying along a dotted parabolic trajectory arc over a
  ground line, with fading "ghost" positions and bounce marks — drawn with Pillow at 2x and
  downsampled for anti-aliasing.
- ``hello.wav`` (2.0 s, 22050 Hz, mono, 16-bit): four bell-like impacts (inharmonic partials with
  exponential decays, a short noise click at each onset) on a C-major arpeggio.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SIZE = 256
SAMPLE_RATE = 22050
DURATION_S = 2.0
# Partial frequency ratios and relative amplitudes / decay times of a struck bell (Risset-like).
BELL_PARTIALS = (
    (0.56, 1.0, 1.00),
    (0.92, 0.67, 0.90),
    (1.19, 1.0, 0.65),
    (1.71, 1.8, 0.55),
    (2.00, 2.67, 0.33),
    (2.74, 1.67, 0.32),
    (3.00, 1.46, 0.25),
    (3.76, 1.33, 0.20),
    (4.07, 1.33, 0.15),
)
IMPACTS = ((0.05, 523.25, 1.0), (0.55, 659.25, 0.8), (0.95, 783.99, 0.7), (1.30, 1046.5, 0.9))


def bell_sound(sample_rate: int = SAMPLE_RATE, duration_s: float = DURATION_S) -> np.ndarray:
    """Float32 mono waveform [S] with S = sample_rate * duration_s, peak 0.6."""
    t = np.arange(int(round(sample_rate * duration_s))) / sample_rate
    out = np.zeros_like(t)
    rng = np.random.default_rng(7)
    for onset, pitch, gain in IMPACTS:
        local = t - onset
        on = local >= 0
        tau = np.where(on, local, 0.0)
        for ratio, amp, decay in BELL_PARTIALS:
            freq = pitch * ratio
            if freq >= sample_rate / 2:
                continue
            out += on * gain * amp * np.exp(-tau / (0.6 * decay)) * np.sin(2 * np.pi * freq * tau)
        click = np.exp(-tau / 0.002) * rng.standard_normal(t.shape) * on
        out += 0.8 * gain * click
    fade = np.clip((t[-1] - t) / 0.05, 0, 1)  # 50 ms fade-out at the end
    out *= fade
    return (0.6 * out / np.max(np.abs(out))).astype(np.float32)


def trajectory_picture(size: int = SIZE) -> Image.Image:  # noqa: F821
    """An RGB picture of a ball on a parabolic trajectory (Pillow image, size x size)."""
    from PIL import Image, ImageDraw, ImageFilter

    scale = 2
    s = size * scale
    y = np.linspace(0, 1, s)[:, None, None]
    top, bottom = np.array([28, 36, 72]), np.array([92, 70, 120])
    sky = (top * (1 - y) + bottom * y).repeat(s, axis=1).astype(np.uint8)
    image = Image.fromarray(sky, "RGB")
    draw = ImageDraw.Draw(image)
    ground = int(0.82 * s)
    draw.rectangle([0, ground, s, s], fill=(34, 30, 48))
    draw.line([0, ground, s, ground], fill=(200, 190, 230), width=2 * scale)

    def arc(u: float) -> tuple[float, float]:  # parabola from (0.08, ground) to (0.92, ground)
        x = 0.08 + 0.84 * u
        h = 4 * u * (1 - u) * 0.62
        return x * s, ground - h * s - 14 * scale

    for k in range(41):  # dotted trajectory
        u = k / 40
        px, py = arc(u)
        r = 2.2 * scale
        draw.ellipse([px - r, py - r, px + r, py + r], fill=(250, 210, 120))
    for k, u in enumerate((0.18, 0.32, 0.46, 0.60)):  # fading ghosts of the ball
        px, py = arc(u)
        r = 14 * scale
        shade = 70 + 30 * k
        draw.ellipse([px - r, py - r, px + r, py + r], outline=(shade + 60, shade + 30, shade), width=scale)
    bx, by = arc(0.80)  # the ball itself, with a simple radial shading
    radius = 16 * scale
    for k in range(radius, 0, -1):
        f = k / radius
        color = (int(255 - 60 * f), int(150 - 70 * f), int(60 - 20 * f))
        off = (1 - f) * radius * 0.35
        draw.ellipse([bx - k - off, by - k - off, bx + k - off, by + k - off], fill=color)
    for u in (0.0, 1.0):  # impact marks where the arc meets the ground
        px, _ = arc(u)
        for j in range(3):
            w = (10 + 9 * j) * scale
            draw.arc(
                [px - w, ground - w / 2, px + w, ground + w / 2], 200, 340, fill=(250, 210, 120), width=scale
            )
    image = image.filter(ImageFilter.SMOOTH).resize((size, size), Image.LANCZOS)
    return image


def main(argv: list[str] | None = None) -> int:
    import soundfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    trajectory_picture().save(args.out / "hello.png", optimize=True)
    soundfile.write(str(args.out / "hello.wav"), bell_sound(), SAMPLE_RATE, subtype="PCM_16")
    for name in ("hello.png", "hello.wav"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
