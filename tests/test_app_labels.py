"""The label pages through Streamlit's AppTest: "Labels in the game" (label-conditioned AAE) and
"Style and content" (supervised AAE). The guard clause without a run, the run each page makes
(kind, prior, labelled share, style size), the live numbers and walks after a step, the style grid,
the pad's ten digits and a drawn digit's style. Fragments do not tick in AppTest, so each
``at.run()`` is one full redraw."""

from __future__ import annotations

import numpy as np
import pytest

from aae.data import load_dataset, to_float
from ui import label_views as lv, state, texts
from ui.components.draw_canvas import drawing_state

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TIMEOUT = 300.0   # generous: a run loads and steps on two shared cores


def _clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open(app_test, page: str):
    at = app_test(timeout=TIMEOUT)
    at.run()
    at.switch_page(page).run()
    _clean(at)
    return at


def _job(at, slot):
    job = state.registry().get(at.session_state[slot.session_key])
    assert job is not None, "the page made no run"
    return job


def _step(at, prefix: str, slot):
    """Step one batch through the page's button; a run still loading when the button's wait ends
    (the cores are shared) gets a second click once it is ready."""
    at.button(key=f"{prefix}_step").click().run()
    _clean(at)
    job = _job(at, slot)
    if job.wait_for(lambda s: (s.status == "paused" and bool(s.models)) or s.step >= 1, TIMEOUT).step == 0:
        at.button(key=f"{prefix}_step").click().run()
        _clean(at)
    return job


def _all_widgets_have_help(at) -> None:
    for widget in [*at.radio, *at.selectbox, *at.button, *at.select_slider]:
        assert widget.help, f"{widget.label!r} has no help text"


def _html(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_labels_page_without_a_run_offers_the_ten_part_priors_and_the_labelled_share(app_test):
    at = _open(app_test, "pages/labelled.py")
    assert at.title[0].value == texts.LABELLED_TITLE
    assert texts.LABELLED_NO_RUN in "\n".join(i.value for i in at.info)
    prior = at.selectbox(key=state.LABELLED.prior_key)
    assert list(prior.options) == ["Mixture of 10 Gaussians", "Swiss roll", "Pinwheel"]
    assert at.select_slider(key=lv.K_FRACTION).value == 1.0
    _all_widgets_have_help(at)
    assert not state.registry().jobs()


def test_a_labels_run_uses_the_chosen_prior_and_share_and_shows_its_fit_and_walk(app_test):
    at = _open(app_test, "pages/labelled.py")
    at.selectbox(key=state.LABELLED.prior_key).set_value("swiss_roll").run()
    at.select_slider(key=lv.K_FRACTION).set_value(0.2).run()
    job = _step(at, "lab", state.LABELLED)
    cfg = job.peek().config
    assert (cfg.model.kind, cfg.prior.name, cfg.train.label_fraction) == ("labelled_aae", "swiss_roll", 0.2)
    assert job.peek().phases == ("reconstruction", "discriminator", "generator")
    job.wait_for(lambda s: s.step >= 1 and s.decoder_weights is not None and s.codes is not None, TIMEOUT)
    at.run()
    _clean(at)
    assert {m.label for m in at.metric} >= {texts.OWN_COMPONENT_LABEL, texts.REFEREE_LABEL}
    own = next(m for m in at.metric if m.label == texts.OWN_COMPONENT_LABEL)
    assert own.value.endswith("%")
    html = _html(at)
    assert texts.WALK_ROLL_ALT in html and html.count("walk-roll") >= 1
    assert texts.LABELLED_WHAT_CHANGED in html


def test_the_mixtures_walks_are_three_petal_rows_decoded_from_the_snapshot():
    """The walk helper on its own: three rows of ten for the mixture, one of twenty for the roll."""
    from aae.models import Decoder
    from aae.priors import make_prior
    dec = Decoder(latent_dim=2, hidden=(8,))
    weights = [(l.weight.detach().numpy(), l.bias.detach().numpy()) for l in dec.linear_layers()]
    images, cols, kind = lv.walk_images(weights, make_prior("mog10"))
    assert images.shape == (30, 28, 28) and cols == 10 and kind == "petals"
    images, cols, kind = lv.walk_images(weights, make_prior("swiss_roll"))
    assert images.shape == (20, 28, 28) and cols == 20 and kind == "roll"
    assert lv.walk_images(weights, make_prior("pinwheel")) is None


def test_the_style_page_without_a_run_shows_the_guard_and_the_style_size(app_test):
    at = _open(app_test, "pages/style.py")
    assert at.title[0].value == texts.STYLE_TITLE
    assert texts.STYLE_NO_RUN in "\n".join(i.value for i in at.info)
    assert list(at.radio(key=lv.K_STYLE_DIM).options) == ["2-D", "15-D"]
    _all_widgets_have_help(at)


@pytest.mark.parametrize("dim", [2, 15])
def test_a_style_run_draws_the_grid_the_pads_ten_digits_and_a_drawn_digits_style(app_test, dim):
    at = _open(app_test, "pages/style.py")
    at.radio(key=lv.K_STYLE_DIM).set_value(dim).run()
    job = _step(at, "sty", state.STYLE)
    cfg = job.peek().config
    assert (cfg.model.kind, cfg.model.latent_dim, cfg.prior.name) == ("supervised_aae", dim, "gaussian")
    snap = job.wait_for(lambda s: s.step >= 1 and s.decoder_weights is not None and s.view.encoder_weights is not None,
                        TIMEOUT)
    at.run()
    _clean(at)
    html = _html(at)
    assert texts.STYLE_GRID_ALT_TEXT in html and texts.STYLE_PAD_ROW_ALT in html
    # the pad's style is drawn as every digit: moving it changes the row
    at.session_state[lv.K_PAD] = {"z": [1.5, -1.0]}
    at.run()
    _clean(at)
    assert texts.STYLE_PAD_ROW.format(x=1.5, y=-1.0) in "\n".join(c.value for c in at.caption)
    # a drawn digit's style, re-drawn as all ten
    digit = to_float(load_dataset("mnist-5k").test_images[:1]).reshape(28, 28).numpy()
    at.session_state[lv.K_DRAW] = drawing_state(digit)
    at.run()
    _clean(at)
    assert texts.STYLE_DRAW_ROW_ALT in _html(at)
    style = lv.drawn_style(snap, digit)
    assert style.shape == (dim,) and np.isfinite(style).all()
    row = lv.ten_digits(snap.decoder_weights, style)
    assert row.shape == (10, 28, 28) and 0 <= row.min() and row.max() <= 1


@pytest.mark.parametrize("page, slot", [("pages/train.py", state.TRAIN), ("pages/compare.py", state.COMPARE),
                                        ("pages/semi_supervised.py", state.SEMI),
                                        ("pages/clustering.py", state.CLUSTERING),
                                        ("pages/reduction.py", state.REDUCTION),
                                        ("pages/labelled.py", state.LABELLED), ("pages/style.py", state.STYLE)])
def test_every_training_page_starts_at_full_speed(app_test, page, slot):
    """A speed control without a value would show, and run at, its first choice (slow motion): a
    teacher pressing Start would see one step a second."""
    at = _open(app_test, page)
    speed = at.select_slider(key=slot.speed_key)
    assert speed.value == state.speed_label(None)
    assert texts.SPEED_CHOICES[speed.value] is None
