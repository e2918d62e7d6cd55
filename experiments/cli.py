"""``etwin``: the command line of electrode-twin.

Conventions for every command: ``--help`` documents units and allowed ranges; ``--json`` prints
the result as one JSON object on stdout; progress and logs go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence

from experiments.files import json_safe, write_csv_atomic, write_json_atomic

RECIPES = ("paper",)
MATERIAL_NAMES = ("AM", "CBD", "Al", "steel")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _recipe(name: str):
    from physics.materials import paper_recipe

    if name != "paper":
        raise ValueError(f"--recipe {name!r} is unknown; allowed: {', '.join(RECIPES)}")
    return paper_recipe()


def _floats(text: str, n: int, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected {n} comma-separated numbers") from None
    if len(values) != n:
        raise ValueError(f"{flag} {text!r}: expected {n} comma-separated numbers")
    return values


# ---------------------------------------------------------------------------- recipe
def cmd_recipe(args: argparse.Namespace) -> dict:
    """Particle counts from the dry mass balance of a recipe."""
    recipe = _recipe(args.recipe)
    if args.box_um is not None:
        box = _floats(args.box_um, 3, "--box-um")
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
    """One collision with the Table 2 law: rebound, restitution, contact time vs Hertz."""
    import dataclasses

    import numpy as np

    from physics.engine import (
        Simulation,
        Wall,
        effective_young_kpa,
        hertz_contact_time_us,
        liggghts_table,
    )
    from physics.materials import ALUMINIUM, CBD, NMC, STEEL

    materials = {"AM": NMC, "CBD": CBD, "Al": ALUMINIUM, "steel": STEEL}
    for flag, name in (("--particle", args.particle), ("--target", args.target)):
        if name not in materials:
            raise ValueError(f"{flag} {name!r} is unknown; allowed: {', '.join(materials)}")
    if not (0 < args.speed_m_s <= 100):
        raise ValueError(f"--speed-m-s {args.speed_m_s} is outside the allowed range (0, 100]")
    if not (0 < args.radius_um <= 100):
        raise ValueError(f"--radius-um {args.radius_um} is outside the allowed range (0, 100]")
    if args.target_radius_um is not None and not (0 < args.target_radius_um <= 100):
        raise ValueError(f"--target-radius-um {args.target_radius_um} is outside the allowed "
                         "range (0, 100]")
    mats = [materials[args.particle], materials[args.target]]
    if args.no_cohesion:
        mats = [dataclasses.replace(m, cohesion_energy_density_pa=0.0) for m in mats]
    table = liggghts_table(mats)
    r1 = args.radius_um
    m1 = mats[0].density_g_cm3 * 4 / 3 * math.pi * r1**3
    v = args.speed_m_s  # 1 m/s = 1 µm/µs
    wall_target = args.target in ("Al", "steel") and args.target_radius_um is None
    if wall_target:
        r2, m2 = math.inf, math.inf
        r_star, m_star = r1, m1
        pos = np.array([[0.0, 0.0, r1 + 1e-4 * r1]])
        kw = dict(position=pos, radius=[r1], mass=[m1], ptype=[0],
                  walls=[Wall(0.0, 1, 1)], velocity=[[0.0, 0.0, -v]])
    else:
        r2 = args.target_radius_um or r1
        m2 = mats[1].density_g_cm3 * 4 / 3 * math.pi * r2**3
        r_star, m_star = r1 * r2 / (r1 + r2), m1 * m2 / (m1 + m2)
        pos = np.array([[0.0, 0.0, r1 + r2 + 1e-4 * r1], [0.0, 0.0, 0.0]])
        kw = dict(position=pos, radius=[r1, r2], mass=[m1, m2], ptype=[0, 1],
                  velocity=[[0.0, 0.0, -v * m2 / (m1 + m2)], [0.0, 0.0, v * m1 / (m1 + m2)]])
    e_star = effective_young_kpa(*mats)
    t_hertz = hertz_contact_time_us(e_star, r_star, m_star, v)
    dt = args.dt_us if args.dt_us else t_hertz / 400
    span = 4 * (r1 + (0 if wall_target else r2)) + 10
    sim = Simulation(table=table, box_lo=(-span,) * 3, box_hi=(span,) * 3,
                     periodic=(False,) * 3, dt_us=dt, **kw)
    t0 = time.perf_counter()
    steps_in_contact = 0
    touched = False
    for _ in range(int(50 * t_hertz / dt)):
        sim.run(1)
        if wall_target:
            gap = sim.position[0, 2] - r1
        else:
            gap = np.linalg.norm(sim.position[0] - sim.position[1]) - r1 - r2
        if gap < 0:
            touched = True
            steps_in_contact += 1
        elif touched:
            break
    rel_after = sim.velocity[0, 2] - (0.0 if wall_target else sim.velocity[1, 2])
    stuck = touched and gap < 0
    e_pair = math.sqrt(mats[0].restitution * mats[1].restitution)
    return {
        "particle": args.particle, "target": args.target + (" plane" if wall_target else ""),
        "radius_um": r1, "speed_m_s": v, "cohesion": not args.no_cohesion, "dt_us": dt,
        "rebound_speed_m_s": rel_after, "restitution": rel_after / v,
        "restitution_pair_input": e_pair, "stuck": bool(stuck),
        "contact_time_us": steps_in_contact * dt, "hertz_contact_time_undamped_us": t_hertz,
        "wall_s": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------------------- dry
FIDELITIES = ("ci", "fast", "paper")




def cmd_dry(args: argparse.Namespace) -> dict:
    """CGMD slurry + drying -> dried electrode (structure files, metrics, plots)."""
    import csv
    from pathlib import Path

    from tqdm import tqdm

    from experiments.plots import plot_drying_log, plot_rdf
    from physics.slurry import FIDELITY_N_AM, DryingProtocol, dry_electrode
    from physics.structure import radial_distribution

    if args.fidelity not in FIDELITIES:
        raise ValueError(f"--fidelity {args.fidelity!r} is unknown; allowed: "
                         f"{', '.join(FIDELITIES)}")
    recipe = _recipe(args.recipe)
    if args.am_mass_fraction is not None or args.solid_content is not None:
        from physics.pipeline import ProcessInputs

        recipe = ProcessInputs(**{k: v for k, v in (("am_mass_fraction", args.am_mass_fraction),
                                                   ("solid_content", args.solid_content))
                                  if v is not None}).recipe()
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


def _dried_state(args: argparse.Namespace, out):
    """The dried structure of --dried (a directory with dried.npz, or an .npz file), or a
    fresh drying at --fidelity written to OUT/dried (reused when present)."""
    from pathlib import Path

    from physics.state import ParticleState

    if args.dried:
        path = Path(args.dried)
        if path.is_dir():
            path = path / "dried.npz"
        state = ParticleState.load(path)
        if state.periodic[2]:
            from physics.structure import open_periodic_z

            state = open_periodic_z(state)
            _log(f"{path} is periodic in z: opened at z = "
                 f"{state.meta['opened_periodic_z_at_um']:.2f} µm onto a floor plane")
        return state, str(path)
    cached = Path(out) / "dried" / "dried.npz"
    if cached.is_file():
        _log(f"using the dried structure in {cached}")
        return ParticleState.load(cached), str(cached)
    _log(f"no --dried given: drying the {args.recipe} recipe at --fidelity {args.fidelity}")
    cmd_dry(argparse.Namespace(recipe=args.recipe, fidelity=args.fidelity, seed=args.seed,
                               mode="wall", out=str(cached.parent), quiet=args.quiet))
    return ParticleState.load(cached), str(cached)


def _conditions_protocol(args: argparse.Namespace):
    """Contact law from --preset (default paper: Table 2), each contact flag given on the
    command line overriding it; process inputs and press protocol from their flags."""
    from physics.calender import CalenderProtocol
    from physics.calender.presets import load_preset

    base = load_preset(args.preset).process_conditions(
        temperature_c=args.temperature_c, line_speed_m_min=args.line_speed_m_min,
        roll_diameter_m=args.roll_diameter_m)
    contact = {f: getattr(args, a) for a, f in (
        ("cbd_plasticity", "plasticity"), ("cbd_adhesion_ratio", "adhesion_ratio"),
        ("am_rolling", "am_rolling"), ("bridge_stiffness_ratio", "bridge_stiffness_ratio"),
        ("bridge_relaxation_us", "bridge_relaxation_ref_us"),
        ("bridge_equilibrium_fraction", "bridge_equilibrium_fraction"))
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
    from physics.calender import calender, check_pressures

    if args.fidelity not in FIDELITIES:
        raise ValueError(f"--fidelity {args.fidelity!r} is unknown; allowed: "
                         f"{', '.join(FIDELITIES)}")
    pressures = check_pressures(_number_list(args.pressures_mpa, "--pressures-mpa"))
    conditions, protocol = _conditions_protocol(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state, source = _dried_state(args, out)
    bar, progress = _press_bar("calender", args.quiet)
    result = calender(state, pressures, conditions, protocol, progress=progress)
    bar.close()
    floor = [p.pressure_target_mpa for p in result.points if p.floor_speed_at_target]
    if floor:
        _log(f"note: at {', '.join(f'{p:g}' for p in floor)} MPa the roll reached the target at "
             f"the floor speed {protocol.min_plane_speed_m_s:g} m/s (inertial number above "
             f"{protocol.inertial_number:g}); there the porosity depends slightly on that "
             "speed (docs/physics/calendering.md, 'Speed ensembles below 2 MPa'); compare with "
             "--min-plane-speed-m-s halved")
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
        "preset": args.preset,
        "am_friction": conditions.am_friction,
        "cbd_friction": conditions.cbd_friction,
        "binder_contact": dataclasses.asdict(conditions.binder_contact),
        "bridge_relaxation_us": conditions.bridge_relaxation_us(),
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
            "porosity_min": fit.porosity_min, "porosity_zero": fit.porosity_zero,
            "pressure_scale_mpa": fit.pressure_scale_mpa, "r_squared": fit.r_squared},
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

    if args.fidelity not in FIDELITIES:
        raise ValueError(f"--fidelity {args.fidelity!r} is unknown; allowed: "
                         f"{', '.join(FIDELITIES)}")
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
    state, source = _dried_state(args, out)
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
                    "indenter": args.indenter,
                    "bridge_relaxation_us": conditions.bridge_relaxation_us(),
                    "cbd_modulus_gpa": conditions.cbd_material().young_modulus_pa / 1e9,
                    "out": str(out)})
    write_json_atomic(out / "metrics.json", json_safe(summary))
    return summary


def _number_list(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected comma-separated numbers") from None


# ---------------------------------------------------------------------------- transport
def _transport_inputs(path_text: str, voxel_um: float) -> list[tuple[str, object, dict]]:
    """(name, Microstructure, extra summary fields) for an .npy image, a ParticleState .npz,
    or a directory of calendered_*.npz (else dried.npz) structures.  A particle structure
    adds its AM size classes (``am_radii_um``, ``am_volume_fractions``) for the cell model."""
    from pathlib import Path

    from physics.state import ParticleState
    from physics.voxel import Microstructure, am_size_classes, voxelize

    def from_state(path: Path) -> tuple[str, object, dict]:
        state = ParticleState.load(path)
        radii, shares = am_size_classes(state)
        return (path.name, voxelize(state, voxel_um, particle_ids=True),
                {"am_radii_um": list(radii), "am_volume_fractions": list(shares)})

    path = Path(path_text)
    if path.is_dir():
        files = sorted(path.glob("calendered_*.npz"),
                       key=lambda f: float(f.stem.split("_")[1].removesuffix("MPa")))
        if not files and (path / "dried.npz").is_file():
            files = [path / "dried.npz"]
        if not files:
            raise ValueError(f"{path}: no calendered_*.npz or dried.npz structure in the "
                             f"directory")
        return [from_state(f) for f in files]
    if path.suffix == ".npz":
        return [from_state(path)]
    if path.suffix == ".npy" or not path.exists():
        return [(path.name, Microstructure.load(path, voxel_um), {})]
    raise ValueError(f"{path}: expected an .npy image, a structure .npz or a directory")


def _eis3d(micro, args: argparse.Namespace, settings, name: str):
    """The 3-D blocking spectrum of one image (physics/impedance3d.py) with a progress bar."""
    from tqdm import tqdm

    from physics.impedance3d import BlockingCell3D, blocking_impedance_3d

    cell = BlockingCell3D(cbd_porosity=args.cbd_porosity,
                          double_layer_f_m2=args.double_layer_f_cm2 * 1e4)
    with tqdm(desc=f"3-D impedance {name}", unit="freq", file=sys.stderr,
              disable=args.quiet) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        eis = blocking_impedance_3d(micro.image, micro.voxel_um, cell=cell,
                                    settings=settings, progress=progress)
    _log(f"{name}: τ_EIS {eis.tau_eis:.3f} (transmission-line fit, RMS residual "
         f"{100 * eis.fit.rms_relative_residual:.1f} %) and {eis.tau_eis_low_frequency:.3f} "
         f"(low-frequency intercept) from the 3-D blocking spectrum; voxel τ_z "
         f"{eis.tau_z:.3f}; {eis.cpu_s:.0f} CPU s")
    return eis


def cmd_transport(args: argparse.Namespace) -> dict:
    """Tortuosity, effective diffusivity, electronic conductivity and microstructure metrics."""
    from pathlib import Path

    from tqdm import tqdm

    from experiments.plots import plot_nyquist, plot_pore_size_distribution, plot_slice_fractions
    from physics.impedance import tlm_blocking_impedance
    from physics.transport import ContactConductance, SolverSettings, transport_properties

    if not (math.isfinite(args.voxel_um) and 0.01 <= args.voxel_um <= 10.0):
        raise ValueError(f"--voxel-um must lie in [0.01, 10] µm, got {args.voxel_um}")
    if not (math.isfinite(args.double_layer_f_cm2) and args.double_layer_f_cm2 > 0):
        raise ValueError(f"--double-layer-f-cm2 must be > 0, got {args.double_layer_f_cm2}")
    settings = SolverSettings(rtol=args.rtol)
    contact = ContactConductance(args.contact_am_am_s_m2, args.contact_am_cbd_s_m2)
    inputs = _transport_inputs(args.image, args.voxel_um)
    out = Path(args.out) if args.out else None
    results = []
    for name, micro, extra in inputs:
        bar = tqdm(total=4, desc=f"transport {name}", file=sys.stderr, disable=args.quiet)

        def progress(label: str, bar=bar) -> None:
            if label != "diffusion":
                bar.update(1)
            bar.set_postfix(part=label)

        props = transport_properties(
            micro, directions=args.directions, conduction_directions=args.directions,
            d0_m2_s=args.d0_m2_s, cbd_porosity=args.cbd_porosity,
            sigma_am_s_m=args.sigma_am_s_m, sigma_cbd_s_m=args.sigma_cbd_s_m,
            psd=not args.no_psd, settings=settings, progress=progress, contact=contact)
        bar.update(bar.total - bar.n)
        bar.close()
        summary = {"input": name, **props.summary(), **extra,
                   "iterations": {k: d.iterations for k, d in props.diffusion.items()}}
        eis = _eis3d(micro, args, settings, name) if args.eis3d else None
        if eis is not None:
            summary["eis3d"] = eis.to_metrics()
        if out is not None:
            stem = Path(name).stem
            out.mkdir(parents=True, exist_ok=True)
            if not name.endswith(".npy"):
                micro.save(out / f"{stem}_image.npy")
            rows = [{"z_um": (k + 0.5) * micro.voxel_um, "pore": f[0], "am": f[1], "cbd": f[2]}
                    for k, f in enumerate(props.slice_fractions)]
            write_csv_atomic(out / f"{stem}_slices.csv", rows)
            plot_slice_fractions(props.slice_fractions, micro.voxel_um,
                                 out / f"{stem}_slices.png", title=name)
            if eis is not None:
                write_csv_atomic(out / f"{stem}_eis3d.csv", [
                    {"frequency_hz": f, "re_z_ohm_cm2": 1e4 * z.real,
                     "im_z_ohm_cm2": 1e4 * z.imag}
                    for f, z in zip(eis.freq_hz, eis.z_ohm_m2, strict=True)])
                plot_nyquist([(f"3-D image: τ_EIS {eis.tau_eis:.2f} (voxel τ_z "
                               f"{eis.tau_z:.2f})", eis.z_ohm_m2, tlm_blocking_impedance(
                                   eis.freq_hz, eis.fit.r_ion_ohm_m2, eis.fit.c_dl_f_m2,
                                   eis.fit.r_hf_ohm_m2))],
                             out / f"{stem}_eis3d.png", title=f"{name}: blocking electrode")
            if props.psd is not None:
                write_csv_atomic(out / f"{stem}_psd.csv", [
                    {"diameter_um": d, "cumulative_fraction": c}
                    for d, c in zip(props.psd.diameter_um, props.psd.cumulative_fraction,
                                    strict=True)])
                plot_pore_size_distribution(props.psd.diameter_um,
                                            props.psd.cumulative_fraction,
                                            out / f"{stem}_psd.png", title=name)
        results.append(summary)
    result = results[0] if len(results) == 1 else {"structures": results}
    if out is not None:
        write_json_atomic(out / "metrics.json", json_safe(result))
    return result


# ---------------------------------------------------------------------------- cell
def _cell_cases(args: argparse.Namespace) -> list[tuple[str, object]]:
    """(label, CellParameters) to run: --params (or the defaults), or, with --transport, one
    cell per structure of an ``etwin transport`` metrics.json, its cathode from the
    microstructure and everything else from --params."""
    from pathlib import Path

    from physics.cell_params import CellParameters, cathode_from_transport

    base = CellParameters.load(args.params) if args.params else CellParameters()
    if not args.transport:
        return [(args.params or "defaults", base)]
    path = Path(args.transport)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--transport {path}: not a readable etwin transport metrics.json "
                         f"({err})") from None
    structures = data.get("structures", [data]) if isinstance(data, dict) else []
    if not structures:
        raise ValueError(f"--transport {path}: no transport result in the file")
    return [(str(s.get("input", f"structure {n}")),
             dataclasses.replace(base, cathode=cathode_from_transport(s, base.cathode)))
            for n, s in enumerate(structures)]


def _cases_result(rows: list[dict]) -> dict:
    return rows[0] if len(rows) == 1 else {"cases": rows}


def cmd_cell(args: argparse.Namespace) -> dict:
    """Galvanostatic discharge of the half-cell DFN model."""
    from pathlib import Path

    from physics.cell import discharge
    from physics.cell_params import CellParameters

    if args.print_default_params:
        print(json.dumps(dataclasses.asdict(CellParameters()), indent=2))
        return {}
    if not (math.isfinite(args.c_rate) and 0.001 <= args.c_rate <= 100.0):
        raise ValueError(f"--c-rate must lie in [0.001, 100], got {args.c_rate}")
    out = Path(args.out) if args.out else None
    rows, curves = [], []
    for label, params in _cell_cases(args):
        result = discharge(params, c_rate=args.c_rate)
        cat = params.cathode
        rows.append({
            "input": label, "c_rate": args.c_rate,
            "porosity": cat.porosity, "thickness_um": cat.thickness_m * 1e6,
            "tortuosity_factor": cat.tortuosity_factor,
            "electronic_conductivity_s_m": cat.electronic_conductivity_s_m,
            "current_density_a_m2": result.current_density_a_m2,
            "capacity_mah_g": result.capacity_final_mah_g,
            "theoretical_capacity_mah_g": params.theoretical_capacity_mah_g(),
            "energy_wh_kg": result.energy_wh_kg, "mean_voltage_v": result.mean_voltage_v,
            "cutoff_voltage_v": params.cutoff_voltage_v, "time_s": float(result.time_s[-1]),
            "end_reason": result.end_reason,
            "steps": result.steps, "newton_iterations": result.newton_iterations,
        })
        curves.append((f"{label}: {result.capacity_final_mah_g:.1f} mAh/g",
                       result.capacity_mah_g, result.voltage_v))
        _log(f"{label}: ε {cat.porosity:.3f}, τ {cat.tortuosity_factor:.3f}, σ_eff "
             f"{cat.electronic_conductivity_s_m:.3g} S/m -> {result.capacity_final_mah_g:.1f} "
             f"mAh/g at {args.c_rate:g}C")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            stem = "discharge" if len(curves) == 1 and not args.transport else \
                f"discharge_{Path(label).stem}"
            write_csv_atomic(out / f"{stem}.csv", [
                {"time_s": t, "capacity_mah_g": q, "voltage_v": v}
                for t, q, v in zip(result.time_s, result.capacity_mah_g, result.voltage_v,
                                   strict=True)])
    summary = _cases_result(rows)
    if out is not None:
        from experiments.plots import plot_discharge

        plot_discharge(curves, out / "discharge.png", title=f"{args.c_rate:g}C discharge")
        if len(rows) > 1:
            write_csv_atomic(out / "cases.csv", rows)
        write_json_atomic(out / "metrics.json", summary)
        summary["out"] = str(out)
    return summary


def _check_particles_resolved(name: str, micro) -> None:
    """The AM particles must span >= 3 voxels: the volume-median equivalent diameter of the
    image's AM particles, in voxels (smaller particles of a wide size distribution are
    allowed, as long as most of the AM volume is resolved)."""
    import numpy as np

    from physics.cell3d import particle_volumes_um3

    if micro.am_ids is None:
        return
    vol = particle_volumes_um3(micro)
    vol = np.sort(vol[vol > 0])
    if vol.size == 0:
        raise ValueError(f"{name}: the image holds no AM particle")
    median = vol[np.searchsorted(np.cumsum(vol), 0.5 * vol.sum())]
    diameter_vox = (6 * median / np.pi) ** (1 / 3) / micro.voxel_um
    if diameter_vox < 3.0:
        raise ValueError(f"{name}: at --voxel-um {micro.voxel_um:g} the AM particles span "
                         f"{diameter_vox:.1f} voxels (volume-median diameter); the 3-D cell "
                         f"needs >= 3: use --voxel-um <= "
                         f"{diameter_vox * micro.voxel_um / 3:.2g}")


def cmd_cell3d(args: argparse.Namespace) -> dict:
    """Particle-resolved 3-D half cell on the voxel image of each structure."""
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from experiments.plots import plot_discharge, plot_lithiation
    from physics.cell3d import discharge_3d
    from physics.cell_params import CellParameters
    from physics.transport import ContactConductance

    checks = (("--c-rate", args.c_rate, 0.001, 100.0), ("--voxel-um", args.voxel_um, 0.1, 10.0),
              ("--sigma-am-s-m", args.sigma_am_s_m, 1e-9, 1e8),
              ("--sigma-cbd-s-m", args.sigma_cbd_s_m, 1e-9, 1e8),
              ("--snapshot-dod", args.snapshot_dod, 1e-3, 1.0),
              ("--voltage-tol-v", args.voltage_tol_v, 1e-5, 0.1),
              ("--checkpoint-every-s", args.checkpoint_every_s, 0.0, 86400.0))
    for flag, value, lo, hi in checks:
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"{flag} must lie in [{lo:g}, {hi:g}], got {value}")
    if not 1 <= args.separator_layers <= 200:
        raise ValueError(f"--separator-layers must lie in [1, 200], got {args.separator_layers}")
    params = CellParameters.load(args.params) if args.params else CellParameters()
    contact = ContactConductance(args.contact_am_am_s_m2, args.contact_am_cbd_s_m2)
    out = Path(args.out) if args.out else None
    rows, curves = [], []
    for name, micro, _ in _transport_inputs(args.image, args.voxel_um):
        _check_particles_resolved(name, micro)
        t0 = time.process_time()
        with tqdm(total=100, desc=f"3-D cell {name}", unit="% DoD", file=sys.stderr,
                  disable=args.quiet) as bar:
            def progress(dod: float, voltage_v: float, bar=bar) -> None:
                bar.update(min(int(100 * dod), 100) - bar.n)
                bar.set_postfix(V=f"{voltage_v:.3f}")

            checkpoint = None
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                checkpoint = out / f"{Path(name).stem}_checkpoint.npz"
                if checkpoint.is_file():
                    _log(f"{name}: resuming from {checkpoint} where it matches this run")
            d3 = discharge_3d(micro, params, args.c_rate, voltage_tol_v=args.voltage_tol_v,
                              snapshot_dod=args.snapshot_dod, progress=progress,
                              checkpoint=checkpoint,
                              checkpoint_every_s=args.checkpoint_every_s,
                              sigma_am_s_m=args.sigma_am_s_m, sigma_cbd_s_m=args.sigma_cbd_s_m,
                              contact=contact, separator_layers=args.separator_layers)
        cpu_s = time.process_time() - t0
        row = {"input": name, "c_rate": args.c_rate, "voxel_um": micro.voxel_um,
               "shape": list(micro.shape), "capacity_mah_g": float(d3.capacity_mah_g[-1]),
               "theoretical_capacity_mah_g": params.theoretical_capacity_mah_g(),
               "current_density_a_m2": d3.current_a_m2, "end_reason": d3.end_reason,
               "mean_voltage_v": float(np.trapezoid(d3.voltage_v, d3.capacity_mah_g)
                                       / max(d3.capacity_mah_g[-1], 1e-30)),
               "reacting_particles": d3.reacting_particles, "particles": d3.particles,
               "snapshot_dod": args.snapshot_dod,
               "snapshot_capacity_mah_g": d3.snapshot_capacity_mah_g, **d3.observables,
               "steps": len(d3.newton_iterations), "rejected_steps": d3.rejected_steps,
               "newton_iterations": int(sum(d3.newton_iterations)),
               "gmres_iterations": int(sum(d3.gmres_iterations)),
               "lithium_error": d3.lithium_error, "salt_error": d3.salt_error,
               "cpu_s": cpu_s}
        rows.append(row)
        curves.append((f"{name}: {row['capacity_mah_g']:.1f} mAh/g", d3.capacity_mah_g,
                       d3.voltage_v))
        _log(f"{name}: {row['capacity_mah_g']:.1f} mAh/g at {args.c_rate:g}C "
             f"({d3.end_reason}); {d3.reacting_particles}/{d3.particles} AM particles react; "
             f"{cpu_s:.0f} CPU s")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            stem = Path(name).stem
            write_csv_atomic(out / f"{stem}_discharge.csv", [
                {"time_s": t, "capacity_mah_g": q, "voltage_v": v}
                for t, q, v in zip(d3.time_s, d3.capacity_mah_g, d3.voltage_v, strict=True)])
            plot_lithiation(micro.image, micro.am_ids, d3.particle_stoichiometry,
                            micro.voxel_um, out / f"{stem}_lithiation.png",
                            title=f"{name}: lithiation at {d3.snapshot_capacity_mah_g:.0f} "
                                  f"mAh/g ({args.c_rate:g}C)")
    summary = _cases_result(rows)
    if out is not None:
        plot_discharge(curves, out / "discharge3d.png",
                       title=f"3-D half cell, {args.c_rate:g}C discharge")
        write_json_atomic(out / "metrics.json", json_safe(summary))
        summary["out"] = str(out)
    return summary


def cmd_eis(args: argparse.Namespace) -> dict:
    """Impedance of the half cell at rest, and of the symmetric blocking cell of its cathode
    with the transmission-line analysis (R_ion, τ_EIS)."""
    from pathlib import Path

    from physics.cell import (
        electrolyte_conductivity_s_m,
        impedance,
        symmetric_blocking_impedance,
    )
    from physics.impedance import (
        fit_tlm,
        frequencies_hz,
        r_ion_graphical,
        tlm_blocking_impedance,
        tortuosity_from_r_ion,
    )

    if args.blocking_sigma_s_m is not None and not (
            math.isfinite(args.blocking_sigma_s_m) and 0 < args.blocking_sigma_s_m <= 1e8):
        raise ValueError(f"--blocking-sigma-s-m must lie in (0, 1e8] S/m, got "
                         f"{args.blocking_sigma_s_m}")
    f = frequencies_hz(args.f_min_hz, args.f_max_hz, args.points_per_decade)
    out = Path(args.out) if args.out else None
    rows, half_spectra, blocking_spectra = [], [], []
    for label, params in _cell_cases(args):
        half = impedance(params, f)
        blocking = symmetric_blocking_impedance(
            params, f, electronic_conductivity_s_m=args.blocking_sigma_s_m)
        fit = fit_tlm(f, blocking.z_ohm_m2)  # the symmetric cell: 2 R_ion, C_dl / 2
        cat = params.cathode
        kappa = electrolyte_conductivity_s_m(params)
        r_ion = fit.r_ion_ohm_m2 / 2.0
        tau = tortuosity_from_r_ion(r_ion, cat.thickness_m, cat.porosity, kappa)
        rows.append({
            "input": label, "points": int(f.size),
            "f_min_hz": float(f.min()), "f_max_hz": float(f.max()),
            "porosity": cat.porosity, "thickness_um": cat.thickness_m * 1e6,
            "half_cell_z_at_f_max_ohm_cm2": [float(half.z_ohm_m2[0].real * 1e4),
                                              float(half.z_ohm_m2[0].imag * 1e4)],
            "half_cell_z_at_f_min_ohm_cm2": [float(half.z_ohm_m2[-1].real * 1e4),
                                              float(half.z_ohm_m2[-1].imag * 1e4)],
            "r_hf_ohm_cm2": fit.r_hf_ohm_m2 * 1e4, "r_ion_ohm_cm2": r_ion * 1e4,
            "r_ion_ohm_m2": r_ion,
            "r_ion_graphical_ohm_cm2": r_ion_graphical(f, blocking.z_ohm_m2) / 2.0 * 1e4,
            "c_dl_f_cm2": 2.0 * fit.c_dl_f_m2 * 1e-4, "electrolyte_conductivity_s_m": kappa,
            "macmullin": tau / cat.porosity, "tau_eis": tau,
            "tau_input": cat.tortuosity_factor,
            "fit_rms_relative_residual": fit.rms_relative_residual,
        })
        _log(f"{label}: R_ion {r_ion * 1e4:.3g} Ω cm², τ_EIS {tau:.3f} (input τ "
             f"{cat.tortuosity_factor:.3f})")
        half_spectra.append((label, half.z_ohm_m2, None))
        blocking_spectra.append((f"{label}: τ_EIS {tau:.2f}", blocking.z_ohm_m2,
                                 tlm_blocking_impedance(f, fit.r_ion_ohm_m2, fit.c_dl_f_m2,
                                                        fit.r_hf_ohm_m2)))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            suffix = "" if not args.transport else f"_{Path(label).stem}"
            for name, spectrum in (("impedance", half),
                                   ("impedance_blocking_symmetric", blocking)):
                write_csv_atomic(out / f"{name}{suffix}.csv", [
                    {"frequency_hz": fr, "re_z_ohm_m2": z.real, "im_z_ohm_m2": z.imag}
                    for fr, z in zip(f, spectrum.z_ohm_m2, strict=True)])
    summary = _cases_result(rows)
    if out is not None:
        from experiments.plots import plot_nyquist

        plot_nyquist(half_spectra, out / "nyquist.png", title="half cell at rest")
        plot_nyquist(blocking_spectra, out / "nyquist_blocking.png",
                     title="symmetric blocking cell")
        if len(rows) > 1:
            write_csv_atomic(out / "cases.csv", [
                {k: v for k, v in r.items() if not isinstance(v, list)} for r in rows])
        write_json_atomic(out / "metrics.json", summary)
        summary["out"] = str(out)
    return summary


# ------------------------------------------------------------------------ pipeline
def _stage_bars(quiet: bool):
    """(progress, detail, close) for simulate(): a log line per stage and a tqdm bar over the
    steps of the dry and calender stages."""
    from tqdm import tqdm

    bars: dict = {}

    def progress(stage: str, message: str) -> None:
        _log(f"[{stage}] {message}")

    def detail(stage: str, row: dict) -> None:
        if quiet:
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(desc=stage, unit="step", file=sys.stderr)
        bar.update(row["step"] - bar.n)
        post = {"phase": row.get("phase")}
        for name in ("porosity", "density_g_cm3", "pressure_mpa"):
            if name in row:
                post[name] = f"{row[name]:.4g}"
        bar.set_postfix(post)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, detail, close


def _process_inputs_from_args(args: argparse.Namespace) -> dict:
    from physics.pipeline import INPUT_RANGES

    return {name: getattr(args, name) for name in INPUT_RANGES
            if getattr(args, name) is not None}


def cmd_simulate(args: argparse.Namespace) -> dict:
    """One process point through the whole chain, logged as an MLflow run."""
    from experiments.batch import make_point, result_artifacts
    from physics.pipeline import ProcessInputs, simulate

    point = make_point(_process_inputs_from_args(args), args.fidelity, args.seed,
                       _number_list(args.c_rates, "--c-rates"), args.cell_model)
    progress, detail, close = _stage_bars(args.quiet)
    started = time.time()
    try:
        result = simulate(ProcessInputs(**point["inputs"]), point["fidelity"], point["seed"],
                          c_rates=point["c_rates"], cache_dir=args.cache_dir,
                          cell_model=args.cell_model, progress=progress, detail=detail)
        payload = {"status": "ok", "metrics": result.metrics(),
                   "cache_hit": result.cache_hit, "started": started, "ended": time.time()}
    except Exception as err:
        import traceback

        payload = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                   "traceback": traceback.format_exc(), "started": started,
                   "ended": time.time()}
        result = None
    finally:
        close()
    summary = result.summary() if result is not None else {"key": point["key"]}
    if not args.no_track:
        from experiments.tracking import Tracker

        tracker = Tracker(args.experiment)
        if result is not None:
            payload["artifacts"] = result_artifacts(result)
        summary["run_id"] = tracker.log(point, payload)
        summary["tracking_uri"] = tracker.uri
        _log(f"MLflow run {summary['run_id']} ({payload['status']}) in experiment "
             f"{tracker.experiment!r} at {tracker.uri}")
    if result is None:
        raise RuntimeError(f"simulation failed: {payload['error']}")
    return summary




def cmd_sweep(args: argparse.Namespace) -> dict:
    """A design of process points (grid, Sobol or CSV) through the chain in parallel."""
    from experiments.batch import (
        csv_points,
        grid_points,
        make_point,
        parse_bounds,
        run_batch,
        sobol_points,
    )

    designs = [d for d in (args.grid, args.sobol, args.points) if d is not None]
    if len(designs) != 1:
        raise ValueError("give exactly one design: --grid, --sobol N (with --bounds) or "
                         "--points FILE.csv")
    if args.grid is not None:
        raw = grid_points(args.grid)
    elif args.sobol is not None:
        if not args.bounds:
            raise ValueError("--sobol needs --bounds name=low:high,...")
        raw = sobol_points(parse_bounds(args.bounds), args.sobol, args.design_seed)
    else:
        raw = csv_points(args.points)
    seeds = [int(s) for s in _number_list(args.seeds, "--seeds")]
    if any(s < 0 for s in seeds):
        raise ValueError(f"--seeds must be integers >= 0, got {args.seeds}")
    rates = _number_list(args.c_rates, "--c-rates")
    points = [make_point(p, args.fidelity, s, rates) for p in raw for s in seeds]
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise ValueError(f"--workers must lie in [1, 1024], got {args.workers}")
    report = run_batch(points, executor=args.executor, workers=args.workers,
                       cache_dir=args.cache_dir, experiment=args.experiment,
                       progress=not args.quiet)
    summary = {"points": len(points), "skipped": report.skipped, "finished": report.finished,
               "failed": report.failed, "interrupted": report.interrupted,
               "wall_s": report.wall_s}
    if args.json:
        summary["rows"] = report.rows
    else:
        _print_sweep_table(report.rows)
    if report.interrupted:
        raise KeyboardInterrupt
    return summary


def _print_sweep_table(rows: list[dict]) -> None:
    from physics.pipeline import INPUT_RANGES

    columns = [c for c in INPUT_RANGES if len({r.get(c) for r in rows}) > 1] or ["pressure_mpa"]
    outputs = ["porosity", "tau_z", "sigma_eff_s_m", "capacity_1C_mah_g", "tau_eis"]
    head = [*columns, "seed", "status", *outputs]
    _log("  ".join(f"{h:>12s}" for h in head))
    for r in rows:
        cells = [f"{r.get(c, ''):>12.4g}" if isinstance(r.get(c), float) else
                 f"{r.get(c, '')!s:>12s}" for c in head]
        _log("  ".join(cells))


def cmd_runs(args: argparse.Namespace) -> dict:
    """The tracked simulations of an experiment as a table (CSV with --out)."""
    from experiments.tracking import runs_dataframe, tracking_uri

    df = runs_dataframe(args.experiment, finished_only=not args.all)
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(args.out, df.to_dict("records"))
    if not args.json:
        _log(df.to_string(max_cols=12) if not df.empty else "no runs")
    return {"experiment": args.experiment, "tracking_uri": tracking_uri(), "runs": len(df),
            "columns": list(df.columns), "out": args.out}


# ------------------------------------------------------------------------ surrogates
def cmd_train(args: argparse.Namespace) -> dict:
    """GP surrogates of the tracked simulations, with the cross-validation report."""
    import pandas as pd

    from experiments.training import run_training

    if args.data:
        try:
            frame = pd.read_csv(args.data)
        except (OSError, ValueError) as err:
            raise ValueError(f"--data {args.data}: not a readable CSV table ({err})") from None
    else:
        from experiments.tracking import runs_dataframe

        frame = runs_dataframe(args.experiment)
    if args.fidelity and "fidelity" in frame:
        frame = frame[frame["fidelity"] == args.fidelity]
    if args.features == "auto":
        features = "auto"
    elif args.features == "none":
        features = ()
    else:
        features = tuple(f.strip() for f in args.features.split(","))
    if not 2 <= args.folds <= 50:
        raise ValueError(f"--folds must lie in [2, 50], got {args.folds}")
    summary = run_training(
        frame, args.out,
        outputs=[o.strip() for o in args.outputs.split(",")] if args.outputs else None,
        features=features, folds=args.folds, seed=args.seed,
        experiment=None if args.no_track else f"{args.experiment}-surrogates",
        source=args.data or args.experiment, fidelity=args.fidelity or "all",
        log=None if args.quiet else _log)
    rows = summary.pop("rows")
    if not args.json:
        for r in rows:
            _log(f"  {r['output']:20s} {r['model']:8s} features {r['features']:25s} R² "
                 f"{r['r2']:.3f}  RMSE {r['rmse']:.4g}  90 % coverage {r['coverage90']:.2f}")
        summary.pop("report")
    return summary


def cmd_optimize(args: argparse.Namespace) -> dict:
    """Bayesian optimization of a TOML problem on the physics (resumable from MLflow)."""
    from pathlib import Path

    from experiments.campaign import run_campaign
    from optimize.problem import Problem

    problem = Problem.load(args.problem)
    overrides = {k: getattr(args, k) for k in ("iterations", "q", "initial", "fidelity")
                 if getattr(args, k) is not None}
    if args.fidelities:
        overrides["fidelities"] = parse_fidelities(args.fidelities)
    if overrides:
        problem = dataclasses.replace(problem, **overrides)
    experiment = args.experiment or f"optimize-{Path(args.problem).stem}"
    result = run_campaign(problem, experiment, executor=args.executor, workers=args.workers,
                      cache_dir=args.cache_dir, progress=not args.quiet)
    if args.out:
        from experiments.plots import plot_convergence

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(out / "history.csv", result["history"])
        write_json_atomic(out / "result.json", result)
        plot_convergence(problem, result["history"], out / "convergence.png")
        result["out"] = str(out)
    if result["best"] is None:
        _log(f"{problem.objective}: no feasible point found yet in {result['evaluations']} "
             f"evaluations")
    else:
        _log(f"best feasible {problem.objective} = {result['best']['objective']:.5g} at "
             + ", ".join(f"{k} {v:.4g}" for k, v in result["best"]["inputs"].items()))
    if not args.json:
        result.pop("history")
        result.pop("records")
    return result


# ---------------------------------------------------------------------------- jobs
def cmd_calibrate(args: argparse.Namespace) -> dict:
    """Bayesian calibration (experiments/calibrate.py)."""
    from experiments.calibrate import calibrate_tortuosity
    from experiments.calibrate_dem import calibrate_dem
    from experiments.calibrate_electronic import calibrate_electronic

    experiment = None if args.no_mlflow else args.experiment
    if args.target == "dem":
        result = calibrate_dem(args.data, args.out, dried=args.dried or (),
                               parameters=args.parameters, n_design=args.design,
                               seed=args.seed, porosity_sd=args.porosity_sd,
                               temperature_c=args.temperature_c,
                               line_speed_m_min=args.line_speed_m_min,
                               protocol=args.protocol, validate=args.validate,
                               refine=args.refine, recovery=args.recovery,
                               recovery_sd=args.recovery_sd,
                               indent_depth_fraction=args.indent_depth_fraction,
                               indent_temperature_c=args.indent_temperature_c,
                               indent_loading_time_s=args.indent_loading_time_s,
                               executor=args.executor, workers=args.workers,
                               experiment=experiment, quiet=args.quiet)
        for name, m in result["parameters"].items():
            _log(f"{name} = {m['mean']:.4g}, 95 % credible interval [{m['ci95_lower']:.4g}, "
                 f"{m['ci95_upper']:.4g}]")
        for r in result["refinement_rounds"]:
            if r["runs"]:
                _log(f"refinement round {r['round']}: DEM at that round's highest-posterior "
                     f"draw, max |error| {100 * r['max_abs_error']:.2f} porosity points, "
                     f"{r['inside_1sd']} points inside ±1 sd")
        if "recovery_fit" in result:
            r = result["recovery_fit"]
            _log(f"indentation recovery: posterior predictive {100 * r['predictive_median']:.1f} "
                 f"% [{100 * r['predictive_lo95']:.1f}, {100 * r['predictive_hi95']:.1f}], "
                 f"measured {100 * r['measured']:.1f} ± {100 * r['measured_sd']:.1f} %")
        if "validation" in result:
            v = result["validation"]
            _log(f"DEM at the highest-posterior draw ({v['runs']} runs): max |error| "
                 f"{100 * v['max_abs_error']:.2f} porosity points, {v['inside_1sd']} of "
                 f"{len(v['rows'])} points inside ±1 sd"
                 + (f"; indentation recovery {100 * v['recovery_simulated']:.1f} %"
                    if "recovery_simulated" in v else ""))
        _log(f"report {result['out']}/report.md")
        return result
    if args.target == "electronic":
        if not args.structure:
            raise ValueError("--structure is required for --target electronic: the imaged "
                             "structure of each row of --data, in row order")
        fixed = {}
        for item in args.fixed:
            name, sep, value = item.partition("=")
            try:
                fixed[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"--fixed {item!r}: expected NAME=VALUE") from None
            if not sep:
                raise ValueError(f"--fixed {item!r}: expected NAME=VALUE")
        result = calibrate_electronic(
            args.data, args.out, structures=args.structure, parameters=args.parameters,
            fixed=fixed, voxel_um=args.voxel_um, conduction=args.conduction,
            am_conductivity=args.am_conductivity, n_design=args.design, refine=args.refine,
            seed=args.seed,
            executor=args.executor, workers=args.workers, experiment=experiment,
            quiet=args.quiet)
        for name, m in result["parameters"].items():
            _log(f"{name} = {m['mean']:.4g}, 95 % credible interval [{m['ci95_lower']:.4g}, "
                 f"{m['ci95_upper']:.4g}]")
        for r in result["states"]:
            _log(f"{r['state']}: σ_eff {r['sigma_eff_s_m']:.3g} S/m, {r['capacity_mah_g']:.1f} "
                 f"mAh/g at the highest-posterior draw (measured {r['measured_mah_g']:.0f} ± "
                 f"{r['measured_sd_mah_g']:.0f})")
        _log(f"report {result['out']}/report.md")
        return result
    lo, hi = _float_pair(args.alpha_range, "--alpha-range")
    result = calibrate_tortuosity(
        args.data, args.out, fit_gamma=args.fit_gamma, fit_noise_scale=args.fit_noise_scale,
        relative_noise=args.relative_noise, conductivity_s_m=args.conductivity_s_m,
        z_relative_sd=args.z_relative_sd, alpha_range=(lo, hi), experiment=experiment)
    a = result["parameters"]["alpha"]
    _log(f"alpha = {a['mean']:.3f} ± {a['sd']:.3f}, 95 % credible interval "
         f"[{a['ci95_lower']:.3f}, {a['ci95_upper']:.3f}] from {result['measurements']} "
         f"measurements; report {result['out']}/report.md")
    return result


def cmd_variability(args: argparse.Namespace) -> dict:
    """Monte Carlo variability (experiments/variability.py)."""
    from experiments.variability import OUTPUTS, Distribution, run_variability

    dists = [Distribution.parse(spec) for spec in args.vary] if args.vary else None
    result = run_variability(
        args.out, dists, transport=args.transport, n_full=args.n_full, n_train=args.n_train,
        n_surrogate=args.n_surrogate, n_sobol=args.n_sobol, seed=args.seed,
        executor=args.executor, workers=args.workers,
        experiment=None if args.no_mlflow else args.experiment, quiet=args.quiet)
    for name, label in OUTPUTS.items():
        f = result["outputs"][name]["full_model"]
        a = result["outputs"][name]["agreement_on_shared_sample"]
        _log(f"{label}: P5 {f['p5']:.4g}, P50 {f['p50']:.4g}, P95 {f['p95']:.4g}; surrogate "
             f"RMSE {a['rmse']:.3g}, KS {a['ks_distance']:.3f}")
    _log(f"report {result['out']}/report.md")
    return result


def cmd_process_window(args: argparse.Namespace) -> dict:
    """The process window (experiments/process_window.py)."""
    from experiments.batch import parse_bounds
    from experiments.process_window import run_process_window

    fixed = {}
    if args.coating_thickness_um is not None:
        fixed["coating_thickness_um"] = args.coating_thickness_um
    result = run_process_window(
        args.out, [m.strip() for m in args.materials.split(",") if m.strip()],
        porosity_band=_float_pair(args.porosity_band, "--porosity-band"),
        tau_z_max=args.tau_z_max, capacity_min=args.capacity_min,
        fracture_max=args.fracture_max,
        bounds=parse_bounds(args.bounds) if args.bounds else None, fixed=fixed,
        fidelity=args.fidelity, initial=args.initial, iterations=args.iterations, q=args.q,
        seed=args.seed, fidelities=parse_fidelities(args.fidelities) if args.fidelities
        else (), experiment=args.experiment, executor=args.executor,
        workers=args.workers, cache_dir=args.cache_dir, progress=not args.quiet, log=_log)
    for material, s in result["materials"].items():
        w = s["pressure_window_mpa_at_nominal"]
        _log(f"{material}: {s['feasible']} of {s['evaluations']} evaluations feasible; "
             + (f"P(feasible) >= 0.5 from {w[0]:.3g} to {w[1]:.3g} MPa at the nominal "
                f"temperature and line speed" if w else "no window at the nominal settings"))
    _log(f"report {result['out']}/report.md")
    return result


def parse_fidelities(text: str) -> tuple[str, ...]:
    """'ci,fast' -> ("ci", "fast"), each a fidelity tier (ValueError naming --fidelities)."""
    from physics.pipeline import check_fidelity

    tiers = tuple(t.strip() for t in text.split(",") if t.strip())
    try:
        for t in tiers:
            check_fidelity(t)
    except ValueError as err:
        raise ValueError(f"--fidelities: {err}") from None
    if not tiers:
        raise ValueError("--fidelities: give tiers, e.g. ci,fast")
    return tiers


def _float_pair(text: str, flag: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} must be 'LOW,HIGH', got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{flag} needs finite LOW < HIGH, got {text!r}")
    return lo, hi


# ---------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> dict:
    """The toolkit end to end on the embedded defaults (experiments/demo.py)."""
    from experiments.demo import run_demo

    if not 4 <= args.initial <= 20:  # the surrogates' cross-validation needs >= 4 runs
        raise ValueError(f"--initial must lie in [4, 20], got {args.initial}")
    if not 0 <= args.iterations <= 20:
        raise ValueError(f"--iterations must lie in [0, 20], got {args.iterations}")
    result = run_demo(args.out, fidelity=args.fidelity, initial=args.initial,
                      iterations=args.iterations, cache_dir=args.cache_dir, log=_log,
                      quiet=args.quiet)
    _log(f"done in {result['timings_s']['total_s'] / 60:.1f} min; report: "
         f"{result['out']}/report.md")
    _log(f"open the runs: mlflow ui --backend-store-uri {result['mlflow_store']}")
    return result


# ---------------------------------------------------------------------------- parser
def _contact_flags(p: argparse.ArgumentParser) -> None:
    """The electronic contact conductances of ``physics.transport.ContactConductance``."""
    p.add_argument("--contact-am-am-s-m2", type=float, default=math.inf,
                   help="electronic contact conductance between two AM particles in S/m², > 0 "
                        "(default inf: none); needs a particle structure (not an .npy image)")
    p.add_argument("--contact-am-cbd-s-m2", type=float, default=math.inf,
                   help="electronic contact conductance between AM and CBD in S/m², > 0 "
                        "(default inf: none)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="etwin",
        description="electrode-twin: physics-in-the-loop surrogates and Bayesian optimization "
                    "for Li-ion electrode manufacturing. Engine units: µm, pg, µs (1 µm/µs = "
                    "1 m/s); public inputs carry their unit in the flag name.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        # argparse %-formats help strings (not descriptions): "95 % c..." would read as %c
        p = sub.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        p.add_argument("--json", action="store_true",
                       help="print the result as one JSON object on stdout (logs on stderr)")
        p.set_defaults(func=func)
        return p

    p = add("recipe", cmd_recipe,
            "Particle counts of a recipe from the dry mass balance (AM per size class, CBD).")
    p.add_argument("--recipe", default="paper", help=f"recipe name; allowed: {', '.join(RECIPES)}")
    p.add_argument("--n-am", type=int, default=396,
                   help="number of AM particles, integer >= 1 (default 396, the paper's cell)")
    p.add_argument("--box-um", default=None,
                   help="instead of --n-am: box 'LX,LY,LZ' in µm (each > 0) to fill")
    p.add_argument("--porosity", type=float, default=0.416,
                   help="dried porosity for --box-um, in [0, 1) (default 0.416, the paper's)")

    p = add("collide", cmd_collide,
            "One head-on collision with the Table 2 contact law (LIGGGHTS hertz tangential "
            "history cohesion sjkr): rebound speed, restitution, contact time (and the "
            "undamped Hertz time for comparison).")
    p.add_argument("--particle", default="AM", help="moving sphere material: AM or CBD")
    p.add_argument("--target", default="steel",
                   help="target: Al or steel (a plane) or AM or CBD (a sphere)")
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
            "drying.png to --out.")
    p.add_argument("--recipe", default="paper", help=f"recipe name; allowed: {', '.join(RECIPES)}")
    p.add_argument("--fidelity", default="ci",
                   help="ci (80 AM, ~2 000 particles), fast (200 AM, ~5 000), paper (396 AM, "
                        "~9 800, the paper's cell); cross-section 25.8 × 25.8 µm")
    p.add_argument("--n-am", dest="n_am", type=int, default=None,
                   help="AM particles, 24-2000 (default: the --fidelity's count; the "
                        "cross-section stays, the film's thickness follows)")
    p.add_argument("--am-mass-fraction", dest="am_mass_fraction", type=float, default=None,
                   help="AM share of the dry solids, in [0.8, 0.98] (default: the recipe's; "
                        "carbon and binder share the rest equally, as etwin simulate)")
    p.add_argument("--solid-content", dest="solid_content", type=float, default=None,
                   help="slurry solids mass fraction, in [0.5, 0.8] (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (integer)")
    p.add_argument("--mode", default="wall",
                   help="boundary along z: wall (default: Al current collector below, free top "
                        "surface after drying) or periodic (fully periodic, as the paper)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def press_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dried", default=None,
                       help="dried structure: a directory holding dried.npz (etwin dry --out) or "
                            "an .npz file; default: dry the recipe at --fidelity into OUT/dried")
        p.add_argument("--recipe", default="paper",
                       help=f"recipe when drying; allowed: {', '.join(RECIPES)}")
        p.add_argument("--fidelity", default="fast",
                       help="size when drying (no --dried): ci, fast (default), paper")
        p.add_argument("--seed", type=int, default=0, help="random seed when drying")
        p.add_argument("--temperature-c", type=float, default=60.0,
                       help="roll temperature in °C, in [0, 150] (binder law range; default 60)")
        p.add_argument("--line-speed-m-min", type=float, default=0.54,
                       help="line speed in m/min, in [0.01, 200] (default 0.54)")
        p.add_argument("--roll-diameter-m", type=float, default=0.25,
                       help="roll diameter in m, in [0.02, 3] (default 0.25)")
        p.add_argument("--preset", default="paper",
                       help="contact law: a preset name (physics/calender/preset_data: "
                            "paper = Table 2, the default) or a preset .json file (etwin "
                            "calibrate --target dem writes one); the contact flags below "
                            "override it")
        p.add_argument("--am-friction", type=float, default=None,
                       help="AM Coulomb friction coefficient, in [0, 2] (Table 2: 0.001); "
                            "pairs mix geometrically")
        p.add_argument("--cbd-friction", type=float, default=None,
                       help="CBD Coulomb friction coefficient, in [0, 2] (Table 2: 0.001)")
        p.add_argument("--cbd-plasticity", type=float, default=None,
                       help="binder contacts (CBD-CBD, AM-CBD): hysteretic plasticity ratio "
                            "lambda_p in [0, 0.95] (Table 2: 0, Hertz)")
        p.add_argument("--cbd-adhesion-ratio", type=float, default=None,
                       help="binder contacts: adhesive-branch stiffness / Hertz stiffness, in "
                            "[0, 10] (Table 2: 0)")
        p.add_argument("--am-rolling", type=float, default=None,
                       help="AM-AM EPSD2 rolling-resistance coefficient, in [0, 1] (Table 2: 0)")
        p.add_argument("--bridge-stiffness-ratio", type=float, default=None,
                       help="binder contacts: viscoelastic bridge arm stiffness / Hertz "
                            "stiffness, in [0, 20] (Table 2: 0, no bridge)")
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
                   help="maximum pressures in MPa, comma-separated, each in (0, 500]")
    p.add_argument("--protocol", default="quasi-static",
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
                   help="replicate the cell n x n in x-y first, n in [1, 10] (paper: 4)")
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

    p = add("transport", cmd_transport,
            "Voxel transport (TauFactor conventions): porosity, tortuosity factor, effective "
            "diffusivity and MacMullin number per direction, effective electronic "
            "conductivity and percolation, AM surface area, pore size distribution, phase "
            "fractions per slice. With --out writes metrics.json, *_psd.csv/.png, "
            "*_slices.csv/.png (and the voxel image of a structure).")
    p.add_argument("image",
                   help="uint8 .npy image indexed [x, y, z] (z through-plane; 0 pore, 1 AM, "
                        "2 CBD), a structure .npz, or a directory of calendered_*.npz "
                        "(etwin calender --out) or dried.npz")
    p.add_argument("--voxel-um", type=float, default=0.25,
                   help="voxel edge in µm, in [0.01, 10]: of the .npy image, or the "
                        "voxelization resolution of a structure (default 0.25)")
    p.add_argument("--cbd-porosity", type=float, default=0.47,
                   help="CBD nano-porosity in [0, 1) (default 0.47); its diffusivity is "
                        "D0 · porosity^1.5; 0 makes the CBD insulating (pore-only transport)")
    _contact_flags(p)
    p.add_argument("--eis3d", action="store_true",
                   help="also the blocking impedance solved on the 3-D image and τ_EIS from "
                        "its transmission-line fit, beside the voxel τ_z "
                        "(physics/impedance3d.py); writes *_eis3d.csv/.png with --out")
    p.add_argument("--double-layer-f-cm2", type=float, default=1e-5,
                   help="--eis3d: double-layer capacitance per charging surface in F/cm², "
                        "> 0 (default 1e-5 = 10 µF/cm²)")
    p.add_argument("--d0-m2-s", type=float, default=7.5e-11,
                   help="electrolyte diffusivity in the pores in m²/s, > 0 (default 7.5e-11)")
    p.add_argument("--sigma-am-s-m", type=float, default=5e-3,
                   help="AM electronic conductivity in S/m, >= 0 (default 5e-3)")
    p.add_argument("--sigma-cbd-s-m", type=float, default=10.0,
                   help="CBD electronic conductivity in S/m, >= 0 (default 10)")
    p.add_argument("--directions", default="xyz",
                   help="transport directions, letters from xyz (default xyz)")
    p.add_argument("--rtol", type=float, default=1e-8,
                   help="relative residual of the solves, in (0, 1) (default 1e-8)")
    p.add_argument("--no-psd", action="store_true", help="skip the pore size distribution")
    p.add_argument("--out", default=None, help="output directory for CSV, PNG and metrics")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("cell", cmd_cell,
            "Half-cell DFN (porous NMC cathode | separator | Li foil): galvanostatic discharge "
            "to the cut-off; prints capacity (mAh/g AM), energy, mean voltage; with --out "
            "writes discharge.csv, discharge.png and metrics.json. With --transport, one cell "
            "per structure of an etwin transport result (cases.csv).")
    p.add_argument("--params", default=None,
                   help="parameter file (JSON, SI units; see --print-default-params); default: "
                        "the paper's uncalendered electrode")
    p.add_argument("--transport", default=None,
                   help="an etwin transport metrics.json (or its directory): one cell per "
                        "structure, the cathode's thickness, porosity, fractions, τ_z, σ_eff,z, "
                        "surface area and AM size classes from it, the rest from --params")
    p.add_argument("--c-rate", type=float, default=1.0,
                   help="discharge rate in C (1C = the theoretical capacity in one hour), in "
                        "[0.001, 100] (default 1)")
    p.add_argument("--print-default-params", action="store_true",
                   help="print the default parameter file and exit")
    p.add_argument("--out", default=None, help="output directory for CSV, PNG and metrics")

    p = add("cell3d", cmd_cell3d,
            "Particle-resolved 3-D half cell on the voxel image (physics/cell3d.py): "
            "electrolyte in pores and nano-porous CBD, solid potential in AM and CBD, "
            "Butler-Volmer on every AM face, radial Li diffusion per AM particle; galvanostatic "
            "discharge to the cut-off. Prints capacity and the paper's Fig. 7C observables at "
            "--snapshot-dod; with --out writes <structure>_discharge.csv, "
            "<structure>_lithiation.png (lithiation per particle), discharge3d.png and "
            "metrics.json.")
    p.add_argument("image",
                   help="a structure .npz (etwin calender/dry output) or a directory of "
                        "calendered_*.npz (else dried.npz); needs particle identities, so not "
                        "an .npy image")
    p.add_argument("--c-rate", type=float, default=1.0,
                   help="discharge rate in C, in [0.001, 100] (default 1)")
    p.add_argument("--voxel-um", type=float, default=1.0,
                   help="voxelization edge in µm, in [0.1, 10] (default 1; 0.5 is ~8x the "
                        "unknowns and ~15x the time)")
    p.add_argument("--params", default=None,
                   help="cell parameter file (JSON, SI units; etwin cell "
                        "--print-default-params): electrolyte, kinetics, OCP, separator, foil")
    p.add_argument("--sigma-am-s-m", type=float, default=5e-3,
                   help="AM electronic conductivity in S/m (default 5e-3)")
    p.add_argument("--sigma-cbd-s-m", type=float, default=10.0,
                   help="CBD electronic conductivity in S/m (default 10)")
    _contact_flags(p)
    p.add_argument("--separator-layers", type=int, default=4,
                   help="homogenized separator voxel layers above the image, in [1, 200] "
                        "(default 4)")
    p.add_argument("--snapshot-dod", type=float, default=0.5,
                   help="depth of discharge (fraction of the theoretical capacity) of the "
                        "observables and the lithiation map, in [0.001, 1] (default 0.5; the "
                        "end of discharge where it stops earlier)")
    p.add_argument("--voltage-tol-v", type=float, default=1e-3,
                   help="local error tolerance of a time step on the voltage in V, in "
                        "[1e-5, 0.1] (default 1e-3)")
    p.add_argument("--checkpoint-every-s", type=float, default=60.0,
                   help="with --out: save the discharge's state to OUT/<structure>_checkpoint"
                        ".npz at most every this many wall seconds; a stopped run restarted "
                        "with the same command resumes from it (default 60)")
    p.add_argument("--out", default=None,
                   help="output directory for CSV, PNG and metrics (and the checkpoint)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("eis", cmd_eis,
            "Impedance of the half-cell model at rest (linearized, frequency domain), and of "
            "the symmetric blocking cell of its cathode (no reaction, t+ = 1) with the "
            "transmission-line fit (Landesfeind 2016): R_ion per electrode (fit and 3 x the "
            "projection), MacMullin number and tau_EIS = N_M · porosity. With --out writes "
            "impedance.csv, impedance_blocking_symmetric.csv, nyquist.png, "
            "nyquist_blocking.png and metrics.json.")
    p.add_argument("--params", default=None, help="parameter file (JSON, SI units)")
    p.add_argument("--transport", default=None,
                   help="an etwin transport metrics.json (or its directory): one cell per "
                        "structure, the cathode's thickness, porosity, fractions, τ_z, σ_eff,z, "
                        "surface area and AM size classes from it, the rest from --params")
    p.add_argument("--f-min-hz", type=float, default=1.0, help="lowest frequency in Hz (1)")
    p.add_argument("--f-max-hz", type=float, default=1e7, help="highest frequency in Hz (1e7)")
    p.add_argument("--points-per-decade", type=int, default=7, help="points per decade (7)")
    p.add_argument("--blocking-sigma-s-m", type=float, default=None,
                   help="σ_eff of the blocking cell in S/m (default: max(σ_eff, 1e3 κ_eff), "
                        "the electronic rail made negligible as in the paper)")
    p.add_argument("--out", default=None, help="output directory for CSV, PNG and metrics")

    def add_pipeline_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--fidelity", default="fast",
                       help="ci (80 AM particles, tests), fast (200, default) or paper (396)")
        p.add_argument("--c-rates", default="1",
                       help="discharge rates in C, comma-separated, each in [0.001, 100]")
        p.add_argument("--cache-dir", default=None,
                       help="stage cache (default $ETWIN_CACHE_DIR or ./etwin_cache)")
        p.add_argument("--experiment", default="electrode-twin",
                       help="MLflow experiment (store: $MLFLOW_TRACKING_URI or "
                            "sqlite:///mlflow.db in the working directory)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("simulate", cmd_simulate,
            "One process point through slurry -> drying -> calendering -> voxel transport -> "
            "half cell, each stage cached by a hash of its inputs; logged as an MLflow run "
            "(params, metrics, curves, plots, the calendered structure). View with: mlflow "
            "ui --backend-store-uri sqlite:///mlflow.db")
    p.add_argument("--pressure-mpa", dest="pressure_mpa", type=float, default=None,
                   help="calendering pressure in MPa, in [0.1, 500] (default 20)")
    p.add_argument("--temperature-c", dest="temperature_c", type=float, default=None,
                   help="roll temperature in °C, in [0, 150] (default 60)")
    p.add_argument("--line-speed-m-min", dest="line_speed_m_min", type=float, default=None,
                   help="line speed in m/min, in [0.01, 200] (default 0.54)")
    p.add_argument("--solid-content", dest="solid_content", type=float, default=None,
                   help="slurry solids mass fraction, in [0.5, 0.8] (default 0.69)")
    p.add_argument("--am-mass-fraction", dest="am_mass_fraction", type=float, default=None,
                   help="AM share of the dry solids, in [0.8, 0.98] (default 0.96; carbon "
                        "and binder share the rest)")
    p.add_argument("--coating-thickness-um", dest="coating_thickness_um", type=float,
                   default=None, help="dry coating thickness before calendering in µm, in "
                                      "[20, 500] (default 165)")
    p.add_argument("--am-young-modulus-gpa", dest="am_young_modulus_gpa", type=float,
                   default=None, help="AM Young's modulus in GPa, in [1, 1000] (default 200, "
                                      "NMC; graphite-like ~15)")
    p.add_argument("--am-fracture-strength-mpa", dest="am_fracture_strength_mpa", type=float,
                   default=None, help="AM particle crushing strength in MPa, in [1, 1e4] "
                                      "(default 150, NMC; graphite-like ~40)")
    p.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
    p.add_argument("--cell-model", default="p2d", choices=("p2d", "3d"),
                   help="cell stage: p2d (homogenized DFN at the coating thickness, default) or "
                        "3d (particle-resolved cell on the simulated film at 1 µm voxels, "
                        "etwin cell3d; ~5-20 CPU min at ci)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_pipeline_options(p)

    p = add("sweep", cmd_sweep,
            "A design of process points through the chain in parallel, each an MLflow run; "
            "points already finished in the experiment are skipped, so rerunning a stopped "
            "sweep resumes it. Inputs not in the design take the simulate defaults.")
    p.add_argument("--grid", default=None,
                   help="full grid, e.g. 'pressure_mpa=5,20,60;temperature_c=25,60'")
    p.add_argument("--sobol", type=int, default=None, help="N points of a Sobol design")
    p.add_argument("--bounds", default=None,
                   help="Sobol bounds, e.g. 'pressure_mpa=1:100,temperature_c=25:120'")
    p.add_argument("--design-seed", type=int, default=0, help="Sobol scrambling seed")
    p.add_argument("--points", default=None,
                   help="CSV file of points, one column per process input")
    p.add_argument("--seeds", default="0", help="simulation seeds, comma-separated")
    p.add_argument("--executor", default="local",
                   help="local (process pool), dask-local (Dask LocalCluster) or "
                        "tcp://host:port (a Dask scheduler, e.g. dask-jobqueue SLURM)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel simulations (default: the cores, at most the points)")
    add_pipeline_options(p)

    p = add("runs", cmd_runs,
            "The tracked simulations of an MLflow experiment as a table: inputs, fidelity, "
            "seed and every metric (the training set of the surrogates).")
    p.add_argument("--experiment", default="electrode-twin", help="MLflow experiment")
    p.add_argument("--all", action="store_true", help="include failed runs")
    p.add_argument("--out", default=None, help="write the table as CSV")

    p = add("train", cmd_train,
            "Gaussian-process surrogates (BoTorch SingleTaskGP per output, float64, normalized "
            "inputs, standardized outputs) of the tracked simulations: k-fold cross-validation "
            "report (R², RMSE, 90 % interval coverage; features chosen by nested CV; warnings "
            "for failed fold fits and coverage below 0.7) beside scikit-learn's GP, parity and "
            "calibration plots, the fitted models (surrogates.pt), logged to MLflow experiment "
            "'<experiment>-surrogates'.")
    p.add_argument("--experiment", default="electrode-twin",
                   help="MLflow experiment of the simulations (the training data)")
    p.add_argument("--data", default=None,
                   help="a CSV table instead (etwin runs --out): process-input and output "
                        "columns")
    p.add_argument("--fidelity", default=None, help="use only runs of this fidelity")
    p.add_argument("--outputs", default=None,
                   help="comma-separated outputs (default: porosity, tau_x, tau_y, tau_z, "
                        "capacity_1C_mah_g, r_ion_ohm_cm2 where present)")
    p.add_argument("--features", default="auto",
                   help="auto (keep log_pressure / log_deborah only where they lower the "
                        "cross-validated RMSE by 5 %%; chosen per fold in the report's "
                        "nested CV), none, or a comma-separated list")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    p.add_argument("--seed", type=int, default=0, help="fold shuffling seed")
    p.add_argument("--out", default="runs/surrogates", help="output directory")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = add("optimize", cmd_optimize,
            "Bayesian optimization on the physics: Sobol start, then qLogNoisyExpected"
            "Improvement batches simulated in parallel, outcome constraints, failed runs "
            "modelled; every evaluation and iteration an MLflow run; rerun to resume.")
    p.add_argument("--problem", required=True,
                   help="TOML problem file (objective, constraints, bounds, fixed, settings; "
                        "see optimize/problem.py)")
    p.add_argument("--experiment", default=None,
                   help="MLflow experiment of the evaluations (default optimize-<file stem>)")
    p.add_argument("--iterations", type=int, default=None, help="override [settings]")
    p.add_argument("--initial", type=int, default=None, help="override [settings]")
    p.add_argument("--q", type=int, default=None, help="override [settings]")
    p.add_argument("--fidelity", default=None, help="override [settings]")
    p.add_argument("--fidelities", default=None,
                   help="multi-fidelity: the tiers to choose from, e.g. ci,fast (the target is "
                        "--fidelity); the loop picks point and tier by correlation per cost "
                        "(optimize/multifidelity.py) and reports the cost spent per tier")
    p.add_argument("--executor", default="local",
                   help="local, dask-local or tcp://host:port (as etwin sweep)")
    p.add_argument("--workers", type=int, default=None, help="parallel simulations")
    p.add_argument("--cache-dir", default=None, help="stage cache (as etwin simulate)")
    p.add_argument("--out", default=None,
                   help="write history.csv, result.json and convergence.png here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("calibrate", cmd_calibrate,
            "Bayesian calibration by grid quadrature, with 95 % credible intervals, a "
            "posterior-predictive plot, a report folder and an MLflow run.  --target "
            "tortuosity: the Bruggeman exponent α in τ = γ ε^(1-α) from ionic resistances or "
            "blocking impedance spectra at several porosities.  --target dem: contact-law "
            "parameters (binder plasticity, modulus, adhesion, AM rolling resistance, ...) "
            "from a measured porosity–pressure curve, through DEM calenderings of dried "
            "structures (cached, resumable, in parallel), a GP emulator and ensemble MCMC.  "
            "--target electronic: particle contact conductance and CBD conductivity from "
            "measured rate capacities at several densities, through conductivity solves on "
            "each state's image and the P2D at the measured thickness.")
    p.add_argument("--target", default="tortuosity",
                   choices=["tortuosity", "dem", "electronic"],
                   help="what to calibrate (default tortuosity)")
    p.add_argument("--data", required=True,
                   help="tortuosity: CSV with porosity, thickness_um and r_ion_ohm_cm2 [, "
                        "r_ion_sd_ohm_cm2] or spectrum (a CSV path: frequency_hz, "
                        "re_z_ohm_cm2, im_z_ohm_cm2) [, cell, z_relative_sd, conductivity_s_m]; "
                        "dem: CSV with pressure_mpa, porosity (fraction) [, porosity_sd]; "
                        "electronic: CSV with label, porosity, thickness_um, capacity_mah_g, "
                        "capacity_sd_mah_g [, c_rate]")
    p.add_argument("--structure", action="append", default=None,
                   help="electronic: the imaged structure (.npz) of each row of --data, in "
                        "row order; repeat per row; comma-separated films (seeds) of one state "
                        "form an ensemble: its capacity is their mean, their scatter joins "
                        "the model's variance")
    p.add_argument("--voxel-um", type=float, default=1.0,
                   help="electronic: voxel edge of the images in µm, in [0.1, 10] (default 1)")
    p.add_argument("--conduction", default="voxel", choices=["voxel", "network"],
                   help="electronic: σ_eff on the voxel image (default) or on the particles' "
                        "contact network (Holm constriction + contact film per DEM contact; "
                        "physics/conduction.py)")
    p.add_argument("--am-conductivity", default="constant",
                   choices=["constant", "lithiation"],
                   help="electronic: the AM's bulk conductivity constant (default; parameter "
                        "sigma_am_s_m) or falling with lithiation along each discharge "
                        "(NMC111 after Amin & Chiang 2016, physics/am_conductivity.py; "
                        "parameter sigma_am_lithiated_s_m): each design run then discharges "
                        "the P2D with its structure's σ_eff(θ)")
    p.add_argument("--fixed", action="append", default=[],
                   help="electronic: NAME=VALUE for a parameter that is not calibrated "
                        "(contact_am_am_s_m2, contact_am_cbd_s_m2, sigma_am_s_m, "
                        "sigma_am_lithiated_s_m, sigma_cbd_s_m); default: no AM-AM contact "
                        "resistance, the transport defaults for the bulk conductivities, "
                        "1e-5 S/m for the lithiated AM")
    p.add_argument("--dried", action="append", default=None,
                   help="dem: a dried structure (etwin dry dried.npz) to calender; repeat "
                        "for several seeds (design run k uses film k mod n)")
    p.add_argument("--parameters", default=None,
                   help="dem, electronic: calibrated parameters 'name[=LOW:HIGH],...' (dem "
                        "default cbd_plasticity,bridge_stiffness_ratio,cbd_adhesion_ratio,"
                        "am_rolling; also cbd_modulus_gpa, cbd_cohesion_gpa, am_friction, "
                        "cbd_friction; electronic default contact_am_cbd_s_m2,sigma_cbd_s_m; "
                        "also contact_am_am_s_m2, sigma_am_s_m)")
    p.add_argument("--design", type=int, default=24,
                   help="dem, electronic: runs on a Sobol design over the priors (DEM "
                        "calenderings; conductivity solves per structure), in [4, 500] "
                        "(default 24)")
    p.add_argument("--protocol", default="paper", choices=["paper", "quasi-static"],
                   help="dem: press protocol of the DEM runs (default paper)")
    p.add_argument("--validate", type=int, default=0,
                   help="dem: DEM runs at the highest-posterior draw, on the films in turn, "
                        "in [0, 64] (default 0)")
    p.add_argument("--refine", type=int, default=0,
                   help="dem, electronic: sequential-design rounds after the design, each "
                        "a run (DEM; conductivity solve) at the highest-posterior draw on "
                        "every film added to the emulator's training set, in [0, 32] "
                        "(default 0)")
    p.add_argument("--executor", default="local",
                   help="dem, electronic: local, dask-local or tcp://host:port (as etwin "
                        "sweep)")
    p.add_argument("--workers", type=int, default=1,
                   help="dem, electronic: parallel design runs (default 1)")
    p.add_argument("--porosity-sd", type=float, default=None,
                   help="dem: porosity sd (fraction) for rows without porosity_sd")
    p.add_argument("--recovery", type=float, default=None,
                   help="dem: measured elastic recovery of a micro-indentation of the dried "
                        "electrode, a fraction in (0, 1) (paper's electrode: 0.16); each "
                        "design point then also indents its film (etwin indent) and the "
                        "recovery joins the likelihood")
    p.add_argument("--recovery-sd", type=float, default=0.03,
                   help="dem: sd of --recovery, in (0, 1) (default 0.03)")
    p.add_argument("--indent-depth-fraction", type=float, default=0.1,
                   help="dem: indentation depth / film thickness of --recovery, in (0, 0.5] "
                        "(default 0.1, the paper's)")
    p.add_argument("--indent-temperature-c", type=float, default=None,
                   help="dem: temperature of the indentations of --recovery [°C], in the "
                        "binder law's [0, 150] (default: --temperature-c, as the paper's "
                        "simulated indentation)")
    p.add_argument("--indent-loading-time-s", type=float, default=None,
                   help="dem: loading time of the real indentation test of --recovery in s, "
                        "in [1e-3, 1e5]: the binder follows its rate (etwin indent "
                        "--loading-time-s; default: the roll's time scale)")
    p.add_argument("--temperature-c", type=float, default=60.0,
                   help="dem: roll temperature of the measured curve [°C] (default 60)")
    p.add_argument("--line-speed-m-min", type=float, default=0.54,
                   help="dem: line speed of the measured curve [m/min] (default 0.54)")
    p.add_argument("--seed", type=int, default=0, help="dem, electronic: seed of the design")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", default="calibration", help="report folder (default calibration)")
    p.add_argument("--fit-gamma", action="store_true",
                   help="also calibrate the prefactor γ (log-uniform prior 0.5-2; default γ = 1)")
    p.add_argument("--fit-noise-scale", action="store_true",
                   help="also calibrate a factor on the stated noise (log-uniform 0.25-4)")
    p.add_argument("--alpha-range", default="1,6",
                   help="uniform prior range of α, 'LOW,HIGH' (default 1,6)")
    p.add_argument("--relative-noise", type=float, default=None,
                   help="R_ion sd as a fraction of R_ion where the table has no "
                        "r_ion_sd_ohm_cm2, in (0, 1)")
    p.add_argument("--z-relative-sd", type=float, default=0.01,
                   help="noise of |Z| for spectra without z_relative_sd, in (0, 1) "
                        "(default 0.01)")
    p.add_argument("--conductivity-s-m", type=float, default=None,
                   help="bulk electrolyte conductivity κ [S/m] for rows without "
                        "conductivity_s_m (default: the cell model's electrolyte, 1 M, 25 °C)")
    p.add_argument("--experiment", default="calibrate", help="MLflow experiment")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")

    p = add("variability", cmd_variability,
            "Monte Carlo of coating scatter (thickness, porosity, Bruggeman exponent, "
            "conductivity) through the cell model and through GP surrogates: capacity and "
            "resistance distributions, percentiles, Sobol' indices, surrogate-vs-full "
            "agreement; report folder and an MLflow run.")
    p.add_argument("--transport", default=None,
                   help="base cathode from an etwin transport metrics.json (default: the cell "
                        "model's defaults)")
    p.add_argument("--vary", action="append", default=[],
                   help="NAME=KIND:A,B, repeatable; NAME in thickness_um, porosity, "
                        "bruggeman_alpha, electronic_conductivity_s_m; KIND normal (mean, sd), "
                        "uniform (low, high) or lognormal (median, sd of ln) (default: "
                        "thickness sd 2 %%, porosity sd 0.01)")
    p.add_argument("--n-full", type=int, default=200,
                   help="full-model draws (DFN discharges), in [10, 100000] (default 200)")
    p.add_argument("--n-train", type=int, default=48,
                   help="surrogate training points (Sobol), in [8, 2000] (default 48)")
    p.add_argument("--n-surrogate", type=int, default=100000,
                   help="surrogate draws, in [1000, 1e7] (default 100000)")
    p.add_argument("--n-sobol", type=int, default=8192,
                   help="base sample of the Sobol' indices, in [64, 1e6] (default 8192)")
    p.add_argument("--seed", type=int, default=0, help="random seed (integer)")
    p.add_argument("--executor", default="local", help="local, dask-local or tcp://host:port")
    p.add_argument("--workers", type=int, default=2, help="parallel cell-model processes")
    p.add_argument("--out", default="variability", help="report folder (default variability)")
    p.add_argument("--experiment", default="variability", help="MLflow experiment")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("process-window", cmd_process_window,
            "Process window: the BO loop on the physics per active material (NMC, a "
            "graphite-like anode material) for calendering settings with porosity in a band, "
            "τ_z and capacity limits and a particle-fracture limit; then maps of the "
            "probability of feasibility over 2-D slices with the evaluated points and the "
            "model uncertainty, and the materials' pressure windows compared.")
    p.add_argument("--materials", default="nmc,graphite",
                   help="comma-separated: nmc, graphite (default both)")
    p.add_argument("--porosity-band", default="0.27,0.31",
                   help="target porosity 'LOW,HIGH' as fractions (default 0.27,0.31)")
    p.add_argument("--tau-z-max", type=float, default=1.7,
                   help="through-plane tortuosity factor limit (default 1.7)")
    p.add_argument("--capacity-min", type=float, default=150.0,
                   help="1C capacity floor [mAh/g] (default 150)")
    p.add_argument("--fracture-max", type=float, default=0.05,
                   help="largest share of AM particles above their crushing strength, in "
                        "[0, 1] (default 0.05)")
    p.add_argument("--bounds", default=None,
                   help="decision variables 'name=low:high,...' (default pressure_mpa=1:150,"
                        "temperature_c=25:120,line_speed_m_min=0.2:20)")
    p.add_argument("--coating-thickness-um", type=float, default=None,
                   help="dry coating thickness [µm] (default 165)")
    p.add_argument("--fidelity", default="ci", help="ci, fast or paper (default ci)")
    p.add_argument("--fidelities", default=None,
                   help="multi-fidelity: the tiers to choose from, e.g. ci,fast with "
                        "--fidelity fast (optimize/multifidelity.py); the window is read "
                        "from the --fidelity evaluations")
    p.add_argument("--initial", type=int, default=6, help="Sobol points per material")
    p.add_argument("--iterations", type=int, default=4, help="BO iterations per material")
    p.add_argument("--q", type=int, default=1, help="proposals per iteration (in parallel)")
    p.add_argument("--seed", type=int, default=0, help="seed of the design and simulations")
    p.add_argument("--experiment", default="process-window",
                   help="MLflow experiment of the job (evaluations in <experiment>-<material>)")
    p.add_argument("--executor", default="local", help="local, dask-local or tcp://host:port")
    p.add_argument("--workers", type=int, default=None, help="parallel simulations")
    p.add_argument("--cache-dir", default=None, help="stage cache (as etwin simulate)")
    p.add_argument("--out", default="process_window", help="report folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("demo", cmd_demo,
            "End to end on the embedded defaults (~7.5 min on 2 cores): dry the paper recipe, "
            "a process-window BO loop on the physics (calender, transport, cell), GP "
            "surrogates, the Bruggeman exponent from the simulated impedance, and Monte Carlo "
            "variability; prints the report and how to open the MLflow UI.")
    p.add_argument("--out", default="etwin_demo", help="report folder (default etwin_demo)")
    p.add_argument("--fidelity", default="ci", help="ci (default), fast or paper")
    p.add_argument("--initial", type=int, default=5,
                   help="Sobol evaluations of the process window, in [4, 20] (default 5)")
    p.add_argument("--iterations", type=int, default=2,
                   help="BO iterations of the process window, in [0, 20] (default 2)")
    p.add_argument("--cache-dir", default=None, help="stage cache (default ./etwin_cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap


def _print_human(result: dict, indent: str = "") -> None:
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_human(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{indent}{key}:")
            for item in value:
                print(f"{indent}  -")
                _print_human(item, indent + "    ")
        elif isinstance(value, float):
            print(f"{indent}{key}: {value:.6g}")
        else:
            print(f"{indent}{key}: {value}")




def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except (ValueError, FileNotFoundError) as err:
        _log(f"etwin {args.command}: error: {err}")
        return 2
    except (RuntimeError, FloatingPointError) as err:
        _log(f"etwin {args.command}: failed: {err}")
        return 1
    except KeyboardInterrupt:
        _log(f"etwin {args.command}: interrupted")
        return 130
    if args.json:
        print(json.dumps(json_safe(result)))
    else:
        _print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
