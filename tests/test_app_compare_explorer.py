"""AppTest of the Compare and Explorer pages (pages/compare.py, pages/explorer.py) inside the frame.

AppTest runs no JavaScript: the latent pad and the drawing canvas are played by writing their
component state (``at.session_state[key] = {...}``), and plotly charts / v2 components show up
as ``UnknownElement`` / ``bidi_component`` nodes whose protos hold what the browser would get.
Small checkpoints trained for a few steps on the synthetic dataset stand in for the shipped ones.
"""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from aae.checkpoints import load_checkpoint, save_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig
from aae.data import load_dataset
from aae.priors import prior_from_config
from aae.train import Trainer, seeded_model
from ui import setup, state
from ui.components import drawing_state

PAD = state.K.EXP_PAD
DRAW = state.K.EXP_DRAW
SOURCE = state.K.EXP_SOURCE
CHECKPOINTS = (("ae", "ae", "gaussian"), ("vae", "vae-gaussian", "gaussian"), ("aae", "aae-gaussian", "gaussian"))


def make_checkpoints(folder: Path, steps: int = 8, prefix: str = "") -> dict[str, Path]:
    """AE, VAE and AAE on the synthetic dataset, a few steps each, named like the shipped ones
    (after ``prefix``)."""
    data = load_dataset("synthetic")
    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: a second thread only waits for a busy core
    try:
        for kind, name, prior in CHECKPOINTS:
            config = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name=prior),
                               model=ModelConfig(kind=kind))
            model = seeded_model(config.model, 0)
            trainer = Trainer(model, prior_from_config(config.prior, 2), data.train_images, data.train_labels,
                              config=config.train, device="cpu")
            for _ in range(steps):
                trainer.step()
            out[name] = save_checkpoint(folder / f"{prefix}{name}", model.eval(), config, step=steps, half=True)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    return make_checkpoints(tmp_path_factory.mktemp("shipped"))


@pytest.fixture
def at(app_test, checkpoints, monkeypatch):
    """The dashboard (conftest's ``app_test``: the real frame, isolated folders) with only the test
    checkpoints as 'shipped', and the synthetic dataset chosen on the Train page."""
    import ui.state
    monkeypatch.setattr(ui.state, "SHIPPED_CHECKPOINTS", next(iter(checkpoints.values())).parent)
    app = app_test()
    app.session_state[setup.key("dataset")] = "synthetic"  # Compare trains with the Train page's settings
    app.run()
    return app


def rerun_until(app: AppTest, check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        app.run()
        assert not app.exception, app.exception
        value = check(app)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


def pad_data(app: AppTest, name: str = "aae_latent_pad") -> dict:
    pads = [e for e in app.get("bidi_component") if e.proto.component_name == name]
    assert pads, f"no {name} on the page"
    return json.loads(pads[0].proto.json)


def latent_charts(app: AppTest) -> list:
    """The Compare page's latent scatters: its only Vega-Lite charts (AppTest keeps no element ids)."""
    return list(app.get("vega_lite_chart"))


def captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption]


def server_z(app: AppTest) -> tuple[float, float]:
    text = next(c for c in captions(app) if c.startswith("decoder(z) at z = "))
    x, y = text.removeprefix("decoder(z) at z = (").removesuffix(")").split(", ")
    return float(x), float(y)


def server_image(app: AppTest) -> np.ndarray:
    """Python's decoded digit as the page shows it (an inline PNG), back at 28x28 in [0, 1] ink."""
    assert any(c.startswith("decoder(z) at z = ") for c in captions(app))
    # the first image on the page is Python's decode (the pad draws its own digit in the browser)
    url = app.get("image")[0].value[0]
    assert url.startswith("data:image/png;base64,")
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), np.float32)
    scale = img.shape[0] // 28
    return 1.0 - img[::scale, ::scale] / 255.0


# ==================================================================================== Compare page

def test_compare_page_without_a_run_says_what_to_press(at):
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert at.title[0].value.startswith("AE vs VAE vs AAE")
    assert any("Train all three" in i.value for i in at.info)
    assert at.button(key="cmp_play").label == "Train all three"
    for key in ("cmp_play", "cmp_shipped", "cmp_step", "cmp_reset"):
        assert at.button(key=key).proto.help


def test_vae_with_swiss_roll_explains_why_it_sits_out(at):
    at.switch_page("pages/compare.py").run()
    at.selectbox(key=state.K.CMP_PRIOR).set_value("swiss_roll").run()
    at.button(key="cmp_step").click().run()                # a paused run, one batch for all three
    warning = rerun_until(at, lambda a: [w.value for w in a.warning if "VAE" in w.value],
                          "the VAE panel explains itself")[0]
    assert "density" in warning and "§2.1" in warning and "AAE" in warning
    table = at.dataframe[0].value
    assert list(table["model"]) == ["AE", "VAE (sits out)", "AAE"]
    assert table["fit"].isna().tolist() == [False, True, False]
    assert len(latent_charts(at)) == 2                     # AE and AAE scatters; the VAE panel explains


