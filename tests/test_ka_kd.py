"""ka (A-type, Kv4) and kd (D-type, Kv1): steady-state curves and time
constants as their COMMENTs write them, first-order relaxation, an ohmic K
current that reverses at ek, fixed step against CVODE, and both from plain
nrniv.

Each check runs real NEURON on one compartment against the functions
computed here in Python.
"""

import math
import os
import re
import subprocess

import numpy as np
import pytest

from cells import assert_ohmic_k_current, compartment, step_traces
from ionhomeo import build


def ka_minf(v, dz=0.667):
    z = 1.0 + dz / (1.0 + math.exp((v + 40.0) / 5.0))
    return 1.0 / (1.0 + math.exp(-z * (v - 11.0) / 18.0))


def ka_hinf(v):
    return 1.0 / (1.0 + math.exp((v + 56.0) / 8.0))


def kd_minf(v):
    return 1.0 / (1.0 + math.exp(-(v + 45.0) / 6.0))


def kd_hinf(v):
    return 0.25 + 0.75 / (1.0 + math.exp((v + 65.0) / 6.0))


CURVES = {"ka": (ka_minf, ka_hinf, 1.0, 23.0), "kd": (kd_minf, kd_hinf, 2.0, 98.0)}


@pytest.mark.parametrize("mech", ["ka", "kd"])
@pytest.mark.parametrize("v", [-100.0, -65.0, -45.0, -20.0, 0.0, 40.0])
@pytest.mark.parametrize("celsius", [24.0, 37.0])
def test_starts_at_its_steady_state_with_its_time_constants(h, mech, v, celsius):
    minf, hinf, mtau24, htau24 = CURVES[mech]
    sec = compartment(h, [mech])
    seg = sec(0.5)
    saved = h.celsius
    try:
        h.celsius = celsius
        h.finitialize(v)
        mod = getattr(seg, mech)
        assert mod.m == pytest.approx(minf(v), rel=1e-12)
        assert mod.h == pytest.approx(hinf(v), rel=1e-12)
        tadj = 3.0 ** ((celsius - 24.0) / 10.0)  # q10 3 from 24 C
        assert mod.mtau == pytest.approx(mtau24 / tadj, rel=1e-12)
        assert mod.htau == pytest.approx(htau24 / tadj, rel=1e-12)
    finally:
        h.delete_section(sec=sec)
        h.celsius = saved


def test_ka_foot_is_steepened_below_minus_40_and_the_curve_kept_above_minus_20(h):
    """Its COMMENT: m h at -65 mV 0.067 % (1.09 % with the single Boltzmann,
    dz = 0); above -20 mV minf within 0.003 of the single Boltzmann (1.7 %
    at -20 mV), within 0.15 % above -10 mV."""
    sec = compartment(h, ["ka"])
    seg = sec(0.5)
    old = h.dz_ka
    try:
        h.finitialize(-65.0)
        assert seg.ka.m * seg.ka.h == pytest.approx(6.7e-4, rel=0.01)  # the COMMENT's 2 digits
        h.dz_ka = 0.0
        h.finitialize(-65.0)
        assert seg.ka.m * seg.ka.h == pytest.approx(0.0109, rel=0.01)
        h.dz_ka = old
        for v in np.arange(-20.0, 60.1, 1.0):
            h.finitialize(float(v))
            single = ka_minf(float(v), dz=0.0)
            assert abs(seg.ka.m - single) < 0.003, v
            assert abs(seg.ka.m / single - 1.0) < (0.018 if v < -10.0 else 0.0015), v
    finally:
        h.dz_ka = old
        h.delete_section(sec=sec)


