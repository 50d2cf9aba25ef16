"""Exercise checks for notebooks/04_optimizers.ipynb."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_utils.checks.base import (
    fail,
    passed,
)
from course_utils.i18n import N_, _


def _toy_problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small seeded linear classifier and one batch, the same every call."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(3, 4, generator=generator))
        model.bias.copy_(torch.randn(3, generator=generator))
    inputs = torch.randn(8, 4, generator=generator)
    targets = torch.randint(0, 3, (8,), generator=generator)
    return model, inputs, targets


def exercise_1(train_step: Callable) -> None:
    """Exercise 1 of lesson 04: a train_step(model, optimizer, loss_fn, inputs, targets) -> float."""
    hint = _(
        "a step clears the old gradients, computes the outputs and the loss, back-propagates, "
        "then updates the weights, in that order (section 3 lists the five calls); "
        "return the loss as a Python number."
    )
    if not callable(train_step):
        fail(
            _("train_step should be a function, not a {kind}.").format(
                kind=type(train_step).__name__
            ),
            hint,
        )
    model, inputs, targets = _toy_problem()
    reference = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    before = [p.detach().clone() for p in model.parameters()]
    for step in (1, 2, 3):
        result = train_step(model, optimizer, loss_fn, inputs, targets)
        ref_optimizer.zero_grad()
        ref_loss = loss_fn(reference(inputs), targets)
        ref_loss.backward()
        ref_optimizer.step()
        if isinstance(result, torch.Tensor):
            fail(
                _("train_step returned a tensor; return a plain number."),
                _("return loss.item(): a tensor would keep the whole graph of the step alive."),
            )
        if not isinstance(result, (int, float)):
            fail(
                _("train_step returned {kind}, expected the loss as a float.").format(
                    kind=type(result).__name__
                ),
                hint,
            )
        if step == 1 and all(
            torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)
        ):
            fail(
                _("the parameters did not change after one train_step."),
                _(
                    "call loss.backward() before optimizer.step(), and do not clear the gradients "
                    "between them (zero_grad comes first). {hint}"
                ).format(hint=hint),
            )
        if not math.isclose(result, ref_loss.item(), rel_tol=1e-5, abs_tol=1e-6):
            fail(
                _("at step {step} train_step returned {got:.5f}, expected {expected:.5f}.").format(
                    step=step, got=result, expected=ref_loss.item()
                ),
                _("return the loss computed in this step, before the update: loss.item()."),
            )
        same = all(
            torch.allclose(a, b, atol=1e-6)
            for a, b in zip(model.parameters(), reference.parameters(), strict=True)
        )
        if not same:
            detail = (
                _(
                    "the gradients of earlier steps were added to this step's: call "
                    "optimizer.zero_grad() at the start of every step."
                )
                if step > 1
                else hint
            )
            fail(
                _("after step {step} the parameters differ from a correct training step.").format(
                    step=step
                ),
                detail,
            )
    passed(_("Exercise 1 (the training step)"))


def exercise_2(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Exercise 2 of lesson 04: SGD with lr 0.05, momentum 0.9 and weight decay 1e-4 for `model`."""
    hint = _(
        "torch.optim.SGD takes this model's parameters first, then the settings by name: "
        "lr=..., momentum=..., weight_decay=... (1e-4 is 0.0001)."
    )
    if not isinstance(optimizer, torch.optim.SGD):
        fail(
            _("optimizer is a {kind}, expected torch.optim.SGD.").format(
                kind=type(optimizer).__name__
            ),
            hint,
        )
    group = optimizer.param_groups[0]
    wanted = {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}
    for key, value in wanted.items():
        if not math.isclose(float(group[key]), value, rel_tol=1e-9):
            fail(
                _("the optimizer's {key} is {got}, expected {expected}.").format(
                    key=key, got=group[key], expected=value
                ),
                hint,
            )
    given = {id(p) for g in optimizer.param_groups for p in g["params"]}
    missing = [name for name, p in model.named_parameters() if id(p) not in given]
    if missing:
        fail(
            _("the optimizer does not update these parameters of the model: {missing}.").format(
                missing=missing
            ),
            _("pass model.parameters() of this very model (not of another instance)."),
        )
    passed(_("Exercise 2 (SGD with momentum and weight decay)"))


