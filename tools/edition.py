"""The Chinese edition on disk: update each lesson's catalogue, write its Chinese notebooks, check both.

    notebooks/zh/NN_name.ipynb   the Chinese solution notebook (outputs of the English run)
    student/zh/NN_name.ipynb     its student version (Chinese hints in the stubs)

The text itself is in tools/translations.py; this module reads and writes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polib

from tools.exercises import make_student, stub_message_zh
from tools.normal_form import NotebookError, dumps, read, show, write_if_changed
from tools.translations import (
    COMMON,
    TRANSLATE,
    Merge,
    catalogue_path,
    catalogue_problems,
    catalogue_text,
    chinese_notebook,
    common_messages,
    lesson_messages,
    read_catalogue,
    todo_list,
    translations,
    update_catalogue,
)
from tools.verify import Paths

ZH = "zh"


def chinese_paths(path: Path, paths: Paths) -> tuple[Path, Path]:
    """The Chinese solution and student notebooks of the English solution notebook `path`."""
    return paths.notebooks / ZH / path.name, paths.student / ZH / path.name


@dataclass
class Lesson:
    """One lesson's catalogue after an update, and what the update did."""

    name: str
    catalogue: polib.POFile
    merge: Merge
    problems: list[str]


def update_lesson(path: Path, paths: Paths) -> Lesson:
    """Merge the English of one lesson into its catalogue and write the catalogue if it changed."""
    name = path.stem
    messages = lesson_messages(read(path), name, paths.root)
    po_path = catalogue_path(name, paths.root)
    po, merge = update_catalogue(read_catalogue(po_path), messages)
    write_if_changed(po_path, catalogue_text(po))
    return Lesson(name, po, merge, catalogue_problems(name, po, messages))


def update_common(paths: Paths) -> Lesson:
    """The same for the messages that every lesson's checks share."""
    messages = common_messages(paths.root)
    po_path = catalogue_path(COMMON, paths.root)
    po, merge = update_catalogue(read_catalogue(po_path), messages)
    write_if_changed(po_path, catalogue_text(po))
    return Lesson(COMMON, po, merge, catalogue_problems(COMMON, po, messages))


def chinese_texts(path: Path, paths: Paths, po: polib.POFile) -> tuple[str, str]:
    """The Chinese solution and student notebooks of one lesson, as written to disk."""
    zh = chinese_notebook(read(path), path.stem, translations(po))
    return dumps(zh), dumps(make_student(zh, path.stem, stub_message_zh))


def write_chinese(path: Path, paths: Paths, po: polib.POFile) -> bool:
    """Write one lesson's Chinese notebooks; say whether either file changed."""
    solution, student = chinese_texts(path, paths, po)
    zh_solution, zh_student = chinese_paths(path, paths)
    changed = write_if_changed(zh_solution, solution)
    return write_if_changed(zh_student, student) or changed


def translate(paths: Paths, selected: list[Path], verbose: bool) -> int:
    """Update the catalogues of `selected` lessons (and the shared one), write the Chinese
    notebooks of every finished lesson, and say what is left to translate. Returns how many
    lessons are unfinished."""
    unfinished = 0
    lessons = [update_common(paths)] + [update_lesson(path, paths) for path in selected]
    for lesson in lessons:
        m = lesson.merge
        counts = f"{len(lesson.catalogue)} texts"
        if m.fuzzy or m.new or m.removed:
            counts += f" ({m.fuzzy} changed, {m.new} new, {m.removed} removed since the last update)"
        if lesson.problems:
            unfinished += 1
            print(f"{lesson.name}: Chinese not finished, {counts}")
            for problem in lesson.problems if verbose else lesson.problems[:1]:
                print("  - " + problem)
            if verbose:
                for line in todo_list(lesson.catalogue):
                    print("    " + line)
            continue
        if lesson.name == COMMON:
            print(f"{lesson.name}: Chinese up to date, {counts}")
            continue
        path = next(p for p in selected if p.stem == lesson.name)
        changed = write_chinese(path, paths, lesson.catalogue)
        print(f"{lesson.name}: Chinese {'rebuilt' if changed else 'up to date'}, {counts}")
    return unfinished


def chinese_problems(path: Path, paths: Paths) -> list[str]:
    """What `check` finds wrong with one lesson's Chinese edition (writes nothing)."""
    name = path.stem
    po = read_catalogue(catalogue_path(name, paths.root))
    problems = catalogue_problems(name, po, lesson_messages(read(path), name, paths.root))
    if problems:
        return problems
    try:
        wanted = chinese_texts(path, paths, po)
    except NotebookError as error:
        return [str(error)]
    for target, text in zip(chinese_paths(path, paths), wanted, strict=True):
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            problems.append(f"{show(target)} is not up to date with its lesson and catalogue. "
                            f"Run: {TRANSLATE} {name}")  # fmt: skip
    return problems


def common_problems(paths: Paths) -> list[str]:
    po = read_catalogue(catalogue_path(COMMON, paths.root))
    return catalogue_problems(COMMON, po, common_messages(paths.root))


def orphan_chinese(paths: Paths) -> list[Path]:
    """Chinese notebooks and catalogues whose English lesson no longer exists."""
    lessons = {p.stem for p in paths.solutions()}
    found = [
        p
        for folder in (paths.notebooks / ZH, paths.student / ZH)
        for p in sorted(folder.glob("*.ipynb"))
        if p.stem not in lessons
    ]
    catalogues = catalogue_path(COMMON, paths.root).parent
    found += [p for p in sorted(catalogues.glob("*.po")) if p.stem not in lessons | {COMMON}]
    return found
