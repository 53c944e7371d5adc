"""The trainer: the paper's training phases as named methods, no I/O.

One batch of AAE training (Makhzani et al. 2015, §2) is three phases, in this order:

1. ``reconstruction_step`` — encoder and decoder minimise the reconstruction loss;
2. ``discriminator_step``  — D learns to tell z ~ p(z) (target 1) from codes E(x) (target 0);
   the codes are ``detach()``-ed so this phase cannot move the encoder;
3. ``generator_step``      — the encoder learns to make D call its codes "prior".

An AE has only phase 1; a VAE has only phase 1 with the KL term added (its regulariser is a
formula, not a game). ``step()`` runs all phases of one batch; ``step_phase()`` runs just the
next one, so a class can watch the game move one move at a time.

Each phase has its own Adam optimiser, so the reconstruction and regularisation learning rates
are separate (TrainConfig.lr_recon, lr_disc, lr_gen; the reconstruction phase's is AdamW, for its
optional weight decay). The discriminator phase can take several D updates per batch and can add
an R1 gradient penalty at prior samples; the generator phase reuses the discriminator phase's codes.
Settings left None in TrainConfig come from the prior's recipe (``PRIOR_RECIPES``). All randomness
(batches, prior samples, encoder noise) comes from one seeded ``torch.Generator``: same seed + same
device → same losses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from . import losses
from .config import ConfigError, ModelConfig, TrainConfig
from .models import Autoencoder, build_model
from .priors import Prior

PHASES: dict[str, tuple[str, ...]] = {
    "ae": ("reconstruction",),
    "vae": ("reconstruction",),
    "aae": ("reconstruction", "discriminator", "generator"),
}

@dataclass(frozen=True)
class AdversarialRecipe:
    """Settings of the regularisation phase that suit a prior (used where TrainConfig says None)."""

    lr_disc: float
    lr_gen: float
    beta1: float        # Adam β1 of both adversarial optimisers
    d_penalty: float    # R1 gradient-penalty weight on D


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
    """Human-readable name of a device, e.g. 'CPU (2 threads)' or 'GPU: NVIDIA H100'."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"


def seeded_model(config: ModelConfig, seed: int) -> Autoencoder:
    """``build_model`` with its initial weights fixed by ``seed`` (thread-safe)."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def adversarial_recipe(config: TrainConfig, prior_name: str) -> AdversarialRecipe:
    """The regularisation settings for a prior: the config's values, the prior's recipe for None."""
    r = PRIOR_RECIPES.get(prior_name, DEFAULT_RECIPE)
    return AdversarialRecipe(
        lr_disc=r.lr_disc if config.lr_disc is None else config.lr_disc,
        lr_gen=r.lr_gen if config.lr_gen is None else config.lr_gen,
        beta1=r.beta1 if config.beta1 is None else config.beta1,
        d_penalty=r.d_penalty if config.d_penalty is None else config.d_penalty)


def check_prior_compatible(kind: str, prior: Prior) -> None:
    """A VAE's KL term needs log p(z) everywhere; raise ``PriorIncompatible`` explaining why not."""
    if kind != "vae":
        return
    if not prior.has_density:
        raise PriorIncompatible(
            f"A VAE cannot be trained with the {prior.display_name} prior: its KL term needs the "
            f"density p(z) as a formula, and this prior has none — it can only be sampled. "
            f"An AAE only needs samples of p(z), so it can (paper §2.1).")
    if not prior.full_support:
        raise PriorIncompatible(
            f"A VAE cannot be trained with the {prior.display_name} prior: p(z) is zero outside its "
            f"support, so log p(z) = −∞ for any code the Gaussian q(z|x) puts there and the KL term is "
            f"infinite. An AAE only needs samples of p(z), so it can (paper §2.1).")


@dataclass(frozen=True)
class Batch:
    x: torch.Tensor        # (B, 784) float in [0, 1]
    labels: torch.Tensor   # (B,) int64


