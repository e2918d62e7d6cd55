"""MLflow tracking of simulations: one run per simulated point, read back as a dataset.

Store: ``$MLFLOW_TRACKING_URI`` if set, else the SQLite file ``mlflow.db`` in the working
directory (``sqlite:///<cwd>/mlflow.db``), with the artifacts of a SQLite store in
``mlartifacts/`` beside the database.  Open the UI on it with

    mlflow ui --backend-store-uri sqlite:///mlflow.db

A new SQLite store is created and migrated once, whole, before anything opens it
(:func:`ensure_store`): under an exclusive lock on ``<db>.lock`` beside it, in a temporary
file renamed into place, so processes starting together on a new folder never migrate it at
once and a killed creation leaves no half-migrated database.

Each run holds: params (every process input, fidelity, seed, C-rates, package version, git
commit), tags (``point_key``: the hash of everything that defines the result, the error of
a failed run, which stages came from the stage cache), metrics
(:meth:`physics.pipeline.RunResult.metrics`, and :func:`compute_metrics`) and artifacts
(curves as CSV, plots as PNG, the compressed calendered structure, result.json).  A point's
run is created RUNNING when its computation starts (:meth:`Tracker.start_point`) and ended
FINISHED or FAILED when its result is logged (:meth:`Tracker.log`), so a killed driver leaves
RUNNING runs, which the next batch on those points marks FAILED and ``interrupted``
(:meth:`Tracker.mark_stale_runs_failed`).  Logging happens in the driver process only
(workers return their results), so many workers never contend for the SQLite file.
``import mlflow`` takes seconds, so it is imported inside the functions.
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
INTERRUPTED_TAG = "interrupted"
#: the longest wait for another process creating the same store [s]
STORE_LOCK_TIMEOUT_S = 600.0


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` or ``sqlite:///<cwd>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (absolute; a relative one is relative to the
    working directory), None for any other store and for an in-memory database."""
    from urllib.parse import unquote

    if not uri.startswith("sqlite:///"):
        return None
    path = unquote(uri.removeprefix("sqlite:///").split("?", 1)[0])
    return None if path in ("", ":memory:") else Path(path).absolute()


def ensure_store(uri: str | None = None) -> str:
    """Make sure the SQLite store of ``uri`` (default :func:`tracking_uri`) exists fully
    migrated before anything opens it; returns the URI.  Other stores (a server, a file
    store) are returned untouched.

    MLflow creates a missing database on first use and migrates it there, so processes that
    open a new store at once each run the migrations, and a store can be left half-migrated
    (every later command then fails on it).  Here the first process to take the exclusive
    lock on ``<db>.lock`` creates the store in a temporary file beside it (tables, all
    migrations, the default experiment) and renames it into place; the others wait for the
    lock and find the store whole.  An existing, non-empty database is opened as it is
    (a store written by an older MLflow still needs ``mlflow db upgrade``)."""
    uri = uri or tracking_uri()
    db = sqlite_path(uri)
    if db is None or _store_exists(db):
        return uri
    db.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(db.with_name(db.name + ".lock")):
        if not _store_exists(db):
            _create_store(db)
    return uri


def _store_exists(db: Path) -> bool:
    try:
        return db.stat().st_size > 0  # SQLite leaves an empty file where it only connected
    except OSError:
        return False


