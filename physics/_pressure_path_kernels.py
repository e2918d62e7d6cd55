"""numba kernels of the reduced layer-wise compaction model (physics/pressure_path.py): state
integration, costate integration and the minimization of the Hamiltonian.  Arrays and scalars
only; the law is passed as (ε0, ε_min, K0, m), the sub-layers as their shape factors c and
attenuations a."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
M_FLOOR = 1e-6  # physics.compaction.M_FLOOR: below it the law is exponential


@nb.njit(**_JIT)
def law_porosity(q, e0, e_min, k0, m):
    """ε(q) = ε_min + (ε0 - ε_min)(1 + m q/K0)^(-1/m) (exp(-q/K0) for m -> 0)."""
    if m < M_FLOOR:
        decay = math.exp(-q / k0)
    else:
        decay = (1.0 + m * q / k0) ** (-1.0 / m)
    return e_min + (e0 - e_min) * decay


@nb.njit(**_JIT)
def hinge(x, width):
    """The smooth rectifier s_δ: 0 for x <= 0, x²/(2δ) below δ, x - δ/2 above (C¹)."""
    if x <= 0.0:
        return 0.0
    if x < width:
        return 0.5 * x * x / width
    return x - 0.5 * width


@nb.njit(**_JIT)
def hinge_slope(x, width):
    """s'_δ(x): 0, x/δ, 1."""
    if x <= 0.0:
        return 0.0
    if x < width:
        return x / width
    return 1.0


@nb.njit(**_JIT)
def _equilibrium(p, shape, atten, e0, e_min, k0, m, out):
    for i in range(shape.size):
        out[i] = shape[i] * law_porosity(atten[i] * p, e0, e_min, k0, m)


@nb.njit(**_JIT)
def simulate(pressure, initial, shape, atten, e0, e_min, k0, m, da, width, sub):
    """Porosities (B, n + 1, N) for pressures (B, n) on n equal intervals of [0, 1] from
    ``initial`` (N,): RK4 on dε_i/dt = -Da s(ε_i - c_i ε(a_i p)), ``sub`` steps per
    interval."""
    n_batch, n = pressure.shape
    n_layers = shape.size
    eps = np.empty((n_batch, n + 1, n_layers))
    eq = np.empty(n_layers)
    h = 1.0 / (n * sub)
    for b in range(n_batch):
        for i in range(n_layers):
            eps[b, 0, i] = initial[i]
        for k in range(n):
            _equilibrium(pressure[b, k], shape, atten, e0, e_min, k0, m, eq)
            for i in range(n_layers):
                y = eps[b, k, i]
                e = eq[i]
                for _ in range(sub):
                    k1 = -da * hinge(y - e, width)
                    k2 = -da * hinge(y + 0.5 * h * k1 - e, width)
                    k3 = -da * hinge(y + 0.5 * h * k2 - e, width)
                    k4 = -da * hinge(y + h * k3 - e, width)
                    y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
                eps[b, k + 1, i] = y
    return eps


@nb.njit(**_JIT)
def costate(pressure, eps, final, shape, atten, e0, e_min, k0, m, da, width):
    """λ (n + 1, N) backward from λ(1) = ``final``: λ̇_i = λ_i Da s'(ε_i - c_i ε(a_i p)),
    exact per interval with the rate averaged over its two ends (trapezoid)."""
    n = pressure.size
    n_layers = shape.size
    lam = np.empty((n + 1, n_layers))
    eq = np.empty(n_layers)
    dt = 1.0 / n
    for i in range(n_layers):
        lam[n, i] = final[i]
    for k in range(n - 1, -1, -1):
        _equilibrium(pressure[k], shape, atten, e0, e_min, k0, m, eq)
        for i in range(n_layers):
            g0 = hinge_slope(eps[k, i] - eq[i], width)
            g1 = hinge_slope(eps[k + 1, i] - eq[i], width)
            lam[k, i] = lam[k + 1, i] * math.exp(-0.5 * dt * da * (g0 + g1))
    return lam


@nb.njit(**_JIT)
def _hamiltonian(p, weight, eps, lam, shape, atten, e0, e_min, k0, m, da, width):
    """H(p) = weight p² + Σ λ_i (-Da s(ε_i - c_i ε(a_i p))) for one interval."""
    h = weight * p * p
    for i in range(shape.size):
        e = shape[i] * law_porosity(atten[i] * p, e0, e_min, k0, m)
        h -= lam[i] * da * hinge(eps[i] - e, width)
    return h


@nb.njit(**_JIT)
def minimize_hamiltonian(eps, lam, weight, grid, shape, atten, e0, e_min, k0, m, da, width,
                         tol, prox, centre):
    """argmin over [grid[0], grid[-1]] of H + prox/2 (p - centre)² per interval (states and
    costates (n, N), penalty weights and centres (n,)): the best grid point, then golden-
    section search between its neighbours down to ``tol`` [MPa]; the grid point is kept if
    it is lower.  Returns (argmin (n,), its H (n,))."""
    n = eps.shape[0]
    g = grid.size
    out = np.empty(n)
    value = np.empty(n)
    for k in range(n):
        best, j = np.inf, 0
        for q in range(g):
            v = _hamiltonian(grid[q], weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0,
                             m, da, width) + 0.5 * prox * (grid[q] - centre[k]) ** 2
            if v < best:
                best, j = v, q
        a = grid[max(j - 1, 0)]
        b = grid[min(j + 1, g - 1)]
        c = b - _GOLDEN * (b - a)
        d = a + _GOLDEN * (b - a)
        hc = _hamiltonian(c, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0, m, da,
                          width) + 0.5 * prox * (c - centre[k]) ** 2
        hd = _hamiltonian(d, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0, m, da,
                          width) + 0.5 * prox * (d - centre[k]) ** 2
        while b - a > tol:
            if hc < hd:
                b, d, hd = d, c, hc
                c = b - _GOLDEN * (b - a)
                hc = _hamiltonian(c, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0,
                                  m, da, width) + 0.5 * prox * (c - centre[k]) ** 2
            else:
                a, c, hc = c, d, hd
                d = a + _GOLDEN * (b - a)
                hd = _hamiltonian(d, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0,
                                  m, da, width) + 0.5 * prox * (d - centre[k]) ** 2
        x = 0.5 * (a + b)
        hx = _hamiltonian(x, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0, m, da,
                          width) + 0.5 * prox * (x - centre[k]) ** 2
        if hx > best:
            x = grid[j]
        out[k] = x
        value[k] = _hamiltonian(x, weight[k], eps[k], lam[k], shape, atten, e0, e_min, k0, m,
                                da, width)
    return out, value


@nb.njit(**_JIT)
def hamiltonian_values(pressure, eps, lam, weight, shape, atten, e0, e_min, k0, m, da, width):
    """H at each interval's pressure (n,) with its state, costate (n, N) and weight (n,)."""
    n = pressure.size
    out = np.empty(n)
    for k in range(n):
        out[k] = _hamiltonian(pressure[k], weight[k], eps[k], lam[k], shape, atten, e0, e_min,
                              k0, m, da, width)
    return out
