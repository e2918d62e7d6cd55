"""numba kernel: random sequential placement of non-overlapping spheres."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@nb.njit(**_JIT)
def place_spheres(radius, margin, box_lo, box_len, periodic, gap, max_tries, seed):
    """Place spheres (given in decreasing radius order) one by one at uniform random positions.

    A candidate is accepted when it overlaps no placed sphere (centre distance >=
    r_i + r_j + gap) and, on non-periodic axes, lies at least ``margin[i]`` inside the box.
    Candidates are checked against a cell grid of spacing 2 r_min + gap (a cell may be visited
    twice in a small periodic box, which only repeats a check).

    Returns ``(position, n_placed)``; ``n_placed < len(radius)`` means ``max_tries`` failed
    attempts in a row for sphere ``n_placed`` (the box is too full).
    """
    np.random.seed(seed)
    n = radius.shape[0]
    pos = np.zeros((n, 3))
    r_max = radius.max()
    h = 2.0 * radius.min() + gap
    n_cell = np.empty(3, dtype=np.int64)
    for a in range(3):
        n_cell[a] = max(1, int(box_len[a] / h))
    size = box_len / n_cell
    head = -np.ones(n_cell[0] * n_cell[1] * n_cell[2], dtype=np.int64)
    nxt = -np.ones(n, dtype=np.int64)
    for i in range(n):
        ri = radius[i]
        reach = np.empty(3, dtype=np.int64)
        for a in range(3):
            reach[a] = int(math.ceil((ri + r_max + gap) / size[a]))
        placed = False
        for _ in range(max_tries):
            x = np.empty(3)
            for a in range(3):
                if periodic[a]:
                    x[a] = box_lo[a] + np.random.random() * box_len[a]
                else:
                    span = box_len[a] - 2.0 * margin[i]
                    if span < 0.0:
                        return pos, i
                    x[a] = box_lo[a] + margin[i] + np.random.random() * span
            c = np.empty(3, dtype=np.int64)
            for a in range(3):
                c[a] = min(int((x[a] - box_lo[a]) / size[a]), n_cell[a] - 1)
            ok = True
            for ox in range(-reach[0], reach[0] + 1):
                if not ok:
                    break
                cx = c[0] + ox
                if periodic[0]:
                    cx %= n_cell[0]
                elif cx < 0 or cx >= n_cell[0]:
                    continue
                for oy in range(-reach[1], reach[1] + 1):
                    if not ok:
                        break
                    cy = c[1] + oy
                    if periodic[1]:
                        cy %= n_cell[1]
                    elif cy < 0 or cy >= n_cell[1]:
                        continue
                    for oz in range(-reach[2], reach[2] + 1):
                        cz = c[2] + oz
                        if periodic[2]:
                            cz %= n_cell[2]
                        elif cz < 0 or cz >= n_cell[2]:
                            continue
                        j = head[(cx * n_cell[1] + cy) * n_cell[2] + cz]
                        while j >= 0:
                            d2 = 0.0
                            for a in range(3):
                                d = x[a] - pos[j, a]
                                if periodic[a]:
                                    d -= box_len[a] * np.rint(d / box_len[a])
                                d2 += d * d
                            lim = ri + radius[j] + gap
                            if d2 < lim * lim:
                                ok = False
                                break
                            j = nxt[j]
                        if not ok:
                            break
            if ok:
                for a in range(3):
                    pos[i, a] = x[a]
                flat = (c[0] * n_cell[1] + c[1]) * n_cell[2] + c[2]
                nxt[i] = head[flat]
                head[flat] = i
                placed = True
                break
        if not placed:
            return pos, i
    return pos, n
