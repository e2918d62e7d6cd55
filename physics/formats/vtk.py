"""VTK XML ImageData (``.vti``) for ParaView: the voxel image and fields on it.

Written with numpy and the standard library (no VTK package needed; it is not a dependency).
Specification: *VTK File Formats*, "XML File Formats" (VTK User's Guide; kitware.com), the
serial ``ImageData`` type::

    <VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
      <ImageData WholeExtent="0 nx 0 ny 0 nz" Origin="x0 y0 z0" Spacing="h h h">
        <Piece Extent="0 nx 0 ny 0 nz">
          <PointData> <DataArray .../> ... </PointData>
          <CellData> <DataArray type="UInt8" Name="phase" format="appended" offset="0"/>
          </CellData>
        </Piece>
      </ImageData>
      <AppendedData encoding="raw">_[UInt64 byte count][bytes]...</AppendedData>
    </VTKFile>

Extents count points: an image of nx × ny × nz voxels is ``0 nx 0 ny 0 nz`` and each voxel
is a cell, so the image and per-voxel fields are ``CellData`` (arrays of shape (nx, ny, nz));
``PointData`` arrays have one more point per axis (nx+1, ny+1, nz+1).  Values are stored x
fastest (VTK's order), i.e. the [x, y, z] array in Fortran order.  Coordinates are in µm
(``Spacing`` = the voxel edge, ``Origin`` the corner of voxel [0, 0, 0]); ParaView shows them
as they are.

:func:`read_vti` reads what :func:`write_vti` writes (appended raw data) and the inline
``ascii`` and uncompressed inline ``binary`` (base64) arrays, for one piece; enough for a
round trip and for files of VTK's own writer without compression.
"""

from __future__ import annotations

import base64
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physics.state import write_atomic

VTI_SUFFIX = ".vti"
#: numpy dtype -> VTK type name
VTK_TYPES = {np.dtype(k): v for k, v in (
    ("u1", "UInt8"), ("i1", "Int8"), ("u2", "UInt16"), ("i2", "Int16"), ("u4", "UInt32"),
    ("i4", "Int32"), ("u8", "UInt64"), ("i8", "Int64"), ("f4", "Float32"), ("f8", "Float64"))}
NUMPY_TYPES = {v: k for k, v in VTK_TYPES.items()}


@dataclass(frozen=True, eq=False)
class VtiImage:
    """What :func:`read_vti` returns.

    Attributes:
        shape: cells per axis (nx, ny, nz).
        spacing_um, origin_um: the ``Spacing`` and ``Origin`` of the file (3,) [µm].
        cell_fields / point_fields: name -> array [x, y, z] (cells (nx, ny, nz), points
            (nx+1, ny+1, nz+1); a vector field has a trailing component axis).
    """

    shape: tuple[int, int, int]
    spacing_um: np.ndarray
    origin_um: np.ndarray
    cell_fields: dict[str, np.ndarray] = field(default_factory=dict)
    point_fields: dict[str, np.ndarray] = field(default_factory=dict)


def _fmt(values) -> str:
    return " ".join(format(float(v), ".17g") for v in values)


