"""DEM calendering: wall time and particle-steps/s of a 5-pressure curve (default ``fast``).

Dries the paper recipe at the chosen fidelity (or reads ``--dried``; dried structures are
cached in ``benchmarks/.cache``), runs :func:`physics.calender.calender` on one shared loading
path for the pressures, and prints the wall time, steps, particle-steps/s and the curve
(porosity after spring-back, spring-back, inertial number at the turning point).  With
``--halve`` it runs the curve again with every plane speed halved and prints the porosity
change per pressure (the quasi-static check).  The paper's LIGGGHTS runs took 20-40 h per
pressure for 9 859 particles on 28 cores.

Run: ``python benchmarks/calender.py [--fidelity fast] [--pressures-mpa 2,5,20,60,120]
[--halve] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from physics.calender import CalenderProtocol, calender
from physics.materials import paper_recipe
from physics.slurry import FIDELITY_N_AM, dry_electrode
from physics.state import ParticleState

CACHE = Path(__file__).parent / ".cache"


def dried_structure(fidelity: str, seed: int) -> ParticleState:
    path = CACHE / f"dried_{fidelity}_seed{seed}.npz"
    if path.is_file():
        return ParticleState.load(path)
    print(f"drying the paper recipe at {fidelity} (cached in {path})", file=sys.stderr)
    state = dry_electrode(paper_recipe(), FIDELITY_N_AM[fidelity], seed=seed).dried
    state.save(path)
    return state


def run(state: ParticleState, pressures: list[float], protocol: CalenderProtocol) -> dict:
    res = calender(state, pressures, protocol=protocol)
    return {
        "n_particles": res.n_particles, "steps": res.steps, "wall_s": res.wall_s,
        "particle_steps_per_s": res.particle_steps_per_s, "dt_us": res.dt_us,
        "min_plane_speed_m_s": protocol.min_plane_speed_m_s,
        "inertial_number_target": protocol.inertial_number,
        "porosity_uncalendered": res.initial.porosity,
        "points": [{k: v for k, v in p.summary().items() if not k.startswith("stress")}
                   for p in res.points],
        "fit_r_squared": res.fit.r_squared if res.fit else None,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fidelity", default="fast", help="ci, fast or paper")
    ap.add_argument("--dried", default=None, help="a dried structure .npz instead of drying")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pressures-mpa", default="2,5,20,60,120")
    ap.add_argument("--halve", action="store_true", help="repeat with every speed halved")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    state = ParticleState.load(args.dried) if args.dried else dried_structure(args.fidelity,
                                                                               args.seed)
    pressures = [float(p) for p in args.pressures_mpa.split(",")]
    runs = [run(state, pressures, CalenderProtocol())]
    if args.halve:
        runs.append(run(state, pressures, CalenderProtocol().slower(2.0)))
    out = {"fidelity": args.fidelity if not args.dried else args.dried, "runs": runs}
    if args.json:
        print(json.dumps(out))
        return out
    for r in runs:
        print(f"N = {r['n_particles']}, v_min = {r['min_plane_speed_m_s']} m/s, I = "
              f"{r['inertial_number_target']:g}: {r['steps']} steps of {r['dt_us'] * 1e3:.3f} "
              f"ns in {r['wall_s']:.0f} s = {r['particle_steps_per_s']:.3g} particle-steps/s; "
              f"uncalendered porosity {100 * r['porosity_uncalendered']:.2f} %, fit R² "
              f"{r['fit_r_squared']:.4f}")
        print(f"  {'p_max MPa':>9s} {'porosity %':>10s} {'at max %':>8s} {'spring-back %':>13s} "
              f"{'I':>8s}")
        for p in r["points"]:
            print(f"  {p['pressure_max_mpa']:9.2f} {100 * p['porosity']:10.2f} "
                  f"{100 * p['porosity_min']:8.2f} {p['springback_percent']:13.2f} "
                  f"{p['inertial_number']:8.2e}")
    if len(runs) == 2:
        for a, b in zip(runs[0]["points"], runs[1]["points"], strict=True):
            print(f"halved speed, {a['pressure_target_mpa']:g} MPa: porosity changes by "
                  f"{100 * (b['porosity'] - a['porosity']):+.2f} percentage points")
    return out


if __name__ == "__main__":
    main()
