"""Executing notebooks, and whether their committed outputs are still current.

After a run the tool records in `metadata.course.executed` the mode, a hash of the cell sources
and a hash of each `course_utils` file the kernel had imported. Outputs are stale when a source
changed (always an error) or when one of those library files changed (a warning for now, an
error with COURSE_STRICT_LIBRARY_HASH=1). A notebook recorded without library hashes (executed
by an older tool) is "unknown" on that count, not stale.

Progress bars are executed as tqdm's text bar: `tqdm.auto` picks the widget bar whenever
ipywidgets can be imported in a kernel, and a widget bar saved in a notebook shows as
"model not found" (JupyterLab) or as its first, 0 % text (GitHub). No tqdm setting or
environment variable selects the text bar, so the kernel the tool starts runs one start-up line
(`IPKernelApp.exec_lines`, outside the notebook, nothing to remove afterwards) that points
`tqdm.auto.tqdm` at `tqdm.std.tqdm`; the normal form then keeps each bar's final line. A
student's own Jupyter is untouched and shows widget bars.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from tools.normal_form import ROOT, NotebookError, source_hash, where

REGENERATE = "python3 course.py notebooks run"
MODE_RE = re.compile(r"mode: (full|SMOKE)")
LIBRARY = "course_utils"
STRICT_LIBRARY = "COURSE_STRICT_LIBRARY_HASH"
TEXT_TQDM = (
    "import tqdm.auto as _a, tqdm.autonotebook as _n, tqdm.std as _s; "
    "_a.tqdm = _n.tqdm = _s.tqdm; _a.trange = _n.trange = _s.trange; del _a, _n, _s"
)
ASK_LIBRARY = f"""\
import json as _json, sys as _sys
print(_json.dumps(sorted(
    m.__file__ for n, m in list(_sys.modules.items())
    if (n == {LIBRARY!r} or n.startswith({LIBRARY + "."!r})) and getattr(m, "__file__", None)
)))"""


def kernel_config() -> object:
    """Kernel settings: CurveZMQ-encrypted TCP, which also silences ipykernel's TCP warning."""
    import zmq
    from traitlets.config import Config

    config = Config()
    if zmq.has("curve"):
        config.KernelManager.transport_encryption = "auto"
    return config


def executed_mode(nb: NotebookNode) -> str | None:
    """The mode the first cell reported ('full' or 'smoke'), or None if it printed none."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                if m := MODE_RE.search(text if isinstance(text, str) else "".join(text)):
                    return "full" if m.group(1) == "full" else "smoke"
            return None
    return None


def first_error(nb: NotebookNode) -> tuple[int, NotebookNode, dict] | None:
    """The first cell with an error output: (index, cell, output), or None."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                return index, cell, output
    return None


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_hashes(files: list[str]) -> dict[str, str]:
    """{'course_utils/x.py': sha256} for module files of the library, keyed from the package root."""
    hashes = {}
    for name in files:
        path = Path(name)
        parts = path.parts
        if LIBRARY in parts and path.is_file():
            start = len(parts) - 1 - parts[::-1].index(LIBRARY)
            hashes["/".join(parts[start:])] = file_hash(path)
    return dict(sorted(hashes.items()))


