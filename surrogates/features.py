"""Physics-informed input features of the surrogates.

- ``log_pressure``: log10 of the calendering pressure in place of the pressure.  Compaction is
  exponential-saturating in pressure (:class:`physics.calender.CompactionFit`), so most of the
  change happens in the first MPa; on a log axis a stationary kernel fits it with one length
  scale.
- ``log_deborah``: log10 of the binder's Deborah number in the nip, De = τ(T) / t_nip, added
  as a column (temperature and line speed stay).  The binder law
  (:class:`physics.calender.BinderRheology`) acts through De only; t_nip is taken at a nominal
  reduction of ``NOMINAL_REDUCTION_UM`` (a constant shift of log De: the feature ranks points by
  τ(T)·v_line).

Whether a feature helps is measured, not assumed: :func:`surrogates.validation.select_features`
keeps it only where it lowers the cross-validated RMSE.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("log_pressure", "log_deborah")
NOMINAL_REDUCTION_UM = 20.0


def check_features(features, input_names) -> tuple[str, ...]:
    """Validated feature names for these inputs (ValueError if unknown or inapplicable)."""
    features = tuple(features)
    for f in features:
        if f not in FEATURES:
            raise ValueError(f"unknown feature {f!r}; allowed: {', '.join(FEATURES)}")
    if "log_pressure" in features and "pressure_mpa" not in input_names:
        raise ValueError("feature log_pressure needs pressure_mpa among the varying inputs")
    if "log_deborah" in features and not {"temperature_c", "line_speed_m_min"} & set(
            input_names):
        raise ValueError("feature log_deborah needs temperature_c or line_speed_m_min among "
                         "the varying inputs")
    return features


def applicable(input_names) -> tuple[str, ...]:
    """The features that can be computed from these inputs."""
    out = []
    for f in FEATURES:
        try:
            check_features((f,), input_names)
            out.append(f)
        except ValueError:
            continue
    return tuple(out)


def log_deborah(temperature_c: np.ndarray, line_speed_m_min: np.ndarray) -> np.ndarray:
    """log10 De at the nominal reduction, per point."""
    from physics.calender import ProcessConditions

    return np.array([np.log10(ProcessConditions(temperature_c=float(t),
                                                line_speed_m_min=float(v)).deborah_number(
        NOMINAL_REDUCTION_UM)) for t, v in zip(temperature_c, line_speed_m_min, strict=True)])


def model_inputs(x: np.ndarray, input_names, features) -> np.ndarray:
    """The GP's input matrix: process inputs (n × d) with the features applied."""
    from physics.pipeline import ProcessInputs

    names = list(input_names)
    x = np.array(x, dtype=float, copy=True)
    if "log_pressure" in features:
        k = names.index("pressure_mpa")
        x[:, k] = np.log10(x[:, k])
    if "log_deborah" in features:
        defaults = ProcessInputs()
        t = x[:, names.index("temperature_c")] if "temperature_c" in names else np.full(
            len(x), defaults.temperature_c)
        v = x[:, names.index("line_speed_m_min")] if "line_speed_m_min" in names else np.full(
            len(x), defaults.line_speed_m_min)
        x = np.column_stack([x, log_deborah(t, v)])
    return x
