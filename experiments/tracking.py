"""MLflow tracking of simulations: one run per simulated point, read back as a dataset.

Store: ``$MLFLOW_TRACKING_URI`` if set, else the SQLite file ``mlflow.db`` in the working
directory (``sqlite:///<cwd>/mlflow.db``), with the artifacts of a SQLite store in
``mlartifacts/`` beside the database.  Open the UI on it with

    mlflow ui --backend-store-uri sqlite:///mlflow.db

Each run holds: params (every process input, fidelity, seed, C-rates, package version, git
commit), tags (``point_key``: the hash of everything that defines the result, and the error of
a failed run), metrics (:meth:`physics.pipeline.RunResult.metrics`) and artifacts (curves as
CSV, plots as PNG, the compressed calendered structure, result.json).  Logging happens in the
driver process only (workers return their results), so many workers never contend for the
SQLite file.  ``import mlflow`` takes seconds, so it is imported inside the functions.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

DEFAULT_EXPERIMENT = "electrode-twin"
POINT_KEY_TAG = "point_key"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` or ``sqlite:///<cwd>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def code_version() -> dict[str, str]:
    """Package version and the git commit of the source tree ("unknown" outside a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("electrode-twin")
    except PackageNotFoundError:
        package = "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent, timeout=10,
                                check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"package_version": package, "git_commit": commit or "unknown"}


def run_provenance() -> dict[str, str]:
    """What a versioned result file records about the run that wrote it: code version, the
    command line, Python and numba versions and the UTC time of writing."""
    import platform
    import sys
    from datetime import UTC, datetime

    import numba

    return {**code_version(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": platform.python_version(), "numba": numba.__version__,
            "written_utc": datetime.now(UTC).isoformat(timespec="seconds")}


class Tracker:
    """One MLflow experiment in one store; logs finished and failed simulations."""

    def __init__(self, experiment: str = DEFAULT_EXPERIMENT, uri: str | None = None):
        import mlflow
        from mlflow import MlflowClient

        self.uri = uri or tracking_uri()
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=self._artifact_root(experiment))
        else:
            self.experiment_id = found.experiment_id
        self.experiment = experiment
        self.version = code_version()

    def _artifact_root(self, experiment: str) -> str | None:
        if not self.uri.startswith("sqlite:///"):
            return None  # a server or another store chooses its own
        db = Path(self.uri.removeprefix("sqlite:///"))
        return (db.parent / "mlartifacts" / experiment).resolve().as_uri()

    def finished_keys(self) -> set[str]:
        """Point keys that already have a FINISHED run."""
        keys: set[str] = set()
        token = None
        while True:
            page = self.client.search_runs([self.experiment_id],
                                           filter_string="attributes.status = 'FINISHED'",
                                           max_results=1000, page_token=token)
            keys.update(r.data.tags.get(POINT_KEY_TAG, "") for r in page)
            token = page.token
            if not token:
                return keys - {""}

    def mark_stale_runs_failed(self, keys: set[str]) -> int:
        """Runs of these point keys left RUNNING by a killed driver become FAILED (returns how
        many).  Only the keys about to be simulated again are touched, so another batch on
        other points of the same experiment keeps its runs."""
        stale = [run for run in self.client.search_runs(
            [self.experiment_id], filter_string="attributes.status = 'RUNNING'",
            max_results=10_000) if run.data.tags.get(POINT_KEY_TAG) in keys]
        for run in stale:
            self.client.set_tag(run.info.run_id, "error", "interrupted: the driver stopped")
            self.client.set_terminated(run.info.run_id, status="FAILED")
        return len(stale)

    def log(self, point: dict, payload: dict, tags: dict[str, str] | None = None) -> str:
        """Log one simulated point (``payload`` from :func:`experiments.batch.run_point`) as a
        run, FINISHED or FAILED, with extra ``tags``; returns the run id."""
        from mlflow.entities import Metric, Param, RunTag

        started_ms = int(1000 * payload.get("started", time.time()))
        ended_ms = int(1000 * payload.get("ended", time.time()))
        tags = {**(tags or {}), POINT_KEY_TAG: point["key"], "fidelity": point["fidelity"],
                "mlflow.source.name": "etwin"}
        if payload["status"] == "failed":
            tags["error"] = payload["error"][:4000]
        run = self.client.create_run(self.experiment_id, start_time=started_ms, tags=tags,
                                     run_name=f"{point['fidelity']}-{point['key'][:8]}")
        run_id = run.info.run_id
        try:
            params = {**{k: _param(v) for k, v in point["inputs"].items()},
                      "fidelity": point["fidelity"], "seed": str(point["seed"]),
                      "c_rates": ",".join(f"{c:g}" for c in point["c_rates"]),
                      "cell_model": point.get("cell_model", "p2d"), **self.version}
            metrics = [Metric(k, float(v), ended_ms, 0)
                       for k, v in payload.get("metrics", {}).items()]
            self.client.log_batch(run_id, metrics=metrics,
                                  params=[Param(k, v) for k, v in params.items()],
                                  tags=[RunTag(k, "true" if v else "false") for k, v in
                                        payload.get("cache_hit", {}).items()])
            artifacts = dict(payload.get("artifacts", {}))
            if payload["status"] == "failed":
                artifacts["error.txt"] = payload.get("traceback", payload["error"]).encode()
            if artifacts:
                with tempfile.TemporaryDirectory() as tmp:
                    for name, data in artifacts.items():
                        path = Path(tmp) / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(data)
                    self.client.log_artifacts(run_id, tmp)
        except BaseException:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        self.client.set_terminated(run_id, status="FINISHED" if payload["status"] == "ok"
                                   else "FAILED", end_time=ended_ms)
        return run_id


