"""Exercise checks for notebooks/00_setup_and_tensors.ipynb."""

from __future__ import annotations

import torch

from course_utils.checks.base import (  # noqa: F401
    ExerciseError,
    expect_close,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)


def exercise_1(grid: torch.Tensor) -> None:
    """Exercise 1 of lesson 00: the numbers 0 to 11 as a 3 x 4 float32 tensor."""
    hint = "torch.arange(12, dtype=torch.float32) gives 0..11; .reshape(3, 4) makes 3 rows of 4."
    grid = expect_tensor(grid, "grid", hint)
    expect_shape(grid, (3, 4), "grid", hint)
    if grid.dtype != torch.float32:
        fail(f"grid has dtype {grid.dtype}, expected torch.float32.", hint)
    expect_close(grid, torch.arange(12, dtype=torch.float32).reshape(3, 4), "grid", hint)
    passed("Exercise 1 (a 3 x 4 grid)")


def exercise_2(flat: torch.Tensor, images: torch.Tensor) -> None:
    """Exercise 2 of lesson 00: flatten a batch of images to one row per image."""
    hint = (
        "keep the batch dimension: images.flatten(1) or images.reshape(len(images), -1). "
        "torch.flatten(images) with no start_dim flattens the batch dimension too."
    )
    flat = expect_tensor(flat, "flat", hint)
    expected = images.reshape(images.shape[0], -1)
    if flat.ndim == 1 and flat.numel() == images.numel():
        fail(
            f"flat has shape {tuple(flat.shape)}: all {images.shape[0]} images were merged into "
            f"one long vector, expected {tuple(expected.shape)} (one row per image).",
            hint,
        )
    expect_shape(flat, expected.shape, "flat", hint)
    expect_close(flat, expected, "flat", "the rows must be the images in their original order.")
    passed("Exercise 2 (flatten a batch)")


def exercise_3(stacked: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> None:
    """Exercise 3 of lesson 00: stack three tensors along a new first dimension."""
    hint = "torch.stack([a, b, c]) adds a new dimension 0; torch.cat([a, b, c]) joins along an existing one."
    stacked = expect_tensor(stacked, "stacked", hint)
    expected = torch.stack([a, b, c])
    if (
        tuple(stacked.shape) == tuple(torch.cat([a, b, c]).shape)
        and stacked.shape != expected.shape
    ):
        fail(
            f"stacked has shape {tuple(stacked.shape)}: that is torch.cat (joined end to end), "
            f"expected {tuple(expected.shape)}.",
            hint,
        )
    expect_shape(stacked, expected.shape, "stacked", hint)
    expect_close(stacked, expected, "stacked", "the order should be a, then b, then c.")
    passed("Exercise 3 (stack three tensors)")


def exercise_4(predictions: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Exercise 4 of lesson 00: predicted classes from a batch of scores with argmax(1)."""
    hint = (
        "outputs is N x K (one row of K class scores per sample); outputs.argmax(1) picks the "
        "best class in each row. argmax(0) would pick the best sample in each column."
    )
    predictions = expect_tensor(predictions, "predictions", hint)
    expected = outputs.argmax(1)
    if tuple(predictions.shape) == (outputs.shape[1],) and outputs.shape[0] != outputs.shape[1]:
        fail(
            f"predictions has shape {tuple(predictions.shape)}, one value per class; expected "
            f"{tuple(expected.shape)}, one per sample. Did you use argmax(0)?",
            hint,
        )
    expect_shape(predictions, expected.shape, "predictions", hint)
    if predictions.dtype.is_floating_point:
        fail(f"predictions has dtype {predictions.dtype}; class indices are integers.", hint)
    if not torch.equal(predictions.long(), expected):
        wrong = int((predictions.long() != expected).sum())
        fail(f"{wrong} of {len(expected)} predictions are not the highest-scoring class.", hint)
    correct = int((predictions == targets).sum())
    passed(f"Exercise 4 (argmax(1); {correct} of {len(targets)} predictions match the labels)")
