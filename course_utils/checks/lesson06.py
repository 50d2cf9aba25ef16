"""Exercise checks for notebooks/06_cifar10.ipynb."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks.base import (
    expect_shape,
    expect_tensor,
    fail,
    passed,
)
from course_utils.i18n import _
from course_utils.models import TuduiNet, count_parameters


def _tudui_forward(
    net: TuduiNet, x: torch.Tensor, relu_convs: bool, relu_linear: bool
) -> torch.Tensor:
    """The Tudui net's forward pass with ReLU after the convolutions and/or after linear1."""
    act = F.relu if relu_convs else (lambda t: t)
    x = net.maxpool1(act(net.conv1(x)))  # 32 x 16 x 16
    x = net.maxpool2(act(net.conv2(x)))  # 32 x 8 x 8
    x = net.maxpool3(act(net.conv3(x)))  # 64 x 4 x 4
    x = net.linear1(net.flatten(x))  # 64
    if relu_linear:
        x = F.relu(x)
    return net.linear2(x)  # 10


def exercise_1(model: nn.Module) -> None:
    """Exercise 1 of lesson 06: the Tudui net with a ReLU after each convolution and after linear1."""
    hint = _(
        "subclass cu.TuduiNet and write forward again, with F.relu(...) (or nn.ReLU) around "
        "conv1, conv2, conv3 and linear1; keep the layers (and their names) as they are."
    )
    if not isinstance(model, nn.Module):
        fail(
            _("model should be an nn.Module, but it is a {kind}.").format(
                kind=type(model).__name__
            ),
            hint,
        )
    with torch.random.fork_rng():  # leave the notebook's random state as it was
        torch.manual_seed(6)
        reference = TuduiNet()
    if count_parameters(model) != count_parameters(reference):
        fail(
            _(
                "model has {count:,} parameters; the Tudui net has {expected:,}, and ReLU adds "
                "none. Did you add or change a layer?"
            ).format(count=count_parameters(model), expected=count_parameters(reference)),
            hint,
        )
    model = copy.deepcopy(model)  # the student's model keeps its own weights
    try:
        model.load_state_dict(reference.state_dict())
    except RuntimeError as error:
        fail(
            _(
                "the Tudui net's weights do not load into model (the layer names differ): {error}"
            ).format(error=error),
            hint,
        )
    model.eval()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        try:
            out = model(x)
        except Exception as error:  # the student's forward failed: say where
            fail(
                _("model(x) failed for x of shape (4, 3, 32, 32): {kind}: {error}").format(
                    kind=type(error).__name__, error=error
                ),
                hint,
            )
        expect_shape(expect_tensor(out, "model(x)", hint), (4, 10), "model(x)", hint)
        variants = {
            (True, True): None,
            (False, False): _("model is still linear: there is no ReLU at all."),
            (False, True): _("there is a ReLU after linear1 but none after the convolutions."),
            (True, False): _("there is a ReLU after each convolution but none after linear1."),
        }
        for (convs, linear), problem in variants.items():
            expected = _tudui_forward(reference, x, convs, linear)
            if torch.allclose(out, expected, atol=1e-5):
                if problem is None:
                    passed(_("Exercise 1 (the Tudui net with ReLU)"))
                    return
                fail(problem, hint)
    fail(
        _("model's output is not the Tudui net with a ReLU after conv1, conv2, conv3 and linear1."),
        hint,
    )


