"""The whole chain at ci size, its stage cache, MLflow tracking and batches (local processes,
a real Dask LocalCluster, a sweep killed half-way and resumed).

One real simulation (calendering the 80-AM ci film at 20 MPa, transport, cell) fills a
module-wide stage cache; the other tests reuse its stages and add only what they change.
The cache's dry entry is the versioned ci film ``tests/data/dried_ci_seed0.npz`` (``etwin dry
--fidelity ci --seed 0``), stored under the key the dry stage computes: drying itself is
checked in tests/test_drying.py and tests/test_cli.py, and here it would cost ~3 CPU min of
the CI budget.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from experiments.cli import main
from physics.pipeline import ProcessInputs, StageCache, dry_stage_key, simulate

PRESSURE = 20.0


DRIED_CI = Path(__file__).parent / "data" / "dried_ci_seed0.npz"


def _flat(tree, path: str = "") -> dict:
    """{"a.b.0": leaf} of nested dicts and lists."""
    if isinstance(tree, dict | list | tuple):
        items = tree.items() if isinstance(tree, dict) else enumerate(tree)
        return {k: v for key, sub in items for k, v in _flat(sub, f"{path}.{key}").items()}
    return {path: tree}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A stage cache holding the ci film of seed 0 as the dry stage of the default inputs."""
    from physics.state import ParticleState
    from physics.structure import structure_metrics

    root = tmp_path_factory.mktemp("stage_cache")
    film = ParticleState.load(DRIED_CI)
    key = dry_stage_key(ProcessInputs(pressure_mpa=PRESSURE), "ci", 0)
    recorded, wanted = _flat({name: film.meta.get(name) for name in key}), _flat(key)
    # the pipeline's recipe has its carbon and binder shares from 1 − AM (0.02 ± 2e-17)
    assert recorded.keys() == wanted.keys() and all(
        value == (pytest.approx(wanted[k], rel=1e-12) if isinstance(value, float)
                  else wanted[k]) for k, value in recorded.items()), (
        f"{DRIED_CI} was dried with other inputs than the dry stage's; regenerate it with "
        "`etwin dry --fidelity ci --seed 0`")
    StageCache(root).store("dry", key, {"metrics": structure_metrics(film).to_metrics()},
                           lambda d: shutil.copy(DRIED_CI, d / "dried.npz"))
    return root


@pytest.fixture(scope="module")
def first(cache_dir):
    return simulate(ProcessInputs(pressure_mpa=PRESSURE), "ci", 0, cache_dir=cache_dir)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh MLflow SQLite store for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_chain_gives_physical_outputs(first):
    assert first.cache_hit == {"dry": True, "calender": False, "transport": False,
                               "stiffness": False, "cell": False}
    assert 0.2 < first.porosity < first.porosity_dried < 0.5
    assert abs(first.porosity - first.porosity_particles) < 0.02  # voxels vs particles
    assert min(first.tau_x, first.tau_y, first.tau_z) > 1.0
    assert first.sigma_eff_s_m > 0 and first.r_ion_ohm_cm2 > 0
    assert 1.0 < first.tau_eis < 3.0 and abs(first.tau_eis - first.tau_z) < 0.1
    assert 50 < first.capacity_mah_g[1.0] < 280
    # the cathode is the coating times the column's calendered/dried thickness ratio
    assert first.electrode_thickness_um < 165.0
    assert first.inertial_number < 2e-3
    metrics = first.metrics()
    assert metrics["capacity_1C_mah_g"] == first.capacity_mah_g[1.0]
    assert metrics["wall_calender_s"] > 0 and metrics["wall_dry_s"] >= 0
    # anisotropy: the in-plane mean of τ and the stiffness of the film (the probe's own
    # checks: linear, settled, and a small share of the calender stage's time)
    assert metrics["tau_z_over_tau_x"] == pytest.approx(
        first.tau_z / (0.5 * (first.tau_x + first.tau_y)), rel=1e-12)
    mech = first.mechanics
    for a in "xyz":
        assert 10.0 < metrics[f"stiffness_{a}{a}_mpa"] < 1e4
        assert 0.0 < metrics[f"young_modulus_{a}_mpa"] < metrics[f"stiffness_{a}{a}_mpa"]
        assert mech[f"nonlinearity_{a}"] < 0.15  # load vs unload slope: 1-7 % measured
    assert all(mech["converged"]) and mech["stiffness_asymmetry"] < 0.1
    assert metrics["wall_stiffness_s"] < 0.25 * metrics["wall_calender_s"]


