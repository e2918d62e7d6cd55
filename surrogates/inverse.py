"""Inverse prediction with a surrogate: the input value at which a predicted curve reaches a
target, with the classical inverse-prediction (calibration) interval.

Given the predictive mean μ(x) and standard deviation σ(x) of an output on a grid of one
input (the others fixed), the point estimate is the first crossing of the target by μ along
the grid (linear interpolation between grid points, on a log axis for a log grid), and the
interval at level 1 - α is the connected set of grid values around it where the target lies
inside the predictive band, |μ(x) - y*| <= z σ(x), z the normal quantile (its edges
interpolated linearly between grid points) (Eisenhart 1939,
"The interpretation of certain regression methods and their use in biological and industrial
research", Ann. Math. Stat. 10, 162; Brown 1993, "Measurement, Regression, and Calibration",
ch. 1).  A curve that does not reach the target on the grid gives no estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InversePrediction:
    """The input value [unit of the grid] where the curve reaches the target, its interval,
    and a note ('' when the interval lies inside the grid); NaN where the curve does not
    reach the target."""

    value: float
    low: float
    high: float
    note: str = ""


def inverse_prediction(grid, mean, sd, target: float, level: float = 0.9,
                       log_axis: bool = True) -> InversePrediction:
    """The first crossing of ``target`` by ``mean`` along ``grid`` (increasing) and the
    inverse-prediction interval at ``level`` (module docstring)."""
    from scipy import stats

    x = np.asarray(grid, dtype=float)
    mu = np.asarray(mean, dtype=float)
    s = np.asarray(sd, dtype=float)
    if x.ndim != 1 or x.size < 2 or mu.shape != x.shape or s.shape != x.shape:
        raise ValueError("grid, mean and sd must be 1-D arrays of the same length >= 2")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level}; allowed range (0, 1)")
    side = np.sign(mu - target)
    crossing = np.flatnonzero((side[:-1] != side[1:]) | (side[1:] == 0))
    if crossing.size == 0:
        return InversePrediction(np.nan, np.nan, np.nan,
                                 f"the prediction ({mu.min():.4g} to {mu.max():.4g}) does not "
                                 f"reach {target:.4g} over {x[0]:.4g}-{x[-1]:.4g}")
    k = int(crossing[0])
    t = (mu[k] - target) / (mu[k] - mu[k + 1]) if mu[k] != mu[k + 1] else 0.0
    axis = np.log(x) if log_axis else x
    at = axis[k] + t * (axis[k + 1] - axis[k])
    z = stats.norm.ppf(0.5 + level / 2)
    g = np.abs(mu - target) - z * s  # <= 0: the target inside the band
    g_at = -z * (s[k] + t * (s[k + 1] - s[k]))
    ends = []
    for order in (range(k, -1, -1), range(k + 1, x.size)):
        last_axis, last_g, end = at, g_at, None
        for i in order:
            if g[i] > 0:  # the band's edge lies between the last point inside and this one
                w = last_g / (last_g - g[i]) if last_g < 0 else 0.0
                end = last_axis + w * (axis[i] - last_axis)
                break
            last_axis, last_g = axis[i], g[i]
        ends.append(end)
    note = "" if None not in ends else "the interval reaches the end of the grid"
    lo = axis[0] if ends[0] is None else ends[0]
    hi = axis[-1] if ends[1] is None else ends[1]
    back = np.exp if log_axis else (lambda v: v)
    return InversePrediction(float(back(at)), float(back(lo)), float(back(hi)), note)
