"""Roll crown and transverse uniformity: two calender rolls bending under the electrode's
reaction, the electrode a nonlinear Winkler foundation, solved together across the web.

Rolls.  Each roll is a Timoshenko beam on two bearings (pinned: self-aligning bearings) outside
the barrel: a barrel of length L_b and diameter D (optionally bored, diameter d_i) between two
solid journals of diameter d_j; bending stiffness EI = E π (D⁴ - d_i⁴) / 64 and shear stiffness
κ G A, G = E / (2 (1 + ν)), with Cowper's shear coefficient of a hollow circle
κ = 6 (1 + ν)(1 + m²)² / ((7 + 6ν)(1 + m²)² + (20 + 12ν) m²), m = d_i / D (G. R. Cowper,
J. Appl. Mech. 33 (1966) 335).  Finite elements: the two-node Timoshenko element with
interdependent (cubic / quadratic) interpolation, φ = 12 EI / (κ G A l²), which is exact for
the homogeneous beam (Friedman & Kosmatka, Comput. Struct. 47 (1993) 473); the line load is
integrated with the element's own deflection interpolation (4 Gauss points).  Nodes sit at the
centre, the web edges, the barrel ends and the bearings.

Gap.  The rolls are pressed together at the bearings (force control) or held at a bearing gap
g_b (gap control).  With w(x) the roll's deflection away from the web and c(x) its crown (the
radius increase at x over the barrel ends: c0 (1 - (2x/L_b)²), c0 cos(π x / L_b), the roll's
own bending line under a uniform load, or a given function), the gap is
g(x) = g_b + n (w(x) - c(x)): n = 2 for two identical bending rolls, n = 1 for one roll
against a rigid one.  Own weight, thermal crown, bearing play and the rolls'
elastic flattening (steel against a film a hundred times softer) are left out.

Electrode (the foundation).  The web (n_s coated sides of dried thickness h0 on a foil of
thickness h_foil) enters at H_in = n_s h0 + h_foil.  Its compaction law ε(p)
(:class:`physics.compaction.CompactionLaw`, fitted to DEM or measured curves) gives the
porosity after spring-back; the mass balance gives the recovered thickness
h_f(p) = h0 (1 - ε0) / (1 - ε(p)).  In the nip the film is thinner by its elastic spring-back
s(p) = (h_f - h_loaded) / h_loaded, taken as s(p) = s_ref (p / p_ref)^a (DEM: s grows as about
p^0.5, the granular-elasticity scaling of J. D. Goddard, Proc. R. Soc. A 430 (1990) 105; the
default is fitted to the calender's DEM spring-back, physics/line_data/), so the loaded
gap at peak pressure p is H(p) = n_s h_f(p) / (1 + s(p)) + h_foil.

Local line load.  Along the arc of two rolls of radius R the gap is g + t², t² = s_md² / R
(s_md the distance from the nip line), so the contact (arc) length is l = sqrt(R (H_in - g))
(flat-rolling geometry, e.g. G. E. Dieter, Mechanical Metallurgy, 3rd ed. 1986, §17-3).  As in
Johanson's rolling theory of granular solids (J. Appl. Mech. 32 (1965) 842) the film is
compacted in uniaxial strain without friction hill: before the nip line it carries the
loading-curve pressure of its local thickness, P(g + t²) with P the inverse of H(p); after it,
the elastic unloading branch of the same spring-back law from the peak p_max = P(g).  The line
load per width is

    q(g) = sqrt(R) [∫_0^sqrt(H_in - g) P(g + t²) dt + ∫_0^sqrt(H_f - g) P_unload(g + t²) dt],

tabulated once over the gap (composite Gauss-Legendre, monotone cubic interpolation) with its
stiffness -dq/dg and energy Ψ(g) = ∫_g^H_in q.  q = 0 where the gap exceeds H_in (the web
loses contact).  The mean nip pressure q / l is reported beside the peak p_max; the porosity
and recovered thickness across the width follow from p_max.

Coupled solution.  Unknowns: the deflection dofs and, under force control, g_b.  They minimise
the convex energy ½ wᵀ K w + (1/n) ∫ Ψ(g) dx + (F / n) g_b, so Newton's method with an Armijo
line search on it converges from the rigid-roll start (full steps once the residual is below
1e-6 of F, where the energy is flat to round-off); its stationarity is K w = ∫ q N dx and
∫ q dx = F (force balance, checked against the bearing reactions).  Validation against closed
forms: docs/validation/crown.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from physics.compaction import CompactionLaw
from physics.materials import _check_range
from physics.nip import P_TOP_MPA, NipLaw, SpringBack, Web, fit_springback
from physics.timoshenko import TimoshenkoBeam, cowper_shear_coefficient, segment_nodes

__all__ = ["CrownOptimum", "CrownSolution", "NipLaw", "NipModel", "RollGeometry", "SpringBack",
           "Web", "crown_shape_values", "fit_springback", "optimize_crown", "roll_beam"]

ROLLS = {"two": 2, "rigid": 1}  # bending rolls: two identical, or one against a rigid roll
SHAPES = ("parabolic", "cosine", "deflection")
OBJECTIVES = ("range", "sd", "line-load")
#: weight of the line load's relative range added to a porosity objective: it decides between
#: crowns whose porosity differs by less than about 1e-6 (a law saturated at ε_min), and is
#: below the porosity's resolution otherwise
TIE_WEIGHT = 1e-6
POROSITY_RESOLUTION = 1e-5  # a porosity range below this over the whole scan: insensitive


# ---------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class RollGeometry:
    """A calender roll (module docstring).  Lengths in mm, moduli in GPa.

    Attributes:
        barrel_length_mm: L_b, the barrel's face length, in (0, 10000].
        barrel_diameter_mm: D, in (0, 3000].
        journal_diameter_mm: d_j, the solid journal between barrel end and bearing, in
            (0, D].
        bearing_span_mm: distance between the two bearing centres, in [L_b, 10000]: the
            bearings sit outside the barrel.
        bore_diameter_mm: d_i, a central bore of the barrel (heating channel), in [0, D).
        young_modulus_gpa: E, in (0, 2000] (steel 210).
        poisson_ratio: ν, in [0, 0.5).
        shear_coefficient: κ, in (0, 1]; None: Cowper's for the (hollow) circle.
    """

    barrel_length_mm: float = 500.0
    barrel_diameter_mm: float = 400.0
    journal_diameter_mm: float = 200.0
    bearing_span_mm: float = 800.0
    bore_diameter_mm: float = 0.0
    young_modulus_gpa: float = 210.0
    poisson_ratio: float = 0.3
    shear_coefficient: float | None = None

    def __post_init__(self) -> None:
        _check_range("barrel_length_mm", self.barrel_length_mm, 0.0, 1e4, lo_open=True)
        _check_range("barrel_diameter_mm", self.barrel_diameter_mm, 0.0, 3000.0, lo_open=True)
        _check_range("journal_diameter_mm", self.journal_diameter_mm, 0.0,
                     self.barrel_diameter_mm, lo_open=True)
        _check_range("bearing_span_mm", self.bearing_span_mm, self.barrel_length_mm, 1e4)
        _check_range("bore_diameter_mm", self.bore_diameter_mm, 0.0, self.barrel_diameter_mm,
                     hi_open=True)
        _check_range("young_modulus_gpa", self.young_modulus_gpa, 0.0, 2000.0, lo_open=True)
        _check_range("poisson_ratio", self.poisson_ratio, 0.0, 0.5, hi_open=True)
        if self.shear_coefficient is not None:
            _check_range("shear_coefficient", self.shear_coefficient, 0.0, 1.0, lo_open=True)

    @property
    def radius_m(self) -> float:
        return 0.5e-3 * self.barrel_diameter_mm

    def sections(self, barrel: bool) -> tuple[float, float]:
        """(EI [N m²], κGA [N]) of the barrel or of a journal."""
        e = self.young_modulus_gpa * 1e9
        g = e / (2.0 * (1.0 + self.poisson_ratio))
        d_out = 1e-3 * (self.barrel_diameter_mm if barrel else self.journal_diameter_mm)
        d_in = 1e-3 * self.bore_diameter_mm if barrel else 0.0
        inertia = math.pi * (d_out ** 4 - d_in ** 4) / 64.0
        area = math.pi * (d_out ** 2 - d_in ** 2) / 4.0
        kappa = self.shear_coefficient or cowper_shear_coefficient(self.poisson_ratio,
                                                                   d_in / d_out)
        return e * inertia, kappa * g * area


# ---------------------------------------------------------------------------- the roll
def roll_beam(geometry: RollGeometry, web_width_mm: float, elements_web: int = 120
              ) -> TimoshenkoBeam:
    """The roll between its bearings, meshed with ``elements_web`` elements across the web
    and the same size elsewhere (nodes at the centre, web edges, barrel ends, bearings)."""
    half_span, half_barrel = 0.5e-3 * geometry.bearing_span_mm, 0.5e-3 * geometry.barrel_length_mm
    half_web = 0.5e-3 * web_width_mm
    breaks = sorted({-half_span, -half_barrel, -half_web, 0.0, half_web, half_barrel,
                     half_span})
    nodes = segment_nodes(breaks, 2 * half_web / elements_web)
    mid = 0.5 * (nodes[:-1] + nodes[1:])
    barrel = np.abs(mid) < half_barrel
    ei_b, kga_b = geometry.sections(True)
    ei_j, kga_j = geometry.sections(False)
    return TimoshenkoBeam(nodes, np.where(barrel, ei_b, ei_j), np.where(barrel, kga_b, kga_j))


def crown_shape_values(x_m, half_barrel_m: float, shape: str | Callable) -> np.ndarray:
    """The crown's shape (1 at the centre, 0 at the barrel ends, 0 on the journals) at x."""
    u = np.abs(np.asarray(x_m, dtype=float)) / half_barrel_m
    if callable(shape):
        s = np.asarray(shape(np.minimum(u, 1.0)), dtype=float)
    elif shape == "parabolic":
        s = 1.0 - u ** 2
    elif shape == "cosine":
        s = np.cos(0.5 * math.pi * np.minimum(u, 1.0))
    else:
        raise ValueError(f"crown_shape {shape!r} is unknown; allowed: {', '.join(SHAPES)} or a "
                         "function of |x| / (L_b / 2)")
    return np.where(u <= 1.0, s, 0.0)


