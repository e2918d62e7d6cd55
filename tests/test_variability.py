"""Monte Carlo variability: Sobol' estimators against closed forms, the input coupling of the
cell, and the whole job (full model, surrogate, agreement, resume, MLflow)."""

import json
import math

import numpy as np
import pytest

from experiments.cli import main
from experiments.variability import (
    Distribution,
    base_cell,
    cell_outputs,
    perturbed_cell,
    run_variability,
    sample_inputs,
)
from surrogates.sensitivity import ishigami, sobol_indices


def test_sobol_indices_of_the_ishigami_function():
    # closed form (a = 7, b = 0.1): S = (0.3139, 0.4424, 0), S_T = (0.5576, 0.4424, 0.2437)
    s = sobol_indices(ishigami, lambda m, seed: np.random.default_rng(seed).uniform(
        -math.pi, math.pi, (m, 3)), ("x1", "x2", "x3"), n=30000, seed=3)
    assert s.first_order == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert s.total == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)
    for k in range(3):  # the bootstrap intervals hold the exact values
        assert s.total_ci[k, 0] - 0.01 <= [0.5576, 0.4424, 0.2437][k] <= s.total_ci[k, 1] + 0.01


def test_sobol_indices_of_a_linear_model_with_a_large_mean():
    # Y = 1000 + 3 X1 + X2 with X ~ N(0, 1): S1 = (0.9, 0.1), no interactions
    s = sobol_indices(lambda x: 1000.0 + 3 * x[:, 0] + x[:, 1],
                      lambda m, seed: np.random.default_rng(seed).normal(size=(m, 2)),
                      ("x1", "x2"), n=8192)
    assert s.first_order == pytest.approx([0.9, 0.1], abs=0.02)
    assert s.total == pytest.approx([0.9, 0.1], abs=0.02)
    assert np.all(s.first_order_ci[:, 1] - s.first_order_ci[:, 0] < 0.1)  # centred: ~0.06


def test_perturbed_cell_keeps_the_solid_ratio_and_follows_bruggeman():
    from physics.cell import electrolyte_conductivity_s_m

    base = base_cell()
    c0 = base.cathode
    p = perturbed_cell(base, {"thickness_um": 80.0, "porosity": 0.35, "bruggeman_alpha": 2.0})
    c = p.cathode
    assert c.thickness_m == pytest.approx(80e-6)
    solid0 = c0.active_volume_fraction + c0.cbd_volume_fraction
    assert c.active_volume_fraction + c.cbd_volume_fraction == pytest.approx(
        solid0 * (1 - 0.35) / (1 - c0.porosity))
    assert c.active_volume_fraction / c.cbd_volume_fraction == pytest.approx(
        c0.active_volume_fraction / c0.cbd_volume_fraction)
    assert c.tortuosity_factor == pytest.approx(c0.tortuosity_factor * (0.35 / c0.porosity) ** -1)
    out = cell_outputs(p)
    kappa = electrolyte_conductivity_s_m(p)
    assert out["r_ion_ohm_cm2"] == pytest.approx(c.tortuosity_factor * 80e-6 / (kappa * 0.35)
                                                 * 1e4, rel=1e-12)
    assert out["capacity_1C_mah_g"] > 0 and out["dcir_10s_ohm_cm2"] > 0


@pytest.mark.parametrize("spec,message", [
    ("thickness_um", "expected NAME=KIND:A,B"),
    ("thickness=normal:70,2", "unknown variable 'thickness'"),
    ("porosity=beta:1,2", "unknown distribution 'beta'"),
    ("porosity=normal:0.3,-0.1", "the spread must be > 0"),
    ("porosity=normal:0.9,0.05", "leaves the allowed range [0.05, 0.95]"),
    ("thickness_um=uniform:80,70", "uniform needs low < high"),
])
def test_bad_distributions_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Distribution.parse(spec)


def test_sampling_follows_the_declared_distributions():
    d = [Distribution.parse("thickness_um=normal:70,1.4"),
         Distribution.parse("porosity=uniform:0.28,0.32"),
         Distribution.parse("electronic_conductivity_s_m=lognormal:0.05,0.3")]
    x = sample_inputs(d, 40000, seed=2)
    assert x[:, 0].mean() == pytest.approx(70, abs=0.03) and x[:, 0].std() == pytest.approx(
        1.4, rel=0.02)
    assert x[:, 1].min() >= 0.28 and x[:, 1].max() <= 0.32
    assert np.median(x[:, 2]) == pytest.approx(0.05, rel=0.01)
    assert np.log(x[:, 2]).std() == pytest.approx(0.3, rel=0.02)


def test_job_full_model_surrogate_agreement_resume_and_mlflow(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    dists = [Distribution.parse("thickness_um=normal:60,1.5"),
             Distribution.parse("porosity=normal:0.35,0.01")]
    kwargs = dict(n_full=32, n_train=20, n_surrogate=4000, n_sobol=512, workers=2, quiet=True)
    first = run_variability(tmp_path / "out", dists, **kwargs)
    cached = sorted((tmp_path / "out" / "cell_evaluations").iterdir())
    assert len(cached) == 4 + 3  # chunks of 8 draws: 32 full-model, 20 design
    for name, o in first["outputs"].items():
        a = o["agreement_on_shared_sample"]
        assert a["n"] == 32 and a["rmse_over_sd"] < 0.2, (name, a)
        assert abs(o["surrogate"]["p50"] - o["full_model"]["p50"]) < 0.5 * o["full_model"]["sd"]
    # thicker -> more capacity per area, less per gram; porosity governs R_ion
    cap = {r["input"]: r for r in first["outputs"]["areal_capacity_1C_mah_cm2"]["sobol"]}
    assert cap["thickness_um"]["S1"] > cap["porosity"]["S1"]
    rion = {r["input"]: r for r in first["outputs"]["r_ion_ohm_cm2"]["sobol"]}
    assert rion["porosity"]["S1"] > rion["thickness_um"]["S1"]
    for name in ("report.md", "distributions.png", "sensitivity.png", "surrogate_vs_full.png",
                 "percentiles.csv", "sobol_indices.csv", "full_model_samples.csv"):
        assert (tmp_path / "out" / name).is_file()
    # a rerun reads every cell evaluation back and gives the same full-model numbers
    for path in cached:
        path.touch()
    second = run_variability(tmp_path / "out", dists, **kwargs)
    assert sorted((tmp_path / "out" / "cell_evaluations").iterdir()) == cached
    assert second["outputs"]["capacity_1C_mah_g"]["full_model"] == \
        first["outputs"]["capacity_1C_mah_g"]["full_model"]
    run = MlflowClient(uri).get_run(second["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["job"] == "variability"
    assert "capacity_1C_mah_g.full_model.p50" in run.data.metrics


def test_cli_rejects_bad_counts(tmp_path, capsys):
    assert main(["variability", "--n-full", "3", "--no-mlflow", "--out", str(tmp_path)]) == 2
    assert "n_full must lie in [10, 100000]" in capsys.readouterr().err


def test_failed_job_marks_the_mlflow_run_failed(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)

    def boom(*args, **kwargs):
        raise RuntimeError("cell model crashed")

    monkeypatch.setattr("experiments.variability.evaluate", boom)
    with pytest.raises(RuntimeError, match="cell model crashed"):
        run_variability(tmp_path / "out", n_full=10, n_train=8, n_surrogate=1000, n_sobol=64,
                        quiet=True)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("variability")
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert json.loads(json.dumps(runs[0].data.params))["n_full"] == "10"
