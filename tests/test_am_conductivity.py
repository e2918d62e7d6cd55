"""The AM's lithiation-dependent conductivity (physics/am_conductivity.py) and the P2D with
σ_eff against the surface stoichiometry: Amin & Chiang's end points, the closed-form ohmic
drop of an exponentially graded solid, a constant table equal to the constant σ, and lithium
conservation with a conductivity that collapses along the discharge."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from physics.am_conductivity import (
    NMC111_AMIN2016,
    TABLE_STOICHIOMETRIES,
    LithiationConductivity,
    conductivity_table,
)
from physics.cell import HalfCellDFN, Mesh, discharge
from physics.cell_params import FARADAY, CathodeParameters, CellParameters

THIN = CellParameters(cathode=CathodeParameters(
    thickness_m=60e-6, porosity=0.35, active_volume_fraction=0.55, cbd_volume_fraction=0.05,
    electronic_conductivity_s_m=0.05))


def with_table(params: CellParameters, table) -> CellParameters:
    return replace(params, cathode=replace(
        params.cathode, electronic_conductivity_vs_stoichiometry=tuple(table)))


def test_the_nmc111_law_spans_amin_and_chiangs_end_points():
    """1e-7 S/cm fully lithiated, 1e-2 S/cm at x = 0.75 and flat beyond, log-linear
    between."""
    law = NMC111_AMIN2016
    assert law.log10_s_m(1.0) == pytest.approx(-5.0)
    assert law.log10_s_m(0.25) == pytest.approx(0.0)
    assert law.log10_s_m(0.05) == pytest.approx(0.0)
    assert law.log10_s_m(0.625) == pytest.approx(-2.5)
    shifted = LithiationConductivity(sigma_lithiated_s_m=1e-6)
    assert np.allclose(shifted.log10_s_m(np.linspace(0, 1, 7)),
                       law.log10_s_m(np.linspace(0, 1, 7)) - 1.0)
    with pytest.raises(ValueError, match="sigma_lithiated_s_m"):
        LithiationConductivity(sigma_lithiated_s_m=0.0)
    with pytest.raises(ValueError, match="delithiation_max"):
        LithiationConductivity(delithiation_max=1.5)


def test_a_table_solves_the_structure_at_the_laws_conductivities():
    calls = []
    table = conductivity_table(lambda s: calls.append(s) or 0.1 * s ** 0.5, NMC111_AMIN2016)
    assert [t for t, _ in table] == list(TABLE_STOICHIOMETRIES)
    assert np.allclose(np.log10(calls), NMC111_AMIN2016.log10_s_m(TABLE_STOICHIOMETRIES))
    with pytest.raises(ValueError, match="does not conduct"):
        conductivity_table(lambda s: 0.0, NMC111_AMIN2016)


@pytest.mark.parametrize(("table", "message"), [
    (((0.5, 1.0),), ">= 2"),
    (((0.5, 1.0), (0.4, 2.0)), "must increase"),
    (((0.5, 1.0), (1.2, 2.0)), "stoichiometry"),
    (((0.1, 1.0), (0.5, -1.0)), "conductivity"),
])
def test_bad_tables_name_the_field(table, message):
    with pytest.raises(ValueError, match=message):
        with_table(THIN, table)


def test_an_exponentially_graded_solid_gives_the_closed_form_ohmic_drop():
    """No reaction, the surface stoichiometry linear in x and the table log-linear in θ: σ
    grows as σ0 e^{βx}, and the solid carries i_app from the collector to the separator with
    the drop i_app ∫ dx / σ = i_app (1 − e^{−βL}) / (σ0 β), exact on the mesh (each element
    conducts with the series conductance of an exponential profile between its nodes)."""
    params = with_table(THIN, ((0.2, 1e-3), (0.8, 1.0)))
    params = replace(params, cathode=replace(params.cathode, reaction_rate_constant=1e-25))
    model = HalfCellDFN(params, Mesh(4, 13, 3))
    y = model.initial_state()
    xc = model.x[model.cat_nodes]
    theta = 0.3 + 0.4 * (xc - xc[0]) / (xc[-1] - xc[0])
    cs = model.cs_block(y)
    cs[:, :, :] = (theta * model.c_max)[None, :, None]
    i_app = 20.0
    # the solid rows are linear in φ_s (the reaction is off): solve them for the change of
    # φ_s from the state at rest, held at the separator side
    rows = np.arange(model.sl_ps.start, model.sl_ps.stop)
    base = model.residual(y, i_app)[rows]
    cols = []
    for n in range(model.n_c):
        dy = np.zeros_like(y)
        dy[model.sl_ps.start + n] = 1e-3
        cols.append((model.residual(y + dy, i_app)[rows] - base) / 1e-3)
    k = np.column_stack(cols)
    phi = np.zeros(model.n_c)
    phi[1:] = np.linalg.solve(k[1:, 1:], -base[1:])
    sigma0 = 10 ** np.interp(0.3, (0.2, 0.8), (-3.0, 0.0))
    beta = math.log(10 ** (0.4 / 0.6 * 3.0)) / (xc[-1] - xc[0])
    drop = i_app * (1 - math.exp(-beta * (xc[-1] - xc[0]))) / (sigma0 * beta)
    assert phi[-1] - phi[0] == pytest.approx(-drop, rel=1e-9)
    assert np.allclose(model.solid_conductivity(y), sigma0 * np.exp(beta * (xc - xc[0])))


def test_a_constant_table_is_the_constant_conductivity():
    s = THIN.cathode.electronic_conductivity_s_m
    ref = discharge(THIN, c_rate=1.0)
    tab = discharge(with_table(THIN, ((0.0, s), (1.0, s))), c_rate=1.0)
    assert tab.capacity_final_mah_g == pytest.approx(ref.capacity_final_mah_g, rel=1e-4)
    n = min(ref.voltage_v.size, tab.voltage_v.size) // 2
    assert np.allclose(np.interp(ref.capacity_mah_g[:n], tab.capacity_mah_g, tab.voltage_v),
                       ref.voltage_v[:n], atol=1e-4)


def test_a_conductivity_that_falls_with_lithiation_cuts_the_discharge_and_conserves_li():
    """The NMC111 law scaled onto this electrode: σ_eff ∝ σ_AM(θ).  Capacity falls with the
    law's level, stays below the constant σ at the law's start, and the Li that enters the
    particles is the charge passed."""
    law_table = [(t, 0.05 * 10 ** NMC111_AMIN2016.log10_s_m(t)) for t in TABLE_STOICHIOMETRIES]
    caps = []
    for scale in (1.0, 0.1):
        params = with_table(THIN, [(t, scale * s) for t, s in law_table])
        d = discharge(params, c_rate=1.0)
        model = HalfCellDFN(params, d.mesh)
        inserted = (model.lithium_in_solid_mol_m2(d.final_state)
                    - model.lithium_in_solid_mol_m2(d.initial_state))
        assert inserted == pytest.approx(d.current_density_a_m2 * d.time_s[-1] / FARADAY,
                                         rel=1e-6)
        caps.append(d.capacity_final_mah_g)
    constant = discharge(replace(THIN, cathode=replace(
        THIN.cathode, electronic_conductivity_s_m=law_table[1][1])), c_rate=1.0)
    assert caps[1] < caps[0] < constant.capacity_final_mah_g - 10


def test_a_table_survives_the_parameter_file(tmp_path):
    params = with_table(THIN, ((0.2, 1.0), (0.9, 1e-3)))
    path = tmp_path / "cell.json"
    params.save(path)
    assert CellParameters.load(path) == params
