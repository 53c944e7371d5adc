"""The building blocks every model kind shares: one MLP backbone, so that comparisons are fair.

Shapes (B = batch, D = 784 pixels, Z = latent size):
    Encoder:        x (B, D) -> z (B, Z)       [+ mu, logvar (B, Z) for the gaussian kind]
    Decoder:        z (B, Z) -> logits (B, D)  (images are sigmoid(logits), in [0, 1])
    Discriminator:  z (B, Z) -> logits (B,)    (no sigmoid, no BatchNorm)

Encoder kinds (paper §2, "choices of q(z|x)"):
    deterministic   z = f(x)
    gaussian        z = mu(x) + sigma(x) * eps,  eps ~ N(0, I)   (the reparametrisation trick)
    universal       z = f(x, eta), eta ~ N(0, I) fed beside x     (a universal approximator posterior)

The models hold no optimisers and no loss weights (see ``aae.train``). The model kinds (AE, VAE,
AAE, ...) put these blocks together in ``aae.kinds``; ``aae.kinds.build_model(config)`` builds any.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import ModelConfig

IMAGE_SIZE = 28
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE

# hidden widths of encoder (and, reversed, decoder); discriminator widths
PRESET_HIDDEN: dict[str, tuple[int, ...]] = {"small": (512, 256), "paper": (1000, 1000)}
PRESET_DISC_HIDDEN: dict[str, tuple[int, ...]] = {"small": (256, 256), "paper": (1000, 1000)}
DISC_LEAKY_SLOPE = 0.2  # negative slope of the discriminator's LeakyReLU (GAN practice, see Discriminator)
DISC_FOURIER_SCALE = 4.0  # std of the random frequencies of ModelConfig.disc_fourier's features
DISC_FOURIER_SEED = 0


def mlp(sizes: list[int] | tuple[int, ...], *, leaky: float = 0.0) -> nn.Sequential:
    """Linear layers with ReLU (LeakyReLU if ``leaky`` > 0) between them, none after the last:
    ``mlp([2, 8, 1])``."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(leaky) if leaky > 0 else nn.ReLU())
    return nn.Sequential(*layers)


@dataclass
class EncoderOutput:
    z: torch.Tensor                     # (B, Z) codes (sampled for stochastic encoders)
    mu: torch.Tensor | None = None      # (B, Z) gaussian kind only
    logvar: torch.Tensor | None = None  # (B, Z) gaussian kind only


class Encoder(nn.Module):
    def __init__(self, *, latent_dim: int, hidden: tuple[int, ...], kind: str = "deterministic",
                 noise_dim: int = 8) -> None:
        super().__init__()
        self.kind = kind
        self.latent_dim = latent_dim
        self.noise_dim = noise_dim if kind == "universal" else 0
        out = 2 * latent_dim if kind == "gaussian" else latent_dim
        self.net = mlp([N_PIXELS + self.noise_dim, *hidden, out])

    def forward(self, x: torch.Tensor, *, sample: bool = True,
                generator: torch.Generator | None = None) -> EncoderOutput:
        """``sample=False`` gives the code's mean: mu for gaussian, eta = 0 for universal."""
        x = x.reshape(x.shape[0], -1)                                    # (B, D)
        if self.kind == "universal":
            if sample:
                eta = torch.randn(x.shape[0], self.noise_dim, generator=generator, device=x.device, dtype=x.dtype)
            else:
                eta = x.new_zeros(x.shape[0], self.noise_dim)
            return EncoderOutput(z=self.net(torch.cat((x, eta), dim=1)))  # (B, Z)
        h = self.net(x)
        if self.kind == "deterministic":
            return EncoderOutput(z=h)
        mu, logvar = h.chunk(2, dim=1)                                    # (B, Z) each
        logvar = logvar.clamp(-12.0, 8.0)  # keeps exp() finite early in training
        if not sample:
            return EncoderOutput(z=mu, mu=mu, logvar=logvar)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return EncoderOutput(z=mu + torch.exp(0.5 * logvar) * eps, mu=mu, logvar=logvar)


