"""Measured tables of ``docs/validation/*.md`` generated from the versioned JSON results in
``benchmarks/data/``, so every number on those pages comes from a run that can be repeated.

A page marks a generated table with two comments; the text between them is replaced::

    <!-- table: protocols -->
    ...
    <!-- /table -->

Each table name maps to one JSON file and one pure function that renders its rows
(:data:`TABLES`).  Run ``python -m experiments.validation_tables --write`` after a benchmark
has added rows; without ``--write`` it lists the pages that are stale (exit status 1).
``tests/test_validation_tables.py`` fails when a committed page and its JSON differ.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
PAGES = ROOT / "docs" / "validation"
_BLOCK = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


def _md(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _pm(mean: float, sd: float, scale: float = 1.0, digits: int = 2) -> str:
    if not np.isfinite(sd):
        return f"{scale * mean:.{digits}f}"
    return f"{scale * mean:.{digits}f} ± {scale * sd:.{digits}f}"


def protocols_table(data: dict) -> str:
    """Both press protocols per target pressure, mean ± sd over the films
    (benchmarks/protocols.py)."""
    stats = {(s["protocol"], s["pressure_target_mpa"]): s for s in data["summary"]}
    rows = []
    for p in sorted({s["pressure_target_mpa"] for s in data["summary"]}):
        a, b = stats.get(("paper", p)), stats.get(("quasi-static", p))
        if a is None or b is None:
            continue
        rows.append([f"{p:g}", f"{a['pressure_reported_mpa']:.2f}", str(a["n_films"]),
                     _pm(a["porosity"], a["porosity_sd"], 100),
                     _pm(b["porosity"], b["porosity_sd"], 100),
                     _pm(a["springback_percent"], a["springback_percent_sd"]),
                     _pm(b["springback_percent"], b["springback_percent_sd"]),
                     f"{a['am_contacts_per_am_max']:.2f} / {b['am_contacts_per_am_max']:.2f}"])
    return _md(["target [MPa]", "paper: turn [MPa]", "films", "paper: porosity [%]",
                "quasi-static: porosity [%]", "paper: spring-back [%]",
                "quasi-static: spring-back [%]", "AM–AM / AM at the turn (paper / q-s)"],
               rows)


def recipe_box_table(data: dict) -> str:
    """Dried porosity per recipe (benchmarks/recipe_box.py); failed recipes say why."""
    rows = []
    for r in sorted(data["rows"], key=lambda r: (r["am_mass_fraction"], r["solid_content"],
                                                 r["n_am"], r["seed"])):
        head = [f"{r['am_mass_fraction']:.2f}", f"{r['solid_content']:.2f}", str(r["n_am"]),
                str(r["seed"])]
        if "error" in r:
            rows.append([*head, "failed: " + r["error"].replace("|", "/"), *[""] * 5])
            continue
        rows.append([*head, f"{r['n_cbd']:,}".replace(",", " "),
                     f"{r['thickness_dried_um']:.1f}", f"{100 * r['porosity_dried']:.1f} %",
                     f"{100 * r['porosity_dem']:.1f} %", f"{r['am_contacts_per_am_dried']:.2f}",
                     f"{r['cpu_s']:.0f}"])
    return _md(["AM wt %", "solids", "AM particles", "seed", "CBD particles", "film [µm]",
                "dried porosity", "after the DEM start", "AM–AM / AM (dried)", "CPU s"], rows)


#: short column names of the DEM contact-law parameters
_SHORT = {"cbd_plasticity": "λ_p", "bridge_stiffness_ratio": "bridge",
          "cbd_adhesion_ratio": "K_c/KN", "am_rolling": "μ_r",
          "am_plasticity": "λ_AM", "am_yield_gpa": "p_y [GPa]",
          "bridge_equilibrium_fraction": "φ_eq", "am_friction": "AM–AM μ", "cbd_friction": "CBD μ",
          "am_strength_mpa": "σ_0 [MPa]", "am_weibull_modulus": "m",
          "am_crushed_yield_gpa": "p_c [GPa]", "am_crushed_flattening": "δ_lim/R*"}


def _parameter_value(name: str, value: float) -> str:
    """A calibrated parameter's value: three significant digits on a log-scale prior (its
    box spans decades), two decimals otherwise."""
    from experiments.calibrate_dem import DEM_PARAMETERS

    return f"{value:.3g}" if DEM_PARAMETERS[name].log else f"{value:.2f}"


def dem_design_table(data: dict) -> str:
    """The DEM calibration's calenderings in the order they finished, against the measured
    curve (benchmarks/dem_design_rows.py); where the design also indented each film with the
    same law (``--recovery``), that indentation's elastic recovery and CPU time join its row;
    where AM particles broke in any run, the crushed share at each pressure does."""
    names = data["parameters"]
    pressures = data["measured"]["pressure_mpa"]
    calenderings = [r for r in data["runs"] if "elastic_recovery" not in r
                    and "indent_depth_fraction" not in r]
    indents = {(r["film"], tuple(r["theta"][n] for n in names)): r for r in data["runs"]
               if "indent_depth_fraction" in r}
    with_recovery = bool(indents)
    with_crushing = any(any(r.get("am_crushed_fraction") or [0.0]) for r in calenderings)
    rows = []
    for k, r in enumerate(calenderings, start=1):
        ind = indents.get((r["film"], tuple(r["theta"][n] for n in names)))
        cpu = r["cpu_s"] + (ind["cpu_s"] if ind else 0.0)
        if r["status"] != "ok":
            values = ["failed: " + r["error"].replace("|", "/"), *[""] * len(pressures)]
            values += [""] if with_crushing else []
        else:
            values = [*(f"{100 * e:.2f}" for e in r["porosity"]),
                      f"{r['springback_percent'][-1]:.2f}"]
            if with_crushing:
                values.append(" / ".join(f"{100 * c:.1f}" for c in r["am_crushed_fraction"]))
        if with_recovery:
            values.append(f"{100 * ind['elastic_recovery']:.1f}"
                          if ind and ind["status"] == "ok" else "–")
        rows.append([str(k), r["film"], *(_parameter_value(n, r["theta"][n]) for n in names),
                     *values,
                     f"{cpu:,.0f}".replace(",", " ")])
    m = data["measured"]
    measured = [*(_pm(e, s, 100, 1) for e, s in zip(m["porosity"], m["porosity_sd"],
                                                    strict=True)), "", *[""] * with_crushing]
    if with_recovery:
        measured.append(_pm(m["recovery"], m["recovery_sd"], 100, 0)
                        if m.get("recovery") is not None else "")
    rows.append(["measured", "", *[""] * len(names), *measured, ""])
    return _md(["run", "film", *(_SHORT.get(n, n) for n in names),
                *(f"{p:g} MPa" for p in pressures), "spring-back at the last [%]",
                *(["crushed AM [%]"] if with_crushing else []),
                *(["indentation recovery [%]"] if with_recovery else []), "CPU s"], rows)


def dem_load_path_table(data: dict) -> str:
    """Where the load runs at the turn of each calendering of the DEM calibration: the
    AM–AM contacts' share of σ_zz (Love's average split by type pair) and the AM–AM contacts
    per AM particle, per measured pressure (benchmarks/dem_design_rows.py); a run recorded
    before these fields were kept shows "–"."""
    names = data["parameters"]
    pressures = data["measured"]["pressure_mpa"]
    rows = []
    k = 0
    for r in data["runs"]:
        if "indent_depth_fraction" in r or "elastic_recovery" in r:
            continue
        k += 1
        if r["status"] != "ok":
            continue
        blank = ["–"] * len(pressures)
        share = [f"{100 * v:.1f}" for v in r.get("load_share_am_am", [])] or blank
        contacts = [f"{v:.2f}" for v in r.get("am_contacts_per_am_max", [])] or blank
        rows.append([str(k), r["film"], *(f"{r['theta'][n]:.2f}" for n in names), *share,
                     *contacts])
    return _md(["run", "film", *(_SHORT.get(n, n) for n in names),
                *(f"AM–AM share of σ_zz at {p:g} MPa [%]" for p in pressures),
                *(f"AM–AM / AM at {p:g} MPa" for p in pressures)], rows)


def indentation_scan_table(data: dict) -> str:
    """Indentation recovery across the contact-law box, sorted by recovery
    (benchmarks/indentation_scan.py); runs without an ``indenter`` field were indented by the
    roll's steel plane (before the diamond became the default); "–": the parameter not set, at
    the contact law's default."""
    names = list(data["base"] | data["box"])
    runs = sorted((r for r in data["runs"] if r["status"] == "ok"),
                  key=lambda r: r["elastic_recovery"])
    rows = [[*(f"{r['theta'][n]:.2f}" if n in r["theta"] else "–" for n in names),
             r.get("indenter", "steel"),
             f"{100 * r['elastic_recovery']:.1f}", f"{r['plastic_work_fraction']:.3f}",
             f"{r['indent_pressure_max_mpa']:.2f}", f"{r['cpu_s']:.0f}"] for r in runs]
    return _md([*(_SHORT.get(n, n) for n in names), "indenter", "elastic recovery [%]",
                "plastic work fraction", "p_max [MPa]", "CPU s"], rows)


