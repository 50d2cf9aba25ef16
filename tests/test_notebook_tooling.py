"""The instructor tool (tools/notebooks.py) on small fixture notebooks in tests/fixtures/.

tests/fixtures/notebooks/90_fixture_lesson.ipynb is a tiny solution notebook (no torch, no data)
committed as the tool writes it; tests/fixtures/student/ holds the student version it generates.
Tests that start a kernel take a few seconds each.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import execute as execution
from tools import exercises, normal_form, repository
from tools import notebooks as tool

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
GOOD = FIXTURES / "notebooks" / "90_fixture_lesson.ipynb"
GOOD_STUDENT = FIXTURES / "student" / "90_fixture_lesson.ipynb"
SANITIZE = ROOT / "notebooks" / "nbval_sanitize.cfg"


@pytest.fixture()
def workspace(tmp_path):
    """A copy of the fixture notebooks and student versions, as a fresh clone would have them,
    with the repository files the tool reads and stamps (pyproject.toml, README, CONTRIBUTING)."""
    shutil.copytree(FIXTURES / "notebooks", tmp_path / "notebooks")
    shutil.copytree(FIXTURES / "student", tmp_path / "student")
    shutil.copytree(FIXTURES / "locale", tmp_path / "locale")
    for name in ("pyproject.toml", *repository.DOCUMENTS):
        shutil.copy(ROOT / name, tmp_path / name)
    return tool.Paths(tmp_path / "notebooks", tmp_path / "student", tmp_path, tmp_path / "locale")


def cli(paths, *args):
    """Run the tool's command line on a workspace; return its exit code."""
    return tool.main(
        [
            *("--notebooks-dir", str(paths.notebooks), "--student-dir", str(paths.student)),
            *("--root", str(paths.root), "--catalogues-dir", str(paths.catalogues), *args),
        ]
    )


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes, to compare before and after a command."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def exercise_cell(body: str) -> str:
    return "# Exercise 4: do it\n# HINT: like this.\n" + body


# ------------------------------------------------------------------------------------------
# The transform: solution -> student
# ------------------------------------------------------------------------------------------


def test_student_version_of_fixture_is_the_committed_one():
    nb = tool.read(GOOD)
    assert tool.dumps(tool.make_student(nb, GOOD.stem)) == GOOD_STUDENT.read_text(encoding="utf-8")


def test_solution_lines_become_a_stub_with_number_and_hint():
    nb = tool.read(GOOD)
    student = tool.make_student(nb, GOOD.stem)
    sources = {c.id: c.source for c in student.cells}
    ex1 = next(s for s in sources.values() if s.startswith("# Exercise 1"))
    assert ex1 == (
        "# Exercise 1: add the numbers 1 to 10\n"
        "# HINT: sum(range(...)) adds a range; mind where it stops.\n"
        'raise NotImplementedError("Exercise 1 is yours to write: sum(range(...)) adds a range; '
        "mind where it stops. The cells above this one ran; replace this line with your code, "
        'then run this cell and the check below it.")\n'
        "print(total)"
    )
    ex2 = next(s for s in sources.values() if s.startswith("# Exercise 2"))
    assert (
        '    raise NotImplementedError("Exercise 2 is yours to write: x * x, or x ** 2. The cells'
        in ex2
    )
    assert "return x * x" not in ex2 and "SOLUTION" not in ex2
    ex3 = next(s for s in sources.values() if s.startswith("# Exercise 3"))
    assert ex3.count("raise NotImplementedError") == 2  # two blocks, two stubs
    assert "second = 2 * first" in ex3  # code between the blocks is kept
    compile(ex3, "exercise 3", "exec")  # the stub is valid Python even with quotes in the hint


def test_student_version_keeps_everything_else_and_clears_outputs():
    nb = tool.read(GOOD)
    student = tool.make_student(nb, GOOD.stem)
    assert len(student.cells) == len(nb.cells)
    for solution_cell, student_cell in zip(nb.cells, student.cells, strict=True):
        assert student_cell.id == solution_cell.id
        assert student_cell.cell_type == solution_cell.cell_type
        if "BEGIN SOLUTION" not in solution_cell.source:
            assert student_cell.source == solution_cell.source  # checks and prose kept
        if student_cell.cell_type == "code":
            assert student_cell.outputs == [] and student_cell.execution_count is None
    assert any(c.get("outputs") for c in nb.cells)  # the solution did have outputs
    assert set(student.metadata) == {"kernelspec", "language_info"}  # no record, no widget state
    assert "course" in nb.metadata and "widgets" in nb.metadata


