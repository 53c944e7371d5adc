"""The categorical AAE's numbers (paper Tables 2 and 3), counted in training steps so a busy machine
cannot bias them: semi-supervised held-out error beside the NN baseline trained on the same labelled
digits in the same run, and beside a k-NN on raw pixels with the same labels (scikit-learn); the
clustering error by the paper's rule (each cluster named after the training digit it is surest of);
for the reduction kind, the 5-NN accuracy of its 2-D map and the cluster purity.

Every ``--every`` steps a run measures the held-out error (all test digits), so the curve shows how
fast it falls; the table reports the final error (median over seeds) and the best. One torch thread
per run; ``--workers`` runs independent runs in parallel processes.

    python -m benchmarks.categorical --use semi_supervised --labels 100 1000 4500 --steps 3000 --seeds 0 1 2
    python -m benchmarks.categorical --use clustering --clusters 16 30 --steps 3000 --seeds 0 1 2
    python -m benchmarks.categorical --use semi_supervised --labels 100 --steps 1500 --sweep   # the defaults' sweep
    python -m benchmarks.categorical --use semi_supervised --labels 100 --dataset mnist --device cuda --steps 20000
    python -m benchmarks.categorical --summarize runs.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import sys
import time

# shift1's settings (the kinds' recipe since the translations), what the later settings build on
_SHIFT1 = {"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
           "input_dropout": 0.2, "augment_shift": 1}

# name -> (TrainConfig overrides, ModelConfig overrides). "base" is the kinds' defaults.
SWEEP: dict[str, tuple[dict, dict]] = {
    "base": ({}, {}),       # the kinds' recipe: aae.kinds.categorical.CATEGORICAL_RECIPE
    # the recipe before this sweep (lr 1e-4, beta1 0.5, no D-input noise, no input dropout)
    "slow": ({"lr_disc": 1e-4, "lr_gen": 1e-4, "beta1": 0.5, "d_penalty": 0.0, "d_input_noise": 0.0,
              "input_dropout": 0.0}, {}),
    "aae-recipe": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.5, "d_penalty": 0.0, "d_input_noise": 0.0,
                    "input_dropout": 0.0}, {}),
    "all1e-4": ({"lr_recon": 1e-4, "lr_disc": 1e-4, "lr_gen": 1e-4, "beta1": 0.5, "d_penalty": 0.0,
                 "d_input_noise": 0.0, "input_dropout": 0.0}, {}),
    "b0.5-noise0.3": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.5, "d_penalty": 0.0, "d_input_noise": 0.3,
                       "input_dropout": 0.0}, {}),
    # beta1 0.9 and noise on D's inputs: the sweep's turning point
    "b0.9-noise0.3": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                       "input_dropout": 0.0}, {}),
    "b0.9-noise0.6": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.6,
                       "input_dropout": 0.0}, {}),
    "b0.9-noise0.3-z10": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                           "input_dropout": 0.0}, {"latent_dim": 10}),
    "gen2e-3-noise0.45": ({"lr_disc": 1e-3, "lr_gen": 2e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.45,
                           "input_dropout": 0.0}, {}),
    "noise0.3-rec3e-4": ({"lr_recon": 3e-4, "lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0,
                          "d_input_noise": 0.3, "input_dropout": 0.0}, {}),
    # ... plus input dropout 0.2 (a denoising reconstruction): the kinds' recipe since this sweep
    "noise0.3-drop0.2": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                          "input_dropout": 0.2}, {}),
    "noise0.6-drop0.2": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.6,
                          "input_dropout": 0.2}, {}),
    "noise0.3-drop0.2-z8": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                             "input_dropout": 0.2}, {"latent_dim": 8}),
    "noise0.3-drop0.2-dsteps2": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0,
                                  "d_input_noise": 0.3, "input_dropout": 0.2, "disc_steps": 2}, {}),
    # random translations of the encoder's inputs (a data augmentation the paper did not use; the
    # baseline's labelled digits get the same): on top of noise0.3-drop0.2
    "shift1": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                "input_dropout": 0.2, "augment_shift": 1}, {}),
    "shift2": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                "input_dropout": 0.2, "augment_shift": 2}, {}),
    "shift3": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                "input_dropout": 0.2, "augment_shift": 3}, {}),
    "shift2-nodrop": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                       "input_dropout": 0.0, "augment_shift": 2}, {}),
    "shift1-decay2000": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                          "input_dropout": 0.2, "augment_shift": 1, "d_noise_decay_steps": 2000}, {}),
    "shift1-decay4000": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                          "input_dropout": 0.2, "augment_shift": 1, "d_noise_decay_steps": 4000}, {}),
    "shift1-b200": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                     "input_dropout": 0.2, "augment_shift": 1, "batch_size": 200}, {}),
    "shift1-z1": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                   "input_dropout": 0.2, "augment_shift": 1}, {"latent_dim": 1}),
    "shift1-drop0.4": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                        "input_dropout": 0.4, "augment_shift": 1}, {}),
    "shift1-noise0.5": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.5,
                         "input_dropout": 0.2, "augment_shift": 1}, {}),
    "shift2-z5": ({"lr_disc": 1e-3, "lr_gen": 1e-3, "beta1": 0.9, "d_penalty": 0.0, "d_input_noise": 0.3,
                   "input_dropout": 0.2, "augment_shift": 2}, {"latent_dim": 5}),
    # rotations and scalings on top of shift1 (the recipe): the encoder reads each digit turned by up
    # to R degrees and resized by up to S (aae.kinds.categorical.warped), then translated; the decoder
    # rebuilds the unmoved digit; the labelled batch (the AAE's and the baseline's) gets the same
    **{f"shift1-rot{r}": (_SHIFT1 | {"augment_rotate": float(r)}, {}) for r in (10, 15, 20, 25, 30, 40)},
    **{f"shift1-scale{s}": (_SHIFT1 | {"augment_scale": s}, {}) for s in (0.1, 0.2)},
    **{f"shift1-rot{r}-scale{s}": (_SHIFT1 | {"augment_rotate": float(r), "augment_scale": s}, {})
       for r in (10, 15, 20, 30) for s in (0.1, 0.2)},
    # every learning rate falling linearly to this share of it over the run (the benchmark's own option,
    # as ``python -m aae train``'s lr_decay)
    **{f"shift1-lrdecay{d}": (_SHIFT1 | {"lr_decay": d}, {}) for d in (0.1, 0.3)},
    **{f"shift1-rot15-lrdecay{d}": (_SHIFT1 | {"augment_rotate": 15.0, "lr_decay": d}, {}) for d in (0.1,)},
    # the balance of the encoder's two pulls (the label-conditioned AAE fits with a slower
    # reconstruction phase): its learning rate, and the generator's
    **{f"shift1-rec{r}": (_SHIFT1 | {"lr_recon": float(r)}, {}) for r in ("3e-4", "5e-4", "2e-3")},
    **{f"shift1-gen{g}": (_SHIFT1 | {"lr_gen": float(g)}, {}) for g in ("5e-4", "2e-3")},
    # the paper's 1000-1000 networks (encoder, decoder, baseline; D 1000-1000 too)
    "shift1-paper": (_SHIFT1, {"preset": "paper"}),
    "shift1-rot20-paper": (_SHIFT1 | {"augment_rotate": 20.0}, {"preset": "paper"}),
    # a consistency term (not the paper's): q(y|x) of two random augmentations of a digit pulled
    # together in the generator phase (AdversarialRecipe.consistency)
    **{f"shift1-cons{c}": (_SHIFT1 | {"consistency": float(c)}, {}) for c in (0.3, 1, 3, 10)},
    **{f"shift1-rot20-cons{c}": (_SHIFT1 | {"augment_rotate": 20.0, "consistency": float(c)}, {}) for c in (0.3, 1, 3, 10)},
}


# Recipe settings with no TrainConfig field (a kind's own, aae.kinds.base.AdversarialRecipe): every
# named setting but "base" spells out the whole recipe, so these are 0 where it does not name them
# (the settings from before they existed), and they replace the trainer's recipe after it is built.
RECIPE_ONLY = ("augment_shift", "d_noise_decay_steps", "augment_rotate", "augment_scale", "consistency")
BENCH_ONLY = ("lr_decay",)  # the benchmark's own options: every learning rate decays to this share (0: none)


def _recipe_overrides(setting: str) -> dict:
    if setting == "base":
        return {}
    return {k: SWEEP[setting][0].get(k, 0) for k in RECIPE_ONLY}


def _configs(use: str, n: int, labels: int | None, setting: str, seed: int, dataset: str, device: str,
             n_train: int):
    from aae.config import DataConfig, ModelConfig, PriorConfig, RunConfig, TrainConfig
    t_over, m_over = SWEEP[setting]
    t_over = {k: v for k, v in t_over.items() if k not in RECIPE_ONLY + BENCH_ONLY}
    model = {"kind": use, "n_classes": n, **m_over}
    train = {"seed": seed, "device": device, **t_over}
    if use == "semi_supervised" or (use == "reduction" and labels):
        train["label_fraction"] = min(1.0, labels / n_train)
    return RunConfig(data=DataConfig(name=dataset), prior=PriorConfig(), model=ModelConfig(**model),
                     train=TrainConfig(**train))


def run_one(use: str, n: int, labels: int | None, setting: str, seed: int, steps: int, every: int,
            dataset: str, device: str, limit: int | None = None) -> dict:
    """Train one run and return its measurements (a JSON-able dict)."""
    import numpy as np
    import torch

    from aae import metrics as M
    from aae.data import load_dataset, to_float
    from aae.kinds import get_kind
    from aae.priors import prior_from_config
    from aae.probes import ProbeSettings
    from aae.train import Trainer, resolve_device, seeded_model

    torch.set_num_threads(1)
    data = load_dataset(dataset)
    train_images, train_labels = data.train_images, data.train_labels
    if limit:  # a small slice, to check a full-size command end to end
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    cfg = _configs(use, n, labels, setting, seed, dataset, device, train_images.shape[0])
    dev = resolve_device(device)
    model = seeded_model(cfg.model, seed)
    prior = prior_from_config(cfg.prior, cfg.model.latent_dim)
    tr = Trainer(model, prior, train_images, train_labels, config=cfg.train, device=dev)
    if _recipe_overrides(setting):
        tr.recipe = dataclasses.replace(tr.recipe, **_recipe_overrides(setting))
    test_x = to_float(data.test_images[:limit] if limit else data.test_images).to(dev)
    test_y = (data.test_labels[:limit] if limit else data.test_labels).numpy()
    g = torch.Generator().manual_seed(seed + 1)
    ref = torch.randperm(train_images.shape[0], generator=g)[:5000]
    settings = ProbeSettings(eval_x=test_x, eval_labels=test_y, reference_x=to_float(train_images[ref]).to(dev),
                             reference_labels=train_labels[ref].numpy())
    kind = get_kind(use)
    decay = SWEEP[setting][0].get("lr_decay", 0)
    # lr(t) = lr0 · (1 − (1 − decay) · t / steps) for every optimiser (aae.__main__.train_run's lr_decay)
    schedules = [torch.optim.lr_scheduler.LinearLR(opt, 1.0, decay, total_iters=steps)
                 for opt in tr.optimizers.values()] if decay else []
    curve = []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        metrics = tr.step()
        for sched in schedules:
            sched.step()
        if step % every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                probed = kind.probe(model, codes=model.encode(test_x), prior=prior,
                                    prior_sample=prior.sample(test_x.shape[0]), settings=settings)
            model.train()
            point = {"step": step, "seconds": round(time.perf_counter() - t0, 1)}
            point.update({k: round(float(v), 4) for k, v in probed.items() if isinstance(v, float)})
            if use == "clustering":  # how pure argmax q(y|x)'s held-out clusters are (no naming rule)
                with torch.no_grad():
                    assigned = model.classify(test_x).argmax(1).cpu().numpy()
                point["purity"] = round(float(M.cluster_purity(assigned, test_y)), 4)
            if use == "reduction":  # 5-NN accuracy of the held-out 2-D map against the reference digits' map
                with torch.no_grad():
                    ref_codes = model.encode(settings.reference_x).cpu().numpy()
                    test_codes = model.encode(test_x).cpu().numpy()
                point["knn_acc"] = round(float(M.knn_accuracy(ref_codes, settings.reference_labels, test_codes,
                                                              test_y, k=5)), 4)
            point["recon"] = round(metrics["recon"], 2)
            curve.append(point)
            if not np.isfinite(metrics["recon"]):
                break
    out = {"use": use, "n": n, "labels": labels, "setting": setting, "seed": seed, "steps": steps,
           "dataset": dataset, "n_train": int(train_images.shape[0]), "n_test": int(test_y.shape[0]),
           "device": str(dev), "curve": curve, "final": curve[-1]}
    if use == "semi_supervised":
        lab = tr.labelled.cpu().numpy()
        raw_train = to_float(train_images[torch.from_numpy(lab)]).numpy()
        out["raw_knn_error"] = 1.0 - M.knn_accuracy(raw_train, train_labels[torch.from_numpy(lab)].numpy(),
                                                    test_x.cpu().numpy(), test_y, k=1)
        out["n_labelled"] = int(lab.sum())
    if use == "clustering":  # the same for every setting of a sweep: computed once per worker
        key = (dataset, limit, n, seed)
        if key not in _KMEANS_ERRORS:
            _KMEANS_ERRORS[key] = raw_kmeans_error(train_images, train_labels, test_x, test_y, n, seed)
        out["raw_kmeans_error"] = _KMEANS_ERRORS[key]
    return out


_KMEANS_ERRORS: dict[tuple, float] = {}   # (dataset, limit, n, seed) -> raw_kmeans_error


def raw_kmeans_error(train_images, train_labels, test_x, test_y, n: int, seed: int) -> float:
    """The cheapest clustering a user would try: k-means with n centres on the raw training pixels,
    named by the paper's rule (each centre takes the label of the training digit nearest to it,
    ``aae.metrics.cluster_labels`` with −distance as the confidence), scored on the held-out digits."""
    import numpy as np
    from sklearn.cluster import KMeans

    from aae import metrics as M
    from aae.data import to_float

    x = to_float(train_images).reshape(train_images.shape[0], -1).numpy()
    km = KMeans(n, n_init=4, random_state=seed).fit(x)
    names = M.cluster_labels(-km.transform(x), np.asarray(train_labels))
    predicted = names[km.predict(test_x.reshape(test_x.shape[0], -1).cpu().numpy().astype(x.dtype))]
    return float(M.classification_error(predicted, test_y))


def _run(args: tuple) -> dict:
    return run_one(*args)


def summarize(rows: list[dict]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["use"], r["n"], r.get("labels"), r["setting"], r["steps"]), []).append(r)
    lines = ["| data | use | n | labels | setting | steps | seeds | error (median) | best | baseline | "
             "ratio | raw-pixel 1-NN | raw-pixel k-means | 5-NN acc | purity |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def med(vals):
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def pct(v):
        return "–" if v is None else f"{100 * v:.2f} %"

    for key, rs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        err = med([r["final"].get("test_error") for r in rs])
        best = med([min(p.get("test_error", 1.0) for p in r["curve"]) for r in rs])
        base = med([r["final"].get("baseline_error") for r in rs])
        ratio = med([r["final"]["test_error"] / r["final"]["baseline_error"] for r in rs
                     if r["final"].get("baseline_error")])
        raw = med([r.get("raw_knn_error") for r in rs])
        kmeans = med([r.get("raw_kmeans_error") for r in rs])
        knn = med([r["final"].get("knn_acc") for r in rs])
        purity = med([r["final"].get("purity") for r in rs])
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3] or '–'} | {key[4]} | {key[5]} | {len(rs)} | "
                     f"{pct(err)} | {pct(best)} | {pct(base)} | {'–' if ratio is None else f'{ratio:.2f}'} | "
                     f"{pct(raw)} | {pct(kmeans)} | {pct(knn)} | {pct(purity)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--use", default="semi_supervised", choices=["semi_supervised", "clustering", "reduction"])
    p.add_argument("--labels", type=int, nargs="+", default=[100], help="labelled digits (semi-supervised)")
    p.add_argument("--clusters", type=int, nargs="+", default=None, help="n classes or clusters (default 10)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--device", default="cpu")
    p.add_argument("--limit", type=int, default=None, help="use only the first N train and test digits")
    p.add_argument("--sweep", action="store_true", help="every setting of SWEEP (else --only, else base)")
    p.add_argument("--only", nargs="+", default=["base"], choices=list(SWEEP))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--jsonl", default=None, help="append one JSON line per run")
    p.add_argument("--summarize", default=None, help="print the table of a JSONL file and exit")
    a = p.parse_args(argv)
    if a.summarize:
        with open(a.summarize) as f:
            print(summarize([json.loads(line) for line in f if line.strip()]))
        return 0
    settings = list(SWEEP) if a.sweep else a.only
    ns = a.clusters or [10]
    label_counts = a.labels if a.use in ("semi_supervised", "reduction") else [None]
    jobs = [(a.use, n, labels, s, seed, a.steps, a.every, a.dataset, a.device, a.limit)
            for s in settings for n in ns for labels in label_counts for seed in a.seeds]
    rows = []
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(a.workers) if a.workers > 1 else None
    results = pool.imap_unordered(_run, jobs) if pool else map(_run, jobs)
    for r in results:
        rows.append(r)
        print(json.dumps({k: r[k] for k in ("use", "n", "labels", "setting", "seed")} | {"final": r["final"]}),
              file=sys.stderr, flush=True)
        if a.jsonl:
            with open(a.jsonl, "a") as f:
                f.write(json.dumps(r) + "\n")
    if pool:
        pool.close()
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
