"""The electronic-limit calibration (experiments/calibrate_electronic.py, Step 10 item 5):
its table reader, the capacity map, and the recovery of a known contact conductance from
capacities that the full forward model produced (conductivity solve on a real dried film +
P2D), resumed without redoing a solve."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate_electronic import (
    CapacityMap,
    calibrate_electronic,
    capacity_curve,
    conductivity_run,
    read_capacity_table,
    state_cathode,
)

FILM = str(Path(__file__).parent / "data" / "dried_ci_seed0.npz")
HEADER = "label,porosity,thickness_um,capacity_mah_g,capacity_sd_mah_g"


@pytest.mark.parametrize(("text", "message"), [
    ("label,porosity,capacity_mah_g\na,0.3,60\n", "missing column(s) thickness_um"),
    (HEADER + "\na,1.2,150,60,5\n", "porosity must lie in (0, 1)"),
    (HEADER + "\na,0.3,150,60,0\n", "capacity_sd_mah_g must be > 0"),
    (HEADER + "\na,0.3,0.1,60,5\n", "thickness_um must lie in [1, 5000]"),
    (HEADER + "\na,0.3,150,x,5\n", "capacity_mah_g"),
    (HEADER + ",c_rate\na,0.3,150,60,5,0\n", "c_rate must lie in [0.001, 100]"),
    (HEADER + "\n", "no data rows"),
])
def test_bad_capacity_tables_name_the_field(tmp_path, text, message):
    path = tmp_path / "capacities.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        read_capacity_table(path)


def test_the_capacity_map_is_monotone_and_flat_outside_its_grid():
    x = np.linspace(-5, 0, 11)
    noisy = 190 / (1 + np.exp(-3 * (x + 2.5))) + np.array([0, 0, 0, 0, 0, 0, 0, 0, 0.3, -0.3, 0])
    cmap = CapacityMap(x, noisy)
    fine = np.linspace(-6, 1, 300)
    c, slope = cmap(fine)
    assert np.all(np.diff(c) >= -1e-12) and np.all(slope >= -1e-12)
    assert c[0] == pytest.approx(noisy[0]) and c[-1] == pytest.approx(noisy.max())
    assert slope[0] == slope[-1] == 0.0
    mid, d = cmap(np.array([-2.5]))
    assert mid[0] == pytest.approx(95.0, abs=1.0)
    # PCHIP's slope at a node: the harmonic mean of its two secants (equal here, by symmetry)
    assert d[0] == pytest.approx(noisy[6] - noisy[4], rel=1e-9)


@pytest.mark.parametrize("conduction, name, truth, prior, sigma_range, thickness_um", [
    ("voxel", "contact_am_cbd_s_m2", 1e3, "10:1e5", (1e-4, 1e-3), (40.0, 60.0))])
def test_a_known_parameter_is_recovered_and_a_rerun_redoes_no_solve(
        tmp_path, conduction, name, truth, prior, sigma_range, thickness_um):
    """Synthetic capacities of one real dried `ci` film at two electrode thicknesses, made by
    the full forward model with 3 mAh/g noise-free: the calibration's 95 % interval holds the
    truth and is narrower than the prior, and the full model at the highest-posterior draw
    reproduces the data within 2 sd.  Voxel conduction: G_AM-CBD = 1e3 S/m² (the CBD does
    not span the 1 µm image: the AM–CBD contacts sit on the conduction path).  The contact
    network's calibration is the lithiation test below (same conduction path)."""
    grid = np.linspace(-4.5, -2.0, 9)
    run = conductivity_run({"structure": FILM, "voxel_um": 1.0, "fixed": {},
                            "conduction": conduction, "theta": {name: truth}})
    assert run["status"] == "ok"
    sigma = run["sigma_eff_s_m"]
    assert sigma_range[0] < sigma < sigma_range[1]
    capacities = []
    for t in thickness_um:
        cathode, _ = state_cathode(FILM, 1.0, t * 1e-6)
        capacities.append(float(capacity_curve(cathode, 1.0, np.array([math.log10(sigma)]))[0]))
    assert capacities[0] > capacities[1] + 20  # the thicker electrode is more limited
    table = tmp_path / "capacities.csv"
    table.write_text(HEADER + "\n" + "".join(
        f"L{t:g},0.45,{t},{c:.3f},3\n" for t, c in zip(thickness_um, capacities, strict=True)))
    kwargs = {"structures": [FILM, FILM], "parameters": f"{name}={prior}",
              "conduction": conduction, "n_design": 8, "mcmc_steps": 500, "sigma_grid_log10": grid,
              "experiment": None, "quiet": True}
    result = calibrate_electronic(table, tmp_path / "out", **kwargs)
    g = result["parameters"][name]
    assert g["ci95_lower"] < truth < g["ci95_upper"]
    assert math.log10(g["ci95_upper"] / g["ci95_lower"]) < 2.0  # prior: 3-4 decades
    for row, c in zip(result["states"], capacities, strict=True):
        assert abs(row["capacity_mah_g"] - c) < 6.0
    assert result["design_runs"] == 8  # one solve per design point: the states share the film
    out = tmp_path / "out"
    assert {"report.md", "summary.json", "posterior.png", "posterior_predictive.png",
            "design.csv"} <= {p.name for p in out.iterdir()}
    solves = sorted(p.name for p in (out / "conductivity_runs").iterdir())
    cpu = {p: json.loads((out / "conductivity_runs" / p).read_text())["cpu_s"] for p in solves}
    again = calibrate_electronic(table, out, **(kwargs | {"mcmc_steps": 200}))
    after = {p.name for p in (out / "conductivity_runs").iterdir()}
    assert set(solves) <= after and len(after - set(solves)) <= 1  # at most a new MAP check
    assert all(json.loads((out / "conductivity_runs" / p).read_text())["cpu_s"] == cpu[p]
               for p in solves)  # read back, not redone
    assert again["parameters"][name]["ci95_lower"] < truth


