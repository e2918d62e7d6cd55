"""The numba particle engine shared by CGMD (slurry, drying) and DEM (calendering).

Kernels live in ``_*_kernels.py`` (arrays and scalars only); :class:`Simulation` is the thin
orchestration around them.
"""

from physics.engine.contact import (
    ContactTable,
    damping_beta,
    effective_shear_kpa,
    effective_young_kpa,
    hertz_contact_time_us,
    liggghts_table,
    rayleigh_time_us,
    with_models,
)
from physics.engine.simulation import (
    BOLTZMANN_FJ_PER_K,
    Berendsen,
    EngineInstability,
    Langevin,
    Simulation,
    Wall,
)

__all__ = [
    "BOLTZMANN_FJ_PER_K",
    "Berendsen",
    "ContactTable",
    "EngineInstability",
    "Langevin",
    "Simulation",
    "Wall",
    "damping_beta",
    "effective_shear_kpa",
    "effective_young_kpa",
    "hertz_contact_time_us",
    "liggghts_table",
    "rayleigh_time_us",
    "with_models",
]
