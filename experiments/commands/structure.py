"""``etwin recipe``, ``collide``, ``dry``, ``calender``, ``indent``: particle structures."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys

from experiments.commands.common import (
    PRESET_HELP,
    RECIPES,
    AddCommand,
    add_materials_flag,
    as_flag,
    check_fidelity_flag,
    floats,
    load_dried,
    log,
    materials_from,
    number_list,
    recipe_named,
)
from experiments.files import json_safe, write_csv_atomic, write_json_atomic


# ---------------------------------------------------------------------------- recipe
def cmd_recipe(args: argparse.Namespace) -> dict:
    """Particle counts from the dry mass balance of a recipe."""
    recipe = recipe_named(args.recipe)
    if args.box_um is not None:
        box = floats(args.box_um, 3, "--box-um")
        counts = recipe.counts_for_box(box, args.porosity)
    else:
        box = None
        counts = recipe.counts_for_am(args.n_am)
    result = {
        "recipe": args.recipe,
        "am_mass_fraction": recipe.am_mass_fraction,
        "carbon_mass_fraction": recipe.carbon_mass_fraction,
        "binder_mass_fraction": recipe.binder_mass_fraction,
        "am_diameters_um": list(counts.am_diameters_um),
        "am_counts": list(counts.am_counts),
        "n_am": counts.n_am,
        "n_cbd": counts.n_cbd,
        "am_mass_pg": counts.am_mass_pg,
        "cbd_mass_pg": counts.cbd_mass_pg,
        "am_to_cbd_mass_ratio": counts.am_mass_pg / counts.cbd_mass_pg,
        "solid_volume_um3": counts.solid_volume_um3,
    }
    if box is not None:
        result["box_um"] = list(box)
        result["porosity"] = counts.porosity_in_box(box)
    return result


# ---------------------------------------------------------------------------- collide
def cmd_collide(args: argparse.Namespace) -> dict:
    """One collision with the Table 2 law (physics/engine/collision.py)."""
    from physics.engine.collision import head_on_collision

    try:
        c = head_on_collision(args.particle, args.target, args.radius_um, args.speed_m_s,
                              target_radius_um=args.target_radius_um,
                              cohesion=not args.no_cohesion, dt_us=args.dt_us)
    except ValueError as err:
        raise ValueError(as_flag(str(err))) from None
    return {"particle": args.particle,
            "target": args.target + (" plane" if c.target_is_plane else ""),
            "radius_um": args.radius_um, "speed_m_s": args.speed_m_s,
            "cohesion": not args.no_cohesion, **dataclasses.asdict(c)}


def cmd_dry(args: argparse.Namespace) -> dict:
    """CGMD slurry + drying -> dried electrode (structure files, metrics, plots)."""
    import csv
    from pathlib import Path

    import numba
    from tqdm import tqdm

    from experiments.plots import plot_drying_log, plot_rdf
    from physics.fidelity import FIDELITY_N_AM
    from physics.slurry import DryingProtocol, dry_electrode
    from physics.structure import radial_distribution

    check_fidelity_flag(args.fidelity)
    recipe = recipe_named(args.recipe)
    materials = materials_from(args)
    if materials is not None or args.am_mass_fraction is not None \
            or args.solid_content is not None:
        from physics.pipeline import ProcessInputs

        defaults = materials.process_defaults() if materials is not None else {}
        recipe = ProcessInputs(**{**defaults, **{
            k: v for k, v in (("am_mass_fraction", args.am_mass_fraction),
                              ("solid_content", args.solid_content)) if v is not None}}
        ).recipe(materials)
    n_am = FIDELITY_N_AM[args.fidelity] if args.n_am is None else args.n_am
    if not 24 <= n_am <= 2000:
        raise ValueError(f"--n-am = {n_am}; allowed: 24-2000 AM particles (fewer do not fill "
                         "a column as tall as the largest AM)")
    protocol = DryingProtocol(mode=args.mode)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(desc=f"dry ({args.fidelity})", unit="step", file=sys.stderr, disable=args.quiet)

    def progress(row: dict) -> None:
        bar.update(row["step"] - bar.n)
        bar.set_postfix(phase=row["phase"], density=f"{row.get('density_g_cm3', 0):.3f}")

    result = dry_electrode(recipe, n_am, seed=args.seed,
                           protocol=protocol, progress=progress)
    bar.close()
    result.dried.save(out / "dried.npz")
    result.slurry.save(out / "slurry.npz")
    rdf = radial_distribution(result.dried)
    plot_rdf(rdf, out / "rdf.png", title=f"dried electrode ({n_am} AM, seed {args.seed})")
    plot_drying_log(result.log, out / "drying.png")
    keys = sorted({k for row in result.log for k in row})
    with open(out / "drying_log.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(result.log)
    m = result.metrics
    summary = {
        "density_g_cm3": m.density_g_cm3, "porosity": m.porosity,
        "thickness_um": m.thickness_um, "n_am": m.n_am, "n_cbd": m.n_cbd,
        "wall_s": result.wall_s, "steps": result.steps, "mode": protocol.mode,
        "fidelity": args.fidelity if args.n_am is None else "custom", "seed": args.seed,
        # the engine's force sums run in one chunk per thread, so the seed and the thread
        # count together reproduce a film bit for bit (another count: another realisation)
        "numba_threads": numba.get_num_threads(),
        "am_mass_fraction": recipe.am_mass_fraction, "solid_content": recipe.solid_content,
        "slurry_density_g_cm3": result.slurry_metrics.density_g_cm3,
        "coordination_am": m.coordination_am, "coordination_cbd": m.coordination_cbd,
        "max_overlap_fraction": m.max_overlap_fraction,
        "cbd_cbd_first_peak_um": rdf.first_peak_um("CBD-CBD"),
        "out": str(out),
    }
    write_json_atomic(out / "metrics.json", summary)
    return summary


# ---------------------------------------------------------------------------- calender


def dried_state(args: argparse.Namespace, out):
    """The dried structure of --dried (a directory with dried.npz, or an .npz file), or a
    fresh drying at --fidelity written to OUT/dried (reused when present)."""
    from pathlib import Path

    from physics.state import ParticleState

    if args.dried:
        return load_dried(args.dried)
    cached = Path(out) / "dried" / "dried.npz"
    if cached.is_file():
        log(f"using the dried structure in {cached}")
        return ParticleState.load(cached), str(cached)
    log(f"no --dried given: drying the {args.recipe} recipe at --fidelity {args.fidelity}")
    cmd_dry(argparse.Namespace(recipe=args.recipe, fidelity=args.fidelity, seed=args.seed,
                               n_am=None, am_mass_fraction=None, solid_content=None,
                               materials=getattr(args, "materials", None), mode="wall",
                               out=str(cached.parent), quiet=args.quiet))
    return ParticleState.load(cached), str(cached)


def _law_summary(args: argparse.Namespace, conditions) -> dict:
    """The contact law of a press or an indentation for its metrics.json: the preset, the
    frictions, the binder contact models, the bridge's relaxation time [µs], the plateau's
    softening [1/K] and the factor on the bridge's equilibrium arm at these conditions."""
    return {"preset": args.preset, "am_friction": conditions.am_friction,
            "cbd_friction": conditions.cbd_friction,
            "binder_contact": dataclasses.asdict(conditions.binder_contact),
            "bridge_relaxation_us": conditions.bridge_relaxation_us(),
            "plateau_softening_per_k": conditions.binder.plateau_softening_per_k,
            "bridge_equilibrium_scale": conditions.bridge_equilibrium_scale()}


