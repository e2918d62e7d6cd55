"""Voxel images from imaging tools: multi-page TIFF stacks, headerless ``.raw`` volumes, and
the mapping of a file's grey values to the phases pore / AM / CBD.

Image convention (physics/voxel.py): an array indexed ``[x, y, z]``, z through the film.  A
TIFF stack holds one page per z slice, each page ``rows = y, columns = x`` (as ImageJ, Fiji
and Avizo show and export a stack); a ``.raw`` volume is the bare voxel values.

TIFF (specification: Adobe, *TIFF Revision 6.0*, 1992): reading uses ``tifffile`` where it is
installed (any compression, tiles, BigTIFF) and otherwise the reader below, written with
numpy only, for baseline files: uncompressed strips of 8- or 16-bit unsigned grey values,
one sample per pixel, either byte order.  Writing always uses the numpy writer below
(baseline: little-endian, uncompressed, one strip per page, 8 or 16 bits, the form every
TIFF reader must accept; tests/test_formats.py reads its files with tifffile): it needs no
package beyond numpy, and ``tifffile`` is not a declared dependency of electrode-twin.

``.raw`` (no header): the shape and the sample type come from the caller, and the file
size must be exactly ``nx · ny · nz · itemsize`` bytes.  ``order="F"`` (the default) is x
varying fastest, then y, then z: the layout of the raw exports of ImageJ/Fiji, Avizo,
Dragonfly and the raw readers of ParaView; ``order="C"`` is z fastest, numpy's
``ndarray.tofile`` of an ``[x, y, z]`` array.

Phase labels: a file's values map to the phase labels 0 pore, 1 AM, 2 CBD with
:func:`parse_labels` (``"0,255"`` or ``"0=pore,255=AM"``); a value the mapping does not name
is an error listing the values found, never a silent default.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import numpy as np

from physics.state import write_atomic
from physics.voxel import AM, CBD, PORE

TIFF_SUFFIXES = (".tif", ".tiff")
#: ``.raw`` sample types: name -> numpy dtype
RAW_DTYPES = {"uint8": np.dtype("u1"), "uint16": np.dtype("<u2"), "uint16be": np.dtype(">u2")}
RAW_ORDERS = ("F", "C")
PHASES = {"pore": PORE, "am": AM, "cbd": CBD}
_TIFF_TYPES = {1: "B", 3: "H", 4: "I", 5: "II", 16: "Q"}  # BYTE SHORT LONG RATIONAL LONG8
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 16: 8}


# ----------------------------------------------------------------------------- labels
def parse_labels(text: str, name: str = "labels") -> dict[int, int]:
    """``"P,A[,C]"`` (the file values of pore, AM and CBD in that order) or
    ``"V=PHASE,..."`` (PHASE: pore, AM, CBD or 0, 1, 2; several values may share a phase) ->
    {file value: phase label}.  ValueError naming ``name`` for anything else."""
    items = [item.strip() for item in str(text).split(",")]
    if not items or any(not item for item in items):
        raise ValueError(f"{name} {text!r}: an empty item; give e.g. 0,1,2 or 0=pore,255=AM")
    mapping: dict[int, int] = {}
    positional = all("=" not in item for item in items)
    if positional and len(items) > 3:
        raise ValueError(f"{name} {text!r}: at most three values (pore, AM, CBD); use "
                         f"VALUE=PHASE items to map several values to one phase")
    for k, item in enumerate(items):
        if positional:
            value_text, phase = item, k
        else:
            value_text, sep, phase_text = (v.strip() for v in item.partition("="))
            if not sep:
                raise ValueError(f"{name} {text!r}: {item!r} is not VALUE=PHASE (do not mix "
                                 f"the two forms)")
            key = phase_text.lower()
            if key in PHASES:
                phase = PHASES[key]
            elif key in ("0", "1", "2"):
                phase = int(key)
            else:
                raise ValueError(f"{name} {text!r}: phase {phase_text!r} is unknown; allowed: "
                                 f"pore, AM, CBD (or 0, 1, 2)")
        try:
            value = int(value_text)
        except ValueError:
            raise ValueError(f"{name} {text!r}: {value_text!r} is not an integer grey value") \
                from None
        if value < 0:
            raise ValueError(f"{name} {text!r}: grey values are >= 0, got {value}")
        if value in mapping:
            raise ValueError(f"{name} {text!r}: value {value} is given twice")
        mapping[value] = phase
    return mapping


def apply_labels(values: np.ndarray, labels: Mapping[int, int] | None = None,
                 name: str = "image") -> np.ndarray:
    """A three-phase uint8 image (0 pore, 1 AM, 2 CBD) from an integer array of a file's
    values: through ``labels`` ({value: phase}), or, with None, the values 0/1/2 as they are.
    ValueError listing the values the mapping does not name."""
    if values.dtype.kind not in "ui":
        raise ValueError(f"{name}: grey values must be integers (uint8/uint16), got "
                         f"{values.dtype}")
    if values.ndim != 3 or min(values.shape) < 1:
        raise ValueError(f"{name}: expected a 3-D image [x, y, z], got shape {values.shape}")
    found = np.unique(values)
    if labels is None:
        bad = found[(found < 0) | (found > CBD)]
        if bad.size:
            raise ValueError(f"{name} has unknown phase labels {bad[:10].tolist()}; allowed: "
                             f"0 pore, 1 AM, 2 CBD, or map the file's values to phases "
                             f"(etwin: --labels, e.g. 0=pore,255=AM)")
        return np.ascontiguousarray(values, dtype=np.uint8)
    bad = [int(v) for v in found if int(v) not in labels]
    if bad:
        named = ", ".join(f"{v}={('pore', 'AM', 'CBD')[p]}" for v, p in sorted(labels.items()))
        raise ValueError(f"{name} has values {bad[:10]} the label mapping ({named}) does not "
                         f"name; the image holds {found[:20].tolist()}")
    lut = np.zeros(int(found.max()) + 1, dtype=np.uint8)
    for v, phase in labels.items():
        if v < lut.size:
            lut[v] = phase
    return lut[values]


# ----------------------------------------------------------------------------- TIFF
def _missing(path: Path, what: str) -> FileNotFoundError:
    return FileNotFoundError(f"{path}: no such {what}")


def read_tiff_stack(path: str | os.PathLike) -> np.ndarray:
    """The pages of a multi-page TIFF as an array [x, y, z] (page k = slice z = k; a
    single-page file gives nz = 1), dtype as stored (uint8, uint16, ...).
    FileNotFoundError for a missing file, ValueError for one that is not a grey TIFF stack."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path, "TIFF file")
    try:
        import tifffile
    except ImportError:
        stack = _read_tiff_numpy(path)
    else:
        try:
            stack = tifffile.imread(path)
        except Exception as err:  # tifffile raises many types on a corrupt file
            raise ValueError(f"{path}: not a readable TIFF ({type(err).__name__}: {err})") \
                from None
        if stack.size == 0:
            raise ValueError(f"{path}: not a readable TIFF (no image page)")
        if stack.ndim == 2:
            stack = stack[None]
        if stack.ndim != 3:
            raise ValueError(f"{path}: expected grey pages (z, y, x), got an array of shape "
                             f"{stack.shape} (colour or hyperstack channels are not phases)")
    return np.ascontiguousarray(np.transpose(stack, (2, 1, 0)))


