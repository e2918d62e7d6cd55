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

from physics import electrolyte as el
from physics.am_conductivity import table_conductivity, table_log10_points
from physics.cell_params import FARADAY, GAS_CONSTANT, CellParameters
from physics.fem1d import graded_nodes, mass_matrix, stiffness_matrix
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
    """Element counts: separator, cathode, particle radius."""

    n_separator: int = 10
    n_cathode: int = 20
    n_radius: int = 12


class HalfCellDFN:
    """Discretized half cell: unknown layout, residual and Jacobian (module docstring)."""

    def __init__(self, params: CellParameters, mesh: Mesh = Mesh()):
        self.p = params
        self.mesh = mesh
        cat, sep = params.cathode, params.separator
        self.ocp = ocp_function(cat.ocp)
        self.temp = params.temperature_k
        xs = graded_nodes(sep.thickness_m, mesh.n_separator)
        xc = sep.thickness_m + graded_nodes(cat.thickness_m, mesh.n_cathode)
        self.x = np.concatenate([xs, xc[1:]])
        self.n_x = self.x.size
        self.i_sep = mesh.n_separator  # node index of the separator/cathode interface
        n_el = self.n_x - 1
        in_cat = np.arange(n_el) >= mesh.n_separator
        self.in_cathode_element = in_cat
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
        # solid potential: stiffness on the cathode nodes
        self.k_solid = stiffness_matrix(self.x[self.cat_nodes], cat.electronic_conductivity_s_m)
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
        self._pattern = None
        self.on_pattern_mass = self.on_pattern(self._mass)

    # ------------------------------------------------------------------ pieces
    def cs_block(self, y: np.ndarray) -> np.ndarray:
        """c_s as (class, cathode node, radial node)."""
        return y[self.off_cs:].reshape(self.n_k, self.n_c, self.n_r)

    def electrolyte_props(self, ce_el: np.ndarray):
        return electrolyte_properties(self.p, ce_el)

    def reaction(self, y: np.ndarray):
        """(i_k per class and cathode node [A/m²], η) from the state."""
        ce = y[self.sl_ce][self.cat_nodes]
        pe = y[self.sl_pe][self.cat_nodes]
        ps = y[self.sl_ps]
        cs_surf = self.cs_block(y)[:, :, -1]
        return butler_volmer(ce[None, :], cs_surf, ps[None, :] - pe[None, :], self.c_max,
                             self.ocp, self.p.cathode.reaction_rate_constant, self.temp)

    def foil_current(self, ce0: float, eta: float) -> float:
        """Faradaic current of the Li foil [A/m²]: 2 i0 sinh(F η / 2RT), η = 0 - φ_e(0) (Li at
        0 V), i0 = i0_ref (c_e / c_e0)^0.3."""
        foil = self.p.lithium_foil
        c0 = self.p.electrolyte.initial_concentration_mol_m3
        i0 = foil.exchange_current_density_a_m2 * (max(ce0, 1e-6) / c0) ** 0.3
        return float(2.0 * i0 * np.sinh(FARADAY * eta / (2.0 * GAS_CONSTANT * self.temp)))

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

    # ---------------------------------------------------------------- residual
    def residual(self, y: np.ndarray, i_app: float) -> np.ndarray:
        """G(y) with the time derivative excluded: the system is M y' + G(y) = 0."""
        e = self.p.electrolyte
        t_plus, tdf = e.transference_number, e.thermodynamic_factor
        ce = y[self.sl_ce]
        pe = y[self.sl_pe]
        ps = y[self.sl_ps]
        ce_el = 0.5 * (ce[1:] + ce[:-1])
        d_el, kappa_el = self.electrolyte_props(ce_el)
        d_eff = d_el * self.transport
        k_eff = kappa_el * self.transport
        h = np.diff(self.x)
        i_k, _ = self.reaction(y)
        j_node = np.zeros(self.n_x)
        j_node[self.cat_nodes] = (self.area[:, None] * i_k).sum(0)
        src = self.w_cat * j_node  # ∫ j w (lumped)
        out = np.empty(self.size)
        # salt: M ce' + K_D ce - (1 - t+)/F ∫ j w - boundary influx = 0
        flux = d_eff * np.diff(ce) / h  # element D ∂c/∂x
        g = np.zeros(self.n_x)
        g[:-1] -= flux
        g[1:] += flux
        g -= (1.0 - t_plus) / FARADAY * src
        g[0] -= (1.0 - t_plus) * i_app / FARADAY
        out[self.sl_ce] = g
        # electrolyte current: ∫ κ φe' w' - ∫ κ_D (ln c)' w' - ∫ j w = 0; φe(0) Dirichlet
        kd = k_eff * 2.0 * GAS_CONSTANT * self.temp / FARADAY * (1.0 - t_plus) * tdf
        cur = (k_eff * np.diff(pe) - kd * np.diff(np.log(np.maximum(ce, 1e-6)))) / h
        g = np.zeros(self.n_x)
        g[:-1] -= cur
        g[1:] += cur
        g -= src
        g[0] = self.foil_current(ce[0], -pe[0]) - i_app  # Li foil: i_F(η_Li) = i_app
        out[self.sl_pe] = g
        # solid: ∫ σ φs' w' + ∫ j w + i_app w(L) = 0
        if self.sigma_table is None:
            g = self.k_solid @ (ps - ps[0]) + src[self.cat_nodes]  # K 1 = 0, as for c_s below
        else:
            sigma = self.solid_conductivity(y)
            a, b = sigma[:-1], sigma[1:]
            with np.errstate(divide="ignore", invalid="ignore"):  # a = b: the limit a
                series = np.where(np.abs(b - a) > 1e-9 * a, a * b * np.log(b / a) / (b - a), a)
            flux = series * np.diff(ps) / np.diff(self.x[self.cat_nodes])
            g = src[self.cat_nodes].copy()
            g[:-1] -= flux
            g[1:] += flux
        g[-1] += i_app
        out[self.sl_ps] = g
        # particles: M_r cs' + D K_r cs - R² (-i_k / F) e_surf = 0
        cs = self.cs_block(y)
        res_cs = np.empty_like(cs)
        for k in range(self.n_k):
            # K_r 1 = 0: diffusing the excess over the centre value gives the same residual
            # and keeps finite differences of it conservative (cancellation of c_s ~ 1e4
            # mol/m³ against steps of ~1e-3 breaks the Jacobian's column sums otherwise, a
            # leak that shows in the impedance near DC)
            res_cs[k] = (self.k_r[k] @ (cs[k] - cs[k][:, :1]).T).T
            res_cs[k][:, -1] -= self.radii[k] ** 2 * (-self.flux_scale[k] * i_k[k] / FARADAY)
        out[self.off_cs:] = res_cs.ravel()
        return out

    # ---------------------------------------------------------------- Jacobian
    def jacobian(self, y: np.ndarray, i_app: float) -> sparse.csc_matrix:
        """∂G/∂y by finite differences over a column colouring of the structural pattern:
        one residual per colour (about 10 for any mesh).  Stored on the pattern's layout, so
        that ``on_pattern(M)`` data add to it entry by entry."""
        pat = self._jacobian_pattern()
        rows, cols = pat.indices, self._pattern_cols
        g0 = self.residual(y, i_app)
        vals = np.empty(rows.size)
        scale = np.maximum(np.abs(y), 1e-3)
        for members, entries in self._colour_groups:
            dy = np.zeros_like(y)
            dy[members] = 1e-7 * scale[members]
            dg = self.residual(y + dy, i_app) - g0
            vals[entries] = dg[rows[entries]] / dy[cols[entries]]
        return sparse.csc_matrix((vals, pat.indices, pat.indptr), shape=pat.shape)

    def on_pattern(self, matrix: sparse.spmatrix) -> np.ndarray:
        """The entries of ``matrix`` in the Jacobian's storage order (it must fit the
        structural pattern)."""
        pat = self._jacobian_pattern()
        coo = sparse.coo_matrix(matrix)
        if not np.all(np.asarray(pat[coo.row, coo.col]).ravel()):
            raise ValueError("on_pattern: the matrix has entries outside the Jacobian pattern")
        return np.asarray(sparse.csc_matrix(matrix)[pat.indices, self._pattern_cols]).ravel()

    def _jacobian_pattern(self) -> sparse.csc_matrix:
        if self._pattern is None:
            self._pattern = sparse.csc_matrix(self.structural_pattern(), dtype=float)
            self._pattern.sort_indices()
            self._pattern_cols = np.repeat(np.arange(self.size), np.diff(self._pattern.indptr))
            self._colour_groups = _colour_groups(self._pattern)
        return self._pattern

    def structural_pattern(self) -> sparse.csr_matrix:
        """Which unknowns each residual row can depend on (a superset of the true pattern):
        neighbours in x for c_e, φ_e, φ_s; neighbours in r inside one particle; and, at each
        cathode node, every pair among c_e, φ_e, φ_s and the surface c_s of each size class
        (the reaction); with a stoichiometry-dependent σ_eff, φ_s also on the surface c_s of
        the neighbouring nodes."""
        rows, cols = [], []

        def couple(r, c):
            r, c = np.broadcast_arrays(np.asarray(r), np.asarray(c))
            rows.append(r.ravel())
            cols.append(c.ravel())

        nx, ce0, pe0, ps0 = self.n_x, self.sl_ce.start, self.sl_pe.start, self.sl_ps.start
        for d in (-1, 0, 1):  # x neighbours: salt (c_e), current (φ_e and ln c_e)
            i = np.arange(max(0, -d), nx - max(0, d))
            couple(ce0 + i, ce0 + i + d)
            couple(pe0 + i, pe0 + i + d)
            couple(pe0 + i, ce0 + i + d)
            n = np.arange(max(0, -d), self.n_c - max(0, d))
            couple(ps0 + n, ps0 + n + d)
        n = np.arange(self.n_c)
        cs = self.off_cs + (np.arange(self.n_k)[:, None, None] * self.n_c
                            + n[None, :, None]) * self.n_r + np.arange(self.n_r)[None, None, :]
        for d in (-1, 0, 1):  # r neighbours inside each particle
            couple(cs[:, :, max(0, -d):self.n_r - max(0, d)],
                   cs[:, :, max(0, -d) + d:self.n_r - max(0, d) + d])
        reaction = np.concatenate([np.stack([ce0 + self.cat_nodes, pe0 + self.cat_nodes,
                                             ps0 + n]), cs[:, :, -1]])  # (3 + n_k, n_c)
        couple(reaction[:, None, :], reaction[None, :, :])
        if self.sigma_table is not None:
            for d in (-1, 1):
                m = np.arange(max(0, -d), self.n_c - max(0, d))
                couple(ps0 + m[None, :], cs[:, m + d, -1])
        r, c = np.concatenate(rows), np.concatenate(cols)
        pat = sparse.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(self.size,) * 2)
        pat.sum_duplicates()
        return pat

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


