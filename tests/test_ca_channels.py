"""Ca entry and Ca-activated K: cahva, sk, caleak and the CaInject pulse.

Every check runs real NEURON on one compartment and compares with an
independent computation in Python (published rate functions, the Hill
equation, ionhomeo.thermo's GHK current) or with an exact conservation law.
"""

import math

import numpy as np
import pytest

from ionhomeo import mechanisms, thermo

from cells import compartment

CELSIUS = 37.0
#: elementary charge (C), exact in the 2019 SI
E_CHARGE = 1.602176634e-19


# ---------------------------------------------------------------------------
# cahva: Reuveni et al. 1993 HVA rates, GHK current
# ---------------------------------------------------------------------------

def reuveni_rates(v):
    """(alpha_m, beta_m, alpha_h, beta_h) in 1/ms, as published (v != -27 mV)."""
    am = 0.055 * (-27 - v) / (math.exp((-27 - v) / 3.8) - 1)
    bm = 0.94 * math.exp((-75 - v) / 17)
    ah = 0.000457 * math.exp((-13 - v) / 50)
    bh = 0.0065 / (math.exp((-v - 15) / 28) + 1)
    return am, bm, ah, bh


# voltages spanning rest to overshoot, including one within 0.5 mV of the
# removable singularity of alpha_m at -27 mV
VOLTAGES = [-90.0, -65.0, -40.0, -27.5, -26.9, -10.0, 0.0, 20.0, 45.0]


@pytest.mark.parametrize("v", VOLTAGES)
def test_cahva_steady_state_and_current(h, v):
    sec = compartment(h, ["cahva"])
    seg = sec(0.5)
    h.celsius = CELSIUS
    h.finitialize(v)
    am, bm, ah, bh = reuveni_rates(v)
    minf, hinf = am / (am + bm), ah / (ah + bh)
    # INITIAL puts m, h at steady state; the mod file and this formula
    # differ only by round-off (the efun form of alpha_m is algebraically
    # identical away from -27 mV), so 1e-9 absolute on a fraction is loose.
    assert seg.m_cahva == pytest.approx(minf, abs=1e-9, rel=1e-9)
    assert seg.h_cahva == pytest.approx(hinf, abs=1e-9, rel=1e-9)
    # the current at the initial state: pbar m^2 h times the GHK current per
    # unit permeability (thermo.ghk_current with P = 1 cm/s gives mA/cm2
    # per cm/s, the same units as pbar*ghk() in ghk.inc). Both use the SI
    # values of F and R, so they agree to round-off; 1e-9 relative.
    pbar = seg.pbar_cahva
    expected = pbar * minf**2 * hinf * thermo.ghk_current(
        v, seg.cai, seg.cao, 2, 1.0, CELSIUS)
    assert seg.i_cahva == pytest.approx(expected, rel=1e-9, abs=0)
    assert seg.ica == seg.i_cahva  # the only Ca current here
    assert seg.ica < 0  # inward at every v below E_Ca (about +130 mV)
    h.delete_section(sec=sec)


def test_cahva_current_at_other_concentrations(h):
    """The GHK driving force follows cai and cao (not a fixed eca)."""
    sec = compartment(h, ["cahva"])
    seg = sec(0.5)
    h.celsius = CELSIUS
    h.finitialize(-10.0)
    for cai, cao in [(1e-3, 2.0), (5e-2, 1.0), (1e-4, 0.0)]:
        seg.cai, seg.cao = cai, cao
        h.fcurrent()  # currents at the present state, new concentrations
        expected = seg.pbar_cahva * seg.m_cahva**2 * seg.h_cahva * thermo.ghk_current(
            -10.0, cai, cao, 2, 1.0, CELSIUS)
        assert seg.ica == pytest.approx(expected, rel=1e-9, abs=0)
    h.delete_section(sec=sec)


def test_cahva_continuous_at_minus_27(h):
    """alpha_m's 0/0 at v = -27 mV is removed: finite, continuous, right limit."""
    sec = compartment(h, ["cahva"])
    seg = sec(0.5)
    h.celsius = CELSIUS
    vals = {}
    for v in (-27.0 - 1e-6, -27.0, -27.0 + 1e-6):
        h.finitialize(v)
        vals[v] = (seg.m_cahva, seg.ica)
        assert math.isfinite(seg.m_cahva) and math.isfinite(seg.ica)
    # limit of alpha_m at -27 mV: 0.055 * 3.8 /ms
    am, bm = 0.055 * 3.8, 0.94 * math.exp((-75 + 27) / 17)
    assert vals[-27.0][0] == pytest.approx(am / (am + bm), rel=1e-12)
    # continuity: over 1e-6 mV, m changes by |dm/dv| * 1e-6 (dm/dv < 0.1 /mV),
    # and the current by less than 1e-6 relative; a 0/0 would give NaN or a
    # jump of order 1.
    m_lo, i_lo = vals[-27.0 - 1e-6]
    m_hi, i_hi = vals[-27.0 + 1e-6]
    m0, i0 = vals[-27.0]
    assert abs(m_lo - m0) < 1e-7 and abs(m_hi - m0) < 1e-7
    assert i_lo == pytest.approx(i0, rel=1e-6) and i_hi == pytest.approx(i0, rel=1e-6)
    h.delete_section(sec=sec)


