"""Blocking impedance of a porous electrode solved on its 3-D voxel image (Step 10 item 3).

The paper's EIS (§6.2, COMSOL on each mesostructure) charges the double layer of the solid
surfaces through the electrolyte in the 3-D pore network; τ_EIS then comes from the
transmission-line reading of that spectrum.  Here the same experiment runs on the voxel image
(z = 0 the current collector, labels 0 pore, 1 AM, 2 CBD; :mod:`physics.voxel`):

* Unknown: the complex electrolyte potential amplitude φ in every electrolyte-carrying voxel
  connected to the separator: pores (conductivity κ) and the nano-porous CBD (κ ε_CBD^b, the
  paper's Bruggeman correction, as the voxel τ of :mod:`physics.transport`).  The solid is
  one equipotential at φ_s = 0 (the paper set the AM conductivity to 1 S/m "to neglect the
  role of electronic resistance"; blocking conditions, no faradaic current).
* Double layer: a capacitance C_dl per area on every face between an electrolyte-carrying
  voxel and a solid surface that faces it (pore–AM, pore–CBD and CBD–AM faces: the AM surface
  in the CBD is wetted through its nano-pores).  The CBD's inner surface is not resolved and
  carries no capacitance; neither does the current collector (``collector_charges`` adds it).
* Boundary: φ = 1 on the separator plane, half a voxel above the top voxel centres (the
  transport solver's end plane; ``SolverSettings.end_offset_voxels`` = 1 puts it one voxel
  out, as TauFactor); no ionic flux through the collector and the side faces.
* Finite volumes: Σ_faces g (φ_i − φ_j) + jω C_dl h n_i φ_i = 0, g the harmonic-mean face
  conductance times the voxel edge h, n_i the voxel's charging faces.  Area-specific
  impedance Z = A / I with I the current through the separator plane.

Solver: (L + jωD) is complex symmetric with L symmetric positive definite and D >= 0 diagonal;
preconditioned by one V-cycle of the transport solver's aggregation multigrid on the real
operator L + ωD (for this splitting the preconditioned spectrum lies in the annulus
1/√2 <= |λ| <= 1, so the iteration count does not grow with ω or the grid; Axelsson &
Kucherov, Numer. Linear Algebra Appl. 7 (2000) 197), applied to the real and imaginary parts,
inside GMRES (scipy).  Frequencies run from high to low, each solve starting from the previous
one's potential.

τ_EIS = R_ion κ ε / L from the transmission-line fit of the spectrum
(:func:`physics.impedance.fit_tlm`), ε the pore-voxel fraction of the image and L its
thickness, reported beside the voxel τ_z of the same conductivity field
(:func:`physics.transport.solve_field`).
In a laterally uniform electrode the two agree; dead-end pores (capacitance without
conduction), a porosity gradient in z and CBD that conducts ions but charges differently move
τ_EIS away from τ_z, as in the paper (11-33 %).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import linalg as sparse_linalg

from physics import _transport_kernels as kern
from physics.impedance import TLMFit, fit_tlm, frequencies_hz
from physics.transport import (
    BRUGGEMAN_EXPONENT,
    CBD_POROSITY,
    SolverSettings,
    _hierarchy,
    _level_from_faces,
    _v_cycle,
    solve_field,
)
from physics.voxel import AM, CBD, PORE, check_image


@dataclass(frozen=True)
class BlockingCell3D:
    """Material values of the 3-D blocking cell.

    Attributes:
        electrolyte_conductivity_s_m: κ of the (blocking) electrolyte [S/m], > 0; τ does not
            depend on it.
        double_layer_f_m2: C_dl per area of charging surface [F/m²], > 0 (0.1 = 10 µF/cm²).
        cbd_porosity: nano-porosity of the CBD [-], in [0, 1); 0 makes the CBD solid.
        bruggeman_exponent: κ_CBD = κ ε_CBD^b [-], >= 1.
        collector_charges: the current-collector face of the first layer's electrolyte
            voxels charges too (False: the transmission line's blocking end; True:
            TauFactor's ``ElectrodeSolver``, which counts every non-conducting face).
    """

    electrolyte_conductivity_s_m: float = 1.0
    double_layer_f_m2: float = 0.1
    cbd_porosity: float = CBD_POROSITY
    bruggeman_exponent: float = BRUGGEMAN_EXPONENT
    collector_charges: bool = False

    def __post_init__(self) -> None:
        if not self.electrolyte_conductivity_s_m > 0:
            raise ValueError(f"electrolyte_conductivity_s_m must be > 0, got "
                             f"{self.electrolyte_conductivity_s_m}")
        if not self.double_layer_f_m2 > 0:
            raise ValueError(f"double_layer_f_m2 must be > 0, got {self.double_layer_f_m2}")
        if not 0 <= self.cbd_porosity < 1:
            raise ValueError(f"cbd_porosity must lie in [0, 1), got {self.cbd_porosity}")
        if not self.bruggeman_exponent >= 1:
            raise ValueError(f"bruggeman_exponent must be >= 1, got {self.bruggeman_exponent}")

    def conductivity_field(self, image: np.ndarray) -> np.ndarray:
        """κ per voxel [S/m]: pores κ, CBD κ ε_CBD^b, AM 0."""
        kappa = self.electrolyte_conductivity_s_m
        k_cbd = kappa * self.cbd_porosity ** self.bruggeman_exponent
        return np.select([image == PORE, image == CBD], [kappa, k_cbd], 0.0)


@dataclass(frozen=True)
class Impedance3D:
    """The 3-D blocking spectrum of one image and its transmission-line reading.

    Attributes:
        freq_hz: frequencies [Hz], high to low; z_ohm_m2: area-specific impedance [Ω m²].
        iterations: GMRES iterations per frequency.
        fit: the transmission-line fit (R_HF, R_ion, C_dl per electrode area).
        tau_eis: R_ion κ ε / L with R_ion of the transmission-line fit [-].
        tau_eis_low_frequency: the same with R_ion = 3 (Re Z(ω_min) − R_HF), the graphical
            reading's low-frequency end [-]; equal to ``tau_eis`` for a uniform line, apart
            where the spectrum is not one (a spread of local time constants).
        tau_z: voxel τ of the same conductivity field [-].
        porosity: pore-voxel fraction [-]; thickness_um: L [µm].
        charging_area_per_volume_um: charging faces per electrode volume [µm⁻¹].
        active_fraction: voxels connected to the separator that carry electrolyte [-].
        wall_s, cpu_s: time of the whole spectrum [s].
    """

    freq_hz: np.ndarray
    z_ohm_m2: np.ndarray
    iterations: tuple[int, ...]
    fit: TLMFit
    tau_eis: float
    tau_eis_low_frequency: float
    tau_z: float
    porosity: float
    thickness_um: float
    charging_area_per_volume_um: float
    active_fraction: float
    wall_s: float
    cpu_s: float

    def to_metrics(self) -> dict[str, float]:
        return {"tau_eis_3d": self.tau_eis,
                "tau_eis_3d_low_frequency": self.tau_eis_low_frequency, "tau_z": self.tau_z,
                "r_ion_3d_ohm_cm2": self.fit.r_ion_ohm_m2 * 1e4,
                "c_dl_3d_f_cm2": self.fit.c_dl_f_m2 * 1e-4,
                "tlm_fit_rms_relative_residual": self.fit.rms_relative_residual,
                "eis3d_gmres_iterations_max": float(max(self.iterations)),
                "eis3d_cpu_s": self.cpu_s}


def connected_to_top(carrier: np.ndarray) -> np.ndarray:
    """Voxels of 6-connected clusters of ``carrier`` (axis 0 through the film) that reach
    the last layer (the separator side)."""
    labels, n = ndimage.label(carrier)
    if n == 0:
        return np.zeros_like(carrier)
    top = np.unique(labels[-1])
    top = top[top > 0]
    return np.isin(labels, top) if top.size else np.zeros_like(carrier)


def charging_faces(image_z: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Per active voxel (axis 0 through the film), the number of its faces on a charging
    solid surface: AM next to pore or CBD, CBD next to pore (module docstring)."""
    count = np.zeros(image_z.shape, dtype=np.int32)
    pore, cbd, am = image_z == PORE, image_z == CBD, image_z == AM
    for axis in range(3):
        n = image_z.shape[axis]
        for lo, hi in ((slice(0, n - 1), slice(1, n)), (slice(1, n), slice(0, n - 1))):
            here = [slice(None)] * 3
            there = [slice(None)] * 3
            here[axis], there[axis] = lo, hi
            h, t = tuple(here), tuple(there)
            count[h] += am[t] | (pore[h] & cbd[t])
    return np.where(active, count, 0)


def resolved_frequencies_hz(r_ion_ohm_m2: float, c_dl_f_m2: float, layers: int,
                            points_per_decade: int = 7) -> np.ndarray:
    """Frequencies (high to low) that the voxel grid resolves: from where the penetration
    depth sqrt(1 / (ω R' C')) is 5 voxels (ω R C = (layers / 5)²) down to 1 % of the
    electrode's characteristic frequency 1 / (2π R_ion C).  The paper's fixed 1 Hz–10 MHz
    would put its high end inside one voxel for C_dl ~ 10 µF/cm² and a µm-scale surface,
    where the voxel ladder no longer is the continuum line (module docstring)."""
    if not (math.isfinite(r_ion_ohm_m2) and r_ion_ohm_m2 > 0 and c_dl_f_m2 > 0):
        raise ValueError("the image conducts no ionic current through z or has no charging "
                         "surface: no blocking spectrum")
    f_c = 1.0 / (2 * math.pi * r_ion_ohm_m2 * c_dl_f_m2)
    return frequencies_hz(0.01 * f_c, f_c * max(layers / 5.0, 3.0) ** 2, points_per_decade)


def _gmres_solve(levels, b: np.ndarray, x0: np.ndarray, omega_shift: np.ndarray,
                 settings: SolverSettings) -> tuple[np.ndarray, int]:
    """(L + jωD) x = b on the fine level of ``levels`` (whose operator is L + ωD)."""
    fine = levels[0]
    shape = fine.d.shape
    lap_d = fine.d - omega_shift  # the Laplacian's own diagonal
    out_r, out_i = np.empty(shape), np.empty(shape)
    z_r, z_i = np.empty(shape), np.empty(shape)

    def matvec(v: np.ndarray) -> np.ndarray:
        v = v.reshape(shape)
        kern.apply_operator(np.ascontiguousarray(v.real), fine.g0, fine.g1, fine.g2, lap_d,
                            out_r)
        kern.apply_operator(np.ascontiguousarray(v.imag), fine.g0, fine.g1, fine.g2, lap_d,
                            out_i)
        return (out_r + 1j * out_i + 1j * omega_shift * v).ravel()

    def precondition(v: np.ndarray) -> np.ndarray:
        v = v.reshape(shape)
        _v_cycle(levels, 0, np.ascontiguousarray(v.real), z_r, settings.smoothing_sweeps)
        _v_cycle(levels, 0, np.ascontiguousarray(v.imag), z_i, settings.smoothing_sweeps)
        return (z_r + 1j * z_i).ravel()

    n = b.size
    a_op = sparse_linalg.LinearOperator((n, n), matvec=matvec, dtype=complex)
    m_op = sparse_linalg.LinearOperator((n, n), matvec=precondition, dtype=complex)
    count = [0]

    def callback(_):
        count[0] += 1

    x, info = sparse_linalg.gmres(a_op, b.ravel(), x0=x0.ravel(), rtol=settings.rtol,
                                  atol=0.0, restart=60, maxiter=settings.max_iterations,
                                  M=m_op, callback=callback, callback_type="pr_norm")
    if info != 0:
        raise RuntimeError(f"3-D impedance solve did not converge in {count[0]} GMRES "
                           f"iterations (rtol {settings.rtol:g})")
    return x.reshape(shape), count[0]


def blocking_impedance_3d(image: np.ndarray, voxel_um: float, freq_hz=None,
                          cell: BlockingCell3D = BlockingCell3D(),
                          settings: SolverSettings | None = None,
                          progress: Callable[[int, int], None] | None = None) -> Impedance3D:
    """The blocking impedance of ``image`` (uint8 [x, y, z], z = 0 the collector) with voxel
    edge ``voxel_um`` [µm] at ``freq_hz`` (default :func:`resolved_frequencies_hz`, 7 per
    decade), and τ_EIS from it beside the voxel τ_z (module docstring).  ``progress(done,
    total)`` is called after each frequency."""
    t0, c0 = time.perf_counter(), time.process_time()
    settings = settings or SolverSettings()
    image = check_image(image)
    if not (math.isfinite(voxel_um) and voxel_um > 0):
        raise ValueError(f"voxel_um must be > 0, got {voxel_um}")
    h = voxel_um * 1e-6
    kappa = cell.electrolyte_conductivity_s_m
    cond_xyz = cell.conductivity_field(image)
    img = np.ascontiguousarray(np.moveaxis(image, 2, 0))
    cond = np.ascontiguousarray(np.moveaxis(cond_xyz, 2, 0))
    active = connected_to_top(cond > 0)
    if not active.any():
        raise ValueError("no electrolyte-carrying voxel touches the separator side (z top)")
    cond = np.where(active, cond, 0.0)
    n0, n1, n2 = cond.shape
    g0, g1, g2 = np.zeros((n0 - 1, n1, n2)), np.zeros((n0, n1 - 1, n2)), np.zeros((n0, n1, n2 - 1))
    bc_lo, bc_hi = np.zeros((n1, n2)), np.zeros((n1, n2))
    kern.face_conductances(cond, g0, g1, g2, bc_lo, bc_hi, settings.end_offset_voxels)
    bc_lo[...] = 0.0  # the current collector blocks ionic current
    faces = charging_faces(img, active)
    if cell.collector_charges:
        faces[0] += active[0]
    cap = cell.double_layer_f_m2 * h * faces  # [F/m] per voxel, with g in S/m after ÷ h
    porosity = float(np.mean(image == PORE))
    # from the collector face to the separator plane
    thickness_m = (n0 - 0.5 + settings.end_offset_voxels) * h
    k_z = solve_field(cond_xyz / kappa, 2, settings).k_eff
    # τ on the pore fraction (TauFactor's): undefined (NaN) without pore voxels, where only
    # the CBD's nano-pores conduct (physics/transport.py reports that case the same way)
    tau_z = (porosity / k_z if k_z > 0 else math.inf) if porosity > 0 else math.nan
    if freq_hz is None:
        freq = resolved_frequencies_hz(thickness_m / (kappa * k_z) if k_z > 0 else math.inf,
                                       cell.double_layer_f_m2 * faces.sum() / (n1 * n2), n0)
    else:
        freq = np.sort(np.asarray(freq_hz, dtype=float))[::-1]
    if freq.size < 4 or not np.all(freq > 0):
        raise ValueError("freq_hz needs at least 4 frequencies, all > 0")
    b = np.zeros((n0, n1, n2), dtype=complex)
    b[-1] = bc_hi  # φ = 1 on the separator plane
    x = np.zeros_like(b)
    z = np.empty(freq.size, dtype=complex)
    iterations = []
    for k, f in enumerate(freq):
        shift = 2 * math.pi * f * cap
        levels = _hierarchy(_level_from_faces(g0, g1, g2, bc_lo, bc_hi, shift), settings)
        x, its = _gmres_solve(levels, b, x, shift, settings)
        # the current into the double layers (equal to the flux through the separator
        # plane; better conditioned where 1 - φ is small at low frequency)
        current = 1j * complex(np.sum(shift * x))
        z[k] = n1 * n2 * h / current
        iterations.append(its)
        if progress is not None:
            progress(k + 1, freq.size)
    fit = fit_tlm(freq, z)
    eps = porosity if porosity > 0 else math.nan  # τ_EIS = N_M ε: undefined without pores
    tau_eis = fit.r_ion_ohm_m2 * kappa * eps / thickness_m
    r_ion_lf = 3.0 * (float(z[np.argmin(freq)].real) - fit.r_hf_ohm_m2)
    tau_lf = r_ion_lf * kappa * eps / thickness_m
    return Impedance3D(freq, z, tuple(iterations), fit, float(tau_eis), float(tau_lf),
                       float(tau_z),
                       porosity, thickness_m * 1e6,
                       float(faces.sum() / (n0 * n1 * n2) / voxel_um),
                       float(active.mean()), time.perf_counter() - t0,
                       time.process_time() - c0)
