"""Slurry + drying: wall time, particle-steps/s and the dried-electrode validation numbers.

Runs ``dry_electrode`` at the chosen fidelities (default ``fast``; ``--fidelity paper`` for the
paper's cell) and prints, per run, the wall time, steps, particle-steps/s, dried density,
porosity and thickness next to the paper's values (41.6 %, 2.4 g/cm³; experiment 42 ± 2 %,
2.3 ± 0.1 g/cm³).  For a size not run, the paper-size wall time is estimated from the measured
particle-steps/s and the same step counts.  The paper needed 5 h (slurry) + 33 h (drying) on
28 cores with LAMMPS for 9 859 particles.

Run: ``python benchmarks/slurry.py [--fidelity fast,paper] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys

from physics.fidelity import FIDELITY_N_AM
from physics.materials import paper_recipe
from physics.slurry import DryingProtocol, dry_electrode


def run(fidelity: str, seed: int, mode: str) -> dict:
    res = dry_electrode(paper_recipe(), FIDELITY_N_AM[fidelity], seed=seed,
                        protocol=DryingProtocol(mode=mode))
    n = res.dried.n
    m = res.metrics
    return {"fidelity": fidelity, "mode": mode, "seed": seed, "n_particles": n,
            "steps": res.steps, "wall_s": res.wall_s,
            "particle_steps_per_s": n * res.steps / res.wall_s,
            "density_g_cm3": m.density_g_cm3, "porosity": m.porosity,
            "thickness_um": m.thickness_um,
            "slurry_density_g_cm3": res.slurry_metrics.density_g_cm3}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fidelity", default="fast", help="comma-separated: ci, fast, paper")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="wall", help="wall (default) or periodic")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for fid in args.fidelity.split(","):
        rows.append(run(fid, args.seed, args.mode))
        print(rows[-1], file=sys.stderr)
    if "paper" not in args.fidelity.split(",") and rows:
        r = rows[-1]
        n_paper = 396 + paper_recipe().counts_for_am(396).n_cbd
        est = n_paper * r["steps"] / r["particle_steps_per_s"]
        rows.append({"fidelity": "paper (estimate)", "n_particles": n_paper,
                     "wall_s": est, "from": r["fidelity"]})
    if args.json:
        print(json.dumps({"rows": rows}))
    else:
        print(f"{'fidelity':18s} {'N':>6s} {'steps':>7s} {'wall s':>8s} {'p-steps/s':>10s} "
              f"{'rho g/cm3':>9s} {'porosity':>8s} {'thick um':>8s}")
        for r in rows:
            if "density_g_cm3" in r:
                print(f"{r['fidelity']:18s} {r['n_particles']:6d} {r['steps']:7d} "
                      f"{r['wall_s']:8.0f} {r['particle_steps_per_s']:10.3g} "
                      f"{r['density_g_cm3']:9.3f} {r['porosity']:8.3f} {r['thickness_um']:8.1f}")
            else:
                print(f"{r['fidelity']:18s} {r['n_particles']:6d} {'':7s} {r['wall_s']:8.0f}")
        print("paper: 41.6 % porosity, 2.4 g/cm3 (experiment 42 ± 2 %, 2.3 ± 0.1 g/cm3); "
              "LAMMPS 5 h + 33 h on 28 cores")
    return {"rows": rows}


if __name__ == "__main__":
    main()
