"""Indentation elastic recovery across the DEM calibration's contact-law box.

Indents one dried film (flat punch to ``--depth-fraction`` of its thickness, the
calibration's :func:`experiments.calibrate_dem.indent_run`) at the points of a Sobol design
(the calibration's generator; log-uniform parameters sampled in log) over the named
parameters (``name=LOW:HIGH`` inside the calibration's prior,
:data:`experiments.calibrate_dem.DEM_PARAMETERS`), the parameters not named at ``--base``.
Runs in parallel (one process per point, one thread each); every finished point is added to
``--out`` (JSON, written atomically) as it finishes, so a stopped scan resumes where it
stopped.  Prints recovery, plastic work fraction, maximum pressure and CPU seconds per
point; the table ``indentation-scan`` of docs/validation/calendering.md is generated from
the JSON.

``--temperature-c`` and ``--loading-time-s`` place the indentations at the real test's
temperature and rate (:meth:`physics.calender.BinderRheology.rate_ratio`; the paper's test:
25 °C, 0.4 mN/s to 200 mN, i.e. 500 s of loading).

Run: ``python benchmarks/indentation_scan.py --dried tests/data/dried_ci_seed0.npz
--box cbd_plasticity=0:0.9,bridge_stiffness_ratio=0:6,cbd_adhesion_ratio=0:1,am_rolling=0:0.3
--points 32 --workers 16 --out benchmarks/data/indentation_scan_ci.json`` (add
``--temperature-c 25 --loading-time-s 500 --with-base --out
benchmarks/data/indentation_scan_ci_test.json`` for the test's conditions).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
from pathlib import Path

import numpy as np


def design(spec: str, n: int, seed: int) -> list[dict]:
    """The first ``n`` Sobol points (rounded to 1e-6) over the box ``name=LOW:HIGH,...``."""
    from experiments.calibrate_dem import parse_dem_parameters
    from optimize.bo import sobol_unit

    params = parse_dem_parameters(spec)
    lo = np.array([np.log10(p.lower) if p.log else p.lower for p in params])
    hi = np.array([np.log10(p.upper) if p.log else p.upper for p in params])
    unit = lo + (hi - lo) * sobol_unit(len(params), n, seed)
    values = np.where([p.log for p in params], 10 ** unit, unit)
    return [dict(zip([p.name for p in params], np.round(row, 6).tolist(), strict=True))
            for row in values]


def run_point(task: dict) -> dict:
    # one thread per point; each worker process compiles into its own cache (no races)
    os.environ["NUMBA_NUM_THREADS"] = "1"
    os.environ.setdefault("NUMBA_CACHE_DIR", f"/tmp/numba_cache_{os.getpid()}")
    from experiments.calibrate_dem import indent_run

    return indent_run(task)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dried", required=True)
    ap.add_argument("--box", required=True, help="name=LOW:HIGH,... (DEM_PARAMETERS names)")
    ap.add_argument("--base", default="cbd_plasticity=0.867,bridge_stiffness_ratio=0.684,"
                    "cbd_adhesion_ratio=0.0068,am_rolling=0.0565",
                    help="values of the parameters not in --box (default: round-1 law)")
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depth-fraction", type=float, default=0.1)
    ap.add_argument("--temperature-c", type=float, default=60.0)
    ap.add_argument("--loading-time-s", type=float, default=None,
                    help="loading time of the real test [s] (the binder at its rate); "
                         "default: the roll's time scale")
    ap.add_argument("--with-base", action="store_true",
                    help="also indent at --base itself")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", required=True, help="JSON, rewritten as points finish")
    args = ap.parse_args()
    from experiments.calibrate_dem import indent_task, parse_dem_parameters
    from experiments.files import write_json_atomic
    from experiments.tracking import run_provenance

    base = {k: float(v) for k, v in (i.split("=") for i in args.base.split(","))}
    box = {p.name: (p.lower, p.upper) for p in parse_dem_parameters(args.box)}
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.is_file() else {
        "dried": args.dried, "box": box, "base": base, "depth_fraction": args.depth_fraction,
        "temperature_c": args.temperature_c, "loading_time_s": args.loading_time_s,
        "runs": []}
    for key in ("dried", "depth_fraction", "temperature_c", "loading_time_s"):
        if data.get(key) != getattr(args, key):
            raise SystemExit(f"{out} holds a scan with {key} = {data.get(key)}, not "
                             f"{getattr(args, key)}: write to another --out")
    done = data["runs"]
    seen = {json.dumps(r["theta"], sort_keys=True) for r in done}
    tasks = []
    points = design(args.box, args.points, args.seed)
    for point in ([{}] if args.with_base else []) + points:
        theta = base | point
        if json.dumps(theta, sort_keys=True) not in seen:
            tasks.append(indent_task(args.dried, theta, args.depth_fraction,
                                     args.temperature_c, 0.54, args.loading_time_s))
    print(f"{len(done)} points done, {len(tasks)} to run", flush=True)
    with cf.ProcessPoolExecutor(args.workers) as pool:
        for fut in cf.as_completed([pool.submit(run_point, t) for t in tasks]):
            r = fut.result()
            done.append(r)
            data["provenance"] = run_provenance()
            write_json_atomic(out, data)
            th = r["theta"]
            print(" ".join(f"{k} {v:.3g}" for k, v in th.items()),
                  f"| recovery {100 * r.get('elastic_recovery', float('nan')):.2f} %",
                  f"plastic work {r.get('plastic_work_fraction', float('nan')):.3f}",
                  f"p_max {r.get('indent_pressure_max_mpa', float('nan')):.2f} MPa",
                  f"{r['cpu_s']:.0f} CPU s", r.get("error", ""), flush=True)


if __name__ == "__main__":
    main()
