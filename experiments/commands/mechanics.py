"""``etwin stiffness``: the small-strain stiffness of a structure along x, y and z and its
orthotropic moduli (physics/calender/stiffness.py)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from experiments.commands.common import AddCommand, add_materials_flag, log, materials_from
from experiments.files import json_safe, write_json_atomic


def _structures(path: Path) -> list[Path]:
    """A structure file, or every calendered_*.npz (else dried.npz) in a directory."""
    if path.is_dir():
        found = sorted(path.glob("calendered_*.npz")) or sorted(path.glob("dried.npz"))
        if not found:
            raise ValueError(f"STRUCTURE {path}: expected a directory holding "
                             "calendered_*.npz (etwin calender --out) or dried.npz (etwin dry "
                             "--out), or a structure .npz; it holds neither")
        return found
    if not path.is_file():
        raise ValueError(f"STRUCTURE {path}: no such file or directory")
    return [path]


def _conditions(args: argparse.Namespace, meta: dict):
    """The contact law of --preset and --materials at the roll's temperature and line speed
    (the flags, else those the structure was calendered at, else Table 2's 60 °C and
    0.54 m/min), the AM modulus of --am-young-modulus-gpa if given."""
    from physics.calender.presets import load_preset

    materials = materials_from(args)
    process = {"temperature_c": args.temperature_c, "line_speed_m_min": args.line_speed_m_min}
    for name, fallback in (("temperature_c", 60.0), ("line_speed_m_min", 0.54)):
        if process[name] is None:
            process[name] = float(meta.get(name, fallback))
    conditions = load_preset(args.preset).process_conditions(
        None if materials is None else materials.calender_conditions(),
        roll_diameter_m=args.roll_diameter_m, **process)
    if args.am_young_modulus_gpa is not None:
        conditions = dataclasses.replace(conditions,
                                         am_young_modulus_gpa=args.am_young_modulus_gpa)
    return conditions


def cmd_stiffness(args: argparse.Namespace) -> dict:
    """Strain probe of each structure: C_ij [MPa], orthotropic moduli, linearity."""
    from physics.calender.stiffness import StiffnessTest, film_stiffness
    from physics.state import ParticleState

    try:
        test = StiffnessTest(strain=args.strain,
                             preload_mpa=args.preload_mpa if args.preload_mpa else None,
                             platen=args.platen, damping_per_us=args.damping_per_us,
                             rtol=args.rtol, max_blocks=args.max_blocks)
    except ValueError as err:
        raise ValueError(str(err).replace("StiffnessTest.", "--").replace("_", "-")) from None
    rows = []
    for path in _structures(Path(args.structure)):
        state = ParticleState.load(path)
        conditions = _conditions(args, state.meta)
        result = film_stiffness(state, conditions, test)
        c = result.diagonal_mpa()
        log(f"{path.name}: C_xx {c['x']:.4g}, C_yy {c['y']:.4g}, C_zz {c['z']:.4g} MPa at "
            f"{result.preload_mpa:.3g} MPa on the platen; {result.steps} steps, "
            f"{result.wall_s:.1f} s")
        rows.append({"structure": str(path), "stage": state.meta.get("stage"),
                     "pressure_target_mpa": state.meta.get("pressure_target_mpa"),
                     "temperature_c": conditions.temperature_c,
                     "line_speed_m_min": conditions.line_speed_m_min,
                     "platen": args.platen, **result.summary()})
    summary = rows[0] if len(rows) == 1 else {"structures": rows}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "stiffness.json", json_safe(summary))
    return summary


def register(add: AddCommand) -> None:
    """The parser of ``etwin stiffness``."""
    p = add("stiffness", cmd_stiffness,
            "Small-strain stiffness of a structure along x, y and z (a strain probe with "
            "the contact law it was calendered with): strains of +-STRAIN along each axis "
            "with the other two held, each relaxed, give the normal block C_ij = "
            "dsigma_i/deps_j [MPa], its orthotropic Young's moduli and Poisson ratios, and "
            "the load/unload slopes that show how linear the response is. A calendered "
            "film is held between the Al floor and the roll, pressed to the stack pressure "
            "--preload-mpa (docs/validation/anisotropy.md).")
    p.add_argument("structure",
                   help="a structure .npz (calendered_<P>MPa.npz of etwin calender, dried.npz "
                        "of etwin dry) or a directory of them (every calendered_*.npz, else "
                        "dried.npz)")
    p.add_argument("--strain", type=float, default=1e-7,
                   help="strain amplitude of each step, in [1e-10, 1e-2] (default 1e-7: "
                        "Table 2's contacts, friction 0.001, begin to slide near it and the "
                        "secant stiffness falls at larger strains)")
    p.add_argument("--preload-mpa", type=float, default=0.1,
                   help="stack pressure of the reference in MPa, in [1e-4, 100]: the film and "
                        "the platen are compressed together until the settled platen "
                        "pressure is this; 0: the calendered film as its release left it "
                        "(near zero load: its response keeps relaxing) (default 0.1)")
    p.add_argument("--platen", default="steel", choices=("steel", "diamond"),
                   help="platen material: steel (the calender roll, with Table 2's cohesion; "
                        "default) or diamond (no adhesion)")
    p.add_argument("--damping-per-us", type=float, default=20.0,
                   help="zero-temperature drag of the relaxations in 1/us, in (0, 1e4] "
                        "(default 20)")
    p.add_argument("--rtol", type=float, default=0.01,
                   help="a strained state counts as relaxed when its stiffness column "
                        "changed by less than this fraction over 3 blocks, in (0, 1) "
                        "(default 0.01)")
    p.add_argument("--max-blocks", type=int, default=100,
                   help="longest relaxation in blocks of 50 steps, >= 6 (default 100)")
    p.add_argument("--preset", default="paper",
                   help="contact law: a preset name (physics/calender/preset_data; paper = "
                        "Table 2, the default) or a preset .json file: the law the structure "
                        "was calendered with")
    add_materials_flag(p, "its AM and CBD enter the contact law")
    p.add_argument("--temperature-c", type=float, default=None,
                   help="roll temperature in °C, in [0, 150] (default: the structure's, else "
                        "60)")
    p.add_argument("--line-speed-m-min", type=float, default=None,
                   help="line speed in m/min, in [0.01, 200] (default: the structure's, else "
                        "0.54)")
    p.add_argument("--roll-diameter-m", type=float, default=0.25,
                   help="roll diameter in m, in [0.02, 3] (default 0.25)")
    p.add_argument("--am-young-modulus-gpa", type=float, default=None,
                   help="AM Young's modulus in GPa, in [1, 1000] (default: the preset's or "
                        "material set's; Table 2: 200)")
    p.add_argument("--out", default=None,
                   help="directory for stiffness.json (default: none, print only)")
