"""SAM2 adapter end to end: a tiny randomly initialised SAM2.1 (hiera-t, 256 px) saved as
``{"model": state_dict}`` in models/sam2 and loaded through sam2's own loader.

Random weights make the predicted masks meaningless, so these tests check conventions: weights
round-trip, output shapes at the input resolution on a W != H frame, and that propagated masks
keep frame 0 where it was given (x/y order and pixel scale of the centroids).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from perception_models import SAM2_TEST_SIZE, require_sam2, save_tiny_sam2

from kinesonic.nodes.base import NodeInputError
from kinesonic.perception.common import PerceptionError
from kinesonic.perception.sam2_adapter import infer_sam2_config, load_sam2, sam2_propagate, sam2_segment
from kinesonic.perception.segment import Prompt, mask_centroids

H, W = 64, 96


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    require_sam2()
    return save_tiny_sam2(tmp_path_factory.mktemp("sam2"))


@pytest.fixture()
def model_file(saved_model):
    path, state = saved_model
    folder = Path(os.environ["KINESONIC_MODELS"]) / "sam2"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path.name).symlink_to(path)
    return folder / path.name, state


@pytest.fixture(scope="module")
def loaded(saved_model):
    return load_sam2(saved_model[0], image_size=SAM2_TEST_SIZE)


def test_infer_config_from_release_file_names():
    assert infer_sam2_config("sam2.1_hiera_tiny.pt") == "sam2.1_hiera_t"
    assert infer_sam2_config("sam2.1_hiera_base_plus.pt") == "sam2.1_hiera_b+"
    assert infer_sam2_config("sam2_hiera_large.safetensors") == "sam2_hiera_l"
    assert infer_sam2_config("models/sam2/sam2.1_hiera_small-fp16.safetensors") == "sam2.1_hiera_s"
    with pytest.raises(PerceptionError, match="choose the config"):
        infer_sam2_config("my_model.pt")


def test_loader_restores_saved_weights_pt_and_safetensors(saved_model, loaded, tmp_path):
    path, state = saved_model
    assert loaded.config == "sam2.1_hiera_t" and loaded.image_size == SAM2_TEST_SIZE
    got = loaded.model.state_dict()
    assert set(got) == set(state)
    assert all(torch.equal(got[k], v) for k, v in state.items())
    from safetensors.torch import save_file

    st_path = tmp_path / "sam2.1_hiera_tiny.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(st_path))
    from_st = load_sam2(st_path, image_size=SAM2_TEST_SIZE)
    assert all(torch.equal(from_st.model.state_dict()[k], v) for k, v in state.items())
    with pytest.raises(PerceptionError, match="do not fit"):
        load_sam2(path, config="sam2.1_hiera_s", image_size=SAM2_TEST_SIZE)


def test_prompted_and_automatic_masks_have_the_input_resolution(loaded):
    image = np.random.default_rng(0).integers(0, 256, size=(H, W, 3)).astype(np.uint8)
    prompts = [Prompt(points=[(90.0, 5.0)]), Prompt(box=(2.0, 40.0, 30.0, 62.0))]
    masks, scores = sam2_segment(loaded, image, prompts)
    assert masks.shape == (2, H, W) and masks.dtype == bool and np.isfinite(scores).all()
    auto, auto_scores = sam2_segment(
        loaded, image, None, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0,
        min_area=1, max_area_fraction=1.0,
    )  # fmt: skip
    assert auto.ndim == 3 and auto.shape[1:] == (H, W) and len(auto) >= 1 and len(auto_scores) == len(auto)


def test_propagation_keeps_frame_zero_masks_in_place(loaded):
    frames = np.random.default_rng(1).integers(0, 256, size=(3, H, W, 3)).astype(np.uint8)
    masks = np.zeros((2, H, W), dtype=bool)
    masks[0, 2:11, 84:95] = True  # near the right edge: centroid (89, 6)
    masks[1, 50:61, 1:12] = True  # bottom-left: centroid (6, 55)
    video = sam2_propagate(loaded, frames, masks)
    assert video.shape == (3, 2, H, W) and video.dtype == bool
    centres, kept = mask_centroids(video[0], min_area=1)
    assert kept.tolist() == [0, 1]
    np.testing.assert_allclose(centres, [[89.0, 6.0], [6.0, 55.0]], atol=0.5)


def test_nodes_with_sam2_from_the_models_folder(model_file):
    from kinesonic.nodes.extract import KinesonicSegmentFirstFrame, KinesonicTrackPoints

    images = torch.from_numpy(np.random.default_rng(2).random((2, H, W, 3)).astype(np.float32))
    points = json.dumps([{"x": 20, "y": 30}])
    seg = KinesonicSegmentFirstFrame()
    with pytest.raises(NodeInputError, match="sam2.1_hiera_tiny.pt") as info:
        seg.run(images, "sam2", 0.0, 1, sam2_model="none", points=points)
    assert "sam2" in str(info.value)
    masks, preview = seg.run(
        images, "sam2", 0.0, 1, sam2_model=model_file[0].name, sam2_image_size=SAM2_TEST_SIZE, points=points
    )
    assert preview.shape == (1, H, W, 3)
    assert masks.ndim == 3 and masks.shape[1:] == (H, W)
    given = torch.zeros(1, H, W)
    given[0, 40:51, 70:81] = 1  # centroid (75, 45)
    (tracks,) = KinesonicTrackPoints().run(
        images, "sam2", 8.0, False, masks=given, sam2_model=model_file[0].name, sam2_image_size=SAM2_TEST_SIZE
    )
    path = tracks["track_path"].numpy()
    assert path.shape == (2, 1, 2) and tracks["track_visibility"].shape == (2, 1)
    np.testing.assert_allclose(path[0, 0], [75.0, 45.0], atol=1e-6)