@pytest.mark.parametrize(
    ("fixture", "cell", "words"),
    [
        ("missing_end", 2, "'# BEGIN SOLUTION' without '# END SOLUTION'"),
        ("missing_hint", 3, "Exercise 1 has no hint"),
    ],
)
def test_bad_markup_names_notebook_and_cell(fixture, cell, words, tmp_path, capsys):
    path = FIXTURES / "bad" / f"{fixture}.ipynb"
    with pytest.raises(tool.NotebookError) as error:
        tool.make_student(tool.read(path), fixture)
    message = str(error.value)
    assert f"{fixture}.ipynb, cell {cell} " in message and words in message
    # the command line says the same and writes nothing
    paths = tool.Paths(FIXTURES / "bad", tmp_path / "student")
    assert cli(paths, "students", fixture) == 1
    assert f"{fixture}.ipynb, cell {cell} " in capsys.readouterr().err
    assert not (tmp_path / "student").exists()


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            exercise_cell("x = 1\n# END SOLUTION"),
            "line 4: '# END SOLUTION' without a '# BEGIN SOLUTION'",
        ),
        (
            exercise_cell("# BEGIN SOLUTION\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION"),
            "inside another solution block",
        ),
        (
            "# Exercise 4: do it\n# BEGIN SOLUTION\n# HINT: late\nx = 1\n# END SOLUTION",
            "'# HINT:' inside the solution block",
        ),
        (
            "# HINT: h\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
            "without an '# Exercise N: title' line",
        ),
        (exercise_cell("x = 1"), "'Exercise 4' has no solution block"),
        (
            "# Exercise 4: a\n# Exercise 5: b\n# HINT: h\n# BEGIN SOLUTION\n# END SOLUTION",
            "two '# Exercise N:'",
        ),
    ],
)
def test_other_markup_mistakes_are_explained(source, words):
    with pytest.raises(tool.NotebookError, match=re.escape(words)):
        exercises.parse_exercise(source, "lesson.ipynb, cell 7")


def test_cells_without_markup_are_not_exercises():
    assert exercises.parse_exercise("x = 1  # a comment about solutions\nprint(x)", "here") is None


def test_exercise_rules_unchecked_and_misnumbered_exercises():
    nb = new_notebook(
        cells=[
            new_code_cell("# Exercise 1: a\n# HINT: h\n# BEGIN SOLUTION\na = 1\n# END SOLUTION"),
            new_code_cell("cu.checks.lesson05.exercise_1(a)"),
            new_code_cell("# Exercise 3: b\n# HINT: h\n# BEGIN SOLUTION\nb = 1\n# END SOLUTION"),
            new_markdown_cell("no check call follows exercise 3"),
        ]
    )
    problems = "\n".join(tool.exercise_problems(nb, "05_mnist"))
    assert "2 exercise(s); a lesson ends with at least 3" in problems
    assert "numbered [1, 3]" in problems
    assert "Exercise 3 has no check" in problems
    assert "Exercise 1 has no check" not in problems
    nb.cells[1].source = "cu.checks.lesson04.exercise_1(a)"
    assert "checked by lesson04, but this is lesson 05" in "\n".join(
        tool.exercise_problems(nb, "05_mnist")
    )
    assert tool.exercise_problems(tool.read(GOOD), GOOD.stem) == []


# ------------------------------------------------------------------------------------------
# Normal form and the source hash
# ------------------------------------------------------------------------------------------


def test_source_hash_follows_sources_not_outputs():
    nb = tool.read(GOOD)
    before = normal_form.source_hash(nb)
    other = copy.deepcopy(nb)
    for cell in other.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    other.metadata = {}
    assert normal_form.source_hash(other) == before
    other.cells[0].source += " "
    assert normal_form.source_hash(other) != before


def test_normal_form_is_stable_and_removes_noise():
    nb = tool.read(GOOD)
    committed = GOOD.read_text(encoding="utf-8")
    assert tool.dumps(tool.normalise(copy.deepcopy(nb))) == committed  # idempotent
    assert committed.endswith("}\n") and committed.startswith('{\n "cells": [\n  {\n')
    noisy = copy.deepcopy(nb)
    noisy.metadata["language_info"]["version"] = "3.12.1"
    noisy.metadata["kernelspec"]["display_name"] = "course (venv)"
    noisy.metadata["colab"] = {"provenance": []}
    for index, cell in enumerate(noisy.cells):
        cell.id = f"random-{index}-{os.getpid()}"
        cell.metadata["execution"] = {"iopub.status.busy": "2026-11-22T00:00:00Z"}
        cell.metadata["ExecuteTime"] = {"end_time": "2026-11-22T00:00:01Z"}
        cell.metadata["scrolled"] = True
    noisy.cells[1].metadata["tags"] = ["keep-me"]
    result = tool.normalise(noisy)
    assert result.cells[1].metadata == {"tags": ["keep-me"]}
    result.cells[1].metadata = {}
    assert tool.dumps(result) == committed


