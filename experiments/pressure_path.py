"""The pressure-path job (``etwin pressure-path``): the pressure history a film element sees,
chosen to minimize the through-thickness porosity spread at a target film porosity while
penalizing pressure, solved twice and compared.

1. Identification: the uncalendered film (the dried film after the DEM's relaxation,
   :func:`physics.calender.dem_relaxed`) is calendered in the DEM at the curve pressures
   (one loading path, one release each, :func:`physics.calender.calender`); each structure
   is voxelized and its porosity per z slice binned into the model's sub-layers
   (:func:`physics.pressure_path.film_slice_profile`); the reduced model's compaction law,
   stress transmission β and sub-layer shape factors are fitted to those profiles
   (:func:`physics.pressure_path.identify_layer_model`).  ``--model`` skips this with a
   model file (a previous run's ``model.json``).
2. Reduced model, one nip: the optimal path p*(t) by Pontryagin's minimum principle, checked
   by direct optimization of the path discretized into 24 intervals, and the constant
   pressure that reaches the target as the reference.
3. DEM in the loop, multi-pass: a schedule of ``passes`` pressures (log axes over the
   pressure range) applied pass after pass to the film, each pass a DEM press and release
   of the structure the previous pass left, the last structure voxelized and its profile
   measured; the cost is the reduced model's J (compaction spread about the identified
   packing profile + w mean_k (1 + η t_k)(p_k/p_ref)²) and the film porosity must lie within
   ``tolerance`` of the target.  Bayesian optimization (:class:`optimize.loop.BOLoop`,
   qLogNEI with the porosity band as outcome constraint): a scrambled-Sobol start, one run
   of the reduced model's own best schedule (its equilibrium-pass limit, brute force on a
   grid), then BO iterations.  Passes are cached by their pressure prefix in
   ``out/dem/passes`` and finished evaluations in ``out/evaluations.json``: a killed job
   resumes without repeating them.
4. Report: the identified model, both optima of the nip and their agreement, the DEM
   evaluations, the best DEM schedule against the reduced model's prediction for it and the
   Pontryagin path, and the porosity profile per z slice of the best DEM structure.

The DEM press of each pass is the tier's (:func:`physics.pipeline.calender_protocol`), with
``REPRESS_RELAX_STEPS`` steps of the drag relaxation before it: the start film is already the
DEM-relaxed film, and a pass's film is at rest under the DEM law (its velocities are not
stored), so the full relaxation after the drying's force-field switch is not repeated.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from optimize.problem import Constraint, Problem
from physics.pressure_path import (
    DEFAULT_DAMKOHLER,
    MAX_PRESSURE_MPA,
    LayerModel,
    PathProblem,
    SliceProfile,
    best_schedule,
    constant_path,
    identify_layer_model,
    interval_means,
    pass_porosity,
    solve_direct,
    solve_pontryagin,
)

REPRESS_RELAX_STEPS = 2_000
DIRECT_INTERVALS = 24
CACHE_VERSION = 1
#: outputs of one schedule evaluation (the BO problem's objective and constraint among them)
SCHEDULE_OUTPUTS = ("cost", "porosity", "spread", "penalty", "layer_sd",
                    "roll_minus_collector")


# ---------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class PathSettings:
    """The job's inputs besides the film and the model.

    Attributes:
        target_porosity: film porosity at exit [-], in (0, 1) (and reachable: the model
            says which range is).
        n_layers: sub-layers through the thickness, in [2, 50].
        voxel_um: voxel edge of the profiles [µm], in [0.05, 5].
        curve_pressures_mpa: pressures of the identification curve [MPa], >= 3 distinct values
            in (0, 500].
        weight: w of the pressure penalty [-], in [0, 1].
        pressure_range_mpa: (low, high) of the pass pressures [MPa]; high is also the nip's
            bound p_max; 0 < low < high <= 500.
        passes: pressures per DEM schedule, in [1, 4].
        budget: DEM schedule evaluations, in [0, 100] (0: the reduced model only).
        initial: Sobol evaluations among them, in [1, budget].
        tolerance: half-width of the film porosity band around the target [-], in
            (0, 0.1] (default 0.01: wider than the ±0.3-0.9 point scatter of single ci DEM
            runs, docs/pipeline.md).
        seed: seed of the design and proposals, >= 0.
    """

    target_porosity: float
    n_layers: int = 5
    voxel_um: float = 0.5
    curve_pressures_mpa: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0)
    weight: float = 1e-4
    pressure_range_mpa: tuple[float, float] = (0.2, 20.0)
    passes: int = 2
    budget: int = 6
    initial: int = 3
    tolerance: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        from physics.materials import _check_range

        object.__setattr__(self, "curve_pressures_mpa",
                           tuple(sorted(float(p) for p in self.curve_pressures_mpa)))
        object.__setattr__(self, "pressure_range_mpa",
                           tuple(float(p) for p in self.pressure_range_mpa))
        _check_range("target_porosity", self.target_porosity, 0.0, 1.0, lo_open=True,
                     hi_open=True)
        _check_int("n_layers", self.n_layers, 2, 50)
        _check_range("voxel_um", self.voxel_um, 0.05, 5.0)
        curve = self.curve_pressures_mpa
        if len(curve) < 3 or len(set(curve)) != len(curve):
            raise ValueError(f"curve_pressures_mpa = {list(curve)}: give at least 3 distinct "
                             "pressures")
        for p in curve:
            _check_range("curve_pressures_mpa", p, 0.0, MAX_PRESSURE_MPA, lo_open=True)
        _check_range("weight", self.weight, 0.0, 1.0)
        lo, hi = self.pressure_range_mpa
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo < hi <= MAX_PRESSURE_MPA):
            raise ValueError(f"pressure_range_mpa = ({lo:g}, {hi:g}) MPa; allowed: 0 < low < "
                             f"high <= {MAX_PRESSURE_MPA:g}")
        _check_int("passes", self.passes, 1, 4)
        _check_int("budget", self.budget, 0, 100)
        if self.budget:
            _check_int("initial", self.initial, 1, self.budget)
        _check_range("tolerance", self.tolerance, 0.0, 0.1, lo_open=True)
        _check_int("seed", self.seed, 0, 2 ** 31 - 1)


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if not (isinstance(value, int | np.integer) and lo <= value <= hi):
        raise ValueError(f"{name} = {value!r} is outside the allowed range [{lo}, {hi}] "
                         "(an integer)")


# ---------------------------------------------------------------------------- presses
class DemPress:
    """The DEM film press: the relaxed film, its identification curve and multi-pass
    schedules, each pass cached by its pressure prefix under ``cache_dir``."""

    deterministic = False

    def __init__(self, dried, conditions=None, protocol=None, voxel_um: float = 0.5,
                 cache_dir: str | Path = "dem", log: Callable[[str], None] | None = None
                 ) -> None:
        from physics.calender import ProcessConditions, check_dried_state
        from physics.pipeline import calender_protocol

        check_dried_state(dried)
        self.dried = dried
        self.conditions = conditions or ProcessConditions()
        self.tier_protocol = protocol or calender_protocol("ci")
        self.protocol = replace(self.tier_protocol, relax_steps=REPRESS_RELAX_STEPS)
        self.voxel_um = voxel_um
        self.cache = Path(cache_dir)
        self.log = log or (lambda message: None)
        digest = hashlib.sha256()
        for array in (dried.position_um, dried.radius_um, dried.species, dried.mass_pg):
            digest.update(np.ascontiguousarray(array).tobytes())
        self.key = {"version": CACHE_VERSION, "dried": digest.hexdigest()[:20],
                    "conditions": _jsonable(asdict(self.conditions)),
                    "protocol": _jsonable(asdict(self.protocol))}
        self._relaxed = None

    def _entry(self, kind: str, data: dict) -> Path:
        text = json.dumps({**self.key, "kind": kind, **data}, sort_keys=True)
        return self.cache / kind / hashlib.sha256(text.encode()).hexdigest()[:20]

    def relaxed(self):
        """The uncalendered film: the dried film after the DEM's drag relaxation."""
        from physics.calender import dem_relaxed
        from physics.state import ParticleState

        if self._relaxed is None:
            entry = self._entry("relaxed", {})
            path = entry / "state.npz"
            if path.is_file():
                self._relaxed = ParticleState.load(path)
            else:
                self.log("DEM: relaxing the dried film under the DEM law")
                self._relaxed = dem_relaxed(self.dried, self.conditions, self.tier_protocol)
                _store(entry, {"stage": "relaxed"}, self._relaxed)
        return self._relaxed

    def uncalendered(self) -> SliceProfile:
        from physics.pressure_path import film_slice_profile

        return film_slice_profile(self.relaxed(), self.voxel_um)

    def curve(self, pressures_mpa: Sequence[float]) -> list[tuple[float, SliceProfile]]:
        """(pressure reached [MPa], profile) after one press and release from the
        uncalendered film at each pressure (one shared loading path)."""
        from physics.calender import calender
        from physics.pressure_path import film_slice_profile
        from physics.state import ParticleState

        pressures = [float(p) for p in pressures_mpa]
        entry = self._entry("curve", {"pressures_mpa": pressures})
        if not (entry / "result.json").is_file():
            self.log(f"DEM: identification curve at {', '.join(f'{p:g}' for p in pressures)} "
                     "MPa")
            res = calender(self.relaxed(), pressures, self.conditions, self.protocol)
            tmp = _tmp_entry(entry)
            for k, point in enumerate(res.points):
                point.state.save(tmp / f"state_{k}.npz")
            _finish_entry(tmp, entry, {"points": [p.summary() for p in res.points]})
        data = json.loads((entry / "result.json").read_text())
        return [(float(point["pressure_max_mpa"]),
                 film_slice_profile(ParticleState.load(entry / f"state_{k}.npz"),
                                    self.voxel_um))
                for k, point in enumerate(data["points"])]

    def schedule(self, pressures_mpa: Sequence[float]) -> tuple[SliceProfile, list[dict]]:
        """The profile after passes at ``pressures_mpa`` [MPa], pass after pass, and each
        pass's press summary."""
        from physics.calender import calender
        from physics.pressure_path import film_slice_profile
        from physics.state import ParticleState

        state = self.relaxed()
        passes = []
        for k in range(len(pressures_mpa)):
            prefix = [round(float(p), 9) for p in pressures_mpa[:k + 1]]
            entry = self._entry("passes", {"pressures_mpa": prefix})
            if not (entry / "result.json").is_file():
                self.log(f"DEM: pass {k + 1} at {prefix[-1]:.4g} MPa")
                res = calender(state, [prefix[-1]], self.conditions, self.protocol)
                point = res.points[0]
                _store(entry, {"point": point.summary(), "wall_s": res.wall_s}, point.state)
            passes.append(json.loads((entry / "result.json").read_text())["point"])
            state = ParticleState.load(entry / "state.npz")
        return film_slice_profile(state, self.voxel_um), passes


