"""Valøen & Reimers (2005) LiPF6/EC:DMC fits: values at 1 M, 25 °C and the conductivity peak."""

import numpy as np
import pytest

from physics.electrolyte import conductivity_valoen2005_s_m, diffusivity_valoen2005_m2_s


def test_values_at_one_molar_and_25_c():
    # PyBaMM's independent implementation of the same fits (Xu2019 set) gives 3.22e-10 m²/s
    # and 1.194 S/m at 1000 mol/m³, 298.15 K
    assert diffusivity_valoen2005_m2_s(1000.0, 298.15) == pytest.approx(3.22e-10, rel=2e-3)
    assert conductivity_valoen2005_s_m(1000.0, 298.15) == pytest.approx(1.194, rel=1e-3)


def test_conductivity_peaks_near_one_molar_and_diffusivity_falls():
    c = np.linspace(100.0, 3000.0, 2901)
    kappa = conductivity_valoen2005_s_m(c, 298.15)
    assert 900.0 < c[np.argmax(kappa)] < 1100.0  # Valøen & Reimers, Fig. 6: max near 1 M
    assert np.all(np.diff(diffusivity_valoen2005_m2_s(c, 298.15)) < 0)
    assert conductivity_valoen2005_s_m(1000.0, 318.15) > conductivity_valoen2005_s_m(
        1000.0, 298.15)
