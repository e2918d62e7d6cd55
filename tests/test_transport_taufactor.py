"""Validation against TauFactor (PyPI ``taufactor``, Cooper et al. 2016) on random packings.

TauFactor's ``Solver`` (one conducting phase) uses the conventions of :mod:`physics.transport`
(end planes half a voxel outside the first and last voxel centres, D_eff = F L / A, τ = ε / D_eff
with ε the whole conducting fraction), so τ agrees to the solvers' tolerances; the issue asks
for 1 %.  ``MultiPhaseSolver`` puts the end planes one voxel outside, in a copy of the end
layer, and uses L = N + 1: with the default half-voxel planes our D_eff differs from it by
O(1/N) (1.4 % at N = 40, 0.4 % at N = 96); ``end_offset_voxels=1.0`` reproduces its
convention.  It reports τ = (Σ_phase VF·D) / D_eff, our ``tortuosity_conducting``; the pore
fraction's ``tortuosity`` has no TauFactor counterpart with conducting CBD.
"""

from __future__ import annotations

import numpy as np
import pytest

from physics.transport import SolverSettings, diffusion_directions
from physics.voxel import AM, CBD, PORE, Microstructure

tf = pytest.importorskip("taufactor")
CBD_REL = 0.47 ** 1.5
ORIENT = {"x": (0, 1, 2), "y": (1, 2, 0), "z": (2, 0, 1)}  # TauFactor transports along axis 0


def packing(n: int, seed: int, cbd: bool) -> np.ndarray:
    """Overlapping AM spheres (radius 5) to 45 %, optionally CBD spheres (radius 2) to 10 %."""
    rng = np.random.default_rng(seed)
    img = np.zeros((n, n, n), np.uint8)
    grid = np.indices(img.shape).reshape(3, -1).T + 0.5
    for label, radius, target in ((AM, 5.0, 0.45), (CBD, 2.0, 0.10 if cbd else 0.0)):
        while (img == label).mean() < target:
            c = rng.uniform(0, n, 3)
            hit = (((grid - c) ** 2).sum(1) < radius ** 2) & (img.reshape(-1) == PORE)
            img.reshape(-1)[hit] = label
    return img


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pore_tortuosity_agrees_with_taufactor_solver(seed):
    img = packing(40, seed, cbd=False)
    ours = diffusion_directions(Microstructure(img, 1.0), cbd_porosity=0.0)
    for name, perm in ORIENT.items():
        solver = tf.Solver(np.ascontiguousarray(np.transpose(img == PORE, perm)).astype(
            np.uint8), device="cpu")
        solver.solve(verbose=False, conv_crit=1e-4)
        tau_tf = float(np.asarray(solver.tau).ravel()[0])
        assert ours[name].tortuosity == pytest.approx(tau_tf, rel=0.01), name
        assert ours[name].tortuosity == pytest.approx(tau_tf, rel=1e-3), name  # measured ~1e-5


def test_three_phase_effective_diffusivity_agrees_with_taufactor_multiphase():
    img = packing(40, 3, cbd=True)
    ours = diffusion_directions(Microstructure(img, 1.0),
                                settings=SolverSettings(rtol=1e-10, end_offset_voxels=1.0))
    relabel = np.zeros_like(img)  # TauFactor: 0 is the insulator
    relabel[img == PORE] = 1
    relabel[img == CBD] = 2
    for name, perm in ORIENT.items():
        solver = tf.MultiPhaseSolver(np.ascontiguousarray(np.transpose(relabel, perm)),
                                     cond={1: 1.0, 2: CBD_REL}, device="cpu")
        solver.solve(verbose=False, conv_crit=1e-4)
        d_tf = float(np.asarray(solver.D_eff).ravel()[0])
        assert ours[name].d_eff_m2_s / 7.5e-11 == pytest.approx(d_tf, rel=0.01), name
        assert ours[name].d_eff_m2_s / 7.5e-11 == pytest.approx(d_tf, rel=1e-3), name
        # its τ = (Σ_phase VF·D) / D_eff: our τ on the conducting phases
        tau_tf = float(np.asarray(solver.tau).ravel()[0])
        assert ours[name].tortuosity_conducting == pytest.approx(tau_tf, rel=1e-3), name
