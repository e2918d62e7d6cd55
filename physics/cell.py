"""Pseudo-2D (Doyle-Fuller-Newman) half cell: porous cathode | separator | Li foil.

x runs from the Li foil (x = 0, separator side) through the separator to the cathode's current
collector (x = L).  Unknowns on linear finite elements in x: salt concentration c_e and
electrolyte potential φ_e on all nodes, solid potential φ_s on the cathode nodes; for each AM
size class and cathode node, the Li concentration c_s on linear elements in the particle radius.

Equations (Doyle, Fuller & Newman 1993; half cell as PyBaMM's "working electrode: positive"):
  ε_e ∂c_e/∂t = ∂x(D_eff ∂x c_e) + (1 - t+) j / F
  ∂x i_e = j,   i_e = -κ_eff ∂x φ_e + κ_eff (2RT/F)(1 - t+) TDF ∂x ln c_e
  ∂x i_s = -j,  i_s = -σ_eff ∂x φ_s  (σ_eff constant, or a function of the local AM surface
    stoichiometry θ = Σ_k f_k c_s,k(R) / c_max, from a table (:mod:`physics.am_conductivity`):
    each element conducts with σ_a σ_b ln(σ_b/σ_a) / (σ_b − σ_a) of its nodal values, the
    series conductance of a σ that varies exponentially across the element.  The surface,
    not the particle mean, because a contact's constriction resistance sits within a
    contact radius of the contact)
  ∂t c_s = D_s r⁻² ∂r(r² ∂r c_s),  D_s ∂r c_s(R) = -(a_k R_k / 3 ε_AM f_k) i_k / F (the
    reacting area's current spread over the sphere, so Li is conserved for any a_k)
  i_k = 2 i0 sinh(F η / 2RT),  η = φ_s - φ_e - U(c_s(R)/c_max),
  i0 = F k c_e^½ c_s^½ (c_max - c_s)^½,   j = Σ_k a_k i_k
Boundary conditions: at the foil i_app = 2 i0_Li sinh(F η_Li / 2RT) with η_Li = -φ_e(0) (Li at
0 V; plus C_dl,Li dη_Li/dt in the impedance) and a salt influx (1 - t+) i_app / F; at the
collector i_s = i_app, i_e = 0, no salt flux; at the separator/cathode interface i_s = 0.
Cell voltage V = φ_s(L).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from physics import _cell_kernels as kern
from physics import electrolyte as el
from physics.am_conductivity import table_conductivity, table_log10_points
from physics.cell_params import FARADAY, GAS_CONSTANT, CellParameters
from physics.fem1d import graded_nodes, mass_matrix, stiffness_matrix, two_sided_nodes
from physics.ocp import ocp_function


def butler_volmer(ce, cs_surf, phi_s_minus_phi_e, c_max: float, ocp, rate_constant: float,
                  temperature_k: float):
    """(i [A/m²], η [V]) of the cathode reaction, symmetric Butler–Volmer (module docstring):
    i = 2 i0 sinh(F η / 2RT), η = φ_s − φ_e − U(c_s/c_max), i0 = F k c_e^½ c_s^½
    (c_max − c_s)^½; concentrations in mol/m³ (clipped at 1e-6 so i0 stays real), arrays
    broadcast.  Shared by the P2D and the 3-D cell."""
    eta = phi_s_minus_phi_e - ocp(cs_surf / c_max)
    i0 = FARADAY * rate_constant * np.sqrt(np.maximum(ce, 1e-6)) * np.sqrt(
        np.clip(cs_surf, 1e-6, None) * np.clip(c_max - cs_surf, 1e-6, None))
    f = FARADAY / (2.0 * GAS_CONSTANT * temperature_k)
    return 2.0 * i0 * np.sinh(f * eta), eta


def electrolyte_properties(params: CellParameters, c_mol_m3: np.ndarray):
    """(D [m²/s], κ [S/m]) of the salt at c (constant, or Valøen & Reimers 2005 at the
    cell temperature, c floored at 1 mol/m³).  Shared by the P2D and the 3-D cell."""
    e = params.electrolyte
    if e.properties == "constant":
        return (np.full_like(c_mol_m3, e.diffusivity_m2_s),
                np.full_like(c_mol_m3, e.conductivity_s_m))
    c = np.maximum(c_mol_m3, 1.0)
    return (el.diffusivity_valoen2005_m2_s(c, params.temperature_k),
            el.conductivity_valoen2005_s_m(c, params.temperature_k))


@dataclass(frozen=True)
class Mesh:
    """Element counts: separator, cathode, particle radius; and the size of the cathode's
    first and last elements [m] (0: uniform), from which the elements grow by 1.2 per
    element up to thickness / n_cathode (:func:`physics.fem1d.two_sided_nodes`)."""

    n_separator: int = 10
    n_cathode: int = 20
    n_radius: int = 24
    cathode_end_element_m: float = 0.0


class HalfCellDFN:
    """Discretized half cell: unknown layout, residual and Jacobian (module docstring)."""

    def __init__(self, params: CellParameters, mesh: Mesh = Mesh()):
        self.p = params
        self.mesh = mesh
        cat, sep = params.cathode, params.separator
        self.ocp = ocp_function(cat.ocp)
        self.temp = params.temperature_k
        xs = graded_nodes(sep.thickness_m, mesh.n_separator)
        xc = sep.thickness_m + (
            two_sided_nodes(cat.thickness_m, mesh.n_cathode, mesh.cathode_end_element_m)
            if mesh.cathode_end_element_m > 0 else graded_nodes(cat.thickness_m,
                                                                 mesh.n_cathode))
        self.x = np.concatenate([xs, xc[1:]])
        self.n_x = self.x.size
        self.i_sep = mesh.n_separator  # node index of the separator/cathode interface
        n_el = self.n_x - 1
        in_cat = np.arange(n_el) >= mesh.n_separator
        # per-element properties
        self.eps_e = np.where(in_cat, cat.electrolyte_volume_fraction, sep.porosity)
        self.transport = np.where(in_cat, cat.transport_factor,
                                  sep.porosity / sep.tortuosity_factor)
        # lumped (nodal) weights: ε_e-weighted for storage, cathode-only for reactions
        h = np.diff(self.x)
        self.w_eps = np.zeros(self.n_x)
        np.add.at(self.w_eps, np.arange(n_el), 0.5 * h * self.eps_e)
        np.add.at(self.w_eps, np.arange(1, n_el + 1), 0.5 * h * self.eps_e)
        self.w_cat = np.zeros(self.n_x)
        hc = np.where(in_cat, 0.5 * h, 0.0)
        np.add.at(self.w_cat, np.arange(n_el), hc)
        np.add.at(self.w_cat, np.arange(1, n_el + 1), hc)
        self.cat_nodes = np.arange(self.i_sep, self.n_x)
        self.n_c = self.cat_nodes.size
        table = cat.electronic_conductivity_vs_stoichiometry
        self.sigma_table = table_log10_points(table) if table else None
        # particles
        self.radii = np.asarray(cat.particle_radii_m)
        self.n_k = self.radii.size
        self.area = np.asarray(cat.surface_area_per_class_m())
        self.class_shares = np.asarray(cat.particle_volume_fractions)  # AM volume shares
        # Li enters a class's spheres at a_k i_k per electrode volume; their own surface per
        # volume is 3 ε_AM f_k / R_k, so the flux averaged over the sphere surface is i_k
        # times the ratio (1 unless specific_surface_area_m sets a reacting area of its own,
        # e.g. the voxel AM-electrolyte area with particle contacts and CBD cover removed)
        geometric = 3.0 * cat.active_volume_fraction * np.asarray(
            cat.particle_volume_fractions) / self.radii
        self.flux_scale = self.area / geometric
        self.r_nodes = [graded_nodes(r, mesh.n_radius, ratio=0.3) for r in self.radii]
        self.m_r = [mass_matrix(rn, "spherical") for rn in self.r_nodes]
        self.k_r = [stiffness_matrix(rn, cat.solid_diffusivity_m2_s, "spherical")
                    for rn in self.r_nodes]
        self.n_r = mesh.n_radius + 1
        # layout
        self.sl_ce = slice(0, self.n_x)
        self.sl_pe = slice(self.n_x, 2 * self.n_x)
        self.sl_ps = slice(2 * self.n_x, 2 * self.n_x + self.n_c)
        self.off_cs = 2 * self.n_x + self.n_c
        self.size = self.off_cs + self.n_k * self.n_c * self.n_r
        self.c_max = cat.max_concentration_mol_m3
        # which unknowns carry a time derivative
        self.differential = np.zeros(self.size, bool)
        self.differential[self.sl_ce] = True
        self.differential[self.off_cs:] = True
        self._mass = self._mass_matrix()
        self.arrays = self._kernel_arrays()

    # ------------------------------------------------------------------ pieces
    def cs_block(self, y: np.ndarray) -> np.ndarray:
        """c_s as (class, cathode node, radial node)."""
        return y[self.off_cs:].reshape(self.n_k, self.n_c, self.n_r)

    def _kernel_arrays(self) -> kern.CellArrays:
        p, cat, e = self.p, self.p.cathode, self.p.electrolyte
        kind, ocp_x, ocp_c, ocp_ends = self.ocp.kernel_arrays()
        theta, log10 = self.sigma_table if self.sigma_table else (np.zeros(0), np.zeros(0))
        return kern.CellArrays(
            h=np.diff(self.x), i_sep=int(self.i_sep), n_k=int(self.n_k), n_r=int(self.n_r),
            w_eps=self.w_eps, w_cat=self.w_cat, transport=self.transport.astype(float),
            sigma_const=float(cat.electronic_conductivity_s_m), sigma_theta=theta,
            sigma_log10=log10, radii=self.radii.astype(float), area=self.area.astype(float),
            flux_scale=self.flux_scale.astype(float),
            class_shares=self.class_shares.astype(float),
            mr_diag=np.array([m.diagonal() for m in self.m_r]),
            mr_off=np.array([m.diagonal(1) for m in self.m_r]),
            kr_diag=np.array([k.diagonal() for k in self.k_r]),
            kr_off=np.array([k.diagonal(1) for k in self.k_r]),
            electrolyte_kind=0 if e.properties == "constant" else 1,
            diffusivity=float(e.diffusivity_m2_s), conductivity=float(e.conductivity_s_m),
            temperature_k=float(self.temp), t_plus=float(e.transference_number),
            tdf=float(e.thermodynamic_factor), c_e0=float(e.initial_concentration_mol_m3),
            foil_i0=float(p.lithium_foil.exchange_current_density_a_m2),
            rate_constant=float(cat.reaction_rate_constant), c_max=float(self.c_max),
            ocp_kind=kind, ocp_x=ocp_x, ocp_c=ocp_c, ocp_ends=ocp_ends)

    def capacitance_matrix(self) -> sparse.csr_matrix:
        """Double-layer terms C y' of the residual: AM surfaces (a C_dl per volume, lumped on
        the cathode nodes, charging φ_s - φ_e) and the Li foil (C_dl,Li on η = -φ_e(0))."""
        cat = self.p.cathode
        cap = sum(self.area) * cat.double_layer_capacitance_f_m2 * self.w_cat[self.cat_nodes]
        pe = np.arange(self.n_x)[self.cat_nodes] + self.sl_pe.start
        ps = np.arange(self.n_c) + self.sl_ps.start
        rows = np.concatenate([pe, pe, ps, ps, [self.sl_pe.start]])
        cols = np.concatenate([pe, ps, ps, pe, [self.sl_pe.start]])
        vals = np.concatenate([cap, -cap, cap, -cap,
                               [-self.p.lithium_foil.double_layer_capacitance_f_m2]])
        return sparse.csr_matrix((vals, (rows, cols)), shape=(self.size, self.size))

    def _mass_matrix(self) -> sparse.csr_matrix:
        diag = np.zeros(self.size)
        diag[self.sl_ce] = self.w_eps
        blocks = [sparse.diags(diag[:self.off_cs])]
        blocks += [sparse.kron(sparse.identity(self.n_c), self.m_r[k]) for k in range(self.n_k)]
        mass = sparse.block_diag(blocks, format="csr")
        mass.eliminate_zeros()  # kron keeps the structural zeros of m_r at r = 0
        return mass

    def solid_conductivity(self, y: np.ndarray) -> np.ndarray:
        """σ_eff [S/m] at each cathode node: the constant, or the table at the AM surface
        stoichiometry averaged over the size classes by AM volume (module docstring)."""
        if self.sigma_table is None:
            return np.full(self.n_c, self.p.cathode.electronic_conductivity_s_m)
        theta = self.class_shares @ self.cs_block(y)[:, :, -1] / self.c_max
        return table_conductivity(self.sigma_table, theta)

    # ------------------------------------------------------- residual and Jacobian
    def _evaluate(self, y: np.ndarray, i_app: float):
        wk = kern.work_arrays(self.arrays, self.size)
        kern.residual_and_jacobian(np.asarray(y, dtype=float), float(i_app), self.arrays,
                                   wk.g, wk.jnn, wk.d_surf, wk.b_surf, wk.c_surf)
        return wk

    def residual(self, y: np.ndarray, i_app: float) -> np.ndarray:
        """G(y) with the time derivative excluded: the system is M y' + G(y) = 0."""
        return self._evaluate(y, i_app).g.copy()

    def jacobian(self, y: np.ndarray, i_app: float) -> sparse.csc_matrix:
        """∂G/∂y, analytic (:func:`physics._cell_kernels.residual_and_jacobian`'s blocks
        assembled in the unknown layout)."""
        wk = self._evaluate(y, i_app)
        n_x, n_c, n_r = self.n_x, self.n_c, self.n_r
        node = np.arange(n_x)
        # node-major index 3i + t -> layout index (-1: the dummy φ_s at separator nodes)
        to_layout = np.stack([node, n_x + node, np.where(node >= self.i_sep,
                                                         2 * n_x + node - self.i_sep, -1)],
                             axis=1).ravel()
        rows, cols, vals = [], [], []
        r, q = np.nonzero(wk.jnn)  # band storage: column q holds the entry (r, r + q - BAND)
        c = r + q - kern.BAND
        keep = (to_layout[r] >= 0) & (to_layout[c] >= 0)
        rows.append(to_layout[r[keep]])
        cols.append(to_layout[c[keep]])
        vals.append(wk.jnn[r[keep], q[keep]])
        base = (self.off_cs + (np.arange(self.n_k)[:, None] * n_c
                               + np.arange(n_c)[None, :]) * n_r)  # (n_k, n_c)
        rr = base[:, :, None] + np.arange(n_r)
        rows += [rr.ravel(), rr[:, :, 1:].ravel(), rr[:, :, :-1].ravel()]
        cols += [rr.ravel(), rr[:, :, :-1].ravel(), rr[:, :, 1:].ravel()]
        m = self.arrays
        diag = np.broadcast_to(m.kr_diag[:, None, :], rr.shape).copy()
        diag[:, :, -1] += wk.d_surf
        off = np.broadcast_to(m.kr_off[:, None, :], rr[:, :, 1:].shape)
        vals += [diag.ravel(), off.ravel(), off.ravel()]
        surf = base + n_r - 1
        i = self.i_sep + np.arange(n_c)
        node_cols = np.stack([to_layout[3 * i], to_layout[3 * i + 1], to_layout[3 * i + 2]])
        for t in range(3):
            rows.append(surf.ravel())
            cols.append(np.broadcast_to(node_cols[t], surf.shape).ravel())
            vals.append(wk.b_surf[:, :, t].ravel())
        node_rows = [3 * i, 3 * i + 1, 3 * i - 1, 3 * i + 2, 3 * i + 5]
        for q, nr in enumerate(node_rows):
            ok = nr < 3 * n_x
            target = np.full(n_c, -1)
            target[ok] = to_layout[nr[ok]]
            use = (target >= 0)[None, :] & (wk.c_surf[:, :, q] != 0.0)
            rows.append(np.broadcast_to(target, surf.shape)[use])
            cols.append(surf[use])
            vals.append(wk.c_surf[:, :, q][use])
        return sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                         np.concatenate(cols))),
                                 shape=(self.size, self.size))

    # ---------------------------------------------------------------- state
    def initial_state(self) -> np.ndarray:
        cat = self.p.cathode
        y = np.zeros(self.size)
        y[self.sl_ce] = self.p.electrolyte.initial_concentration_mol_m3
        u0 = float(self.ocp(cat.initial_stoichiometry))
        y[self.sl_ps] = u0
        y[self.off_cs:] = cat.initial_stoichiometry * self.c_max
        return y

    def voltage(self, y: np.ndarray) -> float:
        """Cell voltage φ_s(L) - 0 (Li foil) [V]."""
        return float(y[self.sl_ps][-1])

    def lithium_in_solid_mol_m2(self, y: np.ndarray) -> float:
        """Σ_k ε_AM f_k ∫ (3 / R³) ∫ c_s r² dr over the thickness [mol per m² of electrode]."""
        cat = self.p.cathode
        cs = self.cs_block(y)
        total = 0.0
        for k in range(self.n_k):
            per_node = np.asarray(cs[k] @ (self.m_r[k] @ np.ones(self.n_r)))  # ∫ c r² dr
            conc = 3.0 * per_node / self.radii[k] ** 3  # particle-mean concentration
            vol = cat.active_volume_fraction * cat.particle_volume_fractions[k]
            total += vol * float(self.w_cat[self.cat_nodes] @ conc)
        return total

    def salt_in_electrolyte_mol_m2(self, y: np.ndarray) -> float:
        """∫ ε_e c_e dx with the lumped weights [mol/m²]."""
        return float(self.w_eps @ y[self.sl_ce])