def test_shipped_checkpoints_start_paused_with_three_panels_and_the_table(at, checkpoints):
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_shipped").click().run()
    def metrics(a):   # the comparison's table (the likelihood table below it has other columns)
        return next((d.value for d in a.dataframe if "recon" in d.value.columns), None)

    rerun_until(at, lambda a: metrics(a) is not None and metrics(a)[["recon", "fit", "knn"]].notna().all().all(),
                "the table fills")
    status = next(m.value for m in at.markdown if "step" in m.value and "epoch" in m.value)
    assert "paused" in status and "step 8 " in status
    assert any(m.value.startswith("run `") for m in at.markdown)        # the run's id, under Details
    table = metrics(at)
    assert list(table["model"]) == ["AE", "VAE", "AAE"]
    assert table[["recon", "fit", "knn"]].notna().all().all()
    assert len(latent_charts(at)) == 3
    # one probe, three decoders: the same z decoded by each
    at.session_state[state.K.CMP_PAD] = {"z": [1.5, -0.5]}
    at.run()
    assert any("z = (1.50, -0.50)" in m.value for m in at.markdown)
    assert len(at.get("image")) >= 3


# ==================================================================================== Explorer page

def test_explorer_without_models_says_where_they_come_from(at, tmp_path, monkeypatch):
    import ui.state
    monkeypatch.setattr(ui.state, "SHIPPED_CHECKPOINTS", tmp_path / "none")
    st.cache_data.clear()                                  # the checkpoint list is cached for 5 s
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    assert any("Nothing to explore yet" in i.value for i in at.info)


def test_setting_the_pad_state_decodes_that_z(at, checkpoints):
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key=SOURCE).set_value(f"ckpt:{checkpoints['aae-gaussian']}").run()
    assert not at.exception
    data = pad_data(at)
    assert data["weights"]["format"] == "aae-mlp-v1" and data["codes"]["n"] == 200
    assert server_z(at) == (0.0, 0.0)
    model = load_checkpoint(checkpoints["aae-gaussian"]).model
    for z in ([1.0, -0.5], [-2.25, 0.75]):
        at.session_state[PAD] = {"z": z}
        at.run()
        assert server_z(at) == tuple(z)
        with torch.no_grad():
            expected = model.decode(torch.tensor([z])).numpy()[0]
        assert np.abs(server_image(at) - expected).max() <= 1 / 255 + 1e-6   # the model's decode of that z


def test_a_drawing_is_encoded_onto_the_map(at, checkpoints):
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key=SOURCE).set_value(f"ckpt:{checkpoints['ae']}").run()
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 13:16] = 1.0                                 # a vertical stroke, like a "1"
    at.session_state[DRAW] = drawing_state(bar)
    at.run()
    assert not at.exception
    marks = [m for m in pad_data(at)["markers"] if m.get("text") == "your drawing"]
    assert len(marks) == 1
    model = load_checkpoint(checkpoints["ae"]).model
    with torch.no_grad():
        z = model.encode(torch.from_numpy(bar).reshape(1, 784))[0].numpy()
    assert marks[0]["x"] == pytest.approx(z[0], abs=1e-4) and marks[0]["y"] == pytest.approx(z[1], abs=1e-4)
    image_captions = [c for img in at.get("image") for c in img.captions]
    assert f"reconstruction · z = ({z[0]:.2f}, {z[1]:.2f})" in image_captions
    at.button(key="explorer_to_drawing").click().run()
    assert pad_data(at)["z"] == pytest.approx([z[0], z[1]], abs=1e-4)


def test_interpolation_draws_its_path_on_the_map(at, checkpoints):
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key=SOURCE).set_value(f"ckpt:{checkpoints['aae-gaussian']}").run()
    at.selectbox(key=state.K.EXP_FROM).set_value("class:0").run()
    at.selectbox(key=state.K.EXP_TO).set_value("class:5").run()
    at.slider(key=state.K.EXP_STEPS).set_value(7).run()
    data = pad_data(at)
    assert len(data["path"]) == 2
    texts = {m["text"] for m in data["markers"]}
    assert {"A", "B"} <= texts
    assert any(c.startswith("Decoded along the dashed straight line") for c in captions(at))


def test_manifold_grid_caption_names_the_kind_of_grid(at, checkpoints):
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key=SOURCE).set_value(f"ckpt:{checkpoints['aae-gaussian']}").run()
    assert any("percentiles of p(z)" in c for c in captions(at))
    at.selectbox(key=SOURCE).set_value(f"ckpt:{checkpoints['ae']}").run()
    assert any("A plain AE follows no prior" in c for c in captions(at))


