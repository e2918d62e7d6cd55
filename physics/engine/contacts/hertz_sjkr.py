"""Hertz normal contact with tangential history and SJKR cohesion (LIGGGHTS ``hertz tangential
history cohesion sjkr``): the law of Table 2 (Ngandjong et al. 2021, Eq. 1-2) and the base of
every pair.

Its kernel is ``physics.engine._contact_kernels.contact_force`` (the other laws modify that
contact: a hysteretic normal branch, a rolling torque, a binder-bridge arm) and its
coefficients come from materials in ``physics.engine.contact.liggghts_table``; this spec
restores a pair type to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.engine._params import (
    BRIDGE_K,
    BRIDGE_TAU,
    FILM_DEPTH,
    FLATTENING_LIMIT,
    KC,
    KR,
    MU_BARE,
    MU_R,
    NORMAL_HERTZ,
    NORMAL_MODEL,
    PLASTICITY,
    YIELD_PRESSURE,
)


@dataclass(frozen=True)
class HertzSJKR:
    """The Table 2 law alone: Hertz normal, no plasticity, no rolling resistance, no bridge,
    one friction coefficient."""

    name = "hertz-sjkr"

    def apply(self, p: np.ndarray) -> None:
        p[NORMAL_MODEL] = NORMAL_HERTZ
        p[[PLASTICITY, KC, MU_R, KR, BRIDGE_K, BRIDGE_TAU, YIELD_PRESSURE, FLATTENING_LIMIT,
           MU_BARE, FILM_DEPTH]] = 0.0
