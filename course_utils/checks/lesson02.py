"""Exercise checks for notebooks/02_layers.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
