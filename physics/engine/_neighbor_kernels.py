"""numba kernels: multi-class cell lists and half Verlet neighbour lists.

Polydisperse packings (AM 2-10 µm next to 1.3 µm CBD) defeat a single cell grid: cells sized for
the largest pair cutoff hold dozens of small particles each.  Particles are therefore split into
size classes (reach ratio <= 2 inside a class), each class gets its own grid with cells as large
as its own largest self-cutoff, and a particle of a smaller class looks for partners of a larger
class in that class's grid with a 3×3×3 stencil (LAMMPS ``neighbor multi``).  Every pair is
found exactly once: same-class pairs with ``j > i``, cross-class pairs from the smaller class.
The cost is O(N) for any size ratio.

A pair (i, j) is listed when |r_ij| < reach_i + reach_j + skin, with the reach of a particle the
larger of its contact radius and half its Lennard-Jones cut-off (cut-offs mix arithmetically).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@nb.njit(inline="always", **_JIT)
def _cell_coord(x, origin, size, n, periodic):
    """Cell index of coordinate ``x`` along one axis (wrapped or clamped)."""
    k = int(math.floor((x - origin) / size))
    if periodic:
        return k % n
    if k < 0:
        return 0
    if k >= n:
        return n - 1
    return k


@nb.njit(**_JIT)
def bin_members(pos, members, origin, cell_size, n_cell, periodic):
    """Counting sort of ``members`` into a cell grid.

    Returns ``(cell_start, cell_items)``: the members of flat cell c are
    ``cell_items[cell_start[c]:cell_start[c + 1]]``.  Coordinates outside a non-periodic grid are
    clamped into the boundary cells.
    """
    n_cells = n_cell[0] * n_cell[1] * n_cell[2]
    cell_of = np.empty(members.shape[0], dtype=np.int64)
    counts = np.zeros(n_cells + 1, dtype=np.int64)
    for m in range(members.shape[0]):
        i = members[m]
        c0 = _cell_coord(pos[i, 0], origin[0], cell_size[0], n_cell[0], periodic[0])
        c1 = _cell_coord(pos[i, 1], origin[1], cell_size[1], n_cell[1], periodic[1])
        c2 = _cell_coord(pos[i, 2], origin[2], cell_size[2], n_cell[2], periodic[2])
        flat = (c0 * n_cell[1] + c1) * n_cell[2] + c2
        cell_of[m] = flat
        counts[flat + 1] += 1
    for c in range(n_cells):
        counts[c + 1] += counts[c]
    cursor = counts[:-1].copy()
    items = np.empty(members.shape[0], dtype=np.int64)
    for m in range(members.shape[0]):
        items[cursor[cell_of[m]]] = members[m]
        cursor[cell_of[m]] += 1
    return counts, items


@nb.njit(inline="always", **_JIT)
def _axis_range(k, n, reach_cells, periodic):
    """First offset and number of distinct neighbouring cells along one axis."""
    if periodic and n <= 2 * reach_cells:
        return -k, n  # visit every cell once
    return -reach_cells, 2 * reach_cells + 1


@nb.njit(parallel=True, **_JIT)
def scan_pairs(pos, reach, queries, same_class, cell_start, cell_items, origin, cell_size,
               n_cell, stencil, periodic, box_len, skin, counts, out_j, cursor, fill):
    """Count (``fill`` False) or write (``fill`` True) the partners of each query particle.

    ``queries`` are searched against one class grid (``cell_start``, ``cell_items``).  When
    ``same_class`` only partners ``j > i`` are kept.  Counting adds to ``counts[i]``; filling
    writes ``out_j[cursor[i]]`` and advances ``cursor[i]``.
    """
    for q in nb.prange(queries.shape[0]):
        i = queries[q]
        c0 = _cell_coord(pos[i, 0], origin[0], cell_size[0], n_cell[0], periodic[0])
        c1 = _cell_coord(pos[i, 1], origin[1], cell_size[1], n_cell[1], periodic[1])
        c2 = _cell_coord(pos[i, 2], origin[2], cell_size[2], n_cell[2], periodic[2])
        o0, m0 = _axis_range(c0, n_cell[0], stencil[0], periodic[0])
        o1, m1 = _axis_range(c1, n_cell[1], stencil[1], periodic[1])
        o2, m2 = _axis_range(c2, n_cell[2], stencil[2], periodic[2])
        found = 0
        for a0 in range(m0):
            x = c0 + o0 + a0
            if periodic[0]:
                x %= n_cell[0]
            elif x < 0 or x >= n_cell[0]:
                continue
            for a1 in range(m1):
                y = c1 + o1 + a1
                if periodic[1]:
                    y %= n_cell[1]
                elif y < 0 or y >= n_cell[1]:
                    continue
                for a2 in range(m2):
                    z = c2 + o2 + a2
                    if periodic[2]:
                        z %= n_cell[2]
                    elif z < 0 or z >= n_cell[2]:
                        continue
                    flat = (x * n_cell[1] + y) * n_cell[2] + z
                    for s in range(cell_start[flat], cell_start[flat + 1]):
                        j = cell_items[s]
                        if same_class and j <= i:
                            continue
                        dx = pos[i, 0] - pos[j, 0]
                        dy = pos[i, 1] - pos[j, 1]
                        dz = pos[i, 2] - pos[j, 2]
                        if periodic[0]:
                            dx -= box_len[0] * np.rint(dx / box_len[0])
                        if periodic[1]:
                            dy -= box_len[1] * np.rint(dy / box_len[1])
                        if periodic[2]:
                            dz -= box_len[2] * np.rint(dz / box_len[2])
                        cut = reach[i] + reach[j] + skin
                        if dx * dx + dy * dy + dz * dz < cut * cut:
                            if fill:
                                out_j[cursor[i]] = j
                                cursor[i] += 1
                            else:
                                found += 1
        if not fill:
            counts[i] += found


@nb.njit(parallel=True, **_JIT)
def sort_segments(offsets, pair_j, pair_i):
    """Sort each owner's partners ascending and write the owner index into ``pair_i``."""
    n = offsets.shape[0] - 1
    for i in nb.prange(n):
        a = offsets[i]
        b = offsets[i + 1]
        for k in range(a + 1, b):  # insertion sort: segments are short
            v = pair_j[k]
            m = k - 1
            while m >= a and pair_j[m] > v:
                pair_j[m + 1] = pair_j[m]
                m -= 1
            pair_j[m + 1] = v
        for k in range(a, b):
            pair_i[k] = i


