"""``etwin simulate``, ``sweep``, ``runs``, ``train``: the chain, MLflow runs, surrogates."""

from __future__ import annotations

import argparse
import sys
import time

from experiments.commands.common import (
    AddCommand,
    add_batch_flags,
    add_materials_flag,
    check_cache_dir,
    integer_list,
    log,
    materials_from,
    number_list,
)
from experiments.files import write_csv_atomic


# ------------------------------------------------------------------------ pipeline
def _stage_bars(quiet: bool):
    """(progress, detail, close) for simulate(): a log line per stage and a tqdm bar over the
    steps of the dry and calender stages."""
    from tqdm import tqdm

    bars: dict = {}

    def progress(stage: str, message: str) -> None:
        log(f"[{stage}] {message}")

    def detail(stage: str, row: dict) -> None:
        if quiet:
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(desc=stage, unit="step", file=sys.stderr)
        bar.update(row["step"] - bar.n)
        post = {"phase": row.get("phase")}
        for name in ("porosity", "density_g_cm3", "pressure_mpa"):
            if name in row:
                post[name] = f"{row[name]:.4g}"
        bar.set_postfix(post)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, detail, close


def _process_inputs_from_args(args: argparse.Namespace) -> dict:
    from physics.pipeline import INPUT_RANGES

    return {name: getattr(args, name) for name in INPUT_RANGES
            if getattr(args, name) is not None}


def cmd_simulate(args: argparse.Namespace) -> dict:
    """One process point through the whole chain, logged as an MLflow run: RUNNING from the
    start (a killed command leaves it, the next start of the point ends it FAILED), FINISHED
    or FAILED at the end.  A point the experiment already holds as FINISHED is computed (from
    the stage cache) but not logged twice."""
    check_cache_dir(args.cache_dir)
    from experiments.batch import make_point, result_artifacts
    from physics.pipeline import ProcessInputs, simulate

    materials = materials_from(args)
    point = make_point(_process_inputs_from_args(args), args.fidelity, args.seed,
                       number_list(args.c_rates, "--c-rates"), args.cell_model, materials)
    tracker = run_id = None
    if not args.no_track:
        from experiments.tracking import Tracker

        tracker = Tracker(args.experiment)
        if point["key"] in tracker.finished_keys():
            log(f"this point is already a FINISHED run of experiment {tracker.experiment!r} "
                f"(key {point['key'][:12]}): not logged again; results from the stage cache")
            tracker = None
        else:
            tracker.mark_stale_runs_failed({point["key"]})
            run_id = tracker.start_point(point)
    progress, detail, close = _stage_bars(args.quiet)
    started = time.time()
    try:
        result = simulate(ProcessInputs(**point["inputs"]), point["fidelity"], point["seed"],
                          c_rates=point["c_rates"], cache_dir=args.cache_dir,
                          cell_model=args.cell_model, materials=materials,
                          progress=progress, detail=detail)
        payload = {"status": "ok", "metrics": result.metrics(), "cache_hit": result.cache_hit,
                   "compute_s": result.compute_s, "started": started, "ended": time.time()}
    except Exception as err:
        import traceback

        payload = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                   "traceback": traceback.format_exc(), "started": started,
                   "ended": time.time()}
        result = None
    except BaseException:  # Ctrl-C: the run ends FAILED, tagged interrupted
        if tracker is not None:
            tracker.mark_interrupted([run_id], "interrupted: etwin simulate stopped")
        raise
    finally:
        close()
    summary = result.summary() if result is not None else {"key": point["key"]}
    if tracker is not None:
        if result is not None:
            payload["artifacts"] = result_artifacts(result)
        summary["run_id"] = tracker.log(point, payload, run_id=run_id)
        summary["tracking_uri"] = tracker.uri
        log(f"MLflow run {summary['run_id']} ({payload['status']}) in experiment "
            f"{tracker.experiment!r} at {tracker.uri}")
    if result is None:
        raise RuntimeError(f"simulation failed: {payload['error']}")
    return summary


