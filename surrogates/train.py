"""Fit the surrogates of several outputs with their validation report (``etwin train``)."""

from __future__ import annotations

from dataclasses import dataclass

from surrogates.dataset import Dataset, point_groups, replicate_floor, replicate_noise
from surrogates.features import check_features
from surrogates.gp import GPSurrogate, SurrogateSet
from surrogates.validation import NOISE_MODEL, cross_validate, select_features


@dataclass(frozen=True)
class Training:
    """Fitted models, the report (per output: features, scores, feature comparison) and the
    held-out predictions behind it (for parity plots)."""

    models: SurrogateSet
    report: dict
    cross_validation: dict


def train_surrogates(data: Dataset, outputs, features="auto", folds: int = 5,
                     seed: int = 0, progress=None) -> Training:
    """Per output: choose the features (``"auto"``: :func:`select_features` on all rows; a
    list: those; ``()``: none), cross-validate the GP and the sklearn baseline (with
    ``"auto"`` nested: each fold chooses its features on its own training rows), then fit the
    GP on all rows (noise: :data:`surrogates.validation.NOISE_MODEL`, at or above the floor
    from the replicates' pooled sd, :func:`~surrogates.dataset.replicate_floor`).
    Failed fold fits and a low coverage are reported through ``progress``
    and in the report's ``warnings``."""
    note = progress or (lambda message: None)
    if features != "auto":
        features = check_features(features, data.input_names)
    models, report, cvs = {}, {}, {}
    for output in outputs:
        x, y = data.rows(output)
        if y.size < max(folds, 3):
            raise ValueError(f"output {output!r} has {y.size} finite values; need at least "
                             f"max(folds, 3) = {max(folds, 3)}")
        comparison = None
        chosen = features
        if features == "auto":
            note(f"{output}: comparing feature sets by {folds}-fold RMSE")
            chosen, comparison = select_features(data, output, folds, seed)
        note(f"{output}: cross-validating with features "
             f"{'chosen per fold' if features == 'auto' else list(chosen) or 'none'}")
        cv = cross_validate(data, output, "auto" if features == "auto" else chosen, folds, seed)
        for warning in cv["warnings"]:
            note(f"warning: {warning}")
        noise_sd, noise_dof = replicate_noise(x, y)
        model = GPSurrogate(output, data.input_names, tuple(chosen),
                            noise_floor_sd=replicate_floor(x, y),
                            noise_model=NOISE_MODEL).fit(x, y)
        models[output] = model
        cvs[output] = cv
        report[output] = {"n": int(y.size), "points": int(point_groups(x).max() + 1),
                          "replicate_noise_sd": noise_sd,
                          "replicate_noise_dof": noise_dof,
                          "noise_floor_sd": model.noise_floor_sd, "noise_model": NOISE_MODEL,
                          "features": list(chosen),
                          "feature_rmse": comparison, "fold_features": cv["fold_features"],
                          **cv["scores"], "coverage_curve": cv["coverage_curve"],
                          "warnings": cv["warnings"], "fit_note": model.fit_note}
    return Training(SurrogateSet(models), {"inputs": list(data.input_names), "folds": folds,
                                           "seed": seed, "outputs": report}, cvs)
