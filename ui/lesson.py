"""The Lesson: the paper's story as steps a class can follow (issue 13).

Each step is data: a name (its texts in the catalog, ``texts.LESSON_*[name]``: title, paragraph,
button, what to look for, question), the page that shows it, and a *setup*: what its one button does
before it opens that page (open a shipped checkpoint in the Explorer, or start the run that shows
the step), so nobody waits. The step sits in the URL (``?step=3``, ``ui.state.lesson_step``).

    step = lesson.STEPS[2]            # "aae": Train an AAE on a Gaussian p(z)
    if step.setup():                  # starts the run; problems are flashed, never raised
        st.switch_page(step.page)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from aae import checkpoints as ckpt
from aae.config import ConfigError, RunConfig
from aae.jobs import LOADING, QUEUED, RUNNING
from aae.priors import PRIORS
from ui import categorical_views as cv
from ui import controls, diagram, setup, state, texts, widgets

ROOT = Path(__file__).resolve().parent.parent


# ==================================================================================== the steps' setups

def _shipped(name: str) -> Path | None:
    """The shipped checkpoint ``checkpoints/<name>.json``, or None (with a message) when it is missing."""
    path = state.SHIPPED_CHECKPOINTS / f"{name}.json"
    if not path.is_file():
        state.flash("error", texts.LESSON_MISSING_CHECKPOINT.format(name=name))
        return None
    return path


def explore(name: str) -> Callable[[], bool]:
    """Setup: select the shipped checkpoint ``name`` as the Explorer's model."""
    def run() -> bool:
        path = _shipped(name)
        if path is None:
            return False
        state.assign(state.K.EXP_SOURCE, f"ckpt:{path}")
        return True
    return run


def train(prior: str, checkpoint: str | None = None) -> Callable[[], bool]:
    """Setup: a new Train run with ``prior``, from scratch or continuing a shipped ``checkpoint``
    (its own settings adopted, as choosing it under *Start from* does)."""
    def run() -> bool:
        start = ""
        if checkpoint is not None:
            path = _shipped(checkpoint)
            if path is None:
                return False
            try:
                setup.adopt(RunConfig.from_dict(ckpt.read_metadata(path)["config"]))
            except (ckpt.CheckpointError, ConfigError, KeyError, TypeError) as e:
                state.flash("error", texts.CHECKPOINT_UNREADABLE.format(error=e))
                return False
            start = str(path)
        state.assign(setup.key("start_from"), start)
        state.assign(setup.key("prior"), prior)
        state.assign(state.TRAIN.prior_key, prior)
        return controls.new_run(widgets.TRAIN, False) is not None
    return run


def start(slot: state.Slot, maker: Callable[[], tuple[Callable, dict]], prefix: str) -> Callable[[], bool]:
    """Setup: a new run of an experiment page. ``maker()`` gives the page's own run maker and the
    values its widgets take, so the page describes the run it shows (imported when pressed: a page's
    views load with the page)."""
    def run() -> bool:
        make, widget_values = maker()
        for name, v in widget_values.items():
            state.assign(name, v)
        return controls.new_run(controls.RunSpec(slot=slot, new_run=make, prefix=prefix), False) is not None
    return run


def _labelled():
    from ui import label_views as lv
    return (lv._run(state.LABELLED, "labelled_aae", "mog10", label_fraction=1.0),
            {state.LABELLED.prior_key: "mog10", lv.K_FRACTION: 1.0})


def _style():
    from ui import label_views as lv
    return lv._run(state.STYLE, "supervised_aae", "gaussian", latent_dim=2), {lv.K_STYLE_DIM: 2}


def _semi():
    return (cv.new_run(state.SEMI, "semi_supervised", labels=100, seed=0),
            {"setup_semi_labels": 100, "setup_semi_seed": 0})


def _clustering():
    return (cv.new_run(state.CLUSTERING, "clustering", n_classes=16, seed=0),
            {"setup_clustering_n": 16, "setup_clustering_seed": 0})


@dataclass(frozen=True)
class Step:
    name: str                       # key of the texts.LESSON_* dicts
    page: str                       # the page that shows it, relative to the repository root
    setup: Callable[[], bool]       # the button's action; False: it could not (message flashed)
    diagram: bool = False           # draw the network on the Lesson's step

    @property
    def available(self) -> bool:
        return (ROOT / self.page).is_file()


STEPS: tuple[Step, ...] = (
    Step("gaps", "pages/explorer.py", explore("ae")),
    Step("vae", "pages/explorer.py", explore("vae-gaussian")),
    Step("aae", "pages/train.py", train("gaussian"), diagram=True),
    Step("shapes", "pages/train.py", train("mog10", checkpoint="aae-mog10")),
    Step("labels", "pages/labelled.py", start(state.LABELLED, _labelled, "lab")),
    Step("style", "pages/style.py", start(state.STYLE, _style, "sty")),
    Step("semi", "pages/semi_supervised.py", start(state.SEMI, _semi, "semi")),
    Step("clustering", "pages/clustering.py", start(state.CLUSTERING, _clustering, "clustering")),
)
BY_NAME = {s.name: s for s in STEPS}


def steps() -> list[Step]:
    """The steps whose page exists in this checkout (a page not built yet leaves its step out)."""
    return [s for s in STEPS if s.available]


def title(step: Step) -> str:
    return texts.LESSON_STEP_TITLES[step.name]


def step_link(n: int) -> str:
    """The link to step ``n`` of the Lesson (relative: it works behind any host name)."""
    return f"./lesson?{state.STEP_PARAM}={n}"


# ==================================================================================== the page

_SWITCH = state.key("aae", "lesson", "switch")     # the page a step's button opens (set by its callback)


