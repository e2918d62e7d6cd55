"""Contact-law coefficient tables built from materials (LIGGGHTS ``hertz tangential history``).

The formulas are LIGGGHTS 3.8's (normal_model_hertz, tangential_model_history,
cohesion_model_sjkr, global_properties): see ``shared/reference/contact_law.md``.

.. math::
    E^* = \\Big(\\frac{1-\\nu_i^2}{E_i} + \\frac{1-\\nu_j^2}{E_j}\\Big)^{-1},\\quad
    G^* = \\Big(\\frac{2(2-\\nu_i)(1+\\nu_i)}{E_i} + \\frac{2(2-\\nu_j)(1+\\nu_j)}{E_j}\\Big)^{-1},
    \\quad \\beta = \\frac{\\ln e}{\\sqrt{\\ln^2 e + \\pi^2}}

k_n = 4/3 E* √(R*δ), γ_n = -2 √(5/6) β √(2 E* √(R*δ) m*), k_t = 8 G* √(R*δ),
γ_t = -2 √(5/6) β √(8 G* √(R*δ) m*).  Mixed-pair e, μ and CED are geometric means (Table 2 of
Ngandjong et al. 2021; LIGGGHTS itself takes per-pair matrices, the paper's deck mixes them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from physics.engine._params import (
    BRIDGE_K,
    BRIDGE_KEQ,
    CED,
    GN_A,
    GT_A,
    KN,
    KT,
    MU,
    N_CONTACT_PARAMS,
    NORMAL_HYSTERETIC,
    NORMAL_MODEL,
    PLASTICITY,
)
from physics.materials import Material, to_engine_kpa


@dataclass(frozen=True, eq=False)
class ContactTable:
    """Per type-pair contact coefficients in engine units (see ``_contact_kernels``).

    Attributes:
        names: material name of each type index (particles and walls share the index space).
        params: (n_types, n_types, N_CONTACT_PARAMS) float64, symmetric in the first two axes.
    """

    names: tuple[str, ...]
    params: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.names)
        if self.params.shape != (n, n, N_CONTACT_PARAMS):
            raise ValueError(f"params has shape {self.params.shape}; expected "
                             f"{(n, n, N_CONTACT_PARAMS)}")
        if not np.allclose(self.params, self.params.transpose(1, 0, 2)):
            raise ValueError("params must be symmetric in the two type indices")

    @property
    def n_types(self) -> int:
        return len(self.names)

    def stiffness_ratio(self) -> float:
        """Largest contact stiffness relative to the Hertz loading stiffness of its pair: the
        hysteretic unloading stiffness 1/(1 - λ_p) plus the binder bridge's Maxwell and
        equilibrium arms (BRIDGE_K + BRIDGE_KEQ)/KN.
        The stable time step shrinks by its square root."""
        p = self.params
        unload = np.where(p[..., NORMAL_MODEL] == NORMAL_HYSTERETIC,
                          1.0 / (1.0 - p[..., PLASTICITY]), 1.0)
        kn = np.where(p[..., KN] > 0, p[..., KN], 1.0)
        return float((unload + (p[..., BRIDGE_K] + p[..., BRIDGE_KEQ]) / kn).max())

    def index(self, name: str) -> int:
        """Type index of the material called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown material {name!r}; known: {', '.join(self.names)}") from None


def with_models(table: ContactTable,
                pair_models: Mapping[tuple[str, str], Sequence]) -> ContactTable:
    """The table with contact models (specs of :mod:`physics.engine.contacts`) applied to
    pair types, e.g. ``{("CBD", "CBD"): [Hysteretic(0.5, 0.2)], ("AM", "AM"):
    [RollingEPSD2(0.1)]}``; pairs not named keep their law.  Specs apply in order."""
    p = table.params.copy()
    for (a, b), specs in pair_models.items():
        i, j = table.index(a), table.index(b)
        for spec in specs:
            if not hasattr(spec, "apply"):
                raise ValueError(f"{a}–{b}: {spec!r} is not a contact model spec")
            spec.apply(p[i, j])
            p[j, i] = p[i, j]
    return ContactTable(table.names, p)


def effective_young_kpa(a: Material, b: Material) -> float:
    """E* [kPa] of a pair (LIGGGHTS Yeff)."""
    inv = ((1 - a.poisson_ratio**2) / a.young_modulus_pa
           + (1 - b.poisson_ratio**2) / b.young_modulus_pa)
    return to_engine_kpa(1.0 / inv)


def effective_shear_kpa(a: Material, b: Material) -> float:
    """G* [kPa] of a pair (LIGGGHTS Geff)."""
    def term(m: Material) -> float:
        return 2 * (2 - m.poisson_ratio) * (1 + m.poisson_ratio) / m.young_modulus_pa
    return to_engine_kpa(1.0 / (term(a) + term(b)))


def damping_beta(restitution: float) -> float:
    """β = ln e / sqrt(ln² e + π²) (< 0; 0 for e = 1)."""
    log_e = math.log(restitution)
    return log_e / math.sqrt(log_e**2 + math.pi**2)


def liggghts_table(materials: Sequence[Material]) -> ContactTable:
    """Coefficients of ``hertz tangential history cohesion sjkr`` for every material pair."""
    n = len(materials)
    params = np.zeros((n, n, N_CONTACT_PARAMS))
    for i, a in enumerate(materials):
        for j, b in enumerate(materials):
            e_star = effective_young_kpa(a, b)
            g_star = effective_shear_kpa(a, b)
            beta = damping_beta(math.sqrt(a.restitution * b.restitution))
            p = params[i, j]
            p[KN] = 4.0 / 3.0 * e_star
            p[KT] = 8.0 * g_star
            p[GN_A] = -2.0 * math.sqrt(5.0 / 6.0) * beta * math.sqrt(2.0 * e_star)
            p[GT_A] = -2.0 * math.sqrt(5.0 / 6.0) * beta * math.sqrt(8.0 * g_star)
            p[MU] = math.sqrt(a.friction * b.friction)
            p[CED] = to_engine_kpa(math.sqrt(a.cohesion_energy_density_pa
                                             * b.cohesion_energy_density_pa))
    return ContactTable(tuple(m.name for m in materials), params)


def hertz_contact_time_us(e_star_kpa: float, r_star_um: float, m_star_pg: float,
                          impact_speed_um_us: float) -> float:
    """Duration of an undamped Hertz collision [µs] (Johnson, Contact Mechanics, §11.4).

    t_c = 2.9432 δ_max / v0 with δ_max = (15 m* v0² / (16 E* √R*))^{2/5}.
    """
    delta_max = (15.0 * m_star_pg * impact_speed_um_us**2
                 / (16.0 * e_star_kpa * math.sqrt(r_star_um))) ** 0.4
    return 2.943205 * delta_max / impact_speed_um_us


def rayleigh_time_us(material: Material, radius_um: float) -> float:
    """Rayleigh wave time of a sphere [µs]: π R √(ρ/G) / (0.1631 ν + 0.8766).

    The usual DEM step bound is dt < 0.2 × this (LIGGGHTS ``check/timestep/gran``).
    """
    shear_kpa = to_engine_kpa(material.young_modulus_pa / (2 * (1 + material.poisson_ratio)))
    return (math.pi * radius_um * math.sqrt(material.density_g_cm3 / shear_kpa)
            / (0.1631 * material.poisson_ratio + 0.8766))
