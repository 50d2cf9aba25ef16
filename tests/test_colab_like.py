"""Every lesson as Colab runs it: a fresh environment that has torch and torchvision and nothing else of
the course, the first cell's own install command, and no clone on the path.

Colab's runtime already holds torch and torchvision; the first cell of every lesson sees
`google.colab` and pip-installs `course-utils[colab]` from the repository. Here a new virtual
environment sees the course environment's torch and torchvision (and what they need) through a
`.pth` file, a stand-in `google.colab` module is imported at kernel start, and
`COURSE_INSTALL_SOURCE` points the first cell's install at this clone. Every lesson then runs in
smoke mode from a directory outside the clone. A lesson that imports something the install does
not provide fails here, as it would on Colab.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PRESENT_ON_COLAB = ["torch", "torchvision"]
KERNEL_TOOLS = ["ipykernel", "nbclient", "nbformat"]  # Colab has a kernel; the test needs a runner

EXECUTE = """
import sys, time, nbformat
from nbclient import NotebookClient
for path in sys.argv[1:]:
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
    print(f"{path}: ran in {time.perf_counter() - start:.0f} s", flush=True)
"""


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `names` need at run time (extras left out)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform package that this machine does not have
        seen[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def expose(dists: list[metadata.Distribution], folder: Path) -> None:
    """Symlink each distribution's top-level files and its metadata into `folder`."""
    folder.mkdir()
    for dist in dists:
        base = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            target = folder / top
            if (base / top).exists() and not target.exists():
                target.symlink_to(base / top)


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A Colab-like environment: (python, env) with torch and torchvision exposed, nothing else."""
    home = tmp_path_factory.mktemp("colab")
    venv.create(home / "venv", with_pip=True)
    python = home / "venv" / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())  # fmt: skip
    expose(closure(PRESENT_ON_COLAB), home / "preinstalled")
    (site / "colab_preinstalled.pth").write_text(str(home / "preinstalled") + "\n")
    fake = home / "fake_colab" / "google" / "colab"  # `google` stays a namespace package, as on
    fake.mkdir(parents=True)  # Colab, so that google.protobuf (tensorboard's) still imports
    (fake / "__init__.py").write_text('"""A stand-in for Colab\'s module: lessons test for it."""\n')
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text(
        f"import sys\nsys.path.append({str(home / 'fake_colab')!r})\nimport google.colab  # noqa\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        IPYTHONDIR=str(home / "ipython"),
        COURSE_SMOKE="1",
        COURSE_INSTALL_SOURCE=ROOT.as_uri(),
        PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
        MPLBACKEND="Agg",
    )
    subprocess.run([python, "-m", "pip", "install", "-q", *KERNEL_TOOLS], check=True, env=env)
    return python, env, home


def torch_version(python: Path, env: dict) -> str:
    code = "import torch; print(torch.__version__, torch.__file__)"
    return subprocess.check_output([python, "-c", code], env=env, text=True).strip()


def test_the_environment_has_torch_but_not_the_course(colab):
    python, env, _ = colab
    assert torch_version(python, env).split()[0] == __import__("torch").__version__
    for package in ("course_utils", "torchinfo", "matplotlib", "tensorboard"):
        found = subprocess.run([python, "-c", f"import {package}"], env=env, capture_output=True)
        assert found.returncode != 0, f"{package} is importable before the first cell installed it"


def test_every_lesson_runs_as_on_colab(colab, data_dir):
    python, env, home = colab
    before = torch_version(python, env)
    work = home / "lessons"  # not the clone: nothing of the repository is on the path
    work.mkdir()
    for lesson in LESSONS:
        shutil.copy(lesson, work / lesson.name)
    env = dict(env, COURSE_DATA_DIR=str(data_dir))
    result = subprocess.run(
        [python, "-c", EXECUTE, *(p.name for p in LESSONS)], cwd=work, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    print(result.stdout)
    assert torch_version(python, env) == before, "installing the course changed Colab's torch"
    installed = subprocess.check_output([python, "-m", "pip", "show", "course-utils"], env=env, text=True)
    assert "Name: course-utils" in installed
    assert not Path(subprocess.check_output(
        [python, "-c", "import course_utils; print(course_utils.__file__)"], env=env, cwd=work, text=True,
    ).strip()).is_relative_to(ROOT), "course_utils was imported from the clone, not the installed package"  # fmt: skip
    speak = "from course_utils.i18n import _, set_language; set_language('zh'); print(_('\u2714 {name}: correct'))"
    said = subprocess.check_output([python, "-c", speak], env=env, cwd=work, text=True)
    assert "正确" in said, f"the installed package has no Chinese catalogues: {said!r}"
