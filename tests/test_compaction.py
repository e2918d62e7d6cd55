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


def test_seed_ensemble_fit_with_each_films_dried_porosity():
    """Three films dried to 0.41, 0.42, 0.43 compacting by one law: fitted with each film's
    ε0, the law comes back exactly (residual ~ 0); fitted with their mean ε0 instead, the
    dried-porosity spread would be left as scatter."""
    truth = CompactionLaw(0.42, 0.26, 0.3, 1.0)
    p = np.tile([0.3, 0.6, 1.0, 2.0, 5.0, 20.0], 3)
    e0 = np.repeat([0.41, 0.42, 0.43], 6)
    e = np.array([truth.with_initial(a).porosity(b) for a, b in zip(e0, p, strict=True)])
    fit = fit_compaction_law(p, e, porosity_initial=e0)
    assert fit.law.porosity_initial == pytest.approx(0.42)
    assert fit.law.porosity_min == pytest.approx(0.26, abs=1e-6)
    assert fit.law.modulus_mpa == pytest.approx(0.3, rel=1e-4)
    assert fit.law.modulus_slope == pytest.approx(1.0, rel=1e-4)
    assert fit.residual_sd < 1e-6
    lumped = fit_compaction_law(p, e, porosity_initial=0.42)
    assert lumped.residual_sd > 0.002


def test_degenerate_fits_fall_back_to_the_exponential_law():
    # an exponential curve: m runs to 0 and Meyer's law is fitted, with the note saying so
    meyer = CompactionLaw(0.42, 0.27, 2.0, 0.0)
    p = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 40.0])
    fit = fit_compaction_law(p, meyer.porosity(p), porosity_initial=0.42)
    assert fit.law.modulus_slope == 0.0 and "exponential" in fit.note
    assert fit.law.modulus_mpa == pytest.approx(2.0, rel=1e-6)
    # four points that never level off: the three-parameter fit cannot place ε_min
    p4 = np.array([5.92, 55.9, 86.0, 156.0])
    e4 = np.array([0.3209, 0.288, 0.2633, 0.2623])  # Ngandjong et al. 2021, measured
    fit = fit_compaction_law(p4, e4, sd=[0.0128, 0.0061, 0.008, 0.006], porosity_initial=0.4215)
    assert fit.law.modulus_slope == 0.0 and "porosity_min ran to its bound" in fit.note
    assert 0.2 < fit.law.porosity_min < 0.29
    # a straight line never levels off: degenerate for the exponential law too
    with pytest.raises(ValueError, match="porosity_min ran to its bound"):
        fit_compaction_law([1.0, 2.0, 3.0, 4.0, 5.0], [0.40, 0.38, 0.36, 0.34, 0.32],
                           porosity_initial=0.42)


def test_pressure_interval_for_another_dried_porosity_and_its_measurement_error():
    truth = CompactionLaw(0.42, 0.26, 0.3, 1.0)
    rng = np.random.default_rng(1)
    p = np.repeat([0.3, 0.6, 1.0, 2.0, 5.0, 20.0], 4)
    fit = fit_compaction_law(p, truth.porosity(p) + rng.normal(0, 0.002, p.size),
                             porosity_initial=0.42)
    med, lo, hi = fit.pressure_interval_mpa(0.30, porosity_initial=0.44)
    exact = truth.with_initial(0.44).pressure_mpa(0.30)
    assert med == pytest.approx(exact, rel=0.05) and lo < exact < hi
    assert med > fit.pressure_interval_mpa(0.30)[0]  # a looser film needs more pressure
    _, lo2, hi2 = fit.pressure_interval_mpa(0.30, porosity_initial=0.44,
                                            porosity_initial_sd=0.01)
    assert hi2 - lo2 > hi - lo
    with pytest.raises(ValueError, match="level"):
        fit.pressure_interval_mpa(0.30, level=1.5)
