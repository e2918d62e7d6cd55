"""A tested contact law as a shipped preset, with its DEM check against the measured curve.

Reads versioned run rows (``benchmarks/dem_design_rows.py`` files), keeps the runs at exactly
the law θ (``--point``, set on the base law the rows were run on, compared through
``experiments.calibrate_dem.dem_conditions`` as the calibration maps θ) and writes the preset
(``physics/calender/preset_data/NAME.json``): the law, and in its provenance the ``dem_check``
(per film: porosity after spring-back at the measured pressures, spring-back, crushed AM share,
the AM–AM load share and coordination, the dried film; the film mean, its error against the
measured mean and whether it lies inside the ±1σ bar; the indentation recoveries against the
measured recovery), the rows files, the base preset and this command.  A law ships as the
runs measured it, never as an untested posterior draw.

Run: ``python benchmarks/calibrated_preset.py --point am_strength_mpa=190,... --rows FILE
[--rows FILE ...] --calender-films dry_paper_s0,... --name NAME --description TEXT --out FILE``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from experiments.calibrate_dem import (
    CompactionCurve,
    dem_conditions,
    task_base_law,
    validation_table,
)
from experiments.tracking import run_provenance
from physics.calender.presets import preset_from_conditions, preset_json
from physics.state import write_atomic

MAX_ABS_ERROR = 0.01  # the calibration's target: max |error| < 1 porosity point


def parse_point(spec: str) -> dict[str, float]:
    """``name=value,...`` as the law θ."""
    point = {}
    for item in spec.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--point: {item!r} is not name=value")
        point[name.strip()] = float(value)
    return point


def rows_at_law(rows: list[dict], point: dict[str, float]) -> list[dict]:
    """The finished rows whose θ sets the same contact law as ``point`` on their base."""
    out = []
    for row in rows:
        if row.get("status") != "ok":
            continue
        base = task_base_law(row)
        if set(row["theta"]) == set(point) and \
                dem_conditions(row["theta"], base=base) == dem_conditions(point, base=base):
            out.append(row)
    return out


def dem_check(calendered: list[dict], indented: list[dict], measured: dict) -> dict:
    """The law's runs against the measured curve (module docstring)."""
    curve = CompactionCurve(np.array(measured["pressure_mpa"]), np.array(measured["porosity"]),
                            np.array(measured["porosity_sd"]))
    v = validation_table(curve, calendered)
    check = {
        "pressures_mpa": measured["pressure_mpa"], "measured": measured["porosity"],
        "measured_sd": measured["porosity_sd"],
        "films": [r["film"] for r in calendered],
        "porosity_per_film": [r["porosity"] for r in calendered],
        "porosity_mean": [row["simulated"] for row in v["rows"]],
        "porosity_film_sd": [row["simulated_sd"] for row in v["rows"]],
        "error": [row["error"] for row in v["rows"]], "max_abs_error": v["max_abs_error"],
        "inside_1sd": [abs(row["error"]) <= row["measured_sd"] for row in v["rows"]],
        "springback_percent_per_film": [r["springback_percent"] for r in calendered],
        "am_crushed_fraction_per_film": [r.get("am_crushed_fraction") for r in calendered],
        "dried_porosity_per_film": [r.get("dried_porosity") for r in calendered],
        # the load path: share of the normal load on AM–AM contacts, AM–AM contacts per AM
        "load_share_am_am_per_film": [r.get("load_share_am_am") for r in calendered],
        "am_contacts_per_am_per_film": [r.get("am_contacts_per_am_max") for r in calendered],
        "cpu_s": [r["cpu_s"] for r in calendered + indented],
    }
    dried = [p for p in check["dried_porosity_per_film"] if p is not None]
    if dried and measured.get("dried_porosity") is not None:
        check["dried_porosity_mean"] = float(np.mean(dried))
        check["dried_inside_1sd"] = bool(abs(np.mean(dried) - measured["dried_porosity"])
                                         <= measured["dried_sd"])
    if indented:
        recovery = [r["elastic_recovery"] for r in indented]
        check |= {"indentation_films": [r["film"] for r in indented],
                  "indentation_recovery_per_film": recovery,
                  "recovery_mean": float(np.mean(recovery)),
                  "recovery_measured": measured.get("recovery"),
                  "recovery_sd": measured.get("recovery_sd")}
        if measured.get("recovery") is not None:
            check["recovery_inside_1sd"] = bool(abs(np.mean(recovery) - measured["recovery"])
                                                <= measured["recovery_sd"])
    return check


def targets_met(check: dict) -> bool:
    """Every measured point inside its bar, max |error| < 1 point, and (where measured) the
    dried film and the recovery inside theirs."""
    return (all(check["inside_1sd"]) and check["max_abs_error"] < MAX_ABS_ERROR
            and check.get("dried_inside_1sd", True) and check.get("recovery_inside_1sd", True))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--point", required=True, help="the law θ: name=value,... (DEM parameters)")
    ap.add_argument("--rows", type=Path, action="append", required=True,
                    help="versioned rows file (benchmarks/dem_design_rows.py); repeatable")
    ap.add_argument("--calender-films", required=True,
                    help="comma-separated films whose calenderings make the check")
    ap.add_argument("--indentation-films", default="",
                    help="comma-separated films whose indentations give the recovery")
    ap.add_argument("--name", required=True)
    ap.add_argument("--description", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    point = parse_point(args.point)
    files = [json.loads(p.read_text()) for p in args.rows]
    rows = rows_at_law([r for f in files for r in f["runs"]], point)
    measured = files[0]["measured"] | {k: v for f in files for k, v in f["measured"].items()
                                        if v is not None}
    calendered = _one_per_film([r for r in rows if "porosity" in r], args.calender_films)
    indented = _one_per_film([r for r in rows if "elastic_recovery" in r],
                             args.indentation_films)
    laws = {dem_conditions(point, base=task_base_law(r)) for r in calendered + indented}
    if len(laws) != 1:
        raise SystemExit("the runs at this law were made on different base laws")
    check = dem_check(calendered, indented, measured)
    law = laws.pop()
    provenance = {
        "data": measured["source"], "law": point,
        "base_law": calendered[0].get("preset", "Table 2 (paper)"),
        "rows": [p.name for p in args.rows],
        "command": run_provenance()["command"], "dem_check": check,
        "targets_met": targets_met(check)}
    preset = preset_from_conditions(args.name, args.description, law, provenance)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, lambda fh: fh.write(preset_json(preset).encode()))
    print(f"{args.name}: {len(calendered)} calendered, {len(indented)} indented films; "
          f"mean {np.round(100 * np.array(check['porosity_mean']), 2).tolist()} %, "
          f"max |error| {100 * check['max_abs_error']:.2f} points, "
          f"targets met: {provenance['targets_met']} -> {args.out}")


def _one_per_film(rows: list[dict], films: str) -> list[dict]:
    """The run of each named film (the first one where a film was run twice), in that order."""
    wanted = [f for f in films.split(",") if f]
    out = []
    for film in wanted:
        match = [r for r in rows if r["film"] == film]
        if not match:
            raise SystemExit(f"no finished run at this law on film {film!r}")
        out.append(match[0])
    return out


if __name__ == "__main__":
    main()
