"""Hostile and broken checkpoint files: every one fails with a ``CheckpointError`` (never another
exception, never a hang, never a pickle run, never the file's content in the message) and is listed
as its own "unreadable" entry by ``list_checkpoints``.

Each case starts from a valid pair (``ck.json`` + ``ck.safetensors``) and breaks one thing.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest
import torch

import aae.checkpoints as ck
from aae.checkpoints import CheckpointError, list_checkpoints, load_checkpoint, read_metadata, save_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.train import seeded_model

pytestmark = pytest.mark.timeout(60)   # a FIFO or a huge header must never make a case hang
SECRET = b"root:x:0:0:SECRET-TOKEN-9f3a"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pristine")
    cfg = RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                    model=ModelConfig(kind="aae"), train=TrainConfig(device="cpu"))
    save_checkpoint(folder / "ck", seeded_model(cfg.model, 0), cfg, step=7, metrics={"recon": 1.5})
    return folder


@pytest.fixture
def folder(pristine, tmp_path) -> Path:
    out = tmp_path / "cks"
    shutil.copytree(pristine, out)
    return out


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def header_of(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def with_header(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + body


# -- the metadata -----------------------------------------------------------------------------------

def edit_meta(change):
    def apply(folder: Path) -> None:
        path = folder / "ck.json"
        meta = json.loads(path.read_text())
        change(meta)
        path.write_text(json.dumps(meta))
    return apply


def raw_meta(text: str | bytes):
    def apply(folder: Path) -> None:
        (folder / "ck.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    return apply


def replace_in_meta(old: str, new: str):
    def apply(folder: Path) -> None:
        path = folder / "ck.json"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    return apply


DEEP = 100_000
META_CASES = {
    "nested 100,000 deep": raw_meta("[" * DEEP + "]" * DEEP),
    "a field nested 100,000 deep": replace_in_meta('"extra": {}', '"extra": {"x": ' + "[" * DEEP + "]" * DEEP + "}"),
    "nested 40 deep (parses, too deep)": replace_in_meta('"extra": {}', '"extra": {"x": ' + "[" * 40 + "]" * 40 + "}"),
    "a 5,000-digit step": replace_in_meta('"step": 7', '"step": ' + "9" * 5000),
    "step 10**400": replace_in_meta('"step": 7', '"step": ' + str(10**400)),
    "step 1e400": replace_in_meta('"step": 7', '"step": 1e400'),
    "step true": edit_meta(lambda m: m.update(step=True)),
    "step 2**53": edit_meta(lambda m: m.update(step=2**53)),
    "step -1": edit_meta(lambda m: m.update(step=-1)),
    "step 7.0": edit_meta(lambda m: m.update(step=7.0)),
    "step '7'": edit_meta(lambda m: m.update(step="7")),
    "step null": edit_meta(lambda m: m.update(step=None)),
    "no step": edit_meta(lambda m: m.pop("step")),
    "format_version true": edit_meta(lambda m: m.update(format_version=True)),
    "format_version 2.0": edit_meta(lambda m: m.update(format_version=2.0)),
    "format_version '2'": edit_meta(lambda m: m.update(format_version="2")),
    "format_version 99": edit_meta(lambda m: m.update(format_version=99)),
    "metrics a list": edit_meta(lambda m: m.update(metrics=[1.0])),
    "a metric as text": edit_meta(lambda m: m.update(metrics={"recon": "1.5"})),
    "a metric true": edit_meta(lambda m: m.update(metrics={"recon": True})),
    "a metric NaN": replace_in_meta('"recon": 1.5', '"recon": NaN'),
    "a metric Infinity": replace_in_meta('"recon": 1.5', '"recon": -Infinity'),
    "a metric 1e999": replace_in_meta('"recon": 1.5', '"recon": 1e999'),
    "a metric nested": edit_meta(lambda m: m.update(metrics={"recon": {"a": 1}})),
    "an empty metric name": edit_meta(lambda m: m.update(metrics={"": 1.0})),
    "a 1,000-char metric name": edit_meta(lambda m: m.update(metrics={"m" * 1000: 1.0})),
    "10,000 metrics": edit_meta(lambda m: m.update(metrics={f"m{i}": 1.0 for i in range(10_000)})),
    "created_at a number": edit_meta(lambda m: m.update(created_at=5)),
    "created_at free text": edit_meta(lambda m: m.update(created_at="yesterday")),
    "a 1 MB description": edit_meta(lambda m: m.update(description="d" * 1_000_000)),
    "versions not text": edit_meta(lambda m: m.update(versions={"torch": 2})),
    "extra a list": edit_meta(lambda m: m.update(extra=[1])),
    "dtype int4": edit_meta(lambda m: m.update(dtype="int4")),
    "hash too short": edit_meta(lambda m: m.update(weights_sha256="ab")),
    "hash not hex": edit_meta(lambda m: m.update(weights_sha256="z" * 64)),
    "hash of other weights": edit_meta(lambda m: m.update(weights_sha256="0" * 64)),
    "no hash": edit_meta(lambda m: m.pop("weights_sha256")),
    "an unknown field": edit_meta(lambda m: m.update(run_this="rm -rf /")),
    "model_kind mismatch": edit_meta(lambda m: m.update(model_kind="vae")),
    "model_kind a list": edit_meta(lambda m: m.update(model_kind=["aae"])),
    "config a string": edit_meta(lambda m: m.update(config="aae")),
    "config latent_dim 10**400": replace_in_meta('"latent_dim": 2', '"latent_dim": ' + str(10**400)),
    "config latent_dim true": edit_meta(lambda m: m["config"]["model"].update(latent_dim=True)),
    "config unknown kind": edit_meta(lambda m: m["config"]["model"].update(kind="k" * 10_000)),
    "config seed huge": edit_meta(lambda m: m["config"]["train"].update(seed=2**70)),
    "config data.root a number": edit_meta(lambda m: m["config"]["data"].update(root=5)),
    "config batch_size a dict": edit_meta(lambda m: m["config"]["train"].update(batch_size={"a": 1})),
    "not an object": raw_meta("[1, 2, 3]"),
    "empty": raw_meta(""),
    "not UTF-8": raw_meta(b"\xff\xfe{}"),
    "a UTF-8 BOM": raw_meta(b"\xef\xbb\xbf{}"),
    "truncated JSON": raw_meta('{"format_version": 2, "step": '),
    "a pickle": raw_meta(pickle.dumps({"format_version": 2})),
    "over 2 MB": raw_meta('{"x": "' + "y" * 2_100_000 + '"}'),
}


# -- the weights -----------------------------------------------------------------------------------

def edit_weights(change):
    def apply(folder: Path) -> None:
        path = folder / "ck.safetensors"
        path.write_bytes(change(path.read_bytes(), folder))
    return apply


def edit_header(change):
    def apply(data: bytes, folder: Path) -> bytes:
        header, body = header_of(data)
        body = change(header, body) or body
        return with_header(header, body)
    return edit_weights(apply)


def shape_swap(h, b):
    h["decoder.net.0.weight"]["shape"] = list(reversed(h["decoder.net.0.weight"]["shape"]))


def as_dtype(dtype: str):
    def change(h, b):
        h["decoder.net.0.bias"]["dtype"] = dtype
    return change


def extra_tensor(h, b):
    h["stowaway"] = {"dtype": "F32", "shape": [4], "data_offsets": [len(b), len(b) + 16]}
    return b + b"\0" * 16


def drop_tensor(h, b):
    del h["decoder.net.0.bias"]


def huge_shape(h, b):
    h["decoder.net.0.bias"]["shape"] = [2**39, 2**39]


def overlapping(h, b):
    entry = h["decoder.net.0.bias"]
    entry["data_offsets"] = [0, entry["data_offsets"][1] - entry["data_offsets"][0]]


def beyond_the_file(h, b):
    last = max(h.values(), key=lambda e: e["data_offsets"][1] if isinstance(e, dict) and "data_offsets" in e else 0)
    last["data_offsets"][1] += 4


def bad_metadata_section(h, b):
    h["__metadata__"] = {"step": 7}


def negative_offsets(h, b):
    h["decoder.net.0.bias"]["data_offsets"] = [-4, 0]


def nan_weights(h, b):
    begin = h["decoder.net.0.bias"]["data_offsets"][0]
    return b[:begin] + struct.pack("<f", float("nan")) + b[begin + 4:]


def claims(n_bytes: int):
    return edit_weights(lambda data, folder: n_bytes.to_bytes(8, "little") + data[8:])


def pickled(protocol: int):
    return edit_weights(lambda data, folder: pickle.dumps({"encoder.net.0.weight": Evil(folder / "pwned")},
                                                          protocol=protocol))


def torch_saved(data: bytes, folder: Path) -> bytes:
    path = folder / "ck.safetensors"
    torch.save({"encoder.net.0.weight": Evil(folder / "pwned")}, path)
    return path.read_bytes()


def header_text(text: bytes):
    def change(data: bytes, folder: Path) -> bytes:
        return len(text).to_bytes(8, "little") + text + data[8 + int.from_bytes(data[:8], "little"):]
    return edit_weights(change)


def other_save(folder: Path) -> None:
    cfg = RunConfig(data=DataConfig(name="synthetic"), model=ModelConfig(kind="aae"), train=TrainConfig(device="cpu"))
    save_checkpoint(folder / "other", seeded_model(cfg.model, 1), cfg, step=8)
    (folder / "other.safetensors").replace(folder / "ck.safetensors")
    (folder / "other.json").unlink()


WEIGHT_CASES = {
    "a pickle (protocol 0)": pickled(0),
    "a pickle (protocol 2)": pickled(2),
    "a pickle (protocol 5)": pickled(5),
    "torch.save": edit_weights(torch_saved),
    "a 100 GB header": claims(100 * 10**9),
    "a header just over the cap": claims(ck.MAX_HEADER_BYTES + 8),
    "a header longer than the file": claims(10_000_000 - 8),
    "a header nested 100,000 deep": header_text(b"[" * DEEP + b"]" * DEEP),
    "a header that is not JSON": header_text(b"{not json" + b" " * 7),
    "a header that is a list": header_text(b"[1, 2, 3]" + b" " * 7),
    "a header with a 5,000-digit offset": header_text(b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, '
                                                      + b"9" * 5000 + b"]}}"),
    "a tensor of the wrong shape": edit_header(shape_swap),
    "float64 weights": edit_header(as_dtype("F64")),
    "int32 weights": edit_header(as_dtype("I32")),
    "bfloat16 weights": edit_header(as_dtype("BF16")),
    "an unknown dtype": edit_header(as_dtype("F8_E4M3")),
    "an extra tensor": edit_header(extra_tensor),
    "a missing tensor": edit_header(drop_tensor),
    "a shape of 2**78 elements": edit_header(huge_shape),
    "overlapping tensors": edit_header(overlapping),
    "data beyond the end": edit_header(beyond_the_file),
    "negative offsets": edit_header(negative_offsets),
    "a bad __metadata__": edit_header(bad_metadata_section),
    "NaN weights": edit_header(nan_weights),
    "weights of another save": other_save,
    "empty": edit_weights(lambda data, folder: b""),
}


def _symlinked(target_name: str):
    def apply(folder: Path) -> None:
        secret = folder.parent / "secret.txt"
        secret.write_bytes(SECRET * 10)
        (folder / target_name).unlink()
        (folder / target_name).symlink_to(secret)
    return apply


def _fifo(target_name: str):
    def apply(folder: Path) -> None:
        (folder / target_name).unlink()
        os.mkfifo(folder / target_name)   # nobody writes to it: opening it blocking would hang
    return apply


def _directory(target_name: str):
    def apply(folder: Path) -> None:
        (folder / target_name).unlink()
        (folder / target_name).mkdir()
    return apply


def _huge_sparse(folder: Path) -> None:
    with open(folder / "ck.safetensors", "r+b") as f:
        f.truncate(ck.MAX_TENSOR_BYTES + 1)


FILE_CASES = {
    "weights a symlink to a secret": _symlinked("ck.safetensors"),
    "metadata a symlink to a secret": _symlinked("ck.json"),
    "weights a FIFO": _fifo("ck.safetensors"),
    "metadata a FIFO": _fifo("ck.json"),
    "weights a folder": _directory("ck.safetensors"),
    "metadata a folder": _directory("ck.json"),
    "weights over 512 MB (sparse)": _huge_sparse,
}
if not hasattr(os, "mkfifo"):
    FILE_CASES = {k: v for k, v in FILE_CASES.items() if "FIFO" not in k}

ALL_CASES = {**META_CASES, **WEIGHT_CASES, **FILE_CASES}


def assert_refused(folder: Path, case: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder / "ck")
    err = info.value
    msg = str(err)
    assert type(err) is CheckpointError, case
    assert "\n" not in msg and len(msg) < 600, (case, msg)
    assert SECRET[:8].decode() not in msg and str(int.from_bytes(SECRET[:8], "little")) not in msg, (case, msg)
    assert "SECRET" not in msg, (case, msg)
    assert not (folder / "pwned").exists(), case
    entries = list_checkpoints(folder)
    bad = [e for e in entries if e.name == "ck"]
    assert len(bad) == 1 and not bad[0].readable and bad[0].error.startswith("unreadable: "), (case, entries)
    assert "SECRET" not in bad[0].error
    return err


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_a_hostile_or_broken_file_is_refused_and_listed_as_unreadable(folder, case):
    ALL_CASES[case](folder)
    assert_refused(folder, case)


@pytest.mark.parametrize("case", [c for c in META_CASES if c not in ("hash of other weights",)])
def test_read_metadata_refuses_the_same_metadata(folder, case):
    META_CASES[case](folder)
    with pytest.raises(CheckpointError):
        read_metadata(folder / "ck")


def test_truncation_at_any_offset_is_refused(folder):
    """Cut the weights at 60 offsets (every one of the first 16 bytes, then spread over the file)."""
    data = (folder / "ck.safetensors").read_bytes()
    offsets = sorted(set(range(16)) | set(range(16, len(data), max(1, len(data) // 44))))
    for n in offsets:
        (folder / "ck.safetensors").write_bytes(data[:n])
        err = assert_refused(folder, f"truncated at {n}")
        assert "truncated" in str(err) or "damaged" in str(err) or "not a safetensors" in str(err), (n, str(err))


def test_metadata_truncated_at_any_offset_is_refused(folder):
    text = (folder / "ck.json").read_bytes()
    for n in range(0, len(text) - 1, max(1, len(text) // 40)):
        (folder / "ck.json").write_bytes(text[:n])
        assert_refused(folder, f"json truncated at {n}")


def test_an_extra_tensor_is_refused_from_the_header_before_its_bytes_are_read(folder, monkeypatch):
    """A header that declares a 400 MB extra tensor (a sparse file: no disk used): refused having
    read the header only."""
    path = folder / "ck.safetensors"
    header, body = header_of(path.read_bytes())
    big = 400 * 2**20
    header["stowaway"] = {"dtype": "U8", "shape": [big], "data_offsets": [len(body), len(body) + big]}
    path.write_bytes(with_header(header, body))
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size + big)
    read = {"bytes": 0}
    real_read = os.read

    def counting(fd, n):
        chunk = real_read(fd, n)
        read["bytes"] += len(chunk)
        return chunk

    monkeypatch.setattr(ck.os, "read", counting)
    with pytest.raises(CheckpointError, match="unexpected.*stowaway"):
        load_checkpoint(folder / "ck")
    assert read["bytes"] < 1_000_000


def test_the_folder_still_lists_its_good_checkpoints(folder, pristine):
    """One bad file among good ones: the good ones list as usable, the bad one as its own entry."""
    for name in ("good-1", "good-2"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(pristine / f"ck{suffix}", folder / f"{name}{suffix}")
    META_CASES["nested 100,000 deep"](folder)
    entries = {e.name: e for e in list_checkpoints(folder)}
    assert sorted(entries) == ["ck", "good-1", "good-2"]
    assert entries["good-1"].readable and entries["good-2"].readable and not entries["ck"].readable


def test_a_pristine_copy_loads(folder):
    """The cases above break a file that is itself fine."""
    assert load_checkpoint(folder / "ck").step == 7
    (entry,) = list_checkpoints(folder)
    assert entry.readable and entry.step == 7
