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
    xu2019_parameters,
)
from physics.ocp import ocp_function

THIN = CellParameters(cathode=CathodeParameters(
    thickness_m=60e-6, porosity=0.35, active_volume_fraction=0.55, cbd_volume_fraction=0.05,
    electronic_conductivity_s_m=10.0))


def test_lithium_is_conserved_during_a_1c_discharge():
    d = discharge(THIN, c_rate=1.0)
    model = HalfCellDFN(THIN, d.mesh)
    inserted = (model.lithium_in_solid_mol_m2(d.final_state)
                - model.lithium_in_solid_mol_m2(d.initial_state))
    from_foil = d.current_density_a_m2 * d.time_s[-1] / FARADAY
    assert inserted == pytest.approx(from_foil, rel=1e-4)
    salt = [model.salt_in_electrolyte_mol_m2(y) for y in (d.initial_state, d.final_state)]
    assert salt[1] == pytest.approx(salt[0], rel=1e-4)  # the salt only moves
    assert d.voltage_v[-1] == pytest.approx(THIN.cutoff_voltage_v)
    assert np.all(np.diff(d.capacity_mah_g) > 0)


@pytest.mark.parametrize("area_share", [0.4, 1.7])
def test_lithium_is_conserved_with_a_reacting_area_of_its_own(area_share):
    """A specific surface area that is not the spheres' 3 ε_AM / R (the voxel area of a
    structure, with contacts and CBD cover) still conserves Li: the spheres take the
    reacting area's current spread over their own surface."""
    from dataclasses import replace

    geometric = sum(THIN.cathode.surface_area_per_class_m())
    params = replace(THIN, cathode=replace(THIN.cathode,
                                           specific_surface_area_m=area_share * geometric))
    d = discharge(params, c_rate=1.0)
    model = HalfCellDFN(params, d.mesh)
    inserted = (model.lithium_in_solid_mol_m2(d.final_state)
                - model.lithium_in_solid_mol_m2(d.initial_state))
    assert inserted == pytest.approx(d.current_density_a_m2 * d.time_s[-1] / FARADAY,
                                     rel=1e-4)
    at_c50 = discharge(params, c_rate=0.02).capacity_final_mah_g
    assert at_c50 == pytest.approx(discharge(THIN, c_rate=0.02).capacity_final_mah_g, rel=0.01)


def test_low_rate_capacity_is_the_stoichiometric_capacity():
    """At C/50 the discharge runs the particles to the cut-off OCP: capacity =
    (s(U = cut-off) - s0) × 280 mAh/g within 1 %."""
    d = discharge(THIN, c_rate=0.02)
    s_cut = ocp_function("nmc111").stoichiometry_at(THIN.cutoff_voltage_v)
    expected = (s_cut - THIN.cathode.initial_stoichiometry) * THIN.theoretical_capacity_mah_g()
    assert d.capacity_final_mah_g == pytest.approx(expected, rel=0.01)
    assert d.capacity_final_mah_g < expected  # a residual overpotential, never more
    assert 3.7 < d.mean_voltage_v < 4.0


def test_a_discharge_ends_when_the_salt_runs_out():
    """A 260 µm calendered cathode at 1C (196 A/m², beyond its ~56 A/m² limiting current):
    the salt at the collector runs out within about a minute and the discharge ends there,
    reporting why, instead of failing in Newton at c_e -> 0."""
    from physics.cell import DEPLETION_FRACTION

    cat = CathodeParameters(thickness_m=260e-6, porosity=0.295, active_volume_fraction=0.58,
                            cbd_volume_fraction=0.115, tortuosity_factor=1.89,
                            electronic_conductivity_s_m=0.0356)
    params = CellParameters(cathode=cat)
    d = discharge(params, c_rate=1.0)
    assert d.end_reason == "electrolyte depletion"
    model = HalfCellDFN(params, d.mesh)
    assert d.final_state[model.sl_ce].min() <= DEPLETION_FRACTION * 1000.0
    assert d.time_s[-1] < 300 and d.voltage_v[-1] > params.cutoff_voltage_v
    thin = discharge(CellParameters(cathode=CathodeParameters(
        thickness_m=100e-6, porosity=0.295, active_volume_fraction=0.58,
        cbd_volume_fraction=0.115, tortuosity_factor=1.89, electronic_conductivity_s_m=0.0356)))
    assert thin.end_reason == "cut-off voltage"


