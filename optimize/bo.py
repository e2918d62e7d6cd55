"""One Bayesian-optimization step: fit the outcome models, propose the next q points.

The search space is the unit cube over the problem's bounds (log10 axes for ``log_inputs``).
Each required output (objective, constrained outputs) gets an exact GP (BoTorch SingleTaskGP,
float64, outcome standardized) on the evaluations that succeeded.  Failed evaluations are
modelled, not dropped: a GP classifier of success on all evaluations (BoTorch's
``SingleTaskVariationalGP`` with GPyTorch's ``BernoulliLikelihood``, probit link, inducing
points at the evaluations, fitted on the ELBO) enters as one more outcome constraint on its
latent function, f >= 0, i.e. P(success) = Φ(f) >= 0.5, so the model steers away from where
runs crash, a region shaped by the data rather than balls around single failures.

Acquisition: ``qLogNoisyExpectedImprovement`` (the log-EI family) with the objective's sign
for the direction and the outcome constraints as sigmoid-relaxed feasibility weights,
optimized with ``optimize_acqf`` (multi-start L-BFGS-B, sequential greedy for q > 1, earlier
proposals and ``pending`` points as ``X_pending``).  A proposal inside the known-failed region
(within ``FAILED_RADIUS`` of a failed point, unit-cube distance) is replaced by the best of 1024
scrambled-Sobol candidates outside it, so a failed region is never proposed twice.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from optimize.problem import Problem

FAILED_RADIUS = 0.05
#: sigmoid temperature of an outcome constraint, as a share of its output's spread
CONSTRAINT_SHARPNESS = 1e-4


def to_unit(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Engineering units (n × d) -> unit cube."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    out = np.empty_like(x)
    for k, name in enumerate(problem.names):
        lo, hi = problem.bounds[name]
        v = x[:, k]
        if name in problem.log_inputs:
            lo, hi, v = math.log10(lo), math.log10(hi), np.log10(v)
        out[:, k] = (v - lo) / (hi - lo)
    return out


def from_unit(problem: Problem, u: np.ndarray) -> np.ndarray:
    """Unit cube -> engineering units, clipped into the bounds."""
    u = np.clip(np.atleast_2d(np.asarray(u, dtype=float)), 0.0, 1.0)
    out = np.empty_like(u)
    for k, name in enumerate(problem.names):
        lo, hi = problem.bounds[name]
        if name in problem.log_inputs:
            out[:, k] = 10 ** (math.log10(lo) + u[:, k] * (math.log10(hi) - math.log10(lo)))
        else:
            out[:, k] = lo + u[:, k] * (hi - lo)
        out[:, k] = np.clip(out[:, k], lo, hi)
    return out


def sobol_unit(dimensions: int, n: int, seed: int) -> np.ndarray:
    """The first ``n`` points (n × dimensions) of a scrambled Sobol sequence in [0, 1)."""
    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning for n not a power of two
        return qmc.Sobol(dimensions, scramble=True, seed=seed).random(n)


def sobol_design(problem: Problem, n: int, seed: int) -> np.ndarray:
    """The first ``n`` points of a scrambled Sobol sequence in the bounds (engineering
    units)."""
    return from_unit(problem, sobol_unit(len(problem.names), n, seed))


def in_failed_region(u: np.ndarray, u_failed: np.ndarray) -> np.ndarray:
    """Per row of ``u``: within FAILED_RADIUS of a failed point."""
    if u_failed.size == 0:
        return np.zeros(len(u), bool)
    d = np.linalg.norm(u[:, None, :] - u_failed[None, :, :], axis=-1)
    return d.min(axis=1) < FAILED_RADIUS


def _gp(u, y, noise: str = "learned"):
    """SingleTaskGP on the unit cube, output standardized; with ``noise="none"`` the noise
    variance is fixed at 1e-6 of the output's variance (a deterministic simulator)."""
    import torch
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize

    ty, yvar = training_targets(y, noise)
    return SingleTaskGP(torch.as_tensor(u), ty, train_Yvar=yvar,
                        outcome_transform=Standardize(m=1))


def training_targets(y: np.ndarray, noise: str):
    """(targets (n × 1 tensor), their noise variance or None to learn it): ``noise="none"``
    fixes it at 1e-6 of the outputs' variance (a deterministic simulator)."""
    import torch

    ty = torch.as_tensor(y, dtype=torch.float64).unsqueeze(-1)
    if noise != "none":
        return ty, None
    scale = float(ty.var()) if ty.numel() > 1 else 1.0
    return ty, torch.full_like(ty, 1e-6 * max(scale, 1e-12))


def _success_classifier(u: np.ndarray, success: np.ndarray):
    """(GP classifier of success over the unit cube, fit note): variational GP with a
    Bernoulli likelihood (probit), inducing points fixed at the evaluations."""
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskVariationalGP
    from gpytorch.likelihoods import BernoulliLikelihood
    from gpytorch.mlls import VariationalELBO

    tx = torch.as_tensor(u)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not standardized": 0/1 labels are not meant to be
        model = SingleTaskVariationalGP(
            tx, torch.as_tensor(success, dtype=torch.float64).unsqueeze(-1),
            likelihood=BernoulliLikelihood(), inducing_points=tx.clone(),
            learn_inducing_points=False)
        try:
            fit_gpytorch_mll(VariationalELBO(model.likelihood, model.model, num_data=len(u)))
            note = ""
        except Exception as err:  # a failed fit is reported, the prior still stands
            note = f"success classifier not fitted ({type(err).__name__}: {err})"
    return model, note


def outcome_models(problem: Problem, inputs: np.ndarray, values: dict[str, np.ndarray],
                   ok: np.ndarray, failed: np.ndarray, make_gp):
    """(ModelListGP, outcome constraints, their temperatures, fit notes) over the model
    inputs (n × k): one GP per required output, ``make_gp(inputs, y, noise)`` on the ``ok``
    rows, fitted; the success classifier on every row where runs failed; the constraints as
    BoTorch callables (<= 0 where satisfied) per problem constraint and the classifier's
    latent f >= 0.  Each constraint's sigmoid temperature is ``CONSTRAINT_SHARPNESS`` of its
    output's spread in the data: BoTorch's default, 1e-3 in output units, let a τ_z
    0.0008 above its limit keep a third of its weight, and the loop spent its last ten
    evaluations just outside the optimum's constraint."""
    from botorch.models import ModelListGP

    from surrogates.gp import _fit

    models, notes = [], []
    for name in problem.outputs:
        m = make_gp(inputs[ok], values[name][ok], problem.noise)
        notes.append(_fit(m))
        models.append(m)
    if failed.any():
        m, note = _success_classifier(inputs, (~failed).astype(float))
        notes.append(note)
        models.append(m)
    index = {name: k for k, name in enumerate(problem.outputs)}
    constraints, etas = [], []
    for c in problem.constraints:
        k = index[c.output]
        spread = float(np.std(values[c.output][ok])) if ok.sum() > 1 else 0.0
        eta = CONSTRAINT_SHARPNESS * (spread if spread > 0 else 1.0)
        if c.lower is not None:
            constraints.append(lambda z, k=k, lo=c.lower: lo - z[..., k])
            etas.append(eta)
        if c.upper is not None:
            constraints.append(lambda z, k=k, hi=c.upper: z[..., k] - hi)
            etas.append(eta)
    if failed.any():  # latent f of the classifier: feasible where f >= 0
        k_success = len(problem.outputs)
        constraints.append(lambda z, k=k_success: -z[..., k])
        etas.append(1e-3)
    return ModelListGP(*models), constraints, etas, notes


def propose(problem: Problem, x: np.ndarray, values: dict[str, np.ndarray],
            failed: np.ndarray, q: int, seed: int,
            pending: np.ndarray | None = None,
            region: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """The next ``q`` points (engineering units) given evaluations ``x`` (n × d), their
    outputs ``values`` (name -> (n,), NaN where failed) and ``failed`` (n,) flags, searched
    inside ``region`` (unit-cube lower and upper corners; default the whole cube, e.g. a
    trust region of :class:`optimize.loop.BOLoop`).  Returns (q × d proposals, info: which
    path produced them and the model's fit notes)."""
    import torch
    from botorch.acquisition.logei import (
        qLogNoisyExpectedImprovement,
        qLogProbabilityOfFeasibility,
    )
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.optim import optimize_acqf

    from surrogates.gp import single_threaded

    u = to_unit(problem, x)
    failed = np.asarray(failed, bool)
    u_failed = u[failed]
    ok = ~failed
    for name in problem.outputs:
        ok &= np.isfinite(values[name])
    rng_seed = int(seed)
    d = len(problem.names)
    lo_u, hi_u = (np.zeros(d), np.ones(d)) if region is None else (
        np.asarray(region[0], float), np.asarray(region[1], float))
    if ok.sum() < 2:  # nothing to model yet: space-filling points outside failed regions
        return _fallback(problem, u_failed, q, rng_seed, lo_u, hi_u), {
            "path": "sobol (under 2 successes)"}
    with single_threaded(), warnings.catch_warnings():
        # BoTorch's advice for an all-infeasible baseline fires per MC sample here; the
        # constrained log-EI still ranks candidates by feasibility-weighted improvement
        warnings.filterwarnings("ignore", message="When all training points are infeasible")
        model, constraints, etas, notes = outcome_models(problem, u, values, ok, failed, _gp)
        eta = torch.as_tensor(etas, dtype=torch.float64) if etas else 1e-3
        sign = 1.0 if problem.maximize else -1.0
        torch.manual_seed(rng_seed)
        x_pending = None if pending is None or len(pending) == 0 \
            else torch.as_tensor(to_unit(problem, pending))
        any_feasible = any(problem.feasible({o: values[o][i] for o in problem.outputs})
                           for i in np.flatnonzero(ok))
        if constraints and not any_feasible:
            # nothing feasible yet: improvement is undefined, so look for feasibility first
            # (the constrained-EI limit of Gardner et al. 2014 / Gelbart et al. 2014)
            path = "qLogPoF (no feasible point yet)"
            acq = qLogProbabilityOfFeasibility(model=model, constraints=constraints,
                                               X_pending=x_pending, eta=eta)
        else:
            path = "qLogNEI"
            acq = qLogNoisyExpectedImprovement(
                model=model, X_baseline=torch.as_tensor(u[ok]),
                objective=GenericMCObjective(lambda z, X=None: sign * z[..., 0]),
                constraints=constraints or None, X_pending=x_pending, prune_baseline=True,
                eta=eta)
        bounds = torch.stack([torch.as_tensor(lo_u), torch.as_tensor(hi_u)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cand, _ = optimize_acqf(acq, bounds=bounds, q=q, num_restarts=10, raw_samples=256,
                                    sequential=True, options={"seed": rng_seed})
        u_new = cand.detach().numpy()
        replaced = 0
        bad = in_failed_region(u_new, u_failed)
        if bad.any():
            from scipy.stats import qmc

            pool = lo_u + (hi_u - lo_u) * qmc.Sobol(d, scramble=True,
                                                    seed=rng_seed).random(1024)
            pool = pool[~in_failed_region(pool, u_failed)]
            with torch.no_grad():
                score = acq(torch.as_tensor(pool).unsqueeze(1)).numpy()
            for k in np.flatnonzero(bad):
                best = int(np.argmax(score))
                u_new[k] = pool[best]
                score[best] = -np.inf
                replaced += 1
    return from_unit(problem, u_new), {"path": path, "fit_notes": [n for n in notes if n],
                                       "replaced_in_failed_region": replaced,
                                       "region_side": float(np.max(hi_u - lo_u))}


def _fallback(problem: Problem, u_failed: np.ndarray, q: int, seed: int, lo_u: np.ndarray,
              hi_u: np.ndarray) -> np.ndarray:
    from scipy.stats import qmc

    pool = lo_u + (hi_u - lo_u) * qmc.Sobol(len(problem.names), scramble=True,
                                            seed=seed + 7919).random(256)
    pool = pool[~in_failed_region(pool, u_failed)]
    return from_unit(problem, pool[:q])


def best_feasible(problem: Problem, values: dict[str, np.ndarray],
                  failed: np.ndarray) -> tuple[int | None, float]:
    """(index, objective value) of the best feasible evaluation, or (None, nan)."""
    best, best_value = None, math.nan
    n = len(failed)
    for i in range(n):
        if failed[i]:
            continue
        point = {name: float(values[name][i]) for name in problem.outputs}
        v = point[problem.objective]
        if not math.isfinite(v) or not problem.feasible(point):
            continue
        if best is None or (v > best_value if problem.maximize else v < best_value):
            best, best_value = i, v
    return best, best_value
