"""numba kernels of the voxel conduction solver (orchestration in :mod:`physics.transport`).

A level of the multigrid hierarchy is a structured grid (n0, n1, n2) with the transport
direction along axis 0 and three face-conductance arrays: ``g0[i, j, k]`` joins (i, j, k) and
(i+1, j, k), ``g1`` joins (i, j, k) and (i, j+1, k), ``g2`` joins (i, j, k) and (i, j, k+1);
``bc_lo[j, k]`` / ``bc_hi[j, k]`` join the first / last layer to the fixed end values.  The
operator is the weighted graph Laplacian plus the boundary terms on its diagonal,
(A x)_c = d_c x_c - Σ_faces g x_neighbour.  Cells with d = 0 (no conducting face) are inactive:
they are held at 0 and skipped.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


@nb.njit(parallel=True, **_JIT)
def face_conductances(cond, g0, g1, g2, bc_lo, bc_hi, end_offset):
    """Harmonic-mean face conductances 2 k_a k_b / (k_a + k_b) (0 if either is 0) and end
    conductances k / end_offset (the fixed value ``end_offset`` voxels from the first and last
    voxel centres), for unit voxel edge."""
    n0, n1, n2 = cond.shape
    for i in nb.prange(n0):
        for j in range(n1):
            for k in range(n2):
                a = cond[i, j, k]
                if i + 1 < n0:
                    b = cond[i + 1, j, k]
                    g0[i, j, k] = 2.0 * a * b / (a + b) if a > 0.0 and b > 0.0 else 0.0
                if j + 1 < n1:
                    b = cond[i, j + 1, k]
                    g1[i, j, k] = 2.0 * a * b / (a + b) if a > 0.0 and b > 0.0 else 0.0
                if k + 1 < n2:
                    b = cond[i, j, k + 1]
                    g2[i, j, k] = 2.0 * a * b / (a + b) if a > 0.0 and b > 0.0 else 0.0
    for j in nb.prange(n1):
        for k in range(n2):
            bc_lo[j, k] = cond[0, j, k] / end_offset
            bc_hi[j, k] = cond[n0 - 1, j, k] / end_offset


@nb.njit(parallel=True, **_JIT)
def diagonal(g0, g1, g2, bc_lo, bc_hi, d):
    """d = Σ of the conductances of a cell's faces, boundary terms included."""
    n0, n1, n2 = d.shape
    for i in nb.prange(n0):
        for j in range(n1):
            for k in range(n2):
                s = 0.0
                if i > 0:
                    s += g0[i - 1, j, k]
                if i + 1 < n0:
                    s += g0[i, j, k]
                if j > 0:
                    s += g1[i, j - 1, k]
                if j + 1 < n1:
                    s += g1[i, j, k]
                if k > 0:
                    s += g2[i, j, k - 1]
                if k + 1 < n2:
                    s += g2[i, j, k]
                if i == 0:
                    s += bc_lo[j, k]
                if i == n0 - 1:
                    s += bc_hi[j, k]
                d[i, j, k] = s


@nb.njit(inline="always", **_JIT)
def _neighbour_sum(x, g0, g1, g2, i, j, k, n0, n1, n2):
    s = 0.0
    if i > 0:
        s += g0[i - 1, j, k] * x[i - 1, j, k]
    if i + 1 < n0:
        s += g0[i, j, k] * x[i + 1, j, k]
    if j > 0:
        s += g1[i, j - 1, k] * x[i, j - 1, k]
    if j + 1 < n1:
        s += g1[i, j, k] * x[i, j + 1, k]
    if k > 0:
        s += g2[i, j, k - 1] * x[i, j, k - 1]
    if k + 1 < n2:
        s += g2[i, j, k] * x[i, j, k + 1]
    return s


@nb.njit(parallel=True, **_JIT)
def residual(x, b, g0, g1, g2, d, r):
    """r = b - A x (0 on inactive cells)."""
    n0, n1, n2 = x.shape
    for i in nb.prange(n0):
        for j in range(n1):
            for k in range(n2):
                if d[i, j, k] > 0.0:
                    r[i, j, k] = b[i, j, k] - d[i, j, k] * x[i, j, k] + _neighbour_sum(
                        x, g0, g1, g2, i, j, k, n0, n1, n2)
                else:
                    r[i, j, k] = 0.0


