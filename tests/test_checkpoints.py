"""aae.checkpoints: exact round trips, listing, and refusing anything that is not a checkpoint of
the architecture its metadata describes — above all, never unpickling."""

from __future__ import annotations

import json
import math
import os
import pickle
import time
from pathlib import Path

import pytest
import torch

from aae.checkpoints import (
    FORMAT_VERSION,
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    read_metadata,
    remove_stale_temporaries,
    resolve_save_path,
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


def test_list_checkpoints_lists_valid_ones_with_metadata_and_bad_ones_as_unreadable(tmp_path):
    saved(tmp_path, name="b-aae", kind="aae", step=7, metrics={"prior_fit": 0.25}, description="demo")
    saved(tmp_path, name="a-vae", kind="vae", latent_dim=8, step=3)
    saved(tmp_path, name="orphan")
    (tmp_path / "orphan.safetensors").unlink()
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "broken.safetensors").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "classifier.json").write_text(json.dumps({"kind": "digit-classifier", "format_version": 1}))
    infos = {i.name: i for i in list_checkpoints(tmp_path)}
    assert sorted(infos) == ["a-vae", "b-aae", "broken", "orphan"]
    vae, aae = infos["a-vae"], infos["b-aae"]
    assert vae.readable and aae.readable and vae.error is None
    assert (vae.kind, vae.latent_dim, vae.step, vae.preset) == ("vae", 8, 3, "small")
    assert (aae.kind, aae.prior, aae.dataset, aae.step) == ("aae", "mog10", "synthetic", 7)
    assert aae.metrics == {"prior_fit": 0.25} and aae.description == "demo"
    assert aae.path == tmp_path / "b-aae.json" and aae.created_at
    assert not infos["broken"].readable and infos["broken"].error.startswith("unreadable: broken.json")
    assert infos["orphan"].error == "unreadable: orphan.safetensors: weights file not found"
    assert list_checkpoints(tmp_path / "missing") == []


def test_listing_reads_the_weights_header_but_no_tensor(tmp_path):
    """A truncated weights file is listed as unreadable (its header says more bytes than it has)."""
    saved(tmp_path)
    st_path = tmp_path / "ck.safetensors"
    st_path.write_bytes(st_path.read_bytes()[:-10])
    (info,) = list_checkpoints(tmp_path)
    assert not info.readable and "truncated" in info.error


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    saved(tmp_path)
    saved(tmp_path, overwrite=True)  # replacing in place as well
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


@pytest.mark.parametrize("version", [0, 3, "2", None, True, 2.0])
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