@dataclass(frozen=True)
class Discharge:
    """A galvanostatic discharge: time [s], capacity [mAh/g], voltage [V] and summary."""

    time_s: np.ndarray
    capacity_mah_g: np.ndarray
    voltage_v: np.ndarray
    capacity_final_mah_g: float
    energy_wh_kg: float
    mean_voltage_v: float
    steps: int
    newton_iterations: int
    current_density_a_m2: float
    final_state: np.ndarray
    initial_state: np.ndarray
    end_reason: str = "cut-off voltage"
    mesh: Mesh = Mesh()  # the states' layout: HalfCellDFN(params, mesh)


DEPLETION_FRACTION = 0.01  # salt at 1 % of its initial concentration ends a discharge
#: Salt above this share of the pole of Valøen & Reimers' D(c), c = (T - 229 K) / 5 mol/L
#: (13.8 mol/L at 298 K), ends a discharge with their properties: a high rate piles the salt
#: up at the Li foil (a 60 µm cathode at 20C: 25.8 mol/L after 9.5 s) and Newton failed at
#: the pole.  The fits hold to 4 mol/L; between there and this end they are extrapolated
#: (a thick cathode at 1C passes 4 mol/L at the foil before its salt runs out at the
#: collector)
SATURATION_POLE_SHARE = 0.75


