"""Exercise checks for notebooks/01_datasets_and_dataloader.ipynb."""

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401
