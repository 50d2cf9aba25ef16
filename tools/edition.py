"""The Chinese edition on disk: update each lesson's catalogue, write its Chinese notebooks, check both.

    notebooks/zh/NN_name.ipynb   the Chinese solution notebook (outputs of the English run)
    student/zh/NN_name.ipynb     its student version (Chinese hints in the stubs)

The catalogues themselves are tools/translations.py's; this module builds the Chinese notebooks
from them and reads and writes the files.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import polib
from nbformat import NotebookNode

from tools.exercises import EXERCISE_RE, HINT_RE, find_exercises, make_student, stub_message_zh
from tools.normal_form import NotebookError, dumps, normalise, read, show, write_if_changed
from tools.translations import (
    CATALOGUES,
    COMMON,
    LOCALE,
    TRANSLATE,
    Merge,
    catalogue_path,
    catalogue_problems,
    catalogue_text,
    common_messages,
    entry_problems,
    first_line,
    lesson_messages,
    notebook_messages,
    read_catalogue,
    update_catalogue,
)
from tools.verify import Paths

ZH = "zh"
SETUP_LINE = "settings = cu.setup(smoke=SMOKE, seed=0)"
SETUP_LINE_ZH = 'settings = cu.setup(smoke=SMOKE, seed=0, lang="zh")  # 检查用中文说明'


# --------------------------------------------------------------------------------------------
# The Chinese notebooks' text
# --------------------------------------------------------------------------------------------


def _exercise_lines(source: str, chinese: dict[str, str], title: str, hint: str) -> str:
    """An exercise cell with its title and hint lines in Chinese (one hint line)."""
    out, hint_written = [], False
    for line in source.splitlines():
        if m := EXERCISE_RE.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# 练习 {m.group(1)}：{chinese[title]}")
        elif HINT_RE.match(line):
            if not hint_written:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}# 提示：{chinese[hint]}")
                hint_written = True
        else:
            out.append(line)
    return "\n".join(out)


PASSED = "\u2714 {name}: correct"  # what course_utils.checks.base.passed prints
PASSED_RE = re.compile(r"^\u2714 (.+): correct$", re.MULTILINE)
PLACEHOLDER_SPLIT = re.compile(r"\{(\w+)(?:[:!][^{}]*)?\}")


def _fill(template: str, values: dict[str, str]) -> str:
    """`template` with each `{placeholder}` replaced by its (already formatted) value."""
    return PLACEHOLDER_SPLIT.sub(lambda f: values.get(f[1], f[0]), template)


def _chinese_name(name: str, chinese: dict[str, str]) -> str | None:
    """The Chinese of a check's exercise name, also when the name was formatted from a template
    such as "Exercise 3 (BCEWithLogitsLoss = {value:.4f})" (its values are copied)."""
    if name in chinese:
        return chinese[name]
    for english, translated in chinese.items():
        parts = PLACEHOLDER_SPLIT.split(english)  # text, placeholder, text, placeholder, ...
        if len(parts) == 1:
            continue
        groups: dict[str, int] = {}
        pattern = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif part in groups:  # the same placeholder again: the same text again
                pattern += f"(?:\\{groups[part]})"
            else:
                groups[part] = len(groups) + 1
                pattern += "(.+?)"
        if m := re.fullmatch(pattern, name):
            return _fill(translated, {key: m[group] for key, group in groups.items()})
    return None


def _chinese_passes(text: str, chinese: dict[str, str]) -> str:
    """A check cell's output with its "✔ Exercise N (...): correct" lines as the Chinese
    checks print them, so that the solution notebook shows what a Chinese student sees."""
    template = chinese.get(PASSED)
    if template is None:
        return text

    def chinese_line(m: re.Match[str]) -> str:
        name = _chinese_name(m.group(1), chinese)
        return m[0] if name is None else template.format(name=name)

    return PASSED_RE.sub(chinese_line, text)


def chinese_notebook(nb: NotebookNode, name: str, chinese: dict[str, str]) -> NotebookNode:
    """The Chinese solution notebook: markdown and exercise lines translated, code and outputs
    as in the English notebook (but the checks' "correct" lines, which the Chinese checks print
    in Chinese), the first cell asking the checks for Chinese."""
    missing = [m for m in notebook_messages(nb, name) if m.text not in chinese]
    if missing:
        raise NotebookError(
            f"{name}: {len(missing)} text(s) have no finished translation (first: "
            f"{missing[0].anchor}). Run: {TRANSLATE} {name}"
        )
    zh = copy.deepcopy(nb)
    exercises = {e.cell_index: e for e in find_exercises(nb, name)}
    for index, cell in enumerate(zh.cells):
        if cell.cell_type == "markdown" and cell.source.strip():
            cell.source = chinese[cell.source]
        elif index in exercises:
            exercise = exercises[index]
            cell.source = _exercise_lines(cell.source, chinese, exercise.title, exercise.hint)
        if cell.cell_type == "code" and "checks." in cell.source:
            for output in cell.get("outputs", []):
                if output.get("name") == "stdout":
                    output.text = _chinese_passes(output.text, chinese)
    setup = next((c for c in zh.cells if c.cell_type == "code"), None)
    if setup is not None and "import course_utils" in setup.source:  # a lesson (not a fixture)
        if SETUP_LINE not in setup.source:
            raise NotebookError(
                f"{name}: the first code cell has no line {SETUP_LINE!r} to make Chinese."
            )
        setup.source = setup.source.replace(SETUP_LINE, SETUP_LINE_ZH)
    zh.metadata["course"] = {"language": LOCALE}  # no execution record: the English has it
    return normalise(zh, ids_from=nb)


def todo_list(po: polib.POFile) -> list[str]:
    """One line per entry a translator must look at: what it is and how its English starts."""
    lines = []
    for entry in po:
        if entry.obsolete or (entry.translated() and not entry_problems(entry)):
            continue
        state = "fuzzy" if entry.fuzzy else "untranslated" if not entry.msgstr else "to fix"
        lines.append(f"{state:12} {entry.comment:24} {first_line(entry.msgid)}")
    return lines


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


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
    po_path = catalogue_path(name, paths.catalogues)
    po, merge = update_catalogue(read_catalogue(po_path), messages)
    write_if_changed(po_path, catalogue_text(po))
    return Lesson(name, po, merge, catalogue_problems(name, po, messages))


def common_catalogue(paths: Paths) -> Path | None:
    """The catalogue of the shared check helpers: always the repository's own (None where the
    root has no course_utils, as in the tool's tests)."""
    if not (paths.root / "course_utils" / "checks" / "base.py").exists():
        return None
    return catalogue_path(COMMON, paths.root / CATALOGUES)


