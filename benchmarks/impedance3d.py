"""3-D blocking impedance on voxel images: τ_EIS beside the voxel τ_z, and the solver's speed.

For each structure (``--structures``: .npz particle states, voxelized at ``--voxel-um``, or
.npy images) solves the blocking spectrum on the image (:mod:`physics.impedance3d`) and
records τ_EIS (transmission-line fit and low-frequency intercept), the voxel τ_z of the same
conductivity field, the fit's residual, GMRES iterations and the throughput (voxel ×
frequency solves per CPU second).  The first row is always the straight-pore check (a
1-voxel pore, τ = 1 exactly).  Rows go to versioned JSON (``--out``, default
``benchmarks/data/impedance3d.json``, with a provenance block; finished structures are kept)
and a Nyquist PNG per structure beside it.

Run: ``python benchmarks/impedance3d.py --structures dried.npz,calendered_6MPa.npz
[--voxel-um 0.5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np

from experiments.files import write_json_atomic
from experiments.plots import plot_nyquist
from experiments.tracking import code_version, run_provenance
from physics.impedance import tlm_blocking_impedance
from physics.impedance3d import blocking_impedance_3d

OUT = Path(__file__).parent / "data" / "impedance3d.json"


def load_image(path: Path, voxel_um: float) -> tuple[np.ndarray, float, dict]:
    if path.suffix == ".npy":
        return np.load(path), voxel_um, {}
    from physics.state import ParticleState
    from physics.structure import structure_metrics
    from physics.voxel import voxelize

    state = ParticleState.load(path)
    micro = voxelize(state, voxel_um)
    return micro.image, micro.voxel_um, {"particle_porosity": structure_metrics(state).porosity}


def straight_pore_image(layers: int = 64) -> np.ndarray:
    img = np.ones((3, 3, layers), dtype=np.uint8)
    img[1, 1, :] = 0
    return img


def impedance_row(name: str, sha: str, image: np.ndarray, voxel_um: float, extra: dict,
                  png: Path) -> dict:
    t0 = time.process_time()
    r = blocking_impedance_3d(image, voxel_um)
    cpu = time.process_time() - t0
    plot_nyquist([(f"τ_EIS {r.tau_eis:.2f} (fit), {r.tau_eis_low_frequency:.2f} (LF); "
                   f"τ_z {r.tau_z:.2f}", r.z_ohm_m2,
                   tlm_blocking_impedance(r.freq_hz, r.fit.r_ion_ohm_m2, r.fit.c_dl_f_m2,
                                          r.fit.r_hf_ohm_m2))], png, title=name)
    return {"structure": name, "sha256": sha, "voxel_um": voxel_um, "shape": list(image.shape),
            "voxels": int(image.size), "porosity": r.porosity, "thickness_um": r.thickness_um,
            **extra, "tau_z": r.tau_z, "tau_eis_fit": r.tau_eis,
            "tau_eis_low_frequency": r.tau_eis_low_frequency,
            "fit_rms_relative_residual": r.fit.rms_relative_residual,
            "frequencies": int(r.freq_hz.size), "f_min_hz": float(r.freq_hz.min()),
            "f_max_hz": float(r.freq_hz.max()),
            "gmres_iterations_mean": float(np.mean(r.iterations)),
            "gmres_iterations_max": int(max(r.iterations)), "cpu_s": cpu,
            "voxel_frequency_solves_per_cpu_s": image.size * r.freq_hz.size / cpu,
            "git_commit": code_version()["git_commit"]}


def main(argv: list[str] | None = None) -> None:
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default="", help="comma-separated .npz or .npy files")
    ap.add_argument("--voxel-um", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    done = {(r["sha256"], r["voxel_um"]) for r in rows}
    todo = [("straight pore (64 layers)", "straight-pore-64", None)]
    for f in filter(None, args.structures.split(",")):
        path = Path(f)
        todo.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()[:12], path))
    for name, sha, path in tqdm(todo, desc="structures"):
        voxel = 0.5 if path is None else args.voxel_um
        if (sha, voxel) in done:
            continue
        image, voxel_um, extra = (straight_pore_image(), 0.5, {}) if path is None else \
            load_image(path, args.voxel_um)
        label = re.sub(r"[^A-Za-z0-9]+", "_", Path(name).stem).strip("_")
        png = args.out.with_name(f"{args.out.stem}_{label}.png")
        rows.append(impedance_row(name, sha, image, voxel_um, extra, png))
        write_json_atomic(args.out, {"provenance": run_provenance(), "rows": rows})
    print(f"{'structure':<28} {'voxels':>9} {'ε':>6} {'τ_z':>6} {'τ_EIS fit':>9} "
          f"{'τ_EIS LF':>8} {'fit RMS':>7} {'its':>4} {'CPU s':>6} {'vox·f/s':>9}")
    for r in rows:
        print(f"{r['structure']:<28} {r['voxels']:9d} {r['porosity']:6.3f} {r['tau_z']:6.3f} "
              f"{r['tau_eis_fit']:9.3f} {r['tau_eis_low_frequency']:8.3f} "
              f"{100 * r['fit_rms_relative_residual']:6.1f}% {r['gmres_iterations_max']:4d} "
              f"{r['cpu_s']:6.0f} {r['voxel_frequency_solves_per_cpu_s']:9.3g}")


if __name__ == "__main__":
    main()
