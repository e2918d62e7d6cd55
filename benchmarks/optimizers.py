"""BO loop vs Optuna (TPE, GP) vs Sobol random search on a constrained problem from recorded
physics.

The problem ("recorded physics"): the calendering pressure p and the dry coating thickness h
are the decisions.  The microstructure at p is interpolated (PCHIP over log p) from a recorded
`fast` calendering curve and its voxel transport (benchmarks/data/fast_calendering_transport.json:
porosity, AM/CBD fractions, τ_z, σ_eff,z, AM surface, column thickness); the cathode is
h × (calendered / dried column thickness); the real half-cell DFN (physics.cell.discharge)
gives the 1C capacity.  Maximize the 1C areal capacity [mAh/cm²] subject to a specific
capacity >= 165 mAh/g (utilization) and τ_z <= 1.56 (an ionic-transport limit, which caps p).
Thicker electrodes carry more capacity per area until the salt cannot follow (the DFN ends
them by electrolyte depletion): the areal capacity peaks a few µm before the utilization
collapses, so the optimum sits on the τ_z boundary in p and inside the utilization floor in h.  The
constrained optimum comes from a nested search (:func:`constrained_optimum`): the τ_z limit
fixes the largest feasible pressure, the utilization floor the thickest coating per pressure
(bisection), and a grid plus golden-section search over log p the best pressure.

Both GP methods are told that the simulator is deterministic (``noise = "none"`` for the
loop, ``deterministic_objective=True`` for Optuna's GPSampler).  Every method gets the same
budget (``--budget`` evaluations), the same 5-point scrambled
Sobol start for BO and Sobol search (Optuna samplers use their own start-up), and the same
treatment of failed evaluations: each counts against the budget, is never feasible, and is
reported to the method as infeasible there: the loop is told the run failed (its success
classifier learns the region); Optuna's samplers get a completed trial with both constraints
violated (+1) and the worst objective value seen so far (their constraint models learn the
region; the objective model sees no improvement there).  ``bo`` is the loop with its trust
region (the default), ``bo-global`` the same loop with the global acquisition throughout,
``bo-mf`` the multi-fidelity loop with the `ci` record of the same calendering as its cheap
tier (:func:`run_bo_mf`; its budget and its "evaluations" are fast-equivalent costs), and
``bo-mf-twin`` the same loop whose cheap tier is the `fast` record itself at the `ci` cost: a
bound, not a tier, for what the loop saves when the cheap tier agrees with the target.
Per method and seed the script records the best feasible value after each evaluation; it
prints the median over seeds of the best feasible value and of the simple regret (optimum -
best, % of the optimum) and of the number of evaluations to reach 1 % of the optimum, and
plots regret against evaluations.

Run: ``python benchmarks/optimizers.py [--seeds 10] [--budget 30] [--methods bo,...]
[--out DIR] [--json]``; with ``--out``, the traces of methods not in ``--methods`` are read
back from an earlier ``DIR/traces.json`` of the same budget and seeds (``--methods ""``
only redoes the summary and the plot).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "fast_calendering_transport.json"
#: the same calendering and transport on the `ci` film: the cheap tier of ``bo-mf``
DATA_CI = Path(__file__).parent / "data" / "ci_calendering_transport.json"
CACHE = Path(__file__).parent / ".cache"
CAPACITY_FLOOR = 165.0
TAU_LIMIT = 1.56


def problem():
    from optimize.problem import Constraint, Problem

    return Problem(objective="areal_capacity_1C_mah_cm2", maximize=True,
                   bounds={"pressure_mpa": (0.3, 120.0), "coating_thickness_um": (60.0, 400.0)},
                   constraints=(Constraint("capacity_1C_mah_g", lower=CAPACITY_FLOOR),
                                Constraint("tau_z", upper=TAU_LIMIT)),
                   log_inputs=("pressure_mpa",), fidelity="fast", noise="none")


class RecordedPhysics:
    """(p, h) -> outputs: interpolated microstructure + the DFN (module docstring), from the
    recorded curve ``data`` (one tier)."""

    def __init__(self, data: Path = DATA):
        from scipy.interpolate import PchipInterpolator

        rows = json.loads(data.read_text())["rows"]
        dried = next(r for r in rows if r["pressure_mpa"] == 0.0)
        pressed = sorted((r for r in rows if r["pressure_mpa"] > 0),
                         key=lambda r: r["pressure_mpa"])
        logp = np.log10([r["pressure_mpa"] for r in pressed])
        self.interp = {k: PchipInterpolator(logp, [r[k] for r in pressed])
                       for k in ("porosity", "fraction_am", "tau_z",
                                 "sigma_eff_z_s_m", "am_surface_per_volume_um",
                                 "column_thickness_um")}
        self.dried_thickness_um = dried["column_thickness_um"]
        self.evaluations = 0

    def __call__(self, x) -> dict | None:
        from physics.cell import active_mass_kg_m2, discharge
        from physics.cell_params import CellParameters

        p, h = float(x[0]), float(x[1])
        m = {k: float(f(math.log10(p))) for k, f in self.interp.items()}
        self.evaluations += 1
        base = CellParameters()
        cathode = replace(base.cathode,
                          thickness_m=h * 1e-6 * m["column_thickness_um"]
                          / self.dried_thickness_um,
                          porosity=m["porosity"], active_volume_fraction=m["fraction_am"],
                          # the three phases fill the image: CBD is the rest
                          cbd_volume_fraction=max(0.0, 1.0 - m["porosity"] - m["fraction_am"]),
                          tortuosity_factor=m["tau_z"],
                          electronic_conductivity_s_m=m["sigma_eff_z_s_m"],
                          specific_surface_area_m=m["am_surface_per_volume_um"] * 1e6)
        params = replace(base, cathode=cathode)
        try:
            d = discharge(params, c_rate=1.0)
        except RuntimeError:
            return None  # a failed evaluation: counted, never feasible
        return {"capacity_1C_mah_g": d.capacity_final_mah_g, "tau_z": m["tau_z"],
                "areal_capacity_1C_mah_cm2": d.capacity_final_mah_g
                * 1e3 * active_mass_kg_m2(params) * 1e-4}


def tau_limit_pressure_mpa(f) -> float:
    """The pressure [MPa] where the interpolated τ_z(p) crosses TAU_LIMIT (τ_z rises with p
    up to there and stays above it beyond, so the feasible pressures are [0.3, p*])."""
    from scipy.optimize import brentq

    return 10 ** brentq(lambda lp: float(f.interp["tau_z"](lp)) - TAU_LIMIT,
                        math.log10(0.3), math.log10(2.0), xtol=1e-12)


def golden_max(g, a: float, b: float, tol: float) -> float:
    """Golden-section search for the maximum of a unimodal g on [a, b] to width tol; returns
    the best argument it evaluated (g should cache)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    while b - a > tol:
        if g(c) >= g(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return c if g(c) >= g(d) else d


def best_thickness(f, p: float, lo_h: float, hi_h: float) -> dict | None:
    """The best feasible coating at pressure p: bisect the thickest coating that keeps the
    utilization floor (capacity falls with thickness), then golden-section search of the
    areal capacity below it (it rises with thickness until the salt runs out, then drops
    steeply) to 0.02 µm.  Returns the point and its outputs, or None if none is feasible."""
    seen: dict[float, dict | None] = {}

    def outputs(h: float) -> dict | None:
        if h not in seen:
            seen[h] = f((p, h))
        return seen[h]

    def feasible(r) -> bool:
        return r is not None and r["capacity_1C_mah_g"] >= CAPACITY_FLOOR

    if not feasible(outputs(lo_h)):
        return None
    a, b = lo_h, hi_h
    for _ in range(12):
        mid = 0.5 * (a + b)
        a, b = (mid, b) if feasible(outputs(mid)) else (a, mid)

    def areal(h: float) -> float:
        r = outputs(h)
        return r["areal_capacity_1C_mah_cm2"] if feasible(r) else -math.inf

    golden_max(areal, lo_h, a, 0.02)
    h = max((h for h in seen if feasible(seen[h])), key=areal)
    return {"pressure_mpa": float(p), "coating_thickness_um": h, **seen[h]}


def constrained_optimum(f, prob) -> dict:
    """The constrained optimum, cached in benchmarks/.cache/optimizers_optimum.json.

    Feasible pressures end at p* where τ_z = TAU_LIMIT (root of the interpolant); at each
    pressure :func:`best_thickness` finds the best coating.  That leaves a 1-D maximization
    over log p in [0.3, p*]: an 8-point grid, then golden-section search in the bracket
    around the best grid point (to 1e-3 in log10 p)."""
    path = CACHE / "optimizers_optimum.json"
    if path.is_file():
        return json.loads(path.read_text())
    lo_h, hi_h = prob.bounds["coating_thickness_um"]
    p_star = tau_limit_pressure_mpa(f)
    seen: dict[float, dict] = {}

    def value(lp: float) -> float:
        if lp not in seen:
            seen[lp] = best_thickness(f, 10 ** lp, lo_h, hi_h) or {
                "areal_capacity_1C_mah_cm2": -math.inf}
        return seen[lp]["areal_capacity_1C_mah_cm2"]

    grid = np.linspace(math.log10(0.3), math.log10(p_star), 8)
    k = int(np.argmax([value(float(lp)) for lp in grid]))
    golden_max(value, float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)]), 1e-3)
    best = max(seen.values(), key=lambda r: r["areal_capacity_1C_mah_cm2"])
    best = {"value": best["areal_capacity_1C_mah_cm2"], "tau_limit_pressure_mpa": p_star,
            "evaluations": f.evaluations, **best}
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(best, indent=1))
    return best


