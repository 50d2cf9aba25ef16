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
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from course_utils.checkpoints import load_checkpoint, save_checkpoint
from course_utils.precision import Precision

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds")


def is_main_process() -> bool:
    """True unless this is a distributed run and we are not rank 0."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


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


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool):
    # non_blocking lets a copy from pinned memory overlap with GPU work; on the CPU it is a no-op.
    x = x.to(device, non_blocking=True)
    y = y.to(device, non_blocking=True)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def _all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    if not (dist.is_available() and dist.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable | None = None,
    scheduler: Any | None = None,
    precision: Precision = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    channels_last: bool = False,
    max_batches: int | None = None,
    progress: bool = True,
    desc: str = "train",
) -> dict[str, float]:
    """One pass over `loader`; steps `scheduler` after every batch if one is given.

    Returns the mean loss and the accuracy over the samples seen.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _model_device(model)
    scaler = scaler or make_grad_scaler(device, precision)
    model.train()
    total_loss, correct, seen = 0.0, 0.0, 0.0
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
        total_loss += loss.item() * len(y)
        correct += (output.argmax(1) == y).sum().item()
        seen += len(y)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
    total_loss, correct, seen = _all_reduce_sum([total_loss, correct, seen], device)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | None = None,
    precision: Precision = "fp32",
    channels_last: bool = False,
    max_batches: int | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Mean loss and accuracy of `model` on `loader`, in eval mode and without gradients."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _model_device(model)
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    batches = len(loader) if max_batches is None else min(max_batches, len(loader))  # type: ignore[arg-type]
    bar = tqdm(loader, total=batches, desc="evaluate", leave=False, disable=not (progress and is_main_process()))
    for step, (x, y) in enumerate(bar):
        if step >= batches:
            break
        x, y = _to_device(x, y, device, channels_last)
        with autocast(device, precision):
            output = model(x)
            total_loss += loss_fn(output, y).item() * len(y)
        correct += (output.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}


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


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng_state(state: dict[str, Any] | None) -> None:
    if not state:
        return
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def fit(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable | None,
    optimizer: torch.optim.Optimizer,
    epochs: int,
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
    ReduceLROnPlateau scheduler is stepped with the test loss.
    """
    device = _model_device(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    scaler = make_grad_scaler(device, precision)
    history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
    start_epoch = 0
    if resume and checkpoint_path is not None and os.path.exists(checkpoint_path):
        checkpoint = load_checkpoint(checkpoint_path, model, optimizer, scheduler, map_location=device)
        if checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        _restore_rng_state(checkpoint.get("rng"))
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
            model, train_loader, optimizer, loss_fn, batch_scheduler, precision, scaler,
            channels_last, max_batches, progress, desc=f"epoch {epoch + 1}/{epochs}",
        )  # fmt: skip
        test = {"loss": math.nan, "accuracy": math.nan}
        if test_loader is not None:
            test = evaluate(model, test_loader, loss_fn, precision, channels_last, max_batches)
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
                config=config, scaler=scaler.state_dict(), rng=_rng_state(),
            )  # fmt: skip
    if writer is not None:
        writer.close()
    return history