def _conditions_protocol(args: argparse.Namespace):
    """Contact law from --preset (default paper: Table 2), each contact flag given on the
    command line overriding it; process inputs and press protocol from their flags."""
    from physics.calender import CalenderProtocol
    from physics.calender.presets import load_preset

    materials = materials_from(args)
    base = load_preset(args.preset).process_conditions(
        None if materials is None else materials.calender_conditions(),
        temperature_c=args.temperature_c, line_speed_m_min=args.line_speed_m_min,
        roll_diameter_m=args.roll_diameter_m)
    contact = {f: getattr(args, a) for a, f in (
        ("cbd_plasticity", "plasticity"), ("cbd_adhesion_ratio", "adhesion_ratio"),
        ("am_rolling", "am_rolling"), ("bridge_stiffness_ratio", "bridge_stiffness_ratio"),
        ("bridge_relaxation_us", "bridge_relaxation_ref_us"),
        ("bridge_equilibrium_fraction", "bridge_equilibrium_fraction"),
        ("am_plasticity", "am_plasticity"), ("am_yield_gpa", "am_yield_gpa"),
        ("am_strength_mpa", "am_strength_mpa"), ("am_weibull_modulus", "am_weibull_modulus"),
        ("am_crushing_stress", "am_crushing_stress"),
        ("am_crushed_yield_gpa", "am_crushed_yield_gpa"),
        ("am_crushed_flattening", "am_crushed_flattening"),
        ("am_film_depth", "am_film_depth"), ("am_bare_friction", "am_bare_friction"))
        if getattr(args, a) is not None}
    friction = {f: getattr(args, f) for f in ("am_friction", "cbd_friction")
                if getattr(args, f) is not None}
    conditions = dataclasses.replace(
        base, binder_contact=dataclasses.replace(base.binder_contact, **contact),
        **friction)
    protocol = CalenderProtocol(
        inertial_number=args.inertial_number, min_plane_speed_m_s=args.min_plane_speed_m_s,
        press=getattr(args, "protocol", "quasi-static"),
        paper_plane_speed_m_s=getattr(args, "paper_plane_speed_m_s", 0.2))
    return conditions, protocol


