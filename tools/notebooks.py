"""Instructor tool: run the solution notebooks, build the student notebooks, check both.

    python3 course.py notebooks run [--smoke] [--force] [NAMES...]
        Execute the solution notebooks in notebooks/ whose outputs are stale (sources edited, or
        library files they imported changed; all of them with --force), in name order, in full
        mode (smoke mode with --smoke), write their outputs in place, then rebuild their
        student versions.
    python3 course.py notebooks students [NAMES...]
        Rebuild only the student versions in student/.
    python3 course.py notebooks translate [NAMES...]
        Merge the English into the Chinese catalogues (course_utils/locale/zh_CN/), marking
        changed texts fuzzy, list what is left to translate, and write the Chinese notebooks
        (notebooks/zh/, student/zh/) of every finished lesson. `run` and `students` do the same,
        more briefly (tools/translations.py says how the catalogues are organised).
    python3 course.py notebooks check [NAMES...]
        Verify without writing anything (the tests run the same checks), the Chinese edition
        included.
    python3 course.py notebooks stamp NAMES...
        Adopt notebooks executed by another tool (e.g. `jupyter nbconvert --execute`): check
        they ran top to bottom without errors, then record their source hash.

NAMES are notebook names such as `05_mnist`, a unique prefix such as `05`, or paths.
`run` and `students` also stamp pyproject.toml's Repository URL into each lesson's first cell
and README's Colab badges (tools/repository.py).

Why outputs are not simply regenerated on every run: execution outputs (timings, progress
bars, rates) differ from run to run, so re-executing on a fresh clone would always leave
`git status` dirty. Instead the tool records what the outputs were computed from
(tools/execute.py) and `run` re-executes only notebooks whose record no longer matches. On a
fresh clone nothing is re-executed, every notebook is re-written in the same normal form
(tools/normal_form.py), and the student notebooks are rebuilt identically (tools/exercises.py).

Why not nbgrader's ClearSolutions: its markers are configurable (`begin_solution_delimeter`),
so markup is not the reason. Its stub (`code_stub`) is one text per language, the same for every
exercise, whereas ours carries each exercise's number and hint into the error a student sees;
and nbgrader is a whole grading system (a database, server extensions, a large dependency tree)
for a transform that is about a hundred lines on top of nbformat here.

Transitional (until every notebook is re-run with this tool): a stale library hash, outputs that
still hold this machine's absolute paths, and student versions built with the older stub are
warnings; COURSE_STRICT_LIBRARY_HASH=1 and COURSE_STRICT_NORMAL_FORM=1 make them errors.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from nbformat import NotebookNode

from tools.edition import chinese_problems, common_problems, orphan_chinese, translate
from tools.execute import (
    REGENERATE,
    execute,
    executed_mode,
    execution_problems,
    library_staleness,
    make_record,
    outdated,
    record,
    staleness,
)
from tools.exercises import exercise_problems, fill_solutions, find_exercises, make_student
from tools.normal_form import ROOT, NotebookError, dumps, normalise, read, show, write_if_changed
from tools.repository import document_problems, repository_url, stamp_documents, stamp_notebook
from tools.verify import (
    NOTEBOOKS_DIR,
    REBUILD_STUDENTS,
    STUDENT_DIR,
    Paths,
    check_notebook,
    library_findings,
    normal_form_findings,
    orphan_students,
    student_findings,
    student_problems,
)

__all__ = [  # what the tests use, re-exported for one import
    "REBUILD_STUDENTS", "REGENERATE", "NotebookError", "Paths", "dumps", "execute",
    "execution_problems", "exercise_problems", "fill_solutions", "find_exercises",
    "library_findings", "main", "make_student", "normal_form_findings", "normalise",
    "orphan_students", "outdated", "read", "select", "student_findings", "student_problems",
]  # fmt: skip

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


def stamp_repository(paths: Paths, selected: Sequence[Path]) -> None:
    """Stamp pyproject.toml's Repository URL into the selected notebooks and the documents."""
    url = repository_url(paths.root)
    for path in selected:
        nb = read(path)
        if stamp_notebook(nb, url) and write_if_changed(path, dumps(normalise(nb))):
            print(f"{path.stem}: first cell now installs from {url}")
    for document in stamp_documents(paths.root, url):
        print(f"{document.name}: links now point at {url}")


def build_student(path: Path, paths: Paths, nb: NotebookNode | None = None) -> bool:
    """Write the student version of one solution notebook; say whether the file changed."""
    nb = read(path) if nb is None else nb
    return write_if_changed(paths.student_of(path), dumps(make_student(nb, path.stem)))


def remove_orphans(paths: Paths) -> None:
    for orphan in orphan_students(paths):
        orphan.unlink()
        print(f"{orphan.stem}: removed {show(orphan)} (its solution notebook is gone)")


def command_students(paths: Paths, names: Sequence[str]) -> int:
    """Rebuild the student notebooks (and remove those whose solution is gone)."""
    selected = select(paths, names)
    for path in selected:  # fail on bad markup before writing anything
        find_exercises(read(path), path.stem)
    stamp_repository(paths, selected)
    for path in selected:
        changed = build_student(path, paths)
        print(f"{path.stem}: student version {'rebuilt' if changed else 'unchanged'}")
    if not names:
        remove_orphans(paths)
    translate(paths, selected, verbose=False)
    return 0


