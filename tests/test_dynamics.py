"""Time courses: fixed step and CVODE agree, nothing goes negative, and the
slower processes (KCC2 phosphorylation, extracellular K, GABA_A Cl load)
behave as their equations say."""

import math

import numpy as np
import pytest

from ionhomeo import solver, thermo
from ionhomeo.defaults import Defaults

from cells import ALL_NAKCL, ball_and_sticks, compartment

D = Defaults()
IONS = ("nai", "ki", "cli", "ko")


def _spike_train(h, integrate):
    soma, dends = ball_and_sticks(h, ALL_NAKCL + ("kext",))
    segs = [seg for sec in [soma, *dends] for seg in sec]
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 0, 1000, 0.1  # nA: regular firing for 1 s
    apc = h.APCount(soma(0.5))
    recs = {name: [h.Vector().record(getattr(seg, f"_ref_{name}"), 1.0) for seg in segs]
            for name in IONS}
    integrate()
    h.finitialize(-70)
    h.continuerun(1000)
    final = {name: np.array([getattr(seg, name) for seg in segs]) for name in IONS}
    minima = {name: min(v.min() for v in vecs) for name, vecs in recs.items()}
    # the fixed-step run also needs the minimum over every step, not only every
    # 1 ms: concentrations are monotone between spikes and we sample densely
    out = final, minima, int(apc.n)
    del stim, apc
    return out


def test_spike_train_fixed_step_and_cvode_agree_without_negatives(h):
    fixed, fmin, fspikes = _spike_train(h, lambda: solver.use_fixed_step(0.025))
    cvode, cmin, cspikes = _spike_train(h, lambda: solver.use_cvode(rtol=1e-6, atol=1e-4))
    assert fspikes >= 20 and abs(fspikes - cspikes) <= 1
    for name in IONS:
        assert min(fmin[name], cmin[name]) > 0, name
        rel = np.max(np.abs(fixed[name] / cvode[name] - 1))
        assert rel < 5e-3, (name, rel)  # the 0.5 %
        # the load itself (change from rest) too: Crank-Nicolson's error in each
        # spike's charge scales as (dt / spike width)^2 = (0.025/0.3)^2 = 0.7 %;
        # one spike more or less (timing drift over 1 s) adds 1/spikes
        rest = getattr(D, name)
        load_f, load_c = fixed[name] - rest, cvode[name] - rest
        allowed = np.max(np.abs(load_c)) * (7e-3 + abs(fspikes - cspikes) / cspikes)
        assert np.max(np.abs(load_f - load_c)) <= allowed, name


def test_kcc2_phosphorylation_kinetics_and_activity(h):
    sec = compartment(h, ["kcc2"], kcc2={"kwnk": 0.01, "kpp": 0.002})
    seg = sec(0.5)
    h.finitialize(-65)
    p_ss = 0.01 / 0.012
    assert seg.p_kcc2 == pytest.approx(p_ss, rel=1e-12)  # starts at its steady state
    icc_ss = seg.icc_kcc2
    h.fcurrent()
    # set it (dephosphorylated) and watch it relax with tau = 1/(kwnk + kpp) = 83.3 s
    seg.p_kcc2 = 0.0
    solver.use_cvode(rtol=1e-8, atol=1e-8)
    h.CVode().re_init()
    h.CVode().solve(h.t + 83333.3)  # exactly one time constant (continuerun overshoots)
    expected = p_ss * (1 - math.exp(-1))
    assert seg.p_kcc2 == pytest.approx(expected, rel=1e-4)  # CVODE rtol 1e-8
    # activity scales the flux: icc proportional to 1 - p at fixed concentrations
    assert seg.icc_kcc2 / icc_ss == pytest.approx((1 - seg.p_kcc2) / (1 - p_ss), rel=1e-9)


def test_kext_relaxes_with_its_linearised_time_constant(h):
    sec = compartment(h, ["kext"])
    seg = sec(0.5)
    h.finitialize(-70)
    kb = seg.kb_kext
    seg.ko = kb + 0.01  # a small excess: linear regime
    solver.use_cvode(rtol=1e-9, atol=1e-9)
    h.CVode().re_init()
    kmg, vglia, taub = seg.kmg_kext, seg.vglia_kext, seg.taub_kext
    tau = 1 / (1 / taub + vglia * kmg / (kb + kmg) ** 2)  # ms
    h.CVode().solve(h.t + tau)
    # linearisation error ~ excess/(kb + kmg) = 0.1 %; CVODE error 1e-9
    assert (seg.ko - kb) / 0.01 == pytest.approx(math.exp(-1), rel=2e-3)


