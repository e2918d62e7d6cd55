"""Roll crown and transverse uniformity (physics/crown.py, physics/nip.py,
physics/timoshenko.py, experiments/crown.py): the beam and the beam on a linear foundation
against their closed forms, the nip law against an independent quadrature, the nonlinear
coupled nip's convergence and force balance, the crown optimum on a stand-in with a known
answer, and one run of ``etwin crown``."""

import itertools
import json
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.sparse import diags
from scipy.sparse.linalg import spsolve

from physics.compaction import CompactionLaw
from physics.crown import NipModel, RollGeometry, Web, optimize_crown, roll_beam
from physics.nip import NipLaw, SpringBack
from physics.timoshenko import TimoshenkoBeam, cowper_shear_coefficient

EI, KGA = 8.0e7, 2.0e9  # N m², N: a Ø 200 mm steel shaft
#: a stand-in electrode with a power-law tail (K = 2 MPa + 2 p): still compacting at 100 MPa
LAW = CompactionLaw(0.42, 0.20, 2.0, 2.0)


def uniform_beam(length_m: float, n: int, ei=EI, kga=KGA) -> TimoshenkoBeam:
    return TimoshenkoBeam(np.linspace(-length_m / 2, length_m / 2, n + 1), np.full(n, ei),
                          np.full(n, kga))


def pinned_solve(beam: TimoshenkoBeam, f: np.ndarray) -> np.ndarray:
    free = np.setdiff1d(np.arange(beam.n_dofs), [0, beam.n_dofs - 2])
    u = np.zeros(beam.n_dofs)
    u[free] = spsolve(beam.stiffness()[free][:, free], f[free])
    return u


