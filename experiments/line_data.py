"""Inputs of the line-scale jobs (``etwin target-porosity``): compaction curves, the elastic
spring-back, the solid-content -> dried-porosity relation, batch files and the incoming
films' distributions.

Shipped data (``physics/line_data/``, each file with its provenance):
- ``fast_calibrated_curve_s0.json``, ``fast_calibrated_curve_s1.json`` (the default curves, a
  seed ensemble): ``etwin calender --preset nmc111-fast6 --protocol paper`` of the paper
  electrode's ``fast`` films seed 0 and 1 (the six-parameter law calibrated on its measured
  curve and indentation on the ``fast`` films, shipped as ``nmc111-calibrated`` when the
  curves were written; docs/validation/calendering.md), 0.5-156 MPa: pressure, porosity after
  spring-back, thickness, spring-back; pressure 0 is the relaxed dried film
  (benchmarks/line_curve.py);
- ``fast_calendering_curve.json``: the recorded ``fast`` DEM curve of the same electrode with
  Table 2's law (benchmarks/data/fast_calendering_transport.json: pressure, porosity after
  spring-back, thickness; pressure 0 is the dried film), which compacts at about 0.5 MPa
  where the measured electrode needs about 6;
- ``springback_paper_ci.json``: spring-back against pressure, mean of 3 ``ci`` films with the
  paper's contact law and press protocol (benchmarks/data/protocols_ci.json);
- ``recipe_box_dried_porosity.json``: dried porosity of DEM-dried films over the recipe box
  (benchmarks/data/recipe_box.json).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from experiments.variability import Distribution
from physics.compaction import CompactionFit, fit_compaction_law

LINE_DATA = Path(__file__).resolve().parents[1] / "physics" / "line_data"
#: the default compaction curves: the calibrated law on two fast films (module docstring)
DEFAULT_CURVES = (LINE_DATA / "fast_calibrated_curve_s0.json",
                  LINE_DATA / "fast_calibrated_curve_s1.json")
TABLE2_CURVE = LINE_DATA / "fast_calendering_curve.json"
SPRINGBACK_TABLE = LINE_DATA / "springback_paper_ci.json"
RECIPE_BOX = LINE_DATA / "recipe_box_dried_porosity.json"
SOLID_CONTENT_RANGE = (0.5, 0.8)  # the recipe box's
AM_FRACTION_RANGE = (0.8, 0.98)


class IncomingDistribution(Distribution):
    """One varied property of the incoming film (``--vary NAME=KIND:A,B``)."""

    variables: ClassVar[dict] = {"dried_porosity": ((0.05, 0.95), "-"),
                                 "solid_content": (SOLID_CONTENT_RANGE, "-"),
                                 "dried_thickness_um": ((1.0, 5000.0), "µm")}
    example: ClassVar[str] = "dried_porosity=normal:0.42,0.01"


# ---------------------------------------------------------------------------- inputs
@dataclass(frozen=True, eq=False)
class CompactionCurve:
    """A porosity-pressure curve: loaded points (pressure > 0), the dried film, optional
    per-point sd and spring-back [%]."""

    source: str
    pressure_mpa: np.ndarray
    porosity: np.ndarray
    porosity_initial: float
    thickness_initial_um: float | None = None
    porosity_sd: np.ndarray | None = None
    springback_percent: np.ndarray | None = None


def _number(text, field: str, where: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {field} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {field} must be finite, got {text!r}")
    return value


def _optional(row: dict, field: str, where: str) -> float | None:
    text = row.get(field)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    return _number(text, field, where)


def _curve_rows(path: Path) -> tuple[list[dict], dict]:
    """Rows of a curve file and the dried film of an ``etwin calender`` folder's metrics."""
    if path.is_dir():
        path = path / "curve.csv"
    if not path.is_file():
        raise FileNotFoundError(f"--curve {path} does not exist")
    dried: dict = {}
    metrics = path.parent / "metrics.json"
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        if metrics.is_file():
            try:
                m = json.loads(metrics.read_text())
                dried = {"porosity": m["porosity_uncalendered"],
                         "thickness_um": m.get("thickness_uncalendered_um")}
            except (OSError, json.JSONDecodeError, KeyError, TypeError):
                dried = {}
    else:
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"--curve {path}: not a readable JSON curve ({err})") from None
        rows = data.get("rows") if isinstance(data, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"--curve {path}: expected a JSON object with 'rows', a list of "
                             "{pressure_mpa, porosity[, thickness_um]} objects")
    if not rows:
        raise ValueError(f"--curve {path}: empty: expected rows with pressure_mpa (or "
                         "pressure_max_mpa) and porosity")
    return rows, dried


