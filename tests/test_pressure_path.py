"""The optimal pressure path: the reduced layer-wise compaction model, its Pontryagin solution
against direct (brute-force) optimization, identification from profiles, and the
``etwin pressure-path`` job on a stand-in press with a known optimum (and, slow, on the DEM)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments.pressure_path import (
    ModelPress,
    PathSettings,
    run_pressure_path,
    run_schedule_bo,
    schedule_outcome,
)
from physics.compaction import CompactionLaw
from physics.pressure_path import (
    LayerModel,
    PathProblem,
    constant_path,
    film_slice_profile,
    hamiltonian_gap,
    identify_layer_model,
    interval_means,
    layer_porosity,
    pass_porosity,
    simulate,
    solve_direct,
    solve_pontryagin,
)

DRIED = Path(__file__).parent / "data" / "dried_ci_seed0.npz"
LAW = CompactionLaw(0.46, 0.30, 0.4, 0.5)  # the ci film's range: 0.46 -> 0.30
SHAPE = (1.2, 0.9, 0.95, 0.85, 1.1)  # loose against both planes, as the DEM films


def model(transmission: float = 0.6, damkohler: float = 4.0) -> LayerModel:
    return LayerModel(LAW, SHAPE, transmission, damkohler)


def test_pontryagin_agrees_with_direct_optimization():
    """Attenuated film (β = 0.6, Da = 4): the minimum principle's path and the direct
    optimization of 24 piecewise-constant pressures (SLSQP, no costates) reach the same
    cost within 0.3 % and the same path within 1 % of its peak; the path minimizes the
    Hamiltonian at every time, hits the target, and beats the best constant pressure."""
    problem = PathProblem(model(), 0.34, weight=1e-4, max_pressure_mpa=20.0)
    pmp = solve_pontryagin(problem)
    direct = solve_direct(problem, 24)
    const = constant_path(problem)
    assert pmp.converged and direct.converged
    assert pmp.hamiltonian_gap < 1e-8
    assert abs(pmp.porosity_mean - 0.34) < 1e-7 and abs(direct.porosity_mean - 0.34) < 1e-7
    assert abs(pmp.cost - direct.cost) / direct.cost < 3e-3
    assert pmp.cost <= direct.cost * (1 + 1e-4)  # the continuous optimum is not worse
    rms = np.sqrt(np.mean((interval_means(pmp.pressure_mpa, 24) - direct.pressure_mpa
                           .reshape(24, -1)[:, 0]) ** 2))
    assert rms < 0.01 * pmp.peak_pressure_mpa
    assert pmp.cost < 0.85 * const.cost
    # the optimum rises through the contact: late pressure compacts the deep layers that
    # early pressure left behind (Pontryagin path; the direct one agrees above)
    assert np.all(np.diff(interval_means(pmp.pressure_mpa, 24)) > 0)
    # a perturbed path that still hits the target costs more
    bumped = pmp.pressure_mpa * (1 + 0.05 * np.sin(np.linspace(0, np.pi, len(pmp.pressure_mpa))))
    scale = _rescale_to_target(problem, bumped)
    final = simulate(problem.model, scale)[-1]
    assert sum(problem.cost_terms(scale, final)) > pmp.cost


def _rescale_to_target(problem: PathProblem, path: np.ndarray) -> np.ndarray:
    from scipy.optimize import brentq

    def gap(f):
        return simulate(problem.model, f * path)[-1].mean() - problem.target_porosity

    return brentq(gap, 0.2, 5.0, xtol=1e-14) * path


def test_without_attenuation_no_path_changes_the_spread():
    """β = 1: every sub-layer sees the roll pressure and the film keeps its packing profile
    (ε_i = c_i ε̄) along any path; the optimum only saves pressure."""
    m = model(transmission=1.0)
    rng = np.random.default_rng(3)
    for path in (rng.uniform(0, 5, 200), np.linspace(5, 0, 200)):
        eps = simulate(m, path)
        ratio = eps / eps.mean(axis=1, keepdims=True)
        assert np.allclose(ratio, np.asarray(SHAPE), atol=2e-4)
    problem = PathProblem(m, 0.34, weight=1e-4, max_pressure_mpa=20.0)
    pmp = solve_pontryagin(problem)
    assert pmp.converged and pmp.spread < 1e-9
    assert pmp.cost < constant_path(problem).cost


def test_compaction_is_irreversible_and_reaches_the_law():
    m = model()
    up_down = np.r_[np.linspace(0, 4, 60), np.linspace(4, 0, 60)]
    eps = simulate(m, up_down)
    assert np.all(np.diff(eps, axis=0) <= 1e-15)  # unloading never re-expands
    # the sub-layers lag the rising pressure and keep compacting after the peak while it is
    # above their consolidation pressure; below it they stop
    assert np.any(eps[70] < eps[60] - 1e-4)
    assert np.allclose(eps[-11:], eps[-1], atol=1e-14)
    slow = simulate(m.with_(damkohler=60.0), np.full(240, 2.0))[-1]
    assert np.allclose(slow, m.equilibrium_porosity(2.0), atol=2e-4)
    # quasi-static passes: only the largest pressure counts, in any order
    a = pass_porosity(m, [1.0, 3.0, 0.5])
    assert np.allclose(a, pass_porosity(m, [3.0, 0.5, 1.0]))
    assert np.allclose(a, m.equilibrium_porosity(3.0))
    # deeper sub-layers see less pressure: at equal shape they compact less
    flat = LayerModel(LAW, (1.0,) * 5, 0.6)
    assert np.all(np.diff(flat.equilibrium_porosity(1.0)) < 0)


def test_targets_outside_the_reachable_range_are_refused():
    with pytest.raises(ValueError, match=r"target_porosity = 0.25 is outside the reachable "
                                         r"range \(0\.30"):
        PathProblem(model(), 0.25)
    with pytest.raises(ValueError, match="reachable range"):
        PathProblem(model(), 0.47)
    with pytest.raises(ValueError, match=r"transmission = 1.2 is outside the allowed range"):
        model(transmission=1.2)
    with pytest.raises(ValueError, match=r"damkohler = 0.0 is outside"):
        model(damkohler=0.0)
    with pytest.raises(ValueError, match=r"shape\[1\] = -0.5 is outside"):
        LayerModel(LAW, (1.0, -0.5))


def test_layer_binning_keeps_the_film_porosity():
    rng = np.random.default_rng(0)
    pore = rng.uniform(0.2, 0.6, 37)
    weight = np.ones(37)
    weight[-1] = 0.35  # the partial top slice
    layers = layer_porosity(pore, weight, 5)
    assert layers.mean() == pytest.approx(np.sum(weight * pore) / weight.sum(), abs=1e-14)
    step = np.r_[np.full(20, 0.5), np.full(20, 0.3)]
    assert np.allclose(layer_porosity(step, np.ones(40), 4), [0.5, 0.5, 0.3, 0.3])


def test_slice_profile_of_a_film_is_its_voxel_porosity():
    from physics.state import ParticleState
    from physics.voxel import film_phase_fractions

    state = ParticleState.load(DRIED)
    profile = film_slice_profile(state, 0.5)
    assert profile.film_porosity == pytest.approx(film_phase_fractions(state, 0.5)["pore"],
                                                  abs=1e-12)
    assert profile.layers(5).mean() == pytest.approx(profile.film_porosity, abs=1e-12)
    assert profile.layers(5)[0] > profile.layers(5)[2]  # looser against the collector


def test_identification_recovers_a_known_model():
    truth = model(transmission=0.7)
    pressures = [0.3, 1.0, 3.0, 10.0]
    exact = identify_layer_model(pressures, truth.equilibrium_porosity(pressures),
                                 truth.initial_porosity)
    assert exact.model.transmission == pytest.approx(0.7, abs=1e-6)
    assert np.allclose(exact.model.shape, SHAPE, atol=1e-6)
    assert exact.model.law.porosity_min == pytest.approx(0.30, abs=1e-6)
    rng = np.random.default_rng(1)
    noisy = identify_layer_model(pressures, truth.equilibrium_porosity(pressures)
                                 + rng.normal(0, 0.003, (4, 5)),
                                 truth.initial_porosity + rng.normal(0, 0.003, 5))
    assert abs(noisy.model.transmission - 0.7) < max(3 * noisy.transmission_se, 0.02)
    assert np.allclose(noisy.model.shape, SHAPE, atol=0.02)
    assert noisy.residual_sd == pytest.approx(0.003, rel=0.5)


class CountingPress(ModelPress):
    """The stand-in that counts its schedules (DEM runs, for the job)."""

    calls = 0

    def schedule(self, pressures_mpa):
        CountingPress.calls += 1
        return super().schedule(pressures_mpa)


def test_job_on_a_stand_in_finds_its_known_optimum(tmp_path, monkeypatch):
    """The job against a press whose films follow a known model (β = 0.6; a pass relaxes
    each sub-layer by e^-1 toward its equilibrium, so a second pass still compacts): the
    identification recovers β and the packing profile, the nip's two methods agree, and the
    best schedule found is within 5 % of the press's optimum on a 400 × 400 grid.  A rerun
    repeats no evaluation; the MLflow run holds the metrics."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    truth = model()
    press = CountingPress(truth, pass_damkohler=1.0)
    settings = PathSettings(0.37, budget=8, initial=3, tolerance=0.005, seed=1)
    out = tmp_path / "job"
    summary = run_pressure_path(out, settings, press=press, experiment="test-path")
    ident = summary["identification"]
    assert ident["transmission"] == pytest.approx(0.6, abs=1e-6)
    assert np.allclose(ident["shape"], SHAPE, atol=1e-6)
    agree = summary["nip_agreement"]
    assert abs(agree["cost_relative_difference"]) < 3e-3
    assert agree["path_rms_difference_over_peak"] < 0.01
    # the known answer: the stand-in's schedules on a grid, under the job's cost
    problem = PathProblem(LayerModel.from_dict(summary["model"]), 0.37, 1e-4, 20.0)
    axis = np.geomspace(0.2, 20.0, 400)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    eps = pass_porosity(truth, grid, 1.0)
    cost = np.sum(problem.cost_terms(grid, eps), axis=0)
    ok = np.abs(eps.mean(axis=1) - 0.37) <= settings.tolerance
    best_known = cost[ok].min()
    best = summary["dem"]["best"]
    assert best["cost"] <= 1.05 * best_known
    assert abs(best["porosity"] - 0.37) <= settings.tolerance
    assert CountingPress.calls == 8
    rows = json.loads((out / "evaluations.json").read_text())["rows"]
    assert [r["source"] for r in rows[:4]] == ["sobol"] * 3 + ["reduced-model optimum"]
    for name in ("report.md", "nip_path.png", "identification.png", "dem_evaluations.png",
                 "dem_best_profile.png", "evaluations.csv", "best_profile_slices.csv",
                 "model.json", "summary.json"):
        assert (out / name).is_file(), name
    # outcome of a row = the reduced model's cost on its measured profile
    row = rows[0]
    profile, _ = press.schedule(row["pressures_mpa"])
    assert schedule_outcome(problem, row["pressures_mpa"], profile)["cost"] == pytest.approx(
        row["cost"], rel=1e-9)
    # resume (the BO loop of the job, as a rerun calls it): every evaluation is read back
    CountingPress.calls = 0
    again = run_schedule_bo(press, problem, settings, out, summary["reduced_best_schedule"],
                            log=lambda message: None)
    assert CountingPress.calls == 0
    assert again == rows
    run = MlflowClient(uri).get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["job"] == "pressure-path"
    assert math.isclose(run.data.metrics["dem.best.cost"], best["cost"], rel_tol=1e-9)
    assert "nip.agreement.cost_relative_difference" in run.data.metrics