def best_trace(prob, rows) -> list[float]:
    best, out = -math.inf, []
    for r in rows:
        if r is not None and prob.feasible(r):
            best = max(best, r[prob.objective])
        out.append(best)
    return out


def run_bo(f, prob, budget: int, seed: int, trust_region: bool = True) -> list:
    """The loop (optimize.loop.BOLoop) from the 5-point Sobol start, one proposal at a time;
    ``trust_region`` False: the global acquisition throughout."""
    from optimize.loop import BOLoop

    loop = BOLoop(replace(prob, initial=5, seed=seed, q=1, trust_region=trust_region))
    rows = []
    for x in loop.initial_design()[0]:
        rows.append(f(x))
        loop.tell(x, rows[-1])
    it = 0
    while len(rows) < budget:
        points, _ = loop.ask(it)
        for x in points:
            rows.append(f(x))
            loop.tell(x, rows[-1])
        it += 1
    return rows


def run_bo_mf(f, prob, budget: int, seed: int, cheap_data: Path = DATA_CI) -> list:
    """The multi-fidelity loop: the `fast` record as the target, the record ``cheap_data``
    (default the `ci` one) as the cheap tier at the measured `ci`/`fast` cost ratio
    (optimize.multifidelity.DEFAULT_TIER_COST_S),
    ``budget`` in fast-equivalent evaluations, the last two at the target.  Returns, per unit
    of fast-equivalent cost spent, the best feasible target evaluation so far (or None), so
    the summary reads as the single-tier methods'."""
    from optimize.loop import BOLoop
    from optimize.multifidelity import DEFAULT_TIER_COST_S

    cheap = RecordedPhysics(cheap_data)
    costs = {t: DEFAULT_TIER_COST_S[t] for t in ("ci", "fast")}
    loop = BOLoop(replace(prob, initial=5, seed=seed, q=1, fidelities=("ci", "fast")), costs)
    spent, timeline = 0.0, []

    def run(x, tier):
        nonlocal spent
        r = (cheap if tier == "ci" else f)(x)
        loop.tell(x, r, tier)
        spent += costs[tier] / costs["fast"]
        timeline.append((spent, r if tier == "fast" else None))

    for x, tier in zip(*loop.initial_design(), strict=True):
        run(x, tier)
    it = 0
    while spent < budget:
        points, info = loop.ask(it, final=budget - spent <= 2.0)
        run(points[0], info["fidelities"][0])
        it += 1
    out = []
    for k in range(1, budget + 1):
        done = [r for c, r in timeline if c <= k + 1e-9 and r is not None and prob.feasible(r)]
        out.append(max(done, key=lambda r: r[prob.objective]) if done else None)
    return out


