"""Transmission-line analysis of porous-electrode impedance (blocking conditions).

A porous electrode under blocking conditions (symmetric cell, no faradaic reaction) is a
transmission line: ionic resistance R_ion distributed through the pores, double-layer
capacitance C_dl distributed over the pore walls (Landesfeind, Hattendorff, Ehrl, Wall &
Gasteiger, J. Electrochem. Soc. 163 (2016) A1373, Eq. 1, after de Levie 1963):

    Z(ω) = R_HF + sqrt(R_ion / (jω C_dl)) · coth(sqrt(jω R_ion C_dl))

with all quantities per electrode area (Ω m², F m⁻²).  At high frequency the line is a 45°
branch starting at R_HF; at low frequency it is a vertical capacitive line at
Re Z = R_HF + R_ion / 3, so R_ion = 3 × the real-axis projection of the 45° branch (the paper's
§6.2 reading).  From R_ion the MacMullin number and the tortuosity factor follow:
N_M = R_ion κ / L and τ_EIS = N_M ε.

Units: frequency in Hz, impedance in Ω m² (area-specific), capacitance in F m⁻², length m,
conductivity S m⁻¹.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize


def frequencies_hz(f_min_hz: float = 1.0, f_max_hz: float = 1e7,
                   points_per_decade: int = 7) -> np.ndarray:
    """Log-spaced frequencies from ``f_max_hz`` down to ``f_min_hz`` (the paper: 1 Hz-10 MHz,
    7 per decade), both ends included."""
    if not (0 < f_min_hz < f_max_hz and math.isfinite(f_max_hz)):
        raise ValueError(f"need 0 < f_min_hz < f_max_hz, got {f_min_hz}, {f_max_hz}")
    if points_per_decade < 1:
        raise ValueError(f"points_per_decade must be >= 1, got {points_per_decade}")
    decades = math.log10(f_max_hz / f_min_hz)
    n = int(round(decades * points_per_decade)) + 1
    return np.logspace(math.log10(f_max_hz), math.log10(f_min_hz), n)


def tlm_blocking_impedance(freq_hz: np.ndarray, r_ion_ohm_m2: float, c_dl_f_m2: float,
                           r_hf_ohm_m2: float = 0.0) -> np.ndarray:
    """Z(ω) of a blocking transmission line [Ω m²] (module docstring)."""
    if r_ion_ohm_m2 <= 0 or c_dl_f_m2 <= 0 or r_hf_ohm_m2 < 0:
        raise ValueError("r_ion_ohm_m2 and c_dl_f_m2 must be > 0 and r_hf_ohm_m2 >= 0")
    w = 2.0 * np.pi * np.asarray(freq_hz, dtype=float)
    x = np.sqrt(1j * w * r_ion_ohm_m2 * c_dl_f_m2)
    # coth(x) = 1 / tanh(x); tanh saturates at 1 for large |x| without overflow
    return r_hf_ohm_m2 + np.sqrt(r_ion_ohm_m2 / (1j * w * c_dl_f_m2)) / np.tanh(x)


@dataclass(frozen=True)
class TLMFit:
    """Result of fitting the blocking transmission line to a spectrum.

    Attributes:
        r_hf_ohm_m2: high-frequency resistance (separator + contacts) [Ω m²].
        r_ion_ohm_m2: ionic resistance of the electrode [Ω m²].
        c_dl_f_m2: double-layer capacitance of the electrode per area [F m⁻²].
        rms_relative_residual: RMS of |Z_fit - Z| / |Z| over the points [-].
        r_ion_log_sd_per_noise: sd of ln R_ion per unit relative noise of Z (the
            linearized least-squares covariance sqrt([(JᵀJ)⁻¹]_Rion) [-]).
    """

    r_hf_ohm_m2: float
    r_ion_ohm_m2: float
    c_dl_f_m2: float
    rms_relative_residual: float
    r_ion_log_sd_per_noise: float = math.nan

    def r_ion_sd_ohm_m2(self, z_relative_sd: float, points: int) -> float:
        """Standard deviation of R_ion [Ω m²] for independent Gaussian noise of
        ``z_relative_sd`` × |Z| on the real and imaginary parts of ``points`` points; the
        noise used is the larger of that and the fit's own residual estimate
        (per real or imaginary part: RMS / √2 × sqrt(2n / (2n - 3)))."""
        residual_sd = self.rms_relative_residual * math.sqrt(points / max(2 * points - 3, 1))
        return self.r_ion_ohm_m2 * self.r_ion_log_sd_per_noise * max(z_relative_sd,
                                                                     residual_sd)


def fit_tlm(freq_hz: np.ndarray, z_ohm_m2: np.ndarray) -> TLMFit:
    """Least-squares fit of :func:`tlm_blocking_impedance` (relative residuals, log params).

    The start values come from the spectrum itself: R_HF from the highest-frequency real part,
    R_ion from 3 × (lowest-frequency real part - R_HF) and from R_HF × 10^(-2..2) (the best
    of the six fits is kept), C_dl from the lowest-frequency imaginary part (-1 / (ω Im Z)).
    """
    f = np.asarray(freq_hz, dtype=float)
    z = np.asarray(z_ohm_m2, dtype=complex)
    if f.shape != z.shape or f.size < 4:
        raise ValueError("freq_hz and z_ohm_m2 need the same shape and at least 4 points")
    hi, lo = int(np.argmax(f)), int(np.argmin(f))
    r_hf0 = max(float(z[hi].real), 1e-12)
    r_ion0 = max(3.0 * (float(z[lo].real) - r_hf0), 1e-6 * r_hf0 + 1e-12)
    c0 = max(-1.0 / (2 * np.pi * f[lo] * float(z[lo].imag)), 1e-12) if z[lo].imag < 0 else 1.0

    def residual(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, -60.0, 60.0)  # keep exp() finite and > 0 while the solver explores
        model = tlm_blocking_impedance(f, math.exp(q[1]), math.exp(q[2]), math.exp(q[0]))
        rel = (model - z) / np.abs(z)
        return np.concatenate([rel.real, rel.imag])

    # the low-frequency start can be swamped by noise on the capacitive branch: start also
    # from R_ion = R_HF × 10^k and keep the lowest cost
    sol = min((optimize.least_squares(residual, np.log([r_hf0, r, c0]), method="lm",
                                      xtol=1e-14, ftol=1e-14)
               for r in (r_ion0, *(r_hf0 * 10.0 ** np.arange(-2, 3)))),
              key=lambda s: s.cost)
    r_hf, r_ion, c_dl = np.exp(sol.x)
    rms = float(np.sqrt(np.mean(np.abs(residual(sol.x)) ** 2) * 2))
    try:
        unit_cov = np.linalg.inv(sol.jac.T @ sol.jac)
        log_sd = float(math.sqrt(max(unit_cov[1, 1], 0.0)))
    except np.linalg.LinAlgError:
        log_sd = math.inf
    return TLMFit(float(r_hf), float(r_ion), float(c_dl), rms, log_sd)


def r_ion_graphical(freq_hz: np.ndarray, z_ohm_m2: np.ndarray) -> float:
    """R_ion = 3 × (low-frequency real intercept - high-frequency real intercept) [Ω m²].

    The paper's reading: the low-frequency intercept is the real part at the lowest frequency
    (on the vertical capacitive line), the high-frequency one the real part at the highest
    frequency (start of the 45° branch); both are only approximate if the spectrum does not
    reach far enough on either side (use :func:`fit_tlm` then).
    """
    f = np.asarray(freq_hz, dtype=float)
    z = np.asarray(z_ohm_m2, dtype=complex)
    return 3.0 * float(z[np.argmin(f)].real - z[np.argmax(f)].real)


def macmullin_from_r_ion(r_ion_ohm_m2: float, thickness_m: float,
                         electrolyte_conductivity_s_m: float) -> float:
    """N_M = R_ion κ / L [-]: bulk over effective ionic conductivity of the electrode."""
    if thickness_m <= 0 or electrolyte_conductivity_s_m <= 0:
        raise ValueError("thickness_m and electrolyte_conductivity_s_m must be > 0")
    return r_ion_ohm_m2 * electrolyte_conductivity_s_m / thickness_m


def tortuosity_from_r_ion(r_ion_ohm_m2: float, thickness_m: float, porosity: float,
                          electrolyte_conductivity_s_m: float) -> float:
    """τ_EIS = N_M ε [-] (Landesfeind et al. 2016, Eq. 3)."""
    if not (0 < porosity < 1):
        raise ValueError(f"porosity must lie in (0, 1), got {porosity}")
    return macmullin_from_r_ion(r_ion_ohm_m2, thickness_m, electrolyte_conductivity_s_m) \
        * porosity


@dataclass(frozen=True)
class CellTauEIS:
    """τ_EIS of a cell model's cathode from its simulated symmetric blocking spectrum
    (:func:`cell_tau_eis`): ``z_ohm_m2`` is the symmetric cell's impedance, ``fit`` its
    transmission-line fit (2 R_ion, C_dl / 2), the other fields one electrode's."""

    frequency_hz: np.ndarray
    z_ohm_m2: np.ndarray
    fit: TLMFit
    r_ion_ohm_m2: float
    c_dl_f_m2: float
    conductivity_s_m: float
    macmullin: float
    tau_eis: float


