"""The input-dependent noise of ``GPSurrogate(noise_model="log-linear")`` (surrogates/gp.py):
the raw log noise b + wᵀx over the normalized inputs, in the form GPyTorch's
``HeteroskedasticNoise`` reads a noise model from.  A module of its own so that gpytorch is
imported only where this noise model is used."""

from __future__ import annotations

import gpytorch
import torch
from gpytorch.distributions import MultivariateNormal
from gpytorch.priors import NormalPrior
from linear_operator.operators import DiagLinearOperator

#: prior of the bias b: the log of BoTorch's LogNormal(-4, 1) noise prior
BIAS_PRIOR = (-4.0, 1.0)
#: prior of each weight: a noise variance that changes by e² across the box is one prior sd
WEIGHT_PRIOR = (0.0, 1.0)


class LogLinearNoise(gpytorch.Module):
    """Raw log noise b + wᵀx (``d`` inputs) as the mean of a near-deterministic normal;
    starts at b = -4, w = 0 (BoTorch's default noise, constant)."""

    def __init__(self, d: int):
        super().__init__()
        self.mean = gpytorch.means.LinearMean(d).double()
        self.mean.register_prior("bias_prior", NormalPrior(*BIAS_PRIOR), "bias")
        self.mean.register_prior("weights_prior", NormalPrior(*WEIGHT_PRIOR), "weights")
        with torch.no_grad():
            self.mean.bias.fill_(BIAS_PRIOR[0])
            self.mean.weights.zero_()

    def forward(self, x):
        raw = self.mean(x)
        return MultivariateNormal(raw, DiagLinearOperator(torch.full_like(raw, 1e-6)))
