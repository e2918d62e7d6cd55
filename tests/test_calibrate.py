"""Bayesian calibration: grid quadrature against closed forms, interval coverage on synthetic
data, and the whole job from blocking spectra of the cell model."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from experiments.calibrate import calibrate_tortuosity, read_measurements
from experiments.cli import main
from experiments.files import write_csv_atomic
from optimize.calibration import (
    Parameter,
    calibrate_bruggeman,
    grid_posterior,
    synthetic_r_ion_data,
)

POROSITIES = (0.25, 0.29, 0.33, 0.37, 0.41, 0.45)


def test_grid_posterior_of_a_gaussian_likelihood_matches_the_closed_form():
    # flat prior x Gaussian likelihood: posterior N(mu, s^2); 95 % interval mu ± 1.95996 s
    mu, s = 2.3, 0.17
    post = grid_posterior(lambda theta: -0.5 * ((theta - mu) / s) ** 2,
                          [Parameter("theta", 0.0, 5.0, points=2001)])
    m = post.marginal("theta")
    assert m.mean == pytest.approx(mu, abs=1e-4)
    assert m.sd == pytest.approx(s, rel=1e-3)
    assert m.lower == pytest.approx(mu - 1.959964 * s, abs=2e-3)
    assert m.upper == pytest.approx(mu + 1.959964 * s, abs=2e-3)
    assert not m.at_prior_edge


def test_a_posterior_narrower_than_a_grid_step_is_resolved_by_zooming():
    # sd 1e-3 on a 0.025-wide grid step: the zoomed grid gives the sd, the interval and the
    # evidence ∫ L p(θ) dθ = s √(2π) / 5 of the closed form
    mu, s = 1.2345, 1e-3
    post = grid_posterior(lambda theta: -0.5 * ((theta - mu) / s) ** 2,
                          [Parameter("theta", 0.0, 5.0, points=201)])
    m = post.marginal("theta")
    assert m.sd == pytest.approx(s, rel=0.02)
    assert m.upper - m.lower == pytest.approx(2 * 1.959964 * s, rel=0.02)
    assert post.log_evidence == pytest.approx(math.log(s * math.sqrt(2 * math.pi) / 5.0),
                                              abs=0.01)
    assert not m.at_prior_edge


def test_two_parameter_gaussian_posterior_has_the_right_correlation():
    # bivariate normal likelihood with correlation -0.8: the grid recovers the marginals
    rho, sx, sy = -0.8, 0.2, 0.1
    inv = np.linalg.inv([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])

    def loglik(a, b):
        da, db = a - 1.0, b - 2.0
        return -0.5 * (inv[0, 0] * da * da + 2 * inv[0, 1] * da * db + inv[1, 1] * db * db)

    post = grid_posterior(loglik, [Parameter("a", -0.5, 2.5, points=301),
                                   Parameter("b", 1.2, 2.8, points=301)])
    assert post.marginal("a").sd == pytest.approx(sx, rel=5e-3)
    assert post.marginal("b").sd == pytest.approx(sy, rel=5e-3)
    draws = post.sample(20000, seed=1)
    assert np.corrcoef(draws["a"], draws["b"])[0, 1] == pytest.approx(rho, abs=0.02)


@pytest.mark.parametrize("fit_gamma", [False, True])
def test_95_percent_interval_covers_the_true_exponent_in_17_of_20_seeds(fit_gamma):
    alpha = 1.8
    hits = 0
    for seed in range(20):
        data = synthetic_r_ion_data(alpha, POROSITIES, relative_noise=0.05, seed=seed)
        m = calibrate_bruggeman(data, fit_gamma=fit_gamma).marginal("alpha")
        hits += m.lower <= alpha <= m.upper
    assert hits >= 17


def test_prior_edge_is_flagged_when_data_do_not_pin_the_exponent():
    data = synthetic_r_ion_data(1.2, POROSITIES, relative_noise=0.05, seed=0)
    m = calibrate_bruggeman(data, priors={"alpha": Parameter("alpha", 1.3, 3.0)}).marginal(
        "alpha")
    assert m.at_prior_edge


@pytest.mark.parametrize("kwargs,message", [
    ({"lower": 2.0, "upper": 1.0}, "lower < upper"),
    ({"lower": -1.0, "upper": 1.0, "log": True}, "log-uniform prior needs lower > 0"),
    ({"lower": 0.0, "upper": 1.0, "points": 5}, "points must lie in [11, 4001]"),
])
def test_bad_priors_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Parameter("alpha", **kwargs)


def blocking_spectra(tmp_path, alpha, noise, seed=0):
    """Symmetric blocking spectra of the cell model for cathodes with τ = ε^(1-α) at the
    test porosities, with relative Gaussian noise on Z; writes the table etwin calibrate
    reads and returns its path."""
    from physics.cell import symmetric_blocking_impedance
    from physics.cell_params import CellParameters
    from physics.impedance import frequencies_hz

    base = CellParameters()
    f = frequencies_hz(1.0, 1e6, 7)
    rng = np.random.default_rng(seed)
    rows = []
    for k, eps in enumerate(POROSITIES):
        cathode = replace(base.cathode, thickness_m=60e-6, porosity=eps,
                          active_volume_fraction=0.9 * (1 - eps),
                          cbd_volume_fraction=0.1 * (1 - eps),
                          tortuosity_factor=eps ** (1 - alpha))
        z = symmetric_blocking_impedance(replace(base, cathode=cathode), f).z_ohm_m2
        z = z + noise * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
        name = f"spectrum_{k}.csv"
        write_csv_atomic(tmp_path / name, [
            {"frequency_hz": fr, "re_z_ohm_m2": v.real, "im_z_ohm_m2": v.imag}
            for fr, v in zip(f, z, strict=True)])
        rows.append({"porosity": eps, "thickness_um": 60.0, "spectrum": name,
                     "z_relative_sd": noise})
    write_csv_atomic(tmp_path / "measurements.csv", rows)
    return tmp_path / "measurements.csv"


def test_exponent_from_cell_model_blocking_spectra(tmp_path):
    # spectra of the DFN's symmetric blocking cell at α = 2 with 1 % noise on Z: the TLM
    # fits give R_ion, and the posterior interval must hold α = 2 and be narrow
    (tmp_path / "exact").mkdir()
    _, rows = read_measurements(blocking_spectra(tmp_path / "exact", alpha=2.0, noise=1e-9))
    expected = np.array(POROSITIES) ** (1 - 2.0)  # τ_EIS read from noise-free spectra: 0.5 %
    assert np.allclose([r["tau_eis"] for r in rows], expected, rtol=0.005)
    table = blocking_spectra(tmp_path, alpha=2.0, noise=0.01)
    summary = calibrate_tortuosity(table, tmp_path / "out", experiment=None)
    a = summary["parameters"]["alpha"]
    assert a["ci95_lower"] <= 2.0 <= a["ci95_upper"]
    assert a["ci95_upper"] - a["ci95_lower"] < 0.3
    for name in ("report.md", "posterior.png", "posterior_predictive.png", "measurements.csv",
                 "posterior_marginals.csv", "summary.json"):
        assert (tmp_path / "out" / name).is_file()


def test_cli_logs_the_calibration_to_mlflow(tmp_path, monkeypatch, capsys):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data = synthetic_r_ion_data(1.6, POROSITIES, thickness_m=80e-6, conductivity_s_m=0.9,
                                relative_noise=0.03, seed=4)
    write_csv_atomic(tmp_path / "r_ion.csv", [
        {"porosity": e, "thickness_um": 80.0, "r_ion_ohm_cm2": r * 1e4,
         "conductivity_s_m": 0.9} for e, r in zip(data.porosity, data.r_ion_ohm_m2,
                                                  strict=True)])
    assert main(["calibrate", "--data", str(tmp_path / "r_ion.csv"), "--relative-noise",
                 "0.03", "--fit-gamma", "--out", str(tmp_path / "out"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["parameters"]) == {"alpha", "gamma"}
    assert (tmp_path / "out" / "posterior_joint.png").is_file()
    client = MlflowClient(uri)
    run = client.get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["job"] == "calibrate-tortuosity"
    assert math.isclose(run.data.metrics["alpha.mean"], result["parameters"]["alpha"]["mean"])
    assert "report.md" in {a.path for a in client.list_artifacts(run.info.run_id)}


@pytest.mark.parametrize("table,message", [
    ("porosity,r_ion_ohm_cm2\n0.3,5\n", "missing column 'thickness_um'"),
    ("porosity,thickness_um\n0.3,50\n", "needs a column 'r_ion_ohm_cm2' or 'spectrum'"),
    ("porosity,thickness_um,r_ion_ohm_cm2\n1.3,50,5\n0.4,50,4\n",
     "line 2: porosity must lie in (0, 1)"),
    ("porosity,thickness_um,r_ion_ohm_cm2\n0.3,50,5\n0.4,50,4\n", "no r_ion_sd_ohm_cm2"),
    ("porosity,thickness_um,spectrum\n0.3,50,nope.csv\n", "does not exist"),
])
def test_bad_tables_give_clear_errors(tmp_path, table, message, capsys):
    (tmp_path / "t.csv").write_text(table)
    assert main(["calibrate", "--data", str(tmp_path / "t.csv"), "--no-mlflow",
                 "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
