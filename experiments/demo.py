"""``etwin demo`` (``make demo``): the toolkit end to end on the embedded defaults, in about
seven and a half minutes on two cores.

1. Process window (NMC, ``ci`` fidelity): the paper recipe is dried once (CGMD), then the BO
   loop calenders it (DEM) at a Sobol start and a few proposed settings of pressure,
   temperature and line speed; each calendered structure goes through voxel transport and
   the half-cell model (capacity, impedance); GPs map the feasible window.
2. Surrogates: GP and scikit-learn models of porosity, τ_z and capacity with their
   cross-validation report, trained on the runs recorded at :data:`SURROGATE_TIER`
   (:mod:`surrogates.recorded`; with the demo's own runs, read back from MLflow, when it runs
   at that tier).  At ``ci`` the 80-AM film's porosity moves less over 1-150 MPa than its
   runs scatter, so no GP of ``ci`` runs predicts it (docs/optimization.md).
3. Calibration: the Bruggeman exponent from the simulated electrodes' ionic resistances
   (the blocking-cell impedance of every calendered structure), 2 % measurement noise.
4. Variability: coating thickness and porosity scatter and the calibrated exponent's
   posterior through the cell model (and its GP surrogate) around the best feasible run.

Everything lands in the MLflow store of the working directory and in ``<out>/``, with one
report per job and ``<out>/report.md`` linking them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

DEMO_EXPERIMENT = "demo"
#: shares of the demo's time per step, measured on 2 cores at ``ci`` (docs/notebook/
#: 2026-11-22-demo-run.md: 412 of 439 s in the process window); they turn the elapsed time
#: into the estimate of the time left that each step's header prints
STEP_SHARES = (0.94, 0.02, 0.005, 0.035)
#: the tier whose recorded runs train the demo's surrogates (the demo's own tier where none
#: are shipped there)
SURROGATE_TIER = "fast"


def run_demo(out_dir: str | Path = "etwin_demo", *, fidelity: str = "ci", initial: int = 5,
             iterations: int = 2, cache_dir: str | None = None,
             log: Callable[[str], None] = print, quiet: bool = False) -> dict:
    """Run the four steps (module docstring); returns their headline numbers."""
    from experiments.calibrate import calibrate_tortuosity
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.process_window import run_process_window, window_problem
    from experiments.report import Section, eta_text, write_report
    from experiments.tracking import runs_dataframe, tracking_uri
    from experiments.training import run_training
    from experiments.variability import Distribution, run_variability
    from physics.pipeline import ProcessInputs, simulate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings = {}

    def header(step: int, text: str) -> None:
        done = sum(STEP_SHARES[:step - 1])
        clock = eta_text(done, 1.0, time.perf_counter() - t0) if step > 1 else \
            "about 7.5 min on 2 cores at ci"
        log(f"[{step}/4] {text} ({clock})")

    window_settings = dict(porosity_band=(0.27, 0.31), tau_z_max=1.9, capacity_min=150.0,
                           fracture_max=0.1, fidelity=fidelity, initial=initial,
                           iterations=iterations, q=1, seed=0,
                           fixed={"coating_thickness_um": 80.0})
    header(1, f"process window, NMC, fidelity {fidelity}: {initial} Sobol + {iterations} BO "
              "evaluations (dry once, then calender -> transport -> cell each)")
    window = run_process_window(out / "process_window", ("nmc",), **window_settings,
                                experiment=f"{DEMO_EXPERIMENT}-window", cache_dir=cache_dir,
                                progress=not quiet, log=log)
    timings["process_window_s"] = time.perf_counter() - t0
    nmc = window["materials"]["nmc"]
    evaluations = f"{DEMO_EXPERIMENT}-window-nmc"

    header(2, "GP surrogates of porosity, tau_z and capacity from the MLflow runs")
    t = time.perf_counter()
    frame = runs_dataframe(evaluations)
    training_frame, surrogate_tier = _training_runs(frame, fidelity)
    train = run_training(training_frame, out / "surrogates",
                         outputs=("porosity", "tau_z", "capacity_1C_mah_g"),
                         folds=min(5, len(training_frame)),
                         experiment=f"{evaluations}-surrogates",
                         source=evaluations, fidelity=surrogate_tier,
                         log=None if quiet else log)
    report = {"outputs": train["report"]}
    timings["surrogates_s"] = time.perf_counter() - t

    header(3, "Bruggeman exponent from the simulated electrodes' ionic resistance")
    t = time.perf_counter()
    rows = [{"porosity": float(r["porosity"]), "thickness_um": float(r["electrode_thickness_um"]),
             "r_ion_ohm_cm2": float(r["r_ion_ohm_cm2"])} for _, r in frame.iterrows()]
    write_csv_atomic(out / "r_ion_measurements.csv", rows)
    calibration = calibrate_tortuosity(out / "r_ion_measurements.csv", out / "calibration",
                                       relative_noise=0.02,
                                       experiment=f"{DEMO_EXPERIMENT}-calibrate")
    timings["calibration_s"] = time.perf_counter() - t
    alpha = calibration["parameters"]["alpha"]

    header(4, "variability around the best run: thickness, porosity and the exponent")
    t = time.perf_counter()
    problem = window_problem("nmc", **{k: v for k, v in window_settings.items()})
    best = nmc["best"]["inputs"] if nmc["best"] else {n: float(
        frame.iloc[0][n]) for n in problem.names}
    from experiments.batch import make_point

    point = make_point(problem.inputs([best[n] for n in problem.names]), fidelity, 0, (1.0,),
                       materials=problem.material_set)
    result = simulate(ProcessInputs(**point["inputs"]), fidelity, 0, cache_dir=cache_dir,
                      materials=problem.material_set)  # every stage a cache hit
    transport_file = out / "best_transport.json"
    write_json_atomic(transport_file, result.transport)
    thickness = result.electrode_thickness_um
    dists = [Distribution("thickness_um", "normal", thickness, 0.02 * thickness),
             Distribution("porosity", "normal", result.porosity, 0.01),
             Distribution("bruggeman_alpha", "normal", alpha["mean"], max(alpha["sd"], 0.01))]
    variability = run_variability(out / "variability", dists, transport=transport_file,
                                  n_full=48, n_train=24, n_surrogate=20000, n_sobol=2048,
                                  workers=2, experiment=f"{DEMO_EXPERIMENT}-variability",
                                  quiet=quiet, materials=problem.material_set)
    timings["variability_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    cap = variability["outputs"]["capacity_1C_mah_g"]["full_model"]
    dcir = variability["outputs"]["dcir_10s_ohm_cm2"]["full_model"]
    w = nmc["pressure_window_mpa_at_nominal"]
    lines = [
        f"- Process window (NMC, {fidelity}): {nmc['feasible']} of {nmc['evaluations']} "
        "evaluations feasible; "
        + (f"at 60 °C and 0.54 m/min P(feasible) >= 0.5 from {w[0]:.3g} to {w[1]:.3g} MPa."
           if w else "no window at 60 °C and 0.54 m/min yet.")
        + " [report](process_window/report.md)",
        "- Surrogates: cross-validated R² " + ", ".join(
            f"{o} {r['gp']['r2']:.2f}" for o, r in report["outputs"].items())
        + f" from {len(training_frame)} runs at `{surrogate_tier}` ("
        + (f"{len(frame)} of this demo, " if surrogate_tier == fidelity else "")
        + f"{len(training_frame) - (len(frame) if surrogate_tier == fidelity else 0)} "
        "recorded)" + (
            "; below 0.5 a GP explains little beyond the mean: the runs' seed-to-seed "
            "scatter is as large as the trend over the design (the report's replicate "
            "noise sd; docs/optimization.md)"
            if min(r["gp"]["r2"] for r in report["outputs"].values()) < 0.5 else "")
        + " [report](surrogates/report.csv)",
        f"- Bruggeman exponent α = {alpha['mean']:.2f}, 95 % [{alpha['ci95_lower']:.2f}, "
        f"{alpha['ci95_upper']:.2f}] [report](calibration/report.md)",
        f"- Variability around the best run: 1C capacity P5-P95 {cap['p5']:.1f}-"
        f"{cap['p95']:.1f} mAh/g, 10 s DC resistance {dcir['p5']:.1f}-{dcir['p95']:.1f} Ω cm² "
        "[report](variability/report.md)",
        f"- Wall time: {timings['total_s'] / 60:.1f} min "
        f"({', '.join(f'{k[:-2]} {v:.0f} s' for k, v in timings.items() if k != 'total_s')})",
    ]
    store = tracking_uri()
    write_report(out, "electrode-twin demo", [
        Section("Results", "\n".join(lines)),
        Section("MLflow", f"Store: `{store}`.  Open it with\n\n"
                f"    mlflow ui --backend-store-uri {store}\n")])
    summary = {"out": str(out), "timings_s": timings, "mlflow_store": store,
               "process_window": nmc, "calibration_alpha": alpha,
               "variability_capacity_1C_mah_g": cap, "variability_dcir_10s_ohm_cm2": dcir,
               "surrogate_r2": {o: r["gp"]["r2"] for o, r in report["outputs"].items()}}
    write_json_atomic(out / "summary.json", json.loads(json.dumps(summary, default=float)))
    return summary


def _training_runs(frame, fidelity: str):
    """(runs, tier) the demo's surrogates learn from: the runs shipped at
    :data:`SURROGATE_TIER` (:mod:`surrogates.recorded`: the same material set over a 48-point
    design), with the demo's own runs when it runs at that tier; where none are shipped
    there, its own tier's.  The demo's runs alone where none are shipped at all, or where the
    shipped runs' material set (its name and the digest of its numbers) is not the demo's."""
    import pandas as pd

    from surrogates.recorded import recorded_runs, recorded_tiers

    tier = SURROGATE_TIER if SURROGATE_TIER in recorded_tiers() else fidelity
    if tier not in recorded_tiers():
        return frame, fidelity
    recorded = recorded_runs(tier)
    if set(recorded.get("materials", ())) != set(frame.get("materials", ())):
        return frame, fidelity
    own = [frame] if tier == fidelity else []
    return pd.concat([*own, recorded], ignore_index=True), tier