def read_curve(path: str | Path) -> CompactionCurve:
    """One curve: an ``etwin calender`` output folder (curve.csv with metrics.json for the
    dried film), a CSV (``pressure_mpa`` or ``pressure_max_mpa``, ``porosity`` [,
    ``porosity_sd``, ``springback_percent``, ``thickness_um``]; a pressure-0 row is the dried
    film) or a JSON object whose ``rows`` have those keys (``column_thickness_um`` is read as
    ``thickness_um``)."""
    path = Path(path)
    rows, dried = _curve_rows(path)
    keys = set(rows[0])
    pressure_key = next((k for k in ("pressure_max_mpa", "pressure_mpa") if k in keys), None)
    if pressure_key is None or "porosity" not in keys:
        raise ValueError(f"--curve {path}: missing column "
                         f"{'porosity' if pressure_key else 'pressure_mpa'!r}; has "
                         f"{sorted(keys)} (expected pressure_mpa or pressure_max_mpa, porosity)")
    p, e, sd, sb, h = [], [], [], [], []
    for i, row in enumerate(rows):
        where = f"--curve {path}, row {i + 1}"
        p.append(_number(row.get(pressure_key), pressure_key, where))
        e.append(_number(row.get("porosity"), "porosity", where))
        if not 0.0 <= p[-1] <= 500.0:
            raise ValueError(f"{where}: {pressure_key} must lie in [0, 500] MPa, got {p[-1]}")
        if not 0.0 < e[-1] < 1.0:
            raise ValueError(f"{where}: porosity must be a fraction in (0, 1), got {e[-1]}")
        sd.append(_optional(row, "porosity_sd", where))
        sb.append(_optional(row, "springback_percent", where))
        h.append(_optional(row, "thickness_um", where)
                 or _optional(row, "column_thickness_um", where))
        if sd[-1] is not None and not sd[-1] > 0:
            raise ValueError(f"{where}: porosity_sd must be > 0, got {sd[-1]}")
        if sb[-1] is not None and not 0.0 <= sb[-1] < 100.0:
            raise ValueError(f"{where}: springback_percent must lie in [0, 100), got {sb[-1]}")
    p_arr, e_arr = np.array(p), np.array(e)
    zero = p_arr == 0
    if zero.any():
        e0 = float(e_arr[zero].mean())
        h0 = next((h[k] for k in np.flatnonzero(zero) if h[k] is not None), None)
    elif "porosity" in dried:
        e0, h0 = float(dried["porosity"]), dried.get("thickness_um")
    else:
        raise ValueError(f"--curve {path}: no dried film: give a pressure 0 row or the "
                         "etwin calender folder (its metrics.json holds the dried porosity)")
    loaded = ~zero
    if np.count_nonzero(loaded) < 3:
        raise ValueError(f"--curve {path}: needs at least 3 pressures > 0, got "
                         f"{np.count_nonzero(loaded)}")
    if not np.any(e_arr[loaded] < e0):
        raise ValueError(f"--curve {path}: no point is denser than the dried film "
                         f"(porosity {e0:.4f})")
    idx = np.flatnonzero(loaded)

    def column(values):
        if any(values[k] is None for k in idx):
            return None
        return np.array([values[k] for k in idx], dtype=float)

    return CompactionCurve(str(path), p_arr[loaded], e_arr[loaded], e0,
                           None if h0 is None else float(h0), column(sd), column(sb))