def test_stages_are_served_from_the_cache(first, cache_dir):
    again = simulate(ProcessInputs(pressure_mpa=int(PRESSURE)), "ci", 0, cache_dir=cache_dir)
    assert all(again.cache_hit.values())
    assert again.key == first.key  # 20 and 20.0 are the same input
    assert again.metrics()["tau_z"] == first.metrics()["tau_z"]
    assert again.capacity_mah_g == first.capacity_mah_g
    thicker = simulate(ProcessInputs(pressure_mpa=PRESSURE, coating_thickness_um=200.0), "ci",
                       0, cache_dir=cache_dir, c_rates=(0.5, 1.0))
    assert thicker.cache_hit == {"dry": True, "calender": True, "transport": True,
                                 "stiffness": True, "cell": False}
    assert thicker.electrode_thickness_um == pytest.approx(
        first.electrode_thickness_um * 200 / 165)
    assert thicker.capacity_mah_g[0.5] > thicker.capacity_mah_g[1.0]


def test_stage_cache_entries_appear_whole(tmp_path):
    cache = StageCache(tmp_path)
    key = {"x": 1}

    def broken(directory):
        (directory / "part.npz").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        cache.store("cell", key, {"a": 1}, broken)
    assert cache.load("cell", key) is None
    assert not any(p.name.endswith("part.npz") for p in tmp_path.rglob("*"))
    cache.store("cell", key, {"a": 2})
    assert cache.load("cell", key)[1]["a"] == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"pressure_mpa": -1.0}, r"pressure_mpa = -1.0 is outside the allowed range \[0.1, 500"),
    ({"temperature_c": 300.0}, r"temperature_c = 300.0 is outside .* \[0.0, 150.0\]"),
    ({"am_mass_fraction": 0.5}, r"am_mass_fraction = 0.5 .* \[0.8, 0.98\]"),
    ({"coating_thickness_um": float("nan")}, r"coating_thickness_um = nan"),
])
def test_bad_inputs_name_the_field_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProcessInputs(**kwargs)


def test_bad_points_and_designs_are_refused(tmp_path):
    from experiments.batch import csv_points, grid_points, make_point, parse_bounds

    with pytest.raises(ValueError, match=r"unknown process inputs \['pressure'\]"):
        make_point({"pressure": 5}, "ci", 0, [1.0])
    with pytest.raises(ValueError, match="fidelity 'huge' is unknown"):
        make_point({}, "huge", 0, [1.0])
    with pytest.raises(ValueError, match=r"c_rate = 500.0 is outside"):
        make_point({}, "ci", 0, [500.0])
    with pytest.raises(ValueError, match="unknown process input 'speed'"):
        grid_points("speed=1,2")
    with pytest.raises(ValueError, match=r"need 0.1 <= low < high <= 500.0, got 50.0:5.0"):
        parse_bounds("pressure_mpa=50:5")
    (tmp_path / "p.csv").write_text("pressure_mpa,temperature_c\n5,x\n")
    with pytest.raises(ValueError, match="line 2: temperature_c = 'x'; expected a number"):
        csv_points(tmp_path / "p.csv")
    assert grid_points("pressure_mpa=5,20;temperature_c=25,60")[3] == {
        "pressure_mpa": 20.0, "temperature_c": 60.0}


