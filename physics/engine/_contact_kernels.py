"""numba kernels: pair and wall forces (Hertz + tangential history + SJKR, Lennard-Jones 12-6).

Engine units (LIGGGHTS/LAMMPS ``units micro``): µm, pg, µs; force nN; modulus, pressure and
cohesion energy density kPa; energy 1e-15 J.

The contact law is the LIGGGHTS 3.8 ``hertz tangential history cohesion sjkr`` model written out
in ``shared/reference/contact_law.md`` (Ngandjong et al. 2021, Eq. 1-2).  Every contact
coefficient is stored per type pair in ``params[ti, tj, :]`` and each contact's history in
``hist[k, :]``; the layout is in :mod:`physics.engine._params`.  The models of
:mod:`physics.engine.contacts` modify this contact per pair type: a hysteretic elasto-plastic
adhesive normal branch, an EPSD2 rolling torque, a viscoelastic binder-bridge arm, a coated
contact's friction.  With their
parameters at zero the law is exactly the Table 2 one (the ``paper`` preset).  The LIGGGHTS
law and the LAMMPS ``gran/hertz/history`` law (used by the CGMD force fields) run through the
same kernel.  Kernels take arrays and scalars only.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from physics.engine._params import (  # noqa: F401  (re-exported layout)
    BRIDGE_DECAY,
    BRIDGE_GAIN,
    BRIDGE_K,
    BRIDGE_KEQ,
    BRIDGE_TAU,
    CED,
    FILM_DEPTH,
    FLATTENING_LIMIT,
    GN_A,
    GN_B,
    GT_A,
    GT_B,
    HIST_BRIDGE,
    HIST_BRIDGE_EQ,
    HIST_DMAX,
    HIST_ROLL,
    KC,
    KN,
    KR,
    KT,
    MU,
    MU_BARE,
    MU_R,
    N_CONTACT_PARAMS,
    N_HIST,
    NORMAL_HYSTERETIC,
    NORMAL_MODEL,
    NORMAL_THORNTON_NING,
    PLASTICITY,
    YIELD_PRESSURE,
)
from physics.engine.contacts.binder_bridge import bridge_force
from physics.engine.contacts.coated_friction import coated_friction_coefficient
from physics.engine.contacts.hysteretic import hysteretic_force
from physics.engine.contacts.rolling_epsd2 import epsd2_torque
from physics.engine.contacts.thornton_ning import thornton_ning_force

# fastmath without nnan/ninf: reassociation, reciprocals and FMA (+17 % pair throughput);
# NaN and inf still propagate, so a blown-up state stays visible.
_JIT = {"cache": True, "nogil": True, "error_model": "numpy",
        "fastmath": {"nsz", "arcp", "contract", "afn", "reassoc"}}


@nb.njit(inline="always", **_JIT)
def contact_force(nx, ny, nz, delta, r_star, m_star, cr_i, cr_j,
                  vx, vy, vz, wix, wiy, wiz, wjx, wjy, wjz, hist, k, p, ti, tj, area, dt):
    """Force on body i and torques on i and j for one contact (LIGGGHTS hertz/history/sjkr,
    with the per-pair models of :mod:`physics.engine.contacts`).

    Args:
        nx, ny, nz: unit normal from j to i.
        delta: overlap δ > 0 [µm].
        r_star, m_star: effective radius [µm] and mass [pg].
        cr_i, cr_j: lever arms R - δ/2 [µm] (0 for a wall).
        vx, vy, vz: relative velocity v_i - v_j [µm/µs].
        wi*, wj*: angular velocities [rad/µs].
        hist, k: the contact's history is ``hist[k, :]`` (layout in ``_params``), updated in
            place.
        p, ti, tj: the pair's kernel coefficients are ``p[ti, tj, :]`` (``_params``
            layout, with the derived bridge columns of ``kernel_params``).
        area: contact area for SJKR [µm²].
        dt: time step [µs].

    Returns:
        (fx, fy, fz, tix, tiy, tiz, tjx, tjy, tjz): force on i [nN]; torques [nN µm].
    """
    sq = math.sqrt(r_star * delta)
    msq = math.sqrt(m_star * sq)
    gn = p[ti, tj, GN_A] * msq + p[ti, tj, GN_B] * m_star * sq
    vn = vx * nx + vy * ny + vz * nz
    f_adh = 0.0
    if p[ti, tj, NORMAL_MODEL] == NORMAL_HYSTERETIC:
        f_el, d_max, f_adh = hysteretic_force(delta, r_star, p[ti, tj, KN],
                                              p[ti, tj, PLASTICITY], p[ti, tj, KC],
                                              hist[k, HIST_DMAX])
        hist[k, HIST_DMAX] = d_max
    elif p[ti, tj, NORMAL_MODEL] == NORMAL_THORNTON_NING:
        f_el, d_max = thornton_ning_force(delta, r_star, p[ti, tj, KN],
                                          p[ti, tj, YIELD_PRESSURE], hist[k, HIST_DMAX],
                                          p[ti, tj, FLATTENING_LIMIT])
        hist[k, HIST_DMAX] = d_max
    else:
        f_el = p[ti, tj, KN] * sq * delta
        if p[ti, tj, FILM_DEPTH] > 0.0 and delta > hist[k, HIST_DMAX]:
            hist[k, HIST_DMAX] = delta  # the coated friction's squeeze-out history
    mu = p[ti, tj, MU]
    if p[ti, tj, FILM_DEPTH] > 0.0:
        mu = coated_friction_coefficient(mu, p[ti, tj, MU_BARE], p[ti, tj, FILM_DEPTH],
                                         hist[k, HIST_DMAX], r_star)
    fn = f_el - gn * vn  # along n, on i; may be < 0 (limitForce off)
    if p[ti, tj, BRIDGE_TAU] > 0.0:
        f_bridge = bridge_force(hist[k, HIST_BRIDGE], 1.5 * p[ti, tj, BRIDGE_K] * sq, -vn * dt,
                                p[ti, tj, BRIDGE_DECAY], p[ti, tj, BRIDGE_GAIN])
        hist[k, HIST_BRIDGE] = f_bridge
        # equilibrium arm: the same spring without the dashpot (decay 1, gain 1)
        f_eq = bridge_force(hist[k, HIST_BRIDGE_EQ], 1.5 * p[ti, tj, BRIDGE_KEQ] * sq, -vn * dt,
                            1.0, 1.0)
        hist[k, HIST_BRIDGE_EQ] = f_eq
        fn += f_bridge + f_eq

    # relative tangential velocity at the contact point, lever arms R - δ/2
    ax = cr_i * wix + cr_j * wjx
    ay = cr_i * wiy + cr_j * wjy
    az = cr_i * wiz + cr_j * wjz
    vtx = vx - vn * nx - (ay * nz - az * ny)
    vty = vy - vn * ny - (az * nx - ax * nz)
    vtz = vz - vn * nz - (ax * ny - ay * nx)

    # history: accumulate, then project onto the tangent plane (no rescaling)
    hx = hist[k, 0] + vtx * dt
    hy = hist[k, 1] + vty * dt
    hz = hist[k, 2] + vtz * dt
    hn = hx * nx + hy * ny + hz * nz
    hx -= hn * nx
    hy -= hn * ny
    hz -= hn * nz

    kt = p[ti, tj, KT] * sq
    gt = p[ti, tj, GT_A] * msq + p[ti, tj, GT_B] * m_star * sq
    ft_el = kt * math.sqrt(hx * hx + hy * hy + hz * hz)
    ft_max = mu * abs(fn + f_adh)  # f_adh: hysteretic adhesive branch (Luding)
    if ft_el > ft_max:
        # sliding: Coulomb cap, no damping, spring reset to ξ = -Ft/kt
        scale = ft_max / ft_el
        ftx = -kt * hx * scale
        fty = -kt * hy * scale
        ftz = -kt * hz * scale
        if kt > 0.0:
            hx = -ftx / kt
            hy = -fty / kt
            hz = -ftz / kt
    else:
        ftx = -kt * hx - gt * vtx
        fty = -kt * hy - gt * vty
        ftz = -kt * hz - gt * vtz
    hist[k, 0] = hx
    hist[k, 1] = hy
    hist[k, 2] = hz

    f_normal = fn - p[ti, tj, CED] * area  # SJKR cohesion added after Hertz, attractive
    fx = f_normal * nx + ftx
    fy = f_normal * ny + fty
    fz = f_normal * nz + ftz
    # torque = -cr (n × Ft)
    cx = ny * ftz - nz * fty
    cy = nz * ftx - nx * ftz
    cz = nx * fty - ny * ftx
    tix = -cr_i * cx
    tiy = -cr_i * cy
    tiz = -cr_i * cz
    tjx = -cr_j * cx
    tjy = -cr_j * cy
    tjz = -cr_j * cz
    mu_r = p[ti, tj, MU_R]
    if mu_r > 0.0:  # EPSD2 rolling resistance: +M_r on i, -M_r on j
        mrx, mry, mrz = epsd2_torque(nx, ny, nz, wix - wjx, wiy - wjy, wiz - wjz,
                                     p[ti, tj, KR] * kt * r_star * r_star, mu_r, r_star,
                                     abs(fn + f_adh), hist, k, HIST_ROLL, dt)
        tix += mrx
        tiy += mry
        tiz += mrz
        tjx -= mrx
        tjy -= mry
        tjz -= mrz
    return fx, fy, fz, tix, tiy, tiz, tjx, tjy, tjz


@nb.njit(inline="always", **_JIT)
def clear_history(hist, k):
    """Zero the history of a contact that is open."""
    for a in range(hist.shape[1]):
        hist[k, a] = 0.0


@nb.njit(inline="always", **_JIT)
def sjkr_pair_area(r, ri, rj):
    """Area π a² of the overlap disc of two spheres at centre distance r [µm²]."""
    return -0.25 * math.pi * (r - ri - rj) * (r + ri - rj) * (r - ri + rj) * (r + ri + rj) / (r * r)


@nb.njit(inline="always", **_JIT)
def lj_sf_force(r, eps, sig, rc):
    """Radial Lennard-Jones 12-6 shifted-force (LAMMPS ``lj/sf``) force [nN], > 0 repulsive.

    F(r) = F_LJ(r) - F_LJ(rc) for r < rc, with F_LJ(r) = 24 ε/r [2 (σ/r)^12 - (σ/r)^6].
    """
    if r >= rc or eps == 0.0:
        return 0.0
    s6 = (sig / r) ** 6
    s6c = (sig / rc) ** 6
    return 24.0 * eps * (2.0 * s6 * s6 - s6) / r - 24.0 * eps * (2.0 * s6c * s6c - s6c) / rc


@nb.njit(inline="always", **_JIT)
def lj_sf_energy(r, eps, sig, rc):
    """Energy of :func:`lj_sf_force` [1e-15 J]: E_LJ(r) - E_LJ(rc) + (r - rc) F_LJ(rc)."""
    if r >= rc or eps == 0.0:
        return 0.0
    s6 = (sig / r) ** 6
    s6c = (sig / rc) ** 6
    fc = 24.0 * eps * (2.0 * s6c * s6c - s6c) / rc
    return 4.0 * eps * (s6 * s6 - s6) - 4.0 * eps * (s6c * s6c - s6c) + (r - rc) * fc


@nb.njit(inline="always", **_JIT)
def min_image(d, length, periodic):
    if periodic:
        return d - length * np.rint(d / length)
    return d


@nb.njit(inline="always", **_JIT)
def pair_vector(pos, i, j, box_len, periodic):
    """Minimum-image separation r_i - r_j [µm] of particles i and j."""
    return (min_image(pos[i, 0] - pos[j, 0], box_len[0], periodic[0]),
            min_image(pos[i, 1] - pos[j, 1], box_len[1], periodic[1]),
            min_image(pos[i, 2] - pos[j, 2], box_len[2], periodic[2]))


@nb.njit(inline="always", **_JIT)
def pair_contact(i, j, r, nx, ny, nz, delta, vel, omega, radius, mass, ptype, hist, k, params,
                 dt):
    """:func:`contact_force` of the overlapping pair (i, j) at distance r [µm] along the unit
    normal n = (r_i - r_j)/r with overlap delta [µm], history row k of ``hist``."""
    ri = radius[i]
    rj = radius[j]
    rsum = ri + rj
    return contact_force(
        nx, ny, nz, delta, ri * rj / rsum, mass[i] * mass[j] / (mass[i] + mass[j]),
        ri - 0.5 * delta, rj - 0.5 * delta,
        vel[i, 0] - vel[j, 0], vel[i, 1] - vel[j, 1], vel[i, 2] - vel[j, 2],
        omega[i, 0], omega[i, 1], omega[i, 2], omega[j, 0], omega[j, 1], omega[j, 2],
        hist, k, params, ptype[i], ptype[j], sjkr_pair_area(r, ri, rj), dt)


@nb.njit(parallel=True, **_JIT)
def pair_forces(pos, vel, omega, radius, mass, ptype, lj_eps, lj_sig, lj_rc,
                pair_i, pair_j, hist, params, box_len, periodic, dt,
                chunk_start, buf_f, buf_t, buf_w):
    """Accumulate pair forces of a half neighbour list into per-chunk buffers.

    Pairs ``[chunk_start[c], chunk_start[c+1])`` write only into ``buf_*[c]``, so chunks run
    in parallel without atomics; :func:`reduce_buffers` sums them.  ``hist`` (npair, N_HIST)
    holds the contact histories and is zeroed for pairs out of contact.  ``buf_w[c]`` receives the
    pair virial Σ r_ij ⊗ F_ij [nN µm] (3×3).
    """
    n_chunks = chunk_start.shape[0] - 1
    for c in nb.prange(n_chunks):
        bf = buf_f[c]
        bt = buf_t[c]
        bw = buf_w[c]
        bf[:, :] = 0.0
        bt[:, :] = 0.0
        # virial in registers: the 3x3 buffers of neighbouring chunks share a cache line, and
        # writing them per pair made the threads fight over it (false sharing)
        w00 = w01 = w02 = w10 = w11 = w12 = w20 = w21 = w22 = 0.0
        for k in range(chunk_start[c], chunk_start[c + 1]):
            i = pair_i[k]
            j = pair_j[k]
            dx, dy, dz = pair_vector(pos, i, j, box_len, periodic)
            r2 = dx * dx + dy * dy + dz * dz
            ri = radius[i]
            rj = radius[j]
            rc = 0.5 * (lj_rc[i] + lj_rc[j])
            rsum = ri + rj
            if r2 >= rsum * rsum and r2 >= rc * rc:
                clear_history(hist, k)
                continue
            r = math.sqrt(r2)
            nx = dx / r
            ny = dy / r
            nz = dz / r
            fx = 0.0
            fy = 0.0
            fz = 0.0
            if r < rsum:
                res = pair_contact(i, j, r, nx, ny, nz, rsum - r, vel, omega, radius, mass,
                                   ptype, hist, k, params, dt)
                fx = res[0]
                fy = res[1]
                fz = res[2]
                bt[i, 0] += res[3]
                bt[i, 1] += res[4]
                bt[i, 2] += res[5]
                bt[j, 0] += res[6]
                bt[j, 1] += res[7]
                bt[j, 2] += res[8]
            else:
                clear_history(hist, k)
            if r < rc:
                flj = lj_sf_force(r, math.sqrt(lj_eps[i] * lj_eps[j]),
                                  0.5 * (lj_sig[i] + lj_sig[j]), rc)
                fx += flj * nx
                fy += flj * ny
                fz += flj * nz
            bf[i, 0] += fx
            bf[i, 1] += fy
            bf[i, 2] += fz
            bf[j, 0] -= fx
            bf[j, 1] -= fy
            bf[j, 2] -= fz
            w00 += dx * fx
            w01 += dx * fy
            w02 += dx * fz
            w10 += dy * fx
            w11 += dy * fy
            w12 += dy * fz
            w20 += dz * fx
            w21 += dz * fy
            w22 += dz * fz
        bw[0, 0] = w00
        bw[0, 1] = w01
        bw[0, 2] = w02
        bw[1, 0] = w10
        bw[1, 1] = w11
        bw[1, 2] = w12
        bw[2, 0] = w20
        bw[2, 1] = w21
        bw[2, 2] = w22


@nb.njit(**_JIT)
def contact_virial_by_type(pos, vel, omega, radius, mass, ptype, pair_i, pair_j, hist, params,
                           box_len, periodic, dt, n_types):
    """Contact (non-LJ) pair virial Σ r_ij ⊗ F_ij per type pair [nN µm], (n_types, n_types,
    3, 3) with both orders summed into [min, max]; read-only: the contact law runs on a copy
    of each history row, so the state is untouched."""
    out = np.zeros((n_types, n_types, 3, 3))
    row = np.empty((1, hist.shape[1]))
    for k in range(pair_i.shape[0]):
        i = pair_i[k]
        j = pair_j[k]
        dx, dy, dz = pair_vector(pos, i, j, box_len, periodic)
        r = math.sqrt(dx * dx + dy * dy + dz * dz)
        rsum = radius[i] + radius[j]
        if r >= rsum:
            continue
        row[0, :] = hist[k, :]
        res = pair_contact(i, j, r, dx / r, dy / r, dz / r, rsum - r, vel, omega, radius, mass,
                           ptype, row, 0, params, dt)
        a = min(ptype[i], ptype[j])
        b = max(ptype[i], ptype[j])
        d = (dx, dy, dz)
        for u in range(3):
            for v in range(3):
                out[a, b, u, v] += d[u] * res[v]
    return out


@nb.njit(**_JIT)
def affine_contact_history(pos, radius, ptype, pair_i, pair_j, hist, params, box_len, periodic,
                           strain):
    """Advance the history of every touching pair by an affine strain before it is applied.

    A homogeneous strain with diagonal ``strain`` (ε_x, ε_y, ε_z) [-] moves body i relative to
    body j by Δu = diag(ε) (r_i - r_j).  The tangential spring ξ integrates the relative
    tangential motion (``contact_force``), so a jump of the positions alone would leave it
    blind to the tangential part of Δu; this adds Δu - (Δu·n) n to ξ (columns 0-2) and, where
    the pair has a binder bridge, the overlap change Δδ = -Δu·n to both bridge arms
    (ΔF = 1.5 K sqrt(R* δ) Δδ, an instantaneous step of the Maxwell arm).  The Hertz, SJKR
    and hysteretic forces follow the positions and need nothing.  Contacts with the planes are
    left alone: the planes strain with the film (no slip between them along x and y)."""
    for k in range(pair_i.shape[0]):
        i = pair_i[k]
        j = pair_j[k]
        dx, dy, dz = pair_vector(pos, i, j, box_len, periodic)
        r = math.sqrt(dx * dx + dy * dy + dz * dz)
        rsum = radius[i] + radius[j]
        if r >= rsum:
            continue
        nx = dx / r
        ny = dy / r
        nz = dz / r
        ux = strain[0] * dx
        uy = strain[1] * dy
        uz = strain[2] * dz
        un = ux * nx + uy * ny + uz * nz
        hist[k, 0] += ux - un * nx
        hist[k, 1] += uy - un * ny
        hist[k, 2] += uz - un * nz
        ti = ptype[i]
        tj = ptype[j]
        if params[ti, tj, BRIDGE_TAU] > 0.0:
            r_star = radius[i] * radius[j] / rsum
            sq = math.sqrt(r_star * (rsum - r))
            hist[k, HIST_BRIDGE] -= 1.5 * params[ti, tj, BRIDGE_K] * sq * un
            hist[k, HIST_BRIDGE_EQ] -= 1.5 * params[ti, tj, BRIDGE_KEQ] * sq * un


@nb.njit(parallel=True, **_JIT)
def reduce_buffers(buf_f, buf_t, buf_w, force, torque, virial):
    """force = Σ_c buf_f[c], torque = Σ_c buf_t[c], virial = Σ_c buf_w[c]."""
    n_chunks = buf_f.shape[0]
    n = force.shape[0]
    for i in nb.prange(n):
        for a in range(3):
            sf = 0.0
            st = 0.0
            for c in range(n_chunks):
                sf += buf_f[c, i, a]
                st += buf_t[c, i, a]
            force[i, a] = sf
            torque[i, a] = st
    for a in range(3):
        for b in range(3):
            s = 0.0
            for c in range(n_chunks):
                s += buf_w[c, a, b]
            virial[a, b] = s


@nb.njit(**_JIT)
def wall_forces(pos, vel, omega, radius, mass, ptype, wall_z, wall_side, wall_type, wall_vz,
                wall_hist, params, dt, force, torque, wall_force_z, wall_virial):
    """Add forces of planes normal to z to ``force``/``torque``.

    Plane w sits at ``wall_z[w]``; ``wall_side[w]`` is +1 when particles lie above it (a floor,
    e.g. the current collector) and -1 when below (a ceiling, e.g. the calender roll).  The wall
    has infinite radius and mass (R* = R_i, m* = m_i) and its own material type
    ``wall_type[w]``; SJKR area π (R² - d²) with d the centre-to-plane distance.
    ``wall_force_z[w]`` receives the z force the particles exert on plane w [nN];
    ``wall_virial`` (3×3) receives Σ (x_i - x_contact) ⊗ F_i over wall contacts [nN µm], the
    boundary term of Love's average stress in the sign convention of the pair virial.
    ``wall_hist`` (n, n_walls, N_HIST) is the contact history.
    """
    n = pos.shape[0]
    wall_virial[:, :] = 0.0
    for w in range(wall_z.shape[0]):
        side = wall_side[w]
        total = 0.0
        for i in range(n):
            d = (pos[i, 2] - wall_z[w]) * side
            ri = radius[i]
            if d >= ri:
                clear_history(wall_hist[:, w, :], i)
                continue
            delta = ri - d
            res = contact_force(
                0.0, 0.0, side, delta, ri, mass[i], ri - 0.5 * delta, 0.0,
                vel[i, 0], vel[i, 1], vel[i, 2] - wall_vz[w],
                omega[i, 0], omega[i, 1], omega[i, 2], 0.0, 0.0, 0.0,
                wall_hist[:, w, :], i, params, ptype[i], wall_type[w],
                math.pi * (ri * ri - d * d), dt)
            force[i, 0] += res[0]
            force[i, 1] += res[1]
            force[i, 2] += res[2]
            torque[i, 0] += res[3]
            torque[i, 1] += res[4]
            torque[i, 2] += res[5]
            total -= res[2]
            lever = pos[i, 2] - wall_z[w]
            wall_virial[2, 0] += lever * res[0]
            wall_virial[2, 1] += lever * res[1]
            wall_virial[2, 2] += lever * res[2]
        wall_force_z[w] = total


@nb.njit(**_JIT)
def potential_energy(pos, radius, ptype, lj_eps, lj_sig, lj_rc, pair_i, pair_j, params,
                     box_len, periodic, wall_z, wall_side, wall_type):
    """Conservative energy [1e-15 J]: Hertz elastic (2/5 KN √R* δ^{5/2}) + LJ (pairs and walls).

    The tangential spring and the SJKR cohesion are not included (the tangential history law
    is not conservative; SJKR has no pull-off branch), so this is the energy to watch in
    frictionless, cohesionless NVE checks.
    """
    e = 0.0
    for k in range(pair_i.shape[0]):
        i = pair_i[k]
        j = pair_j[k]
        dx, dy, dz = pair_vector(pos, i, j, box_len, periodic)
        r = math.sqrt(dx * dx + dy * dy + dz * dz)
        rsum = radius[i] + radius[j]
        if r < rsum:
            delta = rsum - r
            r_star = radius[i] * radius[j] / rsum
            e += 0.4 * params[ptype[i], ptype[j], KN] * math.sqrt(r_star) * delta ** 2.5
        rc = 0.5 * (lj_rc[i] + lj_rc[j])
        e += lj_sf_energy(r, math.sqrt(lj_eps[i] * lj_eps[j]), 0.5 * (lj_sig[i] + lj_sig[j]), rc)
    for w in range(wall_z.shape[0]):
        for i in range(pos.shape[0]):
            d = (pos[i, 2] - wall_z[w]) * wall_side[w]
            if d < radius[i]:
                delta = radius[i] - d
                e += 0.4 * params[ptype[i], wall_type[w], KN] * math.sqrt(radius[i]) * delta ** 2.5
    return e
