"""Checkpoints: ``NAME.safetensors`` (tensors only) + ``NAME.json`` (everything else).

The JSON holds the format version, the model kind, the full ``RunConfig`` (so loading never
guesses the architecture), the step, metrics, creation time, package versions and the SHA-256 of
the weights file it belongs to.

**The pair commits as one unit.** Both files are written in full to temporary names first (fsynced),
then renamed weights-first, JSON-last, under a lock on the folder. The JSON is the commit record:
loading checks that the weights' hash is the one it names, so a JSON never vouches for another
save's weights. A crash between the two renames leaves complete new weights, the old JSON and the
new JSON still under its temporary name; readers then take the temporary JSON whose hash matches
(read-only), and the next save or :func:`remove_stale_temporaries` renames it into place. Temporary
files of dead processes are removed.

**Loading never unpickles and reads nothing it has not checked.** Files are opened without
following symbolic links and without blocking (a FIFO is refused, never waited on), must be regular
files, and are size-capped. The safetensors header (8-byte length + JSON) is parsed here with a
size cap, and every tensor's name, dtype and shape is checked against the architecture in the JSON
before a single tensor byte is read. Every metadata field has a strict type and bounds. Error
messages name the file and what is wrong, never the file's content.

**Where saves may go** (:func:`resolve_save_path`, for folders typed by someone other than the
person running the process, i.e. the dashboard): only under the save folder, ``$AAE_SAVE_DIR``
(default ``~/.cache/aae-lab/checkpoints``), unless ``AAE_ALLOW_ANY_SAVE_DIR=1`` is set by a single
user on their own machine. Every writer (:func:`save_checkpoint`) refuses unsafe names, never
replaces an existing checkpoint without ``overwrite=True``, and never writes the shipped
``checkpoints/`` folder unless ``allow_shipped=True`` (only ``python -m aae pretrain --shipped``).
Settings read from a checkpoint never choose where anything is written: ``config.data.root`` is
neither saved nor loaded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import numbers
import os
import platform
import re
import secrets
import socket
import stat
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors.torch import save as st_save

from . import __version__
from .config import ConfigError, RunConfig
from .models import N_PIXELS, Autoencoder
from .train import seeded_model

FORMAT_VERSION = 2                  # 2: the JSON records the weights' SHA-256
READABLE_VERSIONS = (1, 2)          # 1 (before the hash) still loads, without the pair check
MAX_JSON_BYTES = 2_000_000          # metadata is small; anything bigger is not ours
MAX_TENSOR_BYTES = 512 * 2**20      # the paper preset in float32 is ~30 MB
MAX_HEADER_BYTES = 1_000_000        # a safetensors header of ours is ~2 KB
MAX_TENSORS = 1_000
MAX_NAME_CHARS = 100                # checkpoint names; 200 UTF-8 bytes leave room for suffixes on ext4
MAX_NAME_BYTES = 200
MAX_PATH_CHARS = 1_024
MAX_STEP = 2**53                    # steps are exact integers in every JSON reader below this
MAX_JSON_DEPTH = 16                 # our metadata is 3 levels deep
STALE_TMP_AGE_S = 3_600.0           # a temporary file this old is stale even if its writer seems alive
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"

_NAME_PUNCTUATION = frozenset(" ._-+()=,@")
_CREATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# .TARGET.HOST-PID-RANDOM.tmp (HOST: a hash of the host name, so another machine's writer sharing the
# folder is never judged dead by a PID of this one); .TARGET.RANDOM.tmp is the format before version 2.
_TMP = re.compile(r"\.(?P<target>.+\.(?:json|safetensors))\.(?:(?P<host>[0-9a-f]{6})-(?P<pid>\d{1,10})-)?"
                  r"[0-9a-f]{12}\.tmp")
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2), "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}
# How the weights are stored (the JSON's ``dtype``). "int8": the big weight matrices (2-D tensors of
# at least INT8_MIN_ENTRIES, one row per output unit) as int8 values with one float16 scale per row,
# symmetric,
#     q[r, c] = round(W[r, c] / s[r]) in [-127, 127],   s[r] = max_c |W[r, c]| / 127,
# stored as the tensor NAME (I8) and NAME + ROW_SCALE_SUFFIX (F16, one per row); dequantised (q · s)
# on load. Everything else stays float16: biases, small matrices, and the encoder's layers after the
# one that reads the image, which set the codes directly (benchmarks/checkpoint_storage.py: rounding
# them moved the mixture AAE's codes by 0.03 on average and its referee from 0.630 to 0.654; rounding
# only the matrices kept here as int8 leaves the referee, the reconstruction error and the 5-NN
# accuracy of every shipped model within their noise). About half the size of float16.
STORAGE_DTYPES = ("float32", "float16", "int8")
_STORED_DTYPE = {"float32": "F32", "float16": "F16", "int8": "F16"}   # the code of a tensor kept as is
ROW_SCALE_SUFFIX = ".row_scale"
INT8_MAX = 127
INT8_MIN_ENTRIES = 4096
_META_FIELDS = {"format_version", "model_kind", "config", "step", "metrics", "dtype", "created_at",
                "versions", "description", "extra", "weights_sha256"}
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))

_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()
_in_flight: set[str] = set()        # this process's temporary files still being written or committed


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged, of another format, does not fit its architecture, or may
    not be written where asked. The message is plain words, one line, without file content."""