def test_simulate_and_sweep_through_the_cli_into_mlflow(first, cache_dir, store, capsys,
                                                        monkeypatch):
    """etwin simulate logs a run with params, metrics and artifacts; etwin sweep skips the
    point already finished, runs the new one, records a failing one as a FAILED run without
    stopping (a cell solve made to fail at 100C, the sweep's worker a thread so that it sees
    the failure); the runs read back as a DataFrame."""
    import concurrent.futures as cf

    from mlflow import MlflowClient

    import experiments.batch
    import physics.cell

    solve = physics.cell.discharge

    def failing_at_100c(params, c_rate=1.0, **kwargs):
        if c_rate >= 100:
            raise RuntimeError("discharge: Newton failed at t = 0.001 s, V = 3.5 V")
        return solve(params, c_rate=c_rate, **kwargs)

    monkeypatch.setattr(physics.cell, "discharge", failing_at_100c)
    monkeypatch.setattr(experiments.batch, "make_executor",
                        lambda spec, workers: (cf.ThreadPoolExecutor(workers), lambda: None, 0))

    from experiments.tracking import runs_dataframe

    assert main(["simulate", "--fidelity", "ci", "--pressure-mpa", "20", "--cache-dir",
                 str(cache_dir), "--quiet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key"] == first.key and all(out["cache_hit"].values())
    client = MlflowClient(store)
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["pressure_mpa"] == "20" and run.data.params["fidelity"] == "ci"
    assert {"package_version", "git_commit", "seed", "c_rates"} <= set(run.data.params)
    assert run.data.metrics["tau_z"] == pytest.approx(first.tau_z)
    names = {a.path for a in client.list_artifacts(out["run_id"])}
    assert {"curves", "plots", "structure", "result.json"} <= names
    assert {a.path for a in client.list_artifacts(out["run_id"], "structure")} == {
        "structure/calendered.npz"}
    # served from the stage cache: the compute time recorded when the stages ran is logged
    assert run.data.metrics["compute_calender_s"] > 0 and run.data.tags["cache_hit"] == "true"
    # the same point again: computed from the cache, not logged twice
    assert main(["simulate", "--fidelity", "ci", "--pressure-mpa", "20", "--cache-dir",
                 str(cache_dir), "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    assert "run_id" not in json.loads(captured.out) and "not logged again" in captured.err

    assert main(["sweep", "--fidelity", "ci", "--grid",
                 "pressure_mpa=20;coating_thickness_um=165,120", "--workers", "1",
                 "--cache-dir", str(cache_dir), "--quiet", "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert (sweep["skipped"], sweep["finished"], sweep["failed"]) == (1, 1, 0)
    assert main(["sweep", "--fidelity", "ci", "--grid", "coating_thickness_um=140",
                 "--c-rates", "100", "--workers", "1", "--cache-dir", str(cache_dir),
                 "--quiet", "--json"]) == 0
    failing = json.loads(capsys.readouterr().out)
    assert failing["failed"] == 1 and "Newton failed" in failing["rows"][0]["error"]
    failed_run = client.get_run(failing["rows"][0]["run_id"])
    assert failed_run.info.status == "FAILED" and "Newton failed" in failed_run.data.tags["error"]

    df = runs_dataframe()
    assert len(df) == 2 and set(df["coating_thickness_um"]) == {165.0, 120.0}
    assert {"porosity", "tau_x", "tau_y", "tau_z", "capacity_1C_mah_g", "r_ion_ohm_cm2",
            "tau_eis", "wall_calender_s", "pressure_mpa", "seed", "fidelity"} <= set(df.columns)
    assert len(runs_dataframe(finished_only=False)) == 3


def test_sweep_on_a_dask_local_cluster(first, cache_dir, store, capsys):
    """A sweep on a real LocalCluster; the nannies' pre-spawn environment (numba threads of
    the workers) does not leak into the driver, whose numba pool has started."""
    before = os.environ.get("NUMBA_NUM_THREADS")
    assert main(["sweep", "--fidelity", "ci", "--grid", "coating_thickness_um=100,130",
                 "--executor", "dask-local", "--workers", "2", "--cache-dir", str(cache_dir),
                 "--quiet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["finished"], out["failed"]) == (2, 0)
    rows = sorted(out["rows"], key=lambda r: r["coating_thickness_um"])
    assert rows[0]["electrode_thickness_um"] < rows[1]["electrode_thickness_um"]
    assert all(r["tau_z"] == pytest.approx(first.tau_z) for r in rows)
    assert os.environ.get("NUMBA_NUM_THREADS") == before


def test_a_killed_sweep_resumes_without_redoing_finished_runs(first, cache_dir, store,
                                                              tmp_path):
    """Four points, one worker, each needing only the cell stage of the cached film (a new
    calendering here cost ~4 CPU min of CI for no extra check of the resume logic).  The sweep
    (driver and worker) is killed once the first two are logged, leaving the runs of the last
    two RUNNING; the same command then marks those FAILED (interrupted) and runs only the last
    two."""
    from experiments.tracking import Tracker

    command = [sys.executable, "-m", "experiments.cli", "sweep", "--fidelity", "ci",
               "--grid", f"pressure_mpa={PRESSURE:g};coating_thickness_um=110,125,140,155",
               "--workers", "1",
               "--cache-dir", str(cache_dir), "--quiet", "--json"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    tracker = Tracker()
    # points run in grid order: 110, 125, 140, 155 µm
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 600
    while len(tracker.finished_keys()) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "the first two points took over 10 minutes"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = tracker.finished_keys()
    assert len(finished_before) == 2
    killed = tracker.client.search_runs([tracker.experiment_id],
                                        filter_string="attributes.status = 'RUNNING'")
    assert len(killed) == 2 and not {r.data.tags["point_key"] for r in killed} & finished_before

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    out = json.loads(resumed.stdout)
    assert (out["skipped"], out["finished"], out["failed"]) == (2, 2, 0)
    assert "2 of 4 points already have a finished run" in resumed.stderr
    assert "2 run(s) left RUNNING by an interrupted driver marked FAILED" in resumed.stderr
    for run in killed:
        run = tracker.client.get_run(run.info.run_id)
        assert run.info.status == "FAILED" and run.data.tags["interrupted"] == "true"
    runs = tracker.client.search_runs([tracker.experiment_id])
    keys = [r.data.tags["point_key"] for r in runs if r.info.status == "FINISHED"]
    assert len(keys) == len(set(keys)) == 4 and finished_before <= set(keys)
    redone = sorted(r["coating_thickness_um"] for r in out["rows"] if r["status"] == "ok")
    assert redone == [140.0, 155.0]


def test_sobol_and_csv_designs(tmp_path):
    from experiments.batch import csv_points, parse_bounds, sobol_points

    bounds = parse_bounds("pressure_mpa=1:100,temperature_c=25:120")
    points = sobol_points(bounds, 8, seed=3)
    assert points == sobol_points(bounds, 8, seed=3) and len(points) == 8
    for name, (lo, hi) in bounds.items():
        values = sorted(p[name] for p in points)
        assert lo <= values[0] and values[-1] <= hi
        assert sum(v < (lo + hi) / 2 for v in values) == 4  # balanced: a Sobol property
    (tmp_path / "p.csv").write_text("pressure_mpa,line_speed_m_min\n5,1\n20,2.5\n")
    assert csv_points(tmp_path / "p.csv") == [{"pressure_mpa": 5.0, "line_speed_m_min": 1.0},
                                              {"pressure_mpa": 20.0, "line_speed_m_min": 2.5}]


def test_inputs_change_the_recipe_and_conditions():
    inputs = ProcessInputs(am_mass_fraction=0.9, solid_content=0.6, temperature_c=100.0)
    recipe = inputs.recipe()
    assert (recipe.am_mass_fraction, recipe.carbon_mass_fraction,
            recipe.binder_mass_fraction) == pytest.approx((0.9, 0.05, 0.05))
    assert recipe.solid_content == 0.6
    assert inputs.conditions().temperature_c == 100.0
    assert replace(inputs, pressure_mpa=5).pressure_mpa == 5.0


def test_optimize_loop_on_the_physics_resumes_from_mlflow(first, cache_dir, store, tmp_path,
                                                          capsys):
    """etwin optimize on the ci chain (the calendered structure cached, the coating thickness
    the decision variable): maximize the 1C areal capacity with the specific capacity >= a
    floor.  Two iterations, then the same command with four runs only iterations 2-3; every
    evaluation and iteration is an MLflow run."""
    from mlflow import MlflowClient

    floor = first.capacity_mah_g[1.0] - 8.0  # binds inside the thickness range
    problem = tmp_path / "thick.toml"
    problem.write_text(f'''
[objective]
output = "areal_capacity_1C_mah_cm2"

[[constraints]]
output = "capacity_1C_mah_g"
min = {floor}

[bounds]
coating_thickness_um = [60.0, 400.0]

[fixed]
pressure_mpa = {PRESSURE}

[settings]
fidelity = "ci"
initial = 3
iterations = 2
q = 2
''')
    args = ["optimize", "--problem", str(problem), "--workers", "1", "--cache-dir",
            str(cache_dir), "--quiet", "--json"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    first_run = json.loads(capsys.readouterr().out)
    assert first_run["evaluations"] == 7 and first_run["iterations_run"] == 2
    assert (tmp_path / "o" / "convergence.png").is_file()
    assert main([*args, "--iterations", "4"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["iterations_run"] == 2 and resumed["evaluations"] == 11
    assert [r["iteration"] for r in resumed["records"]] == [2, 3]
    best = resumed["best"]
    assert best["capacity_1C_mah_g"] >= floor
    # the optimum sits on the constraint: the thickest electrode that keeps the floor
    feasible = [h for h in resumed["history"] if not h["failed"]
                and h["capacity_1C_mah_g"] >= floor]
    assert best["objective"] == max(h["areal_capacity_1C_mah_cm2"] for h in feasible)
    assert best["capacity_1C_mah_g"] < floor + 4.0
    client = MlflowClient(store)
    loop = client.get_experiment_by_name("optimize-thick-loop")
    iterations = client.search_runs([loop.experiment_id])
    assert sorted(int(r.data.params["iteration"]) for r in iterations) == [0, 1, 2, 3]
    assert all("best_so_far" in r.data.metrics for r in iterations)


@pytest.mark.parametrize(("inherited", "wanted", "used"), [(None, 1, 1), ("1", 2, 1)])
def test_pool_worker_thread_count_holds_when_numba_came_first(tmp_path, inherited, wanted,
                                                               used):
    """A spawned ``etwin`` worker imports numba (through its main module) before the pool
    initializer runs.  The initializer must still limit the worker's threads, within the pool
    numba sized at import (cores, or an inherited NUMBA_NUM_THREADS), and leave numba able to
    compile after its threads started."""
    import numba

    if numba.config.NUMBA_DEFAULT_NUM_THREADS < 2:
        pytest.skip("needs two cores to tell the counts apart")
    script = tmp_path / "worker.py"
    script.write_text(
        "import sys, numba, numpy as np\n"
        "from experiments.batch import _init_worker\n"
        "_init_worker(int(sys.argv[1]))\n"
        "@numba.njit(parallel=True)\n"
        "def total(x):\n"
        "    s = 0.0\n"
        "    for i in numba.prange(x.size):\n"
        "        s += x[i]\n"
        "    return s\n"
        "total(np.ones(100))\n"
        "numba.njit(lambda a: a + 1)(1)\n"
        "print(numba.get_num_threads())\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    if inherited:
        env["NUMBA_NUM_THREADS"] = inherited
    done = subprocess.run([sys.executable, str(script), str(wanted)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == used
