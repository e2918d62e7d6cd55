"""The line-scale commands: ``etwin target-porosity`` (feed-forward calender control)."""

from __future__ import annotations

import argparse

from experiments.commands.common import AddCommand, log


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
        n_draws=args.n_draws, tolerance=args.tolerance, surrogate=args.surrogate,
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
                        "ensemble (default: the recorded fast DEM curve of the paper "
                        "electrode shipped in physics/line_data/fast_calendering_curve.json)")
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


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    _register_target_porosity(add)
