"""The Lesson: the paper's story as steps a class can follow (issue 13).

Each step is data: a name (its texts in the catalog, ``texts.LESSON_*[name]``: title, paragraph,
button, what to look for, question), the page that shows it, and a *setup*: what its one button does
before it opens that page (open a shipped checkpoint in the Explorer, or start the run that shows
the step), so nobody waits. A step that names a shipped checkpoint (``Shipped``) continues it when
``checkpoints/`` has one that trained what the step shows, and starts the live run otherwise; its
button and what to look for then say which (``texts.LESSON_*_SHIPPED``). The step sits in the URL
(``?step=3``, ``ui.state.lesson_step``).

    step = lesson.STEPS[2]            # "aae": the AAE on a Gaussian p(z)
    if step.setup(step.shipped_path()):   # loads or starts the run; problems are flashed, never raised
        st.switch_page(step.page)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from aae import checkpoints as ckpt
from aae.config import ConfigError, RunConfig
from aae.data import load_dataset
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


@dataclass(frozen=True)
class Shipped:
    """A shipped checkpoint a step continues when it is here: ``checkpoints/<name>.json``, if
    ``shows(its config)`` (it trained what the step shows; another one of that name is not used)."""
    name: str
    shows: Callable[[RunConfig], bool]

    def path(self) -> Path | None:
        json_path = state.SHIPPED_CHECKPOINTS / f"{self.name}.json"
        if not (json_path.is_file() and json_path.with_suffix(".safetensors").is_file()):
            return None
        try:
            config = ckpt.read_metadata(json_path)["config_obj"]
        except (ckpt.CheckpointError, OSError, KeyError):
            return None
        return json_path if self.shows(config) else None


def train(prior: str) -> Callable[[Path | None], bool]:
    """Setup: a new Train run with ``prior``, continuing the shipped checkpoint when it is here (its
    own settings adopted, as choosing it under *Start from* does), else from scratch."""
    def run(shipped: Path | None) -> bool:
        start = ""
        if shipped is not None:
            try:
                setup.adopt(ckpt.read_metadata(shipped)["config_obj"])
            except (ckpt.CheckpointError, OSError, KeyError) as e:
                state.flash("error", texts.CHECKPOINT_UNREADABLE.format(error=e))
                return False
            start = str(shipped)
        state.assign(setup.key("start_from"), start)
        state.assign(setup.key("prior"), prior)
        state.assign(state.TRAIN.prior_key, prior)
        return controls.new_run(widgets.TRAIN, False) is not None
    return run


def start(slot: state.Slot, maker: Callable[[], tuple[Callable, dict]], prefix: str) -> Callable[[Path | None], bool]:
    """Setup: a new run of an experiment page. ``maker()`` gives the page's own run maker and the
    values its widgets take, so the page describes the run it shows (imported when pressed: a page's
    views load with the page). With a shipped checkpoint, the run continues it instead."""
    def run(shipped: Path | None) -> bool:
        make, widget_values = maker()
        for name, v in widget_values.items():
            state.assign(name, v)
        if shipped is not None:
            make = _continue(slot, shipped)
        return controls.new_run(controls.RunSpec(slot=slot, new_run=make, prefix=prefix), False) is not None
    return run


def _continue(slot: state.Slot, path: Path) -> Callable[[bool], object]:
    """A run maker that continues the checkpoint at ``path`` with its own settings (problems flashed)."""
    def make(paused: bool):
        try:
            loaded = ckpt.load_checkpoint(path)
            return state.create_run(slot, loaded.config, paused=paused, model=loaded.model, start_step=loaded.step)
        except (ckpt.CheckpointError, ConfigError, OSError) as e:
            state.flash("error", texts.CHECKPOINT_UNREADABLE.format(error=e))
            return None
    return make


def _labelled():
    from ui import label_views as lv
    return (lv._run(state.LABELLED, "labelled_aae", "mog10", label_fraction=1.0),
            {state.LABELLED.prior_key: "mog10", lv.K_FRACTION: 1.0})


def _style():
    from ui import label_views as lv
    return lv._run(state.STYLE, "supervised_aae", "gaussian", latent_dim=2), {lv.K_STYLE_DIM: 2}


def _semi():
    return (cv.new_run(state.SEMI, "semi_supervised", labels=SEMI_LABELS, seed=0),
            {"setup_semi_labels": SEMI_LABELS, "setup_semi_seed": 0})


def _clustering():
    return (cv.new_run(state.CLUSTERING, "clustering", n_classes=CLUSTERS, seed=0),
            {"setup_clustering_n": CLUSTERS, "setup_clustering_seed": 0})


# What each step's shipped checkpoint must have trained (the live run's model, prior and labels)
CLUSTERS = 30                   # the paper's Table 3 row with the lowest error
SEMI_LABELS = 100


def _is(kind: str, prior: str | None = None, **model) -> Callable[[RunConfig], bool]:
    def shows(config: RunConfig) -> bool:
        m = config.model
        return (m.kind == kind and m.latent_dim == 2 and (prior is None or config.prior.name == prior)
                and all(getattr(m, k) == v for k, v in model.items()))
    return shows


def _semi_with(labels: int) -> Callable[[RunConfig], bool]:
    """A semi-supervised AAE that read ``labels`` labels of its dataset's training digits."""
    def shows(config: RunConfig) -> bool:
        if not _is("semi_supervised", n_classes=10)(config):
            return False
        return round(config.train.label_fraction * _n_train(config.data.name)) == labels
    return shows


