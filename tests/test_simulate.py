"""simulate.run: fixed step and CVODE, continuing from the current state, in
chunks that do not change the result, with progress reported between chunks."""

import dataclasses
import json
import math

import numpy as np
import pytest

from ionhomeo import simulate, solver
from ionhomeo.recording import Recorder
from ionhomeo.simulate import SimulationError

from cells import RESTING, compartment

SPIKING_REST = RESTING + ("nav", "kdr")


def _spiking_soma(h):
    soma = compartment(h, SPIKING_REST)
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 1.0, 1.0, 1.0  # nA for 1 ms: one spike
    return soma, stim


def _traces(h, seg, method, tstop, chunks=None, first_stop=None, **kwargs):
    """Initialise, run (optionally in two calls), return (t, v, nai) and the RunInfo."""
    rec = Recorder(None)
    rec.record("v", at=seg)
    rec.record("nai", at=seg)
    solver.use_cvode() if method == "cvode" else solver.use_fixed_step(0.025)
    h.finitialize(-65)
    if first_stop is not None:
        simulate.run(first_stop, method=method, **kwargs)
    info = simulate.run(tstop, method=method, chunks=chunks, **kwargs)
    t, v = rec.trace("v", seg)
    return t, v, rec.trace("nai", seg)[1], info


def test_fixed_step_chunks_do_not_change_the_result(h):
    soma, stim = _spiking_soma(h)
    seg = soma(0.5)
    t1, v1, nai1, info1 = _traces(h, seg, "fixed", 30.0, chunks=1)
    # 37 chunks: their ends (30/37 ms apart) are not multiples of dt
    t2, v2, nai2, info2 = _traces(h, seg, "fixed", 30.0, chunks=37)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(nai1, nai2)
    assert v1.max() > 0  # a spike: not a trivially flat trace
    assert info1.steps == info2.steps == 1200 and info2.chunks == 37
    assert info1.t_end_ms == pytest.approx(30.0, abs=1e-9) and info1.dt_ms == 0.025
    del stim


def test_fixed_step_continuing_equals_one_run(h):
    soma, stim = _spiking_soma(h)
    seg = soma(0.5)
    t1, v1, nai1, _ = _traces(h, seg, "fixed", 30.0)
    t2, v2, nai2, info = _traces(h, seg, "fixed", 30.0, first_stop=12.3)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(nai1, nai2)
    # the second call started where the first ended (12.3 ms rounds to 492 steps)
    assert info.t_start_ms == pytest.approx(12.3, abs=0.0125)
    del stim


def test_fixed_step_chunks_ignore_the_standard_run_systems_steps_per_call(h):
    """continuerun advances nstep_steprun steps per loop; run() makes it one."""
    soma, stim = _spiking_soma(h)
    seg = soma(0.5)
    saved = h.nstep_steprun
    try:
        h.nstep_steprun = 3
        t1, v1, _, _ = _traces(h, seg, "fixed", 20.0, chunks=1)
        t2, v2, _, _ = _traces(h, seg, "fixed", 20.0, chunks=13)
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(v1, v2)
        assert h.nstep_steprun == 3  # restored
    finally:
        h.nstep_steprun = saved
    del stim


def test_cvode_chunks_stop_exactly_and_agree(h):
    soma, stim = _spiking_soma(h)
    seg = soma(0.5)
    t1, v1, nai1, info1 = _traces(h, seg, "cvode", 30.0, chunks=1)
    calls = []
    rec = Recorder(None)
    rec.record("nai", at=seg)
    h.finitialize(-65)
    info2 = simulate.run(30.0, chunks=7, progress=lambda t, tstop: calls.append((t, h.t, tstop)))
    # CVode.solve stops exactly at each chunk end (interpolating), and progress
    # is called between chunks with (t_ms, tstop_ms)
    expected = [30.0 * k / 7 for k in range(1, 8)]
    assert [c[0] for c in calls] == expected == [c[1] for c in calls]
    assert all(c[2] == 30.0 for c in calls)
    assert info2.chunks == 7 and info2.t_end_ms == 30.0 and info2.dt_ms is None
    t2, nai2 = rec.trace("nai", seg)
    # every chunk end is sampled: the traces differ only by those samples
    assert set(expected) <= set(t2)
    # agreement to CVODE's tolerance: nai's absolute tolerance is atol x atolscale
    # = 1e-3 x 1e-2 = 1e-5 mM per step (solver.ATOL_SCALE); NEURON continues
    # from CVODE's internal state after each stop, so the two usually agree exactly
    assert abs(nai2[-1] - nai1[-1]) < 1e-5
    assert abs(nai2.max() - nai1.max()) < 1e-5
    assert info1.steps > 0 and info2.steps > 0
    # two consecutive runs continue CVODE's history (same settings: no re-init)
    t3, _, nai3, info3 = _traces(h, seg, "cvode", 30.0, first_stop=12.3)
    assert info3.t_start_ms == 12.3
    assert abs(nai3[-1] - nai1[-1]) < 1e-5 and abs(nai3.max() - nai1.max()) < 1e-5
    del stim


