"""The command-line reference (``docs/cli-reference.md``) generated from the argparse parsers of
:func:`experiments.cli.build_parser`, so the page always lists the flags the code accepts.

Run: ``python -m experiments.cli_reference --write`` (prints to stdout without ``--write``);
``tests/test_cli.py`` checks the committed page is current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _flag_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(action.option_strings) or action.dest.upper()
        if action.option_strings and action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}"
        required = action.required or not action.option_strings
        default = "required" if required else (
            "off" if action.nargs == 0 else
            "–" if action.default in (None, argparse.SUPPRESS) else f"`{action.default}`")
        meaning = _cell((action.help or "").replace("%%", "%"))  # argparse's % escape
        rows.append(f"| `{_cell(name)}` | {default} | {meaning} |")
    return rows


def cli_reference_markdown() -> str:
    """Markdown of every ``etwin`` command: description, usage and a table of its options."""
    from experiments.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = ["# Command-line reference (`etwin`)", "",
             "Generated from the argparse parsers by `python -m experiments.cli_reference "
             "--write`; `tests/test_cli.py` fails when this page and the code differ. The "
             "overview with examples is [cli.md](cli.md).", "",
             _cell(parser.description or ""), ""]
    lines += [f"- [`etwin {name}`](#etwin-{name})" for name in sub.choices]
    for name, command in sub.choices.items():
        usage = " ".join(command.format_usage().removeprefix("usage: ").split())
        lines += ["", f"## etwin {name}", "", _cell(command.description or ""), "",
                  "```", usage, "```", "", "| option | default | meaning |", "|---|---|---|",
                  *_flag_rows(command)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {REFERENCE.name} in docs/")
    args = ap.parse_args(argv)
    text = cli_reference_markdown()
    if args.write:
        from experiments.files import write_atomic

        write_atomic(REFERENCE, lambda fh: fh.write(text.encode()))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
