"""The Train page's logic through Streamlit's AppTest (no browser): runs are created, controlled and
read through snapshots; guard clauses hold when there is no run. Fragments do not tick here
(``run_every`` never fires in AppTest), so each ``at.run()`` is one full redraw."""

from __future__ import annotations

import pytest

from aae.checkpoints import save_checkpoint
from aae.config import ModelConfig, RunConfig
from aae.train import seeded_model
from ui import setup, state, texts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _registry():
    return state.registry()


def _job(at):
    job = _registry().get(at.session_state[state.TRAIN.session_key])
    assert job is not None, "the session has no run"
    return job


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _settled(job, timeout: float = 10.0):
    """The paused job's final snapshot: Pause (ui.controls) returns once the job has published the
    paused status and then its final numbers."""
    job.wait_for(lambda s: s.status == "paused", timeout=timeout)
    return job.peek()


def _stepped(app_test):
    """A session that pressed Step once: (its AppTest, its paused run at step 1)."""
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    return at, _job(at)


def _watcher(app_test, job):
    """Another browser that opened the run's share link."""
    at = app_test(query={"run": job.id})
    at.run()
    return at


def _step_metric(at) -> int:
    step = next(m for m in at.metric if m.label == "Step")
    return int(step.value.replace(",", ""))


def test_fresh_session_renders_with_no_run(app_test):
    at = app_test()
    at.run()
    _assert_clean(at)
    assert at.title[0].value == texts.TRAIN_TITLE
    assert texts.NO_RUN in _texts(at.info)
    labels = {b.key: b.label for b in at.button}
    assert labels["ctl_play"] == "Start training"
    assert labels["ctl_phase"] == "Next phase: Reconstruction"
    assert at.button(key="ctl_reset").disabled                       # nothing to reset yet
    assert not at.metric                                             # no live view without a run
    assert "run" not in at.query_params
    assert not _registry().jobs()
    # Every setup widget explains itself.
    for widget in [*at.selectbox, *at.number_input, *at.button, *at.select_slider]:
        assert widget.help, f"{widget.label!r} has no help text"
    assert "No training run yet" in _texts(at.sidebar.markdown)


def test_choosing_a_prior_and_starting_creates_a_run_the_page_reads(app_test):
    at = app_test()
    at.run()
    at.selectbox(key=setup.key("prior")).select("swiss_roll").run()
    at.button(key="ctl_play").click().run()
    _assert_clean(at)
    job = _job(at)
    assert job.peek().config.prior.name == "swiss_roll"
    assert job.peek().config.model.latent_dim == 2
    assert job.peek().config.train.lr_disc is None                   # empty field: the prior's tuned rate
    assert at.query_params["run"] == job.id                           # the run id is in the URL
    job.wait_for(lambda s: s.step >= 3, timeout=60)

    at.run()
    assert at.button(key="ctl_play").label == "Pause"
    at.button(key="ctl_play").click().run()                           # pause: the snapshot stands still
    snap = _settled(job)
    at.run()
    _assert_clean(at)
    assert _step_metric(at) == snap.step
    assert at.button(key="ctl_play").label == "Resume"
    assert f"**Train run** `{job.id}`" in _texts(at.sidebar.markdown)
    assert "paused" in _texts(at.sidebar.markdown)


def test_advanced_settings_go_into_the_runs_config(app_test):
    at = app_test()
    at.run()
    at.number_input(key=setup.key("disc_steps")).set_value(3).run()
    at.number_input(key=setup.key("d_penalty")).set_value(2.5).run()
    at.number_input(key=setup.key("batch_size")).set_value(50).run()
    at.button(key="ctl_step").click().run()                           # a paused run of one batch
    _assert_clean(at)
    train = _job(at).peek().config.train
    assert (train.disc_steps, train.d_penalty, train.batch_size) == (3, 2.5, 50)


