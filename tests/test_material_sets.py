"""Material sets (physics/material_sets.py): the shipped files, the checks on load, and what
the pipeline takes from a set."""

import json
import math
import tomllib
from dataclasses import asdict
from pathlib import Path

import pytest

from experiments.cli import main
from physics.material_sets import (
    DATA_DIR,
    FARADAY,
    MaterialSet,
    list_material_sets,
    load_material_set,
    parse_material_set,
)
from physics.pipeline import ProcessInputs, point_key


def nmc_document() -> dict:
    return tomllib.loads((DATA_DIR / "nmc111.toml").read_text())


def test_the_shipped_sets_load_and_every_number_has_a_unit_and_a_source():
    assert {"nmc111", "graphite"} <= set(list_material_sets())
    for name in list_material_sets():
        m = load_material_set(name)
        for row in m.rows():
            assert row["unit"] and row["source"].strip(), (name, row)


def test_nmc111_is_the_paper_electrode_the_defaults_describe():
    """The nmc111 file and the built-in defaults are the same electrode: same recipe and
    contact law, c_max within 0.01 % (the defaults round it to 48 578 mol/m³)."""
    m = load_material_set("nmc111")
    inputs = ProcessInputs()
    assert asdict(inputs.recipe(m)) == asdict(inputs.recipe())
    assert asdict(inputs.conditions(m)) == asdict(inputs.conditions())
    assert m.process_defaults() == {k: getattr(inputs, k) for k in m.process_defaults()}
    assert m.binder_rheology().plateau_softening_per_k == 0.015
    soft = parse_material_set(_broken(("carbon_binder", "plateau_softening"),
                                      {"value": 0.01, "unit": "1/K", "source": "x"}), "s.toml")
    assert soft.binder_rheology().plateau_softening_per_k == 0.01
    cell = m.cell_parameters()
    assert cell.cathode.max_concentration_mol_m3 == pytest.approx(48578.0, rel=1e-4)
    assert cell.theoretical_capacity_mah_g() == pytest.approx(280.0, rel=1e-9)


def test_graphite_capacity_and_electrochemistry():
    """c_max = capacity · 3.6e3 · ρ / F; the half cell lithiates the graphite from 0.02 and
    stops at the 5 mV cut-off below the theoretical 372 mAh/g."""
    from physics.cell import discharge
    from physics.ocp import ocp_function

    m = load_material_set("graphite")
    assert m.max_concentration_mol_m3() == pytest.approx(372.0 * 3.6e3 * 2260.0 / FARADAY)
    cell = m.cell_parameters()
    assert cell.theoretical_capacity_mah_g() == pytest.approx(372.0, rel=1e-9)
    assert cell.cutoff_voltage_v == 0.005 and cell.max_voltage_v == 1.5
    # the table is Chen et al. 2020's closed form at its points
    s, u = 0.1, float(ocp_function(cell.cathode.ocp)(0.1))
    chen = (1.9793 * math.exp(-39.3631 * s) + 0.2482 - 0.0909 * math.tanh(29.8538 * (s - 0.1234))
            - 0.04478 * math.tanh(14.9159 * (s - 0.2769))
            - 0.0205 * math.tanh(30.4444 * (s - 0.6103)))
    assert u == pytest.approx(chen, abs=1e-5)
    d = discharge(cell, c_rate=1.0)
    assert d.end_reason == "cut-off voltage"
    assert 100.0 < d.capacity_final_mah_g < 372.0
    # the AM conducts: the solid phase is not held at the NMC film's CBD-limited 8.6e-4 S/m
    assert cell.cathode.electronic_conductivity_s_m == pytest.approx(
        215.0 * cell.cathode.active_volume_fraction ** 1.5)


def test_a_set_survives_the_trip_to_a_worker():
    m = load_material_set("graphite")
    again = MaterialSet.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again.digest() == m.digest()
    assert asdict(again.cell_parameters()) == asdict(m.cell_parameters())
    assert asdict(again.recipe()) == asdict(m.recipe())


def test_the_set_joins_the_point_and_its_key():
    from experiments.batch import make_point, point_materials

    m = load_material_set("graphite")
    plain = make_point({"pressure_mpa": 20.0}, "ci", 0, (1.0,))
    point = make_point({"pressure_mpa": 20.0}, "ci", 0, (1.0,), materials=m)
    assert point["key"] != plain["key"] and "materials" not in plain
    assert point["inputs"]["solid_content"] == 0.5  # the set's recipe
    assert point["inputs"]["am_young_modulus_gpa"] == 15.0
    assert point_materials(point).digest() == m.digest()
    # a flag overrides the set's default
    assert make_point({"pressure_mpa": 20.0, "solid_content": 0.6}, "ci", 0, (1.0,),
                      materials=m)["inputs"]["solid_content"] == 0.6
    # the key of a point without a set is the one it had before sets existed: no field added
    assert point_key(ProcessInputs(), "ci", 0, (1.0,)) == plain["key"] != point_key(
        ProcessInputs(), "ci", 0, (1.0,), materials=load_material_set("nmc111"))


