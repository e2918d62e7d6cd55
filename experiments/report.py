"""A job's report folder: report.md (headline numbers, tables, the PNG plots beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from physics.state import write_atomic


@dataclass(frozen=True)
class Section:
    """One report section: a heading, Markdown text, a table (list of dict rows) and plots
    (file names in the report folder)."""

    heading: str
    text: str = ""
    table: Sequence[dict] = ()
    plots: Sequence[str] = field(default_factory=tuple)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows: Sequence[dict]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def write_report(out_dir: str | Path, title: str, sections: Sequence[Section]) -> Path:
    """Write ``out_dir/report.md`` atomically; returns its path."""
    parts = [f"# {title}", ""]
    for s in sections:
        parts += [f"## {s.heading}", ""]
        if s.text:
            parts += [s.text.strip(), ""]
        if s.table:
            parts += [markdown_table(s.table), ""]
        parts += [f"![{Path(p).stem}]({p})\n" for p in s.plots]
    text = "\n".join(parts)
    return write_atomic(Path(out_dir) / "report.md", lambda fh: fh.write(text.encode()))


def eta_text(done: float, total: float, elapsed_s: float) -> str:
    """'12.3 min elapsed, about 4.5 min left' for a share ``done`` of ``total`` work finished
    after ``elapsed_s`` seconds (the rest at the rate so far); no estimate before any is done."""
    text = f"{elapsed_s / 60:.1f} min elapsed"
    if 0 < done < total:
        text += f", about {elapsed_s * (total - done) / done / 60:.1f} min left"
    return text
