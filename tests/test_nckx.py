"""nckx, the K-dependent Na/Ca exchanger (NCKX2): reversal at 4 E_Na - 2 E_Ca
- E_K (thermo.nckx_reversal), 4 Na : 1 Ca : 1 K exactly, no flux out of an
empty side, a closed compartment that relaxes to the thermodynamic
equilibrium conserving Na, K and Ca, fixed step and CVODE, and the apparent
cytosolic Ca and K affinities at rest.

Each check runs real NEURON on one compartment.
"""

import math

import numpy as np
import pytest
from scipy import optimize

from ionhomeo import calcium, solver, thermo

from cells import compartment

#: the resting state the mod file's COMMENT describes (mM, mV, degC)
REST = dict(nai=9.0, nao=145.0, cai=1e-4, cao=2.0, ki=140.0, ko=4.0)
V_REST, C_REST = -62.0, 34.0


def _at(h, seg, v, **conc):
    """Set v and concentrations, then evaluate the currents (BREAKPOINT)."""
    for name, value in conc.items():
        setattr(seg, name, value)
    seg.v = v
    h.fcurrent()
    return seg.nckx.inckx


@pytest.fixture
def seg(h):
    sec = compartment(h, ["nckx"])
    saved = h.celsius
    h.finitialize(-65)
    yield sec(0.5)
    h.celsius = saved
    h.delete_section(sec=sec)


# ------------------------------------------------------------ thermodynamics

STATES = {
    "rest": REST,
    "Na-loaded": dict(REST, nai=40.0, cai=1e-3),
    "high ko": dict(REST, ko=40.0, ki=100.0, cai=5e-4),
    "low Ca": dict(REST, cai=1e-6, cao=0.5),
    "Ca-loaded": dict(REST, nai=20.0, cai=2e-2),
}


@pytest.mark.parametrize("celsius", [22.0, 34.0, 37.0])
@pytest.mark.parametrize("state", list(STATES))
def test_nckx_current_changes_sign_at_4ena_minus_2eca_minus_ek(h, seg, state, celsius):
    """The exchange current is zero at thermo.nckx_reversal and changes sign
    there within 1e-6 mV: forward (Ca out, inckx < 0) below, reverse above."""
    conc = STATES[state]
    h.celsius = celsius
    e = float(thermo.nckx_reversal(celsius=celsius, **conc))
    ena = float(thermo.nernst(conc["nai"], conc["nao"], 1, celsius))
    eca = float(thermo.nernst(conc["cai"], conc["cao"], 2, celsius))
    ek = float(thermo.nernst(conc["ki"], conc["ko"], 1, celsius))
    assert e == pytest.approx(4 * ena - 2 * eca - ek, abs=1e-12)
    # 1e-6 mV changes each of the two terms by 1e-6/(RT/F) ~ 4e-8 of
    # itself, far above the round-off of the mod file's products and of
    # thermo's logarithms (both of order 1e-15 relative)
    below = _at(h, seg, e - 1e-6, **conc)
    above = _at(h, seg, e + 1e-6, **conc)
    assert below < 0 < above, (below, above)
    assert seg.ica < 0 and seg.ina > 0  # above: Ca enters, Na leaves (reverse)
    scale = abs(_at(h, seg, e - 5.0, **conc))
    assert seg.ica > 0 and seg.ina < 0  # below: Ca leaves, Na enters (forward)
    # at the reversal the bracket cancels to round-off of its two terms
    assert abs(_at(h, seg, e, **conc)) < 1e-9 * scale


def test_nckx_reversal_shifts_with_each_gradient_as_the_formula_says(h, seg):
    """At fixed v the sign follows the free energy: raising ko by e-fold
    moves the reversal by -RT/F, raising cai e-fold by +RT/F, nai e-fold by
    -4 RT/F (the ion counts of one cycle)."""
    h.celsius = C_REST
    rtf = float(thermo.rt_over_f(C_REST))
    e0 = float(thermo.nckx_reversal(celsius=C_REST, **REST))
    for ion, factor, shift in (("ko", math.e, -rtf), ("cai", math.e, rtf),
                               ("nai", math.e, -4 * rtf), ("ki", math.e, rtf)):
        conc = dict(REST, **{ion: REST[ion] * factor})
        e = float(thermo.nckx_reversal(celsius=C_REST, **conc))
        assert e - e0 == pytest.approx(shift, rel=1e-12), ion
        assert _at(h, seg, e - 1e-6, **conc) < 0 < _at(h, seg, e + 1e-6, **conc), ion


