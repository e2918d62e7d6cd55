"""The calibration job: the Bruggeman exponent from ionic resistances or blocking spectra.

Input is one CSV, a row per measured electrode:

- ``porosity`` (0-1) and ``thickness_um``, always;
- either ``r_ion_ohm_cm2`` with ``r_ion_sd_ohm_cm2`` (or ``--relative-noise`` for all rows),
- or ``spectrum``: a CSV path (relative to the table) with ``frequency_hz`` and
  ``re_z_ohm_cm2, im_z_ohm_cm2`` (or ``re_z_ohm_m2, im_z_ohm_m2``, as ``etwin eis`` writes),
  a blocking spectrum fitted with the transmission line (:func:`physics.impedance.fit_tlm`);
  ``cell`` = ``symmetric`` (two electrodes, the default: R_ion is half the fitted line's) or
  ``single``; ``z_relative_sd`` the noise of Z (default ``--z-relative-sd``).  R_ion's
  standard deviation comes from the fit's linearized covariance;
- optionally ``conductivity_s_m`` (bulk κ of the electrolyte; default ``--conductivity-s-m``).

The posterior of α (and optionally γ and a noise scale) is computed by grid quadrature
(:mod:`optimize.calibration`); the job writes the marginals, the posterior predictive of the
MacMullin number N_M = R_ion κ / L = γ ε^(-α) against porosity, a report and an MLflow run.
"""

from __future__ import annotations

import csv
import math
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np

from optimize.calibration import (
    BRUGGEMAN_PARAMETERS,
    CREDIBLE_MASS,
    GridPosterior,
    IonicResistanceData,
    calibrate_bruggeman,
)

PREDICTIVE_DRAWS = 4000


def _float(row: dict, column: str, line: int, path: Path) -> float:
    text = (row.get(column) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}: column {column!r} must be a number, got "
                         f"{text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line}: column {column!r} must be finite, got {text!r}")
    return value


