"""BPX (Battery Parameter eXchange, the PyBaMM ecosystem's JSON format) for the half cell.

:func:`to_bpx` writes :class:`~physics.cell_params.CellParameters` as a BPX 1.0 object
(``"Model": "DFN"``) that ``bpx`` validates and ``pybamm.ParameterValues.create_from_bpx``
reads; :func:`from_bpx` reads one back.  Both append to ``report`` (a list) one line per
field that BPX cannot hold exactly, or that this model cannot, and how it was represented.

Mapping (BPX field -> CellParameters; SI units on both sides):

- Cell: "Lower/Upper voltage cut-off [V]" <-> ``cutoff_voltage_v`` / ``max_voltage_v``;
  "Reference temperature [K]" and State "Initial temperature [K]", "Ambient temperature
  [K]" <-> ``temperature_k`` (the model is isothermal); "Nominal cell capacity [A.h]" <-
  :meth:`CellParameters.nominal_capacity_ah_m2` × area; "Electrode area [m2]" (default 1,
  the model is per m²), one electrode pair; volume and outer area for PyBaMM's thermal
  bookkeeping.
- State "Initial electrolyte concentration [mol.m-3]" <-> ``electrolyte.
  initial_concentration_mol_m3``; "Initial state-of-charge" (read only) moves θ_0 within the
  stoichiometry limits.
- Electrolyte: "Cation transference number" <-> ``transference_number``; "Diffusivity
  [m2.s-1]", "Conductivity [S.m-1]": constants, or Valøen & Reimers 2005 written as
  functions of the concentration x at ``temperature_k`` (BPX functions take x only; read
  back as "valoen2005" when they match it, else as the constant at c_e0).
- Positive electrode (the cathode): "Thickness [m]"; "Conductivity [S.m-1]" = σ_eff (BPX's
  is already effective); "Porosity" = the electrolyte volume fraction ε + ε_CBD,pore ε_CBD;
  "Transport efficiency" = ε / τ; "Particle radius [m]" R and "Surface area per unit
  volume [m-1]" a, with ε_AM = a R / 3 (PyBaMM's reading); "Maximum concentration";
  "Diffusivity [m2.s-1]" D_s; "OCP [V]" (an expression for a closed form, else a table
  dense enough for PyBaMM's linear interpolation); "Minimum stoichiometry" = θ_0 (where
  PyBaMM starts a discharge, 100 % SOC); "Maximum stoichiometry" = θ_max, the OCP at the
  cut-off; "Reaction rate constant [mol.m-2.s-1]" k_BPX = k c_e0^½ c_max (BPX:
  i0 = F k_BPX ((c_e/c_e0)(θ)(1 − θ))^½, here i0 = F k c_e^½ c_s^½ (c_max − c_s)^½).
- Separator: "Thickness [m]", "Porosity", "Transport efficiency" = ε / τ.
- Negative electrode = the Li foil, as a thin electrode of its thickness with OCP 0 V, a
  Li inventory 200 times the cathode's, fast solid diffusion and metallic conductivity,
  and a rate constant whose exchange current per m² of cell (a L F k_BPX (θ(1 − θ))^½)
  at the start is the foil's i0.  A BPX whose negative electrode has an OCP other than
  0 V (a full cell) is refused, naming the field.
- What BPX has no field for travels in "User-defined" (numbers and tables PyBaMM carries
  along unused, or uses under its own names: "Thermodynamic factor", "Positive electrode
  double-layer capacity [F.m-2]"): the CBD split of the porosity, the AM size classes
  (BPX holds one particle per phase; the standard fields carry the Sauter-mean radius,
  the same AM volume and area), σ_eff against θ, the AM density, the double layers.
  They restore the exact parameters on import as long as the standard fields they
  depend on were not edited; otherwise the standard fields win, with a report line.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path

import numpy as np

from physics.cell import electrolyte_conductivity_s_m
from physics.cell_params import (
    FARADAY,
    GAS_CONSTANT,
    CathodeParameters,
    CellParameters,
    ElectrolyteParameters,
    LithiumFoilParameters,
    SeparatorParameters,
)
from physics.electrolyte import conductivity_valoen2005_s_m, diffusivity_valoen2005_m2_s
from physics.ocp import OCP_FUNCTIONS, PolyExpOCP, ocp_function

BPX_VERSION = "1.0.0"
#: Li foil proxy (the BPX negative electrode): porosity and transport efficiency, particle
#: radius [m], solid diffusivity [m²/s], conductivity [S/m] (Li metal ~1.1e7), the
#: stoichiometry it starts at, and its Li inventory over the cathode's.
FOIL_POROSITY = 0.5
FOIL_TRANSPORT_EFFICIENCY = 0.5
FOIL_PARTICLE_RADIUS_M = 1e-6
FOIL_DIFFUSIVITY_M2_S = 1e-11
FOIL_CONDUCTIVITY_S_M = 1.1e7
FOIL_START_STOICHIOMETRY = 0.5
FOIL_INVENTORY_RATIO = 200.0
#: User-defined names of what BPX has no field for.
X_CBD_FRACTION = "etwin: cathode CBD volume fraction"
X_CBD_POROSITY = "etwin: cathode CBD porosity"
X_SIZE_CLASSES = "etwin: cathode particle size classes (x: radius [m], y: AM volume share)"
X_SURFACE_AREA = "etwin: cathode specific surface area [m-1] (0: geometric)"
X_SIGMA_TABLE = "etwin: cathode conductivity vs stoichiometry [S.m-1]"
X_SIGMA_CONSTANT = "etwin: cathode conductivity beside the table [S.m-1] (unused)"
X_DENSITY = "etwin: cathode active material density [kg.m-3]"
X_FOIL_I0 = "etwin: lithium foil exchange-current density [A.m-2]"
X_FOIL_CDL = "etwin: lithium foil double-layer capacitance [F.m-2]"
P_CATHODE_CDL = "Positive electrode double-layer capacity [F.m-2]"
P_TDF = "Thermodynamic factor"
P_OCV_100 = "Open-circuit voltage at 100% SOC [V]"
P_OCV_0 = "Open-circuit voltage at 0% SOC [V]"
#: An OCP read from BPX is one of :data:`physics.ocp.OCP_FUNCTIONS` if it is within this
#: many volts of it at the file's points (a table) or on the stoichiometry window.
OCP_MATCH_V = 1e-3

_NUMBER = "a number"
_FUNCTION = "a number, an expression in x (string) or a table {\"x\": [...], \"y\": [...]}"
_PARTICLE = {
    "Minimum stoichiometry": _NUMBER, "Maximum stoichiometry": _NUMBER,
    "Maximum concentration [mol.m-3]": _NUMBER, "Particle radius [m]": _NUMBER,
    "Surface area per unit volume [m-1]": _NUMBER, "Diffusivity [m2.s-1]": _FUNCTION,
    "OCP [V]": _FUNCTION, "Reaction rate constant [mol.m-2.s-1]": _NUMBER}
_PARTICLE_OPTIONAL = {
    "Diffusivity activation energy [J.mol-1]": _NUMBER,
    "Entropic change coefficient [V.K-1]": _FUNCTION,
    "Reaction rate constant activation energy [J.mol-1]": _NUMBER,
    "OCP (delithiation) [V]": _FUNCTION, "OCP (lithiation) [V]": _FUNCTION,
    "OCP hysteresis decay constant": _NUMBER}
_CONTACT = {"Thickness [m]": _NUMBER, "Porosity": _NUMBER, "Transport efficiency": _NUMBER}
_ELECTRODE = {**_CONTACT, "Conductivity [S.m-1]": _NUMBER, **_PARTICLE}
#: (required, optional) fields of each section of "Parameterisation" (BPX 1.x; the v0.x
#: places of the temperatures and the salt concentration are read too).
_SCHEMA = {
    "Cell": ({"Electrode area [m2]": _NUMBER,
              "Number of electrode pairs connected in parallel to make a cell": _NUMBER,
              "Lower voltage cut-off [V]": _NUMBER, "Upper voltage cut-off [V]": _NUMBER,
              "Nominal cell capacity [A.h]": _NUMBER},
             {"External surface area [m2]": _NUMBER, "Volume [m3]": _NUMBER,
              "Reference temperature [K]": _NUMBER, "Density [kg.m-3]": _NUMBER,
              "Specific heat capacity [J.K-1.kg-1]": _NUMBER,
              "Ambient temperature [K]": _NUMBER, "Initial temperature [K]": _NUMBER,
              "Thermal conductivity [W.m-1.K-1]": _NUMBER}),
    "Electrolyte": ({"Cation transference number": _NUMBER, "Diffusivity [m2.s-1]": _FUNCTION,
                     "Conductivity [S.m-1]": _FUNCTION},
                    {"Diffusivity activation energy [J.mol-1]": _NUMBER,
                     "Conductivity activation energy [J.mol-1]": _NUMBER,
                     "Initial concentration [mol.m-3]": _NUMBER}),
    "Negative electrode": (_ELECTRODE, _PARTICLE_OPTIONAL),
    "Positive electrode": (_ELECTRODE, _PARTICLE_OPTIONAL),
    "Separator": (_CONTACT, {}),
}
_STATE = {"Initial conditions": {"Initial state-of-charge": _NUMBER,
                                 "Initial temperature [K]": _NUMBER,
                                 "Initial electrolyte concentration [mol.m-3]": _NUMBER,
                                 "Initial hysteresis state: Positive electrode": _NUMBER,
                                 "Initial hysteresis state: Negative electrode": _NUMBER},
          "Thermal environment": {"Ambient temperature [K]": _NUMBER,
                                  "Heat transfer coefficient [W.m-2.K-1]": _NUMBER},
          "Degradation": {"LLI": _NUMBER, "LAM: Positive electrode": _NUMBER,
                          "LAM: Negative electrode": _NUMBER}}


# ----------------------------------------------------------------------------- functions
_ALLOWED_CALLS = {"exp": np.exp, "tanh": np.tanh, "cosh": np.cosh}


def _expression(text: str, where: str):
    """A BPX expression in x (numbers, x, + - * / **, exp, tanh, cosh) as a function of a
    numpy array, parsed without eval; ValueError naming ``where`` otherwise."""
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"{where}: {text!r} is not an expression in x ({err.msg})") from None
    ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
           ast.Div: np.divide, ast.Pow: np.power}

    def build(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not \
                isinstance(node.value, bool):
            value = float(node.value)
            return lambda x: np.full_like(x, value)
        if isinstance(node, ast.Name) and node.id == "x":
            return lambda x: x
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = build(node.operand)
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return lambda x: sign * inner(x)
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            left, right, op = build(node.left), build(node.right), ops[type(node.op)]
            return lambda x: op(left(x), right(x))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _ALLOWED_CALLS and len(node.args) == 1
                and not node.keywords):
            inner, fn = build(node.args[0]), _ALLOWED_CALLS[node.func.id]
            return lambda x: fn(inner(x))
        raise ValueError(f"{where}: {text!r}: {ast.unparse(node)!r} is not allowed in a BPX "
                         f"expression (numbers, x, + - * / **, {', '.join(_ALLOWED_CALLS)})")

    fn = build(tree.body)

    def evaluate(x):
        with np.errstate(all="ignore"):
            return fn(np.asarray(x, dtype=float))

    return evaluate


def _function(value, where: str):
    """A BPX FloatFunctionTable as a function of a numpy array (a table: linear, as PyBaMM
    interpolates it)."""
    if _is_number(value):
        return lambda x: np.full_like(np.asarray(x, dtype=float), float(value))
    if isinstance(value, str):
        return _expression(value, where)
    x, y = _table(value, where)
    order = np.argsort(x)
    x, y = x[order], y[order]

    def interpolate(s):
        s = np.asarray(s, dtype=float)
        if x.size == 1:
            return np.full_like(s, y[0])
        out = np.interp(s, x, y)
        lo, hi = (y[1] - y[0]) / (x[1] - x[0]), (y[-1] - y[-2]) / (x[-1] - x[-2])
        out = np.where(s < x[0], y[0] + lo * (s - x[0]), out)
        return np.where(s > x[-1], y[-1] + hi * (s - x[-1]), out)

    return interpolate


def _table(value, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(value, dict) and set(value) == {"x", "y"}
            and all(isinstance(value[k], list) and value[k] and all(_is_number(v)
                                                                     for v in value[k])
                    for k in "xy") and len(value["x"]) == len(value["y"])):
        raise ValueError(f"{where}: expected {_FUNCTION} (a table: two number lists of the "
                         f"same length), got {_short(value)}")
    x, y = np.asarray(value["x"], dtype=float), np.asarray(value["y"], dtype=float)
    if len(np.unique(x)) != x.size:
        raise ValueError(f"{where}: the table's x values repeat")
    return x, y


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _inverse(raw: float, forward, target: float) -> float:
    """The value x near ``raw`` with ``forward(x) == target`` exactly, preferring the
    15-significant-digit decimal: a quantity derived back (ε_AM = a R / 3, k, τ) returns the
    number it was exported from rather than a neighbour one ulp away; ``raw`` if none."""
    candidates = [float(f"{raw:.15g}"), raw]
    below = above = raw
    for _ in range(3):
        below, above = float(np.nextafter(below, -np.inf)), float(np.nextafter(above, np.inf))
        candidates += [below, above]
    for x in candidates:
        if forward(x) == target:
            return x
    return raw


def _num(value: float) -> str:
    return repr(float(value))


def _poly_exp_expression(ocp: PolyExpOCP) -> str:
    terms = [_num(ocp.poly[0])] + [f"{_num(c)} * x ** {m}" if m > 1 else f"{_num(c)} * x"
                                   for m, c in enumerate(ocp.poly) if m > 0]
    a, b, c = ocp.exp_terms
    terms.append(f"{_num(a)} * exp({_num(b)} * x + {_num(c)})")
    return " + ".join(terms)


def _ocp_table(ocp, tolerance_v: float = 5e-5) -> dict:
    """{"x", "y"} of ``ocp`` on [0, 1], refined until linear interpolation is within
    ``tolerance_v`` of the curve at every interval's midpoint (PyBaMM interpolates tables
    linearly; the curve here is PCHIP)."""
    knots = set(np.linspace(0.0, 1.0, 21).tolist())
    knots |= {float(s) for s in getattr(ocp, "s", ()) if 0.0 <= s <= 1.0}
    xs = sorted(knots)
    out = [xs[0]]
    for lo, hi in itertools.pairwise(xs):
        stack = [(lo, hi)]
        while stack:
            a, b = stack.pop()
            mid = 0.5 * (a + b)
            linear = 0.5 * (float(ocp(a)) + float(ocp(b)))
            if abs(float(ocp(mid)) - linear) > tolerance_v and b - a > 1e-5:
                stack += [(mid, b), (a, mid)]
            else:
                out.append(b)
    x = np.asarray(out)
    return {"x": [float(v) for v in x], "y": [float(v) for v in ocp(x)]}


def _valoen_expressions(temperature_k: float) -> tuple[str, str]:
    """Valøen & Reimers 2005 D(c) and κ(c) at ``temperature_k`` as BPX expressions in x
    (the salt concentration [mol/m³]; :mod:`physics.electrolyte` evaluates them in mol/L)."""
    t = float(temperature_k)
    ln10 = math.log(10.0)
    # D = 1e-4 10^(-4.43 - 54 / (T - 229 - 5 c) - 0.22 c), c [mol/L] = x / 1000
    diffusivity = (f"1e-4 * exp({_num(ln10)} * (-4.43 - 54.0 / ({_num(t - 229.0)} - 0.005 * x)"
                   f" - 0.00022 * x))")
    p0 = -10.5 + 0.0740 * t - 6.96e-5 * t * t
    p1 = (0.668 - 0.0178 * t + 2.80e-5 * t * t) * 1e-3
    p2 = (0.494 - 8.86e-4 * t) * 1e-6
    # κ = 0.1 c (p0 + p1' c + p2' c²)², c [mol/L]
    conductivity = f"0.0001 * x * ({_num(p0)} + {_num(p1)} * x + {_num(p2)} * x ** 2) ** 2"
    return diffusivity, conductivity


# ------------------------------------------------------------------------------- export
def sauter_radius_m(cathode: CathodeParameters) -> float:
    """1 / Σ_k f_k / R_k [m]: the one radius with the classes' AM volume and surface."""
    return 1.0 / sum(f / r for f, r in zip(cathode.particle_volume_fractions,
                                          cathode.particle_radii_m, strict=True))


