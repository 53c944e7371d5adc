"""The paper's Table 1 on our models: an AAE and a VAE with the same networks, data and budget.

Both models have the paper's likelihood setting (§3): 8-D codes, a Gaussian prior, the ``paper``
preset (784-1000-1000-8, D 1000-1000). They train for the same number of batches (``--steps``,
batch 100) on the training digits minus a validation split (`aae.likelihood.validation_split`:
a sixth of the training set, at most 10,000, as Goodfellow et al.'s 10,000 of 60,000); the Parzen
σ is chosen on that split and the test set is scored with ``--samples`` decoder samples
(`aae.likelihood.log_likelihood`). Prints both rows beside the paper's and writes the table that
the dashboard shows (``checkpoints/likelihood_table.json``).

    python -m benchmarks.likelihood                           # mnist-5k, CPU, 1 thread
    python -m benchmarks.likelihood --preset small --steps 3000 --out runs/likelihood-small.json
    python -m benchmarks.likelihood --dataset mnist --device cuda --steps 30000   # full MNIST, a GPU

A model's number moves with its training seed more than its standard error says (the error is
over test digits only); ``--seeds 0 1 2`` trains each model once per seed and reports every run.

Measured on mnist-5k (3,750 training digits, 750 for σ, 500 test digits, 10,000 samples, seed 0,
1 thread; checkpoints/likelihood_table.json):

    preset, steps, seed   AAE            VAE
    paper, 1,000, 0       241.9 ± 8.9    263.9 ± 8.5
    small, 6,000, 0       243.6 ± 8.9    252.5 ± 8.7
    small, 6,000, 1       247.0 ± 8.7    251.1 ± 8.9
    small, 6,000, 2       245.2 ± 8.8    249.4 ± 9.1

The AAE is below the VAE in every run (by 4-9 nats at 6,000 steps, 22 at 1,000 with the paper
preset), within one standard error at 6,000 steps: the paper's order (AAE 340 > VAE 290) is not
reproduced on mnist-5k.

On an idle 2-core CPU one paper-preset AAE step takes ~0.3 s (6,000 steps would be ~30 min), so
the paper preset gets 1,000 steps here and the small preset the shipped checkpoints' 6,000.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from aae import likelihood as L
from aae.checkpoints import save_checkpoint
from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from aae.data import load_dataset
from aae.priors import prior_from_config
from aae.train import Trainer, device_description, resolve_device, seeded_model

LATENT_DIM = 8                  # the paper's MNIST likelihood runs (§3)
KINDS = ("aae", "vae")
# The paper's AAE for Table 1 has a deterministic encoder; a VAE's is always Gaussian.
ENCODER = {"aae": "deterministic", "vae": "gaussian"}


def train_one(kind: str, data, fit_idx: torch.Tensor, *, preset: str, steps: int, seed: int, device: str,
              quiet: bool) -> tuple[object, RunConfig, float]:
    """Train one model for ``steps`` batches on the fit digits; returns (model, config, seconds)."""
    config = RunConfig(data=DataConfig(name=data.name), prior=PriorConfig(name="gaussian"),
                       model=ModelConfig(kind=kind, preset=preset, latent_dim=LATENT_DIM, encoder=ENCODER[kind]),
                       train=TrainConfig(seed=seed, device=device))
    prior = prior_from_config(config.prior, LATENT_DIM)
    model = seeded_model(config.model, seed)
    trainer = Trainer(model, prior, data.train_images[fit_idx], data.train_labels[fit_idx], config=config.train)
    t0 = time.perf_counter()
    with tqdm(total=steps, desc=f"train {kind}", unit="step", disable=quiet, dynamic_ncols=True) as bar:
        for i in range(steps):
            m = trainer.step()
            if (i + 1) % 100 == 0 or i + 1 == steps:
                bar.set_postfix({k: f"{v:.3g}" for k, v in m.items() if k in ("recon", "kl", "disc", "gen")})
            bar.update(1)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize(trainer.device)
    return model.eval(), config, time.perf_counter() - t0


def _row_key(row: dict) -> tuple:
    """Rows of one measurement: a re-run with --append replaces the old row instead of adding one."""
    return tuple(row.get(k) for k in ("model", "dataset", "preset", "steps", "samples", "seed"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--preset", default="paper", choices=["small", "paper"])
    p.add_argument("--steps", type=int, default=1000, help="training batches per model (the same for both)")
    p.add_argument("--samples", type=int, default=L.PAPER_SAMPLES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="train only these models")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads on the CPU")
    p.add_argument("--out", default=str(L.TABLE_PATH), help="the table's JSON file")
    p.add_argument("--append", action="store_true",
                   help="keep the file's other rows (a row of the same model, data, preset, steps, samples and "
                        "seed is replaced)")
    p.add_argument("--save", default=None, help="also save both models as checkpoints in this folder")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    if a.steps < 1 or a.samples < 1 or a.threads < 1:
        p.error("--steps, --samples and --threads must be at least 1")

    torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    data = load_dataset(a.dataset)
    n_train = int(data.train_images.shape[0])
    n_val = L.default_validation_size(n_train)
    split_seed = 0
    fit_idx, val_idx = L.validation_split(n_train, n_val, seed=split_seed)
    validation, test = data.train_images[val_idx], data.test_images
    print(f"{a.dataset}: {len(fit_idx):,} training digits, {n_val:,} held out for σ, {len(test):,} test digits; "
          f"{a.preset} preset, {LATENT_DIM}-D Gaussian prior, {a.steps:,} steps of batch {TrainConfig.batch_size} "
          f"per model; {a.samples:,} samples; {device_description(device)}")

    context = {"dataset": a.dataset, "samples": a.samples, "preset": a.preset, "latent_dim": LATENT_DIM,
               "prior": "gaussian", "steps": a.steps, "batch_size": TrainConfig.batch_size, "n_train": len(fit_idx),
               "n_validation": n_val, "n_test": len(test), "device": device_description(device),
               "date": datetime.date.today().isoformat(),
               "command": " ".join(["python -m benchmarks.likelihood", *(sys.argv[1:] if argv is None else argv)])}
    rows = []
    for seed in a.seeds:
        for kind in a.kinds:
            model, config, train_s = train_one(kind, data, fit_idx, preset=a.preset, steps=a.steps, seed=seed,
                                               device=str(device), quiet=a.no_progress)
            prior = prior_from_config(config.prior, LATENT_DIM)
            result = L.log_likelihood(model, prior, validation, test, samples=a.samples, seed=seed, device=device)
            rows.append({"model": kind.upper(), "mean": round(result.mean, 2), "stderr": round(result.stderr, 2),
                         "sigma": round(result.sigma, 4), "seed": seed, **context,
                         "train_seconds": round(train_s, 1), "eval_seconds": round(result.seconds, 1)})
            print(f"  {kind.upper()} seed {seed}: {result.mean:.1f} ± {result.stderr:.1f} nats, "
                  f"σ = {result.sigma:.4g} "
                  f"(trained {train_s:.0f} s, scored {result.seconds:.0f} s)")
            if a.save:
                path = save_checkpoint(
                    Path(a.save) / f"{kind}-8d-{a.preset}-seed{seed}", model, config, step=a.steps, half=True,
                    description=f"{kind.upper()}, 8-D Gaussian prior, {a.preset} preset, {a.steps} steps on "
                                f"{a.dataset} minus {n_val} validation digits (benchmarks/likelihood.py)",
                    extra={L.HELD_OUT_KEY: {"n": n_val, "seed": split_seed, "n_train": n_train}})
                print(f"    saved {path}")

    print("\nParzen log-likelihood of the test set (nats, mean ± standard error over test digits)")
    for kind in a.kinds:
        mine = [r for r in rows if r["model"] == kind.upper()]
        line = ", ".join(f"{r['mean']:.1f} ± {r['stderr']:.1f}" for r in mine)
        median = f"  (median {statistics.median(r['mean'] for r in mine):.1f})" if len(mine) > 1 else ""
        print(f"  ours  {kind.upper():<4} {a.dataset:<10} {line}{median}")
    for r in L.paper_rows():
        print(f"  paper {r['model']:<26} {r['mean']:.0f} ± {r['stderr']:g}   {r['source']}")
    if a.append:
        fresh = {_row_key(r) for r in rows}
        rows = [r for r in L.measured_rows(a.out) if _row_key(r) not in fresh] + rows
    out = L.write_table(rows, path=a.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
