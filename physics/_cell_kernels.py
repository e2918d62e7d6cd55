"""Numba kernels of the half-cell P2D (:mod:`physics.cell`): residual, analytic Jacobian,
the Newton solve by Schur complement, and the whole BDF2 discharge loop.

Everything here works on plain arrays packed in :class:`CellArrays` (built by
:class:`physics.cell.HalfCellDFN`); the equations, units and layout are the module docstring
of :mod:`physics.cell`.  Unknown layout of the state y: c_e (n_x), φ_e (n_x), φ_s (n_c),
then c_s as (class k, cathode node n, radial node r).

Linear algebra of one Newton iteration, (a0 M + ∂G/∂y) Δy = -g: each particle (k, n) is a
tridiagonal block in r whose only link to the rest is its surface row (the reaction, through
c_e, φ_e, φ_s of its node) and, back, the node rows' dependence on its surface
concentration.  The particles are eliminated (Thomas algorithm, two right-hand sides each),
which leaves a Schur complement on the node unknowns ordered node by node (c_e, φ_e, φ_s;
a dummy identity φ_s row at separator nodes): a band matrix of half-width 5, solved by
banded Gaussian elimination with partial pivoting.  The cost per iteration is linear in the
number of unknowns, so the whole discharge costs a few milliseconds, where a general sparse
LU per step and a finite-difference Jacobian cost a few hundred.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from physics.cell_params import FARADAY, GAS_CONSTANT

LN10 = math.log(10.0)
NEWTON_TOL = 0.1  # a simplified Newton iteration stops at this share of the tolerance
BAND = 5  # half-width of the node system (node i couples to node i ± 1, 3 unknowns each)

# OCP kinds
OCP_PCHIP = 0  # piecewise cubic on breakpoints, linear outside (physics.ocp.TableOCP)
OCP_POLY_EXP = 1  # Σ a_m s^m + A exp(B s + C) (physics.ocp.PolyExpOCP)

# end codes of the discharge loop
END_CUTOFF, END_DEPLETION, END_COLLAPSE, END_NEWTON_FAILED, END_MAX_STEPS = 0, 1, 2, 3, 4
END_BELOW_CUTOFF, END_SATURATION = 5, 6


class CellArrays(NamedTuple):
    """The discretized half cell as arrays (see :class:`physics.cell.HalfCellDFN`)."""

    h: np.ndarray  # element lengths in x [m] (n_x - 1)
    i_sep: int  # node index of the separator/cathode interface
    n_k: int
    n_r: int
    w_eps: np.ndarray  # ε_e-weighted lumped nodal weights [m]
    w_cat: np.ndarray  # cathode-only lumped nodal weights [m]
    transport: np.ndarray  # ε/τ per element
    sigma_const: float  # σ_eff [S/m] when no table
    sigma_theta: np.ndarray  # table stoichiometries (empty: constant σ)
    sigma_log10: np.ndarray  # table log10 σ
    radii: np.ndarray  # [m] (n_k)
    area: np.ndarray  # reacting area per electrode volume [1/m] (n_k)
    flux_scale: np.ndarray  # reacting area / the spheres' own surface (n_k)
    class_shares: np.ndarray  # AM volume shares (n_k)
    mr_diag: np.ndarray  # particle consistent mass, (n_k, n_r)
    mr_off: np.ndarray  # (n_k, n_r - 1)
    kr_diag: np.ndarray  # particle stiffness D ∫ r² φ' φ', (n_k, n_r)
    kr_off: np.ndarray
    electrolyte_kind: int  # 0 constant, 1 Valøen & Reimers 2005
    diffusivity: float  # constant D [m²/s]
    conductivity: float  # constant κ [S/m]
    temperature_k: float
    t_plus: float
    tdf: float
    c_e0: float  # initial salt concentration [mol/m³]
    foil_i0: float  # Li foil exchange current density [A/m²]
    rate_constant: float
    c_max: float
    ocp_kind: int
    ocp_x: np.ndarray  # PCHIP breakpoints, or unused
    ocp_c: np.ndarray  # PCHIP coefficients (4, m), or [poly..., A, B, C] in row 0
    ocp_ends: np.ndarray  # PCHIP: (slope below, slope above, U at the first, at the last point)


# ----------------------------------------------------------------------------- materials
@njit(cache=True)
def ocp_and_slope(kind, x, c, ends, s):
    """(U [V], dU/ds [V]) at stoichiometry s."""
    if kind == OCP_PCHIP:
        m = x.size - 1
        if s < x[0]:
            return ends[2] + ends[0] * (s - x[0]), ends[0]
        if s > x[m]:
            return ends[3] + ends[1] * (s - x[m]), ends[1]
        j = np.searchsorted(x, s, side="right") - 1
        if j >= m:
            j = m - 1
        d = s - x[j]
        u = ((c[0, j] * d + c[1, j]) * d + c[2, j]) * d + c[3, j]
        du = (3.0 * c[0, j] * d + 2.0 * c[1, j]) * d + c[2, j]
        return u, du
    # Σ a_m s^m + A exp(B s + C): row 0 holds [a_0 .. a_p, A, B, C]
    n = c.shape[1] - 3
    u = 0.0
    du = 0.0
    for m in range(n - 1, -1, -1):
        u = u * s + c[0, m]
    for m in range(n - 1, 0, -1):
        du = du * s + m * c[0, m]
    e = c[0, n] * math.exp(c[0, n + 1] * s + c[0, n + 2])
    return u + e, du + c[0, n + 1] * e


@njit(cache=True)
def electrolyte_and_slopes(kind, d_const, k_const, temp, c):
    """(D [m²/s], dD/dc, κ [S/m], dκ/dc) at salt concentration c [mol/m³] (Valøen & Reimers
    2005 with c floored at 1 mol/m³, as physics.electrolyte, or constants)."""
    if kind == 0:
        return d_const, 0.0, k_const, 0.0
    floor = c < 1.0
    cl = 1e-3 * max(c, 1.0)
    u = temp - 229.0 - 5.0 * cl
    d = 1e-4 * 10.0 ** (-4.43 - 54.0 / u - 0.22 * cl)
    dd = d * LN10 * (-270.0 / (u * u) - 0.22) * 1e-3
    p0 = -10.5 + 0.0740 * temp - 6.96e-5 * temp * temp
    p1 = 0.668 - 0.0178 * temp + 2.80e-5 * temp * temp
    p2 = 0.494 - 8.86e-4 * temp
    poly = p0 + cl * (p1 + cl * p2)
    kappa = 0.1 * cl * poly * poly
    dk = (0.1 * poly * poly + 0.2 * cl * poly * (p1 + 2.0 * cl * p2)) * 1e-3
    if floor:
        return d, 0.0, kappa, 0.0
    return d, dd, kappa, dk


@njit(cache=True)
def _table_sigma(theta_pts, log_pts, theta):
    """(σ [S/m], dσ/dθ): log-linear between the table's points, flat beyond (np.interp)."""
    m = theta_pts.size
    if theta <= theta_pts[0]:
        return 10.0 ** log_pts[0], 0.0
    if theta >= theta_pts[m - 1]:
        return 10.0 ** log_pts[m - 1], 0.0
    j = np.searchsorted(theta_pts, theta, side="right") - 1
    slope = (log_pts[j + 1] - log_pts[j]) / (theta_pts[j + 1] - theta_pts[j])
    sigma = 10.0 ** (slope * (theta - theta_pts[j]) + log_pts[j])
    return sigma, sigma * LN10 * slope


