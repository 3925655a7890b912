"""Tests for ionhomeo.thermo (pure numpy; no NEURON needed)."""

import math
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest

from ionhomeo import thermo
from ionhomeo import thermo as th
from ionhomeo.thermo import (
    FARADAY,
    R_GAS,
    egaba,
    free_energy,
    ghk_current,
    ghk_voltage,
    hill_crossover,
    kcc2_equilibrium_cli,
    kcc2_free_energy,
    mcu_equilibrium_ratio,
    mcu_free_energy,
    nak_atpase_free_energy,
    nak_atpase_reversal,
    nckx_free_energy,
    nckx_reversal,
    ncx_free_energy,
    ncx_reversal,
    nclx_equilibrium_camt,
    nclx_free_energy,
    nernst,
    nkcc1_equilibrium_cli,
    nkcc1_free_energy,
    pmca_free_energy,
    pmca_reversal,
    rt_over_f,
    serca_equilibrium_ratio,
    serca_free_energy,
)

# 310 K exactly, the temperature of the reference table.
C310 = 36.85

# Typical mammalian concentrations (mM).
NAI, NAO, KI, KO, CLI, CLO = 12.0, 145.0, 140.0, 4.0, 5.0, 130.0
CAI, CAO = 1e-4, 2.0
# Resting organelle values (mM, mV): ER lumen Ca, matrix Ca and Na, and the
# mitochondrial potential V_matrix - V_cytosol; resting Vm.
CAER, CAMT, NAMT, DPSI, VREST = 0.5, 1e-4, 5.0, -170.0, -70.0


# ---------------------------------------------------------------------------
# constants and RT/F
# ---------------------------------------------------------------------------

def test_constants_are_the_exact_si_products():
    # 2019 SI: N_A = 6.02214076e23, e = 1.602176634e-19, k = 1.380649e-23 exactly;
    # F = N_A e and R = N_A k, the values NEURON's FARADAY and R also use.
    assert FARADAY == pytest.approx(96485.33212331, rel=1e-14)
    assert R_GAS == pytest.approx(8.31446261815324, rel=1e-14)


def test_rt_over_f_table_value_at_310k():
    # Table: RT/F = 26.71 mV at 310 K; printed to 0.01 mV -> tol 0.005 mV.
    assert abs(rt_over_f(C310) - 26.71) <= 0.005


def test_rt_over_f_25c_and_default():
    # Textbook value 25.693 mV at 25 degC (tol: half of the last digit).
    assert abs(rt_over_f(25.0) - 25.693) <= 5e-4
    # Default is 37 degC = 310.15 K, so it differs from the 310 K value by
    # R * 0.15 K / F = 0.0129260 mV.
    assert rt_over_f() == rt_over_f(37.0)
    assert rt_over_f() - rt_over_f(C310) == pytest.approx(0.012926, abs=1e-6)


# ---------------------------------------------------------------------------
# reference table ("Numbers that do hold", 310 K)
# ---------------------------------------------------------------------------

def test_table_dg_of_na_influx():
    # -12.7 kJ/mol is printed to 0.1 -> tolerance 0.05 kJ/mol.
    dg = free_energy(-65.0, {"na": 1}, {"na": NAI}, {"na": NAO}, {"na": 1},
                     celsius=C310)
    assert abs(dg - (-12.7)) <= 0.05


@pytest.mark.parametrize("cli, expected", [(5.0, -87.0), (15.0, -58.0)])
def test_table_ecl(cli, expected):
    # Printed to 1 mV -> tolerance 0.5 mV.
    e = nernst(cli, CLO, -1, celsius=C310)
    assert abs(e - expected) <= 0.5


def test_table_kcc2_equilibrium():
    cli = kcc2_equilibrium_cli(KI, KO, CLO)
    # Defining relation Ki Cli = Ko Clo holds to rounding error ...
    assert KI * cli == pytest.approx(KO * CLO, rel=1e-14)
    # ... and "about 3.7 mM" is printed to 0.1 mM -> tolerance 0.05 mM.
    assert abs(cli - 3.7) <= 0.05


def test_table_nkcc1_equilibrium():
    cli = nkcc1_equilibrium_cli(NAI, NAO, KI, KO, CLO)
    assert NAI * KI * cli**2 == pytest.approx(NAO * KO * CLO**2, rel=1e-13)
    # "about 76 mM" is printed to 1 mM -> tolerance 0.5 mM.
    assert abs(cli - 76.0) <= 0.5


def test_table_ncx_reversal_from_constructed_concentrations():
    # Choose concentrations that give exactly ENa = +70 mV, ECa = +125 mV.
    rtf = rt_over_f(C310)
    nao, cao = 145.0, 2.0
    nai = nao * math.exp(-70.0 / rtf)
    cai = cao * math.exp(-2.0 * 125.0 / rtf)
    assert nernst(nai, nao, 1, C310) == pytest.approx(70.0, abs=1e-11)
    assert nernst(cai, cao, 2, C310) == pytest.approx(125.0, abs=1e-11)
    # 3*70 - 2*125 = -40 exactly; only floating-point rounding remains.
    assert ncx_reversal(nai, nao, cai, cao, celsius=C310) == pytest.approx(
        -40.0, abs=1e-9)


@pytest.mark.parametrize("nai, expected", [(12.0, -65.0), (20.0, -106.0)])
def test_table_ncx_reversal_physiological(nai, expected):
    # 37 degC (the default); "about" values printed to 1 mV -> tol 0.5 mV.
    e = ncx_reversal(nai, 145.0, 100e-6, 2.0)
    assert abs(e - expected) <= 0.5


# ---------------------------------------------------------------------------
# Nernst
# ---------------------------------------------------------------------------

def test_nernst_sign_and_valence_symmetry():
    # Cation more concentrated outside -> positive E; anion -> negative.
    assert nernst(NAI, NAO, 1) > 0
    assert nernst(CLI, CLO, -1) < 0
    # E(z) = -E(-z); E(2) = E(1)/2; swapping the sides flips the sign.
    assert nernst(KI, KO, -1) == pytest.approx(-nernst(KI, KO, 1), rel=1e-15)
    assert nernst(CAI, CAO, 2) == pytest.approx(nernst(CAI, CAO, 1) / 2,
                                                rel=1e-15)
    assert nernst(KO, KI, 1) == pytest.approx(-nernst(KI, KO, 1), rel=1e-15)
    # Equal concentrations -> 0 mV.
    assert nernst(7.0, 7.0, 1) == 0.0