def test_the_column_widens_for_large_particles():
    from physics.materials import PAPER_BOX_XY_UM, paper_recipe
    from physics.slurry import DryingProtocol, build_slurry, column_side_um, minimum_column_side_um

    assert column_side_um(paper_recipe(), 80) == PAPER_BOX_XY_UM
    recipe = load_material_set("graphite").recipe()
    side = column_side_um(recipe, 24)
    assert side > minimum_column_side_um(recipe, 24) > PAPER_BOX_XY_UM
    sim, _, _ = build_slurry(recipe, 24, side, 0, DryingProtocol())
    assert sim.n > 24


def test_measured_diameters_become_equal_count_classes():
    doc = nmc_document()
    doc["active_material"]["size_distribution"] = {
        "measured_diameters": {"value": [2.0, 2.0, 4.0, 4.0, 4.0, 6.0], "unit": "um",
                               "source": "laser diffraction"},
        "classes": {"value": 2, "unit": "-", "source": "choice"}}
    m = parse_material_set(doc)
    assert m.psd[1] == (0.5, 0.5)
    assert m.psd[0][0] == pytest.approx(((8 + 8 + 64) / 3) ** (1 / 3))
    assert m.psd[0][1] == pytest.approx(((64 + 64 + 216) / 3) ** (1 / 3))


def _broken(path: tuple[str, ...], value):
    doc = nmc_document()
    table = doc
    for key in path[:-1]:
        table = table[key]
    if value is None:
        del table[path[-1]]
    else:
        table[path[-1]] = value
    return doc


@pytest.mark.parametrize("path,value,message", [
    (("active_material", "density"), {"value": 4650, "unit": "kg/m3", "source": "x"},
     "density has unit 'kg/m3'; expected 'g/cm3'"),
    (("active_material", "density"), {"value": 4.65, "unit": "g/cm3"}, "density needs a source"),
    (("active_material", "density"), {"value": 99.0, "unit": "g/cm3", "source": "x"},
     "density = 99.0 g/cm3 is outside the allowed range [0.5, 25]"),
    (("active_material", "density"), {"value": "heavy", "unit": "g/cm3", "source": "x"},
     "density = 'heavy'; expected a number"),
    (("active_material", "density"), 4.65, "density must be { value = ..."),
    (("active_material", "density"), None, "[active_material] missing density"),
    (("active_material", "colour"), {"value": 1, "unit": "-", "source": "x"},
     "unknown key(s) ['colour']"),
    (("recipe", "am_mass_fraction"), {"value": 0.9, "unit": "-", "source": "x"},
     "binder_mass_fraction = 0.94; must be 1"),
    (("carbon_binder",), None, "missing section [carbon_binder]"),
    (("carbon_binder", "plateau_softening"), {"value": 0.5, "unit": "1/K", "source": "x"},
     "plateau_softening = 0.5 1/K is outside the allowed range [0, 0.2]"),
    (("active_material", "electrochemistry", "ocp"), {"value": "lfp", "unit": "-", "source": "x"},
     "unknown open-circuit potential 'lfp'"),
    (("active_material", "electrochemistry", "ocp_table"),
     {"stoichiometry": [0, 0.5, 1], "voltage": [4.0, 4.1, 3.0], "unit": "V", "source": "x"},
     "give one of ocp"),
    (("active_material", "size_distribution", "number_fractions"),
     {"value": [0.5, 0.5], "unit": "-", "source": "x"}, "6 diameters but 2 number_fractions"),
    (("active_material", "electrochemistry", "cutoff_voltage"),
     {"value": 4.5, "unit": "V", "source": "x"}, "cutoff_voltage must be below max_voltage"),
])
def test_a_bad_file_is_a_clear_error(path, value, message):
    with pytest.raises(ValueError) as err:
        parse_material_set(_broken(path, value), "bad.toml")
    assert message in str(err.value) and "bad.toml" in str(err.value)


def test_a_falling_ocp_table_is_required():
    doc = _broken(("active_material", "electrochemistry", "ocp"), None)
    doc["active_material"]["electrochemistry"]["ocp_table"] = {
        "stoichiometry": [0, 0.5, 1], "voltage": [4.0, 4.1, 3.0], "unit": "V", "source": "x"}
    with pytest.raises(ValueError, match="ocp_table: an OCP table needs increasing"):
        parse_material_set(doc)


def test_the_command_lists_shows_and_refuses(tmp_path, capsys):
    assert main(["materials", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)["material_sets"]}
    assert {"nmc111", "graphite"} <= names
    assert main(["materials", "--show", "graphite", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["theoretical_capacity_mah_g"] == pytest.approx(372.0)
    assert any(r["key"] == "fracture_strength" and r["unit"] == "MPa" for r in shown["values"])
    bad = tmp_path / "mine.toml"
    bad.write_text((DATA_DIR / "nmc111.toml").read_text().replace('unit = "GPa"',
                                                                  'unit = "MPa"', 1))
    assert main(["materials", "--show", str(bad)]) == 2
    assert "young_modulus has unit 'MPa'; expected 'GPa'" in capsys.readouterr().err
    assert main(["dry", "--materials", "unobtainium", "--out", str(tmp_path / "d")]) == 2
    assert "--materials 'unobtainium' is unknown" in capsys.readouterr().err
    assert main(["dry", "--materials", str(Path(tmp_path) / "none.toml"),
                 "--out", str(tmp_path / "d")]) == 2
