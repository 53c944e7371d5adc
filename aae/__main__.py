"""Command line: ``python -m aae {train,eval,likelihood,pretrain,download,bench} ...``.

    python -m aae train --model aae --prior mog10 --steps 3000 --out runs/aae-mog10
    python -m aae eval checkpoints/aae-mog10
    python -m aae likelihood runs/aae-8d         # Parzen log-likelihood of the test set (paper Table 1)
    python -m aae pretrain                      # regenerates the shipped checkpoints/
    python -m aae download mnist                # full MNIST (needs the network)
    python -m aae bench --steps 200             # steps/s of each model on this machine

Bad arguments exit with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import ConfigError, DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
from .kinds import kind_names
from .priors import PRIORS

EXIT_USAGE = 2
REPO_CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"

# The shipped checkpoints: 2-D small models on mnist-5k (see checkpoints/README.md).
PRETRAINED: dict[str, tuple[str, str]] = {
    **{f"aae-{name}": ("aae", name) for name in PRIORS},
    "ae": ("ae", "gaussian"),
    "vae-gaussian": ("vae", "gaussian"),
}
CLASSIFIER_NAME = "digit-classifier"  # scores decoded samples on the Compare page (aae.classifier)
PRETRAIN_STEPS = 6000  # ≈ 130 epochs of mnist-5k: every prior's fit ratio has settled by then


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m aae", description="AAE Lab command line")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train one model and save a checkpoint")
    t.add_argument("--model", default="aae", choices=list(kind_names()))
    t.add_argument("--prior", default="gaussian", choices=list(PRIORS))
    t.add_argument("--prior-scale", type=float, default=1.0)
    t.add_argument("--dataset", default="mnist-5k")
    t.add_argument("--preset", default="small", choices=["small", "paper"])
    t.add_argument("--encoder", default="deterministic", choices=["deterministic", "gaussian", "universal"])
    t.add_argument("--latent-dim", type=int, default=2)
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--lr-recon", type=float, default=TrainConfig.lr_recon)
    t.add_argument("--lr-disc", type=float, default=None, help="default: per prior (aae.train.PRIOR_RECIPES)")
    t.add_argument("--lr-gen", type=float, default=None, help="default: per prior (aae.train.PRIOR_RECIPES)")
    t.add_argument("--d-noise", type=float, default=TrainConfig.d_input_noise)
    t.add_argument("--disc-steps", type=int, default=TrainConfig.disc_steps, help="D updates per batch")
    t.add_argument("--d-penalty", type=float, default=None,
                   help="R1 gradient penalty weight on D (0: none; default: per prior, aae.train.PRIOR_RECIPES)")
    t.add_argument("--beta1", type=float, default=None,
                   help="Adam beta1 of the adversarial phases (default: per prior, aae.train.PRIOR_RECIPES)")
    t.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay,
                   help="decoupled weight decay of the reconstruction phase")
    t.add_argument("--input-dropout", type=float, default=TrainConfig.input_dropout,
                   help="share of input pixels zeroed in the reconstruction phase (denoising)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--data-dir", default=None, help="data folder (default: $AAE_DATA_DIR or ~/.cache/aae-lab)")
    t.add_argument("--out", default=None, help="checkpoint path without extension (default runs/MODEL-PRIOR)")
    t.add_argument("--half", action="store_true", help="store float16 weights")
    t.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("eval", help="print the metrics of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", default=None, help="evaluate on another dataset than the one trained on")
    e.add_argument("--data-dir", default=None)

    from . import likelihood
    likelihood.add_arguments(sub.add_parser(
        "likelihood", help="Parzen-window log-likelihood of the test set under decoder samples (paper Table 1)"))

    pt = sub.add_parser("pretrain", help="regenerate the shipped checkpoints")
    pt.add_argument("--out", default=str(REPO_CHECKPOINTS))
    pt.add_argument("--steps", type=int, default=PRETRAIN_STEPS)
    pt.add_argument("--only", nargs="+", choices=[*PRETRAINED, CLASSIFIER_NAME], default=None)
    pt.add_argument("--device", default="auto")
    pt.add_argument("--no-progress", action="store_true")

    d = sub.add_parser("download", help="download a dataset (needs the network)")
    d.add_argument("dataset", choices=["mnist", "fashion-mnist"])
    d.add_argument("--data-dir", default=None)

    b = sub.add_parser("bench", help="training steps/s of each model kind and preset on this machine")
    b.add_argument("--steps", type=int, default=200)
    b.add_argument("--device", default="auto")
    return p


def _progress(total: int, desc: str, disable: bool):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, disable=disable, file=sys.stderr)


def _train_fit(model, prior, data, n: int = 500) -> float:
    """Prior-fit ratio on training images (for choosing weights, so held-out digits stay unseen)."""
    import torch

    from . import metrics as M
    x = data.train_images[:n].reshape(n, -1).float().div(255).to(next(model.parameters()).device)
    model.eval()
    with torch.no_grad():
        codes = model.encode(x).cpu().numpy()
    model.train()
    g = torch.Generator().manual_seed(7)
    return M.prior_fit_ratio(codes, prior.sample(n, generator=g).numpy(), prior.sample(n, generator=g).numpy())


def train_run(config: RunConfig, steps: int, *, desc: str = "train", quiet: bool = False, keep_best: bool = False):
    """Train ``steps`` batches with a progress bar; returns (model, prior, dataset, metrics).

    ``keep_best`` (AAE): adversarial training oscillates, so keep the weights whose codes of
    training digits fit p(z) best over the second half of the run, checked every ``every`` steps.
    """
    from . import metrics as M
    from .data import load_dataset
    from .priors import prior_from_config
    from .train import Trainer, seeded_model

    data = load_dataset(config.data.name, root=config.data.root, seed=config.data.seed)
    prior = prior_from_config(config.prior, config.model.latent_dim)
    model = seeded_model(config.model, config.train.seed)
    trainer = Trainer(model, prior, data.train_images, data.train_labels, config=config.train)
    every = max(1, min(250, steps // 20))
    best_fit, best_state = float("inf"), None
    with _progress(steps, desc, quiet) as bar:
        for i in range(steps):
            m = trainer.step()
            if (i + 1) % every == 0 or i + 1 == steps:
                fit = _train_fit(model, prior, data)
                shown = {k: f"{v:.3g}" for k, v in m.items() if k in ("recon", "kl", "disc", "gen")}
                bar.set_postfix(**shown, fit=f"{fit:.2f}")
                if keep_best and i + 1 >= steps // 2 and fit < best_fit:
                    best_fit = fit
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bar.update(1)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, prior, data, M.evaluate_model(model, prior, data, seed=0)


def _cmd_train(a: argparse.Namespace) -> int:
    from .checkpoints import save_checkpoint
    if a.steps < 1:
        raise UsageError("--steps must be at least 1")
    config = RunConfig(
        data=DataConfig(name=a.dataset, root=a.data_dir),
        prior=PriorConfig(name=a.prior, scale=a.prior_scale),
        model=ModelConfig(kind=a.model, preset=a.preset, latent_dim=a.latent_dim, encoder=a.encoder),
        train=TrainConfig(batch_size=a.batch_size, lr_recon=a.lr_recon, lr_disc=a.lr_disc, lr_gen=a.lr_gen,
                          beta1=a.beta1, d_input_noise=a.d_noise, disc_steps=a.disc_steps, d_penalty=a.d_penalty,
                          weight_decay=a.weight_decay, input_dropout=a.input_dropout, seed=a.seed,
                          device=a.device))
    t0 = time.perf_counter()
    model, _, _, metrics = train_run(config, a.steps, desc=f"{a.model}/{a.prior}", quiet=a.no_progress)
    out = Path(a.out or f"runs/{a.model}-{a.prior}")
    path = save_checkpoint(out, model, config, step=a.steps, metrics=metrics, half=a.half)
    print(f"trained {a.steps} steps in {time.perf_counter() - t0:.1f} s; saved {path}")
    _print_metrics(metrics)
    return 0


def _print_metrics(metrics: dict[str, float]) -> None:
    labels = {
        "prior_fit": "prior-fit ratio SW(q,p)/SW(p,p')  (≈1 is a perfect fit)",
        "recon_error": "reconstruction error (MSE per pixel)",
        "knn_acc": "k-NN accuracy of held-out codes (k=5)",
        "d_acc": "discriminator accuracy (0.5: fooled)",
    }
    for key, value in metrics.items():
        print(f"  {labels.get(key, key):<56} {value:.4f}")


def _cmd_eval(a: argparse.Namespace) -> int:
    from . import metrics as M
    from .checkpoints import load_checkpoint
    from .data import load_dataset
    from .priors import prior_from_config
    ck = load_checkpoint(a.checkpoint)
    cfg = ck.config
    name = a.dataset or cfg.data.name
    data = load_dataset(name, root=a.data_dir or cfg.data.root, seed=cfg.data.seed)
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    print(f"{a.checkpoint}: {cfg.model.kind.upper()} ({cfg.model.preset}, {cfg.model.latent_dim}-D code), "
          f"prior {cfg.prior.name}, trained {ck.step} steps on {cfg.data.name}; evaluated on {name}")
    _print_metrics(M.evaluate_model(ck.model, prior, data, seed=0))
    return 0


def _cmd_pretrain(a: argparse.Namespace) -> int:
    from .checkpoints import save_checkpoint
    out = Path(a.out)
    for name in a.only or [*PRETRAINED, CLASSIFIER_NAME]:
        if name == CLASSIFIER_NAME:
            from .classifier import pretrain_classifier
            path, acc = pretrain_classifier(out / name)
            print(f"{name}: held-out accuracy {acc:.3f} -> {path}")
            continue
        kind, prior = PRETRAINED[name]
        config = RunConfig(prior=PriorConfig(name=prior), model=ModelConfig(kind=kind),
                           train=TrainConfig(device=a.device))
        model, _, _, metrics = train_run(config, a.steps, desc=name, quiet=a.no_progress, keep_best=(kind == "aae"))
        path = save_checkpoint(out / name, model, config, step=a.steps, metrics=metrics, half=True,
                               description=f"{kind.upper()}, {PRIORS[prior].display_name} prior, "
                                           f"{a.steps} steps on mnist-5k")
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()) + f" -> {path}")
    return 0


def _cmd_download(a: argparse.Namespace) -> int:
    from .data import download_dataset
    bar = _progress(100, f"download {a.dataset}", False)

    def progress(fraction: float, message: str) -> None:
        bar.n = int(round(100 * fraction))
        bar.set_postfix_str(message[:40])
        bar.refresh()

    try:
        download_dataset(a.dataset, root=a.data_dir, progress=progress)
    finally:
        bar.close()
    print(f"{a.dataset} is ready")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    import torch

    from .data import load_dataset
    from .priors import make_prior
    from .train import Trainer, device_description, resolve_device, seeded_model
    device = resolve_device(a.device)
    data = load_dataset("synthetic")
    print(f"training steps/s on {device_description(device)}, batch {TrainConfig.batch_size}")
    for preset in ("small", "paper"):
        for kind in ("ae", "vae", "aae"):
            model = seeded_model(ModelConfig(kind=kind, preset=preset), 0)
            tr = Trainer(model, make_prior("gaussian"), data.train_images, data.train_labels,
                         config=TrainConfig(device=str(device)))
            for _ in range(10):
                tr.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                tr.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            print(f"  {preset:<6} {kind:<4} {a.steps / (time.perf_counter() - t0):8.1f} steps/s")
    return 0


def _cmd_likelihood(a: argparse.Namespace) -> int:
    from . import likelihood
    try:
        return likelihood.run(a)
    except likelihood.ArgumentError as e:
        raise UsageError(str(e)) from None


COMMANDS = {"train": _cmd_train, "eval": _cmd_eval, "likelihood": _cmd_likelihood, "pretrain": _cmd_pretrain,
            "download": _cmd_download, "bench": _cmd_bench}


def main(argv: list[str] | None = None) -> int:
    from .checkpoints import CheckpointError
    from .data import DatasetUnavailable
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, CheckpointError, DatasetUnavailable) as e:
        print(f"python -m aae: error: {' '.join(str(e).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
