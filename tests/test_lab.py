"""`python3 course.py lab` as a student meets it: the server it starts, and lessons run in a real browser.

The server is the project's own main command on a free loopback port. The browser test drives
headless Chromium (Debian's `chromium`) with Playwright; `.ci/run` installs both. Without them the
browser test is skipped locally, and fails under CI (CI=true), where it must run. Screenshots go to
`.ci/artifacts/` (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / ".ci" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Lab settings for a test: no autosave (the student notebooks in the repository stay untouched),
# every cell in the page (JupyterLab 4 otherwise renders only the cells in view), no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict | None, str | None]:
    """Status, JSON body (if any) and redirect target of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(body) if "json" in kind else None, None
    except urllib.error.HTTPError as error:
        return error.code, None, error.headers.get("Location")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started by `python3 course.py lab`, on 127.0.0.1; yields (base URL, token)."""
    home = tmp_path_factory.mktemp("jupyter")
    for name, value in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(base, token):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(home / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        shut_down(base, token)  # kernels too: a plain SIGTERM leaves them running
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def shut_down(base: str, token: str) -> None:
    """Ask the server to stop its kernels and exit (its own /api/shutdown)."""
    request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST", data=b"")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except (urllib.error.URLError, ConnectionError, OSError):
        pass  # already gone


def _ready(base: str, token: str) -> bool:
    try:
        return get(f"{base}/api/status?token={token}")[0] == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def test_lab_serves_the_whole_course_and_opens_on_the_student_notebooks(lab):
    base, token = lab
    status, root, _ = get(f"{base}/api/contents?token={token}")
    assert status == 200
    names = {item["name"] for item in root["content"]}
    assert {"student", "notebooks", "course_utils"} <= names
    _, student, _ = get(f"{base}/api/contents/student?token={token}")
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(i["name"] for i in student["content"] if i["name"].endswith(".ipynb")) == lessons
    status, _, location = get(f"{base}/?token={token}")
    assert status in (301, 302) and location and location.split("?")[0].endswith("/lab/tree/student")


# The browser part -----------------------------------------------------------------------------

NEEDS_BROWSER = "the real-browser test needs Playwright (pip install playwright) and Debian's chromium"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NEEDS_BROWSER}; .ci/run installs both")
        pytest.skip(NEEDS_BROWSER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield browser
        browser.close()


def accept_kernel_dialog(page) -> None:
    """If JupyterLab asks which kernel to start, take the one it proposes (the notebook's own)."""
    try:
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=5_000)
    except Exception:  # no dialog: the kernel started by itself  # noqa: BLE001
        pass


def run_all_cells(page) -> None:
    """Run > Run All Cells, from the menu, as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def wait_until_done(page, timeout_s: float) -> None:
    """Wait until no cell is queued or running ([*]) and the kernel is idle."""
    deadline = time.monotonic() + timeout_s
    time.sleep(2)
    while time.monotonic() < deadline:
        busy = page.evaluate(
            """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                       .some(p => p.textContent.includes('*'))"""
        )
        status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        if not busy and status == "idle":
            return
        time.sleep(1)
    raise AssertionError(f"cells still running after {timeout_s:.0f} s")


def outputs(page) -> dict:
    return page.evaluate(
        """() => ({
            errors: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                      .map(e => e.innerText).filter(t => /Error|Traceback/.test(t)),
            images: document.querySelectorAll('.jp-OutputArea-output img').length,
            widgets: document.querySelectorAll('.jp-OutputArea-output .widget-vbox, .jp-OutputArea-output .jupyter-widgets').length,
            widget_errors: document.body.innerText.includes('Error displaying widget'),
            executed: [...document.querySelectorAll('.jp-InputArea-prompt')]
                        .filter(p => /\\[\\d+\\]/.test(p.textContent)).length,
        })"""
    )


@pytest.mark.parametrize(
    "lesson, widgets_expected", [("00_setup_and_tensors", False), ("02_layers", True)]
)
def test_student_notebook_runs_in_a_real_browser(lab, browser, lesson, widgets_expected):
    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab/tree/student/{lesson}.ipynb?token={token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        accept_kernel_dialog(page)
        page.wait_for_function(
            """() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'
                     && !document.body.innerText.includes('| Initializing')""",
            timeout=60_000,
        )
        run_all_cells(page)
        wait_until_done(page, timeout_s=240)
        result = outputs(page)
        stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        if stderr.count():
            stderr.first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"lab-{lesson}.png"), full_page=True)
    finally:
        page.close()
    # Running the student version stops at the first exercise, and only there.
    assert len(result["errors"]) == 1, result["errors"]
    assert "NotImplementedError" in result["errors"][0] and "Exercise 1" in result["errors"][0]
    assert result["executed"] >= 3
    assert result["images"] >= 1, "no plot was rendered as an image"
    assert not result["widget_errors"], "a widget failed to display"
    if widgets_expected:
        assert result["widgets"] >= 1, "the lesson's widget did not render"
