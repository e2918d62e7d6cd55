"""Half-cell model: CPU time of one 1C discharge and one impedance spectrum.

Case: PyBaMM's half-cell parameter set Xu2019 expressed in this model's terms (the validation
case of tests/test_cell.py), at PyBaMM's 1C (15.58 A/m²) to 3.0 V, 20/20/20 elements; and a
50-point spectrum (1 Hz-10 MHz, 7 per decade) of the same cell at rest.  With ``--pybamm``
the same discharge runs in PyBaMM's DFN (``working electrode: positive``): once with its
set-up (model processing, discretization, solver set-up; import excluded), then repeated on
the built simulation, the cost of every further solve.  Ours has no build step to amortize:
each discharge builds its model (~1 ms) and solves.  Each timing is the best of ``--repeat``
runs, in CPU seconds (``time.process_time``, all threads).

Run: ``python benchmarks/cell.py [--pybamm] [--repeat 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
    return min(times), out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pybamm", action="store_true", help="time PyBaMM's DFN beside ours")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from physics.cell import Mesh, discharge, impedance
    from physics.cell_params import xu2019_parameters
    from physics.impedance import frequencies_hz

    params = xu2019_parameters()
    discharge(params, current_density_a_m2=15.5844, mesh=Mesh(20, 20, 20))  # JIT cache load
    t_dis, dis = best_of(lambda: discharge(params, current_density_a_m2=15.5844,
                                           mesh=Mesh(20, 20, 20)), max(args.repeat, 5))
    f = frequencies_hz()
    t_eis, _ = best_of(lambda: impedance(params, f, Mesh(20, 20, 20)), args.repeat)
    out = {"discharge_s": t_dis, "steps": dis.steps, "newton_iterations": dis.newton_iterations,
           "capacity_ah_m2": dis.current_density_a_m2 * dis.time_s[-1] / 3600.0,
           "impedance_s": t_eis, "impedance_points": int(f.size)}
    if args.pybamm:
        os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")
        import pybamm

        values = pybamm.ParameterValues("Xu2019")
        values.update({"Current function [A]": values["Nominal cell capacity [A.h]"],
                       "Lower voltage cut-off [V]": 3.0})

        def build():
            model = pybamm.lithium_ion.DFN(options={"working electrode": "positive"})
            return pybamm.Simulation(model, parameter_values=values)

        def solve(sim):
            return sim.solve([0, 10800], t_interp=np.linspace(0, 10800, 4001))

        t_pb, sol = best_of(lambda: solve(build()), args.repeat)
        sim = build()
        solve(sim)
        t_pb_repeat, sol = best_of(lambda: solve(sim), max(args.repeat, 5))
        out["pybamm_discharge_s"] = t_pb
        out["pybamm_repeated_discharge_s"] = t_pb_repeat
        area = 1.0 / (15.5844 / sol["Current [A]"].entries[0])  # electrode area [m²]
        q_ref = sol["Discharge capacity [A.h]"].entries / area
        q = dis.current_density_a_m2 * dis.time_s / 3600.0
        grid = np.linspace(0.0, 0.98 * min(q[-1], q_ref[-1]), 400)
        out["pybamm_capacity_ah_m2"] = float(q_ref[-1])
        out["voltage_rmse_mv"] = 1e3 * float(np.sqrt(np.mean(
            (np.interp(grid, q, dis.voltage_v)
             - np.interp(grid, q_ref, sol["Voltage [V]"].entries)) ** 2)))
    if args.json:
        print(json.dumps(out))
        return out
    print(f"1C discharge (Xu2019 case, 20/20/20 elements): {1e3 * t_dis:.1f} CPU ms, "
          f"{dis.steps} steps, {dis.newton_iterations} Newton iterations, "
          f"{out['capacity_ah_m2']:.3f} Ah/m²")
    print(f"impedance spectrum, {f.size} frequencies: {1e3 * t_eis:.1f} CPU ms")
    if "pybamm_discharge_s" in out:
        print(f"PyBaMM DFN, same case: set-up + solve {1e3 * out['pybamm_discharge_s']:.1f} CPU "
              f"ms, repeated solve {1e3 * out['pybamm_repeated_discharge_s']:.1f} CPU ms, "
              f"{out['pybamm_capacity_ah_m2']:.3f} Ah/m²; voltage RMSE between the two "
              f"{out['voltage_rmse_mv']:.2f} mV")
    return out


if __name__ == "__main__":
    main()