def test_cli_needs_one_structure_per_row(tmp_path, capsys):
    from experiments.cli import main

    table = tmp_path / "capacities.csv"
    table.write_text(HEADER + "\na,0.3,150,60,5\nb,0.28,140,80,5\n")
    assert main(["calibrate", "--target", "electronic", "--data", str(table), "--structure",
                 FILM, "--out", str(tmp_path / "o"), "--no-mlflow"]) != 0
    assert "one structure per row" in capsys.readouterr().err
    assert main(["calibrate", "--target", "electronic", "--data", str(table), "--structure",
                 FILM, "--structure", FILM, "--parameters", "contact_am_cbd_s_m2,sigma_cbd",
                 "--out", str(tmp_path / "o"), "--no-mlflow"]) != 0
    assert "unknown parameter 'sigma_cbd'" in capsys.readouterr().err


def test_with_a_lithiation_dependent_am_the_laws_level_is_recovered(tmp_path):
    """--am-conductivity lithiation: each design run tabulates the film's network σ_eff at
    the NMC111 law's σ_AM(θ) and discharges its state's P2D with it.  Synthetic capacities
    of the dried `ci` film at 100 and 150 µm from that forward model at the law's level
    σ_lithiated = 1e-5 S/m (Amin & Chiang's): the 95 % interval holds it and is at most half
    the prior's 4 decades; the full model at the highest-posterior draw reproduces the data;
    a rerun redoes no run."""
    fixed = {"sigma_cbd_s_m": 0.3}
    constant = conductivity_run({"structure": FILM, "voxel_um": 1.0, "fixed": {},
                                 "conduction": "network", "theta": fixed})
    assert constant["status"] == "ok" and 1e-3 < constant["sigma_eff_s_m"] < 1e-2
    capacities = []
    for t in (100.0, 150.0):
        run = conductivity_run({"structure": FILM, "voxel_um": 1.0, "fixed": fixed,
                                "conduction": "network",
                                "theta": {"sigma_am_lithiated_s_m": 1e-5},
                                "am_conductivity": "lithiation", "thickness_m": t * 1e-6,
                                "c_rate": 1.0, "state": 0})
        assert run["status"] == "ok"
        table = np.array(run["sigma_table"])
        assert np.all(np.diff(table[:, 1]) <= 0)  # σ_eff falls along the discharge
        assert table[0, 1] > 10 * table[-1, 1]
        capacities.append(run["capacity_mah_g"])
    assert capacities[0] > capacities[1] + 20
    path = tmp_path / "capacities.csv"
    path.write_text(HEADER + "\n" + "".join(
        f"L{t:g},0.45,{t},{c:.3f},3\n" for t, c in zip((100, 150), capacities, strict=True)))
    kwargs = {"structures": [FILM, FILM], "parameters": "sigma_am_lithiated_s_m",
              "fixed": fixed, "conduction": "network", "am_conductivity": "lithiation",
              "n_design": 6, "refine": 1, "mcmc_steps": 300, "experiment": None,
              "quiet": True}
    result = calibrate_electronic(path, tmp_path / "out", **kwargs)
    s = result["parameters"]["sigma_am_lithiated_s_m"]
    assert s["ci95_lower"] < 1e-5 < s["ci95_upper"]
    assert math.log10(s["ci95_upper"] / s["ci95_lower"]) < 2.0
    for row, c in zip(result["states"], capacities, strict=True):
        assert abs(row["capacity_mah_g"] - c) < 6.0
    assert result["design_runs"] == 12  # each design point discharges both states
    # one round: the highest-posterior draw and the least certain draw, both run
    assert [r["point"] for r in result["refinement_rounds"]] == ["highest-posterior",
                                                                 "least certain"]
    assert result["solves"] == 12 + 2 * 2
    runs = tmp_path / "out" / "conductivity_runs"
    before = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    calibrate_electronic(path, tmp_path / "out", **(kwargs | {"mcmc_steps": 100}))
    after = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    assert all(after[name] == t for name, t in before.items())
    assert len(set(after) - set(before)) <= 2  # at most the new MAP check
    assert json.loads((tmp_path / "out" / "exploration_points.json").read_text())[0][
        "sigma_am_lithiated_s_m"] == result["refinement_rounds"][1]["map"][
        "sigma_am_lithiated_s_m"]  # recorded, reused on the rerun
    with pytest.raises(ValueError, match="sigma_am_s_m belongs to --am-conductivity constant"):
        calibrate_electronic(path, tmp_path / "o2", **(kwargs | {"parameters": "sigma_am_s_m"}))