def run_sobol(f, prob, budget: int, seed: int) -> list:
    from optimize.bo import sobol_design

    return [f(x) for x in sobol_design(prob, budget, seed)]


def run_optuna(f, prob, budget: int, seed: int, sampler: str) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list = []

    def objective(trial):
        p = trial.suggest_float("pressure_mpa", 0.3, 120.0, log=True)
        h = trial.suggest_float("coating_thickness_um", 60.0, 400.0)
        r = f((p, h))
        rows.append(r)
        if r is None:  # failed: infeasible, at the worst value seen (module docstring)
            seen = [row[prob.objective] for row in rows if row is not None]
            trial.set_constraint("utilization", 1.0)
            trial.set_constraint("tortuosity", 1.0)
            return min(seen, default=0.0)
        trial.set_constraint("utilization", CAPACITY_FLOOR - r["capacity_1C_mah_g"])
        trial.set_constraint("tortuosity", r["tau_z"] - TAU_LIMIT)
        return r[prob.objective]

    samplers = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed),
                "gp": lambda: optuna.samplers.GPSampler(seed=seed,
                                                        deterministic_objective=True)}
    study = optuna.create_study(direction="maximize", sampler=samplers[sampler]())
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=budget, catch=(Exception,))
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--methods", default="bo,bo-global,optuna-tpe,optuna-gp,sobol")
    ap.add_argument("--out", default=None, help="directory for traces.json and regret.png")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    prob = problem()
    f = RecordedPhysics()
    t = time.perf_counter()
    optimum = constrained_optimum(f, prob)
    print(f"constrained optimum {optimum['value']:.4f} mAh/cm² at p = "
          f"{optimum.get('pressure_mpa', float('nan')):.3g} MPa, h = "
          f"{optimum.get('coating_thickness_um', float('nan')):.1f} µm "
          f"({f.evaluations} evaluations, {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    runners = {"bo": run_bo, "bo-global": lambda *a: run_bo(*a, trust_region=False),
               "bo-mf": run_bo_mf,
               "bo-mf-twin": lambda *a: run_bo_mf(*a, cheap_data=DATA),
               "sobol": run_sobol,
               "optuna-tpe": lambda *a: run_optuna(*a, sampler="tpe"),
               "optuna-gp": lambda *a: run_optuna(*a, sampler="gp")}
    traces: dict[str, list[list[float]]] = {}
    previous = Path(args.out) / "traces.json" if args.out else None
    if previous is not None and previous.is_file():  # methods not rerun keep their traces
        old = json.loads(previous.read_text())
        if old["summary"]["budget"] == args.budget and old["summary"]["seeds"] == args.seeds:
            traces.update(old["traces"])
    for method in filter(None, args.methods.split(",")):
        traces[method] = []
        for seed in range(args.seeds):
            t = time.perf_counter()
            rows = runners[method](f, prob, args.budget, seed)
            traces[method].append(best_trace(prob, rows[:args.budget]))
            print(f"{method} seed {seed}: best {traces[method][-1][-1]:.4f} in "
                  f"{time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    summary = {"optimum": optimum, "budget": args.budget, "seeds": args.seeds, "methods": {}}
    for method, runs in traces.items():
        best = np.array(runs)
        regret = 100 * (optimum["value"] - best) / optimum["value"]
        within = [next((n + 1 for n, r in enumerate(row) if r <= 1.0), math.inf)
                  for row in regret]
        summary["methods"][method] = {
            "median_best": float(np.median(best[:, -1])),
            "median_regret_percent": float(np.median(regret[:, -1])),
            "median_evaluations_to_1_percent": float(np.median(within)),
            "runs_reaching_1_percent": int(np.sum(np.isfinite(within)))}
    for method, s in summary["methods"].items():
        print(f"{method:11s} median best {s['median_best']:.4f}, regret "
              f"{s['median_regret_percent']:.2f} %, evaluations to 1 %: "
              f"{s['median_evaluations_to_1_percent']:g} ({s['runs_reaching_1_percent']}/"
              f"{args.seeds} runs reach it)", file=sys.stderr)
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "traces.json").write_text(json.dumps({"summary": summary, "traces": traces}))
        fig, ax = plt.subplots(figsize=(6.2, 4.2))
        for method, runs in traces.items():
            regret = 100 * (optimum["value"] - np.array(runs)) / optimum["value"]
            regret = np.where(np.isfinite(regret), regret, 100.0)
            n = np.arange(1, regret.shape[1] + 1)
            ax.plot(n, np.median(regret, axis=0), label=method)
            ax.fill_between(n, np.percentile(regret, 25, axis=0),
                            np.percentile(regret, 75, axis=0), alpha=0.2)
        ax.axhline(1.0, color="0.5", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("simple regret [% of the optimum] (median, IQR)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "regret.png", dpi=130)
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
