"""What `python3 course.py notebooks check` verifies (the tests call the same functions).

Problems fail the check; warnings are printed. Transitional, until every notebook has been
re-run with this tool: a stale library hash (COURSE_STRICT_LIBRARY_HASH=1 makes it an error),
outputs that still hold this machine's absolute paths and student versions built with the
older stub (COURSE_STRICT_NORMAL_FORM=1 makes those errors).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from tools.execute import (
    REGENERATE,
    execution_problems,
    library_is_strict,
    library_staleness,
    outdated,
)
from tools.exercises import exercise_problems, make_student
from tools.normal_form import ROOT, NotebookError, dumps, normalise, read, show
from tools.repository import notebook_url_problems, repository_url

NOTEBOOKS_DIR = ROOT / "notebooks"
STUDENT_DIR = ROOT / "student"
REBUILD_STUDENTS = "python3 course.py notebooks students"
STRICT_NORMAL_FORM = "COURSE_STRICT_NORMAL_FORM"


@dataclass
class Paths:
    """Where the notebooks live, and the repository root (pyproject.toml, README, course_utils)."""

    notebooks: Path = NOTEBOOKS_DIR
    student: Path = STUDENT_DIR
    root: Path = ROOT
    catalogues: Path | None = (
        None  # the Chinese catalogues; None: <root>/course_utils/locale/zh_CN/LC_MESSAGES
    )

    def __post_init__(self) -> None:
        if self.catalogues is None:
            self.catalogues = self.root / "course_utils" / "locale" / "zh_CN" / "LC_MESSAGES"

    def solutions(self) -> list[Path]:
        """The solution notebooks, in lesson order."""
        return sorted(self.notebooks.glob("*.ipynb"))

    def student_of(self, path: Path) -> Path:
        """The student notebook built from a solution notebook."""
        return self.student / path.name


@dataclass
class Findings:
    """What `check` found: problems fail it, warnings are printed."""

    problems: list[str]
    warnings: list[str]


def _strict_normal_form() -> bool:
    return os.environ.get(STRICT_NORMAL_FORM, "") not in ("", "0")


def _legacy_stub(exercise) -> str:
    return f"Exercise {exercise.number}: {exercise.hint}"  # the stub before this tool version


def normal_form_findings(path: Path, nb: NotebookNode) -> Findings:
    """Whether the file is in normal form; only this machine's paths in it is a warning (for now)."""
    name, text = path.stem, path.read_text(encoding="utf-8")
    if text == dumps(normalise(copy.deepcopy(nb))):
        return Findings([], [])
    if text == dumps(normalise(copy.deepcopy(nb), paths=[])) and not _strict_normal_form():
        message = (
            f"{name}'s outputs hold absolute paths of this machine. Run: {REGENERATE} {name} "
            "(it rewrites them as placeholders without re-executing a current notebook)."
        )
        return Findings([], [message])
    return Findings([f"{name} is not in normal form. Run: {REGENERATE} {name}"], [])


def student_findings(path: Path, paths: Paths, nb: NotebookNode | None = None) -> Findings:
    """Whether the committed student notebook is exactly what the solution generates now."""
    nb = read(path) if nb is None else nb
    student = paths.student_of(path)
    try:
        expected = dumps(make_student(nb, path.stem))
    except NotebookError as error:
        return Findings([f"{error} (so its student version cannot be built)"], [])
    if not student.exists():
        return Findings([f"{show(student)} is missing. Run: {REBUILD_STUDENTS}"], [])
    text = student.read_text(encoding="utf-8")
    if text == expected:
        return Findings([], [])
    stale = f"{show(student)} is not what {path.stem} generates now. Run: {REBUILD_STUDENTS}"
    if not _strict_normal_form() and text == dumps(make_student(nb, path.stem, _legacy_stub)):
        return Findings([], [f"{stale} (it has the older exercise stubs)"])
    return Findings([stale], [])


def student_problems(path: Path, paths: Paths, nb: NotebookNode | None = None) -> list[str]:
    """Problems with the student version (warnings left out)."""
    return student_findings(path, paths, nb).problems


def library_findings(nb: NotebookNode, name: str, root: Path = ROOT) -> Findings:
    """Library files changed since the run: a warning, or a problem when strict."""
    message = library_staleness(nb, name, root)
    if message is None:
        return Findings([], [])
    return Findings([message], []) if library_is_strict() else Findings([], [message])


def check_notebook(path: Path, paths: Paths, mode: str = "full") -> Findings:
    """Everything `check` verifies for one solution notebook."""
    name = path.stem
    try:
        nb = read(path)
    except NotebookError as error:
        return Findings([str(error)], [])
    found = Findings([message] if (message := outdated(nb, name, mode)) else [], [])
    found.problems += execution_problems(nb, name)
    found.problems += exercise_problems(nb, name)
    found.problems += notebook_url_problems(nb, name, repository_url(paths.root))
    for more in (
        library_findings(nb, name, paths.root),
        normal_form_findings(path, nb),
        student_findings(path, paths, nb),
    ):
        found.problems += more.problems
        found.warnings += more.warnings
    return found


def orphan_students(paths: Paths) -> list[Path]:
    """Student notebooks whose solution notebook no longer exists."""
    solutions = {p.name for p in paths.solutions()}
    return sorted(p for p in paths.student.glob("*.ipynb") if p.name not in solutions)
