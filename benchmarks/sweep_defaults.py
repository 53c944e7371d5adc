"""The sweep behind TrainConfig's defaults, counted in training steps (not seconds, so a busy
machine cannot bias it). For every (setting, prior, seed): the steps until the prior-fit ratio of
the held-out codes is ≤ 2.0, the best and the last ratios, and the k-NN (k=5) accuracy of the
held-out codes (fitted on all training codes) at each checkpoint.

A setting is a name and TrainConfig / ModelConfig overrides; ``--only`` picks some. Runs are
independent, so ``--workers`` runs them in parallel processes (one torch thread each on the CPU;
``--device cuda`` puts every worker on the GPU). Results go to stdout as a table and, with
``--jsonl``, one JSON line per run as soon as it ends.

    python -m benchmarks.sweep_defaults --steps 2000 --workers 2
    python -m benchmarks.sweep_defaults --only base dsteps2 --priors swiss_roll --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import statistics
import sys
import time

# name -> (TrainConfig overrides, ModelConfig overrides). "base" is TrainConfig's defaults.
SETTINGS: dict[str, tuple[dict, dict]] = {
    "base": ({}, {}),
    "ae": ({}, {"kind": "ae"}),
    "ae-rec5e-4": ({"lr_recon": 5e-4}, {"kind": "ae"}),
    "ae-batch50": ({"batch_size": 50}, {"kind": "ae"}),
    "rec5e-4": ({"lr_recon": 5e-4}, {}),
    "rec2e-3": ({"lr_recon": 2e-3}, {}),
    "D2e-4G5e-4": ({"lr_disc": 2e-4, "lr_gen": 5e-4}, {}),
    "D1e-3G1e-3": ({"lr_disc": 1e-3, "lr_gen": 1e-3}, {}),
    "D5e-4G1e-3": ({"lr_disc": 5e-4, "lr_gen": 1e-3}, {}),
    "D1e-3G2e-3": ({"lr_disc": 1e-3, "lr_gen": 2e-3}, {}),
    "D2e-3G1e-3": ({"lr_disc": 2e-3, "lr_gen": 1e-3}, {}),
    "D1e-3G3e-4": ({"lr_disc": 1e-3, "lr_gen": 3e-4}, {}),
    "beta0.9": ({"beta1": 0.9}, {}),
    "noise0.1": ({"d_input_noise": 0.1}, {}),
    "noise0.3": ({"d_input_noise": 0.3}, {}),
    "batch200": ({"batch_size": 200}, {}),
    "batch50": ({"batch_size": 50}, {}),
    "dsteps2": ({"disc_steps": 2}, {}),
    "dsteps4": ({"disc_steps": 4}, {}),
    "D2e-3G2e-3": ({"lr_disc": 2e-3, "lr_gen": 2e-3}, {}),
    "D2e-3G2e-3-r1-1": ({"lr_disc": 2e-3, "lr_gen": 2e-3, "d_penalty": 1.0}, {}),
    "D1e-3G2e-3-r1-1": ({"lr_disc": 1e-3, "lr_gen": 2e-3, "d_penalty": 1.0}, {}),
    "D1e-3G3e-3-r1-1": ({"lr_disc": 1e-3, "lr_gen": 3e-3, "d_penalty": 1.0}, {}),
    "D2e-3G3e-3-r1-1": ({"lr_disc": 2e-3, "lr_gen": 3e-3, "d_penalty": 1.0}, {}),
    "beta0.9-r1-1": ({"beta1": 0.9, "d_penalty": 1.0}, {}),
    "beta0.9-r1-1-G2e-3": ({"beta1": 0.9, "d_penalty": 1.0, "lr_gen": 2e-3}, {}),
    "beta0.9-r1-1-b200": ({"beta1": 0.9, "d_penalty": 1.0, "batch_size": 200}, {}),
    "beta0.9-r1-1-dsteps2": ({"beta1": 0.9, "d_penalty": 1.0, "disc_steps": 2}, {}),
    "r1-0.1": ({"d_penalty": 0.1}, {}),
    "r1-1": ({"d_penalty": 1.0}, {}),
    "r1-10": ({"d_penalty": 10.0}, {}),
    "dsteps2-r1-1": ({"disc_steps": 2, "d_penalty": 1.0}, {}),
    "noise0.1-dsteps2": ({"d_input_noise": 0.1, "disc_steps": 2}, {}),
    "wd0.1": ({"weight_decay": 0.1}, {}),
    "drop0.2": ({"input_dropout": 0.2}, {}),
    "ae-wd0.1": ({"weight_decay": 0.1}, {"kind": "ae"}),
    "ae-drop0.2": ({"input_dropout": 0.2}, {"kind": "ae"}),
    "ae-drop0.5": ({"input_dropout": 0.5}, {"kind": "ae"}),
    "ae-rec2e-3": ({"lr_recon": 2e-3}, {"kind": "ae"}),
    "ae-paper": ({}, {"kind": "ae", "preset": "paper"}),
    "gaussian-enc": ({}, {"encoder": "gaussian"}),
    "universal-enc": ({}, {"encoder": "universal"}),
}


def run_one(task: dict) -> dict:
    """Train one model for ``steps`` steps; evaluate every ``every`` steps."""
    import torch

    torch.set_num_threads(task["threads"])
    from aae import metrics as M
    from aae.config import ModelConfig, TrainConfig
    from aae.data import load_dataset
    from aae.priors import make_prior
    from aae.train import Trainer, seeded_model

    train_over, model_over = SETTINGS[task["setting"]]
    seed, device = task["seed"], task["device"]
    data = load_dataset("mnist-5k")
    prior = make_prior(task["prior"], dim=2)
    mcfg = ModelConfig(**{"kind": "aae", "preset": "small", **model_over})
    model = seeded_model(mcfg, seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels,
                 config=TrainConfig(**{"device": device, "seed": seed, **train_over}))
    x_test = (data.test_images.reshape(len(data.test_images), -1).float() / 255).to(tr.device)
    x_train = (data.train_images.reshape(len(data.train_images), -1).float() / 255).to(tr.device)
    g = torch.Generator().manual_seed(1234)
    p, p2 = prior.sample(len(x_test), generator=g).numpy(), prior.sample(len(x_test), generator=g).numpy()
    first, best, curve, knn, curve_sampled = None, float("inf"), [], {}, []
    eval_gen = torch.Generator(tr.device).manual_seed(99)
    t0 = time.perf_counter()
    while tr.step_count < task["steps"]:
        for _ in range(task["every"]):
            tr.step()
        with torch.no_grad():
            model.eval()
            codes = model.encode(x_test).cpu().numpy()
            model.train()
        finite = bool(torch.isfinite(torch.from_numpy(codes)).all())
        r = M.prior_fit_ratio(codes, p, p2) if finite else float("inf")
        curve.append(round(r, 3))
        if mcfg.encoder != "deterministic":  # q(z) of a stochastic encoder: sampled codes, not means
            with torch.no_grad():
                sampled = model.encode(x_test, sample=True, generator=eval_gen).cpu().numpy()
            curve_sampled.append(round(M.prior_fit_ratio(sampled, p, p2), 3) if finite else float("inf"))
        best = min(best, r)
        if first is None and r <= 2.0:
            first = tr.step_count
        if tr.step_count in task["knn_at"] or tr.step_count >= task["steps"]:
            with torch.no_grad():
                model.eval()
                ref = model.encode(x_train).cpu().numpy()
                model.train()
            knn[tr.step_count] = (round(M.knn_accuracy(ref, data.train_labels.numpy(), codes,
                                                        data.test_labels.numpy(), k=5), 3) if finite else 0.0)
    return {**{k: task[k] for k in ("setting", "prior", "seed", "device")}, "first": first,
            "best": round(best, 3), "last": curve[-1], "curve": curve, "knn": knn,
            "seconds": round(time.perf_counter() - t0, 1), "steps": tr.step_count,
            **({"curve_sampled": curve_sampled} if curve_sampled else {})}


_WORKER_DEVICE: str | None = None


def _init_worker(devices) -> None:
    """Pool initializer: each worker takes one device slot from the shared queue."""
    global _WORKER_DEVICE
    _WORKER_DEVICE = devices.get()


def _safe_run(task: dict) -> dict:
    if _WORKER_DEVICE is not None:
        task = {**task, "device": _WORKER_DEVICE}
    try:
        return run_one(task)
    except Exception as exc:  # one broken setting must not stop the sweep
        return {**task, "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--knn-at", type=int, nargs="*", default=[], help="also measure k-NN at these steps")
    ap.add_argument("--priors", nargs="+", default=["gaussian", "mog10", "swiss_roll"])
    ap.add_argument("--only", nargs="+", default=list(SETTINGS), choices=list(SETTINGS), metavar="SETTING")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--mix", default=None, metavar="DEV=N,...",
                    help="workers per device, e.g. cuda=4,cpu=12 (overrides --device and --workers)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--jsonl", default=None, help="append one JSON line per run to this file")
    ap.add_argument("--summarize", nargs="+", default=None, metavar="JSONL",
                    help="only print the medians of earlier runs read from these files")
    args = ap.parse_args(argv)
    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        rows = [r for r in rows if "error" not in r]
        print(f"{'setting':<18}{'prior':<12}{'steps≤2':>8}{'fitted':>7}{'best':>7}{'2nd half':>9}{'kNN':>6}  (medians)")
        for key in sorted({(r["prior"], r["setting"]) for r in rows}):
            rs = [r for r in rows if (r["prior"], r["setting"]) == key]
            print(f"{key[1]:<18}{key[0]:<12}" + _summary(rs) + f"  n={len(rs)}")
        return
    if args.every < 1 or args.steps < args.every:
        ap.error("need 1 ≤ --every ≤ --steps")

    results = []
    ctx = mp.get_context("spawn")
    slots = ctx.Queue()
    if args.mix:
        mix = [(dev, int(n)) for dev, n in (part.split("=") for part in args.mix.split(","))]
        args.workers = sum(n for _, n in mix)
        for dev, n in mix:
            for _ in range(n):
                slots.put(dev)
    else:
        for _ in range(args.workers):
            slots.put(args.device)
    # Seed-major order: if the sweep is cut short, every setting has its first seed.
    # An AE has no prior to fit: its runs use the first prior only.
    tasks = [dict(setting=s, prior=p, seed=seed, steps=args.steps, every=args.every,
                  knn_at=set(args.knn_at), device=args.device, threads=args.threads)
             for seed, s, p in itertools.product(args.seeds, args.only, args.priors)
             if SETTINGS[s][1].get("kind", "aae") == "aae" or p == args.priors[0]]
    print(f"{len(tasks)} runs of {args.steps} steps on {args.mix or args.device}, {args.workers} workers",
          flush=True)
    print(f"{'setting':<16}{'prior':<12}{'seed':>5}{'steps≤2':>8}{'best':>7}{'last':>7}  kNN", flush=True)
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(slots,)) as pool:
        for r in pool.imap_unordered(_safe_run, tasks, chunksize=1):
            results.append(r)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps({**r, "knn_at": sorted(r.get("knn_at", []))}
                                        if "error" in r else r) + "\n")
            if "error" in r:
                print(f"{r['setting']:<16}{r['prior']:<12}{r['seed']:>5}  ERROR {r['error']}", flush=True)
                continue
            knn = " ".join(f"{k}:{v:.2f}" for k, v in sorted(r["knn"].items()))
            print(f"{r['setting']:<16}{r['prior']:<12}{r['seed']:>5}{str(r['first'] or '-'):>8}"
                  f"{r['best']:>7.2f}{r['last']:>7.2f}  {knn}  ({r['seconds']:.0f} s)", flush=True)

    ok = [r for r in results if "error" not in r]
    if len(args.seeds) > 1 and ok:
        print("\nmedians over seeds: steps until the ratio is first ≤ 2 (runs that never fit count as "
              "never), best ratio, median ratio over the second half (does the fit hold?), final k-NN")
        print(f"{'setting':<18}{'prior':<12}{'steps≤2':>8}{'fitted':>7}{'best':>7}{'2nd half':>9}{'kNN':>6}")
        for s, p in itertools.product(args.only, args.priors):
            rs = [r for r in ok if r["setting"] == s and r["prior"] == p]
            if rs:
                print(f"{s:<18}{p:<12}" + _summary(rs))


def _summary(rs: list[dict]) -> str:
    firsts = [r["first"] if r["first"] is not None else float("inf") for r in rs]
    f = statistics.median(firsts)
    half = statistics.median(statistics.median(r["curve"][len(r["curve"]) // 2:]) for r in rs)
    knn = statistics.median(r["knn"][max(r["knn"], key=int)] for r in rs)
    fitted = f"{sum(x != float('inf') for x in firsts)}/{len(rs)}"
    return (f"{'-' if f == float('inf') else int(f):>8}{fitted:>7}{statistics.median(r['best'] for r in rs):>7.2f}"
            f"{half:>9.2f}{knn:>6.2f}")


if __name__ == "__main__":
    sys.exit(main())