def test_a_discharge_ends_when_the_salt_saturates_at_the_foil():
    """At 20C the salt produced at the Li foil outruns the separator's diffusion towards the
    pole of the Valøen & Reimers diffusivity at 13.8 mol/L (Newton failed there, at 25.8
    mol/L after 9.5 s): the discharge ends at 3/4 of the pole and says why."""
    from physics.cell import saturation_mol_m3

    d = discharge(THIN, c_rate=20.0)
    assert d.end_reason == "electrolyte saturation"
    model = HalfCellDFN(THIN, d.mesh)
    c_e = d.final_state[model.sl_ce]
    limit = saturation_mol_m3(THIN)
    assert limit == pytest.approx(0.75 * 13.83e3, rel=1e-3)
    assert limit <= c_e[0] < 1.2 * limit and c_e.argmax() == 0
    assert d.voltage_v[-1] > THIN.cutoff_voltage_v and d.capacity_final_mah_g > 0


def test_a_current_beyond_the_cut_off_at_once_delivers_nothing():
    """At 300C the ohmic and kinetic drop of the first, consistent state already takes the
    cell below 3 V: capacity 0 and the reason, not a negative capacity from a step cut
    backwards in time."""
    d = discharge(THIN, c_rate=300.0)
    assert d.capacity_final_mah_g == 0.0 and d.end_reason == "below the cut-off at the start"
    assert d.voltage_v[0] < THIN.cutoff_voltage_v and d.time_s.tolist() == [0.0]


def test_a_stopped_solve_says_where():
    with pytest.raises(RuntimeError, match=r"stopped after 3 steps .* above the cut-off"):
        discharge(THIN, c_rate=1.0, max_steps=3)


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


def test_c_rate_bases():
    """1C on the theoretical basis (default) is F c_max ε_AM L / 3600 = 28.12 A/m² for the
    Xu2019 cell; on PyBaMM's nominal basis F c_max ε_AM L (θ_max − θ_0) / 3600 = 25.35 A/m²
    (θ 0.0960 -> 0.9974, where the OCP reaches 3.0 V; 25.42 would be the window to θ = 1)."""
    from physics.cell import c_rate_current_density_a_m2

    params = xu2019_parameters()
    theoretical = FARADAY * 48230.0 * 0.518 * 42e-6 / 3600.0
    assert theoretical == pytest.approx(28.1226, rel=1e-5)
    nominal = theoretical * (0.9973837 - 4631.0 / 48230.0)
    assert nominal == pytest.approx(25.3487, rel=1e-5)
    assert discharge(params).current_density_a_m2 == pytest.approx(theoretical, rel=1e-9)
    d = discharge(params, c_rate=2.0, c_rate_basis="nominal")
    assert d.current_density_a_m2 == pytest.approx(2 * nominal, rel=1e-6)
    assert c_rate_current_density_a_m2(params, 2.0, "nominal", 15.58) == 31.16
    with pytest.raises(ValueError, match="c_rate_basis = 'pybamm'; allowed: theoretical, "
                                         "nominal"):
        discharge(params, c_rate_basis="pybamm")


def test_nominal_capacity_is_pybamms_electrode_soh():
    """PyBaMM's half-cell electrode SOH (``get_min_max_stoichiometries``) on its own Xu2019
    set with the OCV limits U(θ_0) and the 3.0 V cut-off gives Q_w (x_0 − x_100) = this
    model's nominal capacity per m²: the current of PyBaMM's 1C on that cell (PyBaMM's
    current = C-rate × "Nominal cell capacity [A.h]")."""
    os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")
    pybamm = pytest.importorskip("pybamm")
    params = xu2019_parameters()
    values = pybamm.ParameterValues("Xu2019")
    u0 = float(ocp_function("nmc_xu2019")(params.cathode.initial_stoichiometry))
    values.update({"Open-circuit voltage at 100% SOC [V]": u0,
                   "Open-circuit voltage at 0% SOC [V]": 3.0})
    from pybamm.models.full_battery_models.lithium_ion.electrode_soh_half_cell import (
        get_min_max_stoichiometries,
    )

    options = {"working electrode": "positive"}
    window = get_min_max_stoichiometries(values, options=options)
    q_w = values.evaluate(pybamm.LithiumIonParameters(options).p.prim.Q_init)
    area = values["Electrode height [m]"] * values["Electrode width [m]"]
    q_nominal = q_w * (window["x_0"] - window["x_100"]) / area
    assert q_nominal == pytest.approx(params.nominal_capacity_ah_m2(), rel=1e-6)
    assert discharge(params, c_rate_basis="nominal").current_density_a_m2 == pytest.approx(
        q_nominal, rel=1e-6)


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


