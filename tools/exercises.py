"""Exercise markup, the student version of a solution notebook, and its inverse.

    # Exercise 2: stack three tensors
    # HINT: torch.stack joins tensors along a new first dimension.
    # BEGIN SOLUTION
    stacked = torch.stack([a, b, c])
    # END SOLUTION

The student version replaces each BEGIN ... END block (markers included) with one line,
`raise NotImplementedError("Exercise 2 is yours to write: <hint> ...")`, at the marker's
indentation. `fill_solutions` puts the blocks back, so a test can run every student notebook
with the reference answers and check the round trip.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from nbformat import NotebookNode

from tools.normal_form import NotebookError, normalise, where

# The Chinese notebooks (tools/translations.py) write the same markup as "# 练习 N：" and "# 提示：".
EXERCISE_RE = re.compile(r"^\s*#\s*(?:Exercise|练习)\s*(\d+)\s*[:：]\s*(.*?)\s*$")
HINT_RE = re.compile(r"^\s*#\s*(?:HINT|提示)\s*[:：]\s*(.*?)\s*$")
BEGIN_RE = re.compile(r"^(\s*)#\s*BEGIN SOLUTION\s*$")
END_RE = re.compile(r"^\s*#\s*END SOLUTION\s*$")
STUB_RE = re.compile(
    r"^\s*raise NotImplementedError\(\"(?:Exercise \d+ is yours to write: |练习 \d+ 由你来写：)"
)
CHECK_CALL_RE = r"checks\.lesson(\d+)\.exercise_{number}\("
STUB_TAIL = (
    "The cells above this one ran; replace this line with your code, "
    "then run this cell and the check below it."
)
STUB_TAIL_ZH = "上面的单元格都已运行；把这一行换成你的代码，再运行这个单元格和它下面的检查。"


@dataclass(frozen=True)
class Exercise:
    """One exercise cell of a solution notebook."""

    number: int
    title: str
    hint: str
    cell_index: int  # 0-based index among all cells


def parse_exercise(source: str, place: str, cell_index: int = 0) -> Exercise | None:
    """Validate one code cell's exercise markup; return its Exercise, or None if it has none."""
    number = title = hint = None
    depth = blocks = 0
    for lineno, line in enumerate(source.splitlines(), start=1):
        if m := EXERCISE_RE.match(line):
            if number is not None:
                raise NotebookError(
                    f"{place}: two '# Exercise N:' lines; use one cell per exercise."
                )
            number, title = int(m.group(1)), m.group(2)
        elif m := HINT_RE.match(line):
            if depth:
                raise NotebookError(
                    f"{place}, line {lineno}: '# HINT:' inside the solution block would be "
                    "removed from the student version; put it before '# BEGIN SOLUTION'."
                )
            hint = f"{hint} {m.group(1)}" if hint else m.group(1)
        elif BEGIN_RE.match(line):
            if depth:
                raise NotebookError(
                    f"{place}, line {lineno}: '# BEGIN SOLUTION' inside another solution block; "
                    "close the first one with '# END SOLUTION'."
                )
            depth, blocks = 1, blocks + 1
        elif END_RE.match(line):
            if not depth:
                raise NotebookError(
                    f"{place}, line {lineno}: '# END SOLUTION' without a '# BEGIN SOLUTION' before it."
                )
            depth = 0
    if depth:
        raise NotebookError(
            f"{place}: '# BEGIN SOLUTION' without '# END SOLUTION'; close the solution block."
        )
    if not blocks:
        if number is not None:
            raise NotebookError(
                f"{place}: 'Exercise {number}' has no solution block; wrap the answer in "
                "'# BEGIN SOLUTION' / '# END SOLUTION'."
            )
        if hint is not None:
            raise NotebookError(f"{place}: '# HINT:' outside an exercise cell.")
        return None
    if number is None:
        raise NotebookError(
            f"{place}: solution block without an '# Exercise N: title' line; add one at the top "
            "of the cell."
        )
    if not hint:
        raise NotebookError(
            f"{place}: Exercise {number} has no hint; add a '# HINT: ...' line before "
            "'# BEGIN SOLUTION'."
        )
    return Exercise(number=number, title=title, hint=hint, cell_index=cell_index)


Stub = Callable[[Exercise], str]


def stub_message(exercise: Exercise) -> str:
    """What a student reads when a notebook run stops at this exercise."""
    hint = exercise.hint if exercise.hint.endswith((".", "!", "?")) else f"{exercise.hint}."
    return f"Exercise {exercise.number} is yours to write: {hint} {STUB_TAIL}"


