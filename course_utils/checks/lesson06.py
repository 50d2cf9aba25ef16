"""Exercise checks for notebooks/06_cifar10.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
