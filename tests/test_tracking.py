"""The MLflow store under concurrent processes, and the life of a point's run: RUNNING while
computed, FINISHED or FAILED at the end, FAILED and ``interrupted`` where its driver stopped;
a point served from the stage cache records the wall time of the call and the compute time.

The points here are not simulated: the batch's worker function is replaced by a stub (a real
point costs minutes; tests/test_pipeline.py runs real ones through the same code)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import experiments.batch as batch
from experiments.tracking import (
    INTERRUPTED_TAG,
    POINT_KEY_TAG,
    Tracker,
    compute_metrics,
    ensure_store,
    sqlite_path,
)

ROOT = Path(__file__).resolve().parents[1]

#: one process of the race: imports done, it waits for the start signal, then opens the
#: default store of its working directory and logs one run
RACER = """
import sys, time
from pathlib import Path

import alembic.command  # noqa: F401  (imports before the start: the race is the store's)
import mlflow
import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

from experiments.tracking import Tracker

i = sys.argv[1]
Path(f"ready-{i}").touch()
while not Path("go").exists():
    time.sleep(0.005)
tracker = Tracker("race")
tracker.log({"key": i * 16, "fidelity": "ci", "seed": 0, "c_rates": [1.0],
             "inputs": {"pressure_mpa": 20.0}},
            {"status": "ok", "metrics": {"tau_z": float(i)}})
"""


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return {**env, **extra}


def test_processes_starting_together_on_a_new_store_all_log(tmp_path):
    """Four processes open the same new default store (``./mlflow.db``) at one moment and
    log a run each: all succeed, the store holds one experiment with four runs, and another
    process reads it.  Without the store's creation under its lock they migrate it at once
    and fail."""
    n = 4
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(i)], cwd=tmp_path,
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(1, n + 1)]
    try:
        deadline = time.time() + 120
        while sum((tmp_path / f"ready-{i}").exists() for i in range(1, n + 1)) < n:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.time() < deadline, "the racers took over 2 minutes to import"
            time.sleep(0.05)
        (tmp_path / "go").touch()
        results = [(p.wait(timeout=180), p.communicate()[1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(rc == 0 for rc, _ in results), "\n".join(err[-3000:] for _, err in results)

    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)  # this process did not take part: it opens the store anew
    experiments = [e for e in client.search_experiments() if e.name == "race"]
    assert len(experiments) == 1
    runs = client.search_runs([experiments[0].experiment_id])
    assert sorted(r.data.tags[POINT_KEY_TAG] for r in runs) == [
        str(i) * 16 for i in range(1, n + 1)]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert not list(tmp_path.glob(".mlflow.db.*"))  # no creation left behind


def test_store_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:////data/a%20b/mlflow.db?timeout=30") == Path("/data/a b/mlflow.db")
    assert sqlite_path("sqlite:///rel/mlflow.db") == tmp_path / "rel" / "mlflow.db"
    for other in ("http://localhost:5000", "file:///tmp/mlruns", "sqlite:///:memory:",
                  "postgresql://u@h/db"):
        assert sqlite_path(other) is None
        assert ensure_store(other) == other  # passed through, nothing created
    assert list(tmp_path.iterdir()) == []
    # an empty file (SQLite connected, nothing written) is no store: it is created whole
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "mlflow.db").touch()
    (tmp_path / "rel" / ".mlflow.db.999.init").write_bytes(b"killed half-way")
    ensure_store("sqlite:///rel/mlflow.db")
    assert (tmp_path / "rel" / "mlflow.db").stat().st_size > 0
    assert not (tmp_path / "rel" / ".mlflow.db.999.init").exists()
    tracker = Tracker("e", "sqlite:///rel/mlflow.db")
    assert tracker.experiment_id == Tracker("e", "sqlite:///rel/mlflow.db").experiment_id

    # another process creates the experiment between this one's look-up and its creation
    from mlflow import MlflowClient

    look_up = MlflowClient.get_experiment_by_name
    calls = []

    def late(client, name):
        calls.append(name)
        return None if len(calls) == 1 else look_up(client, name)

    monkeypatch.setattr(MlflowClient, "get_experiment_by_name", late)
    assert Tracker("e", "sqlite:///rel/mlflow.db").experiment_id == tracker.experiment_id
    assert calls == ["e", "e"]


def _point(pressure: float = 20.0) -> dict:
    return batch.make_point({"pressure_mpa": pressure}, "ci", 0, [1.0])


def _payload(cached: bool, compute_s: dict | None = None) -> dict:
    stages = ("dry", "calender", "transport", "cell")
    wall = {s: 0.01 if cached else 10.0 * (i + 1) for i, s in enumerate(stages)}
    payload = {"status": "ok", "started": time.time() - 1, "ended": time.time(),
               "metrics": {"tau_z": 2.5, **{f"wall_{s}_s": w for s, w in wall.items()},
                           "wall_total_s": sum(wall.values())},
               "cache_hit": dict.fromkeys(stages, cached)}
    if compute_s is not None:
        payload["compute_s"] = compute_s
    return payload


@pytest.fixture
def threads(monkeypatch):
    """Batches run their points on threads of this process, so the stubs below apply."""
    monkeypatch.setattr(batch, "make_executor", lambda spec, workers: (
        cf.ThreadPoolExecutor(workers), lambda: None, 0))


#: a batch whose point never ends (its worker stuck), to be killed
STUCK_BATCH = """
import concurrent.futures as cf
import time

import experiments.batch as batch

def stuck(point, cache_dir=None, threads=None):
    time.sleep(600)

batch.run_point = stuck
batch.make_executor = lambda spec, workers: (cf.ThreadPoolExecutor(workers), lambda: None, 0)
batch.run_batch([batch.make_point({"pressure_mpa": 20.0}, "ci", 0, [1.0])], workers=1,
                progress=False, experiment="killed")