def _colour_groups(pattern: sparse.csc_matrix) -> list[tuple[np.ndarray, np.ndarray]]:
    """Greedy column colouring (no two columns of one colour share a row); per colour, its
    columns and the positions of its entries in the pattern's storage."""
    size = pattern.shape[1]
    colours = np.full(size, -1)
    used: list[set] = []
    for c in range(size):
        rset = set(pattern.indices[pattern.indptr[c]:pattern.indptr[c + 1]].tolist())
        for k, taken in enumerate(used):
            if not (taken & rset):
                colours[c] = k
                taken |= rset
                break
        else:
            colours[c] = len(used)
            used.append(rset)
    entry_colour = np.repeat(colours, np.diff(pattern.indptr))
    return [(np.flatnonzero(colours == k), np.flatnonzero(entry_colour == k))
            for k in range(len(used))]


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


DEPLETION_FRACTION = 0.01  # salt at 1 % of its initial concentration ends a discharge
#: Within this distance [V] of the cut-off, a step that fails down to 1e-8 s ends the discharge:
#: the particle surfaces saturate (c_s -> c_max, i0 -> 0), the voltage falls without bound
#: and the rest to the cut-off is a vanishing share of the capacity.
COLLAPSE_WINDOW_V = 0.1


def active_mass_kg_m2(params: CellParameters) -> float:
    c = params.cathode
    return c.active_volume_fraction * c.thickness_m * c.active_density_kg_m3