def _create_store(db: Path) -> None:
    """The store at ``db``, created whole: migrated in a temporary file, then renamed (the
    caller holds the store's lock)."""
    import glob

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    for stale in db.parent.glob(f".{glob.escape(db.name)}.*.init*"):
        stale.unlink(missing_ok=True)  # left by a creation that was killed
    tmp = db.with_name(f".{db.name}.{os.getpid()}.init")
    try:
        store = SqlAlchemyStore(f"sqlite:///{tmp}", (db.parent / "mlartifacts").as_uri())
        store.engine.dispose()
        os.replace(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _exclusive_lock(path: Path, timeout_s: float = STORE_LOCK_TIMEOUT_S):
    """An exclusive inter-process lock on ``path``: ``filelock`` (``flock`` on POSIX), else
    ``fcntl.flock`` itself; TimeoutError after ``timeout_s``."""
    message = f"{path}: another process held the MLflow store's lock for over {timeout_s:g} s"
    try:
        from filelock import FileLock, Timeout
    except ImportError:
        with _flock(path, timeout_s, message):
            yield
        return
    lock = FileLock(path, timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise TimeoutError(message) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _flock(path: Path, timeout_s: float, message: str):
    import fcntl

    with open(path, "a") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(message) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    """One MLflow experiment in one store; logs the runs of simulated points (RUNNING while
    computed, then FINISHED or FAILED)."""

    def __init__(self, experiment: str = DEFAULT_EXPERIMENT, uri: str | None = None):
        import mlflow
        from mlflow import MlflowClient

        self.uri = ensure_store(uri or tracking_uri())
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)
        self.experiment_id = self._experiment_id(experiment)
        self.experiment = experiment
        self.version = code_version()
        self._last_start_ms = 0

    def _experiment_id(self, experiment: str) -> str:
        """The id of ``experiment``, created if missing; another process creating it at the
        same moment is not an error (its experiment is read back)."""
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(
                experiment, artifact_location=self._artifact_root(experiment))
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                raise
            return found.experiment_id

    def _artifact_root(self, experiment: str) -> str | None:
        db = sqlite_path(self.uri)
        if db is None:
            return None  # a server or another store chooses its own
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
        """Runs of these point keys left RUNNING by a killed driver become FAILED, tagged
        ``interrupted`` (returns how many).  Only the keys about to be simulated again are
        touched, so another batch on other points of the same experiment keeps its runs."""
        stale = [run.info.run_id for run in self.client.search_runs(
            [self.experiment_id], filter_string="attributes.status = 'RUNNING'",
            max_results=10_000) if run.data.tags.get(POINT_KEY_TAG) in keys]
        self.mark_interrupted(stale, "interrupted: the driver stopped")
        return len(stale)

    def mark_interrupted(self, run_ids, reason: str = "interrupted") -> None:
        """End these runs FAILED with the tags ``error`` (``reason``) and ``interrupted``:
        their computation was stopped, it did not fail (an optimization loop does not count
        them as failed evaluations)."""
        from mlflow.entities import RunTag

        for run_id in run_ids:
            self.client.log_batch(run_id, tags=[RunTag("error", reason),
                                                RunTag(INTERRUPTED_TAG, "true")])
            self.client.set_terminated(run_id, status="FAILED")

    def _point_tags(self, point: dict, tags: dict[str, str] | None) -> dict[str, str]:
        return {**(tags or {}), POINT_KEY_TAG: point["key"], "fidelity": point["fidelity"],
                "mlflow.source.name": "etwin"}

    def _point_params(self, point: dict) -> list:
        from mlflow.entities import Param

        params = {**{k: _param(v) for k, v in point["inputs"].items()},
                  "fidelity": point["fidelity"], "seed": str(point["seed"]),
                  "c_rates": ",".join(f"{c:g}" for c in point["c_rates"]),
                  "cell_model": point.get("cell_model", "p2d"), **self.version}
        if "materials" in point:  # the set's name and the hash of its numbers
            from experiments.batch import point_materials

            m = point_materials(point)
            params["materials"] = f"{m.name} ({m.digest()})"
        return [Param(k, v) for k, v in params.items()]

    def start_point(self, point: dict, tags: dict[str, str] | None = None) -> str:
        """A RUNNING run of ``point`` (params and tags logged) for a computation that starts
        now; pass its id to :meth:`log` with the result.  A driver killed in between leaves it
        RUNNING, and :meth:`mark_stale_runs_failed` ends it on the next start.  Runs started
        by one tracker have increasing start times (the order of the evaluations)."""
        start_ms = max(int(1000 * time.time()), self._last_start_ms + 1)
        self._last_start_ms = start_ms
        run = self.client.create_run(self.experiment_id, start_time=start_ms,
                                     tags=self._point_tags(point, tags),
                                     run_name=f"{point['fidelity']}-{point['key'][:8]}")
        try:
            self.client.log_batch(run.info.run_id, params=self._point_params(point))
        except BaseException:
            self.client.set_terminated(run.info.run_id, status="FAILED")
            raise
        return run.info.run_id

    def log(self, point: dict, payload: dict, tags: dict[str, str] | None = None,
            run_id: str | None = None) -> str:
        """Log one simulated point (``payload`` from :func:`experiments.batch.run_point`),
        with extra ``tags``, into the run ``run_id`` from :meth:`start_point` (or a new run),
        and end it FINISHED or FAILED; returns the run id.  Metrics: the payload's and
        :func:`compute_metrics`; tags: per stage whether the stage cache served it, and
        ``cache_hit`` whether it served any."""
        from mlflow.entities import Metric, RunTag

        ended_ms = int(1000 * payload.get("ended", time.time()))
        tags = self._point_tags(point, tags)
        if payload["status"] == "failed":
            tags["error"] = payload["error"][:4000]
        hits = payload.get("cache_hit", {})
        tags.update({stage: "true" if hit else "false" for stage, hit in hits.items()})
        if hits:
            tags["cache_hit"] = "true" if any(hits.values()) else "false"
        if run_id is None:
            started_ms = int(1000 * payload.get("started", time.time()))
            run_id = self.client.create_run(
                self.experiment_id, start_time=started_ms, tags=tags,
                run_name=f"{point['fidelity']}-{point['key'][:8]}").info.run_id
            params, run_tags = self._point_params(point), []
        else:  # started RUNNING: its params are logged
            params, run_tags = [], [RunTag(k, v) for k, v in tags.items()]
        try:
            metrics = [Metric(k, float(v), ended_ms, 0) for k, v in
                       {**payload.get("metrics", {}), **compute_metrics(payload)}.items()]
            self.client.log_batch(run_id, metrics=metrics, params=params, tags=run_tags)
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


def compute_metrics(payload: dict) -> dict[str, float]:
    """The compute-time metrics of a point's payload, beside its ``wall_<stage>_s`` (the time
    of this call, a stage served from the stage cache counting only its reading):
    ``compute_<stage>_s``, the seconds the stage took when it was computed (this call's wall
    time for a stage it computed; for a cached stage the seconds recorded when it was
    computed, ``payload["compute_s"][stage]``, left out where none were recorded);
    ``compute_total_s`` where every stage has one; ``cache_hit_stages``, how many stages the
    cache served."""
    wall = payload.get("metrics", {})
    hits = payload.get("cache_hit", {})
    recorded = payload.get("compute_s") or {}
    out: dict[str, float] = {}
    for stage, hit in hits.items():
        seconds = recorded.get(stage) if hit else wall.get(f"wall_{stage}_s")
        if seconds is not None:
            out[f"compute_{stage}_s"] = float(seconds)
    if hits:
        if len(out) == len(hits):
            out["compute_total_s"] = sum(out.values())
        out["cache_hit_stages"] = float(sum(bool(hit) for hit in hits.values()))
    return out


def _param(value: float) -> str:
    """Short text of a number that reads back exactly: '20', '0.54', '12.345678912345'."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def runs_dataframe(experiment: str = DEFAULT_EXPERIMENT, uri: str | None = None,
                   finished_only: bool = True):
    """The simulations of an experiment as a pandas DataFrame, one row per run: ``run_id``,
    ``status``, ``point_key``, the process inputs, fidelity and seed (as numbers), the
    material set (name and digest, where one was given) and every metric, with the
    ``params.``/``metrics.`` prefixes dropped."""
    import mlflow
    import pandas as pd

    from physics.pipeline import INPUT_RANGES

    uri = ensure_store(uri or tracking_uri())
    mlflow.set_tracking_uri(uri)
    found = mlflow.MlflowClient(uri).get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"no MLflow experiment {experiment!r} in {uri}")
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
    if "params.materials" in df:
        out["materials"] = df["params.materials"]
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
    metrics.update({f"{output}.{key}": float(rep[key])
                    for output, rep in report["outputs"].items()
                    for key in ("replicate_noise_sd", "noise_floor_sd")})
    with job_run(experiment, "train", {
            **params, "inputs": ",".join(report["inputs"]), "folds": report["folds"],
            "seed": report["seed"], **{f"{o}.features": "+".join(r["features"]) or "none"
                                       for o, r in report["outputs"].items()}}) as run:
        run.log_metrics(metrics)
        run.log_artifacts(out_dir)
        return run.run_id