def _read_tiff_numpy(path: Path) -> np.ndarray:
    """Baseline TIFF pages (z, y, x) with numpy only (module docstring)."""
    data = path.read_bytes()

    def bad(why: str) -> ValueError:
        return ValueError(f"{path}: {why}")

    if data[:4] not in (b"II*\0", b"MM\0*"):
        if data[:4] in (b"II+\0", b"MM\0+"):
            raise bad("a BigTIFF file: install tifffile to read it")
        raise bad("not a TIFF file (no II*/MM* header)")
    end = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(end + "I", data, 4)
    pages: list[np.ndarray] = []
    seen = set()
    while offset:
        if offset in seen or offset + 2 > len(data):
            raise bad("corrupt IFD chain")
        seen.add(offset)
        (count,) = struct.unpack_from(end + "H", data, offset)
        tags: dict[int, tuple] = {}
        for k in range(count):
            at = offset + 2 + 12 * k
            if at + 12 > len(data):
                raise bad("truncated IFD")
            tag, typ, n = struct.unpack_from(end + "HHI", data, at)
            if typ not in _TYPE_SIZE:
                continue
            size = _TYPE_SIZE[typ] * n
            where = at + 8 if size <= 4 else struct.unpack_from(end + "I", data, at + 8)[0]
            if typ in _TIFF_TYPES and where + size <= len(data):
                fmt = end + _TIFF_TYPES[typ] * n
                tags[tag] = struct.unpack_from(fmt, data, where)
        (offset,) = struct.unpack_from(end + "I", data, offset + 2 + 12 * count)
        pages.append(_tiff_page(data, tags, end, bad))
    if not pages:
        raise bad("no image page")
    if any(p.shape != pages[0].shape or p.dtype != pages[0].dtype for p in pages):
        raise bad("pages differ in size or sample type; a stack needs equal pages")
    return np.stack(pages)


