"""Generator checkpoints: safetensors round trip with config/stats metadata, clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kinesonic.kinematics import KinematicStats
from kinesonic.models import (
    CheckpointError,
    KinesonicModel,
    load_checkpoint,
    micro_config,
    read_metadata,
    save_checkpoint,
)


def random_model(seed: int = 0, **cfg_overrides) -> KinesonicModel:
    torch.manual_seed(seed)
    stats = KinematicStats(tuple(np.arange(8) * 0.1), tuple(np.arange(1, 9) * 0.5), 42)
    m = KinesonicModel(micro_config(**cfg_overrides), stats)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return m


def test_save_load_bitwise_identical(tmp_path) -> None:
    m = random_model()
    path = save_checkpoint(m, tmp_path / "gen.safetensors", {"note": "unit test"})
    meta = read_metadata(path)
    assert meta["kinesonic_format"] == "1" and meta["note"] == "unit test"
    assert json.loads(meta["kinesonic_config"])["hidden"] == m.cfg.hidden
    loaded = load_checkpoint(path)
    assert loaded.cfg == m.cfg
    assert loaded.kinematic_stats == m.kinematic_stats
    sa, sb = m.state_dict(), loaded.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k
    cfg = m.cfg
    img = torch.rand(3, cfg.height, cfg.width)
    m.eval()
    c1 = m.build_conditioning(img, "thud")
    c2 = loaded.build_conditioning(img, "thud")
    o1 = m.sample(c1, steps=2, seed=3)
    o2 = loaded.sample(c2, steps=2, seed=3)
    assert torch.equal(o1["video"], o2["video"]) and torch.equal(o1["audio"], o2["audio"])
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_refuses_wrong_shapes_with_key_list(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    small = random_model(hidden=32)
    path = save_checkpoint(small, tmp_path / "gen.safetensors")
    meta = read_metadata(path)
    state = load_file(str(path))
    # pretend the file was written by a wider model: config says hidden 64, tensors are hidden 32
    cfg = json.loads(meta["kinesonic_config"])
    cfg.update(hidden=64, heads=4, rope_split=[8, 4, 4])
    meta["kinesonic_config"] = json.dumps(cfg)
    del state["dit.kin_null"]
    state["dit.extra_weight"] = torch.zeros(2)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad), metadata=meta)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(bad)
    msg = str(err.value)
    assert "bad.safetensors" in msg
    assert "missing keys (1): dit.kin_null" in msg
    assert "unexpected keys (1): dit.extra_weight" in msg
    assert "shape mismatches" in msg and "dit.video_in.weight: expected (64, 36), file has (32, 36)" in msg


def test_refuses_foreign_file(tmp_path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(1)}, str(path))
    with pytest.raises(CheckpointError, match="not a Kinesonic generator checkpoint"):
        load_checkpoint(path)
    save_file({"w": torch.zeros(1)}, str(path), metadata={"kinesonic_format": "99", "kinesonic_config": "{}"})
    with pytest.raises(CheckpointError, match="format '99'"):
        load_checkpoint(path)


def test_refuses_corrupt_file(tmp_path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="broken.safetensors: not a readable safetensors file"):
        load_checkpoint(path)


def test_ablations_travel_in_the_training_metadata(tmp_path) -> None:
    m = random_model()
    m.ablations = ("no_hybrid_flow",)
    path = save_checkpoint(m, tmp_path / "abl.safetensors")
    switches = json.loads(read_metadata(path)["kinesonic_training"])["ablations"]
    assert switches == {
        "no_kinematics": False, "no_hybrid_flow": True, "no_trajectory": False, "no_physics": False,
    }  # fmt: skip
    assert load_checkpoint(path).ablations == ("no_hybrid_flow",)
    plain = save_checkpoint(random_model(), tmp_path / "plain.safetensors")
    assert "kinesonic_training" not in read_metadata(plain) and load_checkpoint(plain).ablations == ()
    # the trainer's own entry (train config, ablations, steps...) is kept as given
    given = json.dumps({"ablations": {"no_kinematics": True, "no_trajectory": False}, "step": 7})
    path = save_checkpoint(random_model(), tmp_path / "trained.safetensors", {"kinesonic_training": given})
    assert read_metadata(path)["kinesonic_training"] == given
    assert load_checkpoint(path).ablations == ("no_kinematics",)


def test_no_physics_ablation_round_trip(tmp_path) -> None:
    """A run with use_physics = False records no_physics; its file loads with it, and so does an older
    file whose train_config says use_physics false but whose ablations object predates the switch."""
    from kinesonic.training.config import TrainConfig

    cfg = TrainConfig(use_physics=False)
    assert cfg.ablations == {
        "no_kinematics": False, "no_hybrid_flow": False, "no_trajectory": False, "no_physics": True,
    }  # fmt: skip
    assert TrainConfig().ablations["no_physics"] is False
    meta = {"kinesonic_training": json.dumps({"train_config": cfg.to_dict(), "ablations": cfg.ablations})}
    path = save_checkpoint(random_model(), tmp_path / "nophys.safetensors", meta)
    assert load_checkpoint(path).ablations == ("no_physics",)
    old = {"train_config": cfg.to_dict(), "ablations": {"no_kinematics": False, "no_trajectory": False}}
    path = save_checkpoint(
        random_model(), tmp_path / "old.safetensors", {"kinesonic_training": json.dumps(old)}
    )
    assert load_checkpoint(path).ablations == ("no_physics",)
    old["train_config"]["use_physics"] = True
    path = save_checkpoint(
        random_model(), tmp_path / "with.safetensors", {"kinesonic_training": json.dumps(old)}
    )
    assert load_checkpoint(path).ablations == ()
    # a model saved in code with the switch writes it like the other ablations
    m = random_model()
    m.ablations = ("no_physics",)
    path = save_checkpoint(m, tmp_path / "code.safetensors")
    assert json.loads(read_metadata(path)["kinesonic_training"])["ablations"]["no_physics"] is True
    assert load_checkpoint(path).ablations == ("no_physics",)


def test_a_no_physics_model_samples_without_the_physics_it_is_given() -> None:
    from kinesonic.models.sampling import sample

    frame = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    physics = {
        "masses_kg": np.array([2.0]),
        "velocity_mps": np.linspace(0.0, 3.0, 17)[:, None, None] * np.array([0.6, 0.8]),
        "fps": 16.0,
    }
    outs = {}
    for ablations in ((), ("no_physics",)):
        m = random_model(seed=3)
        m.ablations = ablations
        with_p = m.build_conditioning(frame, "thud", physics=physics)
        without = m.build_conditioning(frame, "thud")
        assert with_p.physics is not None and without.physics is None
        outs[ablations] = [sample(m, c, steps=2, seed=1)["audio"] for c in (with_p, without)]
    assert not torch.allclose(*outs[()])  # the physics input changes this (random) model's sound
    assert torch.equal(*outs[("no_physics",)])  # trained without: the physics given is dropped


def test_unknown_ablation_in_metadata_is_refused_naming_the_file(tmp_path) -> None:
    meta = {"kinesonic_training": json.dumps({"ablations": {"no_text": True}})}
    path = save_checkpoint(random_model(), tmp_path / "odd.safetensors", meta)
    with pytest.raises(CheckpointError, match=r"odd\.safetensors: bad metadata: unknown ablation switches"):
        load_checkpoint(path)


def test_load_builds_every_tensor_as_a_plainly_built_model_and_draws_no_random_numbers(tmp_path) -> None:
    # every parameter and buffer, also the non-persistent ones (mel filterbank, its pseudo-inverse,
    # window, rotary tables), must equal a model built the plain way with the file's weights loaded
    path = save_checkpoint(random_model(seed=4), tmp_path / "gen.safetensors")
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    loaded = load_checkpoint(path)
    assert torch.equal(torch.get_rng_state(), rng)  # loading drew no random numbers
    from safetensors.torch import load_file

    plain = KinesonicModel(loaded.cfg, loaded.kinematic_stats)
    plain.load_state_dict(load_file(str(path)), strict=True)
    tensors = dict(loaded.named_parameters()) | dict(loaded.named_buffers())
    expected = dict(plain.named_parameters()) | dict(plain.named_buffers())
    assert tensors.keys() == expected.keys()
    for name, value in expected.items():
        assert value.dtype == tensors[name].dtype and torch.equal(value, tensors[name]), name
    assert all(t.device.type == "cpu" for t in tensors.values())
