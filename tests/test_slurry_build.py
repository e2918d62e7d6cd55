"""The slurry builder: wet-slurry volume, Lennard-Jones core exclusion, seed determinism."""

import numpy as np
import pytest

from physics.materials import paper_recipe
from physics.slurry import DryingProtocol, build_slurry


def test_slurry_column_has_the_wet_slurry_volume_and_no_core_overlap():
    recipe = paper_recipe()
    sim, col, r_cbd = build_slurry(recipe, 80, 25.8, seed=1,
                                   protocol=DryingProtocol(mode="periodic"))
    counts = recipe.counts_for_am(80)
    assert sim.volume_um3 == pytest.approx(recipe.slurry_volume_um3(counts), rel=1e-12)
    assert col.real_mass_pg.sum() == pytest.approx(counts.am_mass_pg + counts.cbd_mass_pg)
    assert r_cbd == pytest.approx(3.1)
    # no two centres inside their LJ minimum distance 2^(1/6) σ_ij
    d = sim.position[sim.pair_i] - sim.position[sim.pair_j]
    d -= sim.box_len * np.rint(d / sim.box_len)
    r = np.linalg.norm(d, axis=1)
    r_min = 2 ** (1 / 6) * 0.5 * (sim.lj_sig[sim.pair_i] + sim.lj_sig[sim.pair_j])
    assert np.all(r >= r_min * (1 - 1e-12))


def test_wall_mode_starts_with_contact_spheres_between_the_planes():
    sim, _, _ = build_slurry(paper_recipe(), 80, 25.8, seed=2, protocol=DryingProtocol())
    assert sim.wall_z[0] == 0.0 and sim.wall_z[1] == pytest.approx(sim.box_len[2])
    assert np.all(sim.position[:, 2] - sim.radius >= -1e-12)
    assert np.all(sim.position[:, 2] + sim.radius <= sim.wall_z[1] + 1e-12)


def test_slurry_is_deterministic_for_a_seed():
    a, _, _ = build_slurry(paper_recipe(), 80, 25.8, seed=7, protocol=DryingProtocol())
    b, _, _ = build_slurry(paper_recipe(), 80, 25.8, seed=7, protocol=DryingProtocol())
    c, _, _ = build_slurry(paper_recipe(), 80, 25.8, seed=8, protocol=DryingProtocol())
    assert np.array_equal(a.position, b.position)
    assert not np.array_equal(a.position, c.position)


def test_bad_inputs_name_the_field():
    with pytest.raises(ValueError, match=r"box_xy_um = 10\.0 µm is too small"):
        build_slurry(paper_recipe(), 80, 10.0, seed=0, protocol=DryingProtocol())
    with pytest.raises(ValueError, match="mode = 'open'"):
        DryingProtocol(mode="open")
    with pytest.raises(ValueError, match="dt_dried_us"):
        DryingProtocol(dt_dried_us=0.0)


def test_a_column_too_short_for_its_largest_spheres_grows_until_they_fit():
    """24 AM at 98 % AM and 80 % solids: the cores fit the wet column by volume, but the
    largest spheres with their wall margins do not (random sequential addition placed 6 of
    312); the column grows by one largest diameter per retry and every sphere is placed
    between the planes."""
    from dataclasses import replace

    recipe = replace(paper_recipe(), am_mass_fraction=0.98, carbon_mass_fraction=0.01,
                     binder_mass_fraction=0.01, solid_content=0.8)
    counts = recipe.counts_for_am(24)
    sim, _, _ = build_slurry(recipe, 24, 25.8, seed=0, protocol=DryingProtocol())
    assert sim.box_len[2] > recipe.slurry_volume_um3(counts) / 25.8 ** 2
    assert np.all(sim.position[:, 2] - sim.radius >= -1e-12)
    assert np.all(sim.position[:, 2] + sim.radius <= sim.wall_z[1] + 1e-12)
