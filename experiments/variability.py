"""The variability job: line scatter of the coating through the cell model.

Declared input distributions (coating thickness, porosity, the Bruggeman exponent, the
electronic conductivity) perturb a base cathode (the defaults, or one calendered structure's
transport result).  A porosity change keeps the AM : CBD volume ratio and the solid's AM
surface per volume, and moves the tortuosity along Bruggeman's law from the base,
τ = τ_0 (ε / ε_0)^(1-α) (so an uncertain α from ``etwin calibrate`` enters as a distribution).

Three Monte Carlo estimates:

1. full model: ``n_full`` draws, each a DFN 1C discharge (:func:`physics.cell.discharge`),
   run in parallel through the Step 6 executor and cached per chunk (a stopped job resumes);
2. surrogate: one GP per output (:class:`surrogates.gp.GPSurrogate`) trained on ``n_train``
   Sobol points over the inputs' 0.5-99.5 % quantile box, then ``n_surrogate`` draws (the
   first ``n_full`` of them are the full model's draws: a shared sample);
3. first-order and total Sobol' indices of each output on the surrogate
   (:mod:`surrogates.sensitivity`).

Outputs per draw: 1C specific and areal capacity, the 10 s DC internal resistance
R_DC = (U_OCV(s_0) - V(10 s)) / i at 1C [Ω cm²] and the ionic resistance R_ion = τ L / (κ ε)
[Ω cm²].  The agreement of surrogate and full model is reported on the shared sample (parity
RMSE, percentiles, Kolmogorov-Smirnov distance).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy import stats

from physics.cell_params import CellParameters

OUTPUTS = {
    "capacity_1C_mah_g": "1C capacity [mAh/g]",
    "areal_capacity_1C_mah_cm2": "1C areal capacity [mAh/cm²]",
    "dcir_10s_ohm_cm2": "10 s DC resistance at 1C [Ω cm²]",
    "r_ion_ohm_cm2": "ionic resistance R_ion [Ω cm²]",
}
VARIABLES = {  # name: (allowed range, unit)
    "thickness_um": ((1.0, 5000.0), "µm"),
    "porosity": ((0.05, 0.95), "-"),
    "bruggeman_alpha": ((1.0, 6.0), "-"),
    "electronic_conductivity_s_m": ((1e-6, 1e6), "S/m"),
}
KINDS = ("normal", "uniform", "lognormal")
PULSE_S = 10.0
CHUNK = 8
CACHE_VERSION = 1


@dataclass(frozen=True)
class Distribution:
    """One varied input: ``normal`` (mean, sd), ``uniform`` (low, high) or ``lognormal``
    (median, sd of the log).  Its 0.1-99.9 % quantiles must lie in the variable's range.
    A job with other variables subclasses it with its own ``variables`` (name: (allowed
    range, unit)) and ``example``."""

    variables: ClassVar[dict] = VARIABLES
    example: ClassVar[str] = "thickness_um=normal:70,1.5"

    name: str
    kind: str
    a: float
    b: float

    def __post_init__(self) -> None:
        if self.name not in self.variables:
            raise ValueError(f"unknown variable {self.name!r}; allowed: "
                             f"{', '.join(self.variables)}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown distribution {self.kind!r}; allowed: "
                             f"{', '.join(KINDS)}")
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"{self.name}: parameters must be finite")
        if self.kind in ("normal", "lognormal") and self.b <= 0:
            raise ValueError(f"{self.name}: the spread must be > 0, got {self.b}")
        if self.kind == "uniform" and not self.a < self.b:
            raise ValueError(f"{self.name}: uniform needs low < high, got {self.a}, {self.b}")
        if self.kind == "lognormal" and self.a <= 0:
            raise ValueError(f"{self.name}: the lognormal median must be > 0, got {self.a}")
        (lo, hi), unit = self.variables[self.name]
        q = self.ppf(np.array([0.001, 0.999]))
        if q[0] < lo or q[1] > hi:
            raise ValueError(f"{self.name}: the 0.1-99.9 % range [{q[0]:.4g}, {q[1]:.4g}] "
                             f"{unit} leaves the allowed range [{lo:g}, {hi:g}] {unit}")

    @classmethod
    def parse(cls, spec: str) -> Distribution:
        """``name=kind:a,b``, e.g. ``thickness_um=normal:70,1.5`` (``cls.example``)."""
        try:
            name, rest = spec.split("=", 1)
            kind, params = rest.split(":", 1)
            a, b = (float(v) for v in params.split(","))
        except ValueError:
            raise ValueError(f"--vary {spec!r}: expected NAME=KIND:A,B, e.g. "
                             f"{cls.example}") from None
        return cls(name.strip(), kind.strip(), a, b)

    def _frozen(self):
        if self.kind == "normal":
            return stats.norm(self.a, self.b)
        if self.kind == "uniform":
            return stats.uniform(self.a, self.b - self.a)
        return stats.lognorm(self.b, scale=self.a)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._frozen().ppf(u)

    def mean(self) -> float:
        return float(self._frozen().mean())

    def sd(self) -> float:
        return float(self._frozen().std())

    def describe(self) -> str:
        labels = {"normal": ("mean", "sd"), "uniform": ("low", "high"),
                  "lognormal": ("median", "sd of ln")}[self.kind]
        return f"{self.name}: {self.kind}, {labels[0]} {self.a:g}, {labels[1]} {self.b:g}"


def sample_inputs(dists: Sequence[Distribution], n: int, seed: int) -> np.ndarray:
    """n independent draws (n × d) by inverse transform of uniform random numbers."""
    u = np.random.default_rng(seed).uniform(size=(n, len(dists)))
    return np.column_stack([d.ppf(u[:, k]) for k, d in enumerate(dists)])


def design_inputs(dists: Sequence[Distribution], n: int, seed: int) -> np.ndarray:
    """n scrambled-Sobol points over each input's 0.5-99.5 % quantile range (the
    surrogate's training design)."""
    from optimize.bo import sobol_unit

    u = sobol_unit(len(dists), n, seed)
    u = 0.005 + 0.99 * u
    return np.column_stack([d.ppf(u[:, k]) for k, d in enumerate(dists)])


