"""Half-cell parameter file: defaults, JSON round trip, clear errors."""

import json
import re

import pytest

from physics.cell_params import CathodeParameters, CellParameters


def test_defaults_are_the_paper_electrode():
    p = CellParameters()
    assert p.theoretical_capacity_mah_g() == pytest.approx(280.0, rel=1e-4)
    assert p.separator.thickness_m == 12e-6 and p.lithium_foil.thickness_m == 5e-6
    assert p.cathode.solid_diffusivity_m2_s == 2e-15
    assert len(p.cathode.particle_radii_m) == 6  # the paper's six AM size classes
    assert sum(p.cathode.particle_volume_fractions) == pytest.approx(1.0)
    # 3 ε_AM Σ f / R: the geometric AM surface area
    a = p.cathode.surface_area_per_class_m()
    expected = sum(3 * 0.485 * f / r for f, r in zip(p.cathode.particle_volume_fractions,
                                                     p.cathode.particle_radii_m, strict=True))
    assert sum(a) == pytest.approx(expected)


def test_json_round_trip_and_files_extending_a_preset(tmp_path):
    p = CellParameters()
    path = p.save(tmp_path / "cell.json")
    assert CellParameters.load(path) == p
    (tmp_path / "partial.json").write_text(json.dumps({
        "extends": "default", "cathode": {"porosity": 0.3, "tortuosity_factor": 1.7}}))
    q = CellParameters.load(tmp_path / "partial.json")
    assert q.cathode.porosity == 0.3 and q.cathode.transport_factor == pytest.approx(0.3 / 1.7)
    assert q.separator == p.separator
    assert q.cathode.thickness_m == p.cathode.thickness_m
    xu = CellParameters.from_dict({"extends": "xu2019", "cutoff_voltage_v": 3.2})
    assert xu.cathode == CellParameters.preset("xu2019").cathode and xu.cutoff_voltage_v == 3.2


def test_the_xu2019_preset_is_the_validation_case():
    from tests.test_cell import xu2019_parameters

    assert CellParameters.preset("xu2019") == xu2019_parameters()


def test_a_missing_key_is_an_error_naming_it(tmp_path):
    """A file that forgot cathode.max_concentration_mol_m3 ran on the default (174 instead
    of 225 mAh/g): without "extends" every key must be there."""
    data = CellParameters().to_dict()
    del data["cathode"]["max_concentration_mol_m3"]
    del data["separator"]
    del data["temperature_k"]
    (tmp_path / "cell.json").write_text(json.dumps(data))
    with pytest.raises(ValueError) as err:
        CellParameters.load(tmp_path / "cell.json")
    text = str(err.value)
    for part in ("cell.json: missing cell parameter keys: temperature_k, "
                 "cathode.max_concentration_mol_m3, separator (the whole section)",
                 '"extends": "<preset>"', "allowed: default, xu2019"):
        assert part in text


@pytest.mark.parametrize("data,message", [
    ({"cathode": {"porosity": "0.3"}}, "cathode.porosity: expected a number, got '0.3' (str)"),
    ({"temperature_k": None}, "temperature_k: expected a number, got None"),
    ({"cathode": {"ocp": 3}}, "cathode.ocp: expected a string (a name), got 3"),
    ({"cathode": {"particle_radii_m": 1e-6}}, "cathode.particle_radii_m: expected a list of "
                                              "numbers, got 1e-06"),
    ({"cathode": {"electronic_conductivity_vs_stoichiometry": [[0.1, 1.0, 2.0]]}},
     "cathode.electronic_conductivity_vs_stoichiometry: expected a list of [number, number] "
     "pairs"),
    ({"electrolyte": [1]}, "electrolyte: expected an object of ElectrolyteParameters keys"),
    ({"cathode": {"thickness_m": True}}, "cathode.thickness_m: expected a number, got True"),
])
def test_a_wrong_type_is_an_error_naming_the_key_and_type(data, message):
    with pytest.raises(ValueError) as err:
        CellParameters.from_dict({"extends": "default", **data})
    assert message in str(err.value)