@njit(cache=True)
def _series(a, b):
    """(S, ∂S/∂a, ∂S/∂b) of the series conductivity S = a b ln(b/a) / (b - a) of an element
    whose σ varies exponentially from a to b (the limit a where b = a)."""
    if abs(b - a) <= 1e-9 * a:
        return a, 0.5, 0.5
    big_l = math.log(b / a)
    s = a * b * big_l / (b - a)
    return s, (b * big_l - b + s) / (b - a), (a * big_l + a - s) / (b - a)


# ----------------------------------------------------------------------------- residual
@njit(cache=True)
def residual_and_jacobian(y, i_app, m, g, jnn, d_surf, b_surf, c_surf):
    """G(y) (the system is M y' + G(y) = 0) into ``g`` and, into the block arrays, ∂G/∂y:

    ``jnn`` (3 n_x, 3 BAND + 1): node rows × node unknowns in node-major order (c_e, φ_e, φ_s
    of node i at 3i, 3i + 1, 3i + 2; identity φ_s rows at separator nodes), band storage
    (:func:`_col`); each particle's block is its class's stiffness K_r plus ``d_surf``
    (n_k, n_c) on the surface diagonal (the reaction); ``b_surf`` (n_k, n_c, 3): its surface
    row's derivatives by c_e, φ_e, φ_s of its node; ``c_surf`` (n_k, n_c, 5): derivatives of the
    node rows c_e_i, φ_e_i, φ_s_{n-1}, φ_s_n, φ_s_{n+1} by its surface concentration.
    """
    h = m.h
    n_x = h.size + 1
    i_sep = m.i_sep
    n_c = n_x - i_sep
    n_k, n_r = m.n_k, m.n_r
    off_pe, off_ps = n_x, 2 * n_x
    off_cs = 2 * n_x + n_c
    f_half = FARADAY / (2.0 * GAS_CONSTANT * m.temperature_k)
    jnn[:, :] = 0.0  # band storage: jnn[r, _col(r, c)] holds the entry (r, c)
    c_surf[:, :, :] = 0.0
    for r in range(g.size):
        g[r] = 0.0
    # ---- electrolyte: salt flux and ionic current per element
    cd = 2.0 * GAS_CONSTANT * m.temperature_k / FARADAY * (1.0 - m.t_plus) * m.tdf
    for e in range(n_x - 1):
        c_a, c_b = y[e], y[e + 1]
        d, dd, kap, dk = electrolyte_and_slopes(m.electrolyte_kind, m.diffusivity,
                                                m.conductivity, m.temperature_k,
                                                0.5 * (c_a + c_b))
        tr = m.transport[e]
        inv_h = 1.0 / h[e]
        dc = c_b - c_a
        flux = d * tr * dc * inv_h
        dflux_a = (0.5 * dd * tr * dc - d * tr) * inv_h
        dflux_b = (0.5 * dd * tr * dc + d * tr) * inv_h
        g[e] -= flux
        g[e + 1] += flux
        ia, ib = 3 * e, 3 * (e + 1)
        jnn[ia, BAND] -= dflux_a
        jnn[ia, _col(ia, ib)] -= dflux_b
        jnn[ib, _col(ib, ia)] += dflux_a
        jnn[ib, BAND] += dflux_b
        la = math.log(max(c_a, 1e-6))
        lb = math.log(max(c_b, 1e-6))
        k_eff = kap * tr
        drive = y[off_pe + e + 1] - y[off_pe + e] - cd * (lb - la)
        cur = k_eff * drive * inv_h
        dcur_pa = -k_eff * inv_h
        dcur_pb = k_eff * inv_h
        dcur_ca = 0.5 * dk * tr * drive * inv_h + (k_eff * cd * inv_h / c_a if c_a > 1e-6
                                                   else 0.0)
        dcur_cb = 0.5 * dk * tr * drive * inv_h - (k_eff * cd * inv_h / c_b if c_b > 1e-6
                                                   else 0.0)
        g[off_pe + e] -= cur
        g[off_pe + e + 1] += cur
        for row, sign in ((ia + 1, -1.0), (ib + 1, 1.0)):
            jnn[row, _col(row, ia)] += sign * dcur_ca
            jnn[row, _col(row, ib)] += sign * dcur_cb
            jnn[row, _col(row, ia + 1)] += sign * dcur_pa
            jnn[row, _col(row, ib + 1)] += sign * dcur_pb
    # ---- solid: σ_eff constant or from the surface stoichiometry
    table = m.sigma_theta.size > 0
    sig = np.empty(n_c)
    dsig = np.zeros(n_c)
    for n in range(n_c):
        if table:
            theta = 0.0
            for k in range(n_k):
                theta += m.class_shares[k] * y[off_cs + (k * n_c + n) * n_r + n_r - 1]
            sig[n], dsig[n] = _table_sigma(m.sigma_theta, m.sigma_log10, theta / m.c_max)
        else:
            sig[n] = m.sigma_const
    for n in range(n_c - 1):
        i = i_sep + n
        inv_hc = 1.0 / h[i]
        if table:
            s, ds_a, ds_b = _series(sig[n], sig[n + 1])
        else:
            s, ds_a, ds_b = sig[n], 0.0, 0.0
        dps = y[off_ps + n + 1] - y[off_ps + n]
        flux = s * dps * inv_hc
        g[off_ps + n] -= flux
        g[off_ps + n + 1] += flux
        ra, rb = 3 * i + 2, 3 * (i + 1) + 2
        jnn[ra, BAND] += s * inv_hc
        jnn[ra, _col(ra, rb)] -= s * inv_hc
        jnn[rb, _col(rb, ra)] -= s * inv_hc
        jnn[rb, BAND] += s * inv_hc
        if table:  # through σ_n (as a) and σ_{n+1} (as b) on the surface concentrations
            fa = ds_a * dsig[n] * dps * inv_hc / m.c_max
            fb = ds_b * dsig[n + 1] * dps * inv_hc / m.c_max
            for k in range(n_k):
                w = m.class_shares[k]
                c_surf[k, n, 3] -= w * fa  # row φ_s n, from σ_n
                c_surf[k, n, 4] += w * fa  # row φ_s n+1, from σ_n
                c_surf[k, n + 1, 2] -= w * fb  # row φ_s n, from σ_{n+1}
                c_surf[k, n + 1, 3] += w * fb  # row φ_s n+1, from σ_{n+1}
    g[off_ps + n_c - 1] += i_app
    for i in range(i_sep):  # no φ_s at separator nodes: identity rows
        jnn[3 * i + 2, BAND] = 1.0
    # ---- reaction at the cathode nodes, and the particles
    cs_scale = (1.0 - m.t_plus) / FARADAY
    for n in range(n_c):
        i = i_sep + n
        ce = y[i]
        pe = y[off_pe + i]
        ps = y[off_ps + n]
        ce_c = max(ce, 1e-6)
        sq_ce = math.sqrt(ce_c)
        w = m.w_cat[i]
        for k in range(n_k):
            base = off_cs + (k * n_c + n) * n_r
            cs = y[base + n_r - 1]
            u, du = ocp_and_slope(m.ocp_kind, m.ocp_x, m.ocp_c, m.ocp_ends,
                                  cs / m.c_max)
            eta = ps - pe - u
            lo = max(cs, 1e-6)
            hi = max(m.c_max - cs, 1e-6)
            i0 = FARADAY * m.rate_constant * sq_ce * math.sqrt(lo * hi)
            sh = math.sinh(f_half * eta)
            ch = math.cosh(f_half * eta)
            cur = 2.0 * i0 * sh
            di_eta = 2.0 * i0 * f_half * ch
            di_ce = cur / (2.0 * ce) if ce > 1e-6 else 0.0
            di0_cs = 0.5 * i0 * ((1.0 / lo if cs > 1e-6 else 0.0)
                                 - (1.0 / hi if m.c_max - cs > 1e-6 else 0.0))
            di_cs = 2.0 * sh * di0_cs - di_eta * du / m.c_max
            a = m.area[k]
            src = w * a * cur
            # node rows: salt -(1 - t+)/F src, current -src, solid +src
            g[i] -= cs_scale * src
            g[off_pe + i] -= src
            g[off_ps + n] += src
            for row, fac in ((3 * i, -cs_scale), (3 * i + 1, -1.0), (3 * i + 2, 1.0)):
                jnn[row, _col(row, 3 * i)] += fac * w * a * di_ce
                jnn[row, _col(row, 3 * i + 1)] -= fac * w * a * di_eta
                jnn[row, _col(row, 3 * i + 2)] += fac * w * a * di_eta
            c_surf[k, n, 0] -= cs_scale * w * a * di_cs
            c_surf[k, n, 1] -= w * a * di_cs
            c_surf[k, n, 3] += w * a * di_cs
            # particle: K_r (c_s - c_s(0)) + R² (flux scale) i / F at the surface
            kd, ko = m.kr_diag[k], m.kr_off[k]
            c0 = y[base]
            for r in range(n_r):
                v = kd[r] * (y[base + r] - c0)
                if r > 0:
                    v += ko[r - 1] * (y[base + r - 1] - c0)
                if r < n_r - 1:
                    v += ko[r] * (y[base + r + 1] - c0)
                g[base + r] = v
            fac = m.radii[k] ** 2 * m.flux_scale[k] / FARADAY
            g[base + n_r - 1] += fac * cur
            d_surf[k, n] = fac * di_cs
            b_surf[k, n, 0] = fac * di_ce
            b_surf[k, n, 1] = -fac * di_eta
            b_surf[k, n, 2] = fac * di_eta
    # ---- Li foil at x = 0: the salt influx (1 - t+) i_app / F, and i_F(η = -φ_e(0)) = i_app
    # replaces the first current row
    g[0] -= cs_scale * i_app
    c0 = m.c_e0
    ce0 = y[0]
    i0 = m.foil_i0 * (max(ce0, 1e-6) / c0) ** 0.3
    eta = -y[off_pe]
    i_f = 2.0 * i0 * math.sinh(f_half * eta)
    g[off_pe] = i_f - i_app
    jnn[1, :] = 0.0
    jnn[1, _col(1, 0)] = 0.3 * i_f / ce0 if ce0 > 1e-6 else 0.0
    jnn[1, BAND] = -2.0 * i0 * f_half * math.cosh(f_half * eta)


