"""The committed solution notebooks (notebooks/) and student notebooks (student/) are consistent.

Each test is parametrized over the solution notebooks present, so it passes (with zero cases)
while notebooks/ is empty. Fix a failure with the command its message names; see
CONTRIBUTING.md, "The instructor tool". Transitional findings (a library file changed since a
lesson ran, outputs still holding this machine's paths, student versions with the older stubs)
are pytest warnings until COURSE_STRICT_LIBRARY_HASH=1 / COURSE_STRICT_NORMAL_FORM=1.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from tools import notebooks as tool
from tools import repository

ROOT = Path(__file__).resolve().parents[1]


PATHS = tool.Paths()
SOLUTIONS = PATHS.solutions()
NAMES = [p.stem for p in SOLUTIONS]
# Student notebooks executed up to their first exercise: by default the first lesson only,
# which keeps this under a minute; COURSE_STUDENT_RUN="00 05" (names or prefixes) picks others.
STUDENT_RUN = os.environ.get("COURSE_STUDENT_RUN", "").split() or NAMES[:1]

solutions = pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)


class NotebookWarning(UserWarning):
    """A finding that is a warning for now (see the module docstring)."""


def assert_findings(found):
    for warning in found.warnings:
        warnings.warn(warning, NotebookWarning, stacklevel=2)
    assert not found.problems, "\n".join(found.problems)


@solutions
def test_student_version_is_current(path):
    assert_findings(tool.student_findings(path, PATHS))


@solutions
def test_executed_after_its_last_edit_in_full_mode(path):
    message = tool.outdated(tool.read(path), path.stem, mode="full")
    assert message is None, message


@solutions
def test_library_it_was_executed_with_is_current(path):
    assert_findings(tool.library_findings(tool.read(path), path.stem, PATHS.root))


@solutions
def test_executed_top_to_bottom_without_errors(path):
    problems = tool.execution_problems(tool.read(path), path.stem)
    assert not problems, "\n".join(problems)


@solutions
def test_exercises_have_solution_hint_and_check(path):
    problems = tool.exercise_problems(tool.read(path), path.stem, minimum=4)  # every lesson: 4 or more
    assert not problems, "\n".join(problems)


@solutions
def test_in_normal_form(path):
    assert_findings(tool.normal_form_findings(path, tool.read(path)))


@solutions
def test_first_cell_installs_from_the_repository(path):
    url = repository.repository_url(ROOT)
    problems = repository.notebook_url_problems(tool.read(path), path.stem, url)
    assert not problems, "\n".join(problems)


def test_documents_link_to_the_repository():
    problems = repository.document_problems(ROOT, repository.repository_url(ROOT))
    assert not problems, "\n".join(problems)


def test_every_student_notebook_has_a_solution():
    orphans = tool.orphan_students(PATHS)
    assert not orphans, (
        f"{[str(p) for p in orphans]} have no solution notebook. Run: {tool.REBUILD_STUDENTS}"
    )


@pytest.mark.parametrize("name", STUDENT_RUN)
def test_student_notebook_runs_up_to_its_first_exercise(name, tmp_path):
    """A student running their notebook in smoke mode gets to Exercise 1, and stops there,
    with a message that says what to do."""
    [path] = tool.select(PATHS, [name])
    solution = tool.read(path)
    exercises = tool.find_exercises(solution, path.stem)
    if not exercises:
        pytest.fail(f"{path.stem} has no exercises (see CONTRIBUTING.md, 'Exercises').")
    first = exercises[0].cell_index
    student = tool.make_student(solution, path.stem)  # test_student_version_is_current: == student/
    with pytest.raises(tool.NotebookError) as error:
        tool.execute(student, path.stem, cwd=tmp_path, smoke=True)
    assert error.value.cell_index == first, (
        f"the student version of {path.stem} should stop at its first exercise (cell {first + 1}) "
        f"but stopped at: {error.value}"
    )
    assert error.value.ename == "NotImplementedError", str(error.value)
    assert error.value.evalue.startswith("Exercise 1 is yours to write: "), str(error.value)
    assert "replace this line with your code" in error.value.evalue


def test_chinese_student_notebook_stops_at_its_first_exercise_in_chinese(tmp_path):
    """The same for the first lesson's Chinese student notebook, as committed in student/zh/."""
    path = SOLUTIONS[0]
    student = tool.read(PATHS.student / "zh" / path.name)
    first = tool.find_exercises(tool.read(PATHS.notebooks / "zh" / path.name), path.stem)[0].cell_index
    with pytest.raises(tool.NotebookError) as error:
        tool.execute(student, path.stem, cwd=tmp_path, smoke=True)
    assert error.value.cell_index == first, str(error.value)
    assert error.value.ename == "NotImplementedError", str(error.value)
    assert error.value.evalue.startswith("练习 1 由你来写："), str(error.value)


@solutions
def test_student_version_plus_solutions_is_the_solution(path):
    """A student notebook with the reference answers filled in is its solution notebook, cell for
    cell; nbval runs every solution notebook (English and Chinese) to its end with every check
    passing, so this is also "the student notebook with the reference answers runs to its end"
    without executing each lesson a second time."""
    solution = tool.read(path)
    filled = tool.fill_solutions(tool.make_student(solution, path.stem), solution, path.stem)
    assert [c.source for c in filled.cells] == [c.source for c in solution.cells]