# ---------------------------------------------------------------------------
# sk: Hill steady state, first-order relaxation, ohmic K current
# ---------------------------------------------------------------------------

def hill(cai, kd, n):
    r = (max(cai, 1e-12) / kd) ** n
    return r / (1 + r)


@pytest.mark.parametrize("cai", [1e-4, 3e-4, 5e-4, 2e-3])
def test_sk_relaxes_to_hill_with_tau(h, cai):
    sec = compartment(h, ["sk"])
    seg = sec(0.5)
    kd, n, tau = h.kd_sk, h.n_sk, h.tau_sk
    h.dt = 0.025
    h.finitialize(-65.0)
    # no Ca owner: cai stays at the default 100 nM until we set it
    o0 = hill(seg.cai, kd, n)
    assert seg.o_sk == pytest.approx(o0, rel=1e-12, abs=1e-15)  # INITIAL at steady state
    seg.cai = cai  # a Ca step; nothing writes cai, so it stays there
    nsteps = int(round(tau / h.dt))  # run to t = tau (200 steps of 0.025 ms)
    for _ in range(nsteps):
        h.fadvance()
    assert h.t == pytest.approx(tau, abs=1e-9)
    oinf = hill(cai, kd, n)
    expected = oinf + (o0 - oinf) * math.exp(-h.t / tau)
    # cnexp integrates this linear ODE exactly (o += (1 - exp(-dt/tau))(oinf - o)
    # each step), so only round-off separates NEURON from the analytic curve.
    assert seg.o_sk == pytest.approx(expected, abs=1e-12)
    assert seg.oinf_sk == pytest.approx(oinf, rel=1e-12)
    h.delete_section(sec=sec)


@pytest.mark.parametrize("cai", [0.0, -1e-6])
def test_sk_no_nan_at_zero_or_negative_ca(h, cai):
    sec = compartment(h, ["sk"])
    seg = sec(0.5)
    h.finitialize(-65.0)
    seg.cai = cai
    for _ in range(10):
        h.fadvance()
    # the floor pos() maps cai <= 0 to 1e-15 mM: oinf = (1e-15/kd)^n, ~1e-50
    assert math.isfinite(seg.o_sk) and math.isfinite(seg.ik)
    assert 0 <= seg.oinf_sk < 1e-30
    h.delete_section(sec=sec)


def test_sk_current_reverses_at_ek(h):
    sec = compartment(h, ["sk"])
    seg = sec(0.5)
    h.finitialize(-65.0)
    seg.cai = 1e-3  # well above kd: the channel is mostly open
    for _ in range(400):  # 10 ms = 2 tau
        h.fadvance()
    ek, g = seg.ek, seg.gbar_sk * seg.o_sk
    assert g > 0.5 * seg.gbar_sk
    for dv in (0.0, -20.0, -1e-3, 1e-3, 30.0):
        seg.v = ek + dv
        h.fcurrent()
        # ik = g (v - ek): exactly zero at ek (a product with an exact 0),
        # ohmic elsewhere to round-off
        if dv == 0.0:
            assert seg.ik == 0.0
        else:
            assert seg.ik == pytest.approx(g * dv, rel=1e-9)
            assert math.copysign(1, seg.ik) == math.copysign(1, dv)
    h.delete_section(sec=sec)


# ---------------------------------------------------------------------------
# caleak: GHK for z = 2
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("v", [-120.0, -65.0, -1e-5, 0.0, 1e-5, 30.0, 80.0])
@pytest.mark.parametrize("cai,cao", [(1e-4, 2.0), (1e-2, 1.0)])
def test_caleak_equals_thermo_ghk(h, v, cai, cao):
    sec = compartment(h, ["caleak"])
    seg = sec(0.5)
    h.celsius = CELSIUS
    h.finitialize(v)
    seg.cai, seg.cao = cai, cao
    h.fcurrent()
    expected = thermo.ghk_current(v, cai, cao, 2, seg.pca_caleak, CELSIUS)
    # Same formula and the same SI constants; the two implementations differ
    # in algebra (and switch to series at |zFv/RT| < 1e-4, where the dropped
    # terms are < 1e-19 relative), so they agree to about 1e-12. These v are
    # far from E_Ca, so there is no cancellation to amplify round-off.
    assert seg.ica == pytest.approx(expected, rel=1e-10, abs=0)
    assert seg.i_caleak == seg.ica
    h.delete_section(sec=sec)


