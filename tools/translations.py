"""The Chinese edition: one gettext catalogue per lesson, and the Chinese notebooks built from it.

The English solution notebook stays the one source. Each lesson's catalogue,
`course_utils/locale/zh_CN/LC_MESSAGES/NN_name.po`, holds (read and written with polib):

- every markdown cell, whole (one entry per cell: a cell is a few paragraphs, and a translator
  needs the paragraphs around a sentence anyway), keyed to the cell's id;
- every exercise's title and hint (the `# Exercise N:` and `# HINT:` lines);
- every message of `course_utils/checks/lessonNN.py` marked with `_()` or `N_()`.

`checks_common.po` holds the messages of `course_utils/checks/base.py`. Code, outputs and
comments other than the exercise lines are not translated: the Chinese notebooks
(`notebooks/zh/`, `student/zh/`) are the English ones with their markdown and exercise lines
replaced, their first cell asking the checks for Chinese, and the English run's outputs.

`update_catalogue` merges the English into a catalogue as msgmerge does, with one difference:
a changed markdown cell or hint is matched by its cell id or exercise number, not by
similarity, so its old translation comes back marked fuzzy with the old English beside it
(`#| msgid`), and the check fails until a translator has looked at it.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polib
from nbformat import NotebookNode

from tools.exercises import find_exercises
from tools.normal_form import ROOT, NotebookError

LOCALE = "zh_CN"
LANG = "zh"
CATALOGUES = Path("course_utils") / "locale" / LOCALE / "LC_MESSAGES"
COMMON = "checks_common"
TRANSLATE = "python3 course.py notebooks translate"
HEADER = {
    "Project-Id-Version": "pytorch-course",
    "Language": LOCALE,
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}
WRAP = 100
BRACE = "python-brace-format"
PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[:!][^{}]*)?\}")
CODE_SPAN_RE = re.compile(r"`(?:[^`\n]|\n(?!\n))+`")  # a span may wrap onto the next line
URL_RE = re.compile(  # a link, without the punctuation after it (half- or full-width)
    r"https?://[^\s)>\]`，。；：、）」！？]*[^\s)>\]`.,;:!?，。；：、）」！？]"
)
NUMBER_RE = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*%?")  # also right after a Chinese character
HEADING_RE = re.compile(r"^#{1,6} ", re.MULTILINE)


@dataclass(frozen=True)
class Message:
    """One translatable English text and where it comes from."""

    text: str
    anchor: str  # what identifies it across edits: "cell <id>", "exercise 2 hint", "check"
    where: tuple[str, str]  # (file, line or cell id) for the catalogue's `#:` reference


# --------------------------------------------------------------------------------------------
# What is translatable
# --------------------------------------------------------------------------------------------


def notebook_messages(nb: NotebookNode, name: str) -> list[Message]:
    """A notebook's markdown cells and exercise lines, in order."""
    file = f"notebooks/{name}.ipynb"
    exercises = {e.cell_index: e for e in find_exercises(nb, name)}
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.strip():
            found.append(Message(cell.source, f"cell {cell.id}", (file, cell.id)))
        elif index in exercises:
            exercise = exercises[index]
            found.append(
                Message(exercise.title, f"exercise {exercise.number} title", (file, cell.id))
            )
            found.append(
                Message(exercise.hint, f"exercise {exercise.number} hint", (file, cell.id))
            )
    return found


def code_messages(path: Path, root: Path = ROOT) -> list[Message]:
    """The texts a module marks with `_("...")` or `N_("...")`, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    file = path.resolve().relative_to(root.resolve()).as_posix()
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_", "N_"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Message(node.args[0].value, "check", (file, str(node.lineno))))
    return sorted(found, key=lambda m: int(m.where[1]))


def lesson_checks(name: str, root: Path = ROOT) -> Path | None:
    """`course_utils/checks/lessonNN.py` for lesson `NN_name`, if it exists."""
    number = re.match(r"(\d+)_", name)
    path = root / "course_utils" / "checks" / f"lesson{number.group(1)}.py" if number else None
    return path if path is not None and path.exists() else None


def lesson_messages(nb: NotebookNode, name: str, root: Path = ROOT) -> list[Message]:
    """Everything of one lesson to translate: its notebook, then its checks' messages."""
    checks = lesson_checks(name, root)
    return notebook_messages(nb, name) + (code_messages(checks, root) if checks else [])


