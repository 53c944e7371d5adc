"""Everything the dashboard remembers between script runs, behind typed accessors.

This is the only module that reads or writes ``st.session_state`` (outside widgets' own ``key=``)
and ``st.query_params``. Every key uses one separator, ``_`` (a ``.`` is awkward in the CSS class
``st-key-<key>`` that tests and styles use). It also owns the process-wide resources every
session shares, each in ``st.cache_resource`` and thread-safe:

* the ``JobRegistry``: all training runs;
* the ``RunBook``: who may control which run (its creator and whoever opened its control link),
  which browser started it, and which sessions look at it.

**Slots.** A page that trains has a *slot* (``TRAIN``, ``COMPARE``; a new page adds one with
``register_slot``): the session key and the URL parameter of the run it shows. ``init_session``
(called by the frame on every script run) takes the session's id, else the URL's, checks that the
registry still has that run, and writes the id back into the URL — query parameters do not survive
``st.navigation`` page switches in Streamlit 1.67 (DESIGN.md §4).

**Who controls a run.** The browser that started it (a random id in the cookie ``aae_browser``,
so a reload keeps control; without cookies, the session), and any browser that opened its control
link ``?run=ID&control=TOKEN``. The token is made with ``secrets.token_urlsafe``, kept server-side
only, compared with ``hmac.compare_digest`` and shown only to those who control the run. Everyone
else who has the ``?run=`` link watches.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from aae import checkpoints as ckpt
from aae.config import DataConfig, RunConfig
from aae.jobs import JobRegistry, RegistryFull, Snapshot, TrainingJob
from ui import texts
from ui.charts import LAYER_PRIOR

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CHECKPOINTS = REPO_ROOT / "checkpoints"
LATENT_DIM = 2                  # the training pages always train a 2-D code: it is what we can draw
VIEWER_GRACE_S = 10.0           # without Streamlit's session list, a viewer counts as gone after this
IDLE_PAUSE_S = 60.0             # a run nobody looks at is paused (and autosaved) after this: a lost
                                # URL must not hold the only training slot for long (issue 9)
SEP = "_"                       # the one separator of every key
LANG_PARAM = "lang"             # ?lang=zh|en: the language of every text (ui.texts)
CONTROL_PARAM = "control"       # ?run=ID&control=TOKEN hands control of run ID to whoever opens it
STEP_PARAM = "step"             # ?step=N: the Lesson's step (1-based)
PRESENT_PARAM = "present"       # ?present=1: presenter mode (no sidebar, big type)
TEACHER_PARAM = "teacher"       # ?teacher=TOKEN: this browser may pause or stop any run on the server
COOKIE = "aae_browser"          # this browser's id: a reload keeps control of the runs it started
COOKIE_MAX_AGE_S = 30 * 24 * 3600
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def key(*parts: str) -> str:
    """A session-state key from its parts, with the one separator: ``key("setup", "prior")``."""
    return SEP.join(parts)


class K:
    """Widget keys. The first part says which values survive page switches (``_PERSISTENT``).
    The setup table's keys are ``key("setup", field)`` (``ui.setup``)."""

    SPEED = key("controls", "speed")            # a label of texts.SPEED_CHOICES
    LANG = key("view", "lang")                  # a code of texts.LANGUAGES (the sidebar switch)
    PRESENT = key("view", "present")            # presenter mode on (the sidebar toggle, first set from ?present=1)
    LAYERS = key("view", "layers")              # list of layer names shown on the latent plot
    SAVE_DIR = key("save", "dir")
    SAVE_NAME = key("save", "name")
    SAVE_REPLACE = key("save", "replace")       # the explicit choice to replace a checkpoint of that name
    SAVE_MODEL = key("save", "model")           # which model of a lockstep run to save
    CMP_PRIOR = key("setup", "compare", "prior")
    CMP_SPEED = key("controls", "compare", "speed")
    CMP_AXES = key("view", "compare", "axes")
    CMP_MAP = key("view", "compare", "map")
    CMP_PAD = key("compare", "pad")
    EXP_SOURCE = key("view", "explorer", "source")
    EXP_GRID_N = key("view", "explorer", "grid", "n")
    EXP_FROM = key("view", "explorer", "from")
    EXP_TO = key("view", "explorer", "to")
    EXP_STEPS = key("view", "explorer", "steps")
    EXP_PAD = key("explorer", "pad")
    EXP_DRAW = key("explorer", "draw")


