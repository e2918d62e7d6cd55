"""ParticleState file format and the structure metrics, against exact and analytic values."""

import math

import numpy as np
import pytest

from physics.engine.placement import random_placement
from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState
from physics.structure import contacts, radial_distribution, structure_metrics


def make_state(position, radius, species, box, periodic=(True, True, True), walls=()):
    radius = np.asarray(radius, float)
    density = np.where(np.asarray(species) == AM_SPECIES, 4.65, 0.95)
    return ParticleState(
        position_um=np.asarray(position, float), radius_um=radius,
        species=np.asarray(species, np.uint8), mass_pg=density * 4 / 3 * np.pi * radius**3,
        density_g_cm3=density, box_lo_um=np.zeros(3), box_hi_um=np.asarray(box, float),
        periodic=np.asarray(periodic, bool),
        wall_z_um=np.array([w for w in walls], float),
        wall_side=np.ones(len(walls), np.int64), meta={"stage": "test", "seed": 3})


def test_save_load_roundtrip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    n = 500
    state = make_state(rng.uniform(0, 20, (n, 3)), rng.uniform(0.5, 3, n),
                       rng.integers(0, 2, n), (20, 20, 20), (True, True, False), walls=[0.0])
    path = state.save(tmp_path / "sub" / "dried.npz")
    back = ParticleState.load(path)
    for name in ("position_um", "radius_um", "species", "mass_pg", "density_g_cm3",
                 "box_lo_um", "box_hi_um", "periodic", "wall_z_um", "wall_side"):
        assert np.array_equal(getattr(back, name), getattr(state, name)), name
    assert back.meta == state.meta
    assert not list(tmp_path.glob("sub/*.tmp"))  # atomic write leaves no temporary file


def test_state_is_immutable_and_validated():
    state = make_state([[1, 1, 1]], [1.0], [0], (10, 10, 10))
    with pytest.raises(ValueError):
        state.position_um[0, 0] = 5.0
    with pytest.raises(ValueError, match="radius_um"):
        make_state([[1, 1, 1]], [-1.0], [0], (10, 10, 10))
    with pytest.raises(ValueError, match="position_um"):
        make_state([[1, 1]], [1.0], [0], (10, 10, 10))


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", meta=np.array('{"format": "other"}'))
    with pytest.raises(ValueError, match="not an electrode-twin ParticleState"):
        ParticleState.load(tmp_path / "x.npz")


def test_porosity_density_thickness_of_a_lattice():
    """Simple cubic lattice of touching spheres in a periodic box: porosity 1 - π/6, each
    sphere has 6 contacts (overlap of 1e-3 R), density = ρ π/6."""
    a, r = 2.0, 1.0 + 1e-3
    g = np.arange(5) * a + 1.0
    pos = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    state = make_state(pos, np.full(len(pos), r), np.zeros(len(pos), int), (10, 10, 10))
    m = structure_metrics(state)
    solid = len(pos) * 4 / 3 * math.pi * r**3
    assert m.porosity == pytest.approx(1 - solid / 1000, rel=1e-12)
    assert m.density_g_cm3 == pytest.approx(4.65 * solid / 1000, rel=1e-12)
    assert m.thickness_um == 10.0
    assert m.coordination_mean == 6.0
    assert m.max_overlap_fraction == pytest.approx(2e-3 / r, rel=1e-6)


def test_film_thickness_uses_floor_and_mean_surface():
    """A single layer of equal spheres resting on a floor: thickness = diameter."""
    g = np.arange(5) * 2.0 + 1.0
    xy = np.array(np.meshgrid(g, g, indexing="ij")).reshape(2, -1).T
    pos = np.column_stack([xy, np.full(len(xy), 1.0)])
    state = make_state(pos, np.full(len(pos), 1.0), np.zeros(len(pos), int), (10, 10, 40),
                       periodic=(True, True, False), walls=[0.0])
    assert structure_metrics(state).thickness_um == pytest.approx(2.0)


