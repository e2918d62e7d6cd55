"""Bayesian calibration: grid quadrature for one to three parameters, an ensemble MCMC beyond.

The posterior p(θ | y) ∝ p(y | θ) p(θ) is evaluated on a tensor grid over the parameters'
prior boxes (uniform priors, in log space for ``log=True`` parameters) and normalized by the
grid sum: for one to three smooth parameters that is exact to the grid resolution and takes
milliseconds, with no sampler to tune or diagnose (Gelman et al., Bayesian Data Analysis,
3rd ed., §3.1; the same quadrature tortuosity calibrations use).  Marginals, means, standard
deviations and equal-tailed credible intervals come from sums over the grid.

Four or more parameters (the DEM contact law) make the grid too large (21⁴ nodes × every
observation through an emulator); :func:`mcmc_posterior` samples the same truncated uniform
prior with emcee's affine-invariant ensemble sampler (Goodman & Weare, Comm. Appl. Math.
Comput. Sci. 5 (2010) 65; Foreman-Mackey et al., PASP 125 (2013) 306), in the parameters'
prior scale (log θ for ``log=True``), and summarizes the draws the same way
(:class:`SamplePosterior`).  Its integrated autocorrelation time and acceptance fraction are
reported so that a short chain is visible.

Tortuosity model (the Bruggeman relation, Landesfeind et al., J. Electrochem. Soc. 163 (2016)
A1373, Eq. 3-4): τ = γ ε^(1-α), so the ionic resistance of an electrode of thickness L in an
electrolyte of bulk conductivity κ is

    R_ion = τ L / (κ ε) = γ L ε^(-α) / κ       [Ω m²]

with α the Bruggeman exponent (1.5 for ideal spheres) and γ a prefactor (1 in Bruggeman's
form).  Measurements carry Gaussian noise σ_i; an optional noise scale s multiplies every σ_i
when the stated noise is itself uncertain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CREDIBLE_MASS = 0.95


@dataclass(frozen=True)
class Parameter:
    """One calibrated parameter with a uniform prior on [lower, upper] (log-uniform if log).

    Attributes:
        name: parameter name (used in reports and as the forward model's keyword).
        lower, upper: prior bounds, lower < upper (both > 0 if log).
        log: uniform prior in log(θ) instead of θ.
        points: grid points on the prior box, in [11, 4001].
    """

    name: str
    lower: float
    upper: float
    log: bool = False
    points: int = 201

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)
                and self.lower < self.upper):
            raise ValueError(f"{self.name}: the prior bounds need lower < upper, got "
                             f"[{self.lower}, {self.upper}]")
        if self.log and self.lower <= 0:
            raise ValueError(f"{self.name}: a log-uniform prior needs lower > 0, got "
                             f"{self.lower}")
        if not 11 <= self.points <= 4001:
            raise ValueError(f"{self.name}: points must lie in [11, 4001], got {self.points}")

    def grid(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.lower, self.upper, self.points)
        return np.linspace(self.lower, self.upper, self.points)


@dataclass(frozen=True)
class Marginal:
    """Summary of one parameter's marginal posterior.

    Attributes:
        name: the parameter.
        mean, sd: posterior mean and standard deviation.
        mode: grid point of the highest marginal density.
        lower, upper: equal-tailed credible interval at ``CREDIBLE_MASS`` (95 %).
        at_prior_edge: the interval touches a prior bound (the data do not pin it inside
            the box; widen the prior).
        grid, density: the marginal on the grid (density per unit of the parameter).
    """

    name: str
    mean: float
    sd: float
    mode: float
    lower: float
    upper: float
    at_prior_edge: bool
    grid: np.ndarray
    density: np.ndarray

    def summary(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "mode": self.mode,
                "ci95_lower": self.lower, "ci95_upper": self.upper,
                "at_prior_edge": self.at_prior_edge}


@dataclass(frozen=True)
class GridPosterior:
    """A normalized posterior on a tensor grid.

    Attributes:
        parameters: the calibrated parameters on the final (possibly zoomed) grid, in
            axis order.
        weights: posterior mass per grid node (sums to 1), shape (n_1, ..., n_d).
        log_evidence: log of the grid estimate of p(y) under the uniform prior box.
        priors: the parameters as given (the prior boxes; default: ``parameters``).
    """

    parameters: tuple[Parameter, ...]
    weights: np.ndarray
    log_evidence: float
    priors: tuple[Parameter, ...] = ()

    def axes(self) -> list[np.ndarray]:
        return [p.grid() for p in self.parameters]

    def marginal(self, name: str) -> Marginal:
        k = [p.name for p in self.parameters].index(name)
        par = self.parameters[k]
        grid = par.grid()
        mass = self.weights.sum(axis=tuple(i for i in range(self.weights.ndim) if i != k))
        mean = float(np.sum(mass * grid))
        sd = float(math.sqrt(max(np.sum(mass * (grid - mean) ** 2), 0.0)))
        lo, hi = _equal_tailed(grid, mass, CREDIBLE_MASS)
        density = mass / np.gradient(grid)
        prior = (self.priors or self.parameters)[k].grid()
        edge = bool(lo <= prior[1] or hi >= prior[-2])
        return Marginal(name, mean, sd, float(grid[int(np.argmax(density))]), lo, hi, edge,
                        grid, density)

    def marginals(self) -> dict[str, Marginal]:
        return {p.name: self.marginal(p.name) for p in self.parameters}

    def sample(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """n draws of the parameters from the grid posterior (node values, jittered within
        their cell so predictive bands are smooth)."""
        rng = np.random.default_rng(seed)
        flat = rng.choice(self.weights.size, size=n, p=self.weights.ravel())
        idx = np.unravel_index(flat, self.weights.shape)
        out = {}
        for k, par in enumerate(self.parameters):
            grid = par.grid()
            x = np.log(grid) if par.log else grid
            half = 0.5 * (x[1] - x[0])
            v = x[idx[k]] + rng.uniform(-half, half, n)
            v = np.clip(v, x[0], x[-1])
            out[par.name] = np.exp(v) if par.log else v
        return out


def _equal_tailed(grid: np.ndarray, mass: np.ndarray, level: float) -> tuple[float, float]:
    """Equal-tailed interval of a discrete marginal, interpolating the CDF between nodes."""
    cdf = np.cumsum(mass)
    cdf = cdf / cdf[-1]
    centred = cdf - 0.5 * mass  # the node value sits at the middle of its own mass
    tail = 0.5 * (1.0 - level)
    return (float(np.interp(tail, centred, grid)), float(np.interp(1.0 - tail, centred, grid)))


def _evaluate(log_likelihood, parameters: tuple[Parameter, ...]) -> tuple[np.ndarray, float]:
    """(log-likelihood on the tensor grid, its maximum)."""
    d = len(parameters)
    mesh = {}
    for k, p in enumerate(parameters):
        shape = [1] * d
        shape[k] = p.points
        mesh[p.name] = p.grid().reshape(shape)
    loglik = np.broadcast_to(np.asarray(log_likelihood(**mesh), dtype=float),
                             tuple(p.points for p in parameters))
    if not np.isfinite(loglik).any():
        raise ValueError("the likelihood is zero (or not finite) everywhere on the prior grid")
    loglik = np.where(np.isfinite(loglik), loglik, -np.inf)
    return loglik, float(loglik.max())


def _scale(p: Parameter, value):
    return np.log(value) if p.log else value


def grid_posterior(log_likelihood: Callable[..., np.ndarray],
                   parameters: Sequence[Parameter], refinements: int = 3) -> GridPosterior:
    """Posterior on the tensor grid of ``parameters`` (uniform priors in each parameter's own
    scale: the grid is uniform in log θ for log parameters, so equal node weights are the
    prior).  ``log_likelihood(**{name: array})`` gets broadcastable arrays of shape
    (n_1, 1, ...), (1, n_2, ...) and returns the log-likelihood on the grid.

    Where the posterior is much narrower than the prior box, the grid zooms in (up to
    ``refinements`` times) on the nodes carrying more than 1e-12 of the peak density, two
    nodes of margin on each side, so that the interval is resolved by many nodes rather than
    one.  The uniform prior makes the truncation exact up to the neglected mass; the
    evidence keeps the original box's normalization."""
    priors = tuple(parameters)
    if not 1 <= len(priors) <= 3:
        raise ValueError(f"grid quadrature takes 1 to 3 parameters, got {len(priors)}")
    names = [p.name for p in priors]
    if len(set(names)) != len(names):
        raise ValueError(f"parameter names must differ, got {names}")
    grid = priors
    for _ in range(refinements + 1):
        loglik, top = _evaluate(log_likelihood, grid)
        w = np.exp(loglik - top)
        zoomed, narrow = [], False
        for k, p in enumerate(grid):
            mass = w.max(axis=tuple(i for i in range(w.ndim) if i != k))
            idx = np.nonzero(mass > 1e-12)[0]
            lo, hi = max(idx[0] - 2, 0), min(idx[-1] + 2, p.points - 1)
            if hi - lo < p.points // 4:
                narrow = True
                nodes = p.grid()
                zoomed.append(Parameter(p.name, float(nodes[lo]), float(nodes[hi]), p.log,
                                        p.points))
            else:
                zoomed.append(p)
        if not narrow:
            break
        grid = tuple(zoomed)
    total = float(w.sum())
    volume = math.prod((_scale(g, g.upper) - _scale(g, g.lower))
                       / (_scale(p, p.upper) - _scale(p, p.lower))
                       for g, p in zip(grid, priors, strict=True))
    return GridPosterior(grid, w / total, top + math.log(total / w.size * volume), priors)


# ---------------------------------------------------------------------------- tortuosity
BRUGGEMAN_PARAMETERS = {
    "alpha": Parameter("alpha", 1.0, 6.0, points=501),
    "gamma": Parameter("gamma", 0.5, 2.0, log=True, points=161),
    "noise_scale": Parameter("noise_scale", 0.25, 4.0, log=True, points=81),
}


@dataclass(frozen=True)
class IonicResistanceData:
    """Measured ionic resistances of electrodes at several porosities.

    Attributes:
        porosity: ε per electrode, each in (0, 1).
        thickness_m: electrode thickness [m], each > 0.
        r_ion_ohm_m2: measured R_ion [Ω m²], each > 0.
        sigma_ohm_m2: its standard deviation [Ω m²], each > 0.
        conductivity_s_m: bulk electrolyte conductivity κ [S/m], each > 0.
    """

    porosity: np.ndarray
    thickness_m: np.ndarray
    r_ion_ohm_m2: np.ndarray
    sigma_ohm_m2: np.ndarray
    conductivity_s_m: np.ndarray

    def __post_init__(self) -> None:
        n = np.asarray(self.porosity).size
        if n < 2:
            raise ValueError(f"calibration needs at least 2 measurements, got {n}")
        for name in ("porosity", "thickness_m", "r_ion_ohm_m2", "sigma_ohm_m2",
                     "conductivity_s_m"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (n,):
                raise ValueError(f"{name}: expected {n} values, got shape {v.shape}")
            if not np.all(np.isfinite(v)) or np.any(v <= 0):
                raise ValueError(f"{name}: every value must be finite and > 0")
            object.__setattr__(self, name, v)
        if np.any(self.porosity >= 1):
            raise ValueError("porosity: every value must lie in (0, 1)")

    def tortuosity(self) -> np.ndarray:
        """τ_EIS = R_ion κ ε / L per measurement [-] (Landesfeind 2016, Eq. 3)."""
        return self.r_ion_ohm_m2 * self.conductivity_s_m * self.porosity / self.thickness_m


def bruggeman_r_ion_ohm_m2(porosity, thickness_m, conductivity_s_m, alpha, gamma=1.0):
    """R_ion = γ L ε^(-α) / κ [Ω m²] (module docstring); broadcasts."""
    return gamma * thickness_m * np.power(porosity, -alpha) / conductivity_s_m


def calibrate_bruggeman(data: IonicResistanceData, fit_gamma: bool = False,
                        fit_noise_scale: bool = False,
                        priors: Mapping[str, Parameter] | None = None) -> GridPosterior:
    """Posterior of the Bruggeman exponent α (and optionally the prefactor γ and a noise
    scale s) from ionic resistances, by grid quadrature.  Gaussian likelihood
    y_i ~ N(R_ion(ε_i; α, γ), (s σ_i)²); uniform prior on α, log-uniform on γ and s."""
    priors = {**BRUGGEMAN_PARAMETERS, **(priors or {})}
    params = [priors["alpha"]]
    if fit_gamma:
        params.append(priors["gamma"])
    if fit_noise_scale:
        params.append(priors["noise_scale"])
    eps, length, kappa = data.porosity, data.thickness_m, data.conductivity_s_m
    y, sig = data.r_ion_ohm_m2, data.sigma_ohm_m2

    def loglik(alpha, gamma=1.0, noise_scale=1.0):
        # data axis last: parameters broadcast against (..., n_data)
        a = np.asarray(alpha)[..., None]
        g = np.asarray(gamma)[..., None]
        s = np.asarray(noise_scale)[..., None]
        model = bruggeman_r_ion_ohm_m2(eps, length, kappa, a, g)
        r = (y - model) / (s * sig)
        return np.sum(-0.5 * r * r - np.log(s * sig) - 0.5 * math.log(2 * math.pi), axis=-1)

    return grid_posterior(loglik, params)


def synthetic_r_ion_data(alpha: float, porosity: Sequence[float], thickness_m: float = 60e-6,
                         conductivity_s_m: float = 1.0, relative_noise: float = 0.05,
                         gamma: float = 1.0, seed: int = 0) -> IonicResistanceData:
    """R_ion from the Bruggeman model at a known exponent plus Gaussian noise of
    ``relative_noise`` × the true value (for coverage tests and examples)."""
    eps = np.asarray(porosity, dtype=float)
    true = bruggeman_r_ion_ohm_m2(eps, thickness_m, conductivity_s_m, alpha, gamma)
    sigma = relative_noise * true
    rng = np.random.default_rng(seed)
    n = eps.size
    return IonicResistanceData(eps, np.full(n, thickness_m), true + rng.normal(0, sigma),
                               sigma, np.full(n, conductivity_s_m))


# ---------------------------------------------------------------------------- ensemble MCMC
@dataclass(frozen=True)
class SamplePosterior:
    """A posterior as equally weighted draws (from :func:`mcmc_posterior`).

    Attributes:
        parameters: the calibrated parameters (prior boxes), in column order.
        samples: draws, n × k, in the parameters' own units.
        log_posterior: log density (up to a constant) of each draw.
        acceptance: mean acceptance fraction of the walkers [-].
        autocorr_steps: integrated autocorrelation time per parameter [steps] (emcee's
            estimate, nan where the chain is too short to estimate it).
    """

    parameters: tuple[Parameter, ...]
    samples: np.ndarray
    log_posterior: np.ndarray
    acceptance: float
    autocorr_steps: tuple[float, ...]

    def marginal(self, name: str) -> Marginal:
        from scipy.stats import gaussian_kde

        k = [p.name for p in self.parameters].index(name)
        par = self.parameters[k]
        x = self.samples[:, k]
        scaled = _scale(par, x)
        lo, hi = np.percentile(x, [50 * (1 - CREDIBLE_MASS), 50 * (1 + CREDIBLE_MASS)])
        grid = par.grid()
        if np.ptp(scaled) > 0:
            density = gaussian_kde(scaled)(_scale(par, grid))
            if par.log:  # density per unit of log θ -> per unit of θ
                density = density / grid
        else:
            density = np.where(np.isclose(grid, x[0]), 1.0, 0.0)
        span = _scale(par, par.upper) - _scale(par, par.lower)
        edge = bool(_scale(par, lo) - _scale(par, par.lower) < 0.02 * span
                    or _scale(par, par.upper) - _scale(par, hi) < 0.02 * span)
        return Marginal(name, float(x.mean()), float(x.std()), float(grid[np.argmax(density)]),
                        float(lo), float(hi), edge, grid, density)

    def marginals(self) -> dict[str, Marginal]:
        return {p.name: self.marginal(p.name) for p in self.parameters}

    def best(self) -> dict[str, float]:
        """The draw of highest posterior density (the MAP estimate within the chain)."""
        row = self.samples[int(np.argmax(self.log_posterior))]
        return {p.name: float(v) for p, v in zip(self.parameters, row, strict=True)}

    def sample(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """n draws (with replacement) from the chain."""
        idx = np.random.default_rng(seed).integers(0, len(self.samples), n)
        return {p.name: self.samples[idx, k] for k, p in enumerate(self.parameters)}


#: a walker is stranded when its log posterior lies this far below the best walker's, in
#: units of χ²_k(STRANDED_QUANTILE)/2: a Gaussian posterior puts 0.1 % of its mass there
STRANDED_QUANTILE = 0.999


def reseat_stuck_walkers(coords: np.ndarray, log_prob: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
    """Walker positions (w × k) with the stranded ones moved onto the others.

    The stretch move proposes along the line to another walker, so a walker in a narrow
    local mode (the end of a ridge that one observable rules out) can stay there for the
    whole chain, one walker's share of draws in a region of negligible mass.  Walkers whose
    log posterior lies more than χ²_k(0.999)/2 below the best walker's (:data:
    `STRANDED_QUANTILE`) are re-seated at randomly chosen others, jittered by 1e-6 of the
    ensemble's spread (the usual re-initialisation after burn-in, Foreman-Mackey et al.
    2013, §5: walkers left behind in a low-probability mode are moved)."""
    from scipy.stats import chi2

    coords = np.array(coords, dtype=float)
    log_prob = np.asarray(log_prob, dtype=float)
    limit = np.max(log_prob) - 0.5 * chi2.ppf(STRANDED_QUANTILE, coords.shape[1])
    stranded = ~(log_prob >= limit)
    good = np.flatnonzero(~stranded)
    if stranded.any() and len(good) >= 2:
        spread = np.std(coords[good], axis=0) + 1e-12
        picks = rng.choice(good, int(stranded.sum()))
        coords[stranded] = coords[picks] + 1e-6 * spread * rng.standard_normal(
            (int(stranded.sum()), coords.shape[1]))
    return coords


def mcmc_posterior(log_likelihood: Callable[[np.ndarray], np.ndarray],
                   parameters: Sequence[Parameter], *, walkers: int | None = None,
                   steps: int = 3000, burn: int = 1000, thin: int = 5,
                   seed: int = 0) -> SamplePosterior:
    """Draws from the posterior under uniform priors on the parameters' boxes (in log θ for
    ``log=True``) with emcee's ensemble sampler, every walker proposing in one vectorized
    call: ``log_likelihood(theta)`` takes m × k points in the parameters' own units and returns
    m log-likelihoods (-inf where the prior is truncated).  The walkers start at uniform prior
    draws with a finite likelihood; after the ``burn`` steps the walkers stranded in a
    negligible local mode are re-seated (:func:`reseat_stuck_walkers`) and the chain that is
    kept starts from there."""
    import emcee

    params = tuple(parameters)
    k = len(params)
    names = [p.name for p in params]
    if k < 1 or len(set(names)) != k:
        raise ValueError(f"need one or more differently named parameters, got {names}")
    if not 0 <= burn < steps:
        raise ValueError(f"burn must lie in [0, steps), got {burn} of {steps}")
    walkers = walkers or max(32, 8 * k)
    lo = np.array([_scale(p, p.lower) for p in params], dtype=float)
    hi = np.array([_scale(p, p.upper) for p in params], dtype=float)
    is_log = np.array([p.log for p in params])

    def to_theta(u: np.ndarray) -> np.ndarray:
        return np.where(is_log, np.exp(u), u)

    def log_prob(u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(u)
        inside = np.all((u >= lo) & (u <= hi), axis=1)
        out = np.full(len(u), -np.inf)
        if inside.any():
            ll = np.asarray(log_likelihood(to_theta(u[inside])), dtype=float)
            out[inside] = np.where(np.isfinite(ll), ll, -np.inf)
        return out

    rng = np.random.default_rng(seed)
    start = np.empty((0, k))
    for _ in range(50):
        u = lo + (hi - lo) * rng.random((8 * walkers, k))
        start = np.vstack([start, u[np.isfinite(log_prob(u))]])
        if len(start) >= walkers:
            break
    if len(start) < walkers:
        raise ValueError("the likelihood is zero (or not finite) almost everywhere in the "
                         "prior box: no start for the walkers")
    sampler = emcee.EnsembleSampler(walkers, k, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(int(rng.integers(2 ** 31))).get_state()
    position = start[:walkers]
    if burn > 0:
        state = sampler.run_mcmc(position, burn, progress=False)
        position = reseat_stuck_walkers(state.coords, state.log_prob, rng)
        sampler.reset()
    sampler.run_mcmc(position, steps - burn, progress=False)
    chain = sampler.get_chain(thin=thin, flat=True)
    logp = sampler.get_log_prob(thin=thin, flat=True)
    tau = sampler.get_autocorr_time(quiet=True)
    return SamplePosterior(params, to_theta(chain), logp,
                           float(np.mean(sampler.acceptance_fraction)),
                           tuple(float(t) if np.isfinite(t) else math.nan for t in tau))


# ---------------------------------------------------------------------------- emulated models
def calibrate_with_emulator(predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                            observed: np.ndarray, sigma: np.ndarray,
                            parameters: Sequence[Parameter],
                            admissible: Callable[[np.ndarray], np.ndarray] | None = None,
                            *, steps: int = 3000, seed: int = 0) -> SamplePosterior:
    """Posterior where an emulator stands in for an expensive forward model (Kennedy &
    O'Hagan 2001, with the emulator's predictive variance added to the measurement
    variance): y_i ~ N(μ_i(θ), σ_i² + s_i(θ)²), sampled by :func:`mcmc_posterior`.

    ``predict(theta)`` takes m parameter points (m × k, in the order of ``parameters``) and
    returns the emulator's mean and standard deviation for every observation (m × n each).
    ``admissible(theta)`` (m × k -> m booleans) truncates the prior to the region where the
    forward model is valid."""
    observed = np.asarray(observed, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if observed.ndim != 1 or sigma.shape != observed.shape or np.any(sigma <= 0):
        raise ValueError("observed and sigma need the same length and sigma > 0")

    def loglik(points: np.ndarray) -> np.ndarray:
        mean, sd = predict(points)
        var = sigma ** 2 + np.asarray(sd) ** 2
        ll = -0.5 * np.sum((observed - mean) ** 2 / var + np.log(2 * math.pi * var), axis=-1)
        if admissible is not None:
            ll = np.where(admissible(points), ll, -np.inf)
        return ll

    return mcmc_posterior(loglik, parameters, steps=steps, burn=steps // 3, seed=seed)