# ---------------------------------------------------------------------------- the solution
@dataclass(frozen=True)
class CrownSolution:
    """The nip across the web (profiles at the mesh nodes of the web, x from -b to b).

    Attributes:
        crown_um: c0 per roll [µm] (radius at the barrel centre minus at its ends).
        force_kn: the nip force F = ∫ q dx [kN]; line_load_kn_cm its mean F / width.
        bearing_gap_um: g_b [µm].
        x_mm, gap_um, deflection_um, crown_profile_um, line_load_kn_m, peak_pressure_mpa,
            mean_pressure_mpa, contact_length_mm, porosity, thickness_um: profiles across
            the web (thickness: recovered, per coated side).
        roll_x_mm, roll_deflection_um: the roll's deflection between the bearings.
        bearing_reaction_kn: the bearings' reaction (= force_kn: force balance).
        iterations, converged, residual: Newton's count, success and the largest relative
            residual (nodal forces / F; force balance / F).
        extrapolated: a gap below the nip law's table (peak pressure above 2e4 MPa).
    """

    crown_um: float
    force_kn: float
    line_load_kn_cm: float
    bearing_gap_um: float
    x_mm: np.ndarray
    gap_um: np.ndarray
    deflection_um: np.ndarray
    crown_profile_um: np.ndarray
    line_load_kn_m: np.ndarray
    peak_pressure_mpa: np.ndarray
    mean_pressure_mpa: np.ndarray
    contact_length_mm: np.ndarray
    porosity: np.ndarray
    thickness_um: np.ndarray
    roll_x_mm: np.ndarray = field(repr=False)
    roll_deflection_um: np.ndarray = field(repr=False)
    bearing_reaction_kn: float = 0.0
    iterations: int = 0
    converged: bool = True
    residual: float = 0.0
    extrapolated: bool = False

    def porosity_range(self) -> float:
        """max - min porosity across the web [-]."""
        return float(self.porosity.max() - self.porosity.min())

    def centre_minus_edge(self) -> float:
        """Porosity at the centre minus at the web edges (mean of both) [-]."""
        centre = float(np.interp(0.0, self.x_mm, self.porosity))
        return centre - 0.5 * float(self.porosity[0] + self.porosity[-1])

    def non_uniformity(self, objective: str = "range") -> float:
        """``range``: max - min porosity [-]; ``sd``: its width-weighted standard deviation
        [-]; ``line-load``: (max - min) / mean of the line load [-]."""
        if objective == "range":
            return self.porosity_range()
        if objective == "sd":
            w = np.gradient(self.x_mm)
            mean = np.sum(w * self.porosity) / np.sum(w)
            return float(math.sqrt(np.sum(w * (self.porosity - mean) ** 2) / np.sum(w)))
        if objective == "line-load":
            q = self.line_load_kn_m
            return float(np.ptp(q) / max(float(np.mean(q)), 1e-30))
        raise ValueError(f"objective {objective!r} is unknown; allowed: "
                         f"{', '.join(OBJECTIVES)}")

    def summary(self) -> dict:
        """Scalars: crown, force, gap, the profiles' centre / edge / range."""
        def at(a):
            return float(np.interp(0.0, self.x_mm, a)), float(0.5 * (a[0] + a[-1]))

        out = {"crown_um": self.crown_um, "force_kn": self.force_kn,
               "line_load_kn_cm": self.line_load_kn_cm, "bearing_gap_um": self.bearing_gap_um,
               "bearing_reaction_kn": self.bearing_reaction_kn,
               "porosity_range": self.porosity_range(),
               "porosity_centre_minus_edge": self.centre_minus_edge(),
               "porosity_sd": self.non_uniformity("sd"),
               "iterations": self.iterations, "converged": self.converged,
               "residual": self.residual, "extrapolated": self.extrapolated}
        for name in ("gap_um", "deflection_um", "line_load_kn_m", "peak_pressure_mpa",
                     "mean_pressure_mpa", "porosity", "thickness_um"):
            a = getattr(self, name)
            centre, edge = at(a)
            out[f"{name}_centre"], out[f"{name}_edge"] = centre, edge
            out[f"{name}_min"], out[f"{name}_max"] = float(a.min()), float(a.max())
        out["roll_deflection_max_um"] = float(self.roll_deflection_um.max())
        return out


