"""course_utils.processes.run_and_stream: a command's output in a notebook, as it comes."""

import sys

from course_utils.processes import run_and_stream


def test_run_and_stream_drops_inner_bar_redraws(capsys):
    program = (
        "import sys; print('start'); sys.stderr.write('outer 0%\\n\\ninner 50%\\x1b[A\\n');"
        "sys.stderr.write('\\rinner gone\\x1b[A\\router 50%\\router 100%\\n'); sys.exit(3)"
    )
    status = run_and_stream([sys.executable, "-c", program])
    assert status == 3
    assert capsys.readouterr().out.splitlines() == ["start", "outer 0%", "outer 100%"]
