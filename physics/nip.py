"""The electrode web in a calender nip: line load per width against the gap.

The web's compaction law (porosity after spring-back), its elastic spring-back and the arc of
two rolls give the line load q(g) [N/m] at a nip gap g: the nonlinear Winkler foundation of
:mod:`physics.crown` (whose docstring states the model and its sources).  Units: µm and mm in
the inputs' names, SI inside (m, N, Pa; pressures in MPa).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physics.compaction import CompactionLaw
from physics.materials import _check_range

P_FLOOR_MPA = 1e-7  # pressure table from here ...
P_TOP_MPA = 2e4  # ... to here (the table's last gap; beyond it q is extrapolated linearly)
_ARC_GAUSS = np.polynomial.legendre.leggauss(24)
_ARC_BREAKS = np.array([0.0, 1 / 1024, 1 / 256, 1 / 64, 1 / 16, 1 / 4, 1.0])


@dataclass(frozen=True)
class SpringBack:
    """Elastic spring-back s(p) = (h_recovered - h_loaded) / h_loaded = s_ref (p / p_ref)^a.

    Attributes:
        percent_at_reference: 100 s_ref, in [0, 30] (0: the film is loaded at its recovered
            thickness).
        reference_mpa: p_ref [MPa], in (0, 1e4].
        exponent: a, in [0.1, 2].
    """

    percent_at_reference: float = 3.0
    reference_mpa: float = 50.0
    exponent: float = 0.5

    def __post_init__(self) -> None:
        _check_range("springback_percent", self.percent_at_reference, 0.0, 30.0)
        _check_range("springback_reference_mpa", self.reference_mpa, 0.0, 1e4, lo_open=True)
        _check_range("springback_exponent", self.exponent, 0.1, 2.0)

    def fraction(self, pressure_mpa):
        """s(p) [-]."""
        p = np.maximum(np.asarray(pressure_mpa, dtype=float), 0.0)
        return 0.01 * self.percent_at_reference * (p / self.reference_mpa) ** self.exponent

    def pressure_mpa(self, fraction):
        """The inverse of :meth:`fraction` (0 where the fraction is <= 0)."""
        s = np.maximum(np.asarray(fraction, dtype=float), 0.0)
        if self.percent_at_reference == 0.0:
            return np.zeros_like(s)
        return self.reference_mpa * (s / (0.01 * self.percent_at_reference)) ** (
            1.0 / self.exponent)


def fit_springback(pressure_mpa, springback_percent, reference_mpa: float = 50.0) -> SpringBack:
    """Least-squares fit of ln s against ln p (points with p > 0, s > 0; at least two)."""
    p = np.asarray(pressure_mpa, dtype=float)
    s = np.asarray(springback_percent, dtype=float)
    ok = np.isfinite(p) & np.isfinite(s) & (p > 0) & (s > 0)
    if np.count_nonzero(ok) < 2 or np.unique(p[ok]).size < 2:
        raise ValueError("springback_percent: the fit needs two pressures > 0 with a spring-back "
                         "> 0")
    slope, intercept = np.polyfit(np.log(p[ok]), np.log(s[ok]), 1)
    slope = float(np.clip(slope, 0.1, 2.0))
    at_ref = float(np.exp(intercept + slope * math.log(reference_mpa)))
    return SpringBack(min(at_ref, 30.0), reference_mpa, slope)


@dataclass(frozen=True)
class Web:
    """The electrode web in the nip.

    Attributes:
        width_mm: coated width (the uncoated foil edges are thinner than the gap and carry
            no load), centred on the barrel, in (0, barrel length].
        coating_thickness_um: dried coating thickness per side [µm], in (0, 2000].
        sides: coated sides, 1 or 2.
        foil_thickness_um: current collector [µm], in [0, 500] (incompressible).
    """

    width_mm: float = 300.0
    coating_thickness_um: float = 83.4
    sides: int = 2
    foil_thickness_um: float = 15.0

    def __post_init__(self) -> None:
        _check_range("web_width_mm", self.width_mm, 0.0, 1e4, lo_open=True)
        _check_range("coating_thickness_um", self.coating_thickness_um, 0.0, 2000.0,
                     lo_open=True)
        if self.sides not in (1, 2):
            raise ValueError(f"sides = {self.sides!r}; allowed: 1 or 2")
        _check_range("foil_thickness_um", self.foil_thickness_um, 0.0, 500.0)

    @property
    def entry_thickness_um(self) -> float:
        """H_in = n_s h0 + h_foil [µm]."""
        return self.sides * self.coating_thickness_um + self.foil_thickness_um


class NipLaw:
    """q(g): line load per width [N/m] of the web against the gap [m] (module docstring)."""

    def __init__(self, law: CompactionLaw, springback: SpringBack, web: Web,
                 roll_radius_m: float, n_pressures: int = 1500):
        self.law, self.springback, self.web = law, springback, web
        self.radius_m = roll_radius_m
        self.entry_m = 1e-6 * web.entry_thickness_um
        self._h0 = 1e-6 * web.coating_thickness_um
        self._foil = 1e-6 * web.foil_thickness_um
        p = np.concatenate([[0.0], np.geomspace(P_FLOOR_MPA, P_TOP_MPA, n_pressures)])
        self._p_table = p
        self._h_table = self.loaded_gap_m(p)  # decreasing, [0] = H_in
        if np.any(np.diff(self._h_table) >= 0):
            raise ValueError("the loaded thickness must fall with pressure; check the "
                             "compaction law and the spring-back")
        q = self.line_load_direct(self._h_table, self._p_table)
        from scipy.interpolate import PchipInterpolator

        self._g = self._h_table[::-1].copy()  # increasing gap
        self._q = q[::-1].copy()
        self._spline = PchipInterpolator(self._g, self._q, extrapolate=False)
        self._dspline = self._spline.derivative()
        self._anti = self._spline.antiderivative()
        self.gap_min_m = float(self._g[0])
        self._q_min, self._k_min = float(self._q[0]), float(-self._dspline(self._g[0]))
        self._psi_min = float(self._anti(self._g[-1]) - self._anti(self._g[0]))

    # the film's two branches
    def recovered_thickness_m(self, pressure_mpa):
        """h_f(p) per side [m] (mass balance)."""
        return self._h0 * (1.0 - self.law.porosity_initial) / (
            1.0 - np.asarray(self.law.porosity(pressure_mpa)))

    def loaded_gap_m(self, pressure_mpa):
        """H(p) = n_s h_f(p) / (1 + s(p)) + h_foil [m]: the gap at peak pressure p."""
        p = np.asarray(pressure_mpa, dtype=float)
        return self.web.sides * self.recovered_thickness_m(p) / (
            1.0 + self.springback.fraction(p)) + self._foil

    def peak_pressure_mpa(self, gap_m):
        """P(g), the inverse of :meth:`loaded_gap_m` (0 at g >= H_in) [MPa]."""
        g = np.asarray(gap_m, dtype=float)
        h, p = self._h_table[::-1], self._p_table[::-1]
        logp = np.interp(g, h[:-1], np.log(p[:-1]))
        out = np.where(g >= self._h_table[1], 0.0, np.exp(logp))
        return out

    def line_load_direct(self, gap_m, peak_mpa=None) -> np.ndarray:
        """q [N/m] by quadrature along the arc (loading branch + elastic exit)."""
        g = np.atleast_1d(np.asarray(gap_m, dtype=float))
        p_max = self.peak_pressure_mpa(g) if peak_mpa is None else np.atleast_1d(peak_mpa)
        t_in = np.sqrt(np.maximum(self.entry_m - g, 0.0))
        entry = _arc_integral(lambda h: self.peak_pressure_mpa(h), g, t_in)
        exit_ = np.zeros_like(g)
        if self.springback.percent_at_reference > 0:
            h_rec = self.web.sides * self.recovered_thickness_m(p_max)  # coating, recovered
            t_out = np.sqrt(np.maximum(h_rec + self._foil - g, 0.0))

            def unload(h, h_rec=h_rec[:, None]):
                coat = np.maximum(h - self._foil, 1e-30)
                return self.springback.pressure_mpa(h_rec / coat - 1.0)

            exit_ = _arc_integral(unload, g, t_out, per_row=True)
        return math.sqrt(self.radius_m) * 1e6 * (entry + exit_)

    # the tabulated foundation
    def line_load_n_m(self, gap_m):
        """q(g) [N/m]: 0 beyond H_in, linear below the table's smallest gap."""
        g = np.asarray(gap_m, dtype=float)
        inside = np.clip(g, self._g[0], self._g[-1])
        q = np.nan_to_num(self._spline(inside))
        q = np.where(g < self._g[0], self._q_min + self._k_min * (self._g[0] - g), q)
        return np.where(g >= self._g[-1], 0.0, q)

    def stiffness_n_m2(self, gap_m):
        """k_t = -dq/dg >= 0 [N/m²]."""
        g = np.asarray(gap_m, dtype=float)
        inside = np.clip(g, self._g[0], self._g[-1])
        k = -np.nan_to_num(self._dspline(inside))
        k = np.where(g < self._g[0], self._k_min, k)
        return np.maximum(np.where(g >= self._g[-1], 0.0, k), 0.0)

    def energy_n(self, gap_m):
        """Ψ(g) = ∫_g^H_in q dg' [N]."""
        g = np.asarray(gap_m, dtype=float)
        inside = np.clip(g, self._g[0], self._g[-1])
        psi = self._anti(self._g[-1]) - self._anti(inside)
        d = np.maximum(self._g[0] - g, 0.0)
        return psi + self._q_min * d + 0.5 * self._k_min * d ** 2

    def porosity(self, gap_m):
        """Porosity after spring-back of the film leaving a nip of gap g."""
        return self.law.porosity(self.peak_pressure_mpa(gap_m))

    def contact_length_m(self, gap_m):
        """l = sqrt(R (H_in - g)) [m]."""
        return np.sqrt(self.radius_m * np.maximum(self.entry_m - np.asarray(gap_m), 0.0))


def _arc_integral(pressure: Callable, gap_m: np.ndarray, t_max: np.ndarray,
                  per_row: bool = False) -> np.ndarray:
    """∫_0^t_max P(g + t²) dt per gap (composite Gauss-Legendre graded towards t = 0, where
    the pressure peaks); P in MPa, t in sqrt(m)."""
    nodes, weights = _ARC_GAUSS
    a, b = _ARC_BREAKS[:-1], _ARC_BREAKS[1:]
    u = (0.5 * (b - a)[:, None] * (nodes[None, :] + 1.0) + a[:, None]).ravel()
    wu = (0.5 * (b - a)[:, None] * weights[None, :]).ravel()
    t = t_max[:, None] * u[None, :]
    p = pressure(gap_m[:, None] + t ** 2) if per_row else \
        pressure((gap_m[:, None] + t ** 2).ravel()).reshape(t.shape)
    return t_max * (p @ wu)
