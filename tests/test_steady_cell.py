"""Whole-cell steady state (steady.solve_cell) on non-uniform cells."""

import re

import numpy as np
import pytest

from ionhomeo import solver, steady

from cells import RESTING, compartment

BASE = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak",
        "cadyn", "pmca", "caleak", "ncx")


def _nonuniform_cell(h):
    """Soma with KCC2, a dendrite with NKCC1 and a stronger Na leak, an axon
    with spike channels: different local resting states, coupled by axial
    current and diffusion."""
    soma = compartment(h, BASE + ("kcc2",), diam=20.0, L=20.0, name="soma")
    dend = compartment(h, BASE + ("nkcc1",), diam=1.0, L=300.0, name="dend",
                       naleak={"pna": 4e-8})
    dend.nseg = 9
    dend.connect(soma(1))
    axon = compartment(h, BASE + ("nav", "kdr"), diam=0.8, L=200.0, name="axon")
    axon.nseg = 7
    axon.connect(soma(0))
    return [soma, dend, axon]


def _snapshot(segs, ions):
    return (np.array([s.v for s in segs]),
            {ion: np.array([getattr(s, f"{ion}i") for s in segs]) for ion in ions})


@pytest.mark.parametrize("cvode", [True, False])
def test_nonuniform_cell_rests_without_drift(h, cvode):
    secs = _nonuniform_cell(h)
    state = steady.solve_cell(secs)
    assert state.residual_v <= 1e-7 and state.residual_rel <= 1e-10  # the defaults
    assert state.fixed == ("k",)  # every current is ionic: K held at the soma
    segs = state.segments
    ions = list(state.concentrations)
    v0, c0 = _snapshot(segs, ions)
    # the state is really non-uniform (otherwise the test would be vacuous)
    assert c0["cl"].max() / c0["cl"].min() > 2 and np.ptp(v0) > 0.01
    if cvode:
        solver.use_cvode(True)
    else:
        solver.use_fixed_step(0.025)
    state.finitialize()
    # 10 s under CVODE (cheap at rest); 1 s of 40000 fixed steps
    if cvode:
        h.CVode().solve(10000)
    else:
        h.continuerun(1000)
    v1, c1 = _snapshot(segs, ions)
    # the limits: 0.01 mV and 0.1 % in every segment
    assert np.abs(v1 - v0).max() < 0.01
    for ion in ions:
        assert np.abs(c1[ion] / c0[ion] - 1).max() < 1e-3, ion


def test_uniform_cell_agrees_with_uniform_solver(h):
    soma = compartment(h, RESTING, diam=20.0, L=20.0)
    dend = compartment(h, RESTING, diam=2.0, L=100.0, name="dend")
    dend.nseg = 5
    dend.connect(soma(1))
    uniform = steady.solve([soma, dend])
    cell = steady.solve_cell([soma, dend])
    # both converge to residual rates far below these tolerances
    assert np.allclose(cell.v, uniform.v, atol=1e-6)
    for ion, c in uniform.concentrations.items():
        assert np.allclose(cell.concentrations[ion], c, rtol=1e-8), ion


def test_nonspecific_leak_breaks_the_degeneracy_and_is_solved_without_holding_k(h):
    """A pas leak (reversal -50 mV) carries current no ion accounts for: holding
    K is then wrong (and refused when asked for), and the solver finds the
    real steady state with nothing held, where the pas current vanishes."""
    soma = compartment(h, RESTING, diam=20.0, L=20.0)
    soma.insert("pas")
    soma(0.5).pas.e = -50.0
    with pytest.raises(steady.SteadyStateError, match="NONSPECIFIC"):
        steady.solve_cell([soma], fixed=("k",))
    state = steady.solve_cell([soma])
    assert state.fixed == ()
    # at rest the pas current g (v - e) balances the ionic currents' residue;
    # g = 1 mS/cm2, so v sits within 1e-4 mV of e_pas
    assert state.v[0] == pytest.approx(-50.0, abs=1e-4)
    assert state.concentrations["k"][0] < 100  # K had to move far from 140 mM


def test_kext_is_refused_with_a_reason(h):
    soma = compartment(h, RESTING + ("kext",), diam=20.0, L=20.0)
    with pytest.raises(steady.SteadyStateError, match="kext"):
        steady.solve_cell([soma])


def test_missing_owner_at_reference_is_refused(h):
    soma = compartment(h, ("nadyn", "naleak", "nakpump"), diam=20.0, L=20.0)
    with pytest.raises(steady.SteadyStateError, match="fixed|held"):
        steady.solve_cell([soma], fixed=("k",))


