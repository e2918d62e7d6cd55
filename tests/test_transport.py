"""Voxel transport: analytic media, Maxwell's dilute limit, TauFactor conventions, metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from physics.state import ParticleState
from physics.transport import (
    SolverSettings,
    diffusion_directions,
    electronic_conductivity,
    inscribed_radius,
    interface_area_per_volume_um,
    pore_size_distribution,
    solve_field,
    transport_properties,
)
from physics.voxel import AM, CBD, PORE, Microstructure, slab_porosity, voxelize

CBD_REL = 0.47 ** 1.5  # CBD diffusivity / D0 with the default nano-porosity


def sphere_image(n: int, radius: float, target: float, seed: int) -> np.ndarray:
    """Overlapping random solid (AM) spheres in an n³ pore box until the solid fraction
    reaches ``target``."""
    rng = np.random.default_rng(seed)
    img = np.zeros((n, n, n), np.uint8)
    grid = np.indices(img.shape).reshape(3, -1).T + 0.5
    while (img == AM).mean() < target:
        centre = rng.uniform(0, n, 3)
        img.reshape(-1)[((grid - centre) ** 2).sum(1) < radius ** 2] = AM
    return img


def test_uniform_medium_has_unit_tortuosity():
    micro = Microstructure(np.zeros((12, 9, 7), np.uint8), 0.25)
    for name, d in diffusion_directions(micro).items():
        assert d.tortuosity == pytest.approx(1.0, abs=1e-9), name
        assert d.d_eff_m2_s == pytest.approx(7.5e-11, rel=1e-9)


def test_series_and_parallel_layers_are_harmonic_and_arithmetic_means():
    """Pore and CBD layers stacked along z: series along z, parallel along x and y, exact to
    the solver tolerance (the discrete scheme is exact for layered media)."""
    img = np.zeros((10, 8, 24), np.uint8)
    img[:, :, 5:9] = CBD
    img[:, :, 15:22] = CBD
    micro = Microstructure(img, 0.25)
    res = diffusion_directions(micro)
    frac_cbd = 11 / 24
    series = 1.0 / ((1 - frac_cbd) / 1.0 + frac_cbd / CBD_REL)
    parallel = (1 - frac_cbd) + frac_cbd * CBD_REL
    assert res["z"].d_eff_m2_s / 7.5e-11 == pytest.approx(series, rel=1e-7)
    assert res["x"].d_eff_m2_s / 7.5e-11 == pytest.approx(parallel, rel=1e-7)
    assert res["y"].d_eff_m2_s / 7.5e-11 == pytest.approx(parallel, rel=1e-7)
    eps = micro.porosity
    assert res["z"].tortuosity == pytest.approx(eps / series, rel=1e-7)
    assert res["z"].macmullin == pytest.approx(1 / series, rel=1e-7)


def test_straight_channel_and_blocked_direction():
    """A square pore channel along x through AM: τ_x = 1, D_eff = ε D0; y and z do not
    percolate and report τ = inf, D_eff = 0."""
    img = np.full((20, 11, 11), AM, np.uint8)
    img[:, 4:7, 3:8] = PORE
    res = diffusion_directions(Microstructure(img, 0.25))
    eps = 15 / 121
    assert res["x"].percolates and res["x"].tortuosity == pytest.approx(1.0, abs=1e-9)
    assert res["x"].d_eff_m2_s == pytest.approx(eps * 7.5e-11, rel=1e-9)
    for name in "yz":
        assert not res[name].percolates
        assert res[name].tortuosity == math.inf and res[name].d_eff_m2_s == 0.0


def test_dilute_insulating_spheres_follow_maxwell():
    """Non-overlapping insulating spheres (radius 5 voxels, volume fraction 0.058) in a
    conducting matrix: Maxwell, D_eff/D0 = (1 - φ) / (1 + φ / 2), within 1.5 %.  The voxel
    staircase makes a sphere a slightly stronger obstacle: measured -1.2 % at radius 5,
    -0.8 % at 8, -0.6 % at 10 voxels (same φ); the O(φ²) term is ~0.1 % here."""
    rng = np.random.default_rng(3)
    n, r = 60, 5.0
    img = np.zeros((n, n, n), np.uint8)
    grid = np.indices(img.shape).reshape(3, -1).T + 0.5
    centres: list[np.ndarray] = []
    while len(centres) < 24:
        c = rng.uniform(r + 1, n - r - 1, 3)
        if all(np.linalg.norm(c - o) > 2 * r + 2 for o in centres):
            centres.append(c)
            img.reshape(-1)[((grid - c) ** 2).sum(1) < r * r] = AM
    phi = float((img == AM).mean())
    maxwell = (1 - phi) / (1 + phi / 2)
    res = diffusion_directions(Microstructure(img, 0.25))
    for name, d in res.items():
        assert d.d_eff_m2_s / 7.5e-11 == pytest.approx(maxwell, rel=0.015), name


def test_three_phase_direction_properties_and_percolation():
    img = sphere_image(40, 5.0, 0.5, seed=1)
    img[(img == PORE) & (np.random.default_rng(2).random(img.shape) < 0.15)] = CBD
    micro = Microstructure(img, 0.25)
    with_cbd = diffusion_directions(micro)
    pore_only = diffusion_directions(micro, cbd_porosity=0.0)
    for name in "xyz":  # conducting CBD opens paths: lower tortuosity
        assert with_cbd[name].tortuosity < pore_only[name].tortuosity
    sigma = electronic_conductivity(micro, "xyz", sigma_am_s_m=5e-3, sigma_cbd_s_m=10.0)
    for s in sigma.values():
        assert s.percolates and 0 < s.k_eff < 10.0


def test_high_contrast_and_necked_networks_converge():
    """AM at 5e-3 S/m with CBD at 10 S/m (contrast 2000) and an AM-only network joined by
    voxel necks: the deflated solve converges and conserves flux (in = out)."""
    state = ParticleState.load("tests/data/dried_ci_seed0.npz")
    micro = voxelize(state, 0.5)
    for values in ((0.0, 5e-3, 10.0), (0.0, 1.0, 0.0)):
        cond = np.asarray(values)[micro.image]
        sol = solve_field(cond, 2, SolverSettings(max_iterations=150))
        assert sol.residual <= 1e-8
        if sol.percolates:
            assert sol.flux_in == pytest.approx(sol.flux_out, rel=1e-6)


def test_voxelized_porosity_matches_the_particle_porosity():
    state = ParticleState.load("tests/data/dried_ci_seed0.npz")
    micro = voxelize(state, 0.25)
    z0 = float(state.wall_z_um[state.wall_side > 0].max())
    analytic = slab_porosity(state, (z0, z0 + micro.shape[2] * micro.voxel_um))
    assert abs(micro.porosity - analytic) < 0.01
    assert micro.voxel_um == pytest.approx(state.box_len_um[0] / micro.shape[0])
    fr = micro.phase_fractions()
    assert fr["AM"] > fr["CBD"] > 0


def test_voxelize_wraps_periodic_x_and_paints_am_over_cbd():
    from physics.state import AM_SPECIES, CBD_SPECIES

    state = ParticleState(
        position_um=np.array([[0.2, 2.5, 2.5], [0.2, 2.5, 2.5]]),
        radius_um=np.array([1.0, 0.5]), species=np.array([CBD_SPECIES, AM_SPECIES]),
        mass_pg=np.array([4 / 3 * math.pi, 4 / 3 * math.pi * 0.125]),
        density_g_cm3=np.array([1.0, 1.0]), box_lo_um=np.zeros(3),
        box_hi_um=np.full(3, 5.0), periodic=np.array([True, True, False]),
        wall_z_um=np.array([0.0, 5.0]), wall_side=np.array([1, -1]))
    micro = voxelize(state, 0.1)
    img = micro.image
    assert img[-4, 25, 25] == CBD  # x = 4.65: wrapped across x = 0
    assert img[-1, 25, 25] == AM  # x = 4.95: 0.25 from the AM centre at 0.2 - 5
    assert img[1, 25, 25] == AM  # AM wins where both overlap
    n_cbd = int((img == CBD).sum()) + int((img == AM).sum())
    assert n_cbd * 0.1 ** 3 == pytest.approx(4 / 3 * math.pi, rel=0.03)


def test_particle_ids_split_overlapping_am_by_depth():
    """Two overlapping AM spheres (radii 1.0 and 0.6 µm, centres 1.2 µm apart) and a CBD
    sphere: every AM voxel carries the particle it lies deepest in, nothing else does."""
    from physics.state import AM_SPECIES, CBD_SPECIES

    state = ParticleState(
        position_um=np.array([[2.0, 2.5, 2.5], [3.2, 2.5, 2.5], [2.5, 2.5, 4.2]]),
        radius_um=np.array([1.0, 0.6, 0.5]),
        species=np.array([AM_SPECIES, AM_SPECIES, CBD_SPECIES]),
        mass_pg=4 / 3 * math.pi * np.array([1.0, 0.216, 0.125]),
        density_g_cm3=np.ones(3), box_lo_um=np.zeros(3), box_hi_um=np.full(3, 5.0),
        periodic=np.array([True, True, False]), wall_z_um=np.array([0.0, 5.0]),
        wall_side=np.array([1, -1]))
    micro = voxelize(state, 0.05, z_range_um=(0.0, 5.0), particle_ids=True)
    ids = micro.am_ids
    assert np.array_equal(ids >= 0, micro.image == AM) and set(np.unique(ids)) == {-1, 0, 1}
    x = (np.arange(micro.shape[0]) + 0.5) * micro.voxel_um
    row = ids[:, 50, 50]
    # along the line of centres the split is where the depths are equal:
    # 1 - (x - 2) = 0.6 - (3.2 - x)  ->  x = 2.8
    assert np.all(row[(x > 1.05) & (x < 2.78)] == 0) and np.all(row[(x > 2.82) & (x < 3.75)] == 1)
    small = float((ids == 1).sum()) * micro.voxel_um ** 3
    assert small < 4 / 3 * math.pi * 0.6 ** 3  # it loses its overlap with the larger one
    assert voxelize(state, 0.05, z_range_um=(0.0, 5.0)).am_ids is None
    with pytest.raises(ValueError, match="am_ids must have the image's shape"):
        Microstructure(micro.image.copy(), micro.voxel_um, am_ids=np.zeros((2, 2, 2), np.int32))


@pytest.mark.parametrize("axis", [0, 2])
def test_contact_resistances_add_in_series(axis):
    """A bar of two AM particles and a CBD block in series along ``axis``: the effective
    conductivity is L over the sum of the bulk resistances and the two contact resistances
    (the AM-AM face between different particles, the AM-CBD face), per area."""
    from physics.transport import ContactConductance, electronic_conductivity

    n, h = 30, 0.5e-6
    shape = [2, 3, 2]
    shape[axis] = n
    img = np.full(shape, AM, dtype=np.uint8)
    ids = np.zeros(shape, dtype=np.int32)
    along = np.arange(n).reshape([-1 if a == axis else 1 for a in range(3)])
    ids[...] = np.where(along >= 10, 1, 0)
    img[...] = np.where(along >= 20, CBD, AM)
    ids[img == CBD] = -1
    micro = Microstructure(img, h * 1e6, am_ids=ids)
    s_am, s_cbd, g_aa, g_ac = 5e-3, 10.0, 2e3, 5e3
    name = "xyz"[axis]
    sol = electronic_conductivity(micro, name, s_am, s_cbd,
                                  contact=ContactConductance(g_aa, g_ac))[name]
    resistance = 20 * h / s_am + 10 * h / s_cbd + 1 / g_aa + 1 / g_ac
    assert sol.k_eff == pytest.approx(n * h / resistance, rel=1e-8)
    plain = electronic_conductivity(micro, name, s_am, s_cbd)[name]
    assert plain.k_eff == pytest.approx(n * h / (20 * h / s_am + 10 * h / s_cbd), rel=1e-8)
    with pytest.raises(ValueError, match="needs the AM particle of each voxel"):
        electronic_conductivity(Microstructure(img, 0.5), name, contact=ContactConductance(1.0))
    with pytest.raises(ValueError, match="am_cbd_s_m2 must be a contact conductance > 0"):
        ContactConductance(am_cbd_s_m2=0.0)


def test_transport_cli_takes_contact_conductances(tmp_path, capsys):
    from experiments.cli import main

    base = ["transport", "tests/data/dried_ci_seed0.npz", "--voxel-um", "1.0", "--directions",
            "z", "--no-psd", "--json", "--quiet"]
    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out)["sigma_eff_z_s_m"]
    assert main([*base, "--contact-am-am-s-m2", "1e3", "--contact-am-cbd-s-m2", "1e4"]) == 0
    assert 0 < json.loads(capsys.readouterr().out)["sigma_eff_z_s_m"] < 0.9 * plain
    np.save(tmp_path / "x.npy", np.full((4, 4, 8), AM, dtype=np.uint8))
    assert main(["transport", str(tmp_path / "x.npy"), "--contact-am-am-s-m2", "1"]) == 2
    assert "needs the AM particle of each voxel" in capsys.readouterr().err


def test_interface_area_of_a_sphere():
    n, r = 48, 14.0
    grid = np.indices((n, n, n)) + 0.5
    img = np.where(((grid - n / 2) ** 2).sum(0) < r * r, AM, PORE).astype(np.uint8)
    area = interface_area_per_volume_um(img, AM, PORE, 1.0) * n ** 3
    assert area == pytest.approx(4 * math.pi * r * r, rel=0.05)


def test_pore_size_distribution_of_slit_pores():
    """Slits 8 voxels wide: the local thickness is 8 voxels everywhere, so half the pore volume
    lies below and half above ~8 voxels (within one voxel)."""
    img = np.full((32, 32, 40), AM, np.uint8)
    for z0 in (4, 20):
        img[:, :, z0:z0 + 8] = PORE
    psd = pore_size_distribution(img, 0.5)
    assert psd.cumulative_fraction[0] == 1.0
    assert np.all(np.diff(psd.cumulative_fraction) <= 0)
    assert psd.d50_um == pytest.approx(8 * 0.5, abs=0.5)


def test_conducting_cbd_reports_tau_on_the_conducting_fraction():
    """Pore and CBD half-spaces side by side (y < 4 CBD): along x and z each column is one
    phase, so D_eff is the arithmetic mean; τ on the pore fraction is then 0.5 / 0.661 = 0.756
    (< 1, the issue's case) and the conducting-phase τ (TauFactor MultiPhaseSolver) is 1.
    Along y the two are in series: harmonic mean, the pore voxels alone do not span."""
    img = np.zeros((10, 8, 12), np.uint8)
    img[:, :4, :] = CBD
    props = transport_properties(Microstructure(img, 0.25), directions="xyz", psd=False)
    s = props.summary()
    eps, phi = 0.5, 0.5
    parallel = eps + phi * CBD_REL
    series = 1.0 / (eps + phi / CBD_REL)
    assert s["conducting_fraction"] == pytest.approx(parallel, rel=1e-12)
    for name in "xz":
        assert s[f"tau_{name}"] == pytest.approx(eps / parallel, rel=1e-7)
        assert s[f"tau_{name}"] == pytest.approx(0.7563, abs=1e-4)
        assert s[f"tau_conducting_{name}"] == pytest.approx(1.0, rel=1e-7)
        assert s[f"pore_percolates_{name}"] and s[f"electrolyte_percolates_{name}"]
    assert s["tau_y"] == pytest.approx(eps / series, rel=1e-7)
    assert s["tau_conducting_y"] == pytest.approx(parallel / series, rel=1e-7)
    assert not s["pore_percolates_y"] and s["electrolyte_percolates_y"]
    assert "pore voxels only" in s["tau_definition"]
    assert any("tau_<d> < 1 along x, z" in w for w in s["warnings"])
    assert any("alone do not join the end planes along y" in w for w in s["warnings"])
    # insulating CBD: one τ, and the pore phase alone carries the flux
    pore_only = diffusion_directions(Microstructure(img, 0.25), "x", cbd_porosity=0.0)["x"]
    assert pore_only.tortuosity == pore_only.tortuosity_conducting == pytest.approx(1.0)


def test_image_without_pore_voxels_is_flagged():
    """All CBD: ions cross through the CBD (D_eff = D0 · 0.47^1.5) but there is no pore
    phase: τ on the pore fraction is NaN (it gave 0 with pore_percolates true), the pore phase
    does not percolate, and the conducting-phase τ is 1."""
    micro = Microstructure(np.full((8, 6, 10), CBD, np.uint8), 0.25)
    s = transport_properties(micro, directions="xyz").summary()
    for name in "xyz":
        assert math.isnan(s[f"tau_{name}"])
        assert s[f"pore_percolates_{name}"] is False
        assert s[f"electrolyte_percolates_{name}"] is True
        assert s[f"tau_conducting_{name}"] == pytest.approx(1.0, rel=1e-9)
        assert s[f"d_eff_{name}_m2_s"] == pytest.approx(CBD_REL * 7.5e-11, rel=1e-9)
    assert math.isnan(s["pore_d50_um"]) and math.isnan(s["pore_mean_diameter_um"])
    assert any(w.startswith("no pore voxels") for w in s["warnings"])
    json.dumps(s)
    # insulating CBD or all AM: nothing conducts, τ = inf (TauFactor's non-percolating value)
    for img, cbd_porosity in ((micro.image, 0.0), (np.full((8, 6, 10), AM, np.uint8), 0.47)):
        d = diffusion_directions(Microstructure(img, 0.25), "z", cbd_porosity=cbd_porosity)["z"]
        assert d.tortuosity == d.tortuosity_conducting == math.inf
        assert not d.percolates and not d.pore_percolates and d.d_eff_m2_s == 0.0


def test_all_pore_image_has_unit_tau_and_box_limited_pore_size():
    """An all-pore 6 × 7 × 8 µm image: τ = 1 in every direction; no solid bounds any ball, so
    the pore size is capped at the smallest edge, 6 µm (it read 27 µm on an 8 µm cube), and
    flagged; one AM voxel in a corner leaves the sizes capped and flagged too."""
    img = np.zeros((24, 28, 32), np.uint8)
    s = transport_properties(Microstructure(img, 0.25), directions="xyz").summary()
    for name in "xyz":
        assert s[f"tau_{name}"] == pytest.approx(1.0, abs=1e-9)
        assert s[f"tau_conducting_{name}"] == pytest.approx(1.0, abs=1e-9)
    assert s["pore_d50_um"] == pytest.approx(6.0) and s["pore_mean_diameter_um"] == \
        pytest.approx(6.0)
    assert s["pore_size_limited_by_box"] and s["pore_size_box_limited_fraction"] == 1.0
    assert any("lower bounds" in w for w in s["warnings"])
    json.dumps(s)  # plain Python types (the CLI's --json)
    img = img.copy()
    img[0, 0, 0] = AM
    psd = pore_size_distribution(img, 0.25)
    assert psd.limited_by_box and psd.diameter_um.max() <= 6.0 + 1e-12
    assert psd.d50_um <= 6.0 + 1e-12


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 6])
def test_local_thickness_of_a_slit_and_a_channel_is_their_width(width):
    """A slit (along x and y) and a square channel (along x) ``width`` voxels wide in AM: local
    thickness ``width`` voxels for every width (the voxel-centre distance map gave width + 1
    for odd widths: a 1-voxel channel read 2 voxels, 0.5 µm at 0.25 µm voxels).  The slit is
    one size throughout; the channel's inscribed disk holds most of it (π/4 of the square)
    and its corners are thinner, so its median is the width and its mean at most that."""
    slit = np.full((12, 12, width + 8), AM, np.uint8)
    slit[:, :, 4:4 + width] = PORE
    psd = pore_size_distribution(slit, 0.25)
    assert psd.d50_um == pytest.approx(0.25 * width, rel=1e-12)
    assert psd.mean_diameter_um == pytest.approx(0.25 * width, rel=1e-12)
    assert psd.cumulative_fraction[-1] == 1.0 and not psd.limited_by_box
    channel = np.full((12, width + 8, width + 8), AM, np.uint8)
    channel[:, 4:4 + width, 4:4 + width] = PORE
    psd = pore_size_distribution(channel, 0.25)
    assert psd.d50_um == pytest.approx(0.25 * width, rel=1e-12)
    assert 0.25 * (width - 1) < psd.mean_diameter_um <= 0.25 * width + 1e-12
    assert np.all(np.diff(psd.cumulative_fraction) <= 0) and not psd.limited_by_box


def test_inscribed_radius_is_the_distance_map_of_the_refined_image():
    """The separable sub-lattice passes equal scipy's distance map of the image upsampled 2×
    in every axis, max-pooled over each voxel's 8 sub-voxels and halved."""
    from scipy import ndimage

    pore = np.random.default_rng(4).random((9, 7, 11)) < 0.8
    pore[0, 0, 0] = False
    fine = ndimage.distance_transform_edt(pore.repeat(2, 0).repeat(2, 1).repeat(2, 2))
    ref = fine.reshape(9, 2, 7, 2, 11, 2).max(axis=(1, 3, 5)) / 2
    assert np.array_equal(inscribed_radius(pore), np.where(pore, ref, 0.0))
    assert np.all(np.isinf(inscribed_radius(np.ones((3, 4, 5), bool))))


def test_transport_properties_summary_on_a_structure():
    state = ParticleState.load("tests/data/dried_ci_seed0.npz")
    props = transport_properties(voxelize(state, 0.5), directions="z")
    s = props.summary()
    assert s["percolates"] and s["pore_percolates_z"]
    assert 1.0 < s["tau_z"] < 3.0
    assert s["d_eff_z_m2_s"] == pytest.approx(s["porosity"] * 7.5e-11 / s["tau_z"])
    assert 0 < s["sigma_eff"] < 10.0
    assert props.slice_fractions.shape == (props.shape[2], 3)
    assert np.allclose(props.slice_fractions.sum(1), 1.0)
    assert s["am_pore_area_per_volume_um"] > 0


@pytest.mark.parametrize(("image", "match"), [
    (np.zeros((4, 4, 4), np.float64), "dtype must be uint8"),
    (np.full((4, 4, 4), 7, np.uint8), "unknown phase labels"),
    (np.zeros((4, 4), np.uint8), "3-D array"),
])
def test_bad_images_are_refused(image, match):
    with pytest.raises(ValueError, match=match):
        Microstructure(image, 0.25)


def test_bad_parameters_are_refused():
    micro = Microstructure(np.zeros((4, 4, 4), np.uint8), 0.25)
    with pytest.raises(ValueError, match="cbd_porosity"):
        diffusion_directions(micro, cbd_porosity=1.2)
    with pytest.raises(ValueError, match="directions"):
        diffusion_directions(micro, directions="xw")
    with pytest.raises(ValueError, match="voxel_um"):
        Microstructure(np.zeros((4, 4, 4), np.uint8), -1.0)


def test_film_porosity_moves_continuously_with_the_film_top():
    """Non-overlapping spheres under a ceiling at heights spanning three voxel layers: the film's
    pore fraction (partial-volume top layer) follows the exact 1 - V_spheres / V_film within
    0.004 at every height, while the round(thickness / edge)-layer image's steps by the
    layer it adds or drops; and the film summary restates τ on the film's porosity."""
    from physics.state import AM_SPECIES
    from physics.transport import film_summary
    from physics.voxel import film_phase_fractions

    rng = np.random.default_rng(3)
    centres, radius = [], 0.45
    while len(centres) < 60:  # random sequential addition in a 5 x 5 x 3.5 µm slab
        c = rng.uniform([0, 0, radius], [5, 5, 3.5 - radius])
        if all(np.linalg.norm(np.r_[(c[:2] - o[:2] + 2.5) % 5 - 2.5, c[2] - o[2]])
               > 2 * radius for o in centres):
            centres.append(c)
    n = len(centres)
    solid_um3 = n * 4 / 3 * math.pi * radius ** 3
    film, image = [], []
    tops = np.linspace(3.5, 3.8, 13)  # three layers of 0.1 µm
    for top in tops:
        state = ParticleState(
            position_um=np.array(centres), radius_um=np.full(n, radius),
            species=np.full(n, AM_SPECIES), mass_pg=np.full(n, 4 / 3 * math.pi * radius ** 3),
            density_g_cm3=np.ones(n), box_lo_um=np.zeros(3), box_hi_um=np.array([5, 5, 5.0]),
            periodic=np.array([True, True, False]), wall_z_um=np.array([0.0, top]),
            wall_side=np.array([1, -1]))
        fr = film_phase_fractions(state, 0.1)
        assert fr["pore"] + fr["AM"] + fr["CBD"] == pytest.approx(1.0)
        assert fr["pore"] == pytest.approx(1 - solid_um3 / (25 * top), abs=0.004)
        film.append(fr["pore"])
        image.append(voxelize(state, 0.1).porosity)
    assert np.all(np.diff(film) > 0)  # more headspace, more pore: never a step back
    exact = 1 - solid_um3 / (25 * tops)
    assert np.max(np.abs(np.array(image) - exact)) > 2 * np.max(np.abs(np.array(film) - exact))
    restated = film_summary({"porosity": 0.30, "tau_z": 2.0, "tau_x": math.inf,
                             "fraction_pore": 0.30, "fraction_AM": 0.6, "fraction_CBD": 0.1},
                            {"pore": 0.33, "AM": 0.58, "CBD": 0.09})
    assert restated["porosity"] == 0.33 and restated["porosity_image"] == 0.30
    assert restated["tau_z"] == pytest.approx(2.2) and restated["tau_x"] == math.inf
    assert restated["fraction_AM"] == 0.58
