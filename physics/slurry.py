"""CGMD slurry and drying: recipe -> slurry -> dried electrode (Ngandjong et al. 2021, §2, §6.2).

Protocol (engine units µm, pg, µs; pressure kPa):

1. **Slurry build**: AM particles (recipe size distribution, contact diameter 1.14 d: solvent
   shell) and solvent-swollen CBD particles (radius from the solid content, 3.1 µm at 69 wt %)
   placed at random in a column of the requested cross-section whose volume is the wet
   slurry's (solids + solvent from the solid content); only Lennard-Jones cores are kept
   apart (the swollen CBD blobs overlap, see :func:`build_slurry`); deterministic for a seed.
2. **Slurry equilibration (NPT)**: slurry force field (LJ + gran/hertz/history), Langevin
   thermostat at 298 K, 1 atm (101.325 kPa) along z: a Berendsen barostat on z when z is
   periodic, otherwise the same law on the slab between an Al current collector and a top
   plane (the slurry surface).  Stops when the slurry density changes by less than
   ``density_tol`` (relative) over ``window`` consecutive checks with the z pressure within
   25 % of its target, or after ``max_steps``.
3. **Drying**: over ``shrink_steps`` the CBD radius shrinks 3.1 -> 0.65 µm, the AM shell
   1.14 d -> 1.02 d, and the force field blends (geometric interpolation of ε, K_n, γ_n, μ,
   CBD density) from the slurry to the dried set, with the z pressure still applied, so the wet
   film consolidates while it loses solvent; then re-equilibration with the dried set until
   the density converges.
4. In the wall mode (the default) the top plane is finally lifted and the film relaxes with a
   free surface; its thickness is the mean surface height (:mod:`physics.structure`).

Measured (defaults, seed 0): ``fast`` (200 AM + 4 754 CBD) dries to 2.34 g/cm³ and 41.9 %
porosity in the wall mode (67 500 steps, 367 s on 2 cores) and to 2.30 g/cm³ and 42.7 % in the
periodic mode (59 500 steps, 329 s); ``paper`` (396 AM + 9 380 CBD) to 2.35 g/cm³, 41.5 %,
163.6 µm (wall, 736 s) and 2.34 g/cm³, 41.9 %, 164.7 µm (periodic, 1 032 s); the paper
reports 2.4 g/cm³ and 41.6 % (experiment 2.3 ± 0.1, 42 ± 2 %).  The thin ``ci`` film (80 AM,
35 µm for 10 µm particles) comes out 44.5 % (wall) and 42.4 % (periodic).

Departures from the paper, stated: the cross-section is fixed (the z axis alone is barostatted
in the slurry as in the drying; the paper compressed the slurry isotropically from
200 × 200 × 1200 µm and ended at 25.8 × 25.8 µm); the run stops on a density-convergence
criterion instead of the paper's 1.3e7 + 9e7 fixed steps; the default mode dries with the
current collector below and a free top surface (the paper dried a fully periodic box and names
that as a limitation); the reported density uses real particle masses.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from physics.engine import Berendsen, EngineInstability, Langevin, Simulation, Wall
from physics.engine.placement import random_placement
from physics.fidelity import FIDELITY_N_AM
from physics.forcefield import DRIED_FORCE_FIELD, SLURRY_FORCE_FIELD, ForceField, blend
from physics.materials import PAPER_BOX_XY_UM, Recipe, paper_recipe, sphere_volume_um3
from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState
from physics.structure import StructureMetrics, structure_metrics

log = logging.getLogger(__name__)

ATMOSPHERE_KPA = 101.325
SUB_STEPS = 50  # steps between pressure-control updates
#: largest exclusion-volume fraction random sequential addition is asked to reach; a denser
#: slurry is placed in a taller column at PLACEMENT_FRACTION and the barostat consolidates it
MAX_PLACEMENT_FRACTION, PLACEMENT_FRACTION = 0.38, 0.36
PLACEMENT_RETRIES = 6  # a column too short for its largest spheres grows by one diameter each
MAX_DT_HALVINGS = 6  # a blown-up sub-block is re-run from its start with dt/2, at most this often
#: stable sub-blocks after which a halved step is doubled back (the blow-ups come from the
#: transient overlaps of a fresh placement or a force-field switch, not from the steady state)
RESTORE_AFTER_SUB_BLOCKS = 20
AL_TYPE, TOP_TYPE = 2, 3
MODES = ("wall", "periodic")



@dataclass(frozen=True)
class DryingProtocol:
    """Numerical settings of the slurry/drying protocol (engine units).

    Attributes:
        mode: 'wall' (Al current collector below, free top after drying) or 'periodic' (fully
            periodic box, as the paper).
        pressure_kpa: applied pressure along z [kPa] (1 atm).
        temperature_k: thermostat temperature [K].
        damping_per_us: Langevin friction rate in the slurry [1/µs].
        drying_damping_per_us: Langevin friction rate while drying and in the dried film
            [1/µs]; it stands for the solvent drag and lets the film relax through the
            five-decade force-field switch without ballistic rebounds (kT is 1e-6 of ε here,
            so the temperature itself plays no role).
        dt_slurry_us, dt_dried_us: time steps [µs] (paper: 0.001 µs for both; the dried set's
            CBD-CBD LJ well, ε = 5525e-15 J on 1.1 pg, has ω ≈ 690 µs⁻¹ and the switch into it
            blew up at 0.001 µs here, stable at 0.0003 µs).
        check_every: steps between density checks and top-plane updates.  All step counts
            here are counts of the nominal step (dt_slurry_us, dt_dried_us); where the run
            halves its step to stay stable (:func:`_step_block`) it runs more of them.
        density_tol: relative density change over ``window`` checks that counts as converged.
        window: number of checks in the convergence window.
        max_slurry_steps, max_dried_steps: caps on the two equilibrations.
        shrink_steps: steps of the gradual CBD shrink + force-field blend.
        relax_steps: free-surface relaxation after lifting the top plane (wall mode).
        barostat_tau_us, barostat_modulus_kpa, max_strain_per_step: Berendsen settings of the
            z pressure control (both modes).
    """

    mode: str = "wall"
    pressure_kpa: float = ATMOSPHERE_KPA
    temperature_k: float = 298.0
    damping_per_us: float = 2.0
    drying_damping_per_us: float = 20.0
    dt_slurry_us: float = 0.001
    dt_dried_us: float = 0.0003
    check_every: int = 500
    density_tol: float = 1e-3
    window: int = 10
    max_slurry_steps: int = 40_000
    max_dried_steps: int = 80_000
    shrink_steps: int = 10_000
    relax_steps: int = 2_000
    barostat_tau_us: float = 1.0
    barostat_modulus_kpa: float = 1e3
    max_strain_per_step: float = 2e-4

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode = {self.mode!r}; allowed: {', '.join(MODES)}")
        for name in ("pressure_kpa", "damping_per_us", "drying_damping_per_us", "dt_slurry_us",
                     "dt_dried_us",
                     "density_tol", "barostat_tau_us",
                     "barostat_modulus_kpa", "max_strain_per_step"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"DryingProtocol.{name} = {v!r}; allowed range (0, inf)")
        for name in ("check_every", "window", "max_slurry_steps", "max_dried_steps",
                     "shrink_steps", "relax_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"DryingProtocol.{name} = {getattr(self, name)!r}; must be >= 1")
        if self.shrink_steps < 10 * self.check_every:
            raise ValueError(
                f"DryingProtocol.shrink_steps = {self.shrink_steps} must be >= 10 × check_every "
                f"(= {10 * self.check_every}): the shrink and force-field switch need at least "
                "10 stages (a one-stage switch into the dried set is unstable)")


@dataclass
class _Column:
    """Per-particle bookkeeping of the real particles behind the simulation."""

    is_am: np.ndarray
    am_diameter_um: np.ndarray  # unexpanded AM diameter (0 for CBD)
    real_mass_pg: np.ndarray
    real_density: np.ndarray


@dataclass(frozen=True)
class DryingResult:
    """Output of :func:`dry_electrode`."""

    slurry: ParticleState
    dried: ParticleState
    metrics: StructureMetrics
    slurry_metrics: StructureMetrics
    log: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    steps: int = 0
    dt_halvings: int = 0  # times a blown-up sub-block was re-run with half the step
    dt_restores: int = 0  # times a halved step was doubled back after a stable stretch

    def to_metrics(self) -> dict[str, float]:
        out = self.metrics.to_metrics()
        out.update({"slurry_density_g_cm3": self.slurry_metrics.density_g_cm3,
                    "wall_s": self.wall_s, "steps": float(self.steps),
                    "dt_halvings": float(self.dt_halvings),
                    "dt_restores": float(self.dt_restores)})
        return out


def _particles(recipe: Recipe, n_am: int) -> _Column:
    counts = recipe.counts_for_am(n_am)
    d_am = np.repeat(np.asarray(counts.am_diameters_um), counts.am_counts)
    n_cbd = counts.n_cbd
    is_am = np.concatenate([np.ones(d_am.size, bool), np.zeros(n_cbd, bool)])
    am_d = np.concatenate([d_am, np.zeros(n_cbd)])
    mass = np.where(is_am, recipe.am_density_g_cm3 * sphere_volume_um3(am_d),
                    recipe.cbd_particle_mass_pg)
    dens = np.where(is_am, recipe.am_density_g_cm3, recipe.cbd_density_g_cm3)
    return _Column(is_am, am_d, mass, dens)


def _dynamic(col: _Column, ff: ForceField, cbd_radius_um: float):
    """Contact radius, dynamic mass and LJ arrays of every particle under force field ``ff``."""
    radius = np.where(col.is_am, 0.5 * ff.am_contact_factor * col.am_diameter_um, cbd_radius_um)
    density = np.where(col.is_am, ff.am_density_g_cm3, ff.cbd_density_g_cm3)
    mass = density * sphere_volume_um3(2.0 * radius)
    lj = ff.lj_arrays(col.is_am, col.am_diameter_um, 2.0 * cbd_radius_um)
    return radius, mass, lj


def _film_volume(sim: Simulation, mode: str) -> float:
    if mode == "periodic":
        return sim.volume_um3
    return float(sim.box_len[0] * sim.box_len[1] * (sim.wall_z[1] - sim.wall_z[0]))


def _state(sim: Simulation, col: _Column, mode: str, stage: str, meta: dict) -> ParticleState:
    if mode == "periodic":
        walls_z, walls_side = np.zeros(0), np.zeros(0, dtype=np.int64)
    else:
        walls_z, walls_side = sim.wall_z[:1].copy(), np.array([1], dtype=np.int64)
    hi = sim.box_lo + sim.box_len
    if mode == "wall":
        hi = hi.copy()
        hi[2] = max(hi[2], float(np.max(sim.position[:, 2] + sim.radius)))
    return ParticleState(
        position_um=sim.position.copy(), radius_um=sim.radius.copy(),
        species=np.where(col.is_am, AM_SPECIES, CBD_SPECIES).astype(np.uint8),
        mass_pg=col.real_mass_pg.copy(), density_g_cm3=col.real_density.copy(),
        box_lo_um=sim.box_lo.copy(), box_hi_um=hi, periodic=sim.periodic.copy(),
        wall_z_um=walls_z, wall_side=walls_side, meta={"stage": stage, **meta})


def minimum_column_side_um(recipe: Recipe, n_am: int) -> float:
    """The smallest column cross-section side [µm] the slurry fits: twice the reach of the
    largest particle (its contact radius or half its LJ cut-off) and a margin, so no particle
    meets its own periodic image."""
    radius, _, lj = _dynamic(_particles(recipe, n_am), SLURRY_FORCE_FIELD,
                             recipe.slurry_cbd_radius_um())
    return _minimum_side_um(radius, lj)


def _minimum_side_um(radius: np.ndarray, lj: np.ndarray) -> float:
    reach = np.maximum(radius, 0.5 * lj[2])
    return float(2.0 * (2.0 * reach.max() + 0.3 * radius.min()) * 1.05)


def column_side_um(recipe: Recipe, n_am: int) -> float:
    """The column's cross-section side [µm]: the paper's 25.8 µm, or, for a recipe whose
    largest particles do not fit it (a graphite of 15 µm), 2 % above the smallest side that
    fits, rounded up to 0.1 µm; the film's thickness follows from ``n_am``."""
    need = minimum_column_side_um(recipe, n_am)
    return PAPER_BOX_XY_UM if PAPER_BOX_XY_UM > need else math.ceil(need * 10.2) / 10.0