# Keys starting with these keep their values across page switches (``init_session``).
_PERSISTENT = tuple(key(group, "") for group in ("setup", "controls", "view", "save"))

# private session keys
_FLASH = key("aae", "flash")            # messages to show once, [(kind, text)]
_SAVED = key("aae", "saved")            # .json path of the last checkpoint this session saved
_IDENTITY = key("aae", "identity")      # this browser's id (cookie), else this session's
_COOKIE_SET = key("aae", "cookie")      # the identity cookie was written by this session
_PROBE = key("aae", "explorer", "probe")    # where the Explorer's pad probe was last sent from Python
_URL_READ = key("aae", "url", "read")   # the setup fields were read from the URL once


def _defaults() -> dict[str, Any]:
    return {K.SPEED: speed_label(None), K.LAYERS: [LAYER_PRIOR], K.SAVE_DIR: "", K.SAVE_NAME: "",
            K.SAVE_REPLACE: False, K.CMP_PRIOR: "gaussian", K.CMP_SPEED: speed_label(None), K.CMP_AXES: "prior",
            K.CMP_MAP: "ae", K.EXP_GRID_N: 12, K.EXP_FROM: "class:1", K.EXP_TO: "class:0", K.EXP_STEPS: 10,
            # every training page starts at full speed (a speed control without a value shows, and
            # runs at, its first choice: slow motion)
            **{slot.speed_key: speed_label(None) for slot in SLOTS.values()}}


# ------------------------------------------------------------------------------------ plain access

def value(name: str, default: Any = None) -> Any:
    """The session's value under ``name`` (a key of ``K`` or of the setup table)."""
    return st.session_state.get(name, default)


def assign(name: str, new: Any) -> None:
    st.session_state[name] = new


def pop_value(name: str) -> Any:
    """Take the session's value under ``name`` out (None when there is none): a one-shot request."""
    return st.session_state.pop(name, None)


def init_defaults(defaults: dict[str, Any]) -> None:
    """Default values of widget keys, set once per session (widgets with persistent prefixes must not
    also get a ``value=``: ``init_session`` re-assigns them through Session State)."""
    for name, v in defaults.items():
        if name not in st.session_state:
            st.session_state[name] = v


def ensure_choice(name: str, options: Iterable[Any], default: Any = None) -> None:
    """Reset a widget's remembered value when it is no longer one of ``options`` (a checkpoint was
    deleted, a dataset renamed), so the widget never sees a stale value."""
    options = list(options)
    ss = st.session_state
    if name in ss and ss[name] not in options:
        ss[name] = default if default in options else options[0]


def layers() -> list[str]:
    return list(st.session_state.get(K.LAYERS) or [])


def speed_label(speed: float | None) -> str:
    """The speed-control label closest to ``speed`` steps/s (None = full speed)."""
    if speed is None:
        return next(label for label, v in texts.SPEED_CHOICES.items() if v is None)
    limited = [(label, v) for label, v in texts.SPEED_CHOICES.items() if v is not None]
    return min(limited, key=lambda lv: abs(lv[1] - speed))[0]


def speed(name: str) -> float | None:
    """The speed (steps/s, None = full speed) chosen in the speed control under ``name``."""
    return texts.SPEED_CHOICES.get(st.session_state.get(name))


# ------------------------------------------------------------------------------------ URL state

def url_value(name: str) -> str | None:
    v = st.query_params.get(name)
    return v or None


def set_url_value(name: str, v: str | None) -> None:
    """Write (or, for None, remove) one query parameter, only when it changes."""
    if url_value(name) == v:
        return
    if v:
        st.query_params[name] = v
    elif name in st.query_params:
        del st.query_params[name]


