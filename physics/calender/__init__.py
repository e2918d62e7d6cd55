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
first reaches each target and each checkpoint is released on its own.  A checkpoint stands
once the pressure has stayed above 90 % of its target over the next ``turn_confirm_us`` of
loading; a reading that falls back was a dynamic spike, and the next block at the target
takes its place ("Crushing bursts").  The plane-speed law
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
over 0.2, 0.1 and 0.05 m/s (22 runs, docs/physics/calendering.md).  Below ~1.2 MPa the
floor speed sets the
plane speed (I = 1.3-1.8e-3 at 0.3-0.6 MPa); ensembles of 6-10 runs per speed give +0.27,
+0.25, +0.25 and -0.07 points per halving at 0.3, 0.6, 1 and 2 MPa (s.e. 0.14-0.19, so the
95 % upper bound reaches 0.54-0.67 below 2 MPa; docs/physics/calendering.md): slower is
slightly more porous there.
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
docs/physics/calendering.md) and none above ~5 MPa, where heated-calendering experiments
densify.

Binder contact physics beyond Table 2 (:class:`BinderContact`, registry
``physics.engine.contacts``): binder contacts (CBD–CBD, AM–CBD) can load elasto-plastically
with adhesion that grows with the plastic flattening (hysteretic law) and carry a viscoelastic
bridge arm whose relaxation time follows the roll (τ ∝ a_T v: the Deborah number of the nip,
mapped onto the simulated compression), and AM–AM contacts can resist rolling (EPSD2) and
yield (Thornton–Ning).  AM particles can be crushed (``BinderContact.am_strength_mpa``,
``fracture`` module docstring): each draws a Weibull strength, and once the Hiramatsu–Oka
stress of its largest contact passes it, its contacts flatten at a lower yield pressure for
the rest of the press.  The time step shrinks by the square root of the stiffest unloading
branch.  All off is the Table 2 law (the ``paper`` preset).

Crushing bursts.  A crushed particle sheds load onto its neighbours, and when they break in
turn the film's force network collapses within a few control blocks.  The elastic energy that
collapse releases throws the film against the planes: on one `fast` film (law Pf, seed 1) a
burst lifted one block's plane pressure from 32.8 to 100.7 MPa, back near 30 MPa five blocks
later.  Taken at the first block at or above its target, every checkpoint from 55.9 to 100 MPa
was that one ~31 MPa film state.  So a checkpoint stands only if the plane pressure stays
above (1 - ``TURN_CONFIRM_DROP``) = 90 % of its target over the next
``CalenderProtocol.turn_confirm_us`` (0.1 µs, 7 blocks at `fast`) of loading
(:func:`~physics.calender.protocol.checkpoint_step`); a reading that falls back is dropped
with the higher targets it passed, and the first later block at the target takes its place.
The block-to-block noise of a steady loading path (at most 4-6 % at 5.92 MPa on the `fast`
films) never drops a checkpoint, so runs without a spike are unchanged.

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

Submodules: ``binder`` (binder/contact law), ``protocol`` (press), ``fracture``, ``indentation``,
``stiffness`` (the directional small-strain stiffness of a calendered film).
"""

from physics.calender.binder import (
    AL_TYPE,
    AM_CRUSHED_TYPE,
    AM_TYPE,
    CBD_TYPE,
    KELVIN_OFFSET,
    MAX_COHESIVE_OVERLAP_RATIO,
    R_GAS_J_MOL_K,
    STEEL_TYPE,
    BinderContact,
    BinderRheology,
    ProcessConditions,
    cohesive_overlap_ratio,
    scaled_contact_table,
)
from physics.calender.fracture import (
    KPA_PER_MPA,
    am_contact_stress_mpa,
    contact_stress_mpa,
    crush,
    crushing_strengths_mpa,
    fractured_fraction,
)
from physics.calender.indentation import (
    IndentationResult,
    indent,
)
from physics.calender.protocol import (
    DWELL_AVERAGE_BLOCKS,
    DWELL_MIN_GAIN,
    MAX_PRESSURE_MPA,
    PRESS_PROTOCOLS,
    CalenderProtocol,
    CalenderResult,
    CompactionFit,
    PressPoint,
    calender,
    check_dried_state,
    check_pressures,
    creep_rate_per_us,
    dem_relaxed,
    fit_compaction,
    inertial_number,
    mean_am_diameter_um,
    overshot_targets,
    plane_speed_m_s,
    time_step_us,
)
from physics.calender.protocol import _Press as _Press  # used by tests

__all__ = [
    "AL_TYPE",
    "AM_CRUSHED_TYPE",
    "AM_TYPE",
    "CBD_TYPE",
    "DWELL_AVERAGE_BLOCKS",
    "DWELL_MIN_GAIN",
    "KELVIN_OFFSET",
    "KPA_PER_MPA",
    "MAX_COHESIVE_OVERLAP_RATIO",
    "MAX_PRESSURE_MPA",
    "PRESS_PROTOCOLS",
    "R_GAS_J_MOL_K",
    "STEEL_TYPE",
    "BinderContact",
    "BinderRheology",
    "CalenderProtocol",
    "CalenderResult",
    "CompactionFit",
    "IndentationResult",
    "PressPoint",
    "ProcessConditions",
    "am_contact_stress_mpa",
    "calender",
    "check_dried_state",
    "check_pressures",
    "cohesive_overlap_ratio",
    "contact_stress_mpa",
    "creep_rate_per_us",
    "crush",
    "crushing_strengths_mpa",
    "dem_relaxed",
    "fit_compaction",
    "fractured_fraction",
    "indent",
    "inertial_number",
    "mean_am_diameter_um",
    "overshot_targets",
    "plane_speed_m_s",
    "scaled_contact_table",
    "time_step_us",
]
