"""The strain probe of physics/calender/stiffness.py: the engine's affine deformation against a
contact moved by its velocity, the closed-form stiffness of a pre-compressed simple-cubic
Hertz lattice between two planes, the orthotropic inversion, and the input checks."""

import math
from pathlib import Path

import numpy as np
import pytest

from physics.calender.stiffness import (
    StiffnessTest,
    film_stiffness,
    measure_stiffness,
    orthotropic_moduli,
)
from physics.engine import Simulation, Wall, liggghts_table, rayleigh_time_us
from physics.engine.contact import effective_young_kpa
from physics.materials import Material
from physics.state import ParticleState

# no cohesion (CED 0), so each contact is a plain Hertz spring; restitution 1 for the
# velocity-moved contact below (no dashpot force), 0.5 in the lattice (it has to settle)
HERTZ = Material("hertz", 100e9, 0.3, 1.0, 0.5, 0.0, 2.0)


def test_affine_strain_loads_the_tangential_spring_as_the_motion_would():
    """A strain applied by ``deform_affine`` gives the same contact force as moving the body
    by the same relative displacement through its velocity (which the tangential spring
    integrates), to first order in the strain: the history kernel's sign and projection."""
    table = liggghts_table([HERTZ])
    d = 1.99 / math.sqrt(2.0)
    pos = np.array([[5.0, 5.0, 5.0], [5.0 + d, 5.0, 5.0 + d]])  # contact normal at 45°

    def pair() -> Simulation:
        return Simulation(pos, np.ones(2), np.ones(2), np.zeros(2, int), table, (0, 0, 0),
                          (12, 12, 12), periodic=(True, True, True), dt_us=1e-5)

    eps = 1e-4
    jumped = pair()
    f0 = jumped.force[1].copy()
    jumped.deform_affine((eps, 0.0, 0.0))
    jumped.compute_forces()
    moved = pair()
    moved.velocity[1] = (eps * d / moved.dt, 0.0, 0.0)  # u_1 - u_0 = ε (x_1 - x_0)
    moved.force[:] = 0.0
    moved.run(1)
    df_jump, df_move = jumped.force[1] - f0, moved.force[1] - f0
    assert np.abs(df_jump).max() > 0.0
    # the velocity move differs by the O(ε²) geometry of one step: 1e-4 relative is ample
    assert df_jump == pytest.approx(df_move, rel=1e-4, abs=1e-4 * np.abs(df_move).max())
    # without the tangential part the force would be the normal one only: the spring counts
    tangential = df_jump - np.dot(df_jump, [1, 0, 1]) / 2 * np.array([1, 0, 1])
    assert np.linalg.norm(tangential) > 0.1 * np.linalg.norm(df_jump)


def _lattice(n_xy: int, n_z: int, radius: float, overlap: float):
    """A simple-cubic lattice of identical spheres, spacing a = 2R - δ0, periodic in x and
    y, between a floor and a ceiling plane of the same material whose overlap δw balances
    the pair force: KN sqrt(R/2) δ0^1.5 = KN sqrt(R) δw^1.5 (the planes hold it as built)."""
    a = 2.0 * radius - overlap
    wall_overlap = overlap * 0.5 ** (1.0 / 3.0)
    gap = radius - wall_overlap
    ix, iy, iz = np.meshgrid(np.arange(n_xy), np.arange(n_xy), np.arange(n_z), indexing="ij")
    pos = np.column_stack([(ix.ravel() + 0.5) * a, (iy.ravel() + 0.5) * a,
                           gap + iz.ravel() * a])
    top = gap + (n_z - 1) * a + gap
    n = pos.shape[0]
    mass = HERTZ.density_g_cm3 * 4.0 / 3.0 * math.pi * radius**3
    sim = Simulation(pos, np.full(n, radius), np.full(n, mass), np.zeros(n, int),
                     liggghts_table([HERTZ]), (0.0, 0.0, -1.0), (n_xy * a, n_xy * a, top + 1.0),
                     periodic=(True, True, False),
                     dt_us=0.1 * rayleigh_time_us(HERTZ, radius),
                     walls=[Wall(0.0, 1, 0), Wall(top, -1, 0)])
    return sim, a, wall_overlap


