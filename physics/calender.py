"""DEM calendering, spring-back and micro-indentation of a dried electrode.

Source: Ngandjong et al., J. Power Sources 485 (2021) 229320, §2, §6.2, Table 2, Fig. 2.

Set-up (as the paper's LIGGGHTS runs): the dried structure (``ParticleState`` from the drying
stage, AM diameters with the 2 % contact expansion, real masses) is periodic in x and y and
held between an aluminium plane (current collector, at the film floor) and a steel plane (the
calender roll) placed ``gap_um`` above the highest particle.  The contact law is LIGGGHTS
``hertz tangential history cohesion sjkr`` with Table 2 materials (engine types 0 AM, 1 CBD,
2 Al, 3 steel).  The dried CGMD force field held CBD overlaps that Hertz + SJKR do not
balance, so the structure first relaxes under a zero-temperature Langevin drag
(``relax_steps``); the film swells by a few percent there, and that relaxed film is the
uncalendered reference.

Compression and release (paper §2): the steel plane moves down until the plane pressure
(plane force / box area) reaches the target, then moves up.  Between the two the roll dwells
holding the target pressure (the plane position follows the pressure error at up to the
lowest plane speed): at a finite plane speed the film still moves with the roll at the
turning point and its dashpot forces add to the plane force, so without the dwell a reversing
roll leaves a film that is still compressed (measured: σ_zz = -1.5 MPa at the zero-force
reading after 2 MPa), and the compaction reached depends on the speed.  At low pressure the
film also keeps creeping under the held pressure: at 5 MPa (``fast``) it yields and
compacts by another 0.5 porosity point over 4-7 µs, faster than the roll can follow, before
its force network re-jams.  A fixed dwell cut that creep off at a point that depends on the
plane speed, so the dwell lasts at least ``turn_hold_us`` and ends when the film has stopped
creeping: the mean porosity of the last ``creep_window_us`` differs from that of the window
before by less than ``creep_tol_per_us`` × window (at most ``max_hold_us``; ``dwell_us`` and
``creep_arrested`` are reported per pressure).  The dwell is the quasi-static limit of the
paper's 0.002 m/s reversal, 100× slower than that creep; the thickness and stress "at maximum
compression" are read at its end.  Porosity and thickness after
recovery are read when the plane force first returns to zero during release (*primary*).
The paper's own reading, the highest plane position that still has a contact, is reported as
well (``*_last_contact``); with the cohesive steel plane (CED 0.6 GPa) particles stick to it
and that reading measures the plane pulling the film, not the spring-back.  Porosity is
1 - Σ(m/ρ)/(A h) with real, unexpanded particle volumes (the paper's PorosityPlus reading);
h is the plane gap.  Spring-back [%] = (h_recovered - h_min)/h_min × 100.

The paper's own protocol is an option (``CalenderProtocol.press = 'paper'``, ``etwin calender
--protocol paper``): constant plane speed down to the target and straight back up, no dwell;
its turning-point pressure still carries the film's dashpot forces and the film has not
finished creeping, so at low pressure it reports less compaction for the same pressure.

Several pressures share one loading path: the state is checkpointed when the plane pressure
first reaches each target and each checkpoint is released on its own.  The plane-speed law
does not depend on the target, so every branch is exactly the run the paper does from the
pristine film for that pressure.

Time scaling.  The paper's 0.1 ns step and 0.002 m/s plane need ~1e8 steps per pressure.  Here
the plane speed follows the inertial number I = γ̇ d sqrt(ρ/P) (GDR MiDi, Eur. Phys. J. E 14
(2004) 341), γ̇ = v/h, d the mean AM diameter, ρ the AM density, P the plane pressure:
v = clip(I_target h sqrt(P/ρ) / d, v_min, v_max).  At I <~ 1e-3 a granular packing responds
quasi-statically; at low pressure the floor speed v_min takes over.  The real material
densities and the Table 2 law are kept (no density scaling: it would lower the admissible
speed by the same factor that it raises the step).  The inertial number is reported with
every run and a test shows that halving every speed changes the final porosity by less than
0.5 percentage points at 120 MPa (0.35 at ``fast`` size).  Ensembles of single runs, which
scatter by ~±0.3 points at ``fast`` size, bound the effect at lower pressure: at 20 MPa (fixed
1 µs dwell) 0.00 ± 0.18 points for one halving, at 5 MPa -0.03 ± 0.10 points per halving
over 0.2, 0.1 and 0.05 m/s (22 runs, README).  Below ~1.2 MPa the floor speed sets the
plane speed (I = 1.3-1.8e-3 at 0.3-0.6 MPa); ensembles of 6-10 runs per speed give +0.27,
+0.25, +0.25 and -0.07 points per halving at 0.3, 0.6, 1 and 2 MPa (s.e. 0.14-0.19, so the
95 % upper bound reaches 0.54-0.67 below 2 MPa; README): slower is slightly more porous there.
Such points carry ``floor_speed_at_target``.  The time step is 0.2 × the smallest
Rayleigh time (LIGGGHTS' ``check/timestep/gran`` bound).

Process inputs beyond pressure (:class:`BinderRheology`): the CBD is a PVDF-bound carbon
domain whose modulus is rate and temperature dependent.  Its relaxation time follows an
Arrhenius shift τ(T) = τ_ref exp[E_a/R (1/T - 1/T_ref)] (the α_c relaxation of semicrystalline
PVDF, between its glass transition near -40 °C and its melting near 165 °C), and its modulus
at the nip a power law of the Deborah number De = τ(T)/t_nip (the power-law relaxation modulus
of a viscoelastic solid, E(t) ∝ t^-n): E_CBD = E_ref (De/De_ref)^n.  The nip contact time is
t_nip = sqrt(R_roll Δh)/v_line (contact arc of a roll of radius R_roll reducing the film by
Δh).  For the same roll and reduction, De/De_ref = a_T v/v_ref, so the roll geometry only
enters the reported De.  The reference state is the paper's calendering (60 °C, 0.54 m/min,
25 cm rolls), where Table 2 (E_CBD = 2 GPa, CED_CBD = 0.07 GPa) was fitted.  Cohesion follows
the JKR scaling of the mean adhesive stress at constant work of adhesion, σ_adh ∝ E^(2/3)
(Johnson, Contact Mechanics, §5.5), so CED_CBD = CED_ref (E/E_ref)^(2/3): a hotter or slower
nip makes the binder softer and relatively stickier.  Default parameters: E_a = 85 kJ/mol,
n = 0.1 (together they give the ~2× drop of the PVDF storage modulus between 25 and 100 °C
seen in DMA), τ_ref = 0.16 s (an α_c loss peak near 1 Hz at 60 °C).  They are assumptions of
this model, not fitted to the paper; the class documents and validates them.  With the Table
2 law alone the binder stays elastic-adhesive: no viscous flow of a hot binder, so a hotter
roll leaves a film formed at ~1 MPa more porous (+1.3 points from 20 to 140 °C, `fast`,
README) and none above ~5 MPa, where heated-calendering experiments densify.

Binder contact physics beyond Table 2 (:class:`BinderContact`, registry
``physics.engine.contacts``): binder contacts (CBD–CBD, AM–CBD) can load elasto-plastically
with adhesion that grows with the plastic flattening (hysteretic law) and carry a viscoelastic
bridge arm whose relaxation time follows the roll (τ ∝ a_T v: the Deborah number of the nip,
mapped onto the simulated compression), and AM–AM contacts can resist rolling (EPSD2).  The
time step shrinks by the square root of the stiffest unloading branch.  All off is the Table 2
law (the ``paper`` preset).

Validity of the cohesive contact law.  Under no load a Hertz + SJKR contact settles where the
elastic force (4/3) E* √R* δ^1.5 balances the cohesion CED π a² ≈ 2π CED R* δ, i.e. at
δ_eq/R* = (2π CED / KN)² with KN = 4/3 E* (:func:`cohesive_overlap_ratio`).  Table 2 gives
0.13 (AM–CBD) at the reference state and at most 0.45 anywhere in 20–150 °C and 0.1–50 m/min,
for NMC and for a 15 GPa anode material.  A soft, sticky binder (e.g. E_CBD = 0.2 GPa with
CED_CBD = 0.055 GPa: 9.0) makes particles sink into each other by more than their radius: the
small-overlap law no longer describes the contact and the run crawls through a collapsing,
vibrating film.  :class:`ProcessConditions` refuses settings above
``MAX_COHESIVE_OVERLAP_RATIO`` = 0.5.

Units: µm, pg, µs inside (1 µm/µs = 1 m/s; force nN; pressure kPa), MPa, °C, m/min at the
public interface.
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from physics.engine import (
    Langevin,
    Simulation,
    Wall,
    liggghts_table,
    rayleigh_time_us,
    with_models,
)
from physics.engine._contact_kernels import CED, GN_A, GN_B, GT_A, GT_B, KN, KT
from physics.engine.contact import ContactTable
from physics.engine.contacts import BinderBridge, Hysteretic, RollingEPSD2
from physics.materials import ALUMINIUM, CBD, NMC, STEEL, Material, _check_range
from physics.state import AM_SPECIES, ParticleState
from physics.structure import (
    RadialDistribution,
    StructureMetrics,
    am_cbd_shell_count,
    film_bounds_um,
    radial_distribution,
    structure_metrics,
)

R_GAS_J_MOL_K = 8.314462618
KELVIN_OFFSET = 273.15
KPA_PER_MPA = 1.0e3
AM_TYPE, CBD_TYPE, AL_TYPE, STEEL_TYPE = 0, 1, 2, 3
DWELL_AVERAGE_BLOCKS = 5  # the stress at maximum compression averages the last dwell blocks
DWELL_MIN_GAIN = 1e-3  # floor of the dwell servo's gain (_Press.dwell_block)
MAX_PRESSURE_MPA = 500.0  # above any electrode calendering (line loads -> < ~300 MPa)
#: press protocols: 'quasi-static' (inertial-number speed law, dwell until the creep arrests)
#: and 'paper' (constant plane speed, straight back up at the target, Ngandjong et al. §2)
PRESS_PROTOCOLS = ("quasi-static", "paper")


# ---------------------------------------------------------------------------- binder law
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

    def __post_init__(self) -> None:
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

    def modulus_factor(self, temperature_c: float, line_speed_m_min: float) -> float:
        """E_CBD / E_ref = (a_T v / v_ref)^n [-]."""
        ratio = self.shift_factor(temperature_c) * line_speed_m_min / \
            self.reference_line_speed_m_min
        return ratio ** self.rate_exponent

    def cohesion_factor(self, temperature_c: float, line_speed_m_min: float) -> float:
        """CED_CBD / CED_ref = (E/E_ref)^m [-]."""
        return self.modulus_factor(temperature_c, line_speed_m_min) ** self.cohesion_exponent


MAX_COHESIVE_OVERLAP_RATIO = 0.5  # largest zero-load δ_eq/R* accepted (module docstring)


@dataclass(frozen=True)
class BinderContact:
    """Contact physics beyond Table 2, from the registry of ``physics.engine.contacts``.

    Binder contacts (CBD–CBD and AM–CBD) get the hysteretic elasto-plastic adhesive normal
    law and a viscoelastic binder-bridge arm; AM–AM contacts get EPSD2 rolling resistance
    (rough secondary particles).  Contacts with the planes keep the Table 2 law.  All zero
    (the default) is the Table 2 law, the ``paper`` preset.

    The bridge's relaxation time in the engine is τ = ``bridge_relaxation_ref_us`` × a_T ×
    v/v_ref: the Deborah number τ(T)/t_nip of the roll, with the nip contact time t_nip ∝
    1/v, mapped onto the simulated compression (``binder_bridge`` module docstring), so roll
    temperature (Arrhenius a_T of ``BinderRheology``) and line speed act through time.

    Attributes:
        plasticity: λ_p of the binder contacts [-], in [0, 0.95].
        adhesion_ratio: K_c/KN of the binder contacts [-], in [0, 10].
        am_rolling: EPSD2 μ_r of AM–AM contacts [-], in [0, 1].
        bridge_stiffness_ratio: bridge arm stiffness / KN of the binder contacts [-], [0, 20].
        bridge_relaxation_ref_us: bridge τ at the binder's reference temperature and line
            speed [µs], in (0, 1e4].
    """

    plasticity: float = 0.0
    adhesion_ratio: float = 0.0
    am_rolling: float = 0.0
    bridge_stiffness_ratio: float = 0.0
    bridge_relaxation_ref_us: float = 5.0

    def __post_init__(self) -> None:
        _check_range("BinderContact.bridge_relaxation_ref_us", self.bridge_relaxation_ref_us,
                     0.0, 1e4, lo_open=True)
        # the specs check their own ranges
        Hysteretic(self.plasticity, self.adhesion_ratio)
        RollingEPSD2(self.am_rolling)
        BinderBridge(self.bridge_stiffness_ratio, self.bridge_relaxation_ref_us)

    def pair_models(self, bridge_relaxation_us: float) -> dict:
        """``with_models`` mapping for the engine types AM, CBD (empty for the Table 2 law)."""
        binder: list = []
        if self.plasticity > 0 or self.adhesion_ratio > 0:
            binder.append(Hysteretic(self.plasticity, self.adhesion_ratio))
        if self.bridge_stiffness_ratio > 0:
            binder.append(BinderBridge(self.bridge_stiffness_ratio, bridge_relaxation_us))
        models = {}
        if binder:
            models[("CBD", "CBD")] = binder
            models[("AM", "CBD")] = binder
        if self.am_rolling > 0:
            models[("AM", "AM")] = [RollingEPSD2(self.am_rolling)]
        return models


def scaled_contact_table(table: ContactTable, factor: float) -> ContactTable:
    """The law with every modulus and cohesion energy density × ``factor`` (> 0): stiffnesses
    KN, KT and CED scale by it, the restitution dampings (∝ sqrt(E)) by its square root, so
    restitution, friction and the zero-load overlap ratio are unchanged."""
    p = table.params.copy()
    p[:, :, [KN, KT, CED]] *= factor
    p[:, :, [GN_A, GT_A, GN_B, GT_B]] *= math.sqrt(factor)
    return ContactTable(table.names, p)


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
    """

    temperature_c: float = 60.0
    line_speed_m_min: float = 0.54
    roll_diameter_m: float = 0.25
    binder: BinderRheology = field(default_factory=BinderRheology)
    am_young_modulus_gpa: float = NMC.young_modulus_pa / 1e9
    am_friction: float = NMC.friction
    cbd_friction: float = CBD.friction
    binder_contact: BinderContact = field(default_factory=BinderContact)

    def __post_init__(self) -> None:
        self.binder.check_temperature(self.temperature_c)
        _check_range("am_friction", self.am_friction, 0.0, 2.0)
        _check_range("cbd_friction", self.cbd_friction, 0.0, 2.0)
        _check_range("line_speed_m_min", self.line_speed_m_min, 0.01, 200.0)
        _check_range("roll_diameter_m", self.roll_diameter_m, 0.02, 3.0)
        _check_range("am_young_modulus_gpa", self.am_young_modulus_gpa, 1.0, 1000.0)
        table = self.contact_table()
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
        """The AM with this Young's modulus and friction (Table 2's NMC otherwise; a
        graphite-like anode material is ~15 GPa).  Density, restitution and cohesion stay
        Table 2's."""
        return replace(NMC, young_modulus_pa=self.am_young_modulus_gpa * 1e9,
                       friction=self.am_friction)

    def cbd_material(self, base: Material = CBD) -> Material:
        """The CBD material at these conditions (the binder's reference modulus and cohesion,
        Table 2 by default, shifted by temperature and rate)."""
        b = self.binder
        return replace(base, friction=self.cbd_friction,
                       young_modulus_pa=b.reference_modulus_gpa * 1e9 * b.modulus_factor(
            self.temperature_c, self.line_speed_m_min),
            cohesion_energy_density_pa=b.reference_cohesion_gpa * 1e9 * b.cohesion_factor(
                self.temperature_c, self.line_speed_m_min))

    def bridge_relaxation_us(self) -> float:
        """Engine relaxation time of the binder bridge at this roll [µs] (BinderContact)."""
        b = self.binder
        return (self.binder_contact.bridge_relaxation_ref_us
                * b.shift_factor(self.temperature_c)
                * self.line_speed_m_min / b.reference_line_speed_m_min)

    def contact_table(self) -> ContactTable:
        """Table 2 law with the CBD at these conditions and the binder contact models:
        types AM, CBD, Al, steel."""
        table = liggghts_table([self.am_material(), self.cbd_material(), ALUMINIUM, STEEL])
        return with_models(table, self.binder_contact.pair_models(self.bridge_relaxation_us()))

    def nip_contact_time_s(self, reduction_um: float) -> float:
        """t_nip = sqrt(R_roll Δh) / v_line [s] for a thickness reduction Δh [µm]."""
        length_m = math.sqrt(0.5 * self.roll_diameter_m * max(reduction_um, 0.0) * 1e-6)
        return length_m / (self.line_speed_m_min / 60.0)

    def deborah_number(self, reduction_um: float) -> float:
        """De = τ(T)/t_nip [-] (inf for a zero reduction)."""
        t = self.nip_contact_time_s(reduction_um)
        return self.binder.relaxation_time_s(self.temperature_c) / t if t > 0 else math.inf