def bridge_equilibrium_table(data: dict) -> str:
    """The calendering curve with and without the bridge's equilibrium arm (``etwin calender``
    outputs collected in benchmarks/data/bridge_equilibrium_ci.json)."""
    pressures = [p["pressure_target_mpa"] for p in data["runs"][0]["points"]]
    rows = [[f"{r['bridge_stiffness_ratio']:g}", f"{r['bridge_equilibrium_fraction']:g}",
             *(f"{100 * p['porosity']:.2f}" for p in r["points"]),
             " / ".join(f"{p['springback_percent']:.2f}" for p in r["points"]),
             f"{r['wall_s']:.0f}"] for r in data["runs"]]
    return _md(["bridge", "φ_eq", *(f"{p:g} MPa [%]" for p in pressures),
                "spring-back [%]", "wall s"], rows)


def am_law_table(data: dict) -> str:
    """The calendering curve per AM–AM normal law (``etwin calender --am-plasticity`` or
    ``--am-yield-gpa`` outputs collected in benchmarks/data/am_law_ci.json): porosity after
    recovery and spring-back per pressure, the AM–AM share of σ_zz at the last turn and the
    95th percentile of the AM particles' Hiramatsu–Oka stress per turn (where recorded)."""
    pressures = [p["pressure_target_mpa"] for p in data["runs"][0]["points"]]
    rows = [[r["law"], *(f"{100 * p['porosity']:.2f}" for p in r["points"]),
             " / ".join(f"{p['springback_percent']:.2f}" for p in r["points"]),
             f"{100 * r['points'][-1]['load_share']['AM-AM']:.1f}",
             " / ".join(f"{p['am_stress_p95_mpa']:.0f}" for p in r["points"])
             if "am_stress_p95_mpa" in r["points"][0] else "–",
             f"{r['wall_s']:.0f}"] for r in data["runs"]]
    return _md(["AM–AM law", *(f"{p:g} MPa [%]" for p in pressures), "spring-back [%]",
                f"AM–AM share at {pressures[-1]:g} MPa [%]", "AM stress p95 [MPa]", "wall s"],
               rows)