def write_vti(path: str | os.PathLike, voxel_um: float | tuple[float, float, float],
              image: np.ndarray | None = None,
              cell_fields: Mapping[str, np.ndarray] | None = None,
              point_fields: Mapping[str, np.ndarray] | None = None,
              origin_um: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Path:
    """Write a VTK XML ImageData file (module docstring) with appended raw binary data.

    Args:
        voxel_um: the voxel edge [µm] (or three edges), the file's ``Spacing``.
        image: optional three-phase image [x, y, z], written as the cell array ``phase``.
        cell_fields: name -> array of shape (nx, ny, nz) (or (nx, ny, nz, k) vectors).
        point_fields: name -> array of shape (nx+1, ny+1, nz+1) (or with k components).
        origin_um: the corner of voxel [0, 0, 0] [µm].

    Arrays keep their dtype (those of :data:`VTK_TYPES`; bool is written as UInt8).
    Written atomically; returns the path.
    """
    cells = dict(cell_fields or {})
    if image is not None:
        if "phase" in cells:
            raise ValueError("write_vti: give the phase image either as image or as "
                             "cell_fields['phase'], not both")
        cells = {"phase": image, **cells}
    points = dict(point_fields or {})
    if not cells and not points:
        raise ValueError("write_vti needs an image or at least one field")
    spacing = np.broadcast_to(np.asarray(voxel_um, dtype=np.float64), (3,))
    if not np.all(np.isfinite(spacing) & (spacing > 0)):
        raise ValueError(f"voxel_um must be positive lengths in µm, got {voxel_um}")
    if cells:
        shape = tuple(int(s) for s in np.shape(next(iter(cells.values())))[:3])
    else:
        shape = tuple(int(s) - 1 for s in np.shape(next(iter(points.values())))[:3])
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"write_vti: fields must be 3-D [x, y, z], got shape {shape}")
    arrays, blocks, offset = [], [], 0
    for kind, group, want in (("PointData", points, tuple(s + 1 for s in shape)),
                              ("CellData", cells, shape)):
        entries = []
        for name, values in group.items():
            a = np.asarray(values)
            if a.dtype == bool:
                a = a.astype(np.uint8)
            if a.shape[:3] != want or a.ndim not in (3, 4):
                raise ValueError(f"write_vti: {kind} field {name!r} has shape {a.shape}; "
                                 f"expected {want} (or {want} + (components,))")
            if a.dtype.newbyteorder("=") not in VTK_TYPES:
                raise ValueError(f"write_vti: field {name!r} has dtype {a.dtype}; allowed: "
                                 f"{', '.join(str(d) for d in VTK_TYPES)}")
            if not name or any(c in name for c in '<>&"'):
                raise ValueError(f"write_vti: field name {name!r} must be non-empty without "
                                 f"<>&\" characters")
            dt = a.dtype.newbyteorder("<")
            comps = a.shape[3] if a.ndim == 4 else 1
            # VTK order: x fastest; components innermost
            data = np.ascontiguousarray(
                np.transpose(a, (2, 1, 0, 3) if a.ndim == 4 else (2, 1, 0))).astype(dt)
            raw = data.tobytes()
            entries.append(
                f'        <DataArray type="{VTK_TYPES[dt.newbyteorder("=")]}" '
                f'Name="{name}" NumberOfComponents="{comps}" format="appended" '
                f'offset="{offset}"/>')
            blocks.append(np.uint64(len(raw)).astype("<u8").tobytes() + raw)
            offset += 8 + len(raw)
        if entries:  # the first array is the one ParaView colours by
            arrays += [f'      <{kind} Scalars="{next(iter(group))}">', *entries,
                       f"      </{kind}>"]
    extent = f"0 {shape[0]} 0 {shape[1]} 0 {shape[2]}"
    header = "\n".join([
        '<?xml version="1.0"?>',
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" '
        'header_type="UInt64">',
        f'  <ImageData WholeExtent="{extent}" Origin="{_fmt(origin_um)}" '
        f'Spacing="{_fmt(spacing)}">',
        f'    <Piece Extent="{extent}">',
        *arrays,
        "    </Piece>",
        "  </ImageData>",
        '  <AppendedData encoding="raw">',
        "   _"])
    tail = "\n  </AppendedData>\n</VTKFile>\n"

    def write(fh) -> None:
        fh.write(header.encode("ascii"))
        for block in blocks:
            fh.write(block)
        fh.write(tail.encode("ascii"))

    return write_atomic(path, write)


