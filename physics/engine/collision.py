"""One head-on collision with the Table 2 contact law (``etwin collide``).

A sphere of material ``particle`` hits a plane or a sphere of material ``target`` at the
relative speed ``speed_m_s`` (1 m/s = 1 µm/µs in engine units); the engine integrates until
the bodies separate.  Compared with the undamped Hertz contact time (Johnson 1985, eq. 11.24,
:func:`physics.engine.contact.hertz_contact_time_us`) and the pair's restitution input
√(e₁ e₂) (LIGGGHTS' geometric mixing).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from physics.engine.contact import effective_young_kpa, hertz_contact_time_us, liggghts_table
from physics.engine.simulation import Simulation, Wall
from physics.materials import ALUMINIUM, CBD, NMC, STEEL, Material

#: the bodies of ``etwin collide``; Al and steel are planes unless given a radius
COLLISION_MATERIALS = {"AM": NMC, "CBD": CBD, "Al": ALUMINIUM, "steel": STEEL}
PLANE_MATERIALS = ("Al", "steel")
#: the run stops after this many undamped Hertz times if the bodies never separate
MAX_CONTACT_TIMES = 50


@dataclass(frozen=True)
class Collision:
    """Outcome of :func:`head_on_collision` (speeds in m/s, times in µs)."""

    target_is_plane: bool
    dt_us: float
    rebound_speed_m_s: float
    restitution: float
    restitution_pair_input: float
    stuck: bool
    contact_time_us: float
    hertz_contact_time_undamped_us: float
    wall_s: float


def head_on_collision(particle: str, target: str, radius_um: float, speed_m_s: float, *,
                      target_radius_um: float | None = None, cohesion: bool = True,
                      dt_us: float | None = None) -> Collision:
    """Collide a ``particle`` sphere of ``radius_um`` head-on with ``target`` (a plane for Al
    and steel without ``target_radius_um``, else a sphere of that radius, default the same)
    at ``speed_m_s``; ``dt_us`` defaults to the Hertz contact time / 400."""
    for field, name in (("particle", particle), ("target", target)):
        if name not in COLLISION_MATERIALS:
            raise ValueError(f"{field} {name!r} is unknown; allowed: "
                             f"{', '.join(COLLISION_MATERIALS)}")
    for field, value in (("speed_m_s", speed_m_s), ("radius_um", radius_um),
                         ("target_radius_um", target_radius_um)):
        if value is not None and not (math.isfinite(value) and 0 < value <= 100):
            raise ValueError(f"{field} {value} is outside the allowed range (0, 100]")
    if dt_us is not None and not (math.isfinite(dt_us) and dt_us > 0):
        raise ValueError(f"dt_us must be > 0, got {dt_us}")
    mats: list[Material] = [COLLISION_MATERIALS[particle], COLLISION_MATERIALS[target]]
    if not cohesion:
        mats = [dataclasses.replace(m, cohesion_energy_density_pa=0.0) for m in mats]
    r1, v = radius_um, speed_m_s
    m1 = mats[0].density_g_cm3 * 4 / 3 * math.pi * r1**3
    plane = target in PLANE_MATERIALS and target_radius_um is None
    if plane:
        r2 = 0.0
        r_star, m_star = r1, m1
        bodies = dict(position=np.array([[0.0, 0.0, r1 + 1e-4 * r1]]), radius=[r1], mass=[m1],
                      ptype=[0], walls=[Wall(0.0, 1, 1)], velocity=[[0.0, 0.0, -v]])
    else:
        r2 = target_radius_um or r1
        m2 = mats[1].density_g_cm3 * 4 / 3 * math.pi * r2**3
        r_star, m_star = r1 * r2 / (r1 + r2), m1 * m2 / (m1 + m2)
        bodies = dict(position=np.array([[0.0, 0.0, r1 + r2 + 1e-4 * r1], [0.0, 0.0, 0.0]]),
                      radius=[r1, r2], mass=[m1, m2], ptype=[0, 1],
                      velocity=[[0.0, 0.0, -v * m2 / (m1 + m2)],
                                [0.0, 0.0, v * m1 / (m1 + m2)]])
    t_hertz = hertz_contact_time_us(effective_young_kpa(*mats), r_star, m_star, v)
    dt = dt_us or t_hertz / 400
    span = 4 * (r1 + r2) + 10
    sim = Simulation(table=liggghts_table(mats), box_lo=(-span,) * 3, box_hi=(span,) * 3,
                     periodic=(False,) * 3, dt_us=dt, **bodies)
    t0 = time.perf_counter()
    steps_in_contact, touched, gap = 0, False, 1.0
    for _ in range(int(MAX_CONTACT_TIMES * t_hertz / dt)):
        sim.run(1)
        gap = (sim.position[0, 2] - r1 if plane
               else float(np.linalg.norm(sim.position[0] - sim.position[1])) - r1 - r2)
        if gap < 0:
            touched = True
            steps_in_contact += 1
        elif touched:
            break
    rebound = float(sim.velocity[0, 2] - (0.0 if plane else sim.velocity[1, 2]))
    return Collision(
        target_is_plane=plane, dt_us=dt, rebound_speed_m_s=rebound, restitution=rebound / v,
        restitution_pair_input=math.sqrt(mats[0].restitution * mats[1].restitution),
        stuck=bool(touched and gap < 0), contact_time_us=steps_in_contact * dt,
        hertz_contact_time_undamped_us=t_hertz, wall_s=time.perf_counter() - t0)