# -------------------------------------------------------------- stoichiometry

def test_nckx_moves_4_na_per_ca_and_k_and_one_charge_per_cycle(h, seg):
    """ina : ica : ik = 4 : -2 : -1 (4 Na in per Ca and K out), bitwise:
    the mod file multiplies inckx by 4, -2 and -1, exact in binary; so
    ina + ica + ik = inckx exactly."""
    h.celsius = C_REST
    rng = np.random.default_rng(7)
    signs = set()
    for _ in range(200):
        conc = dict(nai=rng.uniform(1, 60), nao=rng.uniform(50, 150),
                    cai=10 ** rng.uniform(-5, -1), cao=rng.uniform(0.5, 3),
                    ki=rng.uniform(60, 150), ko=rng.uniform(1, 60))
        i = _at(h, seg, rng.uniform(-100, 200), **conc)
        assert i != 0
        signs.add(i > 0)
        assert seg.ina == 4 * i and seg.ica == -2 * i and seg.ik == -i
        assert seg.ina + seg.ica + seg.ik == i
        # as ion fluxes: ina/F : ica/(2F) : ik/F = 4 : -1 : -1
        assert (seg.ica / 2) / seg.ina == -0.25 and seg.ik / seg.ina == -0.25
    assert signs == {True, False}, "both modes sampled"


# ----------------------------------------------------------------- positivity

@pytest.mark.parametrize("empty, sign", [("cai", +1), ("ki", +1), ("nao", +1),
                                         ("nai", -1), ("cao", -1), ("ko", -1)])
def test_nckx_moves_nothing_out_of_an_empty_side(h, seg, empty, sign):
    """With cai, ki or nao at zero the forward flux vanishes, so only reverse
    exchange remains (inckx >= 0: no Ca or K leaves, no Na enters); with nai,
    cao or ko at zero the reverse flux vanishes (inckx <= 0). Emptying one
    ion of each direction stops the exchanger."""
    h.celsius = C_REST
    # forward conditions for the forward-side ions, reverse for the others
    v, base = (V_REST, REST) if sign > 0 else (150.0, dict(REST, nai=40.0, cai=1e-3))
    scale = abs(_at(h, seg, v, **base))
    i = _at(h, seg, v, **dict(base, **{empty: 0.0}))
    assert sign * i >= 0, (empty, i)
    # and with one ion of the other direction emptied as well: no flux left
    # (pos() floors concentrations at 1e-15 mM: a remainder of 1e-12 relative)
    other = {"cai": "nai", "ki": "ko", "nao": "cao", "nai": "cai", "cao": "ki", "ko": "nao"}
    i0 = _at(h, seg, v, **dict(base, **{empty: 0.0, other[empty]: 0.0}))
    assert abs(i0) < 1e-9 * scale, (empty, i0, scale)


# ------------------------------------------------- closed compartment, relaxation

def _closed(h, nai0, cai0, vc, imax):
    """A 1 um cylinder with its Na, K and Ca owners and nckx, voltage-clamped."""
    sec = compartment(h, ["nadyn", "kdyn", "cabuf", "nckx"], diam=1.0, L=1.0,
                      nadyn={"nai0": nai0}, cabuf={"cai0": cai0}, nckx={"imax": imax})
    clamp = h.SEClamp(sec(0.5))
    clamp.dur1, clamp.amp1, clamp.rs = 1e9, vc, 1e-3
    return sec, clamp


