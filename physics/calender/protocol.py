"""The DEM calender press: numerical protocol (:class:`CalenderProtocol`), the working press
(``_Press``: film between the Al floor and the steel roll, inertial-number speed law, dwell
servo), the shared loading path with one release per target pressure (:func:`calender`), the
DEM-relaxed start (:func:`dem_relaxed`), results (:class:`PressPoint`,
:class:`CalenderResult`) and the porosity-pressure fit (:func:`fit_compaction`, the law of
:mod:`physics.compaction`).

Units: µm, pg, µs inside (1 µm/µs = 1 m/s; force nN; pressure kPa); MPa, m/s, µs at the
interface.  Protocol and its checks: ``physics.calender`` module docstring.
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from physics.calender.binder import (
    AL_TYPE,
    AM_CRUSHED,
    AM_CRUSHED_TYPE,
    STEEL_TYPE,
    ProcessConditions,
    scaled_contact_table,
)
from physics.calender.fracture import (
    KPA_PER_MPA,
    am_contact_stress_mpa,
    crush,
    crushing_strengths_mpa,
)
from physics.compaction import CompactionFit, fit_compaction_law
from physics.engine import Langevin, Simulation, Wall, rayleigh_time_us
from physics.materials import STEEL, Material, _check_range
from physics.state import AM_SPECIES, ParticleState
from physics.structure import (
    RadialDistribution,
    StructureMetrics,
    am_cbd_shell_count,
    am_skeleton,
    film_bounds_um,
    radial_distribution,
    structure_metrics,
)

DWELL_AVERAGE_BLOCKS = 5  # the stress at maximum compression averages the last dwell blocks
DWELL_MIN_GAIN = 1e-3  # floor of the dwell servo's gain (_Press.dwell_block)
MAX_PRESSURE_MPA = 500.0  # above any electrode calendering (line loads -> < ~300 MPa)
#: share above its target beyond which a point's plane pressure reads as overshot [-]
OVERSHOOT_TOLERANCE = 0.05
#: a target's checkpoint stands when the plane pressure stays above (1 - this) × the target
#: over the ``turn_confirm_us`` of loading that follow it [-]
TURN_CONFIRM_DROP = 0.1
#: press protocols: 'quasi-static' (inertial-number speed law, dwell until the creep arrests)
#: and 'paper' (constant plane speed, straight back up at the target, Ngandjong et al. §2)
PRESS_PROTOCOLS = ("quasi-static", "paper")


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
        fracture_seed: seed of the AM particles' Weibull crushing strengths (drawn once per
            press when ``BinderContact.am_strength_mpa`` > 0, ``physics.calender.fracture``).
        turn_confirm_us: a target's checkpoint (the first control block whose plane
            pressure reaches it) stands only if the pressure stays above
            (1 - ``TURN_CONFIRM_DROP``) × the target over this much further loading [µs], in
            [0, 10]; otherwise it was a dynamic spike and the next block at the target is
            taken (0: the first block stands).  Module docstring, "Crushing bursts".
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
    fracture_seed: int = 0
    turn_confirm_us: float = 0.1

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
        _check_range("CalenderProtocol.turn_confirm_us", self.turn_confirm_us, 0.0, 10.0)

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
    (:func:`am_contact_stress_mpa`), the particle-fracture reading.  The load path at maximum
    compression: ``load_share`` is the share of the particle contacts' σ_zz carried by each
    contact type pair ('AM-AM', 'AM-CBD', 'CBD-CBD'; Love's average stress split by pair
    type, ``Simulation.contact_stress_by_type_kpa``), and ``am_contacts_per_am_max`` /
    ``am_contacts_per_am_recovered`` the AM–AM contacts per AM particle (real radii × 1.02,
    :func:`physics.structure.am_skeleton`) at the turn and after recovery.
    ``am_crushed_fraction`` is the share of AM particles crushed by the end of the dwell (0
    without crushing, ``physics.calender.fracture``).
    ``floor_speed_at_target``
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
    load_share: dict = field(default_factory=dict)
    am_contacts_per_am_max: float = 0.0
    am_contacts_per_am_recovered: float = 0.0
    am_crushed_fraction: float = 0.0

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


def overshot_targets(targets_mpa: Sequence[float], readings_mpa: Sequence[float],
                     tolerance: float = OVERSHOOT_TOLERANCE) -> list[tuple[float, float]]:
    """(target, reading) [MPa] of the points whose plane pressure at the turn read more than
    ``tolerance`` (a fraction) above the target.  A confirmed checkpoint (``turn_confirm_us``)
    drops a crushing burst's spike, but a film that stiffens by more than the tolerance within
    one block's plane travel still reads above its target; such a point's porosity need not
    be the film's at the target."""
    return [(float(t), float(r)) for t, r in zip(targets_mpa, readings_mpa, strict=True)
            if r > (1.0 + tolerance) * t]


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
                   porosity_initial: float) -> CompactionFit | None:
    """The curve's compaction law (:mod:`physics.compaction`) from the dried film's porosity
    and the points after recovery: the full law (ε_min, K0, m) from 4 or more pressures,
    Meyer's exponential law (m = 0) from 3, None below (the parameters would fit exactly and
    say nothing about the law)."""
    n = len(pressures_mpa)
    if n < 3:
        return None
    try:
        return fit_compaction_law(np.r_[0.0, pressures_mpa], np.r_[porosity_initial, porosities],
                                  exponential=n < 4)
    except (RuntimeError, ValueError):  # no convergence, or no point denser than the film
        return None


