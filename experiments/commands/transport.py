"""``etwin transport``, ``cell``, ``cell3d``, ``eis``: voxel transport and the cell models."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time

from experiments.commands.common import AddCommand, add_materials_flag, log, materials_from
from experiments.commands.convert import add_image_file_flags, labels_of, naming, raw_spec
from experiments.files import json_safe, write_csv_atomic, write_json_atomic


# ---------------------------------------------------------------------------- transport
def _transport_inputs(path_text: str, voxel_um: float, raw=None,
                      labels: dict[int, int] | None = None) -> list[tuple[str, object, dict]]:
    """(name, Microstructure, extra summary fields) for an image (.npy, a .tif/.tiff stack, or
    a .raw volume read as ``raw``, a :class:`physics.formats.RawSpec`; grey values mapped to
    phases by ``labels``), a ParticleState .npz, or a directory of calendered_*.npz (else
    dried.npz) structures.  A particle structure adds its AM size classes (``am_radii_um``,
    ``am_volume_fractions``) for the cell model and the film's phase fractions between its
    exact bounds (``film_fractions``, :func:`physics.transport.film_summary`)."""
    from pathlib import Path

    from physics.formats import RawSpec, read_image
    from physics.state import ParticleState
    from physics.voxel import Microstructure, am_size_classes, film_phase_fractions, voxelize

    def from_state(path: Path) -> tuple[str, object, dict]:
        state = ParticleState.load(path)
        radii, shares = am_size_classes(state)
        return (path.name, voxelize(state, voxel_um, particle_ids=True),
                {"am_radii_um": list(radii), "am_volume_fractions": list(shares),
                 "film_fractions": film_phase_fractions(state, voxel_um)})

    path = Path(path_text)
    suffix = path.suffix.lower()
    if labels is not None and (path.is_dir() or suffix == ".npz"):
        raise ValueError(f"--labels maps the grey values of an image file; {path} is a "
                         f"particle structure")
    if suffix in (".tif", ".tiff", ".raw") or (suffix == ".npy" and labels is not None):
        with naming("IMAGE"):
            image, _ = read_image(path, raw=raw or RawSpec(), labels=labels)
        return [(path.name, Microstructure(image=image, voxel_um=voxel_um, source=str(path)),
                 {})]
    if path.is_dir():
        files = sorted(path.glob("calendered_*.npz"),
                       key=lambda f: float(f.stem.split("_")[1].removesuffix("MPa")))
        if not files and (path / "dried.npz").is_file():
            files = [path / "dried.npz"]
        if not files:
            raise ValueError(f"{path}: no calendered_*.npz or dried.npz structure in the "
                             f"directory")
        return [from_state(f) for f in files]
    if path.suffix == ".npz":
        return [from_state(path)]
    if path.suffix == ".npy" or not path.exists():
        return [(path.name, Microstructure.load(path, voxel_um), {})]
    raise ValueError(f"{path}: expected an image (.npy, .tif, .tiff, .raw), a structure .npz "
                     f"or a directory")


def _vti_path(args: argparse.Namespace, names: list[str]):
    """name -> the .vti file of --vti (None without the flag): FILE.vti for one structure, a
    directory's <structure>.vti, or OUT/<structure>.vti when --vti has no FILE."""
    from pathlib import Path

    if args.vti is None:
        return None
    if args.vti == "":
        if not args.out:
            raise ValueError("--vti without FILE writes OUT/<structure>.vti: give --out DIR, "
                             "or --vti FILE.vti")
        folder = Path(args.out)
        return lambda name: folder / f"{Path(name).stem}.vti"
    target = Path(args.vti)
    if target.suffix.lower() == ".vti":
        if len(names) > 1:
            raise ValueError(f"--vti {target} names one file; IMAGE holds {len(names)} "
                             f"structures: give a directory (one <structure>.vti each)")
        return lambda name: target
    return lambda name: target / f"{Path(name).stem}.vti"


def _write_vti(path, micro, props) -> None:
    """The voxel image (``phase``; ``am_id`` for a structure) and the solved through-plane
    fields as VTK ImageData (physics/formats/vtk.py)."""
    import numpy as np

    from physics.formats.vtk import write_vti

    cells = {}
    if micro.am_ids is not None:
        cells["am_id"] = micro.am_ids.astype(np.int32)
    for name, values in props.fields.items():
        cells[name] = values.astype(np.float32)
    write_vti(path, micro.voxel_um, image=micro.image, cell_fields=cells)