@pytest.mark.parametrize("method", ["fixed", "cvode"])
@pytest.mark.parametrize("nai0, vc", [(9.0, -62.0), (30.0, -20.0)])
def test_closed_compartment_relaxes_to_equilibrium_and_conserves_ions(h, method, nai0, vc):
    """Ca loaded to 1 uM in a clamped, sealed compartment: the exchanger
    extrudes Ca until v is its reversal potential for the concentrations it
    has made, moving exactly 4 Na in and 1 K out per Ca (free plus buffered)
    out. At rest (9 mM Na, -62 mV) it ends at 0.1 nM free Ca, in a Na-loaded
    cell (30 mM, -20 mV) at 50 nM; cai stays positive throughout."""
    h.celsius = C_REST
    sec, clamp = _closed(h, nai0, 1e-3, vc, imax=0.27)
    seg = sec(0.5)
    cai = h.Vector().record(seg._ref_cai)
    tstop, dt = 2000.0, 0.025
    try:
        if method == "cvode":
            solver.use_cvode(True, rtol=1e-9, atol=1e-10)
        else:
            solver.use_fixed_step(dt, secondorder=0)
        h.finitialize(vc)
        vol = calcium.segment_volume_um3(seg)
        na0, k0 = seg.nai, seg.ki
        ca0 = calcium.content([sec])["total"] / vol  # free + buffered, mM
        h.continuerun(tstop)
        dca = calcium.content([sec])["total"] / vol - ca0
        dna, dk = seg.nai - na0, seg.ki - k0
        e = float(thermo.nckx_reversal(seg.nai, seg.nao, seg.cai, seg.cao, seg.ki, seg.ko,
                                       celsius=C_REST))
        final_v, final_cai = seg.v, seg.cai
    finally:
        del clamp
        h.delete_section(sec=sec)
    # non-vacuous: most of the loaded Ca (about 0.09 mM with the buffer) left
    assert dca < -0.05
    # Equilibrium (imax 0.27 mA/cm2, 17 times the default, so that 2 s is
    # many of the slowest time constant near it; the reversal check below
    # shows it was reached). At
    # the fixed point the fixed step is exact (measured 5e-12 mV); CVODE
    # holds each state to its rtol 1e-9 (cai's atol, 1e-10 x its atolscale,
    # is 1e-16 mM), about 1e-8 mV of the reversal (measured 5e-9, 1.2e-8 mV)
    assert final_v == pytest.approx(vc, abs=1e-3)  # the clamp (rs 1 kOhm)
    assert e == pytest.approx(final_v, abs=1e-6)
    assert final_cai == pytest.approx(5e-5 if nai0 > 9 else 1e-7, rel=0.1)
    assert np.min(np.asarray(cai)) > 0
    # Conservation: 4 Na in and 1 K out per Ca out. Fixed step: the owners
    # add each step's increment to nai (9-30 mM) and ki (140 mM) and lose at
    # most one ulp of it per step: 80000 steps x spacing(140) = 2.3e-9 mM
    # for K (measured 3.1e-10). CVODE conserves these linear invariants to
    # its Newton tolerance (measured 2e-12 mM; nai's atol is 1e-12 mM)
    steps = tstop / dt
    for name, change, expected, c in (("Na", dna, -4 * dca, nai0), ("K", dk, dca, 140.0)):
        bound = steps * np.spacing(c) if method == "fixed" else 1e-9
        assert abs(change - expected) <= bound, (name, change, expected)


# ------------------------------------------------------- fixed step vs CVODE

