"""Helpers that every lesson's checks share: an error that explains itself, and common tests."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.i18n import _


class ExerciseError(AssertionError):
    """An exercise answer is not right yet; the message says what is wrong and gives a hint."""


def fail(what: str, hint: str) -> None:
    """Raise an ExerciseError that says what is wrong and how to fix it (the hint is translated
    here, so a hint kept in a module-level `N_("...")` constant is shown in the student's language)."""
    raise ExerciseError(_("{what}\nHint: {hint}").format(what=what, hint=_(hint)))


def passed(name: str) -> None:
    """Tell the student an exercise is done."""
    print(_("\u2714 {name}: correct").format(name=name))


def expect_tensor(value: object, name: str, hint: str) -> torch.Tensor:
    """Fail unless `value` is a tensor; return it."""
    if not isinstance(value, torch.Tensor):
        fail(
            _("{name} should be a torch.Tensor, but it is a {kind}.").format(
                name=name, kind=type(value).__name__
            ),
            hint,
        )
    return value  # type: ignore[return-value]


def expect_number(value: object, name: str, hint: str) -> float:
    """Fail unless `value` is a number or a one-element tensor; return it as a Python float."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(
                _("{name} has shape {shape}; expected a single number.").format(
                    name=name, shape=tuple(value.shape)
                ),
                hint,
            )
        return float(value.detach().item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    fail(
        _("{name} should be a number or a one-element tensor, not a {kind}.").format(
            name=name, kind=type(value).__name__
        ),
        hint,
    )
    raise AssertionError  # unreachable: fail() raises


def expect_shape(tensor: torch.Tensor, shape: Sequence[int], name: str, hint: str) -> None:
    """Fail unless `tensor` has exactly `shape`."""
    if tuple(tensor.shape) != tuple(shape):
        fail(
            _("{name} has shape {shape}, expected {expected}.").format(
                name=name, shape=tuple(tensor.shape), expected=tuple(shape)
            ),
            hint,
        )


def expect_close(
    actual: torch.Tensor | float,
    expected: torch.Tensor | float,
    name: str,
    hint: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Fail unless `actual` matches `expected` within tolerance (shapes must agree for tensors)."""
    actual_t = torch.as_tensor(actual, dtype=torch.float64)
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    if actual_t.shape != expected_t.shape:
        fail(
            _("{name} has shape {shape}, expected {expected}.").format(
                name=name, shape=tuple(actual_t.shape), expected=tuple(expected_t.shape)
            ),
            hint,
        )
    if not torch.allclose(actual_t, expected_t, atol=atol, rtol=rtol):
        worst = (actual_t - expected_t).abs().max().item()
        fail(
            _("{name} is not the expected value (largest difference {worst:.4g}).").format(
                name=name, worst=worst
            ),
            hint,
        )


def expect_per_class_accuracy(
    answer: object, matrix: torch.Tensor, name: str, hint: str
) -> torch.Tensor:
    """Fail unless `answer` is each true class's accuracy from a confusion matrix (rows: true
    class), naming the usual slips; return the expected values. Lessons 05 and 06."""
    answer = expect_tensor(answer, name, hint)
    expect_shape(answer, (matrix.shape[0],), name, hint)
    if not answer.is_floating_point():
        fail(
            _(
                "{name} has dtype {dtype}: integer division rounds every accuracy down to 0 or 1."
            ).format(name=name, dtype=answer.dtype),
            hint,
        )
    expected = matrix.diagonal().double() / matrix.sum(1).double()
    precision = matrix.diagonal().double() / matrix.sum(0).double()
    got = answer.detach().double().cpu()
    if not torch.allclose(got, expected, atol=1e-4, equal_nan=True):
        if torch.allclose(got, precision, atol=1e-4, equal_nan=True):
            fail(
                _(
                    "you divided by the column totals (how often each class was predicted): that "
                    "is each class's precision, not its accuracy."
                ),
                hint,
            )
        if torch.allclose(got, 100 * expected, atol=1e-2, equal_nan=True):
            fail(
                _("{name} is in percent; give fractions between 0 and 1, not percentages.").format(
                    name=name
                ),
                hint,
            )
        worst = (got - expected).abs().nan_to_num(0).max().item()
        fail(
            _("{name} is not the accuracy per true class (largest difference {worst:.3g}).").format(
                name=name, worst=worst
            ),
            hint,
        )
    return expected
