"""Exercise checks for notebooks/05_mnist.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
