"""Physics world rendering: ground-truth tracks against centroids measured on the rendered frames."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_fill_holes

from kinesonic.data.world import SCENES, synth_clip
from kinesonic.data.world_render import _visibility


def _moments_centroid(weight: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : weight.shape[0], 0 : weight.shape[1]]
    total = weight.sum()
    return float((weight * xs).sum() / total), float((weight * ys).sum() / total)


@pytest.mark.parametrize("size", [64, 256])
def test_tracks_match_mask_centroids_within_half_a_pixel(size: int) -> None:
    errors = []
    for scene in SCENES:
        for seed in range(3):
            clip = synth_clip(seed, size=size, scene=scene, masks=True)
            # the masks are what was composited: outside every mask the frame is the background
            empty = clip.masks.sum(1) == 0
            background = np.broadcast_to(clip.background, clip.frames.shape)
            assert np.array_equal(clip.frames[empty], background[empty])
            inside = clip.masks.max(1) >= 0.999
            changed = (clip.frames != clip.background[None]).any(-1)
            assert changed[inside].mean() > 0.95
            for f in range(clip.tracks.num_frames):
                for n in range(len(clip.labels)):
                    if clip.coverage[f, n] < 0.999:
                        continue
                    x, y = _moments_centroid(clip.masks[f, n])
                    errors.append(np.hypot(x - clip.tracks.points[f, n, 0], y - clip.tracks.points[f, n, 1]))
    assert len(errors) > 300
    assert max(errors) < 0.5  # measured: 0.05 px at 64, 0.02 px at 256


def test_tracks_match_frame_difference_centroids() -> None:
    """Centroid of the pixels that differ from the background (binary, holes filled).

    Binarising half-covered rim pixels (e.g. a box's bottom row on the floor line) costs up to about
    half a pixel, so the bound is 0.6 px here; the alpha masks above give the sub-0.1 px figure.
    """
    errors = []
    for size in (64, 256):
        for scene in ("drop", "throw", "slide", "roll", "push"):
            for seed in range(4):
                clip = synth_clip(seed, size=size, scene=scene, masks=True)
                for f in range(clip.tracks.num_frames):
                    if clip.coverage[f, 0] < 0.999:
                        continue
                    diff = np.abs(clip.frames[f].astype(int) - clip.background.astype(int)).max(-1) > 0
                    x, y = _moments_centroid(binary_fill_holes(diff).astype(float))
                    errors.append(np.hypot(x - clip.tracks.points[f, 0, 0], y - clip.tracks.points[f, 0, 1]))
    assert len(errors) > 500
    assert np.median(errors) < 0.2
    assert max(errors) < 0.6


def test_visibility_follows_the_centre_leaving_the_frame() -> None:
    left = 0
    for seed in range(20):
        clip = synth_clip(seed, scene="roll", ramp=True)
        pts, vis, size = clip.tracks.points[:, 0], clip.tracks.visible[:, 0], clip.tracks.width
        inside = np.all((np.round(pts) >= 0) & (np.round(pts) < size), axis=1)
        np.testing.assert_array_equal(vis, inside)
        assert np.all(clip.coverage[~inside, 0] <= 0.5 + 1e-6)
        left += int((~inside).any())
    assert left >= 3  # some balls really roll out of the picture


def test_occluded_object_is_invisible() -> None:
    def disc(cx: float, cy: float, r: float) -> tuple:
        ys, xs = np.mgrid[0:32, 0:32]
        alpha = np.clip(r - np.hypot(xs - cx, ys - cy) + 0.5, 0, 1).astype(np.float32)
        return (0, 32, 0, 32), alpha, np.zeros((32, 32, 3), np.float32)

    layers = [disc(10, 10, 4), disc(10, 10, 6), disc(25, 25, 3)]  # object 0 hidden by object 1
    centres = np.array([[10.0, 10.0], [10.0, 10.0], [25.0, 25.0]])
    area = np.pi * np.array([16.0, 36.0, 9.0])
    cov, vis = np.zeros(3), np.zeros(3, bool)
    _visibility(layers, centres, area, cov, vis, 32)
    assert cov[0] == pytest.approx(0.0, abs=1e-6) and not vis[0]
    assert cov[1] == pytest.approx(1.0, abs=0.02) and vis[1]
    assert cov[2] == pytest.approx(1.0, abs=0.03) and vis[2]


def test_motion_blur_smears_moving_objects_only() -> None:
    sharp = synth_clip(1, scene="throw")
    blurred = synth_clip(1, scene="throw", motion_blur=5)
    np.testing.assert_array_equal(sharp.tracks.points, blurred.tracks.points)
    assert sharp.audio.tobytes() == blurred.audio.tobytes()
    moving = np.hypot(*sharp.velocity_mps[:, 0].T) * sharp.px_per_m / sharp.fps > 2.0  # > 2 px per frame
    assert moving.any()
    for f in np.flatnonzero(moving):
        assert not np.array_equal(sharp.frames[f], blurred.frames[f])


def test_frame_sizes_and_types() -> None:
    clip = synth_clip(0, size=96, num_frames=9)
    assert clip.frames.shape == (9, 96, 96, 3) and clip.frames.dtype == np.uint8
    assert clip.tracks.points.shape == (9, len(clip.labels), 2)
    assert clip.velocity_mps.shape == (9, len(clip.labels), 2)
    assert clip.tracks.width == clip.tracks.height == 96