def _eis3d(micro, args: argparse.Namespace, settings, name: str):
    """The 3-D blocking spectrum of one image (physics/impedance3d.py) with a progress bar."""
    from tqdm import tqdm

    from physics.impedance3d import BlockingCell3D, blocking_impedance_3d

    cell = BlockingCell3D(cbd_porosity=args.cbd_porosity,
                          double_layer_f_m2=args.double_layer_f_cm2 * 1e4)
    with tqdm(desc=f"3-D impedance {name}", unit="freq", file=sys.stderr,
              disable=args.quiet) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        eis = blocking_impedance_3d(micro.image, micro.voxel_um, cell=cell,
                                    settings=settings, progress=progress)
    log(f"{name}: τ_EIS {eis.tau_eis:.3f} (transmission-line fit, RMS residual "
         f"{100 * eis.fit.rms_relative_residual:.1f} %) and {eis.tau_eis_low_frequency:.3f} "
         f"(low-frequency intercept) from the 3-D blocking spectrum; voxel τ_z "
         f"{eis.tau_z:.3f}; {eis.cpu_s:.0f} CPU s")
    return eis


def cmd_transport(args: argparse.Namespace) -> dict:
    """Tortuosity, effective diffusivity, electronic conductivity and microstructure metrics."""
    from pathlib import Path

    from tqdm import tqdm

    from experiments.plots import plot_nyquist, plot_pore_size_distribution, plot_slice_fractions
    from physics.impedance import tlm_blocking_impedance
    from physics.pipeline import tau_anisotropy
    from physics.transport import (
        ContactConductance,
        SolverSettings,
        film_summary,
        transport_properties,
    )

    if not (math.isfinite(args.voxel_um) and 0.01 <= args.voxel_um <= 10.0):
        raise ValueError(f"--voxel-um must lie in [0.01, 10] µm, got {args.voxel_um}")
    if not (math.isfinite(args.double_layer_f_cm2) and args.double_layer_f_cm2 > 0):
        raise ValueError(f"--double-layer-f-cm2 must be > 0, got {args.double_layer_f_cm2}")
    settings = SolverSettings(rtol=args.rtol)
    contact = ContactConductance(args.contact_am_am_s_m2, args.contact_am_cbd_s_m2)
    inputs = _transport_inputs(args.image, args.voxel_um, raw_spec(args), labels_of(args))
    out = Path(args.out) if args.out else None
    vti_path = _vti_path(args, [name for name, _, _ in inputs])
    field_directions = "z" if vti_path is not None and "z" in args.directions else ""
    if vti_path is not None and not field_directions:
        log("--vti: no z in --directions, so the .vti holds the image without the "
            "concentration_z / potential_z fields")
    results = []
    for name, micro, extra in inputs:
        bar = tqdm(total=4, desc=f"transport {name}", file=sys.stderr, disable=args.quiet)

        def progress(label: str, bar=bar) -> None:
            if label != "diffusion":
                bar.update(1)
            bar.set_postfix(part=label)

        props = transport_properties(
            micro, directions=args.directions, conduction_directions=args.directions,
            d0_m2_s=args.d0_m2_s, cbd_porosity=args.cbd_porosity,
            sigma_am_s_m=args.sigma_am_s_m, sigma_cbd_s_m=args.sigma_cbd_s_m,
            psd=not args.no_psd, settings=settings, progress=progress, contact=contact,
            field_directions=field_directions)
        bar.update(bar.total - bar.n)
        bar.close()
        extra = dict(extra)
        film = extra.pop("film_fractions", None)
        measured = props.summary() if film is None else film_summary(props.summary(), film)
        summary = {"input": name, **measured, **extra,
                   "iterations": {k: d.iterations for k, d in props.diffusion.items()}}
        if all(f"tau_{a}" in measured for a in "xyz"):  # τ_z over the in-plane mean
            summary["tau_z_over_tau_x"] = tau_anisotropy(measured)
        for warning in summary.get("warnings", ()):
            log(f"{name}: warning: {warning}")
        eis = _eis3d(micro, args, settings, name) if args.eis3d else None
        if eis is not None:
            summary["eis3d"] = eis.to_metrics()
        if vti_path is not None:
            target = vti_path(name)
            _write_vti(target, micro, props)
            summary["vti"] = str(target)
            log(f"{name}: wrote {target} (phase{', am_id' if micro.am_ids is not None else ''}"
                f"{''.join(', ' + k for k in props.fields)})")
        if out is not None:
            stem = Path(name).stem
            out.mkdir(parents=True, exist_ok=True)
            if not name.endswith(".npy") or args.labels is not None:  # the phase labels
                micro.save(out / f"{stem}_image.npy")
            rows = [{"z_um": (k + 0.5) * micro.voxel_um, "pore": f[0], "am": f[1], "cbd": f[2]}
                    for k, f in enumerate(props.slice_fractions)]
            write_csv_atomic(out / f"{stem}_slices.csv", rows)
            plot_slice_fractions(props.slice_fractions, micro.voxel_um,
                                 out / f"{stem}_slices.png", title=name)
            if eis is not None:
                write_csv_atomic(out / f"{stem}_eis3d.csv", [
                    {"frequency_hz": f, "re_z_ohm_cm2": 1e4 * z.real,
                     "im_z_ohm_cm2": 1e4 * z.imag}
                    for f, z in zip(eis.freq_hz, eis.z_ohm_m2, strict=True)])
                plot_nyquist([(f"3-D image: τ_EIS {eis.tau_eis:.2f} (voxel τ_z "
                               f"{eis.tau_z:.2f})", eis.z_ohm_m2, tlm_blocking_impedance(
                                   eis.freq_hz, eis.fit.r_ion_ohm_m2, eis.fit.c_dl_f_m2,
                                   eis.fit.r_hf_ohm_m2))],
                             out / f"{stem}_eis3d.png", title=f"{name}: blocking electrode")
            if props.psd is not None:
                write_csv_atomic(out / f"{stem}_psd.csv", [
                    {"diameter_um": d, "cumulative_fraction": c}
                    for d, c in zip(props.psd.diameter_um, props.psd.cumulative_fraction,
                                    strict=True)])
                plot_pore_size_distribution(props.psd.diameter_um,
                                            props.psd.cumulative_fraction,
                                            out / f"{stem}_psd.png", title=name)
        results.append(summary)
    result = results[0] if len(results) == 1 else {"structures": results}
    if out is not None:
        write_json_atomic(out / "metrics.json", json_safe(result))
    return result