class ModelPress:
    """A stand-in press whose films follow a reduced model exactly (tests, what-ifs): each
    pass relaxes the sub-layers by e^-pass_damkohler toward their equilibrium (inf: to it);
    a profile holds ``slices_per_layer`` equal slices per sub-layer of a film
    ``thickness_um`` thick."""

    deterministic = True

    def __init__(self, model: LayerModel, pass_damkohler: float = math.inf,
                 thickness_um: float = 30.0, slices_per_layer: int = 6) -> None:
        self.model = model
        self.pass_damkohler = pass_damkohler
        self.thickness_um = thickness_um
        self.slices_per_layer = slices_per_layer
        self.key = {"stand-in": model.to_dict(), "pass_damkohler": str(pass_damkohler)}

    def _profile(self, layers: np.ndarray) -> SliceProfile:
        pore = np.repeat(layers, self.slices_per_layer)
        edge = self.thickness_um / len(pore)
        return SliceProfile(z_um=(np.arange(len(pore)) + 0.5) * edge, porosity=pore,
                            weight=np.ones(len(pore)), thickness_um=self.thickness_um,
                            voxel_um=edge)

    def uncalendered(self) -> SliceProfile:
        return self._profile(self.model.initial_porosity)

    def curve(self, pressures_mpa: Sequence[float]) -> list[tuple[float, SliceProfile]]:
        return [(float(p), self._profile(pass_porosity(self.model, [p], self.pass_damkohler)))
                for p in pressures_mpa]

    def schedule(self, pressures_mpa: Sequence[float]) -> tuple[SliceProfile, list[dict]]:
        eps = pass_porosity(self.model, list(pressures_mpa), self.pass_damkohler)
        return self._profile(eps), [{"pressure_target_mpa": float(p)} for p in pressures_mpa]


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v.tolist()
                                 if hasattr(v, "tolist") else str(v)))