def am_law_fast_table(data: dict) -> str:
    """The paper-protocol curve of the two `fast` films per AM–AM law at one binder law
    (benchmarks/data/am_law_fast.json): film-mean porosity after recovery per pressure (the
    two films in brackets), its largest error against the measured curve and the spring-back
    at the last pressure."""
    m = data["measured"]
    rows = []
    for r in data["runs"]:
        per_film = np.array([f["porosity"] for f in r["films"]])
        mean = per_film.mean(axis=0)
        sb = [f["springback_percent"][-1] for f in r["films"]]
        rows.append([r["law"], *(f"{100 * e:.2f} ({', '.join(f'{100 * v:.1f}' for v in col)})"
                                 for e, col in zip(mean, per_film.T, strict=True)),
                     f"{100 * np.max(np.abs(mean - np.array(m['porosity']))):.2f}",
                     f"{min(sb):.1f}–{max(sb):.1f}"])
    rows.append(["measured", *(_pm(e, s, 100, 1) for e, s in zip(m["porosity"],
                                                                 m["porosity_sd"], strict=True)),
                 "", ""])
    return _md(["AM–AM law", *(f"{p:g} MPa [%]" for p in m["pressure_mpa"]),
                "max abs error [points]", f"spring-back at {m['pressure_mpa'][-1]:g} MPa [%]"],
               rows)