# ----------------------------------------------------------------------------- linear solve
@njit(cache=True)
def _thomas_solve(sub, inv_piv, ratio, x):
    """Solve T x = b in place for a symmetric tridiagonal T factorized as by :func:`factor`
    (sub-diagonal, inverse pivots, ratios sub[r] / pivot[r - 1])."""
    n = x.size
    for r in range(1, n):
        x[r] -= ratio[r] * x[r - 1]
    x[n - 1] *= inv_piv[n - 1]
    for r in range(n - 2, -1, -1):
        x[r] = (x[r] - sub[r + 1] * x[r + 1]) * inv_piv[r]


@njit(cache=True)
def _col(row, col):
    """Column of the entry (row, col) in the band storage of the node system: a row holds
    the columns row - BAND .. row + 2 BAND (the upper part twice as wide for the fill-in of
    partial pivoting)."""
    return col - row + BAND


@njit(cache=True)
def _coupled_row(i, q):
    """Node-system row of ``c_surf[..., q]`` for a particle at node i: c_e_i, φ_e_i,
    φ_s_{i-1}, φ_s_i, φ_s_{i+1} (:func:`residual_and_jacobian`)."""
    return (3 * i, 3 * i + 1, 3 * i - 1, 3 * i + 2, 3 * i + 5)[q]