def cell_tau_eis(params, frequency_hz: np.ndarray | None = None,
                 electronic_conductivity_s_m: float | None = None) -> CellTauEIS:
    """The paper's §6.2 measurement on the cell model (``physics.cell_params.CellParameters``):
    the symmetric blocking cell of its cathode (:func:`physics.cell.
    symmetric_blocking_impedance`), the transmission-line fit, R_ion = half the fitted one,
    N_M = R_ion κ / L and τ_EIS = N_M ε (Landesfeind et al. 2016, Eqs. 1-3).  The one place
    the pipeline and ``etwin eis`` take τ_EIS from."""
    from physics.cell import electrolyte_conductivity_s_m, symmetric_blocking_impedance

    f = frequencies_hz() if frequency_hz is None else np.asarray(frequency_hz, float)
    z = symmetric_blocking_impedance(
        params, f, electronic_conductivity_s_m=electronic_conductivity_s_m).z_ohm_m2
    fit = fit_tlm(f, z)
    cathode = params.cathode
    kappa = electrolyte_conductivity_s_m(params)
    r_ion = fit.r_ion_ohm_m2 / 2.0
    macmullin = macmullin_from_r_ion(r_ion, cathode.thickness_m, kappa)
    return CellTauEIS(f, z, fit, r_ion, 2.0 * fit.c_dl_f_m2, kappa, macmullin,
                      macmullin * cathode.porosity)
