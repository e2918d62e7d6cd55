"""The process-window job: which calendering settings hit a porosity band without hurting
transport, capacity or the particles.

Per material set (:mod:`physics.material_sets`: ``nmc`` = the paper's NMC111 electrode,
``graphite`` = a graphite anode with a lower modulus and crushing strength, larger particles
and its own electrochemistry, or any material .toml file) the job

1. runs the Bayesian-optimization loop on the physics (:func:`experiments.campaign.run_campaign`):
   decision variables pressure, roll temperature and line speed (optionally more inputs),
   objective the 1C capacity, constraints porosity ∈ [low, high], τ_z ≤ limit, capacity ≥
   limit and fractured share of AM particles ≤ limit (``fractured_fraction``: particles whose
   Hiramatsu–Oka contact stress at maximum pressure exceeds their crushing strength);
2. fits one GP per constrained output to every finished evaluation (the loop's model space:
   unit cube, log pressure) and maps the probability of feasibility
   P(feasible | x) = Π_c P(low_c ≤ Y_c(x) ≤ high_c), Y_c ~ N(μ_c(x), s_c(x)²),
   over 2-D slices through the best feasible point (the third input held there), with the
   evaluated points and the porosity model's standard deviation beside it;
3. compares the materials along the pressure axis at the nominal temperature and line speed:
   P(feasible) against pressure and the pressure range where it exceeds 0.5.

Every evaluation is an MLflow run in ``<experiment>-<material>`` (iterations in
``…-loop``), the job one run in ``<experiment>``; a rerun resumes the loops.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from scipy import stats

from optimize.problem import Constraint, Problem

#: short names of the shipped material sets
MATERIAL_ALIASES = {"nmc": "nmc111"}
DEFAULT_BOUNDS = {"pressure_mpa": (1.0, 150.0), "temperature_c": (25.0, 120.0),
                  "line_speed_m_min": (0.2, 20.0)}
NOMINAL = {"temperature_c": 60.0, "line_speed_m_min": 0.54}  # the paper's calender
GRID = 41


def window_problem(material: str, *, porosity_band: tuple[float, float],
                   tau_z_max: float, capacity_min: float, fracture_max: float,
                   bounds: dict[str, tuple[float, float]] | None = None,
                   fixed: dict[str, float] | None = None, fidelity: str = "ci",
                   initial: int = 6, iterations: int = 4, q: int = 1,
                   seed: int = 0, fidelities: tuple[str, ...] = ()) -> Problem:
    """The loop's problem for one material set (module docstring; ``nmc`` names the shipped
    ``nmc111`` set)."""
    from physics.material_sets import load_material_set

    load_material_set(MATERIAL_ALIASES.get(material, material))  # checks the name or file
    lo, hi = porosity_band
    if not 0 < lo < hi < 1:
        raise ValueError(f"porosity band must satisfy 0 < low < high < 1, got {lo}, {hi}")
    if not 0 <= fracture_max <= 1:
        raise ValueError(f"fracture_max must lie in [0, 1], got {fracture_max}")
    if not (math.isfinite(tau_z_max) and tau_z_max >= 1):
        raise ValueError(f"tau_z_max must be a finite tortuosity factor >= 1, got {tau_z_max}")
    if not (math.isfinite(capacity_min) and 0 <= capacity_min <= 1000):
        raise ValueError(f"capacity_min must lie in [0, 1000] mAh/g, got {capacity_min}")
    bounds = dict(bounds or DEFAULT_BOUNDS)
    constraints = (Constraint("porosity", lo, hi), Constraint("tau_z", None, tau_z_max),
                   Constraint("capacity_1C_mah_g", capacity_min, None),
                   Constraint("fractured_fraction", None, fracture_max))
    return Problem(objective="capacity_1C_mah_g", maximize=True, bounds=bounds,
                   constraints=constraints,
                   fixed=dict(fixed or {}), materials=MATERIAL_ALIASES.get(material, material),
                   log_inputs=tuple(n for n in ("pressure_mpa",) if n in bounds),
                   fidelity=fidelity, initial=initial, iterations=iterations, q=q, seed=seed,
                   fidelities=tuple(fidelities))


class FeasibilityModel:
    """One GP per constrained output over the loop's unit cube; P(feasible) and its parts."""

    def __init__(self, problem: Problem, x: np.ndarray, values: dict[str, np.ndarray],
                 failed: np.ndarray):
        from optimize.bo import to_unit
        from surrogates.gp import GPSurrogate

        self.problem = problem
        ok = ~failed
        if ok.sum() < 3:
            raise ValueError(f"the window map needs >= 3 finished evaluations, got "
                             f"{int(ok.sum())}")
        u = to_unit(problem, x[ok])
        self.models = {}
        for c in problem.constraints:
            y = values[c.output][ok]
            good = np.isfinite(y)
            self.models[c.output] = GPSurrogate(c.output, problem.names).fit(u[good], y[good])

    def predict(self, x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        from optimize.bo import to_unit

        u = to_unit(self.problem, x)
        return {name: m.predict(u) for name, m in self.models.items()}

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(every constraint holds) at x (m × d, engineering units)."""
        pred = self.predict(x)
        p = np.ones(len(x))
        for c in self.problem.constraints:
            mean, sd = pred[c.output]
            sd = np.maximum(sd, 1e-12)
            upper = stats.norm.cdf((c.upper - mean) / sd) if c.upper is not None else 1.0
            lower = stats.norm.cdf((c.lower - mean) / sd) if c.lower is not None else 0.0
            p *= np.clip(upper - lower, 0.0, 1.0)
        return p


def _axis(problem: Problem, name: str, n: int = GRID) -> np.ndarray:
    lo, hi = problem.bounds[name]
    return np.geomspace(lo, hi, n) if name in problem.log_inputs else np.linspace(lo, hi, n)


def slice_maps(model: FeasibilityModel, anchor: dict[str, float]) -> list[dict]:
    """P(feasible) and the porosity sd on a grid over each pair of decision variables, the
    others held at ``anchor``."""
    problem = model.problem
    maps = []
    for a, b in itertools.combinations(problem.names, 2):
        xa, xb = _axis(problem, a), _axis(problem, b)
        ga, gb = np.meshgrid(xa, xb, indexing="ij")
        x = np.column_stack([ga.ravel() if n == a else gb.ravel() if n == b
                             else np.full(ga.size, anchor[n]) for n in problem.names])
        prob = model.probability(x).reshape(ga.shape)
        sd = model.predict(x)["porosity"][1].reshape(ga.shape)
        maps.append({"x": a, "y": b, "x_values": xa, "y_values": xb,
                     "probability": prob, "porosity_sd": sd,
                     "held": {n: anchor[n] for n in problem.names if n not in (a, b)}})
    return maps


def pressure_window(model: FeasibilityModel, at: dict[str, float]) -> dict:
    """P(feasible) along the pressure axis at ``at`` (other decision variables) and the
    pressure range where it is >= 0.5 (None if nowhere)."""
    problem = model.problem
    p = _axis(problem, "pressure_mpa", 121)
    x = np.column_stack([p if n == "pressure_mpa" else np.full(p.size, at[n])
                         for n in problem.names])
    prob = model.probability(x)
    inside = p[prob >= 0.5]
    return {"pressure_mpa": p, "probability": prob,
            "window_mpa": (float(inside.min()), float(inside.max())) if inside.size else None}


def run_process_window(out_dir: str | Path, materials: Sequence[str] = ("nmc", "graphite"),
                       *, porosity_band: tuple[float, float] = (0.27, 0.31),
                       tau_z_max: float = 1.7, capacity_min: float = 150.0,
                       fracture_max: float = 0.05,
                       bounds: dict[str, tuple[float, float]] | None = None,
                       fixed: dict[str, float] | None = None, fidelity: str = "ci",
                       initial: int = 6, iterations: int = 4, q: int = 1, seed: int = 0,
                       fidelities: tuple[str, ...] = (),
                       experiment: str = "process-window", executor: str = "local",
                       workers: int | None = None, cache_dir: str | None = None,
                       progress: bool = True, log=None) -> dict:
    """Run the job (module docstring); returns the summary and writes the report folder."""
    from experiments.campaign import history, run_campaign
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import plot_pressure_windows, plot_window_maps
    from experiments.report import Section, write_report
    from experiments.tracking import Tracker, job_run
    from optimize.bo import best_feasible

    if not materials:
        raise ValueError("give at least one material")
    problems = {Path(m).stem: window_problem(
        m, porosity_band=porosity_band, tau_z_max=tau_z_max, capacity_min=capacity_min,
        fracture_max=fracture_max, bounds=bounds, fixed=fixed, fidelity=fidelity,
        initial=initial, iterations=iterations, q=q, seed=seed, fidelities=fidelities)
        for m in materials}  # a material file's results go by its stem
    first = next(iter(problems.values()))
    if "pressure_mpa" not in first.names:
        raise ValueError("the process window needs pressure_mpa among the bounds")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"materials": ",".join(materials), "porosity_band": f"{porosity_band}",
                "tau_z_max": tau_z_max, "capacity_min": capacity_min,
                "fracture_max": fracture_max, "bounds": str(first.bounds),
                "fidelity": fidelity, "initial": initial, "iterations": iterations, "q": q,
                "seed": seed, "fidelities": ",".join(fidelities) or fidelity}
    summary: dict = {"job": "process-window", **settings, "materials": {}}
    sections, windows = [], {}
    with job_run(experiment, "process-window", settings) if experiment else nullcontext() \
            as mlrun:
        for material, problem in problems.items():
            exp = f"{experiment}-{material}"
            loop = run_campaign(problem, exp, executor=executor, workers=workers,
                            cache_dir=cache_dir, progress=progress, log=log)
            x, values, failed, rows = history(Tracker(exp), problem)
            # the window is read from the target tier (the cheaper tiers only steered the loop)
            keep = np.array([r["fidelity"] == problem.fidelity for r in rows], dtype=bool)
            x, failed = x[keep], failed[keep]
            values = {n: v[keep] for n, v in values.items()}
            model = FeasibilityModel(problem, x, values, failed)
            k, best_value = best_feasible(problem, values, failed)
            anchor = dict(zip(problem.names, x[k], strict=True)) if k is not None else {
                n: float(np.sqrt(np.prod(problem.bounds[n])) if n in problem.log_inputs
                         else np.mean(problem.bounds[n])) for n in problem.names}
            nominal = {n: NOMINAL.get(n, anchor[n]) for n in problem.names}
            for n, v in nominal.items():
                lo, hi = problem.bounds[n]
                nominal[n] = min(max(v, lo), hi)
            windows[material] = pressure_window(model, nominal)
            maps = slice_maps(model, anchor)
            map_png = plot_window_maps(maps, x, values, failed, problem,
                                       out / f"window_{material}.png",
                                       title=f"{material}: P(feasible)")
            feasible = [problem.feasible({o: values[o][i] for o in problem.outputs})
                        and not failed[i] for i in range(len(x))]
            evaluations = [{**dict(zip(problem.names, map(float, x[i]), strict=True)),
                            **{o: float(values[o][i]) for o in problem.outputs},
                            "failed": bool(failed[i]), "feasible": bool(feasible[i]),
                            "p_feasible_model": float(model.probability(x[i:i + 1])[0])}
                           for i in range(len(x))]
            write_csv_atomic(out / f"evaluations_{material}.csv", evaluations)
            w = windows[material]["window_mpa"]
            held = {**(problem.material_set.process_defaults() if problem.material_set
                       else {}), **problem.fixed}  # the set's defaults, then [fixed]
            summary["materials"][material] = {
                "fixed": held, "evaluations": len(x), "failed": int(failed.sum()),
                "feasible": int(sum(feasible)),
                "best": ({"inputs": anchor, "capacity_1C_mah_g": best_value}
                         if k is not None else None),
                "pressure_window_mpa_at_nominal": w, "nominal": nominal,
                "loop_best": loop.get("best")}
            sections.append(Section(
                f"{material} (E = {held['am_young_modulus_gpa']:g} GPa, crushing "
                f"strength {held['am_fracture_strength_mpa']:g} MPa)",
                f"{len(x)} evaluations ({int(failed.sum())} failed), {sum(feasible)} "
                f"feasible.  " + (
                    f"Best feasible 1C capacity {best_value:.1f} mAh/g at "
                    + ", ".join(f"{n} {v:.3g}" for n, v in anchor.items()) + ". "
                    if k is not None else "No feasible point found yet. ")
                + (f"At {nominal.get('temperature_c', 60):g} °C and "
                   f"{nominal.get('line_speed_m_min', 0.54):g} m/min, P(feasible) >= 0.5 "
                   f"from {w[0]:.3g} to {w[1]:.3g} MPa." if w else
                   "Nowhere along the pressure axis at the nominal settings is "
                   "P(feasible) >= 0.5."),
                plots=[map_png.name]))
        cmp_png = plot_pressure_windows(windows, porosity_band, out / "pressure_windows.png")
        text = "\n".join(
            f"- {m}: " + (f"{w['window_mpa'][0]:.3g}–{w['window_mpa'][1]:.3g} MPa"
                          if w["window_mpa"] else "no window") for m, w in windows.items())
        constraints = (f"porosity in [{porosity_band[0]:g}, {porosity_band[1]:g}], τ_z ≤ "
                       f"{tau_z_max:g}, 1C capacity ≥ {capacity_min:g} mAh/g, fractured AM "
                       f"share ≤ {fracture_max:g}")
        write_report(out, "Process window", [
            Section("Question", f"Calendering settings with {constraints}, searched by the "
                    f"BO loop on the physics at fidelity {fidelity!r}."),
            Section("Pressure window at the nominal temperature and line speed "
                    "(P(feasible) >= 0.5)", text, plots=[cmp_png.name]),
            *sections])
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            metrics = {}
            for m, s in summary["materials"].items():
                metrics[f"{m}.feasible"] = s["feasible"]
                metrics[f"{m}.evaluations"] = s["evaluations"]
                if s["pressure_window_mpa_at_nominal"]:
                    lo, hi = s["pressure_window_mpa_at_nominal"]
                    metrics[f"{m}.window_low_mpa"] = lo
                    metrics[f"{m}.window_high_mpa"] = hi
            mlrun.log_metrics(metrics)
            mlrun.log_artifacts(str(out))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary

