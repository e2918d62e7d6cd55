"""3-D blocking impedance on the voxel image (physics/impedance3d.py) against closed forms:
the voxel ladder of a straight pore (exact discrete solution), the continuum transmission
line (de Levie; Landesfeind et al. 2016) and τ = 1 of straight pores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.cli import main
from physics.impedance import tlm_blocking_impedance
from physics.impedance3d import BlockingCell3D, blocking_impedance_3d, charging_faces
from physics.voxel import AM, CBD, PORE

VOXEL_UM = 0.5


def straight_pore(n_side: int, pore: int, layers: int) -> np.ndarray:
    """AM box with one square pore of ``pore`` voxels through z."""
    img = np.full((n_side, n_side, layers), AM, dtype=np.uint8)
    lo = (n_side - pore) // 2
    img[lo:lo + pore, lo:lo + pore, :] = PORE
    return img


def ladder_impedance(freq_hz, layers: int, kappa: float, cap_f_per_m: float, n_cells: int,
                     h: float) -> np.ndarray:
    """Closed form of the voxel ladder of one 1-voxel pore: nodes at voxel centres, series
    conductance κ h between them and 2 κ h to the separator plane, shunt jω C per node."""
    out = []
    for f in freq_hz:
        jw = 2j * np.pi * f
        y = jw * cap_f_per_m
        for _ in range(layers - 1):
            y = jw * cap_f_per_m + 1 / (1 / kappa + 1 / y)
        y = 1 / (1 / (2 * kappa) + 1 / y)
        out.append(n_cells * h / y)
    return np.array(out)


def test_a_one_voxel_pore_is_its_exact_ladder_and_tau_is_one():
    layers, h = 64, VOXEL_UM * 1e-6
    cell = BlockingCell3D(electrolyte_conductivity_s_m=1.3, double_layer_f_m2=0.1)
    r = blocking_impedance_3d(straight_pore(3, 1, layers), VOXEL_UM, cell=cell)
    exact = ladder_impedance(r.freq_hz, layers, 1.3, 0.1 * h * 4, 9, h)
    assert np.max(np.abs(r.z_ohm_m2 - exact) / np.abs(exact)) < 1e-7
    # the continuum line: R_ion = L / (κ ε), C = C_dl × wall area per electrode area
    tlm = tlm_blocking_impedance(r.freq_hz, layers * h / (1.3 / 9), 0.1 * 4 * layers / 9)
    assert np.max(np.abs(r.z_ohm_m2 - tlm) / np.abs(tlm)) < 0.01  # resolved window
    assert r.tau_z == pytest.approx(1.0, rel=1e-9)
    assert r.tau_eis == pytest.approx(1.0, abs=0.005)
    assert r.tau_eis_low_frequency == pytest.approx(1.0, abs=0.005)
    assert r.fit.r_ion_ohm_m2 == pytest.approx(layers * h / (1.3 / 9), rel=0.005)
    assert r.charging_area_per_volume_um == pytest.approx(4 / 9 / VOXEL_UM)
    assert max(r.iterations) < 40


def test_a_wide_pore_with_lateral_gradients_still_reads_tau_one():
    """A 3×3 pore: only its rim voxels charge, so the potential varies across the pore, but
    at the frequencies the grid resolves the line is still one straight pore."""
    r = blocking_impedance_3d(straight_pore(7, 3, 40), VOXEL_UM)
    assert r.porosity == pytest.approx(9 / 49)
    assert r.tau_eis == pytest.approx(1.0, abs=0.01)
    assert r.tau_eis_low_frequency == pytest.approx(1.0, abs=0.01)
    assert r.fit.rms_relative_residual < 0.01


def test_an_image_without_pore_voxels_has_no_pore_tau():
    """CBD around an AM column: the CBD's nano-pores conduct and charge the AM's faces, but τ
    on the pore fraction (0) is undefined: NaN, not 0."""
    image = np.full((12, 4, 4), CBD, dtype=np.uint8)
    image[:, 1:3, 1:3] = AM
    r = blocking_impedance_3d(image, VOXEL_UM)
    assert r.porosity == 0.0
    assert np.isnan(r.tau_z) and np.isnan(r.tau_eis) and np.isnan(r.tau_eis_low_frequency)
    assert r.fit.r_ion_ohm_m2 > 0


def test_charging_faces_count_solid_surfaces_seen_by_the_electrolyte():
    img = np.array([[[PORE, AM, CBD, PORE]]], dtype=np.uint8).reshape(4, 1, 1)
    faces = charging_faces(img, np.ones(img.shape, dtype=bool))
    # pore|AM: the pore charges; AM|CBD: the CBD's electrolyte charges the AM; CBD|pore: the
    # pore charges the CBD surface; AM itself carries no electrolyte
    assert faces.ravel().tolist() == [1, 0, 1, 1]


def test_bad_inputs_name_the_field():
    with pytest.raises(ValueError, match="double_layer_f_m2 must be > 0"):
        BlockingCell3D(double_layer_f_m2=0.0)
    with pytest.raises(ValueError, match="cbd_porosity must lie in"):
        BlockingCell3D(cbd_porosity=1.0)
    closed = straight_pore(3, 1, 8)
    closed[:, :, -1] = AM  # the pore does not reach the separator
    with pytest.raises(ValueError, match="touches the separator side"):
        blocking_impedance_3d(closed, VOXEL_UM)
    with pytest.raises(ValueError, match="voxel_um must be > 0"):
        blocking_impedance_3d(straight_pore(3, 1, 8), -1.0)


def test_transport_cli_reports_the_3d_tau_eis(tmp_path, capsys):
    path = tmp_path / "pore.npy"
    np.save(path, straight_pore(3, 1, 24))
    assert main(["transport", str(path), "--voxel-um", "0.5", "--directions", "z", "--no-psd",
                 "--eis3d", "--out", str(tmp_path / "t"), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["eis3d"]["tau_eis_3d"] == pytest.approx(1.0, abs=0.01)
    assert out["eis3d"]["tau_z"] == pytest.approx(1.0, rel=1e-6)
    for name in ("pore_eis3d.csv", "pore_eis3d.png", "metrics.json"):
        assert (tmp_path / "t" / name).is_file()
    assert main(["transport", str(path), "--eis3d", "--double-layer-f-cm2", "0", "--quiet"]) == 2
    assert "--double-layer-f-cm2 must be > 0" in capsys.readouterr().err


def test_electrode_tortuosity_agrees_with_taufactor_electrode_solver():
    """TauFactor's ElectrodeSolver (Nguyen et al., npj Comput. Mater. 6 (2020) 123: the
    electrode tortuosity factor from the low-frequency limit of the blocking impedance) on a
    random sphere packing with solid side walls.  Its conventions, mapped here: the fixed
    plane one voxel out (end_offset_voxels = 1), the collector face charging, and τ_e
    normalized by N + 2 layers where the conduction length is N + 0.5."""
    tf = pytest.importorskip("taufactor")
    import torch

    from physics.transport import SolverSettings

    rng = np.random.default_rng(0)
    n, layers = 16, 32
    img = np.full((n, n, layers), PORE, dtype=np.uint8)
    x, y, z = np.meshgrid(np.arange(n), np.arange(n), np.arange(layers), indexing="ij")
    for _ in range(25):
        c, r = rng.uniform([0, 0, 0], [n, n, layers]), rng.uniform(2, 4)
        img[(x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 < r * r] = AM
    img[[0, -1], :, :] = AM
    img[:, [0, -1], :] = AM
    ours = blocking_impedance_3d(img, VOXEL_UM, cell=BlockingCell3D(collector_charges=True),
                                 settings=SolverSettings(end_offset_voxels=1.0))
    torch.set_num_threads(1)
    pore = np.moveaxis((img == PORE).astype(float), 2, 0)[::-1]  # plane at x = 0
    solver = tf.ElectrodeSolver(np.ascontiguousarray(pore), device="cpu")
    solver.solve(verbose=False)
    tau_e = ours.tau_eis_low_frequency * (layers + 0.5) / (layers + 2)
    assert tau_e == pytest.approx(float(solver.tau_e), rel=0.005)  # measured 0.11 %
    assert ours.tau_eis_low_frequency > 1.1 * ours.tau_z  # here the electrode τ exceeds τ_z
