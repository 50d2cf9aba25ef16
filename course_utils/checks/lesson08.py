"""Exercise checks for notebooks/08_distributed_training.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