def saturation_mol_m3(params: CellParameters) -> float:
    """Salt concentration [mol/m³] that ends a discharge (``SATURATION_POLE_SHARE``), or
    inf for constant electrolyte properties."""
    if params.electrolyte.properties != "valoen2005":
        return math.inf
    return SATURATION_POLE_SHARE * (params.temperature_k - 229.0) / 5.0 * 1e3
#: Within this distance [V] of the cut-off, a step that fails down to 1e-8 s ends the discharge:
#: the particle surfaces saturate (c_s -> c_max, i0 -> 0), the voltage falls without bound
#: and the rest to the cut-off is a vanishing share of the capacity.
COLLAPSE_WINDOW_V = 0.1
#: The cut-off is located to within this voltage [V] by secant steps (then linearly).
CUTOFF_TOLERANCE_V = 1e-4
END_REASONS = {kern.END_CUTOFF: "cut-off voltage", kern.END_DEPLETION: "electrolyte depletion",
               kern.END_COLLAPSE: "voltage collapse at the cut-off",
               kern.END_BELOW_CUTOFF: "below the cut-off at the start",
               kern.END_SATURATION: "electrolyte saturation"}


def active_mass_kg_m2(params: CellParameters) -> float:
    c = params.cathode
    return c.active_volume_fraction * c.thickness_m * c.active_density_kg_m3


