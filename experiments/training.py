"""The surrogate-training job (``etwin train``, step 2 of ``etwin demo``): GP surrogates of
simulated outputs with their cross-validation report, parity plots and one MLflow run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd


def run_training(frame: pd.DataFrame, out_dir: str | Path, *,
                 outputs: Sequence[str] | None = None, features="auto", folds: int = 5,
                 seed: int = 0, experiment: str | None = None, source: str = "",
                 fidelity: str = "all", log: Callable[[str], None] | None = None) -> dict:
    """Fit one GP per output on the rows of ``frame`` (process inputs plus outputs, e.g.
    :func:`experiments.tracking.runs_dataframe`), write ``surrogates.pt``, ``report.json``,
    ``report.csv``, ``parity_<output>.png`` and ``calibration_<output>.png`` (held-out coverage
    against the nominal level) under ``out_dir`` and, with ``experiment``,
    log one MLflow run.  ``features``: ``"auto"`` (chosen by cross-validated RMSE), ``()``
    or feature names.  Returns the summary (rows, columns, per-output report)."""
    from experiments.files import write_csv_atomic, write_json_atomic
    from experiments.plots import plot_coverage, plot_parity
    from physics.pipeline import SURROGATE_OUTPUTS
    from surrogates.dataset import Dataset
    from surrogates.train import train_surrogates

    if not 2 <= folds <= 50:
        raise ValueError(f"folds must lie in [2, 50], got {folds}")
    outputs = list(outputs) if outputs else [o for o in SURROGATE_OUTPUTS if o in frame]
    data = Dataset.from_frame(frame, outputs)
    training = train_surrogates(data, outputs, features, folds, seed, progress=log)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    training.models.save(out / "surrogates.pt")
    write_json_atomic(out / "report.json", training.report)
    rows = []
    for output, rep in training.report["outputs"].items():
        for model in ("gp", "sklearn"):
            rows.append({"output": output, "model": model, "features": "+".join(
                rep["features"]) or "none", **rep[model], "points": rep["points"],
                "replicate_noise_sd": rep["replicate_noise_sd"],
                "replicate_noise_dof": rep["replicate_noise_dof"],
                "noise_floor_sd": rep["noise_floor_sd"]})
        cv = training.cross_validation[output]
        plot_parity(output, cv["y"], {"BoTorch GP": cv["predictions"]["gp"],
                                      "sklearn GP": cv["predictions"]["sklearn"]},
                    out / f"parity_{output}.png",
                    title=f"{output}\nBoTorch GP: R² {rep['gp']['r2']:.3f}, 90 % coverage "
                          f"{rep['gp']['coverage90']:.2f}")
        plot_coverage(output, rep["coverage_curve"], out / f"calibration_{output}.png")
    write_csv_atomic(out / "report.csv", rows)
    summary = {"n_rows": data.n, "inputs": list(data.input_names), "out": str(out),
               "rows": rows, "report": training.report["outputs"]}
    if experiment:
        from experiments.tracking import log_training

        summary["run_id"] = log_training(experiment, training.report, out,
                                         {"source": source, "fidelity": fidelity})
    return summary