def discharge(params: CellParameters, c_rate: float = 1.0, mesh: Mesh = Mesh(),
              rtol: float = 1e-4, max_steps: int = 5000,
              current_density_a_m2: float | None = None) -> Discharge:
    """Galvanostatic discharge at ``c_rate`` (1C = theoretical capacity in one hour) to the
    cut-off voltage.

    Time stepping: variable-step BDF2 (BDF1 first step) on M y' + G(y) = 0, modified Newton:
    ∂G/∂y (finite differences over a column colouring of the structural pattern) is kept
    across steps and refreshed only when Newton fails to converge with it; a0 M + ∂G/∂y is
    factorized once per step.  The step adapts to the local error of the differential
    unknowns (c_e, c_s) against the extrapolated predictor (``rtol``).  The last step is cut
    at the cut-off voltage.  A discharge also ends when the salt somewhere falls to
    ``DEPLETION_FRACTION`` of its initial concentration (``end_reason`` "electrolyte
    depletion"): the current is then beyond the electrode's limiting current, the voltage
    collapses within an instant and the equations turn singular at c_e = 0 (PyBaMM's DFN
    stops on the same event).  A step that cannot converge down to 1e-8 s within
    ``COLLAPSE_WINDOW_V`` of the cut-off ends it too ("voltage collapse at the cut-off"): the
    particle surfaces are saturating and the voltage has no finite slope left.

    Raises RuntimeError with the time and voltage where Newton failed or the step budget ran
    out, instead of returning a capacity.
    """
    model = HalfCellDFN(params, mesh)
    mass = active_mass_kg_m2(params)
    # theoretical capacity [mAh/g] × mass [g/m²] = mAh/m²; × 3.6 C/mAh / 3600 s = A/m² at 1C
    i_app = c_rate * params.theoretical_capacity_mah_g() * (mass * 1e3) * 3.6 / 3600.0
    if current_density_a_m2 is not None:
        i_app = current_density_a_m2
    y = model.initial_state()
    y = _consistent_algebraic(model, y, i_app)
    y_start = y.copy()
    m = model._mass
    diff = model.differential
    t, h = 0.0, 1e-3
    ts, vs = [0.0], [model.voltage(y)]
    y_prev, h_prev = None, None
    steps = newton_total = 0
    cutoff = params.cutoff_voltage_v
    atol = np.where(diff, 1e-3, 1e-6)
    jac_g, jac_fresh = model.jacobian(y, i_app), True
    depleted = DEPLETION_FRACTION * params.electrolyte.initial_concentration_mol_m3
    end_reason = "cut-off voltage"
    while steps < max_steps:
        if y_prev is None:  # BDF1
            a0, a1, a2 = 1.0 / h, -1.0 / h, 0.0
            y_pred = y.copy()
        else:
            w = h / h_prev
            a0 = (1 + 2 * w) / (h * (1 + w))
            a1 = -(1 + w) / h
            a2 = w * w / (h * (1 + w))
            y_pred = y + w * (y - y_prev)
        hist = a1 * y + (a2 * y_prev if y_prev is not None else 0.0)
        z, iters, ok = _newton(model, m, a0, hist, y_pred, i_app, jac_g, atol, rtol,
                               stale=not jac_fresh)
        if not ok and not jac_fresh:  # a stale Jacobian: refresh it and retry the step
            with np.errstate(all="ignore"):  # an overshooting predictor may overflow sinh
                jac_g, jac_fresh = model.jacobian(y_pred, i_app), True
            newton_total += iters
            z, iters, ok = _newton(model, m, a0, hist, y_pred, i_app, jac_g, atol, rtol,
                                   stale=False)
        newton_total += iters
        if not ok:
            h *= 0.25
            jac_fresh = False  # the Jacobian of a failed predictor is refreshed at the next
            if h < 1e-8:
                if y[model.sl_ce].min() < 5 * depleted:  # the c_e -> 0 singularity
                    end_reason = "electrolyte depletion"
                    break
                if vs[-1] - cutoff < COLLAPSE_WINDOW_V:  # the c_s -> c_max singularity
                    end_reason = "voltage collapse at the cut-off"
                    break
                raise RuntimeError(f"discharge: Newton failed at t = {t:.3f} s, V = "
                                   f"{model.voltage(y):.4f} V")
            continue
        err_vec = (z - y_pred)[diff] / (atol[diff] + rtol * np.abs(z[diff]))
        err = np.sqrt(np.mean(err_vec ** 2)) / 3.0
        if err > 1.0 and h > 1e-6:
            h *= max(0.2, 0.9 / err ** (1 / 3))
            continue
        steps += 1
        jac_fresh = False
        v_new = model.voltage(z)
        if v_new <= cutoff:
            frac = (vs[-1] - cutoff) / (vs[-1] - v_new)
            ts.append(t + frac * h)
            vs.append(cutoff)
            y = y + frac * (z - y)
            break
        y_prev, h_prev, y = y, h, z
        t += h
        ts.append(t)
        vs.append(v_new)
        if y[model.sl_ce].min() <= depleted:
            end_reason = "electrolyte depletion"
            break
        h *= min(2.0, max(0.2, 0.9 / max(err, 1e-6) ** (1 / 3)))
    time_s = np.asarray(ts)
    voltage = np.asarray(vs)
    capacity = i_app * time_s / 3.6 / (mass * 1e3)  # mAh/g
    energy = float(np.trapezoid(voltage, capacity))  # mWh/g = Wh/kg
    if voltage[-1] > cutoff and end_reason == "cut-off voltage":  # ran out of steps
        raise RuntimeError(f"discharge: stopped after {steps} steps at {time_s[-1]:.0f} s, "
                           f"V = {voltage[-1]:.4f} V, above the cut-off {cutoff} V")
    return Discharge(time_s, capacity, voltage, float(capacity[-1]), energy,
                     energy / max(float(capacity[-1]), 1e-12), steps, newton_total, i_app,
                     y, y_start, end_reason)