def reaction_length_m(params: CellParameters, i_app_a_m2: float) -> float:
    """Thickness [m] of the cathode's reaction zones at its faces: the smaller of the
    linear-kinetics penetration depth λ = √((RT/F) / (a i0 (1/σ + 1/κ))) (Newman & Tobias
    1962) and the Tafel zone (2RT/F) / (i_app (1/σ + 1/κ)), over which the ohmic drop of the
    whole current through both rails is one Tafel slope; σ_eff the lowest of a
    σ(θ) table over the discharge (θ0 .. 1), κ_eff at the initial salt concentration, i0 at
    the initial stoichiometry."""
    cat = params.cathode
    sigma = cat.electronic_conductivity_s_m
    if cat.electronic_conductivity_vs_stoichiometry:
        points = table_log10_points(cat.electronic_conductivity_vs_stoichiometry)
        theta = np.linspace(cat.initial_stoichiometry, 1.0, 50)
        sigma = float(np.min(table_conductivity(points, theta)))
    kappa = electrolyte_conductivity_s_m(params) * cat.transport_factor
    resist = 1.0 / sigma + 1.0 / kappa  # [Ω m]
    s0, c_max = cat.initial_stoichiometry, cat.max_concentration_mol_m3
    i0 = FARADAY * cat.reaction_rate_constant * math.sqrt(
        params.electrolyte.initial_concentration_mol_m3) * c_max * math.sqrt(s0 * (1 - s0))
    thermal = GAS_CONSTANT * params.temperature_k / FARADAY
    area = float(sum(cat.surface_area_per_class_m()))
    linear = math.sqrt(thermal / (area * i0 * resist))
    tafel = 2.0 * thermal / (max(abs(i_app_a_m2), 1e-30) * resist)
    return min(linear, tafel)


