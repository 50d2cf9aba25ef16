"""The training loop in three steps: train one epoch, evaluate, and `fit` them together.

Works unchanged on the CPU, on CUDA and under DistributedDataParallel (progress bars, logs and
checkpoints on rank 0 only). Optional: mixed precision, channels_last, a per-step learning-rate
schedule, TensorBoard logging, a checkpoint per epoch and resuming from it.
Built by hand in lessons 04-06; `fit` is the finished version used from lesson 06 on.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from course_utils.checkpoints import load_checkpoint, save_checkpoint, unwrap
from course_utils.distributed import is_distributed, is_main_process
from course_utils.precision import Precision
from course_utils.runtime import random_state, set_random_state

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds")


def autocast(device: torch.device, precision: Precision = "fp32") -> contextlib.AbstractContextManager:
    """Mixed-precision context: bf16 on CPU or CUDA, fp16 on CUDA only; fp32 does nothing."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision='fp16' needs a CUDA GPU; on the CPU use 'bf16' or 'fp32'.")
    if precision not in ("bf16", "fp16"):
        raise ValueError(f"precision must be 'fp32', 'bf16' or 'fp16', not {precision!r}")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_grad_scaler(device: torch.device, precision: Precision) -> torch.amp.GradScaler:
    """A GradScaler that is active only for fp16 (bf16 has fp32's range and needs none)."""
    return torch.amp.GradScaler(device.type, enabled=(precision == "fp16"))


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _to_channels_last(model: nn.Module) -> None:
    """Store the weights of `unwrap(model)` as channels_last (4-d tensors only)."""
    base = unwrap(model)
    if base is not model and any(
        p.ndim == 4 and not p.is_contiguous(memory_format=torch.channels_last) for p in base.parameters()
    ):
        warnings.warn(
            "channels_last=True with a wrapped model whose weights are not channels_last: convert "
            "before wrapping, model.to(memory_format=torch.channels_last), then DistributedDataParallel(model). "
            "Converting now, but DDP prepared its gradient buckets for the old layout, which can cost speed.",
            stacklevel=3,
        )
    base.to(memory_format=torch.channels_last)


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool):
    # non_blocking lets a copy from pinned memory overlap with GPU work; on the CPU it is a no-op.
    x = x.to(device, non_blocking=True)
    y = y.to(device, non_blocking=True)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def _all_reduce_sum(values: list[torch.Tensor | float], device: torch.device) -> list[float]:
    """Sum each value over all ranks (one collective; a no-op in a single process) and fetch them.

    This is the loop's one host sync per epoch: the values are device tensors until here.
    """
    dtype = _sum_dtype(device)
    tensor = torch.stack([torch.as_tensor(v, dtype=dtype, device=device) for v in values])
    if is_distributed():
        dist.all_reduce(tensor)
    return tensor.tolist()


def _sum_dtype(device: torch.device) -> torch.dtype:
    """float64 for running sums (exact as Python floats), float32 on MPS, which lacks float64."""
    return torch.float32 if device.type == "mps" else torch.float64


POSTFIX_EVERY = 50  # batches between progress-bar updates (each one waits for the device)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable | None = None,
    *,
    scheduler: Any | None = None,
    precision: Precision = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    channels_last: bool = False,
    max_batches: int | None = None,
    progress: bool = True,
    desc: str = "train",
) -> dict[str, float]:
    """One pass over `loader`; steps `scheduler` after every batch if one is given.

    Returns the mean loss and the accuracy over the samples seen (summed over all ranks under
    DistributedDataParallel, so every rank must call it). Lessons 04-06.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _model_device(model)
    scaler = scaler or make_grad_scaler(device, precision)
    model.train()
    # Running sums stay on the device: reading them (.item()) would make the CPU wait every batch.
    total_loss = torch.zeros((), dtype=_sum_dtype(device), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    batches = len(loader) if max_batches is None else min(max_batches, len(loader))  # type: ignore[arg-type]
    bar = tqdm(loader, total=batches, desc=desc, leave=False, disable=not (progress and is_main_process()))
    for step, (x, y) in enumerate(bar):
        if step >= batches:
            break
        x, y = _to_device(x, y, device, channels_last)
        # 1. forward (in mixed precision if asked), 2. loss, 3. backward, 4. step
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            output = model(x)
            loss = loss_fn(output, y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.detach().to(total_loss.dtype) * len(y)
        correct += (output.argmax(1) == y).sum()
        seen += len(y)
        if not bar.disable and (step % POSTFIX_EVERY == 0 or step == batches - 1):
            bar.set_postfix(loss=f"{total_loss.item() / seen:.4f}", acc=f"{correct.item() / seen:.3f}")
    total, right, count = _all_reduce_sum([total_loss, correct, seen], device)
    return {"loss": total / max(count, 1), "accuracy": right / max(count, 1)}


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | None = None,
    *,
    precision: Precision = "fp32",
    channels_last: bool = False,
    max_batches: int | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Mean loss and accuracy of `model` on `loader`, in eval mode and without gradients.

    Under DistributedDataParallel the sums are combined over all ranks, so with a sharded test
    loader every rank gets the result for the whole test set (every rank must call it).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _model_device(model)
    model.eval()
    total_loss = torch.zeros((), dtype=_sum_dtype(device), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    batches = len(loader) if max_batches is None else min(max_batches, len(loader))  # type: ignore[arg-type]
    bar = tqdm(loader, total=batches, desc="evaluate", leave=False, disable=not (progress and is_main_process()))
    for step, (x, y) in enumerate(bar):
        if step >= batches:
            break
        x, y = _to_device(x, y, device, channels_last)
        with autocast(device, precision):
            output = model(x)
            total_loss += loss_fn(output, y).to(total_loss.dtype) * len(y)
        correct += (output.argmax(1) == y).sum()
        seen += len(y)
    total, right, count = _all_reduce_sum([total_loss, correct, seen], device)
    return {"loss": total / max(count, 1), "accuracy": right / max(count, 1)}


@torch.no_grad()
def predict(
    model: nn.Module, loader: Iterable, max_batches: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Predicted classes, true labels and softmax probabilities for every sample (on the CPU)."""
    device = _model_device(model)
    model.eval()
    preds, targets, probs = [], [], []
    for step, (x, y) in enumerate(loader):
        if max_batches is not None and step >= max_batches:
            break
        p = model(x.to(device)).float().softmax(1).cpu()
        probs.append(p)
        preds.append(p.argmax(1))
        targets.append(y.cpu())
    return torch.cat(preds), torch.cat(targets), torch.cat(probs)


