"""What a snapshot measures on a model, outside the training step: the D(z) map, the generator's
push on codes, and the one fit evaluation that jobs, the CLI and the benchmarks share.

    fit = fit_evaluation(codes, prior_sample, fresh_prior_sample)
    fit["referee"]    # k-NN two-sample accuracy, 0.5 = cannot tell q(z) from p(z) (the headline)
    fit["prior_fit"]  # SW(q, p) / SW(p, p'), ≈ 1 = as close as another prior sample (the second number)

Probes run in the job thread (never in a page's fragment) on fixed evaluation data, so plotted
points keep their identity between refreshes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from . import metrics as M
from .losses import generator_loss

REFEREE_K = 15      # neighbours of the referee's k-NN (Lopez-Paz & Oquab 2017; issue 9's table used 15)
REFEREE_FOLDS = 5   # cross-validation folds of the referee
ARROW_SHARE = 0.06  # longest generator arrow, as a share of the window's width


@dataclass(frozen=True)
class ProbeSettings:
    """How to probe, and on which fixed data: the held-out digits whose codes are ``codes``
    (``eval_x``, for kinds that measure more than codes, e.g. a classifier's error) and the
    training digits the k-NN uses as reference (``reference_x``, e.g. to name clusters)."""

    d_grid_resolution: int = 48   # D(z) heatmap resolution (R × R)
    n_arrows: int = 60            # codes whose generator push is drawn
    eval_x: torch.Tensor | None = None           # (M, 784) held-out images in [0, 1], on the model's device
    eval_labels: np.ndarray | None = None        # (M,) int64
    reference_x: torch.Tensor | None = None      # (N, 784) training images in [0, 1], on the model's device
    reference_labels: np.ndarray | None = None   # (N,) int64


def held_out_settings(dataset: Any, *, device: torch.device | str = "cpu", n: int | None = None,
                      n_reference: int = 5000, seed: int = 0) -> ProbeSettings:
    """Probe settings holding a dataset's held-out digits (the first ``n``; all by default) and a
    seeded random reference of ``n_reference`` training digits (what ``ModelKind.evaluate`` reads)."""
    from .data import to_float
    m = dataset.test_images.shape[0] if n is None else min(n, dataset.test_images.shape[0])
    g = torch.Generator().manual_seed(seed + 1)
    ref = torch.randperm(int(dataset.train_images.shape[0]), generator=g)[:n_reference]
    return ProbeSettings(eval_x=to_float(dataset.test_images[:m]).to(device),
                         eval_labels=dataset.test_labels[:m].numpy(),
                         reference_x=to_float(dataset.train_images[ref]).to(device),
                         reference_labels=dataset.train_labels[ref].numpy())


def _np(t: torch.Tensor) -> np.ndarray:
    a = t.detach().to("cpu", torch.float32).numpy().copy()
    a.flags.writeable = False
    return a


def d_grid(d: Callable[[torch.Tensor], torch.Tensor], bounds: tuple[float, float], resolution: int,
           device: torch.device | str) -> np.ndarray:
    """D's probability σ(D(z)) on an R × R grid over ``bounds`` (rows: z_2, columns: z_1): (R, R)."""
    lo, hi = bounds
    axis = torch.linspace(lo, hi, resolution, device=device)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack((gx.reshape(-1), gy.reshape(-1)), dim=1)                      # (R*R, 2)
    with torch.no_grad():
        return _np(torch.sigmoid(d(grid))).reshape(resolution, resolution)


def generator_push(d: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor,
                   bounds: tuple[float, float]) -> np.ndarray:
    """Where the generator phase moves each code: −∂L_G/∂z, as arrows (n, 4) = z_1, z_2, push_1, push_2.

    Arrow lengths are squashed, length = ARROW_SHARE · width · tanh(‖g‖ / median ‖g‖), so one large
    gradient does not hide the others.
    """
    lo, hi = bounds
    z = codes.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = generator_loss(d(z)) * z.shape[0]
        (grad,) = torch.autograd.grad(loss, z)
    push = -grad
    norm = push.norm(dim=1, keepdim=True).clamp_min(1e-12)
    push = push / norm * ((hi - lo) * ARROW_SHARE) * torch.tanh(norm / norm.median().clamp_min(1e-12))
    return _np(torch.cat((z.detach(), push), dim=1))


def discriminator_probe(d: Callable[[torch.Tensor], torch.Tensor], *, codes: torch.Tensor,
                        prior_sample: torch.Tensor, bounds: tuple[float, float],
                        settings: ProbeSettings) -> dict[str, Any]:
    """A discriminator on z, probed: its accuracy on the fixed evaluation codes against the fixed
    prior sample (``d_acc_eval``) and, for a 2-D code, its map (``d_grid``) and push (``arrows``)."""
    out: dict[str, Any] = {}
    with torch.no_grad():
        d_prior = d(prior_sample.to(codes.device))
        d_post = d(codes)
    out["d_acc_eval"] = M.discriminator_accuracy(_np(d_prior), _np(d_post))
    if codes.shape[1] == 2:
        out["d_grid"] = d_grid(d, bounds, settings.d_grid_resolution, codes.device)
        out["arrows"] = generator_push(d, codes[: settings.n_arrows], bounds)
    return out


def fit_evaluation(codes: np.ndarray, prior_sample: np.ndarray, fresh_prior_sample: np.ndarray, *,
                   referee: bool = True, seed: int = 0) -> dict[str, float]:
    """How well codes q(z) match p(z): the referee (headline) and the sliced-Wasserstein ratio.

        referee   = cross-validated accuracy of a k-NN telling the codes from as many prior samples
                    (``metrics.referee_accuracy``; 0.5 = it cannot tell, 1.0 = disjoint)
        prior_fit = SW(q, p) / SW(p, p')   (``metrics.prior_fit_ratio``; ≈ 1 = as close as another sample)

    ``referee=False`` skips the k-NN (tens of milliseconds): the job runs it on a schedule only.
    Non-finite codes, or fewer than 2 · REFEREE_FOLDS of them, give NaN.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if not np.isfinite(codes).all():
        return {"referee": float("nan"), "prior_fit": float("nan")} if referee else {"prior_fit": float("nan")}
    out = {"prior_fit": M.prior_fit_ratio(codes, prior_sample, fresh_prior_sample, n_projections=64, seed=seed)}
    if referee:
        n = min(len(codes), len(prior_sample))
        out["referee"] = (M.referee_accuracy(codes[:n], prior_sample[:n], k=min(REFEREE_K, n - 1),
                                             folds=REFEREE_FOLDS, seed=seed)
                          if n >= 2 * REFEREE_FOLDS else float("nan"))  # too few codes to cross-validate
    return out
