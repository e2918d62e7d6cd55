"""LAMMPS / LIGGGHTS particle files: the data file (``read_data``) and the text dump.

Written with numpy and the standard library (the formats are line-oriented text; no LAMMPS
Python module is needed).  Specifications: LAMMPS manual, ``read_data`` (header keywords,
the ``Atoms`` section of ``atom_style sphere``: ``atom-ID atom-type diameter density x y
z``; LIGGGHTS' ``atom_style granular`` reads the same columns) and ``dump`` (the ``custom``
text format: ``ITEM: TIMESTEP``, ``ITEM: NUMBER OF ATOMS``, ``ITEM: BOX BOUNDS xx yy zz``
with ``pp`` periodic and ``ff`` fixed, ``ITEM: ATOMS <columns>``), which OVITO reads.

Units
-----
The engine works in µm, pg and g/cm³ (docs/units.md, LAMMPS ``units micro``).  A file is
written and read in one LAMMPS unit system, ``si`` (the default: m, kg, kg/m³) or ``micro``
(µm, pg, pg/µm³ = g/cm³); the conversion is :data:`UNITS`.  A data file names its units in
a comment line (LAMMPS ignores it; the input deck's ``units`` command must match), a dump
may carry ``ITEM: UNITS`` (``dump_modify units yes``); where a file names none, the reader's
``units`` argument decides (default ``si``).

Mass and density
----------------
LAMMPS gives a sphere the mass ``density · π d³ / 6``.  The density column written here is
``mass / (π d³ / 6)`` of the engine's contact diameter, so LAMMPS's masses are the engine's
(``mass_pg``); for AM, whose contact radius is the material sphere's expanded by 2 %, this is
below the material density (ρ / 1.02³).  The material density (``ParticleState.density_g_cm3``)
is kept for the round trip in the data file's ``# etwin:`` comment (per type, where it is
one value per type) and in the dump's extra ``material_density`` column; a file from another
program has neither, and its states take the material density from the reader's
``material_density_g_cm3`` (one value per type) or else ``mass / (π d³ / 6)``.

Types are ``species + 1`` (1 AM, 2 CBD); a data file declares at least 2 atom types so a deck
with per-type properties of AM and CBD reads an all-AM structure too.  The periodicity is not
part of a data file: the ``boundary`` command sets it (``p p f`` for an electrode film); the
file records it in a comment, and the reader's ``periodic`` argument (default: that comment,
else x and y periodic, z fixed) decides.  Lines written by this module are ASCII and shorter
than 256 characters (LIGGGHTS reads lines into a 256-character buffer).

Round trip: ``read_lammps_data(write_lammps_data(state))`` returns the positions, radii,
species, masses, material densities, box, periodicity, walls and meta of ``state``; with
``units="micro"`` bit for bit, with ``si`` to within the unit conversion's rounding (~1e-16
relative; numbers are written with 17 significant digits).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physics.state import ParticleState, write_atomic


@dataclass(frozen=True)
class LammpsUnits:
    """A LAMMPS unit system as factors from the engine's units: value_in_file = value_engine ·
    factor."""

    name: str
    length_per_um: float
    mass_per_pg: float
    density_per_g_cm3: float


#: the LAMMPS unit systems a file may use (``units`` command), from the engine's µm, pg, g/cm³
UNITS = {"si": LammpsUnits("si", 1e-6, 1e-15, 1e3),
         "micro": LammpsUnits("micro", 1.0, 1.0, 1.0)}
DATA_SUFFIXES = (".data", ".lmp")
DUMP_SUFFIXES = (".dump", ".lammpstrj")
_ETWIN = "# etwin: "
_CHUNK = 180  # characters of JSON per comment line (LIGGGHTS' line buffer holds 256)
_BOX_AXES = (("xlo", "xhi"), ("ylo", "yhi"), ("zlo", "zhi"))


def lammps_units(name: str) -> LammpsUnits:
    """The :class:`LammpsUnits` named ``name`` (ValueError naming the allowed ones)."""
    try:
        return UNITS[name]
    except (KeyError, TypeError):
        raise ValueError(f"units {name!r} is unknown; allowed: {', '.join(UNITS)}") from None


def _num(v: float) -> str:
    return format(float(v), ".17g")


def _sphere_volume_um3(radius_um: np.ndarray) -> np.ndarray:
    return (4.0 * math.pi / 3.0) * radius_um ** 3


def _per_type_density(state: ParticleState) -> dict[str, float] | None:
    """The material density of each type, or None where a type has several."""
    out = {}
    for s in np.unique(state.species):
        values = np.unique(state.density_g_cm3[state.species == s])
        if values.size != 1:
            return None
        out[str(int(s) + 1)] = float(values[0])
    return out


def _species_from_types(types: np.ndarray, path: Path) -> np.ndarray:
    if types.size and (types.min() < 1 or types.max() > 256):
        raise ValueError(f"{path}: atom types must lie in [1, 256] (type = species + 1: 1 AM, "
                         f"2 CBD), got {int(types.min())}..{int(types.max())}")
    return (types - 1).astype(np.uint8)


def _material_density(types: np.ndarray, given: Sequence[float] | None, path: Path
                      ) -> np.ndarray | None:
    """Per-atom material density [g/cm³] from one value per type (types 1, 2, ...)."""
    if given is None:
        return None
    values = np.asarray(given, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"material_density_g_cm3 must be densities > 0 in g/cm³, one per "
                         f"type, got {given}")
    if types.size and types.max() > values.size:
        raise ValueError(f"{path}: atom type {int(types.max())} has no material density "
                         f"(given {values.size}: types 1..{values.size})")
    return values[types - 1]


# ----------------------------------------------------------------------------- data file
def write_lammps_data(state: ParticleState, path: str | os.PathLike, units: str = "si",
                      n_types: int | None = None) -> Path:
    """Write ``state`` as a LAMMPS/LIGGGHTS data file for ``atom_style granular`` (LIGGGHTS) /
    ``sphere`` (LAMMPS): ``id type diameter density x y z`` (module docstring: units, the
    density column, the comments).  ``n_types`` atom types are declared (default: the largest
    type, at least 2).  LAMMPS's ``read_data`` stops on an atom outside the box along an axis
    that is not periodic; the engine's films keep their particles inside.  Written
    atomically; returns the path."""
    u = lammps_units(units)
    types = state.species.astype(np.int64) + 1
    top = int(types.max()) if state.n else 1
    n_types = max(2, top) if n_types is None else n_types
    if n_types < top:
        raise ValueError(f"n_types {n_types} is below the largest atom type {top}")
    mass_density = state.mass_pg / _sphere_volume_um3(state.radius_um)
    periodic = [bool(p) for p in state.periodic]
    extra = {"format": "electrode-twin LAMMPS data", "units": u.name, "periodic": periodic,
             "material_density_g_cm3": _per_type_density(state),
             "wall_z_um": state.wall_z_um.tolist(), "wall_side": state.wall_side.tolist(),
             "meta": state.meta}
    blob = json.dumps(extra, separators=(",", ":"), allow_nan=False)
    length = {"si": "m", "micro": "um"}[u.name]
    density = {"si": "kg/m^3", "micro": "g/cm^3"}[u.name]
    lines = [
        "LAMMPS data file: electrode-twin particle structure (atom_style granular / sphere)",
        f"# units {u.name}: lengths in {length}, density in {density} (LAMMPS units "
        f"{u.name}; the engine's are um, pg, g/cm^3)",
        f"# boundary {' '.join('p' if p else 'f' for p in periodic)} (set it with the "
        "boundary command before read_data)",
        "# density column = mass / (pi d^3 / 6): LAMMPS masses equal the engine's",
        *(_ETWIN + blob[i:i + _CHUNK] for i in range(0, len(blob), _CHUNK)),
        "",
        f"{state.n} atoms",
        f"{n_types} atom types",
        "",
        *(f"{_num(lo * u.length_per_um)} {_num(hi * u.length_per_um)} {a} {b}"
          for lo, hi, (a, b) in zip(state.box_lo_um, state.box_hi_um, _BOX_AXES,
                                    strict=True)),
        "",
        "Atoms",
        "",
    ]
    d = 2.0 * state.radius_um * u.length_per_um
    rho = mass_density * u.density_per_g_cm3
    x = state.position_um * u.length_per_um
    lines += [f"{k + 1} {t} {_num(dk)} {_num(rk)} {_num(p[0])} {_num(p[1])} {_num(p[2])}"
              for k, (t, dk, rk, p) in enumerate(zip(types, d, rho, x, strict=True))]
    text = "\n".join(lines) + "\n"
    return write_atomic(path, lambda fh: fh.write(text.encode("ascii")))


def _read_text(path: str | os.PathLike, what: str) -> tuple[Path, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        return path, path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable {what} ({err})") from None


def _etwin_extra(lines: Iterable[str]) -> dict:
    blob = "".join(line[len(_ETWIN):] for line in lines if line.startswith(_ETWIN))
    if not blob:
        return {}
    try:
        extra = json.loads(blob)
    except json.JSONDecodeError:
        return {}
    return extra if isinstance(extra, dict) else {}


def _periodic(given: Sequence[bool] | None, from_file, path: Path) -> np.ndarray:
    value = given if given is not None else from_file
    if value is None:
        value = (True, True, False)
    arr = np.asarray(value, dtype=bool)
    if arr.shape != (3,):
        raise ValueError(f"{path}: periodic must be three flags (x, y, z), got {value}")
    return arr


_SECTION = re.compile(r"^[A-Za-z]")
_ATOMS = re.compile(r"^(\d+)\s+atoms$")


def read_lammps_data(path: str | os.PathLike, units: str | None = None,
                     periodic: Sequence[bool] | None = None,
                     material_density_g_cm3: Sequence[float] | None = None) -> ParticleState:
    """Read a LAMMPS/LIGGGHTS data file of ``atom_style granular`` / ``sphere`` as a
    :class:`ParticleState` (positions as written, image flags ignored; atoms in id order).

    Args:
        units: ``si`` or ``micro``; default: the file's ``# etwin:`` comment, else ``si``.
        periodic: x, y, z periodicity; default: the file's comment, else (True, True, False).
        material_density_g_cm3: the material density of types 1, 2, ... [g/cm³] (default:
            the file's comment, else mass / sphere volume).

    Raises FileNotFoundError for a missing file, ValueError naming the line for a file that is
    not a granular data file (triclinic boxes, other atom styles, missing atoms).
    """
    path, lines = _read_text(path, "LAMMPS data file")
    if not lines:
        raise ValueError(f"{path}: empty file, not a LAMMPS data file")
    extra = _etwin_extra(lines)
    u = lammps_units(units if units is not None else extra.get("units", "si"))
    n_atoms = None
    box = {}
    section, atoms, atoms_line = None, [], 0
    for no, raw in enumerate(lines[1:], start=2):  # line 1 is the title
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if section is None and not _SECTION.match(line):
            m = _ATOMS.match(line)
            if m:
                n_atoms = int(m.group(1))
                continue
            words = line.split()
            if len(words) == 4 and (words[2], words[3]) in _BOX_AXES:
                try:
                    box[words[2]] = (float(words[0]), float(words[1]))
                except ValueError:
                    raise ValueError(f"{path}:{no}: box bounds {line!r} are not numbers") \
                        from None
                continue
            if len(words) == 6 and words[3:] == ["xy", "xz", "yz"]:
                if any(w.strip("+-0.eE") for w in words[:3]):  # a tilt that is not zero
                    raise ValueError(f"{path}:{no}: a triclinic box (xy xz yz tilts) is not "
                                     f"supported; only orthogonal boxes")
                continue
            continue  # other counts (atom types, bonds, ...) and header keywords
        if _SECTION.match(line):
            section = line.split()[0]
            if section == "Atoms":
                hint = raw.split("#", 1)[1].strip() if "#" in raw else ""
                if hint and hint not in ("sphere", "granular"):
                    raise ValueError(f"{path}:{no}: 'Atoms # {hint}': atom style {hint!r} is "
                                     f"not granular/sphere (id type diameter density x y z)")
                atoms_line = no
            continue
        if section == "Atoms":
            words = line.split()
            if len(words) not in (7, 10):
                raise ValueError(f"{path}:{no}: an Atoms line of atom_style granular has 7 "
                                 f"columns (id type diameter density x y z) or 10 (with image "
                                 f"flags), got {len(words)}: {line!r}")
            atoms.append(words[:7])
    if n_atoms is None:
        raise ValueError(f"{path}: no 'N atoms' header line: not a LAMMPS data file")
    missing = [a for a, _ in _BOX_AXES if a not in box]
    if missing:
        raise ValueError(f"{path}: no box bounds for {', '.join(missing)} (xlo xhi, ylo yhi, "
                         f"zlo zhi header lines)")
    if len(atoms) != n_atoms:
        raise ValueError(f"{path}: the header declares {n_atoms} atoms, the Atoms section "
                         f"{'(line ' + str(atoms_line) + ') ' if atoms_line else ''}holds "
                         f"{len(atoms)}")
    try:
        table = np.array(atoms, dtype=np.float64).reshape(n_atoms, 7)
    except ValueError:
        raise ValueError(f"{path}: the Atoms section holds a value that is not a number") \
            from None
    order = np.argsort(table[:, 0], kind="stable")
    table = table[order]
    types = table[:, 1].astype(np.int64)
    if not np.array_equal(table[:, :2], np.round(table[:, :2])):
        raise ValueError(f"{path}: atom ids and types must be integers")
    radius = 0.5 * table[:, 2] / u.length_per_um
    column_density = table[:, 3] / u.density_per_g_cm3
    if np.any(radius <= 0) or np.any(column_density <= 0):
        raise ValueError(f"{path}: every atom needs a diameter > 0 and a density > 0 (point "
                         f"particles are not granular)")
    mass = column_density * _sphere_volume_um3(radius)
    material = _material_density(types, material_density_g_cm3, path)
    per_type = extra.get("material_density_g_cm3")
    if material is None and isinstance(per_type, dict):
        try:
            material = np.array([float(per_type[str(t)]) for t in types])
        except (KeyError, TypeError, ValueError):
            material = None
    lo = np.array([box[a][0] for a, _ in _BOX_AXES]) / u.length_per_um
    hi = np.array([box[a][1] for a, _ in _BOX_AXES]) / u.length_per_um
    meta = extra.get("meta") if isinstance(extra.get("meta"), dict) else {
        "source": f"LAMMPS data file {path.name}", "title": lines[0].strip()}
    return ParticleState(
        position_um=np.ascontiguousarray(table[:, 4:7] / u.length_per_um), radius_um=radius,
        species=_species_from_types(types, path), mass_pg=mass,
        density_g_cm3=material if material is not None else column_density,
        box_lo_um=lo, box_hi_um=hi,
        periodic=_periodic(periodic, extra.get("periodic"), path),
        wall_z_um=np.asarray(extra.get("wall_z_um", []), dtype=np.float64),
        wall_side=np.asarray(extra.get("wall_side", []), dtype=np.int64), meta=meta)


# ----------------------------------------------------------------------------- dump
#: the ATOMS columns :func:`write_lammps_dump` writes (OVITO maps id, type, x, y, z, radius,
#: mass to its particle properties; material_density becomes a user property)
DUMP_COLUMNS = ("id", "type", "x", "y", "z", "radius", "mass", "material_density")


@dataclass(frozen=True, eq=False)
class DumpFrame:
    """One snapshot of a LAMMPS text dump, in engine units, atoms in id order.

    Attributes:
        timestep: the ``ITEM: TIMESTEP`` value.
        ids, types: int64 (n,).
        position_um: (n, 3) [µm] (``x y z``, unwrapped ``xu yu zu`` or scaled ``xs ys zs``).
        radius_um: (n,) [µm] (``radius``, or half the ``diameter`` column).
        box_lo_um, box_hi_um: (3,) [µm]; periodic: (3,) bool (``pp`` in BOX BOUNDS).
        mass_pg: (n,) [pg] or None (no ``mass`` column).
        density_g_cm3: (n,) the ``density`` column [g/cm³] (LAMMPS's mass / volume) or None.
        material_density_g_cm3: (n,) the ``material_density`` column [g/cm³] or None.
    """

    timestep: int
    ids: np.ndarray
    types: np.ndarray
    position_um: np.ndarray
    radius_um: np.ndarray
    box_lo_um: np.ndarray
    box_hi_um: np.ndarray
    periodic: np.ndarray
    mass_pg: np.ndarray | None = None
    density_g_cm3: np.ndarray | None = None
    material_density_g_cm3: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.ids.size)

    def to_state(self, material_density_g_cm3: Sequence[float] | None = None,
                 meta: dict | None = None) -> ParticleState:
        """The frame as a :class:`ParticleState`.

        Mass: the ``mass`` column, else ``density`` × sphere volume, else the material density
        of the type × sphere volume.  Material density: ``material_density_g_cm3`` (one value
        per type 1, 2, ...), else the ``material_density`` column, else mass / sphere volume.
        ValueError when neither a mass, a density nor ``material_density_g_cm3`` is given.
        """
        where = Path(f"dump timestep {self.timestep}")
        volume = _sphere_volume_um3(self.radius_um)
        given = _material_density(self.types, material_density_g_cm3, where)
        material = given if given is not None else self.material_density_g_cm3
        if self.mass_pg is not None:
            mass = self.mass_pg
        elif self.density_g_cm3 is not None:
            mass = self.density_g_cm3 * volume
        elif material is not None:
            mass = material * volume
        else:
            raise ValueError(f"{where}: the dump has no mass, density or material_density "
                             f"column: give the material density of each type "
                             f"(material_density_g_cm3; etwin convert --density-g-cm3)")
        return ParticleState(
            position_um=self.position_um, radius_um=self.radius_um,
            species=_species_from_types(self.types, where), mass_pg=mass,
            density_g_cm3=material if material is not None else mass / volume,
            box_lo_um=self.box_lo_um, box_hi_um=self.box_hi_um, periodic=self.periodic,
            meta=dict(meta) if meta is not None else {"timestep": self.timestep})


def write_lammps_dump(states: ParticleState | Sequence[ParticleState],
                      path: str | os.PathLike, units: str = "si",
                      timesteps: Sequence[int] | None = None) -> Path:
    """Write one state or a sequence of states (frames) as a LAMMPS text dump with the
    columns :data:`DUMP_COLUMNS` (module docstring: units, material_density); ``timesteps``
    default 0, 1, ... .  OVITO opens it as a trajectory.  Written atomically; returns the
    path."""
    u = lammps_units(units)
    frames = [states] if isinstance(states, ParticleState) else list(states)
    if not frames:
        raise ValueError("write_lammps_dump needs at least one state")
    steps = list(range(len(frames))) if timesteps is None else [int(t) for t in timesteps]
    if len(steps) != len(frames):
        raise ValueError(f"timesteps has {len(steps)} values for {len(frames)} states")
    lines: list[str] = []
    for step, s in zip(steps, frames, strict=True):
        flags = " ".join("pp" if p else "ff" for p in s.periodic)
        lines += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(s.n),
                  f"ITEM: BOX BOUNDS {flags}",
                  *(f"{_num(lo * u.length_per_um)} {_num(hi * u.length_per_um)}"
                    for lo, hi in zip(s.box_lo_um, s.box_hi_um, strict=True)),
                  f"ITEM: ATOMS {' '.join(DUMP_COLUMNS)}"]
        x = s.position_um * u.length_per_um
        r = s.radius_um * u.length_per_um
        m = s.mass_pg * u.mass_per_pg
        rho = s.density_g_cm3 * u.density_per_g_cm3
        lines += [f"{k + 1} {int(t) + 1} {_num(p[0])} {_num(p[1])} {_num(p[2])} {_num(rk)} "
                  f"{_num(mk)} {_num(dk)}"
                  for k, (t, p, rk, mk, dk) in enumerate(zip(s.species, x, r, m, rho,
                                                             strict=True))]
    text = "\n".join(lines) + "\n"
    return write_atomic(path, lambda fh: fh.write(text.encode("ascii")))


def _column(table: np.ndarray, names: list[str], *candidates: str) -> np.ndarray | None:
    for c in candidates:
        if c in names:
            return table[:, names.index(c)]
    return None


def read_lammps_dump(path: str | os.PathLike, units: str | None = None) -> list[DumpFrame]:
    """Every frame of a LAMMPS text dump (``dump custom`` / ``atom`` style, orthogonal box).

    ``units`` (``si`` or ``micro``) applies where the file has no ``ITEM: UNITS``; default
    ``si``.  Needs the columns id, type, a position (x y z, xu yu zu or xs ys zs) and radius
    or diameter.  FileNotFoundError for a missing file, ValueError naming the line for a file
    that is not such a dump.
    """
    path, lines = _read_text(path, "LAMMPS dump file")
    frames: list[DumpFrame] = []
    file_units = None
    i = 0

    def need(k: int, what: str) -> str:
        if k >= len(lines):
            raise ValueError(f"{path}: ends inside a frame (expected {what} at line {k + 1}): "
                             f"truncated or not a LAMMPS dump")
        return lines[k].strip()

    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if line == "ITEM: UNITS":
            file_units = need(i + 1, "the unit style")
            i += 2
            continue
        if line == "ITEM: TIME":
            i += 2
            continue
        if line != "ITEM: TIMESTEP":
            raise ValueError(f"{path}:{i + 1}: expected 'ITEM: TIMESTEP', got {line[:60]!r}: "
                             f"not a LAMMPS text dump")
        u = lammps_units(file_units if file_units is not None else
                         (units if units is not None else "si"))
        try:
            step = int(need(i + 1, "the timestep"))
            if need(i + 2, "ITEM: NUMBER OF ATOMS") != "ITEM: NUMBER OF ATOMS":
                raise ValueError
            n = int(need(i + 3, "the number of atoms"))
        except ValueError:
            raise ValueError(f"{path}:{i + 1}: a frame must start with ITEM: TIMESTEP <int>, "
                             f"ITEM: NUMBER OF ATOMS <int>") from None
        bounds = need(i + 4, "ITEM: BOX BOUNDS").split()
        if bounds[:3] != ["ITEM:", "BOX", "BOUNDS"]:
            raise ValueError(f"{path}:{i + 5}: expected 'ITEM: BOX BOUNDS', got "
                             f"{' '.join(bounds)[:60]!r}")
        if "xy" in bounds:
            raise ValueError(f"{path}:{i + 5}: a triclinic box is not supported")
        flags = bounds[3:6] if len(bounds) >= 6 else ["pp", "pp", "pp"]
        try:
            box = np.array([[float(v) for v in need(i + 5 + a, "box bounds").split()[:2]]
                            for a in range(3)]) / u.length_per_um
        except ValueError:
            raise ValueError(f"{path}:{i + 6}: box bounds are not numbers") from None
        header = need(i + 8, "ITEM: ATOMS").split()
        if header[:2] != ["ITEM:", "ATOMS"]:
            raise ValueError(f"{path}:{i + 9}: expected 'ITEM: ATOMS <columns>'")
        names = header[2:]
        body = lines[i + 9:i + 9 + n]
        if len(body) != n:
            raise ValueError(f"{path}: frame at line {i + 1} declares {n} atoms, the file "
                             f"holds {len(body)}: truncated")
        try:
            table = np.array([row.split() for row in body], dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}: frame at line {i + 1}: a row with a value that is not a "
                             f"number or with other than {len(names)} columns") from None
        table = table.reshape(n, len(names))
        ids, types = _column(table, names, "id"), _column(table, names, "type")
        if ids is None or types is None:
            raise ValueError(f"{path}:{i + 9}: the ATOMS columns need id and type, got "
                             f"{' '.join(names)}")
        pos = None
        for kind in (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs")):
            if all(k in names for k in kind):
                pos = table[:, [names.index(k) for k in kind]]
                pos = (box[:, 0] + pos * (box[:, 1] - box[:, 0]) if kind[0] == "xs"
                       else pos / u.length_per_um)
                break
        if pos is None:
            raise ValueError(f"{path}:{i + 9}: the ATOMS columns need positions (x y z, xu yu "
                             f"zu or xs ys zs), got {' '.join(names)}")
        radius = _column(table, names, "radius")
        if radius is None:
            diameter = _column(table, names, "diameter")
            radius = None if diameter is None else 0.5 * diameter
        if radius is None:
            raise ValueError(f"{path}:{i + 9}: the ATOMS columns need radius or diameter, got "
                             f"{' '.join(names)}")
        order = np.argsort(ids, kind="stable")

        def scaled(col, factor, order=order):
            return None if col is None else col[order] / factor

        frames.append(DumpFrame(
            timestep=step, ids=ids[order].astype(np.int64),
            types=types[order].astype(np.int64),
            position_um=np.ascontiguousarray(pos[order]),
            radius_um=radius[order] / u.length_per_um,
            box_lo_um=box[:, 0].copy(), box_hi_um=box[:, 1].copy(),
            periodic=np.array([f == "pp" for f in flags]),
            mass_pg=scaled(_column(table, names, "mass"), u.mass_per_pg),
            density_g_cm3=scaled(_column(table, names, "density"), u.density_per_g_cm3),
            material_density_g_cm3=scaled(_column(table, names, "material_density"),
                                          u.density_per_g_cm3)))
        i += 9 + n
    if not frames:
        raise ValueError(f"{path}: no frame (ITEM: TIMESTEP): not a LAMMPS text dump")
    return frames