def to_bpx(params: CellParameters, report: list[str] | None = None, *,
           electrode_area_m2: float = 1.0, title: str = "electrode-twin half cell") -> dict:
    """``params`` as a BPX 1.0 DFN object (module docstring for the mapping).  Each
    approximation BPX forces is appended to ``report`` as one line."""
    notes = report if report is not None else []
    if not (math.isfinite(electrode_area_m2) and electrode_area_m2 > 0):
        raise ValueError(f"electrode_area_m2 = {electrode_area_m2!r} must be > 0")
    cat, sep, el, foil = params.cathode, params.separator, params.electrolyte, \
        params.lithium_foil
    t = params.temperature_k
    area = float(electrode_area_m2)
    theta_0, theta_max = cat.initial_stoichiometry, params.discharged_stoichiometry()
    nominal = params.nominal_capacity_ah_m2()
    user: dict = {}

    # cathode
    eps_e = cat.electrolyte_volume_fraction
    if cat.cbd_volume_fraction > 0 and cat.cbd_porosity > 0:
        notes.append(f"cathode: 'Porosity' = the electrolyte volume fraction ε + "
                     f"cbd_porosity·ε_CBD = {eps_e:.6g} (BPX has one porosity; the split "
                     f"travels in User-defined)")
    user[X_CBD_FRACTION] = cat.cbd_volume_fraction
    user[X_CBD_POROSITY] = cat.cbd_porosity
    area_m = float(sum(cat.surface_area_per_class_m()))
    radius = 3.0 * cat.active_volume_fraction / area_m  # ε_AM = a R / 3, as PyBaMM reads it
    if len(cat.particle_radii_m) > 1:
        notes.append(f"cathode: {len(cat.particle_radii_m)} AM size classes -> one particle "
                     f"of radius {radius * 1e6:.4g} µm (same AM volume and surface area; the "
                     f"classes travel in User-defined, PyBaMM runs the one radius)")
    if cat.specific_surface_area_m > 0:
        sauter = sauter_radius_m(cat)
        if not math.isclose(radius, sauter, rel_tol=1e-9):
            notes.append(f"cathode: specific_surface_area_m {area_m:.6g} m⁻¹ is not the "
                         f"spheres' -> 'Particle radius [m]' = 3 ε_AM / a = "
                         f"{radius * 1e6:.4g} µm (the particles' own Sauter radius "
                         f"{sauter * 1e6:.4g} µm travels in User-defined)")
    user[X_SIZE_CLASSES] = {"x": list(cat.particle_radii_m),
                            "y": list(cat.particle_volume_fractions)}
    user[X_SURFACE_AREA] = cat.specific_surface_area_m
    sigma = cat.electronic_conductivity_s_m
    if cat.electronic_conductivity_vs_stoichiometry:
        from physics.am_conductivity import table_conductivity, table_log10_points

        sigma = float(table_conductivity(
            table_log10_points(cat.electronic_conductivity_vs_stoichiometry), theta_0))
        notes.append(f"cathode: electronic_conductivity_vs_stoichiometry is not representable "
                     f"(BPX's conductivity is a constant) -> 'Conductivity [S.m-1]' = its "
                     f"value at θ_0 = {theta_0:.4g}, {sigma:.4g} S/m (the table travels in "
                     f"User-defined)")
        table = cat.electronic_conductivity_vs_stoichiometry
        user[X_SIGMA_TABLE] = {"x": [r[0] for r in table], "y": [r[1] for r in table]}
        user[X_SIGMA_CONSTANT] = cat.electronic_conductivity_s_m
    user[X_DENSITY] = cat.active_density_kg_m3
    user[P_CATHODE_CDL] = cat.double_layer_capacitance_f_m2
    ocp = ocp_function(cat.ocp)
    if isinstance(ocp, PolyExpOCP):
        ocp_value: object = _poly_exp_expression(ocp)
    else:
        ocp_value = _ocp_table(ocp)
        notes.append(f"cathode: OCP {cat.ocp!r} (PCHIP through its table) -> a table of "
                     f"{len(ocp_value['x'])} points on [0, 1], within 0.05 mV of it under "
                     f"PyBaMM's linear interpolation")
    positive = {
        "Thickness [m]": cat.thickness_m,
        "Conductivity [S.m-1]": sigma,
        "Porosity": eps_e,
        "Transport efficiency": cat.transport_factor,
        "Minimum stoichiometry": theta_0,
        "Maximum stoichiometry": theta_max,
        "Maximum concentration [mol.m-3]": cat.max_concentration_mol_m3,
        "Particle radius [m]": radius,
        "Surface area per unit volume [m-1]": area_m,
        "Diffusivity [m2.s-1]": cat.solid_diffusivity_m2_s,
        "Diffusivity activation energy [J.mol-1]": 0.0,
        "OCP [V]": ocp_value,
        "Entropic change coefficient [V.K-1]": 0.0,
        "Reaction rate constant [mol.m-2.s-1]": cat.reaction_rate_constant * math.sqrt(
            el.initial_concentration_mol_m3) * cat.max_concentration_mol_m3,
        "Reaction rate constant activation energy [J.mol-1]": 0.0,
    }

    # Li foil as a thin electrode
    eps_s = 1.0 - FOIL_POROSITY
    a_foil = 3.0 * eps_s / FOIL_PARTICLE_RADIUS_M
    li_needed = cat.active_volume_fraction * cat.max_concentration_mol_m3 * cat.thickness_m * (
        1.0 - theta_0)  # mol/m²
    c_max_foil = FOIL_INVENTORY_RATIO * li_needed / (eps_s * foil.thickness_m * (
        FOIL_START_STOICHIOMETRY))
    theta_f = FOIL_START_STOICHIOMETRY
    k_foil = foil.exchange_current_density_a_m2 / (
        FARADAY * a_foil * foil.thickness_m * math.sqrt(theta_f * (1.0 - theta_f)))
    foil_resistance = foil.thickness_m / (FOIL_TRANSPORT_EFFICIENCY
                                          * electrolyte_conductivity_s_m(params))
    theta_f_min = theta_f - nominal * 3600.0 / FARADAY / (c_max_foil * eps_s * foil.thickness_m)
    negative = {
        "Thickness [m]": foil.thickness_m,
        "Conductivity [S.m-1]": FOIL_CONDUCTIVITY_S_M,
        "Porosity": FOIL_POROSITY,
        "Transport efficiency": FOIL_TRANSPORT_EFFICIENCY,
        "Minimum stoichiometry": theta_f_min,
        "Maximum stoichiometry": theta_f,
        "Maximum concentration [mol.m-3]": c_max_foil,
        "Particle radius [m]": FOIL_PARTICLE_RADIUS_M,
        "Surface area per unit volume [m-1]": a_foil,
        "Diffusivity [m2.s-1]": FOIL_DIFFUSIVITY_M2_S,
        "Diffusivity activation energy [J.mol-1]": 0.0,
        "OCP [V]": 0.0,
        "Entropic change coefficient [V.K-1]": 0.0,
        "Reaction rate constant [mol.m-2.s-1]": k_foil,
        "Reaction rate constant activation energy [J.mol-1]": 0.0,
    }
    notes.append(f"lithium_foil: BPX has no metal electrode -> 'Negative electrode' is a "
                 f"{foil.thickness_m * 1e6:.3g} µm porous proxy with OCP 0 V, porosity "
                 f"{FOIL_POROSITY}, {FOIL_INVENTORY_RATIO:g}x the cathode's Li and i0 = "
                 f"{foil.exchange_current_density_a_m2:.4g} A/m² per cell area at the start "
                 f"(BPX's i0 goes as c_e^0.5, this foil's as c_e^0.3; in a full-cell DFN its "
                 f"electrolyte adds L / (0.5 κ) = {foil_resistance:.2g} Ω m² and "
                 f"{FOIL_POROSITY * foil.thickness_m * 1e6:.3g} µm of electrolyte at the foil)")
    user[X_FOIL_I0] = foil.exchange_current_density_a_m2
    # PyBaMM's state of charge: 100 % where the discharge starts, 0 % at the cut-off
    user[P_OCV_100] = float(ocp(theta_0))
    user[P_OCV_0] = params.cutoff_voltage_v
    user[X_FOIL_CDL] = foil.double_layer_capacitance_f_m2

    # electrolyte
    if el.properties == "constant":
        diffusivity: object = el.diffusivity_m2_s
        conductivity: object = el.conductivity_s_m
    else:
        diffusivity, conductivity = _valoen_expressions(t)
        notes.append(f"electrolyte: Valøen & Reimers 2005 D(c, T), κ(c, T) -> functions of the "
                     f"concentration at {t:g} K (BPX functions take x only; activation "
                     f"energies 0, so away from {t:g} K PyBaMM keeps these values)")
    if el.thermodynamic_factor != 1.0:
        notes.append(f"electrolyte: thermodynamic_factor {el.thermodynamic_factor:g} has no "
                     f"BPX field (PyBaMM assumes 1) -> User-defined {P_TDF!r}, which PyBaMM "
                     f"reads")
    user[P_TDF] = el.thermodynamic_factor
    electrolyte = {
        "Cation transference number": el.transference_number,
        "Diffusivity [m2.s-1]": diffusivity,
        "Diffusivity activation energy [J.mol-1]": 0.0,
        "Conductivity [S.m-1]": conductivity,
        "Conductivity activation energy [J.mol-1]": 0.0,
    }
    notes.append("cathode, lithium_foil: double-layer capacitances (impedance only) and the "
                 "AM density (capacity per gram) have no BPX field -> User-defined")
    total_thickness = foil.thickness_m + sep.thickness_m + cat.thickness_m
    return {
        "Header": {"BPX": BPX_VERSION, "Title": title, "Model": "DFN",
                   "Description": ("Half cell: porous positive electrode | separator | Li foil "
                                   "(the negative electrode is a thin Li-metal proxy with "
                                   "OCP 0 V). Written by electrode-twin physics/bpx.py.")},
        "Parameterisation": {
            "Cell": {
                "Electrode area [m2]": area,
                "External surface area [m2]": 2.0 * area,
                "Volume [m3]": area * total_thickness,
                "Number of electrode pairs connected in parallel to make a cell": 1,
                "Lower voltage cut-off [V]": params.cutoff_voltage_v,
                "Upper voltage cut-off [V]": params.max_voltage_v,
                "Nominal cell capacity [A.h]": nominal * area,
                "Reference temperature [K]": t,
            },
            "Electrolyte": electrolyte,
            "Negative electrode": negative,
            "Positive electrode": positive,
            "Separator": {"Thickness [m]": sep.thickness_m, "Porosity": sep.porosity,
                          "Transport efficiency": sep.porosity / sep.tortuosity_factor},
            "User-defined": user,
        },
        "State": {
            "Initial conditions": {
                "Initial temperature [K]": t,
                "Initial electrolyte concentration [mol.m-3]": el.initial_concentration_mol_m3,
            },
            "Thermal environment": {"Ambient temperature [K]": t},
        },
    }


