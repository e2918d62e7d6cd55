"""The DEM calibration job: contact-law parameters from a measured porosity–pressure curve.

Forward model: one DEM calendering of a dried structure (:func:`physics.calender.calender`,
the paper's protocol by default) per parameter point θ, read as the porosity after
spring-back at the measured pressures.  Calibrated parameters come from
:data:`DEM_PARAMETERS` (default :data:`DEFAULT_DEM_PARAMETERS`: binder plasticity λ_p, the
binder's viscoelastic bridge stiffness (the glassy modulus on top of the Hertz contact, whose
relaxation follows the roll temperature and speed), binder adhesion K_c/KN, AM–AM rolling
resistance μ_r), each with a uniform prior
(log-uniform for scale parameters) and mapped onto :class:`ProcessConditions` by
:func:`dem_conditions`.

Design and seeds: a Sobol design over the prior box, the points whose contact law is invalid
skipped (:func:`dem_admissible`); design point k calenders dried film k mod n_films, so a set
of films (seeds of ``etwin dry``) turns the finite-size scatter of single runs into the
emulator's noise instead of a bias of one film.  The runs go through the sweep executors
(:func:`experiments.batch.make_executor`: local process pool, Dask), each written atomically
to ``out/dem_runs/<key>.json`` as it finishes: a stopped calibration resumes without redoing
them.

Emulator and posterior: one GP over (prior-scaled θ, log10 p) and the film (a categorical
input when the runs span several films, :class:`CompactionEmulator`), trained on every
finished run at the pressures each run actually reported (the paper's reading: the pressure
at the end of the compression), with a learned noise (a run's own scatter); μ_i(θ) and
s_i(θ) are the mean over the films of one run each and its sd, and the posterior
y_i ~ N(μ_i(θ), σ_i² + s_i(θ)²) is sampled by ensemble MCMC
(:func:`optimize.calibration.calibrate_with_emulator`).  The posterior-predictive band comes
from the emulator at posterior draws; ``validate`` re-runs the DEM at the highest-posterior
draw on the films and reports the measured-vs-simulated table (what the targets judge).

Sequential refinement (``refine`` rounds, Kennedy–O'Hagan calibration with a design that
follows the posterior): a space-filling design leaves the emulator coarse where the
posterior concentrates, so each round runs the DEM at the current highest-posterior draw on
every film and adds those runs to the training set before the next fit.  The rounds are
recorded (``refinement_points.json``) before their runs start, so their runs are cached and
resume like the design's.

Earlier runs (``include_runs``): the finished runs of another calibration on the same films,
pressures, protocol and indentation test join the training set, so a calibration that adds a
parameter (e.g. ``am_plasticity`` to a five-parameter design) starts from those runs instead
of repeating them.  A parameter an earlier run did not vary enters at the base law's value
(:func:`base_parameter_value`: Table 2's, or the material set's, with ``preset``'s fields
over it), which is the value that run simulated.  Each included run is checked against this
calibration's task (every field but θ must agree) and against its film's content hash (its
cache key), so a run of another film, protocol, base law or test is refused with the field
named.  The runs may also come as a versioned
rows file (``benchmarks/dem_design_rows.py``, e.g. ``benchmarks/data/dem_calibration_fast.json``):
each row names its film and cache key, so the same films train a new calibration without the
earlier run folders: films dried again from the same seeds on the same numba thread counts
and CPU model (which reproduce a film bit for bit), or the design's films themselves where
they ship (``benchmarks/data/films/``; another CPU model dries another film, since the contact
kernels' fastmath code follows the host's vector instructions).

Indentation recovery (optional second observable, ``recovery``): the measured elastic
recovery of a micro-indentation of the dried electrode (the paper's Fig. 2A and its
experiment: (δ_max - δ_res)/δ_max at 10 % of the thickness).  Each design point then also
indents its dried film with the same contact law (:func:`physics.calender.indent`, a flat
punch over the periodic cell) at the roll's temperature and rate, as the paper's simulated
indentation (same law, same plane speed); a second GP over the prior-scaled θ emulates the
recovery (on ln r, :class:`RecoveryEmulator`), and the likelihood multiplies the curve's by
N(r_obs | μ_r(θ), σ_r² + s_r(θ)²).
The curve and the recovery pull the binder plasticity in opposite directions (a plastic
binder holds the calendered film but stores little elastic energy), so the recovery is what
separates plasticity from the other parameters.  The indentations are tasks of their own
(cached beside the calenderings; they run in the same pool), so adding the recovery to a
finished design reuses its calenderings.  The real test ran at room temperature and over
seconds to minutes, not in a nip's ~0.2 s: ``indent_temperature_c`` and
``indent_loading_time_s`` place the indentations there (the binder's modulus, cohesion and
bridge relaxation at De/De_ref = a_T t_nip,ref / t_load,
:meth:`physics.calender.BinderRheology.rate_ratio`).  At 25 °C the Arrhenius shift slows the
binder ~37×, so a 15 s loading is De/De_ref ≈ 0.5, near the roll's, and the paper's test
(0.4 mN/s to 200 mN: 500 s) is 0.016, where the Maxwell bridge relaxes fully: across the
prior box the `ci` film then recovers 0.04–7.0 % against the measured 16 %
(docs/validation/calendering.md), an elastic part that does not relax is missing.  At
25 °C with the roll's time scale instead the bridge hardly relaxes (one `ci` point: 59.6 %
recovery against 11.3 % at 60 °C).  The default stays the paper's simulated indentation
(the roll's temperature and time scale).

The dried row of the curve (pressure 0) is not calibrated against: the dried porosity comes
from the drying stage; it is compared with the DEM-relaxed films' porosity.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from experiments.calibrate import _float
from experiments.report import Section
from optimize.calibration import Parameter

PREDICTIVE_DRAWS = 2000
DEM_PROTOCOLS = ("paper", "quasi-static")

# uniform priors (log-uniform for scale parameters); the ranges are physical, not fitted
DEM_PARAMETERS = {
    "cbd_plasticity": Parameter("cbd_plasticity", 0.0, 0.9),
    "cbd_adhesion_ratio": Parameter("cbd_adhesion_ratio", 0.0, 1.0),
    "cbd_modulus_gpa": Parameter("cbd_modulus_gpa", 0.5, 10.0, log=True),
    "cbd_cohesion_gpa": Parameter("cbd_cohesion_gpa", 0.007, 0.7, log=True),
    "am_rolling": Parameter("am_rolling", 0.0, 0.3),
    # AM–AM contacts' permanent flattening (BinderContact.am_plasticity); above 0.9 the
    # unloading branch is >10x stiffer than NMC's Hertz and the step shrinks accordingly
    "am_plasticity": Parameter("am_plasticity", 0.0, 0.9),
    # AM–AM Thornton–Ning yield pressure [GPa] (BinderContact.am_yield_gpa): NMC secondary
    # particles' hardness is ~0.5-3 GPa, but with Table 2's AM cohesion (0.6 GPa) a yield
    # pressure below 1.2 GPa lets the cohesion flatten a contact without bound; at the upper
    # edge no AM contact of a film pressed to 156 MPa yields (the base law's "no yield", 0,
    # enters an included run there)
    "am_yield_gpa": Parameter("am_yield_gpa", 1.5, 30.0, log=True),
    # AM particle crushing (BinderContact.am_strength_mpa, physics.calender.fracture):
    # single-particle compression of NMC secondary particles gives Hiramatsu–Oka strengths of
    # tens to a few hundred MPa; the crushed contacts' yield pressure lies between twice the
    # AM cohesion (1.2 GPa) and the intact contacts' hardness
    "am_strength_mpa": Parameter("am_strength_mpa", 30.0, 600.0, log=True),
    "am_weibull_modulus": Parameter("am_weibull_modulus", 2.0, 10.0),
    "am_crushed_yield_gpa": Parameter("am_crushed_yield_gpa", 1.5, 13.0, log=True),
    # overlap over R* where a crushed particle's contacts stop flattening (its fragments jam)
    "am_crushed_flattening": Parameter("am_crushed_flattening", 0.02, 0.5, log=True),
    "am_friction": Parameter("am_friction", 0.001, 0.5, log=True),
    # coated AM–AM contacts (BinderContact.am_film_depth, physics.engine.contacts
    # .coated_friction): the bare oxide's friction and the binder film's squeeze-out overlap;
    # the film's friction is am_friction
    "am_bare_friction": Parameter("am_bare_friction", 0.01, 1.0, log=True),
    "am_film_depth": Parameter("am_film_depth", 0.002, 0.1, log=True),
    "cbd_friction": Parameter("cbd_friction", 0.001, 0.5, log=True),
    # short-time (glassy arm) over long-time binder stiffness; semicrystalline PVdF above its
    # T_g relaxes by a factor of a few to ten.  The box reached 3 until the indentation scan
    # (benchmarks/indentation_scan.py on the `ci` film): a recovery >= 13 % needs a ratio > 4
    # or binder adhesion near 1, so the recovery target needs the wider box
    "bridge_stiffness_ratio": Parameter("bridge_stiffness_ratio", 0.0, 6.0),
    # the share of it that does not relax (PVdF's crystallites; a slow indentation sees it)
    "bridge_equilibrium_fraction": Parameter("bridge_equilibrium_fraction", 0.0, 1.0),
    # softening of that relaxed modulus with temperature [1/K] (BinderRheology
    # .plateau_factor): 0 (none) to twice PVDF's DMA slope; the 25 °C indentation against
    # the 60 °C press constrains it
    "plateau_softening_per_k": Parameter("plateau_softening_per_k", 0.0, 0.03),
}
DEFAULT_DEM_PARAMETERS = ("cbd_plasticity", "bridge_stiffness_ratio", "cbd_adhesion_ratio",
                          "am_rolling")
# where each parameter goes: (ProcessConditions field, sub-field or None)
_TARGET = {
    "cbd_plasticity": ("binder_contact", "plasticity"),
    "cbd_adhesion_ratio": ("binder_contact", "adhesion_ratio"),
    "am_rolling": ("binder_contact", "am_rolling"),
    "am_plasticity": ("binder_contact", "am_plasticity"),
    "am_yield_gpa": ("binder_contact", "am_yield_gpa"),
    "am_strength_mpa": ("binder_contact", "am_strength_mpa"),
    "am_weibull_modulus": ("binder_contact", "am_weibull_modulus"),
    "am_crushed_yield_gpa": ("binder_contact", "am_crushed_yield_gpa"),
    "am_crushed_flattening": ("binder_contact", "am_crushed_flattening"),
    "am_bare_friction": ("binder_contact", "am_bare_friction"),
    "am_film_depth": ("binder_contact", "am_film_depth"),
    "bridge_stiffness_ratio": ("binder_contact", "bridge_stiffness_ratio"),
    "bridge_equilibrium_fraction": ("binder_contact", "bridge_equilibrium_fraction"),
    "cbd_modulus_gpa": ("binder", "reference_modulus_gpa"),
    "cbd_cohesion_gpa": ("binder", "reference_cohesion_gpa"),
    "plateau_softening_per_k": ("binder", "plateau_softening_per_k"),
    "am_friction": ("am_friction", None),
    "cbd_friction": ("cbd_friction", None),
}


def parse_parameters(spec: str | None, registry: dict[str, Parameter],
                     defaults: Sequence[str]) -> tuple[Parameter, ...]:
    """Parameters from 'name[=lo:hi],...' (names of ``registry``; a range replaces the
    default prior box, inside it); None or blank gives ``defaults``."""
    if spec is None or not spec.strip():
        return tuple(registry[n] for n in defaults)
    out = []
    for item in spec.split(","):
        name, _, box = item.strip().partition("=")
        if name not in registry:
            raise ValueError(f"--parameters: unknown parameter {name!r}; allowed: "
                             f"{', '.join(registry)}")
        par = registry[name]
        if box:
            try:
                lo, hi = (float(v) for v in box.split(":"))
            except ValueError:
                raise ValueError(f"--parameters: {item!r} needs name=LOW:HIGH") from None
            if not par.lower <= lo < hi <= par.upper:
                raise ValueError(f"--parameters: {name} range [{lo:g}, {hi:g}] must lie "
                                 f"inside [{par.lower:g}, {par.upper:g}]")
            par = dataclasses.replace(par, lower=lo, upper=hi)
        out.append(par)
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ValueError(f"--parameters: a name is repeated in {names}")
    return tuple(out)


def read_points(path: str | Path, parameters: Sequence[Parameter]) -> np.ndarray:
    """Chosen parameter points (m × k) from a CSV with one column per calibrated parameter
    (a header of their names, in any order; nothing else), each inside its prior box.
    Raises ValueError naming the row and the field otherwise."""
    names = [p.name for p in parameters]
    with Path(path).open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        if sorted(columns) != sorted(names):
            raise ValueError(f"--points: {path} has columns {columns}; it needs exactly the "
                             f"calibrated parameters {names}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"--points: {path} holds no points")
    out = np.empty((len(rows), len(names)))
    for i, row in enumerate(rows):
        for j, par in enumerate(parameters):
            value = _float(row, par.name, i + 2, Path(path))
            if not par.lower <= value <= par.upper:
                raise ValueError(f"--points: {path}, line {i + 2}: {par.name} = {value:g} lies "
                                 f"outside its prior [{par.lower:g}, {par.upper:g}]")
            out[i, j] = value
    return out


def round_point(record: Path, k: int, names: Sequence[str],
                propose: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The parameter point of sequential-design round ``k``: the one recorded in ``record``
    (JSON list) for these parameter names, else ``propose()``, recorded atomically before its
    runs start, so a resumed job reruns the same point (a refit need not reproduce the same
    draw bit for bit)."""
    from experiments.files import write_json_atomic

    points = json.loads(record.read_text()) if record.is_file() else []
    if k < len(points) and sorted(points[k]) == sorted(names):
        return points[k]
    point = propose()
    write_json_atomic(record, [*points[:k], point])
    return point


