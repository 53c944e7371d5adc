"""The sweep behind the per-prior recipes, counted in training steps (not seconds, so a busy
machine cannot bias it). For every (setting, prior, seed), measured every ``--every`` steps on the
500 held-out codes against 500 prior samples (``benchmarks.time_to_fit.FitProbe``): the referee
(5-fold 15-NN two-sample accuracy, 0.5 = cannot tell), the steps until it is ≤ 0.60 and ≤ 0.55
(mean of three evaluations), the best referee, the median over the second half of the run (does
the fit hold?), the SW ratio, and the 5-NN accuracy of the held-out codes at the end. ``--referee all`` measures as
``time_to_fit --shipped`` does instead: all 5,000 digits against 5,000 prior samples (the README's
issue-9 sweep); ``--knn-every`` adds the 5-NN at every evaluation.

A setting is a name and TrainConfig / ModelConfig overrides, plus run options that no config holds:
``decay`` (every learning rate falls linearly to this fraction of its value over the run) and
``recipe`` (another prior's recipe, e.g. the smooth Gaussian game for the mixture). ``--only``
picks some. Runs are independent, so ``--workers`` runs them in parallel processes (one torch
thread each on the CPU; ``--device cuda`` puts every worker on the GPU). Results go to stdout as a
table and, with ``--jsonl``, one JSON line per run as soon as it ends.

    python -m benchmarks.sweep_defaults --steps 4000 --priors mog10 --only base sharp decay0.1
    python -m benchmarks.sweep_defaults --referee all --knn-every --every 250 --priors swiss_roll --only decay0.1
    python -m benchmarks.sweep_defaults --summarize sweep.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import statistics
import sys
import time

# name -> (TrainConfig overrides, ModelConfig overrides[, run options]). "base" is TrainConfig's
# defaults with each prior's recipe; "sharp" and "smooth" are the two recipes, for any prior.
SETTINGS: dict[str, tuple] = {
    "base": ({}, {}),
    "sharp": ({}, {}, {"recipe": "mog10"}),
    "smooth": ({}, {}, {"recipe": "uniform"}),
    "gauss-recipe": ({}, {}, {"recipe": "gaussian"}),
    "decay0.1": ({}, {}, {"decay": 0.1}),
    "decay0.3": ({}, {}, {"decay": 0.3}),
    "sharp-decay0.1": ({}, {}, {"recipe": "mog10", "decay": 0.1}),
    "smooth-decay0.1": ({}, {}, {"recipe": "uniform", "decay": 0.1}),
    "dsteps2-decay0.1": ({"disc_steps": 2}, {}, {"decay": 0.1}),
    "noise0.05-decay0.1": ({"d_input_noise": 0.05}, {}, {"decay": 0.1}),
    "r1-0.1-decay0.1": ({"d_penalty": 0.1}, {}, {"decay": 0.1}),
    "G5e-4-decay0.1": ({"lr_disc": 1e-3, "lr_gen": 5e-4}, {}, {"decay": 0.1}),
    "b0.9-decay0.1": ({"beta1": 0.9}, {}, {"decay": 0.1}),
    "r1-0.1-dsteps2-decay0.1": ({"d_penalty": 0.1, "disc_steps": 2}, {}, {"decay": 0.1}),
    "r1-0.3-decay0.1": ({"d_penalty": 0.3}, {}, {"decay": 0.1}),
    "r1-0-decay0.1": ({"d_penalty": 0.0}, {}, {"decay": 0.1}),
    "noise0.05-dsteps2-decay0.1": ({"d_input_noise": 0.05, "disc_steps": 2}, {}, {"decay": 0.1}),
    "batch200-decay0.1": ({"batch_size": 200}, {}, {"decay": 0.1}),
    "batch50-decay0.1": ({"batch_size": 50}, {}, {"decay": 0.1}),
    "D2e-3-decay0.1": ({"lr_disc": 2e-3}, {}, {"decay": 0.1}),
    # a discriminator that can draw thin shapes: 64 random Fourier features of z (ModelConfig.disc_fourier)
    "ff64-decay0.1": ({}, {"disc_fourier": 64}, {"decay": 0.1}),
    "ff64-r1-0.1-decay0.1": ({"d_penalty": 0.1}, {"disc_fourier": 64}, {"decay": 0.1}),
    "ff64-sharp-decay0.1": ({}, {"disc_fourier": 64}, {"recipe": "mog10", "decay": 0.1}),
    "ff128-decay0.1": ({}, {"disc_fourier": 128}, {"decay": 0.1}),
    "ff64-drop0.2": ({"input_dropout": 0.2}, {"disc_fourier": 64}),
    "ff64-r1-0.1-drop0.2-decay0.1": ({"d_penalty": 0.1, "input_dropout": 0.2}, {"disc_fourier": 64}, {"decay": 0.1}),
    "drop0.2-decay0.3": ({"input_dropout": 0.2}, {}, {"decay": 0.3}),
    "drop0.2-rec2e-3": ({"input_dropout": 0.2, "lr_recon": 2e-3}, {}),
    "drop0.2-rec2e-3-decay0.1": ({"input_dropout": 0.2, "lr_recon": 2e-3}, {}, {"decay": 0.1}),
    "drop0.2-G2.5e-4": ({"input_dropout": 0.2, "lr_disc": 1e-4, "lr_gen": 2.5e-4}, {}),
    "drop0.2-dsteps2": ({"input_dropout": 0.2, "disc_steps": 2}, {}),
    "drop0.2-dsteps2-decay0.3": ({"input_dropout": 0.2, "disc_steps": 2}, {}, {"decay": 0.3}),
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
    "drop0.35": ({"input_dropout": 0.35}, {}),
    "drop0.5": ({"input_dropout": 0.5}, {}),
    "ae-wd0.1": ({"weight_decay": 0.1}, {"kind": "ae"}),
    "ae-drop0.2": ({"input_dropout": 0.2}, {"kind": "ae"}),
    "ae-drop0.5": ({"input_dropout": 0.5}, {"kind": "ae"}),
    "ae-rec2e-3": ({"lr_recon": 2e-3}, {"kind": "ae"}),
    "ae-paper": ({}, {"kind": "ae", "preset": "paper"}),
    "gaussian-enc": ({}, {"encoder": "gaussian"}),
    "universal-enc": ({}, {"encoder": "universal"}),
}


def _setting(name: str) -> tuple[dict, dict, dict]:
    """(TrainConfig overrides, ModelConfig overrides, run options) of a setting."""
    train_over, model_over, *rest = SETTINGS[name]
    return train_over, model_over, (rest[0] if rest else {})


def run_one(task: dict) -> dict:
    """Train one model for ``steps`` steps; evaluate every ``every`` steps."""
    import torch

    torch.set_num_threads(task["threads"])
    from aae.config import ModelConfig, TrainConfig
    from aae.data import load_dataset
    from aae.priors import make_prior
    from aae.train import DEFAULT_RECIPE, PRIOR_RECIPES, Trainer, seeded_model
    from benchmarks.time_to_fit import FLOOR, GOAL, FitProbe, first_reached

    train_over, model_over, opts = _setting(task["setting"])
    if "recipe" in opts:  # another prior's recipe, as explicit settings (the setting's own win)
        r = PRIOR_RECIPES.get(opts["recipe"], DEFAULT_RECIPE)
        train_over = {"lr_disc": r.lr_disc, "lr_gen": r.lr_gen, "beta1": r.beta1, "d_penalty": r.d_penalty,
                      **train_over}
    seed, device, steps = task["seed"], task["device"], task["steps"]
    data = load_dataset("mnist-5k")
    prior = make_prior(task["prior"], dim=2)
    mcfg = ModelConfig(**{"kind": "aae", "preset": "small", **model_over})
    model = seeded_model(mcfg, seed)
    tr = Trainer(model, prior, data.train_images, data.train_labels,
                 config=TrainConfig(**{"device": device, "seed": seed, **train_over}))
    probe = FitProbe(data, prior, tr.device)
    # lr(t) = lr0 · (1 − (1 − decay) · t / steps), every optimiser
    schedules = [torch.optim.lr_scheduler.LinearLR(opt, 1.0, opts["decay"], total_iters=steps)
                 for opt in tr.optimizers.values()] if "decay" in opts else []
    referees, ratios, knn = [], [], {}
    t0 = time.perf_counter()
    while tr.step_count < steps:
        for _ in range(task["every"]):
            tr.step()
            for schedule in schedules:
                schedule.step()
        if task.get("referee") == "all":
            train_codes, codes, fit = probe.fit_all(model)
        else:
            (codes, fit), train_codes = probe.fit(model), None
        referees.append(round(fit["referee"], 3))
        ratios.append(round(fit["prior_fit"], 3))
        if tr.step_count in task["knn_at"] or tr.step_count >= steps or task.get("knn_every"):
            knn[tr.step_count] = round(probe.knn(model, codes, train_codes), 3)
    reached = {label: first_reached(referees, target) for label, target in (("floor", FLOOR), ("goal", GOAL))}
    return {**{k: task[k] for k in ("setting", "prior", "seed", "device")}, "referee": task.get("referee", "held-out"),
            **{f"steps_to_{label}": None if i is None else (i + 1) * task["every"] for label, i in reached.items()},
            "best": min(referees), "half": statistics.median(referees[len(referees) // 2:]),
            "last": referees[-1], "last_ratio": ratios[-1], "curve": referees, "ratios": ratios, "knn": knn,
            "seconds": round(time.perf_counter() - t0, 1), "steps": tr.step_count}


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
    ap.add_argument("--knn-every", action="store_true", help="measure the 5-NN at every evaluation")
    ap.add_argument("--referee", choices=("held-out", "all"), default="held-out",
                    help="held-out: the 500 held-out codes against 500 prior samples (the live page's size); "
                         "all: all 5,000 digits against 5,000 prior samples, as time_to_fit --shipped measures")
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
        rows = [r for r in rows if "error" not in r and "steps_to_floor" in r]  # referee runs only
        print(_SUMMARY_HEAD + "  (medians)")
        def key_of(r: dict) -> tuple:
            return r["prior"], r["setting"], r["steps"], r.get("referee", "held-out")
        for key in sorted({key_of(r) for r in rows}):
            rs = [r for r in rows if key_of(r) == key]
            print(f"{key[1]:<20}{key[0]:<12}" + _summary(rs) + f"  n={len(rs)}, {key[2]} steps, {key[3]} referee")
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
                  knn_at=set(args.knn_at), knn_every=args.knn_every, referee=args.referee, device=args.device,
                  threads=args.threads)
             for seed, s, p in itertools.product(args.seeds, args.only, args.priors)
             if SETTINGS[s][1].get("kind", "aae") == "aae" or p == args.priors[0]]
    print(f"{len(tasks)} runs of {args.steps} steps on {args.mix or args.device}, {args.workers} workers",
          flush=True)
    print(f"{'setting':<20}{'prior':<12}{'seed':>5}{'≤.60':>7}{'≤.55':>7}{'best':>7}{'half':>7}{'last':>7}"
          f"{'SW':>6}  5-NN", flush=True)
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(slots,)) as pool:
        for r in pool.imap_unordered(_safe_run, tasks, chunksize=1):
            results.append(r)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps({**r, "knn_at": sorted(r.get("knn_at", []))}
                                        if "error" in r else r) + "\n")
            if "error" in r:
                print(f"{r['setting']:<20}{r['prior']:<12}{r['seed']:>5}  ERROR {r['error']}", flush=True)
                continue
            knn = " ".join(f"{k}:{v:.2f}" for k, v in sorted(r["knn"].items()))
            print(f"{r['setting']:<20}{r['prior']:<12}{r['seed']:>5}{_steps(r['steps_to_floor']):>7}"
                  f"{_steps(r['steps_to_goal']):>7}{r['best']:>7.3f}{r['half']:>7.3f}{r['last']:>7.3f}"
                  f"{r['last_ratio']:>6.2f}  {knn}  ({r['seconds']:.0f} s)", flush=True)

    ok = [r for r in results if "error" not in r]
    if len(args.seeds) > 1 and ok:
        print("\nmedians over seeds: steps until the referee is ≤ 0.60 / ≤ 0.55 (with how many runs got "
              "there), best referee, median referee over the second half (does the fit hold?), final 5-NN")
        print(_SUMMARY_HEAD)
        for s, p in itertools.product(args.only, args.priors):
            rs = [r for r in ok if r["setting"] == s and r["prior"] == p]
            if rs:
                print(f"{s:<20}{p:<12}" + _summary(rs))


_SUMMARY_HEAD = (f"{'setting':<20}{'prior':<12}{'≤.60':>7}{'got':>5}{'≤.55':>7}{'got':>5}{'best':>7}"
                 f"{'half':>7}{'last':>7}{'5-NN':>6}")


def _steps(x) -> str:
    return "-" if x is None else str(x)


def _summary(rs: list[dict]) -> str:
    cells = ""
    for label in ("floor", "goal"):
        steps = [r[f"steps_to_{label}"] if r[f"steps_to_{label}"] is not None else float("inf") for r in rs]
        med = statistics.median(steps)
        cells += f"{'-' if med == float('inf') else int(med):>7}{sum(x != float('inf') for x in steps):>3}/{len(rs)}"
    knn = statistics.median(r["knn"][max(r["knn"], key=int)] for r in rs)
    return (cells + f"{statistics.median(r['best'] for r in rs):>7.3f}{statistics.median(r['half'] for r in rs):>7.3f}"
            f"{statistics.median(r['last'] for r in rs):>7.3f}{knn:>6.2f}")


if __name__ == "__main__":
    sys.exit(main())