def _tiff_page(data: bytes, tags: dict, end: str, bad) -> np.ndarray:
    def tag(code: int, default=None):
        value = tags.get(code)
        return default if value is None else value[0]

    width, height = tag(256), tag(257)
    if width is None or height is None:
        raise bad("a page without ImageWidth/ImageLength")
    if tag(259, 1) != 1:
        raise bad(f"compression {tag(259)} is not supported without tifffile (install "
                  f"tifffile, or save the stack uncompressed)")
    if tag(277, 1) != 1:
        raise bad(f"{tag(277)} samples per pixel (colour): phases need one grey channel")
    if 322 in tags:
        raise bad("a tiled TIFF: install tifffile to read it")
    bits = tag(258, 1)
    if bits not in (8, 16) or tag(339, 1) != 1:
        raise bad(f"{bits}-bit samples of format {tag(339, 1)}: without tifffile only 8- and "
                  f"16-bit unsigned grey values are read")
    dtype = np.dtype(f"{end}u{bits // 8}")
    offsets, counts = tags.get(273), tags.get(279)
    if not offsets or not counts or len(offsets) != len(counts):
        raise bad("a page without valid StripOffsets/StripByteCounts")
    need = width * height * dtype.itemsize
    chunks = b"".join(data[o:o + c] for o, c in zip(offsets, counts, strict=True))
    if len(chunks) < need:
        raise bad(f"a page holds {len(chunks)} bytes, {width}x{height} {bits}-bit pixels need "
                  f"{need}: truncated file")
    page = np.frombuffer(chunks[:need], dtype=dtype).reshape(height, width)
    return page.astype(dtype.newbyteorder("="))