def test_pontryagin_path_needs_the_costate_not_the_gradient_sign():
    """H is not convex in p (below a sub-layer's consolidation pressure more pressure does
    nothing but cost): the gap check sees a path that is not the minimizer."""
    problem = PathProblem(model(), 0.34, weight=1e-4, max_pressure_mpa=20.0)
    pmp = solve_pontryagin(problem)
    wrong = constant_path(problem)
    assert hamiltonian_gap(problem, wrong.pressure_mpa, pmp.multiplier) > 1e-3
    assert hamiltonian_gap(problem, pmp.pressure_mpa, pmp.multiplier) < 1e-8


@pytest.mark.slow
def test_job_with_the_dem_at_ci(tmp_path, monkeypatch):
    """One real short run at ci: the versioned 80-AM film, a 3-pressure identification curve
    and two 2-pass schedules in the DEM (about 4 CPU min)."""
    from experiments.cli import main

    monkeypatch.chdir(tmp_path)
    status = main(["pressure-path", "--dried", str(DRIED), "--target-porosity", "0.32",
                   "--curve-pressures-mpa", "0.3,1,5", "--budget", "2", "--initial", "1",
                   "--passes", "2", "--pressure-range-mpa", "0.3,5", "--tolerance", "0.01",
                   "--out", str(tmp_path / "o"), "--no-mlflow", "--threads", "1"])
    assert status == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    law = summary["model"]["law"]
    assert 0.35 < law["porosity_initial"] < 0.55 and law["porosity_min"] < 0.33
    assert 0.0 < summary["model"]["transmission"] <= 1.0
    assert summary["nip"]["pontryagin"]["converged"]
    rows = json.loads((tmp_path / "o" / "evaluations.json").read_text())["rows"]
    assert len(rows) == 2
    for r in rows:
        assert 0.2 < r["porosity"] < 0.45
        assert len(r["layers"]) == 5 and len(r["slices"]["z_um"]) > 20


