"""PNG plots of stage results (matplotlib, Agg backend; nothing here is imported by physics)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from physics.structure import RadialDistribution


def _save(fig, path: str | Path) -> Path:
    """Lay out, write as PNG (130 dpi) and close a figure; returns the path."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_rdf(rdf: RadialDistribution, path: str | Path, title: str = "") -> Path:
    """Partial radial distribution functions g(r) of AM-AM, AM-CBD, CBD-CBD."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, g in rdf.g.items():
        ax.plot(rdf.r_um, g, label=name, lw=1.3)
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("r [µm]")
    ax.set_ylabel("g(r) [-]")
    ax.set_title(title or "partial radial distribution functions")
    ax.legend()
    return _save(fig, path)


def plot_drying_log(rows: list[dict], path: str | Path) -> Path:
    """Density [g/cm³] and z pressure [kPa] against step through slurry, shrink and dried."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
    for phase, color in (("slurry", "tab:blue"), ("shrink", "tab:orange"),
                         ("dried", "tab:green")):
        sel = [r for r in rows if r.get("phase") == phase and "density_g_cm3" in r]
        if sel:
            steps = [r["step"] for r in sel]
            ax1.plot(steps, [r["density_g_cm3"] for r in sel], ".-", color=color, label=phase)
            ax2.plot(steps, [r["pressure_kpa"] for r in sel], ".-", color=color)
    ax1.set_ylabel("density [g/cm³]")
    ax1.legend()
    ax2.set_ylabel("z pressure [kPa]")
    ax2.set_xlabel("step")
    ax2.set_yscale("symlog", linthresh=100.0)
    return _save(fig, path)


def plot_porosity_pressure(pressures_mpa, porosities, path: str | Path, *, porosity_zero=None,
                           fit=None, porosities_min=None, title: str = "") -> Path:
    """Porosity after recovery (and at maximum compression) against the maximum pressure,
    with the fitted compaction law."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    p = np.asarray(pressures_mpa, dtype=float)
    ax.plot(p, 100 * np.asarray(porosities), "o", color="tab:red", ms=7,
            label="after recovery (plane force = 0)")
    if porosities_min is not None:
        ax.plot(p, 100 * np.asarray(porosities_min), "v", color="0.45", ms=6,
                label="at maximum compression")
    if porosity_zero is not None:
        ax.plot([0.0], [100 * porosity_zero], "s", color="tab:blue", ms=7, label="uncalendered")
    if fit is not None:
        grid = np.linspace(0.0, max(p.max(), 1e-9) * 1.1, 200)
        ax.plot(grid, 100 * fit.porosity(grid), "-", color="tab:red", lw=1.0, alpha=0.7,
                label=f"ε_min + (ε0 - ε_min) exp(-p/p_c), p_c = {fit.pressure_scale_mpa:.3g} "
                      f"MPa, R² = {fit.r_squared:.4f}")
    ax.set_xlabel("maximum calendering pressure [MPa]")
    ax.set_ylabel("porosity [%]")
    ax.set_title(title or "porosity vs calendering pressure")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_press_trace(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Plane pressure against plane displacement (loading path and every release)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if rows:
        z0 = rows[0]["plane_z_um"]
        phases = list(dict.fromkeys(r["phase"] for r in rows))
        for ph in phases:
            sel = [r for r in rows if r["phase"] == ph]
            ax.plot([z0 - r["plane_z_um"] for r in sel], [r["pressure_mpa"] for r in sel],
                    "-", lw=1.2, label=ph)
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("roll-plane displacement [µm]")
    ax.set_ylabel("plane pressure [MPa]")
    ax.set_title(title or "calendering: plane force-displacement")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_rdf_compare(before: RadialDistribution, after: RadialDistribution, name: str,
                     path: str | Path, labels=("uncalendered", "calendered")) -> Path:
    """One partial g(r) before and after a process step."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(before.r_um, before.g[name], lw=1.3, label=labels[0])
    ax.plot(after.r_um, after.g[name], lw=1.3, label=labels[1])
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("r [µm]")
    ax.set_ylabel(f"g(r) {name} [-]")
    ax.set_title(f"{name} radial distribution")
    ax.legend()
    return _save(fig, path)