def exercise_2(loss_fn: nn.Module, labels: torch.Tensor, device: torch.device | str) -> None:
    """Exercise 2 of lesson 06: a cross-entropy loss whose class weights balance `labels`, on `device`."""
    hint = _(
        "count the images of each class (torch.bincount, minlength=10); a class seen half as "
        "often should weigh twice as much; give the float weights to nn.CrossEntropyLoss(weight=...) "
        "and make sure they end up on the device the model's outputs are on."
    )
    if not isinstance(loss_fn, nn.CrossEntropyLoss):
        fail(
            _("loss_fn should be an nn.CrossEntropyLoss, but it is a {kind}.").format(
                kind=type(loss_fn).__name__
            ),
            hint,
        )
    weight = loss_fn.weight
    if weight is None:
        fail(_("loss_fn has no class weights: every class counts the same."), hint)
    expect_shape(weight, (10,), "loss_fn.weight", hint)
    if not weight.is_floating_point():
        fail(
            _("loss_fn.weight has dtype {dtype}; cross-entropy needs float weights.").format(
                dtype=weight.dtype
            ),
            hint,
        )
    device = torch.device(device)
    if weight.device.type != device.type:
        fail(
            _(
                "loss_fn.weight is on {weight_device}, but the outputs will be on {device}: the "
                "loss would stop with 'Expected all tensors to be on the same device'. Move the "
                "loss (or the weights) with .to(device)."
            ).format(weight_device=weight.device, device=device),
            hint,
        )
    counts = torch.bincount(labels.cpu(), minlength=10).double()
    got = weight.detach().double().cpu()
    if bool((got <= 0).any()):
        fail(_("every class weight should be positive."), hint)
    # With reduction="mean" the loss divides by the summed weights, so only their ratios matter.
    share = got / got.sum()
    expected = (1 / counts) / (1 / counts).sum()
    if torch.allclose(share, counts / counts.sum(), rtol=1e-3):
        fail(
            _(
                "the weights grow with the class counts, so the common classes weigh MORE: use "
                "the inverse of each count."
            ),
            hint,
        )
    if torch.allclose(share, torch.full_like(share, 0.1), rtol=1e-3):
        fail(_("all ten weights are equal: that is the plain loss, with no balancing."), hint)
    if not torch.allclose(share, expected, rtol=1e-3):
        worst = int((share / expected - 1).abs().argmax())
        fail(
            _(
                "the weights are not proportional to 1 / (images of the class); class {worst} "
                "is furthest off."
            ).format(worst=worst),
            hint,
        )
    ratio = (got.max() / got.min()).item()
    passed(
        _(
            "Exercise 2 (class weights on {device}; the rarest class weighs {ratio:.1f}x the "
            "commonest)"
        ).format(device=device.type, ratio=ratio)
    )


def _asymmetric_batch(n: int) -> torch.Tensor:
    """n distinct images whose left-right and up-down mirrors differ from the originals."""
    g = torch.Generator().manual_seed(60)
    return torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)


