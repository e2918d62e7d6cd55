"""The electronic-limit calibrations as versioned JSON for the validation page.

Each ``etwin calibrate --target electronic`` output folder (its ``summary.json``) becomes one
named entry of ``benchmarks/data/electronic_limit.json`` (entries of other names are kept),
with the voxel CPU cost and a provenance block; ``python -m experiments.validation_tables
--write`` then renders docs/validation/electronic_limit.md.

``--resolution A.npz,B.npz`` also records, per structure and voxel edge (1, 0.5, 0.33,
0.25 µm), whether the CBD spans the image along z and σ_eff at the transport defaults (no
contact resistance): the voxel edge the CBD network needs.  ``--network A.npz,B.npz``
records the same structures' contact networks (:mod:`physics.conduction`): contacts per
particle, whether the CBD contacts alone span the film, and σ_eff at the transport defaults
and at σ_CBD = 1 S/m with G_AM-CBD = 1e4 S/m².

Run: ``python benchmarks/electronic_limit.py [NAME=CAL_OUT ...] [--resolution A.npz,B.npz]
[--network A.npz,B.npz] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.files import write_json_atomic
from experiments.tracking import run_provenance

OUT = Path(__file__).parent / "data" / "electronic_limit.json"
KEEP = ("parameters", "map", "states", "calibrated", "fixed", "voxel_um", "conduction",
        "am_conductivity", "n_design",
        "design_runs", "solve_cpu_s", "mcmc", "structures")


def entry(name: str, cal_out: Path) -> dict:
    summary = json.loads((cal_out / "summary.json").read_text())
    states = summary["states"]
    by = {s["state"]: s for s in states}
    calendered = [s for s in states if s["measured_porosity"] < 0.40]
    gain = {}
    if len(calendered) >= 2:
        lo, hi = calendered[0], calendered[-1]  # least and most compacted, in table order
        gain = {"model_gain": hi["capacity_mah_g"] / lo["capacity_mah_g"] - 1.0,
                "measured_gain": hi["measured_mah_g"] / lo["measured_mah_g"] - 1.0,
                "gain_states": [lo["state"], hi["state"]]}
    return {"name": name, **{k: summary[k] for k in KEEP if k in summary}, **gain,
            "structures": [[Path(f).parent.name + "/" + Path(f).name for f in row]
                           for row in summary["structures"]],
            "uncalendered_mah_g": by[states[0]["state"]]["capacity_mah_g"]}


def resolution_rows(structure: Path, voxels_um=(1.0, 0.5, 0.33, 0.25)) -> list[dict]:
    """CBD percolation along z and σ_eff [S/m] of one structure per voxel edge."""
    import time

    from physics.state import ParticleState
    from physics.transport import electronic_conductivity, phase_percolates
    from physics.voxel import CBD, PORE, voxelize

    state = ParticleState.load(structure)
    rows = []
    for h in voxels_um:
        t0 = time.process_time()
        micro = voxelize(state, h, particle_ids=True)
        sol = electronic_conductivity(micro, "z")["z"]
        rows.append({"structure": f"{structure.parent.name}/{structure.name}", "voxel_um": h,
                     "shape": list(micro.shape),
                     "porosity": float((micro.image == PORE).mean()),
                     "cbd_fraction": float((micro.image == CBD).mean()),
                     "cbd_percolates": bool(phase_percolates(micro.image, (CBD,), 2)),
                     "sigma_eff_s_m": float(sol.k_eff), "cpu_s": time.process_time() - t0})
    return rows


def network_row(structure: Path) -> dict:
    """Contacts and σ_eff [S/m] of one structure's contact network (module docstring)."""
    import dataclasses
    import time

    import numpy as np

    from physics.conduction import CBD_CBD, contact_network, network_conductivity
    from physics.state import ParticleState
    from physics.structure import structure_metrics
    from physics.transport import ContactConductance

    t0 = time.process_time()
    state = ParticleState.load(structure)
    net = contact_network(state)
    default = network_conductivity(net)
    reference = network_conductivity(net, sigma_cbd_s_m=1.0,
                                     contact=ContactConductance(am_cbd_s_m2=1e4))
    cbd = net.kind == CBD_CBD
    cbd_only = network_conductivity(dataclasses.replace(
        net, i=net.i[cbd], j=net.j[cbd], contact_radius_m=net.contact_radius_m[cbd],
        kind=net.kind[cbd]))
    return {"structure": f"{structure.parent.name}/{structure.name}",
            "porosity": structure_metrics(state).porosity,
            **{k: float(v) for k, v in net.contacts_per_particle().items()},
            "median_contact_radius_um": {
                name: float(1e6 * np.median(net.contact_radius_m[net.kind == k]))
                for k, name in ((0, "am_am"), (1, "am_cbd"), (2, "cbd_cbd"))},
            "cbd_contacts_span": bool(cbd_only.percolates),
            "sigma_eff_default_s_m": default.sigma_eff_s_m,
            "sigma_eff_reference_s_m": reference.sigma_eff_s_m,
            "current_share_reference": reference.current_share,
            "cpu_s": time.process_time() - t0}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help="NAME=CAL_OUT (an etwin calibrate output folder)")
    ap.add_argument("--resolution", default=None,
                    help="comma-separated structures (.npz) for the voxel-edge scan")
    ap.add_argument("--network", default=None,
                    help="comma-separated structures (.npz) for the contact-network rows")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = json.loads(args.out.read_text()) if args.out.is_file() else {"entries": []}
    if args.resolution:
        data["resolution"] = [row for f in args.resolution.split(",")
                              for row in resolution_rows(Path(f))]
        for row in data["resolution"]:
            print(f"{row['structure']} {row['voxel_um']} µm: CBD spans "
                  f"{row['cbd_percolates']}, σ_eff {row['sigma_eff_s_m']:.3g} S/m")
    if args.network:
        data["network"] = [network_row(Path(f)) for f in args.network.split(",")]
        for row in data["network"]:
            print(f"{row['structure']}: CBD contacts span {row['cbd_contacts_span']}, σ_eff "
                  f"{row['sigma_eff_default_s_m']:.3g} S/m (defaults), "
                  f"{row['sigma_eff_reference_s_m']:.3g} S/m (σ_CBD 1, G 1e4)")
    entries = {e["name"]: e for e in data["entries"]}
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        entries[name] = entry(name, Path(folder))
        e = entries[name]
        print(f"{name}: " + ", ".join(f"{s['state']} {s['capacity_mah_g']:.1f}"
                                      for s in e["states"]) + " mAh/g")
    write_json_atomic(args.out, {"provenance": run_provenance(),
                                 "entries": list(entries.values()),
                                 "resolution": data.get("resolution", []),
                                 "network": data.get("network", [])})


if __name__ == "__main__":
    main()
