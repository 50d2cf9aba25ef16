"""Learning-rate sweeps: train a tiny network for a few hundred steps and record its loss.

The plain functions behind lesson 04's learning-rate explorer (`course_utils.widgets.lr_explorer`),
usable without ipywidgets: `make_optimizer`, `tiny_mlp`, `lr_loss_curve`, `smooth` and
`draw_lr_curves` (matplotlib is imported only when a figure is drawn). Lesson 04.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OPTIMIZERS = ("SGD", "SGD + momentum", "Adam")


def make_optimizer(
    name: str, parameters: object, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """An optimizer by name: "SGD", "SGD + momentum" (0.9) or "Adam". Lesson 04."""
    if name == "SGD":
        return torch.optim.SGD(parameters, lr=lr, weight_decay=weight_decay)  # type: ignore[arg-type]
    if name == "SGD + momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay)  # type: ignore[arg-type]
    if name == "Adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)  # type: ignore[arg-type]
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def tiny_mlp(in_features: int, classes: int, hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """Linear-ReLU-Linear, initialised from `seed` without touching the global RNG. Lesson 04."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(in_features, hidden),  # N x hidden
            nn.ReLU(),
            nn.Linear(hidden, classes),  # N x classes
        )


def lr_loss_curve(
    features: torch.Tensor,
    labels: torch.Tensor,
    lr: float,
    optimizer: str = "SGD",
    steps: int = 300,
    batch_size: int = 64,
    hidden: int = 32,
    seed: int = 0,
    callback: Callable[[list[float]], None] | None = None,
    every: int = 25,
) -> list[float]:
    """Train `tiny_mlp` on (N x D features, N labels) for `steps` minibatch steps; return each
    step's loss. Stops early, ending the list with inf, if the loss blows up. Lesson 04.

    Minibatches walk through a fresh random order each epoch (seeded by `seed`); `callback`,
    if given, receives the losses so far every `every` steps (the explorer redraws with it).
    """
    if features.ndim != 2 or not features.is_floating_point():
        raise ValueError(
            f"features should be a float N x D tensor, got {features.dtype} {tuple(features.shape)}; "
            f"flatten images with images.flatten(1).float()."
        )
    if labels.shape != (len(features),):
        raise ValueError(f"labels should have shape ({len(features)},), got {tuple(labels.shape)}")
    if not lr > 0 or steps < 1 or not 0 < batch_size <= len(features):
        raise ValueError(
            f"need lr > 0, steps >= 1 and 0 < batch_size <= {len(features)}; "
            f"got lr={lr}, steps={steps}, batch_size={batch_size}"
        )
    model = tiny_mlp(features.shape[1], int(labels.max()) + 1, hidden, seed)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    order, position, losses = torch.randperm(len(features), generator=generator), 0, []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # matrices this small: one thread beats several that must keep in step
    try:
        for step in range(steps):
            if position + batch_size > len(features):  # a new epoch: a new order
                order, position = torch.randperm(len(features), generator=generator), 0
            index = order[position : position + batch_size]
            position += batch_size
            opt.zero_grad()  # 1. clear the old gradients
            loss = loss_fn(model(features[index]), labels[index])  # 2. forward and loss
            loss.backward()  # 3. backward: new gradients
            opt.step()  # 4. update the weights
            if not torch.isfinite(loss):
                losses.append(float("inf"))
                break
            losses.append(loss.item())
            if callback is not None and (step + 1) % every == 0:
                callback(losses)
    finally:
        torch.set_num_threads(threads)
    if callback is not None:
        callback(losses)
    return losses


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    """Running mean of each value and the `window` - 1 before it (fewer at the start). Lesson 04."""
    array = np.asarray(values, dtype=float)
    return np.array([array[max(0, i - window + 1) : i + 1].mean() for i in range(len(array))])


def draw_lr_curves(
    curves: dict[str, Sequence[float]], title: str | None = None, window: int = 10
) -> Figure:
    """Plot loss curves (raw and smoothed, log scale), marking any that diverged. Lesson 04."""
    import matplotlib.pyplot as plt  # only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7, 3.5))
    finite_values = [v for losses in curves.values() for v in losses if np.isfinite(v)]
    for i, (label, losses) in enumerate(curves.items()):
        color = f"C{i}"
        finite = [v for v in losses if np.isfinite(v)]
        diverged = len(finite) < len(losses)
        if diverged:
            label = f"{label} (diverged at step {len(losses)})"
        steps = np.arange(1, len(finite) + 1)
        ax.plot(steps, finite, color=color, alpha=0.2, lw=0.8)
        ax.plot(steps, smooth(finite, window), color=color, label=label)
        if diverged and finite:
            ax.plot(steps[-1], finite[-1], "x", color=color, markersize=10)
    ax.set_yscale("log")
    if finite_values:
        ax.set_ylim(max(min(finite_values) * 0.8, 1e-3), min(max(finite_values) * 1.2, 20.0))
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss (faint: per batch, solid: mean of {window})")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
