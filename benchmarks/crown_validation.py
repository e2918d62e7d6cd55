"""The crown solver against its closed forms, and its mesh convergence (docs/validation/crown.md).

Prints Markdown tables: the Timoshenko roll alone (simply supported beam; the stepped, bored
roll against Castigliano's unit-load integral), the beam on a linear Winkler foundation
(Hetényi's finite free beam; the infinite Bernoulli and Timoshenko beams), the nip law against
an independent quadrature, and the coupled nonlinear nip (force balance, iterations, mesh
convergence, the known-optimum stand-in).  The cases are those of tests/test_crown.py (its
helpers are imported), with the errors printed instead of asserted.

Run: ``python benchmarks/crown_validation.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from physics.crown import NipModel, RollGeometry, SpringBack, Web, optimize_crown, roll_beam
from physics.nip import NipLaw
from tests.test_crown import (
    EI,
    KGA,
    LAW,
    foundation_solve,
    pinned_solve,
    uniform_beam,
    unit_load_deflection,
)


def beam_rows() -> list[tuple[str, float]]:
    rows = []
    length, q = 0.8, 1e5
    exact = 5 * q * length ** 4 / (384 * EI) + q * length ** 2 / (8 * KGA)
    for n in (2, 40):
        beam = uniform_beam(length, n)
        _, w, shape = beam.gauss()
        u = pinned_solve(beam, shape.T @ (w * q))
        rows.append((f"simply supported, uniform load, {n} elements: w(0)",
                     u[2 * (n // 2)] / exact - 1))
    geometry = RollGeometry(barrel_length_mm=600, barrel_diameter_mm=300,
                            journal_diameter_mm=160, bearing_span_mm=900, bore_diameter_mm=120)
    beam = roll_beam(geometry, 350.0, elements_web=30)
    mid = 0.5 * (beam.nodes_m[:-1] + beam.nodes_m[1:])
    _, w, shape = beam.gauss(np.flatnonzero(np.abs(mid) < 0.175))
    u = pinned_solve(beam, shape.T @ (w * 1.5e5))
    for a, label in ((0.0, "centre"), (0.175, "web edge"), (0.3, "barrel end")):
        node = int(np.argmin(np.abs(beam.nodes_m - a)))
        rows.append((f"stepped bored roll, load over the web: w at the {label}",
                     u[2 * node] / unit_load_deflection(geometry, 350.0, 1.5e5, a) - 1))
    return rows


def foundation_rows() -> list[tuple[str, float]]:
    rows = []
    k, load = 5e8, 1e4
    beta = (k / (4 * EI)) ** 0.25
    for beta_l in (0.6, 2.5, 8.0):
        length, n = beta_l / beta, max(60, int(40 * beta_l))
        u = foundation_solve(uniform_beam(length, n, kga=1e10 * EI / (length / n) ** 2), k,
                             load)
        exact = load * beta / (2 * k) * (math.cosh(beta_l) + math.cos(beta_l) + 2) / (
            math.sinh(beta_l) + math.sin(beta_l))
        rows.append((f"Hetényi free beam, βL = {beta_l:g}, {n} elements: w(0)",
                     u[n] / exact - 1))
    length = 24 / beta
    x = np.linspace(0, 4 / beta, 81)
    bernoulli = load * beta / (2 * k) * np.exp(-beta * x) * (np.cos(beta * x)
                                                             + np.sin(beta * x))
    beam = uniform_beam(length, 800, kga=1e10 * EI / (length / 800) ** 2)
    w = beam.deflection_at(foundation_solve(beam, k, load), x)
    rows.append(("infinite Bernoulli beam, 800 elements: max error / w(0) over 4/β",
                 float(np.abs(w - bernoulli).max() / bernoulli[0])))
    kga = 2e8
    alpha = k / (2 * kga)
    a, b = math.sqrt(beta ** 2 + alpha / 2), math.sqrt(beta ** 2 - alpha / 2)
    c1, c2 = np.linalg.solve([[k * a / (a * a + b * b), k * b / (a * a + b * b)], [-a, b]],
                             [load / 2, -load / (2 * kga)])
    exact = np.exp(-a * x) * (c1 * np.cos(b * x) + c2 * np.sin(b * x))
    for n in (400, 800, 1600):
        beam = uniform_beam(length, n, kga=kga)
        w = beam.deflection_at(foundation_solve(beam, k, load), x)
        rows.append((f"infinite Timoshenko beam, {n} elements: max error / w(0)",
                     float(np.abs(w - exact).max() / exact[0])))
    return rows


def nip_law_rows() -> list[tuple[str, float]]:
    """q(g) of the table against brentq-inverted pressures integrated by scipy quad."""
    from scipy.integrate import quad
    from scipy.optimize import brentq

    from physics.compaction import CompactionLaw

    web = Web(width_mm=300, coating_thickness_um=80, sides=2, foil_thickness_um=15)
    spring = SpringBack(3.0, 50.0, 0.5)
    nip = NipLaw(CompactionLaw(0.42, 0.262, 0.233, 1.19), spring, web, 0.2)
    rows = []
    for p_max in (0.05, 2.0, 30.0, 300.0):
        g = float(nip.loaded_gap_m(p_max))

        def pressure(h):
            return 0.0 if h >= nip.entry_m else brentq(lambda p: nip.loaded_gap_m(p) - h, 0,
                                                        1e6, xtol=1e-15, rtol=1e-14)

        entry = quad(lambda t, g=g: pressure(g + t * t), 0, math.sqrt(nip.entry_m - g),
                     limit=200, epsabs=0, epsrel=1e-10)[0]
        rec = 2 * float(nip.recovered_thickness_m(p_max))
        exit_ = quad(lambda t, g=g, r=rec: float(spring.pressure_mpa(r / (g + t * t - 15e-6)
                                                                      - 1)),
                     0, math.sqrt(rec + 15e-6 - g), epsrel=1e-10)[0]
        ref = math.sqrt(0.2) * 1e6 * (entry + exit_)
        rows.append((f"nip law q(g) at a peak pressure of {p_max:g} MPa "
                     f"({1e-3 * ref:.4g} kN/m)", float(nip.line_load_n_m(g)) / ref - 1))
    return rows


def nip_rows() -> list[dict]:
    out = []
    for n in (30, 60, 120, 240, 480):
        model = NipModel(RollGeometry(), Web(), LAW, SpringBack(3.0), elements_web=n)
        t = time.perf_counter()
        sol = model.solve(0.0, force_kn=30.0)
        solve_s = time.perf_counter() - t
        opt = optimize_crown(model, force_kn=30.0)
        out.append({"elements across the web": n, "Newton iterations": sol.iterations,
                    "bearing reaction / F - 1": f"{sol.bearing_reaction_kn / 30.0 - 1:.1e}",
                    "porosity range, no crown [points]": f"{100 * sol.porosity_range():.6f}",
                    "optimum crown [µm]": f"{opt.crown_um:.4f}",
                    "solve [ms]": f"{1e3 * solve_s:.0f}"})
    return out


def main() -> None:
    print("| case | relative error |\n|---|---|")
    for label, err in beam_rows() + foundation_rows() + nip_law_rows():
        print(f"| {label} | {err:.1e} |")
    nip = NipLaw(LAW, SpringBack(3.0), Web(), 0.2)
    print(f"\nnip law table: {len(nip._g)} gaps from {1e6 * nip.gap_min_m:.2f} to "
          f"{1e6 * nip.entry_m:.2f} µm")
    rows = nip_rows()
    print("\n| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    geometry = RollGeometry(barrel_length_mm=500, barrel_diameter_mm=250,
                            journal_diameter_mm=250, bearing_span_mm=500)
    model = NipModel(geometry, Web(width_mm=500), LAW, SpringBack(3.0), elements_web=100)
    ei, kga = geometry.sections(True)
    known = 1e6 * (5 * 1e5 * 0.5 ** 4 / (384 * ei) + 1e5 * 0.5 ** 2 / (8 * kga))
    opt = optimize_crown(model, shape="deflection", force_kn=50.0)
    before = model.solve(0.0, "deflection", force_kn=50.0)
    print(f"\nknown optimum (deflection-shaped crown, uniform roll): {opt.crown_um:.4f} µm "
          f"found, {known:.4f} µm closed form ({opt.crown_um / known - 1:+.1e}); porosity "
          f"range {100 * before.porosity_range():.4f} -> {100 * opt.value:.2e} points")


if __name__ == "__main__":
    main()