def test_fixed_step_and_cvode_agree(h):
    soma, stim = _spiking_soma(h)
    seg = soma(0.5)
    _, v_f, nai_f, info_f = _traces(h, seg, "fixed", 30.0)
    _, v_c, nai_c, info_c = _traces(h, seg, "cvode", 30.0)
    assert v_f.max() > 0 and v_c.max() > 0
    rest = nai_f[0]
    # one spike's Na load: Crank-Nicolson's error in the spike's charge scales
    # as (dt / spike width)^2 = (0.025 / 0.3)^2, about 0.7 % (ionhomeo.solver)
    assert (nai_f[-1] - rest) == pytest.approx(nai_c[-1] - rest, rel=7e-3)
    # 30 ms after the spike the potential is back near rest in both, to 0.01 mV
    assert v_f[-1] == pytest.approx(v_c[-1], abs=0.01)
    assert info_f.method == "fixed" and info_c.method == "cvode"
    assert info_c.steps < info_f.steps  # CVODE's long steps between events
    del stim


def test_progress_line_on_stderr(h, capsys):
    soma = compartment(h, RESTING)
    rec = Recorder(None)
    rec.record("v", at=soma(0.5))
    h.finitialize(-65)
    info = simulate.run(2500.0, progress=True)  # default chunks: one per simulated second
    err = capsys.readouterr().err
    assert info.chunks == 3
    # not a terminal (captured): a line per update, no carriage returns; the
    # three updates are each at least a quarter of the way apart
    assert "\r" not in err and err.count("\n") == 3
    assert "ionhomeo: 100% (2.5 of 2.5 s simulated," in err and " s wall)" in err
    assert "ionhomeo:  33% (0.8333 of 2.5 s simulated," in err  # equal chunks
    # without progress: no output, one chunk
    info = simulate.run(3000.0)
    assert capsys.readouterr().err == "" and info.chunks == 1


def test_progress_line_updates_in_place_on_a_terminal_and_is_sparse_in_a_log():
    """On a terminal the line is rewritten (\\r, one newline at the end); in a
    log file or a pipe each written update is a line, at most one per quarter
    of the run unless 30 s of wall time pass."""
    import io

    from ionhomeo import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty, log = Terminal(), io.StringIO()
    for stream in (tty, log):
        line = progress.Line(stream, flag=True, notebook=False)
        for k in range(1, 11):
            line.update(f"{10 * k}%", k / 10)
        line.close()
    assert tty.getvalue().count("\r") == 10 and tty.getvalue().endswith("\n")
    assert tty.getvalue().count("\n") == 1
    # 10 %, then the first update at least 25 % further (40 %, 70 %), and the end
    assert log.getvalue() == "ionhomeo: 10%\nionhomeo: 40%\nionhomeo: 70%\nionhomeo: 100%\n"


def test_default_chunking():
    # about 100 chunks or one per simulated second, whichever is coarser
    assert simulate.default_chunks(10.0) == 1
    assert simulate.default_chunks(2500.0) == 3
    assert simulate.default_chunks(10_000.0) == 10
    assert simulate.default_chunks(100_000.0) == 100
    assert simulate.default_chunks(3_600_000.0) == 100
    assert simulate.default_chunks(0.0) == 1


def test_run_info_is_json_able(h):
    soma = compartment(h, RESTING)
    h.finitialize(-65)
    info = simulate.run(5.0, method="fixed", dt_ms=0.01)
    d = json.loads(json.dumps(info.to_dict()))
    assert d["method"] == "fixed" and d["steps"] == 500 and d["dt_ms"] == 0.01
    assert d["t_start_ms"] == 0.0 and math.isclose(d["t_end_ms"], 5.0, abs_tol=1e-9)
    assert d["wall_s"] >= 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.steps = 1
    del soma


