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
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
import sys
import time

import numpy as np

__all__ = ["run", "RunInfo", "SimulationError", "default_chunks", "play"]

METHODS = ("cvode", "fixed")
#: default chunking with progress: about this many chunks...
MAX_CHUNKS = 100
#: ...but none shorter than this (ms of simulated time)
MIN_CHUNK_MS = 1000.0


class SimulationError(ValueError):
    """Invalid run arguments, or a simulation state that run() cannot continue."""


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What :func:`run` did.

    method: "fixed" or "cvode".
    t_start_ms, t_end_ms: simulated time at the start and the end (ms).
    dt_ms: the fixed step (ms); None under CVODE.
    steps: integration steps taken (under CVODE from its statistics; None
        if they could not be read).
    chunks: number of chunks the run was advanced in.
    wall_s: wall-clock time of the integration (s).
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
    """One updating line on stderr: ``ionhomeo: 35% (3.5 of 10 s simulated, 12 s wall)``."""

    def __init__(self, t0_ms: float, tstop_ms: float, stream=None):
        self.t0_ms, self.tstop_ms = t0_ms, tstop_ms
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, t_ms: float, tstop_ms: float):
        span = tstop_ms - self.t0_ms
        percent = 100.0 * (t_ms - self.t0_ms) / span if span > 0 else 100.0
        wall = time.perf_counter() - self.start
        self.stream.write(f"\rionhomeo: {percent:3.0f}% ({t_ms / 1e3:.4g} of {tstop_ms / 1e3:.4g} s "
                          f"simulated, {wall:.3g} s wall)")
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


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
        secondorder: int = 2) -> RunInfo:
    """Integrate from the current state and time ``h.t`` to ``tstop_ms`` (ms).

    method: "cvode" (variable step, :func:`ionhomeo.solver.use_cvode` with
        ``rtol``, ``atol`` and ionhomeo's concentration tolerances) or
        "fixed" (:func:`ionhomeo.solver.use_fixed_step` with ``dt_ms``,
        Crank-Nicolson). If CVODE is already on with the same settings it is
        left alone, so that consecutive runs continue CVODE's history.
        Switching the method re-initialises the integrator from the current
        state (the states themselves are kept).
    dt_ms: fixed step (ms); ignored under CVODE.
    progress: None (silent); True (an updating line on stderr); or a
        callable called as ``progress(t_ms, tstop_ms)`` after each chunk.
    chunks: number of chunks to advance in; default with progress
        :func:`default_chunks` (about 100, none shorter than 1 s simulated),
        without progress 1.
    rtol, atol: CVODE's tolerances (atol in mV; concentrations scaled).
    secondorder: fixed-step method (2: Crank-Nicolson, 0: backward Euler;
        see :func:`ionhomeo.solver.use_fixed_step`).

    The integration settings are those of these arguments, whatever was set
    before (initialise with the same settings to avoid a switch). The caller initialises (``h.finitialize``, ``cell.initialize()``) and
    sets up recordings before that. Returns a :class:`RunInfo` with the wall
    time and the number of steps. The chosen integration settings stay in
    effect afterwards.
    """
    from neuron import h

    from . import build, solver

    if method not in METHODS:
        raise SimulationError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    tstop_ms = _number("tstop_ms", tstop_ms, positive=False)
    dt_ms = _number("dt_ms", dt_ms)
    rtol = _number("rtol", rtol, positive=False)
    atol = _number("atol", atol)
    if rtol < 0:
        raise SimulationError(f"rtol must be >= 0, got {rtol!r}")
    if secondorder not in (0, 1, 2) or isinstance(secondorder, bool):
        raise SimulationError(f"secondorder must be 0, 1 or 2, got {secondorder!r}")
    if chunks is not None and (isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1):
        raise SimulationError(f"chunks must be an integer >= 1 or None, got {chunks!r}")
    if progress is False:
        progress = None
    if progress is not None and progress is not True and not callable(progress):
        raise SimulationError(f"progress must be None, True or a callable(t_ms, tstop_ms), "
                              f"got {progress!r}")

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
        steps_before = _cvode_steps(cvode)

    reporter = _ProgressLine(t0, tstop_ms) if progress is True else progress
    saved_nstep = h.nstep_steprun
    start = time.perf_counter()
    try:
        if method == "fixed":
            # continuerun advances nstep_steprun steps per loop; one, so that it
            # stops at the first step within dt/2 of each chunk end
            h.nstep_steprun = 1
        for end in ends:
            if method == "fixed":
                h.continuerun(end)
            else:
                cvode.solve(end)
            if reporter is not None:
                reporter(float(h.t), tstop_ms)
    finally:
        wall = time.perf_counter() - start
        h.nstep_steprun = saved_nstep
        if progress is True:
            reporter.close()

    t_end = float(h.t)
    if method == "fixed":
        steps = int(round((t_end - t0) / h.dt))
    else:
        after = _cvode_steps(cvode)
        steps = after - steps_before if after is not None and steps_before is not None else None
    return RunInfo(method=method, t_start_ms=t0, t_end_ms=t_end,
                   dt_ms=float(h.dt) if method == "fixed" else None, steps=steps,
                   chunks=len(ends), wall_s=wall)


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