NEWTON_TOL = 0.03


def _newton(model: HalfCellDFN, m: sparse.csr_matrix, a0: float, hist: np.ndarray,
            z0: np.ndarray, i_app: float, jac_g: sparse.csc_matrix, atol: np.ndarray,
            rtol: float, stale: bool) -> tuple[np.ndarray, int, bool]:
    """Solve M (a0 z + hist) + G(z) = 0 from z0 with the fixed Jacobian a0 M + jac_g:
    (z, iterations, converged).  Converged when the update is below the error tolerance;
    with a ``stale`` Jacobian (linear convergence, leaving an error of the order of the last
    update) below ``NEWTON_TOL`` of it, and it gives up when the update grows."""
    a = sparse.csc_matrix((a0 * model.on_pattern_mass + jac_g.data, jac_g.indices,
                           jac_g.indptr), shape=jac_g.shape)
    try:
        lu = sparse_linalg.splu(a)
    except RuntimeError:  # singular at an overshooting predictor: the caller shortens h
        return z0, 0, False
    z = z0.copy()
    prev = np.inf
    with np.errstate(all="ignore"):  # a diverging iterate is caught here, not warned
        for it in range(1, 9):
            g = m @ (a0 * z + hist) + model.residual(z, i_app)
            if not np.all(np.isfinite(g)):
                return z, it, False
            dz = lu.solve(-g)
            z += dz
            norm = np.max(np.abs(dz) / (atol + rtol * np.abs(z)))
            if norm < (NEWTON_TOL if stale else 1.0):
                return z, it, True
            if stale and it >= 3 and norm > prev:  # diverging with an old Jacobian
                return z, it, False
            prev = norm
    return z, 8, False


def _consistent_algebraic(model: HalfCellDFN, y: np.ndarray, i_app: float) -> np.ndarray:
    """Solve the algebraic rows (φ_e, φ_s) with the differential unknowns frozen."""
    alg = ~model.differential
    for _ in range(30):
        g = model.residual(y, i_app)
        jac = model.jacobian(y, i_app).tocsc()[alg][:, alg]
        dy = sparse_linalg.spsolve(jac.tocsc(), -g[alg])
        y = y.copy()
        y[alg] += dy
        if np.max(np.abs(dy)) < 1e-10:
            break
    return y


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
