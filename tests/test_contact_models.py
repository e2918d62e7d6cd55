"""The contact-model registry against closed forms (single contacts and two-sphere collisions).

Closed forms: the hysteretic law's load-unload cycle and pull-off force (Luding 2008 in Hertzian
form, ``physics.engine.contacts.hysteretic``), the Thornton–Ning elastic–perfectly-plastic
cycle (Thornton and Ning 1998) and its collision's restitution (Thornton 1997), the
restitution of a plastic Hertz collision (energy returned on the unloading branch over the
energy stored in loading), the Maxwell arm's response to a constant approach speed and its
stress relaxation (to the equilibrium arm of the standard linear solid), and the EPSD2
rolling torque's linear rise to μ_r R* F_n.  EPSD2 is also checked against LIGGGHTS in
test_engine_liggghts.
"""

import math

import numpy as np
import pytest

from physics.engine import Simulation, with_models
from physics.engine._params import GN_A, GT_A, KN, MU_R, N_HIST
from physics.engine.contact import ContactTable
from physics.engine.contacts import (
    BinderBridge,
    CoatedFriction,
    HertzSJKR,
    Hysteretic,
    RollingEPSD2,
    ThorntonNing,
    coated_friction,
    make_model,
    thornton_ning,
)
from physics.engine.contacts.binder_bridge import bridge_force, step_factors
from physics.engine.contacts.hysteretic import closed_form_curve, load_unload_curve
from physics.engine.contacts.rolling_epsd2 import epsd2_torque

from .conftest import table2

R_STAR, KN_KPA = 1.25, 4.0 / 3.0 * 1.0e6  # µm, kPa (E* = 1 GPa)


def test_hysteretic_cycle_matches_closed_form():
    lam, kc_ratio, d_max = 0.6, 0.5, 0.02
    up = np.linspace(0, d_max, 400)
    down = np.linspace(d_max, 0, 400)[1:]
    path = np.concatenate([up, down])
    loading = np.arange(path.size) < up.size
    f = load_unload_curve(path, R_STAR, KN_KPA, lam, kc_ratio * KN_KPA)
    ref = closed_form_curve(path, d_max, R_STAR, KN_KPA, lam, kc_ratio * KN_KPA, loading)
    np.testing.assert_allclose(f, ref, rtol=1e-12, atol=1e-12 * abs(ref).max())
    # permanent overlap λ^(2/3) δ_max and the pull-off force grow with the largest load
    k1 = KN_KPA * math.sqrt(R_STAR)
    k2, kc = k1 / (1 - lam), kc_ratio * k1
    f_max = k1 * d_max**1.5
    assert f.min() == pytest.approx(-kc * k2 * lam * d_max**1.5 / (k2 + kc), rel=3e-3)
    assert f.min() == pytest.approx(-kc_ratio * lam / (1 - lam) / (k2 / k1 + kc_ratio) * f_max,
                                    rel=3e-3)
    zero = down[np.argmin(abs(f[up.size:][down > 0.5 * d_max]))]
    assert zero == pytest.approx(lam ** (2 / 3) * d_max, rel=0.01)


def test_hysteretic_reloads_along_the_unloading_branch_then_hertz():
    lam, d_max = 0.5, 0.01
    path = np.concatenate([np.linspace(0, d_max, 50), np.linspace(d_max, 0.7 * d_max, 20),
                           np.linspace(0.7 * d_max, 1.5 * d_max, 60)])
    f = load_unload_curve(path, R_STAR, KN_KPA, lam, 0.0)
    k1 = KN_KPA * math.sqrt(R_STAR)
    k2 = k1 / (1 - lam)
    s = path**1.5
    expect = np.where(path >= np.maximum.accumulate(path) - 1e-15, k1 * s,
                      k2 * (s - lam * d_max**1.5))
    np.testing.assert_allclose(f, expect, rtol=1e-9, atol=1e-9 * k1 * d_max**1.5)


