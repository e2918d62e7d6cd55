"""BPX import/export of the half-cell parameters (physics/bpx.py), PyBaMM as the oracle."""

from __future__ import annotations

import copy
import json
import os
import warnings
from dataclasses import replace

import numpy as np
import pytest

from physics.bpx import (
    X_SIZE_CLASSES,
    bpx_nominal_capacity_ah_m2,
    from_bpx,
    load_bpx,
    save_bpx,
    to_bpx,
)
from physics.cell import discharge
from physics.cell_params import CathodeParameters, CellParameters, ElectrolyteParameters

#: 60 µm NMC111 cathode with CBD, one particle size: what a BPX holds without User-defined
THIN_ONE_SIZE = CellParameters(cathode=CathodeParameters(
    thickness_m=60e-6, porosity=0.35, active_volume_fraction=0.55, cbd_volume_fraction=0.05,
    electronic_conductivity_s_m=10.0, particle_radii_m=(4e-6,), particle_volume_fractions=(1.0,)))
#: everything BPX has no field for: six size classes, a reacting area of its own, σ_eff(θ),
#: constant electrolyte properties with a thermodynamic factor, non-default double layers
EXOTIC = CellParameters(
    cathode=replace(CathodeParameters(), thickness_m=80e-6, specific_surface_area_m=2.5e5,
                    electronic_conductivity_vs_stoichiometry=((0.1, 1.0), (0.9, 1e-3)),
                    double_layer_capacitance_f_m2=0.35, active_density_kg_m3=4700.0),
    electrolyte=ElectrolyteParameters(properties="constant", thermodynamic_factor=1.4,
                                      initial_concentration_mol_m3=1200.0),
    temperature_k=308.15)


def _json(data: dict) -> dict:
    return json.loads(json.dumps(data))  # what a file holds


@pytest.mark.parametrize("params", [CellParameters(), CellParameters.preset("xu2019"),
                                    THIN_ONE_SIZE, EXOTIC],
                         ids=["default", "xu2019", "thin", "exotic"])
def test_round_trip_gives_the_same_cell(params):
    """CellParameters -> BPX (JSON) -> CellParameters restores every field (User-defined
    carries what BPX has no field for), so the discharge capacity is the same (< 0.1 %)."""
    notes: list[str] = []
    data = _json(to_bpx(params, notes))
    assert data["Header"]["Model"] == "DFN" and notes
    back = from_bpx(data)
    assert back == params
    assert discharge(back).capacity_final_mah_g == pytest.approx(
        discharge(params).capacity_final_mah_g, rel=1e-3)


@pytest.mark.parametrize("params", [CellParameters.preset("xu2019"), THIN_ONE_SIZE])
def test_the_standard_fields_alone_carry_the_physics(params):
    """Without User-defined (a tool that drops it): one particle size and the CBD's pores
    folded into the porosity give the same discharge within 0.1 %."""
    data = _json(to_bpx(params))
    del data["Parameterisation"]["User-defined"]
    notes: list[str] = []
    back = from_bpx(data, notes)
    assert back.cathode.cbd_volume_fraction == 0.0
    assert back.cathode.electrolyte_volume_fraction == pytest.approx(
        params.cathode.electrolyte_volume_fraction)
    assert back.cathode.transport_factor == pytest.approx(params.cathode.transport_factor)
    assert any("active_density_kg_m3" in n for n in notes)
    assert discharge(back).capacity_final_mah_g == pytest.approx(
        discharge(params).capacity_final_mah_g, rel=1e-3)