"""


def test_a_killed_batch_leaves_a_running_run_that_the_next_batch_ends(tmp_path, threads,
                                                                      monkeypatch):
    """The point's run is RUNNING (with its params) while computed; the driver killed, it stays
    RUNNING; the next batch on the point marks it FAILED and interrupted and logs the point
    anew, served from the stage cache: its wall times are the cache reads and its compute
    times those recorded when the stages were computed."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracker = Tracker("killed")
    point = _point()
    proc = subprocess.Popen([sys.executable, "-c", STUCK_BATCH], cwd=tmp_path,
                            env=_env(MLFLOW_TRACKING_URI=uri), stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (running := tracker.client.search_runs(
                [tracker.experiment_id], filter_string="attributes.status = 'RUNNING'")):
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline, "the batch started no run in 2 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (run,) = running
    assert run.data.tags[POINT_KEY_TAG] == point["key"]
    assert run.data.params["pressure_mpa"] == "20" and run.data.params["fidelity"] == "ci"
    assert tracker.client.get_run(run.info.run_id).info.status == "RUNNING"  # after the kill
    assert tracker.finished_keys() == set()

    recorded = {"dry": 95.0, "calender": 140.0, "transport": 30.0}  # no record for the cell
    monkeypatch.setattr(batch, "run_point", lambda p, cache_dir=None, threads=None:
                        _payload(cached=True, compute_s=recorded))
    messages = []
    report = batch.run_batch([point], workers=1, progress=False, experiment="killed",
                             log=messages.append)
    assert (report.finished, report.failed, report.interrupted) == (1, 0, False)
    assert "1 run(s) left RUNNING by an interrupted driver marked FAILED" in messages
    stale = tracker.client.get_run(run.info.run_id)
    assert stale.info.status == "FAILED"
    assert stale.data.tags[INTERRUPTED_TAG] == "true"
    assert stale.data.tags["error"].startswith("interrupted")
    assert tracker.finished_keys() == {point["key"]}

    redone = tracker.client.get_run(report.rows[0]["run_id"])
    metrics, tags = redone.data.metrics, redone.data.tags
    assert redone.info.status == "FINISHED" and redone.data.params["pressure_mpa"] == "20"
    assert tags["cache_hit"] == "true" and tags["dry"] == "true"
    assert metrics["wall_dry_s"] == 0.01 and metrics["wall_total_s"] == pytest.approx(0.04)
    assert (metrics["compute_dry_s"], metrics["compute_calender_s"],
            metrics["compute_transport_s"]) == (95.0, 140.0, 30.0)
    assert "compute_cell_s" not in metrics and "compute_total_s" not in metrics
    assert metrics["cache_hit_stages"] == 4


def test_a_stopped_batch_ends_its_unfinished_runs_interrupted(tmp_path, threads, monkeypatch):
    """Ctrl-C during the second of two points: the first is FINISHED with its compute times,
    the second FAILED and interrupted, and an optimization history counts the first only."""
    from experiments.campaign import history
    from optimize.problem import Problem

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    first, second = _point(20.0), _point(40.0)

    def run_point(point, cache_dir=None, threads=None):
        if point["key"] == second["key"]:
            raise KeyboardInterrupt
        return _payload(cached=False)

    monkeypatch.setattr(batch, "run_point", run_point)
    report = batch.run_batch([first, second], workers=1, progress=False, experiment="stop",
                             log=lambda message: None, tags={"iteration": "0"})
    assert report.interrupted and (report.finished, report.failed) == (1, 0)
    tracker = Tracker("stop")
    runs = {r.data.tags[POINT_KEY_TAG]: r for r in tracker.client.search_runs(
        [tracker.experiment_id])}
    done, stopped = runs[first["key"]], runs[second["key"]]
    assert done.info.status == "FINISHED" and INTERRUPTED_TAG not in done.data.tags
    assert done.data.tags["cache_hit"] == "false" and done.data.tags["iteration"] == "0"
    assert done.data.metrics["compute_calender_s"] == done.data.metrics["wall_calender_s"] == 20
    assert done.data.metrics["compute_total_s"] == done.data.metrics["wall_total_s"] == 100
    assert done.info.start_time < stopped.info.start_time  # the order of submission
    assert stopped.info.status == "FAILED" and stopped.data.tags[INTERRUPTED_TAG] == "true"
    assert stopped.data.params["pressure_mpa"] == "40"

    problem = Problem(objective="tau_z", maximize=False, bounds={"pressure_mpa": (5.0, 100.0)},
                      fidelity="ci")
    x, values, failed, _ = history(tracker, problem)
    assert x.tolist() == [[20.0]] and not failed.any() and values["tau_z"].tolist() == [2.5]


def test_a_point_logged_in_one_go_and_compute_metrics(tmp_path):
    """:meth:`Tracker.log` without a started run (``etwin simulate`` today) creates and ends
    the run itself; compute times need a record for every cached stage."""
    tracker = Tracker("direct", f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = tracker.log(_point(), {"status": "failed", "error": "RuntimeError: Newton",
                                    "started": time.time() - 2, "ended": time.time()})
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["error"] == "RuntimeError: Newton"
    assert run.data.params["seed"] == "0" and "cache_hit" not in run.data.tags
    assert compute_metrics({"status": "failed"}) == {}
    partial = _payload(cached=False)
    partial["cache_hit"]["dry"] = True
    assert compute_metrics(partial) == {"compute_calender_s": 20.0, "compute_transport_s": 30.0,
                                        "compute_cell_s": 40.0, "cache_hit_stages": 1.0}
    partial["compute_s"] = {"dry": 7.0}
    assert compute_metrics(partial)["compute_total_s"] == 97.0
