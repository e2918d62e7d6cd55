"""PNG plots of stage results (matplotlib, Agg backend; nothing here is imported by physics)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker

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
                           fit=None, porosities_min=None, floor_speed=None,
                           title: str = "") -> Path:
    """Porosity after recovery (and at maximum compression) against the maximum pressure,
    with the fitted compaction law; symmetric-log pressure axis (linear below 0.1 MPa, so the
    uncalendered film sits at 0); ``fit`` a :class:`physics.compaction.CompactionFit`.  Points
    whose target the roll reached at the floor plane
    speed (``floor_speed``, one bool per point) are drawn open."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    p = np.asarray(pressures_mpa, dtype=float)
    por = 100 * np.asarray(porosities, dtype=float)
    floor = np.zeros(p.size, bool) if floor_speed is None else np.asarray(floor_speed, bool)
    ax.plot(p[~floor], por[~floor], "o", color="tab:red", ms=7,
            label="after recovery (plane force = 0)")
    if floor.any():
        ax.plot(p[floor], por[floor], "o", mfc="none", color="tab:red", ms=7,
                label="after recovery, target reached at the floor plane speed")
    if porosities_min is not None:
        ax.plot(p, 100 * np.asarray(porosities_min), "v", color="0.45", ms=6,
                label="at maximum compression")
    if porosity_zero is not None:
        ax.plot([0.0], [100 * porosity_zero], "s", color="tab:blue", ms=7, label="uncalendered")
    if fit is not None:
        top = max(p.max(), 1e-9) * 1.1
        grid = np.concatenate([np.linspace(0.0, 0.1, 20), np.geomspace(0.1, max(top, 0.2), 200)])
        law = fit.law
        ax.plot(grid, 100 * law.porosity(grid), "-", color="tab:red", lw=1.0, alpha=0.7,
                label=f"ε_min + (ε0 - ε_min)(1 + m p / K0)^(-1/m): ε_min = "
                      f"{100 * law.porosity_min:.1f} %, K0 = {law.modulus_mpa:.3g} MPa, "
                      f"m = {law.modulus_slope:.3g}, RMS {100 * fit.residual_sd:.2f} pt")
    ax.set_xscale("symlog", linthresh=0.1, linscale=0.5)
    ax.set_xlim(left=0.0)
    ax.set_xlabel("maximum calendering pressure [MPa]")
    ax.set_ylabel("porosity [%]")
    ax.set_title(title or "porosity vs calendering pressure")
    # below the axes: inside, the long fit label covered the high-pressure points
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return _save(fig, path)


def plot_press_trace(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Plane pressure against plane displacement: the loading path in black and each release
    branch (dwell, lift to zero force, lift to the last contact) in one colour per pressure;
    symmetric-log pressure axis (linear within ±0.1 MPa) so low-pressure branches show."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if rows:
        z0 = rows[0]["plane_z_um"]
        branches: dict[str, list[dict]] = {}
        for r in rows:
            key = "load" if r["phase"] == "load" else r["phase"].split(" (")[0]
            branches.setdefault(key, []).append(r)
        released = [k for k in branches if k != "load"]
        cmap = plt.get_cmap("viridis")
        colors = {k: cmap(0.9 * i / max(len(released) - 1, 1)) for i, k in enumerate(released)}
        colors["load"] = "black"
        for key, sel in branches.items():
            color = colors[key]
            label = "loading" if key == "load" else key.replace("release ", "release from ")
            ax.plot([z0 - r["plane_z_um"] for r in sel], [r["pressure_mpa"] for r in sel],
                    "-", lw=1.0 if key == "load" else 1.4, color=color, label=label)
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("roll-plane displacement [µm]")
    ax.set_ylabel("plane pressure [MPa]")
    ax.set_title(title or "calendering: plane force-displacement")
    ax.legend(fontsize=7, loc="upper left")
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
    ax.set_title(title or f"{output}: cross-validation", fontsize=10)
    return _save(fig, path)


def plot_coverage(output: str, curve, path: str | Path) -> Path:
    """Calibration curve: observed coverage of the held-out values against the nominal level
    of the central predictive interval (on the diagonal: calibrated; below: overconfident)."""
    levels, observed = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], "k-", lw=0.8, label="calibrated")
    ax.plot(levels, observed, "o-", ms=4, label="GP, held out")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("nominal level of the central interval")
    ax.set_ylabel("observed coverage")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"{output}: calibration")
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