# ---------------------------------------------------------------------------- protocol
@dataclass(frozen=True)
class CalenderProtocol:
    """Numerical settings of the DEM press (module docstring).

    Attributes:
        inertial_number: target I of the plane-speed law, in (0, 0.1].
        min_plane_speed_m_s, max_plane_speed_m_s: plane speed bounds [m/s].
        dt_rayleigh_fraction: dt / smallest Rayleigh time, in (0, 0.3].
        gap_um: initial plane gap above the highest particle [µm].
        relax_steps: steps of the drag relaxation after the force-field switch.
        relax_damping_per_us: drag rate of that relaxation [1/µs].
        relax_ramp_from: stiffness factor f at the start of that relaxation, in (0, 1]: the
            moduli and cohesion energy densities of every material start at f × their value
            and rise geometrically to 1 over ``relax_ramp_stages`` equal parts of the
            relaxation (1: the full law at once).  Scaling E and CED together keeps each
            contact's zero-load overlap ratio (2π CED / KN)², so the CGMD overlaps unload
            quasi-statically to the DEM's zero-load overlap instead of springing apart
            (module docstring, "Start").
        relax_ramp_stages: number of ramp stages, >= 1.
        control_every: steps per plane-speed update and trace row.
        max_lift_fraction: after the zero-force reading, lift on (at the maximum speed) by at
            most this fraction of the thickness to find the last plane contact [-].
        max_steps: step budget of one loading path or one release.
        turn_hold_us: shortest dwell of the roll at maximum compression before it lifts [µs]:
            the film still moves with the descending roll at the turning point, and without a
            dwell that momentum separates it from a reversing roll while it is still
            compressed.
        max_hold_us: longest dwell [µs]; the dwell ends earlier once the film has stopped
            creeping under the held pressure (module docstring).
        creep_window_us: length of the two consecutive windows whose mean porosities are
            compared for the creep rate [µs].
        creep_tol_per_us: the film counts as arrested when its porosity changes by less than
            this between the two windows, per µs [1/µs].
        press: 'quasi-static' (the above) or 'paper': the plane moves down at the constant
            ``paper_plane_speed_m_s`` until the plane pressure reaches the target and then
            straight back up at the same speed, no dwell (Ngandjong et al. 2021 §2); the
            pressure reported is the one at the end of the compression, the porosity the one
            after recovery (zero plane force), as in both protocols.
        paper_plane_speed_m_s: plane speed of the 'paper' protocol [m/s], in (0, 20] (the
            paper: 0.002 m/s, and 2e-4-2e-3 m/s gave the same structure; the default is the
            quasi-static protocol's floor speed, 100× faster, for cost).
    """

    inertial_number: float = 1e-3
    min_plane_speed_m_s: float = 0.2
    max_plane_speed_m_s: float = 2.0
    dt_rayleigh_fraction: float = 0.2
    gap_um: float = 0.5
    relax_steps: int = 10_000
    relax_damping_per_us: float = 5.0
    relax_ramp_from: float = 1.0
    relax_ramp_stages: int = 20
    control_every: int = 100
    max_lift_fraction: float = 0.02
    turn_hold_us: float = 1.0
    max_hold_us: float = 20.0
    creep_window_us: float = 0.5
    creep_tol_per_us: float = 1e-4
    max_steps: int = 5_000_000
    press: str = "quasi-static"
    paper_plane_speed_m_s: float = 0.2

    def __post_init__(self) -> None:
        if self.press not in PRESS_PROTOCOLS:
            raise ValueError(f"CalenderProtocol.press = {self.press!r}; allowed: "
                             f"{', '.join(PRESS_PROTOCOLS)}")
        _check_range("CalenderProtocol.paper_plane_speed_m_s", self.paper_plane_speed_m_s,
                     0.0, 20.0, lo_open=True)
        _check_range("CalenderProtocol.inertial_number", self.inertial_number, 0.0, 0.1,
                     lo_open=True)
        _check_range("CalenderProtocol.min_plane_speed_m_s", self.min_plane_speed_m_s, 0.0,
                     self.max_plane_speed_m_s, lo_open=True)
        _check_range("CalenderProtocol.max_plane_speed_m_s", self.max_plane_speed_m_s, 0.0,
                     20.0, lo_open=True)
        _check_range("CalenderProtocol.dt_rayleigh_fraction", self.dt_rayleigh_fraction, 0.0,
                     0.3, lo_open=True)
        _check_range("CalenderProtocol.gap_um", self.gap_um, 0.0, 100.0)
        _check_range("CalenderProtocol.relax_ramp_from", self.relax_ramp_from, 0.0, 1.0,
                     lo_open=True)
        for name in ("relax_steps", "control_every", "max_steps", "relax_ramp_stages"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"CalenderProtocol.{name} must be >= 1")
        _check_range("CalenderProtocol.max_lift_fraction", self.max_lift_fraction, 0.0, 1.0)
        _check_range("CalenderProtocol.turn_hold_us", self.turn_hold_us, 0.0, 100.0)
        _check_range("CalenderProtocol.max_hold_us", self.max_hold_us, self.turn_hold_us,
                     1000.0)
        _check_range("CalenderProtocol.creep_window_us", self.creep_window_us, 0.0, 100.0,
                     lo_open=True)
        _check_range("CalenderProtocol.creep_tol_per_us", self.creep_tol_per_us, 0.0, 1.0,
                     lo_open=True)

    def slower(self, factor: float) -> CalenderProtocol:
        """The same protocol with every plane speed divided by ``factor``."""
        return replace(self, inertial_number=self.inertial_number / factor,
                       min_plane_speed_m_s=self.min_plane_speed_m_s / factor,
                       max_plane_speed_m_s=self.max_plane_speed_m_s / factor,
                       paper_plane_speed_m_s=self.paper_plane_speed_m_s / factor)


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PressPoint:
    """One calendering pressure: compression to the target, then release (module docstring).

    Stress tensors are Cauchy stresses of the film [MPa], tension positive, row-major 3×3;
    ``pressure_max_mpa`` is the plane pressure at the turning point, ``pressure_dwell_mpa`` the
    mean plane pressure over the end of the dwell, where the stress and the thickness at
    maximum compression are read; ``dwell_us`` is its length and ``creep_arrested`` whether
    the film stopped creeping within ``max_hold_us``.  ``am_contact_stress_mpa`` holds, per AM
    particle, the Hiramatsu–Oka stress of its largest contact force at the end of the dwell
    (:func:`am_contact_stress_mpa`), the particle-fracture reading.  ``floor_speed_at_target``
    is True when the roll reached the target at the floor speed ``min_plane_speed_m_s``
    because the inertial-number law asked for less: the film then compacted at I above the
    target (``inertial_number`` is the value at the turn), and its porosity depends on the
    floor speed (module docstring, "Time scaling").
    """

    pressure_target_mpa: float
    pressure_max_mpa: float
    pressure_dwell_mpa: float
    thickness_min_um: float
    porosity_min: float
    thickness_um: float
    porosity: float
    springback_percent: float
    thickness_last_contact_um: float
    porosity_last_contact: float
    last_contact_capped: bool
    inertial_number: float
    nip_contact_time_s: float
    deborah_number: float
    stress_max_mpa: tuple[float, ...]
    stress_recovered_mpa: tuple[float, ...]
    coordination_max: float
    coordination_recovered: float
    steps_release: int
    dwell_us: float
    creep_arrested: bool
    floor_speed_at_target: bool
    state: ParticleState = field(repr=False)
    am_contact_stress_mpa: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def summary(self) -> dict:
        out = {k: v for k, v in asdict(self).items()
               if k not in ("state", "am_contact_stress_mpa")}
        out["stress_max_mpa"] = list(self.stress_max_mpa)
        out["stress_recovered_mpa"] = list(self.stress_recovered_mpa)
        s = self.am_contact_stress_mpa
        if s.size:
            out.update({"am_stress_p50_mpa": float(np.percentile(s, 50)),
                        "am_stress_p95_mpa": float(np.percentile(s, 95)),
                        "am_stress_max_mpa": float(s.max())})
        return out


