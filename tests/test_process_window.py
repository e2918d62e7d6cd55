"""The process-window job: the loop's problem per material, the feasibility map against a
known window, the report and the MLflow record."""

import json
import math

import numpy as np
import pytest

from experiments.batch import make_point
from experiments.process_window import run_process_window, window_problem
from experiments.tracking import Tracker
from optimize.bo import sobol_design

BAND = (0.27, 0.31)
FRACTURE_ONSET_MPA = {"nmc": 60.0, "graphite": 10.0}


def known_outputs(inputs: dict, material: str) -> dict:
    """A stand-in for the physics with a known window: porosity falls with log pressure
    (0.31 at 5.6 MPa, 0.27 at 56 MPa), particles crack above a material-dependent pressure
    (5 % at 65 MPa for NMC, at 15 MPa for the graphite-like material)."""
    p = inputs["pressure_mpa"]
    return {"porosity": 0.34 - 0.04 * math.log10(p),
            "tau_z": 1.4 + 0.1 * math.log10(p), "capacity_1C_mah_g": 170.0,
            "fractured_fraction": min(1.0, max(0.0, (p - FRACTURE_ONSET_MPA[material]) / 100))}


def test_problem_per_material_and_bad_settings():
    nmc = window_problem("nmc", porosity_band=BAND, tau_z_max=1.7, capacity_min=150,
                         fracture_max=0.05)
    graphite = window_problem("graphite", porosity_band=BAND, tau_z_max=1.7, capacity_min=150,
                              fracture_max=0.05)
    # the materials are material sets: their modulus and strength are the inputs' defaults
    assert nmc.materials == "nmc111" and graphite.materials == "graphite"
    assert nmc.material_set.process_defaults()["am_young_modulus_gpa"] == 200
    assert graphite.material_set.process_defaults()["am_young_modulus_gpa"] == 15
    assert {c.output for c in nmc.constraints} == {"porosity", "tau_z", "capacity_1C_mah_g",
                                                    "fractured_fraction"}
    assert nmc.log_inputs == ("pressure_mpa",)
    with pytest.raises(ValueError, match="--materials 'lfp' is unknown"):
        window_problem("lfp", porosity_band=BAND, tau_z_max=1.7, capacity_min=150,
                       fracture_max=0.05)
    with pytest.raises(ValueError, match="porosity band must satisfy"):
        window_problem("nmc", porosity_band=(0.3, 0.2), tau_z_max=1.7, capacity_min=150,
                       fracture_max=0.05)


def test_window_maps_find_the_known_windows_and_they_differ(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    kwargs = dict(porosity_band=BAND, tau_z_max=1.7, capacity_min=150.0, fracture_max=0.05,
                  fidelity="ci", initial=20, iterations=0, seed=1)
    for material in ("nmc", "graphite"):  # the evaluations are already in the store
        problem = window_problem(material, **kwargs)
        tracker = Tracker(f"process-window-{material}")
        for x in sobol_design(problem, problem.initial, problem.seed):
            point = make_point(problem.inputs(x), problem.fidelity, problem.seed,
                               problem.c_rates, materials=problem.material_set)
            tracker.log(point, {"status": "ok",
                                "metrics": known_outputs(point["inputs"], material)},
                        tags={"iteration": "initial"})
    summary = run_process_window(tmp_path / "out", ("nmc", "graphite"), **kwargs,
                                 progress=False, log=lambda m: None)
    nmc = summary["materials"]["nmc"]["pressure_window_mpa_at_nominal"]
    graphite = summary["materials"]["graphite"]["pressure_window_mpa_at_nominal"]
    # true windows: NMC 5.6-56 MPa (porosity band), graphite 5.6-15 MPa (fracture)
    assert 3.0 < nmc[0] < 10.0 and 35.0 < nmc[1] < 90.0
    assert 3.0 < graphite[0] < 10.0 and 9.0 < graphite[1] < 25.0
    assert graphite[1] < nmc[1]
    assert summary["materials"]["nmc"]["evaluations"] == 20
    for name in ("report.md", "window_nmc.png", "window_graphite.png", "pressure_windows.png",
                 "evaluations_nmc.csv", "summary.json"):
        assert (tmp_path / "out" / name).is_file()
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["materials"]["graphite"]["fixed"]["am_fracture_strength_mpa"] == 40.0
    from mlflow import MlflowClient

    run = MlflowClient(uri).get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["nmc.window_high_mpa"] == pytest.approx(nmc[1])
    assert np.isfinite(run.data.metrics["graphite.window_low_mpa"])


def test_a_job_run_leaves_room_for_the_loops_own_runs(tmp_path, monkeypatch):
    # the process-window job holds its run while run_campaign opens one per iteration
    import mlflow
    from mlflow import MlflowClient

    from experiments.tracking import job_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    inner = Tracker("inner")
    with job_run("outer", "process-window", {"a": 1}) as run:
        with mlflow.start_run(experiment_id=inner.experiment_id) as loop_run:
            mlflow.log_metric("best", 1.0)
        run.log_metrics({"window_low_mpa": 5.0})
    client = MlflowClient(uri)
    assert client.get_run(loop_run.info.run_id).info.status == "FINISHED"
    outer = client.get_run(run.run_id)
    assert outer.info.status == "FINISHED" and outer.data.metrics["window_low_mpa"] == 5.0