def plot_indentation(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Normalised load-displacement curve of a micro-indentation (paper Fig. 2A)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    for phase, color in (("load", "tab:red"), ("hold", "tab:orange"), ("unload", "tab:blue")):
        sel = [r for r in rows if r["phase"] == phase]
        if sel:
            ax.plot([r["displacement_normalized"] for r in sel],
                    [r["force_normalized"] for r in sel], ".-", ms=2.5, lw=1.0, color=color,
                    label=phase)
    ax.set_xlabel("displacement / maximum displacement [-]")
    ax.set_ylabel("load / maximum load [-]")
    ax.set_title(title or "micro-indentation (flat punch)")
    ax.legend()
    return _save(fig, path)


def plot_pore_size_distribution(diameter_um, cumulative_fraction, path: str | Path,
                                title: str = "") -> Path:
    """Cumulative pore volume fraction with local thickness >= d against d [µm]."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    ax.plot(diameter_um, cumulative_fraction, "o-", ms=3, lw=1.3)
    ax.set_xlabel("pore diameter d (local thickness) [µm]")
    ax.set_ylabel("pore volume fraction with size ≥ d [-]")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title or "continuous pore size distribution")
    return _save(fig, path)


def plot_slice_fractions(fractions, voxel_um: float, path: str | Path, title: str = "") -> Path:
    """Pore / AM / CBD fractions per z slice against height above the current collector."""
    import numpy as np

    z = (np.arange(fractions.shape[0]) + 0.5) * voxel_um
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for col, name, color in ((0, "pore", "tab:blue"), (1, "AM", "tab:gray"),
                             (2, "CBD", "tab:orange")):
        ax.plot(z, fractions[:, col], label=name, color=color, lw=1.1)
    ax.set_xlabel("z above the current collector [µm]")
    ax.set_ylabel("area fraction in the slice [-]")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title(title or "phase fractions through the thickness")
    return _save(fig, path)


def plot_discharge(curves, path: str | Path, title: str = "") -> Path:
    """Voltage [V] against specific capacity [mAh/g AM]; ``curves`` is a list of
    (label, capacity [mAh/g], voltage [V])."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for label, capacity_mah_g, voltage_v in curves:
        ax.plot(capacity_mah_g, voltage_v, lw=1.5, label=label)
    ax.set_xlabel("capacity [mAh/g AM]")
    ax.set_ylabel("voltage vs Li/Li+ [V]")
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    ax.set_title(title or "galvanostatic discharge")
    return _save(fig, path)


def plot_nyquist(spectra, path: str | Path, title: str = "") -> Path:
    """Nyquist plot, -Im Z against Re Z [Ω cm²], equal axes up to 1.2 × the largest Re Z;
    ``spectra`` is a list of (label, Z [Ω m²], fitted Z or None)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    span = 0.0
    for n, (label, z_ohm_m2, fit_z) in enumerate(spectra):
        z = np.asarray(z_ohm_m2) * 1e4
        line, = ax.plot(z.real, -z.imag, "o", ms=3, label=label)
        if fit_z is not None:
            zf = np.asarray(fit_z) * 1e4
            ax.plot(zf.real, -zf.imag, "-", lw=1.0, color=line.get_color(),
                    label="transmission-line fit" if n == 0 else None)
        span = max(span, 1.2 * float(z.real.max()))  # the 45° branch, not the whole tail
    ax.set_xlabel("Re Z [Ω cm²]")
    ax.set_ylabel("-Im Z [Ω cm²]")
    ax.set_xlim(0.0, span)
    ax.set_ylim(0.0, span)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "impedance")
    return _save(fig, path)


def plot_parity(output: str, y, predictions: dict, path: str | Path, title: str = "") -> Path:
    """Held-out prediction against simulated value, one marker set per model, with 90 %
    predictive intervals; ``predictions`` maps model name -> (mean, std)."""
    import numpy as np

    y = np.asarray(y)
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    for (name, (mean, std)), marker in zip(predictions.items(), "os^", strict=False):
        ax.errorbar(y, mean, yerr=1.645 * np.asarray(std), fmt=marker, ms=3.5, lw=0.6,
                    alpha=0.8, label=name)
    lo, hi = float(y.min()), float(y.max())
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k-", lw=0.8)
    ax.set_xlabel(f"simulated {output}")
    ax.set_ylabel(f"predicted {output} (held out, 90 % interval)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{output}: cross-validation")
    return _save(fig, path)


def plot_convergence(problem, history: list[dict], path: str | Path) -> Path:
    """Objective of each evaluation (feasible filled, infeasible open, failed as crosses on
    the lower edge) and the best feasible value so far, against the evaluation number."""
    import math

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    best, trace, failed, values = None, [], [], []
    for n, row in enumerate(history, start=1):
        value = row.get(problem.objective, math.nan)
        if row["failed"] or not math.isfinite(value):
            failed.append(n)
        else:
            feasible = problem.feasible({k: row[k] for k in problem.outputs})
            values.append(value)
            ax.plot(n, value, "o", color="C0", mfc="C0" if feasible else "none", ms=5)
            if feasible and (best is None or (value > best if problem.maximize
                                              else value < best)):
                best = value
        trace.append(best if best is not None else math.nan)
    if failed:
        low = min(values) if values else 0.0
        ax.plot(failed, [low] * len(failed), "x", color="C3", ms=7, label="failed")
    ax.step(range(1, len(trace) + 1), trace, where="post", color="C1", label="best feasible")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(problem.objective)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("optimization: filled feasible, open infeasible")
    return _save(fig, path)
