"""Running a simulation: fixed step or CVODE, with progress for long runs.

>>> rec = recording.Recorder(cell); rec.record("nai", region="soma")   # doctest: +SKIP
>>> cell.initialize()                       # the caller initialises  # doctest: +SKIP
>>> info = simulate.run(10_000, progress=True)                       # doctest: +SKIP
ionhomeo: 100% (10 of 10 s simulated, 3.2 s wall)

:func:`run` continues from NEURON's current state and time ``h.t`` up to
``tstop_ms``; it never initialises. The integration is NEURON's own loop:
``h.continuerun`` for fixed steps, ``CVode.solve`` for CVODE. To report
progress it advances in chunks (successive end times) and reports between
chunks only; no Python code runs inside the loop.

Chunking does not change the result under fixed step: every step is the
same ``fadvance`` whatever the chunk ends (each chunk stops at the first
step within dt/2 of its end; the steps taken are the same). Under CVODE each
``CVode.solve(t)`` stops exactly at ``t`` by interpolation and continues
from its internal state, so the trajectory agrees with an unchunked run to
CVODE's tolerance.

A run that NEURON stops part-way (CVODE's "variable step integrator
error") raises :class:`SimulationError` with the time reached, the settings,
the worst states and what to try, and keeps what was recorded (see
:func:`run`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
import time

import numpy as np

__all__ = ["run", "RunInfo", "SimulationError", "default_chunks", "play"]

METHODS = ("cvode", "fixed")
#: default chunking with progress: about this many chunks...
MAX_CHUNKS = 100
#: ...but none shorter than this (ms of simulated time)
MIN_CHUNK_MS = 1000.0


class SimulationError(ValueError):
    """Invalid run arguments, or a simulation state that run() cannot continue.

    When NEURON stopped a run part-way (an integrator failure, see
    :func:`run`) the error also carries what was done; otherwise these are None:

    :t_ms: the simulated time reached (ms): the last step NEURON completed.
    :info: the :class:`RunInfo` of the part that was integrated (its
        ``t_end_ms`` is ``t_ms``).
    :partial: the samples recorded up to ``t_ms``, the tidy DataFrame of
        the ``recorder`` given to :func:`run` (protocols attach their own).
    """

    def __init__(self, message: str, *, t_ms: float | None = None, info=None, partial=None):
        super().__init__(message)
        self.t_ms = t_ms
        self.info = info
        self.partial = partial


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What :func:`run` did.

    :method: "fixed" or "cvode".
    :t_start_ms, t_end_ms: simulated time at the start and the end (ms).
    :dt_ms: the fixed step (ms); None under CVODE.
    :steps: integration steps taken (under CVODE from its statistics; None
        if they could not be read).
    :chunks: number of chunks the run was advanced in.
    :wall_s: wall-clock time of the integration (s).
    """

    method: str
    t_start_ms: float
    t_end_ms: float
    dt_ms: float | None
    steps: int | None
    chunks: int
    wall_s: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_chunks(span_ms: float) -> int:
    """Chunks for a run of ``span_ms``: about 100, none shorter than 1 s simulated.

    Whichever is coarser: min(100, ceil(span / 1 s)), at least 1.
    """
    if not span_ms > 0:
        return 1
    return max(1, min(MAX_CHUNKS, math.ceil(span_ms / MIN_CHUNK_MS)))


def _number(name: str, value, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SimulationError(f"{name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise SimulationError(f"{name} must be > 0, got {value!r}")
    return float(value)


_ADVANCE = re.compile(r"(\d+)\s+advance_tn")


def _cvode_steps(cvode):
    """Steps CVODE has taken since its last initialisation (all instances), or None.

    NEURON gives the count only in the text of CVode.statistics(), which it
    prints to Python's sys.stdout; it is captured and parsed here.
    """
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            cvode.statistics()
    except Exception:
        return None
    counts = _ADVANCE.findall(buf.getvalue())
    return sum(int(c) for c in counts) if counts else None


class _ProgressLine:
    """One updating line: ``ionhomeo: 35% (3.5 of 10 s simulated, 12 s wall)``, on
    stderr, or a text bar in a Jupyter notebook (:class:`ionhomeo.progress.Line`);
    nothing under ``IONHOMEO_QUIET``."""

    def __init__(self, t0_ms: float, tstop_ms: float, stream=None):
        from . import progress

        self.t0_ms, self.tstop_ms = t0_ms, tstop_ms
        self.line = progress.Line(stream)
        self.start = self.line.start

    def __call__(self, t_ms: float, tstop_ms: float):
        span = tstop_ms - self.t0_ms
        fraction = (t_ms - self.t0_ms) / span if span > 0 else 1.0
        wall = time.perf_counter() - self.start
        self.line.update(f"{100.0 * fraction:3.0f}% ({t_ms / 1e3:.4g} of {tstop_ms / 1e3:.4g} s "
                         f"simulated, {wall:.3g} s wall)", fraction)

    def close(self):
        self.line.close()


#: the fixed steps run() accepts (ms): 1e-9 ms is a trillion steps per second
MIN_DT_MS, MAX_DT_MS = 1e-9, 1e9
#: the latest end time run() accepts (ms): 1e7 s, as the command line
MAX_TSTOP_MS = 1e10


def _interrupted(h) -> bool:
    """Was the run stopped early by stdrun's ``stoprun`` (NEURON's Stop)? The
    run would otherwise return as if it had finished and the caller carry on
    with it; it ends as an interrupt (the flag cleared, so the next run is
    not stopped)."""
    if getattr(h, "stoprun", 0):
        h.stoprun = 0
        return True
    return False


def _structure_changed(h, cvode) -> bool:
    """Has the model's structure changed since NEURON last set it up?

    NEURON sets the model up again lazily; ``h.fcurrent()`` does it when
    needed (and otherwise only recomputes the assigned variables from the
    current states, which CVODE recomputes at its next step anyway), and
    each set-up increments ``CVode.structure_change_count()``.
    """
    before = cvode.structure_change_count()
    h.fcurrent()
    return cvode.structure_change_count() != before


def _cvode_matches(cvode, rtol: float, atol: float) -> bool:
    """Is CVODE already active with exactly ionhomeo's settings for these tolerances?"""
    from . import solver

    if not cvode.active() or cvode.rtol() != rtol or cvode.atol() != atol:
        return False
    # NEURON stores atolscale in single precision: compare at that precision
    # (compared with the double, no setting ever matched and every run
    # restarted CVODE's history)
    return all(cvode.atolscale(state) == float(np.float32(scale))
               for state, scale in solver.ATOL_SCALE.items())


def run(tstop_ms: float, method: str = "cvode", dt_ms: float = 0.025, progress=None,
        chunks: int | None = None, *, rtol: float = 0.0, atol: float = 1e-3,
        secondorder: int = 2, recorder=None) -> RunInfo:
    """Integrate from the current state and time ``h.t`` to ``tstop_ms`` (ms).

    :method: "cvode" (variable step, :func:`ionhomeo.solver.use_cvode` with
        ``rtol``, ``atol`` and ionhomeo's concentration tolerances) or
        "fixed" (:func:`ionhomeo.solver.use_fixed_step` with ``dt_ms``,
        Crank-Nicolson). If CVODE is already on with the same settings it is
        left alone, so that consecutive runs continue CVODE's history.
        Switching the method re-initialises the integrator from the current
        state (the states themselves are kept).
    :dt_ms: fixed step (ms); ignored under CVODE.
    :progress: None (silent); True (an updating line on stderr, a text bar
        in a Jupyter notebook; nothing under ``IONHOMEO_QUIET``, see
        :mod:`ionhomeo.progress`); or a callable called as
        ``progress(t_ms, tstop_ms)`` after each chunk.
    :chunks: number of chunks to advance in; default with progress
        :func:`default_chunks` (about 100, none shorter than 1 s simulated),
        without progress 1.
    :rtol, atol: CVODE's tolerances (atol in mV; concentrations scaled).
    :secondorder: fixed-step method (2: Crank-Nicolson, 0: backward Euler;
        see :func:`ionhomeo.solver.use_fixed_step`).
    :recorder: optional :class:`ionhomeo.recording.Recorder` (anything with
        a ``dataframe()`` method) whose samples are attached to the error
        of a failed run as ``err.partial``.

    The integration settings are those of these arguments, whatever was set
    before (initialise with the same settings to avoid a switch). The caller initialises (``h.finitialize``, ``cell.initialize()``) and
    sets up recordings before that. Returns a :class:`RunInfo` with the wall
    time and the number of steps. The chosen integration settings stay in
    effect afterwards.

    Ctrl-C ends the run as KeyboardInterrupt, even when it lands in a Python
    callback NEURON makes (which NEURON would otherwise swallow): under fixed
    steps at the next step, under CVODE at the end of the current chunk (the
    whole run when ``chunks`` is 1, the default without progress; give
    ``chunks`` or ``progress`` for a prompt interrupt of a long CVODE run).

    Integrator failures: when NEURON stops the run part-way (CVODE's
    "variable step integrator error": repeated error-test or corrector
    failures with the step shrunk to nothing; or any other hoc error raised
    while integrating) it raises a :class:`SimulationError` instead of
    NEURON's bare RuntimeError. Its message names the time reached, the
    integrator and its tolerances, the states with the largest local error
    (or those that are not finite) and what to try; ``err.t_ms``,
    ``err.info`` (a RunInfo up to the failure) and ``err.partial`` (the
    ``recorder``'s table up to the failure) keep what was done. The
    recordings themselves stop at the failure and are kept. Under CVODE
    ``h.t`` is set to the time reached (NEURON leaves it at the start of the
    failed ``CVode.solve``) and CVODE is re-initialised there. The states
    are those of CVODE's last attempted step (NEURON keeps no others; after
    repeated failures that step is tiny, its size is in the message), so
    when they are finite a run with other settings (a step cap
    ``h.CVode().maxstep(ms)``, tighter tolerances, ``method="fixed"``) can
    continue from there.
    """
    from neuron import h

    from . import _interrupt, build, solver

    if method not in METHODS:
        raise SimulationError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    tstop_ms = _number("tstop_ms", tstop_ms, positive=False)
    dt_ms = _number("dt_ms", dt_ms)
    rtol = _number("rtol", rtol, positive=False)
    atol = _number("atol", atol)
    if rtol < 0:
        raise SimulationError(f"rtol must be >= 0, got {rtol!r}")
    # beyond these a run cannot finish (a step of 1e-300 ms leaves t + dt == t,
    # and runs for ever) or asks for an end time no model of ion homeostasis needs
    if not MIN_DT_MS <= dt_ms <= MAX_DT_MS:
        raise SimulationError(f"dt_ms = {dt_ms:g} ms is outside {MIN_DT_MS:g}..{MAX_DT_MS:g} ms: "
                              "choose a step in that range (0.025 ms is NEURON's default)")
    if tstop_ms > MAX_TSTOP_MS:
        raise SimulationError(f"tstop_ms = {tstop_ms:g} ms is beyond {MAX_TSTOP_MS:g} ms "
                              f"({MAX_TSTOP_MS / 3.6e6:g} h): run a shorter span, or in parts")
    if secondorder not in (0, 1, 2) or isinstance(secondorder, bool):
        raise SimulationError(f"secondorder must be 0, 1 or 2, got {secondorder!r}")
    if chunks is not None and (isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1):
        raise SimulationError(f"chunks must be an integer >= 1 or None, got {chunks!r}")
    if progress is False:
        progress = None
    if progress is not None and progress is not True and not callable(progress):
        raise SimulationError(f"progress must be None, True or a callable(t_ms, tstop_ms), "
                              f"got {progress!r}")
    if recorder is not None and not callable(getattr(recorder, "dataframe", None)):
        raise SimulationError(f"recorder must be None or a Recorder (with a dataframe() "
                              f"method), got {recorder!r}")

    build.ensure_loaded()
    h.load_file("stdrun.hoc")
    cvode = h.CVode()
    t0 = float(h.t)
    if method == "fixed":
        # a run ends within dt/2 of its end time (NEURON's continuerun rule)
        if tstop_ms < t0 - dt_ms / 2:
            raise SimulationError(f"tstop_ms = {tstop_ms:g} ms is before the current time "
                                  f"t = {t0:g} ms: run() continues, it does not go back; "
                                  f"initialise again to start over")
    elif tstop_ms < t0:
        raise SimulationError(f"tstop_ms = {tstop_ms:g} ms is before the current time "
                              f"t = {t0:g} ms: run() continues, it does not go back; "
                              f"initialise again to start over")
    if cvode.use_local_dt():
        raise SimulationError("CVODE's local variable time step (cvode.use_local_dt(1)) is on: "
                              "ionhomeo records on one global time base; switch it off with "
                              "h.CVode().use_local_dt(0)")

    span = tstop_ms - t0
    if method == "fixed" and 0 < span < dt_ms:
        raise SimulationError(f"dt_ms = {dt_ms:g} ms is longer than the run, {span:g} ms (from "
                              f"t = {t0:g} to {tstop_ms:g} ms): a fixed step would end at "
                              f"{t0 + dt_ms:g} ms; choose dt_ms <= {span:g} ms")
    if chunks is None:
        chunks = default_chunks(span) if progress is not None else 1
    ends = [t0 + span * k / chunks for k in range(1, chunks)] + [tstop_ms]

    if method == "fixed":
        solver.use_fixed_step(dt_ms, secondorder=secondorder)
        steps_before = None
    else:
        if not _cvode_matches(cvode, rtol, atol):
            solver.use_cvode(rtol=rtol, atol=atol)
            cvode.re_init()  # start CVODE's history here: from the current state
        elif _structure_changed(h, cvode):
            # a section, mechanism or point process (an IClamp) added since the
            # last run: CVode.solve does not set the model up again and
            # crashes NEURON (segmentation fault); re_init does, from the
            # current state
            cvode.re_init()
        steps_before = _cvode_steps(cvode)

    reporter = _ProgressLine(t0, tstop_ms) if progress is True else progress
    saved_nstep = h.nstep_steprun
    failure = None
    done = 0
    start = time.perf_counter()
    try:
        if method == "fixed":
            # continuerun advances nstep_steprun steps per loop; one, so that it
            # stops at the first step within dt/2 of each chunk end
            h.nstep_steprun = 1
        for end in ends:
            # a Ctrl-C that lands in a Python callback NEURON makes (the resting
            # state's FInitializeHandler, an event) is swallowed by NEURON: the
            # guard notes it and check() raises it after the chunk
            with _interrupt.guard():
                try:
                    if method == "fixed":
                        h.continuerun(end)
                    else:
                        cvode.solve(end)
                except RuntimeError as err:  # NEURON's hoc error: the run stopped part-way
                    _interrupt.check()
                    failure = err
                    break
            done += 1
            if _interrupted(h):
                raise KeyboardInterrupt
            if reporter is not None:
                reporter(float(h.t), tstop_ms)
    finally:
        wall = time.perf_counter() - start
        h.nstep_steprun = saved_nstep
        if progress is True:
            reporter.close()

    if failure is not None:
        # NEURON sets h.t only when CVode.solve succeeds: after a failure it
        # still holds the time the call started from, while every recording
        # stops at the last step completed, the thread's time (pc.t); the
        # states are those of the last attempted step, pc.dt beyond it
        t_end = float(h.ParallelContext().t(0)) if method == "cvode" else float(h.t)
        last_step = float(h.ParallelContext().dt(0)) if method == "cvode" else float(h.dt)
        diagnosis = _cvode_diagnosis(h, cvode) if method == "cvode" else ""
    else:
        t_end = float(h.t)
    if method == "fixed":
        steps = int(round((t_end - t0) / h.dt))
    else:
        after = _cvode_steps(cvode)
        steps = after - steps_before if after is not None and steps_before is not None else None
    if failure is not None and method == "cvode":
        h.t = t_end
        try:
            cvode.re_init()  # a later run starts CVODE afresh from here
        except RuntimeError:
            pass
    info = RunInfo(method=method, t_start_ms=t0, t_end_ms=t_end,
                   dt_ms=float(h.dt) if method == "fixed" else None, steps=steps,
                   chunks=done + (failure is not None), wall_s=wall)
    if failure is not None:
        partial, lost = None, ""
        if recorder is not None:
            try:
                partial = recorder.dataframe()
            except Exception as err:  # a recording problem must not hide the failure
                lost = f" (the recorder's table could not be made: {err})"
        raise SimulationError(
            _failure_message(method, failure, t0, tstop_ms, t_end, last_step, diagnosis,
                             rtol, atol, float(cvode.maxstep()), partial is not None) + lost,
            t_ms=t_end, info=info, partial=partial) from failure
    return info


#: NEURON's text for a failed CVode.solve (netcvode.cpp)
_INTEGRATOR_ERROR = "variable step integrator error"
#: states named in a failure message
_WORST_STATES = 3


def _cvode_diagnosis(h, cvode) -> str:
    """The states that are not finite, else those with the largest local
    error relative to their tolerance (CVODE's last attempted step), as text."""
    states, acor, weights = h.Vector(), h.Vector(), h.Vector()
    try:
        cvode.states(states)
        cvode.acor(acor)
        cvode.error_weights(weights)
    except RuntimeError:
        return ""
    y = np.array(states, dtype=float)
    name = h.ref("")

    def label(i):
        cvode.statename(int(i), name)
        return name[0]

    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        shown = ", ".join(f"{label(i)} = {y[i]:g}" for i in bad[:_WORST_STATES])
        more = f" and {bad.size - _WORST_STATES} more" if bad.size > _WORST_STATES else ""
        return f" Not finite at the last attempted step: {shown}{more}."
    e, w = np.array(acor, dtype=float), np.array(weights, dtype=float)
    if e.size != y.size or w.size != y.size or not y.size:
        return ""
    ratio = np.abs(e * w)  # local error / (rtol |y| + atol * atolscale)
    if not np.any(np.isfinite(ratio)):
        return " The local error estimates of the last step are not finite (a nan in the equations)."
    order = np.argsort(-np.where(np.isfinite(ratio), ratio, np.inf))[:_WORST_STATES]
    shown = ", ".join(f"{label(i)} = {y[i]:.6g} ({ratio[i]:.3g} x its tolerance {1 / w[i]:.3g})"
                      for i in order if w[i] > 0)
    return f" Largest local errors at the last attempted step: {shown}." if shown else ""


def _failure_message(method, failure, t0, tstop, t_end, last_step, diagnosis, rtol, atol,
                     maxstep, kept) -> str:
    text = str(failure).strip()
    where = (f"at t = {t_end / 1e3:.6g} s ({t_end:.6g} ms) of a run from {t0 / 1e3:.6g} to "
             f"{tstop / 1e3:.6g} s")
    state = ("h.t is set to that time and CVODE re-initialised there, with the states of its "
             "last attempted step" if method == "cvode" else
             "h.t and the states are those of the last step completed")
    data = (f" The samples recorded up to t = {t_end / 1e3:.6g} s are kept "
            f"({'err.partial; ' if kept else ''}Recorder.dataframe()); {state}.")
    if method == "cvode" and _INTEGRATOR_ERROR in text:
        uncapped = maxstep >= 1e8  # NEURON's default is 1e9 ms
        cap = "none" if uncapped else f"{maxstep:g} ms"
        suggest = 100.0 if uncapped else min(100.0, maxstep / 10)
        return (f"CVODE failed {where}: NEURON's '{_INTEGRATOR_ERROR}', its step shrunk to "
                f"{last_step:.3g} ms by repeated error-test or corrector failures. Settings: "
                f"rtol {rtol:g}, atol {atol:g} (concentrations scaled by "
                f"ionhomeo.solver.ATOL_SCALE), step cap {cap}.{diagnosis}{data} To get past "
                f"it: cap CVODE's step (h.CVode().maxstep({suggest:g}) before run()), tighten "
                f"the tolerances (rtol=1e-8, or a smaller atol) or use method='fixed'; a state "
                f"that is not finite comes from the model (a parameter or a rate law), which "
                f"no integrator setting fixes.")
    integrator = (f"CVODE (rtol {rtol:g}, atol {atol:g})" if method == "cvode"
                  else "the fixed-step integrator")
    return (f"NEURON stopped the run {where} under {integrator} with an error: "
            f"{text}.{diagnosis}{data} NEURON printed the details on stderr.")


#: time (ms) of the hold point :func:`play` appends: past any run
HOLD_MS = 1e15


def play(ref, times_ms, values):
    """Play a piecewise-linear time course into the NEURON variable ``ref``
    (``seg.mech._ref_param``), holding the last value for ever.

    ``times_ms`` (non-decreasing; a repeated time is a step) and ``values``
    give the corners. Returns the two Vectors, which must be kept alive
    while the play is used (``values_vector.play_remove()`` ends it).

    Why the hold point: NEURON's interpolated play (``play(ref, tvec, 1)``)
    does not hold the last corner. Measured with NEURON 9.0: under CVODE a
    ramp 0.5 -> 0 at its end went on to -0.17, and a square pulse whose last
    corner is its falling edge stayed at half its amplitude, under fixed
    steps too. A corner at :data:`HOLD_MS` with the last value prevents both.
    Before the first corner the first value holds.
    """
    from neuron import h

    t = [float(x) for x in times_ms]
    y = [float(x) for x in values]
    if len(t) != len(y) or not t:
        raise SimulationError(f"play needs as many times as values (got {len(t)} and {len(y)})")
    if not all(math.isfinite(x) for x in t + y):
        raise SimulationError("play: times and values must be finite")
    if any(b < a for a, b in zip(t, t[1:])):
        raise SimulationError("play: times must not decrease")
    if t[-1] >= HOLD_MS:
        raise SimulationError(f"play: times must end before {HOLD_MS:g} ms")
    tvec, yvec = h.Vector(t + [HOLD_MS]), h.Vector(y + [y[-1]])
    yvec.play(ref, tvec, 1)
    return tvec, yvec
