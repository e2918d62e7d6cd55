"""Binder and contact law of the calender press.

The CBD's temperature and rate law (:class:`BinderRheology`), contact physics beyond Table 2
(:class:`BinderContact`), the validity bound of the cohesive Hertz + SJKR law
(:func:`cohesive_overlap_ratio`, ``MAX_COHESIVE_OVERLAP_RATIO``) and the roll settings that
build the contact table (:class:`ProcessConditions`; engine types AM, CBD, Al, steel).

Units: °C, m/min, m, GPa, kJ/mol at the interface; the contact table is in the engine's µm,
pg, µs (force nN, pressure kPa).  Physics: ``physics.calender`` module docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from physics.engine import liggghts_table, with_models
from physics.engine._contact_kernels import CED, GN_A, GN_B, GT_A, GT_B, KN, KT
from physics.engine._params import NORMAL_MODEL, NORMAL_THORNTON_NING, YIELD_PRESSURE
from physics.engine.contact import ContactTable
from physics.engine.contacts import BinderBridge, CoatedFriction, Hysteretic, RollingEPSD2
from physics.engine.contacts.coated_friction import MAX_FILM_DEPTH, MAX_FRICTION
from physics.engine.contacts.hysteretic import MAX_PLASTICITY
from physics.engine.contacts.thornton_ning import (
    MAX_FLATTENING_LIMIT,
    MAX_YIELD_GPA,
    MIN_YIELD_GPA,
    ThorntonNing,
)
from physics.materials import ALUMINIUM, CBD, NMC, STEEL, Material, _check_range

R_GAS_J_MOL_K = 8.314462618
KELVIN_OFFSET = 273.15
AM_TYPE, CBD_TYPE, AL_TYPE, STEEL_TYPE, AM_CRUSHED_TYPE = 0, 1, 2, 3, 4
AM_CRUSHED = "AM_CRUSHED"  # material name of engine type 4
MIN_STRENGTH_MPA, MAX_STRENGTH_MPA = 10.0, 2000.0
DEFAULT_WEIBULL_MODULUS = 5.0
CRUSHING_STRESS_NAMES = ("contact", "octahedral")  # physics.calender.fracture.CRUSHING_STRESSES
DEFAULT_CRUSHED_YIELD_GPA = 2.0


@dataclass(frozen=True)
class BinderRheology:
    """Temperature and rate dependence of the CBD modulus and cohesion (module docstring).

    Attributes:
        reference_temperature_c: T_ref [°C] where Table 2 holds (paper: 60 °C rolls).
        reference_line_speed_m_min: v_ref [m/min] where Table 2 holds (paper: 0.54 m/min).
        activation_energy_kj_mol: E_a of the Arrhenius shift [kJ/mol], > 0.
        relaxation_time_ref_s: τ at T_ref [s], > 0 (only enters the reported De).
        rate_exponent: n in E ∝ De^n [-], in [0, 1).
        cohesion_exponent: m in CED ∝ E^m [-] (JKR: 2/3).
        min_temperature_c, max_temperature_c: validity of the law [°C] (PVDF semicrystalline
            state, above its glass transition and below melting).
        reference_modulus_gpa: E_CBD at the reference state [GPa] (Table 2: 2), in
            [0.01, 200]; ``etwin calibrate --target dem`` infers it from a porosity–pressure
            curve.
        reference_cohesion_gpa: CED_CBD at the reference state [GPa] (Table 2: 0.07), in
            [1e-5, 10].
        reference_nip_time_s: nip contact time of the reference roll [s] (paper: 0.125 m
            roll radius, ~30 µm reduction at 0.54 m/min: sqrt(R Δh)/v = 0.22 s), in
            (0, 100]; it converts a bench test's loading time into the rate of the roll
            (:meth:`rate_ratio`).
        plateau_softening_per_k: β of the relaxed (rubbery-plateau) modulus,
            E_∞(T) = E_∞(T_ref) exp(-β (T - T_ref)) [1/K], in [0, 0.2] (:meth:`plateau_factor`).
    """

    reference_temperature_c: float = 60.0
    reference_line_speed_m_min: float = 0.54
    activation_energy_kj_mol: float = 85.0
    relaxation_time_ref_s: float = 0.16
    rate_exponent: float = 0.1
    cohesion_exponent: float = 2.0 / 3.0
    min_temperature_c: float = 0.0
    max_temperature_c: float = 150.0
    reference_modulus_gpa: float = CBD.young_modulus_pa / 1e9
    reference_cohesion_gpa: float = CBD.cohesion_energy_density_pa / 1e9
    reference_nip_time_s: float = 0.22
    plateau_softening_per_k: float = 0.015

    def __post_init__(self) -> None:
        _check_range("BinderRheology.plateau_softening_per_k", self.plateau_softening_per_k,
                     0.0, 0.2)
        _check_range("BinderRheology.reference_nip_time_s", self.reference_nip_time_s,
                     0.0, 100.0, lo_open=True)
        _check_range("BinderRheology.reference_modulus_gpa", self.reference_modulus_gpa,
                     0.01, 200.0)
        _check_range("BinderRheology.reference_cohesion_gpa", self.reference_cohesion_gpa,
                     1e-5, 10.0)
        _check_range("BinderRheology.activation_energy_kj_mol", self.activation_energy_kj_mol,
                     0.0, 1e3, lo_open=True)
        _check_range("BinderRheology.relaxation_time_ref_s", self.relaxation_time_ref_s,
                     0.0, 1e6, lo_open=True)
        _check_range("BinderRheology.rate_exponent", self.rate_exponent, 0.0, 1.0, hi_open=True)
        _check_range("BinderRheology.cohesion_exponent", self.cohesion_exponent, 0.0, 2.0)
        _check_range("BinderRheology.reference_line_speed_m_min",
                     self.reference_line_speed_m_min, 0.0, 1e3, lo_open=True)
        if not self.min_temperature_c < self.max_temperature_c:
            raise ValueError("BinderRheology: min_temperature_c must be below max_temperature_c")
        self.check_temperature(self.reference_temperature_c)

    def check_temperature(self, temperature_c: float) -> None:
        _check_range("temperature_c", temperature_c, self.min_temperature_c,
                     self.max_temperature_c)

    def shift_factor(self, temperature_c: float) -> float:
        """Arrhenius shift a_T = τ(T)/τ(T_ref) [-]."""
        self.check_temperature(temperature_c)
        inv = (1.0 / (temperature_c + KELVIN_OFFSET)
               - 1.0 / (self.reference_temperature_c + KELVIN_OFFSET))
        return math.exp(self.activation_energy_kj_mol * 1e3 / R_GAS_J_MOL_K * inv)

    def relaxation_time_s(self, temperature_c: float) -> float:
        """Binder relaxation time τ(T) [s]."""
        return self.relaxation_time_ref_s * self.shift_factor(temperature_c)

    def rate_ratio(self, temperature_c: float, line_speed_m_min: float,
                   loading_time_s: float | None = None) -> float:
        """De/De_ref [-]: a_T v/v_ref in a roll nip (t_nip ∝ 1/v), or a_T t_nip,ref/t_load
        for a compression that lasts ``loading_time_s`` (a bench test: the line speed then
        does not enter)."""
        if loading_time_s is None:
            return self.shift_factor(temperature_c) * line_speed_m_min / \
                self.reference_line_speed_m_min
        return self.shift_factor(temperature_c) * self.reference_nip_time_s / loading_time_s

    def modulus_factor(self, temperature_c: float, line_speed_m_min: float,
                       loading_time_s: float | None = None) -> float:
        """E_CBD / E_ref = (De/De_ref)^n [-] (:meth:`rate_ratio`)."""
        return self.rate_ratio(temperature_c, line_speed_m_min,
                               loading_time_s) ** self.rate_exponent

    def plateau_factor(self, temperature_c: float) -> float:
        """E_∞(T)/E_∞(T_ref) = exp(-β (T - T_ref)) [-]: the relaxed modulus of the binder.

        The bridge's equilibrium arm is the long-time modulus, so it has no rate (no
        Deborah-number factor) and its temperature law is not the Arrhenius shift of the
        relaxation time but the softening of the semicrystalline network: PVDF's modulus
        above T_g falls steadily as the crystallites' α_c relaxation and pre-melting set
        in, roughly halving every 40–50 K between room temperature and ~120 °C in DMA
        (β ≈ 0.014–0.017 /K; default 0.015).  So a slow test at room temperature (an
        indentation) sees a stiffer plateau than the hot, fast roll, and a hotter roll a
        softer one."""
        self.check_temperature(temperature_c)
        return math.exp(-self.plateau_softening_per_k
                        * (temperature_c - self.reference_temperature_c))

    def equilibrium_scale(self, temperature_c: float, line_speed_m_min: float,
                          loading_time_s: float | None = None) -> float:
        """E_∞ factor over the short-time modulus factor [-]: :meth:`plateau_factor` /
        :meth:`modulus_factor`, the factor on the bridge's equilibrium arm, whose stiffness
        is otherwise a share of the binder contacts' (rate- and temperature-shifted) KN."""
        return self.plateau_factor(temperature_c) / self.modulus_factor(
            temperature_c, line_speed_m_min, loading_time_s)

    def cohesion_factor(self, temperature_c: float, line_speed_m_min: float,
                        loading_time_s: float | None = None) -> float:
        """CED_CBD / CED_ref = (E/E_ref)^m [-]."""
        return self.modulus_factor(temperature_c, line_speed_m_min,
                                   loading_time_s) ** self.cohesion_exponent


