"""Viscoelastic binder bridge: a standard linear solid (Zener) in parallel with the contact.

A PVDF binder bridge between two particles carries, besides the elastic contact, a stress of
which one part relaxes with the binder's relaxation time τ(T) and one part does not.  Each
contact of a pair type with a bridge holds

- a Maxwell element (spring in series with a dashpot) whose spring stiffness follows the
  contact size like the Hertz stiffness:

      dF_M/dt = k_M(δ) dδ/dt - F_M/τ,   k_M = (3/2) BRIDGE_K sqrt(R* δ)

  (k_M is a Hertz tangent stiffness), integrated exactly over a step of constant k_M and
  overlap rate (exponential integrator, stable and consistent for any dt/τ):
  F_M ← F_M e^{-dt/τ} + k_M Δδ (τ/dt)(1 - e^{-dt/τ});
- an equilibrium (rubbery) spring beside it, dF_eq = (3/2) BRIDGE_KEQ sqrt(R* δ) dδ, which
  does not relax (the same update with e^{-dt/τ} = 1).

Both arms count the overlap from where the contact formed: the bridge is stress-free in the
state it was made in (a dried film's overlaps, left by the drying's force field, load neither
arm; moving back past the forming overlap stretches the bridge into tension until the contact
opens).  The bridge's instantaneous tangent stiffness is 1.5 (BRIDGE_K + BRIDGE_KEQ)
sqrt(R* δ) (``stiffness_ratio`` × the Hertz one) and its relaxed one 1.5 BRIDGE_KEQ
sqrt(R* δ) (``equilibrium_fraction`` of it): the relaxation modulus
E(t) = E_∞ + (E_0 − E_∞) e^{−t/τ} of a standard linear solid.  Why the equilibrium
arm: PVDF is semicrystalline (≈ 40–60 % crystalline, T_g ≈ −40 °C), so above T_g its
amorphous phase relaxes while the crystallites keep a network that carries load at long times
(a rubbery plateau of a fraction of the short-time modulus, not zero); a pure Maxwell bridge
relaxes completely in a slow bench test (an indentation loaded over minutes) and leaves
no elastic recovery that the binder could give back.

F_M + F_eq add to the normal force (compression > 0; after a relaxed compression the Maxwell
arm goes into tension and holds the particles together), and both are lost when the contact
opens.  For a contact formed at zero overlap τ → ∞ makes the bridge an elastic Hertz spring
(BRIDGE_K + BRIDGE_KEQ) √R* δ^{3/2}, and τ → 0 leaves the equilibrium arm
BRIDGE_KEQ √R* δ^{3/2}.  With constant k the Maxwell arm's response to a step overlap is
F_0 e^{-t/τ}, to a constant approach speed v: F = k v τ (1 - e^{-t/τ}) (closed forms used in
the tests).

Time in the nip: the relaxation time enters through the Deborah number De = τ(T)/t_nip of
the roll (``physics.calender``), and the engine's τ is De × the simulated compression time,
so that a hotter or slower nip relaxes the bridge further during the compression
(Arrhenius shift of the α_c relaxation of PVDF; the reference values are in
``physics.calender.BinderRheology``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from physics.engine._params import BRIDGE_K, BRIDGE_KEQ, BRIDGE_TAU, KN

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MAX_STIFFNESS_RATIO = 20.0
MAX_EQUILIBRIUM_SCALE = 1e3


@nb.njit(inline="always", **_JIT)
def bridge_force(force_prev, kb_sq, ddelta, decay, gain):
    """Maxwell-arm force after one step [nN].

    Args:
        force_prev: F_b at the start of the step [nN] (history).
        kb_sq: spring stiffness k_b = 1.5 BRIDGE_K sqrt(R* δ) [nN/µm].
        ddelta: overlap increment over the step [µm] (> 0 approaching).
        decay, gain: e^{-dt/τ} and (τ/dt)(1 - e^{-dt/τ}) (:func:`step_factors`).
    """
    return force_prev * decay + kb_sq * ddelta * gain


def step_factors(tau_us: float, dt_us: float) -> tuple[float, float]:
    """(decay, gain) of :func:`bridge_force` for relaxation time τ and step dt [µs]."""
    x = dt_us / tau_us
    return math.exp(-x), -math.expm1(-x) / x


@dataclass(frozen=True)
class BinderBridge:
    """Standard-linear-solid binder bridge for a pair type (module docstring).

    Attributes:
        stiffness_ratio: (BRIDGE_K + BRIDGE_KEQ) / KN in [0, 20] [-] (the instantaneous extra
            stiffness of the bridge relative to the Hertz contact).
        relaxation_time_us: τ in the engine's time [µs], > 0.
        equilibrium_fraction: BRIDGE_KEQ / (BRIDGE_K + BRIDGE_KEQ) in [0, 1] [-]: the share of
            the bridge's stiffness that does not relax (0: a Maxwell bridge that relaxes
            completely; 1: an elastic one).
        equilibrium_scale: factor on the equilibrium arm alone [-], in (0, 1e3]: BRIDGE_KEQ =
            equilibrium_scale × equilibrium_fraction × stiffness_ratio × KN.  The pair's KN
            carries the binder's short-time modulus at the roll's or test's temperature and
            rate; the relaxed (rubbery-plateau) modulus has no rate and its own temperature
            law, and a press sets this to their ratio
            (``physics.calender.BinderRheology.plateau_factor``).  1: the arm follows KN.
    """

    stiffness_ratio: float
    relaxation_time_us: float
    equilibrium_fraction: float = 0.0
    equilibrium_scale: float = 1.0
    name = "bridge"

    def __post_init__(self) -> None:
        if not 0.0 <= self.stiffness_ratio <= MAX_STIFFNESS_RATIO:
            raise ValueError(f"bridge.stiffness_ratio = {self.stiffness_ratio!r}; allowed "
                             f"range [0, {MAX_STIFFNESS_RATIO}]")
        if not (self.relaxation_time_us > 0 and math.isfinite(self.relaxation_time_us)):
            raise ValueError(f"bridge.relaxation_time_us = {self.relaxation_time_us!r}; "
                             "allowed range (0, inf)")
        if not 0.0 <= self.equilibrium_fraction <= 1.0:
            raise ValueError(f"bridge.equilibrium_fraction = {self.equilibrium_fraction!r}; "
                             "allowed range [0, 1]")
        if not 0.0 < self.equilibrium_scale <= MAX_EQUILIBRIUM_SCALE:
            raise ValueError(f"bridge.equilibrium_scale = {self.equilibrium_scale!r}; allowed "
                             f"range (0, {MAX_EQUILIBRIUM_SCALE:g}]")

    def apply(self, p: np.ndarray) -> None:
        """Write this arm into one pair's parameter vector ``p`` (in place)."""
        p[BRIDGE_K] = (1.0 - self.equilibrium_fraction) * self.stiffness_ratio * p[KN]
        p[BRIDGE_KEQ] = (self.equilibrium_scale * self.equilibrium_fraction
                         * self.stiffness_ratio * p[KN])
        p[BRIDGE_TAU] = self.relaxation_time_us if self.stiffness_ratio > 0 else 0.0