@njit(cache=True)
def _band_factor(ab, pivots, reach):
    """LU factorization in place of A in band storage (:func:`_col`, half-width BAND) with
    partial pivoting, LAPACK's gbtrf scheme: the multipliers stay where they were made, a
    row's reach to the right grows only where a swap brings fill-in.  False if singular."""
    n = pivots.size
    for r in range(n):
        reach[r] = min(r + BAND, n - 1)
    for j in range(n):
        p = j
        big = abs(ab[j, BAND])
        for r in range(j + 1, min(j + BAND, n - 1) + 1):
            v = abs(ab[r, _col(r, j)])
            if v > big:
                big = v
                p = r
        if big == 0.0 or not np.isfinite(big):
            return False
        pivots[j] = p
        if p != j:
            last = max(reach[j], reach[p])
            for col in range(j, last + 1):
                t = ab[j, _col(j, col)]
                ab[j, _col(j, col)] = ab[p, _col(p, col)]
                ab[p, _col(p, col)] = t
            reach[j] = last
            reach[p] = last
        last = reach[j]
        piv = ab[j, BAND]
        for r in range(j + 1, min(j + BAND, n - 1) + 1):
            f = ab[r, _col(r, j)] / piv
            ab[r, _col(r, j)] = f  # the multiplier
            if f != 0.0:
                shift = j - r  # row r stores (r, col) at col - r + BAND = q + shift
                for q in range(BAND + 1, BAND + 1 + last - j):
                    ab[r, q + shift] -= f * ab[j, q]
                reach[r] = max(reach[r], last)
    return True