def test_cell_ids_are_deterministic_unique_and_local():
    nb = new_notebook(
        cells=[new_code_cell("x = 1"), new_markdown_cell("x = 1"), new_code_cell("x = 1")]
    )
    ids = normal_form.cell_ids(nb)
    assert len(set(ids)) == 3 and ids == normal_form.cell_ids(copy.deepcopy(nb))
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids)
    nb.cells.insert(0, new_markdown_cell("# new heading"))
    assert normal_form.cell_ids(nb)[1:] == ids  # inserting a cell renames no other cell


def test_consecutive_streams_are_merged_and_carriage_returns_applied():
    nb = new_notebook(cells=[new_code_cell("pass")])
    stream = nbformat.v4.new_output
    nb.cells[0].outputs = [
        stream("stream", name="stdout", text="a\n"),
        stream("stream", name="stdout", text="10%\r50%\r100%\n"),
        stream("display_data", data={"text/plain": "fig"}),
        stream("stream", name="stdout", text="b\n"),
    ]
    outputs = tool.normalise(nb).cells[0].outputs
    assert [o.get("text") for o in outputs] == ["a\n100%\n", None, "b\n"]


NESTED_BARS = (  # what tqdm's text bar writes for an outer bar and an inner leave=False bar
    "\repochs:   0%|          | 0/2 [00:00<?, ?it/s]",
    "\n", "\rbatches:   0%|          | 0/3 [00:00<?, ?it/s]", "\x1b[A",
    "\n", "\rbatches: 100%|██████████| 3/3 [00:00<00:00,  6.60it/s]", "\x1b[A",
    "\n", "\r                                                      ", "\x1b[A",
    "\repochs:  50%|█████     | 1/2 [00:00<00:00,  2.17it/s]",
    "\n", "\rbatches: 100%|██████████| 3/3 [00:00<00:00,  5.99it/s]", "\x1b[A",
    "\n", "\r                                                      ", "\x1b[A",
    "\repochs: 100%|██████████| 2/2 [00:01<00:00,  2.00it/s]",
)  # fmt: skip


def test_text_progress_bars_are_saved_as_their_final_lines():
    nb = new_notebook(cells=[new_code_cell("fit()")])
    new_output = nbformat.v4.new_output
    nb.cells[0].outputs = [new_output("stream", name="stderr", text=t) for t in NESTED_BARS]
    nb.cells[0].outputs += [
        new_output("stream", name="stdout", text="done\n"),
        new_output("stream", name="stderr", text="\n"),  # the bar's closing newline, after it
    ]
    outputs = tool.normalise(nb).cells[0].outputs
    assert [(o.name, o.text) for o in outputs] == [
        ("stderr", "epochs: 100%|██████████| 2/2 [00:01<00:00,  2.00it/s]\n"),
        ("stdout", "done\n"),
    ]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain  \ntext with trailing spaces  ", "plain  \ntext with trailing spaces  "),
        ("abc\x08\x08xy\n", "axy\n"),
        ("a\r\nb\r\n", "a\nb\n"),
        ("\rloading 10%\rloading 100%\n", "loading 100%\n"),
        ("\rtemporary bar\r             \r", ""),
    ],
)
def test_terminal_rendering(raw, shown):
    assert normal_form.render_terminal(raw) == shown


def test_tqdm_widget_code_is_gone():
    """Bars are text when executed (a kernel start-up line), so no widget-state rewriting is left."""
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tools").glob("*.py"))
    for internals in ("FloatProgressModel", "HBoxModel", "tqdm.std import Bar", "html.unescape"):
        assert internals not in source
    assert "tqdm.auto" in execution.TEXT_TQDM and "exec_lines" in execution.__doc__


def widget_output(model_id, text):
    view = {"model_id": model_id, "version_major": 2, "version_minor": 0}
    return nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": text}
    )