def _drift_ok(h, state, seconds=10.0):
    """The issue's limits over ``seconds`` of rest under CVODE."""
    segs = state.segments
    v0 = np.array([s.v for s in segs])
    c0 = {ion: c.copy() for ion, c in state.concentrations.items()}
    solver.use_cvode(True)
    state.finitialize()
    h.CVode().solve(seconds * 1e3)
    assert np.abs(np.array([s.v for s in segs]) - v0).max() < 0.01
    for ion, c in c0.items():
        now = np.array([getattr(s, f"{ion}i") if not np.isnan(c[k]) else np.nan
                        for k, s in enumerate(segs)])
        assert np.nanmax(np.abs(now / c - 1)) < 1e-3, ion


def test_another_cell_in_the_model_does_not_disturb_the_solve(h):
    secs = _nonuniform_cell(h)
    other = compartment(h, RESTING, diam=10.0, L=10.0, name="other")
    state = steady.solve_cell(secs)
    assert state.residual_v <= 1e-7 and state.residual_rel <= 1e-10
    _drift_ok(h, state)
    del other


def test_ions_owned_in_part_of_the_cell(h):
    """Ca only in the soma; Cl owned only in the soma although its leak and
    KCC2 are everywhere (so Cl currents elsewhere change no concentration, the
    degeneracy is broken, and the solver must hold nothing)."""
    soma = compartment(h, ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak",
                           "kcc2", "cadyn", "pmca", "caleak"), diam=20.0, L=20.0, name="soma")
    dend = compartment(h, ("nadyn", "kdyn", "nakpump", "naleak", "kleak", "clleak", "kcc2"),
                       diam=1.0, L=200.0, name="dend")
    dend.nseg = 5
    dend.connect(soma(1))
    state = steady.solve_cell([soma, dend])
    assert state.fixed == ()
    assert np.isnan(state.concentrations["ca"][1:]).all()  # no Ca in the dendrite
    _drift_ok(h, state)


def test_child_attached_at_the_start_of_a_non_root_section(h):
    """dend2 hangs at dend1(0), a node that belongs to the soma's end: the
    Jacobian must couple it to the soma and to dend1's first segment."""
    soma = compartment(h, BASE + ("kcc2",), diam=20.0, L=20.0, name="soma")
    dend1 = compartment(h, BASE + ("nkcc1",), diam=1.0, L=100.0, name="dend1")
    dend1.nseg = 5
    dend1.connect(soma(1))
    dend2 = compartment(h, BASE, diam=0.8, L=100.0, name="dend2", naleak={"pna": 5e-8})
    dend2.nseg = 5
    dend2.connect(dend1(0))
    state = steady.solve_cell([soma, dend1, dend2])
    _drift_ok(h, state)


def test_changing_nseg_invalidates_the_solved_state(h):
    secs = _nonuniform_cell(h)
    state = steady.solve_cell(secs)
    secs[1].nseg = 21
    with pytest.raises(steady.SteadyStateError, match="nseg"):
        state.finitialize()
    with pytest.raises(steady.SteadyStateError, match="nseg"):
        state.install()


def test_a_tolerance_below_the_rates_round_off_is_refused_with_the_floor_and_the_fix(h):
    """Rates computed in double precision cannot fall below their round-off
    (about 1e-13 /ms relative here): asked for 1e-17, the solve stops once
    the rates stall (not after all its steps), names the floor, where it is,
    and a tolerance above it, with which the same cell solves."""
    secs = _nonuniform_cell(h)
    with pytest.raises(steady.SteadyStateError, match="round-off floor") as info:
        steady.solve_cell(secs, reference=secs[0](0.5), tol_rel=1e-17)
    message = str(info.value)
    steps = int(re.search(r"after (\d+) steps", message).group(1))
    assert steps < 200  # stopped at the stall, not at max_iter
    where = re.search(r"d ln (\w+)/dt in (\S+) changes by ([0-9.e+-]+) /ms", message)
    assert where and where.group(1) in {"nai", "ki", "cli", "cai"}
    assert 1e-17 < float(where.group(3)) < 1e-12
    suggested = float(re.search(r"\(tol_rel=([0-9.e+-]+)\)", message).group(1))
    assert suggested > float(where.group(3))
    state = steady.solve_cell(secs, reference=secs[0](0.5), tol_rel=suggested)
    assert state.residual_rel <= suggested