MAX_COHESIVE_OVERLAP_RATIO = 0.5  # largest zero-load δ_eq/R* accepted (module docstring)


@dataclass(frozen=True)
class BinderContact:
    """Contact physics beyond Table 2, from the registry of ``physics.engine.contacts``.

    Binder contacts (CBD–CBD and AM–CBD) get the hysteretic elasto-plastic adhesive normal
    law and a viscoelastic binder-bridge arm; AM–AM contacts get EPSD2 rolling resistance
    (rough secondary particles) and may get the hysteretic law's plasticity too
    (``am_plasticity``: a secondary particle is an agglomerate of primary grains, and its
    contacts flatten for good under load, the EEPA reading of Thakur et al. 2014; without
    adhesion: the AM–AM cohesion stays Table 2's SJKR), or instead a yield pressure
    (``am_yield_gpa``, Thornton–Ning: Hertz until the contact pressure reaches it, then
    plastic flattening; the agglomerate crushes at its contacts only above a pressure of the
    order of its hardness).  Contacts with the planes keep the Table 2 law.  All zero (the
    default) is the Table 2 law, the ``paper`` preset.

    The bridge's relaxation time in the engine is τ = ``bridge_relaxation_ref_us`` × a_T ×
    v/v_ref: the Deborah number τ(T)/t_nip of the roll, with the nip contact time t_nip ∝
    1/v, mapped onto the simulated compression (``binder_bridge`` module docstring), so roll
    temperature (Arrhenius a_T of ``BinderRheology``) and line speed act through time.  The
    bridge's arms are a share of the binder contacts' KN, which carries the short-time
    modulus at the roll's temperature and rate; the equilibrium arm is the relaxed modulus
    and follows ``BinderRheology.plateau_factor`` instead (no rate, its own temperature law).

    Attributes:
        plasticity: λ_p of the binder contacts [-], in [0, 0.95].
        adhesion_ratio: K_c/KN of the binder contacts [-], in [0, 10].
        am_rolling: EPSD2 μ_r of AM–AM contacts [-], in [0, 1].
        am_plasticity: λ_p of AM–AM contacts [-], in [0, 0.95] (0: elastic Hertz, Table 2).
        am_yield_gpa: Thornton–Ning yield pressure of AM–AM contacts [GPa], 0 (no yield,
            Table 2) or in [0.01, 100]; not together with ``am_plasticity``.
        bridge_stiffness_ratio: bridge arm stiffness / KN of the binder contacts [-], [0, 20].
        bridge_relaxation_ref_us: bridge τ at the binder's reference temperature and line
            speed [µs], in (0, 1e4].
        bridge_equilibrium_fraction: share of the bridge stiffness that does not relax [-],
            in [0, 1] (0: a Maxwell bridge; a semicrystalline PVDF keeps a rubbery plateau,
            ``binder_bridge`` module docstring).
        am_strength_mpa: characteristic crushing strength σ_0 of the AM secondary particles
            [MPa] (Hiramatsu–Oka stress at which 63 % of particles of the reference diameter
            have broken, ``physics.calender.fracture``), 0 (no fracture, Table 2) or in
            [10, 2000]: a particle whose largest contact load passes its own Weibull strength
            is crushed, and its contacts flatten at ``am_crushed_yield_gpa`` from then on.
        am_weibull_modulus: Weibull modulus m of the crushing strength [-], in [1, 50].
        am_crushing_stress: the stress a particle's strength is read against, "contact"
            (the Hiramatsu–Oka stress of its largest contact force) or "octahedral" (the
            octahedral shear stress of its mean stress tensor, equal to the former in a
            diametral test; ``physics.calender.fracture``).
        am_crushed_yield_gpa: Thornton–Ning yield pressure of a crushed particle's contacts
            with AM particles and the planes [GPa], in [0.01, 100] and above twice their
            cohesion energy density (Table 2: 2 × 0.6 GPa; the net flattening pressure of a
            bed of its fragments is p_y - 2 CED).
        am_crushed_flattening: δ_lim / R* of a crushed particle's contacts [-], 0 (the
            flattening goes on, perfectly plastic) or in (0, 1]: the fragments fill the pores
            beside the contact until they jam, and the contact is elastic from there
            (``contacts.thornton_ning``, flattening limit).
        am_film_depth: squeeze-out overlap δ_max / R* of the binder film on AM–AM contacts
            [-], 0 (no film: ``ProcessConditions.am_friction`` throughout, Table 2) or in
            (0, 0.5]: the contacts' friction rises from ``am_friction`` (the film's) to
            ``am_bare_friction`` as they are pressed through the film
            (``contacts.coated_friction``).
        am_bare_friction: Coulomb friction of AM–AM contacts once their film is squeezed out
            [-], in [0, 2]; used where ``am_film_depth`` > 0.
    """

    plasticity: float = 0.0
    adhesion_ratio: float = 0.0
    am_rolling: float = 0.0
    bridge_stiffness_ratio: float = 0.0
    bridge_relaxation_ref_us: float = 5.0
    bridge_equilibrium_fraction: float = 0.0
    am_plasticity: float = 0.0
    am_yield_gpa: float = 0.0
    am_strength_mpa: float = 0.0
    am_weibull_modulus: float = DEFAULT_WEIBULL_MODULUS
    am_crushing_stress: str = "contact"
    am_crushed_yield_gpa: float = DEFAULT_CRUSHED_YIELD_GPA
    am_crushed_flattening: float = 0.0
    am_film_depth: float = 0.0
    am_bare_friction: float = 0.0

    def __post_init__(self) -> None:
        _check_range("BinderContact.bridge_relaxation_ref_us", self.bridge_relaxation_ref_us,
                     0.0, 1e4, lo_open=True)
        # the specs check their own ranges
        Hysteretic(self.plasticity, self.adhesion_ratio)
        RollingEPSD2(self.am_rolling)
        _check_range("BinderContact.am_plasticity", self.am_plasticity, 0.0, MAX_PLASTICITY)
        if self.am_yield_gpa != 0.0:
            _check_range("BinderContact.am_yield_gpa", self.am_yield_gpa, MIN_YIELD_GPA,
                         MAX_YIELD_GPA)
            if self.am_plasticity > 0:
                raise ValueError("BinderContact: am_yield_gpa and am_plasticity are two normal "
                                 "laws for the AM–AM contacts; set one of them (the other 0)")
        BinderBridge(self.bridge_stiffness_ratio, self.bridge_relaxation_ref_us,
                     self.bridge_equilibrium_fraction)
        if self.am_strength_mpa != 0.0:
            _check_range("BinderContact.am_strength_mpa", self.am_strength_mpa,
                         MIN_STRENGTH_MPA, MAX_STRENGTH_MPA)
        _check_range("BinderContact.am_weibull_modulus", self.am_weibull_modulus, 1.0, 50.0)
        if self.am_crushing_stress not in CRUSHING_STRESS_NAMES:
            raise ValueError(f"BinderContact.am_crushing_stress must be one of "
                             f"{', '.join(CRUSHING_STRESS_NAMES)}, got "
                             f"{self.am_crushing_stress!r}")
        _check_range("BinderContact.am_crushed_yield_gpa", self.am_crushed_yield_gpa,
                     MIN_YIELD_GPA, MAX_YIELD_GPA)
        _check_range("BinderContact.am_crushed_flattening", self.am_crushed_flattening, 0.0,
                     MAX_FLATTENING_LIMIT)
        _check_range("BinderContact.am_film_depth", self.am_film_depth, 0.0, MAX_FILM_DEPTH)
        _check_range("BinderContact.am_bare_friction", self.am_bare_friction, 0.0, MAX_FRICTION)

    @property
    def crushing(self) -> bool:
        """Whether AM particles can be crushed (``am_strength_mpa`` > 0)."""
        return self.am_strength_mpa > 0.0

    def pair_models(self, bridge_relaxation_us: float,
                    plane_names: tuple[str, ...] = (),
                    bridge_equilibrium_scale: float = 1.0) -> dict:
        """``with_models`` mapping for the engine types AM, CBD (empty for the Table 2 law),
        and with crushing the crushed AM type's pairs with AM, CBD, itself and the planes
        ``plane_names``; the bridge's equilibrium arm × ``bridge_equilibrium_scale``
        (:meth:`BinderRheology.equilibrium_scale`)."""
        binder: list = []
        if self.plasticity > 0 or self.adhesion_ratio > 0:
            binder.append(Hysteretic(self.plasticity, self.adhesion_ratio))
        if self.bridge_stiffness_ratio > 0:
            binder.append(BinderBridge(self.bridge_stiffness_ratio, bridge_relaxation_us,
                                       self.bridge_equilibrium_fraction,
                                       bridge_equilibrium_scale))
        models = {}
        if binder:
            models[("CBD", "CBD")] = binder
            models[("AM", "CBD")] = binder
        am: list = []
        if self.am_plasticity > 0:
            am.append(Hysteretic(self.am_plasticity))
        if self.am_yield_gpa > 0:
            am.append(ThorntonNing(self.am_yield_gpa))
        if self.am_rolling > 0:
            am.append(RollingEPSD2(self.am_rolling))
        film = ([CoatedFriction(self.am_bare_friction, self.am_film_depth)]
                if self.am_film_depth > 0 else [])
        am += film
        if am:
            models[("AM", "AM")] = am
        if self.crushing:
            crushed = [ThorntonNing(self.am_crushed_yield_gpa, self.am_crushed_flattening)]
            rolling = [RollingEPSD2(self.am_rolling)] if self.am_rolling > 0 else []
            models[(AM_CRUSHED, "AM")] = crushed + rolling + film
            models[(AM_CRUSHED, AM_CRUSHED)] = crushed + rolling + film
            if binder:
                models[(AM_CRUSHED, "CBD")] = binder
            for plane in plane_names:
                models[(AM_CRUSHED, plane)] = crushed
        return models


