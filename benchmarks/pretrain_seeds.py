"""A shipped model's recipe over seeds: ``python -m aae pretrain``'s very run of one entry of
``aae.__main__.PRETRAINED`` (its steps, keep rule, learning-rate decay and recipe), once per seed,
each kept model measured as ``benchmarks.time_to_fit --shipped`` measures the shipped files (all
5,000 mnist-5k digits against 5,000 prior samples; the 5-NN of the 500 held-out codes against the
4,500 training codes; the held-out codes' own referee). A shipped file is one seed of its recipe;
this says what the recipe gives, medians last, and which seed ``pretrain``'s restarts of the entry
(``"restarts"``) would keep of each group of consecutive seeds. One torch thread per run; ``--workers`` runs seeds in
parallel processes. Nothing is saved.

    python -m benchmarks.pretrain_seeds --entry aae-gaussian --seeds 0 1 2 --workers 2
    python -m benchmarks.pretrain_seeds --entry aae-gaussian --recipe augment_rotate=15 --lr-decay 0.3
    python -m benchmarks.pretrain_seeds --entry aae-gaussian --set encoder_weight_decay=0.1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys

COLUMNS = ("referee", "knn_acc", "held_out_referee", "prior_fit")


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} takes FIELD=VALUE, got {item!r}")
        out[key] = _value(value)
    return out


def run_seed(entry: str, seed: int, steps: int | None, train: dict, recipe: dict, lr_decay: float | None) -> dict:
    import torch

    from aae.__main__ import pretrain_plan, train_run

    from .time_to_fit import measure
    torch.set_num_threads(1)
    plan = pretrain_plan(entry, steps=steps, device="cpu", train={**train, "seed": seed}, recipe=recipe,
                         lr_decay=lr_decay)
    kept: dict = {}
    model, _, _, _ = train_run(plan.config, plan.steps, quiet=True, lr_decay=plan.lr_decay,
                               keep_best=plan.keep_best, recipe=plan.recipe, keep_report=kept)
    return {"entry": entry, "seed": seed, "steps": plan.steps, "lr_decay": plan.lr_decay, "recipe": plan.recipe,
            "train": train, "kept": kept, **measure(model, plan.config)}


def _run(args: tuple) -> dict:
    return run_seed(*args)


def main(argv: list[str] | None = None) -> int:
    from aae.__main__ import PRETRAINED
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entry", default="aae-gaussian", choices=[n for n, v in PRETRAINED.items() if v[0] == "aae"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=None, help="replace the entry's steps")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="TrainConfig fields over the entry's")
    ap.add_argument("--recipe", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="recipe settings over the entry's (augment_shift, augment_rotate, augment_scale)")
    ap.add_argument("--lr-decay", type=float, default=None, help="replace the entry's learning-rate decay")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--jsonl", default=None, help="append one JSON line per seed")
    a = ap.parse_args(argv)
    from aae.__main__ import pretrain_plan
    try:  # bad settings stop here, in one line with status 2, before any worker starts
        train, recipe = _pairs(a.set, "--set"), _pairs(a.recipe, "--recipe")
        plan = pretrain_plan(a.entry, steps=a.steps, device="cpu", train=train, recipe=recipe, lr_decay=a.lr_decay)
    except (ValueError, TypeError) as e:  # aae.config.ConfigError is a ValueError
        print(f"pretrain_seeds: {e}", file=sys.stderr)
        return 2
    jobs = [(a.entry, seed, a.steps, train, recipe, a.lr_decay) for seed in a.seeds]
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(a.workers) if a.workers > 1 else None
    rows = []
    own = "the entry's"
    print(f"{a.entry}, one run per seed; over the entry's settings: train {train or 'none'}, recipe {recipe or 'none'}, "
          f"lr decay {own if a.lr_decay is None else a.lr_decay}; all 5,000 digits (5-NN: 500 held-out vs 4,500 "
          "training codes)")
    print(f"{'seed':>5}{'steps':>7}{'referee':>9}{'5-NN':>7}{'held-out referee':>18}{'SW ratio':>10}"
          f"{'kept at':>9}{'training 5-NN':>15}")
    for r in (pool.imap(_run, jobs) if pool else map(_run, jobs)):
        rows.append(r)
        print(f"{r['seed']:>5}{r['steps']:>7}{r['referee']:>9.3f}{r['knn_acc']:>7.3f}{r['held_out_referee']:>18.3f}"
              f"{r['prior_fit']:>10.2f}{r['kept']['step'] or 0:>9}"
              f"{'-' if r['kept']['knn'] is None else format(r['kept']['knn'], '.3f'):>15}", flush=True)
        if a.jsonl:
            with open(a.jsonl, "a") as f:
                f.write(json.dumps(r) + "\n")
    if pool:
        pool.close()
    if len(rows) > 1:
        med = {c: statistics.median(r[c] for r in rows) for c in COLUMNS}
        print(f"{'median':>12}{med['referee']:>9.3f}{med['knn_acc']:>7.3f}{med['held_out_referee']:>18.3f}"
              f"{med['prior_fit']:>10.2f}")
        # what pretrain's restarts (aae.__main__.better_restart) keep of consecutive seeds
        from aae.__main__ import better_restart
        by_seed, n = {r["seed"]: r for r in rows}, plan.restarts
        for first in range(0, max(by_seed) + 1, n) if n > 1 else ():
            group = [by_seed.get(first + i) for i in range(n)]
            if all(group):
                best = group[0]
                for r in group[1:]:
                    best = r if better_restart(r["kept"], best["kept"]) else best
                print(f"restarts of seeds {first}-{first + n - 1} keep seed {best['seed']}: 5-NN {best['knn_acc']:.3f}, "
                      f"referee {best['referee']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
