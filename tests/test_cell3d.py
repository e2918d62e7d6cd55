"""Geometry of the particle-resolved 3-D cell (physics/cell3d.py): reaction faces and
particle volumes from the voxel image, against the spheres they paint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physics.cell3d import (
    NEWTON_TOL_V,
    equivalent_radius_m,
    lattice_image,
    particle_volumes_um3,
    reaction_faces,
)
from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState
from physics.voxel import AM, CBD, PORE, Microstructure, voxelize


def spheres(positions, radii, species, box=8.0) -> ParticleState:
    n = len(radii)
    r = np.asarray(radii, dtype=float)
    return ParticleState(
        position_um=np.asarray(positions, dtype=float), radius_um=r,
        species=np.asarray(species), mass_pg=4 / 3 * math.pi * r ** 3,
        density_g_cm3=np.ones(n), box_lo_um=np.zeros(3), box_hi_um=np.full(3, box),
        periodic=np.array([True, True, False]), wall_z_um=np.array([0.0, box]),
        wall_side=np.array([1, -1]))


def test_faces_of_a_sphere_give_its_area_and_volume():
    state = spheres([[4.0, 4.0, 4.0]], [2.5], [AM_SPECIES])
    micro = voxelize(state, 0.1, z_range_um=(0.0, 8.0), particle_ids=True)
    faces = reaction_faces(micro)
    assert faces.n_particles == 1 and not faces.through_cbd.any()
    assert faces.area_um2()[0] == pytest.approx(4 * math.pi * 2.5 ** 2, rel=0.03)
    volume = particle_volumes_um3(micro)
    assert volume[0] == pytest.approx(4 / 3 * math.pi * 2.5 ** 3, rel=0.01)
    assert equivalent_radius_m(volume)[0] == pytest.approx(2.5e-6, rel=0.004)
    # a uniform 2 A/m² over the faces is 2 A/m² times the sphere's area
    current = faces.particle_current_a(np.full(faces.count, 2.0))
    assert current[0] == pytest.approx(2.0 * faces.area_um2()[0] * 1e-12, rel=1e-12)
    img = micro.image.ravel()
    assert np.all(img[faces.am_voxel] == AM) and np.all(img[faces.electrolyte_voxel] == PORE)


def test_touching_particles_do_not_react_at_their_contact_and_cbd_wets_am():
    """Two AM spheres that overlap react only on their free surface; a CBD sphere on one of
    them turns some of its faces into faces through the CBD."""
    state = spheres([[2.8, 4.0, 4.0], [5.0, 4.0, 4.0], [3.0, 4.0, 5.9]], [1.3, 1.1, 0.8],
                    [AM_SPECIES, AM_SPECIES, CBD_SPECIES])
    micro = voxelize(state, 0.1, z_range_um=(0.0, 8.0), particle_ids=True)
    faces = reaction_faces(micro)
    ids = micro.am_ids.ravel()
    assert np.array_equal(ids[faces.am_voxel], faces.particle)
    assert set(np.unique(faces.particle)) == {0, 1}
    assert faces.through_cbd.any()
    assert np.all(micro.image.ravel()[faces.electrolyte_voxel[faces.through_cbd]] == CBD)
    free = faces.area_um2()
    assert free[0] < 4 * math.pi * 1.3 ** 2 and free[1] < 4 * math.pi * 1.1 ** 2


def test_faces_need_particle_ids():
    micro = Microstructure(np.full((2, 2, 2), AM, dtype=np.uint8), 1.0)
    with pytest.raises(ValueError, match="particle_ids=True"):
        reaction_faces(micro)


def crank_surface_excess(tau: float, terms: int = 400) -> float:
    """(c(R, t) − c0) D / (F R) for a constant influx F into a sphere from rest (Crank, The
    Mathematics of Diffusion, 2nd ed., Eq. 6.60 at r = R): 3τ + 1/5 − 2 Σ exp(−λ² τ) / λ²,
    λ the positive roots of tan λ = λ, τ = D t / R²."""
    from scipy.optimize import brentq

    roots = [brentq(lambda x: math.tan(x) - x, n * math.pi + 1e-9, n * math.pi + math.pi / 2
                    - 1e-9) for n in range(1, terms + 1)]
    return 3 * tau + 0.2 - 2 * sum(math.exp(-lam * lam * tau) / lam ** 2 for lam in roots)


def test_particle_diffusion_follows_the_constant_flux_closed_form_and_conserves_lithium():
    from physics.cell3d import ParticleDiffusion

    radius = np.array([5e-6, 2e-6])
    d, influx, c0 = 1e-14, 2e-5, 1e4
    model = ParticleDiffusion.on_mesh(radius, d, n_elements=40, surface_ratio=0.2)
    c = np.full((2, model.nodes.size), c0)
    t_end, steps = 0.3 * radius[0] ** 2 / d, 3000
    dt = t_end / steps
    start = model.content_mol(c)
    for k in range(1, steps + 1):
        c = model.step(c, np.full(2, -influx), dt)
        if k in (steps // 10, steps // 2, steps):
            for p in range(2):
                excess = influx * radius[p] / d * crank_surface_excess(d * k * dt
                                                                        / radius[p] ** 2)
                # measured: within 0.14 % of the surface excess over the whole run
                assert c[p, -1] - c0 == pytest.approx(excess, rel=0.005), (k, p)
    gained = model.content_mol(c) - start
    assert gained == pytest.approx(4 * math.pi * radius ** 2 * influx * t_end, rel=1e-10)
    with pytest.raises(ValueError, match="radius_m must be"):
        ParticleDiffusion.on_mesh([0.0], d)


def test_surface_response_is_the_step_linearized_exactly():
    from physics.cell3d import ParticleDiffusion

    model = ParticleDiffusion.on_mesh([3e-6, 6e-6, 1e-6], 2e-15)
    rng = np.random.default_rng(0)
    c = 2e4 + 1e3 * rng.random((3, model.nodes.size))
    flux = np.array([1e-5, -3e-6, 4e-6])
    a, b = model.surface_response(c, 5.0)
    assert np.all(b < 0)
    assert np.allclose(a + b * flux, model.step(c, flux, 5.0)[:, -1], rtol=1e-12, atol=0)


def test_a_layered_image_discharges_as_the_p2d():
    """Step 10 item 2: the 3-D cell on a laterally uniform image against the P2D
    (physics/cell.py) given the same electrode: porosity, AM fraction, voxel τ_z, the 3-D
    reacting area per volume (as a = 3 ε_AM / R of its spheres, so both conserve Li), fast
    solid diffusion and conductive solids, separator as the 4 stacked layers."""
    import dataclasses as dc

    from physics.cell import discharge
    from physics.cell3d import HalfCell3D, discharge_3d, equivalent_p2d
    from physics.cell_params import CellParameters

    micro = lattice_image()
    img = micro.image
    base = CellParameters()
    cat = dc.replace(base.cathode, cbd_porosity=0.0, solid_diffusivity_m2_s=1e-12)
    params = dc.replace(base, cathode=cat,
                        separator=dc.replace(base.separator, thickness_m=4e-6))
    options = {"sigma_am_s_m": 1e3, "sigma_cbd_s_m": 1e3, "separator_layers": 4}
    cell = HalfCell3D(micro, params, **options)
    p2d = equivalent_p2d(cell, micro, params, 1e3)
    a = 3 * p2d.cathode.active_volume_fraction / p2d.cathode.particle_radii_m[0]
    assert a == pytest.approx(cell.f_e.size * cell.face_area / (img.size * 1e-18))
    d3 = discharge_3d(micro, params, 1.0, steps=200, **options)
    d2 = discharge(p2d, c_rate=1.0)
    assert d3.end_reason == d2.end_reason == "cut-off voltage"
    assert d3.current_a_m2 == pytest.approx(11.573, rel=1e-3)  # the same 1C as the P2D
    assert d3.capacity_mah_g[-1] == pytest.approx(d2.capacity_final_mah_g, rel=0.01)  # 0.12 %
    common = d3.capacity_mah_g < 0.98 * d3.capacity_mah_g[-1]  # before the cut-off cliff
    dv = np.interp(d3.capacity_mah_g[common], d2.capacity_mah_g, d2.voltage_v) \
        - d3.voltage_v[common]
    assert np.sqrt(np.mean(dv ** 2)) < 5e-3  # measured 1.0 mV
    assert d3.voltage_v[0] < float(cell.ocp(cat.initial_stoichiometry))  # under load at t = 0
    assert d3.lithium_error < 1e-8  # charge in = Li into the particles (Newton tol.)
    assert d3.salt_error < 1e-6  # salt in at the foil = salt out at the faces
    assert d3.reacting_particles == d3.particles == 40
    # the predictive controller follows the error's growth in the knee: measured 4 rejected
    # of 185 accepted steps (the standard controller alone is rejected every other step there)
    assert d3.rejected_steps <= 0.05 * len(d3.newton_iterations)
    with pytest.raises(ValueError, match="particle_ids=True"):
        HalfCell3D(Microstructure(img.copy(), 1.0), params)


def test_step_factor_is_the_smaller_of_the_standard_and_the_predictive_proposal():
    """Gustafsson's predictive controller (Hairer & Wanner II, eq. 8.25) shrinks the step
    where the error grows from step to step; where it falls the standard proposal stands."""
    from physics.cell3d import _step_factor

    standard = 0.9 * math.sqrt(1e-3 / 0.8e-3)
    assert _step_factor(0.8e-3, 1e-3, 0.0, 10.0, 0.0) == pytest.approx(standard)  # no history
    assert _step_factor(0.8e-3, 1e-3, 0.5e-3, 10.0, 10.0) == pytest.approx(
        standard * math.sqrt(0.5 / 0.8))  # growing error
    assert _step_factor(0.8e-3, 1e-3, 0.5e-3, 5.0, 10.0) == pytest.approx(
        standard * 0.5 * math.sqrt(0.5 / 0.8))  # and a step that was just cut
    assert _step_factor(0.5e-3, 1e-3, 0.8e-3, 10.0, 10.0) == pytest.approx(
        0.9 * math.sqrt(2.0))  # falling error: the standard proposal
    assert _step_factor(0.0, 1e-3, 0.5e-3, 10.0, 10.0) == 2.0
    assert _step_factor(1.0, 1e-3, 1e-4, 10.0, 10.0) == 0.2  # floor


def test_newton_updates_stop_short_of_the_concentration_bounds():
    """Fraction to the boundary: the update keeps c_e > 0 and 0 < c_s = a + b N < c_max,
    stopping 0.9 of the way to the nearest bound; inside them it is taken whole."""
    from types import SimpleNamespace

    from physics.cell3d import _step_to_bounds

    cell = SimpleNamespace(n_e=2, n_s=1, n_p=2, c_max=100.0)
    x = np.array([10.0, 20.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0])  # c_e | φ_e | φ_s | N | V
    a, b = np.array([50.0, 50.0]), np.array([10.0, -10.0])  # c_s = 60 and 30
    small = np.array([-1.0, 1.0, 5.0, 5.0, 5.0, 0.1, 0.1, 5.0])
    assert _step_to_bounds(cell, x, small, a, b) == 1.0
    salt = small.copy()
    salt[0] = -20.0  # c_e 10 → −10: half of it reaches 0
    assert _step_to_bounds(cell, x, salt, a, b) == pytest.approx(0.9 * 0.5)
    full = small.copy()
    full[5] = 8.0  # c_s 60 → 140: 40/80 of it reaches c_max
    assert _step_to_bounds(cell, x, full, a, b) == pytest.approx(0.9 * 0.5)
    empty = small.copy()
    empty[6] = 6.0  # c_s 30 → −30: half of it reaches 0
    assert _step_to_bounds(cell, x, empty, a, b) == pytest.approx(0.9 * 0.5)
    # a bound already crossed (c_s = −55) is not held, or Newton could not move at all
    assert _step_to_bounds(cell, x, small, np.array([50.0, -35.0]), b) == 1.0


def test_a_single_particle_on_the_collector_follows_its_closed_form():
    """Step 10 item 2: one AM sphere on the current collector in a well-conducting
    electrolyte is a single-particle cell, V(t) = U(c_s(R, t)) + η_BV(t) − η_Li(t): the
    surface concentration from Crank's constant-flux sphere (the same influx N = I / (4πR²F)
    the 3-D cell conserves), the Butler–Volmer overpotential of the particle current spread
    over its reacting faces, the foil's.  Electrolyte potential and salt gradients are made
    negligible (κ 100 S/m, D 1e-8 m²/s); solid diffusion is slow enough that the surface runs
    ahead of the mean (c_s(R) − c̄ reaches ~10 % of c_max)."""
    import dataclasses as dc

    from physics.cell import butler_volmer
    from physics.cell3d import HalfCell3D, discharge_3d
    from physics.cell_params import FARADAY, GAS_CONSTANT, CellParameters

    n = 12
    state = spheres([[6.0, 6.0, 4.2]], [4.0], [AM_SPECIES], box=float(n))
    micro = voxelize(state, 1.0, z_range_um=(0.0, float(n)), particle_ids=True)
    assert micro.image[:, :, 0].max() == AM  # it touches the collector
    base = CellParameters()
    params = dc.replace(
        base, cathode=dc.replace(base.cathode, solid_diffusivity_m2_s=4e-15),
        electrolyte=dc.replace(base.electrolyte, properties="constant",
                               conductivity_s_m=100.0, diffusivity_m2_s=1e-8))
    options = {"sigma_am_s_m": 1e3, "separator_layers": 2, "radial_elements": 20}
    cell = HalfCell3D(micro, params, **options)
    d3 = discharge_3d(micro, params, 1.0, steps=40, voltage_tol_v=1e-3, **options)
    assert d3.end_reason == "cut-off voltage" and d3.reacting_particles == 1
    assert d3.lithium_error < 1e-6
    cat, c_max = params.cathode, params.cathode.max_concentration_mol_m3
    radius, diff = float(cell.radius[0]), cat.solid_diffusivity_m2_s
    current_a = d3.current_a_m2 * cell.area_m2
    influx = current_a / (4 * math.pi * radius ** 2 * FARADAY)  # mol/m²/s into the sphere
    face_area = cell.f_e.size * cell.face_area
    c_e0 = params.electrolyte.initial_concentration_mol_m3
    f = FARADAY / (2 * GAS_CONSTANT * params.temperature_k)
    i0_foil = params.lithium_foil.exchange_current_density_a_m2
    eta_foil = np.arcsinh(d3.current_a_m2 / (2 * i0_foil)) / f
    t = d3.time_s[1:-1]
    cs = cat.initial_stoichiometry * c_max + np.array(
        [influx * radius / diff * crank_surface_excess(diff * s / radius ** 2) for s in t])
    i0 = FARADAY * cat.reaction_rate_constant * np.sqrt(c_e0 * cs * (c_max - cs))
    eta = -np.arcsinh(current_a / face_area / (2 * i0)) / f  # cathodic
    closed = cell.ocp(cs / c_max) + eta - eta_foil
    assert butler_volmer(c_e0, cs, closed + eta_foil, c_max, cell.ocp, cat.reaction_rate_constant,
                         params.temperature_k)[0] == pytest.approx(-current_a / face_area,
                                                                  rel=1e-9)
    err = d3.voltage_v[1:-1] - closed
    mean = cat.initial_stoichiometry * c_max + 3 * influx * t / radius
    lag = float(np.max(cs - mean) / c_max)
    assert 0.05 < lag < 0.2  # the surface runs ahead of the mean stoichiometry
    # measured: 0.66 mV RMS, 2.7 mV at most (the first steps of the surface transient)
    assert np.sqrt(np.mean(err ** 2)) < 2e-3, (np.sqrt(np.mean(err ** 2)), np.abs(err).max())


def test_observables_of_a_layered_discharge():
    """The Fig. 7C observables at half depth of discharge on the lattice image: a salt
    gradient forms along z, every reaction face carries current, the CBD walls carry the
    electrons, and the lithiation snapshot covers every particle."""
    import dataclasses as dc

    from physics.cell3d import discharge_3d
    from physics.cell_params import CellParameters

    micro = lattice_image(6)
    base = CellParameters()
    params = dc.replace(base, cathode=dc.replace(base.cathode, cbd_porosity=0.0),
                        separator=dc.replace(base.separator, thickness_m=4e-6))
    d3 = discharge_3d(micro, params, 2.0, steps=40, snapshot_dod=0.3, sigma_am_s_m=1e3,
                      sigma_cbd_s_m=1e3)
    obs = d3.observables
    q_theory = params.theoretical_capacity_mah_g()
    step_dod = 2.0 * (3600.0 / 2.0 / 40) / 3600.0  # the longest step
    assert 0.3 <= d3.snapshot_capacity_mah_g / q_theory < 0.3 + step_dod
    assert obs["mean_li_gradient_mol_m4"] > 0
    assert obs["inverse_mean_li_gradient_m4_mol"] == pytest.approx(
        1 / obs["mean_li_gradient_mol_m4"])
    assert obs["active_am_area_m2_m3"] == pytest.approx(obs["connected_am_area_m2_m3"])
    assert obs["sd_cbd_current_a_m2"] > 0
    lith = d3.particle_stoichiometry
    assert lith.shape == (24,) and np.all(np.isfinite(lith))
    # the equal particles took up the charge passed until the snapshot
    s0 = params.cathode.initial_stoichiometry
    assert np.mean(lith) - s0 == pytest.approx(d3.snapshot_capacity_mah_g / q_theory,
                                               rel=1e-6)
    with pytest.raises(ValueError, match="snapshot_dod"):
        discharge_3d(micro, params, snapshot_dod=0.0)


def toy_film() -> ParticleState:
    """A 10 µm cube: eight AM spheres (R 2.2 µm) in two layers and 40 CBD spheres."""
    rng = np.random.default_rng(1)
    pos = [[2.5 + 5 * i, 2.5 + 5 * j, 2.3 + 4.4 * k] for i in (0, 1) for j in (0, 1)
           for k in (0, 1)]
    pos += list(rng.uniform([0, 0, 0.5], [10, 10, 9.5], (40, 3)))
    return spheres(pos, [2.2] * 8 + [0.6] * 40, [AM_SPECIES] * 8 + [CBD_SPECIES] * 40,
                   box=10.0)


def test_cli_cell3d_writes_curve_observables_and_lithiation_map(tmp_path, capsys):
    """`etwin cell3d STRUCTURE --out`: the user's entry point, on a 10 µm cube of eight AM
    spheres and CBD."""
    import json

    from experiments.cli import main

    state = toy_film()
    state.save(tmp_path / "toy.npz")
    out = tmp_path / "out"
    assert main(["cell3d", str(tmp_path / "toy.npz"), "--voxel-um", "1", "--out", str(out),
                 "--snapshot-dod", "0.3", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["end_reason"] == "cut-off voltage"
    assert 100 < result["capacity_mah_g"] < result["theoretical_capacity_mah_g"]
    assert result["reacting_particles"] == result["particles"] == 8
    assert result["lithium_error"] < 1e-6
    assert 0.3 <= result["snapshot_capacity_mah_g"] / result["theoretical_capacity_mah_g"] < 0.35
    assert result["active_am_area_m2_m3"] > 0
    for name in ("toy_discharge.csv", "toy_lithiation.png", "discharge3d.png", "metrics.json"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob("*_checkpoint.npz"))  # removed once the discharge ended
    assert main(["cell3d", str(tmp_path / "toy.npz"), "--c-rate", "0"]) == 2
    assert "--c-rate must lie in" in capsys.readouterr().err
    assert main(["cell3d", str(tmp_path / "toy.npz"), "--voxel-um", "2"]) == 2
    assert "the AM particles span 2.3 voxels" in capsys.readouterr().err  # R 2.2 µm, 2 µm voxels


def test_images_the_cell_cannot_discharge_are_named():
    """No solid on the collector plane; a solid slab without a pore path to the AM; AM
    whose only path to the collector is missing."""
    from physics.cell3d import HalfCell3D
    from physics.cell_params import CellParameters

    def micro(img):
        return Microstructure(img, 1.0, am_ids=np.where(img == AM, 0, -1).astype(np.int32))

    img = np.zeros((4, 4, 6), np.uint8)
    img[:, :, 2:4] = AM
    with pytest.raises(ValueError, match="no AM or CBD touches the current collector"):
        HalfCell3D(micro(img), CellParameters())
    slab = np.full((4, 4, 6), AM, np.uint8)
    with pytest.raises(ValueError, match=r"no pore .* path from the separator reaches an AM"):
        HalfCell3D(micro(slab), CellParameters())
    cut = np.zeros((4, 4, 6), np.uint8)
    cut[:, :, 0] = CBD
    cut[1:3, 1:3, 3:5] = AM  # a particle floating in the pores
    with pytest.raises(ValueError, match="no AM particle is electronically connected"):
        HalfCell3D(micro(cut), CellParameters())


def test_pipeline_cell3d_stage_runs_once_and_keys_keep_the_p2d_default(tmp_path):
    """The pipeline's `--cell-model 3d` stage on a small film: the discharge in the P2D
    stage's format with the observables and the 3-D blocking spectrum's τ_EIS beside the
    voxel τ_z, cached by the calendered structure; P2D point keys
    are those from before the option; an unknown model is refused by name."""
    from physics.pipeline import (
        STAGE_VERSIONS,
        ProcessInputs,
        StageCache,
        _cell3d,
        content_hash,
        point_key,
    )

    state = toy_film()
    cache = StageCache(tmp_path)
    notes = []
    first, hit = _cell3d(cache, {"film": "toy"}, state, (1.0,), lambda s, m: notes.append(m))
    assert not hit and notes[0].startswith("3-D half cell on (10, 10, 10) voxels")
    d = first["discharge"]["1"]
    assert d["end_reason"] == "cut-off voltage" and d["reacting_particles"] == 8
    assert d["capacity_mah_g"] == pytest.approx(d["capacity_curve_mah_g"][-1])
    assert 3.0 < d["mean_voltage_v"] < 4.3
    assert d["observables"]["active_am_area_m2_m3"] > 0
    volume_m3 = 4 / 3 * math.pi * 2.2e-6 ** 3  # eight voxelized spheres, NMC 4.65 g/cm³
    assert first["active_mass_g_m2"] == pytest.approx(8 * volume_m3 * 4.65e6 / 1e-10, rel=0.1)
    eis = first["eis3d"]  # the 3-D blocking spectrum of the same image
    assert 1.0 < eis["tau_eis"] < 5.0 and abs(eis["tau_eis"] / eis["tau_z"] - 1) < 0.5
    assert len(eis["frequency_hz"]) == len(eis["re_ohm_m2"]) >= 4
    again, hit = _cell3d(cache, {"film": "toy"}, state, (1.0,), lambda s, m: None)
    assert hit and again["discharge"]["1"]["capacity_mah_g"] == d["capacity_mah_g"]
    inputs = ProcessInputs()
    old = content_hash({"inputs": inputs.to_dict(), "fidelity": "ci", "seed": 0,
                        "c_rates": [1.0],  # the key's form before the 3-D stage existed
                        "versions": {"dry": 2, "calender": 3, "transport": 2, "cell": 3,
                                     "stiffness": 1}})
    assert {k: v for k, v in STAGE_VERSIONS.items() if k != "cell3d"} == {
        "dry": 2, "calender": 3, "transport": 2, "cell": 3, "stiffness": 1}, \
        "bump: update the pinned keys"
    assert point_key(inputs, "ci", 0, (1.0,)) == old
    assert point_key(inputs, "ci", 0, (1.0,), "3d") != old
    with pytest.raises(ValueError, match="cell_model = 'fem'; allowed: p2d, 3d"):
        point_key(inputs, "ci", 0, (1.0,), "fem")


def test_contact_conductance_enters_each_solid_face_in_series():
    """A contact of G [S/m²] on a face of area h² adds 1/(G h²) to the face's two half-voxel
    resistance 1/(σ h) (AM–AM at 5e-3 S/m, 1 µm voxels, G = 100 S/m²)."""
    from physics.cell3d import HalfCell3D
    from physics.cell_params import CellParameters
    from physics.transport import ContactConductance

    micro = voxelize(toy_film(), 1.0, particle_ids=True)
    plain = HalfCell3D(micro, CellParameters())
    touched = HalfCell3D(micro, CellParameters(), contact=ContactConductance(100.0, 100.0))
    h = 1e-6
    am_face = 5e-3 * h
    with_contact = 1 / (1 / am_face + 1 / (100.0 * h * h))
    changed = touched.s_w < 0.999 * plain.s_w
    assert changed.any()
    assert np.any(np.isclose(touched.s_w[changed], with_contact, rtol=1e-9))


def test_a_stopped_discharge_resumes_from_its_checkpoint_as_if_never_stopped(tmp_path):
    """Issue: a long discharge can be stopped and resumed from its last saved step.  Stopped
    (KeyboardInterrupt from the progress callback) after 15 accepted steps, the same call
    with the same checkpoint file finishes the curve; it equals the uninterrupted run, and
    another run's checkpoint is not resumed."""
    from physics.cell3d import discharge_3d
    from physics.cell_params import CellParameters

    micro = lattice_image(3)
    params = CellParameters()
    options = {"sigma_am_s_m": 1e3, "sigma_cbd_s_m": 1e3, "steps": 60}
    whole = discharge_3d(micro, params, 2.0, **options)
    path = tmp_path / "run_checkpoint.npz"
    seen = []

    def stop_after_15(dod: float, voltage_v: float) -> None:
        seen.append(dod)
        if len(seen) == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        discharge_3d(micro, params, 2.0, checkpoint=path, checkpoint_every_s=0.0,
                     progress=stop_after_15, **options)
    assert path.is_file()
    resumed_at = []
    resumed = discharge_3d(micro, params, 2.0, checkpoint=path,
                           progress=lambda dod, v: resumed_at.append(dod), **options)
    assert resumed_at[0] == pytest.approx(seen[13])  # from the last saved step, not from 0
    assert len(resumed_at) == len(whole.newton_iterations) - 14 + 1
    assert not path.exists()  # removed at the end
    # equal within the Newton tolerance: the resumed run sets up a fresh preconditioner, so
    # its inexact Newton iterates stop at other points inside the tolerance (and the error
    # control's step sizes follow those voltages: ~4e-9 relative in the capacity)
    np.testing.assert_allclose(resumed.voltage_v, whole.voltage_v, rtol=0,
                               atol=2 * NEWTON_TOL_V)
    np.testing.assert_allclose(resumed.capacity_mah_g, whole.capacity_mah_g, rtol=1e-7)
    assert resumed.end_reason == whole.end_reason == "cut-off voltage"
    assert resumed.lithium_error < 1e-8  # Newton stops ~1e-9 from the charge balance
    # a checkpoint of another C-rate is ignored
    with pytest.raises(KeyboardInterrupt):
        seen.clear()
        discharge_3d(micro, params, 2.0, checkpoint=path, checkpoint_every_s=0.0,
                     progress=stop_after_15, **options)
    other = discharge_3d(micro, params, 3.0, checkpoint=path, **options)
    assert other.time_s[0] == 0.0 and len(other.time_s) > 15