def crushing_table(data: dict, binder: bool = False) -> str:
    """The calendering curve with AM particle crushing (benchmarks/crushing_scan.py): per run
    the film, the crushing law (characteristic strength σ_0, Weibull modulus m, crushed yield
    pressure p_c, flattening limit; '–' without crushing), porosity after recovery per
    pressure, the share of crushed AM particles per pressure, the plane pressure of the first
    crushing while loading and the AM particles' Hiramatsu–Oka stress p95 at each turn.
    ``binder``: also the binder law (CBD plasticity λ_p and adhesion K_c/KN, the viscoelastic
    bridge's arm stiffness over the Hertz stiffness and its equilibrium fraction φ_eq), the
    AM rolling resistance μ_r and the AM–AM friction of each run, and where a run has a binder
    film on its AM–AM contacts (``am_film_depth`` > 0) the bare friction and the squeeze-out
    depth (the AM–AM μ is then the film's).  Where a run's roll was not at 60 °C, a column gives
    each run's roll temperature; where a run reads its particles' strength against the
    octahedral shear stress (``am_crushing_stress``), a column names each run's stress."""
    pressures = [p["pressure_target_mpa"] for p in data["runs"][0]["points"]]
    criteria = any(r["binder_contact"].get("am_crushing_stress", "contact") != "contact"
                   for r in data["runs"])
    coated = binder and any(r["binder_contact"].get("am_film_depth", 0.0) > 0
                            for r in data["runs"])
    heated = any(r.get("temperature_c", 60.0) != 60.0 for r in data["runs"])
    rows = []
    for r in data["runs"]:
        c = r["binder_contact"]
        on = c.get("am_strength_mpa", 0.0) > 0
        first = r["first_crush_mpa"]
        law = [f"{c['plasticity']:.3g}", f"{c.get('adhesion_ratio', 0.0):.3g}",
               f"{c['bridge_stiffness_ratio']:.3g}",
               f"{c['bridge_equilibrium_fraction']:.3g}", f"{c['am_rolling']:.3g}",
               f"{r['am_friction']:g}"] if binder else []
        if coated:
            film = c.get("am_film_depth", 0.0) > 0
            law.append(f"{c['am_bare_friction']:g} ({c['am_film_depth']:g})" if film else "–")
        roll = [f"{r.get('temperature_c', 60.0):g}"] if heated else []
        rows.append([r["film"], *roll, *law,
                     f"{c['am_yield_gpa']:.4g}" if c["am_yield_gpa"] else "Hertz",
                     f"{c['am_strength_mpa']:g}" if on else "–",
                     *([c.get("am_crushing_stress", "contact") if on else "–"]
                       if criteria else []),
                     f"{c['am_weibull_modulus']:g}" if on else "–",
                     f"{c['am_crushed_yield_gpa']:g}" if on else "–",
                     f"{c.get('am_crushed_flattening', 0.0):g}" if on else "–",
                     *(f"{100 * p['porosity']:.2f}" for p in r["points"]),
                     " / ".join(f"{100 * p['am_crushed_fraction']:.1f}" for p in r["points"]),
                     "–" if first is None else f"{first:.0f}",
                     " / ".join(f"{p['am_stress_p95_mpa']:.0f}" for p in r["points"]),
                     f"{r['wall_s']:.0f}"])
    return _md(["film", *(["roll T [°C]"] if heated else []),
                *(["CBD λ_p", "CBD K_c/KN", "bridge k / k_Hertz", "bridge φ_eq", "AM μ_r",
                   "AM–AM μ"]
                  if binder else []),
                *(["bare AM–AM μ (film depth δ_max/R*)"] if coated else []),
                "intact AM–AM p_y [GPa]", "σ_0 [MPa]",
                *(["crushing stress"] if criteria else []), "m", "p_c [GPa]",
                "flattening limit δ_lim/R* (0: none)",
                *(f"{p:g} MPa [%]" for p in pressures), "crushed AM [%]",
                "first crush at [MPa]", "AM stress p95 [MPa]", "wall s"], rows)