def switch_page(page: Any) -> None:
    """Open ``page`` (an ``st.Page`` of the navigation) with the address's query parameters, which
    ``st.switch_page`` would otherwise drop (``?run=ID`` on an old ``/train`` link, say)."""
    st.switch_page(page, query_params=[(name, v) for name in st.query_params for v in st.query_params.get_all(name)])


def first_url_read() -> bool:
    """True once per session: the moment to read settings from a share link's URL."""
    if st.session_state.get(_URL_READ):
        return False
    st.session_state[_URL_READ] = True
    return True


# ------------------------------------------------------------------------------------ language

def language() -> str:
    """The session's language, a code of ``texts.LANGUAGES``: the sidebar switch, first set from
    ``?lang=``; English outside a script run (the training thread, the CLI, plain imports)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return texts.DEFAULT_LANGUAGE
    lang = st.session_state.get(K.LANG) or url_value(LANG_PARAM)
    return lang if lang in texts.LANGUAGES else texts.DEFAULT_LANGUAGE


def init_language() -> None:
    """Call once per script run, before anything shows a text: the language from the URL on a
    session's first run, and the current one written back to the URL (``?lang=`` would be lost on a
    page switch, like the run id; English, the default, leaves the URL clean)."""
    if K.LANG not in st.session_state:
        st.session_state[K.LANG] = language()
    lang = language()
    set_url_value(LANG_PARAM, None if lang == texts.DEFAULT_LANGUAGE else lang)


texts.set_language_source(language)


# ------------------------------------------------------------------------------------ presenter mode, lesson step

def presenting() -> bool:
    """Presenter mode: the toggle, first set from ``?present=1``."""
    if K.PRESENT in st.session_state:
        return bool(st.session_state[K.PRESENT])
    return url_value(PRESENT_PARAM) in ("1", "true", "yes")


def init_presenting() -> None:
    """Call once per script run (the frame): presenter mode from the URL on a session's first run,
    and written back to the URL on every run (a page switch would lose it, like ``?lang=``)."""
    if K.PRESENT not in st.session_state:
        st.session_state[K.PRESENT] = presenting()
    set_url_value(PRESENT_PARAM, "1" if presenting() else None)


def lesson_step(n_steps: int) -> int:
    """The Lesson's step from ``?step=`` (1-based, clamped to 1..n_steps; 1 when absent or not a number)."""
    try:
        n = int(url_value(STEP_PARAM) or 1)
    except ValueError:
        n = 1
    return min(max(n, 1), n_steps)


def set_lesson_step(n: int) -> None:
    """Put step ``n`` into the URL and, for every active run this browser controls, into the run book,
    so that those watching the run see which step the teacher is on (``teacher_step``)."""
    set_url_value(STEP_PARAM, str(n))
    for slot in SLOTS.values():
        run_id = current_run_id(slot)
        if run_id and controls(run_id):
            book().set_step(run_id, n)


def teacher_step(run_id: str) -> int | None:
    """The Lesson step the controller of ``run_id`` was last on (None: not following the Lesson)."""
    return book().step(run_id)


@st.cache_resource(show_spinner=False)
def teacher_token() -> str:
    """The teacher's secret: ``$AAE_TEACHER_TOKEN``, else a random one, printed once to the server's
    log as a link, so that whoever started the server can hand the teacher's view to another machine."""
    token = os.environ.get("AAE_TEACHER_TOKEN", "").strip() or secrets.token_urlsafe(18)
    if not os.environ.get("AAE_TEACHER_TOKEN", "").strip():
        print(f"AAE Lab: the teacher's link (pause or stop any run): ?{TEACHER_PARAM}={token}", flush=True)
    return token


