"""Shared test fixtures: the Table 2 materials in LIGGGHTS type order (AM, CBD, Al, steel)."""

import dataclasses

import pytest

from physics.engine import liggghts_table
from physics.materials import ALUMINIUM, CBD, NMC, STEEL

TABLE2 = (NMC, CBD, ALUMINIUM, STEEL)
AM, CBD_T, AL, STEEL_T = range(4)


def table2(ced_scale: float = 1.0, friction_scale: float = 1.0, restitution=None):
    """Contact table of the Table 2 materials with CED, μ (and optionally e) overridden."""
    mats = []
    for m in TABLE2:
        mats.append(dataclasses.replace(
            m, cohesion_energy_density_pa=m.cohesion_energy_density_pa * ced_scale,
            friction=m.friction * friction_scale,
            restitution=m.restitution if restitution is None else restitution))
    return liggghts_table(mats)


@pytest.fixture(scope="session")
def table_no_cohesion():
    return table2(ced_scale=0.0)
