"""File formats in and out (physics/formats/): LAMMPS data and dump files, TIFF stacks, .raw
volumes, VTK ImageData; ``etwin convert`` and the image files of ``etwin transport``."""

import itertools
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from experiments.cli import main
from physics.formats import RawSpec, read_image, read_particles
from physics.formats.images import (
    _read_tiff_numpy,
    apply_labels,
    parse_labels,
    read_raw,
    read_tiff_stack,
    write_raw,
    write_tiff_stack,
)
from physics.formats.lammps import (
    read_lammps_data,
    read_lammps_dump,
    write_lammps_data,
    write_lammps_dump,
)
from physics.formats.vtk import read_vti, write_vti
from physics.state import ParticleState

DRIED = "tests/data/dried_ci_seed0.npz"


@pytest.fixture(scope="module")
def dried() -> ParticleState:
    return ParticleState.load(DRIED)


def _layered_image() -> np.ndarray:
    """16 x 16 x 24: a CBD layer across z, an AM pillar through the film, pores elsewhere."""
    img = np.zeros((16, 16, 24), np.uint8)
    img[:, :, 8:12] = 2
    img[4:8, 4:8, :] = 1
    return img


def _assert_same_state(a: ParticleState, b: ParticleState, rtol: float) -> None:
    np.testing.assert_allclose(b.position_um, a.position_um, rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(b.radius_um, a.radius_um, rtol=rtol)
    np.testing.assert_allclose(b.mass_pg, a.mass_pg, rtol=1e-14)
    np.testing.assert_array_equal(b.density_g_cm3, a.density_g_cm3)
    np.testing.assert_array_equal(b.species, a.species)
    np.testing.assert_allclose(b.box_lo_um, a.box_lo_um, rtol=rtol)
    np.testing.assert_allclose(b.box_hi_um, a.box_hi_um, rtol=rtol)
    np.testing.assert_array_equal(b.periodic, a.periodic)


# ----------------------------------------------------------------------------- LAMMPS
@pytest.mark.parametrize("units,rtol", [("si", 1e-15), ("micro", 0.0)])
def test_lammps_data_round_trip(dried, tmp_path, units, rtol):
    path = write_lammps_data(dried, tmp_path / "dried.data", units=units)
    back = read_lammps_data(path)
    _assert_same_state(dried, back, rtol)
    np.testing.assert_array_equal(back.wall_z_um, dried.wall_z_um)
    np.testing.assert_array_equal(back.wall_side, dried.wall_side)
    assert back.meta == dried.meta
    lines = path.read_text().splitlines()
    assert max(len(line) for line in lines) < 256  # LIGGGHTS' line buffer
    assert f"{dried.n} atoms" in lines and "2 atom types" in lines
    assert any(line.startswith("# boundary p p f") for line in lines)
    # the density column makes LAMMPS's mass (density π d³ / 6) the engine's mass
    first = lines[lines.index("Atoms") + 2].split()
    scale = {"si": (1e6, 1e-3), "micro": (1.0, 1.0)}[units]
    d_um, rho = float(first[2]) * scale[0], float(first[3]) * scale[1]
    assert first[:2] == ["1", str(int(dried.species[0]) + 1)]
    assert rho * math.pi / 6 * d_um ** 3 == pytest.approx(dried.mass_pg[0], rel=1e-14)


LIGGGHTS_DATA = """LIGGGHTS data file: three spheres (written by hand)
# units micro, like benchmarks/liggghts/bench.in

3 atoms
4 atom types

0 20 xlo xhi
0 20 ylo yhi
-1 30 zlo zhi

Atoms # granular

2 2 1.3 0.95 10 10 2.5
1 1 5.0 4.65 5.0 6.0 7.0 0 0 0
3 1 10 4.65 15 15 15

Velocities

1 0 0 0 0 0 0
2 0 0 0 0 0 0
3 0 0 0 0 0 0
"""


def test_a_liggghts_granular_data_file_is_read(tmp_path):
    path = tmp_path / "three.data"
    path.write_text(LIGGGHTS_DATA)
    state = read_lammps_data(path, units="micro")
    np.testing.assert_array_equal(state.species, [0, 1, 0])  # id order; type = species + 1
    np.testing.assert_array_equal(state.radius_um, [2.5, 0.65, 5.0])
    np.testing.assert_array_equal(state.position_um, [[5, 6, 7], [10, 10, 2.5], [15, 15, 15]])
    np.testing.assert_allclose(state.mass_pg, [4.65 * math.pi / 6 * 125,
                                               0.95 * math.pi / 6 * 1.3 ** 3,
                                               4.65 * math.pi / 6 * 1000], rtol=1e-14)
    np.testing.assert_array_equal(state.density_g_cm3, [4.65, 0.95, 4.65])
    np.testing.assert_array_equal(state.box_lo_um, [0, 0, -1])
    np.testing.assert_array_equal(state.box_hi_um, [20, 20, 30])
    np.testing.assert_array_equal(state.periodic, [True, True, False])
    # the same numbers in SI (m, kg/m³), the default units
    si = LIGGGHTS_DATA.replace("1.3 0.95 10 10 2.5", "1.3e-6 950 1e-5 1e-5 2.5e-6")
    path.write_text(si.replace("5.0 4.65 5.0 6.0 7.0", "5e-6 4650 5e-6 6e-6 7e-6")
                    .replace("10 4.65 15 15 15", "1e-5 4650 1.5e-5 1.5e-5 1.5e-5")
                    .replace("0 20 ", "0 2e-5 ").replace("-1 30", "-1e-6 3e-5"))
    again = read_lammps_data(path, material_density_g_cm3=[4.65, 0.95, 1.0, 1.0])
    _assert_same_state(state, again, 1e-15)


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("3 atoms", "4 atoms"), "declares 4 atoms"),
    (lambda t: t.replace("10 10 2.5", "10 10"), "has 7 columns"),
    (lambda t: t.replace("Atoms # granular", "Atoms # atomic"), "is not granular/sphere"),
    (lambda t: t.replace("-1 30 zlo zhi", "-1 30 zlo zhi\n0.5 0 0 xy xz yz"), "triclinic"),
    (lambda t: t.replace("0 20 ylo yhi\n", ""), "no box bounds for ylo"),
    (lambda t: "garbage\nnot a data file\n", "no 'N atoms' header line"),
    (lambda t: t.replace("15 15 15", "15 x 15"), "not a number"),
])
def test_bad_lammps_data_files(tmp_path, edit, message):
    path = tmp_path / "bad.data"
    path.write_text(edit(LIGGGHTS_DATA))
    with pytest.raises(ValueError, match=message):
        read_lammps_data(path, units="micro")
    with pytest.raises(FileNotFoundError, match="no such LAMMPS data file"):
        read_lammps_data(tmp_path / "missing.data")


