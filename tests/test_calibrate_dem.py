"""DEM contact-law calibration: ensemble MCMC against a closed-form posterior, the job on a
stand-in forward model with known parameters (design, resume, failed runs, validation), the
parameter mapping onto the contact law, and the curve reader's refusals."""

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate_dem import (
    DEM_PARAMETERS,
    CompactionCurve,
    CompactionEmulator,
    RecoveryEmulator,
    base_parameter_value,
    calibrate_dem,
    dem_admissible,
    dem_conditions,
    emulator_cross_validation,
    new_run_draws,
    parse_dem_parameters,
    read_compaction_curve,
    read_points,
    run_rows,
    task_base_law,
)
from experiments.cli import main
from experiments.files import write_csv_atomic, write_json_atomic
from optimize.calibration import Parameter, mcmc_posterior, reseat_stuck_walkers

PRESSURES = np.array([1.0, 3.0, 5.92, 20.0, 55.9, 156.0])


def test_mcmc_posterior_of_a_correlated_gaussian_matches_the_closed_form():
    """4-D Gaussian likelihood well inside a uniform box: posterior mean, sd and one
    correlation equal the Gaussian's within the Monte Carlo error of ~2 000 draws."""
    mean = np.array([0.3, -1.0, 2.0, 0.5])
    sd = np.array([0.05, 0.1, 0.2, 0.02])
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.8
    cov = corr * np.outer(sd, sd)
    prec = np.linalg.inv(cov)

    def loglik(theta):
        r = theta - mean
        return -0.5 * np.einsum("ij,jk,ik->i", r, prec, r)

    params = [Parameter(f"p{k}", m - 8 * s, m + 8 * s) for k, (m, s) in
              enumerate(zip(mean, sd, strict=True))]
    post = mcmc_posterior(loglik, params, steps=3000, burn=1000, seed=1)
    x = post.samples
    assert np.all(np.abs(x.mean(axis=0) - mean) <= 0.15 * sd), x.mean(axis=0)
    np.testing.assert_allclose(x.std(axis=0), sd, rtol=0.15)
    assert np.corrcoef(x[:, 0], x[:, 1])[0, 1] == pytest.approx(0.8, abs=0.08)
    m = post.marginal("p2")
    assert m.lower == pytest.approx(mean[2] - 1.96 * sd[2], abs=0.3 * sd[2])
    assert m.upper == pytest.approx(mean[2] + 1.96 * sd[2], abs=0.3 * sd[2])
    assert not m.at_prior_edge
    assert 0.2 < post.acceptance < 0.8


def test_walkers_stranded_in_a_negligible_mode_are_reseated_and_the_others_kept():
    """30 walkers of a 2-D standard normal and 2 left at (50, 50) (log posterior -2500): the
    two move onto other walkers (within 1e-5), the 30 stay where they are, including the
    ones in the tail up to χ²_2(0.999)/2 = 6.9 below the best."""
    rng = np.random.default_rng(3)
    coords = np.vstack([rng.standard_normal((30, 2)), [[50.0, 50.0], [50.0, 50.0]]])
    coords[0] = [3.5, 0.0]  # log posterior -6.1: a tail draw, not stranded
    log_prob = -0.5 * np.sum(coords ** 2, axis=1)
    moved = reseat_stuck_walkers(coords, log_prob, rng)
    np.testing.assert_array_equal(moved[:30], coords[:30])
    for row in moved[30:]:
        assert np.min(np.linalg.norm(coords[:30] - row, axis=1)) < 1e-5


def stand_in_curve(theta: dict, pressures) -> np.ndarray:
    """A forward model with the DEM curve's shape: the knee pressure p_c rises with binder
    plasticity, modulus and AM rolling resistance; adhesion holds a more open floor."""
    p_c = 1.5 * (1 + 4 * theta["cbd_plasticity"]) * (theta["cbd_modulus_gpa"] / 2) ** 0.5 \
        * (1 + 6 * theta["am_rolling"])
    e_min = 0.24 + 0.03 * theta["cbd_adhesion_ratio"] + 0.02 * theta["cbd_plasticity"]
    p = np.asarray(pressures, dtype=float)
    return e_min + (0.42 - e_min) / (1 + (p / p_c) ** 1.2)


TRUTH = {"cbd_plasticity": 0.45, "cbd_modulus_gpa": 3.0, "cbd_adhesion_ratio": 0.4,
         "am_rolling": 0.1}


def write_curve(path: Path, porosity, sd: float) -> None:
    """A measured curve CSV at PRESSURES with one sd for every point."""
    write_csv_atomic(path, [{"pressure_mpa": p, "porosity": e, "porosity_sd": sd}
                            for p, e in zip(PRESSURES, porosity, strict=True)])


def finished_run(task: dict, porosity, reported=None) -> dict:
    """A stand-in DEM run's result: ``porosity`` at the task's pressures (or ``reported``)."""
    reported = task["pressures_mpa"] if reported is None else [float(x) for x in reported]
    return {"status": "ok", **task, "pressure_reported_mpa": reported,
            "porosity": np.asarray(porosity).tolist(),
            "springback_percent": [0.0] * len(reported), "dried_porosity": 0.43, "cpu_s": 1.0}


