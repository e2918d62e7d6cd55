"""Open-circuit potentials of cathode materials vs Li/Li+, as functions of stoichiometry.

NMC111 (LiNi1/3Mn1/3Co1/3O2), the paper's active material: the 16-point table of the COMSOL
Battery Material Library material "NMC 111", which COMSOL credits to W. Zheng, M. Shui, J. Shu
et al., "GITT studies on oxide cathode LiNi1/3Co1/3Mn1/3O2 synthesized by citric acid assisted
high-energy ball milling", Bull. Mater. Sci. 36 (2013) 495.  The paper's cell model ran in
COMSOL with NMC111 and 280 mAh/g, i.e. this material; the stoichiometry is s = c_s / c_max with
c_max the paper's 280 mAh/g.  Interpolation as COMSOL's: piecewise-cubic Hermite (monotone,
PCHIP) inside the table, linear extrapolation outside with the end segments' slopes.

Caveat: the table gives 4.44 V at s = 0, where real NMC111 would be far above 4.5 V; its
abscissa is therefore most likely the lithiation normalised to the GITT window rather than the
absolute Li content.  Used with the theoretical 280 mAh/g it keeps the paper's set-up (and its
capacities); for a practical-capacity reading scale c_max.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.interpolate import PchipInterpolator

NMC111_ZHENG2013_STOICHIOMETRY = (0.0, 0.032, 0.102, 0.187, 0.289, 0.38, 0.543, 0.775, 0.872,
                                  0.925, 0.943, 0.957, 0.966, 0.970, 0.972, 0.975)
NMC111_ZHENG2013_VOLTAGE_V = (4.44, 4.34, 4.23, 4.13, 4.025, 3.945, 3.835, 3.71, 3.62, 3.51,
                              3.42, 3.30, 3.165, 3.02, 2.90, 2.688)


class TableOCP:
    """U(s) from a monotone table: PCHIP inside, linear outside (module docstring)."""

    def __init__(self, stoichiometry, voltage_v):
        self.s = np.asarray(stoichiometry, dtype=float)
        self.u = np.asarray(voltage_v, dtype=float)
        if np.any(np.diff(self.s) <= 0) or np.any(np.diff(self.u) >= 0):
            raise ValueError("an OCP table needs increasing stoichiometry and falling voltage")
        self._pchip = PchipInterpolator(self.s, self.u, extrapolate=False)
        self._dpchip = self._pchip.derivative()
        self._slope_lo = (self.u[1] - self.u[0]) / (self.s[1] - self.s[0])
        self._slope_hi = (self.u[-1] - self.u[-2]) / (self.s[-1] - self.s[-2])

    def __call__(self, s):
        """U [V] at stoichiometry s [-] (array or scalar)."""
        s = np.asarray(s, dtype=float)
        inside = np.clip(s, self.s[0], self.s[-1])
        out = self._pchip(inside)
        out = np.where(s < self.s[0], self.u[0] + self._slope_lo * (s - self.s[0]), out)
        return np.where(s > self.s[-1], self.u[-1] + self._slope_hi * (s - self.s[-1]), out)

    def derivative(self, s):
        """dU/ds [V] at stoichiometry s."""
        s = np.asarray(s, dtype=float)
        out = self._dpchip(np.clip(s, self.s[0], self.s[-1]))
        out = np.where(s < self.s[0], self._slope_lo, out)
        return np.where(s > self.s[-1], self._slope_hi, out)

    def kernel_arrays(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(kind, breakpoints, coefficients, ends) for :func:`physics._cell_kernels.
        ocp_and_slope`: the PCHIP pieces and the linear extrapolation."""
        from physics._cell_kernels import OCP_PCHIP

        return (OCP_PCHIP, self._pchip.x.copy(), np.ascontiguousarray(self._pchip.c),
                np.array([self._slope_lo, self._slope_hi, self.u[0], self.u[-1]]))

    def stoichiometry_at(self, voltage_v: float) -> float:
        """The s with U(s) = voltage_v (bisection; U falls monotonically)."""
        lo, hi = -1.0, 2.0
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if float(self(mid)) > voltage_v:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)


class PolyExpOCP:
    """U(s) = Σ_m a_m s^m + A exp(B s + C), a closed form with its derivative."""

    def __init__(self, poly, a: float, b: float, c: float):
        self.poly = np.asarray(poly, dtype=float)
        self.exp_terms = (float(a), float(b), float(c))

    def __call__(self, s):
        s = np.asarray(s, dtype=float)
        a, b, c = self.exp_terms
        return np.polynomial.polynomial.polyval(s, self.poly) + a * np.exp(b * s + c)

    def derivative(self, s):
        s = np.asarray(s, dtype=float)
        a, b, c = self.exp_terms
        return (np.polynomial.polynomial.polyval(s, np.polynomial.polynomial.polyder(
            self.poly)) + a * b * np.exp(b * s + c))

    def kernel_arrays(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(kind, breakpoints, coefficients, ends) for :func:`physics._cell_kernels.
        ocp_and_slope`."""
        from physics._cell_kernels import OCP_POLY_EXP

        return (OCP_POLY_EXP, np.zeros(1), np.concatenate([self.poly, self.exp_terms])[None, :],
                np.zeros(4))

    stoichiometry_at = TableOCP.stoichiometry_at


#: PyBaMM's NMC OCP of the half-cell set Xu2019 (Mohtat et al.)
NMC_XU2019 = PolyExpOCP((4.3452, -1.6518, 1.6225, -2.0843, 3.5146, -2.2166), -0.5623e-4,
                        109.451, -100.006)


#: Cathode open-circuit potentials by name (``CathodeParameters.ocp``).  "nmc_xu2019" is the
#: NMC curve of PyBaMM's half-cell set Xu2019 (Mohtat et al., labelled NMC532 there), kept for
#: the validation against PyBaMM; the paper's material is "nmc111".
OCP_FUNCTIONS = {
    "nmc111": TableOCP(NMC111_ZHENG2013_STOICHIOMETRY, NMC111_ZHENG2013_VOLTAGE_V),
    "nmc_xu2019": NMC_XU2019,
}


def ocp_function(spec) -> TableOCP | PolyExpOCP:
    """The OCP ``spec``: a name in :data:`OCP_FUNCTIONS` (ValueError listing them otherwise),
    or a table ((stoichiometry, voltage [V]), ...) with increasing stoichiometry and falling
    voltage (a material file's ``ocp_table``, :mod:`physics.material_sets`)."""
    if isinstance(spec, str):
        try:
            return OCP_FUNCTIONS[spec]
        except KeyError:
            raise ValueError(f"unknown open-circuit potential {spec!r}; allowed: "
                             f"{', '.join(OCP_FUNCTIONS)} or a table of (stoichiometry, "
                             "voltage) pairs") from None
    try:
        pairs = tuple((float(s), float(u)) for s, u in spec)
    except (TypeError, ValueError):
        raise ValueError(f"open-circuit potential {spec!r}: expected a name or (stoichiometry, "
                         "voltage) pairs") from None
    return _table_ocp(pairs)


@functools.lru_cache(maxsize=32)
def _table_ocp(pairs: tuple[tuple[float, float], ...]) -> TableOCP:
    if len(pairs) < 2:
        raise ValueError("an OCP table needs at least 2 (stoichiometry, voltage) pairs")
    s, u = zip(*pairs, strict=True)
    return TableOCP(s, u)
