"""Result files written atomically (a crash leaves the old file or none, never a partial one)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from physics.state import write_atomic


def json_safe(value):
    """Non-finite floats become null (strict JSON has no NaN or Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: str | Path, data) -> Path:
    text = json.dumps(json_safe(data), indent=1)
    return write_atomic(path, lambda fh: fh.write(text.encode()))


def csv_text(rows: list[dict]) -> str:
    """CSV of dict rows, the columns in order of first appearance."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv_atomic(path: str | Path, rows: list[dict]) -> Path:
    text = csv_text(rows)
    return write_atomic(path, lambda fh: fh.write(text.encode()))
