"""The Bayesian-optimization loop as an ask/tell object: no tracking, no executors.

:class:`BOLoop` holds the evaluations of one :class:`~optimize.problem.Problem`:
``initial_design()`` gives the scrambled-Sobol start, ``ask(iteration)`` the next
``problem.q`` points (:func:`optimize.bo.propose`: outcome GPs, a success classifier where runs
failed, constrained qLogNEI), ``tell(x, outcome)`` records an evaluation (``None``: it
failed), ``best()`` the best feasible one.

Finishing the optimum: with ``problem.trust_region`` the acquisition is maximized inside a
box around the best feasible point (TuRBO-1, Eriksson et al., NeurIPS 2019), whose side
follows the history: it starts at ``TR_INITIAL`` of the unit cube, doubles after
``TR_SUCCESSES`` improvements in a row (up to the whole cube), halves after
``TR_FAILURES`` evaluations in a row without one (an improvement: more than
``TR_IMPROVEMENT`` of the best), and restarts at ``TR_INITIAL`` below ``TR_MINIMUM``.  A
global model with a stationary kernel smooths over the sharp ridge where a constraint
cuts the objective; the shrinking box makes the last evaluations sample that ridge
instead.  The side is recomputed from the evaluations each time (:func:`trust_region`), so
a loop rebuilt from its history asks the same points.  A multi-fidelity loop replays it over
its target-tier runs only (cheap runs are not results).

:func:`run_bo` runs the whole loop against any ``evaluate`` function, so it can be checked
on closed-form problems; :func:`experiments.campaign.run_campaign` runs it on the physics
with MLflow as its memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from optimize.bo import best_feasible, propose, sobol_design
from optimize.problem import Problem

#: seeds of the proposals: problem.seed × SEED_STRIDE + iteration
SEED_STRIDE = 10_007
#: trust region (module docstring): sides in the unit cube, counts of evaluations
TR_INITIAL = 0.8
TR_MINIMUM = 0.5 ** 7
TR_MAXIMUM = 2.0
TR_SUCCESSES = 3
TR_FAILURES = 4
TR_IMPROVEMENT = 1e-3


def target_copies(initial: int) -> int:
    """How many of a multi-fidelity loop's ``initial`` Sobol points run again at the target
    tier (the first third), so the models see both tiers."""
    return math.ceil(initial / 3)


def trust_region(problem: Problem, x: np.ndarray, values: dict[str, np.ndarray],
                 failed: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(lower, upper corners in the unit cube, side) of the trust region after the
    evaluations, or None while no evaluation is feasible (module docstring): the history
    after the initial design is replayed, each evaluation a success if it raised the best
    feasible value by more than TR_IMPROVEMENT of it."""
    sign = 1.0 if problem.maximize else -1.0
    side, wins, losses = TR_INITIAL, 0, 0
    best, best_i = -math.inf, None
    for i in range(len(failed)):
        point = None if failed[i] else {n: float(values[n][i]) for n in problem.outputs}
        v = -math.inf if point is None or not problem.feasible(point) \
            else sign * point[problem.objective]
        if not math.isfinite(v):
            v = -math.inf
        improved = v > best + TR_IMPROVEMENT * abs(best) if math.isfinite(best) \
            else math.isfinite(v)
        if improved:
            best, best_i = v, i
        if i < problem.initial:
            continue
        wins, losses = (wins + 1, 0) if improved else (0, losses + 1)
        if wins >= TR_SUCCESSES:
            side, wins = min(2.0 * side, TR_MAXIMUM), 0
        if losses >= TR_FAILURES:
            side, losses = side / 2.0, 0
            if side < TR_MINIMUM:
                side = TR_INITIAL
    if best_i is None:
        return None
    from optimize.bo import to_unit

    centre = to_unit(problem, x[best_i])[0]
    return np.clip(centre - side / 2, 0, 1), np.clip(centre + side / 2, 0, 1), side