def plot_marginals(marginals: dict, path: str | Path) -> Path:
    """Marginal posterior density of each calibrated parameter with its 95 % credible
    interval shaded and the mean marked."""
    import numpy as np

    n = len(marginals)
    fig, axes = plt.subplots(1, n, figsize=(4.0 * n, 3.4), squeeze=False)
    for ax, m in zip(axes[0], marginals.values(), strict=True):
        ax.plot(m.grid, m.density, color="C0")
        inside = (m.grid >= m.lower) & (m.grid <= m.upper)
        ax.fill_between(m.grid, 0, m.density, where=inside, alpha=0.3, color="C0",
                        label=f"95 %: [{m.lower:.3g}, {m.upper:.3g}]")
        ax.axvline(m.mean, color="C3", lw=1, label=f"mean {m.mean:.3g}")
        span = m.upper - m.lower
        ax.set_xlim(max(m.grid[0], m.lower - 2 * span), min(m.grid[-1], m.upper + 2 * span))
        ax.set_ylim(0, 1.1 * float(np.max(m.density)))
        ax.set_xlabel(m.name)
        ax.set_ylabel("posterior density")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_joint_posterior(post, path: str | Path) -> Path:
    """Contours of the joint posterior of the first two parameters (others summed out) at
    the 50, 90 and 99 % highest-density levels."""
    import numpy as np

    w = post.weights.sum(axis=tuple(range(2, post.weights.ndim)))
    order = np.sort(w.ravel())[::-1]
    cum = np.cumsum(order)
    levels = sorted({float(order[min(np.searchsorted(cum, q), order.size - 1)])
                     for q in (0.99, 0.9, 0.5)})
    x, y = post.parameters[0], post.parameters[1]
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.contour(x.grid(), y.grid(), w.T, levels=levels, colors=["C0", "C1", "C3"][: len(levels)],
               linewidths=1)
    ax.set_xlabel(x.name)
    ax.set_ylabel(y.name)
    if y.log:
        ax.set_yscale("log")
    ax.set_title("joint posterior: 99, 90, 50 % regions")
    ax.grid(alpha=0.3)
    if x.log:
        ax.set_xscale("log")
    gx, gy = x.grid(), y.grid()
    jx, jy = np.nonzero(w >= levels[0])
    ax.set_xlim(gx[max(jx.min() - 3, 0)], gx[min(jx.max() + 3, gx.size - 1)])
    ax.set_ylim(gy[max(jy.min() - 3, 0)], gy[min(jy.max() + 3, gy.size - 1)])
    return _save(fig, path)


