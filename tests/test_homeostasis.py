"""ionhomeo.homeostasis: the integral controller of O'Leary et al. 2014, its
exact update, its Ca sensor (casensor) and its errors; and steady.solve with
nothing held (constant Na and K, only Ca dynamic)."""

import math

import numpy as np
import pytest

from ionhomeo import mechanisms, solver, steady
from ionhomeo.homeostasis import HomeostasisError, IntegralController, Regulated

# a Ca-only compartment: constant Na, K and Cl (no owners), Ca dynamic
CA_ONLY = ("cadyn", "pmca", "caleak", "casensor", "naleak", "kleak", "clleak", "nakpump")


def _compartment(h, diam=20.0):
    """A Ca-only compartment, L = diam (um) (a function, not a fixture: pytest
    keeps fixture values until after the no-sections-left check)."""
    sec = h.Section(name="homeostasis_test")
    sec.L = sec.diam = diam
    sec.nseg = 1
    for m in CA_ONLY:
        mechanisms.insert(sec, m)
    return sec


def test_step_composes_to_the_exact_solution(h):
    """Many updates at a constant Ca equal the closed-form solution of the
    linear equations (m linear in t; g its first-order filter)."""
    compartment = _compartment(h)
    seg = compartment(0.5)
    rules = [Regulated("caleak", "pca", 2000.0), Regulated("pmca", "imax", 500.0)]
    ctl = IntegralController([seg], rules, 2e-4, 700.0, update_ms=50.0, initial=[1e-7, 1e-3])
    m0, g0 = ctl.m.copy(), ctl.g.copy()
    ca = 1.5e-4
    for _ in range(400):  # 20 s in steps of 50 ms
        ctl.step(np.array([ca]), 50.0)
    t, tg = 400 * 50.0, 700.0
    a = ctl.reference[:, None] * ((2e-4 - ca) / 2e-4) / ctl.tau[:, None]
    m_exact = m0 + a * t
    g_exact = m0 + a * t - a * tg + (g0 - m0 + a * tg) * math.exp(-t / tg)
    # the update is the exact solution, so composing it loses only round-off
    np.testing.assert_allclose(ctl.m, m_exact, rtol=1e-12)
    np.testing.assert_allclose(ctl.g, g_exact, rtol=1e-12)
    # and the parameters in the segment are the new g
    ctl.apply()
    assert seg.caleak.pca == pytest.approx(float(ctl.g[0, 0]), rel=1e-15)


def test_casensor_mean_equals_the_recorded_mean(h):
    """casensor's integral gives the same mean Ca as a finely recorded trace."""
    compartment = _compartment(h)
    seg = compartment(0.5)
    inj = h.CaInject(seg)
    inj.delay, inj.dur, inj.amp = 5.0, 5.0, 5.0  # nA of inward Ca current: ~0.2 uM free
    tv = h.Vector().record(h._ref_t)
    cv = h.Vector().record(seg._ref_cai)
    solver.use_fixed_step(dt=0.005, secondorder=0)
    h.finitialize(-70)
    h.continuerun(300.0)
    t, c = np.array(tv), np.array(cv)
    # backward Euler: caint gains dt * cai(end of step) each step, a right
    # Riemann sum of the recorded samples, which the same sum reproduces
    right = float(np.sum(c[1:] * np.diff(t)))
    assert seg.casensor.caint == pytest.approx(right, rel=1e-9)
    assert c.max() > 3 * c[0]  # the pulse made a real transient
    del inj


def test_controller_reaches_the_target_fixed_step_and_cvode(h):
    """Regulating the Ca leak alone (no spikes): Ca reaches the target under
    both integrators, and the two agree."""
    # a 2 um compartment: Ca relaxes 10x faster than in a 20 um soma (volume/
    # area), fast against the controller's 1 s, so the loop does not ring
    compartment = _compartment(h, diam=2.0)
    seg = compartment(0.5)
    # PMCA's calmodulin feedback relaxes over about 50 s (koff 0.02 /s): off
    seg.pmca.camfb = 0
    ends = {}
    for method in ("fixed", "cvode"):
        seg.caleak.pca = mechanisms.get("caleak").parameter("pca").default
        ctl = IntegralController([seg], [Regulated("caleak", "pca", 1000.0)], 1.5e-4, 200.0,
                                 update_ms=20.0, initial=[1e-9])
        h.CVode().active(0)
        state = steady.solve([seg.sec], fixed=())
        if method == "fixed":
            solver.use_fixed_step(dt=0.25, secondorder=0)  # no spikes: slow Ca only
        else:
            solver.use_cvode()
        state.finitialize([seg.sec])
        ctl.run(20000.0)
        ca = ctl.mean_ca(18000.0, 20000.0)[0]
        # loop time constant about x* tau = 1.2 s (plus tau_g 0.2 s): measured
        # within 2e-6 of the target after 12 s, 1e-9 after 20 s
        assert ca == pytest.approx(1.5e-4, rel=1e-3)
        ends[method] = float(ctl.g[0, 0])
        assert seg.caleak.pca == pytest.approx(ends[method], rel=1e-12)
    # the fixed point is the pca whose steady Ca is the target; backward
    # Euler at 0.25 ms and CVODE both resolve the slow Ca to well below 1e-3
    assert ends["fixed"] == pytest.approx(ends["cvode"], rel=1e-3)