def test_rdf_of_ideal_gas_is_one():
    """Uniform random points: every partial g(r) is 1 within sampling noise (5 %)."""
    rng = np.random.default_rng(1)
    n = 6000
    pos = rng.uniform(0, 30, (n, 3))
    species = np.where(rng.random(n) < 0.3, AM_SPECIES, CBD_SPECIES)
    state = make_state(pos, np.full(n, 0.1), species, (30, 30, 30))
    rdf = radial_distribution(state, r_max_um=6.0, dr_um=0.5)
    for name, g in rdf.g.items():
        assert np.mean(g[2:]) == pytest.approx(1.0, abs=0.05), name


def test_rdf_first_peak_of_a_hard_sphere_packing():
    """Random sequential packing of touching-excluded spheres of radius 0.65 µm: g(r) is 0
    below 2R and peaks just above it."""
    radius = np.full(3000, 0.65)
    pos = random_placement(radius, (0, 0, 0), (25, 25, 25), seed=2)
    state = make_state(pos, radius, np.full(3000, CBD_SPECIES), (25, 25, 25))
    rdf = radial_distribution(state, r_max_um=5.0, dr_um=0.05)
    g = rdf.g["CBD-CBD"]
    assert np.all(g[rdf.r_um < 1.28] == 0)
    assert 1.3 <= rdf.first_peak_um("CBD-CBD") <= 1.45
    i, _, overlap = contacts(state)
    assert i.size == 0 and overlap.size == 0


def test_open_periodic_z_cuts_in_the_gap_and_puts_a_floor_under_the_film():
    """Particles in a z-periodic column of 30 µm leave one empty slab (~14 to ~18 µm, particle
    surfaces included): the cut lands in it, the film lies on a floor at 0 and is thinner
    than the column by the slab, nothing is lost."""
    from physics.state import AM_SPECIES, CBD_SPECIES
    from physics.structure import open_periodic_z

    rng = np.random.default_rng(4)
    n = 60
    pos = np.column_stack([rng.uniform(0, 20, n), rng.uniform(0, 20, n),
                           np.concatenate([rng.uniform(2, 12, n // 2),
                                           rng.uniform(20, 32, n // 2) % 30])])
    radius = np.where(np.arange(n) % 3 == 0, 2.0, 0.6)
    species = np.where(radius > 1, AM_SPECIES, CBD_SPECIES)
    density = np.where(species == AM_SPECIES, 4.65, 0.95)
    state = ParticleState(
        position_um=pos, radius_um=radius, species=species,
        mass_pg=4 / 3 * np.pi * radius ** 3 * density, density_g_cm3=density,
        box_lo_um=np.zeros(3), box_hi_um=np.array([20.0, 20.0, 30.0]),
        periodic=np.array([True, True, True]))
    opened = open_periodic_z(state)
    assert not opened.periodic[2] and opened.wall_side.tolist() == [1]
    first = np.arange(n) < n // 2
    gap = ((pos[first, 2] + radius[first]).max(), (pos[~first, 2] - radius[~first])[
        pos[~first, 2] > 15].min())
    assert gap[1] - gap[0] > 4.0
    assert gap[0] <= opened.meta["opened_periodic_z_at_um"] <= gap[1]
    assert opened.meta["opened_periodic_z_am_volume_cut_um3"] == 0.0
    bottoms = opened.position_um[:, 2] - opened.radius_um
    assert bottoms.min() == pytest.approx(0.0, abs=1e-12)
    assert np.array_equal(opened.position_um[:, :2], state.position_um[:, :2])
    assert opened.volume_um3.sum() == pytest.approx(state.volume_um3.sum())
    assert (opened.position_um[:, 2] + opened.radius_um).max() < 30.0 - 3.0
    with pytest.raises(ValueError, match="not periodic in z"):
        open_periodic_z(opened)
