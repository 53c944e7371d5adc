"""Everything the dashboard remembers between script runs, behind typed accessors.

This is the only module that reads or writes ``st.session_state`` (outside widgets' own ``key=``)
and ``st.query_params``. It also owns the process-wide resources every session shares:

* the ``JobRegistry`` (one per server process, in ``st.cache_resource``): all training runs;
* a book of which browser sessions look at which run (to tell "my run" from "watching");
* the folders the app reads and writes (autosaves, saved checkpoints), all outside the repository.

How a session finds its run: the id lives in ``st.session_state`` and in the URL (``?run=…``).
``init_session`` (called by the frame on every script run) takes the session's id, else the URL's,
checks that the registry still has that run, and writes the id back into the URL — query
parameters do not survive ``st.navigation`` page switches in Streamlit 1.67 (DESIGN.md §4), so a
refresh after switching pages would otherwise lose the run.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import streamlit as st

from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.jobs import JobRegistry, Snapshot, TrainingJob
from ui import texts
from ui.charts import LAYER_PRIOR

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CHECKPOINTS = REPO_ROOT / "checkpoints"
LATENT_DIM = 2                  # the Train page always trains a 2-D code: it is what we can draw
VIEWER_GRACE_S = 10.0           # without Streamlit's session list, a viewer counts as gone after this


class K:
    """Widget keys. Prefixes say which values survive page switches (see ``_PERSISTENT_PREFIXES``)."""

    PRIOR = "setup_prior"
    DATASET = "setup_dataset"
    PRESET = "setup_preset"
    START_FROM = "setup_start_from"     # "" = random weights, else a checkpoint's .json path
    LR_RECON = "setup_lr_recon"
    LR_DISC = "setup_lr_disc"
    LR_GEN = "setup_lr_gen"
    BATCH = "setup_batch_size"
    NOISE = "setup_d_input_noise"
    DISC_STEPS = "setup_disc_steps"
    PENALTY = "setup_d_penalty"
    SEED = "setup_seed"
    SPEED = "controls_speed"            # a label of texts.SPEED_CHOICES
    LAYERS = "view_layers"              # list of layer names shown on the latent plot
    SAVE_DIR = "save_dir"
    SAVE_NAME = "save_name"


# Keys starting with these keep their values across page switches (``init_session``). Both
# separators: the Train page's keys use "_" (a "." is awkward in the CSS class ``st-key-<key>``).
_PERSISTENT_PREFIXES = tuple(f"{group}{sep}" for group in ("setup", "controls", "view", "save") for sep in "_.")

# private session keys
_RUN = "aae.run"            # the run this session shows
_OWNED = "aae.owned"        # runs this session created
_SEEN = "aae.seen"          # (prior, speed) of the run as last adopted into the widgets
_FLASH = "aae.flash"        # messages to show once, [(kind, text)]
_SAVED = "aae.saved"        # .json path of the last checkpoint this session saved
_TOKEN = "aae.token"        # this session's identity in the viewer book
_FRAME_SNAP = "aae.frame_snapshot"   # the run's snapshot as this script run first saw it


def _defaults() -> dict[str, Any]:
    train = TrainConfig()
    return {
        K.PRIOR: "gaussian",
        K.DATASET: DataConfig().name,
        K.PRESET: ModelConfig().preset,
        K.START_FROM: "",
        K.LR_RECON: train.lr_recon,
        K.LR_DISC: train.lr_disc,
        K.LR_GEN: train.lr_gen,
        K.BATCH: train.batch_size,
        K.NOISE: train.d_input_noise,
        K.DISC_STEPS: train.disc_steps,
        K.PENALTY: train.d_penalty,
        K.SEED: train.seed,
        K.SPEED: speed_label(None),
        K.LAYERS: [LAYER_PRIOR],
        K.SAVE_DIR: str(user_checkpoint_dir()),
        K.SAVE_NAME: "",
    }


# ------------------------------------------------------------------------------------ folders

def cache_dir() -> Path:
    """``~/.cache/aae-lab`` (never inside the repository)."""
    return Path.home() / ".cache" / "aae-lab"


def runs_dir() -> Path:
    """Where running jobs autosave: ``$AAE_RUNS_DIR`` or ``~/.cache/aae-lab/runs``."""
    env = os.environ.get("AAE_RUNS_DIR", "").strip()
    return Path(env).expanduser() if env else cache_dir() / "runs"


def user_checkpoint_dir() -> Path:
    """Default folder of "Save checkpoint": ``$AAE_SAVE_DIR`` or ``~/.cache/aae-lab/checkpoints``."""
    env = os.environ.get("AAE_SAVE_DIR", "").strip()
    return Path(env).expanduser() if env else cache_dir() / "checkpoints"


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
    value = os.environ.get(name, "").strip()
    return cast(value) if value else None


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


def _warm_up() -> None:
    """While the teacher picks a prior, do what the first run would otherwise wait for: load the
    default dataset (cached per process) and import scikit-learn (the k-NN metric of the first
    snapshot; ~2 s on a laptop CPU). Measured: Start → first scatter 5.6 s without, see
    benchmarks/ui_live.py."""
    try:
        from aae.data import load_dataset
        load_dataset(DataConfig().name, seed=DataConfig().seed)
        import sklearn.neighbors  # noqa: F401
    except Exception:  # noqa: BLE001 — only a head start: the run reports any real problem itself
        pass


@st.cache_resource(show_spinner=False, on_release=_release_registry)
def registry() -> JobRegistry:
    """The process-wide job registry. ``$AAE_MAX_RUNNING`` overrides how many runs train at once
    (default: one per GPU, or cores − 1 on a CPU); ``$AAE_IDLE_PAUSE`` the seconds after which a run
    nobody looks at is paused."""
    _leave_a_core_for_the_ui()
    threading.Thread(target=_warm_up, name="aae-warm-up", daemon=True).start()
    kwargs: dict[str, Any] = {"autosave_dir": runs_dir()}
    if (cap := _env_number("AAE_MAX_RUNNING")) is not None:
        kwargs["max_running"] = cap
    if (idle := _env_number("AAE_IDLE_PAUSE", float)) is not None:
        kwargs["idle_pause"] = idle
    return JobRegistry(**kwargs)


class _ViewerBook:
    """Which browser sessions show which run (thread-safe). A viewer is this session's token (in
    session state) with Streamlit's session id, which says whether its tab is still connected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, tuple[str, float]]] = {}    # run -> {token: (session id, last seen)}

    def touch(self, run_id: str, token: str, session_id: str) -> None:
        with self._lock:
            for rid, viewers in list(self._runs.items()):
                if rid != run_id:
                    viewers.pop(token, None)
                    if not viewers:
                        del self._runs[rid]
            self._runs.setdefault(run_id, {})[token] = (session_id, time.monotonic())

    def others(self, run_id: str, token: str) -> int:
        """How many other live sessions show ``run_id``."""
        with self._lock:
            viewers = self._runs.get(run_id, {})
            for t in [t for t, (sid, seen) in viewers.items() if t != token and not _alive(sid, seen)]:
                del viewers[t]
            return sum(1 for t in viewers if t != token)


