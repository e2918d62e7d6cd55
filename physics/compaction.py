"""A closed-form compaction law of the electrode film: porosity against calendering pressure,
fitted to DEM calendering curves (or to measured ones), for the line-scale jobs.

Law (tangent pore bulk modulus growing linearly with pressure).  The pore space of the film
stiffens as it closes: with ε_min the porosity the film tends to at high pressure, the tangent
modulus of the excess pore volume K = -dp / d ln(ε - ε_min) is taken as K0 + m p, so

    ε(p) = ε_min + (ε0 - ε_min) (1 + m p / K0)^(-1/m),

ε0 the dried film's porosity.  m -> 0 gives Meyer et al.'s exponential calendering law
ε = ε_min + (ε0 - ε_min) exp(-p / K0) (J. Mater. Process. Technol. 249 (2017) 172, written
there in line load; K0 is their compaction resistance γ_c in pressure units); m > 0 gives the
slower, power-law tail of Heckel-type powder compaction (the "pore bulk modulus" model of the
calendering review, shared/reference/applications_calendering_review.txt).  ε is the porosity
after spring-back, what DEM curves and measurements report.

Thickness follows from the mass balance: the solid volume per area is kept, so a film of
porosity ε0 and thickness h0 is h0 (1 - ε0) / (1 - ε) thick at porosity ε.

The fit (:func:`fit_compaction_law`) is weighted least squares (scipy ``curve_fit``) of
(ε_min, log K0, log m) with the points' standard deviations, or an estimated scatter when none
are given; predictions carry the parameter covariance by sampling (:meth:`CompactionFit.draws`).
A seed ensemble is fitted with each film's own ε0 (the films share ε_min, K0 and m), so the
scatter left, ``residual_sd``, is the seed-to-seed scatter at a known dried porosity.  A curve
that does not determine the three parameters (a parameter at its bound: too few points, or
none where the curve levels off) is fitted with the exponential law instead, and the fit says
so in ``note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

M_FLOOR = 1e-6  # m below this is Meyer's exponential law (the limit m -> 0)
#: a fitted m below this moves the curve by < 0.03 % of (ε0 - ε_min) at any pressure
#: ((1 + m x)^(-1/m) = exp(-x + m x² / 2 - ...), x = p / K0, and m x² e^(-x) / 2 <= 0.27 m):
#: the exponential law, one parameter less, is fitted instead
M_NEGLIGIBLE = 1e-3


@dataclass(frozen=True)
class CompactionLaw:
    """ε(p) = ε_min + (ε0 - ε_min) (1 + m p / K0)^(-1/m) (module docstring).

    Attributes:
        porosity_initial: ε0, the dried (uncalendered) film's porosity [-].
        porosity_min: ε_min, the porosity approached at high pressure [-], < ε0.
        modulus_mpa: K0, the tangent pore bulk modulus at p = 0 [MPa].
        modulus_slope: m, its growth with pressure dK/dp [-] (0: exponential law).
    """

    porosity_initial: float
    porosity_min: float
    modulus_mpa: float
    modulus_slope: float = 0.0

    def __post_init__(self) -> None:
        if not (0.0 < self.porosity_initial < 1.0):
            raise ValueError(f"porosity_initial = {self.porosity_initial}; allowed range (0, 1)")
        if not (0.0 <= self.porosity_min < self.porosity_initial):
            raise ValueError(f"porosity_min = {self.porosity_min}; allowed range "
                             f"[0, porosity_initial = {self.porosity_initial})")
        if not (math.isfinite(self.modulus_mpa) and self.modulus_mpa > 0):
            raise ValueError(f"modulus_mpa = {self.modulus_mpa}; allowed range (0, inf) MPa")
        if not (math.isfinite(self.modulus_slope) and self.modulus_slope >= 0):
            raise ValueError(f"modulus_slope = {self.modulus_slope}; allowed range [0, inf)")

    def _decay(self, pressure_mpa):
        return decay(pressure_mpa, self.modulus_mpa, self.modulus_slope)

    def porosity(self, pressure_mpa):
        """ε after spring-back at ``pressure_mpa`` [MPa] (>= 0; array or float)."""
        p = np.asarray(pressure_mpa, dtype=float)
        if np.any(p < 0) or not np.all(np.isfinite(p)):
            raise ValueError(f"pressure_mpa must be finite and >= 0, got {pressure_mpa}")
        out = self.porosity_min + (self.porosity_initial - self.porosity_min) * self._decay(p)
        return float(out) if out.ndim == 0 else out

    def pressure_mpa(self, porosity):
        """The pressure [MPa] that gives ``porosity``; ValueError outside the reachable range
        (ε_min, ε0]."""
        e = np.asarray(porosity, dtype=float)
        if np.any(e <= self.porosity_min) or np.any(e > self.porosity_initial):
            raise ValueError(f"porosity {porosity} is not reachable: the law reaches "
                             f"({self.porosity_min:.4f}, {self.porosity_initial:.4f}]")
        r = (e - self.porosity_min) / (self.porosity_initial - self.porosity_min)
        if self.modulus_slope < M_FLOOR:
            p = -self.modulus_mpa * np.log(r)
        else:
            p = self.modulus_mpa / self.modulus_slope * (r ** (-self.modulus_slope) - 1.0)
        return float(p) if p.ndim == 0 else p

    def tangent_modulus_mpa(self, pressure_mpa):
        """Tangent pore bulk modulus K = -dp / d ln(ε - ε_min) = K0 + m p [MPa]."""
        return self.modulus_mpa + self.modulus_slope * np.asarray(pressure_mpa, dtype=float)

    def thickness_um(self, pressure_mpa, thickness_initial_um: float):
        """Film thickness [µm] after calendering at ``pressure_mpa`` from a dried film of
        ``thickness_initial_um`` at ε0 (mass balance, module docstring)."""
        return thickness_initial_um * (1.0 - self.porosity_initial) / (
            1.0 - np.asarray(self.porosity(pressure_mpa)))

    def with_initial(self, porosity_initial: float) -> CompactionLaw:
        """The same pore stiffness (ε_min, K0, m) for a film dried to another porosity."""
        return CompactionLaw(porosity_initial, self.porosity_min, self.modulus_mpa,
                             self.modulus_slope)


def decay(pressure_mpa, modulus_mpa, modulus_slope):
    """(ε - ε_min) / (ε0 - ε_min) at ``pressure_mpa`` (arrays broadcast)."""
    p = np.asarray(pressure_mpa, dtype=float)
    k = np.asarray(modulus_mpa, dtype=float)
    m = np.asarray(modulus_slope, dtype=float)
    safe = np.maximum(m, M_FLOOR)
    power = (1.0 + safe * p / k) ** (-1.0 / safe)
    return np.where(m < M_FLOOR, np.exp(-p / k), power)


def pressure_of_decay(ratio, modulus_mpa, modulus_slope):
    """The inverse of :func:`decay`: the pressure [MPa] where it equals ``ratio`` in (0, 1]."""
    r = np.asarray(ratio, dtype=float)
    k = np.asarray(modulus_mpa, dtype=float)
    m = np.asarray(modulus_slope, dtype=float)
    safe = np.maximum(m, M_FLOOR)
    return np.where(m < M_FLOOR, -k * np.log(r), k / safe * (r ** (-safe) - 1.0))


@dataclass(frozen=True)
class CompactionFit:
    """A fitted law with its parameter covariance.

    Attributes:
        law: the best fit.
        covariance: 3 x 3 covariance of (ε_min, ln K0, ln m) (m fixed at 0 -> its row and
            column are 0).
        residual_sd: the scatter of the points about the law [-] (RMS of the residuals,
            corrected for the fitted parameters), the seed-to-seed spread of a DEM ensemble.
        n_points: points fitted.
        note: how the fit ended when it is not the plain three-parameter least squares (the
            slope m ran to 0 and the exponential law was fitted instead); '' otherwise.
    """

    law: CompactionLaw
    covariance: np.ndarray
    residual_sd: float
    n_points: int
    note: str = ""

    def parameter_draws(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """``n`` draws of (ε_min, K0 [MPa], m) from the parameters' normal approximation;
        draws with ε_min outside [0, ε0) are redrawn."""
        rng = np.random.default_rng(seed)
        law = self.law
        mean = np.array([law.porosity_min, math.log(law.modulus_mpa),
                         math.log(max(law.modulus_slope, M_FLOOR))])
        kept: list[np.ndarray] = []
        count = 0
        for _ in range(100):
            x = rng.multivariate_normal(mean, self.covariance, size=n)
            x = x[(x[:, 0] >= 0.0) & (x[:, 0] < law.porosity_initial)]
            kept.append(x)
            count += len(x)
            if count >= n:
                break
        else:
            raise ValueError("the fit's covariance puts almost every draw of porosity_min "
                             "outside [0, porosity_initial): the curve does not determine it")
        x = np.concatenate(kept)[:n]
        slope = np.zeros(n) if law.modulus_slope == 0.0 else np.exp(x[:, 2])
        return x[:, 0], np.exp(x[:, 1]), slope

    def draws(self, n: int, seed: int = 0) -> list[CompactionLaw]:
        """``n`` laws drawn from the parameters' normal approximation (invalid draws, ε_min
        outside [0, ε0), are redrawn)."""
        e_min, k, m = self.parameter_draws(n, seed)
        return [CompactionLaw(self.law.porosity_initial, float(a), float(b), float(c))
                for a, b, c in zip(e_min, k, m, strict=True)]

    def pressure_samples_mpa(self, porosity: float, n: int = 2000, seed: int = 0,
                             porosity_initial: float | None = None,
                             porosity_initial_sd: float = 0.0) -> np.ndarray:
        """``n`` samples of the pressure [MPa] that gives ``porosity``: parameter draws, the
        points' scatter (a film lands within ``residual_sd`` of the law) and, for a dried
        porosity ``porosity_initial`` (default the law's) measured with sd
        ``porosity_initial_sd``, its measurement error.  A draw whose target lies outside its
        reachable range is clipped into it (pressure 0 above ε0, a large one near ε_min)."""
        rng = np.random.default_rng(seed + 1)
        e0 = self.law.porosity_initial if porosity_initial is None else porosity_initial
        e_min, k, m = self.parameter_draws(n, seed)
        target = porosity + rng.normal(0.0, self.residual_sd, size=n)
        e0s = e0 + (rng.normal(0.0, porosity_initial_sd, size=n) if porosity_initial_sd > 0
                    else np.zeros(n))
        ratio = (target - e_min) / np.maximum(e0s - e_min, 1e-12)
        return pressure_of_decay(np.clip(ratio, 1e-9, 1.0), k, m)

    def pressure_interval_mpa(self, porosity: float, level: float = 0.9, n: int = 2000,
                              seed: int = 0, porosity_initial: float | None = None,
                              porosity_initial_sd: float = 0.0) -> tuple[float, float, float]:
        """(median, low, high) of the pressure that gives ``porosity`` at the central
        ``level`` (:meth:`pressure_samples_mpa` for what it carries)."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level = {level}; allowed range (0, 1)")
        values = self.pressure_samples_mpa(porosity, n, seed, porosity_initial,
                                           porosity_initial_sd)
        q = np.quantile(values, [0.5, (1 - level) / 2, (1 + level) / 2])
        return float(q[0]), float(q[1]), float(q[2])


