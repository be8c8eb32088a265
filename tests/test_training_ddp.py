"""DistributedDataParallel: 2 CPU processes (gloo) give the same weights as 1 process, same global batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from kinesonic.models import KinesonicModel, micro_config
from kinesonic.training import TrainConfig, train
from kinesonic.training.trainer import STATE_FILE, load_state

# condition dropout, V2A/A2V holds and flow times are all active: their draws are seeded per sample
RUN = dict(
    model="micro", data="synth:8", batch_size=4, ae_batch_size=4, ae_steps=2, dit_steps=3, warmup_steps=1,
    cond_drop=0.3, p_v2a=0.2, p_a2v=0.2, checkpoint_every=100, log_every=1, threads=1,
)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        train(TrainConfig(**RUN, out_dir=out_dir), log=None)
    finally:
        dist.destroy_process_group()


def test_two_processes_match_one(tmp_path) -> None:
    single, double = tmp_path / "single", tmp_path / "ddp"
    train(TrainConfig(**RUN, out_dir=str(single)), log=None)
    mp.spawn(_worker, args=(2, _free_port(), str(double)), nprocs=2, join=True)
    a, b = load_state(single / STATE_FILE), load_state(double / STATE_FILE)
    assert (a["stage"], a["step"]) == (b["stage"], b["step"]) == ("dit", 3)
    for key, value in a["model"].items():
        assert torch.allclose(value, b["model"][key], atol=2e-5, rtol=1e-4), key
    for key, value in a["ema"].items():
        assert torch.allclose(value, b["ema"][key], atol=2e-5, rtol=1e-4), key
    # the comparison is meaningful: training moved both the autoencoder and the DiT weights
    torch.manual_seed(0)
    fresh = KinesonicModel(micro_config()).state_dict()
    moved = {k.split(".")[0] for k, v in a["model"].items() if not torch.equal(v, fresh[k])}
    assert {"video_ae", "dit", "text"} <= moved