def _tmp_entry(entry: Path) -> Path:
    import tempfile

    entry.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}."))


def _finish_entry(tmp: Path, entry: Path, result: dict) -> None:
    """Write result.json and rename the temporary folder into place (whole or not at all)."""
    import os
    import shutil

    from experiments.files import write_json_atomic

    write_json_atomic(tmp / "result.json", result)
    try:
        os.rename(tmp, entry)
    except OSError:  # stored meanwhile by another run: keep it
        shutil.rmtree(tmp, ignore_errors=True)


def _store(entry: Path, result: dict, state) -> None:
    tmp = _tmp_entry(entry)
    state.save(tmp / "state.npz")
    _finish_entry(tmp, entry, result)


# ---------------------------------------------------------------------------- BO problem
@dataclass(frozen=True)
class ScheduleProblem(Problem):
    """The BO problem over pass pressures (``pass1_pressure_mpa``, ...): minimize ``cost``
    with the film ``porosity`` in the band."""

    def input_ranges(self) -> dict[str, tuple[float, float]]:
        return {f"pass{k + 1}_pressure_mpa": (1e-6, MAX_PRESSURE_MPA) for k in range(4)}

    def allowed_outputs(self) -> tuple[str, ...]:
        return SCHEDULE_OUTPUTS


def schedule_problem(settings: PathSettings, deterministic: bool) -> ScheduleProblem:
    """The BO problem of the settings (log axes, trust region, one proposal at a time)."""
    names = tuple(f"pass{k + 1}_pressure_mpa" for k in range(settings.passes))
    t = settings.target_porosity
    return ScheduleProblem(
        objective="cost", maximize=False,
        bounds={n: settings.pressure_range_mpa for n in names},
        constraints=(Constraint("porosity", t - settings.tolerance, t + settings.tolerance),),
        log_inputs=names, fidelity="ci", initial=settings.initial,
        iterations=max(settings.budget - settings.initial, 0), q=1, seed=settings.seed,
        noise="none" if deterministic else "learned", trust_region=True)


