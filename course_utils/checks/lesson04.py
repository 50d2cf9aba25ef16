"""Exercise checks for notebooks/04_optimizers.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
