"""The crown job: transverse uniformity of a calender nip and the roll crown that evens it.

The electrode's compaction law (:class:`physics.compaction.CompactionLaw`) is fitted to one or
more porosity-pressure curves (an ``etwin calender`` folder, its curve.csv, a measured CSV or a
rows JSON; several curves are a seed ensemble fitted together; read and fitted by
:mod:`experiments.line_data`, as for ``etwin target-porosity``), by default to the two fast
DEM curves of the calibrated contact law shipped in physics/line_data/.  The spring-back is
a power law fitted to the curves' ``springback_percent`` column where they have one, else to
the DEM spring-back table in physics/line_data/.  The nip (:mod:`physics.crown`) is solved at
the operating line load (or bearing gap) with the installed crown, then the crown height that
minimises the porosity's non-uniformity across the web is found
(:func:`physics.crown.optimize_crown`).

Outputs: report.md, profiles.csv (both nips across the web), crown_scan.csv (non-uniformity
against crown), summary.json, PNG plots, one MLflow run.  Not modelled: a transverse roll
temperature profile (the compaction law is not tied to temperature without curves measured at
several temperatures), thermal crown, the rolls' own weight, bearing play.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

import numpy as np

from physics.crown import (
    OBJECTIVES,
    SHAPES,
    NipModel,
    RollGeometry,
    SpringBack,
    Web,
    fit_springback,
    optimize_crown,
)
from physics.materials import _check_range

PROFILE_COLUMNS = ("gap_um", "deflection_um", "crown_profile_um", "line_load_kn_m",
                   "peak_pressure_mpa", "mean_pressure_mpa", "contact_length_mm", "porosity",
                   "thickness_um")


# ---------------------------------------------------------------------------- the curves
def springback_law(curves, percent: float | None = None,
                   exponent: float | None = None) -> tuple[SpringBack, str]:
    """The power-law spring-back s = s_50 (p / 50 MPa)^a fitted to the spring-back points
    :func:`experiments.line_data.springback_for` picks (the curves' own column, else the
    shipped DEM table), and where they came from; ``percent`` (at 50 MPa) and ``exponent``
    override the fit.  A power law, not the table held at its ends: in the nip the film keeps
    compressing elastically above the table's last pressure."""
    from experiments.line_data import springback_for

    table = springback_for(curves, None)
    if table.pressure_mpa.size >= 2:
        law = fit_springback(table.pressure_mpa, table.percent)
        source = f"power law fitted to {table.source}"
    else:  # one pressure: its value at 50 MPa with the granular exponent 1/2
        law = SpringBack(float(table.percent[0]) * (50.0 / float(table.pressure_mpa[0])) ** 0.5)
        source = f"{table.source}, exponent 0.5"
    if percent is not None or exponent is not None:
        law = SpringBack(law.percent_at_reference if percent is None else percent,
                         law.reference_mpa, law.exponent if exponent is None else exponent)
        source += "; with the given " + " and ".join(
            n for n, v in (("percent", percent), ("exponent", exponent)) if v is not None)
    return law, source


# ---------------------------------------------------------------------------- the job
def _profile_rows(before, after) -> list[dict]:
    rows = []
    for k, x in enumerate(before.x_mm):
        row = {"x_mm": float(x)}
        for label, sol in (("installed", before), ("optimum", after)):
            row.update({f"{c}_{label}": float(getattr(sol, c)[k]) for c in PROFILE_COLUMNS})
        rows.append(row)
    return rows


def _headline(label: str, sol) -> str:
    s = sol.summary()
    return (f"- {label}: crown {sol.crown_um:.3g} µm per roll; porosity centre "
            f"{100 * s['porosity_centre']:.3f} %, edge {100 * s['porosity_edge']:.3f} % "
            f"(centre - edge "
            f"{100 * s['porosity_centre_minus_edge']:+.4f} points, range "
            f"{100 * s['porosity_range']:.4f} points); line load {s['line_load_kn_m_min']:.1f}"
            f"-{s['line_load_kn_m_max']:.1f} kN/m; peak nip pressure "
            f"{s['peak_pressure_mpa_min']:.1f}-{s['peak_pressure_mpa_max']:.1f} MPa; roll "
            f"deflection at the centre {s['deflection_um_centre']:.2f} µm")


