"""``etwin optimize``, ``calibrate``, ``variability``, ``process-window``, ``demo``: the jobs."""

from __future__ import annotations

import argparse
import dataclasses

from experiments.commands.common import (
    AddCommand,
    add_batch_flags,
    add_materials_flag,
    check_cache_dir,
    float_pair,
    log,
    materials_from,
    parse_fidelities,
)
from experiments.files import write_csv_atomic, write_json_atomic


def cmd_optimize(args: argparse.Namespace) -> dict:
    """Bayesian optimization of a TOML problem on the physics (resumable from MLflow)."""
    check_cache_dir(args.cache_dir)
    from pathlib import Path

    from experiments.campaign import run_campaign
    from optimize.problem import Problem

    overrides = {k: getattr(args, k) for k in ("iterations", "q", "initial", "fidelity")
                 if getattr(args, k) is not None}
    if args.fidelities:
        overrides["fidelities"] = parse_fidelities(args.fidelities)
    if args.materials:
        overrides["materials"] = args.materials
    problem = Problem.load(args.problem)
    if overrides:
        problem = dataclasses.replace(problem, **overrides)
    experiment = args.experiment or f"optimize-{Path(args.problem).stem}"
    result = run_campaign(problem, experiment, executor=args.executor, workers=args.workers,
                      cache_dir=args.cache_dir, progress=not args.quiet)
    if args.out:
        from experiments.plots import plot_convergence

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(out / "history.csv", result["history"])
        write_json_atomic(out / "result.json", result)
        plot_convergence(problem, result["history"], out / "convergence.png")
        result["out"] = str(out)
    if result["best"] is None:
        log(f"{problem.objective}: no feasible point found yet in {result['evaluations']} "
             f"evaluations")
    else:
        log(f"best feasible {problem.objective} = {result['best']['objective']:.5g} at "
             + ", ".join(f"{k} {v:.4g}" for k, v in result["best"]["inputs"].items()))
    if not args.json:
        result.pop("history")
        result.pop("records")
    return result


