"""Porosity-targeting feed-forward control (experiments/target_porosity.py): the job on a
stand-in compaction curve with closed-form answers (setpoint, roll gap, the lines' spreads),
batch files and curve folders, the GP surrogate inverted against the same law, the inverse
prediction on a straight line, and one real run of the command on the shipped DEM curve."""

import csv
import json
import math

import numpy as np
import pytest

from experiments.cli import main
from experiments.line_data import IncomingDistribution, read_curve
from experiments.target_porosity import run_target_porosity
from physics.compaction import CompactionLaw
from surrogates.inverse import inverse_prediction

#: the stand-in: Meyer's exponential law, ε0 0.42, ε_min 0.26, K0 2 MPa
TRUTH = CompactionLaw(0.42, 0.26, 2.0, 0.0)
PRESSURES = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 40.0]


def write_curve(path, law=TRUTH, springback=None, thickness_um=100.0):
    """A stand-in curve CSV: exact points of ``law`` (pressure 0 = the dried film)."""
    rows = [{"pressure_mpa": 0.0, "porosity": law.porosity_initial,
             "thickness_um": thickness_um}]
    for p in PRESSURES:
        row = {"pressure_mpa": p, "porosity": law.porosity(p),
               "thickness_um": law.thickness_um(p, thickness_um)}
        if springback is not None:
            row["springback_percent"] = springback(p)
        rows.append(row)
    if springback is not None:
        rows[0]["springback_percent"] = 0.0
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[1]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_stand_in_setpoint_gap_and_line_spreads_match_closed_forms(tmp_path):
    """Exact exponential points: the fit returns Meyer's law (m negligible), so the
    setpoint is p* = K0 ln((ε0 - ε_min) / (ε* - ε_min)) = 2 ln 4, the gap h0 (1 - ε0) /
    (1 - ε*) / 1.02, and with no scatter about the law the porosity is linear in ε0:
    the fixed line's sd is r σ(ε0), r = (ε* - ε_min) / (ε0 - ε_min) = 1/4, the feed-forward
    on an exact gauge hits the target every time, and a gauge error σ_m leaves r σ_m."""
    curve = write_curve(tmp_path / "curve.csv")
    dists = [IncomingDistribution.parse("dried_porosity=normal:0.42,0.01")]
    common = dict(curves=[curve], springback_percent=2.0, dists=dists, n_draws=20000,
                  solids_sd=0.0, experiment=None, quiet=True)
    r = run_target_porosity(tmp_path / "exact", 0.30, porosity_sd=0.0, **common)
    assert "exponential" in r["law"]["note"] and r["law"]["modulus_slope"] == 0.0
    assert r["law"]["residual_sd"] < 1e-6
    n = r["nominal"]
    assert n["pressure_mpa"] == pytest.approx(2.0 * math.log(4.0), rel=1e-5)
    assert n["pressure_lo_mpa"] <= n["pressure_mpa"] <= n["pressure_hi_mpa"]
    assert n["pressure_hi_mpa"] / n["pressure_lo_mpa"] < 1.01  # exact points: a tight fit
    assert n["calendered_thickness_um"] == pytest.approx(100.0 * 0.58 / 0.70)
    assert n["roll_gap_um"] == pytest.approx(100.0 * 0.58 / 0.70 / 1.02)
    assert r["reachable_porosity"] == pytest.approx([TRUTH.porosity(40.0), 0.42])
    lines = r["monte_carlo"]["lines"]
    assert lines["fixed_pressure"]["sd"] == pytest.approx(0.25 * 0.01, rel=0.03)
    assert lines["feed_forward_porosity"]["sd"] < 1e-6
    assert lines["feed_forward_porosity"]["within_tolerance"] == 1.0
    # the fixed line: |ε - ε*| <= 0.005 <=> |ε0 - 0.42| <= 0.02 = 2 sd: 95.4 % of the films
    assert lines["fixed_pressure"]["within_tolerance"] == pytest.approx(0.9545, abs=0.005)
    gauge = run_target_porosity(tmp_path / "gauge", 0.30, porosity_sd=0.004, **common)
    ff = gauge["monte_carlo"]["lines"]["feed_forward_porosity"]
    assert ff["sd"] == pytest.approx(0.25 * 0.004, rel=0.05)
    assert ff["sd_first_order"] == pytest.approx(0.25 * 0.004, rel=1e-6)
    for name in ("report.md", "setpoints.csv", "line_spread.csv", "monte_carlo_samples.csv",
                 "summary.json", "compaction_response.png", "porosity_spread.png"):
        assert (tmp_path / "gauge" / name).is_file(), name