def test_hysteretic_without_plasticity_is_hertz():
    path = np.linspace(0, 0.02, 50)
    f = load_unload_curve(np.concatenate([path, path[::-1]]), R_STAR, KN_KPA, 0.0, 0.0)
    s = np.concatenate([path, path[::-1]]) ** 1.5
    np.testing.assert_allclose(f, KN_KPA * math.sqrt(R_STAR) * s, rtol=1e-12)


def _elastic_table(names=("AM",)) -> ContactTable:
    """Table 2 NMC law with no damping, friction or cohesion (restitution 1)."""
    base = table2(ced_scale=0.0, friction_scale=0.0)
    p = base.params.copy()
    p[:, :, [GN_A, GT_A]] = 0.0
    return ContactTable(base.names, p)


def _head_on(table: ContactTable, speed=0.5, dt=1e-5, steps=60_000) -> Simulation:
    r, rho = 2.5, 4.65
    m = rho * 4 / 3 * math.pi * r**3
    sim = Simulation(position=np.array([[0.0, 0, 0], [5.0 + 1e-3, 0, 0]]), radius=[r, r],
                     mass=[m, m], ptype=[0, 0], table=table, box_lo=(-20, -20, -20),
                     box_hi=(30, 20, 20), periodic=(False,) * 3, dt_us=dt,
                     velocity=np.array([[speed, 0, 0], [-speed, 0, 0]]))
    sim.run(steps)
    return sim


def test_plastic_collision_restitution_matches_energy_balance():
    """e² = W_unload / W_load with δ_max from K_1 δ_max^{5/2} / 2.5 = ½ m* v²."""
    lam, v = 0.5, 0.5
    table = with_models(_elastic_table(), {("AM", "AM"): [Hysteretic(lam)]})
    sim = _head_on(table, speed=v)
    r, rho = 2.5, 4.65
    m_star = 0.5 * rho * 4 / 3 * math.pi * r**3
    k1 = table.params[0, 0, KN] * math.sqrt(0.5 * r)
    d_max = (2.5 * 0.5 * m_star * (2 * v) ** 2 / k1) ** 0.4
    d_p = lam ** (2 / 3) * d_max
    k2 = k1 / (1 - lam)
    w_out = k2 * ((d_max**2.5 - d_p**2.5) / 2.5 - lam * d_max**1.5 * (d_max - d_p))
    e_ref = math.sqrt(w_out / (0.5 * m_star * (2 * v) ** 2))
    e = (sim.velocity[1, 0] - sim.velocity[0, 0]) / (2 * v)
    x = lam ** (2 / 3)  # w_out / w_in reduces to (1 - 2.5 λ + 1.5 λ^{5/3}) / (1 - λ)
    assert e_ref**2 == pytest.approx((1 - 2.5 * lam + 1.5 * lam * x) / (1 - lam), rel=1e-9)
    assert e == pytest.approx(e_ref, rel=2e-3)