def test_unknown_run_in_the_url_is_a_clear_message_not_a_crash(app_test):
    at = app_test(query={"run": "no-such-run"})
    at.run()
    _assert_clean(at)
    assert "not on this server any more" in _texts(at.warning)
    assert "run" not in at.query_params                              # the dead link is dropped
    assert texts.NO_RUN in _texts(at.info)


def test_step_and_phase_buttons_without_a_run_create_a_paused_run(app_test):
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    _assert_clean(at)
    job = _job(at)
    snap = job.peek()
    assert (snap.status, snap.step, snap.phase_index) == ("paused", 1, 0)
    assert _step_metric(at) == 1

    at.button(key="ctl_phase").click().run()                          # reconstruction only
    snap = job.peek()
    assert (snap.step, snap.phase_index, snap.last_phase) == (1, 1, "reconstruction")
    assert at.button(key="ctl_phase").label == "Next phase: Discriminator"
    assert "Reconstruction phase just ran" in _texts(at.markdown)
    at.button(key="ctl_phase").click().run()
    at.button(key="ctl_phase").click().run()                          # generator ends the batch
    snap = job.peek()
    assert (snap.step, snap.phase_index, snap.last_phase) == (2, 0, "generator")
    assert _step_metric(at) == 2


def test_reset_stops_the_run_and_starts_a_fresh_one(app_test):
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    old = _job(at)
    at.button(key="ctl_reset").click().run()
    _assert_clean(at)
    new = _job(at)
    assert new.id != old.id and at.query_params["run"] == new.id
    assert old.wait_for(lambda s: not s.active, timeout=15).status == "stopped"
    snap = new.wait_for(lambda s: s.status == "paused", timeout=60)
    assert snap.step == 0


def test_prior_and_speed_apply_to_the_running_run(app_test):
    at = app_test()
    at.run()
    at.button(key="ctl_play").click().run()
    job = _job(at)
    job.wait_for(lambda s: s.status == "running", timeout=60)
    at.run()
    at.selectbox(key=setup.key("prior")).select("mog10").run()
    at.select_slider(key=state.K.SPEED).set_value("5 steps/s").run()
    _assert_clean(at)
    snap = job.wait_for(lambda s: s.config.prior.name == "mog10" and s.speed == 5.0, timeout=15)
    assert snap.status == "running"
    job.pause()


def test_a_second_session_with_the_link_watches_the_same_run(app_test):
    owner, job = _stepped(app_test)

    watcher = _watcher(app_test, job)
    _assert_clean(watcher)
    assert watcher.session_state[state.TRAIN.session_key] == job.id
    assert "Watching" in _texts(watcher.sidebar.info)
    assert _step_metric(watcher) == 1
    owner.run()
    assert not owner.sidebar.info                                     # the owner is not "watching"

    job.stop(wait=True)                                               # stopped from elsewhere
    watcher.run()
    _assert_clean(watcher)
    assert watcher.button(key="ctl_play").label == "Start a new run"
    assert "This run has ended (stopped)" in _texts(watcher.sidebar.caption)


def test_queued_run_shows_how_many_are_ahead(app_test, monkeypatch):
    monkeypatch.setenv("AAE_MAX_RUNNING", "1")
    other = _registry().create(RunConfig())                           # another browser's run holds the slot
    other.wait_for(lambda s: s.status == "running", timeout=60)
    at = app_test()
    at.run()
    at.button(key="ctl_play").click().run()
    _assert_clean(at)
    job = _job(at)
    job.wait_for(lambda s: s.status == "queued", timeout=10)
    at.run()
    assert "Queued: 1 run ahead" in _texts(at.info)
    assert "queued" in _texts(at.sidebar.markdown)
    at.button(key="ctl_play").click().run()                           # Pause gives up the place in the queue
    assert job.wait_for(lambda s: s.status != "queued", timeout=10).status == "paused"
    at.button(key="ctl_play").click().run()                           # Resume queues again
    job.wait_for(lambda s: s.status == "queued", timeout=10)
    other.stop()
    job.wait_for(lambda s: s.status == "running", timeout=60)
    job.pause()