def test_modulation_scales_the_applied_parameter_only(h):
    compartment = _compartment(h)
    seg = compartment(0.5)
    ctl = IntegralController([seg], [Regulated("caleak", "pca", 2000.0)], 1.5e-4, 500.0,
                             update_ms=50.0, initial=[2e-7])
    ctl.set_modulation("caleak.pca", 1.5)
    assert seg.caleak.pca == pytest.approx(3e-7, rel=1e-15)
    assert ctl.g[0, 0] == 2e-7
    with pytest.raises(HomeostasisError, match="not regulated; regulated: caleak.pca"):
        ctl.set_modulation("nav.gbar", 2.0)
    with pytest.raises(HomeostasisError, match=">= 0"):
        ctl.set_modulation("caleak.pca", -1.0)


def test_negative_densities_are_clipped_and_counted(h):
    compartment = _compartment(h)
    seg = compartment(0.5)
    ctl = IntegralController([seg], [Regulated("caleak", "pca", 2000.0)], 1e-4, 500.0,
                             update_ms=50.0, initial=[1e-9])
    ctl.step(np.array([1e-3]), 50.0)  # Ca ten times the target: m and g fall below 0
    ctl.apply()
    assert ctl.g[0, 0] < 0 and seg.caleak.pca == 0.0 and ctl.clipped == 1


def test_bad_controllers_are_refused(h):
    compartment = _compartment(h)
    seg = compartment(0.5)
    ok = Regulated("caleak", "pca", 2000.0)
    with pytest.raises(HomeostasisError, match="no casensor"):
        sec = seg.sec
        sec.uninsert("casensor")
        try:
            IntegralController([seg], [ok], 1e-4, 500.0, update_ms=50.0)
        finally:
            sec.insert("casensor")
    with pytest.raises(HomeostasisError, match="has no nav"):
        IntegralController([seg], [Regulated("nav", "gbar", 2000.0)], 1e-4, 500.0, update_ms=50.0)
    with pytest.raises(HomeostasisError, match="GLOBAL"):
        IntegralController([seg], [Regulated("pmca", "kon", 2000.0)], 1e-4, 500.0, update_ms=50.0)
    with pytest.raises(mechanisms.ParameterError, match="no parameter 'gbr'"):
        IntegralController([seg], [Regulated("caleak", "gbr", 2000.0)], 1e-4, 500.0, update_ms=50.0)
    with pytest.raises(HomeostasisError, match="a tenth"):
        IntegralController([seg], [ok], 1e-4, 500.0, update_ms=100.0)
    with pytest.raises(HomeostasisError, match="regulated twice"):
        IntegralController([seg], [ok, ok], 1e-4, 500.0, update_ms=50.0)
    with pytest.raises(HomeostasisError, match="target_mM"):
        IntegralController([seg], [ok], 0.0, 500.0, update_ms=50.0)
    with pytest.raises(HomeostasisError, match="initial densities"):
        IntegralController([seg], [ok], 1e-4, 500.0, update_ms=50.0, initial=[-1.0])
    with pytest.raises(HomeostasisError, match="no segments"):
        IntegralController([], [ok], 1e-4, 500.0, update_ms=50.0)
    assert issubclass(HomeostasisError, mechanisms.ParameterError)  # the CLI reports it


def test_steady_state_with_nothing_held(h):
    """Constant Na/K/Cl and dynamic Ca: V from the net current, Ca from ica."""
    compartment = _compartment(h)
    state = steady.solve([compartment], fixed=())
    seg = compartment(0.5)
    net = sum(getattr(seg, f"i{ion}") for ion in ("na", "k", "cl", "ca"))
    assert abs(seg.ica) < 1e-13 and abs(net) < 1e-13  # mA/cm2, the solver's tolerance
    assert state.fixed == () and set(state.concentrations) == {"ca"}
    assert -100 < state.v < -60


def test_nothing_held_is_refused_when_the_family_is_degenerate(h):
    sec = h.Section(name="degenerate")
    try:
        for m in ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2"):
            mechanisms.insert(sec, m)
        with pytest.raises(steady.SteadyStateError, match="one-parameter family"):
            steady.solve([sec], fixed=())
    finally:
        sec = None