def test_lammps_dump_round_trip(dried, tmp_path):
    moved = ParticleState(**{**{k: getattr(dried, k) for k in (
        "radius_um", "species", "mass_pg", "density_g_cm3", "box_lo_um", "box_hi_um",
        "periodic")}, "position_um": dried.position_um + 0.5})
    path = write_lammps_dump([dried, moved], tmp_path / "traj.lammpstrj", timesteps=[0, 500])
    text = path.read_text()
    assert text.startswith("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2002\n"
                           "ITEM: BOX BOUNDS pp pp ff\n")
    assert "ITEM: ATOMS id type x y z radius mass material_density" in text
    frames = read_lammps_dump(path)
    assert [f.timestep for f in frames] == [0, 500]
    for frame, state in zip(frames, (dried, moved), strict=True):
        _assert_same_state(state, frame.to_state(), 1e-15)
    # micro units and one state; read_particles picks the frame
    write_lammps_dump(dried, tmp_path / "one.dump", units="micro")
    _assert_same_state(dried, read_particles(tmp_path / "one.dump", units="micro"), 0.0)


def test_a_dump_of_another_program(tmp_path):
    """A LIGGGHTS-style dump with ITEM: UNITS, scaled coordinates and no mass column."""
    path = tmp_path / "liggghts.dump"
    path.write_text("ITEM: UNITS\nmicro\nITEM: TIMESTEP\n1000\nITEM: NUMBER OF ATOMS\n2\n"
                    "ITEM: BOX BOUNDS pp pp fm\n0 10\n0 10\n0 20\n"
                    "ITEM: ATOMS id type xs ys zs vx vy vz diameter\n"
                    "7 2 0.5 0.5 0.25 0 0 0 1.3\n3 1 0.1 0.2 0.5 0 0 0 5\n")
    (frame,) = read_lammps_dump(path, units="si")  # ITEM: UNITS wins
    np.testing.assert_array_equal(frame.ids, [3, 7])
    np.testing.assert_allclose(frame.position_um, [[1, 2, 10], [5, 5, 5]])
    np.testing.assert_array_equal(frame.radius_um, [2.5, 0.65])
    np.testing.assert_array_equal(frame.periodic, [True, True, False])
    with pytest.raises(ValueError, match="no mass, density or material_density column"):
        frame.to_state()
    state = frame.to_state(material_density_g_cm3=[4.65, 0.95])
    np.testing.assert_allclose(state.mass_pg, [4.65 * math.pi / 6 * 125,
                                               0.95 * math.pi / 6 * 1.3 ** 3], rtol=1e-14)
    path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")  # one atom line missing
    with pytest.raises(ValueError, match="declares 2 atoms, the file holds 1"):
        read_lammps_dump(path)


