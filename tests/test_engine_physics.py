"""The particle engine against analytic contact mechanics and conservation laws."""

import dataclasses
import math

import numba
import numpy as np
import pytest

from physics.engine import (
    BOLTZMANN_FJ_PER_K,
    Berendsen,
    EngineInstability,
    Langevin,
    Simulation,
    Wall,
    effective_young_kpa,
    hertz_contact_time_us,
    liggghts_table,
)
from physics.engine._contact_kernels import lj_sf_energy, lj_sf_force
from physics.engine.placement import random_placement
from physics.materials import ALUMINIUM, CBD, NMC

from .conftest import AL, AM, CBD_T, table2

BOX = dict(box_lo=(-50, -50, -50), box_hi=(50, 50, 50), periodic=(False, False, False))


def sphere_mass(radius, density=4.65):
    return density * 4.0 / 3.0 * math.pi * radius**3


def contact_duration(sim, i, j=None, max_steps=200_000):
    """Steps with overlap during one collision (pair i-j, or i with wall 0)."""
    steps = 0
    touching = False
    for _ in range(max_steps):
        sim.run(1)
        if j is None:
            overlap = sim.radius[i] - (sim.position[i, 2] - sim.wall_z[0])
        else:
            overlap = sim.radius[i] + sim.radius[j] - np.linalg.norm(
                sim.position[i] - sim.position[j])
        if overlap > 0:
            touching = True
            steps += 1
        elif touching:
            return steps * sim.dt
    raise AssertionError("collision did not end")


@pytest.mark.parametrize("r1,r2,v", [(2.5, 2.5, 1.0), (4.14, 1.25, 0.3)])
def test_hertz_head_on_contact_time(r1, r2, v):
    """Undamped (e = 1) head-on collision lasts 2.9432 δ_max/v0 (Hertz) within 2 %."""
    table = table2(ced_scale=0.0, restitution=1.0)
    m1, m2 = sphere_mass(r1), sphere_mass(r2)
    sim = Simulation(position=[[0, 0, 0], [r1 + r2 + 1e-4, 0, 0]], radius=[r1, r2],
                     mass=[m1, m2], ptype=[AM, AM], table=table, dt_us=2e-6,
                     velocity=[[0.5 * v, 0, 0], [-0.5 * v, 0, 0]], **BOX)
    t_sim = contact_duration(sim, 0, 1)
    e_star = effective_young_kpa(NMC, NMC)
    t_theory = hertz_contact_time_us(e_star, r1 * r2 / (r1 + r2), m1 * m2 / (m1 + m2), v)
    assert t_sim == pytest.approx(t_theory, rel=0.02)
    # elastic: the relative velocity is restored
    assert sim.velocity[1, 0] - sim.velocity[0, 0] == pytest.approx(v, rel=1e-4)


def test_hertz_sphere_wall_contact_time():
    """Undamped sphere on an Al plane: Hertz duration with R* = R, m* = m within 2 %."""
    table = table2(ced_scale=0.0, restitution=1.0)
    r = 3.0
    m = sphere_mass(r)
    sim = Simulation(position=[[0, 0, r + 1e-4]], radius=[r], mass=[m], ptype=[AM],
                     table=table, dt_us=2e-6, walls=[Wall(0.0, 1, AL)],
                     velocity=[[0, 0, -0.8]], **BOX)
    t_sim = contact_duration(sim, 0)
    t_theory = hertz_contact_time_us(effective_young_kpa(NMC, ALUMINIUM), r, m, 0.8)
    assert t_sim == pytest.approx(t_theory, rel=0.02)
    assert sim.velocity[0, 2] == pytest.approx(0.8, rel=1e-4)


def test_restitution_converges_to_liggghts_law():
    """With dt -> 0 the rebound of AM on steel tends to e = sqrt(0.15 · 0.78) (pure Hertz)."""
    table = table2(ced_scale=0.0)
    r = 2.5
    sim = Simulation(position=[[0, 0, r + 1e-4]], radius=[r], mass=[sphere_mass(r)],
                     ptype=[AM], table=table, dt_us=1e-6, walls=[Wall(0.0, 1, 3)],
                     velocity=[[0, 0, -1.0]], **BOX)
    sim.run(30_000)
    assert sim.velocity[0, 2] == pytest.approx(math.sqrt(0.15 * 0.78), rel=2e-4)


