"""Exercise checks for notebooks/03_losses_and_autograd.ipynb."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F

from course_utils.checks.base import (
    expect_close,
    expect_number,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)
from course_utils.i18n import N_, _


class _LibraryCalled(Exception):
    """Raised by a library loss that an exercise must not call."""


@contextlib.contextmanager
def _forbid(names: Sequence[str]) -> Iterator[None]:
    """Within the block, each `module.attribute` in `names` raises _LibraryCalled when called."""
    owners = {"F": F, "torch": torch, "torch.Tensor": torch.Tensor, "torch.special": torch.special}
    saved = []
    try:
        for name in names:
            owner_name, attribute = name.rsplit(".", 1)
            owner = owners[owner_name]
            saved.append((owner, attribute, getattr(owner, attribute)))

            def refuse(*args: object, _name: str = name, **kwargs: object) -> None:
                raise _LibraryCalled(_name)

            setattr(owner, attribute, refuse)
        yield
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)


_FORBIDDEN = (
    "F.cross_entropy",  # nn.CrossEntropyLoss calls it too
    "F.nll_loss",  # and nn.NLLLoss
    "F.log_softmax",
    "torch.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.special.log_softmax",
)


def _cross_entropy_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Batches the check tries: the lesson's example, random ones, and huge logits."""
    g = torch.Generator().manual_seed(3)
    return [
        (
            N_("the example [[0.1, 0.2, 0.3]], class 1"),
            torch.tensor([[0.1, 0.2, 0.3]]),
            torch.tensor([1]),
        ),
        (
            N_("a random batch of 6 x 4"),
            torch.randn(6, 4, generator=g),
            torch.randint(0, 4, (6,), generator=g),
        ),
        (
            N_("a random batch of 32 x 10"),
            3 * torch.randn(32, 10, generator=g),
            torch.randint(0, 10, (32,), generator=g),
        ),
        (
            N_("logits around 1000"),
            1000 + 50 * torch.randn(5, 3, generator=g),
            torch.tensor([0, 1, 2, 1, 0]),
        ),
    ]