def test_batches_and_a_calender_folder_with_spring_back(tmp_path):
    """A seed ensemble of two etwin calender folders (films dried to 0.41 and 0.43, the
    spring-back column 1 % + 1 % per decade of pressure) and a batch file: each row's
    pressure is the law's inverse for its own dried porosity (measured, or from its solid
    content through --solids-slope), its gap follows the spring-back at that pressure."""
    def springback(p):
        return 1.0 + math.log10(p)

    folders = []
    for k, e0 in enumerate((0.41, 0.43)):
        folder = tmp_path / f"calender_s{k}"
        folder.mkdir()
        write_curve(folder / "full.csv", TRUTH.with_initial(e0), springback)
        rows = list(csv.DictReader(open(folder / "full.csv")))
        with open(folder / "curve.csv", "w", newline="") as fh:  # as etwin calender writes
            writer = csv.DictWriter(fh, fieldnames=["pressure_target_mpa", "pressure_max_mpa",
                                                    "porosity", "thickness_um",
                                                    "springback_percent"])
            writer.writeheader()
            for row in rows[1:]:
                writer.writerow({"pressure_target_mpa": row["pressure_mpa"],
                                 "pressure_max_mpa": row["pressure_mpa"],
                                 "porosity": row["porosity"], "thickness_um": row["thickness_um"],
                                 "springback_percent": row["springback_percent"]})
        (folder / "metrics.json").write_text(json.dumps({
            "porosity_uncalendered": e0, "thickness_uncalendered_um": 100.0}))
        folders.append(folder)
    curve = read_curve(folders[0])
    assert curve.porosity_initial == 0.41 and curve.thickness_initial_um == 100.0
    assert curve.springback_percent is not None
    batches = tmp_path / "batches.csv"
    batches.write_text("batch,dried_porosity,dried_thickness_um,solid_content\n"
                       "B1,0.40,90,\nB2,0.44,,\nB3,,110,0.71\n")
    r = run_target_porosity(tmp_path / "out", 0.31, curves=folders, batches=batches,
                            solids_slope=-0.5, n_draws=500, experiment=None, quiet=True)
    assert r["law"]["porosity_initial"] == pytest.approx(0.42)  # the films' mean
    assert r["law"]["residual_sd"] < 1e-6  # each film fitted with its own ε0
    rows = {b["label"]: b for b in r["batches"]}
    e0 = {"B1": 0.40, "B2": 0.44, "B3": 0.42 - 0.5 * (0.71 - 0.69)}
    h0 = {"B1": 90.0, "B2": r["nominal"]["dried_thickness_um"], "B3": 110.0}
    assert h0["B2"] == pytest.approx(100.0)
    for label, row in rows.items():
        p = TRUTH.with_initial(e0[label]).pressure_mpa(0.31)
        assert row["dried_porosity"] == pytest.approx(e0[label])
        assert row["pressure_mpa"] == pytest.approx(p, rel=1e-4)
        h1 = h0[label] * (1 - e0[label]) / (1 - 0.31)
        assert row["roll_gap_um"] == pytest.approx(h1 / (1 + springback(p) / 100), rel=1e-4)
        assert row["roll_gap_lo_um"] <= row["roll_gap_um"] <= row["roll_gap_hi_um"]
    assert rows["B3"]["dried_porosity_source"] == "from solid content"
    assert rows["B2"]["pressure_mpa"] > rows["B1"]["pressure_mpa"]  # looser film, more force
    table = list(csv.DictReader(open(tmp_path / "out" / "setpoints.csv")))
    assert [t["label"] for t in table] == ["nominal", "B1", "B2", "B3"]
    assert {"pressure_mpa", "pressure_lo_mpa", "pressure_hi_mpa", "roll_gap_um"} <= set(table[0])
    assert (tmp_path / "out" / "batch_setpoints.png").is_file()


