"""DEM calendering: wall time and particle-steps/s of a 5-pressure curve (default ``fast``).

Dries the paper recipe at the chosen fidelity (or reads ``--dried``; dried structures are
cached in ``benchmarks/.cache``), runs :func:`physics.calender.calender` on one shared loading
path for the pressures, and prints the wall time, steps, particle-steps/s and the curve
(porosity after spring-back, spring-back, inertial number at the turning point).  With
``--halve`` it runs the curve again with every plane speed halved and prints the porosity
change per pressure (the quasi-static check).  At low pressure one loading path scatters by
~0.5 percentage points (a 1e-9 µm perturbation of the positions is enough), so ``--copies K``
runs K perturbed copies per setting and compares the ensemble means (± standard error).
``--temperatures-c 25,120`` compares roll temperatures the same way.  The paper's LIGGGHTS
runs took 20-40 h per pressure for 9 859 particles on 28 cores.

Run: ``python benchmarks/calender.py [--fidelity fast] [--pressures-mpa 2,5,20,60,120]
[--halve [--halved-only]] [--base-slowdown F] [--copies K] [--first-copy J]
[--temperatures-c T1,T2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from physics.calender import CalenderProtocol, ProcessConditions, calender
from physics.fidelity import FIDELITY_N_AM
from physics.materials import paper_recipe
from physics.slurry import dry_electrode
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


def perturbed(state: ParticleState, copy: int, amplitude_um: float = 1e-9) -> ParticleState:
    """Copy 0 is the state itself; copy k > 0 has positions moved by N(0, amplitude) [µm]."""
    if copy == 0:
        return state
    rng = np.random.default_rng(copy)
    return replace(state, position_um=state.position_um
                   + rng.normal(0.0, amplitude_um, state.position_um.shape))


def run(state: ParticleState, pressures: list[float], protocol: CalenderProtocol,
        conditions: ProcessConditions | None = None) -> dict:
    conditions = conditions or ProcessConditions()
    res = calender(state, pressures, conditions, protocol=protocol)
    return {
        "temperature_c": conditions.temperature_c,
        "n_particles": res.n_particles, "steps": res.steps, "wall_s": res.wall_s,
        "particle_steps_per_s": res.particle_steps_per_s, "dt_us": res.dt_us,
        "min_plane_speed_m_s": protocol.min_plane_speed_m_s,
        "inertial_number_target": protocol.inertial_number,
        "porosity_uncalendered": res.initial.porosity,
        "points": [{k: v for k, v in p.summary().items() if not k.startswith("stress")}
                   for p in res.points],
        "fit_residual_sd": res.fit.residual_sd if res.fit else None,
    }


def print_run(r: dict, label: str, copy: int) -> None:
    fit = (f"{100 * r['fit_residual_sd']:.2f} pt" if r.get("fit_residual_sd") is not None
           else "-")
    print(f"[{label}, copy {copy}] N = {r['n_particles']}, T = {r['temperature_c']:g} °C, "
          f"v_min = {r['min_plane_speed_m_s']} m/s, I = {r['inertial_number_target']:g}: "
          f"{r['steps']} steps of {r['dt_us'] * 1e3:.3f} ns in {r['wall_s']:.0f} s = "
          f"{r['particle_steps_per_s']:.3g} particle-steps/s; uncalendered porosity "
          f"{100 * r['porosity_uncalendered']:.2f} %, compaction-law RMS {fit}")
    print(f"  {'p_max MPa':>9s} {'porosity %':>10s} {'at max %':>8s} {'spring-back %':>13s} "
          f"{'I':>8s} {'dwell µs':>8s}")
    for p in r["points"]:
        print(f"  {p['pressure_max_mpa']:9.2f} {100 * p['porosity']:10.2f} "
              f"{100 * p['porosity_min']:8.2f} {p['springback_percent']:13.2f} "
              f"{p['inertial_number']:8.2e} {p['dwell_us']:7.2f}"
              f"{'' if p['creep_arrested'] else '*'}", flush=True)


def ensemble_summary(pressures: list[float], settings: dict[str, list[dict]]) -> dict:
    """Mean and standard error [percentage points] of the porosity per setting and pressure,
    and each later setting's difference from the first."""
    out: dict = {"pressures_mpa": pressures, "settings": {}, "differences": {}}
    for label, runs in settings.items():
        por = 100 * np.array([[p["porosity"] for p in r["points"]] for r in runs])
        sem = por.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else \
            np.full(len(pressures), np.nan)
        out["settings"][label] = {"mean_percent": por.mean(axis=0).tolist(),
                                  "sem_pp": sem.tolist(), "copies": len(runs)}
    labels = list(settings)
    base = out["settings"][labels[0]]
    for label in labels[1:]:
        other = out["settings"][label]
        out["differences"][label] = {
            "delta_pp": (np.array(other["mean_percent"]) - base["mean_percent"]).tolist(),
            "sem_pp": np.hypot(other["sem_pp"], base["sem_pp"]).tolist()}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fidelity", default="fast", help="ci, fast or paper")
    ap.add_argument("--dried", default=None, help="a dried structure .npz instead of drying")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pressures-mpa", default="2,5,20,60,120")
    ap.add_argument("--halve", action="store_true", help="repeat with every speed halved")
    ap.add_argument("--base-slowdown", type=float, default=1.0,
                    help="divide every speed of the base setting by this factor (>= 1; "
                         "with --halve the slow setting is twice slower again)")
    ap.add_argument("--halved-only", action="store_true",
                    help="run only the halved-speed setting (to extend its ensemble)")
    ap.add_argument("--temperatures-c", default=None,
                    help="comma-separated roll temperatures to compare (default: 60 only)")
    ap.add_argument("--copies", type=int, default=1,
                    help="perturbed copies per setting (ensemble means)")
    ap.add_argument("--first-copy", type=int, default=0,
                    help="index of the first copy (to extend an ensemble in another process)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.copies < 1:
        ap.error(f"--copies must be >= 1, got {args.copies}")
    if args.first_copy < 0:
        ap.error(f"--first-copy must be >= 0, got {args.first_copy}")
    if not 1.0 <= args.base_slowdown <= 64.0:
        ap.error(f"--base-slowdown must lie in [1, 64], got {args.base_slowdown}")
    base = CalenderProtocol().slower(args.base_slowdown)
    state = ParticleState.load(args.dried) if args.dried else dried_structure(args.fidelity,
                                                                               args.seed)
    pressures = [float(p) for p in args.pressures_mpa.split(",")]
    temperatures = [float(t) for t in args.temperatures_c.split(",")] \
        if args.temperatures_c else [ProcessConditions().temperature_c]
    settings = {f"{t:g} °C": (base, ProcessConditions(temperature_c=t))
                for t in temperatures}
    if args.halve:
        for t in temperatures:
            settings[f"{t:g} °C, halved speed"] = (base.slower(2.0),
                                                   ProcessConditions(temperature_c=t))
    if args.halved_only:
        if not args.halve:
            ap.error("--halved-only needs --halve")
        settings = {k: v for k, v in settings.items() if k.endswith("halved speed")}
    results: dict[str, list[dict]] = {label: [] for label in settings}
    for copy in range(args.first_copy, args.first_copy + args.copies):
        for label, (protocol, conditions) in settings.items():
            r = run(perturbed(state, copy), pressures, protocol, conditions)
            results[label].append(r)
            if not args.json:
                print_run(r, label, copy)
    summary = ensemble_summary(pressures, results)
    out = {"fidelity": args.fidelity if not args.dried else args.dried,
           "runs": results, "summary": summary}
    if args.json:
        print(json.dumps(out))
        return out
    for label, diff in summary["differences"].items():
        for p, d, e in zip(pressures, diff["delta_pp"], diff["sem_pp"], strict=True):
            print(f"{label} vs {next(iter(results))}, {p:g} MPa: porosity changes by {d:+.2f} "
                  f"± {e:.2f} percentage points (mean of {args.copies} copies ± s.e.)")
    return out


if __name__ == "__main__":
    main()