def test_caleak_default_is_not_zero():
    assert mechanisms.get("caleak").parameter("pca").default > 0


# ---------------------------------------------------------------------------
# CaInject: exact charge, exact timing
# ---------------------------------------------------------------------------

def _injector(h, delay, dur, amp):
    sec = compartment(h, [])  # no membrane mechanism: only the pulse
    pp = mechanisms.add_point(sec(0.5), "CaInject", dur=dur, amp=amp)
    setattr(pp, "del", delay)  # `del` is a Python keyword
    return sec, pp


def test_cainject_charge_fixed_step(h):
    delay, dur, amp = 1.0, 2.0, 0.1  # ms, ms, nA: q = 0.2 pC
    sec, pp = _injector(h, delay, dur, amp)
    seg = sec(0.5)
    area = seg.area()  # um2
    h.dt = 0.025
    t = h.Vector().record(h._ref_t)
    ica = h.Vector().record(seg._ref_ica)
    h.finitialize(-65.0)
    assert pp.q == pytest.approx(amp * dur, rel=1e-15)
    h.continuerun(5.0)
    t, ica = np.array(t), np.array(ica)
    assert np.allclose(np.diff(t), h.dt)
    # the value recorded at t[k+1] is the current used over the step
    # (t[k], t[k+1]); ica is a density (mA/cm2), area*1e-2 converts it to nA
    # (um2 * 1e-8 cm2/um2 * 1e6 nA/mA)
    charge = np.sum(ica[1:]) * h.dt * area * 1e-2  # nA*ms = pC
    # the pulse lasts exactly dur/dt = 80 steps; 80 additions: round-off only
    assert charge == pytest.approx(-amp * dur, rel=1e-12)
    on = ica[1:] != 0
    assert on.sum() == round(dur / h.dt)
    # the density NEURON makes of the point current: amp / area
    assert ica[1:][on] == pytest.approx(-amp * 1e2 / area, rel=1e-12)
    # that charge is really deposited on the membrane: with no other current,
    # dv = q / (cm area), and 1 pC / 1 uF = 1e-3 mV, so with cm in uF/cm2 and
    # area in um2 (1e-8 cm2/um2): dv = q * 1e-3 / (cm * area * 1e-8) mV.
    # Backward Euler is exact for a constant current: 1e-9 relative.
    dv = amp * dur * 1e-3 / (sec.cm * area * 1e-8)
    assert seg.v - (-65.0) == pytest.approx(dv, rel=1e-9)
    # number of Ca ions (the recipe given in the mod file): q / (2 e)
    n_ions = pp.q * 1e-12 / (2 * E_CHARGE)
    assert n_ions == pytest.approx(6.2415e5, rel=1e-4)
    del pp
    h.delete_section(sec=sec)


def test_cainject_timing_under_cvode(h):
    delay, dur, amp = 1.013, 0.487, 0.05  # off-grid times on purpose
    sec, pp = _injector(h, delay, dur, amp)
    seg = sec(0.5)
    density = -amp * 1e2 / seg.area()
    eps = 1e-4  # ms: 100 ns either side of each switch
    probe = h.Vector([delay - eps, delay + eps, delay + dur - eps, delay + dur + eps])
    at_probe = h.Vector().record(seg._ref_ica, probe)
    tt = h.Vector().record(h._ref_t)
    ii = h.Vector().record(seg._ref_ica)
    cv = h.CVode()
    cv.active(1)
    h.finitialize(-65.0)
    h.continuerun(3.0)
    # exactly off just before the onset, on just after it, and the reverse at
    # the offset: the self-events stop the integrator at del and del + dur
    assert list(at_probe) == pytest.approx([0.0, density, density, 0.0], rel=1e-12, abs=0)
    t, i = np.array(tt), np.array(ii)
    # CVODE stops at each switch and records there twice: the value before
    # the self-event and the value after it
    at_on = np.isclose(t, delay, rtol=0, atol=1e-9)
    at_off = np.isclose(t, delay + dur, rtol=0, atol=1e-9)
    assert list(i[at_on]) == pytest.approx([0.0, density], rel=1e-12, abs=0)
    assert list(i[at_off]) == pytest.approx([density, 0.0], rel=1e-12, abs=0)
    before = t < delay - 1e-9
    during = (t > delay + 1e-9) & (t < delay + dur - 1e-9)
    after = t > delay + dur + 1e-9
    assert before.any() and during.any()
    assert np.all(i[before] == 0) and np.all(i[after] == 0)
    assert np.allclose(i[during], density, rtol=1e-12, atol=0)
    # and the membrane received exactly the pulse's charge (CVODE tolerances:
    # v is linear in t during the pulse, so the error is round-off)
    dv = amp * dur * 1e-3 / (sec.cm * seg.area() * 1e-8)
    assert seg.v - (-65.0) == pytest.approx(dv, rel=1e-6)
    del pp
    h.delete_section(sec=sec)
