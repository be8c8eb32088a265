"""Resource bounds (issue 14): oversize requests fail with a clear error *before* allocating.

The checks run in a fresh subprocess that records its peak resident memory (``ru_maxrss``) after
the inputs are built and again after each refused request: the peak must not grow by more than a
few tens of MB, whereas the requests would need gigabytes (tens of GB for the old behaviour).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    r"""
    import json, resource, sys, tempfile
    from pathlib import Path
    import numpy as np, torch

    from kinesonic.kinematics import Tracks
    from kinesonic.media import write_video
    from kinesonic.models.config import micro_config
    from kinesonic.models.model import KinesonicModel
    from kinesonic.nodes.base import NodeInputError
    from kinesonic.nodes.media import KinesonicLoadVideo
    from kinesonic.nodes.tracks import KinesonicDrawTracks, KinesonicTracksFromCoordinates

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    folder = Path(tempfile.mkdtemp())
    clip = folder / "small.mp4"
    write_video(clip, np.zeros((16, 32, 32, 3), np.uint8), 16.0)
    coords_20k = json.dumps([{"x": float(i % 512), "y": 5.0} for i in range(20_000)])
    coords_huge = "[" + ",".join(['{"x": 1.5, "y": 2.5}'] * 1_000_000) + "]"  # ~20 MB of text
    image = torch.zeros(1, 512, 512, 3)
    long_tracks = Tracks(np.zeros((10_000, 1, 2)), np.ones((10_000, 1), bool), 16.0, 512, 512)
    model = KinesonicModel(micro_config()).eval()
    model_tracks = Tracks(np.full((200, 1, 2), 8.0), np.ones((200, 1), bool), 16.0, 32, 32)
    cases = {
        "coordinates_20k": lambda: KinesonicTracksFromCoordinates().run(coords_20k, 16.0, 512, 512),
        "coordinates_20MB": lambda: KinesonicTracksFromCoordinates().run(coords_huge, 16.0, 512, 512),
        "load_video_8192": lambda: KinesonicLoadVideo().run("(use path)", str(clip), 0, 8192, 8192, 0.0),
        "draw_10k_frames": lambda: KinesonicDrawTracks().run(image, long_tracks.to_comfy(as_torch=True)),
        "generate_200_frames": lambda: model.build_conditioning(None, "", model_tracks),
    }
    out = {}
    for name, case in cases.items():
        before = peak_mb()
        try:
            case()
            message = None
        except (NodeInputError, ValueError) as error:
            message = f"{type(error).__name__}: {error}"
        out[name] = {"message": message, "growth_mb": peak_mb() - before}
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def results() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), KINESONIC_ALLOW_ANY_PATH="1")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kjnodes_points_are_bounded_before_the_clip_is_made(results):
    case = results["coordinates_20k"]
    assert "[Tracks from Coordinates] input 'coordinates'" in case["message"]
    assert "20,000 frames" in case["message"] and "10,000" in case["message"]
    assert case["growth_mb"] < 64
    case = results["coordinates_20MB"]
    assert "input 'coordinates'" in case["message"] and "more than the 16,777,216 read" in case["message"]
    assert case["growth_mb"] < 64  # refused before parsing (parsing it would take hundreds of MB)


def test_load_video_resize_is_bounded_by_the_image_budget(results):
    case = results["load_video_8192"]
    assert "[Load Video] input 'width/height/max_frames'" in case["message"]
    assert "16 frames of 8192x8192 need 12.0 GiB" in case["message"] and "4.0 GiB bound" in case["message"]
    assert case["growth_mb"] < 64  # 12 GiB were never allocated


def test_draw_tracks_is_bounded_by_the_image_budget(results):
    case = results["draw_10k_frames"]
    assert "[Draw Tracks] input 'tracks'" in case["message"]
    assert "10000 frames of 512x512 need 29.3 GiB" in case["message"]
    assert case["growth_mb"] < 64


def test_generation_length_is_bounded_by_the_model(results):
    case = results["generate_200_frames"]
    assert "a clip of 200 frames is longer than this model makes: at most 68 frames" in case["message"]
    assert case["growth_mb"] < 64
