"""Resting state: a real steady state, a start exactly there, and what the
physics (ionhomeo.thermo) predicts for the Na leak and for E_GABA."""

import pytest

from ionhomeo import steady, thermo
from ionhomeo.defaults import Defaults

from cells import RESTING, compartment

D = Defaults()
PERM = {"na": "pna_naleak", "k": "pk_kleak", "cl": "pcl_clleak"}


def _drift(h, sec, state, cvode):
    h.CVode().active(cvode)
    state.finitialize([sec])
    h.continuerun(10000)
    seg = sec(0.5)
    dv = abs(seg.v - state.v)
    rel = {ion: abs(getattr(seg, f"{ion}i") / c - 1) for ion, c in state.concentrations.items()}
    return dv, rel


@pytest.mark.parametrize("cvode", [0, 1])
def test_resting_cell_starts_at_steady_state_and_stays(h, cvode):
    sec = compartment(h, RESTING + ("nav", "kdr"))
    state = steady.solve([sec])
    c = state.concentrations
    # physiological ranges for a mature neuron
    assert -85 < state.v < -60
    assert 5 < c["na"] < 20 and 120 < c["k"] < 160 and 2 < c["cl"] < 10
    dv, rel = _drift(h, sec, state, cvode)
    assert dv < 0.01, dv  # mV over 10 s
    assert max(rel.values()) < 1e-3, rel


def test_solver_refuses_nonspecific_current(h):
    sec = compartment(h, RESTING)
    sec.insert("pas")  # a NONSPECIFIC_CURRENT leak no concentration can balance
    with pytest.raises(steady.SteadyStateError, match="NONSPECIFIC") as excinfo:
        steady.solve([sec])
    del excinfo  # its traceback holds the solver's frames, and so the section


def test_solver_reports_a_runaway_iteration_clearly(h):
    """A pump at 1/20 of its default against 8x the KCC2: the root finder's
    steps leave exp's range (it raised a bare OverflowError before); the
    error names the likely cause instead."""
    sec = compartment(h, RESTING)
    seg = sec(0.5)
    seg.nakpump.imax *= 0.05
    seg.kcc2.imax *= 8
    with pytest.raises(steady.SteadyStateError, match="ran away") as excinfo:
        steady.solve([sec])
    del excinfo


def test_solvers_ask_for_the_defaults_first(h, tmp_path):
    """Without ionhomeo.defaults.apply() NEURON resets written concentrations
    at finitialize, so both solvers failed with misleading errors (a runaway,
    or states not found). They now say what to call. A fresh interpreter:
    this one has the defaults applied."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        from neuron import h
        from ionhomeo import build, mechanisms, steady
        build.load()
        sec = h.Section(name="s")
        for m in ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak"):
            mechanisms.insert(sec, m)
        for solve in (steady.solve, steady.solve_cell):
            try:
                solve([sec])
            except steady.SteadyStateError as e:
                print("refused:", e)
        from ionhomeo import defaults
        defaults.apply()
        print("solved:", round(steady.solve([sec]).v, 3))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    refused = [line for line in lines if line.startswith("refused:")]
    assert len(refused) == 2 and all("ionhomeo.defaults.apply()" in r for r in refused)
    assert any(line.startswith("solved: -") for line in lines)


def _rest_of(sec):
    seg = sec(0.5)
    return seg.v, {ion: (getattr(seg, f"{ion}i"), getattr(seg, f"{ion}o")) for ion in PERM}


def test_tripling_na_leak_clamped_concentrations_matches_ghk(h):
    # leaks only, concentrations fixed at the defaults: rest is the GHK voltage
    sec = compartment(h, ("naleak", "kleak", "clleak"))
    seg = sec(0.5)
    perms = {ion: getattr(seg, p) for ion, p in PERM.items()}
    conc_i = {ion: getattr(D, f"{ion}i") for ion in PERM}
    conc_o = {ion: getattr(D, f"{ion}o") for ion in PERM}
    zs = {"na": 1, "k": 1, "cl": -1}
    rest = {}
    for factor in (1, 3):
        seg.pna_naleak = perms["na"] * factor
        h.CVode().active(1)
        h.finitialize(-70)
        h.continuerun(500)  # membrane time constant ~20 ms: 25 tau
        rest[factor] = seg.v
    predicted = {f: float(thermo.ghk_voltage({**perms, "na": perms["na"] * f}, conc_i, conc_o, zs))
                 for f in (1, 3)}
    for f in (1, 3):
        assert rest[f] == pytest.approx(predicted[f], abs=1e-3)  # 25 tau: e^-25 of the offset
    assert rest[3] - rest[1] == pytest.approx(predicted[3] - predicted[1], abs=2e-3)
    assert rest[3] - rest[1] > 5  # a real depolarisation with pNa/pK 0.04 -> 0.12


def test_tripling_na_leak_full_model_matches_thermo(h):
    # full resting cell: pump and concentrations settle to a new steady state;
    # at each, V is where GHK leak currents plus the pump current cancel
    sec = compartment(h, RESTING)
    seg = sec(0.5)
    zs = {"na": 1, "k": 1, "cl": -1}
    results = {}
    p0 = seg.pna_naleak
    for factor in (1, 3):
        seg.pna_naleak = p0 * factor
        state = steady.solve([sec])
        state.finitialize([sec])
        perms = {ion: getattr(seg, p) for ion, p in PERM.items()}
        ci = {ion: getattr(seg, f"{ion}i") for ion in PERM}
        co = {ion: getattr(seg, f"{ion}o") for ion in PERM}
        predicted = float(thermo.ghk_voltage(perms, ci, co, zs, extra_current=seg.ipump_nakpump))
        assert state.v == pytest.approx(predicted, abs=1e-6)
        results[factor] = state
    shift = results[3].v - results[1].v
    assert shift > 0
    assert results[3].concentrations["na"] > results[1].concentrations["na"]


def _egaba(seg):
    # HCO3 is never dynamic: its concentrations are the defaults
    return float(thermo.egaba(seg.cli, seg.clo, D.hco3i, D.hco3o))


def test_kcc2_only_cl_settles_at_ek_and_egaba_below_rest(h):
    mechs = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "kcc2")
    sec = compartment(h, mechs)
    seg = sec(0.5)
    syn = h.GabaA(seg)  # idle (g = 0): only reports egaba
    state = steady.solve([sec])
    state.finitialize([sec])
    ecl = float(thermo.nernst(seg.cli, seg.clo, -1))
    ek = float(thermo.nernst(seg.ki, seg.ko, 1))
    assert ecl == pytest.approx(ek, abs=1e-6)
    assert _egaba(seg) < state.v
    assert syn.egaba == pytest.approx(_egaba(seg), abs=1e-9)  # mod file agrees with thermo
    del syn


def test_nkcc1_only_cl_settles_at_nkcc1_limit_and_egaba_above_rest(h):
    mechs = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "nkcc1")
    sec = compartment(h, mechs)
    state = steady.solve([sec])
    state.finitialize([sec])
    seg = sec(0.5)
    limit = float(thermo.nkcc1_equilibrium_cli(seg.nai, seg.nao, seg.ki, seg.ko, seg.clo))
    assert seg.cli == pytest.approx(limit, rel=1e-9)
    assert _egaba(seg) > state.v