def _alive(session_id: str, last_seen: float) -> bool:
    try:
        from streamlit.runtime import Runtime
        if Runtime.exists():
            return bool(Runtime.instance().is_active_session(session_id))
    except Exception:  # noqa: BLE001 — an internal API: fall back to "seen recently"
        pass
    return time.monotonic() - last_seen < VIEWER_GRACE_S


@st.cache_resource(show_spinner=False)
def _viewers() -> _ViewerBook:
    return _ViewerBook()


def _touch(run_id: str) -> None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    _viewers().touch(run_id, _token(), ctx.session_id if ctx is not None else "")


def _token() -> str:
    return st.session_state.setdefault(_TOKEN, secrets.token_hex(8))


# ------------------------------------------------------------------------------------ the frame

def init_session() -> None:
    """Call once per script run, before any page widget: defaults, widget values that survive page
    switches, the session's run (session state, else ``?run=``), adoption of that run's settings,
    and the run id written back to the URL."""
    ss = st.session_state
    for key, value in _defaults().items():
        if key not in ss:
            ss[key] = value
    # Streamlit drops the state of widgets that a run does not render (another page): re-assigning
    # keeps the choices when the teacher switches pages and back.
    for key in [k for k in ss if isinstance(k, str) and k.startswith(_PERSISTENT_PREFIXES)]:
        ss[key] = ss[key]
    ss.setdefault(_OWNED, set())

    run_id = ss.get(_RUN) or _url_run()
    job = registry().get(run_id)
    if run_id and job is None:
        flash("warning", texts.RUN_GONE.format(run_id=run_id))
        run_id = None
    if run_id != ss.get(_RUN):
        ss[_RUN] = run_id
        ss.pop(_SEEN, None)
    # One snapshot for the whole script run: the sidebar, the buttons and the live view's "has it
    # changed?" check must all describe the same instant, or a status change between two reads
    # would leave the page showing both.
    ss[_FRAME_SNAP] = job.peek() if job is not None else None
    if job is not None:
        _touch(job.id)
        _adopt(ss[_FRAME_SNAP], everything=job.id not in ss[_OWNED] and _SEEN not in ss)
    if _url_run() != run_id:
        if run_id:
            st.query_params["run"] = run_id
        elif "run" in st.query_params:
            del st.query_params["run"]
    _sync_compare_run()


