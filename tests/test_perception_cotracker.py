"""CoTracker3 adapter end to end with a randomly initialised model saved and loaded like a release file.

With random weights the tracked *values* mean nothing, so these tests check conventions: shapes,
queries returned exactly at their query frame, coordinates in input pixels (x, y) on a W != H clip.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from perception_models import require_cotracker, save_random_cotracker

from kinesonic.nodes.base import NodeInputError
from kinesonic.perception.cotracker_adapter import cotracker_track, load_cotracker

H, W, T = 64, 96, 8  # W != H so swapped axes or a wrong scale show
QUERIES = np.array([[90.0, 6.0], [4.0, 60.0], [50.0, 30.0]])  # near the right edge, bottom-left, centre


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    require_cotracker()
    return save_random_cotracker(tmp_path_factory.mktemp("cotracker"))


@pytest.fixture()
def model_file(saved_model):
    """The saved checkpoint placed in this test's models/cotracker folder."""
    path, predictor = saved_model
    folder = Path(os.environ["KINESONIC_MODELS"]) / "cotracker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path.name).symlink_to(path)
    return folder / path.name, predictor


def _clip(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(T, H, W, 3)).astype(np.uint8)


def test_loader_restores_the_saved_weights_and_outputs(model_file):
    path, original = model_file
    loaded = load_cotracker(path, interp_shape=(64, 64))
    for key, value in original.model.state_dict().items():
        assert torch.equal(loaded.predictor.model.state_dict()[key], value), key
    original.interp_shape = (64, 64)
    frames = _clip()
    ours, vis = cotracker_track(loaded, frames, QUERIES)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2)[None].float()
    queries = torch.cat([torch.zeros(1, 3, 1), torch.from_numpy(QUERIES)[None].float()], dim=2)
    theirs, their_vis = original(video, queries=queries)
    np.testing.assert_allclose(ours, theirs[0].numpy(), atol=1e-4)
    assert (vis == their_vis[0].numpy()).all()


def test_coordinate_conventions_on_a_wide_clip(model_file):
    model = load_cotracker(model_file[0], interp_shape=(64, 64))
    tracks, visible = cotracker_track(model, _clip(1), QUERIES)
    assert tracks.shape == (T, 3, 2) and visible.shape == (T, 3) and visible.dtype == bool
    np.testing.assert_allclose(tracks[0], QUERIES, atol=1e-4)  # frame-0 queries come back exactly
    assert visible[0].all()
    # coordinates are input pixels (x, y): a random model moves points only a little, whereas
    # swapped axes or a missing rescale from the 64x64 working size would put them 20+ px away
    assert np.abs(tracks - QUERIES[None]).max() < 8.0


def test_queries_at_a_later_frame_come_back_at_that_frame(model_file):
    model = load_cotracker(model_file[0], interp_shape=(64, 64))
    tracks, visible = cotracker_track(model, _clip(2), QUERIES, query_frame=3)
    np.testing.assert_allclose(tracks[3], QUERIES, atol=1e-4)
    assert visible[3].all()


def test_track_node_with_cotracker_starts_at_mask_centroids(model_file):
    from kinesonic.nodes.extract import KinesonicTrackPoints

    masks = torch.zeros(2, H, W)
    masks[0, 2:11, 84:95] = 1  # centroid (89, 6)
    masks[1, 55:64, 0:9] = 1  # centroid (4, 59)
    images = torch.from_numpy(_clip(3)).float() / 255.0
    (tracks,) = KinesonicTrackPoints().run(
        images, "cotracker", 12.0, False, masks=masks, cotracker_model=model_file[0].name, cotracker_size=64
    )
    path = tracks["track_path"].numpy()
    assert path.shape == (T, 2, 2) and (tracks["width"], tracks["height"], tracks["fps"]) == (W, H, 12.0)
    np.testing.assert_allclose(path[0], [[89.0, 6.0], [4.0, 59.0]], atol=1e-3)


def test_missing_package_and_missing_weights_say_what_and_where(monkeypatch, model_file):
    from kinesonic.nodes.extract import KinesonicTrackPoints

    images = torch.rand(4, H, W, 3)
    masks = torch.zeros(1, H, W)
    masks[0, 10:20, 10:20] = 1
    node = KinesonicTrackPoints()
    with pytest.raises(NodeInputError, match="models/cotracker|models.cotracker") as info:
        node.run(images, "cotracker", 16.0, False, masks=masks, cotracker_model="none")
    assert "scaled_offline.pth" in str(info.value)
    with pytest.raises(FileNotFoundError, match="gone.pth"):
        node.run(images, "cotracker", 16.0, False, masks=masks, cotracker_model="gone.pth")
    for name in [m for m in sys.modules if m == "cotracker" or m.startswith("cotracker.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cotracker", None)
    monkeypatch.setattr("kinesonic.nodes.extract._CACHE", {})
    with pytest.raises(NodeInputError, match="CoTracker3 is not installed"):
        node.run(images, "cotracker", 16.0, False, masks=masks, cotracker_model=model_file[0].name)