def scaled_contact_table(table: ContactTable, factor: float) -> ContactTable:
    """The law with every modulus and cohesion energy density × ``factor`` (> 0): stiffnesses
    KN, KT and CED scale by it, the restitution dampings (∝ sqrt(E)) by its square root, so
    restitution, friction and the zero-load overlap ratio are unchanged."""
    p = table.params.copy()
    p[:, :, [KN, KT, CED]] *= factor
    p[:, :, [GN_A, GT_A, GN_B, GT_B]] *= math.sqrt(factor)
    return ContactTable(table.names, p)


def _check_yield_above_cohesion(table: ContactTable) -> None:
    """A Thornton–Ning pair with SJKR cohesion needs p_y > 2 CED: past its yield overlap the
    contact carries π p_y R* δ against a cohesion CED π a² ≈ 2π CED R* δ, so at p_y <= 2 CED
    the cohesion alone flattens the contact without bound."""
    p = table.params
    tn = p[:, :, NORMAL_MODEL] == NORMAL_THORNTON_NING
    bad = tn & (p[:, :, YIELD_PRESSURE] <= 2.0 * p[:, :, CED])
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"ProcessConditions: the {table.names[i]}–{table.names[j]} contacts' Thornton–Ning "
            f"yield pressure {p[i, j, YIELD_PRESSURE] / 1e6:.3g} GPa is at most twice their "
            f"cohesion energy density ({p[i, j, CED] / 1e6:.3g} GPa), so the cohesion alone "
            "would flatten them without bound: raise BinderContact.am_yield_gpa / "
            f"am_crushed_yield_gpa above {2 * p[i, j, CED] / 1e6:.3g} GPa")