def fit_curves(curves: Sequence[CompactionCurve], exponential: bool = False) -> CompactionFit:
    """The law fitted to all curves at once, each point with its own film's ε0 (a seed
    ensemble); weighted by ``porosity_sd`` where every curve has it."""
    p = np.concatenate([c.pressure_mpa for c in curves])
    e = np.concatenate([c.porosity for c in curves])
    e0 = np.concatenate([np.full(c.pressure_mpa.size, c.porosity_initial) for c in curves])
    sd = None
    if all(c.porosity_sd is not None for c in curves):
        sd = np.concatenate([c.porosity_sd for c in curves])
    try:
        return fit_compaction_law(p, e, sd=sd, porosity_initial=e0, exponential=exponential)
    except ValueError as err:
        raise ValueError(f"--curve: {err}") from None


@dataclass(frozen=True, eq=False)
class SpringBack:
    """Elastic spring-back s(p) = (h_recovered - h_loaded) / h_loaded [%] and its sd between
    films, interpolated linearly in log p between its points and held at its ends (0 at
    p = 0)."""

    pressure_mpa: np.ndarray
    percent: np.ndarray
    sd_percent: np.ndarray
    source: str

    def _at(self, values: np.ndarray, pressure_mpa):
        p = np.asarray(pressure_mpa, dtype=float)
        value = np.interp(np.log(np.maximum(p, 1e-12)), np.log(self.pressure_mpa), values)
        out = np.where(p > 0, value, 0.0)
        return float(out) if out.ndim == 0 else out

    def percent_at(self, pressure_mpa):
        return self._at(self.percent, pressure_mpa)

    def sd_at(self, pressure_mpa):
        return self._at(self.sd_percent, pressure_mpa)

    @classmethod
    def constant(cls, percent: float) -> SpringBack:
        if not (math.isfinite(percent) and 0.0 <= percent < 100.0):
            raise ValueError(f"springback_percent must lie in [0, 100), got {percent}")
        return cls(np.array([1.0]), np.array([float(percent)]), np.zeros(1),
                   f"--springback-percent {percent:g}")

    @classmethod
    def from_points(cls, pressure_mpa, percent, source: str, sd_percent=None) -> SpringBack:
        """Mean and sd per pressure, pressures within 5 % of each other pooled (the seeds of
        an ensemble report slightly different maximum pressures); ``sd_percent``: the
        points' own sd where they are means already."""
        p = np.asarray(pressure_mpa, dtype=float)
        s = np.asarray(percent, dtype=float)
        own = np.zeros_like(s) if sd_percent is None else np.asarray(sd_percent, dtype=float)
        order = np.argsort(p)
        p, s, own = p[order], s[order], own[order]
        groups = np.concatenate([[0], np.cumsum(np.diff(np.log(p)) > math.log(1.05))])
        keys = np.unique(groups)
        mean = np.array([s[groups == g].mean() for g in keys])
        sd = np.array([max(float(s[groups == g].std(ddof=1)) if np.sum(groups == g) > 1
                           else 0.0, float(own[groups == g].max())) for g in keys])
        return cls(np.array([np.exp(np.log(p[groups == g]).mean()) for g in keys]), mean, sd,
                   source)


def springback_for(curves: Sequence[CompactionCurve], percent: float | None) -> SpringBack:
    """``--springback-percent`` if given, else the curves' column, else the shipped table."""
    if percent is not None:
        return SpringBack.constant(percent)
    if all(c.springback_percent is not None for c in curves):
        return SpringBack.from_points(
            np.concatenate([c.pressure_mpa for c in curves]),
            np.concatenate([c.springback_percent for c in curves]),
            "the curve's springback_percent column")
    rows = json.loads(SPRINGBACK_TABLE.read_text())["rows"]
    return SpringBack.from_points([r["pressure_mpa"] for r in rows],
                                  [r["springback_percent"] for r in rows],
                                  f"DEM table {SPRINGBACK_TABLE.name} (ci, paper protocol, "
                                  "3 films; held at its 2 MPa value below 2 MPa)",
                                  [r["springback_percent_sd"] for r in rows])