def fit_compaction_law(pressure_mpa, porosity, sd=None, porosity_initial=None,
                       exponential: bool = False) -> CompactionFit:
    """Weighted least-squares fit of :class:`CompactionLaw` to a porosity-pressure curve.

    Args:
        pressure_mpa, porosity: the curve's points (several seeds may share a pressure); a
            point at 0 MPa is the dried film.
        sd: each point's standard deviation (default: unweighted; the scatter is estimated
            from the residuals).
        porosity_initial: ε0: a number, or one per point (a seed ensemble: each point with
            its own film's dried porosity; the law then carries their mean); default the mean
            porosity of the 0 MPa points (required when there are none).
        exponential: fix m = 0 (Meyer's law: two parameters).

    A parameter that runs to its bound is not determined by the curve (ε_min -> 0: the curve
    does not level off; m -> 0: the exponential limit; K0 or m at their outer bounds; or a
    singular covariance): the exponential law is fitted instead and ``note`` says why; when
    that one is degenerate too, a ValueError names the parameter.
    """
    p = np.asarray(pressure_mpa, dtype=float)
    e = np.asarray(porosity, dtype=float)
    if p.shape != e.shape or p.ndim != 1:
        raise ValueError("pressure_mpa and porosity must be 1-D arrays of the same length")
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ValueError("pressure_mpa must be finite and >= 0")
    if np.any(~np.isfinite(e)) or np.any(e <= 0) or np.any(e >= 1):
        raise ValueError("porosity must lie in (0, 1)")
    if porosity_initial is None:
        if not np.any(p == 0):
            raise ValueError("porosity_initial is needed: the curve has no 0 MPa point")
        porosity_initial = float(e[p == 0].mean())
    e0_points = np.broadcast_to(np.asarray(porosity_initial, dtype=float), p.shape)
    if np.any(~np.isfinite(e0_points)) or np.any(e0_points <= 0) or np.any(e0_points >= 1):
        raise ValueError(f"porosity_initial must lie in (0, 1), got {porosity_initial}")
    loaded = p > 0
    n_par = 2 if exponential else 3
    if np.count_nonzero(loaded) < n_par + 1:
        raise ValueError(f"the fit needs at least {n_par + 1} points above 0 MPa, got "
                         f"{np.count_nonzero(loaded)}")
    p, e, e0s = p[loaded], e[loaded], np.array(e0_points[loaded])
    sigma = None
    if sd is not None:
        sigma = np.asarray(sd, dtype=float)[loaded]
        if np.any(~np.isfinite(sigma)) or np.any(sigma <= 0):
            raise ValueError("sd must be finite and > 0")
    if np.all(e >= e0s):
        raise ValueError(f"no point is denser than the dried film (porosity_initial = "
                         f"{porosity_initial}): nothing to fit")
    e0 = float(e0s.mean())
    e_min_hi = float(e0s.min()) - 1e-6
    if exponential:
        return _fit(p, e, e0s, e0, e_min_hi, sigma, exponential=True, note="")
    try:
        fit = _fit(p, e, e0s, e0, e_min_hi, sigma, exponential=False, note="")
    except _Degenerate as err:
        return _fit(p, e, e0s, e0, e_min_hi, sigma, exponential=True,
                    note=f"three-parameter fit: {err}; Meyer's exponential law fitted instead")
    if fit.law.modulus_slope < M_NEGLIGIBLE:
        return _fit(p, e, e0s, e0, e_min_hi, sigma, exponential=True,
                    note=f"the slope m of the pore modulus fitted to {fit.law.modulus_slope:.2g}"
                         " (negligible): Meyer's exponential law (its limit) fitted instead")
    return fit