def save_bpx(params: CellParameters, path: str | Path, report: list[str] | None = None,
             **kwargs) -> Path:
    """:func:`to_bpx` written to ``path`` (JSON, atomically)."""
    from physics.state import write_atomic

    text = json.dumps(to_bpx(params, report, **kwargs), indent=2) + "\n"
    return write_atomic(path, lambda fh: fh.write(text.encode()))


# ------------------------------------------------------------------------------- import
def _check_section(section, required: dict, optional: dict, where: str) -> dict:
    if not isinstance(section, dict):
        raise ValueError(f"{where}: expected an object, got {_short(section)}")
    missing = [k for k in required if k not in section]
    if missing:
        raise ValueError(f"{where}: missing BPX field(s) "
                         f"{', '.join(repr(k) for k in missing)}")
    unknown = [k for k in section if k not in required and k not in optional]
    if unknown:
        raise ValueError(f"{where}: unknown BPX field(s) {', '.join(repr(k) for k in unknown)}"
                         f"; allowed: {', '.join(repr(k) for k in [*required, *optional])}")
    for key, value in section.items():
        kind = required.get(key, optional.get(key))
        if kind == _NUMBER and not _is_number(value):
            raise ValueError(f"{where}.{key}: expected {_NUMBER}, got {_short(value)}")
        if kind == _FUNCTION and not _is_number(value):
            _function(value, f"{where}.{key}")  # parses, or names the field
    return section


