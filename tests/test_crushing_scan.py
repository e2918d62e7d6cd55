"""benchmarks/crushing_scan.py: collecting etwin indent folders alone, and its refusals."""

import importlib.util
import json
from pathlib import Path

import pytest

from experiments.validation_tables import indentation_runs_table

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "crushing_scan.py"


def _script():
    spec = importlib.util.spec_from_file_location("crushing_scan", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _indent_folder(path: Path, phi_eq: float, recovery: float) -> Path:
    """An etwin indent --out folder's metrics.json with the fields the collector keeps."""
    path.mkdir()
    contact = {"bridge_stiffness_ratio": 0.5, "bridge_equilibrium_fraction": phi_eq,
               "am_film_depth": 0.05, "am_bare_friction": 0.06}
    (path / "metrics.json").write_text(json.dumps({
        "dried": "benchmarks/data/films/dry_fast_s0.npz", "preset": "nmc111-calibrated",
        "am_friction": 0.002, "binder_contact": contact, "plateau_softening_per_k": 0.015,
        "bridge_equilibrium_scale": 2.55, "depth_fraction": 0.1, "indenter": "diamond",
        "loading_time_s": 500.0, "temperature_c": 25.0, "elastic_recovery": recovery,
        "plastic_work_fraction": 0.95, "wall_s": 100.0, "steps": 10}))
    return path


def test_indentations_alone_are_collected_with_their_command(tmp_path):
    script = _script()
    a = _indent_folder(tmp_path / "a", 0.5, 0.122)
    b = _indent_folder(tmp_path / "b", 1.0, 0.262)
    out = tmp_path / "scan.json"
    script.main(["--out", str(out), "--indentation", str(a), "--indentation", str(b),
                 "--indent-command", "etwin indent ..."])
    data = json.loads(out.read_text())
    assert data["runs"] == [] and "calender_command" not in data["provenance"]
    assert data["indent_command"] == "etwin indent ..."
    assert [r["film"] for r in data["indentations"]] == ["dry_fast_s0", "dry_fast_s0"]
    assert [r["elastic_recovery"] for r in data["indentations"]] == [0.122, 0.262]
    table = indentation_runs_table(data)
    assert "| 12.2 |" in table and "| 26.2 |" in table and "0.06 (0.05)" in table


@pytest.mark.parametrize("argv, message", [
    ([], "give etwin calender --out folders, --indentation folders, or both"),
    (["some_calender_folder"], "--command is required"),
    (["--indentation", "some_indent_folder"], "--indent-command is required"),
])
def test_a_collection_without_runs_or_commands_is_refused(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit):
        _script().main(["--out", str(tmp_path / "scan.json"), *argv])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "scan.json").exists()
