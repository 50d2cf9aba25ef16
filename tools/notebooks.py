#!/usr/bin/env python3
"""Instructor tool: run the solution notebooks, build the student notebooks, check both.

    python3 course.py notebooks run [--smoke] [--force] [NAMES...]
        Execute the solution notebooks in notebooks/ whose sources changed since they were last
        executed (all of them with --force), in name order, in full mode (smoke mode with
        --smoke), write their outputs in place, then rebuild their student versions.
    python3 course.py notebooks students [NAMES...]
        Rebuild only the student versions in student/.
    python3 course.py notebooks check [NAMES...]
        Verify without writing anything (the tests run the same checks).
    python3 course.py notebooks stamp NAMES...
        Adopt notebooks executed by another tool (e.g. `jupyter nbconvert --execute`): check
        they ran top to bottom without errors, then record their source hash.

NAMES are notebook names such as `05_mnist`, a unique prefix such as `05`, or paths.

Why outputs are not simply regenerated on every run: execution outputs (timings, progress
bars, rates) differ from run to run, so re-executing on a fresh clone would always leave
`git status` dirty. Instead, after executing a notebook the tool records a hash of its cell
sources and the mode in `metadata.course`; `run` re-executes only notebooks whose hash no
longer matches. On a fresh clone nothing is re-executed, every notebook is re-written in the
same normalised form, and the student notebooks are rebuilt identically.

Exercise markup (see CONTRIBUTING.md), in one code cell:

    # Exercise 2: stack three tensors
    # HINT: torch.stack joins tensors along a new first dimension.
    # BEGIN SOLUTION
    stacked = torch.stack([a, b, c])
    # END SOLUTION

The student version replaces each BEGIN ... END block (markers included) with
`raise NotImplementedError("Exercise 2: <hint>")` at the marker's indentation.

The transform is a few lines on top of nbformat rather than nbgrader's ClearSolutions:
nbgrader pulls in a database, a server extension and a large dependency tree, and its
markup (`### BEGIN SOLUTION`) and stub (`raise NotImplementedError()`) differ from ours, which
carry the exercise number and hint into the error a student sees.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
STUDENT_DIR = ROOT / "student"
REGENERATE = "python3 course.py notebooks run"
REBUILD_STUDENTS = "python3 course.py notebooks students"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
CELL_METADATA_KEPT = ("tags", "jupyter", "editable", "deletable", "slideshow")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

EXERCISE_RE = re.compile(r"^\s*#\s*Exercise\s+(\d+)\s*:\s*(.*?)\s*$")
HINT_RE = re.compile(r"^\s*#\s*HINT\s*:\s*(.*?)\s*$")
BEGIN_RE = re.compile(r"^(\s*)#\s*BEGIN SOLUTION\s*$")
END_RE = re.compile(r"^\s*#\s*END SOLUTION\s*$")
CHECK_CALL_RE = r"checks\.lesson(\d+)\.exercise_{number}\("
MODE_RE = re.compile(r"mode: (full|SMOKE)")


class NotebookError(Exception):
    """Something is wrong with a notebook; the message names the notebook and the cell."""

    def __init__(
        self, message: str, cell_index: int | None = None, ename: str = "", evalue: str = ""
    ):
        super().__init__(message)
        self.cell_index, self.ename, self.evalue = cell_index, ename, evalue


# --------------------------------------------------------------------------------------------
# Exercises and the student version
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One exercise cell of a solution notebook."""

    number: int
    title: str
    hint: str
    cell_index: int  # 0-based index among all cells


def where(name: str, index: int, cell: NotebookNode) -> str:
    """Describe a cell so that a person can find it: notebook, position and first line."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"{name}.ipynb, cell {index + 1} (starts with {first[:60]!r})"


def parse_exercise(source: str, place: str, cell_index: int = 0) -> Exercise | None:
    """Validate one code cell's exercise markup; return its Exercise, or None if it has none."""
    number = title = hint = None
    depth = 0
    blocks = 0
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


def student_source(source: str, exercise: Exercise) -> str:
    """The student version of an exercise cell: each solution block becomes one `raise` line."""
    message = json.dumps(f"Exercise {exercise.number}: {exercise.hint}", ensure_ascii=False)
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


def make_student(nb: NotebookNode, name: str) -> NotebookNode:
    """The student version: solutions replaced by stubs, outputs and execution counts cleared."""
    student = copy.deepcopy(nb)
    exercises = {e.cell_index: e for e in find_exercises(nb, name)}
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            if index in exercises:
                cell.source = student_source(cell.source, exercises[index])
            cell.outputs = []
            cell.execution_count = None
    student.metadata.pop("course", None)
    student.metadata.pop("widgets", None)
    return normalise(student, ids_from=nb)


