"""Exercise checks for notebooks/08_distributed_training.ipynb."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable

import torch
from torch.utils.data import DistributedSampler

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401

# Exercise 1: a single-GPU recipe (batch 128, SGD lr 0.05) moved to 2 machines x 4 GPUs.
BASE_BATCH, BASE_LR, NODES, GPUS_PER_NODE = 128, 0.05, 2, 4


def exercise_1(effective_batch_size: int, lr: float) -> None:
    """Exercise 1 of lesson 08: effective batch size and the linearly scaled learning rate."""
    hint = (
        "every process (one per GPU, on every machine) takes its own batch of 128 per step, and "
        "the averaged gradient covers all of them. The linear scaling rule multiplies the "
        "learning rate by the same factor as the batch size."
    )
    world_size = NODES * GPUS_PER_NODE
    expected_batch = BASE_BATCH * world_size
    if effective_batch_size == BASE_BATCH * GPUS_PER_NODE:
        fail(
            f"{effective_batch_size} counts the GPUs of one machine only; there are {NODES}.", hint
        )
    if effective_batch_size != expected_batch:
        fail(f"effective_batch_size is {effective_batch_size}, expected {expected_batch}.", hint)
    expected_lr = BASE_LR * expected_batch / BASE_BATCH
    if math.isclose(lr, BASE_LR):
        fail(f"lr is still {BASE_LR}: with a {world_size}x larger batch, scale it too.", hint)
    if math.isclose(lr, BASE_LR * math.sqrt(world_size), rel_tol=1e-6):
        fail(
            "that is the square-root rule (sometimes used with Adam); here use the linear one.",
            hint,
        )
    if not math.isclose(lr, expected_lr, rel_tol=1e-6):
        fail(f"lr is {lr}, expected {BASE_LR} x {expected_batch} / {BASE_BATCH}.", hint)
    passed(f"Exercise 1 (effective batch {expected_batch}, lr {expected_lr:g})")


def exercise_2(rank_indices: Callable[[int, int, int], list[int]]) -> None:
    """Exercise 2 of lesson 08: the indices DistributedSampler(shuffle=False) gives each rank."""
    hint = (
        "pad the list 0..n-1 by repeating it from the start until its length is a multiple of "
        "world_size, then rank r takes every world_size-th index starting at r."
    )
    for n, world_size in [(10, 2), (10, 3), (7, 4), (2, 3), (12, 4), (1, 1)]:
        for rank in range(world_size):
            sampler = DistributedSampler(
                range(n), num_replicas=world_size, rank=rank, shuffle=False
            )
            expected = list(sampler)
            got = rank_indices(n, world_size, rank)
            if not isinstance(got, (list, tuple, range, torch.Tensor)):
                fail(
                    f"rank_indices returned a {type(got).__name__}, expected a list of ints.", hint
                )
            got = [int(i) for i in got]
            if got == expected:
                continue
            what = f"rank_indices({n}, {world_size}, {rank}) is {got}, DistributedSampler gives {expected}."
            if len(got) != len(expected):
                fail(f"{what} Every rank must get the same number, ceil(n / world_size) = "
                     f"{len(expected)}, or the ranks' steps (and all-reduces) would not line up.",
                     hint)  # fmt: skip
            if sorted(got) == sorted(expected):
                fail(f"{what} Right indices, wrong order.", hint)
            fail(f"{what} Ranks interleave: rank r takes r, r + world_size, ...", hint)
    passed("Exercise 2 (DistributedSampler's share of each rank)")


def _options(words: list[str]) -> dict[str, str]:
    """torchrun's options as {name: value}, accepting --a=b, --a b, and - or _ in names."""
    options: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        name, _, value = word.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if not value and i + 1 < len(words) and not words[i + 1].startswith("-"):
            if name not in ("standalone",):
                value, i = words[i + 1], i + 1
        options[name] = value
        i += 1
    return options


def exercise_3(command: str, gpus: int = 8) -> None:
    """Exercise 3 of lesson 08: the torchrun command for one machine with `gpus` GPUs."""
    hint = (
        f"torchrun --standalone --nproc_per_node={gpus} scripts/train_ddp.py --epochs 5 "
        f"(torchrun's own options come before the script, the script's after it)."
    )
    if not isinstance(command, str):
        fail(f"command should be a str, but it is a {type(command).__name__}.", hint)
    words = shlex.split(command)
    if words[:1] == ["torchrun"]:
        words = words[1:]
    elif len(words) >= 3 and words[1:3] == ["-m", "torch.distributed.run"]:
        words = words[3:]
    else:
        fail("the command should start with torchrun (or python -m torch.distributed.run).", hint)
    scripts = [i for i, word in enumerate(words) if word.endswith("train_ddp.py")]
    if not scripts:
        fail("the command does not name the script scripts/train_ddp.py.", hint)
    launcher, script_args = words[: scripts[0]], words[scripts[0] + 1 :]
    options = _options(launcher)
    if any(word.replace("-", "_").lstrip("_").startswith("nproc_per_node") for word in script_args):
        fail("--nproc_per_node comes after the script, so torchrun never sees it.", hint)
    nproc = options.get("nproc_per_node")
    if nproc is None:
        fail("torchrun needs --nproc_per_node: how many processes to start on this machine.", hint)
    if nproc != str(gpus):
        if options.get("nnodes") == str(gpus):
            fail("--nnodes counts machines, not GPUs; one machine has all the GPUs here.", hint)
        fail(f"--nproc_per_node is {nproc}: start one process per GPU, {gpus} here.", hint)
    if "standalone" not in options and options.get("nnodes", "1") != "1":
        fail(f"--nnodes={options['nnodes']}, but this is one machine.", hint)
    if "standalone" not in options and "rdzv_endpoint" not in options:
        fail("on one machine add --standalone (it starts its own rendezvous on a free port).", hint)
    if script_args[:2] not in (["--epochs", "5"],) and "--epochs=5" not in script_args:
        fail("the script should get --epochs 5 (after its name).", hint)
    passed(f"Exercise 3 (torchrun with {gpus} processes)")


def exercise_4(strip_module_prefix: Callable[[dict], dict]) -> None:
    """Exercise 4 of lesson 08: load a state_dict saved from the wrapper (keys 'module.*')."""
    hint = (
        "remove 'module.' only at the start of each key: key.removeprefix('module.'), and keep "
        "keys that have no prefix as they are. str.replace would also cut it out of the middle "
        "of names such as 'submodule.weight'."
    )
    tensors = [torch.full((2,), float(i)) for i in range(4)]
    wrapped = {
        "module.conv1.weight": tensors[0],
        "module.submodule.weight": tensors[1],
        "module.fc.module.bias": tensors[2],
    }
    expected = {
        "conv1.weight": tensors[0],
        "submodule.weight": tensors[1],
        "fc.module.bias": tensors[2],
    }
    got = strip_module_prefix(dict(wrapped))
    if not isinstance(got, dict):
        fail(f"strip_module_prefix returned a {type(got).__name__}, expected a dict.", hint)
    if sorted(got) != sorted(expected):
        fail(f"the keys are {sorted(got)}, expected {sorted(expected)}.", hint)
    if any(
        got[key] is not value and not torch.equal(got[key], value)
        for key, value in expected.items()
    ):
        fail("the keys are right but some tensors changed or moved to another key.", hint)
    plain = {"conv1.weight": tensors[3]}
    if strip_module_prefix(dict(plain)).keys() != plain.keys():
        fail("a state_dict without the prefix should come back unchanged.", hint)
    passed("Exercise 4 (strip the 'module.' prefix)")
