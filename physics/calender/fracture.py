"""Particle fracture of the press: the Hiramatsu–Oka tensile stress of each particle under its
largest net compressive contact force (:func:`contact_stress_mpa`, AM particles:
:func:`am_contact_stress_mpa`), the share of AM particles above a crushing strength
(:func:`fractured_fraction`), and crushing during the press (:func:`crushing_strengths_mpa`,
:func:`crush`).

Crushing.  A secondary NMC particle is an agglomerate of primary crystallites; in
single-particle compression it loads elastically, then breaks at a force F_c that scatters
from particle to particle (brittle, weakest-link): the strength σ_c = 2.8 F_c/(π d²) follows a
Weibull law with the volume effect, P(σ_c <= σ) = 1 - exp[-(d/d_0)³ (σ/σ_0)^m], so a particle
of diameter d has the characteristic strength σ_0 (d_0/d)^{3/m} (Weibull, J. Appl. Mech. 18
(1951) 293; McDowell & Bolton, Géotechnique 48 (1998) 667 for crushable grains).  Each AM
particle draws its strength once per press (:func:`crushing_strengths_mpa`).  After every
control block the press reads each AM particle's Hiramatsu–Oka stress; a particle above its
strength is crushed for good (:func:`crush`): it becomes engine type ``AM_CRUSHED_TYPE``,
whose contacts with AM particles and the planes follow the Thornton–Ning law with the crushed
yield pressure ``BinderContact.am_crushed_yield_gpa`` (its fragments give way at the contacts
and flatten there; the overlap history is kept, so at the crushing the load on the particle
drops onto the crushed law's loading curve, the load drop of a single-particle compression
test).  The particle keeps its volume, mass and place: the model does not split it, so the
fragments do not move into the neighbouring pores, and the crushed law stands for the
densification that the fragments give.  A DEM of calendering with fragmenting particles
(replacement by fragments, or bonded primary particles) would resolve that; the paper's
outlook (Ngandjong et al. 2021, §4) names the cracking of the secondary particles as the next
step of its model.

Which stress breaks a particle (``BinderContact.am_crushing_stress``).  ``"contact"``: the
Hiramatsu–Oka stress of the particle's largest contact force, as if that force pressed it
diametrically against one opposite contact (:func:`contact_stress_mpa`); a particle seated
on many neighbours is then as fragile as one pinched between two.  ``"octahedral"``: the
octahedral shear stress of the particle's mean stress tensor over all its contacts, scaled to
equal the Hiramatsu–Oka stress in a diametral test (:func:`octahedral_stress_mpa`; McDowell
& de Bono, Géotechnique 63 (2013) 895, for crushable grains in one-dimensional compression),
so a particle under an isotropic load from many contacts does not break (the cushioning of a
high coordination, McDowell, Bolton & Robertson, J. Mech. Phys. Solids 44 (1996) 2079) and
σ_0 keeps its single-particle meaning.

Units: stresses and strengths in MPa; the simulation inside in µm, pg, µs (force nN,
pressure kPa).
"""

from __future__ import annotations

import math

import numpy as np

from physics.calender.binder import AM_CRUSHED_TYPE, AM_TYPE
from physics.engine import Simulation
from physics.engine._contact_kernels import CED, KN
from physics.engine._params import (
    FLATTENING_LIMIT,
    HIST_DMAX,
    KC,
    NORMAL_HYSTERETIC,
    NORMAL_MODEL,
    NORMAL_THORNTON_NING,
    PLASTICITY,
    YIELD_PRESSURE,
)

KPA_PER_MPA = 1.0e3
WEIBULL_REFERENCE_DIAMETER_UM = 10.0  # d_0 of the crushing strength's size effect [µm]


def am_contact_stress_mpa(sim: Simulation) -> np.ndarray:
    """:func:`contact_stress_mpa` of the AM particles, intact (``AM_TYPE``) or crushed
    (``AM_CRUSHED_TYPE``), in particle order [MPa]."""
    am = (sim.ptype == AM_TYPE) | (sim.ptype == AM_CRUSHED_TYPE)
    return contact_stress_mpa(sim)[am]


