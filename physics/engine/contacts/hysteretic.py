"""Hysteretic elasto-plastic adhesive normal contact (Luding's model in its Hertzian form).

Luding, Granular Matter 10 (2008) 235, Eq. 2-5 (linear springs); the Hertzian form with the
overlap raised to n = 3/2 on every branch is the EEPA model of Thakur et al., Granular Matter
16 (2014) 383, with n = X = 3/2 and f_0 = 0.  With s = δ^{3/2} and K_1 = KN √R* (the Hertz
stiffness, so loading is the Table 2 Hertz curve):

* loading (δ >= δ_max, the largest overlap so far):  f = K_1 s,
* unloading and reloading:  f = K_2 (s - s_p),  K_2 = K_1 / (1 - λ_p),  s_p = λ_p s_max,
  so the permanent (plastic) overlap is δ_p = λ_p^{2/3} δ_max,
* adhesive branch, once f would fall below it:  f = -K_c s,  K_c = KC √R*; on it δ_max is
  lowered so that the unloading branch passes through the current point (Luding's rule), so
  reloading from tension follows K_2.

The pull-off force is  f_min = -K_c K_2 λ_p s_max / (K_2 + K_c) = -[K_c λ_p / (1 - λ_p)] /
(K_2 + K_c) × F_max: it grows in proportion to the largest load the contact has carried, the
"adhesion that grows with plastic flattening" of a plastically deformed binder contact
(Thornton and Ning, Powder Technol. 99 (1998) 154 show the same proportionality for a
pull-off ∝ R_p).  λ_p = 0 is elastic Hertz (no adhesion from this law; SJKR may still add
CED · area).  Damping and the tangential law are those of the Hertz contact; the Coulomb
limit is μ (f + K_c s) (Luding's friction relative to the adhesive branch, >= 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from physics.engine._params import KC, KN, NORMAL_HYSTERETIC, NORMAL_MODEL, PLASTICITY
from physics.engine.contacts._path import forces_along_path

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MAX_PLASTICITY = 0.95  # K_2 <= 20 K_1: stiffer unloading needs a shorter step
MAX_ADHESION_RATIO = 10.0


@nb.njit(inline="always", **_JIT)
def hysteretic_force(delta, r_star, kn, plasticity, kc, delta_max):
    """Elastic-plastic-adhesive normal force of one contact (module docstring).

    Args:
        delta: overlap δ > 0 [µm]; r_star: R* [µm].
        kn, plasticity, kc: KN [kPa], λ_p [-], KC [kPa] of the pair.
        delta_max: largest overlap so far δ_max [µm] (history; 0 for a new contact).

    Returns:
        (f, delta_max_new, f_adhesive): normal force along n, > 0 repulsive [nN]; the updated
        history; the adhesive-branch magnitude K_c s [nN] (for the Coulomb limit).
    """
    sr = math.sqrt(r_star)
    s = delta * math.sqrt(delta)
    k1 = kn * sr
    f_adh = kc * sr * s
    if delta >= delta_max:
        return k1 * s, delta, f_adh
    k2 = k1 / (1.0 - plasticity)
    s_max = delta_max * math.sqrt(delta_max)
    f = k2 * (s - plasticity * s_max)
    if f >= -f_adh:
        return f, delta_max, f_adh
    if plasticity > 0.0:  # move δ_max so the unloading branch passes through (s, -K_c s)
        s_max = s * (k2 + kc * sr) / (k2 * plasticity)
        delta_max = s_max ** (2.0 / 3.0)
    return -f_adh, delta_max, f_adh


def load_unload_curve(delta_path_um: np.ndarray, r_star_um: float, kn_kpa: float,
                      plasticity: float, kc_kpa: float) -> np.ndarray:
    """Force [nN] along a prescribed overlap path (one contact, no damping), via the kernel."""
    return forces_along_path(delta_path_um, lambda d, d_max: hysteretic_force(
        d, r_star_um, kn_kpa, plasticity, kc_kpa, d_max))


def closed_form_curve(delta_path_um: np.ndarray, delta_max_um: float, r_star_um: float,
                      kn_kpa: float, plasticity: float, kc_kpa: float,
                      loading: np.ndarray) -> np.ndarray:
    """Closed-form force [nN] of one load (0 → δ_max) and unload (δ_max → 0) cycle; every
    argument may also be an array (one contact per element, e.g. the fracture reading's)."""
    s = np.clip(delta_path_um, 0, None) ** 1.5
    k1 = kn_kpa * np.sqrt(r_star_um)
    k2 = k1 / (1 - plasticity)
    kc = kc_kpa * np.sqrt(r_star_um)
    unload = np.maximum(k2 * (s - plasticity * delta_max_um**1.5), -kc * s)
    return np.where(loading, k1 * s, unload)


@dataclass(frozen=True)
class Hysteretic:
    """Hysteretic elasto-plastic adhesive normal law for a pair type (module docstring).

    Attributes:
        plasticity: λ_p in [0, 0.95] [-]: the unloading stiffness is KN/(1 - λ_p) and the
            permanent overlap λ_p^{2/3} δ_max (0: elastic Hertz).
        adhesion_ratio: K_c / KN in [0, 10] [-], the adhesive-branch stiffness relative to the
            loading stiffness.
    """

    plasticity: float
    adhesion_ratio: float = 0.0
    name = "hysteretic"

    def __post_init__(self) -> None:
        if not 0.0 <= self.plasticity <= MAX_PLASTICITY:
            raise ValueError(f"hysteretic.plasticity = {self.plasticity!r}; allowed range "
                             f"[0, {MAX_PLASTICITY}]")
        if not 0.0 <= self.adhesion_ratio <= MAX_ADHESION_RATIO:
            raise ValueError(f"hysteretic.adhesion_ratio = {self.adhesion_ratio!r}; allowed "
                             f"range [0, {MAX_ADHESION_RATIO}]")

    def apply(self, p: np.ndarray) -> None:
        """Write this law into one pair's parameter vector ``p`` (in place)."""
        p[NORMAL_MODEL] = NORMAL_HYSTERETIC
        p[PLASTICITY] = self.plasticity
        p[KC] = self.adhesion_ratio * p[KN]

    def stiffness_ratio(self) -> float:
        """Largest stiffness relative to Hertz loading, K_2/K_1 (bounds the time step)."""
        return 1.0 / (1.0 - self.plasticity)
