"""Training sets for the surrogates: process inputs (X) and simulated outputs (Y).

A :class:`Dataset` comes from a pandas DataFrame with one row per simulation, typically
:func:`experiments.tracking.runs_dataframe` (the MLflow runs of ``etwin simulate/sweep``).
Inputs that never vary in the data carry no information for a GP and are dropped; rows where an
output is missing or not finite are dropped for that output only.

Rows that repeat a point (the same inputs, another seed) are replicates: they measure the
realization noise of the tier (:func:`replicate_noise`), whose lower confidence bound the GP
takes as its noise floor (:func:`noise_floor`), and cross-validation keeps them in one fold
(:func:`point_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.pipeline import SURROGATE_OUTPUTS


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``x`` (n × d, engineering units, columns ``input_names``) and outputs ``y``
    (name -> (n,) array, NaN where a run lacks it)."""

    x: np.ndarray
    input_names: tuple[str, ...]
    y: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.x.shape[1] != len(self.input_names):
            raise ValueError(f"x must be n × {len(self.input_names)}, got {self.x.shape}")
        for name, values in self.y.items():
            if values.shape != (self.x.shape[0],):
                raise ValueError(f"output {name!r} has {values.shape}, expected "
                                 f"({self.x.shape[0]},)")

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def rows(self, output: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the rows where ``output`` is finite."""
        if output not in self.y:
            raise ValueError(f"unknown output {output!r}; the dataset has: "
                             f"{', '.join(self.y)}")
        values = self.y[output]
        ok = np.isfinite(values)
        return self.x[ok], values[ok]

    @classmethod
    def from_frame(cls, frame, outputs=SURROGATE_OUTPUTS, inputs=None) -> Dataset:
        """From a DataFrame with one column per process input and per output.  ``inputs``
        defaults to the process inputs that vary in the frame."""
        from physics.pipeline import INPUT_RANGES

        if frame is None or len(frame) == 0:
            raise ValueError("the dataset is empty: run etwin sweep (or simulate) first")
        if inputs is None:
            inputs = [n for n in INPUT_RANGES if n in frame and frame[n].nunique() > 1]
        missing = [n for n in inputs if n not in frame]
        if missing:
            raise ValueError(f"inputs {missing} are not columns of the dataset")
        if not inputs:
            raise ValueError("no process input varies in the dataset: nothing to learn from")
        unknown = [o for o in outputs if o not in frame]
        if unknown:
            raise ValueError(f"unknown output(s) {unknown}; the dataset has: "
                             f"{', '.join(c for c in frame.columns if frame[c].dtype.kind == 'f')}")
        x = frame[list(inputs)].to_numpy(dtype=float)
        y = {o: frame[o].to_numpy(dtype=float) for o in outputs}
        return cls(x, tuple(inputs), y)


def point_groups(x: np.ndarray) -> np.ndarray:
    """Group index of each row: rows with identical inputs (replicates) share one."""
    return np.unique(np.asarray(x, dtype=float), axis=0, return_inverse=True)[1].reshape(-1)


def replicate_noise(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """(pooled within-point standard deviation of ``y``, its degrees of freedom) over the rows
    of ``x`` that repeat a point: s² = Σ_g Σ_i (y_gi - ȳ_g)² / Σ_g (n_g - 1).  (0.0, 0) when
    no point repeats."""
    groups = point_groups(x)
    y = np.asarray(y, dtype=float)
    counts = np.bincount(groups)
    dof = int(np.sum(counts - 1))
    if dof == 0:
        return 0.0, 0
    means = np.bincount(groups, weights=y) / counts
    return float(np.sqrt(np.sum((y - means[groups]) ** 2) / dof)), dof


#: one-sided confidence of the noise floor's lower bound (:func:`noise_floor`)
FLOOR_CONFIDENCE = 0.95


def noise_floor(sd: float, dof: int, confidence: float = FLOOR_CONFIDENCE) -> float:
    """The one-sided lower confidence bound of the noise sd from a pooled replicate sd with
    ``dof`` degrees of freedom: sd·sqrt(dof / χ²_confidence(dof)) (dof·s²/σ² is χ²(dof)).

    A floor is a bound the noise may not go below, so it takes the low end of what the
    replicates allow: with 4 degrees of freedom the sd itself lies above the true noise half
    the time, and its 90 % interval spans a factor of 3.7.  0.0 without replicates."""
    from scipy.stats import chi2

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if dof <= 0:
        return 0.0
    return float(sd * np.sqrt(dof / chi2.ppf(confidence, dof)))


def replicate_floor(x: np.ndarray, y: np.ndarray) -> float:
    """The noise floor of the rows (``x``, ``y``): :func:`noise_floor` of their
    :func:`replicate_noise` (0.0 when no point repeats)."""
    return noise_floor(*replicate_noise(x, y))