@pytest.mark.parametrize("sigma_table", [(), ((0.1, 1.0), (0.5, 1e-2), (1.0, 1e-4))])
def test_the_analytic_jacobian_is_the_finite_difference_one(sigma_table):
    """∂G/∂y assembled from the kernel's blocks equals the column-by-column finite
    differences of the residual (six size classes, a non-uniform state with a φ_s gradient,
    so the σ_eff(θ) terms count; σ_eff constant or from the surface stoichiometry): every
    entry within 1e-5 of its row's largest (the differences' own error)."""
    from dataclasses import replace

    params = CellParameters()
    params = replace(params, cathode=replace(
        params.cathode, electronic_conductivity_vs_stoichiometry=sigma_table))
    model = HalfCellDFN(params, Mesh(3, 5, 4))
    y = model.initial_state()
    y[model.sl_ce] *= np.linspace(0.8, 1.2, model.n_x)
    y[model.sl_ps] -= np.linspace(0.03, 0.08, model.n_c)
    y[model.off_cs:] *= np.linspace(0.9, 1.1, y.size - model.off_cs)
    g0 = model.residual(y, 5.0)
    dense = np.zeros((model.size, model.size))
    for c in range(model.size):
        dy = np.zeros_like(y)
        dy[c] = 1e-7 * max(abs(y[c]), 1e-3)
        dense[:, c] = (model.residual(y + dy, 5.0) - g0) / dy[c]
    analytic = model.jacobian(y, 5.0).toarray()
    row_scale = np.abs(dense).max(1, keepdims=True)
    assert np.all(np.abs(analytic - dense) <= 1e-5 * row_scale)
    if sigma_table:  # the σ(θ) coupling of φ_s rows to the neighbours' surface c_s is there
        surf = model.off_cs + np.arange(model.n_c) * model.n_r + model.n_r - 1
        assert np.abs(analytic[model.sl_ps.start + 1, surf[2]]) > 0


def test_the_capacity_does_not_hang_on_the_tolerance_or_the_last_bit_of_the_current():
    """A 3C discharge whose solid conductivity falls with lithiation (the NMC111 law): the
    capacity at rtol 1e-4 within 0.05 % of rtol 1e-6, and a 2-ulp change of the current moves
    it by less than 1e-9 (the cut-off is located by secant steps, not cut linearly from
    wherever the last step landed)."""
    from dataclasses import replace

    from physics.am_conductivity import NMC111_AMIN2016, TABLE_STOICHIOMETRIES

    law = tuple((t, 10 ** NMC111_AMIN2016.log10_s_m(t)) for t in TABLE_STOICHIOMETRIES)
    params = replace(THIN, cathode=replace(
        THIN.cathode, thickness_m=70e-6, porosity=0.30, active_volume_fraction=0.60,
        cbd_volume_fraction=0.10, electronic_conductivity_vs_stoichiometry=law))
    caps = {rtol: discharge(params, c_rate=3.0, rtol=rtol).capacity_final_mah_g
            for rtol in (1e-4, 1e-6)}
    assert caps[1e-4] == pytest.approx(caps[1e-6], rel=5e-4)
    nudged = discharge(params, c_rate=3.0 * (1 + 4.4e-16)).capacity_final_mah_g
    assert nudged == pytest.approx(caps[1e-4], rel=1e-9)


def porous_electrode_impedance(params: CellParameters, freq_hz: np.ndarray) -> np.ndarray:
    """Closed form of the half cell at rest with one particle size, t+ = 1 (uniform salt) and
    an ideal foil [Ω m²]: R_sep + the porous-electrode line with ionic and electronic rails
    (Paasch, Micka & Gersdorf 1993; de Levie 1963 for σ → ∞)

        Z = L/(κ+σ) [1 + (2 + (σ/κ + κ/σ) cosh ν) / (ν sinh ν)],  ν = L √((1/κ + 1/σ) a / ζ),

    and the interface ζ = 1 / (jω C_dl + 1 / (R_ct + Z_d)) per AM area, R_ct = RT / (F i0),
    Z_d the finite-space spherical diffusion impedance (Jacobsen & West 1995)

        Z_d = -(∂U/∂c) R / (F D_s) / (kR coth kR - 1),  k = √(jω / D_s),

    which tends to the 45° Warburg line -(∂U/∂c) / (F √(jω D_s)) for kR ≫ 1 and to a
    capacitor for kR ≪ 1."""
    from physics.electrolyte import conductivity_valoen2005_s_m

    cat, sep, t = params.cathode, params.separator, params.temperature_k
    c_max, s0, radius, d_s = (cat.max_concentration_mol_m3, cat.initial_stoichiometry,
                              cat.particle_radii_m[0], cat.solid_diffusivity_m2_s)
    ocp = ocp_function(cat.ocp)
    du_dc = float(ocp(s0 + 1e-6) - ocp(s0 - 1e-6)) / 2e-6 / c_max
    c_e = params.electrolyte.initial_concentration_mol_m3
    i0 = FARADAY * cat.reaction_rate_constant * np.sqrt(c_e) * c_max * np.sqrt(s0 * (1 - s0))
    r_ct = 8.314462618 * t / (FARADAY * i0)
    w = 2 * np.pi * np.asarray(freq_hz)
    kr = np.sqrt(1j * w * radius ** 2 / d_s)
    z_d = -du_dc * radius / (FARADAY * d_s) / (kr / np.tanh(kr) - 1.0)
    zeta = 1.0 / (1j * w * cat.double_layer_capacitance_f_m2 + 1.0 / (r_ct + z_d))
    kappa = conductivity_valoen2005_s_m(c_e, t)
    k_eff, sigma = kappa * cat.transport_factor, cat.electronic_conductivity_s_m
    nu = cat.thickness_m * np.sqrt((1 / k_eff + 1 / sigma) * sum(
        cat.surface_area_per_class_m()) / zeta)
    r_sep = sep.thickness_m * sep.tortuosity_factor / (sep.porosity * kappa)
    return r_sep + cat.thickness_m / (k_eff + sigma) * (
        1 + (2 + (sigma / k_eff + k_eff / sigma) * np.cosh(nu)) / (nu * np.sinh(nu)))


