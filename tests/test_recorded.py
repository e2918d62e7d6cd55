"""Recorded runs shipped with the package (surrogates/recorded.py) and the script that collects
them from a sweep (benchmarks/recorded_runs.py)."""

from __future__ import annotations

import importlib.util
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.batch import make_point
from experiments.tracking import Tracker
from physics.material_sets import load_material_set
from surrogates.dataset import Dataset
from surrogates.recorded import recorded_provenance, recorded_runs, recorded_tiers


def _script():
    """benchmarks/recorded_runs.py (a script, not a package module)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "recorded_runs.py"
    spec = importlib.util.spec_from_file_location("recorded_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _script()


def _log(tracker: Tracker, inputs: dict, fidelity: str = "ci", seed: int = 0) -> None:
    point = make_point(inputs, fidelity, seed, [1.0], materials=load_material_set("nmc111"))
    tracker.log(point, {"status": "ok", "started": time.time() - 1, "ended": time.time(),
                        "metrics": {"porosity": 0.3 + 1e-3 * inputs["pressure_mpa"]}})


def test_the_design_is_sobol_on_log_pressure_and_log_speed_inside_its_box():
    points = script.design(16, 2)
    assert points == script.design(16, 2) and points != script.design(16, 3)
    for name, lo, hi, log in script.DESIGN_BOX:
        v = np.array([p[name] for p in points])
        assert v.min() >= lo and v.max() <= hi
        # a (0, 1) Sobol' net of 16 points puts one point in each sixteenth of every axis
        u = np.log(v / lo) / math.log(hi / lo) if log else (v - lo) / (hi - lo)
        assert sorted(np.floor(16 * u).astype(int)) == list(range(16)), name


def test_collect_keeps_the_design_order_and_refuses_gaps_and_mixed_runs(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    points = script.design(3, 2)
    tracker = Tracker("sweep", uri)
    for p in reversed(points):
        _log(tracker, p)
    rows = script.collect("sweep", "ci", points)
    assert [r["pressure_mpa"] for r in rows] == [p["pressure_mpa"] for p in points]
    assert {r["fidelity"] for r in rows} == {"ci"} and rows[0]["materials"].startswith("nmc111")
    assert rows[1]["porosity"] == pytest.approx(0.3 + 1e-3 * points[1]["pressure_mpa"])
    with pytest.raises(ValueError, match=r"design point 3 .* has no finished run"):
        script.collect("sweep", "ci", [*points, script.design(4, 2)[3]])
    _log(tracker, points[0], fidelity="fast")
    with pytest.raises(ValueError, match=r"fidelity \['fast'\]"):
        script.collect("sweep", "ci", points)
    # replicates: other seeds at design points follow the design rows; the design seed is
    # required at every point
    seeds = Tracker("seeds", uri)
    _log(seeds, points[1], seed=2)
    _log(seeds, points[0], seed=0)
    _log(seeds, points[1], seed=0)
    _log(seeds, points[0], seed=1)
    rows = script.collect("seeds", "ci", points[:2])
    assert [(r["pressure_mpa"], r["seed"]) for r in rows] == [
        (points[0]["pressure_mpa"], 0), (points[1]["pressure_mpa"], 0),
        (points[0]["pressure_mpa"], 1), (points[1]["pressure_mpa"], 2)]
    with pytest.raises(ValueError, match=r"design point 0 .* no finished run at seed 3"):
        script.collect("seeds", "ci", points[:2], design_seed=3)


def test_the_shipped_runs_are_the_design_at_one_seed_and_material_set():
    """Seed 0 at every design point in design order, then replicates (other seeds at design
    points), one material set."""
    assert "ci" in recorded_tiers()
    for tier in recorded_tiers():
        frame = recorded_runs(tier)
        prov = recorded_provenance(tier)
        design = pd.DataFrame(script.design(prov["points"], 2))
        assert len(frame) == prov["points"] + prov.get("replicates", 0)
        assert prov["points"] >= 40
        head, replicates = frame.iloc[:prov["points"]], frame.iloc[prov["points"]:]
        for name in design:
            assert np.allclose(head[name], design[name], rtol=1e-12), (tier, name)
        assert set(head["seed"]) == {0} and (replicates["seed"] > 0).all()
        for _, rep in replicates.iterrows():  # at a design point
            assert np.isclose(design, rep[list(design)].astype(float), rtol=1e-12,
                              atol=0).all(1).any(), (tier, rep["point_key"])
        assert set(frame["fidelity"]) == {tier}
        assert set(frame["materials"]) == {
            f"nmc111 ({load_material_set('nmc111').digest()})"}
        assert frame[["porosity", "tau_z", "capacity_1C_mah_g"]].notna().all().all()
        assert prov["fidelity"] == tier and prov["git_commit"] != "unknown"
    with pytest.raises(ValueError, match="no shipped runs at fidelity 'paper'; shipped: ci, fast"):
        recorded_runs("paper")


def test_the_demo_trains_on_the_recorded_runs_of_its_material_set_only(monkeypatch):
    """The surrogate tier's recorded runs (with the demo's own at that tier); the demo's own
    tier where that tier ships none; the demo's runs alone for another material set."""
    import experiments.demo as demo

    tier = demo.SURROGATE_TIER if demo.SURROGATE_TIER in recorded_tiers() else "ci"
    own = recorded_runs("ci").iloc[:3].copy()
    def keys(frame):
        return [(r.point_key, r.seed, r.fidelity) for r in frame.itertuples()]

    runs, used = demo._training_runs(own, "ci")
    assert used == tier
    assert keys(runs) == (keys(own) if tier == "ci" else []) + keys(recorded_runs(tier))
    monkeypatch.setattr(demo, "SURROGATE_TIER", "paper")  # none shipped: the demo's tier
    runs, used = demo._training_runs(own, "ci")
    assert used == "ci" and keys(runs) == keys(own) + keys(recorded_runs("ci"))
    own["materials"] = "nmc111 (another digest)"
    runs, used = demo._training_runs(own, "ci")
    assert runs is own and used == "ci"


