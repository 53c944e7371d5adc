"""The prior registry: distributions p(z) the adversarial autoencoder can impose on its codes.

Every prior can be sampled with a ``torch.Generator`` (so runs are reproducible), sampled
conditioned on a class label (component k for label k: the paper's Fig. 6 / Fig. 4 set-up), and
declares its abilities, so that callers ask the prior instead of comparing its name:

    has_density          closed-form log p(z) (``log_prob`` returns None otherwise)
    full_support         log p(z) finite everywhere (what a VAE's KL term needs)
    kl_from_gaussian     closed-form KL(N(mu, σ²) ‖ p(z)), or None (then a Monte-Carlo estimate)
    bounds               the fixed plot window; ``outside_share`` = share of codes outside it
    n_components         how many labelled components it has
    supports_labels      ``sample(labels=...)`` draws component k for label k
    min_dim              the fewest latent dimensions its shape needs

The AAE only needs *samples* of p(z); a VAE needs ``log_prob`` in closed form — which is exactly
why a VAE cannot use the swiss roll (paper §2.1).

In 2-D every prior has its own shape. In more dimensions the extra coordinates are i.i.d.
Gaussian with the prior's scale, which keeps the shape in the first two coordinates.

Example::

    p = make_prior("mog10", dim=2)
    z = p.sample(500, generator=torch.Generator().manual_seed(0))   # (500, 2)
    z7 = p.sample(50, labels=torch.full((50,), 7))                  # all in component 7
"""

from __future__ import annotations

import math
import numpy as np
import torch

from .config import ConfigError, PriorConfig
from . import losses

N_COMPONENTS = 10  # one component per digit class
_LOG_2PI = math.log(2 * math.pi)


def _randn(n: int, d: int, generator: torch.Generator | None, device) -> torch.Tensor:
    return torch.randn(n, d, generator=generator, device=device)


def _rand(n: int, generator: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device)


