"""Electrolyte transport properties of LiPF6 in EC:DMC (1:1 by weight).

Valøen & Reimers, J. Electrochem. Soc. 152 (2005) A882, the fits the half-cell model uses by
default (PyBaMM's Xu2019 and Chen2020 parameter sets use the same):

* diffusivity, Eq. 14:  D = 1e-4 · 10^(-4.43 - 54 / (T - 229 - 5 c) - 0.22 c)   [m² s⁻¹]
* conductivity, Eq. 17:
  κ = 0.1 · c · [(-10.5 + 0.0740 T - 6.96e-5 T²) + c (0.668 - 0.0178 T + 2.80e-5 T²)
                 + c² (0.494 - 8.86e-4 T)]²   [S m⁻¹]

with c in mol L⁻¹ (the functions take mol m⁻³) and T in K.  Both are fits over 0-4 mol L⁻¹
and 263-333 K; outside they are extrapolations.  The cation transference number and the
thermodynamic factor are constants of the parameter set (0.38 and 1.0 by default).
"""

from __future__ import annotations

import numpy as np


def diffusivity_valoen2005_m2_s(c_mol_m3, temperature_k):
    """Salt diffusivity D(c, T) [m² s⁻¹] (Valøen & Reimers 2005, Eq. 14)."""
    c = np.asarray(c_mol_m3, dtype=float) * 1e-3
    t = np.asarray(temperature_k, dtype=float)
    return 1e-4 * 10.0 ** (-4.43 - 54.0 / (t - 229.0 - 5.0 * c) - 0.22 * c)


def conductivity_valoen2005_s_m(c_mol_m3, temperature_k):
    """Ionic conductivity κ(c, T) [S m⁻¹] (Valøen & Reimers 2005, Eq. 17)."""
    c = np.asarray(c_mol_m3, dtype=float) * 1e-3
    t = np.asarray(temperature_k, dtype=float)
    poly = ((-10.5 + 0.0740 * t - 6.96e-5 * t * t) + c * (0.668 - 0.0178 * t + 2.80e-5 * t * t)
            + c * c * (0.494 - 8.86e-4 * t))
    return 0.1 * c * poly * poly
