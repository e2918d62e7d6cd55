"""Three-phase voxel images: pore / AM / CBD, from a particle structure or from a user's file.

Image convention (shared with :mod:`physics.transport` and ``etwin transport``): a ``uint8``
array indexed ``[x, y, z]`` with z through the film (z = 0 at the current collector), labels
``0`` pore, ``1`` active material (AM), ``2`` carbon-binder domain (CBD).  Voxels are cubes of
edge ``voxel_um``.

Voxelization (:func:`voxelize`) paints each particle as a sphere of its *real* radius
``(3 m / 4 π ρ)^(1/3)`` (not the 2 %-expanded AM contact radius of the DEM): a voxel belongs to a
particle when its centre lies inside the sphere.  AM is painted last, so a voxel inside both an
AM and a CBD sphere is AM.  x and y wrap periodically when the structure is periodic.  The image
spans z from the film bottom to its top (:func:`physics.structure.film_bounds_um`); the voxel
edge is adjusted to ``Lx / round(Lx / voxel_um)`` so the periodic box holds a whole number of
voxels (25.8 µm at 0.25 µm -> 103 voxels of 0.2505 µm), and the same edge is used along y and z.

The film's phase fractions (:func:`film_phase_fractions`) count the voxels of the film
between its exact bounds: whole layers below the film's top, and the layer the top cuts
weighted by the share of it below the top (partial volume).  The transport image holds
round(thickness / edge) layers, so its own pore fraction steps with the thickness by up to half
a layer of mostly empty headspace (±0.6 porosity points on a 28 µm film at 0.5 µm, where the
film's porosity moves continuously); the pipeline reports the film's.

The reference porosity for the voxel image is :func:`slab_porosity`: 1 - Σ V_i / V_slab with
each sphere's volume cut to the slab (spherical caps, exact) and overlaps between spheres
ignored, i.e. the structure module's porosity applied to the same z range.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np

from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState, write_atomic
from physics.structure import film_bounds_um

PORE, AM, CBD = 0, 1, 2
PHASE_NAMES = {PORE: "pore", AM: "AM", CBD: "CBD"}
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` if it is a 3-D uint8 array of labels 0/1/2, else raise ValueError."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} dtype must be uint8 (labels 0 pore, 1 AM, 2 CBD), got "
                         f"{image.dtype}")
    if image.ndim != 3 or min(image.shape) < 1:
        raise ValueError(f"{name} must be a 3-D array indexed [x, y, z], got shape "
                         f"{image.shape}")
    top = int(image.max())
    if top > CBD:
        bad = np.unique(image[image > CBD])
        raise ValueError(f"{name} has unknown phase labels {bad[:10].tolist()}; allowed: "
                         f"0 pore, 1 AM, 2 CBD")
    return image


@dataclass(frozen=True, eq=False)
class Microstructure:
    """A three-phase voxel image (module docstring) with its voxel edge.

    Attributes:
        image: uint8 [x, y, z], labels 0 pore, 1 AM, 2 CBD (read-only).
        voxel_um: voxel edge [µm].
        source: where the image came from (a file path or a structure description).
        am_ids: int32 [x, y, z] or None: on each AM voxel the index of its particle among
            the structure's AM particles (in state order), -1 elsewhere; an AM voxel inside
            several spheres belongs to the one it lies deepest in (largest r − d).
    """

    image: np.ndarray
    voxel_um: float
    source: str = ""
    am_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_image(self.image)
        if not (math.isfinite(self.voxel_um) and self.voxel_um > 0):
            raise ValueError(f"voxel_um must be a positive length in µm, got {self.voxel_um}")
        self.image.setflags(write=False)
        if self.am_ids is not None:
            if self.am_ids.shape != self.image.shape or not np.array_equal(
                    self.am_ids >= 0, self.image == AM):
                raise ValueError("am_ids must have the image's shape and be >= 0 exactly on "
                                 "the AM voxels")
            self.am_ids.setflags(write=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.image.shape)  # type: ignore[return-value]

    @property
    def size_um(self) -> tuple[float, float, float]:
        return tuple(s * self.voxel_um for s in self.shape)  # type: ignore[return-value]

    def phase_fractions(self) -> dict[str, float]:
        """Volume fraction of each phase [-]."""
        counts = np.bincount(self.image.ravel(), minlength=3)
        return {PHASE_NAMES[k]: float(counts[k]) / self.image.size for k in (PORE, AM, CBD)}

    @property
    def porosity(self) -> float:
        """Pore-voxel fraction [-] (isolated pores included)."""
        return self.phase_fractions()["pore"]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the image as ``.npy`` (uint8 [x, y, z]) atomically; returns the path."""
        return write_atomic(path, lambda fh: np.save(fh, self.image))

    @classmethod
    def load(cls, path: str | os.PathLike, voxel_um: float) -> Microstructure:
        """Read a ``.npy`` image (ValueError for a missing, unreadable or invalid file)."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such image file")
        try:
            image = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ValueError(f"{path}: not a readable .npy image ({err})") from None
        check_image(image, name=str(path))
        return cls(image=np.ascontiguousarray(image), voxel_um=voxel_um, source=str(path))


# ------------------------------------------------------------------------------- kernels
@nb.njit(inline="always", **_JIT)
def _sphere_voxel_range(centre, r, shape, periodic):
    """Voxel index range (lo, hi inclusive, per axis) whose centres a sphere may contain;
    clipped to the image along non-periodic axes (periodic ones wrap in the caller)."""
    lo = np.empty(3, np.int64)
    hi = np.empty(3, np.int64)
    for a in range(3):
        lo[a] = int(math.floor(centre[a] - r - 0.5))
        hi[a] = int(math.ceil(centre[a] + r - 0.5))
        if not periodic[a]:
            lo[a] = max(lo[a], 0)
            hi[a] = min(hi[a], shape[a] - 1)
    return lo, hi


@nb.njit(parallel=True, **_JIT)
def _paint_spheres(image, centre_vox, radius_vox, label, periodic):
    """Set ``image`` to ``label`` where a voxel centre (i + 0.5 in voxel units) lies inside a
    sphere; coordinates in voxel units from the image origin."""
    nx, ny, nz = image.shape
    for p in nb.prange(centre_vox.shape[0]):
        r = radius_vox[p]
        r2 = r * r
        lo, hi = _sphere_voxel_range(centre_vox[p], r, image.shape, periodic)
        for i in range(lo[0], hi[0] + 1):
            dx = i + 0.5 - centre_vox[p, 0]
            if dx * dx > r2:
                continue
            ii = i % nx
            for j in range(lo[1], hi[1] + 1):
                dy = j + 0.5 - centre_vox[p, 1]
                dxy = dx * dx + dy * dy
                if dxy > r2:
                    continue
                jj = j % ny
                for k in range(lo[2], hi[2] + 1):
                    dz = k + 0.5 - centre_vox[p, 2]
                    if dxy + dz * dz <= r2:
                        image[ii, jj, k % nz] = label


@nb.njit(**_JIT)
def _paint_particle_ids(ids, depth, centre_vox, radius_vox, periodic):
    """ids[v] = p for the sphere p whose surface a voxel centre lies deepest below
    (r - d largest); serial, so overlapping spheres never race."""
    nx, ny, nz = ids.shape
    for p in range(centre_vox.shape[0]):
        r = radius_vox[p]
        r2 = r * r
        lo, hi = _sphere_voxel_range(centre_vox[p], r, ids.shape, periodic)
        for i in range(lo[0], hi[0] + 1):
            dx = i + 0.5 - centre_vox[p, 0]
            for j in range(lo[1], hi[1] + 1):
                dy = j + 0.5 - centre_vox[p, 1]
                dxy = dx * dx + dy * dy
                for k in range(lo[2], hi[2] + 1):
                    dz = k + 0.5 - centre_vox[p, 2]
                    d2 = dxy + dz * dz
                    if d2 <= r2:  # the inside test of _paint_spheres, term for term
                        d = r - math.sqrt(d2)
                        ii, jj, kk = i % nx, j % ny, k % nz
                        if d > depth[ii, jj, kk]:
                            depth[ii, jj, kk] = d
                            ids[ii, jj, kk] = p


# ------------------------------------------------------------------------------- public
def real_radius_um(state: ParticleState) -> np.ndarray:
    """Radius of the real particle volume m/ρ [µm] (no contact expansion)."""
    return np.cbrt(3.0 * state.volume_um3 / (4.0 * math.pi))


def am_size_classes(state: ParticleState, rel_tol: float = 0.01
                    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """AM size distribution of a structure: (class radii [µm], share of the AM volume in each
    class [-]), real radii within ``rel_tol`` of each other pooled (their volume-weighted mean
    radius).  The cell model takes one particle per class (``CathodeParameters``)."""
    radius = np.sort(real_radius_um(state)[state.species == AM_SPECIES])
    if radius.size == 0:
        raise ValueError("am_size_classes: the structure holds no AM particle")
    starts = np.flatnonzero(np.r_[True, np.diff(radius) > rel_tol * radius[:-1]])
    volume = radius ** 3
    class_volume = np.add.reduceat(volume, starts)
    class_radius = np.add.reduceat(volume * radius, starts) / class_volume
    return (tuple(float(r) for r in class_radius),
            tuple(float(v) for v in class_volume / class_volume.sum()))


def voxel_grid(state: ParticleState, voxel_um: float,
               z_range_um: tuple[float, float] | None = None
               ) -> tuple[float, tuple[int, int, int], np.ndarray]:
    """(voxel edge [µm], image shape, origin [µm]) for ``state`` (module docstring)."""
    if not (math.isfinite(voxel_um) and 0 < voxel_um):
        raise ValueError(f"voxel_um must be a positive length in µm, got {voxel_um}")
    z0, z1 = z_range_um if z_range_um is not None else film_bounds_um(state)
    if state.periodic[2] and z_range_um is None:
        z0, z1 = float(state.box_lo_um[2]), float(state.box_hi_um[2])
    lx = float(state.box_len_um[0])
    nx = max(1, round(lx / voxel_um))
    edge = lx / nx
    ny = max(1, round(float(state.box_len_um[1]) / edge))
    nz = max(1, round((z1 - z0) / edge))
    if nx * ny * nz > 2_000_000_000:
        raise ValueError(f"voxel_um = {voxel_um} gives {nx}×{ny}×{nz} voxels; choose a larger "
                         f"voxel")
    origin = np.array([state.box_lo_um[0], state.box_lo_um[1], z0])
    return edge, (nx, ny, nz), origin


def voxelize(state: ParticleState, voxel_um: float = 0.25,
             z_range_um: tuple[float, float] | None = None,
             particle_ids: bool = False) -> Microstructure:
    """Three-phase image of ``state`` (module docstring for the rules).

    Args:
        state: a particle structure (AM and CBD species).
        voxel_um: requested voxel edge [µm]; adjusted to fit the periodic box a whole number of
            times (the adjusted edge is ``Microstructure.voxel_um``).
        z_range_um: (bottom, top) of the imaged slab [µm]; default the film bounds.
        particle_ids: also label each AM voxel with its particle (``Microstructure.am_ids``,
            for particle-resolved electrochemistry).
    """
    edge, shape, origin = voxel_grid(state, voxel_um, z_range_um)
    image = np.zeros(shape, dtype=np.uint8)
    centre = (state.position_um - origin) / edge
    radius = real_radius_um(state) / edge
    periodic = np.array([bool(state.periodic[0]), bool(state.periodic[1]),
                         bool(state.periodic[2]) and z_range_um is None])
    for species, label in ((CBD_SPECIES, CBD), (AM_SPECIES, AM)):
        sel = state.species == species
        if np.any(sel):
            _paint_spheres(image, np.ascontiguousarray(centre[sel]),
                           np.ascontiguousarray(radius[sel]), label, periodic)
    ids = None
    if particle_ids:
        am = state.species == AM_SPECIES
        ids = np.full(shape, -1, dtype=np.int32)
        _paint_particle_ids(ids, np.full(shape, -1.0), np.ascontiguousarray(centre[am]),
                            np.ascontiguousarray(radius[am]), periodic)
    return Microstructure(image=image, voxel_um=edge,
                          source=f"voxelized {state.meta.get('stage', 'structure')} "
                                 f"({state.n} particles)", am_ids=ids)


def film_phase_fractions(state: ParticleState, voxel_um: float) -> dict[str, float]:
    """Pore / AM / CBD volume fractions [-] of the film between its bounds
    (:func:`physics.structure.film_bounds_um`), imaged as :func:`voxelize` does at
    ``voxel_um``: the whole voxel layers below the top, plus the layer the top cuts weighted by
    the share f of it below the top (module docstring).  Continuous in the film thickness,
    unlike the pore fraction of the round(thickness / edge)-layer transport image."""
    z0, z1 = film_bounds_um(state)
    edge = voxel_grid(state, voxel_um)[0]
    layers = (z1 - z0) / edge
    whole = int(math.floor(layers))
    share = layers - whole
    image = voxelize(state, voxel_um, z_range_um=(z0, z0 + (whole + 1) * edge)).image
    if image.shape[2] != whole + 1:  # the grid of the slab is the film's, layer for layer
        raise AssertionError(f"film image has {image.shape[2]} layers, expected {whole + 1}")
    weights = np.ones(whole + 1)
    weights[whole] = share
    counts = np.stack([np.count_nonzero(image == label, axis=(0, 1)) for label in
                       (PORE, AM, CBD)]) @ weights
    return {PHASE_NAMES[k]: float(counts[k] / counts.sum()) for k in (PORE, AM, CBD)}


def cap_volume_below(radius: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Volume of the part of a sphere of ``radius`` below a plane ``height`` above its bottom
    (0 <= height <= 2 radius, clipped): π h² (3 r - h) / 3."""
    h = np.clip(height, 0.0, 2.0 * radius)
    return math.pi * h * h * (3.0 * radius - h) / 3.0


def slab_porosity(state: ParticleState, z_range_um: tuple[float, float]) -> float:
    """1 - Σ V(sphere ∩ slab) / V_slab [-] for the slab z0 <= z <= z1, overlaps ignored."""
    z0, z1 = z_range_um
    r = real_radius_um(state)
    z = state.position_um[:, 2]
    inside = cap_volume_below(r, z1 - (z - r)) - cap_volume_below(r, z0 - (z - r))
    area = float(state.box_len_um[0] * state.box_len_um[1])
    return 1.0 - float(inside.sum()) / (area * (z1 - z0))