def run_crown(out_dir: str | Path, *, curves=(), geometry: RollGeometry | None = None,
              web_width_mm: float = 300.0, coating_thickness_um: float | None = None,
              sides: int = 2, foil_thickness_um: float = 15.0, rolls: str = "two",
              line_load_kn_cm: float | None = 1.0, bearing_gap_um: float | None = None,
              crown_um: float = 0.0, crown_shape: str = "parabolic", objective: str = "range",
              crown_max_um: float | None = None, springback_percent: float | None = None,
              springback_exponent: float | None = None, elements_web: int = 120,
              experiment: str | None = "crown") -> dict:
    """Run the job (module docstring): the nip at the installed crown, the optimum crown,
    the report folder and one MLflow run (``experiment=None`` skips MLflow).  Force control
    at ``line_load_kn_cm`` unless ``bearing_gap_um`` is given.  Returns the summary."""
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import (
        plot_crown_profiles,
        plot_crown_scan,
        plot_nip_law,
        plot_roll_deflection,
    )
    from experiments.report import Section, write_report
    from experiments.tracking import job_run

    if crown_shape not in SHAPES:
        raise ValueError(f"crown_shape {crown_shape!r} is unknown; allowed: {', '.join(SHAPES)}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is unknown; allowed: {', '.join(OBJECTIVES)}")
    from experiments.line_data import DEFAULT_CURVES, fit_curves, read_curve

    geometry = geometry or RollGeometry()
    data = [read_curve(p) for p in (curves or DEFAULT_CURVES)]
    fit = fit_curves(data)
    spring, spring_source = springback_law(data, springback_percent, springback_exponent)
    sources = [c.source for c in data]
    pressures = np.concatenate([c.pressure_mpa for c in data])
    porosities = np.concatenate([c.porosity for c in data])
    if coating_thickness_um is None:
        thick = [c.thickness_initial_um for c in data if c.thickness_initial_um is not None]
        if not thick:
            raise ValueError("coating_thickness_um is required: the curves give no dried "
                             "thickness (allowed range (0, 2000] µm)")
        coating_thickness_um = float(np.mean(thick))
    web = Web(web_width_mm, coating_thickness_um, sides, foil_thickness_um)
    model = NipModel(geometry, web, fit.law, spring, rolls, elements_web)
    if bearing_gap_um is None:
        _check_range("line_load_kn_cm", line_load_kn_cm, 0.0, 20.0, lo_open=True)
        force_kn = line_load_kn_cm * 0.1 * web_width_mm
        top = 1e-3 * model.force_at_rigid(model.nip.gap_min_m, 0.0, crown_shape) / (
            0.1 * web_width_mm)
        if line_load_kn_cm > top:
            raise ValueError(f"line_load_kn_cm = {line_load_kn_cm:g} is beyond the reachable "
                             f"range (0, {top:.4g}] kN/cm of the compaction law's table")
        control = {"force_kn": force_kn}
    else:
        control = {"bearing_gap_um": bearing_gap_um}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {"curves": ",".join(sources), **{f"roll.{k}": v for k, v in
                                                    asdict(geometry).items()},
              **{f"web.{k}": v for k, v in asdict(web).items()}, "rolls": rolls,
              "line_load_kn_cm": line_load_kn_cm if bearing_gap_um is None else None,
              "bearing_gap_um": bearing_gap_um, "crown_um": crown_um,
              "crown_shape": crown_shape, "objective": objective,
              "springback_percent_at_50mpa": spring.percent_at_reference,
              "springback_exponent": spring.exponent, "elements_web": elements_web}
    with job_run(experiment, "crown", params) if experiment else nullcontext() as mlrun:
        before = model.solve(crown_um, crown_shape, **control)
        optimum = optimize_crown(model, shape=crown_shape, objective=objective,
                                 crown_max_um=crown_max_um, **control)
        after = optimum.solution
        curve_top = float(pressures.max())
        summary = {
            "job": "crown", "curves": sources,
            "compaction_law": {**asdict(fit.law), "residual_sd": fit.residual_sd,
                               "n_points": fit.n_points, "note": fit.note},
            "springback": {**asdict(spring), "source": spring_source},
            "roll": asdict(geometry), "web": asdict(web), "rolls": rolls,
            "control": "force" if bearing_gap_um is None else "gap",
            "crown_shape": crown_shape, "objective": objective,
            "installed": before.summary(), "optimum": after.summary(),
            "crown_optimum_um": optimum.crown_um,
            "crown_optimum_diameter_um": 2 * optimum.crown_um,
            "crown_search_um": list(optimum.bounds_um), "optimum_at_bound": optimum.at_bound,
            "porosity_insensitive": optimum.porosity_insensitive,
            "evaluations": len(optimum.scan),
            "curve_max_pressure_mpa": curve_top,
            "beyond_curve": bool(max(before.peak_pressure_mpa.max(),
                                     after.peak_pressure_mpa.max()) > curve_top),
        }
        write_csv_atomic(out / "profiles.csv", _profile_rows(before, after))
        label = "line_load_relative_range" if objective == "line-load" else \
            f"porosity_{objective}"
        write_csv_atomic(out / "crown_scan.csv", [{"crown_um": c, label: v}
                                                  for c, v in optimum.scan])
        plots = [plot_crown_profiles(before, after, out / "profiles.png").name,
                 plot_roll_deflection(before, after, geometry, web_width_mm,
                                      out / "roll.png").name,
                 plot_crown_scan(optimum, out / "crown_scan.png").name,
                 plot_nip_law(pressures, porosities, fit, model.nip, before, after,
                              out / "compaction_law.png").name]
        notes = []
        if summary["beyond_curve"]:
            notes.append(f"- The peak nip pressure exceeds the curves' highest pressure "
                         f"({curve_top:g} MPa): the porosity there is the law's "
                         "extrapolation.")
        if optimum.porosity_insensitive:
            notes.append("- The porosity does not tell these crowns apart (its range stays "
                         "below 0.001 points: the web is compacted to its ε_min at these "
                         "pressures); the crown was chosen for the most uniform line load.")
        if optimum.at_bound:
            notes.append("- The optimum lies at the end of the searched crowns: widen "
                         "--crown-max-um.")
        if not (before.converged and after.converged):
            notes.append("- A nip solve did not converge (see the residuals).")
        control_text = (f"force control, line load {line_load_kn_cm:g} kN/cm ("
                        f"{control['force_kn']:.4g} kN)" if bearing_gap_um is None else
                        f"gap control, bearing gap {bearing_gap_um:g} µm")
        law = fit.law
        measure = "relative line-load range" if objective == "line-load" else \
            f"porosity {objective}"
        write_report(out, "Roll crown and transverse uniformity", [
            Section("Result", "\n".join([
                _headline("Installed", before), _headline("Optimum", after),
                f"- Optimum {crown_shape} crown: {optimum.crown_um:.3f} µm per roll on the "
                f"radius ({2 * optimum.crown_um:.3f} µm on the diameter), minimising the "
                f"{measure} across the web at {control_text}; searched "
                f"[{optimum.bounds_um[0]:g}, {optimum.bounds_um[1]:.3g}] µm in "
                f"{len(optimum.scan)} nip solves.", *notes]), plots=plots[:2]),
            Section("Crown scan", "Porosity non-uniformity across the web against the crown "
                    "height (crown_scan.csv).", plots=plots[2:3]),
            Section("Inputs", "\n".join([
                f"- Rolls: {rolls} ({model.n} bending); barrel {geometry.barrel_length_mm:g} "
                f"mm x Ø {geometry.barrel_diameter_mm:g} mm (bore Ø "
                f"{geometry.bore_diameter_mm:g} mm), journals Ø "
                f"{geometry.journal_diameter_mm:g} mm, bearings {geometry.bearing_span_mm:g} "
                f"mm apart; E {geometry.young_modulus_gpa:g} GPa, ν "
                f"{geometry.poisson_ratio:g}.",
                f"- Web: {web.width_mm:g} mm wide, {web.sides} side(s) of "
                f"{web.coating_thickness_um:.4g} µm dried coating on a "
                f"{web.foil_thickness_um:g} µm foil (entry thickness "
                f"{web.entry_thickness_um:.4g} µm).",
                f"- Compaction law (fit to {', '.join(sources)}): ε0 "
                f"{law.porosity_initial:.4f}, ε_min {law.porosity_min:.4f}, K0 "
                f"{law.modulus_mpa:.4g} MPa, m {law.modulus_slope:.4g}; residual sd "
                f"{fit.residual_sd:.4f}" + (f" ({fit.note})." if fit.note else "."),
                f"- Spring-back: {spring.percent_at_reference:.3g} % at "
                f"{spring.reference_mpa:g} MPa, exponent {spring.exponent:.3g} "
                f"({spring_source}).",
                f"- Operating point: {control_text}; installed crown {crown_um:g} µm "
                f"({crown_shape})."]), plots=plots[3:]),
            Section("Checks", table=[
                {"nip": label, "force_kn": s.force_kn, "bearing_reaction_kn":
                 s.bearing_reaction_kn, "newton_iterations": s.iterations,
                 "converged": s.converged, "residual": s.residual,
                 "extrapolated_table": s.extrapolated}
                for label, s in (("installed", before), ("optimum", after))]),
            Section("Model", "physics/crown.py: Timoshenko rolls on pinned bearings, the web a "
                    "nonlinear Winkler foundation whose line load integrates the compaction "
                    "law's pressure along the arc of contact (validation: "
                    "docs/validation/crown.md). Not modelled: a transverse roll temperature "
                    "profile, thermal crown, the rolls' weight, bearing play."),
        ])
        write_json_atomic(out / "summary.json", summary)
        if mlrun is not None:
            metrics = {f"{label}.{k}": float(v) for label in ("installed", "optimum")
                       for k, v in summary[label].items()
                       if isinstance(v, int | float) and not isinstance(v, bool)}
            metrics["crown_optimum_um"] = optimum.crown_um
            mlrun.log_metrics(metrics)
            for name in ("report.md", "summary.json", "profiles.csv", "crown_scan.csv", *plots):
                mlrun.log_artifact(str(out / name))
            summary["mlflow_run_id"] = mlrun.run_id
    summary["out"] = str(out)
    return summary
