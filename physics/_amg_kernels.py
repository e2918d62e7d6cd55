"""numba kernels of the algebraic-multigrid V-cycle (orchestration in :mod:`physics.amg`).

Matrices are CSR arrays (indptr, indices, data).  The kernels are serial and release the
GIL (``nogil``), so that the V-cycles of two independent blocks run in two threads at once.
"""

from __future__ import annotations

import numba as nb

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


@nb.njit(**_JIT)
def gauss_seidel(indptr, indices, data, x, b, forward):
    """One Gauss–Seidel sweep on A x = b in place, rows in order (``forward``) or reversed:
    x_i = (b_i − Σ_{j≠i} A_ij x_j) / A_ii; a row without diagonal is left as it is."""
    n = x.size
    for step in range(n):
        i = step if forward else n - 1 - step
        s = b[i]
        diag = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if j == i:
                diag += data[jj]
            else:
                s -= data[jj] * x[j]
        if diag != 0.0:
            x[i] = s / diag


@nb.njit(**_JIT)
def residual(indptr, indices, data, x, b, r):
    """r = b − A x."""
    for i in range(r.size):
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        r[i] = s


@nb.njit(**_JIT)
def matvec(indptr, indices, data, x, out, add):
    """out = A x, or out += A x where ``add``."""
    for i in range(out.size):
        s = out[i] if add else 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            s += data[jj] * x[indices[jj]]
        out[i] = s


@nb.njit(**_JIT)
def dense_matvec(m, x, out):
    """out = M x for a small dense M (the coarsest level's inverse)."""
    n, k = m.shape
    for i in range(n):
        s = 0.0
        for j in range(k):
            s += m[i, j] * x[j]
        out[i] = s