@pytest.mark.parametrize("mech", ["ka", "kd"])
def test_gates_relax_exponentially_after_a_voltage_step(h, mech):
    """Clamp v from -70 to -10 mV: m and h relax to their values at -10 mV
    with their time constants (constant in v: cnexp is exact)."""
    minf, hinf, mtau24, htau24 = CURVES[mech]
    sec = compartment(h, [mech])  # gbar 0 (the default): no current, v stays put
    seg = sec(0.5)
    saved_dt = h.dt
    try:
        h.dt = 0.025
        h.finitialize(-70.0)
        m0, h0 = getattr(seg, mech).m, getattr(seg, mech).h
        seg.v = -10.0
        t_end = 20.0
        for _ in range(int(round(t_end / h.dt))):
            h.fadvance()
        assert seg.v == pytest.approx(-10.0, abs=1e-9)
        tadj = 3.0 ** ((37.0 - 24.0) / 10.0)
        em = minf(-10.0) + (m0 - minf(-10.0)) * math.exp(-t_end * tadj / mtau24)
        eh = hinf(-10.0) + (h0 - hinf(-10.0)) * math.exp(-t_end * tadj / htau24)
        # exact solution of a linear ODE at constant v: round-off only
        assert getattr(seg, mech).m == pytest.approx(em, rel=1e-9)
        assert getattr(seg, mech).h == pytest.approx(eh, rel=1e-9)
    finally:
        h.dt = saved_dt
        h.delete_section(sec=sec)


@pytest.mark.parametrize("mech", ["ka", "kd"])
def test_current_is_ohmic_and_reverses_at_ek(h, mech):
    sec = compartment(h, [mech], **{mech: {"gbar": 0.01}})
    seg = sec(0.5)
    try:
        h.finitialize(-30.0)
        mod = getattr(seg, mech)
        g = 0.01 * mod.m * mod.h
        assert g > 0
        assert_ohmic_k_current(h, seg, g)
    finally:
        h.delete_section(sec=sec)


@pytest.mark.parametrize("mech, gbar", [("ka", 0.02), ("kd", 0.002)])
def test_fixed_step_and_cvode_agree(h, mech, gbar):
    """A compartment with the channel and a leak, depolarised by a current
    step: v under CVODE and under a fine fixed step agree on a 0.5 ms grid,
    and differ from the same step without the channel."""
    results = step_traces(h, mech, gbar, 1e-3, 0.8)  # 1 ms membrane: a fast rise the A current meets
    results["passive"] = step_traces(h, mech, 0.0, 1e-3, 0.8, methods=("fixed",))["fixed"]
    vf, vc, vp = results["fixed"], results["cvode"], results["passive"]
    assert vf.size == vc.size >= 800
    # backward Euler at 5 us lags by about dt/2 of the steepest slope (the
    # step's onset: 0.8 nA on 12.6 pF, 64 mV/ms -> 0.16 mV); twice the
    # estimate allowed
    assert np.max(np.abs(vf - vc)) < 0.32
    # the channel did something: the step's response is not the passive one
    assert np.max(np.abs(vf - vp)) > 5.0


HOC = r"""
load_file("stdrun.hoc")
create soma
soma { L = 20  diam = 20  nseg = 1  insert pas  g_pas = 5e-5  e_pas = -65
       insert ka  gbar_ka = 0.02  insert kd  gbar_kd = 0.002 }

objref stim, cv
soma stim = new IClamp(0.5)
stim.del = 10
stim.dur = 100
stim.amp = 0.3
celsius = 37
cv = new CVode()
cv.active(1)
finitialize(-65)
printf("minf_ka %.15g hinf_kd %.15g\n", soma.minf_ka(0.5), soma.hinf_kd(0.5))
continuerun(150)
printf("v %.6f ek %.6f\n", soma.v(0.5), soma.ek(0.5))
printf("RESULT OK\n")
"""


def test_plain_nrniv_inserts_both_and_runs_under_cvode(tmp_path):
    nrniv = build.neuron_executable("nrniv")
    if nrniv is None:
        pytest.fail("nrniv not found next to the Python executable or on PATH")
    lib = build.library_path(build.compile_mechanisms())
    (tmp_path / "kakd.hoc").write_text(HOC)
    proc = subprocess.run([nrniv, "-nobanner", "-dll", str(lib), "kakd.hoc", "-c", "quit()"],
                          cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "RESULT OK" in out, out
    minf, hinf = map(float, re.search(r"minf_ka (\S+) hinf_kd (\S+)", out).groups())
    assert minf == pytest.approx(ka_minf(-65.0), rel=1e-12)
    assert hinf == pytest.approx(kd_hinf(-65.0), rel=1e-12)
    v, ek = map(float, re.search(r"v (\S+) ek (\S+)", out).groups())
    # after the step: back between E_K and the leak's reversal
    assert ek < v < -60.0
