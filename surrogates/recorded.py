"""Recorded pipeline runs shipped with the package: training data for the surrogates that no
session has to simulate again.

``recorded_data/runs_<tier>.json`` holds the runs of one ``etwin sweep`` over a fixed design
(written by ``benchmarks/recorded_runs.py``, which documents the design and the commands): the
``nmc111`` material set (the paper's electrode, the process window's ``nmc``), simulation
seed 0 at every design point, then replicates (other seeds at a few design points, which give
the surrogates their noise floor), one tier per file, the same design points at every tier
(``ci``: 48; ``fast``: the first 40 of them).  Each row has the process
inputs, ``seed``, ``fidelity``, ``materials`` (the set's name and the digest of its numbers),
``point_key`` and every metric of the run; the provenance block says which code wrote it and
when.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

RECORDED_DIR = Path(__file__).parent / "recorded_data"


def recorded_tiers() -> tuple[str, ...]:
    """The tiers with shipped runs."""
    return tuple(sorted(p.stem.removeprefix("runs_") for p in RECORDED_DIR.glob("runs_*.json")))


@cache
def _read(fidelity: str) -> dict:
    tiers = recorded_tiers()
    if fidelity not in tiers:
        raise ValueError(f"recorded runs: no shipped runs at fidelity {fidelity!r}; "
                         f"shipped: {', '.join(tiers) or 'none'}")
    return json.loads((RECORDED_DIR / f"runs_{fidelity}.json").read_text())


def recorded_runs(fidelity: str):
    """The shipped runs at ``fidelity`` as a DataFrame (one row per run, columns as
    :func:`experiments.tracking.runs_dataframe`'s)."""
    import pandas as pd

    return pd.DataFrame(_read(fidelity)["rows"])


def recorded_provenance(fidelity: str) -> dict:
    """Where the shipped runs at ``fidelity`` come from (code version, sweep, design)."""
    return dict(_read(fidelity)["provenance"])