class Decoder(nn.Module):
    def __init__(self, *, latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp([latent_dim, *reversed(hidden), N_PIXELS])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)                                               # (B, D) logits

    def linear_layers(self) -> list[nn.Linear]:
        """The Linear layers in order (ReLU between them, sigmoid after the last): what a
        browser-side decoder needs to reproduce ``decode`` exactly."""
        return [m for m in self.net if isinstance(m, nn.Linear)]


class Discriminator(nn.Module):
    """D(z): logit that z came from the prior p(z) rather than from the encoder's q(z).

    ``fourier`` > 0 feeds sin(z·B) and cos(z·B) beside z, for ``fourier`` fixed random directions
    and frequencies B ~ N(0, DISC_FOURIER_SCALE²) (random Fourier features). A plain MLP on a 2-D
    input draws smooth functions first: trained alone on the shipped pinwheel's codes (a disc with
    the right radii and no arms) against the pinwheel, it tells them apart 54.5 % of the time after
    3,000 steps, with 64 features 75 % (README, "The referee on the shipped models").
    """

    def __init__(self, *, latent_dim: int, hidden: tuple[int, ...], fourier: int = 0) -> None:
        super().__init__()
        if fourier:
            # drawn from a fixed seed, not the global RNG, and saved with the weights (a buffer)
            g = torch.Generator().manual_seed(DISC_FOURIER_SEED)
            self.register_buffer("fourier", torch.randn(latent_dim, fourier, generator=g) * DISC_FOURIER_SCALE)
        else:
            self.fourier = None
        # LeakyReLU, not ReLU: with plain ReLU the discriminator's units die once the codes drift
        # outside the prior's range, D outputs a constant (loss stuck at 2·ln 2 ≈ 1.386), the
        # generator gets no gradient and q(z) drifts away from p(z) (measured: benchmarks/sweep_defaults.py).
        self.net = mlp([latent_dim + 2 * fourier, *hidden, 1], leaky=DISC_LEAKY_SLOPE)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.fourier is not None:
            p = z @ self.fourier                                         # (B, F)
            z = torch.cat([z, torch.sin(p), torch.cos(p)], dim=1)        # (B, Z + 2F)
        return self.net(z).squeeze(1)                                    # (B,)


class Autoencoder(nn.Module):
    """Shared interface of every model kind: ``encode / decode / reconstruct / sample``.

    ``kind`` is the registry name of the model kind that built it (``aae.kinds``).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.kind = config.kind
        hidden = PRESET_HIDDEN[config.preset]
        self.encoder = Encoder(latent_dim=config.latent_dim, hidden=hidden, kind=config.encoder,
                               noise_dim=config.noise_dim)
        self.decoder = Decoder(latent_dim=config.latent_dim, hidden=hidden)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor, *, sample: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes z (B, Z) of images x (B, 784) or (B, 28, 28) in [0, 1]; the mean code by default."""
        return self.encoder(x, sample=sample, generator=generator).z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) in [0, 1] for codes z (B, Z)."""
        return torch.sigmoid(self.decoder(z)).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    # Callers that know the digits (the job's fixed images, the held-out evaluation) use these two:
    # a kind whose decoder is told the digit (the supervised AAE) draws those digits; the others
    # ignore the labels.
    def decode_given(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``decode(z)`` of codes z (B, Z) whose digits are ``labels`` (B,)."""
        return self.decode(z)

    def reconstruct_given(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``reconstruct(x)`` of images x (B, 784) whose digits are ``labels`` (B,)."""
        return self.reconstruct(x)

    def sample(self, n: int, prior, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from ``prior`` (an ``aae.priors.Prior``): (n, 28, 28)."""
        device = next(self.parameters()).device
        z = prior.sample(n, generator=generator, device=device)
        return self.decode(z)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