class Trainer:
    """Trains one model on one dataset against one prior. Returns metrics; prints and saves nothing.

    ``images`` is the whole training set as uint8 (N, 28, 28); it is moved to the device once and
    batches are random index slices of it (no DataLoader: MNIST is 47 MB).
    """

    def __init__(self, model: Autoencoder, prior: Prior, images: torch.Tensor, labels: torch.Tensor, *,
                 config: TrainConfig = TrainConfig(), device: torch.device | str | None = None) -> None:
        check_prior_compatible(model.kind, prior)
        if prior.dim != model.latent_dim:
            raise ConfigError(f"prior has {prior.dim} dimensions, the model's code has {model.latent_dim}")
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 (N, 28, 28), got {images.dtype} {tuple(images.shape)}")
        if images.shape[0] < 1:
            raise ValueError("the training set is empty")
        torch.set_flush_denormal(True)  # Adam state drifts into denormals: halves CPU speed otherwise
        self.config = config
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.model = model.to(self.device)
        self.prior = prior
        self.images = images.to(self.device)
        self.labels = labels.to(self.device).long()
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.phases = PHASES[model.kind]
        self.step_count = 0    # completed batches
        self.phase_index = 0   # next phase of the current batch
        self._batch: Batch | None = None
        self._codes: tuple[Batch, torch.Tensor] | None = None  # discriminator phase -> generator phase

        enc, dec = model.encoder.parameters(), model.decoder.parameters()
        # Fused Adam runs each optimiser step as one kernel instead of ~6 small ops per tensor: on a
        # CPU that is a fifth of a small model's step time (benchmarks/train_throughput.py).
        fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        self.opt_recon = torch.optim.AdamW([*enc, *dec], lr=config.lr_recon, weight_decay=config.weight_decay,
                                           **fused)
        self.recipe = adversarial_recipe(config, prior.name)
        if model.kind == "aae":
            self.opt_disc = torch.optim.Adam(model.discriminator.parameters(), lr=self.recipe.lr_disc,
                                             betas=(self.recipe.beta1, 0.999), **fused)
            self.opt_gen = torch.optim.Adam(model.encoder.parameters(), lr=self.recipe.lr_gen,
                                            betas=(self.recipe.beta1, 0.999), **fused)

    # -- data ---------------------------------------------------------------------------------
    def next_batch(self) -> Batch:
        """A random batch (with replacement across batches) drawn with the trainer's generator."""
        idx = torch.randint(0, self.images.shape[0], (self.config.batch_size,),
                            generator=self.generator, device=self.device)
        x = self.images[idx].reshape(len(idx), -1).float().div_(255.0)   # (B, 784)
        return Batch(x=x, labels=self.labels[idx])

    def set_prior(self, prior: Prior) -> None:
        """Swap p(z) mid-run (the codes then migrate towards the new shape)."""
        check_prior_compatible(self.model.kind, prior)
        if prior.dim != self.model.latent_dim:
            raise ConfigError(f"prior has {prior.dim} dimensions, the model's code has {self.model.latent_dim}")
        self.prior = prior
        self.recipe = adversarial_recipe(self.config, prior.name)  # the new prior's, unless fixed by the config
        if self.model.kind == "aae":
            for opt, lr in ((self.opt_disc, self.recipe.lr_disc), (self.opt_gen, self.recipe.lr_gen)):
                for group in opt.param_groups:
                    group["lr"] = lr
                    group["betas"] = (self.recipe.beta1, group["betas"][1])

    def _d_input(self, z: torch.Tensor) -> torch.Tensor:
        if self.config.d_input_noise > 0:
            noise = torch.randn(z.shape, generator=self.generator, device=z.device, dtype=z.dtype)
            return z + self.config.d_input_noise * noise
        return z

    # -- the phases ---------------------------------------------------------------------------
    def reconstruction_step(self, batch: Batch) -> dict[str, float]:
        """Phase 1: update encoder + decoder on the reconstruction loss (+ KL for a VAE)."""
        self.model.train()
        self._codes = None  # the encoder is about to change: codes of an earlier phase are stale
        x_in = batch.x
        if self.config.input_dropout > 0:  # denoising: encode a damaged image, rebuild the clean one
            keep = torch.rand(x_in.shape, generator=self.generator, device=x_in.device) >= self.config.input_dropout
            x_in = x_in * keep
        out = self.model.encoder(x_in, sample=True, generator=self.generator)
        logits = self.model.decoder(out.z)                                  # (B, 784)
        rec = losses.reconstruction_loss(logits, batch.x)
        metrics = {"recon": rec.item()}
        loss = rec
        if self.model.kind == "vae":
            if self.prior.name == "gaussian":
                kl = losses.gaussian_kl(out.mu, out.logvar, prior_std=self.prior.scale)
            else:
                kl = losses.monte_carlo_kl(out.z, out.mu, out.logvar, self.prior)
            loss = rec + kl
            metrics["kl"] = kl.item()
        self.opt_recon.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_recon.step()
        return metrics

    def discriminator_step(self, batch: Batch) -> dict[str, float]:
        """Phase 2a: update D to output 1 on z ~ p(z) and 0 on the encoder's codes
        (``TrainConfig.disc_steps`` updates, each against fresh prior samples)."""
        disc = self.model.discriminator
        codes = self.model.encoder(batch.x, sample=True, generator=self.generator).z
        # The generator phase of this batch reuses these codes (and their graph): only D changes in
        # between, so they are the codes it would compute again. That saves a third of the encoder
        # passes of a batch.
        self._codes = (batch, codes)
        z_posterior = codes.detach()  # a constant here: D's update cannot reach the encoder
        penalise = self.recipe.d_penalty > 0
        for _ in range(self.config.disc_steps):
            z_prior = self._d_input(self.prior.sample(batch.x.shape[0], generator=self.generator))
            d_prior = disc(z_prior.requires_grad_(penalise))                              # (B,)
            d_posterior = disc(self._d_input(z_posterior))                                # (B,)
            loss = losses.discriminator_loss(d_prior, d_posterior)
            if penalise:
                loss = loss + losses.r1_penalty(d_prior, z_prior, self.recipe.d_penalty)
            self.opt_disc.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_disc.step()
        with torch.no_grad():
            d_acc = 0.5 * ((d_prior > 0).float().mean() + (d_posterior <= 0).float().mean())
        return {"disc": loss.item(), "d_acc": d_acc.item()}

    def generator_step(self, batch: Batch) -> dict[str, float]:
        """Phase 2b: update the encoder so that D takes its codes for prior samples."""
        disc = self.model.discriminator
        cached, self._codes = self._codes, None
        if cached is not None and cached[0] is batch:
            z_posterior = cached[1]
        else:
            z_posterior = self.model.encoder(batch.x, sample=True, generator=self.generator).z
        disc.requires_grad_(False)  # D is only the judge here: no gradients for its weights
        try:
            loss = losses.generator_loss(disc(self._d_input(z_posterior)))
        finally:
            disc.requires_grad_(True)
        self.opt_gen.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_gen.step()
        return {"gen": loss.item()}

    # -- stepping -----------------------------------------------------------------------------
    @property
    def next_phase(self) -> str:
        return self.phases[self.phase_index]

    def step_phase(self) -> tuple[str, dict[str, float]]:
        """Run only the next phase (starting a new batch when a batch is complete)."""
        if self.phase_index == 0 or self._batch is None:
            self._batch = self.next_batch()
        phase = self.phases[self.phase_index]
        metrics = getattr(self, f"{phase}_step")(self._batch)
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
        metrics: dict[str, float] = {}
        for phase in self.phases:
            metrics.update(getattr(self, f"{phase}_step")(batch))
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
