"""File formats in and out of electrode-twin, one module per format, and the choice by
extension.

============================  =====================  ==========================================
module                        suffixes               what
============================  =====================  ==========================================
:mod:`physics.state`          ``.npz``               ParticleState (the project's own format)
:mod:`physics.formats.lammps` ``.data`` ``.lmp``     LAMMPS/LIGGGHTS data file (read_data)
:mod:`physics.formats.lammps` ``.dump``              LAMMPS text dump (OVITO)
                              ``.lammpstrj``
:mod:`physics.voxel`          ``.npy``               voxel image, uint8 [x, y, z]
:mod:`physics.formats.images` ``.tif`` ``.tiff``     multi-page TIFF stack (one page per z)
:mod:`physics.formats.images` ``.raw``               headerless volume (shape given)
:mod:`physics.formats.vtk`    ``.vti``               VTK XML ImageData (ParaView)
============================  =====================  ==========================================

The formats are written with numpy and the standard library: each is simple, and no reader
package (tifffile, vtk, the LAMMPS Python module) is a dependency; the module docstrings cite
the specifications.  Units in the files are the engine's (µm, pg, g/cm³) unless the format
says otherwise (LAMMPS ``si`` by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from physics.formats.images import (
    TIFF_SUFFIXES,
    apply_labels,
    read_raw,
    read_tiff_stack,
    write_raw,
    write_tiff_stack,
)
from physics.formats.lammps import (
    DATA_SUFFIXES,
    DUMP_SUFFIXES,
    read_lammps_data,
    read_lammps_dump,
    write_lammps_data,
    write_lammps_dump,
)
from physics.formats.vtk import VTI_SUFFIX, read_vti, voxel_um_of, write_vti
from physics.state import ParticleState, write_atomic
from physics.voxel import check_image

PARTICLE_SUFFIXES = (".npz", *DATA_SUFFIXES, *DUMP_SUFFIXES)
IMAGE_SUFFIXES = (".npy", *TIFF_SUFFIXES, ".raw", VTI_SUFFIX)


def kind_of(path: str | os.PathLike) -> str:
    """``"particles"`` or ``"image"`` from the suffix (ValueError naming the allowed ones)."""
    suffix = Path(path).suffix.lower()
    if suffix in PARTICLE_SUFFIXES:
        return "particles"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    raise ValueError(f"{path}: unknown extension {suffix or '(none)'!r}; allowed: particle "
                     f"structures {', '.join(PARTICLE_SUFFIXES)}; voxel images "
                     f"{', '.join(IMAGE_SUFFIXES)}")


# ----------------------------------------------------------------------------- particles
def read_particles(path: str | os.PathLike, units: str | None = None, frame: int = -1,
                   periodic: Sequence[bool] | None = None,
                   material_density_g_cm3: Sequence[float] | None = None) -> ParticleState:
    """A :class:`ParticleState` from ``.npz``, a LAMMPS data file or frame ``frame`` (Python
    index, default the last) of a LAMMPS dump.  ``units``, ``periodic`` and
    ``material_density_g_cm3`` apply to the LAMMPS files (physics.formats.lammps)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such structure file")
        return ParticleState.load(path)
    if suffix in DATA_SUFFIXES:
        return read_lammps_data(path, units=units, periodic=periodic,
                                material_density_g_cm3=material_density_g_cm3)
    if suffix in DUMP_SUFFIXES:
        frames = read_lammps_dump(path, units=units)
        if not -len(frames) <= frame < len(frames):
            raise ValueError(f"{path}: frame {frame} does not exist; the dump holds "
                             f"{len(frames)} (0..{len(frames) - 1}, or -1 the last)")
        state = frames[frame].to_state(material_density_g_cm3)
        if periodic is not None:
            state = replace(state, periodic=np.asarray(periodic, dtype=bool))
        return state
    raise ValueError(f"{path}: unknown particle structure extension {suffix!r}; allowed: "
                     f"{', '.join(PARTICLE_SUFFIXES)}")