def test_a_live_compare_run_is_a_source(at):
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_step").click().run()
    at.switch_page("pages/explorer.py").run()
    run_id = at.session_state[state.COMPARE.session_key]
    live = [o for o in at.selectbox(key=SOURCE).options if "Compare run" in o]
    assert [o.rsplit("— ", 1)[1] for o in live] == ["AE", "VAE", "AAE"]
    at.selectbox(key=SOURCE).set_value(f"live:{run_id}:aae").run()
    rerun_until(at, lambda a: any(c.startswith("decoder(z) at z =") for c in captions(a)), "the live model shows")
    version = pad_data(at)["weights_version"]
    assert version.endswith("-aae-1")                      # the job's decoder version after one step
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 13:16] = 1.0
    at.session_state[DRAW] = drawing_state(bar)
    at.run()
    assert not at.exception
    marks = [m for m in pad_data(at)["markers"] if m.get("text") == "your drawing"]
    assert len(marks) == 1                                 # a live run publishes its encoder: drawings encode
    assert not any(c.startswith("Encoding a drawing needs the encoder") for c in captions(at))


def test_the_compare_run_is_in_the_url_and_reattaches(at, app_test):
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_step").click().run()
    run_id = at.session_state[state.COMPARE.session_key]
    assert at.query_params["compare"] in (run_id, [run_id])
    again = app_test(query={"compare": run_id})            # a refresh: a new session, same URL
    again.run()
    again.switch_page("pages/compare.py").run()
    assert not again.exception
    assert any(f"run `{run_id}`" in m.value for m in again.markdown)


def test_a_damaged_checkpoint_is_reported_not_raised(at, checkpoints, tmp_path, monkeypatch):
    import shutil

    import ui.state
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copy(checkpoints["aae-gaussian"], folder / "aae-gaussian.json")
    (folder / "aae-gaussian.safetensors").write_bytes(b"\x80\x04 a pickle, not tensors")
    monkeypatch.setattr(ui.state, "SHIPPED_CHECKPOINTS", folder)
    st.cache_data.clear()
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    assert any("cannot be loaded" in e.value for e in at.error)


def test_the_sidebar_reports_the_compare_run_as_it_reports_a_train_run(at):
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_step").click().run()
    run_id = at.session_state[state.COMPARE.session_key]
    status = "\n".join(m.value for m in at.sidebar.markdown)
    assert f"**Compare run** `{run_id}`" in status and "paused" in status
    assert any(f"?compare={run_id}" in c.value for c in at.sidebar.caption)    # its share link


def test_a_compare_watcher_gets_no_controls_and_never_stops_the_run(at, app_test):
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_step").click().run()
    run_id = at.session_state[state.COMPARE.session_key]
    watcher = app_test(query={"compare": run_id})
    watcher.session_state[setup.key("dataset")] = "synthetic"
    watcher.run()
    watcher.switch_page("pages/compare.py").run()
    assert not watcher.exception
    keys = {b.key for b in watcher.button}
    assert not keys & {"cmp_step", "cmp_reset"}, keys
    assert watcher.button(key="cmp_play").label == "Start my own run"
    watcher.button(key="cmp_shipped").click().run()        # a run of its own, from the checkpoints
    assert not watcher.exception
    own = watcher.session_state[state.COMPARE.session_key]
    assert own != run_id
    assert state.registry().get(run_id).peek().status == "paused"


# ==================================================================================== likelihood (Table 1)

def test_compare_shows_the_likelihood_table_beside_the_papers_rows(at):
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    expander = next(e for e in at.expander if e.label.startswith("How likely are real digits"))
    frame = expander.dataframe[0].value
    ours = frame[frame["measured by"].str.startswith("this project")]
    assert len(ours) >= 2 and set(ours["model"]) >= {"AAE", "VAE"}
    assert ours["data"].str.startswith("mnist-5k").all()
    paper = frame[frame["measured by"].str.startswith("Makhzani")]
    assert "340.0 ± 2.0" in set(paper["log-likelihood (nats)"])
    medians = [m.value for m in expander.markdown if m.value.startswith("Ours, ")]
    assert medians and all(("above the VAE" in m) or ("below the VAE" in m) for m in medians)
    assert any("Parzen window in 784 dimensions" in c.value for c in expander.caption)


def test_a_damaged_likelihood_table_says_so_and_keeps_the_papers_rows(at, tmp_path, monkeypatch):
    from aae import likelihood
    bad = tmp_path / "likelihood_table.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(likelihood, "TABLE_PATH", bad)
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    expander = next(e for e in at.expander if e.label.startswith("How likely are real digits"))
    assert any("could not be read" in w.value for w in expander.warning)
    frame = expander.dataframe[0].value
    assert not frame["measured by"].str.startswith("this project").any() and len(frame) >= 6


def test_likelihood_medians_compare_the_two_models_per_setting():
    from ui.compare import likelihood_medians
    rows = [{"ours": True, "model": m, "preset": "small", "steps": 10, "mean": v, "stderr": 2.0}
            for m, v in (("AAE", 5.0), ("AAE", 9.0), ("AAE", 7.0), ("VAE", 6.0), ("VAE", 1.0), ("VAE", 2.0))]
    rows.append({"ours": False, "model": "AAE", "mean": 340.0, "stderr": 2.0})
    assert likelihood_medians(rows) == [{"preset": "small", "steps": 10, "seeds": 3, "aae": 7.0, "vae": 2.0,
                                         "stderr": 2.0}]
