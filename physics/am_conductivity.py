"""Electronic conductivity of the active material against its lithiation, and the
electrode's σ_eff(θ) table that the P2D takes from it.

Layered oxides conduct electrons by small polarons on the transition metals: the fully
lithiated oxide (all Ni²⁺/Co³⁺/Mn⁴⁺) is nearly an insulator and conducts better with every
hole that delithiation adds.  Amin & Chiang (J. Electrochem. Soc. 163 (2016) A1512) measured
Li_{1−x}Ni⅓Mn⅓Co⅓O₂ (NMC333 = NMC111) by impedance and DC polarization: σ rises from
~1e-7 S/cm at x = 0 to ~1e-2 S/cm at x = 0.75 (4.8 V).  :data:`NMC111_AMIN2016` takes the
abstract's two end points, log-linear in x between them and flat beyond x = 0.75 (no finer
reading of their figure is used):

    log10 σ_AM(θ) = log10 σ_lithiated + s · min(1 − θ, x_max),   θ = c_s / c_max,

σ_lithiated = 1e-5 S/m, s = 5 / 0.75 decades per unit stoichiometry, x_max = 0.75.  Over a
discharge from θ = 0.13 (4.19 V) to θ ≈ 1 the oxide's conductivity falls 5 decades.

In a low-carbon electrode (2 wt % C65) part of the current crosses AM particles and AM–AM
contacts, so the electrode's σ_eff follows σ_AM along the discharge.  The P2D
(:mod:`physics.cell`) takes σ_eff as a table against the local AM surface stoichiometry
(:attr:`physics.cell_params.CathodeParameters.electronic_conductivity_vs_stoichiometry`);
:func:`conductivity_table` builds it from any σ_eff(σ_AM) of a structure (the contact network
of :mod:`physics.conduction` or the voxel solve of :mod:`physics.transport`) by solving it at
the law's σ_AM at each table stoichiometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physics.materials import _check_range

#: stoichiometries of the σ_eff(θ) table: the law's flat end, then every 0.075 to θ = 1
TABLE_STOICHIOMETRIES = (0.0, *np.round(np.linspace(0.25, 1.0, 11), 6).tolist())


@dataclass(frozen=True)
class LithiationConductivity:
    """log10 σ_AM(θ) = log10 σ_lithiated + s · min(1 − θ, x_max) (module docstring).

    Attributes: sigma_lithiated_s_m: σ of the fully lithiated oxide (θ = 1) [S/m];
    decades_per_stoichiometry: s [decades per unit of θ]; delithiation_max: x_max, the
    delithiation beyond which σ stays flat [-]."""

    sigma_lithiated_s_m: float = 1e-5
    decades_per_stoichiometry: float = 5.0 / 0.75
    delithiation_max: float = 0.75

    def __post_init__(self) -> None:
        _check_range("sigma_lithiated_s_m", self.sigma_lithiated_s_m, 1e-12, 1e6)
        _check_range("decades_per_stoichiometry", self.decades_per_stoichiometry, 0.0, 50.0)
        _check_range("delithiation_max", self.delithiation_max, 0.0, 1.0, lo_open=True)

    def log10_s_m(self, stoichiometry) -> np.ndarray:
        """log10 σ_AM [S/m] at the stoichiometry θ = c_s / c_max (array or float)."""
        x = np.clip(1.0 - np.asarray(stoichiometry, dtype=float), 0.0, self.delithiation_max)
        return math.log10(self.sigma_lithiated_s_m) + self.decades_per_stoichiometry * x


#: NMC111 after Amin & Chiang 2016 (module docstring)
NMC111_AMIN2016 = LithiationConductivity()


def conductivity_table(sigma_eff_s_m: Callable[[float], float], law: LithiationConductivity,
                       stoichiometries=TABLE_STOICHIOMETRIES) -> tuple[tuple[float, float], ...]:
    """((θ, σ_eff [S/m]), ...): the electrode's σ_eff at the law's σ_AM(θ) for each θ.
    ``sigma_eff_s_m(sigma_am_s_m)`` is the structure's effective conductivity at a bulk AM
    conductivity; a structure that does not conduct at some θ raises ValueError."""
    table = []
    for theta in stoichiometries:
        s = float(sigma_eff_s_m(float(10.0 ** law.log10_s_m(theta))))
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"σ_eff = {s} S/m at AM stoichiometry {theta}: the structure does "
                             "not conduct")
        table.append((float(theta), s))
    return tuple(table)


def table_log10_points(table) -> tuple[np.ndarray, np.ndarray]:
    """(θ, log10 σ_eff) arrays of a ((θ, σ_eff [S/m]), ...) table."""
    return (np.array([row[0] for row in table], dtype=float),
            np.log10([row[1] for row in table]))


def table_conductivity(points: tuple[np.ndarray, np.ndarray], stoichiometry):
    """σ_eff [S/m] at the AM stoichiometry θ [-] from :func:`table_log10_points`: log-linear
    between the table's points, flat beyond them."""
    return 10.0 ** np.interp(stoichiometry, *points)
