"""``etwin materials``: the material sets (physics/material_sets.py), listed or shown."""

from __future__ import annotations

import argparse

from experiments.commands.common import AddCommand, log


def cmd_materials(args: argparse.Namespace) -> dict:
    """List the shipped material sets, or show one (every number with unit and source)."""
    from physics.material_sets import list_material_sets, load_material_set

    if args.show is None:
        names = list_material_sets()
        rows = []
        for name in names:
            m = load_material_set(name)
            rows.append({"name": name, "active_material": m.am_name,
                         "description": m.description})
        return {"material_sets": rows}
    m = load_material_set(args.show)
    rows = m.rows()
    if not args.json:
        log(f"{m.name}: {m.description}")
        for r in rows:
            value = r["value"]
            text = (f"{len(value)} values" if isinstance(value, tuple) and len(value) > 8
                    else str(value))
            log(f"  [{r['section']}] {r['key']} = {text} {r['unit']}  ({r['source']})")
    return {"name": m.name, "path": m.path, "digest": m.digest(),
            "theoretical_capacity_mah_g": m.cell_parameters().theoretical_capacity_mah_g(),
            **({"description": m.description, "values": rows} if args.json else {})}


def register(add: AddCommand) -> None:
    """The parser of ``etwin materials``."""
    p = add("materials", cmd_materials,
            "The material sets a job takes with --materials (an active material, its carbon-"
            "binder domain, solvent and recipe, every number with its unit and source): list "
            "the shipped ones, or show one.  Write your own as a .toml file in the same "
            "layout (physics/material_sets.py; physics/material_data/ holds the shipped "
            "files).")
    p.add_argument("--list", action="store_true",
                   help="list the shipped material sets (the default action)")
    p.add_argument("--show", default=None,
                   help="show one set, a shipped name or a .toml file, with units and "
                        "sources (default: none, list them)")
