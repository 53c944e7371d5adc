"""Browser-test helpers shared by every browser test (and the UI benchmarks): a real
``streamlit run`` on a free loopback port, Debian's Chromium through Playwright, and waits on
conditions (never fixed sleeps).

    proc, url = start_server(env, log)            # healthy, or RuntimeError with the log's tail
    with sync_playwright() as p:
        browser = launch(p)                       # /usr/bin/chromium (or $CHROMIUM), headless
        page = browser.new_page(); page.goto(url); wait_for_app(page)
        wait_until(lambda: step_count(page) == 3, 30, "step 3")
        run_id = wait_until(lambda: url_param(page, "run"), 30, "?run= in the address bar")
    stop_server(proc)

Without Chromium or Playwright, ``require_browser()`` skips with how to enable the tests — except
with ``CI=true``, where a missing browser fails the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, TypeVar

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard.py"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_MISSING = "install chromium (apt-get install chromium) and `pip install playwright` to run browser tests"
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SERVER_START_TIMEOUT_S = 90
POLL_S = 0.1

T = TypeVar("T")


# ------------------------------------------------------------------------------------ waiting

def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = POLL_S) -> T:
    """Poll ``condition()`` until it returns something truthy (returned), else AssertionError
    naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def unchanged_after_redraws(page, read: Callable[[], T], expected: T, *, redraws: int = 2, what: str) -> None:
    """Assert that ``read()`` still gives ``expected`` after ``redraws`` full redraws of the page
    (reloads: each a new script run that reads the server's current state), e.g. that a paused
    run's counter does not move. A condition on the server's state, not a sleep."""
    for i in range(redraws):
        page.reload()
        wait_for_app(page)
        got = wait_until(lambda: (v := read()) is not None and (v,), 60, f"{what}: a value to read")[0]
        assert got == expected, f"{what}: {got!r} != {expected!r} after redraw {i + 1}"


def wait_for_app(page, timeout: float = 60) -> None:
    """Wait until Streamlit's script run is finished (live fragments may rerun afterwards)."""
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout * 1000)


def address(page) -> str:
    """The address bar's URL right now. Not ``page.url``: Playwright's sync API updates that property
    only while it handles a call, so a ``wait_until`` loop over ``page.url`` (sleeps, no calls) never
    sees the ``history.pushState`` by which Streamlit writes ``st.query_params`` into the address."""
    return page.evaluate("() => window.location.href")


def url_param(page, name: str) -> str | None:
    """The query parameter ``name`` in the address bar right now (None: absent or empty)."""
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(address(page)).query).get(name)
    return values[-1] if values else None


def exception_texts(page) -> list[str]:
    """Texts of the Streamlit exception boxes on the page (empty: none)."""
    boxes = page.locator("[data-testid='stException']")
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]


# ------------------------------------------------------------------------------------ server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    try:
        wait_until(healthy, timeout, f"streamlit at {url}", interval=0.3)
    except AssertionError:
        raise RuntimeError(f"streamlit did not answer at {url} within {timeout} s:\n{log.read_text()[-3000:]}")


def start_server(env_extra: dict[str, str], log: Path, *, app: Path = APP,
                 timeout: float = SERVER_START_TIMEOUT_S) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app`` in its own process group; returns (process, base URL) once healthy."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, timeout)
    except BaseException:
        stop_server(proc)
        raise
    return proc, url


@contextlib.contextmanager
def serving(env_extra: dict[str, str], log: Path, **kwargs):
    """``with serving(env, log) as url:`` a server for the block (``start_server``'s arguments)."""
    proc, url = start_server(env_extra, log, **kwargs)
    try:
        yield url
    finally:
        stop_server(proc)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group (its job threads die with it)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue


# ------------------------------------------------------------------------------------ browser

def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def browser_missing() -> str | None:
    """Why no browser test can run here (None: they can)."""
    if not Path(chromium_path()).exists():
        return f"no Chromium at {chromium_path()}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def require_browser() -> None:
    """Skip the calling test when there is no browser; with ``CI=true``, fail instead."""
    import pytest

    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: {BROWSER_MISSING} (CI=true: browser tests must run)")
    pytest.skip(f"{reason}: {BROWSER_MISSING}")


def launch(playwright):
    """Headless system Chromium (never a downloaded one)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