def test_reacting_electrode_impedance_is_the_closed_form_with_warburg():
    """A reacting cathode (R = 10 µm, D_s = 1e-15 m²/s) from 1e-7 to 1e-2 Hz (kR up to 80):
    the DFN's impedance equals the closed form within 1 % (measured 0.47 %, 120 radial
    elements), from the capacitive limit of the finite particles (kR < 1) through the
    spherical-diffusion branch; where kR = 25-80 the Nyquist slope is the Warburg 45° within
    12 % (closed form: 1.04-1.11, tending to 1 as kR grows)."""
    from physics.cell import impedance
    from physics.cell_params import ElectrolyteParameters

    cat = CathodeParameters(
        thickness_m=20e-6, porosity=0.35, active_volume_fraction=0.55, cbd_volume_fraction=0.0,
        electronic_conductivity_s_m=1e3, particle_radii_m=(10e-6,),
        particle_volume_fractions=(1.0,), solid_diffusivity_m2_s=1e-15,
        reaction_rate_constant=5.76e-9, initial_stoichiometry=0.5)
    params = CellParameters(
        cathode=cat, electrolyte=ElectrolyteParameters(transference_number=1.0),
        lithium_foil=LithiumFoilParameters(exchange_current_density_a_m2=1e6,
                                           double_layer_capacitance_f_m2=0.0))
    f = np.logspace(-7, -2, 21)
    z = impedance(params, f, Mesh(4, 10, 120)).z_ohm_m2
    expected = porous_electrode_impedance(params, f)
    assert np.max(np.abs(z / expected - 1)) < 0.01
    assert -z[0].imag > 100 * (z[0].real - z[-1].real)  # capacitive at the low end
    warburg = f >= 1e-3 * (1 - 1e-9)  # kR from 25 to 80
    slope = -np.diff(z[warburg].imag) / np.diff(z[warburg].real)
    assert slope.size == 4 and np.all(np.abs(slope - 1.0) < 0.12)


def test_symmetric_blocking_cell_gives_the_input_tortuosity():
    """The blocking symmetric cell of a reacting cathode with τ = 1.7: its transmission-line
    fit over 1 Hz-10 MHz gives 2 R_ion = 2 L τ / (ε κ) within 2 % and C_dl / 2; R_ion from
    the graphical reading (3 × the projection) within 5 %."""
    from physics.cell import separator_resistance_ohm_m2, symmetric_blocking_impedance
    from physics.electrolyte import conductivity_valoen2005_s_m
    from physics.impedance import fit_tlm, frequencies_hz, r_ion_graphical

    cat = CathodeParameters(thickness_m=60e-6, porosity=0.30, active_volume_fraction=0.62,
                            cbd_volume_fraction=0.05, electronic_conductivity_s_m=50.0,
                            tortuosity_factor=1.7)
    params = CellParameters(cathode=cat)
    f = frequencies_hz(1.0, 1e7, 7)
    z = symmetric_blocking_impedance(params, f, Mesh(10, 80, 6)).z_ohm_m2
    r_ion = cat.thickness_m / (conductivity_valoen2005_s_m(1000.0, 298.15)
                               * cat.transport_factor)
    fit = fit_tlm(f, z)
    assert fit.r_ion_ohm_m2 / 2 == pytest.approx(r_ion, rel=0.02)
    c_dl = sum(cat.surface_area_per_class_m()) * cat.double_layer_capacitance_f_m2 \
        * cat.thickness_m
    assert fit.c_dl_f_m2 * 2 == pytest.approx(c_dl, rel=0.02)
    assert fit.r_hf_ohm_m2 == pytest.approx(separator_resistance_ohm_m2(params), rel=0.05)
    assert r_ion_graphical(f, z) / 2 == pytest.approx(r_ion, rel=0.05)