def _validated(data) -> dict:
    """``data``'s Header, Parameterisation sections and State, checked against the BPX
    1.x schema (v0.x places of the temperatures and the salt accepted)."""
    if not isinstance(data, dict):
        raise ValueError(f"a BPX file holds one JSON object, got {type(data).__name__}")
    for key in ("Header", "Parameterisation"):
        if key not in data:
            raise ValueError(f"missing BPX section {key!r}")
    unknown = [k for k in data if k not in ("Header", "Parameterisation", "State",
                                             "Validation")]
    if unknown:
        raise ValueError(f"unknown BPX section(s) {unknown}; allowed: 'Header', "
                         f"'Parameterisation', 'State', 'Validation'")
    header = data["Header"]
    if not isinstance(header, dict) or "BPX" not in header or "Model" not in header:
        raise ValueError("Header: needs 'BPX' (the format version) and 'Model'")
    if header["Model"] not in ("DFN", "SPMe", "SPM", "Partial"):
        raise ValueError(f"Header.Model = {header['Model']!r}; allowed: 'DFN', 'SPMe', "
                         f"'SPM', 'Partial'")
    par = data["Parameterisation"]
    if not isinstance(par, dict):
        raise ValueError("Parameterisation: expected an object")
    for name in par:
        if name not in _SCHEMA and name != "User-defined":
            raise ValueError(f"Parameterisation: unknown section {name!r}; allowed: "
                             f"{', '.join(repr(k) for k in [*_SCHEMA, 'User-defined'])}")
    for name, (required, optional) in _SCHEMA.items():
        where = f"Parameterisation.{name}"
        if name not in par:
            raise ValueError(f"{where}: missing (this half-cell DFN needs the Cell, "
                             f"Electrolyte, both electrodes and the Separator; Header.Model "
                             f"= {header['Model']!r})")
        if name.endswith("electrode") and isinstance(par[name], dict) and "Particle" in \
                par[name]:
            raise ValueError(f"{where}.Particle: blended electrodes (several active materials) "
                             f"are not representable in this model (one AM)")
        _check_section(par[name], required, optional, where)
    user = par.get("User-defined", {})
    if not isinstance(user, dict):
        raise ValueError("Parameterisation.User-defined: expected an object")
    state = data.get("State") or {}
    if not isinstance(state, dict):
        raise ValueError("State: expected an object")
    for name, section in state.items():
        if name not in _STATE:
            raise ValueError(f"State: unknown section {name!r}; allowed: "
                             f"{', '.join(repr(k) for k in _STATE)}")
        if section is not None:
            _check_section(section, {}, _STATE[name], f"State.{name}")
    return data


