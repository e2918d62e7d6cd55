"""Friction of a coated contact: a soft film between two hard particles, squeezed out as the
contact is pressed in (boundary lubrication with film breakdown).

Bowden and Tabor, The Friction and Lubrication of Solids (Oxford, 1950), ch. IX–X: where a
boundary film separates two solids, the friction is the film's shear strength over the film-
covered part of the real contact area plus the solids' own over the part where the film has
broken down, μ = α μ_bare + (1 − α) μ_film with α the bare fraction of the area.  Here the
film is the carbon–binder layer that coats each secondary AM particle after drying, and α
grows with how far the contact has been pressed in, its largest overlap δ_max, up to the
film's squeeze-out depth h R*:

    α = min(δ_max / (h R*), 1),   μ = μ_film + α (μ_bare − μ_film),

with μ_film the pair's Coulomb coefficient (``MU``), μ_bare the bare AM–AM friction
(``MU_BARE``) and h (``FILM_DEPTH``) the squeeze-out overlap over R*.  A squeezed-out film does
not flow back while the contact stays closed (δ_max is history; a contact that opens starts
coated again).  The tangential spring, its damping and the Coulomb cap |F_t| <= μ |F_n| are
those of the Hertz contact with this μ.

What it models: a film-coated packing slides at low pressure (the particles rearrange on their
coatings) and locks once the contacts are pressed through their films, so the skeleton that
rearranges easily up to a few MPa then holds at tens of MPa; one constant μ lifts or lowers the
whole compaction curve together.  The depth h is of the order of the coating's thickness over
R*: binder layers of 10–100 nm on secondary particles of 5–15 µm diameter give h ≈ 0.003–0.04
(two films over R* = R/2).  The law and both parameters are the model's closure, calibrated on
the compaction curve (``etwin calibrate --target dem``), not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from physics.engine._params import FILM_DEPTH, MU_BARE

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
MAX_FRICTION = 2.0
MAX_FILM_DEPTH = 0.5  # h = δ_max / R*


@nb.njit(inline="always", **_JIT)
def coated_friction_coefficient(mu_film, mu_bare, film_depth, delta_max, r_star):
    """Coulomb coefficient of a coated contact at largest overlap δ_max [µm] (module
    docstring): μ_film + min(δ_max / (h R*), 1) (μ_bare − μ_film)."""
    bare = delta_max / (film_depth * r_star)
    if bare > 1.0:
        bare = 1.0
    return mu_film + bare * (mu_bare - mu_film)


def friction_limit_along_path(delta_path_um: np.ndarray, normal_force_nn: np.ndarray,
                              r_star_um: float, mu_film: float, mu_bare: float,
                              film_depth: float) -> np.ndarray:
    """Closed form of the Coulomb limit μ(δ_max) |F_n| [nN] along an overlap path (a contact
    that opens, δ <= 0, starts coated again): the reference of the kernel's tests."""
    d = np.asarray(delta_path_um, dtype=float)
    out = np.empty(len(d))
    d_max = 0.0
    for i, di in enumerate(d):
        d_max = 0.0 if di <= 0.0 else max(d_max, di)
        bare = min(d_max / (film_depth * r_star_um), 1.0)
        out[i] = (mu_film + bare * (mu_bare - mu_film)) * abs(normal_force_nn[i])
    return out


@dataclass(frozen=True)
class CoatedFriction:
    """Film-to-bare friction for a pair type (module docstring); the pair's own Coulomb
    coefficient is the film's.

    Attributes:
        bare_friction: μ_bare in [0, 2] [-], the friction once the film is squeezed out.
        film_depth: h in (0, 0.5] [-], the overlap over R* at which it is squeezed out.
    """

    bare_friction: float
    film_depth: float
    name = "coated-friction"

    def __post_init__(self) -> None:
        if not 0.0 <= self.bare_friction <= MAX_FRICTION:
            raise ValueError(f"coated-friction.bare_friction = {self.bare_friction!r}; allowed "
                             f"range [0, {MAX_FRICTION:g}]")
        if not 0.0 < self.film_depth <= MAX_FILM_DEPTH:
            raise ValueError(f"coated-friction.film_depth = {self.film_depth!r}; allowed range "
                             f"(0, {MAX_FILM_DEPTH:g}] (δ_max / R* at which the film is "
                             "squeezed out)")

    def apply(self, p: np.ndarray) -> None:
        """Write this law into one pair's parameter vector ``p`` (in place)."""
        p[MU_BARE] = self.bare_friction
        p[FILM_DEPTH] = self.film_depth

    def stiffness_ratio(self) -> float:
        """Largest stiffness relative to Hertz loading: 1 (friction only)."""
        return 1.0