# ---------------------------------------------------------------------------- cell
def _cell_cases(args: argparse.Namespace) -> list[tuple[str, object]]:
    """(label, CellParameters) to run: --params or --bpx (or the defaults), or, with
    --transport, one cell per structure of an ``etwin transport`` metrics.json, its cathode
    from the microstructure and everything else from --params/--bpx.  What a BPX file could
    not give exactly is logged, one line each."""
    from pathlib import Path

    from physics.cell_params import CellParameters, cathode_from_transport

    bpx_file = getattr(args, "bpx", None)
    if bpx_file and args.params:
        raise ValueError("give --params or --bpx, not both")
    if bpx_file:
        from physics.bpx import load_bpx

        notes: list[str] = []
        base = load_bpx(bpx_file, notes)
        for note in notes:
            log(f"BPX {bpx_file}: {note}")
        source = bpx_file
    else:
        base = CellParameters.load(args.params) if args.params else CellParameters()
        source = args.params or "defaults"
    materials = materials_from(args)
    if materials is not None:  # the set's AM electrochemistry and window on that base
        base = materials.cell_parameters(base)
        source = f"{source} + {materials.name}"
    if not args.transport:
        return [(source, base)]
    path = Path(args.transport)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--transport {path}: not a readable etwin transport metrics.json "
                         f"({err})") from None
    structures = data.get("structures", [data]) if isinstance(data, dict) else []
    if not structures:
        raise ValueError(f"--transport {path}: no transport result in the file")
    cases = []
    for n, s in enumerate(structures):
        try:
            cathode = cathode_from_transport(s, base.cathode)
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"--transport {path}: {err} (expected an etwin transport "
                             "metrics.json)") from None
        cases.append((str(s.get("input", f"structure {n}")),
                      dataclasses.replace(base, cathode=cathode)))
    return cases


def _cases_result(rows: list[dict]) -> dict:
    return rows[0] if len(rows) == 1 else {"cases": rows}


def cmd_cell(args: argparse.Namespace) -> dict:
    """Galvanostatic discharge of the half-cell DFN model."""
    from pathlib import Path

    from physics.cell import C_RATE_BASES, c_rate_current_density_a_m2, discharge
    from physics.cell_params import CellParameters

    if args.print_default_params:
        print(json.dumps(CellParameters().to_dict(), indent=2))
        return {}
    if not (math.isfinite(args.c_rate) and 0.001 <= args.c_rate <= 100.0):
        raise ValueError(f"--c-rate must lie in [0.001, 100], got {args.c_rate}")
    if args.c_rate_basis not in C_RATE_BASES:
        raise ValueError(f"--c-rate-basis {args.c_rate_basis!r}; allowed: "
                         f"{', '.join(C_RATE_BASES)}")
    cases = _cell_cases(args)
    if args.export_bpx:
        return _export_bpx(cases, args.export_bpx)
    # PyBaMM's 1C on a BPX file is its own nominal capacity; a --transport cathode has its own
    nominal = None
    if args.bpx and not args.transport and args.c_rate_basis == "nominal":
        from physics.bpx import bpx_nominal_capacity_ah_m2, read_bpx_file

        nominal = bpx_nominal_capacity_ah_m2(read_bpx_file(args.bpx))
    out = Path(args.out) if args.out else None
    rows, curves = [], []
    for label, params in cases:
        result = discharge(params, c_rate=args.c_rate, c_rate_basis=args.c_rate_basis,
                           nominal_capacity_ah_m2=nominal)
        cat = params.cathode
        rows.append({
            "input": label, "c_rate": args.c_rate, "c_rate_basis": args.c_rate_basis,
            "one_c_current_density_a_m2": c_rate_current_density_a_m2(
                params, 1.0, args.c_rate_basis, nominal),
            "theoretical_capacity_ah_m2": params.theoretical_capacity_ah_m2(),
            "nominal_capacity_ah_m2": (nominal if nominal is not None
                                       else params.nominal_capacity_ah_m2()),
            "porosity": cat.porosity, "thickness_um": cat.thickness_m * 1e6,
            "tortuosity_factor": cat.tortuosity_factor,
            "electronic_conductivity_s_m": cat.electronic_conductivity_s_m,
            "current_density_a_m2": result.current_density_a_m2,
            "capacity_mah_g": result.capacity_final_mah_g,
            "theoretical_capacity_mah_g": params.theoretical_capacity_mah_g(),
            "energy_wh_kg": result.energy_wh_kg, "mean_voltage_v": result.mean_voltage_v,
            "cutoff_voltage_v": params.cutoff_voltage_v, "time_s": float(result.time_s[-1]),
            "end_reason": result.end_reason,
            "steps": result.steps, "newton_iterations": result.newton_iterations,
        })
        curves.append((f"{label}: {result.capacity_final_mah_g:.1f} mAh/g",
                       result.capacity_mah_g, result.voltage_v))
        log(f"{label}: ε {cat.porosity:.3f}, τ {cat.tortuosity_factor:.3f}, σ_eff "
             f"{cat.electronic_conductivity_s_m:.3g} S/m -> {result.capacity_final_mah_g:.1f} "
             f"mAh/g at {args.c_rate:g}C ({args.c_rate_basis}: "
             f"{result.current_density_a_m2:.4g} A/m²)")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            stem = "discharge" if len(curves) == 1 and not args.transport else \
                f"discharge_{Path(label).stem}"
            write_csv_atomic(out / f"{stem}.csv", [
                {"time_s": t, "capacity_mah_g": q, "voltage_v": v}
                for t, q, v in zip(result.time_s, result.capacity_mah_g, result.voltage_v,
                                   strict=True)])
    summary = _cases_result(rows)
    if out is not None:
        from experiments.plots import plot_discharge

        plot_discharge(curves, out / "discharge.png", title=f"{args.c_rate:g}C discharge")
        if len(rows) > 1:
            write_csv_atomic(out / "cases.csv", rows)
        write_json_atomic(out / "metrics.json", summary)
        summary["out"] = str(out)
    return summary


