"""Multi-class cell-list neighbour search against brute force (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from physics.engine import Simulation, liggghts_table
from physics.engine.simulation import size_classes
from physics.materials import NMC

TABLE = liggghts_table([NMC])


def brute_force_pairs(pos, reach, box_len, periodic, skin):
    d = pos[:, None, :] - pos[None, :, :]
    for a in range(3):
        if periodic[a]:
            d[..., a] -= box_len[a] * np.rint(d[..., a] / box_len[a])
    dist2 = np.einsum("ijk,ijk->ij", d, d)
    cut = reach[:, None] + reach[None, :] + skin
    i, j = np.nonzero(np.triu(dist2 < cut**2, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 300),
       periodic=st.tuples(st.booleans(), st.booleans(), st.booleans()),
       size_ratio=st.floats(1.0, 12.0), skin=st.floats(0.01, 1.0))
def test_neighbour_list_equals_brute_force(seed, n, periodic, size_ratio, skin):
    rng = np.random.default_rng(seed)
    r_min = 0.65
    radius = np.where(rng.random(n) < 0.2, rng.uniform(r_min, r_min * size_ratio, n), r_min)
    max_cut = 2 * radius.max() + skin
    box_len = np.maximum(rng.uniform(10, 60, 3), 2.05 * max_cut)
    pos = rng.uniform(0, 1, (n, 3)) * box_len
    # some particles outside the box on non-periodic axes (free surfaces, escaping particles)
    pos[: n // 10, 2] += np.where(periodic[2], 0.0, 5.0)
    sim = Simulation(pos, radius, np.ones(n), np.zeros(n, int), TABLE, (0, 0, 0), box_len,
                     periodic=periodic, skin_um=skin)
    found = list(zip(sim.pair_i.tolist(), sim.pair_j.tolist(), strict=True))
    assert len(found) == len(set(found)), "a pair is listed twice"
    canonical = {(min(i, j), max(i, j)) for i, j in found}
    assert canonical == brute_force_pairs(sim.position, radius, box_len, periodic, skin)
    # CSR offsets describe the owner segments
    assert np.array_equal(np.repeat(np.arange(n), np.diff(sim.pair_offsets)), sim.pair_i)


def test_size_classes_split_at_factor_two():
    reach = np.array([0.65, 0.7, 1.29, 1.31, 2.5, 5.3])
    assert size_classes(reach).tolist() == [0, 0, 0, 1, 1, 2]
