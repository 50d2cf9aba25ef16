"""The committed normal form of a notebook, and reading and writing notebooks.

A notebook is committed in one form whatever machine executed it: stable metadata, cell ids
that follow the content, streams merged and rendered the way a terminal shows them (a tqdm bar
is saved as its final line), no widget state that no displayed widget needs, and no absolute
path of the executing machine (they become placeholders such as `$COURSE_DATA_DIR`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sys
import sysconfig
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
CELL_METADATA_KEPT = ("tags", "jupyter", "editable", "deletable", "slideshow")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TERMINAL_RE = re.compile(r"(\r\n|\r|\n|\x08|\x1b\[\d*[A-Za-z])")
TOO_GENERAL = {"/", "/usr", "/usr/local", "/opt"}  # prefixes too common to stand for "this machine"


class NotebookError(Exception):
    """Something is wrong with a notebook; the message names the notebook and the cell."""

    def __init__(
        self, message: str, cell_index: int | None = None, ename: str = "", evalue: str = ""
    ):
        super().__init__(message)
        self.cell_index, self.ename, self.evalue = cell_index, ename, evalue


def where(name: str, index: int, cell: NotebookNode) -> str:
    """Describe a cell so that a person can find it: notebook, position and first line."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"{name}.ipynb, cell {index + 1} (starts with {first[:60]!r})"


