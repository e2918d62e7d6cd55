"""An optimization problem over process inputs: objective, outcome constraints, bounds.

Declared in a TOML file (``etwin optimize --problem FILE.toml``)::

    [objective]
    output = "capacity_1C_mah_g"      # any simulate output (RunResult.metrics() name)
    direction = "maximize"             # or "minimize"

    [[constraints]]
    output = "tau_z"
    max = 1.7

    [[constraints]]
    output = "porosity"
    min = 0.28
    max = 0.34

    [bounds]                           # the decision variables, engineering units
    pressure_mpa = [1.0, 100.0]
    temperature_c = [25.0, 120.0]

    [fixed]                            # other process inputs (else their defaults)
    coating_thickness_um = 120.0

    [settings]
    fidelity = "fast"
    log_inputs = ["pressure_mpa"]      # searched on a log axis
    initial = 6                        # Sobol points before the first model
    iterations = 10
    q = 2                              # proposals per iteration, simulated in parallel
    seed = 0
    c_rates = [1.0]
    noise = "learned"                  # or "none" for a deterministic simulator
    trust_region = true                # search a shrinking box around the best point
    fidelities = ["ci", "fast"]        # multi-fidelity: the tiers to choose from (the
                                       # target is `fidelity`); default: that tier alone
    materials = "graphite"             # a material set (name or .toml path): its recipe
                                       # and AM are the defaults of the inputs not given

Errors name the offending entry: reversed or out-of-range bounds, an unknown input or output,
a constraint without limits or with min > max (no point can satisfy it).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from physics.pipeline import SCALAR_OUTPUTS


@dataclass(frozen=True)
class Constraint:
    """``lower <= output <= upper`` (either may be None)."""

    output: str
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise ValueError(f"constraint on {self.output!r} has neither min nor max")
        for name, v in (("min", self.lower), ("max", self.upper)):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"constraint on {self.output!r}: {name} = {v} is not finite")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"constraint on {self.output!r}: min {self.lower} > max "
                             f"{self.upper}; no point can satisfy it")

    def slack(self, value: float) -> float:
        """<= 0 where satisfied: the largest violation of either limit."""
        out = -math.inf
        if self.lower is not None:
            out = max(out, self.lower - value)
        if self.upper is not None:
            out = max(out, value - self.upper)
        return out


#: How the outcome models treat noise: "learned" (the GP fits a noise variance: the physics,
#: whose outputs scatter from run to run) or "none" (a deterministic simulator: a 1e-6
#: relative noise floor, so the models interpolate the evaluations).
NOISE_MODELS = ("learned", "none")


@dataclass(frozen=True)
class Problem:
    """Objective, constraints, bounds and loop settings (module docstring)."""

    objective: str
    maximize: bool
    bounds: dict[str, tuple[float, float]]
    constraints: tuple[Constraint, ...] = ()
    fixed: dict[str, float] = field(default_factory=dict)
    log_inputs: tuple[str, ...] = ()
    fidelity: str = "fast"
    initial: int = 6
    iterations: int = 10
    q: int = 1
    seed: int = 0
    c_rates: tuple[float, ...] = (1.0,)
    noise: str = "learned"
    trust_region: bool = True
    fidelities: tuple[str, ...] = ()
    materials: str = ""

    def __post_init__(self) -> None:
        from physics.fidelity import check_fidelity
        from physics.pipeline import check_c_rates

        ranges = self.input_ranges()
        check_fidelity(self.fidelity)
        object.__setattr__(self, "c_rates", check_c_rates(self.c_rates))
        if self.materials:
            self.material_set  # noqa: B018  (loads and checks the file)
        if not self.bounds:
            raise ValueError("[bounds]: give at least one decision variable")
        for name, (lo, hi) in self.bounds.items():
            if name not in ranges:
                raise ValueError(f"[bounds] {name!r} is not a process input; allowed: "
                                 f"{', '.join(ranges)}")
            a, b = ranges[name]
            if not lo < hi:
                raise ValueError(f"[bounds] {name} = [{lo}, {hi}] is reversed or empty; need "
                                 f"low < high")
            if not (a <= lo and hi <= b):
                raise ValueError(f"[bounds] {name} = [{lo}, {hi}] leaves the allowed range "
                                 f"[{a}, {b}]")
        for name in self.fixed:
            if name not in ranges:
                raise ValueError(f"[fixed] {name!r} is not a process input")
            if name in self.bounds:
                raise ValueError(f"{name!r} is both fixed and a decision variable")
        for name in self.log_inputs:
            if name not in self.bounds:
                raise ValueError(f"log_inputs: {name!r} is not a decision variable")
        allowed = self.allowed_outputs()
        for name in (self.objective, *(c.output for c in self.constraints)):
            if name not in allowed:
                raise ValueError(f"unknown output {name!r}; allowed: {', '.join(allowed)}")
        if self.fidelities:
            for tier in self.fidelities:
                check_fidelity(tier)
            if self.fidelity not in self.fidelities:
                raise ValueError(f"[settings] fidelities = {list(self.fidelities)} must include "
                                 f"the target fidelity {self.fidelity!r}")
            if len(set(self.fidelities)) != len(self.fidelities):
                raise ValueError(f"[settings] fidelities = {list(self.fidelities)} repeats a "
                                 f"tier")
        if not isinstance(self.trust_region, bool):
            raise ValueError(f"[settings] trust_region must be true or false, got "
                             f"{self.trust_region!r}")
        if self.noise not in NOISE_MODELS:
            raise ValueError(f"[settings] noise = {self.noise!r}; allowed: "
                             f"{', '.join(NOISE_MODELS)}")
        for name, lo, hi in (("initial", 1, 1000), ("iterations", 0, 1000), ("q", 1, 64)):
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"[settings] {name} must lie in [{lo}, {hi}], got "
                                 f"{getattr(self, name)}")

    def input_ranges(self) -> dict[str, tuple[float, float]]:
        """The decision variables a problem may have and their allowed ranges: the process
        inputs (a subclass over other variables overrides this and :meth:`allowed_outputs`)."""
        from physics.pipeline import INPUT_RANGES

        return INPUT_RANGES

    def allowed_outputs(self) -> tuple[str, ...]:
        rates = tuple(f"{kind}_{c:g}C_{unit}" for c in self.c_rates
                      for kind, unit in (("capacity", "mah_g"), ("areal_capacity", "mah_cm2"),
                                         ("mean_voltage", "v")))
        return (*SCALAR_OUTPUTS, *rates)

    @property
    def multifidelity(self) -> bool:
        """More than the target tier to choose from."""
        return len(self.fidelities) > 1

    @property
    def names(self) -> tuple[str, ...]:
        """Decision variables, in a fixed order."""
        return tuple(self.bounds)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Objective first, then each constrained output once."""
        return tuple(dict.fromkeys([self.objective, *(c.output for c in self.constraints)]))

    @functools.cached_property
    def material_set(self):
        """The :class:`physics.material_sets.MaterialSet` of ``materials`` (None: Table 2's
        electrode)."""
        if not self.materials:
            return None
        from physics.material_sets import load_material_set

        try:
            return load_material_set(self.materials)
        except ValueError as err:
            raise ValueError(f"[settings] materials: {err}") from None

    def inputs(self, x) -> dict[str, float]:
        """All process inputs of a decision vector (fixed ones added)."""
        return {**self.fixed, **{n: float(v) for n, v in zip(self.names, x, strict=True)}}

    def feasible(self, values: dict[str, float]) -> bool:
        return all(math.isfinite(values.get(c.output, math.nan))
                   and c.slack(values[c.output]) <= 0 for c in self.constraints)

    @classmethod
    def from_dict(cls, data: dict) -> Problem:
        known = {"objective", "constraints", "bounds", "fixed", "settings"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown problem sections {sorted(unknown)}; allowed: "
                             f"{sorted(known)}")
        objective = data.get("objective") or {}
        if "output" not in objective:
            raise ValueError("[objective] needs output = \"...\"")
        direction = objective.get("direction", "maximize")
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"[objective] direction = {direction!r}; allowed: maximize, "
                             f"minimize")
        constraints = []
        for c in data.get("constraints", []):
            bad = set(c) - {"output", "min", "max"}
            if bad or "output" not in c:
                raise ValueError(f"[[constraints]] entries take output, min, max; got {c}")
            constraints.append(Constraint(c["output"], c.get("min"), c.get("max")))
        try:
            bounds = {k: (float(v[0]), float(v[1])) for k, v in data.get("bounds", {}).items()}
        except (TypeError, IndexError, ValueError):
            raise ValueError("[bounds] entries must be [low, high] pairs of numbers") from None
        settings = dict(data.get("settings", {}))
        allowed = {"fidelity", "log_inputs", "initial", "iterations", "q", "seed", "c_rates",
                   "noise", "trust_region", "fidelities", "materials"}
        bad = set(settings) - allowed
        if bad:
            raise ValueError(f"unknown [settings] {sorted(bad)}; allowed: {sorted(allowed)}")
        for key in ("log_inputs", "c_rates", "fidelities"):
            if key in settings:
                settings[key] = tuple(settings[key])
        return cls(objective=objective["output"], maximize=direction == "maximize",
                   bounds=bounds, constraints=tuple(constraints),
                   fixed={k: float(v) for k, v in data.get("fixed", {}).items()}, **settings)

    @classmethod
    def load(cls, path: str | Path) -> Problem:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as err:
            raise ValueError(f"{path}: cannot read the problem file ({err})") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML ({err})") from None
        return cls.from_dict(data)
