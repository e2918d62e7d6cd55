"""DEM calendering: binder law, inputs, the average-stress theorem, the porosity-pressure curve
with its quasi-static check, and micro-indentation.

The structure ``tests/data/dried_ci_seed0.npz`` is ``etwin dry --fidelity ci --seed 0`` (80 AM +
1922 CBD, wall mode); regenerate it with that command when the drying protocol changes.
"""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from physics.calender import (
    BinderRheology,
    CalenderProtocol,
    ProcessConditions,
    _Press,
    calender,
    check_pressures,
    creep_rate_per_us,
    fit_compaction,
    indent,
    inertial_number,
    overshot_targets,
)
from physics.materials import CBD
from physics.pipeline import calender_protocol
from physics.state import ParticleState
from physics.structure import structure_metrics, tile_xy

DRIED_CI = Path(__file__).parent / "data" / "dried_ci_seed0.npz"


@pytest.fixture(scope="module")
def dried() -> ParticleState:
    return ParticleState.load(DRIED_CI)


# ---------------------------------------------------------------------------- binder law
def test_binder_reference_state_is_table2():
    cbd = ProcessConditions(temperature_c=60.0, line_speed_m_min=0.54).cbd_material()
    assert cbd.young_modulus_pa == pytest.approx(CBD.young_modulus_pa, rel=1e-12)
    assert cbd.cohesion_energy_density_pa == pytest.approx(CBD.cohesion_energy_density_pa,
                                                           rel=1e-12)


def test_binder_arrhenius_and_rate_law():
    law = BinderRheology()
    a_t = math.exp(85e3 / 8.314462618 * (1 / 373.15 - 1 / 333.15))  # 100 °C vs 60 °C
    assert law.shift_factor(100.0) == pytest.approx(a_t, rel=1e-12)
    assert law.modulus_factor(100.0, 0.54) == pytest.approx(a_t**0.1, rel=1e-12)
    assert law.modulus_factor(60.0, 1.08) == pytest.approx(2**0.1, rel=1e-12)
    # hotter -> softer, faster -> stiffer; cohesion follows E^(2/3) (JKR)
    assert law.modulus_factor(100.0, 0.54) < 1.0 < law.modulus_factor(20.0, 0.54)
    f = law.modulus_factor(90.0, 5.0)
    assert law.cohesion_factor(90.0, 5.0) == pytest.approx(f ** (2 / 3), rel=1e-12)
    # DMA anchor of the defaults: storage modulus halves between 25 and 100 °C (±20 %)
    assert law.modulus_factor(100.0, 0.54) / law.modulus_factor(25.0, 0.54) == pytest.approx(
        0.5, rel=0.2)


def test_nip_contact_time_and_deborah_number():
    c = ProcessConditions(roll_diameter_m=0.25, line_speed_m_min=0.54)
    length = math.sqrt(0.125 * 20e-6)
    assert c.nip_contact_time_s(20.0) == pytest.approx(length / 0.009, rel=1e-12)
    assert c.deborah_number(20.0) == pytest.approx(0.16 / (length / 0.009), rel=1e-12)


@pytest.mark.parametrize("kwargs, field", [
    ({"temperature_c": 200.0}, "temperature_c"),
    ({"temperature_c": -30.0}, "temperature_c"),
    ({"line_speed_m_min": 0.0}, "line_speed_m_min"),
    ({"line_speed_m_min": 1e4}, "line_speed_m_min"),
    ({"roll_diameter_m": -1.0}, "roll_diameter_m"),
])
def test_bad_process_conditions_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field + r".*allowed range"):
        ProcessConditions(**kwargs)


@pytest.mark.parametrize("pressures", [[-5.0], [0.0], [1e4], [float("nan")], [10.0, 10.0], []])
def test_bad_pressures(pressures):
    with pytest.raises(ValueError, match="pressure"):
        check_pressures(pressures)