@nb.njit(inline="always", **_JIT)
def _find(sorted_j, a, b, value):
    """Index of ``value`` in ``sorted_j[a:b]`` (ascending) or -1."""
    lo = a
    hi = b
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_j[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    if lo < b and sorted_j[lo] == value:
        return lo
    return -1


@nb.njit(parallel=True, **_JIT)
def transfer_history(new_i, new_j, new_hist, old_offsets, old_j, old_hist, flip):
    """Copy contact histories from the previous list into the new one.

    A pair stored as (i, j) before keeps its history; a pair whose owner swapped (classes
    changed) gets ``flip[a]`` × column a (-1 for vectors of i relative to j, e.g. ξ; +1 for
    scalars, e.g. δ_max).
    """
    n_col = new_hist.shape[1]
    for k in nb.prange(new_i.shape[0]):
        i = new_i[k]
        j = new_j[k]
        m = _find(old_j, old_offsets[i], old_offsets[i + 1], j)
        if m >= 0:
            for a in range(n_col):
                new_hist[k, a] = old_hist[m, a]
            continue
        m = _find(old_j, old_offsets[j], old_offsets[j + 1], i)
        if m >= 0:
            for a in range(n_col):
                new_hist[k, a] = flip[a] * old_hist[m, a]
        else:
            for a in range(n_col):
                new_hist[k, a] = 0.0
