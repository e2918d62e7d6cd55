"""Porosity-targeting feed-forward control of the calender (``etwin target-porosity``).

The calendering review (shared/reference/applications_calendering_review.txt, "Predictive
Control for Porosity Targeting") describes the scheme: the incoming film's state (slurry solid
content, dried porosity) and a pore-bulk-modulus compaction law give the nip pressure that
reaches a target porosity batch by batch.  Here:

Compaction response.  :class:`physics.compaction.CompactionLaw`,
ε(p) = ε_min + (ε0 - ε_min) (1 + m p / K0)^(-1/m), fitted to DEM calendering curves
(``etwin calender`` folders, CSV or JSON; several = a seed ensemble, each film with its own
ε0).  The default is the paper electrode's seed ensemble of two ``fast`` DEM curves with the
calibrated contact law (``experiments.line_data.DEFAULT_CURVES``).  A batch with dried
porosity ε0 keeps the pore stiffness (ε_min, K0, m): ``law.with_initial(ε0)``.

Setpoint.  p* = law.with_initial(ε0).pressure_mpa(ε*), reachable for ε* in
(ε(p_max), ε0] with p_max the highest pressure of the curve (no extrapolation) or the line's
limit.  Its predictive interval samples the fit's parameters (normal approximation of the
least-squares covariance), the films' scatter about the law (``residual_sd``, or the line's
own ``scatter_sd``: a film lands within it of the law) and the measurement error of ε0.

Roll gap.  Mass balance keeps the solid height h0 (1 - ε0), so the calendered film is
h1 = h0 (1 - ε0) / (1 - ε*) thick after spring-back; in the nip it is h1 / (1 + s(p*)), with
s the elastic spring-back (h_recovered - h_loaded) / h_loaded of the DEM press at p*
(``--springback-percent`` if given, else the curve's ``springback_percent`` column, else the
shipped ``ci`` DEM table ``physics/line_data/springback_paper_ci.json``, 3 films, paper
protocol; interpolated in log p and held at its ends).  Its interval: the spring-back over the
pressure interval ± z times its sd between films.  The gap is the loaded thickness: roll
flattening and deflection are not modelled, so a real line adds its own gap offset.

Solid content.  A batch that reports solid content φ but no dried porosity gets
ε0 = ε0_nom + S (φ - φ_nom), S = dε0/dφ at the recipe's AM mass fraction w from a bilinear
least-squares fit ε0 = a + b w + c φ + d w φ of the DEM-dried films over the recipe box
(benchmarks/recipe_box.py; rows shipped in
``physics/line_data/recipe_box_dried_porosity.json``, 30 AM per film, one seed each):
S = c + d w with its standard error.  Only the slope is taken from the box: its 30-AM films
sit at another absolute porosity than the curve's film, so the relation is anchored at the
curve's dried film (ε0_nom at φ_nom).

DEM-trained surrogate (``--surrogate``).  The GP of ``porosity`` of ``etwin train`` over the
process inputs; the batch's solid content and dried thickness enter as ``solid_content`` and
``coating_thickness_um`` where the GP has them, the rest at their fixed values.  Its curve is
carried to a measured ε0 as the law carries its own: (ε - ε_min) scales with (ε0 - ε_min),
the surrogate's own ε0 taken from the solid-content relation.  Pressure: the first crossing
of the target by the GP mean on a log grid over its training pressures; interval: the
pressures where the target lies within the predictive band (mean ± z sd), the classical
inverse-prediction interval.

Monte Carlo of the line.  Incoming films are drawn from declared distributions (dried
porosity at the nominal solid content, solid content, dried thickness); the true film is
ε = ε_min + (ε0 - ε_min) D(p) + e, e ~ N(0, σ_res) (the fitted law with the film's own ε0,
plus the films' scatter σ_res: by default the curves' scatter about the law, ``residual_sd``;
``scatter_sd`` gives the line's own.  A seed ensemble of small DEM films scatters by its
sampling of a 26 µm cross-section, which a coupon-scale porosity averages away).  Three
lines see the same films: a fixed pressure set for the nominal film, a feed-forward on the
measured solid content (through S), and a feed-forward on the measured dried porosity (inline
gauge).  To first order the porosity sd is
sqrt(r² σ² + σ_res²) with r = (ε* - ε_min) / (ε0_nom - ε_min) and σ the sd of what the line
does not see: all of ε0 (fixed), the drying scatter plus S × the solids measurement error
(solid content), the gauge's error (dried porosity).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from experiments.line_data import (
    DEFAULT_CURVES,
    SOLID_CONTENT_RANGE,
    Batch,
    CompactionCurve,
    DriedPorosityRelation,
    IncomingDistribution,
    SpringBack,
    fit_curves,
    read_batches,
    read_curve,
    springback_for,
)
from physics.compaction import CompactionFit, decay, pressure_of_decay

LINES = {"fixed_pressure": "fixed pressure (nominal film)",
         "feed_forward_solids": "feed-forward on solid content",
         "feed_forward_porosity": "feed-forward on dried porosity"}


# ---------------------------------------------------------------------------- controller
@dataclass(frozen=True)
class Setpoint:
    """The calender setting for one film: pressure [MPa] with its predictive interval, and
    the roll gap (loaded thickness) [µm] that gives the target after spring-back."""

    label: str
    dried_porosity: float
    dried_porosity_source: str
    dried_thickness_um: float
    solid_content: float | None
    target_porosity: float
    pressure_mpa: float
    pressure_lo_mpa: float
    pressure_hi_mpa: float
    calendered_thickness_um: float
    springback_percent: float
    roll_gap_um: float
    roll_gap_lo_um: float
    roll_gap_hi_um: float


def reachable_range(fit: CompactionFit, dried_porosity: float,
                    pressure_max_mpa: float) -> tuple[float, float]:
    """(lowest, highest) porosity the law reaches from ``dried_porosity`` up to
    ``pressure_max_mpa``: (ε(p_max), ε0]."""
    law = fit.law
    if dried_porosity <= law.porosity_min:
        return dried_porosity, dried_porosity
    return float(law.with_initial(dried_porosity).porosity(pressure_max_mpa)), dried_porosity


def check_reachable(fit: CompactionFit, target: float, dried_porosity: float,
                    pressure_max_mpa: float, who: str = "the nominal film") -> None:
    lo, hi = reachable_range(fit, dried_porosity, pressure_max_mpa)
    if not lo < target <= hi:
        raise ValueError(f"target_porosity {target:g} is not reachable for {who} (dried "
                         f"porosity {dried_porosity:.4f}): calendering up to "
                         f"{pressure_max_mpa:g} MPa reaches the range ({lo:.4f}, {hi:.4f}]")


def setpoint(fit: CompactionFit, springback: SpringBack, target: float, dried_porosity: float,
             dried_thickness_um: float, pressure_max_mpa: float, *, label: str = "nominal",
             source: str = "nominal", solid_content: float | None = None,
             porosity_sd: float = 0.0, level: float = 0.9, seed: int = 0) -> Setpoint:
    """The setpoint of one film (module docstring); ValueError if ``target`` is not
    reachable from ``dried_porosity`` below ``pressure_max_mpa``.  The gap's interval: the
    spring-back over the pressure interval ± z times its sd between films."""
    from scipy import stats

    check_reachable(fit, target, dried_porosity, pressure_max_mpa,
                    "the nominal film" if label == "nominal" else f"{label!r} of --batches")
    p = float(fit.law.with_initial(dried_porosity).pressure_mpa(target))
    _, lo, hi = fit.pressure_interval_mpa(target, level, seed=seed,
                                          porosity_initial=dried_porosity,
                                          porosity_initial_sd=porosity_sd)
    lo, hi = min(lo, p), min(max(hi, p), pressure_max_mpa)
    h1 = dried_thickness_um * (1.0 - dried_porosity) / (1.0 - target)
    z = stats.norm.ppf(0.5 + level / 2)
    at = np.array([p, lo, hi])
    s, s_sd = springback.percent_at(at), springback.sd_at(at)
    gap_hi = h1 / (1.0 + max(float(np.min(s - z * s_sd)), 0.0) / 100.0)
    gap_lo = h1 / (1.0 + float(np.max(s + z * s_sd)) / 100.0)
    return Setpoint(label, dried_porosity, source, dried_thickness_um, solid_content, target,
                    p, float(lo), float(hi), float(h1), float(s[0]),
                    float(h1 / (1.0 + s[0] / 100.0)), gap_lo, gap_hi)


def batch_setpoints(fit: CompactionFit, springback: SpringBack, relation: DriedPorosityRelation,
                    batches: Sequence[Batch], target: float, dried_thickness_um: float,
                    pressure_max_mpa: float, porosity_sd: float, solids_sd: float,
                    level: float = 0.9, seed: int = 0, quiet: bool = True) -> list[Setpoint]:
    """A setpoint per batch: its measured dried porosity (sd ``porosity_sd``), else the
    relation's at its solid content (sd from ``solids_sd`` and the slope's error)."""
    from tqdm import tqdm

    out = []
    for b in tqdm(batches, desc="setpoints", unit="batch", disable=quiet):
        if b.dried_porosity is not None:
            eps, source, sd = b.dried_porosity, "measured", porosity_sd
        else:
            eps = float(relation.porosity(b.solid_content))
            source = "from solid content"
            dphi = b.solid_content - relation.solid_content_nominal
            sd = math.hypot(relation.slope * solids_sd, relation.slope_sd * dphi)
        out.append(setpoint(fit, springback, target, eps, b.dried_thickness_um
                            or dried_thickness_um, pressure_max_mpa, label=b.label,
                            source=source, solid_content=b.solid_content, porosity_sd=sd,
                            level=level, seed=seed))
    return out


# ---------------------------------------------------------------------------- surrogate
@dataclass(frozen=True, eq=False)
class SurrogateResponse:
    """The GP of porosity over the process inputs (``etwin train``), inverted for the
    pressure (module docstring).  ``fixed``: values of its inputs other than pressure,
    solid content and coating thickness."""

    model: object
    fixed: dict
    source: str

    @property
    def pressure_range_mpa(self) -> tuple[float, float]:
        names = list(self.model.input_names)
        col = self.model.train_x[:, names.index("pressure_mpa")]
        if "log_pressure" in self.model.features:
            col = 10.0 ** col
        return float(col.min()), float(col.max())

    def predict(self, pressure_mpa: np.ndarray, solid_content: float,
                thickness_um: float) -> tuple[np.ndarray, np.ndarray]:
        values = {**self.fixed, "solid_content": solid_content,
                  "coating_thickness_um": thickness_um}
        x = np.column_stack([pressure_mpa if n == "pressure_mpa" else
                             np.full(len(pressure_mpa), values[n])
                             for n in self.model.input_names])
        return self.model.predict(x)

    def setpoint(self, fit: CompactionFit, relation: DriedPorosityRelation, target: float,
                 dried_porosity: float, solid_content: float, thickness_um: float,
                 pressure_max_mpa: float, level: float = 0.9) -> dict:
        """{pressure_mpa, pressure_lo_mpa, pressure_hi_mpa, note}: the inverse prediction on
        a log grid over the training pressures (up to ``pressure_max_mpa``), the curve
        carried to ``dried_porosity``; NaN with a note where it does not reach the target."""
        from surrogates.inverse import inverse_prediction

        lo, hi = self.pressure_range_mpa
        grid = np.geomspace(lo, min(hi, pressure_max_mpa), 400)
        mean, sd = self.predict(grid, solid_content, thickness_um)
        e_min = fit.law.porosity_min
        own = float(relation.porosity(solid_content))
        scale = (dried_porosity - e_min) / max(own - e_min, 1e-9)
        inv = inverse_prediction(grid, e_min + (mean - e_min) * scale, sd * scale, target,
                                 level)
        return {"pressure_mpa": inv.value, "pressure_lo_mpa": inv.low,
                "pressure_hi_mpa": inv.high, "note": inv.note}


def load_surrogate(path: str | Path, fixed: dict) -> SurrogateResponse:
    """The porosity GP of an ``etwin train`` folder (or its surrogates.pt); ``fixed`` maps
    process inputs to values (the rest: :class:`physics.pipeline.ProcessInputs` defaults)."""
    from physics.pipeline import INPUT_RANGES, ProcessInputs
    from surrogates.gp import SurrogateSet

    path = Path(path)
    file = path / "surrogates.pt" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"--surrogate {path}: no surrogates.pt (an etwin train --out "
                                "folder is expected)")
    models = SurrogateSet.load(file)
    if "porosity" not in models.outputs:
        raise ValueError(f"--surrogate {file}: has no porosity model (outputs: "
                         f"{', '.join(models.outputs)})")
    model = models.models["porosity"]
    if "pressure_mpa" not in model.input_names:
        raise ValueError(f"--surrogate {file}: its porosity model does not take pressure_mpa "
                         f"(inputs: {', '.join(model.input_names)})")
    per_film = ("pressure_mpa", "solid_content", "coating_thickness_um")
    allowed = [n for n in INPUT_RANGES if n not in per_film]
    bad = sorted(set(fixed) - set(allowed))
    if bad:
        raise ValueError(f"--surrogate-input {', '.join(bad)}: allowed names "
                         f"{', '.join(allowed)} (pressure, solid content and thickness come "
                         "from the controller and the film)")
    values = ProcessInputs.from_dict(dict(fixed)).to_dict()
    return SurrogateResponse(model, values, str(file))


# ---------------------------------------------------------------------------- Monte Carlo
@dataclass(frozen=True)
class LineModel:
    """What the Monte Carlo needs: the fitted law (the true response, with the films' scatter
    about it as ``residual_sd``), the solid-content relation, the nominal film, the target
    and the pressure limit."""

    fit: CompactionFit
    relation: DriedPorosityRelation
    target_porosity: float
    dried_thickness_um: float
    pressure_max_mpa: float

    def pressure_for(self, dried_porosity: np.ndarray) -> np.ndarray:
        """The feed-forward pressure [MPa] for estimated dried porosities: 0 where the film
        is already at or below the target, ``pressure_max_mpa`` where the target needs
        more."""
        law = self.fit.law
        e0 = np.asarray(dried_porosity, dtype=float)
        span = np.maximum(e0 - law.porosity_min, 1e-12)
        ratio = np.clip((self.target_porosity - law.porosity_min) / span, 1e-12, 1.0)
        p = pressure_of_decay(ratio, law.modulus_mpa, law.modulus_slope)
        return np.clip(np.where(e0 <= self.target_porosity, 0.0, p), 0.0,
                       self.pressure_max_mpa)

    def porosity_after(self, dried_porosity: np.ndarray, pressure_mpa: np.ndarray,
                       scatter: np.ndarray) -> np.ndarray:
        """The true film: the law with its own ε0, plus its scatter draw."""
        law = self.fit.law
        d = decay(pressure_mpa, law.modulus_mpa, law.modulus_slope)
        e0 = np.asarray(dried_porosity, dtype=float)
        return np.where(e0 > law.porosity_min,
                        law.porosity_min + (e0 - law.porosity_min) * d, e0) + scatter


def default_distributions(nominal_porosity: float, nominal_solids: float,
                          nominal_thickness_um: float) -> list[IncomingDistribution]:
    """Batch-to-batch scatter of a coating line: dried porosity sd 0.01 (1 point) at the
    nominal solids, solid content sd 0.01 (1 wt %), dried thickness sd 2 %."""
    return [IncomingDistribution("dried_porosity", "normal", nominal_porosity, 0.01),
            IncomingDistribution("solid_content", "normal", nominal_solids, 0.01),
            IncomingDistribution("dried_thickness_um", "normal", nominal_thickness_um,
                                 0.02 * nominal_thickness_um)]


def spread(values: np.ndarray, target: float, tolerance: float) -> dict[str, float]:
    """Porosity spread of one line: mean, bias, sd, P5, P95, the 5-95 % range and the share
    within ±``tolerance`` of the target."""
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"mean": float(values.mean()), "bias": float(values.mean() - target),
            "sd": float(values.std(ddof=1)), "p5": float(p5), "p50": float(p50),
            "p95": float(p95), "range_5_95": float(p95 - p5),
            "within_tolerance": float(np.mean(np.abs(values - target) <= tolerance))}


def simulate_lines(model: LineModel, dists: Sequence[IncomingDistribution], n: int, seed: int,
                   porosity_sd: float, solids_sd: float) -> dict[str, np.ndarray]:
    """``n`` incoming films through the three lines (module docstring); common random
    numbers: each film meets the same scatter draw on every line.  Returns the films
    (dried porosity, solid content, thickness) and per line its pressure, porosity and
    calendered thickness."""
    from experiments.variability import sample_inputs

    rel = model.relation
    x = sample_inputs(dists, n, seed)
    cols = {d.name: x[:, k] for k, d in enumerate(dists)}
    phi = cols.get("solid_content", np.full(n, rel.solid_content_nominal))
    eps_drying = cols.get("dried_porosity", np.full(n, rel.porosity_nominal))
    h0 = cols.get("dried_thickness_um", np.full(n, model.dried_thickness_um))
    e0 = eps_drying + rel.slope * (phi - rel.solid_content_nominal)
    rng = np.random.default_rng(seed + 1)
    scatter = rng.normal(0.0, model.fit.residual_sd, n)
    e0_gauge = e0 + rng.normal(0.0, porosity_sd, n)
    phi_measured = phi + rng.normal(0.0, solids_sd, n)
    pressures = {
        "fixed_pressure": np.full(n, float(model.pressure_for(rel.porosity_nominal))),
        "feed_forward_solids": model.pressure_for(rel.porosity(phi_measured)),
        "feed_forward_porosity": model.pressure_for(e0_gauge)}
    out = {"dried_porosity": e0, "solid_content": phi, "dried_thickness_um": h0}
    for line, p in pressures.items():
        eps = model.porosity_after(e0, p, scatter)
        out[f"{line}.pressure_mpa"] = p
        out[f"{line}.porosity"] = eps
        out[f"{line}.thickness_um"] = h0 * (1.0 - e0) / (1.0 - eps)
    return out


def first_order_sd(model: LineModel, dists: Sequence[IncomingDistribution],
                   porosity_sd: float, solids_sd: float) -> dict[str, float]:
    """The lines' porosity sd to first order: sqrt(r² σ² + σ_res²) (module docstring)."""
    law = model.fit.law
    r = (model.target_porosity - law.porosity_min) / (model.relation.porosity_nominal
                                                      - law.porosity_min)
    sd = {d.name: d.sd() for d in dists}
    s = model.relation.slope
    drying = sd.get("dried_porosity", 0.0)
    total = math.hypot(drying, s * sd.get("solid_content", 0.0))
    res = model.fit.residual_sd
    return {"fixed_pressure": math.hypot(r * total, res),
            "feed_forward_solids": math.hypot(r * math.hypot(drying, s * solids_sd), res),
            "feed_forward_porosity": math.hypot(r * porosity_sd, res)}


