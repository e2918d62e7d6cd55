"""NMC111 open-circuit potential: the published table, monotone interpolation, extrapolation."""

import numpy as np
import pytest

from physics.ocp import (
    NMC111_ZHENG2013_STOICHIOMETRY,
    NMC111_ZHENG2013_VOLTAGE_V,
    ocp_function,
)


def test_interpolation_passes_the_table_and_falls_monotonically():
    u = ocp_function("nmc111")
    assert np.allclose(u(np.array(NMC111_ZHENG2013_STOICHIOMETRY)),
                       NMC111_ZHENG2013_VOLTAGE_V, atol=1e-12)
    s = np.linspace(-0.05, 1.0, 20001)
    assert np.all(np.diff(u(s)) < 0)
    assert np.all(u.derivative(s) < 0)
    # derivative consistent with the function
    mid = np.linspace(0.05, 0.96, 50)
    assert np.allclose(u.derivative(mid), (u(mid + 1e-7) - u(mid - 1e-7)) / 2e-7, rtol=1e-4)


def test_voltage_window_of_a_discharge():
    u = ocp_function("nmc111")
    assert u.stoichiometry_at(4.2) == pytest.approx(0.13, abs=0.01)
    assert u.stoichiometry_at(3.0) == pytest.approx(0.9703, abs=0.001)
    assert float(u(1.0)) < 3.0  # linear extrapolation past the table keeps falling


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown open-circuit potential 'lfp'; allowed: nmc111"):
        ocp_function("lfp")
