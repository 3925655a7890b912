"""Small test cells built with ionhomeo's validated insertion."""

from ionhomeo import mechanisms

#: a resting cell: concentration owners, pump, leaks and KCC2
RESTING = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2")
#: everything of the Na/K/Cl system except kext
ALL_NAKCL = RESTING + ("nkcc1", "nav", "kdr")


def compartment(h, mechs, diam=20.0, L=20.0, name="soma", **params):
    """One cylindrical section with ``mechs``; ``params`` as {mech: {param: value}}."""
    sec = h.Section(name=name)
    sec.L, sec.diam, sec.nseg = L, diam, 1
    for m in mechs:
        mechanisms.insert(sec, m, **params.get(m, {}))
    return sec


def ball_and_sticks(h, mechs, **params):
    """A soma with two unequal dendrites, several segments each (diffusion paths)."""
    soma = compartment(h, mechs, diam=20.0, L=20.0, name="soma", **params)
    dends = []
    for i, (L, d, nseg) in enumerate([(200.0, 2.0, 9), (100.0, 0.8, 5)]):
        dend = compartment(h, mechs, diam=d, L=L, name=f"dend{i}", **params)
        dend.nseg = nseg
        dend.connect(soma(1))
        dends.append(dend)
    return soma, dends

#: every mechanism of the calcium system (issue 3), plus the Ca load meter
CA_ALL = ("cadyn", "caentry", "er", "mito", "pmca", "ncx", "nckx", "caleak", "serca",
          "erleak", "ip3r", "ryr", "mcu", "nclx", "cahva", "sk")
#: what a cell needs to fire: Na and K owners, pump, leaks, spike channels
SPIKING = ("nadyn", "kdyn", "nakpump", "naleak", "kleak", "nav", "kdr")


def step_traces(h, mech, gbar, g_pas, amp_na, methods=("fixed", "cvode"), tstop=400.0):
    """v (mV, sampled every 0.5 ms) of one compartment with ``mech`` at
    ``gbar`` and a leak ``g_pas`` (S/cm2, reversal -65 mV), given a 300 ms
    step of ``amp_na`` from 10 ms, under each of ``methods``: "fixed" (dt
    5 us) or "cvode" (atol 1e-6, rtol 1e-8); the integrator settings are
    restored afterwards. Returns {method: array}."""
    import numpy as np

    from ionhomeo import solver

    h.load_file("stdrun.hoc")
    cv = h.CVode()
    saved = solver.save()
    results = {}
    try:
        for method in methods:
            sec = compartment(h, [mech], **{mech: {"gbar": gbar}})
            sec.insert("pas")
            seg = sec(0.5)
            seg.pas.g, seg.pas.e = g_pas, -65.0
            stim = h.IClamp(seg)
            stim.delay, stim.dur, stim.amp = 10.0, 300.0, amp_na
            v = h.Vector().record(seg._ref_v, 0.5)  # the same grid in every run
            cv.active(method == "cvode")
            if method == "cvode":
                cv.atol(1e-6)
                cv.rtol(1e-8)
            else:
                h.dt = 0.005
            h.finitialize(-65.0)
            h.continuerun(tstop)
            results[method] = np.array(v)
            del stim
            h.delete_section(sec=sec)
    finally:
        solver.restore(saved)
    return results


def assert_ohmic_k_current(h, seg, g):
    """``seg``'s ik is g (v - ek) around ek (g in S/cm2: the gates stay where
    the last finitialize put them, fcurrent does not advance them), and
    exactly zero at ek."""
    import pytest

    for dv in (0.0, -20.0, -1e-3, 1e-3, 30.0):
        seg.v = seg.ek + dv
        h.fcurrent()
        if dv == 0.0:
            assert seg.ik == 0.0  # a product with an exact zero
        else:
            assert seg.ik == pytest.approx(g * dv, rel=1e-9)