def command_translate(paths: Paths, names: Sequence[str]) -> int:
    """Update the Chinese catalogues, list what is left, write the finished Chinese notebooks."""
    selected = select(paths, names)
    unfinished = translate(paths, selected, verbose=True)
    return 1 if unfinished else 0


def execute_in_place(path: Path, nb: NotebookNode, mode: str, timeout: int | None) -> None:
    """Execute a solution notebook from scratch and record what its outputs came from."""
    name = path.stem
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    start = time.perf_counter()
    try:
        library = execute(nb, name, cwd=path.parent, smoke=mode == "smoke", timeout=timeout)
    except NotebookError:
        failed = Path(tempfile.gettempdir()) / f"{name}.failed.ipynb"
        failed.write_text(dumps(nb), encoding="utf-8")
        print(f"The partly executed notebook is in {failed}", file=sys.stderr)
        raise
    seconds = time.perf_counter() - start
    actual = executed_mode(nb) or mode
    if actual != mode:
        print(f"{name}: WARNING: asked for {mode} mode, but the first cell ran in {actual} mode")
    nb.metadata["course"] = {"executed": make_record(nb, actual, library)}
    print(f"{name}: executed in {seconds:.1f} s ({actual})", flush=True)


def command_run(
    paths: Paths, names: Sequence[str], smoke: bool, force: bool, timeout: int | None
) -> int:
    """Execute stale (or all, with force) solution notebooks, then rebuild the student ones."""
    mode = "smoke" if smoke else "full"
    selected = select(paths, names)
    for path in selected:  # fail on bad markup before spending time on execution
        find_exercises(read(path), path.stem)
    stamp_repository(paths, selected)
    for path in selected:
        name = path.stem
        nb = read(path)
        reason = staleness(nb, name) or library_staleness(nb, name, paths.root)
        if reason is None and record(nb).get("mode") != mode:
            reason = f"{name} was last executed in {record(nb).get('mode')} mode."
        if reason or force:
            print(f"{name}: executing in {mode} mode ({reason or 'forced'}) ...", flush=True)
            execute_in_place(path, nb, mode, timeout)
        else:
            print(f"{name}: up to date ({mode}), not executed")
        if write_if_changed(path, dumps(normalise(nb))):
            print(f"{name}: wrote {show(path)}")
        build_student(path, paths, read(path))
    if not names:
        remove_orphans(paths)
    translate(paths, selected, verbose=False)
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
        nb.metadata["course"] = {"executed": make_record(nb, mode, library=None)}
        write_if_changed(path, dumps(normalise(nb)))
        build_student(path, paths, read(path))
        print(f"{name}: recorded as executed in {mode} mode; student version rebuilt")
    return 0


def command_check(paths: Paths, names: Sequence[str]) -> int:
    """Verify every selected notebook and its student version without writing anything."""
    failures = 0
    for path in select(paths, names):
        found = check_notebook(path, paths)
        failures += bool(found.problems)
        print(f"{path.stem}: " + ("PROBLEMS" if found.problems else "ok"))
        for problem in found.problems:
            print("  - " + problem.replace("\n", "\n    "))
        for warning in found.warnings:
            print("  ! warning: " + warning.replace("\n", "\n    "))
        for problem in chinese_problems(path, paths):
            failures += 1
            print(f"  - (Chinese) {problem}")
    for problem in common_problems(paths):
        failures += 1
        print(f"(Chinese) {problem}")
    for problem in document_problems(paths.root, repository_url(paths.root)):
        failures += 1
        print(problem)
    if not names:
        for orphan in orphan_students(paths):
            failures += 1
            print(f"{show(orphan)} has no solution notebook. Run: {REBUILD_STUDENTS}")
        for orphan in orphan_chinese(paths):
            failures += 1
            print(f"{show(orphan)} belongs to no lesson; delete it.")
    print("all notebooks ok" if not failures else f"{failures} problem(s)")
    return 1 if failures else 0


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python3 course.py notebooks",
        description="Run the solution notebooks, build the student notebooks, check both.",
    )
    parser.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--student-dir", type=Path, default=STUDENT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--catalogues-dir", type=Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute changed solution notebooks, rebuild student ones")
    run.add_argument("--smoke", action="store_true", help="smoke mode (COURSE_SMOKE=1)")
    run.add_argument("--force", action="store_true", help="execute even if up to date")
    run.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    run.add_argument("names", nargs="*", help="notebooks (default: all)")
    students = sub.add_parser("students", help="rebuild the student notebooks only")
    students.add_argument("names", nargs="*")
    translate_ = sub.add_parser("translate", help="update the Chinese catalogues and notebooks")
    translate_.add_argument("names", nargs="*")
    check = sub.add_parser("check", help="verify notebooks and student versions, write nothing")
    check.add_argument("names", nargs="*")
    stamp = sub.add_parser("stamp", help="adopt notebooks executed by another tool (nbconvert)")
    stamp.add_argument("names", nargs="+")
    args = parser.parse_args(list(argv) if argv is not None else None)
    catalogues = args.catalogues_dir.resolve() if args.catalogues_dir else None
    paths = Paths(
        args.notebooks_dir.resolve(), args.student_dir.resolve(), args.root.resolve(), catalogues
    )
    try:
        if args.command == "run":
            return command_run(paths, args.names, args.smoke, args.force, args.timeout)
        if args.command == "students":
            return command_students(paths, args.names)
        if args.command == "translate":
            return command_translate(paths, args.names)
        if args.command == "stamp":
            return command_stamp(paths, args.names)
        return command_check(paths, args.names)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
