"""``etwin``: the command line of electrode-twin.

Conventions for every command: ``--help`` documents units and allowed ranges; ``--json`` prints
the result as one JSON object on stdout; progress and logs go to stderr.  The commands live in
experiments/commands/ (one module per group, each registering its own flags); this module
builds the parser and runs a command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
        p.add_argument("--threads", type=int, default=None,
                       help=f"numba threads of this process, in [1, {os.cpu_count() or 1}] "
                            "(default: the free cores, the CPU count minus the 1-minute load "
                            "average, at least 1: on a busy machine more threads than free "
                            "cores slow the engine down several times)")
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




def free_cores() -> int:
    """Cores not busy: the CPU count minus the 1-minute load average (rounded), at least 1."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, cores - round(os.getloadavg()[0])))


def _set_threads(threads: int | None) -> int:
    """numba's thread count for this process (``--threads``, default :func:`free_cores`)."""
    import numba

    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= cores:
        raise ValueError(f"--threads must lie in [1, {cores}], got {threads}")
    n = min(threads or free_cores(), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    return n


def _join_negative_values(argv: Sequence[str]) -> list[str]:
    """``--flag -5,20`` as ``--flag=-5,20``: argparse reads a value that starts with '-' and is
    not a plain number as an option, so a negative list would fail with a misleading message
    instead of the range check naming the flag."""
    out: list[str] = []
    for token in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and re.fullmatch(r"-[0-9.][0-9.eE+,-]*", token)):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = _join_negative_values(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    import numba

    threads_before = numba.get_num_threads()
    try:
        _set_threads(args.threads)
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
    finally:  # main() called in-process (tests, notebooks) leaves the caller's threads as found
        numba.set_num_threads(threads_before)
    if args.json:
        print(json.dumps(json_safe(result)))
    else:
        _print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