@njit(cache=True)
def _band_solve(ab, pivots, reach, b):
    """Solve A x = b in place with the factors of :func:`_band_factor`."""
    n = b.size
    for j in range(n):
        p = pivots[j]
        if p != j:
            t = b[j]
            b[j] = b[p]
            b[p] = t
        for r in range(j + 1, min(j + BAND, n - 1) + 1):
            b[r] -= ab[r, _col(r, j)] * b[j]
    for j in range(n - 1, -1, -1):
        s = b[j]
        for col in range(j + 1, reach[j] + 1):
            s -= ab[j, _col(j, col)] * b[col]
        b[j] = s / ab[j, BAND]


class Work(NamedTuple):
    """Work arrays of the Newton iterations (:func:`work_arrays`): the residual, the
    Jacobian blocks of :func:`residual_and_jacobian` (``jnn`` turns into the factors of the
    node system), the particles' class factors, and a second set of blocks for the
    residual-only evaluations of a simplified Newton iteration."""

    g: np.ndarray
    v: np.ndarray
    dz: np.ndarray
    jnn: np.ndarray
    d_surf: np.ndarray
    b_surf: np.ndarray
    c_surf: np.ndarray
    scale: np.ndarray  # 1 / (1 + δ v_s) per particle (Sherman–Morrison)
    pivots: np.ndarray
    reach: np.ndarray
    sub: np.ndarray  # per class: sub-diagonal, inverse pivots, ratios of T_k; v = T_k^-1 e
    piv: np.ndarray
    ratio: np.ndarray
    v_unit: np.ndarray
    w_p: np.ndarray
    rhs_n: np.ndarray
    jnn_spare: np.ndarray
    d_spare: np.ndarray
    b_spare: np.ndarray
    c_spare: np.ndarray


def work_arrays(m: CellArrays, size: int) -> Work:
    """Scratch arrays of the Newton iterations for a model of ``size`` unknowns."""
    n_x = m.h.size + 1
    n_c = n_x - m.i_sep
    n3 = 3 * n_x
    k, r = m.n_k, m.n_r

    def blocks():
        return (np.zeros((n3, 3 * BAND + 1)), np.zeros((k, n_c)), np.zeros((k, n_c, 3)),
                np.zeros((k, n_c, 5)))

    jnn, d_surf, b_surf, c_surf = blocks()
    return Work(np.zeros(size), np.zeros(size), np.zeros(size), jnn, d_surf, b_surf, c_surf,
                np.zeros((k, n_c)), np.zeros(n3, np.int64), np.zeros(n3, np.int64),
                np.zeros((k, r)), np.zeros((k, r)), np.zeros((k, r)), np.zeros((k, r)),
                np.zeros((k, r, n_c)), np.zeros(n3), *blocks())


@njit(cache=True)
def evaluate(m, wk, y, i_app, jacobian):
    """The residual G(y) into wk.g and, with ``jacobian``, ∂G/∂y into wk's blocks (else into
    the spare set, leaving a factorization in wk intact)."""
    if jacobian:
        residual_and_jacobian(y, i_app, m, wk.g, wk.jnn, wk.d_surf, wk.b_surf, wk.c_surf)
    else:
        residual_and_jacobian(y, i_app, m, wk.g, wk.jnn_spare, wk.d_spare, wk.b_spare,
                              wk.c_spare)