def cmd_sweep(args: argparse.Namespace) -> dict:
    """A design of process points (grid, Sobol or CSV) through the chain in parallel."""
    check_cache_dir(args.cache_dir)
    from experiments.batch import (
        csv_points,
        grid_points,
        make_point,
        parse_bounds,
        run_batch,
        sobol_points,
    )

    designs = [d for d in (args.grid, args.sobol, args.points) if d is not None]
    if len(designs) != 1:
        raise ValueError("give exactly one design: --grid, --sobol N (with --bounds) or "
                         "--points FILE.csv")
    if args.grid is not None:
        raw = grid_points(args.grid)
    elif args.sobol is not None:
        if not args.bounds:
            raise ValueError("--sobol needs --bounds name=low:high,...")
        raw = sobol_points(parse_bounds(args.bounds), args.sobol, args.design_seed)
    else:
        raw = csv_points(args.points)
    seeds = integer_list(args.seeds, "--seeds")
    rates = number_list(args.c_rates, "--c-rates")
    materials = materials_from(args)
    points = [make_point(p, args.fidelity, s, rates, materials=materials)
              for p in raw for s in seeds]
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise ValueError(f"--workers must lie in [1, 1024], got {args.workers}")
    report = run_batch(points, executor=args.executor, workers=args.workers,
                       cache_dir=args.cache_dir, experiment=args.experiment,
                       progress=not args.quiet)
    summary = {"points": len(points), "skipped": report.skipped, "finished": report.finished,
               "failed": report.failed, "interrupted": report.interrupted,
               "wall_s": report.wall_s}
    if args.json:
        summary["rows"] = report.rows
    else:
        _print_sweep_table(report.rows)
    if report.interrupted:
        raise KeyboardInterrupt
    return summary


def _print_sweep_table(rows: list[dict]) -> None:
    from physics.pipeline import INPUT_RANGES, SUMMARY_OUTPUTS

    columns = [c for c in INPUT_RANGES if len({r.get(c) for r in rows}) > 1] or ["pressure_mpa"]
    head = [*columns, "seed", "status", *SUMMARY_OUTPUTS]
    log("  ".join(f"{h:>12s}" for h in head))
    for r in rows:
        cells = [f"{r.get(c, ''):>12.4g}" if isinstance(r.get(c), float) else
                 f"{r.get(c, '')!s:>12s}" for c in head]
        log("  ".join(cells))


def cmd_runs(args: argparse.Namespace) -> dict:
    """The tracked simulations of an experiment as a table (CSV with --out)."""
    from experiments.tracking import runs_dataframe, tracking_uri

    df = runs_dataframe(args.experiment, finished_only=not args.all)
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(args.out, df.to_dict("records"))
    if not args.json:
        log(df.to_string(max_cols=12) if not df.empty else "no runs")
    return {"experiment": args.experiment, "tracking_uri": tracking_uri(), "runs": len(df),
            "columns": list(df.columns), "out": args.out}