# Hiramatsu–Oka stress / octahedral shear stress of a sphere pinched by two opposite
# forces F: 2.8 F/(π d²) against (√2/3) · 6 F/(π d²) (module docstring)
OCTAHEDRAL_TO_DIAMETRAL = 2.8 / (2.0 * math.sqrt(2.0))


def octahedral_stress_mpa(sim: Simulation) -> np.ndarray:
    """Per particle: σ = (2.8/(2√2)) τ_oct [MPa], τ_oct = √(s:s/3) the octahedral shear
    stress of the particle's mean stress tensor σ_ij = (1/V) Σ_c F_c l_c n_i n_j over its
    particle and plane contacts (compression positive; F_c the net normal force of
    :func:`contact_stress_mpa`, l_c the distance from the centre to the contact plane, n the
    contact normal; the tangential forces are left out), s its deviator.  Two opposite
    forces F on a sphere of diameter d give 2.8 F/(π d²), the Hiramatsu–Oka stress; an
    isotropic load gives 0 (module docstring)."""
    i, j, n_ij, dist, force = _contact_forces(sim)
    r = sim.radius
    l_i = (dist ** 2 + r[i] ** 2 - r[j] ** 2) / (2.0 * dist)
    nn = n_ij[:, :, None] * n_ij[:, None, :]
    moment = np.zeros((sim.n, 3, 3))
    np.add.at(moment, i, (force * l_i)[:, None, None] * nn)
    np.add.at(moment, j, (force * (dist - l_i))[:, None, None] * nn)
    for hit, gap, f_wall in _wall_forces(sim):
        moment[hit, 2, 2] += f_wall * gap
    sigma = moment / (4.0 / 3.0 * math.pi * r ** 3)[:, None, None]
    dev = sigma - np.trace(sigma, axis1=1, axis2=2)[:, None, None] / 3.0 * np.eye(3)
    tau = np.sqrt(np.einsum("nij,nij->n", dev, dev) / 3.0)
    return OCTAHEDRAL_TO_DIAMETRAL * tau / KPA_PER_MPA


def _contact_forces(sim: Simulation):
    """The touching particle pairs i, j, their unit normals (from j to i), centre distances
    [µm] and net compressive normal forces [nN] (:func:`contact_stress_mpa`)."""
    pos, r, ptype = sim.position, sim.radius, sim.ptype
    ced = sim.table.params[:, :, CED]
    i, j = sim.pair_i, sim.pair_j
    d = pos[i] - pos[j]
    for a in range(3):
        if sim.periodic[a]:
            d[:, a] -= sim.box_len[a] * np.rint(d[:, a] / sim.box_len[a])
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    ri, rj = r[i], r[j]
    touch = ri + rj - dist > 0
    i, j, ri, rj, dist, d = i[touch], j[touch], ri[touch], rj[touch], dist[touch], d[touch]
    overlap = ri + rj - dist
    # overlap disc of two spheres (the engine's sjkr_pair_area)
    area = -0.25 * math.pi * (dist - ri - rj) * (dist + ri - rj) * (dist - ri + rj) \
        * (dist + ri + rj) / dist ** 2
    force = _elastic_normal_force(sim, np.flatnonzero(touch), i, j, overlap,
                                  ri * rj / (ri + rj)) - ced[ptype[i], ptype[j]] * area
    return i, j, d / dist[:, None], dist, force


def _wall_forces(sim: Simulation):
    """Per plane: the particles touching it, their centre–plane distances [µm] and net
    compressive normal forces [nN] (Hertz minus SJKR, as :func:`contact_stress_mpa`)."""
    pos, r, ptype = sim.position, sim.radius, sim.ptype
    kn = sim.table.params[:, :, KN]
    ced = sim.table.params[:, :, CED]
    out = []
    for z, side, wtype in zip(sim.wall_z, sim.wall_side, sim.wall_type, strict=True):
        gap = side * (pos[:, 2] - z)
        hit = np.flatnonzero(r - gap > 0)
        g = gap[hit]
        f_wall = kn[ptype[hit], wtype] * np.sqrt(r[hit]) * (r[hit] - g) ** 1.5 \
            - ced[ptype[hit], wtype] * math.pi * (r[hit] ** 2 - g ** 2)
        out.append((hit, g, f_wall))
    return out