def indentation_runs_table(data: dict) -> str:
    """The micro-indentations of a scan (``indentations`` of benchmarks/crushing_scan.py):
    per run the film, the bridge (stiffness over Hertz, equilibrium share φ_eq), the plateau's
    softening β and the factor on the equilibrium arm at the test (1 and '–' in runs recorded
    before the rate-free plateau: the arm then took the short-time factor), the bare AM–AM
    friction, the test's temperature and loading time, the elastic recovery and the plastic
    work fraction."""
    rows = []
    for r in data["indentations"]:
        c = r["binder_contact"]
        beta = r.get("plateau_softening_per_k")
        film = c.get("am_film_depth", 0.0) > 0
        rows.append([r["film"], f"{c['bridge_stiffness_ratio']:.3g}",
                     f"{c['bridge_equilibrium_fraction']:.3g}",
                     "–" if beta is None else f"{beta:g}",
                     "–" if beta is None else f"{r['bridge_equilibrium_scale']:.3g}",
                     f"{c['am_bare_friction']:g} ({c['am_film_depth']:g})" if film else "–",
                     f"{r['temperature_c']:g}", f"{r['loading_time_s']:g}",
                     f"{100 * r['elastic_recovery']:.1f}", f"{r['plastic_work_fraction']:.3f}",
                     f"{r['wall_s']:.0f}"])
    return _md(["film", "bridge k / k_Hertz", "bridge φ_eq", "plateau β [1/K]",
                "equilibrium-arm factor", "bare AM–AM μ (film depth δ_max/R*)", "T [°C]",
                "loading [s]", "elastic recovery [%]", "plastic work fraction", "wall s"], rows)


def impedance3d_table(data: dict) -> str:
    """τ_EIS from the 3-D blocking spectrum beside the voxel τ_z (benchmarks/impedance3d.py)."""
    rows = []
    for r in data["rows"]:
        nx, ny, nz = r["shape"]
        rows.append([r["structure"], f"{r['voxel_um']:.3g}", f"{nx}×{ny}×{nz}",
                     f"{100 * r['porosity']:.1f} %", f"{r['tau_z']:.3f}",
                     f"{r['tau_eis_fit']:.3f} ({100 * (r['tau_eis_fit'] / r['tau_z'] - 1):+.1f} %)",
                     f"{r['tau_eis_low_frequency']:.3f} "
                     f"({100 * (r['tau_eis_low_frequency'] / r['tau_z'] - 1):+.1f} %)",
                     f"{100 * r['fit_rms_relative_residual']:.1f} %",
                     f"{r['frequencies']}, {r['f_min_hz']:.3g}–{r['f_max_hz']:.3g}",
                     f"{r['gmres_iterations_max']}", f"{r['cpu_s']:.0f}",
                     f"{r['voxel_frequency_solves_per_cpu_s']:.3g}"])
    return _md(["structure", "voxel [µm]", "image", "porosity", "voxel τ_z",
                "τ_EIS (line fit)", "τ_EIS (low-frequency intercept)", "fit RMS residual",
                "frequencies [Hz]", "GMRES its (max)", "CPU s", "voxel·frequency / CPU s"],
               rows)


