"""Tests for ionhomeo.buffering (pure numpy/scipy; no NEURON needed)."""

import math

import numpy as np
import pytest

from ionhomeo import buffering as bf
from ionhomeo.buffering import (
    AddedBufferFit,
    added_buffer_fit,
    bound,
    capacity,
    free_after_load,
    hill,
    ions_to_mM,
    linear_free_after_load,
    residence_time,
    total_for_capacity,
)
from ionhomeo.thermo import AVOGADRO

UM = 1e-3   # 1 uM in mM
NM = 1e-6   # 1 nM in mM


# ---------------------------------------------------------------------------
# reference table ("Numbers that do hold")
# ---------------------------------------------------------------------------

def test_ions_to_mM_definition():
    # 1 ion in 1 fL = 1e-15 L: 1 / N_A mol / 1e-15 L = 1.66054 nM.
    assert ions_to_mM(1, 1.0) == pytest.approx(1e18 / AVOGADRO, rel=1e-15)
    assert ions_to_mM(1, 1.0) == pytest.approx(1.66053907e-6, rel=1e-8)
    # 1.2e5 ions in 0.2 fL: 0.99632 mM ("nearly 1 mM").
    assert ions_to_mM(1.2e5, 0.2) == pytest.approx(0.99632, abs=1e-5)


def test_table_terminal_rise_linear():
    # 1.2e5 ions into 0.2 fL, kappa 250, rest 100 nM -> "about 4.1 uM".
    # 0.99632 mM / 251 + 0.1 uM = 4.069 uM; printed to 0.1 uM -> tol 0.05.
    ca = linear_free_after_load(ions_to_mM(1.2e5, 0.2), 100 * NM, 250.0)
    assert abs(ca / UM - 4.1) <= 0.05


def test_table_soma_rise_linear():
    # Same ions into 5 pL = 5000 fL, kappa 40 -> "about 101 nM".
    # 39.85 nM / 41 + 100 nM = 100.97 nM; printed to 1 nM -> tol 0.5 nM.
    ca = linear_free_after_load(ions_to_mM(1.2e5, 5000.0), 100 * NM, 40.0)
    assert abs(ca / NM - 101.0) <= 0.5


def test_table_low_ca_bound_ratio_is_kd_ratio_20_not_15():
    # Equal totals, K_D 0.4 and 8 uM.  bound1/bound2 = (K2 + c)/(K1 + c)
    # -> K2/K1 = 20 as c -> 0 (the reference text's "15" is wrong).
    total = 0.1
    c = np.array([1e-3, 1e-6, 1e-9]) * UM
    ratio = bound(total, 0.4 * UM, c) / bound(total, 8 * UM, c)
    np.testing.assert_allclose(ratio, (8 * UM + c) / (0.4 * UM + c),
                               rtol=1e-14)
    assert abs(ratio[-1] - 20.0) <= 1e-6
    assert abs(ratio[-1] - 15.0) > 4.9
    # The capacities have the same low-Ca limit ratio.
    kr = capacity(total, 0.4 * UM, 1e-9 * UM) / capacity(total, 8 * UM,
                                                           1e-9 * UM)
    assert kr == pytest.approx(20.0, rel=1e-8)


def test_residence_time_table_formula():
    assert residence_time(99.0, 2.0) == pytest.approx(50.0, rel=1e-15)
    kap = np.array([0.0, 10.0, 250.0])
    np.testing.assert_allclose(residence_time(kap, 0.5), (1 + kap) / 0.5,
                               rtol=1e-15)


# ---------------------------------------------------------------------------
# bound, capacity, total_for_capacity
# ---------------------------------------------------------------------------

def test_bound_limits_and_half_saturation():
    assert bound(0.05, 1 * UM, 0.0) == 0.0
    assert bound(0.05, 1 * UM, 1 * UM) == pytest.approx(0.025, rel=1e-15)
    assert bound(0.05, 1 * UM, 1e6) == pytest.approx(0.05, rel=1e-8)