def test_widget_state_keeps_what_displayed_widgets_need():
    models = {
        "slider": {
            "model_name": "IntSliderModel",
            "state": {"value": 3, "layout": "IPY_MODEL_slay"},
        },
        "slay": {"model_name": "LayoutModel", "state": {}},
        "unused": {"model_name": "LayoutModel", "state": {}},
    }
    nb = new_notebook(cells=[new_code_cell("show()")])
    nb.cells[0].outputs = [
        widget_output("slider", "IntSlider(value=3)"),
        widget_output("lost", "Button(description='stateless')"),
    ]
    state = {"version_major": 2, "version_minor": 0, "state": models}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": state}
    outputs = tool.normalise(nb).cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in outputs[0].data
    assert list(outputs[1].data) == ["text/plain"]  # no state stored: only its text is kept
    kept = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert set(kept) == {"slider", "slay"}


def test_fixture_outputs_show_tqdm_as_text():
    nb = tool.read(GOOD)
    bar_cell = next(c for c in nb.cells if "tqdm(range(3)" in c.source)
    assert len(bar_cell.outputs) == 1  # the inner leave=False bars are gone
    output = bar_cell.outputs[0]
    assert output.output_type == "stream" and output.name == "stderr"
    assert re.fullmatch(
        r"epochs: 100%\|█{10}\| 3/3 \[\d\d:\d\d<00:00, +[\d.]+(it/s|s/it)\]\n", output.text
    )
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert {m["model_name"] for m in state.values()} == {
        "IntSliderModel",
        "LayoutModel",
        "SliderStyleModel",
    }


# ------------------------------------------------------------------------------------------
# The commands: run / students / check / stamp
# ------------------------------------------------------------------------------------------


def test_committed_fixture_passes_check(capsys):
    paths = tool.Paths(FIXTURES / "notebooks", FIXTURES / "student", catalogues=FIXTURES / "locale")
    assert cli(paths, "check") == 0, capsys.readouterr().out


def test_run_and_students_on_a_fresh_clone_change_nothing(workspace, capsys):
    before = tree(workspace.notebooks.parent)
    assert cli(workspace, "run") == 0
    assert "90_fixture_lesson: up to date (full), not executed" in capsys.readouterr().out
    assert cli(workspace, "students") == 0
    assert tree(workspace.notebooks.parent) == before


def test_edit_is_caught_then_run_executes_and_rebuilds(workspace, capsys):
    path = workspace.notebooks / GOOD.name
    nb = tool.read(path)
    exercise = next(c for c in nb.cells if c.source.startswith("# Exercise 1"))
    exercise.source = exercise.source.replace("print(total)", "print('total:', total)")
    path.write_text(tool.dumps(nb), encoding="utf-8")
    assert cli(workspace, "check") == 1
    out = capsys.readouterr().out
    assert "90_fixture_lesson was edited after it was last executed" in out
    assert "python3 course.py notebooks run 90_fixture_lesson" in out
    assert (
        "is not what 90_fixture_lesson generates now. Run: python3 course.py notebooks students"
        in out
    )

    assert cli(workspace, "run") == 0
    out = capsys.readouterr().out
    assert re.search(r"90_fixture_lesson: executed in [\d.]+ s \(full\)", out)
    nb = tool.read(path)
    assert nb.metadata["course"]["executed"] == {
        "mode": "full",
        "source_sha256": normal_form.source_hash(nb),
        "library": {},  # the fixture imports no course_utils module
    }
    assert "total: 55\n" in "".join(o.get("text", "") for o in exercise_outputs(nb))
    assert (
        "print('total:', total)"
        in tool.read(workspace.student / GOOD.name)
        .cells[nb.cells.index(next(c for c in nb.cells if c.source.startswith("# Exercise 1")))]
        .source
    )
    assert cli(workspace, "check") == 0, capsys.readouterr().out

    # smoke runs are recorded as such and do not pass as the committed (full) state
    assert cli(workspace, "run", "--smoke", "90") == 0
    assert "executed in" in capsys.readouterr().out
    assert tool.read(path).metadata["course"]["executed"]["mode"] == "smoke"
    assert cli(workspace, "check") == 1
    assert "last executed in smoke mode; solution notebooks are committed executed in full" in (
        capsys.readouterr().out
    )


def exercise_outputs(nb):
    cell = next(c for c in nb.cells if c.source.startswith("# Exercise 1"))
    return cell.outputs