def test_simple_cubic_lattice_has_the_closed_form_stiffness():
    """Pre-compressed simple-cubic Hertz lattice: every bond has the tangent stiffness
    k = dF/dδ = 2 E* sqrt(R* δ0) (R* = R/2 between spheres, R against a plane), and an axial
    strain stretches only the bonds along it, so with N spheres in the volume V = L² h:
    C_xx = C_yy = N k a² / V (one bond per sphere along each axis); along z the N_z - 1 bonds
    of a column and its two plane contacts act in series, C_zz = k_col h / a² with
    1/k_col = (N_z - 1)/k + 2/k_w; an off-diagonal C_ij (i ≠ j) is -σ_ii of the reference
    (the volume change alone; the bonds along i do not change).  Tolerance 0.2 % on the
    diagonal: x and y are in equilibrium at once (measured 2e-9), the z column is read after
    a relaxation settled to rtol = 1e-4 (measured 5e-5), and the central difference leaves
    O(ε²)."""
    radius, overlap = 1.0, 0.01
    sim, a, wall_overlap = _lattice(3, 4, radius, overlap)
    test = StiffnessTest(strain=1e-6, preload_mpa=None, rtol=1e-4, damping_per_us=200.0,
                         max_blocks=400)
    result = measure_stiffness(sim, 0, 1, test)
    e_star = effective_young_kpa(HERTZ, HERTZ)
    k_pair = 2.0 * e_star * math.sqrt(0.5 * radius * overlap)
    k_wall = 2.0 * e_star * math.sqrt(radius * wall_overlap)
    h = result.thickness_um
    volume = result.area_um2 * h
    kpa_per_mpa = 1e3
    c_xx = sim.n * k_pair * a**2 / volume / kpa_per_mpa
    c_zz = h / a**2 / ((4 - 1) / k_pair + 2.0 / k_wall) / kpa_per_mpa
    c = result.matrix_mpa
    assert all(result.converged)
    assert c[0, 0] == pytest.approx(c_xx, rel=2e-3)
    assert c[1, 1] == pytest.approx(c_xx, rel=2e-3)
    assert c[2, 2] == pytest.approx(c_zz, rel=2e-3)
    assert c[2, 2] < 0.95 * c_xx  # the soft plane contacts in series are seen
    sigma = np.asarray(result.stress_reference_mpa).reshape(3, 3)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert c[i, j] == pytest.approx(-sigma[i, i], rel=0.01)
    assert max(result.nonlinearity) < 1e-3


def test_a_probe_that_does_not_relax_measures_nothing():
    """The same lattice with too short a relaxation for its z column (6 blocks at a 1e-9
    tolerance): no stiffness is returned, the error names the axis."""
    sim, _, _ = _lattice(3, 4, 1.0, 0.01)
    test = StiffnessTest(strain=1e-6, preload_mpa=None, rtol=1e-9, damping_per_us=200.0,
                         max_blocks=6)
    with pytest.raises(RuntimeError, match=r"did not relax along .*z"):
        measure_stiffness(sim, 0, 1, test)


def test_orthotropic_inversion_recovers_an_isotropic_solid():
    """C11 = λ + 2μ, C12 = λ (Lamé) gives back E = μ(3λ + 2μ)/(λ + μ), ν = λ/(2(λ + μ))."""
    young, nu = 1000.0, 0.25
    lam = young * nu / ((1 + nu) * (1 - 2 * nu))
    mu = young / (2 * (1 + nu))
    c = np.full((3, 3), lam) + np.eye(3) * 2 * mu
    e, poisson = orthotropic_moduli(c)
    assert e == pytest.approx((young,) * 3, rel=1e-12)
    assert all(v == pytest.approx(nu, rel=1e-12) for v in poisson.values())
    # an unstable block (negative eigenvalue) has no moduli
    e_bad, _ = orthotropic_moduli(np.full((3, 3), 1.0))
    assert all(math.isnan(v) for v in e_bad)


@pytest.mark.parametrize("kwargs, field", [
    ({"strain": 0.1}, "strain"), ({"strain": 0.0}, "strain"),
    ({"preload_mpa": -1.0}, "preload_mpa"), ({"platen": "glass"}, "platen"),
    ({"damping_per_us": 0.0}, "damping_per_us"), ({"min_blocks": 0}, "min_blocks"),
    ({"max_blocks": 2}, "max_blocks"), ({"rtol": 1.5}, "rtol"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"StiffnessTest.{field}"):
        StiffnessTest(**kwargs)


def test_a_film_without_roll_needs_a_preload():
    state = ParticleState(
        position_um=np.array([[2.0, 2.0, 1.0]]), radius_um=np.ones(1),
        species=np.zeros(1, dtype=np.uint8), mass_pg=np.ones(1), density_g_cm3=np.ones(1),
        box_lo_um=np.zeros(3), box_hi_um=np.array([10.0, 10.0, 10.0]),
        periodic=np.array([True, True, False]), wall_z_um=np.zeros(1),
        wall_side=np.ones(1, dtype=np.int64), meta={"stage": "calendered"})
    with pytest.raises(ValueError, match="preload_mpa"):
        film_stiffness(state, test=StiffnessTest(preload_mpa=None))


def test_cli_names_the_flag_and_the_missing_structure(capsys):
    from experiments.cli import main

    assert main(["stiffness", "/nonexistent/film.npz"]) == 2
    assert "STRUCTURE /nonexistent/film.npz: no such file" in capsys.readouterr().err
    dried = Path(__file__).parent / "data" / "dried_ci_seed0.npz"
    assert main(["stiffness", str(dried), "--strain", "0.5"]) == 2
    assert "--strain = 0.5 is outside the allowed range" in capsys.readouterr().err