def test_size_classes_become_one_sauter_particle_and_an_edit_wins():
    params = CellParameters()
    notes: list[str] = []
    data = _json(to_bpx(params, notes))
    pos = data["Parameterisation"]["Positive electrode"]
    cat = params.cathode
    sauter = 1.0 / sum(f / r for f, r in zip(cat.particle_volume_fractions,
                                             cat.particle_radii_m, strict=True))
    assert pos["Particle radius [m]"] == pytest.approx(sauter)
    # ε_AM = a R / 3, PyBaMM's reading
    assert pos["Surface area per unit volume [m-1]"] * pos["Particle radius [m]"] / 3 == \
        pytest.approx(cat.active_volume_fraction)
    assert any("6 AM size classes" in n for n in notes)
    # edited to particles twice as large (same AM volume): the standard fields win
    pos["Particle radius [m]"] *= 2.0
    pos["Surface area per unit volume [m-1]"] /= 2.0
    notes = []
    back = from_bpx(data, notes)
    assert back.cathode.particle_radii_m == (pytest.approx(2 * sauter),)
    assert back.cathode.active_volume_fraction == pytest.approx(cat.active_volume_fraction)
    assert any(X_SIZE_CLASSES in n and "does not fit" in n for n in notes)


def test_the_mapping_and_its_units():
    p = CellParameters.preset("xu2019")
    data = to_bpx(p, electrode_area_m2=2e-4)
    cell = data["Parameterisation"]["Cell"]
    pos = data["Parameterisation"]["Positive electrode"]
    cat = p.cathode
    assert cell["Lower voltage cut-off [V]"] == 3.0 and cell["Upper voltage cut-off [V]"] == 4.3
    assert cell["Nominal cell capacity [A.h]"] == pytest.approx(2e-4 * p.nominal_capacity_ah_m2())
    assert bpx_nominal_capacity_ah_m2(data) == pytest.approx(p.nominal_capacity_ah_m2())
    assert pos["Minimum stoichiometry"] == cat.initial_stoichiometry
    assert pos["Maximum stoichiometry"] == pytest.approx(0.99738, abs=1e-5)  # OCP = 3.0 V
    assert pos["Transport efficiency"] == pytest.approx(0.331 ** 1.5)  # Bruggeman 1.5
    # k_BPX = k c_e0^½ c_max: 5.76e-11 × √1000 × 48230 mol m⁻² s⁻¹
    assert pos["Reaction rate constant [mol.m-2.s-1]"] == pytest.approx(
        5.76e-11 * 1000 ** 0.5 * 48230)
    assert isinstance(pos["OCP [V]"], str) and "exp(" in pos["OCP [V]"]  # the closed form
    state = data["State"]["Initial conditions"]
    assert state["Initial electrolyte concentration [mol.m-3]"] == 1000.0
    neg = data["Parameterisation"]["Negative electrode"]
    assert neg["OCP [V]"] == 0.0
    # the proxy's exchange current per m² of cell at its start is the foil's
    i0 = 96485.33212 * neg["Reaction rate constant [mol.m-2.s-1]"] * neg[
        "Surface area per unit volume [m-1]"] * neg["Thickness [m]"] * 0.5
    assert i0 == pytest.approx(p.lithium_foil.exchange_current_density_a_m2)


def test_the_export_is_valid_bpx():
    bpx = pytest.importorskip("bpx")
    for params in (CellParameters(), CellParameters.preset("xu2019"), EXOTIC):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # bpx warns on inconsistent stoichiometry limits
            bpx.parse_bpx_obj(_json(to_bpx(params)))