@njit(cache=True)
def factor(m, wk, a0, algebraic_only):
    """Factorize a0 M + ∂G/∂y from the blocks in wk (module docstring): the particles'
    class matrices T_k = a0 M_r + K_r, each particle's block T = T_k + δ e e^T (δ =
    ``d_surf``, e the surface row) eliminated by Sherman–Morrison, T^-1 x = T_k^-1 x
    - δ v (T_k^-1 x)_s / (1 + δ v_s) with v = T_k^-1 e, into the Schur complement of the node
    system, then its band LU.  ``algebraic_only``: c_e and c_s held (their rows Δ = 0), the
    consistent initialization of φ_e, φ_s.  False if singular."""
    n_x = m.h.size + 1
    i_sep = m.i_sep
    n_c = n_x - i_sep
    n_k, n_r = m.n_k, m.n_r
    n3 = 3 * n_x
    last = n_r - 1
    jnn = wk.jnn
    for i in range(n_x):
        if algebraic_only:
            jnn[3 * i, :] = 0.0
            jnn[3 * i, BAND] = 1.0
        else:
            jnn[3 * i, BAND] += a0 * m.w_eps[i]
    if not algebraic_only:
        for k in range(n_k):
            md, mo, kd, ko = m.mr_diag[k], m.mr_off[k], m.kr_diag[k], m.kr_off[k]
            pivot = a0 * md[0] + kd[0]
            wk.piv[k, 0] = 1.0 / pivot
            for r in range(1, n_r):
                wk.sub[k, r] = a0 * mo[r - 1] + ko[r - 1]
                wk.ratio[k, r] = wk.sub[k, r] / pivot  # T_k is symmetric
                pivot = a0 * md[r] + kd[r] - wk.sub[k, r] * wk.ratio[k, r]
                wk.piv[k, r] = 1.0 / pivot
            for r in range(n_r):
                wk.v_unit[k, r] = 0.0
            wk.v_unit[k, last] = 1.0
            _thomas_solve(wk.sub[k], wk.piv[k], wk.ratio[k], wk.v_unit[k])
            for n in range(n_c):
                scale = 1.0 / (1.0 + wk.d_surf[k, n] * wk.v_unit[k, last])
                wk.scale[k, n] = scale
                ul = wk.v_unit[k, last] * scale  # (T^-1 e)_s
                i = i_sep + n
                for q in range(5):
                    cq = wk.c_surf[k, n, q]
                    row = _coupled_row(i, q)
                    if cq == 0.0 or row >= n3:
                        continue
                    for t in range(3):
                        jnn[row, _col(row, 3 * i + t)] -= cq * ul * wk.b_surf[k, n, t]
    return _band_factor(jnn, wk.pivots, wk.reach)


@njit(cache=True)
def solve(m, wk, neg_g, algebraic_only, dz):
    """Δy of (a0 M + ∂G/∂y) Δy = neg_g into dz with the factors of :func:`factor`."""
    n_x = m.h.size + 1
    i_sep = m.i_sep
    n_c = n_x - i_sep
    n_k, n_r = m.n_k, m.n_r
    off_pe, off_ps = n_x, 2 * n_x
    off_cs = 2 * n_x + n_c
    n3 = 3 * n_x
    last = n_r - 1
    rhs_n = wk.rhs_n
    for i in range(n_x):
        rhs_n[3 * i] = 0.0 if algebraic_only else neg_g[i]
        rhs_n[3 * i + 1] = neg_g[off_pe + i]
        rhs_n[3 * i + 2] = neg_g[off_ps + i - i_sep] if i >= i_sep else 0.0
    if not algebraic_only:
        for k in range(n_k):
            # T_k^-1 on every particle of the class at once (r outer, particles inner: the
            # Thomas recurrences of different particles are independent)
            w = wk.w_p[k]  # (n_r, n_c)
            for n in range(n_c):
                base = off_cs + (k * n_c + n) * n_r
                for r in range(n_r):
                    w[r, n] = neg_g[base + r]
            ratio, sub, inv_piv = wk.ratio[k], wk.sub[k], wk.piv[k]
            for r in range(1, n_r):
                for n in range(n_c):
                    w[r, n] -= ratio[r] * w[r - 1, n]
            for n in range(n_c):
                w[last, n] *= inv_piv[last]
            for r in range(n_r - 2, -1, -1):
                for n in range(n_c):
                    w[r, n] = (w[r, n] - sub[r + 1] * w[r + 1, n]) * inv_piv[r]
            for n in range(n_c):
                delta = wk.d_surf[k, n]
                wl = w[last, n] * wk.scale[k, n]  # (T^-1 rhs)_s
                for r in range(n_r):
                    w[r, n] -= delta * wk.v_unit[k, r] * wl
                i = i_sep + n
                for q in range(5):
                    cq = wk.c_surf[k, n, q]
                    row = _coupled_row(i, q)
                    if cq == 0.0 or row >= n3:
                        continue
                    rhs_n[row] -= cq * wl
    _band_solve(wk.jnn, wk.pivots, wk.reach, rhs_n)
    for i in range(n_x):
        dz[i] = rhs_n[3 * i]
        dz[off_pe + i] = rhs_n[3 * i + 1]
        if i >= i_sep:
            dz[off_ps + i - i_sep] = rhs_n[3 * i + 2]
    for k in range(n_k):
        for n in range(n_c):
            base = off_cs + (k * n_c + n) * n_r
            if algebraic_only:
                for r in range(n_r):
                    dz[base + r] = 0.0
                continue
            i = i_sep + n
            coupling = wk.scale[k, n] * (wk.b_surf[k, n, 0] * rhs_n[3 * i]
                                         + wk.b_surf[k, n, 1] * rhs_n[3 * i + 1]
                                         + wk.b_surf[k, n, 2] * rhs_n[3 * i + 2])
            for r in range(n_r):  # T^-1 (rhs - e b·Δ_node), T^-1 e = v / (1 + δ v_s)
                dz[base + r] = wk.w_p[k, r, n] - wk.v_unit[k, r] * coupling


