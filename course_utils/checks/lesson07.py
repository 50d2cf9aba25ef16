"""Exercise checks for notebooks/07_saving_and_loading.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
