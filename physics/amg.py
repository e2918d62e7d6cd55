"""One V-cycle of a classical (Ruge–Stüben) algebraic-multigrid hierarchy as a
preconditioner, applied by numba kernels that release the GIL.

The hierarchy (C/F splitting, interpolation P, R = Pᵀ, Galerkin coarse operators) is set up
by pyamg (``pyamg.ruge_stuben_solver``); :class:`VCycle` applies it: one forward
Gauss–Seidel sweep down, the coarsest level by its pseudo-inverse, one backward sweep up,
from a zero start, the same cycle as pyamg's ``aspreconditioner(cycle="V")`` with those
smoothers (tests/test_amg.py checks it to 1e-12).  Why not pyamg's own cycle: its C++
kernels hold the GIL, so the V-cycles of two independent blocks in two threads ran 1.28×
faster than in one instead of ~2× (:class:`physics.cell3d.BlockPreconditioner` runs the
solid block's cycle beside the electrolyte's).
"""

from __future__ import annotations

import numpy as np

from physics import _amg_kernels as kern


def _csr(a) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = a.tocsr()
    a.sort_indices()
    return (a.indptr.astype(np.int64), a.indices.astype(np.int64),
            np.ascontiguousarray(a.data, dtype=np.float64))


class VCycle:
    """x = M⁻¹ b by one V-cycle of the Ruge–Stüben hierarchy of the sparse matrix ``a``
    (symmetric positive definite; ``max_coarse`` unknowns or fewer on the coarsest level,
    solved by its pseudo-inverse)."""

    def __init__(self, a, max_coarse: int = 400) -> None:
        import pyamg

        ml = pyamg.ruge_stuben_solver(a.tocsr(), max_coarse=max_coarse)
        self.a = [_csr(level.A) for level in ml.levels]
        self.p = [_csr(level.P) for level in ml.levels[:-1]]
        self.r = [_csr(level.R) for level in ml.levels[:-1]]
        self.coarse_inverse = np.ascontiguousarray(
            np.linalg.pinv(ml.levels[-1].A.toarray()))
        self.operator_complexity = float(ml.operator_complexity())

    @property
    def levels(self) -> int:
        return len(self.a)

    def __call__(self, b: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.ascontiguousarray(b, dtype=np.float64))

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        x = np.zeros_like(b)
        if level == len(self.a) - 1:
            kern.dense_matvec(self.coarse_inverse, b, x)
            return x
        a = self.a[level]
        kern.gauss_seidel(*a, x, b, True)
        res = np.empty_like(b)
        kern.residual(*a, x, b, res)
        coarse_b = np.empty(self.r[level][0].size - 1)
        kern.matvec(*self.r[level], res, coarse_b, False)
        kern.matvec(*self.p[level], self._cycle(level + 1, coarse_b), x, True)
        kern.gauss_seidel(*a, x, b, False)
        return x
