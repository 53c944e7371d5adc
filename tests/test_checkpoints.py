"""aae.checkpoints: exact round trips, listing, and refusing anything that is not a checkpoint of
the architecture its metadata describes — above all, never unpickling."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch

from aae.checkpoints import (
    FORMAT_VERSION,
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.train import seeded_model



def run_config(kind: str = "aae", preset: str = "small", latent_dim: int = 2, prior: str = "mog10") -> RunConfig:
    return RunConfig(data=DataConfig(name="synthetic"), prior=PriorConfig(name=prior),
                     model=ModelConfig(kind=kind, preset=preset, latent_dim=latent_dim),
                     train=TrainConfig(device="cpu"))


def saved(tmp_path, name="ck", kind="aae", preset="small", latent_dim=2, seed=1, **kwargs):
    cfg = run_config(kind, preset, latent_dim)
    model = seeded_model(cfg.model, seed)
    path = save_checkpoint(tmp_path / name, model, cfg, step=kwargs.pop("step", 42), **kwargs)
    return path, model, cfg


class Evil:
    """Unpickling this creates a file: proof that something ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# -- round trips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ae", "vae", "aae"])
def test_round_trip_is_exact(tmp_path, kind):
    path, model, cfg = saved(tmp_path, kind=kind, latent_dim=8, metrics={"recon": 81.5, "knn_acc": 0.9},
                             description="after 42 steps", step=42)
    assert path == tmp_path / "ck.json"
    assert (tmp_path / "ck.safetensors").is_file()
    loaded = load_checkpoint(path)
    assert loaded.config == cfg
    assert loaded.step == 42
    assert loaded.metrics == {"recon": 81.5, "knn_acc": 0.9}
    assert loaded.model.kind == kind and not loaded.model.training
    expected = model.state_dict()
    got = loaded.model.state_dict()
    assert set(got) == set(expected)
    for name, tensor in expected.items():
        assert got[name].dtype == torch.float32
        assert torch.equal(got[name], tensor), name
    meta = loaded.meta
    assert meta["format_version"] == FORMAT_VERSION and meta["model_kind"] == kind
    assert meta["dtype"] == "float32" and meta["description"] == "after 42 steps"
    assert {"torch", "safetensors", "numpy", "python", "aae"} <= set(meta["versions"])
    assert meta["created_at"].endswith("Z")


@pytest.mark.parametrize("kind", ["ae", "vae", "aae"])
def test_half_precision_round_trip(tmp_path, kind):
    path, model, _ = saved(tmp_path, kind=kind, half=True)
    full = tmp_path / "full"
    save_checkpoint(full, model, run_config(kind), step=1)
    half_size = (tmp_path / "ck.safetensors").stat().st_size
    assert half_size < 0.55 * (tmp_path / "full.safetensors").stat().st_size
    loaded = load_checkpoint(path)
    assert loaded.meta["dtype"] == "float16"
    for name, tensor in model.state_dict().items():
        got = loaded.model.state_dict()[name]
        assert got.dtype == torch.float32
        assert torch.allclose(got, tensor, rtol=1e-3, atol=1e-6), name
        assert torch.equal(got, tensor.half().float()), name


def test_loaded_model_decodes_like_the_original(tmp_path):
    path, model, _ = saved(tmp_path)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(load_checkpoint(path).model.decode(z), model.eval().decode(z))


@pytest.mark.parametrize("given", ["ck", "ck.json", "ck.safetensors"])
def test_either_file_name_or_the_stem_loads(tmp_path, given):
    saved(tmp_path)
    assert load_checkpoint(tmp_path / given).step == 42
    assert read_metadata(tmp_path / given)["step"] == 42


def test_list_checkpoints_finds_valid_ones_with_metadata(tmp_path):
    saved(tmp_path, name="b-aae", kind="aae", step=7, metrics={"prior_fit": 0.25}, description="demo")
    saved(tmp_path, name="a-vae", kind="vae", latent_dim=8, step=3)
    saved(tmp_path, name="orphan")
    (tmp_path / "orphan.safetensors").unlink()
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "broken.safetensors").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    infos = list_checkpoints(tmp_path)
    assert [i.name for i in infos] == ["a-vae", "b-aae"]
    vae, aae = infos
    assert (vae.kind, vae.latent_dim, vae.step, vae.preset) == ("vae", 8, 3, "small")
    assert (aae.kind, aae.prior, aae.dataset, aae.step) == ("aae", "mog10", "synthetic", 7)
    assert aae.metrics == {"prior_fit": 0.25} and aae.description == "demo"
    assert aae.path == tmp_path / "b-aae.json" and aae.created_at
    assert list_checkpoints(tmp_path / "missing") == []


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    saved(tmp_path)
    saved(tmp_path)  # overwriting in place as well
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "ck.safetensors"]


def test_save_creates_missing_folders(tmp_path):
    path, _, _ = saved(tmp_path / "deep" / "er")
    assert path.is_file() and load_checkpoint(path).step == 42


# -- refusing what is not a checkpoint -----------------------------------------------------------

