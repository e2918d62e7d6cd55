"""Batches of simulations through a ``concurrent.futures.Executor``, tracked in MLflow.

Executors (:func:`make_executor`):
- ``local`` (default): a process pool (spawned workers).  Each worker gets
  ``NUMBA_NUM_THREADS = cores // workers`` before numba is imported, so the workers together
  use the cores once and never oversubscribe them.
- ``dask-local``: a Dask ``LocalCluster`` (worker processes, one thread each, numba threads
  set through the nanny's pre-spawn environment) behind ``Client.get_executor()``.
- ``tcp://host:port``: an existing Dask scheduler.  On a SLURM cluster, start one with
  dask-jobqueue and point ``--executor`` at it, e.g. in Python::

      from dask_jobqueue import SLURMCluster
      cluster = SLURMCluster(cores=8, processes=8, memory="32GB", walltime="04:00:00",
                             job_script_prologue=["export NUMBA_NUM_THREADS=1"])
      cluster.scale(jobs=4)
      print(cluster.scheduler_address)  # tcp://...: etwin sweep --executor tcp://...

  The workers need this package installed and a shared ``--cache-dir``, or each worker
  builds its own stage cache.

Workers run :func:`run_point` and return a payload (status, metrics, artifacts as bytes); a
failed simulation becomes a payload with its error, never an exception that stops the batch.
The driver starts each point's MLflow run (RUNNING) as it submits the point and logs the
payload into it as it arrives, so a batch stopped half-way keeps its finished runs and shows
the stopped ones (FAILED and tagged ``interrupted``; RUNNING where the driver was killed, until
the next batch on them), and the same command resumes it: points whose key already has a
FINISHED run are skipped (:func:`run_batch`).

Designs (:func:`grid_points`, :func:`sobol_points`, :func:`csv_points`) produce lists of
process-input dicts; every point takes the defaults of :class:`physics.pipeline.ProcessInputs`
for the inputs it does not name.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import itertools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


# -------------------------------------------------------------------------------- points
def make_point(inputs: dict, fidelity: str, seed: int, c_rates: Sequence[float],
               cell_model: str = "p2d", materials=None) -> dict:
    """A validated point: inputs (every process input, floats), fidelity, seed, C-rates and its
    key (and the cell model where it is not the default P2D, and the material set
    (:class:`physics.material_sets.MaterialSet`) where one is given: its recipe and AM
    properties are then the defaults of the inputs not in ``inputs``)."""
    from physics.fidelity import check_fidelity
    from physics.pipeline import ProcessInputs, check_c_rates, point_key

    defaults = materials.process_defaults() if materials is not None else {}
    process = ProcessInputs.from_dict({**defaults, **inputs})
    rates = check_c_rates(c_rates)
    check_fidelity(fidelity)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed}")
    point = {"inputs": process.to_dict(), "fidelity": fidelity, "seed": int(seed),
             "c_rates": list(rates),
             "key": point_key(process, fidelity, int(seed), rates, cell_model, materials)}
    if cell_model != "p2d":
        point["cell_model"] = cell_model
    if materials is not None:
        point["materials"] = materials.to_dict()
    return point


def _input_name(name: str) -> str:
    from physics.pipeline import INPUT_RANGES

    name = name.strip()
    if name not in INPUT_RANGES:
        raise ValueError(f"unknown process input {name!r}; allowed: {', '.join(INPUT_RANGES)}")
    return name


def grid_points(spec: str) -> list[dict]:
    """Full factorial grid from ``"pressure_mpa=5,20;temperature_c=25,60"``."""
    axes: dict[str, list[float]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, _, values = part.partition("=")
        try:
            axes[_input_name(name)] = [float(v) for v in values.split(",")]
        except ValueError as err:
            if "unknown process input" in str(err):
                raise
            raise ValueError(f"--grid {part!r}: expected name=v1,v2,... with numbers") from None
    if not axes:
        raise ValueError("--grid: give at least one name=v1,v2,... axis")
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def parse_bounds(spec: str) -> dict[str, tuple[float, float]]:
    """``"pressure_mpa=1:100,temperature_c=25:120"`` -> {name: (low, high)} inside the input
    ranges, low < high."""
    from physics.pipeline import INPUT_RANGES

    bounds: dict[str, tuple[float, float]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, rng = part.partition("=")
        name = _input_name(name)
        try:
            lo, hi = (float(v) for v in rng.split(":"))
        except ValueError:
            raise ValueError(f"--bounds {part!r}: expected name=low:high") from None
        allowed = INPUT_RANGES[name]
        if not (allowed[0] <= lo < hi <= allowed[1]):
            raise ValueError(f"--bounds {name}: need {allowed[0]} <= low < high <= "
                             f"{allowed[1]}, got {lo}:{hi}")
        bounds[name] = (lo, hi)
    if not bounds:
        raise ValueError("--bounds: give at least one name=low:high")
    return bounds


def sobol_points(bounds: dict[str, tuple[float, float]], n: int, seed: int = 0) -> list[dict]:
    """``n`` points of a scrambled Sobol sequence (scipy.stats.qmc) over ``bounds``."""
    from scipy.stats import qmc

    if n < 1:
        raise ValueError(f"--sobol must be >= 1, got {n}")
    unit = qmc.Sobol(d=len(bounds), scramble=True, seed=seed).random(n)
    lo = [b[0] for b in bounds.values()]
    hi = [b[1] for b in bounds.values()]
    scaled = qmc.scale(unit, lo, hi)
    return [dict(zip(bounds, map(float, row), strict=True)) for row in scaled]


def csv_points(path: str | Path) -> list[dict]:
    """Points from a CSV file whose header names process inputs."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise ValueError(f"--points {path}: cannot read it ({err})") from None
    if not rows:
        raise ValueError(f"--points {path}: no data rows (expected a header of process "
                         "inputs and one row per point)")
    names = [_input_name(n) for n in rows[0]]
    points = []
    for line, row in enumerate(rows, start=2):
        try:
            points.append({n: float(row[n]) for n in names})
        except (TypeError, ValueError):
            bad = next(n for n in names if not _is_number(row[n]))
            raise ValueError(f"--points {path}, line {line}: {bad} = {row[bad]!r}; expected a "
                             "number") from None
    return points


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


