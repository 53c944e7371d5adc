"""The setup of a run as one table: every field once, with its key, default, limits, widget and help.

``FIELDS`` is the only place a setup field is named. From it come

* the widgets (``prior_select``, ``dataset_select``, ``preset_select``, ``start_from_select``,
  ``advanced_settings``), keyed ``setup_<name>``;
* the setup object, a validated ``RunConfig`` (``run_config``);
* continuing from a checkpoint (``adopt``: every ``TrainConfig`` field of the checkpoint goes into
  the widgets, so nothing is dropped on the way to the new run);
* URL state (``read_url`` / ``write_url``: the fields that differ from their defaults, so a link
  carries the whole configuration).

Defaults are ``TrainConfig()``'s, limits are ``aae.config.TRAIN_LIMITS``: the widgets can never
offer a value the configuration refuses, and a new ``TrainConfig`` field needs one row here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Callable

import streamlit as st

from aae import checkpoints as ckpt
from aae.config import TRAIN_LIMITS, ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import DATASETS, DatasetUnavailable, download_dataset, is_available
from aae.models import PRESET_HIDDEN
from aae.priors import PRIORS
from ui import charts, state, texts

CHECKPOINT_LIST_TTL_S = 5.0
CHECKPOINT_GROUPS = {"shipped": "", "extra": "", "saved": "saved:", "autosave": "autosave:"}


@dataclass(frozen=True)
class Field:
    """One setup field. ``name`` is its ``TrainConfig`` field, or one of ``prior``, ``dataset``,
    ``preset``, ``start_from`` (the choices drawn by their own widget functions)."""

    name: str
    help_text: str               # the name of its help text in ``ui.texts`` ("" for hidden rows)
    kind: str = "float"          # float | int | choice
    step: float | int = 1
    fmt: str | None = None
    auto: bool = False           # may be empty (None): the prior's recipe decides
    url: bool = True             # part of a share link's configuration
    advanced: bool = True        # drawn by ``advanced_settings`` (else by the pages that use it, ``number``)

    @property
    def key(self) -> str:
        return state.key("setup", self.name)

    @property
    def label(self) -> str:
        """The widget's label in the session's language (``texts.FIELD_LABELS``)."""
        return texts.FIELD_LABELS.get(self.name, self.name)

    @property
    def help(self) -> str:
        return texts.text(self.help_text) if self.help_text else ""

    @property
    def default(self) -> Any:
        return _DEFAULTS[self.name]

    def bounds(self) -> tuple[float | None, float | None]:
        """The widget's min and max, from ``TRAIN_LIMITS``; an open end becomes the nearest value
        the widget's step can reach."""
        lim = TRAIN_LIMITS.get(self.name)
        if lim is None:
            return None, None
        lo = lim.lo + self.step if lim.lo_open else lim.lo
        hi = lim.hi - self.step if lim.hi_open else lim.hi
        if self.kind == "int":
            return int(lo), int(min(hi, 2**31 - 1))        # the browser's widget holds 32-bit integers
        return float(lo), float(hi)

    def parse(self, text: str) -> Any:
        """A value from its URL text (raises ValueError / ConfigError when it is not allowed)."""
        if self.kind == "choice":
            return text
        if self.auto and text == "auto":
            return None
        v = int(text) if self.kind == "int" else float(text)
        lo, hi = self.bounds()
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(texts.URL_OUTSIDE.format(name=self.name, value=text, lo=lo, hi=hi))
        return v


_TRAIN = TrainConfig()
_DEFAULTS: dict[str, Any] = {"prior": PriorConfig().name, "dataset": DataConfig().name, "preset": ModelConfig().preset,
                             "start_from": "", **{f.name: getattr(_TRAIN, f.name) for f in fields(TrainConfig)}}