def write_particles(path: str | os.PathLike, state: ParticleState, units: str = "si"
                    ) -> Path:
    """Write ``state`` as ``.npz``, a LAMMPS data file or a one-frame LAMMPS dump by the
    suffix (``units`` for the LAMMPS files)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return state.save(path)
    if suffix in DATA_SUFFIXES:
        return write_lammps_data(state, path, units=units)
    if suffix in DUMP_SUFFIXES:
        return write_lammps_dump(state, path, units=units)
    raise ValueError(f"{path}: unknown particle structure extension {suffix!r}; allowed: "
                     f"{', '.join(PARTICLE_SUFFIXES)}")


# ----------------------------------------------------------------------------- images
@dataclass(frozen=True)
class RawSpec:
    """How to read a ``.raw`` volume: shape (nx, ny, nz), sample type, order (images.py)."""

    shape: tuple[int, int, int] | None = None
    dtype: str = "uint8"
    order: str = "F"


def read_image(path: str | os.PathLike, raw: RawSpec = RawSpec(),
               labels: Mapping[int, int] | None = None) -> tuple[np.ndarray, float | None]:
    """A three-phase uint8 image [x, y, z] (0 pore, 1 AM, 2 CBD) and the file's voxel edge
    [µm] where the format holds one (``.vti``; else None), from ``.npy``, a TIFF stack,
    ``.raw`` (needs ``raw.shape``) or ``.vti`` (its ``phase`` cell array, else its only
    integer cell array).  ``labels`` maps the file's values to phases (images.parse_labels);
    without it the values must be 0/1/2."""
    path = Path(path)
    suffix = path.suffix.lower()
    voxel_um = None
    if suffix == ".npy":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such image file")
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ValueError(f"{path}: not a readable .npy image ({err})") from None
        if labels is None:  # the project's own image: uint8 labels 0/1/2 (physics/voxel.py)
            return np.ascontiguousarray(check_image(values, name=str(path))), None
    elif suffix in TIFF_SUFFIXES:
        values = read_tiff_stack(path)
    elif suffix == ".raw":
        if raw.shape is None:
            raise ValueError(f"{path}: a .raw file has no header: give its shape (nx, ny, "
                             f"nz; etwin: --raw-shape NX,NY,NZ)")
        values = read_raw(path, raw.shape, raw.dtype, raw.order)
    elif suffix == VTI_SUFFIX:
        vti = read_vti(path)
        voxel_um = voxel_um_of(vti)
        ints = {k: v for k, v in vti.cell_fields.items() if v.dtype.kind in "ui" and v.ndim == 3}
        if "phase" in ints:
            values = ints["phase"]
        elif len(ints) == 1:
            values = next(iter(ints.values()))
        else:
            raise ValueError(f"{path}: no 'phase' cell array (integer cell arrays: "
                             f"{', '.join(ints) or 'none'})")
    else:
        raise ValueError(f"{path}: unknown image extension {suffix!r}; allowed: "
                         f"{', '.join(IMAGE_SUFFIXES)}")
    return apply_labels(values, labels, name=str(path)), voxel_um


def write_image(path: str | os.PathLike, image: np.ndarray, voxel_um: float,
                raw_order: str = "F",
                cell_fields: Mapping[str, np.ndarray] | None = None) -> Path:
    """Write a three-phase image as ``.npy``, a TIFF stack, ``.raw`` (``raw_order``) or
    ``.vti`` (with ``cell_fields`` beside the ``phase`` array) by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return write_atomic(path, lambda fh: np.save(fh, image))
    if suffix in TIFF_SUFFIXES:
        return write_tiff_stack(path, image, voxel_um)
    if suffix == ".raw":
        return write_raw(path, image, raw_order)
    if suffix == VTI_SUFFIX:
        return write_vti(path, voxel_um, image=image, cell_fields=cell_fields)
    raise ValueError(f"{path}: unknown image extension {suffix!r}; allowed: "
                     f"{', '.join(IMAGE_SUFFIXES)}")
