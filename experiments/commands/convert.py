"""``etwin convert``: particle structures and voxel images between file formats
(physics/formats/), and the image-file flags ``etwin transport`` shares."""

from __future__ import annotations

import argparse
import math
from contextlib import contextmanager
from pathlib import Path

from experiments.commands.common import AddCommand, integer_list, log, number_list

RAW_DTYPE_NAMES = ("uint8", "uint16", "uint16be")
UNIT_NAMES = ("si", "micro")


@contextmanager
def naming(argument: str):
    """Re-raise a library's ValueError / FileNotFoundError with the argument it concerns
    (``INPUT in.raw: the file holds ...``)."""
    try:
        yield
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{argument} {err}") from None
    except ValueError as err:
        raise ValueError(f"{argument} {err}") from None


# ------------------------------------------------------------------- shared image flags
def add_image_file_flags(p: argparse.ArgumentParser, what: str) -> None:
    """--raw-shape, --raw-dtype, --raw-order and --labels: how a .tif/.raw image is read."""
    p.add_argument("--raw-shape", default=None, metavar="NX,NY,NZ",
                   help=f"voxels along x, y, z of a .raw {what} (no header: required for "
                        "one), integers >= 1 (default: none)")
    p.add_argument("--raw-dtype", default="uint8",
                   help=f"sample type of a .raw {what}: {', '.join(RAW_DTYPE_NAMES)} (uint16 "
                        "little-endian, uint16be big-endian) (default uint8)")
    p.add_argument("--raw-order", default="F",
                   help="voxel order of a .raw file: F (x fastest, then y, then z: ImageJ, "
                        "Avizo, ParaView) or C (z fastest: numpy's tofile of an [x, y, z] "
                        "array) (default F)")
    p.add_argument("--labels", default=None,
                   help=f"the phases of the {what}'s grey values: 'P,A[,C]' (the values of "
                        "pore, AM and CBD) or 'V=PHASE,...' with PHASE pore, AM or CBD (e.g. "
                        "0=pore,255=AM); a value not named is an error (default: the values "
                        "0, 1, 2 are pore, AM, CBD)")


def raw_spec(args: argparse.Namespace):
    """The :class:`physics.formats.RawSpec` of --raw-shape/--raw-dtype/--raw-order."""
    from physics.formats import RawSpec

    shape = None
    if args.raw_shape is not None:
        shape = integer_list(args.raw_shape, "--raw-shape", low=1)
        if len(shape) != 3:
            raise ValueError(f"--raw-shape {args.raw_shape!r}: expected NX,NY,NZ (three "
                             f"integers >= 1)")
    if args.raw_dtype not in RAW_DTYPE_NAMES:
        raise ValueError(f"--raw-dtype {args.raw_dtype!r} is unknown; allowed: "
                         f"{', '.join(RAW_DTYPE_NAMES)}")
    if args.raw_order not in ("F", "C"):
        raise ValueError(f"--raw-order {args.raw_order!r} is unknown; allowed: F, C")
    return RawSpec(shape=shape, dtype=args.raw_dtype, order=args.raw_order)


def labels_of(args: argparse.Namespace) -> dict[int, int] | None:
    """The {grey value: phase} mapping of --labels (None without it)."""
    from physics.formats.images import parse_labels

    return None if args.labels is None else parse_labels(args.labels, "--labels")


# ---------------------------------------------------------------------------- convert
def _periodic_flag(text: str | None) -> tuple[bool, bool, bool] | None:
    if text is None:
        return None
    axes = text.strip().lower()
    if axes == "none":
        return (False, False, False)
    if not axes or any(a not in "xyz" for a in axes):
        raise ValueError(f"--periodic {text!r}: give letters from xyz (e.g. xy) or none")
    return tuple(a in axes for a in "xyz")  # type: ignore[return-value]


def _check_units(value: str | None, flag: str) -> str | None:
    if value is not None and value not in UNIT_NAMES:
        raise ValueError(f"{flag} {value!r} is unknown; allowed: {', '.join(UNIT_NAMES)}")
    return value


