"""Exercise checks for notebooks/08_distributed_training.ipynb."""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import shlex
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from course_utils.checks.base import fail, passed
from course_utils.i18n import _

# Exercise 1: a single-GPU recipe (batch 128, SGD lr 0.05) moved to 2 machines x 4 GPUs.
BASE_BATCH, BASE_LR, NODES, GPUS_PER_NODE = 128, 0.05, 2, 4


def exercise_1(effective_batch_size: int, lr: float) -> None:
    """Exercise 1 of lesson 08: effective batch size and the linearly scaled learning rate."""
    hint = _(
        "every process (one per GPU, on every machine) takes its own batch of 128 per step, and "
        "the averaged gradient covers all of them. The linear scaling rule multiplies the "
        "learning rate by the same factor as the batch size."
    )
    world_size = NODES * GPUS_PER_NODE
    expected_batch = BASE_BATCH * world_size
    if effective_batch_size == BASE_BATCH * GPUS_PER_NODE:
        fail(
            _("{batch} counts the GPUs of one machine only; there are {nodes}.").format(
                batch=effective_batch_size, nodes=NODES
            ),
            hint,
        )
    if effective_batch_size != expected_batch:
        fail(
            _("effective_batch_size is {batch}, expected {expected}.").format(
                batch=effective_batch_size, expected=expected_batch
            ),
            hint,
        )
    expected_lr = BASE_LR * expected_batch / BASE_BATCH
    if math.isclose(lr, BASE_LR):
        fail(
            _("lr is still {lr}: with a {factor}x larger batch, scale it too.").format(
                lr=BASE_LR, factor=world_size
            ),
            hint,
        )
    if math.isclose(lr, BASE_LR * math.sqrt(world_size), rel_tol=1e-6):
        fail(
            _("that is the square-root rule (sometimes used with Adam); here use the linear one."),
            hint,
        )
    if not math.isclose(lr, expected_lr, rel_tol=1e-6):
        fail(
            _("lr is {lr}, expected {base_lr} x {batch} / {base_batch}.").format(
                lr=lr, base_lr=BASE_LR, batch=expected_batch, base_batch=BASE_BATCH
            ),
            hint,
        )
    passed(
        _("Exercise 1 (effective batch {batch}, lr {lr:g})").format(
            batch=expected_batch, lr=expected_lr
        )
    )


def exercise_2(rank_indices: Callable[[int, int, int], list[int]]) -> None:
    """Exercise 2 of lesson 08: the indices DistributedSampler(shuffle=False) gives each rank."""
    hint = _(
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
                    _("rank_indices returned a {kind}, expected a list of ints.").format(
                        kind=type(got).__name__
                    ),
                    hint,
                )
            got = [int(i) for i in got]
            if got == expected:
                continue
            what = _(
                "rank_indices({n}, {world_size}, {rank}) is {got}, DistributedSampler gives "
                "{expected}."
            ).format(n=n, world_size=world_size, rank=rank, got=got, expected=expected)
            if len(got) != len(expected):
                fail(_("{what} Every rank must get the same number, ceil(n / world_size) = "
                       "{count}, or the ranks' steps (and all-reduces) would not line up."
                       ).format(what=what, count=len(expected)), hint)  # fmt: skip
            if sorted(got) == sorted(expected):
                fail(_("{what} Right indices, wrong order.").format(what=what), hint)
            fail(
                _("{what} Ranks interleave: rank r takes r, r + world_size, ...").format(what=what),
                hint,
            )
    passed(_("Exercise 2 (DistributedSampler's share of each rank)"))


def _parse(parser: argparse.ArgumentParser, words: list[str]) -> tuple[Any, str]:
    """`parser.parse_args(words)` and "", or None and argparse's error message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return parser.parse_args(words), ""
    except SystemExit:
        lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
        return None, lines[-1] if lines else _("argparse refused it")


def _nnodes(value: str) -> tuple[int, int]:
    """torchrun's --nnodes, "N" or "MIN:MAX", as (MIN, MAX)."""
    low, _colon, high = value.partition(":")
    return int(low), int(high or low)


TORCHRUN_OPTIONS = ("--nproc", "--nnodes", "--standalone", "--node", "--master", "--rdzv")