def _url_run() -> str | None:
    value = st.query_params.get("run")
    return value or None


def _adopt(snap: Snapshot, *, everything: bool) -> None:
    """Show the run's own prior and speed in the widgets when they changed elsewhere (another tab,
    or the run was just attached); with ``everything``, its whole setup, so Reset repeats it."""
    ss = st.session_state
    seen = (snap.config.prior.name, snap.speed)
    if ss.get(_SEEN) != seen:
        ss[K.PRIOR] = snap.config.prior.name
        ss[K.SPEED] = speed_label(snap.speed)
        ss[_SEEN] = seen
    if everything:
        cfg = snap.config
        ss[K.DATASET], ss[K.PRESET] = cfg.data.name, cfg.model.preset
        ss[K.LR_RECON], ss[K.LR_DISC], ss[K.LR_GEN] = cfg.train.lr_recon, cfg.train.lr_disc, cfg.train.lr_gen
        ss[K.BATCH], ss[K.NOISE], ss[K.SEED] = cfg.train.batch_size, cfg.train.d_input_noise, cfg.train.seed
        ss[K.DISC_STEPS], ss[K.PENALTY] = cfg.train.disc_steps, cfg.train.d_penalty


# ------------------------------------------------------------------------------------ the session's run

def current_run_id() -> str | None:
    return st.session_state.get(_RUN)


def current_job() -> TrainingJob | None:
    """The run this session shows, or None (no run yet, or it is gone from the registry)."""
    return registry().get(current_run_id())


def run_snapshot(job: TrainingJob) -> Snapshot:
    """``job``'s snapshot as this script run first saw it (``init_session``), so that everything
    drawn in one run agrees; a fresh one for any other job."""
    snap = st.session_state.get(_FRAME_SNAP)
    return snap if snap is not None and snap.job_id == job.id else job.peek()


def create_run(config: RunConfig, *, paused: bool = False, **kwargs: Any) -> TrainingJob:
    """Start a new run owned by this session and show it (``kwargs``: ``model``, ``start_step``)."""
    reg = registry()
    options = replace(reg.options, start_paused=paused)
    job = reg.create(config, options=options, **kwargs)
    ss = st.session_state
    ss.setdefault(_OWNED, set()).add(job.id)
    ss[_RUN] = job.id
    ss[_SEEN] = (config.prior.name, None)
    _touch(job.id)
    return job


def is_owner(run_id: str) -> bool:
    return run_id in st.session_state.get(_OWNED, set())


def other_viewers(run_id: str) -> int:
    """How many other open tabs (sessions) show this run right now."""
    return _viewers().others(run_id, _token())


def is_watching(run_id: str) -> bool:
    """True when this session did not start the run and another open tab shows it."""
    return not is_owner(run_id) and other_viewers(run_id) > 0


# ------------------------------------------------------------------------------------ setup values

@dataclass(frozen=True)
class Setup:
    """The Train page's setup widgets, read as one typed value."""

    prior: str
    dataset: str
    preset: str
    start_from: str
    lr_recon: float
    lr_disc: float | None   # None: the prior's tuned value
    lr_gen: float | None
    batch_size: int
    d_input_noise: float
    disc_steps: int
    d_penalty: float | None  # None: the prior's recipe
    seed: int
    speed: float | None

    def run_config(self) -> RunConfig:
        """The run these settings describe (raises ``ConfigError`` for an invalid value)."""
        return RunConfig(
            data=DataConfig(name=self.dataset),
            prior=PriorConfig(name=self.prior),
            model=ModelConfig(kind="aae", preset=self.preset, latent_dim=LATENT_DIM),
            train=TrainConfig(batch_size=int(self.batch_size), lr_recon=float(self.lr_recon),
                              lr_disc=None if self.lr_disc is None else float(self.lr_disc),
                              lr_gen=None if self.lr_gen is None else float(self.lr_gen),
                              d_input_noise=float(self.d_input_noise), disc_steps=int(self.disc_steps),
                              d_penalty=None if self.d_penalty is None else float(self.d_penalty),
                              seed=int(self.seed)))


def setup() -> Setup:
    ss = st.session_state
    d = _defaults()
    get = lambda k: ss.get(k, d[k])  # noqa: E731 — callbacks may run before init_session
    return Setup(prior=get(K.PRIOR), dataset=get(K.DATASET), preset=get(K.PRESET), start_from=get(K.START_FROM),
                 lr_recon=get(K.LR_RECON), lr_disc=get(K.LR_DISC), lr_gen=get(K.LR_GEN), batch_size=get(K.BATCH),
                 d_input_noise=get(K.NOISE), disc_steps=get(K.DISC_STEPS), d_penalty=get(K.PENALTY),
                 seed=get(K.SEED), speed=texts.SPEED_CHOICES.get(get(K.SPEED)))


