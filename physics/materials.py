"""Materials, recipes and the recipe -> particle-count mass balance.

Public fields carry their unit in the name where it is not SI (``density_g_cm3``,
``diameters_um``).  The engine works in LIGGGHTS/LAMMPS ``units micro`` (µm, pg, µs;
force nN, modulus and pressure kPa); :func:`to_engine_kpa` is the one conversion.

Sources: Ngandjong et al., J. Power Sources 485 (2021) 229320,
doi:10.1016/j.jpowsour.2020.229320 — Table 2 (DEM materials) and §2/§6.2 (recipe, particle
sizes, CBD density and nano-porosity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PA_PER_KPA = 1.0e3  # engine modulus/pressure unit is kPa = pg µm^-1 µs^-2


def to_engine_kpa(value_pa: float) -> float:
    """Convert a modulus, pressure or energy density from Pa to engine units (kPa)."""
    return value_pa / PA_PER_KPA


def _check_range(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False,
                 hi_open: bool = False) -> None:
    """Raise a ValueError naming ``name`` and the allowed interval when ``value`` is outside."""
    ok = math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo)
    ok = ok and (value < hi if hi_open else value <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{name} = {value!r} is outside the allowed range {left}{lo}, {hi}{right}")


@dataclass(frozen=True)
class Material:
    """Elastic, dissipative and cohesive properties of one DEM material (Table 2).

    Attributes:
        name: label used in outputs.
        young_modulus_pa: Young's modulus E [Pa], > 0.
        poisson_ratio: ν [-], in (-1, 0.5].
        restitution: coefficient of restitution e [-], in [0.05, 1] (LIGGGHTS' allowed range;
            e = 1 means no viscous damping).
        friction: Coulomb friction coefficient μ [-], >= 0.
        cohesion_energy_density_pa: SJKR cohesion energy density CED [Pa = J m^-3], >= 0.
        density_g_cm3: mass density [g cm^-3] (= pg µm^-3), > 0.
    """

    name: str
    young_modulus_pa: float
    poisson_ratio: float
    restitution: float
    friction: float
    cohesion_energy_density_pa: float
    density_g_cm3: float

    def __post_init__(self) -> None:
        _check_range(f"{self.name}.young_modulus_pa", self.young_modulus_pa, 0.0, math.inf,
                     lo_open=True, hi_open=True)
        _check_range(f"{self.name}.poisson_ratio", self.poisson_ratio, -1.0, 0.5, lo_open=True)
        _check_range(f"{self.name}.restitution", self.restitution, 0.05, 1.0)
        _check_range(f"{self.name}.friction", self.friction, 0.0, math.inf, hi_open=True)
        _check_range(f"{self.name}.cohesion_energy_density_pa", self.cohesion_energy_density_pa,
                     0.0, math.inf, hi_open=True)
        _check_range(f"{self.name}.density_g_cm3", self.density_g_cm3, 0.0, math.inf,
                     lo_open=True, hi_open=True)


# Table 2 of Ngandjong et al. (2021): E [GPa], e, ν, μ, CED [pg µm^-1 µs^-2 = kPa], ρ [g cm^-3].
NMC = Material("AM", 200e9, 0.3, 0.15, 0.001, 6e5 * PA_PER_KPA, 4.65)
CBD = Material("CBD", 2e9, 0.5, 0.15, 0.001, 7e4 * PA_PER_KPA, 0.95)
ALUMINIUM = Material("Al", 69e9, 0.3, 0.5, 1.2, 5.5e5 * PA_PER_KPA, 2.7)
STEEL = Material("steel", 200e9, 0.3, 0.78, 0.76, 6e5 * PA_PER_KPA, 7.75)
#: The indenter of a micro-indentation test: a Vickers diamond, E 1141 GPa and ν 0.07 (the
#: indenter constants of Oliver & Pharr, J. Mater. Res. 7 (1992) 1564), friction 0.1
#: (diamond sliding on polymers and oxides), and no cohesion: the tip's adhesion to the film
#: (µN) is lost in a test loaded to 200 mN.  Restitution as Table 2's steel (a hard body).
DIAMOND = Material("diamond", 1141e9, 0.07, 0.78, 0.1, 0.0, 3.51)

#: The paper's six AM diameters [µm] (unexpanded) and their counts in the 396-particle cell.
PAPER_AM_DIAMETERS_UM = (2.5, 3.5, 4.5, 5.86, 8.28, 10.35)
PAPER_AM_COUNTS = (73, 91, 64, 57, 82, 29)
PAPER_N_CBD = 9463
PAPER_BOX_XY_UM = 25.8
PAPER_DRIED_THICKNESS_UM = 165.0
PAPER_SOLID_CONTENT = 0.69
PAPER_CBD_MASS_FRACTION = 0.04  # carbon black + PVDF share of the paper's dry solids


def _paper_number_fractions() -> tuple[float, ...]:
    total = sum(PAPER_AM_COUNTS)
    return tuple(c / total for c in PAPER_AM_COUNTS)


def sphere_volume_um3(diameter_um: float | np.ndarray) -> float | np.ndarray:
    """Volume of a sphere [µm³] from its diameter [µm]."""
    return math.pi / 6.0 * np.asarray(diameter_um, dtype=float) ** 3


@dataclass(frozen=True)
class ParticleCounts:
    """Result of the recipe mass balance.

    Attributes:
        am_diameters_um: AM diameters [µm] (unexpanded), one per size class.
        am_counts: number of AM particles per size class.
        n_cbd: number of CBD particles.
        am_mass_pg: total AM mass [pg].
        cbd_mass_pg: total CBD mass [pg] (dried CBD, nano-porous density).
        solid_volume_um3: AM + dried-CBD volume [µm³] (unexpanded AM diameters).
    """

    am_diameters_um: tuple[float, ...]
    am_counts: tuple[int, ...]
    n_cbd: int
    am_mass_pg: float
    cbd_mass_pg: float
    solid_volume_um3: float

    @property
    def n_am(self) -> int:
        return int(sum(self.am_counts))

    def porosity_in_box(self, box_um: tuple[float, float, float]) -> float:
        """Porosity [-] of these particles (dried sizes) in a box ``lx × ly × lz`` [µm]."""
        volume = float(np.prod(box_um))
        return 1.0 - self.solid_volume_um3 / volume


def _apportion(total: int, fractions: tuple[float, ...]) -> tuple[int, ...]:
    """Split an integer ``total`` by ``fractions`` with the largest-remainder rule."""
    raw = np.asarray(fractions) * total
    counts = np.floor(raw).astype(int)
    short = total - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return tuple(int(c) for c in counts)


@dataclass(frozen=True)
class Recipe:
    """Electrode formulation (mass fractions of the dry solids) and particle description.

    Attributes:
        am_mass_fraction, carbon_mass_fraction, binder_mass_fraction: dry mass fractions [-],
            each in [0, 1], summing to 1 (±1e-9); AM must be > 0 and carbon + binder > 0.
        solid_content: slurry solids mass fraction [-], in (0, 1).
        am_diameters_um: discrete AM diameters [µm], each > 0 (unexpanded).
        am_number_fractions: number fraction of each diameter [-], each >= 0, summing to 1.
        cbd_radius_dry_um: CBD radius after drying [µm], > 0.
        cbd_radius_swollen_um: CBD radius in the slurry (solvent-swollen) at the paper's solid
            content of 0.69 and CBD share of 0.04 [µm], >= dry radius;
            :meth:`slurry_cbd_radius_um` scales it to ``solid_content`` and the CBD share.
        cbd_density_g_cm3: dried CBD density including its nano-porosity [g cm^-3], > 0.
        cbd_nanoporosity: CBD inner porosity [-], in [0, 1).
        am_density_g_cm3: AM density [g cm^-3], > 0.
        cbd_compact_density_g_cm3: CBD solid density without nano-pores [g cm^-3] (paper:
            1.81, mean of carbon black and PVDF), > 0.
        solvent_density_g_cm3: slurry solvent density [g cm^-3] (NMP: 1.028), > 0.

    The contact diameters of the simulated particles (AM expanded by 2 % after drying, solvent
    shells in the slurry) belong to the force field (:mod:`physics.forcefield`), not the recipe.
    """

    am_mass_fraction: float = 0.96
    carbon_mass_fraction: float = 0.02
    binder_mass_fraction: float = 0.02
    solid_content: float = 0.69
    am_diameters_um: tuple[float, ...] = PAPER_AM_DIAMETERS_UM
    am_number_fractions: tuple[float, ...] = field(default_factory=_paper_number_fractions)
    cbd_radius_dry_um: float = 0.65
    cbd_radius_swollen_um: float = 3.1
    cbd_density_g_cm3: float = 0.95
    cbd_nanoporosity: float = 0.47
    am_density_g_cm3: float = 4.65
    cbd_compact_density_g_cm3: float = 1.81
    solvent_density_g_cm3: float = 1.028

    def __post_init__(self) -> None:
        for name in ("am_mass_fraction", "carbon_mass_fraction", "binder_mass_fraction"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        total = self.am_mass_fraction + self.carbon_mass_fraction + self.binder_mass_fraction
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(
                "am_mass_fraction + carbon_mass_fraction + binder_mass_fraction sum to "
                f"{total!r}; the allowed value is 1 (±1e-9)")
        _check_range("am_mass_fraction", self.am_mass_fraction, 0.0, 1.0, lo_open=True)
        _check_range("carbon_mass_fraction + binder_mass_fraction", self.cbd_mass_fraction,
                     0.0, 1.0, lo_open=True)
        _check_range("solid_content", self.solid_content, 0.0, 1.0, lo_open=True, hi_open=True)
        if len(self.am_diameters_um) == 0:
            raise ValueError("am_diameters_um is empty; at least one AM diameter is required")
        if len(self.am_diameters_um) != len(self.am_number_fractions):
            raise ValueError(
                f"am_number_fractions has {len(self.am_number_fractions)} entries, "
                f"am_diameters_um has {len(self.am_diameters_um)}; they must match")
        for k, d in enumerate(self.am_diameters_um):
            _check_range(f"am_diameters_um[{k}]", d, 0.0, math.inf, lo_open=True, hi_open=True)
        for k, f in enumerate(self.am_number_fractions):
            _check_range(f"am_number_fractions[{k}]", f, 0.0, 1.0)
        fsum = sum(self.am_number_fractions)
        if not math.isclose(fsum, 1.0, abs_tol=1e-6):
            raise ValueError(f"am_number_fractions sum to {fsum!r}; the allowed value is 1 (±1e-6)")
        _check_range("cbd_radius_dry_um", self.cbd_radius_dry_um, 0.0, math.inf,
                     lo_open=True, hi_open=True)
        _check_range("cbd_radius_swollen_um", self.cbd_radius_swollen_um,
                     self.cbd_radius_dry_um, math.inf, hi_open=True)
        _check_range("cbd_density_g_cm3", self.cbd_density_g_cm3, 0.0, math.inf,
                     lo_open=True, hi_open=True)
        _check_range("cbd_nanoporosity", self.cbd_nanoporosity, 0.0, 1.0, hi_open=True)
        for name in ("am_density_g_cm3", "cbd_compact_density_g_cm3", "solvent_density_g_cm3"):
            _check_range(name, getattr(self, name), 0.0, math.inf, lo_open=True, hi_open=True)

    @property
    def cbd_mass_fraction(self) -> float:
        """Carbon + binder dry mass fraction [-]; both live in the CBD particles."""
        return self.carbon_mass_fraction + self.binder_mass_fraction

    def slurry_cbd_radius_um(self) -> float:
        """Swollen CBD radius at this recipe's solid content and CBD share [µm].

        The solvent sits in the swollen CBD particles: the solvent volume per CBD particle,
        ∝ r_s³ - r_d³, is the slurry's solvent mass per unit CBD mass, ((1 - s)/s)/w_CBD (s
        the solid content, w_CBD the carbon + binder share of the solids), anchored at
        ``cbd_radius_swollen_um`` for the paper's s = 0.69, w_CBD = 0.04 (a modelling choice:
        the paper reports one recipe).  So the swollen particles together hold the same
        fraction of the solvent in every recipe: a CBD-rich recipe has more, smaller swollen
        particles (a radius set by the solid content alone would give 0.80 AM at 0.50 solids
        five times the solvent it has, 4.0 µm particles overlapping ~200 others each).
        """
        ref = (1.0 - PAPER_SOLID_CONTENT) / PAPER_SOLID_CONTENT / PAPER_CBD_MASS_FRACTION
        ratio = (1.0 - self.solid_content) / self.solid_content / self.cbd_mass_fraction / ref
        r_d, r_s = self.cbd_radius_dry_um, self.cbd_radius_swollen_um
        return float((r_d**3 + (r_s**3 - r_d**3) * ratio) ** (1.0 / 3.0))

    def slurry_volume_um3(self, counts: ParticleCounts) -> float:
        """Volume of the wet slurry holding ``counts`` [µm³]: AM + compact CBD + solvent, with
        the solvent mass m_solid (1 - s)/s from the solid content s."""
        solids = counts.am_mass_pg + counts.cbd_mass_pg
        solvent = solids * (1.0 - self.solid_content) / self.solid_content
        return (counts.am_mass_pg / self.am_density_g_cm3
                + counts.cbd_mass_pg / self.cbd_compact_density_g_cm3
                + solvent / self.solvent_density_g_cm3)

    @property
    def cbd_particle_mass_pg(self) -> float:
        """Mass of one dried CBD particle [pg] (nano-porous density × dry volume)."""
        return self.cbd_density_g_cm3 * float(sphere_volume_um3(2.0 * self.cbd_radius_dry_um))

    @property
    def am_mean_volume_um3(self) -> float:
        """Number-weighted mean AM particle volume [µm³] (unexpanded)."""
        return float(np.dot(self.am_number_fractions, sphere_volume_um3(self.am_diameters_um)))

    def counts_for_am(self, n_am: int) -> ParticleCounts:
        """Particle counts for ``n_am`` AM particles from the dry mass balance.

        AM counts per diameter follow the number fractions (largest-remainder rounding); the
        CBD mass is ``m_AM (w_C + w_B) / w_AM`` and ``n_cbd`` its nearest whole number of
        dried CBD particles.
        """
        if int(n_am) != n_am or n_am < 1:
            raise ValueError(f"n_am = {n_am!r} is outside the allowed range: an integer >= 1")
        am_counts = _apportion(int(n_am), self.am_number_fractions)
        return self._counts_from_am_counts(am_counts)

    def _counts_from_am_counts(self, am_counts: tuple[int, ...]) -> ParticleCounts:
        volumes = sphere_volume_um3(self.am_diameters_um)
        am_volume = float(np.dot(am_counts, volumes))
        am_mass = am_volume * self.am_density_g_cm3
        cbd_mass_target = am_mass * self.cbd_mass_fraction / self.am_mass_fraction
        n_cbd = round(cbd_mass_target / self.cbd_particle_mass_pg)
        cbd_mass = n_cbd * self.cbd_particle_mass_pg
        cbd_volume = n_cbd * float(sphere_volume_um3(2.0 * self.cbd_radius_dry_um))
        return ParticleCounts(
            am_diameters_um=tuple(self.am_diameters_um), am_counts=am_counts, n_cbd=n_cbd,
            am_mass_pg=am_mass, cbd_mass_pg=cbd_mass, solid_volume_um3=am_volume + cbd_volume)

    def counts_for_box(self, box_um: tuple[float, float, float], porosity: float) -> ParticleCounts:
        """Particle counts that fill a box ``lx × ly × lz`` [µm] at a dried ``porosity`` [-].

        Solves ``(1 - porosity) V = n_am (v̄_AM + ρ_AM v̄_AM w_CBD / (w_AM ρ_CBD))`` for
        ``n_am`` and rounds it; the result's porosity differs from the request by rounding only.
        """
        if len(box_um) != 3:
            raise ValueError(f"box_um has {len(box_um)} entries; the allowed length is 3")
        for k, length in enumerate(box_um):
            _check_range(f"box_um[{k}]", length, 0.0, math.inf, lo_open=True, hi_open=True)
        _check_range("porosity", porosity, 0.0, 1.0, hi_open=True)
        solid = (1.0 - porosity) * float(np.prod(box_um))
        v_am = self.am_mean_volume_um3
        cbd_vol_per_am = (v_am * self.am_density_g_cm3 * self.cbd_mass_fraction
                          / (self.am_mass_fraction * self.cbd_density_g_cm3))
        n_am = max(1, round(solid / (v_am + cbd_vol_per_am)))
        return self.counts_for_am(n_am)


def paper_recipe() -> Recipe:
    """The paper's NMC111 96:2:2 recipe at 69 wt % solid content (all defaults)."""
    return Recipe()


def paper_counts() -> ParticleCounts:
    """The paper's exact cell: 396 AM (73/91/64/57/82/29) with the mass-balance CBD count."""
    return paper_recipe()._counts_from_am_counts(PAPER_AM_COUNTS)