@nb.njit(parallel=True, **_JIT)
def apply_operator(x, g0, g1, g2, d, out):
    """out = A x (0 on inactive cells)."""
    n0, n1, n2 = x.shape
    for i in nb.prange(n0):
        for j in range(n1):
            for k in range(n2):
                if d[i, j, k] > 0.0:
                    out[i, j, k] = d[i, j, k] * x[i, j, k] - _neighbour_sum(
                        x, g0, g1, g2, i, j, k, n0, n1, n2)
                else:
                    out[i, j, k] = 0.0


@nb.njit(parallel=True, **_JIT)
def gauss_seidel_colour(x, b, g0, g1, g2, d, colour):
    """One half-sweep of red-black Gauss-Seidel over the cells with (i + j + k) % 2 == colour."""
    n0, n1, n2 = x.shape
    for i in nb.prange(n0):
        for j in range(n1):
            k0 = (colour + i + j) % 2
            for k in range(k0, n2, 2):
                dc = d[i, j, k]
                if dc > 0.0:
                    x[i, j, k] = (b[i, j, k] + _neighbour_sum(
                        x, g0, g1, g2, i, j, k, n0, n1, n2)) / dc


@nb.njit(parallel=True, **_JIT)
def restrict_sum(fine, coarse):
    """coarse[I, J, K] = Σ of fine over the 2×2×2 aggregate (piecewise-constant Pᵀ)."""
    c0, c1, c2 = coarse.shape
    n0, n1, n2 = fine.shape
    for ci in nb.prange(c0):
        for cj in range(c1):
            for ck in range(c2):
                s = 0.0
                for i in range(2 * ci, min(2 * ci + 2, n0)):
                    for j in range(2 * cj, min(2 * cj + 2, n1)):
                        for k in range(2 * ck, min(2 * ck + 2, n2)):
                            s += fine[i, j, k]
                coarse[ci, cj, ck] = s