@dataclass(frozen=True)
class CompactionFit:
    """ε(p) = ε_min + (ε0 - ε_min) exp(-p/p_c) fitted by least squares (p in MPa)."""

    porosity_min: float
    porosity_zero: float
    pressure_scale_mpa: float
    r_squared: float

    def porosity(self, pressure_mpa):
        p = np.asarray(pressure_mpa, dtype=float)
        return self.porosity_min + (self.porosity_zero - self.porosity_min) * np.exp(
            -p / self.pressure_scale_mpa)


@dataclass(frozen=True)
class CalenderResult:
    """Porosity–pressure curve and everything measured on the way."""

    points: tuple[PressPoint, ...]
    initial: StructureMetrics
    fit: CompactionFit | None
    trace: list[dict] = field(repr=False)
    rdf_before: RadialDistribution = field(repr=False)
    rdf_after: RadialDistribution = field(repr=False)
    am_cbd_shell_before: float = 0.0
    am_cbd_shell_after: float = 0.0
    conditions: ProcessConditions = field(default_factory=ProcessConditions)
    protocol: CalenderProtocol = field(default_factory=CalenderProtocol)
    cbd_young_modulus_gpa: float = 0.0
    cbd_cohesion_gpa: float = 0.0
    dt_us: float = 0.0
    n_particles: int = 0
    steps: int = 0
    wall_s: float = 0.0

    @property
    def particle_steps_per_s(self) -> float:
        return self.n_particles * self.steps / self.wall_s if self.wall_s > 0 else 0.0


