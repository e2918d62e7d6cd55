"""The optimal pressure trajectory of a calendered film: a reduced layer-wise compaction model,
its optimal control by Pontryagin's minimum principle, a direct (brute-force) check, and the
identification of the model from DEM porosity profiles.

Reduced model.  The film is N sub-layers of equal thickness, index 0 at the current collector
and N-1 at the roll; the state is their porosities ε_i(t), t ∈ [0, 1] the contact time of a
material element (one nip, or the passes of a multi-pass schedule) in units of its length.
The roll pressure p(t) [MPa] reaches sub-layer i attenuated by a Janssen-type decay with depth
(friction at walls and between particles diverts part of the vertical stress; Janssen,
Z. Ver. Dtsch. Ing. 39 (1895) 1045; in powder compaction e.g. Briscoe & Rough, Colloids
Surf. A 137 (1998) 103):

    p_i = a_i p,   a_i = β^ζ_i,   ζ_i = (N - i - 1/2) / N  (depth of the sub-layer centre),

β = p(collector)/p(roll) ∈ (0, 1] the stress transmission through the film.  Each sub-layer
relaxes toward the porosity the film's compaction law gives at its local pressure
(:mod:`physics.compaction`: ε(p) = ε_min + (ε0 - ε_min)(1 + m p/K0)^(-1/m), the porosity
after spring-back), irreversibly (it never re-expands when the pressure falls):

    dε_i/dt = -Da · s_δ(ε_i - c_i ε(a_i p)),     ε_i(0) = ε_0i.

s_δ is max(0, x) rounded over 0 < x < δ (x²/2δ there; δ = 1e-4 porosity): the
irreversibility, with continuously differentiable state and costate equations; a sub-layer
below its consolidation pressure does not move at all.  Da is the contact time in relaxation
times (a Damköhler number).  c_i is the sub-layer's shape factor, its porosity over the
film's: the looser packing within about a particle radius of the collector and the roll; it
is taken pressure-independent (the identification's residuals test that).  ε_0i is the
uncalendered film's sub-layer porosity (default c_i ε0; a dried film has looser and denser
regions of its own, which the first pressure above their consolidation removes).  In the
overstress language of viscoplastic compaction (Perzyna) the rate grows with the overstress
a_i p - p_eq(ε_i) and saturates at Da (ε_i - c_i ε_min) far above it: a short, high pulse
drives every sub-layer at a rate set by its own excess porosity, nearly independently of how
much of the pressure reached it, while a long, moderate pressure lets each sub-layer settle
at the porosity of its own local pressure, the roll side densest.  That is what a path can
change.

Optimal control.  Among paths 0 <= p(t) <= p_max (p_max: the fracture limit), minimize

    J = (1/N) Σ (ε_i(1) - c_i ε̄(1))² + w ∫_0^1 (1 + η t) (p / p_ref)² dt,   ε̄(1) = ε_target,

ε̄ the film porosity (the sub-layers' mean).  The first term is the compaction spread: the
sub-layers' scatter about the film's own packing profile c_i ε̄, the part of the
through-thickness variation that the pressure path causes and can change (the plain variance
when every c_i = 1; the report gives both).  p_ref is the pressure that gives the target at
equilibrium, so w is dimensionless: a path held at p_ref costs about w.  ∫p² penalizes peaks
quadratically and p_max bounds them.  η = 0.01 breaks a tie: when the best pulse is shorter
than the contact, the unloaded film does not change and every shift of the pulse is equally
good; η makes the earliest one the answer.

Pontryagin's minimum principle (Pontryagin et al., The Mathematical Theory of Optimal
Processes, 1962): H = w (1 + η t)(p/p_ref)² + Σ λ_i f_i(ε_i, p), f_i = -Da s_δ(ε_i -
c_i ε(a_i p)); costates λ̇_i = -∂H/∂ε_i = λ_i Da s'_δ(x_i), λ(1) = ∂[φ + ν(ε̄ - ε_target)]/∂ε
with φ the compaction spread and ν the terminal constraint's multiplier; p*(t) = argmin over
[0, p_max] of H.  Solved by forward-backward sweeps (Lenhart & Workman, Optimal Control Applied
to Biological Models, 2007, ch. 4): the state forward (RK4, numba), the costates backward
(exactly per step: their equation is linear; the rate by the trapezoid rule), H minimized per
step (a grid, then golden section); H is not convex in p (below a sub-layer's consolidation
pressure more pressure costs and does nothing), so each sweep moves the path to the
minimizer of H + ρ/2 (p - p_old)² (the extended method of successive approximations, Li et
al., J. Mach. Learn. Res. 18 (2018) 165), ρ doubling whenever the change grows.  ν is found
by regula falsi so that ε̄(1) hits the target.  The check (:func:`solve_direct`) optimizes
the path as piecewise-constant intervals directly (SLSQP, finite-difference gradients of the
same simulation, the target as an equality constraint), without costates;
:func:`hamiltonian_gap` verifies that the Pontryagin path minimizes H globally at every
time.  Where ε̄(1) jumps across the target between two multipliers and the two extremals
differ only where the pressure switches on, their mixture on the target is the relaxed
control (a switch inside an interval).  With strong attenuation and a small weight the
problem has several branches of extremals (H is not convex in p; measured: β = 0.3,
w <= 2.5e-5 on the ci film's law); the sweep then ends ``converged`` False with the
Hamiltonian gap it left, and the direct solution is the answer.

Multi-pass schedules.  A DEM press holds each pass until the film stops creeping
(:mod:`physics.calender`): the model's limit Da -> ∞ per pass, after which each sub-layer
sits at min(its porosity, c_i ε(a_i p_k)) (:func:`pass_porosity`; a finite per-pass Da
relaxes it by e^-Da instead).  A schedule's cost is the same J with the passes at equal times.

Identification (:func:`identify_layer_model`).  The per-slice porosity of the voxel images of
one film calendered at K pressures (:func:`film_slice_profile`), binned into the N sub-layers
(:func:`layer_porosity`), is fitted by least squares with ε_ki = c_i ε(a_i p_k), the
parameters (ε_min, K0, m, β, c_i), ε0 the uncalendered film's porosity and its profile the
model's ε_0i.  A periodic DEM column has no side walls and a roll without shear: at
quasi-static equilibrium its slab-averaged σ_zz is the same at every depth (force balance),
so its profiles can only bound β, and β near 1 is expected; a measured β (from cross-section
porosity profiles of calendered electrodes) is an input.  Da is not identifiable from a
quasi-static press either (every DEM pass reaches its equilibrium): it is an input, default 4.
The DEM press's insensitivity to its plane speed (< 0.5 porosity points on halving it,
docs/physics/calendering.md) needs e^-Da (1 - e^-Da)(ε0 - ε_min) < 0.005, i.e. Da >~ 3.4
for the ci film's 0.15 compaction range.

Units: pressures in MPa, porosities as fractions, time in contact lengths.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from physics.compaction import CompactionLaw, fit_compaction_law
from physics.materials import _check_range

DEFAULT_DAMKOHLER = 4.0
DEFAULT_SMOOTHING = 1e-4
#: largest Hamiltonian gap (over w) of a converged Pontryagin path
GAP_TOL = 1e-6
MAX_LAYERS = 50
MAX_PRESSURE_MPA = 500.0  # the DEM calender's limit (physics.calender.MAX_PRESSURE_MPA)
#: the grid over [0, p_max] on which H is minimized before the golden-section refinement
_H_GRID = np.unique(np.r_[0.0, np.geomspace(1e-3, 1.0, 50), np.linspace(0.0, 1.0, 31)])


# ---------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class LayerModel:
    """The reduced layer-wise compaction model (module docstring).

    Attributes:
        law: ε(p), the film's compaction law (porosity after spring-back vs local pressure).
        shape: c_i, porosity of sub-layer i over the film's, collector (i = 0) to roll; each
            in (0, 1/ε0).
        transmission: β = p(collector) / p(roll), in (0, 1] (1: no attenuation).
        damkohler: Da, the contact time in relaxation times, in (0, 100].
        smoothing: δ of the smooth rectifier [-], in (0, 0.01].
        initial: ε_0i, the uncalendered sub-layer porosities, each in (0, 1) (default ():
            c_i ε0).
    """

    law: CompactionLaw
    shape: tuple[float, ...]
    transmission: float = 1.0
    damkohler: float = DEFAULT_DAMKOHLER
    smoothing: float = DEFAULT_SMOOTHING
    initial: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(float(c) for c in self.shape))
        object.__setattr__(self, "initial", tuple(float(e) for e in self.initial))
        if self.initial and len(self.initial) != len(self.shape):
            raise ValueError(f"initial has {len(self.initial)} sub-layers; shape has "
                             f"{len(self.shape)}")
        for i, e in enumerate(self.initial):
            if not (math.isfinite(e) and 0.0 < e < 1.0):
                raise ValueError(f"initial[{i}] = {e} is outside the allowed range (0, 1)")
        if not 2 <= len(self.shape) <= MAX_LAYERS:
            raise ValueError(f"n_layers = {len(self.shape)} is outside the allowed range "
                             f"[2, {MAX_LAYERS}]")
        top = 1.0 / self.law.porosity_initial
        for i, c in enumerate(self.shape):
            if not (math.isfinite(c) and 0.0 < c < top):
                raise ValueError(f"shape[{i}] = {c} is outside the allowed range (0, "
                                 f"1/porosity_initial = {top:.4g})")
        _check_range("transmission", self.transmission, 0.0, 1.0, lo_open=True)
        _check_range("damkohler", self.damkohler, 0.0, 100.0, lo_open=True)
        _check_range("smoothing", self.smoothing, 0.0, 0.01, lo_open=True)

    @property
    def n_layers(self) -> int:
        return len(self.shape)

    @property
    def depth(self) -> np.ndarray:
        """ζ_i, depth of each sub-layer centre below the roll over the thickness [-]."""
        n = self.n_layers
        return (n - np.arange(n) - 0.5) / n

    @property
    def attenuation(self) -> np.ndarray:
        """a_i = β^ζ_i, local over roll pressure [-]."""
        return self.transmission ** self.depth

    @property
    def initial_porosity(self) -> np.ndarray:
        """ε_0i, the uncalendered sub-layers [-] (default c_i ε0)."""
        if self.initial:
            return np.asarray(self.initial)
        return np.asarray(self.shape) * self.law.porosity_initial

    def equilibrium_porosity(self, pressure_mpa) -> np.ndarray:
        """c_i ε(a_i p) [-], shape (..., N) for roll pressures of shape (...)."""
        p = np.asarray(pressure_mpa, dtype=float)[..., None]
        return np.asarray(self.shape) * np.asarray(self.law.porosity(p * self.attenuation))

    def equilibrium_pressure_mpa(self, porosity: float) -> float:
        """The roll pressure whose equilibrium film porosity (mean over the sub-layers) is
        ``porosity`` [MPa]; ValueError outside the equilibrium range."""
        from scipy.optimize import brentq

        lo, hi = self.equilibrium_range()
        if not lo < porosity < hi:
            raise ValueError(f"target_porosity = {porosity} is outside the reachable range "
                             f"({lo:.4f}, {hi:.4f}) of the film at any pressure")

        def gap(p: float) -> float:
            return float(self.equilibrium_porosity(p).mean()) - porosity

        top = self.law.modulus_mpa
        while gap(top) > 0:
            top *= 4.0
        return float(brentq(gap, 0.0, top, xtol=1e-12 * top, rtol=1e-12))

    def equilibrium_range(self) -> tuple[float, float]:
        """(ε̄ at infinite pressure, ε̄ uncalendered): the film porosities the law can give."""
        c = np.asarray(self.shape)
        return float(np.mean(c) * self.law.porosity_min), float(np.mean(self.initial_porosity))

    def with_(self, **changes) -> LayerModel:
        """A copy with some fields changed (and checked)."""
        return LayerModel(**{**self._fields(), **changes})

    def _fields(self) -> dict:
        return {"law": self.law, "shape": self.shape, "transmission": self.transmission,
                "damkohler": self.damkohler, "smoothing": self.smoothing,
                "initial": self.initial}

    def to_dict(self) -> dict:
        """JSON-able fields (``model.json`` of ``etwin pressure-path``)."""
        return {**self._fields(), "law": asdict(self.law), "shape": list(self.shape),
                "initial": list(self.initial)}

    @classmethod
    def from_dict(cls, data: dict) -> LayerModel:
        """The inverse of :meth:`to_dict`; ValueError naming a missing or bad field."""
        if not isinstance(data, dict):
            raise ValueError("a layer model must be a JSON object with law, shape, "
                             "transmission, damkohler")
        missing = [k for k in ("law", "shape") if k not in data]
        if missing:
            raise ValueError(f"layer model: missing field(s) {missing}; expected law, shape, "
                             "transmission, damkohler, smoothing")
        allowed = {"law", "shape", "transmission", "damkohler", "smoothing", "initial"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"layer model: unknown field(s) {unknown}; allowed: "
                             f"{', '.join(sorted(allowed))}")
        law = data["law"]
        law_fields = {"porosity_initial", "porosity_min", "modulus_mpa", "modulus_slope"}
        if not isinstance(law, dict) or not {"porosity_initial", "porosity_min",
                                             "modulus_mpa"} <= set(law) \
                or set(law) - law_fields:
            raise ValueError(f"layer model: law must hold {sorted(law_fields)} (modulus_slope "
                             "optional)")
        try:
            law_values = {k: float(v) for k, v in law.items()}
            shape = tuple(float(c) for c in data["shape"])
            initial = tuple(float(e) for e in data.get("initial", ()))
            scalars = {k: float(data[k]) for k in ("transmission", "damkohler", "smoothing")
                       if k in data}
        except (TypeError, ValueError) as err:
            raise ValueError(f"layer model: a field is not a number or a list of numbers "
                             f"({err})") from None
        return cls(law=CompactionLaw(**law_values), shape=shape, initial=initial, **scalars)


# ---------------------------------------------------------------------------- simulation
def _substeps(model: LayerModel, n_steps: int) -> int:
    """RK4 substeps per interval: Da dt_sub <= 0.2 (well inside RK4's stability region)."""
    return max(1, math.ceil(model.damkohler / n_steps / 0.2))


def _kernel_args(model: LayerModel) -> tuple:
    """(c, a, ε0, ε_min, K0, m, Da, δ) as the kernels take them."""
    law = model.law
    return (np.asarray(model.shape), model.attenuation, law.porosity_initial, law.porosity_min,
            law.modulus_mpa, law.modulus_slope, model.damkohler, model.smoothing)


def simulate(model: LayerModel, pressure_mpa: np.ndarray) -> np.ndarray:
    """Sub-layer porosities at the interval ends for a piecewise-constant roll pressure.

    Args:
        pressure_mpa: (n,) or (B, n) pressures on n equal intervals of [0, 1] [MPa].

    Returns:
        (n + 1, N) or (B, n + 1, N) porosities [-] (RK4 on the state equation).
    """
    from physics._pressure_path_kernels import simulate as kernel

    p = np.asarray(pressure_mpa, dtype=float)
    batch = p.ndim == 2
    p = np.ascontiguousarray(np.atleast_2d(p))
    eps = kernel(p, model.initial_porosity, *_kernel_args(model),
                 _substeps(model, p.shape[1]))
    return eps if batch else eps[0]


def compaction_spread(porosity: np.ndarray, shape) -> np.ndarray:
    """(1/N) Σ (ε_i - c_i ε̄)² over the last axis [-]: the spread of the sub-layers about the
    film's packing profile c_i ε̄ (the plain variance when every c_i = 1)."""
    eps = np.asarray(porosity, dtype=float)
    return np.mean((eps - np.asarray(shape) * eps.mean(axis=-1, keepdims=True)) ** 2, axis=-1)


def pass_porosity(model: LayerModel, pressures_mpa, pass_damkohler: float = math.inf
                  ) -> np.ndarray:
    """Sub-layer porosities after passes at ``pressures_mpa`` (..., n_passes) [MPa]: each
    pass relaxes every sub-layer that is looser than its equilibrium by the factor
    e^(-pass_damkohler) (inf: to it, the quasi-static press), irreversibly.  Shape (..., N)."""
    p = np.asarray(pressures_mpa, dtype=float)
    eps = np.broadcast_to(model.initial_porosity, (*p.shape[:-1], model.n_layers)).copy()
    keep = 0.0 if math.isinf(pass_damkohler) else math.exp(-pass_damkohler)
    for k in range(p.shape[-1]):
        eq = model.equilibrium_porosity(p[..., k])
        eps = np.where(eps > eq, eq + keep * (eps - eq), eps)
    return eps


# ---------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class PathProblem:
    """Minimize J = spread at exit + w ∫(p/p_ref)² dt subject to ε̄(1) = target,
    0 <= p <= p_max (module docstring).

    Attributes:
        model: the reduced model.
        target_porosity: ε_target, the film (mean) porosity at exit [-]; must lie in the range
            one contact can reach below ``max_pressure_mpa`` (:meth:`reachable_range`).
        weight: w, the pressure penalty's weight [-], in [0, 1].
        max_pressure_mpa: p_max, the pressure bound (fracture limit) [MPa], in (0, 500].
        n_steps: time steps of the contact, in [20, 5000].
        time_preference: η, the penalty weight grows as w (1 + η t) over the contact, in
            [0, 0.1]: of otherwise equal paths the one that presses earlier wins.  Without it,
            when the best pulse is shorter than the contact, every shift of it in time is
            optimal (the unloaded film does not change) and neither method has a unique
            answer.
    """

    model: LayerModel
    target_porosity: float
    weight: float = 1e-4
    max_pressure_mpa: float = 20.0
    n_steps: int = 240
    time_preference: float = 0.01

    def __post_init__(self) -> None:
        _check_range("target_porosity", self.target_porosity, 0.0, 1.0, lo_open=True,
                     hi_open=True)
        _check_range("weight", self.weight, 0.0, 1.0)
        _check_range("time_preference", self.time_preference, 0.0, 0.1)
        _check_range("max_pressure_mpa", self.max_pressure_mpa, 0.0, MAX_PRESSURE_MPA,
                     lo_open=True)
        if not 20 <= int(self.n_steps) <= 5000:
            raise ValueError(f"n_steps = {self.n_steps} is outside the allowed range "
                             "[20, 5000]")
        lo, hi = self.reachable_range()
        if not lo < self.target_porosity < hi:
            raise ValueError(
                f"target_porosity = {self.target_porosity:g} is outside the reachable range "
                f"({lo:.4f}, {hi:.4f}): the film's porosity before calendering, and after a "
                f"contact held at max_pressure_mpa = {self.max_pressure_mpa:g} MPa with "
                f"Da = {self.model.damkohler:g}")

    def reachable_range(self) -> tuple[float, float]:
        """(ε̄(1) with p = p_max throughout, ε̄ uncalendered) [-]."""
        full = simulate(self.model, np.full(self.n_steps, self.max_pressure_mpa))[-1]
        return float(full.mean()), float(self.model.initial_porosity.mean())

    @functools.cached_property
    def reference_pressure_mpa(self) -> float:
        """p_ref: the roll pressure that gives the target at equilibrium [MPa]."""
        return self.model.equilibrium_pressure_mpa(self.target_porosity)

    def penalty_weight(self, n: int) -> np.ndarray:
        """w (1 + η t) / p_ref² at the middles of n equal intervals [1/MPa²]."""
        t = (np.arange(n) + 0.5) / n
        return self.weight * (1.0 + self.time_preference * t) / \
            self.reference_pressure_mpa ** 2

    def cost_terms(self, pressure_mpa: np.ndarray, final_porosity: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(spread, penalty) of paths (..., n) [MPa] on equal intervals ending at (..., N)
        porosities: the compaction spread and w ∫(1 + η t)(p/p_ref)² dt."""
        p = np.asarray(pressure_mpa, dtype=float)
        return (compaction_spread(final_porosity, self.model.shape),
                np.mean(self.penalty_weight(p.shape[-1]) * p ** 2, axis=-1))

    def terminal_costate(self, final_porosity: np.ndarray, multiplier: float) -> np.ndarray:
        """λ(1) = ∂/∂ε [φ + ν (ε̄ - target)] with φ the compaction spread:
        (2/N)(r_j - (1/N) Σ c_i r_i) + ν/N, r = ε - c ε̄."""
        c = np.asarray(self.model.shape)
        n = len(c)
        r = final_porosity - c * final_porosity.mean()
        return 2.0 / n * (r - np.dot(c, r) / n) + multiplier / n


@dataclass(frozen=True)
class PathSolution:
    """An optimal (or reference) pressure path and its outcome.

    Attributes:
        method: 'pontryagin', 'direct' or 'constant'.
        pressure_mpa: (n,) roll pressure on n equal intervals of the contact [MPa].
        porosity: (n + 1, N) sub-layer porosities at the interval ends [-].
        cost: J [-]; spread: its compaction spread at exit [-]; penalty: its
            w ∫(1 + η t)(p/p_ref)² dt [-].
        porosity_mean: ε̄ at exit [-].
        multiplier: ν of the terminal constraint (Pontryagin), else None.
        costate: (n + 1, N) λ (Pontryagin), else None.
        iterations: sweeps (Pontryagin, summed over the ν search) or optimizer iterations.
        converged: whether the method met its tolerances (Pontryagin: the sweep stopped
            moving, ε̄(1) on the target, and the path minimizes H globally:
            ``hamiltonian_gap`` below 1e-6).
        hamiltonian_gap: :func:`hamiltonian_gap` of the path (Pontryagin), else None.
        relaxed_intervals: intervals where the Pontryagin path mixes two extremals (a
            switch inside the interval, :func:`solve_pontryagin`).
        wall_s: seconds.
    """

    method: str
    pressure_mpa: np.ndarray
    porosity: np.ndarray
    cost: float
    spread: float
    penalty: float
    porosity_mean: float
    multiplier: float | None = None
    costate: np.ndarray | None = field(default=None, repr=False)
    iterations: int = 0
    converged: bool = True
    hamiltonian_gap: float | None = None
    relaxed_intervals: int = 0
    wall_s: float = 0.0

    @property
    def time(self) -> np.ndarray:
        """(n + 1,) interval ends in [0, 1]."""
        return np.linspace(0.0, 1.0, len(self.pressure_mpa) + 1)

    @property
    def spread_sd(self) -> float:
        """Root of the compaction spread at exit [-]."""
        return math.sqrt(self.spread)

    @property
    def layer_sd(self) -> float:
        """Standard deviation of the sub-layer porosities at exit (packing included) [-]."""
        return float(np.std(self.final_porosity))

    @property
    def peak_pressure_mpa(self) -> float:
        return float(np.max(self.pressure_mpa))

    @property
    def final_porosity(self) -> np.ndarray:
        return self.porosity[-1]

    def summary(self) -> dict:
        return {"method": self.method, "cost": self.cost, "spread": self.spread,
                "spread_sd": self.spread_sd, "layer_sd": self.layer_sd,
                "penalty": self.penalty,
                "porosity_mean": self.porosity_mean,
                "peak_pressure_mpa": self.peak_pressure_mpa,
                "mean_pressure_mpa": float(np.mean(self.pressure_mpa)),
                "roll_minus_collector": float(self.final_porosity[-1] - self.final_porosity[0]),
                "multiplier": self.multiplier, "iterations": self.iterations,
                "converged": self.converged, "hamiltonian_gap": self.hamiltonian_gap,
                "relaxed_intervals": self.relaxed_intervals,
                "wall_s": self.wall_s}


def _solution(problem: PathProblem, method: str, pressure: np.ndarray, **extra) -> PathSolution:
    eps = simulate(problem.model, pressure)
    s, pen = problem.cost_terms(pressure, eps[-1])
    return PathSolution(method=method, pressure_mpa=np.asarray(pressure, dtype=float),
                        porosity=eps, cost=float(s + pen), spread=float(s), penalty=float(pen),
                        porosity_mean=float(eps[-1].mean()), **extra)


def constant_path(problem: PathProblem) -> PathSolution:
    """The constant roll pressure that reaches the target (the reference the shaped paths
    are measured against)."""
    from scipy.optimize import brentq

    t0 = time.perf_counter()
    n = problem.n_steps

    def gap(p: float) -> float:
        return float(simulate(problem.model, np.full(n, p))[-1].mean()) - \
            problem.target_porosity

    p = brentq(gap, 0.0, problem.max_pressure_mpa, xtol=1e-12, rtol=1e-12)
    return _solution(problem, "constant", np.full(n, p), wall_s=time.perf_counter() - t0)


# ---------------------------------------------------------------------------- Pontryagin
def _costate(problem: PathProblem, pressure: np.ndarray, eps: np.ndarray, nu: float
             ) -> np.ndarray:
    """λ (n + 1, N) backward from the terminal condition (kernel: exact per step)."""
    from physics._pressure_path_kernels import costate

    final = problem.terminal_costate(eps[-1], nu)
    return costate(pressure, eps, final, *_kernel_args(problem.model))


def _minimize_hamiltonian(problem: PathProblem, eps: np.ndarray, lam: np.ndarray,
                          prox: float = 0.0, centre: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(argmin, H there) over [0, p_max] of H + prox/2 (p - centre)² per interval (states and
    costates (n, N) at the interval middles): the best point of a grid, then golden-section
    search between its neighbours."""
    from physics._pressure_path_kernels import minimize_hamiltonian

    p_max = problem.max_pressure_mpa
    n = len(eps)
    return minimize_hamiltonian(np.ascontiguousarray(eps), np.ascontiguousarray(lam),
                                problem.penalty_weight(n), _H_GRID * p_max,
                                *_kernel_args(problem.model), 1e-11 * p_max, prox,
                                np.zeros(n) if centre is None else centre)


def _sweep(problem: PathProblem, nu: float, pressure: np.ndarray, tol: float,
           max_sweeps: int) -> tuple[np.ndarray, int, bool]:
    """Forward-backward sweeps at a fixed multiplier ν; returns (path, sweeps, converged).

    Each sweep moves the path to the minimizer of H + ρ/2 (p - p_old)² (the extended method
    of successive approximations, Li et al., JMLR 18 (2018) 165): H is not convex in p (below
    a sub-layer's consolidation pressure more pressure costs and does nothing), and near the
    optimum its minima at p = 0 and above the consolidation pressure are almost level, so the
    plain minimizer jumps between them; the proximal term keeps each step local and doubles
    whenever the path's change grows.  A fixed point satisfies the first-order conditions of
    the minimum principle; :func:`hamiltonian_gap` checks the global one."""
    p = pressure.copy()
    rho = max(2.0 * problem.weight, 1e-6) / problem.reference_pressure_mpa ** 2
    last_change = math.inf
    for it in range(1, max_sweeps + 1):
        eps = simulate(problem.model, p)
        lam = _costate(problem, p, eps, nu)
        best, _ = _minimize_hamiltonian(problem, 0.5 * (eps[:-1] + eps[1:]),
                                        0.5 * (lam[:-1] + lam[1:]), rho, p)
        change = float(np.max(np.abs(best - p)))
        p = best
        if change <= tol * problem.max_pressure_mpa:
            return p, it, True
        if change > last_change:
            rho *= 2.0
        last_change = change
    return p, max_sweeps, False


def hamiltonian_gap(problem: PathProblem, pressure: np.ndarray, multiplier: float,
                    skip: np.ndarray | None = None) -> float:
    """max over the intervals (but those in ``skip``) of H(p_k) - min_p H(p), over the
    penalty's scale w: 0 where the path minimizes the Hamiltonian globally at every time
    (the minimum principle)."""
    from physics._pressure_path_kernels import hamiltonian_values

    p = np.asarray(pressure, dtype=float)
    eps = simulate(problem.model, p)
    lam = _costate(problem, p, eps, multiplier)
    mid_eps, mid_lam = 0.5 * (eps[:-1] + eps[1:]), 0.5 * (lam[:-1] + lam[1:])
    _, h_min = _minimize_hamiltonian(problem, mid_eps, mid_lam)
    h_path = hamiltonian_values(p, mid_eps, mid_lam, problem.penalty_weight(len(p)),
                                *_kernel_args(problem.model))
    excess = h_path - h_min
    if skip is not None:
        excess = excess[~skip]
    return float(np.max(excess, initial=0.0)) / max(problem.weight, 1e-12)


def solve_pontryagin(problem: PathProblem, *, tol: float = 1e-7, max_sweeps: int = 2000,
                     target_tol: float = 1e-8) -> PathSolution:
    """The optimal path from Pontryagin's minimum principle (module docstring): forward-
    backward sweeps at a multiplier ν (until the path moves by less than ``tol`` × p_max),
    ν by regula falsi until ε̄(1) is within ``target_tol`` of the target."""
    t0 = time.perf_counter()
    start = constant_path(problem).pressure_mpa
    memo: dict[float, tuple[np.ndarray, int, bool]] = {}
    state = {"path": start, "sweeps": 0}

    def solve_at(nu: float) -> tuple[np.ndarray, int, bool]:
        if nu not in memo:
            memo[nu] = _sweep(problem, nu, state["path"], tol, max_sweeps)
            state["path"] = memo[nu][0]
            state["sweeps"] += memo[nu][1]
        return memo[nu]

    def gap(nu: float) -> float:
        path = solve_at(nu)[0]
        return float(simulate(problem.model, path)[-1].mean()) - problem.target_porosity

    # ε̄(1) falls as ν rises: bracket the root, growing the step from the scale of H
    scale = max(problem.weight, 1e-6) * problem.model.n_layers
    g0 = gap(0.0)
    direction = 1.0 if g0 > 0 else -1.0
    a, g_a, b, g_b = 0.0, g0, None, None
    step = scale
    for _ in range(80):
        nu = direction * step
        g = gap(nu)
        if (g > 0) != (g0 > 0) or g == 0:
            b, g_b = nu, g
            break
        a, g_a = nu, g
        step *= 4.0
    if b is None:
        raise RuntimeError(f"solve_pontryagin: no multiplier reaches target_porosity = "
                           f"{problem.target_porosity:g} (ε̄(1) stays at "
                           f"{g_a + problem.target_porosity:.4f})")
    # Illinois (regula falsi) until ε̄(1) is within target_tol of the target, or until the
    # bracket closes on a jump of ε̄(1) between two extremals
    nu, g, side = b, g_b, 0
    for _ in range(200):
        if abs(g) <= target_tol or abs(b - a) <= 1e-12 * max(abs(a), abs(b)):
            break
        nu = (a * g_b - b * g_a) / (g_b - g_a)
        g = gap(nu)
        if (g > 0) == (g_b > 0):
            b, g_b = nu, g
            if side == -1:
                g_a *= 0.5
            side = -1
        else:
            a, g_a = nu, g
            if side == 1:
                g_b *= 0.5
            side = 1
    path, _, converged = solve_at(nu)
    relaxed = np.zeros(len(path), dtype=bool)
    if abs(g) > target_tol:
        path, nu, relaxed, converged = _relaxed_switch(problem, solve_at(a), solve_at(b), a, b)
    eps = simulate(problem.model, path)
    lam = _costate(problem, path, eps, nu)
    h_gap = hamiltonian_gap(problem, path, nu, skip=relaxed)
    on_target = abs(float(eps[-1].mean()) - problem.target_porosity) <= 10.0 * target_tol
    return _solution(problem, "pontryagin", path, multiplier=float(nu), costate=lam,
                     iterations=state["sweeps"], hamiltonian_gap=h_gap,
                     relaxed_intervals=int(relaxed.sum()),
                     converged=bool(converged and on_target and h_gap < GAP_TOL),
                     wall_s=time.perf_counter() - t0)


def _relaxed_switch(problem: PathProblem, at_a: tuple, at_b: tuple, a: float, b: float
                    ) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """The path at a multiplier where ε̄(1) jumps across the target.  Where the two
    extremals on either side differ in at most 2 % of the intervals (H has two level minima
    where the pressure switches on), their mixture p = (1 - θ) p_a + θ p_b with ε̄(1) on the
    target is the relaxed control there: a switch inside an interval.  Where they differ
    more, they are two branches of extremals (H is not convex in p) and the mixture is
    returned as not converged.  Returns (path, ν, mask of the switch intervals, converged)."""
    from scipy.optimize import brentq

    p_a, p_b = at_a[0], at_b[0]

    def gap(theta: float) -> float:
        path = (1.0 - theta) * p_a + theta * p_b
        return float(simulate(problem.model, path)[-1].mean()) - problem.target_porosity

    theta = brentq(gap, 0.0, 1.0, xtol=1e-14)
    mixed = np.abs(p_a - p_b) > 1e-3 * problem.max_pressure_mpa
    switch = mixed.sum() <= max(2, len(p_a) // 50)
    # two extremals that differ beyond a switch are different branches, not a relaxed
    # control: the mixture is then no solution of the minimum principle
    return ((1.0 - theta) * p_a + theta * p_b, a + theta * (b - a),
            mixed if switch else np.zeros(len(p_a), dtype=bool),
            bool(at_a[2] and at_b[2] and switch))


# ---------------------------------------------------------------------------- direct
def solve_direct(problem: PathProblem, n_intervals: int = 24, *, max_iterations: int = 300
                 ) -> PathSolution:
    """Brute-force check: the path as ``n_intervals`` piecewise-constant pressures,
    optimized directly (SLSQP from a constant, a rising and a falling start; gradients by
    forward finite differences of the simulation; ε̄(1) = target as an equality constraint);
    no costates.  ``problem.n_steps`` must be a multiple of ``n_intervals``."""
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    n = problem.n_steps
    if not 2 <= n_intervals <= n or n % n_intervals:
        raise ValueError(f"n_intervals = {n_intervals} must divide n_steps = {n} (and be >= 2)")
    per = n // n_intervals
    p_max = problem.max_pressure_mpa
    h = 1e-7
    cache: dict[bytes, tuple[float, np.ndarray, float, np.ndarray]] = {}

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray, float, np.ndarray]:
        key = x.tobytes()
        if key not in cache:
            xs = np.vstack([x, x + h * np.eye(len(x))])
            paths = np.repeat(np.clip(xs, 0.0, 1.0 + h) * p_max, per, axis=1)
            final = simulate(problem.model, paths)[:, -1]
            s, pen = problem.cost_terms(paths, final)
            j = s + pen
            mean = final.mean(axis=1) - problem.target_porosity
            cache[key] = (float(j[0]), (j[1:] - j[0]) / h, float(mean[0]),
                          (mean[1:] - mean[0]) / h)
        return cache[key]

    p_const = constant_path(problem).pressure_mpa[0] / p_max
    ramp = np.linspace(0.0, 2.0, n_intervals)
    ramp = ramp / ramp.mean()
    starts = [np.full(n_intervals, p_const), np.clip(p_const * ramp, 0, 1),
              np.clip(p_const * ramp[::-1], 0, 1)]
    best, iterations = None, 0
    for x0 in starts:
        res = minimize(lambda x: evaluate(x)[:2], x0, jac=True, method="SLSQP",
                       bounds=[(0.0, 1.0)] * n_intervals,
                       constraints=[{"type": "eq", "fun": lambda x: evaluate(x)[2],
                                     "jac": lambda x: evaluate(x)[3]}],
                       options={"maxiter": max_iterations, "ftol": 1e-14})
        iterations += int(res.nit)
        feasible = abs(evaluate(res.x)[2]) < 1e-7
        if feasible and (best is None or res.fun < best[0].fun):
            best = (res, feasible)
    if best is None:
        raise RuntimeError("solve_direct: SLSQP found no path that reaches target_porosity = "
                           f"{problem.target_porosity:g}")
    res = best[0]
    path = np.repeat(np.clip(res.x, 0.0, 1.0) * p_max, per)
    return _solution(problem, "direct", path, iterations=iterations, converged=bool(res.success),
                     wall_s=time.perf_counter() - t0)


def interval_means(pressure_mpa: np.ndarray, n_intervals: int) -> np.ndarray:
    """A path on n equal steps averaged onto ``n_intervals`` equal intervals (n divisible)."""
    p = np.asarray(pressure_mpa, dtype=float)
    return p.reshape(n_intervals, -1).mean(axis=1)


# ---------------------------------------------------------------------------- schedules
def schedule_cost(problem: PathProblem, pressures_mpa, pass_damkohler: float = math.inf
                  ) -> dict[str, np.ndarray]:
    """Outcome of multi-pass schedules (..., n_passes) [MPa] (module docstring): final
    sub-layer porosities (..., N), their mean, spread and the cost J (passes of equal time)."""
    p = np.asarray(pressures_mpa, dtype=float)
    eps = pass_porosity(problem.model, p, pass_damkohler)
    s, pen = problem.cost_terms(p, eps)
    return {"porosity": eps, "porosity_mean": eps.mean(axis=-1), "spread": s,
            "penalty": pen, "cost": s + pen}


def best_schedule(problem: PathProblem, n_passes: int, bounds_mpa: tuple[float, float],
                  tolerance: float, pass_damkohler: float = math.inf, n_grid: int | None = None
                  ) -> dict:
    """The cheapest schedule of ``n_passes`` pressures on a log grid over ``bounds_mpa`` whose
    film porosity is within ``tolerance`` of the target (brute force over the grid), or
    an empty dict when none is."""
    lo, hi = bounds_mpa
    n_grid = n_grid or {1: 2000, 2: 300, 3: 60}.get(n_passes, 16)
    axis = np.geomspace(lo, hi, n_grid)
    grids = np.meshgrid(*([axis] * n_passes), indexing="ij")
    p = np.stack([g.ravel() for g in grids], axis=1)
    out = schedule_cost(problem, p, pass_damkohler)
    ok = np.abs(out["porosity_mean"] - problem.target_porosity) <= tolerance
    if not ok.any():
        return {}
    k = np.flatnonzero(ok)[np.argmin(out["cost"][ok])]
    return {"pressures_mpa": p[k].tolist(), "porosity": out["porosity"][k].tolist(),
            **{key: float(out[key][k]) for key in ("porosity_mean", "spread", "penalty",
                                                   "cost")}}


# ---------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class SliceProfile:
    """Porosity per z slice of a film's voxel image (z = 0 at the current collector).

    Attributes:
        z_um: (S,) slice centres above the film bottom [µm].
        porosity: (S,) pore fraction of each slice [-].
        weight: (S,) share of each slice inside the film (1, the top one partial) [-].
        thickness_um: the film thickness [µm].
        voxel_um: the voxel edge [µm].
    """

    z_um: np.ndarray
    porosity: np.ndarray
    weight: np.ndarray
    thickness_um: float
    voxel_um: float

    @property
    def film_porosity(self) -> float:
        """Pore fraction of the film between its bounds (partial-volume top slice) [-]."""
        return float(np.sum(self.weight * self.porosity) / np.sum(self.weight))

    def layers(self, n_layers: int) -> np.ndarray:
        """Mean porosity of ``n_layers`` equal sub-layers, collector first [-]."""
        return layer_porosity(self.porosity, self.weight, n_layers)


def layer_porosity(porosity: np.ndarray, weight: np.ndarray, n_layers: int) -> np.ndarray:
    """Slice porosities (S,) binned into ``n_layers`` sub-layers of equal thickness, each
    slice counted by its overlap with each sub-layer; their mean is the film porosity."""
    porosity = np.asarray(porosity, dtype=float)
    weight = np.asarray(weight, dtype=float)
    if porosity.shape != weight.shape or porosity.ndim != 1 or not len(porosity):
        raise ValueError("porosity and weight must be 1-D arrays of the same, non-zero length")
    if not 2 <= n_layers <= MAX_LAYERS:
        raise ValueError(f"n_layers = {n_layers} is outside the allowed range "
                         f"[2, {MAX_LAYERS}]")
    total = float(weight.sum())
    starts = np.r_[0.0, np.cumsum(weight)[:-1]]
    ends = starts + weight
    edges = np.linspace(0.0, total, n_layers + 1)
    overlap = np.clip(np.minimum(ends[:, None], edges[None, 1:])
                      - np.maximum(starts[:, None], edges[None, :-1]), 0.0, None)
    return overlap.T @ porosity / (total / n_layers)


def film_slice_profile(state, voxel_um: float = 0.5) -> SliceProfile:
    """The porosity per z slice of a structure's voxel image (:func:`physics.voxel.voxelize`)
    between the film's bounds, the top slice weighted by its share inside the film (as
    :func:`physics.voxel.film_phase_fractions`)."""
    from physics.structure import film_bounds_um
    from physics.transport import slice_fractions
    from physics.voxel import voxel_grid, voxelize

    z0, z1 = film_bounds_um(state)
    edge = voxel_grid(state, voxel_um)[0]
    layers = (z1 - z0) / edge
    whole = int(math.floor(layers))
    image = voxelize(state, voxel_um, z_range_um=(z0, z0 + (whole + 1) * edge)).image
    pore = slice_fractions(image)[:, 0].astype(float)
    weight = np.ones(whole + 1)
    weight[whole] = layers - whole
    if weight[-1] <= 0.0:
        pore, weight = pore[:-1], weight[:-1]
    z = (np.arange(len(pore)) + 0.5) * edge
    return SliceProfile(z_um=z, porosity=pore, weight=weight, thickness_um=z1 - z0,
                        voxel_um=edge)


# ---------------------------------------------------------------------------- identification
@dataclass(frozen=True)
class LayerFit:
    """The reduced model identified from sub-layer porosity profiles.

    Attributes:
        model: the fitted model (Da as given).
        transmission_se: standard error of β [-].
        shape_se: standard errors of the c_i [-].
        law_se: standard errors of (ε_min, ln K0, ln m) [-].
        residual_sd: RMS residual of the sub-layer porosities [-].
        film_law: the compaction law fitted to the film (mean) porosities alone.
        residuals: (K, N) measured minus fitted sub-layer porosities [-] (a trend with
            pressure in a column says its shape factor is not pressure-independent).
        n_points: sub-layer porosities fitted.
        transmission_fitted: False where β was held fixed.
    """

    model: LayerModel
    transmission_se: float
    shape_se: tuple[float, ...]
    law_se: tuple[float, ...]
    residual_sd: float
    film_law: CompactionLaw
    residuals: np.ndarray
    n_points: int
    transmission_fitted: bool = True

    @property
    def transmission_at_bound(self) -> bool:
        """β at its upper bound 1 (no attenuation measurable)."""
        return self.model.transmission >= 1.0 - 1e-6

    def summary(self) -> dict:
        law = self.model.law
        return {"porosity_initial": law.porosity_initial, "porosity_min": law.porosity_min,
                "modulus_mpa": law.modulus_mpa, "modulus_slope": law.modulus_slope,
                "transmission": self.model.transmission,
                "transmission_se": self.transmission_se,
                "transmission_at_bound": self.transmission_at_bound,
                "transmission_fitted": self.transmission_fitted,
                "shape": list(self.model.shape), "shape_se": list(self.shape_se),
                "residuals": self.residuals.tolist(), "damkohler": self.model.damkohler,
                "residual_sd": self.residual_sd, "n_points": self.n_points,
                "film_law": asdict(self.film_law)}


def identify_layer_model(pressures_mpa, layers: np.ndarray, initial_layers: np.ndarray, *,
                         damkohler: float = DEFAULT_DAMKOHLER,
                         transmission: float | None = None,
                         film_porosity=None) -> LayerFit:
    """Fit (ε_min, K0, m, β, c_i) to calendered sub-layer porosity profiles (module
    docstring): ε_ki = c_i ε(a_i p_k) with mean(c) = 1 (so at β = 1 the film's mean follows
    the law exactly), ε0 = the uncalendered film's porosity (the mean of ``initial_layers``,
    which become the model's ε_0i).

    Args:
        pressures_mpa: (K,) pressures of the calendered profiles [MPa], K >= 3 (m = 0,
            Meyer's exponential law, below 4).
        layers: (K, N) sub-layer porosities after each pressure [-], collector first.
        initial_layers: (N,) sub-layer porosities of the uncalendered film [-].
        damkohler: Da of the returned model.
        transmission: β fixed at this value (default: fitted).
        film_porosity: (K,) film porosities for the film-only law (default the layer means).
    """
    from scipy.optimize import least_squares

    p = np.asarray(pressures_mpa, dtype=float)
    data = np.asarray(layers, dtype=float)
    first = np.asarray(initial_layers, dtype=float)
    if p.ndim != 1 or data.shape != (len(p), len(first)):
        raise ValueError(f"layers must be (K, N) = ({len(p)}, {len(first)}), got "
                         f"{data.shape}")
    if len(p) < 3:
        raise ValueError(f"identify_layer_model needs at least 3 calendered profiles, got "
                         f"{len(p)}")
    for name, values in (("layers", data), ("initial_layers", first)):
        if np.any(~np.isfinite(values)) or np.any(values <= 0) or np.any(values >= 1):
            raise ValueError(f"{name}: sub-layer porosities must lie in (0, 1)")
    n = len(first)
    e0 = float(first.mean())
    film = data.mean(axis=1) if film_porosity is None else np.asarray(film_porosity, float)
    exponential = len(p) < 4
    film_law = fit_compaction_law(np.r_[0.0, p], np.r_[e0, film], porosity_initial=e0,
                                  exponential=exponential).law
    n_law = 2 if exponential else 3
    free_beta = transmission is None
    depth = (n - np.arange(n) - 0.5) / n

    def unpack(theta):
        slope = 0.0 if exponential else math.exp(theta[2])
        beta = theta[n_law] if free_beta else transmission
        free = theta[n_law + free_beta:]
        shape = np.r_[free, n - free.sum()]  # mean(c) = 1: c is the profile's shape
        return theta[0], math.exp(theta[1]), slope, beta, shape

    def residual(theta):
        e_min, k0, slope, beta, shape = unpack(theta)
        law = CompactionLaw(e0, min(max(e_min, 0.0), e0 - 1e-9), k0, slope)
        local = law.porosity(p[:, None] * beta ** depth[None, :])
        return (np.clip(shape, 0.05, None) * local - data).ravel()

    slope0 = [] if exponential else [math.log(max(film_law.modulus_slope, 1e-6))]
    beta0 = [0.9] if free_beta else []
    shape0 = data.mean(axis=0) / data.mean()
    theta0 = np.array([film_law.porosity_min, math.log(film_law.modulus_mpa), *slope0, *beta0,
                       *shape0[:-1]])
    lower = [0.0, -12.0, *([] if exponential else [math.log(1e-6)]),
             *([0.01] if free_beta else []), *[0.05] * (n - 1)]
    upper = [e0 - 1e-6, 12.0, *([] if exponential else [math.log(20.0)]),
             *([1.0] if free_beta else []), *[0.999 / e0] * (n - 1)]
    theta0 = np.clip(theta0, np.array(lower) + 1e-9, np.array(upper) - 1e-9)
    res = least_squares(residual, theta0, bounds=(lower, upper), x_scale="jac")
    dof = max(res.fun.size - len(res.x), 1)
    s2 = float(np.sum(res.fun ** 2) / dof)
    cov = s2 * np.linalg.pinv(res.jac.T @ res.jac)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    k = n_law + free_beta
    shape_cov = cov[k:, k:]
    shape_se = np.r_[se[k:], math.sqrt(max(float(shape_cov.sum()), 0.0))]
    e_min, k0, slope, beta, shape = unpack(res.x)
    law = CompactionLaw(e0, float(min(max(e_min, 0.0), e0 - 1e-9)), float(k0), float(slope))
    return LayerFit(
        model=LayerModel(law, tuple(float(c) for c in shape), float(beta), damkohler,
                         initial=tuple(float(e) for e in first)),
        transmission_se=float(se[n_law]) if free_beta else 0.0,
        shape_se=tuple(float(v) for v in shape_se),
        law_se=tuple(float(v) for v in se[:n_law]), residual_sd=math.sqrt(s2),
        film_law=film_law, residuals=-res.fun.reshape(data.shape),
        n_points=int(res.fun.size), transmission_fitted=free_beta)
