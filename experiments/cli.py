"""``etwin``: the command line of electrode-twin.

Conventions for every command: ``--help`` documents units and allowed ranges; ``--json`` prints
the result as one JSON object on stdout; progress and logs go to stderr.  The commands live in
experiments/commands/ (one module per group, each registering its own flags); this module
builds the parser and runs a command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from experiments.commands import GROUPS
from experiments.commands.common import log
from experiments.files import json_safe


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("electrode-twin")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="etwin",
        description="electrode-twin: physics-in-the-loop surrogates and Bayesian optimization "
                    "for Li-ion electrode manufacturing. Engine units: µm, pg, µs (1 µm/µs = "
                    "1 m/s); public inputs carry their unit in the flag name.")
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        # argparse %-formats help strings (not descriptions): "95 % c..." would read as %c
        p = sub.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        p.add_argument("--json", action="store_true",
                       help="print the result as one JSON object on stdout (logs on stderr)")
        p.set_defaults(func=func)
        return p

    for group in GROUPS:
        group.register(add)
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
        log(f"etwin {args.command}: error: {err}")
        return 2
    except (RuntimeError, FloatingPointError) as err:
        log(f"etwin {args.command}: failed: {err}")
        return 1
    except KeyboardInterrupt:
        log(f"etwin {args.command}: interrupted")
        return 130
    if args.json:
        print(json.dumps(json_safe(result)))
    else:
        _print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
