"""Chart specs (``ui.charts``): a square latent plot with fixed axes whatever the layers, codes
outside the window as counted edge markers (never piled on the border), captions below the axes,
a spec that stays the same between refreshes, and loss curves that a spike cannot flatten."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import numpy as np
import pytest

from ui import charts

LO, HI = -3.5, 3.5
ALL_LAYERS = [charts.Layers(), charts.Layers(discriminator=True), charts.Layers(arrows=True),
              charts.Layers(discriminator=True, arrows=True), charts.Layers(marginals=True),
              charts.Layers(prior=False, discriminator=True, marginals=True)]


def snapshot(codes=None, *, seed: int = 0, n: int = 200, prior: str = "gaussian", models: dict | None = None):
    """The fields of ``aae.jobs.Snapshot`` that ``ui.charts`` reads, with made-up values."""
    gen = np.random.default_rng(seed)
    if codes is None:
        codes = gen.normal(size=(n, 2)).astype(np.float32)
    codes = np.asarray(codes, np.float32)
    d_grid = gen.uniform(size=(32, 32)).astype(np.float32)
    arrows = np.concatenate([gen.normal(size=(20, 2)), 0.1 * gen.normal(size=(20, 2))], 1).astype(np.float32)
    return SimpleNamespace(
        codes=codes, d_grid=d_grid, arrows=arrows, code_labels=gen.integers(0, 10, len(codes)),
        prior_sample=gen.normal(size=(len(codes), 2)).astype(np.float32), bounds=(LO, HI),
        models=models or {}, config=SimpleNamespace(prior=SimpleNamespace(name=prior, scale=1.0)))


def main_view(spec: dict) -> dict:
    """The latent plot's own view (the middle of the marginals' concat, or the spec itself)."""
    return spec["vconcat"][1]["hconcat"][0] if "vconcat" in spec else spec


def layer_on(spec: dict, dataset: str, mark: str | None = None) -> dict:
    found = [layer for layer in main_view(spec)["layer"] if layer.get("data", {}).get("name") == dataset
             and (mark is None or layer["mark"]["type"] == mark)]
    assert found, f"no layer draws {dataset!r}"
    return found[0]


def column(spec: dict, dataset: str, name: str) -> np.ndarray:
    return np.asarray(spec["datasets"][dataset].column(name).to_pylist())


# ------------------------------------------------------------------------------------ the square

@pytest.mark.parametrize("layers", ALL_LAYERS, ids=repr)
def test_the_plot_area_is_square_with_every_layer(layers):
    spec = charts.latent_spec(snapshot(), layers)
    view = main_view(spec)
    assert view["width"] == view["height"]
    # Vega-Lite sizes the data rectangle; legends and axes are laid out around it ("pad")
    assert spec["autosize"] == {"type": "pad"}
    small = main_view(charts.latent_spec(snapshot(), layers, size=260))
    assert (small["width"], small["height"]) == (260, 260)


@pytest.mark.parametrize("layers", ALL_LAYERS, ids=repr)
def test_both_axes_are_fixed_to_the_same_window(layers):
    spec = charts.latent_spec(snapshot(codes=np.full((10, 2), 50.0)), layers)
    codes = layer_on(spec, "codes")["encoding"]
    for axis in ("x", "y"):
        assert codes[axis]["scale"] == {"domain": [LO, HI], "nice": False, "zero": False}


def test_wider_axes_keep_p_of_z_on_the_priors_own_window():
    spec = charts.latent_spec(snapshot(), charts.Layers(), bounds=(-6.0, 6.0))
    assert layer_on(spec, "codes")["encoding"]["x"]["scale"]["domain"] == [-6.0, 6.0]
    bg = spec["datasets"]["background"].to_pylist()[0]
    assert (bg["z1"], bg["z1_end"], bg["z2"], bg["z2_end"]) == (LO, HI, LO, HI)


@pytest.mark.parametrize("layers", [charts.Layers(), charts.Layers(discriminator=True)], ids=repr)
def test_the_prior_is_one_cached_image_whatever_d_does(layers):
    """The p(z) picture is the same string on every refresh, even while D(z) changes: a browser
    blanks an image mark whenever its URL changes, until the new picture has loaded."""
    urls = {column(charts.latent_spec(snapshot(seed=seed), layers), "background", "url")[0] for seed in range(3)}
    assert len(urls) == 1
    url = urls.pop()
    assert url.startswith("data:image/png;base64,")
    boost = charts.D_PRIOR_SHADE_BOOST if layers.discriminator else 1.0
    assert url == charts.prior_shade_uri("gaussian", 1.0, boost)
    assert charts.prior_shade_uri("gaussian", 1.0, boost) is charts.prior_shade_uri("gaussian", 1.0, boost)  # cached
    assert layer_on(charts.latent_spec(snapshot(), layers), "background")["mark"] == \
        {"type": "image", "aspect": False, "clip": True}


def test_d_of_z_is_a_map_of_squares_that_tiles_the_priors_window():
    snap = snapshot()
    snap.d_grid = np.tile(np.linspace(0, 1, 48), (48, 1))        # rows = z₂, D rises along z₁
    spec = charts.latent_spec(snap, charts.Layers(discriminator=True), bounds=(-5.0, 5.0))
    cells = spec["datasets"]["d_map"].to_pydict()
    n = charts.D_CELLS
    assert len(cells["d"]) == n * n
    assert min(cells["z1"]) == min(cells["z2"]) == LO and max(cells["z1_end"]) == max(cells["z2_end"]) == HI
    starts = sorted(set(cells["z1"]))                             # a cell starts where the last one ended …
    assert np.allclose(np.diff(starts), (HI - LO) / n)
    assert all(b > a + (HI - LO) / n - 1e-9 for a, b in zip(cells["z1"], cells["z1_end"]))   # … or a little after
    left = [d for d, z in zip(cells["d"], cells["z1"]) if z == LO]
    right = [d for d, z in zip(cells["d"], cells["z1_end"]) if z == HI]
    assert max(left) < 0.05 and min(right) > 0.95
    assert layer_on(spec, "d_map")["encoding"]["fill"]["legend"]["orient"] == "bottom"


def test_the_spec_stays_the_same_between_refreshes():
    """Only datasets change from one snapshot to the next, so the browser updates the chart in
    place instead of rebuilding it (the reason the live charts are Vega-Lite)."""
    for layers in ALL_LAYERS:
        a = charts.latent_spec(snapshot(seed=1), layers)
        b = charts.latent_spec(snapshot(codes=np.random.default_rng(9).normal(scale=3, size=(200, 2)), seed=2),
                               layers)
        strip = lambda spec: json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)
        assert strip(a) == strip(b)
        assert set(a["datasets"]) == set(b["datasets"])


# ------------------------------------------------------------------------------------ outside codes

def test_codes_outside_are_not_drawn_on_the_border():
    gen = np.random.default_rng(0)
    codes = np.concatenate([gen.uniform(-3, 3, size=(100, 2)), gen.uniform(4, 9, size=(30, 2)),
                            [[np.nan, 0.0], [np.inf, 1.0]]]).astype(np.float32)
    spec = charts.latent_spec(snapshot(codes=codes), charts.Layers())
    z1, z2 = column(spec, "codes", "z1"), column(spec, "codes", "z2")
    assert len(z1) == 100
    assert ((z1 >= -3) & (z1 <= 3) & (z2 >= -3) & (z2 <= 3)).all()          # only the inside codes
    assert column(spec, "note", "text")[0] == "32 codes outside the window"
    assert column(spec, "edges", "count").sum() == 30                       # NaN / inf: no direction


def test_an_outside_code_becomes_a_marker_on_its_side():
    codes = np.array([[5.0, 0.3], [4.0, 9.0], [-8.0, -1.0], [0.0, -20.0], [0.0, 0.0]])
    edges = charts.edge_markers(codes, LO, HI, bins=7)                        # stretches of width 1
    rows = {(round(float(a))): (float(x), float(y), int(n))
            for a, x, y, n in zip(edges["angle"], edges["z1"], edges["z2"], edges["count"])}
    assert set(rows) == {90, 0, 270, 180}                                   # right, top, left, bottom
    inset = charts.EDGE_INSET * (HI - LO)
    assert rows[90] == pytest.approx((HI - inset, 0.0, 1))                  # z₂ = 0.3 lies in [-0.5, 0.5)
    assert rows[0] == pytest.approx((3.0, HI - inset, 1))                   # overshoots most at the top
    assert rows[270] == pytest.approx((LO + inset, -1.0, 1))
    assert rows[180] == pytest.approx((0.0, LO + inset, 1))
    for name in ("z1", "z2", "label1", "label2"):
        assert ((edges[name] > LO) & (edges[name] < HI)).all()              # markers and counts inside


def test_edge_markers_gather_codes_and_count_them():
    codes = np.column_stack([np.full(40, 6.0), np.linspace(-0.45, 0.45, 40)])  # all leave to the right …
    edges = charts.edge_markers(codes, LO, HI, bins=7)
    assert edges["count"].tolist() == [40]                                      # … within one stretch
    assert edges["angle"].tolist() == [90]
    assert charts.edge_markers(np.zeros((5, 2)), LO, HI)["count"].size == 0


@pytest.mark.parametrize("n, text", [(0, ""), (1, "1 code outside the window"), (3, "3 codes outside the window")])
def test_the_outside_count_is_worded_for_one_and_many(n, text):
    assert charts.outside_caption(n) == text
    assert "1 codes" not in charts.outside_caption(1)


def test_the_caption_sits_below_the_tick_labels_and_keeps_its_place():
    inside = charts.latent_spec(snapshot(codes=np.zeros((10, 2))), charts.Layers(), size=300)
    note = layer_on(inside, "note", "text")["mark"]
    assert note["y"] >= 300 + 35                  # px below the plot's top: under ticks and tick labels …
    assert (note["x"], note["align"], note["baseline"]) == (0, "left", "top")
    assert layer_on(inside, "codes")["encoding"]["x"]["axis"]["titleAnchor"] == "end"   # … left of z₁
    assert len(inside["datasets"]["note"]) == 1   # a blank row when nothing is outside: no height jump
    assert column(inside, "note", "text")[0].strip() == ""


def test_another_model_of_a_comparison_is_drawn_by_name():
    far = SimpleNamespace(codes=np.full((200, 2), 9.0, np.float32), d_grid=None, arrows=None)
    snap = snapshot(models={"ae": far})
    spec = charts.latent_spec(snap, charts.Layers(), model="ae", legend=False)
    assert len(spec["datasets"]["codes"]) == 0
    assert column(spec, "edges", "count").sum() == 200
    assert layer_on(spec, "codes")["encoding"]["color"]["legend"] is None


def test_marginals_count_only_the_codes_inside():
    codes = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 40.0)])
    spec = charts.latent_spec(snapshot(codes=codes), charts.Layers(marginals=True))
    m = spec["datasets"]["marginals"].to_pylist()
    q = [r["density"] for r in m if r["of"] == "q(z)" and r["axis"] == "x"]
    assert np.isclose(np.sum(q) * (HI - LO) / charts.MARGINAL_BINS, 1.0)


# ------------------------------------------------------------------------------------ curves

def history(n: int = 200, spike_at: int | None = 150, spike: float = 60.0) -> dict[str, np.ndarray]:
    gen = np.random.default_rng(0)
    disc = 1.386 + 0.05 * gen.normal(size=n)
    if spike_at is not None:
        disc[spike_at] = spike
    return {"step": np.arange(n) * 10.0, "recon": 150 + 5 * gen.normal(size=n), "disc": disc,
            "gen": 0.69 + 0.05 * gen.normal(size=n), "prior_fit": np.exp(gen.normal(size=n))}


def test_a_spike_is_clipped_and_marked():
    spec = charts.curves_specs(history())["game"]
    table = spec["datasets"]["curve"].to_pylist()
    spike = [r for r in table if r["value"] == 60.0]
    assert len(spike) == 1 and spike[0]["clipped"] == "above"
    others = [r for r in table if r["value"] != 60.0]
    assert all(r["clipped"] == "" and r["shown"] == r["value"] for r in others)
    top = max(r["shown"] for r in table)
    assert spike[0]["shown"] == top < 5                   # the axis still shows the game near 1.4 and 0.7
    marks = [layer for layer in spec["layer"] if layer.get("transform")]
    assert [m["transform"][0]["filter"] for m in marks] == ["datum.clipped == 'above'", "datum.clipped == 'below'"]


def test_a_calm_curve_is_not_clipped():
    table = charts.curves_specs(history(spike_at=None))["recon"]["datasets"]["curve"].to_pylist()
    assert table and all(r["clipped"] == "" for r in table)


def test_robust_range_ignores_outliers_and_non_finite_values():
    values = np.concatenate([np.linspace(1.0, 2.0, 99), [1e6, np.nan, np.inf]])
    lo, hi = charts.robust_range(values)
    assert lo == 1.0 and 2.0 <= hi < 10
    assert charts.robust_range(np.array([np.nan])) == (0.0, 1.0)
    flat_lo, flat_hi = charts.robust_range(np.full(10, 5.0))
    assert flat_lo == flat_hi == 5.0


def test_curve_specs_stay_the_same_as_the_history_grows():
    strip = lambda specs: json.dumps({k: {kk: vv for kk, vv in s.items() if kk != "datasets"}
                                      for k, s in specs.items()}, sort_keys=True)
    assert strip(charts.curves_specs(history(50, None))) == strip(charts.curves_specs(history(300, 120)))


def test_the_fit_curve_drops_what_a_log_scale_cannot_show():
    h = history(spike_at=None)
    h["prior_fit"][:5] = [0.0, -1.0, np.nan, 2.0, 3.0]
    values = charts.curves_specs(h)["fit"]["datasets"]["curve"].column("value").to_pylist()
    assert len(values) == len(h["step"]) - 3 and min(values) > 0


def test_specs_survive_a_deep_copy():
    """Streamlit copies the spec before marshalling it: the datasets must copy too."""
    spec = charts.latent_spec(snapshot(), charts.Layers(discriminator=True, arrows=True, marginals=True))
    assert copy.deepcopy(spec)["datasets"]["codes"].num_rows == spec["datasets"]["codes"].num_rows
