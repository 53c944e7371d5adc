"""The Lesson page, presenter mode and the class around the teacher, through AppTest: the step in the
URL, each step's one button (it sets up the run or selects the shipped model, then opens the page
that shows it), presenter mode's flags, the watcher's banner with the teacher's step, and the
network diagram lit for the phase just run."""

from __future__ import annotations

import pytest

from ui import diagram, lesson, state, texts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TITLES = {"pages/explorer.py": "EXPLORER_TITLE", "pages/train.py": "TRAIN_TITLE", "pages/labelled.py": "LABELLED_TITLE",
          "pages/style.py": "STYLE_TITLE", "pages/semi_supervised.py": "SEMI_TITLE",
          "pages/clustering.py": "CLUSTER_TITLE"}
SLOT_OF_PAGE = {"pages/train.py": state.TRAIN, "pages/labelled.py": state.LABELLED, "pages/style.py": state.STYLE,
                "pages/semi_supervised.py": state.SEMI, "pages/clustering.py": state.CLUSTERING}


def _assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _lesson(app_test, query: dict[str, str] | None = None):
    at = app_test(query=query)
    at.switch_page("pages/lesson.py").run()
    _assert_clean(at)
    return at


def _param(at, name: str) -> str | None:
    """A query parameter as the app left it (AppTest keeps one the app wrote as a list)."""
    v = at.query_params.get(name)
    return v[-1] if isinstance(v, list) else v


