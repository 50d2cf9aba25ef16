"""The repository's address, written in one place and stamped everywhere else.

pyproject.toml's `[project.urls] Repository` is the source. `run` and `students` stamp it into
every lesson's first cell (the `git+<URL>` that Colab installs from) and into README.md and
CONTRIBUTING.md, README.zh-CN.md (the same install line, and the Colab badges' `github/<owner>/<repo>` part);
`check` fails when they disagree. Stamping a notebook that was current keeps it current: the
install line runs only on Colab, so no output depends on it and the recorded hash is renewed.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode

from tools.execute import record, staleness
from tools.normal_form import NotebookError, source_hash, write_if_changed

INSTALL_RE = re.compile(r"git\+https?://[^\s\"'@#)]+")
COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/")
GITHUB_RE = re.compile(r"^https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")
DOCUMENTS = ("README.md", "README.zh-CN.md", "CONTRIBUTING.md")
STAMP = "python3 course.py notebooks students"


def repository_url(root: Path) -> str:
    """The Repository URL from pyproject.toml (a GitHub address: Colab opens notebooks from it)."""
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    section = re.search(r"^\[project\.urls\][^\[]*", text, re.MULTILINE)  # Python 3.10: no tomllib
    found = section and re.search(r'^Repository\s*=\s*"([^"]+)"', section.group(0), re.MULTILINE)
    if not found:
        raise NotebookError(
            f'{pyproject}: no [project.urls] Repository = "https://github.com/OWNER/REPO".'
        )
    url = found.group(1)
    if not GITHUB_RE.match(url):
        raise NotebookError(
            f"{pyproject}: Repository = {url!r} is not https://github.com/OWNER/REPO, "
            "which the Colab badges need."
        )
    return url.rstrip("/").removesuffix(".git")


def stamp_text(text: str, url: str) -> str:
    """`text` with every `git+<URL>` install address and Colab badge path pointing at `url`."""
    owner, repo = GITHUB_RE.match(url).groups()
    text = INSTALL_RE.sub(lambda _: f"git+{url}", text)
    return COLAB_RE.sub(
        lambda _: f"https://colab.research.google.com/github/{owner}/{repo}/blob/", text
    )


def _first_code_cell(nb: NotebookNode) -> NotebookNode | None:
    return next((c for c in nb.cells if c.cell_type == "code"), None)


def stamp_notebook(nb: NotebookNode, url: str) -> bool:
    """Point the first cell's install address at `url`; say whether the notebook changed.

    A notebook whose outputs were current stays current (its source hash is renewed).
    """
    cell = _first_code_cell(nb)
    if cell is None:
        return False
    stamped = stamp_text(cell.source, url)
    if stamped == cell.source:
        return False
    was_current = bool(record(nb)) and staleness(nb, "") is None
    cell.source = stamped
    if was_current:
        nb.metadata["course"]["executed"]["source_sha256"] = source_hash(nb)
    return True


def notebook_url_problems(nb: NotebookNode, name: str, url: str) -> list[str]:
    """Whether the first cell installs from the repository named in pyproject.toml."""
    cell = _first_code_cell(nb)
    if cell is None or stamp_text(cell.source, url) == cell.source:
        return []
    found = INSTALL_RE.search(cell.source) or COLAB_RE.search(cell.source)
    return [
        f"{name}: the first cell installs from {found.group(0)!r}, but pyproject.toml's "
        f"Repository is {url}. Run: {STAMP}"
    ]


def _documents(root: Path) -> list[tuple[str, Path, str]]:
    """The DOCUMENTS, where present: (name, path, text)."""
    found = [(name, root / name) for name in DOCUMENTS if (root / name).is_file()]
    return [(name, path, path.read_text(encoding="utf-8")) for name, path in found]


def stamp_documents(root: Path, url: str) -> list[Path]:
    """Stamp the address into the DOCUMENTS; return the files that changed."""
    return [
        path for _, path, text in _documents(root) if write_if_changed(path, stamp_text(text, url))
    ]


def document_problems(root: Path, url: str) -> list[str]:
    """Documents whose install lines or Colab badges name another repository."""
    return [
        f"{name} links to another repository than pyproject.toml's Repository ({url}). Run: {STAMP}"
        for name, _, text in _documents(root)
        if stamp_text(text, url) != text
    ]