def schedule_outcome(problem: PathProblem, pressures_mpa: Sequence[float],
                     profile: SliceProfile) -> dict:
    """The outputs of one schedule from its measured profile (the reduced model's cost with
    the identified packing profile and p_ref)."""
    layers = profile.layers(problem.model.n_layers)
    p = np.asarray(pressures_mpa, dtype=float)
    s, pen = problem.cost_terms(p, layers)
    return {"cost": float(s + pen), "porosity": profile.film_porosity, "spread": float(s),
            "penalty": float(pen), "layer_sd": float(np.std(layers)),
            "roll_minus_collector": float(layers[-1] - layers[0]),
            "layers": layers.tolist()}


# ---------------------------------------------------------------------------- the job
def identify(press, settings: PathSettings, damkohler: float):
    """(LayerFit, the free fit when β was then fixed at 1 or None, the uncalendered profile,
    the curve [(pressure, profile)]).  β is kept only where the profiles show attenuation:
    β + 2 se < 1; otherwise the model is refitted with β = 1 (a periodic DEM column
    transmits the roll's stress to every depth, module docstring of physics.pressure_path)."""
    first = press.uncalendered()
    curve = press.curve(settings.curve_pressures_mpa)
    n = settings.n_layers
    args = ([p for p, _ in curve], np.array([prof.layers(n) for _, prof in curve]),
            first.layers(n))
    film = [prof.film_porosity for _, prof in curve]
    fit = identify_layer_model(*args, damkohler=damkohler, film_porosity=film)
    if fit.model.transmission + 2.0 * fit.transmission_se < 1.0:
        return fit, None, first, curve
    return (identify_layer_model(*args, damkohler=damkohler, transmission=1.0,
                                 film_porosity=film), fit, first, curve)