def parse_dem_parameters(spec: str | None) -> tuple[Parameter, ...]:
    """DEM parameters (:func:`parse_parameters` over :data:`DEM_PARAMETERS`); None gives
    :data:`DEFAULT_DEM_PARAMETERS`."""
    return parse_parameters(spec, DEM_PARAMETERS, DEFAULT_DEM_PARAMETERS)


def dem_conditions(theta: dict[str, float], temperature_c: float = 60.0,
                   line_speed_m_min: float = 0.54, base=None,
                   loading_time_s: float | None = None):
    """:class:`ProcessConditions` with the parameters θ (names of :data:`DEM_PARAMETERS`) set
    on ``base`` (default: Table 2 law) at this roll temperature and line speed (or a bench
    test's ``loading_time_s``).  Raises ValueError where the contact law is invalid (its
    message names the field)."""
    from physics.calender import ProcessConditions

    base = base or ProcessConditions()
    fields: dict = {"temperature_c": temperature_c, "line_speed_m_min": line_speed_m_min,
                    "loading_time_s": loading_time_s}
    subs: dict[str, dict] = {}
    for name, value in theta.items():
        if name not in _TARGET:
            raise ValueError(f"unknown DEM parameter {name!r}; allowed: "
                             f"{', '.join(DEM_PARAMETERS)}")
        top, sub = _TARGET[name]
        if sub is None:
            fields[top] = float(value)
        else:
            subs.setdefault(top, {})[sub] = float(value)
    for top, values in subs.items():
        fields[top] = dataclasses.replace(getattr(base, top), **values)
    return dataclasses.replace(base, **fields)


def base_parameter_value(name: str, base=None) -> float:
    """The value of DEM parameter ``name`` in the base law ``base`` (default Table 2's
    :class:`ProcessConditions`): what a run that did not vary it simulated (for
    ``am_yield_gpa`` and ``am_strength_mpa``, whose "no yield" and "no crushing" are 0, the
    prior's upper edge: a yield pressure no contact of a film pressed to 156 MPa reaches, a
    strength next to no particle reaches)."""
    from physics.calender import ProcessConditions

    if name not in _TARGET:
        raise ValueError(f"unknown DEM parameter {name!r}; allowed: {', '.join(DEM_PARAMETERS)}")
    top, sub = _TARGET[name]
    value = getattr(base or ProcessConditions(), top)
    value = float(value if sub is None else getattr(value, sub))
    if name in ("am_yield_gpa", "am_strength_mpa", "am_crushed_flattening") and value == 0.0:
        # no yield / no crushing: the prior's upper edge, where no contact of the press yields
        # and next to no particle breaks
        return DEM_PARAMETERS[name].upper
    return value


def film_label(dried: str | Path) -> str:
    """A dried film's name in versioned run rows: its folder for ``.../dried.npz`` (``etwin
    dry --out`` folders), else the file's stem."""
    dried = Path(dried)
    return dried.parent.name if dried.name == "dried.npz" else dried.stem


# the fields of a versioned run row (:func:`run_rows`): the task (so its cache key can be
# checked again) and the results the validation pages and an included calibration read
RUN_ROW_FIELDS = (
    "status", "theta", "materials", "preset", "pressures_mpa", "temperature_c", "line_speed_m_min",
    "protocol", "pressure_reported_mpa", "porosity", "springback_percent", "load_share_am_am",
    "am_contacts_per_am_max", "am_crushed_fraction", "dried_porosity", "cpu_s", "error",
    # an indentation of the same film with the same law (``--recovery``)
    "indent_depth_fraction", "indenter", "loading_time_s", "elastic_recovery",
    "plastic_work_fraction", "indent_pressure_max_mpa")