def speed_label(speed: float | None) -> str:
    """The speed-control label closest to ``speed`` steps/s (None = full speed)."""
    if speed is None:
        return next(label for label, v in texts.SPEED_CHOICES.items() if v is None)
    limited = [(label, v) for label, v in texts.SPEED_CHOICES.items() if v is not None]
    return min(limited, key=lambda lv: abs(lv[1] - speed))[0]


def ensure_choice(key: str, options: Iterable[Any]) -> None:
    """Reset a widget's remembered value to its default when it is no longer one of ``options``
    (a checkpoint was deleted, a dataset renamed), so the widget never sees a stale value."""
    options = list(options)
    ss = st.session_state
    if key in ss and ss[key] not in options:
        default = _defaults().get(key)
        ss[key] = default if default in options else options[0]


def layers() -> list[str]:
    return list(st.session_state.get(K.LAYERS) or [])


# ------------------------------------------------------------------------------------ messages, saves

def flash(kind: str, text: str) -> None:
    """Queue a message (``kind``: success / info / warning / error) for the next render."""
    st.session_state.setdefault(_FLASH, []).append((kind, text))


def pop_flashes() -> list[tuple[str, str]]:
    return st.session_state.pop(_FLASH, [])


def save_target() -> tuple[Path, str]:
    """(folder, name) typed into the Save menu; an empty folder is the default one, an empty name ""."""
    ss = st.session_state
    folder = (ss.get(K.SAVE_DIR) or "").strip()
    return Path(folder).expanduser() if folder else user_checkpoint_dir(), (ss.get(K.SAVE_NAME) or "").strip()


def set_last_saved(path: str | None) -> None:
    st.session_state[_SAVED] = path


def last_saved() -> str | None:
    return st.session_state.get(_SAVED)


# ------------------------------------------------------------------------------------ Compare and Explorer pages
# The Compare page trains AE, VAE and AAE in one job of its own, separate from the Train page's run:
# its id lives under its own session key and URL parameter (``?compare=…``), written back on every
# script run like ``?run=`` (query parameters do not survive page switches, DESIGN.md §4). The
# viewer book is left alone: it counts a session on one run, the Train page's.

COMPARE_PARAM = "compare"
_COMPARE_RUN = "aae.compare_run"
_EXPLORER_PROBE = "aae.explorer_probe"     # where the Explorer's pad probe was last sent from Python


def _sync_compare_run() -> None:
    ss = st.session_state
    run_id = ss.get(_COMPARE_RUN) or st.query_params.get(COMPARE_PARAM) or None
    if run_id and registry().get(run_id) is None:
        flash("warning", texts.RUN_GONE.format(run_id=run_id))
        run_id = None
    ss[_COMPARE_RUN] = run_id
    if (st.query_params.get(COMPARE_PARAM) or None) != run_id:
        if run_id:
            st.query_params[COMPARE_PARAM] = run_id
        elif COMPARE_PARAM in st.query_params:
            del st.query_params[COMPARE_PARAM]


def current_compare_job() -> TrainingJob | None:
    """The Compare page's run of this session (AE, VAE and AAE in lockstep), or None."""
    return registry().get(st.session_state.get(_COMPARE_RUN))


def create_compare_run(config: RunConfig, *, paused: bool = False, **kwargs: Any) -> TrainingJob:
    """Start the Compare page's run for this session (``kwargs``: ``kinds``, ``models``, ``start_step``)."""
    reg = registry()
    job = reg.create(config, options=replace(reg.options, start_paused=paused), **kwargs)
    st.session_state.setdefault(_OWNED, set()).add(job.id)
    st.session_state[_COMPARE_RUN] = job.id
    st.query_params[COMPARE_PARAM] = job.id
    return job


def explorer_probe() -> tuple[float, float]:
    """Where Python last placed the Explorer's probe (the pad's ``z`` argument)."""
    return tuple(st.session_state.get(_EXPLORER_PROBE, (0.0, 0.0)))


def set_explorer_probe(z: tuple[float, float]) -> None:
    st.session_state[_EXPLORER_PROBE] = (float(z[0]), float(z[1]))


def init_page_defaults(defaults: dict[str, Any]) -> None:
    """Default values of a page's own widget keys, set once per session (widgets with persistent
    prefixes must not also get a ``value=``: ``init_session`` re-assigns them through Session State)."""
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value