def test_a_full_server_says_why_nothing_started_and_a_paused_run_makes_room(app_test, monkeypatch):
    monkeypatch.setenv("AAE_MAX_RUNNING", "1")
    monkeypatch.setenv("AAE_MAX_LOADED", "1")
    other = _registry().create(RunConfig())                           # another browser's run, training
    other.wait_for(lambda s: s.status == "running", timeout=60)
    at = app_test()
    at.run()
    at.button(key="ctl_play").click().run()
    _assert_clean(at)
    assert state.TRAIN.session_key not in at.session_state, "nothing started"
    assert "as many as it keeps in memory" in _texts(at.warning)
    assert "runs in memory 1 of at most 1" in _texts(at.sidebar.caption)
    assert other.peek().status == "running", "a training run is never unloaded for another"
    other.pause()
    other.wait_for(lambda s: s.status == "paused", timeout=30)
    at.button(key="ctl_play").click().run()                           # the paused run makes room
    _assert_clean(at)
    _job(at).wait_for(lambda s: s.step >= 1, timeout=60)
    assert other.join(30) and other.peek().notice.code == "job.unloaded_for_room_saved"
    _job(at).pause()


def test_failed_run_shows_its_error_and_what_to_do(app_test):
    def explode(step):
        if step >= 2:
            raise RuntimeError("simulated failure")

    job = _registry().create(RunConfig(), fault=explode)
    job.wait_for(lambda s: s.status == "failed", timeout=60)
    at = app_test(query={"run": job.id})
    at.run()
    _assert_clean(at)
    assert "simulated failure" in _texts(at.sidebar.error)
    assert texts.FAILED_WHAT_TO_DO in _texts(at.sidebar.caption)
    assert "This run failed" in _texts(at.main.error) and "simulated failure" in _texts(at.main.error)
    assert at.button(key="ctl_play").label == "Start a new run"