@dataclass(frozen=True)
class DriedPorosityRelation:
    """ε0(φ) = ε0_nom + S (φ - φ_nom): the dried porosity of a film coated from a slurry of
    solid content φ (module docstring)."""

    solid_content_nominal: float
    porosity_nominal: float
    slope: float
    slope_sd: float
    source: str

    def porosity(self, solid_content):
        return self.porosity_nominal + self.slope * (np.asarray(solid_content, dtype=float)
                                                     - self.solid_content_nominal)

    @classmethod
    def from_recipe_box(cls, am_mass_fraction: float, solid_content_nominal: float,
                        porosity_nominal: float) -> DriedPorosityRelation:
        """S = ∂ε0/∂φ at ``am_mass_fraction`` of the bilinear fit over the shipped box."""
        lo, hi = AM_FRACTION_RANGE
        if not lo <= am_mass_fraction <= hi:
            raise ValueError(f"am_mass_fraction {am_mass_fraction}: allowed range [{lo}, {hi}], "
                             "the recipe box the solid-content relation is fitted on")
        rows = json.loads(RECIPE_BOX.read_text())["rows"]
        w = np.array([r["am_mass_fraction"] for r in rows])
        phi = np.array([r["solid_content"] for r in rows])
        y = np.array([r["porosity_dried"] for r in rows])
        a = np.column_stack([np.ones_like(w), w, phi, w * phi])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        resid = y - a @ coef
        cov = resid @ resid / (len(y) - a.shape[1]) * np.linalg.inv(a.T @ a)
        g = np.array([0.0, 0.0, 1.0, am_mass_fraction])
        return cls(solid_content_nominal, porosity_nominal, float(g @ coef),
                   float(math.sqrt(g @ cov @ g)),
                   f"bilinear fit of the DEM recipe box ({len(y)} dried films, "
                   f"{RECIPE_BOX.name}) at AM {am_mass_fraction:g}")


@dataclass(frozen=True)
class Batch:
    """One row of ``--batches``: a batch label or web position [m] and what was measured."""

    label: str
    position_m: float | None = None
    dried_porosity: float | None = None
    dried_thickness_um: float | None = None
    solid_content: float | None = None


def read_batches(path: str | Path) -> list[Batch]:
    """Rows of a CSV with ``batch`` or ``position_m`` and any of ``dried_porosity``,
    ``dried_thickness_um``, ``solid_content`` (an empty cell: not measured).  Every row needs
    a dried porosity or a solid content."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--batches {path} does not exist")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        names = set(reader.fieldnames or ())
        rows = list(reader)
    if not names & {"batch", "position_m"}:
        raise ValueError(f"--batches {path}: missing column 'batch' or 'position_m' (has "
                         f"{sorted(names)})")
    if not names & {"dried_porosity", "solid_content"}:
        raise ValueError(f"--batches {path}: missing column 'dried_porosity' or "
                         f"'solid_content': the feed-forward needs one (has {sorted(names)})")
    if not rows:
        raise ValueError(f"--batches {path}: empty: no data rows")
    out = []
    for line, row in enumerate(rows, start=2):
        where = f"--batches {path}, line {line}"
        pos = _optional(row, "position_m", where)
        label = (row.get("batch") or "").strip() or (f"{pos:g} m" if pos is not None
                                                     else f"line {line}")
        eps = _optional(row, "dried_porosity", where)
        h0 = _optional(row, "dried_thickness_um", where)
        phi = _optional(row, "solid_content", where)
        if pos is not None and pos < 0:
            raise ValueError(f"{where}: position_m must be >= 0, got {pos}")
        if eps is not None and not 0.0 < eps < 1.0:
            raise ValueError(f"{where}: dried_porosity must be a fraction in (0, 1), got {eps}")
        if h0 is not None and not 0.0 < h0 <= 5000.0:
            raise ValueError(f"{where}: dried_thickness_um must lie in (0, 5000], got {h0}")
        lo, hi = SOLID_CONTENT_RANGE
        if phi is not None and not lo <= phi <= hi:
            raise ValueError(f"{where}: solid_content must lie in [{lo}, {hi}] (the recipe "
                             f"box of the solid-content relation), got {phi}")
        if eps is None and phi is None:
            raise ValueError(f"{where}: neither dried_porosity nor solid_content is given: "
                             "the feed-forward needs one")
        out.append(Batch(label, pos, eps, h0, phi))
    return out