class NipModel:
    """Rolls + web assembled once; :meth:`solve` for a crown at a force or a bearing gap.

    Example:
        >>> from physics.compaction import CompactionLaw
        >>> model = NipModel(RollGeometry(), Web(), CompactionLaw(0.42, 0.26, 0.3, 1.2))
        >>> sol = model.solve(crown_um=5.0, force_kn=30.0)
        >>> round(sol.bearing_reaction_kn, 6)
        30.0
    """

    def __init__(self, geometry: RollGeometry, web: Web, law: CompactionLaw,
                 springback: SpringBack | None = None, rolls: str = "two",
                 elements_web: int = 120):
        if rolls not in ROLLS:
            raise ValueError(f"rolls {rolls!r} is unknown; allowed: {', '.join(ROLLS)}")
        if not 10 <= elements_web <= 4000:
            raise ValueError(f"elements_web = {elements_web}; allowed range [10, 4000]")
        if web.width_mm > geometry.barrel_length_mm:
            raise ValueError(f"web_width_mm = {web.width_mm:g} is wider than the barrel; "
                             f"allowed range (0, {geometry.barrel_length_mm:g}] mm")
        self.geometry, self.web, self.rolls = geometry, web, rolls
        self.n = ROLLS[rolls]
        self.springback = springback if springback is not None else SpringBack()
        self.nip = NipLaw(law, self.springback, web, geometry.radius_m)
        self.beam = roll_beam(geometry, web.width_mm, elements_web)
        x = self.beam.nodes_m
        self.half_web = 0.5e-3 * web.width_mm
        self.half_barrel = 0.5e-3 * geometry.barrel_length_mm
        fixed = [0, self.beam.n_dofs - 2]  # w = 0 at the bearings
        self.free = np.setdiff1d(np.arange(self.beam.n_dofs), fixed)
        self.fixed = np.array(fixed)
        self.k_full = self.beam.stiffness()
        self.k = self.k_full[self.free][:, self.free]
        mid = 0.5 * (x[:-1] + x[1:])
        web_elements = np.flatnonzero(np.abs(mid) < self.half_web)
        self.x_gp, self.w_gp, n_gp = self.beam.gauss(web_elements)
        self.n_gp = n_gp[:, self.free]
        self.web_nodes = np.flatnonzero(np.abs(x) <= self.half_web * (1 + 1e-12))
        self._bending_shape = None

    @property
    def crown_limit_um(self) -> float:
        """The largest crown per roll: n c0 must stay below the web's entry thickness."""
        return self.web.entry_thickness_um / self.n

    def crown_m(self, x_m, crown_um: float, shape) -> np.ndarray:
        """c(x) [m] of a crown ``crown_um`` of ``shape`` (a name of SHAPES or a function)."""
        if isinstance(shape, str) and shape == "deflection":
            shape = self.bending_line_shape()
        return 1e-6 * crown_um * crown_shape_values(x_m, self.half_barrel, shape)

    def bending_line_shape(self) -> Callable[[np.ndarray], np.ndarray]:
        """The ``deflection`` crown shape: the roll's own bending line under a uniform line
        load over the web, w(x) - w(L_b / 2), normalised to 1 at the centre; a function of
        u = |x| / (L_b / 2)."""
        if self._bending_shape is None:
            from scipy.sparse.linalg import spsolve

            full = np.zeros(self.beam.n_dofs)
            full[self.free] = spsolve(self.k, self.n_gp.T @ self.w_gp)
            u = np.linspace(0.0, 1.0, 401)
            w = self.beam.deflection_at(full, u * self.half_barrel)
            shape = (w - w[-1]) / (w[0] - w[-1])
            self._bending_shape = lambda v: np.interp(v, u, shape)
        return self._bending_shape

    def _check_crown(self, crown_um: float) -> None:
        if not (math.isfinite(crown_um) and 0.0 <= crown_um < self.crown_limit_um):
            raise ValueError(f"crown_um = {crown_um:g} is outside the allowed range [0, "
                             f"{self.crown_limit_um:.4g}) µm: the crown of the {self.n} "
                             f"bending roll(s) must stay below the web's entry thickness "
                             f"{self.web.entry_thickness_um:.4g} µm (a crown larger than the "
                             "gap)")

    def force_at_rigid(self, bearing_gap_m: float, crown_um: float, shape) -> float:
        """∫ q dx [N] with undeflected rolls."""
        g = bearing_gap_m - self.n * self.crown_m(self.x_gp, crown_um, shape)
        return float(self.w_gp @ self.nip.line_load_n_m(g))

    def solve(self, crown_um: float = 0.0, shape: str | Callable = "parabolic",
              force_kn: float | None = None, bearing_gap_um: float | None = None,
              tol: float = 1e-10, max_iter: int = 200) -> CrownSolution:
        """The coupled nip at ``force_kn`` (force control) or ``bearing_gap_um`` (gap
        control): Newton on the convex energy (module docstring)."""
        from scipy.optimize import brentq
        from scipy.sparse import bmat, csc_matrix, diags
        from scipy.sparse.linalg import spsolve

        if (force_kn is None) == (bearing_gap_um is None):
            raise ValueError("give one of force_kn (force control) or bearing_gap_um (gap "
                             "control)")
        self._check_crown(crown_um)
        c_gp = self.crown_m(self.x_gp, crown_um, shape)
        entry = self.nip.entry_m
        if force_kn is not None:
            _check_range("force_kn", force_kn, 0.0, 1e5, lo_open=True)
            force = 1e3 * force_kn
            hi = entry + self.n * float(c_gp.max())
            lo = self.nip.gap_min_m
            while self.force_at_rigid(lo, crown_um, shape) < force:
                lo -= 1e-5
            g_b = brentq(lambda g: self.force_at_rigid(g, crown_um, shape) - force, lo, hi,
                         xtol=1e-15, rtol=1e-14)
            if g_b < self.nip.gap_min_m:
                top = 1e-3 * self.force_at_rigid(self.nip.gap_min_m, crown_um, shape)
                raise ValueError(f"force_kn = {force_kn:g} needs nip pressures above "
                                 f"{P_TOP_MPA:g} MPa, beyond the compaction law's table; "
                                 f"allowed range (0, {top:.4g}] kN")
        else:
            g_b = 1e-6 * bearing_gap_um
            lo, hi = self.nip.gap_min_m, entry + self.n * float(c_gp.max())
            if not lo < g_b < hi:
                raise ValueError(f"bearing_gap_um = {bearing_gap_um:g} is outside the "
                                 f"reachable range ({1e6 * lo:.4g}, {1e6 * hi:.4g}) µm: below, "
                                 "the compaction law's table ends; above, the web is not "
                                 "touched")
            force = None
        u = np.zeros(len(self.free))
        n, nip, ngp, wgp = self.n, self.nip, self.n_gp, self.w_gp

        def gap(u_, g_b_):
            return g_b_ + n * (ngp @ u_ - c_gp)

        def energy(u_, g_b_):
            e = 0.5 * u_ @ (self.k @ u_) + wgp @ nip.energy_n(gap(u_, g_b_)) / n
            return e + (force * g_b_ / n if force is not None else 0.0)

        scale = force if force is not None else max(self.force_at_rigid(g_b, crown_um, shape),
                                                    1e-9)
        converged, residual, it = False, math.inf, 0
        for it in range(1, max_iter + 1):  # noqa: B007
            g = gap(u, g_b)
            q, kt = nip.line_load_n_m(g), nip.stiffness_n_m2(g)
            r_w = self.k @ u - ngp.T @ (wgp * q)
            jac = (self.k + n * (ngp.T @ diags(wgp * kt) @ ngp)).tocsc()
            if force is not None:
                r_g = force - wgp @ q
                grad = np.concatenate([r_w, [r_g / n]])
                col = csc_matrix((ngp.T @ (wgp * kt))[:, None])
                full = bmat([[jac, col], [n * col.T, csc_matrix([[wgp @ kt]])]], format="csc")
                residual = max(np.abs(r_w).max(), abs(r_g)) / scale
                if residual < tol:
                    converged = True
                    break
                step = spsolve(full, -np.concatenate([r_w, [r_g]]))
                du, dg = step[:-1], step[-1]
            else:
                grad = r_w
                residual = np.abs(r_w).max() / scale
                if residual < tol:
                    converged = True
                    break
                du, dg = spsolve(jac, -r_w), 0.0
            alpha = 1.0
            if residual > 1e-6:  # Armijo on the energy; closer in, it is flat to round-off
                slope = grad @ (np.append(du, dg) if force is not None else du)
                e0 = energy(u, g_b)
                for _ in range(40):
                    if energy(u + alpha * du, g_b + alpha * dg) <= e0 + 1e-4 * alpha * slope:
                        break
                    alpha *= 0.5
            u, g_b = u + alpha * du, g_b + alpha * dg
            if alpha * max(np.abs(du).max(), abs(dg)) < 1e-16:  # stalled at round-off
                converged = residual < 1e-7
                break
        return self._solution(u, g_b, crown_um, shape, it, converged, residual)

    def _solution(self, u, g_b, crown_um, shape, iterations, converged, residual
                  ) -> CrownSolution:
        full = np.zeros(self.beam.n_dofs)
        full[self.free] = u
        x = self.beam.nodes_m
        w_nodes = full[0::2]
        c_gp = self.crown_m(self.x_gp, crown_um, shape)
        g_gp = g_b + self.n * (self.n_gp @ u - c_gp)
        q_gp = self.nip.line_load_n_m(g_gp)
        force = float(self.w_gp @ q_gp)
        f_full = np.zeros(self.beam.n_dofs)
        f_full[self.free] = self.n_gp.T @ (self.w_gp * q_gp)
        reactions = self.k_full[self.fixed] @ full - f_full[self.fixed]
        idx = self.web_nodes
        xw = x[idx]
        crown = self.crown_m(xw, crown_um, shape)
        gap = g_b + self.n * (w_nodes[idx] - crown)
        q = self.nip.line_load_n_m(gap)
        p = self.nip.peak_pressure_mpa(gap)
        length = self.nip.contact_length_m(gap)
        return CrownSolution(
            crown_um=float(crown_um), force_kn=1e-3 * force,
            line_load_kn_cm=1e-3 * force / (1e2 * 2 * self.half_web),
            bearing_gap_um=1e6 * float(g_b), x_mm=1e3 * xw, gap_um=1e6 * gap,
            deflection_um=1e6 * w_nodes[idx], crown_profile_um=1e6 * crown,
            line_load_kn_m=1e-3 * q, peak_pressure_mpa=p,
            mean_pressure_mpa=np.where(length > 0, 1e-6 * q / np.maximum(length, 1e-30), 0.0),
            contact_length_mm=1e3 * length, porosity=np.asarray(self.nip.law.porosity(p)),
            thickness_um=1e6 * self.nip.recovered_thickness_m(p),
            roll_x_mm=1e3 * x, roll_deflection_um=1e6 * w_nodes,
            bearing_reaction_kn=-1e-3 * float(reactions.sum()), iterations=int(iterations),
            converged=bool(converged), residual=float(residual),
            extrapolated=bool(np.any(g_gp < self.nip.gap_min_m)))