FIELDS: tuple[Field, ...] = (
    Field("prior", "HELP_PRIOR", kind="choice"),
    Field("dataset", "HELP_DATASET", kind="choice"),
    Field("preset", "HELP_PRESET", kind="choice"),
    Field("start_from", "HELP_START_FROM", kind="choice", url=False),
    Field("lr_recon", "HELP_LR_RECON", step=1e-5, fmt="%.1e", auto=True),
    Field("lr_disc", "HELP_LR_DISC", step=1e-5, fmt="%.1e", auto=True),
    Field("lr_gen", "HELP_LR_GEN", step=1e-5, fmt="%.1e", auto=True),
    Field("batch_size", "HELP_BATCH", kind="int", step=10),
    Field("beta1", "HELP_BETA1", step=0.05, fmt="%.2f", auto=True),
    Field("d_penalty", "HELP_PENALTY", step=0.5, fmt="%.1f", auto=True),
    Field("d_input_noise", "HELP_NOISE", step=0.05, fmt="%.2f", auto=True),
    Field("disc_steps", "HELP_DISC_STEPS", kind="int"),
    Field("weight_decay", "HELP_WEIGHT_DECAY", step=1e-4, fmt="%.1e"),
    Field("encoder_weight_decay", "HELP_ENCODER_WEIGHT_DECAY", step=1e-2, fmt="%.2f"),
    Field("input_dropout", "HELP_INPUT_DROPOUT", step=0.05, fmt="%.2f", auto=True),
    Field("seed", "HELP_SEED", kind="int"),
    # Only label-using kinds read it (the semi-supervised page draws it); kept here so that
    # continuing from a checkpoint and share links carry it like every other setting.
    Field("label_fraction", "HELP_LABEL_FRACTION", step=0.01, fmt="%.2f", advanced=False),
    Field("eta", "HELP_ETA", step=0.1, fmt="%.2f", advanced=False),
)
BY_NAME = {f.name: f for f in FIELDS}
# Every TrainConfig field but the device (the server decides it) needs a row, or it would be dropped
# on the way from a checkpoint to the next run: a field without one gets a plain hidden row here, and
# tests/test_app_train.py fails until it has its own.
MISSING = [f for f in fields(TrainConfig) if f.name not in BY_NAME and f.name != "device"]
FIELDS += tuple(Field(f.name, "", kind="int" if f.type in (int, "int") else "float", step=0.01,
                      advanced=False) for f in MISSING)
BY_NAME = {f.name: f for f in FIELDS}
TRAIN_FIELDS = tuple(f for f in FIELDS if f.name in {x.name for x in fields(TrainConfig)})


def key(name: str) -> str:
    """The widget key of setup field ``name``."""
    return BY_NAME[name].key


def get(name: str) -> Any:
    return state.value(key(name), BY_NAME[name].default)


# ------------------------------------------------------------------------------------ the frame

def init() -> None:
    """Defaults once per session, and a share link's settings on its first load (frame, every run)."""
    state.init_defaults({f.key: f.default for f in FIELDS})
    if state.first_url_read():
        read_url()


def read_url() -> None:
    """Settings from the URL (``?prior=mog10&batch_size=50``); a bad value is reported, not applied."""
    for f in FIELDS:
        text = state.url_value(f.name)
        if not f.url or text is None:
            continue
        try:
            v = f.parse(text)
            if f.kind == "choice" and v not in _choices(f.name):
                raise ValueError(texts.URL_NOT_A_CHOICE.format(name=f.name, value=text))
        except (ValueError, ConfigError) as e:
            state.flash("warning", texts.URL_SETTING_IGNORED.format(error=e))
            continue
        state.assign(f.key, v)


def write_url() -> None:
    """The fields that differ from their defaults into the URL, the others out of it."""
    for f in FIELDS:
        if not f.url:
            continue
        v = get(f.name)
        state.set_url_value(f.name, None if v == f.default else ("auto" if v is None else str(v)))


def _choices(name: str) -> list[str]:
    return {"prior": list(PRIORS), "dataset": list(DATASETS), "preset": list(PRESET_HIDDEN)}[name]


def adopt(snap_or_config) -> None:
    """Put a run's (or a checkpoint's) whole setup into the widgets, so Reset repeats it."""
    cfg: RunConfig = getattr(snap_or_config, "config", snap_or_config)
    state.assign(key("prior"), cfg.prior.name)
    state.assign(key("dataset"), cfg.data.name)
    state.assign(key("preset"), cfg.model.preset)
    for f in TRAIN_FIELDS:
        state.assign(f.key, getattr(cfg.train, f.name))


# ------------------------------------------------------------------------------------ the setup object

def train_config() -> TrainConfig:
    """Every ``TrainConfig`` field from its widget (raises ``ConfigError`` for a bad value)."""
    values = {}
    for f in TRAIN_FIELDS:
        v = get(f.name)
        if v is not None:
            v = int(v) if f.kind == "int" else float(v)
        values[f.name] = v
    return TrainConfig(**values)


def run_config(*, kind: str = "aae", prior: str | None = None) -> RunConfig:
    """The run the setup widgets describe: a 2-D model of ``kind`` with the chosen (or given) prior."""
    return RunConfig(data=DataConfig(name=get("dataset")), prior=PriorConfig(name=prior or get("prior")),
                     model=ModelConfig(kind=kind, preset=get("preset"), latent_dim=state.LATENT_DIM),
                     train=train_config())


