"""Viscoelastic binder bridge: a Maxwell arm in parallel with the contact (standard linear solid).

A PVDF binder bridge between two particles carries, besides the elastic contact, a stress that
relaxes with the binder's relaxation time τ(T).  Each contact of a pair type with a bridge
holds a Maxwell element (spring in series with a dashpot) whose spring stiffness follows the
contact size like the Hertz stiffness:

    dF_b/dt = k_b(δ) dδ/dt - F_b/τ,   k_b = (3/2) BRIDGE_K sqrt(R* δ)

(k_b is a Hertz tangent stiffness), integrated exactly over a step of constant k_b and overlap
rate (exponential integrator, stable and consistent for any dt/τ):
F_b ← F_b e^{-dt/τ} + k_b Δδ (τ/dt)(1 - e^{-dt/τ}).  F_b adds to the normal force
(compression > 0; after a relaxed compression the arm goes into tension and holds the
particles together), and it is lost when the contact opens.  τ → ∞ makes the arm an elastic
Hertz spring BRIDGE_K √R* δ^{3/2}, so the contact is Hertz with KN + BRIDGE_K; τ → 0 removes
it.  With constant k the response to a step overlap is F_0 e^{-t/τ}, to a constant approach
speed v: F = k v τ (1 - e^{-t/τ}) (closed forms used in the tests).

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

from physics.engine._params import BRIDGE_K, BRIDGE_TAU, KN

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MAX_STIFFNESS_RATIO = 20.0


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
    """Maxwell arm of a binder bridge for a pair type (module docstring).

    Attributes:
        stiffness_ratio: BRIDGE_K / KN in [0, 20] [-] (the instantaneous extra stiffness of
            the bridge relative to the Hertz contact).
        relaxation_time_us: τ in the engine's time [µs], > 0.
    """

    stiffness_ratio: float
    relaxation_time_us: float
    name = "bridge"

    def __post_init__(self) -> None:
        if not 0.0 <= self.stiffness_ratio <= MAX_STIFFNESS_RATIO:
            raise ValueError(f"bridge.stiffness_ratio = {self.stiffness_ratio!r}; allowed "
                             f"range [0, {MAX_STIFFNESS_RATIO}]")
        if not (self.relaxation_time_us > 0 and math.isfinite(self.relaxation_time_us)):
            raise ValueError(f"bridge.relaxation_time_us = {self.relaxation_time_us!r}; "
                             "allowed range (0, inf)")

    def apply(self, p: np.ndarray) -> None:
        """Write this arm into one pair's parameter vector ``p`` (in place)."""
        p[BRIDGE_K] = self.stiffness_ratio * p[KN]
        p[BRIDGE_TAU] = self.relaxation_time_us if self.stiffness_ratio > 0 else 0.0

    def stiffness_ratio_max(self) -> float:
        return 1.0 + self.stiffness_ratio
