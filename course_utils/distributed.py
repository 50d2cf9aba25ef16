"""DistributedDataParallel helpers: start and end the process group, shard the data, print once.

One process per device, launched by torchrun, which sets RANK, LOCAL_RANK and WORLD_SIZE (and
MASTER_ADDR/MASTER_PORT) in each process's environment. Without torchrun every helper falls back
to a plain single process, so the same script runs both ways. The rank helpers here
(`is_distributed`, `get_rank`, `get_world_size`, `is_main_process`) are the one place the course
asks whether a process group is running. Lesson 08 (distributed training).
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from course_utils.runtime import pick_device
from course_utils.tensor_loader import TensorLoader

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


@dataclass(frozen=True)
class DistributedContext:
    """Who this process is: its global rank, its rank on this machine, how many, and its device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str | None  # None: a plain single process, no process group

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that prints, logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group is running (launched by torchrun)."""
        return self.backend is not None


def launched_by_torchrun() -> bool:
    """True if torchrun (or torch.distributed.run) started this process. Lesson 08."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def default_backend(device: torch.device) -> str:
    """NCCL for CUDA GPUs, gloo for the CPU. Lesson 08."""
    return "nccl" if device.type == "cuda" else "gloo"


def is_distributed() -> bool:
    """True when a process group is running. The one place the course asks. Lesson 08."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's global rank (0 without a process group). Lesson 08."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """The number of processes (1 without a process group). Lesson 08."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0, or without a process group: the process that prints and saves. Lesson 08."""
    return get_rank() == 0


def init_distributed(device: str | None = None, timeout_s: float = 300.0) -> DistributedContext:
    """Join torchrun's process group (NCCL on CUDA, gloo on CPU) or, without torchrun, run alone.

    Under torchrun each process takes the GPU numbered by its LOCAL_RANK. `device="cpu"` forces
    the CPU and gloo even where there are GPUs. Lesson 08.
    """
    if not launched_by_torchrun():
        chosen = pick_device(device)
        return DistributedContext(rank=0, local_rank=0, world_size=1, device=chosen, backend=None)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    wants_cuda = device is None or torch.device(device).type == "cuda"
    if wants_cuda and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK is {local_rank} but this machine has {torch.cuda.device_count()} "
                f"visible GPU(s). Start at most one process per GPU: "
                f"--nproc_per_node={torch.cuda.device_count()}."
            )
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    elif device is not None and torch.device(device).type not in ("cpu", "cuda"):
        raise ValueError(f"DistributedDataParallel runs on 'cuda' or 'cpu', not {device!r}.")
    else:
        chosen = torch.device("cpu")  # also on a Mac: gloo does not work with MPS tensors
    backend = default_backend(chosen)
    if not is_distributed():
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    return DistributedContext(rank, local_rank, world_size, chosen, backend)


def cleanup_distributed(wait: bool = True) -> None:
    """Leave the process group (does nothing without one). Lesson 08.

    `wait=True`, after a run that succeeded: a barrier first, so that no rank leaves while the
    others still need it. `wait=False`, after an error: leave at once. A barrier there would
    wait for ranks that are stuck elsewhere (in an all-reduce that will never complete) until the
    process group's timeout; leaving instead ends this rank, and torchrun then stops the others.
    """
    if not is_distributed():
        return
    if wait:
        dist.barrier()
    dist.destroy_process_group()


@contextmanager
def process_group(
    device: str | None = None, timeout_s: float = 300.0
) -> Iterator[DistributedContext]:
    """`with process_group() as context:` joins the process group and always leaves it. Lesson 08.

    On success every rank waits for the others before leaving; if the block raises, this rank
    leaves at once (no barrier) and the error goes on, so a failing rank ends the run promptly.
    """
    context = init_distributed(device, timeout_s)
    try:
        yield context
    except BaseException:
        cleanup_distributed(wait=False)
        raise
    cleanup_distributed(wait=True)


def print0(*args: Any, **kwargs: Any) -> None:
    """print() on rank 0 only, so a message appears once however many processes run. Lesson 08."""
    if is_main_process():
        print(*args, **kwargs, flush=True)


def all_ranks_agree(flag: bool, device: torch.device | None = None) -> bool:
    """True if `flag` is the same on every rank (always True in a single process). Lesson 08."""
    if get_world_size() == 1:
        return True
    if device is None:  # NCCL only reduces GPU tensors, gloo CPU ones
        nccl = dist.get_backend() == "nccl"
        device = torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")
    values = torch.tensor([int(flag), -int(flag)], device=device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)  # [max(flag), -min(flag)]
    return bool(values[0] + values[1] == 0)


def wrap_ddp(model: nn.Module, context: DistributedContext) -> nn.Module:
    """DistributedDataParallel(model) on the context's device, or the model itself alone. Lesson 08."""
    model = model.to(context.device)
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def shard_tensor_loader(
    loader: TensorLoader, rank: int | None = None, world_size: int | None = None
) -> TensorLoader:
    """Make `loader` yield only this rank's share of each epoch (in place; returns it). Lesson 08.

    Defaults to the process group's rank and world size; every rank must use the same seed.
    """
    rank = get_rank() if rank is None else rank
    world_size = get_world_size() if world_size is None else world_size
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
    loader.rank, loader.world_size = rank, world_size
    return loader


def distributed_dataloader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
    rank: int | None = None,
    world_size: int | None = None,
    **kwargs: Any,
) -> DataLoader:
    """A DataLoader whose DistributedSampler gives this rank its share of `dataset`. Lesson 08.

    Remember `loader.sampler.set_epoch(epoch)` before each epoch (`fit` does it), or every
    epoch repeats the first epoch's order. Extra keyword arguments go to DataLoader.
    """
    sampler = DistributedSampler(
        dataset,
        num_replicas=get_world_size() if world_size is None else world_size,
        rank=get_rank() if rank is None else rank,
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last,
    )
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, **kwargs)


def torchrun_command(
    args: Sequence[object] = (),
    nproc_per_node: int = 2,
    module: str = "course_utils.train_ddp",
) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc_per_node=N -m MODULE args` as a list.

    The same as `torchrun --standalone --nproc_per_node=N -m MODULE args`, but with this Python,
    so it works in any virtual environment or kernel without torchrun on the PATH. `-m` runs a
    module of an installed package (as `python -m` does), so no clone of the repository is
    needed. Lesson 08.
    """
    if nproc_per_node < 1:
        raise ValueError(f"nproc_per_node must be at least 1, got {nproc_per_node}")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*launcher, f"--nproc_per_node={nproc_per_node}", "-m", module, *map(str, args)]
