"""Directional small-strain stiffness of a film between the current collector and a platen:
:func:`film_stiffness` (a calendered :class:`ParticleState` with the contact law it was
calendered with), :func:`measure_stiffness` (the test on a working engine ``Simulation``) and
their :class:`StiffnessResult`.

The test (a DEM strain probe, as in granular micromechanics: Agnolin & Roux, Phys. Rev. E 76
(2007) 061304).  The film, periodic in x and y, sits on the Al floor under a rigid platen
(the calender roll where the release left it).  The reference: film and platen are
compressed together, affinely about the floor, to a stack pressure (``preload_mpa``), and the
film relaxes under a zero-temperature drag until its stress has settled and its particles are
at rest (a settled packing keeps stiffening while its contacts slide to rest).  From it, a
homogeneous strain ±ε is applied along x, y and z in turn with the other two strains held at
zero: along x or y the periodic box and the positions scale, along z the positions and the
platen scale about the floor (``Simulation.deform_affine``, which also gives the contact
histories the affine relative displacement).  The seven states (reference and six strained)
relax block by block in turn until each column

    C_ij = [σ_ii(+ε_j) - σ_ii(-ε_j)] / (2 ε)    [MPa]

has settled; σ is the Cauchy stress (Love's average over the pair and plane contacts,
``Simulation.cauchy_stress_kpa``, volume = box area × plane gap).  That is the normal block of
the tangent stiffness under uniaxial strain (C_xx, C_yy, C_zz and the Poisson couplings).  The
unstrained state, relaxed alongside, gives the one-sided slopes (σ(+ε) - σ(0))/ε ("load") and
(σ(0) - σ(-ε))/ε ("unload"), whose difference measures how far the response is from linear;
the reference's own drift cancels in every difference.

Orthotropic moduli: assuming x, y and z are the principal axes of the film (the press is a
uniaxial plane compression, so x and y are statistically alike; neither is the roll's machine
direction), the compliance S = C_sym^-1 of the symmetric part of the normal block gives
E_i = 1/S_ii and ν_ij = -S_ij/S_ii (contraction along j under stress along i).  The shear
block is not measured.

What the numbers are: the tangent stiffness at the stack pressure and the strain amplitude,
plane contacts included.  A cohesive packing with Table 2's friction (μ = 0.001) responds
linearly only while its contacts stick, up to strains of ~μ F_n/(k_t ℓ) (~1e-7 on the ci
films); above that the contacts slide and the secant stiffness falls, and the stiffness grows
with the stack pressure (docs/validation/anisotropy.md measures both); ``nonlinearity``
reports the load/unload difference.

Units: µm, pg, µs inside (force nN, pressure kPa); MPa, µm, m/s at the interface.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from physics.calender.binder import ProcessConditions
from physics.calender.fracture import KPA_PER_MPA
from physics.calender.protocol import CalenderProtocol, _Press
from physics.engine import Langevin, Simulation
from physics.materials import DIAMOND, STEEL, _check_range
from physics.state import ParticleState

#: the platen materials by name: a non-adhesive diamond face (the default, as the indenter's)
#: or the roll's steel with Table 2's cohesion
PLATENS = {"diamond": DIAMOND, "steel": STEEL}
AXES = "xyz"
#: stages of a structure the DEM press left (its contacts already follow the DEM law)
DEM_STAGES = ("calendered", "uncalendered", "compressed")


@dataclass(frozen=True)
class StiffnessTest:
    """Settings of the strain probe (module docstring).

    Attributes:
        strain: amplitude ε of each strain step [-], in [1e-10, 1e-2] (default 1e-7: Table
            2's contacts (μ = 0.001) begin to slide near 1e-7, and the secant stiffness falls
            by ~13 % from 1e-7 to 1e-6 on the 20 MPa ci film).
        preload_mpa: platen pressure of the reference [MPa], in [1e-4, 100] (default 0.1,
            a cell's stack pressure); None keeps the platen where it is (a structure already
            loaded, e.g. a lattice test).
        preload_tol: accepted relative deviation of the reached pre-load, in (0, 1).
        prestrain: first affine compression towards the pre-load [-], in [1e-6, 0.1].
        max_preload_steps: most compressions towards the pre-load, >= 1.
        platen: the platen's material, a name of ``PLATENS``.
        damping_per_us: rate of the zero-temperature drag of every relaxation [1/µs], in
            (0, 1e4].
        block_steps: steps between two stress readings, >= 1.
        min_blocks, max_blocks: shortest and longest relaxation of one strained state [blocks].
        rtol: a strained state counts as relaxed when its stress changed over the last
            ``window`` blocks by less than rtol × its change from the reference, in (0, 1).
        window: blocks of that comparison, >= 1.
        rest_speed_m_s: the reference counts as at rest when 95 % of its particles move
            slower than this [m/s], in (0, 1]: a packing whose stress has settled still ages
            while its contacts slide to rest, and its response stiffens with it (measured:
            ×2.2 on the 5 MPa ci film between an rms speed of 3e-2 and 1e-4 m/s).
        max_settle_blocks: longest relaxation of the reference [blocks], >= min_blocks.
    """

    strain: float = 1e-7
    preload_mpa: float | None = 0.1
    preload_tol: float = 0.15
    prestrain: float = 1e-3
    max_preload_steps: int = 8
    platen: str = "steel"
    damping_per_us: float = 20.0
    block_steps: int = 50
    min_blocks: int = 6
    max_blocks: int = 100
    rtol: float = 0.01
    window: int = 3
    rest_speed_m_s: float = 1e-4
    max_settle_blocks: int = 300

    def __post_init__(self) -> None:
        _check_range("StiffnessTest.strain", self.strain, 1e-10, 1e-2)
        if self.preload_mpa is not None:
            _check_range("StiffnessTest.preload_mpa", self.preload_mpa, 1e-4, 100.0)
        _check_range("StiffnessTest.preload_tol", self.preload_tol, 0.0, 1.0, lo_open=True,
                     hi_open=True)
        if self.platen not in PLATENS:
            raise ValueError(f"StiffnessTest.platen = {self.platen!r}; allowed: "
                             f"{', '.join(PLATENS)}")
        _check_range("StiffnessTest.damping_per_us", self.damping_per_us, 0.0, 1e4,
                     lo_open=True)
        _check_range("StiffnessTest.prestrain", self.prestrain, 1e-6, 0.1)
        _check_range("StiffnessTest.rtol", self.rtol, 0.0, 1.0, lo_open=True, hi_open=True)
        _check_range("StiffnessTest.rest_speed_m_s", self.rest_speed_m_s, 0.0, 1.0,
                     lo_open=True)
        for name in ("block_steps", "min_blocks", "window", "max_preload_steps",
                     "max_settle_blocks"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"StiffnessTest.{name} = {getattr(self, name)!r}; allowed: "
                                 "an integer >= 1")
        if not (isinstance(self.max_blocks, int) and self.max_blocks >= self.min_blocks):
            raise ValueError(f"StiffnessTest.max_blocks = {self.max_blocks!r}; allowed: an "
                             f"integer >= min_blocks ({self.min_blocks})")


@dataclass(frozen=True)
class StiffnessResult:
    """The normal block of the film's tangent stiffness (module docstring).

    Attributes:
        stiffness_mpa: C_ij = dσ_i/dε_j [MPa], 3×3 row-major (i the stress, j the strain
            axis; x, y, z), central differences.
        stiffness_load_mpa, stiffness_unload_mpa: the one-sided diagonal slopes
            (σ(+ε) - σ(0))/ε and (σ(0) - σ(-ε))/ε [MPa] per axis.
        nonlinearity: |load - unload| / C_ii per axis [-] (0 for a linear response).
        asymmetry: max |C_ij - C_ji| / mean C_ii [-] (0 for an elastic, reciprocal response).
        young_modulus_mpa: orthotropic E_x, E_y, E_z [MPa] from S = C_sym^-1 (NaN when C_sym
            is not positive definite).
        poisson_ratio: ν_ij = -S_ij/S_ii for ij in xy, xz, yx, yz, zx, zy [-].
        strain: the amplitude ε [-].
        preload_mpa: the platen pressure of the relaxed reference [MPa].
        stress_reference_mpa: the reference's Cauchy stress [MPa], 3×3 row-major, tension
            positive.
        thickness_um: plane gap of the reference [µm]; area_um2 its box cross-section [µm²].
        relax_steps: steps of each strained relaxation, per axis.
        converged: per axis, whether the + state relaxed within ``max_blocks``.
        preload_steps: steps of the approach to the pre-load and of the reference's rest;
            steps: all steps of the test.
        reference_speed_m_s: 95th percentile of the reference's particle speeds [m/s];
            at_rest whether it is below ``rest_speed_m_s``.
        n_particles, wall_s: particles and wall time [s].
    """

    stiffness_mpa: tuple[float, ...]
    stiffness_load_mpa: tuple[float, float, float]
    stiffness_unload_mpa: tuple[float, float, float]
    nonlinearity: tuple[float, float, float]
    asymmetry: float
    young_modulus_mpa: tuple[float, float, float]
    poisson_ratio: dict = field(default_factory=dict)
    strain: float = 0.0
    preload_mpa: float = 0.0
    stress_reference_mpa: tuple[float, ...] = ()
    thickness_um: float = 0.0
    area_um2: float = 0.0
    relax_steps: tuple[int, int, int] = (0, 0, 0)
    converged: tuple[bool, bool, bool] = (False, False, False)
    preload_steps: int = 0
    reference_speed_m_s: float = 0.0
    at_rest: bool = False
    steps: int = 0
    n_particles: int = 0
    wall_s: float = 0.0

    @property
    def matrix_mpa(self) -> np.ndarray:
        return np.asarray(self.stiffness_mpa, dtype=float).reshape(3, 3)

    def diagonal_mpa(self) -> dict[str, float]:
        """C_xx, C_yy, C_zz [MPa] by axis name."""
        c = self.matrix_mpa
        return {a: float(c[k, k]) for k, a in enumerate(AXES)}

    def summary(self) -> dict:
        """Flat outputs with units in the names (``etwin stiffness --json``, the pipeline)."""
        c = self.matrix_mpa
        out: dict = {f"stiffness_{a}{b}_mpa": float(c[i, j]) for i, a in enumerate(AXES)
                     for j, b in enumerate(AXES)}
        out.update({f"young_modulus_{a}_mpa": float(e)
                    for a, e in zip(AXES, self.young_modulus_mpa, strict=True)})
        out.update({f"poisson_{k}": float(v) for k, v in self.poisson_ratio.items()})
        out.update({f"nonlinearity_{a}": float(v)
                    for a, v in zip(AXES, self.nonlinearity, strict=True)})
        out.update({"stiffness_asymmetry": self.asymmetry, "strain": self.strain,
                    "preload_mpa": self.preload_mpa,
                    "stress_reference_mpa": list(self.stress_reference_mpa),
                    "thickness_um": self.thickness_um, "area_um2": self.area_um2,
                    "relax_steps": list(self.relax_steps), "converged": list(self.converged),
                    "preload_steps": self.preload_steps,
                    "reference_speed_m_s": self.reference_speed_m_s, "at_rest": self.at_rest,
                    "steps": self.steps,
                    "n_particles": self.n_particles, "wall_s": self.wall_s})
        return out


def orthotropic_moduli(stiffness_mpa) -> tuple[tuple[float, float, float], dict]:
    """E_i = 1/S_ii [MPa] and ν_ij = -S_ij/S_ii [-] of the symmetric part of a 3×3 normal
    stiffness block, S its inverse (orthotropic elasticity, e.g. Lekhnitskii, Theory of
    Elasticity of an Anisotropic Body, §3); NaN where it is not positive definite."""
    c = np.asarray(stiffness_mpa, dtype=float).reshape(3, 3)
    sym = 0.5 * (c + c.T)
    nan = (math.nan,) * 3, {f"{a}{b}": math.nan for a in AXES for b in AXES if a != b}
    if not np.all(np.isfinite(sym)) or np.linalg.eigvalsh(sym).min() <= 0.0:
        return nan
    s = np.linalg.inv(sym)
    young = tuple(float(1.0 / s[k, k]) for k in range(3))
    poisson = {f"{a}{b}": float(-s[i, j] / s[i, i]) for i, a in enumerate(AXES)
               for j, b in enumerate(AXES) if i != j}
    return young, poisson


# ---------------------------------------------------------------------------- the probe
class _Probe:
    """The working simulation with its floor (plane ``floor``) and platen (plane ``top``)."""

    def __init__(self, sim: Simulation, floor: int, top: int, test: StiffnessTest) -> None:
        self.sim, self.floor, self.top, self.test = sim, floor, top, test
        self.drag = Langevin(0.0, test.damping_per_us)
        self.steps = 0  # steps run (the clock of the simulation goes back on each restore)

    def run(self, n_steps: int) -> None:
        self.sim.run(n_steps, thermostat=self.drag)
        self.steps += n_steps

    @property
    def thickness_um(self) -> float:
        return float(self.sim.wall_z[self.top] - self.sim.wall_z[self.floor])

    @property
    def area_um2(self) -> float:
        return float(self.sim.box_len[0] * self.sim.box_len[1])

    def stress_mpa(self) -> np.ndarray:
        """Cauchy stress of the film at the last force evaluation [MPa], tension positive."""
        return self.sim.cauchy_stress_kpa(self.area_um2 * self.thickness_um) / KPA_PER_MPA

    def block(self) -> np.ndarray:
        """Run one block; the diagonal stress at its end [MPa]."""
        self.run(self.test.block_steps)
        return self.stress_mpa().diagonal().copy()

    def strain(self, axis: int, eps: float) -> None:
        e = np.zeros(3)
        e[axis] = eps
        s = self.sim
        s.deform_affine(e, origin=(s.box_lo[0], s.box_lo[1], float(s.wall_z[self.floor])))

    def speed_m_s(self) -> float:
        """95th percentile of the particle speeds [m/s = µm/µs] (a few CBD particles that
        slide on slowly, e.g. along the floor, do not hold up the rest of the film)."""
        return float(np.percentile(np.linalg.norm(self.sim.velocity, axis=1), 95))

    def settle(self, scale_mpa: float, rest: bool = False) -> np.ndarray:
        """Relax at fixed planes until the diagonal stress changes by less than ``rtol`` ×
        ``scale_mpa`` over ``window`` blocks and, with ``rest``, 95 % of the particles move
        slower than ``rest_speed_m_s`` (``min_blocks`` to ``max_settle_blocks``); returns it."""
        t = self.test
        rows = [self.block() for _ in range(t.window + 1)]
        while len(rows) < t.max_settle_blocks and (
                len(rows) < t.min_blocks
                or np.abs(rows[-1] - rows[-1 - t.window]).max() > t.rtol * scale_mpa
                or (rest and self.speed_m_s() > t.rest_speed_m_s)):
            rows.append(self.block())
        return rows[-1]

    def preload(self, target_mpa: float) -> None:
        """Press the film to ``target_mpa`` on the platen by affine z compressions of film
        and platen together about the floor, each followed by :meth:`settle`: first
        ``prestrain``, then secant steps on the settled pressure against the total
        compression (through zero load after the first, through the last two after that:
        the film unloads and reloads along a steeper branch than it first loaded on),
        until the settled pressure is within ``preload_tol``.  An affine compression loads
        every contact at once, so the film settles in a few hundred steps, where a platen
        pushed onto it has to compact it from the top (measured: 5-30 × slower)."""
        t = self.test
        points = [(0.0, 0.0)]  # (total compression, settled platen pressure [MPa])
        step = t.prestrain
        for _ in range(t.max_preload_steps):
            self.strain(2, -step)
            total = points[-1][0] + step
            pressure = -self.settle(target_mpa)[2]
            points.append((total, pressure))
            if abs(pressure - target_mpa) <= t.preload_tol * target_mpa:
                return
            (e0, p0), (e1, p1) = points[-2], points[-1]
            slope = (p1 - p0) / (e1 - e0) if len(points) > 2 else p1 / e1
            if not slope > 0.0:
                slope = max(p1, 0.0) / e1
            step = (target_mpa - p1) / slope if slope > 0.0 else 2.0 * total
            step = min(max(step, -0.7 * total), 2.0 * total)
        raise RuntimeError(
            f"stiffness test: the platen pressure is {points[-1][1]:.4g} MPa, not the "
            f"pre-load {target_mpa:g} MPa ± {100 * t.preload_tol:g} %, after "
            f"max_preload_steps = {t.max_preload_steps} compressions (total strain "
            f"{points[-1][0]:.3g})")


def _probe_axes(probe: _Probe, reference: dict, eps: float) -> dict:
    """The six strained states and the unstrained one, advanced block by block in turn
    (``Simulation.snapshot``/``restore``), so that each axis stops when its central-
    difference column has settled: it changed over ``window`` blocks by less than ``rtol``
    × C_jj (``min_blocks`` to ``max_blocks``).  Returns the stress rows per state and the
    blocks and convergence per axis."""
    t, sim = probe.test, probe.sim
    states, rows = {"ref": reference}, {"ref": []}
    for axis in range(3):
        for sign in (1, -1):
            sim.restore(reference)
            probe.strain(axis, sign * eps)
            states[axis, sign] = sim.snapshot()
            rows[axis, sign] = []
    columns: dict[int, list[np.ndarray]] = {axis: [] for axis in range(3)}
    active, blocks, converged = [0, 1, 2], {}, {}
    n = 0
    while active and n < t.max_blocks:
        for key in ["ref", *[(a, sign) for a in active for sign in (1, -1)]]:
            sim.restore(states[key])
            rows[key].append(probe.block())
            states[key] = sim.snapshot()
        n += 1
        for axis in list(active):
            col = (rows[axis, 1][-1] - rows[axis, -1][-1]) / (2.0 * eps)
            columns[axis].append(col)
            if n >= max(t.min_blocks, t.window + 1):
                change = np.abs(col - columns[axis][-1 - t.window]).max()
                if change <= t.rtol * abs(col[axis]):
                    active.remove(axis)
                    blocks[axis], converged[axis] = n, True
    for axis in active:
        blocks[axis], converged[axis] = n, False
    return {"rows": rows, "blocks": blocks, "converged": converged}


def measure_stiffness(sim: Simulation, floor: int, top: int,
                      test: StiffnessTest | None = None) -> StiffnessResult:
    """The strain probe (module docstring) on a working simulation: a film periodic in x and
    y between plane ``floor`` (particles above) and plane ``top`` (the platen, particles
    below).  The reference is the state relaxed at fixed planes, or, with
    ``test.preload_mpa``, under the platen at that pressure; the simulation is left in it."""
    t0 = time.perf_counter()
    test = test or StiffnessTest()
    if not (sim.periodic[0] and sim.periodic[1]) or sim.periodic[2]:
        raise ValueError("the stiffness test needs a film periodic in x and y, bounded by "
                         "planes in z")
    if sim.wall_side[floor] != 1 or sim.wall_side[top] != -1:
        raise ValueError(f"plane {floor} must be a floor (side +1) and plane {top} a ceiling "
                         "(side -1)")
    probe = _Probe(sim, floor, top, test)
    sim.wall_vz[:] = 0.0
    if test.preload_mpa is not None:
        probe.preload(test.preload_mpa)
    scale = test.preload_mpa or max(float(np.abs(probe.stress_mpa().diagonal()).max()), 0.01)
    probe.settle(scale, rest=True)
    rest_speed = probe.speed_m_s()
    if not rest_speed <= test.rest_speed_m_s:  # a moving reference gives no tangent
        raise RuntimeError(
            f"stiffness test: the reference did not come to rest (95th-percentile particle "
            f"speed {rest_speed:.3g} m/s, allowed <= rest_speed_m_s = "
            f"{test.rest_speed_m_s:g}) after {probe.steps} steps: no stiffness is measured")
    preload_steps = probe.steps
    reference = sim.snapshot()
    stress_ref = probe.stress_mpa()
    thickness, area = probe.thickness_um, probe.area_um2
    eps = test.strain
    out = _probe_axes(probe, reference, eps)
    rows, blocks = out["rows"], out["blocks"]
    unsettled = [AXES[a] for a in range(3) if not out["converged"][a]]
    if unsettled:
        raise RuntimeError(
            f"stiffness test: the strained film did not relax along {', '.join(unsettled)} "
            f"within max_blocks = {test.max_blocks} blocks: no stiffness is measured")
    c = np.zeros((3, 3))
    load, unload = np.zeros(3), np.zeros(3)
    for axis in range(3):
        k = blocks[axis] - 1
        plus, minus, ref = rows[axis, 1][k], rows[axis, -1][k], rows["ref"][k]
        c[:, axis] = (plus - minus) / (2.0 * eps)
        load[axis] = (plus[axis] - ref[axis]) / eps
        unload[axis] = (ref[axis] - minus[axis]) / eps
    diag = c.diagonal()
    with np.errstate(divide="ignore", invalid="ignore"):
        nonlinearity = np.abs(load - unload) / np.abs(diag)
    young, poisson = orthotropic_moduli(c)
    sim.restore(reference)
    return StiffnessResult(
        stiffness_mpa=tuple(float(v) for v in c.ravel()),
        stiffness_load_mpa=tuple(float(v) for v in load),
        stiffness_unload_mpa=tuple(float(v) for v in unload),
        nonlinearity=tuple(float(v) for v in nonlinearity),
        asymmetry=float(np.max(np.abs(c - c.T)) / np.mean(np.abs(diag))),
        young_modulus_mpa=young, poisson_ratio=poisson, strain=eps,
        preload_mpa=float(-stress_ref[2, 2]),
        stress_reference_mpa=tuple(float(v) for v in stress_ref.ravel()),
        thickness_um=thickness, area_um2=area,
        relax_steps=tuple(blocks[a] * test.block_steps for a in range(3)),
        converged=tuple(bool(out["converged"][a]) for a in range(3)),
        preload_steps=preload_steps, reference_speed_m_s=rest_speed,
        at_rest=rest_speed <= test.rest_speed_m_s, steps=probe.steps, n_particles=sim.n,
        wall_s=time.perf_counter() - t0)


def film_stiffness(state: ParticleState, conditions: ProcessConditions | None = None,
                   test: StiffnessTest | None = None,
                   protocol: CalenderProtocol | None = None, *,
                   n_threads: int | None = None) -> StiffnessResult:
    """The strain probe on an electrode film with the contact law it was calendered with.

    The film sits on its floor plane, with the contact table, time step and press set-up of
    the calender (``_Press``; ``protocol`` gives the time-step fraction and, for a structure
    that has not been through the DEM press, e.g. a dried film from the CGMD force field,
    the drag relaxation of the force-field switch that every press starts with).  A
    calendered structure keeps its roll plane where the release left it (the recovered
    thickness, where the roll's force returned to zero) as the platen, from where film and
    platen are pressed to ``test.preload_mpa``; a structure without a roll gets the platen
    on its highest particle and needs a pre-load (a dried film's rough top meets it with a
    few particles and its loose packing flows: docs/validation/anisotropy.md).

    Example (a calendered structure of ``etwin calender``):
        >>> from physics.calender.stiffness import StiffnessTest, film_stiffness
        >>> state = ParticleState.load("calendered_20MPa.npz")  # doctest: +SKIP
        >>> film_stiffness(state, test=StiffnessTest(preload_mpa=0.1)).diagonal_mpa()
        ... # doctest: +SKIP
    """
    conditions = conditions or ProcessConditions()
    test = test or StiffnessTest()
    protocol = protocol or CalenderProtocol()
    roll = state.wall_z_um[state.wall_side < 0]
    if not roll.size and test.preload_mpa is None:
        raise ValueError("the structure has no roll plane (not calendered): give "
                         "StiffnessTest.preload_mpa, the platen's pressure on it")
    press = _Press(state, conditions, protocol, n_threads, top_plane=PLATENS[test.platen])
    sim = press.sim
    if state.meta.get("stage") not in DEM_STAGES:
        press.relax()
    sim.wall_z[1] = float(roll.min()) if roll.size else float(
        np.max(sim.position[:, 2] + sim.radius))
    sim.velocity[:] = 0.0
    sim.omega[:] = 0.0
    sim.compute_forces()
    return measure_stiffness(sim, 0, 1, test)