def test_etwin_train_on_the_recorded_ci_runs(tmp_path, capsys):
    """The shipped ``ci`` runs train a surrogate from the command line.  Their 1C capacity
    falls with the coating thickness (the electrolyte runs short in a thick cathode), a trend
    larger than the runs' scatter, so the cross-validated R² is well above zero."""
    from experiments.cli import main

    main(["train", "--recorded", "ci", "--outputs", "capacity_1C_mah_g", "--folds", "3",
          "--no-track", "--quiet", "--json", "--out", str(tmp_path)])
    result = json.loads(capsys.readouterr().out)
    assert result["n_rows"] == 48 and "coating_thickness_um" in result["inputs"]
    assert result["report"]["capacity_1C_mah_g"]["gp"]["r2"] > 0.25
    assert main(["train", "--recorded", "ci", "--data", "x.csv", "--out", str(tmp_path)]) == 2
    assert "--recorded and --data: give one source" in capsys.readouterr().err
    assert main(["train", "--recorded", "paper", "--out", str(tmp_path)]) == 2
    assert "no shipped runs at fidelity 'paper'" in capsys.readouterr().err


def test_the_demos_surrogate_data_carry_a_trend_for_every_output():
    """The runs the demo trains on (the recorded tier's, with the demo's own at ``ci``) give
    every surrogate output a held-out R² above 0.5 and a 90 % coverage of at least 0.7
    (5-fold, ``log_pressure``), where the ``ci`` runs alone gave porosity and tau_z -0.2."""
    import experiments.demo as demo
    from surrogates.validation import cross_validate

    if demo.SURROGATE_TIER not in recorded_tiers():
        pytest.skip(f"no recorded runs at {demo.SURROGATE_TIER}")
    runs, tier = demo._training_runs(recorded_runs("ci").iloc[:3].copy(), "ci")
    assert tier == demo.SURROGATE_TIER
    outputs = ("porosity", "tau_z", "capacity_1C_mah_g")
    data = Dataset.from_frame(runs, outputs)
    for output in outputs:
        gp = cross_validate(data, output, ("log_pressure",), 5, 0, baseline=False)["scores"]["gp"]
        assert gp["r2"] > 0.5 and gp["coverage90"] >= 0.7, (output, gp)