def reaction_mesh(params: CellParameters, i_app_a_m2: float, base: Mesh = Mesh()) -> Mesh:
    """``base`` with the cathode's end elements at half the reaction length
    (:func:`reaction_length_m`, at least 1e-4 of the thickness): a poorly conducting
    electrode reacts in a sub-µm layer at its collector, which 20 uniform elements miss
    (the capacity then moves by several % between meshes)."""
    cat = params.cathode
    end = max(0.5 * reaction_length_m(params, i_app_a_m2), 1e-4 * cat.thickness_m)
    if end >= cat.thickness_m / base.n_cathode:
        return base
    return replace(base, cathode_end_element_m=end)


#: What 1C means (``discharge(c_rate_basis=...)``, ``etwin cell --c-rate-basis``).
C_RATE_BASES = ("theoretical", "nominal")


def c_rate_current_density_a_m2(params: CellParameters, c_rate: float = 1.0,
                                c_rate_basis: str = "theoretical",
                                nominal_capacity_ah_m2: float | None = None) -> float:
    """The current density [A/m²] of ``c_rate`` on ``c_rate_basis``, 1C being:

    - "theoretical" (this project's default): the theoretical capacity in one hour,
      F c_max ε_AM L / 3600 (:meth:`CellParameters.theoretical_capacity_ah_m2`), the AM's
      full stoichiometry range 0-1;
    - "nominal" (PyBaMM's convention, current = C-rate × "Nominal cell capacity [A.h]"): the
      nominal capacity in one hour, ``nominal_capacity_ah_m2`` when given (e.g. a BPX file's
      nominal capacity per electrode area), else F c_max ε_AM L (θ_max − θ_0) / 3600 from
      the initial stoichiometry θ_0 to θ_max where the OCP reaches the cut-off
      (:meth:`CellParameters.nominal_capacity_ah_m2`, the value :mod:`physics.bpx` exports).

    PyBaMM's Xu2019 cell: 28.12 A/m² theoretical, 25.35 A/m² nominal (θ 0.0960 -> 0.9974).
    """
    if c_rate_basis == "theoretical":
        mass = active_mass_kg_m2(params)
        # theoretical capacity [mAh/g] × mass [g/m²] = mAh/m²; × 3.6 C/mAh / 3600 s = A/m²
        return c_rate * params.theoretical_capacity_mah_g() * (mass * 1e3) * 3.6 / 3600.0
    if c_rate_basis == "nominal":
        if nominal_capacity_ah_m2 is None:
            nominal_capacity_ah_m2 = params.nominal_capacity_ah_m2()
        if not (math.isfinite(nominal_capacity_ah_m2) and nominal_capacity_ah_m2 > 0):
            raise ValueError(f"nominal capacity = {nominal_capacity_ah_m2!r} A h/m² must be "
                             f"> 0 for a C-rate on the nominal basis")
        return c_rate * float(nominal_capacity_ah_m2)
    raise ValueError(f"c_rate_basis = {c_rate_basis!r}; allowed: {', '.join(C_RATE_BASES)}")


