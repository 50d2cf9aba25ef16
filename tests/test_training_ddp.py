"""evaluate and fit under DistributedDataParallel: 2 gloo processes on the CPU (spawned).

With a sharded test loader every rank must get the result for the whole test set (else
ReduceLROnPlateau gives the ranks different learning rates), and channels_last must be applied
to the model inside the DDP wrapper.
"""

from __future__ import annotations

import os
import socket
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import course_utils as cu

WORLD_SIZE = 2


def conv_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))


def data(n: int = 64, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, 6, 6, generator=g)  # 2 channels: channels_last differs from NCHW
    return TensorDataset(x, (x.mean((1, 2, 3)) > 0).long())


def sharded(dataset: TensorDataset, shuffle: bool = False) -> DataLoader:
    return DataLoader(dataset, batch_size=8, sampler=DistributedSampler(dataset, shuffle=shuffle, seed=0))


def worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE)
    torch.set_num_threads(1)
    result: dict = {}
    try:
        result["sharded"] = cu.evaluate(conv_net(), sharded(data()))

        base = conv_net().to(memory_format=torch.channels_last)  # converted before wrapping
        model = DistributedDataParallel(base)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result["history"] = cu.fit(model, sharded(data(96, seed=1), shuffle=True), sharded(data()),
                                       optimizer, 3, scheduler=scheduler, channels_last=True,
                                       progress=False)  # fmt: skip
        result["warnings"] = [str(w.message) for w in caught]
        result["weights"] = base.state_dict()
        result["channels_last"] = base[0].weight.is_contiguous(memory_format=torch.channels_last)

        late = DistributedDataParallel(conv_net())  # wrapped first: fit converts, and says so
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cu.fit(late, sharded(data()), None, torch.optim.SGD(late.parameters(), lr=0.1), 1,
                   channels_last=True, progress=False)  # fmt: skip
        result["late_warnings"] = [str(w.message) for w in caught]
        result["late_channels_last"] = late.module[0].weight.is_contiguous(memory_format=torch.channels_last)
    finally:
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(free_port(), str(out)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD_SIZE)]


def test_sharded_evaluation_equals_the_whole_on_every_rank(ranks):
    whole = cu.evaluate(conv_net(), DataLoader(data(), batch_size=8))
    first, second = (r["sharded"] for r in ranks)
    assert first == second  # the ranks agree exactly
    assert first["accuracy"] == whole["accuracy"]
    # each batch's mean loss is a float32 over other samples than in the unsharded batches
    assert first["loss"] == pytest.approx(whole["loss"], rel=1e-6)


def test_ranks_agree_on_test_loss_and_learning_rate(ranks):
    first, second = (r["history"] for r in ranks)
    assert first["test_loss"] == second["test_loss"] and first["test_accuracy"] == second["test_accuracy"]
    assert first["lr"] == second["lr"]
    for name, tensor in ranks[0]["weights"].items():
        assert torch.equal(tensor, ranks[1]["weights"][name]), name


def test_channels_last_applies_to_the_wrapped_model(ranks):
    for r in ranks:
        assert r["channels_last"] and r["late_channels_last"]
        assert not any("convert before wrapping" in w or "Grad strides" in w for w in r["warnings"])
        assert any("convert before wrapping" in w for w in r["late_warnings"])