def _export_bpx(cases: list[tuple[str, object]], target: str) -> dict:
    """``etwin cell --export-bpx FILE``: the one parameter set as BPX, then stop."""
    from pathlib import Path

    from physics.bpx import save_bpx

    if len(cases) != 1:
        raise ValueError(f"--export-bpx writes one parameter set; --transport gave "
                         f"{len(cases)} structures (export one structure's metrics.json)")
    label, params = cases[0]
    destination = Path(target)
    if destination.is_dir():
        raise ValueError(f"--export-bpx {target}: is a directory; give a file name")
    if not destination.parent.is_dir():
        raise FileNotFoundError(f"--export-bpx {target}: no directory {destination.parent}")
    notes: list[str] = []
    path = save_bpx(params, destination, notes)
    for note in notes:
        log(f"BPX export: {note}")
    log(f"{label} -> {path} (BPX; PyBaMM's 1C there: {params.nominal_capacity_ah_m2():.4g} "
        f"A/m², this model's theoretical 1C: {params.theoretical_capacity_ah_m2():.4g} A/m²)")
    return {"input": label, "bpx": str(path), "notes": notes,
            "nominal_capacity_ah_m2": params.nominal_capacity_ah_m2(),
            "theoretical_capacity_ah_m2": params.theoretical_capacity_ah_m2()}


def _check_particles_resolved(name: str, micro) -> None:
    """The AM particles must span >= 3 voxels: the volume-median equivalent diameter of the
    image's AM particles, in voxels (smaller particles of a wide size distribution are
    allowed, as long as most of the AM volume is resolved)."""
    import numpy as np

    from physics.cell3d import particle_volumes_um3

    if micro.am_ids is None:
        return
    vol = particle_volumes_um3(micro)
    vol = np.sort(vol[vol > 0])
    if vol.size == 0:
        raise ValueError(f"{name}: the image holds no AM particle")
    median = vol[np.searchsorted(np.cumsum(vol), 0.5 * vol.sum())]
    diameter_vox = (6 * median / np.pi) ** (1 / 3) / micro.voxel_um
    if diameter_vox < 3.0:
        raise ValueError(f"{name}: at --voxel-um {micro.voxel_um:g} the AM particles span "
                         f"{diameter_vox:.1f} voxels (volume-median diameter); the 3-D cell "
                         f"needs >= 3: use --voxel-um <= "
                         f"{diameter_vox * micro.voxel_um / 3:.2g}")


