"""Recorded pipeline runs shipped with the package (``surrogates/recorded_data/``): the design,
and the runs of an ``etwin sweep`` over it collected with their provenance.

The design is the process window's box with the coating thickness added: pressure 1-150 MPa
and line speed 0.2-20 m/min on log scales, roll temperature 25-120 °C, dry coating thickness
60-200 µm; a scrambled Sobol' sequence (scipy.stats.qmc, ``--design-seed``), values rounded to
4 significant digits.  The same points run at every tier, so the records pair a cheap tier with
a dear one point by point.

Run::

    python benchmarks/recorded_runs.py design --n 48 --design-seed 2 --out points.csv
    etwin sweep --points points.csv --fidelity ci --seeds 0 --materials nmc111 \\
        --experiment recorded-ci
    python benchmarks/recorded_runs.py collect --experiment recorded-ci --fidelity ci \\
        --points points.csv --sweep "<the sweep command>" \\
        --out surrogates/recorded_data/runs_ci.json

The shipped runs were swept with ``--workers 2 --threads 1``: one numba thread per run, so
each run is reproduced bit for bit by its point, seed and that thread count.

Replicates: runs of some design points at other seeds (``etwin sweep --points <those points>
--seeds 1`` into the same experiment) measure the tier's realization noise, which the
surrogates take as their noise floor (:func:`surrogates.dataset.replicate_noise`).  ``collect``
writes the design seed's run of every point first, in design order, then the replicates.

``collect`` refuses an experiment that misses a design point at the design seed, holds
another fidelity than asked, or mixes material sets.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np

#: (input, low, high, log scale) of the design
DESIGN_BOX = (("pressure_mpa", 1.0, 150.0, True), ("temperature_c", 25.0, 120.0, False),
              ("line_speed_m_min", 0.2, 20.0, True), ("coating_thickness_um", 60.0, 200.0, False))


def design(n: int, design_seed: int) -> list[dict[str, float]]:
    """``n`` points of the scrambled Sobol' design over :data:`DESIGN_BOX`."""
    import warnings

    from scipy.stats import qmc

    with warnings.catch_warnings():  # balance needs n = 2^k; the first n points are kept
        warnings.simplefilter("ignore", UserWarning)
        unit = qmc.Sobol(len(DESIGN_BOX), scramble=True, seed=design_seed).random(n)
    rows = []
    for u in unit:
        row = {}
        for (name, lo, hi, log), x in zip(DESIGN_BOX, u, strict=True):
            v = 10 ** (math.log10(lo) + x * math.log10(hi / lo)) if log else lo + x * (hi - lo)
            row[name] = float(f"{v:.4g}")
        rows.append(row)
    return rows


def collect(experiment: str, fidelity: str, points: list[dict[str, float]],
            design_seed: int = 0) -> list[dict]:
    """The finished runs of ``experiment`` at the design's points: the run at ``design_seed``
    of every point in design order, then the replicates (other seeds at design points) by
    point and seed; each row with its inputs, seed, fidelity and every metric."""
    from experiments.tracking import runs_dataframe

    frame = runs_dataframe(experiment)
    if frame.empty:
        raise ValueError(f"experiment {experiment!r} has no finished runs")
    other = sorted(set(frame["fidelity"]) - {fidelity})
    if other:
        raise ValueError(f"experiment {experiment!r} holds runs at fidelity {other}, "
                         f"not only {fidelity!r}")
    if "materials" in frame and frame["materials"].nunique(dropna=False) != 1:
        raise ValueError(f"experiment {experiment!r} mixes materials "
                         f"{sorted(set(frame['materials'].astype(str)))}")
    names = [b[0] for b in DESIGN_BOX]
    seeds = frame["seed"].to_numpy(int)
    design_rows, replicates = [], []
    for i, point in enumerate(points):
        hit = np.ones(len(frame), dtype=bool)
        for name in names:
            hit &= np.isclose(frame[name].to_numpy(float), point[name], rtol=1e-12, atol=0)
        if not (hit & (seeds == design_seed)).any():
            raise ValueError(f"design point {i} {point} has no finished run at seed "
                             f"{design_seed} in {experiment!r}")
        design_rows.append(_row(frame[hit & (seeds == design_seed)].iloc[0]))
        for seed in sorted(set(seeds[hit]) - {design_seed}):
            replicates.append(_row(frame[hit & (seeds == seed)].iloc[0]))
    return design_rows + replicates


def _row(run) -> dict:
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in run.items()
           if k not in ("run_id", "status")}
    return {k: v for k, v in row.items()
            if isinstance(v, str) or (v is not None and np.isfinite(v))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("design", help="write the design's points CSV")
    d.add_argument("--n", type=int, default=48)
    d.add_argument("--design-seed", type=int, default=2)
    d.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("collect", help="write a sweep's runs at the design as versioned JSON")
    c.add_argument("--experiment", required=True)
    c.add_argument("--fidelity", required=True)
    c.add_argument("--points", type=Path, required=True, help="the design's points CSV")
    c.add_argument("--sweep", required=True,
                   help="the etwin sweep command that ran the points (recorded verbatim)")
    c.add_argument("--sweep-wall-s", type=float, default=None,
                   help="the sweep's wall time, recorded in the provenance")
    c.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.command == "design":
        rows = design(args.n, args.design_seed)
        with args.out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"{len(rows)} points -> {args.out}")
        return
    from experiments.files import write_json_atomic
    from experiments.tracking import run_provenance

    with args.points.open(newline="") as fh:
        points = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    rows = collect(args.experiment, args.fidelity, points)
    write_json_atomic(args.out, {
        "provenance": {**run_provenance(), "experiment": args.experiment,
                       "fidelity": args.fidelity, "design_box": [list(b) for b in DESIGN_BOX],
                       "points": len(points), "replicates": len(rows) - len(points),
                       "sweep_wall_s": args.sweep_wall_s,
                       "materials": rows[0].get("materials"), "sweep": args.sweep},
        "rows": rows})
    print(f"{len(rows)} runs -> {args.out}")


if __name__ == "__main__":
    main()