def test_thornton_ning_cycle_matches_closed_form_and_its_yield_point():
    """Hertz up to δ_y = R* (π p_y / 2E*)², where the slope 2 E* √(R* δ_y) equals π p_y R*
    (continuous), linear beyond; unloading from δ_max along the flattened Hertz curve that
    leaves δ_p = δ_max - 3 F_max / (4 E* a_max) for good, with the loading stiffness 2 E* a_max
    at the turn; reloading retraces it, then yields again past δ_max."""
    p_y, d_max = 0.025, 0.02  # GPa, µm
    e_star = 0.75 * KN_KPA
    d_y = R_STAR * (math.pi * p_y * 1e6 / (2 * e_star)) ** 2
    assert d_y == pytest.approx(1.93e-3, rel=0.01)  # yields at ~1/10 of δ_max
    up = np.linspace(0, d_max, 800)
    down = np.linspace(d_max, 0, 800)[1:]
    path = np.concatenate([up, down])
    loading = np.arange(path.size) < up.size
    f = thornton_ning.load_unload_curve(path, R_STAR, KN_KPA, p_y)
    ref = thornton_ning.closed_form_curve(path, d_max, R_STAR, KN_KPA, p_y, loading)
    np.testing.assert_allclose(f, ref, rtol=1e-12, atol=1e-12 * ref.max())
    k1 = KN_KPA * math.sqrt(R_STAR)
    below = up <= d_y
    np.testing.assert_allclose(f[:up.size][below], k1 * up[below] ** 1.5, rtol=1e-12)
    assert 1.5 * k1 * math.sqrt(d_y) == pytest.approx(math.pi * p_y * 1e6 * R_STAR, rel=1e-12)
    f_max = k1 * d_y**1.5 + math.pi * p_y * 1e6 * R_STAR * (d_max - d_y)
    assert f[up.size - 1] == pytest.approx(f_max, rel=1e-12)
    a_max = math.sqrt(R_STAR * d_max)
    d_p = d_max - 3 * f_max / (4 * e_star * a_max)
    unload = f[up.size:]
    assert np.all(unload[down <= d_p] == 0) and np.all(unload[down > d_p * 1.001] > 0)
    slope = (f[up.size - 1] - unload[0]) / (d_max - down[0])
    assert slope == pytest.approx(2 * e_star * a_max, rel=0.01)
    # reloading below δ_max retraces the unloading branch, then follows the plastic line
    re = np.concatenate([up, np.linspace(d_max, 0.5 * d_max, 30),
                         np.linspace(0.5 * d_max, 1.5 * d_max, 90)])
    g = thornton_ning.load_unload_curve(re, R_STAR, KN_KPA, p_y)
    seen_max = np.maximum.accumulate(re)
    on_line = re >= seen_max - 1e-15
    line = k1 * d_y**1.5 + math.pi * p_y * 1e6 * R_STAR * (re - d_y)
    np.testing.assert_allclose(g[on_line & (re > d_y)], line[on_line & (re > d_y)], rtol=1e-12)
    back = ~on_line
    expect = thornton_ning.closed_form_curve(re[back], d_max, R_STAR, KN_KPA, p_y,
                                             np.zeros(back.sum(), bool))
    np.testing.assert_allclose(g[back], expect, rtol=1e-12, atol=1e-12 * f_max)
    # below the yield overlap the law is Hertz on both branches
    small = np.concatenate([np.linspace(0, 0.5 * d_y, 40), np.linspace(0.5 * d_y, 0, 40)])
    np.testing.assert_allclose(thornton_ning.load_unload_curve(small, R_STAR, KN_KPA, p_y),
                               k1 * small**1.5, rtol=1e-12)
    assert ThorntonNing(p_y).stiffness_ratio() == 1.0