def cmd_cell3d(args: argparse.Namespace) -> dict:
    """Particle-resolved 3-D half cell on the voxel image of each structure."""
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from experiments.plots import plot_discharge, plot_lithiation
    from physics.cell3d import discharge_3d
    from physics.cell_params import CellParameters
    from physics.transport import ContactConductance

    checks = (("--c-rate", args.c_rate, 0.001, 100.0), ("--voxel-um", args.voxel_um, 0.1, 10.0),
              ("--sigma-am-s-m", args.sigma_am_s_m, 1e-9, 1e8),
              ("--sigma-cbd-s-m", args.sigma_cbd_s_m, 1e-9, 1e8),
              ("--snapshot-dod", args.snapshot_dod, 1e-3, 1.0),
              ("--voltage-tol-v", args.voltage_tol_v, 1e-5, 0.1),
              ("--checkpoint-every-s", args.checkpoint_every_s, 0.0, 86400.0))
    for flag, value, lo, hi in checks:
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"{flag} must lie in [{lo:g}, {hi:g}], got {value}")
    if not 1 <= args.separator_layers <= 200:
        raise ValueError(f"--separator-layers must lie in [1, 200], got {args.separator_layers}")
    params = CellParameters.load(args.params) if args.params else CellParameters()
    contact = ContactConductance(args.contact_am_am_s_m2, args.contact_am_cbd_s_m2)
    out = Path(args.out) if args.out else None
    rows, curves = [], []
    for name, micro, _ in _transport_inputs(args.image, args.voxel_um):
        _check_particles_resolved(name, micro)
        t0 = time.process_time()
        with tqdm(total=100, desc=f"3-D cell {name}", unit="% DoD", file=sys.stderr,
                  disable=args.quiet) as bar:
            def progress(dod: float, voltage_v: float, bar=bar) -> None:
                bar.update(min(int(100 * dod), 100) - bar.n)
                bar.set_postfix(V=f"{voltage_v:.3f}")

            checkpoint = None
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                checkpoint = out / f"{Path(name).stem}_checkpoint.npz"
                if checkpoint.is_file():
                    log(f"{name}: resuming from {checkpoint} where it matches this run")
            d3 = discharge_3d(micro, params, args.c_rate, voltage_tol_v=args.voltage_tol_v,
                              snapshot_dod=args.snapshot_dod, progress=progress,
                              checkpoint=checkpoint,
                              checkpoint_every_s=args.checkpoint_every_s,
                              sigma_am_s_m=args.sigma_am_s_m, sigma_cbd_s_m=args.sigma_cbd_s_m,
                              contact=contact, separator_layers=args.separator_layers)
        cpu_s = time.process_time() - t0
        row = {"input": name, "c_rate": args.c_rate, "voxel_um": micro.voxel_um,
               "shape": list(micro.shape), "capacity_mah_g": float(d3.capacity_mah_g[-1]),
               "theoretical_capacity_mah_g": params.theoretical_capacity_mah_g(),
               "current_density_a_m2": d3.current_a_m2, "end_reason": d3.end_reason,
               "mean_voltage_v": float(np.trapezoid(d3.voltage_v, d3.capacity_mah_g)
                                       / max(d3.capacity_mah_g[-1], 1e-30)),
               "reacting_particles": d3.reacting_particles, "particles": d3.particles,
               "snapshot_dod": args.snapshot_dod,
               "snapshot_capacity_mah_g": d3.snapshot_capacity_mah_g, **d3.observables,
               "steps": len(d3.newton_iterations), "rejected_steps": d3.rejected_steps,
               "newton_iterations": int(sum(d3.newton_iterations)),
               "gmres_iterations": int(sum(d3.gmres_iterations)),
               "lithium_error": d3.lithium_error, "salt_error": d3.salt_error,
               "cpu_s": cpu_s}
        rows.append(row)
        curves.append((f"{name}: {row['capacity_mah_g']:.1f} mAh/g", d3.capacity_mah_g,
                       d3.voltage_v))
        log(f"{name}: {row['capacity_mah_g']:.1f} mAh/g at {args.c_rate:g}C "
             f"({d3.end_reason}); {d3.reacting_particles}/{d3.particles} AM particles react; "
             f"{cpu_s:.0f} CPU s")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            stem = Path(name).stem
            write_csv_atomic(out / f"{stem}_discharge.csv", [
                {"time_s": t, "capacity_mah_g": q, "voltage_v": v}
                for t, q, v in zip(d3.time_s, d3.capacity_mah_g, d3.voltage_v, strict=True)])
            plot_lithiation(micro.image, micro.am_ids, d3.particle_stoichiometry,
                            micro.voxel_um, out / f"{stem}_lithiation.png",
                            title=f"{name}: lithiation at {d3.snapshot_capacity_mah_g:.0f} "
                                  f"mAh/g ({args.c_rate:g}C)")
    summary = _cases_result(rows)
    if out is not None:
        plot_discharge(curves, out / "discharge3d.png",
                       title=f"3-D half cell, {args.c_rate:g}C discharge")
        write_json_atomic(out / "metrics.json", json_safe(summary))
        summary["out"] = str(out)
    return summary