def expected_warmup_lrs(
    epochs: int = 10, lr: float = 0.1, warmup: int = 4, step_size: int = 3, gamma: float = 0.1
) -> list[float]:
    """The rate of each epoch for exercise 3 of lesson 04: a linear warm-up over `warmup` epochs
    (lr/warmup, 2*lr/warmup, ..., lr), then StepLR-style division by 10 every `step_size` epochs."""
    return [
        lr * (epoch + 1) / warmup
        if epoch < warmup
        else lr * gamma ** ((epoch - warmup) // step_size)
        for epoch in range(epochs)
    ]


def _all_close(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12) for x, y in zip(a, b, strict=True))


def exercise_3(lrs: Sequence[float]) -> None:
    """Exercise 3 of lesson 04: the rate of each of 10 epochs under a warm-up then a step decay."""
    hint = _(
        "LambdaLR multiplies the optimizer's lr by what your function returns for the epoch "
        "number, counted from 0; record optimizer.param_groups[0]['lr'] before scheduler.step()."
    )
    if isinstance(lrs, torch.Tensor):
        lrs = lrs.tolist()
    try:
        values = [float(v) for v in lrs]
    except (TypeError, ValueError):
        fail(
            _("lrs should be a list of 10 numbers, not {kind}.").format(kind=type(lrs).__name__),
            hint,
        )
    expected = expected_warmup_lrs()
    if len(values) != len(expected):
        fail(
            _("lrs has {count} values, expected one per epoch ({expected}).").format(
                count=len(values), expected=len(expected)
            ),
            hint,
        )
    if not _all_close(values, expected):
        if _all_close(values, expected_warmup_lrs(epochs=11)[1:]):
            fail(_("lrs is one epoch ahead: each value was read after scheduler.step()."), hint)
        if values[0] == 0.0:
            fail(
                _("the first epoch's rate is 0, so the first epoch learns nothing."),
                _(
                    "epochs are counted from 0: the warm-up factor of epoch e is (e + 1) / 4, "
                    "which reaches 1 at epoch 3."
                ),
            )
        wrong = next(i for i, (v, e) in enumerate(zip(values, expected, strict=True))
                     if not math.isclose(v, e, rel_tol=1e-6))  # fmt: skip
        if wrong < 4:
            message = _(
                "epoch {epoch} uses {got:.4g}, expected {expected:.4g}: look at the warm-up "
                "(epochs 0-3). Expected {all}."
            )
        else:
            message = _(
                "epoch {epoch} uses {got:.4g}, expected {expected:.4g}: look at the decay "
                "(from epoch 4). Expected {all}."
            )
        fail(
            message.format(
                epoch=wrong,
                got=values[wrong],
                expected=expected[wrong],
                all=[f"{v:.3g}" for v in expected],
            ),
            hint,
        )
    passed(_("Exercise 3 (a warm-up, then a step decay)"))


def exercise_4(best_lr: float, features: torch.Tensor, labels: torch.Tensor, steps: int) -> None:
    """Exercise 4 of lesson 04: the best of four SGD learning rates on the lesson's problem."""
    from course_utils.lr_sweep import lr_loss_curve

    candidates = (0.001, 0.01, 0.1, 1.0)
    hint = _(
        "run cu.lr_sweep.lr_loss_curve(x_train, y_train, lr, 'SGD', steps) for each candidate and "
        "keep the lr whose mean loss over the last 50 steps is lowest."
    )
    if not isinstance(best_lr, (int, float)) or float(best_lr) not in candidates:
        fail(
            _("best_lr is {answer!r}; it should be one of {candidates}.").format(
                answer=best_lr, candidates=candidates
            ),
            hint,
        )
    scores = {}
    for lr in candidates:
        losses = lr_loss_curve(features, labels, lr, "SGD", steps)
        tail = losses[-50:]
        scores[lr] = math.inf if not all(map(math.isfinite, tail)) else sum(tail) / len(tail)
    best = min(scores, key=scores.get)
    if float(best_lr) != best:
        table = ", ".join(f"lr={lr}: {score:.3f}" for lr, score in scores.items())
        fail(
            _(
                "best_lr is {answer}, but lr={best} ends lower (mean of the last 50 losses: "
                "{table})."
            ).format(answer=best_lr, best=best, table=table),
            hint,
        )
    passed(_("Exercise 4 (the best learning rate is {best})").format(best=best))