@dataclass(frozen=True)
class CheckpointInfo:
    """One entry of :func:`list_checkpoints`. ``error`` is None for a usable checkpoint, else the
    reason it is unreadable (then only ``name`` and ``path`` mean anything)."""

    name: str
    path: Path                 # the .json file
    kind: str = ""
    prior: str = ""
    dataset: str = ""
    preset: str = ""
    latent_dim: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: str = ""
    description: str = ""
    error: str | None = None

    @property
    def readable(self) -> bool:
        return self.error is None


@dataclass
class LoadedCheckpoint:
    model: Autoencoder
    config: RunConfig
    step: int
    metrics: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ folders

def save_root() -> Path:
    """The app's save folder: ``$AAE_SAVE_DIR`` or ``~/.cache/aae-lab/checkpoints`` (created on save)."""
    env = os.environ.get("AAE_SAVE_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "aae-lab" / "checkpoints"


def any_save_dir_allowed() -> bool:
    """``AAE_ALLOW_ANY_SAVE_DIR=1``: a single user on their own machine may save in any folder."""
    return os.environ.get("AAE_ALLOW_ANY_SAVE_DIR", "").strip() == "1"


def check_name(name: str) -> str:
    """``name`` if it is a safe checkpoint name, else ``CheckpointError`` saying why.

    Allowed: 1–100 letters, digits, spaces and ``. _ - + ( ) = , @``; not starting with a dot, a
    dash or a space (hidden, option-like or temporary files), not ending in a space or a dot.
    """
    if not isinstance(name, str) or name == "":
        raise CheckpointError("a checkpoint needs a name")
    if "\x00" in name:
        raise CheckpointError("a checkpoint name may not contain a NUL character")
    if any(sep and sep in name for sep in ("/", "\\", os.sep, os.altsep)):
        raise CheckpointError("a checkpoint name may not contain a folder separator (/ or \\)")
    if name in (".", ".."):
        raise CheckpointError("'.' and '..' are not checkpoint names")
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8", "replace")) > MAX_NAME_BYTES:
        raise CheckpointError(f"a checkpoint name may have at most {MAX_NAME_CHARS} characters; "
                              f"this one has {len(name)}")
    bad = [c for c in name if not (unicodedata.category(c)[0] in "LN" or c in _NAME_PUNCTUATION)]
    if bad:
        raise CheckpointError(f"a checkpoint name may only use letters, digits, spaces and . _ - + ( ) = , @ "
                              f"(found {_describe_char(bad[0])})")
    if name[0] in ".- " or name[-1] in ". ":
        raise CheckpointError("a checkpoint name may not start with a dot, a dash or a space, nor end in a "
                              "dot or a space")
    return name


def _describe_char(c: str) -> str:
    return repr(c) if c.isprintable() else f"U+{ord(c):04X}"


def _check_path_text(path: str | os.PathLike, what: str) -> str:
    try:
        text = os.fspath(path)
    except TypeError:
        raise CheckpointError(f"{what} must be a path") from None
    if isinstance(text, bytes):
        raise CheckpointError(f"{what} must be a text path")
    if "\x00" in text:
        raise CheckpointError(f"{what} may not contain a NUL character")
    if len(text) > MAX_PATH_CHARS:
        raise CheckpointError(f"{what} is {len(text):,} characters long; at most {MAX_PATH_CHARS:,}")
    return text


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(_check_path_text(path, "a checkpoint path"))
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".safetensors")


def resolve_save_path(folder: str | os.PathLike | None, name: str, *, overwrite: bool = False) -> Path:
    """Where "Save" may write checkpoint ``name`` in ``folder``: the path without extension
    (give it to :func:`save_checkpoint`), or ``CheckpointError`` with a plain message.

    ``folder`` empty or None: the save folder :func:`save_root`; relative: inside it; absolute:
    must lie inside it (after following symbolic links) unless :func:`any_save_dir_allowed`. No
    ``..``, no NUL, never the shipped ``checkpoints/``; an existing checkpoint of that name is only
    replaced with ``overwrite=True``. Creates nothing.
    """
    root = save_root()
    text = "" if folder is None else _check_path_text(folder, "the folder")
    check_name(name)
    if text.strip() == "":
        base = root
    else:
        given = Path(text)
        if ".." in given.parts:
            raise CheckpointError("the folder may not contain '..'")
        if any(len(part.encode("utf-8", "replace")) > 255 for part in given.parts):
            raise CheckpointError("a folder name in that path is longer than 255 bytes")
        if any_save_dir_allowed():
            base = given.expanduser() if given.is_absolute() or text.startswith("~") else root / given
        else:
            base = given if given.is_absolute() else root / given
            if not _inside(base, root):
                raise CheckpointError(f"saves go in the save folder {root} or a folder inside it "
                                      f"(set AAE_ALLOW_ANY_SAVE_DIR=1 to allow any folder)")
    if _inside(base, SHIPPED_DIR):
        raise CheckpointError("the shipped checkpoints are read-only; choose another folder")
    base = Path(os.path.abspath(base))
    _check_folder_usable(base)
    stem = base / name
    if not overwrite and _exists(stem):
        raise CheckpointError(f"a checkpoint named '{name}' already exists there; choose another name "
                              f"or choose to replace it")
    return stem


def _exists(stem: Path) -> bool:
    json_path, st_path = _paths(stem)
    return os.path.lexists(json_path) or os.path.lexists(st_path)