def test_run_stops_at_the_first_error_naming_notebook_and_cell(workspace, capsys):
    broken = new_notebook(
        cells=[
            new_markdown_cell("# Broken"),
            new_code_cell("x = 1"),
            new_code_cell("raise ValueError('the data folder is empty')"),
            new_code_cell("print('never runs')"),
        ]
    )
    path = workspace.notebooks / "95_broken.ipynb"
    path.write_text(tool.dumps(tool.normalise(broken)), encoding="utf-8")
    before = path.read_bytes()
    assert cli(workspace, "run", "95_broken") == 1
    err = capsys.readouterr().err
    assert (
        "95_broken.ipynb, cell 3 (starts with \"raise ValueError('the data folder is empty')\") failed"
        in err
    )
    assert "ValueError: the data folder is empty" in err
    assert path.read_bytes() == before  # nothing half-done is written over the notebook
    assert not (workspace.student / "95_broken.ipynb").exists()


def test_unknown_or_ambiguous_names_are_explained(workspace, capsys):
    assert cli(workspace, "check", "07_nothing") == 1
    assert "'07_nothing' matches no notebook" in capsys.readouterr().err


def test_orphan_student_notebooks_are_reported_and_removed(workspace, capsys):
    orphan = workspace.student / "42_gone.ipynb"
    orphan.write_text("{}", encoding="utf-8")
    assert cli(workspace, "check") == 1
    assert "42_gone.ipynb has no solution notebook" in capsys.readouterr().out
    assert cli(workspace, "students") == 0
    assert not orphan.exists()


def test_stamp_adopts_a_notebook_executed_elsewhere_but_not_an_edited_one(workspace, capsys):
    path = workspace.notebooks / GOOD.name
    nb = tool.read(path)
    del nb.metadata["course"]  # as if executed by nbconvert
    path.write_text(tool.dumps(nb), encoding="utf-8")
    assert cli(workspace, "check") == 1
    assert "stamp 90_fixture_lesson" in capsys.readouterr().out
    assert cli(workspace, "stamp", "90") == 0
    expected = tool.read(GOOD)
    del expected.metadata["course"]["executed"]["library"]  # unknown after nbconvert
    assert path.read_text(encoding="utf-8") == tool.dumps(expected)
    # a recorded notebook edited afterwards must be executed, not stamped
    nb = tool.read(path)
    nb.cells[0].source += "\nMore prose."
    path.write_text(tool.dumps(nb), encoding="utf-8")
    assert cli(workspace, "stamp", "90") == 1
    assert "edited after it was executed" in capsys.readouterr().err


def test_stamp_refuses_notebooks_not_run_top_to_bottom(workspace, capsys):
    path = workspace.notebooks / GOOD.name
    nb = tool.read(path)
    del nb.metadata["course"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[1].execution_count, code[2].execution_count = (
        code[2].execution_count,
        code[1].execution_count,
    )
    path.write_text(tool.dumps(nb), encoding="utf-8")
    assert cli(workspace, "stamp", "90") == 1
    assert "expected 1, 2, 3, ..." in capsys.readouterr().err


def test_student_fixture_runs_up_to_its_first_exercise(tmp_path):
    nb = tool.read(GOOD_STUDENT)
    with pytest.raises(tool.NotebookError) as error:
        tool.execute(nb, GOOD_STUDENT.stem, cwd=tmp_path, smoke=True)
    first = next(i for i, c in enumerate(nb.cells) if c.source.startswith("# Exercise 1"))
    assert error.value.cell_index == first
    assert error.value.ename == "NotImplementedError"
    assert error.value.evalue.startswith("Exercise 1 is yours to write: sum(range(...))")
    assert (
        "replace this line with your code, then run this cell and the check" in error.value.evalue
    )
    assert "mode: SMOKE" in nb.cells[1].outputs[0].text  # COURSE_SMOKE reached the kernel


# ------------------------------------------------------------------------------------------
# nbval: the sanitiser file and the CI invocation
# ------------------------------------------------------------------------------------------


def sanitizers():
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))