def test_nernst_scales_with_absolute_temperature():
    e1 = nernst(KI, KO, 1, celsius=0.0)
    e2 = nernst(KI, KO, 1, celsius=273.15)   # twice the absolute temperature
    assert e2 == pytest.approx(2 * e1, rel=1e-14)


# ---------------------------------------------------------------------------
# GHK current
# ---------------------------------------------------------------------------

def _ghk_reference(v, ci, co, z, p, celsius):
    """High-precision GHK current (mA/cm2) in SI units using Decimal."""
    D = Decimal
    with localcontext() as ctx:
        ctx.prec = 60
        t = D(float(celsius)) + D("273.15")
        f = D("6.02214076e23") * D("1.602176634e-19")
        r = D("6.02214076e23") * D("1.380649e-23")
        v_si = D(float(v)) / 1000                     # V
        p_si = D(float(p)) / 100                      # m/s
        ci_si, co_si = D(float(ci)), D(float(co))     # mol/m3
        z = D(z)
        u = z * f * v_si / (r * t)
        if abs(u) < D("1e-25"):
            # 1 - exp(-u) underflows at 60 digits; the series is exact there
            # (next term u^4/720 < 1e-100).
            frac = 1 + u / 2 + u * u / 12
        else:
            frac = u / (1 - (-u).exp())
        i_si = p_si * z * f * frac * (ci_si - co_si * (-u).exp())   # A/m2
        return float(i_si / 10)                       # 1 A/m2 = 0.1 mA/cm2


@pytest.mark.parametrize("z, ci, co", [(1, 12.0, 145.0), (1, 140.0, 4.0),
                                       (2, 1e-4, 2.0), (-1, 5.0, 130.0)])
