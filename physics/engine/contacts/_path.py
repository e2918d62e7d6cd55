"""Driving one contact's history-dependent normal law along a prescribed overlap path."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def forces_along_path(delta_path_um: np.ndarray,
                      step: Callable[[float, float], tuple]) -> np.ndarray:
    """Force [nN] at each overlap of the path; ``step(δ, δ_max)`` returns (f, δ_max_new, ...)
    (a model's kernel with its pair parameters bound); a non-positive overlap separates the
    contact and clears its history."""
    out = np.empty(len(delta_path_um))
    d_max = 0.0
    for i, d in enumerate(delta_path_um):
        if d <= 0.0:
            out[i], d_max = 0.0, 0.0
            continue
        result = step(float(d), d_max)
        out[i], d_max = result[0], result[1]
    return out
