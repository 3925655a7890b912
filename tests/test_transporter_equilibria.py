"""Each transporter alone, other concentrations clamped: it stops exactly at its
thermodynamic equilibrium, its flux reverses across it, and electroneutral
transport carries no net current. (NCX: tests/test_calcium.py.)"""

import numpy as np
import pytest

from ionhomeo import thermo
from ionhomeo.defaults import Defaults

from cells import compartment

D = Defaults()
# Relaxation runs: first-order approach to equilibrium; each run lasts more
# than 12 time constants of its slowest mode (estimated in each test), so
# the remaining distance is below exp(-12) = 6e-6 of the initial offset,
# far inside the 0.1 % the issue asks for; CVODE error is set well below too.


def run_cvode(h, tstop, rtol=1e-9, atol=1e-10):
    cv = h.CVode()
    cv.active(1)
    cv.rtol(rtol)
    cv.atol(atol)
    h.finitialize(-65)
    h.continuerun(tstop)
    cv.rtol(0)
    cv.atol(1e-3)


def test_kcc2_relaxes_to_ko_clo_over_ki(h):
    sec = compartment(h, ["cldyn", "kcc2"], diam=1.0, L=1.0, kcc2={"imax": 0.2})
    # linearised tau ~ 60 ms/imax * diam(um)/1um * ... about 0.3 s here; run 10 s
    run_cvode(h, 10000)
    target = thermo.kcc2_equilibrium_cli(D.ki, D.ko, D.clo)
    assert sec(0.5).cli == pytest.approx(target, rel=1e-3)
    # tighter than required: the fixed point is exact, only relaxation remains
    assert sec(0.5).cli == pytest.approx(target, rel=1e-6)


def test_nkcc1_relaxes_to_its_equilibrium(h):
    sec = compartment(h, ["cldyn", "nkcc1"], diam=1.0, L=1.0, nkcc1={"imax": 0.5})
    run_cvode(h, 60000)
    target = thermo.nkcc1_equilibrium_cli(D.nai, D.nao, D.ki, D.ko, D.clo)
    assert sec(0.5).cli == pytest.approx(target, rel=1e-3)
    assert sec(0.5).cli == pytest.approx(target, rel=1e-6)


@pytest.mark.parametrize("mech, ion, v", [("naleak", "na", 20.0), ("kleak", "k", -60.0),
                                          ("clleak", "cl", -60.0)])
def test_leak_relaxes_to_nernst_at_clamped_voltage(h, mech, ion, v):
    owner = {"na": "nadyn", "k": "kdyn", "cl": "cldyn"}[ion]
    pname = {"na": "pna", "k": "pk", "cl": "pcl"}[ion]
    sec = compartment(h, [owner, mech], diam=1.0, L=1.0, **{mech: {pname: 1e-4}})
    clamp = h.SEClamp(sec(0.5))
    clamp.dur1, clamp.amp1, clamp.rs = 1e9, v, 1e-3
    run_cvode(h, 20000)
    z = {"na": 1, "k": 1, "cl": -1}[ion]
    e = thermo.nernst(getattr(sec(0.5), f"{ion}i"), getattr(D, f"{ion}o"), z)
    assert e == pytest.approx(sec(0.5).v, abs=0.01)  # 0.01 mV = 0.04 % of RT/F
    del clamp


def _kcc2_flux_at(h, sec, cli):
    h.finitialize(-65)
    sec(0.5).cli = cli
    h.fcurrent()
    return sec(0.5).icc_kcc2


def test_kcc2_flux_zero_at_equilibrium_and_reverses(h):
    sec = compartment(h, ["kcc2"])
    eq = thermo.kcc2_equilibrium_cli(D.ki, D.ko, D.clo)
    imax = sec(0.5).imax_kcc2
    assert abs(_kcc2_flux_at(h, sec, eq)) < 1e-12 * imax
    assert _kcc2_flux_at(h, sec, eq * 1.01) > 0  # above: extrusion
    assert _kcc2_flux_at(h, sec, eq * 0.99) < 0  # below: uptake


def test_nkcc1_flux_zero_at_equilibrium_and_reverses(h):
    sec = compartment(h, ["nkcc1"])
    eq = thermo.nkcc1_equilibrium_cli(D.nai, D.nao, D.ki, D.ko, D.clo)
    seg = sec(0.5)

    def flux(cli):
        h.finitialize(-65)
        seg.cli = cli
        h.fcurrent()
        return seg.icc_nkcc1

    assert abs(flux(eq)) < 1e-12 * seg.imax_nkcc1
    assert flux(eq * 0.99) > 0  # below equilibrium: import
    assert flux(eq * 1.01) < 0  # above: export