def test_every_sanitizer_is_read_by_nbval_and_compiles():
    text = SANITIZE.read_text(encoding="utf-8")
    written = [line for line in text.splitlines() if line.startswith(("regex:", "replace:"))]
    patterns = sanitizers()
    assert len(patterns) * 2 == len(written)  # nbval silently skips a regex without its replace
    for regex, replace in patterns:
        assert replace.strip(), f"empty replacement for {regex}"
        re.compile(regex)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "epochs: 100%|██████████| 3/3 [00:09<00:00,  3.01s/it]",
            "epochs: 100%|██████████| 3/3 [TQDM]",
        ),
        ("throughput 812.5it/s, 2.5 samples/s", "throughput RATE, RATE"),
        (
            "one epoch took 12.3 s (450ms per batch), 2 min in all",
            "one epoch took DURATION (DURATION per batch), DURATION in all",
        ),
        ("saved at 2026-11-22 00:05:03 (13:05:59)", "saved at DATETIME (TIME)"),
        ("<Figure at 0x7f3a2c1d9e50> 0xFF", "<Figure at 0xADDRESS> 0xFF"),
        ("data directory: /home/ana/my data", "data directory: DATA_DIR"),
        ("found /work/shared/datasets/MNIST/raw", "found DATA_DIR/MNIST/raw"),
        ("C:\\Users\\ana\\course_data\\MNIST", "DATA_DIR\\MNIST"),
        ("wrote /tmp/tmpab12cd/model.pt", "wrote TMPDIR/model.pt"),
        ("/home/ana/x and /root/y but not /work/tmp/z", "HOME/x and HOME/y but not /work/tmp/z"),
        ("device: cuda | mode: full | seed: 0", "device: DEVICE | mode: full | seed: 0"),
        (
            "tensor([1., 2.], device='cuda:0', requires_grad=True)",
            "tensor([1., 2.], requires_grad=True)",
        ),
        ("MNIST: $COURSE_DATA_DIR/MNIST", "MNIST: DATA_DIR/MNIST"),
        ("here: <repo>/tests/fixtures/notebooks", "here: REPO/tests/fixtures/notebooks"),
        ("here: /home/ana/pytorch-course/tests/fixtures", "here: REPO/tests/fixtures"),
        ("python: <python>/bin/python", "python: PYTHON/bin/python"),
        ("python: /work/main/.venv/bin/python", "python: PYTHON/bin/python"),
        ("at /opt/conda/lib/python3.11/site-packages/torch/nn", "at SITE_PACKAGES/torch/nn"),
        ("at <site-packages>/torch/nn", "at SITE_PACKAGES/torch/nn"),
        ("cache: ~/.cache or /root/.cache", "cache: HOME/.cache or HOME/.cache"),
        (
            "torch.Size([64, 1, 28, 28]) 5 samples 3 epochs",
            "torch.Size([64, 1, 28, 28]) 5 samples 3 epochs",
        ),
    ],
)
def test_sanitizers(raw, clean):
    for regex, replace in sanitizers():
        raw = re.sub(regex, replace, raw)
    assert raw == clean


def run_nbval(*extra):
    """pytest with nbval on the fixture notebook, the way CI runs the lesson notebooks."""
    env = {**os.environ, "COURSE_SMOKE": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",  # only the options given here, not the project's (which add the sanitizers)
        "--nbval-lax",
        *extra,
        str(GOOD),
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_nbval_with_the_sanitizers_passes_with_widgets_and_no_browser():
    result = run_nbval("--nbval-sanitize-with", str(SANITIZE))
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"\b\d+ passed\b", report) and "failed" not in report
    assert "TCP without encryption" not in report and "warning" not in report.lower(), report


def test_nbval_without_the_sanitizers_fails_on_the_checked_cell():
    result = run_nbval()
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert "1 failed" in report and "NBVAL_CHECK_OUTPUT" in report


# ------------------------------------------------------------------------------------------
# The tool's shape and its docstring
# ------------------------------------------------------------------------------------------


def test_the_tool_is_small_modules_with_one_job_each():
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "tools").glob("*.py")
    }
    assert {"notebooks.py", "normal_form.py", "exercises.py", "execute.py"} <= set(sizes)
    assert max(sizes.values()) <= 320, sizes


def test_the_reason_for_not_using_nbgrader_is_the_true_one():
    doc = tool.__doc__
    assert "markers are configurable" in doc and "### BEGIN SOLUTION" not in doc
    assert "hint" in doc and "database" in doc


def test_course_py_runs_the_tool_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "tools.notebooks", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0 and "run" in result.stdout and "stamp" in result.stdout
    assert '"-m", "tools.notebooks"' in (ROOT / "course.py").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# Staleness because of the library
# ------------------------------------------------------------------------------------------


def fake_library(root, helper="VALUE = 1\n"):
    package = root / "course_utils"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "helper.py").write_text(helper, encoding="utf-8")
    (package / "unused.py").write_text("", encoding="utf-8")
    return package


def test_execution_records_the_library_files_the_kernel_imported(tmp_path):
    fake_library(tmp_path / "lib")
    nb = new_notebook(
        cells=[new_code_cell("import course_utils.helper\nprint(course_utils.helper.VALUE)")]
    )
    library = tool.execute(
        nb, "lib", cwd=tmp_path, smoke=True, env={"PYTHONPATH": str(tmp_path / "lib")}
    )
    assert set(library) == {"course_utils/__init__.py", "course_utils/helper.py"}  # not unused.py
    assert len(nb.cells) == 1 and nb.cells[0].outputs[0].text == "1\n"  # the question is gone
    assert nb.cells[0].execution_count == 1