def test_sliding_respects_coulomb_limit():
    """A sphere dragged over an Al plane: |F_t| <= μ|F_n| always, = μ|F_n| once sliding, and
    the torque equals (R - δ/2) |F_t|.  Undamped (e = 1): LIGGGHTS caps only the elastic
    part k_t ξ, so with damping the sticking force may exceed μ|F_n| by γ_t |v_t|."""
    table = table2(ced_scale=0.0, restitution=1.0)
    mu = math.sqrt(NMC.friction * ALUMINIUM.friction)
    r = 2.0
    sim = Simulation(position=[[0, 0, r - 2e-3]], radius=[r], mass=[sphere_mass(r)],
                     ptype=[AM], table=table, dt_us=1e-5, walls=[Wall(0.0, 1, AL)], **BOX)
    ratios = []
    for _ in range(300):
        # hold the overlap and impose a tangential velocity (no spin)
        sim.position[0, 2] = r - 2e-3
        sim.velocity[0] = (0.2, 0.0, 0.0)
        sim.omega[0] = 0.0
        sim.compute_forces()
        fn = abs(sim.force[0, 2])
        ft = math.hypot(sim.force[0, 0], sim.force[0, 1])
        assert ft <= mu * fn * (1 + 1e-12)
        ratios.append(ft / (mu * fn))
        delta = r - sim.position[0, 2]
        assert abs(sim.torque[0, 1]) == pytest.approx((r - delta / 2) * ft, rel=1e-9)
        sim.run(1)
    assert ratios[0] < 0.5  # sticking at first (spring still loading)
    assert ratios[-1] == pytest.approx(1.0, rel=1e-9)  # then sliding at the Coulomb limit


def test_sjkr_force_equals_ced_times_contact_area():
    """Static overlapping pair: F_n = 4/3 E* √R* δ^{3/2} - CED · π a² (a: overlap-disc radius),
    and a sphere on a plane: CED · π (R² - d²)."""
    table = table2()
    r1, r2, d = 3.0, 0.65, 3.0 + 0.65 - 0.02
    sim = Simulation(position=[[0, 0, 0], [d, 0, 0]], radius=[r1, r2],
                     mass=[sphere_mass(r1), sphere_mass(r2, 0.95)], ptype=[AM, CBD_T],
                     table=table, dt_us=1e-5, **BOX)
    delta = r1 + r2 - d
    x = (d**2 + r1**2 - r2**2) / (2 * d)
    area = math.pi * (r1**2 - x**2)
    e_star = effective_young_kpa(NMC, CBD)
    ced = math.sqrt(NMC.cohesion_energy_density_pa * CBD.cohesion_energy_density_pa) / 1e3
    r_star = r1 * r2 / (r1 + r2)
    expected = 4 / 3 * e_star * math.sqrt(r_star) * delta**1.5 - ced * area
    assert -sim.force[0, 0] == pytest.approx(expected, rel=1e-10)
    assert sim.force[1, 0] == pytest.approx(-sim.force[0, 0], rel=1e-14)

    zc = 1.99
    wall = Simulation(position=[[0, 0, zc]], radius=[2.0], mass=[sphere_mass(2.0)], ptype=[AM],
                      table=table, dt_us=1e-5, walls=[Wall(0.0, 1, AL)], **BOX)
    ced_w = math.sqrt(NMC.cohesion_energy_density_pa * ALUMINIUM.cohesion_energy_density_pa) / 1e3
    hertz = 4 / 3 * effective_young_kpa(NMC, ALUMINIUM) * math.sqrt(2.0) * (2.0 - zc) ** 1.5
    assert wall.force[0, 2] == pytest.approx(hertz - ced_w * math.pi * (4.0 - zc**2), rel=1e-10)
    assert wall.wall_force_z[0] == pytest.approx(-wall.force[0, 2], rel=1e-14)


