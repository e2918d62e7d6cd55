"""k-fold cross-validation of the surrogates, a scikit-learn baseline, feature selection.

For each output, the rows are split into k folds (shuffled with a seed); each fold is predicted
by a model fitted on the others.  Scores over all held-out predictions:
- R² = 1 - Σ(y - μ)² / Σ(y - ȳ)²,
- RMSE = sqrt(mean((y - μ)²)),
- coverage of the 90 % predictive interval: the fraction of held-out values within
  μ ± 1.645 σ (σ of a new observation); a calibrated model gives ≈ 0.9.

The baseline is scikit-learn's ``GaussianProcessRegressor`` on the same inputs (scaled to the
unit cube over the training range, output standardized): constant × Matérn-5/2 with one length
scale per input + white noise, 5 optimizer restarts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from surrogates.dataset import Dataset
from surrogates.features import applicable, model_inputs
from surrogates.gp import GPSurrogate

Z90 = 1.6448536269514722  # two-sided 90 % normal quantile


@dataclass(frozen=True)
class Scores:
    r2: float
    rmse: float
    coverage90: float
    n: int


def scores(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Scores:
    resid = y - mean
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    return Scores(r2, float(np.sqrt(np.mean(resid ** 2))),
                  float(np.mean(np.abs(resid) <= Z90 * std)), int(y.size))


def fold_indices(n: int, k: int, seed: int) -> list[np.ndarray]:
    if not 2 <= k <= n:
        raise ValueError(f"folds must lie in [2, n = {n}], got {k}")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(f) for f in np.array_split(order, k)]


def sklearn_predict(x_train, y_train, x_test, seed: int = 0):
    """The baseline: (mean, std of a new observation)."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    lo, hi = x_train.min(0), x_train.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    d = x_train.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=2.5) \
        + WhiteKernel(1e-2, (1e-8, 1.0))
    gpr = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=5,
                                   random_state=seed)
    import warnings

    from surrogates.gp import single_threaded

    with warnings.catch_warnings(), single_threaded():
        warnings.simplefilter("ignore")  # convergence warnings at the bounds
        gpr.fit((x_train - lo) / span, y_train)
        mean, std = gpr.predict((x_test - lo) / span, return_std=True)
    return mean, std


def cross_validate(data: Dataset, output: str, features=(), folds: int = 5, seed: int = 0,
                   baseline: bool = True) -> dict:
    """Held-out predictions and scores of the GP (and the sklearn baseline) for ``output``."""
    x, y = data.rows(output)
    pred = {"gp": (np.empty_like(y), np.empty_like(y))}
    if baseline:
        pred["sklearn"] = (np.empty_like(y), np.empty_like(y))
    for test in fold_indices(y.size, folds, seed):
        train = np.setdiff1d(np.arange(y.size), test)
        gp = GPSurrogate(output, data.input_names, tuple(features)).fit(x[train], y[train])
        m, s = gp.predict(x[test])
        pred["gp"][0][test], pred["gp"][1][test] = m, s
        if baseline:
            xm = model_inputs(x, data.input_names, features)
            m, s = sklearn_predict(xm[train], y[train], xm[test], seed)
            pred["sklearn"][0][test], pred["sklearn"][1][test] = m, s
    return {"output": output, "features": list(features), "y": y,
            "predictions": pred, "scores": {k: asdict(scores(y, *v)) for k, v in pred.items()}}


def select_features(data: Dataset, output: str, folds: int = 5, seed: int = 0,
                    min_gain: float = 0.05) -> tuple[tuple[str, ...], dict]:
    """Try no feature, each applicable feature, and all of them; keep a feature set only if
    its cross-validated GP RMSE is at least ``min_gain`` (relative) below the plain inputs'.
    Returns (chosen features, {feature set: RMSE})."""
    candidates = [()]
    extra = applicable(data.input_names)
    candidates += [(f,) for f in extra]
    if len(extra) > 1:
        candidates.append(extra)
    rmse = {}
    for features in candidates:
        cv = cross_validate(data, output, features, folds, seed, baseline=False)
        rmse[",".join(features) or "none"] = cv["scores"]["gp"]["rmse"]
    plain = rmse["none"]
    best = min(candidates, key=lambda f: rmse[",".join(f) or "none"])
    if best and rmse[",".join(best)] <= (1.0 - min_gain) * plain:
        return best, rmse
    return (), rmse