def common_messages(root: Path = ROOT) -> list[Message]:
    """The messages of the helpers every lesson's checks share."""
    return code_messages(root / "course_utils" / "checks" / "base.py", root)


# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------


def catalogue_path(name: str, folder: Path = ROOT / CATALOGUES) -> Path:
    """Where lesson (or `COMMON`) `name`'s catalogue lives."""
    return folder / f"{name}.po"


def read_catalogue(path: Path) -> polib.POFile | None:
    """The catalogue at `path`, or None if there is none yet."""
    if not path.exists():
        return None
    try:
        return polib.pofile(str(path), wrapwidth=WRAP)
    except OSError as error:  # polib reports a syntax error as an OSError
        raise NotebookError(
            f"{path}: not a readable .po file ({error}); fix or delete it."
        ) from error


@dataclass
class Merge:
    """What `update_catalogue` did."""

    kept: int = 0
    fuzzy: int = 0
    new: int = 0
    removed: int = 0


def _fuzzy(entry: polib.POEntry, old: polib.POEntry) -> None:
    entry.msgstr = old.msgstr
    entry.previous_msgid = old.previous_msgid if old.fuzzy and old.previous_msgid else old.msgid
    entry.flags.append("fuzzy")


def update_catalogue(
    old: polib.POFile | None, messages: list[Message]
) -> tuple[polib.POFile, Merge]:
    """The catalogue for `messages`, keeping `old`'s translations (fuzzy where the English changed).

    First every unchanged text keeps its entry. Then each changed or new text takes the unused old
    entry it most likely replaces, marked fuzzy: an exercise's title or hint by its exercise
    number; a markdown cell or a check message by similarity (cell ids follow the content, so an
    edited cell has a new id).
    """
    po = polib.POFile(wrapwidth=WRAP)
    po.metadata = {**(old.metadata if old is not None else {}), **HEADER}
    previous = [e for e in old if not e.obsolete] if old is not None else []
    by_text = {e.msgid: e for e in previous}
    used: set[int] = set()
    merge = Merge()
    entries: dict[str, polib.POEntry] = {}
    changed: list[tuple[Message, polib.POEntry]] = []
    for message in messages:
        if message.text in entries:  # the same text twice: one entry, two references
            entries[message.text].occurrences.append(message.where)
            continue
        entry = polib.POEntry(msgid=message.text, msgstr="", comment=message.anchor,
                              occurrences=[message.where])  # fmt: skip
        if message.anchor == "check" and PLACEHOLDER_RE.search(message.text):
            entry.flags.append(BRACE)
        entries[message.text] = entry
        same = by_text.get(message.text)
        if same is None:
            changed.append((message, entry))
            continue
        entry.msgstr = same.msgstr
        if same.fuzzy:
            entry.flags.append("fuzzy")
            entry.previous_msgid = same.previous_msgid
        used.add(id(same))
        merge.kept += 1
    for message, entry in changed:
        match = _replaced(message, [e for e in previous if id(e) not in used and e.msgstr])
        if match is None:
            merge.new += 1
            continue
        _fuzzy(entry, match)
        used.add(id(match))
        merge.fuzzy += 1
    for entry in entries.values():
        po.append(entry)
    merge.removed = sum(1 for e in previous if id(e) not in used)
    return po, merge