# ----------------------------------------------------------------------------- time stepping
@njit(cache=True)
def _add_mass(m, v, g):
    """g += M v (lumped ε_e weights on c_e, each particle's consistent mass on c_s)."""
    n_x = m.h.size + 1
    n_c = n_x - m.i_sep
    off_cs = 2 * n_x + n_c
    n_r = m.n_r
    for i in range(n_x):
        g[i] += m.w_eps[i] * v[i]
    for k in range(m.n_k):
        md, mo = m.mr_diag[k], m.mr_off[k]
        for n in range(n_c):
            base = off_cs + (k * n_c + n) * n_r
            for r in range(n_r):
                s = md[r] * v[base + r]
                if r > 0:
                    s += mo[r - 1] * v[base + r - 1]
                if r < n_r - 1:
                    s += mo[r] * v[base + r + 1]
                g[base + r] += s


@njit(cache=True)
def newton(m, wk, z, a0, hist, i_app, atol, rtol, max_iterations):
    """Solve M (a0 z + hist) + G(z) = 0 in place from the predictor z: (iterations,
    converged).  Simplified Newton: the analytic Jacobian at the predictor, factorized once
    (:func:`factor`), serves every iteration of the step.  Converged when the first update is
    below the error tolerance (atol + rtol |z|), or later when the update extrapolated with
    the observed contraction θ, θ/(1 - θ) |Δ|, is below ``NEWTON_TOL`` of it; gives up when
    θ > 0.9 or the residual turns non-finite."""
    prev = np.inf
    for it in range(1, max_iterations + 1):
        evaluate(m, wk, z, i_app, it == 1)
        for r in range(z.size):
            wk.v[r] = a0 * z[r] + hist[r]
        _add_mass(m, wk.v, wk.g)
        for r in range(z.size):
            if not np.isfinite(wk.g[r]):
                return it, False
            wk.g[r] = -wk.g[r]
        if it == 1 and not factor(m, wk, a0, False):
            return it, False
        solve(m, wk, wk.g, False, wk.dz)
        norm = 0.0
        for r in range(z.size):
            z[r] += wk.dz[r]
            q = abs(wk.dz[r]) / (atol[r] + rtol * abs(z[r]))
            if not q < np.inf:
                return it, False
            norm = max(norm, q)
        if it == 1:
            if norm < 1.0:
                return it, True
        else:
            theta = norm / prev
            if theta > 0.9:
                return it, False
            if theta / (1.0 - theta) * norm < NEWTON_TOL:
                return it, True
        prev = norm
    return max_iterations, False


@njit(cache=True)
def _algebraic_norm(m, g):
    """Largest |G| over the φ_e and φ_s rows."""
    n_x = m.h.size + 1
    out = 0.0
    for r in range(n_x, 3 * n_x - m.i_sep):
        out = max(out, abs(g[r]))
    return out


@njit(cache=True)
def consistent_algebraic(m, wk, y, i_app):
    """φ_e and φ_s solved with c_e and c_s held (Newton on the algebraic rows, the step
    halved until the residual falls), in place.  False if it does not converge."""
    trial = np.empty(y.size)
    for _ in range(60):
        evaluate(m, wk, y, i_app, True)
        norm = _algebraic_norm(m, wk.g)
        for r in range(y.size):
            wk.g[r] = -wk.g[r]
        if not factor(m, wk, 0.0, True):
            return False
        solve(m, wk, wk.g, True, wk.dz)
        big = 0.0
        for r in range(y.size):
            big = max(big, abs(wk.dz[r]))
        if big < 1e-10:
            for r in range(y.size):
                y[r] += wk.dz[r]
            return True
        step = 1.0
        for _ in range(40):
            for r in range(y.size):
                trial[r] = y[r] + step * wk.dz[r]
            evaluate(m, wk, trial, i_app, False)
            new = _algebraic_norm(m, wk.g)
            if np.isfinite(new) and new < norm:
                break
            step *= 0.5
        else:
            return False
        for r in range(y.size):
            y[r] = trial[r]
    return False