def exercise_3(random_hflip: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 3 of lesson 06: mirror each image of a batch left-right with probability 1/2."""
    hint = _(
        "one random draw per image decides whether that image is mirrored; a left-right mirror "
        "reverses the width, the last dimension; choose per image between the batch and its "
        "mirror with a mask shaped to broadcast over C, H and W."
    )
    if not callable(random_hflip):
        fail(
            _("random_hflip should be a function, but it is a {kind}.").format(
                kind=type(random_hflip).__name__
            ),
            hint,
        )
    images = _asymmetric_batch(1000)
    with torch.random.fork_rng():  # leave the notebook's random state as it was
        torch.manual_seed(0)
        out = expect_tensor(random_hflip(images.clone()), "random_hflip(images)", hint)
        again = random_hflip(images.clone())
    expect_shape(out, images.shape, "random_hflip(images)", hint)
    if out.dtype != images.dtype:
        fail(
            _("random_hflip changed the dtype from {before} to {after}.").format(
                before=images.dtype, after=out.dtype
            ),
            hint,
        )
    same = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(3)).flatten(1).all(1)
    upside_down = (out == images.flip(2)).flatten(1).all(1)
    if bool((upside_down & ~same & ~mirrored).any()):
        fail(
            _("some images were turned upside down (flipped along the height, dimension 2)."), hint
        )
    if not bool((same | mirrored).all()):
        bad = int((~(same | mirrored)).sum())
        fail(
            _("{bad} of 1000 images are neither the original nor its left-right mirror.").format(
                bad=bad
            ),
            hint,
        )
    share = mirrored.float().mean().item()
    if share == 0.0:
        fail(_("none of the images was mirrored; each should be, with probability 1/2."), hint)
    if share == 1.0:
        fail(_("every one of the images was mirrored; each should be, with probability 1/2."), hint)
    if not 0.4 <= share <= 0.6:
        fail(
            _("{percent:.0f}% of the images were mirrored; expected about 50%.").format(
                percent=100 * share
            ),
            hint,
        )
    if torch.equal(again, out):
        fail(
            _("two calls mirrored exactly the same images: draw new random numbers on every call."),
            hint,
        )
    passed(
        _("Exercise 3 (random horizontal flip; {percent:.0f}% of 1000 images mirrored)").format(
            percent=100 * share
        )
    )


def _main_effect(factorial: dict, index: int) -> float:
    """Mean accuracy with a change minus without it, over the other factor's levels and all seeds."""
    with_change = [a for key, runs in factorial.items() if key[index] for a in runs]
    without = [a for key, runs in factorial.items() if not key[index] for a in runs]
    return sum(with_change) / len(with_change) - sum(without) / len(without)


def exercise_4(relu_effect: float, normalize_effect: float, factorial: dict) -> None:
    """Exercise 4 of lesson 06: the main effects of ReLU and of normalisation in a 2 x 2 study.

    `factorial` maps (relu, normalize) to the test accuracies (fractions) of the seeds.
    """
    hint = _(
        "average ALL the runs with the change (both settings of the other factor, every seed) and "
        "all the runs without it; the effect is the difference, as a fraction like the accuracies."
    )
    if set(factorial) != {(False, False), (False, True), (True, False), (True, True)}:
        fail(_("factorial should have the keys (relu, normalize) for all four combinations."), hint)
    for name, value in (("relu_effect", relu_effect), ("normalize_effect", normalize_effect)):
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                fail(
                    _("{name} should be one number, but it has shape {shape}.").format(
                        name=name, shape=tuple(value.shape)
                    ),
                    hint,
                )
        elif not isinstance(value, (int, float)):
            fail(
                _("{name} should be a number, but it is a {kind}.").format(
                    name=name, kind=type(value).__name__
                ),
                hint,
            )
    relu, normalize = float(relu_effect), float(normalize_effect)
    expected_relu, expected_norm = _main_effect(factorial, 0), _main_effect(factorial, 1)

    def mean(key: tuple[bool, bool]) -> float:
        return sum(factorial[key]) / len(factorial[key])

    def close(a: float, b: float) -> bool:
        return abs(a - b) < 1e-6

    for name, got, expected, other in (
        ("relu_effect", relu, expected_relu, expected_norm),
        ("normalize_effect", normalize, expected_norm, expected_relu),
    ):
        if close(got, expected):
            continue
        if close(got, 100 * expected):
            fail(
                _(
                    "{name} is in percentage points; give it as a fraction, like the accuracies."
                ).format(name=name),
                hint,
            )
        if close(got, other):
            fail(_("relu_effect and normalize_effect are swapped."), hint)
        if close(got, -expected):
            fail(
                _(
                    "{name} has the wrong sign: subtract the runs WITHOUT the change from those "
                    "with it."
                ).format(name=name),
                hint,
            )
        index = 0 if name == "relu_effect" else 1
        for level in (False, True):  # the effect at one level of the other factor only
            with_key = (True, level) if index == 0 else (level, True)
            without_key = (False, level) if index == 0 else (level, False)
            if close(got, mean(with_key) - mean(without_key)):
                other_name = "normalize" if index == 0 else "relu"
                fail(
                    _(
                        "{name} is the effect with {other}={level} only (what a cumulative study "
                        "measures); average over both settings of {other}."
                    ).format(name=name, other=other_name, level=level),
                    hint,
                )
        fail(
            _("{name} = {got:.4f} is not the expected main effect.").format(name=name, got=got),
            hint,
        )
    passed(
        _(
            "Exercise 4 (main effects: ReLU {relu:+.1f} points, normalisation {normalize:+.1f} "
            "points)"
        ).format(relu=100 * relu, normalize=100 * normalize)
    )