def execute(
    nb: NotebookNode,
    name: str,
    cwd: Path,
    smoke: bool,
    timeout: int | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Execute a notebook top to bottom with nbclient; raise NotebookError at the first error.

    Returns the hashes of the library files the kernel had imported at the end.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    saved = dict(os.environ)
    os.environ["COURSE_SMOKE"] = "1" if smoke else "0"
    os.environ.update(env or {})
    nb.cells.append(new_code_cell(ASK_LIBRARY))  # asked last, then removed
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=True,
        extra_arguments=[f"--IPKernelApp.exec_lines={TEXT_TQDM}"],
        config=kernel_config(),
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        nb.cells.pop()
        failed = first_error(nb)
        if failed is not None:
            index, cell, output = failed
            raise NotebookError(
                f"{where(name, index, cell)} failed:\n{output.ename}: {output.evalue}",
                cell_index=index,
                ename=output.ename,
                evalue=output.evalue,
            ) from error
        raise NotebookError(
            f"{name}: execution stopped: {type(error).__name__}: {error}"
        ) from error
    finally:
        os.environ.clear()
        os.environ.update(saved)
    asked = nb.cells.pop()
    text = "".join(o.get("text", "") for o in asked.outputs if o.get("name") == "stdout")
    return library_hashes(json.loads(text.strip().splitlines()[-1]))


# --------------------------------------------------------------------------------------------
# Staleness
# --------------------------------------------------------------------------------------------


def record(nb: NotebookNode) -> dict:
    """The execution record the tool keeps in the notebook's metadata (may be empty)."""
    return dict(nb.metadata.get("course", {}).get("executed", {}))


def make_record(nb: NotebookNode, mode: str, library: dict[str, str] | None) -> dict:
    """The record written after an execution (library None: not known, e.g. after `stamp`)."""
    made = {"mode": mode, "source_sha256": source_hash(nb)}
    if library is not None:
        made["library"] = library
    return made


def staleness(nb: NotebookNode, name: str) -> str | None:
    """Why the outputs are not current for the sources, or None if they are."""
    rec = record(nb)
    if not rec:
        return f"{name} has no execution record (it was not executed by {REGENERATE})."
    if rec.get("source_sha256") != source_hash(nb):
        return f"{name} was edited after it was last executed."
    return None


def library_changes(nb: NotebookNode, root: Path = ROOT) -> list[str] | None:
    """The recorded library files that changed (or are gone) since the run; None if unknown."""
    recorded = record(nb).get("library")
    if recorded is None:
        return None
    changed = []
    for key, digest in recorded.items():
        path = root / key
        if not path.is_file():
            changed.append(f"{key} (removed)")
        elif file_hash(path) != digest:
            changed.append(key)
    return changed


def library_staleness(nb: NotebookNode, name: str, root: Path = ROOT) -> str | None:
    """A sentence naming the library files changed since the notebook ran, or None."""
    changed = library_changes(nb, root)
    if not changed:
        return None
    return (
        f"{name} was executed with other versions of {', '.join(changed)}; its outputs may be "
        f"stale. Run: {REGENERATE} {name}"
    )


def library_is_strict() -> bool:
    """Whether a stale library hash is an error (COURSE_STRICT_LIBRARY_HASH=1) or a warning."""
    return os.environ.get(STRICT_LIBRARY, "") not in ("", "0")


def outdated(nb: NotebookNode, name: str, mode: str = "full") -> str | None:
    """What is wrong with the execution record, and the command that fixes it; None if current."""
    reason = staleness(nb, name)
    if reason and not record(nb):
        return (
            f"{reason} Run: {REGENERATE} {name} (or, if you have just executed it in full mode "
            f"with nbconvert: python3 course.py notebooks stamp {name})"
        )
    if reason:
        return f"{reason} Run: {REGENERATE} {name}"
    if record(nb).get("mode") != mode:
        return (
            f"{name} was last executed in {record(nb).get('mode')} mode; solution notebooks are "
            f"committed executed in {mode} mode. Run: {REGENERATE} {name}"
        )
    return None


def execution_problems(nb: NotebookNode, name: str) -> list[str]:
    """Problems with the outputs: counts not 1, 2, 3, ... top to bottom, or error outputs."""
    problems = []
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(
            f"{name}: execution counts are {counts[:12]}{' ...' if len(counts) > 12 else ''}; "
            f"expected 1, 2, 3, ... (run it top to bottom with {REGENERATE} --force {name})."
        )
    failed = first_error(nb)
    if failed is not None:
        index, cell, output = failed
        problems.append(
            f"{where(name, index, cell)} has an error output: {output.ename}: {output.evalue}"
        )
    return problems
