"""Progress of long work, on stderr (results go to stdout and files), and a
quiet mode for scripts.

What reports progress: the one-time compile of the mechanisms
(:func:`ionhomeo.build.compile_mechanisms`: what, where, how long), the
steps of a whole-cell steady state that takes more than a couple of seconds
(:func:`ionhomeo.steady.solve_cell`, with the largest rates left), each
condition of a protocol (``egaba: condition 1/2: mature``) and, when asked
for with ``progress=True``, a simulation's progress line
(:func:`ionhomeo.simulate.run`). In a terminal the simulation's line updates
in place; in a Jupyter notebook it is a text bar that updates in place (an
output that IPython updates, no widget library needed).

Quiet:

* ``IONHOMEO_QUIET=1`` in the environment (read at every message, so it can
  also be set from Python: ``os.environ["IONHOMEO_QUIET"] = "1"``) silences
  all of it, whatever a call asks for;
* ``progress=False`` silences one call (a protocol, ``Cell.initialize``,
  ``steady.solve_cell``), and everything it does inside;
* ``with ionhomeo.progress.quiet():`` silences a block;
* on the command line, ``ionhomeo --quiet ...`` (or ``... --quiet`` after the
  command).

Progress never changes a number: the messages are printed between pieces
of work that run the same way with or without them. (A simulation's progress
line is the exception that is asked for explicitly: ``simulate.run`` then
advances in chunks, see its documentation.)
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import math
import sys
import time

__all__ = ["ENV", "enabled", "quiet", "scope", "message", "in_notebook", "Line"]

#: the environment variable that silences every progress message
ENV = "IONHOMEO_QUIET"

#: None: the default (on unless IONHOMEO_QUIET); True/False: a scope's choice
_state: contextvars.ContextVar = contextvars.ContextVar("ionhomeo_progress", default=None)


def env_quiet() -> bool:
    """True when ``IONHOMEO_QUIET`` is set to anything but empty, 0, false, no or off."""
    value = os.environ.get(ENV, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def enabled(flag=None) -> bool:
    """Whether progress is shown here: never under ``IONHOMEO_QUIET``; else
    ``flag`` if it is True or False; else the enclosing :func:`scope`'s
    choice; else on."""
    if env_quiet():
        return False
    if flag is not None:
        return bool(flag)
    state = _state.get()
    return True if state is None else state


@contextlib.contextmanager
def scope(flag=None):
    """Within the block, progress is on (True), off (False) or as outside (None)."""
    if flag is None:
        yield
        return
    token = _state.set(bool(flag))
    try:
        yield
    finally:
        _state.reset(token)


def quiet():
    """``with quiet():`` no progress messages inside the block."""
    return scope(False)


def message(text: str, flag=None, stream=None) -> None:
    """``ionhomeo: text`` as a line on stderr, if progress is :func:`enabled`."""
    if not enabled(flag):
        return
    stream = stream if stream is not None else sys.stderr
    try:
        stream.write(f"ionhomeo: {text}\n")
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr: progress is not worth failing for
        pass


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - an odd IPython: no notebook display then
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def bar(fraction: float, width: int = 30) -> str:
    """``[#########---------------------]`` for a fraction in 0..1."""
    fraction = min(1.0, max(0.0, fraction)) if fraction == fraction else 0.0
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


#: not on a terminal, a progress line is written every LOG_STEP of the way
#: (a fraction) or every LOG_EVERY_S seconds, whichever comes first
LOG_STEP, LOG_EVERY_S = 0.25, 30.0


class Line:
    """One progress line that updates in place: ``\\r`` on stderr, or, in a
    Jupyter notebook, a text output updated through IPython's display (a text
    bar: no widget library, and the final state stays in the saved notebook).

    ``update(text, fraction)``; ``close()`` ends the line. Shown only if
    progress is :func:`enabled` when it is made (``flag`` as there).
    """

    def __init__(self, stream=None, flag=None, notebook=None):
        self.stream = stream if stream is not None else sys.stderr
        self.active = enabled(flag)
        self.notebook = in_notebook() if notebook is None else notebook
        self.shown = False
        self._handle = None
        self.start = time.perf_counter()
        # a terminal overwrites the line (\r); a log file or a pipe would get
        # every update run together on one line: there each shown update is
        # a line of its own, and only every LOG_STEP of the way or LOG_EVERY_S
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._logged = (-1.0, -math.inf)  # (fraction, time) of the last line written

    def update(self, text: str, fraction: float | None = None) -> None:
        if not self.active:
            return
        if self.notebook:
            line = f"ionhomeo: {bar(fraction)} {text}" if fraction is not None \
                else f"ionhomeo: {text}"
            self._display(line)
        elif self.tty:
            self.stream.write(f"\rionhomeo: {text}")
            self.stream.flush()
        else:
            now, (last, when) = time.perf_counter(), self._logged
            if fraction is None or fraction >= 1.0 or fraction - last >= LOG_STEP \
                    or now - when >= LOG_EVERY_S:
                self.stream.write(f"ionhomeo: {text}\n")
                self.stream.flush()
                self._logged = (fraction if fraction is not None else last, now)
        self.shown = True

    def _display(self, line: str) -> None:
        from IPython.display import display

        bundle = {"text/plain": line}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def close(self) -> None:
        if self.shown and not self.notebook and self.tty:
            self.stream.write("\n")
            self.stream.flush()