# --------------------------------------------------------------------------------------------
# Normal form
# --------------------------------------------------------------------------------------------


def source_hash(nb: NotebookNode) -> str:
    """A hash of the notebook's cell types and sources (not outputs, not metadata)."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def cell_ids(nb: NotebookNode) -> list[str]:
    """Deterministic cell ids from each cell's type and source (a counter breaks ties).

    Ids follow the content, not the position, so inserting a cell changes no other cell's id.
    """
    ids, seen = [], {}
    for cell in nb.cells:
        base = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _collapse_stream(text: str) -> str:
    """Apply carriage returns and backspaces the way a terminal shows them."""
    while True:
        shorter = re.sub(r"[^\n]\x08", "", text)
        if shorter == text:
            break
        text = shorter
    return re.sub(r"[^\n]*\r(?!\n)", "", text)


def _merge_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same name and collapse \\r progress updates."""
    merged: list = []
    for output in outputs:
        if (
            output.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == output.name
        ):
            merged[-1].text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = _collapse_stream(output.text)
    return [o for o in merged if o.output_type != "stream" or o.text]


def _tqdm_text(model_id: str, state: dict) -> str | None:
    """The text form of a tqdm.notebook bar from stored widget state, '' if hidden, None if not tqdm."""
    box = state.get(model_id, {})
    if box.get("model_name") != "HBoxModel":
        return None
    children = [c.removeprefix("IPY_MODEL_") for c in box["state"].get("children", [])]
    kinds = [state.get(c, {}).get("model_name") for c in children]
    if kinds != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    layout = state.get(box["state"].get("layout", "").removeprefix("IPY_MODEL_"), {})
    if layout.get("state", {}).get("visibility") == "hidden":
        return ""  # tqdm(leave=False) hid the bar when it finished
    left, bar, right = (state[c]["state"] for c in children)

    def text(value: str) -> str:
        return html.unescape(value or "").replace("\u2007", " ")

    if not text(left.get("value")):  # unknown total: tqdm shows counts and rate only
        return text(right.get("value"))
    from tqdm.std import Bar  # the same blocks tqdm draws in a terminal

    fraction = min(max((bar.get("value", 0) - bar.get("min", 0)) / (bar.get("max") or 1), 0), 1)
    return f"{text(left.get('value'))}|{format(Bar(fraction, 10), '')}|{text(right.get('value'))}"


def _widget_refs(value: object) -> set[str]:
    """Model ids that a widget state value refers to."""
    if isinstance(value, str):
        return {value.removeprefix("IPY_MODEL_")} if value.startswith("IPY_MODEL_") else set()
    if isinstance(value, dict):
        return set().union(*(_widget_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_widget_refs(v) for v in value)) if value else set()
    return set()


def replace_tqdm_widgets(nb: NotebookNode) -> None:
    """Turn tqdm widget outputs into their final text form; keep only widget state still needed.

    JupyterLab 4 shows "Error displaying widget: model not found" for a widget output of a
    finished run (even when the widget state is saved), and GitHub shows the text fallback,
    which tqdm writes once, at 0%. So each tqdm bar becomes a plain-text output of its final
    state, read from the widget state that nbclient stores; bars that tqdm hid (leave=False)
    are dropped, as a live notebook drops them. A widget output with no stored state at all
    keeps only its other representations. Other widgets are left alone.
    """
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    state = widgets.get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            bar = _tqdm_text(view["model_id"], state) if view else None
            if view and view["model_id"] not in state and len(output.data) > 1:
                del output.data[WIDGET_VIEW]  # no state: no frontend can draw it; keep the text
                kept.append(output)
            elif bar is None:
                kept.append(output)
            elif bar:
                output.data = {"text/plain": bar}
                kept.append(output)
        cell.outputs = kept
    # keep the state of the widgets still displayed, and of everything they refer to
    needed: set[str] = set()
    todo = [
        o.data[WIDGET_VIEW]["model_id"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if WIDGET_VIEW in o.get("data", {})
    ]
    while todo:
        model = todo.pop()
        if model not in needed and model in state:
            needed.add(model)
            todo.extend(_widget_refs(state[model].get("state", {})))
    if needed:
        widgets["state"] = {k: v for k, v in state.items() if k in needed}
    else:
        nb.metadata.pop("widgets", None)


def normalise(nb: NotebookNode, ids_from: NotebookNode | None = None) -> NotebookNode:
    """Put a notebook in the committed normal form (in place; also returned).

    Stable notebook metadata (python3 kernelspec, language info without a version), only
    content-related cell metadata, no execution timings, deterministic cell ids (those of
    `ids_from` when given, so a student notebook shares its solution's ids), merged streams,
    tqdm bars as text.
    """
    nb.nbformat, nb.nbformat_minor = 4, 5
    metadata = NotebookNode(kernelspec=dict(KERNELSPEC), language_info=copy.deepcopy(LANGUAGE_INFO))
    for key in ("course", "widgets"):
        if key in nb.metadata:
            metadata[key] = nb.metadata[key]
    nb.metadata = nbformat.from_dict(metadata)
    replace_tqdm_widgets(nb)
    ids = cell_ids(ids_from if ids_from is not None else nb)
    for cell, cell_id in zip(nb.cells, ids, strict=True):
        cell.id = cell_id
        cell.metadata = nbformat.from_dict(
            {k: cell.metadata[k] for k in CELL_METADATA_KEPT if cell.metadata.get(k)}
        )
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.execution_count = cell.execution_count
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if cell.cell_type == "markdown" and not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb: NotebookNode) -> str:
    """The notebook as committed: nbformat's JSON (indent 1, sorted keys) and a final newline."""
    return nbformat.writes(nb, version=4).rstrip("\n") + "\n"