def read_vti(path: str | os.PathLike) -> VtiImage:
    """Read a ``.vti`` file (module docstring).  FileNotFoundError for a missing file,
    ValueError for one that is not (supported) VTK XML ImageData."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such VTK image file")
    data = path.read_bytes()

    def bad(why: str) -> ValueError:
        return ValueError(f"{path}: {why}")

    marker = data.find(b"<AppendedData")
    if marker >= 0:
        start = data.find(b"_", marker)
        if start < 0:
            raise bad("AppendedData without the '_' start marker")
        tag_end = data.find(b">", marker)
        xml_text = data[:marker] + b"</VTKFile>"
        appended_tag = data[marker:tag_end + 1].decode("ascii", "replace")
        encoding = "base64" if 'encoding="base64"' in appended_tag else "raw"
        appended = data[start + 1:]
    else:
        xml_text, appended, encoding = data, b"", "raw"
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as err:
        raise bad(f"not a readable VTK XML file ({err})") from None
    if root.tag != "VTKFile" or root.get("type") != "ImageData":
        raise bad(f"not VTK XML ImageData (VTKFile type {root.get('type')!r})")
    if root.get("compressor"):
        raise bad(f"compressed data ({root.get('compressor')}) is not supported; write it "
                  f"uncompressed")
    end = "<" if root.get("byte_order", "LittleEndian") == "LittleEndian" else ">"
    header_dt = np.dtype(end + ("u8" if root.get("header_type", "UInt32") == "UInt64"
                                else "u4"))
    image = root.find("ImageData")
    pieces = image.findall("Piece") if image is not None else []
    if image is None or len(pieces) != 1:
        raise bad("expected one ImageData element with one Piece")
    try:
        ext = [int(v) for v in image.get("WholeExtent", "").split()]
        spacing = np.array([float(v) for v in image.get("Spacing", "1 1 1").split()])
        origin = np.array([float(v) for v in image.get("Origin", "0 0 0").split()])
    except ValueError:
        raise bad("WholeExtent, Spacing or Origin are not numbers") from None
    if len(ext) != 6 or spacing.shape != (3,) or origin.shape != (3,):
        raise bad("WholeExtent needs 6 integers, Spacing and Origin 3 numbers each")
    shape = (ext[1] - ext[0], ext[3] - ext[2], ext[5] - ext[4])
    if min(shape) < 1:
        raise bad(f"extent {ext} has no cells along some axis")
    out: dict[str, dict[str, np.ndarray]] = {"CellData": {}, "PointData": {}}
    for kind, want in (("CellData", shape), ("PointData", tuple(s + 1 for s in shape))):
        group = pieces[0].find(kind)
        for arr in group.findall("DataArray") if group is not None else []:
            name = arr.get("Name", f"array{len(out[kind])}")
            vtk_type = arr.get("type")
            if vtk_type not in NUMPY_TYPES:
                raise bad(f"array {name!r}: VTK type {vtk_type!r} is not supported")
            dt = NUMPY_TYPES[vtk_type].newbyteorder(end)
            comps = int(arr.get("NumberOfComponents", "1"))
            count = int(np.prod(want)) * comps
            fmt = arr.get("format", "ascii")
            try:
                if fmt == "appended":
                    values = _appended(appended, int(arr.get("offset", "0")), encoding,
                                       header_dt, dt, count)
                elif fmt == "binary":
                    blob = base64.b64decode("".join((arr.text or "").split()))
                    values = np.frombuffer(blob, dtype=dt, count=count,
                                           offset=header_dt.itemsize)
                elif fmt == "ascii":
                    values = np.array((arr.text or "").split(), dtype=dt)
                else:
                    raise ValueError(f"format {fmt!r}")
            except (ValueError, TypeError, IndexError) as err:
                raise bad(f"array {name!r} is not readable ({err})") from None
            if values.size != count:
                raise bad(f"array {name!r} holds {values.size} values, the extent needs "
                          f"{count}")
            a = values.astype(dt.newbyteorder("="))
            a = a.reshape(want[::-1] + ((comps,) if comps > 1 else ()))
            a = np.transpose(a, (2, 1, 0, 3) if comps > 1 else (2, 1, 0))
            out[kind][name] = np.ascontiguousarray(a)
    return VtiImage(shape=shape, spacing_um=spacing, origin_um=origin,
                    cell_fields=out["CellData"], point_fields=out["PointData"])


def _appended(appended: bytes, offset: int, encoding: str, header_dt: np.dtype,
              dt: np.dtype, count: int) -> np.ndarray:
    if encoding == "base64":
        raise ValueError("base64-encoded appended data is not supported; write it raw")
    (nbytes,) = np.frombuffer(appended, dtype=header_dt, count=1, offset=offset)
    if nbytes != count * dt.itemsize:
        raise ValueError(f"block of {int(nbytes)} bytes, expected {count * dt.itemsize}")
    start = offset + header_dt.itemsize
    if start + int(nbytes) > len(appended):
        raise ValueError("truncated appended data")
    return np.frombuffer(appended, dtype=dt, count=count, offset=start)


def voxel_um_of(vti: VtiImage) -> float:
    """The cubic voxel edge [µm] of a :class:`VtiImage` (ValueError for unequal spacings)."""
    h = vti.spacing_um
    if not np.allclose(h, h[0], rtol=1e-9) or not (math.isfinite(h[0]) and h[0] > 0):
        raise ValueError(f"the image's spacing {h.tolist()} is not one positive voxel edge")
    return float(h[0])