def test_bo_finds_the_stand_ins_optimum_past_a_wrong_reduced_model(tmp_path):
    """Given a wrong reduced model (β = 1, a stiffer law), its own optimum schedule misses
    the band on the stand-in (ε = 0.39 against 0.37 ± 0.005); the BO, told only the stand-in's
    outcomes, still ends within 5 % of the stand-in's optimum under the job's cost (two
    moderate passes, found on a 400 × 400 grid) in 12 evaluations."""
    truth = model()
    wrong = LayerModel(CompactionLaw(0.46, 0.33, 0.6, 0.5), SHAPE, 1.0, 4.0)
    settings = PathSettings(0.37, budget=12, initial=4, tolerance=0.005, seed=0)
    summary = run_pressure_path(tmp_path, settings, press=ModelPress(truth, 1.0), model=wrong,
                                experiment=None)
    run = summary["dem"]["reduced_optimum_run"]
    assert abs(run["porosity"] - 0.37) > settings.tolerance
    problem = PathProblem(wrong, 0.37, 1e-4, 20.0)
    axis = np.geomspace(0.2, 20.0, 400)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    eps = pass_porosity(truth, grid, 1.0)
    cost = np.sum(problem.cost_terms(grid, eps), axis=0)
    ok = np.abs(eps.mean(axis=1) - 0.37) <= settings.tolerance
    best = summary["dem"]["best"]
    assert best["source"] == "bo"
    assert best["cost"] <= 1.05 * cost[ok].min()


@pytest.mark.parametrize("preset", ["paper", "nmc111-calibrated"])
def test_preset_sets_the_contact_law_of_the_dem_press(tmp_path, monkeypatch, preset):
    """``--preset`` reaches the DEM press: its law at the given roll temperature and speed
    (checked at the press's construction; nothing runs)."""
    import experiments.pressure_path as pp
    from experiments.cli import build_parser
    from physics.calender.presets import load_preset

    class Built(Exception):
        pass

    def press(state, conditions, *args, **kwargs):
        raise Built(conditions)

    monkeypatch.setattr(pp, "DemPress", press)
    args = build_parser().parse_args([
        "pressure-path", "--dried", str(DRIED), "--target-porosity", "0.3", "--preset", preset,
        "--temperature-c", "90", "--out", str(tmp_path / "o"), "--no-mlflow"])
    with pytest.raises(Built) as built:
        args.func(args)
    expected = load_preset(preset).process_conditions(temperature_c=90.0,
                                                      line_speed_m_min=0.54)
    assert built.value.args[0] == expected
