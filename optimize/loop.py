"""The Bayesian-optimization loop as an ask/tell object: no tracking, no executors.

:class:`BOLoop` holds the evaluations of one :class:`~optimize.problem.Problem`:
``initial_design()`` gives the scrambled-Sobol start, ``ask(iteration)`` the next
``problem.q`` points (:func:`optimize.bo.propose`: outcome GPs, a success classifier where runs
failed, constrained qLogNEI), ``tell(x, outcome)`` records an evaluation (``None``: it
failed), ``best()`` the best feasible one.  :func:`run_bo` runs the whole loop against any
``evaluate`` function, so it can be checked on closed-form problems;
:func:`experiments.campaign.run_campaign` runs it on the physics with MLflow as its memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from optimize.bo import best_feasible, propose, sobol_design
from optimize.problem import Problem

#: seeds of the proposals: problem.seed × SEED_STRIDE + iteration
SEED_STRIDE = 10_007


class BOLoop:
    """Evaluations of ``problem`` and the next proposals (module docstring)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._x: list[np.ndarray] = []
        self._values: dict[str, list[float]] = {name: [] for name in problem.outputs}
        self._failed: list[bool] = []

    @classmethod
    def from_data(cls, problem: Problem, x: np.ndarray, values: dict[str, np.ndarray],
                  failed: np.ndarray) -> BOLoop:
        """A loop told the evaluations ``x`` (n × d), ``values`` (output -> (n,)) and
        ``failed`` (n,) at once (e.g. read back from a tracking store)."""
        loop = cls(problem)
        for i, row in enumerate(np.atleast_2d(x) if len(x) else []):
            loop.tell(row, None if failed[i] else {n: values[n][i] for n in problem.outputs})
        return loop

    @property
    def n(self) -> int:
        """Evaluations told so far."""
        return len(self._failed)

    def initial_design(self) -> np.ndarray:
        """The ``problem.initial`` scrambled-Sobol start (q × d, engineering units)."""
        return sobol_design(self.problem, self.problem.initial, self.problem.seed)

    def tell(self, x: Sequence[float], outcome: dict[str, float] | None) -> None:
        """Record one evaluation at ``x``: its outputs, or None if it failed (the success
        classifier learns from these).  A missing or non-finite output of a run that did not
        fail is NaN: that run stays out of the output models but is not a crash."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.problem.names),):
            raise ValueError(f"tell: x has shape {x.shape}; the problem has "
                             f"{len(self.problem.names)} decision variables "
                             f"({', '.join(self.problem.names)})")
        self._x.append(x)
        self._failed.append(outcome is None)
        for name in self.problem.outputs:
            self._values[name].append(math.nan if outcome is None
                                      else float(outcome.get(name, math.nan)))

    def data(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """(x (n × d), values (output -> (n,), NaN where failed), failed (n,))."""
        x = np.array(self._x, dtype=float).reshape(self.n, len(self.problem.names))
        return x, {k: np.array(v) for k, v in self._values.items()}, np.array(self._failed,
                                                                               dtype=bool)

    def ask(self, iteration: int, pending: np.ndarray | None = None
            ) -> tuple[np.ndarray, dict]:
        """The next ``problem.q`` points (q × d) and how they were made; the proposal's seed
        is fixed by the problem's seed and ``iteration``, so a resumed loop asks the same."""
        x, values, failed = self.data()
        return propose(self.problem, x, values, failed, self.problem.q,
                       seed=self.problem.seed * SEED_STRIDE + iteration, pending=pending)

    def best(self) -> tuple[int | None, float]:
        """(index, objective value) of the best feasible evaluation, or (None, nan)."""
        _, values, failed = self.data()
        return best_feasible(self.problem, values, failed)


def run_bo(problem: Problem,
           evaluate: Callable[[np.ndarray], Sequence[dict[str, float] | None]],
           iterations: int | None = None,
           callback: Callable[[int, np.ndarray, dict, BOLoop], None] | None = None) -> BOLoop:
    """The whole loop against ``evaluate`` (q × d points -> one outcome dict, or None for a
    failed run, per point): the initial design, then ``iterations`` (default
    ``problem.iterations``) ask/evaluate/tell rounds; ``callback(iteration, points, info,
    loop)`` after each round.  Returns the loop with every evaluation."""
    loop = BOLoop(problem)
    start = loop.initial_design()
    for x, outcome in zip(start, evaluate(start), strict=True):
        loop.tell(x, outcome)
    for it in range(problem.iterations if iterations is None else iterations):
        points, info = loop.ask(it)
        for x, outcome in zip(points, evaluate(points), strict=True):
            loop.tell(x, outcome)
        if callback:
            callback(it, points, info, loop)
    return loop