class _Press:
    """The working simulation of one press (film between the Al floor and the top plane: the
    steel roll, or an indenter's material)."""

    def __init__(self, state: ParticleState, conditions: ProcessConditions,
                 protocol: CalenderProtocol, n_threads: int | None = None,
                 top_plane: Material = STEEL) -> None:
        check_dried_state(state)
        self.protocol = protocol
        self.conditions = conditions
        self.cbd = conditions.cbd_material()
        table = conditions.contact_table(top_plane)
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
        self.strength_mpa = _crushing_strengths(state, conditions, protocol)
        self.crushing_stress = conditions.binder_contact.am_crushing_stress
        self.n_am = int(np.sum(state.species == AM_SPECIES))
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

    def load_share(self) -> dict[str, float]:
        """Share of the particle contacts' σ_zz per contact type pair of the film (AM, CBD;
        a crushed AM particle counts as AM)."""
        vol = self.area_um2 * self.thickness_um
        parts = self.sim.contact_stress_by_type_kpa(vol)
        zz: dict[str, float] = {}
        for (a, b), v in parts.items():
            a, b = sorted("AM" if t == AM_CRUSHED else t for t in (a, b))
            if a in ("AM", "CBD") and b in ("AM", "CBD"):
                zz[f"{a}-{b}"] = zz.get(f"{a}-{b}", 0.0) + float(v[2, 2])
        total = sum(zz.values())
        return {k: v / total if total else 0.0 for k, v in zz.items()}

    def crushed_indices(self) -> np.ndarray:
        """Indices of the AM particles crushed so far (none without crushing)."""
        return np.flatnonzero(self.sim.ptype == AM_CRUSHED_TYPE)

    def crushed_fraction(self) -> float:
        """Share of the AM particles crushed so far (0 without crushing)."""
        return self.crushed_indices().size / max(self.n_am, 1)

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
            meta={**base.meta, "stage": stage, **extra,
                  # with crushing on, a saved structure says which particles broke
                  **({} if self.strength_mpa is None else
                     {"am_crushed_indices": self.crushed_indices().tolist()})})

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
        if self.strength_mpa is not None:
            crush(s, self.strength_mpa, self.crushing_stress)
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
            "am_crushed_fraction": self.crushed_fraction(),
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

    # loading path: a checkpoint at each target, confirmed by the loading that follows it
    checkpoints: list[tuple[float, _Press, dict]] = []
    pending: list[Candidate] = []  # unconfirmed checkpoints of the next targets, in order
    n_confirm = math.ceil(protocol.turn_confirm_us / (sim.dt * protocol.control_every) - 1e-9)
    start = sim.step_count
    k = 0
    while k < len(targets):
        p_kpa = log("load", -1)
        pending = checkpoint_step(targets, p_kpa, n_confirm, pending, checkpoints,
                                  lambda: (copy.deepcopy(press), dict(trace[-1])))
        k = len(checkpoints)
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


@dataclass
class Candidate:
    """An unconfirmed checkpoint: the press (or any snapshot) at the first block that
    reached ``target`` [MPa], its trace row, and the lowest plane pressure [kPa] and the
    number of loading blocks since."""

    target: float
    press: Any
    turn: dict
    min_pressure_kpa: float = math.inf
    blocks: int = 0


def checkpoint_step(targets_mpa: Sequence[float], p_kpa: float, n_confirm: int,
                    pending: list[Candidate], checkpoints: list[tuple[float, Any, dict]],
                    snapshot: Callable[[], tuple[Any, dict]]) -> list[Candidate]:
    """One loading block of mean plane pressure ``p_kpa`` [kPa] for the checkpoints of the
    ascending ``targets_mpa``.  The pending candidates see the block: one whose pressure has
    dropped below (1 - ``TURN_CONFIRM_DROP``) × its target is dropped with every higher one
    (the reading was a dynamic spike: the film does not carry it).  Then every next target
    the block reaches gets a candidate from ``snapshot()`` (the press and its trace row), and
    the candidates that have held for ``n_confirm`` blocks (0: at once) move to
    ``checkpoints`` as (target, snapshot, row), in target order.  Returns the candidates
    still pending."""
    for i, c in enumerate(pending):
        c.min_pressure_kpa = min(c.min_pressure_kpa, p_kpa)
        c.blocks += 1
        if c.min_pressure_kpa < (1.0 - TURN_CONFIRM_DROP) * c.target * KPA_PER_MPA:
            pending = pending[:i]
            break
    while len(checkpoints) + len(pending) < len(targets_mpa) and \
            p_kpa >= targets_mpa[len(checkpoints) + len(pending)] * KPA_PER_MPA:
        pending.append(Candidate(targets_mpa[len(checkpoints) + len(pending)], *snapshot()))
    while pending and pending[0].blocks >= n_confirm:
        c = pending.pop(0)
        checkpoints.append((c.target, c.press, c.turn))
    return pending


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
    crushed = press.crushed_fraction()
    shares = press.load_share()
    am_max = am_skeleton(press.state("compressed", {})).contacts_per_am
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
        am_contact_stress_mpa=am_stress, load_share=shares, am_contacts_per_am_max=am_max,
        am_contacts_per_am_recovered=am_skeleton(recovered).contacts_per_am,
        am_crushed_fraction=crushed)


def _crushing_strengths(state: ParticleState, conditions: ProcessConditions,
                        protocol: CalenderProtocol) -> np.ndarray | None:
    """Per particle: its Weibull crushing strength [MPa] (AM), inf (CBD); None without
    crushing (``physics.calender.fracture``)."""
    contact = conditions.binder_contact
    if not contact.crushing:
        return None
    am = state.species == AM_SPECIES
    strength = np.full(state.n, np.inf)
    strength[am] = crushing_strengths_mpa(
        2.0 * state.radius_um[am], contact.am_strength_mpa, contact.am_weibull_modulus,
        np.random.default_rng(protocol.fracture_seed))
    return strength