def test_the_defaults_handler_runs_again_after_a_solve_even_a_failed_one(h):
    """solve_cell skips the defaults' handler while it solves (its own handler
    sets every state it varies); afterwards, also after an error, finitialize
    runs the handler again: a per-segment initial value set then is used."""
    secs = _nonuniform_cell(h)
    with pytest.raises(steady.SteadyStateError, match="no whole-cell steady state after 1 steps"):
        steady.solve_cell(secs, reference=secs[0](0.5), max_iter=1)
    assert h.ionhomeo_init_skip == 0
    state = steady.solve_cell(secs, reference=secs[0](0.5))
    assert h.ionhomeo_init_skip == 0
    secs[1](0.5).cldyn.cli0 = 17.0
    h.finitialize(-65)
    assert secs[1](0.5).cli == 17.0  # the handler ran (no steady state installed)
    assert secs[1](0.1).cli == pytest.approx(h.cli0_cl_ion)
    del state


def test_the_mature_preset_rests_on_a_reconstructed_l5_cell_with_its_boutons(h):
    """The reconstructed L5 pyramidal cell with its axon (1068 segments) and
    the mature preset: its 65 boutons' K-dependent Na/Ca exchanger holds
    their Ca near 14 nM. There the buffers' starting state once carried a
    round-off of 1.5e-10 /ms in d ln cai/dt (see
    test_calcium.test_buffers_start_in_binding_equilibrium_to_round_off), so
    the solve stalled just above its tolerance for all its 200 steps; it
    now converges (16 steps, 4.5 s)."""
    from ionhomeo import presets
    from ionhomeo.cell import Cell
    from test_morphology import shared

    cell = Cell(shared("l5pc_with_axon.swc"), presets.load("mature"))
    try:
        state = cell.initialize()
        assert state.residual_v <= 1e-7 and state.residual_rel <= 1e-10  # the defaults
        boutons = cell.segments("bouton")
        ca = np.array([seg.cai for seg in boutons])
        assert len(boutons) >= 65 and ca.max() < 20e-6  # mM: the low Ca that exposed it
        del state
    finally:
        cell.destroy()


@pytest.mark.slow  # the L5 pyramidal reconstruction at 8360 segments
def test_a_cell_of_8000_segments_is_solved_without_overflowing_exponentials(h, capfd):
    """Locating the unknowns in NEURON's state vector writes marker values;
    potentials of -1000 - j mV made the mechanisms' exponentials overflow
    (NEURON printed "exp(905) out of range") beyond about 8000 segments."""
    from ionhomeo import presets
    from ionhomeo.cell import Cell
    from test_morphology import shared

    cell = Cell(shared("l5pc_with_axon.swc"), presets.load("mature"), d_lambda=0.01)
    try:
        assert sum(sec.nseg for sec in cell.all) > 8000
        capfd.readouterr()
        state = cell.initialize()
        out = capfd.readouterr()
        assert "out of range" not in out.out + out.err
        assert state.residual_v <= 1e-7
        del state
    finally:
        cell.destroy()


def test_a_steady_state_outside_physical_bounds_is_refused_with_its_cause(h):
    """Every pump and exchanger off: leaks alone bring each ion to its Nernst
    equilibrium at the K-held potential, about 5 M of Na and 2.5 M of Ca:
    converged, but impossible. It is refused, naming the ions and the
    transport switched off there."""
    soma = compartment(h, ("nadyn", "kdyn", "cldyn", "cabuf", "nakpump", "naleak", "kleak",
                           "clleak", "pmca", "caleak", "ncx", "kcc2"),
                       diam=20.0, L=20.0, name="soma")
    for seg in soma:
        seg.nakpump.imax = seg.pmca.imax = seg.kcc2.imax = seg.ncx.imax = 0.0
    with pytest.raises(steady.SteadyStateError) as info:
        steady.solve_cell([soma], reference=soma(0.5))
    message = str(info.value)
    assert re.search(r"nai \d{4} mM in soma\(0\.5\) .*there: nakpump imax 0, ncx imax 0", message)
    assert re.search(r"cai \d{4} mM in soma\(0\.5\) .*there: pmca imax 0, ncx imax 0", message)
    assert "not physical" in message and "imax" in message
    # with the transport back at the mod files' defaults the same soma rests within bounds
    from ionhomeo import mechanisms

    for seg in soma:
        for mech in ("nakpump", "pmca", "ncx", "kcc2"):
            getattr(seg, mech).imax = mechanisms.get(mech).parameters["imax"].default
    state = steady.solve_cell([soma], reference=soma(0.5))
    assert state.concentrations["na"][0] < 50 and state.concentrations["ca"][0] < 1e-3
    del state
