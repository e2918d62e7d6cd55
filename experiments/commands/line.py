"""The line-scale commands: ``etwin target-porosity`` (feed-forward calender control) and
``etwin crown`` (roll crown and transverse uniformity)."""

from __future__ import annotations

import argparse

from experiments.commands.common import AddCommand, as_flag, log


# ---------------------------------------------------------------------------- target-porosity
def _name_values(items: list[str], flag: str) -> dict[str, float]:
    """``NAME=VALUE`` items of a repeatable flag."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE") from None
        if not sep:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE")
    return out


def cmd_target_porosity(args: argparse.Namespace) -> dict:
    """Porosity-targeting feed-forward control (experiments/target_porosity.py)."""
    from experiments.line_data import IncomingDistribution
    from experiments.target_porosity import LINES, run_target_porosity

    dists = [IncomingDistribution.parse(s) for s in args.vary] if args.vary else None
    result = run_target_porosity(
        args.out, args.target_porosity, curves=args.curve or (),
        exponential=args.law == "exponential", batches=args.batches,
        dried_porosity=args.dried_porosity, dried_thickness_um=args.dried_thickness_um,
        solid_content=args.solid_content, am_mass_fraction=args.am_mass_fraction,
        solids_slope=args.solids_slope, springback_percent=args.springback_percent,
        pressure_max_mpa=args.pressure_max_mpa, level=args.level, dists=dists,
        porosity_sd=args.porosity_measurement_sd, solids_sd=args.solids_measurement_sd,
        scatter_sd=args.scatter_sd, n_draws=args.n_draws, tolerance=args.tolerance,
        surrogate=args.surrogate,
        surrogate_inputs=_name_values(args.surrogate_input, "--surrogate-input"),
        seed=args.seed, experiment=None if args.no_mlflow else args.experiment,
        quiet=args.quiet)
    n = result["nominal"]
    log(f"target {n['target_porosity']:g}: {n['pressure_mpa']:.4g} MPa "
        f"[{n['pressure_lo_mpa']:.4g}, {n['pressure_hi_mpa']:.4g}], roll gap "
        f"{n['roll_gap_um']:.2f} µm for the nominal film")
    if "surrogate" in result:
        s = result["surrogate"]["nominal"]
        log(f"surrogate: {s['pressure_mpa']:.4g} MPa [{s['pressure_lo_mpa']:.4g}, "
            f"{s['pressure_hi_mpa']:.4g}] {s['note']}")
    for line, s in result["monte_carlo"]["lines"].items():
        log(f"{LINES[line]}: porosity sd {s['sd']:.4f}, 5-95 % range {s['range_5_95']:.4f}, "
            f"{100 * s['within_tolerance']:.1f} % within tolerance")
    if result["batches"]:
        log(f"{len(result['batches'])} batch setpoints in {result['out']}/setpoints.csv")
    log(f"report {result['out']}/report.md")
    return result


def _register_target_porosity(add: AddCommand) -> None:
    p = add("target-porosity", cmd_target_porosity,
            "Porosity-targeting feed-forward control of the calender: from the incoming "
            "film (dried porosity, thickness or slurry solid content; nominal or per batch "
            "or web position from a CSV) and the compaction law ε(p) = ε_min + (ε0 − ε_min)"
            "(1 + m p/K0)^(−1/m) fitted to DEM curves, the pressure and roll gap that reach a "
            "target porosity with their predictive intervals; optionally the DEM-trained GP "
            "surrogate inverted beside it; a Monte Carlo of incoming scatter compares a "
            "fixed-pressure line with the feed-forward lines; report folder and an MLflow "
            "run.")
    p.add_argument("--target-porosity", type=float, required=True,
                   help="target porosity after spring-back, a fraction; it must lie in the "
                        "range the film reaches, (ε(p_max), ε0] (required, no default)")
    p.add_argument("--curve", action="append", default=None,
                   help="DEM (or measured) porosity-pressure curve: an etwin calender --out "
                        "folder, its curve.csv, a CSV with pressure_mpa, porosity [, "
                        "porosity_sd, springback_percent, thickness_um] (a pressure-0 row is "
                        "the dried film) or a JSON with such 'rows'; repeat for a seed "
                        "ensemble (default: the paper electrode's two fast DEM curves with "
                        "the six-parameter fast law, nmc111-fast6, physics/line_data/"
                        "fast_calibrated_curve_s0.json and _s1.json; Table 2's: "
                        "fast_calendering_curve.json there)")
    p.add_argument("--law", default="pore-modulus", choices=["pore-modulus", "exponential"],
                   help="pore-modulus: K = K0 + m p (default); exponential: Meyer's law, m = 0")
    p.add_argument("--batches", default=None,
                   help="CSV of incoming films: batch or position_m, and any of "
                        "dried_porosity, dried_thickness_um, solid_content (each row needs a "
                        "dried porosity or a solid content); writes a setpoint per row "
                        "(default: the nominal film only)")
    p.add_argument("--dried-porosity", type=float, default=None,
                   help="nominal dried porosity, a fraction (default: the curve's dried film)")
    p.add_argument("--dried-thickness-um", type=float, default=None,
                   help="nominal dried thickness [µm], in [1, 5000], for rows without one "
                        "(default: the curve's dried film)")
    p.add_argument("--solid-content", type=float, default=0.69,
                   help="nominal slurry solid content (mass fraction) of the nominal dried "
                        "porosity, in [0.5, 0.8] (default 0.69, the paper's)")
    p.add_argument("--am-mass-fraction", type=float, default=0.96,
                   help="AM share of the dry solids, in [0.8, 0.98]: where the DEM recipe box "
                        "gives the slope dε0/d(solid content) (default 0.96, the paper's)")
    p.add_argument("--solids-slope", type=float, default=None,
                   help="dε0/d(solid content) of your line, in [-5, 5] (default: from the "
                        "DEM recipe box at --am-mass-fraction)")
    p.add_argument("--springback-percent", type=float, default=None,
                   help="elastic spring-back after the nip [%%], in [0, 100), for the roll "
                        "gap (default: the curve's springback_percent column, else the "
                        "shipped DEM table, ci films, paper protocol)")
    p.add_argument("--pressure-max-mpa", type=float, default=None,
                   help="highest pressure the line may use [MPa] (default: the curve's "
                        "highest, no extrapolation beyond it)")
    p.add_argument("--level", type=float, default=0.9,
                   help="level of the predictive intervals, in [0.5, 0.999] (default 0.9)")
    p.add_argument("--vary", action="append", default=[],
                   help="incoming scatter NAME=KIND:A,B, repeatable; NAME dried_porosity (at "
                        "the nominal solid content), solid_content or dried_thickness_um; "
                        "KIND normal (mean, sd), uniform (low, high) or lognormal (median, sd "
                        "of ln) (default: dried porosity sd 0.01, solid content sd 0.01, "
                        "thickness sd 2 %%)")
    p.add_argument("--porosity-measurement-sd", type=float, default=0.003,
                   help="sd of the inline dried-porosity measurement, in [0, 0.1] "
                        "(default 0.003)")
    p.add_argument("--solids-measurement-sd", type=float, default=0.002,
                   help="sd of the solid-content measurement, in [0, 0.1] (default 0.002)")
    p.add_argument("--scatter-sd", type=float, default=None,
                   help="the films' porosity scatter about the law at a known dried porosity "
                        "on the line, in [0, 0.1] (default: the curves' scatter about the "
                        "fitted law; a seed ensemble of small DEM films holds their sampling "
                        "scatter, which a coupon-scale line porosity averages away)")
    p.add_argument("--n-draws", type=int, default=20000,
                   help="Monte Carlo films, in [100, 1e7] (default 20000)")
    p.add_argument("--tolerance", type=float, default=0.005,
                   help="porosity tolerance around the target for the share-within number, "
                        "in [1e-4, 0.1] (default 0.005, ±0.5 points)")
    p.add_argument("--surrogate", default=None,
                   help="an etwin train --out folder (or its surrogates.pt) whose porosity "
                        "GP over pressure (and solid_content, coating_thickness_um, ...) is "
                        "inverted beside the law (default: none)")
    p.add_argument("--surrogate-input", action="append", default=[],
                   help="NAME=VALUE of a surrogate input other than pressure, solid content "
                        "and thickness, e.g. temperature_c=60; repeatable (default: the "
                        "pipeline's defaults)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed, integer >= 0 (default 0)")
    p.add_argument("--out", default="target_porosity",
                   help="report folder (default target_porosity)")
    p.add_argument("--experiment", default="target-porosity",
                   help="MLflow experiment (default target-porosity)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# ---------------------------------------------------------------------------- crown
def cmd_crown(args: argparse.Namespace) -> dict:
    """Roll crown and transverse uniformity (experiments/crown.py)."""
    from experiments.crown import run_crown
    from physics.crown import RollGeometry

    try:
        geometry = RollGeometry(
            barrel_length_mm=args.barrel_length_mm, barrel_diameter_mm=args.barrel_diameter_mm,
            journal_diameter_mm=args.journal_diameter_mm, bearing_span_mm=args.bearing_span_mm,
            bore_diameter_mm=args.bore_diameter_mm, young_modulus_gpa=args.young_modulus_gpa,
            poisson_ratio=args.poisson_ratio)
        result = run_crown(
            args.out, curves=args.curve, geometry=geometry, web_width_mm=args.web_width_mm,
            coating_thickness_um=args.coating_thickness_um, sides=args.sides,
            foil_thickness_um=args.foil_thickness_um, rolls=args.rolls,
            line_load_kn_cm=args.line_load_kn_cm, bearing_gap_um=args.bearing_gap_um,
            crown_um=args.crown_um, crown_shape=args.crown_shape, objective=args.objective,
            crown_max_um=args.crown_max_um, springback_percent=args.springback_percent,
            springback_exponent=args.springback_exponent, elements_web=args.elements_web,
            experiment=None if args.no_mlflow else args.experiment)
    except ValueError as err:
        raise ValueError(as_flag(str(err))) from None
    for label in ("installed", "optimum"):
        s = result[label]
        log(f"{label}: crown {s['crown_um']:.3g} µm, porosity centre - edge "
            f"{100 * s['porosity_centre_minus_edge']:+.4f} points (range "
            f"{100 * s['porosity_range']:.4f}), line load {s['line_load_kn_m_min']:.1f}-"
            f"{s['line_load_kn_m_max']:.1f} kN/m")
    log(f"optimum {result['crown_shape']} crown {result['crown_optimum_um']:.3f} µm per roll; "
        f"report {result['out']}/report.md")
    return result


def _register_crown(add: AddCommand) -> None:
    p = add("crown", cmd_crown,
            "Roll crown and transverse uniformity: the rolls (Timoshenko beams on their "
            "bearings) bending under the web, the web a nonlinear Winkler foundation from the "
            "calibrated compaction law, solved together for the gap, line load, nip pressure "
            "and porosity across the width; then the crown height that makes the porosity "
            "most uniform. Report folder (report.md, profiles.csv, crown_scan.csv, PNGs, "
            "summary.json) and an MLflow run.")
    p.add_argument("--curve", action="append", default=[],
                   help="compaction curve: an etwin calender folder, its curve.csv, a CSV with "
                        "pressure_mpa, porosity [, porosity_sd, springback_percent, "
                        "thickness_um] (a 0 MPa row = the dried film) or a rows JSON; repeat "
                        "for a seed ensemble fitted together (default: the paper electrode's "
                        "two fast DEM curves with the six-parameter fast law, nmc111-fast6, "
                        "physics/line_data/fast_calibrated_curve_s0.json and _s1.json)")
    p.add_argument("--barrel-length-mm", type=float, default=500.0,
                   help="roll barrel (face) length in mm, in (0, 10000] (default 500)")
    p.add_argument("--barrel-diameter-mm", type=float, default=400.0,
                   help="roll barrel diameter in mm, in (0, 3000] (default 400)")
    p.add_argument("--journal-diameter-mm", type=float, default=200.0,
                   help="journal diameter between barrel and bearing in mm, in (0, barrel "
                        "diameter] (default 200)")
    p.add_argument("--bearing-span-mm", type=float, default=800.0,
                   help="distance between the bearing centres in mm, in [barrel length, "
                        "10000] (default 800)")
    p.add_argument("--bore-diameter-mm", type=float, default=0.0,
                   help="central bore of the barrel in mm, in [0, barrel diameter) (default 0: "
                        "solid)")
    p.add_argument("--young-modulus-gpa", type=float, default=210.0,
                   help="roll Young's modulus in GPa, in (0, 2000] (default 210, steel)")
    p.add_argument("--poisson-ratio", type=float, default=0.3,
                   help="roll Poisson ratio, in [0, 0.5) (default 0.3)")
    p.add_argument("--rolls", default="two", choices=("two", "rigid"),
                   help="two identical bending rolls (default) or one against a rigid roll")
    p.add_argument("--web-width-mm", type=float, default=300.0,
                   help="coated web width in mm, centred, in (0, barrel length] (default 300)")
    p.add_argument("--coating-thickness-um", type=float, default=None,
                   help="dried coating thickness per side in µm, in (0, 2000] (default: the "
                        "curves' dried thickness, 85.5 µm for the shipped curves)")
    p.add_argument("--sides", type=int, default=2, choices=(1, 2),
                   help="coated sides of the foil (default 2)")
    p.add_argument("--foil-thickness-um", type=float, default=15.0,
                   help="current collector thickness in µm, in [0, 500] (default 15)")
    p.add_argument("--line-load-kn-cm", type=float, default=1.0,
                   help="force control: nip force per web width in kN/cm, in (0, 20] (default "
                        "1)")
    p.add_argument("--bearing-gap-um", type=float, default=None,
                   help="gap control instead: the rolls' gap at the bearings (undeflected, "
                        "uncrowned) in µm, below the web's entry thickness plus the crown "
                        "(default: none, force control)")
    p.add_argument("--crown-um", type=float, default=0.0,
                   help="installed crown per roll in µm (barrel-centre radius minus barrel-end "
                        "radius; the diameter crown is twice), in [0, entry thickness / "
                        "bending rolls) (default 0: cylindrical)")
    p.add_argument("--crown-shape", default="parabolic",
                   choices=("parabolic", "cosine", "deflection"),
                   help="crown profile along the barrel: parabolic (default), cosine, or "
                        "deflection (the roll's own bending line under a uniform load over "
                        "the web)")
    p.add_argument("--crown-max-um", type=float, default=None,
                   help="upper end of the crown search in µm (default: three times the crown "
                        "that closes the installed nip's centre-to-edge gap difference)")
    p.add_argument("--objective", default="range", choices=("range", "sd", "line-load"),
                   help="non-uniformity to minimise across the web: the porosity range (max "
                        "- min, default) or sd, or the line load's (max - min) / mean; where "
                        "the porosity is saturated the line load decides")
    p.add_argument("--springback-percent", type=float, default=None,
                   help="elastic spring-back at 50 MPa in %% of the loaded thickness, in [0, "
                        "30] (default: fitted to the curves' springback_percent, else to the "
                        "DEM spring-back in physics/line_data/, about 3.1)")
    p.add_argument("--springback-exponent", type=float, default=None,
                   help="spring-back growth with pressure, s ∝ p^a, a in [0.1, 2] (default: "
                        "fitted, about 0.5)")
    p.add_argument("--elements-web", type=int, default=120,
                   help="beam elements across the web (the same size elsewhere), in [10, "
                        "4000] (default 120)")
    p.add_argument("--out", default="crown", help="report folder (default crown)")
    p.add_argument("--experiment", default="crown", help="MLflow experiment (default crown)")
    p.add_argument("--no-mlflow", action="store_true",
                   help="do not log to MLflow (default: log)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (default: off; the job has no progress bars)")


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    _register_target_porosity(add)
    _register_crown(add)