def plot_pair_posterior(post, path: str | Path, design=None) -> Path:
    """Pair plot of posterior draws (``optimize.calibration.SamplePosterior``): histograms
    on the diagonal, 2-D histograms below it, the design runs (m × k) as crosses; axes span
    the prior boxes (log scale for log parameters)."""
    import numpy as np

    params = post.parameters
    k = len(params)
    fig, axes = plt.subplots(k, k, figsize=(2.3 * k + 0.6, 2.3 * k + 0.4), squeeze=False)

    def edges(p):
        return (np.geomspace if p.log else np.linspace)(p.lower, p.upper, 31)

    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i][j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(post.samples[:, i], bins=edges(pi), color="C0", alpha=0.7)
                ax.set_yticks([])
            else:
                ax.hist2d(post.samples[:, j], post.samples[:, i], bins=[edges(pj), edges(pi)],
                          cmap="Blues")
                if design is not None:
                    d = np.asarray(design)
                    ax.plot(d[:, j], d[:, i], "kx", ms=3)
                ax.set_yscale("log" if pi.log else "linear")
                if pi.log:
                    _log_ticks(ax.yaxis)
                ax.set_ylim(pi.lower, pi.upper)
                if j == 0:
                    ax.set_ylabel(pi.name, fontsize=8)
            ax.set_xscale("log" if pj.log else "linear")
            if pj.log:
                _log_ticks(ax.xaxis)
            ax.set_xlim(pj.lower, pj.upper)
            ax.tick_params(labelsize=7)
            if i == k - 1:
                ax.set_xlabel(pj.name, fontsize=8)
    fig.suptitle("posterior draws (crosses: design runs)", fontsize=9)
    return _save(fig, path)


def _log_ticks(axis) -> None:
    """Labels of a log axis that spans about a decade: ticks at 1, 2 and 5 per decade in plain
    numbers, minor ticks unlabelled (matplotlib labels every minor tick on a short log axis,
    and those labels overlap in a small panel)."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(StrMethodFormatter("{x:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def plot_macmullin_predictive(rows: list[dict], pred: dict, path: str | Path) -> Path:
    """MacMullin number N_M = R_ion κ / L against porosity: measurements (±2 sd), the
    posterior median curve with its 95 % band, and Bruggeman's α = 1.5 for reference."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.4, 4.2))
    eps = pred["porosity"]
    lo, mid, hi = pred["curve_percentiles"]
    ax.fill_between(eps, lo, hi, alpha=0.3, color="C0", label="posterior 95 % band")
    ax.plot(eps, mid, color="C0", label="posterior median")
    ax.plot(eps, eps ** -1.5, "k--", lw=0.8, label="Bruggeman α = 1.5")
    e = np.array([r["porosity"] for r in rows])
    nm = np.array([r["macmullin"] for r in rows])
    sd = np.array([r["r_ion_sd_ohm_cm2"] / r["r_ion_ohm_cm2"] for r in rows]) * nm
    ax.errorbar(e, nm, yerr=2 * sd, fmt="o", color="C3", ms=4, capsize=2,
                label="measured (± 2 sd)")
    ax.set_yscale("log")
    ax.set_xlabel("porosity ε [-]")
    ax.set_ylabel("MacMullin number N_M = R_ion κ / L [-]")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_variability(full: dict, surrogate: dict, labels: dict, path: str | Path) -> Path:
    """Histogram (density) of each output: full-model Monte Carlo against the surrogate's
    larger sample, with the full model's 5th, 50th and 95th percentiles."""
    import numpy as np

    n = len(labels)
    cols = 2
    rows = (n + 1) // 2
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (name, label) in zip(axes.ravel(), labels.items(), strict=False):
        f = full[name][np.isfinite(full[name])]
        s = surrogate[name][np.isfinite(surrogate[name])]
        lo, hi = np.percentile(np.concatenate([f, s]), [0.1, 99.9])
        bins = np.linspace(lo, hi, 40)
        ax.hist(s, bins=bins, density=True, alpha=0.35, color="C0",
                label=f"surrogate (n = {s.size})")
        ax.hist(f, bins=bins, density=True, histtype="step", lw=1.4, color="C3",
                label=f"full model (n = {f.size})")
        for q, ls in zip(np.percentile(f, [5, 50, 95]), (":", "-", ":"), strict=True):
            ax.axvline(q, color="C3", ls=ls, lw=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return _save(fig, path)


def plot_sensitivity(indices: dict, labels: dict, path: str | Path) -> Path:
    """First-order (S1) and total (ST) Sobol' indices per input for each output, with 95 %
    bootstrap intervals."""
    import numpy as np

    n = len(labels)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False, sharey=True)
    for ax, (name, label) in zip(axes[0], labels.items(), strict=True):
        s = indices[name]
        x = np.arange(len(s.names))
        ax.bar(x - 0.18, s.first_order, 0.36, label="S1",
               yerr=np.abs(s.first_order_ci.T - s.first_order), capsize=2)
        ax.bar(x + 0.18, s.total, 0.36, label="ST", yerr=np.abs(s.total_ci.T - s.total),
               capsize=2)
        ax.set_xticks(x, s.names, rotation=30, ha="right", fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("Sobol' index")
    axes[0][0].legend(fontsize=7)
    return _save(fig, path)


def plot_parity_shared(full: dict, surrogate: dict, labels: dict, path: str | Path) -> Path:
    """Surrogate against full model on the shared Monte Carlo draws, one panel per output."""
    import numpy as np

    n = len(labels)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.3), squeeze=False)
    for ax, (name, label) in zip(axes[0], labels.items(), strict=True):
        f, s = full[name], surrogate[name]
        ok = np.isfinite(f) & np.isfinite(s)
        ax.plot(f[ok], s[ok], "o", ms=2.5, alpha=0.6)
        lo, hi = float(min(f[ok].min(), s[ok].min())), float(max(f[ok].max(), s[ok].max()))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_xlabel("full model", fontsize=8)
        ax.set_ylabel("surrogate", fontsize=8)
        ax.set_title(label, fontsize=8)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_compaction_predictive(pressures, observed, sigma, grid_mpa, band, band_run,
                               path: str | Path) -> Path:
    """Measured porosity–pressure curve (± 2 sd) with the calibrated emulator's posterior
    median, its 95 % band over the parameters (``band``: the emulator's mean) and that of
    a new run (``band_run``: with the emulator's sd), each 3 × len(grid_mpa)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.4, 4.6))
    ax.fill_between(grid_mpa, 100 * band_run[0], 100 * band_run[2], alpha=0.15, color="C0",
                    label="95 % band of a new run (with the emulator's sd)")
    ax.fill_between(grid_mpa, 100 * band[0], 100 * band[2], alpha=0.35, color="C0",
                    label="95 % band over the parameters (emulator mean)")
    ax.plot(grid_mpa, 100 * band[1], color="C0", label="posterior median")
    ax.errorbar(pressures, 100 * np.asarray(observed), yerr=200 * np.asarray(sigma), fmt="o",
                color="C3", ms=4, capsize=2, label="measured (± 2 sd)")
    ax.set_xscale("log")
    # plain numbers at 1, 2 and 5 per decade (the default minor labels overlap)
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(mticker.FuncFormatter(
        lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 5)
        else ""))
    ax.set_xlabel("maximum pressure [MPa]")
    ax.set_ylabel("porosity after spring-back [%]")
    ax.grid(alpha=0.3, which="both")
    # below the axes: the new-run band can fill the whole pressure range
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return _save(fig, path)


def plot_recovery_predictive(draws, observed: float, sigma: float, path: str | Path) -> Path:
    """Posterior-predictive distribution of the indentation elastic recovery (the emulator
    at posterior draws) against the measured value (± 1 and 2 sd)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    ax.axvspan(100 * (observed - 2 * sigma), 100 * (observed + 2 * sigma), color="C3",
               alpha=0.12, label="measured ± 2 sd")
    ax.axvspan(100 * (observed - sigma), 100 * (observed + sigma), color="C3", alpha=0.2,
               label="measured ± 1 sd")
    ax.hist(100 * np.asarray(draws), bins=40, color="C0", alpha=0.7,
            label="posterior predictive (emulator)")
    ax.axvline(100 * observed, color="C3")
    ax.set_xlabel("indentation elastic recovery [%]")
    ax.set_ylabel("posterior draws")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_capacity_predictive(rows: list[dict], path: str | Path) -> Path:
    """Measured capacity per state (± 2 sd) against its measured porosity, with the
    calibrated emulator's posterior median and 95 % interval and the full forward model at
    the highest-posterior draw (rows of :func:`experiments.calibrate_electronic.
    calibrate_electronic`)."""
    import numpy as np

    eps = 100 * np.array([r["measured_porosity"] for r in rows])
    fig, ax = plt.subplots(figsize=(5.4, 4.0))
    med = np.array([r["predictive_median"] for r in rows])
    ax.errorbar(eps + 0.25, med, yerr=[med - [r["predictive_lo95"] for r in rows],
                                      [r["predictive_hi95"] for r in rows] - med],
                fmt="s", color="C0", ms=4, capsize=3, label="posterior median, 95 % (emulator)")
    ax.plot(eps + 0.5, [r["capacity_mah_g"] for r in rows], "D", color="C2", ms=4,
            label="forward model at the highest-posterior draw")
    ax.errorbar(eps, [r["measured_mah_g"] for r in rows],
                yerr=[2 * r["measured_sd_mah_g"] for r in rows], fmt="o", color="C3", ms=4,
                capsize=2, label="measured (± 2 sd)")
    for e, r in zip(eps, rows, strict=True):
        ax.annotate(r["state"], (e, r["measured_mah_g"]), textcoords="offset points",
                    xytext=(4, 6), fontsize=7)
    ax.set_xlabel("measured porosity [%]")
    ax.set_ylabel("capacity [mAh/g AM]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_window_maps(maps: list[dict], x, values: dict, failed, problem, path: str | Path,
                     title: str = "") -> Path:
    """Per pair of decision variables: P(feasible) (colour, contours at 0.1/0.5/0.9) with the
    evaluations (filled: feasible, open: infeasible, x: failed), and the porosity model's
    standard deviation; the other inputs are held at the values in the panel title."""
    import numpy as np

    n = len(maps)
    fig, axes = plt.subplots(2, n, figsize=(4.3 * n, 7.2), squeeze=False)
    names = list(problem.names)
    feasible = np.array([not failed[i] and problem.feasible(
        {o: values[o][i] for o in problem.outputs}) for i in range(len(x))])
    for col, m in enumerate(maps):
        a, b = names.index(m["x"]), names.index(m["y"])
        held = ", ".join(f"{k} {v:.3g}" for k, v in m["held"].items())
        for row, (field, label, cmap) in enumerate((
                ("probability", "P(feasible)", "RdYlGn"),
                ("porosity_sd", "porosity model sd [-]", "viridis"))):
            ax = axes[row][col]
            z = m[field].T
            mesh = ax.pcolormesh(m["x_values"], m["y_values"], z, shading="auto", cmap=cmap,
                                 vmin=0.0 if row == 0 else None, vmax=1.0 if row == 0 else None)
            fig.colorbar(mesh, ax=ax, label=label)
            if row == 0:
                cs = ax.contour(m["x_values"], m["y_values"], z, levels=[0.1, 0.5, 0.9],
                                colors=["0.3", "k", "0.3"], linewidths=[0.7, 1.4, 0.7])
                ax.clabel(cs, fontsize=7)
            ok = ~np.asarray(failed)
            ax.plot(x[ok & feasible, a], x[ok & feasible, b], "o", mfc="k", mec="w", ms=5,
                    label="feasible")
            ax.plot(x[ok & ~feasible, a], x[ok & ~feasible, b], "o", mfc="none", mec="k",
                    ms=5, mew=0.8, label="infeasible")
            if (~ok).any():
                ax.plot(x[~ok, a], x[~ok, b], "x", color="r", ms=6, label="failed")
            if m["x"] in problem.log_inputs:
                ax.set_xscale("log")
            if m["y"] in problem.log_inputs:
                ax.set_yscale("log")
            ax.set_xlabel(m["x"])
            ax.set_ylabel(m["y"])
            ax.set_title(f"{title} ({held})" if row == 0 else f"held: {held}", fontsize=8)
            if row == 0 and col == 0:
                ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def plot_pressure_windows(windows: dict, porosity_band, path: str | Path) -> Path:
    """P(feasible) against pressure at the nominal temperature and line speed, one line per
    material, with each window (P >= 0.5) shaded."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for k, (material, w) in enumerate(windows.items()):
        color = f"C{k}"
        ax.plot(w["pressure_mpa"], w["probability"], color=color, label=material)
        if w["window_mpa"]:
            ax.axvspan(*w["window_mpa"], color=color, alpha=0.12)
    ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("calendering pressure [MPa]")
    ax.set_ylabel("P(feasible)")
    ax.set_title(f"porosity {porosity_band[0]:g}–{porosity_band[1]:g} and constraints",
                 fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_lithiation(image, am_ids, stoichiometry, voxel_um: float, path: str | Path,
                    title: str = "") -> Path:
    """Lithiation state c_s/c_max of every AM particle painted on its voxels: an x–z slice
    at mid-y (collector at the bottom, separator at the top) and x–y slices near the
    collector, at mid-depth and near the separator; pores white, CBD grey."""
    import numpy as np
    from matplotlib.colors import ListedColormap

    ids = np.asarray(am_ids)
    value = np.full(ids.shape, np.nan)
    painted = ids >= 0
    value[painted] = np.asarray(stoichiometry)[ids[painted]]
    finite = value[np.isfinite(value)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.01, hi + 0.01
    nx, ny, nz = ids.shape
    background = ListedColormap(["white", "white", "0.6"])  # pore, AM (covered), CBD
    layers = [("x–z at mid-y", value[:, ny // 2, :].T, image[:, ny // 2, :].T, (0, nx, 0, nz))]
    for label, k in (("near the collector", max(nz // 8, 0)), ("mid-depth", nz // 2),
                     ("near the separator", min(nz - 1 - nz // 8, nz - 1))):
        layers.append((f"x–y {label} (z = {(k + 0.5) * voxel_um:.1f} µm)", value[:, :, k].T,
                       image[:, :, k].T, (0, nx, 0, ny)))
    fig, axes = plt.subplots(1, 5, figsize=(15.5, 4.2),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1, 0.05]})
    for ax, (label, val, img, ext) in zip(axes[:4], layers, strict=True):
        extent = [e * voxel_um for e in ext]
        ax.imshow(img, origin="lower", cmap=background, vmin=0, vmax=2, extent=extent,
                  interpolation="nearest")
        shown = ax.imshow(np.ma.masked_invalid(val), origin="lower", cmap="viridis", vmin=lo,
                          vmax=hi, extent=extent, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("z [µm]" if label.startswith("x–z") else "y [µm]")
    fig.colorbar(shown, cax=axes[4], label="particle lithiation c_s/c_max [-]")
    fig.suptitle(title or "lithiation per particle")
    return _save(fig, path)


def plot_compaction_response(curves, fit, nominal, surrogate, path: str | Path) -> Path:
    """Porosity against pressure: the curves' points, the fitted law with its 90 % band
    (parameter draws and the films' scatter), the target and the nominal setpoint with its
    interval, and the surrogate's mean and band when given (``surrogate``: dict of
    pressure_mpa, mean, lo, hi)."""
    import numpy as np

    from physics.compaction import decay

    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    p_all = np.concatenate([c[0] for c in curves])
    grid = np.geomspace(p_all.min() / 3, p_all.max(), 200)
    law = fit.law.with_initial(nominal.dried_porosity)
    e_min, k, m = fit.parameter_draws(400, seed=0)
    draws = e_min[:, None] + (law.porosity_initial - e_min[:, None]) * decay(
        grid[None, :], k[:, None], m[:, None])
    draws = draws + np.random.default_rng(1).normal(0, fit.residual_sd, draws.shape)
    lo, hi = np.percentile(draws, [5, 95], axis=0)
    ax.fill_between(grid, 100 * lo, 100 * hi, color="C0", alpha=0.25,
                    label="law, 90 % band (parameters + scatter)")
    ax.plot(grid, 100 * law.porosity(grid), color="C0", label="law (nominal film)")
    for k_curve, (p, e) in enumerate(curves):
        ax.plot(p, 100 * np.asarray(e), "o", color="C3", ms=4,
                label="DEM / measured points" if k_curve == 0 else None)
    if surrogate is not None:
        ax.fill_between(surrogate["pressure_mpa"], 100 * surrogate["lo"], 100 * surrogate["hi"],
                        color="C2", alpha=0.2, label="surrogate, 90 % band")
        ax.plot(surrogate["pressure_mpa"], 100 * surrogate["mean"], color="C2", ls="--",
                label="surrogate (nominal inputs)")
    ax.axhline(100 * nominal.target_porosity, color="k", lw=0.8, ls=":", label="target")
    ax.axvspan(nominal.pressure_lo_mpa, nominal.pressure_hi_mpa, color="0.5", alpha=0.2)
    ax.axvline(nominal.pressure_mpa, color="k", lw=1.0,
               label=f"setpoint {nominal.pressure_mpa:.3g} MPa")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("pressure [MPa]")
    ax.set_ylabel("porosity after spring-back [%]")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_porosity_spread(samples: dict, target: float, tolerance: float,
                         path: str | Path) -> Path:
    """Histogram and empirical CDF of the calendered porosity of each line (``samples``:
    label -> porosities), with the target ± tolerance band."""
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    values = np.concatenate(list(samples.values()))
    lo, hi = np.percentile(values, [0.1, 99.9])
    bins = np.linspace(100 * lo, 100 * hi, 50)
    for k, (label, v) in enumerate(samples.items()):
        v = 100 * np.sort(np.asarray(v))
        ax1.hist(v, bins=bins, density=True, histtype="stepfilled" if k == 0 else "step",
                 alpha=0.35 if k == 0 else 1.0, lw=1.4, color=f"C{k}",
                 label=f"{label}: sd {np.std(v, ddof=1):.2f} pt")
        ax2.plot(v, np.arange(1, v.size + 1) / v.size, color=f"C{k}", lw=1.4, label=label)
    for ax in (ax1, ax2):
        ax.axvspan(100 * (target - tolerance), 100 * (target + tolerance), color="0.6",
                   alpha=0.25, label=f"target ± {100 * tolerance:g} pt" if ax is ax1 else None)
        ax.axvline(100 * target, color="k", lw=0.8, ls=":")
        ax.set_xlabel("calendered porosity [%]")
        ax.grid(alpha=0.3)
    ax1.set_ylabel("density [1/%]")
    ax2.set_ylabel("cumulative share")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_batch_setpoints(rows, surrogate_rows, path: str | Path) -> Path:
    """Per batch (or web position): the pressure with its interval (law; surrogate when
    given) and the roll gap with its interval."""
    import numpy as np

    positions = [getattr(r, "label", "") for r in rows]
    x = np.arange(len(rows), dtype=float)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6.0, 0.35 * len(rows) + 3), 5.6),
                                   sharex=True)
    p = np.array([r.pressure_mpa for r in rows])
    ax1.errorbar(x, p, yerr=[p - [r.pressure_lo_mpa for r in rows],
                             [r.pressure_hi_mpa for r in rows] - p],
                 fmt="o", color="C0", capsize=2, ms=4, label="closed-form law")
    if surrogate_rows:
        s = np.array([u["pressure_mpa"] for u in surrogate_rows], dtype=float)
        lo = np.array([u["pressure_lo_mpa"] for u in surrogate_rows], dtype=float)
        hi = np.array([u["pressure_hi_mpa"] for u in surrogate_rows], dtype=float)
        ok = np.isfinite(s)
        ax1.errorbar(x[ok] + 0.2, s[ok], yerr=[s[ok] - lo[ok], hi[ok] - s[ok]], fmt="s",
                     color="C2", capsize=2, ms=4, label="surrogate")
    ax1.set_yscale("log")
    ax1.set_ylabel("pressure [MPa]")
    ax1.legend(fontsize=7)
    g = np.array([r.roll_gap_um for r in rows])
    ax2.errorbar(x, g, yerr=[g - [r.roll_gap_lo_um for r in rows],
                             [r.roll_gap_hi_um for r in rows] - g],
                 fmt="o", color="C1", capsize=2, ms=4)
    ax2.set_ylabel("roll gap [µm]")
    ax2.set_xticks(x, positions, rotation=60 if len(rows) > 8 else 0, fontsize=7)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_crown_profiles(installed, optimum, path: str | Path) -> Path:
    """The nip across the web with the installed and the optimum crown
    (:class:`physics.crown.CrownSolution`): gap, line load, peak and mean nip pressure,
    porosity after spring-back."""
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 7.0), sharex=True)
    styles = (("installed", installed, "tab:red"), ("optimum", optimum, "tab:blue"))
    for label, sol, color in styles:
        name = f"{label}: crown {sol.crown_um:.3g} µm"
        axes[0, 0].plot(sol.x_mm, sol.gap_um, color=color, label=name)
        axes[0, 1].plot(sol.x_mm, sol.line_load_kn_m, color=color, label=name)
        axes[1, 0].plot(sol.x_mm, sol.peak_pressure_mpa, color=color, label=f"{name}, peak")
        axes[1, 0].plot(sol.x_mm, sol.mean_pressure_mpa, color=color, ls="--",
                        label=f"{name}, mean over the arc")
        axes[1, 1].plot(sol.x_mm, 100 * sol.porosity, color=color, label=name)
    axes[0, 0].set_ylabel("gap at the nip line [µm]")
    axes[0, 1].set_ylabel("line load [kN/m]")
    axes[1, 0].set_ylabel("nip pressure [MPa]")
    axes[1, 1].set_ylabel("porosity after spring-back [%]")
    axes[1, 1].yaxis.set_major_formatter(mticker.FormatStrFormatter("%.3f"))
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("position across the web x [mm]")
    fig.suptitle("transverse uniformity of the nip")
    return _save(fig, path)


def plot_roll_deflection(installed, optimum, geometry, web_width_mm: float,
                         path: str | Path) -> Path:
    """One roll between its bearings: deflection under the nip load and the crown, installed
    and optimum; the barrel and the web marked."""
    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    for label, sol, color in (("installed", installed, "tab:red"),
                              ("optimum", optimum, "tab:blue")):
        ax.plot(sol.roll_x_mm, sol.roll_deflection_um, color=color,
                label=f"{label}: deflection (crown {sol.crown_um:.3g} µm)")
        ax.plot(sol.x_mm, sol.crown_profile_um, color=color, ls="--",
                label=f"{label}: crown over the web")
    for edge in (0.5 * geometry.barrel_length_mm, -0.5 * geometry.barrel_length_mm):
        ax.axvline(edge, color="0.5", lw=0.8, ls=":")
    ax.axvspan(-0.5 * web_width_mm, 0.5 * web_width_mm, color="0.9", zorder=0,
               label="web")
    ax.set_xlabel("position along the roll x [mm] (dotted: barrel ends; ends: bearings)")
    ax.set_ylabel("[µm]")
    ax.set_title("roll deflection away from the web and crown")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_crown_scan(optimum, path: str | Path) -> Path:
    """Porosity non-uniformity against crown height (:class:`physics.crown.CrownOptimum`)."""
    import numpy as np

    c, v = (np.array(a) for a in zip(*optimum.scan, strict=True))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(c, 100 * v, "o-", color="tab:blue", ms=4)
    ax.plot([optimum.crown_um], [100 * optimum.value], "*", color="tab:red", ms=14,
            label=f"optimum {optimum.crown_um:.3g} µm")
    ax.set_xlabel("crown per roll c0 [µm]")
    ax.set_ylabel("line load (max - min) / mean across the web [%]"
                  if optimum.objective == "line-load" else
                  f"porosity {optimum.objective} across the web [points]")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_nip_law(pressures_mpa, porosities, fit, nip, installed, optimum,
                 path: str | Path) -> Path:
    """The web's compaction: the curves' points and the fitted law (after spring-back), the
    porosity under load in the nip (spring-back removed, :class:`physics.nip.NipLaw`), and
    the peak nip pressures across the web of both nips."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    top = max(float(np.max(pressures_mpa)), float(installed.peak_pressure_mpa.max()))
    grid = np.geomspace(1e-2, 2.0 * top, 300)
    law = fit.law
    ax.plot(pressures_mpa, 100 * np.asarray(porosities), "o", color="tab:red", ms=6,
            label="curve points (after spring-back)")
    ax.plot(grid, 100 * law.porosity(grid), "-", color="tab:red", lw=1.2,
            label=f"law: ε_min {100 * law.porosity_min:.1f} %, K0 {law.modulus_mpa:.3g} MPa, "
                  f"m {law.modulus_slope:.3g}")
    # same solid, thickness smaller by 1 + s: 1 - ε_loaded = (1 - ε) (1 + s)
    loaded = 1.0 - (1.0 - law.porosity(grid)) * (1.0 + nip.springback.fraction(grid))
    ax.plot(grid, 100 * loaded, "--", color="0.35", lw=1.2,
            label="under load in the nip (spring-back removed)")
    for label, sol, color in (("installed", installed, "tab:orange"),
                              ("optimum", optimum, "tab:blue")):
        ax.axvspan(float(sol.peak_pressure_mpa.min()), float(sol.peak_pressure_mpa.max()),
                   color=color, alpha=0.25, label=f"peak nip pressures, {label} crown")
    ax.set_xscale("log")
    ax.set_xlabel("(peak) pressure [MPa]")
    ax.set_ylabel("porosity [%]")
    ax.set_title(f"the web's compaction law (dried porosity {100 * law.porosity_initial:.1f} %)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_nip_paths(nip: dict, problem, path: str | Path, schedule: dict | None = None) -> Path:
    """The reduced model's nip: roll pressure against contact time for the Pontryagin, direct
    and constant paths (and a DEM schedule's passes over equal times), and the sub-layer
    porosities along the Pontryagin path."""
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.6, 6.4), sharex=True)
    styles = {"pontryagin": ("tab:blue", "-", 2.0), "direct": ("tab:orange", "--", 1.4),
              "constant": ("0.5", ":", 1.2)}
    for name, (color, ls, lw) in styles.items():
        sol = nip[name]
        t = sol.time
        ax1.stairs(sol.pressure_mpa, t, color=color, ls=ls, lw=lw, baseline=None,
                   label=f"{name} (cost {sol.cost:.3g})")
    if schedule is not None:
        p = np.asarray(schedule["pressures_mpa"])
        ax1.stairs(p, np.linspace(0.0, 1.0, len(p) + 1), color="tab:green", lw=1.2,
                   baseline=None, label="best DEM schedule (quasi-static passes)")
    ax1.set_ylabel("roll pressure [MPa]")
    ax1.legend(fontsize=8)
    sol = nip["pontryagin"]
    n = sol.porosity.shape[1]
    cmap = plt.get_cmap("viridis")
    for i in range(n):
        ax2.plot(sol.time, sol.porosity[:, i], color=cmap(i / max(n - 1, 1)), lw=1.2,
                 label="collector" if i == 0 else "roll side" if i == n - 1 else None)
    ax2.axhline(problem.target_porosity, color="k", lw=0.8, ls=":", label="target (mean)")
    ax2.set_xlabel("contact time [-]")
    ax2.set_ylabel("sub-layer porosity [-]")
    ax2.legend(fontsize=8)
    ax1.set_title(f"optimal pressure path, β = {problem.model.transmission:.2f}, "
                  f"Da = {problem.model.damkohler:.3g}")
    return _save(fig, path)