def _replaced(message: Message, unused: list[polib.POEntry]) -> polib.POEntry | None:
    """The old entry that `message` most likely replaces, if any is close enough."""
    if message.anchor.startswith("exercise"):
        return next((e for e in unused if e.comment == message.anchor), None)
    kind = message.anchor.split()[0]  # "cell" or "check"
    best, best_ratio = None, 0.6 if kind == "cell" else 0.75
    for entry in unused:
        if entry.comment.split()[0] != kind:
            continue
        matcher = difflib.SequenceMatcher(None, entry.msgid, message.text, autojunk=False)
        if matcher.quick_ratio() > best_ratio and (ratio := matcher.ratio()) > best_ratio:
            best, best_ratio = entry, ratio
    return best


def catalogue_text(po: polib.POFile) -> str:
    """The catalogue as written to disk (the same catalogue always gives the same text)."""
    return str(po).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# What a finished catalogue must satisfy
# --------------------------------------------------------------------------------------------


def _preserved(kind: str, pattern: re.Pattern[str], english: str, chinese: str) -> str | None:
    def found(text: str) -> Counter[str]:  # a span wrapped onto two lines equals it on one
        return Counter(re.sub(r"\s+", " ", match) for match in pattern.findall(text))

    missing = found(english) - found(chinese)
    if missing:
        shown = ", ".join(sorted(missing))
        return f"the translation lost {kind} {shown}"
    return None


def entry_problems(entry: polib.POEntry) -> list[str]:
    """What is wrong with one translated entry: placeholders, code, links, numbers, headings."""
    english, chinese = entry.msgid, entry.msgstr
    found = []
    if BRACE in entry.flags:
        wanted = set(PLACEHOLDER_RE.findall(english))
        got = set(PLACEHOLDER_RE.findall(chinese))
        if wanted != got:
            found.append(f"placeholders {sorted(got)} differ from the English {sorted(wanted)}")
    for kind, pattern in (
        ("code", CODE_SPAN_RE),
        ("links", URL_RE),
        ("numbers", NUMBER_RE),
    ):
        problem = _preserved(kind, pattern, english, chinese)
        if problem:
            found.append(problem)
    if entry.comment.startswith("cell") and len(HEADING_RE.findall(english)) != len(
        HEADING_RE.findall(chinese)
    ):
        found.append("the translation has another number of headings than the English")
    return found


def first_line(text: str, width: int = 70) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def catalogue_problems(name: str, po: polib.POFile | None, messages: list[Message]) -> list[str]:
    """Why lesson `name`'s catalogue is not finished (empty if it is)."""
    fix = f"Run: {TRANSLATE} {name} (it marks and lists what to translate)"
    if po is None:
        return [f"{name}: no Chinese catalogue ({CATALOGUES / name}.po). {fix}"]
    texts = {m.text for m in messages}
    present = {e.msgid for e in po if not e.obsolete}
    problems = []
    missing = len(texts - present)
    stale = len(present - texts)
    if missing or stale:
        problems.append(
            f"{name}: the catalogue is out of step with the English ({missing} new or changed "
            f"text(s), {stale} no longer used). {fix}"
        )
    fuzzy = [e for e in po.fuzzy_entries() if not e.obsolete]
    untranslated = [
        e for e in po.untranslated_entries() if not e.obsolete and "fuzzy" not in e.flags
    ]
    if fuzzy or untranslated:
        problems.append(
            f"{name}: {len(untranslated)} untranslated and {len(fuzzy)} fuzzy (English changed) "
            f"entr{'y' if len(untranslated) + len(fuzzy) == 1 else 'ies'} in {CATALOGUES / name}.po. {fix}"
        )
    obsolete = po.obsolete_entries()
    if obsolete:
        problems.append(
            f"{name}: {len(obsolete)} obsolete entries (#~) left in the catalogue. {fix}"
        )
    for entry in po.translated_entries():
        for problem in entry_problems(entry):
            problems.append(f"{name}: {entry.comment} ({first_line(entry.msgid)!r}): {problem}")
    return problems