def test_failed_write_is_a_checkpoint_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import aae.checkpoints as ck

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.os, "link", boom)
    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(CheckpointError, match="could not be saved.*No space left"):
        saved(tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- where saves may go, and never replacing without being asked ---------------------------------

@pytest.fixture
def save_root(tmp_path, monkeypatch):
    root = tmp_path / "saved"
    monkeypatch.setenv("AAE_SAVE_DIR", str(root))
    monkeypatch.delenv("AAE_ALLOW_ANY_SAVE_DIR", raising=False)
    return root


def test_save_path_defaults_to_the_save_folder(save_root):
    assert resolve_save_path("", "my-run") == save_root.resolve() / "my-run"
    assert resolve_save_path(None, "my-run") == save_root.resolve() / "my-run"
    assert resolve_save_path("class-a", "my-run") == save_root.resolve() / "class-a" / "my-run"
    assert resolve_save_path(save_root / "b", "x") == save_root.resolve() / "b" / "x"
    assert not save_root.exists()  # checking creates nothing


@pytest.mark.parametrize("folder_of", [
    lambda root, tmp: tmp / "elsewhere",
    lambda root, tmp: "../../elsewhere",
    lambda root, tmp: root / ".." / "x",
    lambda root, tmp: Path.home(),
    lambda root, tmp: "/",
])
def test_save_path_outside_the_save_folder_is_refused(save_root, tmp_path, folder_of):
    with pytest.raises(CheckpointError, match=r"save folder|'\.\.'"):
        resolve_save_path(folder_of(save_root, tmp_path), "x")


def test_a_symlink_inside_the_save_folder_cannot_lead_out(save_root, tmp_path):
    save_root.mkdir()
    (save_root / "out").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(CheckpointError, match="save folder"):
        resolve_save_path("out", "x")


def test_any_folder_only_with_the_documented_setting(save_root, tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_ALLOW_ANY_SAVE_DIR", "1")
    assert resolve_save_path(tmp_path / "elsewhere", "x") == tmp_path / "elsewhere" / "x"
    with pytest.raises(CheckpointError, match=r"'\.\.'"):
        resolve_save_path(tmp_path / "a" / ".." / "b", "x")


@pytest.mark.parametrize("name,match", [
    ("", "needs a name"), ("a\x00b", "NUL"), ("a/b", "separator"), ("a\\b", "separator"), ("..", r"'\.\.'"),
    (".hidden", "start with a dot"), ("-rf", "start with"), ("x" * 300, "at most 100 characters"),
    ("tab\there", "U\\+0009"), ("a*b", "letters, digits"), ("trailing ", "end in"),
])
def test_unsafe_names_are_refused_with_a_checkpoint_error(save_root, name, match):
    with pytest.raises(CheckpointError, match=match) as info:
        resolve_save_path("", name)
    assert type(info.value) is CheckpointError
    assert "\n" not in str(info.value)


def test_nul_in_the_folder_is_a_checkpoint_error(save_root):
    with pytest.raises(CheckpointError, match="NUL"):
        resolve_save_path("a\x00b", "x")
    with pytest.raises(CheckpointError, match="NUL"):
        save_checkpoint(save_root / "a\x00b" / "x", seeded_model(run_config().model, 0), run_config(), step=1)


def test_names_of_letters_digits_and_spaces_are_fine(save_root):
    for name in ("aae-mog10", "Class 3 (Tuesday)", "数字 2", "run_1.5"):
        assert resolve_save_path("", name).name == name


def test_an_existing_name_is_replaced_only_when_asked(save_root):
    _, model, cfg = saved(save_root, name="mine", step=5)
    before = {p.name: p.read_bytes() for p in save_root.iterdir()}
    with pytest.raises(CheckpointError, match="already exists"):
        resolve_save_path("", "mine")
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(save_root / "mine", model, cfg, step=6)
    assert {p.name: p.read_bytes() for p in save_root.iterdir()} == before
    assert resolve_save_path("", "mine", overwrite=True) == save_root.resolve() / "mine"
    save_checkpoint(save_root / "mine", model, cfg, step=6, overwrite=True)
    assert load_checkpoint(save_root / "mine").step == 6


def test_a_lone_weights_file_also_blocks_the_name(save_root):
    save_root.mkdir()
    (save_root / "x.safetensors").write_bytes(b"someone's")
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(save_root / "x", seeded_model(run_config().model, 0), run_config(), step=1)
    assert (save_root / "x.safetensors").read_bytes() == b"someone's"


def test_two_saves_racing_for_one_new_name_never_both_win(save_root):
    import threading

    cfg = run_config()
    models = [seeded_model(cfg.model, s) for s in range(6)]
    results: list[object] = [None] * len(models)
    barrier = threading.Barrier(len(models))

    def save(i):
        barrier.wait()
        try:
            results[i] = save_checkpoint(save_root / "race", models[i], cfg, step=i)
        except CheckpointError as e:
            results[i] = e

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(models))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in enumerate(results) if not isinstance(r, CheckpointError)]
    assert len(winners) == 1
    loaded = load_checkpoint(save_root / "race")
    assert loaded.step == winners[0]
    assert torch.equal(loaded.model.state_dict()["decoder.net.0.weight"],
                       models[winners[0]].state_dict()["decoder.net.0.weight"])
    assert sorted(p.name for p in save_root.iterdir()) == ["race.json", "race.safetensors"]