def test_thornton_ning_flattening_limit_stops_the_plastic_flow():
    """With δ_lim = f R*: the plastic line up to δ_lim, then the elastic unloading curve of
    δ_max = δ_lim continued (force continuous at δ_lim, stiffness 2 E* a there, and Hertz in
    δ - δ_p beyond); unloading from past the limit returns along that curve, to the permanent
    overlap of δ_lim; the kernel matches the closed form; 0 is the unbounded law."""
    p_y, limit = 0.025, 0.002  # GPa; δ_lim/R* puts δ_lim = 0.0025 µm, past δ_y = 0.00193
    e_star = 0.75 * KN_KPA
    k1 = KN_KPA * math.sqrt(R_STAR)
    d_lim = limit * R_STAR
    d_y = R_STAR * (math.pi * p_y * 1e6 / (2 * e_star)) ** 2
    assert d_y < d_lim
    path = np.concatenate([np.linspace(0, 4 * d_lim, 900), np.linspace(4 * d_lim, 0, 900)[1:]])
    loading = np.arange(path.size) < 900
    f = thornton_ning.load_unload_curve(path, R_STAR, KN_KPA, p_y, limit)
    ref = thornton_ning.closed_form_curve(path, 4 * d_lim, R_STAR, KN_KPA, p_y, loading,
                                          flattening_limit=limit)
    np.testing.assert_allclose(f, ref, rtol=1e-12, atol=1e-12 * ref.max())
    # the elastic curve of δ_lim, by hand
    f_lim = k1 * d_y**1.5 + math.pi * p_y * 1e6 * R_STAR * (d_lim - d_y)
    a_lim = math.sqrt(R_STAR * d_lim)
    r_p = 4 * e_star * a_lim**3 / (3 * f_lim)
    d_p = d_lim - 3 * f_lim / (4 * e_star * a_lim)
    past = path > d_lim
    np.testing.assert_allclose(f[past], KN_KPA * math.sqrt(r_p) * (path[past] - d_p) ** 1.5,
                               rtol=1e-12)
    # (loading and unloading past the limit: one curve, the check above on both branches)
    assert np.all(f[900:][path[900:] <= d_p] == 0)
    just = np.searchsorted(path[:900], d_lim)
    assert f[just - 1] == pytest.approx(f_lim, rel=5e-3) and f[just] > f_lim
    unbounded = thornton_ning.load_unload_curve(path, R_STAR, KN_KPA, p_y)
    np.testing.assert_allclose(unbounded, thornton_ning.load_unload_curve(
        path, R_STAR, KN_KPA, p_y, 0.0), rtol=0, atol=0)
    # at 4 δ_lim the jammed contact is elastic, stiffer than the plastic line it left
    assert f[899] > 1.5 * unbounded[899]
    with pytest.raises(ValueError, match=r"flattening_limit = 1.5; allowed range \[0, 1\]"):
        ThorntonNing(p_y, 1.5)


def _thornton_restitution(v_yield_over_v: float) -> float:
    """Thornton (J. Appl. Mech. 64 (1997) 383) Eq. 27: e of an elastic–perfectly-plastic
    impact above the yield velocity."""
    x = v_yield_over_v
    return math.sqrt(6 * math.sqrt(3) / 5) * math.sqrt(1 - x**2 / 6) * (
        x / (x + 2 * math.sqrt(6 / 5 - x**2 / 5))) ** 0.25


@pytest.mark.parametrize("speed", [0.5, 1.0])
def test_thornton_ning_collision_restitution(speed):
    """Two spheres meeting head-on with the law on their contact and no damping: the
    restitution equals the energy balance of the closed-form load and unload branches
    (work returned over work stored, integrated with scipy), which is Thornton's closed form
    (1997, Eq. 27) for the same law: e = 0.319 at 0.5 m/s, 0.269 at 1 m/s."""
    from scipy.integrate import quad
    from scipy.optimize import brentq

    p_y = 0.5  # GPa
    table = with_models(_elastic_table(), {("AM", "AM"): [ThorntonNing(p_y)]})
    sim = _head_on(table, speed=speed)
    r, rho = 2.5, 4.65
    m_star = 0.5 * rho * 4 / 3 * math.pi * r**3
    kn, r_star = table.params[0, 0, KN], 0.5 * r
    e_star = 0.75 * kn
    kinetic = 0.5 * m_star * (2 * speed) ** 2

    def force(d, d_max, loading):
        return float(thornton_ning.closed_form_curve(d, d_max, r_star, kn, p_y, loading))

    d_max = brentq(lambda d: quad(force, 0, d, args=(d, True), epsabs=0,
                                  epsrel=1e-11)[0] - kinetic, 1e-6, 1.0, xtol=1e-14)
    w_out = quad(force, 0, d_max, args=(d_max, False), epsabs=0, epsrel=1e-11)[0]
    e_ref = math.sqrt(w_out / kinetic)
    e = (sim.velocity[1, 0] - sim.velocity[0, 0]) / (2 * speed)
    assert e == pytest.approx(e_ref, rel=1e-5)  # 5e-7 measured (velocity Verlet, dt 1e-5)
    # the yield velocity (relative approach speed at which δ_max reaches δ_y; Thornton's
    # 1.56 (p_y^5 / (E*^4 ρ))^{1/2} for a sphere on a wall): ½ m* V_y² = 0.4 K_1 δ_y^{5/2}
    d_y = r_star * (math.pi * p_y * 1e6 / (2 * e_star)) ** 2
    v_yield = math.sqrt(0.8 * kn * math.sqrt(r_star) * d_y**2.5 / m_star)
    assert v_yield < 0.1 * 2 * speed  # plastic impact
    assert e_ref == pytest.approx(_thornton_restitution(v_yield / (2 * speed)), rel=1e-9)