@pytest.mark.parametrize("v", [-80.0, -1.0, 0.0, 30.0])
def test_ghk_current_matches_si_reference(z, ci, co, v):
    p = 3e-6
    got = ghk_current(v, ci, co, z, p, celsius=C310)
    assert got == pytest.approx(_ghk_reference(v, ci, co, z, p, C310),
                                rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("z, ci, co", [(1, 12.0, 145.0), (1, 140.0, 4.0),
                                       (2, 1e-4, 2.0), (-1, 5.0, 130.0),
                                       (-2, 3.0, 0.5)])
def test_ghk_current_zero_at_nernst(z, ci, co):
    p = 1e-5
    e = nernst(ci, co, z)
    i = ghk_current(e, ci, co, z, p)
    scale = 1e-3 * p * abs(z) * FARADAY * max(ci, co)
    assert abs(i) <= 1e-12 * scale
    # ... and nonzero (of the right sign) 10 mV either side.
    assert ghk_current(e + 10, ci, co, z, p) > 0
    assert ghk_current(e - 10, ci, co, z, p) < 0


def test_ghk_current_outward_positive_for_k():
    # At 0 mV K+ leaves the cell (Ki > Ko): outward, positive.
    assert ghk_current(0.0, KI, KO, 1, 1e-5) > 0
    # At 0 mV Cl- flows in (Clo > Cli): anion influx is an outward current.
    assert ghk_current(0.0, CLI, CLO, -1, 1e-5) > 0
    # Ca2+ influx at rest is inward (negative).
    assert ghk_current(-65.0, CAI, CAO, 2, 1e-5) < 0


def test_ghk_current_limit_at_zero_voltage():
    p, ci, co = 2e-5, 140.0, 4.0
    for z in (1, 2, -1):
        expected = 1e-3 * p * z * FARADAY * (ci - co)
        assert ghk_current(0.0, ci, co, z, p) == pytest.approx(expected,
                                                               rel=1e-15)


def test_ghk_current_continuous_across_series_threshold():
    # The series branch is used for |zFV/RT| < 1e-4, i.e. |V| < ~2.67e-3 mV
    # at z = 1.  Compare both sides of that switch (and V -> 0) with the
    # high-precision reference; a wrong series would show up at ~1e-5.
    rtf = rt_over_f(37.0)
    thr = 1e-4 * rtf
    p, ci, co = 1e-5, 140.0, 4.0
    vs = [-1e-2, -thr * (1 + 1e-9), -thr * (1 - 1e-9), -1e-8, -1e-300, 0.0,
          1e-300, 1e-8, thr * (1 - 1e-9), thr * (1 + 1e-9), 1e-2]
    got = ghk_current(np.array(vs), ci, co, 1, p)
    ref = np.array([_ghk_reference(v, ci, co, 1, p, 37.0) for v in vs])
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    assert np.all(np.diff(got) >= 0)   # dI/dV > 0 (ties at |V| ~ 1e-300)
    assert np.all(np.isfinite(got))


def test_ghk_current_no_overflow_at_extreme_voltage():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        i = ghk_current(np.array([-5000.0, 5000.0]), CAI, CAO, 2, 1e-5)
    assert np.all(np.isfinite(i))
    # Asymptotes: I -> P z^2 F^2 V/(RT) c_in (V >> 0), c_out (V << 0).
    k = 1e-3 * 1e-5 * 2 * FARADAY * 2 * np.array([-5000.0, 5000.0]) / rt_over_f()
    np.testing.assert_allclose(i, k * np.array([CAO, CAI]), rtol=1e-12)


def test_ghk_current_monotonic_in_voltage():
    v = np.linspace(-200, 200, 4001)
    i = ghk_current(v, NAI, NAO, 1, 1e-6)
    assert np.all(np.diff(i) > 0)


# ---------------------------------------------------------------------------
# GHK voltage
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("z, ci, co", [(1, 140.0, 4.0), (-1, 5.0, 130.0),
                                       (2, 1e-4, 2.0)])
@pytest.mark.parametrize("method", ["auto", "bisect"])
def test_ghk_voltage_single_ion_is_nernst(z, ci, co, method):
    v = ghk_voltage({"x": 1e-5}, {"x": ci}, {"x": co}, {"x": z},
                    method=method)
    assert v == pytest.approx(nernst(ci, co, z), abs=1e-8)


def test_ghk_voltage_closed_form_and_bisection_agree():
    perm = {"k": 1.0, "na": np.array([0.01, 0.04, 0.3]), "cl": 0.45}
    ci = {"k": KI, "na": NAI, "cl": CLI, "ca": CAI}   # extra key ignored
    co = {"k": KO, "na": NAO, "cl": CLO, "ca": CAO}
    z = {"k": 1, "na": 1, "cl": -1, "ca": 2}
    closed = ghk_voltage(perm, ci, co, z, method="closed")
    auto = ghk_voltage(perm, ci, co, z)
    bis = ghk_voltage(perm, ci, co, z, method="bisect")
    np.testing.assert_array_equal(closed, auto)
    np.testing.assert_allclose(bis, closed, rtol=0, atol=1e-8)
    # Goldman value lies between E_K and E_Na and rises with P_Na.
    assert np.all(closed > nernst(KI, KO, 1))
    assert np.all(closed < nernst(NAI, NAO, 1))
    assert np.all(np.diff(closed) > 0)


def test_ghk_voltage_sequences_match_dicts():
    d = ghk_voltage({"k": 1.0, "na": 0.05}, {"k": KI, "na": NAI},
                    {"k": KO, "na": NAO}, {"k": 1, "na": 1})
    s = ghk_voltage([1.0, 0.05], [KI, NAI], [KO, NAO], [1, 1])
    assert s == d


def test_ghk_voltage_with_divalent_and_pump_current_zeroes_total_current():
    perm = {"k": 1e-5, "na": 5e-7, "ca": 1e-7}
    ci = {"k": KI, "na": NAI, "ca": CAI}
    co = {"k": KO, "na": NAO, "ca": CAO}
    z = {"k": 1, "na": 1, "ca": 2}
    pump = np.array([0.0, 1e-3, 5e-3])        # mA/cm2, outward
    v = ghk_voltage(perm, ci, co, z, extra_current=pump)
    total = pump + sum(ghk_current(v, ci[k], co[k], z[k], perm[k]) for k in perm)
    # 1e-9 mV of root error times the slope conductance (~1e-4 mS/cm2 scale).
    np.testing.assert_allclose(total, 0.0, atol=1e-12)
    # An outward pump current hyperpolarises.
    assert np.all(np.diff(v) < 0)


def test_ghk_voltage_no_sign_change_raises():
    with pytest.raises(ValueError, match="sign"):
        ghk_voltage({"k": 1e-5}, {"k": KI}, {"k": KO}, {"k": 1},
                    extra_current=10.0)


def test_ghk_voltage_closed_method_rejected_when_not_applicable():
    with pytest.raises(ValueError, match="method='closed'"):
        ghk_voltage({"ca": 1e-5}, {"ca": CAI}, {"ca": CAO}, {"ca": 2},
                    method="closed")


def test_ghk_voltage_missing_ion_names_argument():
    with pytest.raises(ValueError, match="c_out"):
        ghk_voltage({"k": 1.0, "na": 0.1}, {"k": KI, "na": NAI}, {"k": KO},
                    {"k": 1, "na": 1})


def test_ghk_voltage_scalar_returns_numpy_float():
    for method in ("closed", "bisect"):
        v = ghk_voltage({"k": 1.0}, {"k": KI}, {"k": KO}, {"k": 1},
                        method=method)
        assert isinstance(v, np.float64)


# ---------------------------------------------------------------------------
# free energies
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("z, ci, co", [(1, 12.0, 145.0), (1, 140.0, 4.0),
                                       (2, 1e-4, 2.0), (-1, 5.0, 130.0)])
def test_free_energy_zero_at_nernst(z, ci, co):
    e = nernst(ci, co, z)
    for n in (1, -1, 3):
        dg = free_energy(e, {"x": n}, {"x": ci}, {"x": co}, {"x": z})
        assert abs(dg) <= 1e-12
    # Below E a cation (above E an anion) is driven in: dG < 0.
    step = -10.0 if z > 0 else 10.0
    assert free_energy(e + step, {"x": 1}, {"x": ci}, {"x": co}, {"x": z}) < 0


def test_free_energy_electrical_term_and_linearity():
    # One mole of unit charge across 1 mV: F * 1e-3 V = 0.0964853 kJ/mol.
    args = ({"na": 1}, {"na": 10.0}, {"na": 10.0}, {"na": 1})
    assert free_energy(1.0, *args) == pytest.approx(0.0964853321233, rel=1e-12)
    # Opposite stoichiometry gives the opposite sign.
    a = free_energy(-70.0, {"na": 2, "k": -1}, {"na": NAI, "k": KI},
                    {"na": NAO, "k": KO}, {"na": 1, "k": 1})
    b = free_energy(-70.0, {"na": -2, "k": 1}, {"na": NAI, "k": KI},
                    {"na": NAO, "k": KO}, {"na": 1, "k": 1})
    assert a == pytest.approx(-b, rel=1e-15) and a != 0


def test_free_energy_sequences_match_dicts():
    d = free_energy(-60.0, {"na": -3, "k": 2}, {"na": NAI, "k": KI},
                    {"na": NAO, "k": KO}, {"na": 1, "k": 1})
    s = free_energy(-60.0, [-3, 2], [NAI, KI], [NAO, KO], [1, 1])
    assert s == d


def test_kcc2_free_energy_zero_at_equilibrium_and_sign():
    cli_eq = kcc2_equilibrium_cli(KI, KO, CLO)
    assert abs(kcc2_free_energy(KI, KO, cli_eq, CLO)) <= 1e-13
    # Cl above equilibrium -> extrusion downhill (negative).
    assert kcc2_free_energy(KI, KO, 8.0, CLO) < 0
    assert kcc2_free_energy(KI, KO, 2.0, CLO) > 0
    # Same as free_energy of moving 1 K + 1 Cl out, independent of V.
    for v in (-90.0, 20.0):
        fe = free_energy(v, {"k": -1, "cl": -1}, {"k": KI, "cl": 8.0},
                         {"k": KO, "cl": CLO}, {"k": 1, "cl": -1})
        assert kcc2_free_energy(KI, KO, 8.0, CLO) == pytest.approx(fe,
                                                                   rel=1e-12)


def test_nkcc1_free_energy_zero_at_equilibrium_and_sign():
    cli_eq = nkcc1_equilibrium_cli(NAI, NAO, KI, KO, CLO)
    assert abs(nkcc1_free_energy(NAI, NAO, KI, KO, cli_eq, CLO)) <= 1e-13
    # Below equilibrium Cl, import is downhill (negative).
    assert nkcc1_free_energy(NAI, NAO, KI, KO, 30.0, CLO) < 0
    assert nkcc1_free_energy(NAI, NAO, KI, KO, 100.0, CLO) > 0
    fe = free_energy(-50.0, {"na": 1, "k": 1, "cl": 2},
                     {"na": NAI, "k": KI, "cl": 30.0},
                     {"na": NAO, "k": KO, "cl": CLO},
                     {"na": 1, "k": 1, "cl": -1})
    assert nkcc1_free_energy(NAI, NAO, KI, KO, 30.0, CLO) == pytest.approx(
        fe, rel=1e-12)


@pytest.mark.parametrize("n_na", [3, 4])
def test_ncx_free_energy_zero_at_reversal(n_na):
    e = ncx_reversal(NAI, NAO, CAI, CAO, n_na=n_na)
    assert abs(ncx_free_energy(e, NAI, NAO, CAI, CAO, n_na=n_na)) <= 1e-12
    # dG = (n-2) F (V - E): forward (Ca extrusion) downhill below E.
    dg = ncx_free_energy(e - 10.0, NAI, NAO, CAI, CAO, n_na=n_na)
    assert dg == pytest.approx((n_na - 2) * FARADAY * -10.0 * 1e-6, rel=1e-9)
    assert dg < 0


def test_ncx_reversal_general_stoichiometry():
    ena = nernst(NAI, NAO, 1)
    eca = nernst(CAI, CAO, 2)
    assert ncx_reversal(NAI, NAO, CAI, CAO) == pytest.approx(3 * ena - 2 * eca,
                                                             rel=1e-14)
    assert ncx_reversal(NAI, NAO, CAI, CAO, n_na=4) == pytest.approx(
        (4 * ena - 2 * eca) / 2, rel=1e-14)


def test_nckx_reversal_and_free_energy():
    """4 Na in, 1 Ca + 1 K out: E = 4 E_Na - 2 E_Ca - E_K, dG = F (V - E)."""
    ena, eca, ek = nernst(NAI, NAO, 1), nernst(CAI, CAO, 2), nernst(KI, KO, 1)
    e = nckx_reversal(NAI, NAO, CAI, CAO, KI, KO)
    assert e == pytest.approx(4 * ena - 2 * eca - ek, rel=1e-14)
    # where Nai^4 Cao Ko exp(F V / RT) = Nao^4 Cai Ki
    assert math.exp(e / rt_over_f()) == pytest.approx(
        NAO ** 4 * CAI * KI / (NAI ** 4 * CAO * KO), rel=1e-13)
    assert abs(nckx_free_energy(e, NAI, NAO, CAI, CAO, KI, KO)) <= 1e-12
    dg = nckx_free_energy(e - 10.0, NAI, NAO, CAI, CAO, KI, KO)
    assert dg == pytest.approx(FARADAY * -10.0 * 1e-6, rel=1e-9)
    assert dg < 0  # forward (Ca extrusion) downhill below E
    # the K gradient adds to the Na gradient: NCKX reverses far above NCX
    assert e - ncx_reversal(NAI, NAO, CAI, CAO) > 80.0


def test_nak_atpase_free_energy_zero_at_reversal():
    for g in (-45.0, -55.0, -60.0):
        e = nak_atpase_reversal(NAI, NAO, KI, KO, dg_atp=g)
        assert abs(nak_atpase_free_energy(e, NAI, NAO, KI, KO, dg_atp=g)) \
            <= 1e-12
        # Forward above the reversal potential.
        assert nak_atpase_free_energy(e + 5, NAI, NAO, KI, KO, dg_atp=g) < 0
        assert nak_atpase_free_energy(e - 5, NAI, NAO, KI, KO, dg_atp=g) > 0


def test_nak_atpase_reversal_shifts_by_delta_dg_over_f():
    e1 = nak_atpase_reversal(NAI, NAO, KI, KO, dg_atp=-55.0)
    e2 = nak_atpase_reversal(NAI, NAO, KI, KO, dg_atp=-50.0)
    # 5 kJ/mol / F = 5e6 / 96485.33212 mV = 51.82 mV.
    assert e2 - e1 == pytest.approx(5e6 / FARADAY, rel=1e-12)
    assert e2 - e1 == pytest.approx(51.82, abs=0.005)
    # With typical gradients and -55 kJ/mol the pump reverses near -180 mV.
    assert -200.0 < e1 < -160.0


def test_nak_atpase_is_atp_plus_transport():
    v = np.array([-90.0, -60.0, 0.0])
    dg = nak_atpase_free_energy(v, NAI, NAO, KI, KO, dg_atp=-52.0)
    transport = free_energy(v, {"na": -3, "k": 2}, {"na": NAI, "k": KI},
                            {"na": NAO, "k": KO}, {"na": 1, "k": 1})
    np.testing.assert_allclose(dg, -52.0 + transport, rtol=1e-13)


# ---------------------------------------------------------------------------
# calcium pumps and organelle transport (SERCA, PMCA, MCU, NCLX)
# ---------------------------------------------------------------------------

def test_calcium_transport_forward_is_downhill_at_rest():
    # cai 100 nM, caer 0.5 mM, cao 2 mM, camt 100 nM, nai 12, namt 5 mM,
    # dpsi -170 mV, Vm -70 mV, dG_ATP -55 kJ/mol.
    assert serca_free_energy(CAI, CAER) < 0            # about -11.1
    assert pmca_free_energy(VREST, CAI, CAO) < 0       # about -16.0
    assert mcu_free_energy(CAI, CAMT, DPSI) < 0        # about -32.8
    assert nclx_free_energy(NAI, NAMT, CAI, CAMT, DPSI) < 0  # about -23.2
    # Reversing the gradients (or the potentials) makes them uphill.
    assert serca_free_energy(CAI, 5.0) > 0
    assert pmca_free_energy(-200.0, CAI, CAO) > 0
    assert mcu_free_energy(CAI, CAMT, +170.0) > 0
    assert nclx_free_energy(NAI, NAMT, CAI, CAMT, +170.0) > 0


@pytest.mark.parametrize("g, celsius", [(-55.0, 37.0), (-45.0, 37.0),
                                        (-60.0, 22.0)])
def test_serca_free_energy_zero_at_equilibrium_ratio(g, celsius):
    r = serca_equilibrium_ratio(g, celsius)
    cai = np.array([5e-5, 1e-4, 1e-3])
    dg = serca_free_energy(cai, cai * r, g, celsius)
    assert np.all(np.abs(dg) <= 1e-9)
    # Below the equilibrium ratio SERCA pumps (dG < 0), above it it cannot.
    assert np.all(serca_free_energy(cai, 0.9 * cai * r, g, celsius) < 0)
    assert np.all(serca_free_energy(cai, 1.1 * cai * r, g, celsius) > 0)
    # 2 RT ln(ratio) = -dg_atp.
    assert 2 * R_GAS * (celsius + 273.15) * 1e-3 * math.log(r) == \
        pytest.approx(-g, rel=1e-12)


def test_serca_is_atp_plus_generic_free_energy():
    # Cytosol as "inside", ER lumen as "outside", V = 0: 2 Ca move out.
    cai = np.array([5e-5, 1e-4, 1e-3])
    caer = np.array([0.1, 0.5, 1.0])
    transport = free_energy(0.0, {"ca": -2}, {"ca": cai}, {"ca": caer},
                            {"ca": 2})
    np.testing.assert_allclose(serca_free_energy(cai, caer, dg_atp=-52.0),
                               -52.0 + transport, rtol=1e-13)


@pytest.mark.parametrize("g", [-45.0, -55.0, -60.0])
def test_pmca_free_energy_zero_at_reversal(g):
    cai = np.array([5e-5, 1e-4, 1e-3])
    e = pmca_reversal(cai, CAO, dg_atp=g)
    assert np.all(np.abs(pmca_free_energy(e, cai, CAO, dg_atp=g)) <= 1e-9)
    # Forward (extrusion) above the reversal potential; dG = -2 F (V - E).
    dg = pmca_free_energy(e + 10.0, cai, CAO, dg_atp=g)
    np.testing.assert_allclose(dg, -2 * FARADAY * 10.0 * 1e-6, rtol=1e-9)
    assert np.all(pmca_free_energy(e - 10.0, cai, CAO, dg_atp=g) > 0)


def test_pmca_reversal_shift_and_generic_free_energy():
    e1 = pmca_reversal(CAI, CAO, dg_atp=-55.0)
    e2 = pmca_reversal(CAI, CAO, dg_atp=-50.0)
    # 5 kJ/mol / (2F) = 25.91 mV.
    assert e2 - e1 == pytest.approx(5e6 / (2 * FARADAY), rel=1e-12)
    v = np.array([-90.0, -70.0, 0.0])
    transport = free_energy(v, {"ca": -1}, {"ca": CAI}, {"ca": CAO},
                            {"ca": 2})
    np.testing.assert_allclose(pmca_free_energy(v, CAI, CAO, dg_atp=-53.0),
                               -53.0 + transport, rtol=1e-13)


@pytest.mark.parametrize("dpsi", [-180.0, -160.0, -50.0, 0.0, 30.0])
def test_mcu_free_energy_zero_at_equilibrium_ratio(dpsi):
    r = mcu_equilibrium_ratio(dpsi)
    cai = np.array([5e-5, 1e-4, 1e-3])
    assert np.all(np.abs(mcu_free_energy(cai, cai * r, dpsi)) <= 1e-9)
    # The ratio is the Nernst relation for Ca2+ (matrix = "inside").
    assert nernst(r, 1.0, 2) == pytest.approx(dpsi, abs=1e-12)
    # Uptake is downhill below the equilibrium matrix Ca, uphill above.
    assert np.all(mcu_free_energy(cai, 0.9 * cai * r, dpsi) < 0)
    assert np.all(mcu_free_energy(cai, 1.1 * cai * r, dpsi) > 0)


def test_mcu_matches_generic_free_energy():
    # Matrix as "inside", cytosol as "outside", V = dpsi; 1 Ca moves in.
    camt = np.array([1e-4, 1e-3, 0.01])
    dpsi = np.array([-180.0, -160.0, -100.0])
    ref = free_energy(dpsi, {"ca": 1}, {"ca": camt}, {"ca": CAI}, {"ca": 2})
    np.testing.assert_allclose(mcu_free_energy(CAI, camt, dpsi), ref,
                               rtol=1e-13)


@pytest.mark.parametrize("dpsi", [-180.0, -170.0, -100.0, 0.0])
def test_nclx_free_energy_zero_at_equilibrium_camt(dpsi):
    nai = np.array([8.0, 12.0, 20.0])
    camt = nclx_equilibrium_camt(nai, NAMT, CAI, dpsi)
    assert np.all(np.abs(nclx_free_energy(nai, NAMT, CAI, camt, dpsi))
                  <= 1e-9)
    # Above the equilibrium matrix Ca the exchanger extrudes Ca (dG < 0).
    assert np.all(nclx_free_energy(nai, NAMT, CAI, 1.1 * camt, dpsi) < 0)
    assert np.all(nclx_free_energy(nai, NAMT, CAI, 0.9 * camt, dpsi) > 0)


def test_nclx_matches_generic_free_energy():
    # Matrix as "inside", cytosol as "outside", V = dpsi: 3 Na in, 1 Ca out;
    # net one charge into the matrix, so dG is linear in dpsi with slope F.
    dpsi = np.array([-180.0, -160.0, 0.0])
    camt = np.array([1e-4, 1e-3, 0.01])
    ref = free_energy(dpsi, {"na": 3, "ca": -1}, {"na": NAMT, "ca": camt},
                      {"na": NAI, "ca": CAI}, {"na": 1, "ca": 2})
    dg = nclx_free_energy(NAI, NAMT, CAI, camt, dpsi)
    np.testing.assert_allclose(dg, ref, rtol=1e-13)
    d1 = nclx_free_energy(NAI, NAMT, CAI, CAMT, -150.0)
    d0 = nclx_free_energy(NAI, NAMT, CAI, CAMT, -160.0)
    assert d1 - d0 == pytest.approx(FARADAY * 10.0 * 1e-6, rel=1e-9)


# ---------------------------------------------------------------------------
# Hill crossover (SERCA vs MCU)
# ---------------------------------------------------------------------------

def test_hill_crossover_n1_is_table_formula():
    # SERCA-like (high affinity, low capacity) vs MCU-like (low affinity,
    # high capacity); concentrations in mM, rates in any common unit.
    ve, ke, vm, km = 1.0, 0.3e-3, 10.0, 15e-3
    c = hill_crossover(ve, ke, vm, km)
    assert c == pytest.approx((ve * km - vm * ke) / (vm - ve), rel=1e-14)
    assert c == pytest.approx(12e-3 / 9.0, rel=1e-14)   # 1.333 uM
    # Symmetric in the labelling of the two systems.
    assert hill_crossover(vm, km, ve, ke) == pytest.approx(c, rel=1e-14)


@pytest.mark.parametrize("n", [2.0, 1.0, 2.5])
def test_hill_crossover_by_substitution(n):
    v1 = np.array([1.0, 2.0, 0.5])
    k1 = np.array([0.3e-3, 0.2e-3, 0.4e-3])
    v2, k2 = 10.0, np.array([15e-3, 10e-3, 20e-3])
    c = hill_crossover(v1, k1, v2, k2, n=n)
    assert c.shape == (3,)
    assert np.all(c > 0)
    r1 = v1 * c**n / (k1**n + c**n)
    r2 = v2 * c**n / (k2**n + c**n)
    np.testing.assert_allclose(r1, r2, rtol=1e-12)
    # The high-affinity system 1 is faster below c, system 2 above it.
    for f, sign in ((0.5, 1), (2.0, -1)):
        cc = f * c
        d = v1 * cc**n / (k1**n + cc**n) - v2 * cc**n / (k2**n + cc**n)
        assert np.all(sign * d > 0)


@pytest.mark.parametrize("args", [
    (1.0, 1e-3, 1.0, 2e-3),     # equal maximal rates
    (10.0, 1e-3, 1.0, 2e-3),    # system 1 faster for every c
    (1.0, 1e-3, 10.0, 0.5e-3),  # system 2 faster for every c
    # 1 has the smaller k and v, but k1/k2 = 0.5 > v1/v2 = 0.1: system 2
    # is faster at low c too (initial slopes v/k: 1000 < 5000).
    (1.0, 1e-3, 10.0, 2e-3),
])
def test_hill_crossover_without_positive_crossover_raises(args):
    with pytest.raises(ValueError, match="hill_crossover"):
        hill_crossover(*args)


# ---------------------------------------------------------------------------
# E_GABA
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("r", [0.0, 0.2, 0.4])
def test_egaba_equals_ghk_voltage(r):
    cli, hco3i, hco3o = np.array([4.0, 10.0, 30.0]), 15.0, 25.0
    e = egaba(cli, CLO, hco3i, hco3o, p_ratio=r)
    perm = {"cl": 1e-5, "hco3": r * 1e-5}
    ci = {"cl": cli, "hco3": hco3i}
    co = {"cl": CLO, "hco3": hco3o}
    z = {"cl": -1, "hco3": -1}
    np.testing.assert_allclose(ghk_voltage(perm, ci, co, z), e, rtol=1e-14)
    np.testing.assert_allclose(ghk_voltage(perm, ci, co, z, method="bisect"),
                               e, atol=1e-8)
    if r == 0.0:
        np.testing.assert_allclose(e, nernst(cli, CLO, -1), rtol=1e-14)
    else:
        # HCO3- (E_HCO3 ~ -14 mV) depolarises E_GABA relative to E_Cl.
        assert np.all(e > nernst(cli, CLO, -1))


# ---------------------------------------------------------------------------
# vectorisation and return types
# ---------------------------------------------------------------------------

SCALAR_CALLS = [
    lambda: rt_over_f(),
    lambda: nernst(NAI, NAO, 1),
    lambda: ghk_current(-65.0, NAI, NAO, 1, 1e-6),
    lambda: ghk_current(0.0, NAI, NAO, 1, 1e-6),
    lambda: free_energy(-65.0, {"na": 1}, {"na": NAI}, {"na": NAO}, {"na": 1}),
    lambda: kcc2_free_energy(KI, KO, CLI, CLO),
    lambda: kcc2_equilibrium_cli(KI, KO, CLO),
    lambda: nkcc1_free_energy(NAI, NAO, KI, KO, CLI, CLO),
    lambda: nkcc1_equilibrium_cli(NAI, NAO, KI, KO, CLO),
    lambda: ncx_reversal(NAI, NAO, CAI, CAO),
    lambda: ncx_free_energy(-65.0, NAI, NAO, CAI, CAO),
    lambda: nckx_reversal(NAI, NAO, CAI, CAO, KI, KO),
    lambda: nckx_free_energy(-65.0, NAI, NAO, CAI, CAO, KI, KO),
    lambda: nak_atpase_free_energy(-65.0, NAI, NAO, KI, KO),
    lambda: nak_atpase_reversal(NAI, NAO, KI, KO),
    lambda: egaba(CLI, CLO, 15.0, 25.0),
    lambda: serca_free_energy(CAI, CAER),
    lambda: serca_equilibrium_ratio(),
    lambda: pmca_free_energy(VREST, CAI, CAO),
    lambda: pmca_reversal(CAI, CAO),
    lambda: mcu_free_energy(CAI, CAMT, DPSI),
    lambda: mcu_equilibrium_ratio(DPSI),
    lambda: nclx_free_energy(NAI, NAMT, CAI, CAMT, DPSI),
    lambda: nclx_equilibrium_camt(NAI, NAMT, CAI, DPSI),
    lambda: hill_crossover(1.0, 3e-4, 10.0, 15e-3),
]


@pytest.mark.parametrize("call", SCALAR_CALLS)
def test_scalars_give_numpy_floats(call):
    out = call()
    assert isinstance(out, np.float64)
    assert np.isfinite(out)


def test_arrays_broadcast_to_same_shape():
    a = np.array([[5.0], [10.0], [20.0]])       # (3, 1)
    b = np.array([100.0, 120.0, 130.0, 140.0])  # (4,)
    shape = (3, 4)
    v = np.zeros(shape) - 60.0
    outs = [
        rt_over_f(np.full(shape, 37.0)),
        nernst(a, b, -1),
        ghk_current(v, a, b, -1, 1e-6),
        free_energy(v, {"cl": 1}, {"cl": a}, {"cl": b}, {"cl": -1}),
        kcc2_free_energy(KI, KO, a, b),
        kcc2_equilibrium_cli(KI, a, b),
        nkcc1_free_energy(NAI, NAO, KI, KO, a, b),
        nkcc1_equilibrium_cli(NAI, NAO, KI, a, b),
        ncx_reversal(a, b, CAI, CAO),
        ncx_free_energy(v, a, b, CAI, CAO),
        nak_atpase_free_energy(v, a, b, KI, KO),
        nak_atpase_reversal(a, b, KI, KO),
        egaba(a, b, 15.0, 25.0),
        ghk_voltage({"cl": 1.0}, {"cl": a}, {"cl": b}, {"cl": -1}),
        ghk_voltage({"cl": 1.0}, {"cl": a}, {"cl": b}, {"cl": -1},
                    method="bisect"),
        serca_free_energy(a * 1e-5, b * 1e-2),
        serca_equilibrium_ratio(np.full(shape, -55.0)),
        pmca_free_energy(v, a * 1e-5, b * 1e-2),
        pmca_reversal(a * 1e-5, b * 1e-2),
        mcu_free_energy(a * 1e-5, b * 1e-5, DPSI),
        mcu_equilibrium_ratio(v - 100.0),
        nclx_free_energy(a, NAMT, CAI, b * 1e-5, DPSI),
        nclx_equilibrium_camt(a, b * 0.05, CAI, DPSI),
        hill_crossover(1.0, a * 1e-5, b * 0.1, 15e-3),
        nckx_reversal(a, b, CAI, CAO, KI, KO),
        nckx_free_energy(v, a, b, CAI, CAO, KI, KO),
    ]
    for out in outs:
        assert isinstance(out, np.ndarray)
        assert out.shape == shape
    # Element-wise equality with scalar evaluation.
    ecl = nernst(a, b, -1)
    assert ecl[1, 2] == nernst(10.0, 130.0, -1)
    np.testing.assert_allclose(outs[14], ecl, atol=1e-8)


# ---------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------

BAD_CALLS = [
    # non-positive concentrations where a log is taken
    (lambda: nernst(0.0, 145.0, 1), "c_in"),
    (lambda: nernst(12.0, -1.0, 1), "c_out"),
    (lambda: free_energy(0.0, {"na": 1}, {"na": 0.0}, {"na": 145.0},
                         {"na": 1}), "c_in"),
    (lambda: kcc2_free_energy(KI, KO, 0.0, CLO), "cli"),
    (lambda: kcc2_equilibrium_cli(0.0, KO, CLO), "ki"),
    (lambda: nkcc1_free_energy(NAI, -3.0, KI, KO, CLI, CLO), "nao"),
    (lambda: nkcc1_equilibrium_cli(NAI, NAO, KI, KO, 0.0), "clo"),
    (lambda: ncx_reversal(NAI, NAO, 0.0, CAO), "cai"),
    (lambda: ncx_free_energy(-60.0, NAI, NAO, CAI, 0.0), "cao"),
    (lambda: nckx_reversal(NAI, NAO, CAI, CAO, 0.0, KO), "ki"),
    (lambda: nckx_free_energy(-60.0, NAI, NAO, CAI, CAO, KI, -4.0), "ko"),
    (lambda: nak_atpase_free_energy(-60.0, 0.0, NAO, KI, KO), "nai"),
    (lambda: nak_atpase_reversal(NAI, NAO, KI, -4.0), "ko"),
    (lambda: egaba(0.0, CLO, 15.0, 25.0), "cli"),
    # negative concentration / permeability in GHK
    (lambda: ghk_current(-60.0, -1.0, 145.0, 1, 1e-6), "c_in"),
    (lambda: ghk_current(-60.0, 12.0, 145.0, 1, -1e-6), "permeability"),
    (lambda: ghk_voltage({"k": 1.0}, {"k": KI}, {"k": -KO}, {"k": 1}),
     "c_out"),
    # zero valence in Nernst
    (lambda: nernst(NAI, NAO, 0), "z"),
    (lambda: nernst(NAI, NAO, np.array([1, 0])), "z"),
    # temperature below absolute zero
    (lambda: rt_over_f(-300.0), "celsius"),
    (lambda: nernst(NAI, NAO, 1, celsius=-273.2), "celsius"),
    (lambda: ghk_current(-60.0, NAI, NAO, 1, 1e-6, celsius=-1000.0),
     "celsius"),
    (lambda: kcc2_free_energy(KI, KO, CLI, CLO, celsius=-400.0), "celsius"),
    # non-finite inputs
    (lambda: nernst(np.nan, NAO, 1), "c_in"),
    (lambda: ghk_current(np.inf, NAI, NAO, 1, 1e-6), "v"),
    (lambda: free_energy(np.nan, {"na": 1}, {"na": NAI}, {"na": NAO},
                         {"na": 1}), "v"),
    (lambda: rt_over_f(np.nan), "celsius"),
    (lambda: nak_atpase_reversal(NAI, NAO, KI, KO, dg_atp=np.inf), "dg_atp"),
    (lambda: egaba(CLI, CLO, 15.0, 25.0, p_ratio=np.nan), "p_ratio"),
    (lambda: ghk_voltage({"k": 1.0}, {"k": KI}, {"k": KO}, {"k": 1},
                         extra_current=np.nan), "extra_current"),
    # other invalid arguments
    (lambda: ncx_reversal(NAI, NAO, CAI, CAO, n_na=2), "n_na"),
    (lambda: egaba(CLI, CLO, 15.0, 25.0, p_ratio=-0.1), "p_ratio"),
    # calcium pumps and organelle transport
    (lambda: serca_free_energy(0.0, CAER), "cai"),
    (lambda: serca_free_energy(CAI, -0.5), "caer"),
    (lambda: serca_free_energy(CAI, CAER, dg_atp=np.nan), "dg_atp"),
    (lambda: serca_equilibrium_ratio(celsius=-300.0), "celsius"),
    (lambda: pmca_free_energy(np.inf, CAI, CAO), "v"),
    (lambda: pmca_free_energy(VREST, CAI, 0.0), "cao"),
    (lambda: pmca_reversal(-1e-4, CAO), "cai"),
    (lambda: pmca_reversal(CAI, CAO, dg_atp="atp"), "dg_atp"),
    (lambda: mcu_free_energy(CAI, 0.0, DPSI), "camt"),
    (lambda: mcu_free_energy(CAI, CAMT, np.nan), "dpsi"),
    (lambda: mcu_equilibrium_ratio(np.inf), "dpsi"),
    (lambda: nclx_free_energy(NAI, 0.0, CAI, CAMT, DPSI), "namt"),
    (lambda: nclx_free_energy(-NAI, NAMT, CAI, CAMT, DPSI), "nai"),
    (lambda: nclx_free_energy(NAI, NAMT, CAI, -CAMT, DPSI), "camt"),
    (lambda: nclx_equilibrium_camt(NAI, NAMT, 0.0, DPSI), "cai"),
    (lambda: nclx_equilibrium_camt(NAI, NAMT, CAI, DPSI, celsius=np.nan),
     "celsius"),
    (lambda: hill_crossover(0.0, 3e-4, 10.0, 15e-3), "v1"),
    (lambda: hill_crossover(1.0, -3e-4, 10.0, 15e-3), "k1"),
    (lambda: hill_crossover(1.0, 3e-4, np.nan, 15e-3), "v2"),
    (lambda: hill_crossover(1.0, 3e-4, 10.0, 0.0), "k2"),
    (lambda: hill_crossover(1.0, 3e-4, 10.0, 15e-3, n=0.0), "n"),
]


@pytest.mark.parametrize("call, name", BAD_CALLS)
def test_invalid_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_module_has_no_neuron_or_scipy_import():
    with open(th.__file__) as f:
        src = f.read()
    assert "import neuron" not in src and "from neuron" not in src
    assert "scipy" not in src


def test_concentration_loss_rate_counts_the_ions_in_a_cylinder():
    # by hand, in SI units: a cylinder 10 um long, 2 um wide; 0.01 mA/cm2 =
    # 0.1 A/m2 of Ca current outward for 1 ms moves charge i * area * t, i.e.
    # that / (2 F) mol out of a volume pi r^2 L
    r, L, i_si, t = 1e-6, 10e-6, 0.1, 1e-3
    moles = i_si * 2 * math.pi * r * L * t / (2 * thermo.FARADAY)
    drop_mM = moles / (math.pi * r ** 2 * L)  # mol/m3 = mM
    assert thermo.concentration_loss_rate(0.01, 2.0, 2) == pytest.approx(drop_mM, rel=1e-12)
    # Cl (valence -1): outward current is Cl entering, a negative loss
    assert thermo.concentration_loss_rate(0.01, 2.0, -1) == pytest.approx(-2 * drop_mM, rel=1e-12)
    # afac scales the area, not the volume
    assert thermo.concentration_loss_rate(0.01, 2.0, 2, afac=1.5) == pytest.approx(
        1.5 * drop_mM, rel=1e-12)
    out = thermo.concentration_loss_rate(np.array([0.01, -0.02]), 2.0, 2)
    assert out == pytest.approx([drop_mM, -2 * drop_mM], rel=1e-12)
    for bad, message in ((dict(diam_um=0.0), "diam_um must be > 0"),
                         (dict(z=0), r"z \(valence\) must be nonzero"),
                         (dict(afac=-1.0), "afac must be > 0"),
                         (dict(i=math.nan), "i must be finite")):
        kw = dict(i=0.01, diam_um=2.0, z=2)
        kw.update(bad)
        with pytest.raises(ValueError, match=message):
            thermo.concentration_loss_rate(**kw)


def test_pmca_h_counter_transport():
    # nh H+ in per Ca out: the pH gradient adds nh RT ln(10) (pHo - pHi), the
    # charge moved falls to 2 - nh
    rt = th.R_GAS * (37.0 + th.ZERO_CELSIUS) * 1e-3
    ph_term = rt * math.log(10.0) * 0.2
    assert 2 * ph_term == pytest.approx(2.375, abs=1e-3)  # kJ/mol, pmca.mod's comment
    for v in (-80.0, 0.0):
        assert pmca_free_energy(v, CAI, CAO, nh=1.0) == pytest.approx(
            pmca_free_energy(v, CAI, CAO) + ph_term + th.FARADAY * v * 1e-6, rel=1e-13)
    # electroneutral: independent of V, and no reversal potential
    assert pmca_free_energy(-100.0, CAI, CAO, nh=2.0) == pytest.approx(
        pmca_free_energy(40.0, CAI, CAO, nh=2.0), rel=1e-14)
    with pytest.raises(ValueError, match="electroneutral"):
        pmca_reversal(CAI, CAO, nh=2.0)
    e = pmca_reversal(CAI, CAO, nh=1.0)
    assert abs(pmca_free_energy(e, CAI, CAO, nh=1.0)) < 1e-12
    with pytest.raises(ValueError, match="nh"):
        pmca_free_energy(-65.0, CAI, CAO, nh=3.0)