def build_slurry(recipe: Recipe, n_am: int, box_xy_um: float, seed: int,
                 protocol: DryingProtocol) -> tuple[Simulation, _Column, float]:
    """Random slurry column at the recipe's wet-slurry volume; returns (simulation,
    bookkeeping, swollen CBD radius).

    The column height is the slurry volume (AM + compact CBD + solvent from the solid content,
    :meth:`Recipe.slurry_volume_um3`) over the cross-section.  The solvent-swollen CBD
    particles are soft, overlapping blobs at that density (their 6.2 µm contact diameters fill
    ~13 × the column), so the placement excludes only the Lennard-Jones cores: no two centres
    closer than the LJ minimum 2^{1/6} σ_ij (σ mixes arithmetically, so per-particle exclusion
    radii 2^{1/6} σ_i / 2 reproduce it).  A paste-like slurry (high solid content and a large
    CBD share: its nanoporous CBD particles hold most of the solvent) would need those cores
    to fill more than MAX_PLACEMENT_FRACTION of the column, beyond what random sequential
    addition reaches; it is placed in a taller column at PLACEMENT_FRACTION instead and the
    slurry equilibration's barostat consolidates it, as the paper's NPT run did from its
    dilute 200 × 200 × 1200 µm start.  The paper recipe (0.35) is placed at its wet volume.
    """
    col = _particles(recipe, n_am)
    r_cbd = recipe.slurry_cbd_radius_um()
    radius, mass, lj = _dynamic(col, SLURRY_FORCE_FIELD, r_cbd)
    min_xy = _minimum_side_um(radius, lj)
    if not box_xy_um > min_xy:
        raise ValueError(f"box_xy_um = {box_xy_um} µm is too small for the largest particle: "
                         f"the allowed range is ({min_xy:.3g}, inf) µm for this recipe")
    counts = recipe.counts_for_am(n_am)
    height = recipe.slurry_volume_um3(counts) / box_xy_um**2
    periodic = (True, True, protocol.mode == "periodic")
    exclusion = 0.5 * 2.0 ** (1.0 / 6.0) * lj[1]
    core_volume = float(np.sum(4.0 / 3.0 * np.pi * exclusion**3))
    if core_volume > MAX_PLACEMENT_FRACTION * box_xy_um**2 * height:
        height = core_volume / (PLACEMENT_FRACTION * box_xy_um**2)
    # wall mode: contact spheres start clear of the two planes.  A short column (few AM,
    # little CBD and solvent) can hold the cores by volume yet not the largest spheres with
    # their wall margins: then the column grows by one largest diameter per retry and the
    # barostat consolidates it, as for a paste
    for attempt in range(PLACEMENT_RETRIES + 1):
        try:
            pos = random_placement(exclusion, (0.0, 0.0, 0.0), (box_xy_um, box_xy_um, height),
                                   periodic, seed=seed, margin_um=radius)
            break
        except ValueError:
            if attempt == PLACEMENT_RETRIES:
                raise
            height += 2.0 * float(radius.max())
    walls = []
    if protocol.mode == "wall":
        walls = [Wall(0.0, 1, AL_TYPE), Wall(height, -1, TOP_TYPE)]
    sim = Simulation(pos, radius, mass, np.where(col.is_am, 0, 1),
                     SLURRY_FORCE_FIELD.contact_table(), (0.0, 0.0, 0.0),
                     (box_xy_um, box_xy_um, height), periodic=periodic,
                     dt_us=protocol.dt_slurry_us, walls=walls, lj=lj)
    return sim, col, r_cbd