def test_dem_calibration_recovers_four_known_parameters_and_resumes(tmp_path):
    rng = np.random.default_rng(0)
    sd = 0.003
    observed = stand_in_curve(TRUTH, PRESSURES) + rng.normal(0, sd, PRESSURES.size)
    rows = [{"pressure_mpa": 0.0, "porosity": 0.4215, "porosity_sd": 0.02}]
    rows += [{"pressure_mpa": p, "porosity": e, "porosity_sd": sd}
             for p, e in zip(PRESSURES, observed, strict=True)]
    write_csv_atomic(tmp_path / "curve.csv", rows)
    calls = []
    stop_at = [15]

    def forward(task):
        if len(calls) + 1 == stop_at[0]:  # the user stops the job during the 15th run
            raise KeyboardInterrupt
        calls.append(task)
        theta = task["theta"]
        if theta["cbd_plasticity"] > 0.85:  # a run that fails is recorded and left out
            return {"status": "failed", **task, "error": "EngineInstability: test"}
        # the paper's reading: the reported pressure overshoots the target a little
        reported = np.asarray(task["pressures_mpa"]) * 1.03
        return finished_run(task, stand_in_curve(theta, reported), reported)

    kwargs = dict(forward=forward, dried=["film_a", "film_b"], n_design=40, validate=2,
                  parameters=",".join(TRUTH),
                  mcmc_steps=1500, experiment=None, quiet=True)
    with pytest.raises(KeyboardInterrupt):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    assert len(list((tmp_path / "out" / "dem_runs").glob("*.json"))) == 14
    # the rerun resumes: the 14 finished runs are read, not run again
    stop_at[0] = 0
    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    assert len(calls) == 40 + 2  # and two validation runs at the MAP, one per film
    assert len({json.dumps(c, sort_keys=True) for c in calls}) == 42
    # design runs alternate between the films
    assert {c["dried"] for c in calls} == {"film_a", "film_b"}
    for name, value in TRUTH.items():
        m = summary["parameters"][name]
        assert m["ci95_lower"] <= value <= m["ci95_upper"], (name, m)
    assert summary["emulator_cross_validation"]["rmse"] < 0.005
    # 40 runs cover the posterior: the emulator is surer than the 0.003 measurement sd
    assert summary["emulator_limited_mpa"] == []
    assert max(summary["emulator_sd_median"]) < sd
    assert np.all(np.array(summary["predictive_lo95"]) < summary["predictive_median"])
    assert np.all(np.array(summary["predictive_median"]) < summary["predictive_hi95"])
    v = summary["validation"]
    assert v["max_abs_error"] < 0.01 and v["inside_1sd"] >= 4
    assert summary["measured_dried_porosity"] == pytest.approx(0.4215)
    for name in ("report.md", "posterior.png", "posterior_pairs.png",
                 "posterior_predictive.png", "design.csv", "summary.json"):
        assert (tmp_path / "out" / name).is_file()
    stored = [json.loads(p.read_text()) for p in (tmp_path / "out" / "dem_runs").glob("*.json")]
    failed = [r for r in stored if r["status"] == "failed"]
    assert failed, "the seed-0 Sobol design has no λ_p > 0.85 point any more: lower the cut"
    assert len(failed) == len(summary["failed_runs"])  # recorded and left out
    assert all(f["theta"]["cbd_plasticity"] > 0.85 for f in summary["failed_runs"])


def test_a_posterior_the_runs_do_not_cover_is_flagged_and_its_band_widens(tmp_path):
    """Four runs for four parameters: at the posterior draws the emulator's sd exceeds the
    measurement's, so the report says the posterior follows the emulator's prior, and the
    new-run band (mean + emulator sd) is wider than the mean-only band would be."""
    write_curve(tmp_path / "curve.csv", stand_in_curve(TRUTH, PRESSURES), 0.003)

    def forward(task):
        return finished_run(task, stand_in_curve(task["theta"], task["pressures_mpa"]))

    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", forward=forward,
                            dried=["film_a"], n_design=4, parameters=",".join(TRUTH),
                            mcmc_steps=300, experiment=None, quiet=True)
    assert summary["emulator_limited_mpa"], summary["emulator_sd_median"]
    assert min(summary["emulator_sd_median"]) > 0.003
    spread = np.array(summary["predictive_hi95"]) - summary["predictive_lo95"]
    assert np.all(spread > 4 * 0.003)
    assert "less certain than the measurement" in (tmp_path / "out" / "report.md").read_text()