def test_bridge_constant_speed_and_relaxation_closed_forms():
    k, v, tau, dt = 3.0e3, 0.2, 0.5, 1e-4
    n = int(2.0 / dt)
    f = 0.0
    out = np.empty(n)
    decay, gain = step_factors(tau, dt)
    for i in range(n):
        f = bridge_force(f, k, v * dt, decay, gain)
        out[i] = f
    t = dt * np.arange(1, n + 1)
    np.testing.assert_allclose(out, k * v * tau * (1 - np.exp(-t / tau)), rtol=1e-9)
    f0 = out[-1]
    for _ in range(int(tau / dt)):
        f = bridge_force(f, k, 0.0, decay, gain)
    assert f == pytest.approx(f0 * math.exp(-1.0), rel=1e-9)


def test_bridge_limits_in_a_collision():
    """τ → ∞: a Hertz contact of stiffness (1 + r) KN (elastic, contact time ∝ K^{-2/5});
    τ → 0: plain Hertz; in between the arm dissipates (e < 1)."""
    base = _elastic_table()

    def collide(spec):
        table = with_models(base, {("AM", "AM"): [spec]}) if spec else base
        sim = _head_on(table, steps=1)
        contact_steps, was = 0, False
        for _ in range(60_000):
            sim.run(1)
            touching = sim.position[1, 0] - sim.position[0, 0] < 5.0
            contact_steps += touching
            if was and not touching:
                break
            was = touching
        return (sim.velocity[1, 0] - sim.velocity[0, 0]) / 1.0, contact_steps

    e0, t0 = collide(None)
    e_stiff, t_stiff = collide(BinderBridge(1.0, 1e9))
    e_fast, t_fast = collide(BinderBridge(1.0, 1e-9))
    e_mid, _ = collide(BinderBridge(1.0, t0 * 1e-5 / 4))
    assert e0 == pytest.approx(1.0, abs=1e-4)
    assert e_stiff == pytest.approx(1.0, abs=1e-3)
    assert t_stiff / t0 == pytest.approx(2.0 ** -0.4, rel=0.01)  # r = 1
    assert e_fast == pytest.approx(1.0, abs=1e-3) and t_fast == pytest.approx(t0, rel=0.01)
    assert e_mid < 0.95
    # standard linear solid: the equilibrium arm stays at τ → 0 (Hertz of (1 + φ r) KN)
    e_eq, t_eq = collide(BinderBridge(1.0, 1e-9, equilibrium_fraction=0.5))
    e_eq_stiff, t_eq_stiff = collide(BinderBridge(1.0, 1e9, equilibrium_fraction=0.5))
    assert e_eq == pytest.approx(1.0, abs=1e-3)
    assert t_eq / t0 == pytest.approx(1.5 ** -0.4, rel=0.01)
    assert e_eq_stiff == pytest.approx(1.0, abs=1e-3)
    assert t_eq_stiff / t0 == pytest.approx(2.0 ** -0.4, rel=0.01)