def is_teacher() -> bool:
    """Whether this browser may see and stop every run on the server: it talks to the server from
    this machine (whoever started the server; Streamlit reports no address for localhost), or it
    opened ``?teacher=TOKEN`` once (remembered for this browser, by its identity)."""
    token = url_value(TEACHER_PARAM)
    me = identity()
    if token and hmac.compare_digest(token.encode(), teacher_token().encode()):
        book().add_teacher(me)
        set_url_value(TEACHER_PARAM, None)        # the address bar never keeps the secret
    if book().is_teacher(me):
        return True
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 — no browser context (bare mode)
        ip = None
    return ip in (None, "127.0.0.1", "::1")


# ------------------------------------------------------------------------------------ folders

def cache_dir() -> Path:
    """``~/.cache/aae-lab`` (never inside the repository)."""
    return Path.home() / ".cache" / "aae-lab"


def runs_dir() -> Path:
    """Where running jobs autosave: ``$AAE_RUNS_DIR`` or ``~/.cache/aae-lab/runs``."""
    env = os.environ.get("AAE_RUNS_DIR", "").strip()
    return Path(env).expanduser() if env else cache_dir() / "runs"


def user_checkpoint_dir() -> Path:
    """The app's save folder (``aae.checkpoints.save_root``: ``$AAE_SAVE_DIR`` or
    ``~/.cache/aae-lab/checkpoints``)."""
    return ckpt.save_root()


def checkpoint_dirs() -> list[tuple[str, Path]]:
    """Folders offered under *Start from*, each with a group label: the shipped checkpoints, any
    folders in ``$AAE_CHECKPOINT_DIRS`` (``os.pathsep``-separated), saved ones, autosaves."""
    dirs = [("shipped", SHIPPED_CHECKPOINTS)]
    for part in os.environ.get("AAE_CHECKPOINT_DIRS", "").split(os.pathsep):
        if part.strip():
            dirs.append(("extra", Path(part.strip()).expanduser()))
    dirs += [("saved", user_checkpoint_dir()), ("autosave", runs_dir())]
    seen: set[Path] = set()
    out = []
    for group, d in dirs:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            out.append((group, d))
    return out


# ------------------------------------------------------------------------------------ shared resources

def _env_number(name: str, cast=int):
    v = os.environ.get(name, "").strip()
    return cast(v) if v else None


def _release_registry(registry: JobRegistry) -> None:
    registry.shutdown(timeout=5.0)


def _leave_a_core_for_the_ui() -> None:
    """Training threads share this process and machine with the web server and the browser. With
    as many torch threads as cores, every batch waits for the thread that the browser preempted:
    measured on 2 cores with one core busy, the small preset fell from 45 to 1.4 steps/s with 2
    threads. So on a CPU use cores − 1 (``$AAE_TORCH_THREADS`` overrides)."""
    import torch

    wanted = _env_number("AAE_TORCH_THREADS")
    if wanted is None and not torch.cuda.is_available():
        wanted = max(1, (os.cpu_count() or 1) - 1)
    if wanted is not None and wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)


def _warm_up(runs_here: bool) -> None:
    """While the teacher picks a prior, load the default dataset (cached per process: the Explorer,
    the Lesson and the categorical pages read it here) and, where runs train in this process
    (``runs_here``), import scikit-learn (the k-NN and the referee of a run's second snapshot; 1.4 s
    on a 2-core CPU). Where runs train in worker processes, those warm up themselves
    (``aae.jobs.proxy``), and an import here would only slow the first page down."""
    try:
        from aae.data import load_dataset
        load_dataset(DataConfig().name, seed=DataConfig().seed)
        if runs_here:
            import sklearn.neighbors  # noqa: F401
    except Exception:  # noqa: BLE001 — only a head start: the run reports any real problem itself
        pass


