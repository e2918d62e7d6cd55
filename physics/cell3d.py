"""Particle-resolved 3-D half cell on a voxel image (Step 10 item 1, first version).

The cell couples fields on the voxel image (electrolyte in pores and nano-porous CBD, solid
potential in AM and CBD) to one radial diffusion model per AM particle through Butler–Volmer
on the faces where AM meets electrolyte (:class:`HalfCell3D`, :func:`discharge_3d`).  This
module holds the pieces: the reaction faces, each with its electrolyte voxel, its AM voxel
and the AM particle it belongs to (:attr:`physics.voxel.Microstructure.am_ids`); the
particles' volumes and reacting areas; the radial solid diffusion of every particle
(:class:`ParticleDiffusion`), one implicit step for all particles at once; and the coupled
backward-Euler Newton solve.

Faces are voxel faces, so a face count overstates a smooth surface's area by 3/2 on average
(Cauchy's projection formula, as :func:`physics.transport.interface_area_per_volume_um`);
:meth:`ReactionFaces.area_um2` applies the 2/3 so each particle keeps its true surface area
in the mean, and the current of each face is the particle's current density times that area.

Time stepping is backward Euler with a local error estimate on the cell voltage (Milne's
device: the step against the extrapolation of the last two); each step is one Newton solve
whose linear systems GMRES solves with a block Gauss–Seidel preconditioner
(:class:`BlockPreconditioner`: sparse LU of the c_e, φ_e and φ_s blocks, the collector
potential by its Schur complement), factorized once per step.

Validation (tests/test_cell3d.py): the radial model against Crank's constant-flux sphere
(0.14 %); on a laterally uniform image the 3-D discharge matches the P2D given the same
electrode within 0.12 % in capacity and 1.0 mV RMS before the cut-off; a single particle on
the collector follows its closed form (Crank surface concentration, Butler–Volmer, foil)
within 0.7 mV RMS; lithium is conserved to 1e-10.  Electrolyte transport properties are
frozen per step; the Li foil is a uniform plane.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

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

    @cached_property
    def _matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Diagonals of M and K on the ξ mesh, assembled once."""
        m = mass_matrix(self.nodes, "spherical")
        k = stiffness_matrix(self.nodes, 1.0, "spherical")
        return (m.diagonal(), m.diagonal(1), k.diagonal(), k.diagonal(1))

    def content_mol(self, c: np.ndarray) -> np.ndarray:
        """Lithium per particle [mol]: 4π R³ 1ᵀ M c (c in mol/m³, particles × nodes)."""
        m0, m1, _, _ = self._matrices
        mc = c * m0 + np.pad(c[:, 1:] * m1, ((0, 0), (0, 1))) + \
            np.pad(c[:, :-1] * m1, ((0, 0), (1, 0)))
        return 4 * np.pi * self.radius_m ** 3 * mc.sum(axis=1)

    def step(self, c: np.ndarray, flux_out_mol_m2_s: np.ndarray, dt_s: float) -> np.ndarray:
        """c after one backward-Euler step of ``dt_s`` with the surface fluxes N (one per
        particle); c is (particles × nodes) [mol/m³]."""
        m0, m1, k0, k1 = self._matrices
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


# ------------------------------------------------------------------------ the 3-D half cell
SEPARATOR = 3  # label of the homogenized separator layers stacked on the image


@dataclass(frozen=True)
class Discharge3D:
    """A galvanostatic discharge of the 3-D half cell.

    Attributes:
        time_s, voltage_v, capacity_mah_g: the curve (capacity per gram of AM in the image).
        current_a_m2: applied current density [A/m²]; end_reason: why it stopped.
        newton_iterations, gmres_iterations: per accepted step; rejected_steps: steps
            retried shorter (error control or Newton failure); lithium_error: relative Li
            balance error at the end [-].
        reacting_particles / particles: AM particles with a reaction face and a path to the
            collector, of all AM particles.
        snapshot_capacity_mah_g: capacity of the snapshot (the first state at or beyond the
            requested depth of discharge, else the last); observables: the Fig. 7C
            observables there (:meth:`HalfCell3D.observables`); particle_stoichiometry: mean
            c_s/c_max of each AM particle there (NaN: not reacting), indexed by
            ``Microstructure.am_ids``.
        salt_error: relative change of the salt in the electrolyte over the discharge [-]
            (the foil's (1 − t+) I/F in, the same out at the reaction faces: 0 to the Newton
            tolerance); active_mass_g_m2: AM of the image per collector area [g/m²].
    """

    time_s: np.ndarray
    voltage_v: np.ndarray
    capacity_mah_g: np.ndarray
    current_a_m2: float
    end_reason: str
    newton_iterations: tuple[int, ...]
    gmres_iterations: tuple[int, ...]
    rejected_steps: int
    lithium_error: float
    reacting_particles: int
    particles: int
    snapshot_capacity_mah_g: float = float("nan")
    observables: dict = field(default_factory=dict)
    particle_stoichiometry: np.ndarray | None = None
    salt_error: float = float("nan")
    active_mass_g_m2: float = float("nan")


def lattice_image(layers_of_cubes: int = 10) -> Microstructure:
    """The P2D check's image: 2×2×2-voxel AM cubes (one particle each) on a pitch-3
    lattice, ``layers_of_cubes`` layers, between two CBD walls that carry the electrons, 1 µm
    voxels; every layer alike, so the 3-D cell is a P2D electrode (tests/test_cell3d.py,
    benchmarks/cell3d.py)."""
    n, nz = 6, 3 * layers_of_cubes
    img = np.full((n, n, nz), PORE, dtype=np.uint8)
    ids = np.full(img.shape, -1, dtype=np.int32)
    k = 0
    for i in (0, 3):
        for j in (0, 3):
            for z in range(0, nz, 3):
                img[i:i + 2, j:j + 2, z:z + 2] = AM
                ids[i:i + 2, j:j + 2, z:z + 2] = k
                k += 1
    img[[2, 5], :, :] = CBD
    return Microstructure(img, 1.0, am_ids=ids)


def equivalent_p2d(cell: HalfCell3D, micro: Microstructure, params,
                   electronic_conductivity_s_m: float):
    """The P2D parameters (physics/cell.py) of the electrode a laterally uniform image
    stands for: its thickness, porosity, AM and CBD fractions, voxel τ_z of the pores, the
    reacting area per volume of ``cell`` as spheres (R = 3 ε_AM / a, so both models hold
    the same Li and area) and the given σ_eff; the rest from ``params``."""
    import dataclasses

    from physics.transport import solve_field

    img = micro.image
    area_per_volume = cell.f_e.size * cell.face_area / (img.size * (micro.voxel_um * 1e-6) ** 3)
    eps, am = float(np.mean(img == PORE)), float(np.mean(img == AM))
    tau = eps / solve_field((img == PORE).astype(float), 2).k_eff
    return dataclasses.replace(params, cathode=dataclasses.replace(
        params.cathode, thickness_m=img.shape[2] * micro.voxel_um * 1e-6, porosity=eps,
        active_volume_fraction=am, cbd_volume_fraction=float(np.mean(img == CBD)),
        tortuosity_factor=tau, electronic_conductivity_s_m=electronic_conductivity_s_m,
        particle_radii_m=(3 * am / area_per_volume,), particle_volume_fractions=(1.0,)))