def _press_bar(desc: str, quiet: bool):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="step", file=sys.stderr, disable=quiet)

    def progress(row: dict) -> None:
        bar.update(row["step"] - bar.n)
        bar.set_postfix(phase=row["phase"], p_mpa=f"{row['pressure_mpa']:.3g}",
                        porosity=f"{row['porosity']:.4f}")

    return bar, progress


def cmd_calender(args: argparse.Namespace) -> dict:
    """DEM calendering: porosity-pressure curve, spring-back, force-displacement, stress."""
    from pathlib import Path

    from experiments.plots import plot_porosity_pressure, plot_press_trace, plot_rdf_compare
    from physics.calender import calender, check_pressures, overshot_targets

    check_fidelity_flag(args.fidelity)
    pressures = check_pressures(number_list(args.pressures_mpa, "--pressures-mpa"))
    conditions, protocol = _conditions_protocol(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state, source = dried_state(args, out)
    bar, progress = _press_bar("calender", args.quiet)
    result = calender(state, pressures, conditions, protocol, progress=progress)
    bar.close()
    floor = [p.pressure_target_mpa for p in result.points if p.floor_speed_at_target]
    if floor:
        log(f"note: at {', '.join(f'{p:g}' for p in floor)} MPa the roll reached the target at "
             f"the floor speed {protocol.min_plane_speed_m_s:g} m/s (inertial number above "
             f"{protocol.inertial_number:g}); there the porosity depends slightly on that "
             "speed (docs/physics/calendering.md, 'Speed ensembles below 2 MPa'); compare with "
             "--min-plane-speed-m-s halved")
    overshot = overshot_targets([p.pressure_target_mpa for p in result.points],
                                [p.pressure_max_mpa for p in result.points])
    if overshot:
        readings = ", ".join(f"{r:.4g} MPa for {t:g}" for t, r in overshot)
        log(f"note: the plane pressure at the turn read {readings} MPa: the loading path "
            "passed the target within one control block (a film that stiffens faster "
            "than one block's plane travel), so those points' porosity may belong to a "
            "higher pressure (pressure_max_mpa in curve.csv; docs/validation/calendering.md, "
            "'Where the crushing starts, film by film')")
    points = []
    for point in result.points:
        name = f"calendered_{point.pressure_target_mpa:g}MPa.npz"
        point.state.save(out / name)
        points.append({**point.summary(), "structure": name})
    curve = [{k: v for k, v in p.items() if not k.startswith("stress")} for p in points]
    write_csv_atomic(out / "curve.csv", curve)
    write_csv_atomic(out / "force_displacement.csv", result.trace)
    fit = result.fit
    plot_porosity_pressure([p.pressure_max_mpa for p in result.points],
                           [p.porosity for p in result.points], out / "porosity_pressure.png",
                           porosity_zero=result.initial.porosity, fit=fit,
                           porosities_min=[p.porosity_min for p in result.points],
                           floor_speed=[p.floor_speed_at_target for p in result.points],
                           title=f"{conditions.temperature_c:g} °C, "
                                 f"{conditions.line_speed_m_min:g} m/min")
    plot_press_trace(result.trace, out / "force_displacement.png")
    plot_rdf_compare(result.rdf_before, result.rdf_after, "AM-CBD", out / "rdf_am_cbd.png",
                     labels=("uncalendered", f"{result.points[-1].pressure_target_mpa:g} MPa"))
    g_before = result.rdf_before.g["AM-CBD"]
    g_after = result.rdf_after.g["AM-CBD"]
    summary = {
        "dried": source,
        "temperature_c": conditions.temperature_c,
        "line_speed_m_min": conditions.line_speed_m_min,
        "roll_diameter_m": conditions.roll_diameter_m,
        **_law_summary(args, conditions),
        "protocol": protocol.press,
        "cbd_young_modulus_gpa": result.cbd_young_modulus_gpa,
        "cbd_cohesion_gpa": result.cbd_cohesion_gpa,
        "porosity_uncalendered": result.initial.porosity,
        "thickness_uncalendered_um": result.initial.thickness_um,
        "coordination_uncalendered": result.initial.coordination_mean,
        "pressures_mpa": [p["pressure_max_mpa"] for p in points],
        "porosities": [p["porosity"] for p in points],
        "points": points,
        "fit": None if fit is None else {
            **dataclasses.asdict(fit.law), "residual_sd": fit.residual_sd,
            "law": "porosity_min + (porosity_initial - porosity_min) * (1 + modulus_slope * p "
                   "/ modulus_mpa)^(-1/modulus_slope) (physics/compaction.py)"},
        "monotonic": bool(all(a["porosity"] >= b["porosity"]
                              for a, b in itertools.pairwise(points))),
        "am_cbd_rdf_peak_before": float(g_before.max()),
        "am_cbd_rdf_peak_after": float(g_after.max()),
        "am_cbd_shell_count_before": result.am_cbd_shell_before,
        "am_cbd_shell_count_after": result.am_cbd_shell_after,
        "inertial_number_target": protocol.inertial_number,
        "min_plane_speed_m_s": protocol.min_plane_speed_m_s,
        "dt_us": result.dt_us, "n_particles": result.n_particles, "steps": result.steps,
        "particle_steps_per_s": result.particle_steps_per_s, "wall_s": result.wall_s,
        "out": str(out),
    }
    write_json_atomic(out / "metrics.json", json_safe(summary))
    return summary


def cmd_indent(args: argparse.Namespace) -> dict:
    """Flat-punch micro-indentation of a dried electrode (normalised load-displacement)."""
    from pathlib import Path

    from experiments.plots import plot_indentation
    from physics.calender import indent
    from physics.calender.indentation import INDENTERS
    from physics.structure import tile_xy

    check_fidelity_flag(args.fidelity)
    if args.indenter not in INDENTERS:
        raise ValueError(f"--indenter {args.indenter!r} is unknown; allowed: "
                         f"{', '.join(INDENTERS)}")
    conditions, protocol = _conditions_protocol(args)
    try:
        conditions = dataclasses.replace(conditions, loading_time_s=args.loading_time_s)
    except ValueError as err:
        raise ValueError(f"--loading-time-s: {err}") from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state, source = dried_state(args, out)
    state = tile_xy(state, args.tile)
    bar, progress = _press_bar("indent", args.quiet)
    result = indent(state, args.depth_fraction, args.hold_us, conditions, protocol,
                    indenter=INDENTERS[args.indenter], progress=progress)
    bar.close()
    write_csv_atomic(out / "indentation.csv", result.trace)
    plot_indentation(result.trace, out / "indentation.png",
                     title=f"micro-indentation to {100 * args.depth_fraction:g} % of "
                           f"{result.thickness_um:.1f} µm ({result.n_particles} particles)")
    summary = {k: v for k, v in result.__dict__.items() if k != "trace"}
    summary.update({"dried": source, "tile": args.tile, "depth_fraction": args.depth_fraction,
                    "hold_us": args.hold_us, "loading_time_s": args.loading_time_s,
                    "indenter": args.indenter, "temperature_c": conditions.temperature_c,
                    **_law_summary(args, conditions),
                    "cbd_modulus_gpa": conditions.cbd_material().young_modulus_pa / 1e9,
                    "out": str(out)})
    write_json_atomic(out / "metrics.json", json_safe(summary))
    return summary


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    p = add("recipe", cmd_recipe,
            "Particle counts of a recipe from the dry mass balance (AM per size class, CBD).")
    p.add_argument("--recipe", default="paper",
                   help=f"recipe name; allowed: {', '.join(RECIPES)} (default paper)")
    p.add_argument("--n-am", type=int, default=396,
                   help="number of AM particles, integer >= 1 (default 396, the paper's cell)")
    p.add_argument("--box-um", default=None,
                   help="instead of --n-am: box 'LX,LY,LZ' in µm (each > 0) to fill (default: "
                        "none, --n-am counts)")
    p.add_argument("--porosity", type=float, default=0.416,
                   help="dried porosity for --box-um, in [0, 1) (default 0.416, the paper's)")

    p = add("collide", cmd_collide,
            "One head-on collision with the Table 2 contact law (LIGGGHTS hertz tangential "
            "history cohesion sjkr): rebound speed, restitution, contact time (and the "
            "undamped Hertz time for comparison).")
    p.add_argument("--particle", default="AM",
                   help="moving sphere material: AM or CBD (default AM)")
    p.add_argument("--target", default="steel",
                   help="target: Al or steel (a plane) or AM or CBD (a sphere) (default steel)")
    p.add_argument("--radius-um", type=float, default=2.5,
                   help="moving sphere radius in µm, in (0, 100] (default 2.5)")
    p.add_argument("--target-radius-um", type=float, default=None,
                   help="target sphere radius in µm, in (0, 100]; given for Al/steel it makes "
                        "the target a sphere (default: same as --radius-um)")
    p.add_argument("--speed-m-s", type=float, default=1.0,
                   help="impact (relative) speed in m/s, in (0, 100] (default 1)")
    p.add_argument("--no-cohesion", action="store_true",
                   help="switch SJKR cohesion off (CED = 0) for both bodies")
    p.add_argument("--dt-us", type=float, default=None,
                   help="time step in µs, > 0 (default: Hertz contact time / 400)")

    p = add("dry", cmd_dry,
            "CGMD slurry equilibration and drying of a recipe into a dried electrode; writes "
            "dried.npz, slurry.npz (ParticleState), metrics.json, drying_log.csv, rdf.png and "
            "drying.png to --out.  The seed and the thread count (--threads; metrics.json "
            "records it) together reproduce a film bit for bit on one CPU model (the contact "
            "kernels' fastmath code follows the host's vector instructions).")
    p.add_argument("--recipe", default="paper",
                   help=f"recipe name; allowed: {', '.join(RECIPES)} (default paper)")
    p.add_argument("--fidelity", default="ci",
                   help="ci (80 AM, ~2 000 particles), fast (200 AM, ~5 000), paper (396 AM, "
                        "~9 800, the paper's cell); cross-section 25.8 × 25.8 µm (default ci: "
                        "a film to look at in minutes; simulate and calender dry at fast)")
    p.add_argument("--n-am", dest="n_am", type=int, default=None,
                   help="AM particles, 24-2000 (default: the --fidelity's count; the "
                        "cross-section stays, the film's thickness follows)")
    p.add_argument("--am-mass-fraction", dest="am_mass_fraction", type=float, default=None,
                   help="AM share of the dry solids, in [0.8, 0.98] (default: the recipe's; "
                        "carbon and binder share the rest equally, as etwin simulate)")
    p.add_argument("--solid-content", dest="solid_content", type=float, default=None,
                   help="slurry solids mass fraction, in [0.5, 0.8] (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="random seed, integer >= 0 (default 0)")
    add_materials_flag(p, "its recipe, particle sizes and densities are dried (flags override "
                          "its mass fraction and solid content)")
    p.add_argument("--mode", default="wall",
                   help="boundary along z: wall (default: Al current collector below, free top "
                        "surface after drying) or periodic (fully periodic, as the paper)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def press_flags(p: argparse.ArgumentParser) -> None:
        add_materials_flag(p, "its AM and CBD enter the contact law (a --preset overrides the "
                              "fields it sets) and a drying without --dried uses its recipe")
        p.add_argument("--dried", default=None,
                       help="dried structure: a directory holding dried.npz (etwin dry --out) or "
                            "an .npz file; default: dry the recipe at --fidelity into OUT/dried")
        p.add_argument("--recipe", default="paper",
                       help=f"recipe when drying; allowed: {', '.join(RECIPES)} (default paper)")
        p.add_argument("--fidelity", default="fast",
                       help="size when drying (no --dried): ci, fast (default: the size the "
                            "calendering is validated at), paper")
        p.add_argument("--seed", type=int, default=0,
                       help="random seed when drying, integer >= 0 (default 0)")
        p.add_argument("--temperature-c", type=float, default=60.0,
                       help="roll temperature in °C, in [0, 150] (binder law range; default 60)")
        p.add_argument("--line-speed-m-min", type=float, default=0.54,
                       help="line speed in m/min, in [0.01, 200] (default 0.54)")
        p.add_argument("--roll-diameter-m", type=float, default=0.25,
                       help="roll diameter in m, in [0.02, 3] (default 0.25)")
        p.add_argument("--preset", default="paper",
                       help=PRESET_HELP + "; the contact flags below override it")
        p.add_argument("--am-friction", type=float, default=None,
                       help="AM Coulomb friction coefficient, in [0, 2] (Table 2: 0.001); "
                            "pairs mix geometrically (default: the --preset's)")
        p.add_argument("--cbd-friction", type=float, default=None,
                       help="CBD Coulomb friction coefficient, in [0, 2] (Table 2: 0.001; default: "
                            "the --preset's)")
        p.add_argument("--cbd-plasticity", type=float, default=None,
                       help="binder contacts (CBD-CBD, AM-CBD): hysteretic plasticity ratio "
                            "lambda_p in [0, 0.95] (Table 2: 0, Hertz; default: the --preset's)")
        p.add_argument("--cbd-adhesion-ratio", type=float, default=None,
                       help="binder contacts: adhesive-branch stiffness / Hertz stiffness, in "
                            "[0, 10] (Table 2: 0; default: the --preset's)")
        p.add_argument("--am-rolling", type=float, default=None,
                       help="AM-AM EPSD2 rolling-resistance coefficient, in [0, 1] (Table 2: 0; "
                            "default: the --preset's)")
        p.add_argument("--am-plasticity", type=float, default=None,
                       help="AM-AM contacts: hysteretic plasticity ratio lambda_p in [0, 0.95] "
                            "(permanent flattening of secondary particles; Table 2: 0, Hertz; "
                            "default: the --preset's)")
        p.add_argument("--am-yield-gpa", type=float, default=None,
                       help="AM-AM contacts: Thornton-Ning yield pressure in GPa, 0 (no yield, "
                            "Table 2) or in [0.01, 100]: Hertz until the contact pressure "
                            "reaches it, then plastic flattening; not with --am-plasticity "
                            "(default: the --preset's)")
        p.add_argument("--am-strength-mpa", type=float, default=None,
                       help="AM particle crushing: characteristic Weibull strength of the "
                            "secondary particles (Hiramatsu-Oka stress, 10 um particle) in MPa, "
                            "0 (no crushing, Table 2) or in [10, 2000]; a crushed particle's "
                            "contacts flatten at --am-crushed-yield-gpa (default: the "
                            "--preset's)")
        p.add_argument("--am-weibull-modulus", type=float, default=None,
                       help="Weibull modulus of the crushing strength, in [1, 50] (default: "
                            "the --preset's, else 5)")
        p.add_argument("--am-crushing-stress", choices=("contact", "octahedral"),
                       default=None,
                       help="the stress a particle's strength is read against: contact (the "
                            "Hiramatsu-Oka stress of its largest contact force) or octahedral "
                            "(the octahedral shear stress of its mean stress tensor, the same "
                            "in a two-contact test, 0 under an isotropic load) (default: the "
                            "--preset's, else contact)")
        p.add_argument("--am-crushed-yield-gpa", type=float, default=None,
                       help="Thornton-Ning yield pressure of a crushed particle's contacts in "
                            "GPa, in [0.01, 100] and above twice the AM cohesion (Table 2: "
                            "1.2) (default: the --preset's, else 2)")
        p.add_argument("--am-crushed-flattening", type=float, default=None,
                       help="a crushed particle's contacts stop flattening at this overlap "
                            "over R* (its fragments jam) and are elastic beyond: 0 (no "
                            "limit) or in (0, 1] (default: the --preset's, else 0)")
        p.add_argument("--am-film-depth", type=float, default=None,
                       help="AM-AM contacts: overlap over R* at which the binder film between "
                            "them is squeezed out, 0 (no film: --am-friction throughout, "
                            "Table 2) or in (0, 0.5]: their friction rises from --am-friction "
                            "(the film's) to --am-bare-friction as they are pressed through "
                            "it (default: the --preset's)")
        p.add_argument("--am-bare-friction", type=float, default=None,
                       help="AM-AM Coulomb friction once the film is squeezed out, in [0, 2] "
                            "(with --am-film-depth > 0; default: the --preset's)")
        p.add_argument("--bridge-stiffness-ratio", type=float, default=None,
                       help="binder contacts: viscoelastic bridge arm stiffness / Hertz "
                            "stiffness, in [0, 20] (Table 2: 0, no bridge; default: the "
                            "--preset's)")
        p.add_argument("--bridge-relaxation-us", type=float, default=None,
                       help="bridge relaxation time in the engine at 60 degC and 0.54 m/min, "
                            "in (0, 1e4] us; scales with the binder's Arrhenius shift and the "
                            "line speed (default 5)")
        p.add_argument("--bridge-equilibrium-fraction", type=float, default=None,
                       help="share of the bridge stiffness that does not relax (rubbery "
                            "plateau of a semicrystalline binder), in [0, 1] (default 0: the "
                            "bridge relaxes completely)")
        p.add_argument("--inertial-number", type=float, default=1e-3,
                       help="target inertial number of the plane-speed law, in (0, 0.1] "
                            "(default 1e-3)")
        p.add_argument("--min-plane-speed-m-s", type=float, default=0.2,
                       help="lowest DEM plane speed in m/s, in (0, 2] (default 0.2)")
        p.add_argument("--out", required=True, help="output directory (created if missing)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("calender", cmd_calender,
            "DEM calendering of a dried electrode between an Al current collector and a steel "
            "roll plane (Table 2 law): porosity after spring-back vs maximum pressure, "
            "thickness, spring-back, Cauchy stress, coordination, AM-CBD g(r), compaction-law "
            "fit. Writes curve.csv, force_displacement.csv/.png, porosity_pressure.png, "
            "rdf_am_cbd.png, calendered_<P>MPa.npz and metrics.json to --out.")
    p.add_argument("--pressures-mpa", default="20,60,120",
                   help="maximum pressures in MPa, comma-separated, each in (0, 500] (default "
                        "20,60,120)")
    p.add_argument("--protocol", default="quasi-static", choices=("quasi-static", "paper"),
                   help="press protocol: quasi-static (default: inertial-number speed, dwell "
                        "at the target until the film stops creeping) or paper (constant "
                        "plane speed down to the target, straight back up)")
    p.add_argument("--paper-plane-speed-m-s", type=float, default=0.2,
                   help="plane speed of --protocol paper in m/s, in (0, 20] (default 0.2)")
    press_flags(p)

    p = add("indent", cmd_indent,
            "Flat-punch micro-indentation with the calendering parameters (paper Fig. 2A): "
            "load to a depth fraction of the thickness, hold, unload; writes indentation.csv, "
            "indentation.png (normalised load-displacement) and metrics.json.")
    p.add_argument("--depth-fraction", type=float, default=0.1,
                   help="indentation depth / film thickness, in (0, 0.5] (default 0.1)")
    p.add_argument("--hold-us", type=float, default=2.0,
                   help="hold time at maximum depth in µs of DEM time, in [0, 1000] (default 2)")
    p.add_argument("--tile", type=int, default=1,
                   help="replicate the cell n x n in x-y first, n in [1, 10] (default 1; the "
                        "paper: 4)")
    p.add_argument("--loading-time-s", type=float, default=None,
                   help="loading time of the real test in s, in [1e-3, 1e5]: the binder's "
                        "modulus, cohesion and bridge relaxation follow its rate, "
                        "a_T × 0.22 s / t_load (default: the roll's nip at --line-speed-m-min,"
                        " as the paper's simulated indentation)")
    p.add_argument("--indenter", default="diamond",
                   help="punch material: diamond (the test's Vickers tip, no adhesion; "
                        "default) or steel (the roll's plane with Table 2's cohesion, as the "
                        "paper's simulated indentation)")
    press_flags(p)