def read_spectrum(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frequency [Hz], Z [Ω m²]) from a spectrum CSV (module docstring for the columns)."""
    if not path.is_file():
        raise FileNotFoundError(f"spectrum file {path} does not exist")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no data rows (expected a header and one row per frequency)")
    cols = set(rows[0])
    if {"re_z_ohm_cm2", "im_z_ohm_cm2"} <= cols:
        re_col, im_col, scale = "re_z_ohm_cm2", "im_z_ohm_cm2", 1e-4
    elif {"re_z_ohm_m2", "im_z_ohm_m2"} <= cols:
        re_col, im_col, scale = "re_z_ohm_m2", "im_z_ohm_m2", 1.0
    else:
        raise ValueError(f"{path}: needs columns frequency_hz and re_z_ohm_cm2, im_z_ohm_cm2 "
                         f"(or re_z_ohm_m2, im_z_ohm_m2); has {sorted(cols)}")
    f = np.array([_float(r, "frequency_hz", i + 2, path) for i, r in enumerate(rows)])
    z = np.array([_float(r, re_col, i + 2, path) + 1j * _float(r, im_col, i + 2, path)
                  for i, r in enumerate(rows)]) * scale
    if np.any(f <= 0):
        raise ValueError(f"{path}: frequency_hz must be > 0")
    return f, z


def read_measurements(path: str | Path, relative_noise: float | None = None,
                      conductivity_s_m: float | None = None,
                      z_relative_sd: float = 0.01) -> tuple[IonicResistanceData, list[dict]]:
    """The calibration data from a CSV (module docstring) and one row of derived numbers per
    measurement (R_ion and its sd in Ω cm², τ_EIS, N_M, the TLM fit for spectra)."""
    from physics.impedance import fit_tlm

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"measurement table {path} does not exist")
    if relative_noise is not None and not 0 < relative_noise < 1:
        raise ValueError(f"--relative-noise must lie in (0, 1), got {relative_noise}")
    if not 0 < z_relative_sd < 1:
        raise ValueError(f"--z-relative-sd must lie in (0, 1), got {z_relative_sd}")
    if conductivity_s_m is None:
        from physics.cell import electrolyte_conductivity_s_m
        from physics.cell_params import CellParameters

        conductivity_s_m = electrolyte_conductivity_s_m(CellParameters())
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no measurements")
    cols = set(rows[0])
    for needed in ("porosity", "thickness_um"):
        if needed not in cols:
            raise ValueError(f"{path}: missing column {needed!r} (has {sorted(cols)})")
    if "r_ion_ohm_cm2" not in cols and "spectrum" not in cols:
        raise ValueError(f"{path}: needs a column 'r_ion_ohm_cm2' or 'spectrum'")
    derived = []
    for i, row in enumerate(rows):
        line = i + 2
        eps = _float(row, "porosity", line, path)
        if not 0 < eps < 1:
            raise ValueError(f"{path}, line {line}: porosity must lie in (0, 1), got {eps}")
        thickness_um = _float(row, "thickness_um", line, path)
        if not 0 < thickness_um <= 1e4:
            raise ValueError(f"{path}, line {line}: thickness_um must lie in (0, 1e4], got "
                             f"{thickness_um}")
        kappa = _float(row, "conductivity_s_m", line, path) \
            if (row.get("conductivity_s_m") or "").strip() else conductivity_s_m
        out = {"porosity": eps, "thickness_um": thickness_um, "conductivity_s_m": kappa}
        if (row.get("spectrum") or "").strip():
            f, z = read_spectrum(path.parent / row["spectrum"].strip())
            cell = (row.get("cell") or "symmetric").strip()
            if cell not in ("symmetric", "single"):
                raise ValueError(f"{path}, line {line}: cell must be 'symmetric' or 'single', "
                                 f"got {cell!r}")
            noise = _float(row, "z_relative_sd", line, path) \
                if (row.get("z_relative_sd") or "").strip() else z_relative_sd
            fit = fit_tlm(f, z)
            share = 0.5 if cell == "symmetric" else 1.0
            r_ion = share * fit.r_ion_ohm_m2 * 1e4
            sd = share * fit.r_ion_sd_ohm_m2(noise, f.size) * 1e4
            out.update({"spectrum": row["spectrum"].strip(), "cell": cell,
                        "tlm_rms_relative_residual": fit.rms_relative_residual})
        else:
            r_ion = _float(row, "r_ion_ohm_cm2", line, path)
            if (row.get("r_ion_sd_ohm_cm2") or "").strip():
                sd = _float(row, "r_ion_sd_ohm_cm2", line, path)
            elif relative_noise is not None:
                sd = relative_noise * r_ion
            else:
                raise ValueError(f"{path}, line {line}: no r_ion_sd_ohm_cm2; give the column "
                                 "or --relative-noise")
        if not (r_ion > 0 and sd > 0 and math.isfinite(sd)):
            raise ValueError(f"{path}, line {line}: R_ion and its sd must be > 0, got "
                             f"{r_ion} ± {sd} Ω cm²")
        out.update({"r_ion_ohm_cm2": r_ion, "r_ion_sd_ohm_cm2": sd,
                    "macmullin": r_ion * 1e-4 * kappa / (thickness_um * 1e-6)})
        out["tau_eis"] = out["macmullin"] * eps
        derived.append(out)
    data = IonicResistanceData(
        porosity=np.array([d["porosity"] for d in derived]),
        thickness_m=np.array([d["thickness_um"] * 1e-6 for d in derived]),
        r_ion_ohm_m2=np.array([d["r_ion_ohm_cm2"] * 1e-4 for d in derived]),
        sigma_ohm_m2=np.array([d["r_ion_sd_ohm_cm2"] * 1e-4 for d in derived]),
        conductivity_s_m=np.array([d["conductivity_s_m"] for d in derived]))
    return data, derived


def posterior_predictive(post: GridPosterior, data: IonicResistanceData,
                         porosity_grid: np.ndarray, seed: int = 0) -> dict:
    """Posterior predictive of N_M(ε) = γ ε^(-α) on a porosity grid (the curve's 2.5/50/97.5
    percentiles) and of each measurement including its noise (mean, 95 % band)."""
    draws = post.sample(PREDICTIVE_DRAWS, seed)
    alpha = draws["alpha"][:, None]
    gamma = draws.get("gamma", np.ones(PREDICTIVE_DRAWS))[:, None]
    scale = draws.get("noise_scale", np.ones(PREDICTIVE_DRAWS))[:, None]
    tail = 100 * 0.5 * (1 - CREDIBLE_MASS)
    curve = gamma * np.power(porosity_grid[None, :], -alpha)
    norm = data.conductivity_s_m / data.thickness_m  # N_M per Ω m² of R_ion
    mean_nm = gamma * np.power(data.porosity[None, :], -alpha)
    rng = np.random.default_rng(seed + 1)
    noisy = mean_nm + rng.normal(size=mean_nm.shape) * scale * data.sigma_ohm_m2 * norm
    lo, hi = np.percentile(noisy, [tail, 100 - tail], axis=0)
    return {"porosity": porosity_grid,
            "curve_percentiles": np.percentile(curve, [tail, 50, 100 - tail], axis=0),
            "measurement_mean": mean_nm.mean(axis=0), "measurement_lower": lo,
            "measurement_upper": hi}


def calibrate_tortuosity(table: str | Path, out_dir: str | Path, *, fit_gamma: bool = False,
                         fit_noise_scale: bool = False, relative_noise: float | None = None,
                         conductivity_s_m: float | None = None, z_relative_sd: float = 0.01,
                         alpha_range: tuple[float, float] = (1.0, 6.0),
                         experiment: str | None = "calibrate") -> dict:
    """Run the job: posterior, predictive, plots, report.md, CSV/JSON and one MLflow run
    (``experiment=None`` skips MLflow; a failure marks the run FAILED).  Returns the summary
    dict."""
    from experiments.tracking import job_run

    settings = {"table": str(table), "fit_gamma": fit_gamma, "fit_noise_scale": fit_noise_scale,
                "alpha_range": f"{alpha_range[0]},{alpha_range[1]}"}
    with job_run(experiment, "calibrate-tortuosity", settings) if experiment else \
            nullcontext() as mlrun:
        summary, marginals = _tortuosity(
            table, out_dir, fit_gamma, fit_noise_scale, relative_noise, conductivity_s_m,
            z_relative_sd, alpha_range)
        if mlrun is not None:
            mlrun.log_metrics({f"{n}.{k}": float(v) for n, m in marginals.items()
                                for k, v in m.summary().items() if k != "at_prior_edge"}
                               | {"measurements": summary["measurements"]})
            mlrun.log_artifacts(summary["out"])
            summary["mlflow_run_id"] = mlrun.run_id
    return summary


def _tortuosity(table, out_dir, fit_gamma, fit_noise_scale, relative_noise, conductivity_s_m,
                z_relative_sd, alpha_range) -> tuple[dict, dict]:
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import plot_joint_posterior, plot_macmullin_predictive, plot_marginals
    from experiments.report import Section, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data, rows = read_measurements(table, relative_noise, conductivity_s_m, z_relative_sd)
    priors = {"alpha": replace(BRUGGEMAN_PARAMETERS["alpha"], lower=alpha_range[0],
                               upper=alpha_range[1])}
    post = calibrate_bruggeman(data, fit_gamma, fit_noise_scale, priors)
    marginals = post.marginals()
    lo, hi = float(data.porosity.min()), float(data.porosity.max())
    pad = 0.1 * (hi - lo) + 0.01
    grid = np.linspace(max(lo - pad, 0.02), min(hi + pad, 0.98), 101)
    pred = posterior_predictive(post, data, grid)
    for k, r in enumerate(rows):
        r.update({"macmullin_predicted": float(pred["measurement_mean"][k]),
                  "macmullin_95_lower": float(pred["measurement_lower"][k]),
                  "macmullin_95_upper": float(pred["measurement_upper"][k])})
        r["inside_95_band"] = bool(r["macmullin_95_lower"] <= r["macmullin"]
                                   <= r["macmullin_95_upper"])
    summary = {"job": "calibrate", "target": "tortuosity", "model": "tau = gamma * eps^(1 - alpha)",
               "measurements": len(rows), "table": str(table),
               "parameters": {name: m.summary() for name, m in marginals.items()},
               "fixed": {k: 1.0 for k in ("gamma", "noise_scale") if k not in marginals},
               "priors": {p.name: {"lower": p.lower, "upper": p.upper,
                                   "scale": "log" if p.log else "linear", "points": p.points}
                          for p in post.parameters},
               "log_evidence": post.log_evidence,
               "measurements_inside_95_band": int(sum(r["inside_95_band"] for r in rows))}
    write_csv_atomic(out / "measurements.csv", rows)
    write_csv_atomic(out / "posterior_marginals.csv", [
        {"parameter": m.name, "value": float(x), "density": float(d)}
        for m in marginals.values() for x, d in zip(m.grid, m.density, strict=True)])
    write_csv_atomic(out / "posterior_predictive.csv", [
        {"porosity": float(e), "macmullin_2.5": float(a), "macmullin_50": float(b),
         "macmullin_97.5": float(c)}
        for e, a, b, c in zip(grid, *pred["curve_percentiles"], strict=True)])
    plots = [plot_marginals(marginals, out / "posterior.png").name,
             plot_macmullin_predictive(rows, pred, out / "posterior_predictive.png").name]
    if len(post.parameters) >= 2:
        plots.append(plot_joint_posterior(post, out / "posterior_joint.png").name)
    a = marginals["alpha"]
    text = (f"Bruggeman exponent α = {a.mean:.3f} ± {a.sd:.3f} (posterior mean ± sd), "
            f"95 % credible interval [{a.lower:.3f}, {a.upper:.3f}], from {len(rows)} "
            f"measurements; τ = γ ε^(1-α) with "
            + (f"γ = {marginals['gamma'].mean:.3f} [{marginals['gamma'].lower:.3f}, "
               f"{marginals['gamma'].upper:.3f}]" if "gamma" in marginals else "γ = 1 fixed")
            + f".  {summary['measurements_inside_95_band']} of {len(rows)} measurements lie "
            "inside their 95 % posterior-predictive band.")
    if any(m.at_prior_edge for m in marginals.values()):
        text += ("\n\n**Warning:** a credible interval touches its prior bound "
                 f"({', '.join(n for n, m in marginals.items() if m.at_prior_edge)}); "
                 "widen the prior range.")
    write_report(out, "Tortuosity calibration", [
        Section("Result", text, table=[{"parameter": n, **m.summary()}
                                       for n, m in marginals.items()], plots=plots),
        Section("Measurements", "R_ion per electrode, its standard deviation, "
                "τ_EIS = R_ion κ ε / L, N_M = R_ion κ / L and the posterior-predictive band.",
                table=rows)])
    write_json_atomic(out / "summary.json", summary)
    summary["out"] = str(out)
    return summary, marginals