def _settings_key(press, settings: PathSettings, model: LayerModel) -> str:
    text = json.dumps({"press": press.key, "settings": asdict(settings),
                       "model": model.to_dict(), "version": CACHE_VERSION}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def run_schedule_bo(press, problem: PathProblem, settings: PathSettings, out: Path,
                    reduced_best: dict, log: Callable[[str], None]) -> list[dict]:
    """The DEM-in-the-loop BO (module docstring); returns the evaluation rows in order.
    Finished evaluations are kept in ``out/evaluations.json`` and told back on a rerun."""
    from experiments.files import write_json_atomic
    from optimize.loop import BOLoop

    bo = schedule_problem(settings, press.deterministic)
    path = out / "evaluations.json"
    key = _settings_key(press, settings, problem.model)
    rows: list[dict] = []
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError:
            stored = {}
        if stored.get("key") == key:
            rows = stored["rows"]
            log(f"resuming: {len(rows)} DEM evaluation(s) read from {path}")
        else:
            log(f"{path} is from other settings: starting afresh")
    loop = BOLoop(bo)
    for row in rows:
        loop.tell(row["pressures_mpa"], {k: row[k] for k in SCHEDULE_OUTPUTS})

    def evaluate(x: Sequence[float], source: str) -> None:
        k = len(rows)
        t0 = time.perf_counter()
        profile, passes = press.schedule([float(v) for v in x])
        outcome = schedule_outcome(problem, x, profile)
        row = {"evaluation": k + 1, "source": source,
               "pressures_mpa": [float(v) for v in x], **outcome,
               "feasible": bool(abs(outcome["porosity"] - settings.target_porosity)
                                <= settings.tolerance),
               "pressure_reached_mpa": [float(p.get("pressure_max_mpa",
                                                    p.get("pressure_target_mpa")))
                                        for p in passes],
               "slices": {"z_um": profile.z_um.tolist(),
                          "porosity": profile.porosity.tolist(),
                          "weight": profile.weight.tolist()},
               "wall_s": time.perf_counter() - t0}
        rows.append(row)
        loop.tell(x, {k: row[k] for k in SCHEDULE_OUTPUTS})
        write_json_atomic(path, {"key": key, "rows": rows})
        log(f"evaluation {k + 1}/{settings.budget} ({source}): passes "
            f"{', '.join(f'{v:.3g}' for v in x)} MPa -> porosity {outcome['porosity']:.4f}, "
            f"spread sd {math.sqrt(outcome['spread']):.4f}, cost {outcome['cost']:.3g}")

    design, _ = loop.initial_design()
    plan = [("sobol", x) for x in design]
    if reduced_best and settings.budget > settings.initial:
        plan.append(("reduced-model optimum", np.asarray(reduced_best["pressures_mpa"])))
    for k, (source, x) in enumerate(plan[:settings.budget]):
        if k >= len(rows):
            evaluate(x, source)
    iteration = 0
    while len(rows) < settings.budget:
        points, _ = loop.ask(iteration)
        evaluate(points[0], "bo")
        iteration += 1
    return rows


def check_overrides(transmission: float | None, damkohler: float | None) -> None:
    """β in (0, 1] and Da in (0, 100] when given (ValueError naming the field)."""
    from physics.materials import _check_range

    if transmission is not None:
        _check_range("transmission", transmission, 0.0, 1.0, lo_open=True)
    if damkohler is not None:
        _check_range("damkohler", damkohler, 0.0, 100.0, lo_open=True)


def run_pressure_path(out_dir: str | Path, settings: PathSettings, *, press=None,
                      model: LayerModel | None = None, transmission: float | None = None,
                      damkohler: float | None = None, experiment: str | None = "pressure-path",
                      log: Callable[[str], None] | None = None, source: str = "") -> dict:
    """Run the job (module docstring): writes the report folder and one MLflow run
    (``experiment=None`` skips MLflow); returns the summary.

    Args:
        out_dir: the report folder.
        settings: :class:`PathSettings`.
        press: the film press (:class:`DemPress`, or :class:`ModelPress` as a stand-in);
            needed for the identification (no ``model``) and for ``settings.budget`` > 0.
        model: a reduced model (skips the identification).
        transmission, damkohler: override the model's β and Da (default: identified β, Da
            :data:`physics.pressure_path.DEFAULT_DAMKOHLER` or the model's).
        source: where the film came from (for the report).
    """
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.tracking import job_run

    log = log or (lambda message: None)
    if model is None and press is None:
        raise ValueError("give a film press (the DEM film) or a reduced model (--model)")
    if settings.budget and press is None:
        raise ValueError("budget > 0 needs a film press (the DEM film); give budget = 0 with "
                         "a model alone")
    check_overrides(transmission, damkohler)
    overrides = {k: v for k, v in (("transmission", transmission), ("damkohler", damkohler))
                 if v is not None}

    def path_problem(layer_model: LayerModel) -> PathProblem:
        return PathProblem(layer_model.with_(**overrides), settings.target_porosity,
                           settings.weight, settings.pressure_range_mpa[1])

    problem = None
    if model is not None:  # a given model: check the target before any work
        if len(model.shape) != settings.n_layers:
            raise ValueError(f"n_layers = {settings.n_layers} must equal the model's "
                             f"{len(model.shape)} sub-layers")
        problem = path_problem(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    params = {**{k: str(v) for k, v in asdict(settings).items()}, "source": source,
              "transmission": str(transmission), "damkohler": str(damkohler),
              "model_given": model is not None}
    with job_run(experiment, "pressure-path", params) if experiment else nullcontext() \
            as mlrun:
        fit, free, first, curve = None, None, None, []
        if problem is None:
            fit, free, first, curve = identify(press, settings,
                                               damkohler or DEFAULT_DAMKOHLER)
            law = fit.model.law
            beta = fit if free is None else free
            log(f"identified: eps0 {law.porosity_initial:.4f}, eps_min {law.porosity_min:.4f}, "
                f"K0 {law.modulus_mpa:.3g} MPa, m {law.modulus_slope:.3g}; transmission "
                f"{beta.model.transmission:.3f} ± {beta.transmission_se:.3f}"
                + ("" if free is None else " (not below 1 by 2 se: 1 used)"))
            problem = path_problem(fit.model)
        model = problem.model
        nip = solve_nip(problem, log)
        reduced_best = best_schedule(problem, settings.passes, settings.pressure_range_mpa,
                                     settings.tolerance)
        rows = run_schedule_bo(press, problem, settings, out, reduced_best, log) \
            if settings.budget else []
        summary = _summary(settings, problem, fit, free, nip, reduced_best, rows, source)
        summary["wall_s"] = time.perf_counter() - t_start
        write_json_atomic(out / "model.json", model.to_dict())
        files = _write_tables(out, problem, fit, first, curve, nip, rows, write_csv_atomic)
        plots = _write_plots(out, problem, settings, fit, first, curve, nip, rows)
        _write_report(out, summary, plots)
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            mlrun.log_metrics(_metrics(summary))
            for name in ("report.md", "summary.json", "model.json", *files, *plots):
                mlrun.log_artifact(str(out / name))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary


def solve_nip(problem: PathProblem, log: Callable[[str], None]) -> dict:
    """The reduced model's nip: constant reference, Pontryagin, direct check, and their
    agreement."""
    const = constant_path(problem)
    pmp = solve_pontryagin(problem)
    direct = solve_direct(problem, DIRECT_INTERVALS)
    coarse = interval_means(pmp.pressure_mpa, DIRECT_INTERVALS)
    d_coarse = interval_means(direct.pressure_mpa, DIRECT_INTERVALS)
    agreement = {
        "cost_relative_difference": (direct.cost - pmp.cost) / abs(direct.cost),
        "path_rms_difference_mpa": float(np.sqrt(np.mean((coarse - d_coarse) ** 2))),
        "path_rms_difference_over_peak": float(np.sqrt(np.mean((coarse - d_coarse) ** 2))
                                               / max(pmp.peak_pressure_mpa, 1e-12)),
        "gain_over_constant": (const.cost - pmp.cost) / const.cost if const.cost else 0.0}
    log(f"nip: Pontryagin cost {pmp.cost:.4g} ({pmp.iterations} sweeps, "
        f"{'converged' if pmp.converged else 'NOT converged'}), direct {direct.cost:.4g}, "
        f"constant {const.cost:.4g}; paths differ by "
        f"{agreement['path_rms_difference_mpa']:.3g} MPa RMS")
    return {"constant": const, "pontryagin": pmp, "direct": direct, "agreement": agreement}


# ---------------------------------------------------------------------------- outputs
def _summary(settings, problem: PathProblem, fit, free, nip: dict, reduced_best: dict,
             rows: list[dict], source: str) -> dict:
    model = problem.model
    lo, hi = problem.reachable_range()
    out = {
        "job": "pressure-path", "source": source, "settings": asdict(settings),
        "model": model.to_dict(),
        "identification": fit.summary() if fit is not None else None,
        "identification_free_transmission": free.summary() if free is not None else None,
        "reachable_range": [lo, hi],
        "reference_pressure_mpa": problem.reference_pressure_mpa,
        "nip": {name: nip[name].summary() for name in ("constant", "pontryagin", "direct")},
        "nip_final_layers": {name: nip[name].final_porosity.tolist()
                             for name in ("constant", "pontryagin", "direct")},
        "nip_agreement": nip["agreement"],
        "reduced_best_schedule": reduced_best or None,
        "dem": None,
    }
    if rows:
        feasible = [r for r in rows if r["feasible"]]
        best = min(feasible, key=lambda r: r["cost"]) if feasible else None
        out["dem"] = {"evaluations": len(rows), "feasible": len(feasible),
                      "best": _row_brief(best, problem) if best else None,
                      "reduced_optimum_run": next(
                          (_row_brief(r, problem) for r in rows
                           if r["source"] == "reduced-model optimum"), None)}
    return out


def _row_brief(row: dict, problem: PathProblem) -> dict:
    """A DEM evaluation with the reduced model's prediction for the same schedule."""
    pred = pass_porosity(problem.model, row["pressures_mpa"])
    s, pen = problem.cost_terms(np.asarray(row["pressures_mpa"]), pred)
    return {**{k: row[k] for k in ("evaluation", "source", "pressures_mpa", "cost", "porosity",
                                   "spread", "penalty", "layer_sd", "roll_minus_collector",
                                   "layers")},
            "model_prediction": {"porosity": float(pred.mean()), "spread": float(s),
                                 "cost": float(s + pen), "layers": pred.tolist()}}


def _metrics(summary: dict) -> dict[str, float]:
    m = {}
    for name, sol in summary["nip"].items():
        for k in ("cost", "spread", "penalty", "peak_pressure_mpa", "porosity_mean"):
            m[f"nip.{name}.{k}"] = float(sol[k])
    m.update({f"nip.agreement.{k}": float(v) for k, v in summary["nip_agreement"].items()})
    if summary["identification"]:
        ident = summary["identification"]
        for k in ("transmission", "transmission_se", "porosity_min", "modulus_mpa",
                  "residual_sd"):
            m[f"identification.{k}"] = float(ident[k])
    dem = summary["dem"]
    if dem and dem["best"]:
        for k in ("cost", "porosity", "spread"):
            m[f"dem.best.{k}"] = float(dem["best"][k])
    return m


def _write_tables(out: Path, problem: PathProblem, fit, first, curve, nip, rows, write_csv
                  ) -> list[str]:
    files = []
    model = problem.model
    n = model.n_layers
    t = nip["pontryagin"].time
    mid = 0.5 * (t[:-1] + t[1:])
    write_csv(out / "nip_paths.csv", [
        {"time": float(mid[k]), **{f"pressure_{name}_mpa": float(nip[name].pressure_mpa[k])
                                   for name in ("pontryagin", "direct", "constant")}}
        for k in range(len(mid))])
    write_csv(out / "nip_layers.csv", [
        {"time": float(t[k]), **{f"layer{i}_porosity": float(nip["pontryagin"].porosity[k, i])
                                 for i in range(n)}} for k in range(len(t))])
    files += ["nip_paths.csv", "nip_layers.csv"]
    if fit is not None:
        rows_id = [{"pressure_mpa": 0.0, "layer": i, "porosity": float(v),
                    "model": float(model.initial_porosity[i])}
                   for i, v in enumerate(first.layers(n))]
        for p, prof in curve:
            pred = model.equilibrium_porosity(p)
            rows_id += [{"pressure_mpa": p, "layer": i, "porosity": float(v),
                         "model": float(pred[i])} for i, v in enumerate(prof.layers(n))]
        write_csv(out / "identification_layers.csv", rows_id)
        slices = [{"pressure_mpa": 0.0, "z_um": float(z), "porosity": float(e)}
                  for z, e in zip(first.z_um, first.porosity, strict=True)]
        for p, prof in curve:
            slices += [{"pressure_mpa": p, "z_um": float(z), "porosity": float(e)}
                       for z, e in zip(prof.z_um, prof.porosity, strict=True)]
        write_csv(out / "identification_slices.csv", slices)
        files += ["identification_layers.csv", "identification_slices.csv"]
    if rows:
        write_csv(out / "evaluations.csv", [
            {"evaluation": r["evaluation"], "source": r["source"],
             **{f"pass{k + 1}_pressure_mpa": v for k, v in enumerate(r["pressures_mpa"])},
             **{k: r[k] for k in SCHEDULE_OUTPUTS}, "feasible": r["feasible"],
             **{f"layer{i}_porosity": v for i, v in enumerate(r["layers"])}}
            for r in rows])
        files.append("evaluations.csv")
        best = _best_row(rows)
        if best is not None:
            s = best["slices"]
            write_csv(out / "best_profile_slices.csv", [
                {"z_um": z, "porosity": e, "weight": w}
                for z, e, w in zip(s["z_um"], s["porosity"], s["weight"], strict=True)])
            files.append("best_profile_slices.csv")
    return files


def _best_row(rows: list[dict]) -> dict | None:
    feasible = [r for r in rows if r["feasible"]]
    return min(feasible, key=lambda r: r["cost"]) if feasible else None


def _write_plots(out: Path, problem, settings, fit, first, curve, nip, rows) -> list[str]:
    from experiments.plots import (
        plot_layer_identification,
        plot_nip_paths,
        plot_schedule_evaluations,
        plot_slice_profiles,
    )

    plots = [plot_nip_paths(nip, problem, out / "nip_path.png",
                            schedule=_best_row(rows)).name]
    if fit is not None:
        plots.append(plot_layer_identification(first, curve, problem.model,
                                               out / "identification.png").name)
    if rows:
        plots.append(plot_schedule_evaluations(rows, problem.target_porosity,
                                               settings.tolerance,
                                               out / "dem_evaluations.png").name)
        best = _best_row(rows)
        if best is not None:
            plots.append(plot_slice_profiles(best, first, problem,
                                             out / "dem_best_profile.png").name)
    return plots


def _write_report(out: Path, summary: dict, plots: list[str]) -> None:
    from experiments.report import Section, write_report

    s = summary["settings"]
    model = summary["model"]
    law = model["law"]
    ident = summary["identification"]
    sections = []
    model_text = (
        f"{len(model['shape'])} sub-layers (collector first); compaction law ε0 = "
        f"{law['porosity_initial']:.4f}, ε_min = {law['porosity_min']:.4f}, K0 = "
        f"{law['modulus_mpa']:.4g} MPa, m = {law['modulus_slope']:.3g}; shape factors c = "
        f"{', '.join(f'{c:.3f}' for c in model['shape'])}; stress transmission β = "
        f"{model['transmission']:.3f}; Da = {model['damkohler']:.3g}.  Reachable film "
        f"porosity in one contact below {s['pressure_range_mpa'][1]:g} MPa: "
        f"({summary['reachable_range'][0]:.4f}, {summary['reachable_range'][1]:.4f}); "
        f"p_ref = {summary['reference_pressure_mpa']:.4g} MPa.")
    if ident:
        free = summary["identification_free_transmission"]
        beta = (f"β = {ident['transmission']:.3f} ± {ident['transmission_se']:.3f}"
                if free is None else
                f"β fitted freely: {free['transmission']:.3f} ± {free['transmission_se']:.3f}, "
                f"not below 1 by two standard errors, so β = 1 (no attenuation) and the law "
                f"and shape refitted with it")
        model_text += (
            f"\n\nIdentified from {ident['n_points']} sub-layer porosities of the DEM film "
            f"after {', '.join(f'{p:g}' for p in s['curve_pressures_mpa'])} MPa, the "
            f"uncalendered film's profile as the initial state: {beta}; "
            f"residual sd {ident['residual_sd']:.4f}; the film-only law gives ε_min = "
            f"{ident['film_law']['porosity_min']:.4f}, K0 = "
            f"{ident['film_law']['modulus_mpa']:.4g} MPa.  Residuals per sub-layer and "
            "pressure: identification_layers.csv.")
    sections.append(Section("Reduced model", model_text,
                            plots=[p for p in plots if p == "identification.png"]))
    nip = summary["nip"]
    agree = summary["nip_agreement"]
    sections.append(Section(
        "One nip: Pontryagin against the direct check",
        f"Target {s['target_porosity']:.4f}, w = {s['weight']:g}.  Pontryagin cost "
        f"{nip['pontryagin']['cost']:.5g} ({nip['pontryagin']['iterations']} sweeps, "
        f"{'converged' if nip['pontryagin']['converged'] else 'NOT converged'}, Hamiltonian "
        f"gap {nip['pontryagin']['hamiltonian_gap']:.2g}), direct "
        f"({DIRECT_INTERVALS} intervals) {nip['direct']['cost']:.5g}: relative difference "
        f"{agree['cost_relative_difference']:+.2e}; the paths differ by "
        f"{agree['path_rms_difference_mpa']:.3g} MPa RMS "
        f"({100 * agree['path_rms_difference_over_peak']:.2f} % of the peak).  The best "
        f"constant pressure costs {nip['constant']['cost']:.5g}: the shaped path saves "
        f"{100 * agree['gain_over_constant']:.1f} %."
        + (f"  {nip['pontryagin']['relaxed_intervals']} interval(s) hold a switch between "
           "two extremals (relaxed control)." if nip['pontryagin']['relaxed_intervals']
           else "")
        + ("" if nip["pontryagin"]["converged"] else
           "  The sweep did not satisfy the minimum principle (several branches of "
           "extremals: the Hamiltonian is not convex in p): the direct solution is the "
           "answer here."),
        table=[{"path": k, **{c: v[c] for c in ("cost", "spread_sd", "layer_sd", "penalty",
                                                 "porosity_mean", "peak_pressure_mpa",
                                                 "mean_pressure_mpa",
                                                 "roll_minus_collector")}}
               for k, v in nip.items()],
        plots=[p for p in plots if p == "nip_path.png"]))
    rb = summary["reduced_best_schedule"]
    dem = summary["dem"]
    text = (f"Reduced model's best {s['passes']}-pass schedule (equilibrium passes, grid): "
            + (f"{', '.join(f'{p:.3g}' for p in rb['pressures_mpa'])} MPa, cost "
               f"{rb['cost']:.4g}, porosity {rb['porosity_mean']:.4f}." if rb
               else "none within the band."))
    table = []
    if dem:
        text += (f"\n\nDEM: {dem['evaluations']} schedules evaluated, {dem['feasible']} within "
                 f"±{s['tolerance']:g} of the target.")
        for label, row in (("best DEM schedule", dem["best"]),
                           ("reduced-model optimum run in the DEM",
                            dem["reduced_optimum_run"])):
            if row:
                pred = row["model_prediction"]
                table.append({"schedule": label, "passes_mpa": ", ".join(
                    f"{p:.3g}" for p in row["pressures_mpa"]), "DEM porosity": row["porosity"],
                    "model porosity": pred["porosity"], "DEM spread sd":
                    math.sqrt(row["spread"]), "model spread sd": math.sqrt(pred["spread"]),
                    "DEM cost": row["cost"], "model cost": pred["cost"]})
    else:
        text += "\n\nNo DEM evaluations (budget 0)."
    sections.append(Section("Multi-pass schedules with the DEM in the loop", text,
                            table=table,
                            plots=[p for p in plots if p in ("dem_evaluations.png",
                                                             "dem_best_profile.png")]))
    write_report(out, "Optimal pressure trajectory", sections)
