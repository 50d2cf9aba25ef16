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
from course_utils.i18n import _


def _handbook_layers() -> list[tuple[str, nn.Module]]:
    from course_utils.models import HandbookConvNet

    return list(HandbookConvNet().named_children())


def exercise_1(n_params: int) -> None:
    """Exercise 1 of lesson 05: the handbook ConvNet's parameter count, worked out by hand."""
    hint = _(
        "a Conv2d(in, out, k) has out * in * k * k weights plus out biases; a Linear(in, out) has "
        "out * in weights plus out biases. Add the four layers: conv1, conv2, fc1, fc2."
    )
    if isinstance(n_params, torch.Tensor):
        n_params = int(n_params.item())
    if not isinstance(n_params, int):
        fail(
            _("n_params should be a whole number, but it is a {kind}.").format(
                kind=type(n_params).__name__
            ),
            hint,
        )
    layers = _handbook_layers()
    expected = sum(p.numel() for _, layer in layers for p in layer.parameters())
    weights_only = sum(layer.weight.numel() for _, layer in layers)
    if n_params == expected:
        passed(
            _("Exercise 1 ({count:,} parameters, {fc1:,} of them in fc1)").format(
                count=expected, fc1=layers[2][1].weight.numel()
            )
        )
        return
    if n_params == weights_only:
        fail(
            _(
                "{count:,} counts the weights but not the biases (one per output unit or channel)."
            ).format(count=n_params),
            hint,
        )
    for name, layer in layers:
        if n_params == expected - sum(p.numel() for p in layer.parameters()):
            fail(
                _("{count:,} leaves out the {missing:,} parameters of {layer}.").format(
                    count=n_params,
                    missing=sum(p.numel() for p in layer.parameters()),
                    layer=name,
                ),
                hint,
            )
    fail(
        _("{count:,} is not the number of parameters (off by {off:+,}).").format(
            count=n_params, off=n_params - expected
        ),
        hint,
    )


def exercise_2(per_class: torch.Tensor, matrix: torch.Tensor) -> None:
    """Exercise 2 of lesson 05: accuracy per digit from a confusion matrix (rows are true digits)."""
    hint = _(
        "row i of the matrix holds every test image whose true digit is i, and its diagonal entry "
        "counts the correct ones: divide each diagonal entry by the total of its row, as floats."
    )
    expected = expect_per_class_accuracy(per_class, matrix, "per_class", hint)
    worst = int(expected.nan_to_num(2.0).argmin())
    passed(
        _("Exercise 2 (accuracy per digit; the hardest digit is {digit}: {percent:.1f}%)").format(
            digit=worst, percent=100 * expected[worst]
        )
    )


def exercise_3(pair: tuple[int, int], matrix: torch.Tensor) -> None:
    """Exercise 3 of lesson 05: the (true digit, predicted digit) mistake made most often."""
    hint = _(
        "leave out the diagonal (the correct answers), for instance on a copy of the matrix with "
        "the diagonal set to 0; the largest remaining entry is the most common mistake, its row "
        "the true digit and its column the predicted one."
    )
    if isinstance(pair, torch.Tensor):
        pair = tuple(int(v) for v in pair.tolist())  # type: ignore[assignment]
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        fail(
            _("pair should be a tuple (true digit, predicted digit), not {pair}.").format(
                pair=repr(pair)
            ),
            hint,
        )
    true, predicted = int(pair[0]), int(pair[1])
    k = matrix.shape[0]
    if not (0 <= true < k and 0 <= predicted < k):
        fail(
            _("{pair} is not a pair of digits between 0 and {largest}.").format(
                pair=pair, largest=k - 1
            ),
            hint,
        )
    errors = matrix.clone()
    errors.fill_diagonal_(0)
    most = int(errors.max())
    if true == predicted:
        fail(
            _("({true}, {predicted}) is on the diagonal: those are the correct predictions.").format(
                true=true, predicted=predicted
            ),
            hint,
        )
    count = int(errors[true, predicted])
    if count != most:
        if int(errors[predicted, true]) == most:
            fail(
                _(
                    "({true}, {predicted}) is the wrong way round: rows are true digits and "
                    "columns predicted ones, so this mistake is ({predicted}, {true})."
                ).format(true=true, predicted=predicted),
                hint,
            )
        fail(
            _(
                "true {true} predicted as {predicted} happens {count} times, but another mistake "
                "happens {most} times."
            ).format(true=true, predicted=predicted, count=count, most=most),
            hint,
        )
    passed(
        _("Exercise 3 (the most common mistake: {true} read as {predicted}, {count} times)").format(
            true=true, predicted=predicted, count=count
        )
    )


def exercise_4(in_features: int, image_size: int = 32) -> None:
    """Exercise 4 of lesson 05: the input size of fc1 if the images were `image_size` pixels square."""
    hint = _(
        "follow the side length: {size} -> conv1 (5x5, no padding) loses 4 -> max-pool "
        "halves it -> conv2 (3x3) loses 2; then multiply channels x height x width."
    ).format(size=image_size)
    if isinstance(in_features, torch.Tensor):
        in_features = int(in_features.item())
    if not isinstance(in_features, int):
        fail(
            _("in_features should be a whole number, not a {kind}.").format(
                kind=type(in_features).__name__
            ),
            hint,
        )
    layers = dict(_handbook_layers())
    with torch.no_grad():
        x = torch.zeros(1, 1, image_size, image_size)
        x = layers["conv2"](F.max_pool2d(F.relu(layers["conv1"](x)), 2, 2))
    expected = x[0].numel()
    if in_features == expected:
        passed(
            _("Exercise 4 (fc1 would need {count:,} inputs: {shape})").format(
                count=expected, shape=" x ".join(map(str, x.shape[1:]))
            )
        )
        return
    if in_features == 20 * 10 * 10:
        fail(
            _("2,000 is right for 28 x 28 images; the question is about {size} x {size} ones.").format(
                size=image_size
            ),
            hint,
        )
    fail(
        _("{count:,} is not the size of conv2's output for {size} x {size} images.").format(
            count=in_features, size=image_size
        ),
        hint,
    )
