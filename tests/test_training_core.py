"""Training library: batch schedule, per-sample randomness, objective, resume, export, CLI (micro config)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinesonic.models import load_checkpoint, micro_config, read_metadata, save_checkpoint
from kinesonic.models.model import KinesonicModel
from kinesonic.training import TrainConfig, apply_ablation, global_batch_indices, rank_slice, read_log, train
from kinesonic.training.data import SynthSource, sample_seed
from kinesonic.training.music_beds import MusicBeds
from kinesonic.training.objective import FlowObjective, prepare_batch
from kinesonic.training.trainer import STATE_FILE, load_state

FAST = dict(model="micro", data="synth:8", batch_size=4, ae_batch_size=4, warmup_steps=2, log_every=1)


@pytest.fixture(scope="module")
def micro_source() -> SynthSource:
    cfg = micro_config()
    return SynthSource(4, base_seed=3, size=cfg.width, num_frames=cfg.num_frames, fps=cfg.fps)


def test_batch_schedule_is_a_permutation_per_epoch_and_split_by_rank() -> None:
    n, b = 10, 3  # 3 full batches per epoch, one index skipped
    epoch0 = np.concatenate([global_batch_indices(n, b, s, seed=5) for s in range(3)])
    assert len(set(epoch0.tolist())) == 9 and set(epoch0.tolist()) <= set(range(n))
    assert np.array_equal(global_batch_indices(n, b, 4, 5), global_batch_indices(n, b, 4, 5))
    assert not np.array_equal(global_batch_indices(n, b, 3, 5), global_batch_indices(n, b, 0, 5))
    batch = global_batch_indices(100, 8, 7, 0)
    parts = [rank_slice(batch, r, 4) for r in range(4)]
    assert np.array_equal(np.concatenate(parts), batch)
    with pytest.raises(ValueError, match="divisible"):
        rank_slice(batch, 0, 3)


def test_per_sample_draws_do_not_depend_on_the_batch() -> None:
    obj = FlowObjective(drops=(0.5, 0.5, 0.5, 0.5))
    seeds = [sample_seed(0, 1, 7, i) for i in (11, 12, 13)]
    both = obj.draws(seeds, (2, 3, 2, 2), (2, 5))
    alone = obj.draws(seeds[1:2], (2, 3, 2, 2), (2, 5))
    for key in ("t", "u", "hold", "eps_v", "eps_a"):
        assert torch.equal(both[key][1:2], alone[key])
    assert torch.equal(both["keep"][:, 1:2], alone["keep"])
    assert sample_seed(0, 1, 7, 11) != sample_seed(0, 1, 8, 11) != sample_seed(0, 1, 7, 12)
    t = obj.draws([sample_seed(0, 1, 0, i) for i in range(2000)], (1,), (1,))["t"]
    # logit-normal(0, 1): median 0.5, all inside (0, 1)
    assert 0.47 < float(t.median()) < 0.53 and float(t.min()) > 0 and float(t.max()) < 1


def test_time_tail_moves_a_share_of_times_to_the_noise_end_and_keeps_every_other_draw() -> None:
    seeds = [sample_seed(0, 1, 0, i) for i in range(4000)]
    plain = FlowObjective().draws(seeds, (1,), (1,))
    tail = FlowObjective(time_tail=0.25, tail_start=0.9).draws(seeds, (1,), (1,))
    for key in ("u", "hold", "eps_v", "eps_a", "keep"):
        assert torch.equal(plain[key], tail[key])
    moved = plain["t"] != tail["t"]
    assert 0.23 < float(moved.float().mean()) < 0.27  # the share asked for
    t = tail["t"][moved]
    assert float(t.min()) >= 0.9 and float(t.max()) < 1.0 and abs(float(t.mean()) - 0.95) < 0.005  # uniform
    # logit-normal(0, 1) alone puts 0.16 % of the times above 0.95; the tail adds 12.5 %
    assert float((plain["t"] > 0.95).float().mean()) < 0.005 < 0.11 < float((tail["t"] > 0.95).float().mean())
    everything = FlowObjective(time_tail=1.0, tail_start=0.5).draws(seeds[:50], (1,), (1,))["t"]
    assert float(everything.min()) >= 0.5
    with pytest.raises(ValueError, match="time_tail"):
        FlowObjective(time_tail=1.5)
    with pytest.raises(ValueError, match="time_tail_start"):
        TrainConfig(time_tail_start=1.0)


def test_objective_is_zero_for_the_exact_velocity_and_a_mean_over_samples(micro_source: SynthSource) -> None:
    torch.manual_seed(0)
    model = KinesonicModel(micro_config())
    clips = [micro_source[i] for i in range(4)]
    batch = prepare_batch(model, clips, [0, 1, 2, 3])
    obj = FlowObjective(p_v2a=0.0, p_a2v=0.0)
    inp = obj.inputs(batch, [sample_seed(0, 1, 0, i) for i in range(4)])
    exact = obj.losses(inp["target_v"], inp["target_a"], inp)
    assert all(float(v.abs().max()) == 0.0 for v in exact.values())
    # a constant error e in the video velocity: inside + outside = 2 e^2 per sample
    off = obj.losses(inp["target_v"] + 0.5, inp["target_a"], inp)
    inside_weight = batch["cond"].soft_mask[:, :, 1:].sum(dim=(1, 2, 3, 4))
    assert torch.allclose(off["video_outside"], torch.full((4,), 0.25), atol=1e-4)
    assert torch.allclose(off["video_inside"][inside_weight > 0], torch.tensor(0.25), atol=1e-4)
    # the batch loss of a sub-batch equals the same samples' per-sample losses
    sub = {
        "video_latent": batch["video_latent"][2:],
        "audio_latent": batch["audio_latent"][2:],
        "cond": prepare_batch(model, clips[2:], [2, 3])["cond"],
    }
    inp2 = obj.inputs(sub, [sample_seed(0, 1, 0, i) for i in (2, 3)])
    assert torch.allclose(inp2["in_v"], inp["in_v"][2:], atol=1e-6)
    assert torch.allclose(inp2["target_a"], inp["target_a"][2:], atol=1e-6)


def test_ablation_conditioning(micro_source: SynthSource) -> None:
    model = KinesonicModel(micro_config())
    batch = prepare_batch(model, [micro_source[0], micro_source[1]], [0, 1])
    cond = batch["cond"]
    assert cond.kin is not None and float(cond.traj_mask[:, :, 1:].sum()) > 0
    nk = apply_ablation(cond, no_kinematics=True)
    assert nk.kin is None and torch.equal(nk.traj_latent, cond.traj_latent)
    nt = apply_ablation(cond, no_trajectory=True)
    assert nt.kin is None and float(nt.traj_mask[:, :, 1:].abs().sum()) == 0
    assert float(nt.traj_latent[:, :, 1:].abs().sum()) == 0 and float(nt.soft_mask[:, :, 1:].sum()) == 0
    assert torch.equal(nt.traj_latent[:, :, 0], cond.traj_latent[:, :, 0])
    obj = FlowObjective(no_hybrid_flow=True, p_v2a=0.0, p_a2v=0.0)
    inp = obj.inputs(batch, [1, 2])
    eps = obj.draws([1, 2], tuple(batch["video_latent"].shape[1:]), tuple(batch["audio_latent"].shape[1:]))
    assert torch.equal(inp["target_v"][:, :, 1:], (eps["eps_v"] - batch["video_latent"])[:, :, 1:])


def test_autoencoder_stage_reduces_reconstruction_error(tmp_path, micro_source: SynthSource) -> None:
    from kinesonic.training.objective import ReconstructionModule, clips_to_tensors

    videos, _ = clips_to_tensors([micro_source[i] for i in range(4)], 100)
    torch.manual_seed(0)
    with torch.no_grad():
        before = float(ReconstructionModule(KinesonicModel(micro_config()))(videos).mean())
    cfg = TrainConfig(
        **{**FAST, "data": "synth:4", "data_seed": 3},
        out_dir=str(tmp_path),
        ae_steps=25,
        dit_steps=0,
        ae_lr=3e-3,
    )
    train(cfg, log=None)
    model = load_checkpoint(tmp_path / "model.safetensors")
    with torch.no_grad():
        after = float(ReconstructionModule(model)(videos).mean())
    assert after < 0.8 * before


def test_resume_gives_the_same_weights_and_export_loads(tmp_path) -> None:
    straight = TrainConfig(**FAST, out_dir=str(tmp_path / "a"), ae_steps=2, dit_steps=4, checkpoint_every=100)
    train(straight, log=None)
    first = TrainConfig(**FAST, out_dir=str(tmp_path / "b"), ae_steps=2, dit_steps=2, checkpoint_every=100)
    train(first, log=None)
    state = load_state(tmp_path / "b" / STATE_FILE)
    assert (state["stage"], state["step"]) == ("dit", 2) and state["optimizer"]["state"]
    again = TrainConfig(**FAST, out_dir=str(tmp_path / "b"), ae_steps=2, dit_steps=4, checkpoint_every=100)
    train(again, log=None)
    a, b = (load_state(tmp_path / d / STATE_FILE) for d in ("a", "b"))
    assert b["step"] == 4
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-6), key
    for key in a["ema"]:
        assert torch.allclose(a["ema"][key], b["ema"][key], atol=1e-6), key
    # the exported file holds the EMA weights and the training metadata
    model = load_checkpoint(tmp_path / "a" / "model.safetensors")
    key = next(iter(a["ema"]))
    assert torch.equal(model.state_dict()[key], a["ema"][key])
    assert not torch.equal(a["ema"][key], a["model"][key])
    meta = json.loads(read_metadata(tmp_path / "a" / "model.safetensors")["kinesonic_training"])
    assert meta["step"] == 4 and meta["ablations"] == {
        "no_kinematics": False, "no_hybrid_flow": False, "no_trajectory": False, "no_physics": False,
    }  # fmt: skip
    assert model.kinematic_stats.count > 0
    rows = read_log(tmp_path / "b" / "log.csv")
    assert [(r["stage"], int(r["step"])) for r in rows] == [
        ("autoencoder", 1), ("autoencoder", 2), ("dit", 1), ("dit", 2), ("dit", 3), ("dit", 4),
    ]  # fmt: skip
    assert all(np.isfinite(r["loss"]) for r in rows)


def test_loss_curve_image(tmp_path) -> None:
    from kinesonic.training import loss_curve_image

    rows = [{"stage": "dit", "step": float(s), "loss": 2.0 / s, "audio": 1.0 / s} for s in range(1, 20)]
    img = loss_curve_image(rows, width=600, height=300)
    assert img.shape == (300, 600, 3) and img.dtype == np.uint8
    assert img.std() > 5  # something is drawn
    empty = loss_curve_image([], width=600, height=300)
    assert empty.shape == (300, 600, 3)


def test_cli_trains_and_exports(tmp_path, capsys) -> None:
    from kinesonic.runner.cli import main

    out, export = tmp_path / "run", tmp_path / "ship" / "m.safetensors"
    argv = ["train", "--model", "micro", "--data", "synth:4", "--out", str(out), "--ae-steps", "1"]
    argv += ["--dit-steps", "2", "--batch-size", "2", "--ae-batch-size", "2", "--no-kinematics"]
    assert main([*argv, "--export", str(export)]) == 0
    meta = json.loads(read_metadata(export)["kinesonic_training"])
    assert meta["ablations"]["no_kinematics"] is True and meta["train_config"]["batch_size"] == 2
    assert (
        main(["train", "--model", "micro", "--data", "synth:4", "--out", str(out), "--cond-drop", "2"]) == 2
    )
    assert "cond_drop" in capsys.readouterr().err


def test_dropped_trajectory_leaves_the_source_too(micro_source: SynthSource) -> None:
    """A sample whose trajectory is dropped starts from noise (plus the first frame), not from the
    trajectory latent: the state does not carry what the condition says is gone."""
    model = KinesonicModel(micro_config())
    batch = prepare_batch(model, [micro_source[0], micro_source[1]], [0, 1])
    cond = batch["cond"]
    inside = cond.traj_mask[:, :, 1:].expand_as(cond.traj_latent[:, :, 1:]) > 0.5
    assert inside.any()
    keep_all = FlowObjective(drops=(0.0, 0.0, 0.0, 0.0), p_v2a=0.0, p_a2v=0.0)
    drop_traj = FlowObjective(drops=(0.0, 1.0, 0.0, 0.0), p_v2a=0.0, p_a2v=0.0)
    seeds = [5, 6]
    eps = keep_all.draws(
        seeds, tuple(batch["video_latent"].shape[1:]), tuple(batch["audio_latent"].shape[1:])
    )
    data = batch["video_latent"]
    kept = keep_all.inputs(batch, seeds)["target_v"][:, :, 1:] + data[:, :, 1:]  # = the source
    dropped = drop_traj.inputs(batch, seeds)
    src = dropped["target_v"] + data
    assert torch.allclose(kept[inside], cond.traj_latent[:, :, 1:][inside], atol=1e-6)
    assert torch.allclose(src[:, :, 1:], eps["eps_v"][:, :, 1:], atol=1e-6)  # noise everywhere
    assert torch.equal(src[:, :, 0], cond.first_latent)  # the first frame stays
    assert float(dropped["cond"].traj_mask.abs().sum()) == 0


def test_init_autoencoder_copies_the_video_autoencoder(tmp_path) -> None:
    first = TrainConfig(**FAST, out_dir=str(tmp_path / "ae"), ae_steps=2, dit_steps=0)
    train(first, log=None)
    trained = load_checkpoint(tmp_path / "ae" / "model.safetensors")
    nxt = TrainConfig(
        **FAST, out_dir=str(tmp_path / "dit"), ae_steps=0, dit_steps=1, seed=9,
        init_autoencoder=str(tmp_path / "ae" / "model.safetensors"),
    )  # fmt: skip
    train(nxt, log=None)
    got = load_checkpoint(tmp_path / "dit" / "model.safetensors")
    for key, value in trained.video_ae.state_dict().items():
        assert torch.equal(got.video_ae.state_dict()[key], value), key
    fresh = KinesonicModel(micro_config())
    assert any(
        not torch.equal(fresh.video_ae.state_dict()[k], v) for k, v in trained.video_ae.state_dict().items()
    )
    with pytest.raises(ValueError, match="video config differs"):
        train(
            _other_video_config(tmp_path, init_autoencoder=str(tmp_path / "ae" / "model.safetensors")),
            log=None,
        )


def _other_video_config(tmp_path: Path, **init: str) -> TrainConfig:
    """A one-step run whose model has 8 video latent channels (the FAST runs' default differs), started
    from the checkpoint in ``init`` (``init_autoencoder=`` or ``init_generator=``)."""
    return TrainConfig(
        **{**FAST, "model": '{"height": 32, "width": 32, "num_frames": 17, "video_channels": 8}'},
        out_dir=str(tmp_path / "bad"), ae_steps=0, dit_steps=1, **init,
    )  # fmt: skip


def test_init_generator_continues_a_trained_model(tmp_path) -> None:
    first = TrainConfig(**FAST, out_dir=str(tmp_path / "a"), ae_steps=1, dit_steps=2)
    train(first, log=None)
    trained = load_checkpoint(tmp_path / "a" / "model.safetensors")
    # learning rate ~0: the continued run changes nothing, so its export is the model it started from
    nxt = TrainConfig(
        **{**FAST, "lr": 1e-12, "weight_decay": 0.0}, out_dir=str(tmp_path / "b"), ae_steps=0, dit_steps=1,
        seed=9, data_seed=3, init_generator=str(tmp_path / "a" / "model.safetensors"),
    )  # fmt: skip
    train(nxt, log=None)
    got = load_checkpoint(tmp_path / "b" / "model.safetensors")
    for key, value in trained.state_dict().items():
        assert torch.allclose(got.state_dict()[key], value, rtol=0, atol=1e-9), key
    # the statistics the DiT was trained with, not new ones from other clips (data_seed 3)
    assert got.kinematic_stats.to_json() == trained.kinematic_stats.to_json()
    # the lineage: the continued model's record holds the record of the model it started from
    first_record = json.loads(read_metadata(tmp_path / "a" / "model.safetensors")["kinesonic_training"])
    record = json.loads(read_metadata(tmp_path / "b" / "model.safetensors")["kinesonic_training"])
    assert record["init_training"] == first_record
    assert record["train_config"]["init_generator"] == str(tmp_path / "a" / "model.safetensors")
    assert "init_training" not in first_record
    fresh = KinesonicModel(micro_config())
    assert any(not torch.equal(fresh.dit.state_dict()[k], v) for k, v in trained.dit.state_dict().items())
    with pytest.raises(ValueError, match="config differs from this run's in"):
        train(
            _other_video_config(tmp_path, init_generator=str(tmp_path / "a" / "model.safetensors")), log=None
        )


def test_sound_only_audio_to_video_drops_trajectory_and_kinematics(micro_source: SynthSource) -> None:
    """--a2v-sound-only P: that share of the audio-to-video samples loses the trajectory channels,
    the hybrid source and the kinematic tokens; the others, and every draw of P = 0, are as before."""
    seeds = [sample_seed(0, 1, 0, i) for i in range(4000)]
    plain = FlowObjective().draws(seeds, (1,), (1,))
    half = FlowObjective(time_tail=0.2, a2v_sound_only=0.5).draws(seeds, (1,), (1,))
    tail = FlowObjective(time_tail=0.2).draws(seeds, (1,), (1,))
    for key in ("u", "hold", "eps_v", "eps_a", "keep"):
        assert torch.equal(plain[key], half[key])
    assert torch.equal(tail["t"], half["t"])  # drawn after the tail
    assert 0.47 < float((half["alone"] < 0.5).float().mean()) < 0.53
    model = KinesonicModel(micro_config())
    batch = prepare_batch(model, [micro_source[0], micro_source[1]], [0, 1])
    assert batch["cond"].kin_mask.any() and batch["cond"].traj_mask[:, :, 1:].any()
    keep_all = dict(drops=(0.0, 0.0, 0.0, 0.0), p_v2a=0.0, p_a2v=1.0)
    alone = FlowObjective(**keep_all, a2v_sound_only=1.0).inputs(batch, [5, 6])
    given = FlowObjective(**keep_all).inputs(batch, [5, 6])
    assert not alone["cond"].kin_mask.any() and float(alone["cond"].traj_mask.abs().sum()) == 0
    assert torch.equal(given["cond"].kin_mask, batch["cond"].kin_mask)
    assert torch.equal(alone["in_a"], given["in_a"]) and torch.equal(alone["t_a"], given["t_a"])  # sound held
    data = batch["video_latent"][:, :, 1:]
    noise = FlowObjective(**keep_all).draws([5, 6], tuple(batch["video_latent"].shape[1:]), (1, 1))["eps_v"]
    assert torch.allclose(alone["target_v"][:, :, 1:] + data, noise[:, :, 1:], atol=1e-6)  # noise source
    joint = FlowObjective(drops=(0.0, 0.0, 0.0, 0.0), p_v2a=0.0, p_a2v=0.0, a2v_sound_only=1.0)
    assert torch.equal(joint.inputs(batch, [5, 6])["cond"].kin_mask, batch["cond"].kin_mask)  # a2v only
    with pytest.raises(ValueError, match="a2v_sound_only"):
        TrainConfig(a2v_sound_only=1.5)


def test_music_bed_run_adds_a_music_film_to_a_trained_model(tmp_path, micro_source: SynthSource) -> None:
    """--music-bed on a model with music_film started from a checkpoint without one: every old weight
    is copied, the new layers start at 0 and are trained; a2v samples with a bed get stream intervals."""
    start = tmp_path / "plain.safetensors"
    save_checkpoint(KinesonicModel(micro_config()), start)
    film = json.dumps({"base": "micro", "music_film": True, "music_hidden": 8})
    run = TrainConfig(
        **{**FAST, "model": film, "data_seed": 3, "p_a2v": 0.5}, out_dir=str(tmp_path / "m"), ae_steps=0,
        dit_steps=2, music_bed=1.0, init_generator=str(start),
    )  # fmt: skip
    train(run, log=None)
    got, plain = load_checkpoint(tmp_path / "m" / "model.safetensors"), load_checkpoint(start)
    assert got.cfg.music_film and not plain.cfg.music_film
    for key, value in plain.video_ae.state_dict().items():  # frozen in this stage: copied as they were
        assert torch.equal(got.video_ae.state_dict()[key], value), key
    assert float(got.dit.blocks[0].music.weight.detach().abs().sum()) > 0  # trained away from its zero start
    # without music_film, --music-bed is refused with the way to ask for it
    with pytest.raises(ValueError, match="music_film"):
        train(
            TrainConfig(**FAST, out_dir=str(tmp_path / "x"), ae_steps=0, dit_steps=1, music_bed=0.5), log=None
        )
    # the batch: one bed per sample seed; audio-to-video samples with a bed hear their intervals only
    model = KinesonicModel(got.cfg)
    beds = MusicBeds(2, got.cfg.audio_samples(got.cfg.latent_frames()), 16000, 0, 0.5)
    seeds = list(range(40, 44))
    batch = prepare_batch(
        model, [micro_source[i] for i in range(4)], [0, 1, 2, 3], 0, music=beds, music_seeds=seeds
    )
    has = [beds.draw(s, 1.0) is not None for s in seeds]
    assert batch["has_music"].tolist() == has == batch["cond"].music_mask.tolist()
    inp = FlowObjective(p_v2a=0.0, p_a2v=1.0).inputs(batch, seeds)
    for i, h in enumerate(has):
        expect = batch["stream_keep"][i] if h else torch.ones_like(batch["stream_keep"][i])
        assert torch.equal(inp["cond"].audio_keep[i], expect)