def update_common(paths: Paths) -> list[Lesson]:
    """The same for the messages that every lesson's checks share (none without course_utils)."""
    po_path = common_catalogue(paths)
    if po_path is None:
        return []
    messages = common_messages(paths.root)
    po, merge = update_catalogue(read_catalogue(po_path), messages)
    write_if_changed(po_path, catalogue_text(po))
    return [Lesson(COMMON, po, merge, catalogue_problems(COMMON, po, messages))]


def translations(po: polib.POFile) -> dict[str, str]:
    """English -> Chinese for every finished (translated, not fuzzy) entry."""
    return {e.msgid: e.msgstr for e in po.translated_entries()}


def chinese_texts(path: Path, paths: Paths, po: polib.POFile) -> tuple[str, str]:
    """The Chinese solution and student notebooks of one lesson, as written to disk."""
    common = common_catalogue(paths)
    shared = translations(read_catalogue(common)) if common is not None else {}
    zh = chinese_notebook(read(path), path.stem, {**shared, **translations(po)})
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
    lessons = update_common(paths) + [update_lesson(path, paths) for path in selected]
    for lesson in lessons:
        m = lesson.merge
        counts = f"{len(lesson.catalogue)} texts"
        if m.fuzzy or m.new or m.removed:
            counts += (
                f" ({m.fuzzy} changed, {m.new} new, {m.removed} removed since the last update)"
            )
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
    po = read_catalogue(catalogue_path(name, paths.catalogues))
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
    po_path = common_catalogue(paths)
    if po_path is None:
        return []
    return catalogue_problems(COMMON, read_catalogue(po_path), common_messages(paths.root))


def orphan_chinese(paths: Paths) -> list[Path]:
    """Chinese notebooks and catalogues whose English lesson no longer exists."""
    lessons = {p.stem for p in paths.solutions()}
    found = [
        p
        for folder in (paths.notebooks / ZH, paths.student / ZH)
        for p in sorted(folder.glob("*.ipynb"))
        if p.stem not in lessons
    ]
    found += [p for p in sorted(paths.catalogues.glob("*.po")) if p.stem not in lessons | {COMMON}]
    return found