def test_a_changed_library_file_is_named_as_a_warning_or_strict_error(
    workspace, capsys, monkeypatch
):
    package = fake_library(workspace.root)
    path = workspace.notebooks / GOOD.name
    nb = tool.read(path)
    nb.metadata["course"]["executed"]["library"] = execution.library_hashes(
        [str(package / "__init__.py"), str(package / "helper.py")]
    )
    path.write_text(tool.dumps(nb), encoding="utf-8")
    monkeypatch.delenv("COURSE_STRICT_LIBRARY_HASH", raising=False)
    assert cli(workspace, "check") == 0
    assert "warning" not in capsys.readouterr().out
    (package / "helper.py").write_text("VALUE = 2\n", encoding="utf-8")
    (package / "unused.py").write_text(
        "changed = True\n", encoding="utf-8"
    )  # not imported: no matter
    assert cli(workspace, "check") == 0
    out = capsys.readouterr().out
    assert (
        "! warning: 90_fixture_lesson was executed with other versions of course_utils/helper.py;"
        in out
    )
    assert (
        "unused.py" not in out and "Run: python3 course.py notebooks run 90_fixture_lesson" in out
    )
    monkeypatch.setenv("COURSE_STRICT_LIBRARY_HASH", "1")
    assert cli(workspace, "check") == 1
    assert "  - 90_fixture_lesson was executed with other versions of course_utils/helper.py" in (
        capsys.readouterr().out
    )
    (package / "helper.py").unlink()
    assert execution.library_changes(tool.read(path), workspace.root) == [
        "course_utils/helper.py (removed)"
    ]


def test_notebooks_without_library_hashes_are_unknown_not_stale():
    nb = tool.read(GOOD)
    del nb.metadata["course"]["executed"]["library"]
    assert execution.library_changes(nb) is None
    assert execution.library_staleness(nb, GOOD.stem) is None


# ------------------------------------------------------------------------------------------
# No absolute paths of the executing machine in committed outputs
# ------------------------------------------------------------------------------------------


def test_machine_paths_become_placeholders(monkeypatch, tmp_path):
    data = tmp_path / "my data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    home = str(normal_form.Path.home())
    text = (
        f"data directory: {data}\nfound {data}/MNIST/raw\n"
        f"checkpoint {ROOT}/notebooks/checkpoints/best.pt\npython {sys.prefix}/bin/python\n"
        f"cache {home}/.cache\nsimilar names stay: {ROOT}2/x {data}-old\n"
    )
    nb = new_notebook(cells=[new_code_cell("show()")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=text),
        nbformat.v4.new_output("execute_result", data={"text/plain": f"PosixPath('{data}')"}),
    ]
    outputs = tool.normalise(nb).cells[0].outputs
    assert outputs[0].text == (
        "data directory: $COURSE_DATA_DIR\nfound $COURSE_DATA_DIR/MNIST/raw\n"
        "checkpoint <repo>/notebooks/checkpoints/best.pt\npython <python>/bin/python\n"
        f"cache ~/.cache\nsimilar names stay: {ROOT}2/x $COURSE_DATA_DIR-old\n".replace(
            "$COURSE_DATA_DIR-old", f"{data}-old"
        )
    )
    assert outputs[1].data["text/plain"] == "PosixPath('$COURSE_DATA_DIR')"


def test_fixture_committed_with_placeholders_and_nbval_sees_them_equal():
    text = GOOD.read_text(encoding="utf-8")
    for path, _ in normal_form.machine_paths():
        assert f"{path}/" not in text and f"{path}\\n" not in text, path
    assert "$COURSE_DATA_DIR/MNIST" in text and "<repo>/tests/fixtures/notebooks" in text
    # test_nbval_with_the_sanitizers_passes_with_widgets_and_no_browser runs it fresh and compares


