"""Blocking transmission line: closed form vs a discrete RC ladder, limits, fitting, τ_EIS."""

from __future__ import annotations

import numpy as np
import pytest

from physics.impedance import (
    fit_tlm,
    frequencies_hz,
    r_ion_graphical,
    tlm_blocking_impedance,
    tortuosity_from_r_ion,
)

R_ION, C_DL, R_HF = 0.03, 2.0, 0.004  # Ω m², F m⁻², Ω m²


def ladder_impedance(freq_hz, r_ion, c_dl, r_hf, n=4000):
    """A discrete line: n pore nodes with C_dl/n each, R_ion/n between nodes and R_ion/2n
    from the separator to the first (cell-centred, second order), blocking at the current
    collector."""
    w = 2 * np.pi * np.asarray(freq_hz)
    z = 1.0 / (1j * w * c_dl / n)
    for _ in range(n - 1):
        z = r_ion / n + 1.0 / (1.0 / z + 1j * w * c_dl / n)
    return r_hf + r_ion / (2 * n) + z


def test_frequencies_match_the_paper_grid():
    f = frequencies_hz()
    assert f[0] == pytest.approx(1e7) and f[-1] == pytest.approx(1.0)
    assert f.size == 50 and np.allclose(np.diff(np.log10(f)), -1 / 7)


def test_rc_ladder_converges_to_the_closed_form():
    """The ladder's error against the closed form falls as 1/n (the lumped front cell) and is
    below 0.1 % at n = 8000 up to 1 kHz (penetration depth >= 400 cells)."""
    f = frequencies_hz(0.1, 1e3, 5)
    z = tlm_blocking_impedance(f, R_ION, C_DL, R_HF)
    err = [np.max(np.abs(ladder_impedance(f, R_ION, C_DL, R_HF, n) / z - 1))
           for n in (2000, 8000)]
    assert err[1] < 1e-3
    assert err[0] / err[1] == pytest.approx(4.0, rel=0.1)


def test_low_and_high_frequency_limits():
    w_low = 2 * np.pi * 1e-4
    z = tlm_blocking_impedance(np.array([1e-4]), R_ION, C_DL, R_HF)[0]
    assert z.real == pytest.approx(R_HF + R_ION / 3, rel=1e-6)
    assert z.imag * w_low * C_DL == pytest.approx(-1.0, rel=1e-6)
    z_hi = tlm_blocking_impedance(np.array([1e9]), R_ION, C_DL, R_HF)[0] - R_HF
    assert np.degrees(np.angle(z_hi)) == pytest.approx(-45.0, abs=1e-6)
    f = frequencies_hz(1e-3, 1e8, 7)
    assert r_ion_graphical(f, tlm_blocking_impedance(f, R_ION, C_DL, R_HF)) == pytest.approx(
        R_ION, rel=0.01)


def test_fit_recovers_the_line_from_a_noisy_spectrum():
    f = frequencies_hz()
    rng = np.random.default_rng(0)
    z = tlm_blocking_impedance(f, R_ION, C_DL, R_HF)
    noisy = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    fit = fit_tlm(f, noisy)
    assert fit.r_ion_ohm_m2 == pytest.approx(R_ION, rel=0.02)
    assert fit.c_dl_f_m2 == pytest.approx(C_DL, rel=0.02)
    assert fit.r_hf_ohm_m2 == pytest.approx(R_HF, rel=0.02)
    assert fit.rms_relative_residual < 0.01


def test_tortuosity_from_r_ion_is_macmullin_times_porosity():
    # κ_eff = κ ε / τ  ->  R_ion = L / κ_eff = L τ / (κ ε)
    kappa, length, eps, tau = 1.0, 60e-6, 0.3, 1.7
    r_ion = length * tau / (kappa * eps)
    assert tortuosity_from_r_ion(r_ion, length, eps, kappa) == pytest.approx(tau)
    with pytest.raises(ValueError, match="porosity"):
        tortuosity_from_r_ion(r_ion, length, 1.2, kappa)
