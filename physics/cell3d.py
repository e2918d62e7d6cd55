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

from physics.fem1d import graded_nodes, mass_matrix, stiffness_matrix
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

    @property
    def face_area_m2(self) -> float:
        """Area one face stands for [m²]: h² × 2/3 (module docstring)."""
        return FACE_AREA_FACTOR * (self.voxel_um * 1e-6) ** 2

    def area_um2(self) -> np.ndarray:
        """Reacting area per particle [µm²] (faces × h² × 2/3, module docstring)."""
        faces = np.bincount(self.particle, minlength=self.n_particles)
        return FACE_AREA_FACTOR * faces * self.voxel_um ** 2

    def particle_current_a(self, face_current_a_m2: np.ndarray) -> np.ndarray:
        """Current into each particle [A] from the current density of each face [A/m²]."""
        return np.bincount(self.particle, weights=np.asarray(face_current_a_m2) *
                           self.face_area_m2, minlength=self.n_particles)


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


def equivalent_radius_m(volume_um3: np.ndarray) -> np.ndarray:
    """Radius of the sphere of each particle's voxel volume [m]: the radial model's R, so the
    cell holds the image's AM volume (and capacity) exactly."""
    return np.cbrt(3.0 * np.asarray(volume_um3, dtype=float) / (4.0 * np.pi)) * 1e-6


def particle_volumes_um3(micro: Microstructure) -> np.ndarray:
    """Volume of each AM particle in the image [µm³] (its voxels; overlaps split by depth)."""
    if micro.am_ids is None:
        raise ValueError("particle volumes need voxelize(state, particle_ids=True)")
    ids = micro.am_ids[micro.am_ids >= 0]
    return np.bincount(ids, minlength=int(micro.am_ids.max()) + 1) * micro.voxel_um ** 3


# ------------------------------------------------------------------------ solid diffusion
def _thomas(lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray
            ) -> np.ndarray:
    """Solve tridiagonal systems row-wise (m systems × n unknowns); lower/upper have n - 1
    columns.  Vectorized over the m systems; stable here (diagonally dominant M + sK)."""
    m, n = rhs.shape
    c = np.empty((m, n - 1))
    d = np.empty((m, n))
    c[:, 0] = upper[:, 0] / diag[:, 0]
    d[:, 0] = rhs[:, 0] / diag[:, 0]
    for i in range(1, n):
        den = diag[:, i] - lower[:, i - 1] * c[:, i - 1]
        if i < n - 1:
            c[:, i] = upper[:, i] / den
        d[:, i] = (rhs[:, i] - lower[:, i - 1] * d[:, i - 1]) / den
    x = np.empty((m, n))
    x[:, -1] = d[:, -1]
    for i in range(n - 2, -1, -1):
        x[:, i] = d[:, i] - c[:, i] * x[:, i + 1]
    return x


@dataclass(frozen=True)
class ParticleDiffusion:
    """Fick diffusion in spheres of radius R_p, all particles on one mesh in ξ = r / R
    (linear elements, graded toward the surface; :mod:`physics.fem1d`):

        M dc/dt = −(D / R²) K c − (N / R) e_surface,

    N the molar flux out of the surface [mol m⁻² s⁻¹] (positive = leaving), from the weak
    form of ∂c/∂t = D r⁻² ∂r(r² ∂r c) with −D ∂r c(R) = N.  Since Σ_j M_ij-columns integrate
    to the volume and 1ᵀK = 0, the discrete lithium content 4πR³ 1ᵀ M c changes by exactly
    −4πR² N per unit time.  One implicit (backward Euler) step solves a tridiagonal system per
    particle, all particles at once.

    Attributes:
        radius_m: particle radii [m], > 0.
        diffusivity_m2_s: D [m²/s], > 0.
        nodes: ξ nodes in [0, 1].
    """

    radius_m: np.ndarray
    diffusivity_m2_s: float
    nodes: np.ndarray

    @classmethod
    def on_mesh(cls, radius_m, diffusivity_m2_s: float, n_elements: int = 12,
                surface_ratio: float = 0.3) -> ParticleDiffusion:
        radius = np.asarray(radius_m, dtype=float)
        if radius.ndim != 1 or radius.size == 0 or not np.all(radius > 0):
            raise ValueError("radius_m must be a non-empty list of radii > 0 [m]")
        if not diffusivity_m2_s > 0:
            raise ValueError(f"diffusivity_m2_s must be > 0, got {diffusivity_m2_s}")
        return cls(radius, float(diffusivity_m2_s),
                   graded_nodes(1.0, n_elements, surface_ratio))

    def _matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m = mass_matrix(self.nodes, "spherical")
        k = stiffness_matrix(self.nodes, 1.0, "spherical")
        return (m.diagonal(), m.diagonal(1), k.diagonal(), k.diagonal(1))

    def content_mol(self, c: np.ndarray) -> np.ndarray:
        """Lithium per particle [mol]: 4π R³ 1ᵀ M c (c in mol/m³, particles × nodes)."""
        m0, m1, _, _ = self._matrices()
        mc = c * m0 + np.pad(c[:, 1:] * m1, ((0, 0), (0, 1))) + \
            np.pad(c[:, :-1] * m1, ((0, 0), (1, 0)))
        return 4 * np.pi * self.radius_m ** 3 * mc.sum(axis=1)

    def step(self, c: np.ndarray, flux_out_mol_m2_s: np.ndarray, dt_s: float) -> np.ndarray:
        """c after one backward-Euler step of ``dt_s`` with the surface fluxes N (one per
        particle); c is (particles × nodes) [mol/m³]."""
        m0, m1, k0, k1 = self._matrices()
        s = (dt_s * self.diffusivity_m2_s / self.radius_m ** 2)[:, None]
        diag = m0[None, :] + s * k0[None, :]
        off = m1[None, :] + s * k1[None, :]
        rhs = c * m0 + np.pad(c[:, 1:] * m1, ((0, 0), (0, 1))) + \
            np.pad(c[:, :-1] * m1, ((0, 0), (1, 0)))
        rhs[:, -1] -= dt_s * np.asarray(flux_out_mol_m2_s, dtype=float) / self.radius_m
        return _thomas(off, diag, off, rhs)

    def surface_response(self, c: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) per particle such that, after one :meth:`step` of ``dt_s`` with surface
        flux N, the surface concentration is a + b N [mol/m³]: the particle eliminated from
        the coupled Newton system, which then carries one flux per particle (b < 0)."""
        a = self.step(c, np.zeros(self.radius_m.size), dt_s)[:, -1]
        unit = self.step(np.zeros_like(c), np.ones(self.radius_m.size), dt_s)[:, -1]
        return a, unit