def test_old_outputs_with_machine_paths_are_a_warning_until_rewritten(
    workspace, capsys, monkeypatch
):
    path = workspace.notebooks / GOOD.name
    text = path.read_text(encoding="utf-8")
    data = (
        normal_form.machine_paths()
    )  # the same placeholders, written back as this machine's paths
    for machine, placeholder in sorted(data, key=lambda pair: len(pair[1])):
        if placeholder == "$COURSE_DATA_DIR":
            text = text.replace("$COURSE_DATA_DIR/MNIST", f"{machine}/MNIST")
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("COURSE_STRICT_NORMAL_FORM", raising=False)
    assert cli(workspace, "check") == 0
    assert "outputs hold absolute paths of this machine" in capsys.readouterr().out
    monkeypatch.setenv("COURSE_STRICT_NORMAL_FORM", "1")
    assert cli(workspace, "check") == 1
    monkeypatch.delenv("COURSE_STRICT_NORMAL_FORM")
    assert cli(workspace, "run") == 0
    assert "executing" not in capsys.readouterr().out  # rewritten, not re-executed
    assert path.read_text(encoding="utf-8") == GOOD.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# The repository URL: one place (pyproject.toml), stamped everywhere else
# ------------------------------------------------------------------------------------------

OLD_URL = "https://github.com/open-pytorch-course/pytorch-course"
NEW_URL = "https://github.com/a-fork/course-copy"


def test_a_new_repository_url_is_stamped_into_notebooks_and_documents(workspace, capsys):
    pyproject = workspace.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(OLD_URL, NEW_URL), encoding="utf-8"
    )
    readme = (workspace.root / "README.md").read_text(encoding="utf-8")
    assert cli(workspace, "check") == 1
    out = capsys.readouterr().out
    assert "90_fixture_lesson: the first cell installs from 'git+" + OLD_URL in out
    assert "README.md links to another repository" in out
    assert "Run: python3 course.py notebooks students" in out

    assert cli(workspace, "students") == 0
    out = capsys.readouterr().out
    assert "90_fixture_lesson: first cell now installs from " + NEW_URL in out
    nb = tool.read(workspace.notebooks / GOOD.name)
    assert f'"git+{NEW_URL}"' in nb.cells[1].source and OLD_URL not in tool.dumps(nb)
    assert execution.staleness(nb, GOOD.stem) is None  # still current: no re-execution needed
    assert f'"git+{NEW_URL}"' in tool.read(workspace.student / GOOD.name).cells[1].source
    stamped = (workspace.root / "README.md").read_text(encoding="utf-8")
    if "colab.research.google.com/github/" in readme:
        assert "colab.research.google.com/github/a-fork/course-copy/blob/main/student/" in stamped
    assert OLD_URL not in stamped and "github.com/open-pytorch-course/pytorch-course" not in stamped
    assert stamped == readme.replace("open-pytorch-course/pytorch-course", "a-fork/course-copy")
    assert cli(workspace, "check") == 0, capsys.readouterr().out


def test_an_unchanged_url_changes_nothing_and_forces_no_run(workspace, capsys):
    before = tree(workspace.root)
    assert cli(workspace, "students") == 0 and cli(workspace, "run") == 0
    assert "executing" not in capsys.readouterr().out
    assert tree(workspace.root) == before


def test_stamping_handles_the_old_and_the_new_first_cell():
    old = '"course-utils @ git+https://github.com/x/y"], check=True)'
    new = 'source = os.environ.get("COURSE_INSTALL_SOURCE", "git+https://github.com/x/y")'
    assert repository.stamp_text(old, NEW_URL) == old.replace("https://github.com/x/y", NEW_URL)
    assert repository.stamp_text(new, NEW_URL) == new.replace("https://github.com/x/y", NEW_URL)
    badge = "(https://colab.research.google.com/github/x/y/blob/main/student/00_a.ipynb)"
    assert repository.stamp_text(badge, NEW_URL) == badge.replace("x/y", "a-fork/course-copy")
    other = "github.com/xiaotudui/PyTorch-Tutorial and https://github.com/zergtant/pytorch-handbook"
    assert repository.stamp_text(other, NEW_URL) == other


# ------------------------------------------------------------------------------------------
# Student version + reference solutions == solution notebook
# ------------------------------------------------------------------------------------------


def test_filling_the_fixture_student_notebook_gives_back_the_solution_and_runs(tmp_path):
    solution, student = tool.read(GOOD), tool.read(GOOD_STUDENT)
    filled = tool.fill_solutions(student, solution, GOOD.stem)
    assert [c.source for c in filled.cells] == [c.source for c in solution.cells]
    tool.execute(filled, GOOD.stem, cwd=tmp_path, smoke=True)
    checks = [c for c in filled.cells if "checks.lesson90.exercise_" in c.source]
    assert [o.text for c in checks for o in c.outputs] == [
        f"\u2714 Exercise {n}: correct\n" for n in (1, 2, 3)
    ]