@st.cache_resource(show_spinner=False, on_release=_release_registry)
def registry() -> JobRegistry:
    """The process-wide job registry. ``$AAE_MAX_RUNNING`` overrides how many runs train at once
    (default: one per GPU, or cores − 1 on a CPU); ``$AAE_IDLE_PAUSE`` the seconds after which a run
    nobody looks at is paused (default ``IDLE_PAUSE_S``); ``$AAE_JOB_WORKERS`` where runs train:
    ``process`` (default: a worker process each, so that watchers' page reruns never take the
    interpreter from training; benchmarks/watchers.py) or ``thread`` (less memory per run: a worker
    holds its own torch, about 0.4 GB); ``$AAE_SPARE_WORKERS`` how many workers wait started ahead
    (default 1: Start never waits for an interpreter and the torch import); ``$AAE_MAX_LOADED`` how
    many runs may hold a model in memory at once (default: half the machine's memory over what a run
    holds, ``aae.jobs.registry.default_max_loaded``: a class of students who each paused a run does
    not run the server out of memory)."""
    _leave_a_core_for_the_ui()
    workers = os.environ.get("AAE_JOB_WORKERS", "").strip() or "process"
    threading.Thread(target=_warm_up, args=(workers != "process",), name="aae-warm-up", daemon=True).start()
    kwargs: dict[str, Any] = {"autosave_dir": runs_dir(), "idle_pause": IDLE_PAUSE_S, "workers": workers}
    if workers == "process":
        from aae.jobs.proxy import prestart
        spares = _env_number("AAE_SPARE_WORKERS")
        prestart(1 if spares is None else spares)
    if (cap := _env_number("AAE_MAX_RUNNING")) is not None:
        kwargs["max_running"] = cap
    if (idle := _env_number("AAE_IDLE_PAUSE", float)) is not None:
        kwargs["idle_pause"] = idle
    if (loaded := _env_number("AAE_MAX_LOADED")) is not None:
        kwargs["max_loaded"] = loaded
    return JobRegistry(**kwargs)


@dataclass
class _Record:
    slot: str
    starter: str                               # the identity that created the run
    secret: str                                # the control link's token (server-side only)
    holders: set[str] = field(default_factory=set)      # identities that control the run
    lesson_step: int | None = None             # the Lesson step its controller was last on
    viewers: dict[str, tuple[str, float]] = field(default_factory=dict)   # identity -> (session id, seen)


class RunBook:
    """Who controls, started and looks at which run (thread-safe, one per server process).

    The lock guards ``_runs`` and ``_teachers``; every method takes it, so sessions on any thread may call them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _Record] = {}
        self._teachers: set[str] = set()            # identities that opened the teacher's link

    def add(self, run_id: str, slot: str, identity: str) -> None:
        with self._lock:
            self._runs[run_id] = _Record(slot=slot, starter=identity, secret=secrets.token_urlsafe(24),
                                         holders={identity})

    def controls(self, run_id: str, identity: str) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            return rec is not None and identity in rec.holders

    def grant(self, run_id: str, identity: str, token: str) -> bool:
        """Give ``identity`` control of the run when ``token`` is its control token."""
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or not hmac.compare_digest(rec.secret.encode(), token.encode()):
                return False
            rec.holders.add(identity)
            return True

    def secret(self, run_id: str, identity: str) -> str | None:
        """The control token, for those who control the run only."""
        with self._lock:
            rec = self._runs.get(run_id)
            return rec.secret if rec is not None and identity in rec.holders else None

    def started_by(self, identity: str, slot: str) -> list[str]:
        with self._lock:
            return [rid for rid, rec in self._runs.items() if rec.starter == identity and rec.slot == slot]

    def touch(self, run_id: str, identity: str, session_id: str) -> None:
        with self._lock:
            rec = self._runs.setdefault(run_id, _Record(slot="", starter="", secret=secrets.token_urlsafe(24)))
            rec.viewers[identity + session_id] = (session_id, time.monotonic())

    def others(self, run_id: str, identity: str, session_id: str) -> int:
        """How many other live sessions show ``run_id``."""
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None:
                return 0
            for viewer in [v for v, (sid, seen) in rec.viewers.items() if not _alive(sid, seen)]:
                del rec.viewers[viewer]
            return sum(1 for v in rec.viewers if v != identity + session_id)

    def slot(self, run_id: str) -> str | None:
        """The name of the slot the run was started in (None: not in the book)."""
        with self._lock:
            rec = self._runs.get(run_id)
            return rec.slot if rec is not None else None

    def set_step(self, run_id: str, n: int) -> None:
        with self._lock:
            if (rec := self._runs.get(run_id)) is not None:
                rec.lesson_step = n

    def step(self, run_id: str) -> int | None:
        with self._lock:
            rec = self._runs.get(run_id)
            return rec.lesson_step if rec is not None else None

    def add_teacher(self, identity: str) -> None:
        with self._lock:
            self._teachers.add(identity)

    def is_teacher(self, identity: str) -> bool:
        with self._lock:
            return identity in self._teachers

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the records of runs the registry no longer has."""
        keep = set(keep)
        with self._lock:
            for rid in [r for r in self._runs if r not in keep]:
                del self._runs[rid]


