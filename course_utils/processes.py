"""Run a command and show its output in a notebook as it comes. Lesson 08 (launching torchrun)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_and_stream(
    command: Sequence[str], cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None
) -> int:
    """Run `command`, printing its output (stdout and stderr) line by line as it comes.

    Redraws of nested progress bars (lines with a cursor-up code) are left out, so a notebook
    shows one line per update of the outer bar. Returns the exit status. Lesson 08.
    """
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    for raw in iter(process.stdout.readline, b""):
        # what a terminal would leave on screen: the text after the last carriage return
        visible = raw.decode("utf-8", errors="replace").rstrip("\n").split("\r")[-1]
        if "\x1b[A" in visible:  # an inner bar, redrawn in place one line further down
            continue
        line = _ANSI.sub("", visible).rstrip()
        if line:
            print(line, flush=True)
    return process.wait()
