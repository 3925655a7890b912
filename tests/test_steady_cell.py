"""Whole-cell steady state (steady.solve_cell) on non-uniform cells."""

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


def test_nonspecific_leak_has_no_steady_state(h):
    soma = compartment(h, RESTING, diam=20.0, L=20.0)
    soma.insert("pas")
    soma(0.5).pas.e = -50.0
    with pytest.raises(steady.SteadyStateError, match="NONSPECIFIC|steady state"):
        steady.solve_cell([soma], max_iter=8)


def test_kext_is_refused_with_a_reason(h):
    soma = compartment(h, RESTING + ("kext",), diam=20.0, L=20.0)
    with pytest.raises(steady.SteadyStateError, match="kext"):
        steady.solve_cell([soma])


def test_missing_owner_at_reference_is_refused(h):
    soma = compartment(h, ("nadyn", "naleak", "nakpump"), diam=20.0, L=20.0)
    with pytest.raises(steady.SteadyStateError, match="fixed|held"):
        steady.solve_cell([soma], fixed=("k",))