def _arrhenius(section: dict, key: str, t: float, t_ref: float, notes: list[str],
               where: str) -> float:
    ea = float(section.get(key, 0.0))
    if ea == 0.0 or t == t_ref:
        return 1.0
    factor = math.exp(ea / GAS_CONSTANT * (1.0 / t_ref - 1.0 / t))
    notes.append(f"{where}.{key} = {ea:g}: the value at {t:g} K (x {factor:.4g} from "
                 f"{t_ref:g} K) is used; the model is isothermal")
    return factor


def _match_ocp(value, theta_lo: float, theta_hi: float, where: str) -> tuple[str, float]:
    fn = _function(value, where)
    if isinstance(value, dict):
        points = np.asarray(value["x"], dtype=float)
        points = points[(points >= 0.0) & (points <= 1.0)]
    else:
        points = np.linspace(theta_lo, theta_hi, 201)
    if points.size == 0:
        raise ValueError(f"{where}: no point in the stoichiometry range [0, 1]")
    errors = {name: float(np.max(np.abs(fn(points) - ocp(points))))
              for name, ocp in OCP_FUNCTIONS.items()}
    best = min(errors, key=errors.get)
    if not errors[best] <= OCP_MATCH_V:
        raise ValueError(
            f"{where}: not representable: this model's OCP is one of its named curves "
            f"({', '.join(f'{n}: {e * 1e3:.3g} mV off' for n, e in errors.items())}, "
            f"allowed {OCP_MATCH_V * 1e3:g} mV)")
    return best, errors[best]