def cell3d_table(data: dict) -> str:
    """The 3-D half cell per structure: capacity (beside the P2D where the row has one), the
    Fig. 7C observables and the solver's cost (benchmarks/cell3d.py)."""
    rows = []
    for r in data["rows"]:
        nx, ny, nz = r["shape"]
        p2d = r.get("p2d_capacity_mah_g")
        rows.append([r["structure"], f"{r['voxel_um']:.3g}", f"{nx}×{ny}×{nz}",
                     f"{100 * r['porosity']:.1f} %", f"{r['c_rate']:g}C",
                     f"{r['capacity_mah_g']:.1f}" + ("" if p2d is None else f" (P2D {p2d:.1f})"),
                     f"{r['mean_voltage_v']:.3f}",
                     f"{r['reacting_particles']}/{r['particles']}",
                     f"{r['snapshot_capacity_mah_g']:.0f}",
                     f"{r['mean_li_gradient_mol_m4'] * 1e-6:.3g}",
                     f"{r['sd_cbd_current_a_m2']:.3g}",
                     f"{r['active_am_area_m2_m3'] * 1e-6:.3g} / "
                     f"{r['connected_am_area_m2_m3'] * 1e-6:.3g}",
                     f"{r['unknowns']}", f"{r['steps']} (+{r['rejected_steps']})",
                     f"{r['newton_iterations']}", f"{r['gmres_iterations']}",
                     f"{r['cpu_s']:.0f}", f"{r.get('wall_s', math.nan):.0f}",
                     f"{r.get('peak_rss_mb', math.nan):.0f}",  # not in rows before 2026-12
                     f"{r['unknown_steps_per_cpu_s']:.3g}"])
    return _md(["structure", "voxel [µm]", "image", "porosity", "rate", "capacity [mAh/g]",
                "mean V", "reacting AM", "snapshot [mAh/g]", "mean ∂c/∂z [mol/m³/µm]",
                "sd CBD current [A/m²]", "active / connected AM area [µm⁻¹]", "unknowns",
                "steps (rejected)", "Newton", "GMRES", "CPU s", "wall s", "peak RSS [MB]",
                "unknown·steps / CPU s"], rows)


def electronic_limit_table(data: dict) -> str:
    """Per electronic-limit calibration (benchmarks/electronic_limit.py): the calibrated
    parameters (mean, 95 % interval), then each measured state against the full forward model
    at the highest-posterior draw and the posterior-predictive median and 95 % band."""
    rows = []
    for e in data["entries"]:
        params = "; ".join(
            f"{n} {p['mean']:.3g} [{p['ci95_lower']:.3g}, {p['ci95_upper']:.3g}]"
            + (" (edge)" if p["at_prior_edge"] else "") for n, p in e["parameters"].items())
        if e.get("am_conductivity") == "lithiation":
            params += ("; highest-posterior draw "
                       + ", ".join(f"{n} {v:.3g}" for n, v in e["map"].items()))
        for k, s in enumerate(e["states"]):
            where = f"{e['voxel_um']:g}" + (" (network σ)" if e.get("conduction") == "network"
                                             else "")
            rows.append([e["name"] if k == 0 else "", where if k == 0 else "",
                         params if k == 0 else "", s["state"], str(s.get("films", 1)),
                         f"{100 * s['image_porosity']:.1f} %",
                         f"{100 * s['measured_porosity']:.1f} %", f"{s['thickness_um']:.0f}",
                         f"{s['sigma_eff_s_m']:.2e}", f"{s['capacity_mah_g']:.1f}",
                         f"{s['predictive_median']:.1f} [{s['predictive_lo95']:.1f}, "
                         f"{s['predictive_hi95']:.1f}]",
                         f"{s['measured_mah_g']:.0f} ± {s['measured_sd_mah_g']:.0f}"])
        if "model_gain" in e:
            rows.append(["", "", "", f"gain {e['gain_states'][0]} → {e['gain_states'][1]}",
                         "", "", "", "", "", f"{100 * e['model_gain']:+.0f} %", "",
                         f"{100 * e['measured_gain']:+.0f} %"])
    return _md(["calibration", "voxel [µm]", "posterior mean [95 % interval]", "state",
                "films", "image ε", "measured ε", "thickness [µm]",
                "σ_eff at MAP [S/m] (σ_AM(θ): at the start)", "capacity at MAP [mAh/g]",
                "posterior median [95 %]", "measured [mAh/g]"], rows)


