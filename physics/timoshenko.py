"""Timoshenko beam finite elements: the exact two-node element with interdependent
interpolation (cubic deflection, quadratic rotation), φ = 12 EI / (κ G A l²)
(D. Z. Friedman & R. M. Kosmatka, Comput. Struct. 47 (1993) 473), which reproduces the
homogeneous beam exactly, and Cowper's shear coefficient.  Units SI (m, N).  Used by the roll
model of :mod:`physics.crown`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

_GAUSS = np.polynomial.legendre.leggauss(4)


def cowper_shear_coefficient(poisson_ratio: float, bore_ratio: float = 0.0) -> float:
    """Cowper's (1966) Timoshenko shear coefficient of a hollow circle, m = d_i / D."""
    nu, m2 = poisson_ratio, bore_ratio ** 2
    return 6 * (1 + nu) * (1 + m2) ** 2 / ((7 + 6 * nu) * (1 + m2) ** 2 + (20 + 12 * nu) * m2)


def element_stiffness(length_m: float, ei: float, kga: float) -> np.ndarray:
    """4 x 4 stiffness of the exact two-node Timoshenko element, dofs (w1, θ1, w2, θ2)."""
    L, phi = length_m, 12.0 * ei / (kga * length_m ** 2)
    c = ei / ((1.0 + phi) * L ** 3)
    return c * np.array([
        [12.0, 6 * L, -12.0, 6 * L],
        [6 * L, (4 + phi) * L ** 2, -6 * L, (2 - phi) * L ** 2],
        [-12.0, -6 * L, 12.0, -6 * L],
        [6 * L, (2 - phi) * L ** 2, -6 * L, (4 + phi) * L ** 2]])


def element_shape(xi: np.ndarray, length_m: float, phi: float) -> np.ndarray:
    """The element's deflection interpolation (k, 4) at ξ = x / l in [0, 1]."""
    x = np.asarray(xi, dtype=float)
    c, L = 1.0 / (1.0 + phi), length_m
    return np.stack([
        c * (2 * x ** 3 - 3 * x ** 2 - phi * x + 1 + phi),
        c * L * (x ** 3 - (2 + phi / 2) * x ** 2 + (1 + phi / 2) * x),
        -c * (2 * x ** 3 - 3 * x ** 2 - phi * x),
        c * L * (x ** 3 - (1 - phi / 2) * x ** 2 - (phi / 2) * x)], axis=-1)


@dataclass(frozen=True)
class TimoshenkoBeam:
    """A beam of piecewise-constant section on the nodes ``nodes_m`` (n,): ``ei_n_m2`` and
    ``kga_n`` per element (n - 1,); dofs (w_i, θ_i) interleaved."""

    nodes_m: np.ndarray
    ei_n_m2: np.ndarray
    kga_n: np.ndarray

    @property
    def n_dofs(self) -> int:
        return 2 * len(self.nodes_m)

    def stiffness(self):
        """The assembled stiffness (n_dofs, n_dofs), scipy sparse CSC."""
        from scipy.sparse import coo_matrix

        rows, cols, vals = [], [], []
        for e, (a, b) in enumerate(itertools.pairwise(self.nodes_m)):
            dofs = np.arange(2 * e, 2 * e + 4)
            rows.append(np.repeat(dofs, 4))
            cols.append(np.tile(dofs, 4))
            vals.append(element_stiffness(b - a, self.ei_n_m2[e], self.kga_n[e]).ravel())
        return coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(self.n_dofs, self.n_dofs)).tocsc()

    def deflection_at(self, dofs: np.ndarray, x_m) -> np.ndarray:
        """w at the points ``x_m`` through each element's own interpolation [m]."""
        x = np.atleast_1d(np.asarray(x_m, dtype=float))
        e = np.clip(np.searchsorted(self.nodes_m, x, side="right") - 1, 0,
                    len(self.nodes_m) - 2)
        a, L = self.nodes_m[e], np.diff(self.nodes_m)[e]
        phi = 12 * self.ei_n_m2[e] / (self.kga_n[e] * L ** 2)
        out = np.empty_like(x)
        for k in range(len(x)):
            n = element_shape(np.array([(x[k] - a[k]) / L[k]]), L[k], phi[k])[0]
            out[k] = n @ dofs[2 * e[k]:2 * e[k] + 4]
        return out

    def gauss(self, elements: np.ndarray | None = None):
        """(x (m,), weights (m,), N (m, n_dofs) sparse CSR) at 4 Gauss points of each element
        in ``elements`` (default all)."""
        from scipy.sparse import csr_matrix

        elements = np.arange(len(self.nodes_m) - 1) if elements is None else elements
        xg, wg = _GAUSS
        xi = 0.5 * (xg + 1.0)
        xs, ws, vals, cols = [], [], [], []
        for e in elements:
            a, b = self.nodes_m[e], self.nodes_m[e + 1]
            L = b - a
            vals.append(element_shape(xi, L, 12 * self.ei_n_m2[e] / (self.kga_n[e] * L ** 2)))
            cols.append(np.broadcast_to(np.arange(2 * e, 2 * e + 4), (len(xi), 4)))
            xs.append(a + xi * L)
            ws.append(0.5 * L * wg)
        m = len(elements) * len(xi)
        n = csr_matrix((np.concatenate(vals).ravel(), np.concatenate(cols).ravel(),
                        np.arange(0, 4 * m + 1, 4)), shape=(m, self.n_dofs))
        return np.concatenate(xs), np.concatenate(ws), n


def segment_nodes(breaks: list[float], size: float) -> np.ndarray:
    """Nodes through the sorted ``breaks``, each segment cut into equal elements of at most
    ``size``."""
    out = [breaks[0]]
    for a, b in itertools.pairwise(breaks):
        n = max(1, math.ceil((b - a) / size - 1e-9))
        out.extend(np.linspace(a, b, n + 1)[1:])
    return np.array(out)