def cmd_eis(args: argparse.Namespace) -> dict:
    """Impedance of the half cell at rest, and of the symmetric blocking cell of its cathode
    with the transmission-line analysis (R_ion, τ_EIS)."""
    from pathlib import Path

    from physics.cell import impedance
    from physics.impedance import (
        cell_tau_eis,
        frequencies_hz,
        r_ion_graphical,
        tlm_blocking_impedance,
    )

    if args.blocking_sigma_s_m is not None and not (
            math.isfinite(args.blocking_sigma_s_m) and 0 < args.blocking_sigma_s_m <= 1e8):
        raise ValueError(f"--blocking-sigma-s-m must lie in (0, 1e8] S/m, got "
                         f"{args.blocking_sigma_s_m}")
    f = frequencies_hz(args.f_min_hz, args.f_max_hz, args.points_per_decade)
    out = Path(args.out) if args.out else None
    rows, half_spectra, blocking_spectra = [], [], []
    for label, params in _cell_cases(args):
        half = impedance(params, f)
        eis = cell_tau_eis(params, f, electronic_conductivity_s_m=args.blocking_sigma_s_m)
        fit, r_ion, tau, cat = eis.fit, eis.r_ion_ohm_m2, eis.tau_eis, params.cathode
        rows.append({
            "input": label, "points": int(f.size),
            "f_min_hz": float(f.min()), "f_max_hz": float(f.max()),
            "porosity": cat.porosity, "thickness_um": cat.thickness_m * 1e6,
            "half_cell_z_at_f_max_ohm_cm2": [float(half.z_ohm_m2[0].real * 1e4),
                                              float(half.z_ohm_m2[0].imag * 1e4)],
            "half_cell_z_at_f_min_ohm_cm2": [float(half.z_ohm_m2[-1].real * 1e4),
                                              float(half.z_ohm_m2[-1].imag * 1e4)],
            "r_hf_ohm_cm2": fit.r_hf_ohm_m2 * 1e4, "r_ion_ohm_cm2": r_ion * 1e4,
            "r_ion_ohm_m2": r_ion,
            "r_ion_graphical_ohm_cm2": r_ion_graphical(f, eis.z_ohm_m2) / 2.0 * 1e4,
            "c_dl_f_cm2": eis.c_dl_f_m2 * 1e-4,
            "electrolyte_conductivity_s_m": eis.conductivity_s_m,
            "macmullin": eis.macmullin, "tau_eis": tau,
            "tau_input": cat.tortuosity_factor,
            "fit_rms_relative_residual": fit.rms_relative_residual,
        })
        log(f"{label}: R_ion {r_ion * 1e4:.3g} Ω cm², τ_EIS {tau:.3f} (input τ "
             f"{cat.tortuosity_factor:.3f})")
        half_spectra.append((label, half.z_ohm_m2, None))
        blocking_spectra.append((f"{label}: τ_EIS {tau:.2f}", eis.z_ohm_m2,
                                 tlm_blocking_impedance(f, fit.r_ion_ohm_m2, fit.c_dl_f_m2,
                                                        fit.r_hf_ohm_m2)))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            suffix = "" if not args.transport else f"_{Path(label).stem}"
            for name, z_ohm_m2 in (("impedance", half.z_ohm_m2),
                                   ("impedance_blocking_symmetric", eis.z_ohm_m2)):
                write_csv_atomic(out / f"{name}{suffix}.csv", [
                    {"frequency_hz": fr, "re_z_ohm_m2": z.real, "im_z_ohm_m2": z.imag}
                    for fr, z in zip(f, z_ohm_m2, strict=True)])
    summary = _cases_result(rows)
    if out is not None:
        from experiments.plots import plot_nyquist

        plot_nyquist(half_spectra, out / "nyquist.png", title="half cell at rest")
        plot_nyquist(blocking_spectra, out / "nyquist_blocking.png",
                     title="symmetric blocking cell")
        if len(rows) > 1:
            write_csv_atomic(out / "cases.csv", [
                {k: v for k, v in r.items() if not isinstance(v, list)} for r in rows])
        write_json_atomic(out / "metrics.json", summary)
        summary["out"] = str(out)
    return summary


def _bpx_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bpx", default=None, metavar="FILE.json",
                   help="the parameters from a BPX file (PyBaMM's exchange format, e.g. one "
                        "written by etwin cell --export-bpx) instead of --params: a half cell, "
                        "the negative electrode Li metal (OCP 0 V); what it cannot represent "
                        "exactly is printed (default: none)")


def _contact_flags(p: argparse.ArgumentParser) -> None:
    """The electronic contact conductances of ``physics.transport.ContactConductance``."""
    p.add_argument("--contact-am-am-s-m2", type=float, default=math.inf,
                   help="electronic contact conductance between two AM particles in S/m², > 0 "
                        "(default inf: none); needs a particle structure (not an .npy image)")
    p.add_argument("--contact-am-cbd-s-m2", type=float, default=math.inf,
                   help="electronic contact conductance between AM and CBD in S/m², > 0 "
                        "(default inf: none)")


