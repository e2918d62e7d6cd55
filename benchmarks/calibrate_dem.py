"""DEM binder calibration on the DEM itself: recover a known binder modulus and cohesion.

Calenders a dried structure once with the binder's reference modulus and cohesion set to a
"true" pair (default 3 GPa and 0.05 GPa, against Table 2's 2 and 0.07 GPa), adds Gaussian
noise to the porosities (the "measured" curve), then runs ``etwin calibrate --target dem``'s
job (:func:`experiments.calibrate.calibrate_dem`: a Sobol design of DEM runs, a GP emulator,
the grid posterior) and prints whether the 95 % credible intervals hold the true values, the
emulator's leave-one-run-out error and the wall time.

Run: ``python benchmarks/calibrate_dem.py --dried DRIED.npz [--design 10] [--truth 3,0.05]
[--pressures-mpa 0.5,1,2,5,20] [--noise 0.003] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from experiments.calibrate import calibrate_dem, dem_porosity_curve
from experiments.files import write_csv_atomic


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dried", required=True, help="dried structure .npz (etwin dry)")
    ap.add_argument("--design", type=int, default=10)
    ap.add_argument("--truth", default="3,0.05", help="true 'E_GPa,CED_GPa'")
    ap.add_argument("--pressures-mpa", default="0.5,1,2,5,20")
    ap.add_argument("--noise", type=float, default=0.003, help="porosity noise sd (fraction)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="calibrate_dem_benchmark")
    args = ap.parse_args(argv)
    truth = tuple(float(v) for v in args.truth.split(","))
    pressures = tuple(float(p) for p in args.pressures_mpa.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    truth_file = out / "truth_curve.json"
    t0 = time.perf_counter()
    if truth_file.is_file():
        curve = json.loads(truth_file.read_text())["porosity"]
    else:
        curve = dem_porosity_curve(args.dried, pressures, *truth, 60.0, 0.54)
        truth_file.write_text(json.dumps({"truth": truth, "pressures_mpa": pressures,
                                          "porosity": curve}))
    t_truth = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    measured = np.array(curve) + rng.normal(0, args.noise, len(curve))
    write_csv_atomic(out / "measured.csv", [
        {"pressure_mpa": p, "porosity": float(e), "porosity_sd": args.noise}
        for p, e in zip(pressures, measured, strict=True)])
    t0 = time.perf_counter()
    summary = calibrate_dem(out / "measured.csv", out / "calibration", dried=args.dried,
                            n_design=args.design, seed=args.seed, experiment=None)
    wall = time.perf_counter() - t0
    print(f"true curve: {', '.join(f'{100 * e:.2f}' for e in curve)} % at "
          f"{', '.join(f'{p:g}' for p in pressures)} MPa ({t_truth:.0f} s)")
    held = {}
    for (name, m), value in zip(summary["parameters"].items(), truth, strict=True):
        held[name] = m["ci95_lower"] <= value <= m["ci95_upper"]
        print(f"{name}: true {value:g}, posterior mean {m['mean']:.4g}, 95 % "
              f"[{m['ci95_lower']:.4g}, {m['ci95_upper']:.4g}] -> "
              f"{'holds' if held[name] else 'MISSES'} the true value")
    cv = summary["emulator_leave_one_run_out"]
    print(f"emulator leave-one-run-out RMSE {100 * cv['rmse']:.2f} porosity points, "
          f"{100 * cv['coverage95']:.0f} % in its 95 % interval; {args.design} DEM runs, "
          f"calibration wall time {wall:.0f} s")
    return {"truth": truth, "curve": curve, "held": held, "summary": summary, "wall_s": wall}


if __name__ == "__main__":
    main()
