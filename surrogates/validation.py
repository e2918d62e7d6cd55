"""k-fold cross-validation of the surrogates, a scikit-learn baseline, feature selection.

For each output, the rows are split into k folds (scikit-learn's ``KFold``, shuffled with a
seed; ``GroupKFold`` when some points repeat with other seeds, so that a point's replicates
are held out together); each fold is predicted by a model fitted on the others, with the noise
floor measured from the replicates among its training rows
(:func:`surrogates.dataset.noise_floor`) and the noise model of the trained surrogates
(:data:`NOISE_MODEL`).  Scores over all held-out
predictions:
- R² = 1 - Σ(y - μ)² / Σ(y - ȳ)²,
- RMSE = sqrt(mean((y - μ)²)),
- coverage of the 90 % predictive interval: the fraction of held-out values within
  μ ± 1.645 σ (σ of a new observation); a calibrated model gives ≈ 0.9, and the coverage at
  every nominal level (:data:`NOMINAL_LEVELS`) gives the calibration curve.

Features chosen from the data are chosen by nested cross-validation: with ``features="auto"``
each outer fold selects its features (:func:`select_features`) on its own training rows by an
inner k-fold, so the held-out scores do not reuse the rows that chose the features.  A fold
whose GP fit fell back from L-BFGS-B, or a 90 % coverage below :data:`COVERAGE_WARNING`,
comes back as a warning in the result.

The baseline is scikit-learn's ``GaussianProcessRegressor`` on the same inputs (scaled to the
unit cube over the training range, output standardized): constant × Matérn-5/2 with one length
scale per input + white noise, 5 optimizer restarts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from surrogates.dataset import Dataset, point_groups, replicate_floor
from surrogates.features import applicable, model_inputs
from surrogates.gp import GPSurrogate

Z90 = 1.6448536269514722  # two-sided 90 % normal quantile
#: nominal levels of the calibration curve (coverage of the central predictive interval)
NOMINAL_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: a 90 % coverage below this is reported as a warning
COVERAGE_WARNING = 0.7
#: inner folds of the nested feature selection (at most the outer count)
INNER_FOLDS = 3
#: the trained surrogates' noise (surrogates.gp).  On the 44 recorded ``fast`` runs (features
#: fixed, three 5-fold shuffles, the floor of :func:`surrogates.dataset.noise_floor`) against
#: one constant noise: porosity R² 0.73-0.75 (0.55-0.69), 1C capacity 0.90-0.94 (0.85-0.91)
#: with 90 % coverage 0.86-0.89 (0.73-0.82); tau_z the same (0.61-0.63)
NOISE_MODEL = "log-linear"


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


def fold_indices(n: int, k: int, seed: int, groups: np.ndarray | None = None
                 ) -> list[np.ndarray]:
    """Held-out row indices of each of ``k`` shuffled folds (scikit-learn ``KFold``; with
    ``groups`` that repeat, ``GroupKFold``: the rows of a group stay in one fold)."""
    from sklearn.model_selection import GroupKFold, KFold

    n_points = n if groups is None else len(np.unique(groups))
    if not 2 <= k <= n_points:
        raise ValueError(f"folds must lie in [2, {n_points} distinct points], got {k}")
    if n_points == n:
        return [test for _, test in KFold(k, shuffle=True, random_state=seed).split(
            np.zeros(n))]
    splitter = GroupKFold(k, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(n), groups=groups)]


def coverage_curve(y: np.ndarray, mean: np.ndarray, std: np.ndarray,
                   levels=NOMINAL_LEVELS) -> list[tuple[float, float]]:
    """[(nominal level, observed coverage of the central interval at that level)]."""
    from scipy.stats import norm

    resid = np.abs(np.asarray(y) - np.asarray(mean))
    return [(float(p), float(np.mean(resid <= norm.ppf(0.5 + 0.5 * p) * np.asarray(std))))
            for p in levels]


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


def _held_out(x: np.ndarray, y: np.ndarray, input_names, output: str, features, folds: int,
              seed: int, baseline: bool) -> dict:
    """Held-out predictions of the GP (and the baseline) on the arrays ``x``, ``y``;
    ``features="auto"`` selects them per outer fold on its training rows."""
    pred = {"gp": (np.empty_like(y), np.empty_like(y))}
    if baseline:
        pred["sklearn"] = (np.empty_like(y), np.empty_like(y))
    fold_features, warnings = [], []
    groups = point_groups(x)
    for k, test in enumerate(fold_indices(y.size, folds, seed, groups)):
        train = np.setdiff1d(np.arange(y.size), test)
        chosen = tuple(features) if features != "auto" else _select(
            x[train], y[train], input_names, output,
            min(INNER_FOLDS, folds, len(np.unique(groups[train]))), seed)[0]
        fold_features.append(list(chosen))
        floor = replicate_floor(x[train], y[train])
        gp = GPSurrogate(output, input_names, chosen, noise_floor_sd=floor,
                         noise_model=NOISE_MODEL).fit(x[train], y[train])
        if gp.fit_note:
            warnings.append(f"{output}: fold {k + 1} of {folds}: {gp.fit_note}")
        m, s = gp.predict(x[test])
        pred["gp"][0][test], pred["gp"][1][test] = m, s
        if baseline:
            xm = model_inputs(x, input_names, chosen)
            m, s = sklearn_predict(xm[train], y[train], xm[test], seed)
            pred["sklearn"][0][test], pred["sklearn"][1][test] = m, s
    return {"predictions": pred, "fold_features": fold_features, "warnings": warnings}


def cross_validate(data: Dataset, output: str, features=(), folds: int = 5, seed: int = 0,
                   baseline: bool = True) -> dict:
    """Held-out predictions, scores and calibration curve of the GP (and the sklearn
    baseline) for ``output``.  ``features``: names, or ``"auto"`` for nested selection (module
    docstring).  ``warnings`` lists failed fold fits and a 90 % coverage below
    :data:`COVERAGE_WARNING`."""
    x, y = data.rows(output)
    held = _held_out(x, y, data.input_names, output, features, folds, seed, baseline)
    pred = held["predictions"]
    result = {"output": output, "features": features if features == "auto" else list(features),
              "fold_features": held["fold_features"], "y": y, "predictions": pred,
              "scores": {k: asdict(scores(y, *v)) for k, v in pred.items()},
              "coverage_curve": coverage_curve(y, *pred["gp"]), "warnings": held["warnings"]}
    coverage = result["scores"]["gp"]["coverage90"]
    if coverage < COVERAGE_WARNING:
        result["warnings"].append(
            f"{output}: 90 % intervals cover {coverage:.2f} of the held-out values (< "
            f"{COVERAGE_WARNING:g}): the GP is overconfident on {y.size} rows")
    return result


def _select(x: np.ndarray, y: np.ndarray, input_names, output: str, folds: int, seed: int,
            min_gain: float = 0.05) -> tuple[tuple[str, ...], dict]:
    candidates = [()]
    extra = applicable(input_names)
    candidates += [(f,) for f in extra]
    if len(extra) > 1:
        candidates.append(extra)
    rmse = {}
    for features in candidates:
        pred = _held_out(x, y, input_names, output, features, folds, seed,
                         baseline=False)["predictions"]["gp"]
        rmse[",".join(features) or "none"] = scores(y, *pred).rmse
    def key(f):
        return ",".join(f) or "none"

    # the smallest set that earns its keep: a larger one must beat the chosen one by min_gain
    best: tuple[str, ...] = ()
    for size in range(1, len(extra) + 1):
        top = min((f for f in candidates if len(f) == size), key=lambda f: rmse[key(f)])
        if rmse[key(top)] <= (1.0 - min_gain) * rmse[key(best)]:
            best = top
    return best, rmse


def select_features(data: Dataset, output: str, folds: int = 5, seed: int = 0,
                    min_gain: float = 0.05) -> tuple[tuple[str, ...], dict]:
    """Try no feature, each applicable feature, and all of them; a feature set is kept only
    if its cross-validated GP RMSE is at least ``min_gain`` (relative) below that of the
    smaller set chosen before it (no feature, then the best single one).
    Returns (chosen features, {feature set: RMSE}).  Its RMSEs are scored on the rows that
    chose: report :func:`cross_validate` with ``features="auto"`` instead."""
    x, y = data.rows(output)
    return _select(x, y, data.input_names, output, folds, seed, min_gain)