def discharge(params: CellParameters, c_rate: float = 1.0, mesh: Mesh | None = None,
              rtol: float = 1e-4, max_steps: int = 5000,
              current_density_a_m2: float | None = None, c_rate_basis: str = "theoretical",
              nominal_capacity_ah_m2: float | None = None) -> Discharge:
    """Galvanostatic discharge at ``c_rate`` to the cut-off voltage.  1C on
    ``c_rate_basis`` (:func:`c_rate_current_density_a_m2`): "theoretical" (default) = the
    theoretical capacity F c_max ε_AM L in one hour; "nominal" = PyBaMM's convention, the
    nominal capacity Q_nom = F c_max ε_AM L (θ_max − θ_0) (θ_max: OCP at the cut-off), or
    ``nominal_capacity_ah_m2``, in one hour.  ``current_density_a_m2`` [A/m²] overrides both.

    Time stepping (:mod:`physics._cell_kernels`, compiled): variable-step BDF2 (BDF1 first
    step) on M y' + G(y) = 0, simplified Newton with the analytic ∂G/∂y at the predictor,
    a0 M + ∂G/∂y factorized once per step (particles by Sherman–Morrison, the node system as
    a band matrix).  The step adapts to the local error of the differential unknowns (c_e,
    c_s) and of the cell voltage against the extrapolated predictor (``rtol``).  A step that
    lands more than ``CUTOFF_TOLERANCE_V`` below the cut-off is retried to the secant's
    crossing, so the end does not depend on where the last step fell.  ``mesh`` None: the
    default mesh with the cathode's ends graded to the reaction length
    (:func:`reaction_mesh`).  A discharge also ends when the salt somewhere falls to
    ``DEPLETION_FRACTION`` of its initial concentration (``end_reason`` "electrolyte
    depletion"): the current is then beyond the electrode's limiting current, the voltage
    collapses within an instant and the equations turn singular at c_e = 0 (PyBaMM's DFN
    stops on the same event); likewise where it rises towards the pole of the Valøen &
    Reimers diffusivity (:func:`saturation_mol_m3`, "electrolyte saturation").  A
    step that cannot converge down to 1e-8 s within
    ``COLLAPSE_WINDOW_V`` of the cut-off ends it too ("voltage collapse at the cut-off"): the
    particle surfaces are saturating and the voltage has no finite slope left.  A current
    whose first, consistent state already sits below the cut-off delivers nothing
    (capacity 0, "below the cut-off at the start"..

    Raises RuntimeError with the time and voltage where Newton failed or the step budget ran
    out, instead of returning a capacity.
    """
    if not 1e-10 <= rtol <= 1e-2:
        raise ValueError(f"rtol must lie in [1e-10, 1e-2], got {rtol}")
    mass = active_mass_kg_m2(params)
    i_app = c_rate_current_density_a_m2(params, c_rate, c_rate_basis, nominal_capacity_ah_m2)
    if current_density_a_m2 is not None:
        i_app = current_density_a_m2
    model = HalfCellDFN(params, mesh or reaction_mesh(params, i_app))
    m = model.arrays
    wk = kern.work_arrays(m, model.size)
    y = model.initial_state()
    if not kern.consistent_algebraic(m, wk, y, i_app):
        raise RuntimeError(f"discharge: Newton failed on the initial potentials at "
                           f"{i_app:.4g} A/m²")
    y_start = y.copy()
    ts, vs = np.empty(max_steps + 2), np.empty(max_steps + 2)
    depleted = DEPLETION_FRACTION * params.electrolyte.initial_concentration_mol_m3
    saturated = saturation_mol_m3(params)
    cutoff = params.cutoff_voltage_v
    points, steps, newton_total, code, t_end = kern.discharge_loop(
        m, wk, y, float(i_app), float(cutoff), float(rtol), int(max_steps),
        model.differential, depleted, float(saturated), COLLAPSE_WINDOW_V, CUTOFF_TOLERANCE_V,
        ts, vs)
    time_s, voltage = ts[:points].copy(), vs[:points].copy()
    if code == kern.END_NEWTON_FAILED:
        raise RuntimeError(f"discharge: Newton failed at t = {t_end:.3f} s, V = "
                           f"{voltage[-1]:.4f} V")
    if code == kern.END_MAX_STEPS:
        raise RuntimeError(f"discharge: stopped after {steps} steps at {time_s[-1]:.0f} s, "
                           f"V = {voltage[-1]:.4f} V, above the cut-off {cutoff} V")
    capacity = i_app * time_s / 3.6 / (mass * 1e3)  # mAh/g
    energy = float(np.trapezoid(voltage, capacity))  # mWh/g = Wh/kg
    return Discharge(time_s, capacity, voltage, float(capacity[-1]), energy,
                     energy / max(float(capacity[-1]), 1e-12), steps, newton_total, i_app,
                     y, y_start, END_REASONS[code], model.mesh)


