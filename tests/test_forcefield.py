"""CGMD force fields and the slurry mass balance."""

import dataclasses

import numpy as np
import pytest

from physics.engine import Simulation, Wall, liggghts_table
from physics.forcefield import DRIED_FORCE_FIELD, SLURRY_FORCE_FIELD, ForceField, blend
from physics.materials import NMC, paper_recipe


def test_published_values():
    """parameters.md: slurry / dried LJ and granular constants."""
    s, d = SLURRY_FORCE_FIELD, DRIED_FORCE_FIELD
    eps, sig, cut = s.lj_arrays(np.array([True, False]), np.array([5.0, 0.0]), 6.2)
    assert eps.tolist() == pytest.approx([0.05, 0.0062])
    assert sig.tolist() == pytest.approx([4.4, 1.1])
    assert cut.tolist() == pytest.approx([5.7, 2.2])
    eps, sig, cut = d.lj_arrays(np.array([True, False]), np.array([5.0, 0.0]), 1.3)
    assert eps.tolist() == pytest.approx([18500.0, 5525.0])
    assert sig.tolist() == pytest.approx([4.45, 1.1])
    assert (s.kn, s.gamma_n, s.friction, d.kn, d.gamma_n, d.friction) == (8, 30, 0.015, 500, 10,
                                                                          12.5)
    assert (s.am_contact_factor, d.am_contact_factor) == (1.14, 1.02)
    t = d.contact_table().params
    assert t[0, 1, 0] == 500 and t[0, 1, 1] == pytest.approx(617.5)  # KN, KT = 1.235 KN
    assert t[1, 1, 3] == 10 and t[1, 1, 5] == pytest.approx(9.07)  # γn, γt (LAMMPS form)


def test_blend_endpoints_and_geometric_middle():
    assert blend(SLURRY_FORCE_FIELD, DRIED_FORCE_FIELD, 0.0) == SLURRY_FORCE_FIELD
    assert blend(SLURRY_FORCE_FIELD, DRIED_FORCE_FIELD, 1.0) == DRIED_FORCE_FIELD
    mid = blend(SLURRY_FORCE_FIELD, DRIED_FORCE_FIELD, 0.5)
    assert mid.kn == pytest.approx(np.sqrt(8 * 500))
    assert mid.am_lj_sigma_factor == pytest.approx(0.885)


def test_force_field_validation():
    with pytest.raises(ValueError, match=r"ForceField\.kn"):
        dataclasses.replace(SLURRY_FORCE_FIELD, kn=-1.0)
    with pytest.raises(ValueError, match="am_contact_factor"):
        dataclasses.replace(SLURRY_FORCE_FIELD, am_contact_factor=0.0)
    assert isinstance(DRIED_FORCE_FIELD, ForceField)


def test_slurry_volume_and_swollen_radius():
    """69 wt % solids: wet slurry 2.18 g/cm³ with NMP; swollen CBD 3.1 µm at 69 %, larger with
    more solvent, equal to the dry radius without solvent."""
    r = paper_recipe()
    c = r.counts_for_am(396)
    solids = c.am_mass_pg + c.cbd_mass_pg
    volume = r.slurry_volume_um3(c)
    assert (solids / 0.69) / volume == pytest.approx(2.18, abs=0.01)
    assert r.slurry_cbd_radius_um() == pytest.approx(3.1)
    wetter = dataclasses.replace(r, solid_content=0.6)
    assert wetter.slurry_cbd_radius_um() > 3.1
    assert dataclasses.replace(r, solid_content=0.999999).slurry_cbd_radius_um() == \
        pytest.approx(0.65, abs=1e-3)


@pytest.mark.parametrize("am, solids", [(0.80, 0.50), (0.80, 0.80), (0.98, 0.50), (0.89, 0.65)])
def test_swollen_cbd_holds_the_same_share_of_the_solvent_in_every_recipe(am, solids):
    """Σ over CBD particles of the swollen shell volume (r_s³ - r_d³) per solvent volume is the
    paper recipe's in every recipe (the solvent is conserved, not created by the CBD share)."""
    def shell_per_solvent(recipe):
        c = recipe.counts_for_am(396)
        solvent_um3 = (c.am_mass_pg + c.cbd_mass_pg) * (1 - recipe.solid_content) / \
            recipe.solid_content / recipe.solvent_density_g_cm3
        shell = 4 / 3 * np.pi * (recipe.slurry_cbd_radius_um() ** 3
                                 - recipe.cbd_radius_dry_um ** 3)
        return c.n_cbd * shell / solvent_um3

    rest = (1 - am) / 2
    other = dataclasses.replace(paper_recipe(), am_mass_fraction=am, carbon_mass_fraction=rest,
                                binder_mass_fraction=rest, solid_content=solids)
    assert shell_per_solvent(other) == pytest.approx(shell_per_solvent(paper_recipe()),
                                                     rel=0.01)


def test_set_particles_rebuilds_and_mean_wall_force():
    """Growing a radius creates the contact at once; the plane force is time-averaged."""
    table = liggghts_table([NMC, NMC])
    sim = Simulation([[0, 0, 1.2], [3.0, 0, 1.2]], [1.0, 1.0], [1.0, 1.0], [0, 0], table,
                     (-10, -10, -10), (10, 10, 10), periodic=(False,) * 3, dt_us=1e-6,
                     walls=[Wall(0.0, 1, 1)])
    assert sim.contacts()[0].size == 0
    sim.set_particles(radius=[1.6, 1.6])
    assert sim.contacts()[0].size == 1
    sim.run(10)
    mean = sim.mean_wall_force_z()
    assert mean[0] < 0  # particles press on the floor (force on the plane points down)
    assert sim.mean_wall_force_z()[0] == sim.wall_force_z[0]  # after reset: instantaneous