# ---------------------------------------------------------------------------- the beam alone
@pytest.mark.parametrize("n", [2, 6, 40])
def test_simply_supported_beam_under_uniform_load_matches_bending_plus_shear(n):
    """w(0) = 5 q L⁴ / (384 EI) + q L² / (8 κGA): the element is exact at the nodes (the
    Friedman-Kosmatka element reproduces the homogeneous solution), so to round-off."""
    length, q = 0.8, 1e5
    beam = uniform_beam(length, n)
    _, w, shape = beam.gauss()
    u = pinned_solve(beam, shape.T @ (w * q))
    exact = 5 * q * length ** 4 / (384 * EI) + q * length ** 2 / (8 * KGA)
    assert u[2 * (n // 2)] == pytest.approx(exact, rel=1e-12)
    # shear is 37.5 % of it here: a Bernoulli beam would fail this test
    assert q * length ** 2 / (8 * KGA) > 0.3 * exact


def unit_load_deflection(geometry: RollGeometry, web_mm: float, q: float, a: float) -> float:
    """δ(a) of the stepped roll (barrel, bore, journals) pinned at its bearings under q [N/m]
    over the web: Castigliano's unit-load integral ∫ (M m / EI + V v / κGA) dx, by adaptive
    quadrature between the section and load breaks (independent of the elements)."""
    s, hb, b = 0.5e-3 * geometry.bearing_span_mm, 0.5e-3 * geometry.barrel_length_mm, \
        0.5e-3 * web_mm
    reaction = q * b

    def real(x):
        loaded = min(max(x + b, 0.0), 2 * b)
        arm = 0.0 if loaded == 0 else x - (-b + loaded / 2)
        return reaction * (x + s) - q * loaded * arm, reaction - q * loaded

    r_left, r_right = (s - a) / (2 * s), (s + a) / (2 * s)

    def unit(x):
        return (r_left * (x + s), r_left) if x < a else (r_right * (s - x), -r_right)

    def integrand(x):
        (m_real, v_real), (m_unit, v_unit) = real(x), unit(x)
        ei, kga = geometry.sections(abs(x) < hb)
        return m_real * m_unit / ei + v_real * v_unit / kga

    breaks = sorted({-s, -hb, -b, a, b, hb, s})
    return sum(quad(integrand, lo, hi, epsabs=0, epsrel=1e-13)[0]
               for lo, hi in itertools.pairwise(breaks) if hi > lo)


def test_stepped_bored_roll_under_the_web_matches_the_unit_load_integral():
    """The roll as built (barrel with a bore, thinner journals, bearings outside, load over
    the web only) at the centre, the web edge and the barrel end: exact at the nodes too."""
    geometry = RollGeometry(barrel_length_mm=600, barrel_diameter_mm=300,
                            journal_diameter_mm=160, bearing_span_mm=900, bore_diameter_mm=120)
    web_mm, q = 350.0, 1.5e5
    beam = roll_beam(geometry, web_mm, elements_web=30)
    mid = 0.5 * (beam.nodes_m[:-1] + beam.nodes_m[1:])
    _, w, shape = beam.gauss(np.flatnonzero(np.abs(mid) < 0.5e-3 * web_mm))
    u = pinned_solve(beam, shape.T @ (w * q))
    for a in (0.0, 0.5e-3 * web_mm, 0.3):
        node = int(np.argmin(np.abs(beam.nodes_m - a)))
        assert beam.nodes_m[node] == pytest.approx(a, abs=1e-12)
        assert u[2 * node] == pytest.approx(unit_load_deflection(geometry, web_mm, q, a),
                                            rel=1e-9)


def test_cowper_coefficient_limits():
    assert cowper_shear_coefficient(0.3) == pytest.approx(6 * 1.3 / 8.8)  # solid circle
    assert cowper_shear_coefficient(0.3, 0.999) == pytest.approx(0.5305, abs=2e-3)  # thin tube


# ---------------------------------------------------------------------------- linear foundation
def foundation_solve(beam: TimoshenkoBeam, k: float, load_n: float) -> np.ndarray:
    """A free-free beam on a Winkler foundation k [N/m²] with a point load at its centre."""
    _, w, shape = beam.gauss()
    stiffness = (beam.stiffness() + shape.T @ diags(w * k) @ shape).tocsc()
    f = np.zeros(beam.n_dofs)
    f[beam.n_dofs // 2 - 1] = load_n
    return spsolve(stiffness, f)


@pytest.mark.parametrize("beta_l", [0.6, 2.5, 8.0])
def test_finite_free_beam_on_linear_foundation_matches_hetenyi(beta_l):
    """Hetényi (1946): a free beam of length L with a central load P on a foundation k,
    w(0) = P β / (2k) (cosh βL + cos βL + 2) / (sinh βL + sin βL), β = (k / 4EI)^(1/4)
    (Bernoulli: κGA 1e10 times the bending stiffness per element length²).  βh <= 0.025
    with at least 60 elements: within 2e-7 (much finer meshes of the nearly rigid short
    beam lose digits to the conditioning, K / k ~ (βh)^-4)."""
    k, load = 5e8, 1e4
    beta = (k / (4 * EI)) ** 0.25
    length = beta_l / beta
    n = max(60, int(40 * beta_l))
    beam = uniform_beam(length, n, kga=1e10 * EI / (length / n) ** 2)
    u = foundation_solve(beam, k, load)
    exact = load * beta / (2 * k) * (math.cosh(beta_l) + math.cos(beta_l) + 2) / (
        math.sinh(beta_l) + math.sin(beta_l))
    assert u[beam.n_dofs // 2 - 1] == pytest.approx(exact, rel=2e-7)


def test_long_beam_on_linear_foundation_profile_matches_closed_forms():
    """Infinite beam, central load: Bernoulli w = P β / (2k) e^(-βx) (cos βx + sin βx), and
    Timoshenko w = e^(-ax) (C1 cos bx + C2 sin bx) with a² - b² = k / (2κGA), a² + b² = 2β²,
    C1, C2 from ∫_0^∞ k w = P / 2 and w'(0) = -P / (2κGA) (from EI w⁗ - (EI k / κGA) w″
    + k w = 0).  A free beam 24 / β long stands in for the infinite one (end effect
    e^(-12)).  Bernoulli: within 1e-7 of w(0) on 800 elements.  Timoshenko: the shear-
    dominated elements (φ = 12 EI / (κGA h²) ~ 1e3-1e4) carry the foundation with an
    effectively linear deflection, so the error falls as h²: slope 2 ± 0.15 over 400, 800,
    1600 elements, and below 5e-5 of w(0) at 1600 (the roll meshes have φ ~ 5e4, and the
    nip's foundation length sqrt(κGA / k) is metres against 2.5 mm elements)."""
    k, load = 5e8, 1e4
    beta = (k / (4 * EI)) ** 0.25
    length = 24 / beta
    x = np.linspace(0, 4 / beta, 81)
    bernoulli = load * beta / (2 * k) * np.exp(-beta * x) * (np.cos(beta * x)
                                                             + np.sin(beta * x))
    beam = uniform_beam(length, 800, kga=1e10 * EI / (length / 800) ** 2)
    w = beam.deflection_at(foundation_solve(beam, k, load), x)
    assert np.abs(w - bernoulli).max() < 1e-7 * bernoulli[0]
    kga = 2e8  # shear adds 60 % to the deflection under the load here
    alpha = k / (2 * kga)
    a, b = math.sqrt(beta ** 2 + alpha / 2), math.sqrt(beta ** 2 - alpha / 2)
    c1, c2 = np.linalg.solve([[k * a / (a * a + b * b), k * b / (a * a + b * b)], [-a, b]],
                             [load / 2, -load / (2 * kga)])
    timoshenko = np.exp(-a * x) * (c1 * np.cos(b * x) + c2 * np.sin(b * x))
    assert timoshenko[0] > 1.5 * bernoulli[0]
    errors = []
    for n in (400, 800, 1600):
        beam = uniform_beam(length, n, kga=kga)
        w = beam.deflection_at(foundation_solve(beam, k, load), x)
        errors.append(np.abs(w - timoshenko).max() / timoshenko[0])
    slope = np.polyfit(np.log([400, 800, 1600]), np.log(errors), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.15)
    assert errors[-1] < 5e-5


# ---------------------------------------------------------------------------- the nip law
def test_nip_line_load_matches_an_independent_quadrature():
    """q(g) of the table against brentq-inverted pressures integrated by scipy quad along the
    arc (loading branch to H_in, elastic exit to the recovered thickness): within 2e-4."""
    springback = SpringBack(3.0, 50.0, 0.5)
    web = Web(width_mm=300, coating_thickness_um=80, sides=2, foil_thickness_um=15)
    nip = NipLaw(CompactionLaw(0.42, 0.262, 0.233, 1.19), springback, web, 0.2)
    h0, foil = 80e-6, 15e-6

    def loaded(p):
        eps = 0.262 + (0.42 - 0.262) * (1 + 1.19 * p / 0.233) ** (-1 / 1.19)
        return 2 * h0 * 0.58 / (1 - eps) / (1 + 0.03 * (p / 50) ** 0.5) + foil

    def pressure(h):
        return 0.0 if h >= nip.entry_m else brentq(lambda p: loaded(p) - h, 0, 1e6,
                                                    xtol=1e-15, rtol=1e-14)

    for p_max in (0.05, 2.0, 30.0, 300.0):
        g = loaded(p_max)
        assert float(nip.peak_pressure_mpa(g)) == pytest.approx(p_max, rel=1e-4)
        entry = quad(lambda t, g=g: pressure(g + t * t), 0, math.sqrt(nip.entry_m - g),
                     limit=200, epsabs=0, epsrel=1e-10)[0]
        recovered = (loaded(p_max) - foil) * (1 + 0.03 * (p_max / 50) ** 0.5)
        exit_ = quad(lambda t, g=g, r=recovered: 50 * ((r / (g + t * t - foil) - 1) / 0.03)
                     ** 2, 0, math.sqrt(recovered + foil - g), epsrel=1e-10)[0]
        assert float(nip.line_load_n_m(g)) == pytest.approx(math.sqrt(0.2) * 1e6
                                                            * (entry + exit_), rel=2e-4)
    # the contact length is the flat-rolling sqrt(R Δh)
    assert float(nip.contact_length_m(nip.entry_m - 20e-6)) == pytest.approx(
        math.sqrt(0.2 * 20e-6))
    gaps = np.linspace(nip.gap_min_m, nip.entry_m, 400)
    assert np.all(np.diff(nip.line_load_n_m(gaps)) <= 0)
    assert np.all(nip.stiffness_n_m2(gaps) >= 0)


# ---------------------------------------------------------------------------- coupled nip
@pytest.mark.parametrize("rolls", ["two", "rigid"])
def test_nonlinear_nip_converges_and_balances_force(rolls):
    """Force control: Newton converges in a few steps, the bearings carry the nip force
    (1e-9) and the rolls' bending opens the gap at the centre (less pressure, more porosity
    there).  Gap control at the converged bearing gap gives back the same force."""
    model = NipModel(RollGeometry(), Web(), LAW, SpringBack(3.0), rolls=rolls)
    sol = model.solve(0.0, force_kn=30.0)
    assert sol.converged and sol.iterations < 20
    assert sol.bearing_reaction_kn == pytest.approx(30.0, rel=1e-9)
    width_m = 0.3
    assert np.trapezoid(sol.line_load_kn_m, sol.x_mm * 1e-3) == pytest.approx(30.0, rel=1e-3)
    assert sol.line_load_kn_cm == pytest.approx(30.0 / (100 * width_m))
    assert sol.gap_um[len(sol.gap_um) // 2] > sol.gap_um[0]
    assert sol.centre_minus_edge() > 0
    back = model.solve(0.0, bearing_gap_um=sol.bearing_gap_um)
    assert back.converged and back.force_kn == pytest.approx(30.0, rel=1e-8)
    # the deflection of the bending roll(s) enters the gap n times
    dgap = sol.gap_um[len(sol.gap_um) // 2] - sol.gap_um[0]
    dw = sol.deflection_um[len(sol.gap_um) // 2] - sol.deflection_um[0]
    assert dgap == pytest.approx(model.n * dw, rel=1e-9)


def test_rigid_rolls_press_the_web_uniformly():
    """Rolls 3·10⁴ times stiffer (Ø 3 m, E 2000 GPa): the line load is F / width everywhere
    and the porosity uniform (spreads about a thousandth of the Ø 400 mm steel rolls'); a
    crown then only adds non-uniformity (optimum 0)."""
    stiff = RollGeometry(barrel_diameter_mm=3000, journal_diameter_mm=3000,
                         young_modulus_gpa=2000)
    model = NipModel(stiff, Web(), LAW, SpringBack(3.0))
    sol = model.solve(0.0, force_kn=30.0)
    steel = NipModel(RollGeometry(), Web(), LAW, SpringBack(3.0)).solve(0.0, force_kn=30.0)
    assert np.ptp(sol.line_load_kn_m) < 1e-3 * np.ptp(steel.line_load_kn_m)
    assert np.allclose(sol.line_load_kn_m, 100.0, rtol=2e-4)
    assert sol.porosity_range() < 2e-3 * steel.porosity_range()
    opt = optimize_crown(model, force_kn=30.0, crown_max_um=2.0)
    assert opt.crown_um < 0.02
    assert opt.solution.porosity_range() <= model.solve(1.0, force_kn=30.0).porosity_range()


def test_crown_matched_to_the_bending_line_is_the_known_optimum():
    """Stand-in with a known answer: a uniform roll on bearings at its barrel ends, web over
    the whole barrel, crown shaped as its own bending line.  A crown of the roll's centre
    deflection under the uniform load, 5 q L⁴ / (384 EI) + q L² / (8 κGA), makes the gap
    uniform, so that uniform load is the solution: the optimiser must find it (1 %) and the
    porosity must come out uniform."""
    geometry = RollGeometry(barrel_length_mm=500, barrel_diameter_mm=250,
                            journal_diameter_mm=250, bearing_span_mm=500)
    model = NipModel(geometry, Web(width_mm=500), LAW, SpringBack(3.0), elements_web=100)
    force_kn, length = 50.0, 0.5
    q = 1e3 * force_kn / length
    ei, kga = geometry.sections(True)
    known = 1e6 * (5 * q * length ** 4 / (384 * ei) + q * length ** 2 / (8 * kga))
    opt = optimize_crown(model, shape="deflection", force_kn=force_kn)
    before = model.solve(0.0, "deflection", force_kn=force_kn)
    assert opt.crown_um == pytest.approx(known, rel=0.01)
    assert opt.value < 0.01 * before.porosity_range()
    assert np.allclose(opt.solution.line_load_kn_m, 1e-3 * q, rtol=1e-3)
    assert not opt.at_bound


@pytest.mark.parametrize("kwargs,message", [
    (dict(web=Web(width_mm=700)), "web_width_mm = 700 is wider than the barrel"),
    (dict(crown_um=500.0), "crown_um = 500 is outside the allowed range [0, 90.9)"),
    (dict(bearing_gap_um=400.0), "bearing_gap_um = 400 is outside the reachable range"),
])
def test_non_physical_input_names_the_field(kwargs, message):
    web = kwargs.pop("web", Web())
    with pytest.raises(ValueError) as err:
        model = NipModel(RollGeometry(), web, LAW)
        model.solve(kwargs.get("crown_um", 0.0), bearing_gap_um=kwargs.get("bearing_gap_um"),
                    force_kn=None if "bearing_gap_um" in kwargs else 30.0)
    assert message in str(err.value)
    with pytest.raises(ValueError, match=r"journal_diameter_mm = 500.0 is outside"):
        RollGeometry(journal_diameter_mm=500.0)
    with pytest.raises(ValueError, match=r"bearing_span_mm = 400.0 is outside"):
        RollGeometry(bearing_span_mm=400.0)
    with pytest.raises(ValueError, match=r"web_width_mm = -3.0 is outside"):
        Web(width_mm=-3.0)


# ---------------------------------------------------------------------------- the job
def test_job_on_a_stand_in_finds_the_known_crown_and_logs_to_mlflow(tmp_path, monkeypatch):
    """The job end to end on a stand-in with a known answer: a curve drawn from LAW (with its
    dried row and a spring-back column), a uniform roll on bearings at its barrel ends, the
    web over the whole barrel and the ``deflection`` crown shape.  The optimum is the roll's
    centre deflection under the uniform line load (closed form, 1 %); the files, the
    spring-back fitted from the curve's own column and the MLflow run are there."""
    from mlflow import MlflowClient

    from experiments.crown import run_crown

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    curve = tmp_path / "curve.csv"
    pressures = [0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 200.0]
    curve.write_text("pressure_mpa,porosity,springback_percent,thickness_um\n" + "".join(
        f"{p},{LAW.porosity(p)},{'' if p == 0 else 2.0 * (p / 50) ** 0.6},"
        f"{'70' if p == 0 else ''}\n" for p in pressures))
    geometry = RollGeometry(barrel_length_mm=500, barrel_diameter_mm=250,
                            journal_diameter_mm=250, bearing_span_mm=500)
    result = run_crown(tmp_path / "out", curves=[curve], geometry=geometry, web_width_mm=500,
                       line_load_kn_cm=1.0, crown_shape="deflection", elements_web=100)
    q, length = 1e5, 0.5
    ei, kga = geometry.sections(True)
    known = 1e6 * (5 * q * length ** 4 / (384 * ei) + q * length ** 2 / (8 * kga))
    assert result["crown_optimum_um"] == pytest.approx(known, rel=0.01)
    assert result["optimum"]["porosity_range"] < 0.01 * result["installed"]["porosity_range"]
    assert result["installed"]["porosity_centre_minus_edge"] > 0
    assert result["web"]["coating_thickness_um"] == 70.0
    assert result["springback"]["percent_at_reference"] == pytest.approx(2.0, rel=1e-9)
    assert result["springback"]["exponent"] == pytest.approx(0.6, rel=1e-9)
    assert result["compaction_law"]["porosity_min"] == pytest.approx(0.20, abs=1e-6)
    for name in ("report.md", "summary.json", "profiles.csv", "crown_scan.csv",
                 "profiles.png", "roll.png", "crown_scan.png", "compaction_law.png"):
        assert (tmp_path / "out" / name).is_file()
    run = MlflowClient(uri).get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["job"] == "crown"
    assert run.data.metrics["crown_optimum_um"] == pytest.approx(result["crown_optimum_um"])


def test_etwin_crown_on_an_industrial_nip(tmp_path, capsys):
    """``etwin crown --json`` as a user runs it, on the shipped DEM curve: a 600 mm barrel of
    Ø 300 mm steel rolls, 300 mm web, 1.5 kN/cm.  The rolls' bending leaves the centre more
    porous and the edges carrying more load; the optimum crown evens both."""
    from experiments.cli import main

    out = tmp_path / "crown"
    assert main(["crown", "--barrel-length-mm", "600", "--barrel-diameter-mm", "300",
                 "--journal-diameter-mm", "160", "--bearing-span-mm", "900",
                 "--web-width-mm", "300", "--line-load-kn-cm", "1.5", "--out", str(out),
                 "--no-mlflow", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    before, after = result["installed"], result["optimum"]
    assert before["converged"] and after["converged"]
    assert before["force_kn"] == pytest.approx(45.0) and before["bearing_reaction_kn"] == \
        pytest.approx(45.0, rel=1e-9)
    assert before["porosity_centre_minus_edge"] > 0
    assert before["line_load_kn_m_edge"] > 1.5 * before["line_load_kn_m_centre"]
    assert 0 < result["crown_optimum_um"] < before["deflection_um_centre"]
    assert after["porosity_range"] < 0.1 * before["porosity_range"]
    assert after["line_load_kn_m_max"] - after["line_load_kn_m_min"] < 0.05 * 150
    rows = (out / "profiles.csv").read_text().splitlines()
    assert len(rows) == 121 + 1 and "porosity_optimum" in rows[0]
    assert "Optimum parabolic crown" in (out / "report.md").read_text()


def test_springback_power_law_from_calender_folders_and_the_shipped_table(tmp_path):
    """Two ``etwin calender`` folders (curve.csv without a 0 MPa row, the dried film in
    metrics.json beside it) with spring-back s = 1.5 % (p / 50)^0.5: the power law is fitted
    back from their column; without the column, from the shipped DEM table (about 3 % at
    50 MPa, exponent about 0.5); flags override it."""
    from experiments.crown import springback_law
    from experiments.line_data import TABLE2_CURVE, read_curve

    folders = []
    for seed, (e0, h0) in enumerate(((0.42, 80.0), (0.44, 84.0))):
        folder = tmp_path / f"calender_s{seed}"
        folder.mkdir()
        law = LAW.with_initial(e0)
        (folder / "curve.csv").write_text(
            "pressure_target_mpa,pressure_max_mpa,porosity,springback_percent\n" + "".join(
                f"{p},{1.01 * p},{law.porosity(1.01 * p)},{1.5 * (1.01 * p / 50) ** 0.5}\n"
                for p in (2, 6, 20, 56)))
        (folder / "metrics.json").write_text(json.dumps(
            {"porosity_uncalendered": e0, "thickness_uncalendered_um": h0}))
        folders.append(folder)
    curves = [read_curve(f) for f in folders]
    spring, source = springback_law(curves)
    assert spring.percent_at_reference == pytest.approx(1.5, rel=1e-6) and "curve" in source
    assert spring.exponent == pytest.approx(0.5, rel=1e-6)
    assert springback_law(curves, exponent=0.7)[0].exponent == 0.7
    shipped, source = springback_law([read_curve(TABLE2_CURVE)])
    assert 2.5 < shipped.percent_at_reference < 3.5 and 0.4 < shipped.exponent < 0.6
    assert "springback_paper_ci.json" in source