def _param(value: float) -> str:
    """Short text of a number that reads back exactly: '20', '0.54', '12.345678912345'."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def runs_dataframe(experiment: str = DEFAULT_EXPERIMENT, uri: str | None = None,
                   finished_only: bool = True):
    """The simulations of an experiment as a pandas DataFrame, one row per run: ``run_id``,
    ``status``, ``point_key``, the process inputs, fidelity and seed (as numbers) and every
    metric, with the ``params.``/``metrics.`` prefixes dropped."""
    import mlflow
    import pandas as pd

    from physics.pipeline import INPUT_RANGES

    mlflow.set_tracking_uri(uri or tracking_uri())
    found = mlflow.MlflowClient().get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"no MLflow experiment {experiment!r} in {uri or tracking_uri()}")
    df = mlflow.search_runs(experiment_ids=[found.experiment_id],
                            filter_string="attributes.status = 'FINISHED'"
                            if finished_only else "")
    if df.empty:
        return pd.DataFrame()
    out = pd.DataFrame({"run_id": df["run_id"], "status": df["status"],
                        "point_key": df.get(f"tags.{POINT_KEY_TAG}")})
    for name in [*INPUT_RANGES, "seed"]:
        column = f"params.{name}"
        if column in df:
            out[name] = pd.to_numeric(df[column])
    out["fidelity"] = df.get("params.fidelity")
    for column in df.columns:
        if column.startswith("metrics."):
            out[column.removeprefix("metrics.")] = df[column]
    return out.reset_index(drop=True)


class JobRun:
    """An MLflow run of one job, written through the client (not MLflow's global active run,
    so loops inside a job can open their own runs)."""

    def __init__(self, client, run_id: str):
        self.client = client
        self.run_id = run_id

    def log_metrics(self, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(1000 * time.time())
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, 0)
                                                    for k, v in metrics.items()])

    def log_artifacts(self, directory: str | Path) -> None:
        self.client.log_artifacts(self.run_id, str(directory))

    def log_artifact(self, path: str | Path) -> None:
        self.client.log_artifact(self.run_id, str(path))


@contextmanager
def job_run(experiment: str, job: str, params: dict):
    """A :class:`JobRun` around one job (train, calibrate, variability, ...): params and
    version logged at the start; the caller logs metrics and artifacts inside.  An exception
    (Ctrl-C included) inside marks the run FAILED, so a crashed job is visible as such."""
    from mlflow.entities import Param, RunTag

    tracker = Tracker(experiment)  # creates it with its artifacts beside a SQLite store
    run = tracker.client.create_run(tracker.experiment_id, run_name=job,
                                    tags={"job": job, "mlflow.source.name": "etwin"})
    job_run_ = JobRun(tracker.client, run.info.run_id)
    try:
        tracker.client.log_batch(run.info.run_id, params=[
            Param(k, _job_param(v)) for k, v in {**params, **tracker.version}.items()],
            tags=[RunTag("job", job)])
        yield job_run_
    except BaseException:
        tracker.client.set_terminated(run.info.run_id, status="FAILED")
        raise
    tracker.client.set_terminated(run.info.run_id, status="FINISHED")


def _job_param(value) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


def log_training(experiment: str, report: dict, out_dir: str | Path,
                 params: dict[str, str]) -> str:
    """One MLflow run for a surrogate fit: params, the cross-validation scores as metrics
    (``<output>.<model>.<score>``) and the output directory (models, report, parity plots) as
    artifacts; returns the run id."""
    metrics = {f"{output}.{model}.{score}": float(value)
               for output, rep in report["outputs"].items() for model in ("gp", "sklearn")
               for score, value in rep[model].items() if score != "n"}
    with job_run(experiment, "train", {
            **params, "inputs": ",".join(report["inputs"]), "folds": report["folds"],
            "seed": report["seed"], **{f"{o}.features": "+".join(r["features"]) or "none"
                                       for o, r in report["outputs"].items()}}) as run:
        run.log_metrics(metrics)
        run.log_artifacts(out_dir)
        return run.run_id
