"""Voxel transport: solve time, voxels/s and peak memory (128³, 256³, the paper's electrode).

Cases (each runs in its own process so its peak resident memory is its own):

* ``random128`` / ``random256``: three-phase images, overlapping AM spheres (radius 8 voxels)
  to 50 % and CBD spheres (radius 2) to 10 %, pore the rest.
* ``paper``: the paper recipe dried at ``paper`` fidelity (396 AM + 9 463 CBD, dried
  structures cached in ``benchmarks/.cache``), voxelized at 0.25 µm (103 × 103 × ~650).

For each case: τ and D_eff along x, y, z (pore D0, CBD D0·0.47^1.5), σ_eff along z (AM 5e-3,
CBD 10 S/m), iterations, seconds per direction, voxels/s (voxels × directions / s) and peak
RSS.  With ``--taufactor`` (needs ``pip install taufactor``) the same pore-phase solve runs in
TauFactor's ``Solver`` (float32, its default ``conv_crit`` 1e-2) for a time comparison; the
τ error of each against a tight reference is printed beside its time.

Run: ``python benchmarks/transport.py [--cases random128,random256,paper] [--taufactor]
[--json]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np

CASES = ("random128", "random256", "paper")


def random_three_phase(n: int, seed: int = 0) -> np.ndarray:
    """AM spheres (radius 8) to 50 %, then CBD spheres (radius 2) in the pores to 10 %."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    img = np.zeros((n, n, n), np.uint8)
    for label, radius, target in ((1, 8.0, 0.5), (2, 2.0, 0.1)):
        count = int(target * n ** 3 / (4 / 3 * np.pi * radius ** 3) * 1.2)
        while np.mean(img == label) < target:
            seeds = np.zeros(img.shape, bool)
            idx = rng.integers(0, n, size=(count // 4 + 1, 3))
            seeds[idx[:, 0], idx[:, 1], idx[:, 2]] = True
            ball = ndimage.distance_transform_edt(~seeds) < radius
            img[ball & (img == 0)] = label
    return img


def case_image(case: str) -> tuple[np.ndarray, float]:
    if case == "random128":
        return random_three_phase(128), 0.25
    if case == "random256":
        return random_three_phase(256), 0.25
    if case == "paper":
        sys.path.insert(0, str(Path(__file__).parent))
        from calender import dried_structure

        from physics.voxel import voxelize

        micro = voxelize(dried_structure("paper", 0), 0.25)
        return np.asarray(micro.image), micro.voxel_um
    raise ValueError(f"unknown case {case!r}; allowed: {', '.join(CASES)}")


def run_case(case: str, taufactor: bool) -> dict:
    from physics.transport import diffusion_directions, electronic_conductivity
    from physics.voxel import Microstructure

    image, voxel_um = case_image(case)
    micro = Microstructure(image, voxel_um)
    # compile the kernels on a small image first so the timings are solve times
    diffusion_directions(Microstructure(image[:16, :16, :16].copy(), voxel_um), "x")
    t = time.perf_counter()
    diff = diffusion_directions(micro, "xyz")
    t_diff = time.perf_counter() - t
    t = time.perf_counter()
    sigma = electronic_conductivity(micro, "z")["z"]
    t_sigma = time.perf_counter() - t
    out = {
        "case": case, "shape": list(image.shape), "voxels": int(image.size),
        "porosity": micro.porosity, "voxel_um": voxel_um,
        "tau": {k: d.tortuosity for k, d in diff.items()},
        "iterations": {k: d.iterations for k, d in diff.items()},
        "seconds": {k: d.wall_s for k, d in diff.items()},
        "diffusion_xyz_s": t_diff, "voxels_per_s": 3 * image.size / t_diff,
        "sigma_eff_z_s_m": sigma.k_eff, "sigma_iterations": sigma.iterations,
        "sigma_z_s": t_sigma,
    }
    if taufactor:
        out["taufactor"] = taufactor_compare(image)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def taufactor_compare(image: np.ndarray) -> dict:
    """Pore-only τ along x with TauFactor's Solver (default settings) and with ours at the
    same pore-only problem; errors against our rtol = 1e-10 solve."""
    import taufactor as tf
    import torch

    from physics.transport import SolverSettings, diffusion_directions
    from physics.voxel import Microstructure

    micro = Microstructure(image, 1.0)
    ref = diffusion_directions(micro, "x", cbd_porosity=0.0,
                               settings=SolverSettings(rtol=1e-10))["x"].tortuosity
    pore = (image == 0).astype(np.uint8)
    t = time.perf_counter()
    solver = tf.Solver(pore, device="cpu")
    solver.solve(verbose=False)
    t_tf = time.perf_counter() - t
    tau_tf = float(np.asarray(solver.tau).ravel()[0])
    rows = {"taufactor": {"seconds": t_tf, "tau": tau_tf, "rel_error": tau_tf / ref - 1,
                          "iterations": int(solver.iter), "torch_threads":
                          torch.get_num_threads()}}
    for rtol in (1e-4, 1e-6):
        t = time.perf_counter()
        d = diffusion_directions(micro, "x", cbd_porosity=0.0,
                                 settings=SolverSettings(rtol=rtol))["x"]
        rows[f"ours_rtol{rtol:g}"] = {"seconds": time.perf_counter() - t, "tau": d.tortuosity,
                                      "rel_error": d.tortuosity / ref - 1,
                                      "iterations": d.iterations}
    return rows


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--taufactor", action="store_true", help="time TauFactor beside ours")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    ctx = mp.get_context("spawn")
    results = []
    for case in cases:
        with ctx.Pool(1) as pool:
            r = pool.apply(run_case, (case, args.taufactor))
        results.append(r)
        if args.json:
            continue
        shape = "×".join(str(s) for s in r["shape"])
        print(f"{case} ({shape} = {r['voxels'] / 1e6:.2f} M voxels, porosity "
              f"{r['porosity']:.3f}): τ x/y/z = " + " / ".join(
                  f"{r['tau'][k]:.4f}" for k in "xyz")
              + f"; {r['diffusion_xyz_s']:.1f} s for x+y+z (" + ", ".join(
                  f"{r['seconds'][k]:.1f} s/{r['iterations'][k]} it" for k in "xyz")
              + f") = {r['voxels_per_s'] / 1e6:.2f} M voxels/s; σ_eff z "
                f"{r['sigma_eff_z_s_m']:.3g} S/m in {r['sigma_z_s']:.1f} s "
                f"({r['sigma_iterations']} it); peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        for name, row in r.get("taufactor", {}).items():
            print(f"  pore-only τ_x, {name}: {row['seconds']:.2f} s, {row['iterations']} it, "
                  f"τ {row['tau']:.6f} (error {row['rel_error']:+.1e})", flush=True)
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
