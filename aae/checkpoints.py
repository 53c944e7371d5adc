"""Checkpoints: ``NAME.safetensors`` (tensors only) + ``NAME.json`` (everything else).

The JSON holds the format version, the model kind, the full ``RunConfig`` (so loading never
guesses the architecture), the step, metrics, creation time and package versions. Both files are
written to a temporary name and renamed, so a crash never leaves half a checkpoint behind.

Loading never unpickles: safetensors is a JSON header plus raw bytes. A pickle renamed to
``.safetensors``, a truncated file, a wrong format version or a tensor whose shape does not match
the architecture in the JSON is refused with a ``CheckpointError`` that says what is wrong.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import __version__
from .config import ConfigError, RunConfig
from .models import Autoencoder
from .train import seeded_model

FORMAT_VERSION = 1
MAX_JSON_BYTES = 2_000_000          # metadata is small; anything bigger is not ours
MAX_TENSOR_BYTES = 512 * 2**20      # the paper preset in float32 is ~30 MB


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged, of another format, or does not fit its architecture."""


@dataclass(frozen=True)
class CheckpointInfo:
    name: str
    path: Path                 # the .json file
    kind: str
    prior: str
    dataset: str
    preset: str
    latent_dim: int
    step: int
    metrics: dict[str, float]
    created_at: str
    description: str = ""


@dataclass
class LoadedCheckpoint:
    model: Autoencoder
    config: RunConfig
    step: int
    metrics: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".safetensors")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are mode 0600, so a checkpoint in a shared folder (a class
    # server's autosaves, the shipped checkpoints/) would be unreadable to everyone else;
    # open(..., "xb") honours the umask, as aae.data does for downloads.
    while True:
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp"))
        try:
            f = open(tmp, "xb")
            break
        except FileExistsError:
            continue
    try:
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _versions() -> dict[str, str]:
    import numpy
    import safetensors
    return {"aae": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "safetensors": safetensors.__version__, "python": platform.python_version()}


def save_checkpoint(path: str | os.PathLike, model: Autoencoder, config: RunConfig, *, step: int,
                    metrics: dict[str, float] | None = None, half: bool = False,
                    description: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Write ``path.safetensors`` + ``path.json`` atomically; returns the JSON's path.

    ``half=True`` stores float16 weights (half the size; used for the shipped checkpoints).
    """
    json_path, st_path = _paths(path)
    tensors = {k: (v.detach().to("cpu", torch.float16 if half else torch.float32)).contiguous()
               for k, v in model.state_dict().items()}
    meta = {
        "format_version": FORMAT_VERSION,
        "model_kind": model.kind,
        "config": config.to_dict(),
        "step": int(step),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "dtype": "float16" if half else "float32",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "description": description,
        "extra": extra or {},
    }
    _atomic_write(st_path, st_save(tensors, metadata={"format_version": str(FORMAT_VERSION)}))
    _atomic_write(json_path, json.dumps(meta, indent=2, sort_keys=True).encode())
    return json_path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The validated JSON half of a checkpoint (no tensors read)."""
    json_path, _ = _paths(path)
    if not json_path.is_file():
        raise CheckpointError(f"{json_path}: metadata file not found")
    size = json_path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise CheckpointError(f"{json_path.name}: metadata is {size:,} bytes, more than a checkpoint ever has")
    try:
        meta = json.loads(json_path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{json_path.name}: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{json_path.name}: metadata must be a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{json_path.name}: format version {version!r} is not supported "
                              f"(this AAE Lab reads version {FORMAT_VERSION})")
    try:
        config = RunConfig.from_dict(meta.get("config"))
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{json_path.name}: invalid config: {e}") from None
    if meta.get("model_kind") != config.model.kind:
        raise CheckpointError(f"{json_path.name}: model_kind {meta.get('model_kind')!r} does not match "
                              f"the config's {config.model.kind!r}")
    if not isinstance(meta.get("step"), int) or meta["step"] < 0:
        raise CheckpointError(f"{json_path.name}: step must be a non-negative integer")
    if not isinstance(meta.get("metrics", {}), dict):
        raise CheckpointError(f"{json_path.name}: metrics must be an object")
    meta["config_obj"] = config
    return meta


def _read_tensors(st_path: Path) -> dict[str, torch.Tensor]:
    if not st_path.is_file():
        raise CheckpointError(f"{st_path.name}: weights file not found")
    size = st_path.stat().st_size
    if size > MAX_TENSOR_BYTES:
        raise CheckpointError(f"{st_path.name}: {size:,} bytes is larger than any AAE Lab model")
    data = st_path.read_bytes()
    if len(data) < 8:
        raise CheckpointError(f"{st_path.name}: file is truncated ({len(data)} bytes)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > len(data) - 8 or header_len > 10_000_000:
        raise CheckpointError(f"{st_path.name}: not a safetensors file (a pickle or other format?) "
                              f"or truncated: header claims {header_len:,} bytes, file has {len(data):,}")
    try:
        return st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{st_path.name}: damaged or truncated safetensors file ({e})") from None


def load_checkpoint(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Rebuild the model from the JSON's config and load its weights, checking every tensor."""
    meta = read_metadata(path)
    config: RunConfig = meta.pop("config_obj")
    _, st_path = _paths(path)
    tensors = _read_tensors(st_path)
    model = seeded_model(config.model, 0)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{st_path.name}: tensors do not match a {config.model.kind.upper()} '{config.model.preset}' "
            f"model with a {config.model.latent_dim}-D code: missing {missing[:4] or 'none'}, "
            f"unexpected {unexpected[:4] or 'none'}")
    for name, ref in expected.items():
        t = tensors[name]
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"{st_path.name}: tensor {name} has shape {tuple(t.shape)}, the architecture "
                                  f"in the metadata needs {tuple(ref.shape)} (mismatched architecture)")
        if not t.is_floating_point():
            raise CheckpointError(f"{st_path.name}: tensor {name} has dtype {t.dtype}, expected floating point")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{st_path.name}: tensor {name} contains NaN or infinite values")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.to(device).eval()
    return LoadedCheckpoint(model=model, config=config, step=meta["step"],
                            metrics=dict(meta.get("metrics", {})), meta=meta)


def list_checkpoints(directory: str | os.PathLike) -> list[CheckpointInfo]:
    """Valid checkpoints in ``directory`` (both files present, metadata valid), sorted by name.
    Invalid ones are skipped here; loading one directly reports what is wrong."""
    d = Path(directory)
    if not d.is_dir():
        return []
    out: list[CheckpointInfo] = []
    for json_path in sorted(d.glob("*.json")):
        st_path = json_path.with_suffix(".safetensors")
        if not st_path.is_file():
            continue
        try:
            meta = read_metadata(json_path)
        except CheckpointError:
            continue
        cfg: RunConfig = meta["config_obj"]
        out.append(CheckpointInfo(
            name=json_path.stem, path=json_path, kind=cfg.model.kind, prior=cfg.prior.name,
            dataset=cfg.data.name, preset=cfg.model.preset, latent_dim=cfg.model.latent_dim,
            step=meta["step"], metrics=dict(meta.get("metrics", {})),
            created_at=str(meta.get("created_at", "")), description=str(meta.get("description", ""))))
    return out