class _Degenerate(ValueError):
    """A fitted parameter ran to its bound, or the covariance is singular."""


#: the fit's bounds on ln K0 and ln m (K0 from 6e-6 to 1.6e5 MPa, m up to 20)
LOG_K_BOUNDS = (-12.0, 12.0)
LOG_M_MAX = math.log(20.0)


def _fit(p, e, e0s, e0, e_min_hi, sigma, exponential: bool, note: str) -> CompactionFit:
    """One least-squares fit (:func:`fit_compaction_law`) with the degeneracy checks."""
    from scipy.optimize import curve_fit

    def model(x, e_min, log_k, log_m=None):
        slope = 0.0 if log_m is None else math.exp(log_m)
        return e_min + (e0s - e_min) * decay(x, math.exp(log_k), slope)

    start_min = min(max(0.0, float(e.min()) - 0.01), e_min_hi * 0.99)
    k_start = math.log(max(float(np.median(p)), 1e-3))
    lo = [0.0, LOG_K_BOUNDS[0]] + ([] if exponential else [math.log(M_FLOOR)])
    hi = [e_min_hi, LOG_K_BOUNDS[1]] + ([] if exponential else [LOG_M_MAX])
    p0 = [start_min, k_start] + ([] if exponential else [math.log(0.5)])
    fn = (lambda x, a, b: model(x, a, b)) if exponential else model
    popt, pcov = curve_fit(fn, p, e, p0=p0, sigma=sigma, absolute_sigma=sigma is not None,
                           bounds=(lo, hi), maxfev=20000)
    names = ("porosity_min", "modulus_mpa", "modulus_slope")
    for i, (value, a, b) in enumerate(zip(popt, lo, hi, strict=True)):
        if i == 2 and abs(value - a) < 1e-6:
            continue  # m -> 0: the caller refits the exponential law
        if min(abs(value - a), abs(value - b)) < 1e-6 * (b - a):
            shown = value if i == 0 else math.exp(value)
            raise _Degenerate(f"{names[i]} ran to its bound ({shown:.4g}): the curve does not "
                              "determine it (too few points, or none where the curve levels "
                              "off)")
    if not np.all(np.isfinite(pcov)):
        raise _Degenerate("the curve does not determine the law's parameters (singular "
                          "covariance)")
    residual = e - fn(p, *popt)
    n_par = len(popt)
    dof = max(len(e) - n_par, 1)
    residual_sd = float(math.sqrt(np.sum(residual ** 2) / dof))
    cov = np.zeros((3, 3))
    cov[:n_par, :n_par] = pcov
    law = CompactionLaw(e0, float(popt[0]), math.exp(popt[1]),
                        0.0 if exponential else math.exp(popt[2]))
    return CompactionFit(law=law, covariance=cov, residual_sd=residual_sd, n_points=len(e),
                         note=note)
