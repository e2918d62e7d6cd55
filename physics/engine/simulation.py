"""The particle engine: a mutable working simulation around the numba kernels.

One engine serves the CGMD slurry/drying and the DEM calendering: spheres with per-type contact
coefficients (:class:`~physics.engine.contact.ContactTable`), optional per-particle
Lennard-Jones parameters, planes normal to z, periodic boundaries on any chosen axes, velocity
Verlet with rotation, a Langevin thermostat and a Berendsen barostat.

Units are the engine's (LIGGGHTS ``units micro``): µm, pg, µs; force nN; pressure kPa.

Example:
    >>> import numpy as np
    >>> from physics.engine import Simulation, liggghts_table
    >>> from physics.materials import NMC
    >>> table = liggghts_table([NMC])
    >>> sim = Simulation(position=np.array([[5.0, 5, 5], [7.0, 5, 5]]), radius=np.ones(2),
    ...                  mass=np.full(2, 19.5), ptype=np.zeros(2, int), table=table,
    ...                  box_lo=(0, 0, 0), box_hi=(12, 12, 12), periodic=(True, True, True),
    ...                  dt_us=1e-4, velocity=np.array([[0.5, 0, 0], [-0.5, 0, 0]]))
    >>> sim.run(2000)
    >>> bool(sim.velocity[0, 0] < 0)   # they bounced
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np

from physics.engine import _contact_kernels as ck
from physics.engine import _integrate_kernels as ik
from physics.engine import _neighbor_kernels as nk
from physics.engine._params import HIST_VECTOR_COLUMNS, N_HIST, kernel_params
from physics.engine.contact import ContactTable

BOLTZMANN_FJ_PER_K = 1.380649e-8  # k_B in engine energy units (1e-15 J) per kelvin
#: a particle faster than this has blown up [µm/µs = m/s]: granular flows move at < 10 m/s and
#: the fastest plane of any protocol here moves at 2 m/s.
MAX_SPEED_UM_US = 1.0e3
_HIST_FLIP = np.array([-1.0 if a in HIST_VECTOR_COLUMNS else 1.0 for a in range(N_HIST)])
CHECK_EVERY_STEPS = 2000  # check_finite at least this often (it also runs on each rebuild)


class EngineInstability(FloatingPointError):
    """The integration blew up (a non-finite or runaway particle); names stage, step, particle."""


@dataclass(frozen=True)
class Wall:
    """A plane normal to z.

    Attributes:
        z_um: height of the plane [µm].
        side: +1 when particles lie above it (floor, e.g. current collector), -1 when below
            (ceiling, e.g. calender roll).
        material: type index of the wall material in the contact table.
        velocity_um_us: z velocity of the plane [µm/µs = m/s].
    """

    z_um: float
    side: int
    material: int
    velocity_um_us: float = 0.0

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise ValueError(f"Wall.side = {self.side!r}; allowed values are +1 and -1")


@dataclass(frozen=True)
class Langevin:
    """Langevin thermostat (LAMMPS ``fix langevin``, translational only).

    Attributes:
        temperature_k: target temperature [K], >= 0.
        damping_per_us: friction rate γ [1/µs], > 0.
        seed: seed of the random force.
    """

    temperature_k: float
    damping_per_us: float
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.temperature_k >= 0 and math.isfinite(self.temperature_k)):
            raise ValueError(f"temperature_k = {self.temperature_k!r}; allowed range [0, inf)")
        if not (self.damping_per_us > 0 and math.isfinite(self.damping_per_us)):
            raise ValueError(f"damping_per_us = {self.damping_per_us!r}; allowed range (0, inf)")


@dataclass(frozen=True)
class Berendsen:
    """Berendsen barostat (J. Chem. Phys. 81 (1984) 3684) on the chosen periodic axes.

    Each step the box (and the particle positions, affinely) is scaled along a barostatted axis
    by μ = 1 - dt (P0 - P) / (τ B), clipped to |μ - 1| <= ``max_strain_per_step``.  With
    ``coupled`` all barostatted axes share μ from their mean pressure (isotropic), otherwise
    each axis follows its own diagonal pressure.  It drives a packing to the target pressure
    without the correct NPT fluctuations, which is what equilibration needs.

    Attributes:
        pressure_kpa: target pressure P0 [kPa].
        tau_us: relaxation time τ [µs], > 0.
        bulk_modulus_kpa: B, the assumed compressibility scale [kPa], > 0.
        axes: which axes are barostatted (each must be periodic).
        coupled: one scale factor for all barostatted axes.
        max_strain_per_step: per-step cap on |μ - 1|.
    """

    pressure_kpa: float
    tau_us: float
    bulk_modulus_kpa: float
    axes: tuple[bool, bool, bool] = (True, True, True)
    coupled: bool = True
    max_strain_per_step: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("tau_us", "bulk_modulus_kpa", "max_strain_per_step"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"Berendsen.{name} = {v!r}; allowed range (0, inf)")

    def scale_factor(self, pressure_kpa, interval_us: float, n_steps: int = 1):
        """μ = 1 - Δt (P0 - P)/(τ B) for a measured pressure P [kPa] over Δt = ``interval_us``,
        clipped to 1 ± ``n_steps`` × ``max_strain_per_step``."""
        mu = 1.0 - interval_us / (self.tau_us * self.bulk_modulus_kpa) * (
            self.pressure_kpa - np.asarray(pressure_kpa))
        cap = n_steps * self.max_strain_per_step
        return np.clip(mu, 1.0 - cap, 1.0 + cap)


def _chunks(total: int, n_chunks: int) -> np.ndarray:
    n_chunks = max(1, min(n_chunks, max(total, 1)))
    return np.linspace(0, total, n_chunks + 1).round().astype(np.int64)


def size_classes(reach: np.ndarray) -> np.ndarray:
    """Class index per particle: reach ratio within a class below 2, classes ascending."""
    raw = np.floor(np.log2(reach / reach.min()) + 1e-12).astype(np.int64)
    _, cls = np.unique(raw, return_inverse=True)
    return cls.astype(np.int64)


class Simulation:
    """Spheres, planes and a box advanced by velocity Verlet (mutable working state).

    Args:
        position: (n, 3) centres [µm].
        radius: (n,) contact radii [µm], > 0.
        mass: (n,) masses [pg], > 0.
        ptype: (n,) material type index into ``table``.
        table: contact coefficients (particle and wall materials).
        box_lo, box_hi: box corners [µm]; periodic axes wrap, others only bound the cell grid.
        periodic: periodicity of x, y, z.
        dt_us: time step [µs].
        walls: planes normal to z.
        lj: optional (epsilon [1e-15 J], sigma [µm], cutoff [µm]) per particle; ε and σ/cut-off
            mix geometrically/arithmetically (LAMMPS ``pair_modify mix`` as in the CGMD decks).
        velocity, omega: (n, 3) initial velocities [µm/µs] and angular velocities [rad/µs].
        skin_um: Verlet-list skin [µm] (default 0.3 × the smallest radius).
        n_threads: numba threads (default: numba's current setting).
    """

    def __init__(self, position, radius, mass, ptype, table: ContactTable, box_lo, box_hi,
                 periodic=(True, True, True), dt_us: float = 1e-4, walls: Sequence[Wall] = (),
                 lj=None, velocity=None, omega=None, skin_um: float | None = None,
                 n_threads: int | None = None) -> None:
        self.position = np.ascontiguousarray(position, dtype=np.float64).copy()
        n = self.position.shape[0]
        if self.position.shape != (n, 3):
            raise ValueError(f"position has shape {self.position.shape}; expected (n, 3)")
        self.radius = self._per_particle("radius", radius, n, positive=True)
        self.mass = self._per_particle("mass", mass, n, positive=True)
        self.ptype = np.ascontiguousarray(ptype, dtype=np.int64)
        if self.ptype.shape != (n,) or (n and (self.ptype.min() < 0
                                              or self.ptype.max() >= table.n_types)):
            raise ValueError(f"ptype must be (n,) integers in [0, {table.n_types - 1}]")
        self.table = table
        if not (dt_us > 0 and math.isfinite(dt_us)):
            raise ValueError(f"dt_us = {dt_us!r}; allowed range (0, inf)")
        self.dt = float(dt_us)
        self.params = kernel_params(table.params, self.dt)
        self._params_dt = self.dt
        self.box_lo = np.asarray(box_lo, dtype=np.float64).copy()
        self.box_len = np.asarray(box_hi, dtype=np.float64) - self.box_lo
        if self.box_len.shape != (3,) or np.any(self.box_len <= 0):
            raise ValueError(f"box_hi - box_lo = {self.box_len}; each length must be > 0 µm")
        self.periodic = np.asarray(periodic, dtype=np.bool_)
        self.velocity = self._vector("velocity", velocity, n)
        self.omega = self._vector("omega", omega, n)
        if lj is None:
            self.lj_eps = np.zeros(n)
            self.lj_sig = np.ones(n)
            self.lj_rc = np.zeros(n)
        else:
            eps, sig, rc = lj
            self.lj_eps = self._per_particle("lj epsilon", eps, n)
            self.lj_sig = self._per_particle("lj sigma", sig, n, positive=True)
            self.lj_rc = self._per_particle("lj cutoff", rc, n)
        self.inv_mass = 1.0 / self.mass
        self.inv_inertia = 1.0 / (0.4 * self.mass * self.radius**2)
        self.skin = float(skin_um if skin_um is not None else 0.3 * self.radius.min())
        if not self.skin > 0:
            raise ValueError(f"skin_um = {skin_um!r}; allowed range (0, inf)")
        for w in walls:
            if not 0 <= w.material < table.n_types:
                raise ValueError(f"Wall.material = {w.material}; allowed [0, {table.n_types - 1}]")
        self.wall_z = np.array([w.z_um for w in walls], dtype=np.float64)
        self.wall_side = np.array([w.side for w in walls], dtype=np.float64)
        self.wall_type = np.array([w.material for w in walls], dtype=np.int64)
        self.wall_vz = np.array([w.velocity_um_us for w in walls], dtype=np.float64)
        self.wall_force_z = np.zeros(len(walls))
        self._wall_force_sum = np.zeros(len(walls))
        self._wall_force_steps = 0
        self.wall_hist = np.zeros((n, len(walls), N_HIST))
        if n_threads is not None:
            numba.set_num_threads(int(n_threads))
        self.n_threads = numba.get_num_threads()

        self.force = np.zeros((n, 3))
        self.torque = np.zeros((n, 3))
        self.virial = np.zeros((3, 3))
        self.wall_virial = np.zeros((3, 3))
        self.pair_i = np.zeros(0, dtype=np.int64)
        self.pair_j = np.zeros(0, dtype=np.int64)
        self.pair_offsets = np.zeros(n + 1, dtype=np.int64)
        self.hist = np.zeros((0, N_HIST))
        self.step_count = 0
        self.time_us = 0.0
        self.n_rebuilds = 0
        self._particle_chunks = _chunks(n, self.n_threads)
        self._buf_f = np.zeros((self.n_threads, n, 3))
        self._buf_t = np.zeros((self.n_threads, n, 3))
        self._buf_w = np.zeros((self.n_threads, 3, 3))
        self._thermostat: Langevin | None = None
        self.stage = "engine"  # named in instability errors; protocols set it per phase
        self.rebuild_neighbors()
        self.compute_forces()

    # ------------------------------------------------------------------ set-up helpers
    @staticmethod
    def _per_particle(name, values, n, positive=False) -> np.ndarray:
        arr = np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)))
        arr = arr.copy()
        if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)) or np.any(arr < 0):
            allowed = "(0, inf)" if positive else "[0, inf)"
            raise ValueError(f"{name}: every value must be finite and in {allowed}")
        return arr

    @staticmethod
    def _vector(name, values, n) -> np.ndarray:
        if values is None:
            return np.zeros((n, 3))
        arr = np.ascontiguousarray(values, dtype=np.float64).copy()
        if arr.shape != (n, 3):
            raise ValueError(f"{name} has shape {arr.shape}; expected ({n}, 3)")
        return arr

    @property
    def n(self) -> int:
        return self.position.shape[0]

    @property
    def reach(self) -> np.ndarray:
        """Per-particle neighbour reach [µm]: max(radius, cut-off / 2)."""
        return np.maximum(self.radius, 0.5 * self.lj_rc)

    # ------------------------------------------------------------------ neighbour list
    def wrap(self) -> None:
        """Map positions on periodic axes into [lo, lo + L)."""
        for a in range(3):
            if self.periodic[a]:
                self.position[:, a] = self.box_lo[a] + np.mod(
                    self.position[:, a] - self.box_lo[a], self.box_len[a])

    def check_finite(self) -> None:
        """Raise :class:`EngineInstability` naming the stage, the step and the particle when a
        position or velocity is non-finite or a particle runs faster than MAX_SPEED_UM_US."""
        speed = np.sqrt(np.einsum("ij,ij->i", self.velocity, self.velocity))
        bad = ~(np.isfinite(self.position).all(axis=1) & np.isfinite(speed)) | (
            speed > MAX_SPEED_UM_US)
        if not bad.any():
            return
        k = int(np.flatnonzero(bad)[np.argmax(np.nan_to_num(speed[bad], nan=np.inf))])
        raise EngineInstability(
            f"stage {self.stage!r}: the integration blew up at step {self.step_count} "
            f"(t = {self.time_us:.6g} µs): particle {k} (type {int(self.ptype[k])}, radius "
            f"{self.radius[k]:.4g} µm) at {np.array2string(self.position[k], precision=4)} µm "
            f"moves at {speed[k]:.4g} m/s (limit {MAX_SPEED_UM_US:g}); {int(bad.sum())} "
            f"particle(s) affected; dt = {self.dt:.4g} µs: reduce it")

    _STATE_ARRAYS = ("position", "velocity", "omega", "force", "torque", "virial",
                     "wall_virial", "pair_i", "pair_j", "pair_offsets", "hist", "wall_z",
                     "wall_vz", "wall_force_z", "wall_hist", "box_lo", "box_len", "_pos_ref")

    def snapshot(self) -> dict:
        """A copy of the dynamic state (positions, velocities, contact histories, planes, box,
        clock) that :meth:`restore` puts back; particles, table and dt are not part of it."""
        snap = {name: getattr(self, name).copy() for name in self._STATE_ARRAYS}
        snap.update(step_count=self.step_count, time_us=self.time_us,
                    pair_chunks=self._pair_chunks.copy())
        return snap

    def restore(self, snap: dict) -> None:
        """Put back a :meth:`snapshot` (wall force averages restart)."""
        for name in self._STATE_ARRAYS:
            setattr(self, name, snap[name].copy())
        self.step_count, self.time_us = snap["step_count"], snap["time_us"]
        self._pair_chunks = snap["pair_chunks"].copy()
        self._wall_force_sum[:] = 0.0
        self._wall_force_steps = 0

    def rebuild_neighbors(self) -> None:
        """Wrap, rebuild the half Verlet list (multi-class cell grids), carry the history."""
        self.check_finite()
        self.wrap()
        reach = self.reach
        max_cut = 2.0 * reach.max() + self.skin
        for a in range(3):
            if self.periodic[a] and self.box_len[a] <= 2.0 * max_cut:
                raise ValueError(
                    f"box length along {'xyz'[a]} = {self.box_len[a]:.4g} µm must exceed twice "
                    f"the largest pair cut-off ({2 * max_cut:.4g} µm) on a periodic axis")
        cls = size_classes(reach)
        n_cls = int(cls.max()) + 1
        members = [np.flatnonzero(cls == c).astype(np.int64) for c in range(n_cls)]
        cls_reach = np.array([reach[m].max() for m in members])
        lo = self.box_lo.copy()
        span = self.box_len.copy()
        for a in range(3):
            if not self.periodic[a] and self.n:
                lo[a] = min(self.position[:, a].min(), self.box_lo[a])
                span[a] = max(self.position[:, a].max(), self.box_lo[a] + self.box_len[a]) - lo[a]
        grids = []
        for c in range(n_cls):
            want = 2.0 * cls_reach[c] + self.skin
            n_cell = np.maximum(1, np.floor(span / want)).astype(np.int64)
            while n_cell.prod() > 8 * self.n + 1000:  # cap memory for sparse boxes
                n_cell = np.maximum(1, n_cell // 2)
            size = np.where(self.periodic, span / n_cell, np.maximum(span / n_cell, want))
            start, items = nk.bin_members(self.position, members[c], lo, size, n_cell,
                                          self.periodic)
            grids.append((start, items, size, n_cell))
        counts = np.zeros(self.n, dtype=np.int64)
        out = np.zeros(0, dtype=np.int64)
        cursor = np.zeros(self.n, dtype=np.int64)
        for fill in (False, True):
            if fill:
                offsets = np.zeros(self.n + 1, dtype=np.int64)
                np.cumsum(counts, out=offsets[1:])
                out = np.empty(offsets[-1], dtype=np.int64)
                cursor = offsets[:-1].copy()
            for a in range(n_cls):
                for b in range(a, n_cls):
                    start, items, size, n_cell = grids[b]
                    cut = cls_reach[a] + cls_reach[b] + self.skin
                    stencil = np.ceil(cut / size).astype(np.int64)
                    nk.scan_pairs(self.position, reach, members[a], a == b, start, items, lo,
                                  size, n_cell, stencil, self.periodic, self.box_len, self.skin,
                                  counts, out, cursor, fill)
        pair_i = np.empty_like(out)
        nk.sort_segments(offsets, out, pair_i)
        hist = np.zeros((out.shape[0], N_HIST))
        if self.hist.shape[0]:
            nk.transfer_history(pair_i, out, hist, self.pair_offsets, self.pair_j, self.hist,
                                _HIST_FLIP)
        self.pair_i, self.pair_j, self.pair_offsets, self.hist = pair_i, out, offsets, hist
        self._pair_chunks = _chunks(out.shape[0], self.n_threads)
        self._pos_ref = self.position.copy()
        self.n_rebuilds += 1

    def set_particles(self, radius=None, mass=None, lj=None, table: ContactTable | None = None,
                      ) -> None:
        """Change radii [µm], masses [pg], LJ parameters or the contact table mid-run (e.g. CBD
        shrinking during drying, a force-field switch); the neighbour list is rebuilt."""
        if radius is not None:
            self.radius = self._per_particle("radius", radius, self.n, positive=True)
        if mass is not None:
            self.mass = self._per_particle("mass", mass, self.n, positive=True)
        if lj is not None:
            eps, sig, rc = lj
            self.lj_eps = self._per_particle("lj epsilon", eps, self.n)
            self.lj_sig = self._per_particle("lj sigma", sig, self.n, positive=True)
            self.lj_rc = self._per_particle("lj cutoff", rc, self.n)
        if table is not None:
            if table.n_types != self.table.n_types:
                raise ValueError(f"table has {table.n_types} types; expected {self.table.n_types}")
            self.table = table
            self.params = kernel_params(table.params, self.dt)
            self._params_dt = self.dt
        self.inv_mass = 1.0 / self.mass
        self.inv_inertia = 1.0 / (0.4 * self.mass * self.radius**2)
        self.rebuild_neighbors()

    # ------------------------------------------------------------------ dynamics
    def compute_forces(self) -> None:
        """Pair + wall (+ thermostat) forces and torques at the current state."""
        nch = self._pair_chunks.shape[0] - 1
        if nch == 1:  # one chunk accumulates straight into the force arrays
            bufs = (self.force[None], self.torque[None], self.virial[None])
        else:
            bufs = (self._buf_f[:nch], self._buf_t[:nch], self._buf_w[:nch])
        if self._params_dt != self.dt:  # the bridge's per-step factors follow dt
            self.params = kernel_params(self.table.params, self.dt)
            self._params_dt = self.dt
        ck.pair_forces(self.position, self.velocity, self.omega, self.radius, self.mass,
                       self.ptype, self.lj_eps, self.lj_sig, self.lj_rc, self.pair_i,
                       self.pair_j, self.hist, self.params, self.box_len, self.periodic, self.dt,
                       self._pair_chunks, *bufs)
        if nch > 1:
            ck.reduce_buffers(*bufs, self.force, self.torque, self.virial)
        if self.wall_z.shape[0]:
            ck.wall_forces(self.position, self.velocity, self.omega, self.radius, self.mass,
                           self.ptype, self.wall_z, self.wall_side, self.wall_type, self.wall_vz,
                           self.wall_hist, self.params, self.dt, self.force, self.torque,
                           self.wall_force_z, self.wall_virial)
        if self._thermostat is not None:
            t = self._thermostat
            ik.langevin_forces(self.force, self.velocity, self.mass, t.damping_per_us,
                               BOLTZMANN_FJ_PER_K * t.temperature_k, self.dt)

    def _barostat_step(self, b: Berendsen) -> None:
        p = self.pressure_tensor_kpa().diagonal()
        axes = np.asarray(b.axes, dtype=bool)
        mu = np.ones(3)
        mu[axes] = b.scale_factor(p[axes].mean() if b.coupled else p[axes], self.dt)
        ik.scale_positions(self.position, self.box_lo, mu)
        self.box_len *= mu

    def deform_affine(self, strain, origin=None) -> None:
        """Apply a homogeneous strain with diagonal ``strain`` (ε_x, ε_y, ε_z) [-]:
        x_a -> o_a + (1 + ε_a)(x_a - o_a) for the particles, the box and the planes (z), about
        ``origin`` [µm] (default the box's lower corner).  The contact histories take the
        affine relative displacement (``affine_contact_history``: tangential springs, binder
        bridges), so that a relaxation from the strained state is the quasi-static response
        to the strain; velocities are kept.  The neighbour list is rebuilt."""
        eps = np.asarray(strain, dtype=np.float64)
        if eps.shape != (3,) or not np.all(np.isfinite(eps)) or np.any(eps <= -1.0):
            raise ValueError(f"strain = {strain!r}; expected 3 finite values, each > -1")
        o = self.box_lo.copy() if origin is None else np.asarray(origin, dtype=np.float64)
        factor = 1.0 + eps
        ck.affine_contact_history(self.position, self.radius, self.ptype, self.pair_i,
                                  self.pair_j, self.hist, self.params, self.box_len,
                                  self.periodic, eps)
        ik.scale_positions(self.position, o, factor)
        self.box_lo = o + factor * (self.box_lo - o)
        self.box_len = self.box_len * factor
        self.wall_z = o[2] + factor[2] * (self.wall_z - o[2])
        self.rebuild_neighbors()

    def run(self, n_steps: int, thermostat: Langevin | None = None,
            barostat: Berendsen | None = None,
            callback: Callable[[Simulation], bool | None] | None = None,
            callback_every: int = 1000) -> None:
        """Advance ``n_steps`` velocity-Verlet steps.

        ``callback(sim)`` runs every ``callback_every`` steps; returning True stops the run.
        """
        if barostat is not None:
            bad = [a for a in range(3) if barostat.axes[a] and not self.periodic[a]]
            if bad:
                raise ValueError(f"Berendsen.axes: axis {'xyz'[bad[0]]} is not periodic")
        if thermostat is not None and thermostat is not self._thermostat:
            ik.seed_rng(int(thermostat.seed))
        self._thermostat = thermostat
        half_skin_sq = (0.5 * self.skin) ** 2
        for _ in range(int(n_steps)):
            d2 = ik.kick_drift(self.position, self.velocity, self.omega, self.force, self.torque,
                               self.inv_mass, self.inv_inertia, self.dt, self._pos_ref,
                               self._particle_chunks)
            if self.wall_z.shape[0]:
                self.wall_z += self.wall_vz * self.dt
            if barostat is not None:
                self._barostat_step(barostat)
                d2 = max(d2, float(np.max(np.sum((self.position - self._pos_ref) ** 2, 1))))
            if not d2 <= half_skin_sq:  # (a NaN fails d2 <= ...)
                self.rebuild_neighbors()  # runs check_finite first
            elif self.step_count % CHECK_EVERY_STEPS == 0:
                self.check_finite()
            self.compute_forces()
            ik.kick(self.velocity, self.omega, self.force, self.torque, self.inv_mass,
                    self.inv_inertia, self.dt)
            if self.wall_z.shape[0]:
                self._wall_force_sum += self.wall_force_z
                self._wall_force_steps += 1
            self.step_count += 1
            self.time_us += self.dt
            if callback is not None and self.step_count % callback_every == 0 and callback(self):
                break

    def mean_wall_force_z(self, reset: bool = True) -> np.ndarray:
        """Time-averaged z force of the particles on each plane since the last reset [nN]
        (the instantaneous ``wall_force_z`` of a rigid plane on a granular bed is noisy)."""
        if self._wall_force_steps == 0:
            return self.wall_force_z.copy()
        mean = self._wall_force_sum / self._wall_force_steps
        if reset:
            self._wall_force_sum[:] = 0.0
            self._wall_force_steps = 0
        return mean

    def set_wall_velocity(self, wall: int, velocity_um_us: float) -> None:
        """Set the z velocity of plane ``wall`` [µm/µs = m/s]."""
        self.wall_vz[wall] = velocity_um_us

    # ------------------------------------------------------------------ diagnostics
    @property
    def volume_um3(self) -> float:
        return float(np.prod(self.box_len))

    def kinetic_energy(self) -> float:
        """Translational + rotational kinetic energy [1e-15 J]."""
        inertia = 0.4 * self.mass * self.radius**2
        return float(0.5 * np.sum(self.mass[:, None] * self.velocity**2)
                     + 0.5 * np.sum(inertia[:, None] * self.omega**2))

    def potential_energy(self) -> float:
        """Hertz elastic + Lennard-Jones energy [1e-15 J] (see ``potential_energy`` kernel)."""
        return float(ck.potential_energy(
            self.position, self.radius, self.ptype, self.lj_eps, self.lj_sig, self.lj_rc,
            self.pair_i, self.pair_j, self.params, self.box_len, self.periodic,
            self.wall_z, self.wall_side, self.wall_type))

    def momentum(self) -> np.ndarray:
        """Total linear momentum [pg µm/µs]."""
        return (self.mass[:, None] * self.velocity).sum(0)

    def angular_momentum(self, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
        """Orbital + spin angular momentum about ``origin`` [pg µm²/µs]."""
        r = self.position - np.asarray(origin)
        orbital = np.cross(r, self.mass[:, None] * self.velocity).sum(0)
        spin = ((0.4 * self.mass * self.radius**2)[:, None] * self.omega).sum(0)
        return orbital + spin

    def pressure_tensor_kpa(self) -> np.ndarray:
        """(Σ m v⊗v + Σ r_ij⊗F_ij) / V [kPa] from the last force evaluation (pairs only)."""
        return (ik.kinetic_tensor(self.velocity, self.mass) + self.virial) / self.volume_um3

    def cauchy_stress_kpa(self, volume_um3: float) -> np.ndarray:
        """Average (Cauchy) stress of the packing in ``volume_um3`` [kPa], tension positive.

        σ = -(Σ m v⊗v + Σ_pairs r_ij⊗F_ij + Σ_wall contacts (x_i - x_c)⊗F_i) / V, Love's
        average-stress formula with the plane contacts as boundary tractions (Christoffersen,
        Mehrabadi & Nemat-Nasser, J. Appl. Mech. 48 (1981) 339).  In static equilibrium between
        two planes σ_zz = -F_plane / area exactly (the average-stress theorem).
        """
        if not volume_um3 > 0:
            raise ValueError(f"volume_um3 = {volume_um3!r}; allowed range (0, inf)")
        return -(ik.kinetic_tensor(self.velocity, self.mass) + self.virial
                 + self.wall_virial) / volume_um3

    def contact_stress_by_type_kpa(self, volume_um3: float) -> dict[tuple[str, str], np.ndarray]:
        """The particle-contact part of the average stress split by type pair [kPa] (tension
        positive): -Σ_pairs of that type r_ij ⊗ F_ij / V, the load path through each kind
        of contact (LJ and plane contacts excluded; the types' names from the table)."""
        if not volume_um3 > 0:
            raise ValueError(f"volume_um3 = {volume_um3!r}; allowed range (0, inf)")
        n = len(self.table.names)
        w = ck.contact_virial_by_type(self.position, self.velocity, self.omega, self.radius,
                                      self.mass, self.ptype, self.pair_i, self.pair_j,
                                      self.hist, self.params, self.box_len, self.periodic,
                                      self.dt, n)
        return {(self.table.names[a], self.table.names[b]): -w[a, b] / volume_um3
                for a in range(n) for b in range(a, n)}

    def contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """(i, j) index arrays of the pairs in contact (overlap > 0)."""
        d = self.position[self.pair_i] - self.position[self.pair_j]
        for a in range(3):
            if self.periodic[a]:
                d[:, a] -= self.box_len[a] * np.rint(d[:, a] / self.box_len[a])
        touch = np.einsum("ij,ij->i", d, d) < (self.radius[self.pair_i]
                                                + self.radius[self.pair_j]) ** 2
        return self.pair_i[touch], self.pair_j[touch]

    def coordination_numbers(self) -> np.ndarray:
        """Number of particle contacts of each particle (walls excluded)."""
        i, j = self.contacts()
        return np.bincount(i, minlength=self.n) + np.bincount(j, minlength=self.n)