def read(path: Path) -> NotebookNode:
    """Read a notebook, saying which file when it is not valid JSON."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several kinds
        raise NotebookError(f"{show(path)}: not a readable notebook ({error}).") from error


def show(path: Path) -> str:
    """A path as a person would type it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` unless the file already holds it; say whether it was written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return True


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


def kernel_config() -> object:
    """Kernel settings: CurveZMQ-encrypted TCP, which also silences ipykernel's TCP warning."""
    import zmq
    from traitlets.config import Config

    config = Config()
    if zmq.has("curve"):
        config.KernelManager.transport_encryption = "auto"
    return config


def executed_mode(nb: NotebookNode) -> str | None:
    """The mode the first cell reported ('full' or 'smoke'), or None if it printed none."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                if m := MODE_RE.search(text if isinstance(text, str) else "".join(text)):
                    return "full" if m.group(1) == "full" else "smoke"
            return None
    return None


def first_error(nb: NotebookNode) -> tuple[int, NotebookNode, dict] | None:
    """The first cell with an error output: (index, cell, output), or None."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                return index, cell, output
    return None


def execute(
    nb: NotebookNode,
    name: str,
    cwd: Path,
    smoke: bool,
    timeout: int | None = None,
    env: dict[str, str] | None = None,
) -> NotebookNode:
    """Execute a notebook top to bottom with nbclient; raise NotebookError at the first error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    saved = dict(os.environ)
    os.environ["COURSE_SMOKE"] = "1" if smoke else "0"
    os.environ.update(env or {})
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=True,
        config=kernel_config(),
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        failed = first_error(nb)
        if failed is not None:
            index, cell, output = failed
            raise NotebookError(
                f"{where(name, index, cell)} failed:\n{output.ename}: {output.evalue}",
                cell_index=index,
                ename=output.ename,
                evalue=output.evalue,
            ) from error
        raise NotebookError(
            f"{name}: execution stopped: {type(error).__name__}: {error}"
        ) from error
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


# --------------------------------------------------------------------------------------------
# Checks on committed notebooks
# --------------------------------------------------------------------------------------------


def record(nb: NotebookNode) -> dict:
    """The execution record the tool keeps in the notebook's metadata (may be empty)."""
    return dict(nb.metadata.get("course", {}).get("executed", {}))


def staleness(nb: NotebookNode, name: str) -> str | None:
    """Why the outputs are not current for the sources, or None if they are."""
    rec = record(nb)
    if not rec:
        return f"{name} has no execution record (it was not executed by {REGENERATE})."
    if rec.get("source_sha256") != source_hash(nb):
        return f"{name} was edited after it was last executed."
    return None


def outdated(nb: NotebookNode, name: str, mode: str = "full") -> str | None:
    """What is wrong with the execution record, and the command that fixes it; None if current."""
    reason = staleness(nb, name)
    if reason and not record(nb):
        return (
            f"{reason} Run: {REGENERATE} {name} (or, if you have just executed it in full mode "
            f"with nbconvert: python3 course.py notebooks stamp {name})"
        )
    if reason:
        return f"{reason} Run: {REGENERATE} {name}"
    if record(nb).get("mode") != mode:
        return (
            f"{name} was last executed in {record(nb).get('mode')} mode; solution notebooks are "
            f"committed executed in {mode} mode. Run: {REGENERATE} {name}"
        )
    return None


def execution_problems(nb: NotebookNode, name: str) -> list[str]:
    """Problems with the outputs: counts not 1, 2, 3, ... top to bottom, or error outputs."""
    problems = []
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(
            f"{name}: execution counts are {counts[:12]}{' ...' if len(counts) > 12 else ''}; "
            f"expected 1, 2, 3, ... (run it top to bottom with {REGENERATE} --force {name})."
        )
    failed = first_error(nb)
    if failed is not None:
        index, cell, output = failed
        problems.append(
            f"{where(name, index, cell)} has an error output: {output.ename}: {output.evalue}"
        )
    return problems


@dataclass
class Paths:
    """Where the solution and student notebooks live (the repository's, or a test's)."""

    notebooks: Path = NOTEBOOKS_DIR
    student: Path = STUDENT_DIR

    def solutions(self) -> list[Path]:
        """The solution notebooks, in lesson order."""
        return sorted(self.notebooks.glob("*.ipynb"))

    def student_of(self, path: Path) -> Path:
        """The student notebook built from a solution notebook."""
        return self.student / path.name


def check_notebook(path: Path, paths: Paths, mode: str = "full") -> list[str]:
    """Everything `check` verifies for one solution notebook; empty when all is well."""
    name = path.stem
    try:
        nb = read(path)
    except NotebookError as error:
        return [str(error)]
    problems = [message] if (message := outdated(nb, name, mode)) else []
    problems += execution_problems(nb, name)
    problems += exercise_problems(nb, name)
    if path.read_text(encoding="utf-8") != dumps(normalise(copy.deepcopy(nb))):
        problems.append(f"{name} is not in normal form. Run: {REGENERATE} {name}")
    problems += student_problems(path, paths, nb)
    return problems


def student_problems(path: Path, paths: Paths, nb: NotebookNode | None = None) -> list[str]:
    """Whether the committed student notebook is exactly what the solution generates now."""
    nb = read(path) if nb is None else nb
    student = paths.student_of(path)
    try:
        expected = dumps(make_student(nb, path.stem))
    except NotebookError as error:
        return [f"{error} (so its student version cannot be built)"]
    if not student.exists():
        return [f"{show(student)} is missing. Run: {REBUILD_STUDENTS}"]
    if student.read_text(encoding="utf-8") != expected:
        return [f"{show(student)} is not what {path.stem} generates now. Run: {REBUILD_STUDENTS}"]
    return []


def orphan_students(paths: Paths) -> list[Path]:
    """Student notebooks whose solution notebook no longer exists."""
    solutions = {p.name for p in paths.solutions()}
    return sorted(p for p in paths.student.glob("*.ipynb") if p.name not in solutions)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def select(paths: Paths, names: Sequence[str]) -> list[Path]:
    """The solution notebooks named (by name, unique prefix or path), or all of them."""
    available = paths.solutions()
    if not names:
        return available
    chosen = []
    for raw in names:
        stem = Path(raw).name.removesuffix(".ipynb")
        matches = [p for p in available if p.stem == stem] or [
            p for p in available if p.stem.startswith(stem)
        ]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in available) or "none"
            what = "matches several notebooks" if matches else "matches no notebook"
            raise NotebookError(f"{raw!r} {what} in {paths.notebooks} (there: {known}).")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return sorted(chosen)


def build_student(path: Path, paths: Paths, nb: NotebookNode | None = None) -> bool:
    """Write the student version of one solution notebook; say whether the file changed."""
    nb = read(path) if nb is None else nb
    return write_if_changed(paths.student_of(path), dumps(make_student(nb, path.stem)))


def command_students(paths: Paths, names: Sequence[str]) -> int:
    """Rebuild the student notebooks (and remove those whose solution is gone)."""
    for path in select(paths, names):
        changed = build_student(path, paths)
        print(f"{path.stem}: student version {'rebuilt' if changed else 'unchanged'}")
    if not names:
        for orphan in orphan_students(paths):
            orphan.unlink()
            print(f"{orphan.stem}: removed {show(orphan)} (its solution notebook is gone)")
    return 0


def command_run(
    paths: Paths, names: Sequence[str], smoke: bool, force: bool, timeout: int | None
) -> int:
    """Execute stale (or all, with force) solution notebooks, then rebuild the student ones."""
    mode = "smoke" if smoke else "full"
    selected = select(paths, names)
    for path in selected:  # fail on bad markup before spending time on execution
        find_exercises(read(path), path.stem)
    for path in selected:
        name = path.stem
        nb = read(path)
        reason = staleness(nb, name)
        if reason is None and record(nb).get("mode") != mode:
            reason = f"{name} was last executed in {record(nb).get('mode')} mode."
        if reason or force:
            print(f"{name}: executing in {mode} mode ({reason or 'forced'}) ...", flush=True)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            nb.metadata.pop("widgets", None)
            start = time.perf_counter()
            try:
                execute(nb, name, cwd=path.parent, smoke=smoke, timeout=timeout)
            except NotebookError:
                failed = Path(tempfile.gettempdir()) / f"{name}.failed.ipynb"
                failed.write_text(dumps(nb), encoding="utf-8")
                print(f"The partly executed notebook is in {failed}", file=sys.stderr)
                raise
            seconds = time.perf_counter() - start
            actual = executed_mode(nb) or mode
            if actual != mode:
                print(
                    f"{name}: WARNING: asked for {mode} mode, but the first cell ran in {actual} mode"
                )
            nb.metadata["course"] = {"executed": {"mode": actual, "source_sha256": source_hash(nb)}}
            print(f"{name}: executed in {seconds:.1f} s ({actual})", flush=True)
        else:
            print(f"{name}: up to date ({mode}), not executed")
        text = dumps(normalise(nb))
        if write_if_changed(path, text):
            print(f"{name}: wrote {show(path)}")
        build_student(path, paths, read(path))
    if not names:
        for orphan in orphan_students(paths):
            orphan.unlink()
            print(f"{orphan.stem}: removed {show(orphan)} (its solution notebook is gone)")
    return 0


def command_stamp(paths: Paths, names: Sequence[str]) -> int:
    """Record the source hash of notebooks executed elsewhere, after checking their outputs."""
    if not names:
        raise NotebookError("stamp needs the names of the notebooks to adopt.")
    for path in select(paths, names):
        name = path.stem
        nb = read(path)
        if record(nb):
            if staleness(nb, name):
                raise NotebookError(
                    f"{name} was edited after it was executed. Run: {REGENERATE} {name}"
                )
            print(f"{name}: already recorded, nothing to do")
            continue
        find_exercises(nb, name)
        problems = execution_problems(nb, name)
        mode = executed_mode(nb)
        if mode is None:
            problems.append(
                f"{name}: the first cell printed no 'mode: ...' line; use {REGENERATE}."
            )
        if problems:
            raise NotebookError("\n".join(problems))
        nb.metadata["course"] = {"executed": {"mode": mode, "source_sha256": source_hash(nb)}}
        write_if_changed(path, dumps(normalise(nb)))
        build_student(path, paths, read(path))
        print(f"{name}: recorded as executed in {mode} mode; student version rebuilt")
    return 0


def command_check(paths: Paths, names: Sequence[str]) -> int:
    """Verify every selected notebook and its student version without writing anything."""
    failures = 0
    for path in select(paths, names):
        problems = check_notebook(path, paths)
        failures += bool(problems)
        print(f"{path.stem}: " + ("ok" if not problems else "PROBLEMS"))
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "))
    if not names:
        for orphan in orphan_students(paths):
            failures += 1
            print(f"{show(orphan)} has no solution notebook. Run: {REBUILD_STUDENTS}")
    print("all notebooks ok" if not failures else f"{failures} problem notebook(s)")
    return 1 if failures else 0


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python3 course.py notebooks",
        description="Run the solution notebooks, build the student notebooks, check both.",
    )
    parser.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--student-dir", type=Path, default=STUDENT_DIR, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute changed solution notebooks, rebuild student ones")
    run.add_argument("--smoke", action="store_true", help="smoke mode (COURSE_SMOKE=1)")
    run.add_argument("--force", action="store_true", help="execute even if up to date")
    run.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    run.add_argument("names", nargs="*", help="notebooks (default: all)")
    students = sub.add_parser("students", help="rebuild the student notebooks only")
    students.add_argument("names", nargs="*")
    check = sub.add_parser("check", help="verify notebooks and student versions, write nothing")
    check.add_argument("names", nargs="*")
    stamp = sub.add_parser("stamp", help="adopt notebooks executed by another tool (nbconvert)")
    stamp.add_argument("names", nargs="+")
    args = parser.parse_args(list(argv) if argv is not None else None)
    paths = Paths(args.notebooks_dir.resolve(), args.student_dir.resolve())
    try:
        if args.command == "run":
            return command_run(paths, args.names, args.smoke, args.force, args.timeout)
        if args.command == "students":
            return command_students(paths, args.names)
        if args.command == "stamp":
            return command_stamp(paths, args.names)
        return command_check(paths, args.names)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
