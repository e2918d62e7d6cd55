"""Parameters of the half-cell model (porous cathode | separator | Li foil), SI units.

File format (``etwin cell --params FILE.json``; ``etwin cell --print-default-params`` writes
the defaults): one JSON object with the sections below, every value in SI units as named.
A file names every key, or says ``"extends": "<preset>"`` (:data:`PRESETS`: "default", the
paper's electrode; "xu2019", PyBaMM's half-cell set Xu2019 in this model's terms), and then
its keys override that preset's.  A missing key (without "extends"), an unknown key and a
value of the wrong type are errors naming the key (a typo or a forgotten key must not run
silently on defaults).  BPX files (the PyBaMM ecosystem's exchange format): :mod:`physics.bpx`.

{
  "extends": "default",   (optional)
  "cathode": {...CathodeParameters...},
  "separator": {...SeparatorParameters...},
  "electrolyte": {...ElectrolyteParameters...},
  "lithium_foil": {...LithiumFoilParameters...},
  "temperature_k": 298.15, "cutoff_voltage_v": 3.0, "max_voltage_v": 4.3
}

Microstructure coupling (from ``etwin transport``): the cathode's ``porosity``,
``tortuosity_factor`` (τ = ε D0 / D_eff, so D_eff = D ε / τ and κ_eff = κ ε / τ),
``electronic_conductivity_s_m`` (σ_eff), ``specific_surface_area_m`` (AM-electrolyte area per
electrode volume) and the AM size classes (``particle_radii_m`` with their AM volume fractions).

Defaults describe the paper's uncalendered 96:2:2 NMC111 electrode (Ngandjong et al. 2021,
§6.2; ``reference/parameters.md``): D_s = 2e-15 m²/s, σ_AM = 5e-3 S/m, 12 µm separator, 5 µm Li
foil, 280 mAh/g theoretical capacity; electrolyte LiPF6 in EC:DMC (Valøen & Reimers 2005).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physics.materials import PAPER_AM_COUNTS, PAPER_AM_DIAMETERS_UM, _check_range
from physics.ocp import ocp_function

FARADAY = 96485.33212  # C mol⁻¹
GAS_CONSTANT = 8.314462618  # J mol⁻¹ K⁻¹

#: The paper's six AM size classes: radii [m] and their shares of the AM volume (count × d³).
PAPER_PARTICLE_RADII_M = tuple(0.5e-6 * d for d in PAPER_AM_DIAMETERS_UM)
_VOLUMES = [n * d ** 3 for n, d in zip(PAPER_AM_COUNTS, PAPER_AM_DIAMETERS_UM, strict=True)]
PAPER_PARTICLE_VOLUME_FRACTIONS = tuple(v / sum(_VOLUMES) for v in _VOLUMES)


def _check(section: str, name: str, value: float, lo: float, hi: float,
           lo_open: bool = False, hi_open: bool = False) -> None:
    _check_range(f"{section}.{name}", value, lo, hi, lo_open=lo_open, hi_open=hi_open)


@dataclass(frozen=True)
class CathodeParameters:
    """The porous NMC electrode.

    Attributes:
        thickness_m: electrode thickness [m].
        porosity: pore volume fraction ε [-] (electrolyte-filled).
        active_volume_fraction: AM volume fraction [-].
        cbd_volume_fraction: CBD volume fraction [-] (its nano-pores hold electrolyte).
        cbd_porosity: CBD nano-porosity [-]; electrolyte volume = ε + cbd_porosity · ε_CBD.
        tortuosity_factor: τ of the pore network [-]: D_eff = D ε / τ, κ_eff = κ ε / τ.
        electronic_conductivity_s_m: effective solid conductivity σ_eff [S/m].
        electronic_conductivity_vs_stoichiometry: σ_eff against the local AM surface
            stoichiometry instead of the constant: ((θ, σ_eff [S/m]), ...) with θ increasing
            in [0, 1], log-linear between the points and flat outside
            (:mod:`physics.am_conductivity`); empty: the constant.
        specific_surface_area_m: AM-electrolyte area per electrode volume [m⁻¹]; 0 means
            3 ε_AM Σ_k f_k / R_k from the size classes.
        particle_radii_m: AM size classes, radius of each [m].
        particle_volume_fractions: share of the AM volume in each class [-] (sum 1).
        solid_diffusivity_m2_s: Li diffusivity in the AM [m²/s].
        max_concentration_mol_m3: Li concentration of the fully lithiated AM [mol/m³]
            (48 578 = the paper's 280 mAh/g at 4.65 g/cm³).
        initial_stoichiometry: c_s / c_max at the start of discharge [-] (0.13: 4.19 V on
            the NMC111 curve).
        reaction_rate_constant: k in i0 = F k c_e^½ c_s^½ (c_max - c_s)^½ [m^2.5 mol^-0.5 s⁻¹].
        double_layer_capacitance_f_m2: per AM-electrolyte area [F/m²] (impedance).
        active_density_kg_m3: AM density [kg/m³] (capacity per gram).
        ocp: open-circuit potential name in :data:`physics.ocp.OCP_FUNCTIONS`.
    """

    thickness_m: float = 165e-6
    porosity: float = 0.416
    active_volume_fraction: float = 0.485
    cbd_volume_fraction: float = 0.099
    cbd_porosity: float = 0.47
    tortuosity_factor: float = 1.41
    electronic_conductivity_s_m: float = 8.6e-4
    electronic_conductivity_vs_stoichiometry: tuple[tuple[float, float], ...] = ()
    specific_surface_area_m: float = 0.0
    particle_radii_m: tuple[float, ...] = PAPER_PARTICLE_RADII_M
    particle_volume_fractions: tuple[float, ...] = PAPER_PARTICLE_VOLUME_FRACTIONS
    solid_diffusivity_m2_s: float = 2e-15
    max_concentration_mol_m3: float = 48578.0
    initial_stoichiometry: float = 0.13
    reaction_rate_constant: float = 5.76e-11
    double_layer_capacitance_f_m2: float = 0.2
    active_density_kg_m3: float = 4650.0
    ocp: str = "nmc111"

    def __post_init__(self) -> None:
        s = "cathode"
        _check(s, "thickness_m", self.thickness_m, 0.0, 5e-3, lo_open=True)
        for name in ("porosity", "active_volume_fraction"):
            _check(s, name, getattr(self, name), 0.0, 1.0, lo_open=True, hi_open=True)
        _check(s, "cbd_volume_fraction", self.cbd_volume_fraction, 0.0, 1.0, hi_open=True)
        _check(s, "cbd_porosity", self.cbd_porosity, 0.0, 1.0, hi_open=True)
        total = self.porosity + self.active_volume_fraction + self.cbd_volume_fraction
        if total > 1.0 + 1e-9:
            raise ValueError(f"cathode: porosity + active_volume_fraction + cbd_volume_fraction "
                             f"= {total:.4f} exceeds 1")
        _check(s, "tortuosity_factor", self.tortuosity_factor, 1.0, 1e3)
        _check(s, "electronic_conductivity_s_m", self.electronic_conductivity_s_m, 0.0, 1e8,
               lo_open=True)
        table = self.electronic_conductivity_vs_stoichiometry
        if table:
            name = "electronic_conductivity_vs_stoichiometry"
            if len(table) < 2 or any(len(row) != 2 for row in table):
                raise ValueError(f"cathode.{name} needs >= 2 (stoichiometry, S/m) pairs, got "
                                 f"{table!r}")
            for theta, sigma in table:
                _check(s, f"{name} stoichiometry", theta, 0.0, 1.0)
                _check(s, f"{name} conductivity", sigma, 0.0, 1e8, lo_open=True)
            if np.any(np.diff([row[0] for row in table]) <= 0):
                raise ValueError(f"cathode.{name}: stoichiometries must increase, got "
                                 f"{[row[0] for row in table]}")
        _check(s, "specific_surface_area_m", self.specific_surface_area_m, 0.0, 1e9)
        if not self.particle_radii_m or len(self.particle_radii_m) != len(
                self.particle_volume_fractions):
            raise ValueError("cathode.particle_radii_m and particle_volume_fractions need the "
                             "same length >= 1")
        for r in self.particle_radii_m:
            _check(s, "particle_radii_m", r, 1e-9, 1e-3)
        if any(f < 0 for f in self.particle_volume_fractions) or not math.isclose(
                sum(self.particle_volume_fractions), 1.0, rel_tol=1e-6):
            raise ValueError(f"cathode.particle_volume_fractions must be >= 0 and sum to 1, "
                             f"got {self.particle_volume_fractions}")
        _check(s, "solid_diffusivity_m2_s", self.solid_diffusivity_m2_s, 0.0, 1e-8, lo_open=True)
        _check(s, "max_concentration_mol_m3", self.max_concentration_mol_m3, 0.0, 1e6,
               lo_open=True)
        _check(s, "initial_stoichiometry", self.initial_stoichiometry, 0.0, 1.0, lo_open=True,
               hi_open=True)
        _check(s, "reaction_rate_constant", self.reaction_rate_constant, 0.0, 1.0, lo_open=True)
        _check(s, "double_layer_capacitance_f_m2", self.double_layer_capacitance_f_m2, 0.0, 1e3)
        _check(s, "active_density_kg_m3", self.active_density_kg_m3, 0.0, 3e4, lo_open=True)
        ocp_function(self.ocp)  # a known name

    @property
    def electrolyte_volume_fraction(self) -> float:
        """ε + cbd_porosity · ε_CBD [-]: the volume that stores salt."""
        return self.porosity + self.cbd_porosity * self.cbd_volume_fraction

    @property
    def transport_factor(self) -> float:
        """D_eff / D = κ_eff / κ = ε / τ [-] (1 / MacMullin)."""
        return self.porosity / self.tortuosity_factor

    def surface_area_per_class_m(self) -> tuple[float, ...]:
        """AM-electrolyte area per electrode volume carried by each size class [m⁻¹]."""
        geometric = [3.0 * self.active_volume_fraction * f / r
                     for f, r in zip(self.particle_volume_fractions, self.particle_radii_m,
                                     strict=True)]
        if self.specific_surface_area_m > 0:
            scale = self.specific_surface_area_m / sum(geometric)
            return tuple(a * scale for a in geometric)
        return tuple(geometric)


@dataclass(frozen=True)
class SeparatorParameters:
    """Attributes: thickness_m [m]; porosity [-]; tortuosity_factor τ [-] (D_eff = D ε / τ)."""

    thickness_m: float = 12e-6
    porosity: float = 0.39
    tortuosity_factor: float = 1.6

    def __post_init__(self) -> None:
        _check("separator", "thickness_m", self.thickness_m, 0.0, 1e-3, lo_open=True)
        _check("separator", "porosity", self.porosity, 0.0, 1.0, lo_open=True, hi_open=True)
        _check("separator", "tortuosity_factor", self.tortuosity_factor, 1.0, 1e3)


@dataclass(frozen=True)
class ElectrolyteParameters:
    """Attributes:
        initial_concentration_mol_m3: salt concentration at rest [mol/m³].
        transference_number: cation transference number t+ [-] (1: a single-ion conductor, no
            concentration polarization, as the blocking-cell analysis assumes).
        thermodynamic_factor: 1 + d ln f± / d ln c [-].
        properties: "valoen2005" (D(c, T), κ(c, T) of :mod:`physics.electrolyte`) or
            "constant" (the two values below).
        diffusivity_m2_s, conductivity_s_m: used with properties = "constant".
    """

    initial_concentration_mol_m3: float = 1000.0
    transference_number: float = 0.38
    thermodynamic_factor: float = 1.0
    properties: str = "valoen2005"
    diffusivity_m2_s: float = 3.22e-10
    conductivity_s_m: float = 1.194

    def __post_init__(self) -> None:
        s = "electrolyte"
        _check(s, "initial_concentration_mol_m3", self.initial_concentration_mol_m3, 0.0, 5000.0,
               lo_open=True)
        _check(s, "transference_number", self.transference_number, 0.0, 1.0)
        _check(s, "thermodynamic_factor", self.thermodynamic_factor, 0.0, 10.0, lo_open=True)
        if self.properties not in ("valoen2005", "constant"):
            raise ValueError(f"electrolyte.properties = {self.properties!r}; allowed: "
                             f"'valoen2005', 'constant'")
        _check(s, "diffusivity_m2_s", self.diffusivity_m2_s, 0.0, 1e-6, lo_open=True)
        _check(s, "conductivity_s_m", self.conductivity_s_m, 0.0, 1e3, lo_open=True)


@dataclass(frozen=True)
class LithiumFoilParameters:
    """Attributes:
        thickness_m: foil thickness [m] (paper: 5 µm); its ohmic drop is negligible.
        exchange_current_density_a_m2: i0 of Li/Li+ at the initial salt concentration [A/m²]
            (scales as (c_e / c_e0)^0.3; Xu et al. 2019 give 70.6 A/m² at 1 M).
        double_layer_capacitance_f_m2: foil double layer [F/m²] (impedance).
    """

    thickness_m: float = 5e-6
    exchange_current_density_a_m2: float = 70.6
    double_layer_capacitance_f_m2: float = 0.2

    def __post_init__(self) -> None:
        _check("lithium_foil", "thickness_m", self.thickness_m, 0.0, 1e-2, lo_open=True)
        _check("lithium_foil", "exchange_current_density_a_m2",
               self.exchange_current_density_a_m2, 0.0, 1e6, lo_open=True)
        _check("lithium_foil", "double_layer_capacitance_f_m2",
               self.double_layer_capacitance_f_m2, 0.0, 1e3)


@dataclass(frozen=True)
class CellParameters:
    """The whole half cell (module docstring for the file format)."""

    cathode: CathodeParameters = field(default_factory=CathodeParameters)
    separator: SeparatorParameters = field(default_factory=SeparatorParameters)
    electrolyte: ElectrolyteParameters = field(default_factory=ElectrolyteParameters)
    lithium_foil: LithiumFoilParameters = field(default_factory=LithiumFoilParameters)
    temperature_k: float = 298.15
    cutoff_voltage_v: float = 3.0
    max_voltage_v: float = 4.3

    def __post_init__(self) -> None:
        _check("cell", "temperature_k", self.temperature_k, 200.0, 400.0)
        _check("cell", "cutoff_voltage_v", self.cutoff_voltage_v, 0.0, 6.0, lo_open=True)
        if not self.cutoff_voltage_v < self.max_voltage_v <= 6.0:
            raise ValueError(f"cell: need cutoff_voltage_v < max_voltage_v <= 6, got "
                             f"{self.cutoff_voltage_v}, {self.max_voltage_v}")
        u0 = float(ocp_function(self.cathode.ocp)(self.cathode.initial_stoichiometry))
        if self.cutoff_voltage_v >= u0:
            raise ValueError(f"cell.cutoff_voltage_v = {self.cutoff_voltage_v} V is not below "
                             f"the open-circuit potential at the initial stoichiometry "
                             f"{self.cathode.initial_stoichiometry} ({u0:.3f} V): nothing to "
                             f"discharge")

    def theoretical_capacity_mah_g(self) -> float:
        """F c_max / (3.6 ρ_AM) [mAh/g]: capacity of the full stoichiometry range."""
        c = self.cathode
        return FARADAY * c.max_concentration_mol_m3 / (3.6e3 * c.active_density_kg_m3)

    def theoretical_capacity_ah_m2(self) -> float:
        """F c_max ε_AM L / 3600 [A h per m² of electrode]: the full stoichiometry range 0-1
        of the cathode's AM; the current of this project's 1C ("theoretical" C-rate basis)."""
        c = self.cathode
        return FARADAY * c.max_concentration_mol_m3 * c.active_volume_fraction * (
            c.thickness_m) / 3600.0

    def discharged_stoichiometry(self) -> float:
        """θ_max: the AM stoichiometry where the OCP falls to the cut-off voltage (at most 1),
        the end of an infinitely slow discharge; BPX's "Maximum stoichiometry" of the
        positive electrode (its OCP at the stoichiometry limits is the voltage limits)."""
        ocp = ocp_function(self.cathode.ocp)
        return min(1.0, float(ocp.stoichiometry_at(self.cutoff_voltage_v)))

    def nominal_capacity_ah_m2(self) -> float:
        """Q_nom = F c_max ε_AM L (θ_max − θ_0) / 3600 [A h/m²]: the capacity between the
        initial stoichiometry θ_0 and the stoichiometry θ_max at which the OCP reaches the
        cut-off (:meth:`discharged_stoichiometry`), i.e. of an infinitely slow discharge.
        Written as BPX's "Nominal cell capacity [A.h]" (per m² of electrode), whose current
        PyBaMM takes as 1C; PyBaMM's own electrode SOH on that file
        (``pybamm.lithium_ion.get_min_max_stoichiometries``, OCV limits U(θ_0) and the
        cut-off) finds the same window.  PyBaMM's Xu2019 cell: 25.35 A h/m² (θ 0.0960 to
        0.9974) against 28.12 theoretical."""
        return self.theoretical_capacity_ah_m2() * max(
            self.discharged_stoichiometry() - self.cathode.initial_stoichiometry, 0.0)

    def to_dict(self) -> dict:
        """Every key (the complete file of ``etwin cell --print-default-params``)."""
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        from physics.state import write_atomic

        text = json.dumps(self.to_dict(), indent=2) + "\n"
        return write_atomic(path, lambda fh: fh.write(text.encode()))

    @classmethod
    def preset(cls, name: str) -> CellParameters:
        """The parameters called ``name`` in :data:`PRESETS` (ValueError listing them)."""
        try:
            return PRESETS[name]()
        except (KeyError, TypeError):
            raise ValueError(f"unknown cell parameter preset {name!r}; allowed: "
                             f"{', '.join(PRESETS)}") from None

    @classmethod
    def from_dict(cls, data: dict) -> CellParameters:
        """Parameters from a parsed file (module docstring): every key, or ``"extends":
        "<preset>"`` and the keys that differ from it.  ValueError naming the key (dotted:
        ``cathode.thickness_m``) for a missing or unknown key or a value of the wrong type,
        and naming the field and its range for a value out of range."""
        if not isinstance(data, dict):
            raise ValueError(f"a cell parameter file holds one JSON object, got "
                             f"{type(data).__name__}")
        data = dict(data)
        extends = data.pop("extends", None)
        if extends is not None and not isinstance(extends, str):
            raise ValueError(f"extends: expected a preset name (one of {', '.join(PRESETS)}), "
                             f"got {extends!r}")
        base = cls.preset(extends).to_dict() if extends is not None else None
        sections = _SECTIONS
        scalars = [f.name for f in dataclasses.fields(cls) if f.name not in sections]
        allowed = [*sections, *scalars, "extends"]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(f"unknown cell parameter keys {unknown}; allowed: {allowed}")
        missing = [] if base is not None else [k for k in scalars if k not in data]
        kwargs = {}
        for key in scalars:
            if key in data:
                kwargs[key] = _typed(key, data[key], "float")
            elif base is not None:
                kwargs[key] = base[key]
        values_of = {}
        for key, kind in sections.items():
            types = {f.name: f.type for f in dataclasses.fields(kind)}
            if key not in data:
                if base is None:
                    missing.append(f"{key} (the whole section)")
                else:
                    values_of[key] = (kind, dict(base[key]))
                continue
            given = data[key]
            if not isinstance(given, dict):
                raise ValueError(f"{key}: expected an object of {kind.__name__} keys, got "
                                 f"{given!r}")
            bad = sorted(set(given) - set(types))
            if bad:
                raise ValueError(f"unknown {key} parameter keys {bad}; allowed: "
                                 f"{sorted(types)}")
            if base is None:
                missing += [f"{key}.{name}" for name in types if name not in given]
            values = {} if base is None else dict(base[key])
            for name, value in given.items():
                values[name] = _typed(f"{key}.{name}", value, types[name])
            values_of[key] = (kind, values)
        if missing:
            raise ValueError(
                f"missing cell parameter keys: {', '.join(missing)}. A parameter file names "
                f"every key (etwin cell --print-default-params writes a complete one) or "
                f"says \"extends\": \"<preset>\" to take the others from a preset "
                f"(allowed: {', '.join(PRESETS)})")
        for key, (kind, values) in values_of.items():
            try:
                kwargs[key] = kind(**values)
            except TypeError as err:  # not expected after the checks above; never a traceback
                raise ValueError(f"{key}: {err}") from None
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ValueError(f"cell parameters: {err}") from None

    @classmethod
    def load(cls, path: str | Path) -> CellParameters:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such parameter file")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a readable JSON parameter file ({err})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the parameter file must hold one JSON object")
        try:
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


_SECTIONS = {"cathode": CathodeParameters, "separator": SeparatorParameters,
             "electrolyte": ElectrolyteParameters, "lithium_foil": LithiumFoilParameters}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _typed(path: str, value, annotation: str):
    """``value`` of the field annotated ``annotation`` (a number, a name, a list of numbers or
    of number pairs), JSON lists as tuples; ValueError naming ``path`` and the type."""
    kind = str(annotation).replace(" ", "")
    if kind == "float":
        if not _is_number(value):
            raise ValueError(f"{path}: expected a number, got {value!r} "
                             f"({type(value).__name__})")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{path}: expected a string (a name), got {value!r} "
                             f"({type(value).__name__})")
        return value
    if kind == "tuple[float,...]":
        if not isinstance(value, list | tuple) or not all(_is_number(v) for v in value):
            raise ValueError(f"{path}: expected a list of numbers, got {value!r}")
        return tuple(float(v) for v in value)
    if kind == "tuple[tuple[float,float],...]":
        if not isinstance(value, list | tuple) or not all(
                isinstance(row, list | tuple) and len(row) == 2 and all(_is_number(v)
                                                                        for v in row)
                for row in value):
            raise ValueError(f"{path}: expected a list of [number, number] pairs, got "
                             f"{value!r}")
        return tuple((float(a), float(b)) for a, b in value)
    raise AssertionError(f"{path}: no type check for {annotation!r}")  # a new field's type


def xu2019_parameters() -> CellParameters:
    """PyBaMM's half-cell parameter set Xu2019 (Xu et al. 2019, NMC532 vs Li, Mohtat's OCP)
    in this model's terms: Bruggeman 1.5 (τ = ε^-0.5), σ_eff = σ ε_AM^1.5, the Li foil's
    i0 = F m_ref (c_Li)^0.7 c_e^0.3 at 1 M; cut-off 3.0 V.  The validation case of
    tests/test_cell.py and benchmarks/cell.py."""
    eps = 0.331
    return CellParameters(
        cathode=CathodeParameters(
            thickness_m=42e-6, porosity=eps, active_volume_fraction=0.518,
            cbd_volume_fraction=0.0, tortuosity_factor=eps ** -0.5,
            electronic_conductivity_s_m=100.0 * 0.518 ** 1.5, particle_radii_m=(5.3e-6,),
            particle_volume_fractions=(1.0,), solid_diffusivity_m2_s=1e-14,
            max_concentration_mol_m3=48230.0, initial_stoichiometry=4631.0 / 48230.0,
            reaction_rate_constant=5.76e-11, ocp="nmc_xu2019"),
        separator=SeparatorParameters(thickness_m=25e-6, porosity=0.39,
                                      tortuosity_factor=0.39 ** -0.5),
        lithium_foil=LithiumFoilParameters(
            exchange_current_density_a_m2=3.5e-8 * FARADAY * (1 / 1.3e-5) ** 0.7 * 1000 ** 0.3),
        cutoff_voltage_v=3.0)


#: Named parameter sets a file can extend (``"extends": NAME``).
PRESETS = {"default": CellParameters, "xu2019": xu2019_parameters}


def cathode_from_transport(summary: dict, base: CathodeParameters = CathodeParameters(),
                           direction: str = "z") -> CathodeParameters:
    """Cathode parameters from an ``etwin transport`` result (``TransportProperties.summary()``
    or its metrics.json): thickness = image height along z, porosity, AM and CBD fractions,
    τ and σ_eff along ``direction`` (through-plane), the AM surface open to Li+ (AM-pore
    plus AM-CBD, the CBD being nano-porous) and, when the result came from a particle
    structure, its AM size classes (``am_radii_um``, ``am_volume_fractions``).  Everything
    else comes from ``base``.
    """
    try:
        tau = summary[f"tau_{direction}"]
        sigma = summary[f"sigma_eff_{direction}_s_m"]
        thickness_m = summary["shape"][2] * summary["voxel_um"] * 1e-6
        area_m = (summary["am_pore_area_per_volume_um"]
                  + summary["am_cbd_area_per_volume_um"]) * 1e6
        fractions = (summary["porosity"], summary["fraction_AM"], summary["fraction_CBD"])
    except KeyError as err:
        raise ValueError(f"transport result lacks {err}; run etwin transport with direction "
                         f"{direction!r} and conduction on") from None
    if tau is None or not math.isfinite(tau) or not sigma:
        raise ValueError(f"the structure does not percolate along {direction} (τ = {tau}, "
                         f"σ_eff = {sigma} S/m): no cell to simulate")
    sizes = {}
    if summary.get("am_radii_um"):
        sizes = {"particle_radii_m": tuple(r * 1e-6 for r in summary["am_radii_um"]),
                 "particle_volume_fractions": tuple(summary["am_volume_fractions"])}
    return dataclasses.replace(base, thickness_m=thickness_m, porosity=fractions[0],
                               active_volume_fraction=fractions[1],
                               cbd_volume_fraction=fractions[2], tortuosity_factor=tau,
                               electronic_conductivity_s_m=sigma, specific_surface_area_m=area_m,
                               **sizes)