# ---------------------------------------------------------------------------- one draw
def perturbed_cell(base: CellParameters, x: dict[str, float]) -> CellParameters:
    """The base cell with the drawn inputs (module docstring for the coupling)."""
    c = base.cathode
    eps0 = c.porosity
    eps = x.get("porosity", eps0)
    alpha = x.get("bruggeman_alpha", 1.5)
    solid = (1.0 - eps) / (1.0 - eps0)
    cathode = replace(
        c, thickness_m=x.get("thickness_um", c.thickness_m * 1e6) * 1e-6, porosity=eps,
        active_volume_fraction=c.active_volume_fraction * solid,
        cbd_volume_fraction=c.cbd_volume_fraction * solid,
        specific_surface_area_m=c.specific_surface_area_m * solid,
        tortuosity_factor=max(1.0, c.tortuosity_factor * (eps / eps0) ** (1.0 - alpha)),
        electronic_conductivity_s_m=x.get("electronic_conductivity_s_m",
                                          c.electronic_conductivity_s_m))
    return replace(base, cathode=cathode)


def cell_outputs(params: CellParameters) -> dict[str, float]:
    """The four outputs of one cell (module docstring); NaN where the discharge failed."""
    from physics.cell import active_mass_kg_m2, discharge, electrolyte_conductivity_s_m
    from physics.ocp import ocp_function

    c = params.cathode
    kappa = electrolyte_conductivity_s_m(params)
    out = {"r_ion_ohm_cm2": c.tortuosity_factor * c.thickness_m / (kappa * c.porosity) * 1e4}
    try:
        d = discharge(params, c_rate=1.0)
    except RuntimeError:
        return {**out, "capacity_1C_mah_g": math.nan, "areal_capacity_1C_mah_cm2": math.nan,
                "dcir_10s_ohm_cm2": math.nan}
    ocv = float(ocp_function(c.ocp)(c.initial_stoichiometry))
    v_pulse = float(np.interp(PULSE_S, d.time_s, d.voltage_v)) if d.time_s[-1] >= PULSE_S \
        else math.nan
    return {**out, "capacity_1C_mah_g": d.capacity_final_mah_g,
            "areal_capacity_1C_mah_cm2": d.capacity_final_mah_g * 1e3
            * active_mass_kg_m2(params) * 1e-4,
            "dcir_10s_ohm_cm2": (ocv - v_pulse) / d.current_density_a_m2 * 1e4}