def stub_message_zh(exercise: Exercise) -> str:
    """The same, for the Chinese notebooks (whose hint is already Chinese)."""
    hint = (
        exercise.hint if exercise.hint.endswith(("。", "！", "？", ".")) else f"{exercise.hint}。"
    )
    return f"练习 {exercise.number} 由你来写：{hint}{STUB_TAIL_ZH}"


def student_source(source: str, exercise: Exercise, stub: Stub = stub_message) -> str:
    """The student version of an exercise cell: each solution block becomes one `raise` line."""
    message = json.dumps(stub(exercise), ensure_ascii=False)
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if m := BEGIN_RE.match(line):
            out.append(f"{m.group(1)}raise NotImplementedError({message})")
            inside = True
        elif END_RE.match(line):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def solution_blocks(source: str) -> list[list[str]]:
    """Each BEGIN ... END block of a solution cell, markers included, as lists of lines."""
    blocks: list[list[str]] = []
    inside = False
    for line in source.splitlines():
        if BEGIN_RE.match(line):
            blocks.append([])
            inside = True
        if inside:
            blocks[-1].append(line)
        if END_RE.match(line):
            inside = False
    return blocks


def find_exercises(nb: NotebookNode, name: str) -> list[Exercise]:
    """All exercises of a notebook, with their markup validated."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            exercise = parse_exercise(cell.source, where(name, index, cell), index)
            if exercise is not None:
                found.append(exercise)
    return found


def exercise_problems(nb: NotebookNode, name: str, minimum: int = 3) -> list[str]:
    """Problems with the exercises: numbering 1, 2, 3, ..., at least `minimum`, each checked."""
    try:
        exercises = find_exercises(nb, name)
    except NotebookError as error:
        return [str(error)]
    problems = []
    numbers = [e.number for e in exercises]
    if len(exercises) < minimum:
        problems.append(
            f"{name}: {len(exercises)} exercise(s); a lesson ends with at least {minimum}."
        )
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(
            f"{name}: exercises are numbered {numbers}; number them 1, 2, 3, ... in order."
        )
    lesson = re.match(r"(\d+)_", name)
    bounds = [e.cell_index for e in exercises[1:]] + [len(nb.cells)]
    for exercise, stop in zip(exercises, bounds, strict=True):
        pattern = re.compile(CHECK_CALL_RE.format(number=exercise.number))
        calls = [
            m
            for cell in nb.cells[exercise.cell_index + 1 : stop]
            if cell.cell_type == "code"
            for m in [pattern.search(cell.source)]
            if m
        ]
        cell = nb.cells[exercise.cell_index]
        if not calls:
            problems.append(
                f"{where(name, exercise.cell_index, cell)}: Exercise {exercise.number} has no check; "
                f"call cu.checks.lessonNN.exercise_{exercise.number}(...) in a cell after it."
            )
        elif lesson and int(calls[0].group(1)) != int(lesson.group(1)):
            problems.append(
                f"{where(name, exercise.cell_index, cell)}: Exercise {exercise.number} is checked by "
                f"lesson{calls[0].group(1)}, but this is lesson {lesson.group(1)}."
            )
    return problems


def make_student(nb: NotebookNode, name: str, stub: Stub = stub_message) -> NotebookNode:
    """The student version: solutions replaced by stubs, outputs and execution counts cleared."""
    student = copy.deepcopy(nb)
    exercises = {e.cell_index: e for e in find_exercises(nb, name)}
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            if index in exercises:
                cell.source = student_source(cell.source, exercises[index], stub)
            cell.outputs = []
            cell.execution_count = None
    student.metadata.pop("course", None)
    student.metadata.pop("widgets", None)
    return normalise(student, ids_from=nb)


def fill_solutions(student: NotebookNode, solution: NotebookNode, name: str) -> NotebookNode:
    """The inverse of `make_student`: a copy of the student notebook with each stub replaced by
    the solution notebook's block (markers included), so its code cells equal the solution's."""
    filled = copy.deepcopy(student)
    for exercise in find_exercises(solution, name):
        cell = filled.cells[exercise.cell_index]
        blocks = solution_blocks(solution.cells[exercise.cell_index].source)
        lines: list[str] = []
        for line in cell.source.splitlines():
            if STUB_RE.match(line):
                if not blocks:
                    raise NotebookError(
                        f"{where(name, exercise.cell_index, cell)}: more stubs than solution blocks."
                    )
                lines.extend(blocks.pop(0))
            else:
                lines.append(line)
        if blocks:
            raise NotebookError(
                f"{where(name, exercise.cell_index, cell)}: fewer stubs than solution blocks."
            )
        cell.source = "\n".join(lines)
    return filled