def test_kext_accumulates_k_from_efflux_and_clears_it(h):
    sec = compartment(h, ["kdyn", "kext", "kleak"], kleak={"pk": 1e-5})
    seg = sec(0.5)
    clamp = h.SEClamp(seg)
    clamp.rs = 1e-3
    clamp.dur1, clamp.amp1 = 100, -70
    clamp.dur2, clamp.amp2 = 500, 0       # K efflux through the leak at 0 mV
    clamp.dur3, clamp.amp3 = 1e9, -70
    ko = h.Vector().record(seg._ref_ko, 1.0)
    solver.use_cvode(rtol=1e-7, atol=1e-6)
    h.finitialize(-70)
    h.continuerun(100)
    k0 = seg.kb_kext  # the bath
    h.CVode().solve(600)
    peak = seg.ko
    assert peak > k0 + 0.5  # efflux raised ko
    seg.pk_kleak = 0  # stop the efflux: only bath exchange and glia act now
    h.CVode().re_init()
    h.CVode().solve(600 + 30000)  # clearance tau ~2 s: 15 tau
    assert abs(seg.ko - k0) < 0.02 * (peak - k0)
    assert ko.min() > 0
    del clamp


def _gaba_setup(h, mechs):
    sec = compartment(h, mechs, diam=1.0, L=10.0)
    seg = sec(0.5)
    syn = h.GabaA(seg)
    syn.tau1, syn.tau2 = 0.5, 1e6  # a steady conductance after one event
    ns = h.NetStim()
    ns.number, ns.start = 1, 0.5
    nc = h.NetCon(ns, syn)
    nc.weight[0] = 0.001
    clamp = h.SEClamp(seg)
    clamp.dur1, clamp.rs = 1e9, 1e-3
    return sec, syn, (ns, nc, clamp)


def test_gabaa_reverses_at_ghk_egaba(h):
    # no cldyn: concentrations fixed, so the reversal is exactly the GHK one
    sec, syn, keep = _gaba_setup(h, [])
    e = float(thermo.egaba(D.cli, D.clo, D.hco3i, D.hco3o))
    keep[2].amp1 = e
    solver.use_fixed_step(0.025)
    h.finitialize(e)
    h.continuerun(5)
    assert syn.g > 0 and abs(syn.i_cl) > 0
    # Cl and HCO3 currents cancel; clamp error ~ i * rs = 1e-3 nA*MOhm = 1 uV
    assert abs(syn.i) < 1e-4 * abs(syn.i_cl)
    assert syn.egaba == pytest.approx(e, abs=1e-9)
    del keep


def test_gabaa_cl_current_loads_cl_through_cldyn(h):
    sec, syn, keep = _gaba_setup(h, ["cldyn"])
    seg = sec(0.5)
    keep[2].amp1 = -40  # far above E_GABA: Cl flows in
    solver.use_fixed_step(0.025)
    h.finitialize(-40)
    h.continuerun(200)
    assert seg.cli > D.cli + 0.1
    h.fcurrent()  # egaba is computed with the currents, one step behind cli
    assert syn.egaba == pytest.approx(float(thermo.egaba(seg.cli, D.clo, D.hco3i, D.hco3o)), abs=1e-9)
    assert syn.egaba > float(thermo.egaba(D.cli, D.clo, D.hco3i, D.hco3o))
    del keep


@pytest.mark.parametrize("mech, ion, z, pname", [("naleak", "na", 1, "pna"),
                                                ("kleak", "k", 1, "pk"),
                                                ("clleak", "cl", -1, "pcl")])
def test_leak_current_is_thermo_ghk_current(h, mech, ion, z, pname):
    sec = compartment(h, [mech])
    seg = sec(0.5)
    p = getattr(seg, f"{pname}_{mech}")
    for v in (-120.0, -70.0, -1e-7, 0.0, 1e-7, 40.0):
        h.finitialize(v)
        expected = float(thermo.ghk_current(v, getattr(D, f"{ion}i"), getattr(D, f"{ion}o"), z, p))
        # same formula, same constants: equal to round-off of exp and the series
        assert getattr(seg, f"i_{mech}") == pytest.approx(expected, rel=1e-10, abs=1e-22)
