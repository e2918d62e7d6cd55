"""``etwin pressure-path``: the optimal pressure trajectory (experiments/pressure_path.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.commands.common import (
    PRESET_HELP,
    AddCommand,
    as_flag,
    check_cache_dir,
    check_fidelity_flag,
    float_pair,
    load_dried,
    log,
    number_list,
)


def _dried_film(args: argparse.Namespace):
    """(state, source) of --dried, or the paper recipe dried at --fidelity in the stage
    cache (dried on the first call)."""
    from physics.state import ParticleState

    if args.dried:
        return load_dried(args.dried)
    from physics.pipeline import ProcessInputs, StageCache, dry_stage, dry_stage_key

    inputs = ProcessInputs()
    log(f"no --dried given: the paper recipe dried at --fidelity {args.fidelity} "
        "(stage cache)")
    dry_stage(inputs, args.fidelity, args.seed, args.cache_dir,
              note=lambda stage, message: log(f"{stage}: {message}"))
    hit = StageCache(args.cache_dir).load("dry", dry_stage_key(inputs, args.fidelity,
                                                                args.seed))
    return ParticleState.load(hit[0] / "dried.npz"), str(hit[0] / "dried.npz")


def _model(path_text: str):
    from physics.pressure_path import LayerModel

    path = Path(path_text)
    if not path.is_file():
        raise FileNotFoundError(f"--model {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"--model {path}: not a readable model.json ({err})") from None
    try:
        return LayerModel.from_dict(data)
    except ValueError as err:
        raise ValueError(f"--model {path}: {err}") from None


def cmd_pressure_path(args: argparse.Namespace) -> dict:
    """The optimal pressure path: Pontryagin on the reduced model, BO with the DEM."""
    from experiments.pressure_path import (
        DemPress,
        PathSettings,
        check_overrides,
        run_pressure_path,
    )
    from physics.calender.presets import load_preset
    from physics.pipeline import calender_protocol

    check_fidelity_flag(args.fidelity)
    try:
        settings = PathSettings(
            target_porosity=args.target_porosity, n_layers=args.layers,
            voxel_um=args.voxel_um,
            curve_pressures_mpa=number_list(args.curve_pressures_mpa, "--curve-pressures-mpa"),
            weight=args.weight,
            pressure_range_mpa=float_pair(args.pressure_range_mpa, "--pressure-range-mpa"),
            passes=args.passes, budget=args.budget, initial=args.initial,
            tolerance=args.tolerance, seed=args.seed)
        conditions = load_preset(args.preset).process_conditions(
            temperature_c=args.temperature_c, line_speed_m_min=args.line_speed_m_min)
        check_overrides(args.transmission, args.damkohler)
    except ValueError as err:
        raise ValueError(as_flag(str(err).replace("n_layers", "layers"))) from None
    progress = None if args.quiet else log
    model = _model(args.model) if args.model else None
    press, source = None, "--model " + args.model if args.model else ""
    if model is None or settings.budget:
        check_cache_dir(args.cache_dir)
        state, source = _dried_film(args)
        press = DemPress(state, conditions, calender_protocol(args.fidelity),
                         settings.voxel_um, Path(args.out) / "dem", log=progress)
    try:
        result = run_pressure_path(
            args.out, settings, press=press, model=model, transmission=args.transmission,
            damkohler=args.damkohler, experiment=None if args.no_mlflow else args.experiment,
            log=progress, source=source)
    except ValueError as err:
        message = str(err).replace("max_pressure_mpa", "the pressure bound (HIGH of "
                                   "--pressure-range-mpa)").replace("n_layers", "layers")
        raise ValueError(as_flag(message)) from None
    pmp = result["nip"]["pontryagin"]
    log(f"nip: Pontryagin peak {pmp['peak_pressure_mpa']:.3g} MPa, spread sd "
        f"{pmp['spread_sd']:.4f}, cost {pmp['cost']:.4g} (direct check "
        f"{result['nip']['direct']['cost']:.4g})")
    dem = result["dem"]
    if dem and dem["best"]:
        best = dem["best"]
        log(f"DEM: best schedule {', '.join(f'{p:.3g}' for p in best['pressures_mpa'])} MPa, "
            f"porosity {best['porosity']:.4f}, cost {best['cost']:.4g}")
    elif dem:
        log(f"DEM: none of {dem['evaluations']} schedules within the porosity band")
    log(f"report {result['out']}/report.md")
    return result


def register(add: AddCommand) -> None:
    """The parser of ``etwin pressure-path``."""
    p = add("pressure-path", cmd_pressure_path,
            "Optimal pressure trajectory: the pressure history (one nip, or the passes of "
            "multi-pass calendering) that minimizes the through-thickness porosity spread at a "
            "target film porosity while penalizing pressure, solved by Pontryagin's minimum "
            "principle on a reduced layer-wise compaction model identified from DEM porosity "
            "profiles (checked by direct optimization), and by Bayesian optimization of a "
            "multi-pass schedule with the DEM in the loop; report folder and an MLflow run; "
            "rerun to resume.")
    p.add_argument("--target-porosity", type=float, required=True,
                   help="film porosity at exit, a fraction in (0, 1) within the range the film "
                        "can reach (the error names it)")
    p.add_argument("--dried", default=None,
                   help="dried structure: an etwin dry folder or .npz (default: the paper "
                        "recipe dried at --fidelity, kept in the stage cache)")
    p.add_argument("--fidelity", default="ci",
                   help="size of the film when drying and the DEM press protocol: ci, fast or "
                        "paper (default ci)")
    p.add_argument("--model", default=None,
                   help="reduced model file (a previous run's model.json): skips the DEM "
                        "identification (default: identified from the DEM curve of the film)")
    p.add_argument("--layers", type=int, default=5,
                   help="sub-layers through the thickness, in [2, 50] (default 5)")
    p.add_argument("--voxel-um", type=float, default=0.5,
                   help="voxel edge of the porosity profiles [µm], in [0.05, 5] (default 0.5)")
    p.add_argument("--curve-pressures-mpa", default="0.3,1,3,10",
                   help="pressures of the identification curve [MPa], >= 3 distinct values in "
                        "(0, 500] (default 0.3,1,3,10)")
    p.add_argument("--transmission", type=float, default=None,
                   help="stress transmission β = p(collector)/p(roll) of the reduced model, in "
                        "(0, 1] (default: identified from the DEM profiles, or the model's)")
    p.add_argument("--damkohler", type=float, default=None,
                   help="contact time in compaction relaxation times Da, in (0, 100] (default 4, "
                        "or the model's)")
    p.add_argument("--weight", type=float, default=1e-4,
                   help="weight w of the pressure penalty w ∫(p/p_ref)² dt against the spread "
                        "(a variance of porosity), in [0, 1] (default 1e-4)")
    p.add_argument("--pressure-range-mpa", default="0.2,20",
                   help="'LOW,HIGH' of the pass pressures [MPa]; HIGH is also the nip's "
                        "pressure bound (fracture limit); 0 < LOW < HIGH <= 500 (default "
                        "0.2,20)")
    p.add_argument("--passes", type=int, default=2,
                   help="passes of a DEM schedule, in [1, 4] (default 2)")
    p.add_argument("--budget", type=int, default=6,
                   help="DEM schedule evaluations, in [0, 100]; 0: the reduced model alone "
                        "(default 6, about 1-2 CPU min each at ci)")
    p.add_argument("--initial", type=int, default=3,
                   help="Sobol evaluations among them, in [1, --budget] (default 3)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="half-width of the film porosity band around the target for the DEM "
                        "schedules, in (0, 0.1] (default 0.01, above the scatter of single ci "
                        "runs)")
    p.add_argument("--preset", default="paper", help=PRESET_HELP + " of the DEM press")
    p.add_argument("--temperature-c", type=float, default=60.0,
                   help="roll temperature of the DEM press [°C], in [0, 150] (default 60)")
    p.add_argument("--line-speed-m-min", type=float, default=0.54,
                   help="line speed of the DEM press [m/min] (binder rate law), in "
                        "[0.01, 200] (default 0.54)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the drying (no --dried) and of the BO design, integer >= 0 "
                        "(default 0)")
    p.add_argument("--cache-dir", default=None,
                   help="stage cache of the drying (default $ETWIN_CACHE_DIR or ./etwin_cache)")
    p.add_argument("--out", default="pressure_path",
                   help="report folder; its dem/ holds the DEM passes (default pressure_path)")
    p.add_argument("--experiment", default="pressure-path",
                   help="MLflow experiment (default pressure-path)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.add_argument("--quiet", action="store_true",
                   help="no progress lines (DEM passes, evaluations) on stderr")