@pytest.mark.parametrize("mech", ["kcc2", "nkcc1"])
def test_electroneutral_transport_carries_no_net_current(h, mech):
    sec = compartment(h, [mech])
    seg = sec(0.5)
    rng = np.random.default_rng(1)
    for _ in range(50):
        h.finitialize(rng.uniform(-100, 40))
        seg.ki, seg.cli = rng.uniform(1, 150, size=2)
        if mech == "nkcc1":
            seg.nai = rng.uniform(1, 150)
        h.fcurrent()
        net = seg.ik + seg.icl + (seg.ina if mech == "nkcc1" else 0.0)
        assert abs(net) < 1e-12
        assert abs(seg.ik) > 1e-8  # the transporter is really moving ions


def test_pump_keeps_3_to_2_stoichiometry(h):
    sec = compartment(h, ["nakpump"])
    seg = sec(0.5)
    for v in (-90.0, -65.0, 0.0, 30.0):
        for nai in (5.0, 12.0, 40.0):
            h.finitialize(v)
            seg.nai = nai
            h.fcurrent()
            assert seg.ik != 0
            assert seg.ina / seg.ik == pytest.approx(-1.5, rel=4e-16)  # one ulp
            assert seg.ina - seg.ik == pytest.approx(5 * seg.ipump_nakpump, rel=1e-15)


def test_pump_stops_at_its_thermodynamic_reversal(h):
    sec = compartment(h, ["nakpump"])
    seg = sec(0.5)
    dg = -20.0  # kJ/mol: a weakly energised pump, so reversal sits at a reachable voltage
    h.dgatp_nakpump = dg
    try:
        vrev = float(thermo.nak_atpase_reversal(D.nai, D.nao, D.ki, D.ko, dg_atp=dg))

        def ipump(v):
            h.finitialize(v)
            return seg.ipump_nakpump

        # tanh of a few 1e-12 mV: zero to round-off of the logs (~1e-13 mV)
        assert abs(ipump(vrev)) < 1e-9 * seg.imax_nakpump
        assert ipump(vrev + 5) > 0  # forward (Na out) above reversal
        assert ipump(vrev - 5) < 0  # reverse below it
        # and the free energy the mod file reports matches thermo's
        h.finitialize(-65)
        dgc_kj = seg.dgc_nakpump * thermo.FARADAY * 1e-6  # mV -> kJ/mol
        assert dgc_kj == pytest.approx(
            float(thermo.nak_atpase_free_energy(-65, D.nai, D.nao, D.ki, D.ko, dg_atp=dg)), abs=1e-9)
    finally:
        h.dgatp_nakpump = -55.0


# --- the Ca transporters: each alone, its concentrations set, no owner ---
# Each rate vanishes where its free energy does: PMCA, SERCA and NCLX as
# (saturation) x tanh(-dG/2RT), MCU as a GHK-like difference (cai - camti
# e^-w). The mod files compute dG or w from NEURON's R and F, which thermo
# uses too. At thermo's equilibrium dG is zero to the round-off of its
# logarithms (terms of order 20 RT, so |dG/RT| ~ 1e-14): the rate is below
# 1e-9 of its saturating value. Either side of it the flux must run downhill.

def _at(h, seg, v, **conc):
    h.finitialize(v)
    for name, value in conc.items():
        setattr(seg, name, value)
    h.fcurrent()


@pytest.mark.parametrize("nh", [0.0, 1.0])
def test_pmca_stops_at_its_thermodynamic_reversal(h, nh):
    sec = compartment(h, ["pmca"])
    seg = sec(0.5)
    cai, cao = 2e-4, D.cao
    saved = h.dgatp_pmca, h.nh_pmca
    h.nh_pmca = nh
    try:
        for dg in (-55.0, -30.0):
            h.dgatp_pmca = dg
            vrev = float(thermo.pmca_reversal(cai, cao, dg_atp=dg, celsius=h.celsius, nh=nh,
                                              ph_i=h.phi_pmca, ph_o=h.pho_pmca))
            _at(h, seg, vrev, cai=cai)
            assert abs(seg.pmca.ipmca) < 1e-9 * seg.pmca.imax
            assert seg.ica == seg.pmca.ipmca
            _at(h, seg, vrev + 5.0, cai=cai)
            assert seg.pmca.ipmca > 0  # extrudes (downhill) above its reversal
            _at(h, seg, vrev - 5.0, cai=cai)
            assert seg.pmca.ipmca < 0  # runs backwards below it
    finally:
        h.dgatp_pmca, h.nh_pmca = saved