def reference_should_stop(
    val_losses: Sequence[float], patience: int, min_delta: float = 0.0
) -> bool:
    """Exercise 5 of lesson 04: stop once `patience` epochs in a row have not improved on the best
    loss so far by more than `min_delta` (an epoch improves if loss < best - min_delta)."""
    best, best_epoch = math.inf, -1
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
    return best_epoch >= 0 and len(val_losses) - 1 - best_epoch >= patience


# (validation losses, patience, min_delta): the cases exercise 5 is checked on, each with why it matters
STOPPING_CASES: list[tuple[list[float], int, float, str]] = [
    ([], 2, 0.0, N_("no epoch yet")),
    ([0.9], 1, 0.0, N_("one epoch: it is the best so far")),
    ([0.9, 0.7, 0.6, 0.5], 2, 0.0, N_("the loss still falls every epoch")),
    ([0.9, 0.7, 0.72, 0.75], 2, 0.0, N_("two epochs worse than the best, patience 2")),
    ([0.9, 0.7, 0.72, 0.75], 3, 0.0, N_("two epochs worse than the best, patience 3")),
    ([0.9, 0.7, 0.7, 0.7], 2, 0.0, N_("an equal loss is not an improvement")),
    ([0.9, 0.5, 0.8, 0.7, 0.6], 3, 0.0,
     N_("each epoch beats the one before, but none beats the best (0.5)")),
    ([0.9, 0.5, 0.8, 0.7, 0.45], 3, 0.0, N_("the last epoch is a new best")),
    ([1.0, 0.8, 0.79, 0.785], 2, 0.05, N_("improvements smaller than min_delta do not count")),
    ([1.0, 0.8, 0.74, 0.78], 2, 0.05, N_("0.74 beats 0.8 by more than min_delta")),
]  # fmt: skip


def exercise_5(should_stop: Callable) -> None:
    """Exercise 5 of lesson 04: the early-stopping rule should_stop(val_losses, patience, min_delta)."""
    hint = _(
        "walk through the losses keeping the best one so far and the epoch it came from; an epoch "
        "counts as better only if its loss is below best - min_delta. Stop when the epochs since "
        "that best one number at least `patience`."
    )
    if not callable(should_stop):
        fail(
            _("should_stop should be a function, not a {kind}.").format(
                kind=type(should_stop).__name__
            ),
            hint,
        )
    for losses, patience, min_delta, why in STOPPING_CASES:
        expected = reference_should_stop(losses, patience, min_delta)
        try:
            answer = should_stop(list(losses), patience, min_delta)
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            fail(
                _(
                    "should_stop({losses}, patience={patience}, min_delta={min_delta}) raised "
                    "{kind}: {error}."
                ).format(
                    losses=losses,
                    patience=patience,
                    min_delta=min_delta,
                    kind=type(error).__name__,
                    error=error,
                ),
                _("an empty list (no epoch yet) and a single epoch must work too. {hint}").format(
                    hint=hint
                ),
            )
        if isinstance(answer, torch.Tensor) and answer.numel() == 1:
            answer = answer.item()
        if answer not in (True, False):  # True, False, 1, 0 and numpy booleans pass
            fail(
                _("should_stop returned {answer!r}; return True or False.").format(answer=answer),
                hint,
            )
        if bool(answer) != expected:
            fail(
                _(
                    "should_stop({losses}, patience={patience}, min_delta={min_delta}) returned "
                    "{answer}, expected {expected}: {why}."
                ).format(
                    losses=losses,
                    patience=patience,
                    min_delta=min_delta,
                    answer=bool(answer),
                    expected=expected,
                    why=_(why),
                ),
                hint,
            )
    passed(_("Exercise 5 (the early-stopping rule)"))
