"""Half-cell DFN: lithium conservation, the low-rate limit, and PyBaMM's DFN as an oracle."""

from __future__ import annotations

import os

import numpy as np
import pytest

from physics.cell import HalfCellDFN, Mesh, discharge
from physics.cell_params import (
    FARADAY,
    CathodeParameters,
    CellParameters,
    LithiumFoilParameters,
    SeparatorParameters,
)
from physics.ocp import ocp_function

THIN = CellParameters(cathode=CathodeParameters(
    thickness_m=60e-6, porosity=0.35, active_volume_fraction=0.55, cbd_volume_fraction=0.05,
    electronic_conductivity_s_m=10.0))


def test_lithium_is_conserved_during_a_1c_discharge():
    d = discharge(THIN, c_rate=1.0)
    model = HalfCellDFN(THIN)
    inserted = (model.lithium_in_solid_mol_m2(d.final_state)
                - model.lithium_in_solid_mol_m2(d.initial_state))
    from_foil = d.current_density_a_m2 * d.time_s[-1] / FARADAY
    assert inserted == pytest.approx(from_foil, rel=1e-4)
    salt = [model.salt_in_electrolyte_mol_m2(y) for y in (d.initial_state, d.final_state)]
    assert salt[1] == pytest.approx(salt[0], rel=1e-4)  # the salt only moves
    assert d.voltage_v[-1] == pytest.approx(THIN.cutoff_voltage_v)
    assert np.all(np.diff(d.capacity_mah_g) > 0)


def test_low_rate_capacity_is_the_stoichiometric_capacity():
    """At C/50 the discharge runs the particles to the cut-off OCP: capacity =
    (s(U = cut-off) - s0) × 280 mAh/g within 1 %."""
    d = discharge(THIN, c_rate=0.02)
    s_cut = ocp_function("nmc111").stoichiometry_at(THIN.cutoff_voltage_v)
    expected = (s_cut - THIN.cathode.initial_stoichiometry) * THIN.theoretical_capacity_mah_g()
    assert d.capacity_final_mah_g == pytest.approx(expected, rel=0.01)
    assert d.capacity_final_mah_g < expected  # a residual overpotential, never more
    assert 3.7 < d.mean_voltage_v < 4.0


def test_a_stopped_solve_says_where():
    with pytest.raises(RuntimeError, match=r"stopped after 3 steps .* above the cut-off"):
        discharge(THIN, c_rate=1.0, max_steps=3)


def xu2019_parameters() -> CellParameters:
    """PyBaMM's half-cell set Xu2019 in this model's terms (Bruggeman 1.5: τ = ε^-0.5)."""
    eps = 0.331
    return CellParameters(
        cathode=CathodeParameters(
            thickness_m=42e-6, porosity=eps, active_volume_fraction=0.518,
            cbd_volume_fraction=0.0, tortuosity_factor=eps ** -0.5,
            electronic_conductivity_s_m=100.0 * 0.518 ** 1.5, particle_radii_m=(5.3e-6,),
            particle_volume_fractions=(1.0,), solid_diffusivity_m2_s=1e-14,
            max_concentration_mol_m3=48230.0, initial_stoichiometry=4631.0 / 48230.0,
            reaction_rate_constant=5.76e-11, ocp="nmc_xu2019"),
        separator=SeparatorParameters(thickness_m=25e-6, porosity=0.39,
                                      tortuosity_factor=0.39 ** -0.5),
        lithium_foil=LithiumFoilParameters(
            exchange_current_density_a_m2=3.5e-8 * FARADAY * (1 / 1.3e-5) ** 0.7 * 1000 ** 0.3),
        cutoff_voltage_v=3.0)


def test_agrees_with_pybamm_dfn_half_cell():
    """PyBaMM's DFN with "working electrode: positive" and its Xu2019 set at its 1C
    (15.58 A/m²) to 3.0 V: capacity within 1 % and voltage RMSE below 10 mV (measured:
    0.01 % and ~1 mV)."""
    os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")
    pybamm = pytest.importorskip("pybamm")
    model = pybamm.lithium_ion.DFN(options={"working electrode": "positive"})
    values = pybamm.ParameterValues("Xu2019")
    area = values["Electrode height [m]"] * values["Electrode width [m]"]
    current = values["Nominal cell capacity [A.h]"]
    values.update({"Current function [A]": current, "Lower voltage cut-off [V]": 3.0})
    sol = pybamm.Simulation(model, parameter_values=values).solve(
        [0, 10800], t_interp=np.linspace(0, 10800, 4001))
    q_ref = sol["Discharge capacity [A.h]"].entries / area
    v_ref = sol["Voltage [V]"].entries
    ours = discharge(xu2019_parameters(), current_density_a_m2=current / area,
                     mesh=Mesh(20, 20, 20))
    q = ours.current_density_a_m2 * ours.time_s / 3600.0
    assert q[-1] == pytest.approx(q_ref[-1], rel=0.01)
    grid = np.linspace(0.0, 0.98 * min(q[-1], q_ref[-1]), 400)
    rmse = np.sqrt(np.mean((np.interp(grid, q, ours.voltage_v)
                            - np.interp(grid, q_ref, v_ref)) ** 2))
    assert rmse < 0.010


def test_blocking_impedance_is_the_transmission_line():
    """No faradaic reaction in the cathode (k → 0), a fast Li foil and t+ → 1: the DFN's
    impedance is R_sep + the blocking transmission line with R_ion = L / κ_eff and
    C = a C_dl L (Landesfeind 2016).  Within 1.5 % from 10 Hz to 100 kHz (the rest is the
    solid's own resistance L/σ, 0.3 % of R_ion, and the mesh); R_ion from a TLM fit of the
    DFN spectrum within 2 %."""
    from physics.cell import impedance
    from physics.cell_params import ElectrolyteParameters
    from physics.electrolyte import conductivity_valoen2005_s_m
    from physics.impedance import fit_tlm, frequencies_hz, tlm_blocking_impedance

    cat = CathodeParameters(thickness_m=60e-6, porosity=0.35, active_volume_fraction=0.55,
                            cbd_volume_fraction=0.0, electronic_conductivity_s_m=100.0,
                            reaction_rate_constant=1e-25, tortuosity_factor=1.5)
    params = CellParameters(
        cathode=cat, lithium_foil=LithiumFoilParameters(exchange_current_density_a_m2=1e6,
                                                        double_layer_capacitance_f_m2=0.0),
        electrolyte=ElectrolyteParameters(transference_number=0.99))
    f = frequencies_hz(10.0, 1e5, 7)
    z = impedance(params, f, Mesh(10, 80, 6)).z_ohm_m2
    kappa = conductivity_valoen2005_s_m(1000.0, 298.15)
    r_ion = cat.thickness_m / (kappa * cat.transport_factor)
    sep = params.separator
    r_sep = sep.thickness_m / (kappa * sep.porosity / sep.tortuosity_factor)
    c_dl = sum(cat.surface_area_per_class_m()) * cat.double_layer_capacitance_f_m2 \
        * cat.thickness_m
    expected = tlm_blocking_impedance(f, r_ion, c_dl, r_sep)
    assert np.max(np.abs(z / expected - 1)) < 0.015
    fit = fit_tlm(f, z)
    assert fit.r_ion_ohm_m2 == pytest.approx(r_ion, rel=0.02)
    assert fit.c_dl_f_m2 == pytest.approx(c_dl, rel=0.02)