def _alive(session_id: str, last_seen: float) -> bool:
    try:
        from streamlit.runtime import Runtime
        if Runtime.exists():
            return bool(Runtime.instance().is_active_session(session_id))
    except Exception:  # noqa: BLE001 — an internal API: fall back to "seen recently"
        pass
    return time.monotonic() - last_seen < VIEWER_GRACE_S


@st.cache_resource(show_spinner=False)
def book() -> RunBook:
    return RunBook()


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def identity() -> str:
    """This browser's id: the ``aae_browser`` cookie, else a new random id (written into the cookie
    by ``identity_cookie``), so that a reload of the tab still controls its runs."""
    ss = st.session_state
    if _IDENTITY not in ss:
        try:
            cookie = st.context.cookies.get(COOKIE)
        except Exception:  # noqa: BLE001 — no browser (bare mode)
            cookie = None
        cookie = cookie if isinstance(cookie, str) else ""       # AppTest's context has no real cookies
        ss[_IDENTITY] = cookie if _ID_PATTERN.fullmatch(cookie) else secrets.token_hex(16)
        ss[_COOKIE_SET] = ss[_IDENTITY] == cookie
    return ss[_IDENTITY]


def identity_cookie() -> None:
    """Store this browser's id in a cookie once (the id is ours, hex only: nothing a user typed)."""
    ident = identity()
    if st.session_state.get(_COOKIE_SET):
        return
    st.session_state[_COOKIE_SET] = True
    with st.container(key="aae_identity"):
        st.html(f"<script>document.cookie = '{COOKIE}={ident}; path=/; max-age={COOKIE_MAX_AGE_S}; "
                "samesite=strict';</script>", unsafe_allow_javascript=True)


# ------------------------------------------------------------------------------------ slots

@dataclass(frozen=True)
class Slot:
    """Where a page keeps its run: the session key, the URL parameter, the widgets that show the
    run's prior and speed, and how the sidebar names it."""

    name: str
    param: str
    prior_key: str
    speed_key: str
    title: str

    @property
    def session_key(self) -> str:
        return key("aae", "run", self.name)

    @property
    def seen_key(self) -> str:
        return key("aae", "seen", self.name)

    @property
    def frame_key(self) -> str:
        return key("aae", "frame", self.name)


SLOTS: dict[str, Slot] = {}


def register_slot(slot: Slot) -> Slot:
    """Add a page's slot (a new training page: one line)."""
    SLOTS[slot.name] = slot
    return slot


TRAIN = register_slot(Slot("train", "run", key("setup", "prior"), K.SPEED, "Train"))
COMPARE = register_slot(Slot("compare", "compare", K.CMP_PRIOR, K.CMP_SPEED, "Compare"))
# the categorical AAE's pages (ui.categorical_views)
SEMI = register_slot(Slot("semi", "semi", key("setup", "semi", "prior"), key("controls", "semi", "speed"),
                          "Semi-supervised"))
CLUSTERING = register_slot(Slot("clustering", "clustering", key("setup", "clustering", "prior"),
                                key("controls", "clustering", "speed"), "Clustering"))
