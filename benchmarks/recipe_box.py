"""Dried porosity over the declared recipe box (AM mass fraction x solid content).

Dries every recipe of a grid over the box (AM 0.80-0.98 wt %, solids 0.50-0.80; carbon and
binder split the rest equally, as :meth:`physics.pipeline.ProcessInputs.recipe`) with the full
drying protocol (:class:`physics.slurry.DryingProtocol` defaults, wall mode) and reads the dried
film (top plane lifted) and the film after the switch to the DEM law
(:func:`physics.calender.dem_relaxed`): porosity, thickness, AM-AM contacts per AM.  Writes
the rows as versioned JSON (``--out``, default ``benchmarks/data/recipe_box.json``; finished
recipes are kept, so a stopped run resumes) and a PNG of porosity against solid content per
AM fraction beside it.

Run: ``python benchmarks/recipe_box.py [--n-am 30] [--seeds 0] [--am 0.80,0.89,0.98]
[--solids 0.50,0.65,0.80]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from physics.calender import dem_relaxed
from physics.pipeline import ProcessInputs
from physics.slurry import dry_electrode
from physics.structure import am_skeleton, structure_metrics

OUT = Path(__file__).parent / "data" / "recipe_box.json"


def dried_row(am_mass_fraction: float, solid_content: float, n_am: int, seed: int) -> dict:
    """One recipe dried at full protocol length: porosity [-], thickness [µm], AM-AM contacts
    per AM of the dried film and of the DEM-relaxed film, CPU seconds."""
    recipe = ProcessInputs(am_mass_fraction=am_mass_fraction,
                           solid_content=solid_content).recipe()
    t0 = time.process_time()
    res = dry_electrode(recipe, n_am, seed=seed)
    film = dem_relaxed(res.dried)
    dried, relaxed = structure_metrics(res.dried), structure_metrics(film)
    return {"am_mass_fraction": am_mass_fraction, "solid_content": solid_content,
            "n_am": n_am, "seed": seed, "n_cbd": int((res.dried.species == 1).sum()),
            "porosity_dried": dried.porosity, "thickness_dried_um": dried.thickness_um,
            "porosity_dem": relaxed.porosity,
            "am_contacts_per_am_dried": am_skeleton(res.dried).contacts_per_am,
            "am_contacts_per_am_dem": am_skeleton(film).contacts_per_am,
            "dt_halvings": res.dt_halvings, "cpu_s": time.process_time() - t0}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for am in sorted({r["am_mass_fraction"] for r in rows}):
        sub = [r for r in rows if r["am_mass_fraction"] == am]
        solids = sorted({r["solid_content"] for r in sub})
        eps = [[100 * r["porosity_dried"] for r in sub if r["solid_content"] == s]
               for s in solids]
        ax.errorbar(solids, [np.mean(e) for e in eps],
                    yerr=[np.std(e, ddof=1) if len(e) > 1 else 0.0 for e in eps],
                    fmt="o-", capsize=3, label=f"AM {am:.2f}")
    ax.set_xlabel("solid content [-]")
    ax.set_ylabel("dried porosity [%]")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    from tqdm import tqdm

    from experiments.files import write_json_atomic
    from experiments.tracking import code_version, run_provenance

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-am", type=int, default=30)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--am", default="0.80,0.89,0.98")
    ap.add_argument("--solids", default="0.50,0.65,0.80")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    done = {(r["am_mass_fraction"], r["solid_content"], r["n_am"], r["seed"]) for r in rows}
    todo = [(float(a), float(s), args.n_am, int(seed)) for seed in args.seeds.split(",")
            for a in args.am.split(",") for s in args.solids.split(",")]
    for key in tqdm([k for k in todo if k not in done], desc="recipes"):
        try:
            rows.append(dried_row(*key))
        except Exception as err:  # recorded, and the grid goes on
            rows.append({"am_mass_fraction": key[0], "solid_content": key[1], "n_am": key[2],
                         "seed": key[3], "error": f"{type(err).__name__}: {err}"})
        rows[-1]["git_commit"] = code_version()["git_commit"]
        write_json_atomic(args.out, {"provenance": run_provenance(), "rows": rows})
        plot([r for r in rows if "error" not in r], args.out.with_suffix(".png"))
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    for r in failed:
        print(f"failed: AM {r['am_mass_fraction']} solids {r['solid_content']}: {r['error']}")
    plot(rows, args.out.with_suffix(".png"))
    print(f"{'AM':>5} {'solids':>6} {'seed':>4} {'n_cbd':>6} {'dried %':>8} {'DEM %':>7} "
          f"{'AM-AM/AM':>8} {'CPU s':>7}")
    for r in sorted(rows, key=lambda r: (r["am_mass_fraction"], r["solid_content"])):
        print(f"{r['am_mass_fraction']:5.2f} {r['solid_content']:6.2f} {r['seed']:4d} "
              f"{r['n_cbd']:6d} {100 * r['porosity_dried']:8.2f} {100 * r['porosity_dem']:7.2f} "
              f"{r['am_contacts_per_am_dried']:8.2f} {r['cpu_s']:7.0f}")


if __name__ == "__main__":
    main()