def contact_stress_mpa(sim: Simulation) -> np.ndarray:
    """Per particle: σ = 2.8 F / (π d²) [MPa], the Hiramatsu–Oka tensile stress at the
    centre of a sphere of diameter d loaded by a diametral force F (Hiramatsu & Oka, Int. J.
    Rock Mech. Min. Sci. 3 (1966) 89), with F the largest net compressive normal force on the
    particle over its particle and plane contacts: the Hertz spring (4/3) E* √R* δ^(3/2)
    minus the SJKR cohesion CED · π a² (the contact law's normal force without damping; on
    hysteretic pairs, ``BinderContact.am_plasticity``, the branch the contact is on).
    The net force is the load the contact carries; an adhesive contact at rest carries none,
    however stiff its spring.  Particle crushing strengths are measured in the same form
    (single-particle compression), so σ > strength flags a particle that would crack."""
    i, j, _, _, force = _contact_forces(sim)
    f_max = np.zeros(sim.n)
    np.maximum.at(f_max, i, force)
    np.maximum.at(f_max, j, force)
    for hit, _, f_wall in _wall_forces(sim):
        f_max[hit] = np.maximum(f_max[hit], f_wall)
    return 2.8 * f_max / (math.pi * (2.0 * sim.radius) ** 2) / KPA_PER_MPA


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
            p[tn, YIELD_PRESSURE] / thornton_ning.KPA_PER_GPA, loading=overlap[tn] >= d_max,
            flattening_limit=p[tn, FLATTENING_LIMIT])
    return force


def fractured_fraction(am_contact_stress_mpa: np.ndarray, strength_mpa: float) -> float:
    """Share of AM particles whose Hiramatsu–Oka stress exceeds the crushing strength."""
    s = np.asarray(am_contact_stress_mpa, dtype=float)
    return float(np.mean(s > strength_mpa)) if s.size else 0.0


def crushing_strengths_mpa(diameter_um: np.ndarray, strength_mpa: float, weibull_modulus: float,
                           rng: np.random.Generator) -> np.ndarray:
    """One Weibull crushing strength per particle [MPa] (module docstring): σ_c = σ_0 (d_0/d)^{3/m}
    (-ln U)^{1/m}, U uniform on (0, 1], d_0 = ``WEIBULL_REFERENCE_DIAMETER_UM``; the strengths
    of particles of one diameter follow ``scipy.stats.weibull_min(m, scale=σ_0 (d_0/d)^{3/m})``."""
    d = np.asarray(diameter_um, dtype=float)
    scale = strength_mpa * (WEIBULL_REFERENCE_DIAMETER_UM / d) ** (3.0 / weibull_modulus)
    u = 1.0 - rng.random(d.shape)  # (0, 1]
    return scale * (-np.log(u)) ** (1.0 / weibull_modulus)


CRUSHING_STRESSES = {"contact": contact_stress_mpa, "octahedral": octahedral_stress_mpa}


def crush(sim: Simulation, strength_mpa: np.ndarray, criterion: str = "contact") -> np.ndarray:
    """Crush the intact AM particles whose crushing stress (``criterion``, a key of
    ``CRUSHING_STRESSES``: :func:`contact_stress_mpa` or :func:`octahedral_stress_mpa`)
    exceeds their strength (``strength_mpa``, one per particle, inf for particles that do
    not break): their engine type becomes ``AM_CRUSHED_TYPE`` (module docstring).  Returns
    the indices of the particles crushed now."""
    stress = CRUSHING_STRESSES[criterion](sim)
    broken = np.flatnonzero((sim.ptype == AM_TYPE) & (stress > strength_mpa))
    sim.ptype[broken] = AM_CRUSHED_TYPE
    return broken
