"""Steady conduction on three-phase voxel images: tortuosity, effective conductivity, metrics.

Conventions (TauFactor's, so numbers compare; Cooper et al., SoftwareX 5 (2016) 203):

* The field solves ∇·(k ∇u) = 0 with u = 1 and u = 0 fixed on the two end planes of the
  transport direction, half a voxel outside the first and last voxel centres, and no flux
  through the four side faces.
* Each voxel has the conductivity of its phase; the conductance of a face between two voxels is
  the harmonic mean 2 k_a k_b / (k_a + k_b) (0 if either is 0), and of the half-voxel link to an
  end plane 2 k.  (TauFactor's ``MultiPhaseSolver`` puts the planes one voxel out instead:
  ``SolverSettings(end_offset_voxels=1.0)`` reproduces it; the difference is O(1/N).)
* D_eff = F L / (A Δu) from the flux F through the end planes (mean of in and out), the length
  L and the cross-section A of the image.
* Tortuosity factor τ = ε D0 / D_eff with ε the pore-voxel fraction of the whole image (isolated
  pores included) and D0 the pore diffusivity; MacMullin number N_M = D0 / D_eff = τ / ε.
  With conducting CBD, D_eff includes the transport through the CBD (D0 · ε_CBD^1.5, the
  paper's Bruggeman correction for its 47 % nano-porosity), while ε stays the pore fraction:
  ε / τ = D_eff / D0 is then what a porous-electrode model with ε the pore fraction needs, but
  τ can fall below 1 (pore and CBD layers side by side: 0.76) and is undefined (NaN) on an
  image without pore voxels.  The tortuosity of the conducting phases is therefore reported
  as well, with TauFactor's ``MultiPhaseSolver`` convention, τ_cond = (Σ_phase φ D) / D_eff =
  (ε + φ_CBD D_CBD / D0) D0 / D_eff (φ the phase's voxel fraction): 1 where every column
  along the direction is one phase, >= 1 always with the default half-voxel end planes (the
  linear profile's dissipation bounds D_eff by the arithmetic mean of the voxel values).
  Without conducting CBD the two are the same.
* Only the voxels of conducting clusters that touch both end planes enter the solve (the rest
  carry no flux); if no cluster does, the direction does not percolate: D_eff = 0, τ = ∞
  (TauFactor's ``Solver`` reports τ = ∞ there too).  ``percolates`` is that network (pore plus
  conducting CBD); ``pore_percolates`` asks the pore voxels alone.

Solver: preconditioned conjugate gradients on the symmetric positive-definite voxel system;
the preconditioner is one V-cycle of aggregation multigrid (2×2×2 aggregates, Galerkin coarse
operators, which for this graph Laplacian are again seven-point grids with summed face
conductances; symmetric red-black Gauss-Seidel smoothing; a dense Cholesky solve on the
coarsest grid), with the Krylov iteration deflated by the connected pieces of 8³ blocks
(:class:`_Deflation`: high-contrast and necked networks).  Convergence: relative residual
‖b - A u‖ / ‖b‖ <= ``rtol`` (default 1e-8); the in and out fluxes then agree to ~1e-10.

Resolution caveat: solid conduction runs through voxel faces, so two particles conduct only
where their voxelized spheres share a face; AM-AM contacts thinner than a voxel are lost or
kept by the grid.  σ_eff of a sparse AM network therefore depends on ``voxel_um`` more than τ
of the pore phase does; compare σ_eff at one resolution.

Default material values (paper §3 and §6.2; ``reference/parameters.md``): D0 = 7.5e-11 m²/s
(electrolyte in the pores), CBD nano-porosity 0.47 with Bruggeman exponent 1.5, AM
electronic conductivity 5e-3 S/m.  The paper does not state the CBD's electronic conductivity;
the default 10 S/m is the order of dried carbon-black/PVDF films (1-100 S/m) and is a
parameter.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, ndimage, sparse
from scipy.sparse import linalg as sparse_linalg

from physics import _transport_kernels as kern
from physics.voxel import AM, CBD, PORE, Microstructure

D0_M2_S = 7.5e-11
CBD_POROSITY = 0.47
BRUGGEMAN_EXPONENT = 1.5
SIGMA_AM_S_M = 5e-3
SIGMA_CBD_S_M = 10.0
DIRECTIONS = {"x": 0, "y": 1, "z": 2}
TAU_DEFINITION = ("tau_<d> = porosity * D0 / D_eff (pore voxels only; < 1 possible when the "
                  "CBD conducts); tau_conducting_<d> = conducting_fraction * D0 / D_eff, "
                  "conducting_fraction = porosity + fraction_CBD * D_CBD / D0 (TauFactor "
                  "MultiPhaseSolver)")


@dataclass(frozen=True)
class SolverSettings:
    """Krylov/multigrid settings.

    Attributes:
        rtol: relative residual at which the solve stops [-].
        max_iterations: PCG iterations before the solve is reported as not converged.
        smoothing_sweeps: symmetric red-black Gauss-Seidel sweeps before and after each
            coarse correction.
        coarse_cells: the hierarchy stops coarsening at or below this many cells.
        deflation_block: edge [voxels] of the blocks whose connected pieces span the
            deflation space (:class:`_Deflation`).
        deflation_threshold: conductivities >= this fraction of the largest are one class,
            the rest another; pieces never mix classes.
        end_offset_voxels: distance [voxels] of the fixed-value end planes from the first and
            last voxel centres, in the end voxel's phase; the length is N - 1 + 2·offset.
            0.5 is TauFactor's ``Solver`` (and the default here); 1.0 reproduces its
            ``MultiPhaseSolver`` (planes in a copy of the end layer, L = N + 1).
    """

    rtol: float = 1e-8
    max_iterations: int = 500
    smoothing_sweeps: int = 2
    coarse_cells: int = 400
    deflation_block: int = 8
    deflation_threshold: float = 0.1
    end_offset_voxels: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.rtol < 1):
            raise ValueError(f"rtol must lie in (0, 1), got {self.rtol}")
        if not (0 < self.end_offset_voxels <= 1):
            raise ValueError(f"end_offset_voxels must lie in (0, 1], got "
                             f"{self.end_offset_voxels}")
        if min(self.max_iterations, self.smoothing_sweeps, self.coarse_cells,
               self.deflation_block) < 1:
            raise ValueError("max_iterations, smoothing_sweeps, coarse_cells and "
                             "deflation_block must be >= 1")


@dataclass(frozen=True)
class FieldSolution:
    """One direction's solve on a conductivity field.

    Attributes:
        k_eff: effective conductivity in the units of the field (0 if not percolating).
        percolates: a conducting cluster joins the two end planes.
        flux_in / flux_out: end-plane fluxes for unit voxel edge and unit Δu.
        iterations: PCG iterations; residual: final relative residual.
        active_fraction: fraction of voxels in spanning conducting clusters.
        wall_s: wall time of the solve [s].
        u: the solved field, only with ``solve_field(..., keep_field=True)`` (else None):
            float64 [x, y, z], the normalised potential u in [0, 1] (1 on the end plane
            before the first voxel along the axis, 0 after the last), NaN on the voxels
            outside the spanning conducting clusters (they carry no flux).
    """

    k_eff: float
    percolates: bool
    flux_in: float
    flux_out: float
    iterations: int
    residual: float
    active_fraction: float
    wall_s: float
    u: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass
class _Level:
    g0: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    bc_lo: np.ndarray
    bc_hi: np.ndarray
    d: np.ndarray
    shift: np.ndarray | None = None  # a non-negative diagonal added to the operator
    x: np.ndarray = field(default=None)  # type: ignore[assignment]
    b: np.ndarray = field(default=None)  # type: ignore[assignment]
    r: np.ndarray = field(default=None)  # type: ignore[assignment]
    index: np.ndarray | None = None
    cholesky: tuple | None = None


# --------------------------------------------------------------------------- hierarchy
def _level_from_faces(g0, g1, g2, bc_lo, bc_hi, shift: np.ndarray | None = None) -> _Level:
    """The level's operator: the graph Laplacian of the faces plus an optional diagonal
    ``shift`` (>= 0, e.g. ω C of a double layer), which aggregation sums onto coarse cells."""
    shape = (g0.shape[0] + 1, g1.shape[1] + 1, g2.shape[2] + 1)
    d = np.empty(shape)
    kern.diagonal(g0, g1, g2, bc_lo, bc_hi, d)
    if shift is not None:
        d += shift
    return _Level(g0, g1, g2, bc_lo, bc_hi, d, shift)


def _coarsen(level: _Level) -> _Level:
    n0, n1, n2 = level.d.shape
    m0, m1, m2 = (n0 + 1) // 2, (n1 + 1) // 2, (n2 + 1) // 2
    shift = None
    if level.shift is not None:
        shift = np.zeros((m0, m1, m2))
        kern.restrict_sum(level.shift, shift)
    g0 = np.zeros((max(m0 - 1, 0), m1, m2))
    g1 = np.zeros((m0, max(m1 - 1, 0), m2))
    g2 = np.zeros((m0, m1, max(m2 - 1, 0)))
    bc_lo = np.zeros((m1, m2))
    bc_hi = np.zeros((m1, m2))
    kern.coarsen_faces(level.g0, level.g1, level.g2, level.bc_lo, level.bc_hi,
                       g0, g1, g2, bc_lo, bc_hi)
    return _level_from_faces(g0, g1, g2, bc_lo, bc_hi, shift)


def _hierarchy(fine: _Level, settings: SolverSettings) -> list[_Level]:
    levels = [fine]
    while levels[-1].d.size > settings.coarse_cells and max(levels[-1].d.shape) > 1:
        levels.append(_coarsen(levels[-1]))
    for lv in levels[1:]:
        lv.x, lv.b = np.zeros_like(lv.d), np.zeros_like(lv.d)
    for lv in levels[:-1]:
        lv.r = np.zeros_like(lv.d)
    last = levels[-1]
    active = last.d > 0
    last.index = np.full(last.d.shape, -1, dtype=np.int64)
    last.index[active] = np.arange(int(active.sum()))
    if active.any():
        last.cholesky = linalg.cho_factor(kern.dense_matrix(last.g0, last.g1, last.g2, last.d,
                                                            last.index))
    return levels


def _v_cycle(levels: list[_Level], depth: int, b: np.ndarray, x: np.ndarray,
             sweeps: int) -> None:
    """x = M⁻¹ b by one symmetric V-cycle from level ``depth`` down."""
    lv = levels[depth]
    if depth == len(levels) - 1:
        x[...] = 0.0
        if lv.cholesky is not None:
            active = lv.index >= 0
            x[active] = linalg.cho_solve(lv.cholesky, b[active])
        return
    x[...] = 0.0
    for _ in range(sweeps):
        kern.gauss_seidel_colour(x, b, lv.g0, lv.g1, lv.g2, lv.d, 0)
        kern.gauss_seidel_colour(x, b, lv.g0, lv.g1, lv.g2, lv.d, 1)
    kern.residual(x, b, lv.g0, lv.g1, lv.g2, lv.d, lv.r)
    nxt = levels[depth + 1]
    kern.restrict_sum(lv.r, nxt.b)
    _v_cycle(levels, depth + 1, nxt.b, nxt.x, sweeps)
    kern.prolong_add(nxt.x, x, lv.d, 1.0)
    for _ in range(sweeps):
        kern.gauss_seidel_colour(x, b, lv.g0, lv.g1, lv.g2, lv.d, 1)
        kern.gauss_seidel_colour(x, b, lv.g0, lv.g1, lv.g2, lv.d, 0)


# --------------------------------------------------------------------------- deflation
@dataclass
class _Deflation:
    """Deflation space Z: indicators of the connected pieces of coarse cell blocks.

    Aggregation multigrid on a voxel grid lumps together, in one coarse cell, pieces that are
    joined only far away (two particles' surfaces in one block) or only through a weak phase
    (CBD at 10 S/m in AM at 5e-3 S/m).  Each such piece leaves the preconditioned operator a
    near-zero eigenvalue with a piecewise-constant eigenvector (Vuik, Segal & Meijerink,
    J. Comput. Phys. 152 (1999) 385), so CG stalls.  The Krylov solve is therefore deflated
    (Saad, Yeung, Erhel & Guyomarc'h, SIAM J. Sci. Comput. 21 (2000) 1909) with Z = the
    indicators of the connected pieces of each ``block``³ block within one conductivity class
    (strong: >= ``threshold`` × the largest conductivity; weak: the rest): the residual stays
    orthogonal to Z and the search directions A-orthogonal to Z, with E = Zᵀ A Z (a sparse
    graph Laplacian of the pieces) factorized once.
    """

    label: np.ndarray
    lu: object
    n: int

    def project(self, v: np.ndarray) -> np.ndarray:
        """E⁻¹ Zᵀ v."""
        return self.lu.solve(kern.island_restrict(v, self.label, self.n))

    def a_orthogonalize(self, p: np.ndarray, z: np.ndarray, level: _Level,
                        work: np.ndarray) -> None:
        """p -= Z E⁻¹ Zᵀ A z."""
        kern.apply_operator(z, level.g0, level.g1, level.g2, level.d, work)
        kern.island_prolong_add(self.project(work), self.label, p, -1.0)


def _deflation(cond: np.ndarray, level: _Level, settings: SolverSettings) -> _Deflation:
    """Build Z and factorize E for the active conductivity field ``cond`` (axis 0 transport)."""
    top = float(cond.max())
    cls = np.where(cond > 0, (cond >= settings.deflation_threshold * top).astype(np.int8),
                   np.int8(-1)).astype(np.int8)
    label, n = kern.block_components(cls, settings.deflation_block)
    rows, cols, vals, diag = kern.region_operator(label, n, level.g0, level.g1, level.g2,
                                                  level.bc_lo, level.bc_hi)
    idx = np.arange(n)
    e = sparse.coo_matrix((np.concatenate((vals, diag)), (np.concatenate((rows, idx)),
                                                          np.concatenate((cols, idx)))),
                          shape=(n, n)).tocsc()
    return _Deflation(label=label, lu=sparse_linalg.splu(e), n=n)


# --------------------------------------------------------------------------- solver
def spanning_mask(conducting: np.ndarray) -> np.ndarray:
    """Voxels of 6-connected conducting clusters touching both ends of axis 0."""
    labels, n = ndimage.label(conducting)
    if n == 0:
        return np.zeros_like(conducting)
    both = np.intersect1d(np.unique(labels[0]), np.unique(labels[-1]))
    both = both[both > 0]
    return np.isin(labels, both) if both.size else np.zeros_like(conducting)


def solve_field(cond: np.ndarray, axis: int, settings: SolverSettings = SolverSettings(),
                contacts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                keep_field: bool = False) -> FieldSolution:
    """Effective conductivity of a voxel conductivity field along ``axis`` (module docstring).

    Args:
        cond: per-voxel conductivity (any unit, >= 0), indexed [x, y, z].
        axis: transport direction (0, 1, 2).
        contacts: optional contact conductance per unit voxel edge of the faces normal to x, y
            and z (shapes (nx-1, ny, nz), (nx, ny-1, nz), (nx, ny, nz-1); ``cond``'s unit;
            inf where a face has none), in series with the two half voxels
            (:func:`contact_faces`).
        keep_field: also return the solved field (``FieldSolution.u``, [x, y, z]).
    """
    t0 = time.perf_counter()
    c = np.ascontiguousarray(np.moveaxis(np.asarray(cond, dtype=np.float64), axis, 0))
    n0, n1, n2 = c.shape
    span = spanning_mask(c > 0)
    active_fraction = float(span.mean())
    if not span.any():
        u = np.full(np.shape(cond), np.nan) if keep_field else None
        return FieldSolution(0.0, False, 0.0, 0.0, 0, 0.0, 0.0, time.perf_counter() - t0, u)
    c = np.where(span, c, 0.0)
    g0 = np.zeros((n0 - 1, n1, n2))
    g1 = np.zeros((n0, n1 - 1, n2))
    g2 = np.zeros((n0, n1, n2 - 1))
    bc_lo = np.zeros((n1, n2))
    bc_hi = np.zeros((n1, n2))
    kern.face_conductances(c, g0, g1, g2, bc_lo, bc_hi, settings.end_offset_voxels)
    if contacts is not None:  # faces normal to (axis, the others in order) after moveaxis
        order = [axis] + [a for a in range(3) if a != axis]
        for g, a in zip((g0, g1, g2), order, strict=True):
            g[...] = in_series_with_contacts(g, np.moveaxis(contacts[a], axis, 0))
    del span
    fine = _level_from_faces(g0, g1, g2, bc_lo, bc_hi)
    levels = _hierarchy(fine, settings)
    b = np.zeros_like(fine.d)
    b[0] = bc_lo
    deflation = _deflation(c, fine, settings)
    del c
    # initial guess: the linear profile on the active cells
    profile = 1.0 - (np.arange(n0) + 0.5) / n0
    x = np.where(fine.d > 0, profile[:, None, None], 0.0)
    r = np.empty_like(x)
    z = np.empty_like(x)
    q = np.empty_like(x)
    kern.residual(x, b, fine.g0, fine.g1, fine.g2, fine.d, r)
    if deflation.n:  # start with a residual orthogonal to Z
        kern.island_prolong_add(deflation.project(r), deflation.label, x, 1.0)
        kern.residual(x, b, fine.g0, fine.g1, fine.g2, fine.d, r)
    b_norm = math.sqrt(kern.dot(b, b))
    res = math.sqrt(kern.dot(r, r)) / b_norm
    _v_cycle(levels, 0, r, z, settings.smoothing_sweeps)
    p = z.copy()
    if deflation.n:
        deflation.a_orthogonalize(p, z, fine, q)
    rz = kern.dot(r, z)
    it = 0
    while res > settings.rtol and it < settings.max_iterations:
        kern.apply_operator(p, fine.g0, fine.g1, fine.g2, fine.d, q)
        alpha = rz / kern.dot(p, q)
        kern.axpy(alpha, p, x)
        kern.axpy(-alpha, q, r)
        it += 1
        res = math.sqrt(kern.dot(r, r)) / b_norm
        if res <= settings.rtol:
            break
        _v_cycle(levels, 0, r, z, settings.smoothing_sweeps)
        rz_new = kern.dot(r, z)
        kern.xpby(z, rz_new / rz, p)
        rz = rz_new
        if deflation.n:
            deflation.a_orthogonalize(p, z, fine, q)
    if res > settings.rtol:
        raise RuntimeError(f"conduction solve along axis {axis} did not converge: relative "
                           f"residual {res:.2e} after {it} iterations (rtol {settings.rtol:g})")
    f_in, f_out = kern.end_fluxes(x, fine.bc_lo, fine.bc_hi)
    length = n0 - 1 + 2 * settings.end_offset_voxels
    k_eff = 0.5 * (f_in + f_out) * length / (n1 * n2)
    u = None
    if keep_field:
        u = np.ascontiguousarray(np.moveaxis(np.where(fine.d > 0, x, np.nan), 0, axis))
    return FieldSolution(k_eff, True, f_in, f_out, it, res, active_fraction,
                         time.perf_counter() - t0, u)


def conductivity_field(image: np.ndarray, phase_conductivity: tuple[float, float, float]
                       ) -> np.ndarray:
    """Per-voxel conductivity from the phase labels: (pore, AM, CBD) values."""
    values = np.asarray(phase_conductivity, dtype=np.float64)
    if values.shape != (3,) or np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"phase conductivities (pore, AM, CBD) must be three finite values "
                         f">= 0, got {phase_conductivity}")
    return values[image]


# --------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class DirectionTransport:
    """Pore-phase diffusion along one direction.

    Attributes:
        direction: "x", "y" or "z".
        d_eff_m2_s: effective diffusivity [m²/s] (0 if not percolating).
        tortuosity: τ = ε D0 / D_eff [-] with ε the pore-voxel fraction (inf if not
            percolating; NaN if the image has no pore voxels but the CBD conducts).  May be
            < 1 with conducting CBD (module docstring).
        macmullin: N_M = D0 / D_eff [-] (inf if not percolating).
        percolates: pore (and conducting CBD) voxels join the two end planes.
        iterations / wall_s: solver iterations and time [s].
        tortuosity_conducting: τ_cond = ε_cond D0 / D_eff [-] with ε_cond =
            ``conducting_fraction`` (TauFactor ``MultiPhaseSolver``; inf if not percolating).
        conducting_fraction: ε_cond = ε + φ_CBD · D_CBD / D0 [-], the volume fractions of the
            conducting phases weighted by their diffusivity relative to D0.
        pore_percolates: the pore voxels alone join the two end planes.
        concentration: only when requested (``diffusion_directions(field_directions=...)``),
            else None: the normalised concentration of the solve, float64 [x, y, z], 1 on
            the end plane at the start of the direction and 0 at its end, NaN outside the
            spanning pore/CBD network (``FieldSolution.u``).
    """

    direction: str
    d_eff_m2_s: float
    tortuosity: float
    macmullin: float
    percolates: bool
    iterations: int
    wall_s: float
    tortuosity_conducting: float
    conducting_fraction: float
    pore_percolates: bool
    concentration: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PoreSizeDistribution:
    """Continuous pore size distribution (local thickness: Hildebrand & Rüegsegger,
    J. Microsc. 185 (1997) 67; Münch & Holzer, J. Am. Ceram. Soc. 91 (2008) 4059).

    ``cumulative_fraction[i]`` is the fraction of the pore volume that lies inside some ball
    of diameter >= ``diameter_um[i]`` that fits in the pores (:func:`pore_size_distribution`).

    Attributes:
        d50_um / mean_diameter_um: volume median and mean diameter [µm] (NaN without pore
            voxels).
        cap_um: the largest diameter measured, the image's smallest edge [µm].
        box_limited_fraction: share of the pore volume inside capped balls (no solid within
            the cap in the image, e.g. all of an all-pore image) [-]: their size is only known
            to be >= ``cap_um``; > 0 makes ``d50_um`` and ``mean_diameter_um`` lower bounds.
    """

    diameter_um: np.ndarray
    cumulative_fraction: np.ndarray
    d50_um: float
    mean_diameter_um: float
    cap_um: float = math.nan
    box_limited_fraction: float = 0.0

    @property
    def limited_by_box(self) -> bool:
        """Some pore volume lies in balls the image does not bound (sizes are lower bounds)."""
        return bool(self.box_limited_fraction > 0)


def _check_directions(directions: str) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(directions))
    if not out or any(d not in DIRECTIONS for d in out):
        raise ValueError(f"directions must be letters from 'xyz', got {directions!r}")
    return out


def diffusion_directions(micro: Microstructure, directions: str = "xyz",
                         d0_m2_s: float = D0_M2_S, cbd_porosity: float = CBD_POROSITY,
                         bruggeman_exponent: float = BRUGGEMAN_EXPONENT,
                         settings: SolverSettings = SolverSettings(),
                         field_directions: str = ""
                         ) -> dict[str, DirectionTransport]:
    """Effective diffusivity, τ and MacMullin number per direction (module docstring).

    Args:
        micro: the voxel image.
        d0_m2_s: pore (electrolyte) diffusivity [m²/s], > 0.
        cbd_porosity: CBD nano-porosity [-] in [0, 1); 0 makes the CBD impermeable.
        bruggeman_exponent: CBD diffusivity D0 · cbd_porosity^exponent [-], > 0.
        field_directions: the directions (letters of ``directions``) whose concentration
            field is kept (``DirectionTransport.concentration``); default none.
    """
    if not (math.isfinite(d0_m2_s) and d0_m2_s > 0):
        raise ValueError(f"d0_m2_s must be a positive diffusivity in m²/s, got {d0_m2_s}")
    if not (0.0 <= cbd_porosity < 1.0):
        raise ValueError(f"cbd_porosity must lie in [0, 1), got {cbd_porosity}")
    if not (bruggeman_exponent > 0):
        raise ValueError(f"bruggeman_exponent must be > 0, got {bruggeman_exponent}")
    rel_cbd = cbd_porosity ** bruggeman_exponent if cbd_porosity > 0 else 0.0
    cond = conductivity_field(micro.image, (1.0, 0.0, rel_cbd))
    fractions = micro.phase_fractions()
    eps = fractions["pore"]
    eps_cond = eps + fractions["CBD"] * rel_cbd
    out = {}
    for name in _check_directions(directions):
        sol = solve_field(cond, DIRECTIONS[name], settings,
                          keep_field=name in field_directions)
        d_rel = sol.k_eff
        pore_percolates = sol.percolates
        if sol.percolates and rel_cbd > 0 and fractions["CBD"] > 0:
            pore_percolates = phase_percolates(micro.image, (PORE,), DIRECTIONS[name])
        if d_rel <= 0:
            tau = math.inf
        else:  # no pore voxels: ε / D_eff = 0 says nothing about a path
            tau = eps / d_rel if eps > 0 else math.nan
        out[name] = DirectionTransport(
            direction=name, d_eff_m2_s=d_rel * d0_m2_s, tortuosity=tau,
            macmullin=1.0 / d_rel if d_rel > 0 else math.inf,
            percolates=sol.percolates, iterations=sol.iterations, wall_s=sol.wall_s,
            tortuosity_conducting=eps_cond / d_rel if d_rel > 0 else math.inf,
            conducting_fraction=eps_cond, pore_percolates=pore_percolates,
            concentration=sol.u)
    return out


@dataclass(frozen=True)
class ContactConductance:
    """Electronic contact conductance per contact area [S/m²] between solid particles, in
    series with the bulk of the two voxels that meet: on the faces between two different AM
    particles (needs ``Microstructure.am_ids``) and between AM and CBD.  ``inf`` (the
    default) is no contact resistance: the voxel series alone, as before.  Contact
    resistance dominates the electronic transport of NMC electrodes with little carbon; the
    values are the parameters the 3-D cell's calibration infers (Step 10)."""

    am_am_s_m2: float = math.inf
    am_cbd_s_m2: float = math.inf

    def __post_init__(self) -> None:
        for name in ("am_am_s_m2", "am_cbd_s_m2"):
            v = getattr(self, name)
            if not (v > 0) or math.isnan(v):
                raise ValueError(f"{name} must be a contact conductance > 0 in S/m² (inf: none),"
                                 f" got {v}")

    @property
    def none(self) -> bool:
        return math.isinf(self.am_am_s_m2) and math.isinf(self.am_cbd_s_m2)


def in_series_with_contacts(g: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Face conductance ``g`` in series with a contact conductance (inf: none; g = 0 stays
    0): 1 / (1/g + 1/c)."""
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(contact) & (g > 0), 1.0 / (1.0 / g + 1.0 / contact), g)


def contact_faces(micro: Microstructure, contact: ContactConductance
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact conductance per unit voxel edge, G h [S/m], of the faces normal to x, y and z
    (inf where a face is no particle contact), for :func:`solve_field`."""
    img, ids = micro.image, micro.am_ids
    if math.isfinite(contact.am_am_s_m2) and ids is None:
        raise ValueError("an AM-AM contact conductance needs the AM particle of each voxel: "
                         "voxelize(state, particle_ids=True) (a plain .npy image has none)")
    h = micro.voxel_um * 1e-6
    out = []
    for axis in range(3):
        n = img.shape[axis]
        a, b = np.take(img, range(n - 1), axis=axis), np.take(img, range(1, n), axis=axis)
        face = np.full(a.shape, math.inf)
        am_cbd = ((a == AM) & (b == CBD)) | ((a == CBD) & (b == AM))
        face[am_cbd] = contact.am_cbd_s_m2 * h
        if ids is not None:
            ia, ib = np.take(ids, range(n - 1), axis=axis), np.take(ids, range(1, n), axis=axis)
            face[(a == AM) & (b == AM) & (ia != ib)] = contact.am_am_s_m2 * h
        out.append(face)
    return out[0], out[1], out[2]


def electronic_conductivity(micro: Microstructure, directions: str = "z",
                            sigma_am_s_m: float = SIGMA_AM_S_M,
                            sigma_cbd_s_m: float = SIGMA_CBD_S_M,
                            settings: SolverSettings = SolverSettings(),
                            contact: ContactConductance = ContactConductance(),
                            field_directions: str = ""
                            ) -> dict[str, FieldSolution]:
    """Effective electronic conductivity [S/m] of the solid (AM + CBD) per direction, with
    the particle contacts' resistance in series where ``contact`` gives one; the normalised
    potential field (``FieldSolution.u``) of the directions in ``field_directions`` (default
    none)."""
    for name, v in (("sigma_am_s_m", sigma_am_s_m), ("sigma_cbd_s_m", sigma_cbd_s_m)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a conductivity >= 0 in S/m, got {v}")
    cond = conductivity_field(micro.image, (0.0, sigma_am_s_m, sigma_cbd_s_m))
    faces = None if contact.none else contact_faces(micro, contact)
    return {name: solve_field(cond, DIRECTIONS[name], settings, faces,
                              keep_field=name in field_directions)
            for name in _check_directions(directions)}


def phase_percolates(image: np.ndarray, phases: tuple[int, ...], axis: int) -> bool:
    """Whether the union of ``phases`` joins the two ends of ``axis`` (6-connectivity)."""
    mask = np.isin(np.moveaxis(image, axis, 0), phases)
    return bool(spanning_mask(mask).any())


def interface_area_per_volume_um(image: np.ndarray, a: int, b: int, voxel_um: float) -> float:
    """Area of the a-b interface per image volume [µm⁻¹].

    Counts voxel faces between phases a and b and multiplies by 2/3: for an isotropic
    surface the faces overestimate the area by 3/2 on average (Cauchy's projection formula:
    the faces are the projections on three axes, each twice the mean projected area S/4).
    """
    faces = 0
    for axis in range(3):
        lo = np.take(image, range(image.shape[axis] - 1), axis=axis)
        hi = np.take(image, range(1, image.shape[axis]), axis=axis)
        faces += int(np.count_nonzero((lo == a) & (hi == b)) + np.count_nonzero(
            (lo == b) & (hi == a)))
    return (2.0 / 3.0) * faces / (image.size * voxel_um)


def inscribed_radius(pore: np.ndarray) -> np.ndarray:
    """Radius [voxels] of the largest ball centred in each pore voxel, on the image refined
    2× per axis: 1/2 × the fine-grid Euclidean distance map (centre of a fine voxel to the
    centre of the nearest solid fine voxel), the largest of a voxel's 8 sub-voxels; 0 in the
    solid, inf where the image has no solid at all.

    Exact (the distance map of ``pore`` upsampled 2× in every axis, max-pooled back), computed
    on coarse-sized arrays: each of the 8 fine sub-lattices is three separable passes
    (:func:`physics._transport_kernels.refined_edt_pass`).  Why the refinement: the map at voxel
    centres measures to the nearest solid voxel's centre, half a voxel beyond its face, and
    puts ball centres on voxel centres only, while the widest ball of an even-width slit sits
    on a voxel face; the two half voxels cancel for even widths only.  On the refined grid a
    slit or square channel w voxels wide has radius w/2 for every w (1/2 for a 1-voxel
    channel, which the voxel-centre map gives as 1).
    """
    pore = np.asarray(pore, dtype=bool)
    best = np.zeros(pore.shape)
    f0 = np.where(pore, np.inf, 0.0)
    g0, g1, g2 = (np.empty(pore.shape) for _ in range(3))
    for s0 in (0, 1):
        kern.refined_edt_pass(f0, g0, s0)
        for s1 in (0, 1):
            kern.refined_edt_pass(np.moveaxis(g0, 1, 0), np.moveaxis(g1, 1, 0), s1)
            for s2 in (0, 1):
                kern.refined_edt_pass(np.moveaxis(g1, 2, 0), np.moveaxis(g2, 2, 0), s2)
                np.maximum(best, g2, out=best)
    return np.where(pore, 0.5 * np.sqrt(best), 0.0)


def pore_size_distribution(image: np.ndarray, voxel_um: float, n_sizes: int = 16
                           ) -> PoreSizeDistribution:
    """Continuous PSD by morphological opening with balls (local thickness).

    A pore voxel belongs to size >= 2r when it lies inside a ball of radius r' >= r [voxels]
    that fits in the pore phase: centres where the inscribed radius (:func:`inscribed_radius`,
    on the 2× refined grid) is >= r', dilated by r' (distances between voxel centres), the
    union over the radii r' >= r (as PoreSpy's ``local_thickness``; the opening by r alone is
    not monotonic in r on a voxel grid, and cutting it to a monotonic curve dropped the corners
    of a 3-voxel square channel from its 3-voxel class).  Radii are
    ``n_sizes`` geometric steps from 1/2 voxel (a 1-voxel-wide pore, the smallest size) to the
    largest inscribed radius.  A slit or square channel w voxels wide measures w voxels; the
    voxel-centre distance map that this replaces gave w + 1 for odd w (a 1-voxel channel:
    2 voxels) and read the d50 of the dried ``ci`` film ~0.7 voxel high (2.88 µm at 0.5 µm
    voxels and 2.71 µm at 0.25 µm; now 2.63 and 2.62 µm).

    The image bounds the sizes: the distance map sees only the solid inside the image, so a
    pore region with no solid near it has no finite size (an all-pore image: none at all).
    Radii are capped at half the image's smallest edge, the largest ball that fits in the
    image, and ``box_limited_fraction`` is the share of the pore volume inside capped balls:
    > 0 flags ``d50_um`` and ``mean_diameter_um`` as lower bounds.  Without pore voxels both
    are NaN.
    """
    pore = image == PORE
    n_pore = int(pore.sum())
    cap = 0.5 * min(image.shape)
    if n_pore == 0:
        return PoreSizeDistribution(np.zeros(0), np.zeros(0), math.nan, math.nan,
                                    2.0 * cap * voxel_um, 0.0)
    rho = inscribed_radius(pore)
    capped = rho > cap
    limited = 0.0
    if capped.any():
        covered = ndimage.distance_transform_edt(~capped) <= cap
        limited = float(np.count_nonzero(covered & pore) / n_pore)
        rho = np.minimum(rho, cap)
    r_max = float(rho.max())
    radii = np.unique(np.geomspace(0.5, max(r_max, 0.5), n_sizes))
    frac = np.empty(radii.size)
    inside = np.zeros(pore.shape, dtype=bool)  # in some fitting ball of radius >= r
    for i in range(radii.size - 1, -1, -1):
        r = radii[i]
        centres = rho >= r
        inside |= ndimage.distance_transform_edt(~centres) <= r
        frac[i] = np.count_nonzero(inside & pore) / n_pore
    diam = 2.0 * radii * voxel_um
    # mean diameter from the distribution: ∫ d dF with F = 1 - cumulative
    weights = -np.diff(np.append(frac, 0.0))
    mean_d = float(np.sum(weights * diam) / max(weights.sum(), 1e-300))
    d50 = float(np.interp(0.5, frac[::-1], diam[::-1])) if frac[0] >= 0.5 else float(diam[0])
    return PoreSizeDistribution(diam, frac, d50, mean_d, 2.0 * cap * voxel_um, limited)


def slice_fractions(image: np.ndarray) -> np.ndarray:
    """Phase fractions per z slice: array (nz, 3) for pore, AM, CBD."""
    nz = image.shape[2]
    counts = np.stack([np.count_nonzero(image == k, axis=(0, 1)) for k in (PORE, AM, CBD)],
                      axis=1)
    return counts / float(image.shape[0] * image.shape[1]) if nz else counts.astype(float)


@dataclass(frozen=True)
class TransportProperties:
    """Everything :func:`transport_properties` measures on one image.

    Attributes:
        voxel_um, shape: the image's voxel edge [µm] and size [voxels].
        porosity: pore-voxel fraction [-]; phase_fractions: per phase [-].
        diffusion: per direction, pore-phase diffusion (:class:`DirectionTransport`).
            :meth:`summary` names what each τ divides (``tau_definition``) and lists in
            ``warnings`` the outputs that need it (τ < 1, no pore voxels, a path only through
            the CBD, pore sizes the image does not bound).
        sigma_eff_s_m: per direction, effective electronic conductivity [S/m].
        solid_percolates: per direction, AM + CBD joins the end planes.
        cbd_percolates: per direction, the CBD alone joins the end planes.
        am_pore_area_per_volume_um: AM-pore interface per image volume [µm⁻¹].
        am_cbd_area_per_volume_um: AM-CBD interface per image volume [µm⁻¹].
        psd: pore size distribution (None when not requested).
        slice_fractions: (nz, 3) pore/AM/CBD fractions per z slice.
        wall_s: time per part [s].
        fields: only for ``transport_properties(field_directions=...)`` (default: empty):
            ``concentration_<d>`` (the normalised concentration of the diffusion solve) and
            ``potential_<d>`` (the normalised electronic potential of the conduction solve),
            float64 [x, y, z], 1 on the end plane at the start of direction d and 0 at its
            end, NaN on voxels outside the spanning network.
    """

    voxel_um: float
    shape: tuple[int, int, int]
    porosity: float
    phase_fractions: dict[str, float]
    diffusion: dict[str, DirectionTransport]
    sigma_eff_s_m: dict[str, float]
    solid_percolates: dict[str, bool]
    cbd_percolates: dict[str, bool]
    am_pore_area_per_volume_um: float
    am_cbd_area_per_volume_um: float
    psd: PoreSizeDistribution | None
    slice_fractions: np.ndarray
    wall_s: dict[str, float]
    fields: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def summary(self) -> dict:
        """Flat JSON-ready numbers (inf where a direction does not percolate).

        Per direction d: ``tau_d`` = porosity · D0 / D_eff (pore voxels only, what the cell
        model takes with ``porosity``; NaN without pore voxels), ``tau_conducting_d`` =
        ``conducting_fraction`` · D0 / D_eff (TauFactor's multi-phase τ), ``d_eff_d_m2_s``,
        ``macmullin_d`` = D0 / D_eff, ``pore_percolates_d`` (the pore voxels alone join the
        end planes) and ``electrolyte_percolates_d`` (pore plus conducting CBD: D_eff > 0).
        ``tau_definition`` states this in the output; ``warnings`` (only when there are any)
        names what would otherwise mislead.
        """
        out: dict = {"voxel_um": self.voxel_um, "shape": list(self.shape),
                     "porosity": self.porosity,
                     **{f"fraction_{k}": v for k, v in self.phase_fractions.items()}}
        first = next(iter(self.diffusion.values()), None)
        if first is not None:
            out["conducting_fraction"] = first.conducting_fraction
            out["tau_definition"] = TAU_DEFINITION
        for name, d in self.diffusion.items():
            out[f"tau_{name}"] = d.tortuosity
            out[f"tau_conducting_{name}"] = d.tortuosity_conducting
            out[f"d_eff_{name}_m2_s"] = d.d_eff_m2_s
            out[f"macmullin_{name}"] = d.macmullin
            out[f"pore_percolates_{name}"] = d.pore_percolates
            out[f"electrolyte_percolates_{name}"] = d.percolates
        for name, v in self.sigma_eff_s_m.items():
            out[f"sigma_eff_{name}_s_m"] = v
        out["sigma_eff"] = self.sigma_eff_s_m.get("z", next(iter(self.sigma_eff_s_m.values()),
                                                            math.nan))
        out["percolates"] = self.solid_percolates.get(
            "z", all(self.solid_percolates.values()))
        for name, v in self.solid_percolates.items():
            out[f"solid_percolates_{name}"] = v
        for name, v in self.cbd_percolates.items():
            out[f"cbd_percolates_{name}"] = v
        out["am_pore_area_per_volume_um"] = self.am_pore_area_per_volume_um
        out["am_cbd_area_per_volume_um"] = self.am_cbd_area_per_volume_um
        if self.psd is not None:
            out["pore_d50_um"] = self.psd.d50_um
            out["pore_mean_diameter_um"] = self.psd.mean_diameter_um
            out["pore_size_limited_by_box"] = self.psd.limited_by_box
            out["pore_size_box_limited_fraction"] = self.psd.box_limited_fraction
        out["wall_s"] = sum(self.wall_s.values())
        warnings = self.warnings()
        if warnings:
            out["warnings"] = warnings
        return out

    def warnings(self) -> list[str]:
        """One sentence per output that would mislead without its definition."""
        out = []
        dirs = self.diffusion
        if dirs and self.porosity == 0:
            via = [n for n, d in dirs.items() if d.percolates]
            out.append("no pore voxels: tau_<d> on the pore fraction is undefined (NaN)"
                       + (f"; D_eff and tau_conducting_<d> along {', '.join(via)} are the "
                          "CBD's" if via else ""))
        elif dirs:
            below = [n for n, d in dirs.items() if d.tortuosity < 1.0]
            if below:
                out.append(f"tau_<d> < 1 along {', '.join(below)}: D_eff includes the "
                           "conducting CBD while tau_<d> counts pore voxels only; "
                           "tau_conducting_<d> is the conducting phases' tortuosity")
            cbd_only = [n for n, d in dirs.items() if d.percolates and not d.pore_percolates]
            if cbd_only:
                out.append(f"the pore voxels alone do not join the end planes along "
                           f"{', '.join(cbd_only)}: D_eff there needs the CBD")
        if self.psd is not None and self.psd.limited_by_box:
            out.append(f"{100 * self.psd.box_limited_fraction:.3g} % of the pore volume has "
                       f"no solid within the image's smallest edge ({self.psd.cap_um:g} µm): "
                       "pore sizes capped there, pore_d50_um and pore_mean_diameter_um are "
                       "lower bounds")
        return out


def transport_properties(micro: Microstructure, directions: str = "xyz",
                         conduction_directions: str = "z", d0_m2_s: float = D0_M2_S,
                         cbd_porosity: float = CBD_POROSITY,
                         bruggeman_exponent: float = BRUGGEMAN_EXPONENT,
                         sigma_am_s_m: float = SIGMA_AM_S_M,
                         sigma_cbd_s_m: float = SIGMA_CBD_S_M, psd: bool = True,
                         settings: SolverSettings = SolverSettings(),
                         progress=None,
                         contact: ContactConductance = ContactConductance(),
                         field_directions: str = ""
                         ) -> TransportProperties:
    """Tortuosity per direction, electronic conductivity, surface areas, PSD and slices.

    ``progress``, if given, is called with a short label before each part.
    ``field_directions`` (default none): letters from xyz whose solved fields are returned in
    ``TransportProperties.fields`` (a direction not in ``directions`` /
    ``conduction_directions`` gives no field of that solve).
    """
    if field_directions:
        _check_directions(field_directions)
    note = progress or (lambda label: None)
    wall: dict[str, float] = {}

    def timed(label, fn, *args, **kw):
        note(label)
        t = time.perf_counter()
        out = fn(*args, **kw)
        wall[label] = time.perf_counter() - t
        return out

    diffusion = timed("diffusion", diffusion_directions, micro, directions, d0_m2_s,
                      cbd_porosity, bruggeman_exponent, settings, field_directions)
    sigma = timed("conduction", electronic_conductivity, micro, conduction_directions,
                  sigma_am_s_m, sigma_cbd_s_m, settings, contact, field_directions)
    fields = {f"concentration_{n}": d.concentration for n, d in diffusion.items()
              if d.concentration is not None}
    fields.update({f"potential_{n}": s.u for n, s in sigma.items() if s.u is not None})
    img = micro.image
    solid = {n: phase_percolates(img, (AM, CBD), DIRECTIONS[n]) for n in sigma}
    cbd = {n: phase_percolates(img, (CBD,), DIRECTIONS[n]) for n in sigma}
    a_pore = timed("surface", interface_area_per_volume_um, img, AM, PORE, micro.voxel_um)
    a_cbd = interface_area_per_volume_um(img, AM, CBD, micro.voxel_um)
    dist = timed("psd", pore_size_distribution, img, micro.voxel_um) if psd else None
    return TransportProperties(
        voxel_um=micro.voxel_um, shape=micro.shape, porosity=micro.porosity,
        phase_fractions=micro.phase_fractions(), diffusion=diffusion,
        sigma_eff_s_m={n: s.k_eff for n, s in sigma.items()}, solid_percolates=solid,
        cbd_percolates=cbd, am_pore_area_per_volume_um=a_pore,
        am_cbd_area_per_volume_um=a_cbd, psd=dist, slice_fractions=slice_fractions(img),
        wall_s=wall, fields=fields)


def film_summary(summary: dict, film_fractions: dict[str, float]) -> dict:
    """:meth:`TransportProperties.summary` of a film's transport image, restated for the film
    between its exact bounds (``film_fractions``: :func:`physics.voxel.film_phase_fractions`).

    The image holds round(thickness / edge) voxel layers, so its pore fraction steps with the
    thickness (physics/voxel.py); ``porosity`` and ``fraction_<phase>`` become the film's
    (the image's pore fraction stays as ``porosity_image``) and each pore-based ``tau_<d>`` is
    restated on the film's porosity, τ = ε_film D0 / D_eff, with the image's D_eff (what the
    cell takes, ε / τ, is the image's; the < half-layer difference in extent is not resolved).
    """
    out = dict(summary)
    eps_image, eps_film = summary["porosity"], film_fractions["pore"]
    out.update({"porosity": eps_film, "porosity_image": eps_image,
                **{f"fraction_{k}": v for k, v in film_fractions.items()}})
    for d in DIRECTIONS:
        tau = summary.get(f"tau_{d}")
        if tau is not None and eps_image > 0 and math.isfinite(tau):
            out[f"tau_{d}"] = tau * eps_film / eps_image
    return out