def test_run_errors(h):
    soma = compartment(h, RESTING)
    h.finitialize(-65)
    simulate.run(5.0, method="fixed")
    cases = [
        (dict(tstop_ms=1.0), "before the current time"),
        (dict(tstop_ms=10.0, method="euler"), "method must be one of"),
        (dict(tstop_ms=10.0, method="fixed", dt_ms=0), "dt_ms must be > 0"),
        (dict(tstop_ms=float("nan")), "tstop_ms must be a finite number"),
        (dict(tstop_ms=10.0, chunks=0), "chunks must be an integer >= 1"),
        (dict(tstop_ms=10.0, chunks=2.5), "chunks must be an integer >= 1"),
        (dict(tstop_ms=10.0, chunks=True), "chunks must be an integer >= 1"),
        (dict(tstop_ms=10.0, progress="yes"), "progress must be None, True or a callable"),
        (dict(tstop_ms=10.0, rtol=-1.0), "rtol must be >= 0"),
        (dict(tstop_ms=10.0, method="fixed", secondorder=3), "secondorder must be 0, 1 or 2"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SimulationError, match=message):
            simulate.run(**kwargs)
    cvode = h.CVode()
    try:
        cvode.use_local_dt(1)
        with pytest.raises(SimulationError, match="use_local_dt"):
            simulate.run(10.0)
    finally:
        cvode.use_local_dt(0)
    assert h.t == pytest.approx(5.0)  # nothing ran
    del soma


@pytest.mark.parametrize("method", ["cvode", "fixed"])
def test_play_holds_the_last_value(h, method):
    """simulate.play: the time course as given, then its last value for ever.

    NEURON's own interpolated play does not hold its last corner (under
    CVODE a ramp to 0 went on to -0.17; a pulse ending on its falling edge
    stayed at half height, under fixed steps too); the hold point play()
    appends prevents it: without it this test fails with both methods.
    """
    soma = compartment(h, RESTING)
    seg = soma(0.5)
    stim = h.IClamp(seg)
    stim.delay, stim.dur = 0.0, 1e9
    # a ramp 0 -> 0.02 nA, a step down to 0.01, a square pulse ending on its edge
    vecs = simulate.play(stim._ref_amp, [0, 10, 20, 20, 30, 30, 40, 40],
                         [0, 0.02, 0.02, 0.01, 0.01, 0.03, 0.03, 0.0])
    t = h.Vector().record(h._ref_t)
    amp = h.Vector().record(stim._ref_amp)
    solver.use_cvode() if method == "cvode" else solver.use_fixed_step(0.025)
    h.finitialize(-65)
    simulate.run(100.0, method=method)
    t, amp = np.asarray(t), np.asarray(amp)
    # the played value is exact at the recorded times: linear interpolation
    # of the corners (round-off only)
    inside = (t > 0.5) & (t < 9.5)
    assert np.allclose(amp[inside], 0.002 * t[inside], rtol=1e-9, atol=1e-15)
    assert np.all(np.abs(amp[(t > 21) & (t < 29)] - 0.01) < 1e-15)
    assert np.all(np.abs(amp[(t > 31) & (t < 39)] - 0.03) < 1e-15)
    after = t > 41
    assert after.sum() > 0 and np.all(amp[after] == 0.0)
    del vecs


def test_play_errors(h):
    soma = compartment(h, RESTING)
    stim = h.IClamp(soma(0.5))
    for args, message in [(([0, 1], [0]), "as many times as values"),
                          (([1, 0], [0, 0]), "must not decrease"),
                          (([0, float("nan")], [0, 0]), "finite"),
                          (([0, 2e15], [0, 0]), "end before")]:
        with pytest.raises(SimulationError, match=message):
            simulate.play(stim._ref_amp, *args)


def test_run_keeps_cvode_going_when_its_settings_match(h):
    """simulate.run re-initialises CVODE only when its tolerances differ from
    ionhomeo's (NEURON keeps atolscale in single precision; compared with the
    doubles no setting ever matched, so every run restarted CVODE)."""
    soma, stim = _spiking_soma(h)
    cvode = solver.use_cvode()
    assert simulate._cvode_matches(cvode, 0.0, 1e-3)
    cvode.atolscale("nai", 1.0)
    assert not simulate._cvode_matches(cvode, 0.0, 1e-3)
    solver.use_cvode()
    h.finitialize(-65)
    simulate.run(5.0)
    steps = simulate._cvode_steps(cvode)
    simulate.run(10.0)  # continues: no re_init, so CVODE's step counter goes on
    assert simulate._cvode_steps(cvode) > steps
    solver.use_cvode(False)
    del soma, stim


def test_run_after_adding_a_point_process_under_cvode(h):
    """A current clamp added between two CVODE runs: CVode.solve does not set
    the model up again and NEURON crashed (segmentation fault) in the second
    run; run() now re-initialises CVODE when the structure changed. The clamp
    then acts: dV = I R of this passive compartment after the step (checked
    against a run where the clamp existed from the start)."""
    soma = compartment(h, RESTING)
    solver.use_cvode()
    h.finitialize(-65)
    simulate.run(200.0)
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 250.0, 1e9, -0.01
    simulate.run(600.0)
    v_late = soma(0.5).v
    # the same with the clamp present from the start
    h.finitialize(-65)
    simulate.run(600.0)
    assert v_late == pytest.approx(soma(0.5).v, abs=1e-3)  # CVODE atol 1e-3 mV
    stim.amp = 0.0
    h.finitialize(-65)
    simulate.run(600.0)
    assert soma(0.5).v - v_late > 1.0  # the -10 pA clamp hyperpolarised it
    solver.use_cvode(False)
    del stim