@pytest.mark.parametrize("kwargs, field", [
    ({"max_hold_us": 0.5}, "max_hold_us"),
    ({"creep_window_us": 0.0}, "creep_window_us"),
    ({"creep_tol_per_us": -1e-4}, "creep_tol_per_us"),
    ({"inertial_number": 0.5}, "inertial_number"),
])
def test_bad_protocol_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field + r".*allowed range"):
        CalenderProtocol(**kwargs)


def test_bad_press_protocol_names_the_choices():
    with pytest.raises(ValueError, match=r"CalenderProtocol.press = 'roll'; allowed: "
                                         r"quasi-static, paper"):
        CalenderProtocol(press="roll")
    with pytest.raises(ValueError, match=r"paper_plane_speed_m_s.*allowed range"):
        CalenderProtocol(press="paper", paper_plane_speed_m_s=0.0)


def test_creep_rate_sees_drift_through_servo_chatter():
    block_us = 0.02
    chatter = 0.3 + 1e-4 * (-1.0) ** np.arange(50)  # ±0.01 points alternating, no drift
    assert creep_rate_per_us(chatter, 25, block_us) < 1e-4
    drift = 0.3 - 2e-3 * block_us * np.arange(50)  # 2e-3 per µs
    assert creep_rate_per_us(drift, 25, block_us) == pytest.approx(2e-3, rel=1e-9)
    assert creep_rate_per_us(drift + chatter - 0.3, 25, block_us) == pytest.approx(2e-3,
                                                                                 rel=0.1)


def test_inertial_number_in_si():
    # v = 0.5 m/s, h = 100 µm, d = 5 µm, ρ = 4650 kg/m³, P = 10 MPa
    expected = 0.5 / 100e-6 * 5e-6 * math.sqrt(4650.0 / 10e6)
    assert inertial_number(0.5, 100.0, 5.0, 4.65, 10e3) == pytest.approx(expected, rel=1e-12)
    assert inertial_number(0.5, 100.0, 5.0, 4.65, 0.0) == math.inf


def test_compaction_fit_recovers_the_law():
    """Meyer's exponential curve (m = 0): the full law's fit finds it (m -> 0) from five
    pressures, the exponential fit from three, none from two."""
    p = np.array([2.0, 5.0, 20.0, 60.0, 120.0])
    eps = 0.28 + (0.45 - 0.28) * np.exp(-p / 7.0)
    fit = fit_compaction(p, eps, porosity_initial=0.45)
    assert fit.law.porosity_min == pytest.approx(0.28, abs=1e-4)
    assert fit.law.porosity(p) == pytest.approx(eps, abs=1e-4)
    assert fit.residual_sd < 1e-4
    three = fit_compaction(p[:3], eps[:3], porosity_initial=0.45)
    assert three.law.modulus_slope == 0.0
    assert three.law.modulus_mpa == pytest.approx(7.0, rel=1e-5)
    assert fit_compaction(p[:2], eps[:2], porosity_initial=0.45) is None