def test_the_shipped_folder_is_never_written_without_the_pretrain_flag(tmp_path, monkeypatch):
    import aae.checkpoints as ck

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setattr(ck, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("AAE_SAVE_DIR", str(shipped.parent))
    monkeypatch.setenv("AAE_ALLOW_ANY_SAVE_DIR", "1")
    cfg = run_config()
    model = seeded_model(cfg.model, 0)
    for overwrite in (False, True):
        with pytest.raises(CheckpointError, match="shipped checkpoints are read-only"):
            save_checkpoint(shipped / "aae-gaussian", model, cfg, step=1, overwrite=overwrite)
        with pytest.raises(CheckpointError, match="shipped checkpoints are read-only"):
            resolve_save_path(shipped, "aae-gaussian", overwrite=overwrite)
    assert list(shipped.iterdir()) == []
    save_checkpoint(shipped / "aae-gaussian", model, cfg, step=1, allow_shipped=True)
    assert load_checkpoint(shipped / "aae-gaussian").step == 1


def test_a_checkpoint_never_says_where_to_write(tmp_path):
    """data.root is neither saved nor taken from a file: ``eval`` and the dashboard would write there."""
    cfg = run_config()
    cfg = cfg.replace(data=cfg.data.replace(root=str(tmp_path / "my-data")))
    save_checkpoint(tmp_path / "ck", seeded_model(cfg.model, 0), cfg, step=1)
    assert json.loads((tmp_path / "ck.json").read_text())["config"]["data"]["root"] is None
    meta = json.loads((tmp_path / "ck.json").read_text())
    meta["config"]["data"]["root"] = str(tmp_path / "evil")
    (tmp_path / "ck.json").write_text(json.dumps(meta))
    assert load_checkpoint(tmp_path / "ck").config.data.root is None
    assert read_metadata(tmp_path / "ck")["config_obj"].data.root is None
    assert not (tmp_path / "evil").exists()


# -- the pair commits as one unit ----------------------------------------------------------------

def test_numpy_metrics_are_kept_and_non_finite_ones_left_out(tmp_path):
    import numpy as np

    saved(tmp_path, metrics={"a": np.float32(0.5), "b": np.float64(2.0), "c": math.nan, "d": 3})
    assert load_checkpoint(tmp_path / "ck").metrics == {"a": 0.5, "b": 2.0, "d": 3.0}


def test_the_json_records_the_weights_hash(tmp_path):
    import hashlib

    path, _, _ = saved(tmp_path)
    meta = json.loads(path.read_text())
    assert meta["format_version"] == 2
    assert meta["weights_sha256"] == hashlib.sha256((tmp_path / "ck.safetensors").read_bytes()).hexdigest()


def test_weights_of_another_save_are_refused(tmp_path):
    """Two saves of the same architecture: a JSON must never vouch for the other's weights."""
    saved(tmp_path, name="a", seed=1, step=10)
    saved(tmp_path, name="b", seed=2, step=20)
    (tmp_path / "b.safetensors").replace(tmp_path / "a.safetensors")
    with pytest.raises(CheckpointError, match="not the ones a.json was saved with"):
        load_checkpoint(tmp_path / "a")


def test_version_1_checkpoints_still_load(tmp_path):
    path, model, _ = saved(tmp_path)
    meta = json.loads(path.read_text())
    meta["format_version"] = 1
    del meta["weights_sha256"]
    path.write_text(json.dumps(meta))
    assert torch.equal(load_checkpoint(path).model.state_dict()["decoder.net.0.weight"],
                       model.state_dict()["decoder.net.0.weight"])
    with pytest.raises(CheckpointError, match="unknown metadata"):
        meta["weights_sha256"] = "0" * 64
        path.write_text(json.dumps(meta))
        load_checkpoint(path)


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (the save's own clean-up is switched off too)."""


@pytest.fixture
def killable(monkeypatch):
    """``kill_at(n)``: the n-th rename of the next save dies; returns a function that restores."""
    import aae.checkpoints as ck

    calls = {"n": 0, "at": None}
    real_replace, real_link = os.replace, os.link

    def counted(real):
        def op(src, dst, *a, **k):
            if calls["at"] is not None and calls["n"] == calls["at"]:
                raise Killed()
            calls["n"] += 1
            return real(src, dst, *a, **k)
        return op

    monkeypatch.setattr(ck.os, "replace", counted(real_replace))
    monkeypatch.setattr(ck.os, "link", counted(real_link))
    real_discard = ck._discard

    def kill_at(n):
        calls.update(n=0, at=n)
        monkeypatch.setattr(ck, "_discard", lambda tmp: None)

    def revive():
        calls.update(n=0, at=None)
        monkeypatch.setattr(ck, "_discard", real_discard)
        ck._in_flight.clear()   # the dead writer's files are no longer anyone's

    return kill_at, revive


@pytest.mark.parametrize("overwrite", [True, False])
@pytest.mark.parametrize("kill_at", [0, 1, 2])
def test_a_save_killed_at_any_rename_leaves_a_consistent_checkpoint(tmp_path, killable, kill_at, overwrite):
    """Old pair at step 1; a save of new weights at step 2 dies before, between or after its renames.
    Whatever is on disk loads as one of the two saves, exactly; clean-up then leaves only the pair."""
    kill, revive = killable
    cfg = run_config()
    old, new = seeded_model(cfg.model, 1), seeded_model(cfg.model, 2)
    name = "ck" if overwrite else "fresh"
    if overwrite:
        save_checkpoint(tmp_path / name, old, cfg, step=1)
    kill(kill_at)
    try:
        save_checkpoint(tmp_path / name, new, cfg, step=2, overwrite=overwrite)
        finished = True
    except Killed:
        finished = False
    revive()
    assert finished == (kill_at == 2)
    renamed = min(kill_at, 2)   # how many of the two renames happened
    expect_step = 2 if renamed >= 1 else (1 if overwrite else None)
    for _ in range(2):          # before clean-up (read-only recovery), then after it
        if expect_step is None:
            assert list_checkpoints(tmp_path) == []
            with pytest.raises(CheckpointError, match="not found"):
                load_checkpoint(tmp_path / name)
        else:
            loaded = load_checkpoint(tmp_path / name)
            assert loaded.step == expect_step
            ref = (new if expect_step == 2 else old).state_dict()
            assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in ref.items())
            (info,) = list_checkpoints(tmp_path)
            assert info.readable and info.step == expect_step
        remove_stale_temporaries(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    if expect_step is not None:  # recovered for good: the JSON in place is the weights' own
        assert json.loads((tmp_path / f"{name}.json").read_text())["step"] == expect_step


def test_a_half_written_json_is_ignored_and_removed(tmp_path):
    saved(tmp_path, step=1)
    partial = tmp_path / f".ck.json.{_host()}-{os.getpid()}-{'ab' * 6}.tmp"
    partial.write_text('{"format_version": 2, "step": 2, "conf')
    assert load_checkpoint(tmp_path / "ck").step == 1
    assert remove_stale_temporaries(tmp_path) == [partial]
    assert load_checkpoint(tmp_path / "ck").step == 1


def _host() -> str:
    import aae.checkpoints as ck
    return ck._HOST


def test_stale_temporary_files_are_removed_by_the_next_save(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    leftovers = [tmp_path / f".ck.safetensors.{_host()}-{dead_pid}-{'cd' * 6}.tmp",
                 tmp_path / f".other.json.{'ef' * 6}.tmp"]          # a pre-version-2 name, an hour old
    for p in leftovers:
        p.write_bytes(b"x" * 1000)
    old = time.time() - 7200
    os.utime(leftovers[1], (old, old))
    alive = tmp_path / f".ck.json.{_host()}-{os.getppid()}-{'aa' * 6}.tmp"   # a live writer's: kept
    alive.write_bytes(b"{")
    saved(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ck.json", "ck.safetensors", alive.name])


SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


@pytest.mark.parametrize("json_path", sorted(p for p in SHIPPED_DIR.glob("*.json") if p.with_suffix(".safetensors").is_file()
                                             and p.stem != "digit-classifier"),   # its own format (test_classifier)
                         ids=lambda p: p.stem)
def test_every_shipped_checkpoint_loads_with_todays_code(json_path):
    """A config field renamed or moved (e.g. into a recipe) must not leave a shipped model that the
    Lesson, the Explorer and Compare silently cannot open."""
    loaded = load_checkpoint(json_path.with_suffix(""))
    assert loaded.step > 0 and loaded.config.model.kind
