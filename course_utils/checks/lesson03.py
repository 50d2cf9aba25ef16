"""Exercise checks for notebooks/03_losses_and_autograd.ipynb."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_utils.checks.base import (  # noqa: F401
    ExerciseError,
    expect_close,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)


def _as_number(value: object, name: str, hint: str) -> float:
    """A Python float from a one-element tensor or a number; fails on anything else."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"{name} has shape {tuple(value.shape)}; expected a single number.", hint)
        return float(value.detach().item())
    if isinstance(value, (int, float)):
        return float(value)
    fail(f"{name} should be a number or a one-element tensor, not a {type(value).__name__}.", hint)
    raise AssertionError  # unreachable: fail() raises


def exercise_1(loss_by_hand: torch.Tensor | float, x: torch.Tensor, y: torch.Tensor) -> None:
    """Exercise 1 of lesson 03: cross-entropy computed by hand from the logits."""
    hint = "the loss is -log(softmax(x)[correct class]) = -x[y] + log(sum(exp(x)))."
    value = _as_number(loss_by_hand, "loss_by_hand", hint)
    expected = F.cross_entropy(x.reshape(1, -1).float(), y.reshape(1).long()).item()
    if math.isclose(value, -expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(
            f"loss_by_hand is {value:.4f}: the right size but negative.",
            "a loss is -log(p), not log(p).",
        )
    probability = math.exp(-expected)
    if math.isclose(value, probability, rel_tol=1e-4) or math.isclose(
        value, 1 - probability, rel_tol=1e-4
    ):
        fail(
            f"loss_by_hand is {value:.4f}, which is a probability, not a loss.",
            "take -log of the softmax probability of the correct class.",
        )
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(f"loss_by_hand is {value:.4f}, expected {expected:.4f}.", hint)
    passed(f"Exercise 1 (cross-entropy by hand = {value:.4f})")


def exercise_2(grad: torch.Tensor | None, x: torch.Tensor) -> None:
    """Exercise 2 of lesson 03: the gradient of sum(x**3 - 2x) from autograd."""
    hint = "make x with requires_grad=True, compute y = (x**3 - 2*x).sum(), call y.backward(), read x.grad."
    if grad is None:
        fail(
            "grad is None: no gradient has been computed yet.",
            "call backward() on the result first. " + hint,
        )
    grad = expect_tensor(grad, "grad", hint)
    expected = 3 * x.detach() ** 2 - 2
    expect_shape(grad, expected.shape, "grad", "x.grad has the same shape as x. " + hint)
    for times in (2, 3):
        if torch.allclose(grad, times * expected, atol=1e-5) and not torch.allclose(
            grad, expected, atol=1e-5
        ):
            fail(
                f"grad is exactly {times} times the right gradient: backward() ran {times} times "
                f"and the gradients were added up.",
                "set x.grad = None (or x.grad.zero_()) before calling backward() again, "
                "or re-run only the cell that creates x.",
            )
    expect_close(grad, expected, "grad", "the derivative of x**3 - 2x is 3x**2 - 2. " + hint)
    passed("Exercise 2 (a gradient from autograd)")


def exercise_3(loss: torch.Tensor | float, logits: torch.Tensor, targets: torch.Tensor) -> None:
    """Exercise 3 of lesson 03: binary cross-entropy from logits with BCEWithLogitsLoss."""
    hint = "nn.BCEWithLogitsLoss()(logits, targets) takes the raw logits: it applies the sigmoid itself."
    value = _as_number(loss, "loss", hint)
    expected = F.binary_cross_entropy_with_logits(logits.float(), targets.float()).item()
    twice = F.binary_cross_entropy_with_logits(
        torch.sigmoid(logits.float()), targets.float()
    ).item()
    if math.isclose(value, twice, rel_tol=1e-4) and not math.isclose(value, expected, rel_tol=1e-4):
        fail(
            f"loss is {value:.4f}: the sigmoid was applied twice (once by you, once by the loss).",
            "pass the logits themselves to BCEWithLogitsLoss, without torch.sigmoid.",
        )
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(f"loss is {value:.4f}, expected {expected:.4f}.", hint)
    passed(f"Exercise 3 (BCEWithLogitsLoss = {value:.4f})")


def exercise_4(kl: torch.Tensor | float, p: torch.Tensor, q: torch.Tensor) -> None:
    """Exercise 4 of lesson 03: KL(p || q) with nn.KLDivLoss(reduction="batchmean")."""
    hint = (
        "nn.KLDivLoss(reduction='batchmean')(q.log(), p): the first argument (the model's "
        "prediction q) must be LOG-probabilities, the second (the target p) probabilities."
    )
    value = _as_number(kl, "kl", hint)
    expected = (p * (p.log() - q.log())).sum(1).mean().item()
    with_probs = F.kl_div(q, p, reduction="batchmean").item()
    if math.isclose(value, with_probs, rel_tol=1e-4) and not math.isclose(
        value, expected, rel_tol=1e-4
    ):
        fail(
            f"kl is {value:.4f}: q was passed as probabilities, but KLDivLoss expects log-probabilities.",
            hint,
        )
    swapped = F.kl_div(p.log(), q, reduction="batchmean").item()
    if math.isclose(value, swapped, rel_tol=1e-4) and not math.isclose(
        value, expected, rel_tol=1e-4
    ):
        fail(f"kl is {value:.4f}: that is KL(q || p); the arguments are swapped.", hint)
    mean = (p * (p.log() - q.log())).mean().item()  # what reduction="mean" gives
    if math.isclose(value, mean, rel_tol=1e-4) and not math.isclose(value, expected, rel_tol=1e-4):
        fail(
            f"kl is {value:.4f}: reduction='mean' divides by the number of elements, not of samples.",
            "use reduction='batchmean', which gives the true KL divergence averaged over the batch.",
        )
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(f"kl is {value:.4f}, expected {expected:.4f}.", hint)
    passed(f"Exercise 4 (KL divergence = {value:.4f})")