def run_rows(out_dir: str | Path) -> list[dict]:
    """Every run of a calibration's ``out_dir/dem_runs`` (failed ones included) in finishing
    order (file modification time) as a versioned row: its cache key, its film's
    :func:`film_label` and :data:`RUN_ROW_FIELDS`."""
    files = sorted((Path(out_dir) / "dem_runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    rows = []
    for f in files:
        run = json.loads(f.read_text())
        rows.append({"key": f.stem, "film": film_label(run["dried"]),
                     **{k: run[k] for k in RUN_ROW_FIELDS if k in run}})
    return rows


def _earlier_records(source: Path, films: Sequence[str]) -> list[tuple[str, str, dict]]:
    """(label, cache key, run) of every finished run of ``source``: a calibration's out
    folder or its ``dem_runs`` (key = file name), or a versioned rows file of
    ``benchmarks/dem_design_rows.py`` (key and film name in each row; the run gets the
    ``films`` path of that name)."""
    if source.is_file():
        try:
            rows = json.loads(source.read_text())["runs"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"--include-runs: {source} is not a calibration's run rows "
                             "(benchmarks/dem_design_rows.py output: a 'runs' list)") from None
        by_label: dict[str, list[str]] = {}
        for f in films:
            by_label.setdefault(film_label(f), []).append(f)
        out = []
        for i, row in enumerate(rows):
            if row.get("status") != "ok" or "theta" not in row:
                continue
            label = f"{source.name} row {i} ({row.get('film')})"
            missing = [f for f in ("key", "film") if f not in row]
            if missing:
                raise ValueError(f"--include-runs: {label} has no {' or '.join(missing)} "
                                 "(rows of benchmarks/dem_design_rows.py name both)")
            match = by_label.get(row["film"], [])
            if len(match) != 1:
                raise ValueError(f"--include-runs: {label} ran on film {row.get('film')!r}, "
                                 + ("not one of the --dried or --train-dried films" if not
                                    match else "which names several of the films") +
                                 f" ({', '.join(films)})")
            run = {k: v for k, v in row.items() if k not in ("key", "film")}
            out.append((label, row["key"], run | {"dried": match[0]}))
        return out
    runs_dir = source / "dem_runs" if (source / "dem_runs").is_dir() else source
    paths = sorted(runs_dir.glob("*.json"))
    if not paths:
        raise ValueError(f"--include-runs: {source} holds no DEM runs (*.json, or "
                         "dem_runs/*.json)")
    runs = [(p.name, p.stem, json.loads(p.read_text())) for p in paths]
    return [(label, key, run) for label, key, run in runs
            if run.get("status") == "ok" and "theta" in run]


def included_runs(sources: Sequence[str | Path], names: Sequence[str],
                  expected_task: Callable[[dict], dict], hashes: dict[str, str],
                  base=None) -> list[dict]:
    """The finished runs (calenderings and indentations) of ``sources`` (a calibration's out
    folder or its ``dem_runs``, or a versioned rows file, :func:`_earlier_records`), with θ
    completed by :func:`base_parameter_value` for the ``names`` they did not vary.
    ``expected_task(run)`` is this calibration's task for the run's film and kind; every
    field but θ must equal the run's, and the run's key must be its cache key with the
    film's content hash ``hashes`` (a film dried again must be the same bytes).  Raises
    ValueError naming the run and the field otherwise."""
    from experiments.batch import _task_key

    out = []
    for source in sources:
        for label, key, run in _earlier_records(Path(source), list(hashes)):
            extra = sorted(set(run["theta"]) - set(names))
            if extra:
                raise ValueError(f"--include-runs: {label} varies {', '.join(extra)}, "
                                 f"which this calibration does not calibrate ({', '.join(names)})")
            film = str(Path(run["dried"]))
            if film not in hashes:
                raise ValueError(f"--include-runs: {label} ran on {film}, not one of the "
                                 f"--dried or --train-dried films ({', '.join(hashes)})")
            expected = expected_task(run)
            old_task = {k: run.get(k) for k in expected} | {"theta": run["theta"]}
            for field, value in expected.items():
                if field != "theta" and run.get(field) != value:
                    raise ValueError(f"--include-runs: {label} has {field} = "
                                     f"{run.get(field)!r}; this calibration's is {value!r}")
            if _task_key(old_task, "dried", hashes[film]) != key:
                raise ValueError(f"--include-runs: {label} was not run on the present "
                                 f"content of {film} (its cache key does not match)")
            theta = {n: float(run["theta"][n]) if n in run["theta"]
                     else base_parameter_value(n, base) for n in names}
            out.append(run | {"dried": film, "theta": theta, "included_from": f"{source}: {label}"})
    return out


def dem_admissible(theta: np.ndarray, parameters: Sequence[Parameter],
                   temperature_c: float = 60.0, line_speed_m_min: float = 0.54,
                   base=None) -> np.ndarray:
    """Which parameter points (m × k) give a valid contact law (:class:`ProcessConditions`
    accepts them: ranges, and a zero-load cohesive overlap δ/R* <= 0.5).  Only the
    modulus and cohesion decide the overlap, so points are checked once per distinct pair."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    names = [p.name for p in parameters]
    keys = [n for n in names if n in ("cbd_modulus_gpa", "cbd_cohesion_gpa")]
    cache: dict = {}

    def accepted(row: np.ndarray) -> bool:
        values = dict(zip(names, row.tolist(), strict=True))
        key = tuple(values[n] for n in keys)
        if key not in cache:
            try:
                dem_conditions({n: values[n] for n in keys}, temperature_c, line_speed_m_min,
                               base)
                cache[key] = True
            except ValueError:
                cache[key] = False
        return cache[key]

    return np.array([accepted(row) for row in theta], dtype=bool)


# ---------------------------------------------------------------------------- measured curve
@dataclasses.dataclass(frozen=True)
class CompactionCurve:
    """A measured porosity–pressure curve.

    Attributes:
        pressures_mpa: calendering pressures [MPa], strictly increasing, > 0.
        porosity, porosity_sd: porosity after spring-back and its standard deviation [-].
        dried_porosity, dried_sd: the uncalendered electrode (a pressure-0 row), or None.
    """

    pressures_mpa: np.ndarray
    porosity: np.ndarray
    porosity_sd: np.ndarray
    dried_porosity: float | None = None
    dried_sd: float | None = None


def read_compaction_curve(path: str | Path, porosity_sd: float | None = None
                          ) -> CompactionCurve:
    """The curve from a CSV with ``pressure_mpa, porosity`` [, ``porosity_sd``] (porosity as
    a fraction, pressures strictly increasing; a pressure-0 first row is the dried film)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"compaction curve {path} does not exist")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no data rows (expected a header with pressure_mpa, porosity "
                         "[, porosity_sd] and one row per measured pressure)")
    for needed in ("pressure_mpa", "porosity"):
        if needed not in rows[0]:
            raise ValueError(f"{path}: missing column {needed!r} (has {sorted(rows[0])})")
    if porosity_sd is not None and not porosity_sd > 0:
        raise ValueError(f"--porosity-sd must be > 0, got {porosity_sd}")
    p, e, s = [], [], []
    for i, row in enumerate(rows):
        line = i + 2
        p.append(_float(row, "pressure_mpa", line, path))
        e.append(_float(row, "porosity", line, path))
        if not 0 <= p[-1] <= 500:
            raise ValueError(f"{path}, line {line}: pressure_mpa must lie in [0, 500], got "
                             f"{p[-1]}")
        if len(p) > 1 and not p[-1] > p[-2]:
            raise ValueError(f"{path}, line {line}: pressure_mpa must increase from row to "
                             f"row, got {p[-1]} after {p[-2]}")
        if not 0 < e[-1] < 1:
            raise ValueError(f"{path}, line {line}: porosity must be a fraction in (0, 1), "
                             f"got {e[-1]}")
        if (row.get("porosity_sd") or "").strip():
            s.append(_float(row, "porosity_sd", line, path))
        elif porosity_sd is not None:
            s.append(porosity_sd)
        else:
            raise ValueError(f"{path}, line {line}: no porosity_sd; give the column or "
                             "--porosity-sd")
        if not s[-1] > 0:
            raise ValueError(f"{path}, line {line}: porosity_sd must be > 0, got {s[-1]}")
    dried = p[0] == 0
    if len(p) - dried < 2:
        raise ValueError(f"{path}: needs at least 2 pressures > 0")
    k = int(dried)
    return CompactionCurve(np.array(p[k:]), np.array(e[k:]), np.array(s[k:]),
                           e[0] if dried else None, s[0] if dried else None)


# ---------------------------------------------------------------------------- forward model
def dem_run(task: dict) -> dict:
    """One design run (in a worker): calender ``task['dried']`` with θ at the pressures;
    returns the reported pressures, porosities after spring-back, the relaxed dried porosity,
    spring-back and CPU seconds, or status 'failed' with the error.  A task with
    ``indent_depth_fraction`` is an indentation of the dried film instead
    (:func:`indent_run`).  Never raises."""
    if "indent_depth_fraction" in task:
        return indent_run(task)
    started = time.process_time()
    try:
        from physics.calender import CalenderProtocol, calender
        from physics.state import ParticleState

        conditions = dem_conditions(task["theta"], task["temperature_c"],
                                    task["line_speed_m_min"], task_base_law(task))
        res = calender(ParticleState.load(task["dried"]), task["pressures_mpa"], conditions,
                       CalenderProtocol(press=task["protocol"]))
        return {"status": "ok", **task,
                "pressure_reported_mpa": [float(q.pressure_max_mpa) for q in res.points],
                "porosity": [float(q.porosity) for q in res.points],
                "springback_percent": [float(q.springback_percent) for q in res.points],
                "load_share_am_am": [q.load_share.get("AM-AM", 0.0) for q in res.points],
                "am_contacts_per_am_max": [q.am_contacts_per_am_max for q in res.points],
                "am_crushed_fraction": [q.am_crushed_fraction for q in res.points],
                "dried_porosity": float(res.initial.porosity),
                "cpu_s": time.process_time() - started}
    except Exception as err:  # a failed run is a result, recorded and excluded
        return {"status": "failed", **task, "error": f"{type(err).__name__}: {err}",
                "cpu_s": time.process_time() - started}


def task_base_law(task: dict):
    """The contact law a task's θ is set on (:func:`dem_conditions`): its material set's
    calender conditions (Table 2's materials without one), with its preset's contact-law
    fields over them (as ``etwin calender --materials M --preset P``); None for Table 2's."""
    base = None
    if "materials" in task:
        from physics.material_sets import MaterialSet

        base = MaterialSet.from_dict(task["materials"]).calender_conditions()
    if "preset" in task:
        from physics.calender.presets import CalenderPreset

        base = CalenderPreset("base", "", task["preset"], {}).process_conditions(base)
    return base


def indent_task(dried: str, theta: dict[str, float], depth_fraction: float,
                temperature_c: float, line_speed_m_min: float,
                loading_time_s: float | None = None) -> dict:
    """The task of one indentation (:func:`indent_run`) of film ``dried`` with θ by the test's
    diamond indenter (the loading time joins the task, and its cache key, only when set)."""
    task = {"dried": dried, "theta": theta, "indent_depth_fraction": depth_fraction,
            "temperature_c": temperature_c, "line_speed_m_min": line_speed_m_min,
            "indenter": "diamond"}
    if loading_time_s is not None:
        task["loading_time_s"] = float(loading_time_s)
    return task


def indent_run(task: dict) -> dict:
    """One indentation (in a worker): flat-punch micro-indentation of ``task['dried']`` with
    θ to ``indent_depth_fraction`` of its thickness; returns the elastic recovery, plastic
    work fraction, maximum pressure and CPU seconds, or status 'failed'.  Never raises."""
    started = time.process_time()
    try:
        from physics.calender import indent
        from physics.calender.indentation import INDENTERS
        from physics.state import ParticleState

        conditions = dem_conditions(task["theta"], task["temperature_c"],
                                    task["line_speed_m_min"], task_base_law(task),
                                    loading_time_s=task.get("loading_time_s"))
        res = indent(ParticleState.load(task["dried"]), task["indent_depth_fraction"],
                     conditions=conditions, indenter=INDENTERS[task["indenter"]])
        return {"status": "ok", **task, "elastic_recovery": float(res.elastic_recovery),
                "plastic_work_fraction": float(res.plastic_work_fraction),
                "indent_pressure_max_mpa": float(res.pressure_max_mpa),
                "cpu_s": time.process_time() - started}
    except Exception as err:  # a failed run is a result, recorded and excluded
        return {"status": "failed", **task, "error": f"{type(err).__name__}: {err}",
                "cpu_s": time.process_time() - started}


# ---------------------------------------------------------------------------- emulator
def _prior_scaled(parameters: Sequence[Parameter], theta: np.ndarray) -> np.ndarray:
    """θ (m × k) on the prior's scale: log10 for log-uniform parameters."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    return np.column_stack([np.log10(theta[:, k]) if p.log else theta[:, k]
                            for k, p in enumerate(parameters)])


def _scaled_names(parameters: Sequence[Parameter]) -> tuple[str, ...]:
    return tuple(("log10_" if p.log else "") + p.name for p in parameters)


class RecoveryEmulator:
    """GP of the indentation elastic recovery over prior-scaled θ from the finished
    indentations, fitted to ln r: the recovery is a positive ratio that spans an order of
    magnitude across the prior box (4–53 % on the `fast` design), and on the raw scale one
    stiff-bridge point sets the GP's length scales for all (leave-one-out RMSE on the 8-point
    `fast` design: 12.8 recovery points raw, 4.6 on ln r, the 53 % point left out of both
    scores)."""

    #: recoveries are floored here before the log [-] (a fully plastic indentation is 0)
    FLOOR = 1e-3

    def __init__(self, parameters: Sequence[Parameter], theta: np.ndarray,
                 recovery: np.ndarray, start: RecoveryEmulator | None = None):
        """``start``: a fitted emulator whose hyperparameters start this fit (a fold)."""
        from surrogates.gp import GPSurrogate

        self.parameters = tuple(parameters)
        log_r = np.log(np.maximum(np.asarray(recovery, dtype=float), self.FLOOR))
        self.model = GPSurrogate("ln_elastic_recovery", _scaled_names(self.parameters)).fit(
            _prior_scaled(self.parameters, theta), log_r,
            start=None if start is None else start.model)

    def predict_log(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of ln r (m) at points θ (m × k)."""
        x = _prior_scaled(self.parameters, theta)
        mean, sd = [], []
        for i in range(0, len(x), 20000):
            mu, s = self.model.predict(x[i:i + 20000])
            mean.append(mu)
            sd.append(s)
        return np.concatenate(mean), np.concatenate(sd)

    def predict(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Median exp(μ) and sd exp(μ)·s of the recovery [-] (first-order, what the
        Gaussian likelihood takes) at points θ (m × k)."""
        mean, sd = self.predict_log(theta)
        median = np.exp(mean)
        return median, median * sd


class CompactionEmulator:
    """GP of porosity over (prior-scaled θ, log10 p) from the finished design runs, with the
    dried film each run calendered as a categorical input when the runs span several films.

    Why the film: each `fast` film (200 AM particles) has its own compaction curve, e.g.
    33.90 % at 5.92 MPa on film seed 1 against 32.57–33.09 % on seeds 0, 2 and 3 under the
    same law, and a design point runs on one film (film k mod n).  A GP without the film
    reads these offsets as noise; with it (:class:`surrogates.gp.GPSurrogate`'s
    ``categorical``, BoTorch's ``MixedSingleTaskGP``), each film keeps its offset, which may
    change with θ and p, and the remaining noise is the run's own (chaotic crushing
    avalanches).  Measured on the crushing calibration's `fast` design (four films, σ_0, m,
    p_c and the flattening limit): leave-one-run-out RMSE 0.79 → 0.69 porosity points over
    22 runs, 0.42 → 0.25 at 5.92 MPa where the films differ and the law does not act, and
    0.86 → 0.87 at 156 MPa where crushing avalanches scatter the runs; 8-fold 0.64 → 0.63 on
    20.  On a stand-in with film offsets alone (tests) the gain is tenfold.

    :meth:`predict` gives the mean over the target films (default: every training film) of
    one new run per film, the quantity ``validate`` measures on the same films, with the sd
    of that mean (the joint posterior of the films' runs,
    :meth:`surrogates.gp.GPSurrogate.predict_group_mean`).  Films outside the targets only
    train: e.g. `fast` films (200 AM) beside `paper` targets (396 AM), whose runs cost 4.3×
    as much and whose curve differs (1.7 points lower at 5.92 MPa under one law); the
    kernel's film term carries each film's departure from the shared response in θ and p."""

    def __init__(self, parameters: Sequence[Parameter], theta: np.ndarray,
                 pressures: np.ndarray, porosity: np.ndarray,
                 films: Sequence[int] | None = None, targets: Sequence[int] | None = None,
                 start: CompactionEmulator | None = None):
        """``start``: a fitted emulator whose hyperparameters start this fit (a
        cross-validation fold starts at the full fit: :func:`emulator_cross_validation`)."""
        from surrogates.gp import GPSurrogate

        warm = None if start is None else start.model

        self.parameters = tuple(parameters)
        x = np.column_stack([_prior_scaled(self.parameters, theta),
                             np.log10(np.asarray(pressures, dtype=float))])
        names = (*_scaled_names(self.parameters), "log10_pressure_mpa")
        self.films = () if films is None else tuple(sorted({int(f) for f in films}))
        if targets is not None and self.films:
            kept = tuple(f for f in self.films if f in set(targets))
            if not kept:
                raise ValueError("no training run is on a target film (--dried): the "
                                 "emulator cannot predict them")
            self.targets = kept
        else:
            self.targets = self.films
        if len(self.films) > 1:
            x = np.column_stack([x, np.asarray(films, dtype=float)])
            self.model = GPSurrogate("porosity", (*names, "film"),
                                     categorical=(x.shape[1] - 1,)).fit(
                x, np.asarray(porosity, dtype=float), start=warm)
        else:
            self.films = self.targets = ()
            self.model = GPSurrogate("porosity", names).fit(
                x, np.asarray(porosity, dtype=float), start=warm)

    def predict(self, theta: np.ndarray, pressures: np.ndarray,
                film: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd (m × n) at points θ (m × k) and pressures (n) [MPa]: of one run on
        ``film`` (an index of the training films' labels), or, with ``film`` None, of the
        mean over the target films of one run each (class docstring)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        pressures = np.asarray(pressures, dtype=float)
        m, n = len(theta), len(pressures)
        x = np.column_stack([np.repeat(_prior_scaled(self.parameters, theta), n, axis=0),
                             np.tile(np.log10(pressures), m)])
        films = (film,) if film is not None else self.targets
        if films:
            x = np.stack([np.column_stack([x, np.full(len(x), float(f))]) for f in films],
                         axis=1)
        step = 20000 // max(1, len(films))
        mean, sd = [], []
        for i in range(0, len(x), step):
            mu, s = (self.model.predict_group_mean(x[i:i + step]) if films else
                     self.model.predict(x[i:i + step]))
            mean.append(mu)
            sd.append(s)
        return np.concatenate(mean).reshape(m, n), np.concatenate(sd).reshape(m, n)


def _training_rows(runs: Sequence[dict], names: Sequence[str],
                   films: Sequence[str] = ()):
    """θ, pressure, porosity and film index (into ``films``, the dried films' paths; -1 when
    ``films`` is empty) per (run, reported pressure)."""
    index = {str(Path(f)): k for k, f in enumerate(films)}
    theta, pressure, porosity, film = [], [], [], []
    for r in runs:
        for p, e in zip(r["pressure_reported_mpa"], r["porosity"], strict=True):
            theta.append([r["theta"][n] for n in names])
            pressure.append(p)
            porosity.append(e)
            film.append(index.get(str(Path(r["dried"])), -1))
    return np.array(theta), np.array(pressure), np.array(porosity), np.array(film)


def new_run_draws(mean: np.ndarray, sd: np.ndarray, seed: int) -> np.ndarray:
    """One new run per posterior draw θ: the emulator's mean plus its sd times one standard
    normal per θ (row), shared by the row's columns (pressures): a run's departure from the
    emulator is smooth in p (the GP's error is correlated along p), so the band stays
    smooth. ``mean``, ``sd``: (m,) or (m × n)."""
    z = np.random.default_rng(seed).standard_normal(len(mean))
    return mean + sd * (z[:, None] if np.ndim(mean) == 2 else z)


def predictive_bands(emulator: CompactionEmulator, theta_draws: np.ndarray,
                     pressures_mpa: np.ndarray, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2.5, 50 and 97.5 % percentiles (3 × n) of the porosity at ``pressures_mpa`` over
    posterior draws θ (m × k): of the emulator's mean alone (the parameters' uncertainty),
    and of a new run (the mean plus one draw of the emulator's sd, which holds the run's own
    scatter and the emulator's ignorance away from its training runs); and the median over
    the draws of the emulator's sd (n).

    Why both: where the posterior spreads into θ that no run covers, the GP's mean reverts
    to its constant, so the mean-only band grows a flat edge at that constant (measured on
    eight `paper` runs at three θ: edges at 28.7 % from 4 to 230 MPa) that looks like
    knowledge; the new-run band widens there instead."""
    mean, sd = emulator.predict(theta_draws, pressures_mpa)
    run = new_run_draws(mean, sd, seed)
    return (np.percentile(mean, [2.5, 50, 97.5], axis=0),
            np.percentile(run, [2.5, 50, 97.5], axis=0), np.median(sd, axis=0))


def emulator_cross_validation(parameters: Sequence[Parameter], runs: Sequence[dict],
                              folds: int = 8, films: Sequence[str] = (),
                              targets: Sequence[str] = (),
                              start: CompactionEmulator | None = None) -> dict:
    """Hold out whole design runs (all their pressures) in ``folds`` groups, refit, predict
    them (on their film, with ``films``): RMSE [-] and the share of held-out porosities
    inside the emulator's 95 % interval; with ``targets`` (some of ``films``) the same
    scores of the runs on those films alone as ``target_rmse``, ``target_coverage95``.
    ``start``: the emulator fitted on all runs, whose hyperparameters start each fold's fit
    (:class:`surrogates.gp.GPSurrogate`'s warm start)."""
    names = [p.name for p in parameters]
    groups = np.arange(len(runs)) % min(folds, len(runs))
    errors, inside, on_target = [], [], []
    for g in np.unique(groups):
        theta, p, e, f = _training_rows([r for r, k in zip(runs, groups, strict=True)
                                         if k != g], names, films)
        em = CompactionEmulator(parameters, theta, p, e, f if films else None, start=start)
        for held in (r for r, k in zip(runs, groups, strict=True) if k == g):
            film = films.index(str(Path(held["dried"]))) if em.films else None
            mean, sd = em.predict(np.array([[held["theta"][n] for n in names]]),
                                  np.array(held["pressure_reported_mpa"]), film=film)
            err = mean[0] - np.array(held["porosity"])
            errors.append(err)
            inside.append(np.abs(err) <= 1.96 * sd[0])
            on_target.append(np.full(len(err), str(Path(held["dried"])) in targets))
    errors, inside, on_target = (np.concatenate(a) for a in (errors, inside, on_target))
    scores = {"rmse": float(np.sqrt(np.mean(errors ** 2))),
              "coverage95": float(np.mean(inside)), "runs": len(runs),
              "folds": int(len(np.unique(groups)))}
    if on_target.any():
        scores |= {"target_rmse": float(np.sqrt(np.mean(errors[on_target] ** 2))),
                   "target_coverage95": float(np.mean(inside[on_target])),
                   "target_runs": sum(str(Path(r["dried"])) in targets for r in runs)}
    return scores


# ---------------------------------------------------------------------------- the job
def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def calibrate_dem(table: str | Path, out_dir: str | Path, *,
                  dried: Sequence[str | Path] = (), parameters: str | None = None,
                  forward: Callable[[dict], dict] | None = None, n_design: int = 24,
                  seed: int = 0, porosity_sd: float | None = None,
                  temperature_c: float = 60.0, line_speed_m_min: float = 0.54,
                  protocol: str = "paper", validate: int = 0, refine: int = 0,
                  recovery: float | None = None, recovery_sd: float = 0.03,
                  indent_depth_fraction: float = 0.1, indent_temperature_c: float | None = None,
                  indent_loading_time_s: float | None = None,
                  executor: str = "local", materials=None, preset: str | Path | None = None,
                  include_runs: Sequence[str | Path] = (), points: str | Path | None = None,
                  train_dried: Sequence[str | Path] = (), workers: int = 1, mcmc_steps: int = 3000,
                  cv_folds: int = 8, experiment: str | None = "calibrate",
                  quiet: bool = False) -> dict:
    """Calibrate DEM contact parameters against a measured porosity–pressure curve (module
    docstring).  ``dried``: one or more dried structures (``etwin dry`` seeds); ``forward``
    (a task dict -> a result dict as :func:`dem_run`'s) replaces the DEM (tests).
    ``preset``: a contact-law preset name or file (:func:`physics.calender.presets.
    load_preset`) whose law the calibrated parameters are set on, over the material set's
    (default: Table 2's law); it joins every task, so its runs are cached apart.
    ``recovery`` ± ``recovery_sd``: the measured elastic recovery of a micro-indentation of
    the dried electrode to ``indent_depth_fraction`` of its thickness [-], a second
    observable (module docstring), indented at ``indent_temperature_c`` (default: the roll
    temperature, the paper's simulated indentation) with the binder at the rate of a
    ``indent_loading_time_s`` loading [s] (default: the roll's time scale).
    ``include_runs``: folders of earlier runs that join the training set
    (:func:`included_runs`); with them, or with ``points``, the design may be empty
    (``n_design`` 0).  ``points``: a CSV of chosen parameter points (:func:`read_points`),
    each run on every film after the design (a hypothesis the Sobol design does not reach,
    e.g. one parameter moved from an earlier highest-posterior point).  ``train_dried``:
    films whose included runs train the emulator, each as its own film, but which get no
    new runs and stay out of the prediction (:class:`CompactionEmulator`): e.g. the `fast`
    films' design beside `paper` films, the calibration's targets.  ``cv_folds``: groups
    of whole runs held out in turn (:func:`emulator_cross_validation`, each fold a refit
    started at the full fit), 0 for none (the summary's cross-validation is then None)."""
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import (
        plot_compaction_predictive,
        plot_marginals,
        plot_pair_posterior,
        plot_recovery_predictive,
    )
    from experiments.report import write_report
    from experiments.tracking import job_run, run_provenance
    from optimize.bo import sobol_unit
    from optimize.calibration import calibrate_with_emulator
    from physics.calender.presets import load_preset, preset_from_conditions

    min_design = 0 if include_runs or points is not None else 4
    if not min_design <= n_design <= 500:
        raise ValueError(f"--design must lie in [{min_design}, 500], got {n_design}"
                         + ("" if min_design == 0 else
                            " (0 only with --include-runs or --points)"))
    if not 0 <= validate <= 64:
        raise ValueError(f"--validate must lie in [0, 64], got {validate}")
    if not 0 <= refine <= 32:
        raise ValueError(f"--refine must lie in [0, 32], got {refine}")
    if cv_folds != 0 and not 2 <= cv_folds <= 64:
        raise ValueError(f"--cv-folds must be 0 (no cross-validation) or lie in [2, 64], got "
                         f"{cv_folds}")
    if protocol not in DEM_PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(DEM_PROTOCOLS)}, got "
                         f"{protocol!r}")
    if not 1 <= workers <= 256:
        raise ValueError(f"--workers must lie in [1, 256], got {workers}")
    if indent_temperature_c is None:
        indent_temperature_c = temperature_c
    if recovery is not None:
        if not 0 < recovery < 1:
            raise ValueError(f"--recovery must be a fraction in (0, 1), got {recovery}")
        if not 0 < recovery_sd < 1:
            raise ValueError(f"--recovery-sd must lie in (0, 1), got {recovery_sd}")
        if not 0 < indent_depth_fraction <= 0.5:
            raise ValueError(f"--indent-depth-fraction must lie in (0, 0.5], got "
                             f"{indent_depth_fraction}")
        try:
            dem_conditions({}, indent_temperature_c, line_speed_m_min)
        except ValueError as err:
            raise ValueError(f"--indent-temperature-c: {err}") from None
        if indent_loading_time_s is not None:
            try:
                dem_conditions({}, indent_temperature_c, line_speed_m_min,
                               loading_time_s=indent_loading_time_s)
            except ValueError as err:
                raise ValueError(f"--indent-loading-time-s: {err}") from None
    params = parse_dem_parameters(parameters)
    names = [p.name for p in params]
    curve = read_compaction_curve(table, porosity_sd)
    films = [str(Path(d)) for d in dried]
    train_films = [str(Path(d)) for d in train_dried]
    both = [f for f in films if f in train_films]
    if both:
        raise ValueError(f"--train-dried: {both[0]} is a --dried film too (a film is either "
                         "a target or trains only)")
    if train_films and not include_runs:
        raise ValueError("--train-dried needs --include-runs: the runs on those films "
                         "that train the emulator")
    if forward is None:
        if not films:
            raise ValueError("--dried is required: one or more dried structures (etwin dry "
                             "output dried.npz) that the DEM calenders")
        for f in films + train_films:
            if not Path(f).is_file():
                raise FileNotFoundError(f"dried structure {f} does not exist")
        hashes = {f: _file_hash(f) for f in films + train_films}
    else:
        films = films or ["custom-forward"]
        hashes = {f: f for f in films + train_films}
    # the emulator's film index runs over the targets, then the training-only films
    all_films = films + train_films
    targets = list(range(len(films)))
    # the same temperature and speed check the contact law at every point
    dem_conditions({}, temperature_c, line_speed_m_min)

    # the material set and the preset join every task (and its cache key) only when given
    law = None if preset is None else load_preset(preset)
    with_law = ({} if materials is None else {"materials": materials.to_dict()}) | (
        {} if law is None else {"preset": law.conditions})
    base = task_base_law(with_law)

    def admissible(theta: np.ndarray) -> np.ndarray:
        return dem_admissible(theta, params, temperature_c, line_speed_m_min, base)

    lo = np.array([math.log10(p.lower) if p.log else p.lower for p in params])
    hi = np.array([math.log10(p.upper) if p.log else p.upper for p in params])
    unit = lo + (hi - lo) * sobol_unit(len(params), max(16 * n_design, 1), seed)
    candidates = np.where([p.log for p in params], 10 ** unit, unit)
    design = candidates[admissible(candidates)][:n_design]
    if len(design) < n_design:
        raise ValueError(f"only {len(design)} of {16 * n_design} prior points give a valid "
                         f"DEM contact law at {temperature_c:g} °C and {line_speed_m_min:g} "
                         f"m/min; lower --design or narrow the priors")

    chosen = np.empty((0, len(params))) if points is None else read_points(points, params)
    invalid = np.flatnonzero(~admissible(chosen)) if len(chosen) else []
    if len(invalid):
        raise ValueError(f"--points: {points}, line {invalid[0] + 2} gives an invalid DEM "
                         f"contact law at {temperature_c:g} °C and {line_speed_m_min:g} m/min")

    def task(theta_row, film: str) -> dict:
        return {"dried": film, "theta": {n: float(v) for n, v in
                                         zip(names, np.round(theta_row, 10), strict=True)},
                "pressures_mpa": curve.pressures_mpa.tolist(), "temperature_c": temperature_c,
                "line_speed_m_min": line_speed_m_min, "protocol": protocol, **with_law}

    def with_indents(calender_tasks: list[dict]) -> list[dict]:
        """The calenderings and, with a recovery target, an indentation of the same film
        with the same law right after each (a design stopped part way leaves whole points)."""
        if recovery is None:
            return calender_tasks
        return [run for t in calender_tasks for run in (
            t, {**indent_task(t["dried"], t["theta"], indent_depth_fraction,
                              indent_temperature_c, line_speed_m_min, indent_loading_time_s),
                **with_law})]

    tasks = with_indents([task(t, films[k % len(films)]) for k, t in enumerate(design)]
                         + [task(t, f) for t in chosen for f in films])
    settings = {"n_design": n_design, "seed": seed, "table": str(table), "dried": films,
                "train_dried": train_films,
                "calibrated": names, "temperature_c": temperature_c,
                "line_speed_m_min": line_speed_m_min, "protocol": protocol,
                "validate": validate, "refine": refine, "recovery": recovery,
                "recovery_sd": recovery_sd if recovery is not None else None,
                "indent_depth_fraction": indent_depth_fraction if recovery is not None
                else None,
                "indent_temperature_c": indent_temperature_c if recovery is not None
                else None,
                "indent_loading_time_s": indent_loading_time_s if recovery is not None
                else None, "include_runs": [str(f) for f in include_runs],
                "points": None if points is None else str(points),
                "preset": None if law is None else law.name}

    def expected_task(run: dict) -> dict:
        calender = task([0.0] * len(names), run["dried"])
        if not _is_indentation(run):
            return calender
        return {**indent_task(calender["dried"], calender["theta"], indent_depth_fraction,
                              indent_temperature_c, line_speed_m_min, indent_loading_time_s),
                **with_law}

    earlier = included_runs(include_runs, names, expected_task, hashes, base)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with job_run(experiment, "calibrate-dem", settings) if experiment else \
            nullcontext() as mlrun:
        included = {_point(r) for r in earlier}  # an included run is not run again
        runs = _dem_tasks([t for t in tasks if _point(t) not in included], out / "dem_runs",
                          hashes=hashes, forward=forward, executor=executor, workers=workers,
                          quiet=quiet)
        seen = {_point(r) for r in runs}
        for r in earlier:  # an included run that repeats another counts once
            if _point(r) not in seen:
                seen.add(_point(r))
                runs.append(r)
        # each chosen point against the data, over its runs on every film (included ones too)
        chosen_points = []
        for row in chosen:
            theta = task(row, films[0])["theta"]
            at = [r for r in runs if r["theta"] == theta and r["dried"] in films]
            chosen_points.append({"point": theta,
                                  **_validation_summary(curve, _calenderings(at)),
                                  **_recovery_summary(recovery, at)})
        ok, indents = _split_ok(runs)
        if len(ok) < 4:
            failed = [r for r in runs if r["status"] != "ok"]
            kept = f"the runs are in {out / 'dem_runs'}"
            if chosen_points:  # the chosen points' curves are a result without the emulator
                write_report(out, "DEM contact-law calibration", [
                    _chosen_points_section(chosen_points, curve, points, recovery)])
                write_json_atomic(out / "summary.json", {
                    "job": "calibrate", "target": "dem", "chosen_points": chosen_points,
                    **_measured_fields(curve), **settings, "provenance": run_provenance()})
                kept += f", the chosen points' curves in {out / 'report.md'}"
            raise RuntimeError(
                f"the emulator needs at least 4 finished DEM runs, and {len(ok)} of "
                f"{len(runs)} finished (" + (f"first error: {failed[0]['error']}" if failed
                                             else "add design runs, --include-runs or more "
                                             "--points") + f"); {kept}")

        observed = curve.porosity
        observed_sd = curve.porosity_sd
        if recovery is not None:
            if len(indents) < 4:
                raise RuntimeError(f"only {len(indents)} indentations finished; need 4 for "
                                   "the recovery emulator")
            observed = np.append(observed, recovery)
            observed_sd = np.append(observed_sd, recovery_sd)

        last = [None, None]  # the latest fit's emulators start the next (a round's refit)

        def fit(training: list[dict], indent_training: list[dict]):
            theta_tr, p_tr, e_tr, f_tr = _training_rows(training, names, all_films)
            em = CompactionEmulator(params, theta_tr, p_tr, e_tr, f_tr, targets,
                                    start=last[0])
            rec = None if recovery is None else RecoveryEmulator(
                params, [[r["theta"][n] for n in names] for r in indent_training],
                [r["elastic_recovery"] for r in indent_training], start=last[1])
            last[:] = [em, rec]

            def predict(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                mean, sd = em.predict(t, curve.pressures_mpa)
                if rec is None:
                    return mean, sd
                mean_r, sd_r = rec.predict(t)
                return np.column_stack([mean, mean_r]), np.column_stack([sd, sd_r])

            return (em, rec), calibrate_with_emulator(
                predict, observed, observed_sd, params, admissible, steps=mcmc_steps,
                seed=seed)

        # sequential design: DEM runs at the current highest-posterior draw join the
        # training set, so the emulator is sharpest where the posterior lies
        # each round's point is recorded before its runs start, so a resumed job reruns
        # nothing (the refit need not reproduce the same draw bit for bit)
        rounds = []
        for k in range(refine):
            point = round_point(out / "refinement_points.json", k, names,
                                lambda tr=ok, itr=indents: fit(tr, itr)[1].best())
            at_map = _dem_tasks(with_indents([task([point[n] for n in names], f)
                                              for f in films]),
                                out / "dem_runs", hashes=hashes, forward=forward,
                                executor=executor, workers=workers, quiet=quiet)
            runs += at_map
            new_ok, new_indents = _split_ok(at_map)
            ok += new_ok
            indents += new_indents
            rounds.append({"round": k + 1, "map": point,
                           **_validation_summary(curve, _calenderings(at_map)),
                           **_recovery_summary(recovery, at_map)})
        failed = [r for r in runs if r["status"] != "ok"]
        (emulator, recovery_emulator), post = fit(ok, indents)
        cv = emulator_cross_validation(params, ok, folds=cv_folds, films=all_films,
                                       targets=films if train_films else (),
                                       start=emulator) if cv_folds else None
        marginals = post.marginals()
        best = post.best()
        draws = post.sample(PREDICTIVE_DRAWS, seed)
        theta_draws = np.column_stack([draws[n] for n in names])
        grid_p = np.geomspace(curve.pressures_mpa.min() / 1.5,
                              curve.pressures_mpa.max() * 1.5, 40)
        band_theta, band_run, _ = predictive_bands(emulator, theta_draws, grid_p, seed)
        at_obs, run_obs, sd_median = predictive_bands(emulator, theta_draws,
                                                      curve.pressures_mpa, seed)
        lo_run, hi_run = run_obs[[0, 2]]
        summary = {"job": "calibrate", "target": "dem",
                   "parameters": {n: m.summary() for n, m in marginals.items()},
                   "map": best, "mcmc": {"acceptance": post.acceptance,
                                         "autocorr_steps": list(post.autocorr_steps),
                                         "draws": len(post.samples)},
                   "emulator_cross_validation": cv, "design_runs": n_design,
                   "chosen_points": chosen_points, "refinement_rounds": rounds,
                   "training_runs": len(ok),
                   "failed_runs": [{"theta": r["theta"], "error": r["error"]} for r in failed],
                   "dem_cpu_s": float(sum(r.get("cpu_s", 0.0) for r in runs)),
                   **_measured_fields(curve),
                   "predictive_median": at_obs[1].tolist(),
                   "predictive_lo95": lo_run.tolist(), "predictive_hi95": hi_run.tolist(),
                   "emulator_sd_median": sd_median.tolist(),
                   "emulator_limited_mpa": [float(p) for p, e, o in zip(
                       curve.pressures_mpa, sd_median, curve.porosity_sd, strict=True)
                       if e > o],
                   "dried_relaxed_porosity": [r["dried_porosity"] for r in ok
                                              if "dried_porosity" in r],
                   "measured_dried_porosity": curve.dried_porosity, **settings,
                   "provenance": run_provenance()}
        if recovery_emulator is not None:
            rec_draws, _ = recovery_emulator.predict(theta_draws)
            median = np.median(rec_draws)
            log_mean, log_sd = recovery_emulator.predict_log(theta_draws)
            lo95, hi95 = np.percentile(np.exp(new_run_draws(log_mean, log_sd, seed)),
                                       [2.5, 97.5])
            summary["recovery_fit"] = {
                "measured": recovery, "measured_sd": recovery_sd,
                "predictive_median": float(median), "predictive_lo95": float(lo95),
                "predictive_hi95": float(hi95), "indentations": len(indents),
                "emulator_cross_validation": recovery_cross_validation(
                    params, indents, folds=cv_folds, start=recovery_emulator)
                if cv_folds else None}
        rows = []
        if validate:
            checks = _dem_tasks(with_indents([task([best[n] for n in names],
                                                   films[k % len(films)])
                                              for k in range(validate)]), out / "dem_runs",
                                hashes=hashes, forward=forward, executor=executor,
                                workers=workers, quiet=quiet)
            summary["validation"] = validation_table(curve, _calenderings(checks))
            summary["validation"] |= _recovery_summary(recovery, checks)
            rows = summary["validation"]["rows"]
        write_json_atomic(out / "preset.json", dataclasses.asdict(preset_from_conditions(
            f"calibrated-{Path(table).stem}",
            f"DEM contact law calibrated on {Path(table).name} (highest-posterior draw)",
            dem_conditions(best, temperature_c, line_speed_m_min, base),
            {"data": str(table), "data_sha256": _file_hash(str(table)),
             "base_preset": None if law is None else law.name,
             "calibrated": {n: marginals[n].summary() for n in names}, "map": best,
             "training_runs": len(ok), "refinement_rounds": rounds,
             "films": [Path(f).name for f in films],
             "film_sha256": [hashes[f] for f in films],
             "train_films": [Path(f).name for f in train_films], "protocol": protocol,
             "temperature_c": temperature_c, "line_speed_m_min": line_speed_m_min,
             "emulator_cross_validation": cv, "recovery_fit": summary.get("recovery_fit"),
             "validation": summary.get("validation")})))
        write_csv_atomic(out / "design.csv", [
            {**r["theta"], "film": Path(r["dried"]).name, "pressure_mpa": float(p),
             "porosity": float(e)}
            for r in ok for p, e in zip(r["pressure_reported_mpa"], r["porosity"],
                                        strict=True)])
        write_csv_atomic(out / "posterior_samples.csv", [
            dict(zip(names, row.tolist(), strict=True)) for row in post.samples[::10]])
        plots = [plot_marginals(marginals, out / "posterior.png").name,
                 plot_pair_posterior(post, out / "posterior_pairs.png", design).name,
                 plot_compaction_predictive(curve.pressures_mpa, curve.porosity,
                                            curve.porosity_sd, grid_p, band_theta,
                                            band_run,
                                            out / "posterior_predictive.png").name]
        text = "; ".join(f"{n} = {m.mean:.3g} [{m.lower:.3g}, {m.upper:.3g}]"
                         for n, m in marginals.items())
        text = (f"Posterior mean and 95 % credible interval: {text}.  Highest-posterior "
                f"draw: {', '.join(f'{n} = {v:.3g}' for n, v in best.items())}.  "
                f"{len(ok)} DEM calenderings"
                + (f" and {len(indents)} indentations" if recovery is not None else "")
                + f" ({len(failed)} runs failed, {summary['dem_cpu_s'] / 3600:.2f} CPU h in "
                f"all) on {len(films)} film(s)"
                + (f" and {len(train_films)} training-only film(s), whose runs train the "
                   "emulator but stay out of its prediction" if train_films else "") + ", "
                f"protocol {protocol}; emulator, "
                + (f"whole runs held out: RMSE {100 * cv['rmse']:.2f} porosity points, "
                   f"{100 * cv['coverage95']:.0f} % inside its 95 % interval" if cv else
                   "not cross-validated (--cv-folds 0)")
                + f"; MCMC acceptance {post.acceptance:.2f}, "
                f"autocorrelation {max(post.autocorr_steps):.0f} steps.")
        if cv and "target_rmse" in cv:
            text += (f"  Held out on the target films alone ({cv['target_runs']} runs): RMSE "
                     f"{100 * cv['target_rmse']:.2f} porosity points, "
                     f"{100 * cv['target_coverage95']:.0f} % inside the 95 % interval.")
        if summary["emulator_limited_mpa"]:
            limited = [(p, e, o) for p, e, o in zip(curve.pressures_mpa, sd_median,
                                                    curve.porosity_sd, strict=True) if e > o]
            text += ("\n\n**Note:** at " + ", ".join(f"{p:g}" for p, _, _ in limited)
                     + " MPa (emulator sd " + ", ".join(f"{100 * e:.2f}" for _, e, _ in limited)
                     + " against the measured " + ", ".join(f"{100 * o:.2f}"
                                                            for _, _, o in limited)
                     + " porosity points) the emulator at the posterior draws is less "
                     "certain than the measurement: the posterior there follows the "
                     "emulator's prior, not the DEM, so its intervals say how little the "
                     "runs cover, not what the data allow. More runs near the posterior "
                     "(--refine, --points) narrow it.")
        if any(m.at_prior_edge for m in marginals.values()):
            text += ("\n\n**Note:** a credible interval touches its prior bound ("
                     + ", ".join(n for n, m in marginals.items() if m.at_prior_edge)
                     + "): the data do not pin it inside the box.")
        sections = [Section("Result", text, table=[{"parameter": n, **m.summary()}
                                                   for n, m in marginals.items()],
                            plots=plots),
                    Section("Measured curve", table=[
                        {"pressure_mpa": float(p), "porosity": float(y),
                         "porosity_sd": float(s), "posterior_median": float(m),
                         "new_run_lo95": float(lo), "new_run_hi95": float(hi),
                         "emulator_sd": float(e)}
                        for p, y, s, m, lo, hi, e in zip(
                            curve.pressures_mpa, curve.porosity, curve.porosity_sd,
                            summary["predictive_median"], lo_run, hi_run, sd_median,
                            strict=True)])]
        if "recovery_fit" in summary:
            r = summary["recovery_fit"]
            rcv = r["emulator_cross_validation"]
            sections.append(Section(
                "Indentation recovery",
                f"Measured elastic recovery {100 * recovery:.1f} ± {100 * recovery_sd:.1f} % "
                f"(micro-indentation of the dried film to {100 * indent_depth_fraction:.0f} % "
                f"of its thickness); posterior-predictive median "
                f"{100 * r['predictive_median']:.1f} % [{100 * r['predictive_lo95']:.1f}, "
                f"{100 * r['predictive_hi95']:.1f}] from {r['indentations']} DEM "
                f"indentations (emulator, "
                + (f"held out: RMSE {100 * rcv['rmse']:.2f} points, "
                   f"{100 * rcv['coverage95']:.0f} % inside its 95 % interval)." if rcv else
                   "not cross-validated)."),
                plots=[plot_recovery_predictive(rec_draws, recovery, recovery_sd,
                                                out / "recovery_predictive.png").name]))
        if chosen_points:
            sections.append(_chosen_points_section(chosen_points, curve, points, recovery))
        if rounds:
            sections.append(Section(
                "Sequential refinement",
                "Each round fits the emulator, runs the DEM at the highest-posterior draw on "
                "every film and adds those runs to the training set.",
                table=[{"round": r["round"], **{n: r["map"][n] for n in names},
                        **_point_columns(r, curve, recovery)}
                       for r in rounds]))
        if rows:
            v = summary["validation"]
            text = (f"{v['runs']} DEM runs: max |error| {100 * v['max_abs_error']:.2f} "
                    f"porosity points, {v['inside_1sd']} of {len(rows)} measured points "
                    f"inside ±1 sd.")
            if "recovery_simulated" in v:
                text += (f"  Indentation recovery {100 * v['recovery_simulated']:.1f} ± "
                         f"{100 * v['recovery_simulated_sd']:.1f} % ({v['recovery_runs']} "
                         f"runs) against the measured {100 * recovery:.1f} ± "
                         f"{100 * recovery_sd:.1f} %.")
            sections.append(Section("DEM at the highest-posterior draw", text, table=rows))
        write_report(out, "DEM contact-law calibration", sections)
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            mlrun.log_metrics({f"{n}.{k}": float(v) for n, m in marginals.items()
                               for k, v in m.summary().items() if k != "at_prior_edge"}
                              | ({"emulator_rmse": cv["rmse"]} if cv else {})
                              | ({"recovery_predictive_median":
                                  summary["recovery_fit"]["predictive_median"]}
                                 if "recovery_fit" in summary else {}))
            mlrun.log_artifacts(str(out))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary


def _dem_tasks(tasks: Sequence[dict], runs_dir: Path, *, hashes: dict[str, str],
               forward: Callable[[dict], dict] | None, executor: str, workers: int,
               quiet: bool) -> list[dict]:
    """DEM runs of ``tasks`` (:func:`dem_run`, or ``forward`` inline), cached per task and
    dried film in ``runs_dir``."""
    from experiments.batch import run_cached_tasks

    return run_cached_tasks(tasks, runs_dir, run=forward or dem_run, inline=forward is not None,
                            file_field="dried", hashes=hashes, executor=executor,
                            workers=workers, desc="DEM runs", quiet=quiet)


def _point(run: dict) -> str:
    """A run's film, kind and θ (an included run that repeats a design run counts once)."""
    return json.dumps([run["dried"], _is_indentation(run), run["theta"]], sort_keys=True)


def _is_indentation(run: dict) -> bool:
    return "indent_depth_fraction" in run


def _calenderings(runs: Sequence[dict]) -> list[dict]:
    return [r for r in runs if not _is_indentation(r)]


def _split_ok(runs: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """The finished calenderings and the finished indentations of ``runs``."""
    ok = [r for r in runs if r["status"] == "ok"]
    return ([r for r in ok if not _is_indentation(r)], [r for r in ok if _is_indentation(r)])


def _recovery_summary(recovery: float | None, runs: Sequence[dict]) -> dict:
    """The simulated indentation recovery (mean ± sd over the finished indentations of
    ``runs``) against the measured one; empty without a recovery target."""
    values = [r["elastic_recovery"] for r in _split_ok(runs)[1]]
    if recovery is None or not values:
        return {}
    return {"recovery_simulated": float(np.mean(values)),
            "recovery_simulated_sd": float(np.std(values, ddof=1)) if len(values) > 1
            else 0.0, "recovery_error": float(np.mean(values) - recovery),
            "recovery_runs": len(values)}


def recovery_cross_validation(parameters: Sequence[Parameter], indents: Sequence[dict],
                              folds: int = 8, start: RecoveryEmulator | None = None) -> dict:
    """The recovery emulator with held-out indentations (``folds`` groups): RMSE [-] of its
    median and the share inside its 95 % interval (on ln r, where the GP is Gaussian);
    ``start``: the emulator fitted on all of them (warm start of each fold)."""
    names = [p.name for p in parameters]
    theta = np.array([[r["theta"][n] for n in names] for r in indents])
    y = np.array([r["elastic_recovery"] for r in indents])
    groups = np.arange(len(indents)) % min(folds, len(indents))
    errors, inside = [], []
    for g in np.unique(groups):
        keep = groups != g
        emulator = RecoveryEmulator(parameters, theta[keep], y[keep], start=start)
        errors.append(emulator.predict(theta[~keep])[0] - y[~keep])
        log_mean, log_sd = emulator.predict_log(theta[~keep])
        held = np.log(np.maximum(y[~keep], RecoveryEmulator.FLOOR))
        inside.append(np.abs(held - log_mean) <= 1.96 * log_sd)
    errors = np.concatenate(errors)
    return {"rmse": float(np.sqrt(np.mean(errors ** 2))),
            "coverage95": float(np.mean(np.concatenate(inside))), "runs": len(indents)}


def _point_columns(summary: dict, curve: CompactionCurve, recovery: float | None) -> dict:
    """Report columns of one point's :func:`_validation_summary`: the mean simulated porosity
    at every measured pressure [%], the max |error| and how many points lie inside ±1 sd."""
    simulated = summary.get("simulated") or [None] * len(curve.pressures_mpa)
    return {**{f"{p:g} MPa [%]": None if y is None else 100 * y
               for p, y in zip(curve.pressures_mpa, simulated, strict=True)},
            "runs": summary["runs"], "max_abs_error": summary.get("max_abs_error"),
            "inside_1sd": summary.get("inside_1sd"),
            **({"recovery": summary.get("recovery_simulated")} if recovery is not None
               else {})}


def _chosen_points_section(chosen_points: Sequence[dict], curve: CompactionCurve,
                           points: str | Path, recovery: float | None) -> Section:
    """The report's table of the ``--points`` runs, one row per point."""
    return Section(
        "Chosen points",
        f"The points of {Path(points).name}, each run on every film: mean porosity over its "
        "finished runs at each measured pressure, the max |error| against the measured "
        "curve and how many measured points lie inside their ±1 sd bars.",
        table=[{**r["point"], **_point_columns(r, curve, recovery)} for r in chosen_points])


def _measured_fields(curve: CompactionCurve) -> dict:
    """The measured curve as the summary.json fields (pressures, porosity, its sd)."""
    return {"pressures_mpa": curve.pressures_mpa.tolist(),
            "observed_porosity": curve.porosity.tolist(),
            "observed_sd": curve.porosity_sd.tolist()}


def _validation_summary(curve: CompactionCurve, runs: Sequence[dict]) -> dict:
    """The DEM at one parameter point against the curve, short form (refinement rounds)."""
    if not any(r["status"] == "ok" for r in runs):
        return {"runs": 0, "error": runs[0].get("error")}
    v = validation_table(curve, runs)
    return {"runs": v["runs"], "max_abs_error": v["max_abs_error"],
            "inside_1sd": v["inside_1sd"],
            "simulated": [row["simulated"] for row in v["rows"]]}


def validation_table(curve: CompactionCurve, runs: Sequence[dict]) -> dict:
    """Measured against simulated (mean ± sd over the finished runs) at every pressure."""
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        raise RuntimeError(f"every validation run failed: {runs[0].get('error')}")
    sim = np.array([r["porosity"] for r in ok])
    mean = sim.mean(axis=0)
    sd = sim.std(axis=0, ddof=1) if len(ok) > 1 else np.zeros_like(mean)
    err = mean - curve.porosity
    rows = [{"pressure_mpa": float(p), "measured": float(y), "measured_sd": float(s),
             "simulated": float(m), "simulated_sd": float(d), "error": float(e)}
            for p, y, s, m, d, e in zip(curve.pressures_mpa, curve.porosity,
                                        curve.porosity_sd, mean, sd, err, strict=True)]
    return {"runs": len(ok), "rows": rows, "max_abs_error": float(np.max(np.abs(err))),
            "inside_1sd": int(np.sum(np.abs(err) <= curve.porosity_sd)),
            "dried_relaxed_porosity": [r["dried_porosity"] for r in ok
                                       if "dried_porosity" in r]}