@dataclass
class _StepControl:
    """Time-step factor of the drying run: halved each time a sub-block blows up and doubled
    back after ``restore_after`` stable sub-blocks, see :func:`_step_block`.  Every blow-up
    after the step was once doubled back doubles ``restore_after``: the step that blew up was
    then not only a transient's (a dense graphite slurry at 50 % solids blows up at 0.001 µs
    every ~2 000 steps), so the run settles at the smaller step instead of paying a blow-up
    and a re-run each time.  The
    protocol's step counts (checks, shrink, caps) are counts of the nominal step: a halved
    step runs twice as many, so every stage lasts the same simulated time."""

    scale: float = 1.0
    halvings: int = 0  # blow-ups over the run (reported)
    restores: int = 0  # times a halved step was doubled back
    stable_sub_blocks: int = 0
    nominal_steps: float = 0.0  # simulated time in nominal steps
    restore_after: int = RESTORE_AFTER_SUB_BLOCKS  # stable sub-blocks before a doubling

    def steps(self, nominal_steps: int) -> int:
        return int(round(nominal_steps / self.scale))


def _sub_block(sim: Simulation, protocol: DryingProtocol, thermo: Langevin,
               barostat: Berendsen, area_um2: float) -> float:
    if protocol.mode == "periodic":
        sim.run(SUB_STEPS, thermostat=thermo, barostat=barostat)
        return float(sim.pressure_tensor_kpa()[2, 2])
    sim.run(SUB_STEPS, thermostat=thermo)
    p = float(sim.mean_wall_force_z()[1]) / area_um2
    mu = float(barostat.scale_factor(p, SUB_STEPS * sim.dt, SUB_STEPS))
    floor = float(sim.wall_z[0])
    sim.position[:, 2] = floor + mu * (sim.position[:, 2] - floor)
    sim.wall_z[1] = floor + mu * (sim.wall_z[1] - floor)
    return p


