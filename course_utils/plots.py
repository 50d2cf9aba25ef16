"""Pictures of data and results: image grids, learning curves, confusion matrices.

matplotlib is imported here, so `import course_utils` stays light until a plot is drawn.
Lessons 01 (image grid), 05 and 06 (learning curves, confusion matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure


def denormalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo Normalize(mean, std) on N x C x H x W images, clamped to 0-1 for display."""
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images * std_t + mean_t).clamp(0, 1)


def show_images(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """A grid of images (N x C x H x W, float 0-1, uint8, or normalised with `mean`/`std`),
    titled with labels and, if given, predictions (wrong ones in red)."""
    images = images.detach().cpu()
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.dtype == torch.uint8:
        images = images.float() / 255
    elif mean is not None and std is not None:
        images = denormalize(images.float(), mean, std)
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.5 * ncols, 1.7 * nrows), squeeze=False)

    def name(index: int) -> str:
        return class_names[index] if class_names is not None else str(index)

    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        image = images[i]
        if image.shape[0] == 1:
            ax.imshow(image[0].numpy(), cmap="gray")
        else:
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        parts, color = [], "black"
        if labels is not None:
            parts.append(name(int(labels[i])))
        if predictions is not None:
            parts.append(f"pred: {name(int(predictions[i]))}")
            if labels is not None and int(predictions[i]) != int(labels[i]):
                color = "red"
        ax.set_title("\n".join(parts), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history: dict[str, list], title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, train and test, from a `fit` history."""
    epochs = history["epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    for split in ("train", "test"):
        ax_loss.plot(epochs, history[f"{split}_loss"], marker="o", label=split)
        ax_acc.plot(epochs, [100 * a for a in history[f"{split}_accuracy"]], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    matrix: torch.Tensor, class_names: Sequence[str] | None = None, title: str = "confusion matrix"
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    matrix = matrix.cpu()
    k = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(0.6 * k + 2, 0.6 * k + 1.5))
    ax.imshow(matrix.numpy(), cmap="Blues")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticklabels(names)
    threshold = matrix.max().item() / 2
    for i in range(k):
        for j in range(k):
            value = int(matrix[i, j])
            ax.text(j, i, value, ha="center", va="center", fontsize=7,
                    color="white" if value > threshold else "black")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(values: torch.Tensor, class_names: Sequence[str]) -> Figure:
    """A bar chart of accuracy per class (values 0-1)."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(list(class_names), (100 * values.cpu()).tolist())
    ax.set(ylabel="accuracy (%)", ylim=(0, 100), title="accuracy per class")
    ax.tick_params(axis="x", rotation=45)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