def source_hash(nb: NotebookNode) -> str:
    """A hash of the notebook's cell types and sources (not outputs, not metadata)."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def cell_ids(nb: NotebookNode) -> list[str]:
    """Deterministic cell ids from each cell's type and source (a counter breaks ties).

    Ids follow the content, not the position, so inserting a cell changes no other cell's id.
    """
    ids, seen = [], {}
    for cell in nb.cells:
        base = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def render_terminal(text: str) -> str:
    """The text as a terminal would finally show it: \\r, backspace and cursor-up applied.

    tqdm's text bar redraws itself with \\r and draws nested bars one line down, moving back up
    with ESC[A; what stays is each bar's last state. A line that was redrawn loses its padding
    spaces, and disappears if it ended blank (a `leave=False` bar clears itself when done).
    """
    if not TERMINAL_RE.search(text.replace("\n", "")):
        return text  # nothing to apply: keep the text byte for byte
    lines: list[list[str]] = [[]]
    redrawn: set[int] = set()
    row = col = 0
    for token in TERMINAL_RE.split(text):
        if token in ("\n", "\r\n"):
            row, col = row + 1, 0
        elif token == "\r":
            col = 0
            redrawn.add(row)
        elif token == "\x08":
            col = max(col - 1, 0)
        elif token.startswith("\x1b["):
            count = int(token[2:-1] or 1)
            if token[-1] == "A":
                row = max(row - count, 0)
            elif token[-1] == "B":
                row += count
            elif token[-1] == "K":
                del lines[row][col:]
            redrawn.add(row)
        elif token:
            line = lines[row]
            line.extend(" " * (col - len(line)))
            line[col : col + len(token)] = token
            col += len(token)
        while len(lines) <= row:
            lines.append([])
    shown = []
    for index, chars in enumerate(lines):
        line = "".join(chars)
        if index in redrawn and index < len(lines) - 1:
            line = line.rstrip()
            if not line:
                continue  # a bar that cleared itself
        shown.append(line)
    if shown and not shown[-1].strip() and len(lines) - 1 in redrawn:
        shown[-1] = ""  # a cleared last line: the text ends at the line before
    return "\n".join(shown)


def merge_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same name and render them as a terminal would."""
    merged: list = []
    for output in outputs:
        if (
            output.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == output.name
        ):
            merged[-1].text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = render_terminal(output.text)
    # a lone newline on stderr is what a text bar writes when it closes after other output
    return [
        o
        for o in merged
        if o.output_type != "stream" or o.text.strip("\n" if o.name == "stderr" else "")
    ]


def machine_paths(root: Path = ROOT) -> list[tuple[str, str]]:
    """(absolute path of this machine, placeholder) pairs, longest path first.

    The data directory as the course resolves it, the repository root, the Python installation
    (site-packages and `sys.prefix`) and the home directory.
    """
    data = Path(os.environ.get("COURSE_DATA_DIR") or "~/course_data").expanduser()
    pairs = [(data, "$COURSE_DATA_DIR"), (root, "<repo>"), (Path(sys.prefix), "<python>")]
    pairs += [(Path(sysconfig.get_path(key)), "<site-packages>") for key in ("purelib", "platlib")]
    pairs.append((Path.home(), "~"))
    found: dict[str, str] = {}
    for path, placeholder in pairs:
        for form in {str(path.absolute()), str(path.resolve())}:
            if form not in TOO_GENERAL and len(form) > 1:
                found.setdefault(form.rstrip("/\\"), placeholder)
    return sorted(found.items(), key=lambda pair: -len(pair[0]))


def replace_paths(text: str, paths: list[tuple[str, str]]) -> str:
    """Replace each machine path (a whole path component, not a prefix of a name) by its placeholder."""
    for path, placeholder in paths:
        pattern = r"(?<![\w.-])" + re.escape(path) + r"(?![\w.-])"
        text = re.sub(pattern, placeholder.replace("\\", "\\\\"), text)
    return text


def _replace_paths_in_outputs(outputs: list, paths: list[tuple[str, str]]) -> None:
    for output in outputs:
        if output.output_type == "stream":
            output.text = replace_paths(output.text, paths)
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") and isinstance(value, str):
                output.data[mime] = replace_paths(value, paths)


def _widget_refs(value: object) -> set[str]:
    """Model ids that a widget state value refers to."""
    if isinstance(value, str):
        return {value.removeprefix("IPY_MODEL_")} if value.startswith("IPY_MODEL_") else set()
    if isinstance(value, dict):
        return set().union(*(_widget_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_widget_refs(v) for v in value)) if value else set()
    return set()


def prune_widget_state(nb: NotebookNode) -> None:
    """Keep only the widget state that displayed widgets need; a widget without state keeps its text."""
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    state = widgets.get("state", {})
    todo = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view and view["model_id"] not in state and len(output.data) > 1:
                del output.data[WIDGET_VIEW]  # no state: no front end can draw it; keep the text
            elif view:
                todo.append(view["model_id"])
    needed: set[str] = set()
    while todo:
        model = todo.pop()
        if model not in needed and model in state:
            needed.add(model)
            todo.extend(_widget_refs(state[model].get("state", {})))
    if needed:
        widgets["state"] = {k: v for k, v in state.items() if k in needed}
    else:
        nb.metadata.pop("widgets", None)


def normalise(
    nb: NotebookNode,
    ids_from: NotebookNode | None = None,
    paths: list[tuple[str, str]] | None = None,
) -> NotebookNode:
    """Put a notebook in the committed normal form (in place; also returned).

    Stable notebook metadata (python3 kernelspec, language info without a version), only
    content-related cell metadata, no execution timings, deterministic cell ids (those of
    `ids_from` when given, so a student notebook shares its solution's ids), streams merged
    and rendered, only the widget state still needed, and this machine's absolute paths
    (`paths`, by default `machine_paths()`) replaced by placeholders.
    """
    paths = machine_paths() if paths is None else paths
    nb.nbformat, nb.nbformat_minor = 4, 5
    metadata = NotebookNode(kernelspec=dict(KERNELSPEC), language_info=copy.deepcopy(LANGUAGE_INFO))
    for key in ("course", "widgets"):
        if key in nb.metadata:
            metadata[key] = nb.metadata[key]
    nb.metadata = nbformat.from_dict(metadata)
    prune_widget_state(nb)
    ids = cell_ids(ids_from if ids_from is not None else nb)
    for cell, cell_id in zip(nb.cells, ids, strict=True):
        cell.id = cell_id
        cell.metadata = nbformat.from_dict(
            {k: cell.metadata[k] for k in CELL_METADATA_KEPT if cell.metadata.get(k)}
        )
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
            _replace_paths_in_outputs(cell.outputs, paths)
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.execution_count = cell.execution_count
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if cell.cell_type == "markdown" and not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb: NotebookNode) -> str:
    """The notebook as committed: nbformat's JSON (indent 1, sorted keys) and a final newline."""
    return nbformat.writes(nb, version=4).rstrip("\n") + "\n"


def read(path: Path) -> NotebookNode:
    """Read a notebook, saying which file when it is not valid JSON."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several kinds
        raise NotebookError(f"{show(path)}: not a readable notebook ({error}).") from error


def show(path: Path) -> str:
    """A path as a person would type it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` unless the file already holds it; say whether it was written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return True
