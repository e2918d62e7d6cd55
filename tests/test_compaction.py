"""The closed-form compaction law (physics/compaction.py): limits, inverse, mass balance and
the fit recovering a known law from noisy points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physics.compaction import CompactionLaw, fit_compaction_law


def test_law_limits_inverse_and_mass_balance():
    law = CompactionLaw(0.42, 0.26, 0.25, 1.2)
    assert law.porosity(0.0) == pytest.approx(0.42)
    assert law.porosity(1e6) == pytest.approx(0.26, abs=1e-3)
    p = np.array([0.1, 1.0, 10.0, 100.0])
    assert law.pressure_mpa(law.porosity(p)) == pytest.approx(p, rel=1e-9)
    # Meyer's exponential law is the m -> 0 limit
    meyer = CompactionLaw(0.42, 0.26, 2.0, 0.0)
    assert meyer.porosity(3.0) == pytest.approx(0.26 + 0.16 * math.exp(-1.5))
    assert CompactionLaw(0.42, 0.26, 2.0, 1e-7).porosity(3.0) == pytest.approx(
        meyer.porosity(3.0), rel=1e-6)
    # tangent modulus: -dp / d ln(ε - ε_min) by finite differences
    h = 1e-4
    d_ln = (math.log(law.porosity(5 + h) - 0.26) - math.log(law.porosity(5 - h) - 0.26)) / (2 * h)
    assert -1 / d_ln == pytest.approx(law.tangent_modulus_mpa(5.0), rel=1e-5)
    # solid volume per area is kept
    h1 = law.thickness_um(20.0, 100.0)
    assert h1 * (1 - law.porosity(20.0)) == pytest.approx(100.0 * (1 - 0.42))
    with pytest.raises(ValueError, match="not reachable"):
        law.pressure_mpa(0.25)
    with pytest.raises(ValueError, match="porosity_min"):
        CompactionLaw(0.42, 0.5, 1.0)
    with pytest.raises(ValueError, match="modulus_mpa"):
        CompactionLaw(0.42, 0.2, -1.0)


def test_fit_recovers_a_known_law_within_its_intervals():
    """Points of a known law with 0.003 scatter (6 pressures x 4 seeds): the fitted pressure
    for 30 % porosity lies within 10 % of the truth, and the 90 % interval holds the truth."""
    truth = CompactionLaw(0.42, 0.26, 0.3, 1.0)
    rng = np.random.default_rng(0)
    p = np.repeat([0.3, 0.6, 1.0, 2.0, 5.0, 20.0], 4)
    e = truth.porosity(p) + rng.normal(0, 0.003, p.size)
    fit = fit_compaction_law(np.r_[0.0, p], np.r_[0.42, e])
    assert fit.residual_sd == pytest.approx(0.003, rel=0.4)
    med, lo, hi = fit.pressure_interval_mpa(0.30)
    assert med == pytest.approx(truth.pressure_mpa(0.30), rel=0.1)
    assert lo < truth.pressure_mpa(0.30) < hi
    with pytest.raises(ValueError, match="at least 4 points"):
        fit_compaction_law([0.0, 1.0, 2.0], [0.42, 0.35, 0.3])
    with pytest.raises(ValueError, match="porosity_initial is needed"):
        fit_compaction_law([1.0, 2.0, 3.0, 4.0], [0.35, 0.3, 0.29, 0.28])