@njit(cache=True)
def discharge_loop(m, wk, y, i_app, cutoff_v, rtol, max_steps, differential, depleted,
                   saturated, collapse_window_v, cutoff_tol_v, t_out, v_out):
    """Galvanostatic discharge from the consistent state y (modified in place to the final
    state) with variable-step BDF2 (BDF1 first), the step adapted to the local error of the
    differential unknowns against the extrapolated predictor; the crossing of the cut-off
    located by secant steps to within ``cutoff_tol_v`` (:func:`physics.cell.discharge`); it
    also ends where the salt falls to ``depleted`` or rises to ``saturated`` [mol/m³].
    Writes time [s] and voltage [V] into t_out, v_out; returns (points, steps, Newton
    iterations, end code, t at the end)."""
    size = y.size
    n_x = m.h.size + 1
    n_c = n_x - m.i_sep
    v_index = 2 * n_x + n_c - 1
    atol = np.empty(size)
    n_diff = 0
    for r in range(size):
        atol[r] = 1e-3 if differential[r] else 1e-6
        n_diff += 1 if differential[r] else 0
    y_prev = y.copy()
    z = np.empty(size)
    y_pred = np.empty(size)
    hist = np.empty(size)
    t, h = 0.0, 1e-3
    h_prev = 0.0
    have_prev = False
    t_out[0] = 0.0
    v_out[0] = y[v_index]
    points = 1
    steps = 0
    newton_total = 0
    attempts = 0
    if y[v_index] <= cutoff_v:  # the current takes the cell below the cut-off at once
        return points, steps, newton_total, END_BELOW_CUTOFF, t
    while steps < max_steps:
        attempts += 1
        if attempts > 50 * max_steps:
            return points, steps, newton_total, END_MAX_STEPS, t
        if not have_prev:
            a0, a1, a2 = 1.0 / h, -1.0 / h, 0.0
            for r in range(size):
                y_pred[r] = y[r]
        else:
            w = h / h_prev
            a0 = (1 + 2 * w) / (h * (1 + w))
            a1 = -(1 + w) / h
            a2 = w * w / (h * (1 + w))
            for r in range(size):
                y_pred[r] = y[r] + w * (y[r] - y_prev[r])
        for r in range(size):
            hist[r] = a1 * y[r] + a2 * y_prev[r]
            z[r] = y_pred[r]
        iters, ok = newton(m, wk, z, a0, hist, i_app, atol, rtol, 8)
        newton_total += iters
        if not ok:
            h *= 0.25
            if h < 1e-8:
                ce_min = np.inf
                for i in range(n_x):
                    ce_min = min(ce_min, y[i])
                if ce_min < 5 * depleted:  # the c_e -> 0 singularity
                    return points, steps, newton_total, END_DEPLETION, t
                if v_out[points - 1] - cutoff_v < collapse_window_v:  # c_s -> c_max
                    return points, steps, newton_total, END_COLLAPSE, t
                return points, steps, newton_total, END_NEWTON_FAILED, t
            continue
        err = 0.0
        for r in range(size):
            if differential[r]:
                q = (z[r] - y_pred[r]) / (atol[r] + rtol * abs(z[r]))
                err += q * q
        err = math.sqrt(err / n_diff) / 3.0
        q = (z[v_index] - y_pred[v_index]) / (1e-6 + rtol * abs(z[v_index])) / 3.0
        err = max(err, abs(q))
        if err > 1.0 and h > 1e-6:
            h *= max(0.2, 0.9 / err ** (1.0 / 3.0))
            continue
        v_new = z[v_index]
        v_last = v_out[points - 1]
        if v_new < cutoff_v - cutoff_tol_v and h > 1e-8:
            # beyond the cut-off: retry the step to the secant's crossing (the voltage falls
            # ever faster there, so the secant lands short of it and the next step closes in)
            h *= max(0.05, min(0.99, (v_last - cutoff_v) / (v_last - v_new)))
            continue
        steps += 1
        if v_new <= cutoff_v + cutoff_tol_v:
            # within the tolerance of the cut-off: the last bit is linear
            frac = 1.0 if v_new == v_last else min(1.0, max(0.0, (v_last - cutoff_v)
                                                            / (v_last - v_new)))
            t_out[points] = t + frac * h
            v_out[points] = cutoff_v
            points += 1
            for r in range(size):
                y[r] = y[r] + frac * (z[r] - y[r])
            return points, steps, newton_total, END_CUTOFF, t + frac * h
        for r in range(size):
            y_prev[r] = y[r]
            y[r] = z[r]
        have_prev = True
        h_prev = h
        t += h
        t_out[points] = t
        v_out[points] = v_new
        points += 1
        ce_min, ce_max = np.inf, -np.inf
        for i in range(n_x):
            ce_min = min(ce_min, y[i])
            ce_max = max(ce_max, y[i])
        if ce_min <= depleted:
            return points, steps, newton_total, END_DEPLETION, t
        if ce_max >= saturated:
            return points, steps, newton_total, END_SATURATION, t
        h *= min(2.0, max(0.2, 0.9 / max(err, 1e-6) ** (1.0 / 3.0)))
    return points, steps, newton_total, END_MAX_STEPS, t