def test_capacity_is_derivative_of_bound():
    total, kd = 0.1, 2 * UM
    ca = np.array([10 * NM, 100 * NM, 1 * UM, 10 * UM])
    h = ca * 1e-6
    fd = (bound(total, kd, ca + h) - bound(total, kd, ca - h)) / (2 * h)
    np.testing.assert_allclose(capacity(total, kd, ca), fd, rtol=1e-8)
    # Low-Ca limit total / K_D.
    assert capacity(total, kd, 0.0) == pytest.approx(total / kd, rel=1e-15)


def test_total_for_capacity_inverts_capacity():
    kappa = np.array([[0.0], [20.0], [250.0]])
    kd = np.array([0.4, 8.0, 100.0]) * UM
    ca = 100 * NM
    tot = total_for_capacity(kappa, kd, ca)
    assert tot.shape == (3, 3)
    np.testing.assert_allclose(capacity(tot, kd, ca),
                               np.broadcast_to(kappa, (3, 3)), rtol=1e-14)
    tot2 = np.array([0.0, 0.04, 0.2])
    np.testing.assert_allclose(
        total_for_capacity(capacity(tot2, kd, ca), kd, ca), tot2, rtol=1e-14)


# ---------------------------------------------------------------------------
# free_after_load
# ---------------------------------------------------------------------------

BUFFERS = [(0.2, 0.4 * UM), (0.05, 8 * UM), (0.04, 200 * UM)]


def _total_ca(ca, buffers):
    return ca + sum(bound(b, k, ca) for b, k in buffers)


@pytest.mark.parametrize("buffers", [BUFFERS, BUFFERS[:1], []])
def test_free_after_load_conserves_total_ca(buffers):
    rest = 50 * NM
    load = np.array([0.0, 1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0])
    ca = free_after_load(load, rest, buffers)
    before = _total_ca(rest, buffers)
    np.testing.assert_allclose(_total_ca(ca, buffers), before + load,
                               rtol=1e-13)
    # Free Ca rises monotonically and by no more than the load.
    assert ca[0] == rest
    assert np.all(np.diff(ca) > 0)
    assert np.all(ca - rest <= load * (1 + 1e-15))


def test_free_after_load_single_buffer_closed_form():
    # One buffer: Ca^2 + (K + B - T) Ca - T K = 0 with T the new total Ca;
    # stable root 2 T K / ((K + B - T) + sqrt((K + B - T)^2 + 4 T K)).
    b, k, rest = 0.1, 1 * UM, 100 * NM
    for load in (1e-5, 1e-3, 0.05):
        t = rest + b * rest / (k + rest) + load
        p = k + b - t
        exact = 2 * t * k / (p + math.sqrt(p * p + 4 * t * k))
        assert free_after_load(load, rest, [(b, k)]) == pytest.approx(
            exact, rel=1e-12)


def test_free_after_load_no_buffer_is_rest_plus_load():
    assert free_after_load(0.3, 1e-4, []) == pytest.approx(0.3001, rel=1e-15)


@pytest.mark.parametrize("kd, kappa, load", [
    (1.0, 100.0, 0.1),          # K_D 1 mM, rise ~1 uM
    (0.1, 100.0, 0.05),         # K_D 100 uM, rise ~0.5 uM
    (0.05, 20.0, 0.005),        # K_D 50 uM, rise ~0.24 uM
])
def test_free_after_load_matches_linear_when_kd_much_larger_than_ca(
        kd, kappa, load):
    # Error bound.  One buffer, r = ca_rest, a = B K/(K + r), so that
    # kappa = a/(K + r).  The exact rise d solves d (1 + a/(K + r + d)) = L,
    # the linear one is d_lin = L/(1 + kappa).  Dividing,
    #   d_lin/d = (1 + a/(K + r + d)) / (1 + kappa), hence
    #   (d - d_lin)/d = [kappa - a/(K + r + d)] / (1 + kappa)
    #                 = kappa/(1 + kappa) * d/(K + r + d)
    #                 < d/(K + r) < d/K_D.
    # So the linear formula underestimates the rise by a relative amount
    # below (rise)/K_D, and the free Ca by less still (d - d_lin < that
    # fraction of d <= Ca).
    rest = 100 * NM
    total = total_for_capacity(kappa, kd, rest)
    ca = free_after_load(load, rest, [(total, kd)])
    lin = linear_free_after_load(load, rest, kappa)
    d, d_lin = ca - rest, lin - rest
    rel = (d - d_lin) / d
    assert rel == pytest.approx(kappa / (1 + kappa) * d / (kd + rest + d),
                                rel=1e-6)
    assert 0 < rel < d / kd
    assert abs(ca - lin) / ca < d / kd
    assert d / kd < 0.01            # the regime K_D >> Ca: error < 1 %


