"""GP surrogates: accuracy and calibration on known functions, feature selection, the
scikit-learn baseline, save/load, and ``etwin train`` on a real MLflow store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from surrogates.dataset import Dataset
from surrogates.gp import GPSurrogate, SurrogateSet
from surrogates.validation import cross_validate, scores, select_features


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
    assert main(["train", "--experiment", "sims", "--folds", "4", "--out", str(out),
                 "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_rows"] == 24 and result["inputs"] == ["pressure_mpa", "temperature_c"]
    report = result["report"]
    assert set(report) == {"porosity", "tau_z", "capacity_1C_mah_g"}
    assert report["porosity"]["features"] == ["log_pressure"]
    assert report["porosity"]["gp"]["r2"] > 0.95
    for name in ("surrogates.pt", "report.json", "report.csv", "parity_porosity.png"):
        assert (out / name).is_file()
    models = SurrogateSet.load(out / "surrogates.pt")
    mean, _ = models.predict(np.array([[100.0, 60.0]]))["porosity"]
    assert mean[0] == pytest.approx(0.264, abs=0.01)
    run = MlflowClient(uri).get_run(result["run_id"])
    assert run.data.params["porosity.features"] == "log_pressure"
    assert run.data.metrics["porosity.gp.r2"] == pytest.approx(report["porosity"]["gp"]["r2"])
    assert main(["train", "--experiment", "sims", "--outputs", "porosity,nope", "--out",
                 str(out)]) == 2
    assert "unknown output(s) ['nope']" in capsys.readouterr().err
