"""The electronic-limit calibration: particle contact conductance and CBD conductivity from
measured rate capacities of the same electrode at several densities (Step 10 item 5).

Forward model, per parameter point θ and measured state (a structure imaged on voxels):

1. the through-plane electronic conductivity σ_eff(θ) of the structure's solid, solved on its
   voxel image with the bulk conductivities of AM and CBD and a contact conductance per unit
   contact area in series on every AM–CBD (and AM–AM) face
   (:func:`physics.transport.electronic_conductivity`, the transport solver's multigrid PCG);
2. the half-cell P2D (:func:`physics.cell.discharge`) of that structure (porosity, phase
   fractions, τ, AM surface and size classes from the image) at the *measured electrode's
   thickness* with σ_eff(θ), discharged at the measured C-rate: the capacity.

Why the homogenized cell and not the 3-D cell on the image: the electronic limit of a
thick electrode is an ohmic drop across its whole thickness, i·L/σ_eff with i ∝ L, so it grows
as L².  The imaged films are 28 µm (``ci``) to 85 µm (``fast``) thick; the measured
electrode is ~150 µm.  The 3-D cell on the imaged film answers for a film of the image's
thickness (not limited at these σ), so the calibration takes what the image decides, the
conductive network and its contacts, through σ_eff, and the thickness from the measurement.
The 3-D cell checks that homogenization on the film itself (``benchmarks/electronic_limit.py``).

θ only enters through σ_eff, so the capacity is C_i(σ_eff,i(θ)): per state a GP emulates
log10 σ_eff over the (log-scaled) parameters from a Sobol design of conductivity solves (cached
per run, resumable), and C_i is the P2D on a grid of log10 σ_eff, interpolated monotonically
(PCHIP).  The emulator's sd is carried to the capacity through the slope of C_i
(first-order).  A state may hold several films (seeds): its capacity is the mean over them,
and the variance of that mean (film-to-film scatter / n) joins s_i².  The posterior
y_i ~ N(C_i, σ_i² + s_i²) is sampled by ensemble MCMC
(:func:`optimize.calibration.calibrate_with_emulator`).  The highest-posterior draw is checked
by the full forward model (solve + P2D), without the emulator.  ``refine`` rounds before
the final fit each add the runs at the current highest-posterior draw to the emulators'
training set (a space-filling design leaves the emulator coarse where the posterior sits;
the runs are cheap, so the design follows the posterior), as the DEM calibration does, and
the runs at the posterior draw where the emulators are least certain against the data
(max Σ s_i²/σ_i² over 400 draws: a corner of the box where the emulator extrapolates can
otherwise hold posterior mass that the full model refutes).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.calibrate import _float
from optimize.calibration import Parameter

PREDICTIVE_DRAWS = 2000
#: log10 σ_eff [S/m] grid of the P2D capacity curve of each state
SIGMA_GRID_LOG10 = np.linspace(-6.0, 1.0, 36)

# uniform priors in log θ; the boxes are physical ranges, not fitted
ELECTRONIC_PARAMETERS = {
    # carbon–oxide and oxide–oxide contact conductance per contact area [S/m²]; the upper
    # decades reach the no-film limit (G π a² ≫ 4 a σ, the constriction, at a ≈ 0.2 µm
    # and σ ~ 1 S/m: G ≫ 6e6 S/m²)
    "contact_am_cbd_s_m2": Parameter("contact_am_cbd_s_m2", 1e0, 1e8, log=True),
    "contact_am_am_s_m2": Parameter("contact_am_am_s_m2", 1e0, 1e8, log=True),
    # bulk conductivity of the carbon–binder domain (C65 + PVdF, nano-porous) [S/m]
    "sigma_cbd_s_m": Parameter("sigma_cbd_s_m", 0.1, 1e3, log=True),
    # bulk conductivity of NMC111 [S/m] (--am-conductivity constant)
    "sigma_am_s_m": Parameter("sigma_am_s_m", 1e-5, 1e-1, log=True),
    # σ of the fully lithiated NMC111 [S/m] (--am-conductivity lithiation; the law's slope
    # from Amin & Chiang 2016, physics.am_conductivity; their value 1e-5 S/m)
    "sigma_am_lithiated_s_m": Parameter("sigma_am_lithiated_s_m", 1e-7, 1e-3, log=True),
}
DEFAULT_ELECTRONIC_PARAMETERS = ("contact_am_cbd_s_m2", "sigma_cbd_s_m")
#: how σ_eff is computed: on the voxel image, or on the particles' contact network
CONDUCTION_MODELS = ("voxel", "network")
#: the AM's bulk conductivity: one value, or falling with lithiation along the discharge
AM_CONDUCTIVITY_MODELS = ("constant", "lithiation")
_AM_PARAMETER = {"constant": "sigma_am_s_m", "lithiation": "sigma_am_lithiated_s_m"}
_COLUMNS = ("label", "porosity", "thickness_um", "capacity_mah_g", "capacity_sd_mah_g")


def parse_electronic_parameters(spec: str | None) -> tuple[Parameter, ...]:
    """Parameters from 'name[=lo:hi],...' (names of :data:`ELECTRONIC_PARAMETERS`); None
    gives :data:`DEFAULT_ELECTRONIC_PARAMETERS`."""
    from experiments.calibrate_dem import parse_parameters

    return parse_parameters(spec, ELECTRONIC_PARAMETERS, DEFAULT_ELECTRONIC_PARAMETERS)


@dataclass(frozen=True)
class CapacityData:
    """Measured capacities of one electrode at several states (rows of the table).

    Attributes: label per state; porosity [-] (reported, not used by the model: the image
    has its own); thickness_m: electrode thickness of the state [m]; capacity_mah_g and
    capacity_sd_mah_g: measured capacity and its sd [mAh/g AM]; c_rate per state."""

    label: tuple[str, ...]
    porosity: np.ndarray
    thickness_m: np.ndarray
    capacity_mah_g: np.ndarray
    capacity_sd_mah_g: np.ndarray
    c_rate: np.ndarray


def read_capacity_table(path: str | Path) -> CapacityData:
    """A CSV with columns label, porosity, thickness_um, capacity_mah_g, capacity_sd_mah_g
    and optionally c_rate (default 1).  Raises ValueError naming the column and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"capacity table {path} does not exist")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; need "
                             f"{', '.join(_COLUMNS)} (c_rate optional)")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    label, eps, thick, cap, sd, rate = [], [], [], [], [], []
    for line, row in enumerate(rows, start=2):
        label.append(row["label"].strip() or f"row {line}")
        e = _float(row, "porosity", line, path)
        t = _float(row, "thickness_um", line, path)
        c = _float(row, "capacity_mah_g", line, path)
        s = _float(row, "capacity_sd_mah_g", line, path)
        r = _float(row, "c_rate", line, path) if row.get("c_rate") else 1.0
        if not 0 < e < 1:
            raise ValueError(f"{path}:{line}: porosity must lie in (0, 1), got {e}")
        if not 1 <= t <= 5000:
            raise ValueError(f"{path}:{line}: thickness_um must lie in [1, 5000], got {t}")
        if not 0 <= c <= 400:
            raise ValueError(f"{path}:{line}: capacity_mah_g must lie in [0, 400], got {c}")
        if not s > 0:
            raise ValueError(f"{path}:{line}: capacity_sd_mah_g must be > 0, got {s}")
        if not 0.001 <= r <= 100:
            raise ValueError(f"{path}:{line}: c_rate must lie in [0.001, 100], got {r}")
        eps.append(e)
        thick.append(t * 1e-6)
        cap.append(c)
        sd.append(s)
        rate.append(r)
    return CapacityData(tuple(label), np.array(eps), np.array(thick), np.array(cap),
                        np.array(sd), np.array(rate))