def evaluate_chunk(base: CellParameters, names: tuple[str, ...], x: np.ndarray) -> list[dict]:
    """Outputs of each row of x (worker entry point: runs in another process)."""
    return [cell_outputs(perturbed_cell(base, dict(zip(names, map(float, row), strict=True))))
            for row in x]


def _chunk_key(base: CellParameters, names: tuple[str, ...], x: np.ndarray) -> str:
    text = json.dumps([CACHE_VERSION, repr(base), names, x.round(12).tolist()])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def evaluate(base: CellParameters, names: tuple[str, ...], x: np.ndarray, cache_dir: Path,
             executor: str = "local", workers: int = 2, label: str = "cell model",
             quiet: bool = False) -> dict[str, np.ndarray]:
    """Outputs for every row of x: chunks of ``CHUNK`` draws run through the executor and are
    stored as ``cache_dir/<hash>.json`` as they finish (a rerun reads them back)."""
    import concurrent.futures as cf

    from tqdm import tqdm

    from experiments.batch import make_executor
    from experiments.files import write_json_atomic

    cache_dir.mkdir(parents=True, exist_ok=True)
    chunks = [x[i:i + CHUNK] for i in range(0, len(x), CHUNK)]
    keys = [_chunk_key(base, names, c) for c in chunks]
    results: dict[int, list[dict]] = {}
    for k, key in enumerate(keys):
        path = cache_dir / f"{key}.json"
        if path.is_file():
            results[k] = json.loads(path.read_text())
    todo = [k for k in range(len(chunks)) if k not in results]
    with tqdm(total=len(x), desc=label, unit="cell", disable=quiet) as bar:
        bar.update(sum(len(chunks[k]) for k in results))
        if todo:
            pool, close, _ = make_executor(executor, min(workers, len(todo)))
            try:
                futures = {pool.submit(evaluate_chunk, base, names, chunks[k]): k for k in todo}
                for fut in cf.as_completed(futures):
                    k = futures[fut]
                    results[k] = fut.result()
                    write_json_atomic(cache_dir / f"{keys[k]}.json", results[k])
                    bar.update(len(chunks[k]))
            finally:
                close()
    rows = [r for k in range(len(chunks)) for r in results[k]]
    return {o: np.array([np.nan if r[o] is None else r[o] for r in rows], dtype=float)
            for o in OUTPUTS}


# ---------------------------------------------------------------------------- summaries
def percentiles(values: np.ndarray) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {}
    p = np.percentile(v, [5, 50, 95])
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "p5": float(p[0]), "p50": float(p[1]), "p95": float(p[2]), "n": int(v.size)}


def agreement(full: np.ndarray, surrogate: np.ndarray) -> dict[str, float]:
    """Surrogate against full model on the same draws: parity RMSE and max error, relative
    RMSE (to the full model's sd), and the Kolmogorov-Smirnov distance of the two samples."""
    ok = np.isfinite(full) & np.isfinite(surrogate)
    f, s = full[ok], surrogate[ok]
    rmse = float(np.sqrt(np.mean((s - f) ** 2)))
    sd = float(np.std(f, ddof=1))
    return {"rmse": rmse, "max_abs_error": float(np.max(np.abs(s - f))),
            "rmse_over_sd": rmse / sd if sd > 0 else math.nan,
            "ks_distance": float(stats.ks_2samp(f, s).statistic), "n": int(ok.sum())}