# ---------------------------------------------------------------------------- jobs
def cmd_calibrate(args: argparse.Namespace) -> dict:
    """Bayesian calibration (experiments/calibrate.py)."""
    from experiments.calibrate import calibrate_tortuosity
    from experiments.calibrate_dem import calibrate_dem
    from experiments.calibrate_electronic import calibrate_electronic

    experiment = None if args.no_mlflow else args.experiment
    materials = materials_from(args)
    if materials is not None and args.target != "dem":
        raise ValueError(f"--materials applies to --target dem; --target {args.target} "
                         "calibrates against measured data of one electrode (allowed: dem)")
    if args.preset is not None and args.target != "dem":
        raise ValueError(f"--preset applies to --target dem, not --target {args.target} "
                         "(allowed: dem)")
    if args.target == "dem":
        result = calibrate_dem(args.data, args.out, dried=args.dried or (), materials=materials,
                               preset=args.preset,
                               parameters=args.parameters, n_design=args.design,
                               seed=args.seed, porosity_sd=args.porosity_sd,
                               temperature_c=args.temperature_c,
                               line_speed_m_min=args.line_speed_m_min,
                               protocol=args.protocol, validate=args.validate,
                               refine=args.refine, recovery=args.recovery,
                               recovery_sd=args.recovery_sd,
                               indent_depth_fraction=args.indent_depth_fraction,
                               indent_temperature_c=args.indent_temperature_c,
                               indent_loading_time_s=args.indent_loading_time_s,
                               executor=args.executor, workers=args.workers,
                               include_runs=args.include_runs or (), points=args.points,
                               train_dried=args.train_dried or (), cv_folds=args.cv_folds,
                               experiment=experiment, quiet=args.quiet)
        for name, m in result["parameters"].items():
            log(f"{name} = {m['mean']:.4g}, 95 % credible interval [{m['ci95_lower']:.4g}, "
                 f"{m['ci95_upper']:.4g}]")
        for r in result["refinement_rounds"]:
            if r["runs"]:
                log(f"refinement round {r['round']}: DEM at that round's highest-posterior "
                     f"draw, max |error| {100 * r['max_abs_error']:.2f} porosity points, "
                     f"{r['inside_1sd']} points inside ±1 sd")
        if "recovery_fit" in result:
            r = result["recovery_fit"]
            log(f"indentation recovery: posterior predictive {100 * r['predictive_median']:.1f} "
                 f"% [{100 * r['predictive_lo95']:.1f}, {100 * r['predictive_hi95']:.1f}], "
                 f"measured {100 * r['measured']:.1f} ± {100 * r['measured_sd']:.1f} %")
        if "validation" in result:
            v = result["validation"]
            log(f"DEM at the highest-posterior draw ({v['runs']} runs): max |error| "
                 f"{100 * v['max_abs_error']:.2f} porosity points, {v['inside_1sd']} of "
                 f"{len(v['rows'])} points inside ±1 sd"
                 + (f"; indentation recovery {100 * v['recovery_simulated']:.1f} %"
                    if "recovery_simulated" in v else ""))
        log(f"report {result['out']}/report.md")
        return result
    if args.target == "electronic":
        if not args.structure:
            raise ValueError("--structure is required for --target electronic: the imaged "
                             "structure of each row of --data, in row order")
        fixed = {}
        for item in args.fixed:
            name, sep, value = item.partition("=")
            try:
                fixed[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"--fixed {item!r}: expected NAME=VALUE") from None
            if not sep:
                raise ValueError(f"--fixed {item!r}: expected NAME=VALUE")
        result = calibrate_electronic(
            args.data, args.out, structures=args.structure, parameters=args.parameters,
            fixed=fixed, voxel_um=args.voxel_um, conduction=args.conduction,
            am_conductivity=args.am_conductivity, n_design=args.design, refine=args.refine,
            seed=args.seed,
            executor=args.executor, workers=args.workers, experiment=experiment,
            quiet=args.quiet)
        for name, m in result["parameters"].items():
            log(f"{name} = {m['mean']:.4g}, 95 % credible interval [{m['ci95_lower']:.4g}, "
                 f"{m['ci95_upper']:.4g}]")
        for r in result["states"]:
            log(f"{r['state']}: σ_eff {r['sigma_eff_s_m']:.3g} S/m, {r['capacity_mah_g']:.1f} "
                 f"mAh/g at the highest-posterior draw (measured {r['measured_mah_g']:.0f} ± "
                 f"{r['measured_sd_mah_g']:.0f})")
        log(f"report {result['out']}/report.md")
        return result
    lo, hi = float_pair(args.alpha_range, "--alpha-range")
    result = calibrate_tortuosity(
        args.data, args.out, fit_gamma=args.fit_gamma, fit_noise_scale=args.fit_noise_scale,
        relative_noise=args.relative_noise, conductivity_s_m=args.conductivity_s_m,
        z_relative_sd=args.z_relative_sd, alpha_range=(lo, hi), experiment=experiment)
    a = result["parameters"]["alpha"]
    log(f"alpha = {a['mean']:.3f} ± {a['sd']:.3f}, 95 % credible interval "
         f"[{a['ci95_lower']:.3f}, {a['ci95_upper']:.3f}] from {result['measurements']} "
         f"measurements; report {result['out']}/report.md")
    return result


def cmd_variability(args: argparse.Namespace) -> dict:
    """Monte Carlo variability (experiments/variability.py)."""
    from experiments.variability import OUTPUTS, Distribution, run_variability

    dists = [Distribution.parse(spec) for spec in args.vary] if args.vary else None
    result = run_variability(
        args.out, dists, transport=args.transport, n_full=args.n_full, n_train=args.n_train,
        n_surrogate=args.n_surrogate, n_sobol=args.n_sobol, seed=args.seed,
        executor=args.executor, workers=args.workers,
        experiment=None if args.no_mlflow else args.experiment, quiet=args.quiet,
        materials=materials_from(args))
    for name, label in OUTPUTS.items():
        f = result["outputs"][name]["full_model"]
        a = result["outputs"][name]["agreement_on_shared_sample"]
        log(f"{label}: P5 {f['p5']:.4g}, P50 {f['p50']:.4g}, P95 {f['p95']:.4g}; surrogate "
             f"RMSE {a['rmse']:.3g}, KS {a['ks_distance']:.3f}")
    log(f"report {result['out']}/report.md")
    return result


