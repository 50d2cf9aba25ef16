"""Exercise checks for notebooks/06_cifar10.ipynb."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks.base import (  # noqa: F401
    ExerciseError,
    expect_close,
    expect_per_class_accuracy,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)
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
    hint = (
        "subclass cu.TuduiNet and write forward again, with F.relu(...) (or nn.ReLU) around "
        "conv1, conv2, conv3 and linear1; keep the layers (and their names) as they are."
    )
    if not isinstance(model, nn.Module):
        fail(f"model should be an nn.Module, but it is a {type(model).__name__}.", hint)
    with torch.random.fork_rng():  # leave the notebook's random state as it was
        torch.manual_seed(6)
        reference = TuduiNet()
    if count_parameters(model) != count_parameters(reference):
        fail(
            f"model has {count_parameters(model):,} parameters; the Tudui net has "
            f"{count_parameters(reference):,}, and ReLU adds none. Did you add or change a layer?",
            hint,
        )
    model = copy.deepcopy(model)  # the student's model keeps its own weights
    try:
        model.load_state_dict(reference.state_dict())
    except RuntimeError as error:
        fail(f"the Tudui net's weights do not load into model (the layer names differ): {error}", hint)
    model.eval()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        try:
            out = model(x)
        except Exception as error:  # the student's forward failed: say where
            fail(
                f"model(x) failed for x of shape (4, 3, 32, 32): {type(error).__name__}: {error}",
                hint,
            )
        expect_shape(expect_tensor(out, "model(x)", hint), (4, 10), "model(x)", hint)
        variants = {
            (True, True): None,
            (False, False): "model is still linear: there is no ReLU at all.",
            (False, True): "there is a ReLU after linear1 but none after the convolutions.",
            (True, False): "there is a ReLU after each convolution but none after linear1.",
        }
        for (convs, linear), problem in variants.items():
            expected = _tudui_forward(reference, x, convs, linear)
            if torch.allclose(out, expected, atol=1e-5):
                if problem is None:
                    passed("Exercise 1 (the Tudui net with ReLU)")
                    return
                fail(problem, hint)
    fail(
        "model's output is not the Tudui net with a ReLU after conv1, conv2, conv3 and linear1.",
        hint,
    )


def exercise_2(accuracy_per_class: torch.Tensor, matrix: torch.Tensor) -> None:
    """Exercise 2 of lesson 06: accuracy of each class from a confusion matrix (rows: true class)."""
    hint = (
        "row i of the matrix counts the images whose true class is i; the diagonal holds the "
        "correct ones. Divide matrix.diagonal() by the row sums, matrix.sum(1), as floats."
    )
    expected = expect_per_class_accuracy(accuracy_per_class, matrix, "accuracy_per_class", hint)
    worst_class = int(expected.nan_to_num(2).argmin())
    share = 100 * expected[worst_class]
    passed(f"Exercise 2 (per-class accuracy; hardest class: {worst_class}, {share:.1f}%)")


def _asymmetric_batch(n: int) -> torch.Tensor:
    """n distinct images whose left-right and up-down mirrors differ from the originals."""
    g = torch.Generator().manual_seed(60)
    return torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)


def exercise_3(random_hflip: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 3 of lesson 06: mirror each image of a batch left-right with probability 1/2."""
    hint = (
        "draw one random number per image, flip = torch.rand(len(images)) < 0.5, and use "
        "torch.where(flip[:, None, None, None], images.flip(3), images); dimension 3 is the width."
    )
    if not callable(random_hflip):
        fail(f"random_hflip should be a function, but it is a {type(random_hflip).__name__}.", hint)
    images = _asymmetric_batch(1000)
    with torch.random.fork_rng():  # leave the notebook's random state as it was
        torch.manual_seed(0)
        out = expect_tensor(random_hflip(images.clone()), "random_hflip(images)", hint)
        again = random_hflip(images.clone())
    expect_shape(out, images.shape, "random_hflip(images)", hint)
    if out.dtype != images.dtype:
        fail(f"random_hflip changed the dtype from {images.dtype} to {out.dtype}.", hint)
    same = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(3)).flatten(1).all(1)
    upside_down = (out == images.flip(2)).flatten(1).all(1)
    if bool((upside_down & ~same & ~mirrored).any()):
        fail("some images were turned upside down (flipped along the height, dimension 2).", hint)
    if not bool((same | mirrored).all()):
        bad = int((~(same | mirrored)).sum())
        fail(f"{bad} of 1000 images are neither the original nor its left-right mirror.", hint)
    share = mirrored.float().mean().item()
    if share in (0.0, 1.0):
        which = "none" if share == 0.0 else "every one"
        fail(f"{which} of the images was mirrored; each should be, with probability 1/2.", hint)
    if not 0.4 <= share <= 0.6:
        fail(f"{100 * share:.0f}% of the images were mirrored; expected about 50%.", hint)
    if torch.equal(again, out):
        fail(
            "two calls mirrored exactly the same images: draw new random numbers on every call.",
            hint,
        )
    passed(f"Exercise 3 (random horizontal flip; {100 * share:.0f}% of 1000 images mirrored)")