# ---------------------------------------------------------------------------- the job
def base_cell(transport: str | Path | None = None, materials=None) -> CellParameters:
    """The cell model's defaults (or a material set's AM electrochemistry and voltage window,
    :class:`physics.material_sets.MaterialSet`), with the cathode of a transport result if
    given (``etwin transport`` metrics.json)."""
    base = CellParameters() if materials is None else materials.cell_parameters()
    if transport is None:
        return base
    from physics.cell_params import cathode_from_transport

    path = Path(transport)
    if not path.is_file():
        raise FileNotFoundError(f"transport result {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--transport {path}: not a readable etwin transport metrics.json "
                         f"({err})") from None
    return replace(base, cathode=cathode_from_transport(data, base.cathode))


def default_distributions(base: CellParameters) -> list[Distribution]:
    """Coating scatter typical of a pilot line: thickness ±2 % (sd), porosity ±0.01 (sd)."""
    c = base.cathode
    return [Distribution("thickness_um", "normal", c.thickness_m * 1e6, 0.02 * c.thickness_m * 1e6),
            Distribution("porosity", "normal", c.porosity, 0.01)]


def run_variability(out_dir: str | Path, dists: Sequence[Distribution] | None = None, *,
                    transport: str | Path | None = None, n_full: int = 200,
                    n_train: int = 48, n_surrogate: int = 100_000, n_sobol: int = 8192,
                    seed: int = 0, executor: str = "local", workers: int = 2,
                    experiment: str | None = "variability", quiet: bool = False,
                    materials=None) -> dict:
    """Run the job (module docstring); writes the report folder and one MLflow run
    (``experiment=None`` skips MLflow).  Returns the summary."""
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import plot_parity_shared, plot_sensitivity, plot_variability
    from experiments.report import Section, write_report
    from experiments.tracking import job_run
    from surrogates.gp import GPSurrogate
    from surrogates.sensitivity import sobol_indices

    for name, value, lo, hi in (("n_full", n_full, 10, 100_000), ("n_train", n_train, 8, 2000),
                                ("n_surrogate", n_surrogate, 1000, 10_000_000),
                                ("n_sobol", n_sobol, 64, 1_000_000), ("workers", workers, 1, 512)):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value}")
    base = base_cell(transport, materials)
    dists = list(dists) if dists else default_distributions(base)
    names = tuple(d.name for d in dists)
    if len(set(names)) != len(names):
        raise ValueError(f"each variable may be declared once, got {list(names)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "cell_evaluations"

    def run() -> dict:
        x_mc = sample_inputs(dists, max(n_surrogate, n_full), seed)
        x_full = x_mc[:n_full]
        full = evaluate(base, names, x_full, cache, executor, workers, "full-model Monte Carlo",
                        quiet)
        x_train = design_inputs(dists, n_train, seed + 1)
        train = evaluate(base, names, x_train, cache, executor, workers, "surrogate design",
                         quiet)
        models, sur, sur_shared, sens = {}, {}, {}, {}
        for o in OUTPUTS:
            ok = np.isfinite(train[o])
            models[o] = GPSurrogate(o, names).fit(x_train[ok], train[o][ok])
            sur[o] = np.concatenate([models[o].predict(x_mc[i:i + 5000])[0]
                                     for i in range(0, len(x_mc), 5000)])
            sur_shared[o] = sur[o][:n_full]

            def mean_of(x, model=models[o]):
                return np.concatenate([model.predict(x[i:i + 5000])[0]
                                       for i in range(0, len(x), 5000)])

            sens[o] = sobol_indices(mean_of, lambda m, s: sample_inputs(dists, m, s), names,
                                    n=n_sobol, seed=seed + 2)
        return {"x_full": x_full, "full": full, "x_train": x_train, "train": train,
                "surrogate": sur, "surrogate_shared": sur_shared, "sensitivity": sens}

    params = {"inputs": "; ".join(d.describe() for d in dists), "n_full": n_full,
              "n_train": n_train, "n_surrogate": max(n_surrogate, n_full), "seed": seed,
              "transport": str(transport)}
    with job_run(experiment, "variability", params) if experiment else nullcontext() as mlrun:
        r = run()
        summary = {
            "job": "variability", "inputs": [d.describe() for d in dists],
            "base_cathode": {
                "thickness_um": base.cathode.thickness_m * 1e6, "porosity": base.cathode.porosity,
                "tortuosity_factor": base.cathode.tortuosity_factor,
                "electronic_conductivity_s_m": base.cathode.electronic_conductivity_s_m,
                "transport": str(transport) if transport else None},
            "n_full": n_full, "n_train": n_train, "n_surrogate": max(n_surrogate, n_full),
            "failed_full": int(np.sum(~np.isfinite(r["full"]["capacity_1C_mah_g"]))),
            "outputs": {o: {"full_model": percentiles(r["full"][o]),
                            "surrogate": percentiles(r["surrogate"][o]),
                            "agreement_on_shared_sample": agreement(r["full"][o],
                                                                    r["surrogate_shared"][o]),
                            "sobol": r["sensitivity"][o].rows()} for o in OUTPUTS},
        }
        write_csv_atomic(out / "full_model_samples.csv", [
            {**dict(zip(names, map(float, x), strict=True)),
             **{o: float(r["full"][o][k]) for o in OUTPUTS},
             **{f"{o}_surrogate": float(r["surrogate_shared"][o][k]) for o in OUTPUTS}}
            for k, x in enumerate(r["x_full"])])
        write_csv_atomic(out / "percentiles.csv", [
            {"output": o, "model": m, **summary["outputs"][o][key]}
            for o in OUTPUTS for m, key in (("full", "full_model"), ("surrogate", "surrogate"))])
        write_csv_atomic(out / "sobol_indices.csv", [
            {"output": o, **row} for o in OUTPUTS for row in summary["outputs"][o]["sobol"]])
        plots = [plot_variability(r["full"], r["surrogate"], OUTPUTS,
                                  out / "distributions.png").name,
                 plot_sensitivity(r["sensitivity"], OUTPUTS, out / "sensitivity.png").name,
                 plot_parity_shared(r["full"], r["surrogate_shared"], OUTPUTS,
                                    out / "surrogate_vs_full.png").name]
        lines = []
        for o, label in OUTPUTS.items():
            f = summary["outputs"][o]["full_model"]
            a = summary["outputs"][o]["agreement_on_shared_sample"]
            top = max(summary["outputs"][o]["sobol"], key=lambda row: row["S1"])
            lines.append(f"- {label}: P5 {f['p5']:.4g}, P50 {f['p50']:.4g}, P95 {f['p95']:.4g} "
                         f"(full model, n = {f['n']}); surrogate RMSE {a['rmse']:.3g} "
                         f"({100 * a['rmse_over_sd']:.1f} % of the sd), KS distance "
                         f"{a['ks_distance']:.3f}; largest first-order index: {top['input']} "
                         f"S1 = {top['S1']:.2f}")
        write_report(out, "Monte Carlo variability", [
            Section("Inputs", "\n".join(f"- {d.describe()}" for d in dists)
                    + f"\n\nBase cathode: {summary['base_cathode']}"),
            Section("Result", "\n".join(lines), plots=plots),
            Section("Percentiles", table=[{"output": o, "model": m, **summary["outputs"][o][key]}
                                          for o in OUTPUTS for m, key in
                                          (("full", "full_model"), ("surrogate", "surrogate"))]),
            Section("Sobol' indices (surrogate)", table=[
                {"output": o, **row} for o in OUTPUTS for row in summary["outputs"][o]["sobol"]])])
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            mlrun.log_metrics({f"{o}.{m}.{k}": float(v) for o in OUTPUTS
                                for m in ("full_model", "surrogate")
                                for k, v in summary["outputs"][o][m].items()})
            for name in ("report.md", "summary.json", "percentiles.csv", "sobol_indices.csv",
                         "full_model_samples.csv", *plots):
                mlrun.log_artifact(str(out / name))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary
