"""A Bayesian-optimization campaign on the physics, tracked and resumable through MLflow.

``run_campaign(problem, experiment)`` drives the ask/tell loop of :mod:`optimize.loop` with
MLflow as its memory and the batch executors as its evaluator:
1. Evaluates the initial scrambled-Sobol design (``problem.initial`` points).
2. Then, per iteration, tells the loop every evaluation so far (read back from MLflow), asks
   it for ``problem.q`` points, and simulates them in parallel through
   :func:`experiments.batch.run_batch` (the Step 6 executors).

Multi-fidelity (``problem.fidelities``): the initial design runs at the cheapest tier (a
third of it also at the target), each iteration proposes one point and its tier
(:mod:`optimize.multifidelity`), the last ``FINAL_TARGET_ITERATIONS`` at the target; only
target-tier evaluations count as the best, and the cost spent per tier is reported.

Every evaluation is a simulation run in ``experiment``, tagged with its iteration; a failed
one is a FAILED run and enters the next model as a failure.  Every iteration is a run in
``<experiment>-loop``: the proposals, the path that made them, the model's fit notes, and the
best feasible value so far.  The history is read back from MLflow at each step, so a loop
stopped at any point resumes with the same command: finished evaluations are not redone and
completed iterations are not repeated.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from experiments.report import eta_text
from optimize.loop import BOLoop
from optimize.problem import Problem


def history(tracker, problem: Problem) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray,
                                                 list[dict]]:
    """(x, values, failed, rows) of the evaluations in the tracker's experiment that belong to
    ``problem`` (a fidelity of the problem, same C-rates and fixed inputs); each row says its
    ``fidelity``."""
    from experiments.tracking import INTERRUPTED_TAG

    runs, token = [], None
    while True:
        page = tracker.client.search_runs([tracker.experiment_id], max_results=1000,
                                          page_token=token)
        # a run stopped by an interrupted batch is no evaluation (its point is run again)
        runs.extend(r for r in page if r.info.status in ("FINISHED", "FAILED")
                    and r.data.tags.get(INTERRUPTED_TAG) != "true")
        token = page.token
        if not token:
            break
    rates = ",".join(f"{c:g}" for c in problem.c_rates)
    tiers = problem.fidelities or (problem.fidelity,)
    m = problem.material_set  # runs of another material set are another problem's
    materials = f"{m.name} ({m.digest()})" if m is not None else ""
    rows = []
    for run in runs:
        p = run.data.params
        if p.get("fidelity") not in tiers or p.get("c_rates") != rates \
                or p.get("materials", "") != materials:
            continue
        try:
            if any(not math.isclose(float(p[k]), v, rel_tol=1e-9)
                   for k, v in problem.fixed.items()):
                continue
            x = [float(p[name]) for name in problem.names]
        except (KeyError, ValueError):
            continue
        failed = run.info.status == "FAILED"
        rows.append({"x": x, "failed": failed, "run_id": run.info.run_id,
                     "fidelity": p["fidelity"],
                     "started": run.info.start_time,
                     "iteration": run.data.tags.get("iteration", ""),
                     "key": run.data.tags.get("point_key", ""),
                     **{name: run.data.metrics.get(name, math.nan) for name in problem.outputs}})
    rows.sort(key=lambda r: (r["started"], r["run_id"]))  # evaluation order
    x = np.array([r["x"] for r in rows], dtype=float).reshape(len(rows), len(problem.names))
    values = {name: np.array([r[name] if not r["failed"] else math.nan for r in rows])
              for name in problem.outputs}
    failed = np.array([r["failed"] for r in rows], dtype=bool)
    return x, values, failed, rows


#: multi-fidelity: the last iterations propose at the target tier
FINAL_TARGET_ITERATIONS = 2


def run_campaign(problem: Problem, experiment: str, *, executor: str = "local",
                 workers: int | None = None, cache_dir: str | None = None,
                 progress: bool = True, log: Callable[[str], None] | None = None) -> dict:
    """Run (or resume) the campaign; returns the best feasible evaluation (or says none was
    found yet) and the per-iteration record."""
    import mlflow

    from experiments.batch import make_point, run_batch
    from experiments.tracking import Tracker

    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    tracker = Tracker(experiment)
    loop_tracker = Tracker(f"{experiment}-loop")

    def evaluate(xs, tiers, tag: str) -> None:
        points = [make_point(problem.inputs(x), tier, problem.seed, problem.c_rates,
                             materials=problem.material_set)
                  for x, tier in zip(xs, tiers, strict=True)]
        run_batch(points, executor=executor, workers=workers, cache_dir=cache_dir,
                  experiment=experiment, progress=progress, log=say,
                  tags={"iteration": tag})

    def loop_of(rows, x, values, failed) -> BOLoop:
        return BOLoop.from_data(problem, x, values, failed, [r["fidelity"] for r in rows])

    start, tiers = BOLoop(problem).initial_design()
    say(f"initial design: {len(start)} Sobol points"
        + (f" ({', '.join(f'{tiers.count(t)} at {t}' for t in dict.fromkeys(tiers))})"
           if problem.multifidelity else ""))
    evaluate(start, tiers, "initial")
    done = loop_tracker.client.search_runs([loop_tracker.experiment_id],
                                          filter_string="attributes.status = 'FINISHED'",
                                          max_results=10_000)
    completed = {int(r.data.params["iteration"]) for r in done}
    todo = sum(it not in completed for it in range(problem.iterations))
    loop_started = time.perf_counter()
    records = []
    for it in range(problem.iterations):
        if it in completed:
            continue
        x, values, failed, rows = history(tracker, problem)
        evaluated_keys = {r["key"] for r in rows}
        new, info = loop_of(rows, x, values, failed).ask(
            it, final=it >= problem.iterations - FINAL_TARGET_ITERATIONS)
        tiers = info["fidelities"]
        fresh = [(p, t) for p, t in zip(new, tiers, strict=True)
                 if make_point(problem.inputs(p), t, problem.seed, problem.c_rates,
                               materials=problem.material_set)["key"] not in evaluated_keys]
        if len(fresh) < len(new):
            say(f"iteration {it}: {len(new) - len(fresh)} proposal(s) repeat an evaluated "
                f"point; not re-run")
        say(f"iteration {it}: {info['path']} proposes "
            + "; ".join(", ".join(f"{n} {v:.4g}" for n, v in zip(problem.names, p,
                                                                  strict=True))
                        + (f" at {t}" if problem.multifidelity else "")
                        for p, t in zip(new, tiers, strict=True)))
        evaluate([p for p, _ in fresh], [t for _, t in fresh], str(it))
        x, values, failed, rows = history(tracker, problem)
        loop = loop_of(rows, x, values, failed)
        best_i, best_v = loop.best()
        record = {"iteration": it, "path": info["path"], "proposals": new.tolist(),
                  "fidelities": tiers, "spent_s": loop.spent_s(),
                  "evaluations": len(rows), "failed": int(failed.sum()),
                  "feasible": int(sum(problem.feasible({n: r[n] for n in problem.outputs})
                                      for r in rows if not r["failed"])),
                  "best_so_far": best_v, "fit_notes": info.get("fit_notes", []),
                  "replaced_in_failed_region": info.get("replaced_in_failed_region", 0)}
        with mlflow.start_run(experiment_id=loop_tracker.experiment_id,
                              run_name=f"iteration {it}"):
            mlflow.log_params({"iteration": it, "q": problem.q, "path": info["path"],
                               "objective": problem.objective, **loop_tracker.version})
            metrics = {k: float(record[k]) for k in ("evaluations", "failed", "feasible")}
            if math.isfinite(best_v):
                metrics["best_so_far"] = best_v
            mlflow.log_metrics(metrics)
            with tempfile.TemporaryDirectory() as tmp:
                Path(tmp, "iteration.json").write_text(json.dumps(record, indent=1))
                mlflow.log_artifacts(tmp)
        records.append(record)
        done = len(records)
        say(f"iteration {it}: best feasible {problem.objective} so far "
            + (f"{best_v:.5g}" if math.isfinite(best_v) else "none")
            + f" ({done} of {todo} iterations this run: "
            + eta_text(done, todo, time.perf_counter() - loop_started) + ")")
    x, values, failed, rows = history(tracker, problem)
    loop = loop_of(rows, x, values, failed)
    best_i, best_v = loop.best()
    result = {"experiment": experiment, "evaluations": len(rows), "failed": int(failed.sum()),
              "iterations_run": len(records), "records": records,
              "spent_s": loop.spent_s(), "tier_costs_s": loop.costs,
              "history": [{**dict(zip(problem.names, r["x"], strict=True)),
                           **{n: r[n] for n in problem.outputs}, "failed": r["failed"],
                           "iteration": r["iteration"], "fidelity": r["fidelity"]}
                          for r in rows]}
    if best_i is None:
        result["best"] = None
        result["message"] = "no feasible point found yet"
    else:
        result["best"] = {"inputs": problem.inputs(x[best_i]), "objective": best_v,
                          **{n: float(values[n][best_i]) for n in problem.outputs},
                          "run_id": rows[best_i]["run_id"]}
    return result