@pytest.mark.skipif(not any(shutil.which(b) for b in ("lmp", "lmp_serial", "liggghts")),
                    reason="no LAMMPS (lmp, lmp_serial) or LIGGGHTS binary installed")
def test_lammps_reads_the_written_data_file(dried, tmp_path):
    binary = next(b for b in ("liggghts", "lmp_serial", "lmp") if shutil.which(b))
    write_lammps_data(dried, tmp_path / "dried.data", units="micro")
    style = "granular" if binary == "liggghts" else "sphere"
    (tmp_path / "in.read").write_text(
        f"units micro\natom_style {style}\natom_modify map array\nboundary p p f\n"
        f"read_data dried.data\nrun 0\n")
    out = subprocess.run([binary, "-in", "in.read", "-log", "none"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"{dried.n} atoms" in out.stdout


# ----------------------------------------------------------------------------- images
def test_raw_round_trip_and_size_check(tmp_path):
    img = np.random.default_rng(1).integers(0, 60000, (5, 4, 3)).astype(np.uint16)
    for order in ("F", "C"):
        write_raw(tmp_path / "v.raw", img, order)
        np.testing.assert_array_equal(read_raw(tmp_path / "v.raw", (5, 4, 3), "uint16", order),
                                      img)
    # F: x varies fastest (the imaging tools' layout)
    write_raw(tmp_path / "f.raw", img, "F")
    flat = np.fromfile(tmp_path / "f.raw", dtype="<u2")
    assert flat[1] == img[1, 0, 0] and flat[5] == img[0, 1, 0]
    big = tmp_path / "be.raw"
    img.astype(">u2").tofile(big)  # C order, big-endian
    np.testing.assert_array_equal(read_raw(big, (5, 4, 3), "uint16be", "C"), img)
    with pytest.raises(ValueError, match=r"holds 120 bytes \(60 uint16 values\), shape 5x4x4 "
                                         r"of uint16 needs 160"):
        read_raw(tmp_path / "f.raw", (5, 4, 4), "uint16")
    with pytest.raises(ValueError, match="raw dtype 'float' is unknown"):
        read_raw(tmp_path / "f.raw", (5, 4, 3), "float")
    with pytest.raises(FileNotFoundError):
        read_raw(tmp_path / "missing.raw", (5, 4, 3))


def test_tiff_stack_round_trip_with_and_without_tifffile(tmp_path, monkeypatch):
    img = _layered_image()
    path = write_tiff_stack(tmp_path / "img.tif", img, voxel_um=0.25)
    np.testing.assert_array_equal(read_tiff_stack(path), img)
    np.testing.assert_array_equal(np.transpose(_read_tiff_numpy(path), (2, 1, 0)), img)
    with monkeypatch.context() as m:  # without tifffile: the numpy reader
        m.setitem(sys.modules, "tifffile", None)
        np.testing.assert_array_equal(read_tiff_stack(path), img)
    odd = np.random.default_rng(2).integers(0, 3, (3, 3, 5), dtype=np.uint8)  # odd page bytes
    write_tiff_stack(tmp_path / "odd.tiff", odd)
    np.testing.assert_array_equal(np.transpose(_read_tiff_numpy(tmp_path / "odd.tiff"),
                                               (2, 1, 0)), odd)
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(path) as tif:  # the pages as another reader sees them
        assert len(tif.pages) == img.shape[2] and tif.pages[0].shape == (16, 16)
        np.testing.assert_array_equal(tif.pages[3].asarray(), img[:, :, 3].T)
        assert tif.pages[0].tags["XResolution"].value == (40000, 1)  # pixels per cm
    # tifffile's file (big-endian, uint16, several strips per page) read by the numpy reader
    img16 = np.random.default_rng(3).integers(0, 60000, (9, 6, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "be.tif", np.transpose(img16, (2, 1, 0)), byteorder=">",
                     rowsperstrip=2, photometric="minisblack")
    np.testing.assert_array_equal(np.transpose(_read_tiff_numpy(tmp_path / "be.tif"),
                                               (2, 1, 0)), img16)
    (tmp_path / "bad.tif").write_bytes(b"II*\0garbage")
    with pytest.raises(ValueError, match="not a readable TIFF"):
        read_tiff_stack(tmp_path / "bad.tif")


def test_phase_labels():
    assert parse_labels("0,255") == {0: 0, 255: 1}
    assert parse_labels("0,1,2") == {0: 0, 1: 1, 2: 2}
    assert parse_labels("0=pore, 128=cbd, 255=AM, 7=pore") == {0: 0, 128: 2, 255: 1, 7: 0}
    for text, message in (("0,,2", "an empty item"), ("0=pore,1", "is not VALUE=PHASE"),
                          ("0=air", "phase 'air' is unknown"), ("1,2,3,4", "at most three"),
                          ("0=pore,0=AM", "given twice"), ("a,b", "not an integer")):
        with pytest.raises(ValueError, match=message):
            parse_labels(text, "--labels")
    raw = np.array([0, 255, 128, 255], np.uint16).reshape(1, 2, 2)
    np.testing.assert_array_equal(apply_labels(raw, {0: 0, 255: 1, 128: 2}).ravel(),
                                  [0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"values \[128\] the label mapping \(0=pore, 255=AM\)"):
        apply_labels(raw, parse_labels("0,255"))
    with pytest.raises(ValueError, match=r"unknown phase labels \[128, 255\]"):
        apply_labels(raw)


def test_vti_round_trip_and_the_vtk_reader(tmp_path):
    rng = np.random.default_rng(4)
    img = rng.integers(0, 3, (7, 5, 4), dtype=np.uint8)
    conc = rng.random((7, 5, 4))
    conc[0, 0, 0] = np.nan
    at_points = rng.random((8, 6, 5)).astype(np.float32)
    path = write_vti(tmp_path / "f.vti", 0.25, image=img, cell_fields={"c": conc},
                     point_fields={"p": at_points}, origin_um=(1.0, 0.0, 0.0))
    head = path.read_bytes()[:400].decode("ascii", "replace")
    assert '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" ' \
           'header_type="UInt64">' in head and 'WholeExtent="0 7 0 5 0 4"' in head
    vti = read_vti(path)
    assert vti.shape == (7, 5, 4)
    np.testing.assert_array_equal(vti.spacing_um, [0.25] * 3)
    np.testing.assert_array_equal(vti.origin_um, [1, 0, 0])
    np.testing.assert_array_equal(vti.cell_fields["phase"], img)
    np.testing.assert_array_equal(vti.cell_fields["c"], conc)
    np.testing.assert_array_equal(vti.point_fields["p"], at_points)
    with pytest.raises(ValueError, match="expected"):
        write_vti(tmp_path / "g.vti", 0.25, image=img, cell_fields={"c": conc[:-1]})
    # the reader ParaView uses
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    assert data.GetDimensions() == (8, 6, 5) and data.GetSpacing() == (0.25, 0.25, 0.25)

    def cells(name):
        return vtk_to_numpy(data.GetCellData().GetArray(name)).reshape(4, 5, 7).T

    np.testing.assert_array_equal(cells("phase"), img)
    np.testing.assert_array_equal(cells("c"), conc)
    # and VTK's own writer (appended raw, inline base64) read back here
    for mode in ("Appended", "Binary"):
        writer = vtk.vtkXMLImageDataWriter()
        writer.SetInputData(data)
        writer.SetCompressorTypeToNone()
        getattr(writer, f"SetDataModeTo{mode}")()
        writer.EncodeAppendedDataOff()
        writer.SetFileName(str(tmp_path / f"vtk_{mode}.vti"))
        writer.Write()
        back = read_vti(tmp_path / f"vtk_{mode}.vti")
        np.testing.assert_array_equal(back.cell_fields["phase"], img)
        np.testing.assert_array_equal(back.point_fields["p"], at_points)


def test_read_image_dispatch(tmp_path):
    img = _layered_image()
    np.save(tmp_path / "a.npy", img)
    write_vti(tmp_path / "a.vti", 0.5, image=img)
    write_raw(tmp_path / "a.raw", img)
    assert read_image(tmp_path / "a.vti")[1] == 0.5
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy")[0], img)
    np.testing.assert_array_equal(read_image(tmp_path / "a.raw", RawSpec((16, 16, 24)))[0], img)
    with pytest.raises(ValueError, match=r"a \.raw file has no header"):
        read_image(tmp_path / "a.raw")


def test_transport_returns_the_field_only_when_asked():
    """The through-plane field of a uniform pore image is the linear profile between the end
    planes half a voxel outside (u = 1 - (k + 1/2) / nz); by default no field is kept."""
    from physics.transport import transport_properties
    from physics.voxel import Microstructure

    micro = Microstructure(np.zeros((4, 4, 8), np.uint8), voxel_um=1.0)
    props = transport_properties(micro, directions="z", psd=False, field_directions="z")
    u = props.fields["concentration_z"]
    np.testing.assert_allclose(u, np.broadcast_to(1 - (np.arange(8) + 0.5) / 8, u.shape),
                               atol=1e-8)
    assert np.isnan(props.fields["potential_z"]).all()  # no solid: no conduction network
    assert transport_properties(micro, directions="z", psd=False).fields == {}


# ----------------------------------------------------------------------------- CLI
def test_convert_particle_structures(tmp_path, capsys):
    data, dump, npz = tmp_path / "s.data", tmp_path / "s.lammpstrj", tmp_path / "s.npz"
    assert main(["convert", DRIED, str(data), "--out-units", "micro", "--json"]) == 0
    assert '"particles": 2002' in capsys.readouterr().out
    assert main(["convert", str(data), str(dump)]) == 0
    assert main(["convert", str(dump), str(npz), "--frame", "0"]) == 0
    capsys.readouterr()
    _assert_same_state(ParticleState.load(DRIED), ParticleState.load(npz), 1e-15)
    for args, message in (
            ([DRIED, str(tmp_path / "s.xyz")], "OUTPUT"),
            ([str(tmp_path / "missing.dump"), str(npz)], "INPUT"),
            ([DRIED, str(tmp_path / "s.npy")], "is a particle structure and OUTPUT"),
            ([str(dump), str(npz), "--frame", "3"], "frame 3 does not exist"),
            ([DRIED, str(data), "--out-units", "cgs"], "--out-units 'cgs' is unknown"),
            ([str(data), str(npz), "--periodic", "xq"], "--periodic 'xq'")):
        assert main(["convert", *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    (tmp_path / "corrupt.data").write_text("title\n3 atoms\n")
    assert main(["convert", str(tmp_path / "corrupt.data"), str(npz)]) == 2
    assert "INPUT" in capsys.readouterr().err


def test_convert_voxel_images(tmp_path, capsys):
    img = _layered_image()
    np.save(tmp_path / "a.npy", img)
    chain = ["a.npy", "b.tif", "c.raw", "d.vti", "e.npy"]
    for src, dst in itertools.pairwise(chain):
        extra = ["--raw-shape", "16,16,24"] if src.endswith(".raw") else []
        assert main(["convert", str(tmp_path / src), str(tmp_path / dst), "--voxel-um", "0.5",
                     *extra]) == 0, (src, dst)
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), img)
    assert read_vti(tmp_path / "d.vti").spacing_um[0] == 0.5
    write_tiff_stack(tmp_path / "grey.tif", (img * 100).astype(np.uint8))
    assert main(["convert", str(tmp_path / "grey.tif"), str(tmp_path / "g.npy"), "--labels",
                 "0=pore,100=AM,200=CBD"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), img)
    capsys.readouterr()
    (tmp_path / "corrupt.vti").write_text("<VTKFile")
    for args, message in (
            (["c.raw", "x.npy", "--raw-shape", "16,16,25"], "INPUT"),
            (["c.raw", "x.npy"], "--raw-shape NX,NY,NZ"),
            (["c.raw", "x.npy", "--raw-shape", "16,16"], "--raw-shape '16,16'"),
            (["c.raw", "x.npy", "--raw-shape", "16,16,24", "--raw-dtype", "f4"],
             "--raw-dtype 'f4' is unknown"),
            (["grey.tif", "x.npy"], "unknown phase labels [100, 200]"),
            (["grey.tif", "x.npy", "--labels", "0,100"], "values [200]"),
            (["corrupt.vti", "x.npy"], "not a readable VTK XML file"),
            (["missing.tif", "x.npy"], "no such TIFF file")):
        assert main(["convert", *(str(tmp_path / a) if k < 2 else a
                                  for k, a in enumerate(args))]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_transport_on_tiff_and_raw_images_with_vti(tmp_path, capsys):
    img = _layered_image()
    write_tiff_stack(tmp_path / "img.tif", (img * 100).astype(np.uint8))
    write_raw(tmp_path / "img.raw", img)
    out = tmp_path / "out"
    assert main(["transport", str(tmp_path / "img.tif"), "--labels", "0,100,200",
                 "--voxel-um", "0.5", "--directions", "z", "--no-psd", "--quiet", "--json",
                 "--out", str(out), "--vti"]) == 0
    tif = capsys.readouterr().out
    assert main(["transport", str(tmp_path / "img.raw"), "--raw-shape", "16,16,24",
                 "--voxel-um", "0.5", "--directions", "z", "--no-psd", "--quiet", "--json",
                 "--vti", str(tmp_path / "raw.vti")]) == 0
    raw = capsys.readouterr().out
    import json

    a, b = json.loads(tif), json.loads(raw)
    assert a["porosity"] == pytest.approx(float((img == 0).mean()))
    assert a["tau_z"] == b["tau_z"] and a["tau_z"] > 1.0
    assert a["vti"] == str(out / "img.vti") and (out / "img_image.npy").is_file()
    vti = read_vti(out / "img.vti")
    np.testing.assert_array_equal(vti.cell_fields["phase"], img)
    conc, pot = vti.cell_fields["concentration_z"], vti.cell_fields["potential_z"]
    assert np.isnan(conc[img == 1]).all() and not np.isnan(conc[img != 1]).any()
    assert np.isnan(pot[img == 0]).all()
    assert 0.95 < np.nanmean(conc[:, :, 0]) <= 1 and 0 <= np.nanmean(conc[:, :, -1]) < 0.05
    assert np.all(np.diff(np.nanmean(conc, axis=(0, 1))) < 0)  # falls through the film
    np.testing.assert_array_equal(read_vti(tmp_path / "raw.vti").cell_fields["potential_z"],
                                  pot)
    for args, message in (
            (["img.raw", "--raw-shape", "16,16,25"], "needs 6400; check the shape"),
            (["img.tif"], "unknown phase labels [100, 200]"),
            (["img.tif", "--labels", "0,100,200", "--vti"], "--vti without FILE"),
            (["missing.tif"], "no such TIFF file")):
        assert main(["transport", str(tmp_path / args[0]), *args[1:], "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_transport_vti_of_a_structure_holds_its_particles(tmp_path, capsys):
    assert main(["transport", DRIED, "--voxel-um", "1.0", "--directions", "z", "--no-psd",
                 "--quiet", "--json", "--vti", str(tmp_path)]) == 0
    assert '"vti": ' in capsys.readouterr().out
    vti = read_vti(tmp_path / "dried_ci_seed0.vti")
    assert set(vti.cell_fields) == {"phase", "am_id", "concentration_z", "potential_z"}
    am = vti.cell_fields["phase"] == 1
    assert np.all((vti.cell_fields["am_id"] >= 0) == am)
    assert vti.spacing_um[0] == pytest.approx(25.8 / 26)  # the periodic box in whole voxels
