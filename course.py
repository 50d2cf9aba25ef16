#!/usr/bin/env python3
"""The course's set-up commands. Needs only Python 3.10+.

    python3 course.py lab         create .venv if missing, then open the course in JupyterLab
                                  (on student/, the lessons with exercises; solutions in notebooks/)
    python3 course.py test        create .venv if missing, then run the whole test suite
    python3 course.py setup       only create/update .venv
    python3 course.py notebooks   (instructors) re-run the solution notebooks, rebuild student ones

`test` runs the notebooks in smoke mode (COURSE_SMOKE=1) unless COURSE_SMOKE is already set;
extra arguments go to pytest (or to JupyterLab, or to the instructor tool, tools/notebooks.py).

The environment is re-installed when requirements.txt or pyproject.toml change.
Set COURSE_DATA_DIR to use a data directory other than ~/course_data.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-installed"
STUDENT_URL = "/lab/tree/student"  # where `lab` opens: the student notebooks


def requirements_hash() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(*command: str | Path) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT)


def ensure_environment() -> None:
    """Create the virtual environment and install the course into it, if not done already."""
    if sys.version_info < (3, 10):  # noqa: UP036 - course.py may be run by an older python3
        sys.exit(f"The course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    wanted = requirements_hash()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating the course environment in {VENV} (a few minutes, once) ...", flush=True)
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--progress-bar", "off", "-r", "requirements.txt", "-e", ".")
    STAMP.write_text(wanted)


def has_curve_encryption() -> bool:
    """Whether the environment's pyzmq can encrypt kernel connections (pip and conda wheels can)."""
    check = "import zmq, sys; sys.exit(0 if zmq.has('curve') else 1)"
    return subprocess.run([str(PYTHON), "-c", check], cwd=ROOT).returncode == 0


def lab_command(encrypted_transport: bool = False) -> list[str | Path]:
    """JupyterLab serving the whole course, opened on student/ (the notebooks with the exercises).

    The solution notebooks stay one folder away, in notebooks/ (its README.md says what they are).
    """
    command: list[str | Path] = [
        BIN / "jupyter", "lab", f"--ServerApp.root_dir={ROOT}", f"--LabApp.default_url={STUDENT_URL}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    if encrypted_transport:  # an encrypted kernel transport: no TCP warning at kernel start
        command.append("--KernelManager.transport_encryption=auto")
    return command


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"lab", "test", "notebooks", "setup"}:
        sys.exit(__doc__)
    command, rest = argv[0], argv[1:]
    ensure_environment()
    env_bin = str(BIN) + os.pathsep + os.environ.get("PATH", "")
    os.environ["PATH"] = env_bin
    if command == "lab":
        run(*lab_command(has_curve_encryption()), *rest)
    elif command == "test":
        os.environ.setdefault("COURSE_SMOKE", "1")
        run(PYTHON, "-m", "pytest", *rest)
    elif command == "setup":
        print(f"The course environment is ready: {VENV}")
    else:
        run(PYTHON, "-m", "tools.notebooks", *rest)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
    except KeyboardInterrupt:
        sys.exit(130)