def cmd_process_window(args: argparse.Namespace) -> dict:
    """The process window (experiments/process_window.py)."""
    check_cache_dir(args.cache_dir)
    from experiments.batch import parse_bounds
    from experiments.process_window import run_process_window

    fixed = {}
    if args.coating_thickness_um is not None:
        fixed["coating_thickness_um"] = args.coating_thickness_um
    result = run_process_window(
        args.out, [m.strip() for m in args.materials.split(",") if m.strip()],
        porosity_band=float_pair(args.porosity_band, "--porosity-band"),
        tau_z_max=args.tau_z_max, capacity_min=args.capacity_min,
        fracture_max=args.fracture_max,
        bounds=parse_bounds(args.bounds) if args.bounds else None, fixed=fixed,
        fidelity=args.fidelity, initial=args.initial, iterations=args.iterations, q=args.q,
        seed=args.seed, fidelities=parse_fidelities(args.fidelities) if args.fidelities
        else (), experiment=args.experiment, executor=args.executor,
        workers=args.workers, cache_dir=args.cache_dir, progress=not args.quiet, log=log)
    for material, s in result["materials"].items():
        w = s["pressure_window_mpa_at_nominal"]
        log(f"{material}: {s['feasible']} of {s['evaluations']} evaluations feasible; "
             + (f"P(feasible) >= 0.5 from {w[0]:.3g} to {w[1]:.3g} MPa at the nominal "
                f"temperature and line speed" if w else "no window at the nominal settings"))
    log(f"report {result['out']}/report.md")
    return result

# ---------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> dict:
    """The toolkit end to end on the embedded defaults (experiments/demo.py)."""
    check_cache_dir(args.cache_dir)
    from experiments.demo import run_demo

    if not 4 <= args.initial <= 20:  # the surrogates' cross-validation needs >= 4 runs
        raise ValueError(f"--initial must lie in [4, 20], got {args.initial}")
    if not 0 <= args.iterations <= 20:
        raise ValueError(f"--iterations must lie in [0, 20], got {args.iterations}")
    result = run_demo(args.out, fidelity=args.fidelity, initial=args.initial,
                      iterations=args.iterations, cache_dir=args.cache_dir, log=log,
                      quiet=args.quiet)
    log(f"done in {result['timings_s']['total_s'] / 60:.1f} min; report: "
         f"{result['out']}/report.md")
    log(f"open the runs: mlflow ui --backend-store-uri {result['mlflow_store']}")
    return result


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    p = add("optimize", cmd_optimize,
            "Bayesian optimization on the physics: Sobol start, then qLogNoisyExpected"
            "Improvement batches simulated in parallel, outcome constraints, failed runs "
            "modelled; every evaluation and iteration an MLflow run; rerun to resume.")
    p.add_argument("--problem", required=True,
                   help="TOML problem file (objective, constraints, bounds, fixed, settings; "
                        "see optimize/problem.py)")
    p.add_argument("--experiment", default=None,
                   help="MLflow experiment of the evaluations (default optimize-<file stem>)")
    p.add_argument("--iterations", type=int, default=None,
                   help="BO iterations, in [0, 1000] (default: the file's [settings])")
    p.add_argument("--initial", type=int, default=None,
                   help="Sobol points before BO, in [1, 1000] (default: the file's [settings])")
    p.add_argument("--q", type=int, default=None,
                   help="proposals per iteration, in [1, 64] (default: the file's [settings])")
    p.add_argument("--fidelity", default=None,
                   help="ci, fast or paper (default: the file's [settings], else fast)")
    add_materials_flag(p, "overrides the file's [settings] materials")
    p.add_argument("--fidelities", default=None,
                   help="multi-fidelity: the tiers to choose from, e.g. ci,fast (the target is "
                        "--fidelity); the loop picks point and tier by correlation per cost "
                        "(optimize/multifidelity.py) and reports the cost spent per tier "
                        "(default: --fidelity alone)")
    add_batch_flags(p)
    p.add_argument("--out", default=None,
                   help="write history.csv, result.json and convergence.png here (default: none)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("calibrate", cmd_calibrate,
            "Bayesian calibration by grid quadrature, with 95 % credible intervals, a "
            "posterior-predictive plot, a report folder and an MLflow run.  --target "
            "tortuosity: the Bruggeman exponent α in τ = γ ε^(1-α) from ionic resistances or "
            "blocking impedance spectra at several porosities.  --target dem: contact-law "
            "parameters (binder plasticity, modulus, adhesion, AM rolling resistance, ...) "
            "from a measured porosity–pressure curve, through DEM calenderings of dried "
            "structures (cached, resumable, in parallel), a GP emulator and ensemble MCMC.  "
            "--target electronic: particle contact conductance and CBD conductivity from "
            "measured rate capacities at several densities, through conductivity solves on "
            "each state's image and the P2D at the measured thickness.")
    p.add_argument("--target", default="tortuosity",
                   choices=["tortuosity", "dem", "electronic"],
                   help="what to calibrate (default tortuosity)")
    add_materials_flag(p, "dem: its AM and CBD enter the contact law of the design runs "
                          "(tortuosity reads measured data only; electronic: the NMC111 "
                          "conductivity law, so not with --materials)")
    p.add_argument("--data", required=True,
                   help="tortuosity: CSV with porosity, thickness_um and r_ion_ohm_cm2 [, "
                        "r_ion_sd_ohm_cm2] or spectrum (a CSV path: frequency_hz, "
                        "re_z_ohm_cm2, im_z_ohm_cm2) [, cell, z_relative_sd, conductivity_s_m]; "
                        "dem: CSV with pressure_mpa, porosity (fraction) [, porosity_sd]; "
                        "electronic: CSV with label, porosity, thickness_um, capacity_mah_g, "
                        "capacity_sd_mah_g [, c_rate]")
    p.add_argument("--structure", action="append", default=None,
                   help="electronic: the imaged structure (.npz) of each row of --data, in "
                        "row order; repeat per row; comma-separated films (seeds) of one state "
                        "form an ensemble: its capacity is their mean, their scatter joins "
                        "the model's variance (default: none; required for --target "
                        "electronic)")
    p.add_argument("--voxel-um", type=float, default=1.0,
                   help="electronic: voxel edge of the images in µm, in [0.1, 10] (default 1)")
    p.add_argument("--conduction", default="voxel", choices=["voxel", "network"],
                   help="electronic: σ_eff on the voxel image (default) or on the particles' "
                        "contact network (Holm constriction + contact film per DEM contact; "
                        "physics/conduction.py)")
    p.add_argument("--am-conductivity", default="constant",
                   choices=["constant", "lithiation"],
                   help="electronic: the AM's bulk conductivity constant (default; parameter "
                        "sigma_am_s_m) or falling with lithiation along each discharge "
                        "(NMC111 after Amin & Chiang 2016, physics/am_conductivity.py; "
                        "parameter sigma_am_lithiated_s_m): each design run then discharges "
                        "the P2D with its structure's σ_eff(θ)")
    p.add_argument("--fixed", action="append", default=[],
                   help="electronic: NAME=VALUE for a parameter that is not calibrated "
                        "(contact_am_am_s_m2, contact_am_cbd_s_m2, sigma_am_s_m, "
                        "sigma_am_lithiated_s_m, sigma_cbd_s_m); default: no AM-AM contact "
                        "resistance, the transport defaults for the bulk conductivities, "
                        "1e-5 S/m for the lithiated AM")
    p.add_argument("--preset", default=None,
                   help="dem: the contact law the calibrated parameters are set on, a preset "
                        "name (physics/calender/preset_data: paper, nmc111-calibrated) or a "
                        "preset .json file, over --materials' AM and CBD (default: Table 2's "
                        "law, the paper preset); its runs are cached apart from other bases'")
    p.add_argument("--dried", action="append", default=None,
                   help="dem: a dried structure (etwin dry dried.npz) to calender; repeat "
                        "for several seeds (design run k uses film k mod n; default: none, "
                        "required for --target dem)")
    p.add_argument("--parameters", default=None,
                   help="dem, electronic: calibrated parameters 'name[=LOW:HIGH],...' (dem "
                        "default cbd_plasticity,bridge_stiffness_ratio,cbd_adhesion_ratio,"
                        "am_rolling; also bridge_equilibrium_fraction, am_plasticity, "
                        "cbd_modulus_gpa, cbd_cohesion_gpa, am_friction, cbd_friction, "
                        "am_bare_friction, am_film_depth, plateau_softening_per_k; "
                        "electronic default contact_am_cbd_s_m2,sigma_cbd_s_m; "
                        "also contact_am_am_s_m2, sigma_am_s_m)")
    p.add_argument("--design", type=int, default=24,
                   help="dem, electronic: runs on a Sobol design over the priors (DEM "
                        "calenderings; conductivity solves per structure), in [4, 500] "
                        "(default 24; dem: 0 allowed with --include-runs or --points)")
    p.add_argument("--include-runs", action="append", default=None,
                   help="dem: earlier DEM runs, a folder (another calibration's --out, or "
                        "its dem_runs) or a rows file of benchmarks/dem_design_rows.py, on "
                        "the same films (by content), pressures, protocol and "
                        "indentation test, added to the training set; a parameter they did "
                        "not vary enters at the base law's value; repeatable (default: "
                        "none)")
    p.add_argument("--train-dried", action="append", default=None,
                   help="dem: a dried structure whose --include-runs train the emulator as "
                        "their own film, with no new runs on it and outside the prediction, "
                        "which is the --dried films' mean (e.g. fast films' runs beside "
                        "paper-size targets); repeatable (default: none)")
    p.add_argument("--points", default=None,
                   help="dem: a CSV of chosen parameter points (a header of the calibrated "
                        "parameters' names), each run on every film after the design "
                        "(default: none)")
    p.add_argument("--protocol", default="paper", choices=["paper", "quasi-static"],
                   help="dem: press protocol of the DEM runs (default paper)")
    p.add_argument("--validate", type=int, default=0,
                   help="dem: DEM runs at the highest-posterior draw, on the films in turn, "
                        "in [0, 64] (default 0)")
    p.add_argument("--refine", type=int, default=0,
                   help="dem, electronic: sequential-design rounds after the design, each "
                        "a run (DEM; conductivity solve) at the highest-posterior draw on "
                        "every film added to the emulator's training set, in [0, 32] "
                        "(default 0)")
    p.add_argument("--cv-folds", type=int, default=8,
                   help="dem: groups of whole runs held out in turn to cross-validate the "
                        "emulator (each a refit), 0 (none) or in [2, 64] (default 8)")
    p.add_argument("--executor", default="local",
                   help="dem, electronic: local (default), dask-local or tcp://host:port "
                        "(as etwin sweep)")
    p.add_argument("--workers", type=int, default=1,
                   help="dem, electronic: parallel design runs (default 1)")
    p.add_argument("--porosity-sd", type=float, default=None,
                   help="dem: porosity sd (fraction, in (0, 1)) for rows without "
                        "porosity_sd (default: none, the column is then required)")
    p.add_argument("--recovery", type=float, default=None,
                   help="dem: measured elastic recovery of a micro-indentation of the dried "
                        "electrode, a fraction in (0, 1) (paper's electrode: 0.16); each "
                        "design point then also indents its film (etwin indent) and the "
                        "recovery joins the likelihood (default: none, no indentations)")
    p.add_argument("--recovery-sd", type=float, default=0.03,
                   help="dem: sd of --recovery, in (0, 1) (default 0.03)")
    p.add_argument("--indent-depth-fraction", type=float, default=0.1,
                   help="dem: indentation depth / film thickness of --recovery, in (0, 0.5] "
                        "(default 0.1, the paper's)")
    p.add_argument("--indent-temperature-c", type=float, default=None,
                   help="dem: temperature of the indentations of --recovery [°C], in the "
                        "binder law's [0, 150] (default: --temperature-c, as the paper's "
                        "simulated indentation)")
    p.add_argument("--indent-loading-time-s", type=float, default=None,
                   help="dem: loading time of the real indentation test of --recovery in s, "
                        "in [1e-3, 1e5]: the binder follows its rate (etwin indent "
                        "--loading-time-s; default: the roll's time scale)")
    p.add_argument("--temperature-c", type=float, default=60.0,
                   help="dem: roll temperature of the measured curve [°C] (default 60)")
    p.add_argument("--line-speed-m-min", type=float, default=0.54,
                   help="dem: line speed of the measured curve [m/min] (default 0.54)")
    p.add_argument("--seed", type=int, default=0,
                   help="dem, electronic: seed of the design, integer >= 0 (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", default="calibration", help="report folder (default calibration)")
    p.add_argument("--fit-gamma", action="store_true",
                   help="also calibrate the prefactor γ (log-uniform prior 0.5-2; default γ = 1)")
    p.add_argument("--fit-noise-scale", action="store_true",
                   help="also calibrate a factor on the stated noise (log-uniform 0.25-4)")
    p.add_argument("--alpha-range", default="1,6",
                   help="uniform prior range of α, 'LOW,HIGH' (default 1,6)")
    p.add_argument("--relative-noise", type=float, default=None,
                   help="R_ion sd as a fraction of R_ion where the table has no "
                        "r_ion_sd_ohm_cm2, in (0, 1) (default: none, the column is then "
                        "required)")
    p.add_argument("--z-relative-sd", type=float, default=0.01,
                   help="noise of |Z| for spectra without z_relative_sd, in (0, 1) "
                        "(default 0.01)")
    p.add_argument("--conductivity-s-m", type=float, default=None,
                   help="bulk electrolyte conductivity κ [S/m] for rows without "
                        "conductivity_s_m (default: the cell model's electrolyte, 1 M, 25 °C)")
    p.add_argument("--experiment", default="calibrate",
                   help="MLflow experiment (default calibrate)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")

    p = add("variability", cmd_variability,
            "Monte Carlo of coating scatter (thickness, porosity, Bruggeman exponent, "
            "conductivity) through the cell model and through GP surrogates: capacity and "
            "resistance distributions, percentiles, Sobol' indices, surrogate-vs-full "
            "agreement; report folder and an MLflow run.")
    p.add_argument("--transport", default=None,
                   help="base cathode from an etwin transport metrics.json (default: the cell "
                        "model's defaults)")
    add_materials_flag(p, "its AM's electrochemistry (OCP, capacity, diffusivity, kinetics) "
                          "and voltage window")
    p.add_argument("--vary", action="append", default=[],
                   help="NAME=KIND:A,B, repeatable; NAME in thickness_um, porosity, "
                        "bruggeman_alpha, electronic_conductivity_s_m; KIND normal (mean, sd), "
                        "uniform (low, high) or lognormal (median, sd of ln) (default: "
                        "thickness sd 2 %%, porosity sd 0.01)")
    p.add_argument("--n-full", type=int, default=200,
                   help="full-model draws (DFN discharges), in [10, 100000] (default 200)")
    p.add_argument("--n-train", type=int, default=48,
                   help="surrogate training points (Sobol), in [8, 2000] (default 48)")
    p.add_argument("--n-surrogate", type=int, default=100000,
                   help="surrogate draws, in [1000, 1e7] (default 100000)")
    p.add_argument("--n-sobol", type=int, default=8192,
                   help="base sample of the Sobol' indices, in [64, 1e6] (default 8192)")
    p.add_argument("--seed", type=int, default=0, help="random seed, integer >= 0 (default 0)")
    p.add_argument("--executor", default="local",
                   help="local (default), dask-local or tcp://host:port (as etwin sweep)")
    p.add_argument("--workers", type=int, default=2,
                   help="parallel cell-model processes, in [1, 512] (default 2)")
    p.add_argument("--out", default="variability", help="report folder (default variability)")
    p.add_argument("--experiment", default="variability",
                   help="MLflow experiment (default variability)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("process-window", cmd_process_window,
            "Process window: the BO loop on the physics per active material (NMC, a "
            "graphite-like anode material) for calendering settings with porosity in a band, "
            "τ_z and capacity limits and a particle-fracture limit; then maps of the "
            "probability of feasibility over 2-D slices with the evaluated points and the "
            "model uncertainty, and the materials' pressure windows compared.")
    p.add_argument("--materials", default="nmc,graphite",
                   help="comma-separated material sets: nmc (the paper's NMC111 electrode), "
                        "graphite (a graphite anode), other shipped names (etwin materials "
                        "--list) or material .toml files (default nmc,graphite)")
    p.add_argument("--porosity-band", default="0.27,0.31",
                   help="target porosity 'LOW,HIGH' as fractions (default 0.27,0.31)")
    p.add_argument("--tau-z-max", type=float, default=1.7,
                   help="through-plane tortuosity factor limit (default 1.7)")
    p.add_argument("--capacity-min", type=float, default=150.0,
                   help="1C capacity floor [mAh/g] (default 150)")
    p.add_argument("--fracture-max", type=float, default=0.05,
                   help="largest share of AM particles above their crushing strength, in "
                        "[0, 1] (default 0.05)")
    p.add_argument("--bounds", default=None,
                   help="decision variables 'name=low:high,...' (default pressure_mpa=1:150,"
                        "temperature_c=25:120,line_speed_m_min=0.2:20)")
    p.add_argument("--coating-thickness-um", type=float, default=None,
                   help="dry coating thickness [µm] (default 165)")
    p.add_argument("--fidelity", default="ci",
                   help="ci, fast or paper (default ci: a first window in about an hour on 2 "
                        "cores; confirm it at fast, the size results are validated at)")
    p.add_argument("--fidelities", default=None,
                   help="multi-fidelity: the tiers to choose from, e.g. ci,fast with "
                        "--fidelity fast (optimize/multifidelity.py); the window is read "
                        "from the --fidelity evaluations (default: --fidelity alone)")
    p.add_argument("--initial", type=int, default=6,
                   help="Sobol points per material, in [1, 1000] (default 6)")
    p.add_argument("--iterations", type=int, default=4,
                   help="BO iterations per material, in [0, 1000] (default 4)")
    p.add_argument("--q", type=int, default=1,
                   help="proposals per iteration (in parallel), in [1, 64] (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the design and simulations, integer >= 0 (default 0)")
    p.add_argument("--experiment", default="process-window",
                   help="MLflow experiment of the job (evaluations in <experiment>-<material>; "
                        "default process-window)")
    add_batch_flags(p)
    p.add_argument("--out", default="process_window",
                   help="report folder (default process_window)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = add("demo", cmd_demo,
            "End to end on the embedded defaults (~7.5 min on 2 cores): dry the paper recipe, "
            "a process-window BO loop on the physics (calender, transport, cell), GP "
            "surrogates, the Bruggeman exponent from the simulated impedance, and Monte Carlo "
            "variability; prints the report and how to open the MLflow UI.")
    p.add_argument("--out", default="etwin_demo", help="report folder (default etwin_demo)")
    p.add_argument("--fidelity", default="ci",
                   help="ci (default: the demo stays under 15 min on 2 cores), fast or paper")
    p.add_argument("--initial", type=int, default=5,
                   help="Sobol evaluations of the process window, in [4, 20] (default 5)")
    p.add_argument("--iterations", type=int, default=2,
                   help="BO iterations of the process window, in [0, 20] (default 2)")
    p.add_argument("--cache-dir", default=None, help="stage cache (default ./etwin_cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
