"""Particle-resolved 3-D half cell on voxel images: capacity, the Fig. 7C observables and
the solver's speed.

For each structure (``--structures``: particle-state .npz files, voxelized with particle
identities at ``--voxel-um``) discharges the 3-D half cell (:mod:`physics.cell3d`) at
``--c-rate`` and records the capacity, mean voltage, end reason, the Fig. 7C observables at
``--snapshot-dod``, the reacting particles, the time steps (accepted, rejected), Newton and
GMRES iterations, CPU and wall seconds, the process's peak resident memory after the row
(``ru_maxrss``: the largest structure so far sets it) and the throughput (unknowns ×
accepted steps per CPU second).  The first row is always the laterally uniform lattice
image of the P2D check (tests/test_cell3d.py), with its P2D capacity beside it.  Rows go
to versioned JSON (``--out``, default ``benchmarks/data/cell3d.json``, with a provenance
block; finished structures are kept) with a discharge PNG and a lithiation PNG per
structure beside it.

Run: ``python benchmarks/cell3d.py --structures dried.npz,calendered_6MPa.npz
[--voxel-um 1] [--c-rate 1]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import resource
import time
from pathlib import Path

import numpy as np

from experiments.files import write_json_atomic
from experiments.plots import plot_discharge, plot_lithiation
from experiments.tracking import code_version, run_provenance
from physics.cell3d import HalfCell3D, discharge_3d, equivalent_p2d, lattice_image
from physics.cell_params import CellParameters
from physics.voxel import PORE, Microstructure

OUT = Path(__file__).parent / "data" / "cell3d.json"


def lattice_case() -> tuple[Microstructure, CellParameters, dict, dict]:
    """The lattice, its parameters and options, and the P2D capacity of the same electrode."""
    from physics.cell import discharge

    micro = lattice_image()
    base = CellParameters()
    cat = dataclasses.replace(base.cathode, cbd_porosity=0.0, solid_diffusivity_m2_s=1e-12)
    params = dataclasses.replace(base, cathode=cat, separator=dataclasses.replace(
        base.separator, thickness_m=4e-6))
    options = {"sigma_am_s_m": 1e3, "sigma_cbd_s_m": 1e3, "separator_layers": 4}
    p2d = equivalent_p2d(HalfCell3D(micro, params, **options), micro, params, 1e3)
    return micro, params, options, {"p2d_capacity_mah_g": discharge(p2d).capacity_final_mah_g}


def cell_row(name: str, sha: str, micro: Microstructure, params: CellParameters,
             options: dict, extra: dict, c_rate: float, snapshot_dod: float,
             out: Path) -> dict:
    """One structure's row; a discharge stopped half-way resumes from its checkpoint
    (``<out>_<sha>_checkpoint.npz``; the CPU and wall seconds are then those of the last
    part)."""
    size = HalfCell3D(micro, params, **options).size
    checkpoint = out.with_name(f"{out.stem}_{sha}_checkpoint.npz")
    resumed = checkpoint.is_file()
    t0, w0 = time.process_time(), time.perf_counter()
    d = discharge_3d(micro, params, c_rate, snapshot_dod=snapshot_dod, checkpoint=checkpoint,
                     checkpoint_every_s=120.0, **options)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    label = re.sub(r"[^A-Za-z0-9]+", "_", f"{Path(name).stem}_{micro.voxel_um:.2g}um").strip("_")
    q, v = d.capacity_mah_g, d.voltage_v
    plot_discharge([(f"{name}: {q[-1]:.1f} mAh/g", q, v)],
                   out.with_name(f"{out.stem}_{label}_discharge.png"),
                   title=f"3-D half cell, {c_rate:g}C")
    plot_lithiation(micro.image, micro.am_ids, d.particle_stoichiometry, micro.voxel_um,
                    out.with_name(f"{out.stem}_{label}_lithiation.png"),
                    title=f"{name}: lithiation at {d.snapshot_capacity_mah_g:.0f} mAh/g "
                          f"({c_rate:g}C)")
    steps = len(d.newton_iterations)
    return {"structure": name, "sha256": sha, "voxel_um": micro.voxel_um,
            "shape": list(micro.shape), "porosity": float(np.mean(micro.image == PORE)),
            "thickness_um": micro.shape[2] * micro.voxel_um, **extra, "c_rate": c_rate,
            "unknowns": size, "capacity_mah_g": float(q[-1]),
            "mean_voltage_v": float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(q))
                                    / max(float(q[-1]), 1e-30)),
            "end_reason": d.end_reason, "reacting_particles": d.reacting_particles,
            "particles": d.particles, "snapshot_dod": snapshot_dod,
            "snapshot_capacity_mah_g": d.snapshot_capacity_mah_g, **d.observables,
            "lithium_error": d.lithium_error, "salt_error": d.salt_error, "steps": steps,
            "rejected_steps": d.rejected_steps,
            "newton_iterations": int(sum(d.newton_iterations)),
            "gmres_iterations": int(sum(d.gmres_iterations)), "cpu_s": cpu, "wall_s": wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "resumed_from_checkpoint": resumed,
            "unknown_steps_per_cpu_s": size * steps / cpu,
            "git_commit": code_version()["git_commit"]}


def main(argv: list[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from physics.state import ParticleState
    from physics.voxel import voxelize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default="", help="comma-separated particle-state .npz")
    ap.add_argument("--voxel-um", type=float, default=1.0)
    ap.add_argument("--c-rate", type=float, default=1.0)
    ap.add_argument("--snapshot-dod", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    done = {(r["sha256"], r["voxel_um"], r["c_rate"], r["snapshot_dod"]) for r in rows}
    todo = [("lattice (P2D check)", "lattice-10", None)]
    for f in filter(None, args.structures.split(",")):
        path = Path(f)
        todo.append((f"{path.parent.name}/{path.name}",
                     hashlib.sha256(path.read_bytes()).hexdigest()[:12], path))
    for name, sha, path in tqdm(todo, desc="structures"):
        voxel = 1.0 if path is None else args.voxel_um
        if any(d[0] == sha and abs(d[1] - voxel) < 0.02 * voxel and d[2:] == (
                args.c_rate, args.snapshot_dod) for d in done):
            continue
        if path is None:
            micro, params, options, extra = lattice_case()
        else:
            micro = voxelize(ParticleState.load(path), args.voxel_um, particle_ids=True)
            params, options, extra = CellParameters(), {}, {}
        with threadpool_limits(1):  # one BLAS thread: CPU seconds are one core's
            rows.append(cell_row(name, sha, micro, params, options, extra, args.c_rate,
                                 args.snapshot_dod, args.out))
        write_json_atomic(args.out, {"provenance": run_provenance(), "rows": rows})
    print(f"{'structure':<34} {'unknowns':>9} {'ε':>6} {'mAh/g':>7} {'P2D':>7} {'react':>7} "
          f"{'steps':>5} {'Newton':>6} {'GMRES':>6} {'CPU s':>6} {'wall s':>6} {'peak MB':>7} "
          f"{'unk·step/s':>10}")
    for r in rows:
        p2d = r.get("p2d_capacity_mah_g")
        print(f"{r['structure']:<34} {r['unknowns']:9d} {r['porosity']:6.3f} "
              f"{r['capacity_mah_g']:7.1f} {p2d if p2d is None else round(p2d, 1)!s:>7} "
              f"{r['reacting_particles']:>3}/{r['particles']:<3} {r['steps']:5d} "
              f"{r['newton_iterations']:6d} {r['gmres_iterations']:6d} {r['cpu_s']:6.0f} "
              f"{r.get('wall_s', float('nan')):6.0f} {r.get('peak_rss_mb', float('nan')):7.0f} "
              f"{r['unknown_steps_per_cpu_s']:10.3g}")


if __name__ == "__main__":
    main()