def new_run_config(kind: str = "aae", *, prior: str | None = None) -> tuple[RunConfig, dict[str, Any]]:
    """(config, job kwargs) of the next run: from scratch, or continuing the chosen checkpoint (its
    dataset and network, this setup's prior and every training setting). Raises ``ConfigError``,
    ``CheckpointError`` or ``DatasetUnavailable`` with a message for the page."""
    config = run_config(kind=kind, prior=prior)
    kwargs: dict[str, Any] = {}
    start = get("start_from")
    if start:
        loaded = ckpt.load_checkpoint(start)
        m = loaded.config.model
        if m.kind != kind or m.latent_dim != state.LATENT_DIM:
            raise ConfigError(texts.START_FROM_WRONG_MODEL.format(kind=kind.upper(), dim=m.latent_dim,
                                                                  its_kind=m.kind.upper()))
        config = loaded.config.replace(prior=config.prior, train=config.train)
        kwargs = {"model": loaded.model, "start_step": loaded.step}
    if not is_available(config.data.name):
        raise DatasetUnavailable(texts.DATASET_NOT_HERE.format(dataset=DATASETS[config.data.name].display_name))
    return config, kwargs


# ------------------------------------------------------------------------------------ widgets

def prior_select(name_key: str | None = None, *, label: str | None = None, on_change: Callable | None = None,
                 args: tuple = (), preview: bool = True, disabled: bool = False, help: str | None = None,
                 names: tuple[str, ...] | None = None) -> str:
    """Dropdown of every prior in the registry (or of ``names``), with a small picture of the chosen p(z)."""
    k = name_key or key("prior")
    names = list(names or PRIORS)
    state.ensure_choice(k, names)
    name = st.selectbox(label or BY_NAME["prior"].label, names, key=k, format_func=lambda n: texts.PRIOR_NAMES.get(n, PRIORS[n].display_name),
                        help=help or BY_NAME["prior"].help, on_change=on_change, args=args, disabled=disabled)
    if preview:
        pic, words = st.columns([1, 1.7], vertical_alignment="center")
        pic.image(charts.prior_preview_png(name), width=80)
        words.caption(texts.PRIOR_DESCRIPTIONS.get(name, PRIORS[name].description))
    return name


@st.cache_data(show_spinner=False, max_entries=16)
def _shipped_fit(prior: str, mtime: float) -> tuple[float, int] | None:
    """(referee, steps) that the shipped plain AAE of ``prior`` recorded at its save: its held-out
    codes against as many prior samples, the live page's measure. ``mtime`` renews the cache when
    the file is replaced."""
    del mtime
    try:
        meta = ckpt.read_metadata(state.SHIPPED_CHECKPOINTS / f"aae-{prior}.json")
        return float(meta["metrics"]["referee"]), int(meta["step"])
    except (ckpt.CheckpointError, KeyError, TypeError, ValueError):
        return None


def hard_prior_note(prior: str) -> None:
    """Under the Train page's prior menu: say so when the shipped AAE of this prior does not reach a
    good fit (the referee above ``texts.REFEREE_GOOD``), and where labels make it fit."""
    path = state.SHIPPED_CHECKPOINTS / f"aae-{prior}.json"
    try:
        fit = _shipped_fit(prior, path.stat().st_mtime)
    except OSError:
        return
    if fit is None or fit[0] <= texts.REFEREE_GOOD:
        return
    st.caption(texts.PRIOR_HARD_NOTE.format(steps=f"{fit[1]:,}", pct=f"{fit[0]:.0%}", good=f"{texts.REFEREE_GOOD:.0%}",
                                            labels_page=texts.NAV_TITLES["labelled"]))


def dataset_select(*, disabled: bool = False) -> tuple[str, bool]:
    """Dataset dropdown; a dataset that is not on this machine gets a download button with a
    progress bar (offline, the download fails with the message of ``DatasetUnavailable``).
    Returns (name, available)."""
    f = BY_NAME["dataset"]
    names = list(DATASETS)
    state.ensure_choice(f.key, names)
    name = st.selectbox(f.label, names, key=f.key, format_func=lambda n: DATASETS[n].display_name, help=f.help,
                        disabled=disabled)
    if disabled:
        st.caption(texts.FROM_CHECKPOINT)
        return name, True
    if is_available(name):
        st.caption(texts.DATASET_HERE)
        return name, True
    st.caption(texts.DATASET_MISSING.format(description=DATASETS[name].description))
    if st.button(texts.DATASET_DOWNLOAD.format(name=DATASETS[name].display_name), icon=":material/download:", key=f"download_{name}",
                 help=texts.HELP_DOWNLOAD):
        return name, _download(name)
    return name, False


def _download(name: str) -> bool:
    bar = st.progress(0.0, text=texts.DATASET_DOWNLOADING.format(name=DATASETS[name].display_name))
    try:
        download_dataset(name, progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0),
                                                                             text=message))
    except DatasetUnavailable as e:
        bar.empty()
        st.error(texts.say(e))
        return False
    bar.empty()
    st.success(texts.DATASET_READY.format(name=DATASETS[name].display_name))
    return is_available(name)