@nb.njit(parallel=True, **_JIT)
def prolong_add(coarse, fine, d, scale):
    """fine += scale · coarse on the active cells of each aggregate (piecewise-constant P)."""
    n0, n1, n2 = fine.shape
    for i in nb.prange(n0):
        for j in range(n1):
            for k in range(n2):
                if d[i, j, k] > 0.0:
                    fine[i, j, k] += scale * coarse[i // 2, j // 2, k // 2]


@nb.njit(parallel=True, **_JIT)
def coarsen_faces(g0, g1, g2, bc_lo, bc_hi, c0g, c1g, c2g, cbc_lo, cbc_hi):
    """Galerkin coarse conductances Pᵀ A P for 2×2×2 aggregates: a coarse face carries the sum
    of the fine faces that cross it; faces inside an aggregate drop out; end terms add up."""
    n0, n1, n2 = g0.shape[0] + 1, g1.shape[1] + 1, g2.shape[2] + 1
    m0, m1, m2 = (n0 + 1) // 2, (n1 + 1) // 2, (n2 + 1) // 2
    for ci in nb.prange(m0):
        for cj in range(m1):
            for ck in range(m2):
                j_lo, j_hi = 2 * cj, min(2 * cj + 2, n1)
                k_lo, k_hi = 2 * ck, min(2 * ck + 2, n2)
                i_lo, i_hi = 2 * ci, min(2 * ci + 2, n0)
                if ci + 1 < m0:
                    s = 0.0
                    i = 2 * ci + 1
                    for j in range(j_lo, j_hi):
                        for k in range(k_lo, k_hi):
                            s += g0[i, j, k]
                    c0g[ci, cj, ck] = s
                if cj + 1 < m1:
                    s = 0.0
                    j = 2 * cj + 1
                    for i in range(i_lo, i_hi):
                        for k in range(k_lo, k_hi):
                            s += g1[i, j, k]
                    c1g[ci, cj, ck] = s
                if ck + 1 < m2:
                    s = 0.0
                    k = 2 * ck + 1
                    for i in range(i_lo, i_hi):
                        for j in range(j_lo, j_hi):
                            s += g2[i, j, k]
                    c2g[ci, cj, ck] = s
    for cj in nb.prange(m1):
        for ck in range(m2):
            lo = 0.0
            hi = 0.0
            for j in range(2 * cj, min(2 * cj + 2, n1)):
                for k in range(2 * ck, min(2 * ck + 2, n2)):
                    lo += bc_lo[j, k]
                    hi += bc_hi[j, k]
            cbc_lo[cj, ck] = lo
            cbc_hi[cj, ck] = hi


@nb.njit(parallel=True, **_JIT)
def dot(a, b):
    """Σ a·b over all cells."""
    fa = a.ravel()
    fb = b.ravel()
    s = 0.0
    for c in nb.prange(fa.size):
        s += fa[c] * fb[c]
    return s


@nb.njit(parallel=True, **_JIT)
def axpy(alpha, x, y):
    """y += alpha · x."""
    fx = x.ravel()
    fy = y.ravel()
    for c in nb.prange(fx.size):
        fy[c] += alpha * fx[c]


@nb.njit(parallel=True, **_JIT)
def xpby(x, beta, y):
    """y = x + beta · y."""
    fx = x.ravel()
    fy = y.ravel()
    for c in nb.prange(fx.size):
        fy[c] = fx[c] + beta * fy[c]


@nb.njit(**_JIT)
def dense_matrix(g0, g1, g2, d, index):
    """The operator on the active cells as a dense matrix (coarsest level); ``index`` maps a
    cell to its row (-1 if inactive)."""
    n0, n1, n2 = d.shape
    m = int(index.max()) + 1
    a = np.zeros((m, m))
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                r = index[i, j, k]
                if r < 0:
                    continue
                a[r, r] = d[i, j, k]
                if i + 1 < n0 and index[i + 1, j, k] >= 0:
                    c = index[i + 1, j, k]
                    a[r, c] -= g0[i, j, k]
                    a[c, r] -= g0[i, j, k]
                if j + 1 < n1 and index[i, j + 1, k] >= 0:
                    c = index[i, j + 1, k]
                    a[r, c] -= g1[i, j, k]
                    a[c, r] -= g1[i, j, k]
                if k + 1 < n2 and index[i, j, k + 1] >= 0:
                    c = index[i, j, k + 1]
                    a[r, c] -= g2[i, j, k]
                    a[c, r] -= g2[i, j, k]
    return a


@nb.njit(parallel=True, **_JIT)
def end_fluxes(x, bc_lo, bc_hi):
    """(flux in through the x=1 end, flux out through the x=0 end) for unit voxel edge."""
    n0 = x.shape[0]
    n1, n2 = bc_lo.shape
    f_in = 0.0
    f_out = 0.0
    for j in nb.prange(n1):
        for k in range(n2):
            f_in += bc_lo[j, k] * (1.0 - x[0, j, k])
            f_out += bc_hi[j, k] * x[n0 - 1, j, k]
    return f_in, f_out


@nb.njit(**_JIT)
def island_restrict(v, label, n_islands):
    """Zᵀ v: the sum of ``v`` over each island (``label`` >= 0 names the island)."""
    out = np.zeros(n_islands)
    fv = v.ravel()
    fl = label.ravel()
    for c in range(fv.size):
        if fl[c] >= 0:
            out[fl[c]] += fv[c]
    return out


@nb.njit(parallel=True, **_JIT)
def island_prolong_add(y, label, x, scale):
    """x += scale · Z y: add each island's value to its cells."""
    fx = x.ravel()
    fl = label.ravel()
    for c in nb.prange(fx.size):
        if fl[c] >= 0:
            fx[c] += scale * y[fl[c]]


@nb.njit(**_JIT)
def block_components(cls, block):
    """Label the connected pieces of each (block³ cell block) ∩ (conductivity class).

    ``cls`` is -1 for inactive cells and a class number otherwise; two face neighbours join
    when they share the block and the class.  Returns (label per cell, -1 if inactive; count).
    """
    n0, n1, n2 = cls.shape
    label = np.full(cls.shape, -1, np.int64)
    stack = np.empty((block * block * block, 3), np.int64)
    n = 0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if cls[i, j, k] < 0 or label[i, j, k] >= 0:
                    continue
                c = cls[i, j, k]
                bi, bj, bk = i // block, j // block, k // block
                label[i, j, k] = n
                top = 0
                stack[0, 0], stack[0, 1], stack[0, 2] = i, j, k
                top = 1
                while top > 0:
                    top -= 1
                    a, b, e = stack[top, 0], stack[top, 1], stack[top, 2]
                    for step in range(6):
                        p, q, r = a, b, e
                        if step == 0:
                            p -= 1
                        elif step == 1:
                            p += 1
                        elif step == 2:
                            q -= 1
                        elif step == 3:
                            q += 1
                        elif step == 4:
                            r -= 1
                        else:
                            r += 1
                        if p < 0 or q < 0 or r < 0 or p >= n0 or q >= n1 or r >= n2:
                            continue
                        if p // block != bi or q // block != bj or r // block != bk:
                            continue
                        if cls[p, q, r] != c or label[p, q, r] >= 0:
                            continue
                        label[p, q, r] = n
                        stack[top, 0], stack[top, 1], stack[top, 2] = p, q, r
                        top += 1
                n += 1
    return label, n


@nb.njit(**_JIT)
def _face_pass(label, g, axis, rows, cols, vals, diag, fill, count):
    n0, n1, n2 = g.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                w = g[i, j, k]
                if w <= 0.0:
                    continue
                ra = label[i, j, k]
                if axis == 0:
                    rb = label[i + 1, j, k]
                elif axis == 1:
                    rb = label[i, j + 1, k]
                else:
                    rb = label[i, j, k + 1]
                if ra == rb:
                    continue
                if fill:
                    rows[count], cols[count], vals[count] = ra, rb, -w
                    rows[count + 1], cols[count + 1], vals[count + 1] = rb, ra, -w
                    diag[ra] += w
                    diag[rb] += w
                count += 2
    return count


@nb.njit(**_JIT)
def region_operator(label, n_regions, g0, g1, g2, bc_lo, bc_hi):
    """Zᵀ A Z for region indicators Z: COO off-diagonal entries (duplicates to be summed) and
    the diagonal (crossing faces plus end terms)."""
    dummy_i = np.empty(0, np.int64)
    dummy_v = np.empty(0)
    diag = np.zeros(n_regions)
    m = 0
    for axis, g in ((0, g0), (1, g1), (2, g2)):
        m = _face_pass(label, g, axis, dummy_i, dummy_i, dummy_v, diag, False, m)
    rows = np.empty(m, np.int64)
    cols = np.empty(m, np.int64)
    vals = np.empty(m)
    m = 0
    for axis, g in ((0, g0), (1, g1), (2, g2)):
        m = _face_pass(label, g, axis, rows, cols, vals, diag, True, m)
    n0 = label.shape[0]
    for j in range(label.shape[1]):
        for k in range(label.shape[2]):
            if label[0, j, k] >= 0:
                diag[label[0, j, k]] += bc_lo[j, k]
            if label[n0 - 1, j, k] >= 0:
                diag[label[n0 - 1, j, k]] += bc_hi[j, k]
    return rows, cols, vals, diag


@nb.njit(parallel=True, **_JIT)
def refined_edt_pass(f, out, parity):
    """One separable pass (Felzenszwalb & Huttenlocher, Theory Comput. 8 (2012) 415) of the
    squared Euclidean distance transform of the image refined 2× per axis, along axis 0.

    ``f[i, j, k]`` is the squared distance [fine voxels²] so far of coarse voxel i's two fine
    sub-voxels along axis 0 (fine positions 2i and 2i+1; both carry it since the refinement
    copies each voxel; inf: no site), and ``out[i, j, k]`` receives the squared distance of
    the fine position 2i + ``parity`` to the nearest site along the line plus its value.
    Three passes (axes 0, 1, 2) with a parity each give the fine-grid distance map on one of
    the 8 fine sub-lattices, on coarse-sized arrays.
    """
    n0, n1, n2 = f.shape
    for j in nb.prange(n1):
        pos = np.empty(2 * n0)
        val = np.empty(2 * n0)
        z = np.empty(2 * n0 + 1)
        for k in range(n2):
            m = -1  # index of the last parabola of the lower envelope
            for s in range(2 * n0):
                fv = f[s // 2, j, k]
                if not np.isfinite(fv):
                    continue
                p = float(s)
                if m < 0:
                    m = 0
                    pos[0] = p
                    val[0] = fv
                    z[0] = -np.inf
                    z[1] = np.inf
                    continue
                cut = ((fv + p * p) - (val[m] + pos[m] * pos[m])) / (2.0 * (p - pos[m]))
                while cut <= z[m]:
                    m -= 1
                    cut = ((fv + p * p) - (val[m] + pos[m] * pos[m])) / (2.0 * (p - pos[m]))
                m += 1
                pos[m] = p
                val[m] = fv
                z[m] = cut
                z[m + 1] = np.inf
            if m < 0:
                for i in range(n0):
                    out[i, j, k] = np.inf
                continue
            e = 0
            for i in range(n0):
                q = float(2 * i + parity)
                while z[e + 1] < q:
                    e += 1
                d = q - pos[e]
                out[i, j, k] = d * d + val[e]
