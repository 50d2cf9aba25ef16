"""Checkpoints as plain dicts, written atomically and loaded safely. Lesson 07.

A checkpoint holds the model's, optimizer's and scheduler's state_dicts, the epoch just
finished, the training history and a config dict. It is written to a temporary file and then
renamed, so an interruption never leaves a half-written file behind, and it is loaded with
`weights_only=True`, so a checkpoint can never run code. Because of that, what is saved beside
the state_dicts (config, history, ...) must be plain data: `save_checkpoint` turns paths into
strings and NumPy scalars into Python numbers, and refuses anything else it could not load back.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FORMAT = "course_utils.checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or does not fit the model it is loaded into."""


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel/DataParallel (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file in the same folder, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            torch.save(obj, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable: flush the folder's entry list (POSIX; Windows cannot)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


PLAIN_TYPES = (type(None), bool, int, float, str, bytes, torch.Tensor, torch.dtype, torch.Size)


def plain_data(value: Any, key: str = "config") -> Any:
    """`value` with paths as strings and NumPy scalars as Python numbers, as weights_only loads it.

    Raises TypeError naming the key and the type of anything else (an object, a function, a
    NumPy array ...), at save time rather than when the checkpoint is loaded to resume.
    """
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, (str, int)):
                raise TypeError(f"{key} has a key {name!r} of type {type(name).__name__}; use str or int keys")
        return {name: plain_data(item, f"{key}[{name!r}]") for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain_data(item, f"{key}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TypeError(
        f"{key} is a {kind}, which a checkpoint loaded with weights_only=True cannot hold. "
        f"Store plain data instead: a number, string, list or dict (e.g. str(value) or value.tolist())."
    )


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    epoch: int = 0,
    history: dict[str, list] | None = None,
    config: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """Write a checkpoint dict atomically; `epoch` is the number of epochs completed."""
    model = unwrap(model)
    checkpoint = {
        "format": FORMAT,
        "model_class": type(model).__name__,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "history": plain_data(history or {}, "history"),
        "config": plain_data(config or {}, "config"),
        **{name: plain_data(value, name) for name, value in extra.items()},
    }
    return atomic_save(checkpoint, path)


def describe_mismatch(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Lines that say which keys are missing, unexpected, or of another shape (empty: it fits)."""
    expected = unwrap(model).state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(expected[k].shape)}"
        for k in expected
        if k in state_dict and tuple(state_dict[k].shape) != tuple(expected[k].shape)
    ]

    def listing(title: str, items: list[str]) -> list[str]:
        if not items:
            return []
        more = f" (and {len(items) - 8} more)" if len(items) > 8 else ""
        return [f"{title}{more}:"] + [f"  {item}" for item in items[:8]]

    return (
        listing("missing in the checkpoint", missing)
        + listing("not in the model", unexpected)
        + listing("different shapes", shapes)
    )


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint (weights_only=True) and restore whatever objects are given.

    Raises CheckpointError, naming the keys and shapes that differ, if the model does not fit.
    Returns the whole checkpoint dict (epoch, history, config, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(error).__name__}: {error}). "
            f"It may be truncated, or written by something else."
        ) from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise CheckpointError(
            f"{path} holds no course checkpoint (a dict with a 'model' entry). If it is a bare "
            f"state_dict, load it with model.load_state_dict(torch.load(path, weights_only=True))."
        )
    if model is not None:
        problems = describe_mismatch(model, checkpoint["model"])
        if problems:
            saved = checkpoint.get("model_class", "an unknown model")
            raise CheckpointError(
                f"{path} was saved from {saved} and does not fit {type(unwrap(model)).__name__}:\n"
                + "\n".join(problems)
            )
        unwrap(model).load_state_dict(checkpoint["model"])
    if optimizer is not None and checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint
