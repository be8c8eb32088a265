"""Estimate Physics / Draw Physics nodes called headless, and the ``kinesonic physics eval`` command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinesonic.data import synth_clip
from kinesonic.kinematics import Tracks
from kinesonic.nodes import NODE_CLASS_MAPPINGS
from kinesonic.nodes.base import NodeInputError
from kinesonic.nodes.physics import KinesonicDrawPhysics, KinesonicEstimatePhysics


@pytest.fixture(scope="module")
def drop():
    clip = synth_clip(2, size=64, scene="drop", material="metal")
    images = torch.from_numpy(clip.frames.astype(np.float32) / 255.0)
    return clip, images


def test_nodes_are_registered():
    assert NODE_CLASS_MAPPINGS["KinesonicEstimatePhysics"] is KinesonicEstimatePhysics
    assert NODE_CLASS_MAPPINGS["KinesonicDrawPhysics"] is KinesonicDrawPhysics


def test_estimate_physics_node_and_its_picture(drop):
    clip, images = drop
    physics, report = KinesonicEstimatePhysics().run(
        images, clip.tracks.to_comfy(as_torch=True), material="metal"
    )
    assert physics["scale"]["source"] == "gravity"
    assert physics["px_per_m"] == pytest.approx(clip.px_per_m, rel=0.03)
    assert "gravity" in report and "metal (user)" in report
    for source in (physics, clip.physics()):  # either PHYSICS draws
        frames, plot = KinesonicDrawPhysics().run(images, clip.tracks.to_comfy(as_torch=True), source)
        assert frames.shape == (33, 256, 256, 3) and plot.shape == (1, 540, 960, 3)
        # arrows and impact rings change the enlarged frames
        plain = images.repeat_interleave(4, 1).repeat_interleave(4, 2)
        assert (frames - plain).abs().amax() > 0.2


def test_no_tracks_is_an_error_naming_the_input(drop):
    _, images = drop
    with pytest.raises(NodeInputError, match=r"\[Estimate Physics\] input 'tracks'"):
        KinesonicEstimatePhysics().run(images, None)
    empty = {"track_path": torch.zeros(33, 0, 2), "track_visibility": torch.zeros(33, 0, dtype=torch.bool)}
    with pytest.raises(NodeInputError, match="'tracks'"):
        KinesonicEstimatePhysics().run(images, empty)


def test_tracks_of_other_frames_are_an_error(drop):
    clip, images = drop
    t = clip.tracks
    big = Tracks(t.points * 2, t.visible, t.fps, 128, 128, t.labels)
    with pytest.raises(NodeInputError, match=r"input 'tracks'.*64x64.*128x128"):
        KinesonicEstimatePhysics().run(images, big.to_comfy(as_torch=True))
    short = Tracks(t.points[:20], t.visible[:20], t.fps, 64, 64, t.labels)
    with pytest.raises(NodeInputError, match=r"input 'tracks'.*33 frames"):
        KinesonicEstimatePhysics().run(images, short.to_comfy(as_torch=True))


def test_a_scale_that_cannot_be_estimated_and_none_given_is_an_error():
    clip = synth_clip(3, size=64, scene="slide", material="wood")
    images = torch.from_numpy(clip.frames.astype(np.float32) / 255.0)
    tracks = clip.tracks.to_comfy(as_torch=True)
    with pytest.raises(NodeInputError, match=r"input 'px_per_m'.*no free-flight segment"):
        KinesonicEstimatePhysics().run(images, tracks, material="wood")
    physics, _ = KinesonicEstimatePhysics().run(images, tracks, material="wood", px_per_m=clip.px_per_m)
    assert physics["scale"]["source"] == "user"
    size = clip.params["objects"][0]["size_m"][0]
    physics, _ = KinesonicEstimatePhysics().run(images, tracks, material="wood", object_size_m=str(size))
    assert physics["scale"]["source"] == "object size"
    assert physics["px_per_m"] == pytest.approx(clip.px_per_m, rel=0.1)


def test_bad_material_and_masks_are_errors(drop):
    clip, images = drop
    tracks = clip.tracks.to_comfy(as_torch=True)
    with pytest.raises(NodeInputError, match=r"input 'material'.*unobtainium"):
        KinesonicEstimatePhysics().run(images, tracks, material="unobtainium")
    with pytest.raises(NodeInputError, match=r"input 'masks'"):
        KinesonicEstimatePhysics().run(images, tracks, masks=torch.ones(2, 64, 64))


def test_physics_eval_command_is_registered():
    from kinesonic.runner.cli import build_parser

    args = build_parser().parse_args(["physics", "eval", "--clips", "3", "--size", "64"])
    assert args.clips == 3 and callable(args.func)
