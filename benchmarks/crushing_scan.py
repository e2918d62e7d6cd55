"""AM particle crushing scan: ``etwin calender`` output folders collected into one JSON.

Each folder is one calendering (one film, one contact law, ``--am-strength-mpa`` etc. or none);
the JSON keeps per run the film, the roll temperature, the contact law (``binder_contact``),
per pressure the porosity after recovery, the spring-back, the share of crushed AM particles
and the AM particles' Hiramatsu–Oka stress percentiles at the turn, the plane pressure at
which the first particle broke on the loading path (``force_displacement.csv``) and the wall
time;
``--indentation`` folders (``etwin indent``) add each one's film, law and elastic recovery.
``docs/validation/calendering.md`` renders it (``experiments.validation_tables``, table
``crushing``).  benchmarks/data/crushing_scan.json was written so.

Run: ``python benchmarks/crushing_scan.py --out FILE --command TEXT FOLDER [FOLDER ...]
[--indentation FOLDER --indent-command TEXT ...]`` (indentations alone: no FOLDER and no
``--command``).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from experiments.calibrate_dem import film_label
from experiments.files import write_json_atomic
from experiments.tracking import run_provenance

INDENT_FIELDS = ("preset", "am_friction", "binder_contact", "plateau_softening_per_k",
                 "bridge_equilibrium_scale", "depth_fraction", "indenter", "loading_time_s",
                 "temperature_c", "elastic_recovery", "plastic_work_fraction", "wall_s")
POINT_FIELDS = ("pressure_target_mpa", "pressure_max_mpa", "porosity", "springback_percent",
                "am_crushed_fraction", "am_stress_p50_mpa", "am_stress_p95_mpa")


def first_crush_mpa(folder: Path) -> float | None:
    """Plane pressure [MPa] of the first loading row with a crushed AM particle (None if no
    particle broke while loading)."""
    with (folder / "force_displacement.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["phase"] == "load" and float(row.get("am_crushed_fraction") or 0.0) > 0:
                return float(row["pressure_mpa"])
    return None


def scan_run(folder: Path) -> dict:
    """One calendering's row of the scan."""
    m = json.loads((folder / "metrics.json").read_text())
    return {"run": folder.name, "film": film_label(m["dried"]), "preset": m["preset"],
            "protocol": m["protocol"], "temperature_c": m["temperature_c"],
            "binder_contact": m["binder_contact"],
            "am_friction": m["am_friction"],
            "points": [{k: p.get(k, 0.0) for k in POINT_FIELDS} for p in m["points"]],
            "first_crush_mpa": first_crush_mpa(folder), "n_particles": m["n_particles"],
            "wall_s": m["wall_s"]}


def indentation_run(folder: Path) -> dict:
    """One micro-indentation (``etwin indent --out`` folder): its film, law and recovery."""
    m = json.loads((folder / "metrics.json").read_text())
    return {"run": folder.name, "film": film_label(m["dried"]),
            **{k: m.get(k) for k in INDENT_FIELDS}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="*", help="etwin calender --out folders")
    ap.add_argument("--command", default=None,
                    help="the etwin calender command of the runs (required with folders)")
    ap.add_argument("--out", type=Path, required=True, help="the JSON to write")
    ap.add_argument("--indentation", type=Path, action="append", default=[],
                    help="an etwin indent --out folder of the same laws (repeatable)")
    ap.add_argument("--indent-command", default=None, help="the etwin indent command")
    args = ap.parse_args(argv)
    if not args.folders and not args.indentation:
        ap.error("give etwin calender --out folders, --indentation folders, or both")
    if args.folders and not args.command:
        ap.error("--command is required with etwin calender folders")
    if args.indentation and not args.indent_command:
        ap.error("--indent-command is required with --indentation folders")
    runs = [scan_run(f) for f in args.folders]
    extra = {"indent_command": args.indent_command,
             "indentations": [indentation_run(f) for f in args.indentation]}
    commands = {"calender_command": args.command} if args.command else {}
    write_json_atomic(args.out, {"provenance": {**run_provenance(), **commands},
                                 "runs": runs, **(extra if args.indentation else {})})
    print(f"{len(runs)} runs -> {args.out}")


if __name__ == "__main__":
    main()
