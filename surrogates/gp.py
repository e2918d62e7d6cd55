"""Gaussian-process surrogates (GPyTorch through BoTorch), one exact GP per output.

Each output gets a ``SingleTaskGP`` in float64 with BoTorch's default kernel: RBF with one
length scale per input under a log-normal prior that scales with the input dimension
(Hvarfner, Hellsten & Nardi 2024; BoTorch >= 0.12), inputs normalized to the unit cube over
the training range (``Normalize``), the output standardized (``Standardize``), Gaussian noise
learned.  The
hyperparameters maximize the exact marginal likelihood (``fit_gpytorch_mll``, L-BFGS-B); if
that fails the fit falls back to Adam (``fit_gpytorch_mll_torch``) and says so in
``GPSurrogate.fit_note``.  Predictions give the mean and the standard deviation of a new
observation (noise included), which is what coverage of simulated values measures.

A noise floor (``noise_floor_sd``, output units) bounds the learned noise from below: the
realization noise of a tier, measured from runs that repeat a point with other seeds
(:func:`surrogates.dataset.replicate_noise`).  A few noisy runs let the marginal likelihood
explain the noise by short length scales (a fitted noise of 0.6 % of the variance on 24
``fast`` runs, where the seed-to-seed scatter is tens of per cent of it); the GP then predicts
held-out runs with too little spread.  The floor enters as the lower bound of BoTorch's noise
constraint, in the standardized units the model works in (floor² / var(y)); the log-normal
noise prior (BoTorch's default, Hvarfner et al. 2024) is kept.

The noise is one constant by default.  ``noise_model="log-linear"`` lets it depend on the
inputs: log(σ²(x) - floor²) = b + wᵀx over the normalized inputs, GPyTorch's
``HeteroskedasticNoise`` around a linear mean, learned with the kernel by the same marginal
likelihood (d + 1 more hyperparameters).  Its priors make it BoTorch's default where the data
do not ask for more: b ~ N(-4, 1), the log of the LogNormal(-4, 1) noise prior, and
w ~ N(0, 1) (a noise variance that changes by e² across the box is one prior sd).  Where one
process input sets how strongly the realization noise of the structure reaches the output
(the 1C capacity of a thick, transport-limited coating carries the porosity's and
tortuosity's noise; a thin one hardly does), a constant noise is too wide at one end of the
box and too narrow at the other.  BoTorch 0.18 has no heteroskedastic GP class of its own
(``HeteroskedasticSingleTaskGP`` needs measured variances at every point, and was removed).

Categorical inputs (``categorical``: column indices of the model inputs holding integer
labels, e.g. which dried film a DEM run calendered): BoTorch's ``MixedSingleTaskGP``, whose
kernel is K_c + K_h + K_c·K_h over the continuous part c and the categories h (Ru et al.
2020, CoCaBO), so a label shifts the output by its own offset that may also change with the
continuous inputs; the continuous columns alone are normalized.
:meth:`GPSurrogate.predict_group_mean` gives the mean of new observations at several inputs
at once, e.g. the mean over films of runs at one parameter point (the joint posterior, so
the correlation of the films' predictions enters its sd).

Warm start (``fit(..., start=)``): a refit on most of the same data (a cross-validation
fold, a design that gained a few runs) starts L-BFGS-B from an earlier fit's
hyperparameters instead of BoTorch's initial values.  On the film-aware DEM emulator
(``MixedSingleTaskGP``, 11 hyperparameters whose film terms are nearly flat where the films
agree) a cold fit takes 500-1,300 L-BFGS-B iterations and a fold started at the full fit
44-190, 5-10x less CPU; the fold's optimum is then the one next to the full fit's, which is
what a cross-validation of that fit asks about.

A :class:`SurrogateSet` holds the models of several outputs and saves them in one file (the
training data, the transforms' state and the hyperparameters; loading refits nothing).
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from surrogates.features import check_features, model_inputs


def _torch():
    import torch

    return torch


@contextmanager
def single_threaded():
    """Run torch and BLAS on one thread: these GPs hold tens to hundreds of points, where
    threads cost more than they give (a 36-point fit: 0.05 s on one thread, 2.8 s on two
    beside a running simulation)."""
    from threadpoolctl import threadpool_limits

    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def torch_single_threaded():
    """Torch alone on one thread: what a prediction needs (it calls no BLAS outside torch).
    threadpoolctl's limit costs ~3 ms per entry, as much as a 32-point prediction itself,
    and an emulator MCMC predicts tens of thousands of times."""
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


NOISE_MODELS = ("constant", "log-linear")


@dataclass
class GPSurrogate:
    """One output's GP: ``input_names`` and ``features`` define its input space."""

    output: str
    input_names: tuple[str, ...]
    features: tuple[str, ...] = ()
    noise_floor_sd: float = 0.0  # lower bound of the noise sd, output units
    noise_model: str = "constant"  # or "log-linear" (module docstring)
    categorical: tuple[int, ...] = ()  # model-input columns holding category labels
    model: object = None
    fit_note: str = ""
    train_x: np.ndarray | None = None  # the GP's inputs (features applied)
    train_y: np.ndarray | None = None

    def fit(self, x: np.ndarray, y: np.ndarray,
            start: GPSurrogate | None = None) -> GPSurrogate:
        """Fit to inputs ``x`` (n × d, engineering units) and outputs ``y`` (n,).  ``start``:
        a fitted surrogate of the same inputs whose hyperparameters start the optimization
        (module docstring: warm start)."""
        self.features = check_features(self.features, self.input_names)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.input_names) or y.shape != (x.shape[0],):
            raise ValueError(f"{self.output}: need x of n × {len(self.input_names)} and y of "
                             f"n, got {x.shape} and {y.shape}")
        if x.shape[0] < 3 or not np.all(np.isfinite(y)):
            raise ValueError(f"{self.output}: need >= 3 finite training values, got "
                             f"{int(np.isfinite(y).sum())}")
        if not (np.isfinite(self.noise_floor_sd) and self.noise_floor_sd >= 0):
            raise ValueError(f"{self.output}: noise_floor_sd must be finite and >= 0, got "
                             f"{self.noise_floor_sd}")
        if self.noise_model not in NOISE_MODELS:
            raise ValueError(f"{self.output}: noise_model must be one of "
                             f"{', '.join(NOISE_MODELS)}, got {self.noise_model!r}")
        self.categorical = tuple(int(k) for k in self.categorical)
        if self.categorical and (self.features or self.noise_model != "constant" or any(
                not 0 <= k < x.shape[1] for k in self.categorical)):
            raise ValueError(f"{self.output}: categorical columns {self.categorical} need "
                             f"plain inputs (no features), constant noise and indices in "
                             f"[0, {x.shape[1] - 1}]")
        self.train_x = model_inputs(x, self.input_names, self.features)
        self.train_y = y.copy()
        with single_threaded():
            self.model = _build(self.train_x, self.train_y, self.noise_floor_sd,
                                self.noise_model, self.categorical)
            if start is not None and start.model is not None:
                _copy_hyperparameters(start.model, self.model)
            self.fit_note = _fit(self.model)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation of a new observation) at inputs ``x`` (n × d): one point
        per group of :meth:`predict_group_mean` (the marginal variances without the n × n
        joint covariance)."""
        return self.predict_group_mean(np.atleast_2d(np.asarray(x, dtype=float))[:, None, :])

    def predict_group_mean(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) of the average of new observations at the g inputs of each group,
        ``x`` (m × g × d): the joint posterior of the g points with the noise, so the sd is
        √(1ᵀ Σ 1) / g (the correlated part of the g predictions does not average out)."""
        if self.model is None:
            raise ValueError(f"{self.output}: the surrogate is not fitted")
        torch = _torch()
        x = np.asarray(x, dtype=float)
        m, g, d = x.shape
        xm = torch.as_tensor(model_inputs(x.reshape(m * g, d), self.input_names,
                                          self.features).reshape(m, g, -1), dtype=torch.float64)
        self.model.eval()
        with torch.no_grad(), torch_single_threaded():
            post = self.model.posterior(xm, observation_noise=True)
            mean = post.mean.squeeze(-1).mean(-1).numpy().copy()
            cov = post.distribution.covariance_matrix
            std = (cov.sum(dim=(-1, -2)).clamp_min(0).sqrt() / g).numpy().copy()
        return mean, std

    def state(self) -> dict:
        """Everything needed to rebuild the fitted model without refitting."""
        if self.model is None:
            raise ValueError(f"{self.output}: the surrogate is not fitted")
        return {"output": self.output, "input_names": list(self.input_names),
                "features": list(self.features), "fit_note": self.fit_note,
                "noise_floor_sd": self.noise_floor_sd, "noise_model": self.noise_model,
                "categorical": list(self.categorical),
                "train_x": self.train_x, "train_y": self.train_y,
                "state_dict": {k: v.detach().clone() for k, v in
                               self.model.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict) -> GPSurrogate:
        out = cls(state["output"], tuple(state["input_names"]), tuple(state["features"]),
                  noise_floor_sd=float(state.get("noise_floor_sd", 0.0)),
                  noise_model=state.get("noise_model", "constant"),
                  categorical=tuple(state.get("categorical", ())),
                  fit_note=state["fit_note"], train_x=np.asarray(state["train_x"]),
                  train_y=np.asarray(state["train_y"]))
        out.model = _build(out.train_x, out.train_y, out.noise_floor_sd, out.noise_model,
                           out.categorical)
        out.model.load_state_dict(state["state_dict"])
        out.model.eval()
        return out


def _build(xm: np.ndarray, y: np.ndarray, noise_floor_sd: float = 0.0,
           noise_model: str = "constant", categorical: tuple[int, ...] = ()):
    torch = _torch()
    from botorch.models import MixedSingleTaskGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize

    tx = torch.as_tensor(xm, dtype=torch.float64)
    ty = torch.as_tensor(y, dtype=torch.float64).unsqueeze(-1)
    d = tx.shape[-1]
    if categorical:
        return MixedSingleTaskGP(
            tx, ty, cat_dims=list(categorical),
            likelihood=_likelihood(y, noise_floor_sd, noise_model, d),
            input_transform=Normalize(d=d, indices=[k for k in range(d)
                                                    if k not in categorical]),
            outcome_transform=Standardize(m=1))
    return SingleTaskGP(tx, ty, likelihood=_likelihood(y, noise_floor_sd, noise_model,
                                                       tx.shape[-1]),
                        input_transform=Normalize(d=tx.shape[-1]),
                        outcome_transform=Standardize(m=1))


def _standardized_floor(y: np.ndarray, noise_floor_sd: float) -> float:
    """The floor as a noise variance in ``Standardize``'s units: floor² / var(y) (unbiased, as
    torch's ``std``), at least BoTorch's smallest inferred noise."""
    from botorch.models.utils.gpytorch_modules import MIN_INFERRED_NOISE_LEVEL

    var = float(np.var(y, ddof=1)) if y.size > 1 else 0.0
    return max(MIN_INFERRED_NOISE_LEVEL, noise_floor_sd ** 2 / var if var > 0 else 1.0)


def _likelihood(y: np.ndarray, noise_floor_sd: float, noise_model: str, d: int):
    """The Gaussian likelihood.  Constant noise: BoTorch's default (``None``: SingleTaskGP
    builds it) or, with a floor, that likelihood with its constraint's lower bound raised to
    the floor.  Log-linear noise: module docstring."""
    torch = _torch()
    from gpytorch.constraints import GreaterThan

    floor = _standardized_floor(y, noise_floor_sd)
    if noise_model == "log-linear":
        from gpytorch.likelihoods import _GaussianLikelihoodBase
        from gpytorch.likelihoods.noise_models import HeteroskedasticNoise

        from surrogates.noise import LogLinearNoise

        return _GaussianLikelihoodBase(HeteroskedasticNoise(
            LogLinearNoise(d), noise_constraint=GreaterThan(
                floor, transform=torch.exp, inv_transform=torch.log)))
    if noise_floor_sd <= 0:
        return None
    from botorch.models.utils.gpytorch_modules import (
        get_gaussian_likelihood_with_lognormal_prior,
    )

    likelihood = get_gaussian_likelihood_with_lognormal_prior()
    mode = float(likelihood.noise_covar.noise_prior.mode)
    likelihood.noise_covar.register_constraint(
        "raw_noise", GreaterThan(floor, transform=None, initial_value=max(floor * 1.01, mode)))
    likelihood.noise = max(floor * 1.01, mode)
    return likelihood


def _copy_hyperparameters(source, target) -> None:
    """Set ``target``'s hyperparameters (its torch parameters: length scales, output scales,
    noise, mean) to ``source``'s where the name and shape agree; the data-dependent buffers
    (``Normalize`` bounds, ``Standardize`` mean and sd) stay ``target``'s own."""
    torch = _torch()
    given = dict(source.named_parameters())
    with torch.no_grad():
        for name, value in target.named_parameters():
            if name in given and given[name].shape == value.shape:
                value.copy_(given[name])


def _fit(model) -> str:
    """Maximize the marginal likelihood; fall back to Adam; returns a note ('' if L-BFGS-B
    converged)."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.optim.fit import fit_gpytorch_mll_torch
    from gpytorch.mlls import ExactMarginalLogLikelihood

    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(mll)
        return ""
    except Exception as err:  # BoTorch raises ModelFittingError after its retries
        fit_gpytorch_mll(mll, optimizer=fit_gpytorch_mll_torch,
                         optimizer_kwargs={"step_limit": 300})
        return f"L-BFGS-B failed ({type(err).__name__}); fitted with Adam"


class SurrogateSet:
    """GPs of several outputs over the same process inputs; one file on disk."""

    def __init__(self, models: dict[str, GPSurrogate]):
        if not models:
            raise ValueError("a SurrogateSet needs at least one model")
        self.models = dict(models)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.models)

    def predict(self, x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {name: m.predict(x) for name, m in self.models.items()}

    def save(self, path: str | Path) -> Path:
        """Write all models atomically (torch serialization of plain tensors and arrays)."""
        torch = _torch()
        from physics.state import write_atomic

        buffer = io.BytesIO()
        torch.save({"format": "electrode-twin SurrogateSet", "version": 1,
                    "models": [m.state() for m in self.models.values()]}, buffer)
        return write_atomic(path, lambda fh: fh.write(buffer.getvalue()))

    @classmethod
    def load(cls, path: str | Path) -> SurrogateSet:
        torch = _torch()

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such surrogate file")
        try:
            data = torch.load(path, weights_only=False)
        except Exception as err:
            raise ValueError(f"{path}: not a readable surrogate file ({err})") from None
        if not isinstance(data, dict) or data.get("format") != "electrode-twin SurrogateSet":
            raise ValueError(f"{path}: not an electrode-twin surrogate file")
        models = [GPSurrogate.from_state(state) for state in data["models"]]
        return cls({m.output: m for m in models})