# ---------------------------------------------------------------------------- helpers
def check_pressures(pressures_mpa: Sequence[float]) -> tuple[float, ...]:
    """Validated, sorted target pressures [MPa]."""
    values = tuple(float(p) for p in pressures_mpa)
    if not values:
        raise ValueError("pressures_mpa is empty; give at least one pressure in (0, "
                         f"{MAX_PRESSURE_MPA:g}] MPa")
    for p in values:
        _check_range("pressure_mpa", p, 0.0, MAX_PRESSURE_MPA, lo_open=True)
    if len(set(values)) != len(values):
        raise ValueError(f"pressures_mpa {values} has repeated values")
    return tuple(sorted(values))


def check_dried_state(state: ParticleState) -> None:
    """A calenderable structure: AM present, periodic x/y, open z."""
    if not (state.periodic[0] and state.periodic[1]) or state.periodic[2]:
        raise ValueError(f"the structure must be periodic in x and y and not in z "
                         f"(periodic = {state.periodic.tolist()}); open a z-periodic "
                         f"structure with physics.structure.open_periodic_z first")
    if not np.any(state.species == AM_SPECIES):
        raise ValueError("the structure holds no AM particle")
    if not np.all(np.isfinite(state.position_um)):
        raise ValueError("the structure has non-finite positions")


