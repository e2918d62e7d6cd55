"""Engine throughput: particle-steps per second on dense polydisperse AM + CBD packings.

Builds (and caches under ``benchmarks/.cache``) periodic packings of ~2 000 and ~10 000
particles with the paper's AM size mix and the 96:2:2 mass-balance CBD count, compressed with
the Table 2 law to a solid fraction ~0.6, then times NVE steps of the full law (Hertz + tangential
history + SJKR, dt = 0.1 ns as the paper) with 1 and 2 numba threads.  With ``--liggghts`` the
same packing, law and step run in LIGGGHTS 3.8 (``liggghts`` on PATH, one process) for
comparison.

Each size and thread count is timed with two laws side by side: ``paper`` (Table 2) and
``extended`` (every model of the registry active as ``BinderContact`` uses them: hysteretic
elasto-plastic adhesive and a binder-bridge arm on CBD–CBD and AM–CBD pairs, EPSD2 rolling
resistance on AM–AM pairs), and ``yield`` (the extended law with a Thornton–Ning yield
pressure of 2 GPa on the AM–AM contacts), ``coated`` (``yield`` with the coated friction on
the AM–AM contacts), and the ratio of each law's throughput to the paper law's is printed (the
extended laws may cost at most 1.3×).

Run: ``python benchmarks/engine.py [--liggghts] [--steps 2000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from physics.calender import BinderContact
from physics.engine import Berendsen, Langevin, Simulation, liggghts_table, with_models
from physics.engine.placement import random_placement
from physics.forcefield import DRIED_FORCE_FIELD
from physics.materials import ALUMINIUM, CBD, NMC, STEEL, paper_recipe, sphere_volume_um3

CACHE = Path(__file__).parent / ".cache"
DT_US = 1e-4
TABLE = liggghts_table([NMC, CBD, ALUMINIUM, STEEL])
EXTENDED = BinderContact(plasticity=0.5, adhesion_ratio=0.2, am_rolling=0.1,
                         bridge_stiffness_ratio=1.0, bridge_equilibrium_fraction=0.5)
EXTENDED_TABLE = with_models(TABLE, EXTENDED.pair_models(1.0))
# the same with the Thornton–Ning yield on the AM–AM contacts (yielded contacts take the
# longer branch of the kernel)
YIELD = BinderContact(plasticity=0.5, adhesion_ratio=0.2, am_rolling=0.1, am_yield_gpa=2.0,
                      bridge_stiffness_ratio=1.0, bridge_equilibrium_fraction=0.5)
# the yield law with coated AM–AM friction (one more history read and a ramp per AM–AM contact)
COATED = BinderContact(plasticity=0.5, adhesion_ratio=0.2, am_rolling=0.1, am_yield_gpa=2.0,
                       bridge_stiffness_ratio=1.0, bridge_equilibrium_fraction=0.5,
                       am_film_depth=0.02, am_bare_friction=0.2)
LAWS = {"paper": TABLE, "extended": EXTENDED_TABLE,
        "yield": with_models(TABLE, YIELD.pair_models(1.0)),
        "coated": with_models(TABLE, COATED.pair_models(1.0))}


def build_packing(n_target: int, seed: int = 0) -> dict:
    """Dense periodic AM + CBD packing of about ``n_target`` particles (cached npz)."""
    path = CACHE / f"packing_{n_target}_{seed}.npz"
    if path.exists():
        return dict(np.load(path))
    recipe = paper_recipe()
    n_am = max(1, round(n_target * 396 / (396 + 9463)))
    counts = recipe.counts_for_am(n_am)
    d_am = np.repeat(np.asarray(counts.am_diameters_um) * DRIED_FORCE_FIELD.am_contact_factor,
                     counts.am_counts)
    radius = np.concatenate([0.5 * d_am, np.full(counts.n_cbd, recipe.cbd_radius_dry_um)])
    ptype = np.concatenate([np.zeros(d_am.size, int), np.ones(counts.n_cbd, int)])
    density = np.where(ptype == 0, recipe.am_density_g_cm3, recipe.cbd_density_g_cm3)
    mass = density * sphere_volume_um3(2 * radius)
    solid = float(sphere_volume_um3(2 * radius).sum())
    length = (solid / 0.36) ** (1 / 3)
    pos = random_placement(radius, (0, 0, 0), (length,) * 3, seed=seed)
    sim = Simulation(pos, radius, mass, ptype, TABLE, (0, 0, 0), (length,) * 3, dt_us=DT_US)
    baro = Berendsen(pressure_kpa=2000.0, tau_us=1.0, bulk_modulus_kpa=1e4,
                     max_strain_per_step=2e-5)
    damp = Langevin(temperature_k=0.0, damping_per_us=20.0, seed=seed)
    t0 = time.perf_counter()
    for _ in range(60):
        sim.run(500, thermostat=damp, barostat=baro)
        phi = solid / sim.volume_um3
        print(f"  compress n={sim.n} phi={phi:.3f} P={np.trace(sim.pressure_tensor_kpa()) / 3:.0f} "
              f"kPa", file=sys.stderr)
        if phi > 0.58:
            break
    sim.run(2000, thermostat=damp)
    print(f"  packing built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    data = {"position": sim.position, "radius": radius, "mass": mass, "ptype": ptype,
            "box": sim.box_len.copy(), "density": density}
    CACHE.mkdir(exist_ok=True)
    np.savez_compressed(path, **data)
    return data


def time_engine(packing: dict, n_steps: int, n_threads: int, law: str = "paper") -> dict:
    sim = Simulation(packing["position"], packing["radius"], packing["mass"], packing["ptype"],
                     LAWS[law], (0, 0, 0), packing["box"], dt_us=DT_US, n_threads=n_threads)
    sim.run(50)  # warm-up (compiled kernels are cached on disk)
    t0 = time.perf_counter()
    sim.run(n_steps)
    wall = time.perf_counter() - t0
    i, _ = sim.contacts()
    return {"law": law, "pairs_listed": int(sim.pair_i.size), "n_particles": sim.n,
            "threads": n_threads,
            "steps": n_steps, "wall_s": wall,
            "particle_steps_per_s": sim.n * n_steps / wall,
            "contacts_per_particle": 2 * i.size / sim.n, "neighbor_rebuilds": sim.n_rebuilds}


def write_liggghts_data(packing: dict, path: Path) -> None:
    box = packing["box"]
    lines = ["LIGGGHTS data file: electrode-twin benchmark packing", "",
             f"{packing['radius'].size} atoms", "4 atom types", "",
             f"0 {box[0]:.17g} xlo xhi", f"0 {box[1]:.17g} ylo yhi", f"0 {box[2]:.17g} zlo zhi",
             "",
             "Atoms", ""]
    for k, (p, r, t, rho) in enumerate(zip(packing["position"], packing["radius"],
                                          packing["ptype"], packing["density"], strict=True)):
        lines.append(f"{k + 1} {t + 1} {2 * r:.17g} {rho:.17g} {p[0]:.17g} {p[1]:.17g} "
                     f"{p[2]:.17g}")
    path.write_text("\n".join(lines) + "\n")


def time_liggghts(packing: dict, n_steps: int, skin: float, neighbor_style: str) -> dict:
    deck = (Path(__file__).parent / "liggghts" / "bench.in").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        write_liggghts_data(packing, Path(tmp) / "packing.data")
        (Path(tmp) / "bench.in").write_text(deck)
        out = subprocess.run(
            ["liggghts", "-in", "bench.in", "-log", "log.txt", "-echo", "none",
             "-var", "dt", repr(DT_US), "-var", "nsteps", str(n_steps), "-var", "skin",
             repr(skin), "-var", "nstyle", neighbor_style],
            cwd=tmp, capture_output=True, text=True)
        log = (Path(tmp) / "log.txt").read_text() if (Path(tmp) / "log.txt").exists() else ""
    m = re.search(r"Loop time of (\S+) on (\d+) procs for (\d+) steps", log)
    neighbors = re.search(r"Total # of neighbors = (\d+)", log)
    if m is None or neighbors is None or int(neighbors.group(1)) == 0:
        raise RuntimeError(f"LIGGGHTS failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    wall = float(m.group(1))
    n = packing["radius"].size
    return {"n_particles": n, "threads": 1, "steps": n_steps, "wall_s": wall,
            "particle_steps_per_s": n * n_steps / wall, "neighbor": neighbor_style,
            "pairs_listed": int(neighbors.group(1))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000", help="particle counts (comma separated)")
    ap.add_argument("--steps", type=int, default=2000, help="timed steps per run")
    ap.add_argument("--liggghts", action="store_true", help="also time LIGGGHTS 3.8")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args(argv)
    rows = []
    for n_target in (int(s) for s in args.sizes.split(",")):
        packing = build_packing(n_target)
        for threads in (1, 2):
            for law in LAWS:
                rows.append({"code": "electrode-twin",
                             **time_engine(packing, args.steps, threads, law)})
                if law == "paper":
                    paper_rate = rows[-1]["particle_steps_per_s"]
                else:
                    rows[-1]["cost_vs_paper"] = paper_rate / rows[-1]["particle_steps_per_s"]
                print(rows[-1], file=sys.stderr)
        if args.liggghts:
            if shutil.which("liggghts") is None:
                raise SystemExit("liggghts not on PATH (apt-get install liggghts)")
            # LIGGGHTS 3.8 `neighbor multi` builds no granular pairs at all (0 neighbours in
            # its log), so `bin` is the only valid style to compare with.
            skin = 0.3 * float(packing["radius"].min())
            rows.append({"code": "LIGGGHTS 3.8", **time_liggghts(packing, args.steps, skin, "bin")})
            print(rows[-1], file=sys.stderr)
    result = {"dt_us": DT_US, "laws": {"paper": "hertz tangential history cohesion sjkr "
                                                "(Table 2)",
                                       "extended": "paper + hysteretic(0.5, 0.2) + bridge(1, 1 "
                                                   "µs) on binder pairs, epsd2(0.1) on AM-AM",
                                       "yield": "extended + thornton-ning(2 GPa) on AM-AM",
                                       "coated": "yield + coated-friction(0.2, 0.02) on "
                                                 "AM-AM"},
              "rows": rows}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'code':16s} {'law':9s} {'N':>6s} {'thr':>3s} {'steps':>6s} {'wall s':>8s} "
              f"{'particle-steps/s':>17s}")
        for r in rows:
            print(f"{r['code']:16s} {r.get('law', 'paper'):9s} {r['n_particles']:6d} "
                  f"{r['threads']:3d} {r['steps']:6d} {r['wall_s']:8.2f} "
                  f"{r['particle_steps_per_s']:17.3e}"
                  + (f"  (neighbor {r['neighbor']})" if "neighbor" in r else "")
                  + (f"  cost {r['cost_vs_paper']:.2f}x paper" if "cost_vs_paper" in r else ""))
    return result


if __name__ == "__main__":
    main()
