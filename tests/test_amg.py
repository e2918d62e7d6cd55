"""The numba V-cycle (physics/amg.py) against pyamg's own cycle on the same hierarchy."""

from __future__ import annotations

import threading

import numpy as np
import pytest


def _variable_poisson(n: int = 14, contrast: float = 1e3, seed: int = 0):
    """7-point finite-volume operator with harmonic-mean face conductances on an n³ grid,
    two phases 1 and ``contrast``, plus a small positive diagonal (a storage term)."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    k = np.where(rng.random((n, n, n)) < 0.5, 1.0, contrast)
    idx = np.arange(n ** 3).reshape(n, n, n)
    rows, cols, vals = [], [], []
    for axis in range(3):
        lo = np.take(idx, np.arange(n - 1), axis=axis).ravel()
        hi = np.take(idx, np.arange(1, n), axis=axis).ravel()
        ka, kb = k.ravel()[lo], k.ravel()[hi]
        g = 2 * ka * kb / (ka + kb)
        rows += [lo, hi, lo, hi]
        cols += [lo, hi, hi, lo]
        vals += [g, g, -g, -g]
    a = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n ** 3, n ** 3))
    return (a + sparse.identity(n ** 3) * 1e-2).tocsr()


def test_v_cycle_equals_pyamgs_cycle_with_the_same_smoothers():
    import pyamg

    from physics.amg import VCycle

    a = _variable_poisson()
    cycle = VCycle(a, max_coarse=50)
    assert cycle.levels >= 3
    ml = pyamg.ruge_stuben_solver(a, max_coarse=50,
                                  presmoother=("gauss_seidel", {"sweep": "forward"}),
                                  postsmoother=("gauss_seidel", {"sweep": "backward"}))
    reference = ml.aspreconditioner(cycle="V")
    b = np.random.default_rng(1).standard_normal(a.shape[0])
    np.testing.assert_allclose(cycle(b), reference.matvec(b), rtol=1e-12,
                               atol=1e-12 * np.abs(reference.matvec(b)).max())
    assert cycle.operator_complexity == pytest.approx(ml.operator_complexity())


def test_v_cycle_preconditions_cg_and_runs_in_two_threads():
    from scipy.sparse import linalg as sla

    from physics.amg import VCycle

    a = _variable_poisson(seed=2)
    cycle = VCycle(a, max_coarse=50)
    b = np.random.default_rng(3).standard_normal(a.shape[0])
    count = [0]
    m = sla.LinearOperator(a.shape, matvec=cycle)
    x, info = sla.cg(a, b, rtol=1e-10, M=m, callback=lambda _: count.__setitem__(0, count[0] + 1))
    assert info == 0 and np.linalg.norm(a @ x - b) <= 1e-9 * np.linalg.norm(b)
    assert count[0] < 30  # measured 16; unpreconditioned CG needs 1021 at this contrast
    out = [None, None]

    def work(i):
        out[i] = cycle(b)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], cycle(b))
