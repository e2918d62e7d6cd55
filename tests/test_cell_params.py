"""Half-cell parameter file: defaults, JSON round trip, clear errors."""

import json

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


def test_json_round_trip_and_partial_files(tmp_path):
    p = CellParameters()
    path = p.save(tmp_path / "cell.json")
    assert CellParameters.load(path) == p
    (tmp_path / "partial.json").write_text(json.dumps({"cathode": {"porosity": 0.3,
                                                                   "tortuosity_factor": 1.7}}))
    q = CellParameters.load(tmp_path / "partial.json")
    assert q.cathode.porosity == 0.3 and q.cathode.transport_factor == pytest.approx(0.3 / 1.7)
    assert q.separator == p.separator


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
        CellParameters.from_dict(data)
    assert message in str(err.value)


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
