"""One-dimensional linear finite elements: the building blocks of the half-cell model.

The cell model discretizes two kinds of 1-D problems with continuous piecewise-linear elements:
through the thickness (Cartesian, x) and along each particle radius (spherical, r, weight r²).
For the weak form of  w ∂u/∂t = ∂/∂x (w k ∂u/∂x) + sources  with weight w = 1 or r², this module
assembles the exact element integrals

    M_ij = ∫ w φ_i φ_j dx        (consistent mass)
    K_ij = ∫ w k φ_i' φ_j' dx    (stiffness, k piecewise constant per element)

as tridiagonal sparse matrices, and graded meshes that refine toward the ends where the
gradients sit (the particle surface, the separator and current-collector sides).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

GEOMETRIES = ("cartesian", "spherical")


def graded_nodes(length: float, n_elements: int, ratio: float = 1.0,
                 refine: str = "end") -> np.ndarray:
    """Nodes on [0, length] with element sizes in geometric progression.

    Args:
        length: domain length (> 0).
        n_elements: number of elements (>= 1).
        ratio: size of the last element / size of the first (refine="end": < 1 refines the
            end; refine="both": the middle element / the end elements, symmetric).
        refine: "end" (grade toward x = length, e.g. a particle surface) or "both".
    """
    if not (length > 0) or n_elements < 1 or not (ratio > 0):
        raise ValueError("graded_nodes: need length > 0, n_elements >= 1, ratio > 0")
    if refine == "end":
        q = ratio ** (1.0 / max(n_elements - 1, 1))
        sizes = q ** np.arange(n_elements)
    elif refine == "both":
        half = np.arange(n_elements)
        dist = np.minimum(half, n_elements - 1 - half)
        top = max(int(dist.max()), 1)
        sizes = ratio ** (dist / top)
    else:
        raise ValueError(f"refine must be 'end' or 'both', got {refine!r}")
    nodes = np.concatenate([[0.0], np.cumsum(sizes)])
    return nodes * (length / nodes[-1])


def two_sided_nodes(length: float, n_min: int, end_size: float,
                    growth: float = 1.2) -> np.ndarray:
    """Nodes on [0, length] whose elements are ``end_size`` at both ends and grow by
    ``growth`` per element towards the middle up to length / n_min (boundary layers at both
    ends, e.g. a reaction zone at the current collector of a poorly conducting electrode).
    With end_size >= length / n_min: n_min uniform elements."""
    if not (length > 0) or n_min < 1 or not (end_size > 0) or not growth > 1:
        raise ValueError("two_sided_nodes: need length > 0, n_min >= 1, end_size > 0, "
                         "growth > 1")
    h_max = length / n_min
    if end_size >= h_max:
        return graded_nodes(length, n_min)
    ramp = end_size * growth ** np.arange(int(np.ceil(np.log(h_max / end_size)
                                                      / np.log(growth))))
    ramp = ramp[ramp < h_max]
    middle = length - 2.0 * ramp.sum()
    if middle <= 0:  # the two ramps meet: geometric from both ends, scaled to fit
        k = max(int(np.searchsorted(np.cumsum(ramp), 0.5 * length)), 1)
        sizes = np.concatenate([ramp[:k], ramp[:k][::-1]])
    else:
        n_mid = max(int(np.ceil(middle / h_max)), 1)
        sizes = np.concatenate([ramp, np.full(n_mid, middle / n_mid), ramp[::-1]])
    nodes = np.concatenate([[0.0], np.cumsum(sizes)])
    return nodes * (length / nodes[-1])


def _int_r2_phi2(a, b, h, left: bool):
    """∫_a^b r² φ² dr with φ = (b - r)/h (left) or (r - a)/h (right)."""
    # substitute s = (r - a)/h in [0, 1], r = a + h s
    # left: ∫ (a + h s)² (1 - s)² h ds ; right: ∫ (a + h s)² s² h ds
    if left:
        return h * (a * a / 3.0 + a * h / 6.0 + h * h / 30.0)
    return h * (a * a / 3.0 + a * h / 2.0 + h * h / 5.0)


def _int_r2_phiab(a, b, h):
    """∫_a^b r² φ_left φ_right dr."""
    return h * (a * a / 6.0 + a * h / 6.0 + h * h / 20.0)


def _int_r2(a, b):
    return (b ** 3 - a ** 3) / 3.0


def mass_matrix(nodes: np.ndarray, geometry: str = "cartesian") -> sparse.csr_matrix:
    """Consistent mass matrix M_ij = ∫ w φ_i φ_j (w = 1 or r²)."""
    a, b = nodes[:-1], nodes[1:]
    h = b - a
    if geometry == "cartesian":
        maa, mab, mbb = h / 3.0, h / 6.0, h / 3.0
    elif geometry == "spherical":
        maa, mab, mbb = _int_r2_phi2(a, b, h, True), _int_r2_phiab(a, b, h), \
            _int_r2_phi2(a, b, h, False)
    else:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    return _assemble(nodes.size, maa, mab, mbb)


def stiffness_matrix(nodes: np.ndarray, k_per_element=1.0,
                     geometry: str = "cartesian") -> sparse.csr_matrix:
    """Stiffness matrix K_ij = ∫ w k φ_i' φ_j' (k constant on each element)."""
    a, b = nodes[:-1], nodes[1:]
    h = b - a
    k = np.broadcast_to(np.asarray(k_per_element, dtype=float), h.shape)
    if geometry == "cartesian":
        wint = h
    elif geometry == "spherical":
        wint = _int_r2(a, b)
    else:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    s = k * wint / (h * h)  # φ' = ∓1/h on the element
    return _assemble(nodes.size, s, -s, s)


def _assemble(n: int, daa, dab, dbb) -> sparse.csr_matrix:
    diag = np.zeros(n)
    diag[:-1] += daa
    diag[1:] += dbb
    return sparse.diags([dab, diag, dab], [-1, 0, 1], format="csr")