# ---------------------------------------------------------------------------- the job
def _check(name: str, value: float, lo: float, hi: float, unit: str = "") -> None:
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}]{unit}, got {value}")


def _surrogate_rows(sur: SurrogateResponse, fit: CompactionFit,
                    relation: DriedPorosityRelation, setpoints: Sequence[Setpoint],
                    pressure_max_mpa: float, level: float) -> list[dict]:
    return [sur.setpoint(fit, relation, s.target_porosity, s.dried_porosity,
                         relation.solid_content_nominal if s.solid_content is None
                         else s.solid_content, s.dried_thickness_um, pressure_max_mpa, level)
            for s in setpoints]


def _surrogate_curve(sur: SurrogateResponse, relation: DriedPorosityRelation,
                     thickness_um: float, level: float) -> dict:
    from scipy import stats

    lo, hi = sur.pressure_range_mpa
    grid = np.geomspace(lo, hi, 120)
    mean, sd = sur.predict(grid, relation.solid_content_nominal, thickness_um)
    z = stats.norm.ppf(0.5 + level / 2)
    return {"pressure_mpa": grid, "mean": mean, "lo": mean - z * sd, "hi": mean + z * sd}


def run_target_porosity(out_dir: str | Path, target_porosity: float, *,
                        curves: Sequence[str | Path] = (), exponential: bool = False,
                        batches: str | Path | None = None, dried_porosity: float | None = None,
                        dried_thickness_um: float | None = None, solid_content: float = 0.69,
                        am_mass_fraction: float = 0.96, solids_slope: float | None = None,
                        springback_percent: float | None = None,
                        pressure_max_mpa: float | None = None, level: float = 0.9,
                        dists: Sequence[IncomingDistribution] | None = None,
                        porosity_sd: float = 0.003, solids_sd: float = 0.002,
                        scatter_sd: float | None = None, n_draws: int = 20000,
                        tolerance: float = 0.005,
                        surrogate: str | Path | None = None,
                        surrogate_inputs: dict | None = None, seed: int = 0,
                        experiment: str | None = "target-porosity",
                        quiet: bool = False) -> dict:
    """Run the job (module docstring): setpoints for the nominal film and each batch, the
    Monte Carlo of the three lines, the report folder and one MLflow run
    (``experiment=None`` skips MLflow).  Returns the summary."""
    from experiments.files import write_json_atomic
    from experiments.tracking import job_run

    _check("target_porosity", target_porosity, 0.01, 0.95)
    _check("level", level, 0.5, 0.999)
    _check("porosity_sd", porosity_sd, 0.0, 0.1)
    _check("solids_sd", solids_sd, 0.0, 0.1)
    if scatter_sd is not None:
        _check("scatter_sd", scatter_sd, 0.0, 0.1)
    _check("tolerance", tolerance, 1e-4, 0.1)
    _check("n_draws", n_draws, 100, 10_000_000)
    _check("solid_content", solid_content, *SOLID_CONTENT_RANGE)
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed}")
    curve_list = [read_curve(c) for c in (curves or DEFAULT_CURVES)]
    fit = fit_curves(curve_list, exponential)
    p_curve = max(float(c.pressure_mpa.max()) for c in curve_list)
    if pressure_max_mpa is None:
        pressure_max_mpa = p_curve
    _check("pressure_max_mpa", pressure_max_mpa, 1e-3, p_curve,
           " MPa (up to the curve's highest pressure: no extrapolation)")
    e0_nom = fit.law.porosity_initial if dried_porosity is None else dried_porosity
    _check("dried_porosity", e0_nom, 0.01, 0.99)
    if dried_thickness_um is None:
        known = [c.thickness_initial_um for c in curve_list if c.thickness_initial_um]
        if not known:
            raise ValueError("dried_thickness_um is needed: the curve has no dried thickness "
                             "(give --dried-thickness-um)")
        dried_thickness_um = float(np.mean(known))
    _check("dried_thickness_um", dried_thickness_um, 1.0, 5000.0, " µm")
    if solids_slope is None:
        relation = DriedPorosityRelation.from_recipe_box(am_mass_fraction, solid_content,
                                                         e0_nom)
    else:
        _check("solids_slope", solids_slope, -5.0, 5.0)
        relation = DriedPorosityRelation(solid_content, e0_nom, solids_slope, 0.0,
                                         "--solids-slope")
    springback = springback_for(curve_list, springback_percent)
    # the line's scatter about the law, where given, sets the setpoints' intervals too
    line_fit = fit if scatter_sd is None else replace(fit, residual_sd=scatter_sd)
    nominal = setpoint(line_fit, springback, target_porosity, e0_nom, dried_thickness_um,
                       pressure_max_mpa, solid_content=solid_content, level=level, seed=seed)
    batch_list = read_batches(batches) if batches else []
    rows = batch_setpoints(line_fit, springback, relation, batch_list, target_porosity,
                           dried_thickness_um, pressure_max_mpa, porosity_sd, solids_sd,
                           level, seed, quiet) if batch_list else []
    sur = load_surrogate(surrogate, surrogate_inputs or {}) if surrogate else None
    dists = list(dists) if dists else default_distributions(e0_nom, solid_content,
                                                            dried_thickness_um)
    names = [d.name for d in dists]
    if len(set(names)) != len(names):
        raise ValueError(f"each --vary variable may be declared once, got {names}")
    model = LineModel(line_fit, relation, target_porosity, dried_thickness_um,
                      pressure_max_mpa)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {"target_porosity": target_porosity, "curves": ";".join(c.source for c in
                                                                     curve_list),
              "law": "exponential" if fit.law.modulus_slope == 0 else "pore-modulus",
              "batches": str(batches), "dried_porosity": e0_nom,
              "dried_thickness_um": dried_thickness_um, "solid_content": solid_content,
              "solids_slope": relation.slope, "pressure_max_mpa": pressure_max_mpa,
              "level": level, "inputs": "; ".join(d.describe() for d in dists),
              "porosity_sd": porosity_sd, "solids_sd": solids_sd, "n_draws": n_draws,
              "tolerance": tolerance, "surrogate": str(surrogate), "seed": seed}
    with job_run(experiment, "target-porosity", params) if experiment else nullcontext() \
            as mlrun:
        mc = simulate_lines(model, dists, n_draws, seed, porosity_sd, solids_sd)
        lines = {}
        first = first_order_sd(model, dists, porosity_sd, solids_sd)
        for line in LINES:
            p = mc[f"{line}.pressure_mpa"]
            lines[line] = {
                **spread(mc[f"{line}.porosity"], target_porosity, tolerance),
                "sd_first_order": first[line],
                "pressure_p5_mpa": float(np.percentile(p, 5)),
                "pressure_p50_mpa": float(np.percentile(p, 50)),
                "pressure_p95_mpa": float(np.percentile(p, 95)),
                "share_at_pressure_limit": float(np.mean((p <= 0.0) | (p >= pressure_max_mpa))),
                "thickness_sd_um": float(mc[f"{line}.thickness_um"].std(ddof=1))}
        sur_nominal = sur_rows = sur_curve = None
        if sur is not None:
            sur_nominal = _surrogate_rows(sur, fit, relation, [nominal], pressure_max_mpa,
                                          level)[0]
            sur_rows = _surrogate_rows(sur, fit, relation, rows, pressure_max_mpa, level)
            sur_curve = _surrogate_curve(sur, relation, dried_thickness_um, level)
        lo_reach, hi_reach = reachable_range(fit, e0_nom, pressure_max_mpa)
        law = fit.law
        summary = {
            "job": "target-porosity", "target_porosity": target_porosity,
            "law": {"porosity_initial": law.porosity_initial,
                    "porosity_min": law.porosity_min, "modulus_mpa": law.modulus_mpa,
                    "modulus_slope": law.modulus_slope, "residual_sd": fit.residual_sd,
                    "parameter_sd": [float(v) for v in np.sqrt(np.diag(fit.covariance))],
                    "n_points": fit.n_points, "note": fit.note,
                    "curves": [c.source for c in curve_list]},
            "reachable_porosity": [lo_reach, hi_reach], "pressure_max_mpa": pressure_max_mpa,
            "springback_source": springback.source,
            "solid_content_relation": asdict(relation),
            "nominal": asdict(nominal), "level": level,
            "batches": [asdict(r) for r in rows],
            "monte_carlo": {"n_draws": n_draws, "seed": seed, "tolerance": tolerance,
                            "inputs": [d.describe() for d in dists],
                            "porosity_measurement_sd": porosity_sd,
                            "solids_measurement_sd": solids_sd,
                            "scatter_sd": line_fit.residual_sd,
                            "scatter_source": "the curves' scatter about the law"
                            if scatter_sd is None else "given", "lines": lines},
        }
        if sur is not None:
            summary["surrogate"] = {"source": sur.source, "inputs": list(sur.model.input_names),
                                    "fixed": sur.fixed,
                                    "pressure_range_mpa": list(sur.pressure_range_mpa),
                                    "nominal": sur_nominal, "batches": sur_rows}
        files = _write_outputs(out, summary, nominal, rows, sur_nominal, sur_rows, mc, fit,
                               curve_list, sur_curve)
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            metrics = {"pressure_mpa": nominal.pressure_mpa,
                       "pressure_lo_mpa": nominal.pressure_lo_mpa,
                       "pressure_hi_mpa": nominal.pressure_hi_mpa,
                       "roll_gap_um": nominal.roll_gap_um, "residual_sd": fit.residual_sd}
            metrics.update({f"{line}.{k}": v for line, s in lines.items() for k, v in s.items()})
            mlrun.log_metrics(metrics)
            for name in ("summary.json", *files):
                mlrun.log_artifact(str(out / name))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary


def _setpoint_row(s: Setpoint, sur: dict | None) -> dict:
    row = {k: v for k, v in asdict(s).items() if v is not None}
    if sur is not None:
        row.update({f"surrogate_{k}": v for k, v in sur.items()})
    return row


def _write_outputs(out: Path, summary: dict, nominal: Setpoint, rows: Sequence[Setpoint],
                   sur_nominal: dict | None, sur_rows: list | None, mc: dict,
                   fit: CompactionFit, curves: Sequence[CompactionCurve],
                   sur_curve: dict | None) -> list[str]:
    """CSV files, plots and report.md; returns the names written (besides summary.json)."""
    from experiments.files import write_csv_atomic
    from experiments.plots import (
        plot_batch_setpoints,
        plot_compaction_response,
        plot_porosity_spread,
    )
    from experiments.report import Section, write_report

    target = summary["target_porosity"]
    lines = summary["monte_carlo"]["lines"]
    tol = summary["monte_carlo"]["tolerance"]
    write_csv_atomic(out / "setpoints.csv", [_setpoint_row(s, u) for s, u in zip(
        [nominal, *rows], [sur_nominal, *(sur_rows or [None] * len(rows))], strict=True)])
    write_csv_atomic(out / "line_spread.csv", [{"line": line, "label": LINES[line], **s}
                                               for line, s in lines.items()])
    keep = min(len(mc["dried_porosity"]), 5000)
    write_csv_atomic(out / "monte_carlo_samples.csv", [
        {k: float(v[i]) for k, v in mc.items()} for i in range(keep)])
    plots = [plot_compaction_response(
        [(c.pressure_mpa, c.porosity) for c in curves], fit, nominal, sur_curve,
        out / "compaction_response.png").name,
        plot_porosity_spread({LINES[k]: mc[f"{k}.porosity"] for k in LINES}, target, tol,
                             out / "porosity_spread.png").name]
    if rows:
        plots.append(plot_batch_setpoints(rows, sur_rows, out / "batch_setpoints.png").name)
    law = summary["law"]
    n = summary["monte_carlo"]["n_draws"]
    fixed, ff = lines["fixed_pressure"], lines["feed_forward_porosity"]
    lo, hi = summary["reachable_porosity"]
    level = 100 * summary["level"]
    head = (f"Target porosity {target:.4f}: **{nominal.pressure_mpa:.3g} MPa** "
            f"({level:g} % interval {nominal.pressure_lo_mpa:.3g}–{nominal.pressure_hi_mpa:.3g}"
            f" MPa) for the nominal film (dried porosity {nominal.dried_porosity:.4f}, "
            f"{nominal.dried_thickness_um:.1f} µm); calendered "
            f"{nominal.calendered_thickness_um:.2f} µm, roll gap **{nominal.roll_gap_um:.2f} µm**"
            " (spring-back "
            f"{nominal.springback_percent:.2f} %, {summary['springback_source']}). Reachable "
            f"from this film up to {summary['pressure_max_mpa']:g} MPa: ({lo:.4f}, {hi:.4f}].")
    floor = summary["monte_carlo"]["scatter_sd"]
    gain = (f"{fixed['sd'] / ff['sd']:.1f}× smaller" if ff["sd"] > 0
            else "every film on target")
    mc_text = (f"Over {n} incoming films the porosity sd is {fixed['sd']:.4f} on the "
               f"fixed-pressure line and {ff['sd']:.4f} with the feed-forward on the measured "
               f"dried porosity ({gain}); 5–95 % range "
               f"{100 * fixed['range_5_95']:.2f} against {100 * ff['range_5_95']:.2f} points; "
               f"within ±{100 * tol:g} points of the target: {100 * fixed['within_tolerance']:.1f}"
               f" % against {100 * ff['within_tolerance']:.1f} %. No feed-forward beats the "
               f"films' scatter about the law, {floor:.4f} "
               f"({summary['monte_carlo']['scatter_source']}); the feed-forward on solid "
               "content sees only the part of ε0 that the solid content explains.")
    inputs = "\n".join(f"- {d}" for d in summary["monte_carlo"]["inputs"])
    rel = summary["solid_content_relation"]
    shown = [Path(c).name if Path(c).parent == DEFAULT_CURVES[0].parent else c
             for c in law["curves"]]
    model = (f"Law ε(p) = ε_min + (ε0 − ε_min)(1 + m p/K0)^(−1/m) fitted to {law['n_points']} "
             f"points ({'; '.join(shown)}): ε0 = {law['porosity_initial']:.4f}, "
             f"ε_min = {law['porosity_min']:.4f}, K0 = {law['modulus_mpa']:.4g} MPa, m = "
             f"{law['modulus_slope']:.4g}; scatter about the law {law['residual_sd']:.4f}."
             + (f" {law['note']}." if law["note"] else "")
             + f"\n\nSolid content → dried porosity: ε0 = {rel['porosity_nominal']:.4f} + "
             f"({rel['slope']:.3f} ± {rel['slope_sd']:.3f}) (φ − {rel['solid_content_nominal']:g})"
             f" ({rel['source']}).")
    sections = [Section("Setpoint", head),
                Section("Compaction response", model, plots=[plots[0]]),
                Section("Monte Carlo of the line", mc_text + "\n\nIncoming films:\n" + inputs
                        + f"\n\nMeasurement error of the controller's inputs: dried porosity "
                        f"sd {summary['monte_carlo']['porosity_measurement_sd']:g}, solid "
                        f"content sd {summary['monte_carlo']['solids_measurement_sd']:g}. "
                        "sd_first_order: sqrt(r² σ² + σ_res²) (experiments/target_porosity.py).",
                        table=[{"line": LINES[k], **{c: v for c, v in s.items()}}
                               for k, s in lines.items()], plots=[plots[1]])]
    if rows:
        table = [{"batch": s.label, "dried porosity": s.dried_porosity,
                  "source": s.dried_porosity_source, "pressure [MPa]": s.pressure_mpa,
                  "interval [MPa]": f"{s.pressure_lo_mpa:.3g}–{s.pressure_hi_mpa:.3g}",
                  "roll gap [µm]": s.roll_gap_um} for s in rows]
        if sur_rows:
            for t, u in zip(table, sur_rows, strict=True):
                found = math.isfinite(u["pressure_mpa"])
                t["surrogate [MPa]"] = u["pressure_mpa"] if found else "not reached"
                t["surrogate interval [MPa]"] = (
                    f"{u['pressure_lo_mpa']:.3g}–{u['pressure_hi_mpa']:.3g}" if found
                    else u["note"])
        sections.append(Section("Batches", "Setpoints per row of the batch file "
                                "(setpoints.csv holds every column).", table=table,
                                plots=plots[2:]))
    if sur_nominal is not None:
        s = summary["surrogate"]
        u = sur_nominal
        if not math.isfinite(u["pressure_mpa"]):
            verdict = f"It does not reach the target for the nominal film: {u['note']}."
        else:
            overlap = (u["pressure_lo_mpa"] <= nominal.pressure_hi_mpa
                       and nominal.pressure_lo_mpa <= u["pressure_hi_mpa"])
            verdict = (f"{u['pressure_mpa']:.3g} MPa ({u['pressure_lo_mpa']:.3g}–"
                       f"{u['pressure_hi_mpa']:.3g}) for the nominal film against the law's "
                       f"{nominal.pressure_mpa:.3g} MPa ({nominal.pressure_lo_mpa:.3g}–"
                       f"{nominal.pressure_hi_mpa:.3g}): the intervals "
                       + ("overlap." if overlap else
                          "do not overlap: the surrogate's pipeline runs and the curve describe "
                          "different films (fidelity, recipe, conditions), or the GP is poorly "
                          "trained (read its etwin train report).")
                       + (f" Note: {u['note']}." if u["note"] else ""))
        sections.append(Section("Surrogate against the closed-form law", (
            f"GP of porosity ({s['source']}; inputs {', '.join(s['inputs'])}; training "
            f"pressures {s['pressure_range_mpa'][0]:.3g}–{s['pressure_range_mpa'][1]:.3g} MPa):"
            f" {verdict}")))
    write_report(out, "Porosity-targeting feed-forward control", sections)
    return ["report.md", "setpoints.csv", "line_spread.csv", "monte_carlo_samples.csv",
            *plots]
