"""Checks for the lessons' exercises: one module per lesson, sharing the helpers in `base`.

A check raises `ExerciseError` with what is wrong and a hint, or prints a short success line.
Use them as ``cu.checks.lesson00.exercise_1(answer)``.
"""

from course_utils.checks import (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
)
from course_utils.checks.base import (
    ExerciseError,
    expect_close,
    expect_number,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)

__all__ = [
    "ExerciseError",
    "expect_close",
    "expect_number",
    "expect_shape",
    "expect_tensor",
    "fail",
    "passed",
    "lesson00",
    "lesson01",
    "lesson02",
    "lesson03",
    "lesson04",
    "lesson05",
    "lesson06",
    "lesson07",
    "lesson08",
]