def test_inverse_prediction_of_a_straight_line():
    """μ = 1 - x/10 with σ = 0.01: the target 0.5 is reached at x = 5, and the 90 % interval
    is where |μ - 0.5| <= 1.645 σ, x = 5 ± 0.1645 (to the grid's 0.001 spacing)."""
    x = np.linspace(0.0, 10.0, 10001)
    inv = inverse_prediction(x, 1 - x / 10, np.full_like(x, 0.01), 0.5, 0.9, log_axis=False)
    assert inv.value == pytest.approx(5.0, abs=1e-9)
    assert inv.low == pytest.approx(5 - 0.164485, abs=1e-6)
    assert inv.high == pytest.approx(5 + 0.164485, abs=1e-6)
    assert inv.note == ""
    none = inverse_prediction(x, 1 - x / 100, np.full_like(x, 0.01), 0.5, log_axis=False)
    assert math.isnan(none.value) and "does not reach" in none.note


def test_surrogate_inverted_beside_the_law(tmp_path):
    """A GP of porosity over (pressure, solid content) trained on the stand-in law whose ε0
    falls 0.5 per unit solid content: inverted for the nominal film and a batch it gives the
    law's pressure within 5 %, inside its interval; the report compares both."""
    from surrogates.gp import GPSurrogate, SurrogateSet

    rng = np.random.default_rng(0)
    p = np.exp(rng.uniform(np.log(0.2), np.log(40.0), 48))
    phi = rng.uniform(0.66, 0.72, 48)
    y = [TRUTH.with_initial(0.42 - 0.5 * (f - 0.69)).porosity(q)
         for q, f in zip(p, phi, strict=True)]
    gp = GPSurrogate("porosity", ("pressure_mpa", "solid_content"), ("log_pressure",))
    folder = tmp_path / "train"
    folder.mkdir()
    SurrogateSet({"porosity": gp.fit(np.column_stack([p, phi]), np.array(y))}).save(
        folder / "surrogates.pt")
    batches = tmp_path / "batches.csv"
    batches.write_text("batch,solid_content\nS1,0.70\n")
    r = run_target_porosity(tmp_path / "out", 0.30, curves=[write_curve(tmp_path / "c.csv")],
                            batches=batches, solids_slope=-0.5, surrogate=folder,
                            n_draws=500, experiment=None, quiet=True)
    s = r["surrogate"]
    for law_row, sur_row in ((r["nominal"], s["nominal"]), (r["batches"][0], s["batches"][0])):
        assert sur_row["pressure_mpa"] == pytest.approx(law_row["pressure_mpa"], rel=0.05)
        assert sur_row["pressure_lo_mpa"] < law_row["pressure_mpa"] < sur_row["pressure_hi_mpa"]
    assert "Surrogate against the closed-form law" in (tmp_path / "out" / "report.md").read_text()


def test_real_short_run_on_the_shipped_dem_curve(tmp_path, monkeypatch, capsys):
    """The command as a user runs it, on the shipped DEM curves (the calibrated law on two
    fast films) and a coupon-scale line scatter of 0.2 points, with its MLflow run: the
    setpoint reproduces the target through the fitted law between the DEM points that
    bracket it, the feed-forward line's spread is smaller than the fixed line's, and the
    report says so."""
    monkeypatch.chdir(tmp_path)
    # explicit store: another test in this process may have left the variable set
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["target-porosity", "--target-porosity", "0.30", "--n-draws", "4000",
                 "--scatter-sd", "0.002", "--out", "tp", "--json", "--quiet"]) == 0
    r = json.loads(capsys.readouterr().out)
    law = CompactionLaw(*(r["law"][k] for k in ("porosity_initial", "porosity_min",
                                                 "modulus_mpa", "modulus_slope")))
    n = r["nominal"]
    assert law.porosity(n["pressure_mpa"]) == pytest.approx(0.30, abs=1e-9)
    assert 12.0 < n["pressure_mpa"] < 25.0  # both films pass 30 % between 12 and 25 MPa
    lines = r["monte_carlo"]["lines"]
    fixed, ff = lines["fixed_pressure"], lines["feed_forward_porosity"]
    assert ff["sd"] < 0.85 * fixed["sd"]
    assert ff["within_tolerance"] > fixed["within_tolerance"]
    for line in lines.values():  # the Monte Carlo agrees with its first-order estimate
        assert line["sd"] == pytest.approx(line["sd_first_order"], rel=0.1)
    assert r["mlflow_run_id"] and (tmp_path / "mlflow.db").is_file()
    report = (tmp_path / "tp" / "report.md").read_text()
    assert "fixed-pressure line" in report and "porosity_spread.png" in report