def _set_epoch(loader: Any, epoch: int) -> None:
    """Tell a TensorLoader or a DistributedSampler which epoch's shuffle to use."""
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable | None,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    loss_fn: Callable | None = None,
    scheduler: Any | None = None,
    scheduler_step: Literal["epoch", "batch"] = "epoch",
    precision: Precision = "fp32",
    channels_last: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = False,
    log_dir: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    max_batches: int | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Train for `epochs` epochs in all and return the history (one entry per epoch).

    With `checkpoint_path`, a checkpoint is written after every epoch; with `resume=True` as
    well, training continues from that checkpoint's epoch (model, optimizer, scheduler, random
    state and history restored) up to `epochs`. With `log_dir`, scalars go to TensorBoard.
    `scheduler_step="batch"` steps the scheduler after every batch (OneCycleLR); a
    ReduceLROnPlateau scheduler is stepped with the test loss. Random state includes Python's,
    NumPy's, torch's (CPU, CUDA, MPS) and the train loader's generators, so a resumed run ends
    with the same weights as an uninterrupted one. With `channels_last`, fit converts
    `unwrap(model)`; under DistributedDataParallel, convert the model before wrapping it.
    """
    device = _model_device(model)
    if channels_last:
        _to_channels_last(model)
    scaler = make_grad_scaler(device, precision)
    history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
    start_epoch = 0
    if resume and checkpoint_path is not None and os.path.exists(checkpoint_path):
        checkpoint = load_checkpoint(checkpoint_path, model, optimizer, scheduler, map_location=device)
        if checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        set_random_state(checkpoint.get("rng"), train_loader)
        history = {key: list(checkpoint["history"].get(key, [])) for key in HISTORY_KEYS}
        start_epoch = checkpoint["epoch"]
        if is_main_process():
            print(f"Resumed from {checkpoint_path} after epoch {start_epoch}.")
    writer = None
    if log_dir is not None and is_main_process():
        from torch.utils.tensorboard import SummaryWriter  # imported only when asked for

        writer = SummaryWriter(str(log_dir))
    main = progress and is_main_process()
    batch_scheduler = scheduler if scheduler_step == "batch" else None
    epoch_bar = tqdm(range(start_epoch, epochs), desc="epochs", disable=not main)
    for epoch in epoch_bar:
        _set_epoch(train_loader, epoch)
        start = time.perf_counter()
        train = train_one_epoch(
            model, train_loader, optimizer, loss_fn, scheduler=batch_scheduler,
            precision=precision, scaler=scaler, channels_last=channels_last,
            max_batches=max_batches, progress=progress, desc=f"epoch {epoch + 1}/{epochs}",
        )  # fmt: skip
        test = {"loss": math.nan, "accuracy": math.nan}
        if test_loader is not None:
            test = evaluate(model, test_loader, loss_fn, precision=precision,
                            channels_last=channels_last, max_batches=max_batches)  # fmt: skip
        if scheduler is not None and scheduler_step == "epoch":
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(test["loss"])
            else:
                scheduler.step()
        seconds = time.perf_counter() - start
        row = {
            "epoch": epoch + 1, "train_loss": train["loss"], "train_accuracy": train["accuracy"],
            "test_loss": test["loss"], "test_accuracy": test["accuracy"],
            "lr": optimizer.param_groups[0]["lr"], "seconds": seconds,
        }  # fmt: skip
        for key, value in row.items():
            history[key].append(value)
        epoch_bar.set_postfix(train_acc=f"{train['accuracy']:.3f}", test_acc=f"{test['accuracy']:.3f}")
        if writer is not None:
            for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "lr"):
                writer.add_scalar(key.replace("_", "/", 1), row[key], epoch + 1)
            writer.flush()
        if checkpoint_path is not None and is_main_process():
            save_checkpoint(
                checkpoint_path, model, optimizer, scheduler, epoch=epoch + 1, history=history,
                config=config, scaler=scaler.state_dict(), rng=random_state(train_loader),
            )  # fmt: skip
    if writer is not None:
        writer.close()
    return history