def _step_block(sim: Simulation, protocol: DryingProtocol, thermo: Langevin,
                barostat: Berendsen, area_um2: float, nominal_steps: int,
                control: _StepControl) -> float:
    """Run one block of ``nominal_steps`` nominal steps' simulated time under the z pressure
    control; return the block-mean z pressure [kPa].

    Periodic mode: the Berendsen barostat scales z every step from P_zz (virial).  Wall mode:
    the same Berendsen law acts on the slab between the floor and the top plane: every
    ``SUB_STEPS`` steps the z coordinates (and the top plane) are scaled about the floor by
    μ = 1 - Δt (P0 - P)/(τ B), P the mean top-plane force over the sub-block per area.  An
    affine slab strain consolidates the whole column at once; a plane driven alone into the
    viscous slurry would meet mostly its drag.

    Time step.  A swollen CBD blob overlaps 60-150 others; their summed dashpots (LAMMPS
    gran/hertz/history γ_n = 30 per unit overlap) make the explicit step unstable above a
    limit that falls with the solvent content (measured at ``ci``: 96 wt % AM, 69 wt % solids
    runs at 0.001 µs; 94 wt % at 60 % solids blows up within 14 steps).  A sub-block whose
    integration blows up (:class:`~physics.engine.EngineInstability`) is re-run from its start
    with half the step; the blow-ups come from transients (a fresh placement's overlaps, the
    force-field switch), so after :data:`RESTORE_AFTER_SUB_BLOCKS` stable sub-blocks the step
    is doubled back, at the end of a block (a step that blows up again is halved again, and
    the stable stretch asked before the next doubling doubles, :class:`_StepControl`).  The
    physics is unchanged, only the cost.
    """
    pressures = []
    end = control.nominal_steps + max(SUB_STEPS, nominal_steps)
    while control.nominal_steps < end - 1e-9:
        snap = sim.snapshot()
        while True:
            try:
                pressures.append(_sub_block(sim, protocol, thermo, barostat, area_um2))
                control.stable_sub_blocks += 1
                control.nominal_steps += SUB_STEPS * control.scale
                break
            except EngineInstability as err:
                if control.scale <= 0.5 ** MAX_DT_HALVINGS:
                    raise EngineInstability(
                        f"{err} (the step was already halved {MAX_DT_HALVINGS} times)"
                    ) from err
                blown_at = sim.step_count
                sim.restore(snap)
                sim.dt *= 0.5
                control.scale *= 0.5
                control.halvings += 1
                control.stable_sub_blocks = 0
                if control.restores:  # not only a transient: ask a longer stable stretch
                    control.restore_after *= 2
                log.warning("stage %r: the integration blew up at step %d; re-running from "
                            "step %d with dt = %.3g µs", sim.stage, blown_at,
                            snap["step_count"], sim.dt)
    if control.scale < 1.0 and control.stable_sub_blocks >= control.restore_after:
        sim.dt *= 2.0
        control.scale *= 2.0
        control.restores += 1
        control.stable_sub_blocks = 0
        log.info("stage %r: stable for %d sub-blocks; step doubled back to %.3g µs at step %d",
                 sim.stage, control.restore_after, sim.dt, sim.step_count)
    return float(np.mean(pressures))


