"""The committed solution notebooks (notebooks/) and student notebooks (student/) are consistent.

Each test is parametrized over the solution notebooks present, so it passes (with zero cases)
while notebooks/ is empty. Fix a failure with the command its message names; see README.md,
"For instructors".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import notebooks as tool

ROOT = Path(__file__).resolve().parents[1]


PATHS = tool.Paths()
SOLUTIONS = PATHS.solutions()
NAMES = [p.stem for p in SOLUTIONS]
# Student notebooks executed up to their first exercise: by default the first lesson only,
# which keeps this under a minute; COURSE_STUDENT_RUN="00 05" (names or prefixes) picks others.
STUDENT_RUN = os.environ.get("COURSE_STUDENT_RUN", "").split() or NAMES[:1]

solutions = pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)


@solutions
def test_student_version_is_current(path):
    problems = tool.student_problems(path, PATHS)
    assert not problems, "\n".join(problems)


@solutions
def test_executed_after_its_last_edit_in_full_mode(path):
    message = tool.outdated(tool.read(path), path.stem, mode="full")
    assert message is None, message


@solutions
def test_executed_top_to_bottom_without_errors(path):
    problems = tool.execution_problems(tool.read(path), path.stem)
    assert not problems, "\n".join(problems)


@solutions
def test_exercises_have_solution_hint_and_check(path):
    problems = tool.exercise_problems(tool.read(path), path.stem)
    assert not problems, "\n".join(problems)


@solutions
def test_in_normal_form(path):
    normal = path.read_text(encoding="utf-8") == tool.dumps(tool.normalise(tool.read(path)))
    assert normal, (
        f"{path.stem} is not in the committed normal form (ids, metadata, outputs). "
        f"Run: {tool.REGENERATE} {path.stem} (it does not re-execute a current notebook)."
    )


def test_every_student_notebook_has_a_solution():
    orphans = tool.orphan_students(PATHS)
    assert not orphans, (
        f"{[str(p) for p in orphans]} have no solution notebook. Run: {tool.REBUILD_STUDENTS}"
    )


@pytest.mark.parametrize("name", STUDENT_RUN)
def test_student_notebook_runs_up_to_its_first_exercise(name, tmp_path):
    """A student running their notebook in smoke mode gets to Exercise 1, and stops there."""
    [path] = tool.select(PATHS, [name])
    student = PATHS.student_of(path)
    if not student.exists():
        pytest.fail(f"{student} is missing. Run: {tool.REBUILD_STUDENTS}")
    nb = tool.read(student)
    exercises = tool.find_exercises(tool.read(path), path.stem)
    if not exercises:
        pytest.fail(f"{path.stem} has no exercises (see CONTRIBUTING.md, 'Exercises').")
    first = exercises[0].cell_index
    with pytest.raises(tool.NotebookError) as error:
        tool.execute(nb, student.stem, cwd=tmp_path, smoke=True)
    assert error.value.cell_index == first, (
        f"{student} should stop at its first exercise (cell {first + 1}) but stopped at: {error.value}"
    )
    assert error.value.ename == "NotImplementedError", str(error.value)
    assert error.value.evalue.startswith("Exercise 1: "), str(error.value)
