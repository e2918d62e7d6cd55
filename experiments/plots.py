"""PNG plots of stage results (matplotlib, Agg backend; nothing here is imported by physics)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from physics.structure import RadialDistribution


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
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


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
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
