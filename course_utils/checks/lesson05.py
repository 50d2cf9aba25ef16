"""Exercise checks for notebooks/05_mnist.ipynb."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks.base import (
    expect_per_class_accuracy,
    fail,
    passed,
)


def _handbook_layers() -> list[tuple[str, nn.Module]]:
    from course_utils.models import HandbookConvNet

    return list(HandbookConvNet().named_children())


def exercise_1(n_params: int) -> None:
    """Exercise 1 of lesson 05: the handbook ConvNet's parameter count, worked out by hand."""
    hint = (
        "a Conv2d(in, out, k) has out * in * k * k weights plus out biases; a Linear(in, out) has "
        "out * in weights plus out biases. Add the four layers: conv1, conv2, fc1, fc2."
    )
    if isinstance(n_params, torch.Tensor):
        n_params = int(n_params.item())
    if not isinstance(n_params, int):
        fail(f"n_params should be a whole number, but it is a {type(n_params).__name__}.", hint)
    layers = _handbook_layers()
    expected = sum(p.numel() for _, layer in layers for p in layer.parameters())
    weights_only = sum(layer.weight.numel() for _, layer in layers)
    if n_params == expected:
        passed(
            f"Exercise 1 ({expected:,} parameters, {layers[2][1].weight.numel():,} of them in fc1)"
        )
        return
    if n_params == weights_only:
        fail(
            f"{n_params:,} counts the weights but not the biases (one per output unit or channel).",
            hint,
        )
    for name, layer in layers:
        if n_params == expected - sum(p.numel() for p in layer.parameters()):
            fail(
                f"{n_params:,} leaves out the {sum(p.numel() for p in layer.parameters()):,} "
                f"parameters of {name}.",
                hint,
            )
    fail(f"{n_params:,} is not the number of parameters (off by {n_params - expected:+,}).", hint)


def exercise_2(per_class: torch.Tensor, matrix: torch.Tensor) -> None:
    """Exercise 2 of lesson 05: accuracy per digit from a confusion matrix (rows are true digits)."""
    hint = (
        "row i of the matrix holds every test image whose true digit is i, and its diagonal entry "
        "counts the correct ones: divide each diagonal entry by the total of its row, as floats."
    )
    expected = expect_per_class_accuracy(per_class, matrix, "per_class", hint)
    worst = int(expected.nan_to_num(2.0).argmin())
    passed(
        f"Exercise 2 (accuracy per digit; the hardest digit is {worst}: {100 * expected[worst]:.1f}%)"
    )


def exercise_3(pair: tuple[int, int], matrix: torch.Tensor) -> None:
    """Exercise 3 of lesson 05: the (true digit, predicted digit) mistake made most often."""
    hint = (
        "leave out the diagonal (the correct answers), for instance on a copy of the matrix with "
        "the diagonal set to 0; the largest remaining entry is the most common mistake, its row "
        "the true digit and its column the predicted one."
    )
    if isinstance(pair, torch.Tensor):
        pair = tuple(int(v) for v in pair.tolist())  # type: ignore[assignment]
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        fail(f"pair should be a tuple (true digit, predicted digit), not {pair!r}.", hint)
    true, predicted = int(pair[0]), int(pair[1])
    k = matrix.shape[0]
    if not (0 <= true < k and 0 <= predicted < k):
        fail(f"{pair} is not a pair of digits between 0 and {k - 1}.", hint)
    errors = matrix.clone()
    errors.fill_diagonal_(0)
    most = int(errors.max())
    if true == predicted:
        fail(f"({true}, {predicted}) is on the diagonal: those are the correct predictions.", hint)
    count = int(errors[true, predicted])
    if count != most:
        if int(errors[predicted, true]) == most:
            fail(
                f"({true}, {predicted}) is the wrong way round: rows are true digits and "
                f"columns predicted ones, so this mistake is ({predicted}, {true}).",
                hint,
            )
        fail(
            f"true {true} predicted as {predicted} happens {count} times, but another mistake "
            f"happens {most} times.",
            hint,
        )
    passed(f"Exercise 3 (the most common mistake: {true} read as {predicted}, {count} times)")


def exercise_4(in_features: int, image_size: int = 32) -> None:
    """Exercise 4 of lesson 05: the input size of fc1 if the images were `image_size` pixels square."""
    hint = (
        f"follow the side length: {image_size} -> conv1 (5x5, no padding) loses 4 -> max-pool "
        f"halves it -> conv2 (3x3) loses 2; then multiply channels x height x width."
    )
    if isinstance(in_features, torch.Tensor):
        in_features = int(in_features.item())
    if not isinstance(in_features, int):
        fail(f"in_features should be a whole number, not a {type(in_features).__name__}.", hint)
    layers = dict(_handbook_layers())
    with torch.no_grad():
        x = torch.zeros(1, 1, image_size, image_size)
        x = layers["conv2"](F.max_pool2d(F.relu(layers["conv1"](x)), 2, 2))
    expected = x[0].numel()
    if in_features == expected:
        passed(
            f"Exercise 4 (fc1 would need {expected:,} inputs: {' x '.join(map(str, x.shape[1:]))})"
        )
        return
    if in_features == 20 * 10 * 10:
        fail(
            "2,000 is right for 28 x 28 images; the question is about "
            f"{image_size} x {image_size} ones.",
            hint,
        )
    fail(
        f"{in_features:,} is not the size of conv2's output for {image_size} x {image_size} images.",
        hint,
    )