def test_the_default_curves_are_the_calibrated_law_on_the_calibration_films():
    """The shipped default curves were calendered with the six-parameter fast law (named
    nmc111-calibrated then, the preset nmc111-fast6 now), and at the calibration's four
    pressures they hold exactly the porosities of the versioned calibration runs of the same
    films at that law (benchmarks/data/dem_calibration6_fast.json): one loading path per
    film, the same on one thread."""
    from pathlib import Path

    from experiments.calibrate_dem import dem_conditions
    from experiments.line_data import DEFAULT_CURVES
    from physics.calender import BinderContact
    from physics.calender.presets import load_preset

    conditions = load_preset("nmc111-fast6").process_conditions()
    rows = json.loads((Path(__file__).parents[1] / "benchmarks" / "data"
                       / "dem_calibration6_fast.json").read_text())["runs"]
    for path in DEFAULT_CURVES:
        data = json.loads(path.read_text())
        calendering = data["provenance"]["calendering"]
        assert calendering["preset"] == "nmc111-calibrated"  # the name the law had then
        # a curve records the law's fields of its time; fields added since take their
        # defaults (Table 2's: e.g. no particle crushing)
        assert BinderContact(**calendering["binder_contact"]) == conditions.binder_contact
        assert calendering["protocol"] == "paper"
        film = Path(calendering["dried"]).parent.name
        (run,) = [r for r in rows if r["film"] == film and "porosity" in r
                  and dem_conditions(r["theta"]) == conditions]
        at = {r["pressure_target_mpa"]: r["porosity"] for r in data["rows"][1:]}
        assert [at[p] for p in run["pressures_mpa"]] == run["porosity"]
        curve = read_curve(path)
        assert curve.porosity_initial == data["rows"][0]["porosity"]
        assert curve.springback_percent is not None and curve.thickness_initial_um > 0


def test_a_given_line_scatter_replaces_the_curves_scatter(tmp_path):
    """``scatter_sd``: the films' scatter about the law in the Monte Carlo is the line's own,
    not the curves'; with none, the feed-forward on an exact gauge hits the target exactly,
    and with σ_res its sd is σ_res (first order: sqrt((r σ_m)² + σ_res²), σ_m = 0)."""
    curve = write_curve(tmp_path / "curve.csv")
    common = dict(curves=[curve], experiment=None, quiet=True, n_draws=20000,
                  porosity_sd=0.0)
    width = {}
    for sd in (0.0, 0.004):
        r = run_target_porosity(tmp_path / f"s{sd}", 0.30, scatter_sd=sd, **common)
        width[sd] = r["nominal"]["pressure_hi_mpa"] - r["nominal"]["pressure_lo_mpa"]
        mc = r["monte_carlo"]
        assert mc["scatter_sd"] == sd and mc["scatter_source"] == "given"
        ff = mc["lines"]["feed_forward_porosity"]
        assert ff["sd"] == pytest.approx(sd, rel=0.03, abs=1e-12)
        assert ff["sd_first_order"] == pytest.approx(sd, abs=1e-12)
    # ... and the setpoint's interval: exact points and no scatter leave no width
    assert width[0.0] < 1e-3 < width[0.004]
    with pytest.raises(ValueError, match=r"scatter_sd must lie in \[0, 0.1\], got 0.5"):
        run_target_porosity(tmp_path / "bad", 0.30, scatter_sd=0.5, **common)