def time_step_us(table_materials: Sequence[Material], state: ParticleState,
                 fraction: float, stiffness_ratio: float = 1.0) -> float:
    """fraction × the smallest Rayleigh time over the particle materials and sizes [µs],
    divided by sqrt(stiffness_ratio) for contacts stiffer than Hertz on unloading
    (``ContactTable.stiffness_ratio``)."""
    am, cbd = table_materials[0], table_materials[1]
    is_am = state.species == AM_SPECIES
    times = [rayleigh_time_us(am, float(state.radius_um[is_am].min()))]
    if (~is_am).any():
        times.append(rayleigh_time_us(cbd, float(state.radius_um[~is_am].min())))
    return fraction * min(times) / math.sqrt(stiffness_ratio)


def mean_am_diameter_um(state: ParticleState) -> float:
    """Number-mean AM diameter, real (unexpanded) [µm]: d = (6 m / (π ρ))^(1/3)."""
    am = state.species == AM_SPECIES
    d = (6.0 * state.mass_pg[am] / (math.pi * state.density_g_cm3[am])) ** (1.0 / 3.0)
    return float(d.mean())


def inertial_number(plane_speed_m_s: float, thickness_um: float, diameter_um: float,
                    density_g_cm3: float, pressure_kpa: float) -> float:
    """I = (v/h) d sqrt(ρ/P) [-] (inf when P <= 0)."""
    if pressure_kpa <= 0:
        return math.inf
    # v/h [1/µs] × d [µm] × sqrt(ρ [pg/µm³] / P [kPa = pg/(µm µs²)]) [µs/µm]
    return abs(plane_speed_m_s) / thickness_um * diameter_um * math.sqrt(
        density_g_cm3 / pressure_kpa)


def plane_speed_m_s(protocol: CalenderProtocol, thickness_um: float, diameter_um: float,
                    density_g_cm3: float, pressure_kpa: float) -> float:
    """v = clip(I_target h sqrt(P/ρ)/d, v_min, v_max) [m/s]."""
    v = protocol.inertial_number * thickness_um * math.sqrt(
        max(pressure_kpa, 0.0) / density_g_cm3) / diameter_um
    return min(max(v, protocol.min_plane_speed_m_s), protocol.max_plane_speed_m_s)


