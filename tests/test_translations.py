"""The Chinese edition: catalogues complete and in step, notebooks regenerated, checks in Chinese.

The committed lessons are checked as CI checks them; the tool's behaviour (a changed English
text becomes fuzzy, the check names the lesson and the command) on a copy of the fixture lesson.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polib
import pytest

import course_utils as cu
from course_utils import i18n
from tools import edition
from tools import notebooks as tool
from tools import translations as tr

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FIXTURE = "90_fixture_lesson"
PATHS = tool.Paths()
SOLUTIONS = PATHS.solutions()


# ------------------------------------------------------------------------------------------
# The committed edition
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_lesson_is_translated_and_its_chinese_notebooks_are_current(path):
    """No missing, fuzzy or obsolete entry; placeholders, code, links, numbers and headings kept;
    regenerating the Chinese notebooks changes nothing."""
    problems = edition.chinese_problems(path, PATHS)
    assert not problems, "\n".join(problems)


def test_shared_check_messages_are_translated_and_nothing_is_orphaned():
    assert not edition.common_problems(PATHS)
    assert not edition.orphan_chinese(PATHS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_chinese_student_notebook_holds_chinese_hints(path):
    solution, student = edition.chinese_paths(path, PATHS)
    zh = tool.read(solution)
    exercises = tool.find_exercises(zh, path.stem)
    assert exercises, f"{path.stem}: no exercises found in the Chinese notebook"
    stubs = [c.source for c in tool.read(student).cells if "NotImplementedError" in c.source]
    assert len(stubs) >= len(exercises)
    for exercise in exercises:
        stub = json.dumps(f"练习 {exercise.number} 由你来写：{exercise.hint}", ensure_ascii=False)
        assert any(stub[1:-1] in s for s in stubs), stub  # as written in the raise line
        assert any("\u4e00" <= ch <= "\u9fff" for ch in exercise.hint), exercise.hint
    filled = tool.fill_solutions(tool.read(student), zh, path.stem)
    assert [c.source for c in filled.cells] == [c.source for c in zh.cells]


def test_chinese_notebook_keeps_the_english_code_and_outputs():
    path = SOLUTIONS[0]
    english = tool.read(path)
    chinese = tool.read(edition.chinese_paths(path, PATHS)[0])
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    for en, zh in zip(english.cells, chinese.cells, strict=True):
        if en.cell_type == "code" and "checks." not in en.source:  # checks: see below
            assert zh.get("outputs") == en.get("outputs")
            changed = [
                (a, b) for a, b in zip(en.source.splitlines(), zh.source.splitlines(), strict=True)
                if a != b
            ]  # fmt: skip
            for a, b in changed:  # only the set-up line and the exercise lines differ
                assert "lang=" in b or b.lstrip().startswith(("# 练习", "# 提示")), (a, b)


# ------------------------------------------------------------------------------------------
# The checks speak Chinese
# ------------------------------------------------------------------------------------------


def test_a_check_message_appears_in_chinese(chinese):
    with pytest.raises(cu.checks.ExerciseError) as caught:
        cu.checks.lesson00.exercise_1([1, 2, 3])
    message = str(caught.value)
    assert "应当是 torch.Tensor" in message and "提示：" in message
    assert "should be" not in message


def test_english_by_default_and_setup_chooses_the_language(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_LANG", raising=False)
    i18n.set_language(None)
    assert i18n._("{name} has shape {shape}, expected {expected}.").startswith("{name} has")
    try:
        cu.setup(smoke=True, lang="zh", verbose=False)
        assert i18n.current_language() == "zh"
        assert "形状" in i18n._("{name} has shape {shape}, expected {expected}.")
        cu.setup(smoke=True, verbose=False)  # lang=None: back to $COURSE_LANG, here unset
        assert i18n.current_language() == "en"
        monkeypatch.setenv("COURSE_LANG", "zh_CN")
        assert i18n.current_language() == "zh"
    finally:
        i18n.set_language(None)


def test_an_unknown_language_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="'en', 'zh'"):
        i18n.set_language("fr")


def test_an_untranslated_message_stays_english(chinese):
    assert i18n._("no catalogue has this text") == "no catalogue has this text"


# ------------------------------------------------------------------------------------------
# The tool: fuzzy on change, problems named, regeneration stable
# ------------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path):
    for folder in ("notebooks", "student", "locale"):
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tool.Paths(tmp_path / "notebooks", tmp_path / "student", tmp_path, tmp_path / "locale")


def translate(paths):
    return tool.main(
        [
            *("--notebooks-dir", str(paths.notebooks), "--student-dir", str(paths.student)),
            *("--root", str(paths.root), "--catalogues-dir", str(paths.catalogues), "translate"),
        ]
    )


def edit_markdown(paths, old, new):
    path = paths.notebooks / f"{FIXTURE}.ipynb"
    nb = tool.read(path)
    index, cell = next(
        (i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and old in c.source
    )
    before = cell.id
    cell.source = cell.source.replace(old, new)
    nb = tool.normalise(nb)  # as `run` writes it: ids follow the content, so the id changes
    assert nb.cells[index].id != before
    path.write_text(tool.dumps(nb), encoding="utf-8")


def test_translating_a_finished_lesson_changes_nothing(workspace, capsys):
    before = {p: p.read_bytes() for p in workspace.root.rglob("*") if p.is_file()}
    assert translate(workspace) == 0
    after = {p: p.read_bytes() for p in workspace.root.rglob("*") if p.is_file()}
    assert after == before


def test_a_changed_paragraph_becomes_fuzzy_and_the_check_names_lesson_and_command(
    workspace, capsys
):
    edit_markdown(workspace, "That is all.", "That is all for now.")
    path = workspace.notebooks / f"{FIXTURE}.ipynb"
    problems = edition.chinese_problems(path, workspace)
    assert problems and FIXTURE in problems[0] and "out of step" in problems[0]
    assert f"python3 course.py notebooks translate {FIXTURE}" in problems[0]

    assert translate(workspace) == 1  # unfinished: it lists what to re-translate
    out = capsys.readouterr().out
    assert "fuzzy" in out and "## Summary" in out and "1 changed" in out
    po = polib.pofile(str(workspace.catalogues / f"{FIXTURE}.po"))
    (entry,) = po.fuzzy_entries()
    assert entry.msgid.endswith("That is all for now.")
    assert entry.previous_msgid.endswith("That is all.")  # the translator sees the old English
    assert entry.msgstr.endswith("就这些。")  # and the old translation, to adapt
    problems = edition.chinese_problems(path, workspace)
    assert any("1 fuzzy" in p and FIXTURE in p and "translate" in p for p in problems)

    entry.msgstr = "## 小结\n\n暂时就这些。"
    entry.flags.remove("fuzzy")
    entry.previous_msgid = None
    (workspace.catalogues / f"{FIXTURE}.po").write_text(tr.catalogue_text(po), encoding="utf-8")
    assert translate(workspace) == 0
    assert not edition.chinese_problems(path, workspace)
    zh = (workspace.notebooks / "zh" / f"{FIXTURE}.ipynb").read_text(encoding="utf-8")
    assert "暂时就这些。" in zh


def test_a_new_paragraph_is_untranslated_and_a_removed_one_goes(workspace, capsys):
    path = workspace.notebooks / f"{FIXTURE}.ipynb"
    nb = tool.read(path)
    nb.cells.pop(2)  # "## Progress bars"
    nb.cells.insert(2, tool.read(path).cells[0].copy())
    nb.cells[2].source = "A brand-new paragraph."
    nb.cells[2].id = "newcell1"
    path.write_text(tool.dumps(nb), encoding="utf-8")
    assert translate(workspace) == 1
    po = polib.pofile(str(workspace.catalogues / f"{FIXTURE}.po"))
    assert [e.msgid for e in po.untranslated_entries()] == ["A brand-new paragraph."]
    assert not any("Progress bars" in e.msgid for e in po)
    assert not po.obsolete_entries()


def test_a_reworded_check_message_keeps_its_translation_as_fuzzy():
    old = polib.POFile()
    old.append(polib.POEntry(msgid="{name} has shape {shape}.", msgstr="{name} 的形状是 {shape}。",
                             comment="check", flags=[tr.BRACE]))  # fmt: skip
    messages = [
        tr.Message("{name} has the shape {shape}.", "check", ("x.py", "3")),
        tr.Message("something else entirely", "check", ("x.py", "9")),
    ]
    po, merge = tr.update_catalogue(old, messages)
    assert (merge.fuzzy, merge.new, merge.removed) == (1, 1, 0)
    assert po[0].fuzzy and po[0].msgstr == "{name} 的形状是 {shape}。" and not po[1].msgstr
    text = tr.catalogue_text(po)
    assert tr.catalogue_text(tr.update_catalogue(po, messages)[0]) == text  # stable


@pytest.mark.parametrize(
    "english, chinese, words",
    [
        ("{name} has shape {shape}.", "{name} 的形状是 {形状}。", "placeholders"),
        ("Use `torch.stack` here.", "这里用 torch.stack。", "lost code `torch.stack`"),
        ("See https://pytorch.org for more.", "详见官网。", "lost links"),
        ("It reached 99.32% after 3 epochs.", "3 轮后达到了很高的准确率。", "lost numbers 99.32%"),
        ("## 2. Heading\n\ntext", "2. 标题\n\n正文", "headings"),
    ],
)
def test_a_translation_that_drops_code_links_numbers_or_placeholders_is_a_problem(
    english, chinese, words
):
    flags = [tr.BRACE] if "{" in english else []
    entry = polib.POEntry(msgid=english, msgstr=chinese, comment="cell abc", flags=flags)
    problems = tr.entry_problems(entry)
    assert any(words in p for p in problems), problems


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_chinese_solution_shows_the_checks_passing_in_chinese(path):
    """The copied outputs of the check cells say "✔ 练习 N（...）：正确", as the Chinese checks print."""
    zh = tool.read(edition.chinese_paths(path, PATHS)[0])
    outputs = [o.get("text", "") for c in zh.cells if c.cell_type == "code" for o in c.outputs]
    passes = [line for text in outputs for line in text.splitlines() if line.startswith("\u2714")]
    assert passes, f"{path.stem}: no check output found"
    assert all(line.startswith("\u2714 练习") and line.endswith("：正确") for line in passes), passes


def test_a_formatted_check_name_is_translated_with_its_values():
    chinese = {
        "\u2714 {name}: correct": "\u2714 {name}：正确",
        "Exercise 3 (BCEWithLogitsLoss = {value:.4f})": "练习 3（BCEWithLogitsLoss = {value:.4f}）",
        "Exercise 4 ({a} of {b}, {a} again)": "练习 4（{b} 中的 {a}，又是 {a}）",
    }
    text = "x\n\u2714 Exercise 3 (BCEWithLogitsLoss = 25.1516): correct\n\u2714 Exercise 4 (2 of 8, 2 again): correct\n"
    assert edition._chinese_passes(text, chinese) == (
        "x\n\u2714 练习 3（BCEWithLogitsLoss = 25.1516）：正确\n\u2714 练习 4（8 中的 2，又是 2）：正确\n"
    )
    assert edition._chinese_passes("\u2714 Exercise 9 (unknown): correct", chinese) == (
        "\u2714 Exercise 9 (unknown): correct"  # no translation: left as printed
    )