def _equilibrate(sim: Simulation, col: _Column, protocol: DryingProtocol, thermo: Langevin,
                 barostat: Berendsen, max_steps: int, phase: str, history: list,
                 progress: Callable[[dict], None] | None, control: _StepControl) -> None:
    area = float(sim.box_len[0] * sim.box_len[1])
    mass = float(col.real_mass_pg.sum())
    densities: list[float] = []
    start = control.nominal_steps
    while control.nominal_steps - start < max_steps:
        sim.stage = phase
        p = _step_block(sim, protocol, thermo, barostat, area, protocol.check_every, control)
        rho = mass / _film_volume(sim, protocol.mode)
        densities.append(rho)
        row = {"phase": phase, "step": sim.step_count, "time_us": sim.time_us,
               "density_g_cm3": rho, "pressure_kpa": p}
        history.append(row)
        if progress:
            progress(row)
        if len(densities) > protocol.window:
            change = abs(densities[-1] - densities[-1 - protocol.window]) / densities[-1]
            at_pressure = abs(p - protocol.pressure_kpa) < 0.25 * protocol.pressure_kpa
            if change < protocol.density_tol and (at_pressure or phase == "dried"):
                log.info("%s converged at step %d: density %.4f g/cm3 changed %.2e over %d "
                         "checks (tol %.1e)", phase, sim.step_count, rho, change,
                         protocol.window, protocol.density_tol)
                row["converged"] = True
                return
    log.warning("%s stopped at max steps %d without meeting the density criterion", phase,
                max_steps)


