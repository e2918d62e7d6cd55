"""Contact-law presets: the shipped ones load and validate, a preset file round-trips the
contact law exactly, and bad names, fields and values are refused with the field named."""

import dataclasses
import json
from pathlib import Path

import pytest

from experiments.calibrate_dem import dem_conditions, task_base_law
from experiments.cli import main
from physics.calender import BinderContact, ProcessConditions
from physics.calender.presets import (
    list_presets,
    load_preset,
    preset_from_conditions,
    preset_json,
)

DATA_DIR = Path(__file__).parent / "data"


def test_paper_preset_is_table_2():
    assert "paper" in list_presets()
    for name in list_presets():
        load_preset(name)  # every shipped preset validates
    paper = load_preset("paper")
    assert paper.process_conditions() == ProcessConditions()
    hot = paper.process_conditions(temperature_c=120.0, line_speed_m_min=2.0)
    assert hot.temperature_c == 120.0 and hot.binder_contact == BinderContact()
    assert paper.provenance["source"].startswith("Ngandjong")


def test_the_fast6_preset_carries_its_dem_check():
    """nmc111-fast6 (the six-parameter law on the fast films, nmc111-calibrated before the
    crushing law): a law beyond Table 2 whose provenance holds the DEM runs at that law
    on every film against the measured curve: the per-film porosities, springbacks and
    recoveries are the versioned calibration rows at exactly this law
    (benchmarks/data/dem_calibration6_fast.json), and the stated mean, errors and 1-sigma
    flags follow from them."""
    preset = load_preset("nmc111-fast6")
    law = preset.process_conditions().binder_contact
    assert law != BinderContact() and law.plasticity > 0 and law.bridge_stiffness_ratio > 0
    check = preset.provenance["dem_check"]
    rows = json.loads((Path(__file__).parents[1] / "benchmarks" / "data"
                       / "dem_calibration6_fast.json").read_text())["runs"]
    # the calibration's own map from θ to the contact law
    at_law = [r for r in rows if dem_conditions(r["theta"]) == preset.process_conditions()]
    calendered = [r for r in at_law if "porosity" in r]
    indented = [r for r in at_law if "elastic_recovery" in r]
    assert check["films"] == [r["film"] for r in calendered] == [r["film"] for r in indented]
    assert len(check["films"]) == 4
    assert check["porosity_per_film"] == [r["porosity"] for r in calendered]
    assert check["springback_percent_per_film"] == [r["springback_percent"]
                                                     for r in calendered]
    assert check["indentation_recovery_per_film"] == [r["elastic_recovery"] for r in indented]
    _check_film_mean(check)
    assert preset.provenance["data"] == "ngandjong2021_96-2-2_calendering.csv"
    assert preset.provenance["targets_met"] == all(check["inside_1sd"])


def test_the_calibrated_preset_carries_its_dem_check():
    """nmc111-calibrated: a law beyond Table 2 whose provenance holds the DEM runs at that law
    against the measured curve (benchmarks/calibrated_preset.py): the per-film porosities,
    springbacks and recoveries are the versioned rows (the files its provenance names) at
    exactly this law, on at least four films, and the stated mean, errors, 1-sigma flags and
    targets follow from them."""
    preset = load_preset("nmc111-calibrated")
    law = preset.process_conditions()
    assert law.binder_contact != BinderContact() and law.binder_contact.crushing
    check = preset.provenance["dem_check"]
    data = Path(__file__).parents[1] / "benchmarks" / "data"
    rows = [r for name in preset.provenance["rows"]
            for r in json.loads((data / name).read_text())["runs"] if r["status"] == "ok"]
    # the calibration's own map from θ to the contact law, on the law the rows ran on
    at_law = [r for r in rows
              if dem_conditions(r["theta"], base=task_base_law(r)) == law]
    by_film = {r["film"]: r for r in reversed([r for r in at_law if "porosity" in r])}
    assert len(check["films"]) >= 4
    assert check["porosity_per_film"] == [by_film[f]["porosity"] for f in check["films"]]
    assert check["springback_percent_per_film"] == [by_film[f]["springback_percent"]
                                                     for f in check["films"]]
    indented = {r["film"]: r for r in reversed([r for r in at_law if "elastic_recovery" in r])}
    assert check["indentation_recovery_per_film"] == [
        indented[f]["elastic_recovery"] for f in check["indentation_films"]]
    errors = _check_film_mean(check)
    assert check["max_abs_error"] == pytest.approx(max(errors))
    recovery = sum(check["indentation_recovery_per_film"]) / len(check["indentation_films"])
    assert check["recovery_inside_1sd"] == (abs(recovery - 0.16) <= 0.03)
    assert preset.provenance["data"] == "ngandjong2021_96-2-2_calendering.csv"
    assert preset.provenance["targets_met"] == (all(check["inside_1sd"]) and max(errors) < 0.01
                                                and check["recovery_inside_1sd"]
                                                and check["dried_inside_1sd"])


def _check_film_mean(check: dict) -> list[float]:
    """A DEM check's film mean, errors and 1-sigma flags follow from its per-film porosities;
    returns the |errors|."""
    per_film = check["porosity_per_film"]
    errors = []
    for k, (measured, sd) in enumerate(zip(check["measured"], check["measured_sd"],
                                           strict=True)):
        mean = sum(run[k] for run in per_film) / len(per_film)
        assert check["porosity_mean"][k] == pytest.approx(mean)
        assert check["error"][k] == pytest.approx(mean - measured)
        assert check["inside_1sd"][k] == (abs(mean - measured) <= sd)
        errors.append(abs(mean - measured))
    return errors


def test_a_preset_file_round_trips_the_contact_law(tmp_path):
    law = dataclasses.replace(ProcessConditions(), am_friction=0.05,
                              binder_contact=BinderContact(0.4, 0.2, 0.1, 1.5, 5.0))
    preset = preset_from_conditions("trial", "a test law", law, {"source": "test"})
    path = tmp_path / "trial.json"
    path.write_text(preset_json(preset))
    loaded = load_preset(path)
    assert loaded.name == "trial" and loaded.provenance == {"source": "test"}
    assert loaded.process_conditions() == law
    # process inputs stay inputs, not part of the preset
    assert loaded.process_conditions(temperature_c=90.0).binder_contact == law.binder_contact


@pytest.mark.parametrize("conditions, message", [
    ({"roll_gap_um": 3}, "unknown field 'roll_gap_um'"),
    ({"binder_contact": {"yield_mpa": 3}}, "unknown binder_contact field(s) ['yield_mpa']"),
    ({"binder_contact": {"plasticity": 2.0}}, "hysteretic.plasticity = 2"),
    ({"am_friction": -1}, "am_friction"),
])
def test_bad_preset_files_name_the_field(tmp_path, conditions, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "bad", "conditions": conditions}))
    with pytest.raises(ValueError) as err:
        load_preset(path)
    assert message in str(err.value)


def test_unknown_presets_list_the_allowed_ones(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"unknown preset 'nmc999'; allowed: .*paper"):
        load_preset("nmc999")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a preset"):
        load_preset(tmp_path / "x.json")
    with pytest.raises(ValueError, match="not a process input"):
        load_preset("paper").process_conditions(am_friction=0.3)
    dried = str(DATA_DIR / "dried_ci_seed0.npz")
    assert main(["calender", "--dried", dried, "--preset", "nmc999", "--out",
                 str(tmp_path / "o"), "--quiet"]) == 2
    assert "unknown preset 'nmc999'" in capsys.readouterr().err
