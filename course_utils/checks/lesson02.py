"""Exercise checks for notebooks/02_layers.ipynb."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import nn

from course_utils.checks.base import (
    expect_shape,
    expect_tensor,
    fail,
    passed,
)
from course_utils.convolution import conv_output_size
from course_utils.i18n import _


def exercise_1(out_shape: Sequence[int]) -> None:
    """Exercise 1 of lesson 02: C x H x W after Conv2d(3, 16, 5, stride=2, padding=1) on 3 x 64 x 64."""
    hint = _(
        "out channels = the layer's out_channels; each side is "
        "floor((size + 2 * padding - kernel_size) / stride) + 1."
    )
    if isinstance(out_shape, torch.Tensor) and out_shape.ndim == 4:
        fail(
            _("out_shape is a tensor of images, not a shape; write the three numbers yourself."),
            hint,
        )
    try:
        shape = tuple(int(n) for n in out_shape)
    except TypeError:
        fail(
            _("out_shape should be three numbers (C, H, W), got {answer!r}.").format(
                answer=out_shape
            ),
            hint,
        )
    if len(shape) == 4:
        fail(
            _("out_shape {shape} has 4 numbers; give the shape of one image: (C, H, W).").format(
                shape=shape
            ),
            hint,
        )
    if len(shape) != 3:
        fail(_("out_shape {shape} should have three numbers (C, H, W).").format(shape=shape), hint)
    channels, height, width = shape
    expected_side = conv_output_size(64, kernel_size=5, stride=2, padding=1)  # 31
    if channels != 16:
        fail(
            _(
                "{channels} channels: a Conv2d outputs out_channels (16) channels, one per kernel."
            ).format(channels=channels),
            hint,
        )
    explained = {
        30: _("that forgets the padding (64 + 2 * 1) or the final + 1"),
        62: _("that forgets the stride: divide by 2"),
        32: _("that rounds up; Conv2d rounds down (floor)"),
        60: _("that forgets padding and stride"),
    }
    for side in (height, width):
        if side != expected_side:
            reason = explained.get(side, _("not the formula's result"))
            fail(
                _("out_shape {shape}: {side} is not right, {reason}.").format(
                    shape=shape, side=side, reason=reason
                ),
                hint,
            )
    passed(_("Exercise 1 (the output size of a convolution)"))


def _try_forward(model: nn.Module, x: torch.Tensor, hint: str) -> torch.Tensor:
    """Run `model` on `x`; turn a shape error into an explanation."""
    try:
        with torch.no_grad():
            return model(x)
    except RuntimeError as error:
        fail(
            _("the model fails on a batch of shape {shape}: {error}").format(
                shape=tuple(x.shape), error=str(error).splitlines()[0]
            ),
            hint,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def exercise_2(model: nn.Module) -> None:
    """Exercise 2 of lesson 02: a head that maps feature maps N x 16 x 16 x 16 to N x 10."""
    hint = _(
        "keep the batch dimension: nn.Flatten() (or torch.flatten(x, 1)) flattens each map, "
        "not the batch; in_features is the number of values in one map (channels x height x "
        "width)."
    )
    if not isinstance(model, nn.Module):
        fail(_("head should be an nn.Module, got {kind}.").format(kind=type(model).__name__), hint)
    for n in (64, 16):
        out = _try_forward(model, torch.rand(n, 16, 16, 16), hint)
        out = expect_tensor(out, _("the head's output"), hint)
        if out.ndim == 1:
            fail(
                _(
                    "for a batch of {n} maps the output has shape {shape}: one row of "
                    "scores for the whole batch, because the flatten merged all images; expected "
                    "({n}, 10), one row per image."
                ).format(n=n, shape=tuple(out.shape)),
                hint,
            )
        expect_shape(out, (n, 10), _("the output for a batch of {n} maps").format(n=n), hint)
    passed(_("Exercise 2 (one row of 10 scores per image)"))


def _features_before_linear(model: nn.Sequential, x: torch.Tensor) -> int | None:
    """Values per sample that reach the first Linear layer of a Sequential, if it gets there."""
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                return x[0].numel()
            x = layer(x)
    return None


EXERCISE_3_LAYERS = (
    nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear,
)  # fmt: skip


def exercise_3(model: nn.Module) -> None:
    """Exercise 3 of lesson 02: a Sequential MNIST net with the listed layers and the right in_features."""
    hint = _(
        "follow the side of the image through the layers: a 3 x 3 convolution with padding=1 "
        "keeps it, each MaxPool2d(2) halves it; in_features is channels x side x side after the "
        "last pooling."
    )
    if not isinstance(model, nn.Sequential):
        fail(
            _("model should be an nn.Sequential, got {kind}.").format(kind=type(model).__name__),
            hint,
        )
    if not any(isinstance(layer, nn.Conv2d) for layer in model):
        fail(_("the model has no Conv2d layer; build the layers listed in the exercise."), hint)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    if not linears:
        fail(_("the model has no nn.Linear layer at the end."), hint)
    names = [type(layer).__name__ for layer in model]
    expected = [layer.__name__ for layer in EXERCISE_3_LAYERS]
    n_relu, n_pool = names.count("ReLU"), names.count("MaxPool2d")
    if n_relu < 2:
        fail(
            _(
                "the model has {count} ReLU layer(s); the exercise puts one after each Conv2d. "
                "Without an activation between them, stacked layers collapse into one linear map."
            ).format(count=n_relu),
            hint,
        )
    if n_pool < 2:
        fail(
            _(
                "the model has {count} MaxPool2d layer(s); the exercise puts one after each "
                "Conv2d + ReLU, to halve the side: 28 -> 14 -> 7."
            ).format(count=n_pool),
            hint,
        )
    if names != expected:
        first = next(
            (i for i, (got, want) in enumerate(zip(names, expected, strict=False)) if got != want),
            min(len(names), len(expected)),
        )
        fail(
            _(
                "the layers are {names}; expected {expected} (the first difference is at "
                "position {first})."
            ).format(names=names, expected=expected, first=first),
            hint,
        )
    convs = [layer for layer in model if isinstance(layer, nn.Conv2d)]
    for conv, (c_in, c_out) in zip(convs, ((1, 8), (8, 16)), strict=True):
        settings = (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding)
        if settings != (c_in, c_out, (3, 3), (1, 1)):
            fail(
                _(
                    "{conv} should be Conv2d({c_in}, {c_out}, 3, padding=1) as the exercise lists."
                ).format(conv=conv, c_in=c_in, c_out=c_out),
                hint,
            )
    x = torch.rand(5, 1, 28, 28)
    arriving = _features_before_linear(model, x)
    if arriving is not None and arriving != linears[0].in_features:
        fail(
            _(
                "the first Linear has in_features={in_features}, but the layers before "
                "it produce {arriving} values per image; set in_features={arriving}."
            ).format(in_features=linears[0].in_features, arriving=arriving),
            hint,
        )
    out = _try_forward(model, x, hint)
    expect_shape(out, (5, 10), _("the output for a batch of 5 MNIST images"), hint)
    passed(
        _("Exercise 3 (a Sequential net, {arriving} features into the Linear layer)").format(
            arriving=arriving
        )
    )


def exercise_4(n_params: int) -> None:
    """Exercise 4 of lesson 02: the parameter count of Conv2d(3, 32, 5), worked out by hand."""
    hint = _(
        "the weight has one number per (output channel, input channel, kernel row, kernel "
        "column); the bias has one number per output channel."
    )
    try:
        n = int(n_params)
    except (TypeError, ValueError):
        fail(_("n_params should be a whole number, got {answer!r}.").format(answer=n_params), hint)
    expected = 32 * 3 * 5 * 5 + 32
    if n == 32 * 3 * 5 * 5:
        fail(
            _("{n} counts only the weights; each of the 32 kernels also has a bias.").format(n=n),
            hint,
        )
    if n in (3 * 5 * 5, 3 * 5 * 5 + 1, 32 * 5 * 5, 32 * 5 * 5 + 32):
        fail(
            _(
                "{n} is the size of one kernel or ignores the input channels; there are 32 kernels, "
                "each 3 x 5 x 5."
            ).format(n=n),
            hint,
        )
    if n != expected:
        fail(
            _("n_params is {n}, not the number of parameters of Conv2d(3, 32, 5).").format(n=n),
            hint,
        )
    passed(_("Exercise 4 (Conv2d(3, 32, 5) has {expected} parameters)").format(expected=expected))


def _head_problem(out: torch.Tensor) -> str | None:
    """Name a squashing function applied to the output, found from its autograd history."""
    name = out.grad_fn.name() if out.grad_fn is not None else ""
    if name.startswith("Sigmoid"):
        return "Sigmoid"
    if name.startswith("Softmax"):
        return "Softmax"
    return None


def exercise_5(model: nn.Module) -> None:
    """Exercise 5 of lesson 02: MyConvNet (input N x 1 x 5 x 25, two classes) with its bugs fixed."""
    hint = _(
        "call the network on torch.rand(4, 1, 5, 25) and print the shape after every layer; "
        "nn.CrossEntropyLoss wants one row of raw scores (logits) per sample: N x 2."
    )
    if isinstance(model, type):
        fail(_("fixed_net is a class; create the network: fixed_net = FixedConvNet()."), hint)
    if not isinstance(model, nn.Module):
        fail(
            _("fixed_net should be an nn.Module, got {kind}.").format(kind=type(model).__name__),
            hint,
        )
    parameters = list(inspect.signature(model.forward).parameters)
    if len(parameters) > 1:
        fail(
            _(
                "forward takes {parameters}: {unused} is never used, and "
                "model(x) fails while forward requires it; forward should take only x."
            ).format(parameters=tuple(parameters), unused=", ".join(parameters[1:])),
            hint,
        )
    modules = list(model.modules())
    for module in modules:
        if isinstance(module, (nn.Sigmoid, nn.Softmax)):
            fail(
                _(
                    "the network still ends in {layer}: nn.CrossEntropyLoss applies "
                    "log-softmax itself and wants raw scores (logits), N x 2. A Sigmoid on two "
                    "outputs also treats the two classes as independent yes/no questions. Remove "
                    "it (or, for nn.BCEWithLogitsLoss, output one logit)."
                ).format(layer=type(module).__name__),
                hint,
            )
    convs = [m for m in modules if isinstance(m, nn.Conv2d)]
    if len(convs) != 2 or any(
        (c.in_channels, c.out_channels, c.kernel_size, c.padding) != (1, 1, (3, 3), (0, 0))
        for c in convs
    ):
        fail(
            _(
                "keep the original's two Conv2d(1, 1, 3) layers without padding (found {convs}); "
                "the exercise fixes bugs, it does not redesign the network."
            ).format(convs=convs),
            hint,
        )
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    if not linears or linears[0].in_features != 21:
        fail(
            _(
                "keep the first Linear layer as Linear(21, 1024): the two convolutions leave "
                "1 x 1 x 21 = 21 values per 1 x 5 x 25 sample."
            ),
            hint,
        )
    was_training = model.training
    model.eval()  # Dropout off: the same answer every call
    try:
        for n in (4, 1):
            x = torch.rand(n, 1, 5, 25)
            try:
                out = model(x)
            except NameError as error:
                if "'F'" in str(error):
                    fail(
                        _(
                            "forward uses F, which is never imported (the original only imports "
                            "torch and torch.nn): add import torch.nn.functional as F, or use "
                            "nn.ReLU layers."
                        ),
                        hint,
                    )
                fail(_("forward fails: NameError: {error}").format(error=error), hint)
            except (RuntimeError, TypeError) as error:
                fail(
                    _("the network fails on a batch of shape {shape}: {kind}: {error}").format(
                        shape=tuple(x.shape),
                        kind=type(error).__name__,
                        error=str(error).splitlines()[0],
                    ),
                    hint,
                )
            out = expect_tensor(out, _("the network's output"), hint)
            if out.ndim == 3 and out.shape[1] == 1:
                fail(
                    _(
                        "for a batch of {n} the output has shape {shape}: the reshape to "
                        "(N, 1, 21) left a dimension of size 1, and Linear works on the last "
                        "dimension only, so it stays to the end; nn.CrossEntropyLoss would read it "
                        "as the class dimension (1 class). Flatten each sample to 21 values: "
                        "nn.Flatten() or out.flatten(1)."
                    ).format(n=n, shape=tuple(out.shape)),
                    hint,
                )
            if tuple(out.shape) not in ((n, 2), (n, 1)):
                fail(
                    _(
                        "for a batch of {n} the output has shape {shape}; expected "
                        "({n}, 2): two logits per sample."
                    ).format(n=n, shape=tuple(out.shape)),
                    hint,
                )
            squash = _head_problem(out)
            if squash:
                fail(
                    _(
                        "forward applies {squash} to the output: nn.CrossEntropyLoss applies "
                        "log-softmax itself and wants raw scores (logits). Return fc3's output."
                    ).format(squash=squash),
                    hint,
                )
    finally:
        model.train(was_training)
    passed(_("Exercise 5 (MyConvNet fixed: N x 1 x 5 x 25 in, one row of logits per sample out)"))