def _is_lithium_metal(value, where: str) -> bool:
    fn = _function(value, where)
    return bool(np.all(np.abs(fn(np.linspace(0.0, 1.0, 101))) < 1e-6))


def from_bpx(data: dict, report: list[str] | None = None) -> CellParameters:
    """The half cell of a BPX object (module docstring for the mapping).  ValueError naming
    the BPX field for a missing or malformed field, a full cell (negative OCP not 0 V), an
    OCP this model does not have or a value out of this model's range.  What it reads
    approximately or ignores is appended to ``report``."""
    notes = report if report is not None else []
    data = _validated(data)
    header, par = data["Header"], data["Parameterisation"]
    cell, el = par["Cell"], par["Electrolyte"]
    neg, pos, sep = par["Negative electrode"], par["Positive electrode"], par["Separator"]
    user = par.get("User-defined") or {}
    state = data.get("State") or {}
    ic = state.get("Initial conditions") or {}
    env = state.get("Thermal environment") or {}
    if header["Model"] != "DFN":
        notes.append(f"Header.Model = {header['Model']!r}: read into this DFN")

    # temperature
    t_ref = cell.get("Reference temperature [K]")
    candidates = [("State.Initial conditions.Initial temperature [K]",
                   ic.get("Initial temperature [K]", cell.get("Initial temperature [K]"))),
                  ("State.Thermal environment.Ambient temperature [K]",
                   env.get("Ambient temperature [K]", cell.get("Ambient temperature [K]"))),
                  ("Parameterisation.Cell.Reference temperature [K]", t_ref)]
    given = [(k, float(v)) for k, v in candidates if v is not None]
    if not given:
        given = [("default", 298.15)]
        notes.append("no temperature in the file: 298.15 K")
    t = given[0][1]
    if len({v for _, v in given}) > 1:
        notes.append(f"temperatures differ ({', '.join(f'{k} = {v:g}' for k, v in given)}): "
                     f"the isothermal model runs at {t:g} K")
    t_ref = float(t_ref) if t_ref is not None else t
    for key in ("Density [kg.m-3]", "Specific heat capacity [J.K-1.kg-1]",
                "Thermal conductivity [W.m-1.K-1]"):
        if key in cell:
            notes.append(f"Parameterisation.Cell.{key}: ignored (isothermal model)")
    if env.get("Heat transfer coefficient [W.m-2.K-1]") is not None:
        notes.append("State.Thermal environment.Heat transfer coefficient: ignored "
                     "(isothermal model)")
    for key, value in (state.get("Degradation") or {}).items():
        if value:
            notes.append(f"State.Degradation.{key} = {value}: not representable (no "
                         f"degradation in this model), ignored")
    for key in ("Initial hysteresis state: Positive electrode",
                "Initial hysteresis state: Negative electrode"):
        if ic.get(key) is not None:
            notes.append(f"State.Initial conditions.{key}: not representable (no OCP "
                         f"hysteresis), ignored")
    if "Validation" in data:
        notes.append("Validation: experimental data ignored")
    pairs = cell["Number of electrode pairs connected in parallel to make a cell"]
    if pairs != 1:
        notes.append(f"Parameterisation.Cell: {pairs} electrode pairs: the model is one pair "
                     f"per m² (the nominal capacity per m² divides by them)")

    # electrolyte
    c_e0 = ic.get("Initial electrolyte concentration [mol.m-3]",
                  el.get("Initial concentration [mol.m-3]"))
    if c_e0 is None:
        c_e0 = 1000.0
        notes.append("State.Initial conditions.Initial electrolyte concentration: absent, "
                     "1000 mol/m³ (PyBaMM's default)")
    c_e0 = float(c_e0)
    where = "Parameterisation.Electrolyte"
    d_fn = _function(el["Diffusivity [m2.s-1]"], f"{where}.Diffusivity [m2.s-1]")
    k_fn = _function(el["Conductivity [S.m-1]"], f"{where}.Conductivity [S.m-1]")
    grid = np.linspace(50.0, 4000.0, 80)
    d_t = _arrhenius(el, "Diffusivity activation energy [J.mol-1]", t, t_ref, notes, where)
    k_t = _arrhenius(el, "Conductivity activation energy [J.mol-1]", t, t_ref, notes, where)
    valoen = (np.allclose(d_fn(grid) * d_t, diffusivity_valoen2005_m2_s(grid, t), rtol=1e-6)
              and np.allclose(k_fn(grid) * k_t, conductivity_valoen2005_s_m(grid, t),
                              rtol=1e-6))
    defaults = ElectrolyteParameters()
    if valoen:
        properties = "valoen2005"
        diffusivity, conductivity = defaults.diffusivity_m2_s, defaults.conductivity_s_m
    else:
        properties = "constant"
        diffusivity = float(d_fn(np.array([c_e0]))[0]) * d_t
        conductivity = float(k_fn(np.array([c_e0]))[0]) * k_t
        for key, value in (("Diffusivity [m2.s-1]", diffusivity),
                           ("Conductivity [S.m-1]", conductivity)):
            if not _is_number(el[key]):
                notes.append(f"{where}.{key}: a function of concentration is not "
                             f"representable (constant or Valøen & Reimers 2005 only) -> "
                             f"its value at c_e0 = {c_e0:g} mol/m³, {value:.4g}")
    tdf = user.get(P_TDF, 1.0)
    electrolyte = _build(ElectrolyteParameters, "Parameterisation.Electrolyte",
                         initial_concentration_mol_m3=c_e0,
                         transference_number=float(el["Cation transference number"]),
                         thermodynamic_factor=float(tdf) if _is_number(tdf) else 1.0,
                         properties=properties, diffusivity_m2_s=diffusivity,
                         conductivity_s_m=conductivity)

    # separator
    where = "Parameterisation.Separator"
    separator = _build(SeparatorParameters, where, thickness_m=float(sep["Thickness [m]"]),
                       porosity=float(sep["Porosity"]),
                       tortuosity_factor=_tortuosity(sep, where))

    # Li foil
    where = "Parameterisation.Negative electrode"
    if not _is_lithium_metal(neg["OCP [V]"], f"{where}.OCP [V]"):
        raise ValueError(f"{where}.OCP [V]: not representable: this model is a half cell "
                         f"against Li metal (the negative electrode's OCP must be 0 V, as "
                         f"etwin cell --export-bpx writes its Li foil); this file describes "
                         f"a full cell")
    theta_n = float(neg["Maximum stoichiometry"])
    i0_foil = FARADAY * float(neg["Reaction rate constant [mol.m-2.s-1]"]) * float(
        neg["Surface area per unit volume [m-1]"]) * float(neg["Thickness [m]"]) * math.sqrt(
        max(theta_n * (1.0 - theta_n), 0.0)) * _arrhenius(
        neg, "Reaction rate constant activation energy [J.mol-1]", t, t_ref, notes, where)
    stored_i0 = user.get(X_FOIL_I0)
    if _is_number(stored_i0) and math.isclose(stored_i0, i0_foil, rel_tol=1e-6):
        i0_foil = float(stored_i0)
    notes.append(f"{where}: Li metal (OCP 0 V) -> the Li foil, i0 = a L F k_BPX (θ(1 − θ))^½ "
                 f"= {i0_foil:.4g} A/m² at its initial stoichiometry; its porosity, transport "
                 f"efficiency, particles, conductivity and Li inventory are not used (a "
                 f"planar foil of unlimited Li)")
    foil_cdl = user.get(X_FOIL_CDL)
    if not _is_number(foil_cdl):
        foil_cdl = LithiumFoilParameters().double_layer_capacitance_f_m2
        notes.append(f"lithium_foil.double_layer_capacitance_f_m2: no BPX field -> "
                     f"{foil_cdl} F/m² (impedance only)")
    foil = _build(LithiumFoilParameters, where, thickness_m=float(neg["Thickness [m]"]),
                  exchange_current_density_a_m2=i0_foil,
                  double_layer_capacitance_f_m2=float(foil_cdl))

    # cathode
    where = "Parameterisation.Positive electrode"
    for key in ("OCP (delithiation) [V]", "OCP (lithiation) [V]",
                "OCP hysteresis decay constant"):
        if key in pos:
            notes.append(f"{where}.{key}: not representable (no OCP hysteresis), ignored")
    dudt = pos.get("Entropic change coefficient [V.K-1]")
    if dudt is not None and t != t_ref and not (_is_number(dudt) and dudt == 0):
        notes.append(f"{where}.Entropic change coefficient: ignored (the OCP is taken at "
                     f"{t:g} K as at the reference {t_ref:g} K)")
    c_max = float(pos["Maximum concentration [mol.m-3]"])
    radius = float(pos["Particle radius [m]"])
    area_m = float(pos["Surface area per unit volume [m-1]"])
    eps_am = _inverse(area_m * radius / 3.0, lambda e: 3.0 * e / area_m, radius)
    theta_lo, theta_hi = float(pos["Minimum stoichiometry"]), float(pos["Maximum stoichiometry"])
    theta_0 = theta_lo
    soc = ic.get("Initial state-of-charge")
    if soc is not None and soc != 1:
        if not 0 <= soc <= 1:
            raise ValueError(f"State.Initial conditions.Initial state-of-charge = {soc} "
                             f"is outside the allowed range [0, 1]")
        theta_0 = theta_lo + (1.0 - soc) * (theta_hi - theta_lo)
        notes.append(f"State.Initial conditions.Initial state-of-charge = {soc:g} -> "
                     f"initial_stoichiometry {theta_0:.4g}, linear between the "
                     f"stoichiometry limits")
    ocp_name, ocp_error = _match_ocp(pos["OCP [V]"], theta_lo, theta_hi, f"{where}.OCP [V]")
    if ocp_error > 1e-6:
        notes.append(f"{where}.OCP [V] -> {ocp_name!r} (within {ocp_error * 1e3:.3g} mV)")
    d_s_value = pos["Diffusivity [m2.s-1]"]
    d_s_fn = _function(d_s_value, f"{where}.Diffusivity [m2.s-1]")
    if _is_number(d_s_value):
        d_s = float(d_s_value)
    else:
        window = np.linspace(theta_lo, theta_hi, 101)
        d_s = float(np.exp(np.mean(np.log(np.maximum(d_s_fn(window), 1e-300)))))
        notes.append(f"{where}.Diffusivity [m2.s-1]: a function of stoichiometry is not "
                     f"representable -> its geometric mean over [{theta_lo:.3g}, "
                     f"{theta_hi:.3g}], {d_s:.4g} m²/s")
    d_s *= _arrhenius(pos, "Diffusivity activation energy [J.mol-1]", t, t_ref, notes, where)
    k_bpx = float(pos["Reaction rate constant [mol.m-2.s-1]"]) * _arrhenius(
        pos, "Reaction rate constant activation energy [J.mol-1]", t, t_ref, notes, where)
    eps_e = float(pos["Porosity"])
    transport = float(pos["Transport efficiency"])
    cbd_fraction, cbd_porosity = user.get(X_CBD_FRACTION), user.get(X_CBD_POROSITY)
    if _is_number(cbd_fraction) and _is_number(cbd_porosity) and (
            eps_e - cbd_porosity * cbd_fraction > 0) and (
            eps_e + (1.0 - cbd_porosity) * cbd_fraction + eps_am <= 1.0 + 1e-9):
        porosity = _inverse(eps_e - cbd_porosity * cbd_fraction,
                            lambda e: e + cbd_porosity * cbd_fraction, eps_e)
    else:
        porosity, cbd_fraction, cbd_porosity = eps_e, 0.0, 0.0
        if X_CBD_FRACTION in user:
            notes.append(f"User-defined {X_CBD_FRACTION!r}: does not fit the file's porosity "
                         f"and AM fraction, ignored")
    defaults = CathodeParameters()
    radii, shares, own_area = (radius,), (1.0,), 0.0
    classes, stored_area = user.get(X_SIZE_CLASSES), user.get(X_SURFACE_AREA)
    if classes is not None:
        try:
            r_k, f_k = _table(classes, f"Parameterisation.User-defined.{X_SIZE_CLASSES}")
            fits = math.isclose(1.0 / float(np.sum(f_k / r_k)), radius, rel_tol=1e-9) if (
                stored_area == 0) else (_is_number(stored_area) and math.isclose(
                    stored_area, area_m, rel_tol=1e-9))
        except (ValueError, ZeroDivisionError):
            fits = False
        if fits:
            radii, shares = tuple(float(r) for r in r_k), tuple(float(f) for f in f_k)
            own_area = float(stored_area)  # 0: the spheres' geometric area
        else:
            notes.append(f"User-defined {X_SIZE_CLASSES!r}: does not fit the file's particle "
                         f"radius and surface area (edited?), one class of "
                         f"{radius * 1e6:.4g} µm used")
    sigma = float(pos["Conductivity [S.m-1]"])
    sigma_table: tuple = ()
    table = user.get(X_SIGMA_TABLE)
    if table is not None:
        from physics.am_conductivity import table_conductivity, table_log10_points

        x, y = _table(table, f"Parameterisation.User-defined.{X_SIGMA_TABLE}")
        sigma_table = tuple((float(a), float(b)) for a, b in zip(x, y, strict=True))
        try:
            at_start = float(table_conductivity(table_log10_points(sigma_table), theta_lo))
        except (ValueError, ZeroDivisionError):
            at_start = math.nan
        if not math.isclose(at_start, sigma, rel_tol=1e-9):
            notes.append(f"User-defined {X_SIGMA_TABLE!r}: its value at θ_0 is not the file's "
                         f"'Conductivity [S.m-1]' {sigma:.4g} (edited?): the constant is used")
            sigma_table = ()
        else:
            stored = user.get(X_SIGMA_CONSTANT)
            sigma = float(stored) if _is_number(stored) and stored > 0 else sigma
    density = user.get(X_DENSITY)
    if not _is_number(density):
        density = defaults.active_density_kg_m3
        notes.append(f"cathode.active_density_kg_m3: no BPX field -> {density:g} kg/m³ (the "
                     f"capacity per gram depends on it)")
    cdl = user.get(P_CATHODE_CDL)
    if not _is_number(cdl):
        cdl = defaults.double_layer_capacitance_f_m2
        notes.append(f"cathode.double_layer_capacitance_f_m2: no BPX field -> {cdl:g} F/m² "
                     f"(impedance only)")
    cathode = _build(
        CathodeParameters, where, thickness_m=float(pos["Thickness [m]"]), porosity=porosity,
        active_volume_fraction=eps_am, cbd_volume_fraction=cbd_fraction,
        cbd_porosity=cbd_porosity, tortuosity_factor=_tortuosity(
            {"Porosity": porosity, "Transport efficiency": transport}, where),
        electronic_conductivity_s_m=sigma,
        electronic_conductivity_vs_stoichiometry=sigma_table,
        specific_surface_area_m=own_area, particle_radii_m=radii,
        particle_volume_fractions=shares, solid_diffusivity_m2_s=d_s,
        max_concentration_mol_m3=c_max, initial_stoichiometry=theta_0,
        reaction_rate_constant=_inverse(k_bpx / (math.sqrt(c_e0) * c_max),
                                        lambda k: k * math.sqrt(c_e0) * c_max, k_bpx),
        double_layer_capacitance_f_m2=float(cdl), active_density_kg_m3=float(density),
        ocp=ocp_name)
    ignored = sorted(k for k in user if k not in (
        X_CBD_FRACTION, X_CBD_POROSITY, X_SIZE_CLASSES, X_SURFACE_AREA, X_SIGMA_TABLE,
        X_SIGMA_CONSTANT, X_DENSITY, X_FOIL_I0, X_FOIL_CDL, P_CATHODE_CDL, P_TDF, P_OCV_100,
        P_OCV_0, "description"))
    if ignored:
        notes.append(f"Parameterisation.User-defined: {ignored} not used by this model")
    params = _build(CellParameters, "Parameterisation.Cell", cathode=cathode,
                    separator=separator, electrolyte=electrolyte, lithium_foil=foil,
                    temperature_k=t, cutoff_voltage_v=float(cell["Lower voltage cut-off [V]"]),
                    max_voltage_v=float(cell["Upper voltage cut-off [V]"]))
    theta_cut = params.discharged_stoichiometry()
    if abs(theta_cut - theta_hi) > 1e-3:
        notes.append(f"{where}.Maximum stoichiometry = {theta_hi:.4g}: not used (a discharge "
                     f"ends at the cut-off voltage; the OCP reaches it at θ = "
                     f"{theta_cut:.4g})")
    nominal = bpx_nominal_capacity_ah_m2(data)
    if not math.isclose(nominal, params.nominal_capacity_ah_m2(), rel_tol=1e-3):
        notes.append(f"Parameterisation.Cell.Nominal cell capacity: {nominal:.5g} A h per m² of "
                     f"electrode, where this model's nominal capacity (θ_0 to the OCP at the "
                     f"cut-off) is {params.nominal_capacity_ah_m2():.5g} A h/m²; "
                     f"etwin cell --bpx --c-rate-basis nominal uses the file's")
    return params


