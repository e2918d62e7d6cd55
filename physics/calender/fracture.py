"""Particle fracture reading of the press: the Hiramatsu–Oka tensile stress of each AM
particle under its largest net compressive contact force (:func:`am_contact_stress_mpa`) and the
share of particles above a crushing strength (:func:`fractured_fraction`).

Units: stresses and strengths in MPa; the simulation inside in µm, pg, µs (force nN,
pressure kPa).
"""

from __future__ import annotations

import math

import numpy as np

from physics.calender.binder import AM_TYPE
from physics.engine import Simulation
from physics.engine._contact_kernels import CED, KN
from physics.engine._params import (
    HIST_DMAX,
    KC,
    NORMAL_HYSTERETIC,
    NORMAL_MODEL,
    NORMAL_THORNTON_NING,
    PLASTICITY,
    YIELD_PRESSURE,
)

KPA_PER_MPA = 1.0e3


def am_contact_stress_mpa(sim: Simulation, am_type: int = AM_TYPE) -> np.ndarray:
    """Per AM particle: σ = 2.8 F / (π d²) [MPa], the Hiramatsu–Oka tensile stress at the
    centre of a sphere of diameter d loaded by a diametral force F (Hiramatsu & Oka, Int. J.
    Rock Mech. Min. Sci. 3 (1966) 89), with F the largest net compressive normal force on the
    particle over its particle and plane contacts: the Hertz spring (4/3) E* √R* δ^(3/2)
    minus the SJKR cohesion CED · π a² (the contact law's normal force without damping; on
    hysteretic pairs, ``BinderContact.am_plasticity``, the branch the contact is on).
    The net force is the load the contact carries; an adhesive contact at rest carries none,
    however stiff its spring.  Particle crushing strengths are measured in the same form
    (single-particle compression), so σ > strength flags a particle that would crack."""
    pos, r, ptype = sim.position, sim.radius, sim.ptype
    kn = sim.table.params[:, :, KN]
    ced = sim.table.params[:, :, CED]
    i, j = sim.pair_i, sim.pair_j
    d = pos[i] - pos[j]
    for a in range(3):
        if sim.periodic[a]:
            d[:, a] -= sim.box_len[a] * np.rint(d[:, a] / sim.box_len[a])
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    ri, rj = r[i], r[j]
    touch = ri + rj - dist > 0
    i, j, ri, rj, dist = i[touch], j[touch], ri[touch], rj[touch], dist[touch]
    overlap = ri + rj - dist
    # overlap disc of two spheres (the engine's sjkr_pair_area)
    area = -0.25 * math.pi * (dist - ri - rj) * (dist + ri - rj) * (dist - ri + rj) \
        * (dist + ri + rj) / dist ** 2
    force = _elastic_normal_force(sim, np.flatnonzero(touch), i, j, overlap,
                                  ri * rj / (ri + rj)) - ced[ptype[i], ptype[j]] * area
    f_max = np.zeros(sim.n)
    np.maximum.at(f_max, i, force)
    np.maximum.at(f_max, j, force)
    for z, side, wtype in zip(sim.wall_z, sim.wall_side, sim.wall_type, strict=True):
        gap = side * (pos[:, 2] - z)
        hit = r - gap > 0
        f_wall = kn[ptype[hit], wtype] * np.sqrt(r[hit]) * (r[hit] - gap[hit]) ** 1.5 \
            - ced[ptype[hit], wtype] * math.pi * (r[hit] ** 2 - gap[hit] ** 2)
        f_max[hit] = np.maximum(f_max[hit], f_wall)
    am = ptype == am_type
    return 2.8 * f_max[am] / (math.pi * (2.0 * r[am]) ** 2) / KPA_PER_MPA


def _elastic_normal_force(sim: Simulation, k: np.ndarray, i: np.ndarray, j: np.ndarray,
                          overlap: np.ndarray, r_star: np.ndarray) -> np.ndarray:
    """Normal force of contacts k (pairs i, j) without damping and SJKR [nN]: Hertz, or on
    a hysteretic pair (``contacts.hysteretic``) the branch its history δ_max puts it on: a
    plastically flattened contact below its largest overlap carries K_2 (s − λ_p s_max),
    far less than Hertz at the same overlap; on a Thornton–Ning pair
    (``contacts.thornton_ning``) its loading or flattened unloading branch."""
    from physics.engine.contacts import thornton_ning
    from physics.engine.contacts.hysteretic import closed_form_curve

    p = sim.table.params[sim.ptype[i], sim.ptype[j]]
    force = p[:, KN] * np.sqrt(r_star) * overlap ** 1.5
    hyst = p[:, NORMAL_MODEL] == NORMAL_HYSTERETIC
    if hyst.any():
        d_max = sim.hist[k[hyst], HIST_DMAX]
        force[hyst] = closed_form_curve(overlap[hyst], d_max, r_star[hyst], p[hyst, KN],
                                        p[hyst, PLASTICITY], p[hyst, KC],
                                        loading=overlap[hyst] >= d_max)
    tn = p[:, NORMAL_MODEL] == NORMAL_THORNTON_NING
    if tn.any():
        d_max = sim.hist[k[tn], HIST_DMAX]
        force[tn] = thornton_ning.closed_form_curve(
            overlap[tn], d_max, r_star[tn], p[tn, KN],
            p[tn, YIELD_PRESSURE] / thornton_ning.KPA_PER_GPA, loading=overlap[tn] >= d_max)
    return force


def fractured_fraction(am_contact_stress_mpa: np.ndarray, strength_mpa: float) -> float:
    """Share of AM particles whose Hiramatsu–Oka stress exceeds the crushing strength."""
    s = np.asarray(am_contact_stress_mpa, dtype=float)
    return float(np.mean(s > strength_mpa)) if s.size else 0.0
