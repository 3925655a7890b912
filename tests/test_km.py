"""km, the M current: Pospischil et al. 2008 rate functions, first-order
relaxation, an ohmic K current that reverses at ek; fixed step and CVODE.

Each check runs real NEURON on one compartment against the published
functions computed here in Python.
"""

import math

import numpy as np
import pytest

from cells import compartment


def pinf(v):
    return 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0))


def ptau(v, taumax, tadj=1.0):
    return taumax / (tadj * (3.3 * math.exp((v + 35.0) / 20.0) + math.exp(-(v + 35.0) / 20.0)))


@pytest.mark.parametrize("v", [-90.0, -62.0, -47.0, -35.0, 0.0, 30.0])
def test_km_starts_at_its_steady_state(h, v):
    sec = compartment(h, ["km"])
    seg = sec(0.5)
    h.celsius = 36.0
    h.finitialize(v)
    assert seg.p_km == pytest.approx(pinf(v), rel=1e-12)
    assert seg.ptau_km == pytest.approx(ptau(v, h.taumax_km), rel=1e-12)
    h.delete_section(sec=sec)


def test_km_time_constant_peaks_where_the_mod_file_says(h):
    """ptau read from km.mod over a voltage grid peaks at -35 - 10 ln 3.3 =
    -46.9 mV with taumax / (2 sqrt(3.3)) = 0.275 taumax (its COMMENT)."""
    sec = compartment(h, ["km"], km={"gbar": 0.0})
    try:
        h.celsius = 36.0
        grid = np.linspace(-80.0, -10.0, 701)  # 0.1 mV apart
        taus = []
        for v in grid:
            h.finitialize(float(v))
            taus.append(sec(0.5).ptau_km)
        peak = grid[int(np.argmax(taus))]
        assert peak == pytest.approx(-35.0 - 10.0 * math.log(3.3), abs=0.051)  # half the grid step
        assert max(taus) == pytest.approx(h.taumax_km / (2 * math.sqrt(3.3)), rel=1e-5)
    finally:
        h.delete_section(sec=sec)
        h.celsius = 37.0


@pytest.mark.parametrize("celsius", [24.0, 36.0])
def test_km_relaxes_with_its_time_constant_after_a_voltage_step(h, celsius):
    """Clamp v from -70 to -30 mV: p relaxes exponentially to pinf(-30) with
    ptau(-30), the q10 scaling taken at celsius."""
    # gbar 0: no membrane current, so v stays where it is set (the gate still runs)
    sec = compartment(h, ["km"], km={"gbar": 0.0})
    seg = sec(0.5)
    h.celsius = celsius
    h.dt = 0.025
    h.finitialize(-70.0)
    p0 = seg.p_km
    seg.v = -30.0
    t_end = 200.0
    for _ in range(int(round(t_end / h.dt))):
        h.fadvance()
    assert seg.v == pytest.approx(-30.0, abs=1e-9)  # round-off of the matrix solve only
    tadj = h.q10_km ** ((celsius - 36.0) / 10.0)
    tau = ptau(-30.0, h.taumax_km, tadj)
    expected = pinf(-30.0) + (p0 - pinf(-30.0)) * math.exp(-t_end / tau)
    # cnexp integrates this linear ODE (constant v) exactly: round-off only
    assert seg.p_km == pytest.approx(expected, rel=1e-9)
    h.delete_section(sec=sec)
    h.celsius = 37.0


def test_km_current_reverses_at_ek(h):
    sec = compartment(h, ["km"])
    seg = sec(0.5)
    h.finitialize(-20.0)
    g = seg.gbar_km * seg.p_km
    for dv in (0.0, -20.0, -1e-3, 1e-3, 30.0):
        seg.v = seg.ek + dv
        h.fcurrent()
        if dv == 0.0:
            assert seg.ik == 0.0  # a product with an exact zero
        else:
            assert seg.ik == pytest.approx(g * dv, rel=1e-9)
    h.delete_section(sec=sec)


def test_km_fixed_step_and_cvode_agree(h):
    """A compartment with km and a leak, depolarised by a current step: the
    membrane potential under CVODE and under a fine fixed step agree, both
    sampled on the same 0.5 ms grid."""
    from ionhomeo import solver

    h.load_file("stdrun.hoc")
    saved = solver.save() if hasattr(solver, "save") else None
    cv = h.CVode()
    old_atol, old_rtol, old_active, old_dt = cv.atol(), cv.rtol(), cv.active(), h.dt
    results = {}
    try:
        for method in ("fixed", "cvode"):
            sec = compartment(h, ["km"])
            sec.insert("pas")
            seg = sec(0.5)
            seg.pas.g, seg.pas.e = 5e-5, -65.0
            seg.km.gbar = 5e-4
            stim = h.IClamp(seg)
            stim.delay, stim.dur, stim.amp = 10.0, 300.0, 0.05
            v = h.Vector().record(seg._ref_v, 0.5)  # sampled every 0.5 ms in both runs
            cv.active(method == "cvode")
            if method == "cvode":
                cv.atol(1e-6)
                cv.rtol(1e-8)
            else:
                h.dt = 0.005
            h.finitialize(-65.0)
            h.continuerun(400.0)
            results[method] = np.array(v)
            del stim
            h.delete_section(sec=sec)
    finally:
        cv.active(old_active)
        cv.atol(old_atol)
        cv.rtol(old_rtol)
        h.dt = old_dt
        if saved is not None:
            solver.restore(saved)
    vf, vc = results["fixed"], results["cvode"]
    assert vf.size == vc.size >= 800  # 0, 0.5, ..., 400 ms (the last sample when t reaches it)
    # CVODE at rtol 1e-8 is exact to ~1e-6 mV here; backward Euler at 5 us
    # (NEURON's default fixed step, first order) lags the step response by
    # about dt/2 of its fastest slope (44 mV over the membrane's ~20 ms,
    # g_pas 5e-5 S/cm2 plus km: 2.2 mV/ms x 2.5 us = 0.0055 mV); 0.0036 mV
    # measured, and twice the estimate allowed
    assert np.max(np.abs(vf - vc)) < 0.011
    # and the M current did something: v sags after the step's peak (ptau up
    # to 275 ms)
    t = np.arange(vf.size) * 0.5
    during = (t > 10) & (t < 310)
    assert vf[during].max() - vf[np.searchsorted(t, 305.0)] > 1.0