def fit_compaction(pressures_mpa: Sequence[float], porosities: Sequence[float],
                   porosity_zero: float | None = None) -> CompactionFit | None:
    """Least-squares fit of ε(p) = ε_min + (ε0 - ε_min) exp(-p/p_c) [p in MPa].

    The uncalendered porosity enters as the point (0, ε0) when given.  This is the
    Meyer–Kwade density–line-load law (J. Mater. Process. Technol. 249 (2017) 172) written for
    porosity, since density = (1 - ε) ρ_solid.  Returns None for fewer than 4 points: three
    points fit the three parameters exactly, and R² = 1 would say nothing about the law.
    """
    from scipy.optimize import curve_fit

    p = np.asarray(pressures_mpa, dtype=float)
    e = np.asarray(porosities, dtype=float)
    if porosity_zero is not None:
        p = np.concatenate([[0.0], p])
        e = np.concatenate([[porosity_zero], e])
    if p.size < 4:
        return None

    def law(x, e_min, e0, pc):
        return e_min + (e0 - e_min) * np.exp(-x / pc)

    guess = (float(e.min()) - 0.01, float(e.max()), float(np.median(p[p > 0])))
    try:
        (e_min, e0, pc), _ = curve_fit(law, p, e, p0=guess, bounds=(
            (0.0, 0.0, 1e-6), (1.0, 1.0, 1e5)), maxfev=20_000)
    except RuntimeError:
        return None
    resid = e - law(p, e_min, e0, pc)
    ss_tot = float(np.sum((e - e.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return CompactionFit(float(e_min), float(e0), float(pc), r2)


class _Press:
    """The working simulation of one press (film between the Al floor and the steel roll)."""

    def __init__(self, state: ParticleState, conditions: ProcessConditions,
                 protocol: CalenderProtocol, n_threads: int | None = None) -> None:
        check_dried_state(state)
        self.protocol = protocol
        self.conditions = conditions
        self.cbd = conditions.cbd_material()
        table = conditions.contact_table()
        dt = time_step_us([conditions.am_material(), self.cbd], state,
                          protocol.dt_rayleigh_fraction, table.stiffness_ratio())
        floor = film_bounds_um(replace(state, wall_z_um=state.wall_z_um[state.wall_side > 0],
                                       wall_side=state.wall_side[state.wall_side > 0]))[0]
        top = float(np.max(state.position_um[:, 2] + state.radius_um))
        self.base_state = state
        self.area_um2 = float(state.box_len_um[0] * state.box_len_um[1])
        self.solid_um3 = float(state.volume_um3.sum())
        self.last_pressure_kpa = 0.0  # mean plane pressure of the last block (speed law input)
        self.dwell_gain, self.dwell_direction = 1.0, -1  # servo state of the dwell
        self.d_am_um = mean_am_diameter_um(state)
        self.rho_am = float(state.density_g_cm3[state.species == AM_SPECIES].mean())
        hi = state.box_hi_um.copy()
        hi[2] = top + protocol.gap_um + 1.0
        self.sim = Simulation(
            state.position_um, state.radius_um, state.mass_pg, state.species.astype(np.int64),
            table, state.box_lo_um, hi, periodic=(True, True, False), dt_us=dt,
            walls=[Wall(floor, 1, AL_TYPE), Wall(top + protocol.gap_um, -1, STEEL_TYPE)],
            n_threads=n_threads)

    # -- readings
    @property
    def thickness_um(self) -> float:
        return float(self.sim.wall_z[1] - self.sim.wall_z[0])

    def porosity(self, thickness_um: float | None = None) -> float:
        h = self.thickness_um if thickness_um is None else thickness_um
        return 1.0 - self.solid_um3 / (self.area_um2 * h)

    def stress_mpa(self) -> tuple[float, ...]:
        vol = self.area_um2 * self.thickness_um
        return tuple(float(v) for v in (self.sim.cauchy_stress_kpa(vol) / KPA_PER_MPA).ravel())

    def top_contacts(self) -> int:
        s = self.sim
        return int(np.sum(s.position[:, 2] + s.radius > s.wall_z[1]))

    def state(self, stage: str, extra: dict) -> ParticleState:
        s = self.sim
        base = self.base_state
        hi = base.box_hi_um.copy()
        hi[2] = float(s.wall_z[1])
        return ParticleState(
            position_um=s.position.copy(), radius_um=s.radius.copy(), species=base.species,
            mass_pg=base.mass_pg, density_g_cm3=base.density_g_cm3, box_lo_um=base.box_lo_um,
            box_hi_um=hi, periodic=base.periodic, wall_z_um=s.wall_z.copy(),
            wall_side=np.array([1, -1], dtype=np.int64),
            meta={**base.meta, "stage": stage, **extra})

    # -- motion
    def relax(self) -> None:
        """Drag relaxation after the force-field switch; the roll is re-placed above the film."""
        p = self.protocol
        drag = Langevin(0.0, p.relax_damping_per_us)
        table = self.sim.table
        self.sim.stage = "calender relax"
        if p.relax_ramp_from < 1.0:
            n_stage = p.relax_ramp_stages
            for k in range(n_stage):
                factor = p.relax_ramp_from ** (1.0 - k / max(n_stage - 1, 1))
                self.sim.set_particles(table=scaled_contact_table(table, factor))
                self.sim.run(p.relax_steps // n_stage, thermostat=drag)
            self.sim.set_particles(table=table)
        else:
            self.sim.run(p.relax_steps, thermostat=drag)
        self.sim.stage = "calender"
        self.sim.velocity[:] = 0.0
        self.sim.omega[:] = 0.0
        self.sim.wall_z[1] = float(np.max(self.sim.position[:, 2] + self.sim.radius)) + p.gap_um
        self.sim.run(1)  # forces at the new plane position
        self.sim.mean_wall_force_z()

    def dwell_block(self, pressure_kpa: float, phase: str, trace: list[dict]) -> float:
        """One block of the roll held at a plane pressure; return the pressure.

        The roll moves at up to the lowest plane speed, in proportion to the pressure error
        beyond 5 %, times a gain that halves at each reversal and doubles (up to 1) while the
        direction holds: one block at the lowest speed moves a stiff film's pressure by ~±10 %
        (``ci``, 5 MPa), so without the gain the roll chatters (about a mean 15 % below the
        target at 2 MPa), while a creeping film needs the full speed."""
        error = (pressure_kpa - self.last_pressure_kpa) / (0.05 * pressure_kpa)
        direction = -1 if error > 0 else 1
        self.dwell_gain = min(1.0, 2.0 * self.dwell_gain) if direction == self.dwell_direction \
            else max(DWELL_MIN_GAIN, 0.5 * self.dwell_gain)
        self.dwell_direction = direction
        speed = self.protocol.min_plane_speed_m_s * self.dwell_gain * min(abs(error), 1.0)
        return self.block(direction, phase, trace, speed)

    def block(self, direction: int, phase: str, trace: list[dict],
              speed_m_s: float | None = None) -> float:
        """Move the roll for ``control_every`` steps (direction -1 down, +1 up, 0 hold) at the
        inertial-number speed (or ``speed_m_s``); log a trace row; return the mean plane
        pressure [kPa]."""
        s = self.sim
        if speed_m_s is not None:
            v = speed_m_s
        elif self.protocol.press == "paper":
            v = self.protocol.paper_plane_speed_m_s
        else:
            v = plane_speed_m_s(self.protocol, self.thickness_um, self.d_am_um, self.rho_am,
                                self.last_pressure_kpa)
        s.set_wall_velocity(1, direction * v)
        s.run(self.protocol.control_every)
        force = s.mean_wall_force_z()
        p_kpa = float(force[1]) / self.area_um2
        self.last_pressure_kpa = p_kpa
        h = self.thickness_um
        trace.append({
            "phase": phase, "step": s.step_count, "time_us": s.time_us,
            "plane_z_um": float(s.wall_z[1]), "thickness_um": h, "porosity": self.porosity(h),
            "plane_speed_m_s": direction * v, "force_top_nn": float(force[1]),
            "force_bottom_nn": float(force[0]), "pressure_mpa": p_kpa / KPA_PER_MPA,
            "pressure_bottom_mpa": -float(force[0]) / self.area_um2 / KPA_PER_MPA,
            "inertial_number": inertial_number(v, h, self.d_am_um, self.rho_am, p_kpa)
            if direction else 0.0,
            "kinetic_energy_fj": s.kinetic_energy(),
        })
        return p_kpa


# ---------------------------------------------------------------------------- calendering
def dem_relaxed(state: ParticleState, conditions: ProcessConditions | None = None,
                protocol: CalenderProtocol | None = None) -> ParticleState:
    """The dried structure after the switch to the DEM law and its drag relaxation: the
    uncalendered film every press starts from (module docstring), floor plane only."""
    press = _Press(state, conditions or ProcessConditions(), protocol or CalenderProtocol())
    press.relax()
    relaxed = press.state("uncalendered", {})
    return replace(relaxed, wall_z_um=relaxed.wall_z_um[:1], wall_side=relaxed.wall_side[:1])


def calender(state: ParticleState, pressures_mpa: Sequence[float],
             conditions: ProcessConditions | None = None,
             protocol: CalenderProtocol | None = None, *,
             progress: Callable[[dict], None] | None = None,
             n_threads: int | None = None) -> CalenderResult:
    """Porosity–pressure curve of a dried electrode (module docstring for the protocol).

    Args:
        state: dried structure (``etwin dry`` output), periodic in x and y.
        pressures_mpa: maximum calendering pressures [MPa], each in (0, 500].
        conditions: roll temperature, line speed, roll size.
        protocol: numerical settings.
        progress: called with every trace row.
        n_threads: numba threads.
    """
    t0 = time.perf_counter()
    targets = check_pressures(pressures_mpa)
    conditions = conditions or ProcessConditions()
    protocol = protocol or CalenderProtocol()
    press = _Press(state, conditions, protocol, n_threads)
    press.relax()
    sim = press.sim
    relaxed = press.state("uncalendered", {})
    relaxed = replace(relaxed, wall_z_um=relaxed.wall_z_um[:1], wall_side=relaxed.wall_side[:1])
    initial = structure_metrics(relaxed)
    rdf_before = radial_distribution(relaxed)
    h0 = initial.thickness_um
    trace: list[dict] = []

    def log(row_phase: str, direction: int) -> float:
        p = press.block(direction, row_phase, trace)
        if progress:
            progress(trace[-1])
        return p

    # loading path: checkpoint at each target
    checkpoints = []
    start = sim.step_count
    k = 0
    while k < len(targets):
        p_kpa = log("load", -1)
        while k < len(targets) and p_kpa >= targets[k] * KPA_PER_MPA:
            row = trace[-1]
            checkpoints.append((targets[k], copy.deepcopy(press), dict(row)))
            k += 1
        if k < len(targets) and sim.step_count - start > protocol.max_steps:
            raise RuntimeError(
                f"calendering: the plane pressure reached {p_kpa / KPA_PER_MPA:.3g} MPa, not "
                f"{targets[k]:g} MPa, within max_steps = {protocol.max_steps}")
        if k < len(targets) and press.thickness_um < 0.5 * press.solid_um3 / press.area_um2:
            raise RuntimeError("calendering: the plane passed half the solid thickness without "
                               f"reaching {targets[k]:g} MPa")
    steps = sim.step_count
    sim_steps_release = 0
    points = []
    final_states = []
    for target, branch, turn in checkpoints:
        point = _release(branch, target, turn, h0, conditions, trace, progress)
        sim_steps_release += point.steps_release
        points.append(point)
        final_states.append(point.state)
    rdf_after = radial_distribution(final_states[-1])
    fit = fit_compaction([p.pressure_max_mpa for p in points], [p.porosity for p in points],
                         initial.porosity)
    cbd = press.cbd
    return CalenderResult(
        points=tuple(points), initial=initial,
        fit=fit, trace=trace, rdf_before=rdf_before, rdf_after=rdf_after,
        am_cbd_shell_before=am_cbd_shell_count(relaxed),
        am_cbd_shell_after=am_cbd_shell_count(final_states[-1]),
        conditions=conditions, protocol=protocol,
        cbd_young_modulus_gpa=cbd.young_modulus_pa / 1e9,
        cbd_cohesion_gpa=cbd.cohesion_energy_density_pa / 1e9, dt_us=sim.dt,
        n_particles=sim.n, steps=steps + sim_steps_release,
        wall_s=time.perf_counter() - t0)


def creep_rate_per_us(porosities: Sequence[float], window: int, block_us: float) -> float:
    """|mean of the last ``window`` porosities - mean of the ``window`` before| per µs [1/µs]:
    the creep rate of a film held at constant pressure, with the servo's block-to-block
    chatter averaged out."""
    last = np.mean(porosities[-window:])
    before = np.mean(porosities[-2 * window:-window])
    return float(abs(last - before) / (window * block_us))


def _release(press: _Press, target: float, turn: dict, h0: float,
             conditions: ProcessConditions, trace: list[dict],
             progress: Callable[[dict], None] | None) -> PressPoint:
    """From a checkpoint: dwell at the target pressure (none in the 'paper' protocol), then
    lift the roll; zero-force reading, then the last-contact reading."""
    sim = press.sim
    protocol = press.protocol
    phase = f"release {target:g} MPa"
    start = sim.step_count
    p_hold = target * KPA_PER_MPA
    block_us = sim.dt * protocol.control_every
    n_min = max(1, int(round(protocol.turn_hold_us / block_us)))
    n_max = max(n_min, int(round(protocol.max_hold_us / block_us)))
    n_window = max(1, int(round(protocol.creep_window_us / block_us)))
    stresses: deque = deque(maxlen=DWELL_AVERAGE_BLOCKS)
    pressures, porosities = [], []
    arrested = False
    if protocol.press == "paper":  # straight back up: the readings at the turn
        n_max = 0
        pressures.append(turn["pressure_mpa"])
        stresses.append(press.stress_mpa())
    while not arrested and len(pressures) < n_max:
        pressures.append(press.dwell_block(p_hold, phase + " (dwell)", trace) / KPA_PER_MPA)
        porosities.append(press.porosity())
        stresses.append(press.stress_mpa())
        if progress:
            progress(trace[-1])
        if len(pressures) >= max(n_min, 2 * n_window):
            arrested = creep_rate_per_us(porosities, n_window, block_us) < \
                protocol.creep_tol_per_us
    h_min = press.thickness_um
    stress_max = tuple(float(v) for v in np.mean(stresses, axis=0))
    pressure_dwell = float(np.mean(pressures[-len(stresses):]))
    dwell_us = len(pressures) * block_us if n_max else 0.0
    coord_max = float(sim.coordination_numbers().mean())
    am_stress = am_contact_stress_mpa(sim)
    while True:
        p_kpa = press.block(+1, phase, trace)
        if progress:
            progress(trace[-1])
        if p_kpa <= 0.0:
            break
        if sim.step_count - start > protocol.max_steps:
            raise RuntimeError(f"release from {target:g} MPa: the plane force did not return to "
                               f"zero within max_steps = {protocol.max_steps}")
    h_rec = press.thickness_um
    stress_rec = press.stress_mpa()
    recovered = press.state("calendered", {
        "pressure_target_mpa": target, "pressure_max_mpa": turn["pressure_mpa"],
        "temperature_c": conditions.temperature_c,
        "line_speed_m_min": conditions.line_speed_m_min})
    coord_rec = float(sim.coordination_numbers().mean())
    # the paper's reading: highest plane position with a contact
    h_last = h_rec
    capped = True
    lift_limit = h_rec * (1.0 + protocol.max_lift_fraction)
    while press.thickness_um < lift_limit:
        if press.top_contacts() == 0:
            capped = False
            break
        h_last = press.thickness_um
        press.block(+1, phase + " (lift)", trace, protocol.max_plane_speed_m_s)
        if progress:
            progress(trace[-1])
    reduction = h0 - h_min
    return PressPoint(
        pressure_target_mpa=target, pressure_max_mpa=turn["pressure_mpa"],
        pressure_dwell_mpa=pressure_dwell, thickness_min_um=h_min,
        porosity_min=press.porosity(h_min), thickness_um=h_rec,
        porosity=press.porosity(h_rec), springback_percent=100.0 * (h_rec - h_min) / h_min,
        thickness_last_contact_um=h_last, porosity_last_contact=press.porosity(h_last),
        last_contact_capped=capped, inertial_number=turn["inertial_number"],
        nip_contact_time_s=conditions.nip_contact_time_s(reduction),
        deborah_number=conditions.deborah_number(reduction), stress_max_mpa=stress_max,
        stress_recovered_mpa=stress_rec, coordination_max=coord_max,
        coordination_recovered=coord_rec, steps_release=sim.step_count - start,
        dwell_us=dwell_us, creep_arrested=arrested,
        floor_speed_at_target=protocol.press == "quasi-static" and abs(
            turn["plane_speed_m_s"]) <= protocol.min_plane_speed_m_s,
        state=recovered,
        am_contact_stress_mpa=am_stress)


def am_contact_stress_mpa(sim: Simulation, am_type: int = AM_TYPE) -> np.ndarray:
    """Per AM particle: σ = 2.8 F / (π d²) [MPa], the Hiramatsu–Oka tensile stress at the
    centre of a sphere of diameter d loaded by a diametral force F (Hiramatsu & Oka, Int. J.
    Rock Mech. Min. Sci. 3 (1966) 89), with F the largest net compressive normal force on the
    particle over its particle and plane contacts: the Hertz spring (4/3) E* √R* δ^(3/2)
    minus the SJKR cohesion CED · π a² (the contact law's normal force without damping).
    The net force is the load the contact carries; an adhesive contact at rest carries none,
    however stiff its spring.  Particle crushing strengths are measured in the same form
    (single-particle compression), so σ > strength flags a particle that would crack."""
    pos, r, ptype = sim.position, sim.radius, sim.ptype
    kn = sim.table.params[:, :, KN]
    ced = sim.table.params[:, :, CED]
    i, j = sim.pair_i, sim.pair_j
    d = pos[i] - pos[j]
    for a in range(3):
        if sim.periodic[a]:
            d[:, a] -= sim.box_len[a] * np.rint(d[:, a] / sim.box_len[a])
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    ri, rj = r[i], r[j]
    touch = ri + rj - dist > 0
    i, j, ri, rj, dist = i[touch], j[touch], ri[touch], rj[touch], dist[touch]
    overlap = ri + rj - dist
    # overlap disc of two spheres (the engine's sjkr_pair_area)
    area = -0.25 * math.pi * (dist - ri - rj) * (dist + ri - rj) * (dist - ri + rj) \
        * (dist + ri + rj) / dist ** 2
    force = kn[ptype[i], ptype[j]] * np.sqrt(ri * rj / (ri + rj)) * overlap ** 1.5 \
        - ced[ptype[i], ptype[j]] * area
    f_max = np.zeros(sim.n)
    np.maximum.at(f_max, i, force)
    np.maximum.at(f_max, j, force)
    for z, side, wtype in zip(sim.wall_z, sim.wall_side, sim.wall_type, strict=True):
        gap = side * (pos[:, 2] - z)
        hit = r - gap > 0
        f_wall = kn[ptype[hit], wtype] * np.sqrt(r[hit]) * (r[hit] - gap[hit]) ** 1.5 \
            - ced[ptype[hit], wtype] * math.pi * (r[hit] ** 2 - gap[hit] ** 2)
        f_max[hit] = np.maximum(f_max[hit], f_wall)
    am = ptype == am_type
    return 2.8 * f_max[am] / (math.pi * (2.0 * r[am]) ** 2) / KPA_PER_MPA


def fractured_fraction(am_contact_stress_mpa: np.ndarray, strength_mpa: float) -> float:
    """Share of AM particles whose Hiramatsu–Oka stress exceeds the crushing strength."""
    s = np.asarray(am_contact_stress_mpa, dtype=float)
    return float(np.mean(s > strength_mpa)) if s.size else 0.0


# ---------------------------------------------------------------------------- indentation
@dataclass(frozen=True)
class IndentationResult:
    """Flat-punch micro-indentation: load, hold and unload of the roll plane (paper Fig. 2A).

    ``trace`` rows carry the plane displacement from first contact [µm], the plane force [nN]
    and both normalised by their maxima, as the paper plots them.
    """

    trace: list[dict] = field(repr=False)
    thickness_um: float
    depth_max_um: float
    force_max_nn: float
    pressure_max_mpa: float
    residual_depth_um: float
    elastic_recovery: float
    plastic_work_fraction: float
    unloading_stiffness_nn_um: float
    contact_area_um2: float
    inertial_number_max: float
    n_particles: int
    steps: int
    wall_s: float


def _work(disp: np.ndarray, force: np.ndarray) -> float:
    return float(np.sum(0.5 * (force[1:] + force[:-1]) * np.diff(disp))) if disp.size > 1 \
        else 0.0


def indent(state: ParticleState, depth_fraction: float = 0.1, hold_us: float = 2.0,
           conditions: ProcessConditions | None = None,
           protocol: CalenderProtocol | None = None, *,
           progress: Callable[[dict], None] | None = None,
           n_threads: int | None = None) -> IndentationResult:
    """Micro-indentation with the calendering parameters (paper §2, Fig. 2A).

    The indenter is the steel plane over the whole periodic cross-section (a flat punch; the
    paper's simulated contact, ~11 600 µm², is its 4 × 4-tiled cell: tile with
    :func:`physics.structure.tile_xy`).  It descends at the inertial-number speed from first
    contact to ``depth_fraction`` × the film thickness, holds for ``hold_us`` and lifts back to
    the first-contact height (the paper pulls back to the original position); with the
    cohesive steel plane the force turns tensile on the way.

    Outputs follow nano-indentation practice (Oliver & Pharr, J. Mater. Res. 7 (1992) 1564):
    residual depth (where the unloading force first reaches zero), elastic recovery
    (δ_max - δ_res)/δ_max, plastic work fraction 1 - W_unload/W_load, and the unloading
    stiffness S = dF/dδ fitted over the upper half of the
    unloading curve.
    """
    t0 = time.perf_counter()
    _check_range("depth_fraction", depth_fraction, 0.0, 0.5, lo_open=True)
    _check_range("hold_us", hold_us, 0.0, 1e3)
    conditions = conditions or ProcessConditions()
    protocol = protocol or CalenderProtocol()
    press = _Press(state, conditions, protocol, n_threads)
    press.relax()
    sim = press.sim
    h0 = structure_metrics(replace(
        press.state("uncalendered", {}), wall_z_um=sim.wall_z[:1].copy(),
        wall_side=np.array([1], dtype=np.int64))).thickness_um
    trace: list[dict] = []
    start = sim.step_count

    def step(direction: int, phase: str) -> float:
        p = press.block(direction, phase, trace)
        if sim.step_count - start > protocol.max_steps:
            raise RuntimeError(f"indentation exceeded max_steps = {protocol.max_steps}")
        return p

    while press.top_contacts() == 0:
        step(-1, "approach")
    z_contact = float(sim.wall_z[1])
    depth_max = depth_fraction * h0
    rows: list[dict] = []

    def record() -> None:
        row = trace[-1]
        row["displacement_um"] = z_contact - row["plane_z_um"]
        rows.append(row)
        if progress:
            progress(row)

    while z_contact - float(sim.wall_z[1]) < depth_max:
        step(-1, "load")
        record()
    n_hold = int(round(hold_us / sim.dt / protocol.control_every))
    for _ in range(n_hold):
        step(0, "hold")
        record()
    while float(sim.wall_z[1]) < z_contact:  # back to the first-contact height (paper)
        step(+1, "unload")
        record()
    disp = np.array([r["displacement_um"] for r in rows])
    force = np.array([r["force_top_nn"] for r in rows])
    phase = np.array([r["phase"] for r in rows])
    f_max = float(force.max())
    d_max = float(disp.max())
    for r in rows:
        r["force_normalized"] = r["force_top_nn"] / f_max if f_max > 0 else 0.0
        r["displacement_normalized"] = r["displacement_um"] / d_max if d_max > 0 else 0.0
    load, unload = phase == "load", phase == "unload"
    w_load = _work(disp[load], force[load])
    w_unload = -_work(disp[unload], np.maximum(force[unload], 0.0))
    upper = unload & (force >= 0.5 * max(force[unload].max(), 0.0)) & (force > 0)
    # fewer than 5 unloading points under load (adhesion turns the plane force tensile at
    # once after a shallow indentation) give no stiffness
    stiffness = float(np.polyfit(disp[upper], force[upper], 1)[0]) if upper.sum() >= 5 \
        else math.nan
    lifted = np.flatnonzero(unload & (force <= 0.0))
    residual = float(disp[lifted[0]]) if lifted.size else 0.0
    i_load = [r["inertial_number"] for r in rows if r["phase"] == "load"
              and math.isfinite(r["inertial_number"]) and r["force_top_nn"] > 0.1 * f_max]
    return IndentationResult(
        trace=rows, thickness_um=h0, depth_max_um=d_max, force_max_nn=f_max,
        pressure_max_mpa=f_max / press.area_um2 / KPA_PER_MPA, residual_depth_um=residual,
        elastic_recovery=(d_max - residual) / d_max if d_max > 0 else 0.0,
        plastic_work_fraction=1.0 - w_unload / w_load if w_load > 0 else math.nan,
        unloading_stiffness_nn_um=stiffness, contact_area_um2=press.area_um2,
        inertial_number_max=max(i_load) if i_load else math.nan, n_particles=sim.n,
        steps=sim.step_count - start, wall_s=time.perf_counter() - t0)