def preset_select(*, disabled: bool = False) -> str:
    f = BY_NAME["preset"]
    presets = list(PRESET_HIDDEN)
    state.ensure_choice(f.key, presets)

    def label(p: str) -> str:
        return f"{p} · 784-{'-'.join(str(h) for h in PRESET_HIDDEN[p])}-z"

    v = st.selectbox(f.label, presets, key=f.key, format_func=label, help=f.help, disabled=disabled)
    st.caption(texts.FROM_CHECKPOINT if disabled else (texts.PRESET_SMALL if v == "small" else texts.PRESET_PAPER))
    return v


@st.cache_data(ttl=CHECKPOINT_LIST_TTL_S, show_spinner=False)
def checkpoint_options(dirs: tuple[tuple[str, str], ...], kind: str | None, latent_dim: int) -> list[tuple[str, str]]:
    """(json path, label) of the checkpoints in ``dirs`` of ``kind`` (None = any) and ``latent_dim``;
    newest autosaves first, at most 5. An unreadable file is listed with its reason (choosing it says
    what is wrong; it never breaks the list)."""
    out: list[tuple[str, str]] = []
    unreadable: list[tuple[str, str]] = []         # listed last: never the default choice
    for group, d in dirs:
        listed = ckpt.list_checkpoints(d)
        unreadable += [(str(i.path), f"{i.name} — {i.error}") for i in listed if i.error]
        infos = [i for i in listed if not i.error and (kind is None or i.kind == kind) and i.latent_dim == latent_dim]
        if group == "autosave":
            infos = sorted(infos, key=lambda i: i.created_at, reverse=True)[:5]
        for info in infos:
            prior = PRIORS[info.prior].display_name if info.prior in PRIORS else info.prior
            what = f"{info.kind.upper()}, " if kind is None else ""
            out.append((str(info.path), f"{CHECKPOINT_GROUPS.get(group, '')} {info.name} — {what}{prior}, "
                                        f"{info.dataset}, step {info.step:,}".strip()))
    return out + unreadable


def listed_checkpoints(kind: str | None = "aae") -> list[tuple[str, str]]:
    dirs = tuple((group, str(path)) for group, path in state.checkpoint_dirs())
    return checkpoint_options(dirs, kind, state.LATENT_DIM)


def _adopt_checkpoint() -> None:
    """Choosing a checkpoint under *Start from* fills every setting with the checkpoint's own."""
    path = get("start_from")
    if not path:
        return
    try:
        adopt(RunConfig.from_dict(ckpt.read_metadata(path)["config"]))
    except (ckpt.CheckpointError, ConfigError, KeyError, TypeError) as e:
        state.flash("error", texts.CHECKPOINT_UNREADABLE.format(error=e))


def start_from_select(*, kind: str = "aae") -> str:
    """Random weights, or a checkpoint (shipped, saved, autosaved) to continue training."""
    f = BY_NAME["start_from"]
    options = listed_checkpoints(kind)
    labels = {"": texts.RANDOM_WEIGHTS, **dict(options)}
    state.ensure_choice(f.key, labels)
    v = st.selectbox(f.label, list(labels), key=f.key, format_func=labels.get, help=f.help,
                     on_change=_adopt_checkpoint)
    if not options:
        st.caption(texts.NO_SAVED_CHECKPOINTS.format(kind=kind.upper(), folder=state.user_checkpoint_dir()))
    elif v:
        st.caption(texts.CONTINUES_CHECKPOINT)
    return v


def number(name: str, where=st) -> None:
    """The number input of setup field ``name`` (limits, step, format and help from the table)."""
    f = BY_NAME[name]
    lo, hi = f.bounds()
    where.number_input(f.label, key=f.key, min_value=lo, max_value=hi, step=f.step, format=f.fmt, help=f.help,
                       placeholder=texts.AUTO_PLACEHOLDER if f.auto else None)


def advanced_settings() -> None:
    """Every training setting of the table, one to a row (they apply to the next run): two to a
    row, half a sidebar is too narrow for "LR reconstruction" and its placeholder."""
    st.caption(texts.SETUP_ADVANCED)
    for f in TRAIN_FIELDS:
        if f.advanced:
            number(f.name)


def run_setup(kind: str = "aae") -> None:
    """What applies to the next run, in an expander: dataset, network, start from, advanced
    settings (the prior, switchable live, is ``prior_select``)."""
    from_checkpoint = bool(get("start_from"))
    data = DATASETS[get("dataset")].display_name if get("dataset") in DATASETS else get("dataset")
    summary = "from a checkpoint" if from_checkpoint else f"{data} · {get('preset')}"
    with st.expander(texts.SETUP_TITLE.format(summary=summary), icon=":material/tune:"):
        st.caption(texts.SETUP_APPLIES)
        dataset_select(disabled=from_checkpoint)
        preset_select(disabled=from_checkpoint)
        start_from_select(kind=kind)
        advanced_settings()
