"""An ``etwin calender`` output folder as a compaction curve for the line-scale jobs.

Reads ``curve.csv`` and ``metrics.json`` of one calendering (one film) and writes the JSON the
line jobs read (``experiments.line_data.read_curve``): a pressure-0 row for the relaxed dried
film, then per pressure the maximum plane pressure [MPa], the porosity after recovery, the
recovered thickness [µm] and the spring-back [%], with a provenance block (the calendering's
contact law, film, protocol and this command).  ``physics/line_data/fast_calibrated_curve_s*.json``
were written so.

Run: ``python benchmarks/line_curve.py CALENDER_OUT --name NAME --description TEXT --out FILE``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from experiments.files import write_json_atomic
from experiments.tracking import run_provenance

#: the calendering's settings copied into the provenance
SETTINGS = ("dried", "preset", "protocol", "temperature_c", "line_speed_m_min",
            "roll_diameter_m", "am_friction", "cbd_friction", "binder_contact", "n_particles",
            "wall_s")


def curve_rows(folder: Path) -> tuple[list[dict], dict]:
    """(rows, metrics) of an ``etwin calender --out`` folder: the dried film at pressure 0,
    then each pressed point."""
    metrics = json.loads((folder / "metrics.json").read_text())
    with (folder / "curve.csv").open(newline="") as fh:
        points = list(csv.DictReader(fh))
    rows = [{"pressure_mpa": 0.0, "porosity": float(metrics["porosity_uncalendered"]),
             "thickness_um": float(metrics["thickness_uncalendered_um"])}]
    rows += [{"pressure_mpa": float(p["pressure_max_mpa"]),
              "pressure_target_mpa": float(p["pressure_target_mpa"]),
              "porosity": float(p["porosity"]), "thickness_um": float(p["thickness_um"]),
              "springback_percent": float(p["springback_percent"])} for p in points]
    return rows, metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calender_out", type=Path, help="etwin calender --out folder")
    ap.add_argument("--name", required=True, help="curve name")
    ap.add_argument("--description", required=True, help="what the curve is")
    ap.add_argument("--out", type=Path, required=True, help="the JSON to write")
    args = ap.parse_args(argv)
    rows, metrics = curve_rows(args.calender_out)
    write_json_atomic(args.out, {
        "name": args.name, "description": args.description,
        "provenance": {**run_provenance(),
                       "calendering": {k: metrics.get(k) for k in SETTINGS}},
        "rows": rows})
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