REDUCTION = register_slot(Slot("reduction", "reduction", key("setup", "reduction", "prior"),
                               key("controls", "reduction", "speed"), "Reduction"))
# the label-conditioned and supervised AAE's pages (ui.label_views)
LABELLED = register_slot(Slot("labelled", "labelled", key("setup", "labelled", "prior"),
                              key("controls", "labelled", "speed"), "Labels in the game"))
STYLE = register_slot(Slot("style", "style", key("setup", "style", "prior"), key("controls", "style", "speed"),
                           "Style and content"))


# ------------------------------------------------------------------------------------ the frame

def needs_frame() -> bool:
    """True when a page runs without the frame: Streamlit's legacy multipage mode (a ``pages/``
    folder beside the entry point) runs ``pages/X.py`` directly when a fresh server's first visitor
    opens ``/X``; ``st.navigation`` switches that mode off, so the first call asks for a rerun."""
    from streamlit.runtime.pages_manager import PagesManager
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


def init_session(on_attach: Callable[[Snapshot], None] | None = None) -> None:
    """Call once per script run, before any page widget: defaults, widget values that survive page
    switches, a control link's token, each slot's run (session state, else the URL), adoption of
    that run's prior and speed, and the run ids written back to the URL.

    ``on_attach(snap)`` runs when the session first shows a Train run it does not control, so that
    its whole setup can be adopted (Reset then repeats it).
    """
    ss = st.session_state
    init_defaults(_defaults())
    # Streamlit drops the state of widgets that a run does not render (another page): re-assigning
    # keeps the choices when the teacher switches pages and back.
    for name in [k for k in ss if isinstance(k, str) and k.startswith(_PERSISTENT)]:
        ss[name] = ss[name]
    me = identity()
    reg = registry()
    book().forget(j.id for j in reg.jobs())
    token = url_value(CONTROL_PARAM)
    for slot in SLOTS.values():
        run_id = ss.get(slot.session_key) or url_value(slot.param)
        job = reg.get(run_id)
        if run_id and job is None:
            flash("warning", texts.RUN_GONE.format(run_id=run_id))
            run_id = None
        if token and run_id and url_value(slot.param) == run_id:
            if book().grant(run_id, me, token):
                flash("success", texts.CONTROL_GRANTED.format(run_id=run_id))
        if run_id != ss.get(slot.session_key):
            ss[slot.session_key] = run_id
            ss.pop(slot.seen_key, None)
        # One snapshot per slot for the whole script run: the sidebar, the buttons and the live
        # view's "has it changed?" check must all describe the same instant.
        ss[slot.frame_key] = job.peek() if job is not None else None
        if job is not None:
            book().touch(job.id, me, _session_id())
            first = slot.seen_key not in ss
            _adopt(slot, ss[slot.frame_key])
            if first and on_attach is not None and slot is TRAIN and not controls(job.id):
                on_attach(ss[slot.frame_key])
        set_url_value(slot.param, run_id)
    if token:
        set_url_value(CONTROL_PARAM, None)        # the address bar never keeps the secret


def _adopt(slot: Slot, snap: Snapshot) -> None:
    """Show the run's own prior and speed in the slot's widgets when they changed elsewhere (another
    tab, or the run was just attached)."""
    ss = st.session_state
    seen = (snap.config.prior.name, snap.speed)
    if ss.get(slot.seen_key) != seen:
        ss[slot.prior_key] = snap.config.prior.name
        ss[slot.speed_key] = speed_label(snap.speed)
        ss[slot.seen_key] = seen


# ------------------------------------------------------------------------------------ a slot's run

def current_job(slot: Slot = TRAIN) -> TrainingJob | None:
    """The run this session shows in ``slot``, or None (no run yet, or it is gone)."""
    return registry().get(st.session_state.get(slot.session_key))


def current_run_id(slot: Slot = TRAIN) -> str | None:
    return st.session_state.get(slot.session_key)


