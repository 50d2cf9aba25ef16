"""Exercise checks for notebooks/00_setup_and_tensors.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