def test_start_from_a_checkpoint_continues_its_training(app_test, tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    config = RunConfig(model=ModelConfig(kind="aae", latent_dim=2))
    path = save_checkpoint(folder / "my-aae", seeded_model(config.model, 0), config, step=321)
    monkeypatch.setenv("AAE_CHECKPOINT_DIRS", str(folder))
    at = app_test()
    at.run()
    options = at.selectbox(key=setup.key("start_from")).options
    assert any("my-aae" in o and "step 321" in o for o in options)
    at.selectbox(key=setup.key("start_from")).select(str(path)).run()
    at.button(key="ctl_step").click().run()
    _assert_clean(at)
    assert _job(at).peek().step == 322                                # continued, then one more batch


def test_saving_writes_a_checkpoint_and_offers_a_download(app_test, tmp_path):
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    at.text_input(key=state.K.SAVE_NAME).input("lesson-1").run()
    at.button(key="ctl_save").click().run()
    _assert_clean(at)
    saved = tmp_path / "saved" / "lesson-1.json"                      # AAE_SAVE_DIR (conftest)
    assert saved.is_file() and saved.with_suffix(".safetensors").is_file()
    assert "Checkpoint saved" in _texts(at.success)
    assert at.get("download_button"), "no download button for the saved checkpoint"


def test_offline_download_fails_with_a_clear_message(app_test, monkeypatch):
    from aae.data import DatasetUnavailable

    def offline(name, **kwargs):
        raise DatasetUnavailable("Could not download MNIST (full) (no internet connection?). "
                                 "Offline, use 'mnist-5k'.")

    monkeypatch.setattr(setup, "download_dataset", offline)
    at = app_test()
    at.run()
    at.selectbox(key=setup.key("dataset")).select("mnist").run()
    assert "Not on this machine yet" in _texts(at.caption)
    at.button(key="download_mnist").click().run()
    _assert_clean(at)
    assert "no internet connection" in _texts(at.error)
    at.button(key="ctl_play").click().run()                           # Start refuses, and says why
    assert "download it first" in _texts(at.error)
    assert not _registry().jobs()


def test_switching_pages_keeps_the_run_and_the_setup(app_test):
    at = app_test()
    at.run()
    at.selectbox(key=setup.key("prior")).select("mog10").run()
    at.button(key="ctl_step").click().run()
    run_id = _job(at).id
    other_pages = [p for p in ("pages/compare.py", "pages/explorer.py") if (state.REPO_ROOT / p).is_file()]
    if not other_pages:
        pytest.skip("no other page to switch to yet")
    at.switch_page(other_pages[0]).run()
    _assert_clean(at)
    assert at.query_params["run"] == run_id                           # written back after the switch
    at.switch_page("pages/train.py").run()
    _assert_clean(at)
    assert at.selectbox(key=setup.key("prior")).value == "mog10"
    assert _step_metric(at) == 1


# ------------------------------------------------------------------------------------ who controls a run

def _control_token(at, run_id: str) -> str:
    link = next(c.value for c in at.get("code") if f"run={run_id}&control=" in c.value)
    return link.split("control=", 1)[1]


def test_a_watcher_gets_no_controls_and_never_touches_the_watched_run(app_test):
    owner, job = _stepped(app_test)

    watcher = _watcher(app_test, job)
    _assert_clean(watcher)
    keys = {b.key for b in watcher.button}
    assert not keys & {"ctl_step", "ctl_phase", "ctl_reset", "ctl_save"}, keys
    assert watcher.button(key="ctl_play").label == "Start my own run"
    assert not [c for c in watcher.get("code") if "control=" in c.value]   # the token is never shown to a watcher
    watcher.selectbox(key=setup.key("prior")).select("mog10").run()      # not a live switch of someone's run
    watcher.button(key="ctl_play").click().run()
    _assert_clean(watcher)
    own = _job(watcher)
    assert own.id != job.id and watcher.query_params["run"] == own.id
    snap = job.peek()
    assert (snap.status, snap.step, snap.config.prior.name) == ("paused", 1, "gaussian")
    assert own.peek().config.prior.name == "mog10"
    own.pause()


def test_a_control_link_hands_control_over_and_a_wrong_token_does_not(app_test):
    owner, job = _stepped(app_test)
    token = _control_token(owner, job.id)

    stranger = app_test(query={"run": job.id, "control": token[:-1] + ("x" if token[-1] != "x" else "y")})
    stranger.run()
    assert "ctl_step" not in {b.key for b in stranger.button}

    helper = app_test(query={"run": job.id, "control": token})
    helper.run()
    _assert_clean(helper)
    assert "control" not in helper.query_params                      # the secret leaves the address bar
    assert "You now control run" in _texts(helper.success)
    helper.button(key="ctl_step").click().run()
    assert job.peek().step == 2


def test_a_paused_run_keeps_its_prior_when_the_next_runs_is_picked(app_test):
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    old = _job(at)
    at.selectbox(key=setup.key("prior")).select("pinwheel").run()
    _assert_clean(at)
    assert old.peek().config.prior.name == "gaussian"                 # never relabelled
    assert "applies to the next run" in _texts(at.sidebar.caption)
    at.button(key="ctl_reset").click().run()
    new = _job(at)
    assert new.id != old.id and new.peek().config.prior.name == "pinwheel"
    assert old.wait_for(lambda s: not s.active, timeout=15).config.prior.name == "gaussian"


def test_runs_this_browser_started_can_be_reattached(app_test):
    owner, job = _stepped(app_test)
    ident = owner.session_state["aae_identity"]

    lost = app_test()                                                 # the same browser (its cookie), a bare URL
    lost.session_state["aae_identity"] = ident
    lost.run()
    _assert_clean(lost)
    assert texts.NO_RUN in _texts(lost.info)
    lost.button(key=f"reattach_{job.id}").click().run()
    _assert_clean(lost)
    assert lost.query_params["run"] == job.id and _step_metric(lost) == 1
    assert "ctl_step" in {b.key for b in lost.button}                 # it controls its run again

    other = app_test()                                                # another browser is offered nothing
    other.run()
    assert not [b for b in other.button if (b.key or "").startswith("reattach_")]


def test_unwatched_runs_are_paused_within_a_minute():
    assert state.IDLE_PAUSE_S <= 60


# ------------------------------------------------------------------------------------ saving

def test_a_bad_save_name_or_folder_is_told_to_that_session_only(app_test, tmp_path):
    owner, job = _stepped(app_test)
    watcher = _watcher(app_test, job)
    for folder, name, words in (("", "bad\x00name", "Could not save"), ("../../elsewhere", "x", "Could not save"),
                                (str(tmp_path / "outside"), "x", "save folder")):
        owner.text_input(key=state.K.SAVE_DIR).input(folder).run()
        owner.text_input(key=state.K.SAVE_NAME).input(name).run()
        owner.button(key="ctl_save").click().run()
        _assert_clean(owner)
        assert words in _texts(owner.error), (folder, name, _texts(owner.error))
    assert not (tmp_path / "outside").exists()
    assert job.peek().notice is None and job.peek().status == "paused"
    watcher.run()
    _assert_clean(watcher)
    assert not watcher.error                                          # never shown to another viewer


def test_saving_never_replaces_an_existing_checkpoint(app_test, tmp_path):
    at = app_test()
    at.run()
    at.button(key="ctl_step").click().run()
    at.text_input(key=state.K.SAVE_NAME).input("lesson").run()
    at.button(key="ctl_save").click().run()
    saved = tmp_path / "saved" / "lesson.json"
    first = saved.read_bytes()
    at.button(key="ctl_step").click().run()
    at.button(key="ctl_save").click().run()
    _assert_clean(at)
    assert "already exists" in _texts(at.error)
    assert saved.read_bytes() == first
    at.checkbox(key=state.K.SAVE_REPLACE).check().run()               # the explicit choice
    at.button(key="ctl_save").click().run()
    _assert_clean(at)
    assert "Checkpoint saved" in _texts(at.success) and saved.read_bytes() != first
    assert at.checkbox(key=state.K.SAVE_REPLACE).value is False       # for that one save only


# ------------------------------------------------------------------------------------ the setup table

def test_every_training_setting_has_a_widget_within_the_configs_limits(app_test):
    from dataclasses import fields

    from aae.config import TRAIN_LIMITS, TrainConfig
    assert not setup.MISSING, f"TrainConfig fields without a row in ui/setup.py: {[f.name for f in setup.MISSING]}"
    at = app_test()
    at.run()
    for f in fields(TrainConfig):
        if f.name == "device" or not setup.BY_NAME[f.name].advanced:
            continue
        widget = at.number_input(key=setup.key(f.name))
        assert widget.help
        lim = TRAIN_LIMITS[f.name]
        assert widget.min >= lim.lo and (widget.min > lim.lo or not lim.lo_open)
        assert widget.max <= lim.hi and (widget.max < lim.hi or not lim.hi_open)


def test_continuing_from_a_checkpoint_keeps_every_training_setting(app_test, tmp_path, monkeypatch):
    from aae.config import TrainConfig
    folder = tmp_path / "ckpts"
    train = TrainConfig(beta1=0.6, weight_decay=0.01, input_dropout=0.2, d_input_noise=0.1, disc_steps=2,
                        d_penalty=0.5, lr_disc=3e-4, lr_gen=4e-4, batch_size=50, seed=7)
    config = RunConfig(model=ModelConfig(kind="aae", latent_dim=2), train=train)
    path = save_checkpoint(folder / "tuned", seeded_model(config.model, 0), config, step=10)
    monkeypatch.setenv("AAE_CHECKPOINT_DIRS", str(folder))
    at = app_test()
    at.run()
    at.selectbox(key=setup.key("start_from")).select(str(path)).run()
    at.button(key="ctl_step").click().run()
    _assert_clean(at)
    assert _job(at).peek().config.train == train


def test_the_url_carries_the_setup_both_ways(app_test):
    at = app_test(query={"prior": "mog10", "batch_size": "50", "lr_disc": "0.0005", "seed": "nonsense"})
    at.run()
    _assert_clean(at)
    assert at.selectbox(key=setup.key("prior")).value == "mog10"
    assert at.number_input(key=setup.key("batch_size")).value == 50
    assert "ignored" in _texts(at.warning)                            # a bad value is said, not applied
    at.number_input(key=setup.key("disc_steps")).set_value(3).run()
    assert at.query_params["disc_steps"] == "3" and at.query_params["prior"] == "mog10"
    assert "seed" not in at.query_params                              # defaults stay out of the link
    at.button(key="ctl_step").click().run()
    train = _job(at).peek().config.train
    assert (train.batch_size, train.lr_disc, train.disc_steps) == (50, 5e-4, 3)


# ------------------------------------------------------------------------------------ the objective

def test_the_objective_shows_the_losses_the_trainer_runs(app_test):
    from aae import losses
    from ui import widgets
    at = app_test()
    at.run()
    shown = "\n".join(c.value for c in at.get("code"))
    for fn in (losses.reconstruction_loss, losses.discriminator_loss, losses.generator_loss):
        assert widgets.formula(fn) in shown
    assert widgets.formula(losses.r1_penalty) in shown and "γ = 1" in shown    # the Gaussian recipe's R1
    at.selectbox(key=setup.key("prior")).select("mog10").run()
    shown = "\n".join(c.value for c in at.get("code"))
    assert widgets.formula(losses.r1_penalty) not in shown                      # the mixture's recipe has none


def test_the_referee_is_the_headline_fit_number_and_its_badge_follows_it(app_test):
    at = app_test()
    at.run()
    at.button(key="ctl_play").click().run()
    job = _job(at)
    job.wait_for(lambda s: s.referee_smooth is not None, timeout=120)
    at.run()
    at.button(key="ctl_play").click().run()                           # pause: the numbers stand still
    snap = _settled(job)
    at.run()
    _assert_clean(at)
    metric = next(m for m in at.metric if m.label == texts.REFEREE_LABEL)
    assert metric.value == f"{snap.referee_smooth:.0%}"
    assert (metric.delta == texts.FIT_GOOD) == (snap.referee_smooth <= texts.REFEREE_GOOD)
    assert f"referee tells the codes from p(z) {snap.referee_smooth:.0%}" in _texts(at.caption)


def test_a_prior_whose_shipped_aae_is_not_fitted_says_so_under_the_menu(app_test, tmp_path, monkeypatch):
    """The note reads the shipped AAE's recorded referee: above the good-fit line it names the
    number and the Labels page; at or below it, nothing; a missing or broken file, nothing."""
    import json
    import shutil

    for prior, referee in (("pinwheel", 0.71), ("gaussian", 0.55), ("mog10", 0.61)):
        src = state.SHIPPED_CHECKPOINTS / f"aae-{prior}"
        shutil.copy(src.with_suffix(".safetensors"), tmp_path / f"aae-{prior}.safetensors")
        meta = json.loads(src.with_suffix(".json").read_text())
        meta["metrics"]["referee"] = referee
        (tmp_path / f"aae-{prior}.json").write_text(json.dumps(meta))
    (tmp_path / "aae-uniform.json").write_text("{not json")
    monkeypatch.setattr(state, "SHIPPED_CHECKPOINTS", tmp_path)
    at = app_test()
    at.run()
    _assert_clean(at)
    assert "Hard without labels" not in _texts(at.caption)          # the Gaussian: fitted
    at.selectbox(key=setup.key("prior")).select("pinwheel").run()
    note = next(c.value for c in at.caption if "Hard without labels" in c.value)
    assert "71%" in note and "60%" in note and texts.NAV_TITLES["labelled"] in note
    at.selectbox(key=setup.key("prior")).select("mog10").run()
    assert "61%" in _texts(at.caption)
    for prior in ("uniform", "swiss_roll"):                          # broken, missing: no note, no error
        at.selectbox(key=setup.key("prior")).select(prior).run()
        _assert_clean(at)
        assert "Hard without labels" not in _texts(at.caption)
