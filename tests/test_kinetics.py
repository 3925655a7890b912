"""ionhomeo.kinetics: the rate laws are the mod files' own (checked against the
mechanism's current in a NEURON segment) and their derivatives are right."""

import math

import numpy as np
import pytest

from ionhomeo import kinetics, thermo

#: (nai, nao, ki, ko, v): rest, a Na load, a K-loaded bath and depolarised, near
#: the pump's reversal (hyperpolarised, Na-poor: reverse pumping), a Na-rich cell
STATES = [
    (12.3, 145.0, 140.0, 4.0, -77.7),
    (25.0, 145.0, 130.0, 4.0, -60.0),
    (12.0, 140.0, 135.0, 12.0, -30.0),
    (2.0, 145.0, 140.0, 4.0, -200.0),
    (60.0, 100.0, 90.0, 8.0, 10.0),
]


@pytest.mark.parametrize("nai, nao, ki, ko, v", STATES)
def test_nakpump_current_is_nakpumps(h, nai, nao, ki, ko, v):
    """The rate law gives NEURON's ipump_nakpump in a segment, to round-off,
    at several concentrations and potentials (imax and avail not at their defaults)."""
    sec = h.Section(name="kinetics_nakpump")
    try:
        sec.insert("nakpump")
        seg = sec(0.5)
        seg.nakpump.imax, seg.nakpump.avail = 0.0123, 0.7
        h.finitialize(v)
        # nakpump reads these (no mechanism here writes them): set them and let
        # NEURON evaluate the BREAKPOINT at this state
        seg.nai, seg.nao, seg.ki, seg.ko, seg.v = nai, nao, ki, ko, v
        h.fcurrent()
        expected = seg.nakpump.ipump
        got = kinetics.nakpump_current(nai, nao, ki, ko, v, 0.0123, 0.7, h.kmna_nakpump,
                                       h.kmk_nakpump, h.dgatp_nakpump, h.celsius)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-18)
        assert seg.ina == pytest.approx(3 * expected, rel=1e-12, abs=1e-18)
        # outward when the cycle is downhill (thermo's free energy), inward when uphill
        dg = float(thermo.nak_atpase_free_energy(v, nai, nao, ki, ko, h.dgatp_nakpump, h.celsius))
        assert math.copysign(1, expected) == -math.copysign(1, dg)
    finally:
        seg = None
        sec = None


def test_nakpump_default_globals_are_nakpumps(h):
    """The keyword defaults of the rate law are nakpump.mod's GLOBAL defaults."""
    from ionhomeo import mechanisms

    params = mechanisms.get("nakpump").parameters
    assert params["kmna"].default == 10.0 and params["kmk"].default == 2.0
    assert params["dgatp"].default == -55.0
    args = (12.3, 145.0, 140.0, 4.0, -77.7, 0.004)
    assert kinetics.nakpump_current(*args) == kinetics.nakpump_current(
        *args, 1.0, 10.0, 2.0, -55.0, 37.0)


@pytest.mark.parametrize("nai, nao, ki, ko, v", STATES)
def test_nakpump_dnai_is_the_derivative(nai, nao, ki, ko, v):
    """dI_p/dNai against a central finite difference of the rate law."""
    rest = (nao, ki, ko, v, 0.004, 1.0, 10.0, 2.0, -55.0, 37.0)
    d = 1e-5 * nai
    fd = (kinetics.nakpump_current(nai + d, *rest)
          - kinetics.nakpump_current(nai - d, *rest)) / (2 * d)
    assert kinetics.nakpump_dnai(nai, *rest) == pytest.approx(fd, rel=1e-7)


def test_vectorised_and_tau():
    nai = np.array([5.0, 12.0, 30.0])
    ip = kinetics.nakpump_current(nai, 145.0, 140.0, 4.0, -70.0, 0.004)
    dip = kinetics.nakpump_dnai(nai, 145.0, 140.0, 4.0, -70.0, 0.004)
    assert ip.shape == dip.shape == (3,) and np.all(np.diff(ip) > 0) and np.all(dip > 0)
    assert isinstance(kinetics.nakpump_current(12.0, 145.0, 140.0, 4.0, -70.0, 0.004), np.floating)
    # tau_Na = (diam/4) F / (3 dI_p/dNai): mA/cm2/mM -> s, proportional to diam
    tau = kinetics.nai_recovery_tau_s(np.array([1.0, 20.0]), dip[1])
    # diam/4 in cm, F in C/mol, dI/dNai in A/cm2 per mol/cm3 (1 mA/cm2/mM = 1e3 A cm/mol)
    by_hand = (1e-4 / 4) * thermo.FARADAY / (3 * dip[1] * 1e3)
    assert tau[0] == pytest.approx(by_hand, rel=1e-12)
    assert tau[1] == pytest.approx(20 * tau[0], rel=1e-12)


@pytest.mark.parametrize("cai", [5e-5, 2e-4, 1e-3, 1e-2])
def test_hill_uptake_is_sercas_flux_with_an_empty_store(h, cai):
    """serca.mod's flux j at caeri 1e-12 mM (its thermodynamic factor is 1 to
    round-off there) is the Hill law, at low, half-maximal and saturating Ca."""
    sec = h.Section(name="kinetics_serca")
    try:
        sec.insert("serca")
        seg = sec(0.5)
        h.finitialize(-70.0)
        seg.cai, seg.caeri = cai, 1e-12
        h.fcurrent()
        expected = seg.serca.j
        got = kinetics.hill_uptake(cai, seg.serca.vmax, h.km_serca, h.nh_serca)
        assert got == pytest.approx(expected, rel=1e-12)
        assert kinetics.hill_uptake(h.km_serca, 2.0, h.km_serca, h.nh_serca) == pytest.approx(1.0)
    finally:
        h.delete_section(sec=sec)
