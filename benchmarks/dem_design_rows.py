"""The DEM calibration's finished runs as versioned JSON for the validation pages.

Reads every run of an ``etwin calibrate --target dem`` output folder (``OUT/dem_runs/*.json``,
design and refinement runs, failed ones included, calenderings and indentations) in the
order they finished, with the
measured curve they are compared with and the calibration's command line (its summary.json), and
writes ``benchmarks/data/dem_design_fast.json``
(``--out``) with a provenance block; ``python -m experiments.validation_tables --write`` then
renders the table in docs/validation/calendering.md.  Each row keeps its cache key, film name
and every task field, so ``etwin calibrate --target dem --include-runs FILE`` trains on the
rows of films dried again from the same seeds and thread counts.

Run: ``python benchmarks/dem_design_rows.py CAL_OUT --data CURVE.csv [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.calibrate_dem import read_compaction_curve, run_rows
from experiments.files import write_json_atomic
from experiments.tracking import run_provenance

OUT = Path(__file__).parent / "data" / "dem_design_fast.json"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cal_out", type=Path, help="etwin calibrate --target dem --out folder")
    ap.add_argument("--data", type=Path, required=True, help="the measured curve (CSV)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    runs = run_rows(args.cal_out)
    if not runs:
        raise SystemExit(f"{args.cal_out}/dem_runs holds no runs")
    curve = read_compaction_curve(args.data)
    settings = json.loads((args.cal_out / "summary.json").read_text()) \
        if (args.cal_out / "summary.json").is_file() else {}
    calibrate_command = settings.get("provenance", {}).get("command")
    write_json_atomic(args.out, {
        "provenance": run_provenance() | ({"calibrate_command": calibrate_command}
                                          if calibrate_command else {}),
        "parameters": settings.get("calibrated", list(runs[0]["theta"])),
        "measured": {"source": args.data.name, "pressure_mpa": curve.pressures_mpa.tolist(),
                     "porosity": curve.porosity.tolist(),
                     "porosity_sd": curve.porosity_sd.tolist(),
                     "dried_porosity": curve.dried_porosity, "dried_sd": curve.dried_sd,
                     "recovery": settings.get("recovery"),
                     "recovery_sd": settings.get("recovery_sd")},
        "runs": runs})
    print(f"{len(runs)} runs ({sum(r['status'] == 'ok' for r in runs)} finished) -> {args.out}")


if __name__ == "__main__":
    main()
