"""The ``etwin`` command line: --json output, units in --help, clear errors."""

import argparse
import json
import os
import subprocess
import sys

import pytest

from experiments.cli import build_parser, main


def cli_env() -> dict:
    """The environment of a command a test starts: the test process's numba thread count (one
    under ``make test``'s two pytest processes)."""
    import numba

    return {**os.environ, "NUMBA_NUM_THREADS": str(numba.get_num_threads())}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "experiments.cli", *args], capture_output=True,
                          text=True, timeout=300, env=cli_env())


def test_recipe_json_is_one_object_on_stdout():
    out = run_cli("recipe", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["n_am"] == 396 and data["am_counts"] == [73, 91, 64, 57, 82, 29]
    assert data["am_to_cbd_mass_ratio"] == pytest.approx(24.0, rel=1e-3)


def test_recipe_box_porosity(capsys):
    assert main(["recipe", "--box-um", "25.8,25.8,165", "--porosity", "0.416", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["porosity"] == pytest.approx(0.416, abs=0.01)


def test_collide_reports_restitution(capsys):
    assert main(["collide", "--particle", "AM", "--target", "steel", "--no-cohesion",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["restitution"] == pytest.approx(0.342, abs=0.002)
    assert not data["stuck"]


@pytest.mark.parametrize("args,message", [
    (["recipe", "--recipe", "nope"], "--recipe 'nope' is unknown; allowed: paper"),
    (["recipe", "--n-am", "0"], "n_am = 0 is outside the allowed range"),
    (["recipe", "--box-um", "1,2"], "--box-um '1,2': expected 3"),
    (["collide", "--speed-m-s", "-1"], "--speed-m-s -1.0 is outside the allowed range (0, 100]"),
    (["demo", "--initial", "1"], "--initial must lie in [4, 20]"),
    (["indent", "--loading-time-s", "0", "--out", "unused"],
     "--loading-time-s: loading_time_s = 0.0 is outside the allowed range"),
    (["indent", "--indenter", "glass", "--out", "unused"],
     "--indenter 'glass' is unknown; allowed: diamond, steel"),
    (["indent", "--bridge-equilibrium-fraction", "2", "--out", "unused"],
     "bridge.equilibrium_fraction = 2.0; allowed range [0, 1]"),
    (["recipe", "--threads", "0"], "--threads must lie in [1, "),
    (["simulate", "--c-rates", "1,,3", "--no-track"], "--c-rates '1,,3': an empty item"),
    (["sweep", "--grid", "pressure_mpa=5", "--seeds", "1.5"], "--seeds '1.5': expected integers"),
    (["sweep", "--grid", "pressure_mpa=5", "--seeds", "-1"], "--seeds '-1': expected integers"),
    (["calender", "--pressures-mpa", "-5,20", "--out", "unused"],
     "pressure_mpa = -5.0 is outside the allowed range"),
    (["process-window", "--tau-z-max", "-1"], "tau_z_max must be a finite tortuosity factor"),
    (["process-window", "--capacity-min", "-5"], "capacity_min must lie in [0, 1000]"),
    (["optimize", "--problem", "x.toml", "--fidelities", "ci,,fast"],
     "--fidelities 'ci,,fast': give tiers"),
])
def test_bad_input_exits_2_with_message(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_cache_dir_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    assert main(["simulate", "--fidelity", "ci", "--no-track", "--cache-dir", str(blocker)]) == 2
    assert "is a file; give a directory" in capsys.readouterr().err


def test_version_and_thread_count_are_reported(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("etwin ")
    import numba

    before = numba.get_num_threads()
    assert main(["recipe", "--threads", "1", "--json"]) == 0
    assert numba.get_num_threads() == before  # an in-process call leaves the caller's count


def test_every_option_states_its_default():
    """A user reads the default (or that there is none) of every option on its --help page."""
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {a.option_strings[0]}" for name, sub in commands.choices.items()
               for a in sub._actions
               if a.option_strings and not a.required and a.nargs != 0
               and "default" not in (a.help or "")]
    assert not missing, missing


def test_help_documents_units():
    out = run_cli("collide", "--help")
    assert "m/s" in out.stdout and "µm" in out.stdout and "(0, 100]" in out.stdout


def test_every_help_page_renders():
    """argparse %-formats help text: a bare "95 %" in any of it breaks ``etwin --help``."""
    parser = build_parser()
    assert "calender" in parser.format_help()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(commands.choices) > 10
    for name, sub in commands.choices.items():
        assert sub.format_help().startswith("usage:"), name


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    """The demo with its smallest settings (four Sobol points, no BO iteration): every job's
    report and the MLflow store appear (``make demo`` runs the default, ~10 min)."""
    out = subprocess.run([sys.executable, "-m", "experiments.cli", "demo", "--initial", "4",
                          "--iterations", "0", "--quiet", "--json"], capture_output=True,
                         text=True, timeout=1800, cwd=tmp_path, env=cli_env())
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for report in ("report.md", "process_window/report.md", "calibration/report.md",
                   "variability/report.md", "surrogates/report.json"):
        assert (tmp_path / "etwin_demo" / report).is_file()
    assert (tmp_path / "mlflow.db").is_file()
    assert 1.0 < data["calibration_alpha"]["mean"] < 6.0


def test_dry_writes_structure_metrics_and_plots(tmp_path, capsys, monkeypatch):
    """A small film (24 AM) of the recipe given by its fractions (the paper's 96:2:2 at 69 %
    solids: off-paper recipes are in tests/test_drying.py), dried with step caps a third of
    the default's: what is checked here is the command's plumbing and files, the drying
    itself in tests/test_drying.py (the full protocol cost ~2.5 CPU min of the CI budget)."""
    import functools

    import physics.slurry

    monkeypatch.setattr(physics.slurry, "DryingProtocol", functools.partial(
        physics.slurry.DryingProtocol, max_slurry_steps=6000, shrink_steps=5000,
        max_dried_steps=6000, window=4))
    assert main(["dry", "--n-am", "24", "--am-mass-fraction", "0.96", "--solid-content",
                 "0.69", "--seed", "1", "--threads", "1", "--out", str(tmp_path), "--json",
                 "--quiet"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("density_g_cm3", "porosity", "thickness_um", "n_am", "n_cbd", "wall_s"):
        assert key in data
    assert data["n_am"] == 24 and 0.3 < data["porosity"] < 0.7
    assert data["numba_threads"] == 1  # a film is its seed and its thread count
    assert abs(data["n_cbd"] / (24 / 80 * 1922) - 1) < 0.1  # 1 922 CBD per 80 AM at 96:2:2
    for name in ("dried.npz", "slurry.npz", "metrics.json", "drying_log.csv", "rdf.png",
                 "drying.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "metrics.json").read_text())["porosity"] == data["porosity"]


def test_dry_rejects_unknown_fidelity(tmp_path, capsys):
    assert main(["dry", "--fidelity", "huge", "--out", str(tmp_path)]) == 2
    assert "--fidelity 'huge' is unknown; allowed: ci, fast, paper" in capsys.readouterr().err
    assert main(["dry", "--n-am", "5", "--out", str(tmp_path)]) == 2
    assert "--n-am = 5; allowed: 24-2000" in capsys.readouterr().err
    assert main(["dry", "--solid-content", "0.9", "--out", str(tmp_path)]) == 2
    assert "solid_content" in capsys.readouterr().err


DRIED_CI = str(__import__("pathlib").Path(__file__).parent / "data" / "dried_ci_seed0.npz")


def test_calender_writes_curve_trace_structures_and_plots(tmp_path):
    """The paper's press protocol at 0.6 m/s (the quasi-static dwell's readings are checked
    in tests/test_calender.py; here it cost ~1 CPU min more)."""
    out = run_cli("calender", "--dried", DRIED_CI, "--pressures-mpa", "5,40",
                  "--temperature-c", "80", "--line-speed-m-min", "2", "--protocol", "paper",
                  "--paper-plane-speed-m-s", "0.6", "--out", str(tmp_path), "--json",
                  "--quiet")
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["temperature_c"] == 80.0 and data["cbd_young_modulus_gpa"] < 2.0
    assert len(data["points"]) == 2 and isinstance(data["monotonic"], bool)
    # after recovery both sit on the plateau (within the ci scatter); under load 40 MPa
    # compacts more than 5 MPa
    assert max(data["porosities"]) < data["porosity_uncalendered"]
    assert data["points"][1]["porosity_min"] < data["points"][0]["porosity_min"]
    for p in data["points"]:
        for key in ("porosity", "thickness_um", "springback_percent", "inertial_number",
                    "porosity_last_contact", "stress_max_mpa", "deborah_number"):
            assert key in p
        assert (tmp_path / p["structure"]).stat().st_size > 0
    for name in ("curve.csv", "force_displacement.csv", "force_displacement.png",
                 "porosity_pressure.png", "rdf_am_cbd.png", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    header = (tmp_path / "force_displacement.csv").read_text().splitlines()[0]
    assert "pressure_mpa" in header and "plane_z_um" in header
    # points reached at the floor plane speed are named in a note on stderr, the others not
    floor = [p["pressure_target_mpa"] for p in data["points"] if p["floor_speed_at_target"]]
    note = [line for line in out.stderr.splitlines() if line.startswith("note: at ")]
    if floor:
        assert len(note) == 1 and note[0].startswith(
            f"note: at {', '.join(f'{p:g}' for p in floor)} MPa the roll reached the target")
    else:
        assert not note


@pytest.mark.parametrize("args,message", [
    (["--pressures-mpa", "-5"], "pressure_mpa = -5.0 is outside the allowed range (0.0, 500.0]"),
    (["--pressures-mpa", "2000"], "pressure_mpa = 2000.0 is outside the allowed range"),
    (["--pressures-mpa", "abc"], "--pressures-mpa 'abc': expected comma-separated numbers"),
    (["--temperature-c", "250"], "temperature_c = 250.0 is outside the allowed range [0.0, 150.0]"),
    (["--line-speed-m-min", "0"], "line_speed_m_min = 0.0 is outside the allowed range"),
])
def test_calender_bad_input(args, message, tmp_path, capsys):
    assert main(["calender", "--dried", DRIED_CI, "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_calender_missing_or_corrupt_structure(tmp_path, capsys):
    assert main(["calender", "--dried", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "no such structure file" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_text("garbage")
    assert main(["calender", "--dried", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not a readable ParticleState file" in capsys.readouterr().err


def test_indent_writes_normalised_curve(tmp_path):
    out = run_cli("indent", "--dried", DRIED_CI, "--depth-fraction", "0.05", "--hold-us", "0.2",
                  "--min-plane-speed-m-s", "0.4", "--inertial-number", "0.002", "--out",
                  str(tmp_path), "--json", "--quiet")
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["force_max_nn"] > 0 and data["depth_max_um"] > 0
    for name in ("indentation.csv", "indentation.png", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    header = (tmp_path / "indentation.csv").read_text().splitlines()[0]
    assert "force_normalized" in header and "displacement_normalized" in header


def test_transport_on_an_image_prints_the_issue_fields(tmp_path, capsys):
    import numpy as np

    img = np.zeros((16, 16, 24), np.uint8)
    img[:, :, 8:12] = 2  # a CBD layer across z
    img[4:8, 4:8, :] = 1  # an AM pillar through the film
    path = tmp_path / "img.npy"
    np.save(path, img)
    assert main(["transport", str(path), "--voxel-um", "0.5", "--json", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("porosity", "tau_x", "tau_y", "tau_z", "d_eff_x_m2_s", "d_eff_z_m2_s",
                "sigma_eff", "percolates", "wall_s"):
        assert key in data
    assert data["porosity"] == pytest.approx(float((img == 0).mean()))
    assert data["tau_z"] > data["tau_x"] > 1.0  # the CBD layer is in series along z only
    assert data["percolates"] is True
    assert (tmp_path / "out" / "img_psd.png").is_file()
    assert (tmp_path / "out" / "img_slices.csv").is_file()
    # --cbd-porosity 0: the CBD layer blocks z entirely
    assert main(["transport", str(path), "--cbd-porosity", "0", "--directions", "z",
                 "--no-psd", "--json", "--quiet"]) == 0
    blocked = json.loads(capsys.readouterr().out)
    assert blocked["tau_z"] is None and blocked["pore_percolates_z"] is False


def test_transport_on_a_calendered_directory(tmp_path):
    import shutil

    shutil.copy("tests/data/dried_ci_seed0.npz", tmp_path / "dried.npz")
    out = run_cli("transport", str(tmp_path), "--voxel-um", "0.5", "--directions", "z",
                  "--no-psd", "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["input"] == "dried.npz"
    assert abs(data["porosity"] - 0.445) < 0.02 and data["tau_z"] > 1.0
    assert len(data["am_radii_um"]) == 6 and sum(data["am_volume_fractions"]) == \
        pytest.approx(1.0)


def test_cell_and_eis_follow_the_calendering_trend_of_transport_results(tmp_path, capsys):
    """Two etwin transport results shaped as the fast dried and 20 MPa structures: the cell
    of the calendered one has more 1C capacity (σ_eff limits the dried one) and a higher
    R_ion and τ_EIS, the paper's trend (§6.2, Table 3)."""
    common = {"voxel_um": 0.25, "am_pore_area_per_volume_um": 0.40,
              "am_cbd_area_per_volume_um": 0.02, "am_radii_um": [2.25, 4.14, 5.175],
              "am_volume_fractions": [0.2, 0.5, 0.3]}
    dried = {**common, "input": "dried.npz", "shape": [103, 103, 334], "porosity": 0.420,
             "fraction_AM": 0.48, "fraction_CBD": 0.10, "tau_z": 1.41,
             "sigma_eff_z_s_m": 8.6e-4}
    calendered = {**common, "input": "calendered_20MPa.npz", "shape": [103, 103, 264],
                  "porosity": 0.264, "fraction_AM": 0.61, "fraction_CBD": 0.126,
                  "tau_z": 1.57, "sigma_eff_z_s_m": 0.069}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"structures": [dried, calendered]}))
    assert main(["cell", "--transport", str(path), "--out", str(tmp_path / "c"),
                 "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert [c["input"] for c in cases] == ["dried.npz", "calendered_20MPa.npz"]
    assert cases[1]["capacity_mah_g"] > 2 * cases[0]["capacity_mah_g"]
    assert cases[1]["thickness_um"] == pytest.approx(66.0)
    assert (tmp_path / "c" / "cases.csv").is_file()
    assert (tmp_path / "c" / "discharge_calendered_20MPa.csv").is_file()
    assert main(["eis", "--transport", str(tmp_path / "missing.json"), "--json"]) == 2
    assert "not a readable etwin transport metrics.json" in capsys.readouterr().err
    assert main(["eis", "--transport", str(path), "--f-max-hz", "1e6", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert cases[1]["r_ion_ohm_cm2"] > cases[0]["r_ion_ohm_cm2"]
    assert cases[1]["tau_eis"] > cases[0]["tau_eis"]
    for case, tau in zip(cases, (1.41, 1.57), strict=True):
        assert case["tau_eis"] == pytest.approx(tau, rel=0.03)


@pytest.mark.parametrize("content,message", [
    ("float", "dtype must be uint8"),
    ("labels", "unknown phase labels"),
    ("missing", "no such image file"),
    ("garbage", "not a readable .npy image"),
])
def test_transport_bad_images(content, message, tmp_path, capsys):
    import numpy as np

    path = tmp_path / "img.npy"
    if content == "float":
        np.save(path, np.zeros((4, 4, 4)))
    elif content == "labels":
        np.save(path, np.full((4, 4, 4), 5, np.uint8))
    elif content == "garbage":
        path.write_bytes(b"not numpy")
    assert main(["transport", str(path), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_calender_opens_a_z_periodic_dried_structure(tmp_path, capsys):
    """A fully periodic drying (the paper's CGMD set-up) is opened onto a floor plane."""
    import argparse
    from dataclasses import replace

    import numpy as np

    from experiments.commands.structure import dried_state
    from physics.state import ParticleState

    film = ParticleState.load("tests/data/dried_ci_seed0.npz")
    top = float((film.position_um[:, 2] + film.radius_um).max())
    periodic = replace(film, periodic=np.array([True, True, True]),
                       box_hi_um=np.array([*film.box_hi_um[:2], top]),
                       wall_z_um=np.zeros(0), wall_side=np.zeros(0, dtype=np.int64))
    periodic.save(tmp_path / "dried.npz")
    state, _ = dried_state(argparse.Namespace(dried=str(tmp_path)), tmp_path)
    assert not state.periodic[2] and state.wall_side.tolist() == [1]
    assert "periodic in z: opened at z" in capsys.readouterr().err


def test_cell_discharge_and_default_parameter_file(tmp_path, capsys):
    from physics.cell_params import CellParameters

    assert main(["cell", "--print-default-params"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "cell.json"
    path.write_text(text)
    assert CellParameters.load(path) == CellParameters()
    data = json.loads(text)
    data["cathode"].update({"thickness_m": 60e-6, "porosity": 0.35,
                            "active_volume_fraction": 0.55, "cbd_volume_fraction": 0.05,
                            "electronic_conductivity_s_m": 10.0})
    path.write_text(json.dumps(data))
    assert main(["cell", "--params", str(path), "--c-rate", "1", "--out", str(tmp_path / "o"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 150 < result["capacity_mah_g"] < 240
    assert 3.5 < result["mean_voltage_v"] < 4.1
    assert (tmp_path / "o" / "discharge.png").is_file()
    assert (tmp_path / "o" / "discharge.csv").read_text().startswith("time_s,")
    data["cathode"]["porosity"] = 1.5
    path.write_text(json.dumps(data))
    assert main(["cell", "--params", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cathode.porosity = 1.5 is outside the allowed range (0.0, 1.0)" in err
    del data["cathode"]["max_concentration_mol_m3"]  # ran silently on the default before
    data["cathode"]["porosity"] = 0.35
    path.write_text(json.dumps(data))
    assert main(["cell", "--params", str(path)]) == 2
    assert "missing cell parameter keys: cathode.max_concentration_mol_m3" in \
        capsys.readouterr().err
    data["cathode"]["max_concentration_mol_m3"] = "48578"
    path.write_text(json.dumps(data))
    assert main(["cell", "--params", str(path)]) == 2
    assert "cathode.max_concentration_mol_m3: expected a number, got '48578' (str)" in \
        capsys.readouterr().err


def test_eis_blocking_symmetric_cell_recovers_the_tortuosity(tmp_path, capsys):
    """A reacting cathode with τ = 1.5: the transmission-line fit of its symmetric blocking
    cell gives τ_EIS = N_M ε within 3 % (default mesh), the graphical R_ion within 6 %."""
    params = {"extends": "default",
              "cathode": {"thickness_m": 6e-05, "porosity": 0.35, "active_volume_fraction": 0.55,
                          "cbd_volume_fraction": 0.0, "electronic_conductivity_s_m": 100.0,
                          "tortuosity_factor": 1.5}}
    path = tmp_path / "cell.json"
    path.write_text(json.dumps(params))
    assert main(["eis", "--params", str(path), "--f-min-hz", "1", "--f-max-hz", "1e6",
                 "--out", str(tmp_path / "o"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == 43
    assert data["tau_eis"] == pytest.approx(1.5, rel=0.03)
    assert data["r_ion_graphical_ohm_cm2"] == pytest.approx(data["r_ion_ohm_cm2"], rel=0.06)
    for name in ("nyquist.png", "nyquist_blocking.png", "metrics.json"):
        assert (tmp_path / "o" / name).is_file()
    assert (tmp_path / "o" / "impedance_blocking_symmetric.csv").read_text().startswith(
        "frequency_hz,")
    assert (tmp_path / "o" / "impedance.csv").read_text().startswith("frequency_hz,")


def test_cli_reference_page_is_current():
    """docs/cli-reference.md is generated from the parsers: regenerate it when a flag changes
    (``python -m experiments.cli_reference --write``)."""
    from experiments.cli_reference import REFERENCE, cli_reference_markdown

    text = cli_reference_markdown()
    assert "## etwin calibrate" in text and "`--n-am N_AM`" in text
    assert REFERENCE.read_text() == text, "run: python -m experiments.cli_reference --write"


def test_simulate_hands_the_material_set_to_the_chain(monkeypatch, tmp_path, capsys):
    """`etwin simulate --materials graphite` runs the chain on the graphite set (its recipe,
    DEM materials and electrochemistry), not on Table 2's electrode with graphite's recipe
    fractions: the pipeline receives the set."""
    import physics.pipeline

    seen = {}

    def stand_in(inputs, fidelity, seed, **kw):
        seen.update(kw, inputs=inputs)
        raise RuntimeError("stand-in: stop before the physics")

    monkeypatch.setattr(physics.pipeline, "simulate", stand_in)
    rc = main(["simulate", "--materials", "graphite", "--fidelity", "ci", "--no-track",
               "--quiet", "--cache-dir", str(tmp_path / "cache"), "--threads", "1"])
    assert rc != 0 and "stand-in" in capsys.readouterr().err
    assert seen["materials"].name == "graphite"
    assert seen["inputs"].solid_content == pytest.approx(0.50)