def write_tiff_stack(path: str | os.PathLike, image: np.ndarray,
                     voxel_um: float | None = None) -> Path:
    """Write an [x, y, z] uint8 or uint16 array as a baseline multi-page TIFF (module
    docstring), one page per z slice; with ``voxel_um`` the pages' X/YResolution give the
    pixel size (ResolutionUnit centimetre).  Written atomically; returns the path."""
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16) or image.ndim != 3:
        raise ValueError(f"write_tiff_stack needs a 3-D uint8 or uint16 array [x, y, z], got "
                         f"{image.dtype} of shape {image.shape}")
    nx, ny, nz = image.shape
    page_bytes = nx * ny * image.itemsize
    if nz * (page_bytes + 256) >= 2 ** 32:
        raise ValueError(f"the image ({nx}x{ny}x{nz}) exceeds the 4 GiB of a baseline TIFF")
    if voxel_um is not None and not (np.isfinite(voxel_um) and voxel_um > 0):
        raise ValueError(f"voxel_um must be a positive length in µm, got {voxel_um}")
    per_cm = Fraction(1e4 / voxel_um).limit_denominator(2 ** 20) if voxel_um else Fraction(1)
    if per_cm.numerator >= 2 ** 32:
        per_cm = Fraction(1)
    bits = 8 * image.itemsize
    n_tags = 12
    ifd_size = 2 + 12 * n_tags + 4
    # layout per page: IFD, then the two resolution rationals (16 bytes), then the pixels
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    offset = 8
    for z in range(nz):
        ifd_at = offset
        res_at = ifd_at + ifd_size
        pixels_at = res_at + 16
        next_at = pixels_at + page_bytes if z < nz - 1 else 0
        if next_at % 2:
            next_at += 1  # IFDs start on a word boundary
        entries = [
            (256, 4, 1, nx), (257, 4, 1, ny), (258, 3, 1, bits), (259, 3, 1, 1),
            (262, 3, 1, 1), (273, 4, 1, pixels_at), (277, 3, 1, 1), (278, 4, 1, ny),
            (279, 4, 1, page_bytes), (282, 5, 1, res_at), (283, 5, 1, res_at + 8),
            (296, 3, 1, 3 if voxel_um else 1),
        ]
        ifd = bytearray(struct.pack("<H", n_tags))
        for code, typ, n, value in entries:
            packed = struct.pack("<HI", value, 0)[:4] if typ == 3 else struct.pack("<I", value)
            ifd += struct.pack("<HHI", code, typ, n) + packed
        ifd += struct.pack("<I", next_at)
        out += ifd
        out += struct.pack("<II", per_cm.numerator, per_cm.denominator) * 2
        out += np.ascontiguousarray(image[:, :, z].T).astype(f"<u{image.itemsize}").tobytes()
        if next_at and len(out) < next_at:
            out += b"\0" * (next_at - len(out))
        offset = next_at
    return write_atomic(path, lambda fh: fh.write(bytes(out)))


# ----------------------------------------------------------------------------- raw
def raw_dtype(name: str) -> np.dtype:
    """The numpy dtype of a ``.raw`` sample type name (:data:`RAW_DTYPES`)."""
    try:
        return RAW_DTYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"raw dtype {name!r} is unknown; allowed: {', '.join(RAW_DTYPES)}") \
            from None


def _check_order(order: str) -> str:
    if order not in RAW_ORDERS:
        raise ValueError(f"raw order {order!r} is unknown; allowed: F (x fastest, the imaging "
                         f"tools' layout), C (z fastest, numpy's tofile)")
    return order


def read_raw(path: str | os.PathLike, shape: tuple[int, int, int], dtype: str = "uint8",
             order: str = "F") -> np.ndarray:
    """A headerless volume as an array [x, y, z] of ``shape`` (nx, ny, nz) and sample type
    ``dtype`` (:data:`RAW_DTYPES`), ``order`` F (x fastest) or C (z fastest).  ValueError when
    the file size is not nx·ny·nz·itemsize bytes (naming both), FileNotFoundError for a
    missing file."""
    path = Path(path)
    dt = raw_dtype(dtype)
    _check_order(order)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"raw shape must be three sizes >= 1 (nx, ny, nz), got {shape}")
    if not path.is_file():
        raise _missing(path, "raw image file")
    size = path.stat().st_size
    need = int(np.prod(shape)) * dt.itemsize
    if size != need:
        hint = ""
        if dt.itemsize > 1 and size % dt.itemsize == 0:
            hint = f" ({size // dt.itemsize} {dtype} values)"
        raise ValueError(f"{path}: the file holds {size} bytes{hint}, shape "
                         f"{shape[0]}x{shape[1]}x{shape[2]} of {dtype} needs {need}; check the "
                         f"shape and the dtype")
    flat = np.fromfile(path, dtype=dt)
    return np.ascontiguousarray(flat.reshape(shape, order=order).astype(dt.newbyteorder("=")))


def write_raw(path: str | os.PathLike, image: np.ndarray, order: str = "F") -> Path:
    """Write an [x, y, z] array as a headerless volume (``order`` as :func:`read_raw`; uint16
    little-endian).  Written atomically; returns the path."""
    _check_order(order)
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16) or image.ndim != 3:
        raise ValueError(f"write_raw needs a 3-D uint8 or uint16 array, got {image.dtype} of "
                         f"shape {image.shape}")
    data = image.astype(image.dtype.newbyteorder("<")).tobytes(order=order)
    return write_atomic(path, lambda fh: fh.write(data))