def plot_layer_identification(first, curve, model, path: str | Path) -> Path:
    """Sub-layer porosities of the DEM film (uncalendered and after each curve pressure)
    against the identified reduced model's equilibrium, collector to roll."""
    import numpy as np

    n = model.n_layers
    depth = (np.arange(n) + 0.5) / n
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    cmap = plt.get_cmap("plasma")
    items = [(0.0, first), *curve]
    for k, (p, prof) in enumerate(items):
        color = cmap(k / max(len(items), 1))
        ax.plot(depth, prof.layers(n), "o", color=color, label=f"DEM {p:.3g} MPa")
        ax.plot(depth, model.initial_porosity if p == 0 else model.equilibrium_porosity(p),
                "-", color=color, lw=1.0)
    ax.set_xlabel("height above the collector / thickness [-]")
    ax.set_ylabel("sub-layer porosity [-]")
    ax.set_title(f"identification (lines: model, β = {model.transmission:.2f})")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_schedule_evaluations(rows: list[dict], target: float, tolerance: float,
                              path: str | Path) -> Path:
    """DEM schedule evaluations in order: film porosity with the target band, and cost
    (filled: within the band)."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
    k = [r["evaluation"] for r in rows]
    markers = {"sobol": "s", "reduced-model optimum": "D", "bo": "o"}
    for r in rows:
        m = markers.get(r["source"], "o")
        face = "tab:blue" if r["feasible"] else "none"
        ax1.plot(r["evaluation"], r["porosity"], m, mec="tab:blue", mfc=face)
        ax2.plot(r["evaluation"], r["cost"], m, mec="tab:blue", mfc=face)
    ax1.axhspan(target - tolerance, target + tolerance, color="tab:green", alpha=0.15,
                label="target band")
    ax1.set_ylabel("film porosity [-]")
    ax1.legend(fontsize=8)
    ax2.set_yscale("log")
    ax2.set_ylabel("cost J [-]")
    ax2.set_xlabel("evaluation (square: Sobol, diamond: reduced-model optimum, circle: BO)")
    ax2.set_xticks(k)
    return _save(fig, path)


def plot_slice_profiles(row: dict, first, problem, path: str | Path) -> Path:
    """Porosity per z slice of the best DEM structure (and of the uncalendered film), its
    sub-layer means and the reduced model's prediction for the same schedule."""
    import numpy as np

    from physics.pressure_path import pass_porosity

    s = row["slices"]
    z = np.asarray(s["z_um"])
    h = float(np.sum(np.asarray(s["weight"])) * (z[1] - z[0])) if len(z) > 1 else 1.0
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if first is not None:
        ax.plot(first.z_um / first.thickness_um, first.porosity, color="0.7", lw=1.0,
                label="uncalendered (per slice)")
    ax.plot(z / h, s["porosity"], color="tab:blue", lw=1.2, label="best DEM schedule (per slice)")
    n = problem.model.n_layers
    edges = np.linspace(0.0, 1.0, n + 1)
    ax.stairs(row["layers"], edges, color="tab:blue", lw=2.0, baseline=None,
              label="its sub-layers")
    pred = pass_porosity(problem.model, row["pressures_mpa"])
    ax.stairs(pred, edges, color="tab:orange", lw=2.0, ls="--", baseline=None,
              label="reduced model, same schedule")
    ax.set_xlabel("height above the collector / thickness [-]")
    ax.set_ylabel("porosity [-]")
    ax.set_title(f"passes {', '.join(f'{p:.3g}' for p in row['pressures_mpa'])} MPa")
    ax.legend(fontsize=8)
    return _save(fig, path)
