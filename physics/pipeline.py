"""The high-fidelity chain: slurry → drying → calendering → voxel transport → half cell, and
the calendered film's small-strain stiffness.

:func:`simulate` takes the process inputs in engineering units (:class:`ProcessInputs`), a
fidelity tier and a seed, and returns one :class:`RunResult`.  Each stage is a pure function of
its inputs, so it is cached on disk under a content hash of them (:class:`StageCache`): a
dried electrode is reused by every calendering setting of the same recipe, a calendered one by
every cell setting.  The stage keys hold a version number per stage (``STAGE_VERSIONS``), bumped
whenever a stage's physics changes, so that a cache never serves results of older code.

How the inputs enter the physics:
- ``solid_content`` and ``am_mass_fraction`` make the recipe (carbon and binder share the rest
  equally, as the paper's 96:2:2); the slurry and drying stage (CGMD) builds the film from it.
- ``pressure_mpa``, ``temperature_c`` and ``line_speed_m_min`` are the calender's (DEM): the
  temperature and the Deborah number of the nip act through the binder law
  (:class:`physics.calender.BinderRheology`).  ``am_young_modulus_gpa`` is the AM's modulus
  in the DEM; ``am_fracture_strength_mpa`` only reads the calendered result: the share of AM
  particles whose largest contact stress at maximum pressure exceeds it
  (:func:`physics.calender.am_contact_stress_mpa`) is ``fractured_fraction``.
- The simulated column is a representative volume: porosity, tortuosity, conductivity, surface
  area and size classes are intensive and come from it.  ``coating_thickness_um`` is the dry
  coating before calendering; the cell's cathode is that thickness times the column's
  calendered/dried thickness ratio.

Fidelity tiers (:data:`FIDELITY_N_AM`, :data:`FIDELITY_VOXEL_UM`,
:func:`calender_protocol`): the same model at ``ci`` (80 AM particles, 0.5 µm voxels, the
press at twice the plane-speed floor: minutes, tests), ``fast`` (200, 0.25 µm) and ``paper``
(396, 0.25 µm, the paper's column).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from physics.fidelity import FIDELITY_N_AM, FIDELITY_VOXEL_UM, check_fidelity

STAGES = ("dry", "calender", "transport", "stiffness", "cell")
STAGE_VERSIONS = {"dry": 2, "calender": 3, "transport": 2, "cell": 3, "cell3d": 2,
                  "stiffness": 1}
CELL_MODELS = ("p2d", "3d")
STACK_PRESSURE_MPA = 0.1  # platen pressure of the stiffness stage (a cell's stack pressure)
CELL3D_VOXEL_UM = 1.0  # voxel of the 3-D cell stage (0.5 µm: ~8x the unknowns, ~15x the time)
DEFAULT_CACHE_DIR = "etwin_cache"


def _check(name: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} = {value!r} is outside the allowed range [{lo}, {hi}]")


INPUT_RANGES = {"pressure_mpa": (0.1, 500.0), "temperature_c": (0.0, 150.0),
                "line_speed_m_min": (0.01, 200.0), "solid_content": (0.5, 0.8),
                "am_mass_fraction": (0.8, 0.98), "coating_thickness_um": (20.0, 500.0),
                "am_young_modulus_gpa": (1.0, 1000.0), "am_fracture_strength_mpa": (1.0, 1e4)}
#: Active-material presets (modulus [GPa], crushing strength [MPa], Hiramatsu–Oka form).
#: NMC: Table 2's 200 GPa; single secondary-particle compression tests of NMC give crushing
#: strengths of ~100-250 MPa, 150 MPa taken here.  A graphite-like anode material: ~15 GPa
#: (particle-scale modulus of natural and synthetic graphite, 10-35 GPa) and ~40 MPa (weaker,
#: flake-built particles).  Both strengths are assumptions of this model; pass measured
#: values as process inputs.


@dataclass(frozen=True)
class ProcessInputs:
    """Process inputs of one simulation, in engineering units.

    Attributes:
        pressure_mpa: maximum calendering pressure [MPa], in [0.1, 500].
        temperature_c: roll temperature [°C], in [0, 150] (the binder law's range).
        line_speed_m_min: line speed [m/min], in [0.01, 200].
        solid_content: slurry solids mass fraction [-], in [0.5, 0.8] (paper 0.69).
        am_mass_fraction: AM share of the dry solids [-], in [0.8, 0.98] (paper 0.96); carbon
            and binder share the rest equally.
        coating_thickness_um: dry coating thickness before calendering [µm], in [20, 500]
            (paper 165).
        am_young_modulus_gpa: Young's modulus of the active material in the calender [GPa],
            in [1, 1000] (NMC 200; a material set's, :mod:`physics.material_sets`).
        am_fracture_strength_mpa: crushing strength of the AM particles [MPa], in [1, 1e4]
            (NMC 150); particles whose contact stress at maximum pressure exceeds it count as
            fractured (``fractured_fraction``).
    """

    pressure_mpa: float = 20.0
    temperature_c: float = 60.0
    line_speed_m_min: float = 0.54
    solid_content: float = 0.69
    am_mass_fraction: float = 0.96
    coating_thickness_um: float = 165.0
    am_young_modulus_gpa: float = 200.0
    am_fracture_strength_mpa: float = 150.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in INPUT_RANGES.items():
            value = getattr(self, name)
            _check(name, value, lo, hi)
            object.__setattr__(self, name, float(value))  # 20 and 20.0 hash alike

    @classmethod
    def from_dict(cls, data: dict) -> ProcessInputs:
        """From a mapping of input names to numbers; unknown names are an error."""
        names = [f.name for f in fields(cls)]
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"unknown process inputs {sorted(unknown)}; allowed: {names}")
        try:
            values = {k: float(v) for k, v in data.items()}
        except (TypeError, ValueError) as err:
            raise ValueError(f"process inputs must be numbers ({err})") from None
        return cls(**values)

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def recipe(self, materials=None):
        """The recipe at these inputs: the paper's (carbon and binder sharing the rest
        equally), or a material set's (:class:`physics.material_sets.MaterialSet`)."""
        from physics.materials import paper_recipe

        if materials is not None:
            return materials.recipe(self.am_mass_fraction, self.solid_content)
        rest = 1.0 - self.am_mass_fraction
        return replace(paper_recipe(), am_mass_fraction=self.am_mass_fraction,
                       carbon_mass_fraction=rest / 2, binder_mass_fraction=rest / 2,
                       solid_content=self.solid_content)

    def conditions(self, materials=None):
        """The calender conditions at these inputs, with Table 2's materials or a material
        set's (the AM modulus always the input's)."""
        from physics.calender import ProcessConditions

        process = dict(temperature_c=self.temperature_c,
                       line_speed_m_min=self.line_speed_m_min)
        if materials is None:
            return ProcessConditions(am_young_modulus_gpa=self.am_young_modulus_gpa, **process)
        return replace(materials.calender_conditions(**process),
                       am_young_modulus_gpa=self.am_young_modulus_gpa)


def check_c_rates(c_rates) -> tuple[float, ...]:
    rates = tuple(float(c) for c in c_rates)
    if not rates:
        raise ValueError("c_rates: give at least one C-rate")
    for c in rates:
        _check("c_rate", c, 0.001, 100.0)
    return tuple(sorted(set(rates)))


def check_cell_model(cell_model: str) -> str:
    if cell_model not in CELL_MODELS:
        raise ValueError(f"cell_model = {cell_model!r}; allowed: {', '.join(CELL_MODELS)}")
    return cell_model


def point_key(inputs: ProcessInputs, fidelity: str, seed: int,
              c_rates: tuple[float, ...], cell_model: str = "p2d", materials=None) -> str:
    """Hash of everything that defines one simulation (inputs, fidelity, seed, C-rates, the
    cell model, the material set and the stage versions): equal keys mean the same result.
    The P2D cell model and Table 2's materials, the defaults, are left out of the hash, so
    their keys predate the options."""
    data = {"inputs": inputs.to_dict(), "fidelity": fidelity, "seed": int(seed),
            "c_rates": list(c_rates),
            "versions": {k: v for k, v in STAGE_VERSIONS.items() if k != "cell3d"}}
    if check_cell_model(cell_model) != "p2d":
        data.update({"cell_model": cell_model, "cell3d_version": STAGE_VERSIONS["cell3d"]})
    if materials is not None:
        data["materials"] = materials.digest()
    return content_hash(data)


def content_hash(data) -> str:
    """SHA-256 (first 20 hex digits) of the canonical JSON of ``data``."""
    text = json.dumps(data, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _jsonable(value):
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


# ------------------------------------------------------------------------------- cache
class StageCache:
    """Stage results on disk: ``root/<stage>/<hash>/`` holds ``result.json`` and the stage's
    files.  An entry appears whole or not at all (written in a temporary directory, then
    renamed), so a crash never leaves a half entry; two processes computing the same entry
    both finish, the first rename wins.  An entry records ``compute_s``, the seconds from the
    stage's cache miss to its storing; ``recorded`` holds it per stage read from the cache
    (None for an entry written before it was recorded)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or os.environ.get("ETWIN_CACHE_DIR", DEFAULT_CACHE_DIR))
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"cache_dir {str(self.root)!r} is a file; give a directory "
                             "(created if missing)")
        self.recorded: dict[str, float | None] = {}
        self._missed: dict[str, float] = {}

    def entry(self, stage: str, key: dict) -> Path:
        return self.root / stage / content_hash({"stage": stage,
                                                 "version": STAGE_VERSIONS[stage], **key})

    def load(self, stage: str, key: dict) -> tuple[Path, dict] | None:
        path = self.entry(stage, key)
        try:
            result = json.loads((path / "result.json").read_text())
        except (OSError, json.JSONDecodeError):
            self._missed[stage] = time.perf_counter()
            return None
        self.recorded[stage] = result.get("compute_s")
        return path, result

    def store(self, stage: str, key: dict, result: dict,
              write_files: Callable[[Path], None] | None = None) -> Path:
        path = self.entry(stage, key)
        started = self._missed.pop(stage, None)
        if started is not None:
            result = {**result, "compute_s": time.perf_counter() - started}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        try:
            if write_files is not None:
                write_files(tmp)
            (tmp / "result.json").write_text(json.dumps({"key": key, **result},
                                                        default=_jsonable, indent=1))
            try:
                os.rename(tmp, path)
            except OSError:  # another process stored it first: keep theirs
                if not (path / "result.json").is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return path


# ------------------------------------------------------------------------------ result
#: The per-run scalar outputs of :meth:`RunResult.metrics` (besides the per-C-rate ones and
#: the wall times): what a problem file may name as an objective or constraint.
SCALAR_OUTPUTS = ("porosity", "porosity_particles", "porosity_dried", "thickness_column_um",
                  "electrode_thickness_um", "springback_percent", "inertial_number",
                  "floor_speed_at_target", "deborah_number", "tau_x", "tau_y", "tau_z",
                  "sigma_eff_s_m", "surface_area_per_volume_um", "r_ion_ohm_cm2", "tau_eis",
                  "am_stress_p95_mpa", "am_stress_max_mpa", "fractured_fraction",
                  "tau_z_over_tau_x", "stiffness_xx_mpa", "stiffness_yy_mpa",
                  "stiffness_zz_mpa", "young_modulus_x_mpa", "young_modulus_y_mpa",
                  "young_modulus_z_mpa")


def capacity_output(c_rate: float) -> str:
    """Name of the discharge capacity output at ``c_rate`` [mAh/g AM], e.g. capacity_1C_mah_g."""
    return f"capacity_{c_rate:g}C_mah_g"


def tau_anisotropy(transport: dict) -> float:
    """τ_z / ((τ_x + τ_y)/2) [-] of a transport summary: the through-plane tortuosity factor
    over the in-plane mean (x and y are alike: the press is a plane); NaN where one is not
    finite (a pore network that does not percolate)."""
    tau = [float("nan") if transport.get(f"tau_{a}") is None else float(transport[f"tau_{a}"])
           for a in "xyz"]
    if not all(math.isfinite(v) and v > 0 for v in tau):
        return float("nan")
    return tau[2] / (0.5 * (tau[0] + tau[1]))


#: the surrogates' default targets (``etwin train`` without --outputs)
SURROGATE_OUTPUTS = ("porosity", "tau_x", "tau_y", "tau_z", capacity_output(1.0),
                     "r_ion_ohm_cm2")
#: the columns of ``etwin sweep``'s table
SUMMARY_OUTPUTS = ("porosity", "tau_z", "sigma_eff_s_m", capacity_output(1.0), "tau_eis",
                   "tau_z_over_tau_x", "stiffness_zz_mpa")


@dataclass(frozen=True)
class RunResult:
    """One simulation: structure, transport and cell outputs, time per stage.

    Attributes (units in the names): ``porosity`` is the voxel porosity of the calendered
    film between its exact bounds (the top voxel layer by its share inside the film,
    :func:`physics.voxel.film_phase_fractions`; its transport image's own pore fraction is
    ``transport["porosity_image"]``), ``porosity_particles`` the particle porosity after
    spring-back (sphere volumes, overlaps ignored); ``floor_speed_at_target`` is 1.0 when
    the roll reached the target pressure at the floor plane speed
    (:class:`physics.calender.PressPoint`), 0.0 when not and NaN for a calender stage
    cached before that reading existed; ``tau_z_over_tau_x`` is the anisotropy of the
    pore network, τ_z over the in-plane mean (τ_x + τ_y)/2 (x and y are statistically alike:
    the press is a plane); ``stiffness_<ii>_mpa`` are the diagonal of the calendered film's
    small-strain tangent stiffness under uniaxial strain along x, y, z and
    ``young_modulus_<i>_mpa`` its orthotropic Young's moduli (the film between the Al floor
    and the roll at a 0.1 MPa stack pressure, :func:`_stiffness`; ``mechanics`` holds the
    whole test: the normal block, Poisson ratios, linearity, cost);
    ``capacity_mah_g`` maps each C-rate to the
    discharge capacity per gram of AM and ``areal_capacity_mah_cm2`` to the capacity per
    electrode area; ``wall_s`` and ``cache_hit`` are per stage, and ``compute_s`` the
    seconds each stage took when it was computed (its ``wall_s`` where computed here, the
    cache's record where read from it, None where the cache holds none).  ``curves`` holds
    the discharge curves, the blocking spectrum and the press trace; ``structure_path`` the
    calendered structure (.npz); ``transport`` the voxel transport result (``etwin
    transport`` metrics).
    """

    inputs: ProcessInputs
    fidelity: str
    seed: int
    key: str
    porosity: float
    porosity_particles: float
    porosity_dried: float
    thickness_column_um: float
    electrode_thickness_um: float
    springback_percent: float
    inertial_number: float
    floor_speed_at_target: float
    deborah_number: float
    tau_x: float
    tau_y: float
    tau_z: float
    sigma_eff_s_m: float
    surface_area_per_volume_um: float
    capacity_mah_g: dict[float, float]
    areal_capacity_mah_cm2: dict[float, float]
    mean_voltage_v: dict[float, float]
    r_ion_ohm_cm2: float
    tau_eis: float
    am_stress_p95_mpa: float
    am_stress_max_mpa: float
    fractured_fraction: float
    tau_z_over_tau_x: float
    stiffness_xx_mpa: float
    stiffness_yy_mpa: float
    stiffness_zz_mpa: float
    young_modulus_x_mpa: float
    young_modulus_y_mpa: float
    young_modulus_z_mpa: float
    wall_s: dict[str, float]
    cache_hit: dict[str, bool]
    structure_path: str = ""
    compute_s: dict[str, float | None] = field(default_factory=dict)
    cell_model: str = "p2d"
    curves: dict = field(default_factory=dict, repr=False)
    transport: dict = field(default_factory=dict, repr=False)
    mechanics: dict = field(default_factory=dict, repr=False)

    def metrics(self) -> dict[str, float]:
        """Flat numeric outputs (MLflow metrics, dataset columns)."""
        out = {name: float(getattr(self, name)) for name in SCALAR_OUTPUTS}
        for rate, cap in self.capacity_mah_g.items():
            out[capacity_output(rate)] = float(cap)
            out[f"areal_capacity_{rate:g}C_mah_cm2"] = float(self.areal_capacity_mah_cm2[rate])
            out[f"mean_voltage_{rate:g}C_v"] = float(self.mean_voltage_v[rate])
        for stage in (*STAGES, "cell3d") if "cell3d" in self.wall_s else STAGES:
            out[f"wall_{stage}_s"] = float(self.wall_s.get(stage, 0.0))
        out["wall_total_s"] = float(sum(self.wall_s.values()))
        return out

    def summary(self) -> dict:
        return {"key": self.key, "fidelity": self.fidelity, "seed": self.seed,
                "cell_model": self.cell_model, "inputs": self.inputs.to_dict(), **self.metrics(),
                "cache_hit": dict(self.cache_hit), "structure_path": self.structure_path}


# ------------------------------------------------------------------------------ stages
def dry_stage_key(inputs: ProcessInputs, fidelity: str, seed: int, materials=None) -> dict:
    """The stage-cache key of the dry stage: recipe (of the material set, if any), film size,
    seed and drying protocol (the fields a dried film's ``meta`` records)."""
    from physics.slurry import DryingProtocol

    return {"recipe": asdict(inputs.recipe(materials)), "n_am": FIDELITY_N_AM[fidelity],
            "seed": int(seed), "protocol": asdict(DryingProtocol())}


def _dry(cache: StageCache, inputs: ProcessInputs, fidelity: str, seed: int, note, detail,
         materials=None):
    from physics.slurry import dry_electrode
    from physics.state import ParticleState

    key = dry_stage_key(inputs, fidelity, seed, materials)
    hit = cache.load("dry", key)
    if hit is None:
        note("dry", f"slurry + drying, {FIDELITY_N_AM[fidelity]} AM particles")
        res = dry_electrode(inputs.recipe(materials), FIDELITY_N_AM[fidelity], seed=seed,
                            progress=lambda row: detail("dry", row))
        path = cache.store("dry", key, {"metrics": res.to_metrics()},
                           lambda d: res.dried.save(d / "dried.npz"))
        hit = (path, {"metrics": res.to_metrics()})
        cached = False
    else:
        note("dry", "cache hit")
        cached = True
    return key, ParticleState.load(hit[0] / "dried.npz"), hit[1], cached


def dry_stage(inputs: ProcessInputs, fidelity: str, seed: int = 0,
              cache_dir: str | Path | None = None,
              note: Callable[[str, str], None] | None = None, materials=None) -> bool:
    """Run (or find in the cache) the dry stage of ``inputs`` alone, so that parallel
    simulations of one recipe find their dried film cached; True if it was cached."""
    check_fidelity(fidelity)
    *_, cached = _dry(StageCache(cache_dir), inputs, fidelity, int(seed),
                      note or (lambda stage, message: None), lambda stage, row: None,
                      materials)
    return cached


def calender_protocol(fidelity: str):
    """The calender stage's press protocol at a tier: the quasi-static default, and at ``ci``
    twice its plane-speed floor and inertial number (0.4 m/s, I = 2e-3).  On the versioned
    ``ci`` film a 20 MPa stage then takes 55 instead of 98 CPU s and ends at 30.65 instead of
    29.43 % porosity; a 2/20/100 MPa curve moves by +0.05, +0.13 and -0.84 points
    (docs/pipeline.md).  ``ci`` is the tier for tests and quick looks (its 80-AM film already
    sits ~3 points above the larger films' floor); ``fast`` and ``paper`` keep the default."""
    from physics.calender import CalenderProtocol

    check_fidelity(fidelity)
    if fidelity == "ci":
        return CalenderProtocol(min_plane_speed_m_s=0.4, inertial_number=2e-3)
    return CalenderProtocol()


def _calender(cache: StageCache, dry_key: dict, dried, inputs: ProcessInputs, fidelity: str,
              note, detail, materials=None):
    from physics.calender import calender
    from physics.state import ParticleState

    conditions = inputs.conditions(materials)
    protocol = calender_protocol(fidelity)
    key = {"dried": content_hash(dry_key), "pressure_mpa": inputs.pressure_mpa,
           "conditions": asdict(conditions), "protocol": asdict(protocol)}
    hit = cache.load("calender", key)
    if hit is None:
        note("calender", f"{inputs.pressure_mpa:g} MPa, {inputs.temperature_c:g} °C, "
                         f"{inputs.line_speed_m_min:g} m/min")
        res = calender(dried, [inputs.pressure_mpa], conditions, protocol,
                       progress=lambda row: detail("calender", row))
        point = res.points[0]
        result = {"point": point.summary(), "thickness_dried_um": res.initial.thickness_um,
                  "am_contact_stress_mpa": point.am_contact_stress_mpa.tolist(),
                  "porosity_dried": res.initial.porosity, "trace": res.trace,
                  "steps": res.steps, "particle_steps_per_s": res.particle_steps_per_s}
        path = cache.store("calender", key, result,
                           lambda d: point.state.save(d / "calendered.npz"))
        hit, cached = (path, result), False
    else:
        note("calender", "cache hit")
        cached = True
    path = hit[0] / "calendered.npz"
    return key, ParticleState.load(path), hit[1], cached, str(path)


def _transport(cache: StageCache, calender_key: dict, calendered, fidelity: str, note,
               materials=None):
    from physics.transport import SIGMA_AM_S_M, SolverSettings, film_summary, transport_properties
    from physics.voxel import am_size_classes, film_phase_fractions, voxelize

    settings = SolverSettings()
    key = {"calendered": content_hash(calender_key), "voxel_um": FIDELITY_VOXEL_UM[fidelity],
           "settings": asdict(settings)}
    sigma_am = SIGMA_AM_S_M
    if materials is not None:  # keys without a material set predate the option
        sigma_am = materials.value("electrochemistry", "electronic_conductivity")
        key["sigma_am_s_m"] = sigma_am
    hit = cache.load("transport", key)
    if hit is None:
        note("transport", f"voxels of {FIDELITY_VOXEL_UM[fidelity]} µm, τ x/y/z and σ_z")
        micro = voxelize(calendered, FIDELITY_VOXEL_UM[fidelity])
        props = transport_properties(micro, directions="xyz", conduction_directions="z",
                                     psd=False, settings=settings, sigma_am_s_m=sigma_am)
        radii, shares = am_size_classes(calendered)
        film = film_phase_fractions(calendered, FIDELITY_VOXEL_UM[fidelity])
        summary = {**film_summary(props.summary(), film), "am_radii_um": list(radii),
                   "am_volume_fractions": list(shares)}
        path = cache.store("transport", key, {"summary": summary})
        hit, cached = (path, {"summary": summary}), False
    else:
        note("transport", "cache hit")
        cached = True
    return key, hit[1]["summary"], cached


def _stiffness(cache: StageCache, calender_key: dict, calendered, inputs: ProcessInputs,
               fidelity: str, note, materials=None) -> tuple[dict, bool]:
    """The small-strain stiffness of the calendered film (``physics.calender.stiffness``):
    the film between the Al floor and the roll, with the calender's contact law and time
    step, pressed to a stack pressure of ``STACK_PRESSURE_MPA`` (at most half the calendering
    pressure, so that the platen does not calender the film further); cached by the
    calendered structure and the test settings.  A film that does not reach the stack
    pressure gets NaN moduli and the reason under ``error``."""
    from physics.calender.stiffness import AXES, StiffnessTest, film_stiffness

    test = StiffnessTest(preload_mpa=min(STACK_PRESSURE_MPA, 0.5 * inputs.pressure_mpa))
    key = {"calendered": content_hash(calender_key), "test": asdict(test)}
    hit = cache.load("stiffness", key)
    if hit is not None:
        note("stiffness", "cache hit")
        return hit[1]["summary"], True
    note("stiffness", f"strain probe ±{test.strain:g} along x, y, z at "
                      f"{test.preload_mpa:g} MPa")
    try:
        summary = film_stiffness(calendered, inputs.conditions(materials), test,
                                 calender_protocol(fidelity)).summary()
    except RuntimeError as err:  # deterministic: cached as such
        summary = {**{f"stiffness_{a}{b}_mpa": math.nan for a in AXES for b in AXES},
                   **{f"young_modulus_{a}_mpa": math.nan for a in AXES}, "error": str(err)}
    cache.store("stiffness", key, {"summary": summary})
    return summary, False


def _cell(cache: StageCache, transport_key: dict, summary: dict, thickness_m: float,
          c_rates: tuple[float, ...], note, materials=None):
    from physics.cell import active_mass_kg_m2, discharge
    from physics.cell_params import CellParameters, cathode_from_transport
    from physics.impedance import cell_tau_eis

    base = CellParameters() if materials is None else materials.cell_parameters()
    cathode = replace(cathode_from_transport(summary, base.cathode), thickness_m=thickness_m)
    params = replace(base, cathode=cathode)
    key = {"transport": content_hash(transport_key), "params": asdict(params),
           "c_rates": list(c_rates)}
    hit = cache.load("cell", key)
    if hit is not None:
        note("cell", "cache hit")
        return hit[1], True
    note("cell", f"{thickness_m * 1e6:.1f} µm cathode, {', '.join(f'{c:g}C' for c in c_rates)}"
                 f" discharge and blocking impedance")
    result: dict = {"discharge": {}, "active_mass_g_m2": 1e3 * active_mass_kg_m2(params)}
    for rate in c_rates:
        d = discharge(params, c_rate=rate)
        result["discharge"][f"{rate:g}"] = {
            "capacity_mah_g": d.capacity_final_mah_g, "mean_voltage_v": d.mean_voltage_v,
            "energy_wh_kg": d.energy_wh_kg, "end_reason": d.end_reason,
            "time_s": d.time_s.tolist(),
            "capacity_curve_mah_g": d.capacity_mah_g.tolist(), "voltage_v": d.voltage_v.tolist()}
    eis = cell_tau_eis(params)
    result.update({
        "r_ion_ohm_m2": eis.r_ion_ohm_m2, "tau_eis": eis.tau_eis,
        "impedance": {"frequency_hz": eis.frequency_hz.tolist(),
                      "re_ohm_m2": eis.z_ohm_m2.real.tolist(),
                      "im_ohm_m2": eis.z_ohm_m2.imag.tolist()}})
    cache.store("cell", key, result)
    return result, False


def _cell3d(cache: StageCache, calender_key: dict, calendered, c_rates: tuple[float, ...],
            note, materials=None) -> tuple[dict, bool]:
    """The particle-resolved 3-D half cell (physics/cell3d.py) on the calendered film as
    imaged at ``CELL3D_VOXEL_UM``: one discharge per C-rate, in the P2D stage's format plus
    the Fig. 7C observables at half depth of discharge, and the image's AM loading
    [g/m²]; and the 3-D blocking impedance of the same image (physics/impedance3d.py) with
    its τ_EIS beside the voxel τ_z (``eis3d``).  The film is the simulated one, so capacity
    and loading are those of its own thickness (the P2D stage scales to the coating's)."""
    from physics.cell3d import discharge_3d
    from physics.cell_params import CellParameters
    from physics.impedance3d import blocking_impedance_3d
    from physics.voxel import voxelize

    params = CellParameters() if materials is None else materials.cell_parameters()
    key = {"calendered": content_hash(calender_key), "voxel_um": CELL3D_VOXEL_UM,
           "params": asdict(params), "c_rates": list(c_rates)}
    hit = cache.load("cell3d", key)
    if hit is not None:
        note("cell3d", "cache hit")
        return hit[1], True
    micro = voxelize(calendered, CELL3D_VOXEL_UM, particle_ids=True)
    note("cell3d", f"3-D half cell on {micro.shape} voxels of {micro.voxel_um:.2f} µm, "
                   f"{', '.join(f'{c:g}C' for c in c_rates)} discharge")
    result: dict = {"discharge": {}, "voxel_um": micro.voxel_um}
    for rate in c_rates:
        d = discharge_3d(micro, params, rate)
        result["active_mass_g_m2"] = d.active_mass_g_m2
        q, v = d.capacity_mah_g, d.voltage_v
        energy = float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(q)))  # mWh/g = Wh/kg
        result["discharge"][f"{rate:g}"] = {
            "capacity_mah_g": float(q[-1]), "energy_wh_kg": energy,
            "mean_voltage_v": energy / max(float(q[-1]), 1e-30), "end_reason": d.end_reason,
            "time_s": d.time_s.tolist(), "capacity_curve_mah_g": q.tolist(),
            "voltage_v": v.tolist(), "observables": d.observables,
            "reacting_particles": d.reacting_particles, "particles": d.particles}
    eis = blocking_impedance_3d(micro.image, micro.voxel_um)
    result["eis3d"] = {"tau_eis": eis.tau_eis, "tau_z": eis.tau_z,
                       "r_ion_ohm_m2": eis.fit.r_ion_ohm_m2,
                       "frequency_hz": eis.freq_hz.tolist(),
                       "re_ohm_m2": eis.z_ohm_m2.real.tolist(),
                       "im_ohm_m2": eis.z_ohm_m2.imag.tolist()}
    cache.store("cell3d", key, result)
    return result, False


# ---------------------------------------------------------------------------- simulate
def simulate(inputs: ProcessInputs, fidelity: str = "fast", seed: int = 0, *,
             c_rates=(1.0,), cache_dir: str | Path | None = None,
             cell_model: str = "p2d", materials=None,
             progress: Callable[[str, str], None] | None = None,
             detail: Callable[[str, dict], None] | None = None) -> RunResult:
    """Run the chain for one process point (module docstring); stages found in the cache are
    read, not run.

    Args:
        inputs: process inputs (validated on construction).
        fidelity: "ci", "fast" or "paper".
        seed: random seed of the slurry placement and thermostats.
        c_rates: discharge rates of the cell stage [C].
        cell_model: "p2d" (the homogenized DFN at the coating's thickness, the default) or
            "3d" (the particle-resolved cell on the simulated film, :func:`_cell3d`: the
            capacities, voltages and areal capacities are the imaged film's; τ_EIS is read
            from the 3-D blocking spectrum of the film's image and R_ion scaled with it to
            the coating's thickness; ``curves["impedance_3d"]`` holds that spectrum, and
            ``curves["impedance"]`` the P2D's).
        materials: a :class:`physics.material_sets.MaterialSet` (the AM, CBD, solvent and
            their recipe; None: Table 2's NMC111 electrode).  Its recipe, DEM materials and
            electrochemistry enter the stages; the process inputs stay ``inputs``'s.
        cache_dir: stage cache root (default $ETWIN_CACHE_DIR or ./etwin_cache).
        progress: called with (stage, message) when a stage starts or is found in the cache.
        detail: called with (stage, row) for every log row of the dry and calender stages
            (their progress: density, pressure, porosity).
    """
    check_fidelity(fidelity)
    check_cell_model(cell_model)
    rates = check_c_rates(c_rates)
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    cache = StageCache(cache_dir)
    note = progress or (lambda stage, message: None)
    detail = detail or (lambda stage, row: None)
    wall: dict[str, float] = {}
    hits: dict[str, bool] = {}

    t = time.perf_counter()
    dry_key, dried, _, hits["dry"] = _dry(cache, inputs, fidelity, int(seed), note,
                                          detail, materials)
    wall["dry"] = time.perf_counter() - t
    t = time.perf_counter()
    cal_key, calendered, cal, hits["calender"], structure_path = _calender(
        cache, dry_key, dried, inputs, fidelity, note, detail, materials)
    wall["calender"] = time.perf_counter() - t
    t = time.perf_counter()
    tr_key, summary, hits["transport"] = _transport(cache, cal_key, calendered, fidelity, note,
                                                    materials)
    wall["transport"] = time.perf_counter() - t
    t = time.perf_counter()
    mechanics, hits["stiffness"] = _stiffness(cache, cal_key, calendered, inputs, fidelity,
                                              note, materials)
    wall["stiffness"] = time.perf_counter() - t
    point = cal["point"]
    ratio = point["thickness_um"] / cal["thickness_dried_um"]
    thickness_m = inputs.coating_thickness_um * 1e-6 * ratio
    t = time.perf_counter()
    cell, hits["cell"] = _cell(cache, tr_key, summary, thickness_m, rates, note, materials)
    wall["cell"] = time.perf_counter() - t
    if cell_model == "3d":
        t = time.perf_counter()
        cell3d, hits["cell3d"] = _cell3d(cache, cal_key, calendered, rates, note, materials)
        wall["cell3d"] = time.perf_counter() - t
        # the capacities, and the loading they are areal for, are the imaged film's; τ_EIS
        # is the 3-D spectrum's, and R_ion = τ L / (κ ε) at the coating's thickness scales
        # with it
        tau_3d = float(cell3d["eis3d"]["tau_eis"])
        cell = {**cell, "discharge": cell3d["discharge"],
                "active_mass_g_m2": cell3d["active_mass_g_m2"], "tau_eis": tau_3d,
                "r_ion_ohm_m2": float(cell["r_ion_ohm_m2"]) * tau_3d / float(cell["tau_eis"]),
                "impedance_3d": {k: cell3d["eis3d"][k]
                                 for k in ("frequency_hz", "re_ohm_m2", "im_ohm_m2")}}

    def number(value) -> float:
        return float("nan") if value is None else float(value)

    from physics.calender import fractured_fraction

    discharge = cell["discharge"]
    am_stress = np.asarray(cal["am_contact_stress_mpa"], dtype=float)
    return RunResult(
        inputs=inputs, fidelity=fidelity, seed=int(seed),
        key=point_key(inputs, fidelity, int(seed), rates, cell_model),
        porosity=float(summary["porosity"]), porosity_particles=float(point["porosity"]),
        porosity_dried=float(cal["porosity_dried"]),
        thickness_column_um=float(point["thickness_um"]),
        electrode_thickness_um=thickness_m * 1e6,
        springback_percent=float(point["springback_percent"]),
        inertial_number=float(point["inertial_number"]),
        floor_speed_at_target=number(point.get("floor_speed_at_target")),
        deborah_number=number(point["deborah_number"]),
        tau_x=number(summary["tau_x"]), tau_y=number(summary["tau_y"]),
        tau_z=number(summary["tau_z"]), sigma_eff_s_m=number(summary["sigma_eff_z_s_m"]),
        surface_area_per_volume_um=float(summary["am_pore_area_per_volume_um"]
                                         + summary["am_cbd_area_per_volume_um"]),
        capacity_mah_g={r: discharge[f"{r:g}"]["capacity_mah_g"] for r in rates},
        areal_capacity_mah_cm2={  # mAh/g × g/m² = mAh/m², / 1e4 per cm²
            r: discharge[f"{r:g}"]["capacity_mah_g"] * cell["active_mass_g_m2"] * 1e-4
            for r in rates},
        mean_voltage_v={r: discharge[f"{r:g}"]["mean_voltage_v"] for r in rates},
        r_ion_ohm_cm2=float(cell["r_ion_ohm_m2"]) * 1e4, tau_eis=float(cell["tau_eis"]),
        am_stress_p95_mpa=float(np.percentile(am_stress, 95)),
        am_stress_max_mpa=float(am_stress.max()),
        fractured_fraction=fractured_fraction(am_stress, inputs.am_fracture_strength_mpa),
        tau_z_over_tau_x=tau_anisotropy(summary),
        **{f"stiffness_{a}{a}_mpa": float(mechanics[f"stiffness_{a}{a}_mpa"]) for a in "xyz"},
        **{f"young_modulus_{a}_mpa": float(mechanics[f"young_modulus_{a}_mpa"])
           for a in "xyz"},
        wall_s=wall, cache_hit=hits, structure_path=structure_path, cell_model=cell_model,
        compute_s={stage: cache.recorded.get(stage) if hit else wall[stage]
                   for stage, hit in hits.items()},
        curves={"discharge": discharge, "impedance": cell["impedance"],
                "press_trace": cal["trace"],
                **({"impedance_3d": cell["impedance_3d"]} if "impedance_3d" in cell else {})},
        transport=summary, mechanics=mechanics)
