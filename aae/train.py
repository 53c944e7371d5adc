"""The trainer: the generic machinery that runs a model kind's phases. No I/O.

A model kind (``aae.kinds``) declares its phases as a table of (name, function); the trainer owns
what every kind shares: the data on the device, one seeded ``torch.Generator``, the optimisers the
kind asks for, and stepping. One batch of AAE training (Makhzani et al. 2015, §2) is three phases:

1. ``reconstruction`` — encoder and decoder minimise the reconstruction loss;
2. ``discriminator``  — D learns to tell z ~ p(z) (target 1) from codes E(x) (target 0);
3. ``generator``      — the encoder learns to make D call its codes "prior".

An AE has only phase 1; a VAE has only phase 1 with the KL term added (its regulariser is a
formula, not a game). ``step()`` runs every phase of one batch in order and returns its metrics;
``step_phase()`` runs just the next one, so a class can watch the game move one move at a time.

Each optimiser has a role (``aae.kinds.OptimizerSpec``): the reconstruction one is AdamW with
lr_recon and weight_decay; the adversarial ones are Adam. Learning rates, β1 and the other
regularisation settings come from the kind's or the prior's recipe (``PRIOR_RECIPES``) wherever
TrainConfig leaves a setting None. All randomness (batches, prior
samples, encoder noise) comes from one seeded ``torch.Generator``: same seed + same device → same
losses.
"""

from __future__ import annotations

import dataclasses
import threading

import torch

from .config import ConfigError, ModelConfig, TrainConfig
from .data import to_float
from .kinds import DISCRIMINATOR, RECONSTRUCTION, Batch, ModelKind, OptimizerSpec, build_model, get_kind
from .kinds.base import AdversarialRecipe  # a kind may bring its own (ModelKind.recipe)
from .messages import Message
from .models import Autoencoder
from .priors import Prior

__all__ = ["AdversarialRecipe", "Batch", "DEFAULT_RECIPE", "PRIOR_RECIPES", "PriorIncompatible", "Trainer",
           "adversarial_recipe", "balanced_label_mask", "check_prior_compatible", "device_description", "resolve_device", "seeded_model"]



# From benchmarks/sweep_defaults.py (README, "Defaults"). The Gaussian and the uniform square fit and
# stay fitted with a slower, smoothed game: Adam β1 0.9 averages the generator's noisy gradient and
# the R1 penalty keeps D(z) smooth. The mixture and the swiss roll need the sharper default game: a
# smooth D cannot see ten petals or a thin spiral, and their codes blur into a blob or a ring. The
# pinwheel's arms appear with neither in 6,000 steps; the smooth game gives it the better MMD and k-NN.
PRIOR_RECIPES: dict[str, AdversarialRecipe] = {
    "gaussian": AdversarialRecipe(lr_disc=2e-4, lr_gen=5e-4, beta1=0.9, d_penalty=1.0),
    "uniform": AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.9, d_penalty=1.0),
    "pinwheel": AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.9, d_penalty=1.0),
}
DEFAULT_RECIPE = AdversarialRecipe(lr_disc=1e-3, lr_gen=1e-3, beta1=0.5, d_penalty=0.0)

_INIT_LOCK = threading.Lock()  # model init uses the global RNG; jobs start on many threads


class PriorIncompatible(ConfigError):
    """The chosen model cannot be trained with the chosen prior (a lesson, not a bug)."""


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an unavailable explicit choice raises."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but PyTorch sees no CUDA GPU; use 'auto' or 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' was requested but Apple MPS is not available; use 'auto' or 'cpu'")
    return torch.device(name)


def device_description(device: torch.device) -> str:
    """Human-readable name of a device, e.g. 'CPU (2 threads)' (a ``Message``, so the dashboard can
    say it in its language) or 'GPU: NVIDIA H100'."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return Message("device.mps")
    n = torch.get_num_threads()
    return Message("device.cpu_one") if n == 1 else Message("device.cpu", n=n)


def on_device(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device``. A model already there is left untouched: ``Module.to`` re-assigns
    every parameter's ``.data`` even when nothing moves, and that races with an optimiser step of
    another thread on the same model (seen as a segfault when many jobs shared one model)."""
    tensors = [*model.parameters(), *model.buffers()]
    if tensors and all(t.device == device for t in tensors):
        return model
    return model.to(device)


def seeded_model(config: ModelConfig, seed: int) -> Autoencoder:
    """``build_model`` with its initial weights fixed by ``seed`` (thread-safe)."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def adversarial_recipe(config: TrainConfig, prior: Prior, kind: ModelKind | None = None) -> AdversarialRecipe:
    """The regularisation settings: the config's values; for None, the kind's own recipe where it
    has one (``ModelKind.recipe``), else the prior's."""
    r = (kind.recipe if kind is not None and kind.recipe is not None
         else PRIOR_RECIPES.get(prior.name, DEFAULT_RECIPE))
    # the recipe's other settings (augmentations, the noise's decay) are the kind's own: no config field
    return dataclasses.replace(
        r,
        lr_disc=r.lr_disc if config.lr_disc is None else config.lr_disc,
        lr_gen=r.lr_gen if config.lr_gen is None else config.lr_gen,
        beta1=r.beta1 if config.beta1 is None else config.beta1,
        d_penalty=r.d_penalty if config.d_penalty is None else config.d_penalty,
        d_input_noise=r.d_input_noise if config.d_input_noise is None else config.d_input_noise,
        input_dropout=r.input_dropout if config.input_dropout is None else config.input_dropout,
        lr_recon=r.lr_recon if config.lr_recon is None else config.lr_recon)


def check_prior_compatible(kind: str | ModelKind, prior: Prior) -> None:
    """Raise ``PriorIncompatible`` with the kind's reason when it cannot train against ``prior``
    (a VAE's KL term needs log p(z) everywhere; an AAE only needs samples)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    reason = kind.prior_incompatibility(prior)
    if reason is not None:
        raise PriorIncompatible(reason)


def _check_prior_dim(prior: Prior, model: Autoencoder) -> None:
    if prior.dim != model.latent_dim:
        raise ConfigError(f"prior has {prior.dim} dimensions, the model's code has {model.latent_dim}")


def balanced_label_mask(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """(N,) bool: which labels a kind may read — round(fraction · n_c) digits of each class c, chosen
    at random with ``seed`` (so every class keeps the same share, as the paper's 10K of 50K).
    ``fraction`` 1 marks every digit, 0 none."""
    labels = labels.reshape(-1).cpu()
    mask = torch.zeros(labels.shape[0], dtype=torch.bool)
    if fraction >= 1:
        return mask.fill_(True)
    g = torch.Generator().manual_seed(seed)
    for c in torch.unique(labels):
        idx = (labels == c).nonzero().squeeze(1)                              # (n_c,)
        keep = round(fraction * idx.numel())
        mask[idx[torch.randperm(idx.numel(), generator=g)[:keep]]] = True
    return mask


class Trainer:
    """Trains one model on one dataset against one prior. Returns metrics; prints and saves nothing.

    ``images`` is the whole training set as uint8 (N, 28, 28); it is moved to the device once and
    batches are random index slices of it (no DataLoader: MNIST is 47 MB). ``labelled`` (N,) bool
    marks the labels a semi-supervised kind may use (default:
    ``balanced_label_mask`` with TrainConfig.label_fraction and seed; all of them at 1).

    What a phase function may use: ``model``, ``prior``, ``config``, ``recipe``, ``generator``,
    ``optimize(name, loss)``, ``d_input(z)``, ``labelled_batch()`` and ``scratch`` (a dict one phase
    leaves for a later phase of the same batch; emptied when a batch starts).
    """

    def __init__(self, model: Autoencoder, prior: Prior, images: torch.Tensor, labels: torch.Tensor, *,
                 config: TrainConfig = TrainConfig(), device: torch.device | str | None = None,
                 labelled: torch.Tensor | None = None) -> None:
        self.kind = get_kind(model.kind)
        check_prior_compatible(self.kind, prior)
        _check_prior_dim(prior, model)
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 (N, 28, 28), got {images.dtype} {tuple(images.shape)}")
        if images.shape[0] < 1:
            raise ValueError("the training set is empty")
        torch.set_flush_denormal(True)  # Adam state drifts into denormals: halves CPU speed otherwise
        self.config = config
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.model = on_device(model, self.device)
        self.prior = prior
        self.images = images.to(self.device)
        self.labels = labels.to(self.device).long()
        if labelled is None:
            labelled = balanced_label_mask(labels, config.label_fraction, config.seed)
        self.labelled = labelled.to(self.device).bool()                    # (N,)
        self._labelled_idx: torch.Tensor | None = None                      # built on first use
        self._label_cycles: list = []                                        # per class: [shuffled indices, position]
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.phases: tuple[str, ...] = self.kind.phase_names
        self._phase_fns = dict(self.kind.phases)
        self.step_count = 0    # completed batches
        self.phase_index = 0   # next phase of the current batch
        self._batch: Batch | None = None
        self.scratch: dict = {}  # one phase -> a later phase of the same batch (e.g. the codes D saw)
        self.recipe = adversarial_recipe(config, prior, self.kind)
        # Fused Adam runs each optimiser step as one kernel instead of ~6 small ops per tensor: on a
        # CPU that is a fifth of a small model's step time (benchmarks/train_throughput.py).
        self._fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        self._optimizers: dict[str, torch.optim.Optimizer] | None = None   # built on first use
        self._roles = {spec.name: spec.role for spec in self.kind.optimizers}

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The kind's optimisers by name, built on first use with the recipe of that moment: a
        process's first ``Adam`` imports ``torch._dynamo`` (about a second on a small CPU), which
        a run's first codes need not wait for (``benchmarks/ui_live.py``, cold start)."""
        if self._optimizers is None:
            self._optimizers = {spec.name: self._make_optimizer(spec) for spec in self.kind.optimizers}
        return self._optimizers

    def _make_optimizer(self, spec: OptimizerSpec) -> torch.optim.Optimizer:
        params = list(spec.params(self.model))
        if spec.role == RECONSTRUCTION:
            return torch.optim.AdamW(self._recon_groups(params), lr=self.recipe.lr_recon,
                                     weight_decay=self.config.weight_decay, **self._fused)
        lr = self.recipe.lr_disc if spec.role == DISCRIMINATOR else self.recipe.lr_gen
        return torch.optim.Adam(params, lr=lr, betas=(self.recipe.beta1, 0.999), **self._fused)

    def _recon_groups(self, params: list[torch.Tensor]) -> list:
        """The reconstruction optimiser's parameters: one group, or with ``encoder_weight_decay`` the
        encoder's in a group of their own that decays by that much more."""
        extra = self.config.encoder_weight_decay
        if not extra:
            return params
        mine = {id(p) for p in self.model.encoder.parameters()}
        groups = [{"params": [p for p in params if id(p) in mine],
                   "weight_decay": self.config.weight_decay + extra},
                  {"params": [p for p in params if id(p) not in mine]}]
        return [g for g in groups if g["params"]]

    # the optimisers of the built-in kinds by their old names (scripts and tests read them)
    opt_recon = property(lambda self: self.optimizers.get("recon"))
    opt_disc = property(lambda self: self.optimizers.get("disc"))
    opt_gen = property(lambda self: self.optimizers.get("gen"))

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """One update of optimiser ``name`` on ``loss``: zero the gradients, backward, step."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # -- data ---------------------------------------------------------------------------------
    def next_batch(self) -> Batch:
        """A random batch (with replacement across batches) drawn with the trainer's generator."""
        idx = torch.randint(0, self.images.shape[0], (self.config.batch_size,),
                            generator=self.generator, device=self.device)
        x = to_float(self.images[idx])                                   # (B, 784)
        return Batch(x=x, labels=self.labels[idx], labelled=self.labelled[idx])

    def labelled_batch(self) -> Batch:
        """A batch of labelled images only (a semi-supervised kind's classification phase), balanced
        over the classes: each class gives ⌊B/C⌋ digits (the remainder goes to classes drawn at
        random), taken in turn from its own shuffled cycle of labelled digits, so every labelled
        digit is seen once before any is seen twice. With 100 labels and batches of 100, every
        batch is the whole labelled set."""
        if self._labelled_idx is None:
            idx = self.labelled.nonzero().squeeze(1)                            # (L,)
            if idx.numel() == 0:
                raise ConfigError("this run has no labelled images")
            self._labelled_idx = idx
            classes = torch.unique(self.labels[idx])
            self._label_cycles = [[idx[self.labels[idx] == c], 0] for c in classes]   # [indices, position]
            for cycle in self._label_cycles:
                cycle[0] = cycle[0][torch.randperm(cycle[0].numel(), generator=self.generator, device=self.device)]
        b, n_cls = self.config.batch_size, len(self._label_cycles)
        counts = [b // n_cls] * n_cls
        extra = torch.randperm(n_cls, generator=self.generator, device=self.device)[: b % n_cls]
        for c in extra.tolist():
            counts[c] += 1
        parts = []
        for cycle, k in zip(self._label_cycles, counts):
            while k > 0:
                members, pos = cycle
                take = members[pos: pos + k]
                parts.append(take)
                k -= take.numel()
                pos += take.numel()
                if pos >= members.numel():  # a fresh shuffle of this class's labelled digits
                    members = members[torch.randperm(members.numel(), generator=self.generator, device=self.device)]
                    pos = 0
                cycle[0], cycle[1] = members, pos
        idx = torch.cat(parts)                                               # (B,)
        x = to_float(self.images[idx])                                   # (B, 784)
        return Batch(x=x, labels=self.labels[idx], labelled=self.labelled[idx])

    def set_prior(self, prior: Prior, *, reset_discriminator: bool = True) -> None:
        """Swap p(z) mid-run (the codes then migrate towards the new shape).

        The new prior's recipe applies (unless the config fixes a setting). With
        ``reset_discriminator`` every discriminator starts a new game: fresh weights (seeded by the
        run's seed and step) and fresh Adam state. Its old judgement and momentum belong to the old
        p(z); resetting only the Adam state is worse than either (the fresh moments' first steps are
        full-size: on mnist-5k, Gaussian → mixture, the referee 300 steps after the switch was 0.90
        with the state reset, 0.73 with D re-initialised, 0.97 for a fresh run).
        """
        check_prior_compatible(self.kind, prior)
        _check_prior_dim(prior, self.model)
        self.prior = prior
        self.recipe = adversarial_recipe(self.config, prior, self.kind)
        for spec in self.kind.optimizers:
            if spec.role == RECONSTRUCTION:
                continue
            opt = self.optimizers[spec.name]
            for group in opt.param_groups:
                group["lr"] = self.recipe.lr_disc if spec.role == DISCRIMINATOR else self.recipe.lr_gen
                group["betas"] = (self.recipe.beta1, group["betas"][1])
            if spec.role == DISCRIMINATOR and reset_discriminator:
                self._reinitialise({id(p) for p in spec.params(self.model)})
                opt.state.clear()

    def _reinitialise(self, param_ids: set[int]) -> None:
        """Fresh initial weights for every layer whose parameters are all among ``param_ids``."""
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed + 1_000_003 * (self.step_count + 1))
            for module in self.model.modules():
                own = list(module.parameters(recurse=False))
                if own and all(id(p) in param_ids for p in own) and hasattr(module, "reset_parameters"):
                    module.reset_parameters()

    def d_input(self, z: torch.Tensor) -> torch.Tensor:
        """What a discriminator sees: z, plus N(0, s²) noise when the recipe's d_input_noise = s > 0
        (TrainConfig.d_input_noise, or the prior's or kind's recipe where that is None). With the
        recipe's d_noise_decay_steps T > 0, s falls linearly to 0 over the first T steps: s·max(0, 1 − t/T)."""
        s = self.recipe.d_input_noise
        if self.recipe.d_noise_decay_steps > 0:
            s *= max(0.0, 1.0 - self.step_count / self.recipe.d_noise_decay_steps)
        if s > 0:
            noise = torch.randn(z.shape, generator=self.generator, device=z.device, dtype=z.dtype)
            return z + s * noise
        return z

    # -- stepping -----------------------------------------------------------------------------
    @property
    def next_phase(self) -> str:
        return self.phases[self.phase_index]

    def run_phase(self, name: str, batch: Batch) -> dict[str, float]:
        """Run the kind's phase ``name`` on ``batch`` (outside the batch bookkeeping of step())."""
        return self._phase_fns[name](self, batch)

    def _start_batch(self, batch: Batch) -> Batch:
        self.model.train()
        self.scratch.clear()
        return batch

    def step_phase(self) -> tuple[str, dict[str, float]]:
        """Run only the next phase (starting a new batch when a batch is complete)."""
        if self.phase_index == 0 or self._batch is None:
            self._batch = self._start_batch(self.next_batch())
        phase = self.phases[self.phase_index]
        metrics = self._phase_fns[phase](self, self._batch)
        self.phase_index += 1
        if self.phase_index == len(self.phases):
            self.phase_index = 0
            self._batch = None
            self.step_count += 1
        return phase, metrics

    def train_batch(self, batch: Batch) -> dict[str, float]:
        """All phases on a given batch (the Compare page feeds AE, VAE and AAE the same batches)."""
        if self.phase_index != 0:
            raise RuntimeError("finish the current batch (step()) before feeding a new one")
        self._start_batch(batch)
        metrics: dict[str, float] = {}
        for _, fn in self.kind.phases:
            metrics.update(fn(self, batch))
        self.step_count += 1
        return metrics

    def step(self) -> dict[str, float]:
        """Finish the current batch: every remaining phase (all of them if none has run yet)."""
        metrics: dict[str, float] = {}
        while True:
            _, m = self.step_phase()
            metrics.update(m)
            if self.phase_index == 0:
                return metrics
