"""Checkpoint storage: what storing the weights in another dtype does to each shipped model.

For every model checkpoint in ``checkpoints/`` (or ``--folder``) the stored weights are written
again in ``--dtype`` (default int8: per-row int8 weight matrices with float16 scales, see
``aae.checkpoints.STORAGE_DTYPES``) through ``save_checkpoint`` into a temporary folder, loaded
back through ``load_checkpoint``, and both versions are measured side by side on the same data
and the same prior samples:

* the referee (``aae.metrics.referee_accuracy``, 15-NN, 5 folds) of all 5,000 mnist-5k codes
  against 5,000 prior samples, for three prior samples (the spread is the referee's own noise);
* the reconstruction error (MSE per pixel) of the 500 held-out digits (the supervised AAE's
  decoder gets their labels);
* the 5-NN accuracy of the held-out codes against the codes of the 4,500 training digits;
* the largest change of a code, and the weights file's size.

    python -m benchmarks.checkpoint_storage                 # the shipped checkpoints, int8
    python -m benchmarks.checkpoint_storage --dtype float16 --folder runs/
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile

import numpy as np
import torch

from aae import metrics as M
from aae.checkpoints import STORAGE_DTYPES, list_checkpoints, load_checkpoint, save_checkpoint
from aae.data import load_dataset, to_float
from aae.priors import prior_from_config

SHIPPED = pathlib.Path(__file__).resolve().parents[1] / "checkpoints"
KINDS = ("ae", "vae", "aae", "labelled_aae", "supervised_aae")   # kinds whose code is one z per digit
SAMPLE_SEEDS = (0, 1, 2)
REFEREE_K, REFEREE_FOLDS = 15, 5


def _encode(model, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.encode(x).numpy()


def measure(model, kind: str, data, prior) -> dict:
    """The referee (per prior sample), reconstruction error and 5-NN accuracy of one model."""
    model.eval()
    x_train, x_test = to_float(data.train_images), to_float(data.test_images)
    train_codes, test_codes = _encode(model, x_train), _encode(model, x_test)
    codes = np.concatenate([train_codes, test_codes])                           # (5000, Z)
    referees = []
    for seed in SAMPLE_SEEDS:
        p = prior.sample(len(codes), generator=torch.Generator().manual_seed(100 + seed)).numpy()
        referees.append(M.referee_accuracy(codes, p, k=REFEREE_K, folds=REFEREE_FOLDS, seed=seed))
    with torch.no_grad():
        labels = data.test_labels if kind == "supervised_aae" else None
        recon = (model.reconstruct(x_test, labels) if labels is not None else model.reconstruct(x_test))
    return {"referee": referees, "codes": codes,
            "recon_error": M.reconstruction_error(x_test.numpy(), recon.reshape(len(x_test), -1).numpy()),
            "knn_acc": M.knn_accuracy(train_codes, data.train_labels.numpy(), test_codes,
                                      data.test_labels.numpy(), k=5)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", default=str(SHIPPED))
    ap.add_argument("--dtype", default="int8", choices=STORAGE_DTYPES)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = pathlib.Path(args.folder)
    print(f"{folder.name}/: each model as stored vs re-stored as {args.dtype}; referee of 5,000 codes vs 5,000 "
          f"prior samples (median of {len(SAMPLE_SEEDS)} samples, and their range), recon error and 5-NN of "
          f"the 500 held-out digits")
    head = (f"{'model':<22}{'stored':>8}{'kB':>7} {'referee (range)':>22}{'recon':>9}{'5-NN':>7}   "
            f"{args.dtype:>8}{'kB':>7} {'referee (range)':>22}{'recon':>9}{'5-NN':>7}{'max Δz':>8}")
    print(head)
    total = {"before": 0, "after": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for info in list_checkpoints(folder):
            if not info.readable or info.kind not in KINDS:
                continue
            stem = info.path.with_suffix("")
            ck = load_checkpoint(stem)
            data = load_dataset(ck.config.data.name, seed=ck.config.data.seed)
            prior = prior_from_config(ck.config.prior, ck.config.model.latent_dim)
            re_stored = save_checkpoint(pathlib.Path(tmp) / info.name, ck.model, ck.config, step=ck.step,
                                        metrics=ck.metrics, dtype=args.dtype)
            again = load_checkpoint(re_stored)
            before, after = measure(ck.model, info.kind, data, prior), measure(again.model, info.kind, data, prior)
            kb_before = stem.with_suffix(".safetensors").stat().st_size / 1000
            kb_after = re_stored.with_suffix(".safetensors").stat().st_size / 1000
            total["before"] += kb_before
            total["after"] += kb_after

            def cells(m, kb, dtype):
                r = m["referee"]
                return (f"{dtype:>8}{kb:>7.0f} {statistics.median(r):>9.3f} ({min(r):.3f}-{max(r):.3f})"
                        f"{m['recon_error']:>9.4f}{m['knn_acc']:>7.3f}")
            dz = float(np.abs(before["codes"] - after["codes"]).max())
            print(f"{info.name:<22}{cells(before, kb_before, ck.meta['dtype'])}   "
                  f"{cells(after, kb_after, args.dtype)}{dz:>8.4f}", flush=True)
    print(f"weights files of these models: {total['before'] / 1000:.2f} MB as stored, "
          f"{total['after'] / 1000:.2f} MB as {args.dtype} ({total['after'] / max(total['before'], 1e-9):.2f}x)")


if __name__ == "__main__":
    main()
