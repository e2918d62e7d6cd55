"""Materials, recipes and the recipe -> particle-count mass balance."""

import dataclasses
import math

import pytest

from physics.engine import effective_shear_kpa, effective_young_kpa, liggghts_table
from physics.engine.contact import damping_beta
from physics.materials import (
    ALUMINIUM,
    CBD,
    NMC,
    PAPER_AM_COUNTS,
    PAPER_BOX_XY_UM,
    PAPER_DRIED_THICKNESS_UM,
    PAPER_N_CBD,
    STEEL,
    Material,
    Recipe,
    paper_counts,
    paper_recipe,
)


def test_table2_defaults():
    assert NMC.young_modulus_pa == 200e9 and CBD.young_modulus_pa == 2e9
    assert ALUMINIUM.young_modulus_pa == 69e9 and STEEL.young_modulus_pa == 200e9
    assert (NMC.poisson_ratio, CBD.poisson_ratio) == (0.3, 0.5)
    assert (ALUMINIUM.restitution, STEEL.restitution) == (0.5, 0.78)
    assert (ALUMINIUM.friction, STEEL.friction) == (1.2, 0.76)
    assert CBD.cohesion_energy_density_pa == pytest.approx(7e7)  # 7e4 kPa = 0.07 GPa
    assert STEEL.density_g_cm3 == 7.75


@pytest.mark.parametrize("a,b,e_star,g_star,beta,mu,ced", [
    # contact_law.md pair table (micro units: kPa)
    (NMC, NMC, 1.0989e8, 2.26244e7, -0.516931, 0.001, 6e5),
    (NMC, CBD, 2.6347e6, 440121, -0.516931, 0.001, 204939),
    (CBD, CBD, 1.33333e6, 222222, -0.516931, 0.001, 7e4),
    (NMC, ALUMINIUM, 5.63749e7, 1.16066e7, -0.381136, 0.034641, 574456),
    (CBD, ALUMINIUM, 2.57607e6, 432141, -0.381136, 0.034641, 196214),
    (NMC, STEEL, 1.0989e8, 2.26244e7, -0.323158, 0.0275681, 6e5),
])
def test_pair_coefficients_match_liggghts_values(a, b, e_star, g_star, beta, mu, ced):
    assert effective_young_kpa(a, b) == pytest.approx(e_star, rel=1e-5)
    assert effective_shear_kpa(a, b) == pytest.approx(g_star, rel=1e-5)
    assert damping_beta(math.sqrt(a.restitution * b.restitution)) == pytest.approx(beta, rel=1e-5)
    p = liggghts_table([a, b]).params[0, 1]
    assert p[6] == pytest.approx(mu, rel=1e-5)
    assert p[7] == pytest.approx(ced, rel=1e-5)


def test_paper_mass_balance():
    """96:2:2: AM mass = 24 × CBD mass; ~9463 CBD (≈1.03e4 pg) with ≈2.48e5 pg of NMC."""
    c = paper_counts()
    assert c.am_counts == PAPER_AM_COUNTS and c.n_am == 396
    assert c.am_mass_pg / c.cbd_mass_pg == pytest.approx(24.0, rel=2e-3)
    assert c.am_mass_pg == pytest.approx(2.48e5, rel=0.01)
    assert c.cbd_mass_pg == pytest.approx(1.03e4, rel=0.01)
    assert c.n_cbd == pytest.approx(PAPER_N_CBD, rel=0.01)
    # the paper's own 9463 CBD particles weigh ≈ 1.03e4 pg
    assert PAPER_N_CBD * paper_recipe().cbd_particle_mass_pg == pytest.approx(1.03e4, rel=0.01)


def test_paper_column_porosity():
    """396 AM + 9463 CBD in 25.8 × 25.8 × 165 µm is 41-42 % porous."""
    r = paper_recipe()
    am_volume = sum(n * math.pi / 6 * d**3 for n, d in zip(PAPER_AM_COUNTS, r.am_diameters_um,
                                                            strict=True))
    cbd_volume = PAPER_N_CBD * math.pi / 6 * (2 * r.cbd_radius_dry_um) ** 3
    box = PAPER_BOX_XY_UM**2 * PAPER_DRIED_THICKNESS_UM
    assert am_volume + cbd_volume == pytest.approx(63793, rel=1e-3)
    assert 0.41 <= 1 - (am_volume + cbd_volume) / box <= 0.42
    assert 0.41 <= paper_counts().porosity_in_box((25.8, 25.8, 165.0)) <= 0.425


def test_counts_for_box_hits_requested_porosity():
    r = paper_recipe()
    box = (40.0, 40.0, 120.0)
    c = r.counts_for_box(box, porosity=0.416)
    assert c.porosity_in_box(box) == pytest.approx(0.416, abs=0.01)
    assert c.am_mass_pg / c.cbd_mass_pg == pytest.approx(24.0, rel=0.02)
    assert c.n_am == sum(c.am_counts)


def test_other_composition_scales_cbd():
    r = dataclasses.replace(paper_recipe(), am_mass_fraction=0.90, carbon_mass_fraction=0.05,
                            binder_mass_fraction=0.05)
    c = r.counts_for_am(396)
    assert c.am_mass_pg / c.cbd_mass_pg == pytest.approx(9.0, rel=2e-3)


@pytest.mark.parametrize("field,value,match", [
    ("young_modulus_pa", -1.0, r"young_modulus_pa = -1.0 is outside the allowed range \(0"),
    ("poisson_ratio", 0.6, r"poisson_ratio = 0.6 is outside the allowed range \(-1.0, 0.5\]"),
    ("restitution", 0.01, r"restitution .* \[0.05, 1.0\]"),
    ("friction", -0.1, "friction"),
    ("cohesion_energy_density_pa", -5.0, "cohesion_energy_density_pa"),
    ("density_g_cm3", 0.0, "density_g_cm3"),
])
def test_material_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(NMC, **{field: value})


@pytest.mark.parametrize("kwargs,match", [
    ({"am_mass_fraction": 0.9}, r"sum.*allowed value is 1"),
    ({"solid_content": 1.0}, r"solid_content = 1.0 is outside the allowed range \(0.0, 1.0\)"),
    ({"cbd_radius_dry_um": 0.0}, r"cbd_radius_dry_um = 0.0 is outside the allowed range \(0.0"),
    ({"cbd_radius_swollen_um": 0.5}, "cbd_radius_swollen_um"),
    ({"am_diameters_um": (2.0, -1.0), "am_number_fractions": (0.5, 0.5)}, r"am_diameters_um\[1\]"),
    ({"am_number_fractions": (0.5,) * 6}, "am_number_fractions sum"),
    ({"am_diameters_um": (2.0,)}, "must match"),
    ({"cbd_nanoporosity": 1.0}, "cbd_nanoporosity"),
])
def test_recipe_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**kwargs)


def test_counts_validation():
    with pytest.raises(ValueError, match="n_am"):
        paper_recipe().counts_for_am(0)
    with pytest.raises(ValueError, match="porosity"):
        paper_recipe().counts_for_box((10.0, 10.0, 10.0), porosity=1.2)
    with pytest.raises(ValueError, match=r"box_um\[2\]"):
        paper_recipe().counts_for_box((10.0, 10.0, -1.0), porosity=0.4)


def test_material_requires_name_in_errors():
    with pytest.raises(ValueError, match=r"^graphite\.young_modulus_pa"):
        Material("graphite", 0.0, 0.3, 0.5, 0.1, 0.0, 2.2)