def exercise_3(
    command: str, processes: int = 8, epochs: int = 5, effective_batch: int = 512
) -> None:
    """Exercise 3 of lesson 08: a torchrun command, judged by what it does, not by its text.

    The command is split like a shell does (shlex), then parsed by torchrun's own argument
    parser and by course_utils.train_ddp's, and the meaning compared: processes on one machine,
    epochs, and the effective batch size. Every way of writing a working command is accepted.
    """
    from torch.distributed.run import get_args_parser

    from course_utils import train_ddp

    hint = _(
        "torchrun's options (how many processes: --nproc_per_node={processes}) go before "
        "`-m course_utils.train_ddp`, the script's own (--epochs, --batch-size) after it; "
        "--batch-size is per process, so the effective batch is processes x batch size."
    ).format(processes=processes)
    if not isinstance(command, str):
        fail(
            _("command should be a str, but it is a {kind}.").format(kind=type(command).__name__),
            hint,
        )
    try:
        words = shlex.split(command)
    except ValueError as error:
        fail(
            _("the shell could not split the command ({error}): check the quotes.").format(
                error=error
            ),
            hint,
        )
    program = os.path.basename(words[0]) if words else ""
    if program == "torchrun":
        launcher_words = words[1:]
    elif program.startswith("python") and words[1:3] == ["-m", "torch.distributed.run"]:
        launcher_words = words[3:]
    elif program.startswith("python") and words[1:3] == ["-m", "torch.distributed.launch"]:
        fail(_("torch.distributed.launch is deprecated; torchrun replaces it."), hint)
    else:
        fail(
            _(
                "the command should start with torchrun (or python -m torch.distributed.run); "
                "python alone starts one process."
            ),
            hint,
        )
    launcher, error = _parse(get_args_parser(), launcher_words)
    if launcher is None:
        fail(_("torchrun would refuse it: {error}").format(error=error), hint)
    script = launcher.training_script
    if launcher.module:
        if script != "course_utils.train_ddp":
            fail(
                _("-m {script} is not the course's module; use -m course_utils.train_ddp.").format(
                    script=script
                ),
                hint,
            )
    elif script == "course_utils.train_ddp":
        fail(_("course_utils.train_ddp is a module name: put -m before it."), hint)
    elif script.replace("\\", "/").endswith("scripts/train_ddp.py"):
        fail(_("scripts/train_ddp.py is gone: the script is in the package now."), hint)
    elif not script.replace("\\", "/").endswith("course_utils/train_ddp.py") or launcher.no_python:
        fail(
            _("{script} is not the course's training script (-m course_utils.train_ddp).").format(
                script=script
            ),
            hint,
        )
    script_words = launcher.training_script_args
    for word in script_words:
        if word.replace("_", "-").startswith(TORCHRUN_OPTIONS):
            fail(
                _(
                    "{word} comes after the module, so it goes to the script, not to torchrun."
                ).format(word=word),
                hint,
            )
    args, error = _parse(train_ddp.build_parser(), script_words)
    if args is None:
        fail(_("the script would refuse its arguments: {error}").format(error=error), hint)
    try:
        low, high = _nnodes(launcher.nnodes)
    except ValueError:
        fail(
            _("--nnodes={nnodes} is not a number of machines.").format(nnodes=launcher.nnodes),
            hint,
        )
    if (low, high) == (processes, processes) and launcher.nproc_per_node != str(processes):
        fail(
            _("--nnodes counts machines, not processes: here 1 machine runs {processes}.").format(
                processes=processes
            ),
            hint,
        )
    nproc = launcher.nproc_per_node
    if nproc in ("gpu", "auto"):  # one process per GPU on this machine with `processes` GPUs
        nproc = str(processes)
    if nproc == "cpu":
        fail(_("--nproc_per_node=cpu starts one process per CPU core, not per GPU."), hint)
    if not nproc.isdigit() or int(nproc) != processes:
        fail(
            _("torchrun would start {nproc} process(es) on this machine, not {processes}.").format(
                nproc=nproc, processes=processes
            ),
            hint,
        )
    if (low, high) != (1, 1):
        fail(
            _("--nnodes={nnodes}: torchrun would wait for other machines.").format(
                nnodes=launcher.nnodes
            ),
            hint,
        )
    if launcher.node_rank != 0 and not launcher.standalone:
        fail(
            _("--node_rank={node_rank}: the only machine is number 0.").format(
                node_rank=launcher.node_rank
            ),
            hint,
        )
    if args.epochs != epochs:
        fail(
            _("the script would train for {got} epochs, not {epochs}.").format(
                got=args.epochs, epochs=epochs
            ),
            hint,
        )
    if processes * args.batch_size != effective_batch:
        fail(
            _(
                "the effective batch would be {processes} x {batch_size} = {total}, not {expected}."
            ).format(
                processes=processes,
                batch_size=args.batch_size,
                total=processes * args.batch_size,
                expected=effective_batch,
            ),
            hint,
        )
    if args.cpu:
        done = _(
            "Exercise 3 ({processes} CPU processes (--cpu), {epochs} epochs, effective batch "
            "{batch})"
        )
    else:
        done = _(
            "Exercise 3 ({processes} processes, one per GPU, {epochs} epochs, effective batch "
            "{batch})"
        )
    passed(done.format(processes=processes, epochs=epochs, batch=effective_batch))