def electronic_resolution_table(data: dict) -> str:
    """Per structure and voxel edge: does the CBD span the image along z, and σ_eff at the
    transport defaults (benchmarks/electronic_limit.py --resolution)."""
    rows = [[r["structure"], f"{r['voxel_um']:g}", "×".join(map(str, r["shape"])),
             f"{100 * r['porosity']:.1f} %", f"{100 * r['cbd_fraction']:.1f} %",
             "yes" if r["cbd_percolates"] else "no", f"{r['sigma_eff_s_m']:.2e}",
             f"{r['cpu_s']:.1f}"] for r in data["resolution"]]
    return _md(["structure", "voxel [µm]", "image", "porosity", "CBD", "CBD spans z",
                "σ_eff [S/m]", "CPU s"], rows)


def electronic_network_table(data: dict) -> str:
    """Per structure: its contact network (benchmarks/electronic_limit.py --network)."""
    rows = [[r["structure"], f"{100 * r['porosity']:.1f} %", f"{r['am_am_per_am']:.2f}",
             f"{r['am_cbd_per_am']:.1f}", f"{r['cbd_cbd_per_cbd']:.2f}",
             " / ".join(f"{r['median_contact_radius_um'][k]:.2f}"
                        for k in ("am_am", "am_cbd", "cbd_cbd")),
             "yes" if r["cbd_contacts_span"] else "no", f"{r['sigma_eff_default_s_m']:.2e}",
             f"{r['sigma_eff_reference_s_m']:.2e}",
             f"{100 * r['current_share_reference']['cbd_cbd']:.0f} %",
             f"{r['cpu_s']:.2f}"] for r in data.get("network", [])]
    return _md(["structure", "film porosity", "AM–AM / AM", "AM–CBD / AM", "CBD–CBD / CBD",
                "median a [µm] (AM–AM / AM–CBD / CBD–CBD)", "CBD contacts span z",
                "σ_eff, defaults [S/m]", "σ_eff, σ_CBD 1 S/m, G 1e4 S/m² [S/m]",
                "current on CBD–CBD", "CPU s"], rows)


