"""Exercise checks for notebooks/03_losses_and_autograd.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
