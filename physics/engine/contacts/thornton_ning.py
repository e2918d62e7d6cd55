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

Flattening limit (optional, ``flattening_limit`` = δ_lim / R* > 0): the plastic flattening
stops at the overlap δ_lim.  Beyond it the contact is elastic on the flattened shape of δ_max =
δ_lim (the unloading–reloading Hertz curve above, continued past δ_lim), and the history keeps
δ_max = δ_lim, so unloading from beyond the limit leaves the permanent overlap of δ_lim.  What it
stands for on a crushed AM particle (``BinderContact.am_crushed_flattening``): the fragments of a
crushed secondary particle give way at its contacts and fill the pores beside them until they
jam; the jammed fragment packing then carries load elastically.  This closure is the model's
own (the single-particle compression tests that give the crushing strength stop at the
crushing), a one-parameter statement of how far a crushed particle densifies; a DEM that splits
particles into fragments would predict it.

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

from physics.engine._params import (
    FLATTENING_LIMIT,
    NORMAL_MODEL,
    NORMAL_THORNTON_NING,
    YIELD_PRESSURE,
)
from physics.engine.contacts._path import forces_along_path

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MIN_YIELD_GPA, MAX_YIELD_GPA = 0.01, 100.0
MAX_FLATTENING_LIMIT = 1.0  # δ_lim / R*
KPA_PER_GPA = 1.0e6


@nb.njit(inline="always", **_JIT)
def thornton_ning_force(delta, r_star, kn, yield_kpa, delta_max, flattening_limit):
    """Elastic–perfectly-plastic normal force of one contact (module docstring).

    Args:
        delta: overlap δ > 0 [µm]; r_star: R* [µm].
        kn: KN = 4/3 E* of the pair [kPa]; yield_kpa: p_y [kPa].
        delta_max: largest overlap so far δ_max [µm] (history; 0 for a new contact; at most
            δ_lim with a flattening limit).
        flattening_limit: δ_lim / R* [-]; 0 for none.

    Returns:
        (f, delta_max_new): normal force along n, >= 0 [nN]; the updated history.
    """
    e_star = 0.75 * kn
    k1 = kn * math.sqrt(r_star)
    x = math.pi * yield_kpa / (2.0 * e_star)
    delta_y = r_star * x * x
    delta_lim = flattening_limit * r_star if flattening_limit > 0.0 else math.inf
    if delta >= delta_max and delta <= delta_lim:
        if delta <= delta_y:
            return k1 * delta * math.sqrt(delta), delta
        f_y = k1 * delta_y * math.sqrt(delta_y)
        return f_y + math.pi * yield_kpa * r_star * (delta - delta_y), delta
    if delta > delta_max:  # past the limit: the history stops there
        delta_max = delta_lim
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
                      yield_gpa: float, flattening_limit: float = 0.0) -> np.ndarray:
    """Force [nN] along a prescribed overlap path (one contact, no damping), via the kernel."""
    return forces_along_path(delta_path_um, lambda d, d_max: thornton_ning_force(
        d, r_star_um, kn_kpa, yield_gpa * KPA_PER_GPA, d_max, flattening_limit))


def closed_form_curve(delta_path_um: np.ndarray, delta_max_um, r_star_um, kn_kpa, yield_gpa,
                      loading: np.ndarray, flattening_limit=0.0) -> np.ndarray:
    """Closed-form force [nN] of one load (0 → δ_max) and unload (δ_max → 0) cycle, from
    Thornton and Ning's expressions for F_y, R_p and δ_p (with a flattening limit: loading
    past δ_lim and unloading follow the elastic curve of min(δ_max, δ_lim)); every argument may
    be an array (one contact per element, e.g. the fracture reading's)."""
    d = np.clip(np.asarray(delta_path_um, dtype=float), 0, None)
    r, kn = np.asarray(r_star_um, dtype=float), np.asarray(kn_kpa, dtype=float)
    p_y = np.asarray(yield_gpa, dtype=float) * KPA_PER_GPA
    e_star = 0.75 * kn
    d_y = r * (np.pi * p_y / (2 * e_star)) ** 2
    f_y = (4 / 3) * e_star * np.sqrt(r) * d_y ** 1.5
    hertz = (4 / 3) * e_star * np.sqrt(r) * d ** 1.5
    plastic = f_y + np.pi * p_y * r * (d - d_y)
    load = np.where(d <= d_y, hertz, plastic)
    limit = np.asarray(flattening_limit, dtype=float)
    d_lim = np.where(limit > 0, limit * r, np.inf)
    d_max = np.minimum(np.asarray(delta_max_um, dtype=float), d_lim)
    loading = np.asarray(loading) & (d <= d_lim)
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
        flattening_limit: δ_lim / R* in [0, 1] [-]: the overlap where the plastic flattening
            stops (module docstring); 0 for none.
    """

    yield_gpa: float
    flattening_limit: float = 0.0
    name = "thornton-ning"

    def __post_init__(self) -> None:
        if not MIN_YIELD_GPA <= self.yield_gpa <= MAX_YIELD_GPA:
            raise ValueError(f"thornton-ning.yield_gpa = {self.yield_gpa!r}; allowed range "
                             f"[{MIN_YIELD_GPA}, {MAX_YIELD_GPA}] GPa")
        if not 0.0 <= self.flattening_limit <= MAX_FLATTENING_LIMIT:
            raise ValueError(f"thornton-ning.flattening_limit = {self.flattening_limit!r}; "
                             f"allowed range [0, {MAX_FLATTENING_LIMIT:g}] (δ_lim / R*, 0: none)")

    def apply(self, p: np.ndarray) -> None:
        """Write this law into one pair's parameter vector ``p`` (in place)."""
        p[NORMAL_MODEL] = NORMAL_THORNTON_NING
        p[YIELD_PRESSURE] = self.yield_gpa * KPA_PER_GPA
        p[FLATTENING_LIMIT] = self.flattening_limit

    def stiffness_ratio(self) -> float:
        """Largest stiffness relative to Hertz loading at the same contact radius: 1."""
        return 1.0