def _markdown(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_every_step_has_its_texts_in_both_languages():
    for language in texts.LANGUAGES:
        for table in ("LESSON_STEP_TITLES", "LESSON_PARAGRAPHS", "LESSON_BUTTONS", "LESSON_LOOK", "LESSON_QUESTIONS"):
            assert set(texts.text(table, language)) == {s.name for s in lesson.STEPS}, (table, language)


@pytest.mark.parametrize("query, shown", [({"step": "3"}, 3), ({}, 1), ({"step": "99"}, None), ({"step": "x"}, 1)])
def test_the_step_comes_from_the_url_and_stays_in_it(app_test, query, shown):
    at = _lesson(app_test, query)
    n = shown or len(lesson.steps())
    step = lesson.steps()[n - 1]
    assert at.subheader[0].value == f"{n} · {texts.LESSON_STEP_TITLES[step.name]}"
    assert _param(at, "step") == str(n)
    assert texts.LESSON_PARAGRAPHS[step.name] in _markdown(at)
    assert texts.LESSON_QUESTIONS[step.name] in _markdown(at)
    buttons = texts.LESSON_BUTTONS_SHIPPED if step.shipped_path() else texts.LESSON_BUTTONS
    assert at.button(key="lesson_go").label == buttons[step.name]


def test_next_and_previous_move_the_step_in_the_url(app_test):
    at = _lesson(app_test, {"step": "2"})
    at.button(key="lesson_next").click().run()
    assert _param(at, "step") == "3"
    assert at.subheader[0].value.startswith("3 · ")
    at.button(key="lesson_prev").click().run()
    at.button(key="lesson_prev").click().run()
    assert _param(at, "step") == "1"
    assert at.button(key="lesson_prev").disabled


def test_the_lesson_speaks_chinese(app_test):
    at = _lesson(app_test, {"step": "3", "lang": "zh"})
    assert at.title[0].value == texts.text("LESSON_TITLE", "zh")
    assert at.subheader[0].value == "3 · " + texts.text("LESSON_STEP_TITLES", "zh")["aae"]
    buttons = "LESSON_BUTTONS_SHIPPED" if lesson.BY_NAME["aae"].shipped_path() else "LESSON_BUTTONS"
    assert at.button(key="lesson_go").label == texts.text(buttons, "zh")["aae"]


@pytest.mark.parametrize("name", [s.name for s in lesson.STEPS if s.available])
def test_each_steps_button_sets_up_what_shows_it_and_opens_its_page(app_test, name):
    n = [s.name for s in lesson.steps()].index(name) + 1
    step = lesson.BY_NAME[name]
    at = _lesson(app_test, {"step": str(n)})
    at.button(key="lesson_go").click().run()
    _assert_clean(at)
    assert at.title[0].value == getattr(texts, TITLES[step.page])
    if step.page == "pages/explorer.py":
        source = at.session_state[state.K.EXP_SOURCE]
        assert source.startswith("ckpt:") and source.endswith({"gaps": "ae.json", "vae": "vae-gaussian.json"}[name])
        return
    slot = SLOT_OF_PAGE[step.page]
    job = state.registry().get(at.session_state[slot.session_key])
    assert job is not None and job.peek().active
    # the run carries the teacher's step, for those who watch it
    assert state.teacher_step(job.id) == n
    if name == "aae":
        assert job.peek().config.prior.name == "gaussian" and job.peek().config.model.kind == "aae"
    if step.shipped_path() is not None:     # continues the shipped model: no waiting for the picture
        assert job.wait_for(lambda s: s.step > 0, timeout=30).step > 0


# ------------------------------------------------------------------------------------ shipped or live

# (step, the kind its run trains, its model's settings) for the steps that load a shipped checkpoint
SHIPPED_STEPS = {
    "aae": ("aae", "gaussian", {}, {}),
    "shapes": ("aae", "mog10", {}, {}),
    "labels": ("labelled_aae", "mog10", {}, {"label_fraction": 1.0}),
    "style": ("supervised_aae", "gaussian", {}, {}),
    "semi": ("semi_supervised", "gaussian", {"n_classes": 10}, {"label_fraction": lesson.SEMI_LABELS / 4500}),
    "clustering": ("clustering", "gaussian", {"n_classes": lesson.CLUSTERS}, {}),
}


def _write_checkpoint(folder, name: str, kind: str, prior: str, model: dict, train: dict, step: int = 7):
    """An (untrained) checkpoint of what the step shows, named as the step looks for it."""
    from aae.checkpoints import save_checkpoint
    from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
    from aae.train import seeded_model
    config = RunConfig(data=DataConfig(name="mnist-5k"), prior=PriorConfig(name=prior),
                       model=ModelConfig(kind=kind, latent_dim=2, **model), train=TrainConfig(device="cpu", **train))
    save_checkpoint(folder / name, seeded_model(config.model, 0), config, step=step)


def _press_step(app_test, name: str):
    n = [s.name for s in lesson.steps()].index(name) + 1
    at = _lesson(app_test, {"step": str(n)})
    at.button(key="lesson_go").click().run()
    _assert_clean(at)
    return state.registry().get(at.session_state[SLOT_OF_PAGE[lesson.BY_NAME[name].page].session_key])


@pytest.mark.parametrize("name", list(SHIPPED_STEPS))
def test_a_step_continues_its_shipped_checkpoint_when_it_is_here(app_test, monkeypatch, tmp_path, name):
    kind, prior, model, train = SHIPPED_STEPS[name]
    _write_checkpoint(tmp_path, lesson.BY_NAME[name].shipped.name, kind, prior, model, train, step=7)
    monkeypatch.setattr(state, "SHIPPED_CHECKPOINTS", tmp_path)
    assert lesson.BY_NAME[name].shipped_path() == tmp_path / f"{lesson.BY_NAME[name].shipped.name}.json"
    job = _press_step(app_test, name)
    snap = job.wait_for(lambda s: s.step >= 7 and s.codes is not None, timeout=60)
    assert snap.config.model.kind == kind and snap.step >= 7          # it starts where the checkpoint ended


@pytest.mark.parametrize("name", list(SHIPPED_STEPS))
def test_without_its_checkpoint_a_step_starts_its_live_run(app_test, monkeypatch, tmp_path, name):
    monkeypatch.setattr(state, "SHIPPED_CHECKPOINTS", tmp_path)          # an empty checkpoints folder
    kind = SHIPPED_STEPS[name][0]
    at = _lesson(app_test, {"step": str([s.name for s in lesson.steps()].index(name) + 1)})
    assert at.button(key="lesson_go").label == texts.LESSON_BUTTONS[name]
    assert texts.LESSON_LOOK[name] in _markdown(at)
    job = _press_step(app_test, name)
    snap = job.peek()
    assert snap.config.model.kind == kind and snap.step < 7            # from scratch


def test_a_checkpoint_of_something_else_under_the_steps_name_is_not_used(monkeypatch, tmp_path):
    """clustering-30 holding 16 clusters would not show what the step says: the live run starts."""
    _write_checkpoint(tmp_path, "clustering-30", "clustering", "gaussian", {"n_classes": 16}, {})
    monkeypatch.setattr(state, "SHIPPED_CHECKPOINTS", tmp_path)
    assert lesson.BY_NAME["clustering"].shipped_path() is None


def test_presenter_mode_from_the_url_and_the_toggle(app_test):
    at = app_test(query={"present": "1"})
    at.run()
    _assert_clean(at)
    assert at.session_state[state.K.PRESENT] is True
    assert _param(at, "present") == "1"
    assert at.button(key="aae_present_exit").label == texts.PRESENT_EXIT
    # the page's sidebar content moves into the main area's "Run controls" popover
    assert not at.sidebar.button(key="ctl_play") if len(at.sidebar.button) else True
    assert at.button(key="ctl_play").label == texts.START_TRAINING
    at.button(key="aae_present_exit").click().run()
    assert at.session_state[state.K.PRESENT] is False
    assert "present" not in at.query_params
    assert at.sidebar.button(key="ctl_play").label == texts.START_TRAINING


def test_without_presenter_mode_the_sidebar_has_the_toggle_and_the_glossary(app_test):
    at = app_test()
    at.run()
    assert at.sidebar.toggle(key=state.K.PRESENT).value is False
    at.sidebar.toggle(key=state.K.PRESENT).set_value(True).run()
    assert _param(at, "present") == "1"


def test_a_watcher_sees_the_teachers_run_and_step_and_only_the_teacher_sees_every_run(app_test, monkeypatch):
    monkeypatch.setenv("AAE_TEACHER_TOKEN", "class-secret-42")
    teacher = _lesson(app_test, {"step": "3"})
    teacher.button(key="lesson_go").click().run()
    run_id = teacher.session_state[state.TRAIN.session_key]
    student = app_test(query={"run": run_id})
    student.run()
    _assert_clean(student)
    banner = "\n".join(str(i.value) for i in student.info)
    assert texts.WATCHING_TEACHER in banner
    assert texts.TEACHER_ON_STEP.format(n=3, title=texts.LESSON_STEP_TITLES["aae"], link=lesson.step_link(3)) in banner
    assert f"server_stop_sidebar_{run_id}" not in [b.key for b in student.button]
    # the teacher's link (?teacher=TOKEN) shows every run on the server, with Pause and Stop
    other = app_test(query={"teacher": "class-secret-42"})
    other.run()
    _assert_clean(other)
    assert "teacher" not in other.query_params             # the secret leaves the address bar
    assert other.button(key=f"server_stop_sidebar_{run_id}").label == texts.RUN_STOP
    other.button(key=f"server_stop_sidebar_{run_id}").click().run()
    assert not state.registry().get(run_id).wait_for(lambda snap: not snap.active, timeout=20).active


def test_the_diagram_lights_the_parts_of_the_phase_just_run():
    assert diagram.lit_parts("reconstruction") == ("encoder", "decoder")
    assert diagram.lit_parts("discriminator") == ("discriminator",)
    assert diagram.lit_parts("generator") == ("encoder",)
    assert diagram.lit_parts(None) == ()
    svg = diagram.svg("aae", "discriminator", "generator")
    assert 'class="aae-part lit" data-part="discriminator"' in svg
    assert 'class="aae-part next" data-part="encoder"' in svg
    assert 'data-part="decoder"' in svg and 'class="aae-part lit" data-part="decoder"' not in svg
    # a plain autoencoder has no discriminator to draw
    assert 'data-part="discriminator"' not in diagram.svg("ae", "reconstruction", "reconstruction")


def test_a_steps_button_pauses_the_runs_of_earlier_steps_even_one_it_replaced(app_test):
    """Steps 3 and 4 both use the Train page: step 4's run replaces step 3's there, and step 3's
    must not keep training (the server trains few runs at once: later steps would queue)."""
    at = _lesson(app_test, {"step": "3"})
    at.button(key="lesson_go").click().run()
    first = state.registry().get(at.session_state[state.TRAIN.session_key])
    at.query_params["step"] = "4"
    at.switch_page("pages/lesson.py").run()
    assert at.subheader[0].value.startswith("4 · ")
    at.button(key="lesson_go").click().run()
    _assert_clean(at)
    second = state.registry().get(at.session_state[state.TRAIN.session_key])
    assert second.id != first.id
    # paused by the step's button, then stopped as the run its slot replaced (ui.controls.new_run);
    # a run still loading its checkpoint goes straight to stopped. Either way it trains no more.
    assert first.wait_for(lambda s: s.status in ("paused", "stopped"), timeout=120).status in ("paused", "stopped")


@pytest.mark.parametrize("page, name", [("pages/train.py", "NO_RUN"), ("pages/semi_supervised.py", "SEMI_NO_RUN"),
                                        ("pages/labelled.py", "LABELLED_NO_RUN")])
def test_presenter_modes_empty_state_points_to_run_controls_not_the_sidebar(app_test, page, name):
    at = app_test(query={"present": "1"})
    at.switch_page(page).run()
    _assert_clean(at)
    shown = "\n".join(i.value for i in at.info)
    assert texts.NO_RUN_PRESENTING[name] in shown and texts.text(name) not in shown
    assert "sidebar" not in shown
    at.button(key="aae_present_exit").click().run()
    assert texts.text(name) in "\n".join(i.value for i in at.info)


def test_an_address_without_its_step_keeps_the_sessions_step(app_test):
    """The navigation's link to the Lesson has no ?step=: the teacher comes back to their step."""
    at = _lesson(app_test, {"step": "5"})
    del at.query_params["step"]
    at.run()
    _assert_clean(at)
    assert at.subheader[0].value.startswith("5 · ")
    assert _param(at, "step") == "5"


def test_presenter_charts_draw_their_own_text_larger_and_share_their_data(monkeypatch):
    from ui import presenter

    data = {"points": b"arrow bytes"}
    spec = {"title": {"text": "t", "fontSize": 13}, "datasets": data,
            "config": {"axis": {"labelFontSize": 12}, "view": {"stroke": None}}}
    monkeypatch.setattr(presenter, "presenting", lambda: False)
    assert presenter.chart(spec) is spec
    monkeypatch.setattr(presenter, "presenting", lambda: True)
    big = presenter.chart(spec)
    assert big["title"]["fontSize"] == round(13 * presenter.FONT_SCALE)
    assert big["config"]["axis"] == {"labelFontSize": 12, "titleFontSize": round(13 * presenter.FONT_SCALE)}
    assert big["config"]["legend"]["labelFontSize"] == round(12 * presenter.FONT_SCALE)
    assert big["config"]["view"] == {"stroke": None} and big["datasets"] is data
    assert spec["title"]["fontSize"] == 13 and "legend" not in spec["config"]     # the shared spec is untouched