def dry_electrode(recipe: Recipe | None = None, n_am: int = FIDELITY_N_AM["fast"], *,
                  box_xy_um: float | None = None, seed: int = 0,
                  protocol: DryingProtocol | None = None,
                  progress: Callable[[dict], None] | None = None,
                  on_stage: Callable[[str, ParticleState], None] | None = None,
                  ) -> DryingResult:
    """Slurry -> dried electrode (see the module docstring for the protocol).

    Args:
        recipe: formulation (default: the paper's 96:2:2 at 69 wt % solids).
        n_am: number of AM particles (>= 1); CBD follows from the mass balance.
        box_xy_um: column cross-section side [µm] (default :func:`column_side_um`: the
            paper's 25.8 µm unless the recipe's largest particles need more).
        seed: random seed of the placement and the thermostat.
        protocol: numerical settings.
        progress: called with each convergence-check row.
        on_stage: called with (stage name, state) at the end of each stage: 'slurry',
            'shrunk' (after the shrink and force-field switch), 'dried' (re-equilibrated, top
            plane still on in the wall mode) and, in the wall mode, 'relaxed' (free surface);
            for diagnostics such as :func:`physics.structure.am_skeleton`.
    """
    recipe = recipe or paper_recipe()
    protocol = protocol or DryingProtocol()
    box_xy_um = column_side_um(recipe, n_am) if box_xy_um is None else box_xy_um
    t0 = time.perf_counter()
    sim, col, r_cbd = build_slurry(recipe, n_am, box_xy_um, seed, protocol)
    thermo = Langevin(protocol.temperature_k, protocol.damping_per_us, seed=seed)
    baro = Berendsen(protocol.pressure_kpa, protocol.barostat_tau_us,
                     protocol.barostat_modulus_kpa, axes=(False, False, True),
                     coupled=False, max_strain_per_step=protocol.max_strain_per_step)
    history: list[dict] = []
    meta = {"recipe": asdict(recipe), "n_am": n_am, "seed": seed,
            "protocol": asdict(protocol)}
    control = _StepControl()
    _equilibrate(sim, col, protocol, thermo, baro, protocol.max_slurry_steps, "slurry",
                 history, progress, control)
    slurry_state = _state(sim, col, protocol.mode, "slurry", meta)
    if on_stage:
        on_stage("slurry", slurry_state)

    # drying: gradual shrink + force-field blend under the applied pressure
    thermo = Langevin(protocol.temperature_k, protocol.drying_damping_per_us, seed=seed + 1)
    area = float(sim.box_len[0] * sim.box_len[1])
    n_stages = max(1, protocol.shrink_steps // protocol.check_every)
    dt_log = math.log(protocol.dt_dried_us / protocol.dt_slurry_us)
    for k in range(1, n_stages + 1):
        s = k / n_stages
        ff = blend(SLURRY_FORCE_FIELD, DRIED_FORCE_FIELD, s)
        r_now = r_cbd + (recipe.cbd_radius_dry_um - r_cbd) * s
        radius, mass, lj = _dynamic(col, ff, r_now)
        sim.dt = control.scale * protocol.dt_slurry_us * math.exp(dt_log * s)
        sim.stage = "shrink"
        sim.set_particles(radius=radius, mass=mass, lj=lj, table=ff.contact_table())
        p = _step_block(sim, protocol, thermo, baro, area, protocol.check_every, control)
        row = {"phase": "shrink", "step": sim.step_count, "time_us": sim.time_us,
               "cbd_radius_um": r_now,
               "density_g_cm3": float(col.real_mass_pg.sum()) / _film_volume(sim, protocol.mode),
               "pressure_kpa": p}
        history.append(row)
        if progress:
            progress(row)
    if on_stage:
        on_stage("shrunk", _state(sim, col, protocol.mode, "shrunk", meta))
    _equilibrate(sim, col, protocol, thermo, baro, protocol.max_dried_steps, "dried",
                 history, progress, control)
    if on_stage:
        on_stage("dried", _state(sim, col, protocol.mode, "dried", meta))
    if protocol.mode == "wall":
        # lift the top plane away: the film relaxes with a free surface
        sim.wall_z[1] = float(np.max(sim.position[:, 2] + sim.radius)) + 5.0
        sim.set_wall_velocity(1, 0.0)
        sim.stage = "relax"
        sim.run(control.steps(protocol.relax_steps), thermostat=thermo)
        history.append({"phase": "relax", "step": sim.step_count})
    dried_state = _state(sim, col, protocol.mode, "dried", meta)
    if on_stage and protocol.mode == "wall":
        on_stage("relaxed", dried_state)
    return DryingResult(slurry=slurry_state, dried=dried_state,
                        metrics=structure_metrics(dried_state),
                        slurry_metrics=structure_metrics(slurry_state), log=history,
                        wall_s=time.perf_counter() - t0, steps=sim.step_count,
                        dt_halvings=control.halvings, dt_restores=control.restores)
