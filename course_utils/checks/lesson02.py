"""Exercise checks for notebooks/02_layers.ipynb."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from course_utils.checks.base import (  # noqa: F401
    ExerciseError,
    expect_close,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)


def exercise_1(out_shape: Sequence[int]) -> None:
    """Exercise 1 of lesson 02: C x H x W after Conv2d(3, 16, 5, stride=2, padding=1) on 3 x 64 x 64."""
    hint = (
        "out channels = the layer's out_channels; each side is "
        "floor((size + 2 * padding - kernel_size) / stride) + 1."
    )
    if isinstance(out_shape, torch.Tensor) and out_shape.ndim == 4:
        fail(
            "out_shape is a tensor of images, not a shape; write the three numbers yourself.", hint
        )
    try:
        shape = tuple(int(n) for n in out_shape)
    except TypeError:
        fail(f"out_shape should be three numbers (C, H, W), got {out_shape!r}.", hint)
    if len(shape) == 4:
        fail(f"out_shape {shape} has 4 numbers; give the shape of one image: (C, H, W).", hint)
    if len(shape) != 3:
        fail(f"out_shape {shape} should have three numbers (C, H, W).", hint)
    channels, height, width = shape
    if channels != 16:
        fail(
            f"{channels} channels: a Conv2d outputs out_channels (16) channels, one per kernel.",
            hint,
        )
    explained = {
        30: "that forgets the padding (64 + 2 * 1) or the final + 1",
        62: "that forgets the stride: divide by 2",
        32: "that rounds up; Conv2d rounds down (floor)",
        60: "that forgets padding and stride",
    }
    for side in (height, width):
        if side != 31:
            reason = explained.get(side, "not the formula's result")
            fail(f"out_shape {shape}: {side} is not right, {reason}.", hint)
    passed("Exercise 1 (the output size of a convolution)")


def _try_forward(model: nn.Module, x: torch.Tensor, hint: str) -> torch.Tensor:
    """Run `model` on `x`; turn a shape error into an explanation."""
    try:
        with torch.no_grad():
            return model(x)
    except RuntimeError as error:
        fail(
            f"the model fails on a batch of shape {tuple(x.shape)}: {str(error).splitlines()[0]}",
            hint,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def exercise_2(model: nn.Module) -> None:
    """Exercise 2 of lesson 02: a classifier that maps a CIFAR batch N x 3 x 32 x 32 to N x 10."""
    hint = (
        "keep the batch dimension: nn.Flatten() (or torch.flatten(x, 1)) turns N x 3 x 32 x 32 "
        "into N x 3072, so the Linear layer is nn.Linear(3 * 32 * 32, 10)."
    )
    if not isinstance(model, nn.Module):
        fail(f"model should be an nn.Module, got {type(model).__name__}.", hint)
    for n in (64, 16):
        out = _try_forward(model, torch.rand(n, 3, 32, 32), hint)
        out = expect_tensor(out, "the model's output", hint)
        if out.ndim == 1:
            fail(
                f"for a batch of {n} images the output has shape {tuple(out.shape)}: one row of "
                f"scores for the whole batch, because the flatten merged all images; expected "
                f"({n}, 10), one row per image.",
                hint,
            )
        expect_shape(out, (n, 10), f"the output for a batch of {n} images", hint)
    passed("Exercise 2 (one row of 10 scores per image)")


def _features_before_linear(model: nn.Sequential, x: torch.Tensor) -> int | None:
    """Values per sample that reach the first Linear layer of a Sequential, if it gets there."""
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                return x[0].numel()
            x = layer(x)
    return None


def exercise_3(model: nn.Module) -> None:
    """Exercise 3 of lesson 02: a Sequential MNIST net whose Linear layer gets the right in_features."""
    hint = (
        "each MaxPool2d(2) halves the side: 28 -> 14 -> 7; the last conv has 16 channels, so "
        "Flatten gives 16 * 7 * 7 values per image: nn.Linear(16 * 7 * 7, 10)."
    )
    if not isinstance(model, nn.Sequential):
        fail(f"model should be an nn.Sequential, got {type(model).__name__}.", hint)
    if not any(isinstance(layer, nn.Conv2d) for layer in model):
        fail("the model has no Conv2d layer; build the layers listed in the exercise.", hint)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    if not linears:
        fail("the model has no nn.Linear layer at the end.", hint)
    x = torch.rand(5, 1, 28, 28)
    arriving = _features_before_linear(model, x)
    if arriving is not None and arriving != linears[0].in_features:
        fail(
            f"the first Linear has in_features={linears[0].in_features}, but the layers before "
            f"it produce {arriving} values per image; set in_features={arriving}.",
            hint,
        )
    out = _try_forward(model, x, hint)
    expect_shape(out, (5, 10), "the output for a batch of 5 MNIST images", hint)
    passed(f"Exercise 3 (a Sequential net, {arriving} features into the Linear layer)")


def exercise_4(n_params: int) -> None:
    """Exercise 4 of lesson 02: the parameter count of Conv2d(3, 32, 5), worked out by hand."""
    hint = (
        "weights: out_channels x in_channels x kernel x kernel = 32 x 3 x 5 x 5; "
        "plus one bias per output channel (32)."
    )
    try:
        n = int(n_params)
    except (TypeError, ValueError):
        fail(f"n_params should be a whole number, got {n_params!r}.", hint)
    expected = 32 * 3 * 5 * 5 + 32
    if n == 32 * 3 * 5 * 5:
        fail(f"{n} counts only the weights; each of the 32 kernels also has a bias.", hint)
    if n in (3 * 5 * 5, 3 * 5 * 5 + 1, 32 * 5 * 5, 32 * 5 * 5 + 32):
        fail(
            f"{n} is the size of one kernel or ignores the input channels; there are 32 kernels, "
            f"each 3 x 5 x 5.",
            hint,
        )
    if n != expected:
        fail(f"n_params is {n}, not the number of parameters of Conv2d(3, 32, 5).", hint)
    passed(f"Exercise 4 (Conv2d(3, 32, 5) has {expected} parameters)")
