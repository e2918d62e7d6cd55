"""Elastic–perfectly-plastic normal contact with a limiting contact pressure (Thornton–Ning).

Thornton and Ning, Powder Technol. 99 (1998) 154, §2.2 (without adhesion).  A contact is Hertz
until the largest contact pressure (2 E*/π) √(δ/R*) reaches the yield pressure p_y, at the
overlap δ_y = R* (π p_y / (2 E*))²; beyond it the pressure is capped at p_y over the part of
the contact that has yielded and the force grows linearly:

* loading, δ >= δ_max (the largest overlap so far):
  f = K_1 δ^{3/2} (δ <= δ_y),  f = F_y + π p_y R* (δ - δ_y) (δ > δ_y),  F_y = K_1 δ_y^{3/2},
  with K_1 = KN √R* (KN = 4/3 E*, the Hertz law of the pair); the slope is continuous at δ_y;
* unloading and reloading below δ_max > δ_y: Hertz with the flattened curvature R_p and the
  permanent overlap δ_p, f = (4/3) E* √R_p (δ - δ_p)^{3/2} (0 for δ <= δ_p), where the contact
  radius a_max = √(R* δ_max) and the force F_max at δ_max are continuous:
  R_p = 4 E* a_max³ / (3 F_max),  δ_p = δ_max - 3 F_max / (4 E* a_max).

The unloading stiffness at δ_max is 2 E* a_max, the loading Hertz stiffness at the same contact
radius: the law needs no shorter time step than Hertz (unlike the hysteretic law's K_2 =
K_1/(1 - λ_p)).  What it models on the AM–AM contacts (``BinderContact.am_yield_gpa``): the
secondary NMC particles are agglomerates of primary crystallites that crush and flatten at
their contacts above a contact pressure of the order of their hardness, while below it they
are elastic; the hysteretic law's plasticity, by contrast, acts from the first touch.  Damping
and the tangential law stay those of the Hertz contact (k_t on a = √(R* δ)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from physics.engine._params import NORMAL_MODEL, NORMAL_THORNTON_NING, YIELD_PRESSURE
from physics.engine.contacts._path import forces_along_path

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MIN_YIELD_GPA, MAX_YIELD_GPA = 0.01, 100.0
KPA_PER_GPA = 1.0e6


@nb.njit(inline="always", **_JIT)
def thornton_ning_force(delta, r_star, kn, yield_kpa, delta_max):
    """Elastic–perfectly-plastic normal force of one contact (module docstring).

    Args:
        delta: overlap δ > 0 [µm]; r_star: R* [µm].
        kn: KN = 4/3 E* of the pair [kPa]; yield_kpa: p_y [kPa].
        delta_max: largest overlap so far δ_max [µm] (history; 0 for a new contact).

    Returns:
        (f, delta_max_new): normal force along n, >= 0 [nN]; the updated history.
    """
    e_star = 0.75 * kn
    k1 = kn * math.sqrt(r_star)
    x = math.pi * yield_kpa / (2.0 * e_star)
    delta_y = r_star * x * x
    if delta >= delta_max:
        if delta <= delta_y:
            return k1 * delta * math.sqrt(delta), delta
        f_y = k1 * delta_y * math.sqrt(delta_y)
        return f_y + math.pi * yield_kpa * r_star * (delta - delta_y), delta
    if delta_max <= delta_y:  # never yielded: elastic Hertz
        return k1 * delta * math.sqrt(delta), delta_max
    f_max = k1 * delta_y * math.sqrt(delta_y) + math.pi * yield_kpa * r_star * (delta_max
                                                                                 - delta_y)
    a_max = math.sqrt(r_star * delta_max)
    delta_p = delta_max - 3.0 * f_max / (4.0 * e_star * a_max)
    if delta <= delta_p:
        return 0.0, delta_max
    r_p = 4.0 * e_star * a_max ** 3 / (3.0 * f_max)
    s = delta - delta_p
    return kn * math.sqrt(r_p) * s * math.sqrt(s), delta_max


def load_unload_curve(delta_path_um: np.ndarray, r_star_um: float, kn_kpa: float,
                      yield_gpa: float) -> np.ndarray:
    """Force [nN] along a prescribed overlap path (one contact, no damping), via the kernel."""
    return forces_along_path(delta_path_um, lambda d, d_max: thornton_ning_force(
        d, r_star_um, kn_kpa, yield_gpa * KPA_PER_GPA, d_max))


def closed_form_curve(delta_path_um: np.ndarray, delta_max_um, r_star_um, kn_kpa, yield_gpa,
                      loading: np.ndarray) -> np.ndarray:
    """Closed-form force [nN] of one load (0 → δ_max) and unload (δ_max → 0) cycle, from
    Thornton and Ning's expressions for F_y, R_p and δ_p; every argument may be an array (one
    contact per element, e.g. the fracture reading's)."""
    d = np.clip(np.asarray(delta_path_um, dtype=float), 0, None)
    r, kn = np.asarray(r_star_um, dtype=float), np.asarray(kn_kpa, dtype=float)
    p_y = np.asarray(yield_gpa, dtype=float) * KPA_PER_GPA
    e_star = 0.75 * kn
    d_y = r * (np.pi * p_y / (2 * e_star)) ** 2
    f_y = (4 / 3) * e_star * np.sqrt(r) * d_y ** 1.5
    hertz = (4 / 3) * e_star * np.sqrt(r) * d ** 1.5
    plastic = f_y + np.pi * p_y * r * (d - d_y)
    load = np.where(d <= d_y, hertz, plastic)
    d_max = np.asarray(delta_max_um, dtype=float)
    f_max = np.where(d_max <= d_y, (4 / 3) * e_star * np.sqrt(r) * d_max ** 1.5,
                     f_y + np.pi * p_y * r * (d_max - d_y))
    a_max = np.sqrt(r * d_max)
    r_p = 4 * e_star * a_max ** 3 / (3 * np.maximum(f_max, 1e-300))
    d_p = d_max - 3 * f_max / (4 * e_star * np.maximum(a_max, 1e-300))
    unload = np.where(d_max <= d_y, hertz,
                      (4 / 3) * e_star * np.sqrt(r_p) * np.clip(d - d_p, 0, None) ** 1.5)
    return np.where(loading, load, unload)


@dataclass(frozen=True)
class ThorntonNing:
    """Elastic–perfectly-plastic normal law with a yield pressure for a pair type (module
    docstring).

    Attributes:
        yield_gpa: limiting contact pressure p_y in [0.01, 100] [GPa] (of the order of the
            particles' hardness; Hertz up to the overlap where the peak pressure reaches it).
    """

    yield_gpa: float
    name = "thornton-ning"

    def __post_init__(self) -> None:
        if not MIN_YIELD_GPA <= self.yield_gpa <= MAX_YIELD_GPA:
            raise ValueError(f"thornton-ning.yield_gpa = {self.yield_gpa!r}; allowed range "
                             f"[{MIN_YIELD_GPA}, {MAX_YIELD_GPA}] GPa")

    def apply(self, p: np.ndarray) -> None:
        """Write this law into one pair's parameter vector ``p`` (in place)."""
        p[NORMAL_MODEL] = NORMAL_THORNTON_NING
        p[YIELD_PRESSURE] = self.yield_gpa * KPA_PER_GPA

    def stiffness_ratio(self) -> float:
        """Largest stiffness relative to Hertz loading at the same contact radius: 1."""
        return 1.0
