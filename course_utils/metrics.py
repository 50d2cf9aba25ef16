"""Accuracy, confusion matrix and per-class accuracy from predictions. Lessons 05 and 06."""

from __future__ import annotations

import torch


def accuracy(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of predictions (class indices, or logits N x K) equal to the targets."""
    if predictions.ndim == 2:
        predictions = predictions.argmax(1)
    return (predictions == targets).float().mean().item()


def confusion_matrix(predictions: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """K x K counts: row = true class, column = predicted class."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(matrix: torch.Tensor) -> torch.Tensor:
    """Accuracy of each true class from a confusion matrix (NaN for a class with no samples)."""
    totals = matrix.sum(1).float()
    return matrix.diagonal().float() / totals