@dataclass(frozen=True)
class Impedance:
    """Small-signal impedance at rest: frequency [Hz] and Z [Ω m², area-specific]."""

    frequency_hz: np.ndarray
    z_ohm_m2: np.ndarray
    stoichiometry: float


def impedance(params: CellParameters, frequencies_hz: np.ndarray,
              mesh: Mesh = Mesh()) -> Impedance:
    """Impedance of the half cell at rest (initial stoichiometry, uniform salt).

    The model M y' + C y' + G(y, i) = 0 (C: double layers) is linearized at the rest state:
    (jω (M + C) + ∂G/∂y) ŷ = -∂G/∂i î, and Z = -V̂ / î (a discharge current lowers V).
    """
    model = HalfCellDFN(params, mesh)
    y = model.initial_state()  # exact rest state: uniform salt, φ_e = 0, φ_s = U(s0)
    jac = model.jacobian(y, 0.0).tocsc()
    step = 1e-6
    b = (model.residual(y, step) - model.residual(y, 0.0)) / step
    storage = (model._mass + model.capacitance_matrix()).tocsc()
    out = np.empty(len(frequencies_hz), dtype=complex)
    v_index = model.sl_ps.stop - 1
    for n, f in enumerate(np.asarray(frequencies_hz, dtype=float)):
        a = (1j * 2.0 * np.pi * f * storage + jac).tocsc()
        # equilibrate rows, then columns: the entries span ~30 decades (particle storage
        # against reaction conductances), beyond what pivoting alone resolves near DC
        row = 1.0 / abs(a).max(axis=1).toarray().ravel()
        a = sparse.diags(row) @ a
        col = 1.0 / abs(a).max(axis=0).toarray().ravel()
        a = (a @ sparse.diags(col)).tocsc()
        y_hat = col * sparse_linalg.splu(a).solve(-row * b.astype(complex))
        out[n] = -y_hat[v_index]
    return Impedance(np.asarray(frequencies_hz, dtype=float), out,
                     params.cathode.initial_stoichiometry)


