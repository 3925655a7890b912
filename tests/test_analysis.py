"""ionhomeo.analysis: the shared fits, integrals and crossings of the protocols,
checked on traces whose answers are known in closed form."""

import math

import numpy as np
import pytest

from ionhomeo import analysis


def test_fit_exp_recovers_a_decay_with_and_without_baseline():
    x = np.linspace(0, 50, 400)
    fit = analysis.fit_exp(x, 3.0 * np.exp(-x / 7.0), (1.0, 1.0))
    assert (fit.a, fit.tau, fit.c) == (pytest.approx(3.0, rel=1e-9), pytest.approx(7.0, rel=1e-9),
                                       0.0)
    assert fit.max_residual < 1e-9 and math.isnan(fit.se_c)
    fit = analysis.fit_exp(x, 0.5 - 2.0 * np.exp(-x / 4.0), (-1.0, 2.0, 0.0), baseline=True,
                           lower=(-10, 1e-3, -10), upper=(10, 100, 10))
    assert fit.c == pytest.approx(0.5, rel=1e-9) and fit.tau == pytest.approx(4.0, rel=1e-9)
    assert fit(0.0) == pytest.approx(-1.5, rel=1e-9)


def test_loglinear_guess_is_the_log_slope():
    x = np.linspace(0, 10, 50)
    slope, icpt = analysis.loglinear_guess(x, 2.0 * np.exp(-x / 5.0))
    assert slope == pytest.approx(-0.2, rel=1e-12) and icpt == pytest.approx(math.log(2.0))
    assert math.isnan(analysis.loglinear_guess(x[:2], [1.0, 0.01], above=0.5)[0])


def test_fit_decay_takes_the_window_until_the_decay_is_done():
    t = np.linspace(0, 100, 1001)
    y = np.where(t < 10, 0.0, 4.0 * np.exp(-(t - 10) / 8.0))
    dec = analysis.fit_decay(t, y, 10.0, span=3.0)
    assert dec.complete and dec.t_start == 10.0
    assert dec.t_end == pytest.approx(10 + 24.0, abs=0.1)  # fallen to e^-3 after 3 tau
    assert dec.fit.tau == pytest.approx(8.0, rel=1e-8)
    assert dec.to_dict("ms")["tau_ms"] == dec.fit.tau
    empty = analysis.fit_decay(t, -y, 10.0)
    assert empty.fit is None and math.isnan(empty.to_dict()["tau"])


def test_integrals_and_crossings():
    x = np.linspace(0, math.pi, 2001)
    assert analysis.trapezoid(np.sin(x), x) == pytest.approx(2.0, rel=1e-6)
    assert analysis.trapezoid([1.0], [0.0]) == 0.0
    assert analysis.zero_crossing([0, 1, 2], [-1.0, 1.0, 3.0]) == 0.5
    assert math.isnan(analysis.zero_crossing([0, 1], [1.0, 2.0]))
    where, sign = analysis.sign_changes([0, 1, 2, 3], [-1.0, 1.0, 1.0, -3.0])
    assert list(where) == [0.5, 2.25] and list(sign) == [1.0, -1.0]
    y = np.array([5.0, 0.0, 2.0, 6.0])  # starts above 4: only the later rise counts
    assert analysis.bracket_crossing(y, 4.0) == (2, 0.5)
    assert analysis.bracket_crossing(y, 1.0, rising=False) == (0, 0.8)
    assert analysis.bracket_crossing(y, 4.0, mask=[1, 1, 1, 0]) is None
    assert analysis.first_time([0.0, 1.0, 2.0], [False, True, True]) == 1.0
    assert math.isnan(analysis.first_time([0.0], [False]))
    assert analysis.count_between([1.0, 2.0, 3.0, 4.0], 2.0, 4.0) == 2


def test_bisect_threshold_brackets_the_threshold():
    calls = []

    def triggers(x):
        calls.append(x)
        return x >= 0.37

    lo, hi = analysis.bisect_threshold(triggers, 0.01, 10.0, 1e-6)
    assert lo < 0.37 <= hi and hi / lo - 1 <= 1e-6
    assert len(calls) == math.ceil(math.log2(math.log(1000.0) / math.log1p(1e-6)))


def test_on_uniform_grid_spans_t0_to_the_end_evenly_and_is_exact_on_lines():
    t = np.array([0.0, 1.0, 1.5, 4.0, 10.0])  # uneven, as an integrator steps
    tt, yy = analysis.on_uniform_grid(t, 3.0 * t - 2.0, 1.25, 7)
    assert tt[0] == 0.0 and tt[-1] == pytest.approx(10.0 - 1.25, abs=1e-12)
    assert np.diff(tt) == pytest.approx(np.full(6, (10.0 - 1.25) / 6), abs=1e-12)
    assert yy == pytest.approx(3.0 * (tt + 1.25) - 2.0, abs=1e-12)  # linear: interpolation exact