def test_pybamm_reads_the_export_and_agrees(tmp_path):
    """PyBaMM's DFN (a full cell, the Li foil as the exported thin Li-metal electrode) on
    the BPX file: its 1C is this model's nominal-basis 1C, its electrode SOH finds the same
    stoichiometry window, and its 1C capacity is within 0.5 % of this model's (measured:
    0.03 % for the NMC111 table cell, 0.01 % for Xu2019)."""
    os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")
    pybamm = pytest.importorskip("pybamm")
    pytest.importorskip("bpx")  # pybamm reads BPX through it
    for params in (THIN_ONE_SIZE, CellParameters.preset("xu2019")):
        path = save_bpx(params, tmp_path / "cell.bpx.json")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = pybamm.ParameterValues.create_from_bpx(path)
        area = values["Electrode width [m]"] * values["Electrode height [m]"]
        ours = discharge(params, c_rate_basis="nominal")
        assert values["Current function [A]"] / area == pytest.approx(
            ours.current_density_a_m2, rel=1e-12)
        _, _, y_100, y_0 = pybamm.lithium_ion.get_min_max_stoichiometries(values)  # full cell
        # PyBaMM inverts its linear interpolation of the exported table (within 0.05 mV)
        assert (y_100, y_0) == (pytest.approx(params.cathode.initial_stoichiometry, abs=1e-4),
                                pytest.approx(params.discharged_stoichiometry(), abs=1e-4))
        q_p = values.evaluate(pybamm.LithiumIonParameters().p.prim.Q_init) / area
        assert q_p == pytest.approx(params.theoretical_capacity_ah_m2(), rel=1e-9)
        sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=values).solve(
            [0, 2 * 3600])
        q_ref = sol["Discharge capacity [A.h]"].entries[-1] / area
        q = ours.current_density_a_m2 * ours.time_s[-1] / 3600.0
        assert q == pytest.approx(q_ref, rel=5e-3)


def _full_cell(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["Parameterisation"]["Negative electrode"]["OCP [V]"] = {"x": [0.0, 0.5, 1.0],
                                                                 "y": [1.2, 0.12, 0.05]}
    return data


@pytest.mark.parametrize("edit,message", [
    (_full_cell, "Negative electrode.OCP [V]: not representable: this model is a half cell"),
    (lambda d: d["Parameterisation"]["Positive electrode"].pop("Thickness [m]"),
     "Parameterisation.Positive electrode: missing BPX field(s) 'Thickness [m]'"),
    (lambda d: d["Parameterisation"]["Separator"].update({"Tortuosity": 2}),
     "Parameterisation.Separator: unknown BPX field(s) 'Tortuosity'; allowed: 'Thickness"),
    (lambda d: d["Parameterisation"]["Cell"].update({"Lower voltage cut-off [V]": "3 V"}),
     "Parameterisation.Cell.Lower voltage cut-off [V]: expected a number, got '3 V'"),
    (lambda d: d["Parameterisation"]["Electrolyte"].update(
        {"Conductivity [S.m-1]": "__import__('os').getcwd()"}),
     "Parameterisation.Electrolyte.Conductivity [S.m-1]: \"__import__('os').getcwd()\""),
    (lambda d: d["Parameterisation"]["Positive electrode"].update(
        {"OCP [V]": "4.2 - 0.5 * x"}),
     "Positive electrode.OCP [V]: not representable: this model's OCP is one of its named"),
    (lambda d: d["Parameterisation"]["Separator"].update({"Transport efficiency": 0.6}),
     "Separator.Transport efficiency = 0.6 is outside the allowed range (0, porosity = 0.39]"),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"Thickness [m]": 0.01}),
     "cathode.thickness_m = 0.01 is outside the allowed range (0.0, 0.005] (read from BPX "
     "Parameterisation.Positive electrode)"),
    (lambda d: d["Parameterisation"].pop("Separator"), "Parameterisation.Separator: missing"),
    (lambda d: d["Parameterisation"]["Positive electrode"].update({"Particle": {}}),
     "Positive electrode.Particle: blended electrodes"),
    (lambda d: d["State"]["Initial conditions"].update({"Initial state-of-charge": 1.5}),
     "Initial state-of-charge = 1.5 is outside the allowed range [0, 1]"),
])
def test_bad_or_unrepresentable_files_name_the_field(edit, message):
    data = _json(to_bpx(CellParameters.preset("xu2019")))
    edited = edit(data)
    with pytest.raises(ValueError) as err:
        from_bpx(edited if isinstance(edited, dict) and "Header" in edited else data)
    assert message in str(err.value)


