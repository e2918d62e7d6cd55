"""Produce ``tests/data/liggghts_collisions.json``: single collisions run in LIGGGHTS 3.8.

Each case runs ``benchmarks/liggghts/collision.in`` (Debian package ``liggghts``) with the
Table 2 materials and ``hertz tangential history cohesion sjkr`` (with ``rolling_friction
epsd2`` where ``rolling_mu`` > 0) and records the final velocity
and spin of sphere 1 (and velocity of sphere 2).  ``tests/test_engine_liggghts.py`` replays the
same cases in the numba engine.  Run: ``python benchmarks/liggghts_reference.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DECK = Path(__file__).parent / "liggghts" / "collision.in"
OUT = Path(__file__).parents[1] / "tests" / "data" / "liggghts_collisions.json"

_BASE = {"d1": 5.0, "rho1": 4.65, "t1": 1, "x1": 0.0, "y1": 0.0, "z1": 0.0, "vx1": 0.0,
         "vz1": 0.0, "wy1": 0.0, "d2": 0.0, "rho2": 0.95, "t2": 2, "x2": 0.0, "vx2": 0.0,
         "wallz": -1000.0, "walltype": 3, "ced_scale": 0, "rolling_mu": 0.0}

#: name -> overrides of _BASE plus dt [µs] and duration [µs]
CASES = {
    "am_on_steel_head_on_dt1e-4": {"z1": 2.501, "vz1": -1.0, "walltype": 4, "wallz": 0.0,
                                   "dt": 1e-4, "duration": 0.05},
    "am_on_steel_head_on_dt1e-5": {"z1": 2.501, "vz1": -1.0, "walltype": 4, "wallz": 0.0,
                                   "dt": 1e-5, "duration": 0.05},
    "am_on_al_oblique": {"z1": 2.501, "vz1": -1.0, "vx1": 0.5, "wallz": 0.0, "dt": 1e-5,
                         "duration": 0.05},
    "am_on_al_oblique_cohesive": {"z1": 2.501, "vz1": -1.0, "vx1": 0.5, "wy1": 0.3,
                                  "wallz": 0.0, "ced_scale": 1, "dt": 1e-5, "duration": 0.05},
    "am_cbd_head_on": {"vx1": 0.5, "d2": 1.3, "x2": 3.151, "vx2": -0.5, "dt": 1e-5,
                       "duration": 0.1},
    "am_cbd_oblique_cohesive": {"vx1": 0.5, "z1": 1.2, "d2": 1.3, "x2": 2.85, "vx2": -0.5,
                                "ced_scale": 1, "dt": 1e-5, "duration": 0.1},
    # EPSD2 rolling resistance (rolling_friction epsd2): two AM spheres, one spinning
    "am_am_spin_rolling": {"vx1": 0.3, "wy1": 0.5, "t2": 1, "d2": 4.0, "rho2": 4.65,
                           "x2": 4.501, "vx2": -0.3, "ced_scale": 1, "rolling_mu": 0.2,
                           "dt": 1e-5, "duration": 0.1},
    "am_am_oblique_rolling": {"vx1": 0.5, "z1": 1.5, "wy1": -0.4, "t2": 1, "d2": 4.0,
                              "rho2": 4.65, "x2": 4.26, "vx2": -0.5, "ced_scale": 1,
                              "rolling_mu": 0.05, "dt": 1e-5, "duration": 0.1},
}


def run_case(overrides: dict) -> dict:
    values = {**_BASE, **overrides}
    dt = values.pop("dt")
    duration = values.pop("duration")
    n_steps = round(duration / dt)
    args = ["liggghts", "-in", str(DECK), "-log", "none", "-echo", "none",
            "-var", "dt", repr(dt), "-var", "nsteps", str(n_steps)]
    for k, v in values.items():
        args += ["-var", k, repr(v)]
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(args, cwd=tmp, capture_output=True, text=True, check=True).stdout
    r1 = re.search(r"RESULT1 (\S+) (\S+) (\S+)", out)
    r2 = re.search(r"RESULT2 (\S+) (\S+)", out)
    if r1 is None:
        raise RuntimeError(f"LIGGGHTS gave no result:\n{out[-2000:]}")
    result = {"inputs": {**values, "dt": dt, "n_steps": n_steps},
              "vx1": float(r1.group(1)), "vz1": float(r1.group(2)), "wy1": float(r1.group(3))}
    if r2 is not None:
        result["vx2"] = float(r2.group(1))
        result["wy2"] = float(r2.group(2))
    return result


def main() -> None:
    if shutil.which("liggghts") is None:
        raise SystemExit("liggghts not found: apt-get install liggghts")
    with tempfile.TemporaryDirectory() as tmp:  # LIGGGHTS writes log.liggghts in its cwd
        version = subprocess.run(["liggghts", "-h"], cwd=tmp, capture_output=True,
                                 text=True).stdout
    banner = next(line for line in version.splitlines() if line.strip())
    data = {"produced_by": "benchmarks/liggghts_reference.py with " + banner,
            "cases": {name: run_case(case) for name, case in CASES.items()}}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
