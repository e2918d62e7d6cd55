"""GP surrogates: accuracy and calibration on known functions, feature selection, the
scikit-learn baseline, save/load, and ``etwin train`` on a real MLflow store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from surrogates.dataset import Dataset
from surrogates.gp import GPSurrogate, SurrogateSet
from surrogates.validation import (
    COVERAGE_WARNING,
    NOMINAL_LEVELS,
    Z90,
    coverage_curve,
    cross_validate,
    fold_indices,
    scores,
    select_features,
)


def compaction_table(n: int = 36, seed: int = 0, noise: float = 0.002) -> pd.DataFrame:
    """Porosity after a saturating compaction law in pressure (the calendering fit's form:
    ε_min 26.4 %, ε0 42 %, p_c 0.9 MPa) with a small temperature slope; τ_z by Bruggeman
    τ = ε^-0.5 of it; a capacity that depends on temperature only."""
    rng = np.random.default_rng(seed)
    p = 10 ** rng.uniform(-0.5, 2.0, n)
    t = rng.uniform(25.0, 120.0, n)
    por = 0.264 + 0.156 * np.exp(-p / 0.9) - 0.0004 * (t - 60) / 10 + rng.normal(0, noise, n)
    return pd.DataFrame({"pressure_mpa": p, "temperature_c": t, "porosity": por,
                         "tau_z": por ** -0.5 + rng.normal(0, noise, n),
                         "capacity_1C_mah_g": 180 + 0.1 * t + rng.normal(0, 0.3, n)})


def test_gp_is_accurate_and_its_intervals_calibrated():
    data = Dataset.from_frame(compaction_table(), outputs=("porosity",))
    cv = cross_validate(data, "porosity", ("log_pressure",), folds=6)
    gp, sk = cv["scores"]["gp"], cv["scores"]["sklearn"]
    assert gp["r2"] > 0.98 and gp["rmse"] < 0.006
    assert 0.75 <= gp["coverage90"] <= 1.0
    assert sk["r2"] > 0.95  # the baseline sees the same features


def test_log_pressure_is_kept_only_where_it_helps():
    data = Dataset.from_frame(compaction_table(), outputs=("porosity", "capacity_1C_mah_g"))
    chosen, rmse = select_features(data, "porosity")
    assert "log_pressure" in chosen and rmse["log_pressure"] < 0.6 * rmse["none"]
    chosen, rmse = select_features(data, "capacity_1C_mah_g")
    assert chosen == ()  # the capacity ignores pressure: no feature earns 5 %


def test_nested_selection_chooses_per_fold_and_reports_a_calibration_curve():
    """features="auto": each outer fold picks its features on its own training rows (the
    compaction law needs log_pressure in every fold) and the held-out scores stay those of a
    good model; the calibration curve rises with the nominal level."""
    data = Dataset.from_frame(compaction_table(), outputs=("porosity",))
    cv = cross_validate(data, "porosity", "auto", folds=4, baseline=False)
    assert len(cv["fold_features"]) == 4
    assert all("log_pressure" in f for f in cv["fold_features"])
    assert cv["scores"]["gp"]["r2"] > 0.97
    levels, observed = zip(*cv["coverage_curve"], strict=True)
    assert levels == NOMINAL_LEVELS and observed[-1] >= observed[0]
    assert observed[levels.index(0.9)] == cv["scores"]["gp"]["coverage90"]
    assert cv["warnings"] == []


def test_an_overconfident_or_failed_fold_is_a_warning(monkeypatch):
    """A GP whose intervals are 100x too narrow covers ~0 of the held-out values; a fold fit
    that fell back from L-BFGS-B is named."""
    import surrogates.validation as validation

    class Overconfident(validation.GPSurrogate):
        def fit(self, x, y):
            super().fit(x, y)
            self.fit_note = "L-BFGS-B failed (ModelFittingError); fitted with Adam"
            return self

        def predict(self, x):
            mean, std = super().predict(x)
            return mean, 0.01 * std

    monkeypatch.setattr(validation, "GPSurrogate", Overconfident)
    data = Dataset.from_frame(compaction_table(), outputs=("porosity",))
    cv = cross_validate(data, "porosity", ("log_pressure",), folds=3, baseline=False)
    assert cv["scores"]["gp"]["coverage90"] < COVERAGE_WARNING
    assert sum("fitted with Adam" in w for w in cv["warnings"]) == 3
    assert any("90 % intervals cover" in w for w in cv["warnings"])


def test_folds_partition_the_rows_and_coverage_counts_the_quantiles():
    folds = fold_indices(10, 3, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    assert sorted(len(f) for f in folds) == [3, 3, 4]
    # residuals at the 0.25, 0.5 and 0.75 quantiles of |N(0, 1)|: coverage steps at each
    from scipy.stats import norm

    resid = norm.ppf(0.5 + 0.5 * np.array([0.25, 0.5, 0.75])) - 1e-9
    curve = dict(coverage_curve(resid, np.zeros(3), np.ones(3), levels=(0.25, 0.5, 0.8)))
    assert curve == {0.25: pytest.approx(1 / 3), 0.5: pytest.approx(2 / 3), 0.8: 1.0}


def test_scores_of_a_known_prediction():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    s = scores(y, y + np.array([0.1, -0.1, 0.1, -0.1]), np.full(4, 0.05))
    assert s.rmse == pytest.approx(0.1) and s.r2 == pytest.approx(1 - 0.04 / 5)
    assert s.coverage90 == 0.0  # 0.1 > 1.645 × 0.05
    assert scores(y, y, np.full(4, 0.05)).coverage90 == 1.0


def test_save_and_load_give_the_same_predictions(tmp_path):
    frame = compaction_table()
    data = Dataset.from_frame(frame, outputs=("porosity", "tau_z"))
    models = SurrogateSet({o: GPSurrogate(o, data.input_names, ("log_pressure",)).fit(
        *data.rows(o)) for o in ("porosity", "tau_z")})
    path = models.save(tmp_path / "s.pt")
    back = SurrogateSet.load(path)
    x = np.array([[0.5, 40.0], [30.0, 100.0]])
    for output in ("porosity", "tau_z"):
        m0, s0 = models.predict(x)[output]
        m1, s1 = back.predict(x)[output]
        assert np.array_equal(m0, m1) and np.array_equal(s0, s1)
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable surrogate file"):
        SurrogateSet.load(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="no such surrogate file"):
        SurrogateSet.load(tmp_path / "none.pt")


def test_bad_datasets_are_refused():
    frame = compaction_table(8)
    with pytest.raises(ValueError, match=r"unknown output\(s\) \['tau_q'\]"):
        Dataset.from_frame(frame, outputs=("tau_q",))
    with pytest.raises(ValueError, match="the dataset is empty"):
        Dataset.from_frame(frame.iloc[:0], outputs=("porosity",))
    with pytest.raises(ValueError, match="no process input varies"):
        Dataset.from_frame(frame.assign(pressure_mpa=5.0, temperature_c=60.0),
                           outputs=("porosity",))
    with pytest.raises(ValueError, match="unknown feature 'log_speed'"):
        GPSurrogate("porosity", ("pressure_mpa",), ("log_speed",)).fit(
            frame[["pressure_mpa"]].to_numpy(), frame["porosity"].to_numpy())


def test_train_from_an_mlflow_store(tmp_path, monkeypatch, capsys):
    """Simulation runs (an analytic stand-in for the physics, logged as etwin sweep logs
    them) -> etwin train: report, parity plots, models, an MLflow run of the fit."""
    from mlflow import MlflowClient

    from experiments.batch import make_point
    from experiments.cli import main
    from experiments.tracking import Tracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    frame = compaction_table(24)
    tracker = Tracker("sims")
    for row in frame.itertuples():
        point = make_point({"pressure_mpa": row.pressure_mpa, "temperature_c":
                            row.temperature_c}, "ci", 0, [1.0])
        tracker.log(point, {"status": "ok", "metrics": {
            "porosity": row.porosity, "tau_z": row.tau_z,
            "capacity_1C_mah_g": row.capacity_1C_mah_g}})
    out = tmp_path / "sur"
    assert main(["train", "--experiment", "sims", "--folds", "3", "--out", str(out),
                 "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_rows"] == 24 and result["inputs"] == ["pressure_mpa", "temperature_c"]
    report = result["report"]
    assert set(report) == {"porosity", "tau_z", "capacity_1C_mah_g"}
    # nested selection: every fold chose log_pressure on its own rows (log_deborah, which
    # tracks the temperature slope here, may join it)
    assert "log_pressure" in report["porosity"]["features"]
    assert all("log_pressure" in f for f in report["porosity"]["fold_features"])
    assert report["porosity"]["gp"]["r2"] > 0.95
    assert len(report["porosity"]["coverage_curve"]) == len(NOMINAL_LEVELS)
    for name in ("surrogates.pt", "report.json", "report.csv", "parity_porosity.png",
                 "calibration_porosity.png"):
        assert (out / name).is_file()
    models = SurrogateSet.load(out / "surrogates.pt")
    mean, _ = models.predict(np.array([[100.0, 60.0]]))["porosity"]
    assert mean[0] == pytest.approx(0.264, abs=0.01)
    run = MlflowClient(uri).get_run(result["run_id"])
    assert run.data.params["porosity.features"] == "+".join(report["porosity"]["features"])
    assert run.data.metrics["porosity.gp.r2"] == pytest.approx(report["porosity"]["gp"]["r2"])
    assert main(["train", "--experiment", "sims", "--outputs", "porosity,nope", "--out",
                 str(out)]) == 2
    assert "unknown output(s) ['nope']" in capsys.readouterr().err


def test_replicate_noise_is_the_pooled_within_point_sd():
    from surrogates.dataset import point_groups, replicate_noise

    x = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [3.0, 4.0], [3.0, 4.0], [5.0, 6.0]])
    y = np.array([1.0, 3.0, 10.0, 12.0, 14.0, 7.0])
    # within-point squares: 2 + (4 + 0 + 4) over (1 + 2) degrees of freedom
    assert replicate_noise(x, y) == (pytest.approx(np.sqrt(10.0 / 3.0)), 3)
    assert replicate_noise(x[[0, 2, 5]], y[[0, 2, 5]]) == (0.0, 0)
    groups = point_groups(x)
    assert groups[0] == groups[1] and len(set(groups[2:5])) == 1 and len(set(groups)) == 3


def test_replicates_are_held_out_together():
    groups = np.repeat(np.arange(6), [1, 3, 1, 2, 1, 1])
    folds = fold_indices(groups.size, 3, seed=0, groups=groups)
    assert sorted(np.concatenate(folds).tolist()) == list(range(groups.size))
    for test in folds:
        held = set(groups[test])
        assert set(np.flatnonzero(np.isin(groups, list(held)))) == set(test)
    with pytest.raises(ValueError, match=r"folds must lie in \[2, 6 distinct points\]"):
        fold_indices(groups.size, 7, seed=0, groups=groups)


def test_the_noise_floor_bounds_the_gp_noise_and_its_predictive_sd():
    """Runs that a smooth law explains all but exactly (noise 1e-4) and replicates that
    scatter by sd 0.01: with the replicates' sd as the floor, the learned noise and every
    predictive sd are at least the floor."""
    from surrogates.dataset import replicate_noise

    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, (16, 2))
    x = np.vstack([x, x[:4], x[:4]])
    y = np.sin(3 * x[:, 0]) + x[:, 1] + rng.normal(0, 1e-4, len(x))
    y[16:] += rng.normal(0, 0.01, 8)
    floor, dof = replicate_noise(x, y)
    assert dof == 8 and 0.005 < floor < 0.02
    names = ("temperature_c", "coating_thickness_um")
    floored = GPSurrogate("y", names, noise_floor_sd=floor).fit(x, y)
    grid = rng.uniform(0.0, 1.0, (50, 2))
    assert floored.predict(grid)[1].min() >= floor * (1 - 1e-9)
    noise_var = float(floored.model.likelihood.noise) * np.var(y, ddof=1)
    assert noise_var >= floor ** 2 * (1 - 1e-9)
    back = GPSurrogate.from_state(floored.state())
    assert back.noise_floor_sd == floor
    assert np.array_equal(back.predict(grid)[1], floored.predict(grid)[1])
    with pytest.raises(ValueError, match="noise_floor_sd must be finite and >= 0"):
        GPSurrogate("y", names, noise_floor_sd=-1.0).fit(x, y)


def test_training_reports_the_replicates_and_fits_on_their_floor(tmp_path, monkeypatch):
    """Replicate rows (the same inputs, another seed's value) give the final model its floor
    and the report its sd, degrees of freedom and point count; the MLflow run of the fit
    carries the sd and the floor as metrics."""
    from mlflow import MlflowClient

    from experiments.tracking import log_training
    from surrogates.dataset import noise_floor, replicate_noise
    from surrogates.train import train_surrogates

    frame = compaction_table(24)
    again = frame.iloc[:6].copy()
    again["porosity"] += np.random.default_rng(1).normal(0, 0.004, 6)
    data = Dataset.from_frame(pd.concat([frame, again], ignore_index=True),
                              outputs=("porosity",))
    training = train_surrogates(data, ("porosity",), features=("log_pressure",), folds=4)
    rep = training.report["outputs"]["porosity"]
    sd, dof = replicate_noise(*data.rows("porosity"))
    assert (rep["n"], rep["points"], rep["replicate_noise_dof"]) == (30, 24, 6) and dof == 6
    assert rep["replicate_noise_sd"] == sd
    assert rep["noise_floor_sd"] == noise_floor(sd, dof) < sd
    assert training.models.models["porosity"].noise_floor_sd == rep["noise_floor_sd"]
    assert training.models.models["porosity"].noise_model == rep["noise_model"] == "log-linear"
    assert rep["gp"]["r2"] > 0.9
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    (tmp_path / "out").mkdir()
    run_id = log_training("train-test", training.report, tmp_path / "out", {"data": "table"})
    metrics = MlflowClient(uri).get_run(run_id).data.metrics
    assert metrics["porosity.noise_floor_sd"] == pytest.approx(noise_floor(sd, dof))
    assert metrics["porosity.replicate_noise_sd"] == pytest.approx(sd)


def test_the_noise_floor_is_a_lower_confidence_bound_of_the_replicate_sd():
    """sd·sqrt(dof / χ²_0.95(dof)): 0.6493 × sd at 4 degrees of freedom (χ²_0.95(4) =
    9.4877), and over many replicate sets it lies above the true noise 5 % of the time."""
    from surrogates.dataset import noise_floor, replicate_noise

    assert noise_floor(1.0, 4) == pytest.approx(np.sqrt(4 / 9.487729), rel=1e-6)
    assert noise_floor(0.3, 0) == 0.0
    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(4.0), 2)[:, None]  # four points twice: 4 dof
    above = [noise_floor(*replicate_noise(x, rng.normal(0.0, 0.02, 8))) > 0.02
             for _ in range(4000)]
    assert np.mean(above) == pytest.approx(0.05, abs=0.012)  # binomial sd 0.0034
    with pytest.raises(ValueError, match=r"confidence must lie in \(0, 1\)"):
        noise_floor(1.0, 4, confidence=1.0)


def test_log_linear_noise_follows_a_noise_that_grows_across_the_box():
    """y = sin(3 x0) + x1 with a noise sd of 0.01 at x1 = 0 growing to 0.2 at x1 = 1
    (log-linear in x1): the log-linear model's predictive sd follows it within a factor 1.7
    at both ends (the slope's N(0, 1) prior shrinks a 20-fold change a little) and its 90 %
    intervals cover at least 0.75 of fresh draws there; one constant noise is more than 4x
    too wide at the quiet end and covers less than 0.7 at the loud one."""
    rng = np.random.default_rng(5)
    names = ("temperature_c", "coating_thickness_um")

    def draw(x):
        sd = 0.01 * np.exp(np.log(20.0) * x[:, 1])
        return np.sin(3 * x[:, 0]) + x[:, 1] + rng.normal(0.0, 1.0, len(x)) * sd, sd

    x = rng.uniform(0.0, 1.0, (120, 2))
    y, _ = draw(x)
    models = {m: GPSurrogate("y", names, noise_model=m).fit(x, y)
              for m in ("constant", "log-linear")}
    for end in (0.05, 0.95):
        grid = np.column_stack([rng.uniform(0.0, 1.0, 400), np.full(400, end)])
        fresh, sd = draw(grid)
        mean, std = models["log-linear"].predict(grid)
        assert 1 / 1.7 < np.median(std / sd) < 1.7
        assert np.mean(np.abs(fresh - mean) <= Z90 * std) >= 0.75
        mean, std = models["constant"].predict(grid)
        if end < 0.5:
            assert np.median(std / sd) > 4.0
        else:
            assert np.mean(np.abs(fresh - mean) <= Z90 * std) < 0.7
    back = GPSurrogate.from_state(models["log-linear"].state())
    assert back.noise_model == "log-linear"
    assert np.array_equal(back.predict(grid)[1], models["log-linear"].predict(grid)[1])
    with pytest.raises(ValueError, match="noise_model must be one of constant, log-linear"):
        GPSurrogate("y", names, noise_model="linear").fit(x, y)


def test_a_categorical_input_learns_each_label_s_offset_and_their_mean():
    """y = sin(3x) + c_h + noise over three labels h with offsets c = (-0.3, 0, +0.4): the GP
    with the label as a categorical input predicts each label's curve, the mean over the
    labels (``predict_group_mean``) follows sin(3x) + 1/30 with an sd below one run's, and a
    saved model predicts the same; a label column that is not an input is refused."""
    rng = np.random.default_rng(0)
    offsets = np.array([-0.3, 0.0, 0.4])
    x = rng.uniform(0, 2, 36)
    h = np.arange(36) % 3
    y = np.sin(3 * x) + offsets[h] + rng.normal(0, 0.03, 36)
    gp = GPSurrogate("y", ("x", "film"), categorical=(1,)).fit(np.column_stack([x, h]), y)
    xt = np.linspace(0.1, 1.9, 15)
    for k, c in enumerate(offsets):
        mean, _ = gp.predict(np.column_stack([xt, np.full(15, k)]))
        assert np.max(np.abs(mean - np.sin(3 * xt) - c)) < 0.1, k
    groups = np.stack([np.column_stack([xt, np.full(15, k)]) for k in range(3)], axis=1)
    mean, sd = gp.predict_group_mean(groups)
    assert np.max(np.abs(mean - np.sin(3 * xt) - offsets.mean())) < 0.06
    _, sd_one = gp.predict(np.column_stack([xt, np.zeros(15)]))
    assert np.all(sd < sd_one)
    back = GPSurrogate.from_state(gp.state())
    np.testing.assert_allclose(back.predict_group_mean(groups)[0], mean, atol=1e-9)
    with pytest.raises(ValueError, match="categorical columns"):
        GPSurrogate("y", ("x",), categorical=(1,)).fit(x[:, None], y)


def test_a_warm_start_takes_the_hyperparameters_and_keeps_the_new_data_s_transforms():
    """y' = 10 y + 5 standardizes to the same values as y, so a fit on y' has y's
    optimum: started there it must predict as a cold fit on y' does, on y''s scale (a warm
    start that copied y's Standardize buffers would predict near y instead)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (30, 2))
    y = np.sin(4 * x[:, 0]) + 0.5 * x[:, 1] + rng.normal(0, 0.05, 30)
    first = GPSurrogate("y", ("a", "b")).fit(x, y)
    warm = GPSurrogate("y", ("a", "b")).fit(x, 10 * y + 5, start=first)
    cold = GPSurrogate("y", ("a", "b")).fit(x, 10 * y + 5)
    test = rng.uniform(0, 1, (20, 2))
    (mw, sw), (mc, sc) = warm.predict(test), cold.predict(test)
    np.testing.assert_allclose(mw, mc, atol=0.02 * np.std(10 * y))
    np.testing.assert_allclose(sw, sc, rtol=0.05)
    assert abs(np.mean(mw) - np.mean(10 * first.predict(test)[0] + 5)) < 0.5