def exercise_1(my_cross_entropy: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1 of lesson 03: mean cross-entropy from torch.logsumexp, without the library loss."""
    hint = _(
        "per sample the loss is torch.logsumexp(logits, dim=1) minus the logit of the correct class "
        "(logits[torch.arange(N), targets] or logits.gather(1, targets.unsqueeze(1))); then .mean()."
    )
    if not callable(my_cross_entropy):
        fail(
            _("my_cross_entropy should be a function, not a {kind}.").format(
                kind=type(my_cross_entropy).__name__
            ),
            hint,
        )
    for case, logits, targets in _cross_entropy_cases():
        what = _(case)
        expected = F.cross_entropy(logits, targets).item()
        try:
            with _forbid(_FORBIDDEN):
                result = my_cross_entropy(logits.clone(), targets.clone())
        except _LibraryCalled as called:
            fail(
                _(
                    "my_cross_entropy calls {function}: the exercise is to compute the loss yourself."
                ).format(function=called.args[0]),
                _(
                    "use torch.logsumexp for the log of the sum of exponentials; no log_softmax, "
                    "F.cross_entropy, nn.CrossEntropyLoss or NLLLoss."
                ),
            )
        n = len(targets)
        if isinstance(result, torch.Tensor) and result.numel() == n and n > 1:
            fail(
                _(
                    "on {case}, my_cross_entropy returns {count} numbers, one loss per sample."
                ).format(case=what, count=n),
                _("average them with .mean(), as F.cross_entropy does by default."),
            )
        value = expect_number(result, "my_cross_entropy(logits, targets)", hint)
        if not math.isfinite(value):
            fail(
                _(
                    "on {case}, my_cross_entropy gives {value}: torch.exp overflowed "
                    "(e**1000 is too large for float32)."
                ).format(case=what, value=value),
                _(
                    "torch.logsumexp(logits, dim=1) computes log(sum(exp(logits))) without overflow, "
                    "by subtracting the largest logit first."
                ),
            )
        if n > 1 and math.isclose(value, n * expected, rel_tol=1e-4):
            fail(
                _(
                    "on {case}, my_cross_entropy gives {value:.4f}, the SUM over the batch; "
                    "F.cross_entropy gives the mean, {expected:.4f}."
                ).format(case=what, value=value, expected=expected),
                _("average over the samples with .mean() instead of .sum()."),
            )
        if math.isclose(value, -expected, rel_tol=1e-4, abs_tol=1e-6):
            fail(
                _(
                    "on {case}, my_cross_entropy gives {value:.4f}: the right size but negative."
                ).format(case=what, value=value),
                _("a loss is -log(p), not log(p)."),
            )
        if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-4):
            fail(
                _(
                    "on {case}, my_cross_entropy gives {value:.4f}, but F.cross_entropy gives "
                    "{expected:.4f}."
                ).format(case=what, value=value, expected=expected),
                hint,
            )
    passed(
        _(
            "Exercise 1 (cross-entropy from logsumexp: agrees with F.cross_entropy, "
            "also for huge logits)"
        )
    )


def exercise_2(grad: torch.Tensor | None, x: torch.Tensor) -> None:
    """Exercise 2 of lesson 03: the gradient of sum(x**3 - 2x) from autograd."""
    hint = _(
        "make x with requires_grad=True, compute y = (x**3 - 2*x).sum(), call y.backward(), "
        "read x.grad."
    )
    if grad is None:
        fail(
            _("grad is None: no gradient has been computed yet."),
            _("call backward() on the result first. {hint}").format(hint=hint),
        )
    grad = expect_tensor(grad, "grad", hint)
    expected = 3 * x.detach() ** 2 - 2
    expect_shape(
        grad, expected.shape, "grad", _("x.grad has the same shape as x. {hint}").format(hint=hint)
    )
    for times in (2, 3):
        if torch.allclose(grad, times * expected, atol=1e-5) and not torch.allclose(
            grad, expected, atol=1e-5
        ):
            fail(
                _(
                    "grad is exactly {times} times the right gradient: backward() ran {times} times "
                    "and the gradients were added up."
                ).format(times=times),
                _(
                    "set x.grad = None (or x.grad.zero_()) before calling backward() again, "
                    "or re-run only the cell that creates x."
                ),
            )
    expect_close(
        grad,
        expected,
        "grad",
        _("the derivative of x**3 - 2x is 3x**2 - 2. {hint}").format(hint=hint),
    )
    passed(_("Exercise 2 (a gradient from autograd)"))


def exercise_3(loss: torch.Tensor | float, logits: torch.Tensor, targets: torch.Tensor) -> None:
    """Exercise 3 of lesson 03: binary cross-entropy from logits with BCEWithLogitsLoss."""
    hint = _(
        "nn.BCEWithLogitsLoss()(logits, targets) takes the raw logits: it applies the sigmoid itself."
    )
    value = expect_number(loss, "loss", hint)
    expected = F.binary_cross_entropy_with_logits(logits.float(), targets.float()).item()
    twice = F.binary_cross_entropy_with_logits(
        torch.sigmoid(logits.float()), targets.float()
    ).item()
    if math.isclose(value, twice, rel_tol=1e-4) and not math.isclose(value, expected, rel_tol=1e-4):
        fail(
            _(
                "loss is {value:.4f}: the sigmoid was applied twice (once by you, once by the loss)."
            ).format(value=value),
            _("pass the logits themselves to BCEWithLogitsLoss, without torch.sigmoid."),
        )
    clamped = F.binary_cross_entropy(torch.sigmoid(logits.float()), targets.float()).item()
    if math.isclose(value, clamped, rel_tol=1e-4) and not math.isclose(
        value, expected, rel_tol=1e-4
    ):
        fail(
            _(
                "loss is {value:.4f}: that is BCELoss on torch.sigmoid(logits). For a very negative "
                "logit the sigmoid rounds to 0 and BCELoss clamps log(0) at -100, so the worst "
                "mistake is under-counted (the true mean is {expected:.4f})."
            ).format(value=value, expected=expected),
            hint,
        )
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(
            _("loss is {value:.4f}, expected {expected:.4f}.").format(
                value=value, expected=expected
            ),
            hint,
        )
    passed(_("Exercise 3 (BCEWithLogitsLoss = {value:.4f})").format(value=value))


def exercise_4(kl: torch.Tensor | float, p: torch.Tensor, q_logits: torch.Tensor) -> None:
    """Exercise 4 of lesson 03: KL(p || softmax(q_logits)) with nn.KLDivLoss(reduction="batchmean")."""
    hint = _(
        "nn.KLDivLoss(reduction='batchmean')(F.log_softmax(q_logits, dim=1), p): the first argument "
        "(the model's prediction) must be LOG-probabilities, the second (the target) probabilities."
    )
    value = expect_number(kl, "kl", hint)
    log_q = F.log_softmax(q_logits.float(), dim=1)
    expected = (p * (p.log() - log_q)).sum(1).mean().item()

    def wrong(candidate: float) -> bool:
        return math.isclose(value, candidate, rel_tol=1e-4) and not math.isclose(
            value, expected, rel_tol=1e-4
        )

    if wrong(F.kl_div(q_logits.float(), p, reduction="batchmean").item()):
        fail(
            _(
                "kl is {value:.4f}: the raw logits were passed as the input, but logits are not "
                "log-probabilities (their exponentials do not sum to 1)."
            ).format(value=value),
            _("turn them into log-probabilities first with F.log_softmax(q_logits, dim=1)."),
        )
    if wrong(F.kl_div(log_q.exp(), p, reduction="batchmean").item()):
        fail(
            _(
                "kl is {value:.4f}: the input was probabilities (softmax), but KLDivLoss expects "
                "log-probabilities."
            ).format(value=value),
            hint,
        )
    if wrong(F.kl_div(p.log(), log_q.exp(), reduction="batchmean").item()):
        fail(
            _("kl is {value:.4f}: that is KL(q || p); the arguments are swapped.").format(
                value=value
            ),
            hint,
        )
    if wrong((p * (p.log() - log_q)).mean().item()):  # what reduction="mean" gives
        fail(
            _(
                "kl is {value:.4f}: reduction='mean' divides by the number of elements, "
                "not of samples."
            ).format(value=value),
            _(
                "use reduction='batchmean', which gives the true KL divergence averaged over "
                "the batch."
            ),
        )
    if wrong((p * (p.log() - log_q)).sum().item()):
        fail(
            _(
                "kl is {value:.4f}: the sum over the batch; average over the samples instead."
            ).format(value=value),
            hint,
        )
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail(
            _("kl is {value:.4f}, expected {expected:.4f}.").format(value=value, expected=expected),
            hint,
        )
    passed(_("Exercise 4 (KL divergence = {value:.4f})").format(value=value))