@pytest.mark.parametrize("nh", [0.0, 1.0, 2.0])
def test_pmca_keeps_its_stoichiometry(h, nh):
    # nh H+ in per Ca out, returned by Na/H exchange: nh Na in per Ca out
    sec = compartment(h, ["pmca"])
    seg = sec(0.5)
    saved = h.nh_pmca
    h.nh_pmca = nh
    try:
        for v in (-90.0, -65.0, 0.0):
            _at(h, seg, v, cai=5e-4)
            assert seg.ica == seg.pmca.ipmca > 0
            # the mod file computes -nh*ipmca/2; halving is exact in binary
            assert seg.ina == -nh / 2 * seg.ica
            if nh == 2.0:
                assert seg.ina + seg.ica == 0.0  # electroneutral: no net current
    finally:
        h.nh_pmca = saved


def test_electroneutral_pmca_stops_at_its_calcium_ratio_at_any_voltage(h):
    # nh = 2: dG = dg_atp + RT ln(Cao/Cai) + 2 RT ln(10) (pHo - pHi), no V term
    sec = compartment(h, ["pmca"])
    seg = sec(0.5)
    saved = h.dgatp_pmca, h.nh_pmca
    h.dgatp_pmca, h.nh_pmca = -30.0, 2.0
    try:
        rt = thermo.R_GAS * (h.celsius + thermo.ZERO_CELSIUS) * 1e-3  # kJ/mol
        chem = h.dgatp_pmca + 2 * rt * np.log(10.0) * (h.pho_pmca - h.phi_pmca)
        cai_eq = D.cao * np.exp(chem / rt)
        for v in (-120.0, -65.0, 30.0):
            assert abs(thermo.pmca_free_energy(v, cai_eq, D.cao, dg_atp=-30.0, nh=2.0,
                                               celsius=h.celsius)) < 1e-12
            _at(h, seg, v, cai=cai_eq)
            assert abs(seg.pmca.ipmca) < 1e-9 * seg.pmca.imax
            _at(h, seg, v, cai=1.1 * cai_eq)
            assert seg.pmca.ipmca > 0
            _at(h, seg, v, cai=0.9 * cai_eq)
            assert seg.pmca.ipmca < 0
    finally:
        h.dgatp_pmca, h.nh_pmca = saved


def _uptake_stops_at(h, seg, mech, pool, cai, ratio):
    """An organelle uptake (j > 0 into the pool) stops where pool/cai = ratio
    and runs downhill either side of it."""
    m = getattr(seg, mech)
    for factor, sign in ((1.0, 0), (0.9, 1), (1.1, -1)):
        _at(h, seg, -65.0, cai=cai, **{pool: factor * cai * ratio})
        if sign == 0:
            assert abs(m.j) < 1e-9 * m.vmax
        else:
            assert np.sign(m.j) == sign, (mech, factor)  # uptake below, release above


def test_serca_stops_at_its_equilibrium_ratio(h):
    seg = compartment(h, ["serca"])(0.5)
    ratio = float(thermo.serca_equilibrium_ratio(dg_atp=h.dgatp_serca, celsius=h.celsius))
    _uptake_stops_at(h, seg, "serca", "caeri", 1e-4, ratio)


def test_mcu_stops_at_its_electrochemical_equilibrium(h):
    seg = compartment(h, ["mcu"])(0.5)
    for dpsi in (-160.0, -60.0):
        seg.mcu.dpsi = dpsi
        ratio = float(thermo.mcu_equilibrium_ratio(dpsi, celsius=h.celsius))
        _uptake_stops_at(h, seg, "mcu", "camti", 1e-3, ratio)


def test_nclx_stops_at_its_equilibrium(h):
    sec = compartment(h, ["nclx"])
    seg = sec(0.5)
    cai, nai = 1e-4, D.nai
    for dpsi in (-160.0, -100.0):
        seg.nclx.dpsi = dpsi
        camt = float(thermo.nclx_equilibrium_camt(nai, h.namt_nclx, cai, dpsi,
                                                  celsius=h.celsius))
        _at(h, seg, -65.0, cai=cai, nai=nai, camti=camt)
        assert abs(seg.nclx.j) < 1e-9 * seg.nclx.vmax
        assert abs(seg.nclx.dg) < 1e-9  # mV: the mod file's own free energy
        # j is the efflux from the matrix: more matrix Ca than at equilibrium
        # drives Ca out, less draws it in
        _at(h, seg, -65.0, cai=cai, nai=nai, camti=1.1 * camt)
        assert seg.nclx.j > 0 and seg.icamt > 0
        _at(h, seg, -65.0, cai=cai, nai=nai, camti=0.9 * camt)
        assert seg.nclx.j < 0