def cohesive_overlap_ratio(table: ContactTable) -> np.ndarray:
    """Zero-load equilibrium overlap of a Hertz + SJKR contact per type pair, δ_eq/R* [-]:
    (4/3) E* √R* δ^1.5 = CED · 2π R* δ  ⇒  δ_eq/R* = (2π CED / KN)²."""
    p = table.params
    return (2.0 * math.pi * p[:, :, CED] / p[:, :, KN]) ** 2


@dataclass(frozen=True)
class ProcessConditions:
    """Calender settings in engineering units.

    Attributes:
        temperature_c: roll temperature [°C], inside the binder law's range.
        line_speed_m_min: line speed [m/min], in [0.01, 200].
        roll_diameter_m: roll diameter [m], in [0.02, 3] (paper: 0.25 m).
        binder: the CBD temperature/rate law.
        am_young_modulus_gpa: Young's modulus of the active material [GPa], in [1, 1000]
            (Table 2 NMC: 200).
        am_friction, cbd_friction: Coulomb friction coefficients of the AM and the CBD [-],
            in [0, 2]; pairs mix geometrically (Table 2: 0.001 both, the paper's fit; rough
            NMC secondary particles and PVDF-bound carbon are nearer 0.1-0.5).
        binder_contact: plasticity, adhesion, bridge and rolling resistance beyond Table 2.
        loading_time_s: duration of the compression the binder sees [s], in [1e-3, 1e5];
            None (default): the roll's nip, whose time scale follows the line speed.  A
            bench test sets it (an indentation's loading time): the binder's modulus,
            cohesion and bridge relaxation then follow De/De_ref = a_T t_nip,ref / t_load
            (:meth:`BinderRheology.rate_ratio`), and the simulated compression stands for
            the test's loading as it stands for the nip.
        am_base, cbd_base: the AM and CBD materials whose density, Poisson ratio,
            restitution and cohesion the contact law uses (Table 2's NMC and CBD; a material
            set's, :meth:`physics.material_sets.MaterialSet.calender_conditions`).
    """

    temperature_c: float = 60.0
    line_speed_m_min: float = 0.54
    roll_diameter_m: float = 0.25
    binder: BinderRheology = field(default_factory=BinderRheology)
    am_young_modulus_gpa: float = NMC.young_modulus_pa / 1e9
    am_friction: float = NMC.friction
    cbd_friction: float = CBD.friction
    binder_contact: BinderContact = field(default_factory=BinderContact)
    loading_time_s: float | None = None
    am_base: Material = NMC
    cbd_base: Material = CBD

    def __post_init__(self) -> None:
        self.binder.check_temperature(self.temperature_c)
        if self.loading_time_s is not None:
            _check_range("loading_time_s", self.loading_time_s, 1e-3, 1e5)
        _check_range("am_friction", self.am_friction, 0.0, 2.0)
        _check_range("cbd_friction", self.cbd_friction, 0.0, 2.0)
        _check_range("line_speed_m_min", self.line_speed_m_min, 0.01, 200.0)
        _check_range("roll_diameter_m", self.roll_diameter_m, 0.02, 3.0)
        _check_range("am_young_modulus_gpa", self.am_young_modulus_gpa, 1.0, 1000.0)
        table = self.contact_table()
        _check_yield_above_cohesion(table)
        ratio = cohesive_overlap_ratio(table)
        if ratio.max() > MAX_COHESIVE_OVERLAP_RATIO:
            i, j = np.unravel_index(int(ratio.argmax()), ratio.shape)
            cbd = self.cbd_material()
            raise ValueError(
                f"ProcessConditions: the binder (reference_modulus_gpa "
                f"{self.binder.reference_modulus_gpa:g}, reference_cohesion_gpa "
                f"{self.binder.reference_cohesion_gpa:g}; at {self.temperature_c:g} °C and "
                f"{self.line_speed_m_min:g} m/min E_CBD = {cbd.young_modulus_pa / 1e9:.3g} GPa, "
                f"CED_CBD = {cbd.cohesion_energy_density_pa / 1e9:.3g} GPa) gives a zero-load "
                f"cohesive overlap δ/R* = {ratio[i, j]:.3g} for {table.names[i]}–"
                f"{table.names[j]} contacts; the Hertz–SJKR law needs <= "
                f"{MAX_COHESIVE_OVERLAP_RATIO:g}: lower the cohesion or raise the modulus")

    def am_material(self) -> Material:
        """The AM with this Young's modulus and friction; density, Poisson ratio, restitution
        and cohesion are ``am_base``'s (Table 2's NMC, or a material set's AM)."""
        return replace(self.am_base, young_modulus_pa=self.am_young_modulus_gpa * 1e9,
                       friction=self.am_friction)

    def cbd_material(self) -> Material:
        """The CBD material at these conditions: ``cbd_base`` (Table 2's CBD, or a material
        set's) with the binder's reference modulus and cohesion shifted by temperature and
        rate."""
        b = self.binder
        return replace(self.cbd_base, friction=self.cbd_friction,
                       young_modulus_pa=b.reference_modulus_gpa * 1e9 * b.modulus_factor(
            self.temperature_c, self.line_speed_m_min, self.loading_time_s),
            cohesion_energy_density_pa=b.reference_cohesion_gpa * 1e9 * b.cohesion_factor(
                self.temperature_c, self.line_speed_m_min, self.loading_time_s))

    def bridge_relaxation_us(self) -> float:
        """Engine relaxation time of the binder bridge at this roll or test [µs]
        (BinderContact): bridge_relaxation_ref_us × De/De_ref."""
        return self.binder_contact.bridge_relaxation_ref_us * self.binder.rate_ratio(
            self.temperature_c, self.line_speed_m_min, self.loading_time_s)

    def bridge_equilibrium_scale(self) -> float:
        """Factor on the bridge's equilibrium arm at this roll or test [-]
        (:meth:`BinderRheology.equilibrium_scale`; 1 at the reference roll)."""
        return self.binder.equilibrium_scale(self.temperature_c, self.line_speed_m_min,
                                             self.loading_time_s)

    def contact_table(self, top_plane: Material = STEEL) -> ContactTable:
        """Table 2 law with the CBD at these conditions and the binder contact models:
        types AM, CBD, Al (the floor) and the top plane (the roll's steel, or an indenter's
        material), and with crushing (``BinderContact.am_strength_mpa``) the crushed AM
        (``AM_CRUSHED_TYPE``): the AM's material with ``am_crushed_yield_gpa`` on its
        contacts with AM particles and the planes, the binder law on those with the CBD."""
        materials = [self.am_material(), self.cbd_material(), ALUMINIUM, top_plane]
        if self.binder_contact.crushing:  # engine type 4: a crushed AM particle
            materials.append(replace(self.am_material(), name=AM_CRUSHED))
        table = liggghts_table(materials)
        return with_models(table, self.binder_contact.pair_models(
            self.bridge_relaxation_us(), (ALUMINIUM.name, top_plane.name),
            self.bridge_equilibrium_scale()))

    def nip_contact_time_s(self, reduction_um: float) -> float:
        """t_nip = sqrt(R_roll Δh) / v_line [s] for a thickness reduction Δh [µm]."""
        length_m = math.sqrt(0.5 * self.roll_diameter_m * max(reduction_um, 0.0) * 1e-6)
        return length_m / (self.line_speed_m_min / 60.0)

    def deborah_number(self, reduction_um: float) -> float:
        """De = τ(T)/t_nip [-] (inf for a zero reduction); τ(T)/loading_time_s when the
        loading time is set."""
        t = self.loading_time_s or self.nip_contact_time_s(reduction_um)
        return self.binder.relaxation_time_s(self.temperature_c) / t if t > 0 else math.inf