# ---------------------------------------------------------------------------- forward model
def _microstructure(structure: str, voxel_um: float):
    """(image with particle ids, AM radii, AM volume shares) of a particle-state file at
    ``voxel_um``; voxelized once per process and file version (a calibration's design
    solves the same few images many times)."""
    stat = Path(structure).stat()
    return _voxelized(str(structure), float(voxel_um), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _voxelized(structure: str, voxel_um: float, _mtime_ns: int, _size: int):
    from physics.state import ParticleState
    from physics.voxel import am_size_classes, voxelize

    state = ParticleState.load(structure)
    radii, shares = am_size_classes(state)
    return voxelize(state, voxel_um, particle_ids=True), radii, shares


def _contact_network(structure: str):
    """The contact network of a particle-state file; built once per process and file
    version, as :func:`_microstructure`."""
    stat = Path(structure).stat()
    return _network(str(structure), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _network(structure: str, _mtime_ns: int, _size: int):
    from physics.conduction import contact_network
    from physics.state import ParticleState

    return contact_network(ParticleState.load(structure))


def _values(theta: dict[str, float], fixed: dict[str, float]) -> dict[str, float]:
    from physics.am_conductivity import NMC111_AMIN2016
    from physics.transport import SIGMA_AM_S_M, SIGMA_CBD_S_M

    return {"contact_am_am_s_m2": math.inf, "contact_am_cbd_s_m2": math.inf,
            "sigma_am_s_m": SIGMA_AM_S_M, "sigma_cbd_s_m": SIGMA_CBD_S_M,
            "sigma_am_lithiated_s_m": NMC111_AMIN2016.sigma_lithiated_s_m} | fixed | theta


def _sigma_eff_s_m(task: dict, sigma_am_s_m: float) -> tuple[float, dict]:
    """σ_eff along z [S/m] of ``task['structure']`` at θ with the AM's bulk conductivity
    ``sigma_am_s_m``, and the solver's extras; ValueError when the solid does not span."""
    from physics.transport import ContactConductance, electronic_conductivity

    v = _values(task["theta"], task["fixed"])
    contact = ContactConductance(v["contact_am_am_s_m2"], v["contact_am_cbd_s_m2"])
    if task.get("conduction", "voxel") == "network":
        from physics.conduction import network_conductivity

        sol = network_conductivity(_contact_network(task["structure"]), sigma_am_s_m,
                                   v["sigma_cbd_s_m"], contact)
        sigma, extra = sol.sigma_eff_s_m, {"current_share": sol.current_share}
    else:
        micro, _, _ = _microstructure(task["structure"], task["voxel_um"])
        sol = electronic_conductivity(micro, "z", sigma_am_s_m=sigma_am_s_m,
                                      sigma_cbd_s_m=v["sigma_cbd_s_m"], contact=contact)["z"]
        sigma, extra = float(sol.k_eff), {"pcg_iterations": int(sol.iterations)}
    if not sol.percolates:
        raise ValueError("the solid does not span the image along z")
    return sigma, extra


def conductivity_run(task: dict) -> dict:
    """One design run (in a worker): σ_eff along z [S/m] of ``task['structure']`` at θ (and
    the fixed values).  With ``task['am_conductivity'] == 'lithiation'`` the run solves
    σ_eff at the lithiation law's σ_AM on the table's stoichiometries
    (:func:`physics.am_conductivity.conductivity_table`) and discharges the P2D of the
    task's state (``thickness_m``, ``c_rate``) with that table: ``capacity_mah_g``;
    ``sigma_eff_s_m`` is then the table's value at the start of discharge.  Status
    'failed' with the error instead of raising."""
    started = time.process_time()
    try:
        v = _values(task["theta"], task["fixed"])
        if task.get("am_conductivity", "constant") == "lithiation":
            from physics.am_conductivity import (
                NMC111_AMIN2016,
                conductivity_table,
                table_conductivity,
                table_log10_points,
            )
            from physics.cell import discharge
            from physics.cell_params import CellParameters

            law = dataclasses.replace(NMC111_AMIN2016,
                                      sigma_lithiated_s_m=v["sigma_am_lithiated_s_m"])
            table = conductivity_table(lambda s_am: _sigma_eff_s_m(task, s_am)[0], law)
            cathode = dataclasses.replace(
                _state_cathode(task["structure"], task["voxel_um"], task["thickness_m"])[0],
                electronic_conductivity_vs_stoichiometry=table)
            cell = discharge(dataclasses.replace(CellParameters(), cathode=cathode),
                             task["c_rate"])
            start = table_conductivity(table_log10_points(table),
                                       cathode.initial_stoichiometry)
            result = {"sigma_eff_s_m": float(start), "sigma_table": [list(r) for r in table],
                      "capacity_mah_g": cell.capacity_final_mah_g}
        else:
            sigma, extra = _sigma_eff_s_m(task, v["sigma_am_s_m"])
            result = {"sigma_eff_s_m": sigma, **extra}
        return {"status": "ok", **task, **result, "cpu_s": time.process_time() - started}
    except Exception as err:  # a failed run is a result, recorded and excluded
        return {"status": "failed", **task, "error": f"{type(err).__name__}: {err}",
                "cpu_s": time.process_time() - started}


def state_cathode(structure: str, voxel_um: float, thickness_m: float):
    """P2D cathode parameters of one imaged state at the measured thickness (σ_eff left at
    the default; the calibration sets it) and the image's transport summary."""
    from physics.cell_params import cathode_from_transport
    from physics.transport import transport_properties

    micro, radii, shares = _microstructure(structure, voxel_um)
    summary = transport_properties(micro, "z", "z", psd=False).summary()
    summary |= {"am_radii_um": list(radii), "am_volume_fractions": list(shares)}
    cathode = cathode_from_transport(summary)
    return dataclasses.replace(cathode, thickness_m=thickness_m), summary


def _state_cathode(structure: str, voxel_um: float, thickness_m: float):
    """:func:`state_cathode`, computed once per process and file version (every design run
    of a state discharges the same structure)."""
    stat = Path(structure).stat()
    return _state_cathode_cached(str(structure), float(voxel_um), float(thickness_m),
                                 stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _state_cathode_cached(structure: str, voxel_um: float, thickness_m: float, _mtime_ns: int,
                          _size: int):
    return state_cathode(structure, voxel_um, thickness_m)


def capacity_curve(cathode, c_rate: float, log10_sigma: np.ndarray = SIGMA_GRID_LOG10,
                   params=None) -> np.ndarray:
    """P2D capacity [mAh/g] of ``cathode`` at ``c_rate`` for each log10 σ_eff [S/m]."""
    from physics.cell import discharge
    from physics.cell_params import CellParameters

    params = params or CellParameters()
    out = []
    for s in log10_sigma:
        p = dataclasses.replace(params, cathode=dataclasses.replace(
            cathode, electronic_conductivity_s_m=float(10 ** s)))
        out.append(float(discharge(p, c_rate).capacity_mah_g[-1]))
    return np.array(out)


class CapacityMap:
    """C(log10 σ_eff): the P2D curve of one state, monotone-cubic in log10 σ (PCHIP; flat
    outside the grid, where the curve is flat)."""

    def __init__(self, log10_sigma: np.ndarray, capacity: np.ndarray):
        from scipy.interpolate import PchipInterpolator

        # the P2D curve is monotone in σ up to solver noise: enforce it before PCHIP
        self.capacity = np.maximum.accumulate(np.asarray(capacity, dtype=float))
        self.log10_sigma = np.asarray(log10_sigma, dtype=float)
        self._f = PchipInterpolator(self.log10_sigma, self.capacity, extrapolate=False)
        self._df = self._f.derivative()

    def __call__(self, log10_sigma) -> tuple[np.ndarray, np.ndarray]:
        """(capacity [mAh/g], dC/dlog10 σ) at log10 σ_eff."""
        x = np.clip(log10_sigma, self.log10_sigma[0], self.log10_sigma[-1])
        inside = (log10_sigma > self.log10_sigma[0]) & (log10_sigma < self.log10_sigma[-1])
        return self._f(x), np.where(inside, self._df(x), 0.0)


class LogParameterEmulator:
    """GP of one output (log10 σ_eff of a film, or a state's capacity on a film) over the
    log10 of the parameters."""

    def __init__(self, parameters: Sequence[Parameter], theta: np.ndarray,
                 values: np.ndarray, output: str):
        from surrogates.gp import GPSurrogate

        self.parameters = tuple(parameters)
        names = tuple(f"log10_{p.name}" for p in self.parameters)
        self.model = GPSurrogate(output, names).fit(
            np.log10(np.atleast_2d(theta)), np.asarray(values, dtype=float))

    def predict(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict(np.log10(np.atleast_2d(np.asarray(theta, dtype=float))))


def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


# ---------------------------------------------------------------------------- the job
def calibrate_electronic(table: str | Path, out_dir: str | Path, *,
                         structures: Sequence[str | Path], parameters: str | None = None,
                         fixed: dict[str, float] | None = None, voxel_um: float = 1.0,
                         conduction: str = "voxel", am_conductivity: str = "constant",
                         n_design: int = 24, refine: int = 0,
                         seed: int = 0,
                         executor: str = "local",
                         workers: int = 1, mcmc_steps: int = 3000,
                         sigma_grid_log10: np.ndarray = SIGMA_GRID_LOG10,
                         experiment: str | None = "calibrate", quiet: bool = False) -> dict:
    """Calibrate the electronic network (module docstring) against the capacities of
    ``table``, one imaged structure per row (``structures``, in row order);
    ``sigma_grid_log10``: the log10 σ_eff [S/m] grid of the P2D capacity curves;
    ``refine``: sequential-design rounds before the final fit (module docstring);
    ``conduction``: σ_eff from the voxel image ('voxel') or the particles' contact network
    ('network', :mod:`physics.conduction`; the image still gives the P2D's structure);
    ``am_conductivity``: the AM's bulk conductivity constant (parameter ``sigma_am_s_m``) or
    falling with lithiation along the discharge ('lithiation', :mod:`physics.am_conductivity`;
    parameter ``sigma_am_lithiated_s_m``): every design run then discharges its state's P2D
    with the σ_eff(θ) table of its structure, and per state a GP emulates the capacity
    itself over the log parameters (no single σ_eff decides it)."""
    from experiments.batch import run_cached_tasks
    from experiments.calibrate_dem import round_point
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import plot_capacity_predictive, plot_marginals, plot_pair_posterior
    from experiments.report import Section, write_report
    from experiments.tracking import job_run
    from optimize.bo import sobol_unit
    from optimize.calibration import calibrate_with_emulator

    if not 4 <= n_design <= 500:
        raise ValueError(f"--design must lie in [4, 500], got {n_design}")
    if not 0 <= refine <= 32:
        raise ValueError(f"--refine must lie in [0, 32], got {refine}")
    if not 0.1 <= voxel_um <= 10:
        raise ValueError(f"--voxel-um must lie in [0.1, 10], got {voxel_um}")
    if conduction not in CONDUCTION_MODELS:
        raise ValueError(f"--conduction {conduction!r} is unknown; allowed: "
                         f"{', '.join(CONDUCTION_MODELS)}")
    if am_conductivity not in AM_CONDUCTIVITY_MODELS:
        raise ValueError(f"--am-conductivity {am_conductivity!r} is unknown; allowed: "
                         f"{', '.join(AM_CONDUCTIVITY_MODELS)}")
    if not 1 <= workers <= 256:
        raise ValueError(f"--workers must lie in [1, 256], got {workers}")
    params = parse_electronic_parameters(parameters)
    names = [p.name for p in params]
    fixed = dict(fixed or {})
    other = _AM_PARAMETER["constant" if am_conductivity == "lithiation" else "lithiation"]
    if other in names or other in fixed:
        raise ValueError(f"{other} belongs to --am-conductivity "
                         f"{'constant' if am_conductivity == 'lithiation' else 'lithiation'}; "
                         f"with {am_conductivity} use {_AM_PARAMETER[am_conductivity]}")
    for name, value in fixed.items():
        if name not in ELECTRONIC_PARAMETERS:
            raise ValueError(f"fixed value for unknown parameter {name!r}; allowed: "
                             f"{', '.join(ELECTRONIC_PARAMETERS)}")
        if name in names:
            raise ValueError(f"{name} is calibrated and fixed at once")
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    data = read_capacity_table(table)
    films = [[str(Path(f.strip())) for f in str(s).split(",") if f.strip()]
             for s in structures]
    if len(films) != len(data.label) or not all(films):
        raise ValueError(f"--structure: need one structure per row of {table} "
                         f"({len(data.label)}: {', '.join(data.label)}), got {len(films)}")
    unique = list(dict.fromkeys(f for row in films for f in row))  # rows may share films
    for f in unique:
        if not Path(f).is_file():
            raise FileNotFoundError(f"structure {f} does not exist")
    hashes = {f: _file_hash(f) for f in unique}
    lo = np.log10([p.lower for p in params])
    hi = np.log10([p.upper for p in params])
    design = 10 ** (lo + (hi - lo) * sobol_unit(len(params), n_design, seed))
    settings = {"table": str(table), "structures": films, "calibrated": names,
                "fixed": fixed, "voxel_um": voxel_um, "conduction": conduction,
                "am_conductivity": am_conductivity, "n_design": n_design, "refine": refine,
                "seed": seed}
    lithiation = am_conductivity == "lithiation"
    # a run per film, or (lithiation: each run discharges its state) per state and film
    slots = [(k, f) for k, row in enumerate(films) for f in row] if lithiation else \
        [(None, f) for f in unique]

    def tasks_at(points: np.ndarray) -> list[dict]:
        tasks = []
        for t in points:
            theta = {n: float(v) for n, v in zip(names, np.round(t, 12), strict=True)}
            for k, f in slots:
                task = {"structure": f, "voxel_um": voxel_um, "fixed": fixed,
                        "conduction": conduction, "theta": theta}
                if lithiation:
                    task |= {"am_conductivity": am_conductivity,
                             "thickness_m": float(data.thickness_m[k]),
                             "c_rate": float(data.c_rate[k]), "state": k}
                tasks.append(task)
        return tasks

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with job_run(experiment, "calibrate-electronic", settings) if experiment else \
            nullcontext() as mlrun:
        # the P2D capacity curve of every state and film (cached: ~40 P2D discharges each)
        from tqdm import tqdm

        maps, summaries = {}, []
        pairs = [(k, f) for k, row in enumerate(films) for f in row]
        for k, f in tqdm(pairs, desc="P2D capacity curves", unit="state",
                         disable=quiet or lithiation):
            if lithiation:  # the runs discharge the P2D themselves: only the image summary
                summaries.append((k, _state_cathode(f, voxel_um,
                                                    float(data.thickness_m[k]))[1]))
                continue
            key = hashlib.sha256(json.dumps(
                [hashes[f], voxel_um, float(data.thickness_m[k]), float(data.c_rate[k]),
                 np.asarray(sigma_grid_log10).tolist()]).encode()).hexdigest()[:20]
            path = out / "capacity_curves" / f"{key}.json"
            if path.is_file():
                curve = json.loads(path.read_text())
            else:
                cathode, summary = state_cathode(f, voxel_um, float(data.thickness_m[k]))
                curve = {"label": data.label[k], "structure": f, "summary": summary,
                         "log10_sigma": np.asarray(sigma_grid_log10).tolist(),
                         "capacity_mah_g": capacity_curve(cathode, float(data.c_rate[k]),
                                                          sigma_grid_log10).tolist()}
                write_json_atomic(path, curve)
            maps[(k, f)] = CapacityMap(np.array(curve["log10_sigma"]),
                                       np.array(curve["capacity_mah_g"]))
            summaries.append((k, curve["summary"]))
        runs = run_cached_tasks(tasks_at(design), out / "conductivity_runs",
                                run=conductivity_run, file_field="structure", hashes=hashes,
                                executor=executor, workers=workers,
                                desc="solves + P2D" if lithiation else "conductivity solves",
                                quiet=quiet)

        def state_capacity(per_film: dict) -> tuple[np.ndarray, np.ndarray]:
            """Per state: the mean capacity over its films, and the sd of that mean (the
            emulators' sd, plus the film-to-film variance / n).  ``per_film[(k, f)]``:
            (capacity, its sd) arrays of state k on film f."""
            mean, var = [], []
            for k in range(len(films)):
                cs = np.array([per_film[(k, f)][0] for f in films[k]])
                parts = np.array([per_film[(k, f)][1] ** 2 for f in films[k]])
                n = len(cs)
                between = cs.var(axis=0, ddof=1) / n if n > 1 else 0.0 * cs[0]
                mean.append(cs.mean(axis=0))
                var.append(parts.sum(axis=0) / n ** 2 + between)
            return np.column_stack(mean), np.sqrt(np.column_stack(var))

        def through_maps(log10_sigma: dict, sd: dict | None = None) -> dict:
            """Capacities through each state's P2D curve, the emulators' sd through its
            slope."""
            out_ = {}
            for (k, f), cmap in maps.items():
                c, slope = cmap(log10_sigma[f])
                out_[(k, f)] = (c, np.abs(slope) * sd[f] if sd is not None else 0.0 * c)
            return out_

        def fit(training: list[dict]):
            """Emulators on the finished runs, and the posterior through them."""
            emulators = {}
            for k, f in slots:
                mine = [r for r in training if r["structure"] == f
                        and (not lithiation or r["state"] == k)]
                ok = [r for r in mine if r["status"] == "ok" and r["sigma_eff_s_m"] > 0]
                if len(ok) < 4:
                    bad = [r for r in mine if r["status"] != "ok"]
                    raise RuntimeError(f"{f}: only {len(ok)} design runs finished; "
                                       f"first error: {bad[0]['error'] if bad else '-'}")
                theta = np.array([[r["theta"][n] for n in names] for r in ok])
                emulators[(k, f)] = LogParameterEmulator(
                    params, theta, np.array([r["capacity_mah_g"] for r in ok]),
                    f"capacity[{data.label[k]}, {Path(f).name}]") if lithiation else \
                    LogParameterEmulator(params, theta,
                                         np.log10([r["sigma_eff_s_m"] for r in ok]),
                                         f"log10_sigma_eff[{Path(f).name}]")

            def predict(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                at = {key: em.predict(theta) for key, em in emulators.items()}
                if lithiation:
                    return state_capacity(at)
                return state_capacity(through_maps({f: v[0] for (_, f), v in at.items()},
                                                   {f: v[1] for (_, f), v in at.items()}))

            return predict, calibrate_with_emulator(
                predict, data.capacity_mah_g, data.capacity_sd_mah_g, params,
                steps=mcmc_steps, seed=seed)

        def full_model(point: dict) -> tuple[list[dict], dict, np.ndarray, np.ndarray]:
            """Runs at one θ on every film (cached), σ_eff per film (at the start of
            discharge), and the states' capacities (mean over films) with their
            film-to-film sd of the mean."""
            solved = run_cached_tasks(tasks_at(np.array([[point[n] for n in names]])),
                                      out / "conductivity_runs", run=conductivity_run,
                                      file_field="structure", hashes=hashes, quiet=True)
            sig = {r["structure"]: r.get("sigma_eff_s_m", math.nan) for r in solved}
            if lithiation:
                per_film = {(r["state"], r["structure"]): (
                    np.array([r.get("capacity_mah_g", math.nan)]), np.zeros(1))
                    for r in solved}
            else:
                per_film = through_maps({f: np.array([math.log10(v) if v > 0 else -np.inf])
                                         for f, v in sig.items()})
            cap, cap_sd = state_capacity(per_film)
            return solved, sig, cap[0], cap_sd[0]

        # sequential design: each round runs the full model at the highest-posterior draw
        # and at the posterior draw where the emulators are least certain against the data
        # (max Σ s_i²/σ_i² over 400 draws), both from one fit; the points are recorded
        # before they run, so a resumed job redoes none
        rounds = []
        for k in range(refine):
            fitted: dict = {}

            def fitted_now(fitted=fitted, training=runs) -> dict:
                if not fitted:
                    fitted["predict"], fitted["post"] = fit(training)
                return fitted

            def least_certain(fitted=fitted, k=k) -> dict[str, float]:
                f = fitted_now(fitted)
                draws = f["post"].sample(400, seed + 1 + k)
                theta = np.column_stack([draws[n] for n in names])
                _, sd = f["predict"](theta)
                j = int(np.argmax(np.sum((sd / data.capacity_sd_mah_g) ** 2, axis=1)))
                return {n: float(theta[j, i]) for i, n in enumerate(names)}

            point = round_point(out / "refinement_points.json", k, names,
                                lambda fitted=fitted: fitted_now(fitted)["post"].best())
            explore = round_point(out / "exploration_points.json", k, names, least_certain)
            for kind, at in (("highest-posterior", point), ("least certain", explore)):
                solved, _, cap, _ = full_model(at)
                runs += solved
                rounds.append({"round": k + 1, "point": kind, "map": at,
                               "capacity_mah_g": cap.tolist(),
                               "max_abs_error_mah_g": float(np.max(np.abs(
                                   cap - data.capacity_mah_g)))})
        predict, post = fit(runs)
        marginals = post.marginals()
        best = post.best()
        draws = post.sample(PREDICTIVE_DRAWS, seed)
        at_draws, _ = predict(np.column_stack([draws[n] for n in names]))
        band = np.percentile(at_draws, [2.5, 50, 97.5], axis=0)
        # the full forward model (solve + P2D) at the highest-posterior draw
        _, sigma_at, full, full_sd = full_model(best)
        rows = []
        for k, row in enumerate(films):
            rows.append({"state": data.label[k], "films": len(row),
                         "image_porosity": float(np.mean([sm["porosity"] for j, sm in summaries
                                                          if j == k])),
                         "measured_porosity": float(data.porosity[k]),
                         "thickness_um": float(1e6 * data.thickness_m[k]),
                         "sigma_eff_s_m": float(np.mean([sigma_at[f] for f in row])),
                         "capacity_mah_g": float(full[k]),
                         "film_sd_mah_g": float(full_sd[k] * math.sqrt(len(row))),
                         "measured_mah_g": float(data.capacity_mah_g[k]),
                         "measured_sd_mah_g": float(data.capacity_sd_mah_g[k]),
                         "predictive_median": float(band[1, k]),
                         "predictive_lo95": float(band[0, k]),
                         "predictive_hi95": float(band[2, k])})
        failed = [r for r in runs if r["status"] != "ok"]
        summary = {"job": "calibrate", "target": "electronic",
                   "parameters": {n: m.summary() for n, m in marginals.items()},
                   "map": best, "mcmc": {"acceptance": post.acceptance,
                                         "autocorr_steps": list(post.autocorr_steps),
                                         "draws": len(post.samples)},
                   "states": rows, "design_runs": n_design * len(slots),
                   "solves": len(runs), "refinement_rounds": rounds,
                   "failed_runs": [{"theta": r["theta"], "structure": r["structure"],
                                    "error": r["error"]} for r in failed],
                   "solve_cpu_s": float(sum(r.get("cpu_s", 0.0) for r in runs)), **settings}
        write_csv_atomic(out / "design.csv", [
            {**r["theta"], "structure": Path(r["structure"]).name,
             "sigma_eff_s_m": r.get("sigma_eff_s_m", math.nan),
             **({"state": data.label[r["state"]],
                 "capacity_mah_g": r.get("capacity_mah_g", math.nan)} if lithiation else {})}
            for r in runs])
        write_csv_atomic(out / "posterior_samples.csv", [
            dict(zip(names, row.tolist(), strict=True)) for row in post.samples[::10]])
        plots = [plot_marginals(marginals, out / "posterior.png").name,
                 plot_pair_posterior(post, out / "posterior_pairs.png", design).name,
                 plot_capacity_predictive(rows, out / "posterior_predictive.png").name]
        law_note = (", σ_eff along each discharge from the NMC111 law of Amin & Chiang 2016"
                    if lithiation else "")
        text = "; ".join(f"{n} = {m.mean:.3g} [{m.lower:.3g}, {m.upper:.3g}]"
                         for n, m in marginals.items())
        text = (f"Posterior mean and 95 % credible interval: {text}.  Highest-posterior "
                f"draw: {', '.join(f'{n} = {v:.3g}' for n, v in best.items())}.  "
                f"{len(runs)} {'design runs' if lithiation else 'conductivity solves'} "
                f"({len(failed)} failed) on {len(unique)} structure(s) ({conduction} "
                f"conduction; images at {voxel_um:g} µm; AM conductivity {am_conductivity}"
                f"{law_note}); MCMC acceptance {post.acceptance:.2f}.  "
                "The table's capacities at the highest-posterior draw come from the full "
                "forward model (conductivity solve + P2D), the band from the emulator.")
        if any(m.at_prior_edge for m in marginals.values()):
            text += ("\n\n**Note:** a credible interval touches its prior bound ("
                     + ", ".join(n for n, m in marginals.items() if m.at_prior_edge)
                     + "): the data do not pin it inside the box.")
        write_report(out, "Electronic-limit calibration", [
            Section("Result", text, table=[{"parameter": n, **m.summary()}
                                           for n, m in marginals.items()], plots=plots),
            Section("States", "Measured against the forward model at the highest-posterior "
                    "draw.", table=rows),
            *([Section("Sequential refinement", "Each round fits the emulators, runs the "
                       "full model on every film at the highest-posterior draw and at the "
                       "posterior draw where the emulators are least certain against the "
                       "data, and adds those runs to the training set.",
                       table=[{"round": r["round"], "point": r["point"], **r["map"],
                               **{f"capacity[{lab}]": c for lab, c in
                                  zip(data.label, r["capacity_mah_g"], strict=True)},
                               "max_abs_error_mah_g": r["max_abs_error_mah_g"]}
                              for r in rounds])] if rounds else [])])
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            mlrun.log_metrics({f"{n}.{k}": float(v) for n, m in marginals.items()
                               for k, v in m.summary().items() if k != "at_prior_edge"})
            mlrun.log_artifacts(str(out))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary
