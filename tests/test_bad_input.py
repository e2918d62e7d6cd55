"""Every ``etwin`` command driven with bad input: wrong types, missing keys, out-of-range
values, corrupt and truncated files, empty CSVs, unknown names.  Each must end with exit status
2, a message on stderr naming the field (and what is allowed), and no traceback."""

import json
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main

DRIED = Path(__file__).parent / "data" / "dried_ci_seed0.npz"
#: words that say what is allowed (a range, a list of names, the expected form)
ALLOWED_WORDS = ("allowed", "must", "range", "expected", "expects", "give ", "needs", "need ",
                 "invalid", "missing", "not a", "no such", "unknown", "empty", ">=", "<=",
                 "is a file", "required", "choose from", "does not")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Bad and good input files, by name."""
    d = tmp_path_factory.mktemp("bad_input")
    paths: dict[str, str] = {}

    def write(name: str, text: str | bytes) -> None:
        path = d / name
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        paths[name] = str(path)

    write("empty.csv", "")
    write("header_only.csv", "pressure_mpa,porosity,porosity_sd\n")
    write("dem_missing_column.csv", "pressure_mpa,porosity_sd\n5,0.01\n50,0.01\n")
    write("dem_non_monotone.csv",
          "pressure_mpa,porosity,porosity_sd\n50,0.30,0.01\n5,0.28,0.01\n")
    write("dem_porosity_above_1.csv",
          "pressure_mpa,porosity,porosity_sd\n5,1.2,0.01\n50,0.3,0.01\n")
    write("dem_sd_zero.csv", "pressure_mpa,porosity,porosity_sd\n5,0.32,0\n50,0.29,0.01\n")
    write("dem_text.csv", "pressure_mpa,porosity,porosity_sd\n5,abc,0.01\n50,0.29,0.01\n")
    write("tortuosity.csv", "porosity,thickness_um,r_ion_ohm_cm2,r_ion_sd_ohm_cm2\n"
                            "0.3,50,5,0.1\n0.4,50,4,0.1\n")
    write("points_unknown.csv", "warp_factor\n9\n")
    write("points_text.csv", "pressure_mpa\nhigh\n")
    write("train.csv", "pressure_mpa,porosity\n5,0.3\n10,0.29\n20,0.28\n40,0.27\n")
    write("batches_no_id.csv", "dried_porosity\n0.42\n")
    write("batches_no_feed.csv", "batch,dried_thickness_um\nB1,80\n")
    write("batches_porosity_1.3.csv", "batch,dried_porosity\nB1,1.3\n")
    write("batches_text.csv", "batch,dried_porosity\nB1,abc\n")
    write("batches_solids_0.95.csv", "batch,solid_content\nB1,0.95\n")
    write("batches_thickness_neg.csv", "position_m,dried_porosity,dried_thickness_um\n"
                                       "0,0.42,-80\n")
    write("batches_dense.csv", "batch,dried_porosity\nB1,0.42\nB7,0.29\n")
    write("batches_empty_row.csv", "batch,dried_porosity,solid_content\nB1,,\n")
    write("curve_no_porosity.csv", "pressure_mpa,thickness_um\n0,80\n1,70\n2,68\n5,66\n")
    write("curve_no_dried.csv", "pressure_mpa,porosity\n1,0.35\n2,0.32\n5,0.3\n20,0.28\n")
    write("curve_no_thickness.csv", "pressure_mpa,porosity\n0,0.42\n5,0.3\n10,0.29\n"
                                    "20,0.28\n40,0.27\n")
    write("truncated.npz", DRIED.read_bytes()[:2000])
    write("not_npz.npz", "this is text, not a zip archive")
    write("corrupt.npy", b"\x93NUMPY garbage")
    write("corrupt.json", "{\"cathode\": {")
    write("list.json", "[1, 2, 3]")
    write("missing_key.json", json.dumps({"temperature_k": 298.15}))
    write("corrupt.toml", "objective = [unclosed\n")
    write("bad_objective.toml", "[objective]\noutput = \"warp_drive\"\nsense = \"max\"\n"
                                "[bounds]\npressure_mpa = [5, 50]\n")
    path_model = {"law": {"porosity_initial": 0.46, "porosity_min": 0.30, "modulus_mpa": 0.4,
                          "modulus_slope": 0.5}, "shape": [1.2, 0.9, 0.95, 0.85, 1.1],
                  "transmission": 0.6, "damkohler": 4.0}
    write("path_model.json", json.dumps(path_model))
    write("path_model_bad.json", json.dumps({**path_model, "transmission": 1.5}))
    write("path_model_text.json", json.dumps({**path_model, "shape": ["wide"] * 5}))
    transport = {"input": "x", "porosity": "high"}
    write("transport_bad.json", json.dumps(transport))
    for name, image in (("phase7.npy", np.full((8, 8, 8), 7, np.uint8)),
                        ("flat.npy", np.zeros((8, 8), np.uint8)),
                        ("good.npy", np.zeros((8, 8, 8), np.uint8))):
        np.save(d / name, image)
        paths[name] = str(d / name)
    paths["dir"] = str(d)
    paths["missing"] = str(d / "does_not_exist.npz")
    paths["missing_materials"] = str(d / "does_not_exist.toml")
    paths["out"] = str(d / "out")
    return paths


def case(*args: str, field: str):
    return pytest.param(list(args), field, id=" ".join(args)[:60])


CASES = [
    # recipe
    case("recipe", "--n-am", "abc", field="--n-am"),
    case("recipe", "--n-am", "0", field="n_am"),
    case("recipe", "--box-um", "a,b,c", field="--box-um"),
    case("recipe", "--box-um", "10,10,10", "--porosity", "1.5", field="porosity"),
    case("recipe", "--recipe", "mystery", field="--recipe"),
    # collide
    case("collide", "--particle", "glass", field="particle"),
    case("collide", "--target", "Cu", field="target"),
    case("collide", "--radius-um", "0", field="--radius-um"),
    case("collide", "--speed-m-s", "nan", field="--speed-m-s"),
    case("collide", "--dt-us", "-1", field="--dt-us"),
    # dry
    case("dry", "--fidelity", "huge", "--out", "{out}", field="--fidelity"),
    case("dry", "--n-am", "5", "--out", "{out}", field="--n-am"),
    case("dry", "--am-mass-fraction", "0.5", "--out", "{out}", field="am_mass_fraction"),
    case("dry", "--solid-content", "0.95", "--out", "{out}", field="solid_content"),
    case("dry", "--mode", "sideways", "--out", "{out}", field="mode"),
    case("dry", "--seed", "1.5", "--out", "{out}", field="--seed"),
    # calender
    case("calender", "--dried", "{missing}", "--out", "{out}", field="does_not_exist"),
    case("calender", "--dried", "{truncated.npz}", "--out", "{out}", field="truncated.npz"),
    case("calender", "--dried", "{not_npz.npz}", "--out", "{out}", field="not_npz.npz"),
    case("calender", "--protocol", "fast", "--dried", "{dried}", "--out", "{out}",
         field="--protocol"),
    case("calender", "--preset", "nope", "--dried", "{dried}", "--out", "{out}",
         field="preset"),
    case("calender", "--am-friction", "5", "--dried", "{dried}", "--out", "{out}",
         field="friction"),
    case("calender", "--inertial-number", "0", "--dried", "{dried}", "--out", "{out}",
         field="inertial_number"),
    case("calender", "--roll-diameter-m", "10", "--dried", "{dried}", "--out", "{out}",
         field="roll_diameter_m"),
    case("calender", "--pressures-mpa", "20,,60", "--dried", "{dried}", "--out", "{out}",
         field="--pressures-mpa"),
    # indent
    case("indent", "--depth-fraction", "0.9", "--dried", "{dried}", "--out", "{out}",
         field="depth"),
    case("indent", "--tile", "0", "--dried", "{dried}", "--out", "{out}", field="tile"),
    case("indent", "--hold-us", "-1", "--dried", "{dried}", "--out", "{out}", field="hold"),
    # transport
    case("transport", "{missing}", field="does_not_exist"),
    case("transport", "{corrupt.npy}", field="corrupt.npy"),
    case("transport", "{phase7.npy}", field="phase7.npy"),
    case("transport", "{flat.npy}", field="flat.npy"),
    case("transport", "{good.npy}", "--voxel-um", "0", field="--voxel-um"),
    case("transport", "{good.npy}", "--directions", "w", field="directions"),
    case("transport", "{good.npy}", "--rtol", "2", field="rtol"),
    case("transport", "{good.npy}", "--cbd-porosity", "1.5", field="cbd_porosity"),
    case("transport", "{good.npy}", "--contact-am-am-s-m2", "-1", field="contact"),
    # cell
    case("cell", "--c-rate", "0", field="--c-rate"),
    case("cell", "--params", "{missing}", field="does_not_exist"),
    case("cell", "--params", "{corrupt.json}", field="corrupt.json"),
    case("cell", "--params", "{list.json}", field="list.json"),
    case("cell", "--transport", "{transport_bad.json}", field="tau_z"),
    case("cell", "--transport", "{corrupt.json}", field="--transport"),
    # cell3d
    case("cell3d", "{good.npy}", field="good.npy"),
    case("cell3d", "{dried}", "--voxel-um", "50", field="--voxel-um"),
    case("cell3d", "{dried}", "--separator-layers", "0", field="--separator-layers"),
    # eis
    case("eis", "--f-min-hz", "0", field="f_min"),
    case("eis", "--f-min-hz", "1e6", "--f-max-hz", "10", field="f_m"),
    case("eis", "--points-per-decade", "0", field="points_per_decade"),
    case("eis", "--blocking-sigma-s-m", "-1", field="--blocking-sigma-s-m"),
    # simulate
    case("simulate", "--pressure-mpa", "1000", "--no-track", field="pressure_mpa"),
    case("simulate", "--temperature-c", "hot", "--no-track", field="--temperature-c"),
    case("simulate", "--fidelity", "xl", "--no-track", field="fidelity"),
    case("simulate", "--c-rates", "0", "--no-track", field="c_rate"),
    case("simulate", "--cell-model", "4d", "--no-track", field="--cell-model"),
    case("simulate", "--seed", "-3", "--no-track", field="seed"),
    case("simulate", "--line-speed-m-min", "-5,2", "--no-track", field="--line-speed-m-min"),
    # sweep
    case("sweep", field="--grid"),
    case("sweep", "--grid", "warp=1,2", field="warp"),
    case("sweep", "--sobol", "4", field="--bounds"),
    case("sweep", "--sobol", "4", "--bounds", "pressure_mpa=5:1", field="pressure_mpa"),
    case("sweep", "--points", "{empty.csv}", field="empty.csv"),
    case("sweep", "--points", "{points_unknown.csv}", field="warp_factor"),
    case("sweep", "--points", "{points_text.csv}", field="pressure_mpa"),
    case("sweep", "--grid", "pressure_mpa=5", "--workers", "0", field="--workers"),
    case("sweep", "--grid", "pressure_mpa=5", "--executor", "mpi", field="executor"),
    # train
    case("train", "--data", "{missing}", field="--data"),
    case("train", "--data", "{empty.csv}", field="--data"),
    case("train", "--data", "{train.csv}", "--folds", "1", field="--folds"),
    case("train", "--data", "{train.csv}", "--outputs", "warp", field="warp"),
    case("train", "--data", "{train.csv}", "--features", "warp", field="warp"),
    # optimize
    case("optimize", "--problem", "{missing}", field="does_not_exist"),
    case("optimize", "--problem", "{corrupt.toml}", field="corrupt.toml"),
    case("optimize", "--problem", "{bad_objective.toml}", field="warp_drive"),
    # calibrate
    case("calibrate", "--data", "{missing}", field="does_not_exist"),
    case("calibrate", "--data", "{empty.csv}", field="empty.csv"),
    case("calibrate", "--target", "dem", "--data", "{dem_missing_column.csv}",
         "--dried", "{dried}", field="porosity"),
    case("calibrate", "--target", "dem", "--data", "{dem_non_monotone.csv}",
         "--dried", "{dried}", field="pressure"),
    case("calibrate", "--target", "dem", "--data", "{dem_porosity_above_1.csv}",
         "--dried", "{dried}", field="porosity"),
    case("calibrate", "--target", "dem", "--data", "{dem_sd_zero.csv}", "--dried", "{dried}",
         field="porosity_sd"),
    case("calibrate", "--target", "dem", "--data", "{dem_text.csv}", "--dried", "{dried}",
         field="porosity"),
    case("calibrate", "--target", "dem", "--data", "{header_only.csv}", "--dried", "{dried}",
         field="header_only.csv"),
    case("calibrate", "--target", "dem", "--data", "{dem_sd_zero.csv}", "--dried", "{dried}",
         "--parameters", "warp", field="warp"),
    case("calibrate", "--data", "{tortuosity.csv}", "--alpha-range", "6,1", field="--alpha-range"),
    case("calibrate", "--target", "magic", "--data", "{tortuosity.csv}", field="--target"),
    case("calibrate", "--data", "{tortuosity.csv}", "--preset", "nmc111-calibrated",
         field="--preset"),
    # variability
    case("variability", "--vary", "porosity=normal:0.3", field="porosity"),
    case("variability", "--vary", "warp=normal:1,2", field="warp"),
    case("variability", "--vary", "porosity=gamma:1,2", field="gamma"),
    case("variability", "--n-full", "5", field="n_full"),
    case("variability", "--transport", "{corrupt.json}", field="corrupt.json"),
    # target-porosity
    case("target-porosity", "--target-porosity", "0.2", "--no-mlflow", "--out", "{dir}/tp",
         field="target_porosity"),
    case("target-porosity", "--target-porosity", "0.45", "--no-mlflow", "--out", "{dir}/tp",
         field="target_porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--batches", "{batches_no_id.csv}",
         "--no-mlflow", "--out", "{dir}/tp", field="position_m"),
    case("target-porosity", "--target-porosity", "0.3", "--batches",
         "{batches_no_feed.csv}", "--no-mlflow", "--out", "{dir}/tp", field="dried_porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--batches",
         "{batches_porosity_1.3.csv}", "--no-mlflow", "--out", "{dir}/tp",
         field="dried_porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--batches", "{batches_text.csv}",
         "--no-mlflow", "--out", "{dir}/tp", field="dried_porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--batches",
         "{batches_solids_0.95.csv}", "--no-mlflow", "--out", "{dir}/tp",
         field="solid_content"),
    case("target-porosity", "--target-porosity", "0.3", "--batches",
         "{batches_thickness_neg.csv}", "--no-mlflow", "--out", "{dir}/tp",
         field="dried_thickness_um"),
    case("target-porosity", "--target-porosity", "0.3", "--batches", "{batches_dense.csv}",
         "--no-mlflow", "--out", "{dir}/tp", field="'B7'"),
    case("target-porosity", "--target-porosity", "0.3", "--batches",
         "{batches_empty_row.csv}", "--no-mlflow", "--out", "{dir}/tp", field="line 2"),
    case("target-porosity", "--target-porosity", "0.3", "--batches", "{empty.csv}",
         "--no-mlflow", "--out", "{dir}/tp", field="batch"),
    case("target-porosity", "--target-porosity", "0.3", "--curve",
         "{curve_no_porosity.csv}", "--no-mlflow", "--out", "{dir}/tp", field="porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--curve", "{curve_no_dried.csv}",
         "--no-mlflow", "--out", "{dir}/tp", field="dried film"),
    case("target-porosity", "--target-porosity", "0.3", "--curve", "{corrupt.json}",
         "--no-mlflow", "--out", "{dir}/tp", field="corrupt.json"),
    case("target-porosity", "--target-porosity", "0.3", "--curve", "{missing}",
         "--no-mlflow", "--out", "{dir}/tp", field="--curve"),
    case("target-porosity", "--target-porosity", "0.3", "--pressure-max-mpa", "500",
         "--no-mlflow", "--out", "{dir}/tp", field="pressure_max_mpa"),
    case("target-porosity", "--target-porosity", "0.3", "--level", "2", "--no-mlflow",
         "--out", "{dir}/tp", field="level"),
    case("target-porosity", "--target-porosity", "0.3", "--vary",
         "dried_porosity=normal:0.42", "--no-mlflow", "--out", "{dir}/tp",
         field="dried_porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--vary", "porosity=normal:0.4,0.01",
         "--no-mlflow", "--out", "{dir}/tp", field="porosity"),
    case("target-porosity", "--target-porosity", "0.3", "--surrogate", "{missing}",
         "--no-mlflow", "--out", "{dir}/tp", field="--surrogate"),
    case("target-porosity", "--target-porosity", "0.3", "--am-mass-fraction", "0.5",
         "--no-mlflow", "--out", "{dir}/tp", field="am_mass_fraction"),
    # crown
    case("crown", "--web-width-mm", "-5", "--no-mlflow", "--out", "{out}",
         field="--web-width-mm"),
    case("crown", "--web-width-mm", "700", "--no-mlflow", "--out", "{out}",
         field="--web-width-mm"),
    case("crown", "--crown-um", "200", "--no-mlflow", "--out", "{out}", field="--crown-um"),
    case("crown", "--journal-diameter-mm", "500", "--no-mlflow", "--out", "{out}",
         field="--journal-diameter-mm"),
    case("crown", "--bearing-span-mm", "300", "--no-mlflow", "--out", "{out}",
         field="--bearing-span-mm"),
    case("crown", "--bearing-gap-um", "500", "--no-mlflow", "--out", "{out}",
         field="--bearing-gap-um"),
    case("crown", "--line-load-kn-cm", "50", "--no-mlflow", "--out", "{out}",
         field="--line-load-kn-cm"),
    case("crown", "--springback-percent", "50", "--no-mlflow", "--out", "{out}",
         field="--springback-percent"),
    case("crown", "--crown-max-um", "-1", "--no-mlflow", "--out", "{out}",
         field="--crown-max-um"),
    case("crown", "--curve", "{corrupt.json}", "--no-mlflow", "--out", "{out}",
         field="corrupt.json"),
    case("crown", "--curve", "{missing}", "--no-mlflow", "--out", "{out}",
         field="does_not_exist"),
    case("crown", "--curve", "{header_only.csv}", "--no-mlflow", "--out", "{out}",
         field="header_only.csv"),
    case("crown", "--curve", "{train.csv}", "--no-mlflow", "--out", "{out}",
         field="train.csv"),
    case("crown", "--curve", "{curve_no_thickness.csv}", "--no-mlflow", "--out", "{out}",
         field="--coating-thickness-um"),
    # stiffness
    case("stiffness", "{missing}", field="does_not_exist"),
    case("stiffness", "{dir}", field="calendered_"),
    case("stiffness", "{missing}", "--strain", "-1", field="--strain"),
    case("stiffness", "{missing}", "--preload-mpa", "-2", field="--preload-mpa"),
    # process-window
    case("process-window", "--materials", "unobtanium", field="unobtanium"),
    case("process-window", "--porosity-band", "0.4,0.3", field="--porosity-band"),
    case("process-window", "--fracture-max", "2", field="fracture_max"),
    case("process-window", "--bounds", "pressure_mpa=-1:5", field="pressure_mpa"),
    case("process-window", "--coating-thickness-um", "5000", field="coating_thickness_um"),
    # pressure-path (a given model and --budget 0: nothing runs before the check)
    case("pressure-path", "--model", "{path_model.json}", "--budget", "0", "--target-porosity",
         "0.2", "--out", "{out}", field="reachable range (0.30"),
    case("pressure-path", "--model", "{path_model.json}", "--budget", "0", "--target-porosity",
         "0.5", "--out", "{out}", field="--target-porosity"),
    case("pressure-path", "--target-porosity", "1.5", "--out", "{out}",
         field="--target-porosity"),
    case("pressure-path", "--target-porosity", "0.3", "--layers", "1", "--out", "{out}",
         field="--layers"),
    case("pressure-path", "--target-porosity", "0.3", "--pressure-range-mpa", "20,5",
         "--out", "{out}", field="--pressure-range-mpa"),
    case("pressure-path", "--target-porosity", "0.3", "--pressure-range-mpa", "1,900",
         "--out", "{out}", field="--pressure-range-mpa"),
    case("pressure-path", "--target-porosity", "0.3", "--weight", "-1", "--out", "{out}",
         field="--weight"),
    case("pressure-path", "--target-porosity", "0.3", "--curve-pressures-mpa", "1,2",
         "--out", "{out}", field="--curve-pressures-mpa"),
    case("pressure-path", "--target-porosity", "0.3", "--passes", "7", "--out", "{out}",
         field="--passes"),
    case("pressure-path", "--target-porosity", "0.3", "--budget", "4", "--initial", "9",
         "--out", "{out}", field="--initial"),
    case("pressure-path", "--target-porosity", "0.3", "--tolerance", "0", "--out", "{out}",
         field="--tolerance"),
    case("pressure-path", "--target-porosity", "0.3", "--transmission", "1.5", "--out",
         "{out}", field="--transmission"),
    case("pressure-path", "--target-porosity", "0.3", "--damkohler", "0", "--out", "{out}",
         field="--damkohler"),
    case("pressure-path", "--target-porosity", "0.3", "--temperature-c", "400", "--out",
         "{out}", field="--temperature-c"),
    case("pressure-path", "--target-porosity", "0.3", "--preset", "nope", "--out", "{out}",
         field="preset"),
    case("pressure-path", "--model", "{corrupt.json}", "--budget", "0", "--target-porosity",
         "0.3", "--out", "{out}", field="corrupt.json"),
    case("pressure-path", "--model", "{path_model_bad.json}", "--budget", "0",
         "--target-porosity", "0.35", "--out", "{out}", field="transmission"),
    case("pressure-path", "--model", "{path_model_text.json}", "--budget", "0",
         "--target-porosity", "0.35", "--out", "{out}", field="not a number"),
    case("pressure-path", "--model", "{missing}", "--budget", "0", "--target-porosity", "0.35",
         "--out", "{out}", field="does_not_exist"),
    case("pressure-path", "--model", "{path_model.json}", "--budget", "0", "--layers", "4",
         "--target-porosity", "0.35", "--out", "{out}", field="layers"),
    case("pressure-path", "--dried", "{truncated.npz}", "--target-porosity", "0.35", "--out",
         "{out}", field="truncated.npz"),
    # materials
    case("materials", "--show", "unobtainium", field="unobtainium"),
    case("materials", "--show", "{corrupt.toml}", field="corrupt.toml"),
    case("simulate", "--materials", "{missing_materials}", "--no-track", field="--materials"),
    # convert
    case("convert", "{missing}", "{dir}/out.npz", field="does_not_exist"),
    case("convert", "{good.npy}", "{dir}/image.xyz", field="xyz"),
    # demo
    case("demo", "--iterations", "50", field="--iterations"),
    case("demo", "--fidelity", "xl", field="fidelity"),
]


def test_there_are_at_least_60_cases_covering_every_command():
    from experiments.cli import build_parser

    commands = {c.values[0][0] for c in CASES}
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices)
    assert len(CASES) >= 60
    assert set(sub.choices) - commands <= {"runs"}


@pytest.mark.parametrize("args,field", CASES)
def test_bad_input_is_a_clear_error(args, field, files, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # any MLflow store or cache a command opens lands here
    names = {**files, "dried": str(DRIED)}
    argv = [names[a[1:-1]] if a.startswith("{") and a.endswith("}") else
            a.replace("{dir}", names["dir"]) for a in args]
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse's own errors (types, choices) exit directly
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err, err
    assert field in err, err
    assert any(word in err.lower() for word in ALLOWED_WORDS), err
