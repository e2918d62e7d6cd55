"""Shared test fixtures: the Table 2 materials in LIGGGHTS type order (AM, CBD, Al, steel);
under pytest-xdist (``make test``) one numba thread per test process and the longest test
files handed out first."""

import dataclasses
import os

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


#: test files by CI time, longest first (``--durations`` of a CI run): handed out first, so
#: the two xdist processes finish together (longest-processing-time-first scheduling)
LONGEST_FIRST = ("test_pipeline.py", "test_calender.py", "test_cli.py", "test_drying.py",
                 "test_binder_contact.py", "test_calibrate_dem.py", "test_variability.py")


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import numba

        # the xdist processes share the cores: one numba thread each (numba's own limit, read
        # at import, stays: a test may still ask for two threads; changing NUMBA_NUM_THREADS
        # here would make numba's next compilation fail, as its pool has started)
        numba.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order inside a file and among the others is kept