def run_snapshot(job: TrainingJob) -> Snapshot:
    """``job``'s snapshot as this script run first saw it (``init_session``), so that everything
    drawn in one run agrees; a fresh one for any other job."""
    for slot in SLOTS.values():
        snap = st.session_state.get(slot.frame_key)
        if snap is not None and snap.job_id == job.id:
            return snap
    return job.peek()


def create_run(slot: Slot, config: RunConfig, *, paused: bool = False, **kwargs: Any) -> TrainingJob | None:
    """Start a new run owned by this browser and show it in ``slot`` (``kwargs``: ``model``,
    ``models``, ``kinds``, ``start_step``). A server that already holds as many runs as it keeps in
    memory, none of them paused, starts nothing: the session is told why, and gets None."""
    reg = registry()
    try:
        job = reg.create(config, options=replace(reg.options, start_paused=paused), **kwargs)
    except RegistryFull as e:
        flash("warning", texts.RUN_NOT_STARTED.format(error=texts.say(e)))
        return None
    book().add(job.id, slot.name, identity())
    attach(slot, job.id)
    st.session_state[slot.seen_key] = (config.prior.name, None)
    return job


def attach(slot: Slot, run_id: str) -> None:
    """Show run ``run_id`` in ``slot`` (re-attaching a run this browser started, say)."""
    st.session_state[slot.session_key] = run_id
    st.session_state.pop(slot.seen_key, None)
    set_url_value(slot.param, run_id)
    book().touch(run_id, identity(), _session_id())


def controls(run_id: str) -> bool:
    """Whether this browser may control the run (it started it, or opened its control link)."""
    return book().controls(run_id, identity())


def control_link(run_id: str, slot: Slot) -> str | None:
    """The link that hands control of the run to whoever opens it (None for a watcher)."""
    secret = book().secret(run_id, identity())
    return None if secret is None else f"{_base_url()}?{slot.param}={run_id}&{CONTROL_PARAM}={secret}"


def watch_link(run_id: str, slot: Slot) -> str:
    return f"{_base_url()}?{slot.param}={run_id}"


def _base_url() -> str:
    try:
        return (st.context.url or "").split("?")[0]
    except Exception:  # noqa: BLE001 — no browser context (tests, bare mode)
        return ""


def other_viewers(run_id: str) -> int:
    """How many other open tabs (sessions) show this run right now."""
    return book().others(run_id, identity(), _session_id())


def started_here(slot: Slot) -> list[TrainingJob]:
    """Runs this browser started in ``slot`` that the server still has, newest first, except the
    one shown (to re-attach after the URL was lost)."""
    reg = registry()
    shown = current_run_id(slot)
    jobs = [reg.get(rid) for rid in book().started_by(identity(), slot.name) if rid != shown]
    return sorted((j for j in jobs if j is not None), key=lambda j: j.created, reverse=True)


# ------------------------------------------------------------------------------------ messages, saves

def flash(kind: str, text: str) -> None:
    """Queue a message (``kind``: success / info / warning / error) for this session's next render;
    no other session ever sees it."""
    st.session_state.setdefault(_FLASH, []).append((kind, text))


def pop_flashes() -> list[tuple[str, str]]:
    return st.session_state.pop(_FLASH, [])


def save_request() -> tuple[str, str, bool]:
    """(folder, name, replace) as typed into the Save menu (raw: ``ui.controls`` checks them)."""
    ss = st.session_state
    return str(ss.get(K.SAVE_DIR) or ""), str(ss.get(K.SAVE_NAME) or ""), bool(ss.get(K.SAVE_REPLACE))


def set_last_saved(path: str | None) -> None:
    st.session_state[_SAVED] = path


def last_saved() -> str | None:
    return st.session_state.get(_SAVED)


# ------------------------------------------------------------------------------------ the Explorer

def explorer_probe() -> tuple[float, float]:
    """Where Python last placed the Explorer's probe (the pad's ``z`` argument)."""
    return tuple(st.session_state.get(_PROBE, (0.0, 0.0)))


def set_explorer_probe(z: tuple[float, float]) -> None:
    st.session_state[_PROBE] = (float(z[0]), float(z[1]))