@pytest.mark.parametrize("extends,message", [
    ("paper", "unknown cell parameter preset 'paper'; allowed: default, xu2019"),
    (["default"], "extends: expected a preset name"),
])
def test_extends_names_a_preset(extends, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CellParameters.from_dict({"extends": extends})


@pytest.mark.parametrize("data,message", [
    ({"cathode": {"thickness_m": -1e-6}},
     "cathode.thickness_m = -1e-06 is outside the allowed range (0.0, 0.005]"),
    ({"cathode": {"porosity": 1.2}},
     "cathode.porosity = 1.2 is outside the allowed range (0.0, 1.0)"),
    ({"cathode": {"porosity": 0.5, "active_volume_fraction": 0.6}}, "exceeds 1"),
    ({"cathode": {"porosty": 0.3}}, "unknown cathode parameter keys ['porosty']"),
    ({"anode": {}}, "unknown cell parameter keys ['anode']"),
    ({"cutoff_voltage_v": 4.5}, "need cutoff_voltage_v < max_voltage_v"),
    ({"electrolyte": {"properties": "magic"}}, "electrolyte.properties = 'magic'"),
    ({"cathode": {"initial_stoichiometry": 0.8}, "cutoff_voltage_v": 3.8},
     "is not below the open-circuit potential"),
    ({"cathode": {"ocp": "lfp"}}, "unknown open-circuit potential 'lfp'"),
])
def test_bad_parameters_name_the_field(data, message):
    with pytest.raises(ValueError) as err:
        CellParameters.from_dict({"extends": "default", **data})
    assert message in str(err.value)
    complete = CellParameters().to_dict()  # the same errors in a complete file
    for key, value in data.items():
        if isinstance(value, dict) and key in complete:
            complete[key].update(value)
        else:
            complete[key] = value
    with pytest.raises(ValueError) as err:
        CellParameters.from_dict(complete)
    assert message in str(err.value)


def test_nominal_and_theoretical_capacity():
    """Q_th = F c_max ε_AM L; Q_nom = Q_th (θ_max − θ_0), θ_max where the OCP is the cut-off.
    Xu2019: 96485.33 × 48230 × 0.518 × 42e-6 / 3600 = 28.12 A h/m²; θ 0.09602 -> 0.99738:
    25.35 A h/m²."""
    p = CellParameters.preset("xu2019")
    assert p.theoretical_capacity_ah_m2() == pytest.approx(28.1226, rel=1e-5)
    assert p.discharged_stoichiometry() == pytest.approx(0.997384, abs=1e-6)
    assert p.nominal_capacity_ah_m2() == pytest.approx(28.12258 * (0.997384 - 0.0960191),
                                                       rel=1e-5)
    d = CellParameters()  # NMC111 table: θ 0.13 -> 0.9704 at 3.0 V
    assert d.nominal_capacity_ah_m2() == pytest.approx(
        d.theoretical_capacity_ah_m2() * (0.97040 - 0.13), rel=1e-4)


def test_missing_or_corrupt_file(tmp_path):
    with pytest.raises(ValueError, match="no such parameter file"):
        CellParameters.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable JSON"):
        CellParameters.load(tmp_path / "bad.json")
    assert CathodeParameters().electrolyte_volume_fraction == pytest.approx(0.416 + 0.47 * 0.099)


def test_cathode_from_a_transport_result():
    from physics.cell_params import cathode_from_transport

    summary = {"shape": [103, 103, 266], "voxel_um": 0.25, "porosity": 0.27,
               "fraction_AM": 0.6, "fraction_CBD": 0.12, "tau_z": 1.58,
               "sigma_eff_z_s_m": 0.058, "am_pore_area_per_volume_um": 0.44,
               "am_cbd_area_per_volume_um": 0.045}
    cat = cathode_from_transport(summary)
    assert cat.thickness_m == pytest.approx(266 * 0.25e-6)
    assert (cat.porosity, cat.active_volume_fraction, cat.cbd_volume_fraction) == (0.27, 0.6,
                                                                                   0.12)
    assert cat.tortuosity_factor == 1.58 and cat.electronic_conductivity_s_m == 0.058
    assert sum(cat.surface_area_per_class_m()) == pytest.approx(0.485e6)
    assert cat.particle_radii_m == CathodeParameters().particle_radii_m  # none in the result
    sized = cathode_from_transport({**summary, "am_radii_um": [2.0, 4.0],
                                    "am_volume_fractions": [0.25, 0.75]})
    assert sized.particle_radii_m == pytest.approx((2e-6, 4e-6))
    assert sized.particle_volume_fractions == (0.25, 0.75)
    with pytest.raises(ValueError, match="does not percolate"):
        cathode_from_transport({**summary, "tau_z": None})
    with pytest.raises(ValueError, match="lacks 'tau_x'"):
        cathode_from_transport(summary, direction="x")