def test_linear_formula_is_a_lower_bound_of_exact():
    rest = 100 * NM
    kappa = sum(capacity(b, k, rest) for b, k in BUFFERS)
    load = np.array([1e-5, 1e-3, 0.1, 1.0])
    exact = free_after_load(load, rest, BUFFERS)
    lin = linear_free_after_load(load, rest, kappa)
    assert np.all(exact >= lin)
    # A small load is in the linear regime (second order in the load).
    assert exact[0] == pytest.approx(lin[0], rel=1e-3)


def test_free_after_load_broadcasts_buffer_arrays():
    totals = np.array([0.0, 0.1, 0.2])
    ca = free_after_load(1e-3, 100 * NM, [(totals, 1 * UM)])
    assert ca.shape == (3,)
    for j, b in enumerate(totals):
        assert ca[j] == free_after_load(1e-3, 100 * NM, [(b, 1 * UM)])
    assert ca[0] == pytest.approx(1e-3 + 100 * NM, rel=1e-15)
    assert np.all(np.diff(ca) < 0)


# ---------------------------------------------------------------------------
# added-buffer method
# ---------------------------------------------------------------------------

def test_added_buffer_fit_recovers_synthetic_parameters():
    kappa_s, gamma = 120.0, 1.75         # dimensionless, 1/ms
    kappa_b = np.array([0.0, 50.0, 100.0, 200.0, 400.0])
    tau = residence_time(kappa_s + kappa_b, gamma)  # (1 + kS + kB)/gamma
    fit = added_buffer_fit(kappa_b, tau)
    assert isinstance(fit, AddedBufferFit)
    assert fit.kappa_s == pytest.approx(kappa_s, rel=1e-12)
    assert fit.gamma == pytest.approx(gamma, rel=1e-12)
    assert fit.slope == pytest.approx(1 / gamma, rel=1e-12)
    assert fit.intercept == pytest.approx((1 + kappa_s) / gamma, rel=1e-12)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    # Helmchen et al. 1996: the x-intercept is -(1 + kappa_s).
    assert fit.x_intercept == pytest.approx(-(1 + kappa_s), rel=1e-12)
    with pytest.raises(AttributeError):
        fit.gamma = 2.0                  # frozen


def test_added_buffer_fit_with_noise_has_r_squared_below_one():
    kappa_b = np.array([0.0, 50.0, 100.0, 200.0])
    tau = residence_time(100.0 + kappa_b, 1.5) + np.array([1, -1, -1, 1])
    fit = added_buffer_fit(kappa_b, tau)
    assert 0.9 < fit.r_squared < 1.0
    np.testing.assert_allclose(
        fit.r_squared, np.corrcoef(kappa_b, tau)[0, 1] ** 2, rtol=1e-12)


# ---------------------------------------------------------------------------
# Hill
# ---------------------------------------------------------------------------

def test_hill_values():
    c = np.array([-1.0, 0.0, 0.1, 0.3, 1.0, 1e3]) * UM
    k, vmax = 0.3 * UM, 2.0
    for n in (1.0, 2.0, 2.5):
        out = hill(c, vmax, k, n)
        pos = c > 0
        ref = vmax * c[pos] ** n / (k**n + c[pos] ** n)
        np.testing.assert_allclose(out[pos], ref, rtol=1e-13)
        assert np.all(out[~pos] == 0.0)
        assert hill(k, vmax, k, n) == pytest.approx(vmax / 2, rel=1e-15)
    # No overflow for huge c^n.
    assert hill(1e300, 1.0, 1.0, 4.0) == 1.0