@pytest.mark.parametrize("r", [0.95, 1.1, 1.4, 2.1])
def test_lennard_jones_closed_form(r):
    """lj/sf force and energy vs the closed form; F = -dE/dr by central differences;
    mixing ε geometric, σ and cut-off arithmetic."""
    eps, sig, rc = 0.05, 1.0, 2.5
    s6, s6c = (sig / r) ** 6, (sig / rc) ** 6
    f_lj = 24 * eps * (2 * s6**2 - s6) / r
    f_c = 24 * eps * (2 * s6c**2 - s6c) / rc
    e_expected = 4 * eps * (s6**2 - s6) - 4 * eps * (s6c**2 - s6c) + (r - rc) * f_c
    assert lj_sf_force(r, eps, sig, rc) == pytest.approx(f_lj - f_c, rel=1e-12)
    assert lj_sf_energy(r, eps, sig, rc) == pytest.approx(e_expected, rel=1e-12, abs=1e-15)
    h = 1e-6
    dedr = (lj_sf_energy(r + h, eps, sig, rc) - lj_sf_energy(r - h, eps, sig, rc)) / (2 * h)
    assert -dedr == pytest.approx(lj_sf_force(r, eps, sig, rc), rel=1e-6, abs=1e-9)
    # through the engine, with per-particle parameters that mix to (eps, sig, rc)
    table = liggghts_table([NMC])
    sim = Simulation(position=[[0, 0, 0], [r, 0, 0]], radius=[0.1, 0.1], mass=[1.0, 1.0],
                     ptype=[0, 0], table=table, dt_us=1e-4,
                     lj=([eps / 2, eps * 2], [sig - 0.2, sig + 0.2], [rc - 0.5, rc + 0.5]),
                     **BOX)
    assert -sim.force[0, 0] == pytest.approx(f_lj - f_c, rel=1e-12)  # > 0: repulsive
    assert sim.potential_energy() == pytest.approx(e_expected, rel=1e-12, abs=1e-15)


def elastic_gas(n_threads=None, seed=3, periodic=(True, True, True)):
    """Frictionless, cohesionless, undamped polydisperse gas (solid fraction ~0.3)."""
    rng = np.random.default_rng(seed)
    radius = np.concatenate([rng.uniform(1.0, 2.5, 40), np.full(160, 0.65)])
    length = (np.sum(4 / 3 * np.pi * radius**3) / 0.3) ** (1 / 3)
    pos = random_placement(radius, (0, 0, 0), (length,) * 3, periodic, seed=seed)
    return radius, pos, length


def test_nve_energy_drift_elastic_gas():
    """Hertz gas with e = 1, μ = 0, CED = 0: total energy drifts < 1e-4 relative in 4000 steps."""
    table = table2(ced_scale=0.0, friction_scale=0.0, restitution=1.0)
    radius, pos, length = elastic_gas()
    rng = np.random.default_rng(0)
    ptype = np.where(radius > 0.7, AM, CBD_T)
    mass = np.where(ptype == AM, 4.65, 0.95) * 4 / 3 * np.pi * radius**3
    sim = Simulation(pos, radius, mass, ptype, table, (0, 0, 0), (length,) * 3, dt_us=2e-5,
                     velocity=rng.normal(0, 0.5, (radius.size, 3)))
    e0 = sim.kinetic_energy() + sim.potential_energy()
    worst = 0.0
    collisions_seen = 0
    for _ in range(40):
        sim.run(100)
        collisions_seen = max(collisions_seen, sim.contacts()[0].size)
        worst = max(worst, abs(sim.kinetic_energy() + sim.potential_energy() - e0) / e0)
    assert sim.n_rebuilds > 1
    assert collisions_seen > 0
    assert worst < 1e-4