class BOLoop:
    """Evaluations of ``problem`` and the next proposals (module docstring).  With
    ``problem.fidelities`` (multi-fidelity, :mod:`optimize.multifidelity`) each evaluation
    carries its tier, ``ask`` chooses point and tier, and only target-tier evaluations are
    results; ``costs`` [s per run and tier] default to :func:`~optimize.multifidelity.
    tier_costs_s`."""

    def __init__(self, problem: Problem, costs: dict[str, float] | None = None) -> None:
        from optimize.multifidelity import tier_costs_s

        self.problem = problem
        self.costs = costs or tier_costs_s(problem.fidelities or (problem.fidelity,))
        self._x: list[np.ndarray] = []
        self._values: dict[str, list[float]] = {name: [] for name in problem.outputs}
        self._failed: list[bool] = []
        self._tiers: list[str] = []

    @classmethod
    def from_data(cls, problem: Problem, x: np.ndarray, values: dict[str, np.ndarray],
                  failed: np.ndarray, tiers: Sequence[str] | None = None,
                  costs: dict[str, float] | None = None) -> BOLoop:
        """A loop told the evaluations ``x`` (n × d), ``values`` (output -> (n,)),
        ``failed`` (n,) and their ``tiers`` (default: the target) at once (e.g. read back
        from a tracking store)."""
        loop = cls(problem, costs)
        for i, row in enumerate(np.atleast_2d(x) if len(x) else []):
            loop.tell(row, None if failed[i] else {n: values[n][i] for n in problem.outputs},
                      None if tiers is None else tiers[i])
        return loop

    @property
    def n(self) -> int:
        """Evaluations told so far."""
        return len(self._failed)

    def initial_design(self) -> tuple[np.ndarray, list[str]]:
        """The ``problem.initial`` scrambled-Sobol start (n × d, engineering units) and the
        tier of each point: the target; multi-fidelity: every point at the cheapest tier and
        the first third of them again at the target, so the models see both tiers."""
        x = sobol_design(self.problem, self.problem.initial, self.problem.seed)
        if not self.problem.multifidelity:
            return x, [self.problem.fidelity] * len(x)
        cheap = min(self.costs, key=self.costs.get)
        again = x[:target_copies(len(x))]
        return np.vstack([x, again]), [cheap] * len(x) + [self.problem.fidelity] * len(again)

    def tell(self, x: Sequence[float], outcome: dict[str, float] | None,
             fidelity: str | None = None) -> None:
        """Record one evaluation at ``x`` (at tier ``fidelity``, default the target): its
        outputs, or None if it failed (the success classifier learns from these).  A missing
        or non-finite output of a run that did not fail is NaN: that run stays out of the
        output models but is not a crash."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.problem.names),):
            raise ValueError(f"tell: x has shape {x.shape}; the problem has "
                             f"{len(self.problem.names)} decision variables "
                             f"({', '.join(self.problem.names)})")
        tier = fidelity or self.problem.fidelity
        if tier not in self.costs:
            raise ValueError(f"tell: fidelity {tier!r} is not one of the problem's tiers "
                             f"({', '.join(self.costs)})")
        self._x.append(x)
        self._tiers.append(tier)
        self._failed.append(outcome is None)
        for name in self.problem.outputs:
            self._values[name].append(math.nan if outcome is None
                                      else float(outcome.get(name, math.nan)))

    def data(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """(x (n × d), values (output -> (n,), NaN where failed), failed (n,))."""
        x = np.array(self._x, dtype=float).reshape(self.n, len(self.problem.names))
        return x, {k: np.array(v) for k, v in self._values.items()}, np.array(self._failed,
                                                                               dtype=bool)

    @property
    def tiers(self) -> list[str]:
        """The tier of each evaluation."""
        return list(self._tiers)

    def spent_s(self) -> dict[str, float]:
        """Cost spent per tier [s] (runs × the tier's cost)."""
        return {t: c * self._tiers.count(t) for t, c in self.costs.items()}

    def ask(self, iteration: int, pending: np.ndarray | None = None, final: bool = False
            ) -> tuple[np.ndarray, dict]:
        """The next ``problem.q`` points (q × d) and how they were made (``info["fidelities"]``:
        the tier of each); the proposal's seed is fixed by the problem's seed and
        ``iteration``, so a resumed loop asks the same.  Multi-fidelity: one point per call,
        at the target tier when ``final``."""
        x, values, failed = self.data()
        seed = self.problem.seed * SEED_STRIDE + iteration
        if self.problem.multifidelity:
            from optimize.multifidelity import propose_multifidelity

            region = self._target_trust_region() if self.problem.trust_region else None
            point, tier, info = propose_multifidelity(
                self.problem, x, self._tiers, values, failed, self.costs, seed,
                target_only=final, region=None if region is None else region[:2])
            return point, {**info, "fidelities": [tier]}
        region = trust_region(self.problem, x, values, failed) \
            if self.problem.trust_region else None
        points, info = propose(self.problem, x, values, failed, self.problem.q, seed=seed,
                               pending=pending, region=None if region is None else region[:2])
        return points, {**info, "fidelities": [self.problem.fidelity] * len(points)}

    def _target_trust_region(self):
        """The trust region (:func:`trust_region`) replayed over the target-tier evaluations
        only: cheap runs are not results, so they neither centre nor resize it."""
        from dataclasses import replace

        x, values, failed = self.data()
        at = np.array([t == self.problem.fidelity for t in self._tiers], dtype=bool)
        target_start = replace(self.problem, initial=target_copies(self.problem.initial))
        return trust_region(target_start, x[at], {k: v[at] for k, v in values.items()},
                            failed[at])

    def best(self) -> tuple[int | None, float]:
        """(index, objective value) of the best feasible evaluation at the target tier, or
        (None, nan)."""
        _, values, failed = self.data()
        target = np.array([t != self.problem.fidelity for t in self._tiers], dtype=bool)
        return best_feasible(self.problem, values, failed | target)


def run_bo(problem: Problem,
           evaluate: Callable[[np.ndarray, list[str]], Sequence[dict[str, float] | None]],
           iterations: int | None = None,
           callback: Callable[[int, np.ndarray, dict, BOLoop], None] | None = None,
           final_target: int = 2, costs: dict[str, float] | None = None) -> BOLoop:
    """The whole loop against ``evaluate`` (q × d points and their tiers -> one outcome dict,
    or None for a failed run, per point): the initial design, then ``iterations`` (default
    ``problem.iterations``) ask/evaluate/tell rounds, the last ``final_target`` of them at
    the target tier when multi-fidelity; ``callback(iteration, points, info, loop)`` after
    each round.  Returns the loop with every evaluation."""
    loop = BOLoop(problem, costs)
    start, tiers = loop.initial_design()
    for x, tier, outcome in zip(start, tiers, evaluate(start, tiers), strict=True):
        loop.tell(x, outcome, tier)
    total = problem.iterations if iterations is None else iterations
    for it in range(total):
        points, info = loop.ask(it, final=it >= total - final_target)
        tiers = info["fidelities"]
        for x, tier, outcome in zip(points, tiers, evaluate(points, tiers), strict=True):
            loop.tell(x, outcome, tier)
        if callback:
            callback(it, points, info, loop)
    return loop
