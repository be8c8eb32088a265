"""Write the thumbnails ComfyUI's template browser shows for workflows/*.json (workflows/<name>.jpg).

    python scripts/make_template_thumbnails.py

For a custom pack the frontend asks for ``/api/workflow_templates/<pack>/<name>.jpg`` and shows the
file name as title and description, so each picture carries a one-line caption saying what the
template does (and the training recipe says it is one, and how long it takes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
W, H = 320, 240


def _caption(img: Image.Image, lines: list[str], colour=(255, 255, 255)) -> Image.Image:
    draw = ImageDraw.Draw(img)
    box_h = 16 * len(lines) + 10
    draw.rectangle([0, H - box_h, W, H], fill=(16, 18, 28))
    for i, line in enumerate(lines):
        draw.text((8, H - box_h + 6 + 16 * i), line, fill=colour)
    return img


def _frame_panel(frame: np.ndarray, size: int) -> Image.Image:
    return Image.fromarray(frame).resize((size, size), Image.NEAREST)


def image_to_sounding_video() -> Image.Image:
    sys.path.insert(0, str(ROOT.parent))
    from kinesonic.data import synth_clip
    from kinesonic.kinematics.keyframes import parse_state, state_to_tracks

    workflow = json.loads((ROOT / "workflows" / "image_to_sounding_video.json").read_text())
    draw_node = next(n for n in workflow["nodes"] if n["type"] == "KinesonicDrawTrajectories")
    state = parse_state(draw_node["widgets_values"][0])
    tracks = state_to_tracks(state, 33, 16.0)
    first = synth_clip(12, 64, 33, 16.0, scene="drop", material="rubber").frames[0]
    side = 180
    img = Image.new("RGB", (W, H), (32, 34, 48))
    img.paste(_frame_panel(first, side), (10, 10))
    draw = ImageDraw.Draw(img)
    pts = [(10 + x * side / 64, 10 + y * side / 64) for x, y in tracks.points[:, 0]]
    draw.line(pts, fill=(255, 80, 70), width=2)
    for p in pts:
        draw.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=(255, 220, 210))
    # a sound wave on the right: the clip is heard too
    xs = np.arange(200, 310)
    ys = 100 + 30 * np.exp(-((xs - 200) % 36) / 10) * np.sin(xs * 1.1)
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=(90, 200, 255), width=2)
    return _caption(
        img, ["Demo: first frame + drawn path -> video with sound", "~1 min on a CPU (tiny model)"]
    )


def hello_sounding_video() -> Image.Image:
    hello = Image.open(ROOT / "assets" / "hello.png").convert("RGB")
    img = Image.new("RGB", (W, H), (32, 34, 48))
    hello.thumbnail((W - 20, H - 60))
    img.paste(hello, ((W - hello.width) // 2, 10))
    return _caption(img, ["Demo: an image and a sound -> one mp4", "no model needed, seconds"])


def train_default() -> Image.Image:
    img = Image.new("RGB", (W, H), (70, 40, 30))
    draw = ImageDraw.Draw(img)
    draw.text((16, 20), "TRAINING RECIPE - not a demo", fill=(255, 220, 120))
    draw.text((16, 50), "Retrains the default generator", fill=(255, 255, 255))
    draw.text((16, 68), "on 20,000 physics-world clips.", fill=(255, 255, 255))
    draw.text((16, 100), "About 1 hour on a 2-core CPU.", fill=(255, 180, 160))
    xs = np.linspace(16, 300, 60)
    ys = 190 - 60 * np.exp(-(xs - 16) / 80)  # a falling loss curve
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=(255, 200, 120), width=3)
    return _caption(img, ["Training: ~1 hour of CPU time"], colour=(255, 220, 120))


MAKERS = {
    "image_to_sounding_video": image_to_sounding_video,
    "hello_sounding_video": hello_sounding_video,
    "train_default": train_default,
}


def main() -> int:
    missing = sorted(p.stem for p in (ROOT / "workflows").glob("*.json") if p.stem not in MAKERS)
    if missing:
        print(f"no thumbnail maker for: {', '.join(missing)} (add one to MAKERS)")
    for name, make in MAKERS.items():
        path = ROOT / "workflows" / f"{name}.jpg"
        make().save(path, quality=88)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