def _check_folder_usable(folder: Path) -> None:
    """The nearest existing ancestor of ``folder`` is a writable folder (creates nothing)."""
    p = folder
    while not os.path.lexists(p):
        if p.parent == p:
            break
        p = p.parent
    if not p.is_dir():
        raise CheckpointError(f"cannot save in {folder}: {p} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise CheckpointError(f"cannot save in {folder}: {p} is not writable")


def prepare_save_target(path: str | os.PathLike, *, overwrite: bool = False, allow_shipped: bool = False) -> Path:
    """Check, before any work, that :func:`save_checkpoint` can write ``path``: safe name, not the
    shipped folder (unless ``allow_shipped``), not an existing checkpoint (unless ``overwrite``),
    and a folder that really takes files (it is created and a probe file written and removed, so a
    read-only or virtual file system such as /proc fails here). Returns the path without extension."""
    json_path, _ = _target(path, allow_shipped)
    stem = json_path.with_suffix("")
    if not overwrite and _exists(stem):
        raise CheckpointError(f"{json_path.with_suffix('').name}: a checkpoint of that name already exists in "
                              f"{json_path.parent}")
    _make_folder(json_path.parent)
    probe = json_path.parent / f".{json_path.name}.{_HOST}-{os.getpid()}-{secrets.token_hex(6)}.tmp"
    try:
        with open(probe, "xb") as f:
            f.write(b"probe")
    except OSError as e:
        raise CheckpointError(f"cannot write in {json_path.parent}: {_reason(e)}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return stem


def _target(path: str | os.PathLike, allow_shipped: bool) -> tuple[Path, Path]:
    text = _check_path_text(path, "the checkpoint path")
    if text.strip() == "":
        raise CheckpointError("the checkpoint path is empty")
    json_path, st_path = _paths(text)
    check_name(json_path.name[: -len(".json")])
    if not allow_shipped and _inside(json_path.parent, SHIPPED_DIR):
        raise CheckpointError("the shipped checkpoints are read-only (python -m aae pretrain --shipped "
                              "regenerates them)")
    return Path(os.path.abspath(json_path)), Path(os.path.abspath(st_path))


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CheckpointError(f"cannot save in {folder}: it is a file, not a folder") from None
    except OSError as e:
        raise CheckpointError(f"cannot create the folder {folder}: {_reason(e)}") from None


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


# ------------------------------------------------------------------------------------ writing

def _versions() -> dict[str, str]:
    import numpy
    import safetensors
    return {"aae": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "safetensors": safetensors.__version__, "python": platform.python_version()}


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{_HOST}-{os.getpid()}-{secrets.token_hex(6)}.tmp")


def _write_tmp(path: Path, data: bytes) -> Path:
    """``data`` in a new temporary file beside ``path`` (fsynced); returns its path."""
    # Not tempfile.mkstemp: its files are mode 0600, so a checkpoint in a shared folder (a class
    # server's autosaves, the shipped checkpoints/) would be unreadable to everyone else;
    # open(..., "xb") honours the umask, as aae.data does for downloads.
    while True:
        tmp = _tmp_name(path)
        _in_flight.add(str(tmp))   # before it exists: another thread's clean-up must never take it for stale
        try:
            f = open(tmp, "xb")
            break
        except FileExistsError:
            _in_flight.discard(str(tmp))
            continue
        except BaseException:
            _in_flight.discard(str(tmp))
            raise
    try:
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _discard(tmp)
        raise
    return tmp


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    _in_flight.discard(str(tmp))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialises commits (and the recovery of interrupted ones) in one folder: a lock per folder in
    this process, and ``flock`` on the folder itself against other processes where there is one."""
    key = os.path.abspath(folder)
    with _local_locks_guard:
        lock = _local_locks.setdefault(key, threading.Lock())
    with lock:
        fd = None
        try:
            import fcntl
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # releases the flock


def _atomic_write(path: Path, data: bytes) -> None:
    """One file, written to a temporary name and renamed over ``path`` (used for single files such
    as the digit classifier's)."""
    path = Path(path)
    _make_folder(path.parent)
    tmp = _write_tmp(path, data)
    try:
        os.replace(tmp, path)
    finally:
        _discard(tmp)


def save_checkpoint(path: str | os.PathLike, model: Autoencoder, config: RunConfig, *, step: int,
                    metrics: dict[str, float] | None = None, half: bool = False, dtype: str | None = None,
                    description: str = "", extra: dict[str, Any] | None = None,
                    overwrite: bool = False, allow_shipped: bool = False) -> Path:
    """Write ``path.safetensors`` + ``path.json`` as one unit; returns the JSON's path.

    ``dtype`` is how the weights are stored (``STORAGE_DTYPES``): "float32" (the default), "float16"
    (half the size; ``half=True`` says the same) or "int8" (a quarter: per-row int8 weight matrices,
    used for the shipped checkpoints).
    An existing checkpoint at ``path`` is replaced only with ``overwrite=True`` (else
    ``CheckpointError``); the shipped folder only with ``allow_shipped=True``. Non-finite metrics are
    left out. Any failure to write is a ``CheckpointError`` and leaves no temporary file behind.
    """
    json_path, st_path = _target(path, allow_shipped)
    if not _is_int(step) or not 0 <= step < MAX_STEP:
        raise CheckpointError(f"step must be an integer in [0, 2**53), got {_short(step)}")
    if not isinstance(description, str) or len(description) > 2_000:
        raise CheckpointError("the description must be text of at most 2,000 characters")
    stored = {k: float(v) for k, v in (metrics or {}).items()   # numbers.Real: NumPy scalars too
              if isinstance(k, str) and isinstance(v, numbers.Real) and not isinstance(v, bool)
              and math.isfinite(float(v))}
    storage = dtype if dtype is not None else "float16" if half else "float32"
    if storage not in STORAGE_DTYPES or (half and storage != "float16"):
        raise CheckpointError(f"dtype must be one of {', '.join(STORAGE_DTYPES)} (half=True means float16), "
                              f"got {_short(dtype) if not isinstance(dtype, str) else repr(dtype[:20])}")
    tensors = encode_weights(model.state_dict(), storage)
    weights = st_save(tensors, metadata={"format_version": str(FORMAT_VERSION), "step": str(step)})
    config = replace(config, data=replace(config.data, root=None))  # a machine's folder is not the model's
    meta = {
        "format_version": FORMAT_VERSION,
        "model_kind": model.kind,
        "config": config.to_dict(),
        "step": step,
        "metrics": stored,
        "dtype": storage,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "description": description,
        "extra": extra or {},
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    try:
        meta_bytes = json.dumps(meta, indent=2, sort_keys=True, allow_nan=False).encode()
        _validate_meta(json.loads(meta_bytes), json_path.name)  # never write what we would refuse to read
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{json_path.name}: cannot be saved: {e}") from None
    del tensors
    folder = json_path.parent
    _make_folder(folder)
    remove_stale_temporaries(folder)
    if not overwrite and _exists(json_path.with_suffix("")):
        raise CheckpointError(f"{json_path.with_suffix('').name}: a checkpoint of that name already exists in "
                              f"{folder}")
    w_tmp = j_tmp = None
    try:
        w_tmp = _write_tmp(st_path, weights)
        j_tmp = _write_tmp(json_path, meta_bytes)
        with _folder_lock(folder):
            if overwrite:
                os.replace(w_tmp, st_path)
                os.replace(j_tmp, json_path)      # the commit
            else:
                _link_new(w_tmp, st_path, None)
                _link_new(j_tmp, json_path, (w_tmp, st_path))
        _fsync_dir(folder)
    except OSError as e:
        raise CheckpointError(f"{json_path.with_suffix('').name}: could not be saved in {folder}: "
                              f"{_reason(e)}") from e
    finally:
        for tmp in (w_tmp, j_tmp):
            if tmp is not None:
                _discard(tmp)
    return json_path


def _link_new(tmp: Path, dest: Path, undo: tuple[Path, Path] | None) -> None:
    """Put ``tmp`` at ``dest`` only if ``dest`` does not exist (a hard link is atomic and never
    replaces, so two saves racing for one new name cannot both win)."""
    try:
        os.link(tmp, dest)
        return
    except FileExistsError:
        if undo is not None:  # our weights went in, but someone else's JSON came first: take them back
            w_tmp, st_path = undo
            with contextlib.suppress(OSError):
                if os.stat(st_path).st_ino == os.stat(w_tmp).st_ino:
                    os.unlink(st_path)
        raise CheckpointError(f"{dest.with_suffix('').name}: a checkpoint of that name already exists in "
                              f"{dest.parent}") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    # A file system without hard links: check, then rename (a race here could replace; rare).
    if os.path.lexists(dest):
        raise CheckpointError(f"{dest.with_suffix('').name}: a checkpoint of that name already exists in "
                              f"{dest.parent}")
    os.replace(tmp, dest)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that interrupted saves left in ``folder`` (first completing any
    commit that was interrupted between its two renames); returns what was removed. Never raises.

    A temporary file is stale when its writer (host + PID in its name) is this process but no longer
    writing it, or another process on this host that is gone, or it is older than an hour.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(".tmp")]
    except OSError:
        return removed
    stale: list[tuple[Path, str]] = []
    now = time.time()
    for entry in entries:
        m = _TMP.fullmatch(entry.name)
        if m is None:
            continue
        path = folder / entry.name
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if str(path) in _in_flight:
            continue
        if m["pid"] is None:
            dead = age > 300  # written before version 2 (no PID): its save took seconds at most
        elif m["host"] != _HOST:
            dead = age > STALE_TMP_AGE_S
        else:
            dead = age > STALE_TMP_AGE_S or int(m["pid"]) == os.getpid() or not _pid_alive(int(m["pid"]))
        if dead:
            stale.append((path, m["target"]))
    if not stale:
        return removed
    with _folder_lock(folder):
        for path, target in stale:
            if target.endswith(".json"):
                _roll_forward(path, folder / target)
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
    return removed


def _roll_forward(tmp_json: Path, json_path: Path) -> None:
    """If ``tmp_json`` is the complete commit record of the weights now on disk (its writer died
    after renaming the weights, before renaming the JSON), rename it into place."""
    st_path = json_path.with_suffix(".safetensors")
    with contextlib.suppress(Exception):
        pending = _validate_meta(_parse_json(_read_small(tmp_json, "metadata", MAX_JSON_BYTES), tmp_json.name),
                                 json_path.name)
        sha = _file_sha256(st_path)
        if pending.get("weights_sha256") != sha:
            return
        with contextlib.suppress(CheckpointError):
            current = _validate_meta(_parse_json(_read_small(json_path, "metadata", MAX_JSON_BYTES),
                                                 json_path.name), json_path.name)
            if current.get("weights_sha256") == sha:
                return
        os.replace(tmp_json, json_path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


# ------------------------------------------------------------------------------------ reading files

def _open_regular(path: Path, what: str, max_bytes: int) -> tuple[int, int]:
    """(fd, size) of ``path`` opened for reading, refusing symbolic links, FIFOs, devices and
    folders without blocking and without reading a byte."""
    if os.path.islink(path):  # where O_NOFOLLOW is missing; with it, the open below refuses too
        raise CheckpointError(f"{path.name}: is a symbolic link; checkpoint files must be regular files")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        shown = path if what == "metadata" else path.name   # where the checkpoint was looked for
        raise CheckpointError(f"{shown}: {what} file not found") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CheckpointError(f"{path.name}: is a symbolic link; checkpoint files must be regular files") from None
        raise CheckpointError(f"{path.name}: cannot be opened ({_reason(e)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CheckpointError(f"{path.name}: is not a regular file (a FIFO, device or folder); refused")
        if st.st_size > max_bytes:
            raise CheckpointError(f"{path.name}: {st.st_size:,} bytes is more than any AAE Lab {what} file has")
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _read_exact(fd: int, n: int, name: str) -> bytes:
    chunks, got = [], 0
    while got < n:
        try:
            chunk = os.read(fd, min(n - got, 8 * 2**20))
        except OSError as e:
            raise CheckpointError(f"{name}: read failed ({_reason(e)})") from None
        if not chunk:
            raise CheckpointError(f"{name}: file is truncated (it ended after {got:,} of {n:,} bytes)")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_small(path: Path, what: str, max_bytes: int) -> bytes:
    fd, size = _open_regular(path, what, max_bytes)
    try:
        return _read_exact(fd, size, path.name)
    finally:
        os.close(fd)


_SHA_CACHE: dict[tuple[int, int, int, int], str] = {}   # (device, inode, size, mtime) -> hash; files are
_SHA_LOCK = threading.Lock()                             # replaced by rename, never rewritten in place


def _file_sha256(path: Path) -> str:
    """SHA-256 of a weights file (regular files only; remembered per inode, size and mtime)."""
    fd, size = _open_regular(path, "weights", MAX_TENSOR_BYTES)
    try:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with _SHA_LOCK:
            if key in _SHA_CACHE:
                return _SHA_CACHE[key]
        h = hashlib.sha256()
        got = 0
        while got < size:
            chunk = os.read(fd, 8 * 2**20)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
    finally:
        os.close(fd)
    with _SHA_LOCK:
        if len(_SHA_CACHE) > 4096:
            _SHA_CACHE.clear()
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def _parse_int(token: str) -> int:
    if len(token.lstrip("-")) > 20:
        raise ValueError("a number with more than 20 digits")
    return int(token)


def _parse_float(token: str) -> float:
    if len(token) > 40:
        raise ValueError("a number more than 40 characters long")
    value = float(token)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _parse_json(data: bytes, name: str) -> Any:
    """JSON with bounded numbers and nesting; every failure is a ``CheckpointError``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{name}: not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:
        raise CheckpointError(f"{name}: JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{name}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except ValueError as e:
        raise CheckpointError(f"{name}: not valid JSON for a checkpoint ({e})") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise CheckpointError(f"{name}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if d > MAX_JSON_DEPTH:
                return d
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


# ------------------------------------------------------------------------------------ metadata

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: Any) -> str:
    """A value for an error message: its type and, for numbers, a bounded form (no long text)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**20 else f"an integer of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4,000'} digits"
    if isinstance(value, float):
        return repr(value)
    return f"a {type(value).__name__}"


def _text(meta: dict, key: str, name: str, max_len: int, pattern: re.Pattern | None = None) -> str:
    value = meta.get(key)
    if not isinstance(value, str) or len(value) > max_len or (pattern is not None and not pattern.fullmatch(value)):
        raise CheckpointError(f"{name}: {key} must be text" + (f" of at most {max_len:,} characters"
                              if pattern is None else " in the expected format"))
    return value


def _validate_meta(meta: Any, name: str) -> dict[str, Any]:
    """The checkpoint metadata with every field checked; adds ``config_obj`` (data.root dropped)."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{name}: metadata must be a JSON object")
    version = meta.get("format_version")
    if not _is_int(version) or version not in READABLE_VERSIONS:
        raise CheckpointError(f"{name}: format version {_short(version)} is not supported "
                              f"(this AAE Lab reads versions {', '.join(map(str, READABLE_VERSIONS))})")
    known = _META_FIELDS if version >= 2 else _META_FIELDS - {"weights_sha256"}
    unknown = sorted(k for k in meta if k not in known)
    if unknown:
        shown = ", ".join(k[:30] for k in unknown[:3] if isinstance(k, str))
        raise CheckpointError(f"{name}: unknown metadata field(s) {shown}")
    missing = sorted(known - set(meta) - {"description", "extra"})
    if missing:
        raise CheckpointError(f"{name}: metadata lacks {', '.join(missing)}")
    try:
        config = RunConfig.from_dict(meta.get("config"))
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{name}: invalid config: {str(e)[:300]}") from None
    config = replace(config, data=replace(config.data, root=None))  # never a checkpoint's choice
    kind = meta.get("model_kind")
    if kind != config.model.kind:
        raise CheckpointError(f"{name}: model_kind {_short(kind) if not isinstance(kind, str) else repr(kind[:20])} "
                              f"does not match the config's {config.model.kind!r}")
    step = meta.get("step")
    if not _is_int(step) or not 0 <= step < MAX_STEP:
        raise CheckpointError(f"{name}: step must be an integer in [0, 2**53), got {_short(step)}")
    metrics = meta.get("metrics")
    if not isinstance(metrics, dict) or len(metrics) > 200:
        raise CheckpointError(f"{name}: metrics must be an object of at most 200 numbers")
    for key, value in metrics.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise CheckpointError(f"{name}: a metric's name must be text of 1-64 characters")
        if not _is_number(value) or not math.isfinite(value):
            raise CheckpointError(f"{name}: metric {key!r} must be a finite number, got {_short(value)}")
    if meta.get("dtype") not in _STORED_DTYPE:
        raise CheckpointError(f"{name}: dtype must be one of {', '.join(_STORED_DTYPE)}")
    _text(meta, "created_at", name, 20, _CREATED_AT)
    versions = meta.get("versions")
    if not (isinstance(versions, dict) and len(versions) <= 20
            and all(isinstance(k, str) and isinstance(v, str) and len(k) <= 40 and len(v) <= 100
                    for k, v in versions.items())):
        raise CheckpointError(f"{name}: versions must map package names to version text")
    meta.setdefault("description", "")
    _text(meta, "description", name, 2_000)
    meta.setdefault("extra", {})
    if not isinstance(meta["extra"], dict) or not all(isinstance(k, str) for k in meta["extra"]):
        raise CheckpointError(f"{name}: extra must be a JSON object")
    if version >= 2:
        _text(meta, "weights_sha256", name, 64, _SHA256)
    out = {k: v for k, v in meta.items()}
    out["metrics"] = {k: float(v) for k, v in metrics.items()}
    out["config"] = config.to_dict()
    out["config_obj"] = config
    return out


def _pending_json(json_path: Path) -> list[Path]:
    """Temporary JSON files of saves to ``json_path`` that have not been renamed into place."""
    prefix = f".{json_path.name}."
    try:
        return sorted(json_path.parent / e.name for e in os.scandir(json_path.parent)
                      if e.name.startswith(prefix) and _TMP.fullmatch(e.name))
    except OSError:
        return []


def _current_meta(json_path: Path, st_path: Path, weights_sha: str | None = None) -> dict[str, Any]:
    """The metadata that commits the weights now on disk: ``NAME.json``, or, after a save was
    interrupted between its two renames, its pending JSON whose hash is that of the weights."""
    try:
        meta, error = _validate_meta(_parse_json(_read_small(json_path, "metadata", MAX_JSON_BYTES),
                                                 json_path.name), json_path.name), None
    except CheckpointError as e:
        meta, error = None, e
    pending = _pending_json(json_path)
    if pending:   # rare: a save is in flight or was interrupted; only then hash the weights
        if weights_sha is None:
            weights_sha = _file_sha256(st_path)
        if meta is None or meta.get("weights_sha256", weights_sha) != weights_sha:
            for p in pending:
                with contextlib.suppress(CheckpointError, OSError):
                    m = _validate_meta(_parse_json(_read_small(p, "metadata", MAX_JSON_BYTES), p.name),
                                       json_path.name)
                    if m.get("weights_sha256") == weights_sha:
                        return m
    if meta is None:
        raise error  # type: ignore[misc]
    return meta


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The validated JSON half of a checkpoint (no tensor read). ``meta["config_obj"]`` is the
    ``RunConfig`` (its ``data.root`` is None: a checkpoint never says where to write)."""
    json_path, st_path = _paths(path)
    return _guarded(lambda: _current_meta(json_path, st_path), json_path.name)


def _guarded(fn, name: str):
    """``fn()``, with any failure but ours turned into a ``CheckpointError`` naming only its type
    (an exception's text may quote the file)."""
    try:
        return fn()
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"{name}: nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{name}: too large to read") from None
    except Exception as e:  # noqa: BLE001 — a hostile file must not surface as another error
        raise CheckpointError(f"{name}: unreadable ({type(e).__name__})") from None


# ------------------------------------------------------------------------------------ tensors

def _read_header(fd: int, size: int, name: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """(tensor table, header length, __metadata__) of a safetensors file, checked for consistency:
    known dtypes, shapes that match their byte ranges, ranges that tile the data exactly."""
    if size < 8:
        raise CheckpointError(f"{name}: file is truncated ({size} bytes)")
    header_len = int.from_bytes(_read_exact(fd, 8, name), "little")
    if header_len > MAX_HEADER_BYTES or header_len > size - 8:
        raise CheckpointError(f"{name}: not a safetensors file (a pickle or other format?) or truncated: "
                              f"header claims {header_len:,} bytes, file has {size:,}")
    header = _parse_json(_read_exact(fd, header_len, name), name)
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: damaged safetensors header (not an object)")
    extra = header.pop("__metadata__", {})
    if not (isinstance(extra, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items())):
        raise CheckpointError(f"{name}: damaged safetensors header (bad __metadata__)")
    if len(header) > MAX_TENSORS:
        raise CheckpointError(f"{name}: {len(header):,} tensors is more than any AAE Lab model has")
    ranges = []
    for tname, info in header.items():
        shown = tname[:60]
        if not (isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}):
            raise CheckpointError(f"{name}: damaged safetensors header (entry {shown!r})")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            raise CheckpointError(f"{name}: tensor {shown} has an unknown dtype")
        if not (isinstance(shape, list) and len(shape) <= 8 and all(_is_int(n) and 0 <= n < 2**40 for n in shape)):
            raise CheckpointError(f"{name}: tensor {shown} has an invalid shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{name}: tensor {shown} has invalid data offsets")
        if math.prod(shape) * _DTYPES[dtype][1] != offsets[1] - offsets[0]:
            raise CheckpointError(f"{name}: tensor {shown}: its shape does not match its byte range")
        ranges.append(tuple(offsets))
    position = 0
    for begin, end in sorted(ranges):
        if begin != position:
            raise CheckpointError(f"{name}: damaged safetensors file (tensor data overlaps or has gaps)")
        position = end
    if 8 + header_len + position != size:
        raise CheckpointError(f"{name}: damaged or truncated safetensors file: the header describes "
                              f"{8 + header_len + position:,} bytes, the file has {size:,}")
    return header, header_len, extra


def _read_tensors(st_path: Path, expected: dict[str, tuple[tuple[int, ...], str]] | None = None,
                  *, want_sha: bool = False):
    """The tensors of a safetensors file (never unpickles). With ``expected`` (name → (shape,
    dtype code)), names, shapes and dtypes are checked against it before any tensor byte is read.
    Returns the dict, or (dict, sha256 hex, __metadata__) with ``want_sha``."""
    st_path = Path(st_path)

    def read():
        fd, size = _open_regular(st_path, "weights", MAX_TENSOR_BYTES)
        try:
            header, header_len, extra = _read_header(fd, size, st_path.name)
            if expected is not None:
                _check_against(header, expected, st_path.name)
            os.lseek(fd, 0, os.SEEK_SET)
            head = _read_exact(fd, 8 + header_len, st_path.name)
            body = bytearray(_read_exact(fd, size - 8 - header_len, st_path.name))
        finally:
            os.close(fd)
        sha = hashlib.sha256(head)
        sha.update(body)
        view = memoryview(body)
        tensors = {}
        for tname, info in header.items():
            begin, end = info["data_offsets"]
            dtype, _ = _DTYPES[info["dtype"]]
            chunk = bytearray(view[begin:end])       # its own, aligned buffer
            t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
            tensors[tname] = t.reshape(info["shape"])
        return tensors, sha.hexdigest(), extra

    tensors, sha, extra = _guarded(read, st_path.name)
    return (tensors, sha, extra) if want_sha else tensors


def _check_against(header: dict[str, Any], expected: dict[str, tuple[tuple[int, ...], str]], name: str) -> None:
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{name}: tensors do not match the architecture in the metadata: missing "
                              f"{missing[:4] or 'none'}, unexpected {[u[:60] for u in unexpected[:4]] or 'none'}")
    for tname, (shape, dtype) in expected.items():
        got = tuple(header[tname]["shape"])
        if got != tuple(shape):
            raise CheckpointError(f"{name}: tensor {tname} has shape {got}, the architecture in the metadata "
                                  f"needs {tuple(shape)} (mismatched architecture)")
        if header[tname]["dtype"] != dtype:
            raise CheckpointError(f"{name}: tensor {tname} has dtype {header[tname]['dtype']}, the metadata "
                                  f"says {dtype}")


def _quantised(name: str, shape: tuple[int, ...], storage: str) -> bool:
    """Whether tensor ``name`` of ``shape`` is stored as int8 rows + scales (see ``STORAGE_DTYPES``)."""
    if storage != "int8" or len(shape) != 2 or shape[0] * shape[1] < INT8_MIN_ENTRIES:
        return False
    return not name.startswith("encoder.") or shape[1] >= N_PIXELS


def stored_layout(shapes: dict[str, tuple[int, ...]], storage: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """name -> (shape, safetensors dtype code) of the tensors a model with state-dict ``shapes`` is
    stored as under ``storage`` (``STORAGE_DTYPES``): the weights file must hold exactly these."""
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    for name, shape in shapes.items():
        if _quantised(name, shape, storage):
            out[name] = (tuple(shape), "I8")
            out[name + ROW_SCALE_SUFFIX] = ((shape[0],), "F16")
        else:
            out[name] = (tuple(shape), _STORED_DTYPE[storage])
    return out


def encode_weights(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    """A state dict as the tensors ``storage`` writes (CPU, contiguous; see ``STORAGE_DTYPES``)."""
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        t = value.detach().to("cpu", torch.float32)
        if _quantised(name, tuple(t.shape), storage):
            # the scale as stored (float16), so that q · s reproduces W to within half a step of s
            scale = (t.abs().amax(dim=1) / INT8_MAX).to(torch.float16)           # (rows,)
            s32 = scale.float().unsqueeze(1)
            q = torch.where(s32 > 0, torch.round(t / torch.where(s32 > 0, s32, 1.0)), 0.0)
            out[name] = q.clamp_(-INT8_MAX, INT8_MAX).to(torch.int8).contiguous()
            out[name + ROW_SCALE_SUFFIX] = scale.contiguous()
        else:
            out[name] = t.to(torch.float16 if storage != "float32" else torch.float32).contiguous()
    return out


def decode_weights(tensors: dict[str, torch.Tensor], storage: str, name: str = "weights") -> dict[str, torch.Tensor]:
    """The float32 state dict from the stored tensors (``encode_weights``' inverse; int8 rows times
    their scales). Scales must be finite and ≥ 0, int8 values within ±127."""
    out: dict[str, torch.Tensor] = {}
    for tname, t in tensors.items():
        if tname.endswith(ROW_SCALE_SUFFIX) and storage == "int8":
            continue
        if t.dtype == torch.int8 and storage == "int8":
            scale = tensors.get(tname + ROW_SCALE_SUFFIX)
            if scale is None or scale.shape != (t.shape[0],) or not scale.is_floating_point():
                raise CheckpointError(f"{name}: tensor {tname[:60]} has no row scales")
            scale = scale.float()
            if not (torch.isfinite(scale).all() and (scale >= 0).all()):
                raise CheckpointError(f"{name}: tensor {tname[:60]} has row scales that are negative, NaN "
                                      f"or infinite")
            if t.numel() and int(t.min()) < -INT8_MAX:
                raise CheckpointError(f"{name}: tensor {tname[:60]} holds -128, outside the stored range ±127")
            out[tname] = t.float() * scale.unsqueeze(1)
        else:
            out[tname] = t.float() if t.is_floating_point() else t
    return out


def load_checkpoint(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Rebuild the model from the JSON's config and load its weights, checking every tensor and that
    the weights are the ones this JSON was saved with."""
    json_path, st_path = _paths(path)
    meta = _guarded(lambda: _current_meta(json_path, st_path), json_path.name)
    for attempt in range(2):
        config: RunConfig = meta["config_obj"]
        model = _guarded(lambda: seeded_model(config.model, 0), json_path.name)
        expected = stored_layout({k: tuple(v.shape) for k, v in model.state_dict().items()}, meta["dtype"])
        tensors, sha, extra = _read_tensors(st_path, expected, want_sha=True)
        recorded = meta.get("weights_sha256", sha)  # version 1 has no hash to check
        if recorded == sha and extra.get("step", str(meta["step"])) == str(meta["step"]):
            break
        if attempt == 0:  # a save may have committed between reading the JSON and the weights
            meta = _guarded(lambda: _current_meta(json_path, st_path, sha), json_path.name)
            continue
        raise CheckpointError(f"{st_path.name}: the weights are not the ones {json_path.name} was saved with "
                              f"(an interrupted save, or files of two different saves)")
    weights = decode_weights(tensors, meta["dtype"], st_path.name)
    for tname, t in weights.items():
        if not t.is_floating_point():
            raise CheckpointError(f"{st_path.name}: tensor {tname} has dtype {t.dtype}, expected floating point")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{st_path.name}: tensor {tname} contains NaN or infinite values")
    model.load_state_dict(weights)
    model.to(device).eval()
    meta = dict(meta)
    config = meta.pop("config_obj")
    return LoadedCheckpoint(model=model, config=config, step=meta["step"], metrics=dict(meta["metrics"]), meta=meta)


def _other_artefact(json_path: Path) -> bool:
    """A JSON of another kind of file the app keeps beside checkpoints (the digit classifier's)."""
    with contextlib.suppress(Exception):
        meta = _parse_json(_read_small(json_path, "metadata", MAX_JSON_BYTES), json_path.name)
        return isinstance(meta, dict) and "model_kind" not in meta and isinstance(meta.get("kind"), str)
    return False


def _check_weights(st_path: Path, json_name: str, meta: dict[str, Any]) -> None:
    """The weights file is a regular file, its header fits the metadata and its hash is the one the
    metadata records (hashes are remembered, so listing a folder again reads only headers)."""
    config: RunConfig = meta["config_obj"]
    fd, size = _open_regular(st_path, "weights", MAX_TENSOR_BYTES)
    try:
        header, _, _ = _read_header(fd, size, st_path.name)
    finally:
        os.close(fd)
    _check_against(header, _expected_shapes(config, meta["dtype"]), st_path.name)
    if "weights_sha256" in meta and _file_sha256(st_path) != meta["weights_sha256"]:
        raise CheckpointError(f"{st_path.name}: the weights are not the ones {json_name} was saved with "
                              f"(an interrupted save, or files of two different saves)")


_SHAPES_CACHE: dict[tuple, dict[str, tuple[tuple[int, ...], str]]] = {}   # listing builds no model twice
_SHAPES_LOCK = threading.Lock()


def _expected_shapes(config: RunConfig, dtype: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """name -> (shape, safetensors dtype) of the model ``config`` describes."""
    key = (config.model, dtype)
    with _SHAPES_LOCK:
        if key not in _SHAPES_CACHE:
            model = seeded_model(config.model, 0)
            _SHAPES_CACHE[key] = stored_layout({k: tuple(v.shape) for k, v in model.state_dict().items()}, dtype)
        return _SHAPES_CACHE[key]


def list_checkpoints(directory: str | os.PathLike) -> list[CheckpointInfo]:
    """Every checkpoint in ``directory``, sorted by name: usable ones with their metadata, and each
    file that cannot be read as its own entry whose ``error`` says why ("unreadable: …"). Never
    raises for a file's sake. Reads the JSON and the weights' header, and hashes the weights once
    per file version."""
    d = Path(directory)
    try:
        names = sorted({e.name.rsplit(".", 1)[0] for e in os.scandir(d)
                        if not e.name.startswith(".") and e.name.endswith((".json", ".safetensors"))})
    except OSError:
        return []
    out: list[CheckpointInfo] = []
    for name in names:
        json_path, st_path = d / f"{name}.json", d / f"{name}.safetensors"
        try:
            if os.path.lexists(json_path) and _other_artefact(json_path):
                continue
            meta = read_metadata(json_path)
            _guarded(lambda: _check_weights(st_path, json_path.name, meta), st_path.name)
        except Exception as e:  # noqa: BLE001 — one bad file is that file's entry, never the page's error
            reason = str(e) if isinstance(e, CheckpointError) else type(e).__name__
            out.append(CheckpointInfo(name=name, path=json_path, error=f"unreadable: {reason}"))
            continue
        cfg: RunConfig = meta["config_obj"]
        out.append(CheckpointInfo(
            name=name, path=json_path, kind=cfg.model.kind, prior=cfg.prior.name,
            dataset=cfg.data.name, preset=cfg.model.preset, latent_dim=cfg.model.latent_dim,
            step=meta["step"], metrics=dict(meta["metrics"]),
            created_at=meta["created_at"], description=meta["description"]))
    return out