@functools.lru_cache(maxsize=4)
def _n_train(dataset: str) -> int:
    return int(load_dataset(dataset).train_labels.shape[0])


@dataclass(frozen=True)
class Step:
    name: str                       # key of the texts.LESSON_* dicts
    page: str                       # the page that shows it, relative to the repository root
    setup: Callable[[Path | None], bool]   # the button's action, given shipped_path(); False: it could not
    diagram: bool = False           # draw the network on the Lesson's step
    shipped: Shipped | None = None  # the checkpoint it continues when here (else its live run starts)

    @property
    def available(self) -> bool:
        return (ROOT / self.page).is_file()

    def shipped_path(self) -> Path | None:
        return self.shipped.path() if self.shipped is not None else None


STEPS: tuple[Step, ...] = (
    Step("gaps", "pages/explorer.py", lambda _: explore("ae")()),
    Step("vae", "pages/explorer.py", lambda _: explore("vae-gaussian")()),
    Step("aae", "pages/train.py", train("gaussian"), diagram=True, shipped=Shipped("aae-gaussian", _is("aae", "gaussian"))),
    Step("shapes", "pages/train.py", train("mog10"), shipped=Shipped("aae-mog10", _is("aae", "mog10"))),
    Step("labels", "pages/labelled.py", start(state.LABELLED, _labelled, "lab"),
         shipped=Shipped("labelled-aae-mog10", _is("labelled_aae", "mog10"))),
    Step("style", "pages/style.py", start(state.STYLE, _style, "sty"), shipped=Shipped("supervised-aae", _is("supervised_aae"))),
    Step("semi", "pages/semi_supervised.py", start(state.SEMI, _semi, "semi"),
         shipped=Shipped("semi-supervised-100", _semi_with(SEMI_LABELS))),
    Step("clustering", "pages/clustering.py", start(state.CLUSTERING, _clustering, "clustering"),
         shipped=Shipped("clustering-30", _is("clustering", n_classes=CLUSTERS))),
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
_STEP = state.key("aae", "lesson", "step")         # the step this session is on


def _go(n: int) -> None:
    st.session_state[_STEP] = n
    state.set_lesson_step(n)


def _jump(key: str, total: int) -> None:
    """The step menu's choice. Keyed per language: when the labels change language, Streamlit was
    seen to hand the old label (a string) to the widget's callback instead of its step number."""
    n = st.session_state.get(key)
    if isinstance(n, int) and 1 <= n <= total:
        _go(n)


def current_step(total: int) -> int:
    """The step from the URL; when the URL has none (the navigation's link to the Lesson), the one
    this session was on, so a teacher coming back from a step's page finds the step again."""
    remembered = st.session_state.get(_STEP)
    if state.url_value(state.STEP_PARAM) is None and isinstance(remembered, int):
        return min(max(remembered, 1), total)
    return state.lesson_step(total)


def _pause_other_runs() -> None:
    """Pause the runs this browser controls: the server trains few runs at once, and the step about
    to start one must not wait in the queue behind an earlier step's run, whether that one is still
    shown on its page or was replaced there by a later step's (step 4's run replaces step 3's)."""
    for slot in state.SLOTS.values():
        shown = state.current_job(slot)
        for job in ([shown] if shown is not None else []) + state.started_here(slot):
            if state.controls(job.id) and job.peek().status in (RUNNING, QUEUED, LOADING):
                job.pause()


def _press(n: int, name: str) -> None:
    """A step's button: its setup, then (in the script run that follows: a callback cannot switch
    pages) the page that shows it."""
    step = BY_NAME[name]
    _pause_other_runs()
    if step.setup(step.shipped_path()):
        state.set_lesson_step(n)                # the new run now carries the step for its watchers
        state.assign(_SWITCH, step.page)


def page() -> None:
    """The Lesson page: the step from the URL, its paragraph, button, what to look for and question,
    and the step navigation."""
    shown = steps()
    n = current_step(len(shown))
    _go(n)
    step = shown[n - 1]
    nav = st.columns([1, 3, 1], vertical_alignment="center")
    with nav[0]:
        st.button(texts.LESSON_PREVIOUS, icon=":material/arrow_back:", key="lesson_prev", width="stretch",
                  disabled=n == 1, on_click=_go, args=(n - 1,))
    with nav[1]:
        labels = {i + 1: f"{i + 1} · {title(s)}" for i, s in enumerate(shown)}
        st.selectbox(texts.LESSON_STEP_OF.format(n=n, total=len(shown)), list(labels), index=n - 1,
                     format_func=labels.get, key=(jump := f"lesson_jump_{n}_{texts.current_language()}"),
                     help=texts.HELP_LESSON_STEP, on_change=_jump, args=(jump, len(shown)),
                     label_visibility="collapsed")
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
            shipped = step.shipped_path() is not None
            st.button((texts.LESSON_BUTTONS_SHIPPED if shipped else texts.LESSON_BUTTONS)[step.name],
                      icon=":material/play_circle:", type="primary", key="lesson_go", width="stretch",
                      help=texts.HELP_LESSON_BUTTON, on_click=_press, args=(n, step.name))
            look = (texts.LESSON_LOOK_SHIPPED if shipped else texts.LESSON_LOOK)[step.name]
            st.markdown(f"**{texts.LESSON_LOOK_LABEL}:** {look}")
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