def blocking_variant(params: CellParameters,
                     electronic_conductivity_s_m: float | None = None) -> CellParameters:
    """The same cell as measured for the ionic resistance (Landesfeind et al. 2016): no
    faradaic reaction in the cathode (k = 1e-25), an ideal counter electrode (i0 = 1e6 A/m²,
    no double layer) and t+ = 1, i.e. the electrolyte a pure ionic conductor without
    concentration polarization, which is the transmission-line model's assumption.  The AM
    size classes are pooled into one carrying the same double-layer area.

    The solid's rail enters a blocking line symmetrically with the ionic one, so the line
    reads R_ion + R_el unless σ_eff ≫ κ_eff.  As the paper (§ EIS methods: AM conductivity
    raised to 1 S/m "to neglect the role of electronic resistance"), ``None`` sets
    σ_eff = max(σ_eff, 1e3 κ_eff); pass a value to keep another one (e.g. the model's own).
    A σ_eff table against the AM stoichiometry is dropped: the blocking cell does not
    lithiate, so the model's own σ_eff is the table's at the initial stoichiometry.
    """
    cat = params.cathode
    own = cat.electronic_conductivity_s_m
    if cat.electronic_conductivity_vs_stoichiometry:
        own = float(table_conductivity(
            table_log10_points(cat.electronic_conductivity_vs_stoichiometry),
            cat.initial_stoichiometry))
    if electronic_conductivity_s_m is None:
        kappa_eff = electrolyte_conductivity_s_m(params) * cat.transport_factor
        electronic_conductivity_s_m = max(own, 1e3 * kappa_eff)
    # no current enters the particles, so their size classes matter only through the
    # double-layer area: one class carrying the same total area gives the same spectrum with
    # a sixth of the unknowns
    area_m = float(sum(cat.surface_area_per_class_m()))
    return replace(
        params,
        cathode=replace(cat, reaction_rate_constant=1e-25,
                        electronic_conductivity_s_m=electronic_conductivity_s_m,
                        electronic_conductivity_vs_stoichiometry=(),
                        particle_radii_m=(float(np.mean(cat.particle_radii_m)),),
                        particle_volume_fractions=(1.0,), specific_surface_area_m=area_m),
        lithium_foil=replace(params.lithium_foil, exchange_current_density_a_m2=1e6,
                             double_layer_capacitance_f_m2=0.0),
        electrolyte=replace(params.electrolyte, transference_number=1.0))


def electrolyte_conductivity_s_m(params: CellParameters) -> float:
    """Bulk κ at the initial salt concentration [S/m]."""
    e = params.electrolyte
    return e.conductivity_s_m if e.properties == "constant" else float(
        el.conductivity_valoen2005_s_m(e.initial_concentration_mol_m3, params.temperature_k))


def separator_resistance_ohm_m2(params: CellParameters) -> float:
    """L_sep τ_sep / (ε_sep κ(c_e0)) [Ω m²]."""
    sep = params.separator
    return sep.thickness_m * sep.tortuosity_factor / (
        sep.porosity * electrolyte_conductivity_s_m(params))


def blocking_mesh(params: CellParameters, f_max_hz: float) -> Mesh:
    """Mesh for a blocking spectrum up to ``f_max_hz``: cathode elements of at most half the
    line's penetration depth λ = sqrt(κ_eff / (ω a C_dl)) at f_max (80 to 4000 elements; at
    two elements per λ the fitted R_ion is within 0.2 % of the input, at 80 elements for a
    60 µm, ε = 0.25, τ = 4 cathode to 1 MHz it was 1.7 % high), 10 in the separator and two
    radial ones (no current enters the particles)."""
    cat = params.cathode
    kappa_eff = electrolyte_conductivity_s_m(params) * cat.transport_factor
    capacitance_f_m3 = sum(cat.surface_area_per_class_m()) * cat.double_layer_capacitance_f_m2
    depth_m = math.sqrt(kappa_eff / (2 * math.pi * f_max_hz * max(capacitance_f_m3, 1e-30)))
    n = int(np.clip(math.ceil(2.0 * cat.thickness_m / depth_m), 80, 4000))
    return Mesh(10, n, 2)


def symmetric_blocking_impedance(params: CellParameters, frequencies_hz: np.ndarray,
                                 mesh: Mesh | None = None,
                                 electronic_conductivity_s_m: float | None = None) -> Impedance:
    """Impedance of a symmetric cell of two copies of the cathode under blocking conditions
    (:func:`blocking_variant`) around the separator [Ω m²].

    The half cell of the blocking variant is R_ct,Li + R_sep + Z_el (in series, the ideal foil
    adds only R_ct,Li = RT / (F i0), 2.6e-8 Ω m²); the symmetric cell is Z = R_sep + 2 Z_el, so
    its transmission-line fit gives 2 R_ion and C_dl / 2 of one electrode.  The default mesh
    (:func:`blocking_mesh`) resolves the line's penetration depth at the highest frequency.
    """
    blocking = blocking_variant(params, electronic_conductivity_s_m)
    mesh = mesh or blocking_mesh(blocking, float(np.max(frequencies_hz)))
    half = impedance(blocking, frequencies_hz, mesh)
    r_ct_li = GAS_CONSTANT * params.temperature_k / (
        FARADAY * blocking.lithium_foil.exchange_current_density_a_m2)
    r_sep = separator_resistance_ohm_m2(blocking)
    z_electrode = half.z_ohm_m2 - r_ct_li - r_sep
    return Impedance(half.frequency_hz, r_sep + 2.0 * z_electrode, half.stoichiometry)