def test_legacy_layout_soc_and_foreign_functions_are_read_with_notes():
    """BPX 0.x places (temperatures in Cell, the salt in Electrolyte), an initial SOC, an
    electrolyte function that is not Valøen & Reimers and a reference temperature with
    activation energies: read, each with a report line."""
    p = CellParameters.preset("xu2019")
    data = _json(to_bpx(p))
    par = data["Parameterisation"]
    state = data.pop("State")
    par["Cell"]["Initial temperature [K]"] = 298.15
    par["Electrolyte"]["Initial concentration [mol.m-3]"] = state["Initial conditions"][
        "Initial electrolyte concentration [mol.m-3]"]
    data["Header"]["BPX"] = "0.4.0"
    assert from_bpx(data) == p
    data = _json(to_bpx(p))
    data["State"]["Initial conditions"]["Initial state-of-charge"] = 0.5
    par = data["Parameterisation"]
    par["Electrolyte"]["Conductivity [S.m-1]"] = "0.1 + 0.001 * x"
    par["Positive electrode"]["Diffusivity activation energy [J.mol-1]"] = 30000.0
    par["Cell"]["Reference temperature [K]"] = 288.15
    notes: list[str] = []
    q = from_bpx(data, notes)
    window = (p.cathode.initial_stoichiometry + p.discharged_stoichiometry()) / 2
    assert q.cathode.initial_stoichiometry == pytest.approx(window, abs=1e-6)
    assert q.electrolyte.properties == "constant"
    assert q.electrolyte.conductivity_s_m == pytest.approx(1.1)
    assert q.electrolyte.diffusivity_m2_s == pytest.approx(3.22e-10, rel=0.01)  # Valøen at 1 M
    arrhenius = np.exp(30000.0 / 8.314462618 * (1 / 288.15 - 1 / 298.15))
    assert q.cathode.solid_diffusivity_m2_s == pytest.approx(1e-14 * arrhenius)
    text = "\n".join(notes)
    for part in ("Initial state-of-charge = 0.5", "a function of concentration is not "
                 "representable", "Diffusivity activation energy", "temperatures differ"):
        assert part in text


def test_missing_or_corrupt_bpx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such BPX file"):
        load_bpx(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not a readable JSON BPX file"):
        load_bpx(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="holds one JSON object"):
        load_bpx(tmp_path / "list.json")


def test_cli_export_then_run_on_the_nominal_basis(tmp_path, capsys):
    """etwin cell --export-bpx writes the file and stops; --bpx runs it, on PyBaMM's 1C with
    --c-rate-basis nominal; --bpx with --params and a full-cell file are errors (exit 2)."""
    from experiments.cli import main

    params = tmp_path / "xu.json"
    params.write_text(json.dumps({"extends": "xu2019"}))
    target = tmp_path / "xu.bpx.json"
    assert main(["cell", "--params", str(params), "--export-bpx", str(target), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bpx"] == str(target) and out["notes"]
    assert out["nominal_capacity_ah_m2"] == pytest.approx(25.3487, rel=1e-4)
    assert from_bpx(json.loads(target.read_text())) == CellParameters.preset("xu2019")
    assert main(["cell", "--bpx", str(target), "--c-rate-basis", "nominal", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["c_rate_basis"] == "nominal"
    assert result["current_density_a_m2"] == pytest.approx(25.3487, rel=1e-4)
    assert "nominal: 25.35 A/m²" in captured.err
    assert main(["cell", "--bpx", str(target), "--params", str(params)]) == 2
    assert "give --params or --bpx, not both" in capsys.readouterr().err
    (tmp_path / "full.json").write_text(json.dumps(_full_cell(json.loads(target.read_text()))))
    assert main(["eis", "--bpx", str(tmp_path / "full.json")]) == 2
    assert "Negative electrode.OCP [V]: not representable" in capsys.readouterr().err