def exercise_4(strip_module_prefix: Callable[[dict], dict]) -> None:
    """Exercise 4 of lesson 08: load a state_dict saved from the wrapper (keys 'module.*')."""
    hint = _(
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
        fail(
            _("strip_module_prefix returned a {kind}, expected a dict.").format(
                kind=type(got).__name__
            ),
            hint,
        )
    if sorted(got) != sorted(expected):
        fail(
            _("the keys are {keys}, expected {expected}.").format(
                keys=sorted(got), expected=sorted(expected)
            ),
            hint,
        )
    if any(
        got[key] is not value and not torch.equal(got[key], value)
        for key, value in expected.items()
    ):
        fail(_("the keys are right but some tensors changed or moved to another key."), hint)
    plain = {"conv1.weight": tensors[3]}
    if strip_module_prefix(dict(plain)).keys() != plain.keys():
        fail(_("a state_dict without the prefix should come back unchanged."), hint)
    passed(_("Exercise 4 (strip the 'module.' prefix)"))


def exercise_5(global_batch_stats: Callable) -> None:
    """Exercise 5 of lesson 08: what SyncBatchNorm computes from each rank's batch statistics."""
    hint = _(
        "weight each rank by its number of samples. For the variance, the mean of x squared over "
        "all samples is the weighted mean of (variance + mean ** 2) of the ranks; subtract the "
        "square of the global mean."
    )
    generator = torch.Generator().manual_seed(8)
    for counts in ([32, 32], [32, 20, 7], [5, 50, 1, 9]):
        shards = [torch.randn(n, 3, generator=generator) * (r + 1) + 2 * r
                  for r, n in enumerate(counts)]  # fmt: skip
        means = torch.stack([x.mean(0) for x in shards])
        variances = torch.stack([x.var(0, unbiased=False) for x in shards])
        whole = torch.cat(shards)
        got = global_batch_stats(list(counts), means.clone(), variances.clone())
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            fail(_("global_batch_stats should return two tensors: (mean, variance)."), hint)
        mean, var = (torch.as_tensor(t, dtype=torch.float32) for t in got)
        case = _("with {ranks} ranks holding {counts} samples").format(
            ranks=len(counts), counts=counts
        )
        if mean.shape != (3,) or var.shape != (3,):
            fail(_("{case}, expected a mean and a variance per channel, shape (3,); got "
                   "{mean_shape} and {var_shape}.").format(
                       case=case, mean_shape=tuple(mean.shape), var_shape=tuple(var.shape)
                   ), hint)  # fmt: skip
        if not torch.allclose(mean, whole.mean(0), atol=1e-4):
            if torch.allclose(mean, means.mean(0), atol=1e-4):
                fail(_("{case}, the plain average of the ranks' means is not the batch mean: a "
                       "rank with more samples counts more.").format(case=case),
                     hint)  # fmt: skip
            fail(
                _("{case}, the mean is {mean}, expected {expected}.").format(
                    case=case, mean=mean.tolist(), expected=whole.mean(0).tolist()
                ),
                hint,
            )
        if torch.allclose(var, whole.var(0, unbiased=False), atol=1e-4):
            continue
        if torch.allclose(var, whole.var(0, unbiased=True), atol=1e-4):
            fail(_("{case}, that is the unbiased variance (divided by N - 1); BatchNorm "
                   "normalises with the biased one (divided by N).").format(case=case),
                 hint)  # fmt: skip
        weights = torch.tensor(counts, dtype=torch.float32).unsqueeze(1)
        pooled = (weights * variances).sum(0) / weights.sum()
        averaged = variances.mean(0)
        if torch.allclose(var, pooled, atol=1e-4) or torch.allclose(var, averaged, atol=1e-4):
            fail(_("{case}, averaging the ranks' variances misses the spread BETWEEN the ranks' "
                   "means.").format(case=case), hint)  # fmt: skip
        fail(
            _("{case}, the variance is {var}, expected {expected}.").format(
                case=case, var=var.tolist(), expected=whole.var(0, unbiased=False).tolist()
            ),
            hint,
        )
    passed(_("Exercise 5 (SyncBatchNorm's statistics over all ranks)"))
