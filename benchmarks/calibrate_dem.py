"""DEM contact-law calibration on the DEM itself: recover known parameters.

Calenders a dried structure once at a "true" parameter point (default binder plasticity 0.4,
modulus 3 GPa, adhesion 0.2, AM rolling 0.05), adds Gaussian noise to the porosities (the
"measured" curve), then runs ``etwin calibrate --target dem``'s job
(:func:`experiments.calibrate_dem.calibrate_dem`: a Sobol design of DEM runs, a GP emulator,
ensemble MCMC) and prints whether the 95 % credible intervals hold the true values, the
emulator's cross-validated error and the CPU time.

Run: ``python benchmarks/calibrate_dem.py --dried DRIED.npz [--dried DRIED2.npz] [--design 24]
[--truth cbd_plasticity=0.4,cbd_modulus_gpa=3,cbd_adhesion_ratio=0.2,am_rolling=0.05]
[--pressures-mpa 2,5.92,20,55.9,156] [--noise 0.003] [--workers 2] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from experiments.calibrate_dem import calibrate_dem, dem_run
from experiments.files import write_csv_atomic


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dried", action="append", required=True,
                    help="dried structure .npz (etwin dry); repeat for several seeds")
    ap.add_argument("--design", type=int, default=24)
    ap.add_argument("--truth", default="cbd_plasticity=0.4,cbd_modulus_gpa=3,"
                                       "cbd_adhesion_ratio=0.2,am_rolling=0.05")
    ap.add_argument("--pressures-mpa", default="2,5.92,20,55.9,156")
    ap.add_argument("--noise", type=float, default=0.003, help="porosity noise sd (fraction)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="calibrate_dem_benchmark")
    args = ap.parse_args(argv)
    truth = {k: float(v) for k, v in (item.split("=") for item in args.truth.split(","))}
    pressures = [float(p) for p in args.pressures_mpa.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    truth_file = out / "truth_curve.json"
    if truth_file.is_file():
        run = json.loads(truth_file.read_text())
    else:
        run = dem_run({"dried": args.dried[0], "theta": truth, "pressures_mpa": pressures,
                       "temperature_c": 60.0, "line_speed_m_min": 0.54, "protocol": "paper"})
        if run["status"] != "ok":
            raise SystemExit(f"the true run failed: {run['error']}")
        truth_file.write_text(json.dumps(run))
    rng = np.random.default_rng(args.seed)
    measured = np.array(run["porosity"]) + rng.normal(0, args.noise, len(pressures))
    write_csv_atomic(out / "measured.csv", [
        {"pressure_mpa": p, "porosity": float(e), "porosity_sd": args.noise}
        for p, e in zip(run["pressure_reported_mpa"], measured, strict=True)])
    t0 = time.process_time()
    summary = calibrate_dem(out / "measured.csv", out / "calibration", dried=args.dried,
                            parameters=",".join(truth), n_design=args.design, seed=args.seed,
                            workers=args.workers, experiment=None)
    print(f"true curve: {', '.join(f'{100 * e:.2f}' for e in run['porosity'])} % at "
          f"{', '.join(f'{p:.3g}' for p in run['pressure_reported_mpa'])} MPa "
          f"({run['cpu_s']:.0f} CPU s)")
    held = {}
    for name, value in truth.items():
        m = summary["parameters"][name]
        held[name] = m["ci95_lower"] <= value <= m["ci95_upper"]
        print(f"{name}: true {value:g}, posterior mean {m['mean']:.4g}, 95 % "
              f"[{m['ci95_lower']:.4g}, {m['ci95_upper']:.4g}] -> "
              f"{'holds' if held[name] else 'MISSES'} the true value")
    cv = summary["emulator_cross_validation"]
    print(f"emulator, whole runs held out: RMSE {100 * cv['rmse']:.2f} porosity points, "
          f"{100 * cv['coverage95']:.0f} % in its 95 % interval; {args.design} DEM runs, "
          f"{summary['dem_cpu_s']:.0f} DEM CPU s, driver {time.process_time() - t0:.0f} CPU s")
    return {"truth": truth, "run": run, "held": held, "summary": summary}


if __name__ == "__main__":
    main()
