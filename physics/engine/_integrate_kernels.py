"""numba kernels: velocity Verlet with rotation, Langevin thermostat, affine box scaling.

Velocity Verlet (Swope et al., J. Chem. Phys. 76 (1982) 637) in the split used by LAMMPS and
LIGGGHTS ``fix nve/sphere``: half kick, drift, force evaluation, half kick.  Spheres have moment
of inertia I = 2/5 m R².  Engine units: µm, pg, µs.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@nb.njit(parallel=True, **_JIT)
def kick_drift(pos, vel, omega, force, torque, inv_mass, inv_inertia, dt, pos_ref, chunk_start):
    """Half kick (v, ω) then full drift (x); returns the largest squared displacement
    since ``pos_ref`` (the positions at the last neighbour-list build) [µm²]."""
    n_chunks = chunk_start.shape[0] - 1
    chunk_max = np.zeros(n_chunks)
    half = 0.5 * dt
    for c in nb.prange(n_chunks):
        m = 0.0
        for i in range(chunk_start[c], chunk_start[c + 1]):
            d2 = 0.0
            for a in range(3):
                vel[i, a] += half * force[i, a] * inv_mass[i]
                omega[i, a] += half * torque[i, a] * inv_inertia[i]
                pos[i, a] += dt * vel[i, a]
                d = pos[i, a] - pos_ref[i, a]
                d2 += d * d
            if d2 > m:
                m = d2
        chunk_max[c] = m
    return chunk_max.max()


@nb.njit(parallel=True, **_JIT)
def kick(vel, omega, force, torque, inv_mass, inv_inertia, dt):
    """Second half kick of velocity Verlet."""
    half = 0.5 * dt
    for i in nb.prange(vel.shape[0]):
        for a in range(3):
            vel[i, a] += half * force[i, a] * inv_mass[i]
            omega[i, a] += half * torque[i, a] * inv_inertia[i]


@nb.njit(**_JIT)
def seed_rng(seed):
    """Seed numba's own generator (used by :func:`langevin_forces`)."""
    np.random.seed(seed)


@nb.njit(**_JIT)
def langevin_forces(force, vel, mass, gamma, kt, dt):
    """Add the Langevin friction and random force (LAMMPS ``fix langevin``).

    F += -γ m v + sqrt(2 γ m k_B T / dt) ξ,  ξ ~ N(0, 1) per component.

    Args:
        gamma: damping rate γ [1/µs] (1/γ is the velocity relaxation time).
        kt: k_B T [1e-15 J].
    """
    for i in range(vel.shape[0]):
        s = math.sqrt(2.0 * gamma * mass[i] * kt / dt)
        for a in range(3):
            force[i, a] += -gamma * mass[i] * vel[i, a] + s * np.random.standard_normal()


@nb.njit(**_JIT)
def scale_positions(pos, origin, factor):
    """Affine map x_a -> origin_a + factor_a (x_a - origin_a) for every particle."""
    for i in range(pos.shape[0]):
        for a in range(3):
            pos[i, a] = origin[a] + factor[a] * (pos[i, a] - origin[a])


@nb.njit(**_JIT)
def kinetic_tensor(vel, mass):
    """Σ m v ⊗ v [pg µm² µs⁻² = 1e-15 J] (3×3)."""
    t = np.zeros((3, 3))
    for i in range(vel.shape[0]):
        for a in range(3):
            for b in range(3):
                t[a, b] += mass[i] * vel[i, a] * vel[i, b]
    return t
