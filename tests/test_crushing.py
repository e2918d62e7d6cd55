"""AM particle crushing (physics.calender.fracture): Weibull strengths against scipy's Weibull
law, the crushing threshold and the load drop of one contact against closed forms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from physics.calender import (
    AM_TYPE,
    BinderContact,
    ProcessConditions,
)
from physics.calender.binder import AM_CRUSHED_TYPE
from physics.calender.fracture import (
    WEIBULL_REFERENCE_DIAMETER_UM,
    contact_stress_mpa,
    crush,
    crushing_strengths_mpa,
    octahedral_stress_mpa,
)
from physics.engine import Simulation
from physics.engine._params import CED, KN
from physics.engine.contacts import thornton_ning
from physics.engine.contacts.thornton_ning import KPA_PER_GPA

R_UM = 5.0  # both spheres
R_STAR = R_UM / 2.0
CONTACT = BinderContact(am_strength_mpa=100.0, am_weibull_modulus=4.0, am_crushed_yield_gpa=2.0)


@pytest.mark.parametrize("diameter_um", [5.0, 10.0, 16.0])
def test_crushing_strengths_follow_the_weibull_law_with_its_size_effect(diameter_um):
    m, sigma0 = 4.0, 150.0
    s = crushing_strengths_mpa(np.full(4000, diameter_um), sigma0, m, np.random.default_rng(3))
    scale = sigma0 * (WEIBULL_REFERENCE_DIAMETER_UM / diameter_um) ** (3.0 / m)
    assert stats.kstest(s, stats.weibull_min(m, scale=scale).cdf).pvalue > 0.01
    # the scale moves with d^(-3/m): a wrong exponent is rejected at this sample size
    if diameter_um != WEIBULL_REFERENCE_DIAMETER_UM:
        assert stats.kstest(s, stats.weibull_min(m, scale=sigma0).cdf).pvalue < 1e-6


def _pair(overlap_um: float, conditions: ProcessConditions) -> Simulation:
    table = conditions.contact_table()
    x = 2.0 * R_UM - overlap_um
    return Simulation(position=np.array([[20.0, 20, 20], [20.0 + x, 20, 20]]),
                      radius=[R_UM, R_UM], mass=[2400.0, 2400.0], ptype=[AM_TYPE, AM_TYPE],
                      table=table, box_lo=(0, 0, 0), box_hi=(40, 40, 40),
                      periodic=(False, False, False), dt_us=1e-5)


def _set_overlap(sim: Simulation, overlap_um: float) -> float:
    """Place the pair at this overlap at rest; return the normal force on sphere 0 [nN],
    positive in compression."""
    sim.position[1, 0] = sim.position[0, 0] + 2.0 * R_UM - overlap_um
    sim.velocity[:] = 0.0
    sim.compute_forces()
    return -float(sim.force[0, 0])


def _cohesion_nn(sim: Simulation, overlap_um: float, ti: int, tj: int) -> float:
    """SJKR force CED · π a² of the overlap disc of two equal spheres [nN]."""
    d = 2.0 * R_UM - overlap_um
    area = math.pi * (R_UM ** 2 - (d / 2.0) ** 2)
    return float(sim.table.params[ti, tj, CED]) * area


def test_a_particle_crushes_above_its_strength_and_its_load_drops_onto_the_crushed_law():
    conditions = ProcessConditions(binder_contact=CONTACT)
    sim = _pair(0.01, conditions)
    kn = float(sim.table.params[AM_TYPE, AM_TYPE, KN])
    strength = np.array([100.0, np.inf])  # only sphere 0 can break

    def hertz_net(delta):
        return kn * math.sqrt(R_STAR) * delta ** 1.5 - _cohesion_nn(sim, delta, AM_TYPE,
                                                                     AM_TYPE)

    # the overlap at which the Hiramatsu–Oka stress 2.8 F/(π d²) reaches 100 MPa
    f_crit = 100.0e3 * math.pi * (2 * R_UM) ** 2 / 2.8  # [nN] (kPa µm²)
    from scipy.optimize import brentq
    delta_crit = brentq(lambda d: hertz_net(d) - f_crit, 1e-4, 1.0)

    below = 0.98 * delta_crit
    f_below = _set_overlap(sim, below)
    assert f_below == pytest.approx(hertz_net(below), rel=1e-6)
    stress = contact_stress_mpa(sim)
    assert stress[0] == pytest.approx(2.8 * hertz_net(below) / (math.pi * 100.0) / 1e3,
                                      rel=1e-6)
    assert crush(sim, strength).size == 0

    above = 1.02 * delta_crit
    f_intact = _set_overlap(sim, above)
    assert list(crush(sim, strength)) == [0]
    assert sim.ptype[0] == AM_CRUSHED_TYPE and sim.ptype[1] == AM_TYPE
    assert crush(sim, strength).size == 0  # crushed for good, counted once
    # the crushed pair's loading branch (Thornton–Ning at the crushed yield pressure) at the
    # same overlap, minus the unchanged SJKR cohesion: the load drops
    f_crushed = _set_overlap(sim, above)
    kn_c = float(sim.table.params[AM_CRUSHED_TYPE, AM_TYPE, KN])
    tn = float(thornton_ning.closed_form_curve(above, above, R_STAR, kn_c, 2.0, loading=True))
    expected = tn - _cohesion_nn(sim, above, AM_CRUSHED_TYPE, AM_TYPE)
    assert f_crushed == pytest.approx(expected, rel=1e-6)
    assert f_crushed < 0.5 * f_intact
    # unloading follows the flattened (R_p, δ_p) Hertz branch of the crushed contact
    back = 0.8 * above
    f_back = _set_overlap(sim, back)
    tn_back = float(thornton_ning.closed_form_curve(back, above, R_STAR, kn_c, 2.0,
                                                    loading=False))
    assert f_back == pytest.approx(tn_back - _cohesion_nn(sim, back, AM_CRUSHED_TYPE, AM_TYPE),
                                   rel=1e-6, abs=1e-6 * f_intact)
    assert sim.table.params[AM_CRUSHED_TYPE, AM_TYPE, 16] == pytest.approx(2.0 * KPA_PER_GPA)


def _star(overlaps_um: dict[tuple[int, int, int], float]) -> Simulation:
    """An AM sphere at the centre and one AM neighbour along each given axis direction, at
    its overlap [µm]."""
    centre = np.array([30.0, 30.0, 30.0])
    pos = [centre] + [centre + np.array(axis) * (2.0 * R_UM - d)
                      for axis, d in overlaps_um.items()]
    n = len(pos)
    return Simulation(position=np.array(pos), radius=[R_UM] * n, mass=[2400.0] * n,
                      ptype=[AM_TYPE] * n, table=ProcessConditions(
                          binder_contact=CONTACT).contact_table(),
                      box_lo=(0, 0, 0), box_hi=(60, 60, 60), periodic=(False, False, False),
                      dt_us=1e-5)


def test_the_octahedral_crushing_stress_is_hiramatsu_oka_when_pinched_and_zero_when_isotropic():
    """The centre sphere's mean stress tensor σ = (1/V) Σ F l n⊗n, l = R − δ/2 the lever to
    the contact plane: pinched by two opposite forces F its octahedral crushing stress is
    2.8 F/(π d²) (1 − δ/(2R)), the Hiramatsu–Oka stress to the lever's shortening; pressed
    equally from six sides it is 0 (and it does not crush, where the largest-contact reading
    does); pressed harder along z it is (2.8/(2√2)) (√2/3) (σ_zz − σ_xx)."""
    sim = _star({(0, 0, 1): 0.02, (0, 0, -1): 0.02})
    net = _set_overlap(_pair(0.02, ProcessConditions(binder_contact=CONTACT)), 0.02)
    ho = 2.8 * net / (math.pi * (2 * R_UM) ** 2) / 1e3
    assert contact_stress_mpa(sim)[0] == pytest.approx(ho, rel=1e-9)
    assert octahedral_stress_mpa(sim)[0] == pytest.approx(ho * (1 - 0.01 / R_UM), rel=1e-9)

    six = {a: 0.02 for a in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1),
                             (0, 0, -1)]}
    sim = _star(six)
    assert octahedral_stress_mpa(sim)[0] == pytest.approx(0.0, abs=1e-9 * ho)
    strength = np.r_[0.5 * ho, np.full(6, np.inf)]
    assert crush(sim, strength, "octahedral").size == 0
    assert list(crush(sim, strength, "contact")) == [0]

    sim = _star(six | {(0, 0, 1): 0.03, (0, 0, -1): 0.03})
    volume = 4.0 / 3.0 * math.pi * R_UM ** 3
    pair = _pair(0.02, ProcessConditions(binder_contact=CONTACT))
    f_x, f_z = _set_overlap(pair, 0.02), _set_overlap(pair, 0.03)
    s_xx = 2 * f_x * (R_UM - 0.01) / volume
    s_zz = 2 * f_z * (R_UM - 0.015) / volume
    expected = 2.8 / (2 * math.sqrt(2)) * math.sqrt(2) / 3 * (s_zz - s_xx) / 1e3
    assert octahedral_stress_mpa(sim)[0] == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="am_crushing_stress must be one of contact, "
                       "octahedral, got 'mean'"):
        BinderContact(am_strength_mpa=100.0, am_crushing_stress="mean")


def test_crushing_is_off_in_table2_and_ranges_are_named():
    assert not BinderContact().crushing
    assert ProcessConditions().contact_table().n_types == 4
    assert ProcessConditions(binder_contact=CONTACT).contact_table().n_types == 5
    with pytest.raises(ValueError, match="am_strength_mpa"):
        BinderContact(am_strength_mpa=5.0)
    with pytest.raises(ValueError, match="am_weibull_modulus"):
        BinderContact(am_strength_mpa=100.0, am_weibull_modulus=0.5)
    with pytest.raises(ValueError, match="am_crushed_yield_gpa"):
        BinderContact(am_strength_mpa=100.0, am_crushed_yield_gpa=0.0)
    with pytest.raises(ValueError, match=r"am_crushed_flattening = -0\.1 is outside the "
                       r"allowed range \[0\.0, 1\.0\]"):
        BinderContact(am_strength_mpa=100.0, am_crushed_flattening=-0.1)
    # the crushed pairs carry the limit; 0 (the default) is none
    from physics.engine._params import FLATTENING_LIMIT

    table = ProcessConditions(binder_contact=BinderContact(
        am_strength_mpa=100.0, am_crushed_flattening=0.1)).contact_table()
    assert table.params[AM_CRUSHED_TYPE, AM_TYPE, FLATTENING_LIMIT] == 0.1
    assert table.params[AM_TYPE, AM_TYPE, FLATTENING_LIMIT] == 0.0
    assert ProcessConditions(binder_contact=CONTACT).contact_table().params[
        AM_CRUSHED_TYPE, AM_TYPE, FLATTENING_LIMIT] == 0.0
    # below twice the AM cohesion (0.6 GPa) the cohesion alone would flatten crushed contacts
    with pytest.raises(ValueError, match=r"AM_CRUSHED.*am_crushed_yield_gpa above 1\.2"):
        ProcessConditions(binder_contact=BinderContact(am_strength_mpa=100.0,
                                                       am_crushed_yield_gpa=1.0))


def test_crushing_in_the_press_breaks_weak_particles_and_densifies():
    """On the `ci` film at 20 MPa (paper protocol): until the first particle breaks the press
    with crushing is the Table 2 press step for step (the crushed type is idle), then weak
    particles break for good and the film ends denser."""
    from physics.calender import CalenderProtocol, calender
    from physics.state import ParticleState
    from tests.test_calender import DRIED_CI

    dried = ParticleState.load(DRIED_CI)
    protocol = CalenderProtocol(press="paper", paper_plane_speed_m_s=1.0, max_lift_fraction=0.0)
    weak = ProcessConditions(binder_contact=BinderContact(am_strength_mpa=30.0,
                                                          am_crushed_yield_gpa=1.5))
    intact = calender(dried, [20.0], protocol=protocol)
    crushed = calender(dried, [20.0], conditions=weak, protocol=protocol)
    fractions = [r["am_crushed_fraction"] for r in crushed.trace if r["phase"] == "load"]
    first = next(k for k, f in enumerate(fractions) if f > 0)
    assert first > 0
    assert crushed.trace[:first] == intact.trace[:first]
    assert all(b >= a for a, b in itertools.pairwise(fractions))
    point = crushed.points[0]
    assert point.am_crushed_fraction >= 0.05
    assert intact.points[0].am_crushed_fraction == 0.0
    # the saved structure names the crushed particles: AM ones, as many as the share says
    broken = np.asarray(point.state.meta["am_crushed_indices"])
    am = dried.species == 0  # ParticleState species: 0 = AM
    assert am[broken].all() and len(broken) == round(point.am_crushed_fraction * am.sum())
    assert "am_crushed_indices" not in intact.points[0].state.meta
    assert point.porosity < intact.points[0].porosity - 0.005
    assert sum(point.load_share.values()) == pytest.approx(1.0)
