"""The two press protocols on the same dried films: porosity after recovery, spring-back and
AM-AM coordination per pressure, with the seed-ensemble scatter.

'quasi-static' (inertial-number speed law, creep-arrest dwell) and 'paper' (constant plane
speed, straight back up at the target; Ngandjong et al. 2021 §2), both with the default
contact law (Table 2, the ``paper`` preset) on each ``--dried`` film.  Rows go to versioned JSON
(``--out``, default ``benchmarks/data/protocols_ci.json``, with a provenance block; finished
films are kept, so a stopped run resumes); the table prints mean ± sd over the films per
protocol and pressure, and a PNG beside the JSON plots it.

Run: ``python benchmarks/protocols.py --dried s0.npz,s1.npz,DIR [--pressures 2,6,20,56]``
(a film is an .npz or an ``etwin dry`` output directory).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from experiments.tracking import code_version, run_provenance
from physics.calender import CalenderProtocol, calender
from physics.state import ParticleState

OUT = Path(__file__).parent / "data" / "protocols_ci.json"


def film_hash(dried: Path) -> str:
    return hashlib.sha256(dried.read_bytes()).hexdigest()[:12]


def protocol_rows(dried: Path, film_sha256: str, pressures_mpa: list[float], press: str
                  ) -> list[dict]:
    """One film pressed with one protocol: a row per pressure."""
    t0 = time.process_time()
    res = calender(ParticleState.load(dried), pressures_mpa, protocol=CalenderProtocol(press=press))
    cpu_s = time.process_time() - t0
    commit = code_version()["git_commit"]
    return [{"film": dried.name, "film_sha256": film_sha256, "protocol": press,
             "pressure_target_mpa": q.pressure_target_mpa,
             "pressure_reported_mpa": q.pressure_max_mpa, "porosity": q.porosity,
             "porosity_min": q.porosity_min, "springback_percent": q.springback_percent,
             "am_contacts_per_am_max": q.am_contacts_per_am_max,
             "am_contacts_per_am_recovered": q.am_contacts_per_am_recovered,
             "load_share_am_am": q.load_share.get("AM-AM", 0.0),
             "dried_porosity": res.initial.porosity, "cpu_s_film": cpu_s,
             "git_commit": commit}
            for q in res.points]


def summary(rows: list[dict]) -> list[dict]:
    """Mean and sample sd over the films per (protocol, target pressure)."""
    out = []
    for press in sorted({r["protocol"] for r in rows}):
        for p in sorted({r["pressure_target_mpa"] for r in rows}):
            sub = [r for r in rows if r["protocol"] == press and r["pressure_target_mpa"] == p]
            if not sub:
                continue
            stats = {"protocol": press, "pressure_target_mpa": p, "n_films": len(sub)}
            for key in ("pressure_reported_mpa", "porosity", "springback_percent",
                        "am_contacts_per_am_max", "am_contacts_per_am_recovered"):
                v = np.array([r[key] for r in sub], dtype=float)
                stats[key] = float(v.mean())
                stats[key + "_sd"] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
            out.append(stats)
    return out


def plot(stats: list[dict], path: Path) -> None:
    """Porosity after recovery against the reported pressure, mean ± sd per protocol."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, press in enumerate(sorted({s["protocol"] for s in stats})):
        sub = [s for s in stats if s["protocol"] == press]
        shift = 1 + 0.03 * (k - 0.5)  # side by side at the same pressure
        ax.errorbar([shift * s["pressure_reported_mpa"] for s in sub],
                    [100 * s["porosity"] for s in sub],
                    yerr=[100 * np.nan_to_num(s["porosity_sd"]) for s in sub], fmt="o-",
                    capsize=3, label=f"{press} ({sub[0]['n_films']} films)")
    ax.set_xscale("log")
    targets = sorted({s["pressure_target_mpa"] for s in stats})
    ax.set_xticks(targets, [f"{p:g}" for p in targets])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("pressure at the end of the compression [MPa]")
    ax.set_ylabel("porosity after recovery [%]")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    from tqdm import tqdm

    from experiments.files import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dried", required=True, help="comma-separated dried.npz files")
    ap.add_argument("--pressures", default="2,6,20,56")
    ap.add_argument("--protocols", default="paper,quasi-static")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    pressures = [float(p) for p in args.pressures.split(",")]
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    done = {(r["film_sha256"], r["protocol"], r["pressure_target_mpa"]) for r in rows}
    films = [Path(f) / "dried.npz" if Path(f).is_dir() else Path(f)
             for f in args.dried.split(",")]
    hashes = {f: film_hash(f) for f in films}
    todo = [(f, press) for f in films for press in args.protocols.split(",")
            if any((hashes[f], press, p) not in done for p in pressures)]
    rows = [r for r in rows if r["pressure_target_mpa"] in pressures]
    for film, press in tqdm(todo, desc="film x protocol"):
        rows += protocol_rows(film, hashes[film], pressures, press)
        write_json_atomic(args.out, {"provenance": run_provenance(), "rows": rows,
                                     "summary": summary(rows)})
        plot(summary(rows), args.out.with_suffix(".png"))
    if rows:
        plot(summary(rows), args.out.with_suffix(".png"))
    print(f"{'protocol':<13} {'p [MPa]':>7} {'n':>2} {'reported':>9} {'porosity %':>14} "
          f"{'spring-back %':>14} {'AM-AM/AM max':>13}")
    for s in summary(rows):
        print(f"{s['protocol']:<13} {s['pressure_target_mpa']:7.3g} {s['n_films']:2d} "
              f"{s['pressure_reported_mpa']:9.2f} {100 * s['porosity']:7.2f} ± "
              f"{100 * s['porosity_sd']:4.2f} {s['springback_percent']:7.2f} ± "
              f"{s['springback_percent_sd']:4.2f} {s['am_contacts_per_am_max']:13.2f}")


if __name__ == "__main__":
    main()
