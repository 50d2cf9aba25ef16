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

from tools import notebooks as tool

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
GOOD = FIXTURES / "notebooks" / "90_fixture_lesson.ipynb"
GOOD_STUDENT = FIXTURES / "student" / "90_fixture_lesson.ipynb"
SANITIZE = ROOT / "notebooks" / "nbval_sanitize.cfg"




@pytest.fixture()
def workspace(tmp_path):
    """A copy of the fixture notebooks and student versions, as a fresh clone would have them."""
    shutil.copytree(FIXTURES / "notebooks", tmp_path / "notebooks")
    shutil.copytree(FIXTURES / "student", tmp_path / "student")
    return tool.Paths(tmp_path / "notebooks", tmp_path / "student")


def cli(paths, *args):
    """Run the tool's command line on a workspace; return its exit code."""
    return tool.main(
        ["--notebooks-dir", str(paths.notebooks), "--student-dir", str(paths.student), *args]
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
        'raise NotImplementedError("Exercise 1: sum(range(...)) adds a range; mind where it stops.")\n'
        "print(total)"
    )
    ex2 = next(s for s in sources.values() if s.startswith("# Exercise 2"))
    assert '    raise NotImplementedError("Exercise 2: x * x, or x ** 2.")' in ex2.splitlines()
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
        tool.parse_exercise(source, "lesson.ipynb, cell 7")


def test_cells_without_markup_are_not_exercises():
    assert tool.parse_exercise("x = 1  # a comment about solutions\nprint(x)", "here") is None


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
    before = tool.source_hash(nb)
    other = copy.deepcopy(nb)
    for cell in other.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    other.metadata = {}
    assert tool.source_hash(other) == before
    other.cells[0].source += " "
    assert tool.source_hash(other) != before


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
    ids = tool.cell_ids(nb)
    assert len(set(ids)) == 3 and ids == tool.cell_ids(copy.deepcopy(nb))
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids)
    nb.cells.insert(0, new_markdown_cell("# new heading"))
    assert tool.cell_ids(nb)[1:] == ids  # inserting a cell renames no other cell


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


def widget_state(models):
    return {"version_major": 2, "version_minor": 0, "state": models}


def tqdm_models(prefix, left, value, maximum, right, hidden=False):
    def model(name, state):
        return {"model_module": "@jupyter-widgets/controls", "model_name": name, "state": state}

    layout = {"visibility": "hidden"} if hidden else {}
    return {
        f"{prefix}box": model(
            "HBoxModel",
            {
                "children": [
                    f"IPY_MODEL_{prefix}l",
                    f"IPY_MODEL_{prefix}p",
                    f"IPY_MODEL_{prefix}r",
                ],
                "layout": f"IPY_MODEL_{prefix}lay",
            },
        ),
        f"{prefix}l": model("HTMLModel", {"value": left}),
        f"{prefix}p": model("FloatProgressModel", {"value": value, "max": maximum, "min": 0}),
        f"{prefix}r": model("HTMLModel", {"value": right}),
        f"{prefix}lay": {"model_name": "LayoutModel", "state": layout},
    }


def widget_output(model_id, text):
    view = {"model_id": model_id, "version_major": 2, "version_minor": 0}
    return nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": text}
    )


def test_tqdm_widgets_become_final_text_and_other_widgets_keep_their_state():
    models = {}
    models.update(
        tqdm_models("a", "epochs:\u2007100%", 3, 3, "\u20073/3\u2007[00:09&lt;00:00,\u20073.0s/it]")
    )
    models.update(tqdm_models("b", "batches:\u2007\u2007\u20070%", 4, 4, "0/4", hidden=True))
    models.update(tqdm_models("c", "", 1, 1, "17it\u2007[00:01,\u200717.0it/s]"))
    models.update(tqdm_models("d", "logging:\u2007100%", 299, 300, "\u2007299/300"))
    models["slider"] = {
        "model_name": "IntSliderModel",
        "state": {"value": 3, "layout": "IPY_MODEL_slay"},
    }
    models["slay"] = {"model_name": "LayoutModel", "state": {}}
    models["unused"] = {"model_name": "LayoutModel", "state": {}}
    nb = new_notebook(cells=[new_code_cell("train()")])
    nb.cells[0].outputs = [
        widget_output("abox", "epochs:   0%|          | 0/3 [00:00<?, ?it/s]"),
        widget_output("bbox", "batches:   0%|          | 0/4"),
        widget_output("cbox", "0it [00:00, ?it/s]"),
        widget_output("dbox", "logging:   0%|          | 0/300"),
        widget_output("slider", "IntSlider(value=3)"),
        widget_output("lost", "Button(description='stateless')"),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": widget_state(models)}
    outputs = tool.normalise(nb).cells[0].outputs
    assert [o.data.get("text/plain") for o in outputs] == [
        "epochs: 100%|██████████| 3/3 [00:09<00:00, 3.0s/it]",  # the final text, not 0%
        "17it [00:01, 17.0it/s]",  # unknown total: counts only; the hidden bar is gone
        "logging: 100%|█████████▉| 299/300",  # tqdm's own partial block
        "IntSlider(value=3)",
        "Button(description='stateless')",  # no state stored: only its text is kept
    ]
    assert list(outputs[4].data) == ["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" not in outputs[0].data
    assert "application/vnd.jupyter.widget-view+json" in outputs[3].data
    kept = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert set(kept) == {"slider", "slay"}  # only the state the slider needs


def test_fixture_outputs_show_tqdm_as_text():
    nb = tool.read(GOOD)
    bar_cell = next(c for c in nb.cells if "tqdm(range(3)" in c.source)
    assert len(bar_cell.outputs) == 1  # the inner leave=False bars are gone
    text = bar_cell.outputs[0].data["text/plain"]
    assert re.fullmatch(r"epochs: 100%\|█{10}\| 3/3 \[\d\d:\d\d<00:00, +[\d.]+(it/s|s/it)\]", text)
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
    paths = tool.Paths(FIXTURES / "notebooks", FIXTURES / "student")
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
        "source_sha256": tool.source_hash(nb),
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
    assert path.read_text(encoding="utf-8") == GOOD.read_text(encoding="utf-8")
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
    assert error.value.evalue.startswith("Exercise 1: sum(range(...))")
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