def test_bridge_relaxes_to_its_equilibrium_arm_at_a_held_overlap():
    """Stress relaxation of the standard linear solid through the pair kernel: at a held
    overlap δ reached from zero the normal force is (KN + KEQ) √R* δ^{3/2} + F_M(0) e^{−t/τ};
    both arms count the overlap from where the contact formed, so one formed at δ carries
    only the Hertz force there."""
    from physics.engine._contact_kernels import contact_force
    from physics.engine._params import HIST_BRIDGE, HIST_BRIDGE_EQ, kernel_params

    tau, dt, delta, phi, ratio = 0.05, 1e-4, 0.01, 0.4, 2.0
    table = with_models(_elastic_table(), {("AM", "AM"): [BinderBridge(ratio, tau, phi)]})
    p = kernel_params(table.params, dt)
    hist = np.zeros((1, N_HIST))
    k_hertz = p[0, 0, KN] * math.sqrt(R_STAR)
    f_m0 = (1 - phi) * ratio * k_hertz * delta**1.5  # the arm after a fast approach
    hist[0, HIST_BRIDGE] = f_m0
    hist[0, HIST_BRIDGE_EQ] = phi * ratio * k_hertz * delta**1.5

    def hold(steps):
        for _ in range(steps):
            fx = contact_force(1.0, 0.0, 0.0, delta, R_STAR, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0,
                               0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hist, 0, p, 0, 0, 0.0, dt)[0]
        return fx

    n = int(2 * tau / dt)
    fx = hold(n)
    f_eq = (1 + phi * ratio) * k_hertz * delta**1.5
    assert fx == pytest.approx(f_eq + f_m0 * math.exp(-n * dt / tau), rel=1e-9)
    assert hist[0, HIST_BRIDGE] == pytest.approx(f_m0 * math.exp(-2.0), rel=1e-9)
    hist[0] = 0.0  # a contact that formed at δ: the bridge is stress-free there
    assert hold(10) == pytest.approx(k_hertz * delta**1.5, rel=1e-12)


@pytest.mark.parametrize("normal", [None, ThorntonNing(5.0)])
def test_coated_friction_limit_follows_the_largest_overlap(normal):
    """A contact sliding fast along a loading, unloading, reloading and reopening overlap path
    carries the Coulomb limit μ(δ_max) |F_n| of the closed form (Bowden–Tabor mixed
    friction, α = min(δ_max / h R*, 1)): the film's μ at first touch, rising to the bare μ at
    h R*, kept on unloading, coated again after the contact opens; with a Hertz or a
    Thornton–Ning normal law."""
    from physics.engine._contact_kernels import clear_history, contact_force
    from physics.engine._params import MU, kernel_params

    mu_film, mu_bare, depth, dt = 0.01, 0.3, 0.008, 1e-4
    specs = ([normal] if normal else []) + [CoatedFriction(mu_bare, depth)]
    table = with_models(_elastic_table(), {("AM", "AM"): specs})
    p = kernel_params(table.params, dt)
    p[0, 0, MU] = mu_film
    hist = np.zeros((1, N_HIST))
    d_film = depth * R_STAR
    path = np.concatenate([np.linspace(1e-4, 0.6 * d_film, 30),
                           np.linspace(0.6 * d_film, 0.3 * d_film, 20),
                           np.linspace(0.3 * d_film, 1.5 * d_film, 40), [-1e-3],
                           np.linspace(1e-4, 0.5 * d_film, 10)])
    fn, ft = [], []
    for delta in path:
        if delta <= 0.0:
            clear_history(hist, 0)
            fn.append(0.0)
            ft.append(0.0)
            continue
        f = contact_force(1.0, 0.0, 0.0, delta, R_STAR, 1.0, 1.0, 1.0, 0.0, 50.0, 0.0,
                          0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hist, 0, p, 0, 0, 0.0, dt)
        fn.append(f[0])
        ft.append(math.hypot(f[1], f[2]))
    fn = np.array(fn)
    ref = coated_friction.friction_limit_along_path(path, fn, R_STAR, mu_film, mu_bare, depth)
    np.testing.assert_allclose(ft, ref, rtol=1e-9, atol=1e-12 * fn.max())
    # nearly coated at first touch, δ = 0.01 h R*
    assert ft[0] / fn[0] == pytest.approx(mu_film + 0.01 * (mu_bare - mu_film), rel=1e-9)
    at_bare = np.flatnonzero(path >= d_film)[0]
    assert ft[at_bare] == pytest.approx(mu_bare * fn[at_bare], rel=1e-9)  # squeezed out
    # unloading keeps the squeezed-out share: μ after 0.6 h R* is that of 0.6 on the way back
    # (the last unloading step still in contact: Thornton–Ning leaves a permanent overlap)
    back = 30 + np.flatnonzero(fn[30:50] > 0)[-1]
    assert path[back] < 0.6 * d_film
    assert ft[back] / fn[back] == pytest.approx(mu_film + 0.6 * (mu_bare - mu_film), rel=1e-6)