def test_nckx_clears_a_ca_load_alike_under_fixed_step_and_cvode(h):
    """A 2 um process held at -62 mV gets a 5 ms Ca load (free Ca to about
    550 nM) that nckx alone clears; cai sampled every 0.5 ms under NEURON's
    default fixed step (backward Euler, 25 us) and under tight CVODE."""
    h.celsius = C_REST
    traces = {}
    for method in ("fixed", "cvode"):
        sec = compartment(h, ["nadyn", "kdyn", "cabuf", "nckx"], diam=2.0, L=10.0,
                          nadyn={"nai0": 9.0})
        seg = sec(0.5)
        clamp = h.SEClamp(seg)
        clamp.dur1, clamp.amp1, clamp.rs = 1e9, V_REST, 1e-3
        inj = h.CaInject(seg)
        setattr(inj, "del", 20.0)  # "del" is a Python keyword
        inj.dur, inj.amp = 5.0, 0.05  # nA: 0.25 pC
        rec = h.Vector().record(seg._ref_cai, 0.5)
        try:
            if method == "cvode":
                solver.use_cvode(True, rtol=1e-8)
            else:
                solver.use_fixed_step(0.025, secondorder=0)
            h.finitialize(V_REST)
            h.continuerun(1000.0)
            traces[method] = np.array(rec)
        finally:
            del inj, clamp, rec
            h.delete_section(sec=sec)
    n = min(traces["fixed"].size, traces["cvode"].size)
    assert n >= 2000  # 0, 0.5, ..., 999.5 ms (the last sample when t reaches it)
    fixed, cvode = traces["fixed"][:n], traces["cvode"][:n]
    t = np.arange(n) * 0.5
    rest, peak = cvode[0], cvode.max()
    assert peak > 4 * rest, "a real Ca load"
    assert cvode[-1] < 0.35 * peak, "and nckx cleared most of it"
    # Backward Euler is first order: on a decay its global error peaks at
    # about dt/(2e) times the largest slope, bounded by dt/2 x max |dcai/dt|
    # once the load has ended (from 25.5 ms: within microseconds of the
    # pulse's end the free Ca in excess of the buffer's equilibrium, flux /
    # (kon b) = 1.6e-5 mM, binds); CVODE at rtol 1e-8 is exact by comparison.
    # Measured 6.0e-9 mM (at the end of the load; 5e-9 in the decay) against
    # the bound 7.4e-9; twice the bound allowed.
    slope = np.max(np.abs(np.diff(cvode[t >= 25.5]))) / 0.5
    assert slope == pytest.approx(5.9e-7, rel=0.05)  # mM/ms
    assert np.max(np.abs(fixed - cvode)) < 2 * (0.025 / 2) * slope


# ---------------------------------------------------- apparent Ca affinity

@pytest.mark.parametrize("ko", [3.5, 4.0])
def test_apparent_cytosolic_ca_affinity_at_rest_is_the_measured_one(h, seg, ko):
    """In forward mode at rest (nai 9 mM, ki 140, -62 mV, 34 C) the cai of
    half-maximal Ca extrusion is the measured cytosolic K_1/2 of NCKX, 1.1 uM
    (rod NCKX1, Gross et al. 2012 after Schnetkamp et al. 1991), where the
    COMMENT puts it: kca (1 + Ni^4/(1 + Ki))."""
    h.celsius = C_REST
    conc = dict(REST, ko=ko)

    def extrusion(cai):  # Ca current carried out (mA/cm2), > 0 in forward mode
        _at(h, seg, V_REST, **dict(conc, cai=cai))
        return seg.ica

    assert extrusion(1e-4) > 0
    # the saturating rate: the limit of cai -> infinity, reached to 1e-6 at
    # 1 M (Ci = 1e6)
    vmax = extrusion(1e3)
    assert extrusion(1e2) == pytest.approx(vmax, rel=2e-5)
    k_app = optimize.brentq(lambda c: extrusion(c) - vmax / 2, 1e-5, 1e-1, xtol=1e-12)
    ni4 = (conc["nai"] / h.kna_nckx) ** 4
    designed = h.kca_nckx * (1 + ni4 / (1 + conc["ki"] / h.kk_nckx))
    assert designed == pytest.approx(1.1e-3, rel=1e-3)
    # the reverse term (0.1 % of the forward one at 100 nM) moves it by less
    # than 1 %
    assert k_app == pytest.approx(designed, rel=0.01)


def test_cytosolic_k_dependence_is_that_measured_in_terminals(h, seg):
    """The exchange rate against cytosolic K follows Lee et al. 2002's fit
    (rat neurohypophysial terminals, their Fig. 5), 0.90 [K]i/([K]i + 30.3
    mM), relative to its value at 140 mM: at 0.5 uM Ca, rest, the model's
    forward rate at each ki, over its rate at 140 mM, is the curve's ratio to
    0.5 % (the Na term Ni^4 = 6e-4 and the reverse flux, under 0.1 %, are
    the only departures)."""
    h.celsius = C_REST

    def rate(ki):
        _at(h, seg, V_REST, **dict(REST, cai=5e-4, ki=ki))
        return -seg.nckx.inckx

    def lee(ki):
        return 0.90 * ki / (ki + 30.3)

    for ki in (5.0, 15.0, 30.3, 60.0, 100.0):
        assert rate(ki) / rate(140.0) == pytest.approx(lee(ki) / lee(140.0), rel=5e-3), ki