def cmd_convert(args: argparse.Namespace) -> dict:
    """A particle structure or a voxel image from one file format into another."""
    import numpy as np

    from physics.formats import (
        IMAGE_SUFFIXES,
        PARTICLE_SUFFIXES,
        kind_of,
        read_image,
        read_particles,
        write_image,
        write_particles,
    )

    src, dst = Path(args.input), Path(args.output)
    with naming("INPUT"):
        kind_in = kind_of(src)
    with naming("OUTPUT"):
        kind_out = kind_of(dst)
    if kind_in != kind_out:
        what = {"particles": "particle structure", "image": "voxel image"}
        raise ValueError(
            f"INPUT {src} is a {what[kind_in]} and OUTPUT {dst} a {what[kind_out]}: convert "
            f"structures to {', '.join(PARTICLE_SUFFIXES)} and images to "
            f"{', '.join(IMAGE_SUFFIXES)} (a structure's voxel image: etwin transport "
            f"STRUCTURE.npz --vti FILE.vti)")
    if src.resolve() == dst.resolve():
        raise ValueError(f"OUTPUT {dst} is INPUT: give another file")
    summary: dict = {"input": str(src), "output": str(dst), "kind": kind_in}
    if kind_in == "particles":
        in_units = _check_units(args.in_units, "--in-units")
        out_units = _check_units(args.out_units, "--out-units")
        density = None
        if args.density_g_cm3 is not None:
            density = number_list(args.density_g_cm3, "--density-g-cm3")
            if any(not (v > 0) for v in density):
                raise ValueError(f"--density-g-cm3 {args.density_g_cm3!r}: every density must "
                                 f"be > 0 g/cm³")
        with naming("INPUT"):
            state = read_particles(src, units=in_units, frame=args.frame,
                                   periodic=_periodic_flag(args.periodic),
                                   material_density_g_cm3=density)
        with naming("OUTPUT"):
            write_particles(dst, state, units=out_units)
        summary.update({"particles": state.n, "species_counts": np.bincount(
            state.species, minlength=2).tolist(), "box_um": state.box_len_um.tolist(),
            "periodic": [bool(p) for p in state.periodic]})
        if dst.suffix.lower() not in (".npz",):
            summary["units"] = out_units
    else:
        if args.voxel_um is not None and not (
                math.isfinite(args.voxel_um) and 0.001 <= args.voxel_um <= 1000):
            raise ValueError(f"--voxel-um must lie in [0.001, 1000] µm, got {args.voxel_um}")
        spec, labels = raw_spec(args), labels_of(args)
        with naming("INPUT"):
            image, file_voxel_um = read_image(src, raw=spec, labels=labels)
        voxel_um = args.voxel_um or file_voxel_um or 1.0
        with naming("OUTPUT"):
            write_image(dst, image, voxel_um, raw_order=spec.order)
        counts = np.bincount(image.ravel(), minlength=3) / image.size
        summary.update({"shape": list(image.shape), "voxel_um": voxel_um,
                        "fraction_pore": float(counts[0]), "fraction_AM": float(counts[1]),
                        "fraction_CBD": float(counts[2])})
    log(f"wrote {dst}")
    return summary


def register(add: AddCommand) -> None:
    """The parser of ``etwin convert``."""
    p = add("convert", cmd_convert,
            "Convert a particle structure or a voxel image between file formats, chosen by "
            "extension. Structures: .npz (ParticleState), LAMMPS/LIGGGHTS data file "
            "(.data, .lmp; atom_style granular: id type diameter density x y z, for "
            "read_data) and LAMMPS text dump (.dump, .lammpstrj; OVITO). Voxel images "
            "(0 pore, 1 AM, 2 CBD, indexed [x, y, z]): .npy, multi-page TIFF (.tif, .tiff; "
            "one page per z slice), headerless .raw and VTK ImageData (.vti; ParaView). "
            "Prints what was converted (particles per species, or image shape and phase "
            "fractions).")
    p.add_argument("input", help="the file to read; its extension picks the format (see the "
                                 "description)")
    p.add_argument("output", help="the file to write, of the same kind (structure or image); "
                                  "its extension picks the format")
    p.add_argument("--in-units", default=None,
                   help="LAMMPS unit system of a LAMMPS INPUT: si (m, kg, kg/m³) or micro "
                        "(µm, pg, g/cm³) (default: what the file names, the etwin comment of "
                        "a data file or ITEM: UNITS of a dump, else si)")
    p.add_argument("--out-units", default="si",
                   help="LAMMPS unit system of a LAMMPS OUTPUT: si (m, kg, kg/m³) or micro "
                        "(µm, pg, g/cm³; LIGGGHTS 'units micro') (default si)")
    p.add_argument("--frame", type=int, default=-1,
                   help="the frame of a dump INPUT, 0 the first, negative from the end "
                        "(default -1, the last)")
    p.add_argument("--periodic", default=None, metavar="AXES",
                   help="periodic axes of a LAMMPS INPUT, letters from xyz or 'none' "
                        "(default: the dump's BOX BOUNDS, the data file's etwin comment, else "
                        "xy)")
    p.add_argument("--density-g-cm3", default=None, metavar="RHO1,RHO2,...",
                   help="material density in g/cm³ (> 0) of atom types 1, 2, ... of a LAMMPS "
                        "INPUT (default: the file's etwin comment or material_density column, "
                        "else mass / contact-sphere volume); a dump without mass or density "
                        "column needs it")
    add_image_file_flags(p, "INPUT")
    p.add_argument("--voxel-um", type=float, default=None,
                   help="voxel edge in µm of an image OUTPUT (.vti spacing, .tif resolution), "
                        "in [0.001, 1000] (default: the INPUT .vti's spacing, else 1)")
