"""AAE Lab core: data, priors, AE/VAE/AAE models, the phased trainer, background jobs,
checkpoints and metrics. Pure PyTorch + NumPy; importing it starts nothing."""

__version__ = "0.1.0"
