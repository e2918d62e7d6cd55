"""Rolling resistance, elastic-plastic spring-dashpot type 2 (EPSD2; LIGGGHTS ``rolling_friction
epsd2``).

Iwashita and Oda, J. Eng. Mech. 124 (1998) 285; Ai, Chen, Rotter and Ooi, Powder Technol. 206
(2011) 269, model C without its viscous part (the "type 2" of LIGGGHTS 3.8).  Non-spherical,
rough secondary particles resist rolling over each other; the spheres here carry that resistance
as a torque opposed to the relative rolling rotation:

    ΔM_r = -k_r Δθ_r,   Δθ_r = (ω_i - ω_j)_t dt,   k_r = KR k_t R*²  (LIGGGHTS: KR = 1),
    |M_r| <= μ_r R* |F_n|,

with (·)_t the part in the tangent plane (spin about the normal is twisting, not rolling),
k_t = KT sqrt(R* δ) the tangential stiffness of the contact, F_n the contact's normal force.
The spring torque is history; only its increment is taken in the current tangent plane (as
LIGGGHTS 3.8 does: the stored torque is not rotated with the contact); at the limit it is
scaled back to it (plastic rolling).  Body i receives M_r and body j -M_r; F_n is the normal
force with damping, without SJKR cohesion (LIGGGHTS: ``sidata.Fn``; with the hysteretic law,
relative to its adhesive branch as the Coulomb limit).  For a plane R* = R_i and ω_j = 0
(LIGGGHTS scales a wall's ω_i by (R_i - δ/2)/(R_i - δ), a relative change of δ/2R).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from physics.engine._params import KR, MU_R

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MAX_ROLLING_COEFFICIENT = 1.0


@nb.njit(inline="always", **_JIT)
def epsd2_torque(nx, ny, nz, wrx, wry, wrz, kr, mu_r, r_star, fn_abs, hist, k, col, dt):
    """Rolling torque on body i after one step [nN µm] (module docstring).

    Args:
        nx, ny, nz: unit normal; wr*: relative angular velocity ω_i - ω_j [rad/µs].
        kr: k_r = KR k_t R*² [nN µm/rad]; mu_r: μ_r [-]; r_star: R* [µm].
        fn_abs: |F_n| [nN].
        hist, k, col: the torque history is ``hist[k, col:col+3]``, updated in place.
        dt: step [µs].
    """
    mx = hist[k, col]
    my = hist[k, col + 1]
    mz = hist[k, col + 2]
    wn = wrx * nx + wry * ny + wrz * nz
    mx -= kr * (wrx - wn * nx) * dt
    my -= kr * (wry - wn * ny) * dt
    mz -= kr * (wrz - wn * nz) * dt
    m_abs = math.sqrt(mx * mx + my * my + mz * mz)
    m_max = mu_r * r_star * fn_abs
    if m_abs > m_max:
        scale = m_max / m_abs
        mx *= scale
        my *= scale
        mz *= scale
    hist[k, col] = mx
    hist[k, col + 1] = my
    hist[k, col + 2] = mz
    return mx, my, mz


@dataclass(frozen=True)
class RollingEPSD2:
    """EPSD2 rolling resistance for a pair type (module docstring).

    Attributes:
        coefficient: μ_r in [0, 1] [-] (the lever of the limiting torque in units of R*;
            0.05-0.3 for angular or agglomerated grains, Ai et al. 2011).
        stiffness_factor: KR in (0, 10] [-] (k_r = KR k_t R*²; LIGGGHTS: 1).
    """

    coefficient: float
    stiffness_factor: float = 1.0
    name = "epsd2"

    def __post_init__(self) -> None:
        if not 0.0 <= self.coefficient <= MAX_ROLLING_COEFFICIENT:
            raise ValueError(f"epsd2.coefficient = {self.coefficient!r}; allowed range "
                             f"[0, {MAX_ROLLING_COEFFICIENT}]")
        if not 0.0 < self.stiffness_factor <= 10.0:
            raise ValueError(f"epsd2.stiffness_factor = {self.stiffness_factor!r}; allowed "
                             "range (0, 10]")

    def apply(self, p: np.ndarray) -> None:
        """Write this law into one pair's parameter vector ``p`` (in place)."""
        p[MU_R] = self.coefficient
        p[KR] = self.stiffness_factor
