"""The categorical AAE's pages (semi-supervised classification, clustering, dimensionality
reduction) through Streamlit's AppTest: the guard clause without a run, the run each page makes
(kind, labels, clusters), its live numbers after a few steps, and a drawn digit's prediction.
Fragments do not tick in AppTest, so each ``at.run()`` is one full redraw."""

from __future__ import annotations

import numpy as np
import pytest

from aae.data import load_dataset, to_float
from ui import state, texts
from ui.components.draw_canvas import drawing_state

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TIMEOUT = 120.0   # the suite shares two cores


def _clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _job(at, slot):
    job = state.registry().get(at.session_state[slot.session_key])
    assert job is not None, "the page made no run"
    return job


def _open(app_test, page: str):
    at = app_test(timeout=TIMEOUT)
    at.run()
    at.switch_page(page).run()
    _clean(at)
    return at


def _all_widgets_have_help(at) -> None:
    for widget in [*at.radio, *at.number_input, *at.button, *at.select_slider]:
        assert widget.help, f"{widget.label!r} has no help text"


def _step(at, prefix: str, job=None, steps: int = 1):
    for _ in range(steps):
        at.button(key=f"{prefix}_step").click().run()
        _clean(at)


def test_semi_supervised_page_without_a_run_shows_the_guard_and_the_papers_table(app_test):
    at = _open(app_test, "pages/semi_supervised.py")
    assert at.title[0].value == texts.SEMI_TITLE
    assert texts.SEMI_NO_RUN in "\n".join(i.value for i in at.info)
    assert [o for o in at.radio(key="setup_semi_labels").options] == ["100", "1,000", "4,500"]
    _all_widgets_have_help(at)
    table = at.dataframe[0].value
    assert list(table["paper AAE (MNIST)"]) == ["1.90 %", "1.60 %", "0.85 %"]   # as Table 2 prints them
    assert list(table["paper NN baseline (MNIST)"]) == ["25.80 %", "8.73 %", "1.25 %"]
    assert not state.registry().jobs()


def test_semi_supervised_run_uses_the_chosen_labels_and_shows_both_errors(app_test):
    at = _open(app_test, "pages/semi_supervised.py")
    at.radio(key="setup_semi_labels").set_value(100).run()
    _step(at, "semi")
    job = _job(at, state.SEMI)
    cfg = job.peek().config
    assert cfg.model.kind == "semi_supervised" and cfg.data.name == "mnist-5k"
    assert round(cfg.train.label_fraction * 4500) == 100
    snap = job.wait_for(lambda s: s.step >= 1 and "test_error" in s.view.latest and "confusion" in s.view.extras,
                        TIMEOUT)
    at.run()
    _clean(at)
    labels = {m.label for m in at.metric}
    assert set(texts.SEMI_SERIES.values()) <= labels
    assert 0 <= snap.view.latest["baseline_error"] <= 1
    # a drawn digit gets a verdict from the run's own encoder
    digit = to_float(load_dataset("mnist-5k").test_images[:1]).reshape(28, 28).numpy()
    at.session_state["semi_draw"] = drawing_state(digit)
    at.run()
    _clean(at)
    said = "\n".join(m.value for m in at.markdown)
    assert "The AAE says" in said


def test_clustering_page_makes_a_run_with_the_chosen_number_of_clusters(app_test):
    at = _open(app_test, "pages/clustering.py")
    assert at.title[0].value == texts.CLUSTER_TITLE
    assert texts.CLUSTER_NO_RUN in "\n".join(i.value for i in at.info)
    _all_widgets_have_help(at)
    table = at.dataframe[0].value
    assert list(table["clusters"]) == [16, 30]
    assert list(table["paper (MNIST)"]) == ["9.55 %", "4.10 %"]     # as Table 3 prints them
    at.number_input(key="setup_clustering_n").set_value(30).run()
    _step(at, "clustering")
    job = _job(at, state.CLUSTERING)
    assert job.peek().config.model.kind == "clustering" and job.peek().config.model.n_classes == 30
    snap = job.wait_for(lambda s: "heads" in s.view.extras and "members" in s.view.extras, TIMEOUT)
    assert snap.view.extras["heads"].shape == (30, 28, 28)
    at.run()
    _clean(at)
    assert any(texts.HEADS_TITLE in m.value for m in at.markdown)


@pytest.mark.parametrize("variant", ["reduction", "reduction_semi"])
def test_reduction_page_makes_either_variant(app_test, variant):
    at = _open(app_test, "pages/reduction.py")
    assert at.title[0].value == texts.REDUCTION_TITLE
    _all_widgets_have_help(at)
    at.radio(key="setup_reduction_kind").set_value(variant).run()
    _step(at, "reduction")
    job = _job(at, state.REDUCTION)
    cfg = job.peek().config
    assert cfg.model.kind == variant
    if variant == "reduction_semi":
        assert round(cfg.train.label_fraction * 4500) == 1000
    job.wait_for(lambda s: "purity" in s.view.latest and s.view.codes is not None, TIMEOUT)
    at.run()
    _clean(at)
    assert any("5-NN accuracy" in m.value for m in at.markdown)
    assert np.isfinite(job.peek().view.latest["purity"])
