"""The dried film's AM skeleton through the drying protocol (AM–AM contacts per AM particle).

Dries a recipe at the chosen fidelity and reads :func:`physics.structure.am_skeleton` at the end
of every stage (slurry, shrink + force-field switch, dried re-equilibration, free-surface
relaxation) and once more after the switch to the DEM law and its drag relaxation (the film the
calender presses, :func:`physics.calender.dem_relaxed`; with the law at once and with its
stiffness ramped up from ``--relax-ramp-from`` f0): AM–AM contacts per AM (centre distance
below 1.02 × the real radius sum, the paper's g(r) contact peaks), near contacts (below 1.05 ×),
isolated AM, largest AM cluster, whether it spans the film, porosity and thickness.  Prints a
table (or ``--json``); several seeds give the scatter.

Run: ``python benchmarks/skeleton.py [--fidelity ci] [--seeds 0,1] [--mode wall|periodic]
[--am-mass-fraction 0.96 --solid-content 0.69] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time

from physics.calender import CalenderProtocol, dem_relaxed
from physics.fidelity import FIDELITY_N_AM
from physics.pipeline import ProcessInputs
from physics.slurry import DryingProtocol, dry_electrode
from physics.structure import am_skeleton, open_periodic_z, structure_metrics


def stage_row(stage: str, state) -> dict:
    sk = am_skeleton(state)
    m = structure_metrics(state) if not state.periodic[2] else None
    return {"stage": stage, **{k.removeprefix("am_skeleton_"): v
                               for k, v in sk.to_metrics().items()},
            "porosity": m.porosity if m else float("nan"),
            "thickness_um": m.thickness_um if m else float(state.box_len_um[2])}


def skeleton_through_drying(fidelity: str, seed: int, mode: str, am_mass_fraction: float,
                            solid_content: float, ramps: tuple[float, ...] = (1.0,),
                            ) -> list[dict]:
    recipe = ProcessInputs(am_mass_fraction=am_mass_fraction,
                           solid_content=solid_content).recipe()
    rows: list[dict] = []
    t0 = time.perf_counter()
    res = dry_electrode(recipe, FIDELITY_N_AM[fidelity], seed=seed,
                        protocol=DryingProtocol(mode=mode),
                        on_stage=lambda name, st: rows.append(stage_row(name, st)))
    dried = res.dried if mode == "wall" else open_periodic_z(res.dried)
    if mode == "periodic":
        rows.append(stage_row("opened", dried))
    for ramp in ramps:
        film = dem_relaxed(dried, protocol=CalenderProtocol(relax_ramp_from=ramp))
        rows.append(stage_row(f"dem f0={ramp:g}", film))
    for r in rows:
        r.update(seed=seed, fidelity=fidelity, mode=mode, wall_s=time.perf_counter() - t0)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fidelity", default="ci", choices=sorted(FIDELITY_N_AM))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--mode", default="wall", choices=("wall", "periodic"))
    ap.add_argument("--am-mass-fraction", type=float, default=0.96)
    ap.add_argument("--solid-content", type=float, default=0.69)
    ap.add_argument("--relax-ramp-from", default="1,0.001",
                    help="DEM start-up stiffness factors to compare (CalenderProtocol)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        rows += skeleton_through_drying(
            args.fidelity, seed, args.mode, args.am_mass_fraction, args.solid_content,
            tuple(float(f) for f in args.relax_ramp_from.split(",")))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'seed':>4} {'stage':<14} {'AM-AM/AM':>8} {'near/AM':>8} {'isolated':>8} "
          f"{'cluster':>8} {'spans':>5} {'porosity':>8} {'h [µm]':>7}")
    for r in rows:
        print(f"{r['seed']:>4} {r['stage']:<14} {r['contacts_per_am']:8.2f} "
              f"{r['near_contacts_per_am']:8.2f} {r['isolated_fraction']:8.2f} "
              f"{r['largest_cluster_fraction']:8.2f} {bool(r['spans_film'])!s:>5} "
              f"{r['porosity']:8.3f} {r['thickness_um']:7.1f}")


if __name__ == "__main__":
    main()