def dense_cohesive_gas(n_threads=None, skin=None, periodic=(True, True, True)):
    table = table2()
    radius, pos, length = elastic_gas(periodic=periodic)
    rng = np.random.default_rng(1)
    ptype = np.where(radius > 0.7, AM, CBD_T)
    mass = np.where(ptype == AM, 4.65, 0.95) * 4 / 3 * np.pi * radius**3
    lj = (np.full(radius.size, 1e-3), 1.8 * radius, 2.4 * radius)
    return Simulation(pos, radius, mass, ptype, table, (0, 0, 0), (length,) * 3, periodic=periodic,
                      dt_us=5e-5, velocity=rng.normal(0, 0.5, (radius.size, 3)),
                      omega=rng.normal(0, 0.5, (radius.size, 3)), lj=lj, skin_um=skin,
                      n_threads=n_threads)


def test_momentum_conserved_full_law():
    """Hertz + damping + friction + SJKR + LJ in a periodic box: Σ m v stays at its start
    value to round-off (1e-12 of the momentum scale)."""
    sim = dense_cohesive_gas()
    p0 = sim.momentum()
    scale = np.sum(sim.mass[:, None] * np.abs(sim.velocity))
    sim.run(2000)
    assert sim.contacts()[0].size > 0
    np.testing.assert_allclose(sim.momentum(), p0, atol=1e-12 * scale)


def test_angular_momentum_conserved_free_cluster():
    """No box, no walls: orbital + spin angular momentum is conserved (torques -cr n×F_t on
    both bodies balance the moment of the tangential force), to 1e-10 of its scale."""
    sim = dense_cohesive_gas(periodic=(False, False, False))
    l0 = sim.angular_momentum()
    r = sim.position - sim.position.mean(0)
    scale = np.sum(np.linalg.norm(r, axis=1) * sim.mass * np.linalg.norm(sim.velocity, axis=1))
    sim.run(2000)
    np.testing.assert_allclose(sim.angular_momentum(), l0, atol=1e-10 * scale)


def test_history_survives_neighbour_rebuilds_and_threads():
    """The trajectory does not depend on how often the list is rebuilt (tangential history is
    carried over) nor on the thread count, beyond round-off."""
    threads_before = numba.get_num_threads()
    try:
        ref = dense_cohesive_gas(n_threads=1, skin=1.0)
        ref.run(400)
        for kwargs in ({"n_threads": 1, "skin": 0.02}, {"n_threads": 2, "skin": 0.3}):
            sim = dense_cohesive_gas(**kwargs)
            sim.run(400)
            assert sim.n_rebuilds > ref.n_rebuilds or kwargs["n_threads"] == 2
            np.testing.assert_allclose(sim.position, ref.position, rtol=0, atol=1e-9)
            np.testing.assert_allclose(sim.omega, ref.omega, rtol=0, atol=1e-6)
    finally:
        numba.set_num_threads(threads_before)  # restore for the other tests


def test_langevin_equipartition():
    """Non-interacting particles under the Langevin thermostat reach <½ m v²> = 3/2 k_B T
    within 5 % (2000 particles, 50 samples)."""
    table = liggghts_table([CBD])
    n = 2000
    rng = np.random.default_rng(5)
    pos = rng.uniform(0, 1000, (n, 3))
    temperature = 298.0
    sim = Simulation(pos, np.full(n, 1e-3), np.full(n, 0.25), np.zeros(n, int), table,
                     (0, 0, 0), (1000,) * 3, dt_us=1e-3)
    thermo = Langevin(temperature, damping_per_us=5.0, seed=2)
    sim.run(2000, thermostat=thermo)
    samples = []
    for _ in range(50):
        sim.run(20, thermostat=thermo)
        samples.append(0.5 * np.sum(sim.mass[:, None] * sim.velocity**2) / n)
    kt = BOLTZMANN_FJ_PER_K * temperature
    assert np.mean(samples) == pytest.approx(1.5 * kt, rel=0.05)


def test_bad_input_names_the_field():
    table = liggghts_table([NMC])
    ok = dict(position=[[0, 0, 0]], radius=[1.0], mass=[1.0], ptype=[0], table=table, **BOX)
    with pytest.raises(ValueError, match="radius"):
        Simulation(**{**ok, "radius": [-1.0]})
    with pytest.raises(ValueError, match="dt_us"):
        Simulation(**{**ok, "dt_us": 0.0})
    with pytest.raises(ValueError, match="ptype"):
        Simulation(**{**ok, "ptype": [3]})
    with pytest.raises(ValueError, match="box length along x"):
        Simulation(**{**ok, "box_lo": (0, 0, 0), "box_hi": (3, 30, 30),
                      "periodic": (True, True, True)})
    with pytest.raises(ValueError, match="side"):
        Wall(0.0, 0, 0)
    with pytest.raises(ValueError, match="temperature_k"):
        Langevin(-1.0, 1.0)


def test_material_dataclass_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        NMC.young_modulus_pa = 1.0  # type: ignore[misc]


def test_berendsen_barostat_reaches_target_pressure():
    """A cohesionless frictional (μ = 0.3) AM + CBD packing compressed by the Berendsen
    barostat (with Langevin damping at 0 K) settles at the target pressure within 10 %; the box
    shrinks.  (Berendsen leaves a small offset while the packing still creeps: ~2 % here.)"""
    table = table2(ced_scale=0.0, friction_scale=300.0)
    rng = np.random.default_rng(4)
    radius = np.concatenate([rng.uniform(1.2, 2.5, 30), np.full(270, 0.65)])
    ptype = np.where(radius > 0.7, AM, CBD_T)
    mass = np.where(ptype == AM, 4.65, 0.95) * 4 / 3 * np.pi * radius**3
    length = (np.sum(4 / 3 * np.pi * radius**3) / 0.35) ** (1 / 3)
    pos = random_placement(radius, (0, 0, 0), (length,) * 3, seed=4)
    sim = Simulation(pos, radius, mass, ptype, table, (0, 0, 0), (length,) * 3, dt_us=1e-4)
    target = 300.0  # kPa
    baro = Berendsen(pressure_kpa=target, tau_us=0.05, bulk_modulus_kpa=2e4,
                     max_strain_per_step=5e-5)
    damp = Langevin(0.0, damping_per_us=30.0, seed=1)
    sim.run(25_000, thermostat=damp, barostat=baro)
    pressures = []
    for _ in range(10):
        sim.run(100, thermostat=damp, barostat=baro)
        pressures.append(np.trace(sim.pressure_tensor_kpa()) / 3)
    assert sim.volume_um3 < 0.8 * length**3
    assert np.mean(pressures) == pytest.approx(target, rel=0.10)


def _overlapping_pair(dt_us):
    table = table2(ced_scale=0.0, restitution=0.5)
    return Simulation(position=[[0, 0, 0], [4.0, 0, 0]], radius=[2.5, 2.5],
                      mass=[sphere_mass(2.5)] * 2, ptype=[AM, AM], table=table, dt_us=dt_us,
                      velocity=[[0.3, 0, 0], [-0.3, 0, 0]], **BOX)


def test_blow_up_names_stage_step_and_particle():
    """A step ~100x the Hertz collision time of a deep overlap blows up; the engine stops with
    an error naming the stage, the step and the particle instead of crashing later in the
    cell-list sizing (non-finite or runaway positions)."""
    sim = _overlapping_pair(dt_us=0.05)
    sim.stage = "unit-test"
    with pytest.raises(EngineInstability, match=r"stage 'unit-test'.*step \d+.*particle [01]"):
        sim.run(2000)
    assert np.isfinite(_overlapping_pair(dt_us=1e-5).position).all()


def test_snapshot_restore_replays_the_same_trajectory():
    """Restoring a snapshot and re-running gives bit-identical states (no thermostat)."""
    sim = _overlapping_pair(dt_us=2e-5)
    sim.run(100)
    snap = sim.snapshot()
    sim.run(500)
    first = (sim.position.copy(), sim.velocity.copy(), sim.hist.copy(), sim.step_count)
    sim.run(50)
    sim.restore(snap)
    sim.run(500)
    assert np.array_equal(sim.position, first[0]) and np.array_equal(sim.velocity, first[1])
    assert np.array_equal(sim.hist, first[2]) and sim.step_count == first[3]
