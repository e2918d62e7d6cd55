"""Random non-overlapping placement of polydisperse spheres in a box."""

from __future__ import annotations

import numpy as np

from physics.engine._placement_kernels import place_spheres


def random_placement(radius_um, box_lo, box_hi, periodic=(True, True, True), *, seed: int,
                     gap_um: float = 0.0, max_tries: int = 100_000,
                     margin_um=None) -> np.ndarray:
    """Uniform random positions [µm] with no two spheres closer than r_i + r_j + ``gap_um``.

    On non-periodic axes each centre keeps ``margin_um[i]`` (default: its radius) from the box
    faces.

    Spheres are inserted largest first (random sequential addition), which reaches solid
    fractions of ~0.4 for the AM + CBD size mix.  Deterministic for a given ``seed``.

    Raises:
        ValueError: when some sphere cannot be placed in ``max_tries`` attempts (box too full or
            smaller than a sphere).
    """
    radius = np.asarray(radius_um, dtype=np.float64)
    if radius.ndim != 1 or radius.size == 0 or np.any(radius <= 0):
        raise ValueError("radius_um: a non-empty 1-D array of radii > 0 µm is required")
    lo = np.asarray(box_lo, dtype=np.float64)
    length = np.asarray(box_hi, dtype=np.float64) - lo
    if np.any(length <= 0):
        raise ValueError(f"box_hi - box_lo = {length}; each length must be > 0 µm")
    margin = radius if margin_um is None else np.broadcast_to(
        np.asarray(margin_um, dtype=np.float64), radius.shape)
    order = np.argsort(-radius, kind="stable")
    pos_sorted, n_placed = place_spheres(radius[order], np.ascontiguousarray(margin[order]), lo,
                                         length,
                                         np.asarray(periodic, dtype=np.bool_), float(gap_um),
                                         int(max_tries), int(seed) % (2**32))
    if n_placed < radius.size:
        solid = float(np.sum(4.0 / 3.0 * np.pi * radius**3) / np.prod(length))
        raise ValueError(
            f"random_placement: placed {n_placed} of {radius.size} spheres; the box "
            f"{tuple(length)} µm is too small for them (solid fraction {solid:.3f}; random "
            "sequential addition stalls near 0.4)")
    position = np.empty_like(pos_sorted)
    position[order] = pos_sorted
    return position