def _go(n: int) -> None:
    state.set_lesson_step(n)


def _pause_other_runs() -> None:
    """Pause the runs this browser controls on other pages: the server trains few runs at once, and
    the step about to start one must not wait in the queue behind the previous step's run."""
    for slot in state.SLOTS.values():
        job = state.current_job(slot)
        if job is not None and state.controls(job.id) and job.peek().status in (RUNNING, QUEUED, LOADING):
            job.pause()


def _press(n: int, name: str) -> None:
    """A step's button: its setup, then (in the script run that follows: a callback cannot switch
    pages) the page that shows it."""
    step = BY_NAME[name]
    _pause_other_runs()
    if step.setup():
        state.set_lesson_step(n)                # the new run now carries the step for its watchers
        state.assign(_SWITCH, step.page)


def page() -> None:
    """The Lesson page: the step from the URL, its paragraph, button, what to look for and question,
    and the step navigation."""
    shown = steps()
    n = state.lesson_step(len(shown))
    state.set_lesson_step(n)
    step = shown[n - 1]
    nav = st.columns([1, 3, 1], vertical_alignment="center")
    with nav[0]:
        st.button(texts.LESSON_PREVIOUS, icon=":material/arrow_back:", key="lesson_prev", width="stretch",
                  disabled=n == 1, on_click=_go, args=(n - 1,))
    with nav[1]:
        labels = {i + 1: f"{i + 1} · {title(s)}" for i, s in enumerate(shown)}
        st.selectbox(texts.LESSON_STEP_OF.format(n=n, total=len(shown)), list(labels), index=n - 1,
                     format_func=labels.get, key=f"lesson_jump_{n}", help=texts.HELP_LESSON_STEP,
                     on_change=lambda: _go(st.session_state[f"lesson_jump_{n}"]), label_visibility="collapsed")
    with nav[2]:
        st.button(texts.LESSON_NEXT, icon=":material/arrow_forward:", key="lesson_next", width="stretch",
                  disabled=n == len(shown), on_click=_go, args=(n + 1,), type="primary")
    with st.container(key=f"lesson_step_{step.name}"):
        st.subheader(f"{n} · {title(step)}")
        words, act = st.columns([3, 2], gap="large")
        with words:
            st.markdown(texts.LESSON_PARAGRAPHS[step.name])
            if step.diagram:
                st.markdown(f"**{texts.LESSON_DIAGRAM_TITLE}**")
                job = state.current_job(state.TRAIN)
                snap = state.run_snapshot(job) if job is not None else None
                if snap is not None:
                    diagram.run_diagram(snap)
                else:
                    diagram.diagram("aae", "generator", "reconstruction")
        with act:
            st.button(texts.LESSON_BUTTONS[step.name], icon=":material/play_circle:", type="primary",
                      key="lesson_go", width="stretch", help=texts.HELP_LESSON_BUTTON, on_click=_press,
                      args=(n, step.name))
            st.markdown(f"**{texts.LESSON_LOOK_LABEL}:** {texts.LESSON_LOOK[step.name]}")
            st.markdown(f"**{texts.LESSON_QUESTION_LABEL}:** *{texts.LESSON_QUESTIONS[step.name]}*")
    if (target := state.pop_value(_SWITCH)) is not None:
        st.switch_page(target)
    widgets.flash_messages()
    if state.is_teacher():
        with st.expander(texts.RUNS_ON_SERVER, icon=":material/dns:"):
            runs_on_server(where="lesson")


# ==================================================================================== the class

def watcher_banner() -> None:
    """For a student on a run someone else controls (the share link): say whose run it is, and the
    lesson step the teacher is on, with a link to it (frame, every page)."""
    for slot in state.SLOTS.values():
        job = state.current_job(slot)
        if job is None or state.controls(job.id) or not state.run_snapshot(job).active:
            continue
        words = texts.WATCHING_TEACHER
        n = state.teacher_step(job.id)
        shown = steps()
        if n is not None and 1 <= n <= len(shown):
            words += "  \n" + texts.TEACHER_ON_STEP.format(n=n, title=title(shown[n - 1]), link=step_link(n))
        with st.container(key="aae_watching_banner"):
            st.info(words, icon=":material/visibility:")
        return


def _slot_of(run_id: str) -> str:
    slot = state.SLOTS.get(state.book().slot(run_id) or "")
    return slot.title if slot is not None else ""


def runs_on_server(where: str = "sidebar") -> None:
    """Every run on the server with Pause and Stop (only for the teacher: ``state.is_teacher``)."""
    jobs = [j for j in state.registry().jobs() if j.peek().active]
    if not jobs:
        st.caption(texts.RUNS_ON_SERVER_NONE)
        return
    st.caption(texts.HELP_RUNS_ON_SERVER)
    for job in jobs:
        snap = job.peek()
        prior = PRIORS[snap.config.prior.name].display_name if snap.config.prior.name in PRIORS else ""
        row, pause, stop = st.columns([6, 1, 1], vertical_alignment="center")
        row.markdown(texts.RUN_ROW.format(run_id=job.id, title=_slot_of(job.id) or snap.config.model.kind.upper(),
                                          prior=prior, step=snap.step,
                                          status=texts.STATUS_LABELS.get(snap.status, snap.status),
                                          viewers=state.book().others(job.id, "", "")))
        pause.button(texts.RUN_PAUSE, key=f"server_pause_{where}_{job.id}", icon=":material/pause:", on_click=job.pause,
                     disabled=snap.status not in (RUNNING, QUEUED, LOADING))
        stop.button(texts.RUN_STOP, key=f"server_stop_{where}_{job.id}", icon=":material/stop:", on_click=job.stop)