# ------------------------------------------------------------------------ surrogates
def cmd_train(args: argparse.Namespace) -> dict:
    """GP surrogates of the tracked simulations, with the cross-validation report."""
    import pandas as pd

    from experiments.training import run_training

    if args.recorded and args.data:
        raise ValueError("--recorded and --data: give one source of training data")
    if args.recorded:
        from surrogates.recorded import recorded_runs

        frame = recorded_runs(args.recorded)
    elif args.data:
        try:
            frame = pd.read_csv(args.data)
        except (OSError, ValueError) as err:
            raise ValueError(f"--data {args.data}: not a readable CSV table ({err})") from None
    else:
        from experiments.tracking import runs_dataframe

        frame = runs_dataframe(args.experiment)
    if args.fidelity and "fidelity" in frame:
        frame = frame[frame["fidelity"] == args.fidelity]
    if args.features == "auto":
        features = "auto"
    elif args.features == "none":
        features = ()
    else:
        features = tuple(f.strip() for f in args.features.split(","))
    if not 2 <= args.folds <= 50:
        raise ValueError(f"--folds must lie in [2, 50], got {args.folds}")
    summary = run_training(
        frame, args.out,
        outputs=[o.strip() for o in args.outputs.split(",")] if args.outputs else None,
        features=features, folds=args.folds, seed=args.seed,
        experiment=None if args.no_track else f"{args.experiment}-surrogates",
        source=f"recorded:{args.recorded}" if args.recorded else args.data or args.experiment,
        fidelity=args.fidelity or "all",
        log=None if args.quiet else log)
    rows = summary.pop("rows")
    if not args.json:
        for r in rows:
            log(f"  {r['output']:20s} {r['model']:8s} features {r['features']:25s} R² "
                 f"{r['r2']:.3f}  RMSE {r['rmse']:.4g}  90 % coverage {r['coverage90']:.2f}"
                + (f"  replicate noise sd {r['replicate_noise_sd']:.3g} "
                   f"({r['replicate_noise_dof']} dof; floor {r['noise_floor_sd']:.3g})"
                   if r["replicate_noise_dof"] else ""))
        summary.pop("report")
    return summary


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    from physics.pipeline import INPUT_RANGES

    def add_pipeline_options(p: argparse.ArgumentParser) -> None:
        add_materials_flag(p, "its recipe, AM modulus and fracture strength are the defaults "
                              "of the process inputs not given, and its particles, contact "
                              "law and electrochemistry enter every stage")
        p.add_argument("--fidelity", default="fast",
                       help="ci (80 AM particles: minutes, tests), fast (200, default: the "
                            "size results are validated at) or paper (396, the paper's cell)")
        p.add_argument("--c-rates", default="1",
                       help="discharge rates in C, comma-separated, each in [0.001, 100] "
                            "(default 1)")
        p.add_argument("--cache-dir", default=None,
                       help="stage cache (default $ETWIN_CACHE_DIR or ./etwin_cache)")
        p.add_argument("--experiment", default="electrode-twin",
                       help="MLflow experiment (store: $MLFLOW_TRACKING_URI or "
                            "sqlite:///mlflow.db in the working directory; default "
                            "electrode-twin)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("simulate", cmd_simulate,
            "One process point through slurry -> drying -> calendering -> voxel transport -> "
            "half cell, each stage cached by a hash of its inputs; logged as an MLflow run "
            "(params, metrics, curves, plots, the calendered structure). View with: mlflow "
            "ui --backend-store-uri sqlite:///mlflow.db")
    p.add_argument("--pressure-mpa", dest="pressure_mpa", type=float, default=None,
                   help="calendering pressure in MPa, in [0.1, 500] (default 20)")
    p.add_argument("--temperature-c", dest="temperature_c", type=float, default=None,
                   help="roll temperature in °C, in [0, 150] (default 60)")
    p.add_argument("--line-speed-m-min", dest="line_speed_m_min", type=float, default=None,
                   help="line speed in m/min, in [0.01, 200] (default 0.54)")
    p.add_argument("--solid-content", dest="solid_content", type=float, default=None,
                   help="slurry solids mass fraction, in [0.5, 0.8] (default 0.69)")
    p.add_argument("--am-mass-fraction", dest="am_mass_fraction", type=float, default=None,
                   help="AM share of the dry solids, in [0.8, 0.98] (default 0.96; carbon "
                        "and binder share the rest)")
    p.add_argument("--coating-thickness-um", dest="coating_thickness_um", type=float,
                   default=None, help="dry coating thickness before calendering in µm, in "
                                      "[20, 500] (default 165)")
    p.add_argument("--am-young-modulus-gpa", dest="am_young_modulus_gpa", type=float,
                   default=None, help="AM Young's modulus in GPa, in [1, 1000] (default 200, "
                                      "NMC; graphite-like ~15)")
    p.add_argument("--am-fracture-strength-mpa", dest="am_fracture_strength_mpa", type=float,
                   default=None, help="AM particle crushing strength in MPa, in [1, 1e4] "
                                      "(default 150, NMC; graphite-like ~40)")
    p.add_argument("--seed", type=int, default=0, help="random seed, integer >= 0 (default 0)")
    p.add_argument("--cell-model", default="p2d", choices=("p2d", "3d"),
                   help="cell stage: p2d (homogenized DFN at the coating thickness, default) or "
                        "3d (particle-resolved cell on the simulated film at 1 µm voxels, "
                        "etwin cell3d; ~5-20 CPU min at ci)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_pipeline_options(p)

    p = add("sweep", cmd_sweep,
            "A design of process points through the chain in parallel, each an MLflow run; "
            "points already finished in the experiment are skipped, so rerunning a stopped "
            "sweep resumes it. Inputs not in the design take the simulate defaults.")
    p.add_argument("--grid", default=None,
                   help="full grid 'name=v1,v2,...;name=...' over process inputs (names: "
                        f"{', '.join(INPUT_RANGES)}), e.g. 'pressure_mpa=5,20,60;"
                        "temperature_c=25,60' (one of --grid, --sobol, --points; default none)")
    p.add_argument("--sobol", type=int, default=None,
                   help="N >= 1 points of a scrambled Sobol design over --bounds (one of --grid, "
                        "--sobol, --points; default none)")
    p.add_argument("--bounds", default=None,
                   help="Sobol bounds 'name=low:high,...' inside each input's range (names: "
                        f"{', '.join(INPUT_RANGES)}), e.g. 'pressure_mpa=1:100,"
                        "temperature_c=25:120'; inputs not named take the simulate defaults")
    p.add_argument("--design-seed", type=int, default=0,
                   help="Sobol scrambling seed, integer >= 0 (default 0)")
    p.add_argument("--points", default=None,
                   help="CSV file of points, one column per process input (names as --grid; "
                        "one of --grid, --sobol, --points; default none)")
    p.add_argument("--seeds", default="0",
                   help="simulation seeds, comma-separated integers >= 0; each point runs once per "
                        "seed (default 0)")
    add_batch_flags(p, cache_dir=False)  # add_pipeline_options has --cache-dir
    add_pipeline_options(p)

    p = add("runs", cmd_runs,
            "The tracked simulations of an MLflow experiment as a table: inputs, fidelity, "
            "seed and every metric (the training set of the surrogates).")
    p.add_argument("--experiment", default="electrode-twin",
                   help="MLflow experiment (default electrode-twin)")
    p.add_argument("--all", action="store_true", help="include failed runs")
    p.add_argument("--out", default=None,
                   help="write the table as CSV to this file (default: print only)")

    p = add("train", cmd_train,
            "Gaussian-process surrogates (BoTorch SingleTaskGP per output, float64, normalized "
            "inputs, standardized outputs) of the tracked simulations; runs that repeat a point "
            "with other seeds set the noise floor (their pooled sd) and stay in one fold: "
            "k-fold cross-validation "
            "report (R², RMSE, 90 % interval coverage; features chosen by nested CV; warnings "
            "for failed fold fits and coverage below 0.7) beside scikit-learn's GP, parity and "
            "calibration plots, the fitted models (surrogates.pt), logged to MLflow experiment "
            "'<experiment>-surrogates'.")
    p.add_argument("--experiment", default="electrode-twin",
                   help="MLflow experiment of the simulations (the training data; "
                        "default electrode-twin)")
    p.add_argument("--data", default=None,
                   help="a CSV table instead (etwin runs --out): process-input and output "
                        "columns (default: none, the --experiment's runs)")
    from surrogates.recorded import recorded_tiers

    p.add_argument("--recorded", default=None,
                   help="the runs shipped with the package at this tier instead (shipped: "
                        f"{', '.join(recorded_tiers())}; the runs of one 48-point Sobol design "
                        "over pressure, temperature, line speed and coating thickness (fast: "
                        "its first 40 points, with replicate seeds at four), "
                        "surrogates/recorded_data; default: none)")
    p.add_argument("--fidelity", default=None,
                   help="use only runs of this fidelity: ci, fast or paper (default: all runs)")
    p.add_argument("--outputs", default=None,
                   help="comma-separated outputs (default: porosity, tau_x, tau_y, tau_z, "
                        "capacity_1C_mah_g, r_ion_ohm_cm2 where present)")
    p.add_argument("--features", default="auto",
                   help="auto (keep log_pressure / log_deborah only where they lower the "
                        "cross-validated RMSE by 5 %%; chosen per fold in the report's "
                        "nested CV; default), none, or a comma-separated list")
    p.add_argument("--folds", type=int, default=5,
                   help="cross-validation folds, in [2, 50] (default 5)")
    p.add_argument("--seed", type=int, default=0,
                   help="fold shuffling seed, integer >= 0 (default 0)")
    p.add_argument("--out", default="runs/surrogates",
                   help="output directory (default runs/surrogates)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