def _tortuosity(section: dict, where: str) -> float:
    porosity, transport = float(section["Porosity"]), float(section["Transport efficiency"])
    if not 0.0 < transport <= porosity:
        raise ValueError(f"{where}.Transport efficiency = {transport!r} is outside the allowed "
                         f"range (0, porosity = {porosity!r}] (τ = porosity / transport "
                         f"efficiency >= 1)")
    return _inverse(porosity / transport, lambda tau: porosity / tau, transport)


def _build(kind, where: str, **values):
    try:
        return kind(**values)
    except ValueError as err:
        raise ValueError(f"{err} (read from BPX {where})") from None


def bpx_nominal_capacity_ah_m2(data: dict) -> float:
    """The file's "Nominal cell capacity [A.h]" per m² of electrode (÷ electrode area ÷
    electrode pairs): the 1C of PyBaMM on that file."""
    cell = _validated(data)["Parameterisation"]["Cell"]
    area = float(cell["Electrode area [m2]"])
    pairs = float(cell["Number of electrode pairs connected in parallel to make a cell"])
    if not (area > 0 and pairs > 0):
        raise ValueError(f"Parameterisation.Cell: electrode area {area} m² and electrode pairs "
                         f"{pairs} must be > 0")
    return float(cell["Nominal cell capacity [A.h]"]) / (area * pairs)


def read_bpx_file(path: str | Path) -> dict:
    """The JSON object of a BPX file (ValueError/FileNotFoundError naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such BPX file")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON BPX file ({err})") from None
    return data


def load_bpx(path: str | Path, report: list[str] | None = None) -> CellParameters:
    """:func:`from_bpx` of a file; errors name the file and the field."""
    data = read_bpx_file(path)
    try:
        return from_bpx(data, report)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None

