"""Geometry of the particle-resolved 3-D half cell on a voxel image (Step 10 item 1).

The 3-D cell couples fields on the voxel image (electrolyte in pores and nano-porous CBD,
solid potential in AM and CBD) to one radial diffusion model per AM particle through
Butler–Volmer on the faces where AM meets electrolyte.  This module holds what that coupling
needs from the image: the reaction faces, each with its electrolyte voxel, its AM voxel and
the AM particle it belongs to (:attr:`physics.voxel.Microstructure.am_ids`), and the
particles' volumes and reacting areas.

Faces are voxel faces, so a face count overstates a smooth surface's area by 3/2 on average
(Cauchy's projection formula, as :func:`physics.transport.interface_area_per_volume_um`);
:meth:`ReactionFaces.area_um2` applies the 2/3 so each particle keeps its true surface area
in the mean, and the current of each face is the particle's current density times that area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.voxel import AM, CBD, PORE, Microstructure

#: mean face-count overestimate of a smooth surface's area (Cauchy): faces × 2/3 = area
FACE_AREA_FACTOR = 2.0 / 3.0


@dataclass(frozen=True)
class ReactionFaces:
    """The faces between an AM voxel and an electrolyte-carrying voxel (pore or CBD).

    Attributes:
        electrolyte_voxel: flat index (C order, [x, y, z]) of the face's pore or CBD voxel.
        am_voxel: flat index of its AM voxel.
        particle: index of the AM particle (``Microstructure.am_ids``) of that AM voxel.
        through_cbd: the electrolyte side is CBD (the AM surface wetted through its nano-pores)
            rather than an open pore.
        n_particles: number of AM particles (the largest id + 1).
        voxel_um: voxel edge [µm].
    """

    electrolyte_voxel: np.ndarray
    am_voxel: np.ndarray
    particle: np.ndarray
    through_cbd: np.ndarray
    n_particles: int
    voxel_um: float

    @property
    def count(self) -> int:
        return int(self.particle.size)

    def area_um2(self) -> np.ndarray:
        """Reacting area per particle [µm²] (faces × h² × 2/3, module docstring)."""
        faces = np.bincount(self.particle, minlength=self.n_particles)
        return FACE_AREA_FACTOR * faces * self.voxel_um ** 2


def reaction_faces(micro: Microstructure) -> ReactionFaces:
    """Every AM–pore and AM–CBD face of ``micro`` (needs ``am_ids``: voxelize with
    ``particle_ids=True``), in a fixed order (axis, then C order of the lower voxel)."""
    if micro.am_ids is None:
        raise ValueError("reaction faces need the AM particle of each voxel: voxelize(state, "
                         "particle_ids=True)")
    img, ids = micro.image, micro.am_ids
    flat = np.arange(img.size, dtype=np.int64).reshape(img.shape)
    wet = (img == PORE) | (img == CBD)
    e_idx, a_idx, part, cbd = [], [], [], []
    for axis in range(3):
        n = img.shape[axis]
        lo = tuple(slice(0, n - 1) if a == axis else slice(None) for a in range(3))
        hi = tuple(slice(1, n) if a == axis else slice(None) for a in range(3))
        for am_side, wet_side in ((lo, hi), (hi, lo)):
            sel = (img[am_side] == AM) & wet[wet_side]
            e_idx.append(flat[wet_side][sel])
            a_idx.append(flat[am_side][sel])
            part.append(ids[am_side][sel])
            cbd.append(img[wet_side][sel] == CBD)
    particle = np.concatenate(part).astype(np.int32)
    return ReactionFaces(np.concatenate(e_idx), np.concatenate(a_idx), particle,
                         np.concatenate(cbd), int(ids.max()) + 1 if ids.size else 0,
                         micro.voxel_um)


def particle_volumes_um3(micro: Microstructure) -> np.ndarray:
    """Volume of each AM particle in the image [µm³] (its voxels; overlaps split by depth)."""
    if micro.am_ids is None:
        raise ValueError("particle volumes need voxelize(state, particle_ids=True)")
    ids = micro.am_ids[micro.am_ids >= 0]
    return np.bincount(ids, minlength=int(micro.am_ids.max()) + 1) * micro.voxel_um ** 3
