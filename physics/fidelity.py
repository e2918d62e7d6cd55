"""The fidelity tiers: one list every stage, job and command reads.

The same model at three sizes (DESIGN.md, "Fidelity tiers"): ``ci`` (80 AM particles in the
25.8 × 25.8 µm column, 0.5 µm voxels: minutes, for tests), ``fast`` (200 AM, 0.25 µm) and
``paper`` (396 AM, 0.25 µm: the paper's cell).
"""

from __future__ import annotations

#: the tiers, cheapest first
FIDELITIES = ("ci", "fast", "paper")
#: fidelity -> number of AM particles (paper PSD) in a 25.8 × 25.8 µm column
FIDELITY_N_AM = {"ci": 80, "fast": 200, "paper": 396}
#: fidelity -> voxel edge of the transport image [µm]
FIDELITY_VOXEL_UM = {"ci": 0.5, "fast": 0.25, "paper": 0.25}


def check_fidelity(fidelity: str, field: str = "fidelity") -> str:
    """``fidelity`` if it names a tier, else a ValueError naming ``field`` and the tiers."""
    if fidelity not in FIDELITIES:
        raise ValueError(f"{field} {fidelity!r} is unknown; allowed: {', '.join(FIDELITIES)}")
    return fidelity
