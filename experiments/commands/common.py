"""What every command group shares: logging to stderr and the parsing of list flags."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

#: ``add(name, func, help) -> parser``: registers one command (experiments/cli.py)
AddCommand = Callable[[str, Callable[[argparse.Namespace], dict], str], argparse.ArgumentParser]
RECIPES = ("paper",)


def log(msg: str) -> None:
    """One line on stderr (stdout carries the result)."""
    print(msg, file=sys.stderr, flush=True)


def recipe_named(name: str):
    """The :class:`physics.materials.Recipe` of ``--recipe NAME``."""
    from physics.materials import paper_recipe

    if name != "paper":
        raise ValueError(f"--recipe {name!r} is unknown; allowed: {', '.join(RECIPES)}")
    return paper_recipe()


def check_fidelity_flag(fidelity: str, flag: str = "--fidelity") -> str:
    """``fidelity`` if it names a tier (physics/fidelity.py), else a ValueError naming ``flag``."""
    from physics.fidelity import check_fidelity

    return check_fidelity(fidelity, flag)


def floats(text: str, n: int, flag: str) -> tuple[float, ...]:
    """``n`` comma-separated numbers of ``flag``."""
    values = number_list(text, flag)
    if len(values) != n:
        raise ValueError(f"{flag} {text!r}: expected {n} comma-separated numbers")
    return values


def number_list(text: str, flag: str) -> tuple[float, ...]:
    """Comma-separated finite numbers of ``flag``; an empty item is an error."""
    items = [v.strip() for v in text.split(",")]
    if any(not v for v in items):
        raise ValueError(f"{flag} {text!r}: an empty item in the comma-separated list")
    try:
        values = tuple(float(v) for v in items)
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected comma-separated numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{flag} {text!r}: every number must be finite")
    return values


def integer_list(text: str, flag: str, low: int = 0) -> tuple[int, ...]:
    """Comma-separated integers >= ``low`` of ``flag`` (``1.5`` is an error, not 1)."""
    values = number_list(text, flag)
    if any(v != int(v) or v < low for v in values):
        raise ValueError(f"{flag} {text!r}: expected integers >= {low}")
    return tuple(int(v) for v in values)


def float_pair(text: str, flag: str) -> tuple[float, float]:
    """'LOW,HIGH' with finite LOW < HIGH."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} must be 'LOW,HIGH', got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{flag} needs finite LOW < HIGH, got {text!r}")
    return lo, hi


def parse_fidelities(text: str) -> tuple[str, ...]:
    """'ci,fast' -> ("ci", "fast"), each a fidelity tier (ValueError naming --fidelities)."""
    tiers = tuple(t.strip() for t in text.split(","))
    if not text.strip() or any(not t for t in tiers):
        raise ValueError(f"--fidelities {text!r}: give tiers, e.g. ci,fast (no empty item)")
    for t in tiers:
        check_fidelity_flag(t, "--fidelities")
    return tiers


def as_flag(message: str) -> str:
    """A library error that starts with a field name (``speed_m_s -1 is ...``) as the
    command line spells it (``--speed-m-s -1 is ...``)."""
    field, sep, rest = message.partition(" ")
    if sep and field.isidentifier() and field.islower():
        return f"--{field.replace('_', '-')} {rest}"
    return message


def check_cache_dir(path: str | None) -> None:
    """A ``--cache-dir`` that can hold the stage cache (a directory, or a path to create)."""
    from physics.pipeline import StageCache

    try:
        StageCache(path)
    except ValueError as err:
        raise ValueError(as_flag(str(err))) from None


def add_materials_flag(p: argparse.ArgumentParser, use: str) -> None:
    """``--materials NAME|FILE.toml``: a material set (physics/material_sets.py)."""
    p.add_argument("--materials", default=None,
                   help="material set: a shipped name (etwin materials --list: nmc111, "
                        f"graphite) or a material .toml file; {use} (default: none, Table 2's "
                        "NMC111 electrode of the paper)")


def materials_from(args: argparse.Namespace):
    """The :class:`physics.material_sets.MaterialSet` of ``--materials`` (None if not given)."""
    if not getattr(args, "materials", None):
        return None
    from physics.material_sets import load_material_set

    return load_material_set(args.materials)


def add_batch_flags(p: argparse.ArgumentParser, cache_dir: bool = True) -> None:
    """Where the simulations of a sweep or a BO campaign run (experiments/batch.py)."""
    p.add_argument("--executor", default="local",
                   help="local (process pool, default), dask-local (Dask LocalCluster) or "
                        "tcp://host:port (a Dask scheduler, e.g. dask-jobqueue SLURM)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel simulations, in [1, 1024] (default: the cores, at most the "
                        "points)")
    if cache_dir:
        p.add_argument("--cache-dir", default=None,
                       help="stage cache (default $ETWIN_CACHE_DIR or ./etwin_cache)")


def load_dried(path_text: str):
    """(state, path) of a dried structure given as an .npz or a directory holding dried.npz;
    a structure periodic in z is opened onto a floor plane (said on stderr)."""
    from pathlib import Path

    from physics.state import ParticleState

    path = Path(path_text)
    if path.is_dir():
        path = path / "dried.npz"
    state = ParticleState.load(path)
    if state.periodic[2]:
        from physics.structure import open_periodic_z

        state = open_periodic_z(state)
        log(f"{path} is periodic in z: opened at z = "
            f"{state.meta['opened_periodic_z_at_um']:.2f} µm onto a floor plane")
    return state, str(path)


#: --preset of the DEM commands
PRESET_HELP = ("contact law: a preset name (physics/calender/preset_data: paper = Table 2, the "
               "default; nmc111-calibrated = the crushing law calibrated on the paper "
               "electrode's curve at the paper's film size, nmc111-fast6 = the earlier "
               "six-parameter law of the fast films; docs/validation/calendering.md) or a "
               "preset .json file (etwin calibrate --target dem writes one)")
