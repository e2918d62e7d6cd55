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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

M_FLOOR = 1e-6  # m below this is Meyer's exponential law (the limit m -> 0)


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
        p = np.asarray(pressure_mpa, dtype=float)
        if self.modulus_slope < M_FLOOR:
            return np.exp(-p / self.modulus_mpa)
        return (1.0 + self.modulus_slope * p / self.modulus_mpa) ** (-1.0 / self.modulus_slope)

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
    """

    law: CompactionLaw
    covariance: np.ndarray
    residual_sd: float
    n_points: int

    def draws(self, n: int, seed: int = 0) -> list[CompactionLaw]:
        """``n`` laws drawn from the parameters' normal approximation (invalid draws, ε_min
        outside [0, ε0), are redrawn)."""
        rng = np.random.default_rng(seed)
        law = self.law
        mean = np.array([law.porosity_min, math.log(law.modulus_mpa),
                         math.log(max(law.modulus_slope, M_FLOOR))])
        out: list[CompactionLaw] = []
        while len(out) < n:
            for e_min, log_k, log_m in rng.multivariate_normal(mean, self.covariance, size=n):
                if 0.0 <= e_min < law.porosity_initial and len(out) < n:
                    slope = 0.0 if law.modulus_slope == 0.0 else math.exp(log_m)
                    out.append(CompactionLaw(law.porosity_initial, e_min, math.exp(log_k),
                                             slope))
        return out

    def pressure_interval_mpa(self, porosity: float, level: float = 0.9, n: int = 2000,
                              seed: int = 0) -> tuple[float, float, float]:
        """(median, low, high) of the pressure that gives ``porosity``, over the parameter
        draws and the points' scatter (a film lands within ``residual_sd`` of the law)."""
        rng = np.random.default_rng(seed + 1)
        targets = porosity + rng.normal(0.0, self.residual_sd, size=n)
        values = []
        for law, target in zip(self.draws(n, seed), targets, strict=True):
            lo = law.porosity_min + 1e-9
            values.append(law.pressure_mpa(float(np.clip(target, lo, law.porosity_initial))))
        q = np.quantile(values, [0.5, (1 - level) / 2, (1 + level) / 2])
        return float(q[0]), float(q[1]), float(q[2])


def fit_compaction_law(pressure_mpa, porosity, sd=None, porosity_initial: float | None = None,
                       exponential: bool = False) -> CompactionFit:
    """Weighted least-squares fit of :class:`CompactionLaw` to a porosity-pressure curve.

    Args:
        pressure_mpa, porosity: the curve's points (several seeds may share a pressure); a
            point at 0 MPa is the dried film.
        sd: each point's standard deviation (default: unweighted; the scatter is estimated
            from the residuals).
        porosity_initial: ε0; default the mean porosity of the 0 MPa points (required when
            there are none).
        exponential: fix m = 0 (Meyer's law: two parameters).
    """
    from scipy.optimize import curve_fit

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
    loaded = p > 0
    n_par = 2 if exponential else 3
    if np.count_nonzero(loaded) < n_par + 1:
        raise ValueError(f"the fit needs at least {n_par + 1} points above 0 MPa, got "
                         f"{np.count_nonzero(loaded)}")
    p, e = p[loaded], e[loaded]
    sigma = None
    if sd is not None:
        sigma = np.asarray(sd, dtype=float)[loaded]
        if np.any(~np.isfinite(sigma)) or np.any(sigma <= 0):
            raise ValueError("sd must be finite and > 0")
    if e.min() >= porosity_initial:
        raise ValueError(f"no point is denser than the dried film (porosity_initial = "
                         f"{porosity_initial}): nothing to fit")
    e0 = porosity_initial

    def model(x, e_min, log_k, log_m=None):
        slope = 0.0 if log_m is None else math.exp(log_m)
        law = CompactionLaw(e0, min(max(e_min, 0.0), e0 - 1e-6), math.exp(log_k), slope)
        return law.porosity(x)

    start_min = max(0.0, float(e.min()) - 0.01)
    k_start = math.log(max(float(np.median(p)), 1e-3))
    p0 = [start_min, k_start] if exponential else [start_min, k_start, math.log(0.5)]
    bounds = ([0.0, -12.0], [e0 - 1e-6, 12.0]) if exponential else (
        [0.0, -12.0, math.log(M_FLOOR)], [e0 - 1e-6, 12.0, math.log(20.0)])
    fn = (lambda x, a, b: model(x, a, b)) if exponential else model
    popt, pcov = curve_fit(fn, p, e, p0=p0, sigma=sigma, absolute_sigma=sigma is not None,
                           bounds=bounds, maxfev=20000)
    residual = e - fn(p, *popt)
    dof = max(len(e) - n_par, 1)
    residual_sd = float(math.sqrt(np.sum(residual ** 2) / dof))
    cov = np.zeros((3, 3))
    cov[:n_par, :n_par] = np.nan_to_num(pcov, nan=0.0, posinf=0.0)
    law = CompactionLaw(e0, float(popt[0]), math.exp(popt[1]),
                        0.0 if exponential else math.exp(popt[2]))
    return CompactionFit(law=law, covariance=cov, residual_sd=residual_sd, n_points=len(e))