@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_pickle_renamed_to_safetensors_is_refused_without_running(tmp_path, how):
    saved(tmp_path)
    marker = tmp_path / "pwned"
    payload = {"encoder.net.0.weight": Evil(marker)}
    st_path = tmp_path / "ck.safetensors"
    if how == "pickle":
        st_path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, st_path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="ck.safetensors"):
        load_checkpoint(tmp_path / "ck")
    assert not marker.exists()
    # and the sanity check of the test itself: unpickling this payload does run code
    pickle.loads(pickle.dumps(Evil(tmp_path / "control")))
    assert (tmp_path / "control").exists()


def test_pickle_with_a_small_header_length_is_refused(tmp_path):
    """Protocol-0 pickles are text: the first 8 bytes still read as a huge header length, but a
    crafted one can be made to look small; it must fail as a damaged file, not be unpickled."""
    saved(tmp_path)
    marker = tmp_path / "pwned"
    body = pickle.dumps(Evil(marker), protocol=0)
    (tmp_path / "ck.safetensors").write_bytes(len(body).to_bytes(8, "little") + body)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "ck")
    assert not marker.exists()


def test_truncated_weights_are_refused(tmp_path):
    saved(tmp_path)
    st_path = tmp_path / "ck.safetensors"
    data = st_path.read_bytes()
    st_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "ck")
    msg = str(info.value)
    assert "ck.safetensors" in msg
    assert "truncated" in msg or "damaged" in msg


@pytest.mark.parametrize("n_bytes", [0, 5, 8, 20])
def test_tiny_weight_files_are_refused(tmp_path, n_bytes):
    saved(tmp_path)
    st_path = tmp_path / "ck.safetensors"
    st_path.write_bytes(st_path.read_bytes()[:n_bytes])
    with pytest.raises(CheckpointError, match="truncated|damaged"):
        load_checkpoint(tmp_path / "ck")


def test_mismatched_architecture_names_tensor_and_shapes(tmp_path):
    saved(tmp_path)  # small preset weights
    meta_path = tmp_path / "ck.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["model"]["preset"] = "paper"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(meta_path)
    msg = str(info.value)
    assert "encoder.net.0.weight" in msg
    assert "(512, 784)" in msg and "(1000, 784)" in msg


def test_weights_of_another_model_kind_are_refused(tmp_path):
    saved(tmp_path, kind="ae")
    meta_path = tmp_path / "ck.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["model"]["kind"] = meta["model_kind"] = "aae"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="missing.*discriminator"):
        load_checkpoint(meta_path)


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_wrong_format_version_is_refused(tmp_path, version):
    path, _, _ = saved(tmp_path)
    meta = json.loads(path.read_text())
    meta["format_version"] = version
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(path)


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", "", "\xff\xfe"])
def test_corrupt_json_is_refused(tmp_path, text):
    path, _, _ = saved(tmp_path)
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(CheckpointError, match="ck.json"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m["config"]["model"].update(latent_dim=0), "invalid config"),
        (lambda m: m["config"]["model"].update(depth=3), "invalid config"),
        (lambda m: m.update(config="aae"), "invalid config"),
        (lambda m: m.update(model_kind="vae"), "model_kind"),
        (lambda m: m.update(step=-1), "step"),
        (lambda m: m.update(step=1.5), "step"),
        (lambda m: m.update(metrics=[1]), "metrics"),
    ],
)
def test_invalid_metadata_is_refused(tmp_path, change, match):
    path, _, _ = saved(tmp_path)
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_missing_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="metadata file not found"):
        load_checkpoint(tmp_path / "nothing")
    saved(tmp_path)
    (tmp_path / "ck.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file not found"):
        load_checkpoint(tmp_path / "ck")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_weights_are_refused(tmp_path, bad):
    cfg = run_config()
    model = seeded_model(cfg.model, 0)
    with torch.no_grad():
        model.decoder.net[0].weight[0, 0] = bad
    save_checkpoint(tmp_path / "ck", model, cfg, step=1)
    with pytest.raises(CheckpointError, match="decoder.net.0.weight.*NaN or infinite"):
        load_checkpoint(tmp_path / "ck")


def test_integer_tensors_are_refused(tmp_path):
    from safetensors.torch import save_file

    path, model, _ = saved(tmp_path)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors["decoder.net.0.bias"] = tensors["decoder.net.0.bias"].to(torch.int32)
    save_file(tensors, str(tmp_path / "ck.safetensors"))
    with pytest.raises(CheckpointError, match="decoder.net.0.bias.*dtype"):
        load_checkpoint(path)


def test_oversized_metadata_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    meta = json.loads(path.read_text())
    meta["description"] = "x" * 2_100_000
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="bytes"):
        read_metadata(path)


def _umask() -> int | None:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return None


def test_checkpoint_files_honour_the_umask(tmp_path):
    """Autosaves and shipped checkpoints must be readable by the other users of a shared folder."""
    umask = _umask()
    if umask is None:
        pytest.skip("no /proc/self/status to read the umask from")
    saved(tmp_path)
    for name in ("ck.json", "ck.safetensors"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import aae.checkpoints as ck

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        saved(tmp_path)
    assert list(tmp_path.iterdir()) == []