# ---------------------------------------------------------------------------- optimization
@dataclass(frozen=True)
class CrownOptimum:
    """The crown that minimises the porosity non-uniformity at one operating point.

    Attributes:
        crown_um: the optimum c0 per roll [µm].
        objective: ``range``, ``sd`` or ``line-load``
            (:meth:`CrownSolution.non_uniformity`); value: its value there [-].
        solution: the nip at the optimum.
        scan: (crown_um, value) of the coarse scan and the refinement, sorted by crown.
        bounds_um: the searched interval.
        at_bound: the optimum lies in the scan's last interval: widen ``crown_max_um``.
        porosity_insensitive: a porosity objective whose range stays below 1e-5 over every
            crown tried (the web is compacted to its ε_min): the line load's uniformity
            chose the crown (``TIE_WEIGHT``).
    """

    crown_um: float
    objective: str
    value: float
    solution: CrownSolution
    scan: tuple[tuple[float, float], ...]
    bounds_um: tuple[float, float]
    at_bound: bool = False
    porosity_insensitive: bool = False


def optimize_crown(model: NipModel, *, shape: str | Callable = "parabolic",
                   force_kn: float | None = None, bearing_gap_um: float | None = None,
                   objective: str = "range", crown_max_um: float | None = None,
                   n_scan: int = 13, xatol_um: float = 1e-3) -> CrownOptimum:
    """Minimise the non-uniformity ``objective`` over c0 in [0, crown_max_um]: a coarse scan
    brackets the minimum, scipy's bounded Brent refines it (``xatol_um``).  A porosity
    objective carries the line load's relative range with weight ``TIE_WEIGHT``, which
    decides where the porosity no longer does.  Default upper bound: three times the crown
    that closes the uncrowned centre-to-edge gap difference, below the crown limit."""
    from scipy.optimize import minimize_scalar

    limit = model.crown_limit_um * (1 - 1e-9)
    if crown_max_um is None:
        flat = model.solve(0.0, shape, force_kn=force_kn, bearing_gap_um=bearing_gap_um)
        edge_shape = 1e6 * float(model.crown_m(model.half_web, 1.0, shape)[()])
        dgap = float(np.interp(0.0, flat.x_mm, flat.gap_um) - flat.gap_um[0])
        need = max(dgap, 0.0) / (model.n * max(1.0 - edge_shape, 1e-3))
        crown_max_um = min(limit, max(3.0 * need, 1.0))
    elif not (math.isfinite(crown_max_um) and 0.0 < crown_max_um < model.crown_limit_um):
        raise ValueError(f"crown_max_um = {crown_max_um:g} is outside the allowed range (0, "
                         f"{model.crown_limit_um:.4g}) µm (below the crown limit)")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is unknown; allowed: {', '.join(OBJECTIVES)}")
    cache: dict[float, CrownSolution] = {}

    def value(c: float) -> float:
        c = float(c)
        if c not in cache:
            cache[c] = model.solve(c, shape, force_kn=force_kn, bearing_gap_um=bearing_gap_um)
        sol = cache[c]
        return sol.non_uniformity(objective) if sol.converged else math.inf

    def merit(c: float) -> float:
        v = value(c)  # solves and caches
        if objective == "line-load":
            return v
        return v + TIE_WEIGHT * cache[float(c)].non_uniformity("line-load")

    grid = np.linspace(0.0, crown_max_um, n_scan)
    values = [merit(c) for c in grid]
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, n_scan - 1)]
    # the refinement's evaluations land in the cache; the best of all is the optimum
    minimize_scalar(merit, bounds=(lo, hi), method="bounded", options={"xatol": xatol_um})
    best = min(cache, key=merit)
    scan = tuple(sorted((c, value(c)) for c in cache))
    insensitive = objective != "line-load" and max(
        s.porosity_range() for s in cache.values()) < POROSITY_RESOLUTION
    return CrownOptimum(crown_um=best, objective=objective, value=value(best),
                        solution=cache[best], scan=scan, bounds_um=(0.0, float(crown_max_um)),
                        at_bound=bool(best > grid[-2]), porosity_insensitive=insensitive)
