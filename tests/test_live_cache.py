"""Watchers are cheap (issue 10 §8): the charts of a snapshot version are built once for all its
viewers (``ui.charts.prepared``), a new version rebuilds them, and watchers refresh more slowly than
the browser that controls the run (``ui.live.watcher_interval``)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from ui import charts, live

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LO, HI = -3.5, 3.5


class FakeSnap(SimpleNamespace):
    """The fields of ``aae.jobs.Snapshot`` that the latent chart and the curves read (weak-referenceable,
    as the real frozen dataclass is)."""


def snapshot(version: int, *, job_id: str = "run-a", seed: int = 0, n: int = 120) -> FakeSnap:
    gen = np.random.default_rng(seed)
    codes = gen.normal(size=(n, 2)).astype(np.float32)
    return FakeSnap(
        job_id=job_id, version=version, codes=codes, code_labels=gen.integers(0, 10, n),
        d_grid=gen.uniform(size=(32, 32)).astype(np.float32), arrows=np.zeros((0, 4), np.float32),
        prior_sample=gen.normal(size=(n, 2)).astype(np.float32), bounds=(LO, HI), models={},
        config=SimpleNamespace(prior=SimpleNamespace(name="gaussian", scale=1.0)),
        history={"step": np.arange(50.0), "recon": gen.uniform(100, 200, 50), "disc": gen.uniform(0, 2, 50),
                 "gen": gen.uniform(0, 2, 50), "prior_fit": gen.uniform(1, 5, 50)},
        samples=gen.uniform(size=(10, 28, 28)).astype(np.float32))


@pytest.fixture
def counted(monkeypatch):
    """Counts of how often ``charts.latent_spec`` and ``charts.curves_specs`` really build, with an
    empty shared cache."""
    charts.PREPARED.clear()
    calls = {"latent": 0, "curves": 0}
    latent_spec, curves_specs = charts.latent_spec, charts.curves_specs

    def counting_latent(*args, **kwargs):
        calls["latent"] += 1
        return latent_spec(*args, **kwargs)

    def counting_curves(*args, **kwargs):
        calls["curves"] += 1
        return curves_specs(*args, **kwargs)

    monkeypatch.setattr(charts, "latent_spec", counting_latent)
    monkeypatch.setattr(charts, "curves_specs", counting_curves)
    yield calls
    charts.PREPARED.clear()


def test_two_viewers_of_one_version_build_the_spec_once(counted):
    snap = snapshot(7)
    first = charts.shared_latent_spec(snap, charts.Layers(), ("zero",))
    second = charts.shared_latent_spec(snap, charts.Layers(), ("zero",))
    assert counted["latent"] == 1
    assert second is first
    assert charts.shared_curves_specs(snap) is charts.shared_curves_specs(snap)
    assert counted["curves"] == 1


def test_a_new_version_rebuilds(counted):
    old = snapshot(7)
    new = snapshot(8, seed=1)
    a = charts.shared_latent_spec(old, charts.Layers())
    b = charts.shared_latent_spec(new, charts.Layers())
    assert counted["latent"] == 2
    assert a["datasets"]["codes"] != b["datasets"]["codes"]
    charts.shared_curves_specs(old)
    charts.shared_curves_specs(new)
    assert counted["curves"] == 2


def test_each_view_and_each_run_is_its_own_entry(counted):
    snap = snapshot(3)
    charts.shared_latent_spec(snap, charts.Layers())
    charts.shared_latent_spec(snap, charts.Layers(discriminator=True))
    charts.shared_latent_spec(snapshot(3, job_id="run-b"), charts.Layers())
    assert counted["latent"] == 3


def test_another_object_with_the_same_id_and_version_is_not_shared(counted):
    # hand-made snapshots (tests, previews) may repeat an id and version with other data
    a = charts.shared_latent_spec(snapshot(1, seed=0), charts.Layers())
    b = charts.shared_latent_spec(snapshot(1, seed=5), charts.Layers())
    assert counted["latent"] == 2
    assert a["datasets"]["codes"] != b["datasets"]["codes"]


def test_the_cache_is_bounded(counted, monkeypatch):
    monkeypatch.setattr(charts.PREPARED, "size", 4)
    snaps = [snapshot(v) for v in range(6)]                 # held here: only the bound evicts them
    for snap in snaps:
        charts.shared_latent_spec(snap, charts.Layers())
    assert len(charts.PREPARED._entries) == 4
    charts.shared_latent_spec(snaps[0], charts.Layers())     # evicted: built again
    charts.shared_latent_spec(snaps[-1], charts.Layers())    # kept
    assert counted["latent"] == 7


def test_shared_specs_carry_arrow_bytes_and_match_the_plain_spec(counted):
    import pyarrow as pa

    snap = snapshot(2)
    shared = charts.shared_latent_spec(snap, charts.Layers(marginals=True))
    plain = charts.latent_spec(snap, charts.Layers(marginals=True))
    assert set(shared["datasets"]) == set(plain["datasets"])
    for name, data in shared["datasets"].items():
        assert isinstance(data, bytes)
        table = pa.ipc.open_stream(data).read_all()
        assert table.num_rows == plain["datasets"][name].num_rows
    assert {k: v for k, v in shared.items() if k != "datasets"} == {k: v for k, v in plain.items() if k != "datasets"}


def test_a_real_job_snapshot_is_shared_between_two_pages(app_test, counted):
    """Two browsers open the share link of one run: their script runs build its q(z) spec once."""
    from aae.config import RunConfig
    from ui import state

    reg = state.registry()
    job = reg.create(RunConfig(), options=replace(reg.options, start_paused=True))
    job.step_batch(1).result(timeout=120)
    job.wait_for(lambda s: s.codes is not None and s.status == "paused", timeout=60)
    version = job.peek().version
    viewers = [app_test(query={"run": job.id}) for _ in range(2)]
    for at in viewers:
        at.switch_page("pages/train.py").run()
        assert not at.exception, [e.value for e in at.exception]
    assert job.peek().version == version                      # nothing moved between the two page runs
    assert len([c for v in viewers for c in v.get("vega_lite_chart")]) >= 2
    assert counted["latent"] == 1
    job.stop()


def test_watchers_refresh_more_slowly_than_the_owner(monkeypatch):
    monkeypatch.delenv("AAE_WATCHER_REFRESH_S", raising=False)
    assert live.watcher_interval(live.REFRESH_S) == live.WATCHER_REFRESH_S > live.REFRESH_S
    assert live.watcher_interval(live.DETAIL_REFRESH_S) == live.DETAIL_REFRESH_S * live.WATCHER_SLOWDOWN
    monkeypatch.setenv("AAE_WATCHER_REFRESH_S", "3")
    assert live.watcher_interval(live.REFRESH_S) == 3.0
    monkeypatch.setenv("AAE_WATCHER_REFRESH_S", "not a number")
    assert live.watcher_interval(live.REFRESH_S) == live.WATCHER_REFRESH_S