# ---------------------------------------------------------------------------
# types and validation
# ---------------------------------------------------------------------------

SCALAR_CALLS = [
    lambda: bound(0.1, 1e-3, 1e-4),
    lambda: capacity(0.1, 1e-3, 1e-4),
    lambda: total_for_capacity(100.0, 1e-3, 1e-4),
    lambda: ions_to_mM(1e5, 0.2),
    lambda: free_after_load(1e-3, 1e-4, BUFFERS),
    lambda: free_after_load(0.0, 1e-4, BUFFERS),
    lambda: linear_free_after_load(1e-3, 1e-4, 100.0),
    lambda: residence_time(100.0, 1.0),
    lambda: hill(1e-4, 1.0, 3e-4, 2.0),
]


@pytest.mark.parametrize("call", SCALAR_CALLS)
def test_scalars_give_numpy_floats(call):
    out = call()
    assert isinstance(out, np.float64)
    assert np.isfinite(out)


BAD_CALLS = [
    (lambda: bound(-0.1, 1e-3, 1e-4), "total"),
    (lambda: bound(0.1, 0.0, 1e-4), "kd"),
    (lambda: bound(0.1, 1e-3, -1e-4), "ca"),
    (lambda: capacity(0.1, -1e-3, 1e-4), "kd"),
    (lambda: capacity(np.nan, 1e-3, 1e-4), "total"),
    (lambda: total_for_capacity(-1.0, 1e-3, 1e-4), "kappa"),
    (lambda: ions_to_mM(1e5, 0.0), "volume_fL"),
    (lambda: ions_to_mM(-1, 1.0), "n_ions"),
    (lambda: free_after_load(-1e-3, 1e-4, BUFFERS), "load"),
    (lambda: free_after_load(np.inf, 1e-4, BUFFERS), "load"),
    (lambda: free_after_load(1e-3, 0.0, BUFFERS), "ca_rest"),
    (lambda: free_after_load(1e-3, 1e-4, [(-0.1, 1e-3)]),
     r"buffers\[0\] total"),
    (lambda: free_after_load(1e-3, 1e-4, [(0.1, 1e-3), (0.1, 0.0)]),
     r"buffers\[1\] kd"),
    (lambda: free_after_load(1e-3, 1e-4, [(0.1,)]), r"buffers\[0\]"),
    (lambda: free_after_load(1e-3, 1e-4, 5), "buffers"),
    (lambda: linear_free_after_load(1e-3, 1e-4, -2.0), "kappa"),
    (lambda: linear_free_after_load(np.nan, 1e-4, 2.0), "load"),
    (lambda: residence_time(100.0, 0.0), "k"),
    (lambda: residence_time(-1.0, 1.0), "kappa"),
    (lambda: added_buffer_fit([0.0, 1.0], [1.0, 2.0, 3.0]), "same length"),
    (lambda: added_buffer_fit([5.0, 5.0], [1.0, 2.0]), "two distinct"),
    (lambda: added_buffer_fit([0.0, 10.0], [2.0, 1.0]), "slope"),
    (lambda: added_buffer_fit([0.0, 10.0], [0.0, 1.0]), "tau"),
    (lambda: added_buffer_fit([-1.0, 10.0], [1.0, 2.0]), "kappa_b"),
    (lambda: added_buffer_fit([[0.0, 10.0]], [[1.0, 2.0]]), "1-D"),
    (lambda: hill(1e-4, 1.0, 0.0, 1.0), "k"),
    (lambda: hill(1e-4, 1.0, 1e-3, -1.0), "n"),
    (lambda: hill(1e-4, -1.0, 1e-3, 1.0), "vmax"),
    (lambda: hill(np.nan, 1.0, 1e-3, 1.0), "c"),
]


@pytest.mark.parametrize("call, name", BAD_CALLS)
def test_invalid_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_module_has_no_neuron_import():
    with open(bf.__file__) as f:
        src = f.read()
    assert "import neuron" not in src and "from neuron" not in src
