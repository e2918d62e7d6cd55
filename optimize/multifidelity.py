"""Multi-fidelity Bayesian optimization over the fidelity tiers (``ci``, ``fast``, ``paper``).

Model: every required output (objective, constrained outputs) gets one GP over the unit cube
of the decisions and a fidelity level s, BoTorch's ``SingleTaskMultiFidelityGP`` with the
linear-truncated fidelity kernel (Wu, Toscano-Palmerin, Frazier & Wilson 2019): a cheap tier
informs the target tier as far as the data say the two agree.  The level of a tier is its
cost on a log scale, mapped onto [0, 1] over the campaign's tiers (the target, the costliest,
at 1).  Failed runs train a success classifier over (x, s), as in :mod:`optimize.bo`.

Acquisition, cost- and constraint-aware: the point x* maximizes the constrained qLogNEI of the
target tier (the models at s = 1; every evaluated point projected onto s = 1 as its baseline);
the tier follows MF-GP-UCB (Kandasamy, Dasarathy, Oliva, Schneider & Póczos, NeurIPS 2016),
asked of every required output: the cheapest tier at which the objective or a constrained output
(a constrained optimum sits where a constraint cuts the objective) still has a posterior sd at
x* above a threshold that grows with its cost, √(cost_t / cost_target) ×
``UNCERTAINTY_THRESHOLD`` of that output's sd in the data, and a posterior correlation with the
target there of at least ``MIN_CORRELATION``; else the target. With a trust region
(``problem.trust_region``) x* is searched in the box around the best target run. Cheap runs
explore until the cheap tier is known around x*; what is left to learn there is the target's own
(the tiers' discrepancy), which only a target run resolves. (Huang et al.'s augmented EI, corr ×
cost ratio, kept choosing the cheap tier: the fitted correlation between the tiers stays above
0.9.) Only target-tier evaluations are results (:meth:`optimize.loop.BOLoop.best`); the loop
runs its last proposals at the target tier.

Costs: :data:`DEFAULT_TIER_COST_S`, the measured pipeline stage times on 2 cores (a loop
may be given others).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from optimize.problem import Problem

#: tier choice (module docstring): a cheaper tier t is run at x* while the objective's
#: posterior sd there, over the outputs' sd, is at least UNCERTAINTY_THRESHOLD ×
#: √(cost_t / cost_target), and its posterior correlation with the target at least
#: MIN_CORRELATION
UNCERTAINTY_THRESHOLD = 0.2
MIN_CORRELATION = 0.5
#: Seconds of one pipeline run per tier on 2 cores (dry + calender + transport + cell, the
#: measured stage times): ~2.5, ~10 and ~27 minutes.
DEFAULT_TIER_COST_S = {"ci": 150.0, "fast": 600.0, "paper": 1620.0}


def tier_costs_s(tiers) -> dict[str, float]:
    """Cost [s] of one run per tier (:data:`DEFAULT_TIER_COST_S`)."""
    return {t: DEFAULT_TIER_COST_S[t] for t in tiers}


def tier_levels(costs: dict[str, float]) -> dict[str, float]:
    """Fidelity level in [0, 1] per tier: log cost, the costliest (the target) at 1."""
    lo, hi = math.log(min(costs.values())), math.log(max(costs.values()))
    if hi - lo < 1e-12:
        return {t: 1.0 for t in costs}
    return {t: (math.log(c) - lo) / (hi - lo) for t, c in costs.items()}


def _mf_gp(us, y, noise: str):
    """SingleTaskMultiFidelityGP on (unit cube, level) rows, output standardized; with
    ``noise="none"`` a 1e-6 relative noise floor (a deterministic simulator)."""
    import torch
    from botorch.models import SingleTaskMultiFidelityGP
    from botorch.models.transforms import Standardize

    from optimize.bo import training_targets

    ty, yvar = training_targets(y, noise)
    return SingleTaskMultiFidelityGP(torch.as_tensor(us), ty, train_Yvar=yvar,
                                     data_fidelities=[us.shape[1] - 1],
                                     outcome_transform=Standardize(m=1))


def propose_multifidelity(problem: Problem, x: np.ndarray, tiers: list[str],
                          values: dict[str, np.ndarray], failed: np.ndarray,
                          costs: dict[str, float], seed: int,
                          target_only: bool = False,
                          region: tuple[np.ndarray, np.ndarray] | None = None
                          ) -> tuple[np.ndarray, str, dict]:
    """The next point (1 × d, engineering units) and its tier, given evaluations ``x``
    (n × d) at ``tiers`` (n), their ``values`` (NaN where failed) and ``failed`` flags;
    ``target_only``: the final high-fidelity steps; ``region``: unit-cube lower and upper
    corners x* is searched in (default the whole cube; the loop's trust region around the
    best target run).  Returns (point, tier, info)."""
    import torch
    from botorch.acquisition.fixed_feature import FixedFeatureAcquisitionFunction
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.optim import optimize_acqf

    from optimize.bo import _fallback, from_unit, outcome_models, to_unit
    from surrogates.gp import single_threaded

    levels = tier_levels(costs)
    target = max(costs, key=costs.get)
    d = len(problem.names)
    u = to_unit(problem, x)
    s = np.array([levels[t] for t in tiers], dtype=float)
    us = np.column_stack([u, s])
    failed = np.asarray(failed, bool)
    ok = ~failed
    for name in problem.outputs:
        ok &= np.isfinite(values[name])
    if ok.sum() < 3:
        point = _fallback(problem, u[failed], 1, seed, np.zeros(d), np.ones(d))
        return point, target, {"path": "sobol (under 3 successes)"}
    with single_threaded(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When all training points are infeasible")
        model, constraints, etas, notes = outcome_models(problem, us, values, ok, failed,
                                                         _mf_gp)
        sign = 1.0 if problem.maximize else -1.0
        torch.manual_seed(int(seed))
        baseline = torch.as_tensor(np.column_stack([u[ok], np.ones(int(ok.sum()))]))
        acq = qLogNoisyExpectedImprovement(
            model=model, X_baseline=baseline,
            objective=GenericMCObjective(lambda z, X=None: sign * z[..., 0]),
            constraints=constraints or None, prune_baseline=True,
            eta=torch.as_tensor(etas, dtype=torch.float64) if etas else 1e-3)
        at_target = FixedFeatureAcquisitionFunction(acq, d + 1, columns=[d], values=[1.0])
        lo_u, hi_u = (np.zeros(d), np.ones(d)) if region is None else region
        bounds = torch.as_tensor(np.vstack([lo_u, hi_u]), dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cand, _ = optimize_acqf(at_target, bounds=bounds, q=1, num_restarts=10,
                                    raw_samples=256, options={"seed": int(seed)})
        u_new = cand.detach().numpy()[0]
        tier, checks = target, {}
        if not target_only:
            tier, checks = _cheapest_informative_tier(problem, model, values, ok, u_new,
                                                      levels, costs, target)
    return from_unit(problem, u_new[None, :]), tier, {
        "path": "multi-fidelity qLogNEI at the target" + (" (final)" if target_only else ""),
        "tier_checks": checks, "fit_notes": [n for n in notes if n]}


def _cheapest_informative_tier(problem: Problem, model, values: dict[str, np.ndarray],
                               ok: np.ndarray, u_new: np.ndarray, levels: dict[str, float],
                               costs: dict[str, float], target: str) -> tuple[str, dict]:
    """MF-GP-UCB's rule (Kandasamy et al., NeurIPS 2016) at x*, per output: the cheapest tier
    at which some required output (the objective or a constrained one: at a constrained
    optimum the constraint decides) still has a posterior sd above the threshold and a
    posterior correlation with the target of at least MIN_CORRELATION; else the target.
    Returns (tier, the checks per tier and output)."""
    import torch

    scales = [float(np.std(values[name][ok])) or 1.0 for name in problem.outputs]
    checks: dict[str, dict] = {}
    for t in sorted(levels, key=costs.get):
        if t == target:
            continue
        threshold = UNCERTAINTY_THRESHOLD * math.sqrt(costs[t] / costs[target])
        pair = torch.as_tensor(np.array([[*u_new, levels[t]], [*u_new, 1.0]]))
        checks[t] = {}
        for k, (name, scale) in enumerate(zip(problem.outputs, scales, strict=True)):
            with torch.no_grad():
                cov = model.models[k].posterior(pair).mvn.covariance_matrix.numpy()
            sd = math.sqrt(max(cov[0, 0], 0.0)) / scale
            corr = cov[0, 1] / math.sqrt(max(cov[0, 0] * cov[1, 1], 1e-300))
            checks[t][name] = {"sd": sd, "threshold": threshold, "correlation": float(corr)}
        if any(c["sd"] >= threshold and c["correlation"] >= MIN_CORRELATION
               for c in checks[t].values()):
            return t, checks
    return target, checks
