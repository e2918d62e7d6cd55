"""Material sets: the user's active material, carbon-binder domain, solvent and recipe in one
TOML file (``etwin ... --materials NAME|FILE.toml``; ``etwin materials --list/--show``).

Every number is an inline table with its value, its unit and its source::

    density = { value = 4.65, unit = "g/cm3", source = "Ngandjong 2021, Table 2" }

The unit must be the one this module expects for the key (:data:`FIELDS`; no conversions, so a
number is never silently read in the wrong unit) and the value must lie in the key's range.
Sections and keys (``[section] key (unit) [range]``; keys marked optional may be left out):

- ``[active_material]``: ``name``; density (g/cm3); young_modulus (GPa); poisson_ratio (-);
  restitution (-); friction (-); cohesion_energy_density (kPa, Table 2's unit); fracture_strength
  (MPa).
- ``[active_material.size_distribution]``: either ``diameters`` (um) and ``number_fractions``
  (-) of the size classes, or ``measured_diameters`` (um, one per particle measured) with
  ``classes`` (-, 1-12): the measured list is split into equal-count classes, each at the
  diameter of its mean volume.
- ``[active_material.electrochemistry]``: ``ocp`` (a named curve, :data:`physics.ocp.
  OCP_FUNCTIONS`) or ``ocp_table`` (``stoichiometry`` and ``voltage`` (V) lists, stoichiometry
  increasing, voltage falling); capacity (mAh/g, the theoretical one: c_max = capacity ·
  3.6 · ρ / F); solid_diffusivity (m2/s); reaction_rate_constant (m2.5/(mol0.5 s));
  initial_stoichiometry (-); electronic_conductivity (S/m, of the AM particles: the voxel
  transport's AM phase); cutoff_voltage and max_voltage (V, the half cell's window vs Li).
- ``[carbon_binder]``: density (g/cm3, dried with its nano-pores); compact_density (g/cm3);
  nanoporosity (-); dry_radius and swollen_radius (um, the CGMD particle); young_modulus (GPa)
  and cohesion_energy_density (kPa) at the binder's reference temperature and line speed;
  poisson_ratio, restitution, friction (-); activation_energy (kJ/mol, the Arrhenius shift of
  the binder law); reference_temperature (degC); plateau_softening (1/K, optional: β of the
  binder's relaxed modulus, :meth:`physics.calender.BinderRheology.plateau_factor`).
- ``[solvent]``: ``name``; density (g/cm3).
- ``[recipe]``: am_mass_fraction, carbon_mass_fraction, binder_mass_fraction, solid_content
  (-); coating_thickness (um).  The recipe and the AM's modulus and fracture strength are the
  defaults of the process inputs (:class:`physics.pipeline.ProcessInputs`); flags override them.

The paper's NMC111 electrode (``nmc111``) and a graphite anode (``graphite``) ship in
``physics/material_data/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "material_data"
FARADAY = 96485.33212  # C/mol

#: section -> key -> (unit, low, high, optional); ranges are closed
FIELDS: dict[str, dict[str, tuple[str, float, float, bool]]] = {
    "active_material": {
        "density": ("g/cm3", 0.5, 25.0, False),
        "young_modulus": ("GPa", 1.0, 1000.0, False),
        "poisson_ratio": ("-", -0.99, 0.5, False),
        "restitution": ("-", 0.05, 1.0, False),
        "friction": ("-", 0.0, 2.0, False),
        "cohesion_energy_density": ("kPa", 0.0, 1e8, False),
        "fracture_strength": ("MPa", 1.0, 1e4, False),
    },
    "size_distribution": {
        "diameters": ("um", 0.1, 100.0, True),
        "number_fractions": ("-", 0.0, 1.0, True),
        "measured_diameters": ("um", 0.1, 100.0, True),
        "classes": ("-", 1, 12, True),
    },
    "electrochemistry": {
        "ocp": ("-", 0, 0, True),
        "capacity": ("mAh/g", 10.0, 4000.0, False),
        "solid_diffusivity": ("m2/s", 1e-20, 1e-8, False),
        "reaction_rate_constant": ("m2.5/(mol0.5 s)", 1e-16, 1e-5, False),
        "initial_stoichiometry": ("-", 0.0, 1.0, False),
        "electronic_conductivity": ("S/m", 1e-9, 1e8, False),
        "cutoff_voltage": ("V", -0.1, 6.0, False),
        "max_voltage": ("V", 0.0, 6.0, False),
    },
    "carbon_binder": {
        "density": ("g/cm3", 0.1, 5.0, False),
        "compact_density": ("g/cm3", 0.1, 5.0, False),
        "nanoporosity": ("-", 0.0, 0.95, False),
        "dry_radius": ("um", 0.05, 10.0, False),
        "swollen_radius": ("um", 0.05, 20.0, False),
        "young_modulus": ("GPa", 1e-3, 100.0, False),
        "cohesion_energy_density": ("kPa", 0.0, 1e8, False),
        "poisson_ratio": ("-", -0.99, 0.5, False),
        "restitution": ("-", 0.05, 1.0, False),
        "friction": ("-", 0.0, 2.0, False),
        "activation_energy": ("kJ/mol", 1.0, 500.0, False),
        "reference_temperature": ("degC", 0.0, 150.0, False),
        "plateau_softening": ("1/K", 0.0, 0.2, True),
    },
    "solvent": {
        "density": ("g/cm3", 0.3, 3.0, False),
    },
    "recipe": {
        "am_mass_fraction": ("-", 0.8, 0.98, False),
        "carbon_mass_fraction": ("-", 0.0, 0.2, False),
        "binder_mass_fraction": ("-", 0.0, 0.2, False),
        "solid_content": ("-", 0.5, 0.8, False),
        "coating_thickness": ("um", 20.0, 500.0, False),
    },
}
_SECTION_PATH = {"size_distribution": "active_material.size_distribution",
                 "electrochemistry": "active_material.electrochemistry"}
_NAMES = {"active_material", "solvent"}  # sections with a ``name`` string


@dataclass(frozen=True)
class Quantity:
    """One number (or list) of a material set with its unit and source."""

    value: float | tuple[float, ...]
    unit: str
    source: str


@dataclass(frozen=True)
class MaterialSet:
    """A parsed material file: ``values[section][key]`` are :class:`Quantity`; ``ocp`` is a
    curve name or a ((stoichiometry, voltage), ...) table; ``psd`` the AM size classes
    (diameters [µm], number fractions)."""

    name: str
    description: str
    am_name: str
    solvent_name: str
    values: dict
    ocp: str | tuple[tuple[float, float], ...]
    ocp_source: str
    psd: tuple[tuple[float, ...], tuple[float, ...]]
    psd_source: str
    path: str

    def value(self, section: str, key: str) -> float:
        return self.values[section][key].value

    # ---------------------------------------------------------------- model inputs
    def am_material(self):
        """The AM as a DEM :class:`physics.materials.Material`."""
        from physics.materials import PA_PER_KPA, Material

        v = self.values["active_material"]  # named "AM": the engine's type label
        return Material("AM", v["young_modulus"].value * 1e9, v["poisson_ratio"].value,
                        v["restitution"].value, v["friction"].value,
                        v["cohesion_energy_density"].value * PA_PER_KPA, v["density"].value)

    def cbd_material(self):
        """The CBD at the binder's reference state as a DEM Material."""
        from physics.materials import PA_PER_KPA, Material

        v = self.values["carbon_binder"]
        return Material("CBD", v["young_modulus"].value * 1e9, v["poisson_ratio"].value,
                        v["restitution"].value, v["friction"].value,
                        v["cohesion_energy_density"].value * PA_PER_KPA, v["density"].value)

    def binder_rheology(self):
        """The binder law (:class:`physics.calender.BinderRheology`) with this CBD's reference
        modulus, cohesion, activation energy, reference temperature and (where given) the
        plateau's softening."""
        from physics.calender import BinderRheology

        v = self.values["carbon_binder"]
        plateau = ({"plateau_softening_per_k": v["plateau_softening"].value}
                   if "plateau_softening" in v else {})
        return replace(BinderRheology(), reference_modulus_gpa=v["young_modulus"].value,
                       reference_cohesion_gpa=v["cohesion_energy_density"].value / 1e6,
                       activation_energy_kj_mol=v["activation_energy"].value,
                       reference_temperature_c=v["reference_temperature"].value, **plateau)

    def calender_conditions(self, **process):
        """:class:`physics.calender.ProcessConditions` with this set's AM and CBD (modulus,
        friction, binder law) and the given process fields (temperature_c, ...)."""
        from physics.calender import ProcessConditions

        am, cbd = self.am_material(), self.cbd_material()
        return ProcessConditions(am_young_modulus_gpa=am.young_modulus_pa / 1e9,
                                 am_friction=am.friction, cbd_friction=cbd.friction,
                                 binder=self.binder_rheology(), am_base=am, cbd_base=cbd,
                                 **process)

    def recipe(self, am_mass_fraction: float | None = None, solid_content: float | None = None):
        """The :class:`physics.materials.Recipe`: this set's PSD, densities and CBD particle,
        at ``am_mass_fraction`` (carbon and binder share the rest in the set's ratio) and
        ``solid_content`` (default: the set's recipe)."""
        from physics.materials import Recipe

        r = self.values["recipe"]
        am = r["am_mass_fraction"].value if am_mass_fraction is None else am_mass_fraction
        carbon, binder = r["carbon_mass_fraction"].value, r["binder_mass_fraction"].value
        carbon_share = carbon / (carbon + binder)
        cbd = self.values["carbon_binder"]
        return Recipe(
            am_mass_fraction=am, carbon_mass_fraction=(1 - am) * carbon_share,
            binder_mass_fraction=(1 - am) * (1 - carbon_share),
            solid_content=r["solid_content"].value if solid_content is None else solid_content,
            am_diameters_um=self.psd[0], am_number_fractions=self.psd[1],
            cbd_radius_dry_um=cbd["dry_radius"].value,
            cbd_radius_swollen_um=cbd["swollen_radius"].value,
            cbd_density_g_cm3=cbd["density"].value, cbd_nanoporosity=cbd["nanoporosity"].value,
            am_density_g_cm3=self.value("active_material", "density"),
            cbd_compact_density_g_cm3=cbd["compact_density"].value,
            solvent_density_g_cm3=self.value("solvent", "density"))

    def max_concentration_mol_m3(self) -> float:
        """c_max = capacity [mAh/g] · 3.6 [C/mAh·g/kg → C/g·1e3] · ρ [kg/m³] / F [mol/m³]."""
        capacity_c_kg = self.value("electrochemistry", "capacity") * 3.6 * 1e3
        return capacity_c_kg * self.value("active_material", "density") * 1e3 / FARADAY

    def cell_parameters(self, base=None):
        """:class:`physics.cell_params.CellParameters` with this AM's electrochemistry (OCP,
        c_max from the capacity, D_s, k, initial stoichiometry, density) and voltage window;
        the rest (electrolyte, separator, foil, microstructure) from ``base``.  An AM that
        conducts better than the base electrode's (the NMC's 5e-3 S/m, whose film conducts
        through its CBD) gets the solid phase's Bruggeman estimate σ_AM ε_AM^1.5 where that
        exceeds the base's σ_eff, so a graphite is not held at the NMC film's CBD-limited
        value; a transport result of the real structure (``cathode_from_transport``)
        replaces it."""
        from physics.cell_params import CellParameters
        from physics.transport import SIGMA_AM_S_M

        base = base or CellParameters()
        e = self.values["electrochemistry"]
        sigma_am = e["electronic_conductivity"].value
        sigma_solid = (sigma_am * base.cathode.active_volume_fraction ** 1.5
                       if sigma_am > SIGMA_AM_S_M else 0.0)
        cathode = replace(
            base.cathode, ocp=self.ocp, max_concentration_mol_m3=self.max_concentration_mol_m3(),
            solid_diffusivity_m2_s=e["solid_diffusivity"].value,
            reaction_rate_constant=e["reaction_rate_constant"].value,
            initial_stoichiometry=e["initial_stoichiometry"].value,
            active_density_kg_m3=self.value("active_material", "density") * 1e3,
            electronic_conductivity_s_m=max(base.cathode.electronic_conductivity_s_m,
                                            sigma_solid))
        return replace(base, cathode=cathode, cutoff_voltage_v=e["cutoff_voltage"].value,
                       max_voltage_v=e["max_voltage"].value)

    def process_defaults(self) -> dict[str, float]:
        """The process inputs this set fixes unless a flag overrides them."""
        r = self.values["recipe"]
        return {"solid_content": r["solid_content"].value,
                "am_mass_fraction": r["am_mass_fraction"].value,
                "coating_thickness_um": r["coating_thickness"].value,
                "am_young_modulus_gpa": self.value("active_material", "young_modulus"),
                "am_fracture_strength_mpa": self.value("active_material", "fracture_strength")}

    # ---------------------------------------------------------------- identity
    def to_dict(self) -> dict:
        """Everything that defines the set (what a worker process rebuilds it from)."""
        return {"name": self.name, "description": self.description, "am_name": self.am_name,
                "solvent_name": self.solvent_name,
                "values": {s: {k: asdict(q) for k, q in sec.items()}
                           for s, sec in self.values.items()},
                "ocp": self.ocp, "ocp_source": self.ocp_source, "psd": self.psd,
                "psd_source": self.psd_source, "path": self.path}

    @classmethod
    def from_dict(cls, data: dict) -> MaterialSet:
        values = {s: {k: Quantity(_as_value(q["value"]), q["unit"], q["source"])
                      for k, q in sec.items()} for s, sec in data["values"].items()}
        ocp = data["ocp"] if isinstance(data["ocp"], str) else tuple(
            (float(a), float(b)) for a, b in data["ocp"])
        psd = (tuple(float(d) for d in data["psd"][0]), tuple(float(f) for f in data["psd"][1]))
        return cls(data["name"], data["description"], data["am_name"], data["solvent_name"],
                   values, ocp, data["ocp_source"], psd, data["psd_source"], data["path"])

    def digest(self) -> str:
        """Hash of the numbers (not the sources or the file's path): the stage caches' key."""
        numbers = {s: {k: q.value for k, q in sec.items()} for s, sec in self.values.items()}
        text = json.dumps({"values": numbers, "ocp": self.ocp, "psd": self.psd},
                          sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rows(self) -> list[dict]:
        """One row per number: section, key, value, unit, source (``etwin materials --show``)."""
        out = [{"section": _SECTION_PATH.get(s, s), "key": k, "value": q.value, "unit": q.unit,
                "source": q.source} for s, sec in self.values.items() for k, q in sec.items()]
        out.append({"section": "active_material.size_distribution", "key": "classes (used)",
                    "value": {"diameters_um": self.psd[0], "number_fractions": self.psd[1]},
                    "unit": "um, -", "source": self.psd_source})
        out.append({"section": "active_material.electrochemistry", "key": "ocp (used)",
                    "value": self.ocp if isinstance(self.ocp, str) else f"table of "
                    f"{len(self.ocp)} points", "unit": "V", "source": self.ocp_source})
        return out


def _as_value(value):
    return tuple(float(v) for v in value) if isinstance(value, list | tuple) else value


# ---------------------------------------------------------------------------- loading
def list_material_sets() -> tuple[str, ...]:
    """Names of the shipped material sets."""
    return tuple(sorted(p.stem for p in DATA_DIR.glob("*.toml")))


def load_material_set(name_or_path: str | Path) -> MaterialSet:
    """A shipped set by name or a material TOML file by path (checked on load: every key's
    unit and range, the recipe's sum, the PSD, the OCP)."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        if path.suffix == ".toml":
            raise FileNotFoundError(f"--materials {path}: no such file")
        path = DATA_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            raise ValueError(f"--materials {str(name_or_path)!r} is unknown; allowed: "
                             f"{', '.join(list_material_sets())} or a material .toml file")
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"--materials {path}: not a readable TOML file ({err})") from None
    return parse_material_set(doc, str(path))


def parse_material_set(doc: dict, path: str = "<memory>") -> MaterialSet:
    """A :class:`MaterialSet` from a parsed TOML document (module docstring)."""
    where = f"material file {path}"
    allowed_top = {"name", "description", *FIELDS} - {"size_distribution", "electrochemistry"}
    unknown = sorted(set(doc) - allowed_top)
    if unknown:
        raise ValueError(f"{where}: unknown section(s) {unknown}; allowed: "
                         f"{', '.join(sorted(allowed_top))}")
    for key in ("name",):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ValueError(f"{where}: missing {key} = \"...\" at the top")
    am = _section(doc, "active_material", where)
    sections = {"active_material": am,
                "size_distribution": _section(am, "size_distribution", where),
                "electrochemistry": _section(am, "electrochemistry", where),
                "carbon_binder": _section(doc, "carbon_binder", where),
                "solvent": _section(doc, "solvent", where),
                "recipe": _section(doc, "recipe", where)}
    values: dict[str, dict[str, Quantity]] = {}
    for section, table in sections.items():
        values[section] = _quantities(section, table, where)
    for section in _NAMES:
        if not isinstance(sections[section].get("name"), str):
            raise ValueError(f"{where}: [{section}] needs name = \"...\"")
    r = values["recipe"]
    total = sum(r[k].value for k in ("am_mass_fraction", "carbon_mass_fraction",
                                     "binder_mass_fraction"))
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"{where}: [recipe] am_mass_fraction + carbon_mass_fraction + "
                         f"binder_mass_fraction = {total:.6g}; must be 1")
    if r["carbon_mass_fraction"].value + r["binder_mass_fraction"].value <= 0:
        raise ValueError(f"{where}: [recipe] carbon + binder mass fraction must be > 0")
    cbd = values["carbon_binder"]
    if cbd["swollen_radius"].value < cbd["dry_radius"].value:
        raise ValueError(f"{where}: [carbon_binder] swollen_radius must be >= dry_radius")
    e = values["electrochemistry"]
    if e["cutoff_voltage"].value >= e["max_voltage"].value:
        raise ValueError(f"{where}: [active_material.electrochemistry] cutoff_voltage must be "
                         "below max_voltage")
    psd, psd_source = _psd(values.pop("size_distribution"), where)
    ocp, ocp_source = _ocp(sections["electrochemistry"], where)
    values["electrochemistry"].pop("ocp", None)
    return MaterialSet(doc["name"].strip(), str(doc.get("description", "")),
                       sections["active_material"]["name"], sections["solvent"]["name"], values,
                       ocp, ocp_source, psd, psd_source, path)


def _section(parent: dict, name: str, where: str) -> dict:
    table = parent.get(name)
    if not isinstance(table, dict):
        raise ValueError(f"{where}: missing section [{_SECTION_PATH.get(name, name)}]")
    return table


def _quantities(section: str, table: dict, where: str) -> dict[str, Quantity]:
    spec = FIELDS[section]
    label = _SECTION_PATH.get(section, section)
    nested = {"size_distribution", "electrochemistry"} if section == "active_material" else set()
    extra = {"name"} if section in _NAMES else set()
    if section == "electrochemistry":
        extra |= {"ocp_table"}
    unknown = sorted(set(table) - set(spec) - nested - extra)
    if unknown:
        raise ValueError(f"{where}: [{label}] unknown key(s) {unknown}; allowed: "
                         f"{', '.join(sorted(spec))}")
    out = {}
    for key, (unit, lo, hi, optional) in spec.items():
        if key not in table:
            if optional:
                continue
            raise ValueError(f"{where}: [{label}] missing {key} = {{ value = ..., unit = "
                             f"\"{unit}\", source = \"...\" }}")
        q = table[key]
        if not isinstance(q, dict) or set(q) - {"value", "unit", "source"} or "value" not in q:
            raise ValueError(f"{where}: [{label}] {key} must be {{ value = ..., unit = "
                             f"\"{unit}\", source = \"...\" }}, got {q!r}")
        if q.get("unit") != unit:
            raise ValueError(f"{where}: [{label}] {key} has unit {q.get('unit')!r}; expected "
                             f"{unit!r} (no conversions: give the value in {unit})")
        if not isinstance(q.get("source"), str) or not q["source"].strip():
            raise ValueError(f"{where}: [{label}] {key} needs a source = \"...\" (where the "
                             "number comes from)")
        value = q["value"]
        if key == "ocp":
            out[key] = Quantity(value, unit, q["source"])
            continue
        numbers = value if isinstance(value, list) else [value]
        if not numbers or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                  for v in numbers):
            raise ValueError(f"{where}: [{label}] {key} = {value!r}; expected a number"
                             + (" or a list of numbers" if optional else ""))
        for v in numbers:
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"{where}: [{label}] {key} = {v!r} {unit} is outside the "
                                 f"allowed range [{lo:g}, {hi:g}]")
        out[key] = Quantity(_as_value(value), unit, q["source"])
    return out


def _psd(q: dict[str, Quantity], where: str):
    label = f"{where}: [active_material.size_distribution]"
    if "measured_diameters" in q:
        if "diameters" in q or "number_fractions" in q:
            raise ValueError(f"{label} give either measured_diameters (+ classes) or diameters "
                             "+ number_fractions, not both")
        d = np.sort(np.atleast_1d(np.asarray(q["measured_diameters"].value, float)))
        k = int(q["classes"].value) if "classes" in q else min(6, d.size)
        if d.size < k:
            raise ValueError(f"{label} {d.size} measured diameters for {k} classes; give at "
                             "least one per class")
        groups = np.array_split(d, k)
        diameters = tuple(float(np.mean(g**3) ** (1 / 3)) for g in groups)
        fractions = tuple(g.size / d.size for g in groups)
        return (diameters, fractions), (f"{q['measured_diameters'].source}; {k} equal-count "
                                        f"classes of {d.size} measured diameters")
    if "diameters" not in q or "number_fractions" not in q:
        raise ValueError(f"{label} needs diameters and number_fractions, or measured_diameters")
    diameters = np.atleast_1d(np.asarray(q["diameters"].value, float))
    fractions = np.atleast_1d(np.asarray(q["number_fractions"].value, float))
    if diameters.size != fractions.size:
        raise ValueError(f"{label} {diameters.size} diameters but {fractions.size} "
                         "number_fractions; they must match")
    if not math.isclose(float(fractions.sum()), 1.0, abs_tol=1e-6):
        raise ValueError(f"{label} number_fractions sum to {fractions.sum():.6g}; must be 1")
    return ((tuple(float(x) for x in diameters), tuple(float(x) for x in fractions)),
            q["diameters"].source)


def _ocp(table: dict, where: str):
    from physics.ocp import ocp_function

    label = f"{where}: [active_material.electrochemistry]"
    if ("ocp" in table) == ("ocp_table" in table):
        raise ValueError(f"{label} give one of ocp = {{ value = \"<name>\", ... }} or "
                         "ocp_table = { stoichiometry = [...], voltage = [...], unit = \"V\", "
                         "source = \"...\" }")
    if "ocp" in table:
        name = table["ocp"]["value"]
        try:
            ocp_function(name)  # a known name (ValueError listing them)
        except ValueError as err:
            raise ValueError(f"{label} ocp: {err}") from None
        return name, table["ocp"]["source"]
    t = table["ocp_table"]
    if not isinstance(t, dict) or t.get("unit") != "V" or not isinstance(t.get("source"), str):
        raise ValueError(f"{label} ocp_table needs stoichiometry, voltage, unit = \"V\" and a "
                         "source")
    try:
        pairs = tuple((float(s), float(u)) for s, u in zip(t["stoichiometry"], t["voltage"],
                                                           strict=True))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{label} ocp_table: stoichiometry and voltage must be equal-length "
                         f"lists of numbers ({err})") from None
    if len(pairs) < 2:
        raise ValueError(f"{label} ocp_table needs at least 2 points")
    try:
        ocp_function(pairs)
    except ValueError as err:
        raise ValueError(f"{label} ocp_table: {err}") from None
    return pairs, t["source"]