# ---------------------------------------------------------------------------- structures
def test_missing_and_corrupt_structure_files(tmp_path):
    with pytest.raises(ValueError, match="no such structure file"):
        ParticleState.load(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(ValueError, match="not a readable ParticleState"):
        ParticleState.load(bad)


def test_tile_xy_keeps_porosity(dried):
    tiled = tile_xy(dried, 2)
    assert tiled.n == 4 * dried.n
    np.testing.assert_allclose(tiled.box_len_um[:2], 2 * dried.box_len_um[:2])
    a, b = structure_metrics(dried), structure_metrics(tiled)
    assert b.porosity == pytest.approx(a.porosity, abs=0.01)  # surface grid differs slightly
    with pytest.raises(ValueError, match="allowed range"):
        tile_xy(dried, 0)


def test_calender_rejects_periodic_z(dried):
    bad = replace(dried, periodic=np.array([True, True, True]))
    with pytest.raises(ValueError, match="periodic"):
        calender(bad, [10.0])


# ---------------------------------------------------------------------------- mechanics
def test_average_stress_theorem_between_planes(dried):
    """Static film between two planes: Love's average stress σ_zz = -F_plane/A (exact in
    equilibrium), σ_xx and σ_yy compressive too (lateral confinement)."""
    press = _Press(dried, ProcessConditions(), CalenderProtocol())
    press.relax()
    sim = press.sim
    while float(sim.wall_force_z[1]) / press.area_um2 < 3e3:  # push to ~3 MPa
        sim.set_wall_velocity(1, -1.0)
        sim.run(200)
    sim.set_wall_velocity(1, 0.0)
    from physics.engine import Langevin

    sim.run(10_000, thermostat=Langevin(0.0, 20.0))  # wall forces equal to 1e-8 by then
    sim.run(1)
    sigma = press.stress_mpa()
    p_top = float(sim.wall_force_z[1]) / press.area_um2 / 1e3
    p_bottom = -float(sim.wall_force_z[0]) / press.area_um2 / 1e3
    assert p_top == pytest.approx(p_bottom, rel=0.01)
    assert sigma[8] == pytest.approx(-p_top, rel=0.01)
    assert sigma[0] < 0 and sigma[4] < 0
    # the contact stress split by type pair sums to the pair virial the engine accumulated
    vol = press.area_um2 * press.thickness_um
    parts = sim.contact_stress_by_type_kpa(vol)
    total = sum(parts.values())
    np.testing.assert_allclose(total, -sim.virial / vol, rtol=1e-3,
                               atol=1e-6 * float(np.abs(sim.virial).max() / vol))
    assert set(parts) >= {("AM", "AM"), ("AM", "CBD"), ("CBD", "CBD")}
    share = press.load_share()
    assert sum(share.values()) == pytest.approx(1.0)
    assert share["AM-AM"] > 0  # Table 2 at ~3 MPa: 0.996 on this film (the AM skeleton)


#: the ci tier's press (twice the default's plane-speed floor and inertial number), as the
#: pipeline runs it at ci size
CURVE_PROTOCOL = replace(calender_protocol("ci"), max_lift_fraction=0.01)
CURVE_PRESSURES = [2.0, 20.0, 100.0]


@pytest.fixture(scope="module")
def curves(dried):
    """A 3-pressure curve with the ci tier's press."""
    return (calender(dried, CURVE_PRESSURES, protocol=CURVE_PROTOCOL),)


def test_porosity_falls_with_pressure_and_follows_the_compaction_law(curves):
    result = curves[0]
    eps = [p.porosity for p in result.points]
    eps_min = [p.porosity_min for p in result.points]
    assert result.initial.porosity > eps[0] > eps[2]
    assert eps_min[0] > eps_min[1] > eps_min[2]
    # 20 vs 100 MPa after recovery: both on the plateau where spring-back grows as fast as
    # the compaction (docs/physics/calendering.md), so only the 2 -> 100 MPa drop is required
    assert all(p.porosity_min < p.porosity for p in result.points)  # spring-back
    assert result.fit is not None and result.fit.residual_sd < 0.01  # < 1 porosity point
    for p in result.points:
        assert p.pressure_max_mpa >= p.pressure_target_mpa
        assert p.thickness_last_contact_um >= p.thickness_um


@pytest.mark.slow
def test_halving_the_plane_speed_ci(curves, dried):
    """The ci tier's speeds vs half of them at ci size (80 AM).  So small a film scatters by
    ~±0.5 percentage points between trajectories (a few force chains carry the load; measured
    0.3-0.9 points between runs), so ci size gets 1.5 points, enough to catch a rate effect
    (1 m/s plane: +0.9 points at 100 MPa).  The 0.5-point criterion is checked at fast size in
    ``test_halving_the_plane_speed_fast`` (slow) and reported in docs/physics/calendering.md.
    Behind ``slow`` as well: its second curve cost ~2 CPU min of the 20-minute CI budget."""
    fast = curves[0]
    slow = calender(dried, CURVE_PRESSURES, protocol=CURVE_PROTOCOL.slower(2.0))
    assert fast.protocol.min_plane_speed_m_s == pytest.approx(
        2 * slow.protocol.min_plane_speed_m_s)
    for a, b in zip(slow.points, fast.points, strict=True):
        assert abs(a.porosity_min - b.porosity_min) < 0.015, a.pressure_target_mpa
        assert abs(a.porosity - b.porosity) < 0.015, a.pressure_target_mpa


@pytest.mark.slow
def test_halving_the_plane_speed_fast():
    """fast size (200 AM, ~5 000 particles): halving every plane speed of the default protocol
    changes the final porosity at 120 MPa by less than 0.5 percentage points (~25 min on
    2 cores)."""
    from physics.fidelity import FIDELITY_N_AM
    from physics.materials import paper_recipe
    from physics.slurry import dry_electrode

    state = dry_electrode(paper_recipe(), FIDELITY_N_AM["fast"], seed=0).dried
    protocol = CalenderProtocol(max_lift_fraction=0.0)
    pressures = [5.0, 20.0, 120.0]
    a = calender(state, pressures, protocol=protocol)
    b = calender(state, pressures, protocol=protocol.slower(2.0))
    # measured (seed 0, creep-arrest dwell): 27.60 / 27.06 / 26.78 % against 27.57 / 27.28 /
    # 27.13 %, so 0.35 points at 120 MPa (0.14 with the earlier fixed 1 µs dwell).  At 5 and
    # 20 MPa single runs scatter by ~0.5 points, so the check there is by ensembles
    # (docs/physics/calendering.md)
    assert abs(a.points[-1].porosity - b.points[-1].porosity) < 0.005


def test_floor_speed_flag(curves):
    """At ci size (thin film) the floor speed sets the plane speed up to several MPa: the 2 MPa
    point is reached at the floor, with I above the target, the 100 MPa point by the
    inertial-number law."""
    result = curves[0]
    target = result.protocol.inertial_number
    low, high = result.points[0], result.points[-1]
    assert low.floor_speed_at_target and low.inertial_number > 1.2 * target
    assert not high.floor_speed_at_target
    assert high.inertial_number == pytest.approx(target, rel=0.2)


def test_quasi_static_readings(curves):
    result = curves[0]
    for p in result.points:
        # Love stress at the turning point matches the plane pressure
        assert -p.stress_max_mpa[8] == pytest.approx(p.pressure_dwell_mpa, rel=0.05)
        # the servo holds the target (without its adaptive gain it chattered about a mean
        # 15 % low at 2 MPa, ci) and the dwell ends once the film stops creeping
        assert p.pressure_dwell_mpa == pytest.approx(p.pressure_target_mpa, rel=0.05)
        assert p.creep_arrested
        assert result.protocol.turn_hold_us <= p.dwell_us < result.protocol.max_hold_us
        # at the zero-force reading the film carries (almost) no stress: it kept up with
        # the rising plane
        assert abs(p.stress_recovered_mpa[8]) < 0.02 * p.pressure_max_mpa + 0.05
    high = [p for p in result.points if p.pressure_max_mpa >= 20.0]
    assert all(p.inertial_number <= 1.2 * result.protocol.inertial_number for p in high)


def test_paper_protocol_turns_at_the_target_without_dwell(dried):
    """The paper's protocol (§2): constant plane speed down until the plane pressure reaches
    the target, straight back up; pressure read at the turn, porosity after recovery."""
    speed = 1.0
    protocol = CalenderProtocol(press="paper", paper_plane_speed_m_s=speed,
                                max_lift_fraction=0.0)
    result = calender(dried, [2.0, 20.0], protocol=protocol)
    for p in result.points:
        assert p.dwell_us == 0.0 and not p.creep_arrested and not p.floor_speed_at_target
        assert p.pressure_max_mpa >= p.pressure_target_mpa
        assert p.pressure_dwell_mpa == p.pressure_max_mpa
        assert p.porosity > p.porosity_min  # spring-back
    assert result.points[0].porosity > result.points[1].porosity
    moving = [r for r in result.trace if r["plane_speed_m_s"] != 0.0 and "lift" not in
              r["phase"]]
    assert {abs(r["plane_speed_m_s"]) for r in moving} == {speed}
    assert not any("dwell" in r["phase"] for r in result.trace)


def test_calendering_densifies_contacts_and_am_cbd_order(curves):
    result = curves[0]
    assert result.points[-1].coordination_recovered > result.initial.coordination_mean
    assert result.am_cbd_shell_after > result.am_cbd_shell_before  # CBD packed onto AM


def test_roll_temperature_and_speed_reach_the_contact_table():
    """The binder law acts on the CBD rows of the Table 2 contact table only: Hertz stiffness
    through E* and SJKR cohesion through the geometric-mean CED."""
    from physics.engine._contact_kernels import CED, KN
    from physics.engine.contact import effective_young_kpa
    from physics.materials import NMC

    ref = ProcessConditions().contact_table().params
    for conditions in (ProcessConditions(temperature_c=140.0),
                       ProcessConditions(temperature_c=20.0, line_speed_m_min=50.0)):
        f_e = conditions.binder.modulus_factor(conditions.temperature_c,
                                               conditions.line_speed_m_min)
        table = conditions.contact_table().params
        cbd = conditions.cbd_material()
        assert table[1, 1, KN] == pytest.approx(ref[1, 1, KN] * f_e, rel=1e-12)
        assert table[0, 1, KN] == pytest.approx(4 / 3 * effective_young_kpa(NMC, cbd), rel=1e-12)
        assert table[1, 1, CED] == pytest.approx(ref[1, 1, CED] * f_e ** (2 / 3), rel=1e-12)
        assert table[0, 1, CED] == pytest.approx(ref[0, 1, CED] * f_e ** (1 / 3), rel=1e-12)
        np.testing.assert_array_equal(table[0, 0], ref[0, 0])  # AM-AM untouched
        np.testing.assert_array_equal(table[0, 3], ref[0, 3])  # AM-steel untouched


def test_indentation_curve(dried):
    result = indent(dried, depth_fraction=0.05, hold_us=0.5,
                    protocol=CalenderProtocol(min_plane_speed_m_s=0.4, inertial_number=2e-3))
    phases = [r["phase"] for r in result.trace]
    assert phases[0] == "load" and "hold" in phases and phases[-1] == "unload"
    assert result.depth_max_um == pytest.approx(0.05 * result.thickness_um, rel=0.05)
    assert max(r["force_normalized"] for r in result.trace) == pytest.approx(1.0)
    assert max(r["displacement_normalized"] for r in result.trace) == pytest.approx(1.0)
    assert result.force_max_nn > 0.0
    assert result.trace[-1]["displacement_um"] <= 0.05  # lifted back to first contact
    assert 0.0 <= result.residual_depth_um <= result.depth_max_um
    assert 0.0 <= result.elastic_recovery <= 1.0
    assert 0.0 <= result.plastic_work_fraction <= 1.0


def test_step_budget_reports_where_it_stopped(dried):
    with pytest.raises(RuntimeError, match=r"reached .* MPa, not 400 MPa, within max_steps"):
        calender(dried, [400.0], protocol=CalenderProtocol(max_steps=2_000, relax_steps=100))


def test_contact_stress_of_two_pressed_spheres_is_the_closed_form():
    """Hiramatsu–Oka stress 2.8 F / (π d²) of the net normal force: Hertz (4/3) E* √R* δ^1.5
    minus SJKR cohesion CED π a² (overlap disc), for two NMC spheres and for one on a plane."""
    import math

    from physics.calender import am_contact_stress_mpa, fractured_fraction
    from physics.engine import Simulation, Wall, liggghts_table
    from physics.engine.contact import effective_young_kpa, to_engine_kpa
    from physics.materials import ALUMINIUM, CBD, NMC, STEEL

    table = liggghts_table([NMC, CBD, ALUMINIUM, STEEL])
    r, delta = 2.5, 0.01
    pos = np.array([[5.0, 5.0, 5.0], [5.0, 5.0, 5.0 + 2 * r - delta]])
    sim = Simulation(pos, np.array([r, r]), np.ones(2), np.array([0, 0]), table, (0, 0, 0),
                     (20, 20, 20), periodic=(True, True, False), dt_us=1e-5, walls=[])
    ced = to_engine_kpa(NMC.cohesion_energy_density_pa)
    force = 4 / 3 * effective_young_kpa(NMC, NMC) * math.sqrt(r / 2) * delta ** 1.5 \
        - ced * math.pi * (r ** 2 - (r - delta / 2) ** 2)
    expected = 2.8 * force / (math.pi * (2 * r) ** 2) / 1e3
    assert am_contact_stress_mpa(sim) == pytest.approx([expected, expected], rel=1e-9)
    assert fractured_fraction(am_contact_stress_mpa(sim), 0.9 * expected) == 1.0
    gap = r - 0.004  # one sphere on the Al plane
    sim = Simulation(pos[:1], np.array([r]), np.ones(1), np.array([0]), table, (0, 0, 0),
                     (20, 20, 20), periodic=(True, True, False), dt_us=1e-5,
                     walls=[Wall(5.0 - gap, 1, 2)])
    force = 4 / 3 * effective_young_kpa(NMC, ALUMINIUM) * math.sqrt(r) * 0.004 ** 1.5 \
        - to_engine_kpa(math.sqrt(NMC.cohesion_energy_density_pa
                                  * ALUMINIUM.cohesion_energy_density_pa)) \
        * math.pi * (r ** 2 - gap ** 2)
    assert am_contact_stress_mpa(sim)[0] == pytest.approx(
        max(2.8 * force / (math.pi * (2 * r) ** 2) / 1e3, 0.0), rel=1e-9)


def test_contact_stress_of_a_flattened_am_contact_follows_its_unloading_branch():
    """With AM–AM plasticity λ_p (``BinderContact.am_plasticity``) a contact that was pressed
    to δ_max = 2δ and is now at δ carries K_2 (δ^1.5 − λ_p δ_max^1.5), K_2 = K_1/(1 − λ_p), not
    Hertz's K_1 δ^1.5; at δ ≥ δ_max it is on the Hertz loading curve."""
    import math

    from physics.calender import am_contact_stress_mpa
    from physics.engine import Simulation, liggghts_table, with_models
    from physics.engine._params import HIST_DMAX
    from physics.engine.contact import effective_young_kpa, to_engine_kpa
    from physics.engine.contacts import Hysteretic
    from physics.materials import ALUMINIUM, CBD, NMC, STEEL

    table = with_models(liggghts_table([NMC, CBD, ALUMINIUM, STEEL]),
                        {("AM", "AM"): [Hysteretic(0.5)]})
    r, delta = 2.5, 0.01
    pos = np.array([[5.0, 5.0, 5.0], [5.0, 5.0, 5.0 + 2 * r - delta]])
    sim = Simulation(pos, np.array([r, r]), np.ones(2), np.array([0, 0]), table, (0, 0, 0),
                     (20, 20, 20), periodic=(True, True, False), dt_us=1e-5, walls=[])
    k1 = 4 / 3 * effective_young_kpa(NMC, NMC) * math.sqrt(r / 2)
    cohesion = to_engine_kpa(NMC.cohesion_energy_density_pa) * math.pi * (
        r ** 2 - (r - delta / 2) ** 2)

    def stress(force):
        return 2.8 * force / (math.pi * (2 * r) ** 2) / 1e3

    assert am_contact_stress_mpa(sim)[0] == pytest.approx(stress(k1 * delta ** 1.5 - cohesion),
                                                          rel=1e-9)
    sim.hist[0, HIST_DMAX] = 2 * delta
    unloading = k1 / 0.5 * (delta ** 1.5 - 0.5 * (2 * delta) ** 1.5)
    assert am_contact_stress_mpa(sim)[0] == pytest.approx(
        max(stress(unloading - cohesion), 0.0), rel=1e-9)
    # a Thornton–Ning pair (yielded at δ_y = δ/4): the plastic line on loading, the flattened
    # Hertz branch of Thornton and Ning below δ_max
    from physics.engine.contacts import ThorntonNing, thornton_ning

    e_star = effective_young_kpa(NMC, NMC)
    p_y = 2 * e_star / math.pi * math.sqrt(0.25 * delta / (r / 2)) / 1e6  # GPa
    sim.set_particles(table=with_models(liggghts_table([NMC, CBD, ALUMINIUM, STEEL]),
                                        {("AM", "AM"): [ThorntonNing(p_y)]}))
    sim.hist[0, HIST_DMAX] = 0.0
    d_y = delta / 4
    plastic = k1 * d_y ** 1.5 + math.pi * p_y * 1e6 * (r / 2) * (delta - d_y)
    assert am_contact_stress_mpa(sim)[0] == pytest.approx(stress(plastic - cohesion), rel=1e-9)
    sim.hist[0, HIST_DMAX] = 1.2 * delta
    flattened = thornton_ning.closed_form_curve(delta, 1.2 * delta, r / 2, 4 / 3 * e_star, p_y,
                                                loading=False)
    assert 0 < flattened < plastic
    assert am_contact_stress_mpa(sim)[0] == pytest.approx(
        max(stress(flattened - cohesion), 0.0), rel=1e-9)


def test_cohesive_overlap_ratio_is_the_zero_load_balance_of_hertz_and_sjkr():
    """δ_eq/R* = (2π CED/KN)² against the root of the kernel's own force law (Hertz
    KN √(R*δ) δ minus CED times the exact overlap-disc area) for two equal CBD spheres: the
    closed form drops O(δ/R) terms, so it agrees to 5 % at δ/R* ~ 0.06."""
    from physics.calender import cohesive_overlap_ratio
    from physics.engine._contact_kernels import CED, KN, sjkr_pair_area

    table = ProcessConditions().contact_table()
    ratio = cohesive_overlap_ratio(table)
    i = table.names.index("CBD")
    kn, ced = table.params[i, i, KN], table.params[i, i, CED]
    radius = 0.5
    r_star = radius / 2

    def net(delta):
        return kn * math.sqrt(r_star * delta) * delta - ced * sjkr_pair_area(
            2 * radius - delta, radius, radius)

    lo, hi = 1e-9, radius
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if net(mid) > 0 else (mid, hi)
    assert 0.01 < ratio[i, i] < 0.2
    assert lo / r_star == pytest.approx(ratio[i, i], rel=0.05)


def test_a_soft_sticky_binder_is_refused_with_the_fields_named():
    with pytest.raises(ValueError, match=r"reference_cohesion_gpa 0.055.*δ/R\* = 9"):
        ProcessConditions(binder=BinderRheology(reference_modulus_gpa=0.214,
                                                reference_cohesion_gpa=0.055))
    # the whole process box stays inside the law, for NMC and a 15 GPa anode material
    for am in (200.0, 15.0):
        for t in (20.0, 150.0):
            for v in (0.1, 50.0):
                ProcessConditions(temperature_c=t, line_speed_m_min=v, am_young_modulus_gpa=am)


def test_overshot_targets_flag_the_points_a_crushing_spike_took_past_their_target():
    """A point counts as overshot when the plane pressure at its turn reads more than 5 %
    above its target. Recorded case: law Pf on the four fast films (benchmarks/data/
    crushing_onset_fast.json), pressed with the confirmed checkpoints: no point is read past
    its target, and film seed 1, where one crushing burst's spike (32.8 -> 100.7 MPa)
    had taken the 55.9-100 MPa checkpoints at one ~31 MPa film state, now gives five
    distinct, denser states."""
    assert overshot_targets([5.92, 86.0], [5.93, 91.0]) == [(86.0, 91.0)]
    assert overshot_targets([86.0], [90.29]) == []  # 4.99 % above: within the tolerance
    assert overshot_targets([10.0], [10.6], tolerance=0.1) == []
    data = json.loads((Path(__file__).parents[1] / "benchmarks" / "data"
                       / "crushing_onset_fast.json").read_text())
    for run in data["runs"]:
        targets = [p["pressure_target_mpa"] for p in run["points"]]
        assert overshot_targets(targets, [p["pressure_max_mpa"] for p in run["points"]]) == []
    run = next(r for r in data["runs"] if r["film"] == "dry_fast_s1")
    porosity = [p["porosity"] for p in run["points"] if 55.9 <= p["pressure_target_mpa"] <= 100]
    assert len(set(porosity)) == 5 and max(porosity) < 0.2795  # the spiked state: 27.95 %


def _checkpoints_of(pressures_mpa, targets_mpa, n_confirm):
    """Drive ``checkpoint_step`` over a recorded loading trace; return, per target, the index
    of the block whose checkpoint stands."""
    from physics.calender.protocol import checkpoint_step

    pending, checkpoints = [], []
    for i, p in enumerate(pressures_mpa):
        pending = checkpoint_step(targets_mpa, p * 1e3, n_confirm, pending, checkpoints,
                                  lambda i=i: (i, {"pressure_mpa": pressures_mpa[i]}))
    return [block for _, block, _ in checkpoints]


def test_a_checkpoint_stands_only_when_the_film_carries_its_pressure():
    """Plane pressures [MPa] of law Pf on film seed 1 (fast, the first-crossing run of
    benchmarks/data/crushing_onset_fast.json), excerpts block by block with linear ramps for
    the stretches between them: a steady rise through 40 MPa, the crushing avalanche at
    43.8 MPa, then a second burst whose dynamic spike read 100.7 MPa for one block and was
    back near 30 MPa five blocks later, then a steady rise again. The
    first crossing took the 55.9-100 MPa checkpoints at the spike; confirmed over the next
    7 blocks (0.1 µs) each stands at the steady crossing instead."""
    rise = [39.32, 39.47, 39.63, 39.79, 39.95, 40.14, 40.34, 40.52, 40.67, 40.81, 40.97,
            41.11, 41.25, 41.42, 41.58, 41.68, 43.8, 43.87]
    avalanche = [42.36, 38.68, 36.33, 32.58, 26.48, 18.0, 10.21, 5.46, 4.47, 3.18, 2.88, 2.08,
                 1.16, 1.02, *np.linspace(1.5, 31.68, 30)]
    burst = [32.85, 100.7, 106.26, 79.49, 79.74, 50.51, 31.79, 29.57, 33.91, 36.15, 33.04,
             26.22, 19.96, 17.82, 20.19, 24.56]
    steady = list(np.linspace(25.0, 110.0, 200))
    trace = rise + avalanche + burst + steady
    targets = [40.0, 55.9, 65.0, 75.0, 86.0, 100.0]
    first = _checkpoints_of(trace, targets, 0)
    spike = len(rise) + len(avalanche) + 1
    assert first[0] == rise.index(40.14)
    assert first[1:] == [spike] * 5  # the old reading: five targets at one spiked block
    confirmed = _checkpoints_of(trace, targets, 7)
    assert confirmed[0] == first[0]  # a steady crossing stands where it was
    start = len(trace) - len(steady)
    for target, block in zip(targets[1:], confirmed[1:], strict=True):
        assert block >= start and trace[block] >= target > trace[block - 1]
    # block-to-block noise of ±5 % (the fast films' at 5.92 MPa: at most 4-6 %) leaves
    # every checkpoint at its first crossing, so runs without a spike are unchanged
    rng = np.random.default_rng(0)
    for _ in range(10):
        noisy = np.linspace(0.5, 12.0, 300) * (1.0 + 0.05 * rng.uniform(-1, 1, 300))
        crossing = [int(np.argmax(noisy >= t)) for t in (2.0, 5.92, 10.0)]
        assert _checkpoints_of(list(noisy), [2.0, 5.92, 10.0], 7) == crossing
    with pytest.raises(ValueError, match=r"turn_confirm_us.*allowed range"):
        CalenderProtocol(turn_confirm_us=-0.1)
