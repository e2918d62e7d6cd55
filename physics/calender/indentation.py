"""Flat-punch micro-indentation with the calendering parameters (paper §2, Fig. 2A):
:func:`indent` and its :class:`IndentationResult` (Oliver–Pharr readings).

Units: depths and displacements in µm, forces in nN, pressures in MPa, stiffness in nN/µm,
times in µs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from physics.calender.binder import ProcessConditions
from physics.calender.fracture import KPA_PER_MPA
from physics.calender.protocol import CalenderProtocol, _Press
from physics.materials import DIAMOND, STEEL, Material, _check_range
from physics.state import ParticleState
from physics.structure import structure_metrics


@dataclass(frozen=True)
class IndentationResult:
    """Flat-punch micro-indentation: load, hold and unload of the roll plane (paper Fig. 2A).

    ``trace`` rows carry the plane displacement from first contact [µm], the plane force [nN]
    and both normalised by their maxima, as the paper plots them.
    """

    trace: list[dict] = field(repr=False)
    thickness_um: float
    depth_max_um: float
    force_max_nn: float
    pressure_max_mpa: float
    residual_depth_um: float
    elastic_recovery: float
    plastic_work_fraction: float
    unloading_stiffness_nn_um: float
    contact_area_um2: float
    inertial_number_max: float
    n_particles: int
    steps: int
    wall_s: float


def _work(disp: np.ndarray, force: np.ndarray) -> float:
    return float(np.sum(0.5 * (force[1:] + force[:-1]) * np.diff(disp))) if disp.size > 1 \
        else 0.0


#: indenter materials by name: the test's Vickers diamond, or the roll's steel plane as the
#: paper's simulated indentation used it
INDENTERS = {"diamond": DIAMOND, "steel": STEEL}


def indent(state: ParticleState, depth_fraction: float = 0.1, hold_us: float = 2.0,
           conditions: ProcessConditions | None = None,
           protocol: CalenderProtocol | None = None, *,
           indenter: Material = DIAMOND,
           progress: Callable[[dict], None] | None = None,
           n_threads: int | None = None) -> IndentationResult:
    """Micro-indentation with the calendering parameters (paper §2, Fig. 2A).

    The indenter is the steel plane over the whole periodic cross-section (a flat punch; the
    paper's simulated contact, ~11 600 µm², is its 4 × 4-tiled cell: tile with
    :func:`physics.structure.tile_xy`).  It descends at the inertial-number speed from first
    contact to ``depth_fraction`` × the film thickness, holds for ``hold_us`` and lifts back to
    the first-contact height (the paper pulls back to the original position).

    The punch is made of ``indenter``: by default the test's Vickers diamond, which does not
    stick to the film.  The paper's simulated indentation used the roll's steel plane with
    Table 2's cohesion (0.6 GPa against AM, 0.2 GPa against CBD); such a punch pulls the film
    after it, its force turns tensile on the way up, and the residual depth, read where the
    force first reaches zero, grows: on the `ci` film at the test's conditions the recovery
    falls from 3.7 to 2.1 % (docs/validation/calendering.md), so the steel punch is an
    option (``INDENTERS``), not the default.

    Outputs follow nano-indentation practice (Oliver & Pharr, J. Mater. Res. 7 (1992) 1564):
    residual depth (where the unloading force first reaches zero), elastic recovery
    (δ_max - δ_res)/δ_max, plastic work fraction 1 - W_unload/W_load, and the unloading
    stiffness S = dF/dδ fitted over the upper half of the
    unloading curve.
    """
    t0 = time.perf_counter()
    _check_range("depth_fraction", depth_fraction, 0.0, 0.5, lo_open=True)
    _check_range("hold_us", hold_us, 0.0, 1e3)
    conditions = conditions or ProcessConditions()
    protocol = protocol or CalenderProtocol()
    press = _Press(state, conditions, protocol, n_threads, top_plane=indenter)
    press.relax()
    sim = press.sim
    h0 = structure_metrics(replace(
        press.state("uncalendered", {}), wall_z_um=sim.wall_z[:1].copy(),
        wall_side=np.array([1], dtype=np.int64))).thickness_um
    trace: list[dict] = []
    start = sim.step_count

    def step(direction: int, phase: str) -> float:
        p = press.block(direction, phase, trace)
        if sim.step_count - start > protocol.max_steps:
            raise RuntimeError(f"indentation exceeded max_steps = {protocol.max_steps}")
        return p

    while press.top_contacts() == 0:
        step(-1, "approach")
    z_contact = float(sim.wall_z[1])
    depth_max = depth_fraction * h0
    rows: list[dict] = []

    def record() -> None:
        row = trace[-1]
        row["displacement_um"] = z_contact - row["plane_z_um"]
        rows.append(row)
        if progress:
            progress(row)

    while z_contact - float(sim.wall_z[1]) < depth_max:
        step(-1, "load")
        record()
    n_hold = int(round(hold_us / sim.dt / protocol.control_every))
    for _ in range(n_hold):
        step(0, "hold")
        record()
    while float(sim.wall_z[1]) < z_contact:  # back to the first-contact height (paper)
        step(+1, "unload")
        record()
    disp = np.array([r["displacement_um"] for r in rows])
    force = np.array([r["force_top_nn"] for r in rows])
    phase = np.array([r["phase"] for r in rows])
    f_max = float(force.max())
    d_max = float(disp.max())
    for r in rows:
        r["force_normalized"] = r["force_top_nn"] / f_max if f_max > 0 else 0.0
        r["displacement_normalized"] = r["displacement_um"] / d_max if d_max > 0 else 0.0
    load, unload = phase == "load", phase == "unload"
    w_load = _work(disp[load], force[load])
    w_unload = -_work(disp[unload], np.maximum(force[unload], 0.0))
    upper = unload & (force >= 0.5 * max(force[unload].max(), 0.0)) & (force > 0)
    # fewer than 5 unloading points under load (adhesion turns the plane force tensile at
    # once after a shallow indentation) give no stiffness
    stiffness = float(np.polyfit(disp[upper], force[upper], 1)[0]) if upper.sum() >= 5 \
        else math.nan
    lifted = np.flatnonzero(unload & (force <= 0.0))
    residual = float(disp[lifted[0]]) if lifted.size else 0.0
    i_load = [r["inertial_number"] for r in rows if r["phase"] == "load"
              and math.isfinite(r["inertial_number"]) and r["force_top_nn"] > 0.1 * f_max]
    return IndentationResult(
        trace=rows, thickness_um=h0, depth_max_um=d_max, force_max_nn=f_max,
        pressure_max_mpa=f_max / press.area_um2 / KPA_PER_MPA, residual_depth_um=residual,
        elastic_recovery=(d_max - residual) / d_max if d_max > 0 else 0.0,
        plastic_work_fraction=1.0 - w_unload / w_load if w_load > 0 else math.nan,
        unloading_stiffness_nn_um=stiffness, contact_area_um2=press.area_um2,
        inertial_number_max=max(i_load) if i_load else math.nan, n_particles=sim.n,
        steps=sim.step_count - start, wall_s=time.perf_counter() - t0)