def _labels_or_random(n: int, labels: torch.Tensor | None, generator, device) -> torch.Tensor:
    if labels is None:
        return torch.randint(0, N_COMPONENTS, (n,), generator=generator, device=device)
    labels = torch.as_tensor(labels, device=device).long().reshape(-1)
    if labels.numel() != n:
        raise ValueError(f"labels must have {n} entries, got {labels.numel()}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= N_COMPONENTS):
        raise ValueError(f"labels must lie in [0, {N_COMPONENTS - 1}]")
    return labels


def _rotate(xy: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate rows of ``xy`` (N, 2) by per-row ``angle`` (N,)."""
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack((c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]), dim=1)


class Prior:
    """Base class. Subclasses set the class attributes and implement ``_sample_2d``."""

    name: str = ""
    display_name: str = ""
    description: str = ""
    has_density: bool = False    # closed-form log p(z) available
    full_support: bool = False   # log p(z) finite everywhere (what a VAE's KL needs)
    n_components: int = N_COMPONENTS
    supports_labels: bool = True  # sample(labels=...) draws component k for label k
    min_dim: int = 2             # its 2-D shape needs two coordinates
    extent: float = 3.5          # half-width of the 2-D plot window at scale 1

    def __init__(self, dim: int = 2, scale: float = 1.0) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"prior dimension must be a positive integer, got {dim!r}")
        if dim < self.min_dim:
            raise ConfigError(f"the {self.display_name} prior needs at least {self.min_dim} latent dimensions")
        self.dim = dim
        self.scale = float(scale)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` codes (n, dim); with ``labels`` (n,), row i comes from component labels[i]."""
        device = generator.device if generator is not None else (device or "cpu")
        if self.dim == 1:
            return self._sample_1d(n, labels, generator, device)
        comp = _labels_or_random(n, labels, generator, device)
        xy = self._sample_2d(n, comp, generator, device) * self.scale
        if self.dim == 2:
            return xy
        rest = _randn(n, self.dim - 2, generator, device) * self.scale
        return torch.cat((xy, rest), dim=1)

    def _sample_2d(self, n, comp, generator, device) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _sample_1d(self, n, labels, generator, device) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    # -- density ----------------------------------------------------------------------------
    def log_prob(self, z: torch.Tensor) -> torch.Tensor | None:
        """log p(z) per row, or ``None`` when this prior has no closed-form density."""
        if not self.has_density:
            return None
        z = torch.as_tensor(z, dtype=torch.float32)
        lp = self._log_prob_2d(z[:, :2] / self.scale) - 2 * math.log(self.scale) if self.dim >= 2 else None
        if self.dim > 2:
            rest = z[:, 2:] / self.scale
            lp = lp + (-0.5 * (rest ** 2) - 0.5 * _LOG_2PI - math.log(self.scale)).sum(dim=1)
        return lp

    def _log_prob_2d(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def kl_from_gaussian(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor | None:
        """Closed-form KL(N(mu, diag σ²) ‖ p(z)) averaged over the batch, or ``None`` when there is
        no closed form (a VAE then uses the Monte-Carlo estimate ``losses.monte_carlo_kl``)."""
        return None

    @property
    def bounds(self) -> tuple[float, float]:
        """Symmetric plot window (lo, hi) for both axes of a 2-D scatter, fixed per prior."""
        half = self.extent * self.scale
        return (-half, half)

    def outside_share(self, z: np.ndarray | torch.Tensor) -> float:
        """Share of codes z (N, Z) whose first two coordinates fall outside ``bounds``.

            share = (1/N) Σ_n [ max(|z_n1|, |z_n2|) > hi ]
        """
        z = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z)
        if z.shape[0] == 0:
            return 0.0
        hi = self.bounds[1]
        far = ~np.isfinite(z[:, :2]).all(axis=1) | (np.abs(np.nan_to_num(z[:, :2], nan=np.inf)) > hi).any(axis=1)
        return float(far.mean())

    def density_grid(self, resolution: int = 80, *, n_samples: int = 200_000, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, density[res, res]) over ``bounds`` in the first two coordinates.

        Uses the closed form when there is one, else a smoothed histogram of a fixed sample,
        so the contour of p(z) looks the same on every refresh.
        """
        lo, hi = self.bounds
        xs = np.linspace(lo, hi, resolution, dtype=np.float32)
        ys = np.linspace(lo, hi, resolution, dtype=np.float32)
        if self.has_density:
            gx, gy = np.meshgrid(xs, ys)
            pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
            if self.dim > 2:
                pts = np.concatenate([pts, np.zeros((len(pts), self.dim - 2), np.float32)], axis=1)
            lp = self.log_prob(torch.from_numpy(pts)).numpy()
            dens = np.exp(lp - lp.max()).reshape(resolution, resolution)
        else:
            g = torch.Generator().manual_seed(seed)
            z = self.sample(n_samples, generator=g)[:, :2].numpy()
            edges = np.linspace(lo, hi, resolution + 1)
            hist, _, _ = np.histogram2d(z[:, 1], z[:, 0], bins=(edges, edges))
            dens = _smooth(hist.astype(np.float32))
            dens /= max(float(dens.max()), 1e-12)
        return xs, ys, dens.astype(np.float32)


def _smooth(img: np.ndarray, passes: int = 2) -> np.ndarray:
    """Cheap separable [1,2,1] blur, a few passes: enough to turn a histogram into a contour."""
    kernel = np.array([0.25, 0.5, 0.25], np.float32)
    out = img
    for _ in range(passes):
        out = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 0, out)
        out = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, out)
    return out


class GaussianPrior(Prior):
    """N(0, σ² I). Label k: the k-th of 10 equal-probability wedges around the origin."""

    name = "gaussian"
    display_name = "Gaussian"
    description = "One round blob, N(0, σ²I): the VAE's usual prior."
    has_density = True
    full_support = True
    min_dim = 1
    extent = 3.5

    def kl_from_gaussian(self, mu, logvar):
        return losses.gaussian_kl(mu, logvar, prior_std=self.scale)

    def _sample_2d(self, n, comp, generator, device):
        # Radius of a 2-D standard normal is Rayleigh: r = sqrt(-2 log U); angle uniform in the wedge.
        r = torch.sqrt(-2 * torch.log1p(-_rand(n, generator, device).clamp(max=1 - 1e-7)))
        theta = (comp.float() + _rand(n, generator, device)) * (2 * math.pi / N_COMPONENTS)
        return torch.stack((r * torch.cos(theta), r * torch.sin(theta)), dim=1)

    def _sample_1d(self, n, labels, generator, device):
        return _randn(n, 1, generator, device) * self.scale

    def log_prob(self, z):
        z = torch.as_tensor(z, dtype=torch.float32) / self.scale
        return (-0.5 * z ** 2 - 0.5 * _LOG_2PI - math.log(self.scale)).sum(dim=1)


class MoG10Prior(Prior):
    """The paper's mixture of 10 2-D Gaussians on a circle (Fig. 4): elongated radial petals."""

    name = "mog10"
    display_name = "Mixture of 10 Gaussians"
    description = ("Ten petals on a circle (paper Fig. 4). With labels in the game, each digit is sent to "
                   "its own petal.")
    has_density = True
    full_support = True
    extent = 3.5
    radius = 2.0        # distance of each component's mean from the origin
    std_radial = 0.5    # along the petal
    std_tangent = 0.1   # across the petal

    def _angles(self, device=None) -> torch.Tensor:
        return torch.arange(N_COMPONENTS, device=device, dtype=torch.float32) * (2 * math.pi / N_COMPONENTS)

    def component_means(self) -> torch.Tensor:
        """(10, 2) the petals' means, row k = component k (digit k in a label-conditioned run):
        μ_k = scale · r · (cos 2πk/10, sin 2πk/10)."""
        angles = self._angles()
        return torch.stack((torch.cos(angles), torch.sin(angles)), dim=1) * (self.radius * self.scale)

    def _sample_2d(self, n, comp, generator, device):
        local = _randn(n, 2, generator, device) * torch.tensor([self.std_radial, self.std_tangent], device=device)
        local[:, 0] += self.radius
        return _rotate(local, self._angles(device)[comp])

    def _log_prob_2d(self, z):
        angles = self._angles(z.device)
        # Rotate z into each component's frame: (N, K, 2).
        c, s = torch.cos(angles), torch.sin(angles)
        u = z[:, None, 0] * c + z[:, None, 1] * s - self.radius
        v = -z[:, None, 0] * s + z[:, None, 1] * c
        comp = (-0.5 * (u / self.std_radial) ** 2 - 0.5 * (v / self.std_tangent) ** 2
                - _LOG_2PI - math.log(self.std_radial * self.std_tangent))
        return torch.logsumexp(comp, dim=1) - math.log(N_COMPONENTS)


class SwissRollPrior(Prior):
    """A noisy spiral. Label k: the k-th tenth of the roll (paper Fig. 6). No closed-form density."""

    name = "swiss_roll"
    display_name = "Swiss roll"
    description = "A spiral: easy to sample, no density formula — an AAE can use it, a VAE cannot."
    extent = 3.5
    turns = 1.5         # number of windings
    r_max = 3.0         # outer radius
    noise = 0.08        # thickness of the roll

    def centre(self, u: torch.Tensor) -> torch.Tensor:
        """The roll's noiseless centre line (n, 2) at fractions u (n,) in [0, 1] of its length, at
        scale 1: digit k owns u in [k/10, (k+1)/10). t = sqrt(0.04 + 0.96 u) makes the density
        roughly uniform along the arc (arc length grows with t); θ = 2π·turns·t, r = r_max·t."""
        t = torch.sqrt(0.04 + 0.96 * u)
        theta = t * (2 * math.pi * self.turns)
        r = self.r_max * t
        return torch.stack((r * torch.cos(theta), r * torch.sin(theta)), dim=1)

    def _sample_2d(self, n, comp, generator, device):
        u = (comp.float() + _rand(n, generator, device)) / N_COMPONENTS
        return self.centre(u) + _randn(n, 2, generator, device) * self.noise


class UniformPrior(Prior):
    """Uniform on a square. Label k: the k-th of 10 vertical strips. Zero density outside."""

    name = "uniform"
    display_name = "Uniform square"
    description = "Flat density on a square: no preferred point, hard edges."
    has_density = True
    full_support = False
    half_width = 2.0
    extent = 2.6

    def _sample_2d(self, n, comp, generator, device):
        w = 2 * self.half_width
        x = (comp.float() + _rand(n, generator, device)) / N_COMPONENTS * w - self.half_width
        y = _rand(n, generator, device) * w - self.half_width
        return torch.stack((x, y), dim=1)

    def _log_prob_2d(self, z):
        inside = (z.abs() <= self.half_width).all(dim=1)
        lp = torch.full((z.shape[0],), -2 * math.log(2 * self.half_width), dtype=z.dtype, device=z.device)
        return torch.where(inside, lp, torch.full_like(lp, -math.inf))


class PinwheelPrior(Prior):
    """Ten curved arms spinning out of the centre (Johnson et al., 2016). No closed-form density."""

    name = "pinwheel"
    display_name = "Pinwheel"
    description = ("Ten curved arms: easy to sample, no density formula. An AAE can impose it (so can "
                   "sample-based regularisers such as MMD or sliced Wasserstein); a VAE cannot.")
    extent = 3.5
    radial_std = 0.3
    tangential_std = 0.07
    rate = 0.35
    size = 1.8

    def _sample_2d(self, n, comp, generator, device):
        f = _randn(n, 2, generator, device) * torch.tensor([self.radial_std, self.tangential_std], device=device)
        f[:, 0] += 1.0
        angle = comp.float() * (2 * math.pi / N_COMPONENTS) + self.rate * torch.exp(f[:, 0])
        return _rotate(f, angle) * self.size


PRIORS: dict[str, type[Prior]] = {
    cls.name: cls for cls in (GaussianPrior, MoG10Prior, SwissRollPrior, UniformPrior, PinwheelPrior)
}


def make_prior(name: str, dim: int = 2, scale: float = 1.0) -> Prior:
    """Build a prior by registry name; unknown names raise ``ConfigError`` listing the known ones."""
    try:
        cls = PRIORS[name]
    except KeyError:
        raise ConfigError(f"unknown prior {name!r}; choose one of: {', '.join(PRIORS)}") from None
    return cls(dim=dim, scale=scale)


def prior_from_config(cfg: PriorConfig, dim: int) -> Prior:
    return make_prior(cfg.name, dim=dim, scale=cfg.scale)