def test_refinement_rounds_add_dem_runs_at_the_map_and_resume(tmp_path):
    """Sequential design: each round runs the forward model at the current highest-posterior
    draw on every film and trains on it; a rerun reads every run from the cache.  (The
    default parameters; the bridge stiffness stands in for the modulus of the stand-in.)"""
    def curve(theta, pressures):
        return stand_in_curve(theta | {"cbd_modulus_gpa": 2 + theta["bridge_stiffness_ratio"]},
                              pressures)

    truth = {"cbd_plasticity": 0.45, "bridge_stiffness_ratio": 1.0, "cbd_adhesion_ratio": 0.4,
             "am_rolling": 0.1}
    rows = [{"pressure_mpa": p, "porosity": e, "porosity_sd": 0.003}
            for p, e in zip(PRESSURES, curve(truth, PRESSURES), strict=True)]
    write_csv_atomic(tmp_path / "curve.csv", rows)
    calls = []
    stop_at = [13]

    def forward(task):
        if len(calls) + 1 == stop_at[0]:  # stopped as the first refinement run starts
            raise KeyboardInterrupt
        calls.append(task)
        return finished_run(task, curve(task["theta"], task["pressures_mpa"]))

    kwargs = dict(forward=forward, dried=["film_a", "film_b"], n_design=12, refine=1,
                  mcmc_steps=300, cv_folds=0, experiment=None, quiet=True)
    with pytest.raises(KeyboardInterrupt):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    (recorded,) = json.loads((tmp_path / "out" / "refinement_points.json").read_text())
    stop_at[0] = 0
    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    assert len(calls) == 12 + 2  # the design is not rerun, the recorded point is used
    assert summary["refinement_rounds"][0]["map"] == recorded
    assert summary["training_runs"] == 14 and summary["calibrated"] == list(truth)
    (r,) = summary["refinement_rounds"]
    assert r["round"] == 1 and r["runs"] == 2
    # the round's runs sit at that round's MAP, one on each film
    assert [c["theta"] for c in calls[12:]] == [{n: round(v, 10) for n, v in
                                                 r["map"].items()}] * 2
    assert {c["dried"] for c in calls[12:]} == {"film_a", "film_b"}
    assert r["max_abs_error"] < 0.03 and len(r["simulated"]) == len(PRESSURES)
    assert "Sequential refinement" in (tmp_path / "out" / "report.md").read_text()
    calls.clear()
    again = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    assert calls == [] and again["refinement_rounds"] == summary["refinement_rounds"]
    with pytest.raises(ValueError, match="--refine must lie in"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", **(kwargs | {"refine": 40}))
    with pytest.raises(ValueError, match=r"--cv-folds must be 0 .* \[2, 64\], got 1"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", **(kwargs | {"cv_folds": 1}))


def test_the_indentation_recovery_separates_what_the_curve_cannot(tmp_path):
    """A curve whose knee depends on plasticity and bridge stiffness only through one product
    leaves the two on a ridge; the measured indentation recovery (here 0.3 (1 - λ_p), a plastic
    binder stores little elastic energy) pins the plasticity.  The second job reuses the
    first's calenderings and adds one indentation per design point."""
    truth = {"cbd_plasticity": 0.45, "bridge_stiffness_ratio": 1.0}

    def curve(theta, pressures):
        p_c = 1.5 * (1 + 4 * theta["cbd_plasticity"]) * (1 + theta["bridge_stiffness_ratio"])
        return 0.25 + 0.17 / (1 + (np.asarray(pressures) / p_c) ** 1.2)

    def recovery_of(theta):
        return 0.3 * (1 - theta["cbd_plasticity"])

    rows = [{"pressure_mpa": p, "porosity": e, "porosity_sd": 0.003}
            for p, e in zip(PRESSURES, curve(truth, PRESSURES), strict=True)]
    write_csv_atomic(tmp_path / "curve.csv", rows)
    calls = []

    def forward(task):
        calls.append(task)
        if "indent_depth_fraction" in task:
            assert task["indent_depth_fraction"] == 0.1 and "pressures_mpa" not in task
            assert task["temperature_c"] == 60.0  # the roll's, as the paper's indentation
            return {"status": "ok", **task, "elastic_recovery": recovery_of(task["theta"]),
                    "plastic_work_fraction": 0.9, "cpu_s": 1.0}
        return finished_run(task, curve(task["theta"], task["pressures_mpa"]))

    kwargs = dict(forward=forward, dried=["film_a", "film_b"], n_design=12,
                  parameters="cbd_plasticity,bridge_stiffness_ratio", mcmc_steps=300,
                  experiment=None, quiet=True)
    curve_only = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", **kwargs)
    assert len(calls) == 12 and "recovery_fit" not in curve_only
    calls.clear()
    both = calibrate_dem(tmp_path / "curve.csv", tmp_path / "out", recovery=0.165,
                         recovery_sd=0.01, validate=2, **kwargs)
    # the 12 calenderings are read from the cache; 12 design + 2 validation indentations
    # and 2 validation calenderings run
    kinds = ["indent_depth_fraction" in c for c in calls]
    assert sum(kinds) == 14 and len(calls) == 16
    lam_curve = curve_only["parameters"]["cbd_plasticity"]
    lam_both = both["parameters"]["cbd_plasticity"]
    assert lam_both["ci95_lower"] <= truth["cbd_plasticity"] <= lam_both["ci95_upper"]
    width = lam_both["ci95_upper"] - lam_both["ci95_lower"]
    assert width < 0.5 * (lam_curve["ci95_upper"] - lam_curve["ci95_lower"]), (lam_curve,
                                                                                 lam_both)
    fit = both["recovery_fit"]
    assert fit["predictive_lo95"] <= 0.165 <= fit["predictive_hi95"]
    assert fit["indentations"] == 12 and fit["emulator_cross_validation"]["rmse"] < 0.02
    v = both["validation"]
    assert abs(v["recovery_error"]) < 0.03 and v["recovery_runs"] == 2
    assert (tmp_path / "out" / "recovery_predictive.png").stat().st_size > 0
    assert "Indentation recovery" in (tmp_path / "out" / "report.md").read_text()
    preset = json.loads((tmp_path / "out" / "preset.json").read_text())
    assert preset["provenance"]["recovery_fit"]["measured"] == 0.165
    with pytest.raises(ValueError, match="--recovery must be a fraction"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", recovery=16.0, **kwargs)
    with pytest.raises(ValueError, match="--indent-temperature-c: temperature_c = 200"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", recovery=0.16,
                      indent_temperature_c=200.0, **kwargs)


def test_a_calibration_that_adds_a_parameter_trains_on_the_earlier_runs(tmp_path):
    """A two-parameter design's runs join a three-parameter calibration at the base law's
    value of the new parameter (am_plasticity 0, Table 2's Hertz AM contact): only the new
    design points run.  Runs of another protocol, or of a film not given, are refused."""

    def curve(theta, pressures):
        p_c = 1.5 * (1 + 4 * theta["cbd_plasticity"]) * (1 + theta["bridge_stiffness_ratio"])
        tail = 0.02 * theta.get("am_plasticity", 0.0) * np.log(np.asarray(pressures))
        return 0.25 + 0.17 / (1 + (np.asarray(pressures) / p_c) ** 1.2) - tail

    truth = {"cbd_plasticity": 0.45, "bridge_stiffness_ratio": 1.0, "am_plasticity": 0.3}
    write_curve(tmp_path / "curve.csv", curve(truth, PRESSURES), 0.003)
    calls = []

    def forward(task):
        calls.append(task)
        return finished_run(task, curve(task["theta"], task["pressures_mpa"]))

    common = dict(forward=forward, dried=["film_a", "film_b"], mcmc_steps=300, cv_folds=0,
                  experiment=None, quiet=True)
    calibrate_dem(tmp_path / "curve.csv", tmp_path / "two", n_design=8,
                  parameters="cbd_plasticity,bridge_stiffness_ratio", **common)
    calls.clear()
    three = "cbd_plasticity,bridge_stiffness_ratio,am_plasticity=0:0.6"
    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "three", n_design=4,
                            parameters=three, include_runs=[tmp_path / "two"], **common)
    assert len(calls) == 4 and summary["training_runs"] == 12
    assert all("am_plasticity" in c["theta"] for c in calls)
    # --cv-folds 0: no held-out refits, and the report says so
    assert summary["emulator_cross_validation"] is None
    assert "not cross-validated (--cv-folds 0)" in (tmp_path / "three" / "report.md").read_text()
    rows = list(csv.DictReader((tmp_path / "three" / "design.csv").open()))
    assert sum(float(r["am_plasticity"]) == 0.0 for r in rows) == 8 * len(PRESSURES)
    # the earlier runs alone train a fit (design 0); a repeated folder counts once
    calls.clear()
    again = calibrate_dem(tmp_path / "curve.csv", tmp_path / "again", n_design=0,
                          parameters=three,
                          include_runs=[tmp_path / "three", tmp_path / "three" / "dem_runs",
                                        tmp_path / "two"], **common)
    assert calls == [] and again["training_runs"] == 12
    # the same runs as versioned rows (benchmarks/dem_design_rows.py) of the same films; the
    # rows file names the calibration's command line (its summary.json)
    rows_script = Path(__file__).resolve().parents[1] / "benchmarks" / "dem_design_rows.py"
    spec = importlib.util.spec_from_file_location("dem_design_rows", rows_script)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main([str(tmp_path / "three"), "--data", str(tmp_path / "curve.csv"),
                 "--out", str(tmp_path / "three_rows.json")])
    shipped = json.loads((tmp_path / "three_rows.json").read_text())
    assert len(shipped["runs"]) == 4 and shipped["parameters"] == list(summary["parameters"])
    assert shipped["provenance"]["calibrate_command"] == summary["provenance"]["command"]
    rows = run_rows(tmp_path / "two") + run_rows(tmp_path / "three")
    write_json_atomic(tmp_path / "rows.json", {"runs": rows})
    # ... with a chosen point (--points), run on both films
    write_csv_atomic(tmp_path / "points.csv", [
        {"am_plasticity": 0.3, "cbd_plasticity": 0.45, "bridge_stiffness_ratio": 1.0}])
    from_rows = calibrate_dem(tmp_path / "curve.csv", tmp_path / "rows", n_design=0,
                              parameters=three, include_runs=[tmp_path / "rows.json"],
                              points=tmp_path / "points.csv", **common)
    assert sorted(c["dried"] for c in calls) == ["film_a", "film_b"]
    assert all(c["theta"] == truth for c in calls) and from_rows["training_runs"] == 14
    # the chosen point's runs, once included, are not run again
    calls.clear()
    again = calibrate_dem(tmp_path / "curve.csv", tmp_path / "rows_again", n_design=0,
                          parameters=three, include_runs=[tmp_path / "rows.json",
                                                          tmp_path / "rows"],
                          points=tmp_path / "points.csv", **common)
    assert calls == [] and again["chosen_points"][0]["runs"] == 2
    assert again["training_runs"] == 14
    # the chosen point is reported against the data: the truth meets every point exactly
    (chosen,) = from_rows["chosen_points"]
    assert chosen["point"] == truth and chosen["runs"] == 2
    assert chosen["max_abs_error"] < 1e-12 and chosen["inside_1sd"] == len(PRESSURES)
    report = (tmp_path / "rows" / "report.md").read_text()
    assert "Chosen points" in report and f"| {PRESSURES[-1]:g} MPa [%] |" in report
    # one chosen point on two films alone is too little for the emulator: the error says so
    with pytest.raises(RuntimeError, match=r"needs at least 4 finished DEM runs, and 2 of 2 "
                                           r"finished \(add design runs.*the chosen "
                                           r"points' curves in .*report.md"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "alone", n_design=0,
                      parameters=three, points=tmp_path / "points.csv", **common)
    assert len(list((tmp_path / "alone" / "dem_runs").glob("*.json"))) == 2
    # ... and the chosen point's curve is still reported, without a fit
    alone = json.loads((tmp_path / "alone" / "summary.json").read_text())
    assert alone["chosen_points"][0]["max_abs_error"] < 1e-12
    assert alone["calibrated"] == three.replace("=0:0.6", "").split(",")  # its settings too
    assert "Chosen points" in (tmp_path / "alone" / "report.md").read_text()
    tampered = [dict(r, theta=dict(r["theta"])) for r in rows]
    tampered[0]["theta"]["cbd_plasticity"] += 0.1
    write_json_atomic(tmp_path / "tampered.json", {"runs": tampered})
    with pytest.raises(ValueError, match=r"tampered.json row 0 \(film_.\) was not run on the "
                                         "present content of film_. \\(its cache key"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0, parameters=three,
                      include_runs=[tmp_path / "tampered.json"], **common)
    write_json_atomic(tmp_path / "keyless.json", {"runs": [
        {k: v for k, v in r.items() if k != "key"} for r in rows]})
    with pytest.raises(ValueError, match=r"keyless.json row 0 \(film_.\) has no key"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0, parameters=three,
                      include_runs=[tmp_path / "keyless.json"], **common)
    with pytest.raises(ValueError, match=r"row 0 .* ran on film 'film_.', not one of the --dried"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0, parameters=three,
                      include_runs=[tmp_path / "rows.json"], **(common | {"dried": ["film_c"]}))
    with pytest.raises(ValueError, match="has protocol = 'paper'; this calibration's is"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "qs", n_design=0, parameters=three,
                      protocol="quasi-static", include_runs=[tmp_path / "two"], **common)
    with pytest.raises(ValueError, match="not one of the --dried or --train-dried films"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0, parameters=three,
                      include_runs=[tmp_path / "two"], **(common | {"dried": ["film_c"]}))
    with pytest.raises(ValueError, match="varies bridge_stiffness_ratio"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0,
                      parameters="cbd_plasticity", include_runs=[tmp_path / "two"], **common)
    with pytest.raises(ValueError, match=r"--design must lie in \[4, 500\], got 0 \(0 only"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0, parameters=three,
                      **common)


def test_training_only_films_inform_the_emulator_of_the_target_films(tmp_path):
    """A 16-run design on two cheap films ('fast') whose curve sits 1.7 → 0.9 points above
    the two target films' ('paper', as the `fast` films under one law at 5.92 → 156 MPa),
    and 4 runs on the targets: with the fast films as --train-dried the posterior holds the
    truth of the target films' law and its predictive median follows their curve within
    0.3 points; new runs go to the target films only, and a film may not be both."""
    names = ("cbd_plasticity", "cbd_modulus_gpa")

    def size_shift(film, pressures):
        return (0.017 - 0.004 * np.log10(np.asarray(pressures))) * film.startswith("fast")

    write_curve(tmp_path / "curve.csv", stand_in_curve(TRUTH, PRESSURES), 0.003)
    calls = []

    def forward(task):
        calls.append(task)
        p = task["pressures_mpa"]
        return finished_run(task, stand_in_curve(TRUTH | task["theta"], p)
                            + size_shift(task["dried"], p))

    common = dict(forward=forward, parameters=",".join(names), mcmc_steps=1000,
                  experiment=None, quiet=True)
    calibrate_dem(tmp_path / "curve.csv", tmp_path / "fast", dried=["fast_a", "fast_b"],
                  n_design=16, **common)
    calls.clear()
    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "paper",
                            dried=["paper_a", "paper_b"], train_dried=["fast_a", "fast_b"],
                            include_runs=[tmp_path / "fast"], n_design=4, seed=1, **common)
    assert sorted(c["dried"] for c in calls) == ["paper_a", "paper_a", "paper_b", "paper_b"]
    assert summary["training_runs"] == 20
    for name in names:
        m = summary["parameters"][name]
        assert m["ci95_lower"] <= TRUTH[name] <= m["ci95_upper"], (name, m)
    observed = stand_in_curve(TRUTH, PRESSURES)
    assert np.max(np.abs(np.array(summary["predictive_median"]) - observed)) < 0.003
    cv = summary["emulator_cross_validation"]
    assert cv["target_runs"] == 4 and cv["target_rmse"] < 0.005
    assert "training-only film" in (tmp_path / "paper" / "report.md").read_text()
    with pytest.raises(ValueError, match="--train-dried: fast_a is a --dried film too"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", dried=["fast_a"],
                      train_dried=["fast_a"], include_runs=[tmp_path / "fast"], **common)
    with pytest.raises(ValueError, match="--train-dried needs --include-runs"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", dried=["paper_a"],
                      train_dried=["fast_a"], **common)


def test_a_calibration_on_a_preset_sets_its_parameters_on_the_presets_law(tmp_path):
    """--preset: every run's law is the preset's with θ over it (the forward model reads the
    real contact law of each task), the parameters not calibrated keep the preset's values in
    the written preset, and runs on another base law are refused by name."""
    from physics.calender.presets import load_preset

    preset = load_preset("nmc111-calibrated")
    kept = preset.process_conditions().binder_contact

    def curve(c, pressures):  # the knee moves with the preset's CBD law and the strength
        p_c = 2.0 * (1 + 4 * c.binder_contact.plasticity) * (
            c.binder_contact.am_strength_mpa / 150.0)
        return 0.25 + 0.17 / (1 + (np.asarray(pressures) / p_c) ** 1.2)

    calls = []

    def forward(task):
        calls.append(task)
        c = dem_conditions(task["theta"], task["temperature_c"], task["line_speed_m_min"],
                           task_base_law(task))
        return finished_run(task, curve(c, task["pressures_mpa"]))

    truth = dem_conditions({"am_strength_mpa": 200.0}, base=preset.process_conditions())
    write_curve(tmp_path / "curve.csv", curve(truth, PRESSURES), 0.002)
    common = dict(forward=forward, dried=["film_a", "film_b"], mcmc_steps=300, cv_folds=0,
                  experiment=None, quiet=True, parameters="am_strength_mpa=50:400")
    summary = calibrate_dem(tmp_path / "curve.csv", tmp_path / "on", n_design=8,
                            preset="nmc111-calibrated", **common)
    assert len(calls) == 8 and all(c["preset"] == preset.conditions for c in calls)
    assert summary["preset"] == "nmc111-calibrated"
    strength = summary["parameters"]["am_strength_mpa"]
    assert strength["ci95_lower"] < 200.0 < strength["ci95_upper"]
    written = json.loads((tmp_path / "on" / "preset.json").read_text())
    contact = written["conditions"]["binder_contact"]
    assert contact["plasticity"] == kept.plasticity and contact["am_yield_gpa"] == kept.am_yield_gpa
    assert contact["am_strength_mpa"] == pytest.approx(summary["map"]["am_strength_mpa"])
    assert written["provenance"]["base_preset"] == "nmc111-calibrated"
    # a parameter the preset sets enters an included run at the preset's value
    assert base_parameter_value("am_yield_gpa", task_base_law(
        {"preset": preset.conditions})) == kept.am_yield_gpa
    # the runs of a calibration on Table 2 do not train one on the preset
    calibrate_dem(tmp_path / "curve.csv", tmp_path / "table2", n_design=4, **common)
    with pytest.raises(ValueError, match="has preset = None; this calibration's is"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=0,
                      preset="nmc111-calibrated", include_runs=[tmp_path / "table2"], **common)
    with pytest.raises(ValueError, match="--preset: unknown preset 'warp'"):
        calibrate_dem(tmp_path / "curve.csv", tmp_path / "x", n_design=4, preset="warp",
                      **common)


def test_chosen_points_need_every_calibrated_parameter_inside_its_prior(tmp_path):
    params = parse_dem_parameters("cbd_plasticity,am_yield_gpa=5:30")
    write_csv_atomic(tmp_path / "ok.csv", [{"am_yield_gpa": 12, "cbd_plasticity": 0.3},
                                            {"am_yield_gpa": 5, "cbd_plasticity": 0.0}])
    assert read_points(tmp_path / "ok.csv", params).tolist() == [[0.3, 12.0], [0.0, 5.0]]
    write_csv_atomic(tmp_path / "low.csv", [{"am_yield_gpa": 3, "cbd_plasticity": 0.3}])
    with pytest.raises(ValueError, match=r"line 2: am_yield_gpa = 3 lies outside its prior "
                                         r"\[5, 30\]"):
        read_points(tmp_path / "low.csv", params)
    write_csv_atomic(tmp_path / "short.csv", [{"cbd_plasticity": 0.3}])
    with pytest.raises(ValueError, match="needs exactly the calibrated parameters"):
        read_points(tmp_path / "short.csv", params)
    write_csv_atomic(tmp_path / "text.csv", [{"am_yield_gpa": "hard", "cbd_plasticity": 0.3}])
    with pytest.raises(ValueError, match="column 'am_yield_gpa' must be a number"):
        read_points(tmp_path / "text.csv", params)


def test_the_recovery_emulator_follows_a_recovery_that_spans_a_decade():
    """r = 0.04 exp(2.5 λ_p + 0.5 ratio) spans 4–56 % over the box, as the `fast` design's
    recoveries do; from 12 Sobol points the ln r emulator predicts 40 held-out points within
    10 % of r (relative RMSE), its median is positive everywhere and its 95 % interval (on
    ln r) holds at least 90 % of them."""
    from scipy.stats import qmc

    params = (Parameter("cbd_plasticity", 0.0, 0.9), Parameter("bridge_stiffness_ratio", 0.0, 3.0))

    def recovery_of(theta):
        return 0.04 * np.exp(2.5 * theta[:, 0] + 0.5 * theta[:, 1])

    scale = np.array([0.9, 3.0])
    train = qmc.Sobol(2, seed=0).random(16)[:12] * scale
    held = qmc.Sobol(2, seed=1).random(40) * scale
    emulator = RecoveryEmulator(params, train, recovery_of(train))
    median, sd = emulator.predict(held)
    truth = recovery_of(held)
    assert np.all(median > 0) and np.all(sd > 0)
    assert np.sqrt(np.mean(((median - truth) / truth) ** 2)) < 0.10
    log_mean, log_sd = emulator.predict_log(held)
    assert np.mean(np.abs(np.log(truth) - log_mean) <= 1.96 * log_sd) >= 0.9


def test_the_compaction_emulator_separates_each_film_s_offset_from_the_law():
    """Runs of a stand-in law on three films whose curves sit -0.8, +0.2 and +0.6 porosity
    points off (the `fast` films' spread at 5.92 MPa), one film per design point: with the
    film as an input the emulator's film mean follows the law's curve plus the films' mean
    offset within 0.2 points at held-out points, and holding out whole runs it predicts
    them better than a GP that reads the offsets as noise."""
    from scipy.stats import qmc

    params = parse_dem_parameters("cbd_plasticity,cbd_modulus_gpa")
    names = [p.name for p in params]
    offsets = np.array([-0.008, 0.002, 0.006])
    lo = np.array([p.lower for p in params])
    hi = np.array([p.upper for p in params])
    design = lo + qmc.Sobol(2, seed=0).random(24) * (hi - lo)
    runs = []
    for k, t in enumerate(design):
        theta = TRUTH | dict(zip(names, t, strict=True))
        runs.append({"theta": theta, "dried": f"film_{k % 3}",
                     "pressure_reported_mpa": PRESSURES.tolist(),
                     "porosity": (stand_in_curve(theta, PRESSURES) + offsets[k % 3]).tolist()})
    films = ["film_0", "film_1", "film_2"]
    theta = np.array([[r["theta"][n] for n in names] for r in runs for _ in PRESSURES])
    p = np.tile(PRESSURES, len(runs))
    e = np.concatenate([r["porosity"] for r in runs])
    f = np.repeat(np.arange(len(runs)) % 3, len(PRESSURES))
    emulator = CompactionEmulator(params, theta, p, e, f)
    held = lo + qmc.Sobol(2, seed=1).random(8) * (hi - lo)
    mean, sd = emulator.predict(held, PRESSURES)
    truth = np.array([stand_in_curve(TRUTH | dict(zip(names, t, strict=True)), PRESSURES)
                      for t in held]) + offsets.mean()
    assert np.max(np.abs(mean - truth)) < 0.002 and np.all(sd > 0)
    with_films = emulator_cross_validation(params, runs, films=films)
    without = emulator_cross_validation(params, runs)
    assert with_films["rmse"] < 0.5 * without["rmse"], (with_films, without)


def test_a_dem_run_that_raises_is_recorded_as_failed(tmp_path):
    """The real worker function never raises: a run whose film cannot be read comes back as
    'failed' with the error, its CPU time and its inputs (so the design can leave it out)."""
    from experiments.calibrate_dem import dem_run

    task = {"dried": str(tmp_path / "missing.npz"), "theta": dict(TRUTH),
            "pressures_mpa": [5.92], "temperature_c": 60.0, "line_speed_m_min": 0.54,
            "protocol": "paper"}
    result = dem_run(task)
    assert result["status"] == "failed" and "missing.npz" in result["error"]
    assert result["theta"] == TRUTH and result["cpu_s"] >= 0.0
    indentation = dem_run({"dried": task["dried"], "theta": dict(TRUTH),
                           "indent_depth_fraction": 0.1, "temperature_c": 60.0,
                           "line_speed_m_min": 0.54})
    assert indentation["status"] == "failed" and "missing.npz" in indentation["error"]


def test_dem_parameters_reach_the_contact_law():
    c = dem_conditions({"cbd_plasticity": 0.4, "cbd_adhesion_ratio": 0.2, "am_rolling": 0.1,
                        "cbd_modulus_gpa": 3.0, "am_friction": 0.2,
                        "bridge_stiffness_ratio": 1.0, "am_plasticity": 0.3}, 80.0, 1.0)
    assert c.temperature_c == 80.0 and c.line_speed_m_min == 1.0
    assert c.binder_contact.am_plasticity == 0.3
    assert c.binder_contact.plasticity == 0.4 and c.binder_contact.am_rolling == 0.1
    assert c.binder_contact.adhesion_ratio == 0.2
    assert c.binder_contact.bridge_stiffness_ratio == 1.0
    assert c.binder.reference_modulus_gpa == 3.0 and c.am_friction == 0.2
    names = set(c.contact_table().names)
    assert {"AM", "CBD"} <= names
    with pytest.raises(ValueError, match="plasticity"):
        dem_conditions({"cbd_plasticity": 0.99})
    assert dem_conditions({"am_yield_gpa": 4.0}).binder_contact.am_yield_gpa == 4.0
    # what a run that did not vary a parameter simulated: the base law's value; Table 2's
    # "no yield" (0) is the yield prior's upper edge
    assert base_parameter_value("am_plasticity") == 0.0
    assert base_parameter_value("cbd_modulus_gpa") == 2.0  # Table 2's CBD
    assert base_parameter_value("am_yield_gpa") == DEM_PARAMETERS["am_yield_gpa"].upper
    assert base_parameter_value("am_crushed_flattening") == DEM_PARAMETERS[
        "am_crushed_flattening"].upper
    soft = dem_conditions({"plateau_softening_per_k": 0.02}, 25.0, 0.54, loading_time_s=500.0)
    assert soft.binder.plateau_softening_per_k == 0.02
    assert base_parameter_value("plateau_softening_per_k") == 0.015


def test_soft_sticky_binders_are_outside_the_admissible_prior():
    params = parse_dem_parameters("cbd_modulus_gpa,cbd_cohesion_gpa")
    theta = np.array([[2.0, 0.07], [3.0, 0.05], [0.214, 0.055], [0.84, 0.29]])
    assert dem_admissible(theta, params).tolist() == [True, True, False, False]
    # a cooler, faster nip stiffens the binder more than it raises the cohesion
    assert dem_admissible(np.array([[0.6, 0.03]]), params, 25.0, 20.0)[0]
    assert not dem_admissible(np.array([[0.6, 0.03]]), params, 120.0, 0.2)[0]


@pytest.mark.parametrize("spec, message", [
    ("cbd_plasticity,binder_yield", "unknown parameter 'binder_yield'"),
    ("am_rolling=0.1:2", "must lie inside [0, 0.3]"),
    ("am_rolling=0.1", "name=LOW:HIGH"),
    ("am_rolling,am_rolling", "repeated"),
])
def test_bad_parameter_lists_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_dem_parameters(spec)


def test_the_measured_curve_reads_with_its_dried_row(tmp_path):
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "shared" / "data" / "experiments" / \
        "ngandjong2021_96-2-2_calendering.csv"
    if shipped.is_file():
        c = read_compaction_curve(shipped)
        assert c.pressures_mpa.tolist() == [5.92, 55.9, 86.0, 156.0]
        assert c.dried_porosity == pytest.approx(0.4215)
    write_csv_atomic(tmp_path / "c.csv", [{"pressure_mpa": 1, "porosity": 0.3},
                                          {"pressure_mpa": 5, "porosity": 0.28}])
    c = read_compaction_curve(tmp_path / "c.csv", porosity_sd=0.01)
    assert isinstance(c, CompactionCurve) and c.dried_porosity is None
    assert c.porosity_sd.tolist() == [0.01, 0.01]


@pytest.mark.parametrize("table, message", [
    ("pressure_mpa,porosity_sd\n1,0.01\n2,0.01\n", "missing column 'porosity'"),
    ("pressure_mpa,porosity,porosity_sd\n5,0.3,0.01\n2,0.28,0.01\n", "must increase"),
    ("pressure_mpa,porosity,porosity_sd\n1,0.3,0.01\n1,0.28,0.01\n", "must increase"),
    ("pressure_mpa,porosity,porosity_sd\n1,30,0.01\n2,28,0.01\n", "fraction in (0, 1)"),
    ("pressure_mpa,porosity,porosity_sd\n1,0.3,0\n2,0.28,0.01\n", "porosity_sd must be > 0"),
    ("pressure_mpa,porosity,porosity_sd\n1,0.3,x\n2,0.28,0.01\n", "must be a number"),
    ("pressure_mpa,porosity\n1,0.3\n2,0.28\n", "no porosity_sd"),
    ("pressure_mpa,porosity,porosity_sd\n0,0.42,0.02\n2,0.28,0.01\n", "at least 2 pressures"),
    ("pressure_mpa,porosity,porosity_sd\n-1,0.42,0.02\n2,0.28,0.01\n", "[0, 500]"),
])
def test_bad_curves_give_clear_errors(tmp_path, table, message, capsys):
    (tmp_path / "c.csv").write_text(table)
    args = ["calibrate", "--target", "dem", "--data", str(tmp_path / "c.csv"),
            "--dried", str(tmp_path / "d.npz"), "--no-mlflow", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_dem_target_needs_a_dried_structure(tmp_path, capsys):
    write_csv_atomic(tmp_path / "curve.csv", [{"pressure_mpa": 1.0, "porosity": 0.3},
                                              {"pressure_mpa": 5.0, "porosity": 0.27}])
    args = ["calibrate", "--target", "dem", "--data", str(tmp_path / "curve.csv"),
            "--porosity-sd", "0.005", "--no-mlflow", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "--dried is required" in capsys.readouterr().err
    assert main([*args, "--dried", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz does not exist" in capsys.readouterr().err
    assert main([*args, "--dried", str(tmp_path / "missing.npz"), "--parameters",
                 "binder_yield"]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_a_new_run_shifts_all_its_pressures_by_one_draw_and_a_scalar_output_by_the_same():
    """One standard normal per posterior draw, shared along the row (pressures), and the
    same numbers for a scalar output (the recovery) at the same seed."""
    mean = np.zeros((500, 4))
    sd = np.array([1.0, 2.0, 3.0, 4.0])
    run = new_run_draws(mean, sd * np.ones((500, 4)), seed=3)
    z = run[:, 0]
    np.testing.assert_allclose(run, z[:, None] * sd)
    assert abs(np.std(z) - 1.0) < 0.1
    np.testing.assert_array_equal(new_run_draws(np.zeros(500), np.ones(500), seed=3), z)