def _axis_pairs(shape: tuple[int, int, int]):
    """(lower, upper) flat indices of every voxel face, per axis (C order)."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    for axis in range(3):
        n = shape[axis]
        lo = tuple(slice(0, n - 1) if a == axis else slice(None) for a in range(3))
        hi = tuple(slice(1, n) if a == axis else slice(None) for a in range(3))
        yield axis, flat[lo].ravel(), flat[hi].ravel()


class HalfCell3D:
    """Particle-resolved half cell on a voxel image (Step 10 item 1): porous cathode image |
    homogenized separator layers | Li foil, with the P2D's equations (physics/cell.py) written
    in finite volumes on the voxels and one radial diffusion model per AM particle.

    Unknowns: salt concentration c_e and potential φ_e in every electrolyte-carrying voxel
    (pore, CBD nano-pores with ε_CBD and ε_CBD^1.5 transport, separator with ε_sep and
    ε_sep/τ_sep) connected to the foil; solid potential φ_s in every AM or CBD voxel connected
    to the collector (bulk σ per phase, contact conductances in series on particle contacts);
    the Li flux N_p out of each reacting particle; the collector potential V.  Butler–Volmer
    (:func:`physics.cell.butler_volmer`) on every reaction face with that particle's surface
    concentration c_s = a_p + b_p N_p (:meth:`ParticleDiffusion.surface_response`, so each
    backward-Euler step is one Newton solve).  The foil: a plane at φ_e = −η_Li(I) above the
    separator (uniform foil current), salt entering there at (1 − t+) I / F.  Electrolyte
    transport properties are evaluated at the start of each step (semi-implicit in κ(c),
    D(c)); the kinetics and all couplings are implicit.

    Args: ``sigma_am_s_m``, ``sigma_cbd_s_m``: bulk conductivities [S/m]; ``contact``: a
    :class:`physics.transport.ContactConductance`; ``separator_layers``: homogenized separator
    voxel layers (<= 0: the separator thickness over the voxel edge); ``radial_elements``:
    elements along each particle radius.
    """

    def __init__(self, micro: Microstructure, params, *, sigma_am_s_m: float = 5e-3,
                 sigma_cbd_s_m: float = 10.0, contact=None, separator_layers: int = 4,
                 radial_elements: int = 10):
        from physics.cell_params import FARADAY
        from physics.impedance3d import connected_to_top
        from physics.ocp import ocp_function
        from physics.transport import (
            ContactConductance,
            contact_faces,
            in_series_with_contacts,
        )

        if micro.am_ids is None:
            raise ValueError("the 3-D cell needs voxelize(state, particle_ids=True)")
        if not (micro.image[:, :, 0] == AM).any() and not (micro.image[:, :, 0] == CBD).any():
            raise ValueError("no AM or CBD touches the current collector (the z = 0 plane of "
                             "the image holds only pore)")
        self.p = params
        cat, sep = params.cathode, params.separator
        self.ocp = ocp_function(cat.ocp)
        self.h = micro.voxel_um * 1e-6
        nx, ny, nz = micro.shape
        n_sep = max(1, int(round(sep.thickness_m / self.h))) if separator_layers <= 0 \
            else separator_layers
        self.area_m2 = nx * ny * self.h ** 2
        # electrolyte grid: the image with separator layers on top
        ext = np.concatenate([micro.image, np.full((nx, ny, n_sep), SEPARATOR, np.uint8)], 2)
        self.ext_shape = ext.shape
        storage = np.select([ext == PORE, ext == CBD, ext == SEPARATOR],
                            [1.0, cat.cbd_porosity, sep.porosity], 0.0)
        transport = np.select([ext == PORE, ext == CBD, ext == SEPARATOR],
                              [1.0, cat.cbd_porosity ** 1.5,
                               sep.porosity / sep.tortuosity_factor], 0.0)
        wet = np.moveaxis(connected_to_top(np.moveaxis(transport > 0, 2, 0)), 0, 2)
        e_index = np.full(ext.size, -1, dtype=np.int64)
        e_index[wet.ravel()] = np.arange(int(wet.sum()))
        self.n_e = int(wet.sum())
        self.e_voxels = np.flatnonzero(wet.ravel())  # extended-grid voxel of each c_e, φ_e
        self.storage = storage.ravel()[wet.ravel()] * self.h ** 3  # electrolyte volume [m³]
        tr = transport.ravel()
        ea, eb, ew, eax = [], [], [], []
        for axis, lo, hi in _axis_pairs(ext.shape):
            ok = (e_index[lo] >= 0) & (e_index[hi] >= 0)
            eax.append(np.full(int(ok.sum()), axis, dtype=np.int8))
            ta, tb = tr[lo[ok]], tr[hi[ok]]
            ea.append(e_index[lo[ok]])
            eb.append(e_index[hi[ok]])
            ew.append(2 * ta * tb / (ta + tb) * self.h)
        self.e_a, self.e_b, self.e_w = (np.concatenate(x) for x in (ea, eb, ew))
        # z faces of the electrolyte inside the image (not the separator layers)
        z_face = np.concatenate(eax) == 2
        self.e_z_faces = np.flatnonzero(z_face & (self.e_voxels[self.e_b] % (nz + n_sep) < nz))
        top = np.zeros(ext.shape, dtype=bool)
        top[:, :, -1] = True
        top_sel = top.ravel() & wet.ravel()
        self.top_e = e_index[top_sel]
        self.top_w = 2 * tr[top_sel] * self.h  # half voxel to the foil plane
        # solid grid (image only), collector below z = 0
        contact = contact or ContactConductance()
        img = micro.image
        sigma = np.select([img == AM, img == CBD], [sigma_am_s_m, sigma_cbd_s_m], 0.0)
        solid = np.moveaxis(connected_to_top(np.moveaxis(sigma > 0, 2, 0)[::-1])[::-1], 0, 2)
        s_index = np.full(img.size, -1, dtype=np.int64)
        s_index[solid.ravel()] = np.arange(int(solid.sum()))
        self.n_s = int(solid.sum())
        self.s_voxels = np.flatnonzero(solid.ravel())  # image voxel of each φ_s
        if self.n_s == 0:
            raise ValueError("no solid path from the current collector into the image")
        sg = sigma.ravel()
        contacts = None if contact.none else contact_faces(micro, contact)
        sa, sb, sw, s_axis = [], [], [], []
        for axis, lo, hi in _axis_pairs(img.shape):
            ok = (s_index[lo] >= 0) & (s_index[hi] >= 0)
            s_axis.append(np.full(int(ok.sum()), axis, dtype=np.int8))
            ga, gb = sg[lo[ok]], sg[hi[ok]]
            g = 2 * ga * gb / (ga + gb) * self.h
            if contacts is not None:
                # contact_faces gives G·h (σ units, per voxel edge); a face carries G·h²
                g = in_series_with_contacts(g, contacts[axis].ravel()[ok] * self.h)
            sa.append(s_index[lo[ok]])
            sb.append(s_index[hi[ok]])
            sw.append(g)
        self.s_a, self.s_b, self.s_w = (np.concatenate(x) for x in (sa, sb, sw))
        self.s_axis = np.concatenate(s_axis)
        self.s_is_cbd = img.ravel()[self.s_voxels] == CBD
        self.image_volume_m3 = img.size * self.h ** 3
        bottom = np.zeros(img.shape, dtype=bool)
        bottom[:, :, 0] = True
        bot_sel = bottom.ravel() & solid.ravel()
        self.bot_s = s_index[bot_sel]
        self.bot_w = 2 * sg[bot_sel] * self.h
        # reaction faces between the two, per particle
        faces = reaction_faces(micro)
        # image flat index -> extended flat index (same x, y, z; z-stride grows by n_sep)
        iz = faces.electrolyte_voxel % nz
        ixy = faces.electrolyte_voxel // nz
        ext_flat = ixy * (nz + n_sep) + iz
        keep = (e_index[ext_flat] >= 0) & (s_index[faces.am_voxel] >= 0)
        self.f_e = e_index[ext_flat[keep]]
        self.f_s = s_index[faces.am_voxel[keep]]
        volumes = particle_volumes_um3(micro)
        reacting = np.unique(faces.particle[keep])
        self.reacting_ids = reacting
        p_index = np.full(faces.n_particles, -1, dtype=np.int64)
        p_index[reacting] = np.arange(reacting.size)
        self.f_p = p_index[faces.particle[keep]]
        self.face_area = faces.face_area_m2
        self.n_particles_all = faces.n_particles
        self.n_p = int(reacting.size)
        if self.n_p == 0:
            am_connected = bool(np.any(img.ravel()[self.s_voxels] == AM))
            raise ValueError(
                "no AM particle can react: " + (
                    "no pore (or CBD nano-pore) path from the separator reaches an AM surface "
                    "that is connected to the collector" if am_connected else
                    "no AM particle is electronically connected to the current collector "
                    "(no AM touches the collector or a solid path to it)"))
        radius = equivalent_radius_m(volumes[reacting])
        self.radius = radius
        self.diffusion = ParticleDiffusion.on_mesh(radius, cat.solid_diffusivity_m2_s,
                                                   radial_elements)
        self.am_mass_g = float(volumes.sum()) * 1e-18 * cat.active_density_kg_m3 * 1e3
        self.c_max = cat.max_concentration_mol_m3
        self.F = FARADAY
        self._pattern = None  # the Jacobian's CSR pattern, found at its first assembly

    # ------------------------------------------------------------------ layout
    def split(self, y):
        n_e, n_s, n_p = self.n_e, self.n_s, self.n_p
        return (y[:n_e], y[n_e:2 * n_e], y[2 * n_e:2 * n_e + n_s],
                y[2 * n_e + n_s:2 * n_e + n_s + n_p], y[-1])

    @property
    def size(self) -> int:
        return 2 * self.n_e + self.n_s + self.n_p + 1

    # ------------------------------------------------------------------ physics
    def electrolyte_properties(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(D [m²/s], κ [S/m]) of the salt at c [mol/m³] (the P2D's property set)."""
        from physics.cell import electrolyte_properties

        return electrolyte_properties(self.p, c)

    def kinetics(self, ce, cs, dphi):
        """Face current density i [A/m²] (anodic > 0) and its derivatives by η, c_e, c_s."""
        from physics.cell_params import GAS_CONSTANT

        cat = self.p.cathode
        f = self.F / (2.0 * GAS_CONSTANT * self.p.temperature_k)
        cs = np.clip(cs, 1e-6 * self.c_max, (1 - 1e-6) * self.c_max)
        ce = np.maximum(ce, 1e-6)
        s = cs / self.c_max
        eta = dphi - self.ocp(s)
        i0 = self.F * cat.reaction_rate_constant * np.sqrt(ce * cs * (self.c_max - cs))
        sh, ch = np.sinh(f * eta), np.cosh(f * eta)
        i = 2 * i0 * sh
        di_deta = 2 * i0 * f * ch
        di_dce = i / (2 * ce)
        di_dcs = i * (self.c_max - 2 * cs) / (2 * cs * (self.c_max - cs)) - \
            di_deta * self.ocp.derivative(s) / self.c_max
        return i, di_deta, di_dce, di_dcs

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(y, c_s): uniform salt, particles at the initial stoichiometry, potentials at
        rest (φ_e = 0, φ_s = V = U(s0)), no flux."""
        cat = self.p.cathode
        u0 = float(self.ocp(cat.initial_stoichiometry))
        y = np.zeros(self.size)
        y[:self.n_e] = self.p.electrolyte.initial_concentration_mol_m3
        y[2 * self.n_e:2 * self.n_e + self.n_s] = u0
        y[-1] = u0
        cs = np.full((self.n_p, self.diffusion.nodes.size),
                     cat.initial_stoichiometry * self.c_max)
        return y, cs

    def lithium_mol(self, cs: np.ndarray) -> float:
        """Li held by the reacting particles [mol]."""
        return float(self.diffusion.content_mol(cs).sum())

    def face_current_a_m2(self, y: np.ndarray, cs: np.ndarray, dt: float) -> np.ndarray:
        """Current density of every reaction face [A/m²] (anodic > 0) in state ``y`` at the
        end of a step of ``dt`` from particle profiles ``cs``."""
        ce, pe, ps, flux, _ = self.split(y)
        a, b = self.diffusion.surface_response(cs, dt)
        surface = a[self.f_p] + b[self.f_p] * flux[self.f_p]
        return self.kinetics(ce[self.f_e], surface, ps[self.f_s] - pe[self.f_e])[0]

    def observables(self, y: np.ndarray, face_current_a_m2: np.ndarray,
                    active_fraction: float = 0.1) -> dict[str, float]:
        """The paper's Fig. 7C observables of a state (Ngandjong et al. 2021, §3.3):
        ``inverse_mean_li_gradient_m4_mol``: 1 / mean |∂c_e/∂z| over the electrolyte z faces
        inside the electrode [m⁴/mol] (high: uniform salt, good ionic transport);
        ``inverse_sd_cbd_current_m2_a``: 1 / standard deviation over the CBD voxels of the
        electronic current density magnitude [m²/A] (each component the mean of the voxel's
        two faces; high: homogeneous CBD current);
        ``active_am_area_m2_m3``: AM area of the reaction faces carrying at least
        ``active_fraction`` of the mean face current, per electrode volume [m²/m³]
        (smooth-surface area: the faces' 2/3), beside ``connected_am_area_m2_m3`` (all
        faces wetted and electronically connected)."""
        ce, _, ps, _, _ = self.split(y)
        zf = self.e_z_faces
        grad = np.abs(ce[self.e_a[zf]] - ce[self.e_b[zf]]) / self.h
        # per solid voxel: each axis component the mean of its two faces' current densities
        j_face = self.s_w * (ps[self.s_a] - ps[self.s_b]) / self.h ** 2
        comp = np.zeros((3, self.n_s))
        for axis in range(3):
            on = self.s_axis == axis
            np.add.at(comp[axis], self.s_a[on], 0.5 * j_face[on])
            np.add.at(comp[axis], self.s_b[on], 0.5 * j_face[on])
        j_cbd = np.sqrt((comp[:, self.s_is_cbd] ** 2).sum(axis=0))
        mag = np.abs(face_current_a_m2)
        active = mag >= active_fraction * mag.mean() if mag.size else mag > 0
        area = self.face_area / self.image_volume_m3  # face_area holds the 2/3
        return {
            "inverse_mean_li_gradient_m4_mol": float(1.0 / max(grad.mean(), 1e-300))
            if grad.size else float("nan"),
            "mean_li_gradient_mol_m4": float(grad.mean()) if grad.size else float("nan"),
            "inverse_sd_cbd_current_m2_a": float(1.0 / max(j_cbd.std(), 1e-300))
            if j_cbd.size else float("nan"),
            "sd_cbd_current_a_m2": float(j_cbd.std()) if j_cbd.size else float("nan"),
            "active_am_area_m2_m3": float(area * active.sum()),
            "connected_am_area_m2_m3": float(area * mag.size),
        }

    def particle_stoichiometry(self, cs: np.ndarray) -> np.ndarray:
        """Mean c_s / c_max of every AM particle of the image (NaN where it never reacts)."""
        out = np.full(self.n_particles_all, np.nan)
        volume = 4.0 / 3.0 * np.pi * self.radius ** 3
        out[self.reacting_ids] = self.diffusion.content_mol(cs) / volume / self.c_max
        return out

    def _foil_potential(self, i_app: float, c_top: float) -> float:
        from physics.cell_params import GAS_CONSTANT

        foil, e = self.p.lithium_foil, self.p.electrolyte
        i0 = foil.exchange_current_density_a_m2 * (max(c_top, 1e-6) /
                                                   e.initial_concentration_mol_m3) ** 0.3
        eta = 2 * GAS_CONSTANT * self.p.temperature_k / self.F * np.arcsinh(i_app / (2 * i0))
        return -float(eta)

    def residual_and_jacobian(self, y, ce_old, dt, props, a, b, i_app):
        """R(y) and ∂R/∂y (sparse) of one backward-Euler step (class docstring)."""
        from scipy import sparse

        n_e, n_s, n_p = self.n_e, self.n_s, self.n_p
        o_pe, o_ps, o_n, o_v = n_e, 2 * n_e, 2 * n_e + n_s, self.size - 1
        ce, pe, ps, flux, v = self.split(y)
        d_face, k_face, kd_face, k_top, phi_foil, salt_in = props
        t_plus = self.p.electrolyte.transference_number
        rows, cols, vals = [], [], []
        res = np.zeros(self.size)

        def add(r, c, v_):
            rows.append(np.broadcast_to(r, np.shape(v_)).ravel())
            cols.append(np.broadcast_to(c, np.shape(v_)).ravel())
            vals.append(np.asarray(v_, dtype=float).ravel())

        def laplacian(offset_row, offset_col, ia, ib, w, x):
            """Rows ia/ib get ±w (x_a − x_b); Jacobian entries on columns offset_col."""
            q = w * (x[ia] - x[ib])
            np.add.at(res, offset_row + ia, q)
            np.add.at(res, offset_row + ib, -q)
            for r_, c_, s_ in ((ia, ia, w), (ia, ib, -w), (ib, ib, w), (ib, ia, -w)):
                add(offset_row + r_, offset_col + c_, s_)

        a_, b_ = self.e_a, self.e_b
        # salt
        res[:n_e] += self.storage * (ce - ce_old) / dt
        add(np.arange(n_e), np.arange(n_e), self.storage / dt)
        laplacian(0, 0, a_, b_, d_face, ce)
        np.add.at(res, self.top_e, -salt_in)
        # electrolyte potential: migration and diffusion potential
        laplacian(o_pe, o_pe, a_, b_, k_face, pe)
        lnc = np.log(np.maximum(ce, 1e-6))
        q = kd_face * (lnc[a_] - lnc[b_])
        np.add.at(res, o_pe + a_, -q)
        np.add.at(res, o_pe + b_, q)
        for r_, c_, sgn in ((a_, a_, -1), (a_, b_, 1), (b_, b_, -1), (b_, a_, 1)):
            add(o_pe + r_, c_, sgn * kd_face / np.maximum(ce[c_], 1e-6))
        res[o_pe + self.top_e] += k_top * (pe[self.top_e] - phi_foil)
        add(o_pe + self.top_e, o_pe + self.top_e, k_top)
        # solid potential and the collector
        laplacian(o_ps, o_ps, self.s_a, self.s_b, self.s_w, ps)
        res[o_ps + self.bot_s] += self.bot_w * (ps[self.bot_s] - v)
        add(o_ps + self.bot_s, o_ps + self.bot_s, self.bot_w)
        add(o_ps + self.bot_s, o_v, -self.bot_w)
        res[o_v] = float(np.sum(self.bot_w * (ps[self.bot_s] - v))) - i_app * self.area_m2
        add(np.full(self.bot_s.size, o_v), o_ps + self.bot_s, self.bot_w)
        add(o_v, o_v, -float(self.bot_w.sum()))
        # particles: 4πR² F N − Σ I_f
        sphere = 4 * np.pi * self.radius ** 2 * self.F
        res[o_n:o_n + n_p] += sphere * flux
        add(o_n + np.arange(n_p), o_n + np.arange(n_p), sphere)
        # reaction faces
        fe, fs, fp, area = self.f_e, self.f_s, self.f_p, self.face_area
        cs = a[fp] + b[fp] * flux[fp]
        i, di_eta, di_ce, di_cs = self.kinetics(ce[fe], cs, ps[fs] - pe[fe])
        current = i * area
        src = (1 - t_plus) / self.F
        np.add.at(res, fe, -src * current)
        np.add.at(res, o_pe + fe, -current)
        np.add.at(res, o_ps + fs, current)
        np.add.at(res, o_n + fp, -current)
        d = {"ce": (fe, area * di_ce), "pe": (o_pe + fe, -area * di_eta),
             "ps": (o_ps + fs, area * di_eta), "n": (o_n + fp, area * di_cs * b[fp])}
        for row, sign in ((fe, -src), (o_pe + fe, -1.0), (o_ps + fs, 1.0), (o_n + fp, -1.0)):
            for col, dv in d.values():
                add(row, col, sign * dv)
        if self._pattern is None:  # the entries' places are the same at every call
            linear = np.concatenate(rows) * self.size + np.concatenate(cols)
            places, slot = np.unique(linear, return_inverse=True)
            indptr = np.searchsorted(places // self.size, np.arange(self.size + 1))
            self._pattern = (indptr, places % self.size, slot, places.size)
        indptr, indices, slot, nnz = self._pattern
        data = np.bincount(slot, weights=np.concatenate(vals), minlength=nnz)
        jac = sparse.csr_matrix((data, indices, indptr), shape=(self.size, self.size))
        return res, jac

    def step_properties(self, ce, i_app):
        """Face transport coefficients at the start of a step, the foil plane potential and
        the salt entering at the foil per top voxel."""
        from physics.cell_params import GAS_CONSTANT

        e = self.p.electrolyte
        _, kap = self.electrolyte_properties(ce)
        cf = 0.5 * (ce[self.e_a] + ce[self.e_b])
        d_f, k_f = self.electrolyte_properties(cf)
        kd = 2 * GAS_CONSTANT * self.p.temperature_k / self.F * (1 - e.transference_number) \
            * e.thermodynamic_factor
        k_top = kap[self.top_e] * self.top_w
        salt = (1 - e.transference_number) * i_app * self.area_m2 / self.F
        share = self.top_w / self.top_w.sum()
        return (d_f * self.e_w, k_f * self.e_w, kd * k_f * self.e_w, k_top,
                self._foil_potential(i_app, float(np.mean(ce[self.top_e]))), salt * share)


#: Field blocks up to this many unknowns are factorized by sparse LU, larger ones get an
#: algebraic-multigrid V-cycle (:class:`BlockPreconditioner`).
LU_MAX_BLOCK_UNKNOWNS = 50_000


class BlockPreconditioner:
    """Block-triangular preconditioner of the Newton Jacobian for GMRES.

    The unknowns come in blocks [c_e | φ_e | φ_s, V | N].  z = M⁻¹ r solves the solid block
    (φ_s with the collector potential V, eliminated through the bordered block's Schur
    complement) from its residual alone, c_e from its own and then φ_e with the c_e found
    moved to the right side, and last the particle fluxes N (diagonal) with all the others
    moved there.  The solid block runs in a second thread beside c_e → φ_e
    (:func:`_solid_thread`): dropping its coupling to the electrolyte blocks cost no GMRES
    iterations on Jacobians of the `fast` film at 0.5 µm (22, 10, 22 against 31, 11, 22 in
    the order c_e → φ_e → φ_s).  The three field blocks are scalar 3-D diffusion operators
    plus the reaction and storage diagonals (symmetric, positive definite).  A block of up
    to :data:`LU_MAX_BLOCK_UNKNOWNS` unknowns is solved exactly by its sparse LU (SuperLU);
    a larger one by one V-cycle of a classical Ruge–Stüben algebraic multigrid hierarchy
    (:class:`physics.amg.VCycle`: pyamg's set-up, numba kernels that release the GIL; one
    forward Gauss–Seidel sweep down, one backward sweep up, half the smoothing of pyamg's
    default symmetric sweeps: 0.11 against 0.16 CPU s per GMRES iteration for 1.2× the
    iterations).  Why not one hierarchy over the coupled (φ_e, φ_s) block (a resistor
    network, symmetric M-matrix): Ruge–Stüben coarsens it badly (operator complexity 2.95)
    and GMRES needed 35–41 iterations against 21 on the same Jacobians; with exact (LU)
    block solves the block-triangular M needs 5–10, so the V-cycles' accuracy and the
    neglected couplings share the count.

    Why both: on the calendered `ci` film at 1 µm (blocks of 1–3·10⁴ unknowns) the LUs
    cost ~0.5 CPU s per set-up and give ~10 GMRES iterations per Newton iteration, where a
    V-cycle's Python overhead per level makes the multigrid 2–3× slower over a discharge;
    at 0.5 µm (blocks of ~10⁵) one set-up of the LUs costs 24 CPU s and grows
    superlinearly (3-D fill), the hierarchies 2.7 s and linearly, for ~20–30 GMRES
    iterations per Newton iteration.  Why algebraic and not the transport solver's geometric
    V-cycle: the solid block holds the 2000× AM/CBD conductivity contrast, and geometric
    coarsening across it needed 215 preconditioned CG iterations on φ_s and ~950 GMRES
    iterations on the whole; Ruge–Stüben coarsens along the strong couplings.  The
    preconditioner is kept across Newton iterations and time steps (:func:`discharge_3d`
    sets it up afresh after a failed step or where the GMRES count per Newton iteration
    doubles against the count right after the last set-up).
    """

    def __init__(self, cell: HalfCell3D, jac) -> None:
        from scipy.sparse import linalg as sparse_linalg

        n_e, n_s = cell.n_e, cell.n_s
        e, s, v = n_e, 2 * n_e, 2 * n_e + n_s
        self.slices = (slice(0, e), slice(e, s), slice(s, v), slice(v, cell.size - 1))
        jac = jac.tocsr()
        self.rows = [jac[k] for k in self.slices] + [jac[-1:]]
        self.block_solves = [_block_solver(jac[k, k]) for k in self.slices[:3]]
        diag = jac.diagonal()
        self.diag_n = diag[self.slices[3]]
        # bordered (φ_s, V) block: [[A, c], [rᵀ, d]]
        a_s = jac[self.slices[2], self.slices[2]]
        c_col = jac[self.slices[2], -1].toarray().ravel()
        self.v_row = jac[-1, self.slices[2]].toarray().ravel()
        solve_s = self.block_solves[2]
        if getattr(solve_s, "exact", False):
            self.w = solve_s(c_col)
        else:
            m_op = sparse_linalg.LinearOperator(a_s.shape, matvec=solve_s)
            self.w, _ = sparse_linalg.cg(a_s, c_col, rtol=1e-10, maxiter=200, M=m_op)
        self.schur = float(diag[-1] - self.v_row @ self.w)
        self.gmres_at_setup: float | None = None  # GMRES per Newton iteration after set-up

    def solve(self, r: np.ndarray) -> np.ndarray:
        """z = M⁻¹ r: the solid block in a second thread (where it is a V-cycle and the
        process has two CPUs; SuperLU's solves stay in one thread) while c_e and then φ_e
        are solved in this one, then N."""
        z = np.zeros(r.shape)
        pool = None if getattr(self.block_solves[2], "exact", False) else _solid_thread()
        solid = pool.submit(self._solve_solid, r) if pool is not None else None
        sl = self.slices[0]
        z[sl] = self.block_solves[0](r[sl])
        sl = self.slices[1]
        z[sl] = self.block_solves[1](r[sl] - self.rows[1] @ z)
        z[self.slices[2]], z[-1] = solid.result() if solid is not None else \
            self._solve_solid(r)
        sl = self.slices[3]
        z[sl] = (r[sl] - self.rows[3] @ z) / self.diag_n
        return z

    def _solve_solid(self, r: np.ndarray) -> tuple[np.ndarray, float]:
        """(φ_s, V) of the bordered block from the residual alone (Schur complement on V)."""
        y = self.block_solves[2](r[self.slices[2]])
        v = (r[-1] - self.v_row @ y) / self.schur
        return y - self.w * v, float(v)

    def worn(self, gmres_per_newton: float) -> bool:
        """True where the hierarchy has aged: the GMRES count per Newton iteration is more
        than twice (and 10 above) the count right after its set-up."""
        if self.gmres_at_setup is None:
            self.gmres_at_setup = gmres_per_newton
            return False
        return gmres_per_newton > max(2 * self.gmres_at_setup, self.gmres_at_setup + 10)


_SOLID_THREAD = []


def _solid_thread():
    """The one worker thread that solves the solid block beside the electrolyte blocks, or
    None where the process may use a single CPU."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    if len(os.sched_getaffinity(0)) < 2:
        return None
    if not _SOLID_THREAD:
        _SOLID_THREAD.append(ThreadPoolExecutor(1, thread_name_prefix="cell3d-solid"))
    return _SOLID_THREAD[0]


def _block_solver(block):
    """x = solve(b) for one field block: its sparse LU (``solve.exact`` True) up to
    :data:`LU_MAX_BLOCK_UNKNOWNS` unknowns, else one Ruge–Stüben V-cycle."""
    if block.shape[0] <= LU_MAX_BLOCK_UNKNOWNS:
        from scipy.sparse import linalg as sparse_linalg

        solve = sparse_linalg.splu(block.tocsc()).solve
        exact = True
    else:
        from physics.amg import VCycle

        solve = VCycle(block, max_coarse=400)
        exact = False

    def block_solve(b: np.ndarray) -> np.ndarray:
        return solve(b)

    block_solve.exact = exact
    return block_solve


def _linear_solve(jac, rhs: np.ndarray, precond: BlockPreconditioner, atol: float,
                  rtol: float = 1e-4, accept_rtol: float = 1e-3) -> tuple[np.ndarray, int]:
    """(x, GMRES iterations) of jac x = rhs, preconditioned by ``precond``: GMRES to
    ``rtol`` or the absolute residual ``atol`` (the Newton loop passes 1e-10 of its first
    residual, so the last iterations do not chase round-off); where it stagnates earlier
    the iterate is kept if its true relative residual is within ``accept_rtol``.  An
    inexact Newton method (Dembo, Eisenstat & Steihaug 1982): each iteration still cuts
    the residual by ``rtol`` or more, so the Newton tolerance is reached in as many
    iterations as with exact solves while GMRES stops half as early as at 1e-8."""
    from scipy.sparse import linalg as sparse_linalg

    count = [0]

    def callback(_):
        count[0] += 1

    m_op = sparse_linalg.LinearOperator(jac.shape, matvec=precond.solve)
    x, info = sparse_linalg.gmres(jac, rhs, rtol=rtol, atol=atol, restart=40, maxiter=3,
                                  M=m_op, callback=callback, callback_type="pr_norm")
    if info != 0:
        rel = np.linalg.norm(jac @ x - rhs) / max(np.linalg.norm(rhs), 1e-300)
        if not rel <= accept_rtol:
            raise RuntimeError(f"3-D cell linear solve did not converge in {count[0]} GMRES "
                               f"iterations (relative residual {rel:.2e})")
    return x, count[0]


#: Newton's error tolerance: potentials [V] and salt [× initial salt].  The error left after
#: an update δ_k is estimated from the contraction θ = |δ_k|/|δ_{k−1}| as θ/(1 − θ)·|δ_k|
#: (Hairer & Wanner 1996, IV.8, eq. 8.10), so Newton stops one iteration earlier than a test
#: on the update alone: after two iterations on most steps, ~1e-9 V from the solution.
NEWTON_TOL_V = 1e-7
NEWTON_TOL_C = 1e-7


def _newton_converged(update: float, previous: float | None) -> bool:
    """True where the update, scaled by the tolerances (≤ 1: within them), leaves an error
    within the tolerances: θ/(1 − θ)·update ≤ 1 with θ = update/previous; on the first
    iteration (no rate yet) the update itself ≤ 1e-2."""
    if previous is None:
        return update <= 1e-2
    theta = update / previous
    return theta < 1.0 and theta / (1.0 - theta) * update <= 1.0


def _newton_step(cell: HalfCell3D, y: np.ndarray, cs: np.ndarray, dt: float, i_app: float,
                 max_newton: int, precond: BlockPreconditioner | None = None,
                 guess: np.ndarray | None = None):
    """(state after one backward-Euler step of ``dt``, Newton iterations, GMRES
    iterations, the preconditioner used), or None where Newton fails or the salt turns
    negative.  ``precond``: a preconditioner of an earlier step to reuse; None sets one up
    from this step's first Jacobian.  ``guess``: Newton's starting point (default ``y``).
    Converged where the error estimated from the last update and the contraction rate is
    within :data:`NEWTON_TOL_V` in every potential and :data:`NEWTON_TOL_C` of the initial
    salt in every concentration (:func:`_newton_converged`)."""
    ce_old = y[:cell.n_e].copy()
    props = cell.step_properties(ce_old, i_app)
    a, b = cell.diffusion.surface_response(cs, dt)
    c_ref = cell.p.electrolyte.initial_concentration_mol_m3
    x = (y if guess is None else guess).copy()
    if guess is not None and _step_to_bounds(cell, y, x - y, a, b, keep=1.0) < 1.0:
        x = y.copy()  # the predictor left the admissible states: start from the last one
    krylov, previous = 0, None
    for it in range(1, max_newton + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            res, jac = cell.residual_and_jacobian(x, ce_old, dt, props, a, b, i_app)
        if not np.all(np.isfinite(res)):
            return None
        if it == 1:
            floor = 1e-10 * float(np.linalg.norm(res))
            if precond is None:
                precond = BlockPreconditioner(cell, jac)
        try:
            dx, k = _linear_solve(jac, -res, precond, floor)
        except RuntimeError:
            return None
        krylov += k
        alpha = _step_to_bounds(cell, x, dx, a, b)
        x += alpha * dx
        if alpha < 1.0:  # a damped update says nothing of convergence
            previous = None
            continue
        update = max(float(np.max(np.abs(dx[cell.n_e:]))) / NEWTON_TOL_V,
                     float(np.max(np.abs(dx[:cell.n_e]))) / (NEWTON_TOL_C * c_ref))
        if _newton_converged(update, previous):
            return (x, it, krylov, precond) if np.min(x[:cell.n_e]) > 0 else None
        previous = update
    return None


def _step_to_bounds(cell: HalfCell3D, x: np.ndarray, dx: np.ndarray, a: np.ndarray,
                    b: np.ndarray, keep: float = 0.9) -> float:
    """Largest fraction (≤ 1) of the update ``dx`` that keeps the salt positive and every
    particle's surface concentration c_s = a + b N inside (0, c_max), stopping ``keep`` of
    the way to a bound (fraction to the boundary, as interior-point methods).  Beyond the
    bounds the kinetics clip c_s and c_e, the residual turns flat in them and Newton
    stalls (seen on a 1 µm image, where one particle's c_s overshot to −1 % of c_max)."""
    n_e = cell.n_e
    ce, dce = x[:n_e], dx[:n_e]
    o_n = 2 * n_e + cell.n_s
    cs = a + b * x[o_n:o_n + cell.n_p]
    dcs = b * dx[o_n:o_n + cell.n_p]
    inside = (cs > 0) & (cs < cell.c_max)  # a bound already crossed is not held
    down, up = inside & (dcs < 0), inside & (dcs > 0)
    shrink = (ce > 0) & (dce < 0)
    room = np.concatenate([ce[shrink] / -dce[shrink], cs[down] / -dcs[down],
                           (cell.c_max - cs[up]) / dcs[up]])
    return 1.0 if room.size == 0 else float(min(1.0, keep * room.min()))


def _step_error_v(volts: list[float], times: list[float], v_new: float, dt: float) -> float:
    """Local error estimate of a backward-Euler step in the voltage [V] (Milne's device for
    BDF1): the step differs from the linear extrapolation of the last two points by
    dt (2 dt + Δt_prev) V''/2, the Euler error is dt² V''/2, so the estimate is the difference
    × dt / (2 dt + Δt_prev).  0 before there are two points."""
    if len(volts) < 2:
        return 0.0
    dt_prev = times[-1] - times[-2]
    predicted = volts[-1] + dt * (volts[-1] - volts[-2]) / dt_prev
    return abs(v_new - predicted) * dt / (2.0 * dt + dt_prev)


def _step_factor(err: float, tol: float, err_prev: float, dt: float, dt_prev: float) -> float:
    """Factor for the step after an accepted one of ``dt`` [s] with voltage error ``err``
    (the one before: ``dt_prev``, ``err_prev``; 0 where unknown): the smaller of the
    standard proposal 0.9 (tol/err)^½ and Gustafsson's predictive one, which also follows the
    error's trend, × (dt/dt_prev)(err_prev/err)^½ (Hairer & Wanner II, IV.8, eq. 8.25; the
    min of both as in RADAU5), in [0.2, 2].  Where the error grows from step to step (the
    knee at the end of discharge) the standard controller alone is rejected every other
    step."""
    if err <= 0:
        return 2.0
    factor = min(2.0, 0.9 * np.sqrt(tol / err))
    if err_prev > 0 and dt_prev > 0:
        factor = min(factor, factor * (dt / dt_prev) * np.sqrt(err_prev / err))
    return max(0.2, factor)


def _run_key(micro: Microstructure, params, settings: dict, cell_options: dict) -> str:
    """Hash of everything that decides a discharge (image, particle ids, voxel, cell
    parameters, settings, cell options): a checkpoint of another run is never resumed."""
    import hashlib
    import json

    h = hashlib.sha256(micro.image.tobytes())
    if micro.am_ids is not None:
        h.update(np.ascontiguousarray(micro.am_ids).tobytes())
    h.update(json.dumps([micro.shape, micro.voxel_um, params.to_dict(), settings,
                         {k: repr(v) for k, v in sorted(cell_options.items())}],
                        sort_keys=True, default=repr).encode())
    return h.hexdigest()[:24]


_CHECKPOINT_ARRAYS = ("y", "cs", "cs_old", "times", "volts", "iters", "krylov")
_CHECKPOINT_SNAPSHOT = ("t_snap", "y_snap", "cs_before", "cs_snap", "dt_snap")


def _save_checkpoint(path, key: str, state: dict) -> None:
    """The loop's state after an accepted step, written atomically (.npz)."""
    from physics.state import write_atomic

    arrays = {k: np.asarray(state[k]) for k in _CHECKPOINT_ARRAYS}
    scalars = np.array([state["t"], state["dt"], state["dt_last"], state["rejected"],
                        state["err_last"], state["dt_before"]])
    extra = {}
    if state["snapshot"] is not None:
        extra = {f"snap_{k}": np.asarray(v)
                 for k, v in zip(_CHECKPOINT_SNAPSHOT, state["snapshot"], strict=True)}
    if state["y_prev"] is not None:  # the predictor's second point
        extra["y_prev"] = np.asarray(state["y_prev"])
    write_atomic(path, lambda fh: np.savez(fh, key=np.array(key), scalars=scalars,
                                           **arrays, **extra))


def _load_checkpoint(path, key: str) -> dict | None:
    """The saved loop state of the run ``key``, or None (no file, or another run's)."""
    from pathlib import Path

    if path is None or not Path(path).is_file():
        return None
    with np.load(path) as f:
        if str(f["key"]) != key:
            return None
        state = {k: f[k] for k in _CHECKPOINT_ARRAYS}
        t, dt, dt_last, rejected, err_last, dt_before = f["scalars"]
        snap = None
        if "snap_t_snap" in f:
            snap = tuple(f[f"snap_{k}"] for k in _CHECKPOINT_SNAPSHOT)
            snap = (float(snap[0]), snap[1], snap[2], snap[3], float(snap[4]))
        y_prev = f["y_prev"] if "y_prev" in f else None
    return state | {"t": float(t), "dt": float(dt), "dt_last": float(dt_last),
                    "rejected": int(rejected), "err_last": float(err_last),
                    "dt_before": float(dt_before), "snapshot": snap, "y_prev": y_prev}


def discharge_3d(micro: Microstructure, params, c_rate: float = 1.0, *, steps: int = 50,
                 voltage_tol_v: float = 1e-3, snapshot_dod: float = 0.5,
                 max_newton: int = 25, progress=None, checkpoint=None,
                 checkpoint_every_s: float = 60.0, **cell_options) -> Discharge3D:
    """Galvanostatic discharge of the 3-D half cell at ``c_rate`` (1C: the theoretical
    capacity of the image's AM in one hour, as the P2D) to the cut-off voltage.

    Backward Euler with error control: a step is accepted where its local voltage error
    (:func:`_step_error_v`) is within ``voltage_tol_v`` [V] and the next step is
    dt × :func:`_step_factor` (standard and predictive control), at most
    ``3600 / c_rate / steps`` s; a rejected step (error
    or Newton failure) is retried shorter; the last step is cut at the cut-off.  The first
    point is the voltage under load at t = 0 (the potentials consistent with the current,
    from a step of 1e-9 of the longest step).  The snapshot (observables, lithiation per
    particle) is taken at the first step that reaches ``snapshot_dod`` of the theoretical
    capacity, or at the end.  ``progress(dod, voltage_v)``, if given, is called after every
    accepted step.

    ``checkpoint``: a file (.npz) where the loop's state is saved atomically after an accepted
    step at most every ``checkpoint_every_s`` wall seconds; a run started with the same
    file, image and settings resumes from the last saved step (another run's file is
    ignored and overwritten).  The file is removed when the discharge ends."""
    if not (np.isfinite(c_rate) and c_rate > 0):
        raise ValueError(f"c_rate must be > 0, got {c_rate}")
    if not (isinstance(steps, int | np.integer) and steps >= 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not 0 < voltage_tol_v <= 0.1:
        raise ValueError(f"voltage_tol_v must lie in (0, 0.1] V, got {voltage_tol_v}")
    if not 0 < snapshot_dod <= 1:
        raise ValueError(f"snapshot_dod must lie in (0, 1], got {snapshot_dod}")
    if not checkpoint_every_s >= 0:
        raise ValueError(f"checkpoint_every_s must be >= 0, got {checkpoint_every_s}")
    cell = HalfCell3D(micro, params, **cell_options)
    key = _run_key(micro, params, {"c_rate": c_rate, "steps": steps, "tol": voltage_tol_v,
                                   "snapshot_dod": snapshot_dod, "max_newton": max_newton,
                                   "controller": "predictive"},
                   cell_options)
    cap_mah = params.theoretical_capacity_mah_g() * cell.am_mass_g
    i_app = c_rate * cap_mah * 3.6 / 3600.0 / cell.area_m2  # A/m²
    y, cs = cell.initial_state()
    li0 = cell.lithium_mol(cs)
    dt_max = 3600.0 / c_rate / steps
    start = _newton_step(cell, y, cs, 1e-9 * dt_max, i_app, max_newton)
    if start is None:
        raise RuntimeError("the 3-D cell found no potentials that carry the current at t = 0")
    y = start[0]
    y[:cell.n_e] = params.electrolyte.initial_concentration_mol_m3
    t, dt = 0.0, 0.1 * dt_max
    times, volts, iters, krylov = [0.0], [float(y[-1])], [], []
    rejected = 0
    snapshot = None
    cs_old, dt_last = cs, dt
    err_last, dt_before = 0.0, 0.0  # the last accepted step's error and length
    saved = _load_checkpoint(checkpoint, key)
    if saved is not None:
        y, cs, cs_old = saved["y"].copy(), saved["cs"].copy(), saved["cs_old"].copy()
        t, dt, dt_last, rejected = saved["t"], saved["dt"], saved["dt_last"], saved["rejected"]
        err_last, dt_before = saved["err_last"], saved["dt_before"]
        times, volts = saved["times"].tolist(), saved["volts"].tolist()
        iters, krylov = saved["iters"].tolist(), saved["krylov"].tolist()
        snapshot = saved["snapshot"]
        if progress is not None:
            progress(t * c_rate / 3600.0, float(y[-1]))
    last_save = time.monotonic()
    end = "step budget"
    precond, y_prev = None, None if saved is None else saved["y_prev"]
    for _ in range(20 * steps - len(iters) - rejected):
        # predictor: the line through the last two accepted states
        guess = None if y_prev is None else y + (y - y_prev) * (dt / dt_last)
        out = _newton_step(cell, y, cs, dt, i_app, max_newton, precond, guess)
        precond = None if out is None else out[3]  # a failed step sets up afresh
        err = np.inf if out is None else _step_error_v(volts[1:], times[1:], out[0][-1], dt)
        if err > voltage_tol_v and not (out is not None and out[0][-1] <= params.cutoff_voltage_v
                                        and dt < 1e-3 * dt_max):
            rejected += 1
            dt *= 0.5 if out is None else max(0.2, 0.9 * np.sqrt(voltage_tol_v / err))
            if dt < 1e-6 * dt_max:
                end = "Newton failure" if out is None else "step below 1e-6 of the longest"
                break
            continue
        y_prev = y
        y, it, k, _ = out
        if precond.worn(k / it):
            precond = None
        dt_last = dt
        cs_old = cs
        cs = cell.diffusion.step(cs, y[2 * cell.n_e + cell.n_s:-1], dt)
        t += dt
        if snapshot is None and t * c_rate / 3600.0 >= snapshot_dod:
            snapshot = (t, y.copy(), cs_old, cs, dt)
        iters.append(it)
        krylov.append(k)
        times.append(t)
        volts.append(float(y[-1]))
        if progress is not None:
            progress(t * c_rate / 3600.0, float(y[-1]))
        if y[-1] <= params.cutoff_voltage_v:  # the crossing, linearly within the step
            v0, v1 = volts[-2], volts[-1]
            times[-1] = t - dt + dt * (v0 - params.cutoff_voltage_v) / (v0 - v1)
            volts[-1] = params.cutoff_voltage_v
            end = "cut-off voltage"
            break
        dt = min(dt_max, dt * _step_factor(err, voltage_tol_v, err_last, dt,
                                            dt_before if err_last > 0 else 0.0))
        err_last, dt_before = err, dt_last
        if checkpoint is not None and time.monotonic() - last_save >= checkpoint_every_s:
            _save_checkpoint(checkpoint, key, {
                "y": y, "cs": cs, "cs_old": cs_old, "times": times, "volts": volts,
                "iters": iters, "krylov": krylov, "t": t, "dt": dt, "dt_last": dt_last,
                "rejected": rejected, "err_last": err_last, "dt_before": dt_before,
                "snapshot": snapshot, "y_prev": y_prev})
            last_save = time.monotonic()
    if checkpoint is not None:
        from pathlib import Path

        Path(checkpoint).unlink(missing_ok=True)
    time_s = np.array(times)
    capacity = i_app * cell.area_m2 * time_s / 3.6 / cell.am_mass_g  # mAh/g
    inserted = cell.lithium_mol(cs) - li0
    expected = i_app * cell.area_m2 * t / cell.F
    salt0 = float(cell.storage.sum()) * params.electrolyte.initial_concentration_mol_m3
    salt_error = abs(float(cell.storage @ y[:cell.n_e]) - salt0) / salt0
    t_snap, y_snap, cs_before, cs_snap, dt_snap = snapshot or (times[-1], y, cs_old, cs,
                                                                dt_last)
    observables = cell.observables(y_snap, cell.face_current_a_m2(y_snap, cs_before, dt_snap))
    return Discharge3D(time_s, np.array(volts), capacity, float(i_app), end, tuple(iters),
                       tuple(krylov), rejected,
                       float(abs(inserted - expected) / max(expected, 1e-30)), cell.n_p,
                       cell.n_particles_all,
                       float(i_app * cell.area_m2 * t_snap / 3.6 / cell.am_mass_g),
                       observables, cell.particle_stoichiometry(cs_snap), salt_error,
                       cell.am_mass_g / cell.area_m2)
