"""The int8 storage of checkpoint weights (``aae.checkpoints.STORAGE_DTYPES``): per-row int8 weight
matrices with float16 scales, dequantised on load; the same strict checks as every checkpoint, and
the values an int8 file can hold that no save writes are refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

import aae.checkpoints as ck
from aae.checkpoints import (CheckpointError, decode_weights, encode_weights, list_checkpoints, load_checkpoint,
                             save_checkpoint)
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.train import seeded_model

pytestmark = pytest.mark.timeout(60)


def config(kind: str = "aae") -> RunConfig:
    return RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name="gaussian"),
                     model=ModelConfig(kind=kind, encoder="gaussian" if kind == "vae" else "deterministic"),
                     train=TrainConfig(device="cpu"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("int8")
    cfg = config()
    save_checkpoint(folder / "ck", seeded_model(cfg.model, 0), cfg, step=7, metrics={"recon": 1.5}, dtype="int8")
    return folder


@pytest.fixture
def folder(pristine, tmp_path) -> Path:
    out = tmp_path / "cks"
    shutil.copytree(pristine, out)
    return out


def header_of(data: bytes) -> tuple[dict, int]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), 8 + n


def rewrite_tensor(folder: Path, name: str, change) -> None:
    """Change one tensor's values in place and record the new weights' hash in the JSON (so that
    only the check of the values themselves stands between the file and the model)."""
    path = folder / "ck.safetensors"
    data = bytearray(path.read_bytes())
    header, start = header_of(bytes(data))
    info = header[name]
    dtype = {"I8": torch.int8, "F16": torch.float16}[info["dtype"]]
    begin, end = (start + o for o in info["data_offsets"])
    t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).clone()
    change(t)
    data[begin:end] = t.numpy().tobytes()
    path.write_bytes(bytes(data))
    meta = json.loads((folder / "ck.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (folder / "ck.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("kind", ["ae", "vae", "aae", "labelled_aae", "supervised_aae"])
def test_int8_round_trip_is_within_half_a_step_of_each_row(tmp_path, kind):
    cfg = config(kind)
    model = seeded_model(cfg.model, 3)
    save_checkpoint(tmp_path / "half", model, cfg, step=1, half=True)
    path = save_checkpoint(tmp_path / "ck", model, cfg, step=1, dtype="int8")
    assert (tmp_path / "ck.safetensors").stat().st_size < 0.65 * (tmp_path / "half.safetensors").stat().st_size
    header, _ = header_of((tmp_path / "ck.safetensors").read_bytes())
    loaded = load_checkpoint(path)
    assert loaded.meta["dtype"] == "int8"
    n_int8 = 0
    for name, w in model.state_dict().items():
        got = loaded.model.state_dict()[name]
        assert got.dtype == torch.float32 and got.shape == w.shape
        if header[name]["dtype"] == "I8":
            n_int8 += 1
            scale = w.abs().amax(1, keepdim=True) / 127
            assert header[name + ck.ROW_SCALE_SUFFIX]["shape"] == [w.shape[0]]
            assert ((got - w).abs() <= 0.5 * scale * 1.01 + 1e-7).all(), name
        else:
            assert torch.equal(got, w.half().float()), name
    # the pixel-reading layer, the decoder's big matrices and D's hidden one; never the encoder's
    # later layers, which set the codes
    assert header["encoder.net.0.weight"]["dtype"] == "I8"
    assert header["encoder.net.2.weight"]["dtype"] == "F16"
    assert n_int8 >= 3


def test_storing_int8_weights_again_changes_nothing(tmp_path):
    model = seeded_model(config().model, 1)
    once = encode_weights(model.state_dict(), "int8")
    twice = encode_weights(decode_weights(once, "int8"), "int8")
    assert set(once) == set(twice)
    assert all(torch.equal(once[k], twice[k]) for k in once)


def test_a_zero_row_stores_and_loads_as_zeros(tmp_path):
    cfg = config()
    model = seeded_model(cfg.model, 0)
    with torch.no_grad():
        model.decoder.net[-1].weight[5].zero_()
    load = load_checkpoint(save_checkpoint(tmp_path / "ck", model, cfg, step=1, dtype="int8"))
    assert torch.equal(load.model.decoder.net[-1].weight[5], torch.zeros(model.decoder.net[-1].weight.shape[1]))


def test_an_unknown_dtype_is_refused_before_writing(tmp_path):
    cfg = config()
    for bad in ("int4", "bfloat16", 8):
        with pytest.raises(CheckpointError, match="dtype"):
            save_checkpoint(tmp_path / "ck", seeded_model(cfg.model, 0), cfg, step=1, dtype=bad)
    with pytest.raises(CheckpointError, match="dtype"):
        save_checkpoint(tmp_path / "ck", seeded_model(cfg.model, 0), cfg, step=1, half=True, dtype="int8")
    assert not list(tmp_path.iterdir())


SCALE = "decoder.net.4.weight" + ck.ROW_SCALE_SUFFIX
HOSTILE = {
    "a NaN row scale": (SCALE, lambda t: t.__setitem__(3, float("nan"))),
    "an infinite row scale": (SCALE, lambda t: t.__setitem__(0, float("inf"))),
    "a negative row scale": (SCALE, lambda t: t.__setitem__(1, -0.5)),
    "an int8 value of -128": ("decoder.net.4.weight", lambda t: t.__setitem__(10, -128)),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_values_no_save_writes_are_refused(folder, case):
    name, change = HOSTILE[case]
    rewrite_tensor(folder, name, change)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder / "ck")
    assert type(info.value) is CheckpointError and "\n" not in str(info.value)


def test_the_hash_still_guards_int8_weights(folder):
    path = folder / "ck.safetensors"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not the ones"):
        load_checkpoint(folder / "ck")
    (entry,) = list_checkpoints(folder)
    assert not entry.readable


def header_edit(folder: Path, change) -> None:
    path = folder / "ck.safetensors"
    data = path.read_bytes()
    header, start = header_of(data)
    change(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[start:])


@pytest.mark.parametrize("case", ["scale dropped", "int8 called float16", "scale called int8", "float16 as int8 json"])
def test_the_header_must_be_exactly_the_int8_layout(folder, case):
    if case == "scale dropped":
        header_edit(folder, lambda h: h.pop(SCALE))
    elif case == "int8 called float16":
        header_edit(folder, lambda h: h["decoder.net.2.weight"].update(dtype="F16"))
    elif case == "scale called int8":
        header_edit(folder, lambda h: h[SCALE].update(dtype="I8"))
    else:   # a float16 checkpoint whose JSON claims int8
        cfg = config()
        save_checkpoint(folder / "ck", seeded_model(cfg.model, 0), cfg, step=7, half=True, overwrite=True)
        meta = json.loads((folder / "ck.json").read_text())
        meta["dtype"] = "int8"
        (folder / "ck.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError):
        load_checkpoint(folder / "ck")
    (entry,) = list_checkpoints(folder)
    assert not entry.readable


def test_a_pristine_int8_copy_loads_and_lists(folder):
    assert load_checkpoint(folder / "ck").step == 7
    (entry,) = list_checkpoints(folder)
    assert entry.readable and entry.step == 7


def test_convert_rewrites_a_checkpoint_in_place_with_its_metrics_measured_again(tmp_path, capsys):
    from aae.__main__ import main
    cfg = config()
    model = seeded_model(cfg.model, 0)
    save_checkpoint(tmp_path / "ck", model, cfg, step=9, metrics={"referee": 0.99}, half=True,
                    description="nine steps", extra={"target_steps": 9})
    assert main(["convert", str(tmp_path / "ck"), "--dtype", "int8"]) == 0
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.meta["dtype"] == "int8" and loaded.step == 9 and loaded.config == cfg
    assert loaded.meta["description"] == "nine steps" and loaded.meta["extra"] == {"target_steps": 9}
    assert "referee" in loaded.metrics and loaded.metrics["referee"] != 0.99
    assert "float16 -> int8" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_convert_refuses_the_shipped_folder_without_shipped(capsys):
    from aae.__main__ import main
    shipped = ck.SHIPPED_DIR / "ae.safetensors"
    before = shipped.read_bytes()
    assert main(["convert", str(ck.SHIPPED_DIR / "ae")]) == 2
    assert "read-only" in capsys.readouterr().err
    assert shipped.read_bytes() == before
