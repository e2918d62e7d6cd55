"""The engine against LIGGGHTS 3.8 on single collisions (Table 2 law, same dt and steps).

Reference numbers come from ``benchmarks/liggghts_reference.py`` (Debian ``liggghts`` 3.8.0,
``hertz tangential history cohesion sjkr rolling_friction epsd2``), stored in
``tests/data/liggghts_collisions.json``.
Same law, same step, same initial state: velocities must agree to 1e-5 µm/µs absolute
(LIGGGHTS prints 15 digits; the two codes differ only by floating-point order).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from physics.engine import Simulation, Wall, with_models
from physics.engine.contacts import RollingEPSD2

from .conftest import table2

DATA = json.loads((Path(__file__).parent / "data" / "liggghts_collisions.json").read_text())


def replay(inputs: dict) -> Simulation:
    table = table2(ced_scale=float(inputs["ced_scale"]))
    if inputs.get("rolling_mu", 0.0) > 0:
        rolling = RollingEPSD2(float(inputs["rolling_mu"]))
        table = with_models(table, {(a, b): [rolling] for a in table.names for b in table.names})
    d1, d2 = inputs["d1"], inputs["d2"]
    pos = [[inputs["x1"], inputs["y1"], inputs["z1"]]]
    rad = [0.5 * d1]
    mass = [inputs["rho1"] * math.pi / 6 * d1**3]
    ptype = [inputs["t1"] - 1]
    vel = [[inputs["vx1"], 0.0, inputs["vz1"]]]
    omega = [[0.0, inputs["wy1"], 0.0]]
    if d2 > 0:
        pos.append([inputs["x2"], 0.0, 0.0])
        rad.append(0.5 * d2)
        mass.append(inputs["rho2"] * math.pi / 6 * d2**3)
        ptype.append(inputs["t2"] - 1)
        vel.append([inputs["vx2"], 0.0, 0.0])
        omega.append([0.0, 0.0, 0.0])
    walls = [Wall(inputs["wallz"], 1, inputs["walltype"] - 1)] if inputs["wallz"] > -100 else []
    sim = Simulation(position=np.array(pos), radius=rad, mass=mass, ptype=ptype, table=table,
                     box_lo=(-40, -40, -40), box_hi=(40, 40, 40), periodic=(False,) * 3,
                     dt_us=inputs["dt"], walls=walls, velocity=np.array(vel),
                     omega=np.array(omega))
    sim.run(inputs["n_steps"])
    return sim


@pytest.mark.parametrize("name", sorted(DATA["cases"]))
def test_collision_matches_liggghts(name):
    case = DATA["cases"][name]
    sim = replay(case["inputs"])
    assert sim.velocity[0, 0] == pytest.approx(case["vx1"], abs=1e-5)
    assert sim.velocity[0, 2] == pytest.approx(case["vz1"], abs=1e-5)
    assert sim.omega[0, 1] == pytest.approx(case["wy1"], abs=1e-5)
    if "vx2" in case:
        assert sim.velocity[1, 0] == pytest.approx(case["vx2"], abs=1e-5)
    if "wy2" in case:
        assert sim.omega[1, 1] == pytest.approx(case["wy2"], abs=1e-5)


@pytest.mark.parametrize("name", [n for n in sorted(DATA["cases"]) if "rolling" in n])
def test_rolling_cases_depend_on_the_rolling_torque(name):
    """Without EPSD2 the same collisions end with spins > 100× the tolerance away."""
    inputs = {**DATA["cases"][name]["inputs"], "rolling_mu": 0.0}
    sim = replay(inputs)
    case = DATA["cases"][name]
    assert abs(sim.omega[0, 1] - case["wy1"]) + abs(sim.omega[1, 1] - case["wy2"]) > 1e-3