def test_epsd2_torque_rises_linearly_to_its_limit():
    hist = np.zeros((1, N_HIST))
    kr, mu_r, r_star, fn, w, dt = 50.0, 0.1, 1.5, 20.0, 0.3, 1e-3
    torques = []
    for _ in range(400):
        m = epsd2_torque(0.0, 0.0, 1.0, w, 0.0, 0.7, kr, mu_r, r_star, fn, hist, 0, 4, dt)
        torques.append(m[0])
    t = dt * np.arange(1, 401)
    expect = np.maximum(-kr * w * t, -mu_r * r_star * fn)
    np.testing.assert_allclose(torques, expect, rtol=1e-12)
    assert hist[0, 6] == 0.0  # spin about the normal is not rolling


def test_registry_and_bad_input():
    assert isinstance(make_model("hysteretic", plasticity=0.3), Hysteretic)
    with pytest.raises(ValueError, match="unknown; known: hertz-sjkr, hysteretic, thornton-ning"):
        make_model("jkr")
    assert isinstance(make_model("thornton-ning", yield_gpa=2.0), ThorntonNing)
    with pytest.raises(ValueError, match=r"thornton-ning\.yield_gpa = 0\.0; allowed range "
                                         r"\[0\.01, 100\.0\] GPa"):
        ThorntonNing(0.0)
    with pytest.raises(ValueError, match=r"plasticity = 1\.2; allowed range"):
        Hysteretic(1.2)
    with pytest.raises(ValueError, match=r"epsd2\.coefficient"):
        RollingEPSD2(-0.1)
    with pytest.raises(ValueError, match=r"bridge\.relaxation_time_us"):
        BinderBridge(1.0, 0.0)
    with pytest.raises(ValueError, match=r"bridge.equilibrium_fraction = 1.5; allowed range "
                                         r"\[0, 1\]"):
        BinderBridge(1.0, 1.0, equilibrium_fraction=1.5)
    with pytest.raises(ValueError, match=r"bridge\.equilibrium_scale = 0\.0; allowed range "
                                         r"\(0, 1000\]"):
        BinderBridge(1.0, 1.0, 0.5, equilibrium_scale=0.0)
    with pytest.raises(ValueError, match=r"coated-friction\.film_depth = 0\.0; allowed range "
                                         r"\(0, 0\.5\]"):
        CoatedFriction(0.3, 0.0)
    with pytest.raises(ValueError, match=r"coated-friction\.bare_friction = 3\.0"):
        make_model("coated-friction", bare_friction=3.0, film_depth=0.01)
    with pytest.raises(ValueError, match="hysteretic"):
        make_model("hysteretic", plastic=0.2)
    table = table2()
    with pytest.raises(ValueError, match="unknown material 'binder'"):
        with_models(table, {("binder", "AM"): [Hysteretic(0.2)]})
    mixed = with_models(table, {("AM", "CBD"): [RollingEPSD2(0.2)]})
    assert mixed.params[0, 1, MU_R] == mixed.params[1, 0, MU_R] == 0.2
    back = with_models(mixed, {("AM", "CBD"): [HertzSJKR()]})
    np.testing.assert_array_equal(back.params, table.params)
    assert with_models(table, {("CBD", "CBD"): [Hysteretic(0.75)]}).stiffness_ratio() == 4.0
