"""ParticleState: the particle structure handed between process stages, and its file format.

File format (``.npz``, zlib-compressed NumPy archive, written atomically):

============  ===========  =====================================================
key           dtype/shape  meaning
============  ===========  =====================================================
position_um   f8 (n, 3)    particle centres [µm]
radius_um     f8 (n,)      contact radii [µm] (AM: expanded diameter / 2)
species       u1 (n,)      0 = AM, 1 = CBD
mass_pg       f8 (n,)      real particle masses [pg] (unexpanded AM, dried CBD)
density       f8 (n,)      real material densities [g cm⁻³]; volume = mass / density
box_lo_um     f8 (3,)      box lower corner [µm]
box_hi_um     f8 (3,)      box upper corner [µm]
periodic      ?  (3,)      periodicity of x, y, z
wall_z_um     f8 (k,)      heights of the planes normal to z [µm]
wall_side     i8 (k,)      +1 floor (particles above), -1 ceiling
meta          U (scalar)   JSON: format version, stage, recipe, seed, provenance
============  ===========  =====================================================

Reading returns bit-identical arrays.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

FORMAT_VERSION = 1
AM_SPECIES, CBD_SPECIES = 0, 1


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file through ``write(fh)`` into a temporary file beside ``path``, then rename it
    into place: a crash leaves the old file or none, never a partial one.  Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@dataclass(frozen=True, eq=False)
class ParticleState:
    """An immutable particle structure (positions, sizes, species, box, walls)."""

    position_um: np.ndarray
    radius_um: np.ndarray
    species: np.ndarray
    mass_pg: np.ndarray
    density_g_cm3: np.ndarray
    box_lo_um: np.ndarray
    box_hi_um: np.ndarray
    periodic: np.ndarray
    wall_z_um: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wall_side: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.position_um.shape[0]
        checks = {
            "position_um": (self.position_um, (n, 3)), "radius_um": (self.radius_um, (n,)),
            "species": (self.species, (n,)), "mass_pg": (self.mass_pg, (n,)),
            "density_g_cm3": (self.density_g_cm3, (n,)), "box_lo_um": (self.box_lo_um, (3,)),
            "box_hi_um": (self.box_hi_um, (3,)), "periodic": (self.periodic, (3,)),
            "wall_side": (self.wall_side, self.wall_z_um.shape),
        }
        for name, (arr, shape) in checks.items():
            if arr.shape != shape:
                raise ValueError(f"ParticleState.{name} has shape {arr.shape}; expected {shape}")
        if np.any(self.radius_um <= 0) or np.any(self.mass_pg <= 0):
            raise ValueError("ParticleState: radius_um and mass_pg must be > 0")
        if np.any(self.box_hi_um <= self.box_lo_um):
            raise ValueError("ParticleState: box_hi_um must exceed box_lo_um on every axis")
        for arr in (self.position_um, self.radius_um, self.species, self.mass_pg,
                    self.density_g_cm3, self.box_lo_um, self.box_hi_um, self.periodic,
                    self.wall_z_um, self.wall_side):
            arr.setflags(write=False)

    @property
    def n(self) -> int:
        return int(self.position_um.shape[0])

    @property
    def box_len_um(self) -> np.ndarray:
        return self.box_hi_um - self.box_lo_um

    @property
    def volume_um3(self) -> np.ndarray:
        """Real (unexpanded) particle volumes [µm³] = mass / density."""
        return self.mass_pg / self.density_g_cm3

    def save(self, path: str | os.PathLike) -> Path:
        """Write the state to ``path`` (``.npz``) atomically; returns the path."""
        meta = {"format": "electrode-twin ParticleState", "version": FORMAT_VERSION, **self.meta}

        def write(fh) -> None:
            np.savez_compressed(
                fh, position_um=self.position_um, radius_um=self.radius_um,
                species=self.species.astype(np.uint8), mass_pg=self.mass_pg,
                density=self.density_g_cm3, box_lo_um=self.box_lo_um,
                box_hi_um=self.box_hi_um, periodic=self.periodic.astype(bool),
                wall_z_um=self.wall_z_um, wall_side=self.wall_side.astype(np.int64),
                meta=np.array(json.dumps(meta)))

        return write_atomic(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ParticleState:
        """Read a state written by :meth:`save` (ValueError for a missing or corrupt file)."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such structure file")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(str(arrays.pop("meta")))
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a readable ParticleState file ({err})") from None
        if meta.get("format") != "electrode-twin ParticleState":
            raise ValueError(f"{path}: not an electrode-twin ParticleState file")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {meta.get('version')} is not "
                             f"supported (this code reads version {FORMAT_VERSION})")
        try:
            return cls(
                position_um=arrays["position_um"], radius_um=arrays["radius_um"],
                species=arrays["species"], mass_pg=arrays["mass_pg"],
                density_g_cm3=arrays["density"], box_lo_um=arrays["box_lo_um"],
                box_hi_um=arrays["box_hi_um"], periodic=arrays["periodic"],
                wall_z_um=arrays["wall_z_um"], wall_side=arrays["wall_side"],
                meta={k: v for k, v in meta.items() if k not in ("format", "version")})
        except KeyError as err:
            raise ValueError(f"{path}: not a readable ParticleState file (missing {err})") \
                from None