# -------------------------------------------------------------------------------- worker
def _init_worker(numba_threads: int) -> None:
    """Process-pool initializer: numba's thread count before its threads start.

    A spawned worker re-imports the driver's main module first; for ``etwin`` that imports
    numba (through ``physics``), whose pool size is then fixed (cores, or an inherited
    NUMBA_NUM_THREADS).  The variable is left alone in that case (numba's next compilation
    would fail on a changed value) and the worker uses at most ``numba_threads`` of the
    pool."""
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(numba_threads)
    else:
        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))


def point_materials(point: dict):
    """The material set of a point (None: Table 2's electrode)."""
    if "materials" not in point:
        return None
    from physics.material_sets import MaterialSet

    return MaterialSet.from_dict(point["materials"])


def run_point(point: dict, cache_dir: str | None = None,
              numba_threads: int | None = None) -> dict:
    """Simulate one point (in a worker) and return the payload the driver logs: status "ok"
    with metrics, cache hits, the summary and the artifacts as bytes, or status "failed" with
    the error and its traceback.  Never raises."""
    started = time.time()
    try:
        if numba_threads:
            import numba

            numba.set_num_threads(min(numba_threads, numba.config.NUMBA_NUM_THREADS))
        from physics.pipeline import ProcessInputs, simulate

        result = simulate(ProcessInputs(**point["inputs"]), point["fidelity"], point["seed"],
                          c_rates=point["c_rates"], cache_dir=cache_dir,
                          cell_model=point.get("cell_model", "p2d"),
                          materials=point_materials(point))
        return {"status": "ok", "metrics": result.metrics(), "cache_hit": result.cache_hit,
                "compute_s": result.compute_s,
                "summary": result.summary(), "artifacts": result_artifacts(result),
                "started": started, "ended": time.time()}
    except Exception as err:  # a failed simulation is a result, not a crash of the batch
        return {"status": "failed", "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(), "started": started, "ended": time.time()}


def result_artifacts(result) -> dict[str, bytes]:
    """Curves (CSV), plots (PNG), the calendered structure (.npz) and result.json."""
    import json
    import tempfile

    from experiments.files import csv_text, json_safe
    from experiments.plots import plot_discharge, plot_nyquist, plot_press_trace

    out: dict[str, bytes] = {}
    curves = result.curves
    discharge_curves = []
    for rate, d in curves["discharge"].items():
        out[f"curves/discharge_{rate}C.csv"] = csv_text([
            {"time_s": t, "capacity_mah_g": q, "voltage_v": v} for t, q, v in
            zip(d["time_s"], d["capacity_curve_mah_g"], d["voltage_v"], strict=True)]).encode()
        discharge_curves.append((f"{rate}C: {d['capacity_mah_g']:.1f} mAh/g",
                                 d["capacity_curve_mah_g"], d["voltage_v"]))
    imp = curves["impedance"]
    out["curves/impedance_blocking_symmetric.csv"] = csv_text([
        {"frequency_hz": f, "re_z_ohm_m2": re, "im_z_ohm_m2": im} for f, re, im in
        zip(imp["frequency_hz"], imp["re_ohm_m2"], imp["im_ohm_m2"], strict=True)]).encode()
    out["curves/press_trace.csv"] = csv_text(curves["press_trace"]).encode()
    with tempfile.TemporaryDirectory() as tmp:
        import numpy as np

        z = np.asarray(imp["re_ohm_m2"]) + 1j * np.asarray(imp["im_ohm_m2"])
        plots = {
            "plots/discharge.png": lambda p: plot_discharge(discharge_curves, p),
            "plots/nyquist_blocking.png": lambda p: plot_nyquist(
                [(f"τ_EIS {result.tau_eis:.2f}", z, None)], p, title="symmetric blocking cell"),
            "plots/press_trace.png": lambda p: plot_press_trace(
                curves["press_trace"], p, title=f"{result.inputs.pressure_mpa:g} MPa")}
        for name, draw in plots.items():
            path = Path(tmp) / Path(name).name
            draw(path)
            out[name] = path.read_bytes()
    if result.structure_path and Path(result.structure_path).is_file():
        out["structure/calendered.npz"] = Path(result.structure_path).read_bytes()
    out["result.json"] = json.dumps(json_safe(result.summary()), indent=1).encode()
    return out


# ------------------------------------------------------------------------------ executors
def make_executor(spec: str, workers: int) -> tuple[cf.Executor, Callable[[], None], int]:
    """(executor, close, numba threads per worker) for "local", "dask-local" or
    "tcp://host:port" (module docstring)."""
    cores = os.cpu_count() or 1
    threads = max(1, cores // workers)
    if spec == "local":
        import multiprocessing

        pool = cf.ProcessPoolExecutor(max_workers=workers,
                                      mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_init_worker, initargs=(threads,))

        def close() -> None:
            # a stopped batch must not wait for the running simulations: end the workers
            # (their finished stages stay in the cache), then the pool
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)

        return pool, close, threads
    if spec == "dask-local" or spec.startswith("tcp://"):
        import dask
        from distributed import Client, LocalCluster

        driver_threads = os.environ.get("NUMBA_NUM_THREADS")

        def restore_driver_environ() -> None:
            # the nannies run in this process and write their pre-spawn environment into
            # it; a changed NUMBA_NUM_THREADS would fail numba's next compilation here
            if driver_threads is None:
                os.environ.pop("NUMBA_NUM_THREADS", None)
            else:
                os.environ["NUMBA_NUM_THREADS"] = driver_threads

        if spec == "dask-local":
            with dask.config.set(
                    {"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": threads}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
            restore_driver_environ()
            client = Client(cluster)
        else:
            cluster, client = None, Client(spec, timeout=30)

        def close() -> None:
            client.close()
            if cluster is not None:
                cluster.close()
            restore_driver_environ()

        return client.get_executor(), close, threads if spec == "dask-local" else 0
    raise ValueError(f"--executor {spec!r} is unknown; allowed: local, dask-local, "
                     f"tcp://host:port")


# ---------------------------------------------------------------------------------- batch
@dataclass(frozen=True)
class BatchReport:
    """What a batch did: rows (one per point: key, inputs, status, metrics or error),
    how many points were skipped as already finished, ran, failed, and the wall time."""

    rows: list[dict]
    skipped: int
    finished: int
    failed: int
    wall_s: float
    interrupted: bool


def run_batch(points: Sequence[dict], *, executor: str = "local", workers: int | None = None,
              cache_dir: str | None = None, experiment: str | None = None,
              tracking_uri: str | None = None, progress: bool = True,
              log: Callable[[str], None] | None = None,
              tags: dict[str, str] | None = None) -> BatchReport:
    """Simulate ``points`` (from :func:`make_point`) in parallel, logging each as an MLflow
    run (with ``tags``) that is RUNNING from the point's submission to its result; points
    with a FINISHED run already are skipped (resume).  Ctrl-C stops the batch, keeping every
    run finished so far; the runs of the points it stopped end FAILED, tagged
    ``interrupted``."""
    from tqdm import tqdm

    from experiments.tracking import DEFAULT_EXPERIMENT, Tracker

    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    tracker = Tracker(experiment or DEFAULT_EXPERIMENT, tracking_uri)
    done = tracker.finished_keys()
    unique = list({p["key"]: p for p in points}.values())
    todo = [p for p in unique if p["key"] not in done]
    stale = tracker.mark_stale_runs_failed({p["key"] for p in todo})
    if stale:
        say(f"{stale} run(s) left RUNNING by an interrupted driver marked FAILED")
    skipped = len(unique) - len(todo)
    if skipped:
        say(f"{skipped} of {len(unique)} points already have a finished run in experiment "
            f"{tracker.experiment!r}: skipped")
    rows = [{"key": p["key"], **p["inputs"], "seed": p["seed"], "status": "skipped"}
            for p in unique if p["key"] in done]
    if not todo:
        return BatchReport(rows, skipped, 0, 0, time.perf_counter() - t0, False)
    workers = max(1, min(workers or (os.cpu_count() or 1), len(todo)))
    if workers > 1 and executor == "local":
        # points of one recipe share their dried film: dry it once here on every core
        # instead of in each worker at once
        from physics.pipeline import ProcessInputs, dry_stage

        for p in {(ProcessInputs(**q["inputs"]).recipe(point_materials(q)), q["fidelity"],
                    q["seed"]): q for q in todo}.values():
            dry_stage(ProcessInputs(**p["inputs"]), p["fidelity"], p["seed"], cache_dir,
                      note=lambda stage, message: say(f"[{stage}] {message}"),
                      materials=point_materials(p))
    pool, close, threads = make_executor(executor, workers)
    say(f"{len(todo)} point(s) on {executor} with {workers} worker(s)"
        + (f", {threads} numba thread(s) each" if threads else ""))
    finished = failed = 0
    interrupted = False
    bar = tqdm(total=len(todo), desc="simulations", file=sys.stderr, disable=not progress)
    running: dict[str, None] = {}  # run ids started RUNNING and not logged yet
    try:
        futures = {}
        for p in todo:  # each point's run is RUNNING from its submission to its result
            run_id = tracker.start_point(p, tags)
            running[run_id] = None
            futures[pool.submit(run_point, p, cache_dir, threads or None)] = (p, run_id)
        for future in cf.as_completed(futures):
            point, run_id = futures[future]
            try:
                payload = future.result()
            except Exception as err:  # the worker itself died (killed, out of memory)
                payload = {"status": "failed", "error": f"worker lost: {err}"}
            tracker.log(point, payload, tags, run_id=run_id)
            running.pop(run_id)
            row = {"key": point["key"], **point["inputs"], "seed": point["seed"],
                   "status": payload["status"], "run_id": run_id}
            if payload["status"] == "ok":
                finished += 1
                row.update(payload["metrics"])
                cached = [st for st, hit in payload["cache_hit"].items() if hit]
                if progress:
                    bar.write(f"point {point['key'][:8]} done in "
                              f"{payload['metrics']['wall_total_s']:.1f} s"
                              + (f"; cache hits: {', '.join(cached)}" if cached else ""),
                              file=sys.stderr)
            else:
                failed += 1
                row["error"] = payload["error"]
                say(f"point {point['key'][:8]} failed: {payload['error']}")
            rows.append(row)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: finished runs are kept in MLflow; run the same command to resume")
    finally:
        bar.close()
        close()
        if running:  # stopped before their results: FAILED and tagged interrupted
            try:
                tracker.mark_interrupted(running, "interrupted: the batch was stopped")
            except Exception as err:  # left RUNNING: the next batch on them marks them
                say(f"{len(running)} run(s) left RUNNING ({type(err).__name__}: {err})")
    return BatchReport(rows, skipped, finished, failed, time.perf_counter() - t0, interrupted)


def _task_key(task: dict, file_field: str, file_hash: str) -> str:
    body = {k: v for k, v in task.items() if k != file_field} | {file_field: file_hash}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]


def run_cached_tasks(tasks: Sequence[dict], runs_dir: Path, *, run: Callable[[dict], dict],
                     file_field: str, hashes: dict[str, str], inline: bool = False,
                     executor: str = "local", workers: int = 1, desc: str = "runs",
                     quiet: bool = False) -> list[dict]:
    """Results of ``tasks`` in order (the design runs of a calibration): a task's result is
    read from ``runs_dir/<key>.json`` where a finished run left one, else ``run(task)`` is
    called (inline, or on the executor when ``workers`` > 1; ``run`` must be a module-level
    function that never raises) and its result written atomically as it finishes, so a
    stopped job resumes without redoing finished runs.  The key hashes the task with its
    input file (``task[file_field]``) replaced by the file's content hash ``hashes[path]``."""
    from tqdm import tqdm

    from experiments.files import write_json_atomic

    runs_dir.mkdir(parents=True, exist_ok=True)
    paths = [runs_dir / f"{_task_key(t, file_field, hashes[t[file_field]])}.json"
             for t in tasks]
    results: list[dict | None] = [json.loads(p.read_text()) if p.is_file() else None
                                  for p in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="run",
               disable=quiet)

    def done(i: int, result: dict) -> None:
        write_json_atomic(paths[i], result)
        results[i] = result
        bar.update()

    if inline or workers <= 1 or len(todo) <= 1:
        for i in todo:
            done(i, run(tasks[i]))
    elif todo:
        pool, close, _ = make_executor(executor, min(workers, len(todo)))
        try:
            futures = {pool.submit(run, tasks[i]): i for i in todo}
            for fut in cf.as_completed(futures):
                done(futures[fut], fut.result())
        finally:
            close()
    bar.close()
    return results  # type: ignore[return-value]