def _cell_input_flags(p: argparse.ArgumentParser) -> None:
    """Where ``etwin cell`` and ``etwin eis`` take the cell from (:func:`_cell_cases`)."""
    p.add_argument("--params", default=None,
                   help="parameter file (JSON, SI units; see etwin cell --print-default-params)"
                        ": every key, or \"extends\": \"default\"|\"xu2019\" and the keys to "
                        "change; default: the paper's uncalendered electrode")
    _bpx_flag(p)
    add_materials_flag(p, "its AM's electrochemistry and voltage window replace the "
                          "--params/--bpx cathode's")
    p.add_argument("--transport", default=None,
                   help="an etwin transport metrics.json (or its directory): one cell per "
                        "structure, the cathode's thickness, porosity, fractions, τ_z, σ_eff,z, "
                        "surface area and AM size classes from it, the rest from --params "
                        "or --bpx (default: none, the --params cathode)")


def register(add: AddCommand) -> None:
    """The parsers of this group's commands."""
    p = add("transport", cmd_transport,
            "Voxel transport (TauFactor conventions): porosity, tortuosity factor, effective "
            "diffusivity and MacMullin number per direction, effective electronic "
            "conductivity and percolation, AM surface area, pore size distribution, phase "
            "fractions per slice. With --out writes metrics.json, *_psd.csv/.png, "
            "*_slices.csv/.png (and the voxel image of a structure or a .tif/.raw file as "
            ".npy); with --vti the image and the through-plane concentration and potential "
            "fields as VTK ImageData for ParaView.")
    p.add_argument("image",
                   help="a voxel image indexed [x, y, z] (z through-plane; 0 pore, 1 AM, 2 "
                        "CBD, or other grey values with --labels): uint8 .npy, a multi-page "
                        "TIFF stack (.tif/.tiff, one page per z slice) or a headerless .raw "
                        "(--raw-shape); or a structure .npz, or a directory of "
                        "calendered_*.npz (etwin calender --out) or dried.npz")
    p.add_argument("--voxel-um", type=float, default=0.25,
                   help="voxel edge in µm, in [0.01, 10]: of the image file, or the "
                        "voxelization resolution of a structure (default 0.25)")
    add_image_file_flags(p, "IMAGE")
    p.add_argument("--vti", nargs="?", const="", default=None, metavar="FILE",
                   help="write the voxel image (cell array phase, and am_id, the AM particle "
                        "of each voxel, for a structure) with the through-plane fields "
                        "concentration_z (normalised electrolyte concentration of the z "
                        "diffusion solve) and potential_z (normalised electronic potential "
                        "of the z conduction solve; both 1 at z = 0, 0 at the top, NaN off "
                        "the percolating network; need z in --directions) as VTK ImageData "
                        "(µm) for ParaView: to FILE.vti, into a directory FILE (one "
                        "<structure>.vti each), or without FILE to OUT/<structure>.vti "
                        "(needs --out) (default: none)")
    p.add_argument("--cbd-porosity", type=float, default=0.47,
                   help="CBD nano-porosity in [0, 1) (default 0.47); its diffusivity is "
                        "D0 · porosity^1.5; 0 makes the CBD insulating (pore-only transport)")
    _contact_flags(p)
    p.add_argument("--eis3d", action="store_true",
                   help="also the blocking impedance solved on the 3-D image and τ_EIS from "
                        "its transmission-line fit, beside the voxel τ_z "
                        "(physics/impedance3d.py); writes *_eis3d.csv/.png with --out")
    p.add_argument("--double-layer-f-cm2", type=float, default=1e-5,
                   help="--eis3d: double-layer capacitance per charging surface in F/cm², "
                        "> 0 (default 1e-5 = 10 µF/cm²)")
    p.add_argument("--d0-m2-s", type=float, default=7.5e-11,
                   help="electrolyte diffusivity in the pores in m²/s, > 0 (default 7.5e-11)")
    p.add_argument("--sigma-am-s-m", type=float, default=5e-3,
                   help="AM electronic conductivity in S/m, >= 0 (default 5e-3)")
    p.add_argument("--sigma-cbd-s-m", type=float, default=10.0,
                   help="CBD electronic conductivity in S/m, >= 0 (default 10)")
    p.add_argument("--directions", default="xyz",
                   help="transport directions, letters from xyz (default xyz)")
    p.add_argument("--rtol", type=float, default=1e-8,
                   help="relative residual of the solves, in (0, 1) (default 1e-8)")
    p.add_argument("--no-psd", action="store_true", help="skip the pore size distribution")
    p.add_argument("--out", default=None,
                   help="output directory for CSV, PNG and metrics (default: none, print only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("cell", cmd_cell,
            "Half-cell DFN (porous NMC cathode | separator | Li foil): galvanostatic discharge "
            "to the cut-off; prints capacity (mAh/g AM), energy, mean voltage; with --out "
            "writes discharge.csv, discharge.png and metrics.json. With --transport, one cell "
            "per structure of an etwin transport result (cases.csv).")
    _cell_input_flags(p)
    p.add_argument("--c-rate", type=float, default=1.0,
                   help="discharge rate in C, in [0.001, 100] (default 1); what 1C is: "
                        "--c-rate-basis")
    p.add_argument("--c-rate-basis", default="theoretical", choices=("theoretical", "nominal"),
                   help="what 1C means (default theoretical): 'theoretical' = the theoretical "
                        "capacity F c_max ε_AM L in one hour (the AM's whole stoichiometry "
                        "range); 'nominal' = PyBaMM's convention, the nominal capacity in one "
                        "hour: F c_max ε_AM L (θ_max − θ_0), from the initial stoichiometry to "
                        "the OCP at the cut-off, or with --bpx the file's 'Nominal cell "
                        "capacity [A.h]' per electrode area. The current density used is "
                        "printed and recorded")
    p.add_argument("--export-bpx", default=None, metavar="FILE.json",
                   help="write the parameters (--params, --bpx or the defaults; one "
                        "--transport structure) as a BPX file for PyBaMM, print what BPX "
                        "cannot hold exactly, and exit without a discharge (default: none)")
    p.add_argument("--print-default-params", action="store_true",
                   help="print the default parameter file (complete: every key) and exit")
    p.add_argument("--out", default=None,
                   help="output directory for CSV, PNG and metrics (default: none, print only)")

    p = add("cell3d", cmd_cell3d,
            "Particle-resolved 3-D half cell on the voxel image (physics/cell3d.py): "
            "electrolyte in pores and nano-porous CBD, solid potential in AM and CBD, "
            "Butler-Volmer on every AM face, radial Li diffusion per AM particle; galvanostatic "
            "discharge to the cut-off. Prints capacity and the paper's Fig. 7C observables at "
            "--snapshot-dod; with --out writes <structure>_discharge.csv, "
            "<structure>_lithiation.png (lithiation per particle), discharge3d.png and "
            "metrics.json.")
    p.add_argument("image",
                   help="a structure .npz (etwin calender/dry output) or a directory of "
                        "calendered_*.npz (else dried.npz); needs particle identities, so not "
                        "an .npy image")
    p.add_argument("--c-rate", type=float, default=1.0,
                   help="discharge rate in C, in [0.001, 100] (default 1)")
    p.add_argument("--voxel-um", type=float, default=1.0,
                   help="voxelization edge in µm, in [0.1, 10] (default 1; 0.5 is ~8x the "
                        "unknowns and ~15x the time)")
    p.add_argument("--params", default=None,
                   help="cell parameter file (JSON, SI units; etwin cell "
                        "--print-default-params): electrolyte, kinetics, OCP, separator, foil")
    p.add_argument("--sigma-am-s-m", type=float, default=5e-3,
                   help="AM electronic conductivity in S/m (default 5e-3)")
    p.add_argument("--sigma-cbd-s-m", type=float, default=10.0,
                   help="CBD electronic conductivity in S/m (default 10)")
    _contact_flags(p)
    p.add_argument("--separator-layers", type=int, default=4,
                   help="homogenized separator voxel layers above the image, in [1, 200] "
                        "(default 4)")
    p.add_argument("--snapshot-dod", type=float, default=0.5,
                   help="depth of discharge (fraction of the theoretical capacity) of the "
                        "observables and the lithiation map, in [0.001, 1] (default 0.5; the "
                        "end of discharge where it stops earlier)")
    p.add_argument("--voltage-tol-v", type=float, default=1e-3,
                   help="local error tolerance of a time step on the voltage in V, in "
                        "[1e-5, 0.1] (default 1e-3)")
    p.add_argument("--checkpoint-every-s", type=float, default=60.0,
                   help="with --out: save the discharge's state to OUT/<structure>_checkpoint"
                        ".npz at most every this many wall seconds; a stopped run restarted "
                        "with the same command resumes from it (default 60)")
    p.add_argument("--out", default=None,
                   help="output directory for CSV, PNG and metrics (and the checkpoint; "
                        "default: none, print only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("eis", cmd_eis,
            "Impedance of the half-cell model at rest (linearized, frequency domain), and of "
            "the symmetric blocking cell of its cathode (no reaction, t+ = 1) with the "
            "transmission-line fit (Landesfeind 2016): R_ion per electrode (fit and 3 x the "
            "projection), MacMullin number and tau_EIS = N_M · porosity. With --out writes "
            "impedance.csv, impedance_blocking_symmetric.csv, nyquist.png, "
            "nyquist_blocking.png and metrics.json.")
    _cell_input_flags(p)
    p.add_argument("--f-min-hz", type=float, default=1.0, help="lowest frequency in Hz, > 0 "
                   "(default 1)")
    p.add_argument("--f-max-hz", type=float, default=1e7, help="highest frequency in Hz, above "
                   "--f-min-hz "
                        "(default 1e7)")
    p.add_argument("--points-per-decade", type=int, default=7, help="frequencies per decade, in "
                   "[1, 100] "
                        "(default 7)")
    p.add_argument("--blocking-sigma-s-m", type=float, default=None,
                   help="σ_eff of the blocking cell in S/m (default: max(σ_eff, 1e3 κ_eff), "
                        "the electronic rail made negligible as in the paper)")
    p.add_argument("--out", default=None,
                   help="output directory for CSV, PNG and metrics (default: none, print only)")
