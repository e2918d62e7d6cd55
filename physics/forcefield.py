"""CGMD force fields of the slurry and the dried electrode (LAMMPS lj/sf + gran/hertz/history).

Values from the authors' CGMD decks for Ngandjong et al. (2021) (``shared/reference/
parameters.md``), LAMMPS ``units micro``.  Lennard-Jones parameters scale with the AM diameter
d [µm] (unexpanded); ε mixes geometrically, σ and cut-off arithmetically.  The granular part is
LAMMPS ``gran/hertz/history``: F_n = √(R*δ) (K_n δ - m* γ_n v_n), F_t = -√(R*δ)(K_t ξ + m* γ_t v_t),
one constant set for every pair (and the planes).

Departures, stated:

* The CBD contact radius of the slurry comes from the recipe (its solvent-swollen radius, which
  follows the solid content), not from the force field.
* The engine runs the LIGGGHTS tangential-history algorithm (Coulomb cap on the elastic part,
  lever arm R - δ/2) for the CGMD too; LAMMPS ``gran/hertz/history`` rescales a damped spring
  and uses the full radius.  With the slurry friction of 0.015 this is immaterial; the dried
  set's μ = 12.5 makes contacts stick in both codes.
* For CBD the LJ ε is 0.001 × (slurry) or 4250 × (dried) its *contact* diameter (6.2 / 1.3 µm),
  the diameter that the decks assign to the CBD type.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np

from physics.engine._contact_kernels import GN_B, GT_B, KN, KT, MU
from physics.engine.contact import ContactTable, liggghts_table
from physics.materials import ALUMINIUM, CBD, NMC, Material


def _cohesionless(m: Material) -> Material:
    return dataclasses.replace(m, cohesion_energy_density_pa=0.0)


#: CGMD planes: soft enough for the CGMD step, stiff enough to carry 1 atm with ~0.1 µm overlap.
CGMD_FLOOR = Material("Al", 1e8, 0.3, 0.5, ALUMINIUM.friction, 0.0, ALUMINIUM.density_g_cm3)
FILM_SURFACE = Material("surface", 1e8, 0.3, 0.5, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class ForceField:
    """One CGMD force-field set (engine units: µm, pg, µs, 1e-15 J).

    Attributes:
        am_lj_epsilon_per_um: AM ε = this × d [1e-15 J µm⁻¹].
        am_lj_sigma_factor: AM σ = this × d [-].
        am_lj_cutoff_factor: AM cut-off = this × d [-].
        am_contact_factor: AM contact diameter = this × d [-] (slurry: solvent shell 1.14;
            dried: 1.02, the paper's 2 % expansion so that Hertz contacts carry load).
        cbd_lj_epsilon_per_um: CBD ε = this × contact diameter [1e-15 J µm⁻¹].
        cbd_lj_sigma_um, cbd_lj_cutoff_um: CBD σ and cut-off [µm].
        am_density_g_cm3, cbd_density_g_cm3: densities for the dynamics [g cm⁻³] (LAMMPS:
            mass = density × contact volume; the reported density uses real masses).
        kn: K_n [kPa]; kt_over_kn [-]; gamma_n: γ_n [µs⁻¹ µm⁻¹]; gammat_over_gamman [-];
        friction: Coulomb μ [-].
    """

    am_lj_epsilon_per_um: float
    am_lj_sigma_factor: float
    am_lj_cutoff_factor: float
    am_contact_factor: float
    cbd_lj_epsilon_per_um: float
    cbd_lj_sigma_um: float
    cbd_lj_cutoff_um: float
    am_density_g_cm3: float
    cbd_density_g_cm3: float
    kn: float
    kt_over_kn: float
    gamma_n: float
    gammat_over_gamman: float
    friction: float

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"ForceField.{f.name} = {v!r}; allowed range [0, inf)")
        for name in ("am_lj_sigma_factor", "am_contact_factor", "cbd_lj_sigma_um",
                     "am_density_g_cm3", "cbd_density_g_cm3"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ForceField.{name} = {getattr(self, name)!r}; allowed (0, inf)")

    def contact_table(self) -> ContactTable:
        """Types AM, CBD, Al (current collector), surface (top plane of the wet film).

        Particle pairs: constant gran/hertz/history coefficients, no cohesion.  Particle-plane
        pairs: the LIGGGHTS Hertz law against soft elastic planes (E = 0.1 GPa, e = 0.5, no
        cohesion), frictional (Al's μ) for the current collector and frictionless for the film
        surface.  The slurry constants (K_n = 8 kPa) could not carry 1 atm at a plane (the
        particles would sink through it), and real Al would need a 10× shorter step than the
        CGMD's; the DEM stage uses the real Al and steel of Table 2.
        """
        walls = liggghts_table([_cohesionless(NMC), _cohesionless(CBD), CGMD_FLOOR,
                                FILM_SURFACE]).params
        p = walls.copy()
        p[:2, :2] = 0.0
        p[:2, :2, KN] = self.kn
        p[:2, :2, KT] = self.kn * self.kt_over_kn
        p[:2, :2, GN_B] = self.gamma_n
        p[:2, :2, GT_B] = self.gamma_n * self.gammat_over_gamman
        p[:2, :2, MU] = self.friction
        return ContactTable(("AM", "CBD", "Al", "surface"), p)

    def lj_arrays(self, is_am: np.ndarray, am_diameter_um: np.ndarray,
                  cbd_contact_diameter_um: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-particle (ε, σ, cut-off) for AM (by diameter) and CBD particles."""
        eps = np.where(is_am, self.am_lj_epsilon_per_um * am_diameter_um,
                       self.cbd_lj_epsilon_per_um * cbd_contact_diameter_um)
        sig = np.where(is_am, self.am_lj_sigma_factor * am_diameter_um, self.cbd_lj_sigma_um)
        cut = np.where(is_am, self.am_lj_cutoff_factor * am_diameter_um, self.cbd_lj_cutoff_um)
        return eps.astype(float), sig.astype(float), cut.astype(float)


#: Slurry (solvent-swollen) set: weak LJ, soft contacts, nearly massless swollen CBD.
SLURRY_FORCE_FIELD = ForceField(
    am_lj_epsilon_per_um=0.01, am_lj_sigma_factor=0.88, am_lj_cutoff_factor=1.14,
    am_contact_factor=1.14, cbd_lj_epsilon_per_um=0.001, cbd_lj_sigma_um=1.1,
    cbd_lj_cutoff_um=2.2, am_density_g_cm3=4.65, cbd_density_g_cm3=0.002, kn=8.0,
    kt_over_kn=1.378, gamma_n=30.0, gammat_over_gamman=0.959, friction=0.015)

#: Dried set: deep LJ wells, stiff sticky contacts, CBD at its nano-porous density.
DRIED_FORCE_FIELD = ForceField(
    am_lj_epsilon_per_um=3700.0, am_lj_sigma_factor=0.89, am_lj_cutoff_factor=1.14,
    am_contact_factor=1.02, cbd_lj_epsilon_per_um=4250.0, cbd_lj_sigma_um=1.1,
    cbd_lj_cutoff_um=2.2, am_density_g_cm3=4.65, cbd_density_g_cm3=0.95, kn=500.0,
    kt_over_kn=1.235, gamma_n=10.0, gammat_over_gamman=0.907, friction=12.5)

_LOG_BLEND = {"am_lj_epsilon_per_um", "cbd_lj_epsilon_per_um", "cbd_density_g_cm3", "kn",
              "gamma_n", "friction"}


def blend(a: ForceField, b: ForceField, s: float) -> ForceField:
    """Force field a fraction ``s`` in [0, 1] of the way from ``a`` to ``b``.

    Scale-like constants (ε, K_n, γ_n, μ, CBD density) are interpolated geometrically (they span
    up to 5 decades), the others linearly.
    """
    s = min(max(float(s), 0.0), 1.0)
    values = {}
    for f in fields(ForceField):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if f.name in _LOG_BLEND and va > 0 and vb > 0:
            values[f.name] = va * (vb / va) ** s
        else:
            values[f.name] = va + (vb - va) * s
    return ForceField(**values)