TABLES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "cell3d": ("cell3d.json", cell3d_table),
    "cell3d-fast": ("cell3d_fast.json", cell3d_table),
    "electronic-limit": ("electronic_limit.json", electronic_limit_table),
    "electronic-resolution": ("electronic_limit.json", electronic_resolution_table),
    "electronic-network": ("electronic_limit.json", electronic_network_table),
    "impedance3d": ("impedance3d.json", impedance3d_table),
    "protocols": ("protocols_ci.json", protocols_table),
    "recipe-box": ("recipe_box.json", recipe_box_table),
    "dem-design": ("dem_design_fast.json", dem_design_table),
    "dem-calibration": ("dem_calibration_fast.json", dem_design_table),
    "dem-calibration-load-path": ("dem_calibration_fast.json", dem_load_path_table),
    "dem-calibration6": ("dem_calibration6_fast.json", dem_design_table),
    "dem-crushing": ("dem_crushing_fast.json", dem_design_table),
    "indentation-scan": ("indentation_scan_ci.json", indentation_scan_table),
    "indentation-scan-test": ("indentation_scan_ci_test.json", indentation_scan_table),
    "indentation-scan-sls": ("indentation_scan_ci_sls.json", indentation_scan_table),
    "bridge-equilibrium": ("bridge_equilibrium_ci.json", bridge_equilibrium_table),
    "am-law": ("am_law_ci.json", am_law_table),
    "am-law-fast": ("am_law_fast.json", am_law_fast_table),
    "crushing": ("crushing_scan.json", crushing_table),
    "crushing-flattening": ("crushing_flattening_ci.json", crushing_table),
    "crushing-fast": ("crushing_fast.json", lambda data: crushing_table(data, binder=True)),
    "coated-friction": ("coated_friction_fast.json",
                        lambda data: crushing_table(data, binder=True)),
    "coated-friction-indentation": ("coated_friction_fast.json", indentation_runs_table),
    "plateau-arm": ("plateau_arm_fast.json", lambda data: crushing_table(data, binder=True)),
    "plateau-arm-hot": ("plateau_arm_hot_fast.json",
                        lambda data: crushing_table(data, binder=True)),
    "plateau-arm-indentation": ("plateau_arm_fast.json", indentation_runs_table),
    "crushing-onset": ("crushing_onset_fast.json",
                       lambda data: crushing_table(data, binder=True)),
    "crushing-onset-indentation": ("crushing_onset_fast.json", indentation_runs_table),
    "dem-crushing-onset": ("dem_crushing_onset_fast.json", dem_design_table),
    "dem-crushing-calibration": ("dem_crushing_calibration_fast.json", dem_design_table),
    "dem-crushing-points": ("dem_crushing_points_fast.json", dem_design_table),
    "dem-crushing-points-paper": ("dem_crushing_points_paper.json", dem_design_table),
    "dem-friction-points-paper": ("dem_friction_points_paper.json", dem_design_table),
    "dem-calibrated-paper": ("dem_calibrated_paper.json", dem_design_table),
    "dem-calibrated-fast": ("dem_calibrated_fast.json", dem_design_table),
    "hot-calibrated": ("hot_calibrated_fast.json", lambda data: crushing_table(data, binder=True)),
    "octahedral-crushing": ("octahedral_crushing_fast.json", crushing_table),
    "dem-octahedral-paper": ("dem_octahedral_paper.json", dem_design_table),
    "recovery-bridge": ("recovery_bridge_fast.json", indentation_runs_table),
}


def render_page(text: str, data_dir: Path = DATA) -> str:
    """The page with every marked table regenerated from its JSON."""
    def replace(m: re.Match) -> str:
        name = m.group(2)
        if name not in TABLES:
            raise ValueError(f"unknown generated table {name!r}; known: {', '.join(TABLES)}")
        file, render = TABLES[name]
        table = render(json.loads((data_dir / file).read_text()))
        source = f"<!-- generated from benchmarks/data/{file} -->\n"
        return m.group(1) + source + table + m.group(4)

    return _BLOCK.sub(replace, text)


def stale_pages(pages_dir: Path = PAGES, data_dir: Path = DATA, write: bool = False
                ) -> list[Path]:
    """Pages whose generated tables differ from their JSON (rewritten when ``write``)."""
    stale = []
    for page in sorted(pages_dir.glob("*.md")):
        text = page.read_text()
        new = render_page(text, data_dir)
        if new != text:
            stale.append(page)
            if write:
                page.write_text(new)
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the stale pages")
    args = ap.parse_args(argv)
    stale = stale_pages(write=args.write)
    for page in stale:
        print(f"{'rewrote' if args.write else 'stale'}: {page.relative_to(ROOT)}")
    return 0 if args.write or not stale else 1


if __name__ == "__main__":
    sys.exit(main())
